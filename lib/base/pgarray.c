/* pgarray.c — see pgarray.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pgarray.h"

/*
 * Room for n more bytes plus the closing "}" (ac_buf_reserve adds the
 * NUL). The appends below write into the reserved room directly, one
 * reserve per element: this is on the fan-out's hot path.
 */
static char *
room(struct ac_pgarray *a, size_t n)
{
	ac_buf_reserve(&a->b, n + 1);
	return a->b.p + a->b.len;
}

void
ac_pgarray_init(struct ac_pgarray *a)
{
	memset(a, 0, sizeof(*a));
	ac_buf_putc(&a->b, '{');
}

void
ac_pgarray_free(struct ac_pgarray *a)
{
	ac_buf_free(&a->b);
	memset(a, 0, sizeof(*a));
}

/* Starts an element of at most n bytes: a comma after the first. */
static char *
sep(struct ac_pgarray *a, size_t n)
{
	char *p = room(a, n + 1);

	if (a->n++ > 0)
		*p++ = ',';
	return p;
}

/* Ends an element that was written up to p. */
static void
done(struct ac_pgarray *a, char *p)
{
	a->b.len = (size_t)(p - a->b.p);
	*p = '\0';
}

void
ac_pgarray_ll(struct ac_pgarray *a, long long v)
{
	char *p = sep(a, 24);

	done(a, p + snprintf(p, 24, "%lld", v));
}

void
ac_pgarray_num(struct ac_pgarray *a, double v)
{
	char *p = sep(a, 32);

	done(a, p + snprintf(p, 32, "%.15g", v));
}

void
ac_pgarray_str(struct ac_pgarray *a, const char *s)
{
	char *p;

	if (s == NULL) {
		p = sep(a, 4);
		memcpy(p, "NULL", 4);
		done(a, p + 4);
		return;
	}
	p = sep(a, 2 * strlen(s) + 2);
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	done(a, p);
}

const char *
ac_pgarray_text(struct ac_pgarray *a)
{
	/* the "}" goes after the end (room() kept a byte for it), so the
	 * next append writes over it */
	a->b.p[a->b.len] = '}';
	a->b.p[a->b.len + 1] = '\0';
	return a->b.p;
}
