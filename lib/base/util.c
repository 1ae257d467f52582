/* util.c — see util.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/util.h"

int64_t
ac_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ac_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
ac_strtonum(const char *s, long long min, long long max, const char **errstr)
{
	char *end;
	long long v;

	*errstr = "invalid";
	if (s == NULL || min > max || !(isdigit((unsigned char)*s) ||
	    (*s == '-' && isdigit((unsigned char)s[1]))))
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s)
		return 0;
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return 0;
	}
	*errstr = NULL;
	return v;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int
ac_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		if ((len = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

size_t
ac_utf8_clean(char *dst, size_t dstsz, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, len;

	if (dstsz == 0)
		return 0;
	while (i < n) {
		len = utf8_seq(s + i, n - i);
		if (len <= 1) {
			unsigned char c = s[i];
			int ok = len == 1 && (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') && c != 0x7f;

			if (o + 1 >= dstsz)
				break;
			dst[o++] = ok ? (char)c : '?';
			i++;
			continue;
		}
		if (o + len >= dstsz)
			break;
		for (size_t k = 0; k < len; k++)
			dst[o++] = (char)s[i + k];
		i += len;
	}
	dst[o] = '\0';
	return o;
}

void
ac_iso8601_ms(int64_t ms, char out[32])
{
	/* floored, so times before 1970 count back from a whole second */
	int64_t sec = ms / 1000 - (ms % 1000 < 0), frac = ms - sec * 1000;
	time_t t = (time_t)sec;
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
	if (n >= 32)	/* a year of more than 10 digits */
		out[31] = '\0';
}

int
ac_utc_ms(int y, int mo, int d, int h, int mi, int s, int64_t *ms)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
	    .tm_min = mi, .tm_sec = s };
	time_t t;

	if (mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
	    s > 59)
		return -1;
	/* timegm() carries a day past the month's end into the next month:
	 * a date that does not come back unchanged does not exist */
	t = timegm(&tm);
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

int
ac_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
