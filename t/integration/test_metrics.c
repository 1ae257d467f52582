/*
 * test_metrics.c — GET /metrics through nginx: the numbers an operator
 * watches move as the alerts and the worker move them (webhook answers
 * by status, queue depth, deliveries and credits, the alert→send
 * latency, the worker's heartbeat), the text passes `promtool check
 * metrics`, and an address outside nginx's list is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "itportal.h"

/* One scrape: its text, and the value of each series. */
struct scrape {
	char	*text;
};

static void
scrape(struct scrape *s)
{
	struct it_resp r;

	it_http(&r, "GET", "/metrics", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(it_header(&r, "Content-Type", NULL), "text/plain; version=0.0.4"));
	s->text = strdup(r.body);
	it_resp_free(&r);
}

/* The sum of every sample of name whose labels contain each of the
 * NULL-terminated 'label="value"' strings (0 when none). */
static double
sum(const struct scrape *s, const char *name, ...)
{
	const char *line = s->text;
	size_t n = strlen(name);
	double total = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *sp;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];

		if (len < sizeof(buf) && strncmp(line, name, n) == 0 &&
		    (line[n] == '{' || line[n] == ' ')) {
			va_list ap;
			const char *want;
			int ok = 1;

			memcpy(buf, line, len);
			buf[len] = '\0';
			sp = strrchr(buf, ' ');
			va_start(ap, name);
			while ((want = va_arg(ap, const char *)) != NULL)
				if (strstr(buf, want) == NULL || strstr(buf, want) > sp)
					ok = 0;
			va_end(ap);
			if (ok)
				total += strtod(sp + 1, NULL);
		}
		line = end ? end + 1 : NULL;
	}
	return total;
}

static void
scrape_free(struct scrape *s)
{
	free(s->text);
}

/* promtool's verdict on the text: its exit status, its complaints on stderr. */
static int
promtool(const struct scrape *s)
{
	char path[512], cmd[1100];
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/metrics.txt", it_env("AC_TEST_OUT"));
	assert_non_null(f = fopen(path, "w"));
	fputs(s->text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 1>&2", path);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ac-worker --once until no job is pending or running (at most 60 s). */
static void
drain(void)
{
	int64_t end = it_now_ms() + 60000;

	while (it_now_ms() < end) {
		assert_int_equal(it_reap(it_worker_start("test_metrics-worker.log", "--once",
		    "--batch", "500", NULL)), 0);
		if (it_q_ll("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')"
		    " AND run_at <= now()", NULL) == 0)
			return;
	}
	fail_msg("jobs still pending after 60 s");
}

/* users subscribers of p with an email alarm and credits each; tag names them. */
static void
subscribers(const struct fx_plan *p, int users, const char *tag)
{
	char sp[24], ss[24], n[24];

	snprintf(sp, sizeof(sp), "%lld", p->plan_id);
	snprintf(ss, sizeof(ss), "%lld", p->strategy.id);
	snprintf(n, sizeof(n), "%d", users);
	PQclear(it_q("WITH u AS (INSERT INTO users (email, password_hash)"
	    " SELECT $1 || '.' || i || '@example.com', 'x' FROM generate_series(1, $2::int) i"
	    " RETURNING id),"
	    " s AS (INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " SELECT id, $3, 'active', now() - interval '1 day', now() + interval '30 days' FROM u"
	    " RETURNING id, user_id),"
	    " a AS (INSERT INTO alarms (user_id, strategy_id, subscription_id, channels)"
	    " SELECT user_id, $4, id, '{email}' FROM s RETURNING user_id)"
	    " INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " SELECT user_id, 50, 'grant', 'test', 'test:metrics:' || user_id FROM a",
	    tag, n, sp, ss, NULL));
}

static void
test_numbers_move(void **state)
{
	enum { USERS = 3, ALERTS = 2 };
	static const char *const actions[ALERTS] = { "BUY", "SELL" };
	struct scrape m0, m1, m2;
	struct fx_plan p;
	struct it_resp r;
	char tag[32], hex[9];
	int64_t t = it_now_ms();

	(void)state;
	/* a test before this one may have restarted Redis: past the handles'
	 * backoff (AC_REDIS_RETRY_MS), every thread counts again */
	sleep(6);
	fx_plan_new(&p);
	it_rand_hex(hex, 8);
	snprintf(tag, sizeof(tag), "metrics%s", hex);
	subscribers(&p, USERS, tag);
	drain();	/* nothing of earlier tests left in the queue */
	scrape(&m0);

	for (int i = 0; i < ALERTS; i++) {
		char *body = it_alert(&p.strategy, actions[i], it_price(100), 0, 0, t + i);

		it_post(&r, p.strategy.path, "application/json", body);
		assert_int_equal(r.status, 202);
		it_resp_free(&r);
		free(body);
	}
	it_post(&r, "/hook/tv/not-a-token-of-anyone-0000000000000000", "application/json",
	    "{\"symbol\":\"BTCUSDT\"}");
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	usleep(300000);	/* the counters are written after each answer */
	scrape(&m1);

	assert_int_equal(sum(&m1, "alertcast_webhook_requests_total", "route=\"tv\"",
	    "code=\"202\"", NULL) - sum(&m0, "alertcast_webhook_requests_total", "route=\"tv\"",
	    "code=\"202\"", NULL), ALERTS);
	assert_int_equal(sum(&m1, "alertcast_webhook_requests_total", "code=\"401\"", NULL) -
	    sum(&m0, "alertcast_webhook_requests_total", "code=\"401\"", NULL), 1);
	assert_int_equal(sum(&m1, "alertcast_ingest_duration_seconds_count", "route=\"tv\"",
	    NULL) - sum(&m0, "alertcast_ingest_duration_seconds_count", "route=\"tv\"", NULL),
	    ALERTS + 1);
	assert_int_equal(sum(&m1, "alertcast_ingest_duration_seconds_bucket", "route=\"tv\"",
	    "le=\"+Inf\"", NULL) - sum(&m0, "alertcast_ingest_duration_seconds_bucket",
	    "route=\"tv\"", "le=\"+Inf\"", NULL), ALERTS + 1);
	/* the database's part is cached for up to HOOK_METRICS_CACHE_MS */
	sleep(2);
	scrape_free(&m1);
	scrape(&m1);
	assert_true(sum(&m1, "alertcast_queue_depth", "state=\"pending\"", NULL) >= ALERTS);
	assert_true(sum(&m1, "alertcast_queue_oldest_due_seconds", NULL) >= 0);
	assert_true(sum(&m1, "alertcast_active_users", NULL) >= USERS);
	assert_int_equal(sum(&m1, "alertcast_up", "part=\"database\"", NULL), 1);
	assert_int_equal(sum(&m1, "alertcast_up", "part=\"redis\"", NULL), 1);
	assert_int_equal(promtool(&m1), 0);

	drain();
	sleep(2);
	scrape(&m2);
	assert_int_equal(sum(&m2, "alertcast_queue_depth", "state=\"pending\"", NULL), 0);
	assert_int_equal(sum(&m2, "alertcast_deliveries_total", "channel=\"email\"",
	    "status=\"sent\"", NULL) - sum(&m0, "alertcast_deliveries_total", "channel=\"email\"",
	    "status=\"sent\"", NULL), USERS * ALERTS);
	assert_int_equal(sum(&m2, "alertcast_deliveries_total", "channel=\"email\"",
	    "status=\"queued\"", NULL) - sum(&m0, "alertcast_deliveries_total",
	    "channel=\"email\"", "status=\"queued\"", NULL), USERS * ALERTS);
	assert_int_equal(sum(&m2, "alertcast_send_latency_seconds_count", "channel=\"email\"",
	    NULL) - sum(&m0, "alertcast_send_latency_seconds_count", "channel=\"email\"", NULL),
	    USERS * ALERTS);
	assert_true(sum(&m2, "alertcast_credits_consumed_total", NULL) -
	    sum(&m0, "alertcast_credits_consumed_total", NULL) >= USERS * ALERTS);
	assert_true(sum(&m2, "alertcast_worker_last_seen_timestamp_seconds", NULL) >
	    (double)(t / 1000 - 120));
	assert_true(sum(&m2, "alertcast_provider_breaker_state", NULL) >= 1);
	assert_true(sum(&m2, "alertcast_provider_breaker_state", "state=\"closed\"", NULL) >= 1);
	assert_int_equal(sum(&m2, "alertcast_spool_bytes", NULL), 0);
	assert_int_equal(promtool(&m2), 0);
	scrape_free(&m0);
	scrape_free(&m1);
	scrape_free(&m2);
}

/* A delivery that fails for good and one retried count by their provider;
 * a refund counts apart from consumption. The counters move with the rows
 * (statement triggers), so the cache is the only wait. */
static void
test_failures_and_refunds(void **state)
{
	struct scrape a, b;
	struct fx_plan p;
	char tag[32], hex[9], sig[24], uid[24];
	long long user, signal;

	(void)state;
	fx_plan_new(&p);
	it_rand_hex(hex, 8);
	snprintf(tag, sizeof(tag), "mfail%s", hex);
	subscribers(&p, 1, tag);
	user = it_q_ll("SELECT id FROM users WHERE email = $1 || '.1@example.com'", tag, NULL);
	snprintf(sig, sizeof(sig), "%lld", p.strategy.id);
	signal = it_q_ll("INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at,"
	    " symbol, timeframe, action, price) SELECT id, $2, '{}', now(), symbol, timeframe,"
	    " 'BUY', 1 FROM strategies WHERE id = $1 RETURNING id", sig, tag, NULL);
	snprintf(sig, sizeof(sig), "%lld", signal);
	snprintf(uid, sizeof(uid), "%lld", user);
	sleep(2);
	scrape(&a);
	PQclear(it_q("INSERT INTO deliveries (signal_id, user_id, channel, kind) VALUES"
	    " ($1, $2, 'sms', 'entry'), ($1, $2, 'push', 'entry')", sig, uid, NULL));
	PQclear(it_q("UPDATE deliveries SET status = 'failed', provider = 'twilio', attempts = 1,"
	    " error = 'test' WHERE signal_id = $1 AND channel = 'sms'", sig, NULL));
	PQclear(it_q("UPDATE deliveries SET provider = 'onesignal', attempts = 1"
	    " WHERE signal_id = $1 AND channel = 'push'", sig, NULL));
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " VALUES ($1, 3, 'refund', 'test', $2)", uid, tag, NULL));
	sleep(2);
	scrape(&b);
#define MOVED(...)	(sum(&b, __VA_ARGS__, NULL) - sum(&a, __VA_ARGS__, NULL))
	assert_int_equal(MOVED("alertcast_deliveries_total", "channel=\"sms\"",
	    "provider=\"none\"", "status=\"queued\""), 1);
	assert_int_equal(MOVED("alertcast_deliveries_total", "channel=\"sms\"",
	    "provider=\"twilio\"", "status=\"failed\""), 1);
	assert_int_equal(MOVED("alertcast_provider_attempts_total", "provider=\"twilio\"",
	    "result=\"failed\""), 1);
	assert_int_equal(MOVED("alertcast_provider_attempts_total", "provider=\"onesignal\"",
	    "result=\"retry\""), 1);
	assert_int_equal(MOVED("alertcast_deliveries_total", "channel=\"push\"",
	    "status=\"sent\""), 0);	/* still queued: nothing finished */
	assert_int_equal(MOVED("alertcast_credits_refunded_total"), 3);
	assert_int_equal(MOVED("alertcast_credits_consumed_total"), 0);
#undef MOVED
	assert_int_equal(promtool(&b), 0);
	scrape_free(&a);
	scrape_free(&b);
	/* the latency buckets are le: a bound's value falls in its own bucket */
	assert_int_equal(it_q_ll("SELECT ac_metric_send_bucket(0)", NULL), 0);
	assert_int_equal(it_q_ll("SELECT ac_metric_send_bucket(0.1)", NULL), 0);
	assert_int_equal(it_q_ll("SELECT ac_metric_send_bucket(0.11)", NULL), 1);
	assert_int_equal(it_q_ll("SELECT ac_metric_send_bucket(900)", NULL), 10);
	assert_int_equal(it_q_ll("SELECT ac_metric_send_bucket(901)", NULL), 11);
}

/* nginx lets only its address list (127.0.0.1 and ::1 here) ask. */
static void
test_refused_elsewhere(void **state)
{
	struct it_resp r;

	(void)state;
	it_source("127.0.0.9");
	it_http(&r, "GET", "/metrics", NULL, NULL, 0);
	it_source(NULL);
	assert_int_equal(r.status, 403);
	assert_null(strstr(r.body, "alertcast_"));
	it_resp_free(&r);
	it_http(&r, "GET", "/metrics", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_move),
		cmocka_unit_test(test_failures_and_refunds),
		cmocka_unit_test(test_refused_elsewhere),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
	it_done();
	return rc;
}
