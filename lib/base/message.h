/*
 * message.h — notification texts from plain-text template files with
 * {{name}} placeholders (templates/messages/, installed under
 * $(pkgdatadir)/templates/messages), rendered by the portal's engine
 * (base/template.h) with plain output. The folder is AC_TEMPLATE_DIR from
 * the configuration, with a compiled-in default.
 */
#ifndef AC_MESSAGE_H
#define AC_MESSAGE_H

#include <stddef.h>

#include "base/err.h"
#include "base/template.h"

/* struct ac_var, a name and its value (NULL renders as ""), is the
 * engine's flat context. */

/* The template folder for later renders (copied); NULL restores the
 * default: $AC_TEMPLATE_DIR, else the compiled-in folder. */
void		 ac_message_set_dir(const char *dir);
const char	*ac_message_dir(void);

/*
 * Fills tmpl's {{name}} placeholders (spaces inside the braces allowed)
 * with the values of vars, as they are (the engine of base/template.h,
 * plain output). Pure. Returns a new string the caller frees, or NULL
 * with e (AC_E_INTERNAL) for a placeholder not in vars or an unclosed one.
 */
char	*ac_message_fill(const char *tmpl, const struct ac_var *vars, size_t nvars,
	    struct ac_err *e);

/* Fills <dir>/messages/<name>.txt, read and parsed once and kept (read
 * again within a second of a change to the file). NULL with e
 * (AC_E_INTERNAL) on a missing file or a bad placeholder. The caller
 * frees the result. Thread-safe. */
char	*ac_message_render(const char *name, const struct ac_var *vars, size_t nvars,
	    struct ac_err *e);

/* Reads and parses the templates named (as ac_message_render() would) into
 * the cache now, so the first message after a start reads no file; a name
 * with no file or a bad placeholder is passed over (the render that needs
 * it fails as before). Returns how many are ready. Thread-safe. */
size_t	 ac_message_preload(const char *const *names, size_t n);

/* A trade's exit reason as stored (lib/work/trade.c: TP_HIT, SL_HIT,
 * REPLACED, OPPOSITE, MANUAL, EXIT) in words for a person ("take profit");
 * anything else as it is (NULL: NULL). */
const char	*ac_exit_reason_words(const char *reason);

#endif
