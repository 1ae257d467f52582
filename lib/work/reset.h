/*
 * reset.h — the "password_reset" job kind: the worker's half of a reset
 * by email (the request is queued by ac_reset_request(), lib/web/auth.h,
 * which does the same work whatever the address).
 */
#ifndef AC_RESET_H
#define AC_RESET_H

#include "base/db.h"
#include "work/jobs.h"

/* The "password_reset" job: mails a link (base_url/password/reset?token=)
 * if an active account has the payload's email and was mailed fewer than
 * per_hour links in the last hour; nothing otherwise, silently. */
enum ac_job_outcome ac_reset_job(struct ac_db *db, struct ac_job *job);

#endif
