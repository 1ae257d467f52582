/*
 * redis.h — Redis, for what may be lost (rate limits, caches, breaker
 * state, counters). Every caller fails open: Redis being away is logged
 * and never stops a request.
 */
#ifndef AC_REDIS_H
#define AC_REDIS_H

#include <hiredis/hiredis.h>
#include <stdint.h>

/* Splits "redis://host:port[/db]" (or "host:port"). 0, or -1 if malformed. */
int		 ac_redis_parse_url(const char *url, char *host, size_t hostsz, int *port, int *db);

/* A connection with connect and command timeouts of timeout_ms, the
 * database selected; NULL (logged) when Redis cannot be reached. */
redisContext	*ac_redis_connect(const char *url, int timeout_ms);

/* 1 if Redis answers PING within timeout_ms, else 0. */
int		 ac_redis_ping(const char *url, int timeout_ms);

/*
 * The fail-open handle every user of Redis keeps: connected on first use,
 * dropped after a command fails, and tried again no sooner than
 * AC_REDIS_RETRY_MS later, so a Redis that is away costs one refused
 * connect every few seconds, not one a call. Going away and coming back
 * are logged once each, naming what fails open (who). A handle is not
 * locked: keep one per thread that uses it (a per-process static where the
 * process has one thread, as ac-worker, ac-portal and ac-api do). The zero
 * value is a closed handle.
 */
#define AC_REDIS_RETRY_MS	5000

struct ac_redis {
	char		*url;		/* NULL: never connects */
	const char	*who;		/* for the log: "rate limits" */
	int		 timeout_ms;
	redisContext	*c;
	int64_t		 retry_at;	/* monotonic ms: no connect before */
	int		 away;		/* "away" logged, "back" not yet */
};

/* Points r at url (copied; NULL: none) with connect and command timeouts
 * of timeout_ms, dropping a connection made before. who must outlive r. */
void		 ac_redis_open(struct ac_redis *r, const char *url, int timeout_ms,
		    const char *who);
void		 ac_redis_close(struct ac_redis *r);

/* The live connection, connecting if the backoff allows; NULL while Redis
 * is away. */
redisContext	*ac_redis_conn(struct ac_redis *r);

/* After a command on ac_redis_conn() failed (what: its name): logged, the
 * connection dropped, the next connect after the backoff. */
void		 ac_redis_drop(struct ac_redis *r, const char *what);

/* A command's reply (the caller frees it), or NULL while Redis is away or
 * when the command failed (an error reply counts: the connection is
 * dropped as by ac_redis_drop()). */
redisReply	*ac_redis_argv(struct ac_redis *r, int argc, const char **argv);

#endif
