/*
 * test_deliver.c — delivery through the providers against the real stack
 * (PostgreSQL, Redis) and the fake providers (t/fakes/providers.py, started
 * here with its SMTP server): ac-worker --once drains deliver jobs made by
 * SQL, and the fake's record (with its timestamps) and the delivery rows
 * say what happened.
 *
 *  - Telegram: sent with HTML escaping; 403 blocked marks the chat
 *    unreachable and emails the user a notice; 429 retry_after honoured;
 *    30/s overall and 1/s per chat;
 *  - email: Resend with Idempotency-Key and User-Agent; three 503s, then
 *    the SMTP backup with a multipart/alternative message;
 *  - account email: a password reset asked for through the portal reaches
 *    Resend (idempotency key of the outbox row) with a link that opens the
 *    reset form; with Resend down, the SMTP server; the row says which;
 *  - SMS: Netgsm permanent code fails at once; Netgsm down → Twilio;
 *  - push: a 200 with errors is a failure; a hang times out, no retry;
 *    the circuit opens after repeated failures and closes after a probe;
 *  - a worker killed mid-batch: every push delivered, repeats absorbed by
 *    the idempotency key;
 *  - Telegram 502 then success after the backoff; with Redis unreachable
 *    the per-process limits and breaker still hold (per-chat gap, the
 *    circuit opening);
 *  - end to end: an alert POSTed to nginx, ac-worker --for running, every
 *    channel of every eligible user reaches the fake (email through the
 *    SMTP server when Resend fails) with the symbol, side, price, TP/SL;
 *  - Telegram linking through nginx: POST /hook/telegram refuses a missing
 *    or wrong secret token; /start with a fresh code links the chat, a
 *    used or expired one does not; /stop unlinks; `acctl telegram
 *    set-webhook` reaches the fake with the URL and secret;
 *  - account notices (payment_failed) on email, Telegram, SMS and push,
 *    each once, from its channel's template with the variables (escaped
 *    for Telegram and HTML email); a channel with no address ends the job
 *    dead and sends nothing; renewal_reminder and payment_rejected by email.
 *
 * Environment (t/integration/run): AC_DATABASE_URL, AC_REDIS_URL,
 * AC_TEST_ACCTL, SRC; AC_TEST_WORKER or ac-worker beside acctl;
 * AC_TEST_OUT for logs. IT_ONLY=<pattern> runs the matching tests only.
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

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "itportal.h"
#include "account/notify.h"
#include "account/query.h"
#include "deliver/provider.h"
#include "base/redis.h"

static char logdir[1024], fake_base[64], smtp_url[64];
static pid_t fake_pid;
static long long strategy_id;

/* ---- the fake ------------------------------------------------------------ */

/* Collects a body. */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	char **buf = arg;
	size_t len = *buf ? strlen(*buf) : 0;

	if ((*buf = realloc(*buf, len + size * n + 1)) == NULL)
		abort();
	memcpy(*buf + len, p, size * n);
	(*buf)[len + size * n] = '\0';
	return size * n;
}

/* A control call to the fake; its JSON answer (caller decrefs). */
static json_t *
fake(const char *method, const char *path, const char *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[256], *out = NULL;
	json_t *o;

	snprintf(url, sizeof(url), "%s%s", fake_base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	o = json_loads(out ? out : "null", JSON_DECODE_ANY, NULL);
	free(out);
	assert_non_null(o);
	return o;
}

/* The fake's recorded requests of provider (not repeats when fresh). */
static json_t *
recorded(const char *provider)
{
	char path[96];

	snprintf(path, sizeof(path), "/_fake/requests?provider=%s", provider);
	return fake("GET", path, NULL);
}

/* How many requests of provider the fake recorded. */
static size_t
count(const char *provider)
{
	json_t *r = recorded(provider);
	size_t n = json_array_size(r);

	json_decref(r);
	return n;
}

/* Starts the fake on free ports and points the providers at it. */
static void
fake_start(void)
{
	char ready[1100], script[1100];
	json_t *ports = NULL;
	const char *src = it_env("SRC");

	snprintf(ready, sizeof(ready), "%s/fake-providers.ready", logdir);
	snprintf(script, sizeof(script), "%s/t/fakes/providers.py", src);
	unlink(ready);
	if ((fake_pid = fork()) == 0) {
		char log[1100];
		int fd;

		snprintf(log, sizeof(log), "%s/fake-providers.log", logdir);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/python3", "python3", script, "--ready", ready, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && ports == NULL; i++) {
		usleep(50000);
		ports = json_load_file(ready, 0, NULL);
	}
	if (ports == NULL) {
		fprintf(stderr, "test_deliver: the fake did not start (see %s)\n", logdir);
		exit(1);
	}
	snprintf(fake_base, sizeof(fake_base), "http://127.0.0.1:%lld",
	    (long long)json_integer_value(json_object_get(ports, "http")));
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%lld",
	    (long long)json_integer_value(json_object_get(ports, "smtp")));
	json_decref(ports);
}

/* Every provider configured against the fake, with test-sized limits. */
static void
providers_env(void)
{
	static const char *const kv[][2] = {
		{ "AC_TELEGRAM_BOT_TOKEN", "123456:TEST-token" },
		{ "AC_RESEND_API_KEY", "re_test_key" },
		{ "AC_EMAIL_FROM", "alertcast <alerts@example.com>" },
		{ "AC_SMTP_USER", "mailer" },
		{ "AC_SMTP_PASSWORD", "mailer-secret" },
		{ "AC_NETGSM_USER", "8508000000" },
		{ "AC_NETGSM_PASSWORD", "netgsm-secret" },
		{ "AC_NETGSM_HEADER", "ALERTCAST" },
		{ "AC_TWILIO_ACCOUNT_SID", "ACtest0000000000000000000000000000" },
		{ "AC_TWILIO_AUTH_TOKEN", "twilio-secret" },
		{ "AC_TWILIO_FROM", "+15005550006" },
		{ "AC_ONESIGNAL_APP_ID", "5eb5a37e-b458-11e3-ac11-000c2940e62c" },
		{ "AC_ONESIGNAL_API_KEY", "os_test_key" },
		{ "AC_DELIVERY_TIMEOUT_MS", "1000" },
		{ "AC_BREAKER_FAILURES", "3" },
		{ "AC_BREAKER_COOLDOWN_MS", "1500" },
		{ "AC_RESEND_RATE", "0" },
	};
	static const char *const bases[] = { "AC_TELEGRAM_API_BASE", "AC_RESEND_API_BASE",
	    "AC_NETGSM_API_BASE", "AC_TWILIO_API_BASE", "AC_ONESIGNAL_API_BASE" };

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		setenv(kv[i][0], kv[i][1], 1);
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		setenv(bases[i], fake_base, 1);
	setenv("AC_SMTP_URL", smtp_url, 1);
}

/* ---- workers --------------------------------------------------------------- */

/* ac-worker --once until no deliver, notice or email job is pending or
 * running, for at most max_s seconds (retries wait their backoff). */
static void
drain(int max_s)
{
	int64_t end = it_now_ms() + max_s * 1000LL;

	while (it_now_ms() < end) {
		assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once",
		    "--batch", "500", NULL)), 0);
		if (it_q_ll("SELECT count(*) FROM jobs WHERE kind IN ('deliver', 'notice', 'email',"
		    " 'password_reset')"
		    " AND state IN ('pending', 'running')", NULL) == 0)
			return;
		usleep(200000);
	}
	fail_msg("deliver jobs still pending after %d s", max_s);
}

/* ---- fixtures ----------------------------------------------------------------- */

/* A user with the given addresses ("" for none) and a push device
 * (push_devices.subscription_id "player-<hex>"); its id. */
static long long
user_new(const char *chat, const char *phone)
{
	char hex[13], email[64];

	it_rand_hex(hex, 12);
	snprintf(email, sizeof(email), "d.%s@example.com", hex);
	return it_q_ll("WITH u AS (INSERT INTO users (email, password_hash, telegram_chat_id,"
	    " phone, timezone, display_name) VALUES ($1, 'x', nullif($2, ''), nullif($3, ''),"
	    " 'Europe/Istanbul', 'Test <User>') RETURNING id),"
	    " d AS (INSERT INTO push_devices (user_id, subscription_id)"
	    " SELECT id, 'player-' || $4 FROM u) SELECT id FROM u",
	    email, chat, phone, hex, NULL);
}

/* A queued delivery of kind on channel for user (a new signal of action,
 * received age_s seconds ago), with its own deliver job when job; the
 * delivery id; its signal's id in *signal (NULL: not wanted). */
static long long
delivery_full(long long user, const char *channel, const char *kind, const char *action,
    int age_s, int job, long long *signal)
{
	char su[24], ss[24], key[17], age[16];
	PGresult *r;
	long long id;

	snprintf(su, sizeof(su), "%lld", user);
	snprintf(ss, sizeof(ss), "%lld", strategy_id);
	snprintf(age, sizeof(age), "%d", age_s);
	it_rand_hex(key, 16);
	r = it_q("WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	    " received_at, alert_time, symbol, timeframe, action, price, take_profit, stop_loss,"
	    " status) SELECT id, $3, '{}', now() - $7::int * interval '1 second',"
	    " '2026-01-02T03:04:00Z', symbol, timeframe,"
	    " $6, 100.5, CASE $6 WHEN 'BUY' THEN 110 END, CASE $6 WHEN 'BUY' THEN 95 END,"
	    " 'processed' FROM strategies WHERE id = $2 RETURNING id),"
	    " d AS (INSERT INTO deliveries (signal_id, user_id, channel, kind)"
	    " SELECT id, $1, $4, $8 FROM s RETURNING id, signal_id),"
	    " j AS (INSERT INTO jobs (kind, payload, unique_key) SELECT 'deliver',"
	    " jsonb_build_object('delivery_id', id), 'deliver:' || id FROM d WHERE $5::boolean)"
	    " SELECT id, signal_id FROM d", su, ss, key, channel, job ? "true" : "false", action,
	    age, kind, NULL);
	id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (signal != NULL)
		*signal = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return id;
}

/* A queued delivery on channel for user (a new BUY signal), with its own
 * deliver job when job; the delivery id. */
static long long
delivery_make(long long user, const char *channel, int job)
{
	return delivery_full(user, channel, "entry", "BUY", 0, job, NULL);
}

static long long
delivery_new(long long user, const char *channel)
{
	return delivery_make(user, channel, 1);
}

/* One deliver job holding n new deliveries on channel, each to a new user
 * (with a Telegram chat "<chats><i>", i as 3 digits, unless chats is
 * NULL), as the fan-out writes them. */
static void
job_of_many(int n, const char *channel, const char *chats)
{
	char ids[2048], key[17], chat[16];
	size_t k = 0;

	assert_true(n <= 64);
	k += (size_t)snprintf(ids + k, sizeof(ids) - k, "[");
	for (int i = 0; i < n; i++) {
		snprintf(chat, sizeof(chat), "%s%03d", chats ? chats : "", i);
		k += (size_t)snprintf(ids + k, sizeof(ids) - k, "%s%lld", i ? ", " : "",
		    delivery_make(user_new(chats ? chat : "", ""), channel, 0));
	}
	snprintf(ids + k, sizeof(ids) - k, "]");
	it_rand_hex(key, 16);
	it_q_ll("INSERT INTO jobs (kind, payload, unique_key) VALUES ('deliver',"
	    " jsonb_build_object('delivery_ids', $1::jsonb), 'deliver:many:' || $2) RETURNING id",
	    ids, key, NULL);
}

/* Column col of row id of table as text (malloc'd; "" for NULL). */
static char *
col_of(const char *table, long long id, const char *col)
{
	char sid[24], sql[160];
	PGresult *r;
	char *v;

	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s::text, '') FROM %s WHERE id = $1", col,
	    table);
	r = it_q(sql, sid, NULL);
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}


/* Asserts delivery id has status and provider, and error containing
 * err (NULL: no check). */
static void
expect(long long id, const char *status, const char *provider, const char *err)
{
	char *s = col_of("deliveries", id, "status"), *p = col_of("deliveries", id, "provider");
	char *e = col_of("deliveries", id, "error");
	char got[600];
	int ok = strcmp(s, status) == 0 && strcmp(p, provider) == 0 && (!err || strstr(e, err));

	snprintf(got, sizeof(got), "%s/%s (%s)", s, p, e);
	free(s);
	free(p);
	free(e);
	if (!ok)
		fail_msg("delivery %lld: %s, wanted %s/%s (%s)", id, got, status, provider,
		    err ? err : "");
}

/* Sets up a test: a clean fake, every provider's breaker closed. */
static int
setup(void **state)
{
	redisContext *r = ac_redis_connect(it_env("AC_REDIS_URL"), 1000);
	redisReply *rep;

	(void)state;
	json_decref(fake("POST", "/_fake/reset", "{}"));
	assert_non_null(r);
	rep = redisCommand(r, "DEL ac:breaker:telegram ac:breaker:resend ac:breaker:smtp"
	    " ac:breaker:netgsm ac:breaker:twilio ac:breaker:onesignal");
	assert_non_null(rep);
	freeReplyObject(rep);
	redisFree(r);
	return 0;
}

/* ---- Telegram ------------------------------------------------------------------ */

static void
test_telegram_sent(void **state)
{
	long long u = user_new("900000001", ""), d = delivery_new(u, "telegram");
	json_t *reqs, *body;
	const char *text;

	drain(10);
	expect(d, "sent", "telegram", NULL);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 1);
	body = json_object_get(json_array_get(reqs, 0), "body");
	assert_string_equal(json_string_value(json_object_get(body, "chat_id")), "900000001");
	assert_string_equal(json_string_value(json_object_get(body, "parse_mode")), "HTML");
	text = json_string_value(json_object_get(body, "text"));
	/* the short line first, in bold: the template's markup is not escaped,
	 * the strategy's name is; a link back to the portal last */
	assert_int_equal(strncmp(text, "<b>BUY ", 7), 0);
	assert_non_null(strstr(text, " at 100.5 · TP 110 · SL 95</b>\n"
	    "Fast &lt;b&gt; &amp; &quot;co&quot;\n"));
	assert_non_null(strstr(text, "/trades\">Your trades on alertcast</a>"));
	/* 03:04 UTC shown in the user's zone */
	assert_non_null(strstr(text, "2026-01-02 06:04 Europe/Istanbul"));
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "path")), "/bot123456:TEST-token/sendMessage"));
	json_decref(reqs);
	(void)state;
}

static void
test_telegram_blocked(void **state)
{
	long long u = user_new("900000002", ""), d = delivery_new(u, "telegram"), d2;
	json_t *reqs, *body;
	char su[24], *email;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"to\": \"900000002\","
	    " \"status\": 403, \"body\": {\"ok\": false, \"error_code\": 403,"
	    " \"description\": \"Forbidden: bot was blocked by the user\"}}]"));
	drain(10);
	expect(d, "failed", "telegram", "bot was blocked by the user");
	snprintf(su, sizeof(su), "%lld", u);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1"
	    " AND telegram_unreachable_at IS NOT NULL", su, NULL), 1);
	/* the user is told by email, once */
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 1);
	email = col_of("users", u, "email");
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "to")),
	    email);
	body = json_object_get(json_array_get(reqs, 0), "body");
	assert_non_null(strstr(json_string_value(json_object_get(body, "subject")), "Telegram"));
	assert_non_null(strstr(json_string_value(json_object_get(body, "text")), "blocked"));
	/* the display name is escaped in the HTML part */
	assert_non_null(strstr(json_string_value(json_object_get(body, "html")),
	    "Test &lt;User&gt;"));
	json_decref(reqs);
	free(email);
	/* the next one fails at once without asking Telegram, and says nothing more */
	d2 = delivery_new(u, "telegram");
	drain(10);
	expect(d2, "failed", "telegram", "unreachable");
	assert_int_equal(count("telegram"), 1);
	assert_int_equal(count("resend"), 1);
	(void)state;
}

/* The charge of signal S to user u, as the fan-out writes it (after a
 * grant of 5), for delivery d. */
static void
charged(long long u, long long d, char *sig, size_t n)
{
	char su[24], *s = col_of("deliveries", d, "signal_id"), key[96];

	snprintf(su, sizeof(su), "%lld", u);
	snprintf(sig, n, "%s", s);
	snprintf(key, sizeof(key), "signal:%s:user:%lld", s, u);
	PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	    " VALUES ($1, 5, 'grant', 'test', 'grant:' || $2), ($1, -1, 'usage', 'signal:' || $3, $2)",
	    su, key, s, NULL));
	free(s);
}

/* A signal charged whose every delivery then failed for good reached
 * nobody: the worker's sweep gives the credit back, once. One that went
 * out on another channel keeps its charge. */
static void
test_refund_when_nothing_reached(void **state)
{
	long long u = user_new("771000001", ""), d = delivery_new(u, "telegram");
	long long v = user_new("771000002", ""), e = delivery_new(v, "telegram");
	char su[24], sv[24], sig[24], sig2[24];

	charged(u, d, sig, sizeof(sig));
	charged(v, e, sig2, sizeof(sig2));
	snprintf(su, sizeof(su), "%lld", u);
	snprintf(sv, sizeof(sv), "%lld", v);
	/* v's signal also goes by email, and that one is sent */
	it_q_ll("WITH d AS (INSERT INTO deliveries (signal_id, user_id, channel, kind)"
	    " VALUES ($1, $2, 'email', 'entry') RETURNING id)"
	    " INSERT INTO jobs (kind, payload, unique_key) SELECT 'deliver',"
	    " jsonb_build_object('delivery_id', id), 'deliver:' || id FROM d RETURNING id",
	    sig2, sv, NULL);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"to\": \"771000001\","
	    " \"status\": 403, \"body\": {\"ok\": false, \"error_code\": 403,"
	    " \"description\": \"Forbidden: bot was blocked by the user\"}},"
	    " {\"provider\": \"telegram\", \"to\": \"771000002\","
	    " \"status\": 403, \"body\": {\"ok\": false, \"error_code\": 403,"
	    " \"description\": \"Forbidden: bot was blocked by the user\"}}]"));
	drain(10);
	expect(d, "failed", "telegram", "bot was blocked by the user");
	expect(e, "failed", "telegram", "bot was blocked by the user");
	/* the sweep runs as a worker starts; twice: nothing more the second time */
	for (int i = 0; i < 2; i++)
		assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once", NULL)),
		    0);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE id = $1", su, NULL), 5);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1"
	    " AND kind = 'refund' AND amount = 1 AND reference = 'signal:' || $2"
	    " AND idempotency_key = 'refund:signal:' || $2 || ':user:' || $1", su, sig, NULL), 1);
	assert_int_equal(it_q_ll("SELECT credit_balance FROM users WHERE id = $1", sv, NULL), 4);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = $1"
	    " AND kind = 'refund'", sv, NULL), 0);
	(void)state;
}

static void
test_telegram_retry_after(void **state)
{
	long long u = user_new("900000003", ""), d = delivery_new(u, "telegram");
	json_t *reqs;
	double gap;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"status\": 429,"
	    " \"body\": {\"ok\": false, \"error_code\": 429, \"description\":"
	    " \"Too Many Requests: retry after 2\", \"parameters\": {\"retry_after\": 2}}}]"));
	drain(15);
	expect(d, "sent", "telegram", NULL);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 2);
	gap = json_real_value(json_object_get(json_array_get(reqs, 1), "t")) -
	    json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
	assert_true(gap >= 1.9);
	json_decref(reqs);
	(void)state;
}

static void
test_telegram_rate(void **state)
{
	json_t *reqs, *r;
	double first = 0, last_same = 0;
	size_t i;
	int same = 0, n = 0;
	long long hot = user_new("900000010", "");

	setenv("AC_TELEGRAM_RATE", "30", 1);
	for (int k = 0; k < 4; k++) {
		char chat[16];

		delivery_new(hot, "telegram");
		for (int j = 0; j < 15; j++) {
			snprintf(chat, sizeof(chat), "9100%02d%03d", k, j);
			delivery_new(user_new(chat, ""), "telegram");
		}
	}
	drain(30);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 64);
	json_array_foreach(reqs, i, r) {
		double t = json_real_value(json_object_get(r, "t"));

		if (i == 0)
			first = t;
		/* no more than 30 in any second after the first send */
		if (i >= 30) {
			double t30 = json_real_value(json_object_get(json_array_get(reqs, i - 30), "t"));

			if (t - t30 < 0.97)
				fail_msg("31 sends within %.3f s", t - t30);
		}
		if (strcmp(json_string_value(json_object_get(r, "to")), "900000010") == 0) {
			if (same++ > 0 && t - last_same < 0.95)
				fail_msg("two sends to one chat %.3f s apart", t - last_same);
			last_same = t;
		}
		n++;
	}
	assert_int_equal(same, 4);
	assert_true(n == 64 && first > 0);
	json_decref(reqs);
	(void)state;
}

/* A 429's retry_after holds the chat for every send, not only the one
 * that got it: another signal's message to that chat, whose slot was
 * booked before, waits as well. */
static void
test_telegram_retry_after_holds_chat(void **state)
{
	long long u = user_new("900000021", "");
	json_t *reqs, *r;
	double t429 = 0;
	size_t i;

	(void)state;
	delivery_new(u, "telegram");
	delivery_new(u, "telegram");
	delivery_new(u, "telegram");
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"status\": 429,"
	    " \"body\": {\"ok\": false, \"error_code\": 429, \"description\":"
	    " \"Too Many Requests: retry after 3\", \"parameters\": {\"retry_after\": 3}}}]"));
	drain(30);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 4);
	json_array_foreach(reqs, i, r) {
		double t = json_real_value(json_object_get(r, "t"));

		if (i == 0)
			t429 = t;
		else if (t - t429 < 2.95)
			fail_msg("send %zu reached the chat %.3f s after a 429 with retry_after 3",
			    i, t - t429);
	}
	json_decref(reqs);
}

/* A backlog longer than the booking horizon drains at the rate: slots
 * beyond it are not booked (and so not thrown away), nothing is left
 * queued. 40 emails at 20/s are 2 s of sending against a 1 s horizon. */
static void
test_backlog_drains(void **state)
{
	char ids[1024];
	json_t *reqs;
	double span;
	size_t n = 0;

	(void)state;
	setenv("AC_RESEND_RATE", "20", 1);
	setenv("AC_DELIVERY_HORIZON_MS", "1000", 1);
	n += (size_t)snprintf(ids + n, sizeof(ids) - n, "{");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%lld", i ? "," : "",
		    delivery_new(user_new("", ""), "email"));
	snprintf(ids + n, sizeof(ids) - n, "}");
	drain(30);
	setenv("AC_RESEND_RATE", "0", 1);
	unsetenv("AC_DELIVERY_HORIZON_MS");
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE id = ANY ($1::bigint[])"
	    " AND status = 'sent'", ids, NULL), 40);
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 40);
	span = json_real_value(json_object_get(json_array_get(reqs, 39), "t")) -
	    json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
	/* at the rate, never faster */
	assert_true(span >= 39 * 0.05 - 0.05);
	json_decref(reqs);
}

/* Sends that had their rate slot before the circuit opened do not go:
 * the breaker is asked again as each leaves. Ten emails of one job at
 * 20/s, Resend failing: three failures open it, the other seven go by
 * SMTP in the same pass. */
static void
test_breaker_stops_slotted(void **state)
{
	(void)state;
	job_of_many(10, "email", NULL);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"resend\", \"times\": -1,"
	    " \"status\": 503, \"body\": {\"statusCode\": 503, \"name\": \"unavailable\","
	    " \"message\": \"down\"}}]"));
	setenv("AC_RESEND_RATE", "20", 1);
	assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once",
	    "--batch", "500", NULL)), 0);
	setenv("AC_RESEND_RATE", "0", 1);
	assert_int_equal(count("resend"), 3);
	assert_int_equal(count("smtp"), 7);
	/* the three that failed go by SMTP too, once Resend's circuit is open */
	drain(20);
	assert_int_equal(count("smtp"), 10);
}

/* Telegram's overall limit holds in every sliding second, with three
 * workers sending jobs of many deliveries at once: 150 chats at 30/s. */
static void
test_telegram_sliding_second(void **state)
{
	json_t *reqs;
	pid_t w[3];
	int over = 0;

	(void)state;
	for (int j = 0; j < 3; j++) {
		char chats[8];

		snprintf(chats, sizeof(chats), "94%d00", j);
		job_of_many(50, "telegram", chats);
	}
	setenv("AC_TELEGRAM_RATE", "30", 1);
	for (int j = 0; j < 3; j++)
		w[j] = it_worker_start("test_deliver-worker.log", "--once", "--batch", "1", NULL);
	for (int j = 0; j < 3; j++)
		assert_int_equal(it_reap(w[j]), 0);
	drain(30);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 150);
	for (size_t i = 30; i < json_array_size(reqs); i++) {
		double t = json_real_value(json_object_get(json_array_get(reqs, i), "t"));
		double t30 = json_real_value(json_object_get(json_array_get(reqs, i - 30), "t"));

		if (t - t30 < 1.0) {
			fprintf(stderr, "31 sends within %.3f s (send %zu)\n", t - t30, i);
			over++;
		}
	}
	assert_int_equal(over, 0);
	json_decref(reqs);
}

/* A Retry-After from a provider without chats (Resend) holds its whole
 * account: sends already holding a slot wait for it too. Five emails of
 * one job at 20/s; the first answer is a 429 with Retry-After 2. */
static void
test_resend_retry_after_holds(void **state)
{
	json_t *reqs;
	double t429;

	(void)state;
	job_of_many(5, "email", NULL);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"resend\", \"status\": 429,"
	    " \"headers\": {\"Retry-After\": \"2\"}, \"body\": {\"statusCode\": 429,"
	    " \"name\": \"rate_limit_exceeded\", \"message\": \"slow down\"}}]"));
	setenv("AC_RESEND_RATE", "20", 1);
	drain(20);
	setenv("AC_RESEND_RATE", "0", 1);
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 6);
	t429 = json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
	for (size_t i = 1; i < json_array_size(reqs); i++)
		if (json_real_value(json_object_get(json_array_get(reqs, i), "t")) - t429 < 1.95)
			fail_msg("email %zu went %.3f s after a 429 with Retry-After 2", i,
			    json_real_value(json_object_get(json_array_get(reqs, i), "t")) - t429);
	json_decref(reqs);
}

/* ---- email ------------------------------------------------------------------------ */

/* The one-click unsubscribe headers of RFC 8058 a signal email to user
 * carried on provider: the link with the user's signed token. */
static void
unsubscribe_headers(const char *provider, const char *list, const char *post, long long user)
{
	char token[65], want[512];

	ac_unsubscribe_token(getenv("AC_UNSUBSCRIBE_SECRET"), user, token);
	snprintf(want, sizeof(want), "<%s/account/email/unsubscribe?u=%lld&t=%s>",
	    getenv("AC_BASE_URL"), user, token);
	if (list == NULL || strcmp(list, want) != 0)
		fail_msg("%s: List-Unsubscribe %s, not %s", provider, list ? list : "(none)", want);
	assert_string_equal(post ? post : "(none)", "List-Unsubscribe=One-Click");
}

static void
test_email_resend(void **state)
{
	long long u = user_new("", ""), d = delivery_new(u, "email");
	json_t *reqs, *r;

	drain(10);
	expect(d, "sent", "resend", NULL);
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 1);
	r = json_array_get(reqs, 0);
	assert_non_null(json_string_value(json_object_get(r, "idempotency_key")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "user_agent")), "alertcast/"));
	assert_string_equal(json_string_value(json_object_get(r, "authorization")),
	    "Bearer re_test_key");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "body"),
	    "html")), "Fast &lt;b&gt;"));
	unsubscribe_headers("resend", json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "body"), "headers"), "List-Unsubscribe")),
	    json_string_value(json_object_get(json_object_get(json_object_get(r, "body"),
	    "headers"), "List-Unsubscribe-Post")), u);
	json_decref(reqs);
	(void)state;
}

static void
test_email_fallback_smtp(void **state)
{
	long long u = user_new("", ""), d = delivery_new(u, "email");
	json_t *reqs, *body;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"resend\", \"times\": 3,"
	    " \"status\": 503, \"body\": {\"statusCode\": 503, \"name\": \"internal_server_error\","
	    " \"message\": \"down\"}}]"));
	drain(20);
	expect(d, "sent", "smtp", NULL);
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 3);
	/* backoff: 1 s, then 2 s */
	assert_true(json_real_value(json_object_get(json_array_get(reqs, 2), "t")) -
	    json_real_value(json_object_get(json_array_get(reqs, 0), "t")) >= 2.9);
	json_decref(reqs);
	reqs = recorded("smtp");
	assert_int_equal(json_array_size(reqs), 1);
	body = json_object_get(json_array_get(reqs, 0), "body");
	assert_string_equal(json_string_value(json_object_get(body, "content_type")),
	    "multipart/alternative");
	assert_non_null(strstr(json_string_value(json_object_get(body, "text")),
	    " at 100.5 · TP 110 · SL 95"));
	assert_non_null(strstr(json_string_value(json_object_get(body, "text")),
	    "Unsubscribe from signal emails: "));
	assert_non_null(strstr(json_string_value(json_object_get(body, "html")),
	    "Fast &lt;b&gt; &amp;"));
	assert_non_null(strstr(json_string_value(json_object_get(body, "subject")), "BUY"));
	unsubscribe_headers("smtp", json_string_value(json_object_get(body, "list_unsubscribe")),
	    json_string_value(json_object_get(body, "list_unsubscribe_post")), u);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(reqs,
	    0), "body"), "from")), "alerts@example.com");
	json_decref(reqs);
	(void)state;
}

/* ---- account emails ------------------------------------------------------------------ */

/* A new account's (made by acctl: no mail of its own) password reset asked
 * for through the portal by the guest g; the account's email into email
 * (128 bytes). */
static void
reset_asked(struct ib *g, char *email)
{
	struct it_resp r;
	char form[256], hex[9], *e;
	int st;

	it_rand_hex(hex, 8);
	snprintf(email, 128, "mail.%s@example.com", hex);
	json_decref(it_acctl(&st, "user", "add", "--email", email, "--password",
	    "a long enough password", "--name", "Mia", NULL));
	assert_int_equal(st, 0);
	ib_get(g, &r, "/password/forgot");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	e = ib_urlencode(email);
	snprintf(form, sizeof(form), "email=%s", e);
	free(e);
	ib_post(g, &r, "/password/forgot", form);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "on its way"));
	it_resp_free(&r);
}

/* The reset link in text (a message the fake received) opens the form to
 * choose a new password for g. */
static void
expect_reset_link(struct ib *g, const char *text)
{
	const char *p = text ? strstr(text, "/password/reset?token=") : NULL;
	struct it_resp r;
	char path[160];

	if (p == NULL)
		fail_msg("no reset link in: %s", text ? text : "(none)");
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(p, " \r\n"), p);
	ib_get(g, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "Choose a new password"));
	it_resp_free(&r);
}

/* Asserts the email_outbox row to addr: sent by provider after attempts
 * sends, with a provider message id when want_id (SMTP gives none), no
 * error left. Returns its id. */
static long long
expect_outbox(const char *addr, const char *provider, int attempts, int want_id)
{
	PGresult *res = it_q("SELECT id, status, provider, attempts, coalesce(provider_message_id, ''),"
	    " error IS NULL FROM email_outbox WHERE to_addr = $1", addr, NULL);
	long long id;

	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 1), "sent");
	assert_string_equal(PQgetvalue(res, 0, 2), provider);
	assert_int_equal(atoi(PQgetvalue(res, 0, 3)), attempts);
	assert_int_equal(*PQgetvalue(res, 0, 4) != '\0', want_id);
	assert_string_equal(PQgetvalue(res, 0, 5), "t");
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static void
test_mail_reset_resend(void **state)
{
	struct ib g = { 0 };
	char email[128], key[40];
	json_t *reqs, *r, *body;
	long long id;

	reset_asked(&g, email);
	drain(10);
	id = expect_outbox(email, "resend", 1, 1);
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 1);
	r = json_array_get(reqs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "to")), email);
	ac_prov_idempotency_key("email", id, key, sizeof(key));
	assert_string_equal(json_string_value(json_object_get(r, "idempotency_key")), key);
	body = json_object_get(r, "body");
	assert_string_equal(json_string_value(json_object_get(body, "subject")),
	    "Reset your alertcast password");
	/* the HTML part is the text, escaped, with the link clickable */
	assert_non_null(strstr(json_string_value(json_object_get(body, "html")),
	    "<a href=\"http"));
	assert_non_null(strstr(json_string_value(json_object_get(body, "html")),
	    "/password/reset?token="));
	expect_reset_link(&g, json_string_value(json_object_get(body, "text")));
	json_decref(reqs);
	assert_int_equal(count("smtp"), 0);
	(void)state;
}

static void
test_mail_reset_smtp(void **state)
{
	struct ib g = { 0 };
	char email[128];
	json_t *reqs, *body;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"resend\", \"times\": -1,"
	    " \"status\": 503, \"body\": {\"statusCode\": 503, \"name\": \"internal_server_error\","
	    " \"message\": \"down\"}}]"));
	reset_asked(&g, email);
	drain(20);
	expect_outbox(email, "smtp", 4, 0);
	assert_int_equal(count("resend"), 3);
	reqs = recorded("smtp");
	assert_int_equal(json_array_size(reqs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "to")), email);
	body = json_object_get(json_array_get(reqs, 0), "body");
	assert_string_equal(json_string_value(json_object_get(body, "content_type")),
	    "multipart/alternative");
	assert_non_null(strstr(json_string_value(json_object_get(body, "html")), "<a href="));
	expect_reset_link(&g, json_string_value(json_object_get(body, "text")));
	json_decref(reqs);
	(void)state;
}

/* ---- SMS ---------------------------------------------------------------------------- */

/* A code about the message (a bad parameter, the number) fails it. */
static void
test_sms_permanent(void **state)
{
	long long u = user_new("", "+905551112233"), d = delivery_new(u, "sms");

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"netgsm\", \"status\": 200,"
	    " \"body\": {\"code\": \"70\", \"description\": \"invalid parameter\"}}]"));
	drain(10);
	expect(d, "failed", "netgsm", "netgsm code 70");
	assert_int_equal(count("twilio"), 0);
	(void)state;
}

/* A code about our account (30: bad credentials) is not the message's
 * fault: the circuit opens at once, this SMS and the next go by Twilio. */
static void
test_sms_account_error(void **state)
{
	long long u = user_new("", "+905551112235"), d1 = delivery_new(u, "sms"), d2;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"netgsm\", \"times\": -1,"
	    " \"status\": 200, \"body\": {\"code\": \"30\", \"description\":"
	    " \"invalid credentials\"}}]"));
	drain(10);
	expect(d1, "sent", "twilio", NULL);
	d2 = delivery_new(u, "sms");
	drain(10);
	expect(d2, "sent", "twilio", NULL);
	assert_int_equal(count("netgsm"), 1);
	assert_int_equal(count("twilio"), 2);
	(void)state;
}

/* The circuit of the primary is open: the backup takes every attempt of
 * the plan (3 + 3), not just the three left after the primary's. */
static void
test_sms_backup_full_attempts(void **state)
{
	redisContext *r = ac_redis_connect(it_env("AC_REDIS_URL"), 1000);
	long long u = user_new("", "+905551112236"), d;
	redisReply *rep;
	char open[64];

	(void)state;
	assert_non_null(r);
	snprintf(open, sizeof(open), "5:%lld:0", (long long)(it_now_ms() + 120000));
	rep = redisCommand(r, "SET ac:breaker:netgsm %s", open);
	assert_non_null(rep);
	freeReplyObject(rep);
	redisFree(r);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"twilio\", \"times\": 5,"
	    " \"status\": 500, \"body\": {\"code\": 20500, \"message\": \"internal\"}}]"));
	d = delivery_new(u, "sms");
	drain(30);
	expect(d, "sent", "twilio", NULL);
	assert_int_equal(count("netgsm"), 0);
	assert_int_equal(count("twilio"), 6);
}

static void
test_sms_twilio_backup(void **state)
{
	long long u = user_new("", "+905551112234"), d = delivery_new(u, "sms");
	json_t *reqs;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"netgsm\", \"times\": 3,"
	    " \"status\": 200, \"body\": {\"code\": \"100\", \"description\": \"system error\"}}]"));
	drain(20);
	expect(d, "sent", "twilio", NULL);
	reqs = recorded("twilio");
	assert_int_equal(json_array_size(reqs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "to")),
	    "+905551112234");
	json_decref(reqs);
	(void)state;
}

/* ---- a job of many deliveries (as the fan-out writes them) ------------------------- */

/* Three deliver jobs of 600 SMS each (one signal, a number each), taken
 * two jobs a batch at Netgsm's 10 requests a second: the first batch's
 * 1,200 make two requests of 500 and hold the other 200 back, which the
 * next batch takes first with the third job's 600: 500 more and 300 held
 * again, which go alone (a delivery is held once). Four requests where
 * each batch sending its own short one made five; each SMS sent once,
 * nothing counted against the held, and no error left on them. */
static void
test_sms_held_fill(void **state)
{
	char sid[24];
	json_t *reqs;
	size_t sizes[8] = { 0 }, n, total = 0;
	long long signal;
	int runs;

	(void)state;
	snprintf(sid, sizeof(sid), "%lld", strategy_id);
	signal = it_q_ll("INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at,"
	    " symbol, timeframe, action, price, status) SELECT id, 'held-' || gen_random_uuid(),"
	    " '{}', now(), symbol, timeframe, 'BUY', 100.5, 'processed' FROM strategies"
	    " WHERE id = $1 RETURNING id", sid, NULL);
	snprintf(sid, sizeof(sid), "%lld", signal);
	PQclear(it_q("WITH u AS (INSERT INTO users (email, password_hash, phone, timezone)"
	    " SELECT 'held.' || $1::bigint || '.' || g || '@example.com', 'x',"
	    " '+90555' || lpad(($1::bigint % 1000 * 10000 + g)::text, 7, '0'), 'UTC'"
	    " FROM generate_series(1, 1800) g RETURNING id),"
	    " d AS (INSERT INTO deliveries (signal_id, user_id, channel, kind)"
	    " SELECT $1::bigint, id, 'sms', 'entry' FROM u RETURNING id),"
	    " c AS (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 600 AS k FROM d)"
	    " INSERT INTO jobs (kind, payload, unique_key) SELECT 'deliver',"
	    " jsonb_build_object('delivery_ids', jsonb_agg(id ORDER BY id)), 'deliver:held:t:' || min(id)"
	    " FROM c GROUP BY k", sid, NULL));
	setenv("AC_NETGSM_RATE", "10", 1);
	for (runs = 0; runs < 10 && it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'deliver'"
	    " AND state IN ('pending', 'running')", NULL) > 0; runs++)
		assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once",
		    "--batch", "2", NULL)), 0);
	unsetenv("AC_NETGSM_RATE");
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND status = 'sent' AND provider = 'netgsm' AND attempts = 1 AND error IS NULL", sid,
	    NULL), 1800);
	reqs = recorded("netgsm");
	n = json_array_size(reqs);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n && i < 8; i++) {
		sizes[i] = json_array_size(json_object_get(json_array_get(reqs, i), "recipients"));
		total += sizes[i];
	}
	assert_int_equal(total, 1800);
	assert_int_equal(sizes[0], 500);
	assert_int_equal(sizes[1], 500);
	assert_int_equal(sizes[2], 500);
	assert_int_equal(sizes[3], 300);
	json_decref(reqs);
	/* the held went in jobs of their own, each done */
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'deliver'"
	    " AND payload->>'held' = 'true' AND state = 'done'", NULL), 2);
}

/* Each delivery of the job gets its own outcome: sent ones are written
 * together, a permanent failure fails only its own, a retry becomes a job
 * of its own, a delivery already sent is left alone and a missing one is
 * passed over; the job itself is done. */
static void
test_many_in_one_job(void **state)
{
	long long u1 = user_new("", "+905551112299"), u2 = user_new("900000077", ""),
	    u3 = user_new("", ""), u4 = user_new("", "");
	long long d_sms = delivery_make(u1, "sms", 0), d_tg = delivery_make(u2, "telegram", 0),
	    d_push = delivery_make(u3, "push", 0), d_mail = delivery_make(u4, "email", 0),
	    d_done = delivery_make(u4, "push", 0), d_missing, job;
	char ids[256], sd[24];

	snprintf(sd, sizeof(sd), "%lld", d_done);
	PQclear(it_q("UPDATE deliveries SET status = 'sent', provider = 'before', sent_at = now()"
	    " WHERE id = $1", sd, NULL));
	d_missing = it_q_ll("SELECT max(id) + 1000 FROM deliveries", NULL);
	snprintf(ids, sizeof(ids), "[%lld, %lld, %lld, %lld, %lld, %lld]", d_sms, d_tg, d_push,
	    d_mail, d_done, d_missing);
	job = it_q_ll("INSERT INTO jobs (kind, payload, unique_key) VALUES ('deliver',"
	    " jsonb_build_object('delivery_ids', $1::jsonb), 'deliver:many:' || $2) RETURNING id",
	    ids, sd, NULL);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"netgsm\", \"status\": 200,"
	    " \"body\": {\"code\": \"70\", \"description\": \"invalid parameter\"}},"
	    " {\"provider\": \"telegram\", \"status\": 429, \"body\": {\"ok\": false,"
	    " \"error_code\": 429, \"description\": \"Too Many Requests: retry after 1\","
	    " \"parameters\": {\"retry_after\": 1}}}]"));
	drain(20);
	expect(d_sms, "failed", "netgsm", "netgsm code 70");
	expect(d_tg, "sent", "telegram", NULL);
	expect(d_push, "sent", "onesignal", NULL);
	expect(d_mail, "sent", "resend", NULL);
	expect(d_done, "sent", "before", NULL);
	assert_int_equal(count("twilio"), 0);
	assert_int_equal(count("telegram"), 2);
	assert_int_equal(count("onesignal"), 1);
	snprintf(sd, sizeof(sd), "%lld", job);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE id = $1 AND state = 'done'",
	    sd, NULL), 1);
	/* the telegram retry was a job of its own, keyed by the first */
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'deliver'"
	    " AND payload->>'delivery_id' = $1 AND unique_key LIKE '%:' || $2 AND state = 'done'",
	    (snprintf(ids, sizeof(ids), "%lld", d_tg), ids), sd, NULL), 1);
	/* each went out once */
	snprintf(ids, sizeof(ids), "{%lld,%lld,%lld}", d_tg, d_push, d_mail);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE id = ANY ($1::bigint[])"
	    " AND status = 'sent' AND sent_at IS NOT NULL", ids, NULL), 3);
	(void)state;
}

/* ---- push ---------------------------------------------------------------------------- */

static void
test_push_errors_and_timeout(void **state)
{
	long long u = user_new("", ""), d1 = delivery_new(u, "push"), d2;
	char ext[24];

	snprintf(ext, sizeof(ext), "%lld", u);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"onesignal\", \"status\": 200,"
	    " \"body\": {\"id\": \"\", \"errors\": [\"All included players are not subscribed\"]}}]"));
	drain(10);
	expect(d1, "failed", "onesignal", "not subscribed");
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"onesignal\", \"hang\": true}]"));
	d2 = delivery_new(u, "push");
	drain(10);
	expect(d2, "failed", "onesignal", "onesignal");
	assert_int_equal(count("onesignal"), 2);
	(void)state;
}

static void
test_push_breaker(void **state)
{
	long long u = user_new("", ""), d[6];
	json_t *reqs;

	/* a success first: earlier failures no longer count */
	d[0] = delivery_new(u, "push");
	drain(10);
	expect(d[0], "sent", "onesignal", NULL);
	json_decref(fake("POST", "/_fake/reset", "{}"));
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"onesignal\", \"times\": 3,"
	    " \"status\": 503, \"body\": {\"errors\": [\"service unavailable\"]}}]"));
	for (int i = 0; i < 3; i++) {
		d[i] = delivery_new(u, "push");
		drain(10);
		expect(d[i], "failed", "onesignal", "503");
	}
	/* open: not even tried, and no attempt used: it waits out the cool-down */
	d[3] = delivery_new(u, "push");
	assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once", NULL)), 0);
	expect(d[3], "queued", "onesignal", "circuit open");
	assert_int_equal(count("onesignal"), 3);
	/* after the cool-down its retry is the probe: it succeeds and closes it */
	usleep(1600000);
	drain(10);
	expect(d[3], "sent", "onesignal", NULL);
	d[4] = delivery_new(u, "push");
	drain(10);
	expect(d[4], "sent", "onesignal", NULL);
	d[5] = delivery_new(u, "push");
	drain(10);
	expect(d[5], "sent", "onesignal", NULL);
	reqs = recorded("onesignal");
	assert_int_equal(json_array_size(reqs), 6);
	json_decref(reqs);
	(void)state;
}

static void
test_push_killed_worker(void **state)
{
	long long u = user_new("", "");
	json_t *reqs, *r;
	size_t i, fresh = 0;
	char su[24];
	pid_t w;

	json_decref(fake("POST", "/_fake/config", "{\"latency_ms\": 1500}"));
	for (int k = 0; k < 20; k++)
		delivery_new(u, "push");
	setenv("AC_DELIVERY_TIMEOUT_MS", "5000", 1);
	w = it_worker_start("test_deliver-worker.log", "--once", NULL);
	usleep(800000);
	kill(w, SIGKILL);
	assert_int_equal(it_reap(w), 128 + SIGKILL);
	json_decref(fake("POST", "/_fake/config", "{\"latency_ms\": 0}"));
	drain(20);
	setenv("AC_DELIVERY_TIMEOUT_MS", "1000", 1);
	snprintf(su, sizeof(su), "%lld", u);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE user_id = $1"
	    " AND status = 'sent' AND provider = 'onesignal'", su, NULL), 20);
	reqs = recorded("onesignal");
	json_array_foreach(reqs, i, r)
		if (!json_is_true(json_object_get(r, "dup")))
			fresh++;
	/* each delivery reached the provider as one notification */
	assert_int_equal(fresh, 20);
	assert_true(json_array_size(reqs) >= 20);
	json_decref(reqs);
	(void)state;
}

/* A worker killed in the middle of a batch to a provider without an
 * idempotency key (Telegram): what it sent was recorded as it went, so
 * the re-run sends only the rest; a chat gets its message twice at most
 * for the one send in flight at the kill. 40 chats at 20/s are 2 s of
 * sending; the kill comes after 1 s. */
static void
test_killed_worker_no_repeats(void **state)
{
	json_t *reqs, *r, *seen = json_object();
	size_t i;
	int dups = 0;
	pid_t w;

	(void)state;
	for (int k = 0; k < 40; k++) {
		char chat[16];

		snprintf(chat, sizeof(chat), "93000%03d", k);
		delivery_new(user_new(chat, ""), "telegram");
	}
	setenv("AC_TELEGRAM_RATE", "20", 1);
	w = it_worker_start("test_deliver-worker.log", "--once", "--batch", "500", NULL);
	usleep(1000000);
	kill(w, SIGKILL);
	assert_int_equal(it_reap(w), 128 + SIGKILL);
	assert_true(count("telegram") > 5);
	drain(30);
	setenv("AC_TELEGRAM_RATE", "30", 1);
	reqs = recorded("telegram");
	json_array_foreach(reqs, i, r) {
		const char *to = json_string_value(json_object_get(r, "to"));

		if (json_object_get(seen, to) != NULL)
			dups++;
		json_object_set_new(seen, to, json_true());
	}
	fprintf(stderr, "test_killed_worker_no_repeats: %zu sends, %d repeated after the kill\n",
	    json_array_size(reqs), dups);
	assert_int_equal(json_object_size(seen), 40);
	assert_true(dups <= 1);
	json_decref(reqs);
	json_decref(seen);
}

/* ---- failures, Redis away, end to end ------------------------------------------ */

static void
test_telegram_5xx_then_ok(void **state)
{
	long long u = user_new("900000004", ""), d = delivery_new(u, "telegram");
	json_t *reqs;
	char *attempts;

	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"status\": 502,"
	    " \"body\": {\"ok\": false, \"error_code\": 502, \"description\": \"Bad Gateway\"}}]"));
	drain(15);
	expect(d, "sent", "telegram", NULL);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 2);
	assert_true(json_real_value(json_object_get(json_array_get(reqs, 1), "t")) -
	    json_real_value(json_object_get(json_array_get(reqs, 0), "t")) >= 0.95);
	json_decref(reqs);
	attempts = col_of("deliveries", d, "attempts");
	assert_string_equal(attempts, "2");
	free(attempts);
	(void)state;
}

static void
test_redis_down_fallback(void **state)
{
	long long chat = user_new("900000005", ""), pu = user_new("", ""), d[5];
	const char *redis = it_env("AC_REDIS_URL");
	char *saved = strdup(redis), log[1200], line[512];
	json_t *reqs;
	size_t i;
	double last = 0;
	int away = 0;
	FILE *f;

	setenv("AC_REDIS_URL", "redis://127.0.0.1:1", 1);
	setenv("AC_ONESIGNAL_CONCURRENCY", "1", 1);
	/* the per-chat gap, in this process's memory */
	for (int k = 0; k < 3; k++)
		delivery_new(chat, "telegram");
	/* the breaker, in this process's memory: three 503s open it */
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"onesignal\", \"times\": -1,"
	    " \"status\": 503, \"body\": {\"errors\": [\"service unavailable\"]}}]"));
	for (int k = 0; k < 5; k++)
		d[k] = delivery_new(pu, "push");
	/* one worker: its breaker is its own */
	assert_int_equal(it_reap(it_worker_start("test_deliver-worker.log", "--once", "--batch",
	    "500", NULL)), 0);
	setenv("AC_REDIS_URL", saved, 1);
	unsetenv("AC_ONESIGNAL_CONCURRENCY");
	free(saved);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 3);
	for (i = 0; i < 3; i++) {
		double t = json_real_value(json_object_get(json_array_get(reqs, i), "t"));

		if (i > 0 && t - last < 0.95)
			fail_msg("two sends to one chat %.3f s apart without Redis", t - last);
		last = t;
	}
	json_decref(reqs);
	for (int k = 0; k < 3; k++)
		expect(d[k], "failed", "onesignal", "503");
	for (int k = 3; k < 5; k++)
		expect(d[k], "queued", "onesignal", "circuit open");
	assert_int_equal(count("onesignal"), 3);
	/* the worker said it was on its own */
	snprintf(log, sizeof(log), "%s/test_deliver-worker.log", logdir);
	assert_non_null(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		away += strstr(line, "redis away") != NULL;
	fclose(f);
	assert_true(away > 0);
	/* Redis back: the breaker there was never opened; the two that waited
	 * go as well */
	json_decref(fake("POST", "/_fake/reset", "{}"));
	d[0] = delivery_new(pu, "push");
	drain(10);
	expect(d[0], "sent", "onesignal", NULL);
	expect(d[3], "sent", "onesignal", NULL);
	expect(d[4], "sent", "onesignal", NULL);
	(void)state;
}

/* Where to is among the recipients of recorded request r, or -1. */
static int
recipient_at(json_t *r, const char *to)
{
	json_t *v;
	size_t k;

	json_array_foreach(json_object_get(r, "recipients"), k, v)
		if (json_is_string(v) && strcmp(json_string_value(v), to) == 0)
			return (int)k;
	return -1;
}

/* The first recorded request of provider to recipient (one of a bulk
 * request's), or NULL. */
static json_t *
request_to(json_t *reqs, const char *to)
{
	json_t *r;
	size_t i;

	json_array_foreach(reqs, i, r)
		if (recipient_at(r, to) >= 0)
			return r;
	return NULL;
}

/* Asserts text says what the alert said. */
static void
expect_alert_text(const char *what, const char *text, const char *symbol)
{
	static const char *const want[] = { "BUY", "42,000", "42,840", "41,160" };

	if (text == NULL || strstr(text, symbol) == NULL)
		fail_msg("%s: no %s in '%s'", what, symbol, text ? text : "(none)");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("%s: no %s in '%s'", what, want[i], text);
}

/* Waits up to ms for the fake's stats to reach want (provider: count);
 * 1 if they did. */
static int
wait_stats(const char *want, int ms)
{
	json_t *w = json_loads(want, 0, NULL), *v;
	int64_t end = it_now_ms() + ms;
	const char *k;
	int ok = 0;

	assert_non_null(w);
	while (!ok && it_now_ms() < end) {
		json_t *st = fake("GET", "/_fake/stats", NULL);

		ok = 1;
		json_object_foreach(w, k, v)
			if (json_integer_value(json_object_get(st, k)) < json_integer_value(v))
				ok = 0;
		json_decref(st);
		if (!ok)
			usleep(100000);
	}
	json_decref(w);
	return ok;
}

/* ---- chaos: workers killed mid-batch while the providers misbehave ------------------ */

/* The integer in environment variable name, def when unset; lo..hi. */
static int
env_int(const char *name, int def, int lo, int hi)
{
	const char *v = getenv(name);
	int n = v && *v ? atoi(v) : def;

	return n < lo ? lo : n > hi ? hi : n;
}

/* A new 1h strategy *s (its id as text in sid) and a plan named
 * "<prefix>-<hex>" covering it with credits; hex (9 bytes) is random,
 * plan (40 bytes) its name. */
static void
strategy_plan(struct it_strategy *s, const char *prefix, const char *credits, char *sid,
    char *hex, char *plan)
{
	int st;

	it_strategy_new(s, "1h", NULL);
	snprintf(sid, 24, "%lld", s->id);
	it_rand_hex(hex, 8);
	snprintf(plan, 40, "%s-%s", prefix, hex);
	json_decref(it_acctl(&st, "plan", "add", "--name", plan, "--price-cents", "1000",
	    "--currency", "USD", "--months", "1", "--credits", credits, "--strategies", sid, NULL));
	assert_int_equal(st, 0);
}

/* The recipient-visible messages (answered with success, repeats of an
 * idempotency key not counted) of providers (NULL-terminated) per
 * recipient, into counts (recipient: n). */
static void
visible(const char *const *providers, json_t *counts)
{
	for (; *providers != NULL; providers++) {
		json_t *reqs = recorded(*providers), *r;
		size_t i;

		json_array_foreach(reqs, i, r) {
			json_t *to;
			size_t k;

			if (!json_is_true(json_object_get(r, "ok")))
				continue;
			/* each recipient of a bulk request sees it */
			json_array_foreach(json_object_get(r, "recipients"), k, to) {
				char key[96];

				if (json_is_string(to))
					snprintf(key, sizeof(key), "%s", json_string_value(to));
				else
					snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
					    json_integer_value(to));
				/* Twilio has the "+", Netgsm not */
				json_object_set_new(counts, key[0] == '+' ? key + 1 : key,
				    json_integer(json_integer_value(json_object_get(counts,
				    key[0] == '+' ? key + 1 : key)) + 1));
			}
		}
		json_decref(reqs);
	}
}

/* For channel: how many of the recipients' visible messages are more
 * than the deliveries recorded sent to them (repeats), and fewer (a
 * delivery recorded sent that nobody got). */
static void
repeats(long long sid, const char *channel, const char *const *providers, const char *addr,
    int *more, int *fewer)
{
	char ssid[24], sql[512];
	json_t *counts = json_object();
	PGresult *r;

	visible(providers, counts);
	snprintf(ssid, sizeof(ssid), "%lld", sid);
	snprintf(sql, sizeof(sql), "SELECT %s, count(*) FROM deliveries d JOIN signals s"
	    " ON s.id = d.signal_id JOIN users u ON u.id = d.user_id WHERE s.strategy_id = $1"
	    " AND d.channel = $2 AND d.status = 'sent' GROUP BY 1", addr);
	r = it_q(sql, ssid, channel, NULL);
	*more = *fewer = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *to = PQgetvalue(r, i, 0);
		long long want = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		long long got = json_integer_value(json_object_get(counts, to[0] == '+' ? to + 1 : to));

		if (got > want)
			*more += (int)(got - want);
		if (got < want)
			*fewer += (int)(want - got);
	}
	PQclear(r);
	json_decref(counts);
}

/* The device id of subscription sub, as text (static). */
static const char *
device_of(const char *sub)
{
	static char id[24];

	snprintf(id, sizeof(id), "%lld", it_q_ll("SELECT coalesce(max(id), 0) FROM push_devices"
	    " WHERE subscription_id = $1", sub, NULL));
	return id;
}

/* The browsers linked on the portal's account page get the push: one
 * OneSignal request names each of the user's subscriptions; one removed
 * there hears nothing more, another user's cannot be removed, a browser
 * that signs in to another account moves there, a sixth drops the longest
 * linked, and with none left a push delivery has no address. */
static void
test_push_linked_device(void **state)
{
	static const char dev[] = "0b6e4c8a-3f1d-4e2b-9a7c-5d8e1f2a3b4c",
	    dev2[] = "1c7f5d9b-4a2e-4f3c-8b8d-6e9f2a3b4c5d";
	struct ib b = { 0 }, o = { 0 };
	struct it_resp r;
	char email[128], path[96], form[96], su[24];
	long long u = ib_signup(&b, "pushdev", "Dev", "push password 1", email), d, other;
	json_t *reqs, *body, *ids;

	(void)state;
	other = ib_signup(&o, "pushother", "Oth", "push password 2", email);
	ib_get(&b, &r, "/account");
	it_resp_free(&r);
	ib_post(&b, &r, "/account/push", "subscription_id=0b6e4c8a-3f1d-4e2b-9a7c-5d8e1f2a3b4c");
	ib_expect_redirect(&r, "/account?done=push_linked");
	it_resp_free(&r);
	/* the second browser: upper case is the same id */
	ib_post(&b, &r, "/account/push", "subscription_id=1C7F5D9B-4A2E-4F3C-8B8D-6E9F2A3B4C5D");
	ib_expect_redirect(&r, "/account?done=push_linked");
	it_resp_free(&r);
	ib_get(&b, &r, "/account");
	snprintf(path, sizeof(path), "id=\"push-device-%s\"", device_of(dev));
	assert_true(it_has(&r, path));
	snprintf(path, sizeof(path), "id=\"push-device-%s\"", device_of(dev2));
	assert_true(it_has(&r, path));
	it_resp_free(&r);
	d = delivery_new(u, "push");
	drain(10);
	expect(d, "sent", "onesignal", NULL);
	reqs = recorded("onesignal");
	assert_int_equal(json_array_size(reqs), 1);
	assert_non_null(body = json_object_get(request_to(reqs, dev), "body"));
	ids = json_object_get(body, "include_subscription_ids");
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), dev);
	assert_string_equal(json_string_value(json_array_get(ids, 1)), dev2);
	assert_null(json_object_get(body, "include_aliases"));
	json_decref(reqs);

	/* another user cannot remove this user's device */
	snprintf(path, sizeof(path), "/account/push/%s/unlink", device_of(dev));
	ib_post(&o, &r, path, "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	/* removed: the next push goes to the other browser alone */
	ib_post(&b, &r, path, "");
	ib_expect_redirect(&r, "/account?done=push_unlinked");
	it_resp_free(&r);
	json_decref(fake("POST", "/_fake/reset", "{}"));
	d = delivery_new(u, "push");
	drain(10);
	expect(d, "sent", "onesignal", NULL);
	reqs = recorded("onesignal");
	assert_int_equal(json_array_size(reqs), 1);
	ids = json_object_get(json_object_get(json_array_get(reqs, 0), "body"),
	    "include_subscription_ids");
	assert_int_equal(json_array_size(ids), 1);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), dev2);
	json_decref(reqs);

	/* the browser signs in to another account: it is that account's now */
	ib_get(&o, &r, "/account");
	it_resp_free(&r);
	ib_post(&o, &r, "/account/push", "subscription_id=1c7f5d9b-4a2e-4f3c-8b8d-6e9f2a3b4c5d");
	ib_expect_redirect(&r, "/account?done=push_linked");
	it_resp_free(&r);
	snprintf(su, sizeof(su), "%lld", other);
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE user_id = $1"
	    " AND subscription_id = $2", su, dev2, NULL), 1);
	d = delivery_new(u, "push");
	drain(10);
	expect(d, "failed", "onesignal", "no address on file");

	/* six browsers: the longest linked is dropped */
	for (int i = 0; i < 6; i++) {
		snprintf(form, sizeof(form), "subscription_id=2d8a6e0c-5b3f-4a4d-9c9e-7f0a3b4c5d%02d", i);
		ib_post(&b, &r, "/account/push", form);
		ib_expect_redirect(&r, "/account?done=push_linked");
		it_resp_free(&r);
	}
	snprintf(su, sizeof(su), "%lld", u);
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE user_id = $1", su,
	    NULL), 5);
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE user_id = $1"
	    " AND subscription_id LIKE '%5d00'", su, NULL), 0);
}

/*
 * 30 subscribers on every channel, 6 alerts through nginx, two workers of
 * which one is killed (SIGKILL) every 1.5 s and started again, five kills
 * in all, while the fake answers 5xx, 429 with retry_after, resets the
 * connection, hangs, answers push slowly (so sends are in flight at the
 * kills; push has one attempt, so it gets no faults) and Resend is down
 * for the first 4 s; then the faults stop and the backlog drains. Nothing is left queued; nothing recorded
 * sent is missing; repeats a recipient sees are 0 for push (an idempotency
 * key) and at most one request's worth per kill elsewhere (a message, or a
 * Netgsm request of many); Telegram never has 31 requests
 * in a second nor a chat a request before its retry_after; Resend gets no
 * more than the breaker's failures and probes while down; every balance is
 * the sum of its ledger.
 */
static void
test_chaos(void **state)
{
	static const char *const tg[] = { "telegram", NULL }, *const mail[] = { "resend", "smtp",
	    NULL }, *const sms[] = { "netgsm", "twilio", NULL }, *const push[] = { "onesignal",
	    NULL };
	/* bench/chaos/run makes it bigger */
	const int USERS = env_int("AC_CHAOS_USERS", 30, 2, 1000);
	const int ALERTS = env_int("AC_CHAOS_ALERTS", 6, 1, 200);
	const int KILLS = env_int("AC_CHAOS_KILLS", 5, 0, 1000);
	const int WORKERS = env_int("AC_CHAOS_WORKERS", 2, 1, 8);
	const int STEPS = ALERTS > 2 * KILLS + 2 ? ALERTS : 2 * KILLS + 2;
	struct it_strategy s;
	char sid[24], plan[40], hex[9], rules[2048], chat0[16], chat1[16], credits[16], run_s[16];
	json_t *reqs, *r;
	struct it_resp resp;
	double down_until;
	pid_t w[8];
	size_t i;
	int st, kills = 0, more, fewer, seen_more = 0, seen_fewer = 0, over = 0, early = 0;
	int resend_down = 0, widest = 1;

	(void)state;
	snprintf(credits, sizeof(credits), "%d", ALERTS + 14);
	snprintf(run_s, sizeof(run_s), "%d", STEPS * 3 / 4 + 30);
	strategy_plan(&s, "chaos", credits, sid, hex, plan);
	for (int u = 0; u < USERS; u++) {
		char email[64], chat[16], phone[16];

		snprintf(email, sizeof(email), "chaos.%s.%d@example.com", hex, u);
		snprintf(chat, sizeof(chat), "95%06ld%03d", strtol(hex + 2, NULL, 16) % 1000000, u);
		snprintf(phone, sizeof(phone), "+90556%04d%03d", (int)(strtol(hex + 4, NULL, 16) %
		    10000), u);
		if (u == 0)
			snprintf(chat0, sizeof(chat0), "%s", chat);
		if (u == 1)
			snprintf(chat1, sizeof(chat1), "%s", chat);
		json_decref(it_acctl(&st, "user", "add", "--email", email, "--password", "secret-pw",
		    "--telegram-chat-id", chat, "--phone", phone, NULL));
		assert_int_equal(st, 0);
		json_decref(it_acctl(&st, "subscribe", "--email", email, "--plan", plan, NULL));
		assert_int_equal(st, 0);
		json_decref(it_acctl(&st, "alarm", "add", "--email", email, "--strategy", sid,
		    "--channels", "email,telegram,sms,push", NULL));
		assert_int_equal(st, 0);
	}
	PQclear(it_q("UPDATE users SET max_daily_alerts = 1000"
	    " WHERE email LIKE 'chaos.' || $1 || '.%'", hex, NULL));
	PQclear(it_q("INSERT INTO push_devices (user_id, subscription_id) SELECT id, 'player-' || id"
	    " FROM users WHERE email LIKE 'chaos.' || $1 || '.%'", hex, NULL));
	down_until = it_now_ms() / 1000.0 + 4;
	snprintf(rules, sizeof(rules), "["
	    "{\"provider\": \"telegram\", \"to\": \"%s\", \"status\": 429, \"body\": {\"ok\": false,"
	    " \"error_code\": 429, \"description\": \"Too Many Requests: retry after 2\","
	    " \"parameters\": {\"retry_after\": 2}}},"
	    "{\"provider\": \"telegram\", \"to\": \"%s\", \"status\": 429, \"body\": {\"ok\": false,"
	    " \"error_code\": 429, \"description\": \"Too Many Requests: retry after 3\","
	    " \"parameters\": {\"retry_after\": 3}}},"
	    "{\"provider\": \"telegram\", \"times\": 6, \"status\": 502, \"body\": {}},"
	    "{\"provider\": \"telegram\", \"times\": 3, \"reset\": true},"
	    "{\"provider\": \"resend\", \"times\": -1, \"until\": %.3f, \"status\": 503,"
	    " \"body\": {\"name\": \"internal_server_error\", \"message\": \"down\"}},"
	    "{\"provider\": \"netgsm\", \"times\": 8, \"status\": 500, \"body\": {}},"
	    "{\"provider\": \"netgsm\", \"times\": 2, \"hang\": true},"
	    "{\"provider\": \"twilio\", \"times\": 3, \"status\": 429, \"body\": {\"code\": 20429,"
	    " \"message\": \"Too Many Requests\"}},"
	    "{\"provider\": \"onesignal\", \"times\": 60, \"latency_ms\": 400}]",
	    chat0, chat1, down_until);
	json_decref(fake("POST", "/_fake/rules", rules));
	setenv("AC_RESEND_RATE", "10", 1);
	for (int k = 0; k < WORKERS; k++)
		w[k] = it_worker_start("test_deliver-chaos.log", "--for", run_s, NULL);
	for (int k = 0; k < STEPS; k++) {
		if (k < ALERTS) {
			char *body = it_alert(&s, "buy", 42001 + k, 0, 0, it_now_ms());

			it_post(&resp, s.path, "application/json", body);
			free(body);
			assert_int_equal(resp.status, 202);
			it_resp_free(&resp);
		}
		usleep(750000);
		if (k >= 2 && k % 2 == 0 && kills < KILLS) {
			int v = (k / 2) % WORKERS;

			kill(w[v], SIGKILL);
			assert_int_equal(it_reap(w[v]), 128 + SIGKILL);
			kills++;
			w[v] = it_worker_start("test_deliver-chaos.log", "--for", run_s, NULL);
		}
	}
	json_decref(fake("POST", "/_fake/rules/clear", "{}"));
	for (int k = 0; k < WORKERS; k++) {
		kill(w[k], SIGTERM);
		assert_int_equal(it_reap(w[k]), 0);
	}
	/* the emails go at AC_RESEND_RATE (10 a second) until the drain is over */
	drain(90 + USERS * ALERTS / 20 + USERS * ALERTS / 10);
	setenv("AC_RESEND_RATE", "0", 1);

	/* nothing queued, every delivery made */
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1", sid, NULL),
	    ALERTS);
	{
		PGresult *left = it_q("SELECT d.id, d.channel, d.status, coalesce(d.provider, ''),"
		    " d.attempts, coalesce(d.error, ''), (SELECT string_agg(j.state || ' ' ||"
		    " j.attempts || ' ' || coalesce(j.last_error, ''), '; ') FROM jobs j WHERE"
		    " j.kind = 'deliver' AND (j.payload->>'delivery_id')::bigint = d.id)"
		    " FROM deliveries d JOIN signals s ON s.id = d.signal_id WHERE s.strategy_id = $1"
		    " AND d.status <> 'sent' ORDER BY d.id", sid, NULL);

		for (int k = 0; k < PQntuples(left); k++)
			fprintf(stderr, "chaos: delivery %s (%s) %s/%s after %s attempts: %s; jobs: %s\n",
			    PQgetvalue(left, k, 0), PQgetvalue(left, k, 1), PQgetvalue(left, k, 2),
			    PQgetvalue(left, k, 3), PQgetvalue(left, k, 4), PQgetvalue(left, k, 5),
			    PQgetvalue(left, k, 6));
		PQclear(left);
	}
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN signals s ON s.id ="
	    " d.signal_id WHERE s.strategy_id = $1 AND d.status = 'sent'", sid, NULL),
	    USERS * ALERTS * 4);
	{
		json_t *all = fake("GET", "/_fake/requests", NULL), *q;
		json_t *tally = json_object();
		const char *k;
		json_t *v;
		size_t j;

		json_array_foreach(all, j, q) {
			char key[64];
			json_t *an = json_object_get(q, "answered");

			snprintf(key, sizeof(key), "%s %s", json_string_value(json_object_get(q,
			    "provider")), json_is_integer(an) ? (char[12]){0} : json_is_string(an) ?
			    json_string_value(an) : "none");
			if (json_is_integer(an))
				snprintf(key, sizeof(key), "%s %" JSON_INTEGER_FORMAT,
				    json_string_value(json_object_get(q, "provider")),
				    json_integer_value(an));
			json_object_set_new(tally, key, json_integer(json_integer_value(
			    json_object_get(tally, key)) + 1));
		}
		fprintf(stderr, "chaos: requests:");
		json_object_foreach(tally, k, v)
			fprintf(stderr, " %s: %" JSON_INTEGER_FORMAT ";", k, json_integer_value(v));
		fprintf(stderr, "\n");
		json_decref(tally);
		json_decref(all);
	}
	/* what the recipients saw against what was recorded sent */
	repeats(s.id, "telegram", tg, "u.telegram_chat_id", &more, &fewer);
	fprintf(stderr, "chaos: %d subscribers, %d alerts, %d deliveries, %d workers, %d kills;"
	    " telegram %d repeated, %d missing;", USERS, ALERTS, USERS * ALERTS * 4, WORKERS, kills,
	    more, fewer);
	seen_more += more, seen_fewer += fewer;
	repeats(s.id, "email", mail, "u.email", &more, &fewer);
	fprintf(stderr, " email %d, %d;", more, fewer);
	seen_more += more, seen_fewer += fewer;
	repeats(s.id, "sms", sms, "u.phone", &more, &fewer);
	fprintf(stderr, " sms %d, %d;", more, fewer);
	seen_more += more, seen_fewer += fewer;
	repeats(s.id, "push", push, "(SELECT pd.subscription_id FROM push_devices pd"
	    " WHERE pd.user_id = u.id)", &more, &fewer);
	fprintf(stderr, " push %d, %d\n", more, fewer);
	assert_int_equal(more, 0);
	assert_int_equal(fewer + seen_fewer, 0);
	/* a kill repeats at most what was in flight to a provider without an
	 * idempotency key: a message, or Netgsm's request of many */
	reqs = recorded("netgsm");
	json_array_foreach(reqs, i, r)
		if ((int)json_array_size(json_object_get(r, "recipients")) > widest)
			widest = (int)json_array_size(json_object_get(r, "recipients"));
	json_decref(reqs);
	fprintf(stderr, "chaos: %d repeats, %d kills, widest request %d\n", seen_more, kills,
	    widest);
	assert_true(seen_more <= kills * widest);
	/* Telegram: 30 a sliding second, and a chat waits its retry_after */
	reqs = recorded("telegram");
	for (i = 30; i < json_array_size(reqs); i++)
		if (json_real_value(json_object_get(json_array_get(reqs, i), "t")) -
		    json_real_value(json_object_get(json_array_get(reqs, i - 30), "t")) < 1.0)
			over++;
	json_array_foreach(reqs, i, r) {
		json_t *q;
		size_t j;
		double t = json_real_value(json_object_get(r, "t")), wait;
		const char *to = json_string_value(json_object_get(r, "to"));

		if (json_integer_value(json_object_get(r, "answered")) != 429 || to == NULL)
			continue;
		wait = strcmp(to, chat0) == 0 ? 2 : 3;
		json_array_foreach(reqs, j, q)
			if (j > i && json_is_string(json_object_get(q, "to")) &&
			    strcmp(json_string_value(json_object_get(q, "to")), to) == 0 &&
			    json_real_value(json_object_get(q, "t")) - t < wait - 0.05)
				early++;
	}
	json_decref(reqs);
	assert_int_equal(over, 0);
	assert_int_equal(early, 0);
	/* Resend while down: its breaker's failures (3), then a probe a cool-down (1.5 s) */
	reqs = recorded("resend");
	json_array_foreach(reqs, i, r)
		if (json_real_value(json_object_get(r, "t")) < down_until)
			resend_down++;
	json_decref(reqs);
	fprintf(stderr, "chaos: resend got %d requests while down\n", resend_down);
	assert_true(resend_down <= 3 + 4);
	/* the ledger */
	assert_int_equal(it_q_ll("SELECT count(*) FROM users u WHERE u.credit_balance <>"
	    " (SELECT coalesce(sum(amount), 0) FROM credit_ledger l WHERE l.user_id = u.id)",
	    NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM users u WHERE email LIKE 'chaos.' || $1"
	    " || '.%' AND credit_balance <> $2::int", hex, (snprintf(sid, sizeof(sid), "%d",
	    14), sid), NULL), 0);
}

static void
test_e2e_alert(void **state)
{
	struct it_strategy s;
	char sid[24], plan[40], email[3][64], chat[3][16], phone[3][16], hex[9], ext[24], push[512];
	char skip[64], *body;
	json_t *reqs, *r;
	struct it_resp resp;
	pid_t w;
	int st, done;
	size_t k;

	strategy_plan(&s, "e2e", "10", sid, hex, plan);
	for (int i = 0; i < 4; i++) {
		const char *who = i < 3 ? email[i] : skip;

		snprintf(i < 3 ? email[i] : skip, 64, "e2e.%s.%d@example.com", hex, i);
		if (i < 3) {
			snprintf(chat[i], sizeof(chat[i]), "77%06d%d", (int)(it_now_ms() % 1000000), i);
			snprintf(phone[i], sizeof(phone[i]), "+90555%06d%d",
			    (int)(it_now_ms() % 1000000), i);
		}
		json_decref(it_acctl(&st, "user", "add", "--email", who, "--password", "secret-pw",
		    "--telegram-chat-id", i < 3 ? chat[i] : "7799999999", "--phone",
		    i < 3 ? phone[i] : "+905559999999", NULL));
		assert_int_equal(st, 0);
		json_decref(it_acctl(&st, "subscribe", "--email", who, "--plan", plan, NULL));
		assert_int_equal(st, 0);
		/* the fourth does not want entries: not eligible */
		json_decref(it_acctl(&st, "alarm", "add", "--email", who, "--strategy", sid,
		    "--channels", "email,telegram,sms,push", i == 3 ? "--no-entry" : NULL, NULL));
		assert_int_equal(st, 0);
	}
	/* push goes to users with a subscribed device */
	PQclear(it_q("INSERT INTO push_devices (user_id, subscription_id) SELECT id, 'player-' || id"
	    " FROM users WHERE email LIKE 'e2e.' || $1 || '.%'", hex, NULL));
	/* the emails go in one Resend batch, which fails three times (the
	 * first user's email in it): all three go through the SMTP backup */
	body = NULL;
	if (asprintf(&body, "[{\"provider\": \"resend\", \"to\": \"%s\", \"times\": 3,"
	    " \"status\": 503, \"body\": {\"name\": \"internal_server_error\"}}]", email[0]) == -1)
		abort();
	json_decref(fake("POST", "/_fake/rules", body));
	free(body);

	w = it_worker_start("test_deliver-worker.log", "--for", "30", NULL);
	body = it_alert(&s, "buy", 42000, 42840, 41160, it_now_ms());
	it_post(&resp, s.path, "application/json", body);
	free(body);
	assert_int_equal(resp.status, 202);
	it_resp_free(&resp);
	done = wait_stats("{\"telegram\": 3, \"netgsm\": 1, \"onesignal\": 1, \"smtp\": 3,"
	    " \"resend\": 3}", 20000);
	kill(w, SIGTERM);
	assert_int_equal(it_reap(w), 0);
	assert_true(done);
	/* Telegram one message a request; SMS and push one request for all */
	assert_int_equal(count("telegram"), 3);
	assert_int_equal(count("netgsm"), 1);
	assert_int_equal(count("onesignal"), 1);
	assert_int_equal(count("smtp"), 3);
	/* the batch made again as it was: the same emails, the same key */
	reqs = recorded("resend");
	assert_int_equal(json_array_size(reqs), 3);
	json_array_foreach(reqs, k, r) {
		assert_string_equal(json_string_value(json_object_get(r, "path")), "/emails/batch");
		assert_int_equal(json_array_size(json_object_get(r, "recipients")), 3);
		for (int i = 0; i < 3; i++)
			assert_true(recipient_at(r, email[i]) >= 0);
		assert_string_equal(json_string_value(json_object_get(r, "idempotency_key")),
		    json_string_value(json_object_get(json_array_get(reqs, 0),
		    "idempotency_key")));
	}
	json_decref(reqs);

	reqs = recorded("telegram");
	for (int i = 0; i < 3; i++) {
		assert_non_null(r = request_to(reqs, chat[i]));
		expect_alert_text("telegram", json_string_value(json_object_get(json_object_get(r,
		    "body"), "text")), s.symbol);
	}
	json_decref(reqs);
	reqs = recorded("netgsm");
	for (int i = 0; i < 3; i++) {
		assert_non_null(r = request_to(reqs, phone[i] + 1));
		expect_alert_text("sms", json_string_value(json_object_get(json_array_get(
		    json_object_get(json_object_get(r, "body"), "messages"),
		    (size_t)recipient_at(r, phone[i] + 1)), "msg")), s.symbol);
	}
	json_decref(reqs);
	reqs = recorded("onesignal");
	for (int i = 0; i < 3; i++) {
		snprintf(ext, sizeof(ext), "player-%lld", it_q_ll("SELECT id FROM users"
		    " WHERE email = $1", email[i], NULL));
		assert_non_null(r = request_to(reqs, ext));
		/* the heading says what and where, the body the levels, not again */
		snprintf(push, sizeof(push), "%s\n%s", json_string_value(json_object_get(
		    json_object_get(json_object_get(r, "body"), "headings"), "en")),
		    json_string_value(json_object_get(json_object_get(json_object_get(r, "body"),
		    "contents"), "en")));
		expect_alert_text("push", push, s.symbol);
		assert_null(strstr(json_string_value(json_object_get(json_object_get(
		    json_object_get(r, "body"), "contents"), "en")), json_string_value(
		    json_object_get(json_object_get(json_object_get(r, "body"), "headings"),
		    "en"))));
	}
	json_decref(reqs);
	reqs = recorded("resend");
	for (int i = 0; i < 3; i++) {
		json_t *e;

		assert_non_null(r = request_to(reqs, email[i]));
		e = json_array_get(json_object_get(r, "body"), (size_t)recipient_at(r, email[i]));
		expect_alert_text("resend", json_string_value(json_object_get(e, "text")),
		    s.symbol);
		expect_alert_text("resend html", json_string_value(json_object_get(e, "html")),
		    s.symbol);
	}
	json_decref(reqs);
	reqs = recorded("smtp");
	for (int i = 0; i < 3; i++) {
		assert_non_null(r = request_to(reqs, email[i]));
		expect_alert_text("smtp text", json_string_value(json_object_get(json_object_get(r,
		    "body"), "text")), s.symbol);
		expect_alert_text("smtp html", json_string_value(json_object_get(json_object_get(r,
		    "body"), "html")), s.symbol);
	}
	json_decref(reqs);
	/* nothing reached the ineligible user */
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id ="
	    " d.user_id WHERE u.email = $1", skip, NULL), 0);
	(void)state;
}

/* ---- Telegram linking ------------------------------------------------------- */

/* A link code for user id from `acctl telegram link-code`; checks the
 * deep link. Returns code (codesz bytes). */
static char *
link_code(long long id, char *code, size_t codesz)
{
	char *email = col_of("users", id, "email"), want[160];
	json_t *o;
	int st;

	setenv("AC_TELEGRAM_BOT_USERNAME", "alertcast_it_bot", 1);
	o = it_acctl(&st, "telegram", "link-code", "--email", email, NULL);
	free(email);
	assert_int_equal(st, 0);
	assert_non_null(o);
	snprintf(code, codesz, "%s", json_string_value(json_object_get(o, "code")));
	assert_int_equal(strlen(code), 32);
	snprintf(want, sizeof(want), "https://t.me/alertcast_it_bot?start=%s", code);
	assert_string_equal(json_string_value(json_object_get(o, "deep_link")), want);
	assert_non_null(json_string_value(json_object_get(o, "expires_at")));
	json_decref(o);
	return code;
}

/* POSTs an Update with text from private chat to /hook/telegram with
 * secret (NULL: no header) into *r. */
static void
tg_post(struct it_resp *r, const char *secret, long long chat, const char *text)
{
	char hdr[256], *body;
	const char *hs[] = { hdr, NULL };
	json_t *u = json_pack("{s:I, s:{s:I, s:I, s:{s:I, s:s, s:s}, s:{s:I, s:b, s:s},"
	    " s:s}}", "update_id", (json_int_t)(it_now_ms() % 1000000000), "message",
	    "message_id", (json_int_t)1, "date", (json_int_t)(it_now_ms() / 1000),
	    "chat", "id", (json_int_t)chat, "type", "private", "first_name", "It",
	    "from", "id", (json_int_t)chat, "is_bot", 0, "username", "it_user",
	    "text", text);

	body = json_dumps(u, JSON_COMPACT);
	json_decref(u);
	snprintf(hdr, sizeof(hdr), "X-Telegram-Bot-Api-Secret-Token: %s", secret ? secret : "");
	it_http_h(r, "POST", "/hook/telegram", secret ? hs : NULL, "application/json", body,
	    strlen(body));
	free(body);
}

/* Asserts user id's chat is want. */
static void
expect_chat(long long id, const char *want)
{
	char *c = col_of("users", id, "telegram_chat_id");

	if (strcmp(c, want) != 0)
		fail_msg("user %lld has chat '%s', wanted '%s'", id, c, want);
	free(c);
}

static void
test_tg_link_secret(void **state)
{
	long long u = user_new("", "");
	struct it_resp r;
	char code[64], start[96];

	link_code(u, code, sizeof(code));
	snprintf(start, sizeof(start), "/start %s", code);
	tg_post(&r, NULL, 700000001, start);
	assert_int_equal(r.status, 401);
	assert_string_equal(it_json_str(&r, "error.code"), "unauthorized");
	it_resp_free(&r);
	tg_post(&r, "it-telegram-webhook-secreT", 700000001, start);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	tg_post(&r, "x", 700000001, start);
	assert_int_equal(r.status, 401);
	it_resp_free(&r);
	expect_chat(u, "");
	assert_int_equal(it_q_ll("SELECT count(*) FROM telegram_link_codes WHERE code = $1"
	    " AND used_at IS NULL", code, NULL), 1);
	(void)state;
}

static void
test_tg_link_start_stop(void **state)
{
	const char *secret = it_env("AC_TELEGRAM_WEBHOOK_SECRET");
	long long u = user_new("", ""), other = user_new("700000002", "");
	struct it_resp r;
	char code[64], start[96], su[24];

	snprintf(su, sizeof(su), "%lld", u);
	PQclear(it_q("UPDATE users SET telegram_unreachable_at = now() WHERE id = $1", su, NULL));
	link_code(u, code, sizeof(code));
	snprintf(start, sizeof(start), "/start %s", code);
	tg_post(&r, secret, 700000002, start);
	assert_int_equal(r.status, 200);
	/* the reply rides on the answer: Telegram runs the method */
	assert_string_equal(it_json_str(&r, "method"), "sendMessage");
	assert_string_equal(it_json_str(&r, "result"), "linked");
	assert_non_null(strstr(it_json_str(&r, "text"), "linked"));
	it_resp_free(&r);
	expect_chat(u, "700000002");
	/* the chat moved from the user who had it */
	expect_chat(other, "");
	assert_int_equal(it_q_ll("SELECT count(*) FROM users WHERE id = $1 AND"
	    " telegram_username = 'it_user' AND telegram_unreachable_at IS NULL", su, NULL), 1);
	/* a used code links nothing */
	PQclear(it_q("UPDATE users SET telegram_chat_id = NULL WHERE id = $1", su, NULL));
	tg_post(&r, secret, 700000003, start);
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "result"), "bad_code");
	it_resp_free(&r);
	expect_chat(u, "");
	/* nor does an expired one */
	link_code(u, code, sizeof(code));
	PQclear(it_q("UPDATE telegram_link_codes SET created_at = now() - interval '20 min',"
	    " expires_at = now() - interval '1 s' WHERE code = $1", code, NULL));
	snprintf(start, sizeof(start), "/start %s", code);
	tg_post(&r, secret, 700000003, start);
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "result"), "bad_code");
	it_resp_free(&r);
	expect_chat(u, "");
	/* a fresh one does; /stop unlinks; other texts are acknowledged */
	link_code(u, code, sizeof(code));
	snprintf(start, sizeof(start), "/start@alertcast_it_bot %s", code);
	tg_post(&r, secret, 700000003, start);
	assert_string_equal(it_json_str(&r, "result"), "linked");
	it_resp_free(&r);
	expect_chat(u, "700000003");
	tg_post(&r, secret, 700000003, "hello");
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "result"), "ignored");
	it_resp_free(&r);
	expect_chat(u, "700000003");
	tg_post(&r, secret, 700000003, "/stop");
	assert_int_equal(r.status, 200);
	assert_string_equal(it_json_str(&r, "result"), "unlinked");
	it_resp_free(&r);
	expect_chat(u, "");
	(void)state;
}

static void
test_tg_set_webhook(void **state)
{
	json_t *o, *reqs, *body;
	char want[300];
	int st;

	o = it_acctl(&st, "telegram", "set-webhook", NULL);
	assert_int_equal(st, 0);
	assert_true(json_is_true(json_object_get(o, "ok")));
	json_decref(o);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0), "path")),
	    "/bot123456:TEST-token/setWebhook");
	body = json_object_get(json_array_get(reqs, 0), "body");
	snprintf(want, sizeof(want), "%s/hook/telegram", it_env("AC_BASE_URL"));
	assert_string_equal(json_string_value(json_object_get(body, "url")), want);
	assert_string_equal(json_string_value(json_object_get(body, "secret_token")),
	    it_env("AC_TELEGRAM_WEBHOOK_SECRET"));
	json_decref(reqs);
	(void)state;
}

/* ---- account notices on every channel ------------------------------------------------ */

/* A notice job for user on channel with vars (JSON), as lib/account/notify.c
 * queues them; its id. */
static long long
notice_job(long long user, const char *notice, const char *channel, const char *vars)
{
	char su[24], key[17];

	snprintf(su, sizeof(su), "%lld", user);
	it_rand_hex(key, 16);
	return it_q_ll("INSERT INTO jobs (kind, payload, unique_key, max_attempts) VALUES"
	    " ('notice', jsonb_build_object('user_id', $1::bigint, 'notice', $2::text,"
	    " 'channel', $3::text, 'vars', $4::jsonb), 'it:notice:' || $5, 7) RETURNING id",
	    su, notice, channel, vars, key, NULL);
}

/* The only request provider recorded, to to (borrowed from *all, which
 * the caller decrefs). */
static json_t *
only_request(const char *provider, const char *to, json_t **all)
{
	json_t *r;

	*all = recorded(provider);
	if (json_array_size(*all) != 1)
		fail_msg("%s: %zu requests, wanted 1", provider, json_array_size(*all));
	r = json_array_get(*all, 0);
	if (!json_is_string(json_object_get(r, "to")) ||
	    strcmp(json_string_value(json_object_get(r, "to")), to) != 0)
		fail_msg("%s: sent to %s, wanted %s", provider,
		    json_string_value(json_object_get(r, "to")) ?: "(none)", to);
	return json_object_get(r, "body");
}

/* text contains each of the NULL-terminated strings. */
static void
has_all(const char *what, const char *text, ...)
{
	va_list ap;
	const char *w;

	va_start(ap, text);
	while ((w = va_arg(ap, const char *)) != NULL)
		if (text == NULL || strstr(text, w) == NULL)
			fail_msg("%s: no '%s' in '%s'", what, w, text ? text : "(none)");
	va_end(ap);
}

static void
expect_job(long long id, const char *state, const char *err)
{
	char *s = col_of("jobs", id, "state"), *e = col_of("jobs", id, "last_error");

	if (strcmp(s, state) != 0 || (err != NULL && strstr(e, err) == NULL))
		fail_msg("job %lld: %s (%s), wanted %s (%s)", id, s, e, state, err ? err : "");
	free(s);
	free(e);
}

static void
test_notice_channels(void **state)
{
	static const char vars[] = "{\"plan\": \"Pro\", \"grace\": \"7\","
	    " \"url\": \"https://x.example/?a=1&b=<i>\"}";
	long long u = user_new("900000555", "+905551110555"), bare = user_new("", ""), j[4], jn[3];
	json_t *all, *b;
	char su[24], *email, *bmail, *subject;
	const char *t;
	FILE *f;
	char path[1100], line[256] = "";

	(void)state;
	snprintf(su, sizeof(su), "%lld", u);
	PQclear(it_q("UPDATE push_devices SET subscription_id = 'player-' || user_id"
	    " WHERE user_id = $1", su, NULL));
	snprintf(su, sizeof(su), "%lld", bare);
	PQclear(it_q("DELETE FROM push_devices WHERE user_id = $1", su, NULL));
	snprintf(su, sizeof(su), "%lld", u);
	email = col_of("users", u, "email");
	bmail = col_of("users", bare, "email");
	j[0] = notice_job(u, "payment_failed", "email", vars);
	j[1] = notice_job(u, "payment_failed", "telegram", vars);
	j[2] = notice_job(u, "payment_failed", "sms", vars);
	j[3] = notice_job(u, "payment_failed", "push", vars);
	/* channels the user has no address on */
	jn[0] = notice_job(bare, "payment_failed", "telegram", vars);
	jn[1] = notice_job(bare, "payment_failed", "sms", vars);
	jn[2] = notice_job(bare, "payment_failed", "push", vars);
	drain(20);
	for (int i = 0; i < 4; i++)
		expect_job(j[i], "done", NULL);
	for (int i = 0; i < 3; i++)
		expect_job(jn[i], "dead", "no address on this channel");

	/* email: the subject of payment_failed_subject.txt, both parts filled in */
	snprintf(path, sizeof(path), "%s/templates/messages/payment_failed_subject.txt",
	    it_env("SRC"));
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	b = only_request("resend", email, &all);
	subject = strdup(json_string_value(json_object_get(b, "subject")) ?: "");
	assert_string_equal(subject, line);
	has_all("email text", json_string_value(json_object_get(b, "text")), "Hello Test <User>",
	    "the Pro plan", "after 7 days", "https://x.example/?a=1&b=<i>/billing/manage", NULL);
	has_all("email html", json_string_value(json_object_get(b, "html")), "Test &lt;User&gt;",
	    "the Pro plan", "after 7 days", NULL);
	if (strstr(json_string_value(json_object_get(b, "html")), "b=<i>") != NULL)
		fail_msg("email html: a variable not escaped");
	json_decref(all);

	/* Telegram: the .telegram template, HTML, the variables escaped */
	b = only_request("telegram", "900000555", &all);
	assert_string_equal(json_string_value(json_object_get(b, "parse_mode")), "HTML");
	t = json_string_value(json_object_get(b, "text"));
	has_all("telegram", t, "<b>Card payment failed</b>", "<b>Pro</b> plan", "after 7 days",
	    "https://x.example/?a=1&amp;b=&lt;i&gt;/billing/manage", NULL);
	if (strstr(t, "b=<i>") != NULL || strstr(t, "Hello") != NULL)
		fail_msg("telegram: not the escaped .telegram template: %s", t);
	json_decref(all);

	/* SMS (Netgsm, the first SMS provider): the one line of payment_failed.sms
	 * (the plan and the link; the grace is the email's and Telegram's); one
	 * request per provider, so the users without addresses were sent nothing */
	b = only_request("netgsm", "905551110555", &all);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(b,
	    "messages"), 0), "msg")), "alertcast: your card payment for Pro failed. Update your"
	    " card: https://x.example/?a=1&b=<i>/billing/manage");
	json_decref(all);
	assert_int_equal(count("twilio"), 0);

	/* push (OneSignal, to the device the user linked) */
	snprintf(path, sizeof(path), "player-%s", su);
	b = only_request("onesignal", path, &all);
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "contents"),
	    "en")), "alertcast: your card payment for Pro failed. Update your card:"
	    " https://x.example/?a=1&b=<i>/billing/manage");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "headings"),
	    "en")), line);
	json_decref(all);
	assert_int_equal(count("smtp"), 0);

	/* renewal_reminder and payment_rejected, once each, by email */
	json_decref(fake("POST", "/_fake/reset", "{}"));
	j[0] = notice_job(bare, "renewal_reminder", "email", "{\"plan\": \"Pro\","
	    " \"period_end\": \"2026-12-31\", \"days\": \"3\", \"url\": \"https://x.example\"}");
	j[1] = notice_job(bare, "payment_rejected", "email", "{\"plan\": \"Pro\","
	    " \"transaction\": \"UTR123456789\", \"reason\": \"no such UTR at the bank\","
	    " \"url\": \"https://x.example\"}");
	drain(20);
	expect_job(j[0], "done", NULL);
	expect_job(j[1], "done", NULL);
	all = recorded("resend");
	assert_int_equal(json_array_size(all), 2);
	{
		json_t *r0 = json_array_get(all, 0), *r1 = json_array_get(all, 1), *rr, *rj;

		/* one batch: the order between the two is not fixed */
		if (strstr(json_string_value(json_object_get(json_object_get(r0, "body"),
		    "subject")) ?: "", "ends on") != NULL) {
			rr = r0;
			rj = r1;
		} else {
			rr = r1;
			rj = r0;
		}
		assert_string_equal(json_string_value(json_object_get(rr, "to")), bmail);
		assert_string_equal(json_string_value(json_object_get(rj, "to")), bmail);
		assert_string_equal(json_string_value(json_object_get(json_object_get(rr, "body"),
		    "subject")), "alertcast: your Pro plan ends on 2026-12-31");
		has_all("renewal_reminder", json_string_value(json_object_get(json_object_get(rr,
		    "body"), "text")), "Your Pro plan ends on 2026-12-31 (3 days from now)",
		    "https://x.example/plans", NULL);
		assert_string_equal(json_string_value(json_object_get(json_object_get(rj, "body"),
		    "subject")), "alertcast: payment UTR123456789 was not approved");
		has_all("payment_rejected", json_string_value(json_object_get(json_object_get(rj,
		    "body"), "text")), "Your payment UTR123456789 for the Pro plan",
		    "Reason: no such UTR at the bank", NULL);
	}
	json_decref(all);
	free(subject);
	free(email);
	free(bmail);
}

/* ---- reach: the providers' bulk forms, who goes first, staleness ------------ */

/* n new users ("bulk.<tag>.<i>@example.com", chat "98<stamp><i>", phone
 * "+90557<i>", device "bulk-<tag>-<i>") with a queued delivery each on
 * channel of one new BUY signal, in deliver jobs of 500 as the fan-out
 * writes them; the signal's id. */
static long long
bulk(int n, const char *channel, const char *tag)
{
	char sn[16], ss[24], stamp[16], key[17];

	snprintf(sn, sizeof(sn), "%d", n);
	snprintf(ss, sizeof(ss), "%lld", strategy_id);
	snprintf(stamp, sizeof(stamp), "%05d", (int)(it_now_ms() % 100000));
	it_rand_hex(key, 16);
	return it_q_ll("WITH u AS (INSERT INTO users (email, password_hash, telegram_chat_id,"
	    " phone, timezone, display_name, max_daily_alerts)"
	    " SELECT 'bulk.' || $1 || '.' || i || '@example.com', 'x',"
	    " '98' || $4 || lpad(i::text, 5, '0'), '+90557' || lpad(i::text, 7, '0'),"
	    " 'Europe/Istanbul', 'Bulk', 100000"
	    " FROM generate_series(1, $2::int) i RETURNING id, email),"
	    " pd AS (INSERT INTO push_devices (user_id, subscription_id) SELECT id,"
	    " 'bulk-' || $1 || '-' || split_part(split_part(email, '@', 1), '.', 3) FROM u),"
	    " s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at,"
	    " alert_time, symbol, timeframe, action, price, take_profit, stop_loss, status)"
	    " SELECT id, $5, '{}', now(), now(), symbol, timeframe, 'BUY', 100.5, 110, 95,"
	    " 'processed' FROM strategies WHERE id = $3 RETURNING id),"
	    " d AS (INSERT INTO deliveries (signal_id, user_id, channel, kind)"
	    " SELECT s.id, u.id, $6, 'entry' FROM s, u RETURNING id),"
	    " j AS (INSERT INTO jobs (kind, payload, unique_key) SELECT 'deliver',"
	    " jsonb_build_object('delivery_ids', jsonb_agg(id ORDER BY id)), 'deliver:' || min(id)"
	    " FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS chunk FROM d) q"
	    " GROUP BY chunk)"
	    " SELECT id FROM s", tag, sn, ss, stamp, key, channel, NULL);
}

/* How many deliveries of signal have status (and error containing err
 * unless NULL). */
static long long
of_signal(long long signal, const char *status, const char *err)
{
	char sg[24];

	snprintf(sg, sizeof(sg), "%lld", signal);
	return it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1 AND status = $2"
	    " AND coalesce(error, '') LIKE '%' || $3 || '%'", sg, status, err ? err : "", NULL);
}

/* The fake's stats: member name (an object), provider's count. */
static long long
stat_of(const char *name, const char *provider)
{
	json_t *st = fake("GET", "/_fake/stats", NULL);
	long long v = json_integer_value(json_object_get(name ? json_object_get(st, name) : st,
	    provider));

	json_decref(st);
	return v;
}

/* Push: 20,001 subscribers of one content are two notifications, of
 * 20,000 (OneSignal's most) and 1; a device OneSignal does not know
 * (errors.invalid_player_ids) fails with the reason, the rest are sent. */
static void
test_bulk_push(void **state)
{
	char hex[9], cfg[96], bad[40];
	long long sig;
	json_t *reqs;
	int big;

	it_rand_hex(hex, 8);
	snprintf(bad, sizeof(bad), "bulk-%s-7", hex);
	snprintf(cfg, sizeof(cfg), "{\"invalid\": [\"%s\"]}", bad);
	json_decref(fake("POST", "/_fake/config", cfg));
	sig = bulk(20001, "push", hex);
	drain(120);
	reqs = recorded("onesignal");
	assert_int_equal(json_array_size(reqs), 2);
	/* the one alone may arrive first: its body is the smaller */
	big = json_array_size(json_object_get(json_array_get(reqs, 0), "recipients")) == 1;
	assert_int_equal(json_array_size(json_object_get(json_array_get(reqs, big),
	    "recipients")), 20000);
	assert_int_equal(json_array_size(json_object_get(json_array_get(reqs, !big),
	    "recipients")), 1);
	assert_true(recipient_at(json_array_get(reqs, big), bad) >= 0);
	assert_string_not_equal(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "idempotency_key")), json_string_value(json_object_get(json_array_get(reqs, 1),
	    "idempotency_key")));
	json_decref(reqs);
	assert_int_equal(of_signal(sig, "sent", NULL), 20000);
	assert_int_equal(of_signal(sig, "failed", "not subscribed"), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries d JOIN users u ON u.id = d.user_id"
	    " WHERE d.signal_id = $1 AND d.status = 'failed' AND u.email = 'bulk.' || $2"
	    " || '.7@example.com'", (snprintf(cfg, sizeof(cfg), "%lld", sig), cfg), hex, NULL), 1);
	/* the device OneSignal refused is forgotten (the next push signal sees
	 * none, costs nothing, and the dashboard says so); the others stay */
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE subscription_id = $1",
	    bad, NULL), 0);
	snprintf(cfg, sizeof(cfg), "bulk-%s-%%", hex);
	assert_int_equal(it_q_ll("SELECT count(*) FROM push_devices WHERE subscription_id LIKE $1",
	    cfg, NULL), 20000);
	(void)state;
}

/* Email: 101 subscribers are a Resend batch of 100 and one email; the
 * batch answered 503 is made again as it was (the same 100, the same
 * Idempotency-Key); an address Resend refuses in the batch (errors[] by
 * index) fails with the reason, the other 99 are sent. */
static void
test_bulk_email(void **state)
{
	char hex[9], cfg[256], bad[64];
	long long sig;
	json_t *reqs, *r, *batch[2] = { NULL, NULL };
	size_t i, nb = 0, single = 0;

	it_rand_hex(hex, 8);
	snprintf(bad, sizeof(bad), "bulk.%s.5@example.com", hex);
	snprintf(cfg, sizeof(cfg), "{\"invalid\": [\"%s\"]}", bad);
	json_decref(fake("POST", "/_fake/config", cfg));
	snprintf(cfg, sizeof(cfg), "[{\"provider\": \"resend\", \"to\": \"%s\", \"status\": 503,"
	    " \"body\": {\"name\": \"internal_server_error\"}}]", bad);
	json_decref(fake("POST", "/_fake/rules", cfg));
	sig = bulk(101, "email", hex);
	drain(30);
	reqs = recorded("resend");
	json_array_foreach(reqs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "path")), "/emails/batch") == 0) {
			assert_true(nb < 2);
			batch[nb++] = r;
			assert_int_equal(json_array_size(json_object_get(r, "body")), 100);
		} else
			single++;
	}
	assert_int_equal(nb, 2);
	assert_int_equal(single, 1);
	assert_int_equal(json_integer_value(json_object_get(batch[0], "answered")), 503);
	assert_string_equal(json_string_value(json_object_get(batch[0], "idempotency_key")),
	    json_string_value(json_object_get(batch[1], "idempotency_key")));
	assert_true(json_equal(json_object_get(batch[0], "recipients"),
	    json_object_get(batch[1], "recipients")));
	json_decref(reqs);
	assert_int_equal(of_signal(sig, "sent", NULL), 100);
	assert_int_equal(of_signal(sig, "failed", "Invalid"), 1);
	(void)state;
}

/* SMS: three numbers are one Netgsm request (its messages array), each
 * sent under its job id; with Netgsm refusing the account, Twilio takes
 * them through the Messaging Service when one is set. */
static void
test_bulk_sms(void **state)
{
	char hex[9];
	long long sig;
	json_t *reqs, *r;
	size_t i;

	it_rand_hex(hex, 8);
	sig = bulk(3, "sms", hex);
	drain(20);
	reqs = recorded("netgsm");
	assert_int_equal(json_array_size(reqs), 1);
	r = json_array_get(reqs, 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "body"), "messages")),
	    3);
	assert_true(recipient_at(r, "905570000002") >= 0);
	json_decref(reqs);
	assert_int_equal(of_signal(sig, "sent", NULL), 3);

	json_decref(fake("POST", "/_fake/reset", "{}"));
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"netgsm\", \"times\": -1,"
	    " \"status\": 200, \"body\": {\"code\": \"30\", \"description\": \"invalid"
	    " credentials\"}}]"));
	setenv("AC_TWILIO_MESSAGING_SERVICE_SID", "MG00000000000000000000000000000001", 1);
	it_rand_hex(hex, 8);
	sig = bulk(3, "sms", hex);
	drain(20);
	unsetenv("AC_TWILIO_MESSAGING_SERVICE_SID");
	assert_int_equal(of_signal(sig, "sent", NULL), 3);
	reqs = recorded("twilio");
	assert_int_equal(json_array_size(reqs), 3);
	json_array_foreach(reqs, i, r) {
		assert_string_equal(json_string_value(json_object_get(json_object_get(r, "body"),
		    "MessagingServiceSid")), "MG00000000000000000000000000000001");
		assert_null(json_object_get(json_object_get(r, "body"), "From"));
	}
	json_decref(reqs);
	json_decref(fake("POST", "/_fake/rules/clear", "{}"));
	/* the breaker Netgsm's refusal opened */
	setup(NULL);
	(void)state;
}

/* At a rate that makes a fan-out take seconds (2 a second), the users
 * whose plan has priority_support are sent to first, though their
 * deliveries come last in the job. */
static void
test_priority_first(void **state)
{
	char hex[9], sp[24], su[24];
	long long sig, plan;
	json_t *reqs;

	it_rand_hex(hex, 8);
	sig = bulk(6, "telegram", hex);
	plan = it_q_ll("INSERT INTO plans (name, price_minor, priority_support)"
	    " VALUES ('prio-' || $1, 0, true) RETURNING id", hex, NULL);
	snprintf(sp, sizeof(sp), "%lld", plan);
	snprintf(su, sizeof(su), "%lld", sig);
	PQclear(it_q("INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " SELECT d.user_id, $1, 'active', now(), now() + interval '30 days' FROM deliveries d"
	    " WHERE d.signal_id = $2 ORDER BY d.id DESC LIMIT 2", sp, su, NULL));
	setenv("AC_TELEGRAM_RATE", "2", 1);
	drain(30);
	setenv("AC_TELEGRAM_RATE", "30", 1);
	assert_int_equal(of_signal(sig, "sent", NULL), 6);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 6);
	for (size_t i = 0; i < 6; i++) {
		const char *chat = json_string_value(json_object_get(json_array_get(reqs, i), "to"));
		long long prio = it_q_ll("SELECT count(*) FROM users u JOIN subscriptions sub"
		    " ON sub.user_id = u.id WHERE u.telegram_chat_id = $1 AND sub.plan_id = $2",
		    chat, sp, NULL);

		/* the first two are the priority users, the others after them */
		if (prio != (i < 2 ? 1 : 0))
			fail_msg("request %zu went to chat %s (priority %lld)", i, chat, prio);
	}
	json_decref(reqs);
	(void)state;
}

/* An exit never overtakes the entry it closes: in one job, the exit
 * listed first, the entry's first send answered 429; the exit goes after
 * the entry's retry, to the same chat. */
static void
test_exit_after_entry(void **state)
{
	long long u = user_new("900000091", ""), se, sx, de, dx;
	char ids[64], s1[24], s2[24], s3[24];

	de = delivery_full(u, "telegram", "entry", "BUY", 0, 0, &se);
	dx = delivery_full(u, "telegram", "exit", "SELL", 0, 0, &sx);
	snprintf(s1, sizeof(s1), "%lld", u);
	snprintf(s2, sizeof(s2), "%lld", se);
	snprintf(s3, sizeof(s3), "%lld", sx);
	PQclear(it_q("INSERT INTO trades (trade_number, user_id, strategy_id, symbol, timeframe,"
	    " side, entry_price, exit_price, exit_reason, status, pnl_amount, pnl_percent,"
	    " entry_signal_id, exit_signal_id, closed_at) SELECT 1, $1, id, symbol, timeframe,"
	    " 'BUY', 100.5, 101, 'OPPOSITE', 'closed', 0.5, 0.5, $2, $3, now()"
	    " FROM strategies WHERE id = $4", s1, s2, s3,
	    (snprintf(ids, sizeof(ids), "%lld", strategy_id), ids), NULL));
	snprintf(ids, sizeof(ids), "[%lld, %lld]", dx, de);
	it_q_ll("INSERT INTO jobs (kind, payload, unique_key) VALUES ('deliver',"
	    " jsonb_build_object('delivery_ids', $1::jsonb), 'deliver:pair:' || $2) RETURNING id",
	    ids, s3, NULL);
	json_decref(fake("POST", "/_fake/rules", "[{\"provider\": \"telegram\", \"to\":"
	    " \"900000091\", \"status\": 429, \"body\": {\"ok\": false, \"error_code\": 429,"
	    " \"description\": \"Too Many Requests: retry after 1\","
	    " \"parameters\": {\"retry_after\": 1}}}]"));
	drain(20);
	expect(de, "sent", "telegram", NULL);
	expect(dx, "sent", "telegram", NULL);
	assert_int_equal(count("telegram"), 3);
	/* the fake numbers its messages in order of arrival */
	snprintf(s1, sizeof(s1), "%lld", de);
	snprintf(s2, sizeof(s2), "%lld", dx);
	assert_int_equal(it_q_ll("SELECT ((SELECT provider_message_id::int FROM deliveries"
	    " WHERE id = $1) < (SELECT provider_message_id::int FROM deliveries WHERE id = $2))"
	    "::int", s1, s2, NULL), 1);
	assert_int_equal(it_q_ll("SELECT attempts FROM deliveries WHERE id = $1", s1, NULL), 2);
	(void)state;
}

/* A delivery that cannot leave within the strategy's maximum age is
 * skipped as stale, not sent late, and the history says so in words: a
 * signal older than the age at once; at 1 message a second with an age
 * of 4 s, the ones whose slot comes after it. */
static void
test_stale_skipped(void **state)
{
	char ss[24], sd[24], hex[9];
	long long d_old, d_new, sig;
	PGresult *r;

	snprintf(ss, sizeof(ss), "%lld", strategy_id);
	PQclear(it_q("UPDATE strategies SET max_age_s = 60 WHERE id = $1", ss, NULL));
	d_old = delivery_full(user_new("900000092", ""), "telegram", "entry", "BUY", 120, 1, NULL);
	d_new = delivery_full(user_new("900000093", ""), "telegram", "entry", "BUY", 0, 1, NULL);
	drain(20);
	expect(d_new, "sent", "telegram", NULL);
	snprintf(sd, sizeof(sd), "%lld", d_old);
	r = it_q("SELECT d.status, d.skip_reason, " AC_SQL_DELIVERY_WHY " FROM deliveries d"
	    " WHERE d.id = $1", sd, NULL);
	assert_string_equal(PQgetvalue(r, 0, 0), "skipped");
	assert_string_equal(PQgetvalue(r, 0, 1), "stale");
	assert_non_null(strstr(PQgetvalue(r, 0, 2), "too late"));
	PQclear(r);
	assert_null(request_to(recorded("telegram"), "900000092"));
	assert_int_equal(count("telegram"), 1);

	/* too slow a rate for the age: the first go, the rest are stale */
	json_decref(fake("POST", "/_fake/reset", "{}"));
	PQclear(it_q("UPDATE strategies SET max_age_s = 4 WHERE id = $1", ss, NULL));
	setenv("AC_TELEGRAM_RATE", "1", 1);
	it_rand_hex(hex, 8);
	sig = bulk(8, "telegram", hex);
	drain(20);
	setenv("AC_TELEGRAM_RATE", "30", 1);
	PQclear(it_q("UPDATE strategies SET max_age_s = NULL WHERE id = $1", ss, NULL));
	fprintf(stderr, "test_stale_skipped: at 1/s with 4 s to go: %lld sent, %lld stale\n",
	    of_signal(sig, "sent", NULL), of_signal(sig, "skipped", NULL));
	assert_true(of_signal(sig, "sent", NULL) >= 1 && of_signal(sig, "sent", NULL) <= 5);
	assert_int_equal(of_signal(sig, "sent", NULL) + of_signal(sig, "skipped", NULL), 8);
	assert_int_equal((long long)count("telegram"), of_signal(sig, "sent", NULL));
	(void)state;
}

/* Paid broadcast: allow_paid_broadcast on every message and 1,000 a
 * second, against a fake that holds Telegram to its documented rates
 * (30/s free, 1,000/s paid): 90 chats in well under the 3 s that 30/s
 * would take, and not one 429. */
static void
test_paid_broadcast(void **state)
{
	char hex[9];
	long long sig;
	json_t *reqs, *r;
	size_t i;
	double t0 = 0, t1 = 0;

	json_decref(fake("POST", "/_fake/config", "{\"rates\": \"documented\"}"));
	setenv("AC_TELEGRAM_PAID_BROADCAST", "1", 1);
	setenv("AC_TELEGRAM_CONCURRENCY", "100", 1);
	it_rand_hex(hex, 8);
	sig = bulk(90, "telegram", hex);
	drain(20);
	unsetenv("AC_TELEGRAM_PAID_BROADCAST");
	unsetenv("AC_TELEGRAM_CONCURRENCY");
	assert_int_equal(of_signal(sig, "sent", NULL), 90);
	assert_int_equal(stat_of("throttled", "telegram"), 0);
	reqs = recorded("telegram");
	assert_int_equal(json_array_size(reqs), 90);
	json_array_foreach(reqs, i, r) {
		double t = json_real_value(json_object_get(r, "t"));

		assert_true(json_is_true(json_object_get(json_object_get(r, "body"),
		    "allow_paid_broadcast")));
		t0 = i == 0 || t < t0 ? t : t0;
		t1 = t > t1 ? t : t1;
	}
	json_decref(reqs);
	fprintf(stderr, "test_paid_broadcast: 90 messages in %.3f s\n", t1 - t0);
	assert_true(t1 - t0 < 1.5);
	(void)state;
}

/* SMTP keeps its connections: 12 messages through at most 2 at a time
 * (AC_SMTP_CONCURRENCY) reach the server over at most 2 connections. */
static void
test_smtp_reuse(void **state)
{
	char hex[9];
	long long sig;

	unsetenv("AC_RESEND_API_KEY");
	setenv("AC_SMTP_CONCURRENCY", "2", 1);
	it_rand_hex(hex, 8);
	sig = bulk(12, "email", hex);
	drain(20);
	setenv("AC_RESEND_API_KEY", "re_test_key", 1);
	unsetenv("AC_SMTP_CONCURRENCY");
	assert_int_equal(of_signal(sig, "sent", NULL), 12);
	assert_int_equal(count("smtp"), 12);
	fprintf(stderr, "test_smtp_reuse: 12 messages over %lld connections\n",
	    stat_of(NULL, "smtp_connections"));
	assert_true(stat_of(NULL, "smtp_connections") >= 1 &&
	    stat_of(NULL, "smtp_connections") <= 2);
	(void)state;
}

/* calls of cmd in Redis' INFO commandstats (0: none since CONFIG RESETSTAT) */
static long long
redis_calls(redisContext *r, const char *cmd)
{
	redisReply *rep = redisCommand(r, "INFO commandstats");
	char want[64];
	const char *at;
	long long n = 0;

	assert_non_null(rep);
	snprintf(want, sizeof(want), "cmdstat_%s:calls=", cmd);
	if ((at = strstr(rep->str, want)) != NULL)
		n = strtoll(at + strlen(want), NULL, 10);
	freeReplyObject(rep);
	return n;
}

/* The rate limits' scripts go by their SHA-1 (EVALSHA), not their body:
 * after SCRIPT FLUSH the first call of each finds Redis without it
 * (NOSCRIPT), which is no failure: EVAL runs it once and Redis keeps it,
 * and every later call is an EVALSHA. Five messages at 30/s: each
 * reserves a slot and checks the sliding second. */
static void
test_rate_scripts_by_sha(void **state)
{
	redisContext *r = ac_redis_connect(it_env("AC_REDIS_URL"), 1000);
	char hex[9], line[8192];
	long long sig;

	(void)state;
	assert_non_null(r);
	freeReplyObject(redisCommand(r, "SCRIPT FLUSH"));
	freeReplyObject(redisCommand(r, "CONFIG RESETSTAT"));
	it_rand_hex(hex, 8);
	sig = bulk(5, "telegram", hex);
	drain(20);
	assert_int_equal(of_signal(sig, "sent", NULL), 5);
	assert_true(redis_calls(r, "evalsha") >= 10);
	assert_true(redis_calls(r, "eval") >= 1);
	assert_true(redis_calls(r, "eval") <= 4);	/* once a script at most */
	/* NOSCRIPT did not count as Redis being away */
	assert_false(it_log_line("test_deliver-worker.log", "NOSCRIPT", "", line, sizeof(line)));
	redisFree(r);
}

/* A listening worker connects to the providers before its first message:
 * its warm-up opens one connection to the fake (every provider's API is
 * there) with a GET of the root, which is no message (none recorded), and
 * the first message goes over that connection, not a new one. */
static void
test_providers_preconnected(void **state)
{
	const char *log = "test_deliver-listen.log";
	char path[1024], line[8192], hex[9];
	long long sig;
	int hosts = -1, tries;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", it_env("AC_TEST_OUT"), log);
	unlink(path);
	pid = it_worker_start(log, "--for", "30", NULL);
	assert_true(it_log_wait(log, ": listening,", "", line, sizeof(line), 10000));
	assert_true(it_log_line(log, "deliver: ", "provider host", line, sizeof(line)));
	assert_int_equal(sscanf(strstr(line, "Redis scripts readied, "),
	    "Redis scripts readied, %d provider host", &hosts), 1);
	assert_int_equal(hosts, 1);
	assert_int_equal(stat_of(NULL, "api_connections"), 1);
	assert_int_equal(count("telegram"), 0);
	it_rand_hex(hex, 8);
	sig = bulk(1, "telegram", hex);
	for (tries = 0; tries < 200 && of_signal(sig, "sent", NULL) < 1; tries++)
		usleep(50 * 1000);
	kill(pid, SIGTERM);
	assert_int_equal(it_reap(pid), 0);
	assert_int_equal(of_signal(sig, "sent", NULL), 1);
	assert_int_equal(count("telegram"), 1);
	assert_int_equal(stat_of(NULL, "api_connections"), 1);
	(void)state;
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_telegram_sent, setup),
		cmocka_unit_test_setup(test_telegram_blocked, setup),
		cmocka_unit_test_setup(test_refund_when_nothing_reached, setup),
		cmocka_unit_test_setup(test_telegram_retry_after, setup),
		cmocka_unit_test_setup(test_telegram_rate, setup),
		cmocka_unit_test_setup(test_telegram_retry_after_holds_chat, setup),
		cmocka_unit_test_setup(test_telegram_sliding_second, setup),
		cmocka_unit_test_setup(test_backlog_drains, setup),
		cmocka_unit_test_setup(test_breaker_stops_slotted, setup),
		cmocka_unit_test_setup(test_resend_retry_after_holds, setup),
		cmocka_unit_test_setup(test_email_resend, setup),
		cmocka_unit_test_setup(test_email_fallback_smtp, setup),
		cmocka_unit_test_setup(test_mail_reset_resend, setup),
		cmocka_unit_test_setup(test_mail_reset_smtp, setup),
		cmocka_unit_test_setup(test_sms_permanent, setup),
		cmocka_unit_test_setup(test_sms_twilio_backup, setup),
		cmocka_unit_test_setup(test_sms_account_error, setup),
		cmocka_unit_test_setup(test_sms_backup_full_attempts, setup),
		cmocka_unit_test_setup(test_many_in_one_job, setup),
		cmocka_unit_test_setup(test_sms_held_fill, setup),
		cmocka_unit_test_setup(test_push_errors_and_timeout, setup),
		cmocka_unit_test_setup(test_push_breaker, setup),
		cmocka_unit_test_setup(test_push_killed_worker, setup),
		cmocka_unit_test_setup(test_push_linked_device, setup),
		cmocka_unit_test_setup(test_killed_worker_no_repeats, setup),
		cmocka_unit_test_setup(test_telegram_5xx_then_ok, setup),
		cmocka_unit_test_setup(test_redis_down_fallback, setup),
		cmocka_unit_test_setup(test_e2e_alert, setup),
		cmocka_unit_test_setup(test_chaos, setup),
		cmocka_unit_test_setup(test_tg_link_secret, setup),
		cmocka_unit_test_setup(test_tg_link_start_stop, setup),
		cmocka_unit_test_setup(test_tg_set_webhook, setup),
		cmocka_unit_test_setup(test_notice_channels, setup),
		cmocka_unit_test_setup(test_bulk_push, setup),
		cmocka_unit_test_setup(test_bulk_email, setup),
		cmocka_unit_test_setup(test_bulk_sms, setup),
		cmocka_unit_test_setup(test_priority_first, setup),
		cmocka_unit_test_setup(test_exit_after_entry, setup),
		cmocka_unit_test_setup(test_stale_skipped, setup),
		cmocka_unit_test_setup(test_paid_broadcast, setup),
		cmocka_unit_test_setup(test_smtp_reuse, setup),
		cmocka_unit_test_setup(test_providers_preconnected, setup),
		cmocka_unit_test_setup(test_rate_scripts_by_sha, setup),
	};
	const char *src = getenv("SRC"), *out = getenv("AC_TEST_OUT");
	char tdir[1024];
	struct it_strategy st;
	int rc;

	if (it_init() == -1)
		return 1;
	if (it_worker() == NULL)
		return 1;
	snprintf(logdir, sizeof(logdir), "%s", out ? out : "/tmp");
	if (getenv("AC_TEMPLATE_DIR") == NULL && src != NULL) {
		snprintf(tdir, sizeof(tdir), "%s/templates", src);
		setenv("AC_TEMPLATE_DIR", tdir, 1);
	}
	if (getenv("IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("IT_ONLY"));
	fake_start();
	providers_env();
	it_strategy_new(&st, "1h", NULL);
	strategy_id = st.id;
	{
		char sid[24];

		snprintf(sid, sizeof(sid), "%lld", strategy_id);
		PQclear(it_q("UPDATE strategies SET name = 'Fast <b> & \"co\"' WHERE id = $1",
		    sid, NULL));
	}
	rc = cmocka_run_group_tests_name("deliver", tests, NULL, NULL);
	kill(fake_pid, SIGTERM);
	waitpid(fake_pid, NULL, 0);
	it_done();
	return rc;
}
