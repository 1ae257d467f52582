/*
 * test_hook.c — ac-hook through the real nginx, responders and PostgreSQL:
 * what a TradingView alert gets back, and what the database then holds.
 *
 * Each test makes its own strategy on a unique symbol, so tests do not see
 * each other's rows. Run by t/integration/run (see itest.h).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "itest.h"

#define CT_JSON		"application/json"
#define CT_TEXT		"text/plain; charset=utf-8"
#define MINUTE_MS	60000

/* ---- expectations shared by the tests ------------------------------------ */

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The request id nginx gave r (and sent back as X-Request-Id). */
static const char *
request_id(const struct it_resp *r)
{
	size_t n;
	const char *rid = it_header(r, "X-Request-Id", &n);

	if (rid == NULL || n != 1 || strlen(rid) != 32 || strspn(rid, "0123456789abcdef") != 32)
		fail_msg("X-Request-Id: expected one 32-hex-digit header, got %zu (%s)", n,
		    rid ? rid : "none");
	return rid;
}

/* r is a JSON answer (Content-Type application/json). */
static void
check_json(const char *what, const struct it_resp *r)
{
	const char *ct = it_header(r, "Content-Type", NULL);

	if (ct == NULL || strncmp(ct, CT_JSON, strlen(CT_JSON)) != 0)
		fail_msg("%s: Content-Type %s, want %s", what, ct ? ct : "(none)", CT_JSON);
	if (!json_is_object(r->json))
		fail_msg("%s: the body is not a JSON object: %s", what, r->body);
}

/* r is {"error":{"code":code,"message":...,"field":field or null}} with
 * the status wanted. */
static void
check_error(const char *what, const struct it_resp *r, long status, const char *code,
    const char *field)
{
	json_t *f;
	const char *msg;

	if (r->status != status)
		fail_msg("%s: status %ld, want %ld; body %s", what, r->status, status, r->body);
	check_json(what, r);
	if (it_json_str(r, "error.code") == NULL || strcmp(it_json_str(r, "error.code"), code) != 0)
		fail_msg("%s: error.code %s, want %s; body %s", what,
		    it_json_str(r, "error.code") ? it_json_str(r, "error.code") : "(none)", code, r->body);
	f = it_json_get(r, "error.field");
	if (field == NULL ? !json_is_null(f) :
	    !json_is_string(f) || strcmp(json_string_value(f), field) != 0)
		fail_msg("%s: error.field wrong, want %s; body %s", what, field ? field : "null",
		    r->body);
	msg = it_json_str(r, "error.message");
	if (msg == NULL || *msg == '\0')
		fail_msg("%s: error.message missing; body %s", what, r->body);
}

/* The webhook_rejects row of request rid holds what the answer said, the
 * body that was sent (if not NULL) and no token (if not NULL) in its message. */
static void
check_reject(const char *what, const char *rid, long status, const char *code,
    const char *field, long long strategy_id, int security, const char *body,
    const char *token)
{
	PGresult *res = it_q("SELECT http_status, code, coalesce(field, '-'),"
	    " coalesce(strategy_id, 0), security_event, message, body_bytes, body_excerpt,"
	    " remote_addr FROM webhook_rejects WHERE request_id = $1", rid, (char *)NULL);

	if (PQntuples(res) != 1)
		fail_msg("%s: %d webhook_rejects rows for request %s, want 1", what,
		    PQntuples(res), rid);
	assert_int_equal(strtol(PQgetvalue(res, 0, 0), NULL, 10), status);
	assert_string_equal(PQgetvalue(res, 0, 1), code);
	assert_string_equal(PQgetvalue(res, 0, 2), field ? field : "-");
	assert_int_equal(strtoll(PQgetvalue(res, 0, 3), NULL, 10), strategy_id);
	assert_string_equal(PQgetvalue(res, 0, 4), security ? "t" : "f");
	assert_true(*PQgetvalue(res, 0, 5) != '\0');
	if (token != NULL)
		assert_null(strstr(PQgetvalue(res, 0, 5), token));
	if (body != NULL) {
		assert_int_equal(strtoll(PQgetvalue(res, 0, 6), NULL, 10), strlen(body));
		assert_string_equal(PQgetvalue(res, 0, 7), body);
	}
	assert_string_equal(PQgetvalue(res, 0, 8), "127.0.0.1");
	PQclear(res);
}

static long long
signals_of(const struct it_strategy *s)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", s->id);
	return it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1", id, (char *)NULL);
}

static long long
signals_with_request(const char *rid)
{
	return it_q_ll("SELECT count(*) FROM signals WHERE request_id = $1", rid, (char *)NULL);
}

static long long
fanout_jobs(long long signal_id, const char *state)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", signal_id);
	return it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'fanout'"
	    " AND payload = jsonb_build_object('signal_id', $1::bigint)"
	    " AND ($2 = '' OR state = $2)", id, state, (char *)NULL);
}

/* The id of a 202 {"id":N,"status":"queued"} answer (exactly those keys). */
static long long
queued_id(const char *what, const struct it_resp *r)
{
	json_t *id = it_json_get(r, "id");

	if (r->status != 202)
		fail_msg("%s: status %ld, want 202; body %s", what, r->status, r->body);
	check_json(what, r);
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    it_json_str(r, "status") == NULL || strcmp(it_json_str(r, "status"), "queued") != 0 ||
	    json_object_size(r->json) != 2)
		fail_msg("%s: want {\"id\":N,\"status\":\"queued\"}, got %s", what, r->body);
	return json_integer_value(id);
}

/* ---- 1. a valid alert ---------------------------------------------------- */

static void
valid_alert(const char *content_type)
{
	struct it_strategy s;
	struct it_resp r;
	char p[32], tp[32], sl[32], t[24], id[24];
	double price = it_price(20000);
	int64_t when = it_now_ms() - 1500;
	char *body;
	const char *rid;
	long long sid;
	PGconn *listener;
	PGresult *res;

	it_strategy_new(&s, "1h", (char *)NULL);
	body = it_alert(&s, "BUY", price, price + 100, price - 100, when);
	listener = it_listen("ac_jobs");
	/* past the host's NOTIFY coalescing window (AC_NOTIFY_COALESCE_MS,
	 * 20 ms): this alert is the one that wakes the workers */
	usleep(50 * 1000);
	it_post(&r, s.path, content_type, body);

	sid = queued_id(content_type, &r);
	rid = request_id(&r);
	snprintf(id, sizeof(id), "%lld", sid);
	snprintf(t, sizeof(t), "%" PRId64, when);
	res = it_q("SELECT strategy_id, symbol, timeframe, action,"
	    " price = $2::numeric, take_profit = $3::numeric, stop_loss = $4::numeric,"
	    " round(extract(epoch FROM alert_time) * 1000)::bigint = $5::bigint,"
	    " raw_body, content_type, remote_addr, request_id, spooled, status"
	    " FROM signals WHERE id = $1", id, it_num(price, p, sizeof(p)),
	    it_num(price + 100, tp, sizeof(tp)), it_num(price - 100, sl, sizeof(sl)), t,
	    (char *)NULL);
	assert_int_equal(PQntuples(res), 1);
	assert_int_equal(strtoll(PQgetvalue(res, 0, 0), NULL, 10), s.id);
	assert_string_equal(PQgetvalue(res, 0, 1), s.symbol);
	assert_string_equal(PQgetvalue(res, 0, 2), "1h");
	assert_string_equal(PQgetvalue(res, 0, 3), "BUY");
	assert_string_equal(PQgetvalue(res, 0, 4), "t");
	assert_string_equal(PQgetvalue(res, 0, 5), "t");
	assert_string_equal(PQgetvalue(res, 0, 6), "t");
	assert_string_equal(PQgetvalue(res, 0, 7), "t");
	assert_string_equal(PQgetvalue(res, 0, 8), body);
	assert_string_equal(PQgetvalue(res, 0, 9), content_type);
	assert_string_equal(PQgetvalue(res, 0, 10), "127.0.0.1");
	assert_string_equal(PQgetvalue(res, 0, 11), rid);
	assert_string_equal(PQgetvalue(res, 0, 12), "f");
	assert_string_equal(PQgetvalue(res, 0, 13), "received");
	PQclear(res);
	assert_int_equal(signals_of(&s), 1);
	assert_int_equal(fanout_jobs(sid, "pending"), 1);
	assert_int_equal(fanout_jobs(sid, ""), 1);
	if (!it_notified(listener, "ac_jobs", "fanout", 2000))
		fail_msg("no NOTIFY ac_jobs 'fanout' within 2 s of the 202");
	PQfinish(listener);
	it_resp_free(&r);
	free(body);
}

static void
test_valid_json(void **state)
{
	valid_alert(CT_JSON);
}

static void
test_valid_text_plain(void **state)
{
	valid_alert(CT_TEXT);
}

/* ---- 2. alerts as TradingView templates really produce them -------------- */

static void
test_real_world_payloads(void **state)
{
	static const struct {
		const char	*tf;		/* the strategy's */
		const char	*interval;	/* what {{interval}} gives */
		const char	*ticker;	/* "%s" is the symbol */
		const char	*action;
		const char	*price_key;
		int		 zone_min;	/* offset of the ISO time sent */
		int		 micros;	/* six fraction digits instead of three */
	} cases[] = {
		{ "1h", "60", "BINANCE:", "buy", "close", 120, 1 },
		{ "4h", "240", "binance:", "sell", "price", -300, 0 },
		{ "1d", "D", "BYBIT:", "long", "close", 0, 1 },
		{ "1d", "1D", "", "short", "price", 330, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct it_strategy s;
		struct it_resp r;
		char ticker[64], iso[48], when[64], p[32], tp[32], t[24], id[24], sym[32];
		double price = it_price(42000);
		int64_t ms = it_now_ms() - 2000;
		int buy = cases[i].action[0] == 'b' || cases[i].action[0] == 'l';
		json_t *o;
		char *body;
		PGresult *res;

		it_strategy_new(&s, cases[i].tf, (char *)NULL);
		snprintf(sym, sizeof(sym), "%s", s.symbol);
		if (cases[i].ticker[0] == 'b')		/* a lower-case {{ticker}} */
			for (char *c = sym; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		snprintf(ticker, sizeof(ticker), "%s%s", cases[i].ticker, sym);
		it_iso(ms, cases[i].zone_min, iso, sizeof(iso));
		if (cases[i].micros)	/* "...SS.mmm456+02:00" */
			snprintf(when, sizeof(when), "%.23s456%s", iso, iso + 23);
		else
			snprintf(when, sizeof(when), "%s", iso);
		it_num(price, p, sizeof(p));
		it_num(buy ? price + 250 : price - 250, tp, sizeof(tp));
		/* numbers as quoted strings, as "{{close}}" is usually written */
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "secret", s.token, "ticker", ticker, "interval", cases[i].interval,
		    "strategy", "it_hook", "action", cases[i].action, cases[i].price_key, p,
		    "tp", tp, "timenow", when);
		assert_non_null(o);
		body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		it_post(&r, "/hook/tv", i % 2 ? CT_TEXT : CT_JSON, body);

		snprintf(id, sizeof(id), "%lld", queued_id(body, &r));
		snprintf(t, sizeof(t), "%" PRId64, ms);
		res = it_q("SELECT strategy_id, symbol, timeframe, action, price = $2::numeric,"
		    " take_profit = $3::numeric, stop_loss IS NULL,"
		    " round(extract(epoch FROM alert_time) * 1000)::bigint = $4::bigint, raw_body"
		    " FROM signals WHERE id = $1", id, p, tp, t, (char *)NULL);
		assert_int_equal(PQntuples(res), 1);
		assert_int_equal(strtoll(PQgetvalue(res, 0, 0), NULL, 10), s.id);
		assert_string_equal(PQgetvalue(res, 0, 1), s.symbol);
		assert_string_equal(PQgetvalue(res, 0, 2), cases[i].tf);
		assert_string_equal(PQgetvalue(res, 0, 3), buy ? "BUY" : "SELL");
		for (int c = 4; c <= 7; c++)
			if (strcmp(PQgetvalue(res, 0, c), "t") != 0)
				fail_msg("%s: column %d of the stored signal is wrong", body, c);
		{	/* stored as sent, but with the token sent in the body hidden */
			char *want = strdup(body), *at = strstr(want, s.token);

			assert_non_null(at);
			memmove(at + 10, at + strlen(s.token), strlen(at + strlen(s.token)) + 1);
			memcpy(at, "[redacted]", 10);
			assert_string_equal(PQgetvalue(res, 0, 8), want);
			assert_null(strstr(PQgetvalue(res, 0, 8), s.token));
			free(want);
		}
		PQclear(res);
		assert_int_equal(signals_of(&s), 1);
		it_resp_free(&r);
		free(body);
	}
}

/* ---- 3. repeats are stored once ---------------------------------------------- */

static void
test_duplicate(void **state)
{
	struct it_strategy s;
	struct it_resp r1, r2;
	char *body;
	long long id;

	it_strategy_new(&s, "15m", (char *)NULL);
	body = it_alert(&s, "SELL", it_price(300), 0, 0, it_now_ms());
	it_post(&r1, s.path, CT_JSON, body);
	id = queued_id("first", &r1);
	it_post(&r2, s.path, CT_JSON, body);
	assert_int_equal(r2.status, 200);
	check_json("repeat", &r2);
	assert_true(json_is_integer(it_json_get(&r2, "id")));
	assert_int_equal(json_integer_value(it_json_get(&r2, "id")), id);
	assert_string_equal(it_json_str(&r2, "status"), "duplicate");
	assert_int_equal(signals_of(&s), 1);
	assert_int_equal(fanout_jobs(id, ""), 1);
	it_resp_free(&r1);
	it_resp_free(&r2);
	free(body);
}

#define CONCURRENT 50

/* Of the n answers (freed here) to alerts for s sent at once, one is 202
 * queued, every other 200 duplicate with its id; s has that one signal
 * and its one fanout job. */
static void
one_stored(const struct it_strategy *s, struct it_resp *resps, size_t n)
{
	long long id = 0;
	int accepted = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *v = it_json_get(&resps[i], "id");

		if ((resps[i].status != 200 && resps[i].status != 202) || !json_is_integer(v))
			fail_msg("request %zu: status %ld (curl %d), body %s", i, resps[i].status,
			    resps[i].curl_error, resps[i].body);
		if (id == 0)
			id = json_integer_value(v);
		assert_int_equal(json_integer_value(v), id);
		assert_string_equal(it_json_str(&resps[i], "status"),
		    resps[i].status == 202 ? "queued" : "duplicate");
		accepted += resps[i].status == 202;
		it_resp_free(&resps[i]);
	}
	assert_int_equal(accepted, 1);
	assert_int_equal(signals_of(s), 1);
	assert_int_equal(fanout_jobs(id, ""), 1);
}

static void
test_duplicate_concurrent(void **state)
{
	struct it_strategy s;
	struct it_req reqs[CONCURRENT];
	struct it_resp resps[CONCURRENT];
	char *body;

	it_strategy_new(&s, "5m", (char *)NULL);
	body = it_alert(&s, "BUY", it_price(500), 0, 0, it_now_ms());
	for (size_t i = 0; i < CONCURRENT; i++)
		reqs[i] = (struct it_req){ "POST", s.path, CT_JSON, body, strlen(body) };
	it_http_multi(reqs, resps, CONCURRENT);
	one_stored(&s, resps, CONCURRENT);
	free(body);
}

/* The body of a BUY for s at price: with time_ms as its time, or none
 * when time_ms < 0 (the common alert form). malloc'd. */
static char *
buy_body(const struct it_strategy *s, double price, int64_t time_ms)
{
	char when[48], *text;
	json_t *o = json_pack("{s:s, s:s, s:s, s:f}", "ticker", s->symbol,
	    "interval", s->timeframe, "signal", "buy", "close", price);

	assert_non_null(o);
	if (time_ms >= 0)
		json_object_set_new(o, "timenow", json_string(it_iso(time_ms, 0, when, sizeof(when))));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	assert_non_null(text);
	return text;
}

/* Posts a BUY for s (see buy_body()); its id if the answer is 202 queued
 * (dup: 200 duplicate), else fails. */
static long long
post_buy(const char *what, const struct it_strategy *s, double price, int64_t time_ms, int dup)
{
	struct it_resp r;
	char *body = buy_body(s, price, time_ms);
	long long id;

	it_post(&r, s->path, CT_JSON, body);
	if (!dup) {
		id = queued_id(what, &r);
	} else {
		if (r.status != 200 || it_json_str(&r, "status") == NULL ||
		    strcmp(it_json_str(&r, "status"), "duplicate") != 0 ||
		    !json_is_integer(it_json_get(&r, "id")))
			fail_msg("%s: want 200 {\"id\":N,\"status\":\"duplicate\"}, got %ld %s",
			    what, r.status, r.body);
		id = json_integer_value(it_json_get(&r, "id"));
	}
	it_resp_free(&r);
	free(body);
	return id;
}

/* A re-send, a double fire and a repeat across a minute are one signal;
 * the same content a bar later, or outside the strategy's window, is two. */
static void
test_resend_window(void **state)
{
	struct it_strategy s, m1, narrow;
	int64_t now = it_now_ms(), t = now - 60000;
	int64_t minute = (now - 20000) / MINUTE_MS * MINUTE_MS;
	double p;
	long long id;

	it_strategy_new(&s, "1h", (char *)NULL);
	p = it_price(1000);
	id = post_buy("first", &s, p, t, 0);
	assert_int_equal(post_buy("re-send 5 s later", &s, p, t + 5000, 1), id);
	assert_int_equal(post_buy("the identical body again", &s, p, t, 1), id);
	p = it_price(1000);
	id = post_buy("12:00:58", &s, p, minute - 2000, 0);
	assert_int_equal(post_buy("12:01:03", &s, p, minute + 3000, 1), id);
	/* a double fire whose later {{timenow}} arrives first */
	p = it_price(1000);
	id = post_buy("double fire, later time", &s, p, t + 1000, 0);
	assert_int_equal(post_buy("double fire, earlier time", &s, p, t, 1), id);
	assert_int_equal(signals_of(&s), 3);

	/* a bar apart on 1m (window 30 s by default): two signals */
	it_strategy_new(&m1, "1m", (char *)NULL);
	p = it_price(1000);
	id = post_buy("bar 1", &m1, p, now - 100000, 0);
	assert_true(post_buy("bar 2", &m1, p, now - 40000, 0) != id);
	assert_int_equal(post_buy("bar 2 re-sent", &m1, p, now - 35000, 1),
	    post_buy("bar 2 again", &m1, p, now - 40000, 1));
	assert_int_equal(signals_of(&m1), 2);

	/* the strategy's own window */
	it_strategy_new(&narrow, "1h", "--dedup-window", "5", (char *)NULL);
	p = it_price(1000);
	id = post_buy("narrow: first", &narrow, p, t, 0);
	assert_int_equal(post_buy("narrow: 4.999 s later", &narrow, p, t + 4999, 1), id);
	assert_true(post_buy("narrow: 6 s later", &narrow, p, t + 6000, 0) != id);
	assert_int_equal(signals_of(&narrow), 2);
}

/* The common alert form has no time: accepted by a strategy made with no
 * --required, keyed by its arrival; a re-send within a second is one
 * signal. A time, when sent, is still held to the 5-minute window. */
static void
test_no_time(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char id[24], *body;
	double p = it_price(2000);
	long long first;
	PGresult *res;

	it_strategy_new(&s, "4h", (char *)NULL);
	snprintf(id, sizeof(id), "%lld", s.id);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE id = $1"
	    " AND required_fields = '{symbol,timeframe,action,price}'", id, (char *)NULL), 1);
	first = post_buy("no time", &s, p, -1, 0);
	assert_int_equal(post_buy("no time, re-sent", &s, p, -1, 1), first);
	snprintf(id, sizeof(id), "%lld", first);
	res = it_q("SELECT alert_time IS NULL, abs(extract(epoch FROM now() - received_at)) < 60"
	    " FROM signals WHERE id = $1", id, (char *)NULL);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	assert_string_equal(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	assert_int_equal(signals_of(&s), 1);

	body = buy_body(&s, it_price(2000), it_now_ms() - 6 * MINUTE_MS);
	it_post(&r, s.path, CT_JSON, body);
	check_error("stale time", &r, 422, "stale_alert", "time");
	it_resp_free(&r);
	free(body);
	assert_int_equal(signals_of(&s), 1);
}

/* Appends to the spool, as ac-hook does while the database is away, the
 * alert body for s as if it had arrived at received_ms. */
static void
spool_add(const struct it_strategy *s, const char *body, int64_t received_ms, const char *rid)
{
	char path[1024], *b64 = malloc(4 * ((strlen(body) + 2) / 3) + 1), *line;
	json_t *o;
	FILE *f;

	assert_non_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)body, (int)strlen(body));
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "v", 1, "token", s->token,
	    "content_type", CT_JSON, "remote_addr", "127.0.0.1", "request_id", rid,
	    "received_ms", (json_int_t)received_ms, "len", (json_int_t)strlen(body), "body", b64);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(b64);
	assert_non_null(line);
	snprintf(path, sizeof(path), "%s/spool", it_env("AC_STATE_DIR"));
	(void)mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/spool/hook.spool", it_env("AC_STATE_DIR"));
	if ((f = fopen(path, "a")) == NULL || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0)
		fail_msg("cannot append to %s", path);
	free(line);
}

/* The spool's replay of an alert already stored is a duplicate: the same
 * arrival (an answer the crash took), or a re-send spooled 3 s later; the
 * same alert two hours later is a new signal. */
static void
test_spool_replay_duplicate(void **state)
{
	struct it_strategy s;
	char id[24], *body;
	double p = it_price(4000);
	int64_t at;
	json_t *o;
	int st;

	it_strategy_new(&s, "1h", (char *)NULL);
	body = buy_body(&s, p, -1);	/* what post_buy() sends */
	snprintf(id, sizeof(id), "%lld", post_buy("live", &s, p, -1, 0));
	at = it_q_ll("SELECT round(extract(epoch FROM received_at) * 1000)::bigint"
	    " FROM signals WHERE id = $1", id, (char *)NULL);
	spool_add(&s, body, at, "it-replay-same");
	spool_add(&s, body, at + 3000, "it-replay-resend");
	spool_add(&s, body, at + 2 * 3600 * 1000, "it-replay-later");
	o = it_acctl(&st, "replay-spool", (char *)NULL);
	if (st != 0 || !json_is_object(o))
		fail_msg("acctl replay-spool: exit %d", st);
	/* acctl's counts, unless ac-hook's own replay (after answering a
	 * request, any request, while the spool holds alerts) took some first;
	 * either way the rows below are the outcome */
	if (json_integer_value(json_object_get(o, "duplicate")) > 2 ||
	    json_integer_value(json_object_get(o, "queued")) > 1 ||
	    (json_integer_value(json_object_get(o, "duplicate")) +
	    json_integer_value(json_object_get(o, "queued")) == 3 &&
	    json_integer_value(json_object_get(o, "queued")) != 1))
		fail_msg("acctl replay-spool counted %s", json_dumps(o, JSON_COMPACT));
	json_decref(o);
	assert_int_equal(signals_of(&s), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE request_id = 'it-replay-later'"
	    " AND spooled", (char *)NULL), 1);
	assert_true(it_spool_empty());
	free(body);
}

/* Alerts saying the same thing, all at once, through the group commit:
 * with times spread over 3 s, and without a time. One is stored, every
 * other is answered 200 duplicate with its id. */
static void
test_resend_concurrent(void **state)
{
	for (int timed = 1; timed >= 0; timed--) {
		struct it_strategy s;
		struct it_req reqs[CONCURRENT];
		struct it_resp resps[CONCURRENT];
		char *bodies[CONCURRENT];
		double p = it_price(3000);
		int64_t t = it_now_ms() - 10000;

		it_strategy_new(&s, "5m", (char *)NULL);
		for (int i = 0; i < CONCURRENT; i++) {
			bodies[i] = buy_body(&s, p, timed ? t + i * 3000 / CONCURRENT : -1);
			reqs[i] = (struct it_req){ "POST", s.path, CT_JSON, bodies[i], strlen(bodies[i]) };
		}
		it_http_multi(reqs, resps, CONCURRENT);
		one_stored(&s, resps, CONCURRENT);
		for (int i = 0; i < CONCURRENT; i++)
			free(bodies[i]);
	}
}

/* ac-hook's group commit: many different alerts and repeats at once, in
 * the same transactions. Each gets its own row back (the id of the row
 * holding its own price), each repeat the id of its first. */
#define GROUP_DISTINCT 60

static void
test_group_commit(void **state)
{
	struct it_strategy s;
	struct it_req reqs[2 * GROUP_DISTINCT];
	struct it_resp resps[2 * GROUP_DISTINCT];
	char *bodies[GROUP_DISTINCT], price[GROUP_DISTINCT][32], id[24], sid[24];
	int64_t now = it_now_ms();

	it_strategy_new(&s, "15m", (char *)NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	for (int i = 0; i < GROUP_DISTINCT; i++) {
		double p = it_price(700);

		it_num(p, price[i], sizeof(price[i]));
		bodies[i] = it_alert(&s, "BUY", p, 0, 0, now);
		/* the repeat goes in the other half, so the two race */
		reqs[i] = (struct it_req){ "POST", s.path, CT_JSON, bodies[i], strlen(bodies[i]) };
		reqs[GROUP_DISTINCT + i] = reqs[i];
	}
	it_http_multi(reqs, resps, 2 * GROUP_DISTINCT);
	for (int i = 0; i < GROUP_DISTINCT; i++) {
		const struct it_resp *a = &resps[i], *b = &resps[GROUP_DISTINCT + i];
		json_t *ida = it_json_get(a, "id"), *idb = it_json_get(b, "id");

		if ((a->status != 202 || b->status != 200) && (a->status != 200 || b->status != 202))
			fail_msg("alert %d: statuses %ld and %ld (%s / %s): want one 202 and one 200",
			    i, a->status, b->status, a->body, b->body);
		assert_true(json_is_integer(ida) && json_is_integer(idb));
		assert_int_equal(json_integer_value(ida), json_integer_value(idb));
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(ida));
		if (it_q_ll("SELECT count(*) FROM signals WHERE id = $1 AND strategy_id = $2"
		    " AND price = $3::numeric", id, sid, price[i], (char *)NULL) != 1)
			fail_msg("alert %d (price %s) answered with id %s, which holds another alert",
			    i, price[i], id);
		assert_int_equal(fanout_jobs(json_integer_value(ida), ""), 1);
	}
	assert_int_equal(signals_of(&s), GROUP_DISTINCT);
	for (int i = 0; i < 2 * GROUP_DISTINCT; i++)
		it_resp_free(&resps[i]);
	for (int i = 0; i < GROUP_DISTINCT; i++)
		free(bodies[i]);
}

/* How many times ac-hook has logged line (a fixed string) so far. */
static int
hook_logged(const char *line)
{
	FILE *f = fopen(it_env("AC_TEST_HOOK_LOG"), "r");
	char buf[4096];
	int n = 0;

	if (f == NULL)
		fail_msg("cannot read %s", it_env("AC_TEST_HOOK_LOG"));
	while (fgets(buf, sizeof(buf), f) != NULL)
		n += strstr(buf, line) != NULL;
	fclose(f);
	return n;
}

/* Each committer connected and planned its statements at the start, before
 * any alert (the first alert after a start paid about 45 ms for both). */
static void
test_committer_warmed(void **state)
{
	assert_true(hook_logged("ingest: a committer readied 3 of 3 statements"
	    " (3 planned in full)") >= 1);
	(void)state;
}

/* A row the database refuses in a group commit costs only its own alert:
 * the others of the transaction are stored one by one and answered 202. A
 * CHECK constraint added for the test refuses the alerts of one strategy. */
#define GOOD_N 40
#define BAD_N 8

static void
test_group_commit_refused_row(void **state)
{
	struct it_strategy good, bad;
	struct it_req reqs[GOOD_N + BAD_N];
	struct it_resp resps[GOOD_N + BAD_N];
	char *bodies[GOOD_N + BAD_N], sql[256];
	static const char fallback[] = "storing them one by one";
	int before = hook_logged(fallback), round;
	int64_t now = it_now_ms();

	it_strategy_new(&good, "30m", (char *)NULL);
	it_strategy_new(&bad, "30m", (char *)NULL);
	snprintf(sql, sizeof(sql), "ALTER TABLE signals ADD CONSTRAINT it_refuse CHECK"
	    " (symbol <> '%s') NOT VALID", bad.symbol);
	PQclear(it_q(sql, (char *)NULL));
	/* the refused ones must share a transaction with others at least once */
	for (round = 0; round < 5 && hook_logged(fallback) == before; round++) {
		for (int i = 0; i < GOOD_N + BAD_N; i++) {
			const struct it_strategy *st = i % 6 == 5 && i / 6 < BAD_N ? &bad : &good;

			bodies[i] = it_alert(st, "SELL", it_price(900), 0, 0, now);
			reqs[i] = (struct it_req){ "POST", st->path, CT_JSON, bodies[i],
			    strlen(bodies[i]) };
		}
		it_http_multi(reqs, resps, GOOD_N + BAD_N);
		for (int i = 0; i < GOOD_N + BAD_N; i++) {
			int is_bad = strcmp(reqs[i].path, bad.path) == 0;

			if (resps[i].status != (is_bad ? 500 : 202))
				fail_msg("round %d, %s alert %d: status %ld, body %s", round,
				    is_bad ? "refused" : "good", i, resps[i].status, resps[i].body);
			if (is_bad)
				check_error("refused row", &resps[i], 500, "internal", NULL);
			it_resp_free(&resps[i]);
			free(bodies[i]);
		}
		assert_int_equal(signals_of(&good), (round + 1) * GOOD_N);
		assert_int_equal(signals_of(&bad), 0);
	}
	PQclear(it_q("ALTER TABLE signals DROP CONSTRAINT it_refuse", (char *)NULL));
	if (hook_logged(fallback) == before)
		fail_msg("in %d rounds no refused alert shared a group commit", round);
}

/* ---- 4. bad tokens -------------------------------------------------------------- */

/* A 401 that gives nothing away, logged as a security event, storing nothing. */
static void
check_unauthorized(const char *what, const struct it_resp *r, const char *token)
{
	const char *rid = request_id(r);

	check_error(what, r, 401, "unauthorized", NULL);
	if (strstr(r->body, token) != NULL)
		fail_msg("%s: the answer repeats the token: %s", what, r->body);
	check_reject(what, rid, 401, "unauthorized", NULL, 0, 1, NULL, token);
	assert_int_equal(signals_with_request(rid), 0);
}

static void
test_unknown_token_path(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char token[44], path[96], *body;

	it_strategy_new(&s, "1h", (char *)NULL);
	it_rand_hex(token, 43);
	snprintf(path, sizeof(path), "/hook/tv/%s", token);
	body = it_alert(&s, "BUY", it_price(100), 0, 0, it_now_ms());
	it_post(&r, path, CT_JSON, body);
	check_unauthorized("unknown path token", &r, token);
	assert_int_equal(signals_of(&s), 0);
	it_resp_free(&r);
	free(body);
}

static void
test_unknown_token_body(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char token[44], when[48], *body;
	json_t *o;

	it_strategy_new(&s, "1h", (char *)NULL);
	it_rand_hex(token, 43);
	o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "secret", token, "symbol", s.symbol,
	    "timeframe", "1h", "action", "buy", "price", it_price(100),
	    "time", it_iso(it_now_ms(), 0, when, sizeof(when)));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	it_post(&r, "/hook/tv", CT_JSON, body);
	check_unauthorized("unknown body secret", &r, token);
	assert_int_equal(signals_of(&s), 0);
	it_resp_free(&r);
	free(body);
}

static void
test_missing_token(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char *body;

	it_strategy_new(&s, "1h", (char *)NULL);
	body = it_alert(&s, "BUY", it_price(100), 0, 0, it_now_ms());
	it_post(&r, "/hook/tv", CT_JSON, body);
	check_unauthorized("no token at all", &r, s.token);
	assert_int_equal(signals_of(&s), 0);
	it_resp_free(&r);
	free(body);
}

static void
test_malformed_token(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char *body;

	it_strategy_new(&s, "1h", (char *)NULL);
	body = it_alert(&s, "BUY", it_price(100), 0, 0, it_now_ms());
	/* nginx decodes it to  bad!tok'en<x>;--  */
	it_post(&r, "/hook/tv/bad%21tok%27en%3Cx%3E%3B--", CT_JSON, body);
	check_unauthorized("malformed token", &r, "tok'en");
	assert_int_equal(signals_of(&s), 0);
	it_resp_free(&r);
	free(body);
}

/* ---- 5. malformed alerts: 400 ----------------------------------------------------- */

enum bad_body { BB_EMPTY, BB_NOT_JSON, BB_PH_QUOTED, BB_PH_BARE, BB_NO_ACTION, BB_BAD_NUMBER,
	BB__MAX };

/* The body of case b for s: malloc'd. */
static char *
bad_body(enum bad_body b, const struct it_strategy *s)
{
	char when[48], *text, *out;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "symbol", s->symbol,
	    "timeframe", s->timeframe, "action", "buy",
	    "time", it_iso(it_now_ms(), 0, when, sizeof(when)));

	switch (b) {
	case BB_EMPTY:
		json_decref(o);
		return strdup("");
	case BB_NOT_JSON:
		json_decref(o);
		return strdup("BUY BTCUSDT at 42000 (alert message is not JSON)");
	case BB_PH_QUOTED:
		json_object_set_new(o, "price", json_string("{{close}}"));
		break;
	case BB_NO_ACTION:
		json_object_del(o, "action");
		json_object_set_new(o, "price", json_real(it_price(100)));
		break;
	case BB_BAD_NUMBER:
		json_object_set_new(o, "price", json_string("42,000.5 USDT"));
		break;
	case BB_PH_BARE:
	case BB__MAX:
		break;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	assert_non_null(text);
	if (b != BB_PH_BARE)
		return text;
	/* "price": {{close}} — what a template gives when the quotes were left off */
	out = malloc(strlen(text) + 32);
	assert_non_null(out);
	snprintf(out, strlen(text) + 32, "%.*s,\"price\": {{close}}}", (int)strlen(text) - 1, text);
	free(text);
	return out;
}

static void
test_bad_request(void **state)
{
	static const struct {
		const char	*what;
		const char	*code;
		const char	*field;
	} cases[BB__MAX] = {
		[BB_EMPTY] = { "empty body", "empty_body", NULL },
		[BB_NOT_JSON] = { "not JSON", "malformed_json", NULL },
		[BB_PH_QUOTED] = { "quoted placeholder", "unfilled_placeholder", "price" },
		[BB_PH_BARE] = { "bare placeholder", "unfilled_placeholder", "price" },
		[BB_NO_ACTION] = { "missing action", "missing_field", "action" },
		[BB_BAD_NUMBER] = { "bad number", "invalid_value", "price" },
	};
	struct it_strategy s;

	it_strategy_new(&s, "1h", (char *)NULL);
	for (int b = 0; b < BB__MAX; b++) {
		struct it_resp r;
		char *body = bad_body((enum bad_body)b, &s);
		const char *msg;

		it_post(&r, s.path, b == BB_NOT_JSON ? CT_TEXT : CT_JSON, body);
		check_error(cases[b].what, &r, 400, cases[b].code, cases[b].field);
		msg = it_json_str(&r, "error.message");
		if (cases[b].field != NULL && strstr(msg, cases[b].field) == NULL)
			fail_msg("%s: the message does not name the field %s: %s", cases[b].what,
			    cases[b].field, msg);
		if (b == BB_PH_QUOTED || b == BB_PH_BARE)
			assert_non_null(strstr(msg, "{{close}}"));
		check_reject(cases[b].what, request_id(&r), 400, cases[b].code, cases[b].field,
		    s.id, 0, body, NULL);
		assert_int_equal(signals_with_request(request_id(&r)), 0);
		it_resp_free(&r);
		free(body);
	}
	assert_int_equal(signals_of(&s), 0);
}

/* Two keys for one field that disagree are refused, naming the field and
 * both keys, and store nothing; two that agree are one alert. */
static void
test_conflicting_aliases(void **state)
{
	static const struct {
		const char	*key, *value;	/* a '*' ends in the symbol; "=": the price */
		const char	*also_key, *also_value;	/* a second key to add, or NULL */
		const char	*field;		/* NULL: they agree, 202 */
		const char	*named;		/* the other key the message names */
	} cases[] = {
		{ "ticker", "ETHUSD", NULL, NULL, "symbol", "ticker" },
		{ "ticker", "COINBASE:ETHUSD", NULL, NULL, "symbol", "ticker" },
		{ "interval", "240", NULL, NULL, "timeframe", "interval" },
		{ "close", "1.5", NULL, NULL, "price", "close" },
		{ "signal", "sell", NULL, NULL, "action", "signal" },
		{ "ticker", "BINANCE:*", "exchange", "BYBIT", "exchange", "ticker" },
		{ "token", "not-the-token", NULL, NULL, "secret", "token" },
		{ "ticker", "BINANCE:*", NULL, NULL, NULL, NULL },
		{ "interval", "60", "tf", "1h", NULL, NULL },
		{ "close", "=", "signal", "long", NULL, NULL },
		{ "ticker", "*", "exchange", "binance", NULL, NULL },
	};
	struct it_strategy s;
	long long agreeing = 0;

	it_strategy_new(&s, "1h", (char *)NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct it_resp r;
		char value[64], p[32], what[128], *body, *text;
		double price = it_price(100);
		const char *msg;
		json_t *o;

		text = it_alert(&s, "buy", price, 0, 0, it_now_ms());
		o = json_loads(text, 0, NULL);
		free(text);
		assert_non_null(o);
		if (strcmp(cases[i].value, "=") == 0)
			snprintf(value, sizeof(value), "%s", it_num(price, p, sizeof(p)));
		else
			snprintf(value, sizeof(value), "%.*s%s", (int)strcspn(cases[i].value, "*"),
			    cases[i].value, strchr(cases[i].value, '*') ? s.symbol : "");
		json_object_set_new(o, cases[i].key, json_string(value));
		if (strcmp(cases[i].key, "token") == 0)
			json_object_set_new(o, "secret", json_string(s.token));
		if (cases[i].also_key != NULL)
			json_object_set_new(o, cases[i].also_key, json_string(cases[i].also_value));
		body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		snprintf(what, sizeof(what), "%s %s", cases[i].key, value);
		it_post(&r, s.path, CT_JSON, body);
		if (cases[i].field == NULL) {
			queued_id(what, &r);
			agreeing++;
		} else {
			check_error(what, &r, 400, "conflicting_fields", cases[i].field);
			msg = it_json_str(&r, "error.message");
			if (strstr(msg, cases[i].field) == NULL || strstr(msg, cases[i].named) == NULL)
				fail_msg("%s: the message names neither field %s nor key %s: %s",
				    what, cases[i].field, cases[i].named, msg);
			if (strstr(r.body, s.token) != NULL || strstr(r.body, "not-the-token") != NULL)
				fail_msg("%s: the answer shows a secret: %s", what, r.body);
			assert_int_equal(signals_with_request(request_id(&r)), 0);
		}
		it_resp_free(&r);
		free(body);
	}
	assert_int_equal(signals_of(&s), agreeing);
}

/* ---- 6. alerts that do not fit the strategy: 422 ------------------------------------ */

static void
test_unprocessable(void **state)
{
	struct it_strategy s, entries;
	struct {
		const char	*what;
		const struct it_strategy *s;
		const char	*symbol, *timeframe, *action;
		double		 price, tp, sl;
		int64_t		 skew_ms;
		const char	*code, *field;
	} cases[] = {
		{ "symbol mismatch", &s, "ETHUSDT", NULL, "buy", 100, 0, 0, 0,
		  "symbol_mismatch", "symbol" },
		{ "timeframe mismatch", &s, NULL, "240", "buy", 100, 0, 0, 0,
		  "timeframe_mismatch", "timeframe" },
		{ "action disabled", &entries, NULL, NULL, "tp_hit", 100, 0, 0, 0,
		  "action_disabled", "action" },
		{ "price zero", &s, NULL, NULL, "buy", 0, 0, 0, 0, "invalid_price", "price" },
		{ "price negative", &s, NULL, NULL, "sell", -5, 0, 0, 0, "invalid_price", "price" },
		{ "BUY take profit below", &s, NULL, NULL, "buy", 100, 99.5, 0, 0,
		  "tp_wrong_side", "take_profit" },
		{ "SELL stop loss below", &s, NULL, NULL, "sell", 100, 0, 99.5, 0,
		  "sl_wrong_side", "stop_loss" },
		{ "6 minutes old", &s, NULL, NULL, "buy", 100, 0, 0, -6 * MINUTE_MS,
		  "stale_alert", "time" },
		{ "6 minutes ahead", &s, NULL, NULL, "buy", 100, 0, 0, 6 * MINUTE_MS,
		  "future_alert", "time" },
	};

	it_strategy_new(&s, "1h", (char *)NULL);
	it_strategy_new(&entries, "1h", "--actions", "BUY,SELL", (char *)NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct it_resp r;
		char when[48], *body;
		json_t *o;

		o = json_pack("{s:s, s:s, s:s, s:f, s:s}",
		    "symbol", cases[i].symbol ? cases[i].symbol : cases[i].s->symbol,
		    "timeframe", cases[i].timeframe ? cases[i].timeframe : cases[i].s->timeframe,
		    "action", cases[i].action, "price", cases[i].price,
		    "time", it_iso(it_now_ms() + cases[i].skew_ms, 0, when, sizeof(when)));
		assert_non_null(o);
		if (cases[i].tp > 0)
			json_object_set_new(o, "take_profit", json_real(cases[i].tp));
		if (cases[i].sl > 0)
			json_object_set_new(o, "stop_loss", json_real(cases[i].sl));
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		it_post(&r, cases[i].s->path, CT_JSON, body);
		check_error(cases[i].what, &r, 422, cases[i].code, cases[i].field);
		check_reject(cases[i].what, request_id(&r), 422, cases[i].code, cases[i].field,
		    cases[i].s->id, 0, body, NULL);
		assert_int_equal(signals_with_request(request_id(&r)), 0);
		it_resp_free(&r);
		free(body);
	}
	assert_int_equal(signals_of(&s), 0);
	assert_int_equal(signals_of(&entries), 0);
}

/* ---- 7. methods, paths and sizes nginx and the route table refuse -------------------- */

static void
test_method_not_allowed(void **state)
{
	static const char *const methods[] = { "GET", "PUT" };
	struct it_strategy s;

	it_strategy_new(&s, "1h", (char *)NULL);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct it_resp r;
		const char *allow;
		size_t n;

		it_http(&r, methods[i], s.path, i ? CT_JSON : NULL, i ? "{}" : NULL, i ? 2 : 0);
		check_error(methods[i], &r, 405, "method_not_allowed", NULL);
		allow = it_header(&r, "Allow", &n);
		if (allow == NULL || n != 1 || strcmp(allow, "POST") != 0)
			fail_msg("%s: Allow header %s, want POST", methods[i], allow ? allow : "(none)");
		it_resp_free(&r);
	}
	assert_int_equal(signals_of(&s), 0);
}

static void
test_not_found(void **state)
{
	struct it_resp r;

	it_http(&r, "GET", "/hook/nothing-here", NULL, NULL, 0);
	check_error("GET /hook/nothing-here", &r, 404, "not_found", NULL);
	it_resp_free(&r);
	it_post(&r, "/hook/tvx/abc", CT_JSON, "{}");
	check_error("POST /hook/tvx/abc", &r, 404, "not_found", NULL);
	it_resp_free(&r);
}

static void
test_too_large(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	size_t len = 64 * 1024 + 512;
	char *body = malloc(len + 1);

	assert_non_null(body);
	it_strategy_new(&s, "1h", (char *)NULL);
	/* a JSON alert with a long padding string */
	memset(body, 'x', len);
	memcpy(body, "{\"action\":\"buy\",\"price\":1,\"note\":\"",
	    strlen("{\"action\":\"buy\",\"price\":1,\"note\":\""));
	memcpy(body + len - 2, "\"}", 2);
	body[len] = '\0';
	it_http(&r, "POST", s.path, CT_JSON, body, len);
	check_error("65 KiB body", &r, 413, "payload_too_large", NULL);
	assert_int_equal(signals_of(&s), 0);
	it_resp_free(&r);
	free(body);
}

/* ---- 8. health ------------------------------------------------------------------------ */

static void
test_health(void **state)
{
	struct it_resp r;

	it_http(&r, "GET", "/health/live", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	check_json("live", &r);
	assert_string_equal(it_json_str(&r, "status"), "live");
	it_resp_free(&r);

	it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
	if (r.status != 200)
		fail_msg("ready: status %ld, body %s", r.status, r.body);
	check_json("ready", &r);
	assert_string_equal(it_json_str(&r, "status"), "ready");
	assert_non_null(it_json_str(&r, "checks.database"));
	assert_string_equal(it_json_str(&r, "checks.database"), "ok");
	assert_non_null(it_json_str(&r, "checks.migrations"));
	assert_string_equal(it_json_str(&r, "checks.migrations"), "current");
	it_resp_free(&r);
}

/* ---- 9. headers --------------------------------------------------------------------------- */

static void
test_security_headers(void **state)
{
	struct it_strategy s;
	struct it_resp ok, refused;
	char *body;
	size_t n;
	const char *v;

	it_strategy_new(&s, "1h", (char *)NULL);
	body = it_alert(&s, "BUY", it_price(100), 0, 0, it_now_ms());
	it_post(&ok, s.path, CT_JSON, body);
	queued_id("valid alert", &ok);
	it_post(&refused, "/hook/tv/unknown-token", CT_JSON, body);
	assert_int_equal(refused.status, 401);
	for (int i = 0; i < 2; i++) {
		const struct it_resp *r = i ? &refused : &ok;

		v = it_header(r, "X-Content-Type-Options", &n);
		if (v == NULL || n != 1 || strcmp(v, "nosniff") != 0)
			fail_msg("answer %ld: %zu X-Content-Type-Options headers (%s), want one nosniff",
			    r->status, n, v ? v : "none");
		request_id(r);
		v = it_header(r, "Cache-Control", NULL);
		assert_non_null(v);
		assert_non_null(strstr(v, "no-store"));
	}
	assert_string_not_equal(request_id(&ok), request_id(&refused));
	it_resp_free(&ok);
	it_resp_free(&refused);
	free(body);
}

/* ---- 10. the spool keeps alerts while PostgreSQL is down ------------------------------------- */

#define WRITERS		4	/* alerts in flight at once */
#define WRITE_GAP_MS	10	/* between two alerts: 100 a second, far above TradingView's */
#define OUTAGE_MS	2000

struct sent {
	double		 price;
	long		 status;		/* 0: no answer */
	char		 state[16];		/* "queued", "spooled", ... */
	long long	 id;			/* 0 if not a number */
	int		 id_null;		/* "id": null */
	char		 rid[40];		/* X-Request-Id */
};

struct writer {
	const struct it_strategy *s;
	struct it_multi	*m;
	struct sent	*sent;
	size_t		 n, cap;
	int		 inflight;
	int64_t		 next_ms;	/* when the next alert may go */
};

static void
writer_done(void *tag, const struct it_resp *r, void *arg)
{
	struct writer *w = arg;
	struct sent *x = &w->sent[(size_t)(uintptr_t)tag];
	json_t *id = it_json_get(r, "id");

	w->inflight--;
	x->status = r->status;
	snprintf(x->state, sizeof(x->state), "%s",
	    it_json_str(r, "status") ? it_json_str(r, "status") : "");
	x->id = json_is_integer(id) ? json_integer_value(id) : 0;
	x->id_null = json_is_null(id);
	snprintf(x->rid, sizeof(x->rid), "%s",
	    it_header(r, "X-Request-Id", NULL) ? it_header(r, "X-Request-Id", NULL) : "");
}

/* Keeps WRITERS distinct alerts in flight until `until` (ms) or, when pid
 * is not 0, until that command ends (then returns its exit status). */
static int
writer_run(struct writer *w, int64_t until, pid_t pid)
{
	int64_t deadline = it_now_ms() + 30000;
	int status = 0;

	for (;;) {
		while (w->inflight < WRITERS && it_now_ms() >= w->next_ms) {
			struct it_req req = { "POST", w->s->path, CT_JSON, NULL, 0 };
			char *body;

			if (w->n == w->cap) {
				w->cap = w->cap ? 2 * w->cap : 256;
				w->sent = realloc(w->sent, w->cap * sizeof(*w->sent));
				assert_non_null(w->sent);
			}
			memset(&w->sent[w->n], 0, sizeof(w->sent[w->n]));
			w->sent[w->n].price = it_price(30000);
			body = it_alert(w->s, "BUY", w->sent[w->n].price, 0, 0, it_now_ms());
			req.body = body;
			req.len = strlen(body);
			it_multi_add(w->m, &req, (void *)(uintptr_t)w->n);
			w->n++;
			w->inflight++;
			w->next_ms = it_now_ms() + WRITE_GAP_MS;
			free(body);
		}
		it_multi_step(w->m, 5);
		if (pid != 0 ? it_sh_poll(pid, &status) : it_now_ms() >= until)
			return status;
		if (it_now_ms() > deadline)
			fail_msg("the PostgreSQL command did not end within 30 s");
	}
}

/* Waits up to 10 s for readiness to see the database again (directly, a
 * reconnect; through PgBouncer, its next server login, up to
 * server_login_retry later). */
static void
ready_wait(void)
{
	struct it_resp r;

	for (int64_t end = it_now_ms() + 10000;; nap_ms(50)) {
		it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
		if (r.status == 200 && it_json_str(&r, "checks.database") != NULL &&
		    strcmp(it_json_str(&r, "checks.database"), "ok") == 0) {
			it_resp_free(&r);
			return;
		}
		it_resp_free(&r);
		if (it_now_ms() > end)
			fail_msg("the database is not ready 10 s after it came back");
	}
}

static int
pg_start_again(void **state)
{
	int st = it_sh("AC_TEST_PG_START");

	if (st != 0)
		fprintf(stderr, "test_hook: AC_TEST_PG_START exited %d\n", st);
	return st == 0 ? 0 : -1;
}

static void
test_spool(void **state)
{
	struct it_strategy s;
	struct writer w = { .s = &s };
	struct it_resp r;
	size_t spooled = 0, queued = 0, refused = 0, lost_answers = 0;
	int st;
	int64_t deadline, down_at;
	char id[24], *body;
	json_t *o;
	PGresult *res;

	it_strategy_new(&s, "1h", (char *)NULL);
	w.m = it_multi_new(writer_done, &w);

	writer_run(&w, it_now_ms() + 300, 0);
	st = writer_run(&w, 0, it_sh_start("AC_TEST_PG_STOP"));
	assert_int_equal(st, 0);
	down_at = it_now_ms();
	writer_run(&w, it_now_ms() + OUTAGE_MS, 0);
	/* what a load balancer sees meanwhile */
	it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
	if (r.status != 503 || it_json_str(&r, "checks.database") == NULL ||
	    strcmp(it_json_str(&r, "checks.database"), "down") != 0 ||
	    it_json_str(&r, "checks.spool") == NULL ||
	    strcmp(it_json_str(&r, "checks.spool"), "pending") != 0)
		fail_msg("ready during the outage: %ld %s, want 503 with database down and"
		    " spool pending", r.status, r.body);
	it_resp_free(&r);
	st = writer_run(&w, 0, it_sh_start("AC_TEST_PG_START"));
	assert_int_equal(st, 0);
	writer_run(&w, it_now_ms() + 500, 0);
	while (it_multi_step(w.m, 100) > 0)
		continue;
	it_multi_free(w.m);

	/* the database is back: this request's process replays the spool
	 * after answering, and so does acctl */
	ready_wait();
	body = it_alert(&s, "SELL", it_price(30000), 0, 0, it_now_ms());
	it_post(&r, s.path, CT_JSON, body);
	queued_id("after the outage", &r);
	it_resp_free(&r);
	free(body);
	o = it_acctl(&st, "replay-spool", (char *)NULL);
	if (st != 0 || !json_is_object(o))
		fail_msg("acctl replay-spool: exit %d", st);
	json_decref(o);
	for (deadline = it_now_ms() + 10000; !it_spool_empty(); nap_ms(50))
		if (it_now_ms() > deadline)
			fail_msg("the spool in %s/spool is not empty 10 s after the database"
			    " came back", it_env("AC_STATE_DIR"));

	snprintf(id, sizeof(id), "%lld", s.id);
	res = it_q("SELECT price::text, count(*), bool_and(spooled), min(id), min(request_id),"
	    " (extract(epoch FROM min(stored_at)) * 1000)::bigint"
	    " FROM signals WHERE strategy_id = $1 GROUP BY price", id, (char *)NULL);
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 1), "1") != 0)
			fail_msg("price %s is stored %s times", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1));
	for (size_t k = 0; k < w.n; k++) {
		struct sent *x = &w.sent[k];
		char p[32];
		int row = -1;

		it_num(x->price, p, sizeof(p));
		for (int i = 0; i < PQntuples(res) && row < 0; i++)
			if (strcmp(PQgetvalue(res, i, 0), p) == 0)
				row = i;
		if (x->status < 200 || x->status > 299) {
			refused++;	/* may be missing: the client retries */
			continue;
		}
		if (row < 0)
			fail_msg("alert %zu (price %s) was answered %ld %s but is not stored", k, p,
			    x->status, x->state);
		if (strcmp(PQgetvalue(res, row, 4), x->rid) != 0)
			fail_msg("alert %zu (price %s) answered with request id %s is stored with"
			    " request id %s", k, p, x->rid, PQgetvalue(res, row, 4));
		if (strcmp(x->state, "spooled") == 0) {
			spooled++;
			if (x->status != 202 || !x->id_null)
				fail_msg("alert %zu: a spooled answer is 202 {\"id\":null,"
				    "\"status\":\"spooled\"}, got %ld with id %lld", k, x->status, x->id);
			/* stored by the replay; or committed before the crash,
			 * whose answer the crash took (the replay then found it
			 * stored: still once) */
			if (strcmp(PQgetvalue(res, row, 2), "t") != 0) {
				if (strtoll(PQgetvalue(res, row, 5), NULL, 10) > down_at)
					fail_msg("alert %zu (price %s) was spooled but stored"
					    " with spooled = false after the outage began", k, p);
				lost_answers++;
			}
		} else {
			assert_string_equal(x->state, "queued");
			assert_int_equal(strtoll(PQgetvalue(res, row, 3), NULL, 10), x->id);
			queued++;
		}
	}
	PQclear(res);
	fprintf(stderr, "test_spool: %zu alerts: %zu queued, %zu spooled (%zu of them committed"
	    " before the crash took their answer), %zu not 2xx\n", w.n, queued, spooled,
	    lost_answers, refused);
	if (spooled == 0)
		fail_msg("no alert was answered \"spooled\" during the %d ms outage", OUTAGE_MS);
	assert_true(queued > 0);
	/* every stored alert has its fanout job */
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals s WHERE strategy_id = $1"
	    " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'fanout'"
	    " AND j.payload = jsonb_build_object('signal_id', s.id))", id, (char *)NULL), 0);

	it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(it_json_str(&r, "checks.spool"));
	assert_string_equal(it_json_str(&r, "checks.spool"), "empty");
	it_resp_free(&r);
	free(w.sent);
}

/* ---- 10. no secret kept in clear ------------------------------------------------------ */

/* Where needle is kept in clear, one place a line ("" if nowhere) into out:
 * "database" when any table holds it (pg_dump of the data, but for the
 * strategies table, which keeps the tokens operators are shown; not asked
 * when db is 0), then each file of the stack's logs (ac-hook, nginx,
 * PostgreSQL) and of the state folder (the spool) that holds it. */
static const char *
kept_in_clear(const char *needle, int db, char *out, size_t outsz)
{
	char cmd[4096], logdir[1024];
	FILE *p;
	size_t n;

	snprintf(logdir, sizeof(logdir), "%s", it_env("AC_TEST_HOOK_LOG"));
	*strrchr(logdir, '/') = '\0';
	nap_ms(1500);	/* nginx flushes its access log every second */
	snprintf(cmd, sizeof(cmd), "{ %s%s/pg_dump --data-only --exclude-table-data=strategies"
	    " -d '%s' | grep -qF -- '%s' && echo database; grep -rlF -- '%s' '%s' '%s'; } 2>&1",
	    db ? "" : "false && ",
	    getenv("AC_PG_BIN") ? getenv("AC_PG_BIN") : "/usr/lib/postgresql/15/bin",
	    it_env("AC_DATABASE_URL"), needle, needle, logdir, it_env("AC_STATE_DIR"));
	fflush(NULL);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

static void
check_not_kept(const char *what, const char *needle, int db)
{
	char where[2048];

	if (*kept_in_clear(needle, db, where, sizeof(where)) != '\0')
		fail_msg("%s: the token is kept in clear in:\n%s", what, where);
}

/* A JSON body: the strategy's fields, then the NULL-terminated key/value
 * pairs (strings) over them; malloc'd. */
static char *
body_with(const struct it_strategy *s, ...)
{
	char when[48], *text;
	const char *k, *v;
	json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:s}", "symbol", s->symbol,
	    "timeframe", s->timeframe, "action", "buy", "price", it_price(100),
	    "time", it_iso(it_now_ms(), 0, when, sizeof(when)));
	va_list ap;

	va_start(ap, s);
	while ((k = va_arg(ap, const char *)) != NULL && (v = va_arg(ap, const char *)) != NULL)
		json_object_set_new(o, k, json_string(v));
	va_end(ap);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	assert_non_null(text);
	return text;
}

/* Every way an alert can be refused, with a token in its body (and in its
 * path): the answer is what it always was, and neither token is kept in
 * clear anywhere. The refusal is recorded, its excerpt redacted. */
static void
test_secrets_not_kept(void **state)
{
	struct it_strategy s, other;
	struct it_resp r;
	char unknown[44], path_unknown[44], path[96], *body, *big;
	const char *rid;
	size_t len = 64 * 1024 + 512;
	static const struct {
		const char	*what;
		int		 in_path;	/* the strategy's token in the path too */
		long		 status;
		const char	*code;
	} cases[] = {
		{ "a symbol of another strategy", 0, 422, "symbol_mismatch" },
		{ "an unfilled placeholder", 0, 400, "unfilled_placeholder" },
		{ "an unfilled placeholder, token in the path", 1, 400, "unfilled_placeholder" },
		{ "malformed JSON", 0, 400, "malformed_json" },
		{ "a bad price", 1, 400, "invalid_value" },
		{ "text/plain key=value", 1, 400, "malformed_json" },
	};

	it_strategy_new(&s, "1h", (char *)NULL);
	it_strategy_new(&other, "1h", (char *)NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *ct = CT_JSON;

		switch (i) {
		case 0:
			body = body_with(&s, "symbol", other.symbol, "secret", s.token, (char *)NULL);
			break;
		case 1:
		case 2:
			body = body_with(&s, "price", "{{close}}", "Token", s.token, (char *)NULL);
			break;
		case 3:
			if (asprintf(&body, "{\"passphrase\": \"%s\", \"action\": buy}", s.token) == -1)
				abort();
			break;
		case 4:
			body = body_with(&s, "price", "42,000 USDT", "note", s.token, (char *)NULL);
			break;
		default:
			if (asprintf(&body, "BUY %s secret=%s price=1", s.symbol, s.token) == -1)
				abort();
			ct = CT_TEXT;
			break;
		}
		it_post(&r, cases[i].in_path ? s.path : "/hook/tv", ct, body);
		rid = request_id(&r);
		if (r.status != cases[i].status)
			fail_msg("%s: %ld, want %ld: %s", cases[i].what, r.status, cases[i].status,
			    r.body);
		assert_string_equal(it_json_str(&r, "error.code"), cases[i].code);
		if (it_q_ll("SELECT count(*) FROM webhook_rejects WHERE request_id = $1"
		    " AND strpos(body_excerpt, '[redacted]') > 0", rid, (char *)NULL) != 1)
			fail_msg("%s: no redacted excerpt recorded for request %s", cases[i].what, rid);
		it_resp_free(&r);
		free(body);
	}

	/* unknown tokens: a typo of a real one, or another strategy's */
	it_rand_hex(unknown, 43);
	it_rand_hex(path_unknown, 43);
	snprintf(path, sizeof(path), "/hook/tv/%s", path_unknown);
	body = body_with(&s, "secret", unknown, "note", path_unknown, (char *)NULL);
	it_post(&r, path, CT_JSON, body);
	check_error("unknown tokens", &r, 401, "unauthorized", NULL);
	rid = request_id(&r);
	if (it_q_ll("SELECT count(*) FROM webhook_rejects WHERE request_id = $1"
	    " AND security_event AND message LIKE '%token sha256 ________...%'", rid,
	    (char *)NULL) != 1)
		fail_msg("unknown token: no fingerprinted security event for request %s", rid);
	it_resp_free(&r);
	free(body);

	/* too large for nginx, the token in the path */
	assert_non_null(big = malloc(len + 1));
	memset(big, 'x', len);
	memcpy(big, "{\"note\":\"", 9);
	memcpy(big + len - 2, "\"}", 2);
	big[len] = '\0';
	it_http(&r, "POST", s.path, CT_JSON, big, len);
	check_error("65 KiB body", &r, 413, "payload_too_large", NULL);
	it_resp_free(&r);
	free(big);

	check_not_kept("refused alerts", s.token, 1);
	check_not_kept("an unknown body token", unknown, 1);
	check_not_kept("an unknown path token", path_unknown, 1);
	assert_int_equal(signals_of(&s), 0);
}

/* While the database is away the spool keeps the alerts, token and secret
 * hidden (the token as its hash); replayed, they are stored once, still
 * without either in clear. */
static void
test_secrets_not_spooled(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char *body[2], stored[2][24];
	json_t *o;
	int st;
	int64_t deadline;

	it_strategy_new(&s, "1h", (char *)NULL);
	body[0] = body_with(&s, "note", s.token, (char *)NULL);
	body[1] = body_with(&s, "secret", s.token, (char *)NULL);
	assert_int_equal(it_sh("AC_TEST_PG_STOP"), 0);
	for (int i = 0; i < 2; i++) {
		it_post(&r, i == 0 ? s.path : "/hook/tv", CT_JSON, body[i]);
		if (r.status != 202 || it_json_str(&r, "status") == NULL ||
		    strcmp(it_json_str(&r, "status"), "spooled") != 0)
			fail_msg("alert %d while the database is away: %ld %s", i, r.status, r.body);
		it_resp_free(&r);
	}
	check_not_kept("the spool", s.token, 0);
	assert_int_equal(it_sh("AC_TEST_PG_START"), 0);
	for (deadline = it_now_ms() + 20000; ; nap_ms(200)) {
		o = it_acctl(&st, "replay-spool", (char *)NULL);
		json_decref(o);
		if (st == 0 && it_spool_empty())
			break;
		if (it_now_ms() > deadline)
			fail_msg("the spool did not drain within 20 s of the database's return");
	}
	assert_int_equal(signals_of(&s), 2);
	snprintf(stored[0], sizeof(stored[0]), "%lld", s.id);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1::bigint"
	    " AND spooled AND strpos(raw_body, '[redacted]') > 0", stored[0], (char *)NULL), 2);
	check_not_kept("replayed alerts", s.token, 1);
	free(body[0]);
	free(body[1]);
}

/* ---- 11. Redis killed under load: nothing lost, nothing refused ------------------------------ */

static int
redis_start_again(void **state)
{
	(void)state;
	return it_sh("AC_TEST_REDIS_START") == 0 ? 0 : -1;
}

/* Redis holds only what may be lost (rate counts, breakers): killed while
 * alerts pour in, every alert is still answered 202 and stored once, and
 * readiness reports Redis down without taking the site out of a load
 * balancer; started again, it is seen again. */
static void
test_redis_killed(void **state)
{
	struct it_strategy s;
	struct writer w = { .s = &s };
	struct it_resp r;
	char id[24], p[32];
	PGresult *res;

	(void)state;
	ready_wait();
	it_strategy_new(&s, "1h", (char *)NULL);
	w.m = it_multi_new(writer_done, &w);
	writer_run(&w, it_now_ms() + 300, 0);
	assert_int_equal(writer_run(&w, 0, it_sh_start("AC_TEST_REDIS_STOP")), 0);
	writer_run(&w, it_now_ms() + 1000, 0);
	it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "checks.redis"), "down");
	it_resp_free(&r);
	assert_int_equal(writer_run(&w, 0, it_sh_start("AC_TEST_REDIS_START")), 0);
	writer_run(&w, it_now_ms() + 300, 0);
	while (it_multi_step(w.m, 100) > 0)
		continue;
	it_multi_free(w.m);
	it_http(&r, "GET", "/health/ready", NULL, NULL, 0);
	assert_string_equal(it_json_str(&r, "checks.redis"), "ok");
	it_resp_free(&r);

	snprintf(id, sizeof(id), "%lld", s.id);
	res = it_q("SELECT price::text, count(*) FROM signals WHERE strategy_id = $1"
	    " GROUP BY price", id, (char *)NULL);
	assert_int_equal((size_t)PQntuples(res), w.n);
	for (size_t k = 0; k < w.n; k++) {
		int found = 0;

		if (w.sent[k].status != 202 || strcmp(w.sent[k].state, "queued") != 0)
			fail_msg("alert %zu answered %ld %s with Redis away", k, w.sent[k].status,
			    w.sent[k].state);
		it_num(w.sent[k].price, p, sizeof(p));
		for (int i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), p) == 0)
				found = strcmp(PQgetvalue(res, i, 1), "1") == 0 ? 1 : -1;
		if (found != 1)
			fail_msg("alert %zu (price %s) is stored %s", k, p, found ? "twice" : "nowhere");
	}
	PQclear(res);
	fprintf(stderr, "test_redis_killed: %zu alerts, all 202 and stored once\n", w.n);
	free(w.sent);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_committer_warmed),
		cmocka_unit_test(test_valid_json),
		cmocka_unit_test(test_valid_text_plain),
		cmocka_unit_test(test_real_world_payloads),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_duplicate_concurrent),
		cmocka_unit_test(test_resend_window),
		cmocka_unit_test(test_no_time),
		cmocka_unit_test(test_resend_concurrent),
		cmocka_unit_test(test_spool_replay_duplicate),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_group_commit_refused_row),
		cmocka_unit_test(test_unknown_token_path),
		cmocka_unit_test(test_unknown_token_body),
		cmocka_unit_test(test_missing_token),
		cmocka_unit_test(test_malformed_token),
		cmocka_unit_test(test_bad_request),
		cmocka_unit_test(test_conflicting_aliases),
		cmocka_unit_test(test_unprocessable),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_security_headers),
		/* last: it restarts PostgreSQL */
		cmocka_unit_test(test_secrets_not_kept),
		cmocka_unit_test_teardown(test_secrets_not_spooled, pg_start_again),
		cmocka_unit_test_teardown(test_spool, pg_start_again),
		cmocka_unit_test_teardown(test_redis_killed, redis_start_again),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	/* patterns of test names ('*' and '?'), for a quick rerun */
	if (getenv("IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("IT_ONLY"));
	if (getenv("IT_SKIP") != NULL)
		cmocka_set_skip_filter(getenv("IT_SKIP"));
	rc = cmocka_run_group_tests_name("ac-hook", tests, NULL, NULL);
	it_done();
	return rc;
}
