/* queue.c — the enqueue side of the jobs table (and an operator's retry of a
 * dead job); see queue.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#include "base/queue.h"

/* count rows in one statement; the NOTIFY wakes listening workers when the
 * caller's transaction commits (and is sent once per transaction). */
static const struct ac_stmt st_enqueue = { "job_enqueue",
	"WITH j AS (" AC_SQL_JOBS_INSERT(", priority, max_attempts")
	" SELECT $1::text, $2::jsonb,"
	" CASE WHEN $3::text IS NULL THEN NULL WHEN $4::int = 1 THEN $3::text"
	" ELSE $3::text || ':' || n END,"
	" CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0)"
	" ELSE now() + $6::bigint * interval '1 millisecond' END,"
	" $7::smallint, $8::int"
	" FROM generate_series(1, $4::int) AS n"
	" ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM j), pg_notify('ac_jobs', $1::text)", 8 };

/* Queues count jobs; see ac_job_enqueue_n(). Returns the number queued or -1. */
static long long
enqueue(struct ac_db *db, const char *kind, const char *payload, const char *unique_key,
    int count, int64_t run_at_ms, int64_t run_in_ms, int priority, int max_attempts)
{
	char cnt[16], at[24], in[24], prio[16], maxa[16];
	const char *vals[8] = { kind, payload ? payload : "{}", unique_key, cnt, at, in, prio, maxa };
	PGresult *res;
	long long n;

	snprintf(cnt, sizeof(cnt), "%d", count);
	snprintf(at, sizeof(at), "%" PRId64, run_at_ms);
	snprintf(in, sizeof(in), "%" PRId64, run_in_ms);
	snprintf(prio, sizeof(prio), "%d", priority);
	snprintf(maxa, sizeof(maxa), "%d", max_attempts > 0 ? max_attempts : AC_JOB_MAX_ATTEMPTS);
	res = ac_db_exec(db, &st_enqueue, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

int
ac_job_enqueue(struct ac_db *db, const char *kind, json_t *payload,
    const char *unique_key, int64_t run_at_ms, int priority, int max_attempts)
{
	char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	long long n;

	n = enqueue(db, kind, text, unique_key, 1, run_at_ms, 0, priority, max_attempts);
	free(text);
	return n < 0 ? -1 : (int)n;
}

long long
ac_job_enqueue_n(struct ac_db *db, const char *kind, const char *payload,
    const char *unique_key, int count, int64_t run_in_ms)
{
	return enqueue(db, kind, payload, unique_key, count, 0, run_in_ms, 0, 0);
}

/* ---- the host's coalesced NOTIFY ---- */

/* The host's last-NOTIFY stamp (ms since the epoch), shared by mapping;
 * NULL: notify every time. */
static int64_t	*notify_stamp;
static int	 notify_coalesce_ms;

int
ac_notify_init(const char *state_dir, int coalesce_ms)
{
	char path[4096];
	int fd;
	void *p;

	if (coalesce_ms <= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/notify.stamp", state_dir);
	if (mkdir(state_dir, 0750) == -1 && errno != EEXIST)
		ac_warn("%s: %s", state_dir, strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1 ||
	    ftruncate(fd, sizeof(int64_t)) == -1) {
		ac_warn("%s: %s; every job queued will notify the workers", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		ac_warn("%s: mmap: %s; every job queued will notify the workers", path, strerror(errno));
		return -1;
	}
	notify_stamp = p;
	notify_coalesce_ms = coalesce_ms;
	return 0;
}

/* The stamp is taken atomically, so concurrent processes agree on who
 * sends the NOTIFY. */
int
ac_notify_due(int64_t now)
{
	int64_t last;

	if (notify_stamp == NULL)
		return 1;
	last = __atomic_load_n(notify_stamp, __ATOMIC_ACQUIRE);
	if (now - last >= 0 && now - last < notify_coalesce_ms)
		return 0;
	return __atomic_compare_exchange_n(notify_stamp, &last, now, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void
ac_notify_undo(int64_t stamp)
{
	if (notify_stamp != NULL)
		__atomic_compare_exchange_n(notify_stamp, &stamp, 0, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static const struct ac_stmt st_retry = { "job_retry",
	"WITH r AS (UPDATE jobs SET state = 'pending', attempts = 0, run_at = now(),"
	" locked_by = NULL, locked_until = NULL, finished_at = NULL, updated_at = now()"
	" WHERE id = $1 AND state IN ('dead', 'failed')"
	" RETURNING id, kind, state, attempts, max_attempts, last_error)"
	" SELECT id, kind, state, attempts, max_attempts, last_error, pg_notify('ac_jobs', kind)"
	" FROM r", 1 };

static const struct ac_stmt st_job_state = { "job_state",
	"SELECT state FROM jobs WHERE id = $1", 1 };

json_t *
ac_job_retry(struct ac_db *db, long long id, struct ac_err *e)
{
	char idtxt[24];
	const char *vals[1] = { idtxt };
	PGresult *res;
	json_t *o;

	snprintf(idtxt, sizeof(idtxt), "%lld", id);
	res = ac_db_exec(db, &st_retry, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	if (PQntuples(res) == 1) {
		o = json_pack("{s:I, s:s, s:s, s:i, s:i, s:s?}",
		    "id", (json_int_t)id, "kind", PQgetvalue(res, 0, 1),
		    "state", PQgetvalue(res, 0, 2), "attempts", atoi(PQgetvalue(res, 0, 3)),
		    "max_attempts", atoi(PQgetvalue(res, 0, 4)),
		    "last_error", PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5));
		PQclear(res);
		return o;
	}
	PQclear(res);
	res = ac_db_exec(db, &st_job_state, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	if (PQntuples(res) == 0)
		ac_err_set(e, AC_E_NOT_FOUND, NULL, "no job %lld", id);
	else
		ac_err_set(e, AC_E_CONFLICT, NULL, "job %lld is %s, not dead or failed", id,
		    PQgetvalue(res, 0, 0));
	PQclear(res);
	return NULL;
dberr:
	ac_db_err(db, e);
	return NULL;
}
