/*
 * template.h — the one template engine, for the portal's HTML pages
 * (lib/web/html.c) and the notification texts (lib/deliver/message.c).
 * A template is parsed once into a tree and rendered over a JSON context;
 * each output says how values are escaped.
 *
 * Tags (spaces just inside the braces are ignored):
 *	{{name}} {{a.b}} {{.}}	the value, escaped for the output (HTML: & < > " '
 *				all become entities, so it is safe in text and in
 *				quoted attribute values; plain: as is)
 *	{{#name}}...{{/name}}	an array: once per element (the element is the
 *				innermost context); an object: once, inside it;
 *				anything else: once if truthy
 *	{{^name}}...{{/name}}	once if name is missing, false, null, 0, "" or []
 *	{{>other}}		includes the template "other" (the output resolves it)
 *	{{>*name}}		includes the template whose name is the value of name
 *	{{raw:name}}		the value WITHOUT escaping: the only way to write
 *				markup from data, and easy to grep for
 * Names are looked up from the innermost context outwards. Falsy: missing,
 * null, false, 0, "" and []. Scalars print as their text (true as "true",
 * numbers "%lld" / "%.15g"); null, false, objects and arrays print nothing.
 */
#ifndef AC_TEMPLATE_H
#define AC_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

struct ac_tmpl;

/* A flat context: names and their texts (NULL renders as ""). */
struct ac_var {
	const char	*name;
	const char	*value;
};

/* src parsed; label names it in error messages ("layout.html"). NULL
 * with e (AC_E_INTERNAL) on a syntax error, which names label and line. */
struct ac_tmpl	*ac_tmpl_parse(const char *src, const char *label, struct ac_err *e);
void		 ac_tmpl_free(struct ac_tmpl *t);

enum ac_tmpl_escape {
	AC_TMPL_PLAIN,		/* values as they are (texts whose values the
				 * caller escaped, subjects, SMS) */
	AC_TMPL_HTML		/* & < > " ' as entities */
};

/* How a render writes: the escape, whether a name not in the context is
 * an error ({{x}} in a notification text must be one of its variables),
 * and where {{>name}} templates come from (NULL: includes are errors). */
struct ac_tmpl_out {
	enum ac_tmpl_escape	 escape;
	int			 strict;
	const struct ac_tmpl	*(*include)(void *arg, const char *name, struct ac_err *e);
	void			*arg;
};

/* Appends t rendered over ctx to out. 0, or -1 with e (out then holds
 * part of it): a missing name when strict, an include that fails or
 * nests deeper than 16, sections deeper than 32. */
int	ac_tmpl_render(const struct ac_tmpl *t, const json_t *ctx, const struct ac_tmpl_out *o,
	    struct ac_buf *out, struct ac_err *e);

/* The same over the flat context vars (the first of a name counts; a
 * section is its text's truthiness, "" falsy, and opens no context):
 * what notices use, without building JSON for each. */
int	ac_tmpl_render_vars(const struct ac_tmpl *t, const struct ac_var *vars, size_t nvars,
	    const struct ac_tmpl_out *o, struct ac_buf *out, struct ac_err *e);

/* 1 if s can name a template: [a-z0-9_], 1..64 bytes. */
int	ac_tmpl_name_ok(const char *s);


#endif
