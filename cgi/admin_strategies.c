/*
 * admin_strategies.c — /admin/strategies: the UT Bot strategies, their
 * Pine Script and TradingView steps (alert/strategy.h, the same as `acctl
 * strategy pine ID`), the webhook token, and test signals.
 *
 *	GET  /admin/strategies			every strategy
 *	GET  /admin/strategies/new		the form
 *	POST /admin/strategies			create
 *	GET  /admin/strategies/{id}		one: edit form, Pine Script, signals
 *	POST /admin/strategies/{id}		edit every field
 *	POST /admin/strategies/{id}/token	a new webhook token
 *	POST /admin/strategies/{id}/test	a test signal for one test user
 *
 * A test signal goes through ac_ingest() with the strategy's token, as a
 * TradingView alert does, carrying the test user: the fan-out serves that
 * user alone and charges nothing (work/fanout.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/ingest.h"
#include "alert/strategy.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "cgi/admin.h"
#include "web/request.h"

static void	list_page(struct ac_call *);
static void	new_page(struct ac_call *);
static void	create_post(struct ac_call *);
static void	show_page(struct ac_call *);
static void	edit_post(struct ac_call *);
static void	token_post(struct ac_call *);
static void	test_post(struct ac_call *);
static void	form_invalid(struct ac_call *, const struct ac_err *);
static void	test_invalid(struct ac_call *, const struct ac_err *);

static const char *const timeframes[] = { "1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h",
	"12h", "1d", "1w", NULL };
static const char *const statuses[] = { "active", "inactive", "testing", NULL };
static const char *const actions[] = { "BUY", "SELL", "TP_HIT", "SL_HIT", NULL };
static const char *const requirable[] = { "symbol", "timeframe", "strategy", "action", "price",
	"take_profit", "stop_loss", "time", NULL };
static const char *const sides[] = { "BUY", "SELL", NULL };

/* The strategy form; the names are alert/strategy.c's field names, so a
 * refusal there finds its message here. */
enum {
	F_NAME, F_DESCRIPTION, F_SYMBOL, F_TIMEFRAME, F_STRATEGY, F_KEY_VALUE, F_ATR, F_EMA,
	F_HEIKIN, F_MAX_OPEN, F_OPPOSITE, F_REPLACE, F_AUTO_CLOSE, F_ACTIONS, F_REQUIRED,
	F_TOLERANCE, F_STATUS, F_COST, F_WINDOW, F__N
};
static const struct ac_field_decl strategy_fields[] = {
	[F_NAME] = { "name", AC_F_STRING, AC_FROM_FORM, .max = 200,
	    .why = "Name: at most 200 characters (empty: strategy, symbol and timeframe)." },
	[F_DESCRIPTION] = { "description", AC_F_STRING, AC_FROM_FORM, .max = 2000,
	    .why = "Description: at most 2000 characters." },
	[F_SYMBOL] = { "symbol", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 31,
	    .why = "Symbol: a ticker such as BTCUSDT (letters, digits, . _ ! -)." },
	[F_TIMEFRAME] = { "timeframe", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED,
	    .values = timeframes, .why = "Timeframe: one of 1m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w." },
	[F_STRATEGY] = { "strategy", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 127, .why = "Strategy name: 1 to 127 characters, such as UT Bot." },
	[F_KEY_VALUE] = { "key_value", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 16, .why = "Key value: a number above 0 and under 100000, such as 1 or 2.5." },
	[F_ATR] = { "atr_period", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 500,
	    .why = "ATR period: a whole number from 1 to 500." },
	[F_EMA] = { "ema_period", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 500,
	    .why = "EMA period: a whole number from 1 to 500." },
	[F_HEIKIN] = { "heikin_ashi", AC_F_BOOL, AC_FROM_FORM },
	[F_MAX_OPEN] = { "max_open_trades", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 5, .why = "Max open trades: a whole number from 1 to 5." },
	[F_OPPOSITE] = { "allow_opposite", AC_F_BOOL, AC_FROM_FORM },
	[F_REPLACE] = { "replace_same", AC_F_BOOL, AC_FROM_FORM },
	[F_AUTO_CLOSE] = { "auto_close", AC_F_BOOL, AC_FROM_FORM },
	[F_ACTIONS] = { "actions", AC_F_LIST, AC_FROM_FORM,
	    .why = "Enabled actions: tick at least one of BUY, SELL, TP_HIT, SL_HIT." },
	[F_REQUIRED] = { "required", AC_F_LIST, AC_FROM_FORM,
	    .why = "Required fields: tick at least one." },
	[F_TOLERANCE] = { "price_tolerance", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 16, .why = "Price tolerance: a fraction from 0 to under 100, such as 0.05." },
	[F_STATUS] = { "status", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED, .values = statuses,
	    .why = "Status: active, inactive or testing." },
	[F_COST] = { "credit_cost", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 0,
	    .max = 1000000, .why = "Credit cost: a whole number from 0 to 1000000." },
	[F_WINDOW] = { "dedup_window", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 302400, .why = "Dedup window: seconds, from 1 to half a bar of the timeframe." },
	{ .name = NULL }
};

enum { T_USER, T_ACTION, T_PRICE };
static const struct ac_field_decl test_fields[] = {
	[T_USER] = { "user_id", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = INT64_MAX, .why = "Test user: choose one." },
	[T_ACTION] = { "action", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED, .values = sides,
	    .why = "Action: BUY or SELL." },
	[T_PRICE] = { "price", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 24,
	    .why = "Price: a number above 0, such as 42000.5." },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/strategies", list_page, AC_P_ALERTS_VIEW) },
	{ ADMIN_GET("/admin/strategies/new", new_page, AC_P_ALERTS_CONFIGURE) },
	{ ADMIN_POST("/admin/strategies", create_post, AC_P_ALERTS_CONFIGURE),
	    .fields = strategy_fields, .invalid = form_invalid },
	{ ADMIN_GET("/admin/strategies/{id}", show_page, AC_P_ALERTS_VIEW) },
	{ ADMIN_POST("/admin/strategies/{id}", edit_post, AC_P_ALERTS_CONFIGURE),
	    .fields = strategy_fields, .invalid = form_invalid },
	{ ADMIN_POST("/admin/strategies/{id}/token", token_post, AC_P_ALERTS_CONFIGURE) },
	{ ADMIN_POST("/admin/strategies/{id}/test", test_post, AC_P_ALERTS_CONFIGURE),
	    .fields = test_fields, .invalid = test_invalid },
};

static const struct admin_flash flashes[] = {
	{ "strategy_created", "The strategy is created. Its Pine Script and webhook URL are below." },
	{ "strategy_saved", "Changes saved." },
	{ "token_rotated", "A new webhook token is in place: put the new webhook URL below into"
	    " the TradingView alert." },
	{ "test_sent", "The test signal is stored and queued for its test user alone." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_strategies_area, routes, flashes);

/* ---- the form's values --------------------------------------------------------- */

/*
 * The form's values are a flat object of texts by field name (booleans
 * "1" or "", lists comma-joined), made from a stored strategy, from what
 * was posted, or from the defaults; form_view() turns it into what the
 * template shows. Edits are audited as the differences of two of them.
 */
static json_t *
values_of(const json_t *st)
{
	const json_t *ut = json_object_get(st, "ut_bot"), *tm = json_object_get(st,
	    "trade_management");
	json_t *o = json_object();
	const char *keys[] = { "name", "description", "symbol", "timeframe", "strategy", "status",
	    "price_tolerance" };
	const char *lists[][2] = { { "enabled_actions", "actions" },
	    { "required_fields", "required" } };
	char buf[256];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set_new(o, keys[i], json_string(json_string_value(json_object_get(st,
		    keys[i])) ? json_string_value(json_object_get(st, keys[i])) : ""));
	snprintf(buf, sizeof(buf), "%.10g", json_real_value(json_object_get(ut, "key_value")));
	json_object_set_new(o, "key_value", json_string(buf));
	json_object_set_new(o, "atr_period", json_sprintf("%lld",
	    (long long)json_integer_value(json_object_get(ut, "atr_period"))));
	json_object_set_new(o, "ema_period", json_sprintf("%lld",
	    (long long)json_integer_value(json_object_get(ut, "ema_period"))));
	json_object_set_new(o, "heikin_ashi", json_string(json_is_true(json_object_get(ut,
	    "heikin_ashi")) ? "1" : ""));
	json_object_set_new(o, "max_open_trades", json_sprintf("%lld",
	    (long long)json_integer_value(json_object_get(tm, "max_open_trades"))));
	json_object_set_new(o, "allow_opposite", json_string(json_is_true(json_object_get(tm,
	    "allow_opposite_signals")) ? "1" : ""));
	json_object_set_new(o, "replace_same", json_string(json_is_true(json_object_get(tm,
	    "replace_on_same_signal")) ? "1" : ""));
	json_object_set_new(o, "auto_close", json_string(json_is_true(json_object_get(tm,
	    "auto_close_on_tp_sl")) ? "1" : ""));
	json_object_set_new(o, "credit_cost", json_sprintf("%lld",
	    (long long)json_integer_value(json_object_get(st, "credit_cost"))));
	json_object_set_new(o, "dedup_window", json_sprintf("%lld",
	    (long long)json_integer_value(json_object_get(st, "dedup_window_s"))));
	for (size_t l = 0; l < 2; l++) {
		const json_t *arr = json_object_get(st, lists[l][0]), *v;
		size_t i, n = 0;

		buf[0] = '\0';
		json_array_foreach(arr, i, v)
			n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, "%s%s",
			    i ? "," : "", json_string_value(v));
		json_object_set_new(o, lists[l][1], json_string(buf));
	}
	return o;
}

/* What was posted, as typed (a list's values joined by commas). */
static json_t *
values_posted(const struct ac_call *k)
{
	json_t *o = json_object();
	const struct ac_field_decl *f;

	for (f = strategy_fields; f->name != NULL; f++) {
		char *joined = NULL;
		size_t n = 0;

		if (f->type != AC_F_LIST) {
			const char *s = ac_call_form(k, f->name);

			json_object_set_new(o, f->name, json_string(f->type == AC_F_BOOL ?
			    (s != NULL && *s ? "1" : "") : s ? s : ""));
			continue;
		}
		for (size_t i = 0; i < k->nform; i++)
			if (strcmp(k->form[i].key, f->name) == 0) {
				size_t len = strlen(k->form[i].value);

				if ((joined = realloc(joined, n + len + 2)) == NULL)
					abort();
				if (n > 0)
					joined[n++] = ',';
				memcpy(joined + n, k->form[i].value, len);
				n += len;
			}
		json_object_set_new(o, f->name, json_stringn(joined ? joined : "", n));
		free(joined);
	}
	return o;
}

static json_t *
values_default(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:s, s:s, s:s, s:s, s:s, s:s}", "name", "", "description", "", "symbol", "",
	    "timeframe", "1h", "strategy", "UT Bot", "key_value", "1", "atr_period", "10",
	    "ema_period", "1", "heikin_ashi", "", "max_open_trades", "3", "allow_opposite", "1",
	    "replace_same", "1", "auto_close", "1", "actions", "BUY,SELL,TP_HIT,SL_HIT",
	    "required", "symbol,timeframe,action,price", "price_tolerance", "0.05",
	    "status", "active", "credit_cost", "1", "dedup_window", "30");
}

/* 1 if the comma list holds word. */
static int
listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* [{"v": value, "on": true if chosen}] for a select or checkboxes. */
static json_t *
options(const char *const *all, const char *chosen, int list)
{
	json_t *arr = json_array();

	for (; *all != NULL; all++)
		json_array_append_new(arr, json_pack("{s:s, s:b}", "v", *all, "on",
		    list ? listed(chosen, *all) : strcmp(chosen, *all) == 0));
	return arr;
}

/* The template's form: the values (stolen), the options, the action, and
 * bad_<field> for a refused one. */
static json_t *
form_view(json_t *values, const char *action, const char *bad)
{
	const char *s = NULL;
	char key[64];
	json_t *f;

	f = json_pack("{s:o, s:s}", "v", values, "action", action);
	s = json_string_value(json_object_get(values, "timeframe"));
	json_object_set_new(f, "timeframes", options(timeframes, s ? s : "", 0));
	s = json_string_value(json_object_get(values, "status"));
	json_object_set_new(f, "statuses", options(statuses, s ? s : "", 0));
	s = json_string_value(json_object_get(values, "actions"));
	json_object_set_new(f, "actions", options(actions, s ? s : "", 1));
	s = json_string_value(json_object_get(values, "required"));
	json_object_set_new(f, "required", options(requirable, s ? s : "", 1));
	if (bad != NULL) {
		snprintf(key, sizeof(key), "bad_%s", bad);
		json_object_set_new(f, key, json_true());
	}
	return f;
}

/* The form's message for a refused field: its own why. */
static const char *
why_of(const char *field, const char *fallback)
{
	for (const struct ac_field_decl *f = strategy_fields; field && f->name != NULL; f++)
		if (strcmp(f->name, field) == 0 && f->why != NULL)
			return f->why;
	return fallback;
}

/* A status's badge colour. */
static const char *
badge(const char *status)
{
	return strcmp(status, "active") == 0 ? "success" : strcmp(status, "testing") == 0 ?
	    "warning" : "secondary";
}

/* How long ac-hook may still take the old token after a rotation: its
 * strategy cache's time to live, and the lookup already under way when an
 * entry expires (alert/strategy.c lets the others wait up to 2 s for it). */
static int
old_token_seconds(void)
{
	int ttl = ac_setting_int(&site.cfg, AC_S_STRATEGY_CACHE_MS);

	return ttl <= 0 ? 0 : (ttl + 999) / 1000 + 2;
}

/* ---- the list ------------------------------------------------------------------- */

static const struct ac_stmt st_list = { "admin_strategies_list",
	"SELECT coalesce(json_agg(json_build_object('id', st.id, 'name', st.name,"
	" 'symbol', st.symbol, 'timeframe', st.timeframe, 'status', st.status,"
	" 'badge', CASE st.status WHEN 'active' THEN 'success' WHEN 'testing' THEN 'warning'"
	"  ELSE 'secondary' END,"
	" 'last_alert_at', to_char(st.last_alert_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
	" 'total_alerts', st.total_alerts, 'credit_cost', st.credit_cost,"
	" 'subscribers', (SELECT count(DISTINCT s.user_id) FROM subscriptions s"
	"  JOIN plan_strategies ps ON ps.plan_id = s.plan_id AND ps.strategy_id = st.id"
	"  WHERE s.status IN ('active', 'past_due') AND s.period_start <= now()"
	"  AND s.period_end > now())) ORDER BY st.id), '[]') FROM strategies st", 0 };

/* GET /admin/strategies */
static void
list_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	json_t *arr;
	int found;

	if ((arr = ac_db_json(site.db, &st_list, NULL, &found)) == NULL) {
		admin_db_failed(c);
		return;
	}
	admin_page(c, 200, "strategies", "Strategies", json_pack("{s:o}", "list",
	    admin_rows(arr)), NULL);
}

/* ---- one strategy ---------------------------------------------------------------- */

/* The test users (with whether an alarm and a covering subscription let a
 * signal of strategy $1 reach them), its last 20 signals, its last price. */
static const struct ac_stmt st_show = { "admin_strategy_show",
	"SELECT json_build_object("
	" 'test_users', (SELECT json_agg(json_build_object('id', u.id, 'email', u.email,"
	"  'status', u.status, 'ready', u.status = 'active' AND EXISTS (SELECT 1 FROM alarms a"
	"  WHERE a.user_id = u.id AND a.strategy_id = $1 AND a.enabled) AND EXISTS (SELECT 1"
	"  FROM subscriptions s JOIN plan_strategies ps ON ps.plan_id = s.plan_id"
	"  AND ps.strategy_id = $1 WHERE s.user_id = u.id AND s.status IN ('active', 'past_due')"
	"  AND s.period_start <= now() AND s.period_end > now())) ORDER BY u.id)"
	"  FROM users u WHERE u.is_test),"
	" 'signals', (SELECT json_agg(json_build_object('id', g.id, 'action', g.action,"
	"  'price', g.price::text, 'status', g.status, 'matched_users', g.matched_users,"
	"  'test_user_id', g.test_user_id, 'received_at', to_char(g.received_at AT TIME ZONE"
	"  'UTC', 'YYYY-MM-DD HH24:MI:SS')) ORDER BY g.id DESC) FROM (SELECT * FROM signals"
	"  WHERE strategy_id = $1 ORDER BY id DESC LIMIT 20) g),"
	" 'last_price', (SELECT price::text FROM signals WHERE strategy_id = $1"
	"  ORDER BY id DESC LIMIT 1),"
	" 'public_record', (SELECT public_record FROM strategies WHERE id = $1))", 1 };

/* Marks the test user of id (text, may be NULL) chosen ("on"). */
static void
mark_user(json_t *users, const char *id)
{
	json_t *u;
	size_t i;

	json_array_foreach(users, i, u)
		json_object_set_new(u, "on", json_boolean(id != NULL &&
		    json_integer_value(json_object_get(u, "id")) == strtoll(id, NULL, 10)));
}

/* The strategy's page: the form with values (stolen; NULL: the stored
 * ones) and bad naming a refused field, the test form with test (stolen,
 * may be NULL), error above. */
static void
show(struct actx *c, int status, json_t *values, const char *bad, json_t *test,
    const char *error)
{
	const char *id = admin_id(c), *vals[1] = { id }, *sent = ac_req_arg(c->r, "signal");
	const char *errstr = NULL, *price;
	json_t *st, *x, *d;
	int found;

	if ((st = ac_strategy_get(site.db, c->k->id, site.cfg.base_url, &found)) == NULL ||
	    (x = ac_db_json(site.db, &st_show, vals, &found)) == NULL) {
		json_decref(st);
		json_decref(values);
		json_decref(test);
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	json_object_set_new(x, "has_signals", json_boolean(json_array_size(json_object_get(x,
	    "signals")) > 0));
	json_object_set_new(st, "badge", json_string(badge(json_string_value(
	    json_object_get(st, "status")))));
	if (test == NULL) {
		price = json_string_value(json_object_get(x, "last_price"));
		test = json_pack("{s:s, s:s}", "action", "BUY", "price", price ? price : "100");
	}
	d = json_pack("{s:o, s:o, s:o, s:o, s:o, s:i}", "s", st, "pine", ac_strategy_pine(st),
	    "f", form_view(values ? values : values_of(st), ac_arena_printf(c->r->arena,
	    "/admin/strategies/%s", id), bad), "x", x, "test", test, "old_token_s",
	    old_token_seconds());
	mark_user(json_object_get(x, "test_users"), json_string_value(json_object_get(test,
	    "user_id")));
	json_object_set_new(test, "sell", json_boolean(strcmp(json_string_value(
	    json_object_get(test, "action")), "SELL") == 0));
	if (sent != NULL && (ac_strtonum(sent, 1, INT64_MAX, &errstr), errstr == NULL))
		json_object_set_new(d, "sent_signal", json_string(sent));
	admin_page(c, status, "strategy", json_string_value(json_object_get(st, "name")), d, error);
}

/* GET /admin/strategies/{id} */
static void
show_page(struct ac_call *k)
{
	show(k->ctx, 200, NULL, NULL, NULL, NULL);
}

/* ---- changes ---------------------------------------------------------------------- */

/* What the form posted, for ac_strategy_create() / ac_strategy_edit(). */
static void
strategy_in(const struct ac_call *k, struct ac_strategy_new *in)
{
	const struct ac_val *v = k->v;

	*in = (struct ac_strategy_new){
	    .name = v[F_NAME].s != NULL && *v[F_NAME].s ? v[F_NAME].s : NULL,
	    .description = v[F_DESCRIPTION].s ? v[F_DESCRIPTION].s : "",
	    .symbol = v[F_SYMBOL].s, .timeframe = v[F_TIMEFRAME].s, .strategy = v[F_STRATEGY].s,
	    .key_value = v[F_KEY_VALUE].s, .atr_period = v[F_ATR].s, .ema_period = v[F_EMA].s,
	    .heikin_ashi = (int)v[F_HEIKIN].i, .max_open_trades = v[F_MAX_OPEN].s,
	    .actions = v[F_ACTIONS].s ? v[F_ACTIONS].s : "",
	    .required = v[F_REQUIRED].s ? v[F_REQUIRED].s : "",
	    .status = v[F_STATUS].s, .dedup_window = v[F_WINDOW].s,
	    .allow_opposite = (int)v[F_OPPOSITE].i, .replace_same = (int)v[F_REPLACE].i,
	    .auto_close = v[F_AUTO_CLOSE].i ? "true" : "false",
	    .price_tolerance = v[F_TOLERANCE].s, .credit_cost = v[F_COST].s };
}

/* The form again, as typed, with the refusal (the new form, or the
 * strategy's page for an edit). */
static void
form_again(struct ac_call *k, const char *bad, const char *message)
{
	struct actx *c = k->ctx;

	if (k->id == 0)
		admin_page(c, 422, "strategy_new", "New strategy", json_pack("{s:o}", "f",
		    form_view(values_posted(k), "/admin/strategies", bad)), message);
	else
		show(c, 422, values_posted(k), bad, NULL, message);
}

/* A refused field of the form. */
static void
form_invalid(struct ac_call *k, const struct ac_err *e)
{
	form_again(k, e->field, e->message);
}

/* What ac_strategy_create() / _edit() refused: the form again naming the
 * field (422), 404, or 500. */
static void
refused(struct ac_call *k, const struct ac_err *e)
{
	struct actx *c = k->ctx;

	if (e->code == AC_E_INVALID)
		form_again(k, e->field, why_of(e->field, e->message));
	else if (e->code == AC_E_CONFLICT)
		form_again(k, "strategy", ac_arena_printf(c->r->arena, "Already taken: %s. Symbol,"
		    " timeframe and strategy name together must be new; change one of them.",
		    e->message));
	else if (e->code == AC_E_NOT_FOUND)
		admin_not_found(c);
	else
		admin_db_failed(c);
}

/* admin_commit() of the change to strategy id with its audit row of
 * action; 0, or -1 (nothing changed, answered 500). details stolen. */
static int
audit_commit(struct actx *c, const char *action, long long id, json_t *details)
{
	int rc = admin_commit(c, action, ac_arena_printf(c->r->arena, "strategy:%lld", id),
	    details);

	json_decref(details);
	if (rc == -1)
		admin_db_failed(c);
	return rc;
}

/* GET /admin/strategies/new */
static void
new_page(struct ac_call *k)
{
	admin_page(k->ctx, 200, "strategy_new", "New strategy", json_pack("{s:o}", "f",
	    form_view(values_default(), "/admin/strategies", NULL)), NULL);
}

/* POST /admin/strategies: 303 to the new strategy, or the form again. */
static void
create_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_strategy_new in;
	struct ac_err e = { 0 };
	json_t *st;
	long long id;

	strategy_in(k, &in);
	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if ((st = ac_strategy_create(site.db, &in, site.cfg.base_url, &e)) == NULL) {
		ac_db_rollback(site.db);
		refused(k, &e);
		return;
	}
	id = json_integer_value(json_object_get(st, "id"));
	if (audit_commit(c, "strategy.create", id, values_of(st)) == 0)
		admin_redirect(c, ac_arena_printf(c->r->arena,
		    "/admin/strategies/%lld?done=strategy_created", id));
	json_decref(st);
}

/* {"field": {"from": old, "to": new}} for each value that differs. */
static json_t *
changes(const json_t *before, const json_t *after)
{
	json_t *d = json_object(), *v;
	const char *key;

	json_object_foreach((json_t *)after, key, v) {
		const char *was = json_string_value(json_object_get(before, key));

		if (was == NULL || strcmp(was, json_string_value(v)) != 0)
			json_object_set_new(d, key, json_pack("{s:s?, s:O}", "from", was, "to", v));
	}
	return d;
}

/* POST /admin/strategies/{id}: every field; 303 back, or the page again. */
static void
edit_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_strategy_new in;
	struct ac_err e = { 0 };
	json_t *old, *st, *before, *after;
	int found;

	strategy_in(k, &in);
	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if ((old = ac_strategy_get(site.db, k->id, site.cfg.base_url, &found)) == NULL) {
		ac_db_rollback(site.db);
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	if ((st = ac_strategy_edit(site.db, admin_id(c), &in, site.cfg.base_url, &e)) == NULL) {
		ac_db_rollback(site.db);
		json_decref(old);
		refused(k, &e);
		return;
	}
	before = values_of(old);
	after = values_of(st);
	if (audit_commit(c, "strategy.edit", k->id, json_pack("{s:o}", "changed",
	    changes(before, after))) == 0)
		admin_redirect(c, ac_arena_printf(c->r->arena,
		    "/admin/strategies/%lld?done=strategy_saved", k->id));
	json_decref(before);
	json_decref(after);
	json_decref(old);
	json_decref(st);
}

/* POST /admin/strategies/{id}/token: a new webhook token. */
static void
token_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_err e = { 0 };

	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if (ac_strategy_token_rotate(site.db, k->id, &e) == -1) {
		ac_db_rollback(site.db);
		if (e.code == AC_E_NOT_FOUND)
			admin_not_found(c);
		else
			admin_db_failed(c);
		return;
	}
	if (audit_commit(c, "strategy.token", k->id, json_pack("{s:s, s:i}", "webhook_token",
	    "rotated", "old_token_refused_within_s", old_token_seconds())) == 0)
		admin_redirect(c, ac_arena_printf(c->r->arena,
		    "/admin/strategies/%lld?done=token_rotated", k->id));
}

/* What the test form posted, as typed. */
static json_t *
test_posted(const struct ac_call *k)
{
	const char *u = ac_call_form(k, "user_id"), *a = ac_call_form(k, "action");
	const char *p = ac_call_form(k, "price");

	return json_pack("{s:s, s:s, s:s}", "user_id", u ? u : "", "action",
	    a != NULL && strcmp(a, "SELL") == 0 ? "SELL" : "BUY", "price", p ? p : "");
}

static void
test_invalid(struct ac_call *k, const struct ac_err *e)
{
	show(k->ctx, 422, NULL, NULL, test_posted(k), e->message);
}

static const struct ac_stmt st_test_user = { "admin_strategy_test_user",
	"SELECT email FROM users WHERE id = $1 AND is_test", 1 };

/* The alert TradingView would send for st: action at price (text of a
 * positive number), now; take profit and stop loss 1% away when the
 * strategy requires them. malloc'd JSON text. */
static char *
test_alert(const json_t *st, const char *action, double price)
{
	const json_t *req = json_object_get(st, "required_fields"), *v;
	int sell = strcmp(action, "SELL") == 0;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	json_t *o;
	size_t i;
	char *s;

	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	o = json_pack("{s:O, s:O, s:O, s:s, s:f, s:s}", "symbol", json_object_get(st, "symbol"),
	    "timeframe", json_object_get(st, "timeframe"), "strategy", json_object_get(st,
	    "strategy"), "action", action, "price", price, "time", now);
	json_array_foreach(req, i, v) {
		if (strcmp(json_string_value(v), "take_profit") == 0)
			json_object_set_new(o, "take_profit", json_real(price * (sell ? 0.99 : 1.01)));
		if (strcmp(json_string_value(v), "stop_loss") == 0)
			json_object_set_new(o, "stop_loss", json_real(price * (sell ? 1.01 : 0.99)));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_decref(o);
	return s;
}

/* POST /admin/strategies/{id}/test: a test signal through the real ingest
 * path, for one test user; 303 back naming the signal, or the page again. */
static void
test_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *uid = ac_arena_printf(c->r->arena, "%lld", k->v[T_USER].i), *vals[1] = { uid };
	const char *action = k->v[T_ACTION].s, *ptext = k->v[T_PRICE].s;
	struct ac_ingest_in in = { 0 };
	struct ac_ingest_out out;
	json_t *st;
	PGresult *res;
	char *body, *end;
	double price = strtod(ptext, &end);
	int found, known;

	if (*end != '\0' || !(price > 0 && price < 1e12) ||
	    strspn(ptext, "0123456789.") != strlen(ptext)) {
		show(c, 422, NULL, NULL, test_posted(k), test_fields[T_PRICE].why);
		return;
	}
	if ((st = ac_strategy_get(site.db, k->id, site.cfg.base_url, &found)) == NULL) {
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	if (ac_db_begin(site.db) == -1) {
		json_decref(st);
		admin_db_failed(c);
		return;
	}
	res = ac_db_exec(site.db, &st_test_user, vals, NULL, NULL);
	if (!ac_db_ok(site.db, res, PGRES_TUPLES_OK)) {
		ac_db_rollback(site.db);
		json_decref(st);
		admin_db_failed(c);
		return;
	}
	known = PQntuples(res) == 1;
	PQclear(res);
	if (!known) {
		ac_db_rollback(site.db);
		json_decref(st);
		show(c, 422, NULL, NULL, test_posted(k), "Test user: choose one of the test users"
		    " (users marked as test users).");
		return;
	}
	if ((body = test_alert(st, action, price)) == NULL) {	/* out of memory */
		ac_db_rollback(site.db);
		json_decref(st);
		admin_db_failed(c);
		return;
	}
	in.token = json_string_value(json_object_get(st, "token"));
	in.body = body;
	in.len = strlen(body);
	in.content_type = "application/json";
	in.remote_addr = c->r->remote_addr;
	in.request_id = ac_arena_printf(c->r->arena, "admin-test:%s", c->a.username);
	in.received_ms = ac_now_ms();
	in.test_user_id = k->v[T_USER].i;
	ac_ingest(site.db, &in, &out);
	if (out.result != AC_INGEST_QUEUED) {
		ac_db_rollback(site.db);
		if (out.result == AC_INGEST_REJECTED)
			show(c, 422, NULL, NULL, test_posted(k), ac_arena_printf(c->r->arena,
			    "The test signal was refused, as TradingView's alert would be: %s",
			    out.err.message));
		else if (out.result == AC_INGEST_DUPLICATE)
			show(c, 409, NULL, NULL, test_posted(k), ac_arena_printf(c->r->arena,
			    "The same test signal was sent less than the strategy's dedup window"
			    " (%lld s) ago, so it counts as that one (signal %lld): change the"
			    " price or wait.", (long long)json_integer_value(json_object_get(st,
			    "dedup_window_s")), out.signal_id));
		else
			admin_db_failed(c);
	} else if (audit_commit(c, "strategy.test", k->id, json_pack("{s:I, s:I, s:s, s:f}",
	    "signal_id", (json_int_t)out.signal_id, "test_user_id", (json_int_t)k->v[T_USER].i,
	    "action", action, "price", price)) == 0)
		admin_redirect(c, ac_arena_printf(c->r->arena,
		    "/admin/strategies/%lld?done=test_sent&signal=%lld", k->id, out.signal_id));
	free(body);
	json_decref(st);
}
