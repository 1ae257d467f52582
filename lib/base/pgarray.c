/* pgarray.c — see pgarray.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pgarray.h"

/* Room for n more bytes plus the closing "}" and NUL. */
static void
reserve(struct ac_pgarray *a, size_t n)
{
	if (a->len + n + 2 <= a->cap)
		return;
	while (a->len + n + 2 > a->cap)
		a->cap = a->cap ? a->cap * 2 : 256;
	if ((a->buf = realloc(a->buf, a->cap)) == NULL)
		abort();
}

void
ac_pgarray_init(struct ac_pgarray *a)
{
	memset(a, 0, sizeof(*a));
	reserve(a, 1);
	a->buf[a->len++] = '{';
}

void
ac_pgarray_free(struct ac_pgarray *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

/* Starts an element: a comma after the first. */
static void
sep(struct ac_pgarray *a)
{
	reserve(a, 1);
	if (a->n++ > 0)
		a->buf[a->len++] = ',';
}

void
ac_pgarray_ll(struct ac_pgarray *a, long long v)
{
	sep(a);
	reserve(a, 24);
	a->len += (size_t)snprintf(a->buf + a->len, 24, "%lld", v);
}

void
ac_pgarray_num(struct ac_pgarray *a, double v)
{
	sep(a);
	reserve(a, 32);
	a->len += (size_t)snprintf(a->buf + a->len, 32, "%.15g", v);
}

void
ac_pgarray_str(struct ac_pgarray *a, const char *s)
{
	sep(a);
	if (s == NULL) {
		reserve(a, 4);
		memcpy(a->buf + a->len, "NULL", 4);
		a->len += 4;
		return;
	}
	reserve(a, 2 * strlen(s) + 2);
	a->buf[a->len++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *s;
	}
	a->buf[a->len++] = '"';
}

const char *
ac_pgarray_text(struct ac_pgarray *a)
{
	a->buf[a->len] = '}';
	a->buf[a->len + 1] = '\0';
	return a->buf;
}
