/*
 * test_jobs.c — the job runner against a real PostgreSQL, through the real
 * ac-worker and acctl binaries: retries and backoff, dead jobs, revival,
 * scheduling, unique keys, lease rescue after kill -9, LISTEN/NOTIFY
 * latency, SIGTERM, PostgreSQL restarts, and 4 workers draining 10,000
 * jobs with each done exactly once.
 *
 * Jobs are of kind noop, whose payload asks for sleeps, retries, failures
 * or a run counter (lib/work/jobs.h). Each test starts by deleting the noop
 * jobs, so the tests share the database with other suites.
 *
 * Environment: AC_DATABASE_URL; AC_TEST_ACCTL (acctl); AC_TEST_WORKER, or
 * ac-worker beside acctl; AC_TEST_OUT for the workers' logs;
 * AC_TEST_PG_STOP and AC_TEST_PG_START for the restart test (skipped
 * without them).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/syscall.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/db.h"
#include "work/jobs.h"
#include "base/util.h"

static PGconn	*pg;
static pid_t	 kids[16];	/* workers a failed test may have left running */
static char	 acctl[1024], worker[1024], outdir[1024];

/* ---- helpers ---------------------------------------------------------- */

/* Runs sql (with text parameters) and fails the test unless it worked;
 * the caller PQclear()s. */
static PGresult *
sqlv(const char *sql, int n, const char *const *vals)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	return res;
}

/* The first column of the first row of sql as an integer (0 if NULL). */
static long long
num(const char *sql)
{
	PGresult *res = sqlv(sql, 0, NULL);
	long long v;

	assert_int_equal(PQntuples(res), 1);
	v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* The same as text, copied into buf. */
static const char *
text(const char *sql, char *buf, size_t sz)
{
	PGresult *res = sqlv(sql, 0, NULL);

	assert_int_equal(PQntuples(res), 1);
	snprintf(buf, sz, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return buf;
}

static void
exec_sql(const char *sql)
{
	PQclear(sqlv(sql, 0, NULL));
}

/* Waits up to ms for sql to answer true. Returns 1 if it did. */
static int
wait_for(const char *sql, int ms)
{
	int64_t end = ac_mono_ms() + ms;

	do {
		char b[8];

		if (strcmp(text(sql, b, sizeof(b)), "t") == 0)
			return 1;
		usleep(5000);
	} while (ac_mono_ms() < end);
	return 0;
}

/* Starts argv (NULL-terminated) with stdout to out (NULL: /dev/null) and
 * stderr to log (NULL: inherited). Returns the pid. */
static pid_t
spawn(char *const argv[], const char *out, const char *log)
{
	pid_t pid = fork();

	assert_true(pid != -1);
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		if (log != NULL) {
			fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to ms for pid; its exit status, or -1 if it was still running
 * (then it is killed) or died of a signal. */
static int
reap(pid_t pid, int ms)
{
	int64_t end = ac_mono_ms() + ms;
	int st;

	for (int i = 0; i < 16; i++)
		if (kids[i] == pid)
			kids[i] = 0;
	for (;;) {
		pid_t got = waitpid(pid, &st, WNOHANG);

		if (got == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (ac_mono_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(5000);
	}
}

/* A log file for name under AC_TEST_OUT. */
static const char *
logpath(const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/test_jobs-%s.log", outdir, name);
	return buf;
}

/* Runs ac-worker with the args (NULL-terminated) to completion; its exit status. */
static int
run_worker(const char *name, ...)
{
	char *argv[16], logb[1200];
	va_list ap;
	int n = 0;

	argv[n++] = worker;
	va_start(ap, name);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return reap(spawn(argv, NULL, logpath(name, logb, sizeof(logb))), 60000);
}

/* Starts ac-worker with the args in the background; its pid. */
static pid_t
start_worker(const char *name, ...)
{
	char *argv[16], logb[1200];
	va_list ap;
	int n = 0;

	argv[n++] = worker;
	va_start(ap, name);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	for (n = 0; n < 16; n++)
		if (kids[n] == 0)
			return kids[n] = spawn(argv, NULL, logpath(name, logb, sizeof(logb)));
	fail_msg("too many workers");
	return -1;
}

/* Runs acctl with the args; returns its exit status and, in *out, its
 * stdout parsed as JSON (NULL if not JSON; the caller decrefs). */
static int
run_acctl(json_t **out, ...)
{
	char *argv[16], path[1200], logb[1200];
	va_list ap;
	int n = 0, rc;

	argv[n++] = acctl;
	va_start(ap, out);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/test_jobs-acctl.out", outdir);
	rc = reap(spawn(argv, path, logpath("acctl", logb, sizeof(logb))), 30000);
	if (out != NULL)
		*out = json_load_file(path, 0, NULL);
	return rc;
}

/* The "done N" a worker printed at exit in its log, summed over the log. */
static long long
logged_done(const char *name)
{
	char logb[1200], line[4096];
	long long sum = 0;
	FILE *f = fopen(logpath(name, logb, sizeof(logb)), "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, ", done ");

		if (strstr(line, "exit ") != NULL && p != NULL)
			sum += strtoll(p + 7, NULL, 10);
	}
	fclose(f);
	return sum;
}

static int
setup(void **state)
{
	exec_sql("DELETE FROM jobs WHERE kind = 'noop'");
	return 0;
}

/* Stops what a failed test left running. */
static int
teardown(void **state)
{
	for (int i = 0; i < 16; i++)
		if (kids[i] != 0)
			reap(kids[i], 0);
	return 0;
}

/* ---- retries, dead jobs, revival -------------------------------------- */

static void
test_retry_backoff_then_done(void **state)
{
	char b[64];
	pid_t w;

	exec_sql("INSERT INTO jobs (kind, payload) VALUES"
	    " ('noop', '{\"retry_until\": 3, \"retry_in_ms\": 100, \"tag\": \"fast\"}'),"
	    " ('noop', '{\"retry_until\": 2, \"tag\": \"backoff\"}')");
	assert_int_equal(run_worker("retry", "--once", NULL), 0);
	/* the runner's own backoff after attempt 1: 2 s +-20 % */
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE payload->>'tag' = 'backoff'"
	    " AND state = 'pending' AND attempts = 1"
	    " AND run_at - updated_at BETWEEN interval '1.6 s' AND interval '2.4 s'"
	    " AND last_error = 'retry until attempt 2' AND locked_by IS NULL"), 1);
	/* the handler's retry_in_ms, three attempts; the backoff job when due */
	w = start_worker("retry", "--for", "20", NULL);
	assert_true(wait_for("SELECT count(*) = 2 FROM jobs WHERE kind = 'noop' AND state = 'done'", 6000));
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
	assert_string_equal(text("SELECT state || '/' || attempts || '/' || last_error FROM jobs"
	    " WHERE payload->>'tag' = 'fast'", b, sizeof(b)), "done/3/retry until attempt 3");
	assert_string_equal(text("SELECT state || '/' || attempts FROM jobs"
	    " WHERE payload->>'tag' = 'backoff'", b, sizeof(b)), "done/2");
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND finished_at IS NOT NULL"
	    " AND locked_by IS NULL AND locked_until IS NULL"), 2);
}

static void
test_dead_after_max_attempts(void **state)
{
	char b[128];
	pid_t w;

	exec_sql("INSERT INTO jobs (kind, payload, max_attempts) VALUES"
	    " ('noop', '{\"retry_until\": 100, \"retry_in_ms\": 1}', 3)");
	w = start_worker("dead", "--for", "20", NULL);
	assert_true(wait_for("SELECT count(*) = 1 FROM jobs WHERE kind = 'noop' AND state = 'dead'", 10000));
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
	assert_string_equal(text("SELECT state || '/' || attempts || '/' || last_error ||"
	    " '/' || (finished_at IS NOT NULL) FROM jobs WHERE kind = 'noop'", b, sizeof(b)),
	    "dead/3/retry until attempt 100/true");
}

static void
test_fail_dead_at_once_and_acctl_retry(void **state)
{
	char b[128], id[32], bad[32];
	json_t *o = NULL, *noop;

	exec_sql("INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"fail\": \"bad input\"}'),"
	    " ('noop', '{}')");
	assert_int_equal(run_worker("fail", "--once", NULL), 0);
	assert_string_equal(text("SELECT state || '/' || attempts || '/' || max_attempts || '/' ||"
	    " last_error FROM jobs WHERE payload ? 'fail'", b, sizeof(b)), "dead/1/20/bad input");

	/* acctl jobs counts it */
	assert_int_equal(run_acctl(&o, "jobs", NULL), 0);
	assert_non_null(o);
	noop = json_object_get(json_object_get(o, "kinds"), "noop");
	assert_int_equal(json_integer_value(json_object_get(noop, "dead")), 1);
	assert_int_equal(json_integer_value(json_object_get(noop, "done")), 1);
	assert_null(json_object_get(noop, "pending"));
	assert_true(json_integer_value(json_object_get(json_object_get(o, "total"), "dead")) >= 1);
	json_decref(o);

	/* not dead: refused; unknown: refused; dead: revived */
	text("SELECT id FROM jobs WHERE kind = 'noop' AND NOT payload ? 'fail'", bad, sizeof(bad));
	assert_int_equal(run_acctl(&o, "jobs", "retry", bad, NULL), 1);
	json_decref(o);
	assert_int_equal(run_acctl(&o, "jobs", "retry", "999999999", NULL), 1);
	json_decref(o);
	assert_int_equal(run_acctl(&o, "jobs", "retry", "x1", NULL), 1);
	json_decref(o);
	text("SELECT id FROM jobs WHERE payload ? 'fail'", id, sizeof(id));
	assert_int_equal(run_acctl(&o, "jobs", "retry", id, NULL), 0);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "pending");
	assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 0);
	assert_string_equal(json_string_value(json_object_get(o, "last_error")), "bad input");
	json_decref(o);
	assert_string_equal(text("SELECT state || '/' || attempts || '/' || (finished_at IS NULL)"
	    " FROM jobs WHERE payload ? 'fail'", b, sizeof(b)), "pending/0/true");

	/* fixed, it runs */
	exec_sql("UPDATE jobs SET payload = '{\"fixed\": true}' WHERE payload ? 'fail'");
	assert_int_equal(run_worker("fail", "--once", NULL), 0);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE payload ? 'fixed' AND state = 'done'"
	    " AND attempts = 1"), 1);
}

/* ---- scheduling and unique keys --------------------------------------- */

static void
test_run_at_respected(void **state)
{
	json_t *o = NULL;
	pid_t w;

	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--run-in", "2",
	    "--count", "3", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 3);
	json_decref(o);
	assert_int_equal(run_worker("runat", "--once", NULL), 0);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'pending'"
	    " AND attempts = 0"), 3);
	/* a listening worker picks them up when due, without a notification */
	w = start_worker("runat", "--for", "6", NULL);
	assert_true(wait_for("SELECT count(*) = 3 FROM jobs WHERE kind = 'noop' AND state = 'done'", 5000));
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND finished_at >= run_at"
	    " AND finished_at < run_at + interval '1.5 s' AND run_at >= created_at + interval '2 s'"), 3);
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
}

static void
test_unique_key(void **state)
{
	json_t *o = NULL;
	struct ac_db *db;

	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--unique-key",
	    "test:once", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 1);
	json_decref(o);
	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--unique-key",
	    "test:once", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 0);
	json_decref(o);
	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--unique-key",
	    "test:many", "--count", "3", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 3);
	json_decref(o);
	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--unique-key",
	    "test:many", "--count", "4", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 1);
	json_decref(o);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop'"
	    " AND unique_key IN ('test:once', 'test:many:1', 'test:many:2', 'test:many:3',"
	    " 'test:many:4')"), 5);

	/* the library call, and a key that stays taken once the job is done */
	db = ac_db_new(getenv("AC_DATABASE_URL"), "test_jobs", 5, 0);
	assert_int_equal(ac_job_enqueue(db, "noop", NULL, "test:lib", 0, 5, 2), 1);
	assert_int_equal(ac_job_enqueue(db, "noop", NULL, "test:lib", 0, 5, 2), 0);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE unique_key = 'test:lib'"
	    " AND priority = 5 AND max_attempts = 2"), 1);
	assert_int_equal(run_worker("unique", "--once", NULL), 0);
	assert_int_equal(ac_job_enqueue(db, "noop", NULL, "test:lib", 0, 0, 0), 0);
	assert_int_equal(ac_job_enqueue(db, "Bad kind", NULL, NULL, 0, 0, 0), -1);
	ac_db_free(db);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'done'"), 6);
}

/* ---- leases --------------------------------------------------------------- */

static void
test_rescue_after_kill9(void **state)
{
	char b[256];
	pid_t w;

	exec_sql("INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"sleep_ms\": 30000}')");
	w = start_worker("kill9", "--for", "60", "--id", "test-kill9", "--lease", "300", NULL);
	assert_true(wait_for("SELECT count(*) = 1 FROM jobs WHERE kind = 'noop' AND state = 'running'"
	    " AND locked_by = 'test-kill9' AND attempts = 1", 5000));
	kill(w, SIGKILL);
	assert_int_equal(reap(w, 5000), -1);
	/* the lease has 300 s to go; the worker's session is what is gone */
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'running'"
	    " AND locked_until > now() + interval '200 s'"), 1);
	assert_true(wait_for("SELECT count(*) = 0 FROM pg_stat_activity"
	    " WHERE application_name = 'test-kill9'", 5000));
	exec_sql("UPDATE jobs SET payload = '{}' WHERE kind = 'noop'");
	assert_int_equal(run_worker("kill9", "--once", NULL), 0);
	assert_string_equal(text("SELECT state || '/' || attempts || '/' || last_error FROM jobs"
	    " WHERE kind = 'noop'", b, sizeof(b)),
	    "done/2/lease dropped: worker test-kill9 disconnected");
}

static void
test_rescue_expired_lease(void **state)
{
	struct ac_db *db;
	PGresult *res;
	char b[128];

	/* this connection plays a live but stuck worker */
	res = sqlv("SET application_name = 'test-stuck'", 0, NULL);
	PQclear(res);
	exec_sql("INSERT INTO jobs (kind, payload, state, attempts, max_attempts, locked_by,"
	    " locked_until) VALUES"
	    " ('noop', '{\"n\": 1}', 'running', 1, 5, 'test-stuck', now() - interval '1 s'),"
	    " ('noop', '{\"n\": 2}', 'running', 5, 5, 'test-stuck', now() - interval '1 s'),"
	    " ('noop', '{\"n\": 3}', 'running', 1, 5, 'test-stuck', now() + interval '1 h')");
	db = ac_db_new(getenv("AC_DATABASE_URL"), "test_jobs", 5, 0);
	assert_int_equal(ac_jobs_rescue(db), 2);
	ac_db_free(db);
	assert_string_equal(text("SELECT string_agg(state || '/' || attempts || '/' ||"
	    " COALESCE(last_error, '-'), ' ' ORDER BY payload->>'n') FROM jobs WHERE kind = 'noop'",
	    b, sizeof(b)), "pending/1/lease expired dead/5/lease expired running/1/-");
	/* a worker runs the rescued one and leaves the live lease alone */
	assert_int_equal(run_worker("expired", "--once", NULL), 0);
	assert_string_equal(text("SELECT string_agg(state || '/' || attempts, ' '"
	    " ORDER BY payload->>'n') FROM jobs WHERE kind = 'noop'", b, sizeof(b)),
	    "done/2 dead/5 running/1");
	PQclear(sqlv("RESET application_name", 0, NULL));
}

/* ---- waking up, stopping, surviving ------------------------------------- */

/* An idle worker is woken by the notification, not by its wait running
 * out: with a one-minute wait, each job is done within two seconds (a
 * missed notification would leave it a minute; timings are bench/'s). */
static void
test_notify_latency(void **state)
{
	int64_t worst = 0;
	pid_t w;

	setenv("AC_WORKER_IDLE_WAIT_MS", "60000", 1);
	w = start_worker("notify", "--for", "30", "--id", "test-notify", NULL);
	unsetenv("AC_WORKER_IDLE_WAIT_MS");
	/* listening: connected and idle after its first drain */
	assert_true(wait_for("SELECT count(*) = 1 FROM pg_stat_activity"
	    " WHERE application_name = 'test-notify' AND state = 'idle'", 5000));
	for (int i = 0; i < 2; i++) {
		int64_t t0;

		/* past the quick polling that follows activity (FAST_WINDOW_MS) */
		usleep(2200000);
		t0 = ac_mono_ms();
		exec_sql("WITH j AS (INSERT INTO jobs (kind) VALUES ('noop') RETURNING id)"
		    " SELECT pg_notify('ac_jobs', 'noop') FROM j");
		assert_true(wait_for("SELECT count(*) = 0 FROM jobs WHERE kind = 'noop'"
		    " AND state <> 'done'", 2000));
		if (ac_mono_ms() - t0 > worst)
			worst = ac_mono_ms() - t0;
	}
	print_message("notify to done: worst %lld ms of 2\n", (long long)worst);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'done'"
	    " AND finished_at - created_at < interval '2 s'"), 2);
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
}

/* A worker woken by a notification claims before its periodic work: the
 * rescuer (every 5 s) falls due while it is stopped, a job comes, and the
 * job is done before the worker's next heartbeat, which follows once it is
 * idle again. Run first, the rescuer delayed one alert in five. */
/* 1 if process pid is in poll() or ppoll() (/proc/PID/syscall). */
static int
in_poll(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
#ifdef SYS_ppoll
	if (nr == SYS_ppoll)
		return 1;
#endif
#ifdef SYS_poll
	if (nr == SYS_poll)
		return 1;
#endif
	return 0;
}

static void
test_woken_claims_first(void **state)
{
	pid_t w;
	int tries;

	exec_sql("DELETE FROM worker_heartbeats WHERE host = 'test-woken'");
	w = start_worker("woken", "--for", "30", "--id", "test-woken", NULL);
	assert_true(wait_for("SELECT count(*) = 1 FROM worker_heartbeats"
	    " WHERE host = 'test-woken'", 5000));
	/* stopped in its wait (poll), not in a claim that would find nothing
	 * and let the rescuer run, rightly, before it waits */
	for (tries = 0; tries < 200; tries++) {
		assert_int_equal(kill(w, SIGSTOP), 0);
		usleep(20000);
		if (in_poll(w))
			break;
		assert_int_equal(kill(w, SIGCONT), 0);
		usleep(7000);
	}
	assert_true(tries < 200);
	/* the rescuer comes due 5 s after the first heartbeat: stopped past that */
	assert_true(wait_for("SELECT now() - seen_at > interval '5.5 s' FROM worker_heartbeats"
	    " WHERE host = 'test-woken'", 8000));
	exec_sql("WITH j AS (INSERT INTO jobs (kind) VALUES ('noop') RETURNING id)"
	    " SELECT pg_notify('ac_jobs', 'noop') FROM j");
	usleep(100000);
	assert_int_equal(kill(w, SIGCONT), 0);
	assert_true(wait_for("SELECT count(*) = 0 FROM jobs WHERE kind = 'noop'"
	    " AND state <> 'done'", 2000));
	/* then, idle, the rescuer and its heartbeat */
	assert_true(wait_for("SELECT h.seen_at > j.finished_at FROM worker_heartbeats h, jobs j"
	    " WHERE h.host = 'test-woken' AND j.kind = 'noop'", 3000));
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
}

static void
test_sigterm_finishes_batch(void **state)
{
	json_t *o = NULL;
	int64_t t0;
	pid_t w;

	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--payload",
	    "{\"sleep_ms\": 200}", "--count", "30", NULL), 0);
	json_decref(o);
	w = start_worker("sigterm", "--for", "60", "--batch", "10", NULL);
	assert_true(wait_for("SELECT count(*) >= 2 FROM jobs WHERE kind = 'noop'"
	    " AND state = 'done'", 10000));
	t0 = ac_mono_ms();
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
	assert_true(ac_mono_ms() - t0 < 1000);
	/* nothing left running: done once, or back in the queue uncounted */
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'running'"), 0);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND"
	    " ((state = 'done' AND attempts = 1) OR (state = 'pending' AND attempts = 0"
	    " AND locked_by IS NULL))"), 30);
	assert_true(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'pending'") > 0);
	assert_int_equal(logged_done("sigterm"),
	    num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'done'"));
}

static void
test_survives_postgres_restart(void **state)
{
	const char *stop = getenv("AC_TEST_PG_STOP"), *start = getenv("AC_TEST_PG_START");
	pid_t w;

	if (stop == NULL || start == NULL) {
		print_message("AC_TEST_PG_STOP/START unset: restart not tested\n");
		skip();
	}
	w = start_worker("restart", "--for", "40", NULL);
	exec_sql("INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"n\": 1}')");
	assert_true(wait_for("SELECT count(*) = 1 FROM jobs WHERE kind = 'noop' AND state = 'done'", 3000));
	PQfinish(pg);
	pg = NULL;
	assert_int_equal(system(stop), 0);
	sleep(2);
	assert_int_equal(system(start), 0);
	pg = PQconnectdb(getenv("AC_DATABASE_URL"));
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	/* the worker is still there and, back from its backoff, runs new work */
	assert_int_equal(waitpid(w, NULL, WNOHANG), 0);
	exec_sql("INSERT INTO jobs (kind, payload) VALUES ('noop', '{\"n\": 2}')");
	assert_true(wait_for("SELECT count(*) = 2 FROM jobs WHERE kind = 'noop' AND state = 'done'", 20000));
	kill(w, SIGTERM);
	assert_int_equal(reap(w, 5000), 0);
}

/* ---- concurrency ---------------------------------------------------------- */

static void
test_four_workers_10000_jobs(void **state)
{
	char name[16], logb[1200];
	json_t *o = NULL;
	pid_t w[4];
	long long sum = 0, busy = 0;

	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--payload",
	    "{\"count\": true}", "--count", "10000", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 10000);
	json_decref(o);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "conc%d", i);
		unlink(logpath(name, logb, sizeof(logb)));
		w[i] = start_worker(name, "--for", "120", "--batch", "50", NULL);
	}
	assert_true(wait_for("SELECT count(*) = 10000 FROM jobs WHERE kind = 'noop'"
	    " AND state = 'done'", 90000));
	for (int i = 0; i < 4; i++) {
		kill(w[i], SIGTERM);
		assert_int_equal(reap(w[i], 5000), 0);
	}
	/* claimed once, run once, its effect committed once */
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'done'"
	    " AND attempts = 1 AND payload->>'runs' = '1' AND locked_by IS NULL"
	    " AND finished_at IS NOT NULL"), 10000);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop'"), 10000);
	for (int i = 0; i < 4; i++) {
		long long n;

		snprintf(name, sizeof(name), "conc%d", i);
		n = logged_done(name);
		sum += n;
		busy += n > 0;
	}
	assert_int_equal(sum, 10000);
	assert_true(busy >= 2);
}

/* Workers on four hosts (--id: what each host's unit or crontab names it)
 * drain one queue; one host dies (SIGKILL) with jobs in hand. Every job
 * is done, its effect committed once (the runs counter), the dead host's
 * jobs taken back by a live worker's rescuer (its session gone) and run
 * again, and the live hosts share the work. */
static void
test_worker_hosts(void **state)
{
	static const char *const hosts[] = { "host-a", "host-b", "host-c", "host-d" };
	char name[32], logb[1200];
	json_t *o = NULL;
	pid_t w[4];
	long long share[4] = { 0 }, sum = 0, held;

	(void)state;
	assert_int_equal(run_acctl(&o, "jobs", "enqueue", "--kind", "noop", "--payload",
	    "{\"count\": true, \"sleep_ms\": 4}", "--count", "2000", NULL), 0);
	json_decref(o);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "hosts-%s", hosts[i]);
		unlink(logpath(name, logb, sizeof(logb)));
		w[i] = start_worker(name, "--for", "120", "--batch", "20", "--id", hosts[i],
		    "--lease", "300", NULL);
	}
	assert_true(wait_for("SELECT count(*) > 0 FROM jobs WHERE kind = 'noop'"
	    " AND state = 'running' AND locked_by = 'host-c'", 20000));
	kill(w[2], SIGKILL);
	assert_int_equal(reap(w[2], 5000), -1);
	held = num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND ((state = 'running'"
	    " AND locked_by = 'host-c')"	/* or taken back already */
	    " OR last_error = 'lease dropped: worker host-c disconnected')");
	assert_true(held > 0);
	assert_true(wait_for("SELECT count(*) = 2000 FROM jobs WHERE kind = 'noop'"
	    " AND state = 'done'", 90000));
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		kill(w[i], SIGTERM);
		assert_int_equal(reap(w[i], 5000), 0);
	}
	/* each job's effect once, the dead host's second try its last */
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND state = 'done'"
	    " AND payload->>'runs' = '1'"), 2000);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND attempts = 2"
	    " AND last_error = 'lease dropped: worker host-c disconnected'"), held);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE kind = 'noop' AND attempts > 2"), 0);
	/* the live hosts shared the rest: none did less than a sixth of it */
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		snprintf(name, sizeof(name), "hosts-%s", hosts[i]);
		share[i] = logged_done(name);
		sum += share[i];
	}
	for (int i = 0; i < 4; i++)
		if (i != 2 && share[i] * 6 < sum)
			fail_msg("%s did %lld of %lld jobs", hosts[i], share[i], sum);
}

/* Housekeeping at a worker's start: done jobs older than AC_JOBS_KEEP_DAYS
 * (7) go, recent and dead ones stay; expired sessions and codes go; the
 * daily cap's counts of past days go, yesterday's and today's stay. */
static void
test_housekeeping(void **state)
{
	long long user;
	char su[24];
	PGresult *res;

	exec_sql("INSERT INTO jobs (kind, payload, state, finished_at, unique_key) VALUES"
	    " ('noop', '{}', 'done', now() - interval '8 days', 'hk:old:1'),"
	    " ('noop', '{}', 'done', now() - interval '30 days', 'hk:old:2'),"
	    " ('noop', '{}', 'done', now() - interval '6 days', 'hk:recent'),"
	    " ('noop', '{}', 'dead', now() - interval '30 days', 'hk:dead')");
	user = num("INSERT INTO users (email, password_hash) VALUES"
	    " ('hk.' || md5(random()::text) || '@example.com', 'x') RETURNING id");
	snprintf(su, sizeof(su), "%lld", user);
	PQclear(sqlv("INSERT INTO sessions (token_hash, user_id, csrf_secret, created_at,"
	    " expires_at, last_seen_at) VALUES (sha256(('hk-old-' || $1)::bytea), $1::bigint,"
	    " repeat('c', 32), now() - interval '3 days', now() - interval '2 days',"
	    " now() - interval '2 days'), (sha256(('hk-new-' || $1)::bytea), $1::bigint,"
	    " repeat('c', 32), now(), now() + interval '1 hour', now())", 1,
	    (const char *[]){ su }));
	PQclear(sqlv("INSERT INTO daily_signals (user_id, day, signals) SELECT $1::bigint,"
	    " (now() AT TIME ZONE 'UTC')::date + d, 3 FROM generate_series(-40, 0) d", 1,
	    (const char *[]){ su }));
	assert_int_equal(run_worker("housekeep", "--once", NULL), 0);
	res = sqlv("SELECT count(*), min(day) = (now() AT TIME ZONE 'UTC')::date - 2"
	    " FROM daily_signals WHERE user_id = $1::bigint", 1, (const char *[]){ su });
	assert_string_equal(PQgetvalue(res, 0, 0), "3");	/* today, yesterday, the day before */
	assert_string_equal(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE unique_key LIKE 'hk:old:%'"), 0);
	assert_int_equal(num("SELECT count(*) FROM jobs WHERE unique_key IN ('hk:recent',"
	    " 'hk:dead')"), 2);
	res = sqlv("SELECT count(*), count(*) FILTER (WHERE expires_at > now()) FROM sessions"
	    " WHERE user_id = $1::bigint", 1, (const char *[]){ su });
	assert_string_equal(PQgetvalue(res, 0, 0), "1");
	assert_string_equal(PQgetvalue(res, 0, 1), "1");
	PQclear(res);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry_backoff_then_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_after_max_attempts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_dead_at_once_and_acctl_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_at_respected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescue_after_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescue_expired_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_latency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_woken_claims_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_finishes_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_workers_10000_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_postgres_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_housekeeping, setup, teardown),
	};
	const char *url = getenv("AC_DATABASE_URL"), *a = getenv("AC_TEST_ACCTL");
	const char *w = getenv("AC_TEST_WORKER"), *out = getenv("AC_TEST_OUT");
	int rc;

	if (url == NULL || a == NULL) {
		fprintf(stderr, "test_jobs: AC_DATABASE_URL and AC_TEST_ACCTL are required"
		    " (t/integration/run sets them)\n");
		return 1;
	}
	snprintf(acctl, sizeof(acctl), "%s", a);
	if (w != NULL)
		snprintf(worker, sizeof(worker), "%s", w);
	else
		snprintf(worker, sizeof(worker), "%.*s/ac-worker",
		    (int)(strrchr(a, '/') ? strrchr(a, '/') - a : 1), strrchr(a, '/') ? a : ".");
	snprintf(outdir, sizeof(outdir), "%s", out ? out : "/tmp");
	if (access(worker, X_OK) != 0) {
		fprintf(stderr, "test_jobs: no ac-worker at %s (set AC_TEST_WORKER)\n", worker);
		return 1;
	}
	pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "test_jobs: %s", PQerrorMessage(pg));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		PQfinish(pg);
		pg = PQconnectdb(url);
	}
	exec_sql("DELETE FROM jobs WHERE kind = 'noop'");
	PQfinish(pg);
	return rc;
}
