/*
 * message.h — notification texts from plain-text template files with
 * {{name}} placeholders (templates/messages/, installed under
 * $(pkgdatadir)/templates/messages). The folder is AC_TEMPLATE_DIR from
 * the configuration, with a compiled-in default.
 */
#ifndef AC_MESSAGE_H
#define AC_MESSAGE_H

#include <stddef.h>

struct ac_var {
	const char	*name;
	const char	*value;		/* NULL renders as "" */
};

/* The template folder for later renders (copied); NULL restores the
 * default: $AC_TEMPLATE_DIR, else the compiled-in folder. */
void		 ac_message_set_dir(const char *dir);
const char	*ac_message_dir(void);

/*
 * Fills tmpl's {{name}} placeholders (spaces inside the braces allowed)
 * with the values of vars. Pure. Returns a new string the caller frees,
 * or NULL with err set for a placeholder not in vars or an unclosed one.
 */
char	*ac_message_fill(const char *tmpl, const struct ac_var *vars, size_t nvars,
	    char *err, size_t errsz);

/* Fills <dir>/<name>.txt, read once and kept (read again within a second
 * of a change to the file). NULL with err on a missing file or a bad
 * placeholder. The caller frees the result. Thread-safe. */
char	*ac_message_render(const char *name, const struct ac_var *vars, size_t nvars,
	    char *err, size_t errsz);

#endif
