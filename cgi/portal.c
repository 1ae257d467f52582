/*
 * ac-portal — the subscriber portal: server-rendered HTML from the
 * templates in cgi/templates (lib/web/html.h), working without JavaScript.
 *
 *	GET  /			dashboard (or to /login)
 *	GET|POST /signup /login	account and session; POST /logout
 *	GET|POST /signup/confirm	the emailed link that makes the account
 *	GET|POST /password/forgot /password/reset	reset by an emailed link
 *	GET|POST /alarms, GET|POST /alarms/N, POST /alarms/N/(enable|disable|delete)
 *	GET  /history /credits /trades /plans
 *	GET  /strategies/N/record	a strategy's public track record (portal_record.c)
 *	GET  /account, POST /account/(profile|password|email|telegram)
 *	POST /account/push, /account/push/N/unlink	devices for push (portal_push.c)
 *	GET|POST /account/email/confirm	the emailed link that changes the email
 *	GET|POST /tokens (the API page), GET|POST /tokens/N/revoke
 *	/plans/N/checkout, /plans/N/pay, /billing/..., /payments	buying a plan
 *				(portal_billing.c)
 *
 * Every POST is checked before anything changes: the Origin (or Referer)
 * must be this site, and the form's csrf field must match the session's
 * CSRF secret (logged in) or the pre-session cookie (the guest forms).
 * Rows of another user are answered 404, as if they did not exist. Form
 * fields must be UTF-8 (400 naming the field). Sign-up and change of email
 * answer the same for a taken and a free address: the address is mailed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account/account.h"
#include "account/alarm.h"
#include "account/catalog.h"
#include "account/credits.h"
#include "account/dashboard.h"
#include "account/history.h"
#include "account/plans.h"
#include "account/profile.h"
#include "account/trades.h"
#include "alert/record.h"
#include "alert/strategy.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/channel.h"
#include "web/auth.h"
#include "base/config.h"
#include "base/db.h"
#include "web/html.h"
#include "base/log.h"
#include "base/message.h"
#include "web/request.h"
#include "web/responder.h"
#include "web/response.h"
#include "web/route.h"
#include "account/telegram.h"
#include "billing/upi.h"
#include "base/util.h"
#include "cgi/portal.h"

#define PRE_COOKIE	"ac_pre"	/* the guest forms' CSRF cookie */
#define PAGE_ROWS	50

struct portal portal;



static void	home(struct ac_call *);
static void	signup_form(struct ac_call *);
static void	signup_post(struct ac_call *);
static void	signup_confirm_form(struct ac_call *);
static void	signup_confirm_post(struct ac_call *);
static void	login_form(struct ac_call *);
static void	login_post(struct ac_call *);
static void	logout_post(struct ac_call *);
static void	forgot_form(struct ac_call *);
static void	forgot_post(struct ac_call *);
static void	reset_form(struct ac_call *);
static void	reset_post(struct ac_call *);
static void	alarms_page(struct ac_call *);
static void	alarm_add(struct ac_call *);
static void	alarm_form(struct ac_call *);
static void	alarm_save(struct ac_call *);
static void	alarm_on(struct ac_call *);
static void	alarm_off(struct ac_call *);
static void	alarm_delete(struct ac_call *);
static void	alarm_delete_confirm(struct ac_call *);
static void	history_page(struct ac_call *);
static void	credits_page(struct ac_call *);
static void	trades_page(struct ac_call *);
static void	plans_page(struct ac_call *);
static void	account_page(struct ac_call *);
static void	profile_post(struct ac_call *);
static void	password_post(struct ac_call *);
static void	email_post(struct ac_call *);
static void	email_confirm_form(struct ac_call *);
static void	email_confirm_post(struct ac_call *);
static void	telegram_post(struct ac_call *);
static void	telegram_disconnect(struct ac_call *);
static void	tokens_page(struct ac_call *);
static void	token_create(struct ac_call *);
static void	token_revoke(struct ac_call *);
static void	token_revoke_confirm(struct ac_call *);
static void	login_refused(struct ac_call *, const struct ac_err *);
static void	forgot_invalid(struct ac_call *, const struct ac_err *);
static void	profile_invalid(struct ac_call *, const struct ac_err *);
static const char *phone_why(const char *);

/* Form fields: texts the account functions check themselves, unless a
 * table says more. */
enum { ACCT_EMAIL, ACCT_PASSWORD, ACCT_NAME };
static const struct ac_field_decl login_fields[] = {
	[ACCT_EMAIL] = { "email", AC_F_STRING, AC_FROM_FORM },
	[ACCT_PASSWORD] = { "password", AC_F_STRING, AC_FROM_FORM },
	{ .name = NULL }
};
static const struct ac_field_decl signup_fields[] = {
	[ACCT_EMAIL] = { "email", AC_F_STRING, AC_FROM_FORM },
	[ACCT_PASSWORD] = { "password", AC_F_STRING, AC_FROM_FORM },
	[ACCT_NAME] = { "name", AC_F_STRING, AC_FROM_FORM },
	{ .name = NULL }
};

enum { LINK_TOKEN, LINK_PASSWORD };
static const struct ac_field_decl link_fields[] = {
	[LINK_TOKEN] = { "token", AC_F_STRING, AC_FROM_FORM },
	[LINK_PASSWORD] = { "password", AC_F_STRING, AC_FROM_FORM },
	{ .name = NULL }
};

enum { FORGOT_EMAIL };
static const struct ac_field_decl forgot_fields[] = {
	[FORGOT_EMAIL] = { "email", AC_F_EMAIL, AC_FROM_FORM, AC_F_REQUIRED,
	    .why = "Enter an email address like name@example.com." },
	{ .name = NULL }
};

enum { NEWPW_CURRENT, NEWPW_PASSWORD };
static const struct ac_field_decl password_fields[] = {
	[NEWPW_CURRENT] = { "current", AC_F_STRING, AC_FROM_FORM },
	[NEWPW_PASSWORD] = { "password", AC_F_STRING, AC_FROM_FORM },
	{ .name = NULL }
};

enum { TOKEN_NAME };
static const struct ac_field_decl token_fields[] = {
	[TOKEN_NAME] = { "name", AC_F_STRING, AC_FROM_FORM },
	{ .name = NULL }
};

enum {
	PROFILE_NAME, PROFILE_PHONE, PROFILE_TZ, PROFILE_MAX, PROFILE_EMAIL, PROFILE_TELEGRAM,
	PROFILE_SMS, PROFILE_PUSH, PROFILE_RENEWAL
};
static const struct ac_field_decl profile_fields[] = {
	[PROFILE_NAME] = { "name", AC_F_STRING, AC_FROM_FORM, .check = ac_auth_check_name },
	[PROFILE_PHONE] = { "phone", AC_F_STRING, AC_FROM_FORM, .check = phone_why },
	[PROFILE_TZ] = { "timezone", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 64, .why = "choose a time zone, like UTC or Asia/Kolkata" },
	[PROFILE_MAX] = { "max_daily_alerts", AC_F_INT, AC_FROM_FORM, AC_F_REQUIRED, .min = 0,
	    .max = 10000, .why = "the most alerts a day must be a whole number from 0 to 10000" },
	[PROFILE_EMAIL] = { "notify_email", AC_F_BOOL, AC_FROM_FORM },
	[PROFILE_TELEGRAM] = { "notify_telegram", AC_F_BOOL, AC_FROM_FORM },
	[PROFILE_SMS] = { "notify_sms", AC_F_BOOL, AC_FROM_FORM },
	[PROFILE_PUSH] = { "notify_push", AC_F_BOOL, AC_FROM_FORM },
	[PROFILE_RENEWAL] = { "renewal_reminders", AC_F_BOOL, AC_FROM_FORM },
	{ .name = NULL }
};

/* The alarm forms (add and edit): what ac_alarm_check() checks. */
enum {
	ALARM_CHANNELS, ALARM_MIN, ALARM_MAX, ALARM_ON_ENTRY, ALARM_ON_EXIT,
	ALARM_ON_REPLACEMENT, ALARM_ENABLED, ALARM_STRATEGY
};
static const struct ac_field_decl alarm_fields[] = {
	[ALARM_CHANNELS] = { "channel", AC_F_LIST, AC_FROM_FORM },
	[ALARM_MIN] = { "min_price", AC_F_STRING, AC_FROM_FORM },
	[ALARM_MAX] = { "max_price", AC_F_STRING, AC_FROM_FORM },
	[ALARM_ON_ENTRY] = { "on_entry", AC_F_BOOL, AC_FROM_FORM },
	[ALARM_ON_EXIT] = { "on_exit", AC_F_BOOL, AC_FROM_FORM },
	[ALARM_ON_REPLACEMENT] = { "on_replacement", AC_F_BOOL, AC_FROM_FORM },
	[ALARM_ENABLED] = { "enabled", AC_F_BOOL, AC_FROM_FORM },
	[ALARM_STRATEGY] = { "strategy_id", AC_F_INT, AC_FROM_FORM, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

/* The history filters: a value not on offer is no filter. */
static const char *const delivery_values[] = { "queued", "sent", "failed", "skipped", NULL };
enum { HISTORY_CHANNEL, HISTORY_STATUS, HISTORY_STRATEGY, HISTORY_BEFORE };
static const struct ac_field_decl history_fields[] = {
	[HISTORY_CHANNEL] = { "channel", AC_F_ENUM, AC_FROM_QUERY, AC_F_LENIENT,
	    .values = ac_channel_names },
	[HISTORY_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, AC_F_LENIENT,
	    .values = delivery_values },
	[HISTORY_STRATEGY] = { "strategy", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	[HISTORY_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};
/* A list's page: ids below before (keyset), the newest without it. */
enum { PAGED_BEFORE };
static const struct ac_field_decl paged_fields[] = {
	[PAGED_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

#define GET(p, f)	.method = AC_M_GET, .path = p, .fn = f
#define POST(p, f)	.method = AC_M_POST, .path = p, .fn = f, .csrf = 1, .body = AC_BODY_FORM
#define GUEST		.access = AC_GUEST
#define USER		.access = AC_SESSION

/* Paths: '{id}' stands for one segment holding a positive id. */
static const struct ac_route pages[] = {
	{ GET("/", home) },
	{ GET("/signup", signup_form), GUEST },
	{ POST("/signup", signup_post), GUEST, .fields = signup_fields },
	{ GET("/signup/confirm", signup_confirm_form) },	/* opens for a session too */
	{ POST("/signup/confirm", signup_confirm_post), GUEST, .fields = link_fields },
	{ GET("/login", login_form), GUEST },
	{ POST("/login", login_post), GUEST, .fields = login_fields, .refused = login_refused },
	{ POST("/logout", logout_post), USER },
	{ GET("/password/forgot", forgot_form), GUEST },
	{ POST("/password/forgot", forgot_post), GUEST, .fields = forgot_fields,
	    .invalid = forgot_invalid },
	{ GET("/password/reset", reset_form) },		/* opens for a session too */
	{ POST("/password/reset", reset_post), GUEST, .fields = link_fields },
	{ GET("/alarms", alarms_page), USER },
	{ POST("/alarms", alarm_add), USER, .fields = alarm_fields },
	{ GET("/alarms/{id}", alarm_form), USER },
	{ POST("/alarms/{id}", alarm_save), USER, .fields = alarm_fields },
	{ POST("/alarms/{id}/enable", alarm_on), USER },
	{ POST("/alarms/{id}/disable", alarm_off), USER },
	{ GET("/alarms/{id}/delete", alarm_delete_confirm), USER },
	{ POST("/alarms/{id}/delete", alarm_delete), USER },
	{ GET("/history", history_page), USER, .fields = history_fields },
	{ GET("/credits", credits_page), USER, .fields = paged_fields },
	{ GET("/trades", trades_page), USER, .fields = paged_fields },
	{ GET("/plans", plans_page) },
	{ GET("/strategies/{id}/record", record_page) },
	{ POST("/plans/{id}/checkout", plan_checkout), USER },
	{ GET("/plans/{id}/pay", pay_form), USER },
	{ GET("/plans/{id}/upi.svg", pay_qr), USER },
	{ .method = AC_M_POST, .path = "/plans/{id}/pay", .fn = pay_post, .csrf = 1,
	    .body = AC_BODY_MULTIPART, USER, .fields = pay_fields, .invalid = pay_invalid },
	{ GET("/billing/done", billing_done), USER },
	{ POST("/billing/manage", billing_manage), USER },
	{ GET("/payments", payments_page), USER },
	{ GET("/payments/{id}/proof", payment_proof), USER },
	{ GET("/account", account_page), USER },
	{ POST("/account/profile", profile_post), USER, .fields = profile_fields,
	    .invalid = profile_invalid },
	{ POST("/account/password", password_post), USER, .fields = password_fields },
	{ POST("/account/email", email_post), USER, .fields = login_fields },
	{ GET("/account/email/confirm", email_confirm_form) },
	{ POST("/account/email/confirm", email_confirm_post), .fields = link_fields },
	/* a mail client's one-click POST carries no CSRF token: the link's HMAC guards it */
	{ GET("/account/email/unsubscribe", unsubscribe_form), .fields = unsubscribe_fields },
	{ .method = AC_M_POST, .path = "/account/email/unsubscribe", .fn = unsubscribe_post,
	    .csrf = 0, .body = AC_BODY_FORM, .fields = unsubscribe_fields },
	{ POST("/account/telegram", telegram_post), USER },
	{ POST("/account/telegram/disconnect", telegram_disconnect), USER },
	{ POST("/account/push", push_link), USER, .fields = push_fields, .invalid = push_invalid },
	{ POST("/account/push/{id}/unlink", push_unlink), USER },
	{ GET("/tokens", tokens_page), USER },
	{ POST("/tokens", token_create), USER, .fields = token_fields },
	{ GET("/tokens/{id}/revoke", token_revoke_confirm), USER },
	{ POST("/tokens/{id}/revoke", token_revoke), USER },
};

/* The messages a redirect may ask for (?done=code): fixed texts only. */
static const struct {
	const char	*code;
	const char	*text;
} flashes[] = {
	{ "check_email", "Check your email: open the link we sent to finish signing up." },
	{ "signed_up", "Welcome to alertcast: your account is ready." },
	{ "logged_out", "You are logged out." },
	{ "reset", "Your new password is set: log in with it." },
	{ "alarm_added", "Alarm added." },
	{ "alarm_saved", "Alarm saved." },
	{ "alarm_enabled", "Alarm enabled." },
	{ "alarm_disabled", "Alarm disabled." },
	{ "alarm_deleted", "Alarm deleted." },
	{ "profile_saved", "Profile saved." },
	{ "password_changed", "Password changed. Other sessions and API access tokens were logged"
	    " out; personal API tokens keep working until you revoke them." },
	{ "email_sent", "Check the new address's inbox: your email changes when you open the"
	    " link we sent there." },
	{ "email_changed", "Email address changed." },
	{ "token_created", "Token created." },
	{ "token_revoked", "Token revoked." },
	{ "push_linked", "Push is on for this device." },
	{ "push_unlinked", "That device is removed: no more signals go to it." },
	{ "telegram_disconnected", "Telegram disconnected: no signal goes there until you"
	    " connect it again." },
	{ "payment_submitted", "Payment submitted. We check it by hand and tell you as soon as"
	    " your plan is active." },
	{ "checkout_cancelled", "Checkout cancelled: nothing was charged." },
};

/* ---- answering -------------------------------------------------------------- */

/* Adds the header line "name: value" to the answer. */
void
add_header(struct pctx *c, const char *name, const char *value)
{
	c->headers = ac_arena_printf(c->r->arena, "%s%s: %s\r\n", c->headers ? c->headers : "",
	    name, value);
}

/* Answers 303 to location, with the headers gathered so far. */
void
redirect(struct pctx *c, const char *location)
{
	add_header(c, "Location", location);
	ac_reply(c->r, 303, "text/plain; charset=utf-8", c->headers, "", 0);
}

/* The flash text for ?done=, or NULL. */
static const char *
flash(const struct pctx *c)
{
	const char *code = ac_req_arg(c->r, "done");

	for (size_t i = 0; code && i < sizeof(flashes) / sizeof(flashes[0]); i++)
		if (strcmp(code, flashes[i].code) == 0)
			return flashes[i].text;
	return NULL;
}

/* Sets "tag" (ac_strategy_tag) on every object in v that names a
 * strategy ("strategy" or "name") beside its "symbol" and "timeframe", so
 * every page shows a strategy's market by one rule. */
static void
strategy_tags(json_t *v)
{
	const char *name, *sym, *tf, *key;
	char tag[128];
	json_t *x;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			strategy_tags(x);
		return;
	}
	if (!json_is_object(v))
		return;
	sym = json_string_value(json_object_get(v, "symbol"));
	tf = json_string_value(json_object_get(v, "timeframe"));
	if ((name = json_string_value(json_object_get(v, "strategy"))) == NULL)
		name = json_string_value(json_object_get(v, "name"));
	if (sym != NULL && tf != NULL && name != NULL)
		json_object_set_new(v, "tag", json_string(ac_strategy_tag(name, sym, tf, tag,
		    sizeof(tag))));
	json_object_foreach(v, key, x)
		strategy_tags(x);
}

/* "name" or "name · tag" of a strategy object (name, symbol, timeframe). */
static const char *
strategy_label(struct pctx *c, json_t *st)
{
	const char *name = json_string_value(json_object_get(st, "name"));
	char tag[128];

	ac_strategy_tag(name, json_string_value(json_object_get(st, "symbol")),
	    json_string_value(json_object_get(st, "timeframe")), tag, sizeof(tag));
	return *tag ? ac_arena_printf(c->r->arena, "%s · %s", name, tag) : name;
}

/*
 * Renders template tmpl inside the layout with data (stolen; NULL: {}),
 * adding what every page shows: the user, the CSRF token, the active menu
 * entry, the flash message, and error (may be NULL).
 */
void
page(struct pctx *c, int status, const char *tmpl, const char *title, json_t *data,
    const char *error)
{
	char nav[64];

	if (data == NULL)
		data = json_object();
	json_object_set_new(data, "page", json_string(tmpl));
	json_object_set_new(data, "title", json_string(title));
	json_object_set_new(data, "csrf", json_string(c->csrf ? c->csrf : ""));
	if (c->user)
		json_object_set_new(data, "user", json_pack("{s:s, s:s}", "name", c->s.name,
		    "email", c->s.email));
	snprintf(nav, sizeof(nav), "nav_%s", tmpl);
	json_object_set_new(data, nav, json_true());
	if (flash(c) != NULL && status < 300)
		json_object_set_new(data, "flash", json_string(flash(c)));
	if (error != NULL)
		json_object_set_new(data, "error", json_string(error));
	strategy_tags(data);
	ac_html_reply(portal.html, c->r, status, "layout", data, c->headers);
	json_decref(data);
}

/* An error page: 403, 404, 405, 500... */
void
error_page(struct pctx *c, int status, const char *heading, const char *message)
{
	page(c, status, "error", heading, json_pack("{s:s, s:s}", "heading", heading,
	    "message", message), NULL);
}

/* The 404 page: also the answer for another user's rows. */
void
not_found(struct pctx *c)
{
	error_page(c, 404, "Not found", "There is nothing here. It may have been deleted.");
}

/* The 500 page when the database failed (already logged). */
void
db_failed(struct pctx *c)
{
	error_page(c, 500, "Something went wrong",
	    "We could not reach our database. Please try again in a moment.");
}

/* ---- input ------------------------------------------------------------------- */

/* The session cookie's Set-Cookie line; an empty token deletes it. */
static void
session_cookie(struct pctx *c, const char *token)
{
	char *v = ac_arena_printf(c->r->arena, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s",
	    AC_SESSION_COOKIE, token, *token ? portal.auth.session_max_s : 0,
	    portal.https ? "; Secure" : "");

	add_header(c, "Set-Cookie", v);
}

/* ---- presentation of the read models (lib/account/) --------------------------------- */

/* {"rows": arr} for a non-empty array (stolen), else JSON null: templates
 * show a table around the rows only when there are some. */
static json_t *
rows_or_null(json_t *arr)
{
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return json_null();
	}
	return json_pack("{s:o}", "rows", arr);
}

/* Bootstrap badge colours by status: pairs, then the colour of any other. */
static const char *const delivery_badge[] = { "sent", "success", "outbox", "secondary",
    "failed", "danger",
    "skipped", "warning", NULL, "secondary" };
static const char *const trade_badge[] = { "open", "primary", "closed", "secondary",
    NULL, "warning" };

/* Sets "badge" on each row of rows from its "status" by map; rows is returned. */
static json_t *
badges(json_t *rows, const char *const *map)
{
	const char *status, *const *m;
	json_t *v;
	size_t i;

	json_array_foreach(rows, i, v) {
		if ((status = json_string_value(json_object_get(v, "shown_status"))) == NULL)
			status = json_string_value(json_object_get(v, "status"));
		for (m = map; *m && (status == NULL || strcmp(*m, status) != 0); m += 2)
			;
		json_object_set_new(v, "badge", json_string(m[1]));
	}
	return rows;
}

/* The text colour of an amount (numeric text or null): gains green, losses red. */
static const char *
amount_class(const char *n)
{
	if (n == NULL)
		return "";
	if (*n == '-')
		return "text-danger";
	return strpbrk(n, "123456789") != NULL ? "text-success" : "";
}

/* ---- guest pages ----------------------------------------------------------------- */

/* The front page a guest sees at /: what the service does, the strategies
 * on offer, each with its published track record (the same figures as its
 * record page), and the way to plans and sign-up. */
static void
front(struct pctx *c)
{
	struct ac_err e = { 0 };
	json_t *d, *st, *plans, *name, *rec;
	size_t i, j;

	if ((d = ac_catalog(portal.db, &e)) == NULL) {
		db_failed(c);
		return;
	}
	json_array_foreach(d, i, st) {
		struct ac_buf in = AC_BUF_INIT;

		if (json_is_true(json_object_get(st, "public_record"))) {
			rec = ac_record(portal.db, json_integer_value(json_object_get(st, "id")), -1,
			    NULL, &e);
			if (rec == NULL && e.code != AC_E_NOT_FOUND) {
				json_decref(d);
				db_failed(c);
				return;
			}
			if (rec != NULL) {	/* NOT_FOUND: unpublished since the list was read */
				record_figures(c, rec);
				json_object_set_new(st, "record", rec);
			}
		}
		json_object_set_new(st, "one_credit", json_boolean(json_integer_value(
		    json_object_get(st, "credit_cost")) == 1));
		plans = json_object_get(st, "plans");
		json_array_foreach(plans, j, name)
			ac_buf_printf(&in, "%s%s", j == 0 ? "" : j + 1 == json_array_size(plans) ?
			    " and " : ", ", json_string_value(name));
		json_object_set_new(st, "plans_text", json_string(ac_arena_printf(c->r->arena,
		    "%s %s", json_array_size(plans) == 1 ? "the plan" : "the plans",
		    in.len ? in.p : "")));
		ac_buf_free(&in);
	}
	page(c, 200, "front", "Trading signals delivered", json_pack("{s:o}", "strategies", d),
	    NULL);
}

/* GET /: the dashboard, or the front page for a guest. */
static void
home(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *d;

	if (!c->user) {
		front(c);
		return;
	}
	if ((d = ac_dashboard(portal.db, c->s.user_id, &e)) == NULL) {
		db_failed(c);
		return;
	}
	json_object_set_new(d, "open_trades", rows_or_null(json_incref(json_object_get(d,
	    "open_trades"))));
	json_object_set_new(d, "notifications", rows_or_null(badges(json_incref(json_object_get(d,
	    "notifications")), delivery_badge)));
	page(c, 200, "dashboard", "Dashboard", json_pack("{s:o}", "d", d), NULL);
}

/* GET /signup: the sign-up form, or (?done=check_email) what comes next. */
static void
signup_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *done = ac_req_arg(c->r, "done");

	page(c, 200, "signup", "Sign up", json_pack("{s:b}", "sent",
	    done != NULL && strcmp(done, "check_email") == 0), NULL);
}

/* Logs user_id in on this browser: a new session, its cookie. 0, or -1. */
static int
start_session(struct pctx *c, long long user_id)
{
	char token[AC_TOKEN_LEN + 1];

	if (ac_session_create(portal.db, &portal.auth, user_id, c->cookie, c->r->remote_addr,
	    ac_req_header(c->r, "User-Agent"), token) == -1)
		return -1;
	session_cookie(c, token);
	return 0;
}

/* POST /signup: mails the address (303 to "check your email", the same for
 * a taken and a free one), or the form again (422). */
static void
signup_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *email = c->k->v[ACCT_EMAIL].s, *name = c->k->v[ACCT_NAME].s;
	char err[256];

	switch (ac_auth_signup(portal.db, &portal.auth, email, c->k->v[ACCT_PASSWORD].s,
	    name ? name : "", portal.cfg.base_url, err, sizeof(err))) {
	case AC_AUTH_OK:
		redirect(c, "/signup?done=check_email");
		return;
	case AC_AUTH_INVALID:
		page(c, 422, "signup", "Sign up", json_pack("{s:s?, s:s?}", "email", email, "name",
		    name), err);
		return;
	default:
		db_failed(c);
	}
}

/* The page of an emailed link of kind (?token=): a button that posts it
 * to action (with the sign-up's password for a sign-up), or 404 when the
 * link is bad, used or expired; status and error for a wrong password. */
static void
confirm_page(struct pctx *c, const char *token, const char *kind, const char *heading,
    const char *action, const char *button, int status, const char *error)
{
	int valid = ac_confirm_valid(portal.db, token, kind);

	if (valid == -1) {
		db_failed(c);
		return;
	}
	page(c, valid ? status : 404, "confirm", heading, json_pack("{s:b, s:s?, s:s, s:s, s:s,"
	    " s:b, s:s?}", "valid", valid, "token", valid ? token : NULL, "heading", heading,
	    "action", action, "button", button, "password", strcmp(kind, "signup") == 0,
	    "error", error), NULL);
}

static void
confirm_form(struct pctx *c, const char *kind, const char *heading, const char *action,
    const char *button)
{
	confirm_page(c, ac_req_arg(c->r, "token"), kind, heading, action, button, 200, NULL);
}

/* The 404 page of an emailed link that does not work any more. */
static void
confirm_gone(struct pctx *c, const char *heading)
{
	page(c, 404, "confirm", heading, json_pack("{s:b, s:s}", "valid", 0, "heading",
	    heading), NULL);
}

/* GET /signup/confirm?token=: the button that makes the account. */
static void
signup_confirm_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	confirm_form(c, "signup", "Confirm your account", "/signup/confirm", "Create my account");
}

/* POST /signup/confirm: makes the account, logged in (303 to /), or 404. */
static void
signup_confirm_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long uid;

	switch (ac_signup_confirm(portal.db, c->k->v[LINK_TOKEN].s, c->k->v[LINK_PASSWORD].s, &uid)) {
	case 1:
		if (start_session(c, uid) == -1)
			break;
		redirect(c, "/?done=signed_up");
		return;
	case 2:
		confirm_page(c, c->k->v[LINK_TOKEN].s, "signup", "Confirm your account",
		    "/signup/confirm", "Create my account", 401, "That is not the password this"
		    " sign-up was made with. If you did not sign up with this address, someone"
		    " else did: ignore the link, or sign up again with a password of your own.");
		return;
	case 0:
		confirm_gone(c, "Confirm your account");
		return;
	}
	db_failed(c);
}

/* GET /login: the login form. */
static void
login_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	page(c, 200, "login", "Log in", NULL, NULL);
}

/* POST /login: a new session (303 to /); 401 with one message for every failure, 429 when throttled. */
static void
login_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *email = c->k->v[ACCT_EMAIL].s;
	long long uid;

	switch (ac_auth_login(portal.db, &portal.auth, email, c->k->v[ACCT_PASSWORD].s,
	    c->r->remote_addr, &uid)) {
	case AC_AUTH_OK:
		if (start_session(c, uid) == -1)
			break;
		redirect(c, "/");
		return;
	case AC_AUTH_THROTTLED:
		add_header(c, "Retry-After", "60");
		page(c, 429, "login", "Log in", json_pack("{s:s?}", "email", email),
		    "Too many failed attempts. Wait a while before trying again.");
		return;
	case AC_AUTH_ERROR:
		break;
	default:
		page(c, 401, "login", "Log in", json_pack("{s:s?}", "email", email),
		    "The email or password is not right, or the account is locked for a while.");
		return;
	}
	db_failed(c);
}

/* A login whose form had text not UTF-8 counts as a failed attempt. */
static void
login_refused(struct ac_call *k, const struct ac_err *e)
{
	if (strcmp(ac_err_slug(e), "bad_encoding") == 0)
		ac_auth_login_refused(&portal.auth, ac_call_form(k, "email"), k->r->remote_addr);
}

/* POST /logout: ends the session on the server and in the browser. */
static void
logout_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	ac_session_end(portal.db, c->cookie);
	session_cookie(c, "");
	redirect(c, "/login?done=logged_out");
}

/* GET /password/forgot: asks for the email. */
static void
forgot_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	page(c, 200, "forgot", "Reset your password", NULL, NULL);
}

/* POST /password/forgot: queues a reset link if the account exists; the same page either way. */
static void
forgot_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *email = c->k->v[FORGOT_EMAIL].s;

	if (ac_reset_request(portal.db, &portal.auth, email, portal.cfg.base_url) == -1) {
		db_failed(c);
		return;
	}
	page(c, 200, "forgot", "Reset your password", json_pack("{s:b}", "sent", 1), NULL);
}

/* A refused address: the form again, saying why. */
static void
forgot_invalid(struct ac_call *k, const struct ac_err *e)
{
	page(k->ctx, 422, "forgot", "Reset your password", NULL, e->message);
}

/* GET /password/reset?token=: the new-password form, or 404 for a bad link. */
static void
reset_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *token = ac_req_arg(c->r, "token");
	int valid = ac_reset_valid(portal.db, token);

	if (valid == -1) {
		db_failed(c);
		return;
	}
	page(c, valid ? 200 : 404, "reset", "Choose a new password",
	    json_pack("{s:b, s:s?}", "valid", valid, "token", valid ? token : NULL), NULL);
}

/* POST /password/reset: uses the link once (303 to /login), 422 for a bad password, 404 for a bad link. */
static void
reset_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *token = c->k->v[LINK_TOKEN].s;
	char err[256];

	switch (ac_reset_complete(portal.db, token, c->k->v[LINK_PASSWORD].s, err, sizeof(err))) {
	case AC_AUTH_OK:
		redirect(c, "/login?done=reset");
		return;
	case AC_AUTH_INVALID:
		page(c, 422, "reset", "Choose a new password", json_pack("{s:b, s:s}", "valid", 1,
		    "token", token), err);
		return;
	case AC_AUTH_FAILED:
		page(c, 404, "reset", "Choose a new password", json_pack("{s:b}", "valid", 0), NULL);
		return;
	default:
		db_failed(c);
	}
}

/* ---- pages of a logged-in user ------------------------------------------------- */

/* The alarm form's state: from the posted form, or from alarm (NULL: the
 * defaults for a new one). */
static json_t *
alarm_form_state(const struct pctx *c, const json_t *alarm)
{
	static const char *const chans[] = { "telegram", "email", "sms", "push" };
	json_t *f = json_object();
	char key[16];
	size_t i;
	json_t *v;

	if (c->k->nform > 0) {
		const struct ac_val *fv = c->k->v;
		const char *list = fv[ALARM_CHANNELS].s;

		for (i = 0; i < 4; i++) {
			snprintf(key, sizeof(key), "ch_%s", chans[i]);
			json_object_set_new(f, key, json_boolean(strstr(list, chans[i]) != NULL));
		}
		json_object_set_new(f, "on_entry", json_boolean(fv[ALARM_ON_ENTRY].i));
		json_object_set_new(f, "on_exit", json_boolean(fv[ALARM_ON_EXIT].i));
		json_object_set_new(f, "on_replacement", json_boolean(fv[ALARM_ON_REPLACEMENT].i));
		json_object_set_new(f, "enabled", json_boolean(fv[ALARM_ENABLED].i));
		json_object_set_new(f, "min_price", json_string(fv[ALARM_MIN].s ?
		    fv[ALARM_MIN].s : ""));
		json_object_set_new(f, "max_price", json_string(fv[ALARM_MAX].s ?
		    fv[ALARM_MAX].s : ""));
		return f;
	}
	if (alarm == NULL) {
		json_object_set_new(f, "ch_telegram", json_true());
		json_object_set_new(f, "on_entry", json_true());
		json_object_set_new(f, "on_exit", json_true());
		json_object_set_new(f, "on_replacement", json_true());
		return f;
	}
	json_array_foreach(json_object_get(alarm, "channels"), i, v) {
		snprintf(key, sizeof(key), "ch_%s", json_string_value(v));
		json_object_set_new(f, key, json_true());
	}
	json_object_set(f, "on_entry", json_object_get(alarm, "on_entry"));
	json_object_set(f, "on_exit", json_object_get(alarm, "on_exit"));
	json_object_set(f, "on_replacement", json_object_get(alarm, "on_replacement"));
	json_object_set(f, "enabled", json_object_get(alarm, "enabled"));
	json_object_set(f, "min_price", json_object_get(alarm, "min_price"));
	json_object_set(f, "max_price", json_object_get(alarm, "max_price"));
	return f;
}

/*
 * Why each channel the user cannot be reached on sends nothing:
 * {"telegram": "...", ...} with a member only for such a channel (the
 * rule of the fan-out, ac_reachable(): switched on in the preferences and
 * an address to send to). {} when the profile cannot be read.
 */
static json_t *
channel_warnings(const struct pctx *c)
{
	struct ac_err e = { 0 };
	json_t *u = ac_profile(portal.db, c->s.user_id, &e), *n, *w = json_object();
	const char *phone;

	if (u == NULL)
		return w;
	n = json_object_get(u, "notifications");
	phone = json_string_value(json_object_get(u, "phone"));
	if (!json_is_true(json_object_get(u, "telegram_connected")))
		json_object_set_new(w, "telegram", json_string("no Telegram chat is connected"));
	else if (!json_is_true(json_object_get(n, "telegram")))
		json_object_set_new(w, "telegram", json_string("Telegram is switched off in your"
		    " preferences"));
	if (!json_is_true(json_object_get(n, "email")))
		json_object_set_new(w, "email", json_string("email is switched off in your"
		    " preferences"));
	if (phone == NULL || *phone == '\0')
		json_object_set_new(w, "sms", json_string("there is no phone number on your account"));
	else if (!json_is_true(json_object_get(n, "sms")))
		json_object_set_new(w, "sms", json_string("SMS is switched off in your preferences"));
	if (json_array_size(json_object_get(u, "push_devices")) == 0)
		json_object_set_new(w, "push", json_string("no device has push turned on"));
	else if (!json_is_true(json_object_get(n, "push")))
		json_object_set_new(w, "push", json_string("push is switched off in your preferences"));
	json_decref(u);
	return w;
}

/* The form's "warnings": [{"channel", "why"}] for each channel of warn, in
 * the form's order. */
static void
form_warnings(json_t *form, const json_t *warn)
{
	json_t *list = json_array(), *why;

	for (size_t i = 0; i < AC_CH__MAX; i++)
		if ((why = json_object_get(warn, ac_channel_names[i])) != NULL)
			json_array_append_new(list, json_pack("{s:s, s:O}", "channel",
			    ac_channel_names[i], "why", why));
	json_object_set_new(form, "warnings", json_array_size(list) ? list : json_null());
	if (!json_array_size(list))
		json_decref(list);
}

/* An alarm row's channels as [{"name", "why"}]: why (or null) says it
 * sends nothing. */
static void
row_channels(json_t *rows, const json_t *warn)
{
	json_t *a, *ch, *list;
	size_t i, j;

	json_array_foreach(rows, i, a) {
		list = json_array();
		json_array_foreach(json_object_get(a, "channels"), j, ch)
			json_array_append_new(list, json_pack("{s:O, s:O?}", "name", ch, "why",
			    json_object_get(warn, json_string_value(ch))));
		json_object_set_new(a, "channels", list);
	}
}

/* The alarms page, with error and status after a refused form. */
static void
alarms_show(struct pctx *c, int status, const char *error)
{
	json_t *list = ac_alarm_list(portal.db, c->s.user_id, NULL);
	json_t *strategies = list ? ac_alarm_strategies(portal.db, c->s.user_id, NULL) : NULL;
	json_t *warn, *form;

	if (strategies == NULL) {
		json_decref(list);
		db_failed(c);
		return;
	}
	if (c->k != NULL && c->k->nform > 0 && strcmp(c->r->path, "/alarms") == 0) {
		/* a refused add: its strategy chosen again */
		json_t *st;
		size_t i;

		json_array_foreach(strategies, i, st)
			if (json_integer_value(json_object_get(st, "id")) ==
			    c->k->v[ALARM_STRATEGY].i)
				json_object_set_new(st, "selected", json_true());
	}
	/* "choices": the add form, once, when a plan covers some strategy */
	warn = channel_warnings(c);
	form = alarm_form_state(c, NULL);
	form_warnings(form, warn);
	row_channels(list, warn);
	json_decref(warn);
	page(c, status, "alarms", "Alarms", json_pack("{s:o, s:b, s:o, s:o}", "alarms",
	    rows_or_null(list), "choices", json_array_size(strategies) > 0, "strategies",
	    strategies, "form", form), error);
}

/* GET /alarms: the user's alarms and the add form. */
static void
alarms_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	alarms_show(c, 200, NULL);
}

/* The alarm fields of the posted form. */
static struct ac_alarm_in
alarm_input(const struct pctx *c)
{
	struct ac_alarm_in in = {
		.channels = c->k->v[ALARM_CHANNELS].s,
		.min_price = c->k->v[ALARM_MIN].s, .max_price = c->k->v[ALARM_MAX].s,
		.on_entry = c->k->v[ALARM_ON_ENTRY].i, .on_exit = c->k->v[ALARM_ON_EXIT].i,
		.on_replacement = c->k->v[ALARM_ON_REPLACEMENT].i,
		.enabled = c->k->v[ALARM_ENABLED].i,
	};

	return in;
}

/* POST /alarms: an alarm on a covered strategy (303), or 422/409 with the page again. */
static void
alarm_add(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_alarm_in in = alarm_input(c);
	const char *strategy = k->v[ALARM_STRATEGY].s;
	struct ac_err e = { 0 };
	json_t *a;

	if (strategy == NULL) {
		alarms_show(c, 422, "choose a strategy");
		return;
	}
	in.user_id = c->s.user_id;
	in.strategy_id = strategy;
	in.enabled = 1;		/* the add form has no switch: a new alarm is on */
	if ((a = ac_alarm_create(portal.db, &in, &e)) != NULL) {
		json_decref(a);
		redirect(c, "/alarms?done=alarm_added");
	} else if (e.code == AC_E_INVALID)
		alarms_show(c, 422, e.message);
	else if (e.code == AC_E_CONFLICT)
		alarms_show(c, 409, "You already have an alarm for this strategy: edit it instead.");
	else if (e.code == AC_E_PAYMENT)
		alarms_show(c, 422, strcmp(ac_err_slug(&e), "strategy_limit") == 0 ?
		    "Your plan allows no more strategies: choose a larger plan on the Plans page." :
		    "Your plan does not cover this strategy: see the Plans page.");
	else
		db_failed(c);
}

/* The edit form, with error and status after a refused form. */
static void
alarm_show(struct pctx *c, long long id, int status, const char *error)
{
	struct ac_err e = { 0 };
	json_t *a = ac_alarm_get(portal.db, c->s.user_id, id, &e), *form, *warn;

	if (a == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	form = alarm_form_state(c, a);
	warn = channel_warnings(c);
	form_warnings(form, warn);
	json_decref(warn);
	page(c, status, "alarm_edit", "Edit alarm", json_pack("{s:o, s:o}", "form", form,
	    "alarm", a), error);
}

/* GET /alarms/N: the edit form of the user's alarm N, or 404. */
static void
alarm_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	alarm_show(c, id, 200, NULL);
}

/* GET /alarms/N/delete: "are you sure?" with what goes, or 404. */
static void
alarm_delete_confirm(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *a = ac_alarm_get(portal.db, c->s.user_id, k->id, &e);

	if (a == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	page(c, 200, "alarm_delete", "Delete alarm", json_pack("{s:o}", "alarm", a), NULL);
}

/* POST /alarms/N: saves the form to the user's alarm N (303), 422, or 404. */
static void
alarm_save(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	struct ac_alarm_in in = alarm_input(c);
	struct ac_err e = { 0 };
	int n;

	if (ac_alarm_check(&in, &e) == -1) {
		alarm_show(c, id, 422, e.message);
		return;
	}
	if ((n = ac_alarm_update(portal.db, c->s.user_id, id, &in)) == 1)
		redirect(c, "/alarms?done=alarm_saved");
	else if (n == 0)
		not_found(c);
	else
		db_failed(c);
}

/* Answers a change to one alarm: n from the call, flash code on success. */
static void
alarm_changed(struct pctx *c, int n, const char *done)
{
	if (n == 1)
		redirect(c, ac_arena_printf(c->r->arena, "/alarms?done=%s", done));
	else if (n == 0)
		not_found(c);
	else
		db_failed(c);
}

/* POST /alarms/N/enable: switches the user's alarm N on, or 404. */
static void
alarm_on(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	alarm_changed(c, ac_alarm_enable(portal.db, c->s.user_id, id, 1), "alarm_enabled");
}

/* POST /alarms/N/disable: switches the user's alarm N off, or 404. */
static void
alarm_off(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	alarm_changed(c, ac_alarm_enable(portal.db, c->s.user_id, id, 0), "alarm_disabled");
}

/* POST /alarms/N/delete: deletes the user's alarm N, or 404. */
static void
alarm_delete(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	alarm_changed(c, ac_alarm_delete(portal.db, c->s.user_id, id), "alarm_deleted");
}

/* <option>s for a filter: "" (all) then values, the one equal to current selected. */
static json_t *
options(const char *all, const char *const *values, const char *current)
{
	json_t *a = json_array();

	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "", "label", all,
	    "selected", current == NULL));
	for (; *values; values++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", *values, "label",
		    *values, "selected", current && strcmp(current, *values) == 0));
	return a;
}

/* Trims rows (read PAGE_ROWS + 1 of them) to a page and sets on d the
 * links to the pages beside it, "pages": {"next" (older: ids below the
 * page's last) when there was one more row, "newest" (base) when this page
 * is not}, or nothing when it is the only page. */
static void
pager(struct pctx *c, json_t *d, json_t *rows, const char *base, int paged)
{
	json_t *p = json_object();

	if (json_array_size(rows) > PAGE_ROWS) {
		json_array_remove(rows, PAGE_ROWS);
		json_object_set_new(p, "next", json_string(ac_arena_printf(c->r->arena,
		    "%s%cbefore=%lld", base, strchr(base, '?') ? '&' : '?',
		    (long long)json_integer_value(json_object_get(json_array_get(rows,
		    PAGE_ROWS - 1), "id")))));
	}
	if (paged)
		json_object_set_new(p, "newest", json_string(base));
	if (json_object_size(p) > 0)
		json_object_set(d, "pages", p);
	json_decref(p);
}

/* GET /history: the user's notifications, newest first, filtered, a page
 * (?before=id) at a time; only of signals the user may see (as on the
 * dashboard: ac_visible_periods, sql/013_visible_periods.sql). */
static void
history_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const char *channel = k->v[HISTORY_CHANNEL].s, *status = k->v[HISTORY_STATUS].s;
	const char *strategy = k->v[HISTORY_STRATEGY].s, *before = k->v[HISTORY_BEFORE].s;
	struct ac_err e = { 0 };
	char *base;
	json_t *h, *rows, *opts, *s;
	size_t i;

	if ((h = ac_history(portal.db, c->s.user_id, &(struct ac_history_query){
	    .channel = channel, .status = status, .strategy_id = strategy, .before = before,
	    .limit = PAGE_ROWS + 1, .reading = 1 }, &e)) == NULL) {
		db_failed(c);
		return;
	}
	rows = badges(json_incref(json_object_get(h, "items")), delivery_badge);
	opts = json_array();
	json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", "", "label",
	    "All strategies", "selected", strategy == NULL));
	json_array_foreach(json_object_get(h, "strategies"), i, s) {
		const char *sid = json_string_value(json_object_get(s, "id"));

		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", sid, "label",
		    strategy_label(c, s),
		    "selected", strategy && strcmp(sid, strategy) == 0));
	}
	json_decref(h);
	base = ac_arena_printf(c->r->arena, "/history?channel=%s&status=%s&strategy=%s",
	    channel ? channel : "", status ? status : "", strategy ? strategy : "");
	h = json_pack("{s:o, s:o, s:o}", "channels", options("All channels", ac_channel_names,
	    channel), "statuses", options("All statuses", delivery_values, status), "strategies", opts);
	pager(c, h, rows, base, before != NULL);
	json_object_set_new(h, "h", rows_or_null(rows));
	page(c, 200, "history", "Notification history", h, NULL);
}

/* GET /credits: the balance and the ledger rows, newest first, a page
 * (?before=id) at a time, each with the balance after it. */
static void
credits_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long before = k->v[PAGED_BEFORE].s ? k->v[PAGED_BEFORE].i : 0;
	struct ac_err e = { 0 };
	json_t *d = ac_credits(portal.db, c->s.user_id, before, PAGE_ROWS + 1, 1, &e);
	json_t *entries, *v;
	json_int_t amount;
	size_t i;

	if (d == NULL) {
		db_failed(c);
		return;
	}
	entries = json_object_get(d, "entries");
	json_array_foreach(entries, i, v) {
		amount = json_integer_value(json_object_get(v, "amount"));
		json_object_set_new(v, "amount", json_string(ac_arena_printf(c->r->arena,
		    "%s%lld", amount > 0 ? "+" : "", (long long)amount)));
		json_object_set_new(v, "negative", json_boolean(amount < 0));
	}
	json_object_set_new(d, "has_entries", json_boolean(json_array_size(entries) > 0));
	pager(c, d, entries, "/credits", before > 0);
	page(c, 200, "credits", "Credits", json_pack("{s:o}", "c", d), NULL);
}

/* Sets klass on each row of rows to the colour of its amount field; rows. */
static json_t *
amount_classes(json_t *rows, const char *field, const char *klass)
{
	json_t *v;
	size_t i;

	json_array_foreach(rows, i, v)
		json_object_set_new(v, klass, json_string(amount_class(json_string_value(
		    json_object_get(v, field)))));
	return rows;
}

/* GET /trades: the user's virtual trades, open and closed, with PnL, a
 * page (?before=id) at a time, and per strategy the closed trades' totals
 * and the open ones marked to the last signal. */
static void
trades_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long before = k->v[PAGED_BEFORE].s ? k->v[PAGED_BEFORE].i : 0;
	struct ac_err e = { 0 };
	json_t *t = ac_trades(portal.db, c->s.user_id, NULL, before, PAGE_ROWS + 1, 1, &e);
	json_t *totals, *d, *v;
	const char *why;
	size_t i;

	if (t == NULL || (totals = ac_trade_totals(portal.db, c->s.user_id, &e)) == NULL) {
		json_decref(t);
		db_failed(c);
		return;
	}
	amount_classes(badges(t, trade_badge), "pnl_amount", "pnl_class");
	json_array_foreach(t, i, v)
		if ((why = json_string_value(json_object_get(v, "exit_reason"))) != NULL)
			json_object_set_new(v, "exit_reason", json_string(ac_exit_reason_words(why)));
	amount_classes(totals, "pnl_amount", "pnl_class");
	amount_classes(totals, "mark_pnl_amount", "mark_pnl_class");
	d = json_pack("{s:b, s:o, s:o}", "has_rows", json_array_size(t) > 0, "rows", t,
	    "totals", totals);
	pager(c, d, t, "/trades", before > 0);
	page(c, 200, "trades", "Trades", json_pack("{s:o}", "t", d), NULL);
}

/* GET /plans: the plans on offer (the user's own marked). */
static void
plans_page(struct ac_call *k)
{
	plans_show(k->ctx, 200, NULL);
}

void
plans_show(struct pctx *c, int status, const char *error)
{
	struct ac_err e = { 0 };
	json_t *d, *p, *names, *st;
	json_int_t months, days, price;
	size_t i, j;

	if (!c->user)
		c->s.user_id = 0;
	if ((d = ac_plans(portal.db, c->s.user_id, 1, &e)) == NULL) {
		db_failed(c);
		return;
	}
	json_array_foreach(d, i, p) {
		price = json_integer_value(json_object_get(p, "price_minor"));
		months = json_integer_value(json_object_get(p, "duration_months"));
		days = json_integer_value(json_object_get(p, "duration_days"));
		json_object_set_new(p, "price", json_string(ac_arena_printf(c->r->arena,
		    "%lld.%02lld", (long long)price / 100, (long long)price % 100)));
		json_object_set_new(p, "period", json_string(months == 1 ? "month" : months > 1 ?
		    ac_arena_printf(c->r->arena, "%lld months", (long long)months) :
		    ac_arena_printf(c->r->arena, "%lld days", (long long)days)));
		json_object_set(p, "credits", json_object_get(p, "credits_per_period"));
		json_object_set_new(p, "unlimited", json_boolean(json_integer_value(
		    json_object_get(p, "max_strategies")) == -1));
		names = json_array();
		json_array_foreach(json_object_get(p, "strategies"), j, st)
			json_array_append_new(names, json_pack("{s:s, s:O, s:O}", "label",
			    strategy_label(c, st), "id", json_object_get(st, "id"), "public_record",
			    json_object_get(st, "public_record")));
		json_object_set_new(p, "strategies", names);
		billing_plan_extras(c, p);
	}
	page(c, status, "plans", "Plans", json_pack("{s:o, s:b}", "plans", d, "card_customer",
	    c->user && c->s.user_id > 0 && ac_stripe_is_customer(portal.db, c->s.user_id)), error);
}

/* A refused account form's values as typed, over what is stored, so the
 * page shows the form as it was sent (passwords excepted). */
static void
account_typed(const struct pctx *c, json_t *u)
{
	static const char *const text[] = { "name", "phone", "timezone", "max_daily_alerts" };
	static const char *const checks[][2] = { { "email", "notify_email" },
		{ "telegram", "notify_telegram" }, { "sms", "notify_sms" },
		{ "push", "notify_push" }, { "renewal_reminders", "renewal_reminders" } };
	json_t *n = json_object_get(u, "notifications");
	const char *v;

	if (c->k == NULL || c->k->nform == 0)
		return;
	if (strcmp(c->r->path, "/account/profile") == 0) {
		for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
			if ((v = ac_call_form(c->k, text[i])) != NULL)
				json_object_set_new(u, text[i], json_string(v));
		for (size_t i = 0; n != NULL && i < sizeof(checks) / sizeof(checks[0]); i++)
			json_object_set_new(n, checks[i][0], json_boolean(ac_call_form(c->k,
			    checks[i][1]) != NULL));
	} else if (strcmp(c->r->path, "/account/email") == 0 &&
	    (v = ac_call_form(c->k, "email")) != NULL)
		json_object_set_new(u, "new_email", json_string(v));
}

/* The account page, with error and status after a refused form, and the
 * Telegram deep link (NULL: none made yet). */
static void
account_show_link(struct pctx *c, int status, const char *error, const char *link)
{
	struct ac_err e = { 0 };
	json_t *u = ac_profile(portal.db, c->s.user_id, &e), *push = NULL;

	char *svg = NULL, *b64 = NULL;
	size_t n;

	if (u == NULL) {
		db_failed(c);
		return;
	}
	push = push_card(c, json_object_get(u, "push_devices"));
	account_typed(c, u);
	/* the deep link as a QR code too, for a phone's camera when the page
	 * is open on a computer: an SVG in a data: URI (img-src allows it) */
	if (link != NULL && (svg = ac_qr_svg(link, 4, &e)) != NULL) {
		n = sodium_base64_ENCODED_LEN(strlen(svg), sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(n)) != NULL)
			sodium_bin2base64(b64, n, (const unsigned char *)svg, strlen(svg),
			    sodium_base64_VARIANT_ORIGINAL);
	}
	page(c, status, "account", "Account", json_pack("{s:o, s:b, s:s?, s:s?, s:o?}", "u", u,
	    "telegram_bot", portal.telegram_bot != NULL, "telegram_link", link, "telegram_qr",
	    b64 ? ac_arena_printf(c->r->arena, "data:image/svg+xml;base64,%s", b64) : NULL,
	    "push", push), error);
	free(svg);
	free(b64);
}

/* The account page, with error and status after a refused form. */
static void
account_show(struct pctx *c, int status, const char *error)
{
	account_show_link(c, status, error, NULL);
}

/* A one-time Telegram deep link, shown on the account page. */
static void
telegram_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char code[AC_TELEGRAM_CODE_LEN + 1];

	if (portal.telegram_bot == NULL) {
		account_show(c, 409, "Connecting Telegram is not configured on this server yet.");
		return;
	}
	if (ac_telegram_link_code(portal.db, c->s.user_id, code, sizeof(code)) == -1) {
		db_failed(c);
		return;
	}
	account_show_link(c, 200, NULL, ac_arena_printf(c->r->arena, "https://t.me/%s?start=%s",
	    portal.telegram_bot, code));
}

/* POST /account/telegram/disconnect: the chat forgotten (303 either way). */
static void
telegram_disconnect(struct ac_call *k)
{
	struct pctx *c = k->ctx;

	if (ac_telegram_disconnect(portal.db, c->s.user_id) == -1)
		db_failed(c);
	else
		redirect(c, "/account?done=telegram_disconnected#telegram");
}

/* GET /account: profile, preferences, email, password, Telegram, push. */
static void
account_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	account_show(c, 200, NULL);
}

/* 1 if s is a phone number as users.phone takes it: +?[0-9]{6,20}. */
static int
phone_ok(const char *s)
{
	size_t n;

	s += *s == '+';
	n = strspn(s, "0123456789");
	return s[n] == '\0' && n >= 6 && n <= 20;
}

/* A phone number as users.phone takes it, or none: NULL, or what is wrong. */
static const char *
phone_why(const char *s)
{
	return *s == '\0' || phone_ok(s) ? NULL : "the phone number must be 6 to 20 digits,"
	    " with an optional leading +, like +919876543210";
}

/* A refused profile field: the account page again, saying why. */
static void
profile_invalid(struct ac_call *k, const struct ac_err *e)
{
	account_show(k->ctx, 422, e->message);
}

/* POST /account/profile: saves profile and preferences (303), or 422 naming the field. */
static void
profile_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const struct ac_val *v = k->v;
	const char *name = v[PROFILE_NAME].s, *phone = v[PROFILE_PHONE].s, *tz = v[PROFILE_TZ].s;
	const char *max = v[PROFILE_MAX].s;
	struct ac_err e = { 0 };

	if (name == NULL)
		name = "";
	if (phone == NULL)
		phone = "";
	if (ac_profile_update(portal.db, c->s.user_id, &(struct ac_profile_in){ .name = name,
	    .phone = phone, .timezone = tz, .max_daily_alerts = max,
	    .notify_email = v[PROFILE_EMAIL].i, .notify_telegram = v[PROFILE_TELEGRAM].i,
	    .notify_sms = v[PROFILE_SMS].i, .notify_push = v[PROFILE_PUSH].i,
	    .renewal_reminders = v[PROFILE_RENEWAL].i }, &e) == -1) {
		if (e.code == AC_E_UNPROCESSABLE)
			account_show(c, 422, "unknown time zone: use a name like UTC or Asia/Kolkata");
		else
			db_failed(c);
		return;
	}
	redirect(c, "/account?done=profile_saved");
}

/* The answer to a change on the account page: to done (303), 503, or the
 * page again with err (422). */
static void
account_answer(struct pctx *c, enum ac_auth_result res, const char *err, const char *done)
{
	if (res == AC_AUTH_OK)
		redirect(c, done);
	else if (res == AC_AUTH_ERROR)
		db_failed(c);
	else
		account_show(c, 422, err);
}

/* POST /account/password: a new password after the current one (303), or 422. */
static void
password_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char err[256];

	account_answer(c, ac_auth_change_password(portal.db, c->s.user_id, c->s.id,
	    k->v[NEWPW_CURRENT].s, k->v[NEWPW_PASSWORD].s, err, sizeof(err)), err,
	    "/account?done=password_changed");
}

/* POST /account/email: after the password, mails the new address (303,
 * the same whether it is taken or free), or 422. */
static void
email_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char err[256];

	account_answer(c, ac_auth_change_email(portal.db, &portal.auth, c->s.user_id,
	    k->v[ACCT_PASSWORD].s, k->v[ACCT_EMAIL].s, portal.cfg.base_url, err, sizeof(err)), err,
	    "/account?done=email_sent");
}

/* GET /account/email/confirm?token=: the button that changes the email. */
static void
email_confirm_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	confirm_form(c, "email_change", "Confirm your new address", "/account/email/confirm",
	    "Use this address");
}

/* POST /account/email/confirm: the address becomes the account's (303), or 404. */
static void
email_confirm_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	switch (ac_email_confirm(portal.db, k->v[LINK_TOKEN].s, portal.cfg.base_url)) {
	case 1:
		redirect(c, c->user ? "/account?done=email_changed" : "/login?done=email_changed");
		return;
	case 0:
		confirm_gone(c, "Confirm your new address");
		return;
	}
	db_failed(c);
}

/* The API page: what the API is, how to get a token (with examples at this
 * site's address), the user's personal tokens; new_token (may be NULL) is
 * shown once. */
static void
tokens_show(struct pctx *c, int status, const char *new_token, const char *error)
{
	struct ac_err e = { 0 };
	json_t *t = ac_api_token_list(portal.db, c->s.user_id, &e);

	if (t == NULL)
		db_failed(c);
	else
		page(c, status, "tokens", "API", json_pack("{s:b, s:o, s:s?, s:s, s:s?}",
		    "has_tokens", json_array_size(t) > 0, "tokens", t, "new_token", new_token,
		    "base_url", portal.cfg.base_url, "name", error && c->k ?
		    ac_call_form(c->k, "name") : NULL), error);
}

/*
 * A new API token reaches the page that shows it once through a cookie
 * (post-redirect-get: a reload makes no second token): sealed with a key
 * derived from the session's own token, so the cookie is nothing without
 * that session, and nothing readable is kept anywhere. Path=/tokens,
 * gone after 5 minutes or at the first showing.
 */
#define ONCE_COOKIE	"ac_token_once"
#define ONCE_SECONDS	300
#define ONCE_PLAIN	(AC_API_TOKEN_LEN + 8)	/* the token, its end (Unix time, BE) */
#define ONCE_LEN	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + ONCE_PLAIN)

/* The sealing key for the session cookie c->cookie. */
static void
once_key(const struct pctx *c, unsigned char key[crypto_secretbox_KEYBYTES])
{
	static const char ctx[] = "alertcast: a new API token shown once";

	crypto_generichash(key, crypto_secretbox_KEYBYTES, (const unsigned char *)c->cookie,
	    strlen(c->cookie), (const unsigned char *)ctx, sizeof(ctx) - 1);
}

/* Sets (token) or clears (NULL) the cookie. */
static void
once_cookie(struct pctx *c, const char *token)
{
	unsigned char key[crypto_secretbox_KEYBYTES], box[ONCE_LEN], plain[ONCE_PLAIN];
	char v[sodium_base64_ENCODED_LEN(ONCE_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	uint64_t end = (uint64_t)time(NULL) + ONCE_SECONDS;

	*v = '\0';
	if (token != NULL && strlen(token) == AC_API_TOKEN_LEN && c->cookie != NULL) {
		memcpy(plain, token, AC_API_TOKEN_LEN);
		for (int i = 0; i < 8; i++)
			plain[AC_API_TOKEN_LEN + i] = (unsigned char)(end >> (56 - 8 * i));
		once_key(c, key);
		randombytes_buf(box, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, sizeof(plain), box,
		    key);
		sodium_bin2base64(v, sizeof(v), box, sizeof(box),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(key, sizeof(key));
		sodium_memzero(plain, sizeof(plain));
	}
	add_header(c, "Set-Cookie", ac_arena_printf(c->r->arena,
	    ONCE_COOKIE "=%s; Path=/tokens; HttpOnly; SameSite=Strict; Max-Age=%d%s", v,
	    *v ? ONCE_SECONDS : 0, portal.https ? "; Secure" : ""));
}

/* The token the cookie carries for this session (out, NUL-terminated), or
 * NULL: none, past its end, or sealed for another session. */
static const char *
once_open(struct pctx *c, char out[AC_API_TOKEN_LEN + 1])
{
	const char *v = ac_req_cookie(c->r, ONCE_COOKIE);
	unsigned char key[crypto_secretbox_KEYBYTES], box[ONCE_LEN], plain[ONCE_PLAIN];
	uint64_t end = 0;
	size_t n;
	int ok;

	*out = '\0';
	if (v == NULL || *v == '\0' || c->cookie == NULL ||
	    sodium_base642bin(box, sizeof(box), v, strlen(v), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n != sizeof(box))
		return NULL;
	once_key(c, key);
	ok = crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
	    sizeof(box) - crypto_secretbox_NONCEBYTES, box, key) == 0;
	sodium_memzero(key, sizeof(key));
	for (int i = 0; ok && i < 8; i++)
		end = end << 8 | plain[AC_API_TOKEN_LEN + i];
	if (ok && end >= (uint64_t)time(NULL)) {
		memcpy(out, plain, AC_API_TOKEN_LEN);
		out[AC_API_TOKEN_LEN] = '\0';
	}
	sodium_memzero(plain, sizeof(plain));
	return *out ? out : NULL;
}

/* GET /tokens: the user's API tokens (prefixes only), and once a new one. */
static void
tokens_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char token[AC_API_TOKEN_LEN + 1];
	const char *fresh = NULL;

	if (ac_req_cookie(c->r, ONCE_COOKIE) != NULL) {
		fresh = once_open(c, token);
		once_cookie(c, NULL);	/* shown this once, or never */
	}
	add_header(c, "Cache-Control", "no-store");
	tokens_show(c, 200, fresh, NULL);
	sodium_memzero(token, sizeof(token));
}

/* POST /tokens: a new API token, to be shown once by GET /tokens (303), or
 * 422 with the name as typed. */
static void
token_create(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char token[AC_API_TOKEN_LEN + 1];
	struct ac_err e;
	long long tid;

	if (ac_api_token_create(portal.db, c->s.user_id, k->v[TOKEN_NAME].s, token, &tid,
	    &e) == 0) {
		once_cookie(c, token);
		sodium_memzero(token, sizeof(token));
		redirect(c, "/tokens?done=token_created");
	} else if (e.code == AC_E_UNPROCESSABLE)
		tokens_show(c, 422, NULL, e.message);
	else
		db_failed(c);
}

/* GET /tokens/N/revoke: "are you sure?" naming the token and what stops,
 * or 404 (not the user's, or revoked already). */
static void
token_revoke_confirm(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *list = ac_api_token_list(portal.db, c->s.user_id, &e), *t, *found = NULL;
	size_t i;

	if (list == NULL) {
		db_failed(c);
		return;
	}
	json_array_foreach(list, i, t)
		if (json_integer_value(json_object_get(t, "id")) == k->id &&
		    !json_is_true(json_object_get(t, "revoked")))
			found = t;
	if (found == NULL)
		not_found(c);
	else
		page(c, 200, "token_revoke", "Revoke token", json_pack("{s:O}", "token", found),
		    NULL);
	json_decref(list);
}

/* POST /tokens/N/revoke: revokes the user's token N (303), or 404. */
static void
token_revoke(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	int n = ac_api_token_revoke(portal.db, c->s.user_id, id);

	if (n == 1)
		redirect(c, "/tokens?done=token_revoked");
	else if (n == 0)
		not_found(c);
	else
		db_failed(c);
}

/* ---- routing ------------------------------------------------------------------------ */

/* The guest forms' CSRF token: the pre-session cookie, set when missing. */
static const char *
pre_token(struct pctx *c)
{
	const char *t = ac_req_cookie(c->r, PRE_COOKIE);
	char *fresh;

	if (t != NULL && strlen(t) == AC_TOKEN_LEN)
		return t;
	fresh = ac_arena_alloc(c->r->arena, AC_TOKEN_LEN + 1);
	if (ac_token_new(fresh) == -1)
		return "";
	add_header(c, "Set-Cookie", ac_arena_printf(c->r->arena,
	    PRE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax%s", fresh,
	    portal.https ? "; Secure" : ""));
	return fresh;
}

/* The begin phase, for every request: the session of the cookie. */
static int
begin(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	int loaded;

	c->cookie = ac_req_cookie(c->r, AC_SESSION_COOKIE);
	if (c->cookie != NULL) {
		if ((loaded = ac_session_load(portal.db, &portal.auth, c->cookie, &c->s)) == -1) {
			db_failed(c);
			return 1;
		}
		c->user = loaded;
	}
	c->csrf = c->user ? c->s.csrf : NULL;
	return 0;
}

/* The access phase: a page of a user wants a session (a GET goes to
 * /login), a guest's page sends a session home; a guest gets the
 * pre-session CSRF cookie. */
static int
access_check(struct ac_call *k, struct ac_err *e)
{
	struct pctx *c = k->ctx;
	int is_get = k->route->method == AC_M_GET;

	if (k->route->access == AC_SESSION && !c->user) {
		if (is_get) {
			redirect(c, "/login");
			return 1;
		}
		return ac_err_setx(e, AC_E_FORBIDDEN, "session_ended", NULL,
		    "Your session has ended. Log in and try again.");
	}
	if (k->route->access == AC_GUEST && c->user && is_get) {
		redirect(c, "/");
		return 1;
	}
	if (!c->user)
		c->csrf = pre_token(c);
	k->csrf = c->csrf;
	k->user = c->user ? c->s.user_id : 0;
	return 0;
}

/* A refusal as an error page (the headers, Allow, added). */
static void
error_render(struct ac_call *k, const struct ac_err *e, const char *headers)
{
	struct pctx *c = k->ctx;

	if (headers != NULL)
		c->headers = ac_arena_printf(c->r->arena, "%s%s", c->headers ? c->headers : "",
		    headers);
	switch (e->code) {
	case AC_E_NOT_FOUND:
		not_found(c);
		break;
	case AC_E_NOT_ALLOWED:
		error_page(c, 405, "Not allowed", "That does not work on this page.");
		break;
	case AC_E_FORBIDDEN:
		if (strcmp(ac_err_slug(e), "csrf") == 0) {
			ac_info("POST %s refused: CSRF token or origin wrong", c->r->path);
			error_page(c, 403, "This form has expired", e->message);
		} else
			error_page(c, 403, "Please log in again", e->message);
		break;
	default:
		error_page(c, ac_err_status(e->code), "Bad request", e->message);
	}
}

static struct ac_router router = { .routes = pages, .n = sizeof(pages) / sizeof(pages[0]),
	.begin = begin, .access = access_check, .error = error_render };

/* A request read whole: its page. */
static void
serve(struct ac_req *r)
{
	struct pctx pc = { .r = r };
	struct ac_call k = { .r = r, .ctx = &pc };

	pc.k = &k;
	ac_route(&router, &k);
}

/* A request that could not be read: an error page. */
static void
refused(struct ac_req *r, int status, const char *why)
{
	struct ac_call k = { .r = r };
	struct pctx pc = { .r = r, .k = &k };

	k.ctx = &pc;
	error_page(&pc, status, status == 413 ? "Too large" : "Bad request", why);
}

int
main(int argc, char *argv[])
{
	const char *slash;
	int rc;

	if ((rc = ac_responder_start(argc, argv, "ac-portal", NULL, &portal.cfg)) != -1)
		return rc;
	ac_auth_init(&portal.auth, &portal.cfg);
	portal.html = ac_html_new(ac_setting_str(&portal.cfg, AC_S_PORTAL_TEMPLATE_DIR));
	portal.telegram_bot = ac_setting_str(&portal.cfg, AC_S_TELEGRAM_BOT_USERNAME);
	portal.https = strncmp(portal.cfg.base_url, "https://", 8) == 0;
	slash = strchr(portal.cfg.base_url + (portal.https ? 8 : 7), '/');
	snprintf(portal.origin, sizeof(portal.origin), "%.*s",
	    (int)(slash ? (size_t)(slash - portal.cfg.base_url) : strlen(portal.cfg.base_url)),
	    portal.cfg.base_url);
	portal.db = ac_db_new(portal.cfg.database_url, "ac-portal",
	    ac_setting_int(&portal.cfg, AC_S_DB_CONNECT_TIMEOUT),
	    ac_setting_int(&portal.cfg, AC_S_PORTAL_STATEMENT_TIMEOUT_MS));
	ac_db_generic_plans(portal.db);

	router.origin = portal.origin;
	ac_info("ready: origin %s", portal.origin);
	billing_setup();
	push_setup();
	/* room for a payment proof and the form around it */
	rc = ac_responder_run(&(struct ac_responder){ .body_max = portal.proof_max + 64 * 1024,
	    .route = serve, .refused = refused });
	ac_html_free(portal.html);
	ac_db_free(portal.db);
	ac_config_free(&portal.cfg);
	return rc;
}
