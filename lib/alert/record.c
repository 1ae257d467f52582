/* record.c — see record.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/backtest.h"
#include "alert/record.h"
#include "alert/track.h"
#include "alert/tv.h"
#include "alert/verify.h"

const char ac_record_rule[] =
    "Every signal the strategy sent subscribers (an operator's test signals excepted) is"
    " followed by one virtual account, in the order they arrived, with the strategy's trade"
    " settings and no plan limit: the same rules that move each subscriber's virtual trades."
    " A trade enters at the signal's price and leaves at the price of the signal that closes"
    " it; its result is in percent of its entry. The equity curve adds the results up (one"
    " stake a trade, not compounded) and the maximum drawdown is its largest fall from a"
    " peak, in percentage points. Latency, over the newest signals, runs from TradingView's request reaching us to a"
    " provider accepting the notification.";

/* A timestamp's Unix seconds in SQL. */
#define EPOCH(x)	"extract(epoch FROM " x ")::bigint"

/* A strategy's bar length in seconds ("15m" → 900). */
#define BAR_SECONDS \
	EPOCH("(substring(timeframe FROM '^[0-9]+') || CASE right(timeframe, 1)" \
	" WHEN 'm' THEN ' minutes' WHEN 'h' THEN ' hours' WHEN 'd' THEN ' days'" \
	" ELSE ' weeks' END)::interval")

/* The signals that count: not an operator's test. */
#define COUNTED	" s.strategy_id = $1 AND s.test_user_id IS NULL"

/* UTC ISO 8601 of Unix seconds t, in out. */
static const char *
iso(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", t);
	return out;
}

/* ---- verify ------------------------------------------------------------------------ */

static const struct ac_stmt st_verify_strategy = { "verify_strategy",
	"SELECT key_value::float8, atr_period, ema_period, heikin_ashi::int, " BAR_SECONDS ","
	" name, symbol, timeframe FROM strategies WHERE id = $1", 1 };

/* The stored BUY/SELL signals that arrived from the first bar's close to
 * the close of the bar after the last ($2, $3: Unix seconds). */
static const struct ac_stmt st_verify_signals = { "verify_signals",
	"SELECT s.id, " EPOCH("s.received_at") ", coalesce(" EPOCH("s.alert_time") ", 0),"
	" s.action FROM signals s WHERE" COUNTED " AND s.action IN ('BUY', 'SELL')"
	" AND s.received_at >= to_timestamp($2) AND s.received_at < to_timestamp($3)"
	" ORDER BY s.received_at, s.id", 3 };

/* The strategy's engine and bar length from st_verify_strategy's row. */
static int
verify_engine(PGresult *res, struct ac_utbot *u, long long *tf, struct ac_err *e)
{
	struct ac_utbot_params p = { strtod(PQgetvalue(res, 0, 0), NULL),
	    atoi(PQgetvalue(res, 0, 1)), atoi(PQgetvalue(res, 0, 2)),
	    atoi(PQgetvalue(res, 0, 3)) };
	const char *errstr = NULL;

	*tf = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	if (ac_utbot_init(u, &p, &errstr) == -1)
		return ac_err_set(e, AC_E_UNPROCESSABLE, "strategy", "the strategy's %s is out"
		    " of range", errstr);
	return 0;
}

/* The stored signals beside the bars: *got (the caller frees it), in bar order. */
static int
by_bar(const void *a, const void *b)
{
	const struct ac_vsignal *x = a, *y = b;

	if (x->bar != y->bar)
		return x->bar < y->bar ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
verify_stored(struct ac_db *db, long long id, const struct ac_bar *bars, size_t n, long long tf,
    struct ac_vsignal **got, size_t *ngot, struct ac_err *e)
{
	char a[24], b[24], c[24];
	const char *vals[3] = { a, b, c };
	PGresult *res;
	int rows;

	snprintf(a, sizeof(a), "%lld", id);
	snprintf(b, sizeof(b), "%lld", bars[0].time + tf);
	snprintf(c, sizeof(c), "%lld", bars[n - 1].time + 2 * tf);
	res = ac_db_exec(db, &st_verify_signals, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	rows = PQntuples(res);
	if ((*got = calloc(rows ? rows : 1, sizeof(**got))) == NULL) {
		PQclear(res);
		return ac_err_set(e, AC_E_INTERNAL, NULL, "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		long long arrived = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		(*got)[i] = (struct ac_vsignal){ ac_verify_bar(bars, n, tf,
		    strtoll(PQgetvalue(res, i, 2), NULL, 10), arrived),
		    strcmp(PQgetvalue(res, i, 3), "BUY") == 0 ? AC_UTBOT_BUY : AC_UTBOT_SELL,
		    strtoll(PQgetvalue(res, i, 0), NULL, 10), arrived, 0 };
	}
	PQclear(res);
	qsort(*got, rows, sizeof(**got), by_bar);
	*ngot = rows;
	return 0;
}

/* The report's differences. */
static json_t *
verify_diffs(const struct ac_verify_diff *d, size_t n, const struct ac_bar *bars)
{
	json_t *a = json_array();
	char t0[32], t1[32], t2[32];

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}",
		    "kind", ac_verify_kind_name(d[i].kind),
		    "action", d[i].action == AC_UTBOT_BUY ? "BUY" : "SELL",
		    "bar_time", d[i].want_bar >= 0 ? iso(bars[d[i].want_bar].time, t0) : NULL,
		    "stored_bar_time", d[i].got_bar >= 0 ? iso(bars[d[i].got_bar].time, t1) : NULL,
		    "received_at", d[i].id ? iso(d[i].at, t2) : NULL);

		json_object_set_new(o, "signal_id", d[i].id ? json_integer(d[i].id) : json_null());
		if (d[i].kind == AC_VERIFY_MOVED)
			json_object_set_new(o, "bars_apart", json_integer(d[i].got_bar - d[i].want_bar));
		json_array_append_new(a, o);
	}
	return a;
}

/* The comparison of the n bars with what was stored; the report. */
static json_t *
verify_run(struct ac_db *db, long long id, PGresult *st, const struct ac_bar *bars, size_t n,
    struct ac_err *e)
{
	struct ac_utbot u;
	struct ac_vsignal *want = NULL, *got = NULL;
	struct ac_verify_diff *diffs = NULL;
	struct ac_verify_sum sum;
	size_t nwant, ngot = 0, nd;
	long long tf;
	char t0[32], t1[32];
	json_t *rep = NULL;

	if (verify_engine(st, &u, &tf, e) == -1 ||
	    verify_stored(db, id, bars, n, tf, &got, &ngot, e) == -1)
		return NULL;
	if ((want = calloc(n, sizeof(*want))) == NULL ||
	    (diffs = calloc(n + ngot, sizeof(*diffs))) == NULL) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "out of memory");
		goto done;
	}
	nwant = ac_verify_recompute(&u, bars, n, want);
	nd = ac_verify_compare(want, nwant, got, ngot, AC_VERIFY_WINDOW, diffs, &sum);
	rep = json_pack("{s:{s:I, s:s, s:s, s:s}, s:I, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:o}",
	    "strategy", "id", (json_int_t)id, "name", PQgetvalue(st, 0, 5),
	    "symbol", PQgetvalue(st, 0, 6), "timeframe", PQgetvalue(st, 0, 7),
	    "bars", (json_int_t)n, "from", iso(bars[0].time, t0), "to", iso(bars[n - 1].time, t1),
	    "window_bars", AC_VERIFY_WINDOW, "recomputed", (json_int_t)sum.recomputed,
	    "stored", (json_int_t)sum.stored, "matched", (json_int_t)sum.matched,
	    "missing", (json_int_t)sum.missing, "extra", (json_int_t)sum.extra,
	    "different_bar", (json_int_t)sum.moved, "differences", verify_diffs(diffs, nd, bars));
done:
	free(want);
	free(got);
	free(diffs);
	return rep;
}

json_t *
ac_verify_report(struct ac_db *db, long long id, const char *text, size_t len,
    struct ac_err *e)
{
	char ids[24], err[200];
	const char *vals[1] = { ids };
	struct ac_bar *bars;
	size_t n;
	PGresult *st;
	json_t *rep;

	snprintf(ids, sizeof(ids), "%lld", id);
	st = ac_db_exec(db, &st_verify_strategy, vals, NULL, NULL);
	if (!ac_db_ok(db, st, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(st) != 1) {
		PQclear(st);
		ac_err_set(e, AC_E_NOT_FOUND, "strategy", "no strategy %lld", id);
		return NULL;
	}
	if (ac_verify_bars(text, len, &bars, &n, err, sizeof(err)) == -1) {
		PQclear(st);
		ac_err_set(e, AC_E_INVALID, "bars", "%s", err);
		return NULL;
	}
	rep = verify_run(db, id, st, bars, n, e);
	free(bars);
	PQclear(st);
	return rep;
}

/* ---- the track record ------------------------------------------------------------- */

static const struct ac_stmt st_record_strategy = { "record_strategy",
	"SELECT json_build_object('id', id, 'name', name, 'description', description,"
	" 'symbol', symbol, 'timeframe', timeframe, 'max_open', max_open_trades,"
	" 'allow_opposite', allow_opposite_signals, 'replace_same', replace_on_same_signal,"
	" 'auto_close', auto_close_on_tp_sl)"
	" FROM strategies WHERE id = $1 AND public_record AND status <> 'testing'", 1 };

/* Every signal subscribers received, in the order the fan-out took them. */
static const struct ac_stmt st_record_signals = { "record_signals",
	"SELECT s.action, s.price::float8, coalesce(s.take_profit, 0)::float8,"
	" coalesce(s.stop_loss, 0)::float8, " EPOCH("s.received_at")
	" FROM signals s WHERE" COUNTED " AND s.status = 'processed' ORDER BY s.id", 1 };

/* A delivery a provider accepted (the outbox is no provider). */
#define ACCEPTED \
	" d.status = 'sent' AND d.sent_at IS NOT NULL AND d.provider IS DISTINCT FROM 'outbox'"

/* The latency over the accepted deliveries of the newest signals, at most
 * LATENCY_SIGNALS of them and, once LATENCY_USERS subscribers are counted,
 * no more (a public page reads this on every view: 200 signals of a
 * strategy with 10,000 subscribers are 2,000,000 deliveries); whole signals,
 * so the sample holds each one's slowest subscribers too. And the recent
 * signals ($2 of them) with their first accepted delivery's. */
#define LATENCY_SIGNALS	"200"
#define LATENCY_USERS	"10000"
static const struct ac_stmt st_record_latency = { "record_latency",
	"WITH w AS (SELECT id, received_at FROM (SELECT s.id, s.received_at, s.matched_users,"
	"  sum(s.matched_users) OVER (ORDER BY s.id DESC) AS upto FROM signals s WHERE" COUNTED
	"  AND s.status = 'processed' ORDER BY s.id DESC LIMIT " LATENCY_SIGNALS ") n"
	"  WHERE upto - matched_users < " LATENCY_USERS ")"
	" SELECT json_build_object('latency', (SELECT json_build_object('deliveries', count(*),"
	"  'signals', (SELECT count(*) FROM w),"
	"  'average_ms', round(avg(l) * 1000), 'average', latency_label(avg(l)),"
	"  'median_ms', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l) * 1000)::numeric),"
	"  'median', latency_label(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)))"
	"  FROM (SELECT extract(epoch FROM d.sent_at - s.received_at)::float8 AS l"
	"  FROM w s JOIN deliveries d ON d.signal_id = s.id WHERE" ACCEPTED ") x),"
	" 'recent', (SELECT coalesce(json_agg(json_build_object('id', r.id, 'action', r.action,"
	"  'price', r.price::text, 'received_at', to_char(r.received_at AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'latency_ms', round(r.l * 1000),"
	"  'latency', latency_label(r.l)) ORDER BY r.id DESC), '[]') FROM (SELECT s.id, s.action,"
	"  s.price, s.received_at, (SELECT extract(epoch FROM min(d.sent_at) - s.received_at)::float8"
	"  FROM deliveries d WHERE d.signal_id = s.id AND" ACCEPTED ") AS l"
	"  FROM signals s WHERE" COUNTED " AND s.status = 'processed'"
	"  ORDER BY s.id DESC LIMIT $2) r))", 2 };

/* The stored signals through one virtual account into t; the number of
 * signals, their first and last arrival; -1 with *e. */
static long
record_follow(struct ac_db *db, const char *id, const json_t *st, struct ac_track *t,
    struct ac_track_point **points, long long *first, long long *last, int *open,
    struct ac_err *e)
{
	const char *vals[1] = { id };
	struct ac_trade_settings set = {
	    (int)json_integer_value(json_object_get(st, "max_open")), 0,
	    json_is_true(json_object_get(st, "allow_opposite")),
	    json_is_true(json_object_get(st, "replace_same")),
	    json_is_true(json_object_get(st, "auto_close")) };
	struct ac_backtest bt;
	PGresult *res = ac_db_exec(db, &st_record_signals, vals, NULL, NULL);
	int n;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	n = PQntuples(res);
	if ((*points = calloc(n + 1, sizeof(**points))) == NULL) {
		PQclear(res);
		return ac_err_set(e, AC_E_INTERNAL, NULL, "out of memory");
	}
	ac_track_init(t, *points, n + 1);
	ac_backtest_init(&bt, &set, ac_track_closed, t);
	for (int i = 0; i < n; i++) {
		struct ac_trade_signal s = { ac_action_parse(PQgetvalue(res, i, 0)),
		    strtod(PQgetvalue(res, i, 1), NULL), strtod(PQgetvalue(res, i, 2), NULL),
		    strtod(PQgetvalue(res, i, 3), NULL) };
		long long when = strtoll(PQgetvalue(res, i, 4), NULL, 10);

		if (i == 0)
			*first = when;
		*last = when;
		ac_backtest_apply(&bt, &s, when);
	}
	*open = bt.nopen;
	PQclear(res);
	return n;
}

/* The months and the equity points of t. */
static json_t *
record_months(const struct ac_track *t)
{
	json_t *a = json_array();
	char m[16];

	for (size_t i = 0; i < t->nmonths; i++) {
		snprintf(m, sizeof(m), "%04d-%02d", t->months[i].year, t->months[i].month);
		json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:f}", "month", m,
		    "trades", (json_int_t)t->months[i].trades, "wins", (json_int_t)t->months[i].wins,
		    "pnl_percent", t->months[i].pnl_percent));
	}
	return a;
}

static json_t *
record_equity(const struct ac_track *t)
{
	json_t *a = json_array();
	char at[32];

	for (size_t i = 0; i < t->npoints; i++)
		json_array_append_new(a, json_pack("{s:s, s:f}", "time", iso(t->points[i].time, at),
		    "equity_percent", t->points[i].equity));
	return a;
}

json_t *
ac_record(struct ac_db *db, long long id, int recent, char **svg, struct ac_err *e)
{
	char ids[24], lim[24], a0[32], a1[32];
	const char *vals[2] = { ids, lim };
	struct ac_track *t;
	struct ac_track_point *points = NULL;
	long long first = 0, last = 0;
	json_t *st, *lat = NULL, *rep = NULL;
	long n;
	int found, open = 0;

	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(lim, sizeof(lim), "%d", recent);
	if ((st = ac_db_json(db, &st_record_strategy, vals, &found)) == NULL) {
		if (found)
			ac_db_err(db, e);
		else
			ac_err_set(e, AC_E_NOT_FOUND, NULL, "no public track record for strategy %lld",
			    id);
		return NULL;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		json_decref(st);
		ac_err_set(e, AC_E_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	if ((n = record_follow(db, ids, st, t, &points, &first, &last, &open, e)) < 0)
		goto done;
	if (recent >= 0 && (lat = ac_db_json(db, &st_record_latency, vals, &found)) == NULL) {
		ac_db_err(db, e);
		goto done;
	}
	if (lat == NULL)	/* the figures alone: no latency, no recent signals */
		lat = json_pack("{s:n, s:[]}", "latency", "recent");
	rep = json_pack("{s:{s:O, s:O, s:O, s:O, s:O}, s:s, s:I, s:s?, s:s?, s:I, s:I, s:I, s:i,"
	    " s:o, s:f, s:f, s:o, s:o, s:O, s:O}",
	    "strategy", "id", json_object_get(st, "id"), "name", json_object_get(st, "name"),
	    "description", json_object_get(st, "description"),
	    "symbol", json_object_get(st, "symbol"), "timeframe", json_object_get(st, "timeframe"),
	    "rule", ac_record_rule, "signals", (json_int_t)n,
	    "first_signal_at", n ? iso(first, a0) : NULL, "last_signal_at", n ? iso(last, a1) : NULL,
	    "trades", (json_int_t)t->trades, "wins", (json_int_t)t->wins,
	    "losses", (json_int_t)(t->trades - t->wins), "open_trades", open,
	    "win_rate_percent", t->trades ? json_real(ac_track_win_rate(t) * 100) : json_null(),
	    "total_pnl_percent", t->equity, "max_drawdown_percent", t->max_drawdown,
	    "months", record_months(t), "equity", record_equity(t),
	    "latency", json_object_get(lat, "latency"), "recent", json_object_get(lat, "recent"));
	json_decref(lat);
	if (rep != NULL && svg != NULL)
		*svg = ac_track_svg(t, first, 960, 320);
	if (rep == NULL)
		ac_err_set(e, AC_E_INTERNAL, NULL, "the track record could not be built");
done:
	free(points);
	free(t);
	json_decref(st);
	return rep;
}
