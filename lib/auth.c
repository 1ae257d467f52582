/* auth.c — see auth.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "auth.h"
#include "log.h"
#include "mail.h"
#include "password.h"
#include "ratelimit.h"

/* An Argon2id hash of a random password: unknown accounts verify against it. */
static char dummy_hash[AC_PASSWORD_HASH_MAX];

void
ac_auth_init(struct ac_auth_cfg *a, const struct ac_config *c)
{
	char pw[AC_TOKEN_LEN + 1];

	a->session_idle_s = (int)ac_config_int(c, "AC_SESSION_IDLE_SECONDS", 60, 86400 * 30, 1800);
	a->session_max_s = (int)ac_config_int(c, "AC_SESSION_MAX_SECONDS", 60, 86400 * 90, 43200);
	a->lock_after = (int)ac_config_int(c, "AC_LOCK_AFTER", 1, 1000, 5);
	a->lock_s = (int)ac_config_int(c, "AC_LOCK_SECONDS", 1, 86400, 900);
	a->throttle_window_s = (int)ac_config_int(c, "AC_LOGIN_WINDOW_SECONDS", 1, 86400, 900);
	a->throttle_ip_max = (int)ac_config_int(c, "AC_LOGIN_IP_MAX", 1, 1000000, 50);
	a->throttle_account_max = (int)ac_config_int(c, "AC_LOGIN_ACCOUNT_MAX", 1, 1000000, 10);
	a->reset_s = (int)ac_config_int(c, "AC_RESET_SECONDS", 60, 86400 * 7, 3600);
	ac_rate_init(c->redis_url, (int)ac_config_int(c, "AC_REDIS_TIMEOUT_MS", 10, 5000, 200));
	if (ac_token_new(pw) == -1 || ac_password_hash(pw, dummy_hash) == -1) {
		ac_error("no randomness or memory for the dummy hash");
		abort();
	}
}

const char *
ac_auth_check_email(const char *email)
{
	const char *at = email ? strchr(email, '@') : NULL;

	if (email == NULL || *email == '\0')
		return "an email address is required";
	if (strlen(email) > 254)
		return "the email address is longer than 254 characters";
	for (const char *p = email; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return "the email address must not contain spaces";
	if (at == NULL || at == email || strchr(at + 1, '@') != NULL ||
	    strchr(at + 1, '.') == NULL || at[strlen(at) - 1] == '.' || at[1] == '.')
		return "enter an email address like name@example.com";
	return NULL;
}

const char *
ac_auth_check_password(const char *pw)
{
	size_t n = pw ? strlen(pw) : 0;

	if (n < AC_PASSWORD_MIN)
		return "the password must have at least 8 characters";
	if (n > AC_PASSWORD_MAX)
		return "the password must have at most 1024 characters";
	return NULL;
}

const char *
ac_auth_check_name(const char *name)
{
	if (name != NULL && strlen(name) > 200)
		return "the name must have at most 200 characters";
	return NULL;
}

/* Copies the first failing check's message into err; 1 if one failed. */
static int
invalid(const char *why, char *err, size_t errsz)
{
	if (why == NULL)
		return 0;
	snprintf(err, errsz, "%s", why);
	return 1;
}

enum ac_auth_result
ac_auth_signup(struct ac_db *db, const char *email, const char *password, const char *name,
    long long *user_id, char *err, size_t errsz)
{
	struct ac_user_new in = { .email = email, .password = password, .name = name };
	json_t *u;

	if (invalid(ac_auth_check_email(email), err, errsz) ||
	    invalid(ac_auth_check_password(password), err, errsz) ||
	    invalid(ac_auth_check_name(name), err, errsz))
		return AC_AUTH_INVALID;
	if ((u = ac_user_create(db, &in, err, errsz)) == NULL) {
		if (strcmp(ac_db_sqlstate(db), "23505") == 0) {
			snprintf(err, errsz, "an account with this email already exists");
			return AC_AUTH_CONFLICT;
		}
		if (strncmp(ac_db_sqlstate(db), "23", 2) == 0) {
			snprintf(err, errsz, "enter an email address like name@example.com");
			return AC_AUTH_INVALID;
		}
		ac_error("sign up: %s", err);
		return AC_AUTH_ERROR;
	}
	*user_id = (long long)json_integer_value(json_object_get(u, "id"));
	json_decref(u);
	return AC_AUTH_OK;
}

/* The Redis keys counting failures for an address and an account. */
static void
throttle_keys(const char *email, const char *ip, char kip[128], char kacct[128])
{
	char lower[256], hex[65];
	size_t i;

	for (i = 0; email[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)email[i]);
	lower[i] = '\0';
	ac_sha256_hex(lower, i, hex);
	snprintf(kip, 128, "ac:login:ip:%.64s", ip);
	snprintf(kacct, 128, "ac:login:acct:%.32s", hex);
}

static const struct ac_stmt st_login_user = { "auth_login_user",
	"SELECT id, password_hash, status = 'active' AND coalesce(locked_until <= now(), true)"
	" FROM users WHERE lower(email) = lower($1)", 1 };

/* One more failure: locks the account for $3 s at the $2nd in a row. */
static const struct ac_stmt st_login_failed = { "auth_login_failed",
	"UPDATE users SET failed_logins = failed_logins + 1,"
	" locked_until = CASE WHEN failed_logins + 1 >= $2"
	"  THEN now() + make_interval(secs => $3) ELSE locked_until END"
	" WHERE id = $1 RETURNING failed_logins, locked_until IS NOT NULL AND locked_until > now()", 3 };

static const struct ac_stmt st_login_ok = { "auth_login_ok",
	"UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now(),"
	" password_hash = coalesce($2, password_hash) WHERE id = $1", 2 };

enum ac_auth_result
ac_auth_login(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
    const char *password, const char *ip, long long *user_id)
{
	char kip[128], kacct[128], sid[24], max[16], secs[16], fresh[AC_PASSWORD_HASH_MAX];
	const char *vals[3];
	PGresult *res;
	long long nip, nacct, id = 0;
	int allowed = 0, match;

	if (email == NULL || password == NULL)
		return AC_AUTH_FAILED;
	throttle_keys(email, ip, kip, kacct);
	nip = ac_rate_count(kip);
	nacct = nip == -1 ? -1 : ac_rate_count(kacct);
	if (nip >= a->throttle_ip_max || nacct >= a->throttle_account_max) {
		ac_info("login throttled: %lld failures from %s, %lld for the account", nip, ip,
		    nacct);
		return AC_AUTH_THROTTLED;
	}
	vals[0] = email;
	res = ac_db_exec(db, &st_login_user, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("login: %s", ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	if (PQntuples(res) == 1) {
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		match = ac_password_verify(PQgetvalue(res, 0, 1), password);
		allowed = *PQgetvalue(res, 0, 2) == 't';
	} else {
		(void)ac_password_verify(dummy_hash, password);	/* the same work */
		match = 0;
	}
	if (match && allowed) {
		int rehash = ac_password_needs_rehash(PQgetvalue(res, 0, 1)) &&
		    ac_password_hash(password, fresh) == 0;

		PQclear(res);
		snprintf(sid, sizeof(sid), "%lld", id);
		vals[0] = sid;
		vals[1] = rehash ? fresh : NULL;
		res = ac_db_exec(db, &st_login_ok, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
			ac_error("login: %s", ac_db_error(db));
			return AC_AUTH_ERROR;
		}
		PQclear(res);
		if (rehash)
			ac_info("user %lld: password rehashed with the current parameters", id);
		ac_rate_reset(kacct);
		*user_id = id;
		return AC_AUTH_OK;
	}
	PQclear(res);
	ac_rate_hit(kip, a->throttle_window_s, NULL);
	ac_rate_hit(kacct, a->throttle_window_s, NULL);
	if (id == 0) {
		ac_info("login failed: unknown account, from %s", ip);
		return AC_AUTH_FAILED;
	}
	if (!match) {
		snprintf(sid, sizeof(sid), "%lld", id);
		snprintf(max, sizeof(max), "%d", a->lock_after);
		snprintf(secs, sizeof(secs), "%d", a->lock_s);
		vals[0] = sid;
		vals[1] = max;
		vals[2] = secs;
		res = ac_db_exec(db, &st_login_failed, vals, NULL, NULL);
		if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
			ac_info("login failed: user %lld, wrong password (%s in a row%s), from %s", id,
			    PQgetvalue(res, 0, 0), *PQgetvalue(res, 0, 1) == 't' ? ", locked" : "",
			    ip);
			PQclear(res);
		}
	} else {
		ac_info("login refused: user %lld is locked or not active, from %s", id, ip);
	}
	return AC_AUTH_FAILED;
}

/* ---- sessions ---------------------------------------------------------- */

static const struct ac_stmt st_session_new = { "auth_session_new",
	"INSERT INTO sessions (token_hash, user_id, csrf_secret, expires_at, ip, user_agent)"
	" VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, left($6, 512))", 6 };

static const struct ac_stmt st_session_end = { "auth_session_end",
	"DELETE FROM sessions WHERE token_hash = $1 OR expires_at < now() - interval '1 day'", 1 };

int
ac_session_create(struct ac_db *db, const struct ac_auth_cfg *a, long long user_id,
    const char *old_token, const char *ip, const char *user_agent,
    char token[AC_TOKEN_LEN + 1])
{
	unsigned char hash[32];
	char uid[24], csrf[AC_TOKEN_LEN + 1], max[16];
	const char *vals[6] = { (const char *)hash, uid, csrf, max, ip ? ip : "",
	    user_agent ? user_agent : "" };
	const int lens[6] = { 32, 0, 0, 0, 0, 0 }, fmts[6] = { 1, 0, 0, 0, 0, 0 };
	PGresult *res;

	if (old_token != NULL)
		ac_session_end(db, old_token);
	if (ac_token_new(token) == -1 || ac_token_new(csrf) == -1) {
		ac_error("no randomness for a session token");
		return -1;
	}
	ac_sha256(token, strlen(token), hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(max, sizeof(max), "%d", a->session_max_s);
	res = ac_db_exec(db, &st_session_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_error("session for user %lld: %s", user_id, ac_db_error(db));
		return -1;
	}
	PQclear(res);
	return 0;
}

/* The live session; its last_seen_at moves at most once a minute. */
static const struct ac_stmt st_session_load = { "auth_session_load",
	"WITH s AS (SELECT id, user_id, csrf_secret, last_seen_at FROM sessions"
	"  WHERE token_hash = $1 AND expires_at > now()"
	"  AND last_seen_at > now() - make_interval(secs => $2)),"
	" t AS (UPDATE sessions SET last_seen_at = now() FROM s WHERE sessions.id = s.id"
	"  AND s.last_seen_at < now() - interval '1 minute')"
	" SELECT s.id, s.user_id, s.csrf_secret, u.email, u.display_name"
	" FROM s JOIN users u ON u.id = s.user_id WHERE u.status = 'active'", 2 };

int
ac_session_load(struct ac_db *db, const struct ac_auth_cfg *a, const char *token,
    struct ac_session *s)
{
	unsigned char hash[32];
	char idle[16];
	const char *vals[2] = { (const char *)hash, idle };
	const int lens[2] = { 32, 0 }, fmts[2] = { 1, 0 };
	PGresult *res;
	int found;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return 0;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	snprintf(idle, sizeof(idle), "%d", a->session_idle_s);
	res = ac_db_exec(db, &st_session_load, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("session: %s", ac_db_error(db));
		return -1;
	}
	if ((found = PQntuples(res) == 1)) {
		s->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		s->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		snprintf(s->csrf, sizeof(s->csrf), "%s", PQgetvalue(res, 0, 2));
		snprintf(s->email, sizeof(s->email), "%s", PQgetvalue(res, 0, 3));
		snprintf(s->name, sizeof(s->name), "%s", PQgetvalue(res, 0, 4));
	}
	PQclear(res);
	return found;
}

void
ac_session_end(struct ac_db *db, const char *token)
{
	unsigned char hash[32];
	const char *vals[1] = { (const char *)hash };
	const int lens[1] = { 32 }, fmts[1] = { 1 };
	PGresult *res;

	ac_sha256(token, strlen(token), hash);
	res = ac_db_exec(db, &st_session_end, vals, lens, fmts);
	if (ac_db_ok(db, res, PGRES_COMMAND_OK))
		PQclear(res);
	else
		ac_error("logout: %s", ac_db_error(db));
}

int
ac_csrf_ok(const char *expected, const char *given)
{
	return expected != NULL && given != NULL && strlen(expected) == AC_TOKEN_LEN &&
	    strlen(given) == AC_TOKEN_LEN && ac_ct_equal(expected, given, AC_TOKEN_LEN);
}

/* ---- API tokens ---------------------------------------------------------- */

static const struct ac_stmt st_token_new = { "auth_token_new",
	"INSERT INTO api_tokens (user_id, name, token_hash, prefix) VALUES ($1, $2, $3, $4)"
	" RETURNING id", 4 };

enum ac_auth_result
ac_api_token_create(struct ac_db *db, long long user_id, const char *name,
    char token[AC_API_TOKEN_LEN + 1], long long *id, char *err, size_t errsz)
{
	unsigned char hash[32];
	char uid[24], raw[AC_TOKEN_LEN + 1], prefix[16];
	const char *vals[4] = { uid, name, (const char *)hash, prefix };
	const int lens[4] = { 0, 0, 32, 0 }, fmts[4] = { 0, 0, 1, 0 };
	PGresult *res;

	if (name == NULL || *name == '\0' || strlen(name) > 100) {
		snprintf(err, errsz, "a name of 1 to 100 characters is required");
		return AC_AUTH_INVALID;
	}
	if (ac_token_new(raw) == -1)
		return AC_AUTH_ERROR;
	snprintf(token, AC_API_TOKEN_LEN + 1, "%s%s", AC_API_TOKEN_PREFIX, raw);
	snprintf(prefix, sizeof(prefix), "%.10s", token);
	ac_sha256(token, strlen(token), hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_token_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("API token for user %lld: %s", user_id, ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return AC_AUTH_OK;
}

/* The owner; last_used_at moves at most once a minute. */
static const struct ac_stmt st_token_user = { "auth_token_user",
	"WITH t AS (SELECT t.id, t.user_id, t.last_used_at FROM api_tokens t"
	"  JOIN users u ON u.id = t.user_id"
	"  WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.status = 'active'),"
	" u AS (UPDATE api_tokens SET last_used_at = now() FROM t WHERE api_tokens.id = t.id"
	"  AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))"
	" SELECT user_id FROM t", 1 };

long long
ac_api_token_user(struct ac_db *db, const char *token)
{
	unsigned char hash[32];
	const char *vals[1] = { (const char *)hash };
	const int lens[1] = { 32 }, fmts[1] = { 1 };
	PGresult *res;
	long long id = 0;

	if (strlen(token) != AC_API_TOKEN_LEN ||
	    strncmp(token, AC_API_TOKEN_PREFIX, strlen(AC_API_TOKEN_PREFIX)) != 0)
		return 0;
	ac_sha256(token, AC_API_TOKEN_LEN, hash);
	res = ac_db_exec(db, &st_token_user, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("API token: %s", ac_db_error(db));
		return -1;
	}
	if (PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static const struct ac_stmt st_token_revoke = { "auth_token_revoke",
	"UPDATE api_tokens SET revoked_at = now()"
	" WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL", 2 };

int
ac_api_token_revoke(struct ac_db *db, long long user_id, long long id)
{
	char sid[24], uid[24];
	const char *vals[2] = { sid, uid };
	PGresult *res;
	int n;

	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_token_revoke, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return -1;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n > 0;
}

/* ---- password reset ---------------------------------------------------------- */

static const struct ac_stmt st_reset_new = { "auth_reset_new",
	"INSERT INTO password_resets (user_id, token_hash, expires_at)"
	" SELECT id, $2, now() + make_interval(secs => $3) FROM users"
	" WHERE lower(email) = lower($1) AND status = 'active'"
	" RETURNING user_id, (SELECT email FROM users WHERE id = user_id)", 3 };

int
ac_reset_request(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
    const char *base_url)
{
	unsigned char hash[32];
	char token[AC_TOKEN_LEN + 1], secs[16], *body = NULL;
	const char *vals[3] = { email, (const char *)hash, secs };
	const int lens[3] = { 0, 32, 0 }, fmts[3] = { 0, 1, 0 };
	PGresult *res;
	int rc = -1;

	if (ac_token_new(token) == -1)
		return -1;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	snprintf(secs, sizeof(secs), "%d", a->reset_s);
	if (ac_db_begin(db) == -1)
		return -1;
	res = ac_db_exec(db, &st_reset_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_db_rollback(db);
		ac_info("password reset asked for an unknown or inactive account");
		return 0;
	}
	if (asprintf(&body, "Someone (hopefully you) asked to reset the password of your"
	    " alertcast account.\n\nOpen this link within %d minutes to choose a new one:\n\n"
	    "%s/password/reset?token=%s\n\nThe link works once. If you did not ask, ignore"
	    " this message: your password stays as it is.\n", a->reset_s / 60, base_url,
	    token) == -1)
		abort();
	if (ac_mail_queue(db, strtoll(PQgetvalue(res, 0, 0), NULL, 10), "password_reset",
	    PQgetvalue(res, 0, 1), "Reset your alertcast password", body) > 0)
		rc = 0;
	PQclear(res);
out:
	free(body);
	if (rc == 0 && ac_db_commit(db) == 0)
		return 0;
	ac_error("password reset: %s", ac_db_error(db));
	ac_db_rollback(db);
	return -1;
}

static const struct ac_stmt st_reset_valid = { "auth_reset_valid",
	"SELECT 1 FROM password_resets WHERE token_hash = $1 AND used_at IS NULL"
	" AND expires_at > now()", 1 };

int
ac_reset_valid(struct ac_db *db, const char *token)
{
	unsigned char hash[32];
	const char *vals[1] = { (const char *)hash };
	const int lens[1] = { 32 }, fmts[1] = { 1 };
	PGresult *res;
	int n;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return 0;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	res = ac_db_exec(db, &st_reset_valid, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n == 1;
}

static const struct ac_stmt st_reset_use = { "auth_reset_use",
	"WITH r AS (UPDATE password_resets SET used_at = now() WHERE token_hash = $1"
	"  AND used_at IS NULL AND expires_at > now() RETURNING user_id),"
	" u AS (UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL,"
	"  updated_at = now() WHERE id = (SELECT user_id FROM r) RETURNING id),"
	" s AS (DELETE FROM sessions WHERE user_id = (SELECT id FROM u))"
	" SELECT id FROM u", 2 };

enum ac_auth_result
ac_reset_complete(struct ac_db *db, const char *token, const char *password, char *err,
    size_t errsz)
{
	unsigned char hash[32];
	char pwhash[AC_PASSWORD_HASH_MAX];
	const char *vals[2] = { (const char *)hash, pwhash };
	const int lens[2] = { 32, 0 }, fmts[2] = { 1, 0 };
	PGresult *res;
	int n;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return AC_AUTH_FAILED;
	if (invalid(ac_auth_check_password(password), err, errsz))
		return AC_AUTH_INVALID;
	if (ac_password_hash(password, pwhash) == -1)
		return AC_AUTH_ERROR;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	res = ac_db_exec(db, &st_reset_use, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("password reset: %s", ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	n = PQntuples(res);
	PQclear(res);
	return n == 1 ? AC_AUTH_OK : AC_AUTH_FAILED;
}

/* ---- changes by a logged-in user ------------------------------------------- */

static const struct ac_stmt st_user_hash = { "auth_user_hash",
	"SELECT password_hash FROM users WHERE id = $1", 1 };

/* 1 if password is user_id's, 0 if not, -1 on a database error. */
static int
password_matches(struct ac_db *db, long long user_id, const char *password)
{
	char uid[24];
	const char *vals[1] = { uid };
	PGresult *res;
	int ok;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_user_hash, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	ok = PQntuples(res) == 1 && password != NULL &&
	    ac_password_verify(PQgetvalue(res, 0, 0), password);
	PQclear(res);
	return ok;
}

static const struct ac_stmt st_set_password = { "auth_set_password",
	"WITH u AS (UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1)"
	" DELETE FROM sessions WHERE user_id = $1 AND id <> $3", 3 };

enum ac_auth_result
ac_auth_change_password(struct ac_db *db, long long user_id, long long keep_session,
    const char *current, const char *password, char *err, size_t errsz)
{
	char uid[24], keep[24], pwhash[AC_PASSWORD_HASH_MAX];
	const char *vals[3] = { uid, pwhash, keep };
	PGresult *res;
	int m;

	if (invalid(ac_auth_check_password(password), err, errsz))
		return AC_AUTH_INVALID;
	if ((m = password_matches(db, user_id, current)) != 1) {
		snprintf(err, errsz, "the current password is not right");
		return m == 0 ? AC_AUTH_FAILED : AC_AUTH_ERROR;
	}
	if (ac_password_hash(password, pwhash) == -1)
		return AC_AUTH_ERROR;
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(keep, sizeof(keep), "%lld", keep_session);
	res = ac_db_exec(db, &st_set_password, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_error("change password: %s", ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	PQclear(res);
	return AC_AUTH_OK;
}

static const struct ac_stmt st_set_email = { "auth_set_email",
	"UPDATE users SET email = lower($2), updated_at = now() WHERE id = $1", 2 };

enum ac_auth_result
ac_auth_change_email(struct ac_db *db, long long user_id, const char *password,
    const char *email, char *err, size_t errsz)
{
	char uid[24];
	const char *vals[2] = { uid, email };
	PGresult *res;
	int m;

	if (invalid(ac_auth_check_email(email), err, errsz))
		return AC_AUTH_INVALID;
	if ((m = password_matches(db, user_id, password)) != 1) {
		snprintf(err, errsz, "the password is not right");
		return m == 0 ? AC_AUTH_FAILED : AC_AUTH_ERROR;
	}
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_set_email, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		if (strcmp(ac_db_sqlstate(db), "23505") == 0) {
			snprintf(err, errsz, "an account with this email already exists");
			return AC_AUTH_CONFLICT;
		}
		if (strncmp(ac_db_sqlstate(db), "23", 2) == 0) {
			snprintf(err, errsz, "enter an email address like name@example.com");
			return AC_AUTH_INVALID;
		}
		ac_error("change email: %s", ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	PQclear(res);
	return AC_AUTH_OK;
}
