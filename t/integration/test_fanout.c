/*
 * test_fanout.c — the fan-out against the real stack: acctl's scenario
 * commands, an alert through nginx and ac-hook, ac-worker draining the
 * fanout and deliver jobs, and the results read back by SQL.
 *
 *  - every skip reason, each alarm filter, the acctl refusals;
 *  - re-running a done fan-out (in-process, and re-queued) changes nothing;
 *  - one signal to 1,000 users with mixed balances charges exactly those
 *    whose balance covers the plan's cost;
 *  - 20 rounds of kill -9 on an ac-worker in the middle of fan-outs (many
 *    signals, many users), then a normal drain: balances equal their
 *    ledgers and are >= 0, nobody is charged twice for a signal, every
 *    eligible user has one delivery per channel, no job is lost.
 *
 * Environment (t/integration/run): AC_DATABASE_URL, AC_TEST_ACCTL,
 * AC_TEST_BASE_URL, SRC (for templates/); AC_TEST_WORKER or ac-worker
 * beside acctl; AC_TEST_OUT for the workers' logs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/db.h"
#include "work/fanout.h"
#include "itest.h"

/* 1 if a line of the worker's log has both a and b. */
static int
worker_logged(const char *a, const char *b)
{
	char line[8192];

	return it_log_line("test_fanout-worker.log", a, b, line, sizeof(line));
}

/* Runs acctl (NULL-terminated args) and asserts it exits with want. */
static json_t *
acctl(int want, ...)
{
	const char *a[24];
	va_list ap;
	json_t *o;
	int n = 0, st;

	va_start(ap, want);
	while (n < 23 && (a[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	a[n] = NULL;
	o = it_acctl(&st, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
	    a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], NULL);
	if (st != want)
		fail_msg("acctl %s %s: exit %d, wanted %d", a[0], a[1] ? a[1] : "", st, want);
	return o;
}

/* A unique email for tag. */
static const char *
email(const char *tag, char *buf, size_t sz)
{
	char hex[9];

	it_rand_hex(hex, 8);
	snprintf(buf, sz, "%s.%s@example.com", tag, hex);
	return buf;
}

/* A signal for strategy st with its fanout job (at priority), stored as
 * ac-hook does; tp and sl "" when absent. */
static long long
signal_new(long long st, const char *action, const char *price, const char *tp,
    const char *sl, const char *priority)
{
	char sid[24], key[17];

	snprintf(sid, sizeof(sid), "%lld", st);
	it_rand_hex(key, 16);
	return it_q_ll("WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	    " received_at, symbol, timeframe, action, price, take_profit, stop_loss)"
	    " SELECT id, $2, '{}', now(), symbol, timeframe, $3, $4, nullif($5, '')::numeric,"
	    " nullif($6, '')::numeric FROM strategies"
	    " WHERE id = $1 RETURNING id),"
	    " j AS (INSERT INTO jobs (kind, payload, unique_key, priority) SELECT 'fanout',"
	    " jsonb_build_object('signal_id', id), 'fanout:' || id, $7 FROM s)"
	    " SELECT id FROM s", sid, key, action, price, tp, sl, priority, NULL);
}

/* n users named <tag>.<i>@example.com subscribed to plan with alarms on
 * strategy for channels, and credits[i % ncredits] credits each, all by SQL. */
static void
users_bulk(const char *tag, int n, long long plan, long long strategy, const char *channels,
    const char *credits)
{
	char sn[16], sp[24], ss[24];

	snprintf(sn, sizeof(sn), "%d", n);
	snprintf(sp, sizeof(sp), "%lld", plan);
	snprintf(ss, sizeof(ss), "%lld", strategy);
	PQclear(it_q("WITH u AS (INSERT INTO users (email, password_hash, telegram_chat_id, phone)"
	    " SELECT $1 || '.' || i || '@example.com', 'x', (abs(hashtext($1)) * 100000::bigint + i)::text,"
	    " '+1555' || lpad(i::text, 7, '0')"
	    " FROM generate_series(1, $2::int) i RETURNING id, email),"
	    " s AS (INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " SELECT id, $3, 'active', now() - interval '1 day', now() + interval '30 days' FROM u"
	    " RETURNING id, user_id)"
	    " INSERT INTO alarms (user_id, strategy_id, subscription_id, channels)"
	    " SELECT user_id, $4, id, $5::text[] FROM s", tag, sn, sp, ss, channels, NULL));
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " SELECT u.id, c.amount, 'grant', 'test', 'test:' || u.id FROM users u,"
	    " LATERAL (SELECT ($2::int[])[1 + (split_part(split_part(u.email, '@', 1), '.', 2)::int"
	    " % cardinality($2::int[]))] AS amount) c"
	    " WHERE u.email LIKE $1 || '.%' AND c.amount > 0", tag, credits, NULL));
}

/* A plan covering strategy, by SQL; credit_cost "": the strategy's. */
static long long
plan_new(long long strategy, const char *credit_cost)
{
	char ss[24], name[24];

	snprintf(ss, sizeof(ss), "%lld", strategy);
	it_rand_hex(name, 12);
	return it_q_ll("WITH p AS (INSERT INTO plans (name, price_minor, credits_per_period,"
	    " credit_cost) VALUES ($1, 100, 0, nullif($3, '')::int) RETURNING id),"
	    " s AS (INSERT INTO plan_strategies SELECT id, $2 FROM p)"
	    " SELECT id FROM p", name, ss, credit_cost, NULL);
}

/* The invariants that hold whatever happened. */
static void
check_ledger(void)
{
	assert_int_equal(it_q_ll("SELECT count(*) FROM users u WHERE credit_balance < 0"
	    " OR credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_ledger l"
	    " WHERE l.user_id = u.id)", NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT 1 FROM credit_ledger"
	    " WHERE kind = 'usage' GROUP BY reference, user_id HAVING count(*) > 1) x", NULL), 0);
}

/* Every alarm holder of the signals' strategies that was matched has one
 * delivery per channel; charged exactly when served. */
static void
check_deliveries(const char *signal_ids)
{
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals s JOIN alarms a"
	    " ON a.strategy_id = s.strategy_id WHERE s.id = ANY ($1::bigint[])"
	    " AND (SELECT count(*) FROM deliveries d WHERE d.signal_id = s.id"
	    " AND d.user_id = a.user_id) NOT IN (0, cardinality(a.channels))", signal_ids, NULL), 0);
	/* served (a channel queued or sent) exactly when charged */
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT d.signal_id, d.user_id,"
	    " bool_or(d.skip_reason IS NULL) AS served FROM deliveries d WHERE d.signal_id ="
	    " ANY ($1::bigint[]) GROUP BY 1, 2) x WHERE x.served <> EXISTS (SELECT 1 FROM"
	    " credit_ledger l WHERE l.idempotency_key = 'signal:' || x.signal_id || ':user:'"
	    " || x.user_id)", signal_ids, NULL), 0);
}

/* ---- skip reasons, filters, commands ------------------------------------- */

static void
test_skip_reasons(void **state)
{
	struct it_strategy s;
	char e_ok[96], e_pref[96], e_poor[96], e_cap[96], e_toggle[96], e_price[96], e_gone[96],
	    e_susp[96], e_none[96], sid[24], path[64], *body;
	json_t *o, *d;
	struct it_resp r;
	long long signal;
	size_t i;
	const char *who[][3] = {	/* email, plan, extra alarm option */
		{ email("ok", e_ok, 96), "Paid", NULL }, { email("pref", e_pref, 96), "Paid", NULL },
		{ email("poor", e_poor, 96), "Free", NULL }, { email("cap", e_cap, 96), "Paid", NULL },
		{ email("toggle", e_toggle, 96), "Paid", "--no-entry" },
		{ email("price", e_price, 96), "Paid", "--min-price=50000" },
		{ email("gone", e_gone, 96), "Paid", NULL },
		{ email("susp", e_susp, 96), "Paid", NULL },
	};
	char paid[40], free_[40];

	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	it_rand_hex(paid, 10);
	it_rand_hex(free_, 10);
	strcat(paid, "-paid");
	strcat(free_, "-free");
	json_decref(acctl(0, "plan", "add", "--name", paid, "--price-cents", "99900", "--currency",
	    "inr", "--months", "1", "--credits", "5", "--strategies", sid, NULL));
	json_decref(acctl(0, "plan", "add", "--name", free_, "--price-cents", "0", "--currency",
	    "INR", "--months", "1", "--credits", "0", "--strategies", sid, NULL));
	json_decref(acctl(1, "plan", "add", "--name", paid, "--price-cents", "1", "--currency",
	    "INR", "--months", "1", "--credits", "0", "--strategies", sid, NULL));
	json_decref(acctl(1, "plan", "add", "--name", "bad", "--price-cents", "-1", "--currency",
	    "INR", "--months", "1", "--credits", "0", "--strategies", sid, NULL));
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		json_decref(acctl(0, "user", "add", "--email", who[i][0], "--password", "secret-pw",
		    "--telegram-chat-id", i == 0 ? "4242001" : i == 1 ? "4242002" : "4242003",
		    "--phone", "+15551230000", NULL));
		if (i == 2)	/* one chat id a user */
			break;
	}
	for (i = 3; i < sizeof(who) / sizeof(who[0]); i++)
		json_decref(acctl(0, "user", "add", "--email", who[i][0], "--password", "secret-pw",
		    NULL));
	json_decref(acctl(1, "user", "add", "--email", e_ok, "--password", "secret-pw", NULL));
	json_decref(acctl(1, "user", "add", "--email", email("tz", e_none, 96), "--password",
	    "secret-pw", "--timezone", "Mars/Olympus", NULL));
	json_decref(acctl(1, "user", "add", "--email", e_none, "--password", "short", NULL));
	/* not covered by any plan: refused */
	json_decref(acctl(0, "user", "add", "--email", email("none", e_none, 96), "--password",
	    "secret-pw", NULL));
	json_decref(acctl(1, "alarm", "add", "--email", e_none, "--strategy", sid, "--channels",
	    "email", NULL));
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		json_decref(acctl(0, "subscribe", "--email", who[i][0], "--plan",
		    strcmp(who[i][1], "Paid") == 0 ? paid : free_, NULL));
		json_decref(acctl(0, "alarm", "add", "--email", who[i][0], "--strategy", sid,
		    "--channels", "email,telegram,sms,push", who[i][2], NULL));
	}
	json_decref(acctl(1, "alarm", "add", "--email", e_ok, "--strategy", sid, "--channels",
	    "email,fax", NULL));
	json_decref(acctl(1, "subscribe", "--email", e_ok, "--plan", "no such plan", NULL));
	/* credits: the plan's 5 plus a grant; the ledger explains the balance */
	o = acctl(0, "credits", "grant", "--email", e_ok, "--amount", "3", "--reason", "goodwill",
	    NULL);
	assert_int_equal(json_integer_value(json_object_get(o, "balance")), 8);
	json_decref(o);
	json_decref(acctl(1, "credits", "grant", "--email", e_ok, "--amount", "0", "--reason", "x",
	    NULL));
	PQclear(it_q("UPDATE users SET notify_sms = false WHERE email = $1", e_pref, NULL));
	PQclear(it_q("UPDATE users SET max_daily_alerts = 0 WHERE email = $1", e_cap, NULL));
	PQclear(it_q("UPDATE subscriptions SET status = 'expired' WHERE user_id ="
	    " (SELECT id FROM users WHERE email = $1)", e_gone, NULL));
	PQclear(it_q("UPDATE users SET status = 'suspended' WHERE email = $1", e_susp, NULL));

	/* the alert through nginx and ac-hook, then the worker */
	body = it_alert(&s, "buy", 42000, 42840, 41160, it_now_ms());
	it_post(&r, s.path, "application/json", body);
	free(body);
	assert_int_equal(r.status, 202);
	signal = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	assert_true(signal > 0);
	it_drain("test_fanout-worker.log");

	snprintf(path, sizeof(path), "%lld", signal);
	o = acctl(0, "deliveries", "--signal", path, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "processed");
	assert_int_equal(json_integer_value(json_object_get(o, "matched_users")), 4);
	d = json_object_get(o, "deliveries");
	assert_int_equal(json_array_size(d), 16);
	json_decref(o);
	/* the served user: sent on every reachable channel, push has no id */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.status = 'sent' AND d.provider = 'outbox'"
	    " AND d.message LIKE '%' || $3 || '%42,000%' AND d.channel IN ('email', 'telegram', 'sms')",
	    path, e_ok, s.symbol, NULL), 3);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.channel = 'push'"
	    " AND d.skip_reason = 'no_address'", path, e_ok, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.channel = 'sms'"
	    " AND d.skip_reason = 'preference'", path, e_pref, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.skip_reason = 'no_credits'"
	    " AND d.message IS NULL", path, e_poor, NULL), 4);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.skip_reason = 'daily_cap'",
	    path, e_cap, NULL), 4);
	/* charged: ok and pref (1 each, the strategy's cost); not poor, not cap */
	o = acctl(0, "credits", "show", "--email", e_ok, NULL);
	assert_int_equal(json_integer_value(json_object_get(o, "balance")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "ledger_sum")), 7);
	json_decref(o);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE email = $1", e_cap, NULL), 5);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger l JOIN users u ON u.id = l.user_id"
	    " WHERE l.idempotency_key = 'signal:' || $1 || ':user:' || u.id", path, NULL), 2);
	/* trades: one each for the served users */
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1"
	    " AND status = 'open' AND side = 'BUY' AND take_profit = 42840", path, NULL), 2);
	assert_int_equal(it_q_ll("SELECT total_alerts * 10 + total_trades FROM strategies"
	    " WHERE id = $1", sid, NULL), 12);
	json_decref(acctl(1, "deliveries", "--signal", "999999999", NULL));
	json_decref(acctl(1, "credits", "show", "--email", "nobody@example.com", NULL));
	check_ledger();

	/* re-running changes nothing: in-process, and re-queued for the worker */
	{
		const char *snap = "SELECT (SELECT count(*) FROM credit_ledger) * 1000000"
		    " + (SELECT count(*) FROM deliveries) * 1000 + (SELECT count(*) FROM trades)"
		    " + (SELECT sum(credit_balance) FROM users) * 100000000"
		    " + (SELECT count(*) FROM jobs) * 10000000000";
		long long before = it_q_ll(snap, NULL);
		struct ac_db *db = ac_db_new(it_env("AC_DATABASE_URL"), "test_fanout", 5, 0);
		struct ac_job job = { .id = 0, .kind = "fanout" };

		job.payload = json_pack("{s:I}", "signal_id", (json_int_t)signal);
		assert_int_equal(ac_db_begin(db), 0);
		assert_int_equal(ac_fanout_job(db, &job), AC_JOB_DONE);
		assert_int_equal(ac_db_commit(db), 0);
		json_decref(job.payload);
		ac_db_free(db);
		PQclear(it_q("UPDATE jobs SET state = 'pending', run_at = now(), attempts = 0"
		    " WHERE unique_key = 'fanout:' || $1 OR unique_key IN (SELECT 'deliver:' || id"
		    " FROM deliveries WHERE signal_id = $1::bigint)", path, NULL));
		it_drain("test_fanout-worker.log");
		assert_int_equal(it_q_ll(snap, NULL), before);
		assert_int_equal(it_q_ll("SELECT total_alerts FROM strategies WHERE id = $1", sid,
		    NULL), 1);
	}
}

/* ---- 1,000 users, mixed balances ------------------------------------------ */

static void
test_thousand_users(void **state)
{
	struct it_strategy s;
	char tag[24], sid[24], sid2[24], ids[32];
	long long plan, signal;

	it_strategy_new(&s, "4h", NULL);
	plan = plan_new(s.id, "2");
	it_rand_hex(tag, 10);
	/* balances cycle 0, 1, 2, 5, 3: the plan's cost is 2 */
	users_bulk(tag, 1000, plan, s.id, "{email,telegram}", "{0,1,2,5,3}");
	/* the 10 last also hold a plan with priority (of another strategy), the
	 * one before them held one that has ended */
	PQclear(it_q("WITH p AS (INSERT INTO plans (name, price_minor, priority_support)"
	    " VALUES ('prio-' || $1, 100, true) RETURNING id),"
	    " u AS (SELECT id, row_number() OVER (ORDER BY id DESC) AS r FROM users"
	    "  WHERE email LIKE $1 || '.%')"
	    " INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " SELECT u.id, p.id, CASE WHEN u.r <= 10 THEN 'active' ELSE 'expired' END,"
	    " now() - interval '1 day', now() + interval '30 days' FROM u, p WHERE u.r <= 11",
	    tag, NULL));
	signal = signal_new(s.id, "SELL", "2500", "2400", "2600", "0");
	snprintf(sid, sizeof(sid), "%lld", signal);
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT matched_users FROM signals WHERE id = $1", sid, NULL), 1000);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE reference = 'signal:' || $1"
	    " AND amount = -2", sid, NULL), 600);
	/* exactly those with 2 or more, each down by 2 */
	assert_int_equal(it_q_ll("SELECT count(*) FROM users u WHERE u.email LIKE $1 || '.%'"
	    " AND (credit_balance = (SELECT sum(amount) FROM credit_ledger l WHERE l.user_id = u.id"
	    " AND kind = 'grant') - 2) <> EXISTS (SELECT 1 FROM credit_ledger l WHERE"
	    " l.idempotency_key = 'signal:' || $2 || ':user:' || u.id)", tag, sid, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND skip_reason = 'no_credits'", sid, NULL), 800);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND status = 'sent'", sid, NULL), 1200);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1"
	    " AND side = 'SELL'", sid, NULL), 600);
	snprintf(ids, sizeof(ids), "{%lld}", signal);
	check_deliveries(ids);
	check_ledger();
	/* 1,000 alarms: the fan-out ran in parts (AC_FANOUT_SPLIT_MIN), each in four
	 * transactions (AC_FANOUT_PART_COMMITS), and served each user once */
	snprintf(ids, sizeof(ids), "signal %lld: ", signal);
	if (!worker_logged(ids, "in 2 parts of 4 commits each after a head of 25"))
		fail_msg("the worker's log has no \"%s... in 2 parts of 4 commits each after a head"
		    " of 25\"", ids);
	/* one worker (--once): no one takes the head meanwhile, and the parts
	 * wait no longer than it takes to see that */
	if (!worker_logged(ids, "to be out (no worker free to take it);"))
		fail_msg("the worker's log has no \"%s... (no worker free to take it)\"", ids);
	/* the head (AC_FANOUT_HEAD: the 10 with priority, then the lowest
	 * ids) committed before the parts: its deliveries are the first */
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT user_id FROM deliveries"
	    " WHERE signal_id = $1 ORDER BY id LIMIT 50) d WHERE d.user_id IN (SELECT u.id"
	    " FROM users u WHERE u.email LIKE $2 || '.%' ORDER BY u.id DESC LIMIT 10)"
	    " OR d.user_id IN (SELECT u.id FROM users u WHERE u.email LIKE $2 || '.%'"
	    " ORDER BY u.id LIMIT 15)", sid, tag, NULL), 50);
	/* a BUY then closes the SELL of each user who can pay for it (those who
	 * had 5, 3 left), the head's and the parts' alike, each found by its
	 * key (sql/031_fanout_trades_keys.sql) */
	signal = signal_new(s.id, "BUY", "2400", "", "", "0");
	snprintf(sid2, sizeof(sid2), "%lld", signal);
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1"
	    " AND side = 'BUY' AND status = 'open'", sid2, NULL), 200);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1"
	    " AND exit_signal_id = $2 AND status = 'closed' AND exit_reason = 'OPPOSITE'"
	    " AND exit_price = 2400 AND pnl_amount > 0", sid, sid2, NULL), 200);
	/* no one else's closed, the head's users' among them */
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades t WHERE t.entry_signal_id = $1"
	    " AND (t.status = 'open') = EXISTS (SELECT 1 FROM trades n WHERE n.entry_signal_id = $2"
	    " AND n.user_id = t.user_id)", sid, sid2, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades t JOIN (SELECT DISTINCT user_id FROM"
	    " (SELECT user_id FROM deliveries WHERE signal_id = $2 ORDER BY id LIMIT 50) d) h"
	    " USING (user_id)"
	    " WHERE t.entry_signal_id = $1 AND t.exit_signal_id = $2", sid, sid2, NULL), 5);
	check_ledger();
}

/* The daily cap counts signals served since the user's local midnight from
 * daily_signals (sql/021_daily_signals.sql), kept by the deliveries' insert:
 * a signal served on two channels counts once, a skipped one not at all,
 * deliveries written by SQL count too, and the counter always equals the
 * count from deliveries, also after a change of time zone. */
static void
test_daily_cap_counter(void **state)
{
	struct it_strategy s;
	char tag[24], sid[24], uid[24];
	long long plan, signal, user;
	const char *same = "SELECT count(*) FROM users u WHERE u.email LIKE $1 || '.%' AND"
	    " coalesce((SELECT n.signals FROM daily_signals n WHERE n.user_id = u.id"
	    " AND n.day = (now() AT TIME ZONE u.timezone)::date), 0) <>"
	    " (SELECT count(DISTINCT d.signal_id) FROM deliveries d WHERE d.user_id = u.id"
	    " AND d.created_at >= date_trunc('day', now() AT TIME ZONE u.timezone)"
	    " AT TIME ZONE u.timezone AND d.skip_reason IS NULL)";

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 2, plan, s.id, "{email,telegram}", "{50}");
	PQclear(it_q("UPDATE users SET max_daily_alerts = 3, timezone = 'Pacific/Kiritimati'"
	    " WHERE email LIKE $1 || '.%'", tag, NULL));
	user = it_q_ll("SELECT min(id) FROM users WHERE email LIKE $1 || '.%'", tag, NULL);
	snprintf(uid, sizeof(uid), "%lld", user);
	/* one signal of today delivered by SQL to the first user (two channels,
	 * one skipped): it counts once */
	signal = signal_new(s.id, "BUY", "100", "", "", "0");
	snprintf(sid, sizeof(sid), "%lld", signal);
	PQclear(it_q("UPDATE signals SET status = 'processed' WHERE id = $1", sid, NULL));
	PQclear(it_q("DELETE FROM jobs WHERE unique_key = 'fanout:' || $1", sid, NULL));
	PQclear(it_q("INSERT INTO deliveries (signal_id, user_id, channel, kind, status, skip_reason)"
	    " VALUES ($1, $2, 'email', 'entry', 'sent', NULL),"
	    " ($1, $2, 'telegram', 'entry', 'skipped', 'preference')", sid, uid, NULL));
	assert_int_equal(it_q_ll(same, tag, NULL), 0);
	/* three fan-outs: the first user is served twice then capped, the other
	 * three times */
	for (int i = 0; i < 3; i++)
		signal = signal_new(s.id, i % 2 ? "SELL" : "BUY", "100", "", "", "0");
	it_drain("test_fanout-worker.log");
	snprintf(sid, sizeof(sid), "%lld", signal);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND user_id = $2 AND skip_reason = 'daily_cap'", sid, uid, NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE u.email LIKE $1 || '.%' AND d.skip_reason = 'daily_cap'", tag, NULL), 2);
	assert_int_equal(it_q_ll("SELECT sum(signals) FROM daily_signals n JOIN users u"
	    " ON u.id = n.user_id WHERE u.email LIKE $1 || '.%'", tag, NULL), 6);
	assert_int_equal(it_q_ll(same, tag, NULL), 0);
	/* a day that began 26 hours later: counted again in the new zone */
	PQclear(it_q("UPDATE users SET timezone = 'Pacific/Pago_Pago' WHERE email LIKE $1 || '.%'",
	    tag, NULL));
	assert_int_equal(it_q_ll(same, tag, NULL), 0);
	/* a delivery that becomes skipped no longer counts */
	PQclear(it_q("UPDATE deliveries SET status = 'skipped', skip_reason = 'preference'"
	    " WHERE user_id = $1 AND channel = 'email' AND skip_reason IS NULL", uid, NULL));
	assert_int_equal(it_q_ll(same, tag, NULL), 0);
	check_ledger();
}

/* The SQLSTATE of sql run on the harness's connection ("" when it worked). */
static char *
sqlstate_of(const char *sql, char *buf, size_t bufsz)
{
	PGresult *r = PQexec(it_db(), sql);
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	snprintf(buf, bufsz, "%s", st ? st : "");
	PQclear(r);
	return buf;
}

/* The fan-out's tables keep their foreign keys (checked once per statement,
 * sql/007_fanout_keys.sql): a row pointing at nothing is refused, a row
 * still pointed at cannot be deleted, a deleted alarm leaves its
 * deliveries without its id. */
static void
test_keys(void **state)
{
	struct it_strategy s;
	char tag[24], sql[512], st[8];
	long long plan, signal, user, alarm, missing, lone;

	it_strategy_new(&s, "12h", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 3, plan, s.id, "{telegram}", "{5}");
	signal = signal_new(s.id, "BUY", "300", "330", "270", "0");
	it_drain("test_fanout-worker.log");
	user = it_q_ll("SELECT min(id) FROM users WHERE email LIKE $1 || '.%'", tag, NULL);
	missing = it_q_ll("SELECT max(id) + 1000 FROM users", NULL);
	snprintf(sql, sizeof(sql), "INSERT INTO trades (trade_number, user_id, strategy_id, symbol,"
	    " timeframe, side, entry_price) VALUES (99, %lld, %lld, 'X', '1h', 'BUY', 1)",
	    missing, s.id);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	snprintf(sql, sizeof(sql), "INSERT INTO deliveries (signal_id, user_id, channel, kind)"
	    " VALUES (%lld, %lld, 'email', 'entry')", signal + 100000, user);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	snprintf(sql, sizeof(sql), "INSERT INTO credit_ledger (user_id, amount, kind,"
	    " idempotency_key) VALUES (%lld, 5, 'grant', 'it-keys-%s')", missing, tag);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	snprintf(sql, sizeof(sql), "UPDATE trades SET exit_signal_id = %lld WHERE user_id = %lld",
	    signal + 100000, user);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	/* an update is checked only where it changes a key: a delivery whose
	 * alarm vanished under it (a race the schema allows) still updates */
	snprintf(sql, sizeof(sql), "ALTER TABLE deliveries DISABLE TRIGGER deliveries_keys_insert;"
	    " INSERT INTO deliveries (signal_id, user_id, alarm_id, channel, kind) VALUES"
	    " (%lld, %lld, %lld, 'sms', 'entry');"
	    " ALTER TABLE deliveries ENABLE TRIGGER deliveries_keys_insert", signal, user, missing);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "");
	snprintf(sql, sizeof(sql), "UPDATE deliveries SET status = 'sent', sent_at = now()"
	    " WHERE signal_id = %lld AND user_id = %lld AND channel = 'sms'", signal, user);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "");
	snprintf(sql, sizeof(sql), "UPDATE deliveries SET user_id = %lld"
	    " WHERE signal_id = %lld AND user_id = %lld AND channel = 'sms'", missing, signal, user);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	/* referenced rows stay */
	snprintf(sql, sizeof(sql), "DELETE FROM signals WHERE id = %lld", signal);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	/* a user with nothing but credits (no alarm, no subscription) */
	lone = it_q_ll("INSERT INTO users (email, password_hash) VALUES ('lone.' || $1"
	    " || '@example.com', 'x') RETURNING id", tag, NULL);
	snprintf(sql, sizeof(sql), "INSERT INTO credit_ledger (user_id, amount, kind,"
	    " idempotency_key) VALUES (%lld, 5, 'grant', 'it-keys-lone-%lld')", lone, lone);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "");
	snprintf(sql, sizeof(sql), "DELETE FROM users WHERE id = %lld", lone);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "23503");
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1",
	    (snprintf(tag, sizeof(tag), "%lld", signal), tag), NULL), 3);
	/* what is allowed still is */
	snprintf(sql, sizeof(sql), "INSERT INTO credit_ledger (user_id, amount, kind,"
	    " idempotency_key) VALUES (%lld, 5, 'grant', 'it-keys-ok-%lld')", user, user);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "");
	alarm = it_q_ll("SELECT alarm_id FROM deliveries WHERE signal_id = $1 AND user_id = $2"
	    " AND channel = 'telegram'",
	    tag, (snprintf(sql, sizeof(sql), "%lld", user), sql), NULL);
	assert_true(alarm > 0);
	snprintf(sql, sizeof(sql), "DELETE FROM alarms WHERE id = %lld", alarm);
	assert_string_equal(sqlstate_of(sql, st, sizeof(st)), "");
	snprintf(sql, sizeof(sql), "%lld", user);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND user_id = $2 AND channel = 'telegram' AND alarm_id IS NULL", tag, sql, NULL), 1);
	check_ledger();
	(void)state;
}

/* n users of a new 4h strategy and plan (cost 1), telegram only, 5
 * credits each, and a BUY for them queued; its id, also as text in sid. */
static long long
telegram_buy(int n, char *sid, size_t sidsz)
{
	struct it_strategy s;
	long long plan, signal;
	char tag[24];

	it_strategy_new(&s, "4h", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, n, plan, s.id, "{telegram}", "{5}");
	signal = signal_new(s.id, "BUY", "300", "330", "270", "0");
	snprintf(sid, sidsz, "%lld", signal);
	return signal;
}

/* A worker that is to listen readies its connections first: every
 * statement of a fan-out, on its own connection and each part's, and of a
 * deliver batch runs once with NULL parameters and is rolled back; then,
 * on each connection, a head of one subscriber is fanned out for real and
 * rolled back. Each ran (none refused its NULLs), nothing was written, and
 * the worker then serves a fan-out as ever. */
static void
test_worker_warms(void **state)
{
	/* what only a fan-out (or an alert) writes (the worker's sweeps may
	 * write the rest) */
	static const char *const tables[] = { "trades", "deliveries", "daily_signals", "signals",
	    "credit_ledger" };
	const char *log = "test_fanout-warm.log";
	char path[1024], line[8192], sql[128], sid[24];
	long long before[5];
	int ran, of, planned, conns, rehearsed, scripts, tmpls, hosts, i, tries;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", it_env("AC_TEST_OUT"), log);
	unlink(path);
	for (i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		before[i] = it_q_ll(sql, NULL);
	}
	pid = it_worker_start(log, "--for", "30", NULL);
	assert_true(it_log_wait(log, ": listening,", "", line, sizeof(line), 10000));
	assert_true(it_log_line(log, "fan-out: ", "statements readied", line, sizeof(line)));
	assert_int_equal(sscanf(strstr(line, "fan-out: "),
	    "fan-out: %d of %d statements readied (%d planned in full) on %d connections,"
	    " a fan-out rehearsed on %d,", &ran, &of, &planned, &conns, &rehearsed), 5);
	/* a subscriber of the strategies before served on each connection, all
	 * of it rolled back (below: nothing written) */
	assert_int_equal(rehearsed, conns);
	assert_int_equal(planned, of);	/* the neutral values narrowed each to no row */
	assert_int_equal(ran, of);
	assert_true(conns >= 1 && of == 11 * conns);
	assert_true(it_log_line(log, "deliver: ", "templates and", line, sizeof(line)));
	assert_int_equal(sscanf(strstr(line, "deliver: "), "deliver: %d of %d statements (%d"
	    " planned in full), %d templates and %d Redis scripts readied, %d provider host",
	    &ran, &of, &planned, &tmpls, &scripts, &hosts), 6);
	assert_int_equal(planned, of);
	assert_int_equal(hosts, 0);	/* no provider is set up in this suite */
	assert_int_equal(tmpls, 23);	/* every signal template of every channel */
	assert_int_equal(ran, of);
	assert_true(of > 0);
	assert_int_equal(scripts, 4);	/* the rate limits' and breakers' */
	for (i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		assert_int_equal(it_q_ll(sql, NULL), before[i]);
	}
	check_ledger();	/* and every balance as its ledger says */
	/* and then it fans out */
	telegram_buy(40, sid, sizeof(sid));
	for (tries = 0; tries < 200 && it_q_ll("SELECT count(*) FROM signals WHERE id = $1"
	    " AND status = 'processed'", sid, NULL) == 0; tries++)
		usleep(50 * 1000);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1", sid,
	    NULL), 40);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE reference = 'signal:'"
	    " || $1", sid, NULL), 40);
	kill(pid, SIGTERM);
	assert_int_equal(it_reap(pid), 0);
	check_ledger();
	(void)state;
}

/* Two workers: while one fans out to 1,000 users, the other takes the
 * head's messages, and the parts start when it says the first are out
 * (AC_HEAD_CHANNEL), before the longest wait: 1,000 ms here (a third of
 * it for the other worker to take the head), so a slow host is no
 * failure; a word that never comes waits all of it. */
static void
test_head_out_heard(void **state)
{
	static const char *const logs[2] = { "test_fanout-heard-1.log", "test_fanout-heard-2.log" };
	char sid[24], line[8192], want[64];
	long long signal, waited = -1;
	pid_t pid[2];
	int tries, fanned = 0;

	setenv("AC_FANOUT_HEAD_LEAD_MS", "1000", 1);
	for (int i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), "%s/%s", it_env("AC_TEST_OUT"), logs[i]);
		unlink(line);
		pid[i] = it_worker_start(logs[i], "--for", "30", NULL);
	}
	unsetenv("AC_FANOUT_HEAD_LEAD_MS");
	for (int i = 0; i < 2; i++)
		assert_true(it_log_wait(logs[i], ": listening,", "", line, sizeof(line), 10000));
	signal = telegram_buy(1000, sid, sizeof(sid));
	for (tries = 0; tries < 300 && it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND status = 'sent'", sid, NULL) < 1000; tries++)
		usleep(50 * 1000);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND status = 'sent'", sid, NULL), 1000);
	for (int i = 0; i < 2; i++) {
		kill(pid[i], SIGTERM);
		assert_int_equal(it_reap(pid[i]), 0);
	}
	snprintf(want, sizeof(want), "signal %lld: ", signal);
	for (int i = 0; i < 2; i++) {
		const char *at;

		if (!it_log_line(logs[i], want, "after a head of 25", line, sizeof(line)))
			continue;
		fanned++;
		if ((at = strstr(line, "then commit and ")) != NULL)
			sscanf(at, "then commit and %lld ms waiting for its first requests to be out;",
			    &waited);
		if (strstr(line, "to be out;") == NULL)
			fail_msg("the parts did not hear of the head: %s", line);
	}
	assert_int_equal(fanned, 1);
	assert_true(waited >= 0 && waited < 1000);
	/* the head's messages are the first sent */
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT id FROM deliveries WHERE"
	    " signal_id = $1 ORDER BY sent_at, id LIMIT 25) d WHERE d.id IN (SELECT id FROM"
	    " deliveries WHERE signal_id = $1 ORDER BY id LIMIT 25)", sid, NULL), 25);
	check_ledger();
	(void)state;
}

/* A piece of a split fan-out's part fails (a constraint added for the test
 * refuses one user's trade) while the head, the part's pieces before it
 * and the other part commit: the job is retried, and the next run serves
 * only the users left, so every user ends with one delivery and one
 * charge. */
static void
test_part_fails_then_rerun(void **state)
{
	struct it_strategy s;
	char tag[24], sid[24], sql[256], ids[32];
	long long plan, signal, victim, done_first;

	it_strategy_new(&s, "6h", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 1200, plan, s.id, "{telegram}", "{5}");
	/* two parts (AC_FANOUT_PARTS) of four commits (AC_FANOUT_PART_COMMITS):
	 * user ids modulo 12, part 1 residues 0-5 in pieces 0, 1-2, 3-4 and
	 * 5, part 2 residues 6-11. The victim is in part 1's second piece: it
	 * rolls back and the part stops there; its first piece, the other part
	 * and the head (the lowest 25 ids, AC_FANOUT_HEAD) commit */
	victim = it_q_ll("SELECT max(id) FROM users WHERE email LIKE $1 || '.%' AND id % 12 = 2",
	    tag, NULL);
	snprintf(sql, sizeof(sql), "ALTER TABLE trades ADD CONSTRAINT it_refuse_trade"
	    " CHECK (user_id <> %lld) NOT VALID", victim);
	PQclear(it_q(sql, NULL));
	signal = signal_new(s.id, "BUY", "300", "330", "270", "0");
	snprintf(sid, sizeof(sid), "%lld", signal);
	assert_int_equal(it_reap(it_worker_start("test_fanout-worker.log", "--once", NULL)), 0);
	PQclear(it_q("ALTER TABLE trades DROP CONSTRAINT it_refuse_trade", NULL));
	/* the victim's piece rolled back, the rest of its part never ran */
	assert_string_equal(PQgetvalue(it_q("SELECT status FROM signals WHERE id = $1", sid, NULL),
	    0, 0), "received");
	done_first = it_q_ll("SELECT count(DISTINCT user_id) FROM deliveries WHERE signal_id = $1",
	    sid, NULL);
	assert_int_equal(done_first, it_q_ll("SELECT count(*) FROM (SELECT id, row_number() OVER"
	    " (ORDER BY id) AS n FROM users WHERE email LIKE $1 || '.%') u WHERE id % 12 = 0"
	    " OR id % 12 >= 6 OR n <= 25", tag, NULL));
	/* of the victim's piece and those after it, only the head's users */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.id % 12 BETWEEN 1 AND 5", sid, NULL),
	    it_q_ll("SELECT count(*) FROM (SELECT id, row_number() OVER (ORDER BY id) AS n"
	    " FROM users WHERE email LIKE $1 || '.%') u WHERE id % 12 BETWEEN 1 AND 5 AND n <= 25",
	    tag, NULL));
	assert_true(done_first > 625 && done_first < 1200);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE unique_key = 'fanout:' || $1"
	    " AND state = 'pending' AND attempts = 1", sid, NULL), 1);
	PQclear(it_q("UPDATE jobs SET run_at = now() WHERE unique_key = 'fanout:' || $1", sid, NULL));
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT matched_users FROM signals WHERE id = $1"
	    " AND status = 'processed'", sid, NULL), 1200);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger"
	    " WHERE reference = 'signal:' || $1", sid, NULL), 1200);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1", sid,
	    NULL), 1200);
	assert_int_equal(it_q_ll("SELECT total_trades FROM strategies WHERE id = $1",
	    (snprintf(sql, sizeof(sql), "%lld", s.id), sql), NULL), 1200);
	snprintf(ids, sizeof(ids), "{%lld}", signal);
	check_deliveries(ids);
	check_ledger();
	(void)state;
}

/* A small fan-out's writes go in one round trip (trades, deliveries, the
 * alarms' statistics): when the last of them fails, the ones before it,
 * which the server ran, go with it. The job is retried with nothing of
 * the signal written (no trade, delivery or charge); once the fault is
 * gone, the retry serves every user once. */
static void
test_writes_fail_together(void **state)
{
	struct it_strategy s;
	char tag[24], sid[24], sql[512];
	long long plan, signal;

	it_strategy_new(&s, "4h", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 3, plan, s.id, "{telegram}", "{5}");
	snprintf(sql, sizeof(sql), "ALTER TABLE alarms ADD CONSTRAINT it_refuse_stats"
	    " CHECK (strategy_id <> %lld OR alerts_received = 0) NOT VALID", s.id);
	PQclear(it_q(sql, NULL));
	signal = signal_new(s.id, "BUY", "300", "330", "270", "0");
	snprintf(sid, sizeof(sid), "%lld", signal);
	assert_int_equal(it_reap(it_worker_start("test_fanout-worker.log", "--once", NULL)), 0);
	PQclear(it_q("ALTER TABLE alarms DROP CONSTRAINT it_refuse_stats", NULL));
	assert_string_equal(PQgetvalue(it_q("SELECT status FROM signals WHERE id = $1", sid, NULL),
	    0, 0), "received");
	assert_int_equal(it_q_ll("SELECT (SELECT count(*) FROM trades WHERE entry_signal_id = $1)"
	    " + (SELECT count(*) FROM deliveries WHERE signal_id = $1)"
	    " + (SELECT count(*) FROM credit_ledger WHERE reference = 'signal:' || $1)", sid,
	    NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE unique_key = 'fanout:' || $1"
	    " AND state = 'pending' AND attempts = 1 AND last_error LIKE '%it_refuse_stats%'", sid,
	    NULL), 1);
	PQclear(it_q("UPDATE jobs SET run_at = now() WHERE unique_key = 'fanout:' || $1", sid, NULL));
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT matched_users FROM signals WHERE id = $1"
	    " AND status = 'processed'", sid, NULL), 3);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger"
	    " WHERE reference = 'signal:' || $1", sid, NULL), 3);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1", sid,
	    NULL), 3);
	assert_int_equal(it_q_ll("SELECT sum(alerts_received) FROM alarms WHERE strategy_id = $1",
	    (snprintf(sql, sizeof(sql), "%lld", s.id), sql), NULL), 3);
	check_ledger();
	(void)state;
}

/* ---- a move to flat ------------------------------------------------------- */

/* Posts a TradingView strategy alert for s (action, price, and the
 * market_position / prev_market_position keys when not NULL) through nginx
 * and ac-hook; asserts the answer is want and returns the signal's id (0
 * when refused). The answer's error field, if any, goes to field. */
static long long
post_position(const struct it_strategy *s, const char *action, double price, const char *mp,
    const char *prev, long want, char *field, size_t fieldsz)
{
	char when[48], *body;
	json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:s}", "symbol", s->symbol, "timeframe",
	    s->timeframe, "action", action, "price", price, "time",
	    it_iso(it_now_ms(), 0, when, sizeof(when)));
	struct it_resp r;
	long long id;

	assert_non_null(o);
	if (mp != NULL)
		json_object_set_new(o, "market_position", json_string(mp));
	if (prev != NULL)
		json_object_set_new(o, "prev_market_position", json_string(prev));
	assert_non_null(body = json_dumps(o, JSON_COMPACT));
	json_decref(o);
	it_post(&r, s->path, "application/json", body);
	free(body);
	if (r.status != want)
		fail_msg("%s to %s: HTTP %ld, wanted %ld: %s", action, mp ? mp : "-", r.status,
		    want, r.body);
	id = json_integer_value(it_json_get(&r, "id"));
	snprintf(field, fieldsz, "%s", it_json_str(&r, "error.field") ?
	    it_json_str(&r, "error.field") : "");
	it_resp_free(&r);
	return id;
}

/* TradingView's "sell" with market_position "flat" after "long": the
 * trader closed the long. Stored as EXIT_LONG on a strategy that enables
 * only BUY and SELL, it closes each subscriber's open long at the alert's
 * price with its PnL, leaves a short alone, opens nothing, and is a
 * signal they are charged for and told of; a contradictory alert is a 400
 * naming market_position that stores nothing. */
static void
test_exit_to_flat(void **state)
{
	struct it_strategy s;
	char tag[24], sid[24], eid[24], field[64], u1[24], u2[24];
	long long plan, entry, exit_, signals;

	it_strategy_new(&s, "1h", "--actions", "BUY,SELL", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 2, plan, s.id, "{email}", "{10}");
	snprintf(u1, sizeof(u1), "%lld", it_q_ll("SELECT min(id) FROM users"
	    " WHERE email LIKE $1 || '.%'", tag, NULL));
	snprintf(u2, sizeof(u2), "%lld", it_q_ll("SELECT max(id) FROM users"
	    " WHERE email LIKE $1 || '.%'", tag, NULL));
	entry = post_position(&s, "buy", 40000, "long", "flat", 202, field, sizeof(field));
	it_drain("test_fanout-worker.log");
	snprintf(sid, sizeof(sid), "%lld", entry);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1"
	    " AND side = 'BUY' AND status = 'open'", sid, NULL), 2);
	/* the second subscriber holds a short instead */
	PQclear(it_q("UPDATE trades SET side = 'SELL' WHERE entry_signal_id = $1 AND user_id = $2",
	    sid, u2, NULL));

	/* contradictions are refused and store nothing */
	signals = it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1",
	    (snprintf(tag, sizeof(tag), "%lld", s.id), tag), NULL);
	post_position(&s, "sell", 45000, "long", "long", 400, field, sizeof(field));
	assert_string_equal(field, "market_position");
	post_position(&s, "buy", 45000, "flat", "long", 400, field, sizeof(field));
	assert_string_equal(field, "market_position");
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1", tag, NULL),
	    signals);

	exit_ = post_position(&s, "sell", 45000, "flat", "long", 202, field, sizeof(field));
	it_drain("test_fanout-worker.log");
	snprintf(eid, sizeof(eid), "%lld", exit_);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE id = $1"
	    " AND action = 'EXIT_LONG' AND status = 'processed'", eid, NULL), 1);
	/* the long is closed at the alert's price with its PnL; nothing opened */
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND entry_signal_id = $2 AND status = 'closed' AND exit_reason = 'EXIT'"
	    " AND exit_price = 45000 AND pnl_amount = 5000 AND pnl_percent = 12.5"
	    " AND exit_signal_id = $3 AND closed_at IS NOT NULL", u1, sid, eid, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1", eid,
	    NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND status = 'open' AND side = 'SELL' AND exit_signal_id IS NULL", u2, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1 AND status = 'open'",
	    u1, NULL), 0);
	/* both are told of it, and charged as for any signal */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND kind = 'exit' AND status = 'sent'", eid, NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND user_id = $2 AND message LIKE '%CLOSE LONG ' || $3 || '%'"
	    " AND message LIKE '%Closed +5,000 (+12.5%exit signal%'", eid, u1,
	    s.symbol, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE reference = 'signal:'"
	    " || $1 AND kind = 'usage' AND amount = -1", eid, NULL), 2);
	check_deliveries((snprintf(tag, sizeof(tag), "{%lld}", exit_), tag));
	check_ledger();
	(void)state;
}

/* Posts an alert for s through nginx and ac-hook; the stored signal's id. */
static long long
post_alert(const struct it_strategy *s, const char *action, double price, double tp, double sl,
    int64_t time_ms)
{
	struct it_resp r;
	char *body = it_alert(s, action, price, tp, sl, time_ms);
	long long id;

	it_post(&r, s->path, "application/json", body);
	free(body);
	assert_int_equal(r.status, 202);
	id = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	return id;
}

/* A TP_HIT closes only the trades whose own take profit it reached: two
 * BUYs (TP 43,000 and TP 45,000) and a TP_HIT at 43,100 close the first
 * with its PnL and leave the second open; a TP_HIT at 45,000 then closes
 * the second. */
static void
test_tp_hit_per_trade(void **state)
{
	struct it_strategy s;
	char tag[24], uid[24], e1[24], e2[24], x1[24], x2[24];
	long long plan;
	int64_t now = it_now_ms();

	(void)state;
	it_strategy_new(&s, "1h", "--max-open-trades", "2", "--no-replace", NULL);
	plan = plan_new(s.id, "1");
	it_rand_hex(tag, 10);
	users_bulk(tag, 1, plan, s.id, "{email}", "{10}");
	snprintf(uid, sizeof(uid), "%lld", it_q_ll("SELECT id FROM users"
	    " WHERE email LIKE $1 || '.%'", tag, NULL));
	snprintf(e1, sizeof(e1), "%lld", post_alert(&s, "buy", 42000, 43000, 41000, now));
	it_drain("test_fanout-worker.log");
	snprintf(e2, sizeof(e2), "%lld", post_alert(&s, "buy", 42500, 45000, 41000, now + 1000));
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND status = 'open' AND side = 'BUY'", uid, NULL), 2);

	snprintf(x1, sizeof(x1), "%lld", post_alert(&s, "tp_hit", 43100, 0, 0, now + 2000));
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND entry_signal_id = $2 AND status = 'closed' AND exit_reason = 'TP_HIT'"
	    " AND exit_price = 43100 AND pnl_amount = 1100 AND round(pnl_percent, 4) = 2.619"
	    " AND exit_signal_id = $3 AND closed_at IS NOT NULL", uid, e1, x1, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND entry_signal_id = $2 AND status = 'open' AND exit_signal_id IS NULL"
	    " AND exit_reason IS NULL AND pnl_amount IS NULL", uid, e2, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE exit_signal_id = $1", x1, NULL),
	    1);
	/* the user is told of the exit all the same */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND user_id = $2 AND kind = 'exit'", x1, uid, NULL), 1);

	snprintf(x2, sizeof(x2), "%lld", post_alert(&s, "tp_hit", 45000, 0, 0, now + 3000));
	it_drain("test_fanout-worker.log");
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND entry_signal_id = $2 AND status = 'closed' AND exit_reason = 'TP_HIT'"
	    " AND exit_price = 45000 AND pnl_amount = 2500 AND exit_signal_id = $3", uid, e2, x2,
	    NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1"
	    " AND status = 'open'", uid, NULL), 0);
	check_ledger();
}

/* ---- kill -9 in the middle of fan-outs ------------------------------------ */

static void
test_crash(void **state)
{
	static const char *actions[] = { "BUY", "BUY", "SELL", "TP_HIT", "BUY", "SL_HIT" };
	static const char *prices[][3] = {
		{ "100", "110", "90" }, { "101", "110", "90" }, { "102", "95", "110" },
		{ "96", "", "" }, { "97", "105", "90" }, { "92", "", "" },
	};
	struct it_strategy s[3];
	char tag[24], ids[2048] = "{";
	long long plan;
	int i, k, kills = 0;
	pid_t pid;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (i = 0; i < 3; i++)
		it_strategy_new(&s[i], "15m", NULL);
	plan = plan_new(s[0].id, "");
	for (i = 1; i < 3; i++) {
		char sp[24], ss[24];

		snprintf(sp, sizeof(sp), "%lld", plan);
		snprintf(ss, sizeof(ss), "%lld", s[i].id);
		PQclear(it_q("INSERT INTO plan_strategies VALUES ($1, $2)", sp, ss, NULL));
	}
	it_rand_hex(tag, 10);
	/* 1,000 users on strategy 0 with few credits (they run out), and the
	 * same users on strategies 1 and 2 through more alarms */
	users_bulk(tag, 1000, plan, s[0].id, "{email,telegram,sms}", "{0,3,7,40}");
	for (i = 1; i < 3; i++) {
		char ss[24];

		snprintf(ss, sizeof(ss), "%lld", s[i].id);
		PQclear(it_q("INSERT INTO alarms (user_id, strategy_id, channels) SELECT id, $2,"
		    " '{telegram,push}' FROM users WHERE email LIKE $1 || '.%'", tag, ss, NULL));
	}
	/* 20 rounds: a new signal (its fan-out ahead of the deliveries already
	 * queued), a worker, and kill -9 at a random moment of its work */
	for (k = 0; k < 20; k++) {
		struct timespec ts = { 0, (long)(5 + rand() % 600) * 1000000L };
		long long id = signal_new(s[k % 3].id, actions[(k / 3) % 6], prices[(k / 3) % 6][0],
		    prices[(k / 3) % 6][1], prices[(k / 3) % 6][2], "10");

		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%lld", ids[1] ? "," : "", id);
		pid = it_worker_start("test_fanout-worker.log", "--for", "30", "--batch", "10", NULL);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		kills += it_reap(pid) == 128 + SIGKILL;
	}
	strcat(ids, "}");
	assert_int_equal(kills, 20);
	printf("crash: after 20 kills, %lld of 20 fan-outs unfinished, %lld jobs left running\n",
	    it_q_ll("SELECT count(*) FROM signals WHERE id = ANY ($1::bigint[])"
	    " AND status = 'received'", ids, NULL),
	    it_q_ll("SELECT count(*) FROM jobs WHERE state = 'running'", NULL));
	it_drain("test_fanout-worker.log");
	/* no job lost: done, or dead with its reason */
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE NOT (state = 'done'"
	    " OR state = 'dead' AND last_error IS NOT NULL)", NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE id = ANY ($1::bigint[])"
	    " AND status <> 'processed'", ids, NULL), 0);
	check_ledger();
	check_deliveries(ids);
	/* queued deliveries all went out; trades never over the limit */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = ANY"
	    " ($1::bigint[]) AND status = 'queued'", ids, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT 1 FROM trades WHERE status = 'open'"
	    " GROUP BY user_id, strategy_id HAVING count(*) > 3) x", NULL), 0);
	assert_true(it_q_ll("SELECT count(*) FROM credit_ledger WHERE kind = 'usage'"
	    " AND reference = ANY (SELECT 'signal:' || x FROM unnest($1::bigint[]) x)", ids, NULL)
	    > 1000);
}

/* No silent misses: an alarm none of whose channels can reach the user (a
 * Telegram-only alarm with no chat linked, email switched off) costs
 * nothing and opens no trade; each delivery says why. Once a chat is
 * linked, the next signal is charged and tracked as usual. */
static void
test_unreached_not_charged(void **state)
{
	struct it_strategy s;
	char e_tg[96], e_off[96], sid[24], plan[40], path[64], *body;
	struct it_resp r;
	long long signal;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	it_rand_hex(plan, 10);
	json_decref(acctl(0, "plan", "add", "--name", plan, "--price-cents", "49900", "--currency",
	    "INR", "--months", "1", "--credits", "5", "--strategies", sid, NULL));
	json_decref(acctl(0, "user", "add", "--email", email("tgonly", e_tg, 96), "--password",
	    "secret-pw", NULL));
	json_decref(acctl(0, "user", "add", "--email", email("off", e_off, 96), "--password",
	    "secret-pw", NULL));
	json_decref(acctl(0, "subscribe", "--email", e_tg, "--plan", plan, NULL));
	json_decref(acctl(0, "subscribe", "--email", e_off, "--plan", plan, NULL));
	json_decref(acctl(0, "alarm", "add", "--email", e_tg, "--strategy", sid, "--channels",
	    "telegram", NULL));
	json_decref(acctl(0, "alarm", "add", "--email", e_off, "--strategy", sid, "--channels",
	    "email", NULL));
	PQclear(it_q("UPDATE users SET notify_email = false WHERE email = $1", e_off, NULL));

	body = it_alert(&s, "buy", 42000, 0, 0, it_now_ms());
	it_post(&r, s.path, "application/json", body);
	free(body);
	assert_int_equal(r.status, 202);
	signal = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	it_drain("test_fanout-worker.log");
	snprintf(path, sizeof(path), "%lld", signal);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.channel = 'telegram'"
	    " AND d.skip_reason = 'no_address'", path, e_tg, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.channel = 'email'"
	    " AND d.skip_reason = 'preference'", path, e_off, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE email IN ($1, $2)"
	    " AND credit_balance = 5", e_tg, e_off, NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE entry_signal_id = $1", path,
	    NULL), 0);
	{
		char ids[72];

		snprintf(ids, sizeof(ids), "{%s}", path);
		check_deliveries(ids);
	}
	check_ledger();

	/* the chat linked: the next signal reaches them, is charged, opens a trade */
	PQclear(it_q("UPDATE users SET telegram_chat_id = '4242' || (random() * 1e9)::bigint"
	    " WHERE email = $1", e_tg, NULL));
	body = it_alert(&s, "sell", 41000, 0, 0, it_now_ms() + 1000);
	it_post(&r, s.path, "application/json", body);
	free(body);
	assert_int_equal(r.status, 202);
	signal = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	it_drain("test_fanout-worker.log");
	snprintf(path, sizeof(path), "%lld", signal);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE email = $1", e_tg, NULL), 4);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE email = $1", e_off, NULL),
	    5);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND u.email = $2 AND d.status = 'sent'", path, e_tg, NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades t JOIN users u ON u.id = t.user_id"
	    " WHERE t.entry_signal_id = $1 AND u.email = $2", path, e_tg, NULL), 1);
	check_ledger();
}

/* ---- a backtest and the worker agree ---------------------------------- */

/* The bars of test_acctl's backtest: SELL 90, BUY 99, SELL 91, BUY 70 for
 * key value 1, ATR period 1, EMA period 1. */
static const char agree_csv[] =
    "time,open,high,low,close\n"
    "1704067200,100,101,99,100\n1704070800,90,91,89,90\n1704074400,91,92,90,91\n"
    "1704078000,95,100,95,99\n1704081600,99,100,98,99.5\n1704085200,99,99,90,91\n"
    "1704088800,91,91,60,60\n1704092400,60,61,59,60\n1704096000,60,70,60,70\n";

/* acctl backtest of a CSV, then the same signals sent through ac-hook and
 * the worker to one subscriber: the subscriber's trades are the backtest's,
 * side, entry, exit, reason and PnL, and the one it leaves open. */
static void
test_backtest_agrees(void **state)
{
	struct it_strategy s;
	char tag[24], csv[] = "/tmp/ac-agree.XXXXXX", sid[24], user[24], a[4][32];
	json_t *bt, *sig, *tr;
	size_t i;
	int fd, st;

	(void)state;
	it_strategy_new(&s, "1h", "--actions", "BUY,SELL", "--key-value", "1", "--atr-period", "1",
	    "--ema-period", "1", NULL);
	it_rand_hex(tag, 10);
	users_bulk(tag, 1, plan_new(s.id, "1"), s.id, "{email}", "{10}");
	snprintf(user, sizeof(user), "%lld", it_q_ll("SELECT id FROM users"
	    " WHERE email LIKE $1 || '.%'", tag, NULL));
	assert_true((fd = mkstemp(csv)) >= 0);
	assert_int_equal(write(fd, agree_csv, sizeof(agree_csv) - 1), (ssize_t)sizeof(agree_csv) - 1);
	close(fd);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	bt = it_acctl(&st, "backtest", "--strategy", sid, "--bars", csv, (char *)NULL);
	unlink(csv);
	assert_int_equal(st, 0);
	sig = json_object_get(bt, "signals");
	assert_int_equal(json_array_size(sig), 4);
	for (i = 0; i < json_array_size(sig); i++) {
		const json_t *g = json_array_get(sig, i);

		post_alert(&s, json_string_value(json_object_get(g, "action")),
		    json_number_value(json_object_get(g, "price")), 0, 0, it_now_ms());
		it_drain("test_fanout-worker.log");
	}
	tr = json_object_get(bt, "trades");
	assert_int_equal(json_array_size(tr), 3);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1 AND status <> 'open'",
	    user, NULL), 3);
	for (i = 0; i < json_array_size(tr); i++) {
		const json_t *t = json_array_get(tr, i);

		it_num(json_number_value(json_object_get(t, "entry")), a[0], sizeof(a[0]));
		it_num(json_number_value(json_object_get(t, "exit")), a[1], sizeof(a[1]));
		it_num(json_number_value(json_object_get(t, "pnl")), a[2], sizeof(a[2]));
		if (it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1 AND side = $2"
		    " AND entry_price = $3::numeric AND exit_price = $4::numeric AND exit_reason = $5"
		    " AND pnl_amount = $6::numeric", user,
		    json_string_value(json_object_get(t, "side")), a[0], a[1],
		    json_string_value(json_object_get(t, "reason")), a[2], NULL) != 1)
			fail_msg("the worker has no trade %s %s -> %s (%s)",
			    json_string_value(json_object_get(t, "side")), a[0], a[1], a[2]);
	}
	tr = json_array_get(json_object_get(bt, "open_trades"), 0);
	it_num(json_number_value(json_object_get(tr, "entry")), a[3], sizeof(a[3]));
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1 AND status = 'open'"
	    " AND side = $2 AND entry_price = $3::numeric", user,
	    json_string_value(json_object_get(tr, "side")), a[3], NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM trades WHERE user_id = $1", user, NULL), 4);
	json_decref(bt);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skip_reasons),
		cmocka_unit_test(test_unreached_not_charged),
		cmocka_unit_test(test_thousand_users),
		cmocka_unit_test(test_daily_cap_counter),
		cmocka_unit_test(test_part_fails_then_rerun),
		cmocka_unit_test(test_writes_fail_together),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_worker_warms),
		cmocka_unit_test(test_head_out_heard),
		cmocka_unit_test(test_exit_to_flat),
		cmocka_unit_test(test_tp_hit_per_trade),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_backtest_agrees),
	};
	const char *src = getenv("SRC");
	char tdir[1024];
	int rc;

	if (it_init() == -1)
		return 1;
	if (it_worker() == NULL)
		return 1;
	if (getenv("AC_TEMPLATE_DIR") == NULL && src != NULL) {
		snprintf(tdir, sizeof(tdir), "%s/templates", src);
		setenv("AC_TEMPLATE_DIR", tdir, 1);
	}
	rc = cmocka_run_group_tests_name("fanout", tests, NULL, NULL);
	it_done();
	return rc;
}
