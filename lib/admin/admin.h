/*
 * admin.h — the operators' accounts (admin_users, sql/015_admin.sql):
 * their permission flags, logins with a lockout, sessions with their CSRF
 * secret, and the audit log every change they make is written to.
 *
 * An admin account is apart from the subscribers': its own table, its own
 * sessions and cookie. lock_after failed logins in a row (AC_LOCK_AFTER, 5)
 * lock it for lock_s (AC_LOCK_SECONDS, 15 minutes) whatever the password
 * given next; a failure
 * gets one answer whatever the reason, and an unknown name costs the same
 * Argon2id work as a known one. A session ends when the account's password
 * changes, when the account stops being active, and idle or at its
 * absolute limit; permissions are read with the session on every request,
 * so a flag taken away counts at once.
 */
#ifndef AC_ADMIN_H
#define AC_ADMIN_H

#include <stddef.h>

#include <jansson.h>

#include "base/crypto.h"
#include "base/db.h"
#include "base/err.h"

#define AC_ADMIN_COOKIE		"ac_admin"

/* The permission flags, as bits, and their names (admin_users.permissions). */
enum {
	AC_P_USERS_VIEW		= 1u << 0,
	AC_P_USERS_EDIT		= 1u << 1,
	AC_P_USERS_DELETE	= 1u << 2,
	AC_P_SUBS_VIEW		= 1u << 3,
	AC_P_SUBS_APPROVE	= 1u << 4,
	AC_P_SUBS_EDIT		= 1u << 5,
	AC_P_ALERTS_VIEW	= 1u << 6,
	AC_P_ALERTS_CONFIGURE	= 1u << 7,
	AC_P_SYSTEM_SETTINGS	= 1u << 8,
	AC_P_SYSTEM_LOGS	= 1u << 9,
	AC_P__ALL		= (1u << 10) - 1,
	/* not flags: what a route of ac-admin names when it needs none */
	AC_P_SIGNED_IN		= 1u << 29,	/* any active admin with a session */
	AC_P_NOBODY		= 1u << 30	/* the login page: no session needed */
};

/* "users.view"... for the one bit p (NULL for another value). */
const char	*ac_perm_name(unsigned p);
/* The bit of name, or 0. */
unsigned	 ac_perm_parse(const char *name);
/* A comma list ("users.view,alerts.view", "all", "none") as bits: 0 with
 * *bits, or -1 naming the unknown entry in err. */
int		 ac_perm_list(const char *list, unsigned *bits, char *err, size_t errsz);
/* The bits as a PostgreSQL text[] literal "{users.view,...}" into buf. */
void		 ac_perm_array(unsigned bits, char *buf, size_t sz);

struct ac_admin {
	long long	id;
	char		username[65];
	char		name[201];
	unsigned	perms;
	char		csrf[AC_TOKEN_LEN + 1];	/* the session's */
	long long	session_id;
	char		last_login_at[40];	/* the login before this session ("" if none) */
	char		last_login_ip[64];
};

/* Sets up the dummy hash unknown names are checked against. 0, or -1. */
int	ac_admin_init(void);

enum ac_admin_login {
	AC_ADMIN_LOGIN_OK = 0,
	AC_ADMIN_LOGIN_FAILED,	/* wrong name or password, locked, not active */
	AC_ADMIN_LOGIN_ERROR	/* the database failed (logged) */
};

/* Checks username (or email) and password from ip; a failure counts toward
 * the lock and writes audit_log "auth.login_failed" (with "auth.locked"
 * when it locks the account); a success clears the count, records this
 * login (the previous one shown to the admin), writes "auth.login", and
 * gives *id. */
enum ac_admin_login ac_admin_login(struct ac_db *db, int lock_after, int lock_s,
	    const char *username, const char *password, const char *ip, long long *id);

/* A new session for admin id: its token (for the cookie). The session of
 * old_token (may be NULL) ends: a new token at every login. 0, or -1. */
int	ac_admin_session_create(struct ac_db *db, long long id, int max_s,
	    const char *old_token, const char *ip, const char *user_agent,
	    char token[AC_TOKEN_LEN + 1]);

/* The live session of token (not idle for idle_s, before its end, its
 * admin active): 1 with *a (permissions as they are now), 0, -1. */
int	ac_admin_session_load(struct ac_db *db, int idle_s, const char *token,
	    struct ac_admin *a);

void	ac_admin_session_end(struct ac_db *db, const char *token);

struct ac_admin_new {
	const char	*username, *email, *password, *name, *phone;
	const char	*permissions;	/* comma list; NULL: the table's default */
	const char	*telegram;	/* a Telegram chat id, or "none" (admin telegram) */
};

/* acctl admin add|passwd|permissions: the account as JSON, or NULL with *e. */
json_t	*ac_admin_create(struct ac_db *db, const struct ac_admin_new *in, struct ac_err *e);
json_t	*ac_admin_passwd(struct ac_db *db, const char *username, const char *password,
	    struct ac_err *e);
json_t	*ac_admin_set_permissions(struct ac_db *db, const char *username, const char *list,
	    struct ac_err *e);
/* acctl admin telegram: the chat where the operator also hears of strategy
 * incidents (lib/work/health.h), or "none" to stop. */
json_t	*ac_admin_set_telegram(struct ac_db *db, const char *username, const char *chat,
	    struct ac_err *e);

/*
 * Appends to audit_log: who (actor NULL: a) did action ("strategy.create")
 * to target ("strategy:7"), with details (a JSON object, borrowed; NULL:
 * {}), from ip. Meant for the transaction of the change itself, so the row
 * exists exactly when the change does. 0, or -1 (error recorded in db).
 */
int	ac_audit(struct ac_db *db, const struct ac_admin *a, const char *actor,
	    const char *action, const char *target, const json_t *details, const char *ip);

/* The audit log, newest first, filtered by actor, action (a prefix:
 * "user." matches every user action), target (exact) when not NULL/"";
 * rows before id before (0: from the newest), at most limit. A JSON array,
 * or NULL with *e. */
json_t	*ac_audit_list(struct ac_db *db, const char *actor, const char *action,
	    const char *target, long long before, int limit, struct ac_err *e);

#endif
