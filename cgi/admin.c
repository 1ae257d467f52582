/*
 * ac-admin — the operators' panel under /admin (see cgi/admin.h for the
 * areas). This file: login (a lockout after AC_LOCK_AFTER failures),
 * logout, the overview, and what every page goes through: the session of
 * the ac_admin cookie (Path=/admin, HttpOnly, SameSite=Strict, Secure
 * outside local http), the row's permission checked against the admin's
 * flags as they are now, CSRF on every POST, the layout.
 *
 *	GET|POST /admin/login	POST /admin/logout	GET /admin	the overview
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "admin/admin.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/util.h"
#include "cgi/admin.h"
#include "web/request.h"
#include "web/responder.h"
#include "web/response.h"

#define PRE_COOKIE	"ac_admin_pre"	/* the login form's CSRF cookie */

struct admin_site site;

static void	login_form(struct ac_call *);
static void	login_post(struct ac_call *);
static void	logout_post(struct ac_call *);
static void	overview(struct ac_call *);

enum { LOGIN_USERNAME, LOGIN_PASSWORD };
static const struct ac_field_decl login_fields[] = {
	[LOGIN_USERNAME] = { "username", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 254, .why = "Enter your username." },
	[LOGIN_PASSWORD] = { "password", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1,
	    .max = 1024, .why = "Enter your password." },
	{ .name = NULL }
};

static const struct ac_route core_routes[] = {
	{ .method = AC_M_GET, .path = "/admin/login", .fn = login_form, .access = AC_GUEST,
	    .perms = AC_P_NOBODY },
	{ .method = AC_M_POST, .path = "/admin/login", .fn = login_post, .access = AC_GUEST,
	    .perms = AC_P_NOBODY, .csrf = 1, .body = AC_BODY_FORM, .fields = login_fields },
	{ ADMIN_POST("/admin/logout", logout_post, AC_P_SIGNED_IN) },
	{ ADMIN_GET("/admin", overview, AC_P_SIGNED_IN) },
	{ ADMIN_GET("/admin/", overview, AC_P_SIGNED_IN) },
};

static const struct admin_flash core_flashes[] = {
	{ "logged_out", "You are logged out." },
	{ NULL, NULL }
};

static const struct admin_area core_area = { core_routes,
	sizeof(core_routes) / sizeof(core_routes[0]), core_flashes };

static const struct admin_area *const areas[] = {
	&core_area, &admin_strategies_area, &admin_users_area, &admin_plans_area,
	&admin_payments_area, &admin_signals_area, &admin_health_area, &admin_record_area,
};
#define NAREAS	(sizeof(areas) / sizeof(areas[0]))

/* The permissions the layout knows by name ("can.users_view"...). */
static const struct {
	unsigned	 bit;
	const char	*key;
} can_keys[] = {
	{ AC_P_USERS_VIEW, "users_view" }, { AC_P_USERS_EDIT, "users_edit" },
	{ AC_P_USERS_DELETE, "users_delete" }, { AC_P_SUBS_VIEW, "subs_view" },
	{ AC_P_SUBS_APPROVE, "subs_approve" }, { AC_P_SUBS_EDIT, "subs_edit" },
	{ AC_P_ALERTS_VIEW, "alerts_view" }, { AC_P_ALERTS_CONFIGURE, "alerts_configure" },
	{ AC_P_SYSTEM_SETTINGS, "system_settings" }, { AC_P_SYSTEM_LOGS, "system_logs" },
};

/* ---- answering ---------------------------------------------------------------- */

void
admin_header(struct actx *c, const char *name, const char *value)
{
	c->headers = ac_arena_printf(c->r->arena, "%s%s: %s\r\n", c->headers ? c->headers : "",
	    name, value);
}

void
admin_redirect(struct actx *c, const char *location)
{
	admin_header(c, "Location", location);
	ac_reply(c->r, 303, "text/plain; charset=utf-8", c->headers, "", 0);
}

/* The flash text for ?done=, from any area's table, or NULL. */
static const char *
flash(const struct actx *c)
{
	const char *code = ac_req_arg(c->r, "done");
	const struct admin_flash *f;

	for (size_t i = 0; code != NULL && i < NAREAS; i++)
		for (f = areas[i]->flashes; f != NULL && f->code != NULL; f++)
			if (strcmp(code, f->code) == 0)
				return f->text;
	return NULL;
}

void
admin_page(struct actx *c, int status, const char *tmpl, const char *title, json_t *data,
    const char *error)
{
	char nav[80];
	const char *p = c->r->path ? c->r->path : "", *seg;
	json_t *can;

	if (data == NULL)
		data = json_object();
	json_object_set_new(data, "page", json_string(tmpl));
	json_object_set_new(data, "title", json_string(title));
	json_object_set_new(data, "csrf", json_string(c->csrf ? c->csrf : ""));
	if (c->signed_in) {
		can = json_object();
		for (size_t i = 0; i < sizeof(can_keys) / sizeof(can_keys[0]); i++)
			if (c->a.perms & can_keys[i].bit)
				json_object_set_new(can, can_keys[i].key, json_true());
		json_object_set_new(data, "can", can);
		if (c->a.perms & AC_P_ALERTS_VIEW)
			admin_health_banner(data);
		json_object_set_new(data, "admin", json_pack("{s:s, s:s, s:s?, s:s?}", "username",
		    c->a.username, "name", *c->a.name ? c->a.name : c->a.username,
		    "last_login_at", *c->a.last_login_at ? c->a.last_login_at : NULL,
		    "last_login_ip", *c->a.last_login_ip ? c->a.last_login_ip : NULL));
	}
	/* the menu entry: /admin/users/7 -> nav_users */
	seg = strncmp(p, "/admin/", 7) == 0 ? p + 7 : "";
	snprintf(nav, sizeof(nav), "nav_%.*s", (int)strcspn(seg, "/?"), *seg ? seg : "home");
	json_object_set_new(data, nav, json_true());
	if (flash(c) != NULL && status < 300)
		json_object_set_new(data, "flash", json_string(flash(c)));
	if (error != NULL)
		json_object_set_new(data, "error", json_string(error));
	ac_html_reply(site.html, c->r, status, "layout", data, c->headers);
	json_decref(data);
}

void
admin_error(struct actx *c, int status, const char *heading, const char *message)
{
	admin_page(c, status, "error", heading, json_pack("{s:s, s:s}", "heading", heading,
	    "message", message), NULL);
}

void
admin_not_found(struct actx *c)
{
	admin_error(c, 404, "Not found", "There is nothing here. It may have been deleted.");
}

void
admin_db_failed(struct actx *c)
{
	admin_error(c, 500, "Something went wrong",
	    "The database did not answer; nothing was changed. Try again in a moment.");
}

int
admin_audit(struct actx *c, const char *action, const char *target, const json_t *details)
{
	return ac_audit(site.db, &c->a, NULL, action, target, details, c->r->remote_addr);
}

int
admin_change(struct actx *c, const struct ac_stmt *st, const char *const *vals, PGresult **res)
{
	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return -1;
	}
	*res = ac_db_exec(site.db, st, vals, NULL, NULL);
	if (!ac_db_ok(site.db, *res, PGRES_TUPLES_OK)) {
		ac_error("%s %s: %s", st->name, vals[0], ac_db_error(site.db));
		ac_db_rollback(site.db);
		admin_db_failed(c);
		return -1;
	}
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		ac_db_rollback(site.db);
		return 0;
	}
	return 1;
}

int
admin_lookup(struct actx *c, const struct ac_stmt *st, const char *const *vals, PGresult **res)
{
	int n;

	*res = ac_db_exec(site.db, st, vals, NULL, NULL);
	if (!ac_db_ok(site.db, *res, PGRES_TUPLES_OK)) {
		ac_error("%s %s: %s", st->name, vals[0], ac_db_error(site.db));
		*res = NULL;
		admin_db_failed(c);
		return -1;
	}
	if ((n = PQntuples(*res)) == 0) {
		PQclear(*res);
		*res = NULL;
	}
	return n;
}

int
admin_commit(struct actx *c, const char *action, const char *target, const json_t *details)
{
	if (admin_audit(c, action, target, details) == 0 && ac_db_commit(site.db) == 0)
		return 0;
	ac_error("%s %s by %s: %s", action, target, c->a.username, ac_db_error(site.db));
	ac_db_rollback(site.db);
	return -1;
}

json_t *
admin_rows(json_t *arr)
{
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return json_null();
	}
	return json_pack("{s:o}", "rows", arr);
}

const char *
admin_qs(struct actx *c, const char *s)
{
	char *e, *out;

	if (s == NULL || *s == '\0' || (e = curl_easy_escape(NULL, s, 0)) == NULL)
		return "";
	out = ac_arena_printf(c->r->arena, "%s", e);
	curl_free(e);
	return out;
}

const char *
admin_id(struct actx *c)
{
	return ac_arena_printf(c->r->arena, "%lld", c->k->id);
}

/* ---- login, logout, the overview ------------------------------------------------- */

static void
session_cookie(struct actx *c, const char *token)
{
	admin_header(c, "Set-Cookie", ac_arena_printf(c->r->arena,
	    AC_ADMIN_COOKIE "=%s; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=%d%s", token,
	    *token ? site.auth.session_max_s : 0, site.https ? "; Secure" : ""));
}

static void
login_show(struct actx *c, int status, const char *username, const char *error)
{
	admin_page(c, status, "login", "Log in", json_pack("{s:s?}", "username", username),
	    error);
}

/* GET /admin/login */
static void
login_form(struct ac_call *k)
{
	login_show(k->ctx, 200, NULL, NULL);
}

/* POST /admin/login: a new session (303 to the overview), or the form
 * again with one answer for every failure. */
static void
login_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	char token[AC_TOKEN_LEN + 1];
	long long id;

	switch (ac_admin_login(site.db, site.auth.lock_after, site.auth.lock_s,
	    k->v[LOGIN_USERNAME].s, k->v[LOGIN_PASSWORD].s, c->r->remote_addr, &id)) {
	case AC_ADMIN_LOGIN_OK:
		if (ac_admin_session_create(site.db, id, site.auth.session_max_s, c->cookie,
		    c->r->remote_addr, ac_req_header(c->r, "User-Agent"), token) == -1)
			break;
		session_cookie(c, token);
		admin_redirect(c, "/admin");
		return;
	case AC_ADMIN_LOGIN_FAILED:
		login_show(c, 401, k->v[LOGIN_USERNAME].s, "Wrong username or password — or the"
		    " account is locked for 15 minutes after 5 failed attempts in a row.");
		return;
	case AC_ADMIN_LOGIN_ERROR:
		break;
	}
	admin_db_failed(c);
}

/* POST /admin/logout */
static void
logout_post(struct ac_call *k)
{
	struct actx *c = k->ctx;

	ac_admin_session_end(site.db, c->cookie);
	(void)ac_audit(site.db, &c->a, NULL, "auth.logout", ac_arena_printf(c->r->arena,
	    "admin:%lld", c->a.id), NULL, c->r->remote_addr);
	session_cookie(c, "");
	admin_redirect(c, "/admin/login?done=logged_out");
}

/* What needs an operator now, counted in one statement. */
static const struct ac_stmt st_overview = { "admin_overview",
	"SELECT json_build_object("
	" 'payments_pending', (SELECT count(*) FROM payments WHERE status = 'pending'),"
	" 'rejects_unreviewed', (SELECT count(*) FROM webhook_rejects WHERE reviewed_at IS NULL"
	"  AND received_at > now() - interval '7 days'),"
	" 'jobs_dead', (SELECT count(*) FROM jobs WHERE state = 'dead'),"
	" 'jobs_pending', (SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')),"
	" 'signals_24h', (SELECT count(*) FROM signals WHERE received_at > now() - interval '1 day'),"
	" 'deliveries_failed_24h', (SELECT count(*) FROM deliveries WHERE status = 'failed'"
	"  AND created_at > now() - interval '1 day'),"
	" 'users_active', (SELECT count(*) FROM users WHERE status = 'active'),"
	" 'subscriptions_active', (SELECT count(*) FROM subscriptions WHERE status = 'active'),"
	" 'strategies_active', (SELECT count(*) FROM strategies WHERE status = 'active'))", 0 };

/* GET /admin */
static void
overview(struct ac_call *k)
{
	struct actx *c = k->ctx;
	json_t *o;
	int found;

	if ((o = ac_db_json(site.db, &st_overview, NULL, &found)) == NULL) {
		admin_db_failed(c);
		return;
	}
	admin_page(c, 200, "overview", "Overview", json_pack("{s:o}", "o", o), NULL);
}

/* ---- routing ------------------------------------------------------------------------ */

/* The login form's CSRF token: the pre-session cookie, set when missing. */
static const char *
pre_token(struct actx *c)
{
	const char *t = ac_req_cookie(c->r, PRE_COOKIE);
	char *fresh;

	if (t != NULL && strlen(t) == AC_TOKEN_LEN)
		return t;
	fresh = ac_arena_alloc(c->r->arena, AC_TOKEN_LEN + 1);
	if (ac_token_new(fresh) == -1)
		return "";
	admin_header(c, "Set-Cookie", ac_arena_printf(c->r->arena,
	    PRE_COOKIE "=%s; Path=/admin; HttpOnly; SameSite=Strict%s", fresh,
	    site.https ? "; Secure" : ""));
	return fresh;
}

static int
begin(struct ac_call *k)
{
	struct actx *c = k->ctx;
	int loaded;

	c->cookie = ac_req_cookie(c->r, AC_ADMIN_COOKIE);
	if (c->cookie != NULL) {
		if ((loaded = ac_admin_session_load(site.db, site.auth.session_idle_s, c->cookie,
		    &c->a)) == -1) {
			admin_db_failed(c);
			return 1;
		}
		c->signed_in = loaded;
	}
	c->csrf = c->signed_in ? c->a.csrf : NULL;
	return 0;
}

/* The names of the flags in bits missing from have, for a refusal. */
static const char *
missing(struct actx *c, unsigned need, unsigned have)
{
	char *s = "";

	for (unsigned b = 1; b & AC_P__ALL; b <<= 1)
		if ((need & b) && !(have & b))
			s = ac_arena_printf(c->r->arena, "%s%s%s", s, *s ? ", " : "",
			    ac_perm_name(b));
	return s;
}

/* The access phase: the login page for a guest (a session goes home);
 * every other row wants a session whose admin has the row's flags. */
static int
access_check(struct ac_call *k, struct ac_err *e)
{
	struct actx *c = k->ctx;
	unsigned need = k->route->perms & AC_P__ALL;
	int is_get = k->route->method == AC_M_GET;

	if (k->route->perms & AC_P_NOBODY) {
		if (c->signed_in && is_get) {
			admin_redirect(c, "/admin");
			return 1;
		}
		c->csrf = pre_token(c);
	} else if (!c->signed_in) {
		if (is_get) {
			admin_redirect(c, "/admin/login");
			return 1;
		}
		return ac_err_setx(e, AC_E_FORBIDDEN, "session_ended", NULL,
		    "Your session has ended. Log in and try again.");
	} else if ((c->a.perms & need) != need) {
		ac_info("admin %s refused %s %s: needs %s", c->a.username, c->r->method, c->r->path,
		    missing(c, need, c->a.perms));
		return ac_err_setx(e, AC_E_FORBIDDEN, "permission", NULL,
		    "Your account does not have the %s permission this page needs. Ask an"
		    " administrator to grant it.", missing(c, need, c->a.perms));
	}
	k->csrf = c->csrf;
	k->user = c->signed_in ? c->a.id : 0;
	return 0;
}

static void
error_render(struct ac_call *k, const struct ac_err *e, const char *headers)
{
	struct actx *c = k->ctx;

	if (headers != NULL)
		c->headers = ac_arena_printf(c->r->arena, "%s%s", c->headers ? c->headers : "",
		    headers);
	switch (e->code) {
	case AC_E_NOT_FOUND:
		admin_not_found(c);
		break;
	case AC_E_NOT_ALLOWED:
		admin_error(c, 405, "Not allowed", "That does not work on this page.");
		break;
	case AC_E_FORBIDDEN:
		if (strcmp(ac_err_slug(e), "csrf") == 0) {
			ac_info("POST %s refused: CSRF token or origin wrong", c->r->path);
			admin_error(c, 403, "This form has expired", e->message);
		} else if (strcmp(ac_err_slug(e), "permission") == 0)
			admin_error(c, 403, "Not permitted", e->message);
		else
			admin_error(c, 403, "Please log in again", e->message);
		break;
	default:
		admin_error(c, ac_err_status(e->code), "Bad request", e->message);
	}
}

static struct ac_router router = { .begin = begin, .access = access_check,
	.error = error_render };

/* The rows of every area in one table. A row without a permission is a
 * bug: ac-admin does not start with one. 0, or -1. */
static int
routes_build(void)
{
	struct ac_route *all;
	size_t n = 0, o = 0;

	for (size_t i = 0; i < NAREAS; i++)
		n += areas[i]->n;
	if ((all = calloc(n, sizeof(*all))) == NULL)
		return -1;
	for (size_t i = 0; i < NAREAS; i++)
		for (size_t j = 0; j < areas[i]->n; j++) {
			all[o] = areas[i]->routes[j];
			if ((all[o].perms & (AC_P__ALL | AC_P_SIGNED_IN | AC_P_NOBODY)) == 0) {
				fprintf(stderr, "ac-admin: route %s %s names no permission\n",
				    ac_method_name(all[o].method), all[o].path);
				free(all);
				return -1;
			}
			o++;
		}
	router.routes = all;
	router.n = n;
	return 0;
}

/* --routes: "METHOD /path permission[,permission]" a line, {id} as '#'. */
static void
routes_print(void)
{
	for (size_t i = 0; i < router.n; i++) {
		const struct ac_route *r = &router.routes[i];
		const char *p = r->path, *id;
		unsigned b;
		int first = 1;

		printf("%s ", ac_method_name(r->method));
		while ((id = strstr(p, "{id}")) != NULL) {
			printf("%.*s#", (int)(id - p), p);
			p = id + 4;
		}
		printf("%s ", p);
		if (r->perms & AC_P_NOBODY)
			printf("nobody");
		else if ((r->perms & AC_P__ALL) == 0)
			printf("signed-in");
		for (b = 1; b & AC_P__ALL; b <<= 1)
			if (r->perms & b) {
				printf("%s%s", first ? "" : ",", ac_perm_name(b));
				first = 0;
			}
		printf("\n");
	}
}

static void
serve(struct ac_req *r)
{
	struct actx ac = { .r = r };
	struct ac_call k = { .r = r, .ctx = &ac };

	ac.k = &k;
	ac_route(&router, &k);
}

static void
refused(struct ac_req *r, int status, const char *why)
{
	struct ac_call k = { .r = r };
	struct actx ac = { .r = r, .k = &k };

	k.ctx = &ac;
	admin_error(&ac, status, status == 413 ? "Too large" : "Bad request", why);
}

int
main(int argc, char *argv[])
{
	const char *slash;
	int rc;

	if (routes_build() == -1)
		return 1;
	if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
		routes_print();
		return 0;
	}
	if ((rc = ac_responder_start(argc, argv, "ac-admin", NULL, &site.cfg)) != -1)
		return rc;
	ac_auth_init(&site.auth, &site.cfg);
	if (ac_admin_init() == -1)
		return 1;
	site.html = ac_html_new(ac_setting_str(&site.cfg, AC_S_ADMIN_TEMPLATE_DIR));
	site.https = strncmp(site.cfg.base_url, "https://", 8) == 0;
	slash = strchr(site.cfg.base_url + (site.https ? 8 : 7), '/');
	snprintf(site.origin, sizeof(site.origin), "%.*s",
	    (int)(slash ? (size_t)(slash - site.cfg.base_url) : strlen(site.cfg.base_url)),
	    site.cfg.base_url);
	site.state_dir = ac_setting_str(&site.cfg, AC_S_STATE_DIR);
	snprintf(site.proof_dir, sizeof(site.proof_dir), "%s/proofs", site.state_dir);
	site.db = ac_db_new(site.cfg.database_url, "ac-admin",
	    ac_setting_int(&site.cfg, AC_S_DB_CONNECT_TIMEOUT),
	    ac_setting_int(&site.cfg, AC_S_ADMIN_STATEMENT_TIMEOUT_MS));
	ac_db_generic_plans(site.db);
	router.origin = site.origin;
	ac_info("ready: origin %s, %zu routes", site.origin, router.n);
	rc = ac_responder_run(&(struct ac_responder){ .body_max = 2 * 1024 * 1024,
	    .route = serve, .refused = refused });
	ac_html_free(site.html);
	ac_db_free(site.db);
	ac_config_free(&site.cfg);
	free((void *)router.routes);
	return rc;
}
