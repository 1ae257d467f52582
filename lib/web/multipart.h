/*
 * multipart.h — multipart/form-data (RFC 7578) bodies, parsed in memory.
 *
 * The body is already read (request.c bounds its size); parsing only
 * points into it, so a part's data lives as long as the body does and
 * its strings as long as the arena. Nothing a part declares about itself
 * (its Content-Type, its file name) is trusted: the caller checks the
 * bytes (billing/proof.h for payment proofs).
 */
#ifndef AC_MULTIPART_H
#define AC_MULTIPART_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

#define AC_MULTIPART_HEADERS_MAX	8192	/* bytes of one part's header block */
#define AC_MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 */

struct ac_part {
	const char		*name;		/* the form field name, in the arena */
	const char		*filename;	/* NULL when the part is not a file */
	const char		*content_type;	/* as declared, "" if none; never trusted */
	const unsigned char	*data;		/* points into the body */
	size_t			 len;
};

/*
 * Parses body (len bytes) given the request's Content-Type header into at
 * most max parts, *n = count. 0, or -1 with e: AC_E_MEDIA_TYPE when
 * content_type is not multipart/form-data or has no usable boundary;
 * AC_E_INVALID for a body that breaks the format (no closing boundary, a
 * part without Content-Disposition: form-data; name=..., headers over
 * 8 KiB, more than max parts). Strings are allocated in arena.
 */
int	ac_multipart_parse(struct ac_arena *arena, const char *content_type,
	    const unsigned char *body, size_t len, struct ac_part *parts, size_t max,
	    size_t *n, struct ac_err *e);

/* The first of the n parts named name, or NULL. */
const struct ac_part *ac_multipart_get(const struct ac_part *parts, size_t n, const char *name);

#endif
