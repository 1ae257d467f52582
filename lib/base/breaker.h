/*
 * breaker.h — a provider's circuit breaker, pure: its state machine and
 * the text it is shared in through Redis ("ac:breaker:<provider>"), so the
 * workers (lib/deliver/limits.c) and the admin panel's health page read
 * it alike.
 */
#ifndef AC_BREAKER_H
#define AC_BREAKER_H

#include <stddef.h>
#include <stdint.h>

enum ac_breaker_state { AC_BREAKER_CLOSED, AC_BREAKER_OPEN, AC_BREAKER_HALF_OPEN };

/* One provider's breaker; all zero is closed. */
struct ac_breaker {
	int	fails;		/* consecutive retryable failures */
	int64_t	open_until;	/* open until then (ms); 0: closed */
	int64_t	probe_until;	/* half-open: a probe is out until then */
};

/* The state at now. */
enum ac_breaker_state ac_breaker_state(const struct ac_breaker *b, int64_t now);

/* 1 if a send may go now: closed, or half-open with no probe out (this
 * call takes the probe for cooldown_ms); 0 while open. May change *b. */
int	ac_breaker_allow(struct ac_breaker *b, int64_t now, int cooldown_ms);

/* Records an outcome: success closes; a failure counts and opens the
 * breaker for cooldown_ms at threshold consecutive ones, or at once when
 * it was a half-open probe. Returns 1 if *b changed. */
int	ac_breaker_record(struct ac_breaker *b, int ok, int64_t now, int threshold,
	    int cooldown_ms);

/* "fails:open_until:probe_until" and back (0, or -1 if malformed). */
void	ac_breaker_format(const struct ac_breaker *b, char *out, size_t outsz);
int	ac_breaker_parse(const char *s, struct ac_breaker *b);

#endif
