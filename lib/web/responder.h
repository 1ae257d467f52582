/*
 * responder.h — the loop every FastCGI responder runs: accept on fd 0 (the
 * socket spawn-fcgi or systemd hands over), read the request into a
 * per-request arena, let the responder answer, finish, free, until SIGTERM.
 *
 * Requests are served on threads (threads of them, one at least), each
 * accepting on the socket with its own arena; with more than one, route()
 * and after() must be thread-safe (state of their own per thread, set up
 * by thread_init()). The calling thread waits for SIGTERM or SIGINT, then
 * wakes the threads waiting in accept(); a request in hand is never
 * interrupted, and is finished before its thread ends.
 */
#ifndef AC_RESPONDER_H
#define AC_RESPONDER_H

#include <stddef.h>

#include "base/config.h"
#include "web/request.h"
#include "web/route.h"

struct ac_responder {
	size_t	 body_max;	/* a larger body is refused with 413 */
	int	 threads;	/* accepting threads; 0 means 1 */
	/* Answers a request read whole. */
	void	(*route)(struct ac_req *r);
	/* Answers one that could not be (status 413 or 400, why for a
	 * person); NULL: the JSON error shape of response.h. */
	void	(*refused)(struct ac_req *r, int status, const char *why);
	/* Runs after each answer has gone to the client, or NULL. */
	void	(*after)(void);
	/* Runs in each serving thread before its first request, and when it
	 * ends (either may be NULL); index counts from 0. */
	void	(*thread_init)(int index);
	void	(*thread_end)(int index);
};

/*
 * Serves requests until SIGTERM or SIGINT (requests in hand are finished
 * first); SIGPIPE is ignored. Returns 0, or 1 when FastCGI cannot be set
 * up on fd 0 or the threads cannot be started.
 */
int	ac_responder_run(const struct ac_responder *resp);

/*
 * The start of every responder's main(): the options (--config FILE, and
 * --routes when routes is not NULL, which prints the table), the
 * configuration into *cfg, the log as name ("ac-api"). -1 to go on, or
 * the status main() returns (0 after --routes, 1 for a configuration
 * that cannot be loaded, 2 for a bad option).
 */
int	ac_responder_start(int argc, char *argv[], const char *name,
	    const struct ac_router *routes, struct ac_config *cfg);

#endif
