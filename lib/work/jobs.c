/* jobs.c — the pending-jobs table and its runner; see jobs.h. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "work/jobs.h"
#include "base/log.h"
#include "base/util.h"

/* 1 if res (consumed) is a successful command; else 0, error recorded. */
static int
command_ok(struct ac_db *db, PGresult *res)
{
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return 0;
	PQclear(res);
	return 1;
}

/* ---- operator views --------------------------------------------------- */

static const struct ac_stmt st_summary = { "jobs_summary",
	"SELECT kind, state, count(*),"
	" EXTRACT(epoch FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now()))"
	" FROM jobs GROUP BY kind, state ORDER BY kind, state", 0 };

json_t *
ac_jobs_summary(struct ac_db *db)
{
	static const char *const states[] = { "pending", "running", "done", "failed", "dead" };
	json_t *kinds = json_object(), *total = json_object(), *oldest = json_null();
	PGresult *res = ac_db_exec(db, &st_summary, NULL, NULL, NULL);

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		json_decref(kinds);
		json_decref(total);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		json_object_set_new(total, states[i], json_integer(0));
	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0), *state = PQgetvalue(res, i, 1);
		long long n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		json_t *k = json_object_get(kinds, kind);

		if (k == NULL) {
			k = json_object();
			json_object_set_new(kinds, kind, k);
		}
		json_object_set_new(k, state, json_integer(n));
		json_object_set_new(total, state,
		    json_integer(json_integer_value(json_object_get(total, state)) + n));
		if (!PQgetisnull(res, i, 3)) {
			double age = strtod(PQgetvalue(res, i, 3), NULL);

			if (json_is_null(oldest) || age > json_real_value(oldest)) {
				json_decref(oldest);
				oldest = json_real(age);
			}
		}
	}
	PQclear(res);
	return json_pack("{s:o, s:o, s:o}", "kinds", kinds, "total", total,
	    "oldest_pending_s", oldest);
}

/* ---- the noop kind ------------------------------------------------------ */

static const struct ac_stmt st_noop_count = { "job_noop_count",
	"UPDATE jobs SET payload = jsonb_set(payload, '{runs}',"
	" to_jsonb(COALESCE((payload->>'runs')::int, 0) + 1)) WHERE id = $1", 1 };

enum ac_job_outcome
ac_noop_job(struct ac_db *db, struct ac_job *job)
{
	json_int_t sleep_ms = json_integer_value(json_object_get(job->payload, "sleep_ms"));
	json_int_t retry_until = json_integer_value(json_object_get(job->payload, "retry_until"));
	const char *fail = json_string_value(json_object_get(job->payload, "fail"));

	if (sleep_ms > 0)
		poll(NULL, 0, sleep_ms > 600000 ? 600000 : (int)sleep_ms);
	if (fail != NULL) {
		snprintf(job->error, sizeof(job->error), "%s", fail);
		return AC_JOB_FAIL;
	}
	if (job->attempts < retry_until) {
		snprintf(job->error, sizeof(job->error), "retry until attempt %d",
		    (int)retry_until);
		job->retry_in_ms = json_integer_value(json_object_get(job->payload, "retry_in_ms"));
		return AC_JOB_RETRY;
	}
	if (json_is_true(json_object_get(job->payload, "count"))) {
		char id[24];
		const char *vals[1] = { id };

		snprintf(id, sizeof(id), "%lld", job->id);
		if (!command_ok(db, ac_db_exec(db, &st_noop_count, vals, NULL, NULL))) {
			snprintf(job->error, sizeof(job->error), "count: %s", ac_db_error(db));
			return AC_JOB_RETRY;
		}
	}
	return AC_JOB_DONE;
}

/* ---- the runner --------------------------------------------------------- */

/* What became of a claimed job, known for sure once its group committed. */
enum slot_result { R_OPEN = 0, R_DONE, R_RETRIED, R_DEAD, R_LOST };

struct slot {
	struct ac_job	 job;
	ac_job_handler	 fn;
	enum slot_result result;
	int		 finished;	/* result committed */
};

struct ac_runner {
	struct ac_db		*db;
	char			 id[64];
	const struct ac_job_kind *kinds;
	size_t			 nkinds;
	char			*kinds_lit;	/* "{noop,fanout}" */
	int			 batch;
	int			 lease_s;
	char			*ids;		/* an id-array literal, batch ids long */
	long long		*scratch;	/* ids for one statement, batch long */
	long long		*orphans;	/* unfinished after a database failure */
	size_t			 norphans;
	char			 orphan_err[256];
	uint64_t		 rng;
	struct ac_runner_stats	 stats;
};

struct ac_runner *
ac_runner_new(struct ac_db *db, const char *worker_id, const struct ac_job_kind *kinds,
    size_t nkinds, int batch, int lease_s)
{
	struct ac_runner *r;
	size_t len = 3;

	if (worker_id == NULL || worker_id[0] == '\0' || strlen(worker_id) > 63 ||
	    nkinds == 0 || batch < 1 || batch > 10000 || lease_s < 1)
		return NULL;
	for (size_t i = 0; i < nkinds; i++) {
		size_t n = strlen(kinds[i].kind);

		if (n == 0 || n > 40 || strspn(kinds[i].kind, "abcdefghijklmnopqrstuvwxyz_") != n ||
		    kinds[i].fn == NULL)
			return NULL;
		len += n + 1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->kinds_lit = malloc(len)) == NULL ||
	    (r->ids = malloc((size_t)batch * 21 + 3)) == NULL ||
	    (r->scratch = calloc((size_t)batch, sizeof(*r->scratch))) == NULL ||
	    (r->orphans = calloc((size_t)batch, sizeof(*r->orphans))) == NULL)
		abort();
	r->db = db;
	snprintf(r->id, sizeof(r->id), "%s", worker_id);
	r->kinds = kinds;
	r->nkinds = nkinds;
	r->batch = batch;
	r->lease_s = lease_s;
	strcpy(r->kinds_lit, "{");
	for (size_t i = 0; i < nkinds; i++) {
		if (i > 0)
			strcat(r->kinds_lit, ",");
		strcat(r->kinds_lit, kinds[i].kind);
	}
	strcat(r->kinds_lit, "}");
	r->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)ac_now_ms() ^ 0x9e3779b97f4a7c15ULL;
	return r;
}

void
ac_runner_free(struct ac_runner *r)
{
	if (r == NULL)
		return;
	free(r->kinds_lit);
	free(r->ids);
	free(r->scratch);
	free(r->orphans);
	free(r);
}

const struct ac_runner_stats *
ac_runner_stats(const struct ac_runner *r)
{
	return &r->stats;
}

int64_t
ac_job_backoff_ms(int attempts, uint32_t rnd)
{
	int64_t base = AC_JOB_BACKOFF_CAP_MS;

	if (attempts < 1)
		attempts = 1;
	if (attempts < 22 && ((int64_t)1000 << attempts) < base)
		base = (int64_t)1000 << attempts;
	return base * (80 + (int64_t)(rnd % 41)) / 100;
}

/* xorshift64*: jitter only, not security. */
static uint32_t
runner_rand(struct ac_runner *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return (uint32_t)((r->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* r->ids := "{id,...}" for the n ids; returns r->ids. */
static const char *
ids_literal(struct ac_runner *r, const long long *ids, size_t n)
{
	char *p = r->ids;

	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, i > 0 ? ",%lld" : "%lld", ids[i]);
	strcpy(p, "}");
	return r->ids;
}

static const struct ac_stmt st_claim = { "job_claim",
	"WITH c AS (UPDATE jobs SET state = 'running', locked_by = $1,"
	" locked_until = now() + $2::int * interval '1 second', attempts = attempts + 1,"
	" updated_at = now()"
	" WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= now()"
	" AND kind = ANY ($3::text[]) ORDER BY priority DESC, run_at, id"
	" LIMIT $4 FOR UPDATE SKIP LOCKED)"
	" RETURNING id, kind, payload, attempts, max_attempts, priority, run_at)"
	" SELECT id, kind, payload, attempts, max_attempts FROM c"
	" ORDER BY priority DESC, run_at, id", 4 };

/* Claims (committed) up to r->batch due jobs into *slots (caller frees,
 * with their payloads). Returns how many, or -1 on a database error. */
static int
claim(struct ac_runner *r, struct slot **slots)
{
	char lease[16], batch[16];
	const char *vals[4] = { r->id, lease, r->kinds_lit, batch };
	PGresult *res;
	int n;

	snprintf(lease, sizeof(lease), "%d", r->lease_s);
	snprintf(batch, sizeof(batch), "%d", r->batch);
	res = ac_db_exec(r->db, &st_claim, vals, NULL, NULL);
	if (!ac_db_ok(r->db, res, PGRES_TUPLES_OK))
		return -1;
	if ((n = PQntuples(res)) == 0) {
		PQclear(res);
		return 0;
	}
	if ((*slots = calloc((size_t)n, sizeof(**slots))) == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		struct slot *s = &(*slots)[i];

		s->job.id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(s->job.kind, sizeof(s->job.kind), "%s", PQgetvalue(res, i, 1));
		s->job.payload = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		if (s->job.payload == NULL)
			s->job.payload = json_object();
		s->job.attempts = atoi(PQgetvalue(res, i, 3));
		s->job.max_attempts = atoi(PQgetvalue(res, i, 4));
		for (size_t k = 0; k < r->nkinds; k++)
			if (strcmp(r->kinds[k].kind, s->job.kind) == 0)
				s->fn = r->kinds[k].fn;
	}
	PQclear(res);
	r->stats.claimed += n;
	return n;
}

/* uncount: the attempt never started, so it does not count; otherwise a
 * job on its last attempt goes dead with the error. */
static const struct ac_stmt st_release = { "job_release",
	"UPDATE jobs SET attempts = attempts - CASE WHEN $3::boolean THEN 1 ELSE 0 END,"
	" state = CASE WHEN NOT $3::boolean AND attempts >= max_attempts THEN 'dead' ELSE 'pending' END,"
	" finished_at = CASE WHEN NOT $3::boolean AND attempts >= max_attempts THEN now() END,"
	" last_error = COALESCE($4, last_error), run_at = now(),"
	" locked_by = NULL, locked_until = NULL, updated_at = now()"
	" WHERE id = ANY ($1::bigint[]) AND locked_by = $2 AND state = 'running'", 4 };

/* Gives the n jobs (still leased to r) back to the queue; see st_release.
 * Returns 0, or -1 on a database error. */
static int
release(struct ac_runner *r, const long long *ids, size_t n, int uncount, const char *error)
{
	const char *vals[4] = { ids_literal(r, ids, n), r->id, uncount ? "t" : "f", error };
	PGresult *res = ac_db_exec(r->db, &st_release, vals, NULL, NULL);

	if (!ac_db_ok(r->db, res, PGRES_COMMAND_OK))
		return -1;
	r->stats.released += strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* After a database failure: the batch's unfinished jobs go back now, or,
 * if the database is still away, at the next ac_runner_batch(). */
static void
abandon(struct ac_runner *r, const struct slot *s, int n)
{
	r->norphans = 0;
	for (int i = 0; i < n; i++)
		if (!s[i].finished)
			r->orphans[r->norphans++] = s[i].job.id;
	snprintf(r->orphan_err, sizeof(r->orphan_err), "worker %s: database failure: %s",
	    r->id, ac_db_error(r->db));
	ac_warn("%s; releasing %zu jobs", r->orphan_err, r->norphans);
	if (r->norphans > 0 && release(r, r->orphans, r->norphans, 0, r->orphan_err) == 0)
		r->norphans = 0;
}

static const struct ac_stmt st_extend = { "job_extend",
	"UPDATE jobs SET locked_until = now() + $3::int * interval '1 second'"
	" WHERE id = ANY ($1::bigint[]) AND locked_by = $2 AND state = 'running'", 3 };

/* Renews the lease of the batch's jobs from..n-1. 0, or -1. */
static int
extend(struct ac_runner *r, const struct slot *s, int from, int n)
{
	char lease[16];
	const char *vals[3] = { NULL, r->id, lease };
	size_t k = 0;

	for (int i = from; i < n; i++)
		r->scratch[k++] = s[i].job.id;
	vals[0] = ids_literal(r, r->scratch, k);
	snprintf(lease, sizeof(lease), "%d", r->lease_s);
	return command_ok(r->db, ac_db_exec(r->db, &st_extend, vals, NULL, NULL)) ? 0 : -1;
}

static const struct ac_stmt st_failed = { "job_failed",
	"UPDATE jobs SET"
	" state = CASE WHEN $3::boolean OR attempts >= max_attempts THEN 'dead' ELSE 'pending' END,"
	" run_at = CASE WHEN $3::boolean OR attempts >= max_attempts THEN run_at"
	" ELSE now() + $4::bigint * interval '1 millisecond' END,"
	" finished_at = CASE WHEN $3::boolean OR attempts >= max_attempts THEN now() END,"
	" last_error = $5, locked_by = NULL, locked_until = NULL, updated_at = now()"
	" WHERE id = $1 AND locked_by = $2 AND state = 'running' RETURNING state", 5 };

/* Records a RETRY or FAIL in the open transaction: rescheduled after the
 * backoff, or dead. Sets s->result. 0, or -1 on a database error. */
static int
record_failure(struct ac_runner *r, struct slot *s, enum ac_job_outcome out)
{
	char id[24], delay[24];
	const char *vals[5] = { id, r->id, out == AC_JOB_FAIL ? "t" : "f", delay, s->job.error };
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", s->job.id);
	snprintf(delay, sizeof(delay), "%" PRId64, s->job.retry_in_ms > 0 ? s->job.retry_in_ms :
	    ac_job_backoff_ms(s->job.attempts, runner_rand(r)));
	res = ac_db_exec(r->db, &st_failed, vals, NULL, NULL);
	if (!ac_db_ok(r->db, res, PGRES_TUPLES_OK))
		return -1;
	if (PQntuples(res) == 0)
		s->result = R_LOST;
	else
		s->result = strcmp(PQgetvalue(res, 0, 0), "dead") == 0 ? R_DEAD : R_RETRIED;
	PQclear(res);
	return 0;
}

static const struct ac_stmt st_complete = { "job_complete",
	"UPDATE jobs SET state = 'done', finished_at = now(), updated_at = now(),"
	" locked_by = NULL, locked_until = NULL"
	" WHERE id = ANY ($1::bigint[]) AND locked_by = $2 AND state = 'running'", 2 };

/* Runs s's handler in the open transaction on conn (backend pid). Returns
 * its outcome, or -1 when the transaction is gone (connection lost, or the
 * handler ended it). */
static int
run_one(struct ac_runner *r, struct slot *s, PGconn *conn, int pid)
{
	enum ac_job_outcome out;
	PGconn *now;

	s->job.error[0] = '\0';
	s->job.retry_in_ms = 0;
	if (s->fn == NULL) {
		snprintf(s->job.error, sizeof(s->job.error), "no handler for kind %s", s->job.kind);
		return AC_JOB_FAIL;
	}
	out = s->fn(r->db, &s->job);
	if ((now = ac_db_conn(r->db)) != conn || now == NULL || PQbackendPID(now) != pid) {
		ac_error("worker %s: job %lld (%s): connection lost", r->id, s->job.id, s->job.kind);
		return -1;
	}
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_INTRANS:
		break;
	case PQTRANS_INERROR:
		if (out == AC_JOB_DONE) {
			snprintf(s->job.error, sizeof(s->job.error),
			    "handler returned done in a failed transaction: %s", ac_db_error(r->db));
			out = AC_JOB_RETRY;
		}
		break;
	default:
		ac_error("worker %s: job %lld (%s): the handler ended the runner's transaction",
		    r->id, s->job.id, s->job.kind);
		return -1;
	}
	if (out != AC_JOB_DONE && s->job.error[0] == '\0')
		snprintf(s->job.error, sizeof(s->job.error), "%s", "no reason given");
	return out;
}

/*
 * Runs jobs from..n-1 of the batch in one transaction until the group has
 * taken AC_JOB_GROUP_MS (just one job when single, or once *stop is set),
 * then completes the DONE ones with one statement and commits. Returns
 * the index of the first job not run, or -1 on a database failure (the
 * group rolled back).
 */
static int
run_group(struct ac_runner *r, struct slot *s, int from, int n,
    const volatile sig_atomic_t *stop, int single)
{
	int64_t t0 = ac_mono_ms();
	size_t ndone = 0;
	PGconn *conn;
	int j, pid;

	if (ac_db_begin(r->db) == -1 || (conn = ac_db_conn(r->db)) == NULL)
		return -1;
	pid = PQbackendPID(conn);
	for (j = from; j < n; j++) {
		int out;

		if (j > from && (single || ac_mono_ms() - t0 >= AC_JOB_GROUP_MS ||
		    (stop != NULL && *stop && !s[j].job.started)))
			break;
		s[j].result = R_OPEN;
		if ((out = run_one(r, &s[j], conn, pid)) == -1)
			goto fail;
		if (out == AC_JOB_DONE) {
			s[j].result = R_DONE;
			r->scratch[ndone++] = s[j].job.id;
			continue;
		}
		if (j > from) {
			/* no savepoints (a round trip each): a failure in a
			 * group undoes the group, whose jobs then run alone */
			ac_db_rollback(r->db);
			for (int k = from; k <= j; k++)
				if (run_group(r, s, k, n, stop, 1) == -1)
					return -1;
			return j + 1;
		}
		ac_db_rollback(r->db);
		if (ac_db_begin(r->db) == -1)
			goto fail;
		if (record_failure(r, &s[j], (enum ac_job_outcome)out) == -1)
			goto fail;
	}
	if (ndone > 0) {
		const char *vals[2] = { ids_literal(r, r->scratch, ndone), r->id };
		PGresult *res = ac_db_exec(r->db, &st_complete, vals, NULL, NULL);
		size_t got;

		if (!ac_db_ok(r->db, res, PGRES_COMMAND_OK))
			goto fail;
		got = strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		if (got != ndone) {
			/* another worker took over a job: nothing of this group
			 * may commit; each runs again alone and finds out */
			ac_db_rollback(r->db);
			if (single) {
				s[from].result = R_LOST;
				s[from].finished = 1;
				r->stats.lost++;
				ac_warn("worker %s: job %lld (%s): lease lost; rolled back",
				    r->id, s[from].job.id, s[from].job.kind);
				return from + 1;
			}
			for (int k = from; k < j; k++)
				if (run_group(r, s, k, n, stop, 1) == -1)
					return -1;
			return j;
		}
	}
	if (ac_db_commit(r->db) == -1)
		goto fail;
	for (int k = from; k < j; k++) {
		s[k].finished = 1;
		switch (s[k].result) {
		case R_DONE:
			r->stats.done++;
			break;
		case R_RETRIED:
			r->stats.retried++;
			ac_warn("worker %s: job %lld (%s) attempt %d/%d: %s; retrying",
			    r->id, s[k].job.id, s[k].job.kind, s[k].job.attempts,
			    s[k].job.max_attempts, s[k].job.error);
			break;
		case R_DEAD:
			r->stats.dead++;
			ac_error("worker %s: job %lld (%s) dead after attempt %d/%d: %s",
			    r->id, s[k].job.id, s[k].job.kind, s[k].job.attempts,
			    s[k].job.max_attempts, s[k].job.error);
			break;
		case R_LOST:
			r->stats.lost++;
			ac_warn("worker %s: job %lld (%s): lease lost", r->id, s[k].job.id,
			    s[k].job.kind);
			break;
		case R_OPEN:
			break;
		}
	}
	return j;
fail:
	ac_db_rollback(r->db);
	return -1;
}

/* Gives each kind with a batch handler its jobs of the batch (no
 * transaction is open), then moves the started ones to the front,
 * keeping the order, so a stop puts back only unstarted jobs. */
static void
prepare(struct ac_runner *r, struct slot *s, int n, const volatile sig_atomic_t *stop)
{
	struct ac_job **jobs = NULL;
	struct slot *sorted;
	int k = 0, any = 0;

	for (size_t kd = 0; kd < r->nkinds; kd++) {
		size_t m = 0;

		if (r->kinds[kd].batch_fn == NULL)
			continue;
		if (jobs == NULL && (jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
			abort();
		for (int i = 0; i < n; i++)
			if (strcmp(s[i].job.kind, r->kinds[kd].kind) == 0)
				jobs[m++] = &s[i].job;
		if (m > 0) {
			r->kinds[kd].batch_fn(r->db, jobs, m, stop);
			any = 1;
		}
	}
	free(jobs);
	if (!any)
		return;
	if ((sorted = calloc((size_t)n, sizeof(*sorted))) == NULL)
		abort();
	for (int pass = 1; pass >= 0; pass--)
		for (int i = 0; i < n; i++)
			if ((s[i].job.started != 0) == pass)
				sorted[k++] = s[i];
	memcpy(s, sorted, (size_t)n * sizeof(*s));
	free(sorted);
}

int
ac_runner_batch(struct ac_runner *r, const volatile sig_atomic_t *stop)
{
	struct slot *s = NULL;
	int64_t leased_at;
	int n, i, rc;

	if (r->norphans > 0) {
		if (release(r, r->orphans, r->norphans, 0, r->orphan_err) == -1)
			return -1;
		r->norphans = 0;
	}
	if ((n = claim(r, &s)) <= 0)
		return n;
	prepare(r, s, n, stop);
	leased_at = ac_mono_ms();
	for (i = 0, rc = n; i < n; ) {
		int next;

		if (stop != NULL && *stop && !s[i].job.started) {
			size_t k = 0;

			for (int j = i; j < n; j++)
				r->scratch[k++] = s[j].job.id;
			if (release(r, r->scratch, k, 1, NULL) == -1)
				rc = -1;
			break;
		}
		if (ac_mono_ms() - leased_at >= (int64_t)r->lease_s * 1000 / 3) {
			if (extend(r, s, i, n) == -1) {
				abandon(r, s, n);
				rc = -1;
				break;
			}
			leased_at = ac_mono_ms();
		}
		if ((next = run_group(r, s, i, n, stop, 0)) == -1) {
			abandon(r, s, n);
			rc = -1;
			break;
		}
		i = next;
	}
	for (int j = 0; j < n; j++) {
		json_decref(s[j].job.payload);
		if (s[j].job.result_free != NULL)
			s[j].job.result_free(s[j].job.result);
	}
	free(s);
	return rc;
}

static const struct ac_stmt st_prune = { "housekeep",
	"WITH j AS (DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done'"
	"  AND finished_at < now() - make_interval(days => $1::int)"
	"  ORDER BY finished_at LIMIT $2::int) RETURNING 1),"
	" s AS (DELETE FROM sessions WHERE expires_at < now() - interval '1 day' RETURNING 1),"
	" r AS (DELETE FROM password_resets WHERE expires_at < now() - interval '1 day' RETURNING 1),"
	" e AS (DELETE FROM email_confirmations WHERE expires_at < now() - interval '1 day'"
	"  RETURNING 1),"
	" c AS (DELETE FROM telegram_link_codes WHERE expires_at < now() - interval '1 day'"
	"  RETURNING 1),"
	/* a day past any re-send's window (lib/alert/ingest.c) */
	" d AS (DELETE FROM signal_dedup WHERE event_ms < (extract(epoch FROM now()) - 86400) * 1000"
	"  RETURNING 1),"
	/* the daily cap reads only a user's today (sql/021_daily_signals.sql)
	 * and a recount rewrites yesterday and today: days two before today
	 * in UTC are past in every time zone */
	" n AS (DELETE FROM daily_signals WHERE (user_id, day) IN (SELECT user_id, day"
	"  FROM daily_signals WHERE day < (now() AT TIME ZONE 'UTC')::date - 2"
	"  LIMIT $2::int) RETURNING 1)"
	" SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM s),"
	" (SELECT count(*) FROM r) + (SELECT count(*) FROM e),"
	" (SELECT count(*) FROM c), (SELECT count(*) FROM d), (SELECT count(*) FROM n)", 2 };

long long
ac_housekeep(struct ac_db *db, int keep_days, int limit)
{
	char days[16], lim[16];
	const char *vals[2] = { days, lim };
	long long n[6], total = 0;
	PGresult *res;

	snprintf(days, sizeof(days), "%d", keep_days);
	snprintf(lim, sizeof(lim), "%d", limit);
	res = ac_db_exec(db, &st_prune, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_warn("housekeeping: %s", ac_db_error(db));
		return -1;
	}
	for (int i = 0; i < 6; i++)
		total += n[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
	PQclear(res);
	if (total > 0)
		ac_info("housekeeping: deleted %lld done jobs older than %d days, %lld sessions,"
		    " %lld reset and confirmation links, %lld link codes (expired), %lld duplicate"
		    " windows (a day old), %lld daily counts (past days)", n[0], keep_days, n[1],
		    n[2], n[3], n[4], n[5]);
	return total;
}

static const struct ac_stmt st_rescue = { "job_rescue",
	"UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,"
	" finished_at = CASE WHEN attempts >= max_attempts THEN now() END,"
	" last_error = CASE WHEN locked_until < now() THEN 'lease expired'"
	" ELSE 'lease dropped: worker ' || COALESCE(locked_by, '?') || ' disconnected' END,"
	" run_at = now(), locked_by = NULL, locked_until = NULL, updated_at = now()"
	" WHERE state = 'running' AND (locked_until < now() OR locked_by IS NULL"
	" OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = jobs.locked_by))", 0 };

long long
ac_jobs_rescue(struct ac_db *db)
{
	PGresult *res = ac_db_exec(db, &st_rescue, NULL, NULL, NULL);
	long long n;

	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_warn("rescue: %s", ac_db_error(db));
		return -1;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n > 0)
		ac_warn("rescued %lld jobs from expired leases or vanished workers", n);
	return n;
}

static const struct ac_stmt st_heartbeat = { "jobs_heartbeat",
	"INSERT INTO worker_heartbeats (host, seen_at) VALUES (split_part($1, ':', 1), now())"
	" ON CONFLICT (host) DO UPDATE SET seen_at = excluded.seen_at", 1 };

int
ac_jobs_heartbeat(struct ac_db *db, const char *id)
{
	const char *vals[1] = { id };
	PGresult *res = ac_db_exec(db, &st_heartbeat, vals, NULL, NULL);

	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_warn("heartbeat: %s", ac_db_error(db));
		return -1;
	}
	PQclear(res);
	return 0;
}
