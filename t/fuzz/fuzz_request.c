/* fuzz_request.c — libFuzzer target for the request layer: the input is
 * split on NUL bytes into QUERY_STRING, HTTP_COOKIE, CONTENT_LENGTH,
 * DOCUMENT_URI and the body; the request is read, looked at and answered.
 * Whatever passes, query arguments, cookies and form fields the UTF-8
 * check let through, is UTF-8; what is refused names a field that is. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/arena.h"
#include "web/request.h"
#include "web/response.h"
#include "base/util.h"

struct input {
	const char	*params[12];
	const char	*body;
	size_t		 body_len, pos;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
param(void *ctx, const char *name)
{
	struct input *in = ctx;

	for (int i = 0; in->params[i]; i += 2)
		if (strcmp(in->params[i], name) == 0)
			return in->params[i + 1];
	return NULL;
}

static ssize_t
rd(void *ctx, char *buf, size_t n)
{
	struct input *in = ctx;
	size_t left = in->body_len - in->pos;

	if (n > left)
		n = left;
	if (n > 7)	/* short reads, as a socket gives them */
		n = 7;
	if (n)
		memcpy(buf, in->body + in->pos, n);
	in->pos += n;
	return (ssize_t)n;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "QUERY_STRING", "HTTP_COOKIE", "CONTENT_LENGTH", "DOCUMENT_URI" };
	char *copy = malloc(size + 1), *p, *end;
	struct input in = { { NULL } };
	struct ac_arena *a = ac_arena_new(2048);
	struct ac_req r = { .arena = a };
	struct ac_req_io io = { &in, param, rd, wr };
	struct ac_kv *kv = NULL;
	const char *bad;
	size_t n = 0, k = 0;

	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	for (size_t i = 0; i < 4 && p <= end; i++) {
		size_t len = strlen(p);

		in.params[k++] = names[i];
		in.params[k++] = p;
		p += len + 1;
	}
	in.params[k++] = "REQUEST_METHOD";
	in.params[k++] = "POST";
	in.body = p <= end ? p : end;
	in.body_len = (size_t)(end - in.body);
	switch (ac_req_read(&r, &io, 4096)) {
	case AC_REQ_OK:
		/* what the handlers see is text */
		if (ac_kv_not_utf8(r.args, r.nargs) != NULL ||
		    ac_kv_not_utf8(r.cookies, r.ncookies) != NULL)
			abort();
		(void)ac_req_arg(&r, "q");
		(void)ac_req_cookie(&r, "sid");
		(void)ac_req_header(&r, "Cookie");
		if (ac_form_parse(a, r.body, r.body_len, &kv, &n) == 0 &&
		    (bad = ac_kv_not_utf8(kv, n)) != NULL) {
			if (!ac_utf8_valid(bad, strlen(bad)))
				abort();
			ac_reply_error(&r, 400, "bad_encoding", "not UTF-8", bad);
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (!ac_utf8_valid(kv[i].key, strlen(kv[i].key)) ||
			    !ac_utf8_valid(kv[i].value, strlen(kv[i].value)))
				abort();
		ac_reply_error(&r, 400, "bad_request", r.path, NULL);
		break;
	case AC_REQ_BAD_ENCODING:
		if (r.bad_field == NULL || !ac_utf8_valid(r.bad_field, strlen(r.bad_field)))
			abort();
		ac_reply_error(&r, 400, "bad_encoding", ac_req_strerror(AC_REQ_BAD_ENCODING),
		    r.bad_field);
		break;
	default:
		break;
	}
	ac_arena_free(a);
	free(copy);
	return 0;
}
