/* mail.c — see mail.h. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "mail.h"

static const struct ac_stmt st_queue = { "mail_queue",
	"INSERT INTO email_outbox (user_id, kind, to_addr, subject, body)"
	" VALUES (nullif($1::bigint, 0), $2, $3, $4, $5) RETURNING id", 5 };

long long
ac_mail_queue(struct ac_db *db, long long user_id, const char *kind, const char *to,
    const char *subject, const char *body)
{
	char uid[24];
	const char *vals[5] = { uid, kind, to, subject, body };
	PGresult *res;
	json_t *payload;
	long long id;
	int queued;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_queue, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("email to user %lld not queued: %s", user_id, ac_db_error(db));
		return -1;
	}
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	payload = json_pack("{s:I}", "email_id", (json_int_t)id);
	queued = ac_job_enqueue(db, "email", payload, NULL, 0, 0, 5);
	json_decref(payload);
	if (queued != 1) {
		ac_error("email %lld: job not queued: %s", id, ac_db_error(db));
		return -1;
	}
	return id;
}

static const struct ac_stmt st_sent = { "mail_sent",
	"UPDATE email_outbox SET status = 'sent', provider = 'outbox', sent_at = now()"
	" WHERE id = $1 AND status = 'queued'", 1 };

enum ac_job_outcome
ac_mail_job(struct ac_db *db, struct ac_job *job)
{
	json_t *id = json_object_get(job->payload, "email_id");
	char sid[24];
	const char *vals[1] = { sid };
	PGresult *res;

	if (!json_is_integer(id)) {
		snprintf(job->error, sizeof(job->error), "payload has no integer email_id");
		return AC_JOB_FAIL;
	}
	snprintf(sid, sizeof(sid), "%lld", (long long)json_integer_value(id));
	res = ac_db_exec(db, &st_sent, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		snprintf(job->error, sizeof(job->error), "%s", ac_db_error(db));
		return AC_JOB_RETRY;
	}
	PQclear(res);
	return AC_JOB_DONE;
}
