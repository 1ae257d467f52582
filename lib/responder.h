/*
 * responder.h — the loop every FastCGI responder runs: accept on fd 0 (the
 * socket spawn-fcgi or systemd hands over), read the request into a
 * per-request arena, let the responder answer, finish, free, until SIGTERM.
 *
 * With threads > 1 that many threads accept on the socket at once, each
 * with its own arena; route() and after() must then be thread-safe (state
 * of their own per thread, set up by thread_init()).
 */
#ifndef AC_RESPONDER_H
#define AC_RESPONDER_H

#include <stddef.h>

#include "request.h"

struct ac_responder {
	size_t	 body_max;	/* a larger body is refused with 413 */
	int	 threads;	/* accepting threads; 0 or 1: the calling thread alone */
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
