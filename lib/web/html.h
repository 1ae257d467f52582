/*
 * html.h — HTML pages from template files, escaped by default.
 *
 * A template is <dir>/<name>.html. Its tags, over a JSON context:
 *	{{name}} {{a.b}} {{.}}	the value, HTML-escaped (& < > " ' all become
 *				entities, so it is safe in text and in quoted
 *				attribute values)
 *	{{#name}}...{{/name}}	an array: once per element (the element is the
 *				innermost context); an object: once, inside it;
 *				anything else: once if truthy
 *	{{^name}}...{{/name}}	once if name is missing, false, null, 0, "" or []
 *	{{>other}}		includes the template "other" (a layout part)
 *	{{>*name}}		includes the template whose name is the value of name
 *	{{raw:name}}		the value WITHOUT escaping: the only way to write
 *				markup from data, and easy to grep for
 * Names are looked up from the innermost context outwards. Falsy: missing,
 * null, false, 0, "" and []. Templates are parsed once per process and
 * kept in the set.
 */
#ifndef AC_HTML_H
#define AC_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "base/escape.h"	/* ac_html_escape() */

struct ac_html;

/* A set over the templates of dir (copied); nothing is read yet. */
struct ac_html	*ac_html_new(const char *dir);
void		 ac_html_free(struct ac_html *h);

/* Renders template name with ctx. Returns a malloc'd, NUL-terminated page
 * (its length in *len) the caller frees, or NULL with err: a missing file,
 * a syntax error (with its line), or includes nested too deep. */
char		*ac_html_render(struct ac_html *h, const char *name, const json_t *ctx,
		    size_t *len, char *err, size_t errsz);

#endif
