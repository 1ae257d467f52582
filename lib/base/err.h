/*
 * err.h — the one error type lib/ functions return: a code from a closed
 * set, the field it concerns (or NULL) and a message for a person. It has
 * the shape of the JSON errors the API and the portal already answer
 * ({"error":{"code","message","field"}}), and ac_err_status() maps a code
 * to its HTTP status in one place. Callers branch on .code, never on the
 * text.
 *
 * The struct is plain storage: no allocation, the message is copied in.
 * A function that can fail takes `struct ac_err *e` (may be NULL) and
 * returns a value its header names (NULL, -1, or false) with *e filled.
 */
#ifndef AC_ERR_H
#define AC_ERR_H

#include <stddef.h>

enum ac_err_code {
	AC_OK = 0,
	AC_E_INVALID,		/* a field is missing, malformed or out of bounds: 400 */
	AC_E_UNPROCESSABLE,	/* well-formed but refused by a rule: 422 */
	AC_E_CONFLICT,		/* already exists, or the state forbids it: 409 */
	AC_E_NOT_FOUND,		/* no such row (or another user's): 404 */
	AC_E_UNAUTHORIZED,	/* no or bad credentials: 401 */
	AC_E_FORBIDDEN,		/* credentials good, right missing: 403 */
	AC_E_RATE_LIMITED,	/* slow down: 429 */
	AC_E_TOO_LARGE,		/* body over the limit: 413 */
	AC_E_NOT_ALLOWED,	/* the path has no such method: 405 */
	AC_E_MEDIA_TYPE,	/* the body is of a type not taken: 415 */
	AC_E_PAYMENT,		/* out of credits or no paid subscription: 402 */
	AC_E_UNAVAILABLE,	/* a dependency is down, try again: 503 */
	AC_E_INTERNAL,		/* a bug or an unexpected database answer: 500 */
	AC_E__MAX
};

struct ac_err {
	enum ac_err_code code;
	const char	*field;		/* static string (a field name) or NULL */
	char		 message[512];
	const char	*slug;		/* the wire code ("conflicting_fields"), or NULL
					 * for ac_err_name(code) */
};

/* Fills *e (if not NULL) with a wire code other than the default name of
 * code (slug NULL: the default); returns -1 so a caller can
 * `return ac_err_setx(...)`. */
int		 ac_err_setx(struct ac_err *e, enum ac_err_code code, const char *slug,
		    const char *field, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));

/* The same with the default wire code. */
#define ac_err_set(e, code, field, ...)	ac_err_setx((e), (code), NULL, (field), __VA_ARGS__)

/* The HTTP status of a code (400, 404, ...; 200 for AC_OK). */
int		 ac_err_status(enum ac_err_code code);

/* The default wire code: "invalid", "not_found", "conflict", ... */
const char	*ac_err_name(enum ac_err_code code);

/* e->slug if set, else ac_err_name(e->code). */
const char	*ac_err_slug(const struct ac_err *e);

#endif
