/*
 * err.c — see err.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

static const struct {
	int		 status;
	const char	*name;
} codes[AC_E__MAX] = {
	[AC_OK] = { 200, "ok" },
	[AC_E_INVALID] = { 400, "invalid" },
	[AC_E_UNPROCESSABLE] = { 422, "unprocessable" },
	[AC_E_CONFLICT] = { 409, "conflict" },
	[AC_E_NOT_FOUND] = { 404, "not_found" },
	[AC_E_UNAUTHORIZED] = { 401, "unauthorized" },
	[AC_E_FORBIDDEN] = { 403, "forbidden" },
	[AC_E_RATE_LIMITED] = { 429, "rate_limited" },
	[AC_E_TOO_LARGE] = { 413, "too_large" },
	[AC_E_NOT_ALLOWED] = { 405, "method_not_allowed" },
	[AC_E_MEDIA_TYPE] = { 415, "unsupported_media_type" },
	[AC_E_PAYMENT] = { 402, "payment_required" },
	[AC_E_UNAVAILABLE] = { 503, "unavailable" },
	[AC_E_INTERNAL] = { 500, "internal" },
};

int
ac_err_setx(struct ac_err *e, enum ac_err_code code, const char *slug, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = (unsigned)code < AC_E__MAX ? code : AC_E_INTERNAL;
	e->slug = slug;
	e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
ac_err_status(enum ac_err_code code)
{
	return (unsigned)code < AC_E__MAX ? codes[code].status : 500;
}

const char *
ac_err_name(enum ac_err_code code)
{
	return (unsigned)code < AC_E__MAX ? codes[code].name : "internal";
}

const char *
ac_err_slug(const struct ac_err *e)
{
	return e->slug != NULL ? e->slug : ac_err_name(e->code);
}
