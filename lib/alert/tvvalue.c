/*
 * tvvalue.c — the values of a TradingView alert: the text helpers the
 * parser shares (tvint.h) and the public normalizers of tv.h (symbol,
 * timeframe, action, time, decimal). Pure.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/util.h"
#include "alert/tvint.h"

/* ---- text helpers --------------------------------------------------- */

/* Narrows [*s, *e) to leave out leading and trailing white space. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space((unsigned char)**s))
		(*s)++;
	while (*e > *s && is_space((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Copies s without surrounding white space into buf (bufsz bytes).
 * 0, or -1 if it does not fit (buf then holds ""). */
int
tv_trim_copy(const char *s, char *buf, size_t bufsz)
{
	const char	*e = s + strlen(s);

	trim(&s, &e);
	buf[0] = '\0';
	if ((size_t)(e - s) >= bufsz)
		return -1;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes available),
 * or 0 if the bytes there are not one. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		lo = s[0] == 0xe0 ? 0xa0 : lo;
		hi = s[0] == 0xed ? 0x9f : hi;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi;
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

/* Writes s[0..len) into buf (SHOW_BUF bytes) fit for an error message:
 * at most SHOW_MAX bytes of whole UTF-8 sequences, '?' for control bytes
 * and broken UTF-8, "..." when cut short. Returns buf. */
const char *
tv_show(const char *s, size_t len, char *buf)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, k;

	while (i < len) {
		k = u[i] < 0x20 || u[i] == 0x7f ? 0 : utf8_seq(u + i, len - i);
		if (o + (k ? k : 1) > SHOW_MAX)
			break;
		if (k == 0) {
			buf[o++] = '?';
			i++;
		} else {
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		}
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

int
tv_fail(struct ac_alert_error *err, int status, const char *code,
    const char *field, const char *fmt, ...)
{
	va_list	ap;

	err->status = status;
	err->code = code;
	err->field = field;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the TradingView placeholder ("{{" + 1..PH_MAX printable
 * ASCII bytes other than braces + "}}") starting at s (len bytes
 * available), or 0 if none starts there. */
size_t
tv_placeholder_at(const char *s, size_t len)
{
	size_t	j;

	if (len < 5 || s[0] != '{' || s[1] != '{')
		return 0;
	for (j = 2; j < len && j - 2 <= PH_MAX; j++)
		if (s[j] < 0x20 || s[j] > 0x7e || s[j] == '{' || s[j] == '}')
			break;
	if (j == 2 || j - 2 > PH_MAX || j + 1 >= len || s[j] != '}' ||
	    s[j + 1] != '}')
		return 0;
	return j + 2;
}

/* Finds the first placeholder in s[0..len): 1 with its offset and length
 * in *off and *plen, else 0. */
int
tv_find_placeholder(const char *s, size_t len, size_t *off, size_t *plen)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((*plen = tv_placeholder_at(s + i, len - i)) != 0) {
			*off = i;
			return 1;
		}
	return 0;
}

/* Reads exactly n digits at *p (before e) into *v and advances *p.
 * 0, or -1 if there are fewer. */
static int
read_digits(const char **p, const char *e, int n, int *v)
{
	*v = 0;
	for (; n > 0; n--, (*p)++) {
		if (*p >= e || !is_digit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* Unix seconds (below EPOCH_MS_FROM) or milliseconds v → *ms.
 * 0, or -1 if negative or above EPOCH_MAX. */
int
tv_epoch_ms(long long v, int64_t *ms)
{
	if (v < 0 || v > EPOCH_MAX)
		return -1;
	*ms = v < EPOCH_MS_FROM ? (int64_t)v * 1000 : (int64_t)v;
	return 0;
}

/* Advances *p (before e) past one byte of set: 0, or -1 if none is
 * there. */
static int
read_char(const char **p, const char *e, const char *set)
{
	if (*p >= e || **p == '\0' || strchr(set, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

/* Parses "YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|±HH[[:]MM]]" in [p, e) into
 * *ms (UTC when no zone is given). 0, or -1. */
static int
parse_iso8601(const char *p, const char *e, int64_t *ms)
{
	int	y, mo, d, h, mi, s = 0, frac = 0, scale = 100, oh = 0, om = 0;
	int	sign = 0;

	if (read_digits(&p, e, 4, &y) || read_char(&p, e, "-") ||
	    read_digits(&p, e, 2, &mo) || read_char(&p, e, "-") ||
	    read_digits(&p, e, 2, &d) || read_char(&p, e, "Tt ") ||
	    read_digits(&p, e, 2, &h) || read_char(&p, e, ":") ||
	    read_digits(&p, e, 2, &mi))
		return -1;
	if (read_char(&p, e, ":") == 0) {
		if (read_digits(&p, e, 2, &s))
			return -1;
		if (read_char(&p, e, ".,") == 0) {
			if (p >= e || !is_digit((unsigned char)*p))
				return -1;
			for (; p < e && is_digit((unsigned char)*p); p++) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (p < e && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (read_digits(&p, e, 2, &oh) ||
		    ((read_char(&p, e, ":") == 0 || p < e) &&
		    read_digits(&p, e, 2, &om)))
			return -1;
	} else
		(void)read_char(&p, e, "Zz");
	if (p != e || oh > 23 || om > 59 || ac_utc_ms(y, mo, d, h, mi, s, ms) == -1)
		return -1;
	*ms += -(int64_t)sign * (oh * 3600 + om * 60) * 1000 + frac;
	return 0;
}

/* Parses a decimal number (optional sign, digits with an optional
 * fraction, optional exponent) in s into *v: 0, or -1 if s is anything
 * else or the value is not finite. s must already be trimmed. */
int
tv_parse_decimal(const char *s, double *v)
{
	const char	*p = s;
	char		*end;
	int		 digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	for (; is_digit((unsigned char)*p); p++)
		digits++;
	if (*p == '.')
		for (p++; is_digit((unsigned char)*p); p++)
			digits++;
	if (digits == 0)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit((unsigned char)*p))
			return -1;
		while (is_digit((unsigned char)*p))
			p++;
	}
	if (*p != '\0')
		return -1;
	*v = strtod(s, &end);
	return *end == '\0' && isfinite(*v) ? 0 : -1;
}

/* ---- public normalizers --------------------------------------------- */

/* Upper-cases [s, e) into buf (bufsz bytes): 0, or -1 if empty, too
 * long or holding a byte other than A-Z 0-9 . _ - ! */
static int
symbol_part(const char *s, const char *e, char *buf, size_t bufsz)
{
	size_t	n = 0;
	int	c;

	trim(&s, &e);
	if (s == e || (size_t)(e - s) >= bufsz)
		return -1;
	for (; s < e; s++) {
		c = to_upper((unsigned char)*s);
		if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' &&
		    c != '-' && c != '!')
			return -1;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return 0;
}

int
ac_symbol_normalize(const char *in, char *sym, size_t symsz, char *exch,
    size_t exchsz)
{
	const char	*s = in, *e = in + strlen(in), *colon;
	char		 scratch[AC_SYMBOL_MAX];

	if (exch == NULL) {
		exch = scratch;
		exchsz = sizeof(scratch);
	}
	exch[0] = '\0';
	colon = memchr(s, ':', (size_t)(e - s));
	if (colon != NULL && symbol_part(s, colon, exch, exchsz) == -1)
		return -1;
	return symbol_part(colon != NULL ? colon + 1 : s, e, sym, symsz);
}

int
ac_timeframe_normalize(const char *in, char *out, size_t outsz)
{
	static const struct { const char *name; long long secs; } units[] = {
		{ "", 60 }, { "s", 1 }, { "sec", 1 }, { "m", 60 },
		{ "min", 60 }, { "h", 3600 }, { "hr", 3600 }, { "d", 86400 },
		{ "w", 604800 },
	};
	static const struct { char unit; long long secs; } canon[] = {
		{ 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
		{ 's', 1 },
	};
	const char	*s = in, *e = in + strlen(in);
	long long	 n = 0, secs = 0;
	int		 digits = 0, w;
	size_t		 i, ulen;

	trim(&s, &e);
	for (; s < e && is_digit((unsigned char)*s) && n <= TF_COUNT_MAX;
	    s++, digits++)
		n = n * 10 + (*s - '0');
	if (n > TF_COUNT_MAX)
		return -1;
	while (s < e && *s == ' ')
		s++;
	ulen = (size_t)(e - s);
	if (digits == 0) {
		if (ulen == 0)
			return -1;
		n = 1;
	}
	if (n == 0)
		return -1;
	if (ulen == 1 && *s == 'M')
		w = snprintf(out, outsz, "%lldM", n);
	else {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen &&
			    strncasecmp(units[i].name, s, ulen) == 0)
				secs = n * units[i].secs;
		if (secs == 0)
			return -1;
		for (i = 0; secs % canon[i].secs != 0; i++)
			continue;
		w = snprintf(out, outsz, "%lld%c", secs / canon[i].secs,
		    canon[i].unit);
	}
	return w > 0 && (size_t)w < outsz ? 0 : -1;
}

int
ac_timeframe_valid(const char *tf)
{
	static const char *const valid[] = {
		"1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h",
		"1d", "1w",
	};
	size_t	i;

	for (i = 0; tf != NULL && i < sizeof(valid) / sizeof(valid[0]); i++)
		if (strcmp(tf, valid[i]) == 0)
			return 1;
	return 0;
}

enum ac_action
ac_action_parse(const char *s)
{
	static const struct { const char *name; enum ac_action a; } words[] = {
		{ "buy", AC_ACTION_BUY }, { "long", AC_ACTION_BUY },
		{ "sell", AC_ACTION_SELL }, { "short", AC_ACTION_SELL },
		{ "tp_hit", AC_ACTION_TP_HIT }, { "tp", AC_ACTION_TP_HIT },
		{ "take_profit", AC_ACTION_TP_HIT },
		{ "takeprofit", AC_ACTION_TP_HIT },
		{ "sl_hit", AC_ACTION_SL_HIT }, { "sl", AC_ACTION_SL_HIT },
		{ "stop_loss", AC_ACTION_SL_HIT },
		{ "stoploss", AC_ACTION_SL_HIT },
		{ "exit", AC_ACTION_EXIT }, { "close", AC_ACTION_EXIT },
		{ "flat", AC_ACTION_EXIT },
		{ "exit_long", AC_ACTION_EXIT_LONG },
		{ "close_long", AC_ACTION_EXIT_LONG },
		{ "exit_short", AC_ACTION_EXIT_SHORT },
		{ "close_short", AC_ACTION_EXIT_SHORT },
		{ "heartbeat", AC_ACTION_HEARTBEAT },
	};
	char	buf[16];
	size_t	i;

	if (tv_trim_copy(s, buf, sizeof(buf)) == -1)
		return AC_ACTION_NONE;
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = buf[i] == ' ' || buf[i] == '-' ? '_' :
		    (char)to_lower((unsigned char)buf[i]);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(buf, words[i].name) == 0)
			return words[i].a;
	return AC_ACTION_NONE;
}

const char *
ac_action_name(enum ac_action a)
{
	static const char *const names[AC_ACTION__MAX] = {
		"NONE", "BUY", "SELL", "TP_HIT", "SL_HIT", "EXIT_LONG",
		"EXIT_SHORT", "EXIT", "HEARTBEAT",
	};

	return (unsigned)a < AC_ACTION__MAX ? names[a] : "NONE";
}

int
ac_time_parse(const char *s, int64_t *ms)
{
	const char	*p, *e = s + strlen(s);
	long long	 v = 0;

	trim(&s, &e);
	for (p = s; p < e && is_digit((unsigned char)*p) && v <= EPOCH_MAX;
	    p++)
		v = v * 10 + (*p - '0');
	if (p == e && p > s)
		return tv_epoch_ms(v, ms);
	return parse_iso8601(s, e, ms);
}

