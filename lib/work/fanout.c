/* fanout.c — see fanout.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "work/fanout.h"
#include "account/ledger.h"
#include "account/plans.h"
#include "base/log.h"
#include "base/pgarray.h"
#include "base/queue.h"
#include "base/util.h"

/* ---- the pure parts ------------------------------------------------------- */

int
ac_alarm_accepts(const struct ac_alarm_filter *f, enum ac_signal_kind kind, double price)
{
	int toggle = kind == AC_KIND_ENTRY ? f->on_entry :
	    kind == AC_KIND_EXIT ? f->on_exit : f->on_replacement;

	if (!toggle)
		return 0;
	if (f->has_min && price < f->min_price)
		return 0;
	if (f->has_max && price > f->max_price)
		return 0;
	return 1;
}

enum ac_skip
ac_fanout_gate(int served_today, int max_daily, long long balance, long long cost)
{
	if (served_today >= max_daily)
		return AC_SKIP_DAILY_CAP;
	if (cost > balance)
		return AC_SKIP_NO_CREDITS;
	return AC_SKIP_NONE;
}

unsigned
ac_reachable(unsigned channels, const struct ac_reach *r)
{
	return channels & r->allowed & r->addressed;
}

enum ac_skip
ac_channel_skip(enum ac_channel ch, const struct ac_reach *r)
{
	if (!(r->allowed & (1u << ch)))
		return AC_SKIP_PREFERENCE;
	if (!(r->addressed & (1u << ch)))
		return AC_SKIP_NO_ADDRESS;
	return AC_SKIP_NONE;
}

const char *
ac_skip_name(enum ac_skip s)
{
	static const char *const names[] = {
		[AC_SKIP_NONE] = NULL, [AC_SKIP_NO_CREDITS] = "no_credits",
		[AC_SKIP_DAILY_CAP] = "daily_cap", [AC_SKIP_PREFERENCE] = "preference",
		[AC_SKIP_NO_ADDRESS] = "no_address",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* ---- fan-out -------------------------------------------------------------- */

/* How fan-outs are split (ac_fanout_setup(); the parts, below). */
#define PARTS_MAX 8

static struct {
	int		 parts;		/* at most PARTS_MAX */
	int		 min_alarms;	/* split only fan-outs at least this large */
	int		 head;		/* a split fan-out's head: this many users first */
	int		 lead_ms;	/* the parts wait this long at most for the head */
	int		 commits;	/* a part commits its users in this many pieces */
	struct ac_db	*db[PARTS_MAX];	/* the parts' own connections */
} split = { .parts = 1, .commits = 1 };

/* The signal and its strategy, both locked: one fan-out per strategy at a
 * time (NO KEY UPDATE does not block ingest's foreign-key checks). */
static const struct ac_stmt st_load = { "fanout_load",
	"SELECT s.status, s.action, s.price::text, coalesce(s.take_profit::text, ''),"
	" coalesce(s.stop_loss::text, ''), st.id, st.max_open_trades,"
	" st.allow_opposite_signals, st.replace_on_same_signal, st.auto_close_on_tp_sl,"
	" st.credit_cost, st.symbol, st.timeframe, coalesce(s.test_user_id::text, ''),"
	" st.status = 'testing',"
	/* how many alarms the strategy has enabled, up to $2: from that many
	 * a fan-out is split (counting all of them read every version the
	 * alarms' statistics leave: 10-14 ms at 10,000 alarms after a few
	 * signals, before the first subscriber) */
	" (SELECT count(*) FROM (SELECT FROM alarms a WHERE a.strategy_id = st.id AND a.enabled"
	"  LIMIT $2::int) a)"
	" FROM signals s JOIN strategies st ON st.id = s.strategy_id"
	" WHERE s.id = $1 FOR NO KEY UPDATE OF s, st", 2 };

/* Every alarm holder's user row of a part (user id modulo $2 from $3 up to
 * $6, not included; $4 the head's users, NULL: all; none the signal $5 has
 * served already, like the head's, whose deliveries may be going out),
 * in id order: concurrent fan-outs over overlapping users queue up
 * instead of deadlocking, and balances, open trades and subscriptions
 * stay put until the commit. */
#define LOCK_USERS(who, signal)								\
	"SELECT count(*) FROM (SELECT u.id FROM alarms a JOIN users u ON u.id = a.user_id"	\
	" WHERE a.strategy_id = $1 AND a.enabled AND u.status = 'active' AND " who		\
	" AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.signal_id = " signal		\
	" AND d.user_id = u.id) ORDER BY u.id FOR NO KEY UPDATE OF u) l"
static const struct ac_stmt st_lock_users = { "fanout_lock_users",
	LOCK_USERS("u.id % $2::int >= $3::int AND u.id % $2::int < $6::int"
	" AND ($4::bigint[] IS NULL OR u.id = ANY ($4::bigint[]))", "$5"), 6 };
/* A head's, $2 its users, $3 the signal: from the users by their key, in a
 * plan made once (a part's, planned at each call, reads every alarm of
 * the strategy in its generic form) */
static const struct ac_stmt st_head_lock_users = { "fanout_head_lock_users",
	LOCK_USERS("u.id = ANY ($2::bigint[])", "$3"), 3, 1 };

/* The head of a split fan-out: $2 of the alarm holders (of $3 alone for a
 * test signal; test users only, $4, for a testing strategy), those whose
 * plan has the priority feature first (as deliver.c orders a batch), then
 * by id; as a bigint[] in id order, NULL when none. */
#define HEAD_USERS \
	" JOIN users u ON u.id = a.user_id WHERE a.strategy_id = $1 AND a.enabled" \
	" AND u.status = 'active' AND ($3::bigint IS NULL OR u.id = $3::bigint)" \
	" AND (NOT $4::boolean OR u.is_test)"
/* The priority half starts from the users with priority (none, when no
 * plan has it: checked alarm by alarm, all 10,000 of them were read to
 * find none), the other reads the alarms in user order, by their index,
 * and stops at $2: not a sort of every subscriber by plan. */
static const struct ac_stmt st_head = { "fanout_head",
	"WITH pr AS MATERIALIZED (" AC_SQL_PRIORITY_USERS ")"
	" SELECT array_agg(id ORDER BY id)::text FROM (SELECT id FROM ("
	" (SELECT a.user_id AS id, true AS priority FROM pr"
	"  JOIN alarms a ON a.user_id = pr.user_id" HEAD_USERS " ORDER BY a.user_id LIMIT $2::int)"
	" UNION ALL (SELECT a.user_id, false FROM alarms a" HEAD_USERS
	"  ORDER BY a.user_id LIMIT $2::int)) x"
	" GROUP BY id ORDER BY bool_or(priority) DESC, id LIMIT $2::int) h", 4 };

/* Matched candidates and what the rules need about each. $1 strategy,
 * $2 the strategy's credit cost, $3 the signal, $4, $5 and $9 the part (as
 * above: modulo $4 from $5 up to $9), $6 a test signal's user (NULL: a real
 * signal), $7 the strategy is testing, $8 the users (NULL: all; a head's
 * run st_head_candidates). The subscription is the
 * cheapest covering one (then the longest running). Each user's open trades (at most AC_TRADE_OPEN_MAX,
 * the LIMIT 8) come with their take profit and stop loss, 0 when unset,
 * which a TP/SL hit is held against (trade.h). A test signal reaches its user alone, free; a testing
 * strategy's signals reach test users only. The signals served today (the
 * daily cap) are one row of daily_signals, which the deliveries' insert
 * keeps (sql/021_daily_signals.sql): the cost of a candidate does not grow
 * with the deliveries of its day. */
#define CANDIDATES(test, testing, who) \
	"SELECT a.id, u.id, sub.id, sub.cost, sub.max_open_trades," \
	" array_to_string(a.channels, ','), a.on_entry, a.on_exit, a.on_replacement," \
	" coalesce(a.min_price::text, ''), coalesce(a.max_price::text, '')," \
	" u.notify_email, u.notify_telegram, u.notify_sms, u.notify_push," \
	" u.telegram_chat_id IS NOT NULL, u.phone IS NOT NULL," \
	" EXISTS (SELECT 1 FROM push_devices pd WHERE pd.user_id = u.id)," \
	" u.credit_balance, u.max_daily_alerts," \
	" coalesce((SELECT n.signals FROM daily_signals n WHERE n.user_id = u.id" \
	"  AND n.day = (now() AT TIME ZONE u.timezone)::date), 0)," \
	" coalesce((SELECT string_agg(t.id || ' ' || t.side || ' ' || t.entry_price || ' '" \
	"  || coalesce(t.take_profit, 0) || ' ' || coalesce(t.stop_loss, 0), ','" \
	"  ORDER BY t.opened_at, t.id) FROM (SELECT * FROM trades t WHERE t.strategy_id = $1" \
	"  AND t.user_id = u.id AND t.status = 'open' ORDER BY t.opened_at, t.id LIMIT 8) t), '')," \
	" coalesce((SELECT max(trade_number) FROM trades t WHERE t.user_id = u.id" \
	"  AND t.strategy_id = $1), 0)" \
	" FROM alarms a JOIN users u ON u.id = a.user_id" \
	" CROSS JOIN LATERAL (SELECT s.id, CASE WHEN " test "::bigint IS NULL" \
	"  THEN coalesce(p.credit_cost, $2::integer) ELSE 0 END AS cost," \
	"  p.max_open_trades FROM subscriptions s" \
	"  JOIN plan_strategies ps ON ps.plan_id = s.plan_id AND ps.strategy_id = $1" \
	"  JOIN plans p ON p.id = s.plan_id" \
	"  WHERE s.user_id = u.id AND s.status IN ('active', 'past_due') AND s.period_start <= now()" \
	"  AND s.period_end > now() ORDER BY 2, s.period_end DESC, s.id LIMIT 1) sub" \
	" WHERE a.strategy_id = $1 AND a.enabled AND u.status = 'active'" \
	" AND (" test "::bigint IS NULL OR u.id = " test "::bigint)" \
	" AND (NOT " testing "::boolean OR u.is_test) AND " who \
	" AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.signal_id = $3 AND d.user_id = u.id)" \
	" ORDER BY u.id"
static const struct ac_stmt st_candidates = { "fanout_candidates",
	CANDIDATES("$6", "$7", "u.id % $4::int >= $5::int AND u.id % $4::int < $9::int"
	" AND ($8::bigint[] IS NULL OR u.id = ANY ($8::bigint[]))"), 9 };
/* a head's, $4 and $5 as a part's $6 and $7, $6 its users: as
 * st_head_lock_users */
static const struct ac_stmt st_head_candidates = { "fanout_head_candidates",
	CANDIDATES("$4", "$5", "u.id = ANY ($6::bigint[])"), 6, 1 };

/* The served users' trade changes: new trades (all alike but for user,
 * subscription and number), then the closes and replacements, whose
 * replaced_by is the same user's new trade; exits at the signal price.
 * ac_fanout_trades() (sql/030_fanout_trades.sql, 031) writes them with
 * hash joins whatever the statistics say, the trades it closes looked up
 * by their keys, and returns the trades opened and closed. */
static const struct ac_stmt st_trades = { "fanout_trades",
	"SELECT opened, closed FROM ac_fanout_trades($1::bigint, $2::bigint[], $3::bigint[],"
	" $4::int[], $5::bigint, $6, $7, $8, $9::numeric, $10::numeric, $11::numeric,"
	" $12::bigint[], $13::bigint[], $14::text[], $15::numeric[], $16::numeric[])", 16 };

/* Deliveries for every matched user, a deliver job per DELIVER_CHUNK
 * queued ones ($7; keyed by the first delivery, which is in no other job;
 * a head's, $8, names its signal: "head", base/queue.h's AC_HEAD_CHANNEL),
 * and one wake-up for the workers. */
#define DELIVER_CHUNK "500"
static const struct ac_stmt st_deliveries = { "fanout_deliveries",
	"WITH d AS (INSERT INTO deliveries (signal_id, user_id, alarm_id, channel, kind, status,"
	"  skip_reason)"
	"  SELECT $1, x.user_id, x.alarm_id, x.channel, x.kind,"
	"  CASE WHEN x.skip IS NULL THEN 'queued' ELSE 'skipped' END, x.skip"
	"  FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[])"
	"  AS x(user_id, alarm_id, channel, kind, skip)"
	"  ON CONFLICT (signal_id, user_id, channel) DO NOTHING RETURNING id, status),"
	" q AS (SELECT id, (row_number() OVER (ORDER BY id) - 1) / $7::int AS chunk"
	"  FROM d WHERE status = 'queued'),"
	" j AS (" AC_SQL_JOBS_INSERT("")
	"  SELECT 'deliver', jsonb_strip_nulls(jsonb_build_object('delivery_ids',"
	"  jsonb_agg(id ORDER BY id), 'head', $8::bigint)),"
	"  'deliver:' || min(id), now() FROM q GROUP BY chunk"
	"  ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM q),"
	" CASE WHEN EXISTS (SELECT 1 FROM j) THEN pg_notify('ac_jobs', 'deliver') END", 8 };

/* The served users' alarms' statistics (a subscription's usage is counted
 * from its deliveries and trades when shown, not kept twice). */
static const struct ac_stmt st_alarm_stats = { "fanout_alarm_stats",
	"UPDATE alarms SET alerts_received = alerts_received + 1,"
	" trades_opened = trades_opened + x.opened, last_alert_at = now()"
	" FROM unnest($1::bigint[], $2::int[]) AS x(alarm_id, opened)"
	" WHERE alarms.id = x.alarm_id", 2 };

/* The signal done, and the strategy's statistics (which a test signal
 * leaves alone), counted from what the parts of the fan-out (and any
 * earlier, interrupted run) wrote. */
static const struct ac_stmt st_finish = { "fanout_finish",
	"WITH s AS (UPDATE signals SET status = 'processed',"
	"  matched_users = (SELECT count(DISTINCT user_id) FROM deliveries WHERE signal_id = $1),"
	"  processed_at = clock_timestamp(), processing_ms = $2 WHERE id = $1"
	"  RETURNING strategy_id, test_user_id),"
	" st AS (UPDATE strategies SET total_alerts = total_alerts + 1,"
	"  total_trades = total_trades + (SELECT count(*) FROM trades WHERE entry_signal_id = $1),"
	"  last_alert_at = now(), updated_at = now()"
	"  WHERE id = (SELECT strategy_id FROM s WHERE test_user_id IS NULL))"
	" SELECT count(*) FROM s", 2 };

/* The signal as the fan-out sees it. */
struct fan {
	char			 sid[24], stid[24];
	char			 price[40], tp[40], sl[40];	/* numeric text; "" when absent */
	char			 symbol[32], timeframe[8], cost[16];
	char			 test_user[24];	/* a test signal's user; "" if real */
	int			 testing;	/* the strategy is testing */
	long long		 alarms;	/* its enabled alarms, up to split.min_alarms */
	struct ac_trade_signal	 sig;
	struct ac_trade_settings set;
};

/* One matched alarm holder. */
struct cand {
	long long		 alarm_id, user_id, sub_id, cost, balance;
	int			 plan_max, max_daily, served_today, last_number;
	unsigned		 channels;
	struct ac_alarm_filter	 filter;
	struct ac_reach		 reach;
	int			 nopen;
	struct ac_open_trade	 open[AC_TRADE_OPEN_MAX];
	struct ac_trade_plan	 plan;
	int			 matched;	/* toggles and price filter accept */
	enum ac_skip		 gate;		/* NONE: served */
	int			 unreached;	/* no channel of the alarm can reach the
						 * user: each says why, nothing charged */
};

static enum ac_job_outcome
job_error(struct ac_job *job, enum ac_job_outcome rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why job did not finish and returns rc. */
static enum ac_job_outcome
job_error(struct ac_job *job, enum ac_job_outcome rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
	ac_warn("job %lld (%s): %s", job->id, job->kind, job->error);
	return rc;
}

static int
is_true(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

/* The payload's id field, or 0. */
static long long
payload_id(const struct ac_job *job, const char *field)
{
	json_t *v = json_object_get(job->payload, field);

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* Parses "id side entry tp sl,..." into c->open. */
static void
parse_open(struct cand *c, const char *s)
{
	char side[8];
	int used;

	c->nopen = 0;
	while (*s && c->nopen < AC_TRADE_OPEN_MAX) {
		struct ac_open_trade *t = &c->open[c->nopen];

		if (sscanf(s, "%lld %7s %lf %lf %lf%n", &t->id, side, &t->entry, &t->tp, &t->sl,
		    &used) != 5)
			break;
		t->side = ac_side_parse(side) == AC_SIDE_SELL ? AC_SIDE_SELL : AC_SIDE_BUY;
		c->nopen++;
		s += used;
		if (*s == ',')
			s++;
	}
}

/* One candidate row into *c. */
static void
parse_cand(const PGresult *res, int i, struct cand *c)
{
	char chans[64], *tok, *save = NULL;
	const char *v;
	int ch;

	memset(c, 0, sizeof(*c));
	c->alarm_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	c->user_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	c->sub_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	c->cost = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	c->plan_max = (int)strtol(PQgetvalue(res, i, 4), NULL, 10);
	snprintf(chans, sizeof(chans), "%s", PQgetvalue(res, i, 5));
	for (tok = strtok_r(chans, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if ((ch = ac_channel_parse(tok)) >= 0)
			c->channels |= 1u << ch;
	c->filter.on_entry = is_true(res, i, 6);
	c->filter.on_exit = is_true(res, i, 7);
	c->filter.on_replacement = is_true(res, i, 8);
	if (*(v = PQgetvalue(res, i, 9)) != '\0') {
		c->filter.has_min = 1;
		c->filter.min_price = strtod(v, NULL);
	}
	if (*(v = PQgetvalue(res, i, 10)) != '\0') {
		c->filter.has_max = 1;
		c->filter.max_price = strtod(v, NULL);
	}
	for (ch = 0; ch < AC_CH__MAX; ch++)
		if (is_true(res, i, 11 + ch))
			c->reach.allowed |= 1u << ch;
	c->reach.addressed = 1u << AC_CH_EMAIL;
	if (is_true(res, i, 15))
		c->reach.addressed |= 1u << AC_CH_TELEGRAM;
	if (is_true(res, i, 16))
		c->reach.addressed |= 1u << AC_CH_SMS;
	if (is_true(res, i, 17))
		c->reach.addressed |= 1u << AC_CH_PUSH;
	c->balance = strtoll(PQgetvalue(res, i, 18), NULL, 10);
	c->max_daily = (int)strtol(PQgetvalue(res, i, 19), NULL, 10);
	c->served_today = (int)strtol(PQgetvalue(res, i, 20), NULL, 10);
	parse_open(c, PQgetvalue(res, i, 21));
	c->last_number = (int)strtol(PQgetvalue(res, i, 22), NULL, 10);
}

/* Loads and locks the signal; 1 to go on, 0 when there is nothing to do
 * (*rc set), -1 on a database error. */
static int
load(struct ac_db *db, long long signal_id, struct fan *f, struct ac_job *job,
    enum ac_job_outcome *rc)
{
	char cap[12];
	const char *vals[2] = { f->sid, cap };
	PGresult *res;

	snprintf(f->sid, sizeof(f->sid), "%lld", signal_id);
	snprintf(cap, sizeof(cap), "%d", split.min_alarms > 0 ? split.min_alarms : 1);
	res = ac_db_exec(db, &st_load, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		*rc = job_error(job, AC_JOB_FAIL, "signal %lld does not exist", signal_id);
		return 0;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "received") != 0) {
		ac_info("signal %lld is %s already: nothing to do", signal_id, PQgetvalue(res, 0, 0));
		PQclear(res);
		*rc = AC_JOB_DONE;
		return 0;
	}
	f->sig.action = ac_action_parse(PQgetvalue(res, 0, 1));
	snprintf(f->price, sizeof(f->price), "%s", PQgetvalue(res, 0, 2));
	snprintf(f->tp, sizeof(f->tp), "%s", PQgetvalue(res, 0, 3));
	snprintf(f->sl, sizeof(f->sl), "%s", PQgetvalue(res, 0, 4));
	f->sig.price = strtod(f->price, NULL);
	f->sig.tp = *f->tp ? strtod(f->tp, NULL) : 0;
	f->sig.sl = *f->sl ? strtod(f->sl, NULL) : 0;
	snprintf(f->stid, sizeof(f->stid), "%s", PQgetvalue(res, 0, 5));
	f->set.max_open = (int)strtol(PQgetvalue(res, 0, 6), NULL, 10);
	f->set.allow_opposite = is_true(res, 0, 7);
	f->set.replace_same = is_true(res, 0, 8);
	f->set.auto_close = is_true(res, 0, 9);
	snprintf(f->cost, sizeof(f->cost), "%s", PQgetvalue(res, 0, 10));
	snprintf(f->symbol, sizeof(f->symbol), "%s", PQgetvalue(res, 0, 11));
	snprintf(f->timeframe, sizeof(f->timeframe), "%s", PQgetvalue(res, 0, 12));
	snprintf(f->test_user, sizeof(f->test_user), "%s", PQgetvalue(res, 0, 13));
	f->testing = is_true(res, 0, 14);
	f->alarms = strtoll(PQgetvalue(res, 0, 15), NULL, 10);
	PQclear(res);
	return 1;
}

/* Runs the candidates query of the users whose id modulo mod is at least
 * lo and below hi (of the users in only, a bigint[] literal, unless NULL);
 * *out (caller frees) gets *n rows. 0 or -1. */
static int
candidates(struct ac_db *db, const struct fan *f, int mod, int lo, int hi, const char *only,
    struct cand **out, int *n)
{
	char np[12], nk[12], nh[12];
	const char *test = *f->test_user ? f->test_user : NULL, *testing = f->testing ? "true" : "false";
	const char *vals[9] = { f->stid, f->cost, f->sid, np, nk, test, testing, only, nh };
	const char *lvals[6] = { f->stid, np, nk, only, f->sid, nh };
	const char *hvals[6] = { f->stid, f->cost, f->sid, test, testing, only };
	const char *hlvals[3] = { f->stid, only, f->sid };
	PGresult *res;
	int i;
	struct ac_db_pipe pipe[2] = { { &st_lock_users, lvals, NULL },
	    { &st_candidates, vals, NULL } };

	if (only != NULL) {	/* a head: its users by their keys */
		pipe[0] = (struct ac_db_pipe){ &st_head_lock_users, hlvals, NULL };
		pipe[1] = (struct ac_db_pipe){ &st_head_candidates, hvals, NULL };
	}

	snprintf(np, sizeof(np), "%d", mod);
	snprintf(nk, sizeof(nk), "%d", lo);
	snprintf(nh, sizeof(nh), "%d", hi);
	/* the users locked, then read: one round trip */
	if (ac_db_pipeline(db, pipe, 2) == -1)
		return -1;
	PQclear(pipe[0].res);
	res = pipe[1].res;
	*n = PQntuples(res);
	if ((*out = calloc((size_t)*n + 1, sizeof(**out))) == NULL)
		abort();
	for (i = 0; i < *n; i++)
		parse_cand(res, i, &(*out)[i]);
	PQclear(res);
	return 0;
}

/* Plans each candidate's trades and applies the toggles, price filter and
 * daily cap; charges the rest in one batch. 0, or -1 on a database error. */
static int
decide(struct ac_db *db, const struct fan *f, struct cand *c, int n)
{
	long long *uids, *costs;
	char **keys, ref[40];
	unsigned char *charged;
	int i, k = 0, *idx, rc = 0;

	uids = calloc((size_t)n + 1, sizeof(*uids));
	costs = calloc((size_t)n + 1, sizeof(*costs));
	keys = calloc((size_t)n + 1, sizeof(*keys));
	idx = calloc((size_t)n + 1, sizeof(*idx));
	charged = calloc((size_t)n + 1, 1);
	if (!uids || !costs || !keys || !idx || !charged)
		abort();
	for (i = 0; i < n; i++) {
		struct ac_trade_settings set = f->set;

		set.plan_max_open = c[i].plan_max;
		ac_trade_plan(&set, c[i].open, c[i].nopen, &f->sig, &c[i].plan);
		c[i].matched = ac_alarm_accepts(&c[i].filter, c[i].plan.kind, f->sig.price);
		if (!c[i].matched)
			continue;
		if (ac_reachable(c[i].channels, &c[i].reach) == 0) {
			c[i].unreached = 1;
			c[i].gate = AC_SKIP_NO_ADDRESS;	/* not served; each channel says why */
			continue;
		}
		c[i].gate = ac_fanout_gate(c[i].served_today, c[i].max_daily, c[i].balance,
		    c[i].cost);
		if (c[i].gate != AC_SKIP_NONE || c[i].cost == 0)
			continue;
		uids[k] = c[i].user_id;
		costs[k] = c[i].cost;
		if (asprintf(&keys[k], "signal:%s:user:%lld", f->sid, c[i].user_id) == -1)
			abort();
		idx[k++] = i;
	}
	snprintf(ref, sizeof(ref), "signal:%s", f->sid);
	if (ac_ledger_charge_batch(db, k, uids, costs, (const char *const *)keys, ref,
	    charged) == -1)
		rc = -1;
	for (i = 0; i < k; i++) {
		if (!charged[i])
			c[idx[i]].gate = AC_SKIP_NO_CREDITS;
		free(keys[i]);
	}
	free(uids);
	free(costs);
	free(keys);
	free(idx);
	free(charged);
	return rc;
}

/*
 * What a part writes once decide() has run: the served users' trade
 * changes, a delivery per channel for every matched user (with the
 * deliver jobs), and the served users' alarms' statistics. The three
 * statements need nothing of each other's answers, so they go in one round
 * trip (ac_db_pipeline); a statement with nothing to write is left out.
 */
struct writes {
	/* trades: opened (user, subscription, number), closed (trade, user,
	 * reason, PnL, PnL %) */
	struct ac_pgarray ou, os, on, cid, cu, cr, cp, cq;
	long long	 nopen, nclose;
	const char	*tv[16];
	/* deliveries: user, alarm, channel, kind, skip reason */
	struct ac_pgarray du, da, dc, dk, ds;
	long long	 matched;
	const char	*dv[8];
	/* alarms' statistics: alarm, trades opened */
	struct ac_pgarray xa, xo;
	const char	*xv[2];
};

static void
writes_init(struct writes *w)
{
	struct ac_pgarray *a[] = { &w->ou, &w->os, &w->on, &w->cid, &w->cu, &w->cr, &w->cp,
	    &w->cq, &w->du, &w->da, &w->dc, &w->dk, &w->ds, &w->xa, &w->xo };

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		ac_pgarray_init(a[i]);
}

static void
writes_free(struct writes *w)
{
	struct ac_pgarray *a[] = { &w->ou, &w->os, &w->on, &w->cid, &w->cu, &w->cr, &w->cp,
	    &w->cq, &w->du, &w->da, &w->dc, &w->dk, &w->ds, &w->xa, &w->xo };

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		ac_pgarray_free(a[i]);
}

/* The served users' trade changes, as st_trades' parameters. */
static void
plan_trades(struct writes *w, const struct fan *f, const struct cand *c, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		const struct ac_trade_plan *p = &c[i].plan;

		if (!c[i].matched || c[i].gate != AC_SKIP_NONE)
			continue;
		for (j = 0; j < p->nchanges; j++) {
			const struct ac_trade_change *ch = &p->changes[j];

			if (ch->op == AC_OP_OPEN) {
				ac_pgarray_ll(&w->ou, c[i].user_id);
				ac_pgarray_ll(&w->os, c[i].sub_id);
				ac_pgarray_ll(&w->on, c[i].last_number + 1);
				w->nopen++;
				continue;
			}
			ac_pgarray_ll(&w->cid, c[i].open[ch->index].id);
			ac_pgarray_ll(&w->cu, c[i].user_id);
			ac_pgarray_str(&w->cr, ac_exit_reason_name(ch->reason));
			ac_pgarray_num(&w->cp, ch->pnl);
			ac_pgarray_num(&w->cq, ch->pnl_percent);
			w->nclose++;
		}
	}
	w->tv[0] = f->sid;
	w->tv[1] = ac_pgarray_text(&w->ou);
	w->tv[2] = ac_pgarray_text(&w->os);
	w->tv[3] = ac_pgarray_text(&w->on);
	w->tv[4] = f->stid;
	w->tv[5] = f->symbol;
	w->tv[6] = f->timeframe;
	w->tv[7] = f->sig.action == AC_ACTION_SELL ? "SELL" : "BUY";
	w->tv[8] = f->price;
	w->tv[9] = *f->tp ? f->tp : NULL;
	w->tv[10] = *f->sl ? f->sl : NULL;
	w->tv[11] = ac_pgarray_text(&w->cid);
	w->tv[12] = ac_pgarray_text(&w->cu);
	w->tv[13] = ac_pgarray_text(&w->cr);
	w->tv[14] = ac_pgarray_text(&w->cp);
	w->tv[15] = ac_pgarray_text(&w->cq);
}

/* A delivery per channel for every matched user, as st_deliveries'. */
static void
plan_deliveries(struct writes *w, const struct fan *f, const struct cand *c, int n, int head)
{
	int i, ch;

	for (i = 0; i < n; i++) {
		if (!c[i].matched)
			continue;
		w->matched++;
		for (ch = 0; ch < AC_CH__MAX; ch++) {
			enum ac_skip skip = c[i].gate;

			if (!(c[i].channels & (1u << ch)))
				continue;
			if (skip == AC_SKIP_NONE || c[i].unreached)
				skip = ac_channel_skip((enum ac_channel)ch, &c[i].reach);
			ac_pgarray_ll(&w->du, c[i].user_id);
			ac_pgarray_ll(&w->da, c[i].alarm_id);
			ac_pgarray_str(&w->dc, ac_channel_name((enum ac_channel)ch));
			ac_pgarray_str(&w->dk, ac_signal_kind_name(c[i].plan.kind));
			ac_pgarray_str(&w->ds, ac_skip_name(skip));
		}
	}
	w->dv[0] = f->sid;
	w->dv[1] = ac_pgarray_text(&w->du);
	w->dv[2] = ac_pgarray_text(&w->da);
	w->dv[3] = ac_pgarray_text(&w->dc);
	w->dv[4] = ac_pgarray_text(&w->dk);
	w->dv[5] = ac_pgarray_text(&w->ds);
	w->dv[6] = DELIVER_CHUNK;
	w->dv[7] = head ? f->sid : NULL;
}

/* The served users' alarms' statistics, as st_alarm_stats'. */
static void
plan_stats(struct writes *w, const struct cand *c, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		int o = 0;

		if (!c[i].matched || c[i].gate != AC_SKIP_NONE)
			continue;
		for (j = 0; j < c[i].plan.nchanges; j++)
			o += c[i].plan.changes[j].op == AC_OP_OPEN;
		ac_pgarray_ll(&w->xa, c[i].alarm_id);
		ac_pgarray_ll(&w->xo, o);
	}
	w->xv[0] = ac_pgarray_text(&w->xa);
	w->xv[1] = ac_pgarray_text(&w->xo);
}

/* Writes what the part decided (struct writes) in one round trip;
 * *opened gets the trades opened, *matched the users matched, *queued the
 * deliveries queued. 0, -1 on a database error, -2 when the trades were
 * not as read. */
static int
write_all(struct ac_db *db, const struct fan *f, const struct cand *c, int n, int head,
    long long *opened, long long *matched, long long *queued)
{
	struct writes w;
	struct ac_db_pipe pipe[3];
	int np = 0, t = -1, d = -1, rc = 0;

	writes_init(&w);
	plan_trades(&w, f, c, n);
	plan_deliveries(&w, f, c, n, head);
	plan_stats(&w, c, n);
	*opened = w.nopen;
	*matched = w.matched;
	*queued = 0;
	if (w.nopen > 0 || w.nclose > 0) {
		t = np;
		pipe[np++] = (struct ac_db_pipe){ &st_trades, w.tv, NULL };
	}
	if (w.matched > 0) {
		d = np;
		pipe[np++] = (struct ac_db_pipe){ &st_deliveries, w.dv, NULL };
	}
	if (w.xa.n > 0)
		pipe[np++] = (struct ac_db_pipe){ &st_alarm_stats, w.xv, NULL };
	if (np > 0 && ac_db_pipeline(db, pipe, np) == -1) {
		rc = -1;
		goto out;
	}
	if (t >= 0) {
		long long got_open = strtoll(PQgetvalue(pipe[t].res, 0, 0), NULL, 10);
		long long got_close = strtoll(PQgetvalue(pipe[t].res, 0, 1), NULL, 10);

		if (got_open != w.nopen || got_close != w.nclose) {
			ac_warn("signal %s: %lld of %lld trades opened, %lld of %lld closed",
			    f->sid, got_open, w.nopen, got_close, w.nclose);
			rc = -2;
		}
	}
	if (d >= 0)
		*queued = strtoll(PQgetvalue(pipe[d].res, 0, 1), NULL, 10);
	for (int i = 0; i < np; i++)
		PQclear(pipe[i].res);
out:
	writes_free(&w);
	return rc;
}

/* ---- parts -------------------------------------------------------------------
 * A fan-out to many users is split by user id into parts that run at once
 * (the first on this thread, the others on threads of their own), each on
 * a connection and in a transaction of its own; the runner's transaction
 * holds only the signal and the strategy, and marks the signal processed
 * once every part has committed. Parts touch disjoint users, each locked
 * in id order, and none keeps locks while it waits for another, so no
 * wait can close a cycle the database does not see (a part in the
 * runner's transaction would hold its users while this thread waits for
 * the other parts). If a part commits and the run then fails, its users
 * stay served: the next run leaves them out (they have deliveries), and
 * every key holds as in a single transaction.
 */


void
ac_fanout_setup(int parts, int min_alarms, int head, int lead_ms, int commits)
{
	split.commits = commits < 1 ? 1 : commits;
	split.parts = parts < 1 ? 1 : parts > PARTS_MAX ? PARTS_MAX : parts;
	split.min_alarms = min_alarms;
	split.head = head > 0 ? head : 0;
	split.lead_ms = lead_ms > 0 ? lead_ms : 0;
}

/* The parts' connections (handles, connected on first use), like db's. */
static void
open_parts(struct ac_db *db)
{
	for (int i = 0; i < split.parts; i++)
		if (split.db[i] == NULL)
			split.db[i] = ac_db_new_like(db);
}

/* LISTEN (on 1) or UNLISTEN (0) AC_HEAD_CHANNEL on the head's connection:
 * for the length of one fan-out's head, so a worker does not collect the
 * heads of every other fan-out (its backend would block sending them, and
 * hold back the server's notification queue). 0, or -1. */
static int
head_listen(struct ac_db *db, int on)
{
	PGresult *res;

	if (!ac_db_ok(db, res = ac_db_query(db, on ? "LISTEN " AC_HEAD_CHANNEL :
	    "UNLISTEN " AC_HEAD_CHANNEL, 0, NULL), PGRES_COMMAND_OK))
		return -1;
	PQclear(res);
	return 0;
}

/*
 * Waits for the word (AC_HEAD_CHANNEL, from the deliver batch that takes
 * the head's messages) that the first of them are out, at most ms: until
 * then the parts, two busy backends on a host of two cores, would slow the
 * head's load and sends (the first subscriber) down. A batch says "c:<id>"
 * as it loads the head: without it within a third of ms no worker is free
 * (a lone worker, which runs the head after the parts) and the wait ends.
 * Other notifications are no one's: freed. Returns how long it waited;
 * *heard 2 if the word came, 1 if the head was only taken, 0 if nothing.
 */
static int64_t
head_wait(struct ac_db *db, long long signal_id, int ms, int *heard)
{
	int64_t t0 = ac_mono_ms(), left;
	PGconn *c = ac_db_conn(db);
	int taken_ms = ms / 3 > 0 ? ms / 3 : 1;

	*heard = 0;
	while (c != NULL && PQconsumeInput(c)) {
		struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
		PGnotify *nf;

		while ((nf = PQnotifies(c)) != NULL) {
			const char *x = nf->extra;
			int claim = strncmp(x, "c:", 2) == 0;

			if (strcmp(nf->relname, AC_HEAD_CHANNEL) == 0 &&
			    strtoll(x + (claim ? 2 : 0), NULL, 10) == signal_id &&
			    *heard < (claim ? 1 : 2))
				*heard = claim ? 1 : 2;
			PQfreemem(nf);
		}
		left = (*heard ? ms : taken_ms) - (ac_mono_ms() - t0);
		if (*heard == 2 || left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
	}
	return ac_mono_ms() - t0;	/* a broken connection: the parts reconnect */
}

void
ac_fanout_shutdown(void)
{
	for (int i = 0; i < PARTS_MAX; i++) {
		ac_db_free(split.db[i]);
		split.db[i] = NULL;
	}
}

struct part {
	struct ac_db	*db;
	const struct fan *f;
	int		 k, parts, own_tx;
	int		 commits;	/* transactions the part's users are written in */
	const char	*only;		/* the head's users (a bigint[] literal), or NULL */
	/* out */
	int		 rc;		/* 0, -1 database error, -2 trades changed underneath */
	int		 n;		/* candidates */
	long long	 matched, queued, opened;
	int64_t		 ms[3];		/* candidates, charges, writes */
	char		 error[256];
};

/* One piece of a part, its users those whose id modulo mod is at least lo
 * and below hi: read, decided and written (and committed when the part
 * has its own transaction); its counts and times added to p's. 0, or
 * p->rc. */
static int
run_piece(struct part *p, int mod, int lo, int hi)
{
	struct cand *c = NULL;
	int64_t t = ac_mono_ms();
	long long opened, matched, queued;
	int step = 0, n = 0;

	if (p->own_tx && ac_db_begin(p->db) == -1)
		return p->rc = -1;
#define STEP(call) do {							\
		if ((p->rc = (call)) != 0)				\
			goto fail;					\
		p->ms[step++] += ac_mono_ms() - t;			\
		t = ac_mono_ms();					\
	} while (0)
	STEP(candidates(p->db, p->f, mod, lo, hi, p->only, &c, &n));
	STEP(decide(p->db, p->f, c, n));
	STEP(write_all(p->db, p->f, c, n, p->only != NULL, &opened, &matched, &queued));
#undef STEP
	free(c);
	if (p->own_tx && ac_db_commit(p->db) == -1)
		return p->rc = -1;
	p->n += n;
	p->opened += opened;
	p->matched += matched;
	p->queued += queued;
	return 0;
fail:
	free(c);
	if (p->own_tx)
		ac_db_rollback(p->db);
	return p->rc;
}

/*
 * One part, start to end: in p->commits pieces when it has its own
 * transaction, one after the other, each committed, so the first pieces'
 * deliveries leave while the rest fan out. The first and the last piece
 * are half the size of the others (weights 1, 2, ..., 2, 1): the first
 * commits early, so a channel held to a rate (an SMS batch every 100 ms)
 * has its next batches before its second turn, and the last leaves
 * little to load and send once the fan-out ends. User ids modulo parts x
 * the weights' sum: part k has the k-th run of residues, each piece a run
 * of its weight.
 */
static void *
run_part(void *arg)
{
	struct part *p = arg;
	int commits = p->own_tx && p->commits > 1 ? p->commits : 1;
	int sum = commits < 3 ? commits : 2 * commits - 2, lo = p->k * sum;

	for (int j = 0; j < commits && p->rc == 0; j++) {
		int w = commits < 3 || j == 0 || j == commits - 1 ? 1 : 2;

		run_piece(p, p->parts * sum, lo, lo + w);
		lo += w;
	}
	if (p->rc == -1)
		snprintf(p->error, sizeof(p->error), "%s", ac_db_error(p->db));
	else if (p->rc == -2)
		snprintf(p->error, sizeof(p->error), "open trades changed underneath");
	return NULL;
}

/* The rehearsal's subscriber: an enabled alarm of an active user whose
 * subscription covers the strategy (one who can pay first), and the
 * strategy; no row when there is none. Its signal: a BUY at the
 * strategy's last price, received now. */
static const struct ac_stmt st_rehearse_pick = { "fanout_rehearse_pick",
	"SELECT a.strategy_id, a.user_id FROM alarms a JOIN users u ON u.id = a.user_id"
	" JOIN strategies st ON st.id = a.strategy_id"
	" JOIN subscriptions s ON s.user_id = u.id AND s.status = 'active'"
	"  AND s.period_start <= now() AND s.period_end > now()"
	" JOIN plan_strategies ps ON ps.plan_id = s.plan_id AND ps.strategy_id = a.strategy_id"
	" WHERE a.enabled AND a.on_entry AND u.status = 'active' AND st.status <> 'testing'"
	" ORDER BY u.credit_balance >= st.credit_cost DESC, a.id LIMIT 1", 0 };
static const struct ac_stmt st_rehearse_signal = { "fanout_rehearse_signal",
	"INSERT INTO signals (strategy_id, idempotency_key, raw_body, request_id, received_at,"
	" symbol, timeframe, action, price)"
	" SELECT st.id, 'rehearsal:' || gen_random_uuid(), '', 'rehearsal', now(), st.symbol,"
	" st.timeframe, 'BUY', coalesce((SELECT price FROM signals WHERE strategy_id = st.id"
	" ORDER BY id DESC LIMIT 1), 1) FROM strategies st WHERE st.id = $1 RETURNING id", 1 };

/*
 * A head of one subscriber (user uid of strategy stid) fanned out on db
 * and rolled back: a signal of the strategy inserted, loaded and served
 * (charged, its trade opened, its deliveries and their job queued), then
 * nothing of it kept. The plans ac_db_warm_plans() makes with values that
 * match no row leave the rest cold: the statements' triggers, the trades
 * function, the indexes and sequences a write touches, which cost the
 * first fan-out of each connection 20-30 ms more than the next
 * (bench/reach). The strategy and the user are locked meanwhile, a few
 * milliseconds. 1 when the rehearsal wrote, 0 when its subscriber was not
 * served, -1 on an error.
 */
static int
rehearse(struct ac_db *db, const char *stid, const char *uid)
{
	const char *vals[1] = { stid };
	/* the head's choice too (its answer is not the user picked) */
	const char *hv[4] = { stid, "1", NULL, "false" };
	struct ac_job job = { .kind = "fanout rehearsal" };
	enum ac_job_outcome out;
	long long sid = 0;
	char only[32];
	struct fan f;
	struct part p;
	PGresult *res;
	int rc = -1;

	if (ac_db_begin(db) == -1)
		return -1;
	res = ac_db_exec(db, &st_rehearse_signal, vals, NULL, NULL);
	if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		if (PQntuples(res) == 1)
			sid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	memset(&f, 0, sizeof(f));
	snprintf(only, sizeof(only), "{%s}", uid);
	if (sid > 0 && load(db, sid, &f, &job, &out) == 1 &&
	    ac_db_ok(db, res = ac_db_exec(db, &st_head, hv, NULL, NULL), PGRES_TUPLES_OK)) {
		PQclear(res);
		p = (struct part){ .db = db, .f = &f, .parts = 1, .only = only };
		rc = run_piece(&p, 1, 0, 1) == 0 ? p.queued > 0 : -1;
	}
	if (rc == -1)
		ac_debug("fan-out rehearsal: %s", ac_db_error(db));
	ac_db_rollback(db);
	return rc;
}

void
ac_fanout_warm(struct ac_db *db)
{
	static const struct ac_stmt *const st[] = { &st_load, &st_head, &st_lock_users,
	    &st_candidates, &st_head_lock_users, &st_head_candidates, &ac_ledger_charge_batch_st,
	    &st_trades, &st_deliveries, &st_alarm_stats, &st_finish };
	const int n = (int)(sizeof(st) / sizeof(st[0]));
	int64_t t = ac_mono_ms();
	int planned, more, ran = ac_db_warm_plans(db, st, n, &planned), conns = 1, rehearsed = 0;
	PGresult *res;

	if (ran > 0 && split.parts > 1) {
		open_parts(db);
		for (int i = 0; i < split.parts; i++, conns++) {
			ran += ac_db_warm_plans(split.db[i], st, n, &more);
			planned += more;
		}
	}
	if (ran > 0 && ac_db_ok(db, res = ac_db_exec(db, &st_rehearse_pick, NULL, NULL, NULL),
	    PGRES_TUPLES_OK)) {
		if (PQntuples(res) == 1) {
			rehearsed += rehearse(db, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 1;
			for (int i = 0; i < split.parts && split.parts > 1; i++)
				rehearsed += rehearse(split.db[i], PQgetvalue(res, 0, 0),
				    PQgetvalue(res, 0, 1)) == 1;
		}
		PQclear(res);
	}
	ac_info("fan-out: %d of %d statements readied (%d planned in full) on %d connections,"
	    " a fan-out rehearsed on %d, in %lld ms", ran, n * conns, planned, conns, rehearsed,
	    (long long)(ac_mono_ms() - t));
}

/* How many parts this fan-out runs in: 1 unless the strategy has at least
 * min_alarms enabled alarms (counted as the signal was loaded). */
static int
parts_for(struct ac_db *db, const struct fan *f)
{
	if (split.parts == 1 || f->alarms < split.min_alarms)
		return 1;
	open_parts(db);
	return split.parts;
}

/* The head of a split fan-out (see st_head), run and committed before the
 * parts: its users' deliveries are queued, and a worker that is free sends
 * them, while the parts go on (they leave these users out: they have
 * deliveries). 0 (p's counts say what it did), or -1 with p->error. */
static int
run_head(const struct fan *f, struct part *p)
{
	char lim[12];
	const char *vals[4] = { f->stid, lim, *f->test_user ? f->test_user : NULL,
	    f->testing ? "true" : "false" };
	PGresult *res;
	char *ids;

	snprintf(lim, sizeof(lim), "%d", split.head);
	*p = (struct part){ .db = split.db[0], .f = f, .k = 0, .parts = 1, .own_tx = 1 };
	res = ac_db_exec(p->db, &st_head, vals, NULL, NULL);
	if (!ac_db_ok(p->db, res, PGRES_TUPLES_OK)) {
		snprintf(p->error, sizeof(p->error), "%s", ac_db_error(p->db));
		return -1;
	}
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return 0;
	}
	if ((ids = strdup(PQgetvalue(res, 0, 0))) == NULL)
		abort();
	PQclear(res);
	p->only = ids;
	run_part(p);
	p->only = NULL;
	free(ids);
	return p->rc == 0 ? 0 : -1;
}

enum ac_job_outcome
ac_fanout_job(struct ac_db *db, struct ac_job *job)
{
	int64_t started = ac_mono_ms();
	long long signal_id = payload_id(job, "signal_id"), matched = 0, queued = 0, opened = 0;
	enum ac_job_outcome rc = AC_JOB_DONE;
	struct part part[PARTS_MAX], head = { 0 };
	pthread_t tid[PARTS_MAX];
	int threaded[PARTS_MAX] = { 0 };
	char ms[24], commits[40] = "";
	const char *vals[2];
	struct fan f;
	PGresult *res;
	int r, parts, n = 0, failed = -1;
	int64_t head_ms = 0, lead_ms = 0;
	int heard = 0, listening = 0;
	memset(&f, 0, sizeof(f));
	if (signal_id == 0)
		return job_error(job, AC_JOB_FAIL, "payload has no signal_id");
	if ((r = load(db, signal_id, &f, job, &rc)) <= 0)
		return r == 0 ? rc : job_error(job, AC_JOB_RETRY, "signal %lld: %s", signal_id,
		    ac_db_error(db));
	parts = parts_for(db, &f);
	if (parts > 1 && split.head > 0) {
		listening = split.lead_ms > 0 && head_listen(split.db[0], 1) == 0;
		head_ms = ac_mono_ms();
		r = run_head(&f, &head);
		head_ms = ac_mono_ms() - head_ms;
		if (r == -1) {
			if (listening)
				head_listen(split.db[0], 0);	/* a failure: logged */
			return job_error(job, AC_JOB_RETRY, "signal %lld, its head: %s", signal_id,
			    head.error);
		}
		n += head.n;
		matched += head.matched;
		queued += head.queued;
		opened += head.opened;
		/* the head's messages are being loaded by a free worker: on a
		 * host with few cores, the parts would slow that down */
		if (head.queued > 0 && listening)
			lead_ms = head_wait(split.db[0], signal_id, split.lead_ms, &heard);
		if (listening && head_listen(split.db[0], 0) == -1)
			ac_debug("signal %lld: UNLISTEN: %s", signal_id, ac_db_error(split.db[0]));
	}
	memset(part, 0, sizeof(part));
	for (int k = 0; k < parts; k++) {
		part[k] = (struct part){ .db = parts > 1 ? split.db[k] : db, .f = &f, .k = k,
		    .parts = parts, .own_tx = parts > 1, .commits = split.commits };
		if (k > 0 && ac_thread_start(&tid[k], run_part, &part[k]) == 0)
			threaded[k] = 1;
	}
	run_part(&part[0]);
	for (int k = 1; k < parts; k++) {
		if (threaded[k])
			pthread_join(tid[k], NULL);
		else		/* no thread: run it here, after */
			run_part(&part[k]);
	}
	for (int k = 0; k < parts; k++) {
		if (part[k].rc != 0 && failed < 0)
			failed = k;
		n += part[k].n;
		matched += part[k].matched;
		queued += part[k].queued;
		opened += part[k].opened;
	}
	if (failed >= 0)
		return job_error(job, AC_JOB_RETRY, "signal %lld, part %d of %d: %s", signal_id,
		    failed + 1, parts, part[failed].error);
	snprintf(ms, sizeof(ms), "%lld", (long long)(ac_mono_ms() - started));
	if (parts > 1 && split.commits > 1)
		snprintf(commits, sizeof(commits), " of %d commits each", split.commits);
	vals[0] = f.sid;
	vals[1] = ms;
	res = ac_db_exec(db, &st_finish, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return job_error(job, AC_JOB_RETRY, "signal %lld: %s", signal_id, ac_db_error(db));
	PQclear(res);
	ac_info("signal %lld: %d candidates, %lld matched, %lld deliveries queued, "
	    "%lld trades opened, %lld ms in %d part%s%s after a head of %d (%lld ms: candidates %lld,"
	    " charges %lld, writes %lld ms, then commit and %lld ms waiting for its first requests"
	    " to be out%s; part 1: candidates %lld, charges %lld, writes %lld ms, then commit)",
	    signal_id, n, matched,
	    queued, opened, (long long)(ac_mono_ms() - started), parts, parts == 1 ? "" : "s",
	    commits,
	    head.n, (long long)head_ms, (long long)head.ms[0], (long long)head.ms[1],
	    (long long)head.ms[2], (long long)lead_ms,
	    lead_ms == 0 || heard == 2 ? "" : heard == 1 ? " (taken, not yet out: the longest wait)" :
	    " (no worker free to take it)",
	    (long long)part[0].ms[0], (long long)part[0].ms[1],
	    (long long)part[0].ms[2]);
	return AC_JOB_DONE;
}

static const struct ac_stmt st_list = { "fanout_deliveries_list",
	"SELECT json_build_object('signal_id', s.id, 'status', s.status,"
	" 'matched_users', s.matched_users, 'processing_ms', s.processing_ms,"
	" 'deliveries', coalesce((SELECT json_agg(json_build_object('id', d.id,"
	"  'user_id', d.user_id, 'email', u.email, 'channel', d.channel, 'kind', d.kind,"
	"  'status', d.status, 'skip_reason', d.skip_reason, 'provider', d.provider,"
	"  'attempts', d.attempts, 'sent_at', d.sent_at, 'error', d.error)"
	"  ORDER BY d.user_id, d.channel) FROM deliveries d JOIN users u ON u.id = d.user_id"
	"  WHERE d.signal_id = s.id), '[]'))"
	" FROM signals s WHERE s.id = $1", 1 };

json_t *
ac_fanout_deliveries(struct ac_db *db, long long signal_id, int *found)
{
	char sid[24];
	const char *vals[1] = { sid };

	snprintf(sid, sizeof(sid), "%lld", signal_id);
	return ac_db_json(db, &st_list, vals, found);
}
