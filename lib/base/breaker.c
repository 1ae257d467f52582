/* breaker.c — see breaker.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/breaker.h"

enum ac_breaker_state
ac_breaker_state(const struct ac_breaker *b, int64_t now)
{
	if (b->open_until == 0)
		return AC_BREAKER_CLOSED;
	return now < b->open_until ? AC_BREAKER_OPEN : AC_BREAKER_HALF_OPEN;
}

int
ac_breaker_allow(struct ac_breaker *b, int64_t now, int cooldown_ms)
{
	switch (ac_breaker_state(b, now)) {
	case AC_BREAKER_CLOSED:
		return 1;
	case AC_BREAKER_OPEN:
		return 0;
	case AC_BREAKER_HALF_OPEN:
		break;
	}
	if (now < b->probe_until)
		return 0;
	b->probe_until = now + cooldown_ms;
	return 1;
}

int
ac_breaker_record(struct ac_breaker *b, int ok, int64_t now, int threshold, int cooldown_ms)
{
	struct ac_breaker was = *b;

	if (ok) {
		memset(b, 0, sizeof(*b));
	} else if (ac_breaker_state(b, now) == AC_BREAKER_HALF_OPEN) {
		b->open_until = now + cooldown_ms;
		b->probe_until = 0;
	} else if (ac_breaker_state(b, now) == AC_BREAKER_CLOSED && ++b->fails >= threshold) {
		b->open_until = now + cooldown_ms;
	}
	return memcmp(&was, b, sizeof(was)) != 0;
}

void
ac_breaker_format(const struct ac_breaker *b, char *out, size_t outsz)
{
	snprintf(out, outsz, "%d:%" PRId64 ":%" PRId64, b->fails, b->open_until, b->probe_until);
}

int
ac_breaker_parse(const char *s, struct ac_breaker *b)
{
	long long open_until, probe_until;
	int fails, n = 0;

	if (sscanf(s, "%d:%lld:%lld%n", &fails, &open_until, &probe_until, &n) != 3 ||
	    s[n] != '\0' || fails < 0)
		return -1;
	b->fails = fails;
	b->open_until = open_until;
	b->probe_until = probe_until;
	return 0;
}
