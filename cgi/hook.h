/*
 * hook.h — what ac-hook's files share: cgi/hook.c (the routes) and
 * cgi/hook_metrics.c (GET /metrics and the webhook counters).
 */
#ifndef AC_CGI_HOOK_H
#define AC_CGI_HOOK_H

#include "base/db.h"
#include "base/redis.h"
#include "web/request.h"

/* /metrics' cache of the database's part, in milliseconds. */
#define HOOK_METRICS_CACHE_MS	2000

/* GET /metrics: the Prometheus text of the database's part (cached
 * HOOK_METRICS_CACHE_MS per process), Redis's counters, the breakers and
 * this host's spool. A part that cannot be read is left out, and
 * alertcast_up{part} says which. */
void	hook_metrics(struct ac_req *r, struct ac_db *db, struct ac_redis *redis,
	    const char *state_dir);

/* Counts a webhook's answer (route "tv", "stripe", "telegram", "other";
 * HTTP status; seconds from its arrival to the answer) in Redis. */
void	hook_metrics_count(struct ac_redis *redis, const char *route, int status,
	    double seconds);

#endif
