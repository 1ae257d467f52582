/*
 * test_admin_strategies.c — ac-admin's /admin/strategies through nginx:
 * create and edit with every field (and the refusals: the field named,
 * what was typed kept, nothing stored), the permissions of each row, the
 * Pine Script against `acctl strategy pine ID --raw`, the webhook token's
 * rotation through ac-hook, and test signals: through the real ingest path
 * to the one test user, free, while a testing strategy reaches test users
 * only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itportal.h"

/* A form with every field; symbol and the others as given. */
static char *
strategy_form(const char *symbol, const char *timeframe, const char *max_open,
    const char *extra)
{
	char *f;

	if (asprintf(&f, "name=IT+Admin+%s&description=made+%%3Cby%%3E+a+test&symbol=%s"
	    "&timeframe=%s&strategy=UT+Bot&key_value=2.5&atr_period=12&ema_period=3"
	    "&heikin_ashi=1&max_open_trades=%s&replace_same=1&actions=BUY&actions=SELL"
	    "&required=symbol&required=timeframe&required=action&required=price"
	    "&price_tolerance=0.1&status=testing&credit_cost=2&dedup_window=60%s",
	    symbol, symbol, timeframe, max_open, extra ? extra : "") == -1)
		abort();
	return f;
}

static void
unique_symbol(char *buf, size_t sz)
{
	char hex[9];

	it_rand_hex(hex, 8);
	for (char *p = hex; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(buf, sz, "ADM%s", hex);
}

/* The id in a 303 to /admin/strategies/ID?done=want. */
static long long
created_id(const struct it_resp *r, const char *want)
{
	const char *loc;

	ib_expect_redirect(r, want);
	assert_non_null(loc = strstr(it_header(r, "Location", NULL), "/admin/strategies/"));
	return strtoll(loc + 18, NULL, 10);
}

static long long
count_symbol(const char *symbol)
{
	return it_q_ll("SELECT count(*) FROM strategies WHERE symbol = $1", symbol, NULL);
}

static void
test_create(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char user[64], sym[32], sid[24], *form;
	long long id;
	PGresult *res;

	(void)state;
	ia_login(&b, "alerts.view,alerts.configure", user);
	ib_get(&b, &r, "/admin/strategies");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"new-strategy\""));
	it_resp_free(&r);
	ib_get(&b, &r, "/admin/strategies/new");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "<label class=\"form-label\" for=\"sf-symbol\">"));
	it_resp_free(&r);

	unique_symbol(sym, sizeof(sym));
	/* refused: max open trades 9, a bad timeframe: 422, the field named,
	 * what was typed kept, nothing stored */
	form = strategy_form(sym, "1h", "9", NULL);
	ib_post(&b, &r, "/admin/strategies", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Max open trades: a whole number from 1 to 5."));
	assert_true(it_has(&r, "id=\"sf-max\" name=\"max_open_trades\" inputmode=\"numeric\" value=\"9\""));
	assert_true(it_has(&r, sym));
	assert_true(it_has(&r, "value=\"2.5\""));
	assert_true(it_has(&r, "made &lt;by&gt; a test"));
	assert_true(it_has(&r, "is-invalid\" id=\"sf-max\""));
	it_resp_free(&r);
	free(form);
	form = strategy_form(sym, "7m", "2", NULL);
	ib_post(&b, &r, "/admin/strategies", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Timeframe: one of 1m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w."));
	it_resp_free(&r);
	free(form);
	/* the library's own check, named the same way: half a 1m bar is 30 s */
	form = strategy_form(sym, "1m", "2", NULL);
	ib_post(&b, &r, "/admin/strategies", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Dedup window: seconds"));
	it_resp_free(&r);
	free(form);
	assert_int_equal(count_symbol(sym), 0);

	form = strategy_form(sym, "4h", "4", NULL);
	ib_post(&b, &r, "/admin/strategies", form);
	id = created_id(&r, "strategy_created");
	it_resp_free(&r);
	snprintf(sid, sizeof(sid), "%lld", id);
	res = it_q("SELECT name, description, symbol, timeframe, strategy, key_value::text,"
	    " atr_period, ema_period, heikin_ashi, max_open_trades, allow_opposite_signals,"
	    " replace_on_same_signal, auto_close_on_tp_sl, array_to_string(enabled_actions, ','),"
	    " array_to_string(required_fields, ','), price_tolerance::text, status, credit_cost,"
	    " dedup_window_s FROM strategies WHERE id = $1", sid, NULL);
	assert_int_equal(PQntuples(res), 1);
	assert_true(strncmp(PQgetvalue(res, 0, 0), "IT Admin ADM", 12) == 0);
	assert_string_equal(PQgetvalue(res, 0, 1), "made <by> a test");
	assert_string_equal(PQgetvalue(res, 0, 2), sym);
	assert_string_equal(PQgetvalue(res, 0, 3), "4h");
	assert_string_equal(PQgetvalue(res, 0, 4), "UT Bot");
	assert_string_equal(PQgetvalue(res, 0, 5), "2.500");
	assert_string_equal(PQgetvalue(res, 0, 6), "12");
	assert_string_equal(PQgetvalue(res, 0, 7), "3");
	assert_string_equal(PQgetvalue(res, 0, 8), "t");
	assert_string_equal(PQgetvalue(res, 0, 9), "4");
	assert_string_equal(PQgetvalue(res, 0, 10), "f");
	assert_string_equal(PQgetvalue(res, 0, 11), "t");
	assert_string_equal(PQgetvalue(res, 0, 12), "f");
	assert_string_equal(PQgetvalue(res, 0, 13), "BUY,SELL");
	assert_string_equal(PQgetvalue(res, 0, 14), "symbol,timeframe,action,price");
	assert_string_equal(PQgetvalue(res, 0, 15), "0.1000");
	assert_string_equal(PQgetvalue(res, 0, 16), "testing");
	assert_string_equal(PQgetvalue(res, 0, 17), "2");
	assert_string_equal(PQgetvalue(res, 0, 18), "60");
	PQclear(res);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'strategy.create'"
	    " AND target = 'strategy:' || $1 AND actor = $2 AND details->>'symbol' = $3"
	    " AND NOT details::text LIKE '%' || (SELECT webhook_token FROM strategies"
	    " WHERE id = $1::bigint) || '%'", sid, user, sym, NULL), 1);

	/* its page, with the flash; the list shows it */
	ib_get(&b, &r, "/admin/strategies/new");
	it_resp_free(&r);
	{
		char path[64];

		snprintf(path, sizeof(path), "/admin/strategies/%lld?done=strategy_created", id);
		ib_get(&b, &r, path);
		assert_int_equal(r.status, 200);
		assert_true(it_has(&r, "The strategy is created."));
		it_resp_free(&r);
	}
	ib_get(&b, &r, "/admin/strategies");
	assert_true(it_has(&r, sym));
	assert_true(it_has(&r, "text-bg-warning\">testing"));
	it_resp_free(&r);

	/* the same symbol, timeframe and strategy again: said, nothing stored */
	ib_post(&b, &r, "/admin/strategies", form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Already taken"));
	assert_true(it_has(&r, "must be new"));
	it_resp_free(&r);
	free(form);
	assert_int_equal(count_symbol(sym), 1);
}

static void
test_edit(void **state)
{
	struct ib b = { 0 };
	struct it_strategy s;
	struct it_resp r;
	char user[64], sid[24], path[64], *form;
	PGresult *res;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ia_login(&b, "alerts.view,alerts.configure", user);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"strategy-form\""));
	it_resp_free(&r);

	form = strategy_form(s.symbol, "1h", "7", "&auto_close=1");
	ib_post(&b, &r, path, form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Max open trades"));
	it_resp_free(&r);
	free(form);
	assert_int_equal(it_q_ll("SELECT max_open_trades FROM strategies WHERE id = $1", sid,
	    NULL), 3);

	form = strategy_form(s.symbol, "1h", "5", "&auto_close=1");
	ib_post(&b, &r, path, form);
	assert_int_equal(created_id(&r, "strategy_saved"), s.id);
	it_resp_free(&r);
	free(form);
	res = it_q("SELECT max_open_trades, key_value::text, status, credit_cost, heikin_ashi,"
	    " auto_close_on_tp_sl, array_to_string(enabled_actions, ','), strategy"
	    " FROM strategies WHERE id = $1", sid, NULL);
	assert_string_equal(PQgetvalue(res, 0, 0), "5");
	assert_string_equal(PQgetvalue(res, 0, 1), "2.500");
	assert_string_equal(PQgetvalue(res, 0, 2), "testing");
	assert_string_equal(PQgetvalue(res, 0, 3), "2");
	assert_string_equal(PQgetvalue(res, 0, 4), "t");
	assert_string_equal(PQgetvalue(res, 0, 5), "t");
	assert_string_equal(PQgetvalue(res, 0, 6), "BUY,SELL");
	assert_string_equal(PQgetvalue(res, 0, 7), "UT Bot");
	PQclear(res);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'strategy.edit'"
	    " AND target = 'strategy:' || $1 AND actor = $2"
	    " AND details->'changed'->'max_open_trades'->>'from' = '3'"
	    " AND details->'changed'->'max_open_trades'->>'to' = '5'"
	    " AND details->'changed'->'strategy'->>'to' = 'UT Bot'"
	    " AND NOT details->'changed' ? 'symbol'", sid, user, NULL), 1);
}

static void
test_view_only(void **state)
{
	struct ib b = { 0 };
	struct it_strategy s;
	struct it_resp r;
	char user[64], path[96], *form;
	const char *posts[] = { "", "/token", "/test" };

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	ia_login(&b, "alerts.view", user);
	ib_get(&b, &r, "/admin/strategies");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, s.symbol));
	assert_false(it_has(&r, "New strategy"));
	it_resp_free(&r);
	ib_get(&b, &r, "/admin/strategies/new");
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, "id=\"strategy-form\""));
	assert_false(it_has(&r, "id=\"token-form\""));
	assert_false(it_has(&r, "id=\"test-form\""));
	assert_true(it_has(&r, "id=\"strategy-values\""));
	assert_true(it_has(&r, "id=\"pine-script\""));
	it_resp_free(&r);
	form = strategy_form(s.symbol, "1h", "2", NULL);
	ib_post(&b, &r, "/admin/strategies", form);
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
		snprintf(path, sizeof(path), "/admin/strategies/%lld%s", s.id, posts[i]);
		ib_post(&b, &r, path, i == 2 ? "user_id=1&action=BUY&price=100" : form);
		if (r.status != 403)
			fail_msg("POST %s: %ld", path, r.status);
		assert_true(it_has(&r, "alerts.configure"));
		it_resp_free(&r);
	}
	free(form);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log a JOIN admin_users u"
	    " ON u.id = a.admin_id WHERE u.username = $1 AND a.action LIKE 'strategy.%'", user,
	    NULL), 0);
}

/* s with the five HTML entities the templates write turned back. */
static char *
unescape(const char *s, size_t n)
{
	static const char *const ent[][2] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&#39;", "'" } };
	char *out = malloc(n + 1), *o = out;

	assert_non_null(out);
	for (size_t i = 0; i < n;) {
		size_t k;

		for (k = 0; k < 5; k++)
			if (strncmp(s + i, ent[k][0], strlen(ent[k][0])) == 0)
				break;
		if (k < 5) {
			*o++ = ent[k][1][0];
			i += strlen(ent[k][0]);
		} else
			*o++ = s[i++];
	}
	*o = '\0';
	return out;
}

static void
test_pine_same_as_acctl(void **state)
{
	struct ib b = { 0 };
	struct it_strategy s;
	struct it_resp r;
	char user[64], path[64], cmd[2048], buf[65536];
	const char *open = "<pre class=\"ac-code\" id=\"pine-script\" tabindex=\"0\">", *p, *e;
	char *page;
	size_t n;
	FILE *f;

	(void)state;
	it_strategy_new(&s, "4h", "--key-value", "2", "--heikin-ashi", "--name",
	    "It's <Bot> & \"co\"", NULL);
	snprintf(cmd, sizeof(cmd), "'%s' strategy pine %lld --raw", it_env("AC_TEST_ACCTL"), s.id);
	assert_non_null(f = popen(cmd, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_true(n > 500);

	ia_login(&b, "alerts.view", user);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_non_null(p = strstr(r.body, open));
	p += strlen(open);
	assert_non_null(e = strstr(p, "</pre>"));
	page = unescape(p, (size_t)(e - p));
	assert_string_equal(page, buf);
	free(page);
	/* the steps acctl prints; the webhook URL (its token sends alerts to
	 * every subscriber) only to who may configure alerts */
	assert_true(it_has(&r, "Any alert() function call"));
	assert_true(it_has(&r, "Open a "));
	assert_false(it_has(&r, s.path));
	assert_false(it_has(&r, "data-copy=\"webhook-url\""));
	assert_true(it_has(&r, "data-copy=\"pine-script\""));
	assert_true(it_has(&r, "<script src=\"/static/js/admin.js\" defer></script>"));
	it_resp_free(&r);
	{
		struct ib cfgr = { 0 };

		ia_login(&cfgr, "alerts.view,alerts.configure", user);
		ib_get(&cfgr, &r, path);
		assert_true(it_has(&r, s.path));
		assert_true(it_has(&r, "data-copy=\"webhook-url\""));
		it_resp_free(&r);
	}
	it_http(&r, "GET", "/static/js/admin.js", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "navigator.clipboard"));
	it_resp_free(&r);
}

/* An alert for s at a fresh price through nginx to path: the status. */
static long
send_alert(const struct it_strategy *s, const char *path)
{
	struct it_resp r;
	char *body = it_alert(s, "BUY", it_price(100), 0, 0, it_now_ms());
	long st;

	it_post(&r, path, "application/json", body);
	st = r.status;
	it_resp_free(&r);
	free(body);
	return st;
}

static void
test_rotate(void **state)
{
	struct ib b = { 0 };
	struct it_strategy s;
	struct it_resp r;
	char user[64], path[96], sid[24], newpath[192];
	const char *said;
	PGresult *res;
	long st = 0, within_s;
	int64_t rotated;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	assert_int_equal(send_alert(&s, s.path), 202);
	ia_login(&b, "alerts.view,alerts.configure", user);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ib_get(&b, &r, path);
	assert_non_null(said = strstr(r.body, "the old URL stops working within "));
	within_s = strtol(said + 33, NULL, 10);
	assert_true(within_s > 0 && within_s < 60);
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/strategies/%lld/token", s.id);
	ib_post(&b, &r, path, "");
	rotated = it_now_ms();
	assert_int_equal(created_id(&r, "token_rotated"), s.id);
	it_resp_free(&r);
	res = it_q("SELECT webhook_token FROM strategies WHERE id = $1", sid, NULL);
	assert_string_not_equal(PQgetvalue(res, 0, 0), s.token);
	snprintf(newpath, sizeof(newpath), "/hook/tv/%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_int_equal(send_alert(&s, newpath), 202);
	/* the old token: refused once ac-hook's cache lets it go, within the
	 * seconds the page said */
	while ((st = send_alert(&s, s.path)) != 401 && it_now_ms() < rotated + within_s * 1000)
		usleep(200 * 1000);
	assert_int_equal(st, 401);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'strategy.token'"
	    " AND target = 'strategy:' || $1 AND details->>'webhook_token' = 'rotated'"
	    " AND NOT details::text LIKE '%' || (SELECT webhook_token FROM strategies"
	    " WHERE id = $1::bigint) || '%'", sid, NULL), 1);
}

/* A user subscribed to p with credits and an email alarm on its strategy;
 * a test user when is_test. Its id. */
static long long
subscriber(const struct fx_plan *p, const char *tag, int is_test)
{
	char hex[9], email[96], sid[24], uid[24];
	long long id;

	it_rand_hex(hex, 8);
	snprintf(email, sizeof(email), "%s.%s@example.com", tag, hex);
	id = it_q_ll("INSERT INTO users (email, password_hash, is_test) VALUES ($1, 'x', $2)"
	    " RETURNING id", email, is_test ? "true" : "false", NULL);
	fx_subscribe(id, p, 10);
	snprintf(uid, sizeof(uid), "%lld", id);
	snprintf(sid, sizeof(sid), "%lld", p->strategy.id);
	PQclear(it_q("INSERT INTO alarms (user_id, strategy_id, subscription_id, channels)"
	    " SELECT $1, $2, id, '{email}' FROM subscriptions WHERE user_id = $1", uid, sid,
	    NULL));
	return id;
}

static long long
deliveries_of(long long signal_id, long long user_id)
{
	return it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1 AND user_id = $2"
	    " AND skip_reason IS NULL", it_ll(signal_id), it_ll(user_id), NULL);
}

static long long
balance(long long user_id)
{
	return it_q_ll("SELECT credit_balance FROM users WHERE id = $1", it_ll(user_id), NULL);
}

static void
test_test_signal(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char user[64], path[96], form[128], sid[24], *loc;
	long long normal, tester, signal;

	(void)state;
	fx_plan_new(&p);
	normal = subscriber(&p, "normal", 0);
	tester = subscriber(&p, "tester", 1);
	ia_login(&b, "alerts.view,alerts.configure", user);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", p.strategy.id);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	snprintf(form, sizeof(form), "<option value=\"%lld\"", tester);
	assert_true(it_has(&r, form));
	snprintf(form, sizeof(form), "<option value=\"%lld\"", normal);
	assert_false(it_has(&r, form));
	it_resp_free(&r);

	/* a user who is not a test user is refused, nothing stored */
	snprintf(path, sizeof(path), "/admin/strategies/%lld/test", p.strategy.id);
	snprintf(form, sizeof(form), "user_id=%lld&action=BUY&price=123.5", normal);
	ib_post(&b, &r, path, form);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "Test user: choose one of the test users"));
	it_resp_free(&r);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1", sid,
	    NULL), 0);

	snprintf(form, sizeof(form), "user_id=%lld&action=BUY&price=123.5", tester);
	ib_post(&b, &r, path, form);
	assert_int_equal(created_id(&r, "test_sent"), p.strategy.id);
	assert_non_null(loc = strstr(it_header(&r, "Location", NULL), "signal="));
	signal = strtoll(loc + 7, NULL, 10);
	it_resp_free(&r);
	/* the same again within the dedup window: the one signal, said so */
	ib_post(&b, &r, path, form);
	assert_int_equal(r.status, 409);
	assert_true(it_has(&r, "dedup window (30 s)"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1",
	    it_ll(p.strategy.id), NULL), 1);
	snprintf(sid, sizeof(sid), "%lld", signal);
	assert_int_equal(it_q_ll("SELECT test_user_id FROM signals WHERE id = $1"
	    " AND price = 123.5 AND action = 'BUY'", sid, NULL), tester);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'strategy.test'"
	    " AND (details->>'signal_id')::bigint = $1::bigint", sid, NULL), 1);
	snprintf(path, sizeof(path), "/admin/strategies/%lld?done=test_sent&signal=%lld",
	    p.strategy.id, signal);
	ib_get(&b, &r, path);
	snprintf(form, sizeof(form), "<a href=\"/admin/signals/%lld\">#%lld</a>", signal, signal);
	assert_true(it_has(&r, form));
	it_resp_free(&r);

	it_drain("test_admin_strategies-worker.log");
	assert_int_equal(deliveries_of(signal, tester), 1);
	assert_int_equal(deliveries_of(signal, normal), 0);
	assert_int_equal(balance(tester), 10);
	assert_int_equal(balance(normal), 10);
	/* the API's signal feed: the test signal is the test user's alone */
	{
		char tok[48] = "act_", auth[96], id[24];
		const char *h[] = { auth, NULL };

		it_rand_hex(tok + 4, 43);
		snprintf(id, sizeof(id), "%lld", normal);
		PQclear(it_q("INSERT INTO api_tokens (user_id, name, token_hash, prefix)"
		    " VALUES ($1, 'it', sha256(convert_to($2, 'UTF8')), left($2, 8))", id, tok,
		    NULL));
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		it_http_h(&r, "GET", "/api/v1/signals", h, NULL, NULL, 0);
		assert_int_equal(r.status, 200);
		snprintf(form, sizeof(form), "\"id\": %lld,", signal);
		assert_null(strstr(r.body, form));
		snprintf(form, sizeof(form), "\"id\":%lld,", signal);
		assert_null(strstr(r.body, form));
		it_resp_free(&r);
	}
	/* nor does it count in the strategy's statistics */
	assert_int_equal(it_q_ll("SELECT total_alerts FROM strategies WHERE id = $1",
	    it_ll(p.strategy.id), NULL), 0);

	/* a real alert of the same strategy reaches both, and costs credits:
	 * the test signal changed nothing for real signals */
	assert_int_equal(send_alert(&p.strategy, p.strategy.path), 202);
	it_drain("test_admin_strategies-worker.log");
	assert_int_equal(it_q_ll("SELECT count(DISTINCT user_id) FROM deliveries d JOIN signals s"
	    " ON s.id = d.signal_id WHERE s.strategy_id = $1::bigint AND s.test_user_id IS NULL",
	    it_ll(p.strategy.id), NULL), 2);
	assert_int_equal(balance(normal), 9);
	assert_int_equal(it_q_ll("SELECT total_alerts FROM strategies WHERE id = $1",
	    it_ll(p.strategy.id), NULL), 1);
}

static void
test_testing_strategy(void **state)
{
	struct fx_plan p;
	long long normal, tester, tester2;
	char sid[24];

	(void)state;
	fx_plan_new(&p);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	/* not looked up by ac-hook yet: nothing cached */
	PQclear(it_q("UPDATE strategies SET status = 'testing' WHERE id = $1", sid, NULL));
	normal = subscriber(&p, "normal", 0);
	tester = subscriber(&p, "tester", 1);
	tester2 = subscriber(&p, "tester2", 1);
	assert_int_equal(send_alert(&p.strategy, p.strategy.path), 202);
	it_drain("test_admin_strategies-worker.log");
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN signals s"
	    " ON s.id = d.signal_id WHERE s.strategy_id = $1 AND d.user_id = $2", sid,
	    it_ll(normal), NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(DISTINCT d.user_id) FROM deliveries d"
	    " JOIN signals s ON s.id = d.signal_id WHERE s.strategy_id = $1"
	    " AND d.skip_reason IS NULL", sid, NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN signals s"
	    " ON s.id = d.signal_id WHERE s.strategy_id = $1 AND d.user_id IN ($2, $3)", sid,
	    it_ll(tester), it_ll(tester2), NULL), 2);
	/* a real alert of a testing strategy is charged as usual */
	assert_int_equal(balance(tester), 9);
	assert_int_equal(balance(normal), 10);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_view_only),
		cmocka_unit_test(test_pine_same_as_acctl),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_test_signal),
		cmocka_unit_test(test_testing_strategy),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	if (it_worker() == NULL)
		return 1;
	rc = cmocka_run_group_tests_name("admin_strategies", tests, NULL, NULL);
	it_done();
	return rc;
}
