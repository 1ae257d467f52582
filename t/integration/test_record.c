/*
 * test_record.c — issue 16's track record and verification through nginx:
 * the portal's public /strategies/N/record and the API's twin (404 until
 * the operator opts in, then the figures computed from the stored
 * signals, test signals left out, latency from the deliveries), the
 * notification history's latency, the admin panel's opt-in form (CSRF,
 * permission, audit) and verify upload, and acctl verify (missing, extra,
 * on a different bar; exit 3; a bad line named).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "itportal.h"

#define BAR0	1748736000LL	/* 2025-06-01T00:00:00Z, the first bar of the CSV */
#define NBARS	200

/* A stored signal of strategy sid: action at price (tp, sl may be NULL),
 * arrived at (ISO or Unix seconds, text), for test_user (NULL: a real
 * one); its id. */
static long long
signal_at(long long sid, const char *action, const char *price, const char *tp,
    const char *sl, const char *at, const char *test_user)
{
	char key[33];

	it_rand_hex(key, 32);
	return it_q_ll("INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at,"
	    " symbol, timeframe, action, price, take_profit, stop_loss, status, test_user_id)"
	    " SELECT id, $2, '{}', CASE WHEN $3 ~ '^[0-9]+$' THEN to_timestamp($3::bigint)"
	    " ELSE $3::timestamptz END, symbol, timeframe, $4, $5::numeric,"
	    " nullif($6, '')::numeric, nullif($7, '')::numeric, 'processed',"
	    " nullif($8, '')::bigint FROM strategies WHERE id = $1 RETURNING id", it_ll(sid), key,
	    at, action, price, tp ? tp : "", sl ? sl : "", test_user ? test_user : "", NULL);
}

/* A delivery of signal to user on channel by provider, accepted ms after
 * the signal arrived. */
static void
delivered(long long signal, long long user, const char *channel, const char *provider, int ms)
{
	PQclear(it_q("INSERT INTO deliveries (signal_id, user_id, channel, kind, provider, status,"
	    " sent_at) SELECT id, $2, $3, 'entry', $4, 'sent', received_at + $5::int *"
	    " interval '1 millisecond' FROM signals WHERE id = $1", it_ll(signal), it_ll(user), channel,
	    provider, it_ll(ms), NULL));
}

static long long
new_user(void)
{
	char hex[13], email[64];
	json_t *o;
	long long id;
	int st;

	it_rand_hex(hex, 12);
	snprintf(email, sizeof(email), "rec.%s@example.com", hex);
	o = it_acctl(&st, "user", "add", "--email", email, "--password", "correct horse 12",
	    (char *)NULL);
	assert_int_equal(st, 0);
	id = json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	assert_true(id > 0);
	return id;
}

static void
get_status(const char *path, long want)
{
	struct it_resp r;

	it_http(&r, "GET", path, NULL, NULL, 0);
	if (r.status != want)
		fail_msg("GET %s: %ld, expected %ld", path, r.status, want);
	it_resp_free(&r);
}

static void
assert_near(double want, const json_t *v)
{
	if (!json_is_number(v) || fabs(json_number_value(v) - want) > 1e-6)
		fail_msg("%.12g, expected %.12g", json_number_value(v), want);
}

/*
 * BUY 100 (5 Jan), SELL 110 (10 Jan: +10 %, a SELL opens), BUY 121 (3 Feb:
 * -10 %, a BUY opens), EXIT_LONG 133.1 (10 Feb: +10 %): 3 trades, 2 won,
 * equity 10, 0, 10, a drawdown of 10 points. A test signal in between
 * counts nowhere. Latency: 1.2 s and 0.8 s by providers (1.0 s on
 * average), the outbox's 0.1 s left out.
 */
static void
test_record_page(void **state)
{
	struct fx_plan p;
	struct it_resp r;
	char path[96], api[96], link[64];
	long long user = new_user(), s1, s2;
	json_t *o;

	(void)state;
	fx_plan_new(&p);
	s1 = signal_at(p.strategy.id, "BUY", "100", NULL, NULL, "2026-01-05T10:00:00Z", NULL);
	s2 = signal_at(p.strategy.id, "SELL", "110", NULL, NULL, "2026-01-10T10:00:00Z", NULL);
	signal_at(p.strategy.id, "BUY", "50", NULL, NULL, "2026-01-11T10:00:00Z", it_ll(user));
	delivered(signal_at(p.strategy.id, "BUY", "121", NULL, NULL, "2026-02-03T10:00:00Z",
	    NULL), user, "email", "outbox", 100);
	signal_at(p.strategy.id, "EXIT_LONG", "133.1", NULL, NULL, "2026-02-10T10:00:00Z", NULL);
	delivered(s1, user, "telegram", "telegram", 1200);
	delivered(s2, user, "email", "resend", 800);

	snprintf(path, sizeof(path), "/strategies/%lld/record", p.strategy.id);
	snprintf(api, sizeof(api), "/api/v1/strategies/%lld/record", p.strategy.id);
	snprintf(link, sizeof(link), "id=\"record-link-%lld\"", p.strategy.id);
	get_status(path, 404);
	get_status(api, 404);
	it_http(&r, "GET", "/", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, p.strategy.symbol));
	assert_false(it_has(&r, link));
	assert_false(it_has(&r, path));
	it_resp_free(&r);
	it_http(&r, "GET", "/plans", NULL, NULL, 0);
	assert_true(it_has(&r, p.strategy.symbol));
	assert_false(it_has(&r, path));
	it_resp_free(&r);

	PQclear(it_q("UPDATE strategies SET public_record = true WHERE id = $1",
	    it_ll(p.strategy.id), NULL));
	it_http(&r, "GET", "/", NULL, NULL, 0);
	assert_true(it_has(&r, link));
	it_resp_free(&r);
	it_http(&r, "GET", "/plans", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	snprintf(link, sizeof(link), "href=\"/strategies/%lld/record\"", p.strategy.id);
	assert_true(it_has(&r, link));
	it_resp_free(&r);
	it_http(&r, "GET", path, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"record-signals\">4<"));
	assert_true(it_has(&r, "id=\"record-win-rate\">66.7 %<"));
	assert_true(it_has(&r, "2 won of 3 closed"));
	assert_true(it_has(&r, "id=\"record-total\">+10.00 %<"));
	assert_true(it_has(&r, "id=\"record-drawdown\">10.00 points<"));
	assert_true(it_has(&r, "id=\"record-latency\">1.0 s<"));
	assert_true(it_has(&r, "average over 2 notifications of the last 4 signals, median 1.0 s"));
	assert_true(it_has(&r, "<td>2026-01</td><td class=\"text-end\">1</td><td class=\"text-end\">1"
	    "</td><td class=\"text-end text-success\">+10.00 %</td>"));
	assert_true(it_has(&r, "<td>2026-02</td><td class=\"text-end\">2</td><td class=\"text-end\">1"
	    "</td><td class=\"text-end \">+0.00 %</td>"));
	assert_true(it_has(&r, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_true(it_has(&r, "<polyline"));
	assert_true(it_has(&r, "<td>2026-01-05 10:00:00</td><td>BUY</td><td class=\"text-end\">100"
	    "</td><td class=\"text-end\">1.2 s</td>"));
	assert_true(it_has(&r, "<td>2026-02-10 10:00:00</td><td>EXIT_LONG</td>"));
	assert_false(it_has(&r, "2026-01-11"));	/* the test signal */
	assert_false(it_has(&r, "<script>"));
	it_resp_free(&r);

	it_http(&r, "GET", api, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(o = r.json);
	assert_int_equal(json_integer_value(json_object_get(o, "signals")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "trades")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "wins")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "open_trades")), 0);
	assert_near(200.0 / 3, json_object_get(o, "win_rate_percent"));
	assert_near(10, json_object_get(o, "total_pnl_percent"));
	assert_near(10, json_object_get(o, "max_drawdown_percent"));
	assert_int_equal(json_array_size(json_object_get(o, "months")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "equity")), 3);
	assert_int_equal(json_integer_value(it_json_get(&r, "latency.deliveries")), 2);
	assert_int_equal(json_integer_value(it_json_get(&r, "latency.average_ms")), 1000);
	assert_string_equal(it_json_str(&r, "latency.average"), "1.0 s");
	assert_string_equal(it_json_str(&r, "strategy.symbol"), p.strategy.symbol);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o,
	    "recent"), 0), "action")), "EXIT_LONG");
	assert_non_null(it_json_str(&r, "rule"));
	assert_int_equal(json_integer_value(it_json_get(&r, "latency.signals")), 4);
	it_resp_free(&r);
	/* a signal of 10,000 subscribers is sample enough: the latency reads
	 * the newest signals only until their subscribers pass 10,000 */
	PQclear(it_q("UPDATE signals SET matched_users = 10000 WHERE id = (SELECT max(id)"
	    " FROM signals WHERE strategy_id = $1 AND test_user_id IS NULL)",
	    it_ll(p.strategy.id), NULL));
	it_http(&r, "GET", api, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(it_json_get(&r, "latency.signals")), 1);
	assert_int_equal(json_integer_value(json_object_get(r.json, "signals")), 4);
	it_resp_free(&r);

	/* a testing strategy shows no record, opted in or not */
	PQclear(it_q("UPDATE strategies SET status = 'testing' WHERE id = $1",
	    it_ll(p.strategy.id), NULL));
	get_status(path, 404);
	get_status(api, 404);
	get_status("/strategies/999999999/record", 404);
	get_status("/api/v1/strategies/999999999/record", 404);
}

/* The history page and the API's: each notification's time from the
 * signal's arrival to the provider's acceptance; none for the outbox. */
static void
test_history_latency(void **state)
{
	struct fx_plan p;
	struct ib b = { 0 };
	struct it_resp r;
	char email[128], token[80], auth[128];
	const char *h[] = { auth, NULL };
	long long user, sig;
	json_t *items;

	(void)state;
	fx_plan_new(&p);
	user = ib_signup(&b, "lat", "Latency Reader", "correct horse 12", email);
	fx_subscribe(user, &p, 10);
	sig = signal_at(p.strategy.id, "BUY", "123.5", NULL, NULL, it_ll(time(NULL) - 60), NULL);
	delivered(sig, user, "telegram", "telegram", 1234);
	delivered(sig, user, "email", "outbox", 50);
	ib_get(&b, &r, "/history");
	assert_int_equal(r.status, 200);
	/* the telegram one took 1.2 s; the outbox one shows none */
	assert_true(it_has(&r, "data-latency>in 1.2 s</span>"));
	assert_null(strstr(strstr(r.body, "data-latency") + 1, "data-latency"));
	assert_true(it_has(&r, "delivered in 1.2 s"));
	it_resp_free(&r);

	ib_new_token(&b, "latency", token);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	/* an address of its own: the API counts bad tokens per address, and
	 * another program may have sent many from 127.0.0.1 this minute */
	it_source("127.0.0.81");
	it_http_h(&r, "GET", "/api/v1/account/history", h, NULL, NULL, 0);
	it_source(NULL);
	assert_int_equal(r.status, 200);
	items = it_json_get(&r, "items");
	assert_int_equal(json_array_size(items), 2);
	for (size_t i = 0; i < 2; i++) {
		const json_t *d = json_array_get(items, i);

		if (strcmp(json_string_value(json_object_get(d, "channel")), "telegram") == 0)
			assert_int_equal(json_integer_value(json_object_get(d, "latency_ms")), 1234);
		else
			assert_true(json_is_null(json_object_get(d, "latency_ms")));
	}
	it_resp_free(&r);
}

/* TradingView's chart export of NBARS hourly bars from BAR0: a sine of
 * period 40 bars, so the UT Bot turns every 20 bars or so. line3 (not
 * NULL) replaces the bar on line 3. */
static char *
bars_csv(const char *line3)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	double prev = 100;

	assert_non_null(f);
	fputs("time,open,high,low,close\n", f);
	for (int i = 0; i < NBARS; i++) {
		double c = 100 + 10 * sin(2 * M_PI * i / 40.0);

		if (i == 1 && line3 != NULL)
			fprintf(f, "%s\n", line3);
		else
			fprintf(f, "%lld,%.4f,%.4f,%.4f,%.4f\n", BAR0 + i * 3600LL, prev,
			    fmax(prev, c) + 0.5, fmin(prev, c) - 0.5, c);
		prev = c;
	}
	fclose(f);
	return s;
}

static const char *
write_file(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/ac-verify.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* The engine's signals over the CSV at file, as acctl backtest prints them. */
struct engine {
	int	n;
	int	bar[64];
	char	action[64][8];	/* "BUY" / "SELL" */
};

static void
engine_signals(long long sid, const char *file, struct engine *e)
{
	json_t *o, *v;
	size_t i;
	int st;

	o = it_acctl(&st, "backtest", "--strategy", it_ll(sid), "--bars", file, (char *)NULL);
	assert_int_equal(st, 0);
	e->n = 0;
	json_array_foreach(json_object_get(o, "signals"), i, v) {
		assert_true(e->n < 64);
		e->bar[e->n] = (int)((json_integer_value(json_object_get(v, "unix")) - BAR0) / 3600);
		snprintf(e->action[e->n], sizeof(e->action[0]), "%s", strcmp(json_string_value(
		    json_object_get(v, "action")), "buy") == 0 ? "BUY" : "SELL");
		e->n++;
	}
	json_decref(o);
	assert_true(e->n >= 6);
}

/* The stored copy of the engine's signals with three faults: the second
 * never arrived, the third came two bars late, and a BUY ten bars after
 * the first BUY was never the engine's; plus a test signal and a TP hit,
 * which verify leaves out. Each arrives 2 s after its bar closed. */
static void
store_faulty(long long sid, const struct engine *e, long long test_user, long long *extra,
    long long *late)
{
	int first_buy = strcmp(e->action[0], "BUY") == 0 ? 0 : 1;

	for (int k = 0; k < e->n; k++) {
		long long id;

		if (k == 1)
			continue;
		id = signal_at(sid, e->action[k], "100", NULL, NULL,
		    it_ll(BAR0 + (e->bar[k] + (k == 2 ? 2 : 0) + 1) * 3600LL + 2), NULL);
		if (k == 2)
			*late = id;
	}
	*extra = signal_at(sid, "BUY", "100", NULL, NULL,
	    it_ll(BAR0 + (e->bar[first_buy] + 10 + 1) * 3600LL + 2), NULL);
	signal_at(sid, "SELL", "100", NULL, NULL, it_ll(BAR0 + 31 * 3600LL + 2), it_ll(test_user));
	signal_at(sid, "TP_HIT", "100", NULL, NULL, it_ll(BAR0 + 33 * 3600LL + 2), NULL);
}

/* The differences of a report (JSON) by kind. */
static int
count_kind(const json_t *diffs, const char *kind)
{
	const json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach(diffs, i, v)
		n += strcmp(json_string_value(json_object_get(v, "kind")), kind) == 0;
	return n;
}

/* acctl verify: the report names the missing, the extra and the late
 * signal (exit 3), --table prints it; once they are put right, exit 0; a
 * bad line of the CSV is named. */
static void
test_acctl_verify(void **state)
{
	struct it_strategy s;
	struct engine e;
	char *csv = bars_csv(NULL), cmd[1024], out[8192];
	const char *file = write_file(csv);
	long long extra = 0, late = 0;
	json_t *o, *d;
	FILE *p;
	size_t n, i;
	int st;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	engine_signals(s.id, file, &e);
	store_faulty(s.id, &e, new_user(), &extra, &late);
	o = it_acctl(&st, "verify", "--strategy", it_ll(s.id), "--bars", file, (char *)NULL);
	assert_int_equal(st, 3);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "bars")), NBARS);
	assert_int_equal(json_integer_value(json_object_get(o, "recomputed")), e.n);
	assert_int_equal(json_integer_value(json_object_get(o, "stored")), e.n);
	assert_int_equal(json_integer_value(json_object_get(o, "matched")), e.n - 2);
	assert_int_equal(json_integer_value(json_object_get(o, "missing")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "extra")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "different_bar")), 1);
	d = json_object_get(o, "differences");
	assert_int_equal(json_array_size(d), 3);
	assert_int_equal(count_kind(d, "missing"), 1);
	json_array_foreach(d, i, d) {
		const char *kind = json_string_value(json_object_get(d, "kind"));

		if (strcmp(kind, "missing") == 0) {
			assert_true(json_is_null(json_object_get(d, "signal_id")));
			assert_string_equal(json_string_value(json_object_get(d, "action")), e.action[1]);
		} else if (strcmp(kind, "extra") == 0) {
			assert_int_equal(json_integer_value(json_object_get(d, "signal_id")), extra);
			assert_true(json_is_null(json_object_get(d, "bar_time")));
		} else {
			assert_string_equal(kind, "different_bar");
			assert_int_equal(json_integer_value(json_object_get(d, "signal_id")), late);
			assert_int_equal(json_integer_value(json_object_get(d, "bars_apart")), 2);
		}
	}
	json_decref(o);

	snprintf(cmd, sizeof(cmd), "'%s' verify --strategy %lld --bars '%s' --table",
	    it_env("AC_TEST_ACCTL"), s.id, file);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 3);
	assert_non_null(strstr(out, "missing "));
	assert_non_null(strstr(out, "different_bar"));
	assert_non_null(strstr(out, "missing 1, extra 1, on a different bar 1"));

	/* put right: the late one moved to its bar, the extra gone, the missing stored */
	PQclear(it_q("UPDATE signals SET received_at = received_at - interval '2 hours'"
	    " WHERE id = $1", it_ll(late), NULL));
	PQclear(it_q("UPDATE signals SET test_user_id = (SELECT max(id) FROM users) WHERE id = $1",
	    it_ll(extra), NULL));
	signal_at(s.id, e.action[1], "100", NULL, NULL, it_ll(BAR0 + (e.bar[1] + 1) * 3600LL + 5),
	    NULL);
	o = it_acctl(&st, "verify", "--strategy", it_ll(s.id), "--bars", file, (char *)NULL);
	assert_int_equal(st, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "matched")), e.n);
	assert_int_equal(json_array_size(json_object_get(o, "differences")), 0);
	json_decref(o);
	unlink(file);
	free(csv);

	csv = bars_csv("1748739600,1,x,1,1");
	file = write_file(csv);
	snprintf(cmd, sizeof(cmd), "'%s' verify --strategy %lld --bars '%s' 2>&1",
	    it_env("AC_TEST_ACCTL"), s.id, file);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 1);
	assert_non_null(strstr(out, "line 3: high is not a number"));
	unlink(file);
	free(csv);
}

/* POST the CSV text (as "bars", file name bars.csv) to the verify form of
 * strategy id as b, with b's token when csrf. */
static void
upload(struct ib *b, struct it_resp *r, long long id, const char *text, size_t len, int csrf)
{
	char path[96], cookie[1024], origin[300];
	const char *h[] = { cookie, origin, NULL };
	struct mp m = { NULL, 0 };

	snprintf(path, sizeof(path), "/admin/strategies/%lld/verify", id);
	ib_cookie(b, cookie, sizeof(cookie));
	snprintf(origin, sizeof(origin), "Origin: %s", it_env("AC_TEST_BASE_URL"));
	if (csrf)
		mp_field(&m, "csrf", b->csrf);
	mp_file(&m, "bars", "bars.csv", "text/csv", text, len);
	mp_str(&m, "--" MP_BOUNDARY "--\r\n");
	it_http_h(r, "POST", path, h, "multipart/form-data; boundary=" MP_BOUNDARY,
	    (const char *)m.p, m.n);
	free(m.p);
}

/* The admin panel: the opt-in form (its CSRF token and alerts.configure
 * required, audited), and the verify upload showing the same report as
 * acctl (its CSRF token and alerts.view required; a bad line named; a
 * file over 1 MiB refused). */
static void
test_admin(void **state)
{
	struct it_strategy s;
	struct engine e;
	struct ib b = { 0 }, v = { 0 }, none = { 0 };
	struct it_resp r;
	char user[64], path[96], *csv = bars_csv(NULL), *big;
	const char *file = write_file(csv);
	long long extra = 0, late = 0;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	engine_signals(s.id, file, &e);
	unlink(file);
	store_faulty(s.id, &e, new_user(), &extra, &late);
	ia_login(&b, "alerts.view,alerts.configure", user);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"record-form\""));
	assert_true(it_has(&r, "id=\"verify-form\""));
	assert_true(it_has(&r, "Private: the track record page"));
	it_resp_free(&r);

	snprintf(path, sizeof(path), "/admin/strategies/%lld/record", s.id);
	ib_post_raw(&b, &r, path, "public_record=1", it_env("AC_TEST_BASE_URL"));
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT public_record::int FROM strategies WHERE id = $1",
	    it_ll(s.id), NULL), 0);
	ib_post(&b, &r, path, "public_record=1");
	ib_expect_redirect(&r, "?done=record_public");
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT public_record::int FROM strategies WHERE id = $1",
	    it_ll(s.id), NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'strategy.record'"
	    " AND target = 'strategy:' || $1 AND details->'public_record'->>'to' = 'true'",
	    it_ll(s.id), NULL), 1);
	snprintf(path, sizeof(path), "/admin/strategies/%lld", s.id);
	ib_get(&b, &r, path);
	assert_true(it_has(&r, "Public: <a href=\"/strategies/"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/strategies/%lld/record", s.id);
	get_status(path, 200);

	/* the report, as acctl gives it */
	upload(&b, &r, s.id, csv, strlen(csv), 1);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"verify-recomputed\">"));
	assert_true(it_has(&r, "id=\"verify-missing\">1<"));
	assert_true(it_has(&r, "id=\"verify-extra\">1<"));
	assert_true(it_has(&r, "id=\"verify-different\">1<"));
	assert_true(it_has(&r, "<tr data-kind=\"missing\">"));
	assert_true(it_has(&r, "<tr data-kind=\"extra\">"));
	assert_true(it_has(&r, "(2 bars)"));
	snprintf(path, sizeof(path), "href=\"/admin/signals/%lld\"", late);
	assert_true(it_has(&r, path));
	it_resp_free(&r);

	/* no token: refused, nothing shown */
	upload(&b, &r, s.id, csv, strlen(csv), 0);
	assert_int_equal(r.status, 403);
	assert_false(it_has(&r, "verify-missing"));
	it_resp_free(&r);
	/* a bad line, named */
	free(csv);
	csv = bars_csv("1748739600,1,x,1,1");
	upload(&b, &r, s.id, csv, strlen(csv), 1);
	assert_int_equal(r.status, 422);
	assert_true(it_has(&r, "line 3: high is not a number"));
	it_resp_free(&r);
	/* over 1 MiB */
	assert_non_null(big = malloc(1100 * 1024));
	memset(big, '1', 1100 * 1024);
	upload(&b, &r, s.id, big, 1100 * 1024, 1);
	assert_int_equal(r.status, 413);
	it_resp_free(&r);
	free(big);

	/* an admin without alerts.view, and no admin at all */
	ia_login(&v, "users.view", user);
	upload(&v, &r, s.id, csv, strlen(csv), 1);
	assert_int_equal(r.status, 403);
	assert_false(it_has(&r, "verify-missing"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/strategies/%lld/record", s.id);
	ib_post(&v, &r, path, "");
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	upload(&none, &r, s.id, csv, strlen(csv), 0);
	assert_int_not_equal(r.status, 200);
	assert_false(it_has(&r, "verify-missing"));
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT public_record::int FROM strategies WHERE id = $1",
	    it_ll(s.id), NULL), 1);
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_page),
		cmocka_unit_test(test_history_latency),
		cmocka_unit_test(test_acctl_verify),
		cmocka_unit_test(test_admin),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests_name("record", tests, NULL, NULL);
	it_done();
	return rc;
}
