/*
 * ac-api — the JSON API under /api/v1 (docs/openapi.yaml describes it).
 *
 * POST /auth/token trades an email and password for a short-lived HS256
 * access token (lib/web/jwt.h); personal API tokens made in the portal
 * ("act_...") work as well, both as "Authorization: Bearer". Every other
 * route but GET /strategies/N/record (a strategy's public track record)
 * needs one, and counts against the user's 100 requests a minute
 * (Redis; 429 with Retry-After; open when Redis is away); an address whose
 * tokens failed AC_API_BAD_TOKEN_MAX times in a minute gets 429 until the
 * minute is over, whatever it sends. Errors are
 * {"error":{"code","message","field"}}. Rows of another user are 404.
 *
 * `ac-api --routes` prints the route table ("METHOD /path" a line, '#'
 * for an id), so a test can hold it against the OpenAPI file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "account/alarm.h"
#include "account/credits.h"
#include "account/history.h"
#include "account/plans.h"
#include "account/profile.h"
#include "account/trades.h"
#include "alert/record.h"
#include "base/arena.h"
#include "base/channel.h"
#include "web/auth.h"
#include "base/config.h"
#include "base/db.h"
#include "web/jwt.h"
#include "base/log.h"
#include "web/ratelimit.h"
#include "web/request.h"
#include "web/responder.h"
#include "web/response.h"
#include "web/route.h"
#include "base/util.h"
#include "billing/payments.h"
#include "billing/stripe.h"

#define AUDIENCE	"alertcast-api"
#define PREFIX		"/api/v1"

static struct {
	struct ac_config cfg;
	struct ac_db	*db;
	struct ac_auth_cfg auth;
	unsigned char	 key[AC_JWT_KEY_LEN];
	int		 token_ttl_s;	/* AC_API_TOKEN_SECONDS (900) */
	int		 per_minute;	/* AC_API_PER_MINUTE (100) */
	int		 bad_token_max;	/* AC_API_BAD_TOKEN_MAX failures a minute an address (20) */
	struct ac_stripe_api stripe;	/* checkout and billing portal sessions */
} api;


static void	auth_token(struct ac_call *);
static void	auth_user(struct ac_call *);
static void	alarms_list(struct ac_call *);
static void	alarms_create(struct ac_call *);
static void	alarm_get(struct ac_call *);
static void	alarm_put(struct ac_call *);
static void	alarm_delete(struct ac_call *);
static void	profile(struct ac_call *);
static void	credits(struct ac_call *);
static void	history(struct ac_call *);
static void	plans(struct ac_call *);
static void	sub_status(struct ac_call *);
static void	signals(struct ac_call *);
static void	trades(struct ac_call *);
static void	record(struct ac_call *);
static void	checkout(struct ac_call *);
static void	billing_portal(struct ac_call *);
static void	payments(struct ac_call *);
static void	auth_token_refused(struct ac_call *, const struct ac_err *);

enum { RATE_USER = 1 };
#define RECORD_RECENT	50	/* recent signals in a track record */	/* counts against the user's AC_API_PER_MINUTE */

static const char *const delivery_values[] = { "queued", "sent", "failed", "skipped", NULL };
static const char *const trade_values[] = { "open", "closed", "replaced", NULL };

enum { TOKEN_EMAIL, TOKEN_PASSWORD };
static const struct ac_field_decl token_fields[] = {
	[TOKEN_EMAIL] = { "email", AC_F_STRING, AC_FROM_JSON, AC_F_REQUIRED,
	    .why = "email and password (strings) are required" },
	[TOKEN_PASSWORD] = { "password", AC_F_STRING, AC_FROM_JSON, AC_F_REQUIRED,
	    .why = "email and password (strings) are required" },
	{ .name = NULL }
};

enum { NEW_STRATEGY };
static const struct ac_field_decl alarm_new_fields[] = {
	[NEW_STRATEGY] = { "strategy_id", AC_F_INT, AC_FROM_JSON, AC_F_REQUIRED, .min = 1,
	    .max = INT64_MAX,
	    .why = "strategy_id (a positive integer) is required" },
	{ .name = NULL }
};

enum { CREDITS_BEFORE, CREDITS_LIMIT };
static const struct ac_field_decl credits_fields[] = {
	[CREDITS_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = INT64_MAX },
	[CREDITS_LIMIT] = { "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 500, .def = 100 },
	{ .name = NULL }
};

enum { HISTORY_CHANNEL, HISTORY_STATUS, HISTORY_BEFORE, HISTORY_LIMIT };
static const struct ac_field_decl history_fields[] = {
	[HISTORY_CHANNEL] = { "channel", AC_F_ENUM, AC_FROM_QUERY, .values = ac_channel_names },
	[HISTORY_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, .values = delivery_values },
	[HISTORY_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = INT64_MAX },
	[HISTORY_LIMIT] = { "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 200, .def = 50 },
	{ .name = NULL }
};

enum { CHECKOUT_PLAN };
static const struct ac_field_decl checkout_fields[] = {
	[CHECKOUT_PLAN] = { "plan_id", AC_F_INT, AC_FROM_JSON, AC_F_REQUIRED, .min = 1,
	    .max = INT64_MAX, .why = "plan_id (a positive integer) is required" },
	{ .name = NULL }
};

enum { SIGNALS_BEFORE, SIGNALS_LIMIT };
static const struct ac_field_decl signals_fields[] = {
	[SIGNALS_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = INT64_MAX },
	[SIGNALS_LIMIT] = { "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 200, .def = 50 },
	{ .name = NULL }
};

enum { TRADES_STATUS, TRADES_BEFORE, TRADES_LIMIT };
static const struct ac_field_decl trades_fields[] = {
	[TRADES_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, .values = trade_values },
	[TRADES_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = INT64_MAX },
	[TRADES_LIMIT] = { "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 500, .def = 100 },
	{ .name = NULL }
};

#define BEARER	.access = AC_BEARER, .audience = AUDIENCE, .rate = RATE_USER

/* '{id}' is one segment holding a positive id. */
static const struct ac_route routes[] = {
	{ .method = AC_M_POST, .path = PREFIX "/auth/token", .fn = auth_token, .body = AC_BODY_JSON,
	    .fields = token_fields, .refused = auth_token_refused },
	{ .method = AC_M_GET, .path = PREFIX "/auth/user", .fn = auth_user, BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/alarms", .fn = alarms_list, BEARER },
	{ .method = AC_M_POST, .path = PREFIX "/alarms", .fn = alarms_create, BEARER,
	    .body = AC_BODY_JSON,
	    .fields = alarm_new_fields },
	{ .method = AC_M_GET, .path = PREFIX "/alarms/{id}", .fn = alarm_get, BEARER },
	{ .method = AC_M_PUT, .path = PREFIX "/alarms/{id}", .fn = alarm_put, BEARER,
	    .body = AC_BODY_JSON },
	{ .method = AC_M_DELETE, .path = PREFIX "/alarms/{id}", .fn = alarm_delete, BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/account/profile", .fn = profile, BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/account/credits", .fn = credits, BEARER,
	    .fields = credits_fields },
	{ .method = AC_M_GET, .path = PREFIX "/account/history", .fn = history, BEARER,
	    .fields = history_fields },
	{ .method = AC_M_GET, .path = PREFIX "/subscriptions/plans", .fn = plans, BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/subscriptions/status", .fn = sub_status, BEARER },
	{ .method = AC_M_POST, .path = PREFIX "/subscriptions/checkout", .fn = checkout, BEARER,
	    .body = AC_BODY_JSON, .fields = checkout_fields },
	{ .method = AC_M_POST, .path = PREFIX "/subscriptions/portal", .fn = billing_portal,
	    BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/payments", .fn = payments, BEARER },
	{ .method = AC_M_GET, .path = PREFIX "/signals", .fn = signals, BEARER,
	    .fields = signals_fields },
	{ .method = AC_M_GET, .path = PREFIX "/trades", .fn = trades, BEARER,
	    .fields = trades_fields },
	{ .method = AC_M_GET, .path = PREFIX "/strategies/{id}/record", .fn = record },
};

/* ---- helpers ------------------------------------------------------------------ */

/* The 503 answer when the database failed (already logged). */
static void
db_failed(struct ac_req *r)
{
	ac_reply_error(r, 503, "unavailable", "the database could not be reached; retry", NULL);
}

/* Answers o (stolen) with status 200; when it is NULL, 404 or 503 as *e says. */
static void
reply_read(struct ac_req *r, json_t *o, const struct ac_err *e)
{
	if (o != NULL)
		ac_reply_json(r, 200, o);
	else if (e->code == AC_E_NOT_FOUND)
		ac_reply_error(r, 404, "not_found", "no such resource", NULL);
	else
		db_failed(r);
}

/* The members keys (NULL-terminated) of o, in that order, as a new object;
 * o is released. NULL stays NULL. */
static json_t *
pick(json_t *o, const char *const *keys)
{
	json_t *p;

	if (o == NULL)
		return NULL;
	p = json_object();
	for (; *keys; keys++)
		if (json_object_get(o, *keys) != NULL)
			json_object_set(p, *keys, json_object_get(o, *keys));
	json_decref(o);
	return p;
}

/* pick() on every object of the array a (in place); a is returned. */
static json_t *
pick_each(json_t *a, const char *const *keys)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		json_array_set_new(a, i, pick(json_incref(json_array_get(a, i)), keys));
	return a;
}

/* A 429 error with Retry-After: seconds. */
static void
too_many(struct ac_req *r, int seconds, const char *code, const char *message)
{
	json_t *o = json_pack("{s:{s:s, s:s, s:n}}", "error", "code", code, "message", message,
	    "field");
	char *body = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	ac_reply(r, 429, "application/json", ac_arena_printf(r->arena, "Retry-After: %d\r\n",
	    seconds), body ? body : "", body ? strlen(body) : 0);
	free(body);
}

/* ---- auth ------------------------------------------------------------------------ */

/* POST /auth/token: email and password to an access token; 401 for every failure, 429 when throttled. */
static void
auth_token(struct ac_call *k)
{
	struct ac_req *r = k->r;
	const char *email = k->v[TOKEN_EMAIL].s, *password = k->v[TOKEN_PASSWORD].s;
	char token[AC_JWT_MAX];
	long long uid, cv;

	switch (ac_auth_login(api.db, &api.auth, email, password, r->remote_addr, &uid)) {
	case AC_AUTH_OK:
		if ((cv = ac_credential_version(api.db, uid, NULL)) == -1) {
			db_failed(r);
			break;
		}
		if (cv == 0 || ac_jwt_sign(api.key, uid, cv, AUDIENCE, ac_now_ms() / 1000,
		    api.token_ttl_s, token) == -1) {
			ac_reply_error(r, 500, "internal", "no token could be made", NULL);
			break;
		}
		ac_reply_json(r, 200, json_pack("{s:s, s:s, s:i}", "access_token", token,
		    "token_type", "Bearer", "expires_in", api.token_ttl_s));
		break;
	case AC_AUTH_THROTTLED:
		too_many(r, 60, "too_many_attempts",
		    "too many failed logins; wait before trying again");
		break;
	case AC_AUTH_ERROR:
		db_failed(r);
		break;
	default:
		ac_reply_error(r, 401, "invalid_credentials",
		    "the email or password is not right, or the account is locked for a while",
		    NULL);
	}
}

/* A body that could not be read counts as a failed login from the address
 * (fields missing from a JSON object do not). */
static void
auth_token_refused(struct ac_call *k, const struct ac_err *e)
{
	if (e->code != AC_E_UNPROCESSABLE)
		ac_auth_login_refused(&api.auth, NULL, k->r->remote_addr);
}

/* The user the Bearer token names: > 0; 0 after answering 401; -1 after
 * 503. An access token (JWT) holds only while its user is active and its
 * credential version is the user's current one (a password, email or
 * status change moves it); a personal token, while it is not revoked and
 * its user is active (it outlives a password change, as /tokens says). */
static long long
bearer_user(struct ac_req *r, const char *audience)
{
	const char *h = ac_req_header(r, "Authorization"), *why = NULL;
	long long uid, cv, now_cv;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		ac_reply_error(r, 401, "unauthorized", "send Authorization: Bearer <token>", NULL);
		return 0;
	}
	h += 7;
	if (strncmp(h, AC_API_TOKEN_PREFIX, strlen(AC_API_TOKEN_PREFIX)) == 0) {
		uid = ac_api_token_user(api.db, h);
		why = "unknown or revoked";
	} else {
		uid = ac_jwt_verify(api.key, h, audience, ac_now_ms() / 1000, &cv, &why);
		/* a token without the claim (cv 0: issued before versions) never matches */
		if (uid > 0 && ((now_cv = ac_credential_version(api.db, uid, NULL)) <= 0 || now_cv != cv)) {
			uid = now_cv == -1 ? -1 : 0;
			why = now_cv == 0 ? "account not active" : "credential version changed";
		}
	}
	if (uid == -1) {
		db_failed(r);
		return -1;
	}
	if (uid == 0) {
		ac_info("bearer token refused: %s", why);
		ac_reply_error(r, 401, "unauthorized", "the token is not valid (or has expired)",
		    NULL);
	}
	return uid;
}

/* GET /auth/user: the token's user. */
static void
auth_user(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "email", "name", "status", "credit_balance",
	    "created_at", NULL };
	struct ac_err e = { 0 };

	reply_read(r, pick(ac_profile(api.db, uid, &e), keys), &e);
}

/* ---- alarms ----------------------------------------------------------------------- */

/* GET /alarms: the user's alarms. */
static void
alarms_list(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	json_t *a = ac_alarm_list(api.db, uid, NULL);

	if (a == NULL)
		db_failed(r);
	else
		ac_reply_json(r, 200, json_pack("{s:o}", "alarms", a));
}

/* A price member: a positive number or numeric string into buf; "" when
 * null or absent; NULL when it is something else. */
static const char *
price_text(const json_t *v, char *buf, size_t n)
{
	if (v == NULL || json_is_null(v))
		return "";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_number(v)) {
		snprintf(buf, n, "%.15g", json_number_value(v));
		return buf;
	}
	return NULL;
}

/* The alarm fields of body over base (NULL: the defaults for a new alarm)
 * into *in, with strings from r's arena. NULL, or what is wrong (*field). */
static const char *
alarm_fields(struct ac_req *r, const json_t *body, const json_t *base, struct ac_alarm_in *in,
    const char **field)
{
	static const char *const flags[] = { "on_entry", "on_exit", "on_replacement", "enabled" };
	int *dst[] = { &in->on_entry, &in->on_exit, &in->on_replacement, &in->enabled };
	const json_t *ch = json_object_get(body, "channels"), *v;
	struct ac_err e = { 0 };
	char *list = "", buf[2][64];
	const char *mn, *mx;
	size_t i;

	if (ch == NULL)
		ch = base ? json_object_get(base, "channels") : NULL;
	if (ch == NULL) {
		list = "telegram";
	} else if (!json_is_array(ch)) {
		*field = "channels";
		return "channels must be an array of channel names";
	}
	json_array_foreach(ch, i, v) {
		if (!json_is_string(v)) {
			*field = "channels";
			return "channels must be an array of channel names";
		}
		list = ac_arena_printf(r->arena, "%s%s%s", list, *list ? "," : "",
		    json_string_value(v));
	}
	for (i = 0; i < 4; i++) {
		v = json_object_get(body, flags[i]);
		if (v == NULL)
			v = base ? json_object_get(base, flags[i]) : json_true();
		if (!json_is_boolean(v)) {
			*field = flags[i];
			return ac_arena_printf(r->arena, "%s must be true or false", flags[i]);
		}
		*dst[i] = json_is_true(v);
	}
	v = json_object_get(body, "min_price");
	mn = price_text(v ? v : base ? json_object_get(base, "min_price") : NULL, buf[0], 64);
	v = json_object_get(body, "max_price");
	mx = price_text(v ? v : base ? json_object_get(base, "max_price") : NULL, buf[1], 64);
	if (mn == NULL || mx == NULL) {
		*field = mn == NULL ? "min_price" : "max_price";
		return "prices must be positive numbers or null";
	}
	in->channels = list;
	in->min_price = ac_arena_strdup(r->arena, mn);
	in->max_price = ac_arena_strdup(r->arena, mx);
	if (ac_alarm_check(in, &e) == 0)
		return NULL;
	*field = e.field;
	return ac_arena_strdup(r->arena, e.message);
}

/* Answers the user's alarm id with status, or 404. */
static void
reply_alarm(struct ac_req *r, long long uid, long long id, int status)
{
	struct ac_err e = { 0 };
	json_t *a = ac_alarm_get(api.db, uid, id, &e);

	if (a != NULL)
		ac_reply_json(r, status, a);
	else if (e.code == AC_E_NOT_FOUND)
		ac_reply_error(r, 404, "not_found", "no such alarm", NULL);
	else
		db_failed(r);
}

/* 402 with e's code and message, and the plans that would allow the
 * alarm on strategy: {"error": {"code", "message", "field", "plans": [...]}}. */
static void
payment_required(struct ac_req *r, long long uid, long long strategy, const struct ac_err *e)
{
	struct ac_err pe = { 0 };
	json_t *plans = ac_plans_allowing(api.db, uid, strategy, &pe);

	if (plans == NULL) {
		db_failed(r);
		return;
	}
	ac_reply_json(r, 402, json_pack("{s:{s:s, s:s, s:s, s:o}}", "error", "code", ac_err_slug(e),
	    "message", e->message, "field", "strategy_id", "plans", plans));
}

/* POST /alarms: 201 with the alarm; 402 (with the plans that would allow
 * it) when no subscription covers the strategy or the plan allows no more,
 * 409 if one exists, 422. */
static void
alarms_create(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user, id = k->id;
	json_t *b = k->json, *a;
	struct ac_alarm_in in = { 0 };
	struct ac_err e = { 0 };
	const char *why, *field = NULL, *strategy = k->v[NEW_STRATEGY].s;

	if ((why = alarm_fields(r, b, NULL, &in, &field)) != NULL) {
		ac_reply_error(r, 422, "invalid", why, field);
		return;
	}
	in.user_id = uid;
	in.strategy_id = strategy;
	in.need_credit = 1;	/* an alarm that could never be paid for is a 402 here */
	if ((a = ac_alarm_create(api.db, &in, &e)) == NULL) {
		if (e.code == AC_E_CONFLICT)
			ac_reply_error(r, 409, "conflict",
			    "you already have an alarm for this strategy", "strategy_id");
		else if (e.code == AC_E_PAYMENT)
			payment_required(r, uid, strtoll(strategy, NULL, 10), &e);
		else if (e.code == AC_E_INVALID)
			ac_reply_error(r, 422, "invalid", e.message, e.field);
		else
			db_failed(r);
		return;
	}
	id = (long long)json_integer_value(json_object_get(a, "id"));
	json_decref(a);
	reply_alarm(r, uid, id, 201);
}

/* GET /alarms/N: the user's alarm N, or 404. */
static void
alarm_get(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user, id = k->id;
	reply_alarm(r, uid, id, 200);
}

/* PUT /alarms/N: changes the given members of the user's alarm N, or 404/422. */
static void
alarm_put(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user, id = k->id;
	struct ac_alarm_in in = { 0 };
	const char *why, *field = NULL;
	struct ac_err e = { 0 };
	json_t *b = k->json, *cur;
	int n;

	if ((cur = ac_alarm_get(api.db, uid, id, &e)) == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			ac_reply_error(r, 404, "not_found", "no such alarm", NULL);
		else
			db_failed(r);
		return;
	}
	why = alarm_fields(r, b, cur, &in, &field);
	json_decref(cur);
	if (why != NULL) {
		ac_reply_error(r, 422, "invalid", why, field);
		return;
	}
	if ((n = ac_alarm_update(api.db, uid, id, &in)) == 1)
		reply_alarm(r, uid, id, 200);
	else if (n == 0)
		ac_reply_error(r, 404, "not_found", "no such alarm", NULL);
	else
		db_failed(r);
}

/* DELETE /alarms/N: 204, or 404. */
static void
alarm_delete(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user, id = k->id;
	int n = ac_alarm_delete(api.db, uid, id);

	if (n == 1)
		ac_reply(r, 204, "application/json", NULL, "", 0);
	else if (n == 0)
		ac_reply_error(r, 404, "not_found", "no such alarm", NULL);
	else
		db_failed(r);
}

/* ---- account, subscriptions, signals, trades ----------------------------------------- */

/* GET /account/profile: profile, preferences and balance. */
static void
profile(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "email", "name", "phone", "timezone", "status",
	    "max_daily_alerts", "risk_level", "notifications", "telegram_connected",
	    "credit_balance", "created_at", NULL };
	struct ac_err e = { 0 };

	reply_read(r, pick(ac_profile(api.db, uid, &e), keys), &e);
}

/* GET /account/credits?before=&limit=: the balance and the ledger rows,
 * newest first, a page (ids below before) at a time. */
static void
credits(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "amount", "kind", "reference", "created_at",
	    NULL };
	long long before = k->v[CREDITS_BEFORE].i, limit = k->v[CREDITS_LIMIT].i;
	struct ac_err e = { 0 };
	json_t *c;

	if ((c = ac_credits(api.db, uid, before, limit, 0, &e)) != NULL)
		pick_each(json_object_get(c, "entries"), keys);
	reply_read(r, c, &e);
}

/* GET /account/history?channel=&status=&before=&limit=: deliveries, newest
 * first, of the signals the user may see (as GET /signals). */
static void
history(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "signal_id", "strategy_id", "strategy",
	    "symbol", "timeframe", "action", "price", "channel", "kind", "status", "skip_reason",
	    "created_at", "sent_at", "latency_ms", NULL };
	const char *channel = k->v[HISTORY_CHANNEL].s, *status = k->v[HISTORY_STATUS].s;
	long long before = k->v[HISTORY_BEFORE].i, limit = k->v[HISTORY_LIMIT].i;
	char b[24];
	struct ac_err e = { 0 };
	json_t *h;

	snprintf(b, sizeof(b), "%lld", before);
	h = ac_history(api.db, uid, &(struct ac_history_query){ .channel = channel,
	    .status = status, .before = before ? b : NULL, .limit = limit }, &e);
	reply_read(r, h ? json_pack("{s:o}", "items", pick_each(json_incref(json_object_get(h,
	    "items")), keys)) : NULL, &e);
	json_decref(h);
}

/* GET /subscriptions/plans: the plans on offer. */
static void
plans(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "name", "description", "price_minor",
	    "currency", "duration_months", "duration_days", "credits_per_period",
	    "max_strategies", "max_open_trades", "priority_support", "advanced_analytics",
	    "popular", "strategy_ids", NULL };
	struct ac_err e = { 0 };
	json_t *p = ac_plans(api.db, uid, 0, &e);

	reply_read(r, p ? json_pack("{s:o}", "plans", pick_each(p, keys)) : NULL, &e);
}

/* GET /subscriptions/status: current subscriptions and the balance. */
static void
sub_status(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	struct ac_err e = { 0 };

	reply_read(r, ac_subscription_status(api.db, uid, &e), &e);
}

/* 201 {"url"} of a Stripe page (url: malloc'd, freed), or the answer to
 * the Stripe call that failed (url NULL, *e). */
static void
reply_stripe(struct ac_req *r, char *url, const struct ac_err *e)
{
	if (url != NULL) {
		ac_reply_json(r, 201, json_pack("{s:s}", "url", url));
		free(url);
		return;
	}
	switch (e->code) {
	case AC_E_NOT_FOUND:
		ac_reply_error(r, 404, "not_found", e->message, e->field);
		break;
	case AC_E_UNPROCESSABLE:
		ac_reply_error(r, 422, "unprocessable", e->message, e->field);
		break;
	case AC_E_UNAVAILABLE:
		ac_reply_error(r, 503, "unavailable", "the payment provider did not answer in time;"
		    " try again in a minute", NULL);
		break;
	default:
		db_failed(r);
	}
}

/* POST /subscriptions/checkout {"plan_id"}: 201 {"url"} of a Stripe
 * Checkout page for the plan (the same one for ten minutes). */
static void
checkout(struct ac_call *k)
{
	struct ac_err e = { 0 };

	reply_stripe(k->r, ac_stripe_checkout(api.db, &api.stripe, k->user,
	    k->v[CHECKOUT_PLAN].i, &e), &e);
}

/* POST /subscriptions/portal: 201 {"url"} of Stripe's billing portal
 * (change the card, cancel) for the user's card subscriptions. */
static void
billing_portal(struct ac_call *k)
{
	struct ac_err e = { 0 };

	reply_stripe(k->r, ac_stripe_portal(api.db, &api.stripe, k->user, "/account", &e), &e);
}

/* GET /payments: the user's manual payments, newest first (the proof's
 * file name is the portal's business, not shown). */
static void
payments(struct ac_call *k)
{
	struct ac_err e = { 0 };
	json_t *a = ac_payments_list(api.db, k->user, NULL, 200, &e), *p;
	size_t i;

	json_array_foreach(a, i, p) {
		json_object_set_new(p, "has_proof", json_boolean(!json_is_null(json_object_get(p,
		    "proof_file")) && json_object_get(p, "proof_file") != NULL));
		json_object_del(p, "proof_file");
		json_object_del(p, "email");
		json_object_del(p, "reviewed_by");
	}
	reply_read(k->r, a ? json_pack("{s:o}", "payments", a) : NULL, &e);
}

/* GET /signals?limit=: recent processed signals of the strategies the user
 * has alarms on, each only if a subscription of theirs covered its strategy
 * when it arrived (ac_visible_periods, sql/013_visible_periods.sql). */
static void
signals(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	long long before = k->v[SIGNALS_BEFORE].i, limit = k->v[SIGNALS_LIMIT].i;
	struct ac_err e = { 0 };
	json_t *a;

	a = ac_signals(api.db, uid, before, limit, &e);
	reply_read(r, a ? json_pack("{s:o}", "signals", a) : NULL, &e);
}

/* GET /strategies/{id}/record: the strategy's public track record
 * (alert/record.h), for anyone; 404 unless its operator opted in. */
static void
record(struct ac_call *k)
{
	struct ac_err e = { 0 };

	reply_read(k->r, ac_record(api.db, k->id, RECORD_RECENT, NULL, &e), &e);
}

/* GET /trades?status=&before=&limit=: the user's virtual trades, newest
 * first, a page (ids below before) at a time. */
static void
trades(struct ac_call *k)
{
	struct ac_req *r = k->r;
	long long uid = k->user;
	static const char *const keys[] = { "id", "trade_number", "strategy_id", "strategy",
	    "symbol", "timeframe", "side", "status", "entry_price", "take_profit", "stop_loss",
	    "exit_price", "exit_reason", "pnl_amount", "pnl_percent", "opened_at", "closed_at",
	    NULL };
	const char *status = k->v[TRADES_STATUS].s;
	long long before = k->v[TRADES_BEFORE].i, limit = k->v[TRADES_LIMIT].i;
	struct ac_err e = { 0 };
	json_t *t;

	t = ac_trades(api.db, uid, status, before, limit, 0, &e);
	reply_read(r, t ? json_pack("{s:o}", "trades", pick_each(t, keys)) : NULL, &e);
}

/* ---- routing ------------------------------------------------------------------------ */

/* Counts the request against the user's minute: 0, or -1 after 429. */
static int
rate_limited(struct ac_req *r, long long uid)
{
	char key[48];
	int ttl = 60;
	long long n;

	snprintf(key, sizeof(key), "ac:api:%lld", uid);
	n = ac_rate_hit(key, 60, &ttl);
	if (n <= api.per_minute)
		return 0;
	too_many(r, ttl, "rate_limited",
	    "more than the allowed requests a minute; retry after Retry-After seconds");
	return -1;
}

/* The Bearer token's user as bearer_user() answers it, after the address's
 * failed tokens are counted: 0 after answering 429 when there were too many. */
static long long
bearer_throttled_user(struct ac_req *r, const char *audience)
{
	char key[128];
	int ttl = 60;
	long long uid;

	snprintf(key, sizeof(key), "ac:api:badtoken:%.64s", r->remote_addr);
	if (ac_rate_count(key) >= api.bad_token_max) {
		ac_info("bearer tokens refused from %s: too many bad ones", r->remote_addr);
		(void)ac_rate_hit(key, 60, &ttl);	/* for the seconds left */
		too_many(r, ttl, "too_many_attempts",
		    "too many invalid tokens from this address; retry after Retry-After seconds");
		return 0;
	}
	if ((uid = bearer_user(r, audience)) == 0)
		(void)ac_rate_hit(key, 60, NULL);
	return uid;
}

/* The access phase: a Bearer row's token (for its audience), counted
 * against the address's failures, then the user's minute. */
static int
access_check(struct ac_call *k, struct ac_err *e)
{
	if (k->route->access != AC_BEARER)
		return 0;
	if ((k->user = bearer_throttled_user(k->r, k->route->audience)) <= 0)
		return 1;
	if (k->route->rate == RATE_USER && rate_limited(k->r, k->user) == -1)
		return 1;
	return 0;
}

static const struct ac_router router = { .routes = routes,
	.n = sizeof(routes) / sizeof(routes[0]), .access = access_check };

static void
route(struct ac_req *r)
{
	ac_route(&router, &(struct ac_call){ .r = r });
}

/* SIGTERM, SIGINT: finish the request in hand, then stop. */
/* Sets up from the configuration and serves FastCGI requests on fd 0 until told to stop; --routes prints the route table. */
int
main(int argc, char *argv[])
{
	struct ac_err e = { 0 };
	int rc;

	if ((rc = ac_responder_start(argc, argv, "ac-api", &router, &api.cfg)) != -1)
		return rc;
	ac_auth_init(&api.auth, &api.cfg);
	if (ac_jwt_key(ac_setting_str(&api.cfg, AC_S_JWT_SECRET), api.cfg.state_dir, api.key,
	    &e) == -1) {
		ac_error("signing key: %s", e.message);
		return 1;
	}
	api.token_ttl_s = ac_setting_int(&api.cfg, AC_S_API_TOKEN_SECONDS);
	api.per_minute = ac_setting_int(&api.cfg, AC_S_API_PER_MINUTE);
	api.bad_token_max = ac_setting_int(&api.cfg, AC_S_API_BAD_TOKEN_MAX);
	api.stripe = (struct ac_stripe_api){ .base = ac_setting_str(&api.cfg, AC_S_STRIPE_API_BASE),
	    .secret_key = ac_setting_str(&api.cfg, AC_S_STRIPE_SECRET_KEY),
	    .site = ac_setting_str(&api.cfg, AC_S_BASE_URL),
	    .timeout_ms = ac_setting_int(&api.cfg, AC_S_STRIPE_TIMEOUT_MS) };
	api.db = ac_db_new(api.cfg.database_url, "ac-api",
	    ac_setting_int(&api.cfg, AC_S_DB_CONNECT_TIMEOUT),
	    ac_setting_int(&api.cfg, AC_S_API_STATEMENT_TIMEOUT_MS));
	ac_db_generic_plans(api.db);

	ac_info("ready: %d requests a minute a user, tokens live %d s", api.per_minute,
	    api.token_ttl_s);
	rc = ac_responder_run(&(struct ac_responder){ .body_max = 64 * 1024, .route = route });
	ac_db_free(api.db);
	ac_config_free(&api.cfg);
	return rc;
}
