/* billing.c — see billing.h. */
#include <stdio.h>

#include "base/log.h"
#include "billing/stripe.h"
#include "work/billing.h"

enum ac_job_outcome
ac_stripe_event_job(struct ac_db *db, struct ac_job *job)
{
	const char *id = json_string_value(json_object_get(job->payload, "event_id"));
	struct ac_err e = { 0 };

	if (id == NULL) {
		snprintf(job->error, sizeof(job->error), "the payload has no event_id");
		return AC_JOB_FAIL;
	}
	if (ac_stripe_event_process(db, id, &e) == 0)
		return AC_JOB_DONE;
	snprintf(job->error, sizeof(job->error), "%.60s: %.400s", id, e.message);
	switch (e.code) {
	case AC_E_UNPROCESSABLE:
	case AC_E_NOT_FOUND:
	case AC_E_INVALID:
		ac_warn("stripe event %s failed: %s", id, e.message);
		return AC_JOB_FAIL;
	default:
		return AC_JOB_RETRY;
	}
}
