/* responder.c — see responder.h. */
#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/log.h"
#include "web/responder.h"
#include "web/response.h"
#include "base/util.h"

/* Wakes a thread blocked in accept() when the process stops. */
#define SIG_WAKE SIGUSR2

static volatile sig_atomic_t stopping;	/* read and written with __atomic: threads */

struct server {
	const struct ac_responder *resp;
	pthread_t	 tid;
	int		 index;
	int		 in_accept;	/* atomic: blocked (or about to be) in accept() */
	int		 ended;		/* atomic */
};

static void
on_wake(int sig)
{
}

static void
serve_one(const struct ac_responder *resp, FCGX_Request *fr, struct ac_arena *arena)
{
	struct ac_req r = { .arena = arena };
	struct ac_req_io io;
	enum ac_req_status st;
	const char *why;

	ac_req_io_fcgx(&io, fr);
	st = ac_req_read(&r, &io, resp->body_max);
	ac_log_request(r.request_id);
	why = st != AC_REQ_BAD_ENCODING ? ac_req_strerror(st) : ac_arena_printf(arena,
	    "the query parameter %s is not valid UTF-8", r.bad_field);
	if (st == AC_REQ_OK)
		resp->route(&r);
	else if (resp->refused != NULL)
		resp->refused(&r, st == AC_REQ_TOO_LARGE ? 413 : 400, why);
	else if (st == AC_REQ_TOO_LARGE)
		ac_reply_error(&r, 413, "payload_too_large", why, NULL);
	else
		ac_reply_error(&r, 400, st == AC_REQ_BAD_ENCODING ? "bad_encoding" : "bad_request",
		    why, r.bad_field);
	FCGX_Finish_r(fr);
	if (resp->after != NULL)
		resp->after();
	ac_log_request(NULL);
	ac_arena_reset(arena);
}

/* One serving thread: accept, answer, repeat. An
 * accept() interrupted by a signal returns; the loop goes on unless the
 * process is stopping. SIG_WAKE is let through only while accepting, so it
 * never interrupts the reading or answering of a request. */
static void *
serve(void *arg)
{
	struct server *s = arg;
	const struct ac_responder *resp = s->resp;
	struct ac_arena *arena = ac_arena_new(64 * 1024);
	FCGX_Request fr;
	sigset_t wake;
	int failures = 0;

	sigemptyset(&wake);
	sigaddset(&wake, SIG_WAKE);
	pthread_sigmask(SIG_BLOCK, &wake, NULL);

	if (FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		ac_error("cannot set up a FastCGI request");
		ac_arena_free(arena);
		__atomic_store_n(&s->ended, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	if (resp->thread_init != NULL)
		resp->thread_init(s->index);
	for (;;) {
		int rc;

		__atomic_store_n(&s->in_accept, 1, __ATOMIC_RELEASE);
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			break;
		pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
		rc = FCGX_Accept_r(&fr);
		pthread_sigmask(SIG_BLOCK, &wake, NULL);
		__atomic_store_n(&s->in_accept, 0, __ATOMIC_RELEASE);
		if (rc < 0) {
			/* interrupted (to stop, or by chance): look again */
			if (rc == -EINTR || __atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
				continue;
			/* out of descriptors or memory: the thread must not end
			 * (the process would stay up serving nothing); wait a
			 * little and accept again */
			if (failures++ % 100 == 0)
				ac_error("FastCGI accept failed (%d times): %s; retrying",
				    failures, rc == -9999 ? "unknown error" : strerror(-rc));
			nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
			continue;
		}
		failures = 0;
		serve_one(resp, &fr, arena);
	}
	FCGX_Free(&fr, 1);
	if (resp->thread_end != NULL)
		resp->thread_end(s->index);
	ac_arena_free(arena);
	__atomic_store_n(&s->ended, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Waits for SIGTERM or SIGINT, then wakes the threads still in accept()
 * until every one has finished its request in hand and ended. */
static void
supervise(struct server *srv, int n, const sigset_t *stopset)
{
	int sig, left;

	while (sigwait(stopset, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	/* (not FCGX_ShutdownPending(): with it, libfcgi's accept can loop on a
	 * closed descriptor; an interrupted accept returns by itself) */
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	do {
		left = 0;
		for (int i = 0; i < n; i++) {
			if (__atomic_load_n(&srv[i].ended, __ATOMIC_ACQUIRE))
				continue;
			left++;
			if (__atomic_load_n(&srv[i].in_accept, __ATOMIC_ACQUIRE))
				pthread_kill(srv[i].tid, SIG_WAKE);
		}
		if (left)
			nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	} while (left);
	for (int i = 0; i < n; i++)
		pthread_join(srv[i].tid, NULL);
}

int
ac_responder_run(const struct ac_responder *resp)
{
	struct sigaction sa;
	sigset_t stopset, old;
	struct server *srv;
	int n = resp->threads > 1 ? resp->threads : 1, started = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;	/* no SA_RESTART: a blocked accept ends at once */
	sigaction(SIG_WAKE, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		ac_error("cannot set up FastCGI on fd 0");
		return 1;
	}
	if ((srv = calloc((size_t)n, sizeof(*srv))) == NULL)
		abort();
	for (int i = 0; i < n; i++)
		srv[i] = (struct server){ .resp = resp, .index = i };
	/* the serving threads (one at least) inherit a mask without the stop
	 * signals, which this thread takes with sigwait() */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stopset, &old);
	for (; started < n; started++)
		if (ac_thread_start(&srv[started].tid, serve, &srv[started]) != 0) {
			ac_error("cannot start thread %d of %d", started + 1, n);
			break;
		}
	if (started < n)	/* stop the ones that did start */
		raise(SIGTERM);
	supervise(srv, started, &stopset);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ac_info("stopping");
	free(srv);
	return started == n ? 0 : 1;
}

int
ac_responder_start(int argc, char *argv[], const char *name, const struct ac_router *routes,
    struct ac_config *cfg)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "routes", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL;
	struct ac_err e = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'r' && routes != NULL) {
			ac_route_print(stdout, routes);
			return 0;
		}
		if (c != 'c') {
			fprintf(stderr, "usage: %s [--config FILE]%s\n", name,
			    routes ? " | --routes" : "");
			return 2;
		}
		config = optarg;
	}
	if (ac_config_load(cfg, config, &e) == -1) {
		fprintf(stderr, "%s: %s\n", name, e.message);
		return 1;
	}
	ac_log_init(name, cfg->log_level);
	return -1;
}
