/*
 * auth.h — subscriber accounts: sign up (confirmed by email), log in
 * (throttled, with a lockout per account and address), browser sessions
 * with their CSRF secret, personal API tokens, password reset by email,
 * change of password and email (confirmed from the new address).
 *
 * Tokens (sessions, API tokens, emailed links) are 256 bits from the OS
 * CSPRNG; only their SHA-256 is stored. A failed login gets one answer
 * whatever the reason (unknown email, wrong password, suspended), and an
 * unknown email costs the same Argon2id work as a known one. Nothing
 * answers differently for a taken and a free address: sign-up, email
 * change and password reset mail the address instead (a link, or a notice
 * to the owner). A new password or email ends every emailed link of the
 * account (the users_links_end trigger, sql/012_account_links.sql).
 */
#ifndef AC_AUTH_H
#define AC_AUTH_H

#include <stddef.h>

#include "base/config.h"
#include "base/crypto.h"
#include "base/db.h"
#include "base/err.h"

#define AC_SESSION_COOKIE	"ac_session"
#define AC_API_TOKEN_PREFIX	"act_"
#define AC_API_TOKEN_LEN	(4 + AC_TOKEN_LEN)

struct ac_auth_cfg {
	int	session_idle_s;		/* AC_SESSION_IDLE_SECONDS (1800) */
	int	session_max_s;		/* AC_SESSION_MAX_SECONDS (12 h) */
	int	lock_after;		/* AC_LOCK_AFTER failures of an account from
					 * one address lock that pair (5) */
	int	lock_s;			/* AC_LOCK_SECONDS (900) */
	int	throttle_window_s;	/* AC_LOGIN_WINDOW_SECONDS (900) */
	int	throttle_ip_max;	/* AC_LOGIN_IP_MAX failures a window (50) */
	int	throttle_account_max;	/* AC_LOGIN_ACCOUNT_MAX failures a window (10) */
	int	reset_s;		/* AC_RESET_SECONDS: reset links live (3600) */
	int	reset_per_hour;		/* AC_RESET_PER_HOUR: reset mails an account (3) */
	int	confirm_s;		/* AC_CONFIRM_SECONDS: address links live (1 day) */
	int	address_mails_per_hour;	/* AC_ADDRESS_MAILS_PER_HOUR: sign-up and
					 * email-change mails an address (3) */
};

/* The settings above from the configuration, and the Argon2id dummy hash
 * for unknown accounts; also sets up the Redis counters (lib/web/ratelimit.h). */
void	ac_auth_init(struct ac_auth_cfg *a, const struct ac_config *c);

enum ac_auth_result {
	AC_AUTH_OK = 0,
	AC_AUTH_FAILED,		/* anything a person may not be told apart */
	AC_AUTH_THROTTLED,	/* too many failures from this address (for this account) */
	AC_AUTH_INVALID,	/* the input breaks a rule (err says which) */
	AC_AUTH_ERROR		/* the database failed (logged) */
};

/* Checks an email (shape, length), a password (AC_PASSWORD_MIN..MAX bytes)
 * and a display name (<= 200 bytes, may be ""). NULL, or what is wrong. */
const char *ac_auth_check_email(const char *email);
const char *ac_auth_check_password(const char *pw);
const char *ac_auth_check_name(const char *name);

/*
 * A sign-up: mails the address a link (base_url/signup/confirm?token=)
 * that makes the account, or, when an account has it already, a notice to
 * its owner (neither past AC_ADDRESS_MAILS_PER_HOUR); the same work and
 * answer either way. OK (whichever was mailed), INVALID (err), ERROR.
 */
enum ac_auth_result ac_auth_signup(struct ac_db *db, const struct ac_auth_cfg *a,
	    const char *email, const char *password, const char *name, const char *base_url,
	    char *err, size_t errsz);

/* Opens a sign-up link with the password the sign-up chose (whoever asks
 * for an address's account must know it, so a sign-up made by someone
 * else cannot become the mailbox owner's account): the new active
 * account's id in *user_id. 1; 2 for another password (the link stays);
 * 0 for a bad, used or expired link (or one whose address got taken
 * since); -1. The address's other sign-up links end. */
int	ac_signup_confirm(struct ac_db *db, const char *token, const char *password,
	    long long *user_id);

/* 1 if token is an unused, unexpired link of kind ("signup" or
 * "email_change"), 0 if not, -1 on a database error. */
int	ac_confirm_valid(struct ac_db *db, const char *token, const char *kind);

/* Checks email and password from address ip: the throttles and locks
 * (before the password), the hash (rehashed when its parameters are old).
 * OK with *user_id; THROTTLED; FAILED; ERROR. */
enum ac_auth_result ac_auth_login(struct ac_db *db, const struct ac_auth_cfg *a,
	    const char *email, const char *password, const char *ip, long long *user_id);

/* Counts a login attempt refused before its check (a field that is not
 * UTF-8) as a failure from ip for email (may be NULL). */
void	ac_auth_login_refused(const struct ac_auth_cfg *a, const char *email, const char *ip);

struct ac_session {
	long long	id;
	long long	user_id;
	char		csrf[AC_TOKEN_LEN + 1];
	char		email[256];
	char		name[256];
};

/* A new session for user_id: its token (for the cookie) in token. The
 * session of old_token (may be NULL), if any, is ended: a new token at
 * every login. 0, or -1 (logged). */
int	ac_session_create(struct ac_db *db, const struct ac_auth_cfg *a, long long user_id,
	    const char *old_token, const char *ip, const char *user_agent,
	    char token[AC_TOKEN_LEN + 1]);

/* The live session of token (neither idle too long nor past its absolute
 * end, its user active): 1 with *s, 0 if none, -1 on a database error. */
int	ac_session_load(struct ac_db *db, const struct ac_auth_cfg *a, const char *token,
	    struct ac_session *s);

/* Ends the session of token (logout). */
void	ac_session_end(struct ac_db *db, const char *token);

/* 1 if given is the expected CSRF token (a session's secret, or the guest
 * forms' cookie), compared in constant time; 0 if not or either is NULL. */
int	ac_csrf_ok(const char *expected, const char *given);

/* A new personal API token "act_<43 chars>" named name for user_id, shown
 * once: in token. 0 with *id, or -1 with *e: AC_E_UNPROCESSABLE for the
 * name (field "name"), AC_E_UNAVAILABLE when the database failed (logged),
 * AC_E_INTERNAL without randomness. */
int	ac_api_token_create(struct ac_db *db, long long user_id, const char *name,
	    char token[AC_API_TOKEN_LEN + 1], long long *id, struct ac_err *e);

/* The owner of a live (not revoked) API token: > 0, 0 if none, -1 on error. */
long long ac_api_token_user(struct ac_db *db, const char *token);

/* Revokes token id of user_id: 1, 0 if the user has no such live token, -1. */
int	ac_api_token_revoke(struct ac_db *db, long long user_id, long long id);

/* Queues a "password_reset" job for email: the request does the same work
 * whatever the address, and the worker decides (ac_reset_job,
 * lib/work/reset.h). 0, or -1. */
int	ac_reset_request(struct ac_db *db, const struct ac_auth_cfg *a, const char *email,
	    const char *base_url);

/* 1 if token is an unused, unexpired reset link, 0 if not, -1 on error. */
int	ac_reset_valid(struct ac_db *db, const char *token);

/* Uses the link: sets the new password, ends every session, clears the
 * lockout. OK; FAILED (bad, used or expired link); INVALID (err); ERROR. */
enum ac_auth_result ac_reset_complete(struct ac_db *db, const char *token,
	    const char *password, char *err, size_t errsz);

/* Changes the password after checking the current one; ends the user's
 * other sessions (keep_session, may be 0). OK, FAILED (wrong current
 * password), INVALID (err), ERROR. */
enum ac_auth_result ac_auth_change_password(struct ac_db *db, long long user_id,
	    long long keep_session, const char *current, const char *password,
	    char *err, size_t errsz);

/* Asks to change the email after checking the password: mails the new
 * address a link (base_url/account/email/confirm?token=; it replaces the
 * user's older one), or a notice to its owner when it is taken; nothing
 * changes yet. OK (whichever was mailed), FAILED, INVALID (err), ERROR. */
enum ac_auth_result ac_auth_change_email(struct ac_db *db, const struct ac_auth_cfg *a,
	    long long user_id, const char *password, const char *email, const char *base_url,
	    char *err, size_t errsz);

/* Opens an email-change link: the address becomes the account's, and the
 * address it replaces gets a notice (base_url for its links). 1; 0 for a
 * bad, used or expired link (or an address taken since); -1. */
int	ac_email_confirm(struct ac_db *db, const char *token, const char *base_url);

#endif
