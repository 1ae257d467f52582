/* arena.c — bump allocation in a list of chunks; see arena.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

struct chunk {
	struct chunk	*next;
	size_t		 size;	/* usable bytes in data */
	size_t		 used;
	max_align_t	 data[];
};

struct ac_arena {
	struct chunk	*head;	/* the chunk being filled; the first one is last */
	size_t		 chunk;
	size_t		 total;
};

#define ALIGN_UP(n) (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory (%zu bytes)\"}\n", n);
		abort();
	}
	return p;
}

static struct chunk *
chunk_new(size_t size, struct chunk *next)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = next;
	c->size = size;
	c->used = 0;
	return c;
}

struct ac_arena *
ac_arena_new(size_t chunk)
{
	struct ac_arena *a = xmalloc(sizeof(*a));

	a->chunk = chunk < 1024 ? 1024 : ALIGN_UP(chunk);
	a->head = chunk_new(a->chunk, NULL);
	a->total = 0;
	return a;
}

void
ac_arena_free(struct ac_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void
ac_arena_reset(struct ac_arena *a)
{
	struct chunk *c = a->head, *next;

	while (c->next != NULL) {	/* the first chunk is the last in the list */
		next = c->next;
		free(c);
		c = next;
	}
	c->used = 0;
	a->head = c;
	a->total = 0;
}

void *
ac_arena_alloc(struct ac_arena *a, size_t n)
{
	struct chunk *c = a->head;
	void *p;

	if (n > SIZE_MAX / 2) {
		fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"arena request too large\"}\n");
		abort();
	}
	n = ALIGN_UP(n ? n : 1);
	if (c->size - c->used < n) {
		c = chunk_new(n > a->chunk ? n : a->chunk, a->head);
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	a->total += n;
	return memset(p, 0, n);
}

char *
ac_arena_strndup(struct ac_arena *a, const char *s, size_t n)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = ac_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
ac_arena_strdup(struct ac_arena *a, const char *s)
{
	return s == NULL ? NULL : ac_arena_strndup(a, s, strlen(s));
}

char *
ac_arena_printf(struct ac_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ac_arena_strdup(a, "");
	p = ac_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t
ac_arena_used(const struct ac_arena *a)
{
	return a->total;
}
