/*
 * html.h — HTML pages from template files, escaped by default.
 *
 * A template is <dir>/<name>.html, in the syntax of base/template.h, with
 * values HTML-escaped (& < > " ' all become entities) unless written
 * {{raw:name}}; {{>other}} includes <dir>/other.html. Templates are
 * parsed once per process and kept in the set.
 */
#ifndef AC_HTML_H
#define AC_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/escape.h"	/* ac_html_escape() */

struct ac_html;

/* A set over the templates of dir (copied); nothing is read yet. */
struct ac_html	*ac_html_new(const char *dir);
void		 ac_html_free(struct ac_html *h);

/* Renders template name with ctx. Returns a malloc'd, NUL-terminated page
 * (its length in *len) the caller frees, or NULL with e (AC_E_INTERNAL):
 * a missing file, a syntax error (with its line), or includes nested too
 * deep. */
char		*ac_html_render(struct ac_html *h, const char *name, const json_t *ctx,
		    size_t *len, struct ac_err *e);

struct ac_req;

/* Renders template name with ctx and answers it with status and the extra
 * header lines (may be NULL) as text/html; a template that fails (logged)
 * answers a plain 500 page instead. */
void		 ac_html_reply(struct ac_html *h, struct ac_req *r, int status,
		    const char *name, const json_t *ctx, const char *headers);

#endif
