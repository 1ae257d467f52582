/* test_route.c — the route phases without a FastCGI peer: 404, 405 with
 * Allow, typed path parameters, the field table (required, bounds,
 * lengths, enums), the CSRF check and the access hook, asserted on what
 * the client gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "web/request.h"
#include "web/response.h"
#include "web/route.h"

#include "fake_io.h"

/* The session's CSRF token (AC_TOKEN_LEN characters). */
#define TOK "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

/* What the handlers saw. */
static char seen[256];

static void
h_alarm(struct ac_call *k)
{
	snprintf(seen, sizeof(seen), "alarm %lld", k->id);
	ac_reply(k->r, 200, "text/plain", NULL, "ok", 2);
}

enum { L_LIMIT, L_STATUS, L_NAME };
static const char *const statuses[] = { "open", "closed", NULL };
static const struct ac_field_decl list_fields[] = {
	[L_LIMIT] = { "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 500, .def = 100 },
	[L_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, .values = statuses },
	[L_NAME] = { "name", AC_F_STRING, AC_FROM_QUERY, .max = 5 },
	{ .name = NULL }
};

static void
h_list(struct ac_call *k)
{
	snprintf(seen, sizeof(seen), "list %lld %s %s", k->v[L_LIMIT].i,
	    k->v[L_STATUS].s ? k->v[L_STATUS].s : "-", k->v[L_NAME].s ? k->v[L_NAME].s : "-");
	ac_reply(k->r, 200, "text/plain", NULL, "ok", 2);
}

enum { F_TITLE, F_TICK };
static const struct ac_field_decl form_fields[] = {
	[F_TITLE] = { "title", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED },
	[F_TICK] = { "tick", AC_F_BOOL, AC_FROM_FORM },
	{ .name = NULL }
};

static void
h_form(struct ac_call *k)
{
	snprintf(seen, sizeof(seen), "form %s %lld", k->v[F_TITLE].s, k->v[F_TICK].i);
	ac_reply(k->r, 200, "text/plain", NULL, "ok", 2);
}

static void
h_rest(struct ac_call *k)
{
	snprintf(seen, sizeof(seen), "rest [%s]", k->rest);
	ac_reply(k->r, 200, "text/plain", NULL, "ok", 2);
}

static const struct ac_route routes[] = {
	{ .method = AC_M_GET, .path = "/alarms/{id}", .fn = h_alarm, .access = AC_BEARER,
	    .audience = "test-api" },
	{ .method = AC_M_DELETE, .path = "/alarms/{id}", .fn = h_alarm, .access = AC_BEARER,
	    .audience = "test-api" },
	{ .method = AC_M_GET, .path = "/list", .fn = h_list, .fields = list_fields },
	{ .method = AC_M_POST, .path = "/form", .fn = h_form, .csrf = 1, .body = AC_BODY_FORM,
	    .fields = form_fields, .access = AC_SESSION },
	{ .method = AC_M_POST, .path = "/hook/{*}", .fn = h_rest },
};

/* The fake access hook: a session is the cookie s=1 (its CSRF token
 * TOK); a bearer token must be "Bearer <audience>". */
static int
fake_access(struct ac_call *k, struct ac_err *e)
{
	const char *h = ac_req_header(k->r, "Authorization"), *s = ac_req_cookie(k->r, "s");

	switch (k->route->access) {
	case AC_BEARER:
		if (h == NULL || strncmp(h, "Bearer ", 7) != 0 ||
		    strcmp(h + 7, k->route->audience) != 0)
			return ac_err_set(e, AC_E_UNAUTHORIZED, NULL, "bad token");
		return 0;
	case AC_SESSION:
		if (s == NULL || strcmp(s, "1") != 0)
			return ac_err_set(e, AC_E_FORBIDDEN, NULL, "log in");
		k->csrf = TOK;
		return 0;
	default:
		return 0;
	}
}

static const struct ac_router router = { .routes = routes,
	.n = sizeof(routes) / sizeof(routes[0]), .origin = "https://example.com",
	.access = fake_access };

/* Runs one request; the answer lands in f->out. */
static void
call(struct fake *f, const char **params, const char *body)
{
	struct ac_arena *a = ac_arena_new(8192);
	struct ac_req r = { .arena = a };
	struct ac_req_io io = { f, fake_param, fake_read, fake_write };

	memset(f, 0, sizeof(*f));
	f->params = params;
	f->body = body;
	f->body_len = body ? strlen(body) : 0;
	seen[0] = '\0';
	assert_int_equal(ac_req_read(&r, &io, 4096), AC_REQ_OK);
	ac_route(&router, &(struct ac_call){ .r = &r });
	ac_arena_free(a);
}

static const char *
body_of(const struct fake *f)
{
	const char *b = strstr(f->out, "\r\n\r\n");

	return b ? b + 4 : "";
}

#define GET(path, query, ...) (const char *[]){ "REQUEST_METHOD", "GET", "DOCUMENT_URI", path, \
	"QUERY_STRING", query, __VA_ARGS__, NULL }

static void
test_not_found(void **state)
{
	struct fake f;

	call(&f, GET("/nowhere", "", NULL), NULL);
	assert_non_null(strstr(f.out, "Status: 404 Not Found\r\n"));
	assert_string_equal(body_of(&f),
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\",\"field\":null}}");
	/* an id must be a positive number */
	call(&f, GET("/alarms/0", "", NULL), NULL);
	assert_non_null(strstr(f.out, "Status: 404 "));
	call(&f, GET("/alarms/x1", "", NULL), NULL);
	assert_non_null(strstr(f.out, "Status: 404 "));
}

static void
test_method_not_allowed(void **state)
{
	struct fake f;
	const char *put[] = { "REQUEST_METHOD", "PUT", "DOCUMENT_URI", "/alarms/3", NULL };
	const char *get[] = { "REQUEST_METHOD", "GET", "DOCUMENT_URI", "/hook/x", NULL };

	call(&f, put, NULL);
	assert_non_null(strstr(f.out, "Status: 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(f.out, "Allow: GET, HEAD, DELETE\r\n"));
	assert_string_equal(body_of(&f), "{\"error\":{\"code\":\"method_not_allowed\","
	    "\"message\":\"method not allowed\",\"field\":null}}");
	call(&f, get, NULL);
	assert_non_null(strstr(f.out, "Allow: POST\r\n"));
	assert_string_equal(seen, "");
}

static void
test_path_parameters(void **state)
{
	struct fake f;
	const char *head[] = { "REQUEST_METHOD", "HEAD", "DOCUMENT_URI", "/alarms/42",
	    "HTTP_AUTHORIZATION", "Bearer test-api", NULL };
	const char *post[] = { "REQUEST_METHOD", "POST", "DOCUMENT_URI", "/hook/a/b", NULL };

	call(&f, head, NULL);
	assert_non_null(strstr(f.out, "Status: 200 OK\r\n"));
	assert_string_equal(seen, "alarm 42");
	call(&f, post, NULL);
	assert_string_equal(seen, "rest [a/b]");
}

static void
test_bearer_audience(void **state)
{
	struct fake f;

	call(&f, GET("/alarms/1", "", NULL), NULL);
	assert_non_null(strstr(f.out, "Status: 401 Unauthorized\r\n"));
	assert_string_equal(seen, "");
	call(&f, GET("/alarms/1", "", "HTTP_AUTHORIZATION", "Bearer other-api"), NULL);
	assert_non_null(strstr(f.out, "Status: 401 "));
	assert_string_equal(body_of(&f),
	    "{\"error\":{\"code\":\"unauthorized\",\"message\":\"bad token\",\"field\":null}}");
	assert_string_equal(seen, "");
}

static void
test_query_fields(void **state)
{
	static const struct { const char *query, *seen, *body; } cases[] = {
		{ "", "list 100 - -", NULL },
		{ "limit=7&status=closed&name=abcde", "list 7 closed abcde", NULL },
		{ "limit=0", "", "{\"error\":{\"code\":\"bad_parameter\",\"message\":\"limit must be a"
		    " whole number from 1 to 500\",\"field\":\"limit\"}}" },
		{ "limit=501", "", NULL },
		{ "limit=abc", "", NULL },
		{ "status=pending", "", "{\"error\":{\"code\":\"bad_parameter\",\"message\":\"status"
		    " must be one of the documented values\",\"field\":\"status\"}}" },
		{ "name=abcdef", "", "{\"error\":{\"code\":\"bad_parameter\",\"message\":\"name must"
		    " be at most 5 characters\",\"field\":\"name\"}}" },
	};
	struct fake f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call(&f, GET("/list", cases[i].query, NULL), NULL);
		assert_string_equal(seen, cases[i].seen);
		assert_non_null(strstr(f.out, *cases[i].seen ? "Status: 200 " : "Status: 400 "));
		if (cases[i].body)
			assert_string_equal(body_of(&f), cases[i].body);
	}
}

#define POST(...) (const char *[]){ "REQUEST_METHOD", "POST", "DOCUMENT_URI", "/form", \
	"CONTENT_TYPE", "application/x-www-form-urlencoded", __VA_ARGS__, NULL }

static void
test_form_csrf_and_required(void **state)
{
	char len[3][8];
	const char *ok = "csrf=" TOK "&title=hi&tick=on", *nocsrf = "title=hi",
	    *notitle = "csrf=" TOK "&tick=on";
	struct fake f;

	snprintf(len[0], 8, "%zu", strlen(ok));
	snprintf(len[1], 8, "%zu", strlen(nocsrf));
	snprintf(len[2], 8, "%zu", strlen(notitle));
	/* no session: the access hook refuses */
	call(&f, POST("CONTENT_LENGTH", len[0]), ok);
	assert_non_null(strstr(f.out, "Status: 403 "));
	assert_string_equal(seen, "");
	call(&f, POST("CONTENT_LENGTH", len[0], "HTTP_COOKIE", "s=1"), ok);
	assert_non_null(strstr(f.out, "Status: 200 "));
	assert_string_equal(seen, "form hi 1");
	/* another site's form */
	call(&f, POST("CONTENT_LENGTH", len[0], "HTTP_COOKIE", "s=1", "HTTP_ORIGIN",
	    "https://evil.example"), ok);
	assert_non_null(strstr(f.out, "Status: 403 "));
	assert_non_null(strstr(body_of(&f), "\"code\":\"csrf\""));
	/* no token */
	call(&f, POST("CONTENT_LENGTH", len[1], "HTTP_COOKIE", "s=1"), nocsrf);
	assert_non_null(strstr(f.out, "Status: 403 "));
	assert_string_equal(seen, "");
	/* a required field missing */
	call(&f, POST("CONTENT_LENGTH", len[2], "HTTP_COOKIE", "s=1"), notitle);
	assert_non_null(strstr(f.out, "Status: 422 "));
	assert_string_equal(body_of(&f), "{\"error\":{\"code\":\"invalid\",\"message\":\"title"
	    " is required\",\"field\":\"title\"}}");
	assert_string_equal(seen, "");
}

static void
test_path_match(void **state)
{
	static const struct { const char *pattern, *path; int ok; long long id; } rows[] = {
		{ "/alarms", "/alarms", 1, 0 },
		{ "/alarms", "/alarms/", 0, 0 },
		{ "/alarms/{id}", "/alarms/12", 1, 12 },
		{ "/alarms/{id}/delete", "/alarms/7/delete", 1, 7 },
		{ "/alarms/{id}", "/alarms/0", 0, 0 },			/* ids start at 1 */
		{ "/alarms/{id}", "/alarms/-3", 0, 0 },
		{ "/alarms/{id}", "/alarms/12x", 0, 0 },
		{ "/alarms/{id}", "/alarms/", 0, 0 },
		{ "/alarms/{id}", "/alarms/99999999999999999999999", 0, 0 },	/* too long */
		{ "/alarms/{id}", "/alarms/9223372036854775807", 1, 9223372036854775807LL },
		{ "/alarms/{id}", "/alarms/9223372036854775808", 0, 0 },	/* over int64 */
		{ "/history", "/historyx", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long long id = 0;
		const char *rest = NULL;

		assert_int_equal(ac_route_match(rows[i].pattern, rows[i].path, &id, &rest), rows[i].ok);
		if (rows[i].ok)
			assert_int_equal(id, rows[i].id);
	}
}

static void
test_print(void **state)
{
	char buf[512] = "";
	FILE *fp = fmemopen(buf, sizeof(buf), "w");

	ac_route_print(fp, &router);
	fclose(fp);
	assert_string_equal(buf, "GET /alarms/#\nDELETE /alarms/#\nGET /list\nPOST /form\n"
	    "POST /hook/{*}\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_path_parameters),
		cmocka_unit_test(test_bearer_audience),
		cmocka_unit_test(test_query_fields),
		cmocka_unit_test(test_form_csrf_and_required),
		cmocka_unit_test(test_path_match),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
