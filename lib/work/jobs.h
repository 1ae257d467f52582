/*
 * jobs.h — the pending-jobs table: claim, run, complete (enqueueing is
 * lib/base/queue.h).
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
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/db.h"
#include "base/queue.h"

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
	int		 started;	/* set by a batch handler on the jobs whose
					 * outside work it began: these run even
					 * after a stop, never put back unstarted */
	void		*result;	/* a batch handler's result for fn, in
					 * memory only (NULL: none) ... */
	void		(*result_free)(void *);	/* ... freed with this by the runner */
};

/* Runs job inside the runner's transaction on db. */
typedef enum ac_job_outcome (*ac_job_handler)(struct ac_db *db, struct ac_job *job);

/*
 * Runs once per claimed batch over its n jobs of one kind, before any of
 * them runs and outside any transaction: the place for slow outside work
 * done for all of them at once (concurrent sends). It leaves each job's
 * result in job->result, where the kind's fn, run next in the runner's
 * transaction as usual (perhaps more than once), finds it and writes the
 * database effect. *stop
 * (may be NULL) asks it to wind up early.
 */
typedef void (*ac_job_batch_handler)(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop);

/* A job kind and its handler (and, optionally, its batch handler):
 * workers take a table of these. */
struct ac_job_kind {
	const char		*kind;
	ac_job_handler		 fn;
	ac_job_batch_handler	 batch_fn;	/* NULL: none */
};

/* Counts by kind and state, with the age of the oldest due pending job:
 * {"kinds": {K: {state: n, ...}}, "total": {...}, "oldest_pending_s": x|null}.
 * NULL on a database error. The caller owns the result. */
json_t	*ac_jobs_summary(struct ac_db *db);

/*
 * The test and benchmark kind. Does nothing unless its payload says:
 *	"sleep_ms": N		sleep N ms first (a job in progress, for crash tests)
 *	"retry_until": N	RETRY while the attempt is below N
 *	"retry_in_ms": N	... asking for this delay instead of the backoff
 *	"fail": "why"		FAIL (dead at once) with that error
 *	"count": true		add 1 to payload.runs in the job's own row, so a
 *				committed double execution would show as runs > 1
 */
enum ac_job_outcome ac_noop_job(struct ac_db *db, struct ac_job *job);

/* ---- the runner: what ac-worker drives ---------------------------------- */

/*
 * One worker's claim-run-complete loop over a table of kinds. Jobs are
 * claimed in a committed batch (lease lease_s seconds, attempts + 1), then
 * run in groups: one transaction holds several consecutive jobs and is
 * committed with one completion statement for all of them once it has run
 * AC_JOB_GROUP_MS or the batch ends. A job's work and its completion
 * therefore always commit together, and only while this worker still
 * holds its lease. When a job of a group answers RETRY or FAIL, or a lease
 * was lost, the group is rolled back and its jobs run again one per
 * transaction, where a failure undoes only that job's work (so a handler
 * may run more than once, its database work committing once). A handler
 * must leave the transaction open (never COMMIT or ROLLBACK itself); after
 * a failed statement it returns RETRY or FAIL.
 */
struct ac_runner;

#define AC_JOB_GROUP_MS		50
#define AC_JOB_BACKOFF_CAP_MS	(3600 * 1000)

struct ac_runner_stats {
	long long	claimed;	/* jobs claimed */
	long long	done;		/* committed as done */
	long long	retried;	/* rescheduled after RETRY */
	long long	dead;		/* dead after FAIL or the last attempt */
	long long	lost;		/* lease lost: another worker owns the job */
	long long	released;	/* put back unstarted (stop) or after a database failure */
};

/*
 * A runner on db for the nkinds kinds (names as the jobs table allows:
 * [a-z_]), claiming at most batch jobs at a time. worker_id (at most 63
 * bytes, as application_name) goes into locked_by; db should carry the
 * same application_name, which lets ac_jobs_rescue() free a vanished
 * worker's jobs at once. kinds must outlive the runner. NULL on bad input.
 */
struct ac_runner *ac_runner_new(struct ac_db *db, const char *worker_id,
	    const struct ac_job_kind *kinds, size_t nkinds, int batch, int lease_s);
void	ac_runner_free(struct ac_runner *r);

/*
 * Claims a batch of due jobs and runs it. *stop (may be NULL) is read
 * between jobs: once set, the job in hand is finished and the unstarted
 * rest released (attempt not counted). Returns the number of jobs
 * claimed (0: none due), or -1 on a database failure, after which the
 * batch's unfinished jobs are released as soon as the database answers
 * again (or rescued when their lease expires).
 */
int	ac_runner_batch(struct ac_runner *r, const volatile sig_atomic_t *stop);

/* The counters since ac_runner_new(). */
const struct ac_runner_stats *ac_runner_stats(const struct ac_runner *r);

/*
 * The rescuer: running jobs whose lease expired, or whose worker (locked_by)
 * has no session open under that application_name, go back to pending, due
 * now — or dead when their attempts are used up — with last_error saying
 * why. Returns the number rescued, or -1 on a database error.
 */
long long ac_jobs_rescue(struct ac_db *db);

/* Records that worker id ("host:pid"; its host part is kept) is alive now,
 * for /metrics' alertcast_worker_last_seen_timestamp_seconds. 0, or -1
 * (logged). */
int	ac_jobs_heartbeat(struct ac_db *db, const char *id);

/*
 * Housekeeping, a few statements of bounded size: deletes up to limit done
 * jobs that finished more than keep_days days ago, and the sessions,
 * password resets and Telegram link codes that expired a day ago or more,
 * and the duplicate windows (signal_dedup) of alerts a day old.
 * Returns the rows deleted, or -1 on a database error.
 */
long long ac_housekeep(struct ac_db *db, int keep_days, int limit);

/* The runner's delay after attempt n failed: min(2^n s, 1 h), +-20 %
 * jitter from rnd (any 32 random bits). Pure. */
int64_t	ac_job_backoff_ms(int attempts, uint32_t rnd);

#endif
