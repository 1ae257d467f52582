/*
 * util.h — small pure helpers shared by every program: time, bounded
 * number parsing, UTF-8 repair.
 */
#ifndef AC_UTIL_H
#define AC_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Wall-clock milliseconds since the epoch. */
int64_t	ac_now_ms(void);

/* Monotonic milliseconds, for durations and deadlines. */
int64_t	ac_mono_ms(void);

/*
 * strtonum-style: the whole of s is a base-10 integer in [min, max], with
 * no leading space or '+'.
 * Returns it, with *errstr NULL; or 0 with *errstr "invalid", "too small"
 * or "too large".
 */
long long ac_strtonum(const char *s, long long min, long long max, const char **errstr);

/* 1 if the n bytes of s are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF), else 0. */
int	ac_utf8_valid(const char *s, size_t n);

/*
 * Copies at most n bytes of src into dst (dstsz bytes, NUL-terminated),
 * replacing invalid UTF-8 and control bytes other than \t \n \r with '?'.
 * Never splits a character. Returns the bytes written, without the NUL.
 */
size_t	ac_utf8_clean(char *dst, size_t dstsz, const char *src, size_t n);

/* "2026-11-21T21:24:30.123Z" for ms since the epoch (before 1970 too);
 * out holds 32 bytes. */
void	ac_iso8601_ms(int64_t ms, char out[32]);

/* The ms since the epoch of the UTC time y-mo-d h:mi:s (proleptic
 * Gregorian): 0, or -1 when a field is out of range (month 13, Feb 29 of
 * a common year, April 31, hour 24, minute or second 60). */
int	ac_utc_ms(int y, int mo, int d, int h, int mi, int s, int64_t *ms);

/* pthread_create() of a thread that starts with every signal blocked, so
 * SIGTERM and the like reach the thread meant to take them, never this
 * one (whose default action would end the process). 0 or an errno. */
int	ac_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
