/* mail.c — see mail.h. */
#include <stdio.h>
#include <stdlib.h>

#include "base/queue.h"
#include "base/log.h"
#include "account/mail.h"

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
