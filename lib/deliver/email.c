/*
 * email.c — the job kind "email" (deliver.h): an email_outbox row sent
 * like a delivery, its n-th send the n-th step of the email plan, and the
 * row's status, provider, error and attempts written in the runner's
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "deliver/deliver.h"
#include "deliver/internal.h"

static const struct ac_stmt st_email_load = { "email_load",
	"SELECT id, status, coalesce(user_id, 0), to_addr, subject, body, attempts"
	" FROM email_outbox WHERE id = ANY ($1::bigint[])", 1 };

enum { E_ID, E_STATUS, E_USER, E_TO, E_SUBJECT, E_BODY, E_ATTEMPTS };

/* Sets up it from email_outbox row i (-1: no row, GONE): the result at
 * once (no longer queued, outbox, plan used up) or a send waiting its turn,
 * the row's body with the footer as the text part and that text as HTML in
 * the shared layout as the other (render_mail). */
static void
email_setup(struct item *it, const PGresult *res, int i)
{
	char err[256] = "";

	if (i == -1 || strcmp(PQgetvalue(res, i, E_STATUS), "queued") != 0) {
		item_gone(it);
		return;
	}
	item_target(it, "email", strtoll(PQgetvalue(res, i, E_ID), NULL, 10),
	    strtoll(PQgetvalue(res, i, E_USER), NULL, 10), AC_CH_EMAIL,
	    PQgetvalue(res, i, E_TO));
	it->attempts = atoi(PQgetvalue(res, i, E_ATTEMPTS));
	if ((it->t.text = strdup(PQgetvalue(res, i, E_BODY))) == NULL ||
	    (it->t.subject = strdup(PQgetvalue(res, i, E_SUBJECT))) == NULL)
		abort();
	if (render_mail(&it->t, err, sizeof(err)) == -1) {
		item_retry_in(it, 60000, err);	/* as a delivery's: the layout comes back */
		return;
	}
	if (item_plan(it, it->attempts + 1) == 0)
		it->job->started = 1;
}

void
ac_email_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	batch_run(db, jobs, n, stop, &st_email_load, "email_id", email_setup, 0);
}

static const struct ac_stmt st_email_sent = { "email_sent",
	"UPDATE email_outbox SET status = 'sent', provider = $2,"
	" provider_message_id = nullif($3, ''), attempts = attempts + $4::int, error = NULL,"
	" sent_at = now() WHERE id = $1 AND status = 'queued'", 4 };

static const struct ac_stmt st_email_failed = { "email_failed",
	"UPDATE email_outbox SET status = 'failed', provider = $2, error = $3,"
	" attempts = attempts + $4::int WHERE id = $1 AND status = 'queued'", 4 };

/* A retry, as deliver.c's: the attempt counted (when it reached the
 * provider); the next email job follows when the row is still queued. */
static const struct ac_stmt st_email_retry = { "email_retry",
	"UPDATE email_outbox SET provider = $2, error = $3, attempts = attempts + $4::int"
	" WHERE id = $1 AND status = 'queued' RETURNING id", 4 };

enum ac_job_outcome
ac_email_job(struct ac_db *db, struct ac_job *job)
{
	json_t *id = json_object_get(job->payload, "email_id");
	const struct send_result *r = job_result(job, 0);
	char sid[24], n[24];
	PGresult *res;

	if (!json_is_integer(id))
		return job_error(job, AC_JOB_FAIL, "payload has no integer email_id");
	snprintf(sid, sizeof(sid), "%lld", (long long)json_integer_value(id));
	if (r == NULL)
		return job_error(job, AC_JOB_RETRY, "email %s: not sent (database error)", sid);
	snprintf(n, sizeof(n), "%d", r->counted);
	if (r->v == SEND_GONE)
		return AC_JOB_DONE;
	if (r->v == SEND_RETRY) {
		const char *vals[4] = { sid, r->provider, r->error, n };

		res = ac_db_exec(db, &st_email_retry, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
			return job_error(job, AC_JOB_RETRY, "email %s: %s", sid, ac_db_error(db));
		if (PQntuples(res) == 1 && retry_enqueue(db, "email", "email_id",
		    (long long)json_integer_value(id), job->id,
		    ac_now_ms() + r->retry_in_ms) == -1) {
			PQclear(res);
			return job_error(job, AC_JOB_RETRY, "email %s: %s", sid, ac_db_error(db));
		}
		PQclear(res);
		return AC_JOB_DONE;
	}
	if (r->v == SEND_SENT || r->v == SEND_OUTBOX) {
		const char *vals[4] = { sid, r->provider, r->pmid, r->v == SEND_SENT ? "1" : "0" };

		res = ac_db_exec(db, &st_email_sent, vals, NULL, NULL);
	} else {
		const char *vals[4] = { sid, r->provider, r->error, n };

		ac_warn("email %s to user %lld failed: %s: %s", sid, r->user_id, r->provider,
		    result_error(r));
		res = ac_db_exec(db, &st_email_failed, vals, NULL, NULL);
	}
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return job_error(job, AC_JOB_RETRY, "email %s: %s", sid, ac_db_error(db));
	PQclear(res);
	return AC_JOB_DONE;
}
