/* response.c — see response.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "web/response.h"

const char *
ac_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}

void
ac_reply(struct ac_req *r, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	char *head;

	if (r->responded) {
		ac_error("second answer (%d) to one request dropped", status);
		return;
	}
	r->responded = status;
	head = ac_arena_printf(r->arena,
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s"
	    "\r\n", status, ac_status_text(status), content_type, len,
	    extra_headers ? extra_headers : "");
	if (r->io.write == NULL)
		return;
	if (r->io.write(r->io.ctx, head, strlen(head)) == -1 ||
	    (len > 0 && strcmp(r->method, "HEAD") != 0 &&
	     r->io.write(r->io.ctx, body, len) == -1))
		ac_warn("client went away before the answer (%d) was written", status);
}

void
ac_reply_json(struct ac_req *r, int status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	if (s == NULL) {
		static const char internal[] =
		    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\",\"field\":null}}";

		json_decref(obj);
		ac_error("cannot encode the answer");
		ac_reply(r, 500, "application/json", NULL, internal, sizeof(internal) - 1);
		return;
	}
	ac_reply(r, status, "application/json", NULL, s, strlen(s));
	free(s);
	json_decref(obj);
}

void
ac_reply_error(struct ac_req *r, int status, const char *code,
    const char *message, const char *field)
{
	json_t *err = json_object();

	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", json_string(message));
	json_object_set_new(err, "field", field ? json_string(field) : json_null());
	ac_reply_json(r, status, json_pack("{s:o}", "error", err));
}
