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

#include "web/request.h"

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

#endif
