/*
 * test_billing.c — card billing through Stripe (t/fakes/stripe.py) and the
 * subscription lifecycle, against the real stack:
 *
 *	signatures	POST /hook/stripe: good, bad, stale, none, multi; five
 *			concurrent copies of one event stored once
 *	checkout	POST /api/v1/subscriptions/checkout: one session for a
 *			double click (one Idempotency-Key), 422, 404, Stripe slow
 *			or failing (503 within the timeout), 402 on POST /alarms
 *	lifecycle	acctl billing sweep: period_end, payment_failed after the
 *			grace (and a later past_due update does not revive it),
 *			renewal reminders once, the "ended" status
 *	payments	acctl payment approve / reject, the amount trigger
 *	out of order	invoice.paid before its checkout; a price no plan has
 *			(dead job, plan added, jobs retry)
 *	payment failed	notices per channel, once per attempt; past_due; alarms
 *			still delivered within the grace
 *	randomized	100 users, >= 1000 events with copies, shuffled and
 *			concurrent, two workers: every invariant against what the
 *			fake says happened; then 50 replays change nothing
 *	uploads		POST /plans/N/pay (multipart) from a logged-in browser:
 *			csrf, oversized, wrong type, polyglot, path, empty and
 *			missing proofs, wrong amount, repeated transaction id
 *			refused with nothing stored; a good PNG stored 0640 under
 *			a random name, listed, served to its owner only; a PDF
 *			as an attachment; approval ends the dashboard's notice
 *
 * IT_ONLY=<pattern> runs the matching tests only.
 *
 * t/integration/run exports AC_STRIPE_TIMEOUT_MS=1500 so the slow-Stripe
 * case stays short, and AC_UPI_VPA / AC_BANK_DETAILS so the portal offers
 * manual payments. The order of the tests matters: the lifecycle test
 * counts what one sweep ends, so it runs before anything else leaves
 * subscriptions in the past (the randomized run does, with workers told
 * AC_PAST_DUE_GRACE_DAYS=3650).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <zlib.h>

#include "itportal.h"

#define PW	"correct horse battery"
#define WLOG	"test_billing-worker.log"

/* ---- helpers ------------------------------------------------------------- */

struct fbuf {
	char	*p;
	size_t	 n;
};

static size_t
fb_write(char *d, size_t s, size_t n, void *arg)
{
	struct fbuf *b = arg;

	b->p = realloc(b->p, b->n + s * n + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->n, d, s * n);
	b->n += s * n;
	b->p[b->n] = '\0';
	return s * n;
}

/* A call to the Stripe fake's control or API: its answer parsed (caller
 * decrefs; NULL if not JSON), *status its HTTP status. body is stolen. */
static json_t *
fake(const char *method, const char *path, json_t *body, long *status)
{
	char url[1024], *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct fbuf b = { NULL, 0 };
	struct curl_slist *h = NULL;
	json_t *o;
	CURL *c = curl_easy_init();
	CURLcode cc;

	assert_non_null(c);
	json_decref(body);
	snprintf(url, sizeof(url), "%s%s", it_env("AC_STRIPE_FAKE_URL"), path);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (txt != NULL || strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, txt ? txt : "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 180L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fb_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		fail_msg("stripe fake %s %s: %s", method, path, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(txt);
	o = json_loadb(b.p ? b.p : "", b.n, 0, NULL);
	if (o == NULL)
		fprintf(stderr, "stripe fake %s %s: %ld %s\n", method, path, *status, b.p ? b.p : "");
	free(b.p);
	return o;
}

/* The same, asserting 200. */
static json_t *
fake_ok(const char *method, const char *path, json_t *body)
{
	long st = 0;
	json_t *o = fake(method, path, body, &st);

	if (st != 200 || o == NULL)
		fail_msg("stripe fake %s %s answered %ld", method, path, st);
	return o;
}

static void
fake_config(const char *json)
{
	json_decref(fake_ok("POST", "/_stripe/config", json_loads(json, 0, NULL)));
}

/* Runs acctl (NULL-terminated args) and asserts it exits with want. */
static json_t *
acctl(int want, ...)
{
	const char *a[24];
	va_list ap;
	int n = 0, st;
	json_t *o;

	va_start(ap, want);
	while ((a[n] = va_arg(ap, const char *)) != NULL && n < 22)
		n++;
	va_end(ap);
	a[n] = NULL;
	o = it_acctl(&st, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
	    a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], NULL);
	if (want == 0 && st != 0)
		fail_msg("acctl %s %s exited %d", a[0], a[1] ? a[1] : "", st);
	if (want != 0 && st == 0)
		fail_msg("acctl %s %s succeeded, a failure was expected", a[0], a[1] ? a[1] : "");
	return o;
}

/* A user made by acctl (telegram chat id tg, or NULL); email into email
 * (128 bytes); its id. */
static long long
user_new(const char *tag, const char *tg, char *email)
{
	char hex[11];
	json_t *o;
	long long id;

	it_rand_hex(hex, 10);
	snprintf(email, 128, "%s.%s@example.com", tag, hex);
	if (tg != NULL)
		o = acctl(0, "user", "add", "--email", email, "--password", PW, "--name", tag,
		    "--telegram-chat-id", tg, NULL);
	else
		o = acctl(0, "user", "add", "--email", email, "--password", PW, "--name", tag, NULL);
	id = (long long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	assert_true(id > 0);
	return id;
}

/* An access token for email into tok (600 bytes). */
static void
token_get(const char *email, char *tok)
{
	char body[512];
	struct it_resp r;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	it_post(&r, "/api/v1/auth/token", "application/json", body);
	if (r.status != 200)
		fail_msg("token for %s: %ld %s", email, r.status, r.body);
	snprintf(tok, 600, "%s", it_json_str(&r, "access_token"));
	it_resp_free(&r);
}

/* A request with Authorization: Bearer tok. */
static void
call(struct it_resp *r, const char *tok, const char *method, const char *path, const char *json)
{
	char auth[800];
	const char *h[] = { auth, NULL };

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	it_http_h(r, method, path, h, json ? "application/json" : NULL, json,
	    json ? strlen(json) : 0);
}

/* A plan covering strategy sid (NULL: a new strategy) with credits, a
 * Stripe price (NULL: none); its name into name (64 bytes); its id. */
static long long
plan_new(const char *price, int credits, const char *sid, char *name)
{
	char hex[9], cr[16], sbuf[24];
	struct it_strategy s;
	json_t *o;
	long long id;

	if (sid == NULL) {
		it_strategy_new(&s, "1h", NULL);
		snprintf(sbuf, sizeof(sbuf), "%lld", s.id);
		sid = sbuf;
	}
	it_rand_hex(hex, 8);
	snprintf(name, 64, "Bill %s", hex);
	snprintf(cr, sizeof(cr), "%d", credits);
	if (price != NULL)
		o = acctl(0, "plan", "add", "--name", name, "--price-cents", "49900", "--currency",
		    "INR", "--months", "1", "--credits", cr, "--strategies", sid,
		    "--stripe-price-id", price, NULL);
	else
		o = acctl(0, "plan", "add", "--name", name, "--price-cents", "49900", "--currency",
		    "INR", "--months", "1", "--credits", cr, "--strategies", sid, NULL);
	id = (long long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	if (id <= 0)
		id = it_q_ll("SELECT id FROM plans WHERE name = $1", name, NULL);
	return id;
}

/* prefix + 24 random characters into out (64 bytes). */
static void
rid(char *out, const char *prefix)
{
	char hex[25];

	it_rand_hex(hex, 24);
	snprintf(out, 64, "%s%s", prefix, hex);
}

static long long
now_s(void)
{
	return (long long)time(NULL);
}

/* ---- hand-made Stripe events (API version 2024-06-20 shapes) ---- */

static json_t *
ev_make(const char *type, json_t *obj, long long created)
{
	char id[64];

	rid(id, "evt_");
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:i, s:{s:n, s:n}, s:s, s:{s:o}}", "id", id,
	    "object", "event", "api_version", "2024-06-20", "created", (json_int_t)created,
	    "livemode", 0, "pending_webhooks", 1, "request", "id", "idempotency_key", "type",
	    type, "data", "object", obj);
}

static json_t *
o_checkout(const char *cs, const char *sub, const char *cus, long long uid, long long plan)
{
	char ref[24], pid[24];
	json_t *md = json_object();

	snprintf(ref, sizeof(ref), "%lld", uid);
	snprintf(pid, sizeof(pid), "%lld", plan);
	json_object_set_new(md, "user_id", json_string(ref));
	if (plan > 0)
		json_object_set_new(md, "plan_id", json_string(pid));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", cs, "object",
	    "checkout.session", "mode", "subscription", "status", "complete", "payment_status",
	    "paid", "customer", cus, "subscription", sub, "metadata", md, "client_reference_id",
	    ref);
}

static json_t *
o_sub(const char *sub, const char *cus, const char *price, const char *status, long long ps,
    long long pe)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:{s:s, s:[{s:s, s:s, s:{s:s, s:s},"
	    " s:i, s:I, s:I}]}}", "id", sub, "object", "subscription", "customer", cus, "status",
	    status, "cancel_at_period_end", 0, "current_period_start", (json_int_t)ps,
	    "current_period_end", (json_int_t)pe, "items", "object", "list", "data", "id",
	    "si_test", "object", "subscription_item", "price", "id", price, "object", "price",
	    "quantity", 1, "current_period_start", (json_int_t)ps, "current_period_end",
	    (json_int_t)pe);
}

static json_t *
o_inv(const char *in, const char *sub, const char *cus, const char *price, long long ps,
    long long pe, int paid, int attempt)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:s, s:i, s:{s:s, s:[{s:s,"
	    " s:s, s:{s:s, s:s}, s:i, s:{s:I, s:I}, s:I, s:s}]}}", "id", in, "object", "invoice",
	    "customer", cus, "subscription", sub, "status", paid ? "paid" : "open", "paid", paid,
	    "amount_paid", (json_int_t)(paid ? 49900 : 0), "amount_due", (json_int_t)49900,
	    "currency", "inr", "attempt_count", attempt, "lines", "object", "list", "data", "id",
	    "il_test", "object", "line_item", "price", "id", price, "object", "price", "quantity",
	    1, "period", "start", (json_int_t)ps, "end", (json_int_t)pe, "amount",
	    (json_int_t)49900, "currency", "inr");
}

/* Sends ev (borrowed) through the fake, times copies; the answers
 * (caller decrefs). */
static json_t *
send_ev(json_t *ev, const char *sig, int times, int concurrent)
{
	json_t *o = fake_ok("POST", "/_stripe/send", json_pack("{s:O, s:s, s:i, s:b}", "event",
	    ev, "signature", sig, "times", times, "concurrent", concurrent));
	json_t *a = json_incref(json_object_get(o, "answers"));

	json_decref(o);
	assert_int_equal(json_array_size(a), (size_t)times);
	return a;
}

/* Sends ev once, signed well, and asserts 200. */
static void
send_ok(json_t *ev)
{
	json_t *a = send_ev(ev, "good", 1, 0);
	long st = (long)json_integer_value(json_object_get(json_array_get(a, 0), "status"));

	if (st != 200)
		fail_msg("the hook answered %ld to %s: %s", st,
		    json_string_value(json_object_get(ev, "type")),
		    json_string_value(json_object_get(json_array_get(a, 0), "body")));
	json_decref(a);
}

static const char *
ev_id(json_t *ev)
{
	return json_string_value(json_object_get(ev, "id"));
}

/* Two ac-worker --once at a time until no stripe_event job is pending or
 * running. */
static void
drain_stripe(void)
{
	for (int i = 0; i < 40; i++) {
		pid_t a = it_worker_start(WLOG, "--once", NULL);
		pid_t b = it_worker_start(WLOG, "--once", NULL);

		assert_int_equal(it_reap(a), 0);
		assert_int_equal(it_reap(b), 0);
		if (it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'stripe_event'"
		    " AND state IN ('pending', 'running')", NULL) == 0)
			return;
	}
	fail_msg("stripe_event jobs still pending after 40 rounds: %lld (due later: %lld)",
	    it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'stripe_event' AND state IN"
	    " ('pending', 'running')", NULL), it_q_ll("SELECT count(*) FROM jobs WHERE kind ="
	    " 'stripe_event' AND state = 'pending' AND run_at > now()", NULL));
}

/* ac-worker --once until no job of any kind is pending and due. */
static void
drain_all(void)
{
	for (int i = 0; i < 40; i++) {
		assert_int_equal(it_reap(it_worker_start(WLOG, "--once", NULL)), 0);
		if (it_q_ll("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')"
		    " AND run_at <= now()", NULL) == 0)
			return;
	}
	fail_msg("jobs still pending and due after 40 drains");
}

/* Notice jobs of kind notice for uid. */
static long long
notices(const char *notice, long long uid)
{
	char u[24];

	snprintf(u, sizeof(u), "%lld", uid);
	return it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'notice'"
	    " AND payload->>'notice' = $1 AND payload->>'user_id' = $2", notice, u, NULL);
}

static long long
balance(long long uid)
{
	char u[24];

	snprintf(u, sizeof(u), "%lld", uid);
	return it_q_ll("SELECT credit_balance FROM users WHERE id = $1", u, NULL);
}

/* The first column of the single row of sql as text (malloc'd; "" for NULL). */
static char *
q_str(const char *sql, const char *a, const char *b)
{
	PGresult *res = it_q(sql, a, b, NULL);
	char *s;

	if (PQntuples(res) != 1)
		fail_msg("expected one row from %s, got %d", sql, PQntuples(res));
	s = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return s;
}

/* ---- 1. signatures ---------------------------------------------------------- */

static json_t *
ev_plain(void)
{
	char cus[64];

	rid(cus, "cus_");
	return ev_make("customer.created", json_pack("{s:s, s:s}", "id", cus, "object",
	    "customer"), now_s());
}

static long long
stored(const char *id)
{
	return it_q_ll("SELECT count(*) FROM stripe_events WHERE id = $1", id, NULL);
}

static void
test_signatures(void **state)
{
	static const char *const refused[] = { "bad", "stale", "none" };
	json_t *ev, *a;

	(void)state;
	/* good: 200, stored once, one job */
	ev = ev_plain();
	a = send_ev(ev, "good", 1, 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "status")), 200);
	json_decref(a);
	assert_int_equal(stored(ev_id(ev)), 1);
	assert_int_equal(it_q_ll("SELECT deliveries FROM stripe_events WHERE id = $1", ev_id(ev),
	    NULL), 1);
	json_decref(ev);

	/* bad, stale, none: 400, nothing stored */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ev = ev_plain();
		a = send_ev(ev, refused[i], 1, 0);
		if (json_integer_value(json_object_get(json_array_get(a, 0), "status")) != 400)
			fail_msg("signature %s: %s", refused[i], json_dumps(a, 0));
		json_decref(a);
		assert_int_equal(stored(ev_id(ev)), 0);
		assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE unique_key = 'stripe:' || $1",
		    ev_id(ev), NULL), 0);
		json_decref(ev);
	}

	/* multi: a wrong v1, then the right one */
	ev = ev_plain();
	a = send_ev(ev, "multi", 1, 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "status")), 200);
	json_decref(a);
	assert_int_equal(stored(ev_id(ev)), 1);
	json_decref(ev);

	/* five copies at once: one row that counted five, one job */
	ev = ev_plain();
	a = send_ev(ev, "good", 5, 1);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(a, i), "status")),
		    200);
	json_decref(a);
	assert_int_equal(stored(ev_id(ev)), 1);
	assert_int_equal(it_q_ll("SELECT deliveries FROM stripe_events WHERE id = $1", ev_id(ev),
	    NULL), 5);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'stripe_event'"
	    " AND payload->>'event_id' = $1", ev_id(ev), NULL), 1);
	json_decref(ev);
}

/* ---- 6. the checkout API ---------------------------------------------------------- */

/* The Checkout Session requests the fake recorded for user uid. */
static json_t *
checkout_requests(long long uid)
{
	json_t *all = fake_ok("GET", "/_stripe/requests", NULL), *out = json_array(), *r;
	char u[24];
	size_t i;

	snprintf(u, sizeof(u), "%lld", uid);
	json_array_foreach(all, i, r) {
		const char *ref = json_string_value(json_object_get(json_object_get(r, "params"),
		    "client_reference_id"));

		if (strcmp(json_string_value(json_object_get(r, "path")), "/v1/checkout/sessions") == 0 &&
		    ref != NULL && strcmp(ref, u) == 0)
			json_array_append(out, r);
	}
	json_decref(all);
	return out;
}

static void
test_checkout_api(void **state)
{
	char email[128], tok[600], body[128], name[64], url1[512], price[64];
	long long uid, plan, plain, slow, other;
	struct it_resp r;
	json_t *reqs;
	int64_t t0, took;
	struct it_strategy s;

	(void)state;
	uid = user_new("checkout", NULL, email);
	token_get(email, tok);
	rid(price, "price_ck");
	plan = plan_new(price, 10, NULL, name);

	/* a double click: the same session */
	snprintf(body, sizeof(body), "{\"plan_id\":%lld}", plan);
	call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
	if (r.status != 201)
		fail_msg("checkout: %ld %s", r.status, r.body);
	assert_non_null(it_json_str(&r, "url"));
	snprintf(url1, sizeof(url1), "%s", it_json_str(&r, "url"));
	assert_non_null(strstr(url1, "/checkout/cs_"));
	it_resp_free(&r);
	call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
	assert_int_equal(r.status, 201);
	assert_string_equal(it_json_str(&r, "url"), url1);
	it_resp_free(&r);
	reqs = checkout_requests(uid);
	assert_int_equal(json_array_size(reqs), 2);
	assert_non_null(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "idempotency_key")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(reqs, 0),
	    "idempotency_key")), json_string_value(json_object_get(json_array_get(reqs, 1),
	    "idempotency_key")));
	assert_false(json_is_true(json_object_get(json_array_get(reqs, 0), "dup")));
	assert_true(json_is_true(json_object_get(json_array_get(reqs, 1), "dup")));
	json_decref(reqs);
	{
		char u[24];

		snprintf(u, sizeof(u), "%lld", uid);
		assert_int_equal(it_q_ll("SELECT count(*) FROM checkout_sessions WHERE user_id = $1",
		    u, NULL), 1);
	}

	/* a plan without a Stripe price; no such plan */
	plain = plan_new(NULL, 10, NULL, name);
	snprintf(body, sizeof(body), "{\"plan_id\":%lld}", plain);
	call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
	if (r.status != 422)
		fail_msg("no price: %ld %s", r.status, r.body);
	it_resp_free(&r);
	call(&r, tok, "POST", "/api/v1/subscriptions/checkout", "{\"plan_id\":999999999}");
	if (r.status != 404)
		fail_msg("no plan: %ld %s", r.status, r.body);
	it_resp_free(&r);

	/* Stripe slower than AC_STRIPE_TIMEOUT_MS: 503 with a message, in time */
	rid(price, "price_slow");
	slow = plan_new(price, 10, NULL, name);
	{
		const char *tm = getenv("AC_STRIPE_TIMEOUT_MS");
		long limit = tm ? atol(tm) : 4000;
		char cfg[64];

		snprintf(cfg, sizeof(cfg), "{\"latency_ms\": %ld}", limit + 2000);
		fake_config(cfg);
		snprintf(body, sizeof(body), "{\"plan_id\":%lld}", slow);
		t0 = it_now_ms();
		call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
		took = it_now_ms() - t0;
		fake_config("{\"latency_ms\": 0}");
		if (r.status != 503 || it_json_str(&r, "error.message") == NULL)
			fail_msg("slow Stripe: %ld %s", r.status, r.body);
		assert_true(strlen(it_json_str(&r, "error.message")) > 10);
		it_resp_free(&r);
		if (took < limit - 100 || took > limit + 1500)
			fail_msg("the slow checkout took %lld ms (timeout %ld ms)", (long long)took,
			    limit);
	}

	/* Stripe answering 500 */
	fake_config("{\"fail_status\": 500, \"fail_times\": 1}");
	call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
	fake_config("{\"fail_times\": 0}");
	if (r.status != 503)
		fail_msg("Stripe 500: %ld %s", r.status, r.body);
	assert_non_null(it_json_str(&r, "error.message"));
	it_resp_free(&r);

	/* an alarm no plan of the user covers: 402 with a plan that would */
	it_strategy_new(&s, "1h", NULL);
	{
		char sid[24];
		json_t *plans, *p;
		size_t i;
		int found = 0;

		snprintf(sid, sizeof(sid), "%lld", s.id);
		other = plan_new(NULL, 5, sid, name);
		snprintf(body, sizeof(body), "{\"strategy_id\":%lld}", s.id);
		call(&r, tok, "POST", "/api/v1/alarms", body);
		if (r.status != 402)
			fail_msg("alarm without a plan: %ld %s", r.status, r.body);
		plans = it_json_get(&r, "error.plans");
		assert_true(json_is_array(plans));
		json_array_foreach(plans, i, p)
			found |= json_integer_value(json_object_get(p, "id")) == other;
		if (!found)
			fail_msg("402 without plan %lld: %s", other, r.body);
		it_resp_free(&r);
	}
	/* covered, but no credit to pay for a signal: 402 no_credits naming a
	 * plan whose credits would, and 201 once the credits are there */
	{
		char sid[24], free_name[64], paid_name[64], em[128], tk[600];
		json_t *plans, *p;
		long long paid, uid2;
		size_t i;
		int found = 0;

		it_strategy_new(&s, "1h", NULL);
		snprintf(sid, sizeof(sid), "%lld", s.id);
		(void)plan_new(NULL, 0, sid, free_name);
		paid = plan_new(NULL, 5, sid, paid_name);
		uid2 = user_new("nocredit", NULL, em);
		json_decref(acctl(0, "subscribe", "--email", em, "--plan", free_name, NULL));
		assert_int_equal(balance(uid2), 0);
		token_get(em, tk);
		snprintf(body, sizeof(body), "{\"strategy_id\":%lld}", s.id);
		call(&r, tk, "POST", "/api/v1/alarms", body);
		if (r.status != 402 || strcmp(it_json_str(&r, "error.code"), "no_credits") != 0)
			fail_msg("alarm without credits: %ld %s", r.status, r.body);
		plans = it_json_get(&r, "error.plans");
		json_array_foreach(plans, i, p) {
			if (json_integer_value(json_object_get(p, "credits_per_period")) == 0 &&
			    json_object_get(p, "credits_per_period") != NULL)
				fail_msg("402 names a plan without credits: %s", r.body);
			found |= json_integer_value(json_object_get(p, "id")) == paid;
		}
		if (!found)
			fail_msg("402 without plan %lld: %s", paid, r.body);
		it_resp_free(&r);
		json_decref(acctl(0, "credits", "grant", "--email", em, "--amount", "3", "--reason",
		    "test", NULL));
		call(&r, tk, "POST", "/api/v1/alarms", body);
		assert_int_equal(r.status, 201);
		it_resp_free(&r);
	}
}

/* ---- 5. the lifecycle --------------------------------------------------------------- */

static void
sweep(long long expired, long long unpaid, long long reminded)
{
	json_t *o = acctl(0, "billing", "sweep", NULL);

	if (json_integer_value(json_object_get(o, "expired")) != expired ||
	    json_integer_value(json_object_get(o, "unpaid")) != unpaid ||
	    json_integer_value(json_object_get(o, "reminded")) != reminded)
		fail_msg("sweep: %s, wanted expired %lld unpaid %lld reminded %lld",
		    json_dumps(o, JSON_COMPACT), expired, unpaid, reminded);
	json_decref(o);
}

/* GET /subscriptions/status as email: "ended" status and reason. */
static void
expect_ended(const char *email, const char *status, const char *reason)
{
	char tok[600];
	struct it_resp r;

	token_get(email, tok);
	call(&r, tok, "GET", "/api/v1/subscriptions/status", NULL);
	assert_int_equal(r.status, 200);
	if (it_json_str(&r, "ended.status") == NULL || it_json_str(&r, "ended.reason") == NULL ||
	    strcmp(it_json_str(&r, "ended.status"), status) != 0 ||
	    strcmp(it_json_str(&r, "ended.reason"), reason) != 0)
		fail_msg("status of %s: %s (wanted ended %s %s)", email, r.body, status, reason);
	it_resp_free(&r);
}

static void
test_lifecycle(void **state)
{
	char em[128], es[128], er[128], eq[128], name[64], mname[64], price[64], pid[24];
	char sub[64], cus[64], cs[64], u[24];
	long long um, us, ur, uq, mplan, splan, t = now_s();
	json_t *ev, *late;
	char *v;

	(void)state;
	setenv("AC_PAST_DUE_GRACE_DAYS", "7", 1);
	setenv("AC_RENEWAL_REMINDER_DAYS", "3", 1);
	mplan = plan_new(NULL, 5, NULL, mname);
	(void)mplan;
	rid(price, "price_lc");
	splan = plan_new(price, 5, NULL, name);
	snprintf(pid, sizeof(pid), "%lld", splan);

	/* a Stripe subscription gone past due, through events */
	us = user_new("pastdue", NULL, es);
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, us, splan), t - 30);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.created", o_sub(sub, cus, price, "active",
	    t - 20 * 86400, t + 10 * 86400), t - 29);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "past_due",
	    t - 20 * 86400, t + 10 * 86400), t - 20);
	send_ok(ev);
	drain_stripe();
	v = q_str("SELECT status FROM subscriptions WHERE stripe_subscription_id = $1", sub, NULL);
	assert_string_equal(v, "past_due");
	free(v);

	/* a manual one past its end */
	um = user_new("manual", NULL, em);
	json_decref(acctl(0, "subscribe", "--email", em, "--plan", mname, NULL));
	snprintf(u, sizeof(u), "%lld", um);
	PQclear(it_q("UPDATE subscriptions SET period_start = now() - interval '31 days',"
	    " period_end = now() - interval '1 minute' WHERE user_id = $1", u, NULL));
	/* two manual ones ending within the reminder days: one user wants reminders */
	ur = user_new("remind", NULL, er);
	uq = user_new("quiet", NULL, eq);
	json_decref(acctl(0, "subscribe", "--email", er, "--plan", mname, NULL));
	json_decref(acctl(0, "subscribe", "--email", eq, "--plan", mname, NULL));
	snprintf(u, sizeof(u), "%lld", ur);
	PQclear(it_q("UPDATE subscriptions SET period_start = now() - interval '28 days',"
	    " period_end = now() + interval '2 days', auto_renew = false WHERE user_id = $1", u,
	    NULL));
	snprintf(u, sizeof(u), "%lld", uq);
	PQclear(it_q("UPDATE subscriptions SET period_start = now() - interval '28 days',"
	    " period_end = now() + interval '2 days', auto_renew = false WHERE user_id = $1", u,
	    NULL));
	PQclear(it_q("UPDATE users SET renewal_reminders = false WHERE id = $1", u, NULL));
	/* past due for longer than the grace */
	PQclear(it_q("UPDATE subscriptions SET past_due_since = now() - interval '8 days'"
	    " WHERE stripe_subscription_id = $1", sub, NULL));

	sweep(1, 1, 1);
	snprintf(u, sizeof(u), "%lld", um);
	v = q_str("SELECT status || ' ' || end_reason FROM subscriptions WHERE user_id = $1", u,
	    NULL);
	assert_string_equal(v, "expired period_end");
	free(v);
	assert_int_equal(notices("subscription_expired", um), 1);
	v = q_str("SELECT status || ' ' || end_reason FROM subscriptions"
	    " WHERE stripe_subscription_id = $1", sub, NULL);
	assert_string_equal(v, "expired payment_failed");
	free(v);
	assert_int_equal(notices("subscription_expired", us), 1);
	assert_int_equal(notices("renewal_reminder", ur), 1);
	assert_int_equal(notices("renewal_reminder", uq), 0);

	/* a second sweep: nothing more */
	sweep(0, 0, 0);
	assert_int_equal(notices("renewal_reminder", ur), 1);
	assert_int_equal(notices("subscription_expired", um), 1);

	/* Stripe's past_due again, later (a copy, and a newer event of the
	 * same period): it stays ended */
	send_ok(ev);
	json_decref(ev);
	late = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "past_due",
	    t - 20 * 86400, t + 10 * 86400), t - 5);
	send_ok(late);
	json_decref(late);
	drain_stripe();
	v = q_str("SELECT status || ' ' || end_reason FROM subscriptions"
	    " WHERE stripe_subscription_id = $1", sub, NULL);
	assert_string_equal(v, "expired payment_failed");
	free(v);

	expect_ended(em, "expired", "period_end");
	expect_ended(es, "expired", "payment_failed");
	(void)pid;
}

/* ---- 7. manual payments ---------------------------------------------------------------- */

/* A pending subscription of uid to plan and its payment of amount (what
 * the portal's ac_payment_submit will do); the payment's id. */
static long long
payment_new(long long uid, long long plan, const char *amount)
{
	char u[24], p[24], tx[24];

	snprintf(u, sizeof(u), "%lld", uid);
	snprintf(p, sizeof(p), "%lld", plan);
	it_rand_hex(tx, 12);
	return it_q_ll("WITH s AS (INSERT INTO subscriptions (user_id, plan_id, status,"
	    " period_start, period_end) VALUES ($1, $2, 'pending', now(), now() + interval"
	    " '1 month') RETURNING id) INSERT INTO payments (user_id, plan_id, subscription_id,"
	    " transaction_id, amount_minor, currency, method) SELECT $1, $2, s.id, 'UTR' || $3,"
	    " $4::bigint, 'INR', 'upi' FROM s RETURNING id", u, p, tx, amount, NULL);
}

static void
test_manual_payments(void **state)
{
	char email[128], name[64], id[24], key[48];
	long long uid, plan, pay, pay2;
	json_t *o;
	char *v;
	PGresult *res;

	(void)state;
	uid = user_new("upi", NULL, email);
	plan = plan_new(NULL, 40, NULL, name);

	/* approve: active, credits once under payment:<id>, told */
	pay = payment_new(uid, plan, "49900");
	snprintf(id, sizeof(id), "%lld", pay);
	o = acctl(0, "payment", "approve", id, "--by", "it", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "approved");
	json_decref(o);
	v = q_str("SELECT s.status FROM payments p JOIN subscriptions s ON s.id = p.subscription_id"
	    " WHERE p.id = $1", id, NULL);
	assert_string_equal(v, "active");
	free(v);
	snprintf(key, sizeof(key), "payment:%lld", pay);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE idempotency_key = $1",
	    key, NULL), 1);
	assert_int_equal(balance(uid), 40);
	assert_int_equal(notices("payment_approved", uid), 1);
	json_decref(acctl(1, "payment", "approve", id, NULL));
	assert_int_equal(balance(uid), 40);
	assert_int_equal(notices("payment_approved", uid), 1);

	/* reject: without a reason refused, then with one */
	pay2 = payment_new(uid, plan, "49900");
	snprintf(id, sizeof(id), "%lld", pay2);
	json_decref(acctl(1, "payment", "reject", id, NULL));
	v = q_str("SELECT p.status || ' ' || s.status FROM payments p JOIN subscriptions s"
	    " ON s.id = p.subscription_id WHERE p.id = $1", id, NULL);
	assert_string_equal(v, "pending pending");
	free(v);
	assert_int_equal(notices("payment_rejected", uid), 0);
	o = acctl(0, "payment", "reject", id, "--reason", "no such UTR at the bank", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "rejected");
	json_decref(o);
	v = q_str("SELECT p.status || ' ' || p.rejection_reason || ' ' || s.status FROM payments p"
	    " JOIN subscriptions s ON s.id = p.subscription_id WHERE p.id = $1", id, NULL);
	assert_string_equal(v, "rejected no such UTR at the bank cancelled");
	free(v);
	assert_int_equal(notices("payment_rejected", uid), 1);
	assert_int_equal(balance(uid), 40);

	/* an amount that is not the plan's price: the trigger refuses it */
	{
		char u[24], p[24];
		const char *vals[2] = { u, p };

		snprintf(u, sizeof(u), "%lld", uid);
		snprintf(p, sizeof(p), "%lld", plan);
		res = PQexecParams(it_db(), "WITH s AS (INSERT INTO subscriptions (user_id, plan_id,"
		    " status, period_start, period_end) VALUES ($1, $2, 'pending', now(), now() +"
		    " interval '1 month') RETURNING id) INSERT INTO payments (user_id, plan_id,"
		    " subscription_id, transaction_id, amount_minor, currency, method) SELECT $1::bigint,"
		    " $2::bigint, s.id, 'UTRWRONG' || $1, 100, 'INR', 'upi' FROM s", 2, NULL, vals,
		    NULL, NULL, 0);
		assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
		assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23514");
		assert_non_null(strstr(PQresultErrorMessage(res), "499.00 INR"));
		PQclear(res);
		assert_int_equal(it_q_ll("SELECT count(*) FROM payments WHERE user_id = $1", u,
		    NULL), 2);
	}
}

/* ---- 3. out of order ------------------------------------------------------------------------ */

static void
test_out_of_order(void **state)
{
	char e1[128], e2[128], name[64], price[64], unknown[64], u[24], key[80];
	char sub[64], cus[64], cs[64], in[64];
	long long u1, u2, plan, t = now_s(), job;
	json_t *inv, *co;
	char *v;

	(void)state;
	setenv("AC_PAST_DUE_GRACE_DAYS", "7", 1);
	rid(price, "price_oo");
	plan = plan_new(price, 12, NULL, name);

	/* the invoice before the checkout that says whose it is */
	u1 = user_new("early", NULL, e1);
	snprintf(u, sizeof(u), "%lld", u1);
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	rid(in, "in_");
	inv = ev_make("invoice.paid", o_inv(in, sub, cus, price, t - 60, t + 30 * 86400 - 60, 1, 1),
	    t - 50);
	co = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, u1, plan), t - 55);
	send_ok(inv);
	drain_stripe();
	assert_int_equal(balance(u1), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM subscriptions WHERE stripe_subscription_id"
	    " = $1", sub, NULL), 0);
	v = q_str("SELECT status FROM stripe_invoices WHERE id = $1", in, NULL);
	assert_string_equal(v, "paid");
	free(v);
	v = q_str("SELECT status FROM stripe_events WHERE id = $1", ev_id(inv), NULL);
	assert_string_equal(v, "processed");
	free(v);
	send_ok(co);
	drain_stripe();
	assert_int_equal(balance(u1), 12);
	snprintf(key, sizeof(key), "invoice:%s", in);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE idempotency_key = $1"
	    " AND user_id = $2", key, u, NULL), 1);
	v = q_str("SELECT status || ' ' || plan_id || ' ' || user_id FROM subscriptions"
	    " WHERE stripe_subscription_id = $1", sub, NULL);
	{
		char want[96];

		snprintf(want, sizeof(want), "active %lld %lld", plan, u1);
		assert_string_equal(v, want);
	}
	free(v);
	/* copies of both: nothing more */
	send_ok(inv);
	send_ok(co);
	drain_stripe();
	assert_int_equal(balance(u1), 12);
	json_decref(inv);
	json_decref(co);

	/* a price no plan has: the job dies naming it; the plan added and the
	 * job retried, the credits arrive */
	u2 = user_new("noplan", NULL, e2);
	snprintf(u, sizeof(u), "%lld", u2);
	rid(unknown, "price_new");
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	rid(in, "in_");
	inv = ev_make("invoice.paid", o_inv(in, sub, cus, unknown, t - 60, t + 30 * 86400 - 60, 1,
	    1), t - 50);
	co = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, u2, 0), t - 55);
	send_ok(co);
	send_ok(inv);
	drain_stripe();
	assert_int_equal(balance(u2), 0);
	job = it_q_ll("SELECT count(*) FROM jobs WHERE kind = 'stripe_event' AND state = 'dead'"
	    " AND payload->>'event_id' IN ($1, $2) AND last_error LIKE '%' || $3 || '%'",
	    ev_id(inv), ev_id(co), unknown, NULL);
	if (job != 1)
		fail_msg("wanted one dead job naming %s, got %lld", unknown, job);
	job = it_q_ll("SELECT id FROM jobs WHERE kind = 'stripe_event' AND state = 'dead'"
	    " AND payload->>'event_id' IN ($1, $2)", ev_id(inv), ev_id(co), NULL);
	{
		char jid[24], cr[8], sid[24];
		json_t *o;

		snprintf(jid, sizeof(jid), "%lld", job);
		snprintf(sid, sizeof(sid), "%lld", it_q_ll("SELECT strategy_id FROM plan_strategies"
		    " WHERE plan_id = $1::bigint LIMIT 1", (snprintf(cr, sizeof(cr), "%lld", plan), cr),
		    NULL));
		it_rand_hex(name + 5, 8);
		o = acctl(0, "plan", "add", "--name", name, "--price-cents", "49900", "--currency",
		    "INR", "--months", "1", "--credits", "7", "--strategies", sid,
		    "--stripe-price-id", unknown, NULL);
		json_decref(o);
		json_decref(acctl(0, "jobs", "retry", jid, NULL));
	}
	drain_stripe();
	assert_int_equal(balance(u2), 7);
	v = q_str("SELECT s.status || ' ' || p.stripe_price_id FROM subscriptions s JOIN plans p"
	    " ON p.id = s.plan_id WHERE s.stripe_subscription_id = $1", sub, NULL);
	{
		char want[96];

		snprintf(want, sizeof(want), "active %s", unknown);
		assert_string_equal(v, want);
	}
	free(v);
	assert_int_equal(it_q_ll("SELECT count(*) FROM stripe_events WHERE id IN ($1, $2)"
	    " AND status = 'processed'", ev_id(inv), ev_id(co), NULL), 2);
	json_decref(inv);
	json_decref(co);
}

/* ---- 4. a failed renewal ---------------------------------------------------------------------- */

static void
test_payment_failed(void **state)
{
	char email[128], name[64], price[64], tg[24], u[24], sid[24], path[32];
	char sub[64], cus[64], cs[64], in1[64], in2[64];
	struct it_strategy s;
	long long uid, plan, t = now_s(), signal;
	json_t *ev, *fail1, *fail2;
	struct it_resp r;
	char *v, *body;

	(void)state;
	setenv("AC_PAST_DUE_GRACE_DAYS", "7", 1);
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	rid(price, "price_pf");
	plan = plan_new(price, 9, sid, name);
	snprintf(tg, sizeof(tg), "%lld", 700000000LL + (long long)(random() % 100000000));
	uid = user_new("failed", tg, email);
	snprintf(u, sizeof(u), "%lld", uid);
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	rid(in1, "in_");
	rid(in2, "in_");

	ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, uid, plan), t - 40);
	send_ok(ev);
	json_decref(ev);
	/* the first period ended a minute ago; its renewal is what fails */
	ev = ev_make("customer.subscription.created", o_sub(sub, cus, price, "active",
	    t - 30 * 86400 - 60, t - 60), t - 39);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("invoice.paid", o_inv(in1, sub, cus, price, t - 30 * 86400 - 60, t - 60, 1, 1),
	    t - 38);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	assert_int_equal(balance(uid), 9);

	/* the renewal fails: told on each channel chosen, once per attempt */
	fail1 = ev_make("invoice.payment_failed", o_inv(in2, sub, cus, price, t - 60,
	    t + 30 * 86400 - 60, 0, 1), t - 30);
	send_ok(fail1);
	drain_stripe();
	assert_int_equal(notices("payment_failed", uid), 2);
	v = q_str("SELECT string_agg(payload->>'channel', ',' ORDER BY payload->>'channel')"
	    " FROM jobs WHERE kind = 'notice' AND payload->>'notice' = 'payment_failed'"
	    " AND payload->>'user_id' = $1", u, NULL);
	assert_string_equal(v, "email,telegram");
	free(v);
	/* the same attempt again: a copy, and another event saying it */
	send_ok(fail1);
	fail2 = ev_make("invoice.payment_failed", o_inv(in2, sub, cus, price, t - 60,
	    t + 30 * 86400 - 60, 0, 1), t - 29);
	send_ok(fail2);
	drain_stripe();
	assert_int_equal(notices("payment_failed", uid), 2);
	assert_int_equal(balance(uid), 9);
	json_decref(fail1);
	json_decref(fail2);

	/* Stripe says past_due, the period moved on to the unpaid one */
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "past_due",
	    t - 60, t + 30 * 86400 - 60), t - 28);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	v = q_str("SELECT status || ' ' || (past_due_since IS NOT NULL) FROM subscriptions"
	    " WHERE stripe_subscription_id = $1", sub, NULL);
	assert_string_equal(v, "past_due true");
	free(v);
	/* an alarm on the past-due subscription (allowed within the grace) */
	json_decref(acctl(0, "alarm", "add", "--email", email, "--strategy", sid, "--channels",
	    "email", NULL));

	/* within the grace its alarms still receive */
	body = it_alert(&s, "buy", it_price(42000), 0, 0, it_now_ms());
	it_post(&r, s.path, "application/json", body);
	free(body);
	assert_int_equal(r.status, 202);
	signal = (long long)json_integer_value(it_json_get(&r, "id"));
	it_resp_free(&r);
	drain_all();
	snprintf(path, sizeof(path), "%lld", signal);
	if (it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1 AND user_id = $2"
	    " AND channel = 'email' AND status = 'sent'", path, u, NULL) != 1)
		fprintf(stderr, "deliveries of signal %s: %lld for the user\n", path, it_q_ll(
		    "SELECT count(*) FROM deliveries WHERE signal_id = $1", path, NULL));
	assert_int_equal(it_q_ll("SELECT count(*) FROM deliveries WHERE signal_id = $1"
	    " AND user_id = $2 AND channel = 'email' AND status = 'sent'", path, u, NULL), 1);
}

/* ---- 2. the randomized run ------------------------------------------------------------------------ */

#define NUSERS	100
#define NAPI	5

/* A digest of what the run left: balances, ledger, subscriptions. */
static char *
digest(const char *ids)
{
	return q_str("SELECT md5(coalesce((SELECT string_agg(id || ':' || credit_balance, ','"
	    "  ORDER BY id) FROM users WHERE id = ANY ($1::bigint[])), '')"
	    " || coalesce((SELECT string_agg(s.id || ':' || s.status || ':' || s.plan_id || ':'"
	    "  || s.period_end || ':' || coalesce(s.end_reason, ''), ',' ORDER BY s.id)"
	    "  FROM subscriptions s WHERE s.user_id = ANY ($1::bigint[])), '')"
	    " || (SELECT count(*) FROM credit_ledger WHERE user_id = ANY ($1::bigint[])))", ids,
	    NULL);
}

static void
test_randomized(void **state)
{
	char tmpl[128], name_a[64], name_b[64], pa[64], pb[64], sid[24], idlist[NUSERS * 24];
	char email[128], tok[600], body[128], seed[24];
	long long ids[NUSERS], plan_a, plan_b;
	json_t *users, *res, *exp, *events, *ev;
	struct it_strategy s;
	PGresult *q;
	char *expected, *d1, *d2, *v;
	size_t i, n, len = 0;
	long long nevents, bad, copies;

	(void)state;
	setenv("AC_PAST_DUE_GRACE_DAYS", "3650", 1);
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	rid(pa, "price_a");
	rid(pb, "price_b");
	plan_a = plan_new(pa, 10, sid, name_a);
	plan_b = plan_new(pb, 25, sid, name_b);

	/* 100 users: one by acctl, the rest by one INSERT with its hash */
	ids[0] = user_new("rand", NULL, tmpl);
	{
		char first[24];

		snprintf(first, sizeof(first), "%lld", ids[0]);
		q = it_q("INSERT INTO users (email, password_hash, display_name)"
		    " SELECT 'rand' || g || '.' || md5(random()::text) || '@example.com',"
		    " u.password_hash, 'rand' FROM users u, generate_series(2, $2::int) g"
		    " WHERE u.id = $1 ORDER BY g RETURNING id", first, (snprintf(body, sizeof(body),
		    "%d", NUSERS), body), NULL);
		assert_int_equal(PQntuples(q), NUSERS - 1);
		for (int k = 0; k < NUSERS - 1; k++)
			ids[k + 1] = strtoll(PQgetvalue(q, k, 0), NULL, 10);
		PQclear(q);
	}
	len = (size_t)snprintf(idlist, sizeof(idlist), "{");
	for (int k = 0; k < NUSERS; k++)
		len += (size_t)snprintf(idlist + len, sizeof(idlist) - len, "%s%lld", k ? "," : "",
		    ids[k]);
	snprintf(idlist + len, sizeof(idlist) - len, "}");

	/* a few buy through the API; the fake makes the others' sessions */
	users = json_array();
	for (int k = 0; k < NUSERS; k++) {
		char ref[24];
		json_t *uo;

		snprintf(ref, sizeof(ref), "%lld", ids[k]);
		uo = json_pack("{s:s}", "ref", ref);
		if (k < NAPI) {
			struct it_resp r;
			const char *url, *cs;

			v = q_str("SELECT email FROM users WHERE id = $1", ref, NULL);
			snprintf(email, sizeof(email), "%s", v);
			free(v);
			token_get(email, tok);
			snprintf(body, sizeof(body), "{\"plan_id\":%lld}", k % 2 ? plan_b : plan_a);
			call(&r, tok, "POST", "/api/v1/subscriptions/checkout", body);
			if (r.status != 201)
				fail_msg("checkout: %ld %s", r.status, r.body);
			url = it_json_str(&r, "url");
			assert_non_null(url);
			cs = strstr(url, "/checkout/");
			assert_non_null(cs);
			json_object_set_new(uo, "session", json_string(cs + strlen("/checkout/")));
			it_resp_free(&r);
		}
		json_array_append_new(users, uo);
	}

	snprintf(seed, sizeof(seed), "%ld", (long)(random() % 1000000));
	fprintf(stderr, "randomized: scenario seed %s\n", seed);
	res = fake_ok("POST", "/_stripe/scenario", json_pack("{s:I, s:o, s:[s, s], s:i, s:f, s:i,"
	    " s:b}", "seed", (json_int_t)atoll(seed), "users", users, "prices", pa, pb,
	    "min_events", 1000, "duplicate_rate", 0.2, "concurrency", 8, "shuffle", 1));
	nevents = (long long)json_integer_value(json_object_get(res, "events"));
	fprintf(stderr, "randomized: %lld events, %lld deliveries in %.1f s\n", nevents,
	    (long long)json_integer_value(json_object_get(res, "deliveries")),
	    json_number_value(json_object_get(res, "seconds")));
	assert_true(nevents >= 1000);
	if (json_array_size(json_object_get(res, "failed_deliveries")) != 0)
		fail_msg("deliveries that failed: %s", json_dumps(json_object_get(res,
		    "failed_deliveries"), JSON_COMPACT));
	exp = json_object_get(res, "expected");
	expected = json_dumps(exp, JSON_COMPACT);

	drain_stripe();

	/* every event of the run stored once, and done with */
	assert_int_equal(it_q_ll("SELECT count(*) FROM stripe_events WHERE coalesce("
	    " payload->'data'->'object'->>'subscription', payload->'data'->'object'->>'id')"
	    " IN (SELECT jsonb_object_keys($1::jsonb->'subscriptions'))", expected, NULL), nevents);
	assert_int_equal(it_q_ll("SELECT count(*) FROM stripe_events WHERE coalesce("
	    " payload->'data'->'object'->>'subscription', payload->'data'->'object'->>'id')"
	    " IN (SELECT jsonb_object_keys($1::jsonb->'subscriptions'))"
	    " AND status NOT IN ('processed', 'ignored')", expected, NULL), 0);
	/* each 200 the hook answered counted once */
	assert_int_equal(it_q_ll("SELECT coalesce(sum(deliveries), 0) FROM stripe_events WHERE"
	    " coalesce(payload->'data'->'object'->>'subscription', payload->'data'->'object'->>'id')"
	    " IN (SELECT jsonb_object_keys($1::jsonb->'subscriptions'))", expected, NULL),
	    json_integer_value(json_object_get(json_object_get(res, "answers"), "200")));

	/* credits: balance = ledger = the paid invoices' plans' credits */
	bad = it_q_ll("WITH inv AS (SELECT value->>'ref' AS ref, value->>'price' AS price"
	    "  FROM jsonb_each($1::jsonb->'invoices_paid')),"
	    " want AS (SELECT inv.ref::bigint AS uid, sum(p.credits_per_period) AS c FROM inv"
	    "  JOIN plans p ON p.stripe_price_id = inv.price GROUP BY 1)"
	    " SELECT count(*) FROM users u LEFT JOIN want w ON w.uid = u.id"
	    " WHERE u.id = ANY ($2::bigint[]) AND (u.credit_balance <> coalesce(w.c, 0)"
	    "  OR u.credit_balance <> (SELECT coalesce(sum(amount), 0) FROM credit_ledger l"
	    "  WHERE l.user_id = u.id))", expected, idlist, NULL);
	if (bad != 0) {
		q = it_q("WITH inv AS (SELECT value->>'ref' AS ref, value->>'price' AS price"
		    "  FROM jsonb_each($1::jsonb->'invoices_paid')),"
		    " want AS (SELECT inv.ref::bigint AS uid, sum(p.credits_per_period) AS c FROM inv"
		    "  JOIN plans p ON p.stripe_price_id = inv.price GROUP BY 1)"
		    " SELECT u.id, u.credit_balance, w.c FROM users u LEFT JOIN want w ON w.uid = u.id"
		    " WHERE u.id = ANY ($2::bigint[]) AND u.credit_balance <> coalesce(w.c, 0)"
		    " LIMIT 5", expected, idlist, NULL);
		for (int k = 0; k < PQntuples(q); k++)
			fprintf(stderr, "user %s: balance %s, wanted %s\n", PQgetvalue(q, k, 0),
			    PQgetvalue(q, k, 1), PQgetvalue(q, k, 2));
		PQclear(q);
		fail_msg("%lld users whose credits are not their paid invoices'", bad);
	}
	/* one invoice:<id> row per paid invoice, no key twice */
	assert_int_equal(it_q_ll("SELECT count(*) FROM jsonb_object_keys($1::jsonb->'invoices_paid')"
	    " k WHERE (SELECT count(*) FROM credit_ledger l WHERE l.idempotency_key = 'invoice:' || k)"
	    " <> 1", expected, NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE user_id = ANY"
	    " ($1::bigint[])", idlist, NULL), it_q_ll("SELECT count(*) FROM jsonb_object_keys("
	    "$1::jsonb->'invoices_paid')", expected, NULL));
	assert_int_equal(it_q_ll("SELECT count(*) FROM (SELECT idempotency_key FROM credit_ledger"
	    " WHERE user_id = ANY ($1::bigint[]) GROUP BY 1 HAVING count(*) > 1) d", idlist, NULL),
	    0);

	/* each subscription: Stripe's last word mapped, its price's plan, its user */
	{
		static const char *const sub_check =
		    "WITH e AS (SELECT key AS sub, value->>'ref' AS ref, value->>'price' AS price,"
		    "  CASE value->>'status' WHEN 'active' THEN 'active' WHEN 'trialing' THEN 'active'"
		    "  WHEN 'past_due' THEN 'past_due' WHEN 'unpaid' THEN 'past_due'"
		    "  WHEN 'canceled' THEN 'cancelled' WHEN 'incomplete' THEN 'pending'"
		    "  WHEN 'incomplete_expired' THEN 'expired' END AS status"
		    "  FROM jsonb_each($1::jsonb->'subscriptions'))"
		    " SELECT e.sub, e.status, e.price, e.ref, s.status, p.stripe_price_id, s.user_id"
		    " FROM e LEFT JOIN subscriptions s ON s.stripe_subscription_id = e.sub"
		    " LEFT JOIN plans p ON p.id = s.plan_id"
		    " WHERE s.id IS NULL OR s.status <> e.status OR p.stripe_price_id <> e.price"
		    "  OR s.user_id <> e.ref::bigint";

		q = it_q(sub_check, expected, NULL);
		for (int k = 0; k < PQntuples(q) && k < 10; k++)
			fprintf(stderr, "subscription %s: wanted %s %s user %s, got %s %s user %s\n",
			    PQgetvalue(q, k, 0), PQgetvalue(q, k, 1), PQgetvalue(q, k, 2),
			    PQgetvalue(q, k, 3), PQgetvalue(q, k, 4), PQgetvalue(q, k, 5),
			    PQgetvalue(q, k, 6));
		if (PQntuples(q) != 0)
			fail_msg("%d subscriptions differ from Stripe's last word (of %zu)",
			    PQntuples(q), json_object_size(json_object_get(exp, "subscriptions")));
		PQclear(q);
	}

	/* 50 old events again, three days later: nothing changes */
	d1 = digest(idlist);
	copies = it_q_ll("SELECT sum(deliveries) FROM stripe_events", NULL);
	events = fake_ok("GET", "/_stripe/events", NULL);
	{
		json_t *subs = json_object_get(exp, "subscriptions"), *pick = json_array();

		json_array_foreach(events, i, ev) {
			json_t *o = json_object_get(json_object_get(ev, "data"), "object");
			const char *k = json_string_value(json_object_get(o, "subscription"));

			if (strncmp(json_string_value(json_object_get(ev, "type")),
			    "customer.subscription.", 22) == 0)
				k = json_string_value(json_object_get(o, "id"));
			if (k != NULL && json_object_get(subs, k) != NULL)
				json_array_append(pick, ev);
		}
		n = json_array_size(pick);
		assert_true(n >= (size_t)nevents);
		for (int k = 0; k < 50; k++) {
			json_t *e = json_array_get(pick, (size_t)random() % n), *a;

			a = fake_ok("POST", "/_stripe/replay", json_pack("{s:s, s:s}", "event_id",
			    ev_id(e), "signature", "good"));
			assert_int_equal(json_integer_value(json_object_get(json_array_get(
			    json_object_get(a, "answers"), 0), "status")), 200);
			json_decref(a);
		}
		json_decref(pick);
	}
	json_decref(events);
	drain_stripe();
	d2 = digest(idlist);
	/* each replay arrived and was counted as a copy */
	assert_int_equal(it_q_ll("SELECT sum(deliveries) FROM stripe_events", NULL), copies + 50);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	free(expected);
	json_decref(res);
}

/* ---- 8. uploads: paying by UPI through the portal ------------------------------------ */

/* A valid PNG of exactly total bytes (malloc'd): png_make's with a private
 * ancillary chunk of zeros before IEND. */
static unsigned char *
png_sized(size_t total)
{
	unsigned char small[128], *o;
	size_t pn = png_make(small), n = pn - 12, pad = total - pn - 12;

	assert_true(total > pn + 12);
	assert_non_null(o = calloc(1, total));
	memcpy(o, small, n);
	n += png_chunk(o + n, "prVt", o + n + 8, (uint32_t)pad);	/* zeros onto zeros */
	memcpy(o + n, small + pn - 12, 12);
	assert_int_equal(n + 12, total);
	return o;
}

/* Files under $AC_STATE_DIR/proofs (0 when the folder is not there yet). */
static int
proof_files(void)
{
	char dir[1100];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/proofs", it_env("AC_STATE_DIR"));
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static long long
payments_of(long long uid)
{
	char u[24];

	snprintf(u, sizeof(u), "%lld", uid);
	return it_q_ll("SELECT count(*) FROM payments WHERE user_id = $1", u, NULL);
}

struct pay {
	const char	*csrf;		/* NULL: no csrf field */
	const char	*tx, *amount, *method;
	const char	*filename;	/* NULL: no file part */
	const char	*ctype;
	const void	*data;
	size_t		 len;
};

/* The Origin pay_send sends (NULL: the site's). */
static const char *pay_origin;

/* POSTs the multipart form p to /plans/<plan>/pay as b (its cookies, the
 * site's Origin); *r is the answer. */
static void
pay_send(struct ib *b, struct it_resp *r, long long plan, const struct pay *p)
{
	char path[64], cookie[256], origin[300];
	const char *h[] = { cookie, origin, NULL };
	struct mp m = { NULL, 0 };

	snprintf(path, sizeof(path), "/plans/%lld/pay", plan);
	snprintf(cookie, sizeof(cookie), "Cookie: ac_session=%s; ac_pre=%s", b->session, b->pre);
	snprintf(origin, sizeof(origin), "Origin: %s", pay_origin ? pay_origin :
	    it_env("AC_TEST_BASE_URL"));
	if (p->csrf != NULL)
		mp_field(&m, "csrf", p->csrf);
	mp_field(&m, "transaction_id", p->tx);
	mp_field(&m, "amount", p->amount);
	mp_field(&m, "method", p->method ? p->method : "upi");
	if (p->filename != NULL)
		mp_file(&m, "proof", p->filename, p->ctype ? p->ctype : "image/png", p->data,
		    p->len);
	mp_str(&m, "--" MP_BOUNDARY "--\r\n");
	it_http_h(r, "POST", path, h, "multipart/form-data; boundary=" MP_BOUNDARY,
	    (const char *)m.p, m.n);
	free(m.p);
}

/* The answer has status, and the alert of a refused form (or the message
 * of an error page) says want. */
static void
expect_alert(const struct it_resp *r, const char *what, long status, const char *want)
{
	const char *a = r->body ? strstr(r->body, "role=\"alert\"") : NULL;

	if (a == NULL && r->body != NULL)
		a = strstr(r->body, "<p class=\"lead");

	if (r->status != status || a == NULL || strstr(a, want) == NULL)
		fail_msg("%s: %ld (wanted %ld with an alert saying '%s'): %.600s", what, r->status,
		    status, want, a ? a : r->body ? r->body : "");
}

/* A refused payment: status, the alert naming the problem, nothing stored. */
static void
pay_refused(struct ib *b, long long plan, long long uid, const struct pay *p, const char *what,
    long status, const char *want)
{
	struct it_resp r;
	int files = proof_files();
	long long rows = payments_of(uid);

	pay_send(b, &r, plan, p);
	expect_alert(&r, what, status, want);
	if (payments_of(uid) != rows || proof_files() != files)
		fail_msg("%s: stored something (payments %lld -> %lld, proof files %d -> %d)", what,
		    rows, payments_of(uid), files, proof_files());
	it_resp_free(&r);
}

/* The stored proof of payment id: its file name (malloc'd). */
static char *
proof_name(long long id)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", id);
	return q_str("SELECT proof_file FROM payments WHERE id = $1", s, NULL);
}

static void
test_uploads(void **state)
{
	struct ib a = { 0 }, b = { 0 };
	struct fx_plan plan;
	struct it_resp r;
	struct stat st;
	unsigned char png[128], *big, poly[160];
	char email[128], path[1200], tx[32], tx2[32], s[24], *v, *name;
	size_t pn = png_make(png), bign = 5u * 1024 * 1024 + 1;
	static const char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
	    "!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
	static const char html[] = "<!doctype html><html><body><script>alert(1)</script></body>"
	    "</html>\n";
	static const char pdf[] = "%PDF-1.4\n"
	    "1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
	    "2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
	    "3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 100]>> endobj\n"
	    "trailer <</Root 1 0 R>>\n%%EOF\n";
	long long ua, ub, pay, payb, before;
	size_t polyn;

	(void)state;
	fx_plan_new(&plan);
	ua = ib_signup(&a, "upl", "Uploader", PW, email);
	ub = ib_signup(&b, "upl2", "Other", PW, email);
	it_rand_hex(tx, 12);
	it_rand_hex(tx2, 12);

	/* the pay page: the price, the UPI link and the form with its token */
	snprintf(path, sizeof(path), "/plans/%lld/pay", plan.plan_id);
	ib_get(&a, &r, path);
	if (r.status != 200 || !it_has(&r, "499.00") || !it_has(&r, "upi://pay") ||
	    !it_has(&r, "enctype=\"multipart/form-data\""))
		fail_msg("GET %s: %ld %.400s", path, r.status, r.body);
	assert_true(a.csrf[0] != '\0');
	it_resp_free(&r);

	/* refused, each with its reason, nothing stored */
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ NULL, tx, "499.00", "upi", "proof.png",
	    NULL, png, pn }, "no csrf", 403, "reload the page");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ "0123456789abcdef0123456789abcdef", tx,
	    "499.00", "upi", "proof.png", NULL, png, pn }, "wrong csrf", 403, "reload the page");
	pay_origin = "https://evil.example";
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    NULL, png, pn }, "another site's form (good token)", 403, "reload the page");
	pay_origin = NULL;
	big = calloc(1, bign);
	assert_non_null(big);
	memcpy(big, png, pn);
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    NULL, big, bign }, "5 MiB + 1", 413, "larger than 5 MB");
	free(big);
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.gif",
	    "image/gif", gif, sizeof(gif) - 1 }, "a GIF", 422, "must be a PNG or JPEG");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    "image/png", html, sizeof(html) - 1 }, "HTML named .png", 422, "must be a PNG or JPEG");
	memcpy(poly, png, pn);
	memcpy(poly + pn, "<script>alert(1)</script>", 25);
	polyn = pn + 25;
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    NULL, poly, polyn }, "PNG + script", 422, "web markup");
	/* the same polyglot without the markup words: bytes after IEND */
	memcpy(poly + pn, "trailing bytes", 14);
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    NULL, poly, pn + 14 }, "PNG + trailer", 422, "data after its end");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi",
	    "../../etc/x.png", NULL, png, pn }, "a path as file name", 422, "not a path");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "proof.png",
	    NULL, "", 0 }, "an empty file", 422, "empty file");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", NULL, NULL,
	    NULL, 0 }, "no file part", 422, "Attach a screenshot");
	/* what a browser sends with no file chosen */
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "",
	    "application/octet-stream", "", 0 }, "no file chosen", 422, "Attach a screenshot");
	/* fields the form refuses: nothing stored, what was typed shown again, escaped */
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "bitcoin",
	    "proof.png", NULL, png, pn }, "an unknown method", 422, "choose how you paid");
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, "\"><b>utr", "499.00", "upi",
	    "proof.png", NULL, png, pn }, "a transaction id with markup", 422, "6 to 64 letters");
	pay_send(&a, &r, plan.plan_id, &(struct pay){ a.csrf, "\"><b>utr", "499.00", "upi",
	    "proof.png", NULL, png, pn });
	assert_true(it_has(&r, "value=\"&quot;&gt;&lt;b&gt;utr\""));
	assert_false(it_has(&r, "\"><b>utr"));
	it_resp_free(&r);
	/* the wrong amount: the price named, the typed transaction id shown again */
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "400.00", "bank_transfer",
	    "proof.png", NULL, png, pn }, "wrong amount", 422, "499.00");
	pay_send(&a, &r, plan.plan_id, &(struct pay){ a.csrf, tx, "400.00", "bank_transfer",
	    "proof.png", NULL, png, pn });
	snprintf(path, sizeof(path), "value=\"%s\"", tx);
	assert_true(it_has(&r, path));
	assert_true(it_has(&r, "value=\"400.00\""));
	assert_true(it_has(&r, "value=\"bank_transfer\" selected"));
	it_resp_free(&r);

	/* the proof taken: 303, one pending row, the file stored 0640 under a random name */
	before = proof_files();
	pay_send(&a, &r, plan.plan_id, &(struct pay){ a.csrf, tx, "499.00", "upi", "screen.png",
	    NULL, png, pn });
	if (r.status != 303 || strcmp(it_header(&r, "Location", NULL) ?: "",
	    "/payments?done=payment_submitted") != 0)
		fail_msg("a good proof: %ld %s %.400s", r.status, it_header(&r, "Location", NULL) ?:
		    "", r.body);
	it_resp_free(&r);
	assert_int_equal(payments_of(ua), 1);
	assert_int_equal(proof_files(), before + 1);
	snprintf(s, sizeof(s), "%lld", ua);
	pay = it_q_ll("SELECT id FROM payments WHERE user_id = $1 AND status = 'pending'"
	    " AND transaction_id = $2", s, tx, NULL);
	name = proof_name(pay);
	assert_int_equal(strlen(name), 36);
	assert_int_equal(strspn(name, "0123456789abcdef"), 32);
	assert_string_equal(name + 32, ".png");
	snprintf(path, sizeof(path), "%s/proofs/%s", it_env("AC_STATE_DIR"), name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal((long long)st.st_size, (long long)pn);
	free(name);

	/* the same transaction id again: 409, nothing more stored */
	pay_refused(&a, plan.plan_id, ua, &(struct pay){ a.csrf, tx, "499.00", "upi", "again.png",
	    NULL, png, pn }, "a repeated transaction id", 409, "already submitted");
	/* by anyone (ids are unique across users) */
	snprintf(path, sizeof(path), "/plans/%lld/pay", plan.plan_id);
	ib_get(&b, &r, path);
	it_resp_free(&r);
	pay_refused(&b, plan.plan_id, ub, &(struct pay){ b.csrf, tx, "499.00", "upi", "again.png",
	    NULL, png, pn }, "another user's transaction id", 409, "already submitted");
	for (char *c = tx; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	pay_refused(&b, plan.plan_id, ub, &(struct pay){ b.csrf, tx, "499.00", "upi", "again.png",
	    NULL, png, pn }, "the transaction id in capitals", 409, "already submitted");
	for (char *c = tx; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	/* listed as pending; the proof to its owner only, byte for byte */
	ib_get(&a, &r, "/payments?done=payment_submitted");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, tx));
	assert_true(it_has(&r, "pending"));
	assert_true(it_has(&r, "Payment submitted"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/payments/%lld/proof", pay);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, pn);
	assert_memory_equal(r.body, png, pn);
	assert_string_equal(it_header(&r, "Content-Type", NULL), "image/png");
	assert_non_null(strstr(it_header(&r, "Content-Disposition", NULL) ?: "", "inline"));
	assert_string_equal(it_header(&r, "X-Content-Type-Options", NULL) ?: "", "nosniff");
	assert_non_null(strstr(it_header(&r, "Cache-Control", NULL) ?: "", "no-store"));
	it_resp_free(&r);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 404);
	assert_false(it_has(&r, "IHDR"));
	it_resp_free(&r);
	it_http(&r, "GET", path, NULL, NULL, 0);	/* no session */
	assert_true(r.status != 200);
	assert_false(it_has(&r, "IHDR"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/payments/%lld/proof", pay + 1000000);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);

	/* a PDF proof (the other user's): downloaded, never shown inline */
	pay_send(&b, &r, plan.plan_id, &(struct pay){ b.csrf, tx2, "499.00", "bank_transfer",
	    "receipt.pdf", "application/pdf", pdf, sizeof(pdf) - 1 });
	if (r.status != 303)
		fail_msg("a PDF proof: %ld %.600s", r.status, r.body);
	it_resp_free(&r);
	snprintf(s, sizeof(s), "%lld", ub);
	payb = it_q_ll("SELECT id FROM payments WHERE user_id = $1 AND transaction_id = $2", s,
	    tx2, NULL);
	name = proof_name(payb);
	assert_string_equal(name + 32, ".pdf");
	free(name);
	snprintf(path, sizeof(path), "/payments/%lld/proof", payb);
	ib_proof_is(&b, path, pdf, sizeof(pdf) - 1, "application/pdf", "attachment");
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);

	/* one transaction id sent twice at once (a double click): one taken, one
	 * 409, one row and one file */
	it_rand_hex(tx2, 12);
	before = proof_files();
	{
		pid_t kid[2];
		int got[2], w;

		for (int i = 0; i < 2; i++)
			if ((kid[i] = fork()) == 0) {
				pay_send(&b, &r, plan.plan_id, &(struct pay){ b.csrf, tx2, "499.00",
				    "upi", "twice.png", NULL, png, pn });
				_exit(r.status == 303 ? 3 : r.status == 409 ? 4 : 9);
			}
		for (int i = 0; i < 2; i++) {
			assert_true(kid[i] > 0);
			assert_int_equal(waitpid(kid[i], &w, 0), kid[i]);
			got[i] = WIFEXITED(w) ? WEXITSTATUS(w) : 99;
		}
		if (got[0] + got[1] != 7 || got[0] * got[1] != 12)
			fail_msg("a double submit answered %d and %d (3: 303, 4: 409)", got[0],
			    got[1]);
	}
	assert_int_equal(it_q_ll("SELECT count(*) FROM payments WHERE transaction_id = $1", tx2,
	    NULL), 1);
	assert_int_equal(proof_files(), before + 1);

	/* exactly AC_PROOF_MAX_BYTES is taken */
	big = png_sized(5u * 1024 * 1024);
	it_rand_hex(tx2, 12);
	before = proof_files();
	pay_send(&b, &r, plan.plan_id, &(struct pay){ b.csrf, tx2, "499.00", "upi", "big.png",
	    NULL, big, 5u * 1024 * 1024 });
	if (r.status != 303)
		fail_msg("a proof of exactly 5 MiB: %ld %.600s", r.status, r.body);
	it_resp_free(&r);
	assert_int_equal(proof_files(), before + 1);
	payb = it_q_ll("SELECT id FROM payments WHERE user_id = $1 AND transaction_id = $2", s,
	    tx2, NULL);
	snprintf(path, sizeof(path), "/payments/%lld/proof", payb);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 5u * 1024 * 1024);
	assert_memory_equal(r.body, big, r.len);
	it_resp_free(&r);
	free(big);

	/* the dashboard says the payment is being checked, until it is approved */
	ib_get(&a, &r, "/");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "id=\"pending-payment\""));
	it_resp_free(&r);
	before = balance(ua);
	snprintf(s, sizeof(s), "%lld", pay);
	/* the operator finds the proof where acctl says it is, with the same bytes */
	{
		json_t *o = acctl(0, "payment", "show", s, NULL);
		const char *pp = json_string_value(json_object_get(o, "proof_path"));
		struct stat sb;

		assert_non_null(pp);
		assert_string_equal(json_string_value(json_object_get(o, "status")), "pending");
		assert_int_equal(stat(pp, &sb), 0);
		assert_int_equal(sb.st_size, json_integer_value(json_object_get(o, "proof_bytes")));
		json_decref(o);
	}
	json_decref(acctl(0, "payment", "approve", s, "--by", "it", NULL));
	v = q_str("SELECT p.status || ' ' || s.status FROM payments p JOIN subscriptions s"
	    " ON s.id = p.subscription_id WHERE p.id = $1", s, NULL);
	assert_string_equal(v, "approved active");
	free(v);
	assert_int_equal(balance(ua), before + 100);
	ib_get(&a, &r, "/");
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, "id=\"pending-payment\""));
	it_resp_free(&r);
	ib_get(&a, &r, "/payments");
	assert_true(it_has(&r, "approved"));
	it_resp_free(&r);
}

/* ---- what a review found: the state stays right at the edges ---------------- */

static char *
sub_status(const char *sub)
{
	return q_str("SELECT status || ' ' || coalesce(end_reason, '-') FROM subscriptions"
	    " WHERE stripe_subscription_id = $1", sub, NULL);
}

static void
test_edges(void **state)
{
	char email[128], name[64], price[64], sub[64], cus[64], cs[64], in[64], u[24], pn[64];
	long long uid, plan, t = now_s(), before;
	json_t *ev;
	char *v;

	(void)state;
	setenv("AC_PAST_DUE_GRACE_DAYS", "7", 1);
	rid(price, "price_edge");
	plan = plan_new(price, 10, NULL, name);

	/* 1. a renewal that failed, ended by the grace, then paid: active again */
	uid = user_new("revive", NULL, email);
	snprintf(u, sizeof(u), "%lld", uid);
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, uid, plan), t - 40);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "past_due",
	    t - 9 * 86400, t + 21 * 86400), t - 30);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	PQclear(it_q("UPDATE subscriptions SET past_due_since = now() - interval '8 days'"
	    " WHERE stripe_subscription_id = $1", sub, NULL));
	json_decref(acctl(0, "billing", "sweep", NULL));
	v = sub_status(sub);
	assert_string_equal(v, "expired payment_failed");
	free(v);
	/* the unpaid period is cut at the end: nothing after today is covered */
	assert_int_equal(it_q_ll("SELECT count(*) FROM subscriptions WHERE"
	    " stripe_subscription_id = $1 AND period_end <= now()", sub, NULL), 1);
	rid(in, "in_");
	ev = ev_make("invoice.paid", o_inv(in, sub, cus, price, t - 9 * 86400, t + 21 * 86400, 1,
	    3), t - 10);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "active",
	    t - 9 * 86400, t + 21 * 86400), t - 9);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	v = sub_status(sub);
	assert_string_equal(v, "active -");
	free(v);
	assert_int_equal(it_q_ll("SELECT count(*) FROM subscriptions WHERE"
	    " stripe_subscription_id = $1 AND period_end > now() + interval '20 days'", sub, NULL), 1);

	/* 2. a same-second .created (incomplete) processed after .updated (active)
	 * does not take the subscription back */
	rid(sub, "sub_");
	rid(cs, "cs_test_");
	ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, uid, plan), t - 5);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "active", t - 5,
	    t + 30 * 86400), t - 4);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	ev = ev_make("customer.subscription.created", o_sub(sub, cus, price, "incomplete", t - 5,
	    t + 30 * 86400), t - 4);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	v = sub_status(sub);
	assert_string_equal(v, "active -");
	free(v);
	/* ... and a canceled one stays canceled, whatever comes after */
	ev = ev_make("customer.subscription.deleted", o_sub(sub, cus, price, "canceled", t - 5,
	    t + 30 * 86400), t - 3);
	send_ok(ev);
	json_decref(ev);
	ev = ev_make("customer.subscription.updated", o_sub(sub, cus, price, "active", t - 5,
	    t + 30 * 86400), t - 3);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	v = sub_status(sub);
	assert_string_equal(v, "cancelled cancelled");
	free(v);

	/* 3. a proration invoice (a plan changed mid-period) grants nothing */
	before = balance(uid);
	rid(in, "in_");
	ev = ev_make("invoice.paid", o_inv(in, sub, cus, price, t - 5, t + 30 * 86400, 1, 1),
	    t - 2);
	json_object_set_new(json_object_get(json_object_get(ev, "data"), "object"),
	    "billing_reason", json_string("subscription_update"));
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	assert_int_equal(balance(uid), before);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE idempotency_key ="
	    " 'invoice:' || $1", in, NULL), 0);

	/* 4. a fifth active subscription by card keeps taking Stripe's events,
	 * and a sixth is kept pending with its credits, never lost */
	uid = user_new("five", NULL, email);
	snprintf(u, sizeof(u), "%lld", uid);
	for (int i = 0; i < 4; i++) {
		long long p = plan_new(NULL, 1, NULL, pn);

		(void)p;
		json_decref(acctl(0, "subscribe", "--email", email, "--plan", pn, NULL));
	}
	for (int k = 0; k < 2; k++) {
		rid(sub, "sub_");
		rid(cus, "cus_");
		rid(cs, "cs_test_");
		rid(in, "in_");
		before = balance(uid);
		ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, uid, plan), t - 3);
		send_ok(ev);
		json_decref(ev);
		ev = ev_make("customer.subscription.created", o_sub(sub, cus, price, "active", t - 3,
		    t + 30 * 86400), t - 2);
		send_ok(ev);
		json_decref(ev);
		ev = ev_make("invoice.paid", o_inv(in, sub, cus, price, t - 3, t + 30 * 86400, 1, 1),
		    t - 1);
		send_ok(ev);
		json_decref(ev);
		drain_stripe();
		v = sub_status(sub);
		assert_string_equal(v, k == 0 ? "active -" : "pending -");
		free(v);
		assert_int_equal(balance(uid), before + 10);
	}
	assert_int_equal(it_q_ll("SELECT count(*) FROM subscriptions WHERE user_id = $1"
	    " AND status = 'active'", u, NULL), 5);

	/* 5. the plan's strategy limit holds in the database too */
	{
		char pname[64], sid2[24];
		struct it_strategy s1, s2;
		long long lim;
		PGresult *res;

		it_strategy_new(&s1, "1h", NULL);
		it_strategy_new(&s2, "4h", NULL);
		snprintf(sid2, sizeof(sid2), "%lld,%lld", s1.id, s2.id);
		json_decref(acctl(0, "plan", "add", "--name", (snprintf(pname, sizeof(pname),
		    "One %lld", s1.id), pname), "--price-cents", "100", "--currency", "INR",
		    "--months", "1", "--credits", "1", "--strategies", sid2, "--max-strategies", "1",
		    NULL));
		uid = user_new("limit", NULL, email);
		snprintf(u, sizeof(u), "%lld", uid);
		json_decref(acctl(0, "subscribe", "--email", email, "--plan", pname, NULL));
		snprintf(sid2, sizeof(sid2), "%lld", s1.id);
		PQclear(it_q("INSERT INTO alarms (user_id, strategy_id) VALUES ($1, $2)", u, sid2,
		    NULL));
		snprintf(sid2, sizeof(sid2), "%lld", s2.id);
		{
			const char *pv[2] = { u, sid2 };

			res = PQexecParams(it_db(), "INSERT INTO alarms (user_id, strategy_id)"
			    " VALUES ($1, $2)", 2, NULL, pv, NULL, NULL, 0);
		}
		assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
		assert_non_null(strstr(PQresultErrorMessage(res), "strategy_limit"));
		PQclear(res);
		lim = it_q_ll("SELECT count(*) FROM alarms WHERE user_id = $1", u, NULL);
		assert_int_equal(lim, 1);
	}
}

/* ---- Stripe's newer shapes (API 2025-03-31 and later) ---------------------- */

/* The period on the subscription's item, not the subscription; the
 * invoice's subscription under parent.subscription_details and its price
 * under the line's pricing.price_details: the same end state as the
 * classic shapes. */
static void
test_newer_shapes(void **state)
{
	char email[128], name[64], price[64], sub[64], cus[64], cs[64], in[64], key[80];
	long long uid, plan, t = now_s(), pe = now_s() + 30 * 86400;
	json_t *obj, *ev;
	char *v;

	(void)state;
	rid(price, "price_new");
	plan = plan_new(price, 8, NULL, name);
	uid = user_new("newshape", NULL, email);
	rid(sub, "sub_");
	rid(cus, "cus_");
	rid(cs, "cs_test_");
	rid(in, "in_");
	ev = ev_make("checkout.session.completed", o_checkout(cs, sub, cus, uid, 0), t - 30);
	send_ok(ev);
	json_decref(ev);
	/* the subscription: no current_period_* of its own, only on its item */
	obj = json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:s, s:[{s:s, s:s, s:{s:s, s:s}, s:i,"
	    " s:I, s:I}]}}", "id", sub, "object", "subscription", "customer", cus, "status",
	    "active", "cancel_at_period_end", 0, "items", "object", "list", "data", "id", "si_new",
	    "object", "subscription_item", "price", "id", price, "object", "price", "quantity", 1,
	    "current_period_start", (json_int_t)(t - 30), "current_period_end", (json_int_t)pe);
	ev = ev_make("customer.subscription.created", obj, t - 29);
	send_ok(ev);
	json_decref(ev);
	/* the invoice: parent.subscription_details.subscription, pricing.price_details.price */
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:{s:s, s:{s:s}},"
	    " s:{s:s, s:[{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:I, s:I}, s:I}]}}",
	    "id", in, "object", "invoice", "customer", cus, "status", "paid", "billing_reason",
	    "subscription_create", "amount_paid", (json_int_t)49900, "currency", "inr",
	    "attempt_count", 1, "parent", "type", "subscription_details", "subscription_details",
	    "subscription", sub, "lines", "object", "list", "data", "id", "il_new", "object",
	    "line_item", "pricing", "type", "price_details", "price_details", "price", price,
	    "period", "start", (json_int_t)(t - 30), "end", (json_int_t)pe, "amount",
	    (json_int_t)49900);
	ev = ev_make("invoice.paid", obj, t - 28);
	send_ok(ev);
	json_decref(ev);
	drain_stripe();
	v = q_str("SELECT status || ' ' || plan_id || ' ' || (abs(extract(epoch FROM period_end)"
	    " - $2::bigint) < 2) FROM subscriptions WHERE stripe_subscription_id = $1", sub,
	    (snprintf(key, sizeof(key), "%lld", pe), key));
	{
		char want[64];

		snprintf(want, sizeof(want), "active %lld true", plan);
		assert_string_equal(v, want);
	}
	free(v);
	assert_int_equal(balance(uid), 8);
	snprintf(key, sizeof(key), "invoice:%s", in);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE idempotency_key = $1",
	    key, NULL), 1);
	v = q_str("SELECT price_id FROM stripe_invoices WHERE id = $1", in, NULL);
	assert_string_equal(v, price);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_checkout_api),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_manual_payments),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_payment_failed),
		cmocka_unit_test(test_randomized),
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_newer_shapes),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	if (getenv("IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("IT_ONLY"));
	srandom((unsigned)(time(NULL) ^ getpid()));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
