/*
 * admin.h — what the files of ac-admin share. The operators' panel is
 * server-rendered like the portal (templates in cgi/templates/admin) and
 * split by screen into areas, each a file with its own route table:
 *
 *	admin.c			login, logout, the overview; routing, answering
 *	admin_strategies.c	/admin/strategies: UT Bot strategies, Pine Script, test signals
 *	admin_users.c		/admin/users: search, view, suspend, credits, resend
 *	admin_plans.c		/admin/plans: plans and the strategies they include
 *	admin_payments.c	/admin/payments: manual payments, approve / reject
 *	admin_signals.c		/admin/signals, /admin/review: signals, the review queue
 *	admin_health.c		/admin/health, /admin/audit: the pipeline, the audit log
 *	admin_record.c		/admin/strategies/N/(record|verify): the public track
 *				record, the stored signals against a CSV of bars
 *
 * Every row names the permission it needs (ADMIN_GET/ADMIN_POST take it):
 * one flag of admin/admin.h, AC_P_SIGNED_IN, or AC_P_NOBODY for the login
 * page. ac-admin refuses to start with a row that names none, and
 * `ac-admin --routes` prints each row's permission for the tests.
 * Every POST carries the session's CSRF token; every change writes
 * audit_log in the change's own transaction (admin_audit()).
 */
#ifndef AC_CGI_ADMIN_H
#define AC_CGI_ADMIN_H

#include <jansson.h>

#include "admin/admin.h"
#include "base/config.h"
#include "base/db.h"
#include "web/auth.h"
#include "web/html.h"
#include "web/route.h"

struct admin_site {
	struct ac_config cfg;
	struct ac_db	*db;
	struct ac_html	*html;
	struct ac_auth_cfg auth;	/* session lengths, the lockout */
	char		 origin[256];	/* scheme://host[:port] of AC_BASE_URL */
	int		 https;		/* cookies get Secure */
	char		 proof_dir[1024];	/* $AC_STATE_DIR/proofs */
	const char	*state_dir;
};

extern struct admin_site site;

/* One request as the handlers see it. */
struct actx {
	struct ac_req	*r;
	struct ac_admin	 a;		/* the admin, when signed_in */
	int		 signed_in;
	const char	*cookie;
	const char	*csrf;		/* the token this page's forms carry */
	char		*headers;	/* extra header lines */
	struct ac_call	*k;
};

/* A message a redirect may ask for with ?done=code: fixed texts only. */
struct admin_flash {
	const char	*code;
	const char	*text;
};

/* One screen's rows (and its flash messages, ended by { NULL }). */
struct admin_area {
	const struct ac_route	*routes;
	size_t			 n;
	const struct admin_flash *flashes;
};

#define ADMIN_AREA(name, table, fl) \
	const struct admin_area name = { table, sizeof(table) / sizeof(table[0]), fl }

extern const struct admin_area admin_strategies_area, admin_users_area, admin_plans_area,
	admin_payments_area, admin_signals_area, admin_health_area, admin_record_area;

/* Rows: the permission is not optional. */
#define ADMIN_GET(p, f, perm)	.method = AC_M_GET, .path = p, .fn = f, \
	.access = AC_SESSION, .perms = (perm)
#define ADMIN_POST(p, f, perm)	.method = AC_M_POST, .path = p, .fn = f, \
	.access = AC_SESSION, .perms = (perm), .csrf = 1, .body = AC_BODY_FORM

/* Adds the header line "name: value" to the answer. */
void	admin_header(struct actx *c, const char *name, const char *value);
/* 303 to location (a path under /admin, may carry ?done=code). */
void	admin_redirect(struct actx *c, const char *location);
/* Renders template tmpl (cgi/templates/admin/tmpl.html) inside the layout
 * with data (stolen; NULL: {}); the layout gets the admin, what they may
 * do ("can": {"users_view": true, ...}), the CSRF token, the menu entry
 * (nav: the first path segment after /admin), the flash and error. */
void	admin_page(struct actx *c, int status, const char *tmpl, const char *title,
	    json_t *data, const char *error);
/* admin_health.c: the open strategy incidents as data's "banner"
 * ({"incidents": [...]}), which the layout shows above every page; nothing
 * when none is open. */
void	admin_health_banner(json_t *data);
void	admin_error(struct actx *c, int status, const char *heading, const char *message);
void	admin_not_found(struct actx *c);
void	admin_db_failed(struct actx *c);

/* audit_log for c's admin from c's address (details borrowed, may be NULL):
 * ac_audit() inside the caller's transaction. 0, or -1. */
int	admin_audit(struct actx *c, const char *action, const char *target,
	    const json_t *details);

/* Begins a change: BEGIN, then st with vals, a statement whose rows are
 * what it changed (a row locked, updated, its old values returned).
 * 1: it changed something; *res holds the rows, the transaction is open
 * for admin_commit(). 0: nothing changed, rolled back. -1: the database
 * failed, rolled back and answered (500). */
int	admin_change(struct actx *c, const struct ac_stmt *st, const char *const *vals,
	    PGresult **res);

/* Runs st (a SELECT) with vals: the number of rows, *res holding them
 * (the caller PQclear()s it; NULL for none); -1 when the database failed
 * (answered 500). For what a change that changed nothing found. */
int	admin_lookup(struct actx *c, const struct ac_stmt *st, const char *const *vals,
	    PGresult **res);

/* Ends the change the caller began with ac_db_begin(): its audit_log row
 * (admin_audit()), then COMMIT; on a failure of either, ROLLBACK (logged).
 * 0, or -1: nothing was changed. */
int	admin_commit(struct actx *c, const char *action, const char *target,
	    const json_t *details);

/* {"rows": arr} for a non-empty array (stolen), else JSON null. */
json_t	*admin_rows(json_t *arr);

/* s encoded for a query string (curl_easy_escape), in the request's arena;
 * NULL reads as "". */
const char *admin_qs(struct actx *c, const char *s);

/* The path's id in text, for statements' parameters (k->id). */
const char *admin_id(struct actx *c);

#endif
