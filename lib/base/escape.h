/*
 * escape.h — HTML escaping, for every layer that writes HTML: the web
 * pages (web/html.h) and the HTML parts of messages (lib/deliver).
 * & < > " ' all become entities, so a value is safe in text and in
 * attribute values.
 */
#ifndef AC_ESCAPE_H
#define AC_ESCAPE_H

#include <stddef.h>

#include "base/buf.h"

/* Appends the n bytes of s, escaped, to b. */
void	 ac_buf_html(struct ac_buf *b, const char *s, size_t n);

/* s escaped, malloc'd (the caller frees). */
char	*ac_html_escape(const char *s);

#endif
