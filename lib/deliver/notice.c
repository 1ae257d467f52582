/*
 * notice.c — the job kind "notice" (deliver.h): an account message to a
 * user on one channel (email unless the payload names another; queued by
 * lib/account/notify.h for each channel the user chose), rendered from
 * its templates and sent through that channel's plan by the same runner
 * as deliveries; the job's attempt is the plan's step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "deliver/deliver.h"
#include "deliver/internal.h"

#define NOTICE_ATTEMPTS	7	/* a notice job: the email plan's 6 sends and one more */

/* The notices there are: each names its templates <name>.txt (text, SMS,
 * push), <name>.html.txt (email's HTML part), <name>.telegram.txt and
 * <name>_subject.txt (email subject, push heading). */
static const char *const notices[] = { "telegram_blocked", "payment_failed",
	"renewal_reminder", "payment_approved", "payment_rejected", "subscription_expired",
	"strategy_incident", "strategy_recovered" };

static const struct ac_stmt st_notice_load = { "notice_load",
	"SELECT id, email, coalesce(display_name, ''), coalesce(telegram_chat_id, ''),"
	" coalesce(phone, ''), coalesce((SELECT string_agg(pd.subscription_id, ',' ORDER BY pd.id)"
	"  FROM push_devices pd WHERE pd.user_id = users.id), '') FROM users"
	" WHERE id = ANY ($1::bigint[])", 1 };

/* An operator's row in the same columns as a user's (no phone, no push):
 * the job kind "ops_notice" (lib/work/health.c queues it). */
static const struct ac_stmt st_ops_notice_load = { "ops_notice_load",
	"SELECT id, email, coalesce(nullif(name, ''), username), coalesce(telegram_chat_id, ''),"
	" '', '' FROM admin_users WHERE id = ANY ($1::bigint[]) AND status = 'active'", 1 };

/* The address of the user in row i on channel ch ("" when none). */
static const char *
notice_address(const PGresult *res, int i, int ch)
{
	switch (ch) {
	case AC_CH_TELEGRAM:
		return PQgetvalue(res, i, 3);
	case AC_CH_SMS:
		return PQgetvalue(res, i, 4);
	case AC_CH_PUSH:
		return PQgetvalue(res, i, 5);
	default:
		return PQgetvalue(res, i, 1);
	}
}

int
notice_queue(struct ac_db *db, const char *notice, long long user, const char *delivery)
{
	char key[128];
	json_t *payload = json_pack("{s:I, s:s}", "user_id", (json_int_t)user, "notice", notice);
	int rc;

	snprintf(key, sizeof(key), "notice:%s:%s", notice, delivery);
	rc = ac_job_enqueue(db, "notice", payload, key, 0, 0, NOTICE_ATTEMPTS);
	json_decref(payload);
	return rc == -1 ? -1 : 0;
}

/* Sets up it for job's notice to the user in row i (-1: no such user,
 * GONE): rendered, its email plan stepped to the job's attempt, or a
 * result at once. */
static void
notice_setup(struct item *it, const PGresult *res, int i)
{
	const char *name = json_string_value(json_object_get(it->job->payload, "notice"));
	const char *chname = json_string_value(json_object_get(it->job->payload, "channel"));
	json_t *vars = json_object_get(it->job->payload, "vars"), *val;
	int ch = chname ? ac_channel_parse(chname) : AC_CH_EMAIL;
	struct ac_var v[16];
	const char *key;
	char err[512];
	size_t k, nv = 0;

	if (i == -1) {
		item_gone(it);
		return;
	}
	v[nv++] = (struct ac_var){ "name", PQgetvalue(res, i, 2) };
	v[nv++] = (struct ac_var){ "email", PQgetvalue(res, i, 1) };
	json_object_foreach(vars, key, val)
		if (json_is_string(val) && nv < sizeof(v) / sizeof(v[0]))
			v[nv++] = (struct ac_var){ key, json_string_value(val) };
	if (ch < 0) {		/* a payload naming no channel we have: never guessed */
		item_target(it, "notice", it->job->id, strtoll(PQgetvalue(res, i, 0), NULL, 10),
		    AC_CH_EMAIL, "");
		item_failed(it, "none", "no such channel", 0, 0);
		return;
	}
	item_target(it, "notice", it->job->id, strtoll(PQgetvalue(res, i, 0), NULL, 10),
	    ch, notice_address(res, i, ch));
	if (*notice_address(res, i, ch) == '\0') {
		item_failed(it, "none", "the user has no address on this channel", 0, 0);
		return;
	}
	for (k = 0; k < sizeof(notices) / sizeof(notices[0]); k++)
		if (name != NULL && strcmp(name, notices[k]) == 0)
			break;
	if (k == sizeof(notices) / sizeof(notices[0])) {
		item_failed(it, "none", "no such notice", 0, 0);
		return;
	}
	if (render_notice(name, ch, v, nv, &it->t, err, sizeof(err)) == -1) {
		item_failed(it, "none", err, 0, 0);
		return;
	}
	if (item_plan(it, it->job->attempts) == 0)
		it->job->started = 1;
}

void
ac_notice_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	batch_run(db, jobs, n, stop, &st_notice_load, "user_id", notice_setup, 0);
}

void
ac_ops_notice_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	batch_run(db, jobs, n, stop, &st_ops_notice_load, "admin_id", notice_setup, 0);
}

enum ac_job_outcome
ac_notice_job(struct ac_db *db, struct ac_job *job)
{
	const struct send_result *r = job_result(job, 0);

	(void)db;
	if (r == NULL)
		return job_error(job, AC_JOB_RETRY, "notice not sent (database error)");
	switch (r->v) {
	case SEND_GONE:
		return job_error(job, AC_JOB_FAIL, "no such %s", strcmp(job->kind, "ops_notice") ?
		    "user" : "active operator");
	case SEND_SENT:
	case SEND_OUTBOX:
		ac_info("notice %s to %s %lld: %s",
		    json_string_value(json_object_get(job->payload, "notice")),
		    strcmp(job->kind, "ops_notice") ? "user" : "operator", r->user_id, r->provider);
		return AC_JOB_DONE;
	case SEND_RETRY:
		job->retry_in_ms = r->retry_in_ms;
		return job_error(job, AC_JOB_RETRY, "%s", result_error(r));
	default:
		return job_error(job, AC_JOB_FAIL, "%s: %s", r->provider, result_error(r));
	}
}
