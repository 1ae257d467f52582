/*
 * buf.c — see buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void
ac_buf_reserve(struct ac_buf *b, size_t n)
{
	size_t cap;

	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (b->len + n + 1 > cap) {
		if (cap > ((size_t)-1) / 2)
			abort();
		cap *= 2;
	}
	if ((b->p = realloc(b->p, cap)) == NULL)
		abort();
	b->p[b->len] = '\0';	/* a first reserve makes "", as buf.h says */
	b->cap = cap;
}

void
ac_buf_add(struct ac_buf *b, const void *s, size_t n)
{
	ac_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
ac_buf_puts(struct ac_buf *b, const char *s)
{
	ac_buf_add(b, s, strlen(s));
}

void
ac_buf_putc(struct ac_buf *b, char c)
{
	ac_buf_add(b, &c, 1);
}

void
ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	ac_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
ac_buf_reset(struct ac_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

char *
ac_buf_take(struct ac_buf *b)
{
	char *p = b->p;

	if (p == NULL && (p = strdup("")) == NULL)
		abort();
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
ac_buf_free(struct ac_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
