/* test_request.c — the request layer without a FastCGI peer: parameters,
 * query strings, cookies, headers, body limits, and the answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/arena.h"
#include "web/request.h"
#include "web/response.h"

#include "fake_io.h"

static enum ac_req_status
run(struct ac_arena *a, struct fake *f, struct ac_req *r, size_t max)
{
	struct ac_req_io io = { f, fake_param, fake_read, fake_write };

	memset(r, 0, sizeof(*r));
	r->arena = a;
	return ac_req_read(r, &io, max);
}

static void
test_params_and_defaults(void **state)
{
	struct ac_arena *a = ac_arena_new(4096);
	const char *params[] = { "REQUEST_METHOD", "POST", "DOCUMENT_URI", "/hook/tv/abc",
		"QUERY_STRING", "", "CONTENT_TYPE", "text/plain; charset=utf-8",
		"REMOTE_ADDR", "52.89.214.238", "REQUEST_ID", "f00d", "CONTENT_LENGTH", "0",
		"HTTP_USER_AGENT", "Go-http-client/1.1", "HTTP_X_FORWARDED_FOR", "1.2.3.4", NULL };
	struct fake f = { .params = params };
	struct ac_req r;

	assert_int_equal(run(a, &f, &r, 100), AC_REQ_OK);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/hook/tv/abc");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	assert_string_equal(r.remote_addr, "52.89.214.238");
	assert_string_equal(r.request_id, "f00d");
	assert_string_equal(ac_req_header(&r, "User-Agent"), "Go-http-client/1.1");
	assert_string_equal(ac_req_header(&r, "x-forwarded-for"), "1.2.3.4");
	assert_null(ac_req_header(&r, "Referer"));
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.body, "");
	assert_true(r.received_ms > 1600000000000LL);
	ac_arena_free(a);
}

static void
test_path_from_request_uri(void **state)
{
	struct ac_arena *a = ac_arena_new(4096);
	const char *params[] = { "REQUEST_URI", "/health/ready?verbose=1", NULL };
	const char *none[] = { NULL };
	struct fake f = { .params = params };
	struct ac_req r;

	assert_int_equal(run(a, &f, &r, 100), AC_REQ_OK);
	assert_string_equal(r.path, "/health/ready");
	assert_string_equal(r.method, "");
	f.params = none;
	assert_int_equal(run(a, &f, &r, 100), AC_REQ_OK);
	assert_string_equal(r.path, "/");
	ac_arena_free(a);
}

static void
test_query(void **state)
{
	static const struct { const char *qs, *key, *want; } cases[] = {
		{ "a=1&b=2", "b", "2" },
		{ "a=1&a=2", "a", "1" },			/* the first value wins */
		{ "q=hello+world", "q", "hello world" },	/* + is a space */
		{ "q=%3Cscript%3E", "q", "<script>" },
		{ "q=caf%C3%A9", "q", "caf\xc3\xa9" },
		{ "flag", "flag", "" },			/* no '=': empty value */
		{ "empty=", "empty", "" },
		{ "&&x=1&&", "x", "1" },
		{ "k%20ey=v", "k ey", "v" },
		{ "page=2&status=sent&channel=email", "channel", "email" },
	};
	struct ac_arena *a = ac_arena_new(4096);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *params[] = { "QUERY_STRING", cases[i].qs, NULL };
		struct fake f = { .params = params };
		struct ac_req r;

		assert_int_equal(run(a, &f, &r, 10), AC_REQ_OK);
		assert_string_equal(r.query, cases[i].qs);
		assert_non_null(ac_req_arg(&r, cases[i].key));
		assert_string_equal(ac_req_arg(&r, cases[i].key), cases[i].want);
		assert_null(ac_req_arg(&r, "missing"));
	}
	ac_arena_free(a);
}

static void
test_form_parse(void **state)
{
	struct ac_arena *a = ac_arena_new(4096);
	struct ac_kv *kv;
	size_t n;
	const char body[] = "email=a%40b.c&password=p%26ss+w&csrf=x";

	assert_int_equal(ac_form_parse(a, body, strlen(body), &kv, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(kv[0].key, "email");
	assert_string_equal(kv[0].value, "a@b.c");
	assert_string_equal(kv[1].value, "p&ss w");
	assert_string_equal(kv[2].key, "csrf");
	assert_int_equal(ac_form_parse(a, "", 0, &kv, &n), 0);
	assert_int_equal(n, 0);
	ac_arena_free(a);
}

/* Form fields and query arguments that are not UTF-8 are named, whether
 * percent-encoded or raw; well-formed text of every length passes. */
static void
test_utf8_fields(void **state)
{
	static const struct { const char *in, *bad; } forms[] = {
		{ "email=a%40b.c&password=caf%C3%A9", NULL },
		{ "name=%F0%9F%98%80&x=%E2%82%AC", NULL },		/* 4 and 3 bytes */
		{ "email=a%40b.c&password=%FF", "password" },
		{ "email=%C3&password=x", "email" },			/* cut short */
		{ "email=%C0%AF", "email" },				/* overlong '/' */
		{ "email=%ED%A0%80", "email" },				/* a surrogate */
		{ "email=%F4%90%80%80", "email" },			/* past U+10FFFF */
		{ "email=ok&name=\xfe\xff", "name" },			/* raw bytes */
		{ "%FF=x&email=ok", "a field name" },
	};
	struct ac_arena *a = ac_arena_new(4096);
	struct ac_kv *kv;
	size_t n;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *bad;

		assert_int_equal(ac_form_parse(a, forms[i].in, strlen(forms[i].in), &kv, &n), 0);
		bad = ac_kv_not_utf8(kv, n);
		if (forms[i].bad == NULL)
			assert_null(bad);
		else if (bad == NULL || strcmp(bad, forms[i].bad) != 0)
			fail_msg("%s: wanted %s named, got %s", forms[i].in, forms[i].bad,
			    bad ? bad : "none");
	}
	{
		const char *params[] = { "QUERY_STRING", "status=sent&channel=%FFx", NULL };
		struct fake f = { .params = params };
		struct ac_req r;

		assert_int_equal(run(a, &f, &r, 10), AC_REQ_BAD_ENCODING);
		assert_string_equal(r.bad_field, "channel");
		assert_non_null(strstr(ac_req_strerror(AC_REQ_BAD_ENCODING), "UTF-8"));
	}
	{
		/* a cookie that is not text is dropped, the others kept */
		const char *params[] = { "HTTP_COOKIE", "a=\xff\xfe; sid=ok", NULL };
		struct fake f = { .params = params };
		struct ac_req r;

		assert_int_equal(run(a, &f, &r, 10), AC_REQ_OK);
		assert_null(ac_req_cookie(&r, "a"));
		assert_string_equal(ac_req_cookie(&r, "sid"), "ok");
	}
	ac_arena_free(a);
}

static void
test_cookies(void **state)
{
	static const struct { const char *hdr, *key, *want; } cases[] = {
		{ "sid=abc", "sid", "abc" },
		{ "a=1; sid=xyz; b=2", "sid", "xyz" },
		{ "a=1;sid=tight;b=2", "sid", "tight" },
		{ "  sid = spaced  ; x=1", "sid", "spaced" },
		{ "sid=\"quoted\"", "sid", "quoted" },
		{ "sid=", "sid", "" },
		{ "sid=a=b=c", "sid", "a=b=c" },		/* '=' inside a value */
		{ "noval; sid=ok", "sid", "ok" },		/* a pair without '=' is skipped */
		{ "=anon; sid=ok2", "sid", "ok2" },		/* no name: skipped */
		{ ";;; sid=ok3 ;;", "sid", "ok3" },
	};
	struct ac_arena *a = ac_arena_new(4096);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *params[] = { "HTTP_COOKIE", cases[i].hdr, NULL };
		struct fake f = { .params = params };
		struct ac_req r;

		assert_int_equal(run(a, &f, &r, 10), AC_REQ_OK);
		assert_non_null(ac_req_cookie(&r, cases[i].key));
		assert_string_equal(ac_req_cookie(&r, cases[i].key), cases[i].want);
	}
	{
		struct ac_kv *kv;
		size_t n;

		ac_cookie_parse(a, "noval; =x; ;", &kv, &n);
		assert_int_equal(n, 0);
		ac_cookie_parse(a, NULL, &kv, &n);
		assert_int_equal(n, 0);
	}
	ac_arena_free(a);
}

static void
test_body(void **state)
{
	struct ac_arena *a = ac_arena_new(1024);
	const char body[] = "{\"action\":\"buy\"}";
	const char *params[] = { "CONTENT_LENGTH", "16", NULL };
	struct fake f = { .params = params, .body = body, .body_len = 16, .chunk = 3 };
	struct ac_req r;

	assert_int_equal(run(a, &f, &r, 16), AC_REQ_OK);	/* exactly at the limit */
	assert_int_equal(r.body_len, 16);
	assert_memory_equal(r.body, body, 16);
	assert_int_equal(r.body[16], '\0');
	ac_arena_free(a);
}

static void
test_body_limits(void **state)
{
	struct ac_arena *a = ac_arena_new(1024);
	const char body[] = "0123456789abcdef";
	struct ac_req r;

	{	/* declared too large: refused before reading a byte */
		const char *params[] = { "CONTENT_LENGTH", "17", NULL };
		struct fake f = { .params = params, .body = body, .body_len = 16 };

		assert_int_equal(run(a, &f, &r, 16), AC_REQ_TOO_LARGE);
		assert_int_equal(f.pos, 0);
	}
	{	/* no length given and more bytes than allowed */
		const char *params[] = { NULL };
		struct fake f = { .params = params, .body = body, .body_len = 16 };

		assert_int_equal(run(a, &f, &r, 8), AC_REQ_TOO_LARGE);
	}
	{	/* no length given, within the limit */
		const char *params[] = { NULL };
		struct fake f = { .params = params, .body = body, .body_len = 16, .chunk = 5 };

		assert_int_equal(run(a, &f, &r, 100), AC_REQ_OK);
		assert_int_equal(r.body_len, 16);
	}
	{	/* fewer bytes than declared */
		const char *params[] = { "CONTENT_LENGTH", "12", NULL };
		struct fake f = { .params = params, .body = body, .body_len = 5 };

		assert_int_equal(run(a, &f, &r, 100), AC_REQ_SHORT_BODY);
	}
	{	/* lengths that are not numbers */
		static const char *bad[] = { "abc", "-1", "12x", "99999999999999999999", " 5" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *params[] = { "CONTENT_LENGTH", bad[i], NULL };
			struct fake f = { .params = params, .body = body, .body_len = 16 };

			assert_int_equal(run(a, &f, &r, 100), AC_REQ_BAD_LENGTH);
		}
	}
	assert_string_equal(ac_req_strerror(AC_REQ_TOO_LARGE), "request body too large");
	ac_arena_free(a);
}

static void
test_reply_error(void **state)
{
	struct ac_arena *a = ac_arena_new(4096);
	const char *params[] = { "REQUEST_METHOD", "POST", NULL };
	struct fake f = { .params = params };
	struct ac_req r;

	assert_int_equal(run(a, &f, &r, 10), AC_REQ_OK);
	ac_reply_error(&r, 422, "tp_wrong_side", "take profit <\"x\"> below", "take_profit");
	assert_int_equal(r.responded, 422);
	assert_non_null(strstr(f.out, "Status: 422 Unprocessable Content\r\n"));
	assert_non_null(strstr(f.out, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(f.out, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(f.out, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(f.out, "\r\n\r\n{\"error\":{\"code\":\"tp_wrong_side\","
	    "\"message\":\"take profit <\\\"x\\\"> below\",\"field\":\"take_profit\"}}"));
	/* a second answer to the same request is dropped */
	f.outlen = 0;
	ac_reply_error(&r, 500, "internal", "x", NULL);
	assert_int_equal(f.outlen, 0);
	assert_int_equal(r.responded, 422);
	ac_arena_free(a);
}

static void
test_reply_head_has_no_body(void **state)
{
	struct ac_arena *a = ac_arena_new(4096);
	const char *params[] = { "REQUEST_METHOD", "HEAD", NULL };
	struct fake f = { .params = params };
	struct ac_req r;

	assert_int_equal(run(a, &f, &r, 10), AC_REQ_OK);
	ac_reply(&r, 200, "application/json", "Allow: GET\r\n", "{\"a\":1}", 7);
	assert_non_null(strstr(f.out, "Content-Length: 7\r\n"));
	assert_non_null(strstr(f.out, "Allow: GET\r\n"));
	assert_null(strstr(f.out, "{\"a\":1}"));
	ac_arena_free(a);
}

static void
test_arena(void **state)
{
	struct ac_arena *a = ac_arena_new(1024);
	char *big, *s;

	s = ac_arena_printf(a, "%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	big = ac_arena_alloc(a, 100000);	/* larger than a chunk */
	memset(big, 'z', 100000);
	s = ac_arena_strndup(a, "abcdef", 3);
	assert_string_equal(s, "abc");
	assert_true(ac_arena_used(a) >= 100000);
	ac_arena_reset(a);
	assert_int_equal(ac_arena_used(a), 0);
	assert_null(ac_arena_strdup(a, NULL));
	for (int i = 0; i < 10000; i++)
		assert_non_null(ac_arena_alloc(a, 17));
	ac_arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_and_defaults),
		cmocka_unit_test(test_path_from_request_uri),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_form_parse),
		cmocka_unit_test(test_utf8_fields),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_head_has_no_body),
		cmocka_unit_test(test_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
