/*
 * admin_users.c — the users screens of ac-admin (see cgi/admin.h):
 *
 *	GET  /admin/users?q=&status=&before=	search, 50 a page, newest first
 *	GET  /admin/users/N			profile, subscriptions, alarms, the
 *						ledger, deliveries, trades; the forms
 *	POST /admin/users/N/(suspend|activate)	status; suspending ends the
 *						user's portal sessions
 *	POST /admin/users/N/credits		an "adjustment" ledger row with a reason
 *	POST /admin/users/N/test		users.is_test on or off
 *	POST /admin/deliveries/N/resend		a failed delivery queued again
 *
 * Every change and its audit_log row commit together (admin_commit()).
 * The credits form carries a key made when the page was shown: the
 * ledger's idempotency key, so a form posted twice adjusts once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "account/ledger.h"
#include "base/arena.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/queue.h"
#include "cgi/admin.h"
#include "web/request.h"

#define USERS_PAGE	50

/* A timestamp as the screens show it (UTC). */
#define UTC(col)	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"

static void	users_page(struct ac_call *);
static void	user_page(struct ac_call *);
static void	user_suspend(struct ac_call *);
static void	user_activate(struct ac_call *);
static void	user_credits(struct ac_call *);
static void	user_test(struct ac_call *);
static void	delivery_resend(struct ac_call *);
static void	user_erase(struct ac_call *);
static void	user_invalid(struct ac_call *, const struct ac_err *);
static const char *amount_why(const char *);
static const char *reason_why(const char *);
static const char *key_why(const char *);

static const char *const status_values[] = { "active", "inactive", "suspended", NULL };
enum { LIST_Q, LIST_STATUS, LIST_BEFORE };
static const struct ac_field_decl list_fields[] = {
	[LIST_Q] = { "q", AC_F_STRING, AC_FROM_QUERY, .max = 254,
	    .why = "Search for at most 254 characters." },
	[LIST_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, AC_F_LENIENT,
	    .values = status_values },
	[LIST_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

enum { CREDIT_AMOUNT, CREDIT_REASON, CREDIT_KEY };
static const struct ac_field_decl credit_fields[] = {
	[CREDIT_AMOUNT] = { "amount", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = -1000000000, .max = 1000000000, .check = amount_why,
	    .why = "The amount must be a whole number of credits, + to add or − to take"
	    " away, not 0." },
	[CREDIT_REASON] = { "reason", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 200, .check = reason_why,
	    .why = "Give the reason for the adjustment (at most 200 characters)." },
	[CREDIT_KEY] = { "key", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = AC_TOKEN_LEN, .max = AC_TOKEN_LEN, .check = key_why,
	    .why = "This form has expired: open the user's page again." },
	{ .name = NULL }
};

static const char *const test_values[] = { "true", "false", NULL };
enum { TEST_IS_TEST };
static const struct ac_field_decl test_fields[] = {
	[TEST_IS_TEST] = { "is_test", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED,
	    .values = test_values, .why = "is_test must be true or false." },
	{ .name = NULL }
};

enum { ERASE_CONFIRM };
static const struct ac_field_decl erase_fields[] = {
	[ERASE_CONFIRM] = { "confirm", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 254, .why = "Type the user's email address to confirm." },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/users", users_page, AC_P_USERS_VIEW), .fields = list_fields },
	{ ADMIN_GET("/admin/users/{id}", user_page, AC_P_USERS_VIEW) },
	{ ADMIN_POST("/admin/users/{id}/suspend", user_suspend, AC_P_USERS_EDIT) },
	{ ADMIN_POST("/admin/users/{id}/activate", user_activate, AC_P_USERS_EDIT) },
	{ ADMIN_POST("/admin/users/{id}/credits", user_credits, AC_P_USERS_EDIT),
	    .fields = credit_fields, .invalid = user_invalid },
	{ ADMIN_POST("/admin/users/{id}/test", user_test, AC_P_USERS_EDIT),
	    .fields = test_fields, .invalid = user_invalid },
	{ ADMIN_POST("/admin/deliveries/{id}/resend", delivery_resend, AC_P_USERS_EDIT) },
	{ ADMIN_POST("/admin/users/{id}/erase", user_erase, AC_P_USERS_DELETE),
	    .fields = erase_fields, .invalid = user_invalid },
};

static const struct admin_flash flashes[] = {
	{ "user_erased", "The user's personal data is erased and the account closed; their"
	    " ledger, deliveries and trades stay for the books, under no name." },
	{ "user_suspended", "User suspended: their portal sessions ended and their API tokens"
	    " stopped working." },
	{ "user_activated", "User active again: they can log in." },
	{ "credits_adjusted", "Credits adjusted." },
	{ "credits_already", "That adjustment was already made: nothing more changed." },
	{ "test_marked", "Marked as a test user: test signals reach them." },
	{ "test_unmarked", "No longer a test user." },
	{ "resend_queued", "The delivery is queued to be sent again." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_users_area, routes, flashes);

/* ---- fields ------------------------------------------------------------------- */

static const char *
amount_why(const char *s)
{
	return strtoll(s, NULL, 10) == 0 ? "The amount must not be 0." : NULL;
}

/* A reason of spaces only is no reason. */
static const char *
reason_why(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0' ? "Give the reason for the adjustment." : NULL;
}

static const char *
key_why(const char *s)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";

	return s[strspn(s, b64url)] != '\0' ? "This form has expired: open the user's page"
	    " again." : NULL;
}

/* ---- the search ---------------------------------------------------------------- */

/* $1 the search text (NULL: all), $2 status, $3 before (an id), $4 the page
 * size + 1 (one more row says there is an older page). The text matches
 * anywhere in the email, name, phone, Telegram username (with or without
 * '@') or chat id, whatever the case; LIKE's metacharacters match
 * themselves. */
static const struct ac_stmt st_users = { "admin_users_search",
	"WITH q AS (SELECT '%' || replace(replace(replace($1::text, '\\', '\\\\'), '%', '\\%'),"
	"  '_', '\\_') || '%' AS p,"
	"  '%' || replace(replace(replace(ltrim($1::text, '@'), '\\', '\\\\'), '%', '\\%'),"
	"  '_', '\\_') || '%' AS tg),"
	" r AS (SELECT u.id, u.email, u.display_name AS name, u.status, u.is_test,"
	"  u.credit_balance AS balance, " UTC("u.created_at") " AS created,"
	"  CASE u.status WHEN 'active' THEN 'success' WHEN 'suspended' THEN 'danger'"
	"   ELSE 'secondary' END AS badge,"
	"  (SELECT count(*) FROM subscriptions s WHERE s.user_id = u.id AND s.status = 'active'"
	"   AND s.period_end > now()) AS subscriptions"
	"  FROM users u, q"
	"  WHERE ($1::text IS NULL OR u.email ILIKE q.p OR u.display_name ILIKE q.p"
	"   OR u.phone ILIKE q.p OR u.telegram_username ILIKE q.tg"
	"   OR u.telegram_chat_id ILIKE q.p)"
	"  AND ($2::text IS NULL OR u.status = $2) AND ($3::bigint IS NULL OR u.id < $3)"
	"  ORDER BY u.id DESC LIMIT $4)"
	" SELECT coalesce(json_agg(r ORDER BY r.id DESC), '[]') FROM r", 4 };

/* GET /admin/users: the users matching q and status, 50 a page. */
static void
users_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *q = k->v[LIST_Q].set && *k->v[LIST_Q].s ? k->v[LIST_Q].s : NULL;
	const char *status = k->v[LIST_STATUS].set ? k->v[LIST_STATUS].s : NULL;
	const char *vals[4] = { q, status, k->v[LIST_BEFORE].set ? k->v[LIST_BEFORE].s : NULL,
	    ac_arena_printf(c->r->arena, "%d", USERS_PAGE + 1) };
	json_t *rows, *older = NULL, *d;
	int found;

	if ((rows = ac_db_json(site.db, &st_users, vals, &found)) == NULL) {
		admin_db_failed(c);
		return;
	}
	if (json_array_size(rows) > USERS_PAGE) {
		json_array_remove(rows, USERS_PAGE);
		older = json_pack("{s:O}", "before", json_object_get(json_array_get(rows,
		    USERS_PAGE - 1), "id"));
	}
	d = json_pack("{s:s?, s:s?, s:o, s:o*}", "q", q, "status", status, "users",
	    admin_rows(rows), "older", older);
	if (status != NULL)
		json_object_set_new(d, ac_arena_printf(c->r->arena, "status_%s", status),
		    json_true());
	admin_page(c, 200, "users", "Users", d, NULL);
}

/* ---- one user ------------------------------------------------------------------ */

static const struct ac_stmt st_user = { "admin_user_show",
	"SELECT json_build_object('id', u.id, 'email', u.email, 'name', u.display_name,"
	" 'phone', u.phone, 'telegram_username', u.telegram_username,"
	" 'telegram_chat_id', u.telegram_chat_id, 'timezone', u.timezone, 'status', u.status,"
	" 'suspended', u.status = 'suspended', 'is_test', u.is_test,"
	" 'erased', u.erased_at IS NOT NULL, 'balance', u.credit_balance,"
	" 'badge', CASE u.status WHEN 'active' THEN 'success' WHEN 'suspended' THEN 'danger'"
	"  ELSE 'secondary' END,"
	" 'channels', array_to_string(ARRAY[CASE WHEN u.notify_telegram THEN 'telegram' END,"
	"  CASE WHEN u.notify_email THEN 'email' END, CASE WHEN u.notify_sms THEN 'sms' END,"
	"  CASE WHEN u.notify_push THEN 'push' END], ', '),"
	" 'max_daily_alerts', u.max_daily_alerts,"
	" 'last_login_at', " UTC("u.last_login_at") ", 'created', " UTC("u.created_at") ","
	" 'subscriptions', (SELECT json_agg(json_build_object('id', s.id, 'plan', p.name,"
	"  'status', s.status, 'provider', s.provider, 'start', " UTC("s.period_start") ","
	"  'end', " UTC("s.period_end") ", 'past_due', s.status = 'past_due'"
	"  OR s.status = 'active' AND s.period_end < now()) ORDER BY s.id DESC)"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.user_id = u.id),"
	" 'alarms', (SELECT json_agg(json_build_object('strategy', st.name,"
	"  'channels', array_to_string(a.channels, ', '), 'enabled', a.enabled) ORDER BY a.id)"
	"  FROM alarms a JOIN strategies st ON st.id = a.strategy_id WHERE a.user_id = u.id),"
	/* the balance after each row: the ledger is the balance (sql/002) */
	" 'ledger', (SELECT json_agg(l ORDER BY l.id DESC) FROM (SELECT id,"
	"  " UTC("created_at") " AS at, amount, amount < 0 AS negative, kind, reference,"
	"  sum(amount) OVER (ORDER BY id) AS after FROM credit_ledger WHERE user_id = u.id"
	"  ORDER BY id DESC LIMIT 50) l),"
	" 'deliveries', (SELECT json_agg(x ORDER BY x.id DESC) FROM (SELECT d.id, d.signal_id,"
	"  st.name AS strategy, s.symbol, s.action, d.channel, d.provider, d.status,"
	"  d.skip_reason, d.error, " UTC("d.created_at") " AS at, d.status = 'failed' AS failed,"
	"  CASE d.status WHEN 'sent' THEN 'success' WHEN 'failed' THEN 'danger'"
	"   WHEN 'skipped' THEN 'warning' ELSE 'secondary' END AS badge"
	"  FROM deliveries d JOIN signals s ON s.id = d.signal_id"
	"  JOIN strategies st ON st.id = s.strategy_id WHERE d.user_id = u.id"
	"  ORDER BY d.id DESC LIMIT 50) x),"
	" 'trades', (SELECT json_agg(x ORDER BY x.id DESC) FROM (SELECT t.id, t.trade_number,"
	"  st.name AS strategy, t.symbol, t.side, t.entry_price::text AS entry,"
	"  t.exit_price::text AS exit, t.status, t.pnl_amount::text AS pnl,"
	"  " UTC("t.opened_at") " AS opened FROM trades t JOIN strategies st ON"
	"  st.id = t.strategy_id WHERE t.user_id = u.id ORDER BY t.id DESC LIMIT 50) x))"
	" FROM users u WHERE u.id = $1", 1 };

/* The user page of k's id (404 when there is none) with status and error
 * (may be NULL); a refused credits form keeps what was typed, and its key. */
static void
user_show(struct actx *c, int status, const char *error)
{
	static const char *const lists[] = { "subscriptions", "alarms", "ledger", "deliveries",
	    "trades" };
	const char *vals[1] = { admin_id(c) }, *key = NULL;
	char fresh[AC_TOKEN_LEN + 1];
	json_t *u;
	int found;

	if ((u = ac_db_json(site.db, &st_user, vals, &found)) == NULL) {
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		json_object_set_new(u, lists[i], admin_rows(json_incref(json_object_get(u,
		    lists[i]))));
	if (c->k->route->method == AC_M_POST)
		key = ac_call_form(c->k, "key");
	if (key == NULL || key_why(key) != NULL || strlen(key) != AC_TOKEN_LEN) {
		if (ac_token_new(fresh) == -1) {
			json_decref(u);
			admin_db_failed(c);
			return;
		}
		key = fresh;
	}
	json_object_set_new(u, "credit", json_pack("{s:s, s:s?, s:s?}", "key", key,
	    "amount", error ? ac_call_form(c->k, "amount") : NULL,
	    "reason", error ? ac_call_form(c->k, "reason") : NULL));
	admin_page(c, status, "user", json_string_value(json_object_get(u, "email")),
	    json_pack("{s:o}", "u", u), error);
}

/* GET /admin/users/N */
static void
user_page(struct ac_call *k)
{
	user_show(k->ctx, 200, NULL);
}

/* A refused form of the user page: the page again, saying why. */
static void
user_invalid(struct ac_call *k, const struct ac_err *e)
{
	user_show(k->ctx, ac_err_status(e->code), e->message);
}

/* To the user page with the flash done. */
static void
user_back(struct actx *c, long long user_id, const char *done)
{
	admin_redirect(c, ac_arena_printf(c->r->arena, "/admin/users/%lld?done=%s", user_id,
	    done));
}

/* ---- status and the test flag ---------------------------------------------------- */

/* $1 the user, $2 the column's new value: the value it had, when it
 * changed; no row when it was already so (or there is no such user). */
static const struct ac_stmt st_status = { "admin_user_status",
	"WITH o AS (SELECT id, status FROM users WHERE id = $1"
	"  AND erased_at IS NULL FOR UPDATE),"	/* erased stays closed */
	" u AS (UPDATE users SET status = $2, updated_at = now() FROM o"
	"  WHERE users.id = o.id AND o.status <> $2 RETURNING o.status),"
	/* a suspended user's sessions end; their API tokens fail on the status */
	" s AS (DELETE FROM sessions WHERE $2 = 'suspended' AND user_id IN"
	"  (SELECT id FROM o WHERE EXISTS (SELECT FROM u)))"
	" SELECT status FROM u", 2 };
static const struct ac_stmt st_test = { "admin_user_test",
	"WITH o AS (SELECT id, is_test FROM users WHERE id = $1 FOR UPDATE)"
	" UPDATE users SET is_test = $2, updated_at = now() FROM o"
	" WHERE users.id = o.id AND o.is_test <> $2 RETURNING o.is_test::text", 2 };
/* an erased account is no one's to change any more */
static const struct ac_stmt st_exists = { "admin_user_exists",
	"SELECT 1 FROM users WHERE id = $1 AND erased_at IS NULL", 1 };

/*
 * Sets one column of the user of k's id with st ($1 the id, $2 value),
 * in one transaction with an audit row of action saying column's old and
 * new value, then back to the user page with done. Nothing to change
 * (already so) writes nothing and says done all the same; 404 for no user.
 */
static void
user_set(struct actx *c, const struct ac_stmt *st, const char *column, const char *value,
    const char *action, const char *done)
{
	const char *vals[2] = { admin_id(c), value };
	PGresult *res;
	json_t *details;
	int rc;

	switch (admin_change(c, st, vals, &res)) {
	case -1:
		return;
	case 0:
		if ((rc = admin_lookup(c, &st_exists, vals, &res)) == -1)
			return;
		PQclear(res);
		if (rc == 0)
			admin_not_found(c);
		else
			user_back(c, c->k->id, done);
		return;
	}
	details = json_pack("{s:{s:s, s:s}}", column, "from", PQgetvalue(res, 0, 0), "to",
	    value);
	PQclear(res);
	rc = admin_commit(c, action, ac_arena_printf(c->r->arena, "user:%lld", c->k->id),
	    details);
	json_decref(details);
	if (rc == -1)
		admin_db_failed(c);
	else
		user_back(c, c->k->id, done);
}

/* POST /admin/users/N/suspend */
static void
user_suspend(struct ac_call *k)
{
	user_set(k->ctx, &st_status, "status", "suspended", "user.suspend", "user_suspended");
}

/* POST /admin/users/N/activate */
static void
user_activate(struct ac_call *k)
{
	user_set(k->ctx, &st_status, "status", "active", "user.activate", "user_activated");
}

/* POST /admin/users/N/test: is_test=true|false */
static void
user_test(struct ac_call *k)
{
	int on = strcmp(k->v[TEST_IS_TEST].s, "true") == 0;

	user_set(k->ctx, &st_test, "is_test", on ? "true" : "false", "user.test",
	    on ? "test_marked" : "test_unmarked");
}

/* ---- credits ----------------------------------------------------------------------- */

/* POST /admin/users/N/credits: amount (+/-, not 0), reason, key. One
 * "adjustment" ledger row keyed by the form's key, with its audit row; a
 * debit below 0 is refused (409) and a key seen before changes nothing. */
static void
user_credits(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *reason = k->v[CREDIT_REASON].s;
	struct ac_ledger_entry le = { .user_id = k->id, .amount = k->v[CREDIT_AMOUNT].i,
	    .kind = "adjustment", .reference = reason,
	    .key = ac_arena_printf(c->r->arena, "admin:adjust:%s", k->v[CREDIT_KEY].s) };
	long long balance = 0;
	json_t *details;
	int rc;

	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	switch (ac_ledger_post(site.db, &le, &balance)) {
	case AC_LEDGER_DONE:
		break;
	case AC_LEDGER_ALREADY:
		ac_db_rollback(site.db);
		user_back(c, k->id, "credits_already");
		return;
	case AC_LEDGER_INSUFFICIENT:
		ac_db_rollback(site.db);
		user_show(c, 409, ac_arena_printf(c->r->arena, "Taking %lld credits would leave a"
		    " balance below 0 (the balance is %lld): nothing was changed.", -le.amount,
		    balance));
		return;
	case AC_LEDGER_NO_USER:
		ac_db_rollback(site.db);
		admin_not_found(c);
		return;
	case AC_LEDGER_ERROR:
		ac_error("user %lld: credits: %s", k->id, ac_db_error(site.db));
		ac_db_rollback(site.db);
		admin_db_failed(c);
		return;
	}
	details = json_pack("{s:I, s:s, s:I}", "amount", (json_int_t)le.amount, "reason", reason,
	    "balance", (json_int_t)balance);
	rc = admin_commit(c, "user.credits", ac_arena_printf(c->r->arena, "user:%lld", k->id),
	    details);
	json_decref(details);
	if (rc == -1) {
		admin_db_failed(c);
		return;
	}
	user_back(c, k->id, "credits_adjusted");
}

/* ---- resending a delivery ------------------------------------------------------------ */

/* A failed delivery of an active user back to queued, its attempts from 0
 * (the channel's plan starts again): its user, and what it was. */
static const struct ac_stmt st_resend = { "admin_delivery_resend",
	"WITH o AS (SELECT id, user_id, status, attempts, provider, error FROM deliveries"
	"  WHERE id = $1 FOR UPDATE)"
	" UPDATE deliveries d SET status = 'queued', attempts = 0, error = NULL,"
	"  updated_at = now() FROM o, users u WHERE d.id = o.id AND o.status = 'failed'"
	"  AND u.id = o.user_id AND u.status = 'active'"
	" RETURNING o.user_id, json_build_object('attempts', o.attempts, 'provider', o.provider,"
	"  'error', o.error)::text", 1 };
static const struct ac_stmt st_delivery = { "admin_delivery_status",
	"SELECT d.user_id, d.status, u.status FROM deliveries d JOIN users u ON u.id = d.user_id"
	" WHERE d.id = $1", 1 };

/*
 * POST /admin/deliveries/N/resend: a failed delivery queued again with a
 * "deliver" job the worker drains, in one transaction with its audit row.
 * One already queued again is left as it is (a second click); one sent or
 * skipped, or of a user not active, is refused (409); 404 for none.
 */
static void
delivery_resend(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[1] = { admin_id(c) };
	long long user_id;
	json_t *details, *job;
	PGresult *res;
	int rc;

	switch (admin_change(c, &st_resend, vals, &res)) {
	case -1:
		return;
	case 0:
		if ((rc = admin_lookup(c, &st_delivery, vals, &res)) == -1)
			return;
		if (rc == 0)
			admin_not_found(c);
		else if (strcmp(PQgetvalue(res, 0, 1), "queued") == 0)
			user_back(c, strtoll(PQgetvalue(res, 0, 0), NULL, 10), "resend_queued");
		else if (strcmp(PQgetvalue(res, 0, 1), "failed") == 0)
			admin_error(c, 409, "Not sent again", ac_arena_printf(c->r->arena,
			    "The user is %s: activate them first.", PQgetvalue(res, 0, 2)));
		else
			admin_error(c, 409, "Not sent again", ac_arena_printf(c->r->arena,
			    "Only a failed delivery can be sent again; this one is %s.",
			    PQgetvalue(res, 0, 1)));
		PQclear(res);
		return;
	}
	user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	details = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
	PQclear(res);
	job = json_pack("{s:I}", "delivery_id", (json_int_t)k->id);
	if ((rc = ac_job_enqueue(site.db, "deliver", job, NULL, 0, 0, 0)) == -1) {
		ac_error("delivery %lld: resend: %s", k->id, ac_db_error(site.db));
		ac_db_rollback(site.db);
	} else
		rc = admin_commit(c, "delivery.resend", ac_arena_printf(c->r->arena,
		    "delivery:%lld", k->id), details);
	json_decref(job);
	json_decref(details);
	if (rc == -1)
		admin_db_failed(c);
	else
		user_back(c, user_id, "resend_queued");
}

/* ---- erasing a user -------------------------------------------------------------------- */

/*
 * $1 the user, $2 the email typed to confirm it. The account closes
 * (inactive, no password, no channel) and what names a person goes: email
 * (erased-<id>@erased.invalid), name, phone, Telegram, push id, sessions,
 * API tokens, the mail outbox; alarms stop. Ledger, deliveries and trades
 * stay, as the books need them. Refused (no row) while a card
 * subscription still runs: Stripe would go on charging.
 */
static const struct ac_stmt st_erase = { "admin_user_erase",
	"WITH o AS (SELECT id, email FROM users WHERE id = $1 AND lower(email) = lower($2)"
	"  AND erased_at IS NULL"
	"  AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $1"
	"  AND s.provider = 'stripe' AND s.status IN ('active', 'past_due')) FOR UPDATE),"
	" u AS (UPDATE users SET email = 'erased-' || o.id || '@erased.invalid', display_name = '',"
	"  phone = NULL, telegram_chat_id = NULL, telegram_username = NULL,"
	"  status = 'inactive', password_hash = '!', notify_email = false,"
	"  notify_telegram = false, notify_sms = false, notify_push = false,"
	"  renewal_reminders = false, erased_at = now(), updated_at = now()"
	"  FROM o WHERE users.id = o.id RETURNING o.email),"
	" s AS (DELETE FROM sessions WHERE user_id = $1 AND EXISTS (SELECT FROM u)),"
	" pd AS (DELETE FROM push_devices WHERE user_id = $1 AND EXISTS (SELECT FROM u)),"
	" t AS (UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1"
	"  AND revoked_at IS NULL AND EXISTS (SELECT FROM u)),"
	" a AS (UPDATE alarms SET enabled = false WHERE user_id = $1 AND EXISTS (SELECT FROM u)),"
	" m AS (DELETE FROM email_outbox WHERE user_id = $1 AND EXISTS (SELECT FROM u))"
	" SELECT email FROM u", 2 };
static const struct ac_stmt st_erase_why = { "admin_user_erase_why",
	"SELECT erased_at IS NOT NULL, lower(email) = lower($2),"
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $1 AND s.provider = 'stripe'"
	" AND s.status IN ('active', 'past_due')) FROM users WHERE id = $1", 2 };

/* POST /admin/users/N/erase: confirm=<the user's email> */
static void
user_erase(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[2] = { admin_id(c), k->v[ERASE_CONFIRM].s };
	unsigned char digest[32];
	char hex[65];
	PGresult *res;
	json_t *details;
	int rc;

	switch (admin_change(c, &st_erase, vals, &res)) {
	case -1:
		return;
	case 0:
		if ((rc = admin_lookup(c, &st_erase_why, vals, &res)) == -1)
			return;
		if (rc == 0)
			admin_not_found(c);
		else if (PQgetvalue(res, 0, 0)[0] == 't')
			admin_error(c, 409, "Already erased", "This user's data was erased before.");
		else if (PQgetvalue(res, 0, 2)[0] == 't')
			user_show(c, 409, "A card subscription of this user still runs: cancel it in"
			    " Stripe first, or Stripe goes on charging an erased account.");
		else
			user_show(c, 422, "Type the user's email address exactly to confirm.");
		PQclear(res);
		return;
	}
	/* the address itself is what goes; its digest lets an operator answer
	 * "was this address erased?" later */
	ac_sha256(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)), digest);
	ac_hex(digest, sizeof(digest), hex);
	PQclear(res);
	details = json_pack("{s:s}", "email_sha256", hex);
	rc = admin_commit(c, "user.erase", ac_arena_printf(c->r->arena, "user:%lld", k->id),
	    details);
	json_decref(details);
	if (rc == -1)
		admin_db_failed(c);
	else
		user_back(c, k->id, "user_erased");
}
