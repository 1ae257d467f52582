/* health.c — see health.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/pgarray.h"
#include "work/health.h"

#define SWEEP_LOCK	"7123016"	/* pg_try_advisory_xact_lock's key: one sweep at a time */
#define BURST_ROWS	"200"		/* newest alerts a burst is looked for in */
#define HISTORY_ROWS	"1000"		/* newest alerts a cadence is learned from */

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* ---- the rules ---------------------------------------------------------------- */

unsigned
ac_health_judge(const struct ac_health_facts *f)
{
	double quiet = (double)AC_HEALTH_SILENT_BARS * f->bar_s;
	unsigned on = 0;

	if (f->beats && f->beat_age_s > quiet)
		on |= 1u << AC_INC_SILENT;
	if (f->burst > AC_HEALTH_BURST_MAX)
		on |= 1u << AC_INC_BURST;
	if (!f->beats && f->history >= AC_HEALTH_HISTORY_MIN && f->longest_gap_s > 0 &&
	    f->silence_s > AC_HEALTH_GAP_FACTOR * f->longest_gap_s && f->silence_s > quiet)
		on |= 1u << AC_INC_ESTIMATED;
	return on;
}

/* s seconds for a reader, in its two largest units ("5 min 2 s", "3 d"). */
static const char *
span(double s, char *buf, size_t bufsz)
{
	static const struct { long long n; const char *unit; } units[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "min" }, { 1, "s" },
	};
	long long t = s > 0 ? (long long)(s + 0.5) : 0, r;
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && t < units[i].n)
		i++;
	r = i + 1 < sizeof(units) / sizeof(units[0]) ? t % units[i].n / units[i + 1].n : 0;
	if (r > 0)
		snprintf(buf, bufsz, "%lld %s %lld %s", t / units[i].n, units[i].unit, r,
		    units[i + 1].unit);
	else
		snprintf(buf, bufsz, "%lld %s", t / units[i].n, units[i].unit);
	return buf;
}

void
ac_health_detail(const struct ac_health_facts *f, enum ac_incident_kind kind, char *buf,
    size_t bufsz)
{
	char a[32], b[32];

	switch (kind) {
	case AC_INC_SILENT:
		snprintf(buf, bufsz, "No heartbeat for %s; one is due every %s (each bar close), "
		    "and %d missed bars make an incident. The alert may have expired or been "
		    "stopped on TradingView.", span(f->beat_age_s, a, sizeof(a)),
		    span(f->bar_s, b, sizeof(b)), AC_HEALTH_SILENT_BARS);
		break;
	case AC_INC_BURST:
		snprintf(buf, bufsz, "%d alerts within %s; TradingView stops a script alert that "
		    "fires more than %d times in %s.", f->burst,
		    span(AC_HEALTH_BURST_WINDOW_S, a, sizeof(a)), AC_HEALTH_BURST_MAX,
		    span(AC_HEALTH_BURST_WINDOW_S, b, sizeof(b)));
		break;
	default:
		snprintf(buf, bufsz, "No alert for %s, over %d times the longest gap (%s) between "
		    "its %d alerts of the last %d days.", span(f->silence_s, a, sizeof(a)),
		    AC_HEALTH_GAP_FACTOR, span(f->longest_gap_s, b, sizeof(b)), f->history,
		    AC_HEALTH_HISTORY_DAYS);
		break;
	}
}

const char *
ac_incident_kind_name(enum ac_incident_kind kind)
{
	static const char *const names[AC_INC__MAX] = { "silent", "burst", "estimated_silence" };

	return (unsigned)kind < AC_INC__MAX ? names[kind] : "unknown";
}

/* ---- the sweep ---------------------------------------------------------------- */

static const struct ac_stmt st_lock = { "health_lock",
	"SELECT pg_try_advisory_xact_lock(" SWEEP_LOCK ")", 0 };

/* Each strategy that is not inactive: its bar, its last heartbeat's age,
 * its largest recent burst and, without heartbeats, its cadence (the
 * outer condition inside the scan, so a beating strategy's history is not
 * read at all). Each part reads the newest rows of the strategy through
 * signals_strategy, so the sweep's cost does not grow with the signals
 * kept. */
static const struct ac_stmt st_facts = { "health_facts",
	"SELECT s.id, ac_timeframe_seconds(s.timeframe), h.strategy_id IS NOT NULL,"
	" coalesce(extract(epoch FROM now() - h.seen_at), 0), coalesce(b.burst, 0),"
	" coalesce(c.n, 0), coalesce(c.gap, 0), coalesce(c.silence, 0)"
	" FROM strategies s LEFT JOIN strategy_heartbeats h ON h.strategy_id = s.id"
	" LEFT JOIN LATERAL (SELECT max(k) AS burst FROM (SELECT count(*) OVER (ORDER BY"
	"  received_at RANGE BETWEEN interval '" STR(AC_HEALTH_BURST_WINDOW_S) " seconds'"
	"  PRECEDING AND CURRENT ROW) AS k FROM (SELECT received_at FROM signals"
	"  WHERE strategy_id = s.id AND test_user_id IS NULL ORDER BY id DESC LIMIT " BURST_ROWS
	"  ) r WHERE received_at > now() - interval '" STR(AC_HEALTH_BURST_LOOKBACK_S)
	"  seconds') w) b ON true"
	" LEFT JOIN LATERAL (SELECT count(*) AS n, extract(epoch FROM max(gap)) AS gap,"
	"  extract(epoch FROM now() - max(received_at)) AS silence FROM (SELECT received_at,"
	"  received_at - lag(received_at) OVER (ORDER BY received_at) AS gap FROM"
	"  (SELECT received_at FROM signals WHERE strategy_id = s.id AND test_user_id IS NULL"
	"  AND h.strategy_id IS NULL ORDER BY id DESC LIMIT " HISTORY_ROWS ") r"
	"  WHERE received_at > now() - interval '" STR(AC_HEALTH_HISTORY_DAYS) " days') g) c"
	"  ON true"
	" WHERE s.status <> 'inactive'", 0 };

/* Opens the incidents on ($1 strategies, $2 kinds, $3 details) that are
 * not open, closes the open ones not on, and queues each opening's and
 * closing's notice to every active operator who may see alerts, by email
 * and, with a chat, Telegram ($4: the site, for the links). */
static const struct ac_stmt st_apply = { "health_apply",
	"WITH o AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])"
	"  AS o(strategy_id, kind, detail)),"
	" ins AS (INSERT INTO strategy_incidents (strategy_id, kind, detail)"
	"  SELECT strategy_id, kind, detail FROM o ORDER BY strategy_id, kind"
	"  ON CONFLICT (strategy_id, kind) WHERE closed_at IS NULL DO NOTHING"
	"  RETURNING id, strategy_id, kind, detail, opened_at, closed_at),"
	" cls AS (UPDATE strategy_incidents i SET closed_at = now() WHERE closed_at IS NULL"
	"  AND NOT EXISTS (SELECT FROM o WHERE o.strategy_id = i.strategy_id AND o.kind = i.kind)"
	"  RETURNING id, strategy_id, kind, detail, opened_at, closed_at),"
	" ev AS (SELECT *, 'strategy_incident' AS notice FROM ins"
	"  UNION ALL SELECT *, 'strategy_recovered' FROM cls),"
	" ops AS (SELECT a.id, ch FROM admin_users a, unnest(array_remove(ARRAY['email',"
	"  CASE WHEN a.telegram_chat_id IS NOT NULL THEN 'telegram' END], NULL)) AS ch"
	"  WHERE a.status = 'active' AND 'alerts.view' = ANY (a.permissions)),"
	" j AS (INSERT INTO jobs (kind, payload, unique_key, run_at, max_attempts)"
	"  SELECT 'ops_notice', jsonb_build_object('admin_id', ops.id, 'notice', ev.notice,"
	"  'channel', ops.ch, 'vars', jsonb_build_object("
	"  'strategy_name', s.name, 'strategy_id', s.id::text, 'symbol', s.symbol,"
	"  'timeframe', s.timeframe, 'kind', ev.kind, 'what', CASE ev.kind"
	"  WHEN 'silent' THEN 'its heartbeats stopped' WHEN 'burst' THEN"
	"  'its alerts came in a burst TradingView stops' ELSE 'its alerts stopped' END,"
	"  'estimate', CASE WHEN ev.kind = 'estimated_silence' THEN 'yes' ELSE '' END,"
	"  'detail', ev.detail, 'url', $4::text,"
	"  'opened_at', to_char(ev.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
	"  'closed_at', coalesce(to_char(ev.closed_at AT TIME ZONE 'UTC',"
	"  'YYYY-MM-DD HH24:MI:SS'), ''))),"
	"  'incident:' || ev.id || ':' || ev.notice || ':' || ops.id || ':' || ops.ch, now(), 7"
	"  FROM ev JOIN strategies s ON s.id = ev.strategy_id CROSS JOIN ops"
	"  ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM cls), (SELECT count(*) FROM j),"
	"  (SELECT count(*) FROM (SELECT pg_notify('ac_jobs', 'ops_notice')"
	"  WHERE EXISTS (SELECT FROM j)) w)", 4 };

/* The facts of row i of st_facts' result. */
static void
facts_of(const PGresult *res, int i, struct ac_health_facts *f)
{
	f->strategy_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	f->bar_s = atoi(PQgetvalue(res, i, 1));
	f->beats = strcmp(PQgetvalue(res, i, 2), "t") == 0;
	f->beat_age_s = strtod(PQgetvalue(res, i, 3), NULL);
	f->burst = atoi(PQgetvalue(res, i, 4));
	f->history = atoi(PQgetvalue(res, i, 5));
	f->longest_gap_s = strtod(PQgetvalue(res, i, 6), NULL);
	f->silence_s = strtod(PQgetvalue(res, i, 7), NULL);
}

/* Judges every strategy and applies the verdicts, in the open transaction:
 * the incidents opened plus closed, or -1. */
static int
sweep(struct ac_db *db, const char *site)
{
	struct ac_pgarray ids, kinds, details;
	const char *vals[4];
	PGresult *res;
	int n = -1;

	res = ac_db_exec(db, &st_facts, NULL, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	ac_pgarray_init(&ids);
	ac_pgarray_init(&kinds);
	ac_pgarray_init(&details);
	for (int i = 0; i < PQntuples(res); i++) {
		struct ac_health_facts f;
		unsigned on;
		char why[400];

		facts_of(res, i, &f);
		on = ac_health_judge(&f);
		for (int k = 0; k < AC_INC__MAX; k++)
			if (on & (1u << k)) {
				ac_health_detail(&f, (enum ac_incident_kind)k, why, sizeof(why));
				ac_pgarray_ll(&ids, f.strategy_id);
				ac_pgarray_str(&kinds, ac_incident_kind_name((enum ac_incident_kind)k));
				ac_pgarray_str(&details, why);
			}
	}
	PQclear(res);
	vals[0] = ac_pgarray_text(&ids);
	vals[1] = ac_pgarray_text(&kinds);
	vals[2] = ac_pgarray_text(&details);
	vals[3] = site ? site : "";
	res = ac_db_exec(db, &st_apply, vals, NULL, NULL);
	if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		int opened = atoi(PQgetvalue(res, 0, 0)), closed = atoi(PQgetvalue(res, 0, 1));

		if (opened + closed > 0)
			ac_info("strategy health: %d incident%s opened, %d closed, %s notices queued",
			    opened, opened == 1 ? "" : "s", closed, PQgetvalue(res, 0, 2));
		n = opened + closed;
		PQclear(res);
	}
	ac_pgarray_free(&ids);
	ac_pgarray_free(&kinds);
	ac_pgarray_free(&details);
	return n;
}

int
ac_health_sweep(struct ac_db *db, const char *site)
{
	PGresult *res;
	int n, got;

	if (ac_db_begin(db) == -1) {
		ac_error("strategy health: %s", ac_db_error(db));
		return -1;
	}
	res = ac_db_exec(db, &st_lock, NULL, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto fail;
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got) {		/* another worker sweeps now */
		ac_db_rollback(db);
		return 0;
	}
	if ((n = sweep(db, site)) == -1 || ac_db_commit(db) == -1)
		goto fail;
	return n;
fail:
	ac_error("strategy health: %s", ac_db_error(db));
	ac_db_rollback(db);
	return -1;
}
