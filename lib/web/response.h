/*
 * response.h — answering a request: status, headers, body.
 *
 * Every answer carries the security headers and Cache-Control: no-store;
 * error answers from the JSON responders have one shape:
 *	{"error":{"code":"...","message":"...","field":"..."|null}}
 * Exactly one answer is written per request (r->responded).
 */
#ifndef AC_RESPONSE_H
#define AC_RESPONSE_H

#include <jansson.h>

#include "web/request.h"

/* "OK", "Accepted", "Not Found"... for a status code. */
const char	*ac_status_text(int status);

/* Writes status, the standard headers, extra_headers (each line ending in
 * "\r\n", or NULL) and len bytes of body. */
void	ac_reply(struct ac_req *r, int status, const char *content_type,
	    const char *extra_headers, const char *body, size_t len);

/* Writes obj as compact JSON and drops the reference to it. */
void	ac_reply_json(struct ac_req *r, int status, json_t *obj);

/* The error shape above; field may be NULL. */
void	ac_reply_error(struct ac_req *r, int status, const char *code,
	    const char *message, const char *field);

#endif
