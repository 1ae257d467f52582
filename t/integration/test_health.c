/*
 * test_health.c — missed-alert detection against the real stack (nginx,
 * ac-hook, ac-admin, PostgreSQL, Redis, ac-worker):
 *
 *	heartbeat	a heartbeat answers 200 "heartbeat" and updates the
 *			strategy's one strategy_heartbeats row: no signal, no
 *			job, no credit; bad ones (a take profit, another symbol,
 *			a wrong token) get their clear error and change nothing
 *	silence		heartbeats keep a 1m strategy healthy; once the last is
 *			over 2 bars old (seen_at moved back) the sweep opens one
 *			"silent" incident and queues one notice per channel
 *			(email, Telegram) to the operator, however many sweeps
 *			follow (two workers at once too); /metrics shows the age
 *			and the incident; the admin panel shows the banner; the
 *			next heartbeat closes it with one recovery notice
 *	burst		15 alerts in 3 minutes are no incident, a 16th is one,
 *			and it ends when they are older than the lookback
 *	estimate	a strategy without heartbeats and 12 alerts 10 minutes
 *			apart, silent for an hour, gets an estimated_silence
 *			incident marked as an estimate; 9 alerts say nothing; a
 *			new alert ends it
 *	db down		a heartbeat while PostgreSQL is away is answered 503 and
 *			not spooled
 *
 * The worker's sweep is on for this program's workers (AC_HEALTH_CHECK=1;
 * t/integration/run turns it off for the others). Operators are the ones
 * this program makes; assertions look at this program's strategies only.
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

#define CT_JSON		"application/json"
#define WORKER_LOG	"test_health-worker.log"
#define CHAT		"-100777000111"

static struct ib admin;		/* an operator, signed in to the panel */
static long long admin_id;
static char admin_name[64];

/* n as text (one of eight rotating buffers, for statements' parameters). */
static const char *
num(long long n)
{
	static char buf[8][24];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%lld", n);
	return buf[i];
}

/* The operator every test's notices go to: alerts.view (who is told) and
 * system.logs (the health page), with a Telegram chat set by acctl. */
static int
setup(void **state)
{
	json_t *o;
	int st;

	(void)state;
	admin_id = ia_login(&admin, "alerts.view,system.logs", admin_name);
	o = it_acctl(&st, "admin", "telegram", "--username", admin_name, "--telegram", CHAT,
	    NULL);
	assert_int_equal(st, 0);
	assert_string_equal(json_string_value(json_object_get(o, "telegram_chat_id")), CHAT);
	json_decref(o);
	/* a bad chat id is refused, naming the option, and changes nothing */
	o = it_acctl(&st, "admin", "telegram", "--username", admin_name, "--telegram", "@me",
	    NULL);
	assert_int_not_equal(st, 0);
	json_decref(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM admin_users WHERE id = $1"
	    " AND telegram_chat_id = $2", num(admin_id), CHAT, NULL), 1);
	return 0;
}

/* POSTs a heartbeat (or action) for s at price now; the answer in *r. */
static void
send_alert(const struct it_strategy *s, const char *path, const char *action, struct it_resp *r)
{
	char *body = it_alert(s, action, it_price(100), 0, 0, it_now_ms());

	it_post(r, path ? path : s->path, CT_JSON, body);
	free(body);
}

/* A heartbeat for s, which must be answered 200 "heartbeat". */
static void
beat(const struct it_strategy *s)
{
	struct it_resp r;

	send_alert(s, NULL, "heartbeat", &r);
	if (r.status != 200 || it_json_str(&r, "status") == NULL ||
	    strcmp(it_json_str(&r, "status"), "heartbeat") != 0)
		fail_msg("heartbeat: %ld %s", r.status, r.body);
	assert_int_equal(json_integer_value(it_json_get(&r, "strategy_id")), s->id);
	it_resp_free(&r);
}

/* A buy for s, which must be stored (202 "queued"). */
static void
signal_one(const struct it_strategy *s)
{
	struct it_resp r;

	send_alert(s, NULL, "buy", &r);
	if (r.status != 202)
		fail_msg("alert: %ld %s", r.status, r.body);
	it_resp_free(&r);
}

/* The worker's sweep (each ac-worker run starts with one), then the jobs
 * it queued run, until none is due. */
static void
sweep(void)
{
	it_drain(WORKER_LOG);
}

/* Incidents of s of kind: all (open < 0), open (1) or closed (0). */
static long long
incidents(const struct it_strategy *s, const char *kind, int open)
{
	return it_q_ll("SELECT count(*) FROM strategy_incidents WHERE strategy_id = $1"
	    " AND kind = $2 AND ($3::int < 0 OR (closed_at IS NULL) = ($3::int = 1))",
	    num(s->id), kind, num(open), NULL);
}

/* Notices of name about s queued for this program's operator on channel. */
static long long
notices(const struct it_strategy *s, const char *name, const char *channel)
{
	return it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'ops_notice'"
	    " AND payload->>'admin_id' = $1 AND payload->'vars'->>'strategy_id' = $2"
	    " AND payload->>'notice' = $3 AND payload->>'channel' = $4",
	    num(admin_id), num(s->id), name, channel, NULL);
}

/* Each channel has exactly n notices of name about s, every one sent
 * (done: with no provider configured, to the outbox). */
static void
assert_told(const struct it_strategy *s, const char *name, long long n)
{
	static const char *const chans[] = { "email", "telegram" };

	for (size_t i = 0; i < 2; i++) {
		if (notices(s, name, chans[i]) != n)
			fail_msg("strategy %lld: %lld %s notices by %s, want %lld", s->id,
			    notices(s, name, chans[i]), name, chans[i], n);
		assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'ops_notice'"
		    " AND payload->>'admin_id' = $1 AND payload->'vars'->>'strategy_id' = $2"
		    " AND payload->>'notice' = $3 AND state <> 'done'", num(admin_id),
		    num(s->id), name, NULL), 0);
	}
}

/* The value of series name{labels} in a fresh scrape of /metrics (waiting
 * out its cache), or -1 when absent. */
static double
metric(const char *series)
{
	struct it_resp r;
	const char *p;
	double v = -1;

	usleep(2100 * 1000);	/* HOOK_METRICS_CACHE_MS */
	it_http(&r, "GET", "/metrics", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	for (p = r.body; (p = strstr(p, series)) != NULL; p++)
		if ((p == r.body || p[-1] == '\n') && p[strlen(series)] == ' ') {
			v = strtod(p + strlen(series) + 1, NULL);
			break;
		}
	it_resp_free(&r);
	return v;
}

/* The admin page at path as the operator; 1 if its body holds text. */
static int
page_has(const char *path, const char *text)
{
	struct it_resp r;
	int has;

	ib_get(&admin, &r, path);
	assert_int_equal(r.status, 200);
	has = strstr(r.body, text) != NULL;
	it_resp_free(&r);
	return has;
}

/* 1 if the incident banner on the admin page at path holds text. */
static int
banner_has(const char *path, const char *text)
{
	struct it_resp r;
	const char *b, *e;
	int has = 0;

	ib_get(&admin, &r, path);
	assert_int_equal(r.status, 200);
	if ((b = strstr(r.body, "id=\"incident-banner\"")) != NULL &&
	    (e = strstr(b, "</div>")) != NULL) {
		const char *t = strstr(b, text);

		has = t != NULL && t < e;
	}
	it_resp_free(&r);
	return has;
}

/* The strategy's display name, as the banner shows it. */
static char *
strategy_name(const struct it_strategy *s)
{
	PGresult *res = it_q("SELECT name FROM strategies WHERE id = $1", num(s->id), NULL);
	char *name = strdup(PQgetvalue(res, 0, 0));

	PQclear(res);
	return name;
}

/* ---- heartbeat -------------------------------------------------------------- */

static void
test_heartbeat(void **state)
{
	struct it_strategy s;
	struct it_resp r;
	char *body, bad[320];
	long long jobs, ledger;

	(void)state;
	it_strategy_new(&s, "1m", NULL);
	jobs = it_q_ll("SELECT count(*) FROM jobs", NULL);
	ledger = it_q_ll("SELECT count(*) FROM credit_ledger", NULL);
	beat(&s);
	beat(&s);
	/* one row, updated: seen now, the bar's time kept, two beats */
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategy_heartbeats WHERE strategy_id = $1"
	    " AND seen_at > now() - interval '10 seconds' AND bar_time IS NOT NULL AND beats = 2",
	    num(s.id), NULL), 1);
	/* and nothing else: no signal, no job, no credit, no refusal */
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1",
	    num(s.id), NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs", NULL), jobs);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger", NULL), ledger);
	assert_int_equal(it_q_ll("SELECT count(*) FROM webhook_rejects WHERE strategy_id = $1",
	    num(s.id), NULL), 0);

	/* a heartbeat with a take profit: 400 naming the field */
	body = it_alert(&s, "heartbeat", 100, 120, 0, it_now_ms());
	it_post(&r, s.path, CT_JSON, body);
	free(body);
	assert_int_equal(r.status, 400);
	assert_string_equal(it_json_str(&r, "error.code"), "unexpected_field");
	assert_string_equal(it_json_str(&r, "error.field"), "take_profit");
	it_resp_free(&r);
	/* another symbol: 422 */
	snprintf(bad, sizeof(bad), "{\"symbol\":\"ZZZ%s\",\"timeframe\":\"1\",\"action\":"
	    "\"heartbeat\",\"price\":5}", s.symbol + 2);
	it_post(&r, s.path, CT_JSON, bad);
	assert_int_equal(r.status, 422);
	assert_string_equal(it_json_str(&r, "error.code"), "symbol_mismatch");
	it_resp_free(&r);
	/* a wrong token: 401, and the strategy's row stays as it was */
	send_alert(&s, "/hook/tv/not-a-token-of-anyone", "heartbeat", &r);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT beats FROM strategy_heartbeats WHERE strategy_id = $1",
	    num(s.id), NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM webhook_rejects WHERE strategy_id = $1",
	    num(s.id), NULL), 2);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs", NULL), jobs);
}

/* ---- silence ---------------------------------------------------------------- */

static void
test_silence(void **state)
{
	struct it_strategy s;
	char series[160], *name;
	pid_t w[2];
	double age;

	(void)state;
	it_strategy_new(&s, "1m", NULL);
	name = strategy_name(&s);
	beat(&s);
	sweep();
	assert_int_equal(incidents(&s, "silent", -1), 0);
	/* a bar and a half without one: still healthy */
	PQclear(it_q("UPDATE strategy_heartbeats SET seen_at = now() - interval '90 seconds'"
	    " WHERE strategy_id = $1", num(s.id), NULL));
	sweep();
	assert_int_equal(incidents(&s, "silent", -1), 0);
	assert_told(&s, "strategy_incident", 0);

	/* over two bars: one incident, told once by each channel */
	PQclear(it_q("UPDATE strategy_heartbeats SET seen_at = now() - interval '3 minutes'"
	    " WHERE strategy_id = $1", num(s.id), NULL));
	sweep();
	assert_int_equal(incidents(&s, "silent", 1), 1);
	assert_told(&s, "strategy_incident", 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'ops_notice'"
	    " AND payload->>'admin_id' = $1 AND payload->'vars'->>'strategy_id' = $2"
	    " AND payload->'vars'->>'detail' LIKE 'No heartbeat for 3 min%'",
	    num(admin_id), num(s.id), NULL), 2);
	/* more sweeps, two workers at once: still one */
	sweep();
	w[0] = it_worker_start(WORKER_LOG, "--once", NULL);
	w[1] = it_worker_start(WORKER_LOG, "--once", NULL);
	assert_int_equal(it_reap(w[0]), 0);
	assert_int_equal(it_reap(w[1]), 0);
	sweep();
	assert_int_equal(incidents(&s, "silent", -1), 1);
	assert_told(&s, "strategy_incident", 1);
	/* the table itself refuses a second open one */
	{
		char sql[200];
		PGresult *res;

		snprintf(sql, sizeof(sql), "INSERT INTO strategy_incidents (strategy_id, kind)"
		    " VALUES (%lld, 'silent')", s.id);
		res = PQexec(it_db(), sql);
		assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
		assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23505");
		PQclear(res);
	}

	/* /metrics: the age, the bar, the incident */
	snprintf(series, sizeof(series), "alertcast_strategy_heartbeat_age_seconds{strategy=\"%lld\"}",
	    s.id);
	age = metric(series);
	if (age < 180 || age > 240)
		fail_msg("%s = %g, want about 180", series, age);
	snprintf(series, sizeof(series), "alertcast_strategy_bar_seconds{strategy=\"%lld\"}", s.id);
	assert_true(metric(series) == 60);
	snprintf(series, sizeof(series), "alertcast_strategy_incident_open{strategy=\"%lld\","
	    "kind=\"silent\"}", s.id);
	assert_true(metric(series) == 1);

	/* the panel: a banner on every page, the incident on the health page */
	assert_true(banner_has("/admin", name));
	assert_true(banner_has("/admin/strategies", name));
	assert_true(page_has("/admin/health", "No heartbeat for 3 min"));

	/* the next heartbeat: recovered, told once */
	beat(&s);
	sweep();
	sweep();
	assert_int_equal(incidents(&s, "silent", 0), 1);
	assert_int_equal(incidents(&s, "silent", 1), 0);
	assert_told(&s, "strategy_incident", 1);
	assert_told(&s, "strategy_recovered", 1);
	assert_false(banner_has("/admin", name));
	assert_true(metric(series) == -1);
	free(name);
}

/* ---- burst ------------------------------------------------------------------ */

static void
test_burst(void **state)
{
	struct it_strategy s;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	for (int i = 0; i < 15; i++)
		signal_one(&s);
	sweep();
	assert_int_equal(incidents(&s, "burst", -1), 0);
	signal_one(&s);
	sweep();
	sweep();
	assert_int_equal(incidents(&s, "burst", 1), 1);
	assert_told(&s, "strategy_incident", 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'ops_notice'"
	    " AND payload->'vars'->>'strategy_id' = $1 AND payload->'vars'->>'detail'"
	    " LIKE '16 alerts within 3 min%'", num(s.id), NULL) >= 2, 1);
	/* ten minutes on, the burst is behind it */
	PQclear(it_q("UPDATE signals SET received_at = received_at - interval '10 minutes'"
	    " WHERE strategy_id = $1", num(s.id), NULL));
	sweep();
	assert_int_equal(incidents(&s, "burst", 1), 0);
	assert_told(&s, "strategy_recovered", 1);
}

/* ---- estimate ---------------------------------------------------------------- */

/* n alerts for s, then moved back so that they lie 10 minutes apart, the
 * last an hour ago. */
static void
history(const struct it_strategy *s, int n)
{
	for (int i = 0; i < n; i++)
		signal_one(s);
	PQclear(it_q("UPDATE signals g SET received_at = now() - interval '1 hour'"
	    " - (o.k - 1) * interval '10 minutes' FROM (SELECT id, row_number() OVER"
	    " (ORDER BY id DESC) AS k FROM signals WHERE strategy_id = $1) o"
	    " WHERE g.id = o.id", num(s->id), NULL));
}

static void
test_estimate(void **state)
{
	struct it_strategy s, few;
	char *name;

	(void)state;
	it_strategy_new(&s, "1m", NULL);
	it_strategy_new(&few, "1m", NULL);
	name = strategy_name(&s);
	history(&s, 12);
	history(&few, 9);
	sweep();
	assert_int_equal(incidents(&s, "estimated_silence", 1), 1);
	assert_int_equal(incidents(&s, "silent", -1), 0);
	assert_int_equal(incidents(&few, "estimated_silence", -1), 0);
	assert_told(&s, "strategy_incident", 1);
	/* marked as an estimate: in the notice and on the banner */
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'ops_notice'"
	    " AND payload->>'admin_id' = $1 AND payload->'vars'->>'strategy_id' = $2"
	    " AND payload->'vars'->>'estimate' = 'yes' AND payload->'vars'->>'detail'"
	    " LIKE 'No alert for 1 h%over 2 times the longest gap (10 min)%12 alerts%'",
	    num(admin_id), num(s.id), NULL), 2);
	assert_true(banner_has("/admin", name));
	assert_true(banner_has("/admin", "estimated silence <span class=\"badge "
	    "text-bg-secondary\">estimate</span>"));
	/* an alert comes: recovered */
	signal_one(&s);
	sweep();
	assert_int_equal(incidents(&s, "estimated_silence", 0), 1);
	assert_told(&s, "strategy_recovered", 1);
	free(name);
}

/* ---- the database away -------------------------------------------------------- */

static void
test_db_down(void **state)
{
	struct it_strategy s;
	struct it_resp r;

	(void)state;
	it_strategy_new(&s, "1m", NULL);
	beat(&s);
	assert_true(it_spool_empty());
	assert_int_equal(it_sh("AC_TEST_PG_STOP"), 0);
	send_alert(&s, NULL, "heartbeat", &r);
	if (r.status != 503 || strstr(r.body, "not spooled") == NULL)
		fail_msg("heartbeat while the database is away: %ld %s", r.status, r.body);
	it_resp_free(&r);
	assert_true(it_spool_empty());
	assert_int_equal(it_sh("AC_TEST_PG_START"), 0);
	/* back: the next heartbeat is recorded */
	for (int64_t end = it_now_ms() + 20000;; usleep(200 * 1000)) {
		send_alert(&s, NULL, "heartbeat", &r);
		if (r.status == 200 || it_now_ms() > end)
			break;
		it_resp_free(&r);
	}
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT beats FROM strategy_heartbeats WHERE strategy_id = $1",
	    num(s.id), NULL), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_db_down),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	setenv("AC_HEALTH_CHECK", "1", 1);	/* for the workers started here */
	rc = cmocka_run_group_tests_name("health", tests, setup, NULL);
	it_done();
	return rc;
}
