/*
 * tvint.h — what the three files of the TradingView parser share, and
 * nothing outside lib/alert includes: tvvalue.c (text helpers and the
 * public normalizers), tv.c (the field table and ac_alert_parse) and
 * tvcheck.c (ac_alert_check and the keys).
 */
#ifndef AC_TVINT_H
#define AC_TVINT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alert/tv.h"

#if defined(__GNUC__)
#define AC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AC_PRINTF(f, a)
#endif

#define SHOW_MAX	40		/* bytes of a received value quoted in a message */
#define SHOW_BUF	(SHOW_MAX + 4)	/* ... plus "..." and the NUL */
#define PH_MAX		64		/* longest name between "{{" and "}}" */
#define NUM_TEXT_MAX	64		/* longest number sent as a string */
#define TIME_TEXT_MAX	64		/* longest time sent as a string */
#define TF_COUNT_MAX	999999999LL	/* largest timeframe count, any unit */
#define EPOCH_MAX	999999999999999LL /* largest unix time: 15 digits */
#define EPOCH_MS_FROM	100000000000LL	/* unix times at or above are in ms */

/* Slots of the field table: the canonical fields, then more keys. */
enum {
	SLOT_SECRET = AC_F__MAX, SLOT_EXCHANGE, SLOT_POSITION, SLOT_PREV_POSITION,
	SLOT_SENTIMENT, SLOT__MAX
};

#define BIT(f)		(1u << (f))
#define STR_(x)		#x
#define STR(x)		STR_(x)
#define FIELDS_ALL	(BIT(AC_F__MAX) - 1)

/* 1 if c is ASCII white space as JSON and people mean it. */
static inline int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

/* 1 if c is an ASCII digit (locale-independent). */
static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* 1 if c is an ASCII letter (locale-independent). */
static inline int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* c upper-cased if an ASCII letter, else c. */
static inline int
to_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* c lower-cased if an ASCII letter, else c. */
static inline int
to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Fills *err; returns -1 so a caller can `return tv_fail(...)`. */
int		 tv_fail(struct ac_alert_error *err, int status, const char *code,
		    const char *field, const char *fmt, ...) AC_PRINTF(5, 6);
/* s (len bytes) for a message: at most SHOW_MAX bytes, controls escaped, in buf. */
const char	*tv_show(const char *s, size_t len, char *buf);
/* s trimmed into buf: 0, or -1 if it does not fit. */
int		 tv_trim_copy(const char *s, char *buf, size_t bufsz);
size_t		 tv_placeholder_at(const char *s, size_t len);
int		 tv_find_placeholder(const char *s, size_t len, size_t *off, size_t *plen);
int		 tv_epoch_ms(long long v, int64_t *ms);
int		 tv_parse_decimal(const char *s, double *v);
int		 tv_names_match(const char *a, const char *b);
double		 tv_level_of(const struct ac_alert *a, int f, const char **text);
const char	*tv_alias_list(int slot, char *buf, size_t bufsz);
int		 tv_is_exit(enum ac_action a);

#endif
