/*
 * ratelimit.h — counters in Redis over fixed windows, for login throttling
 * and the API's per-user limit. One connection per process, opened on
 * first use. Redis being away fails open: calls answer -1 (logged, at most
 * one reconnect attempt every few seconds) and the caller lets the request
 * through.
 */
#ifndef AC_RATELIMIT_H
#define AC_RATELIMIT_H

/* The Redis URL (copied) and the connect/command timeout in ms; drops a
 * connection made before. */
void	ac_rate_init(const char *redis_url, int timeout_ms);

/* Adds 1 to key, which expires window_s seconds after its first hit.
 * Returns the new count, with the seconds left in the window in *ttl_s
 * (may be NULL); -1 when Redis is away. */
long long ac_rate_hit(const char *key, int window_s, int *ttl_s);

/* The count of key (0 if none), or -1 when Redis is away. */
long long ac_rate_count(const char *key);

/* Makes key (if it exists) expire seconds from now: a lock's length. */
void	ac_rate_expire(const char *key, int seconds);

/* Forgets key. */
void	ac_rate_reset(const char *key);

#endif
