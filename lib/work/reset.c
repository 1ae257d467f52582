/*
 * reset.c — see reset.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/crypto.h"
#include "base/db.h"
#include "base/log.h"
#include "account/mail.h"
#include "work/reset.h"

/* A new link for the active account of $1, unless it had $5 in the last hour. */
static const struct ac_stmt st_reset_new = { "auth_reset_new",
	"INSERT INTO password_resets (user_id, token_hash, expires_at)"
	" SELECT u.id, $2, now() + make_interval(secs => $3) FROM users u"
	" WHERE lower(u.email) = lower($1) AND u.status = 'active'"
	" AND (SELECT count(*) FROM password_resets r WHERE r.user_id = u.id"
	"  AND r.created_at > now() - interval '1 hour') < $4"
	" RETURNING user_id, (SELECT email FROM users WHERE id = user_id)", 4 };

enum ac_job_outcome
ac_reset_job(struct ac_db *db, struct ac_job *job)
{
	const char *email = json_string_value(json_object_get(job->payload, "email"));
	const char *base_url = json_string_value(json_object_get(job->payload, "base_url"));
	json_int_t ttl = json_integer_value(json_object_get(job->payload, "ttl_s"));
	json_int_t cap = json_integer_value(json_object_get(job->payload, "per_hour"));
	unsigned char hash[32];
	char token[AC_TOKEN_LEN + 1], secs[24], max[24];
	const char *vals[4] = { email, (const char *)hash, secs, max };
	const int lens[4] = { 0, 32, 0, 0 }, fmts[4] = { 0, 1, 0, 0 };
	PGresult *res;
	char *body;
	int rc;

	if (email == NULL || base_url == NULL || ttl < 60) {
		snprintf(job->error, sizeof(job->error), "payload needs email, base_url, ttl_s");
		return AC_JOB_FAIL;
	}
	if (ac_token_new(token) == -1) {
		ac_error("no randomness for a link token");
		return AC_JOB_RETRY;
	}
	ac_sha256(token, AC_TOKEN_LEN, hash);
	snprintf(secs, sizeof(secs), "%lld", (long long)ttl);
	snprintf(max, sizeof(max), "%lld", (long long)cap);
	res = ac_db_exec(db, &st_reset_new, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		snprintf(job->error, sizeof(job->error), "%s", ac_db_error(db));
		return AC_JOB_RETRY;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_info("password reset for an unknown or inactive account, or one at its"
		    " %lld links an hour", (long long)cap);
		return AC_JOB_DONE;
	}
	if (asprintf(&body, "Someone (hopefully you) asked to reset the password of your alertcast account."
	    "\n\nOpen this link within %lld minutes to choose a new one:\n\n"
	    "%s/password/reset?token=%s\n\nThe link works once, and only until your password"
	    " or email address changes. If you did not ask, ignore this message: your password"
	    " stays as it is.\n", (long long)ttl / 60, base_url, token) == -1)
		abort();
	rc = ac_mail_queue(db, strtoll(PQgetvalue(res, 0, 0), NULL, 10), "password_reset",
	    PQgetvalue(res, 0, 1), "Reset your alertcast password", body) > 0 ? 0 : -1;
	free(body);
	PQclear(res);
	if (rc == -1) {
		snprintf(job->error, sizeof(job->error), "%s", ac_db_error(db));
		return AC_JOB_RETRY;
	}
	return AC_JOB_DONE;
}
