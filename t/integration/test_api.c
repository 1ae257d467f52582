/*
 * test_api.c — ac-api through nginx: access tokens (and what is refused),
 * every route's success and failures, another user's alarms (404), the
 * 100-a-minute limit (429 + Retry-After), login locks per account and
 * address and their expiry (t/integration/run sets AC_LOCK_SECONDS short),
 * the limit on bad tokens, bytes that are not UTF-8, the API's own
 * description (public, byte for byte docs/openapi.yaml).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "itportal.h"
#include "base/redis.h"

#define PW "correct horse battery"

/* A user made by acctl; its email into email (128 bytes), its id. */
static long long
user_new(const char *tag, char *email)
{
	char hex[9];
	int st;
	json_t *o;
	long long id;

	it_rand_hex(hex, 8);
	snprintf(email, 128, "%s.%s@example.com", tag, hex);
	o = it_acctl(&st, "user", "add", "--email", email, "--password", PW, "--name", tag, NULL);
	assert_int_equal(st, 0);
	id = (long long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* POST /auth/token; the answer in *r. */
static void
token_req(struct it_resp *r, const char *email, const char *password)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	it_post(r, "/api/v1/auth/token", "application/json", body);
}

/* An access token for email and password into tok (600 bytes). */
static void
token_as(const char *email, const char *password, char *tok)
{
	struct it_resp r;

	token_req(&r, email, password);
	if (r.status != 200)
		fail_msg("token for %s: %ld %s", email, r.status, r.body);
	assert_string_equal(it_json_str(&r, "token_type"), "Bearer");
	snprintf(tok, 600, "%s", it_json_str(&r, "access_token"));
	it_resp_free(&r);
}

/* An access token for email (password PW) into tok. */
static void
token_get(const char *email, char *tok)
{
	token_as(email, PW, tok);
}

/* A request with Authorization: Bearer tok (NULL: none). */
static void
call(struct it_resp *r, const char *tok, const char *method, const char *path, const char *json)
{
	char auth[800];
	const char *h[] = { auth, NULL };

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "");
	it_http_h(r, method, path, tok ? h : NULL, json ? "application/json" : NULL, json,
	    json ? strlen(json) : 0);
}

static void
expect_error(struct it_resp *r, long status, const char *code)
{
	if (r->status != status || it_json_str(r, "error.code") == NULL ||
	    strcmp(it_json_str(r, "error.code"), code) != 0)
		fail_msg("wanted %ld %s, got %ld %s", status, code, r->status, r->body);
	it_resp_free(r);
}

static void
test_tokens(void **state)
{
	struct it_resp r;
	char email[128], tok[600], bad[700];

	user_new("tk", email);
	token_req(&r, email, "wrong password");
	expect_error(&r, 401, "invalid_credentials");
	token_req(&r, "nobody.x@example.com", "wrong password");
	expect_error(&r, 401, "invalid_credentials");
	it_post(&r, "/api/v1/auth/token", "application/json", "{\"email\": 1}");
	expect_error(&r, 422, "invalid");
	it_post(&r, "/api/v1/auth/token", "application/json", "{nope");
	expect_error(&r, 400, "bad_json");
	it_post(&r, "/api/v1/auth/token", "text/plain", "{}");
	expect_error(&r, 415, "unsupported_media_type");
	token_get(email, tok);
	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "email"), email);
	it_resp_free(&r);
	/* no token, a mangled one, alg none, another algorithm */
	call(&r, NULL, "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 401, "unauthorized");
	snprintf(bad, sizeof(bad), "%sx", tok);
	call(&r, bad, "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 401, "unauthorized");
	/* {"alg":"none"} . the same payload . empty signature */
	snprintf(bad, sizeof(bad), "eyJhbGciOiJub25lIn0%s", strchr(tok, '.'));
	*(strrchr(bad, '.') + 1) = '\0';
	call(&r, bad, "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 401, "unauthorized");
	/* {"alg":"HS512"} with the HS256 signature */
	snprintf(bad, sizeof(bad), "eyJhbGciOiJIUzUxMiJ9%s", strchr(tok, '.'));
	call(&r, bad, "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 401, "unauthorized");
	call(&r, "act_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 401, "unauthorized");
	/* routing */
	call(&r, tok, "GET", "/api/v1/nothing", NULL);
	expect_error(&r, 404, "not_found");
	call(&r, tok, "PATCH", "/api/v1/alarms", NULL);
	assert_non_null(it_header(&r, "Allow", NULL));
	expect_error(&r, 405, "method_not_allowed");
}

static void
test_alarms_crud(void **state)
{
	struct fx_plan p, other;
	struct it_resp r;
	char email[128], tok[600], body[512], path[64];
	long long uid, aid;

	fx_plan_new(&p);
	fx_plan_new(&other);
	uid = user_new("crud", email);
	fx_subscribe(uid, &p, 3);
	token_get(email, tok);
	call(&r, tok, "GET", "/api/v1/alarms", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(it_json_get(&r, "alarms")), 0);
	it_resp_free(&r);
	/* refused: bad JSON, bad fields, uncovered strategy */
	call(&r, tok, "POST", "/api/v1/alarms", "[1]");
	expect_error(&r, 400, "bad_json");
	call(&r, tok, "POST", "/api/v1/alarms", "{\"channels\":[\"telegram\"]}");
	expect_error(&r, 422, "invalid");
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld,\"channels\":[\"fax\"]}", p.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	assert_string_equal(it_json_str(&r, "error.field"), "channels");
	expect_error(&r, 422, "invalid");
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld,\"min_price\":\"1'; DROP TABLE alarms;--\"}",
	    p.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	expect_error(&r, 422, "invalid");
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld,\"on_exit\":\"yes\"}", p.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	expect_error(&r, 422, "invalid");
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld}", other.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	expect_error(&r, 402, "not_covered");
	/* made */
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld,\"channels\":[\"email\",\"sms\"],"
	    "\"on_replacement\":false,\"min_price\":100,\"max_price\":\"250.5\"}", p.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	assert_int_equal(r.status, 201);
	aid = (long long)json_integer_value(it_json_get(&r, "id"));
	assert_string_equal(it_json_str(&r, "min_price"), "100");
	assert_string_equal(it_json_str(&r, "max_price"), "250.5");
	assert_true(json_is_false(it_json_get(&r, "on_replacement")));
	assert_int_equal(json_array_size(it_json_get(&r, "channels")), 2);
	it_resp_free(&r);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	expect_error(&r, 409, "conflict");
	snprintf(path, sizeof(path), "/api/v1/alarms/%lld", aid);
	call(&r, tok, "GET", path, NULL);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	call(&r, tok, "PUT", path, "{\"enabled\":false,\"max_price\":null}");
	assert_int_equal(r.status, 200);
	assert_true(json_is_false(it_json_get(&r, "enabled")));
	assert_true(json_is_null(it_json_get(&r, "max_price")));
	assert_string_equal(it_json_str(&r, "min_price"), "100");
	it_resp_free(&r);
	call(&r, tok, "PUT", path, "{\"min_price\":0}");
	expect_error(&r, 422, "invalid");
	call(&r, tok, "PUT", "/api/v1/alarms/999999999", "{}");
	expect_error(&r, 404, "not_found");
	call(&r, tok, "DELETE", path, NULL);
	assert_int_equal(r.status, 204);
	it_resp_free(&r);
	call(&r, tok, "DELETE", path, NULL);
	expect_error(&r, 404, "not_found");
	call(&r, tok, "GET", path, NULL);
	expect_error(&r, 404, "not_found");
}

static void
test_cross_user(void **state)
{
	struct fx_plan p;
	struct it_resp r;
	char ea[128], eb[128], ta[600], tb[600], body[256], path[64];
	long long a, b, aid;

	fx_plan_new(&p);
	a = user_new("xa", ea);
	b = user_new("xb", eb);
	fx_subscribe(a, &p, 3);
	fx_subscribe(b, &p, 3);
	token_get(ea, ta);
	token_get(eb, tb);
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld}", p.strategy.id);
	call(&r, ta, "POST", "/api/v1/alarms", body);
	assert_int_equal(r.status, 201);
	aid = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	fx_deliveries(a, p.strategy.id, 4);
	snprintf(path, sizeof(path), "/api/v1/alarms/%lld", aid);
	call(&r, tb, "GET", path, NULL);
	expect_error(&r, 404, "not_found");
	call(&r, tb, "PUT", path, "{\"enabled\":false}");
	expect_error(&r, 404, "not_found");
	call(&r, tb, "DELETE", path, NULL);
	expect_error(&r, 404, "not_found");
	call(&r, ta, "GET", path, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(it_json_get(&r, "enabled")));
	it_resp_free(&r);
	call(&r, tb, "GET", "/api/v1/account/history", NULL);
	assert_int_equal(json_array_size(it_json_get(&r, "items")), 0);
	it_resp_free(&r);
	call(&r, tb, "GET", "/api/v1/alarms", NULL);
	assert_int_equal(json_array_size(it_json_get(&r, "alarms")), 0);
	it_resp_free(&r);
	call(&r, ta, "GET", "/api/v1/account/history?limit=3", NULL);
	assert_int_equal(json_array_size(it_json_get(&r, "items")), 3);
	it_resp_free(&r);
	(void)b;
}

static void
test_reads(void **state)
{
	static const char *const paths[] = { "/api/v1/account/profile", "/api/v1/account/credits",
	    "/api/v1/account/history", "/api/v1/subscriptions/plans", "/api/v1/subscriptions/status",
	    "/api/v1/signals", "/api/v1/trades", "/api/v1/account/history?channel=sms&status=sent",
	    "/api/v1/trades?status=open" };
	static const char *const bad[] = { "/api/v1/account/credits?limit=0",
	    "/api/v1/account/history?channel=fax", "/api/v1/account/history?before=x",
	    "/api/v1/trades?status=sideways", "/api/v1/signals?limit=1000" };
	struct fx_plan p;
	struct it_resp r;
	char email[128], tok[600], body[128];
	long long uid;

	fx_plan_new(&p);
	uid = user_new("reads", email);
	fx_subscribe(uid, &p, 7);
	token_get(email, tok);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(&r, tok, "GET", paths[i], NULL);
		if (r.status != 200 || r.json == NULL)
			fail_msg("GET %s: %ld %s", paths[i], r.status, r.body);
		it_resp_free(&r);
		call(&r, NULL, "GET", paths[i], NULL);
		expect_error(&r, 401, "unauthorized");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call(&r, tok, "GET", bad[i], NULL);
		expect_error(&r, 400, "bad_parameter");
	}
	call(&r, tok, "GET", "/api/v1/account/credits", NULL);
	assert_int_equal(json_integer_value(it_json_get(&r, "balance")), 7);
	assert_int_equal(json_array_size(it_json_get(&r, "entries")), 1);
	it_resp_free(&r);
	call(&r, tok, "GET", "/api/v1/subscriptions/status", NULL);
	assert_int_equal(json_array_size(it_json_get(&r, "subscriptions")), 1);
	it_resp_free(&r);
	snprintf(body, sizeof(body), "{\"strategy_id\":%lld}", p.strategy.id);
	call(&r, tok, "POST", "/api/v1/alarms", body);
	it_resp_free(&r);
	fx_deliveries(uid, p.strategy.id, 2);
	call(&r, tok, "GET", "/api/v1/signals", NULL);
	assert_int_equal(json_array_size(it_json_get(&r, "signals")), 2);
	it_resp_free(&r);
}

static void
test_rate_limit(void **state)
{
	struct it_resp r;
	char email[128], tok[600];
	int i;

	user_new("rl", email);
	token_get(email, tok);
	for (i = 1; i <= 100; i++) {
		call(&r, tok, "GET", "/api/v1/auth/user", NULL);
		if (r.status != 200)
			fail_msg("request %d: %ld", i, r.status);
		it_resp_free(&r);
	}
	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	assert_int_equal(r.status, 429);
	assert_non_null(it_header(&r, "Retry-After", NULL));
	assert_true(atoi(it_header(&r, "Retry-After", NULL)) >= 1);
	assert_true(atoi(it_header(&r, "Retry-After", NULL)) <= 60);
	expect_error(&r, 429, "rate_limited");
}

/* AC_LOCK_AFTER (5) wrong passwords from an address lock the account for
 * that address only (AC_LOCK_SECONDS, short here): the right password
 * from there is refused (429, before it is checked) until the lock ends,
 * and from another address it works at once. */
static void
test_lockout(void **state)
{
	struct it_resp r;
	char email[128], tok[600];
	int lock_s = atoi(getenv("AC_LOCK_SECONDS") ? getenv("AC_LOCK_SECONDS") : "0");

	if (lock_s < 1 || lock_s > 10)
		skip();		/* only with a short lockout */
	user_new("lock", email);
	it_source("127.0.0.31");
	for (int i = 0; i < 5; i++) {
		token_req(&r, email, "wrong password");
		expect_error(&r, 401, "invalid_credentials");
	}
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND failed_logins = 5",
	    email, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = 'account_locked'"
	    " AND lower(to_addr) = lower($1)", email, NULL), 1);
	token_req(&r, email, PW);
	assert_non_null(it_header(&r, "Retry-After", NULL));
	expect_error(&r, 429, "too_many_attempts");
	/* the owner is told, once an hour however many addresses lock it */
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = 'account_locked'"
	    " AND lower(to_addr) = lower($1) AND body LIKE '%from the address 127.0.0.31%'",
	    email, NULL), 1);
	it_source("127.0.0.33");
	for (int i = 0; i < 5; i++) {
		token_req(&r, email, "wrong password");
		expect_error(&r, 401, "invalid_credentials");
	}
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = 'account_locked'"
	    " AND lower(to_addr) = lower($1)", email, NULL), 1);
	it_source("127.0.0.32");
	token_get(email, tok);
	it_source("127.0.0.31");
	token_req(&r, email, PW);
	expect_error(&r, 429, "too_many_attempts");
	sleep((unsigned)lock_s + 1);
	token_get(email, tok);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND failed_logins = 0",
	    email, NULL), 1);
	it_source(NULL);
}

/* With Redis away the locks there are gone, but an account past its limit
 * of wrong passwords in a row (AC_LOGIN_ACCOUNT_MAX, 10, in the database)
 * takes no more guesses, not even the right one; another account logs in;
 * Redis back, the owner does too. Redis is made away by pausing its
 * clients for longer than the responders wait (AC_REDIS_TIMEOUT_MS). */
static void
test_lockout_without_redis(void **state)
{
	redisContext *c = ac_redis_connect(it_env("AC_REDIS_URL"), 1000);
	struct it_resp r;
	char email[128], other[128], tok[600];
	redisReply *rep;

	(void)state;
	user_new("noredis", email);
	user_new("noredis2", other);
	PQclear(it_q("UPDATE users SET failed_logins = 10 WHERE email = $1", email, NULL));
	assert_non_null(c);
	rep = redisCommand(c, "CLIENT PAUSE 2000 ALL");
	assert_non_null(rep);
	freeReplyObject(rep);
	token_req(&r, email, PW);
	expect_error(&r, 429, "too_many_attempts");
	token_get(other, tok);
	redisFree(c);
	sleep(7);	/* the pause, then the responders' wait before Redis again */
	token_get(email, tok);
}

/* An account hammered from many addresses (over AC_LOGIN_ACCOUNT_MAX, 10,
 * failures): each attacking address stays refused, a new one gets a
 * single guess, and the owner's right password from an address of its
 * own logs in. */
static void
test_throttle(void **state)
{
	struct it_resp r;
	char email[128], tok[600], addr[32];

	user_new("thr", email);
	for (int a = 0; a < 3; a++) {
		snprintf(addr, sizeof(addr), "127.0.0.%d", 41 + a);
		it_source(addr);
		for (int i = 0; i < (a < 2 ? 4 : 2); i++) {
			token_req(&r, email, "wrong password");
			expect_error(&r, 401, "invalid_credentials");
		}
	}
	/* 10 failures, none locking its address (4, 4, 2): an address that
	 * failed on the account is refused now, even with the right password
	 * (it is not checked) */
	it_source("127.0.0.41");
	token_req(&r, email, PW);
	assert_non_null(it_header(&r, "Retry-After", NULL));
	expect_error(&r, 429, "too_many_attempts");
	/* a new attacker: one guess */
	it_source("127.0.0.44");
	token_req(&r, email, "wrong password");
	expect_error(&r, 401, "invalid_credentials");
	token_req(&r, email, "another wrong one");
	expect_error(&r, 429, "too_many_attempts");
	/* the owner, from home */
	it_source("127.0.0.45");
	token_get(email, tok);
	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	/* and the attackers are still held */
	it_source("127.0.0.42");
	token_req(&r, email, PW);
	expect_error(&r, 429, "too_many_attempts");
	it_source(NULL);
}

/* AC_API_BAD_TOKEN_MAX (20) refused tokens a minute from an address: then
 * 429 with Retry-After for anything from there, a good token too; other
 * addresses are not affected. */
static void
test_bad_tokens_limited(void **state)
{
	struct it_resp r;
	char email[128], tok[600], bad[64];

	user_new("bearer", email);
	token_get(email, tok);
	it_source("127.0.0.51");
	for (int i = 0; i < 20; i++) {
		snprintf(bad, sizeof(bad), "guess.%d.x", i);
		call(&r, bad, "GET", "/api/v1/auth/user", NULL);
		expect_error(&r, 401, "unauthorized");
	}
	call(&r, "act_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET", "/api/v1/auth/user", NULL);
	assert_non_null(it_header(&r, "Retry-After", NULL));
	assert_true(atoi(it_header(&r, "Retry-After", NULL)) >= 1);
	assert_true(atoi(it_header(&r, "Retry-After", NULL)) <= 60);
	expect_error(&r, 429, "too_many_attempts");
	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	expect_error(&r, 429, "too_many_attempts");
	it_source("127.0.0.52");
	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	it_source(NULL);
}

/* Bytes that are not UTF-8: a query argument is a 400 naming it, a JSON
 * body a 400 saying so (jansson refuses it), and a login with one counts
 * as a failed attempt from the address. */
static void
test_bad_utf8(void **state)
{
	struct it_resp r;
	char email[128], tok[600], body[256];

	user_new("utf", email);
	token_get(email, tok);
	call(&r, tok, "GET", "/api/v1/account/history?channel=%C3%28", NULL);
	assert_string_equal(it_json_str(&r, "error.field"), "channel");
	assert_non_null(strstr(it_json_str(&r, "error.message"), "UTF-8"));
	expect_error(&r, 400, "bad_encoding");
	call(&r, tok, "POST", "/api/v1/alarms", "{\"strategy_id\":1,\"channels\":[\"\xff\"]}");
	assert_non_null(strstr(it_json_str(&r, "error.message"), "UTF-8"));
	expect_error(&r, 400, "bad_json");
	it_source("127.0.0.61");
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"\xc3\x28\"}", email);
	for (int i = 0; i < 50; i++) {
		it_post(&r, "/api/v1/auth/token", "application/json", body);
		expect_error(&r, 400, "bad_json");
	}
	/* AC_LOGIN_IP_MAX (50) failures from the address: the right password is refused */
	token_req(&r, email, PW);
	expect_error(&r, 429, "too_many_attempts");
	it_source(NULL);
}

/* A hash made with other Argon2id parameters is replaced at the next login. */
static void
test_rehash(void **state)
{
	struct it_resp r;
	char email[128], old[crypto_pwhash_STRBYTES], tok[600];

	assert_true(sodium_init() >= 0);
	user_new("rehash", email);
	assert_int_equal(crypto_pwhash_str(old, PW, strlen(PW), crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN), 0);
	PQclear(it_q("UPDATE users SET password_hash = $2 WHERE email = $1", email, old, NULL));
	token_get(email, tok);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " password_hash <> $2 AND password_hash LIKE '$argon2id$v=19$m=65536,t=2,p=1$%'",
	    email, old, NULL), 1);
	token_req(&r, email, PW);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
}

/* GET /auth/user with tok: the status. */
static long
whoami(const char *tok)
{
	struct it_resp r;
	long st;

	call(&r, tok, "GET", "/api/v1/auth/user", NULL);
	st = r.status;
	it_resp_free(&r);
	return st;
}

/* An access token holds only while its user is active and its credentials
 * are the ones it was issued under; a personal token outlives a password
 * change (the /tokens page says so) but not a suspension. */
static void
test_access_follows_the_account(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], before[600], after[600], again[600], personal[64], uid[24];

	snprintf(uid, sizeof(uid), "%lld", ib_signup(&b, "cred", "Cred", PW, email));
	token_get(email, before);
	assert_int_equal(whoami(before), 200);
	ib_new_token(&b, "my bot", personal);

	/* the password changes: the access token issued before dies at once */
	ib_post(&b, &r, "/account/password", "current=correct+horse+battery"
	    "&password=a+brand+new+passphrase");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	assert_int_equal(whoami(before), 401);
	token_as(email, "a brand new passphrase", after);
	assert_int_equal(whoami(after), 200);
	assert_int_equal(whoami(personal), 200);

	/* suspended: nothing works, and a reactivation does not revive the
	 * tokens of before */
	PQclear(it_q("UPDATE users SET status = 'suspended' WHERE id = $1", uid, NULL));
	assert_int_equal(whoami(after), 401);
	call(&r, after, "GET", "/api/v1/signals", NULL);
	expect_error(&r, 401, "unauthorized");
	assert_int_equal(whoami(personal), 401);
	token_req(&r, email, "a brand new passphrase");
	expect_error(&r, 401, "invalid_credentials");
	PQclear(it_q("UPDATE users SET status = 'active' WHERE id = $1", uid, NULL));
	assert_int_equal(whoami(after), 401);
	assert_int_equal(whoami(personal), 200);
	token_as(email, "a brand new passphrase", again);
	assert_int_equal(whoami(again), 200);
	ib_get(&b, &r, "/tokens");
	if (!it_has(&r, "keep working when you change your password"))
		fail_msg("/tokens does not say what a password change does to tokens: %s", r.body);
	it_resp_free(&r);
}

/* The prices of GET path's list under member, comma separated, into out. */
static void
prices_of(const char *tok, const char *path, const char *member, char *out, size_t n)
{
	struct it_resp r;
	json_t *a, *v;
	size_t i, len = 0;

	call(&r, tok, "GET", path, NULL);
	if (r.status != 200 || !json_is_array(a = it_json_get(&r, member)))
		fail_msg("GET %s: %ld %s", path, r.status, r.body);
	out[0] = '\0';
	json_array_foreach(a, i, v)
		len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "",
		    json_string_value(json_object_get(v, "price")));
	it_resp_free(&r);
}

/* A signal is shown only to a user whose subscription covered its
 * strategy when it arrived: not after the subscription ended, not from
 * before it began, never on the strength of an alarm alone. */
static void
test_signals_follow_the_subscription(void **state)
{
	struct fx_plan p;
	char email[3][128], tok[600], sid[24], uid[24], got[256];
	long long u[3];
	static const char *const paths[][2] = { { "/api/v1/signals", "signals" },
	    { "/api/v1/account/history", "items" } };

	fx_plan_new(&p);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	for (int i = 0; i < 3; i++) {
		u[i] = user_new(i == 0 ? "ended" : i == 1 ? "fresh" : "alarmonly", email[i]);
		snprintf(uid, sizeof(uid), "%lld", u[i]);
		PQclear(it_q("INSERT INTO alarms (user_id, strategy_id) VALUES ($1, $2)", uid, sid,
		    NULL));
	}
	fx_subscribe_at(u[0], &p, "expired", "20 days", "-1 day");	/* ended yesterday */
	fx_subscribe_at(u[1], &p, "active", "1 hour", "30 days");	/* began an hour ago */
	fx_signal_at(p.strategy.id, u, 3, "30 days", "101");	/* before anyone */
	fx_signal_at(p.strategy.id, u, 3, "7 days", "102");	/* during the ended one */
	fx_signal_at(p.strategy.id, u, 3, "12 hours", "103");	/* after it, before the new */
	fx_signal_at(p.strategy.id, u, 3, "1 minute", "104");	/* during the new one */
	for (int i = 0; i < 3; i++) {
		token_get(email[i], tok);
		for (size_t k = 0; k < 2; k++) {
			prices_of(tok, paths[k][0], paths[k][1], got, sizeof(got));
			if (strcmp(got, i == 0 ? "102" : i == 1 ? "104" : "") != 0)
				fail_msg("%s sees %s at %s", email[i], got, paths[k][0]);
		}
	}
}

/* GET /api/v1/openapi.yaml: no token, YAML, cacheable, the file's bytes. */
static void
test_description(void **state)
{
	const char *ct, *cc;
	char path[1024], *want;
	struct it_resp r;
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/docs/openapi.yaml", it_env("SRC"));
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((size = ftell(f)) > 0);
	rewind(f);
	assert_non_null(want = malloc((size_t)size));
	assert_int_equal(fread(want, 1, (size_t)size, f), (size_t)size);
	fclose(f);

	it_http(&r, "GET", "/api/v1/openapi.yaml", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(ct = it_header(&r, "Content-Type", NULL));
	assert_memory_equal(ct, "application/yaml", strlen("application/yaml"));
	assert_non_null(cc = it_header(&r, "Cache-Control", NULL));
	assert_non_null(strstr(cc, "max-age="));
	assert_non_null(it_header(&r, "ETag", NULL));
	assert_non_null(it_header(&r, "X-Content-Type-Options", NULL));
	assert_int_equal(r.len, (size_t)size);
	assert_memory_equal(r.body, want, (size_t)size);
	it_resp_free(&r);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_alarms_crud),
		cmocka_unit_test(test_cross_user),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_lockout_without_redis),
		cmocka_unit_test(test_bad_tokens_limited),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_rehash),
		cmocka_unit_test(test_access_follows_the_account),
		cmocka_unit_test(test_signals_follow_the_subscription),
		cmocka_unit_test(test_description),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
