/* checkout.c — the responders' calls to Stripe's API (stripe.h): the
 * Checkout and Billing Portal sessions a subscriber is sent to, and what
 * the page after paying shows. The one outside call a page makes while a
 * person waits, bounded by AC_STRIPE_TIMEOUT_MS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/log.h"
#include "billing/stripe.h"

#define CHECKOUT_REUSE_S 600	/* one Idempotency-Key per user, plan and ten minutes */

/* ---- Stripe's API -------------------------------------------------------------- */

#define ANSWER_MAX	(1024 * 1024)	/* a Stripe answer is a few KB */

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct ac_buf *b = arg;

	if (b->len + size * n > ANSWER_MAX)
		return 0;	/* curl stops: CURLE_WRITE_ERROR */
	ac_buf_add(b, p, size * n);
	return size * n;
}

/* 1 if url may be sent to a browser as Stripe's page: https (http only
 * when the API itself is plain http on loopback: the dev and test fake),
 * no control characters or spaces. */
static int
url_ok(const struct ac_stripe_api *api, const char *url)
{
	int local = strncmp(api->base, "http://127.0.0.1", 16) == 0 ||
	    strncmp(api->base, "http://localhost", 16) == 0;

	if (url == NULL || strlen(url) > 2048)
		return 0;
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return strncmp(url, "https://", 8) == 0 || (local && strncmp(url, "http://", 7) == 0);
}

/* "&name=value" with value form-encoded. */
static void
form_add(struct ac_buf *b, CURL *c, const char *name, const char *value)
{
	char *v = curl_easy_escape(c, value, 0);

	if (v == NULL)
		abort();
	ac_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v);
	curl_free(v);
}

/*
 * POSTs form (name, value pairs, NULL-terminated) to path on Stripe's
 * API with the secret key and idem (may be NULL) as Idempotency-Key. The
 * answer's object (caller decrefs), or NULL with e: AC_E_UNAVAILABLE
 * (timeout, connection, 5xx, 429), AC_E_UNPROCESSABLE (Stripe refused the
 * request: its message).
 */
static json_t *
api_post(const struct ac_stripe_api *api, const char *path, const char *const *form,
    const char *idem, struct ac_err *e)
{
	char url[1024], auth[512], ih[300], cerr[CURL_ERROR_SIZE] = "";
	struct ac_buf body = AC_BUF_INIT, out = AC_BUF_INIT;
	struct curl_slist *h = NULL;
	json_t *o = NULL;
	long status = 0;
	CURLcode cc;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		abort();
	for (size_t i = 0; form[i] != NULL; i += 2)
		form_add(&body, c, form[i], form[i + 1]);
	snprintf(url, sizeof(url), "%s%s", api->base, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api->secret_key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
	h = curl_slist_append(h, "Stripe-Version: 2024-06-20");
	if (idem != NULL) {
		snprintf(ih, sizeof(ih), "Idempotency-Key: %s", idem);
		h = curl_slist_append(h, ih);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p ? body.p : "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)api->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "alertcast");
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	ac_buf_free(&body);
	if (cc != CURLE_OK) {
		/* the key is in a header, never in what is said */
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "Stripe did not answer (%s)",
		    cc == CURLE_OPERATION_TIMEDOUT ? "timed out" : cerr[0] ? cerr :
		    curl_easy_strerror(cc));
		ac_warn("stripe %s: %s", path, e ? e->message : "no answer");
	} else if ((o = json_loadb(out.p ? out.p : "", out.len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		o = NULL;
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "Stripe answered %ld without JSON", status);
		ac_warn("stripe %s: %ld, not JSON", path, status);
	} else if (status < 200 || status > 299) {
		json_t *err = json_object_get(o, "error");
		const char *msg = json_string_value(json_object_get(err, "message"));
		const char *code = json_string_value(json_object_get(err, "code"));
		const char *param = json_string_value(json_object_get(err, "param"));

		/* Stripe's words go to the log; a person is told it did not work */
		ac_err_set(e, status >= 500 || status == 429 ? AC_E_UNAVAILABLE :
		    AC_E_UNPROCESSABLE, code && param && strcmp(code, "resource_missing") == 0 &&
		    strcmp(param, "customer") == 0 ? "customer" : NULL,
		    "the payment provider refused the request; nothing was charged (we have"
		    " logged why)");
		ac_warn("stripe %s: %ld %s (%s)", path, status, msg ? msg : "", code ? code : "");
		json_decref(o);
		o = NULL;
	}
	ac_buf_free(&out);
	return o;
}

static int
configured(const struct ac_stripe_api *api, struct ac_err *e)
{
	if (api->secret_key == NULL || *api->secret_key == '\0' || api->base == NULL)
		return ac_err_set(e, AC_E_UNPROCESSABLE, NULL,
		    "card payments are not set up here; pay by UPI or bank transfer");
	return 0;
}

/* What a checkout needs: the plan's price and the buyer. */
static const struct ac_stmt st_checkout_what = { "stripe_checkout_what",
	"SELECT p.stripe_price_id, u.email, u.stripe_customer_id,"
	" (SELECT count(*) FROM subscriptions s WHERE s.user_id = u.id AND s.status = 'active')"
	" FROM plans p, users u WHERE p.id = $2 AND p.status = 'active' AND u.id = $1", 2 };

static const struct ac_stmt st_checkout_record = { "stripe_checkout_record",
	"INSERT INTO checkout_sessions (id, user_id, plan_id, idempotency_key, url)"
	" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING", 5 };

char *
ac_stripe_checkout(struct ac_db *db, const struct ac_stripe_api *api, long long user_id,
    long long plan_id, struct ac_err *e)
{
	char uid[24], pid[24], idem[128], success[1100], cancel[1100];
	const char *vals[5] = { uid, pid };
	const char *form[24];
	const char *id, *url;
	PGresult *res;
	json_t *o;
	char *out;
	size_t n = 0;

	if (configured(api, e) == -1)
		return NULL;
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(pid, sizeof(pid), "%lld", plan_id);
	res = ac_db_exec(db, &st_checkout_what, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "plan_id", "no such plan on offer");
		return NULL;
	}
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		ac_err_set(e, AC_E_UNPROCESSABLE, "plan_id",
		    "this plan cannot be bought by card; pay by UPI or bank transfer");
		return NULL;
	}
	if (strtoll(PQgetvalue(res, 0, 3), NULL, 10) >= 5) {
		PQclear(res);
		ac_err_set(e, AC_E_UNPROCESSABLE, "plan_id",
		    "you already have 5 active subscriptions, the most there can be");
		return NULL;
	}
	snprintf(idem, sizeof(idem), "checkout-%lld-%lld-%lld", user_id, plan_id,
	    (long long)time(NULL) / CHECKOUT_REUSE_S);
	snprintf(success, sizeof(success), "%s/billing/done?session={CHECKOUT_SESSION_ID}",
	    api->site);
	snprintf(cancel, sizeof(cancel), "%s/plans?done=checkout_cancelled", api->site);
	form[n++] = "mode"; form[n++] = "subscription";
	form[n++] = "line_items[0][price]"; form[n++] = PQgetvalue(res, 0, 0);
	form[n++] = "line_items[0][quantity]"; form[n++] = "1";
	form[n++] = "success_url"; form[n++] = success;
	form[n++] = "cancel_url"; form[n++] = cancel;
	form[n++] = "client_reference_id"; form[n++] = uid;
	form[n++] = "metadata[user_id]"; form[n++] = uid;
	form[n++] = "metadata[plan_id]"; form[n++] = pid;
	form[n++] = "subscription_data[metadata][user_id]"; form[n++] = uid;
	if (!PQgetisnull(res, 0, 2)) {
		form[n++] = "customer"; form[n++] = PQgetvalue(res, 0, 2);
	} else {
		form[n++] = "customer_email"; form[n++] = PQgetvalue(res, 0, 1);
	}
	form[n] = NULL;
	o = api_post(api, "/v1/checkout/sessions", form, idem, e);
	if (o == NULL && e != NULL && e->field != NULL && strcmp(e->field, "customer") == 0 &&
	    !PQgetisnull(res, 0, 2)) {
		/* a customer Stripe no longer knows (deleted, or another mode's):
		 * check out as a new one, who is linked again when it completes */
		ac_warn("stripe checkout for user %lld: %s; again without the customer",
		    user_id, e->message);
		form[n - 2] = "customer_email";
		form[n - 1] = PQgetvalue(res, 0, 1);
		strncat(idem, "-e", sizeof(idem) - strlen(idem) - 1);
		o = api_post(api, "/v1/checkout/sessions", form, idem, e);
	}
	PQclear(res);
	if (o == NULL)
		return NULL;
	id = json_string_value(json_object_get(o, "id"));
	url = json_string_value(json_object_get(o, "url"));
	if (!ac_stripe_id_ok(id, "cs_") || !url_ok(api, url)) {
		json_decref(o);
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "Stripe's answer has no session id and url");
		return NULL;
	}
	vals[0] = id;
	vals[1] = uid;
	vals[2] = pid;
	vals[3] = idem;
	vals[4] = url;
	if (ac_db_command(db, &st_checkout_record, vals) == -1) {
		json_decref(o);
		ac_db_err(db, e);
		return NULL;
	}
	out = strdup(url);
	json_decref(o);
	if (out == NULL)
		abort();
	return out;
}

static const struct ac_stmt st_customer = { "stripe_customer",
	"SELECT stripe_customer_id FROM users WHERE id = $1 AND stripe_customer_id IS NOT NULL", 1 };

int
ac_stripe_is_customer(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };
	PGresult *res;
	int n;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_customer, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return 0;
	n = PQntuples(res);
	PQclear(res);
	return n > 0;
}

char *
ac_stripe_portal(struct ac_db *db, const struct ac_stripe_api *api, long long user_id,
    const char *return_path, struct ac_err *e)
{
	char uid[24], ret[1100];
	const char *vals[1] = { uid };
	const char *form[5];
	const char *url;
	PGresult *res;
	json_t *o;
	char *out;

	if (configured(api, e) == -1)
		return NULL;
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_customer, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, NULL, "you have no card subscription to manage");
		return NULL;
	}
	snprintf(ret, sizeof(ret), "%s%s", api->site, return_path);
	form[0] = "customer";
	form[1] = PQgetvalue(res, 0, 0);
	form[2] = "return_url";
	form[3] = ret;
	form[4] = NULL;
	o = api_post(api, "/v1/billing_portal/sessions", form, NULL, e);
	PQclear(res);
	if (o == NULL)
		return NULL;
	if (!url_ok(api, url = json_string_value(json_object_get(o, "url")))) {
		json_decref(o);
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "Stripe's answer has no usable url");
		return NULL;
	}
	if ((out = strdup(url)) == NULL)
		abort();
	json_decref(o);
	return out;
}

static const struct ac_stmt st_checkout_status = { "stripe_checkout_status",
	"SELECT json_build_object('session', c.id, 'completed', c.completed_at IS NOT NULL,"
	" 'plan', p.name, 'credits', p.credits_per_period, 'balance', u.credit_balance,"
	" 'status', s.status, 'active', s.status = 'active',"
	" 'period_end', to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD'),"
	" 'granted', EXISTS (SELECT 1 FROM stripe_invoices i WHERE i.stripe_subscription_id"
	"  = c.stripe_subscription_id AND i.granted_at IS NOT NULL))"
	" FROM checkout_sessions c JOIN plans p ON p.id = c.plan_id JOIN users u ON u.id = c.user_id"
	" LEFT JOIN subscriptions s ON s.stripe_subscription_id = c.stripe_subscription_id"
	" WHERE c.id = $2 AND c.user_id = $1", 2 };

json_t *
ac_stripe_checkout_status(struct ac_db *db, long long user_id, const char *session,
    struct ac_err *e)
{
	char uid[24];
	const char *vals[2] = { uid, session };
	json_t *o;
	int found;

	if (!ac_stripe_id_ok(session, "cs_")) {
		ac_err_set(e, AC_E_NOT_FOUND, NULL, "no such checkout");
		return NULL;
	}
	snprintf(uid, sizeof(uid), "%lld", user_id);
	if ((o = ac_db_json(db, &st_checkout_status, vals, &found)) == NULL) {
		if (found)
			ac_db_err(db, e);
		else
			ac_err_set(e, AC_E_NOT_FOUND, NULL, "no such checkout");
	}
	return o;
}

