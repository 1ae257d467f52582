/* auth.c — admin accounts: permissions, logins, sessions (see admin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/password.h"
#include "admin/admin.h"
#include "base/log.h"

static const char *const perm_names[] = {
	"users.view", "users.edit", "users.delete",
	"subscriptions.view", "subscriptions.approve", "subscriptions.edit",
	"alerts.view", "alerts.configure",
	"system.settings", "system.logs",
};
#define NPERMS	(sizeof(perm_names) / sizeof(perm_names[0]))

const char *
ac_perm_name(unsigned p)
{
	for (size_t i = 0; i < NPERMS; i++)
		if (p == 1u << i)
			return perm_names[i];
	return NULL;
}

unsigned
ac_perm_parse(const char *name)
{
	for (size_t i = 0; i < NPERMS; i++)
		if (strcmp(name, perm_names[i]) == 0)
			return 1u << i;
	return 0;
}

int
ac_perm_list(const char *list, unsigned *bits, char *err, size_t errsz)
{
	char word[64];
	const char *p = list, *end;
	size_t n;
	unsigned b;

	*bits = 0;
	if (strcmp(list, "all") == 0) {
		*bits = AC_P__ALL;
		return 0;
	}
	if (strcmp(list, "none") == 0 || *list == '\0')
		return 0;
	for (; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && p[0] == ' ')
			p++, n--;
		if (n == 0)
			continue;
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (n >= sizeof(word) || (b = ac_perm_parse(word)) == 0) {
			snprintf(err, errsz, "unknown permission \"%.60s\" (known: users.view,"
			    " users.edit, users.delete, subscriptions.view, subscriptions.approve,"
			    " subscriptions.edit, alerts.view, alerts.configure, system.settings,"
			    " system.logs; or all, none)", word);
			return -1;
		}
		*bits |= b;
	}
	return 0;
}

void
ac_perm_array(unsigned bits, char *buf, size_t sz)
{
	size_t o = 0;

	o += (size_t)snprintf(buf, sz, "{");
	for (size_t i = 0; i < NPERMS && o < sz; i++)
		if (bits & (1u << i))
			o += (size_t)snprintf(buf + o, sz - o, "%s%s", o > 1 ? "," : "",
			    perm_names[i]);
	if (o < sz)
		snprintf(buf + o, sz - o, "}");
}

/* ---- logins ------------------------------------------------------------------- */

static char dummy_hash[AC_PASSWORD_HASH_MAX];

int
ac_admin_init(void)
{
	char pw[AC_TOKEN_LEN + 1];

	if (dummy_hash[0] != '\0')
		return 0;
	if (ac_token_new(pw) == -1 || ac_password_hash(pw, dummy_hash) == -1) {
		ac_error("no randomness or memory for the dummy hash");
		return -1;
	}
	return 0;
}

/* The account of a name or an email: its username wins over another's email. */
static const struct ac_stmt st_admin_find = { "admin_find",
	"SELECT id, username FROM admin_users"
	" WHERE username = lower($1) OR lower(email) = lower($1)"
	" ORDER BY username = lower($1) DESC LIMIT 1", 1 };

/*
 * An attempt, counted before the password is checked, so attempts at once
 * cannot all pass an unlocked account: the lock_after'th in a row locks it
 * (the count starts again). No row when the account is locked or not
 * active; else its hash and whether this attempt locked it.
 */
static const struct ac_stmt st_admin_attempt = { "admin_attempt",
	"UPDATE admin_users SET"
	" locked_until = CASE WHEN failed_logins + 1 >= $2"
	"  THEN now() + make_interval(secs => $3) ELSE locked_until END,"
	" failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END"
	" WHERE id = $1 AND status = 'active' AND (locked_until IS NULL OR locked_until <= now())"
	" RETURNING password_hash, locked_until > now()", 3 };

/* The right password: this attempt was no failure; the count and a lock
 * this very attempt set are undone. */
static const struct ac_stmt st_admin_logged_in = { "admin_logged_in",
	"UPDATE admin_users SET failed_logins = 0, locked_until = NULL,"
	" previous_login_at = last_login_at, previous_login_ip = last_login_ip,"
	" last_login_at = now(), last_login_ip = $2 WHERE id = $1", 2 };

static const struct ac_stmt st_admin_rehash = { "admin_rehash",
	"UPDATE admin_users SET password_hash = $2 WHERE id = $1 AND password_hash = $3", 3 };

/* The audit row of a failed attempt; an unknown name is kept as a digest
 * (a password typed into the name field must not land in the log). */
static void
login_failed(struct ac_db *db, const char *actor, long long id, const char *username,
    const char *why, const char *ip)
{
	char target[40] = "", digest[65];
	json_t *d;

	if (id > 0) {
		snprintf(target, sizeof(target), "admin:%lld", id);
		d = json_pack("{s:s}", "reason", why);
	} else {
		ac_sha256_hex(username, strlen(username), digest);
		d = json_pack("{s:s, s:s%}", "reason", why, "username_sha256", digest, (size_t)16);
	}
	ac_audit(db, NULL, actor, "auth.login_failed", target, d, ip);
	json_decref(d);
}

enum ac_admin_login
ac_admin_login(struct ac_db *db, int lock_after, int lock_s, const char *username,
    const char *password, const char *ip, long long *id)
{
	char after[16], secs[16], sid[24], hash[AC_PASSWORD_HASH_MAX], actor[65];
	const char *vals[3] = { username };
	PGresult *res;
	int ok, locked;

	*id = 0;
	if (ac_admin_init() == -1)
		return AC_ADMIN_LOGIN_ERROR;
	res = ac_db_exec(db, &st_admin_find, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("admin login: %s", ac_db_error(db));
		return AC_ADMIN_LOGIN_ERROR;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		(void)ac_password_verify(dummy_hash, password);	/* the same work */
		login_failed(db, "?", 0, username, "unknown", ip);
		return AC_ADMIN_LOGIN_FAILED;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(actor, sizeof(actor), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	snprintf(sid, sizeof(sid), "%lld", *id);
	snprintf(after, sizeof(after), "%d", lock_after);
	snprintf(secs, sizeof(secs), "%d", lock_s);
	vals[0] = sid, vals[1] = after, vals[2] = secs;
	res = ac_db_exec(db, &st_admin_attempt, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("admin login: %s", ac_db_error(db));
		*id = 0;
		return AC_ADMIN_LOGIN_ERROR;
	}
	if (PQntuples(res) == 0) {	/* locked, or not active */
		PQclear(res);
		(void)ac_password_verify(dummy_hash, password);
		login_failed(db, actor, *id, username, "locked_or_not_active", ip);
		*id = 0;
		return AC_ADMIN_LOGIN_FAILED;
	}
	snprintf(hash, sizeof(hash), "%s", PQgetvalue(res, 0, 0));
	locked = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (!(ok = ac_password_verify(hash, password))) {
		login_failed(db, actor, *id, username, "password", ip);
		if (locked) {
			ac_warn("security: admin %s locked after %d failed logins (last from %s)",
			    actor, lock_after, ip ? ip : "?");
			snprintf(sid, sizeof(sid), "admin:%lld", *id);
			ac_audit(db, NULL, actor, "auth.locked", sid, NULL, ip);
		}
		*id = 0;
		return AC_ADMIN_LOGIN_FAILED;
	}
	vals[0] = sid, vals[1] = ip ? ip : "";
	if (ac_db_command(db, &st_admin_logged_in, vals) != 1) {
		ac_error("admin login: %s", ac_db_error(db));
		*id = 0;
		return AC_ADMIN_LOGIN_ERROR;
	}
	if (ac_password_needs_rehash(hash)) {
		char fresh[AC_PASSWORD_HASH_MAX];

		if (ac_password_hash(password, fresh) == 0) {
			vals[1] = fresh, vals[2] = hash;
			(void)ac_db_command(db, &st_admin_rehash, vals);
		}
	}
	snprintf(sid, sizeof(sid), "admin:%lld", *id);
	ac_audit(db, NULL, actor, "auth.login", sid, NULL, ip);
	return AC_ADMIN_LOGIN_OK;
}

/* ---- sessions ------------------------------------------------------------------ */

static const struct ac_stmt st_asession_new = { "admin_session_new",
	"INSERT INTO admin_sessions (token_hash, admin_id, csrf_secret, expires_at, ip, user_agent)"
	" VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, left($6, 512))", 6 };

static const struct ac_stmt st_asession_load = { "admin_session_load",
	"WITH s AS (SELECT id, admin_id, csrf_secret, last_seen_at FROM admin_sessions"
	"  WHERE token_hash = $1 AND expires_at > now()"
	"  AND last_seen_at > now() - make_interval(secs => $2)),"
	" t AS (UPDATE admin_sessions SET last_seen_at = now() FROM s"
	"  WHERE admin_sessions.id = s.id AND s.last_seen_at < now() - interval '1 minute')"
	" SELECT s.id, a.id, s.csrf_secret, a.username, a.name,"
	"  array_to_string(a.permissions, ','),"
	"  coalesce(to_char(a.previous_login_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), ''),"
	"  coalesce(a.previous_login_ip, '')"
	" FROM s JOIN admin_users a ON a.id = s.admin_id WHERE a.status = 'active'", 2 };

static const struct ac_stmt st_asession_end = { "admin_session_end",
	"DELETE FROM admin_sessions WHERE token_hash = $1", 1 };

void
ac_admin_session_end(struct ac_db *db, const char *token)
{
	unsigned char hash[32];
	const char *vals[1] = { (const char *)hash };
	const int lens[1] = { 32 }, fmts[1] = { 1 };
	PGresult *res;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	res = ac_db_exec(db, &st_asession_end, vals, lens, fmts);
	if (ac_db_ok(db, res, PGRES_COMMAND_OK))
		PQclear(res);
}

int
ac_admin_session_create(struct ac_db *db, long long id, int max_s, const char *old_token,
    const char *ip, const char *user_agent, char token[AC_TOKEN_LEN + 1])
{
	unsigned char hash[32];
	char aid[24], csrf[AC_TOKEN_LEN + 1], max[16];
	const char *vals[6] = { (const char *)hash, aid, csrf, max, ip ? ip : "",
	    user_agent ? user_agent : "" };
	const int lens[6] = { 32, 0, 0, 0, 0, 0 }, fmts[6] = { 1, 0, 0, 0, 0, 0 };
	PGresult *res;

	ac_admin_session_end(db, old_token);
	if (ac_token_new(token) == -1 || ac_token_new(csrf) == -1) {
		ac_error("no randomness for a session token");
		return -1;
	}
	ac_sha256(token, strlen(token), hash);
	snprintf(aid, sizeof(aid), "%lld", id);
	snprintf(max, sizeof(max), "%d", max_s);
	res = ac_db_exec(db, &st_asession_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_error("session for admin %lld: %s", id, ac_db_error(db));
		return -1;
	}
	PQclear(res);
	return 0;
}

int
ac_admin_session_load(struct ac_db *db, int idle_s, const char *token, struct ac_admin *a)
{
	unsigned char hash[32];
	char idle[16], err[8];
	const char *vals[2] = { (const char *)hash, idle };
	const int lens[2] = { 32, 0 }, fmts[2] = { 1, 0 };
	PGresult *res;
	int found;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return 0;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	snprintf(idle, sizeof(idle), "%d", idle_s);
	res = ac_db_exec(db, &st_asession_load, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("admin session: %s", ac_db_error(db));
		return -1;
	}
	if ((found = PQntuples(res) == 1)) {
		memset(a, 0, sizeof(*a));
		a->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		a->id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		snprintf(a->csrf, sizeof(a->csrf), "%s", PQgetvalue(res, 0, 2));
		snprintf(a->username, sizeof(a->username), "%s", PQgetvalue(res, 0, 3));
		snprintf(a->name, sizeof(a->name), "%s", PQgetvalue(res, 0, 4));
		if (ac_perm_list(PQgetvalue(res, 0, 5), &a->perms, err, sizeof(err)) == -1)
			a->perms = 0;	/* the table's CHECK makes this unreachable */
		snprintf(a->last_login_at, sizeof(a->last_login_at), "%s", PQgetvalue(res, 0, 6));
		snprintf(a->last_login_ip, sizeof(a->last_login_ip), "%s", PQgetvalue(res, 0, 7));
	}
	PQclear(res);
	return found;
}

/* ---- accounts (acctl admin) -------------------------------------------------------- */

#define ADMIN_JSON \
	" json_build_object('id', id, 'username', username, 'email', email, 'name', name," \
	" 'status', status, 'permissions', permissions, 'telegram_chat_id', telegram_chat_id," \
	" 'created_at', created_at)"

static const struct ac_stmt st_admin_insert = { "admin_insert",
	"INSERT INTO admin_users (username, email, password_hash, name, phone, permissions)"
	" VALUES (lower($1), $2, $3, coalesce($4, ''), $5,"
	"  coalesce($6::text[], '{users.view,users.edit,subscriptions.view,"
	"subscriptions.approve,alerts.view}')) RETURNING" ADMIN_JSON, 6 };

static const struct ac_stmt st_admin_passwd = { "admin_passwd",
	"UPDATE admin_users SET password_hash = $2, failed_logins = 0, locked_until = NULL,"
	" updated_at = now() WHERE username = lower($1) RETURNING" ADMIN_JSON, 2 };

static const struct ac_stmt st_admin_perms = { "admin_perms",
	"UPDATE admin_users SET permissions = $2::text[], updated_at = now()"
	" WHERE username = lower($1) RETURNING" ADMIN_JSON, 2 };

static const struct ac_stmt st_admin_telegram = { "admin_telegram",
	"UPDATE admin_users SET telegram_chat_id = $2, updated_at = now()"
	" WHERE username = lower($1) RETURNING" ADMIN_JSON, 2 };

/* The one row of res as JSON (res cleared), or NULL with *e when none. */
static json_t *
one_row(struct ac_db *db, PGresult *res, const char *username, struct ac_err *e)
{
	json_t *o;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "username", "no admin account \"%s\"", username);
		return NULL;
	}
	o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return o;
}

/* The password's hash into hash, or -1 with *e. */
static int
hash_password(const char *pw, char hash[AC_PASSWORD_HASH_MAX], struct ac_err *e)
{
	if (pw == NULL || strlen(pw) < AC_PASSWORD_MIN || strlen(pw) > AC_PASSWORD_MAX ||
	    ac_password_hash(pw, hash) == -1)
		return ac_err_set(e, AC_E_INVALID, "password", "--password: %d to %d characters"
		    " required", AC_PASSWORD_MIN, AC_PASSWORD_MAX);
	return 0;
}

json_t *
ac_admin_create(struct ac_db *db, const struct ac_admin_new *in, struct ac_err *e)
{
	char hash[AC_PASSWORD_HASH_MAX], perms[512], err[256];
	const char *vals[6];
	unsigned bits;

	if (in->username == NULL || in->email == NULL) {
		ac_err_set(e, AC_E_INVALID, "username", "--username and --email are required");
		return NULL;
	}
	if (hash_password(in->password, hash, e) == -1)
		return NULL;
	if (in->permissions != NULL) {
		if (ac_perm_list(in->permissions, &bits, err, sizeof(err)) == -1) {
			ac_err_set(e, AC_E_INVALID, "permissions", "--permissions: %s", err);
			return NULL;
		}
		ac_perm_array(bits, perms, sizeof(perms));
	}
	vals[0] = in->username, vals[1] = in->email, vals[2] = hash, vals[3] = in->name;
	vals[4] = in->phone, vals[5] = in->permissions ? perms : NULL;
	return one_row(db, ac_db_exec(db, &st_admin_insert, vals, NULL, NULL), in->username, e);
}

json_t *
ac_admin_passwd(struct ac_db *db, const char *username, const char *password,
    struct ac_err *e)
{
	char hash[AC_PASSWORD_HASH_MAX];
	const char *vals[2] = { username, hash };

	if (username == NULL) {
		ac_err_set(e, AC_E_INVALID, "username", "--username is required");
		return NULL;
	}
	if (hash_password(password, hash, e) == -1)
		return NULL;
	return one_row(db, ac_db_exec(db, &st_admin_passwd, vals, NULL, NULL), username, e);
}

json_t *
ac_admin_set_permissions(struct ac_db *db, const char *username, const char *list,
    struct ac_err *e)
{
	char perms[512], err[256];
	const char *vals[2] = { username, perms };
	unsigned bits;

	if (username == NULL || list == NULL) {
		ac_err_set(e, AC_E_INVALID, "permissions", "--username and --permissions are required");
		return NULL;
	}
	if (ac_perm_list(list, &bits, err, sizeof(err)) == -1) {
		ac_err_set(e, AC_E_INVALID, "permissions", "--permissions: %s", err);
		return NULL;
	}
	ac_perm_array(bits, perms, sizeof(perms));
	return one_row(db, ac_db_exec(db, &st_admin_perms, vals, NULL, NULL), username, e);
}

json_t *
ac_admin_set_telegram(struct ac_db *db, const char *username, const char *chat,
    struct ac_err *e)
{
	const char *vals[2] = { username, chat };
	size_t n;

	if (username == NULL || chat == NULL) {
		ac_err_set(e, AC_E_INVALID, "telegram", "--username and --telegram are required");
		return NULL;
	}
	if (strcmp(chat, "none") == 0)
		vals[1] = NULL;
	else {
		n = strspn(chat + (chat[0] == '-'), "0123456789");
		if (n == 0 || n > 20 || chat[(chat[0] == '-') + n] != '\0') {
			ac_err_set(e, AC_E_INVALID, "telegram", "--telegram: a Telegram chat id "
			    "(digits, a leading - for a group) or none; received \"%.40s\"", chat);
			return NULL;
		}
	}
	return one_row(db, ac_db_exec(db, &st_admin_telegram, vals, NULL, NULL), username, e);
}
