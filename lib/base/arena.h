/*
 * arena.h — a per-request bump allocator, freed in one place.
 *
 * Handlers allocate freely from the request's arena and never free; the
 * responder resets the arena when the request ends (nginx pools). Memory
 * never outlives ac_arena_reset()/ac_arena_free() of its arena.
 */
#ifndef AC_ARENA_H
#define AC_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct ac_arena;

/* A new arena whose chunks hold at least chunk bytes. Aborts on OOM. */
struct ac_arena	*ac_arena_new(size_t chunk);

/* Frees every byte the arena ever handed out, and the arena. NULL is ok. */
void		 ac_arena_free(struct ac_arena *a);

/* Forgets every allocation; keeps the first chunk for the next request. */
void		 ac_arena_reset(struct ac_arena *a);

/* n bytes aligned for any type, zeroed. Never NULL: aborts on OOM. */
void		*ac_arena_alloc(struct ac_arena *a, size_t n);

/* Copies of s (NULL gives NULL), of its first n bytes, or a formatted string. */
char		*ac_arena_strdup(struct ac_arena *a, const char *s);
char		*ac_arena_strndup(struct ac_arena *a, const char *s, size_t n);
char		*ac_arena_printf(struct ac_arena *a, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Bytes currently handed out (for tests and limits). */
size_t		 ac_arena_used(const struct ac_arena *a);

#endif
