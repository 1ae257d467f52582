/* payments.c — see payments.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/ledger.h"
#include "account/notify.h"
#include "billing/lifecycle.h"
#include "billing/payments.h"

const char *const ac_payment_methods[] = { "upi", "bank_transfer", "other", NULL };

#define PAYMENT_JSON \
	"json_build_object('id', pay.id, 'user_id', pay.user_id, 'email', u.email," \
	" 'plan_id', pay.plan_id, 'plan', p.name, 'transaction_id', pay.transaction_id," \
	" 'amount', to_char(pay.amount_minor / 100.0, 'FM999999999990.00')," \
	" 'amount_minor', pay.amount_minor, 'currency', pay.currency, 'method', pay.method," \
	" 'status', pay.status, 'proof_file', pay.proof_file, 'proof_bytes', pay.proof_bytes," \
	" 'rejection_reason', pay.rejection_reason, 'reviewed_by', pay.reviewed_by," \
	" 'created_at', to_char(pay.created_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI')," \
	" 'reviewed_at', to_char(pay.reviewed_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI')," \
	" 'subscription_id', pay.subscription_id, 'subscription_status', s.status," \
	" 'period_end', to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD'))"
#define PAYMENT_FROM \
	" FROM payments pay JOIN users u ON u.id = pay.user_id JOIN plans p ON p.id = pay.plan_id" \
	" JOIN subscriptions s ON s.id = pay.subscription_id"

static const struct ac_stmt st_submit = { "payment_submit",
	"WITH p AS (SELECT * FROM plans WHERE id = $2 AND status = 'active'),"
	" s AS (INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end,"
	"  provider) SELECT $1, p.id, 'pending', now(), now() + make_interval(months =>"
	"  p.duration_months, days => p.duration_days), 'manual' FROM p RETURNING id),"
	" pay AS (INSERT INTO payments (user_id, plan_id, subscription_id, transaction_id,"
	"  amount_minor, currency, method, proof_file, proof_bytes)"
	"  SELECT $1, p.id, s.id, $3, $4::bigint, p.currency, $5, $6, $7::int FROM p, s"
	"  RETURNING id)"
	" SELECT id FROM pay", 7 };

/* The plan's price, and how many of the user's payments wait for review. */
static const struct ac_stmt st_price = { "payment_price",
	"SELECT price_minor, currency, (SELECT count(*) FROM payments"
	"  WHERE user_id = $2::bigint AND status = 'pending')"
	" FROM plans WHERE id = $1 AND status = 'active'", 2 };

static const struct ac_stmt st_get = { "payment_get",
	"SELECT " PAYMENT_JSON PAYMENT_FROM " WHERE pay.id = $1 AND ($2::bigint = 0"
	" OR pay.user_id = $2::bigint)", 2 };

static const struct ac_stmt st_list = { "payment_list",
	"SELECT coalesce(json_agg(j ORDER BY (j->>'id')::bigint DESC), '[]') FROM"
	" (SELECT " PAYMENT_JSON " AS j" PAYMENT_FROM
	"  WHERE ($1::bigint = 0 OR pay.user_id = $1::bigint)"
	"  AND ($2::text IS NULL OR pay.status = $2::text) ORDER BY pay.id DESC LIMIT $3::int) x", 3 };

/* "499", "499.5", "499.00" as minor units (two decimals), or -1. */
static long long
minor_units(const char *s)
{
	long long whole = 0;
	int frac = 0, digits = 0;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (whole > 100000000000LL)
			return -1;
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++) {
			if (++digits > 2)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
		if (digits == 0)
			return -1;
		if (digits == 1)
			frac *= 10;
	}
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0' ? whole * 100 + frac : -1;
}

json_t *
ac_payment_get(struct ac_db *db, long long id, long long user_id, struct ac_err *e)
{
	char a[24], b[24];
	const char *vals[2] = { a, b };
	json_t *o;
	int found;

	snprintf(a, sizeof(a), "%lld", id);
	snprintf(b, sizeof(b), "%lld", user_id);
	if ((o = ac_db_json(db, &st_get, vals, &found)) == NULL) {
		if (found)
			ac_db_err(db, e);
		else
			ac_err_set(e, AC_E_NOT_FOUND, NULL, "no payment %lld", id);
	}
	return o;
}

json_t *
ac_payments_list(struct ac_db *db, long long user_id, const char *status, int limit,
    struct ac_err *e)
{
	char a[24], l[16];
	const char *vals[3] = { a, status, l };
	json_t *o;
	int found;

	snprintf(a, sizeof(a), "%lld", user_id);
	snprintf(l, sizeof(l), "%d", limit);
	if ((o = ac_db_json(db, &st_list, vals, &found)) == NULL)
		ac_db_err(db, e);
	return o;
}

json_t *
ac_payment_submit(struct ac_db *db, const struct ac_payment_in *in, struct ac_err *e)
{
	char uid[24], pid[24], amt[24], bytes[24];
	const char *vals[7] = { uid, pid, in->transaction_id, amt, in->method, in->proof_file,
	    in->proof_file ? bytes : NULL };
	const char *t = in->transaction_id;
	long long minor, price;
	PGresult *res;
	size_t k;

	for (k = 0; ac_payment_methods[k] != NULL; k++)
		if (in->method != NULL && strcmp(in->method, ac_payment_methods[k]) == 0)
			break;
	if (ac_payment_methods[k] == NULL) {
		ac_err_set(e, AC_E_INVALID, "method", "choose how you paid: UPI, bank transfer or other");
		return NULL;
	}
	if (t == NULL || strlen(t) < 6 || strlen(t) > 64 || strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(t)) {
		ac_err_set(e, AC_E_INVALID, "transaction_id", "enter the transaction id your bank"
		    " or UPI app shows (6 to 64 letters, digits or dashes; a UPI UTR has 12 digits)");
		return NULL;
	}
	if ((minor = minor_units(in->amount)) <= 0) {
		ac_err_set(e, AC_E_INVALID, "amount", "enter the amount you paid, like 499.00");
		return NULL;
	}
	snprintf(uid, sizeof(uid), "%lld", in->user_id);
	snprintf(pid, sizeof(pid), "%lld", in->plan_id);
	snprintf(amt, sizeof(amt), "%lld", minor);
	snprintf(bytes, sizeof(bytes), "%lld", in->proof_bytes);
	{
		const char *pv[2] = { pid, uid };

		res = ac_db_exec(db, &st_price, pv, NULL, NULL);
	}
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "plan_id", "no such plan on offer");
		return NULL;
	}
	price = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (strtoll(PQgetvalue(res, 0, 2), NULL, 10) >= AC_PAYMENTS_PENDING_MAX) {
		PQclear(res);
		ac_err_set(e, AC_E_UNPROCESSABLE, NULL, "%d of your payments are waiting for review:"
		    " we will tell you when they are checked, then you can send another",
		    AC_PAYMENTS_PENDING_MAX);
		return NULL;
	}
	if (minor != price) {
		ac_err_set(e, AC_E_UNPROCESSABLE, "amount", "the amount must be the plan's price,"
		    " %lld.%02lld %s", price / 100, price % 100, PQgetvalue(res, 0, 1));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	res = ac_db_exec(db, &st_submit, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		if (strcmp(ac_db_sqlstate(db), "23505") == 0)
			ac_err_set(e, AC_E_CONFLICT, "transaction_id",
			    "this transaction id was already submitted");
		else
			ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "plan_id", "no such plan on offer");
		return NULL;
	}
	{
		long long id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		json_t *o;

		PQclear(res);
		/* stored: whatever the re-read says, the caller keeps the proof */
		if ((o = ac_payment_get(db, id, 0, e)) == NULL)
			o = json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "pending");
		return o;
	}
}

/* The pending payment, locked. */
static const struct ac_stmt st_lock = { "payment_lock",
	"SELECT pay.status, pay.user_id, pay.subscription_id, p.credits_per_period,"
	" pay.transaction_id, p.name FROM payments pay JOIN plans p ON p.id = pay.plan_id"
	" WHERE pay.id = $1 FOR UPDATE OF pay", 1 };

/* Active from now, or from the end of the running subscription of the
 * same plan (a renewal paid early loses no day). */
static const struct ac_stmt st_activate = { "payment_activate",
	"WITH st AS (SELECT greatest(now(), (SELECT max(o.period_end) FROM subscriptions o"
	"  WHERE o.user_id = s.user_id AND o.plan_id = s.plan_id AND o.id <> s.id"
	"  AND o.status = 'active')) AS at, p.duration_months AS m, p.duration_days AS d"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.id = $1)"
	" UPDATE subscriptions s SET status = 'active', period_start = st.at,"
	"  period_end = st.at + make_interval(months => st.m, days => st.d), updated_at = now()"
	" FROM st, users u WHERE s.id = $1 AND u.id = s.user_id"
	" RETURNING to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD')", 1 };

static const struct ac_stmt st_decide = { "payment_decide",
	"WITH pay AS (UPDATE payments SET status = $2, reviewed_by = $3, reviewed_at = now(),"
	"  rejection_reason = $4 WHERE id = $1 RETURNING subscription_id)"
	" UPDATE subscriptions s SET status = 'cancelled', end_reason = 'rejected',"
	"  updated_at = now() FROM pay WHERE s.id = pay.subscription_id AND $2 = 'rejected'", 4 };

int
ac_payment_decide(struct ac_db *db, long long id, int approve, const char *reviewer,
    const char *reason, struct ac_err *e)
{
	char pid[24], key[48], period[32] = "", credits[24];
	const char *vals[4] = { pid, approve ? "approved" : "rejected", reviewer,
	    approve ? NULL : reason };
	struct ac_ledger_entry le = { .kind = "purchase", .key = key, .reference = key };
	enum ac_ledger_result lr;
	long long user;
	PGresult *res;
	json_t *v;
	int rc;

	if (!approve && (reason == NULL || *reason == '\0' || strlen(reason) > 500))
		return ac_err_set(e, AC_E_INVALID, "reason",
		    "say why the payment is rejected (at most 500 characters): the subscriber sees it");
	snprintf(pid, sizeof(pid), "%lld", id);
	res = ac_db_exec(db, &st_lock, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return ac_err_set(e, AC_E_NOT_FOUND, NULL, "no payment %lld", id);
	}
	if (strcmp(PQgetvalue(res, 0, 0), "pending") != 0) {
		ac_err_set(e, AC_E_CONFLICT, NULL, "payment %lld is already %s", id,
		    PQgetvalue(res, 0, 0));
		PQclear(res);
		return -1;
	}
	user = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	le.user_id = user;
	le.amount = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	snprintf(credits, sizeof(credits), "%lld", le.amount);
	v = json_pack("{s:s, s:s, s:s}", "plan", PQgetvalue(res, 0, 5), "transaction",
	    PQgetvalue(res, 0, 4), "url", ac_billing_config()->site);
	if (approve) {
		const char *sv[1] = { PQgetvalue(res, 0, 2) };
		PGresult *a = ac_db_exec(db, &st_activate, sv, NULL, NULL);

		if (!ac_db_ok(db, a, PGRES_TUPLES_OK)) {
			PQclear(res);
			json_decref(v);
			if (strcmp(ac_db_sqlstate(db), "23514") == 0)
				return ac_err_set(e, AC_E_UNPROCESSABLE, NULL, "the user already has 5"
				    " active subscriptions, the most there can be");
			return ac_db_err(db, e);
		}
		snprintf(period, sizeof(period), "%s", PQntuples(a) ? PQgetvalue(a, 0, 0) : "");
		PQclear(a);
		json_object_set_new(v, "period_end", json_string(period));
		json_object_set_new(v, "credits", json_string(credits));
	} else
		json_object_set_new(v, "reason", json_string(reason));
	PQclear(res);
	snprintf(key, sizeof(key), "payment:%lld", id);
	rc = ac_db_command(db, &st_decide, vals) == -1 ||
	    (approve && le.amount > 0 && (lr = ac_ledger_post(db, &le, NULL)) != AC_LEDGER_DONE &&
	    lr != AC_LEDGER_ALREADY) ||
	    ac_notify_user(db, user, approve ? "payment_approved" : "payment_rejected", pid, v) == -1;
	json_decref(v);
	return rc ? ac_db_err(db, e) : 0;
}

json_t *
ac_payment_review(struct ac_db *db, long long id, int approve, const char *reviewer,
    const char *reason, struct ac_err *e)
{
	if (ac_db_begin(db) == -1) {
		ac_db_err(db, e);
		return NULL;
	}
	if (ac_payment_decide(db, id, approve, reviewer, reason, e) == -1) {
		ac_db_rollback(db);
		return NULL;
	}
	if (ac_db_commit(db) == -1) {
		ac_db_err(db, e);
		return NULL;
	}
	return ac_payment_get(db, id, 0, e);
}
