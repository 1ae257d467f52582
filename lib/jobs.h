/*
 * jobs.h — the pending-jobs table: enqueue, claim, run, complete.
 *
 * Workers claim due jobs in batches with FOR UPDATE SKIP LOCKED and a
 * lease (locked_by, locked_until); a job whose lease expired (its worker
 * crashed) is rescued and claimed again. A handler runs inside a
 * transaction the runner opened; the job's completion is written in the
 * same transaction, so a job's database effect happens exactly once.
 * Outside calls made by a handler are at-least-once and need idempotency
 * keys.
 */
#ifndef AC_JOBS_H
#define AC_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

enum ac_job_outcome {
	AC_JOB_DONE = 0,	/* commit the handler's work; the job is done */
	AC_JOB_RETRY,		/* roll back; run again after a backoff (or dead
				 * with the error once max_attempts is reached) */
	AC_JOB_FAIL		/* roll back; dead at once with the error */
};

struct ac_job {
	long long	 id;
	char		 kind[48];
	json_t		*payload;	/* owned by the runner */
	int		 attempts;	/* counting this one */
	int		 max_attempts;
	char		 error[512];	/* the handler's reason for RETRY or FAIL */
	int64_t		 retry_in_ms;	/* RETRY: wait this long (0: the runner's backoff) */
};

/* Runs job inside the runner's transaction on db. */
typedef enum ac_job_outcome (*ac_job_handler)(struct ac_db *db, struct ac_job *job);

/* A job kind and its handler: workers take a table of these. */
struct ac_job_kind {
	const char	*kind;
	ac_job_handler	 fn;
};

/*
 * Queues a job (inside the caller's transaction if one is open). run_at_ms
 * 0 means now; unique_key NULL means none. Returns 1 when queued, 0 when a
 * job with unique_key already exists, -1 on a database error.
 */
int	ac_job_enqueue(struct ac_db *db, const char *kind, json_t *payload,
	    const char *unique_key, int64_t run_at_ms, int priority, int max_attempts);

#endif
