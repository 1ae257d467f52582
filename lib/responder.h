/*
 * responder.h — the loop every FastCGI responder runs: accept on fd 0 (the
 * socket spawn-fcgi or systemd hands over), read the request into a
 * per-request arena, let the responder answer, finish, free, until SIGTERM.
 */
#ifndef AC_RESPONDER_H
#define AC_RESPONDER_H

#include <stddef.h>

#include "request.h"

struct ac_responder {
	size_t	 body_max;	/* a larger body is refused with 413 */
	/* Answers a request read whole. */
	void	(*route)(struct ac_req *r);
	/* Answers one that could not be (status 413 or 400, why for a
	 * person); NULL: the JSON error shape of response.h. */
	void	(*refused)(struct ac_req *r, int status, const char *why);
	/* Runs after each answer has gone to the client, or NULL. */
	void	(*after)(void);
};

/*
 * Serves requests until SIGTERM or SIGINT (the request in hand is
 * finished first); SIGPIPE is ignored. Returns 0, or 1 when FastCGI cannot
 * be set up on fd 0.
 */
int	ac_responder_run(const struct ac_responder *resp);

#endif
