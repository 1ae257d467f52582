/*
 * ac-worker — runs queued jobs. cron starts one every minute:
 *
 *	ac-worker [--config FILE] (--for SECONDS | --once) [--batch N] [--id NAME]
 *	    [--lease SECONDS]
 *
 * It rescues jobs of vanished workers, drains the due jobs, then waits on
 * LISTEN ac_jobs (at most 1 s at a time, so jobs coming due by run_at are
 * seen without a notification) and keeps draining until SECONDS have
 * passed; --once drains and exits. Any number of workers may run at once:
 * claims are FOR UPDATE SKIP LOCKED with leases (lib/work/jobs.h). SIGTERM and
 * SIGINT finish the job in hand, put the rest of the batch back and exit 0.
 * If PostgreSQL goes away the worker backs off (0.5 s doubling to 15 s)
 * and carries on when it returns. Exit 1 when the database was still
 * unreachable at the end, 2 on bad usage.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/lifecycle.h"
#include "work/billing.h"
#include "work/refund.h"
#include "work/reset.h"
#include "base/config.h"
#include "base/db.h"
#include "deliver/deliver.h"
#include "work/fanout.h"
#include "work/health.h"
#include "work/jobs.h"
#include "base/log.h"
#include "base/opt.h"
#include "base/message.h"
#include "base/util.h"

#define FAST_WINDOW_MS	2000	/* after activity (far longer than ingest's NOTIFY
				 * coalescing window) poll quickly this long... */
#define FAST_POLL_MS	10	/* ...this often */
#define RESCUE_MS	5000	/* how often the rescuer runs */
#define HOUSEKEEP_MS	60000	/* how often old rows are pruned (and at start) */
#define SWEEP_MS	60000	/* how often subscriptions are ended and reminded, signals
				   that reached nobody refunded and strategies' health judged
				   (and at start) */
#define PRUNE_BATCH	5000	/* done jobs (and past daily counts) deleted at a time */
#define PAUSE_MAX_MS	15000	/* longest back-off while the database is away */

/*
 * The job kinds this worker runs: one line per kind, with its header
 * included above.
 */
static const struct ac_job_kind kinds[] = {
	{ .kind = "noop", .fn = ac_noop_job },
	{ .kind = "fanout", .fn = ac_fanout_job },
	{ .kind = "deliver", .fn = ac_deliver_job, .batch_fn = ac_deliver_batch },
	{ .kind = "notice", .fn = ac_notice_job, .batch_fn = ac_notice_batch },
	{ .kind = "ops_notice", .fn = ac_notice_job, .batch_fn = ac_ops_notice_batch },
	{ .kind = "email", .fn = ac_email_job, .batch_fn = ac_email_batch },
	{ .kind = "password_reset", .fn = ac_reset_job },
	{ .kind = "stripe_event", .fn = ac_stripe_event_job },
};

static volatile sig_atomic_t stop;
static int keep_days = 7;	/* AC_JOBS_KEEP_DAYS: done jobs kept this long */
static const char *worker_id;	/* this worker's id, for the heartbeat */
static const char *site;	/* AC_BASE_URL, for the links of the health notices */
static int health_check;	/* AC_HEALTH_CHECK: strategies judged in the sweep */
static int idle_wait_ms = 1000;	/* AC_WORKER_IDLE_WAIT_MS: longest wait for a notification */

/* SIGTERM, SIGINT: finish the job in hand, put the batch's rest back, exit. */
static void
on_signal(int sig)
{
	stop = 1;
}

/* Prints the synopsis; the exit status for bad usage. */
static int
usage(void)
{
	fprintf(stderr, "usage: ac-worker [--config FILE] (--for SECONDS | --once) [--batch N]"
	    " [--id NAME] [--lease SECONDS]\n");
	return 2;
}

/* Sleeps ms, or less if a signal arrives. */
static void
nap(int64_t ms)
{
	if (ms > 0)
		poll(NULL, 0, (int)ms);
}

/* LISTENs on the current connection unless that one already does (a
 * reconnect loses it). 0, or -1 when the database is away. */
static int
listen_jobs(struct ac_db *db, PGconn **listening, int *pid)
{
	PGconn *c = ac_db_conn(db);
	PGresult *res;

	if (c == NULL)
		return -1;
	if (c == *listening && PQbackendPID(c) == *pid)
		return 0;
	if (!ac_db_ok(db, res = ac_db_query(db, "LISTEN ac_jobs", 0, NULL), PGRES_COMMAND_OK))
		return -1;
	PQclear(res);
	*listening = c;
	*pid = PQbackendPID(c);
	return 0;
}

/* Frees the queued notifications; 1 if there were any. */
static int
drain_notifies(PGconn *c)
{
	PGnotify *nf;
	int got = 0;

	while ((nf = PQnotifies(c)) != NULL) {
		got = 1;
		PQfreemem(nf);
	}
	return got;
}

/* Returns 1 when a notification came (or one was already queued), 0
 * after timeout_ms, on a signal, or when the connection broke. */
static int
wait_jobs(struct ac_db *db, int64_t timeout_ms)
{
	PGconn *c = ac_db_conn(db);
	struct pollfd pfd;

	if (c == NULL || !PQconsumeInput(c))
		return 0;
	if (drain_notifies(c))
		return 1;
	pfd.fd = PQsocket(c);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, (int)timeout_ms) > 0 && PQconsumeInput(c) && drain_notifies(c);
}

/* When each periodic task is next due (ms, ac_mono_ms()). */
struct periodic {
	int64_t	 rescue, housekeep, sweep;
};

/*
 * Runs the periodic tasks that are due: every one whose time has come when
 * idle (the worker would wait now), only those late by a whole period
 * otherwise (busy: jobs came, or a notification woke it). A woken worker
 * claims first: the rescuer (5 s) falling due during a 1 s wait made one
 * alert in five wait for it. Under a steady stream each task still runs at
 * least every two periods. 0, or -1 when the database is away.
 */
static int
periodic_run(struct ac_db *db, struct periodic *p, int idle)
{
	int64_t now = ac_mono_ms();

	if (now >= p->rescue + (idle ? 0 : RESCUE_MS)) {
		if (ac_jobs_rescue(db) == -1)
			return -1;
		ac_jobs_heartbeat(db, worker_id);	/* a failure is logged; jobs go on */
		p->rescue = now + RESCUE_MS;
	}
	if (now >= p->housekeep + (idle ? 0 : HOUSEKEEP_MS)) {
		/* a failure is logged; the jobs come first */
		ac_housekeep(db, keep_days, PRUNE_BATCH);
		p->housekeep = now + HOUSEKEEP_MS;
	}
	if (now >= p->sweep + (idle ? 0 : SWEEP_MS)) {
		struct ac_sweep_stats ss;
		struct ac_err se;

		if (ac_billing_sweep(db, &ss, &se) == -1)
			ac_warn("billing sweep: %s", se.message);
		ac_refund_sweep(db);	/* a failure is logged; the next sweep tries again */
		if (health_check)
			ac_health_sweep(db, site);	/* likewise */
		p->sweep = now + SWEEP_MS;
	}
	return 0;
}

/* The loop: drain, wait, until the deadline (or one drain with once); the
 * rescuer every RESCUE_MS and housekeeping every HOUSEKEEP_MS, all of them
 * at the start, then when idle (periodic_run()). Returns the exit status. */
static int
work(struct ac_db *db, struct ac_runner *r, int64_t deadline, int once)
{
	struct periodic due = { 0, 0, 0 };
	int64_t active = ac_mono_ms();
	PGconn *listening = NULL;
	int pid = 0, failures = 0, idle = 1;

	while (!stop) {
		int64_t now = ac_mono_ms(), pause;
		int n;

		if (!once && now >= deadline)
			return 0;
		if (listen_jobs(db, &listening, &pid) == -1)
			goto dbfail;
		if (periodic_run(db, &due, idle) == -1)
			goto dbfail;
		if ((n = ac_runner_batch(r, &stop)) == -1)
			goto dbfail;
		if (failures > 0)
			ac_info("database back after %d failed attempts", failures);
		failures = 0;
		if (n > 0) {
			active = ac_mono_ms();
			idle = 0;
			continue;
		}
		if (once)
			return 0;
		/* nothing to do: what is due runs now, not after a wake-up */
		if (periodic_run(db, &due, 1) == -1)
			goto dbfail;
		/* ingest sends one NOTIFY per coalescing window (lib/alert/ingest.h):
		 * for a while after activity, look again soon without one */
		now = ac_mono_ms();
		pause = now - active < FAST_WINDOW_MS ? FAST_POLL_MS : idle_wait_ms;
		if (wait_jobs(db, deadline - now < pause ? deadline - now : pause)) {
			active = ac_mono_ms();
			idle = 0;	/* woken: claim before anything else */
		} else
			idle = 1;
		continue;
dbfail:
		failures++;
		listening = NULL;
		idle = 1;
		pause = (int64_t)500 << (failures < 6 ? failures - 1 : 5);
		if (pause > PAUSE_MAX_MS)
			pause = PAUSE_MAX_MS;
		now = ac_mono_ms();
		if (once || now + pause >= deadline) {
			ac_error("database unavailable: %s", ac_db_error(db));
			if (!once)
				nap(deadline - now);
			return stop ? 0 : 1;
		}
		ac_warn("database unavailable (%s); retrying in %lld ms", ac_db_error(db),
		    (long long)pause);
		nap(pause);
	}
	return 0;
}

/* The command line: where each option goes. */
struct worker_opts {
	const char	*config, *id;
	long long	 for_s, batch, lease;
	int		 once;
};

static const struct ac_opt worker_opts[] = {
	AC_OPT_STR("config", struct worker_opts, config),
	AC_OPT_NUM("for", struct worker_opts, for_s, 1, 86400),
	AC_OPT_FLAG("once", struct worker_opts, once, 1),
	AC_OPT_NUM("batch", struct worker_opts, batch, 1, 10000),
	AC_OPT_STRLEN("id", struct worker_opts, id, 1, 63),
	AC_OPT_NUM("lease", struct worker_opts, lease, 1, 86400),
	AC_OPT_END
};

int
main(int argc, char *argv[])
{
	struct worker_opts o = { .batch = 100, .lease = 120 };
	long long for_s, batch, lease;
	int once, rc, timeout_ms;
	char id[64], err[512], host[256];
	struct ac_err ce = { 0 };
	const struct ac_runner_stats *st;
	struct sigaction sa;
	struct ac_config cfg;
	struct ac_runner *r;
	struct ac_db *db;
	int64_t start;

	switch (ac_opt_parse(worker_opts, argc, argv, &o, err, sizeof(err))) {
	case AC_OPT_OK:
		break;
	case AC_OPT_BAD:
		fprintf(stderr, "ac-worker: %s\n", err);
		return 2;
	default:
		return usage();
	}
	for_s = o.for_s;
	batch = o.batch;
	lease = o.lease;
	once = o.once;
	snprintf(id, sizeof(id), "%s", o.id ? o.id : "");
	if (once == (for_s > 0))
		return usage();
	if (ac_config_load(&cfg, o.config, &ce) == -1) {
		fprintf(stderr, "ac-worker: config: %s\n", ce.message);
		return 1;
	}
	ac_log_init("ac-worker", cfg.log_level);
	ac_message_set_dir(ac_setting_str(&cfg, AC_S_TEMPLATE_DIR));
	ac_deliver_init(&cfg);
	if (id[0] == '\0') {
		char pid[16];

		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(pid, sizeof(pid), ":%d", (int)getpid());
		snprintf(id, sizeof(id), "%.*s%s", (int)(sizeof(id) - 1 - strlen(pid)), host, pid);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: a wait ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	timeout_ms = ac_setting_int(&cfg, AC_S_WORKER_STATEMENT_TIMEOUT_MS);
	db = ac_db_new(cfg.database_url, id, 5, timeout_ms);
	keep_days = ac_setting_int(&cfg, AC_S_JOBS_KEEP_DAYS);
	site = ac_setting_str(&cfg, AC_S_BASE_URL);
	health_check = ac_setting_int(&cfg, AC_S_HEALTH_CHECK);
	idle_wait_ms = ac_setting_int(&cfg, AC_S_WORKER_IDLE_WAIT_MS);
	ac_billing_setup(&(struct ac_billing_cfg){ .site = ac_setting_str(&cfg, AC_S_BASE_URL),
	    .grace_days = ac_setting_int(&cfg, AC_S_PAST_DUE_GRACE_DAYS),
	    .reminder_days = ac_setting_int(&cfg, AC_S_RENEWAL_REMINDER_DAYS) });
	ac_fanout_setup(ac_setting_int(&cfg, AC_S_FANOUT_PARTS),
	    ac_setting_int(&cfg, AC_S_FANOUT_SPLIT_MIN), ac_setting_int(&cfg, AC_S_FANOUT_HEAD),
	    ac_setting_int(&cfg, AC_S_FANOUT_HEAD_LEAD_MS),
	    ac_setting_int(&cfg, AC_S_FANOUT_PART_COMMITS));
	if ((r = ac_runner_new(db, id, kinds, sizeof(kinds) / sizeof(kinds[0]), (int)batch,
	    (int)lease)) == NULL)
		abort();
	if (!once) {	/* a worker that listens is ready before the first alert */
		ac_fanout_warm(db);
		ac_deliver_warm(db);
	}
	ac_info("worker %s: %s, batch %lld, lease %lld s", id, once ? "once" : "listening",
	    batch, lease);
	start = ac_mono_ms();
	worker_id = id;
	rc = work(db, r, start + for_s * 1000, once);
	st = ac_runner_stats(r);
	ac_info("worker %s: exit %d after %.1f s%s: claimed %lld, done %lld, retried %lld,"
	    " dead %lld, lost %lld, released %lld", id, rc, (ac_mono_ms() - start) / 1000.0,
	    stop ? " (signal)" : "", st->claimed, st->done, st->retried, st->dead, st->lost,
	    st->released);
	ac_runner_free(r);
	ac_deliver_done();
	ac_fanout_shutdown();
	ac_db_free(db);
	ac_config_free(&cfg);
	return rc;
}
