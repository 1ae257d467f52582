/* account.c — see account.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "account/ledger.h"
#include "account/password.h"
#include "base/pgarray.h"
#include "base/util.h"

/* The first row of res (which it clears) as a JSON object, from a
 * statement whose one column is row_to_json(...). */
static json_t *
row_json(PGresult *res)
{
	json_t *o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);

	PQclear(res);
	return o;
}

static const struct ac_stmt st_user_insert = { "account_user_insert",
	"INSERT INTO users (email, password_hash, display_name, phone, telegram_chat_id, timezone)"
	" VALUES (lower($1), $2, $3, $4, $5, $6)"
	" RETURNING json_build_object('id', id, 'email', email, 'name', display_name,"
	" 'phone', phone, 'telegram_chat_id', telegram_chat_id, 'timezone', timezone,"
	" 'status', status, 'credit_balance', credit_balance)", 6 };

json_t *
ac_user_create(struct ac_db *db, const struct ac_user_new *in, struct ac_err *e)
{
	char hash[AC_PASSWORD_HASH_MAX];
	const char *vals[6];
	PGresult *res;

	if (in->email == NULL || strchr(in->email, '@') == NULL) {
		ac_err_set(e, AC_E_INVALID, "email", "--email: an address like name@example.com is required");
		return NULL;
	}
	if (in->password == NULL || ac_password_hash(in->password, hash) == -1) {
		ac_err_set(e, AC_E_INVALID, "password", "--password: %d to %d characters required", AC_PASSWORD_MIN,
		    AC_PASSWORD_MAX);
		return NULL;
	}
	vals[0] = in->email;
	vals[1] = hash;
	vals[2] = in->name ? in->name : "";
	vals[3] = in->phone;
	vals[4] = in->telegram_chat_id;
	vals[5] = in->timezone ? in->timezone : "UTC";
	res = ac_db_exec(db, &st_user_insert, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	return row_json(res);
}

static const struct ac_stmt st_user_id = { "account_user_id",
	"SELECT id FROM users WHERE lower(email) = lower($1)", 1 };

long long
ac_user_id(struct ac_db *db, const char *email, struct ac_err *e)
{
	const char *vals[1] = { email };
	PGresult *res;
	long long id = 0;

	res = ac_db_exec(db, &st_user_id, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return -1;
	}
	if (PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		ac_err_set(e, AC_E_NOT_FOUND, "email", "no user with email %s", email);
	PQclear(res);
	return id;
}

/* "1,2,3" → "{1,2,3}" in *a; -1 if an item is not a positive id. */
static int
id_list(const char *list, struct ac_pgarray *a)
{
	char buf[1024], *tok, *save = NULL;
	const char *errstr;
	long long id;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		id = ac_strtonum(tok, 1, INT64_MAX, &errstr);
		if (errstr != NULL)
			return -1;
		ac_pgarray_ll(a, id);
	}
	return a->n > 0 ? 0 : -1;
}

static const struct ac_stmt st_plan_insert = { "account_plan_insert",
	"WITH p AS (INSERT INTO plans (name, price_minor, currency, duration_months,"
	"  duration_days, credits_per_period, max_open_trades, credit_cost, stripe_price_id,"
	"  max_strategies, description)"
	"  VALUES ($1, $2, upper($3), $4, coalesce($5::int, 0), $6, coalesce($7::int, 3), $8,"
	"  $10, coalesce($11::int, -1), coalesce($12, ''))"
	"  RETURNING *),"
	" s AS (INSERT INTO plan_strategies (plan_id, strategy_id)"
	"  SELECT p.id, x FROM p, unnest($9::bigint[]) x RETURNING strategy_id)"
	" SELECT json_build_object('id', p.id, 'name', p.name, 'price_minor', p.price_minor,"
	" 'currency', p.currency, 'months', p.duration_months, 'days', p.duration_days,"
	" 'credits', p.credits_per_period, 'max_open_trades', p.max_open_trades,"
	" 'credit_cost', p.credit_cost, 'stripe_price_id', p.stripe_price_id,"
	" 'max_strategies', p.max_strategies,"
	" 'strategies', (SELECT json_agg(strategy_id ORDER BY strategy_id) FROM s)) FROM p", 12 };

json_t *
ac_plan_create(struct ac_db *db, const struct ac_plan_new *in, struct ac_err *e)
{
	static const struct { const char *opt; size_t off; long long min, max; int required; } nums[] = {
		{ "--price-cents", offsetof(struct ac_plan_new, price_minor), 0, INT64_MAX, 1 },
		{ "--months", offsetof(struct ac_plan_new, months), 0, 120, 1 },
		{ "--days", offsetof(struct ac_plan_new, days), 0, 3660, 0 },
		{ "--credits", offsetof(struct ac_plan_new, credits), 0, INT32_MAX, 1 },
		{ "--max-open-trades", offsetof(struct ac_plan_new, max_open_trades), 1, 5, 0 },
		{ "--credit-cost", offsetof(struct ac_plan_new, credit_cost), 0, 1000000, 0 },
		{ "--max-strategies", offsetof(struct ac_plan_new, max_strategies), -1, 1000, 0 },
	};
	struct ac_pgarray ids;
	const char *vals[12], *errstr;
	PGresult *res;
	size_t i;

	if (in->name == NULL || in->currency == NULL || in->strategies == NULL) {
		ac_err_set(e, AC_E_INVALID, NULL, "--name, --currency and --strategies are required");
		return NULL;
	}
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		const char *v = *(const char *const *)((const char *)in + nums[i].off);

		if (v == NULL && !nums[i].required)
			continue;
		if (v == NULL) {
			ac_err_set(e, AC_E_INVALID, nums[i].opt + 2, "%s is required", nums[i].opt);
			return NULL;
		}
		ac_strtonum(v, nums[i].min, nums[i].max, &errstr);
		if (errstr != NULL) {
			ac_err_set(e, AC_E_INVALID, nums[i].opt + 2, "%s %s: %s (%lld to %lld)",
			    nums[i].opt, v, errstr, nums[i].min, nums[i].max);
			return NULL;
		}
	}
	ac_pgarray_init(&ids);
	if (id_list(in->strategies, &ids) == -1) {
		ac_pgarray_free(&ids);
		ac_err_set(e, AC_E_INVALID, "strategies",
		    "--strategies %s: a comma-separated list of strategy ids", in->strategies);
		return NULL;
	}
	vals[0] = in->name;
	vals[1] = in->price_minor;
	vals[2] = in->currency;
	vals[3] = in->months;
	vals[4] = in->days;
	vals[5] = in->credits;
	vals[6] = in->max_open_trades;
	vals[7] = in->credit_cost;
	vals[8] = ac_pgarray_text(&ids);
	vals[9] = in->stripe_price_id;
	vals[10] = in->max_strategies;
	vals[11] = in->description;
	res = ac_db_exec(db, &st_plan_insert, vals, NULL, NULL);
	ac_pgarray_free(&ids);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	return row_json(res);
}

static const struct ac_stmt st_subscribe = { "account_subscribe",
	"INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end, provider)"
	" SELECT $1, p.id, 'active', now(), now() + make_interval(months => p.duration_months,"
	"  days => p.duration_days), 'manual' FROM plans p WHERE p.name = $2 AND p.status = 'active'"
	" RETURNING id, (SELECT credits_per_period FROM plans WHERE id = plan_id),"
	" json_build_object('id', id, 'user_id', user_id, 'plan_id', plan_id, 'status', status,"
	" 'period_start', period_start, 'period_end', period_end, 'provider', provider)", 2 };

json_t *
ac_subscribe_manual(struct ac_db *db, long long user_id, const char *plan_name,
    struct ac_err *e)
{
	char uid[24], key[48], ref[48];
	const char *vals[2] = { uid, plan_name };
	struct ac_ledger_entry le = { .user_id = user_id, .kind = "grant", .key = key,
	    .reference = ref };
	enum ac_ledger_result lr;
	long long balance = 0;
	PGresult *res;
	json_t *o;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_subscribe, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "plan", "no active plan named \"%s\"", plan_name);
		return NULL;
	}
	snprintf(key, sizeof(key), "subscription:%s", PQgetvalue(res, 0, 0));
	snprintf(ref, sizeof(ref), "subscription:%s", PQgetvalue(res, 0, 0));
	le.amount = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	o = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	PQclear(res);
	if (le.amount > 0 && (lr = ac_ledger_post(db, &le, &balance)) != AC_LEDGER_DONE) {
		json_decref(o);
		ac_err_set(e, lr == AC_LEDGER_ERROR ? AC_E_INTERNAL : AC_E_CONFLICT, NULL,
		    "credit grant %s: %s%s%s", key, ac_ledger_result_name(lr),
		    lr == AC_LEDGER_ERROR ? ": " : "", lr == AC_LEDGER_ERROR ? ac_db_error(db) : "");
		return NULL;
	}
	json_object_set_new(o, "credits_granted", json_integer(le.amount));
	return o;
}
