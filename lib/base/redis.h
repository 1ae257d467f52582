/*
 * redis.h — Redis, for what may be lost (rate limits, caches, breaker
 * state, counters). Every caller fails open: Redis being away is logged
 * and never stops a request.
 */
#ifndef AC_REDIS_H
#define AC_REDIS_H

#include <hiredis/hiredis.h>

/* Splits "redis://host:port[/db]" (or "host:port"). 0, or -1 if malformed. */
int		 ac_redis_parse_url(const char *url, char *host, size_t hostsz, int *port, int *db);

/* A connection with connect and command timeouts of timeout_ms, the
 * database selected; NULL (logged) when Redis cannot be reached. */
redisContext	*ac_redis_connect(const char *url, int timeout_ms);

/* 1 if Redis answers PING within timeout_ms, else 0. */
int		 ac_redis_ping(const char *url, int timeout_ms);

#endif
