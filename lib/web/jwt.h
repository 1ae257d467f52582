/*
 * jwt.h — the API's short-lived access tokens: JWS compact tokens signed
 * with HMAC-SHA256 (RFC 7519). The algorithm is pinned: a header whose
 * "alg" is not exactly "HS256" ("none", "HS512", "RS256"...) is refused
 * before any signature work; "exp", "nbf" and "aud" are checked.
 */
#ifndef AC_JWT_H
#define AC_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AC_JWT_KEY_LEN	32	/* HMAC key bytes */
#define AC_JWT_MAX	512	/* room for a token this file makes */

/* A token for subject user_id and audience aud, issued under the user's
 * credential version cv (claim "cv", > 0), valid from now_s for ttl_s
 * seconds, into out (AC_JWT_MAX bytes). 0, or -1 (no randomness). */
int	ac_jwt_sign(const unsigned char key[AC_JWT_KEY_LEN], long long user_id, long long cv,
	    const char *aud, int64_t now_s, int ttl_s, char out[AC_JWT_MAX]);

/* Checks token at now_s: shape, alg HS256, signature (constant time),
 * exp > now, nbf <= now, aud. Returns the subject (> 0) with its
 * credential version in *cv (0 when the token has none: it matches no
 * user's), or 0 with the reason in *why ("malformed", "algorithm",
 * "signature", "expired", "not_yet_valid", "audience", "subject"). The
 * caller compares *cv with the user's current version. */
long long ac_jwt_verify(const unsigned char key[AC_JWT_KEY_LEN], const char *token,
	    const char *aud, int64_t now_s, long long *cv, const char **why);

/* The signing key: AC_JWT_SECRET's SHA-256 when set (at least 32
 * characters), else state_dir/jwt.key, created with 32 random bytes
 * (mode 0600) the first time. 0, or -1 with *e. */
int	ac_jwt_key(const char *secret, const char *state_dir,
	    unsigned char key[AC_JWT_KEY_LEN], struct ac_err *e);

#endif
