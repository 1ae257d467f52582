/* responder.c — see responder.h. */
#include <fcgiapp.h>
#include <signal.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "responder.h"
#include "response.h"

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	stopping = 1;
	FCGX_ShutdownPending();
}

int
ac_responder_run(const struct ac_responder *resp)
{
	FCGX_Request fr;
	struct ac_arena *arena;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: a blocked accept ends at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		ac_error("cannot set up FastCGI on fd 0");
		return 1;
	}
	arena = ac_arena_new(64 * 1024);
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		struct ac_req r = { .arena = arena };
		struct ac_req_io io;
		enum ac_req_status st;

		ac_req_io_fcgx(&io, &fr);
		st = ac_req_read(&r, &io, resp->body_max);
		ac_log_request(r.request_id);
		if (st == AC_REQ_OK)
			resp->route(&r);
		else if (resp->refused != NULL)
			resp->refused(&r, st == AC_REQ_TOO_LARGE ? 413 : 400, ac_req_strerror(st));
		else if (st == AC_REQ_TOO_LARGE)
			ac_reply_error(&r, 413, "payload_too_large", ac_req_strerror(st), NULL);
		else
			ac_reply_error(&r, 400, "bad_request", ac_req_strerror(st), NULL);
		FCGX_Finish_r(&fr);
		if (resp->after != NULL)
			resp->after();
		ac_log_request(NULL);
		ac_arena_reset(arena);
	}
	ac_info("stopping");
	ac_arena_free(arena);
	return 0;
}
