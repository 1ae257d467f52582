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
 *	GET  /account, POST /account/(profile|password|email|telegram)
 *	GET|POST /account/email/confirm	the emailed link that changes the email
 *	GET|POST /tokens, POST /tokens/N/revoke
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

#include "account/account.h"
#include "account/alarm.h"
#include "base/arena.h"
#include "base/channel.h"
#include "web/auth.h"
#include "base/config.h"
#include "base/db.h"
#include "web/html.h"
#include "base/log.h"
#include "web/request.h"
#include "web/responder.h"
#include "web/response.h"
#include "web/route.h"
#include "account/telegram.h"
#include "base/util.h"

#define PRE_COOKIE	"ac_pre"	/* the guest forms' CSRF cookie */
#define HISTORY_PAGE	50

static struct {
	struct ac_config cfg;
	struct ac_db	*db;
	struct ac_html	*html;
	struct ac_auth_cfg auth;
	char		 origin[256];	/* scheme://host[:port] of AC_BASE_URL */
	int		 https;		/* the base URL is https: cookies get Secure */
	const char	*telegram_bot;	/* AC_TELEGRAM_BOT_USERNAME, or NULL */
} portal;


/* One request as the handlers see it. */
struct pctx {
	struct ac_req	*r;
	struct ac_session s;
	int		 user;		/* s is loaded */
	const char	*cookie;	/* the session cookie, or NULL */
	const char	*csrf;		/* the token forms of this page carry */
	char		*headers;	/* extra header lines (Set-Cookie) */
	struct ac_call	*k;		/* the route, the form and its fields */
};

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
static void	tokens_page(struct ac_call *);
static void	token_create(struct ac_call *);
static void	token_revoke(struct ac_call *);
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
	{ POST("/alarms/{id}/delete", alarm_delete), USER },
	{ GET("/history", history_page), USER, .fields = history_fields },
	{ GET("/credits", credits_page), USER },
	{ GET("/trades", trades_page), USER },
	{ GET("/plans", plans_page) },
	{ GET("/account", account_page), USER },
	{ POST("/account/profile", profile_post), USER, .fields = profile_fields,
	    .invalid = profile_invalid },
	{ POST("/account/password", password_post), USER, .fields = password_fields },
	{ POST("/account/email", email_post), USER, .fields = login_fields },
	{ GET("/account/email/confirm", email_confirm_form) },
	{ POST("/account/email/confirm", email_confirm_post), .fields = link_fields },
	{ POST("/account/telegram", telegram_post), USER },
	{ GET("/tokens", tokens_page), USER },
	{ POST("/tokens", token_create), USER, .fields = token_fields },
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
	{ "token_revoked", "Token revoked." },
};

/* ---- answering -------------------------------------------------------------- */

/* Adds the header line "name: value" to the answer. */
static void
add_header(struct pctx *c, const char *name, const char *value)
{
	c->headers = ac_arena_printf(c->r->arena, "%s%s: %s\r\n", c->headers ? c->headers : "",
	    name, value);
}

/* Answers 303 to location, with the headers gathered so far. */
static void
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

/*
 * Renders template tmpl inside the layout with data (stolen; NULL: {}),
 * adding what every page shows: the user, the CSRF token, the active menu
 * entry, the flash message, and error (may be NULL).
 */
static void
page(struct pctx *c, int status, const char *tmpl, const char *title, json_t *data,
    const char *error)
{
	char err[512], nav[64];
	size_t len;
	char *html;

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
	html = ac_html_render(portal.html, "layout", data, &len, err, sizeof(err));
	json_decref(data);
	if (html == NULL) {
		static const char oops[] = "<!doctype html><title>Error</title><p>Something went"
		    " wrong on our side. Please try again.</p>";

		ac_error("template %s: %s", tmpl, err);
		ac_reply(c->r, 500, "text/html; charset=utf-8", NULL, oops, sizeof(oops) - 1);
		return;
	}
	ac_reply(c->r, status, "text/html; charset=utf-8", c->headers, html, len);
	free(html);
}

/* An error page: 403, 404, 405, 500... */
static void
error_page(struct pctx *c, int status, const char *heading, const char *message)
{
	page(c, status, "error", heading, json_pack("{s:s, s:s}", "heading", heading,
	    "message", message), NULL);
}

/* The 404 page: also the answer for another user's rows. */
static void
not_found(struct pctx *c)
{
	error_page(c, 404, "Not found", "There is nothing here. It may have been deleted.");
}

/* The 500 page when the database failed (already logged). */
static void
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

/* ---- guest pages ----------------------------------------------------------------- */

/* GET /: the dashboard, or to /login for a guest. */
static void
home(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	static const struct ac_stmt st = { "portal_dashboard", AC_SQL_VISIBLE_WITH
		"SELECT json_build_object('balance', u.credit_balance,"
		" 'alarms', (SELECT count(*) FROM alarms a WHERE a.user_id = u.id),"
		" 'subscription', (SELECT json_build_object('plan', p.name, 'ends',"
		"  to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD'))"
		"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.user_id = u.id"
		"  AND s.status = 'active' AND s.period_end > now() ORDER BY s.period_end DESC LIMIT 1),"
		" 'open_trades', (SELECT json_build_object('rows', json_agg(t ORDER BY t.id DESC)) FROM"
		"  (SELECT tr.id, tr.trade_number, st.name AS strategy, tr.symbol, tr.timeframe, tr.side,"
		"  tr.entry_price::text AS entry, tr.take_profit::text AS tp, tr.stop_loss::text AS sl,"
		"  to_char(tr.opened_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI') AS opened"
		"  FROM trades tr JOIN strategies st ON st.id = tr.strategy_id"
		"  WHERE tr.user_id = u.id AND tr.status = 'open' ORDER BY tr.id DESC LIMIT 10) t"
		"  HAVING count(*) > 0),"
		" 'notifications', (SELECT json_build_object('rows', json_agg(n ORDER BY n.id DESC)) FROM"
		"  (SELECT d.id, to_char(d.created_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI') AS at,"
		"  st.name AS strategy, s.symbol, s.timeframe,"
		"  signal_action_label(s.action) AS action, s.price::text AS price,"
		"  d.channel, d.status, d.skip_reason, CASE d.status WHEN 'sent' THEN 'success'"
		"  WHEN 'failed' THEN 'danger' WHEN 'skipped' THEN 'warning' ELSE 'secondary' END AS badge"
		"  FROM deliveries d JOIN signals s ON s.id = d.signal_id"
		"  JOIN strategies st ON st.id = s.strategy_id"
		"  WHERE d.user_id = $1 AND " AC_SQL_VISIBLE("s")
		"  ORDER BY d.id DESC LIMIT 10) n HAVING count(*) > 0))"
		" FROM users u WHERE u.id = $1", 1 };
	char uid[24];
	const char *vals[1] = { uid };
	PGresult *res;
	json_t *d;

	if (!c->user) {
		redirect(c, "/login");
		return;
	}
	snprintf(uid, sizeof(uid), "%lld", c->s.user_id);
	res = ac_db_exec(portal.db, &st, vals, NULL, NULL);
	if (!ac_db_ok(portal.db, res, PGRES_TUPLES_OK) || PQntuples(res) != 1) {
		PQclear(res);
		db_failed(c);
		return;
	}
	d = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
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

/* The one JSON cell of st run with the user's id (and more values). NULL
 * after answering 500. */
static json_t *
user_json(struct pctx *c, const struct ac_stmt *st, const char *v2, const char *v3,
    const char *v4, const char *v5)
{
	char uid[24];
	const char *vals[5] = { uid, v2, v3, v4, v5 };
	json_t *o;
	int found;

	snprintf(uid, sizeof(uid), "%lld", c->s.user_id);
	if ((o = ac_db_json(portal.db, st, vals, &found)) == NULL)
		db_failed(c);
	return o;
}

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

/* The alarms page, with error and status after a refused form. */
static void
alarms_show(struct pctx *c, int status, const char *error)
{
	json_t *list = ac_alarm_list(portal.db, c->s.user_id);
	json_t *strategies = list ? ac_alarm_strategies(portal.db, c->s.user_id) : NULL;

	if (strategies == NULL) {
		json_decref(list);
		db_failed(c);
		return;
	}
	page(c, status, "alarms", "Alarms", json_pack("{s:o, s:o, s:o}", "alarms",
	    rows_or_null(list), "strategies", strategies, "form", alarm_form_state(c, NULL)),
	    error);
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
	const char *why, *fld, *strategy = k->v[ALARM_STRATEGY].s;
	char err[512];
	json_t *a;

	if ((why = ac_alarm_check(&in, &fld)) != NULL) {
		alarms_show(c, 422, why);
		return;
	}
	if (strategy == NULL) {
		alarms_show(c, 422, "choose a strategy");
		return;
	}
	{
		struct ac_alarm_new an = {
			.user_id = c->s.user_id, .strategy_id = strategy, .channels = in.channels,
			.no_entry = !in.on_entry, .no_exit = !in.on_exit,
			.no_replacement = !in.on_replacement,
			.min_price = in.min_price, .max_price = in.max_price,
		};

		a = ac_alarm_create(portal.db, &an, err, sizeof(err));
	}
	if (a == NULL) {
		if (strncmp(err, "already exists", 14) == 0)
			alarms_show(c, 409, "You already have an alarm for this strategy: edit it instead.");
		else if (strncmp(err, "no active subscription", 22) == 0 ||
		    strncmp(err, "refers to", 9) == 0)
			alarms_show(c, 422, "Your plan does not cover this strategy.");
		else
			db_failed(c);
		return;
	}
	json_decref(a);
	redirect(c, "/alarms?done=alarm_added");
}

/* The edit form, with error and status after a refused form. */
static void
alarm_show(struct pctx *c, long long id, int status, const char *error)
{
	int found;
	json_t *a = ac_alarm_get(portal.db, c->s.user_id, id, &found);

	if (a == NULL) {
		if (found)
			db_failed(c);
		else
			not_found(c);
		return;
	}
	page(c, status, "alarm_edit", "Edit alarm", json_pack("{s:o, s:o}", "form",
	    alarm_form_state(c, a), "alarm", a), error);
}

/* GET /alarms/N: the edit form of the user's alarm N, or 404. */
static void
alarm_form(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	alarm_show(c, id, 200, NULL);
}

/* POST /alarms/N: saves the form to the user's alarm N (303), 422, or 404. */
static void
alarm_save(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	long long id = k->id;
	struct ac_alarm_in in = alarm_input(c);
	const char *why, *fld;
	int n;

	if ((why = ac_alarm_check(&in, &fld)) != NULL) {
		alarm_show(c, id, 422, why);
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

/* GET /history: the user's notifications, newest first, filtered, a page
 * (?before=id) at a time; only of signals the user may see (as on the
 * dashboard: ac_visible_periods, sql/013_visible_periods.sql). */
static void
history_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	static const struct ac_stmt st = { "portal_history",
		"SELECT json_build_object('rows', (SELECT coalesce(json_agg(n ORDER BY n.id DESC), '[]')"
		" FROM (SELECT d.id, to_char(d.created_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI')"
		"  AS at, st.name AS strategy, s.symbol, s.timeframe,"
		"  signal_action_label(s.action) AS action, s.price::text AS price,"
		"  d.channel, d.status, d.skip_reason, CASE d.status WHEN 'sent' THEN 'success'"
		"  WHEN 'failed' THEN 'danger' WHEN 'skipped' THEN 'warning' ELSE 'secondary' END AS badge"
		"  FROM deliveries d JOIN signals s ON s.id = d.signal_id"
		"  JOIN strategies st ON st.id = s.strategy_id JOIN users u ON u.id = d.user_id"
		"  WHERE d.user_id = $1 AND ($2::text IS NULL OR d.channel = $2)"
		"  AND ($3::text IS NULL OR d.status = $3) AND ($4::bigint IS NULL OR s.strategy_id = $4)"
		"  AND d.id < coalesce($5::bigint, 9223372036854775807)"
		"  AND ac_signal_visible($1, s.strategy_id, s.received_at) ORDER BY d.id DESC LIMIT 51) n),"
		" 'strategies', (SELECT coalesce(json_agg(json_build_object('id', st.id::text, 'name',"
		"  st.name || ' · ' || st.symbol || ' ' || st.timeframe) ORDER BY st.name, st.id), '[]')"
		"  FROM strategies st WHERE st.id IN (SELECT strategy_id FROM alarms WHERE user_id = $1)))",
		5 };
	const char *channel = k->v[HISTORY_CHANNEL].s, *status = k->v[HISTORY_STATUS].s;
	const char *strategy = k->v[HISTORY_STRATEGY].s, *before = k->v[HISTORY_BEFORE].s;
	char *base;
	json_t *h, *rows, *opts, *s;
	size_t i;

	if ((h = user_json(c, &st, channel, status, strategy, before)) == NULL)
		return;
	rows = json_incref(json_object_get(h, "rows"));
	opts = json_array();
	json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "value", "", "label",
	    "All strategies", "selected", strategy == NULL));
	json_array_foreach(json_object_get(h, "strategies"), i, s) {
		const char *sid = json_string_value(json_object_get(s, "id"));

		json_array_append_new(opts, json_pack("{s:s, s:O, s:b}", "value", sid, "label",
		    json_object_get(s, "name"), "selected", strategy && strcmp(sid, strategy) == 0));
	}
	json_decref(h);
	base = ac_arena_printf(c->r->arena, "/history?channel=%s&status=%s&strategy=%s",
	    channel ? channel : "", status ? status : "", strategy ? strategy : "");
	h = json_pack("{s:o, s:o, s:o}", "channels", options("All channels", ac_channel_names,
	    channel), "statuses", options("All statuses", delivery_values, status), "strategies", opts);
	if (json_array_size(rows) > HISTORY_PAGE) {
		json_array_remove(rows, HISTORY_PAGE);
		json_object_set_new(h, "next", json_string(ac_arena_printf(c->r->arena, "%s&before=%lld",
		    base, (long long)json_integer_value(json_object_get(json_array_get(rows,
		    HISTORY_PAGE - 1), "id")))));
	}
	if (before != NULL)
		json_object_set_new(h, "newest", json_string(base));
	json_object_set_new(h, "h", rows_or_null(rows));
	page(c, 200, "history", "Notification history", h, NULL);
}

/* GET /credits: the balance and the newest ledger rows. */
static void
credits_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	static const struct ac_stmt st = { "portal_credits",
		"SELECT json_build_object('balance', u.credit_balance, 'entries',"
		" (SELECT coalesce(json_agg(e ORDER BY e.id DESC), '[]') FROM (SELECT l.id,"
		"  to_char(l.created_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI') AS at, l.kind,"
		"  l.reference, CASE WHEN l.amount > 0 THEN '+' ELSE '' END || l.amount AS amount,"
		"  l.amount < 0 AS negative FROM credit_ledger l WHERE l.user_id = u.id"
		"  ORDER BY l.id DESC LIMIT 200) e),"
		" 'has_entries', EXISTS (SELECT 1 FROM credit_ledger l WHERE l.user_id = u.id))"
		" FROM users u WHERE u.id = $1", 1 };
	json_t *d = user_json(c, &st, NULL, NULL, NULL, NULL);

	if (d != NULL)
		page(c, 200, "credits", "Credits", json_pack("{s:o}", "c", d), NULL);
}

/* GET /trades: the user's virtual trades, open and closed, with PnL. */
static void
trades_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	static const struct ac_stmt st = { "portal_trades",
		"SELECT json_build_object('rows', coalesce(json_agg(t ORDER BY t.id DESC), '[]'),"
		" 'has_rows', count(*) > 0) FROM (SELECT tr.id, tr.trade_number, st.name AS strategy,"
		" tr.symbol, tr.timeframe, tr.side, tr.status, CASE tr.status WHEN 'open' THEN 'primary'"
		" WHEN 'closed' THEN 'secondary' ELSE 'warning' END AS badge,"
		" tr.entry_price::text AS entry, tr.exit_price::text AS exit, tr.exit_reason,"
		" tr.pnl_amount::text AS pnl, round(tr.pnl_percent, 2)::text AS pnl_percent,"
		" CASE WHEN tr.pnl_amount > 0 THEN 'text-success' WHEN tr.pnl_amount < 0"
		" THEN 'text-danger' ELSE '' END AS pnl_class,"
		" to_char(tr.opened_at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI') AS opened,"
		" to_char(coalesce(tr.closed_at, tr.replaced_at) AT TIME ZONE u.timezone,"
		" 'YYYY-MM-DD HH24:MI') AS closed"
		" FROM trades tr JOIN strategies st ON st.id = tr.strategy_id"
		" JOIN users u ON u.id = tr.user_id WHERE tr.user_id = $1 ORDER BY tr.id DESC LIMIT 200) t",
		1 };
	json_t *d = user_json(c, &st, NULL, NULL, NULL, NULL);

	if (d != NULL)
		page(c, 200, "trades", "Trades", json_pack("{s:o}", "t", d), NULL);
}

/* GET /plans: the plans on offer (the user's own marked). */
static void
plans_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	static const struct ac_stmt st = { "portal_plans",
		"SELECT coalesce(json_agg(json_build_object('name', p.name, 'description', p.description,"
		" 'price', to_char(p.price_minor / 100.0, 'FM999999990.00'), 'currency', p.currency,"
		" 'period', CASE WHEN p.duration_months = 1 THEN 'month' WHEN p.duration_months > 1"
		"  THEN p.duration_months || ' months' ELSE p.duration_days || ' days' END,"
		" 'credits', p.credits_per_period, 'unlimited', p.max_strategies = -1,"
		" 'max_strategies', p.max_strategies, 'max_open_trades', p.max_open_trades,"
		" 'priority_support', p.priority_support, 'advanced_analytics', p.advanced_analytics,"
		" 'popular', p.popular, 'current', EXISTS (SELECT 1 FROM subscriptions s"
		"  WHERE s.plan_id = p.id AND s.user_id = $1 AND s.status = 'active'"
		"  AND s.period_end > now()),"
		" 'strategies', (SELECT coalesce(json_agg(st.name || ' ' || st.symbol || ' '"
		"  || st.timeframe ORDER BY st.name), '[]') FROM plan_strategies ps"
		"  JOIN strategies st ON st.id = ps.strategy_id WHERE ps.plan_id = p.id))"
		" ORDER BY p.display_order, p.id), '[]') FROM plans p WHERE p.status = 'active'", 1 };
	json_t *d;

	if (!c->user)
		c->s.user_id = 0;
	if ((d = user_json(c, &st, NULL, NULL, NULL, NULL)) != NULL)
		page(c, 200, "plans", "Plans", json_pack("{s:o}", "plans", d), NULL);
}

/* The account page, with error and status after a refused form, and the
 * Telegram deep link (NULL: none made yet). */
static void
account_show_link(struct pctx *c, int status, const char *error, const char *link)
{
	static const struct ac_stmt st = { "portal_account",
		"SELECT json_build_object('name', display_name, 'email', email, 'phone', phone,"
		" 'timezone', timezone, 'max_daily_alerts', max_daily_alerts,"
		" 'notify_email', notify_email, 'notify_telegram', notify_telegram,"
		" 'notify_sms', notify_sms, 'notify_push', notify_push,"
		" 'renewal_reminders', renewal_reminders, 'telegram_username', telegram_username)"
		" FROM users WHERE id = $1", 1 };
	json_t *u = user_json(c, &st, NULL, NULL, NULL, NULL);

	if (u != NULL)
		page(c, status, "account", "Account", json_pack("{s:o, s:b, s:s?}", "u", u,
		    "telegram_bot", portal.telegram_bot != NULL, "telegram_link", link), error);
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

/* GET /account: profile, preferences, email, password, Telegram. */
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
	static const struct ac_stmt st = { "portal_profile",
		"UPDATE users SET display_name = $2, phone = nullif($3, ''), timezone = $4,"
		" max_daily_alerts = $5, notify_email = $6, notify_telegram = $7, notify_sms = $8,"
		" notify_push = $9, renewal_reminders = $10, updated_at = now() WHERE id = $1", 10 };
	const struct ac_val *v = k->v;
	const char *name = v[PROFILE_NAME].s, *phone = v[PROFILE_PHONE].s, *tz = v[PROFILE_TZ].s;
	const char *max = v[PROFILE_MAX].s;
	char uid[24];
	const char *vals[10];
	PGresult *res;

	if (name == NULL)
		name = "";
	if (phone == NULL)
		phone = "";
	snprintf(uid, sizeof(uid), "%lld", c->s.user_id);
	vals[0] = uid;
	vals[1] = name;
	vals[2] = phone;
	vals[3] = tz;
	vals[4] = max;
	vals[5] = v[PROFILE_EMAIL].i ? "true" : "false";
	vals[6] = v[PROFILE_TELEGRAM].i ? "true" : "false";
	vals[7] = v[PROFILE_SMS].i ? "true" : "false";
	vals[8] = v[PROFILE_PUSH].i ? "true" : "false";
	vals[9] = v[PROFILE_RENEWAL].i ? "true" : "false";
	res = ac_db_exec(portal.db, &st, vals, NULL, NULL);
	if (!ac_db_ok(portal.db, res, PGRES_COMMAND_OK)) {
		if (strcmp(ac_db_sqlstate(portal.db), "22023") == 0)
			account_show(c, 422, "unknown time zone: use a name like UTC or Asia/Kolkata");
		else
			db_failed(c);
		return;
	}
	PQclear(res);
	redirect(c, "/account?done=profile_saved");
}

/* POST /account/password: a new password after the current one (303), or 422. */
static void
password_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char err[256];

	switch (ac_auth_change_password(portal.db, c->s.user_id, c->s.id,
	    k->v[NEWPW_CURRENT].s, k->v[NEWPW_PASSWORD].s, err, sizeof(err))) {
	case AC_AUTH_OK:
		redirect(c, "/account?done=password_changed");
		return;
	case AC_AUTH_ERROR:
		db_failed(c);
		return;
	default:
		account_show(c, 422, err);
	}
}

/* POST /account/email: after the password, mails the new address (303,
 * the same whether it is taken or free), or 422. */
static void
email_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char err[256];

	switch (ac_auth_change_email(portal.db, &portal.auth, c->s.user_id,
	    k->v[ACCT_PASSWORD].s, k->v[ACCT_EMAIL].s, portal.cfg.base_url, err, sizeof(err))) {
	case AC_AUTH_OK:
		redirect(c, "/account?done=email_sent");
		return;
	case AC_AUTH_ERROR:
		db_failed(c);
		return;
	default:
		account_show(c, 422, err);
	}
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
	switch (ac_email_confirm(portal.db, k->v[LINK_TOKEN].s)) {
	case 1:
		redirect(c, c->user ? "/account?done=email_changed" : "/login?done=email_changed");
		return;
	case 0:
		confirm_gone(c, "Confirm your new address");
		return;
	}
	db_failed(c);
}

/* The tokens page; new_token (may be NULL) is shown once. */
static void
tokens_show(struct pctx *c, int status, const char *new_token, const char *error)
{
	static const struct ac_stmt st = { "portal_tokens",
		"SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'prefix', prefix,"
		" 'created', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
		" 'last_used', coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
		" 'never'), 'revoked', revoked_at IS NOT NULL) ORDER BY id DESC), '[]')"
		" FROM api_tokens WHERE user_id = $1", 1 };
	json_t *t = user_json(c, &st, NULL, NULL, NULL, NULL);

	if (t != NULL)
		page(c, status, "tokens", "API tokens", json_pack("{s:b, s:o, s:s?}", "has_tokens",
		    json_array_size(t) > 0, "tokens", t, "new_token", new_token), error);
}

/* GET /tokens: the user's API tokens (prefixes only). */
static void
tokens_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	tokens_show(c, 200, NULL, NULL);
}

/* POST /tokens: a new API token, shown this once (201), or 422. */
static void
token_create(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char token[AC_API_TOKEN_LEN + 1];
	struct ac_err e;
	long long tid;

	if (ac_api_token_create(portal.db, c->s.user_id, k->v[TOKEN_NAME].s, token, &tid,
	    &e) == 0)
		tokens_show(c, 201, token, NULL);
	else if (e.code == AC_E_UNPROCESSABLE)
		tokens_show(c, 422, NULL, e.message);
	else
		db_failed(c);
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
	portal.html = ac_html_new(ac_config_str(&portal.cfg, "AC_PORTAL_TEMPLATE_DIR",
	    AC_TEMPLATE_DIR "/portal"));
	portal.telegram_bot = ac_config_str(&portal.cfg, "AC_TELEGRAM_BOT_USERNAME", NULL);
	portal.https = strncmp(portal.cfg.base_url, "https://", 8) == 0;
	slash = strchr(portal.cfg.base_url + (portal.https ? 8 : 7), '/');
	snprintf(portal.origin, sizeof(portal.origin), "%.*s",
	    (int)(slash ? (size_t)(slash - portal.cfg.base_url) : strlen(portal.cfg.base_url)),
	    portal.cfg.base_url);
	portal.db = ac_db_new(portal.cfg.database_url, "ac-portal",
	    (int)ac_config_int(&portal.cfg, "AC_DB_CONNECT_TIMEOUT", 1, 60, 2),
	    (int)ac_config_int(&portal.cfg, "AC_PORTAL_STATEMENT_TIMEOUT_MS", 100, 60000, 5000));
	ac_db_generic_plans(portal.db);

	router.origin = portal.origin;
	ac_info("ready: origin %s", portal.origin);
	rc = ac_responder_run(&(struct ac_responder){ .body_max = 64 * 1024,
	    .route = serve, .refused = refused });
	ac_html_free(portal.html);
	ac_db_free(portal.db);
	ac_config_free(&portal.cfg);
	return rc;
}
