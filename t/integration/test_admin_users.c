/*
 * test_admin_users.c — ac-admin's users and plans screens through nginx:
 * the search, a user's page (ledger, deliveries, trades made by fixtures),
 * suspend and activate (the portal session, a personal API token and an
 * access token refused at once), credit adjustments (a reason, no balance
 * below 0, a form posted twice adjusts once), the test-user flag, a failed
 * delivery sent again by the worker, plans with their strategies (create,
 * edit, archive, bad input), the permission of every POST, and an
 * audit_log row for each change.
 *
 * nginx allows 5 quick POSTs to /admin/login and /login per address, so
 * each test logs in from a loopback address of its own (it_source).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itportal.h"

#define PW "correct horse battery"

/* GET path as b: its status (the body is dropped). */
static long
get_status(struct ib *b, const char *path)
{
	struct it_resp r;
	long s;

	ib_get(b, &r, path);
	s = r.status;
	it_resp_free(&r);
	return s;
}

/* POST form to path as b: its status. */
static long
post_status(struct ib *b, const char *path, const char *form)
{
	struct it_resp r;
	long s;

	ib_post(b, &r, path, form);
	s = r.status;
	it_resp_free(&r);
	return s;
}

/* A user made by SQL with a unique email (into email, 128 bytes), phone
 * and Telegram username (into tg, 32 bytes): its id. */
static long long
user_new(const char *name, char *email, char *phone, char *tg)
{
	char hex[9], digits[16];

	it_rand_hex(hex, 8);
	snprintf(email, 128, "adm.%s@example.com", hex);
	snprintf(digits, sizeof(digits), "%010llu", strtoull(hex, NULL, 16) % 10000000000ULL);
	snprintf(phone, 24, "+91%s", digits);
	snprintf(tg, 32, "tg_%s", hex);
	return it_q_ll("INSERT INTO users (email, password_hash, display_name, phone,"
	    " telegram_username) VALUES ($1, 'x', $2, $3, $4) RETURNING id", email, name, phone,
	    tg, NULL);
}

/* The number of audit rows of action on target. */
static long long
audits(const char *action, const char *target)
{
	return it_q_ll("SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2",
	    action, target, NULL);
}

static void
test_search(void **state)
{
	struct ib a = { 0 };
	struct it_resp r;
	char admin[64], ea[128], eb[128], pa[24], pb[24], ta[32], tb[32], path[256];
	long long ida, idb;

	(void)state;
	it_source("127.0.0.21");
	ida = user_new("Alice Search", ea, pa, ta);
	idb = user_new("Bob Other", eb, pb, tb);
	ia_login(&a, "users.view", admin);
	/* by email, any case */
	snprintf(path, sizeof(path), "/admin/users?q=%.12s", ea);
	for (size_t i = 0; i < 3; i++)		/* "ADM." */
		path[strlen("/admin/users?q=") + i] -= 'a' - 'A';
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, ea));
	assert_false(it_has(&r, eb));
	it_resp_free(&r);
	/* by phone (the + as %2B) */
	snprintf(path, sizeof(path), "/admin/users?q=%%2B%s", pa + 1);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, ea));
	assert_false(it_has(&r, eb));
	it_resp_free(&r);
	/* by Telegram username, with its @ */
	snprintf(path, sizeof(path), "/admin/users?q=%%40%s", tb);
	ib_get(&a, &r, path);
	assert_true(it_has(&r, eb));
	assert_false(it_has(&r, ea));
	it_resp_free(&r);
	/* by name; with a status that is not theirs, nobody */
	ib_get(&a, &r, "/admin/users?q=alice+search");
	assert_true(it_has(&r, ea));
	it_resp_free(&r);
	ib_get(&a, &r, "/admin/users?q=alice+search&status=suspended");
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, ea));
	it_resp_free(&r);
	/* LIKE's % is a plain character; quotes are only text */
	ib_get(&a, &r, "/admin/users?q=%25");
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, ea));
	it_resp_free(&r);
	ib_get(&a, &r, "/admin/users?q=%27%3B+DROP+TABLE+users%3B--");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	/* no q: the newest first, 50 a page, an older page */
	for (int i = 0; i < 51; i++)
		user_new("Filler", eb, pb, tb);
	ib_get(&a, &r, "/admin/users");
	assert_true(it_has(&r, eb));
	assert_true(it_has(&r, "id=\"older\""));
	it_resp_free(&r);
	(void)ida;
	(void)idb;
	it_source(NULL);
}

static void
test_user_page(void **state)
{
	struct ib a = { 0 }, v = { 0 };
	struct fx_plan p;
	struct it_resp r;
	char admin[64], email[128], phone[24], tg[32], path[64], uid[24], sid[24];
	long long id;

	(void)state;
	it_source("127.0.0.22");
	id = user_new("Page User", email, phone, tg);
	snprintf(uid, sizeof(uid), "%lld", id);
	fx_plan_new(&p);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	fx_subscribe(id, &p, 40);
	fx_deliveries(id, p.strategy.id, 3);
	PQclear(it_q("INSERT INTO trades (trade_number, user_id, strategy_id, symbol, timeframe,"
	    " side, entry_price) SELECT 7, $1, id, symbol, timeframe, 'BUY', 123.45"
	    " FROM strategies WHERE id = $2", uid, sid, NULL));
	ia_login(&a, "users.view", admin);
	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, email));
	assert_true(it_has(&r, phone));
	assert_true(it_has(&r, p.plan_name));	/* the subscription */
	assert_true(it_has(&r, "id=\"ledger\""));
	assert_true(it_has(&r, "grant"));
	assert_true(it_has(&r, "id=\"balance\">40<"));
	assert_true(it_has(&r, "id=\"deliveries\""));
	assert_true(it_has(&r, "no_credits"));	/* a skipped one's reason */
	assert_true(it_has(&r, "id=\"trades\""));
	assert_true(it_has(&r, "123.45"));
	assert_true(it_has(&r, p.strategy.symbol));
	assert_true(it_has(&r, "table-wrap"));
	/* users.view alone: no forms */
	assert_false(it_has(&r, "/suspend\""));
	assert_false(it_has(&r, "credits-form"));
	it_resp_free(&r);
	assert_int_equal(get_status(&a, "/admin/users/999999999"), 404);
	snprintf(path, sizeof(path), "/admin/users/%lld/suspend", id);
	assert_int_equal(post_status(&a, path, ""), 403);
	snprintf(path, sizeof(path), "/admin/users/%lld/test", id);
	assert_int_equal(post_status(&a, path, "is_test=true"), 403);
	assert_int_equal(post_status(&a, "/admin/deliveries/1/resend", ""), 403);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND status = 'active'"
	    " AND NOT is_test", uid, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE actor = $1"
	    " AND action NOT LIKE 'auth.%'", admin, NULL), 0);
	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	/* without users.view: refused */
	ia_login(&v, "subscriptions.view", admin);
	assert_int_equal(get_status(&v, path), 403);
	assert_int_equal(get_status(&v, "/admin/users"), 403);
	it_source(NULL);
}

static void
test_suspend_activate(void **state)
{
	struct ib u = { 0 }, a = { 0 }, again = { 0 };
	struct it_resp r;
	char admin[64], email[128], path[96], target[48], token[64], auth[96], form[256];
	char access[800];
	const char *h[] = { auth, NULL }, *ha[] = { access, NULL };
	long long id;

	(void)state;
	it_source("127.0.0.23");
	id = ib_signup(&u, "susp", "Sam Suspend", PW, email);
	snprintf(target, sizeof(target), "user:%lld", id);
	assert_int_equal(get_status(&u, "/account"), 200);
	ib_new_token(&u, "bot", token);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	it_http_h(&r, "GET", "/api/v1/auth/user", h, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	/* and an access token of the API's login */
	snprintf(form, sizeof(form), "{\"email\":\"%s\",\"password\":\"" PW "\"}", email);
	it_post(&r, "/api/v1/auth/token", "application/json", form);
	assert_int_equal(r.status, 200);
	snprintf(access, sizeof(access), "Authorization: Bearer %s",
	    it_json_str(&r, "access_token"));
	it_resp_free(&r);
	it_http_h(&r, "GET", "/api/v1/auth/user", ha, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);

	ia_login(&a, "users.view,users.edit", admin);
	snprintf(path, sizeof(path), "/admin/users/%lld/suspend", id);
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=user_suspended");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND status ="
	    " 'suspended'", target + 5, NULL), 1);
	/* the session and the token stop working at once; no new login */
	ib_get(&u, &r, "/account");
	ib_expect_redirect(&r, "/login");
	it_resp_free(&r);
	it_http_h(&r, "GET", "/api/v1/auth/user", h, NULL, NULL, 0);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	it_http_h(&r, "GET", "/api/v1/auth/user", ha, NULL, NULL, 0);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "email=%s&password=correct+horse+battery", email);
	assert_int_equal(get_status(&again, "/login"), 200);
	assert_int_equal(post_status(&again, "/login", form), 401);
	/* a second suspend changes nothing more */
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=user_suspended");
	it_resp_free(&r);
	assert_int_equal(audits("user.suspend", target), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'user.suspend'"
	    " AND target = $1 AND details->'status'->>'from' = 'active'"
	    " AND details->'status'->>'to' = 'suspended' AND actor = $2", target, admin, NULL),
	    1);
	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	ib_get(&a, &r, path);
	assert_true(it_has(&r, "/activate\""));
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/admin/users/%lld/activate", id);
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=user_activated");
	it_resp_free(&r);
	assert_int_equal(audits("user.activate", target), 1);
	ib_get(&again, &r, "/login");
	it_resp_free(&r);
	ib_post(&again, &r, "/login", form);
	ib_expect_redirect(&r, "/");
	it_resp_free(&r);
	assert_int_equal(get_status(&again, "/account"), 200);
	it_http_h(&r, "GET", "/api/v1/auth/user", h, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);

	/* the test-user flag */
	snprintf(path, sizeof(path), "/admin/users/%lld/test", id);
	ib_post(&a, &r, path, "is_test=true");
	ib_expect_redirect(&r, "done=test_marked");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND is_test",
	    target + 5, NULL), 1);
	assert_int_equal(post_status(&a, path, "is_test=maybe"), 422);
	ib_post(&a, &r, path, "is_test=false");
	ib_expect_redirect(&r, "done=test_unmarked");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND NOT is_test",
	    target + 5, NULL), 1);
	assert_int_equal(audits("user.test", target), 2);
	/* without the CSRF token: refused, nothing changes */
	ib_post_raw(&a, &r, path, "is_test=true", NULL);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	assert_int_equal(audits("user.test", target), 2);
	it_source(NULL);
}

/* The credits form's key on the user page of id, as a browser of a has it. */
static void
credit_key(struct ib *a, long long id, char *key)
{
	struct it_resp r;
	char path[64];
	const char *p;

	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	ib_get(a, &r, path);
	assert_int_equal(r.status, 200);
	assert_non_null(p = strstr(r.body, "name=\"key\" value=\""));
	snprintf(key, 64, "%.43s", p + strlen("name=\"key\" value=\""));
	it_resp_free(&r);
}

static void
test_credits(void **state)
{
	struct ib a = { 0 }, v = { 0 };
	struct it_resp r;
	char admin[64], email[128], phone[24], tg[32], path[64], uid[24], key[64], form[256];
	char target[48];
	long long id;

	(void)state;
	it_source("127.0.0.24");
	id = user_new("Credit User", email, phone, tg);
	snprintf(uid, sizeof(uid), "%lld", id);
	snprintf(target, sizeof(target), "user:%lld", id);
	ia_login(&a, "users.view,users.edit", admin);
	snprintf(path, sizeof(path), "/admin/users/%lld/credits", id);

	credit_key(&a, id, key);
	snprintf(form, sizeof(form), "amount=25&reason=goodwill+for+outage&key=%s", key);
	ib_post(&a, &r, path, form);
	ib_expect_redirect(&r, "done=credits_adjusted");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE id = $1", uid, NULL), 25);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1 AND"
	    " kind = 'adjustment' AND amount = 25 AND reference = 'goodwill for outage'", uid,
	    NULL), 1);
	/* the same form again (a double click): one row */
	ib_post(&a, &r, path, form);
	ib_expect_redirect(&r, "done=credits_already");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1", uid,
	    NULL), 1);
	assert_int_equal(audits("user.credits", target), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'user.credits'"
	    " AND target = 'user:' || $1 AND (details->>'amount')::int = 25"
	    " AND details->>'reason' = 'goodwill for outage'", uid, NULL), 1);

	/* no reason, spaces for a reason, 0, not a number: 422, nothing changes */
	credit_key(&a, id, key);
	snprintf(form, sizeof(form), "amount=5&reason=&key=%s", key);
	ib_post(&a, &r, path, form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "reason"));
	assert_true(it_has(&r, "value=\"5\""));	/* what was typed */
	it_resp_free(&r);
	snprintf(form, sizeof(form), "amount=5&reason=++&key=%s", key);
	assert_int_equal(post_status(&a, path, form), 422);
	snprintf(form, sizeof(form), "amount=0&reason=zero&key=%s", key);
	assert_int_equal(post_status(&a, path, form), 422);
	snprintf(form, sizeof(form), "amount=1.5&reason=half&key=%s", key);
	assert_int_equal(post_status(&a, path, form), 422);
	snprintf(form, sizeof(form), "amount=5&reason=no+key");
	assert_int_equal(post_status(&a, path, form), 422);
	/* a debit below 0: refused with the balance, nothing changes */
	snprintf(form, sizeof(form), "amount=-26&reason=too+much&key=%s", key);
	ib_post(&a, &r, path, form);
	assert_int_equal(r.status, 409);
	assert_true(it_has(&r, "below 0"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE id = $1", uid, NULL), 25);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1", uid,
	    NULL), 1);
	assert_int_equal(audits("user.credits", target), 1);
	/* the whole balance can go */
	snprintf(form, sizeof(form), "amount=-25&reason=reversal&key=%s", key);
	ib_post(&a, &r, path, form);
	ib_expect_redirect(&r, "done=credits_adjusted");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE id = $1", uid, NULL), 0);
	assert_int_equal(it_q_ll("SELECT sum(amount) FROM credit_ledger WHERE user_id = $1",
	    uid, NULL), 0);
	/* users.view alone may not */
	ia_login(&v, "users.view", admin);
	credit_key(&a, id, key);
	snprintf(form, sizeof(form), "amount=5&reason=x&key=%s", key);
	assert_int_equal(post_status(&v, path, form), 403);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1", uid,
	    NULL), 2);
	it_source(NULL);
}

/* The delivery of signal_id to user_id. */
static long long
delivery_of(long long signal_id, const char *uid)
{
	char sid[24];

	snprintf(sid, sizeof(sid), "%lld", signal_id);
	return it_q_ll("SELECT id FROM deliveries WHERE signal_id = $1 AND user_id = $2", sid,
	    uid, NULL);
}

static void
test_resend(void **state)
{
	struct ib a = { 0 };
	struct fx_plan p;
	struct it_resp r;
	char admin[64], email[128], phone[24], tg[32], path[96], uid[24], did[24], target[48];
	char cmd[1024];
	long long id, sent, failed;

	(void)state;
	it_source("127.0.0.25");
	id = user_new("Resend User", email, phone, tg);
	snprintf(uid, sizeof(uid), "%lld", id);
	fx_plan_new(&p);
	fx_subscribe(id, &p, 10);
	sent = delivery_of(fx_signal_at(p.strategy.id, &id, 1, "2 minutes", "101.25"), uid);
	failed = delivery_of(fx_signal_at(p.strategy.id, &id, 1, "1 minute", "102.25"), uid);
	snprintf(did, sizeof(did), "%lld", failed);
	snprintf(target, sizeof(target), "delivery:%lld", failed);
	PQclear(it_q("UPDATE deliveries SET status = 'failed', provider = 'resend',"
	    " error = 'provider said no', attempts = 6, sent_at = NULL WHERE id = $1", did, NULL));
	ia_login(&a, "users.view,users.edit", admin);
	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	ib_get(&a, &r, path);
	snprintf(path, sizeof(path), "action=\"/admin/deliveries/%lld/resend\"", failed);
	assert_true(it_has(&r, path));
	snprintf(path, sizeof(path), "action=\"/admin/deliveries/%lld/resend\"", sent);
	assert_false(it_has(&r, path));
	assert_true(it_has(&r, "provider said no"));
	it_resp_free(&r);

	/* a sent one is not sent again */
	snprintf(path, sizeof(path), "/admin/deliveries/%lld/resend", sent);
	assert_int_equal(post_status(&a, path, ""), 409);
	snprintf(cmd, sizeof(cmd), "%lld", sent);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE id = $1 AND status ="
	    " 'sent'", cmd, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'deliver' AND"
	    " payload->>'delivery_id' = $1", cmd, NULL), 0);
	assert_int_equal(post_status(&a, "/admin/deliveries/999999999/resend", ""), 404);

	/* not to a suspended user */
	PQclear(it_q("UPDATE users SET status = 'suspended' WHERE id = $1", uid, NULL));
	snprintf(path, sizeof(path), "/admin/deliveries/%lld/resend", failed);
	ib_post(&a, &r, path, "");
	assert_int_equal(r.status, 409);
	assert_true(it_has(&r, "activate them first"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE id = $1 AND status ="
	    " 'failed'", did, NULL), 1);
	PQclear(it_q("UPDATE users SET status = 'active' WHERE id = $1", uid, NULL));

	/* the failed one: queued with a deliver job, once however often clicked */
	snprintf(path, sizeof(path), "/admin/deliveries/%lld/resend", failed);
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=resend_queued");
	it_resp_free(&r);
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=resend_queued");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'deliver' AND"
	    " payload->>'delivery_id' = $1", did, NULL), 1);
	assert_int_equal(audits("delivery.resend", target), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'delivery.resend'"
	    " AND target = $1 AND details->>'error' = 'provider said no'", target, NULL), 1);

	/* the worker sends it (no provider configured here: the outbox) */
	snprintf(cmd, sizeof(cmd), "%s --once >/dev/null 2>&1", it_env("AC_TEST_WORKER"));
	for (int i = 0; i < 20 && it_q_ll("SELECT count(*) FROM deliveries WHERE id = $1 AND"
	    " status = 'sent'", did, NULL) == 0; i++)
		assert_int_equal(system(cmd), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE id = $1 AND status ="
	    " 'sent' AND error IS NULL AND sent_at IS NOT NULL", did, NULL), 1);
	/* and once sent it is not sent again */
	assert_int_equal(post_status(&a, path, ""), 409);
	assert_int_equal(audits("delivery.resend", target), 1);
	it_source(NULL);
}

/* The form of a plan called name at price with the strategies s1 and s2
 * (0: none), more ("&field=value..." or "") before the rest (malloc'd). */
static char *
plan_form(const char *name, const char *price, long long s1, long long s2, const char *more)
{
	char *f, ss[64] = "";

	if (s1 > 0)
		snprintf(ss, sizeof(ss), "&strategy=%lld", s1);
	if (s2 > 0)
		snprintf(ss + strlen(ss), sizeof(ss) - strlen(ss), "&strategy=%lld", s2);
	/* more comes first: a form's first value of a field is the one read */
	if (asprintf(&f, "name=%s%s&description=For+testers&price=%s&currency=INR"
	    "&duration_months=1&duration_days=0&credits_per_period=100&credit_cost="
	    "&max_strategies=-1&max_open_trades=3&stripe_price_id=price_1AbC2dE&display_order=5"
	    "&status=active%s", name, more, price, ss) == -1)
		abort();
	return f;
}

static void
test_plans(void **state)
{
	struct ib a = { 0 }, v = { 0 };
	struct it_strategy s1, s2;
	struct it_resp r;
	char admin[64], name[64], path[96], pid[24], target[48], s1id[24];
	const char *loc;
	long long plans, id, uid;
	char *f, email[128], phone[24], tg[32];

	(void)state;
	it_source("127.0.0.26");
	it_strategy_new(&s1, "1h", NULL);
	it_strategy_new(&s2, "4h", NULL);
	snprintf(s1id, sizeof(s1id), "%lld", s1.id);
	it_rand_hex(pid, 8);
	snprintf(name, sizeof(name), "Gold+%s", pid);
	ia_login(&a, "subscriptions.view,subscriptions.edit", admin);
	ib_get(&a, &r, "/admin/plans/new");
	assert_int_equal(r.status, 200);
	snprintf(path, sizeof(path), "value=\"%lld\"", s2.id);
	assert_true(it_has(&r, path));
	assert_true(it_has(&r, "for=\"price\""));
	it_resp_free(&r);

	/* bad input: 422 with what was typed, nothing stored */
	plans = it_q_ll("SELECT count(*) FROM plans", NULL);
	f = plan_form(name, "49%2C9", s1.id, 0, "");
	ib_post(&a, &r, "/admin/plans", f);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "price must be an amount"));
	assert_true(it_has(&r, "value=\"49,9\""));
	assert_true(it_has(&r, "price_1AbC2dE"));
	it_resp_free(&r);
	free(f);
	f = plan_form(name, "499.00", s1.id, 0, "&max_open_trades=9");
	assert_int_equal(post_status(&a, "/admin/plans", f), 422);
	free(f);
	f = plan_form(name, "499.001", s1.id, 0, "");
	assert_int_equal(post_status(&a, "/admin/plans", f), 422);
	free(f);
	f = plan_form(name, "499", s1.id, 0, "&stripe_price_id=prod_x");
	assert_int_equal(post_status(&a, "/admin/plans", f), 422);
	free(f);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plans", NULL), plans);

	/* create with two strategies */
	f = plan_form(name, "499.00", s1.id, s2.id, "&popular=1&priority_support=1");
	ib_post(&a, &r, "/admin/plans", f);
	ib_expect_redirect(&r, "done=plan_created");
	loc = it_header(&r, "Location", NULL);
	id = strtoll(strstr(loc, "/admin/plans/") + strlen("/admin/plans/"), NULL, 10);
	it_resp_free(&r);
	free(f);
	snprintf(pid, sizeof(pid), "%lld", id);
	snprintf(target, sizeof(target), "plan:%lld", id);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plans WHERE id = $1 AND price_minor = 49900"
	    " AND currency = 'INR' AND duration_months = 1 AND credits_per_period = 100"
	    " AND credit_cost IS NULL AND popular AND priority_support AND NOT advanced_analytics"
	    " AND stripe_price_id = 'price_1AbC2dE' AND display_order = 5 AND status = 'active'"
	    " AND description = 'For testers'", pid, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plan_strategies WHERE plan_id = $1", pid,
	    NULL), 2);
	assert_int_equal(audits("plan.create", target), 1);
	/* a second plan of the same name: 422 */
	f = plan_form(name, "1", s1.id, 0, "");
	ib_post(&a, &r, "/admin/plans", f);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "name exists"));
	it_resp_free(&r);
	free(f);
	ib_get(&a, &r, "/admin/plans");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "499.00 INR"));
	assert_true(it_has(&r, s2.symbol));
	it_resp_free(&r);

	/* edit: the price, one strategy fewer, a credit cost */
	snprintf(path, sizeof(path), "/admin/plans/%lld", id);
	f = plan_form(name, "599.5", s1.id, 0, "&credit_cost=2");
	ib_post(&a, &r, path, f);
	ib_expect_redirect(&r, "done=plan_saved");
	it_resp_free(&r);
	free(f);
	assert_int_equal(it_q_ll("SELECT price_minor FROM plans WHERE id = $1", pid, NULL), 59950);
	assert_int_equal(it_q_ll("SELECT credit_cost FROM plans WHERE id = $1", pid, NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plan_strategies WHERE plan_id = $1"
	    " AND strategy_id = $2", pid, s1id, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plan_strategies WHERE plan_id = $1", pid,
	    NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'plan.edit'"
	    " AND target = $1 AND details->'price'->>'from' = '499.00'"
	    " AND details->'price'->>'to' = '599.50' AND details ? 'strategies'"
	    " AND NOT details ? 'name'", target, NULL), 1);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "value=\"599.50\""));
	it_resp_free(&r);
	/* an edit refused leaves the plan as it was */
	f = plan_form(name, "abc", s2.id, 0, "");
	assert_int_equal(post_status(&a, path, f), 422);
	free(f);
	f = plan_form(name, "5", s2.id, 0, "&duration_months=0&duration_days=0");
	assert_int_equal(post_status(&a, path, f), 422);
	free(f);
	assert_int_equal(it_q_ll("SELECT price_minor FROM plans WHERE id = $1", pid, NULL), 59950);
	assert_int_equal(audits("plan.edit", target), 1);
	f = plan_form("Nobody", "1", s1.id, 0, "");
	assert_int_equal(post_status(&a, "/admin/plans/999999999", f), 404);
	free(f);

	/* archive: the subscription goes on */
	uid = user_new("Plan User", email, phone, tg);
	snprintf(email, sizeof(email), "%lld", uid);
	PQclear(it_q("INSERT INTO subscriptions (user_id, plan_id, status, period_start,"
	    " period_end) VALUES ($1, $2, 'active', now(), now() + interval '30 days')", email,
	    pid, NULL));
	snprintf(path, sizeof(path), "/admin/plans/%lld/archive", id);
	ib_post(&a, &r, path, "");
	ib_expect_redirect(&r, "done=plan_archived");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plans WHERE id = $1 AND status ="
	    " 'archived'", pid, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM subscriptions WHERE plan_id = $1 AND"
	    " status = 'active'", pid, NULL), 1);
	assert_int_equal(audits("plan.archive", target), 1);
	assert_int_equal(post_status(&a, path, ""), 303);	/* again: nothing more */
	assert_int_equal(audits("plan.archive", target), 1);

	/* subscriptions.view alone: the lists, no change */
	ia_login(&v, "subscriptions.view", admin);
	assert_int_equal(get_status(&v, "/admin/plans"), 200);
	snprintf(path, sizeof(path), "/admin/plans/%lld", id);
	assert_int_equal(get_status(&v, path), 200);
	assert_int_equal(get_status(&v, "/admin/plans/new"), 403);
	f = plan_form("Other", "1", s1.id, 0, "");
	assert_int_equal(post_status(&v, "/admin/plans", f), 403);
	assert_int_equal(post_status(&v, path, f), 403);
	free(f);
	snprintf(path, sizeof(path), "/admin/plans/%lld/archive", id);
	assert_int_equal(post_status(&v, path, ""), 403);
	assert_int_equal(it_q_ll("SELECT count(*) FROM plans", NULL), plans + 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE target = $1", target,
	    NULL), 3);
	it_source(NULL);
}

/* Erasing a user (users.delete): the typed email confirms; what names the
 * person goes, the books stay; a running card subscription stops it. */
static void
test_erase(void **state)
{
	struct ib u = { 0 }, a = { 0 };
	struct it_resp r;
	char admin[64], email[128], path[96], target[48], *form, *enc;
	long long id, ledger;
	struct fx_plan plan;

	(void)state;
	it_source("127.0.0.24");
	id = ib_signup(&u, "erase", "Erin Erase", PW, email);
	it_source(NULL);
	snprintf(target, sizeof(target), "user:%lld", id);
	fx_plan_new(&plan);
	fx_subscribe(id, &plan, 5);
	ledger = it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1", target + 5, NULL);
	assert_true(ledger >= 1);
	/* two browsers linked for push */
	PQclear(it_q("INSERT INTO push_devices (user_id, subscription_id) VALUES"
	    " ($1::bigint, 'erase-a-' || $1), ($1::bigint, 'erase-b-' || $1)", target + 5, NULL));
	ia_login(&a, "users.view,users.edit,users.delete", admin);
	snprintf(path, sizeof(path), "/admin/users/%lld", id);
	ib_get(&a, &r, path);
	assert_true(it_has(&r, "Erase personal data"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/users/%lld/erase", id);
	/* a wrong confirmation: nothing changes */
	ib_post(&a, &r, path, "confirm=someone%40example.com");
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Type the user&#39;s email address exactly"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email = $2",
	    target + 5, email, NULL), 1);
	/* a running card subscription: refused */
	PQclear(it_q("UPDATE subscriptions SET provider = 'stripe' WHERE user_id = $1",
	    target + 5, NULL));
	enc = ib_urlencode(email);
	if (asprintf(&form, "confirm=%s", enc) == -1)
		abort();
	ib_post(&a, &r, path, form);
	assert_int_equal(r.status, 409);
	assert_true(it_has(&r, "cancel it in Stripe first"));
	it_resp_free(&r);
	PQclear(it_q("UPDATE subscriptions SET provider = 'manual' WHERE user_id = $1",
	    target + 5, NULL));
	/* erased */
	ib_post(&a, &r, path, form);
	ib_expect_redirect(&r, "done=user_erased");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email ="
	    " 'erased-' || id || '@erased.invalid' AND display_name = '' AND phone IS NULL"
	    " AND telegram_chat_id IS NULL AND status = 'inactive'", target + 5, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM sessions WHERE user_id = $1", target + 5,
	    NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE user_id = $1",
	    target + 5, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE user_id = $1",
	    target + 5, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM alarms WHERE user_id = $1 AND enabled",
	    target + 5, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1",
	    target + 5, NULL), ledger);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE actor = $1"
	    " AND action = 'user.erase' AND target = $2 AND details->>'email_sha256' ="
	    " encode(sha256(convert_to($3, 'UTF8')), 'hex')", admin, target, email, NULL), 1);
	/* the person's portal session ended; the address can sign up again */
	ib_get(&u, &r, "/account");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	/* an erased account cannot be activated again */
	snprintf(path, sizeof(path), "/admin/users/%lld/activate", id);
	ib_post(&a, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND status ="
	    " 'inactive'", target + 5, NULL), 1);
	snprintf(path, sizeof(path), "/admin/users/%lld/erase", id);
	/* a second erase: already done */
	ib_post(&a, &r, path, "confirm=x");
	assert_int_equal(r.status, 409);
	assert_true(it_has(&r, "Already erased"));
	it_resp_free(&r);
	free(form);
	free(enc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_user_page),
		cmocka_unit_test(test_suspend_activate),
		cmocka_unit_test(test_credits),
		cmocka_unit_test(test_resend),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_erase),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
