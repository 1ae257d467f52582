/*
 * test_portal.c — ac-portal through nginx: accounts and sessions, every
 * page, alarms, CSRF and Origin, escaping, SQL metacharacters, another
 * user's rows (404), password reset through the email outbox, API tokens.
 *
 * nginx allows a few POSTs a minute to /login and /password/forgot per
 * address (burst 5), so a test that makes more sends from a loopback
 * address of its own (it_source); the API test covers the rest of the
 * login rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itportal.h"
#include "account/notify.h"

#define PW "correct horse battery"
#define NASTY "<script>alert('x')</script>\"&"
#define NASTY_ESC "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
#define SQLISH "Robert'); DROP TABLE users;--"
#define SQLISH_ESC "Robert&#39;); DROP TABLE users;--"

/* The worker's run to the end: reset links are made, mail is "sent". */
static void
run_worker(void)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s --once >/dev/null 2>&1", it_env("AC_TEST_WORKER"));
	assert_int_equal(system(cmd), 0);
}

/* Two answers that must not tell apart what they answered: the same status,
 * body and headers, but for the Date and the request id. */
static void
expect_same_answer(const struct it_resp *a, const struct it_resp *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->body, b->body, a->len);
	assert_int_equal(a->nheaders, b->nheaders);
	for (size_t i = 0; i < a->nheaders; i++) {
		assert_string_equal(a->headers[i].name, b->headers[i].name);
		if (strcasecmp(a->headers[i].name, "Date") == 0 ||
		    strcasecmp(a->headers[i].name, "X-Request-Id") == 0)
			continue;
		if (strcmp(a->headers[i].value, b->headers[i].value) != 0)
			fail_msg("%s: \"%s\" and \"%s\"", a->headers[i].name,
			    a->headers[i].value, b->headers[i].value);
	}
}

/* The number of outbox messages of kind to addr. */
static long long
mails(const char *kind, const char *addr)
{
	return it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = $1"
	    " AND lower(to_addr) = lower($2)", kind, addr, NULL);
}

static void
test_signup_session_logout(void **state)
{
	struct ib b = { 0 }, old;
	struct it_resp r;
	char email[128], u[24];
	long long uid = ib_signup(&b, "su", "Sam", PW, email);

	assert_true(uid > 0);
	/* the cookie's attributes (plain HTTP here: no Secure) */
	assert_non_null(strstr(b.set_cookie, "HttpOnly"));
	assert_non_null(strstr(b.set_cookie, "SameSite=Lax"));
	assert_non_null(strstr(b.set_cookie, "Path=/"));
	assert_null(strstr(b.set_cookie, "Secure"));
	assert_int_equal(strlen(b.session), 43);
	/* stored hashed, never as sent */
	snprintf(u, sizeof(u), "%lld", uid);
	assert_int_equal(it_q_ll("SELECT count(*) FROM sessions WHERE user_id = $1 AND"
	    " token_hash = sha256(convert_to($2, 'UTF8'))", u, b.session, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM sessions WHERE user_id = $1 AND"
	    " position(convert_to($2, 'UTF8') IN token_hash) > 0", u, b.session, NULL), 0);
	ib_get(&b, &r, "/");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Hello, Sam"));
	assert_true(it_has(&r, "id=\"balance\">0<"));
	it_resp_free(&r);
	old = b;
	ib_post(&b, &r, "/logout", "");
	ib_expect_redirect(&r, "/login");
	assert_non_null(strstr(b.set_cookie, "Max-Age=0"));
	it_resp_free(&r);
	/* the old cookie is dead on the server too */
	ib_get(&old, &r, "/alarms");
	ib_expect_redirect(&r, "/login");
	it_resp_free(&r);
	/* a fresh guest page for the form's token, then log in: a new token */
	ib_get(&b, &r, "/signup");
	it_resp_free(&r);
	{
		char form[256];

		snprintf(form, sizeof(form), "email=%s&password=wrong+password", email);
		ib_post(&b, &r, "/login", form);
		assert_int_equal(r.status, 401);
		assert_true(it_has(&r, "The email or password is not right"));
		it_resp_free(&r);
		ib_post(&b, &r, "/login", "email=nobody.at.all%40example.com&password=wrong+password");
		assert_int_equal(r.status, 401);
		assert_true(it_has(&r, "The email or password is not right"));
		it_resp_free(&r);
		snprintf(form, sizeof(form), "email=%s&password=correct+horse+battery", email);
		ib_post(&b, &r, "/login", form);
		ib_expect_redirect(&r, "/");
		it_resp_free(&r);
	}
	assert_int_equal(strlen(b.session), 43);
	assert_string_not_equal(b.session, old.session);
	ib_get(&b, &r, "/");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
}

/* A session ends when idle too long, and at its absolute end. */
static void
test_session_expiry(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], u[24];
	long long uid = ib_signup(&b, "exp", "Ed", PW, email);

	snprintf(u, sizeof(u), "%lld", uid);
	PQclear(it_q("UPDATE sessions SET last_seen_at = now() - interval '29 minutes'"
	    " WHERE user_id = $1", u, NULL));
	ib_get(&b, &r, "/");
	assert_int_equal(r.status, 200);	/* idle 29 of 30 minutes: still on, and seen now */
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM sessions WHERE user_id = $1"
	    " AND last_seen_at > now() - interval '1 minute'", u, NULL), 1);
	PQclear(it_q("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'"
	    " WHERE user_id = $1", u, NULL));
	ib_get(&b, &r, "/alarms");
	ib_expect_redirect(&r, "/login");
	it_resp_free(&r);
	ib_signup(&b, "exp2", "Ed", PW, email);
	PQclear(it_q("UPDATE sessions SET created_at = now() - interval '13 hours',"
	    " expires_at = now() - interval '1 hour' WHERE user_id = (SELECT id FROM users"
	    " WHERE email = $1)", email, NULL));
	ib_get(&b, &r, "/alarms");
	ib_expect_redirect(&r, "/login");
	it_resp_free(&r);
}

static void
test_signup_refused(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128];
	long long before = it_q_ll("SELECT count(*) FROM users", NULL);

	ib_get(&b, &r, "/signup");
	it_resp_free(&r);
	ib_post(&b, &r, "/signup", "email=short%40example.com&password=1234567&name=x");
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "at least 8 characters"));
	it_resp_free(&r);
	ib_post(&b, &r, "/signup", "email=not-an-email&password=12345678&name=x");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users", NULL), before);
	/* 64 and 1024 characters are accepted */
	{
		char pw[1025];
		struct ib c = { 0 }, d = { 0 };

		memset(pw, 'p', 1024);
		pw[1024] = '\0';
		assert_true(ib_signup(&c, "long", "Long", pw, email) > 0);
		pw[64] = '\0';
		assert_true(ib_signup(&d, "long64", "Long", pw, email) > 0);
	}
}

/* A taken and a free address get the same answer to a sign-up; the owner
 * of the taken one is told by mail, the free one gets the link that makes
 * the account, and nobody is logged in before a link is opened. */
static void
test_signup_same_answer(void **state)
{
	struct ib owner = { 0 }, t = { 0 }, f = { 0 };
	struct it_resp taken, free_, r;
	char email[128], fresh[128], form[512], hex[9], u[24], *link;
	long long users, uid = ib_signup(&owner, "own", "Owner", PW, email);
	PGresult *hash = it_q("SELECT password_hash FROM users WHERE email = $1", email, NULL);

	it_rand_hex(hex, 8);
	snprintf(fresh, sizeof(fresh), "free.%s@example.com", hex);
	users = it_q_ll("SELECT count(*) FROM users", NULL);
	ib_get(&t, &r, "/signup");
	it_resp_free(&r);
	ib_get(&f, &r, "/signup");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "email=%s&password=another+password&name=Mallory", email);
	ib_post(&t, &taken, "/signup", form);
	snprintf(form, sizeof(form), "email=%s&password=another+password&name=Mallory", fresh);
	ib_post(&f, &free_, "/signup", form);
	ib_expect_redirect(&taken, "/signup?done=check_email");
	expect_same_answer(&taken, &free_);
	assert_string_equal(t.session, "");
	assert_string_equal(f.session, "");
	it_resp_free(&taken);
	it_resp_free(&free_);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users", NULL), users);
	snprintf(u, sizeof(u), "%lld", uid);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND password_hash = $2"
	    " AND display_name = 'Owner'", u, PQgetvalue(hash, 0, 0), NULL), 1);
	PQclear(hash);
	/* the owner is told, and the free address gets its link */
	assert_int_equal(mails("address_taken", email), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = 'address_taken'"
	    " AND to_addr = $1 AND body LIKE '%tried to sign up%' AND body LIKE '%/password/forgot%'"
	    " AND body NOT LIKE '%token=%'", email, NULL), 1);
	assert_int_equal(mails("signup_confirm", email), 1);	/* the owner's own, once */
	assert_int_equal(mails("signup_confirm", fresh), 1);
	ib_get(&t, &r, "/signup?done=check_email");
	assert_true(it_has(&r, "id=\"check-email\""));
	it_resp_free(&r);
	/* the link makes the account with the sign-up's password, once */
	link = ib_mail_link("signup_confirm", fresh, "/signup/confirm");
	ib_open_link(&f, link, "/signup/confirm", "not the password", &r);
	assert_int_equal(r.status, 401);
	assert_true(it_has(&r, "not the password this sign-up was made with"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1", fresh, NULL), 0);
	ib_open_link(&f, link, "/signup/confirm", "another password", &r);
	ib_expect_redirect(&r, "/?done=signed_up");
	it_resp_free(&r);
	assert_int_equal(strlen(f.session), 43);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " display_name = 'Mallory' AND status = 'active'", fresh, NULL), 1);
	ib_get(&t, &r, link);
	assert_int_equal(r.status, 404);
	assert_true(it_has(&r, "not valid any more"));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "token=%s", strchr(link, '=') + 1);
	ib_post(&t, &r, "/signup/confirm", form);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	free(link);
}

/* Someone signs up with another's address and a password of their own:
 * the owner, who also signed up, cannot make that sign-up theirs by
 * opening its link (it asks for its password), their own link makes their
 * account, and the other sign-up's link is gone. */
static void
test_signup_not_hijacked(void **state)
{
	struct ib m = { 0 }, v = { 0 };
	struct it_resp r;
	char hex[9], email[128], form[512], *links[2];
	PGresult *res;

	(void)state;
	it_rand_hex(hex, 8);
	snprintf(email, sizeof(email), "victim.%s@example.com", hex);
	ib_get(&m, &r, "/signup");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "email=%s&password=mallory+chose+this&name=Mallory", email);
	ib_post(&m, &r, "/signup", form);
	ib_expect_redirect(&r, "/signup?done=check_email");
	it_resp_free(&r);
	ib_get(&v, &r, "/signup");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "email=%s&password=correct+horse+battery&name=Victim", email);
	ib_post(&v, &r, "/signup", form);
	ib_expect_redirect(&r, "/signup?done=check_email");
	it_resp_free(&r);
	res = it_q("SELECT substring(body FROM '/signup/confirm\\?token=[A-Za-z0-9_-]+')"
	    " FROM email_outbox WHERE kind = 'signup_confirm' AND to_addr = $1 ORDER BY id",
	    email, NULL);
	assert_int_equal(PQntuples(res), 2);
	links[0] = strdup(PQgetvalue(res, 0, 0));	/* Mallory's */
	links[1] = strdup(PQgetvalue(res, 0 + 1, 0));
	PQclear(res);
	ib_open_link(&v, links[0], "/signup/confirm", PW, &r);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	assert_string_equal(v.session, "");
	ib_open_link(&v, links[1], "/signup/confirm", PW, &r);
	ib_expect_redirect(&r, "/?done=signed_up");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " display_name = 'Victim'", email, NULL), 1);
	ib_get(&m, &r, links[0]);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	free(links[0]);
	free(links[1]);
}

/* Sign-ups for one address mail it at most AC_ADDRESS_MAILS_PER_HOUR (3)
 * times an hour, whoever sends them; the answer stays the same. */
static void
test_address_mail_cap(void **state)
{
	struct it_resp first, r;
	char email[128], form[256], hex[9];

	it_rand_hex(hex, 8);
	snprintf(email, sizeof(email), "inbox.%s@example.com", hex);
	snprintf(form, sizeof(form), "email=%s&password=12345678&name=x", email);
	for (int i = 0; i < 5; i++) {
		struct ib g = { 0 };

		ib_get(&g, &r, "/signup");
		it_resp_free(&r);
		ib_post(&g, i == 0 ? &first : &r, "/signup", form);
		if (i > 0) {
			expect_same_answer(&first, &r);
			it_resp_free(&r);
		}
	}
	ib_expect_redirect(&first, "/signup?done=check_email");
	it_resp_free(&first);
	assert_int_equal(mails("signup_confirm", email), 3);
}

/* One closed trade for each of users[0..n) from entry to exit (a new pair of
 * signals, received ago; a test signal when test_user is set), pnl in percent. */
static void
front_trade(const struct fx_plan *p, const long long *users, int n, const char *ago,
    const char *pnl, const char *test_user)
{
	char sid[24], uid[24], key[2][33], entry[24], exit[24];

	snprintf(sid, sizeof(sid), "%lld", p->strategy.id);
	it_rand_hex(key[0], 32);
	it_rand_hex(key[1], 32);
	snprintf(entry, sizeof(entry), "%lld", it_q_ll("INSERT INTO signals (strategy_id,"
	    " idempotency_key, raw_body, received_at, symbol, timeframe, action, price, status,"
	    " test_user_id) SELECT id, $2, '{}', now() - $3::interval - interval '1 hour', symbol,"
	    " timeframe, 'BUY', 100, 'processed', nullif($4, '')::bigint FROM strategies WHERE id = $1"
	    " RETURNING id", sid, key[0], ago, test_user ? test_user : "", NULL));
	snprintf(exit, sizeof(exit), "%lld", it_q_ll("INSERT INTO signals (strategy_id,"
	    " idempotency_key, raw_body, received_at, symbol, timeframe, action, price, status,"
	    " test_user_id) SELECT id, $2, '{}', now() - $3::interval, symbol, timeframe, 'SELL',"
	    " 100 * (1 + $4::numeric / 100), 'processed', nullif($5, '')::bigint FROM strategies WHERE id = $1"
	    " RETURNING id", sid, key[1], ago, pnl, test_user ? test_user : "", NULL));
	for (int i = 0; i < n; i++) {
		snprintf(uid, sizeof(uid), "%lld", users[i]);
		PQclear(it_q("INSERT INTO trades (trade_number, user_id, strategy_id, symbol,"
		    " timeframe, side, entry_price, exit_price, exit_reason, status, pnl_amount,"
		    " pnl_percent, opened_at, closed_at, entry_signal_id, exit_signal_id)"
		    " SELECT coalesce((SELECT max(trade_number) FROM trades WHERE user_id = $2"
		    " AND strategy_id = $1), 0) + 1, $2, $1, symbol, timeframe, 'BUY', 100,"
		    " 100 * (1 + $3::numeric / 100), 'OPPOSITE', 'closed', $3, $3, now(), now(), $4, $5"
		    " FROM strategies WHERE id = $1", sid, uid, pnl, entry, exit, NULL));
	}
}

/* The text of the element after marker in r's body (up to its next '<'), or "". */
static const char *
text_after(const struct it_resp *r, const char *marker, char *out, size_t size)
{
	const char *p = strstr(r->body, marker);

	out[0] = '\0';
	if (p != NULL && (p = strchr(p + strlen(marker), '>')) != NULL)
		snprintf(out, size, "%.*s", (int)strcspn(p + 1, "<"), p + 1);
	return out;
}

/* The card of strategy sid on the front page r: [*card, *end). */
static void
front_card(const struct it_resp *r, const char *sid, const char **card, const char **end)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "id=\"strategy-%s\"", sid);
	*card = strstr(r->body, needle);
	assert_non_null(*card);
	*end = strstr(*card, "card-footer");
	assert_non_null(*end);
}

/* A guest's front page: the strategies some plan offers, how often they
 * send, and, only once its operator published it, each one's track record
 * with the same figures as its record page; test signals not counted; the
 * ways in. */
static void
test_front_page(void **state)
{
	struct fx_plan p, hidden;
	struct ib guest = { 0 }, a = { 0 }, b = { 0 };
	struct it_resp r, rec;
	char email[128], sid[24], needle[256], tester[24], rate[64], total[64], dd[64], want[96];
	const char *card, *end;
	long long users[2];
	char *name;

	(void)state;
	fx_plan_new(&p);
	fx_plan_new(&hidden);
	it_source("127.0.0.21");	/* the suite's sign-ups use up 127.0.0.1's allowance */
	users[0] = ib_signup(&a, "front1", "Fay", PW, email);
	users[1] = ib_signup(&b, "front2", "Finn", PW, email);
	it_source(NULL);
	/* in the order they arrived (ids follow arrival, as the record reads them) */
	front_trade(&p, users, 1, "120 days", "30", NULL);	/* not in the last 30 days */
	front_trade(&p, users, 2, "2 days", "2", NULL);	/* a win, for both */
	front_trade(&p, users, 1, "1 day", "-1", NULL);		/* a loss */
	snprintf(tester, sizeof(tester), "%lld", users[0]);
	front_trade(&p, users, 1, "3 hours", "50", tester);	/* an operator's test: not counted */
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	PQclear(it_q("UPDATE strategies SET description = 'Trend <b>follower</b>' WHERE id = $1",
	    sid, NULL));
	snprintf(sid, sizeof(sid), "%lld", hidden.strategy.id);
	PQclear(it_q("UPDATE strategies SET status = 'inactive' WHERE id = $1", sid, NULL));

	ib_get(&guest, &r, "/");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "href=\"/signup\""));
	assert_true(it_has(&r, "href=\"/plans\""));
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	{
		PGresult *q = it_q("SELECT name FROM strategies WHERE id = $1", sid, NULL);

		name = strdup(PQgetvalue(q, 0, 0));
		PQclear(q);
	}
	assert_true(it_has(&r, name));
	assert_true(it_has(&r, "Trend &lt;b&gt;follower&lt;/b&gt;"));
	front_card(&r, sid, &card, &end);
	/* 4 signals in 30 days (the test pair and the old pair left out); no
	 * results before the operator publishes them */
	if (!memmem(card, (size_t)(end - card), ">4<", 3) ||
	    !memmem(card, (size_t)(end - card), "data-no-record", 14) ||
	    memmem(card, (size_t)(end - card), "Win rate", 8))
		fail_msg("an unpublished strategy's card is wrong: %.*s", (int)(end - card), card);
	assert_non_null(memmem(end, 300, p.plan_name, strlen(p.plan_name)));
	snprintf(needle, sizeof(needle), "id=\"strategy-%lld\"", hidden.strategy.id);
	assert_false(it_has(&r, needle));	/* not active: not on offer */
	it_resp_free(&r);

	/* published: the card's figures are the record page's */
	PQclear(it_q("UPDATE strategies SET public_record = true WHERE id = $1", sid, NULL));
	snprintf(needle, sizeof(needle), "/strategies/%s/record", sid);
	ib_get(&guest, &rec, needle);
	assert_int_equal(rec.status, 200);
	text_after(&rec, "id=\"record-win-rate\"", rate, sizeof(rate));
	text_after(&rec, "id=\"record-total\"", total, sizeof(total));
	text_after(&rec, "id=\"record-drawdown\"", dd, sizeof(dd));
	assert_non_null(strstr(rate, " %"));	/* the fixture's trades closed some */
	assert_non_null(strstr(total, " %"));
	it_resp_free(&rec);
	ib_get(&guest, &r, "/");
	assert_int_equal(r.status, 200);
	front_card(&r, sid, &card, &end);
	if (!memmem(card, (size_t)(end - card), "data-record", 11))
		fail_msg("a published strategy's card shows no record: %.*s", (int)(end - card), card);
	snprintf(want, sizeof(want), ">%s <span", rate);
	assert_non_null(memmem(card, (size_t)(end - card), want, strlen(want)));
	snprintf(want, sizeof(want), ">%s</dd>", total);
	assert_non_null(memmem(card, (size_t)(end - card), want, strlen(want)));
	snprintf(want, sizeof(want), ">%s</dd>", dd);
	assert_non_null(memmem(card, (size_t)(end - card), want, strlen(want)));
	{
		/* since the first counted signal (the old pair's entry), UTC */
		PGresult *q = it_q("SELECT to_char(min(received_at) AT TIME ZONE 'UTC',"
		    " 'YYYY-MM-DD') FROM signals WHERE strategy_id = $1 AND test_user_id IS NULL",
		    sid, NULL);

		snprintf(want, sizeof(want), "Track record since %s", PQgetvalue(q, 0, 0));
		PQclear(q);
		if (!memmem(card, (size_t)(end - card), want, strlen(want)))
			fail_msg("no \"%s\" in %.*s", want, (int)(end - card), card);
	}
	snprintf(needle, sizeof(needle), "href=\"/strategies/%s/record\"", sid);
	assert_non_null(memmem(end, 400, needle, strlen(needle)));
	free(name);
	it_resp_free(&r);
	/* a signed-in user gets the dashboard there */
	ib_get(&b, &r, "/");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Hello, Finn"));
	it_resp_free(&r);
}

/* A refused form comes back as it was typed (passwords excepted). */
static void
test_forms_keep_values(void **state)
{
	struct fx_plan p, q;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], form[256], want[96];
	long long uid;

	fx_plan_new(&p);
	fx_plan_new(&q);
	it_source("127.0.0.24");	/* the suite's sign-ups use up 127.0.0.1's */
	uid = ib_signup(&b, "keep", "Kim", PW, email);
	it_source(NULL);
	fx_subscribe(uid, &p, 5);
	fx_subscribe(uid, &q, 5);
	/* the profile: a bad phone; the name, zone, limit and boxes as typed */
	ib_post(&b, &r, "/account/profile", "name=Kim+Typed&phone=12ab&timezone=Asia%2FKolkata"
	    "&max_daily_alerts=7&notify_sms=1");
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "value=\"Kim Typed\""));
	assert_true(it_has(&r, "value=\"12ab\""));
	assert_true(it_has(&r, "value=\"Asia/Kolkata\""));
	assert_true(it_has(&r, "value=\"7\""));
	assert_true(it_has(&r, "name=\"notify_sms\" value=\"1\" checked"));
	assert_false(it_has(&r, "name=\"notify_email\" value=\"1\" checked"));
	it_resp_free(&r);
	/* nothing saved */
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " display_name = 'Kim' AND phone IS NULL", email, NULL), 1);
	/* the email change: a wrong password; the new address stays */
	ib_post(&b, &r, "/account/email", "email=kim.new%40example.com&password=not+mine");
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "id=\"new_email\" name=\"email\" type=\"email\" required"
	    " value=\"kim.new@example.com\""));
	it_resp_free(&r);
	/* an alarm refused: the strategy chosen stays chosen, the prices too */
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=email&on_entry=1&min_price=abc",
	    q.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	snprintf(want, sizeof(want), "<option value=\"%lld\" selected>", q.strategy.id);
	assert_true(it_has(&r, want));
	assert_true(it_has(&r, "value=\"abc\""));
	it_resp_free(&r);
}

static void
test_pages_and_routing(void **state)
{
	static const char *const pages[] = { "/", "/alarms", "/history", "/credits", "/trades",
	    "/plans", "/account", "/tokens" };
	struct ib b = { 0 }, guest = { 0 };
	struct it_resp r;
	char email[128];

	ib_signup(&b, "pages", "Pat", PW, email);
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		ib_get(&b, &r, pages[i]);
		if (r.status != 200)
			fail_msg("GET %s: %ld", pages[i], r.status);
		assert_true(it_has(&r, "/static/bootstrap5/css/bootstrap.min.css"));
		/* no script, but the account page's push.js (push is offered) */
		if (strcmp(pages[i], "/account") == 0) {
			static const char push_js[] = "<script src=\"/static/js/push.js\"";
			const char *js = strstr(r.body, "<script");

			assert_non_null(js);
			assert_int_equal(strncmp(js, push_js, sizeof(push_js) - 1), 0);
			assert_null(strstr(js + 1, "<script"));
		} else
			assert_false(it_has(&r, "<script"));
		assert_non_null(strstr(it_header(&r, "Content-Type", NULL), "text/html"));
		assert_non_null(strstr(it_header(&r, "Content-Security-Policy", NULL),
		    "form-action 'self'"));
		assert_non_null(strstr(it_header(&r, "Content-Security-Policy", NULL),
		    "frame-ancestors 'none'"));
		assert_non_null(strstr(it_header(&r, "Content-Security-Policy", NULL),
		    "base-uri 'none'"));
		it_resp_free(&r);
		if (strcmp(pages[i], "/plans") == 0 || strcmp(pages[i], "/") == 0)
			continue;	/* a guest's too: test_front_page */
		ib_get(&guest, &r, pages[i]);
		ib_expect_redirect(&r, "/login");
		it_resp_free(&r);
	}
	ib_get(&guest, &r, "/plans");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	ib_get(&b, &r, "/no/such/page");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_get(&b, &r, "/alarms/0");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_post(&b, &r, "/history", "");
	assert_int_equal(r.status, 405);
	it_resp_free(&r);
	/* every form field has a label: each id="x" of an input has for="x" */
	ib_get(&b, &r, "/account");
	for (const char *p = r.body; (p = strstr(p, "<input")) != NULL; p++) {
		const char *id = strstr(p, " id=\""), *end = strchr(p, '>');
		char want[96];

		if (strstr(p, "type=\"hidden\"") != NULL && strstr(p, "type=\"hidden\"") < end)
			continue;
		assert_true(id != NULL && id < end);
		snprintf(want, sizeof(want), "for=\"%.*s\"", (int)strcspn(id + 5, "\""), id + 5);
		if (!it_has(&r, want))
			fail_msg("no label %s on /account", want);
	}
	it_resp_free(&r);
	/* no bot configured here: the Telegram link says so */
	ib_get(&b, &r, "/account");
	assert_true(it_has(&r, "id=\"telegram-not-configured\""));
	it_resp_free(&r);
	ib_post(&b, &r, "/account/telegram", "");
	assert_int_equal(r.status, 409);
	it_resp_free(&r);
	/* a linked chat: the page says so and offers to disconnect, not to connect */
	{
		char chat[32], uid[24];

		snprintf(uid, sizeof(uid), "%lld", it_q_ll("SELECT id FROM users WHERE email = $1",
		    email, NULL));
		snprintf(chat, sizeof(chat), "77%lld", it_q_ll("SELECT $1::bigint * 1000 +"
		    " (random() * 999)::int", uid, NULL));
		PQclear(it_q("UPDATE users SET telegram_chat_id = $2, telegram_username = 'hal_tg'"
		    " WHERE id = $1", uid, chat, NULL));
		ib_get(&b, &r, "/account");
		assert_true(it_has(&r, "id=\"telegram-connected\""));
		assert_true(it_has(&r, "as @hal_tg"));
		assert_true(it_has(&r, "Disconnect Telegram"));
		assert_false(it_has(&r, ">Connect Telegram<"));
		it_resp_free(&r);
		ib_post(&b, &r, "/account/telegram/disconnect", "");
		assert_int_equal(r.status, 303);
		assert_non_null(strstr(it_header(&r, "Location", NULL), "done=telegram_disconnected"));
		it_resp_free(&r);
		assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1"
		    " AND telegram_chat_id IS NULL AND telegram_username IS NULL", uid, NULL), 1);
		ib_get(&b, &r, "/account?done=telegram_disconnected");
		assert_true(it_has(&r, "Telegram disconnected"));
		assert_false(it_has(&r, "id=\"telegram-connected\""));
		it_resp_free(&r);
	}
	/* static files come from Debian's libjs-bootstrap5 */
	it_http(&r, "GET", "/static/bootstrap5/css/bootstrap.min.css", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
}

/* The number of alarms of uid. */
static long long
alarms_of(long long uid)
{
	char u[24];

	snprintf(u, sizeof(u), "%lld", uid);
	return it_q_ll("SELECT count(*) FROM alarms WHERE user_id = $1", u, NULL);
}

/* The alarm forms and the list say which chosen channel can reach nobody
 * (the fan-out's rule: switched on, and an address), before a signal is
 * missed; connected, the warning goes. */
static void
test_alarm_channel_warnings(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], form[256], uid[24], path[64];
	long long aid;

	fx_plan_new(&p);
	it_source("127.0.0.25");	/* the suite's sign-ups use up 127.0.0.1's */
	snprintf(uid, sizeof(uid), "%lld", ib_signup(&b, "warn", "Wes", PW, email));
	it_source(NULL);
	fx_subscribe(strtoll(uid, NULL, 10), &p, 5);
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, "id=\"warn-telegram\">telegram: no Telegram chat is connected,"
	    " so it sends nothing"));
	assert_true(it_has(&r, "id=\"warn-sms\">sms: there is no phone number on your account"));
	assert_true(it_has(&r, "id=\"warn-push\">push: no device has push turned on"));
	assert_false(it_has(&r, "id=\"warn-email\""));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram&channel=email&on_entry=1",
	    p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	ib_expect_redirect(&r, "/alarms?done=alarm_added");
	it_resp_free(&r);
	/* the list marks the dead channel, not the live one */
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, ">telegram: no Telegram chat is connected</span>"));
	assert_true(it_has(&r, "<span class=\"badge text-bg-light border\">email</span>"));
	it_resp_free(&r);
	/* email switched off, a chat connected: the warnings follow */
	PQclear(it_q("UPDATE users SET notify_email = false, telegram_chat_id = 4242 WHERE id = $1",
	    uid, NULL));
	aid = it_q_ll("SELECT id FROM alarms WHERE user_id = $1", uid, NULL);
	snprintf(path, sizeof(path), "/alarms/%lld", aid);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, "id=\"warn-telegram\""));
	assert_true(it_has(&r, "id=\"warn-email\">email: email is switched off in your preferences"));
	it_resp_free(&r);
}

static void
test_alarms(void **state)
{
	struct fx_plan p, other;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], form[512], path[256];
	long long uid, aid;

	fx_plan_new(&p);
	fx_plan_new(&other);
	uid = ib_signup(&b, "alarm", "Al", PW, email);
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, "Your plan covers no strategy"));
	it_resp_free(&r);
	fx_subscribe(uid, &p, 10);
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, p.strategy.symbol));
	assert_false(it_has(&r, other.strategy.symbol));
	it_resp_free(&r);
	/* bad input changes nothing */
	snprintf(form, sizeof(form), "strategy_id=%lld&on_entry=1&min_price=abc", p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "channel"));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram&min_price=-1", p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram&min_price=10&max_price=5",
	    p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	/* a strategy the plan does not cover */
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram", other.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "does not cover"));
	it_resp_free(&r);
	assert_int_equal(alarms_of(uid), 0);
	/* added */
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram&channel=email&on_entry=1"
	    "&on_exit=1&min_price=100&max_price=200.5", p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	ib_expect_redirect(&r, "/alarms?done=alarm_added");
	it_resp_free(&r);
	assert_int_equal(alarms_of(uid), 1);
	snprintf(form, sizeof(form), "%lld", uid);
	aid = it_q_ll("SELECT id FROM alarms WHERE user_id = $1", form, NULL);
	snprintf(path, sizeof(path), "SELECT channels::text || on_replacement || min_price"
	    " || '/' || max_price FROM alarms WHERE id = %lld", aid);
	{
		PGresult *res = it_q(path, NULL);

		assert_string_equal(PQgetvalue(res, 0, 0), "{telegram,email}false100/200.5");
		PQclear(res);
	}
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, "alarm-"));
	it_resp_free(&r);
	/* a second one for the same strategy: 409 */
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=sms", p.strategy.id);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 409);
	it_resp_free(&r);
	/* edit: refused, then saved */
	snprintf(path, sizeof(path), "/alarms/%lld", aid);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "value=\"200.5\""));
	it_resp_free(&r);
	ib_post(&b, &r, path, "channel=fax");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	ib_post(&b, &r, path, "channel=sms&on_exit=1&enabled=1&max_price=");
	ib_expect_redirect(&r, "done=alarm_saved");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "SELECT channels::text || on_entry || on_exit || enabled ||"
	    " coalesce(max_price::text, '-') FROM alarms WHERE id = %lld", aid);
	{
		PGresult *res = it_q(form, NULL);

		assert_string_equal(PQgetvalue(res, 0, 0), "{sms}falsetruetrue-");
		PQclear(res);
	}
	/* disable, enable, delete */
	snprintf(path, sizeof(path), "/alarms/%lld/disable", aid);
	ib_post(&b, &r, path, "");
	ib_expect_redirect(&r, "done=alarm_disabled");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "SELECT count(*) FROM alarms WHERE id = %lld AND NOT enabled", aid);
	assert_int_equal(it_q_ll(form, NULL), 1);
	snprintf(path, sizeof(path), "/alarms/%lld/enable", aid);
	ib_post(&b, &r, path, "");
	ib_expect_redirect(&r, "done=alarm_enabled");
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/alarms/%lld/delete", aid);
	/* the list's Delete asks first: what goes, and a way to keep it */
	ib_get(&b, &r, "/alarms");
	assert_true(it_has(&r, path));
	it_resp_free(&r);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Delete this alarm?"));
	assert_true(it_has(&r, "Keep it"));
	it_resp_free(&r);
	assert_int_equal(alarms_of(uid), 1);
	ib_post(&b, &r, path, "");
	ib_expect_redirect(&r, "done=alarm_deleted");
	it_resp_free(&r);
	assert_int_equal(alarms_of(uid), 0);
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
}

/* Requests without the right CSRF token or from another origin change nothing. */
static void
test_csrf(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 }, guest = { 0 };
	struct it_resp r;
	char email[128], form[256], good[64], u[24];
	const char *base = it_env("AC_TEST_BASE_URL");
	long long uid, users;

	fx_plan_new(&p);
	uid = ib_signup(&b, "csrf", "Carl", PW, email);
	fx_subscribe(uid, &p, 0);
	snprintf(u, sizeof(u), "%lld", uid);
	snprintf(good, sizeof(good), "%s", b.csrf);
	/* none, wrong, another session's, right token from another site */
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram", p.strategy.id);
	ib_post_raw(&b, &r, "/alarms", form, base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "csrf=%.42sX&strategy_id=%lld&channel=telegram", good,
	    p.strategy.id);
	ib_post_raw(&b, &r, "/alarms", form, base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "csrf=%s&strategy_id=%lld&channel=telegram", good,
	    p.strategy.id);
	ib_post_raw(&b, &r, "/alarms", form, "https://evil.example");
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	ib_post_raw(&b, &r, "/account/profile", "csrf=&name=Hacked&timezone=UTC&max_daily_alerts=1",
	    base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	ib_post_raw(&b, &r, "/logout", "csrf=nope", base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	assert_int_equal(alarms_of(uid), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND display_name = 'Carl'"
	    " AND max_daily_alerts = 50", u, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM sessions WHERE user_id = $1", u, NULL), 1);
	/* the right token, same site: it works */
	snprintf(form, sizeof(form), "csrf=%s&strategy_id=%lld&channel=telegram", good,
	    p.strategy.id);
	ib_post_raw(&b, &r, "/alarms", form, base);
	ib_expect_redirect(&r, "alarm_added");
	it_resp_free(&r);
	/* guest forms: the pre-session cookie must match */
	users = it_q_ll("SELECT count(*) FROM users", NULL);
	ib_post_raw(&guest, &r, "/signup", "csrf=x&email=g%40example.com&password=12345678", base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	ib_get(&guest, &r, "/signup");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "csrf=%s&email=g2%%40example.com&password=12345678", good);
	ib_post_raw(&guest, &r, "/signup", form, base);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users", NULL), users);
}

/* Markup and SQL metacharacters in every text field come back escaped and literal. */
static void
test_escaping(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], form[1024], u[24];
	char *nasty = ib_urlencode(NASTY), *sqlish = ib_urlencode(SQLISH);
	long long uid = ib_signup(&b, "esc", NASTY, PW, email);

	snprintf(u, sizeof(u), "%lld", uid);
	ib_get(&b, &r, "/");
	assert_true(it_has(&r, NASTY_ESC));
	assert_false(it_has(&r, "<script>alert"));
	it_resp_free(&r);
	/* profile fields: the name with SQL in it, a bad phone and time zone come back escaped */
	snprintf(form, sizeof(form), "name=%s&phone=&timezone=UTC&max_daily_alerts=7&notify_email=1",
	    sqlish);
	ib_post(&b, &r, "/account/profile", form);
	ib_expect_redirect(&r, "profile_saved");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND display_name = $2"
	    " AND max_daily_alerts = 7 AND notify_email AND NOT notify_sms", u, SQLISH, NULL), 1);
	ib_get(&b, &r, "/account");
	assert_true(it_has(&r, "value=\"" SQLISH_ESC "\""));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "name=x&phone=%s&timezone=UTC&max_daily_alerts=1", nasty);
	ib_post(&b, &r, "/account/profile", form);
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "name=x&timezone=%s&max_daily_alerts=1", nasty);
	ib_post(&b, &r, "/account/profile", form);
	assert_int_equal(r.status, 422);
	assert_false(it_has(&r, "<script>alert"));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "name=x&timezone=%s&max_daily_alerts=1", sqlish);
	ib_post(&b, &r, "/account/profile", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "unknown time zone"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND display_name = $2",
	    u, SQLISH, NULL), 1);
	/* a token name */
	snprintf(form, sizeof(form), "name=%s", nasty);
	ib_post(&b, &r, "/tokens", form);
	ib_expect_redirect(&r, "/tokens?done=token_created");
	it_resp_free(&r);
	snprintf(form, sizeof(form), "name=%s", sqlish);
	ib_post(&b, &r, "/tokens", form);
	ib_expect_redirect(&r, "/tokens?done=token_created");
	it_resp_free(&r);
	ib_get(&b, &r, "/tokens");
	assert_true(it_has(&r, NASTY_ESC));
	assert_false(it_has(&r, "<script>alert"));
	assert_true(it_has(&r, SQLISH_ESC));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM api_tokens WHERE user_id = $1 AND name IN"
	    " ($2, $3)", u, NASTY, SQLISH, NULL), 2);
	/* a login email and an alarm price echo back escaped */
	snprintf(form, sizeof(form), "min_price=%s&channel=telegram&strategy_id=1", nasty);
	ib_post(&b, &r, "/alarms", form);
	assert_int_equal(r.status, 422);
	assert_false(it_has(&r, "<script>alert"));
	it_resp_free(&r);
	free(nasty);
	free(sqlish);
}

/* Another user's rows answer 404 and stay as they are. */
static void
test_cross_user(void **state)
{
	struct fx_plan p;
	struct ib a = { 0 }, b = { 0 };
	struct it_resp r;
	char email[128], form[256], path[64], ua[24], token[64];
	long long uida, uidb, aid, tid;

	fx_plan_new(&p);
	uida = ib_signup(&a, "alice", "Alice", PW, email);
	uidb = ib_signup(&b, "bob", "Bob", PW, email);
	fx_subscribe(uida, &p, 5);
	fx_subscribe(uidb, &p, 5);
	snprintf(ua, sizeof(ua), "%lld", uida);
	snprintf(form, sizeof(form), "strategy_id=%lld&channel=telegram&on_entry=1", p.strategy.id);
	ib_post(&a, &r, "/alarms", form);
	ib_expect_redirect(&r, "alarm_added");
	it_resp_free(&r);
	aid = it_q_ll("SELECT id FROM alarms WHERE user_id = $1", ua, NULL);
	ib_new_token(&a, "alice-bot", token);
	tid = it_q_ll("SELECT id FROM api_tokens WHERE user_id = $1", ua, NULL);
	fx_deliveries(uida, p.strategy.id, 3);
	snprintf(path, sizeof(path), "/alarms/%lld", aid);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_post(&b, &r, path, "channel=sms&enabled=1");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/alarms/%lld/disable", aid);
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/alarms/%lld/delete", aid);
	ib_get(&b, &r, path);		/* another user's confirm page */
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/tokens/%lld/revoke", tid);
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "SELECT count(*) FROM alarms WHERE id = %lld AND enabled"
	    " AND channels = '{telegram}'", aid);
	assert_int_equal(it_q_ll(form, NULL), 1);
	snprintf(form, sizeof(form), "SELECT count(*) FROM api_tokens WHERE id = %lld"
	    " AND revoked_at IS NULL", tid);
	assert_int_equal(it_q_ll(form, NULL), 1);
	/* Bob's pages show none of Alice's rows */
	ib_get(&b, &r, "/history");
	assert_true(it_has(&r, "No notifications match"));
	it_resp_free(&r);
	ib_get(&b, &r, "/tokens");
	assert_false(it_has(&r, "alice-bot"));
	it_resp_free(&r);
	ib_get(&b, &r, "/alarms");
	assert_false(it_has(&r, "alarm-"));
	it_resp_free(&r);
	ib_get(&a, &r, "/history");
	assert_true(it_has(&r, p.strategy.symbol));
	it_resp_free(&r);
}

/* The cells of the row of the trades page's totals for strategy id,
 * copied into buf (empty if there is none). */
static const char *
totals_row(const struct it_resp *r, long long id, char *buf, size_t sz)
{
	char key[64];
	const char *a, *b;

	snprintf(key, sizeof(key), "<tr data-strategy=\"%lld\">", id);
	buf[0] = '\0';
	if ((a = strstr(r->body, key)) != NULL && (b = strstr(a, "</tr>")) != NULL)
		snprintf(buf, sz, "%.*s", (int)(b - a), a);
	return buf;
}

/* A trade of uid on strategy by SQL: side, entry, status and, when not
 * open, exit price, reason and PnL ("" when open). */
static void
fx_trade(long long uid, long long strategy, int number, const char *side, const char *entry,
    const char *status, const char *exit_price, const char *reason, const char *pnl,
    const char *pct)
{
	char u[24], st[24], n[16];

	snprintf(u, sizeof(u), "%lld", uid);
	snprintf(st, sizeof(st), "%lld", strategy);
	snprintf(n, sizeof(n), "%d", number);
	PQclear(it_q("INSERT INTO trades (trade_number, user_id, strategy_id, symbol, timeframe,"
	    " side, entry_price, status, exit_price, exit_reason, pnl_amount, pnl_percent,"
	    " closed_at, replaced_at)"
	    " SELECT $3::int, $1, id, symbol, timeframe, $4, $5::numeric, $6,"
	    " nullif($7, '')::numeric, nullif($8, ''), nullif($9, '')::numeric,"
	    " nullif($10, '')::numeric, CASE WHEN $6 = 'closed' THEN now() END,"
	    " CASE WHEN $6 = 'replaced' THEN now() END FROM strategies WHERE id = $2",
	    u, st, n, side, entry, status, exit_price, reason, pnl, pct, NULL));
}

/* The trades page's totals per strategy: closed (and replaced) trades,
 * wins, win rate, total PnL; open trades marked to the strategy's last
 * processed signal, at its price and time; a strategy with no signal yet
 * shows its open trades unmarked. */
static void
test_trade_totals(void **state)
{
	struct fx_plan p, q;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], row[4096], when[64], sid[24], u[24];
	long long uid, last;
	PGresult *res;

	(void)state;
	fx_plan_new(&p);
	fx_plan_new(&q);
	uid = ib_signup(&b, "tot", "Tess", PW, email);
	fx_subscribe(uid, &p, 0);
	fx_trade(uid, p.strategy.id, 1, "BUY", "100", "closed", "110", "TP_HIT", "10", "10");
	fx_trade(uid, p.strategy.id, 2, "SELL", "200", "closed", "210", "SL_HIT", "-10", "-5");
	fx_trade(uid, p.strategy.id, 3, "BUY", "50", "replaced", "55", "REPLACED", "5", "10");
	fx_trade(uid, p.strategy.id, 4, "BUY", "100", "open", "", "", "", "");
	fx_trade(uid, p.strategy.id, 5, "SELL", "120", "open", "", "", "", "");
	fx_trade(uid, q.strategy.id, 1, "BUY", "7", "open", "", "", "", "");
	fx_signal_at(p.strategy.id, &uid, 1, "2 hours", "90");
	last = fx_signal_at(p.strategy.id, &uid, 1, "1 hour", "105");
	/* neither a signal still being processed nor another user's test signal marks */
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	PQclear(it_q("INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at,"
	    " symbol, timeframe, action, price, status, test_user_id)"
	    " SELECT id, md5(random()::text), '{}', now(), symbol, timeframe, 'BUY', v.price,"
	    " v.status, v.test_user FROM strategies, (VALUES (999, 'received', NULL::bigint),"
	    " (998, 'processed', (SELECT min(id) FROM users))) v(price, status, test_user)"
	    " WHERE id = $1", sid, NULL));
	snprintf(sid, sizeof(sid), "%lld", last);
	snprintf(u, sizeof(u), "%lld", uid);
	res = it_q("SELECT to_char(s.received_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI')"
	    " FROM signals s, users u WHERE s.id = $1 AND u.id = $2", sid, u, NULL);
	snprintf(when, sizeof(when), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	ib_get(&b, &r, "/trades");
	assert_int_equal(r.status, 200);
	totals_row(&r, p.strategy.id, row, sizeof(row));
	/* closed 3, wins 2, 66.7%, PnL +5 (15.00%); open 2 marked at 105:
	 * BUY 100 -> +5 (5%), SELL 120 -> +15 (12.5%) */
	assert_non_null(strstr(row, ">3</td><td class=\"text-end\">2</td>"
	    "<td class=\"text-end\">66.7%</td>"));
	assert_non_null(strstr(row, "text-success\">5</td><td class=\"text-end text-success\">"
	    "15.00%</td><td class=\"text-end\">2</td>"));
	assert_non_null(strstr(row, "text-success\">20</td><td class=\"text-end text-success\">"
	    "17.50%</td>"));
	assert_non_null(strstr(row, "<td>105 <span class=\"text-secondary small\">"));
	assert_non_null(strstr(row, when));
	totals_row(&r, q.strategy.id, row, sizeof(row));
	assert_non_null(strstr(row, ">0</td><td class=\"text-end\">0</td>"
	    "<td class=\"text-end\">&mdash;</td>"));
	assert_non_null(strstr(row, "<td class=\"text-end\">1</td><td class=\"text-end \">"
	    "&mdash;</td>"));
	it_resp_free(&r);
}

static void
test_history_pages(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], path[128];
	long long uid;

	fx_plan_new(&p);
	uid = ib_signup(&b, "hist", "Hal", PW, email);
	fx_subscribe(uid, &p, 0);
	fx_deliveries(uid, p.strategy.id, 120);
	ib_get(&b, &r, "/history");
	for (int pg = 1; pg <= 3; pg++) {
		const char *next = strstr(r.body, "rel=\"next\""), *href;
		int rows = 0;

		for (const char *s = r.body; (s = strstr(s, "<tr><td>")) != NULL; s++)
			rows++;
		assert_int_equal(rows, pg < 3 ? 50 : 20);
		assert_int_equal(it_has(&r, "rel=\"first\""), pg > 1);
		if (pg == 3) {
			assert_null(next);
			break;
		}
		/* <a ... href="/history?...&amp;before=N" rel="next"> */
		assert_non_null(next);
		for (href = next; href > r.body && strncmp(href, "href=\"", 6) != 0; href--)
			;
		snprintf(path, sizeof(path), "%.*s", (int)(strchr(href + 6, '"') - href - 6), href + 6);
		for (char *amp; (amp = strstr(path, "&amp;")) != NULL; )
			memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
		it_resp_free(&r);
		ib_get(&b, &r, path);
		assert_int_equal(r.status, 200);
	}
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/history?channel=sms&status=sent&strategy=%lld",
	    p.strategy.id);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, "<td>email</td>"));
	assert_false(it_has(&r, "<td>telegram</td>"));
	assert_false(it_has(&r, ">skipped</span>"));
	assert_true(it_has(&r, "<td>sms</td>"));
	assert_true(it_has(&r, "<option value=\"sms\" selected>"));
	it_resp_free(&r);
	/* every state in words: skipped for want of credits, a Telegram alarm
	 * with no chat linked, kept in the outbox, failed with its reason */
	PQclear(it_q("WITH d AS (SELECT id, row_number() OVER (ORDER BY id) n FROM deliveries"
	    " WHERE user_id = $1 ORDER BY id DESC LIMIT 4) UPDATE deliveries x SET"
	    " status = CASE d.n % 4 WHEN 0 THEN 'skipped' WHEN 1 THEN 'sent' WHEN 2 THEN 'failed'"
	    " ELSE x.status END, channel = CASE d.n % 4 WHEN 0 THEN 'telegram' ELSE x.channel END,"
	    " skip_reason = CASE d.n % 4 WHEN 0 THEN 'no_address' WHEN 3 THEN x.skip_reason END,"
	    " provider = CASE d.n % 4 WHEN 1 THEN 'outbox' WHEN 2 THEN 'resend' END,"
	    " error = CASE d.n % 4 WHEN 2 THEN 'address bounced' END FROM d WHERE x.id = d.id",
	    (snprintf(path, sizeof(path), "%lld", uid), path), NULL));
	ib_get(&b, &r, "/history");
	assert_true(it_has(&r, "Not sent: no Telegram chat linked (Account); no credit charged"));
	assert_true(it_has(&r, ">outbox</span>"));
	assert_true(it_has(&r, "Kept in the outbox: no "));
	assert_true(it_has(&r, "Could not be delivered: address bounced"));
	assert_true(it_has(&r, "Not sent: out of credits (top up on the Plans page)"));
	assert_false(it_has(&r, ">no_address<"));
	assert_false(it_has(&r, ">no_credits<"));
	it_resp_free(&r);
	ib_get(&b, &r, "/history?channel=%3Cscript%3E&before=-1&strategy=abc");
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, "<script"));
	it_resp_free(&r);
	ib_get(&b, &r, "/credits");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
}

/* The link of the newest reset email to addr, from the outbox. */
static char *
reset_link(const char *addr)
{
	PGresult *res = it_q("SELECT substring(body FROM '/password/reset\\?token=[A-Za-z0-9_-]+'),"
	    " status, provider FROM email_outbox WHERE to_addr = lower($1) ORDER BY id DESC LIMIT 1",
	    addr, NULL);
	char *link;

	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 1), "sent");
	assert_string_equal(PQgetvalue(res, 0, 2), "outbox");
	link = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return link;
}

/* Asks for a reset link for email as g: the page that says it is on its way. */
static void
forgot(struct ib *g, const char *email)
{
	struct it_resp r;
	char form[256];

	snprintf(form, sizeof(form), "email=%s", email);
	ib_post(g, &r, "/password/forgot", form);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "on its way"));
	it_resp_free(&r);
}

/* A known and an unknown address: the same answer, and the same work in
 * the request (one job queued, nothing mailed); the worker mails the link. */
static void
test_password_reset(void **state)
{
	struct ib b = { 0 }, g = { 0 };
	struct it_resp r, known, unknown;
	char email[128], form[256], *link, *token;
	long long outbox = it_q_ll("SELECT count(*) FROM email_outbox", NULL);
	long long jobs = it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'password_reset'", NULL);

	ib_signup(&b, "reset", "Rita", PW, email);
	outbox = it_q_ll("SELECT count(*) FROM email_outbox", NULL);
	ib_get(&g, &r, "/password/forgot");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	ib_post(&g, &unknown, "/password/forgot", "email=nobody.here%40example.com");
	assert_int_equal(unknown.status, 200);
	assert_true(it_has(&unknown, "on its way"));
	snprintf(form, sizeof(form), "email=%s", email);
	ib_post(&g, &known, "/password/forgot", form);
	expect_same_answer(&known, &unknown);
	it_resp_free(&known);
	it_resp_free(&unknown);
	/* the request path mailed nothing, for either: a job each, for the worker */
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox", NULL), outbox);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'password_reset'", NULL),
	    jobs + 2);
	run_worker();
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox", NULL), outbox + 1);
	assert_int_equal(mails("password_reset", "nobody.here@example.com"), 0);
	link = reset_link(email);
	token = strchr(link, '=') + 1;
	ib_get(&g, &r, link);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Choose a new password"));
	it_resp_free(&r);
	snprintf(form, sizeof(form), "token=%s&password=short", token);
	ib_post(&g, &r, "/password/reset", form);
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	snprintf(form, sizeof(form), "token=%s&password=a+whole+new+password", token);
	ib_post(&g, &r, "/password/reset", form);
	ib_expect_redirect(&r, "/login?done=reset");
	it_resp_free(&r);
	/* used: the link is dead, and the old session with it */
	ib_post(&g, &r, "/password/reset", form);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_get(&g, &r, link);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	ib_get(&b, &r, "/alarms");
	ib_expect_redirect(&r, "/login");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " password_hash LIKE '$argon2id$%'", email, NULL), 1);
	ib_get(&g, &r, "/password/reset?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	free(link);
}

/* A new password (by a link or on the account page) and a new email end
 * every reset link and email-change link mailed before: the old link
 * shows the "not valid any more" page and changes nothing. */
static void
test_reset_links_end(void **state)
{
	struct ib b = { 0 }, g = { 0 };
	struct it_resp r;
	char email[128], newer[160], form[512], u[24], *l1, *l2, *l3, *l4, *e1;
	long long uid;
	PGresult *h;

	it_source("127.0.0.11");
	uid = ib_signup(&b, "links", "Lin", PW, email);
	snprintf(u, sizeof(u), "%lld", uid);
	ib_get(&g, &r, "/password/forgot");
	it_resp_free(&r);
#define HASH_IS(h) assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1" \
	" AND password_hash = $2", u, PQgetvalue((h), 0, 0), NULL), 1)
#define EXPECT_DEAD(link, action) do { \
	ib_get(&g, &r, (link)); \
	assert_int_equal(r.status, 404); \
	assert_true(it_has(&r, "not valid any more")); \
	it_resp_free(&r); \
	snprintf(form, sizeof(form), "token=%s&password=taken+over+password", \
	    strchr((link), '=') + 1); \
	ib_post(&g, &r, (action), form); \
	assert_int_equal(r.status, 404); \
	it_resp_free(&r); \
} while (0)

	/* 1. a link mailed before the password changed on the account page, and
	 * an email-change link asked for before */
	forgot(&g, email);
	run_worker();
	l1 = reset_link(email);
	snprintf(form, sizeof(form), "email=moving.%s&password=correct+horse+battery", email);
	ib_post(&b, &r, "/account/email", form);
	ib_expect_redirect(&r, "done=email_sent");
	it_resp_free(&r);
	snprintf(newer, sizeof(newer), "moving.%s", email);
	e1 = ib_mail_link("email_confirm", newer, "/account/email/confirm");
	ib_post(&b, &r, "/account/password",
	    "current=correct+horse+battery&password=second+password");
	ib_expect_redirect(&r, "password_changed");
	it_resp_free(&r);
	h = it_q("SELECT password_hash FROM users WHERE id = $1", u, NULL);
	EXPECT_DEAD(l1, "/password/reset");
	EXPECT_DEAD(e1, "/account/email/confirm");
	HASH_IS(h);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email = $2", u,
	    email, NULL), 1);
	PQclear(h);

	/* 2. a link mailed to the previous address */
	forgot(&g, email);
	run_worker();
	l2 = reset_link(email);
	snprintf(form, sizeof(form), "email=%s&password=second+password", newer);
	ib_post(&b, &r, "/account/email", form);
	ib_expect_redirect(&r, "done=email_sent");
	it_resp_free(&r);
	free(e1);
	e1 = ib_mail_link("email_confirm", newer, "/account/email/confirm");
	ib_open_link(&b, e1, "/account/email/confirm", NULL, &r);
	ib_expect_redirect(&r, "/account?done=email_changed");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email = $2", u,
	    newer, NULL), 1);
	h = it_q("SELECT password_hash FROM users WHERE id = $1", u, NULL);
	EXPECT_DEAD(l2, "/password/reset");
	HASH_IS(h);
	PQclear(h);

	/* 3. an older link after a newer one was used */
	forgot(&g, newer);
	run_worker();
	l3 = reset_link(newer);
	forgot(&g, newer);
	run_worker();
	l4 = reset_link(newer);
	assert_string_not_equal(l3, l4);
	snprintf(form, sizeof(form), "token=%s&password=third+password", strchr(l4, '=') + 1);
	ib_post(&g, &r, "/password/reset", form);
	ib_expect_redirect(&r, "/login?done=reset");
	it_resp_free(&r);
	h = it_q("SELECT password_hash FROM users WHERE id = $1", u, NULL);
	EXPECT_DEAD(l3, "/password/reset");
	HASH_IS(h);
	PQclear(h);
#undef EXPECT_DEAD
#undef HASH_IS
	free(l1);
	free(l2);
	free(l3);
	free(l4);
	free(e1);
	it_source(NULL);
}

/* At most AC_RESET_PER_HOUR (3) reset mails an hour for an account; the
 * answer to the fourth request is the same. */
static void
test_reset_cap(void **state)
{
	struct ib b = { 0 }, g = { 0 };
	struct it_resp r;
	char email[128];

	it_source("127.0.0.12");
	ib_signup(&b, "cap", "Cap", PW, email);
	ib_get(&g, &r, "/password/forgot");
	it_resp_free(&r);
	for (int i = 0; i < 4; i++)
		forgot(&g, email);
	run_worker();
	assert_int_equal(mails("password_reset", email), 3);
	it_source(NULL);
}

/* A form field or query argument that is not UTF-8: 400 naming it, nothing
 * stored; a login with one counts as a failed attempt from the address. */
static void
test_bad_utf8(void **state)
{
	struct ib b = { 0 }, g = { 0 }, v = { 0 };
	struct it_resp r;
	char email[128], form[512];
	long long confirmations = it_q_ll("SELECT count(*) FROM email_confirmations", NULL);

	it_source("127.0.0.13");
	ib_signup(&b, "utf", "Uta", PW, email);
	confirmations = it_q_ll("SELECT count(*) FROM email_confirmations", NULL);
	/* a profile field (PostgreSQL would refuse it: it was a 500) */
	ib_post(&b, &r, "/account/profile", "name=%C3%28&timezone=UTC&max_daily_alerts=5");
	assert_int_equal(r.status, 400);
	assert_true(it_has(&r, "The field name is not valid UTF-8"));
	assert_false(it_has(&r, "database"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = $1 AND"
	    " display_name = 'Uta'", email, NULL), 1);
	/* a query argument */
	ib_get(&b, &r, "/history?channel=%FF%FE");
	assert_int_equal(r.status, 400);
	assert_true(it_has(&r, "channel"));
	it_resp_free(&r);
	/* a sign-up */
	ib_get(&g, &r, "/signup");
	it_resp_free(&r);
	ib_post(&g, &r, "/signup", "email=x%40example.com&password=12345678&name=%E2%82");
	assert_int_equal(r.status, 400);
	assert_true(it_has(&r, "The field name is not valid UTF-8"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_confirmations", NULL), confirmations);
	/* logins: each counts, so the fifth locks the account for this address */
	ib_get(&g, &r, "/login");
	it_resp_free(&r);
	for (int i = 0; i < 5; i++) {
		snprintf(form, sizeof(form), "email=%s&password=%%FF%%FEwrong", email);
		ib_post(&g, &r, "/login", form);
		assert_int_equal(r.status, 400);
		assert_true(it_has(&r, "The field password is not valid UTF-8"));
		it_resp_free(&r);
	}
	snprintf(form, sizeof(form), "email=%s&password=correct+horse+battery", email);
	ib_post(&g, &r, "/login", form);
	assert_int_equal(r.status, 429);
	assert_true(it_has(&r, "Too many failed attempts"));
	it_resp_free(&r);
	assert_string_equal(g.session, "");
	/* from another address the owner still logs in */
	it_source("127.0.0.14");
	ib_get(&v, &r, "/login");
	it_resp_free(&r);
	ib_post(&v, &r, "/login", form);
	ib_expect_redirect(&r, "/");
	it_resp_free(&r);
	it_source(NULL);
}

static void
test_change_password_and_email(void **state)
{
	struct ib b = { 0 }, other = { 0 };
	struct it_resp r;
	char email[128], taken[128], form[512], u[24];
	long long uid = ib_signup(&b, "chg", "Chad", PW, email);

	ib_signup(&other, "taken", "T", PW, taken);
	snprintf(u, sizeof(u), "%lld", uid);
	ib_post(&b, &r, "/account/password", "current=wrong+password&password=another+password");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	ib_post(&b, &r, "/account/password", "current=correct+horse+battery&password=short");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	ib_post(&b, &r, "/account/password", "current=correct+horse+battery&password=another+password");
	ib_expect_redirect(&r, "password_changed");
	it_resp_free(&r);
	/* the owner is told, at the account's address */
	assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE kind = 'password_changed'"
	    " AND lower(to_addr) = lower($1) AND body LIKE '%was just changed%'", email, NULL), 1);
	ib_get(&b, &r, "/account");	/* this session lives on */
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	ib_post(&b, &r, "/account/email", "email=new.one%40example.com&password=wrong+password");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	/* a taken and a free address: the same answer; the owner is told, the
	 * free address gets a link, and nothing changes before it is opened */
	{
		struct it_resp to_taken, to_free;
		char fresh[160], *link;

		snprintf(form, sizeof(form), "email=%s&password=another+password", taken);
		ib_post(&b, &to_taken, "/account/email", form);
		snprintf(form, sizeof(form), "email=New.%s&password=another+password", email);
		ib_post(&b, &to_free, "/account/email", form);
		ib_expect_redirect(&to_taken, "/account?done=email_sent");
		expect_same_answer(&to_taken, &to_free);
		it_resp_free(&to_taken);
		it_resp_free(&to_free);
		assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE"
		    " kind = 'address_taken' AND to_addr = $1 AND body LIKE"
		    " '%change the address of another account%'", taken, NULL), 1);
		assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email = $2",
		    u, email, NULL), 1);
		snprintf(fresh, sizeof(fresh), "new.%s", email);
		link = ib_mail_link("email_confirm", fresh, "/account/email/confirm");
		ib_open_link(&b, link, "/account/email/confirm", NULL, &r);
		ib_expect_redirect(&r, "/account?done=email_changed");
		it_resp_free(&r);
		free(link);
		assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND email = $2",
		    u, fresh, NULL), 1);
		/* the address it replaced hears of it, naming the new one */
		assert_int_equal(it_q_ll("SELECT count(*) FROM email_outbox WHERE"
		    " kind = 'email_changed' AND lower(to_addr) = lower($1) AND body LIKE"
		    " '%changed from%' || $2 || '%'", email, fresh, NULL), 1);
	}
}

/* A new user with signal emails on (made directly: no sign-up to count
 * against the address's limit); the id. */
static long long
unsub_user(void)
{
	char hex[13], email[64];

	it_rand_hex(hex, 12);
	snprintf(email, sizeof(email), "unsub.%s@example.com", hex);
	return it_q_ll("INSERT INTO users (email, password_hash, display_name)"
	    " VALUES ($1, 'x', 'Una') RETURNING id", email, NULL);
}

/*
 * A signal email's unsubscribe link works without a login: GET shows the
 * button, POST (a mail client's one-click POST of RFC 8058: no session, no
 * CSRF token, no Origin) turns signal emails off; a link with another
 * user's token, or none, does nothing.
 */
static void
test_email_unsubscribe(void **state)
{
	struct ib anon = { 0 };
	struct it_resp r;
	char token[65], path[256], uid[24];
	long long u = unsub_user(), other = unsub_user();
	const char *secret = getenv("AC_UNSUBSCRIBE_SECRET");

	assert_non_null(secret);
	ac_unsubscribe_token(secret, u, token);
	snprintf(uid, sizeof(uid), "%lld", u);
	snprintf(path, sizeof(path), "/account/email/unsubscribe?u=%lld&t=%s", u, token);
	ib_get(&anon, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Unsubscribe from signal emails"));
	assert_true(it_has(&r, "<form method=\"post\""));
	it_resp_free(&r);

	/* another user's token, a cut token, none: refused, nothing changes */
	snprintf(path, sizeof(path), "/account/email/unsubscribe?u=%lld&t=%s", other, token);
	ib_post_raw(&anon, &r, path, "List-Unsubscribe=One-Click", NULL);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/account/email/unsubscribe?u=%lld&t=%.63s", u, token);
	ib_post_raw(&anon, &r, path, "List-Unsubscribe=One-Click", NULL);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/account/email/unsubscribe?u=%lld", u);
	ib_get(&anon, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id IN ($1::bigint, $2::bigint)"
	    " AND notify_email", uid, (snprintf(path, sizeof(path), "%lld", other), path),
	    NULL), 2);

	/* the one-click POST */
	snprintf(path, sizeof(path), "/account/email/unsubscribe?u=%lld&t=%s", u, token);
	ib_post_raw(&anon, &r, path, "List-Unsubscribe=One-Click", NULL);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "You will no longer get signal emails"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND NOT notify_email",
	    uid, NULL), 1);
	(void)state;
}

static void
test_api_tokens(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], token[64], auth[96], path[64];
	const char *p;
	long long tid;

	ib_signup(&b, "tok", "Toni", PW, email);
	/* the menu's "API" is this page: what the API is, both ways to a token,
	 * a curl example with this site's address, a link to the description */
	ib_get(&b, &r, "/tokens");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "<a class=\"nav-link active\" href=\"/tokens\">API</a>"));
	assert_true(it_has(&r, "<a href=\"/api/v1/openapi.yaml\">"));
	assert_true(it_has(&r, "POST /api/v1/auth/token"));
	snprintf(path, sizeof(path), "curl %s/api/v1/", it_env("AC_TEST_BASE_URL"));
	assert_true(it_has(&r, path));
	assert_false(it_has(&r, "href=\"/api/v1/auth/user\""));
	it_resp_free(&r);
	ib_post(&b, &r, "/tokens", "name=");
	assert_int_equal(r.status, 422);
	it_resp_free(&r);
	/* refused, the form keeps what was typed */
	{
		char form[160], typed[128];

		memset(typed, 'x', 101);
		typed[101] = '\0';
		snprintf(form, sizeof(form), "name=%s", typed);
		ib_post(&b, &r, "/tokens", form);
		assert_int_equal(r.status, 422);
		assert_true(it_has(&r, "a name of 1 to 100 characters is required"));
		snprintf(form, sizeof(form), "value=\"%s\"", typed);
		assert_true(it_has(&r, form));
		it_resp_free(&r);
	}
	/* made, then shown by the page the POST redirects to (a reload makes
	 * no second one), from a cookie sealed to this session */
	ib_post(&b, &r, "/tokens", "name=my+bot");
	ib_expect_redirect(&r, "/tokens?done=token_created");
	{
		const char *sc = it_header(&r, "Set-Cookie", NULL);
		char other[128];
		struct ib b2 = { 0 };

		assert_non_null(sc);
		assert_memory_equal(sc, "ac_token_once=", 14);
		assert_non_null(strstr(sc, "Path=/tokens; HttpOnly; SameSite=Strict; Max-Age=300"));
		assert_null(strstr(sc, "act_"));		/* not in clear */
		it_resp_free(&r);
		assert_int_equal(it_q_ll("SELECT count(*) FROM api_tokens WHERE name = 'my bot'"
		    " AND user_id = (SELECT id FROM users WHERE email = $1)", email, NULL), 1);
		/* another session with this cookie sees nothing */
		it_source("127.0.0.22");	/* the suite's sign-ups use up 127.0.0.1's */
		ib_signup(&b2, "tok2", "Tess", PW, other);
		it_source(NULL);
		snprintf(b2.token_once, sizeof(b2.token_once), "%s", b.token_once);
		ib_get(&b2, &r, "/tokens");
		assert_int_equal(r.status, 200);
		assert_false(it_has(&r, "id=\"new-token\""));
		it_resp_free(&r);

		ib_get(&b, &r, "/tokens?done=token_created");
		assert_int_equal(r.status, 200);
		assert_true(it_has(&r, "Token created."));
		assert_non_null(p = strstr(r.body, "id=\"new-token\">"));
		p += strlen("id=\"new-token\">");
		snprintf(token, sizeof(token), "%.47s", p);
		assert_memory_equal(token, "act_", 4);
		/* and gone: the cookie cleared, the page not kept by caches */
		assert_non_null(strstr(it_header(&r, "Set-Cookie", NULL),
		    "ac_token_once=; Path=/tokens"));
		assert_non_null(strstr(it_header(&r, "Set-Cookie", NULL), "Max-Age=0"));
		assert_string_equal(it_header(&r, "Cache-Control", NULL), "no-store");
		it_resp_free(&r);
		assert_int_equal(it_q_ll("SELECT count(*) FROM api_tokens WHERE name = 'my bot'"
		    " AND user_id = (SELECT id FROM users WHERE email = $1)", email, NULL), 1);
	}
	/* shown once: not on the list, nor stored */
	ib_get(&b, &r, "/tokens");
	assert_false(it_has(&r, token));
	assert_true(it_has(&r, "my bot"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM api_tokens WHERE token_hash ="
	    " sha256(convert_to($1, 'UTF8'))", token, NULL), 1);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	{
		const char *h[] = { auth, NULL };

		it_http_h(&r, "GET", "/api/v1/auth/user", h, NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(it_json_str(&r, "email"), email);
		it_resp_free(&r);
		tid = it_q_ll("SELECT id FROM api_tokens WHERE token_hash ="
		    " sha256(convert_to($1, 'UTF8'))", token, NULL);
		snprintf(path, sizeof(path), "/tokens/%lld/revoke", tid);
		/* the list's Revoke asks first, naming the token; nothing changes */
		ib_get(&b, &r, "/tokens");
		assert_true(it_has(&r, "<a class=\"btn btn-sm btn-outline-danger\" href=\"/tokens/"));
		it_resp_free(&r);
		ib_get(&b, &r, path);
		assert_int_equal(r.status, 200);
		assert_true(it_has(&r, "Revoke this token?"));
		assert_true(it_has(&r, "<strong>my bot</strong>"));
		assert_true(it_has(&r, "method=\"post\" action=\"/tokens/"));
		it_resp_free(&r);
		assert_int_equal(it_q_ll("SELECT count(*) FROM api_tokens WHERE token_hash ="
		    " sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL", token, NULL), 1);
		ib_post(&b, &r, path, "");
		ib_expect_redirect(&r, "token_revoked");
		it_resp_free(&r);
		ib_get(&b, &r, path);	/* revoked: nothing to confirm */
		assert_int_equal(r.status, 404);
		it_resp_free(&r);
		it_http_h(&r, "GET", "/api/v1/auth/user", h, NULL, NULL, 0);
		assert_int_equal(r.status, 401);
		it_resp_free(&r);
	}
}

/* The history page and the dashboard show a signal (its price) only to a
 * user whose subscription covered its strategy when it arrived. */
static void
test_signals_follow_the_subscription(void **state)
{
	static const char *const prices[] = { "7101.25", "7102.25", "7103.25", "7104.25" };
	static const char *const ago[] = { "30 days", "7 days", "12 hours", "1 minute" };
	/* which of prices each user may see: ended yesterday, began an hour
	 * ago, an alarm but no subscription */
	static const char *const sees[] = { "0100", "0001", "0000" };
	struct ib b[3];
	struct fx_plan p;
	struct it_resp r;
	char email[128], sid[24], uid[24];
	long long u[3];

	memset(b, 0, sizeof(b));
	fx_plan_new(&p);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	for (int i = 0; i < 3; i++) {
		u[i] = ib_signup(&b[i], "vis", "Vi", PW, email);
		snprintf(uid, sizeof(uid), "%lld", u[i]);
		PQclear(it_q("INSERT INTO alarms (user_id, strategy_id) VALUES ($1, $2)", uid, sid,
		    NULL));
	}
	fx_subscribe_at(u[0], &p, "active", "20 days", "-1 day");
	fx_subscribe_at(u[1], &p, "active", "1 hour", "30 days");
	for (int k = 0; k < 4; k++)
		fx_signal_at(p.strategy.id, u, 3, ago[k], prices[k]);
	for (int i = 0; i < 3; i++)
		for (int page = 0; page < 2; page++) {
			ib_get(&b[i], &r, page ? "/" : "/history");
			assert_int_equal(r.status, 200);
			for (int k = 0; k < 4; k++)
				if (it_has(&r, prices[k]) != (sees[i][k] == '1'))
					fail_msg("user %d %s the signal at %s on %s", i,
					    sees[i][k] == '1' ? "does not see" : "sees", prices[k],
					    page ? "the dashboard" : "/history");
			it_resp_free(&r);
		}
}

/* After PostgreSQL restarted, every responder's connection is dead until
 * used: sign-ups (a transaction) still work, each on a new connection. */
static void
test_signup_after_db_restart(void **state)
{
	char email[128];

	assert_int_equal(it_sh("AC_TEST_PG_STOP"), 0);
	assert_int_equal(it_sh("AC_TEST_PG_START"), 0);
	for (int i = 0; i < 4; i++) {
		struct ib b = { 0 };

		assert_true(ib_signup(&b, "restart", "Ray", PW, email) > 0);
	}
}

/* Last (its flood uses up this address's sign-ups for a while): nginx lets
 * an address POST /signup 30 times at once and then about every 2 s; the
 * rest get 429 before any password is hashed. Showing the form is free. */
static void
test_signup_flood(void **state)
{
	struct it_req reqs[45];
	struct it_resp resps[45], r;
	static const char form[] = "email=flood%40example.com&password=12345678&name=x";
	int limited = 0;

	for (size_t i = 0; i < 45; i++)
		reqs[i] = (struct it_req){ "POST", "/signup", "application/x-www-form-urlencoded",
		    form, sizeof(form) - 1 };
	it_http_multi(reqs, resps, 45);
	for (size_t i = 0; i < 45; i++) {
		limited += resps[i].status == 429;
		it_resp_free(&resps[i]);
	}
	if (limited < 10)
		fail_msg("%d of 45 sign-ups at once were refused with 429; wanted at least 10",
		    limited);
	it_http(&r, "GET", "/signup", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email = 'flood@example.com'",
	    NULL), 0);
	(void)state;
}

/* A strategy's exit reads as what it did on the dashboard and in the
 * history ("CLOSE LONG @ 45000"), not as the stored EXIT_LONG. */
static void
test_history_exit_action(void **state)
{
	static const char *const pages[] = { "/", "/history" };
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], uid[24], sid[24], key[17];

	fx_plan_new(&p);
	snprintf(uid, sizeof(uid), "%lld", ib_signup(&b, "exit", "Ezra", PW, email));
	fx_subscribe(strtoll(uid, NULL, 10), &p, 0);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	it_rand_hex(key, 16);
	PQclear(it_q("WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	    " received_at, symbol, timeframe, action, price, status)"
	    " SELECT id, $2, '{}', now(), symbol, timeframe, 'EXIT_LONG', 45000, 'processed'"
	    " FROM strategies WHERE id = $1 RETURNING id)"
	    " INSERT INTO deliveries (signal_id, user_id, channel, kind, status)"
	    " SELECT id, $3, 'email', 'exit', 'sent' FROM s", sid, key, uid, NULL));
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		ib_get(&b, &r, pages[i]);
		assert_int_equal(r.status, 200);
		if (!it_has(&r, "CLOSE LONG @ 45000") || it_has(&r, "EXIT_LONG"))
			fail_msg("%s does not show the exit as CLOSE LONG", pages[i]);
		it_resp_free(&r);
	}
	(void)state;
}

/* The dashboard says what keeps signals from coming: no credits (and how
 * many were missed), a plan ending without renewal, a channel with no
 * address, a Telegram bot that cannot reach the user; each goes once fixed. */
static void
test_banners(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], uid[24], sid[24];
	long long id;

	(void)state;
	fx_plan_new(&p);
	id = ib_signup(&b, "banner", "Bea", PW, email);
	snprintf(uid, sizeof(uid), "%lld", id);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	fx_subscribe(id, &p, 0);
	PQclear(it_q("INSERT INTO alarms (user_id, strategy_id, channels) VALUES ($1, $2,"
	    " '{telegram,email}')", uid, sid, NULL));
	fx_deliveries(id, p.strategy.id, 4);	/* two of them skipped for no credits */
	ib_get(&b, &r, "/");
	assert_true(it_has(&r, "id=\"no-credits\""));
	assert_true(it_has(&r, "2 signals were missed for it in the last 7 days"));
	assert_true(it_has(&r, "id=\"unlinked\""));
	assert_true(it_has(&r, "<strong>telegram</strong>"));
	assert_false(it_has(&r, "id=\"ends-soon\""));
	assert_false(it_has(&r, "id=\"telegram-blocked\""));
	it_resp_free(&r);
	/* credits, a chat the bot cannot reach, a plan ending in three days */
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " VALUES ($1::bigint, 5, 'grant', 'test', 'test:banner:' || $1::text)", uid, NULL));
	PQclear(it_q("UPDATE users SET telegram_chat_id = '55' || $1::text,"
	    " telegram_unreachable_at = now() WHERE id = $1::bigint", uid, NULL));
	PQclear(it_q("UPDATE subscriptions SET period_end = now() + interval '3 days'"
	    " WHERE user_id = $1", uid, NULL));
	ib_get(&b, &r, "/");
	assert_false(it_has(&r, "id=\"no-credits\""));
	assert_false(it_has(&r, "id=\"unlinked\""));
	assert_true(it_has(&r, "id=\"telegram-blocked\""));
	assert_true(it_has(&r, "id=\"ends-soon\""));
	it_resp_free(&r);
	/* the ledger in words, with where to look and the balance after each row */
	{
		long long sig = fx_signal_at(p.strategy.id, &id, 1, "1 minute", "42123.5");
		char sg[24], want[256];

		snprintf(sg, sizeof(sg), "%lld", sig);
		PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference,"
		    " idempotency_key) VALUES ($1::bigint, -1, 'usage', 'signal:' || $2,"
		    " 'signal:' || $2 || ':user:' || $1)", uid, sg, NULL));
		ib_get(&b, &r, "/credits");
		assert_int_equal(r.status, 200);
		snprintf(want, sizeof(want), "<a href=\"/history?strategy=%lld\">BUY %s 1h at"
		    " 42123.5 · ", p.strategy.id, p.strategy.symbol);
		assert_true(it_has(&r, want));
		assert_false(it_has(&r, ">signal:"));
		/* 5 granted, then 1 used: 4 after the newest row, 5 after the grant */
		assert_true(it_has(&r, "<td class=\"text-end\">4</td>"));
		assert_true(it_has(&r, "<td class=\"text-end\">5</td>"));
		it_resp_free(&r);
	}
}

/* The next page's path from a page's rel="next" link ("" when none). */
static char *
next_page(const struct it_resp *r, char *path, size_t n)
{
	const char *next = strstr(r->body, "rel=\"next\""), *href;

	*path = '\0';
	if (next == NULL)
		return path;
	for (href = next; href > r->body && strncmp(href, "href=\"", 6) != 0; href--)
		;
	snprintf(path, n, "%.*s", (int)(strchr(href + 6, '"') - href - 6), href + 6);
	for (char *amp; (amp = strstr(path, "&amp;")) != NULL; )
		memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
	return path;
}

/* The ledger and the trades a page at a time (keyset: ?before=id), with
 * the balance after each ledger row running on unbroken across pages; the
 * API pages the same way; a strategy's market is shown once, whatever its
 * name says; API tokens' times in the user's zone. */
static void
test_ledger_and_trade_pages(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], path[160], u[24], token[128], auth[160];
	long long uid, prev_after = 0, prev_amount = 0, seen = 0, total, trades = 0, last = 0;

	(void)state;
	fx_plan_new(&p);
	it_source("127.0.0.26");
	uid = ib_signup(&b, "pages", "Paige", PW, email);
	it_source(NULL);
	snprintf(u, sizeof(u), "%lld", uid);
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " VALUES ($1::bigint, 1000, 'grant', 'test', 'test:pages:' || $1)", u, NULL));
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " SELECT $1::bigint, -1 - g % 3, 'usage', 'test', 'test:pages:' || $1 || ':' || g"
	    " FROM generate_series(1, 119) g", u, NULL));
	total = it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1", u, NULL);
	ib_get(&b, &r, "/credits");
	for (int pg = 1; ; pg++) {
		const char *t = strstr(r.body, "id=\"ledger\""), *end = strstr(r.body, "</table>");
		int rows = 0;

		assert_int_equal(r.status, 200);
		assert_non_null(t);
		assert_int_equal(it_has(&r, "rel=\"first\""), pg > 1);
		for (const char *row = t; (row = strstr(row, "<tr><td>")) != NULL && row < end;
		    row++) {
			const char *a = strstr(row, "<td class=\"text-end text-");
			const char *bal = strstr(a, "<td class=\"text-end\">");
			long long amount = atoll(strchr(a + 6, '>') + 1);
			long long after = atoll(strchr(bal + 6, '>') + 1);

			/* each row's balance is the newer one's less its amount */
			if (seen > 0)
				assert_int_equal(after, prev_after - prev_amount);
			else
				assert_int_equal(after, it_q_ll("SELECT credit_balance FROM users"
				    " WHERE id = $1", u, NULL));
			prev_after = after;
			prev_amount = amount;
			seen++;
			rows++;
		}
		assert_int_equal(rows, seen < total ? 50 : total - 50 * (pg - 1));
		next_page(&r, path, sizeof(path));
		it_resp_free(&r);
		if (*path == '\0')
			break;
		assert_non_null(strstr(path, "/credits?before="));
		ib_get(&b, &r, path);
	}
	assert_int_equal(seen, total);
	assert_int_equal(prev_after, 1000);	/* the oldest row: the grant */

	/* 70 trades, a page of 50 then 20, each trade once, newest first;
	 * the strategy's default name says its market, so no tag repeats it */
	for (int i = 1; i <= 70; i++)
		fx_trade(uid, p.strategy.id, i, i % 2 ? "BUY" : "SELL", "100", "closed", "101",
		    "OPPOSITE", i % 2 ? "1" : "-1", i % 2 ? "1" : "-1");
	ib_get(&b, &r, "/trades");
	for (int pg = 1; ; pg++) {
		int rows = 0;

		assert_int_equal(r.status, 200);
		for (const char *row = strstr(r.body, "id=\"trades\""); row != NULL &&
		    (row = strstr(row, "<tr><td>")) != NULL; row++) {
			long long n = atoll(row + 8);

			assert_true(last == 0 || n == last - 1);
			last = n;
			rows++;
		}
		assert_int_equal(rows, pg == 1 ? 50 : 20);
		trades += rows;
		next_page(&r, path, sizeof(path));
		if (pg == 1) {
			char name[160], want[256];

			snprintf(name, sizeof(name), "IT Hook %s 1h", p.strategy.symbol);
			snprintf(want, sizeof(want), "<td>%s <span class=\"text-secondary small\">"
			    "</span></td>", name);
			assert_true(it_has(&r, want));
			assert_true(it_has(&r, "id=\"trades-list\""));
			assert_true(it_has(&r, "<td>opposite signal</td>"));
			assert_false(it_has(&r, "OPPOSITE"));
		}
		it_resp_free(&r);
		if (*path == '\0')
			break;
		ib_get(&b, &r, path);
	}
	assert_int_equal(trades, 70);
	assert_int_equal(last, 1);

	/* the API: ?before= on the ledger and the trades */
	ib_new_token(&b, "pages", token);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	{
		const char *h[] = { auth, NULL };
		char mid[24], want[24];
		json_t *e;

		snprintf(mid, sizeof(mid), "%lld", it_q_ll("SELECT id FROM credit_ledger"
		    " WHERE user_id = $1 ORDER BY id DESC OFFSET 9 LIMIT 1", u, NULL));
		snprintf(want, sizeof(want), "%lld", it_q_ll("SELECT id FROM credit_ledger"
		    " WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1", u, mid, NULL));
		snprintf(path, sizeof(path), "/api/v1/account/credits?limit=5&before=%s", mid);
		it_http_h(&r, "GET", path, h, NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		e = it_json_get(&r, "entries");
		assert_int_equal(json_array_size(e), 5);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "id")),
		    atoll(want));
		it_resp_free(&r);
		snprintf(mid, sizeof(mid), "%lld", it_q_ll("SELECT id FROM trades"
		    " WHERE user_id = $1 AND trade_number = 11", u, NULL));
		snprintf(path, sizeof(path), "/api/v1/trades?limit=100&before=%s", mid);
		it_http_h(&r, "GET", path, h, NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		e = it_json_get(&r, "trades");
		assert_int_equal(json_array_size(e), 10);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0),
		    "trade_number")), 10);
		it_resp_free(&r);
		it_http_h(&r, "GET", "/api/v1/trades?before=0", h, NULL, NULL, 0);
		assert_int_equal(r.status, 400);
		assert_non_null(strstr(r.body, "before"));
		it_resp_free(&r);
	}

	/* tokens: made and last used in the user's zone, as every other page */
	PQclear(it_q("UPDATE users SET timezone = 'Asia/Kolkata' WHERE id = $1", u, NULL));
	PQclear(it_q("UPDATE api_tokens SET created_at = '2026-01-02 03:04:00+00',"
	    " last_used_at = '2026-01-02 03:34:00+00' WHERE user_id = $1", u, NULL));
	ib_get(&b, &r, "/tokens");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "<td>2026-01-02 08:34</td><td>2026-01-02 09:04</td>"));
	assert_true(it_has(&r, "made 2026-01-02 08:34 · last used 2026-01-02 09:04"));
	it_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banners),
		cmocka_unit_test(test_signup_session_logout),
		cmocka_unit_test(test_session_expiry),
		cmocka_unit_test(test_signup_refused),
		cmocka_unit_test(test_signup_same_answer),
		cmocka_unit_test(test_signup_not_hijacked),
		cmocka_unit_test(test_address_mail_cap),
		cmocka_unit_test(test_pages_and_routing),
		cmocka_unit_test(test_front_page),
		cmocka_unit_test(test_forms_keep_values),
		cmocka_unit_test(test_alarm_channel_warnings),
		cmocka_unit_test(test_alarms),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_cross_user),
		cmocka_unit_test(test_signals_follow_the_subscription),
		cmocka_unit_test(test_history_pages),
		cmocka_unit_test(test_ledger_and_trade_pages),
		cmocka_unit_test(test_history_exit_action),
		cmocka_unit_test(test_password_reset),
		cmocka_unit_test(test_reset_links_end),
		cmocka_unit_test(test_reset_cap),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_trade_totals),
		cmocka_unit_test(test_change_password_and_email),
		cmocka_unit_test(test_api_tokens),
		cmocka_unit_test(test_email_unsubscribe),
		cmocka_unit_test(test_signup_after_db_restart),
		cmocka_unit_test(test_signup_flood),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
