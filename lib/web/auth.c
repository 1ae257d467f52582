/* auth.c — see auth.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/auth.h"
#include "base/queue.h"
#include "base/log.h"
#include "account/mail.h"
#include "account/password.h"
#include "web/ratelimit.h"

/* An Argon2id hash of a random password: unknown accounts verify against it. */
static char dummy_hash[AC_PASSWORD_HASH_MAX];

void
ac_auth_init(struct ac_auth_cfg *a, const struct ac_config *c)
{
	char pw[AC_TOKEN_LEN + 1];

	a->session_idle_s = ac_setting_int(c, AC_S_SESSION_IDLE_SECONDS);
	a->session_max_s = ac_setting_int(c, AC_S_SESSION_MAX_SECONDS);
	a->lock_after = ac_setting_int(c, AC_S_LOCK_AFTER);
	a->lock_s = ac_setting_int(c, AC_S_LOCK_SECONDS);
	a->throttle_window_s = ac_setting_int(c, AC_S_LOGIN_WINDOW_SECONDS);
	a->throttle_ip_max = ac_setting_int(c, AC_S_LOGIN_IP_MAX);
	a->throttle_account_max = ac_setting_int(c, AC_S_LOGIN_ACCOUNT_MAX);
	a->reset_s = ac_setting_int(c, AC_S_RESET_SECONDS);
	a->reset_per_hour = ac_setting_int(c, AC_S_RESET_PER_HOUR);
	a->confirm_s = ac_setting_int(c, AC_S_CONFIRM_SECONDS);
	a->address_mails_per_hour = ac_setting_int(c, AC_S_ADDRESS_MAILS_PER_HOUR);
	ac_rate_init(c->redis_url, ac_setting_int(c, AC_S_REDIS_TIMEOUT_MS));
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

/* A new token for an emailed link: its text in token, its SHA-256 in hash. */
static int
link_token(char token[AC_TOKEN_LEN + 1], unsigned char hash[32])
{
	if (ac_token_new(token) == -1) {
		ac_error("no randomness for a link token");
		return -1;
	}
	ac_sha256(token, AC_TOKEN_LEN, hash);
	return 0;
}

/* Queues the message kind to to (user_id 0: nobody's yet); body is printf'd. */
static int
mail(struct ac_db *db, long long user_id, const char *kind, const char *to,
    const char *subject, const char *fmt, ...)
{
	va_list ap;
	char *body;
	long long id;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) == -1)
		abort();
	va_end(ap);
	id = ac_mail_queue(db, user_id, kind, to, subject, body);
	free(body);
	return id > 0 ? 0 : -1;
}

/* The notice to the owner of an address someone else tried to take. */
static int
mail_taken(struct ac_db *db, const char *owner_id, const char *to, const char *what,
    const char *base_url)
{
	return mail(db, strtoll(owner_id, NULL, 10), "address_taken", to,
	    "Someone tried to use your address at alertcast",
	    "Someone tried to %s with your email address, which already belongs to your"
	    " alertcast account. Nothing was changed.\n\nIf it was you, log in:\n\n%s/login\n\n"
	    "or, if you forgot your password, reset it:\n\n%s/password/forgot\n\n"
	    "If it was not you, ignore this message: nobody can use your address without"
	    " a link sent to it.\n", what, base_url, base_url);
}

/* The account with an email, if any, and a new confirmation link for the
 * address when there is none (signup: $4.. the account to make;
 * email_change: $4 whose, with the user's older such links ended); and
 * how many such mails the address got in the last hour. */
#define ADDRESS_MAILS \
	" (SELECT count(*) FROM email_outbox WHERE lower(to_addr) = lower($1)" \
	"  AND kind IN ('signup_confirm', 'email_confirm', 'address_taken')" \
	"  AND created_at > now() - interval '1 hour')"

static const struct ac_stmt st_signup_new = { "auth_signup_new",
	"WITH o AS (SELECT id, email FROM users WHERE lower(email) = lower($1)),"
	" c AS (INSERT INTO email_confirmations (kind, token_hash, email, password_hash,"
	"  display_name, expires_at) SELECT 'signup', $2, lower($1), $4, $5,"
	"  now() + make_interval(secs => $3) WHERE NOT EXISTS (SELECT 1 FROM o))"
	" SELECT (SELECT id FROM o), (SELECT email FROM o)," ADDRESS_MAILS, 5 };

static const struct ac_stmt st_email_new = { "auth_email_new",
	"WITH o AS (SELECT id, email FROM users WHERE lower(email) = lower($1)),"
	" d AS (DELETE FROM email_confirmations WHERE user_id = $4 AND kind = 'email_change'"
	"  AND used_at IS NULL),"
	" c AS (INSERT INTO email_confirmations (kind, token_hash, email, user_id, expires_at)"
	"  SELECT 'email_change', $2, lower($1), $4, now() + make_interval(secs => $3)"
	"  WHERE NOT EXISTS (SELECT 1 FROM o))"
	" SELECT (SELECT id FROM o), (SELECT email FROM o)," ADDRESS_MAILS, 4 };

/*
 * The one path of a sign-up or an email change once the input passed:
 * in one transaction, a link to confirm the free address (mailed there),
 * or a notice to the owner of the taken one; nothing is mailed to an
 * address that got AC_ADDRESS_MAILS_PER_HOUR of these in the last hour.
 * The caller answers the same either way. user_id: whose email changes
 * (0: a sign-up).
 */
static enum ac_auth_result
address_claim(struct ac_db *db, const struct ac_auth_cfg *a, long long user_id,
    const char *email, const char *pwhash, const char *name, const char *base_url)
{
	unsigned char hash[32];
	char token[AC_TOKEN_LEN + 1], secs[16], uid[24];
	const char *vals[5] = { email, (const char *)hash, secs, NULL, NULL };
	const int lens[5] = { 0, 32, 0, 0, 0 }, fmts[5] = { 0, 1, 0, 0, 0 };
	PGresult *res;
	int rc;

	if (link_token(token, hash) == -1)
		return AC_AUTH_ERROR;
	snprintf(secs, sizeof(secs), "%d", a->confirm_s);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	vals[3] = user_id ? uid : pwhash;
	vals[4] = name;
	if (ac_db_begin(db) == -1)
		return AC_AUTH_ERROR;
	res = ac_db_exec(db, user_id ? &st_email_new : &st_signup_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		rc = -1;
	} else if (strtoll(PQgetvalue(res, 0, 2), NULL, 10) >= a->address_mails_per_hour) {
		ac_info("%s: the address was mailed %s times this hour, not again",
		    user_id ? "change email" : "sign up", PQgetvalue(res, 0, 2));
		rc = 0;
	} else if (!PQgetisnull(res, 0, 0)) {
		/* taken: its owner is told (not a user changing to its own address) */
		rc = strtoll(PQgetvalue(res, 0, 0), NULL, 10) == user_id ? 0 :
		    mail_taken(db, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		    user_id ? "change the address of another account" : "sign up", base_url);
	} else if (user_id == 0) {
		rc = mail(db, 0, "signup_confirm", email, "Confirm your alertcast account",
		    "Someone (hopefully you) signed up at alertcast with this address.\n\n"
		    "Open this link within %d hours to confirm it and start using your account:"
		    "\n\n%s/signup/confirm?token=%s\n\nIf it was not you, ignore this message:"
		    " no account is made.\n", a->confirm_s / 3600, base_url, token);
	} else {
		rc = mail(db, user_id, "email_confirm", email, "Confirm your new alertcast address",
		    "Someone (hopefully you) asked to use this address for an alertcast account."
		    "\n\nOpen this link within %d hours to confirm it:\n\n"
		    "%s/account/email/confirm?token=%s\n\nIf it was not you, ignore this message:"
		    " nothing changes.\n", a->confirm_s / 3600, base_url, token);
	}
	PQclear(res);
	if (rc == 0 && ac_db_commit(db) == 0)
		return AC_AUTH_OK;
	ac_error("%s: %s", user_id ? "change email" : "sign up", ac_db_error(db));
	ac_db_rollback(db);
	return AC_AUTH_ERROR;
}

enum ac_auth_result
ac_auth_signup(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
    const char *password, const char *name, const char *base_url, char *err, size_t errsz)
{
	char pwhash[AC_PASSWORD_HASH_MAX];

	if (invalid(ac_auth_check_email(email), err, errsz) ||
	    invalid(ac_auth_check_password(password), err, errsz) ||
	    invalid(ac_auth_check_name(name), err, errsz))
		return AC_AUTH_INVALID;
	/* hashed for a taken address too: the same work either way */
	if (ac_password_hash(password, pwhash) == -1)
		return AC_AUTH_ERROR;
	return address_claim(db, a, 0, email, pwhash, name, base_url);
}

/* Runs st on a link's token ($1, its SHA-256, binary) and v2 ($2, may be
 * NULL). The result (caller clears), or NULL for a token that cannot be a
 * link (*bad set) or a database error (*bad clear; the result's state is
 * in db). */
static PGresult *
link_exec(struct ac_db *db, const struct ac_stmt *st, const char *token, const char *v2,
    int *bad)
{
	unsigned char hash[32];
	const char *vals[2] = { (const char *)hash, v2 };
	const int lens[2] = { 32, 0 }, fmts[2] = { 1, 0 };
	PGresult *res;

	*bad = token == NULL || strlen(token) != AC_TOKEN_LEN;
	if (*bad)
		return NULL;
	ac_sha256(token, AC_TOKEN_LEN, hash);
	res = ac_db_exec(db, st, vals, lens, fmts);
	return ac_db_ok(db, res, PGRES_TUPLES_OK) ? res : NULL;
}

/* Runs st on a link's token ($1, its hash) and v2: st finds the link (or
 * marks it used and acts on it). 1 if it found one, with the first cell
 * in *id (may be NULL); 0 if the link is unknown, used, expired (or its
 * address got taken); -1 on a database error. */
static int
link_use(struct ac_db *db, const struct ac_stmt *st, const char *token, const char *v2,
    long long *id)
{
	PGresult *res;
	int n, bad;

	if ((res = link_exec(db, st, token, v2, &bad)) == NULL) {
		if (bad)
			return 0;
		/* the address got taken, or the database's stricter check of
		 * it refuses it: the link cannot be used */
		if (strcmp(ac_db_sqlstate(db), "23505") == 0 ||
		    strcmp(ac_db_sqlstate(db), "23514") == 0)
			return 0;
		ac_error("%s: %s", st->name, ac_db_error(db));
		return -1;
	}
	if ((n = PQntuples(res)) == 1 && id != NULL)
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n == 1;
}

static const struct ac_stmt st_signup_hash = { "auth_signup_hash",
	"SELECT password_hash FROM email_confirmations WHERE token_hash = $1"
	" AND kind = 'signup' AND used_at IS NULL AND expires_at > now()", 1 };

static const struct ac_stmt st_signup_use = { "auth_signup_use",
	"WITH c AS (UPDATE email_confirmations SET used_at = now() WHERE token_hash = $1"
	"  AND kind = 'signup' AND used_at IS NULL AND expires_at > now()"
	"  RETURNING email, password_hash, display_name),"
	" o AS (DELETE FROM email_confirmations WHERE kind = 'signup' AND used_at IS NULL"
	"  AND lower(email) = (SELECT lower(email) FROM c) AND token_hash <> $1)"
	" INSERT INTO users (email, password_hash, display_name)"
	" SELECT email, password_hash, display_name FROM c RETURNING id", 1 };

int
ac_signup_confirm(struct ac_db *db, const char *token, const char *password,
    long long *user_id)
{
	PGresult *res;
	int match, bad;

	if ((res = link_exec(db, &st_signup_hash, token, NULL, &bad)) == NULL) {
		if (bad)
			return 0;
		ac_error("%s: %s", st_signup_hash.name, ac_db_error(db));
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	match = password != NULL && ac_password_verify(PQgetvalue(res, 0, 0), password);
	PQclear(res);
	if (!match)
		return 2;
	return link_use(db, &st_signup_use, token, NULL, user_id);
}

/* The Redis keys of the login throttles: failures from an address (any
 * account), for an account (any address), for an account from an address. */
struct login_keys {
	char	ip[128];
	char	acct[128];
	char	pair[192];
};

static void
login_keys(const char *email, const char *ip, struct login_keys *k)
{
	char lower[256], hex[65];
	size_t i;

	for (i = 0; email[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)email[i]);
	lower[i] = '\0';
	ac_sha256_hex(lower, i, hex);
	snprintf(k->ip, sizeof(k->ip), "ac:login:ip:%.64s", ip);
	snprintf(k->acct, sizeof(k->acct), "ac:login:acct:%.32s", hex);
	snprintf(k->pair, sizeof(k->pair), "ac:login:pair:%.32s:%.64s", hex, ip);
}

/*
 * 1 if address ip may not try this account now, whatever the password:
 * the address failed too often (any account), or AC_LOCK_AFTER times for
 * this account (its lock, AC_LOCK_SECONDS), or the account is under attack
 * (AC_LOGIN_ACCOUNT_MAX failures from anywhere) and this address failed on
 * it already. So an attacker locks only its own addresses, each new one
 * gets one guess while the attack lasts, and the owner's correct password
 * from an address of its own still logs in. Redis away: -1, and the
 * caller falls back on the account's wrong passwords in a row (the
 * database's users.failed_logins).
 */
static int
login_throttled(const struct ac_auth_cfg *a, const struct login_keys *k, const char *ip)
{
	long long nip, npair, nacct;

	if ((nip = ac_rate_count(k->ip)) == -1 || (npair = ac_rate_count(k->pair)) == -1 ||
	    (nacct = ac_rate_count(k->acct)) == -1)
		return -1;
	if (nip < a->throttle_ip_max && npair < a->lock_after &&
	    (nacct < a->throttle_account_max || npair == 0))
		return 0;
	ac_info("login throttled: %lld failures from %s, %lld for the account from there,"
	    " %lld for it in all", nip, ip, npair, nacct);
	return 1;
}

/* Counts a failed attempt in the three throttles; the AC_LOCK_AFTER-th
 * for the account from this address locks that pair for AC_LOCK_SECONDS.
 * 1 when this very failure locked it, else 0. */
static int
login_failed(const struct ac_auth_cfg *a, const struct login_keys *k)
{
	long long n;

	ac_rate_hit(k->ip, a->throttle_window_s, NULL);
	ac_rate_hit(k->acct, a->throttle_window_s, NULL);
	if ((n = ac_rate_hit(k->pair, a->throttle_window_s, NULL)) >= a->lock_after) {
		ac_rate_expire(k->pair, a->lock_s);
		return n == a->lock_after;
	}
	return 0;
}

/* A notice that the account was locked is mailed at most once an hour. */
static const struct ac_stmt st_lock_noticed = { "auth_lock_noticed",
	"SELECT count(*) FROM email_outbox WHERE user_id = $1 AND kind = 'account_locked'"
	" AND created_at > now() - interval '1 hour'", 1 };

/* The owner hears that wrong passwords locked their account for an
 * address: if it was not them, they know someone is guessing, and that
 * their own logins from elsewhere still work. */
static void
lock_notice(struct ac_db *db, const struct ac_auth_cfg *a, long long id, const char *to,
    const char *ip)
{
	char uid[24];
	const char *vals[1] = { uid };
	PGresult *res;
	int sent;

	snprintf(uid, sizeof(uid), "%lld", id);
	res = ac_db_exec(db, &st_lock_noticed, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return;
	sent = strtoll(PQgetvalue(res, 0, 0), NULL, 10) > 0;
	PQclear(res);
	if (sent)
		return;
	if (mail(db, id, "account_locked", to, "Wrong passwords locked your alertcast account",
	    "%d wrong passwords in a row were typed for your alertcast account (%s) from the"
	    " address %s, so logins from there are paused for %d minutes.\n\nIf it was you,"
	    " wait, or reset your password from the login page (\"Forgot your password?\").\n\n"
	    "If it was not you, someone is guessing your password: your own logins from"
	    " another address still work, and a new, long password keeps the account safe.\n",
	    a->lock_after, to, ip ? ip : "unknown", (a->lock_s + 59) / 60) == -1)
		ac_warn("lock of user %lld: the notice was not queued", id);
}

void
ac_auth_login_refused(const struct ac_auth_cfg *a, const char *email, const char *ip)
{
	struct login_keys k;

	login_keys(email ? email : "", ip, &k);
	login_failed(a, &k);
	ac_info("login refused before its check (unreadable input), from %s", ip);
}

static const struct ac_stmt st_login_user = { "auth_login_user",
	"SELECT id, password_hash, status = 'active', failed_logins"
	" FROM users WHERE lower(email) = lower($1)", 1 };

/* One more wrong password in a row (for the record: locks are per address). */
static const struct ac_stmt st_login_failed = { "auth_login_failed",
	"UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1"
	" RETURNING failed_logins", 1 };

static const struct ac_stmt st_login_ok = { "auth_login_ok",
	"UPDATE users SET failed_logins = 0, last_login_at = now(),"
	" password_hash = coalesce($2, password_hash) WHERE id = $1", 2 };

enum ac_auth_result
ac_auth_login(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
    const char *password, const char *ip, long long *user_id)
{
	char sid[24], fresh[AC_PASSWORD_HASH_MAX];
	const char *vals[2];
	struct login_keys k;
	PGresult *res;
	long long id = 0;
	int allowed = 0, match, throttled;

	if (email == NULL || password == NULL)
		return AC_AUTH_FAILED;
	login_keys(email, ip, &k);
	if ((throttled = login_throttled(a, &k, ip)) == 1)
		return AC_AUTH_THROTTLED;
	vals[0] = email;
	res = ac_db_exec(db, &st_login_user, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("login: %s", ac_db_error(db));
		return AC_AUTH_ERROR;
	}
	if (PQntuples(res) == 1 && throttled == -1 &&
	    strtoll(PQgetvalue(res, 0, 3), NULL, 10) >= a->throttle_account_max) {
		/* Redis away: no guessing on an account past its limit of wrong
		 * passwords in a row, until a reset link or Redis is back */
		ac_warn("login throttled without Redis: user %s has %s wrong passwords in a row,"
		    " from %s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 3), ip);
		PQclear(res);
		return AC_AUTH_THROTTLED;
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
		ac_rate_reset(k.pair);
		*user_id = id;
		return AC_AUTH_OK;
	}
	PQclear(res);
	if (login_failed(a, &k) && id != 0)
		lock_notice(db, a, id, email, ip);
	if (id == 0) {
		ac_info("login failed: unknown account, from %s", ip);
		return AC_AUTH_FAILED;
	}
	if (!match) {
		snprintf(sid, sizeof(sid), "%lld", id);
		vals[0] = sid;
		res = ac_db_exec(db, &st_login_failed, vals, NULL, NULL);
		if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
			ac_info("login failed: user %lld, wrong password (%s in a row), from %s", id,
			    PQgetvalue(res, 0, 0), ip);
			PQclear(res);
		}
	} else {
		ac_info("login refused: user %lld is not active, from %s", id, ip);
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

int
ac_api_token_create(struct ac_db *db, long long user_id, const char *name,
    char token[AC_API_TOKEN_LEN + 1], long long *id, struct ac_err *e)
{
	unsigned char hash[32];
	char uid[24], raw[AC_TOKEN_LEN + 1], prefix[16];
	const char *vals[4] = { uid, name, (const char *)hash, prefix };
	const int lens[4] = { 0, 0, 32, 0 }, fmts[4] = { 0, 0, 1, 0 };
	PGresult *res;

	if (name == NULL || *name == '\0' || strlen(name) > 100)
		return ac_err_set(e, AC_E_UNPROCESSABLE, "name",
		    "a name of 1 to 100 characters is required");
	if (ac_token_new(raw) == -1)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "no randomness for a token");
	snprintf(token, AC_API_TOKEN_LEN + 1, "%s%s", AC_API_TOKEN_PREFIX, raw);
	snprintf(prefix, sizeof(prefix), "%.10s", token);
	ac_sha256(token, strlen(token), hash);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_token_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("API token for user %lld: %s", user_id, ac_db_error(db));
		return ac_err_set(e, AC_E_UNAVAILABLE, NULL, "the database failed");
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
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
	long long n;

	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(uid, sizeof(uid), "%lld", user_id);
	if ((n = ac_db_command(db, &st_token_revoke, vals)) == -1)
		return -1;
	return n > 0;
}

/* ---- password reset ---------------------------------------------------------- */

int
ac_reset_request(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
    const char *base_url)
{
	json_t *p = json_pack("{s:s, s:s, s:i, s:i}", "email", email, "base_url", base_url,
	    "ttl_s", a->reset_s, "per_hour", a->reset_per_hour);
	int n = p ? ac_job_enqueue(db, "password_reset", p, NULL, 0, 0, 5) : -1;

	json_decref(p);
	if (n != 1)
		ac_error("password reset not queued: %s", ac_db_error(db));
	return n == 1 ? 0 : -1;
}

static const struct ac_stmt st_reset_valid = { "auth_reset_valid",
	"SELECT 1 FROM password_resets WHERE token_hash = $1 AND used_at IS NULL"
	" AND expires_at > now()", 1 };

static const struct ac_stmt st_confirm_valid = { "auth_confirm_valid",
	"SELECT 1 FROM email_confirmations WHERE token_hash = $1 AND kind = $2"
	" AND used_at IS NULL AND expires_at > now()", 2 };

int
ac_reset_valid(struct ac_db *db, const char *token)
{
	return link_use(db, &st_reset_valid, token, NULL, NULL);
}

int
ac_confirm_valid(struct ac_db *db, const char *token, const char *kind)
{
	return link_use(db, &st_confirm_valid, token, kind, NULL);
}

/* The new password ends the sessions; the users_links_end trigger ends
 * the account's other links. */
static const struct ac_stmt st_reset_use = { "auth_reset_use",
	"WITH r AS (UPDATE password_resets SET used_at = now() WHERE token_hash = $1"
	"  AND used_at IS NULL AND expires_at > now() RETURNING user_id),"
	" u AS (UPDATE users SET password_hash = $2, failed_logins = 0,"
	"  updated_at = now() WHERE id = (SELECT user_id FROM r) RETURNING id),"
	" s AS (DELETE FROM sessions WHERE user_id = (SELECT id FROM u))"
	" SELECT id FROM u", 2 };

enum ac_auth_result
ac_reset_complete(struct ac_db *db, const char *token, const char *password, char *err,
    size_t errsz)
{
	char pwhash[AC_PASSWORD_HASH_MAX];
	int n;

	if (token == NULL || strlen(token) != AC_TOKEN_LEN)
		return AC_AUTH_FAILED;
	if (invalid(ac_auth_check_password(password), err, errsz))
		return AC_AUTH_INVALID;
	if (ac_password_hash(password, pwhash) == -1)
		return AC_AUTH_ERROR;
	if ((n = link_use(db, &st_reset_use, token, pwhash, NULL)) == -1)
		return AC_AUTH_ERROR;
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

static const struct ac_stmt st_user_email = { "auth_user_email",
	"SELECT email FROM users WHERE id = $1", 1 };

/* The owner hears that the password changed: if it was not them, they
 * know at once (the change ended the account's other sessions). */
static void
password_notice(struct ac_db *db, long long user_id)
{
	char uid[24], to[256];
	const char *vals[1] = { uid };
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_user_email, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return;
	}
	snprintf(to, sizeof(to), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (mail(db, user_id, "password_changed", to, "Your alertcast password was changed",
	    "The password of your alertcast account (%s) was just changed, and every other"
	    " session of the account was logged out.\n\nIf you made this change, there is"
	    " nothing to do.\n\nIf you did not, reset your password now from the login page"
	    " (\"Forgot your password?\"): the link goes to this address.\n", to) == -1)
		ac_warn("password change of user %lld: the notice was not queued", user_id);
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
	password_notice(db, user_id);
	return AC_AUTH_OK;
}

enum ac_auth_result
ac_auth_change_email(struct ac_db *db, const struct ac_auth_cfg *a, long long user_id,
    const char *password, const char *email, const char *base_url, char *err, size_t errsz)
{
	int m;

	if (invalid(ac_auth_check_email(email), err, errsz))
		return AC_AUTH_INVALID;
	if ((m = password_matches(db, user_id, password)) != 1) {
		snprintf(err, errsz, "the password is not right");
		return m == 0 ? AC_AUTH_FAILED : AC_AUTH_ERROR;
	}
	return address_claim(db, a, user_id, email, NULL, "", base_url);
}

/* The users_links_end trigger ends the account's other links. */
/* The change, with the address it replaces (for the notice to it). */
static const struct ac_stmt st_email_use = { "auth_email_use",
	"WITH c AS (UPDATE email_confirmations SET used_at = now() WHERE token_hash = $1"
	"  AND kind = 'email_change' AND used_at IS NULL AND expires_at > now()"
	"  RETURNING user_id, email),"
	" o AS (SELECT u.id, u.email FROM users u JOIN c ON c.user_id = u.id"
	"  WHERE u.status = 'active' FOR UPDATE)"
	" UPDATE users u SET email = c.email, updated_at = now() FROM c, o"
	" WHERE u.id = c.user_id AND o.id = u.id RETURNING u.id, o.email, c.email", 1 };

int
ac_email_confirm(struct ac_db *db, const char *token, const char *base_url)
{
	long long id;
	char old[256], fresh[256];
	PGresult *res;
	int bad;

	if ((res = link_exec(db, &st_email_use, token, NULL, &bad)) == NULL) {
		if (bad || strcmp(ac_db_sqlstate(db), "23505") == 0 ||
		    strcmp(ac_db_sqlstate(db), "23514") == 0)
			return 0;
		ac_error("%s: %s", st_email_use.name, ac_db_error(db));
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 1));
	snprintf(fresh, sizeof(fresh), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	/* the address that was the account's hears of it: if someone else
	 * changed it, its owner knows at once and what to do */
	if (mail(db, id, "email_changed", old, "Your alertcast email address was changed",
	    "The email address of your alertcast account was changed from %s to %s.\n\n"
	    "If you made this change, there is nothing to do.\n\nIf you did not, someone"
	    " who knows your password did: reply to this message or write to the operator of"
	    " %s at once, and change your password as soon as you can log in:\n\n"
	    "%s/password/forgot\n", old, fresh, base_url, base_url) == -1)
		ac_warn("email change of user %lld: the notice to the old address was not queued",
		    id);
	return 1;
}
