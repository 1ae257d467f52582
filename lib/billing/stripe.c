/* stripe.c — see stripe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "account/notify.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/queue.h"
#include "billing/lifecycle.h"
#include "billing/stripe.h"

#define EVENT_ATTEMPTS	25	/* a stripe_event job: about a day of backoff */

/* ---- storing an event ------------------------------------------------------ */

/* The event once, its job with it; a copy counts itself and queues nothing. */
static const struct ac_stmt st_event_store = { "stripe_event_store",
	"WITH ev AS (INSERT INTO stripe_events (id, type, created, payload)"
	"  VALUES ($1, $2, to_timestamp($3::bigint), $4::jsonb)"
	"  ON CONFLICT (id) DO UPDATE SET deliveries = stripe_events.deliveries + 1"
	"  RETURNING (xmax = 0) AS fresh),"
	" j AS (" AC_SQL_JOBS_INSERT(", max_attempts")
	"  SELECT 'stripe_event', jsonb_build_object('event_id', $1::text), 'stripe:' || $1,"
	"  now(), $5::int FROM ev WHERE fresh ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
	" SELECT (SELECT fresh FROM ev), (SELECT count(*) FROM j),"
	" CASE WHEN $6::boolean THEN pg_notify('ac_jobs', 'stripe_event') END", 6 };

int
ac_stripe_id_ok(const char *s, const char *prefix)
{
	size_t n = strlen(prefix), len;

	if (s == NULL || strncmp(s, prefix, n) != 0)
		return 0;
	len = strlen(s);
	return len > n && len <= 250 && strspn(s + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_") == len - n;
}

int
ac_stripe_event_store(struct ac_db *db, const void *body, size_t len, int notify, char *id,
    size_t idsz, struct ac_err *e)
{
	json_t *ev = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *eid = json_string_value(json_object_get(ev, "id"));
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *created = json_object_get(ev, "created");
	char cr[24], maxa[8], *text;
	const char *vals[6] = { eid, type, cr, NULL, maxa, notify ? "true" : "false" };
	PGresult *res;
	int fresh;

	if (idsz > 0)
		id[0] = '\0';
	if (ev == NULL || !json_is_object(ev)) {
		json_decref(ev);
		return ac_err_set(e, AC_E_INVALID, NULL, "the body is not a JSON object");
	}
	if (!ac_stripe_id_ok(eid, "evt_")) {
		json_decref(ev);
		return ac_err_set(e, AC_E_INVALID, "id", "the event has no id like evt_...");
	}
	snprintf(id, idsz, "%s", eid);
	if (type == NULL || *type == '\0' || strlen(type) > 100 || !json_is_integer(created) ||
	    json_integer_value(created) <= 0 ||
	    !json_is_object(json_object_get(json_object_get(ev, "data"), "object"))) {
		json_decref(ev);
		return ac_err_set(e, AC_E_INVALID, type == NULL ? "type" : "data",
		    "the event has no type, created time or data.object");
	}
	snprintf(cr, sizeof(cr), "%" JSON_INTEGER_FORMAT, json_integer_value(created));
	snprintf(maxa, sizeof(maxa), "%d", EVENT_ATTEMPTS);
	/* the body as sent: jsonb keeps what Stripe said, not our re-encoding */
	if ((text = malloc(len + 1)) == NULL)
		abort();
	memcpy(text, body, len);
	text[len] = '\0';
	vals[3] = text;
	res = ac_db_exec(db, &st_event_store, vals, NULL, NULL);
	free(text);
	json_decref(ev);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	fresh = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return fresh;
}

/* ---- processing an event (the worker) ------------------------------------------- */

/* Stripe's events are folded one transaction at a time across workers: a
 * worker's transaction may hold several events (the runner's groups),
 * whose subscriptions two workers would otherwise lock in opposite orders
 * and deadlock (each costing the deadlock timeout). Billing events are a
 * trickle beside alerts; one at a time costs nothing. */
static const struct ac_stmt st_event_serial = { "stripe_event_serial",
	"SELECT pg_advisory_xact_lock(hashtext('alertcast:stripe_events'))", 0 };

static const struct ac_stmt st_event_load = { "stripe_event_load",
	"SELECT type, extract(epoch FROM created)::bigint, payload::text, status"
	" FROM stripe_events WHERE id = $1 FOR UPDATE", 1 };

static const struct ac_stmt st_event_done = { "stripe_event_done",
	"UPDATE stripe_events SET status = $2, error = $3, processed_at = now() WHERE id = $1", 3 };

/* The subscription's row, made if missing, and locked: every event of one
 * subscription is processed one at a time, in whatever order. */
static const struct ac_stmt st_sub_lock = { "stripe_sub_lock",
	"INSERT INTO stripe_subscriptions (id, customer) VALUES ($1, $2)"
	" ON CONFLICT (id) DO NOTHING", 2 };
static const struct ac_stmt st_sub_lock2 = { "stripe_sub_lock2",
	"SELECT m.user_id, coalesce((SELECT p.name FROM subscriptions s JOIN plans p"
	"  ON p.id = s.plan_id WHERE s.stripe_subscription_id = m.id), '')"
	" FROM stripe_subscriptions m WHERE m.id = $1 FOR UPDATE", 1 };

/* A customer.subscription.* event: what it says wins if it is the newest
 * by Stripe's created (whole seconds). A canceled or expired-incomplete
 * subscription is over for good in Stripe, so nothing replaces that; in a
 * tie, the .created event and an "incomplete" never win. */
static const struct ac_stmt st_sub_state = { "stripe_sub_state",
	"UPDATE stripe_subscriptions SET customer = coalesce($2, customer),"
	" price_id = coalesce($3, price_id), status = $4, status_at = to_timestamp($5::bigint),"
	" period_start = coalesce(to_timestamp($6::bigint), period_start),"
	" period_end = coalesce(to_timestamp($7::bigint), period_end),"
	" cancel_at_period_end = $8::boolean, ended_at = to_timestamp($9::bigint), updated_at = now()"
	" WHERE id = $1 AND coalesce(status, '') NOT IN ('canceled', 'incomplete_expired')"
	" AND (status_at IS NULL OR status_at < to_timestamp($5::bigint)"
	"  OR status_at = to_timestamp($5::bigint) AND NOT $10::boolean"
	"  AND $4 NOT IN ('incomplete', 'incomplete_expired'))", 10 };

/* checkout.session.completed: whose the subscription is. */
static const struct ac_stmt st_checkout_find = { "stripe_checkout_find",
	"SELECT c.user_id, c.plan_id FROM checkout_sessions c WHERE c.id = $1"
	" UNION ALL SELECT u.id, p.id FROM users u LEFT JOIN plans p ON p.id = $3::bigint"
	"  WHERE u.id = $2::bigint AND NOT EXISTS (SELECT 1 FROM checkout_sessions WHERE id = $1)", 3 };
static const struct ac_stmt st_sub_link = { "stripe_sub_link",
	"UPDATE stripe_subscriptions SET user_id = $2, plan_id = $3, checkout_session = $4,"
	" customer = coalesce(customer, $5), updated_at = now()"
	" WHERE id = $1 AND (user_id IS NULL OR user_id = $2) RETURNING 1", 5 };
static const struct ac_stmt st_checkout_done = { "stripe_checkout_done",
	"WITH c AS (UPDATE checkout_sessions SET completed_at = coalesce(completed_at, now()),"
	"  stripe_subscription_id = $2 WHERE id = $1)"
	" UPDATE users SET stripe_customer_id = $4 WHERE id = $3"
	"  AND stripe_customer_id IS DISTINCT FROM $4 AND $4::text IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM users o WHERE o.stripe_customer_id = $4)", 4 };

/* An invoice: a paid one stays paid whatever comes after. */
static const struct ac_stmt st_invoice = { "stripe_invoice",
	"INSERT INTO stripe_invoices AS i (id, stripe_subscription_id, customer, price_id,"
	"  period_start, period_end, amount_paid, currency, attempt_count, status, status_at,"
	"  billing_reason)"
	" VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), to_timestamp($6::bigint), $7::bigint,"
	"  $8, $9::int, $10, to_timestamp($11::bigint), $12)"
	" ON CONFLICT (id) DO UPDATE SET price_id = coalesce(i.price_id, EXCLUDED.price_id),"
	"  billing_reason = coalesce(i.billing_reason, EXCLUDED.billing_reason),"
	"  period_start = coalesce(i.period_start, EXCLUDED.period_start),"
	"  period_end = coalesce(i.period_end, EXCLUDED.period_end),"
	"  amount_paid = CASE WHEN EXCLUDED.status = 'paid' THEN EXCLUDED.amount_paid"
	"   ELSE i.amount_paid END,"
	"  attempt_count = greatest(i.attempt_count, EXCLUDED.attempt_count),"
	"  status = CASE WHEN i.status = 'paid' OR EXCLUDED.status = 'paid' THEN 'paid'"
	"   ELSE 'failed' END,"
	"  status_at = greatest(i.status_at, EXCLUDED.status_at)"
	" RETURNING status", 12 };

/* Before any customer.subscription.* event, a paid invoice stands for the
 * subscription's period (never its status_at: any subscription event wins). */
static const struct ac_stmt st_sub_from_invoice = { "stripe_sub_from_invoice",
	"UPDATE stripe_subscriptions SET price_id = coalesce(price_id, $2),"
	" period_start = CASE WHEN status_at IS NULL AND ($4::bigint IS NOT NULL)"
	"  AND (period_end IS NULL OR period_end < to_timestamp($4::bigint))"
	"  THEN to_timestamp($3::bigint) ELSE period_start END,"
	" period_end = CASE WHEN status_at IS NULL AND ($4::bigint IS NOT NULL)"
	"  AND (period_end IS NULL OR period_end < to_timestamp($4::bigint))"
	"  THEN to_timestamp($4::bigint) ELSE period_end END,"
	" status = CASE WHEN status_at IS NULL THEN 'active' ELSE status END,"
	" updated_at = now() WHERE id = $1", 4 };

/*
 * The user's subscription from Stripe's picture ($1 the Stripe id).
 * Nothing until a checkout named the user. The plan is
 * the one whose price Stripe names (else the latest paid invoice's, else
 * the checkout's). A subscription the lifecycle ended stays ended (its
 * unpaid period clipped) until Stripe says it is active again: paid after
 * a failed renewal, or renewed past the end it had. Beyond five active
 * subscriptions a paid one is kept pending (its credits still granted)
 * for an operator, never refused.
 */
static const struct ac_stmt st_sync = { "stripe_sync",
	"WITH m AS (SELECT m.*, coalesce(pp.id, ip.id, m.plan_id) AS plan,"
	"  coalesce(pp.duration_months, ip.duration_months, cp.duration_months) AS months,"
	"  coalesce(pp.duration_days, ip.duration_days, cp.duration_days) AS days,"
	"  (SELECT i.period_start FROM stripe_invoices i WHERE i.stripe_subscription_id = m.id"
	"   AND i.status = 'paid' ORDER BY i.period_end DESC NULLS LAST LIMIT 1) AS inv_start,"
	"  (SELECT i.period_end FROM stripe_invoices i WHERE i.stripe_subscription_id = m.id"
	"   AND i.status = 'paid' ORDER BY i.period_end DESC NULLS LAST LIMIT 1) AS inv_end"
	"  FROM stripe_subscriptions m"
	"  LEFT JOIN plans pp ON pp.stripe_price_id = m.price_id"
	"  LEFT JOIN LATERAL (SELECT p.* FROM stripe_invoices i JOIN plans p"
	"   ON p.stripe_price_id = i.price_id WHERE i.stripe_subscription_id = m.id"
	"   AND i.status = 'paid' ORDER BY i.period_end DESC NULLS LAST LIMIT 1) ip ON true"
	"  LEFT JOIN plans cp ON cp.id = m.plan_id"
	"  WHERE m.id = $1 AND m.user_id IS NOT NULL),"
	" v AS (SELECT m.*,"
	"  CASE WHEN m.status IN ('active', 'trialing') THEN CASE WHEN (SELECT count(*)"
	"   FROM subscriptions o WHERE o.user_id = m.user_id AND o.status = 'active'"
	"   AND o.stripe_subscription_id IS DISTINCT FROM m.id) >= 5 THEN 'pending'"
	"   ELSE 'active' END"
	"   WHEN m.status IN ('past_due', 'unpaid') THEN 'past_due'"
	"   WHEN m.status = 'canceled' THEN 'cancelled'"
	"   WHEN m.status = 'incomplete_expired' THEN 'expired'"
	"   ELSE 'pending' END AS st,"
	"  coalesce(m.period_start, m.inv_start, now()) AS ps,"
	"  coalesce(m.period_end, m.inv_end, now() + make_interval(months => m.months,"
	"   days => m.days)) AS pe FROM m WHERE m.plan IS NOT NULL),"
	" w AS (SELECT v.*, CASE WHEN v.st = 'cancelled' THEN greatest(least(v.pe,"
	"  coalesce(v.ended_at, now())), v.ps + interval '1 second')"
	"  WHEN v.pe > v.ps THEN v.pe ELSE v.ps + interval '1 second' END AS pe2 FROM v)"
	" INSERT INTO subscriptions AS s (user_id, plan_id, status, period_start, period_end,"
	"  auto_renew, provider, stripe_customer_id, stripe_subscription_id, past_due_since,"
	"  ended_at, end_reason)"
	" SELECT w.user_id, w.plan, w.st, w.ps, w.pe2, w.st IN ('active', 'past_due')"
	"  AND NOT w.cancel_at_period_end, 'stripe', w.customer, w.id,"
	"  CASE WHEN w.st = 'past_due' THEN now() END,"
	"  CASE WHEN w.st = 'cancelled' THEN coalesce(w.ended_at, now()) END,"
	"  CASE w.st WHEN 'cancelled' THEN 'cancelled' WHEN 'expired' THEN 'payment_failed' END"
	"  FROM w"
	" ON CONFLICT (stripe_subscription_id) DO UPDATE SET plan_id = EXCLUDED.plan_id,"
	"  status = CASE WHEN s.status = 'expired' AND NOT (EXCLUDED.status = 'active'"
	"   AND (s.end_reason = 'payment_failed' OR EXCLUDED.period_end > s.period_end))"
	"   THEN 'expired' ELSE EXCLUDED.status END,"
	"  period_start = CASE WHEN s.status = 'expired' AND NOT (EXCLUDED.status = 'active'"
	"   AND (s.end_reason = 'payment_failed' OR EXCLUDED.period_end > s.period_end))"
	"   THEN s.period_start ELSE EXCLUDED.period_start END,"
	"  period_end = CASE WHEN s.status = 'expired' AND NOT (EXCLUDED.status = 'active'"
	"   AND (s.end_reason = 'payment_failed' OR EXCLUDED.period_end > s.period_end))"
	"   THEN s.period_end ELSE EXCLUDED.period_end END,"
	"  auto_renew = EXCLUDED.auto_renew, stripe_customer_id = EXCLUDED.stripe_customer_id,"
	"  past_due_since = CASE WHEN EXCLUDED.status = 'past_due'"
	"   THEN coalesce(s.past_due_since, now()) END,"
	"  ended_at = EXCLUDED.ended_at,"
	"  end_reason = CASE WHEN s.status = 'expired' AND NOT (EXCLUDED.status = 'active'"
	"   AND (s.end_reason = 'payment_failed' OR EXCLUDED.period_end > s.period_end))"
	"   THEN s.end_reason ELSE EXCLUDED.end_reason END,"
	"  updated_at = now()"
	" RETURNING s.id, s.user_id, s.status", 1 };

/* Does a plan exist for the subscription, once it is linked? */
static const struct ac_stmt st_sync_plan = { "stripe_sync_plan",
	"SELECT m.user_id IS NOT NULL, coalesce(x.price, ''),"
	" EXISTS (SELECT 1 FROM plans p WHERE p.stripe_price_id = x.price)"
	" FROM stripe_subscriptions m, LATERAL (SELECT coalesce(m.price_id, (SELECT i.price_id"
	"  FROM stripe_invoices i WHERE i.stripe_subscription_id = m.id"
	"  ORDER BY i.period_end DESC NULLS LAST LIMIT 1)) AS price) x WHERE m.id = $1", 1 };

/* Every paid invoice not yet granted: its plan's credits, once. The plan
 * is the invoice's price's, else the subscription's. A proration invoice
 * (a plan changed mid-period: billing_reason subscription_update) is paid
 * for the change, not for a period: it grants nothing. */
static const struct ac_stmt st_grant = { "stripe_grant",
	"WITH g AS (UPDATE stripe_invoices i SET credits = CASE WHEN i.billing_reason ="
	"  'subscription_update' THEN 0 ELSE coalesce((SELECT p.credits_per_period"
	"  FROM plans p WHERE p.stripe_price_id = i.price_id), (SELECT p.credits_per_period"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id"
	"  WHERE s.stripe_subscription_id = i.stripe_subscription_id), 0) END, granted_at = now()"
	"  WHERE i.stripe_subscription_id = $1 AND i.status = 'paid' AND i.granted_at IS NULL"
	"  RETURNING i.id, i.credits)"
	" INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	" SELECT $2::bigint, g.credits, 'purchase', 'invoice:' || g.id, 'invoice:' || g.id"
	" FROM g WHERE g.credits > 0 ORDER BY g.id"
	" ON CONFLICT (idempotency_key) DO NOTHING", 2 };

/* Folds the locked Stripe subscription id into the user's, and grants. */
static int
sync(struct ac_db *db, const char *id, struct ac_err *e)
{
	const char *vals[2] = { id, NULL };
	PGresult *res;
	int linked, priced;
	char price[256];

	res = ac_db_exec(db, &st_sync_plan, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	linked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	snprintf(price, sizeof(price), "%s", PQntuples(res) ? PQgetvalue(res, 0, 1) : "");
	priced = PQntuples(res) == 1 && PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	if (!linked)
		return 0;	/* the checkout will say whose it is */
	res = ac_db_exec(db, &st_sync, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	if (PQntuples(res) == 0) {
		PQclear(res);
		/*
		 * No plan yet, though one may come: the checkout named none and
		 * no price was heard of yet, or the only price heard of is a
		 * failed invoice's (only paid ones and the subscription's own
		 * events choose the plan) and a plan has it. The subscription's
		 * or a paid invoice's event will fold it.
		 */
		if (*price == '\0' || priced)
			return 0;
		return ac_err_set(e, AC_E_UNPROCESSABLE, NULL,
		    "no plan has the Stripe price %s (acctl plan add ... --stripe-price-id %s)",
		    *price ? price : "(none)", *price ? price : "ID");
	}
	vals[1] = PQgetvalue(res, 0, 1);
	if (ac_db_command(db, &st_grant, vals) == -1) {
		PQclear(res);
		return ac_db_err(db, e);
	}
	PQclear(res);
	return 0;
}

/* An id that may come as a string or as an expanded object. */
static const char *
ref_id(json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "id");
	return json_string_value(v);
}

/* An integer field as text ("" → NULL for SQL), into buf. */
static const char *
int_text(json_t *v, char *buf, size_t n)
{
	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

static int
lock_sub(struct ac_db *db, const char *sub, const char *customer, struct ac_err *e)
{
	const char *vals[2] = { sub, customer };
	PGresult *res;

	if (ac_db_command(db, &st_sub_lock, vals) == -1)
		return ac_db_err(db, e);
	res = ac_db_exec(db, &st_sub_lock2, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	PQclear(res);
	return 0;
}

/* customer.subscription.created / .updated / .deleted */
static int
on_subscription(struct ac_db *db, json_t *o, long long created, int deleted,
    int created_event, const char **why, struct ac_err *e)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *customer = ref_id(json_object_get(o, "customer"));
	const char *status = deleted ? "canceled" : json_string_value(json_object_get(o, "status"));
	json_t *item = json_array_get(json_object_get(json_object_get(o, "items"), "data"), 0);
	json_t *price = json_object_get(item, "price");
	json_t *ps = json_object_get(o, "current_period_start");
	json_t *pe = json_object_get(o, "current_period_end");
	json_t *ended = json_object_get(o, "ended_at");
	char cr[24], b6[24], b7[24], b9[24];
	const char *vals[10];

	if (!ac_stripe_id_ok(id, "sub_") || status == NULL) {
		*why = "the subscription has no id or status";
		return 1;
	}
	if (!json_is_integer(ps))	/* newer API versions keep the period on the items */
		ps = json_object_get(item, "current_period_start");
	if (!json_is_integer(pe))
		pe = json_object_get(item, "current_period_end");
	if (deleted && !json_is_integer(ended))
		ended = json_object_get(o, "canceled_at");
	if (lock_sub(db, id, customer, e) == -1)
		return -1;
	snprintf(cr, sizeof(cr), "%lld", created);
	vals[0] = id;
	vals[1] = customer;
	vals[2] = ref_id(price) ? ref_id(price) :
	    ref_id(json_object_get(item, "plan"));
	vals[3] = status;
	vals[4] = cr;
	vals[5] = int_text(ps, b6, sizeof(b6));
	vals[6] = int_text(pe, b7, sizeof(b7));
	vals[7] = json_is_true(json_object_get(o, "cancel_at_period_end")) ? "true" : "false";
	vals[8] = int_text(ended, b9, sizeof(b9));
	vals[9] = created_event ? "true" : "false";
	if (vals[2] != NULL && !ac_stripe_id_ok(vals[2], "price_") && !ac_stripe_id_ok(vals[2], "plan_"))
		vals[2] = NULL;
	if (ac_db_command(db, &st_sub_state, vals) == -1)
		return ac_db_err(db, e);
	return sync(db, id, e);
}

/* checkout.session.completed */
static int
on_checkout(struct ac_db *db, json_t *o, const char **why, struct ac_err *e)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *sub = ref_id(json_object_get(o, "subscription"));
	const char *customer = ref_id(json_object_get(o, "customer"));
	const char *ref = json_string_value(json_object_get(o, "client_reference_id"));
	const char *plan = json_string_value(json_object_get(json_object_get(o, "metadata"),
	    "plan_id"));
	const char *vals[5];
	char user[24], pid[24];
	PGresult *res;
	int n;

	if (!ac_stripe_id_ok(id, "cs_") || !ac_stripe_id_ok(sub, "sub_")) {
		*why = "not a subscription checkout";
		return 1;
	}
	if (ref == NULL || strspn(ref, "0123456789") != strlen(ref) || strlen(ref) > 18)
		ref = "0";
	if (plan == NULL || strspn(plan, "0123456789") != strlen(plan) || strlen(plan) > 18)
		plan = "0";
	vals[0] = id;
	vals[1] = ref;
	vals[2] = plan;
	res = ac_db_exec(db, &st_checkout_find, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	if (PQntuples(res) == 0) {
		PQclear(res);
		*why = "a checkout for no user and plan we know";
		return 1;
	}
	snprintf(user, sizeof(user), "%s", PQgetvalue(res, 0, 0));
	snprintf(pid, sizeof(pid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (lock_sub(db, sub, customer, e) == -1)
		return -1;
	vals[0] = sub;
	vals[1] = user;
	vals[2] = *pid ? pid : NULL;
	vals[3] = id;
	vals[4] = customer;
	res = ac_db_exec(db, &st_sub_link, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return ac_err_set(e, AC_E_UNPROCESSABLE, NULL,
		    "subscription %s already belongs to another user", sub);
	vals[0] = id;
	vals[1] = sub;
	vals[2] = user;
	vals[3] = customer;
	if (ac_db_command(db, &st_checkout_done, vals) == -1)
		return ac_db_err(db, e);
	return sync(db, sub, e);
}

/* invoice.paid, invoice.payment_failed */
static int
on_invoice(struct ac_db *db, json_t *o, long long created, int paid, const char **why,
    struct ac_err *e)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *sub = ref_id(json_object_get(o, "subscription"));
	const char *customer = ref_id(json_object_get(o, "customer"));
	json_t *lines = json_object_get(json_object_get(o, "lines"), "data");
	json_t *line = json_array_get(lines, 0), *l, *period;
	const char *price;
	char cr[24], b5[24], b6[24], b7[24], b9[24];
	const char *vals[12];
	size_t k;

	/* the period's own line, not a proration's "unused time" */
	json_array_foreach(lines, k, l)
		if (!json_is_true(json_object_get(l, "proration"))) {
			line = l;
			break;
		}
	period = json_object_get(line, "period");
	price = ref_id(json_object_get(line, "price"));
	PGresult *res;
	int still_failed, linked;

	if (sub == NULL)	/* API 2025+: the subscription moved under parent */
		sub = ref_id(json_object_get(json_object_get(json_object_get(o, "parent"),
		    "subscription_details"), "subscription"));
	if (price == NULL)
		price = json_string_value(json_object_get(json_object_get(json_object_get(line,
		    "pricing"), "price_details"), "price"));
	if (price == NULL)
		price = ref_id(json_object_get(line, "plan"));
	if (price != NULL && !ac_stripe_id_ok(price, "price_") && !ac_stripe_id_ok(price, "plan_"))
		price = NULL;
	if (!ac_stripe_id_ok(id, "in_")) {
		*why = "the invoice has no id";
		return 1;
	}
	if (!ac_stripe_id_ok(sub, "sub_")) {
		*why = "an invoice of no subscription";
		return 1;
	}
	if (lock_sub(db, sub, customer, e) == -1)
		return -1;
	snprintf(cr, sizeof(cr), "%lld", created);
	vals[0] = id;
	vals[1] = sub;
	vals[2] = customer;
	vals[3] = price;
	vals[4] = int_text(json_object_get(period, "start"), b5, sizeof(b5));
	vals[5] = int_text(json_object_get(period, "end"), b6, sizeof(b6));
	vals[6] = int_text(json_object_get(o, "amount_paid"), b7, sizeof(b7));
	vals[7] = json_string_value(json_object_get(o, "currency"));
	vals[8] = int_text(json_object_get(o, "attempt_count"), b9, sizeof(b9));
	vals[9] = paid ? "paid" : "failed";
	vals[10] = cr;
	vals[11] = json_string_value(json_object_get(o, "billing_reason"));
	if (vals[4] != NULL && vals[5] != NULL && strtoll(vals[5], NULL, 10) <=
	    strtoll(vals[4], NULL, 10))
		vals[4] = vals[5] = NULL;
	res = ac_db_exec(db, &st_invoice, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	still_failed = strcmp(PQgetvalue(res, 0, 0), "failed") == 0;
	PQclear(res);
	if (paid) {
		const char *v2[4] = { sub, price, vals[4], vals[5] };

		if (ac_db_command(db, &st_sub_from_invoice, v2) == -1)
			return ac_db_err(db, e);
	}
	if (sync(db, sub, e) == -1)
		return -1;
	/* a failed payment is told once per attempt, and never after it was paid */
	if (!paid && still_failed) {
		const char *v1[1] = { sub };
		char key[320];

		res = ac_db_exec(db, &st_sub_lock2, v1, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
			return ac_db_err(db, e);
		linked = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
		if (linked) {
			long long uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			char grace[16];
			json_t *v;
			int rc;

			snprintf(grace, sizeof(grace), "%d", ac_billing_config()->grace_days);
			v = json_pack("{s:s, s:s, s:s}", "plan", PQgetvalue(res, 0, 1), "grace",
			    grace, "url", ac_billing_config()->site);
			snprintf(key, sizeof(key), "%s:%s", id, vals[8] ? vals[8] : "0");
			rc = ac_notify_user(db, uid, "payment_failed", key, v);
			json_decref(v);
			if (rc == -1) {
				PQclear(res);
				return ac_db_err(db, e);
			}
		}
		PQclear(res);
	}
	return 0;
}

int
ac_stripe_event_process(struct ac_db *db, const char *id, struct ac_err *e)
{
	const char *vals[3] = { id, NULL, NULL };
	const char *type, *why = NULL;
	long long created;
	json_t *ev, *o;
	PGresult *res;
	int rc;

	res = ac_db_exec(db, &st_event_serial, NULL, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	PQclear(res);
	res = ac_db_exec(db, &st_event_load, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return ac_err_set(e, AC_E_NOT_FOUND, NULL, "no stored Stripe event %s", id);
	}
	if (strcmp(PQgetvalue(res, 0, 3), "received") != 0) {
		PQclear(res);
		return 0;
	}
	type = PQgetvalue(res, 0, 0);
	created = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	ev = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	o = json_object_get(json_object_get(ev, "data"), "object");
	if (strcmp(type, "checkout.session.completed") == 0)
		rc = on_checkout(db, o, &why, e);
	else if (strcmp(type, "customer.subscription.created") == 0)
		rc = on_subscription(db, o, created, 0, 1, &why, e);
	else if (strcmp(type, "customer.subscription.updated") == 0)
		rc = on_subscription(db, o, created, 0, 0, &why, e);
	else if (strcmp(type, "customer.subscription.deleted") == 0)
		rc = on_subscription(db, o, created, 1, 0, &why, e);
	else if (strcmp(type, "invoice.paid") == 0)
		rc = on_invoice(db, o, created, 1, &why, e);
	else if (strcmp(type, "invoice.payment_failed") == 0)
		rc = on_invoice(db, o, created, 0, &why, e);
	else {
		why = "not an event alertcast acts on";
		rc = 1;
	}
	json_decref(ev);
	PQclear(res);
	if (rc == -1)
		return -1;
	vals[1] = rc == 1 ? "ignored" : "processed";
	vals[2] = why;
	if (ac_db_command(db, &st_event_done, vals) == -1)
		return ac_db_err(db, e);
	return 0;
}
