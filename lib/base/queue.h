/*
 * queue.h — the enqueue side of the jobs table (the worker's side, claim,
 * run and complete, is lib/work/jobs.h): the web and account layers queue
 * mail and resets here without knowing the runner.
 *
 * A statement that queues jobs from rows it makes itself (ingest's group
 * commit, the fan-out's deliver jobs, a delivery's retry) stays one
 * statement by writing its INSERT with AC_SQL_JOBS_INSERT:
 *	" j AS (" AC_SQL_JOBS_INSERT("") " SELECT 'fanout', payload, key, now() FROM s)"
 * The SELECT gives kind, payload (jsonb), unique_key (NULL: none) and
 * run_at, then the columns named in `more` (", priority, max_attempts");
 * the others take the table's defaults (sql/001_core.sql). Workers wake on
 * pg_notify('ac_jobs', kind), sent by the statement or by ac_job_enqueue().
 */
#ifndef AC_QUEUE_H
#define AC_QUEUE_H

#include <jansson.h>
#include <stdint.h>

#include "base/db.h"

#define AC_SQL_JOBS_INSERT(more) \
	"INSERT INTO jobs (kind, payload, unique_key, run_at" more ")"

/* The channel a deliver batch that carries a fan-out's head (its jobs'
 * payload names the signal: {"head": id}) notifies: "c:<id>" as it loads
 * the head, "<id>" once the first of its requests are out. The fan-out's
 * parts, waiting on it (AC_FANOUT_HEAD_LEAD_MS at most), start then, not
 * while the head's sends still need the cores. */
#define AC_HEAD_CHANNEL	"ac_head"

/* The jobs table's default for max_attempts (sql/001_core.sql). */
#define AC_JOB_MAX_ATTEMPTS	20

/*
 * Queues a job (inside the caller's transaction if one is open). run_at_ms
 * 0 means now; unique_key NULL means none. Returns 1 when queued, 0 when a
 * job with unique_key already exists, -1 on a database error.
 */
int	ac_job_enqueue(struct ac_db *db, const char *kind, json_t *payload,
	    const char *unique_key, int64_t run_at_ms, int priority, int max_attempts);

/*
 * Queues count jobs of kind with payload (JSON text, NULL: {}) due in
 * run_in_ms, in one statement. With a unique_key, count 1 uses the key
 * as is and count > 1 uses "<key>:1" ... "<key>:<count>". Returns how
 * many were queued (duplicates are skipped), or -1 on a database error.
 */
long long ac_job_enqueue_n(struct ac_db *db, const char *kind, const char *payload,
	    const char *unique_key, int count, int64_t run_in_ms);

/*
 * One "workers were woken at" stamp for the processes that queue jobs on
 * this host (a file under state_dir, mapped): a job queued within
 * coalesce_ms of the last NOTIFY sends none, as every NOTIFY serializes
 * the commits of all notifying transactions in PostgreSQL. Workers poll
 * quickly for a while after each wake-up, so no job waits for the next
 * one. Without ac_notify_init() (or when the file cannot be used) every
 * job notifies. ac_notify_init: 0, or -1 (logged) when the file is
 * unusable. ac_notify_due(now_ms): 1 if this caller is to NOTIFY (the
 * stamp is now taken), else 0. ac_notify_undo(now_ms): the NOTIFY that
 * was due did not happen (nothing stored): let the next caller send one.
 */
int	ac_notify_init(const char *state_dir, int coalesce_ms);
int	ac_notify_due(int64_t now_ms);
void	ac_notify_undo(int64_t now_ms);

/* A dead or failed job back to pending, due now, with attempts reset.
 * Returns the job as JSON (caller owns it), or NULL with the reason in
 * err: no such job, not dead or failed, or a database error. */
json_t	*ac_job_retry(struct ac_db *db, long long id, struct ac_err *e);

#endif
