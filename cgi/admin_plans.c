/*
 * admin_plans.c — the plans screens of ac-admin (see cgi/admin.h):
 *
 *	GET  /admin/plans		every plan, with its strategies and subscribers
 *	GET  /admin/plans/new		the form for a new plan; POST /admin/plans makes it
 *	GET  /admin/plans/N		the plan's form; POST /admin/plans/N saves it
 *	POST /admin/plans/N/archive	no longer offered; its subscriptions go on
 *
 * Plans are never deleted: subscriptions point at them. A price is typed
 * in major units ("499.00") and kept in minor units (49900): every
 * currency is taken to have two decimals, as INR, USD and EUR have. A
 * refused form comes back (422) with what was typed and the field named,
 * and nothing is stored.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "cgi/admin.h"
#include "web/request.h"

static void	plans_page(struct ac_call *);
static void	plan_new(struct ac_call *);
static void	plan_create(struct ac_call *);
static void	plan_page(struct ac_call *);
static void	plan_save(struct ac_call *);
static void	plan_archive(struct ac_call *);
static void	plan_invalid(struct ac_call *, const struct ac_err *);
static const char *price_why(const char *);
static const char *currency_why(const char *);
static const char *credit_cost_why(const char *);
static const char *stripe_why(const char *);
static const char *ids_why(const char *);

static const char *const plan_status_values[] = { "active", "inactive", "archived", NULL };

/* The form; PLAN_NAME .. PLAN_DISPLAY_ORDER are the statements' $2 ...
 * in this order (texts as typed, price converted). */
enum {
	PLAN_NAME, PLAN_DESCRIPTION, PLAN_PRICE, PLAN_CURRENCY, PLAN_MONTHS, PLAN_DAYS,
	PLAN_CREDITS, PLAN_CREDIT_COST, PLAN_MAX_STRATEGIES, PLAN_MAX_OPEN_TRADES,
	PLAN_PRIORITY, PLAN_ANALYTICS, PLAN_STRIPE, PLAN_ORDER, PLAN_POPULAR, PLAN_STATUS,
	PLAN_STRATEGIES, PLAN__MAX
};
static const struct ac_field_decl plan_fields[] = {
	[PLAN_NAME] = { "name", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 100,
	    .why = "Give the plan a name of at most 100 characters." },
	[PLAN_DESCRIPTION] = { "description", AC_F_STRING, AC_FROM_FORM, .max = 2000,
	    .why = "The description can have at most 2000 characters." },
	[PLAN_PRICE] = { "price", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .max = 20,
	    .check = price_why,
	    .why = "The price must be an amount like 499 or 499.00 (at most two decimals)." },
	[PLAN_CURRENCY] = { "currency", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED,
	    .check = currency_why,
	    .why = "The currency must be a three-letter code in capitals, like INR or USD." },
	[PLAN_MONTHS] = { "duration_months", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 0,
	    .max = 120, .why = "The months must be a whole number from 0 to 120." },
	[PLAN_DAYS] = { "duration_days", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 0,
	    .max = 3660, .why = "The days must be a whole number from 0 to 3660." },
	[PLAN_CREDITS] = { "credits_per_period", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = 0, .max = INT32_MAX,
	    .why = "The credits per period must be a whole number, 0 or more." },
	[PLAN_CREDIT_COST] = { "credit_cost", AC_F_STRING, AC_FROM_FORM, .max = 8,
	    .check = credit_cost_why, .why = "The credit cost per signal must be empty (the"
	    " strategy's own) or a whole number from 0 to 1000000." },
	[PLAN_MAX_STRATEGIES] = { "max_strategies", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = -1, .max = 1000,
	    .why = "The most strategies must be -1 (unlimited) or a number up to 1000." },
	[PLAN_MAX_OPEN_TRADES] = { "max_open_trades", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = 1, .max = 5, .why = "The most open trades must be from 1 to 5." },
	[PLAN_PRIORITY] = { "priority_support", AC_F_BOOL, AC_FROM_FORM },
	[PLAN_ANALYTICS] = { "advanced_analytics", AC_F_BOOL, AC_FROM_FORM },
	[PLAN_STRIPE] = { "stripe_price_id", AC_F_STRING, AC_FROM_FORM, .max = 200,
	    .check = stripe_why,
	    .why = "The Stripe price id must be empty or look like price_1AbC..." },
	[PLAN_ORDER] = { "display_order", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = -1000000, .max = 1000000,
	    .why = "The display order must be a whole number." },
	[PLAN_POPULAR] = { "popular", AC_F_BOOL, AC_FROM_FORM },
	[PLAN_STATUS] = { "status", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED,
	    .values = plan_status_values,
	    .why = "The status must be active, inactive or archived." },
	[PLAN_STRATEGIES] = { "strategy", AC_F_LIST, AC_FROM_FORM, .check = ids_why,
	    .why = "Choose the strategies from the list." },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/plans", plans_page, AC_P_SUBS_VIEW) },
	{ ADMIN_GET("/admin/plans/new", plan_new, AC_P_SUBS_EDIT) },
	{ ADMIN_POST("/admin/plans", plan_create, AC_P_SUBS_EDIT), .fields = plan_fields,
	    .invalid = plan_invalid },
	{ ADMIN_GET("/admin/plans/{id}", plan_page, AC_P_SUBS_VIEW) },
	{ ADMIN_POST("/admin/plans/{id}", plan_save, AC_P_SUBS_EDIT), .fields = plan_fields,
	    .invalid = plan_invalid },
	{ ADMIN_POST("/admin/plans/{id}/archive", plan_archive, AC_P_SUBS_EDIT) },
};

static const struct admin_flash flashes[] = {
	{ "plan_created", "Plan created." },
	{ "plan_saved", "Plan saved." },
	{ "plan_archived", "Plan archived: it is no longer offered; its subscriptions go on." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_plans_area, routes, flashes);

/* ---- fields -------------------------------------------------------------------- */

/* "499", "499.5" or "499.00" as minor units into *minor: NULL, or why not. */
static const char *
price_minor(const char *s, long long *minor)
{
	const char *dot = strchr(s, '.'), *errstr;
	size_t whole = dot ? (size_t)(dot - s) : strlen(s), frac = dot ? strlen(dot + 1) : 0;
	char digits[24];

	if (whole < 1 || whole > 12 || strspn(s, "0123456789") != whole ||
	    (dot != NULL && (frac < 1 || frac > 2 || strspn(dot + 1, "0123456789") != frac)))
		return "not an amount";
	snprintf(digits, sizeof(digits), "%.*s%s%s", (int)whole, s, dot ? dot + 1 : "",
	    frac == 2 ? "" : frac == 1 ? "0" : "00");
	*minor = ac_strtonum(digits, 0, INT64_MAX, &errstr);
	return errstr;
}

static const char *
price_why(const char *s)
{
	long long m;

	return price_minor(s, &m);
}

static const char *
currency_why(const char *s)
{
	return strlen(s) == 3 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3 ? NULL : "bad";
}

static const char *
credit_cost_why(const char *s)
{
	const char *errstr = NULL;

	if (*s != '\0')
		ac_strtonum(s, 0, 1000000, &errstr);
	return errstr;
}

static const char *
stripe_why(const char *s)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789";

	if (*s == '\0')
		return NULL;
	return strncmp(s, "price_", 6) == 0 && s[6] != '\0' && s[6 + strspn(s + 6, alnum)] == '\0'
	    ? NULL : "bad";
}

/* Ids joined by commas ("" for none). */
static const char *
ids_why(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((*p < '0' || *p > '9') && (*p != ',' || p == s || p[1] == '\0' || p[1] == ','))
			return "bad";
	return NULL;
}

/* ---- reading -------------------------------------------------------------------- */

/* A plan p as JSON: the columns the form edits (texts as the form has
 * them), its strategies' ids. */
#define PLAN_JSON \
	"SELECT json_build_object('id', p.id, 'name', p.name, 'description', p.description," \
	" 'price', (p.price_minor / 100)::text || '.' || lpad((p.price_minor % 100)::text, 2, '0')," \
	" 'currency', p.currency, 'duration_months', p.duration_months," \
	" 'duration_days', p.duration_days, 'credits_per_period', p.credits_per_period," \
	" 'credit_cost', p.credit_cost, 'max_strategies', p.max_strategies," \
	" 'max_open_trades', p.max_open_trades, 'priority_support', p.priority_support," \
	" 'advanced_analytics', p.advanced_analytics, 'stripe_price_id', p.stripe_price_id," \
	" 'display_order', p.display_order, 'popular', p.popular, 'status', p.status," \
	" 'strategies', (SELECT coalesce(json_agg(ps.strategy_id ORDER BY ps.strategy_id), '[]')" \
	"  FROM plan_strategies ps WHERE ps.plan_id = p.id))"

static const struct ac_stmt st_plans = { "admin_plans_list",
	"SELECT coalesce(json_agg(l.x::jsonb || jsonb_build_object("
	" 'badge', CASE p.status WHEN 'active' THEN 'success' WHEN 'inactive' THEN 'warning'"
	"  ELSE 'secondary' END, 'archived', p.status = 'archived',"
	" 'strategy_names', (SELECT string_agg(st.name || ' (' || st.symbol || ' ' ||"
	"  st.timeframe || ')', ', ' ORDER BY st.id) FROM plan_strategies ps"
	"  JOIN strategies st ON st.id = ps.strategy_id WHERE ps.plan_id = p.id),"
	" 'subscribers', (SELECT count(*) FROM subscriptions s WHERE s.plan_id = p.id"
	"  AND s.status = 'active' AND s.period_end > now()))"
	" ORDER BY p.status <> 'active', p.display_order, p.id), '[]')"
	" FROM plans p CROSS JOIN LATERAL (" PLAN_JSON ") l(x)", 0 };
static const struct ac_stmt st_plan = { "admin_plan_show",
	PLAN_JSON " FROM plans p WHERE p.id = $1", 1 };
static const struct ac_stmt st_plan_lock = { "admin_plan_lock",
	PLAN_JSON " FROM plans p WHERE p.id = $1 FOR UPDATE", 1 };
static const struct ac_stmt st_strategies = { "admin_plan_strategies",
	"SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'symbol', symbol,"
	" 'timeframe', timeframe, 'status', status) ORDER BY id), '[]') FROM strategies", 0 };

/* GET /admin/plans */
static void
plans_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	json_t *rows;
	int found;

	if ((rows = ac_db_json(site.db, &st_plans, NULL, &found)) == NULL) {
		admin_db_failed(c);
		return;
	}
	admin_page(c, 200, "plans", "Plans", json_pack("{s:o}", "plans", admin_rows(rows)),
	    NULL);
}

/* A JSON scalar as the form's text (null: ""). */
static const char *
text_of(struct actx *c, const json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		return ac_arena_printf(c->r->arena, "%lld", (long long)json_integer_value(v));
	return "";
}

/*
 * The plan form with status and error (may be NULL): the values posted
 * when this is a POST (what was typed), else those of plan (borrowed;
 * NULL: a new plan's defaults), and every strategy to tick.
 */
static void
plan_form(struct actx *c, int status, const json_t *plan, const char *error)
{
	const struct ac_call *k = c->k;
	int posted = k->route->method == AC_M_POST;
	json_t *f = json_object(), *strategies, *s, *defaults = NULL;
	const char *v;
	size_t i, j;
	int found;

	if ((strategies = ac_db_json(site.db, &st_strategies, NULL, &found)) == NULL) {
		json_decref(f);
		admin_db_failed(c);
		return;
	}
	if (plan == NULL && !posted)
		plan = defaults = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:[]}",
		    "currency", "INR", "duration_months", 1, "duration_days", 0,
		    "credits_per_period", 0, "max_strategies", -1, "max_open_trades", 3,
		    "display_order", 0, "status", "active", "strategies");
	for (i = 0; i < PLAN_STRATEGIES; i++) {
		const char *name = plan_fields[i].name;

		if (plan_fields[i].type == AC_F_BOOL)
			json_object_set_new(f, name, json_boolean(posted ?
			    (v = ac_call_form(k, name)) != NULL && *v : json_is_true(json_object_get(plan,
			    name))));
		else
			json_object_set_new(f, name, json_string(posted ? ((v = ac_call_form(k,
			    name)) ? v : "") : text_of(c, json_object_get(plan, name))));
	}
	v = json_string_value(json_object_get(f, "status"));
	json_object_set_new(f, ac_arena_printf(c->r->arena, "status_%s", v), json_true());
	json_array_foreach(strategies, i, s) {
		long long id = (long long)json_integer_value(json_object_get(s, "id"));
		int on = 0;

		if (posted) {
			for (j = 0; j < k->nform && !on; j++)
				on = strcmp(k->form[j].key, "strategy") == 0 &&
				    strtoll(k->form[j].value, NULL, 10) == id;
		} else {
			json_t *x;

			json_array_foreach(json_object_get(plan, "strategies"), j, x)
				on |= json_integer_value(x) == id;
		}
		json_object_set_new(s, "checked", json_boolean(on));
	}
	json_object_set_new(f, "strategies", strategies);
	if (k->id > 0)
		json_object_set_new(f, "id", json_integer(k->id));
	json_decref(defaults);
	admin_page(c, status, "plan", k->id > 0 ? "Edit plan" : "New plan",
	    json_pack("{s:o}", "f", f), error);
}

/* GET /admin/plans/new */
static void
plan_new(struct ac_call *k)
{
	plan_form(k->ctx, 200, NULL, NULL);
}

/* GET /admin/plans/N: the form (read-only without subscriptions.edit). */
static void
plan_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[1] = { admin_id(c) };
	json_t *plan;
	int found;

	if ((plan = ac_db_json(site.db, &st_plan, vals, &found)) == NULL) {
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	plan_form(c, 200, plan, NULL);
	json_decref(plan);
}

/* A refused field: the form again with what was typed. */
static void
plan_invalid(struct ac_call *k, const struct ac_err *e)
{
	plan_form(k->ctx, 422, NULL, e->message);
}

/* ---- writing --------------------------------------------------------------------- */

#define PLAN_COLUMNS "name, description, price_minor, currency, duration_months," \
	" duration_days, credits_per_period, credit_cost, max_strategies, max_open_trades," \
	" priority_support, advanced_analytics, stripe_price_id, display_order, popular, status"

static const struct ac_stmt st_insert = { "admin_plan_insert",
	"WITH p AS (INSERT INTO plans (" PLAN_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
	"  $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id),"
	" s AS (INSERT INTO plan_strategies (plan_id, strategy_id) SELECT p.id, st.id"
	"  FROM p, strategies st WHERE st.id = ANY ($17::bigint[]))"
	" SELECT id FROM p", 17 };
static const struct ac_stmt st_update = { "admin_plan_update",
	"WITH p AS (UPDATE plans SET (" PLAN_COLUMNS ", updated_at) = ($2, $3, $4, $5, $6, $7,"
	"  $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, now()) WHERE id = $1 RETURNING id),"
	" d AS (DELETE FROM plan_strategies ps USING p WHERE ps.plan_id = p.id"
	"  AND ps.strategy_id <> ALL ($18::bigint[])),"
	" s AS (INSERT INTO plan_strategies (plan_id, strategy_id) SELECT p.id, st.id"
	"  FROM p, strategies st WHERE st.id = ANY ($18::bigint[]) ON CONFLICT DO NOTHING)"
	" SELECT id FROM p", 18 };

/* The statement's values from the checked form into vals[PLAN__MAX]. */
static void
plan_values(struct actx *c, const char **vals)
{
	const struct ac_val *v = c->k->v;
	long long minor = 0;

	for (size_t i = 0; i < PLAN__MAX; i++)
		vals[i] = plan_fields[i].type == AC_F_BOOL ? (v[i].i ? "true" : "false") :
		    v[i].s != NULL && *v[i].s ? v[i].s : NULL;
	(void)price_minor(v[PLAN_PRICE].s, &minor);
	vals[PLAN_PRICE] = ac_arena_printf(c->r->arena, "%lld", minor);
	vals[PLAN_MONTHS] = ac_arena_printf(c->r->arena, "%lld", v[PLAN_MONTHS].i);
	vals[PLAN_DAYS] = ac_arena_printf(c->r->arena, "%lld", v[PLAN_DAYS].i);
	vals[PLAN_DESCRIPTION] = v[PLAN_DESCRIPTION].s ? v[PLAN_DESCRIPTION].s : "";
	vals[PLAN_STRATEGIES] = ac_arena_printf(c->r->arena, "{%s}",
	    v[PLAN_STRATEGIES].s ? v[PLAN_STRATEGIES].s : "");
}

/* What changed from before to after: {"column": {"from": x, "to": y}, ...}. */
static json_t *
changes(const json_t *before, const json_t *after)
{
	json_t *d = json_object(), *v;
	const char *key;

	json_object_foreach((json_t *)after, key, v)
		if (!json_equal(v, json_object_get(before, key)))
			json_object_set_new(d, key, json_pack("{s:O?, s:O?}", "from",
			    json_object_get(before, key), "to", v));
	return d;
}

/*
 * Writes the form: a new plan (k->id 0) or the plan of k->id, with its
 * strategies and its audit row (the plan, or what changed), in one
 * transaction; then to the plan's page. A refusal by the database (a
 * name taken) is the form again (422); 404 for no such plan.
 */
static void
plan_write(struct actx *c)
{
	const char *vals[1 + PLAN__MAX], *id = admin_id(c);
	json_t *before = NULL, *after = NULL, *details;
	struct ac_err e;
	PGresult *res;
	long long pid;
	int found, rc;

	if (c->k->v[PLAN_MONTHS].i == 0 && c->k->v[PLAN_DAYS].i == 0) {
		plan_form(c, 422, NULL, "The duration must be at least one month or one day.");
		return;
	}
	vals[0] = id;
	plan_values(c, vals + 1);
	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if (c->k->id > 0 && (before = ac_db_json(site.db, &st_plan_lock, vals, &found)) == NULL) {
		ac_db_rollback(site.db);
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	res = c->k->id > 0 ? ac_db_exec(site.db, &st_update, vals, NULL, NULL) :
	    ac_db_exec(site.db, &st_insert, vals + 1, NULL, NULL);
	if (!ac_db_ok(site.db, res, PGRES_TUPLES_OK)) {
		ac_db_err(site.db, &e);
		ac_db_rollback(site.db);
		json_decref(before);
		if (e.code == AC_E_UNAVAILABLE || e.code == AC_E_INTERNAL) {
			ac_error("plan %s: %s", id, e.message);
			admin_db_failed(c);
		} else
			plan_form(c, 422, NULL, strcmp(ac_db_sqlstate(site.db), "23505") == 0 ?
			    "A plan with this name exists already: choose another name." : e.message);
		return;
	}
	pid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	vals[0] = id = ac_arena_printf(c->r->arena, "%lld", pid);
	if ((after = ac_db_json(site.db, &st_plan, vals, &found)) == NULL) {
		ac_db_rollback(site.db);
		json_decref(before);
		admin_db_failed(c);
		return;
	}
	details = before ? changes(before, after) : json_incref(after);
	rc = admin_commit(c, before ? "plan.edit" : "plan.create",
	    ac_arena_printf(c->r->arena, "plan:%lld", pid), details);
	json_decref(details);
	json_decref(before);
	json_decref(after);
	if (rc == -1) {
		admin_db_failed(c);
		return;
	}
	admin_redirect(c, ac_arena_printf(c->r->arena, "/admin/plans/%lld?done=%s", pid,
	    c->k->id > 0 ? "plan_saved" : "plan_created"));
}

/* POST /admin/plans */
static void
plan_create(struct ac_call *k)
{
	plan_write(k->ctx);
}

/* POST /admin/plans/N */
static void
plan_save(struct ac_call *k)
{
	plan_write(k->ctx);
}

/* The status it had, when it was not archived yet. */
static const struct ac_stmt st_archive = { "admin_plan_archive",
	"WITH o AS (SELECT id, status FROM plans WHERE id = $1 FOR UPDATE)"
	" UPDATE plans SET status = 'archived', updated_at = now() FROM o"
	" WHERE plans.id = o.id AND o.status <> 'archived' RETURNING o.status", 1 };
static const struct ac_stmt st_plan_exists = { "admin_plan_exists",
	"SELECT 1 FROM plans WHERE id = $1", 1 };

/* POST /admin/plans/N/archive: status archived, with its audit row; one
 * archived already is left as it is. Subscriptions are not touched. */
static void
plan_archive(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[1] = { admin_id(c) };
	json_t *details;
	PGresult *res;
	int rc;

	switch (admin_change(c, &st_archive, vals, &res)) {
	case -1:
		return;
	case 0:
		if ((rc = admin_lookup(c, &st_plan_exists, vals, &res)) == -1)
			return;
		PQclear(res);
		break;
	default:
		details = json_pack("{s:{s:s, s:s}}", "status", "from", PQgetvalue(res, 0, 0),
		    "to", "archived");
		PQclear(res);
		rc = admin_commit(c, "plan.archive", ac_arena_printf(c->r->arena, "plan:%lld",
		    k->id), details);
		json_decref(details);
		if (rc == -1) {
			admin_db_failed(c);
			return;
		}
		rc = 1;
	}
	if (rc == 0)
		admin_not_found(c);
	else
		admin_redirect(c, ac_arena_printf(c->r->arena,
		    "/admin/plans/%lld?done=plan_archived", k->id));
}
