/*
 * buf.h — the one growable byte buffer: always NUL-terminated, grown by
 * doubling, and like the arena it aborts when memory runs out (a request
 * cannot be answered half-built). The zero value is an empty buffer.
 *
 *	struct ac_buf b = AC_BUF_INIT;
 *	ac_buf_add(&b, "x", 1); ac_buf_printf(&b, "%d", n);
 *	use(b.p, b.len); ac_buf_free(&b);	(or keep b.p: ac_buf_take)
 */
#ifndef AC_BUF_H
#define AC_BUF_H

#include <stddef.h>

struct ac_buf {
	char	*p;	/* NULL until the first byte; then NUL-terminated */
	size_t	 len;	/* bytes, without the NUL */
	size_t	 cap;
};

#define AC_BUF_INIT { NULL, 0, 0 }

/* Room for n more bytes (and the NUL). */
void	 ac_buf_reserve(struct ac_buf *b, size_t n);
void	 ac_buf_add(struct ac_buf *b, const void *s, size_t n);
void	 ac_buf_puts(struct ac_buf *b, const char *s);
void	 ac_buf_putc(struct ac_buf *b, char c);
void	 ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory. */
void	 ac_buf_reset(struct ac_buf *b);
/* The string (never NULL: "" when empty), now the caller's to free(). */
char	*ac_buf_take(struct ac_buf *b);
void	 ac_buf_free(struct ac_buf *b);

#endif
