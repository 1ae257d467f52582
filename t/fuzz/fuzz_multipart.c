/* fuzz_multipart.c — libFuzzer target for the multipart/form-data parser:
 * the input up to the first NUL is the Content-Type, the rest the body.
 * Whatever parses has parts whose data lies inside the body, in order,
 * and whose names are NUL-terminated strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "web/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ac_arena *arena;
	const uint8_t *nul = memchr(data, '\0', size), *body, *prev;
	struct ac_part parts[16];
	struct ac_err e;
	char *ct;
	size_t n, blen;

	if (nul == NULL)
		return 0;
	if (arena == NULL)
		arena = ac_arena_new(8192);
	ct = strndup((const char *)data, (size_t)(nul - data));
	body = nul + 1;
	blen = size - (size_t)(body - data);
	if (ac_multipart_parse(arena, ct, body, blen, parts, 16, &n, &e) == 0) {
		prev = body;
		for (size_t i = 0; i < n; i++) {
			if (parts[i].data < prev || parts[i].data + parts[i].len > body + blen)
				abort();
			prev = parts[i].data + parts[i].len;
			if (strlen(parts[i].name) == 0 || strlen(parts[i].content_type) > blen)
				abort();
			if (ac_multipart_get(parts, n, parts[i].name) > &parts[i])
				abort();
		}
	} else if (e.code != AC_E_INVALID && e.code != AC_E_MEDIA_TYPE)
		abort();
	free(ct);
	ac_arena_reset(arena);
	return 0;
}
