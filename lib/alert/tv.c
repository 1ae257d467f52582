/*
 * tv.c — TradingView alert payloads: parse, normalize, check, key.
 *
 * Reading order: small text helpers, the public normalizers (symbol,
 * timeframe, action, time), the field table that ac_alert_parse() walks,
 * then ac_alert_check() and ac_alert_key(). Everything here is pure: the
 * only allocation is jansson's tree, freed before ac_alert_parse() returns.
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

/* Fills *err; returns -1 so a caller can `return fail(...)`. */
static int	fail(struct ac_alert_error *err, int status, const char *code,
		    const char *field, const char *fmt, ...) AC_PRINTF(5, 6);
static int	names_match(const char *, const char *);
static double	level_of(const struct ac_alert *, int, const char **);

/* ---- text helpers --------------------------------------------------- */

/* 1 if c is ASCII white space as JSON and people mean it. */
static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

/* 1 if c is an ASCII digit (locale-independent). */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* 1 if c is an ASCII letter (locale-independent). */
static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* c upper-cased if an ASCII letter, else c. */
static int
to_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* c lower-cased if an ASCII letter, else c. */
static int
to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

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
static int
trim_copy(const char *s, char *buf, size_t bufsz)
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
static const char *
show(const char *s, size_t len, char *buf)
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

static int
fail(struct ac_alert_error *err, int status, const char *code,
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
static size_t
placeholder_at(const char *s, size_t len)
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
static int
find_placeholder(const char *s, size_t len, size_t *off, size_t *plen)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((*plen = placeholder_at(s + i, len - i)) != 0) {
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
static int
epoch_ms(long long v, int64_t *ms)
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
static int
parse_decimal(const char *s, double *v)
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
	};
	char	buf[16];
	size_t	i;

	if (trim_copy(s, buf, sizeof(buf)) == -1)
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
		"EXIT_SHORT", "EXIT",
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
		return epoch_ms(v, ms);
	return parse_iso8601(s, e, ms);
}

/* ---- the field table ------------------------------------------------ */

/* Parses value v of table slot `slot` into out: 0, or -1 with *err. The
 * parsers are declared with this type before the table that names them. */
typedef int	slot_parse(const json_t *v, int slot, struct ac_alert *out,
		    struct ac_alert_error *err);

static slot_parse parse_symbol, parse_timeframe, parse_strategy, parse_action, parse_number,
    parse_time, parse_secret, parse_exchange, parse_position;

static const struct slot {
	const char	*name;		/* canonical name, for err->field */
	slot_parse	*parse;
	int		 required;	/* absent → 400 missing_field */
	int		 hidden;	/* never quoted, never checked for {{ */
} slots[SLOT__MAX] = {
	[AC_F_SYMBOL] =		{ "symbol", parse_symbol, 0, 0 },
	[AC_F_TIMEFRAME] =	{ "timeframe", parse_timeframe, 0, 0 },
	[AC_F_STRATEGY] =	{ "strategy", parse_strategy, 0, 0 },
	[AC_F_ACTION] =		{ "action", parse_action, 1, 0 },
	[AC_F_PRICE] =		{ "price", parse_number, 1, 0 },
	[AC_F_TP] =		{ "take_profit", parse_number, 0, 0 },
	[AC_F_SL] =		{ "stop_loss", parse_number, 0, 0 },
	[AC_F_TIME] =		{ "time", parse_time, 0, 0 },
	[SLOT_SECRET] =		{ "secret", parse_secret, 0, 1 },
	[SLOT_EXCHANGE] =	{ "exchange", parse_exchange, 0, 0 },
	[SLOT_POSITION] =	{ "market_position", parse_position, 0, 0 },
	[SLOT_PREV_POSITION] =	{ "prev_market_position", parse_position, 0, 0 },
	[SLOT_SENTIMENT] =	{ "sentiment", parse_position, 0, 0 },
};

/* Body keys (matched case-insensitively) and their slots; within a slot,
 * earlier rows win. */
static const struct alias {
	const char	*key;
	int		 slot;
} aliases[] = {
	{ "symbol", AC_F_SYMBOL }, { "ticker", AC_F_SYMBOL },
	{ "tickerid", AC_F_SYMBOL },
	{ "timeframe", AC_F_TIMEFRAME }, { "interval", AC_F_TIMEFRAME },
	{ "tf", AC_F_TIMEFRAME },
	{ "strategy", AC_F_STRATEGY }, { "strategy_name", AC_F_STRATEGY },
	{ "action", AC_F_ACTION }, { "signal", AC_F_ACTION },
	{ "side", AC_F_ACTION }, { "order_action", AC_F_ACTION },
	{ "price", AC_F_PRICE }, { "close", AC_F_PRICE },
	{ "entry", AC_F_PRICE }, { "entry_price", AC_F_PRICE },
	{ "tp", AC_F_TP }, { "take_profit", AC_F_TP },
	{ "takeprofit", AC_F_TP }, { "take_profit_price", AC_F_TP },
	{ "takeprofitprice", AC_F_TP }, { "tp_price", AC_F_TP },
	{ "sl", AC_F_SL }, { "stop_loss", AC_F_SL }, { "stoploss", AC_F_SL },
	{ "stop_loss_price", AC_F_SL }, { "stoplossprice", AC_F_SL },
	{ "sl_price", AC_F_SL },
	{ "timenow", AC_F_TIME }, { "timestamp", AC_F_TIME },
	{ "time", AC_F_TIME }, { "alert_time", AC_F_TIME },
	{ "secret", SLOT_SECRET }, { "token", SLOT_SECRET },
	{ "passphrase", SLOT_SECRET },
	{ "exchange", SLOT_EXCHANGE },
	{ "market_position", SLOT_POSITION }, { "marketposition", SLOT_POSITION },
	{ "strategy.market_position", SLOT_POSITION }, { "position", SLOT_POSITION },
	{ "prev_market_position", SLOT_PREV_POSITION },
	{ "prevmarketposition", SLOT_PREV_POSITION },
	{ "strategy.prev_market_position", SLOT_PREV_POSITION },
	{ "prev_position", SLOT_PREV_POSITION },
	{ "sentiment", SLOT_SENTIMENT },
};

#define NALIASES	(sizeof(aliases) / sizeof(aliases[0]))

/* The row of aliases[] for key k[0..klen), or NALIASES if none. */
static size_t
alias_find(const char *k, size_t klen)
{
	size_t	i;

	for (i = 0; i < NALIASES; i++)
		if (strlen(aliases[i].key) == klen &&
		    strncasecmp(aliases[i].key, k, klen) == 0)
			break;
	return i;
}

/* Writes slot's keys, comma separated, into buf (bufsz bytes). */
static const char *
alias_list(int slot, char *buf, size_t bufsz)
{
	size_t	i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < NALIASES; i++)
		if (aliases[i].slot == slot && n < bufsz)
			n += (size_t)snprintf(buf + n, bufsz - n, "%s%s",
			    n ? ", " : "", aliases[i].key);
	return buf;
}

/* 1 if c may be part of a key or bare word ("secret", "token_2"). */
static int
is_word(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_';
}

/* The length of the secret key (an alias of the secret slot, any case)
 * that starts at body[i] as a whole word, or 0. */
static size_t
secret_key_at(const char *body, size_t len, size_t i)
{
	size_t a, n;

	if (i > 0 && is_word((unsigned char)body[i - 1]))
		return 0;
	for (a = 0; a < NALIASES; a++) {
		if (aliases[a].slot != SLOT_SECRET)
			continue;
		n = strlen(aliases[a].key);
		if (i + n <= len && strncasecmp(body + i, aliases[a].key, n) == 0 &&
		    (i + n == len || !is_word((unsigned char)body[i + n])))
			return n;
	}
	return 0;
}

size_t
ac_alert_secret_spans(const char *body, size_t len, struct ac_span *out, size_t max)
{
	size_t i, j, k, n, found = 0;
	char q;

	for (i = 0; i < len; i++) {
		if ((k = secret_key_at(body, len, i)) == 0)
			continue;
		j = i + k;
		if (j < len && (body[j] == '"' || body[j] == '\''))
			j++;
		while (j < len && is_space((unsigned char)body[j]))
			j++;
		if (j >= len || (body[j] != ':' && body[j] != '='))
			continue;
		for (j++; j < len && is_space((unsigned char)body[j]); j++)
			continue;
		if (j < len && (body[j] == '"' || body[j] == '\'')) {
			/* a quoted value: to the closing quote, escapes skipped,
			 * or to the end of a body cut short */
			for (q = body[j++], n = j; n < len && body[n] != q; n++)
				if (body[n] == '\\' && n + 1 < len)
					n++;
		} else {
			for (n = j; n < len && !is_space((unsigned char)body[n]) &&
			    strchr(",;&}]\"'", body[n]) == NULL; n++)
				continue;
		}
		if (n > j) {
			if (found < max)
				out[found] = (struct ac_span){ j, n - j };
			found++;
		}
		i = n > i ? n - 1 : i;
	}
	return found;
}

/* Describes JSON value v for a message ("\"abc\"", "12", "an object")
 * into buf (bufsz bytes). */
static const char *
describe(const json_t *v, char *buf, size_t bufsz)
{
	char	shown[SHOW_BUF];

	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, bufsz, "\"%s\"", show(json_string_value(v),
		    json_string_length(v), shown));
		break;
	case JSON_INTEGER:
		snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, bufsz, "%.15g", json_real_value(v));
		break;
	case JSON_OBJECT:
		snprintf(buf, bufsz, "an object");
		break;
	case JSON_ARRAY:
		snprintf(buf, bufsz, "an array");
		break;
	default:
		snprintf(buf, bufsz, "%s", json_is_true(v) ? "true" :
		    json_is_false(v) ? "false" : "null");
		break;
	}
	return buf;
}

/* Fails with 400 invalid_value on slot: why (e.g. "is not a number"),
 * then what v was. Returns -1. */
static int
invalid(const json_t *v, int slot, const char *why,
    struct ac_alert_error *err)
{
	char	got[SHOW_BUF + 8];

	return fail(err, 400, "invalid_value", slots[slot].name,
	    "field \"%s\" %s; received %s", slots[slot].name, why,
	    slots[slot].hidden ? "a hidden value" : describe(v, got,
	    sizeof(got)));
}

/* Ticker ("binance:btcusdt") → out->symbol and, from a prefix,
 * out->exchange. */
static int
parse_symbol(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char num[24];
	const char *text = num;

	/* {{ticker}} written without quotes gives a number for tickers such
	 * as HKEX:1810's "1810" */
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		text = json_string_value(v);
	else
		return invalid(v, slot, "must be a string", err);
	if (ac_symbol_normalize(text, out->symbol,
	    sizeof(out->symbol), out->exchange, sizeof(out->exchange)) == -1)
		return invalid(v, slot, "must be a ticker like BINANCE:BTCUSDT "
		    "(A-Z 0-9 . _ - !, under " STR(AC_SYMBOL_MAX) " bytes each)",
		    err);
	return 0;
}

/* Exchange key → out->exchange, unless the ticker already had a prefix
 * (ac_alert_parse() refuses a body where the two differ). */
static int
parse_exchange(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char	exch[AC_SYMBOL_MAX];

	if (!json_is_string(v) || strchr(json_string_value(v), ':') != NULL ||
	    ac_symbol_normalize(json_string_value(v), exch, sizeof(exch),
	    NULL, 0) == -1)
		return invalid(v, slot, "must be an exchange like BINANCE",
		    err);
	if (out->exchange[0] == '\0')
		memcpy(out->exchange, exch, sizeof(exch));
	return 0;
}

/* Interval as a string or a JSON integer (minutes) → canonical
 * out->timeframe. */
static int
parse_timeframe(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char	num[24];

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		if (json_integer_value(v) > 0 &&
		    ac_timeframe_normalize(num, out->timeframe,
		    sizeof(out->timeframe)) == 0)
			return 0;
	} else if (json_is_string(v) &&
	    ac_timeframe_normalize(json_string_value(v), out->timeframe,
	    sizeof(out->timeframe)) == 0)
		return 0;
	return invalid(v, slot, "must be a TradingView interval like 5, 60, "
	    "240, D, W, 1D, 4h or 15m", err);
}

/* Strategy name → out->strategy, trimmed: non-empty, no control bytes. */
static int
parse_strategy(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	const unsigned char	*p;

	if (!json_is_string(v))
		return invalid(v, slot, "must be a string", err);
	if (trim_copy(json_string_value(v), out->strategy,
	    sizeof(out->strategy)) == -1)
		return invalid(v, slot, "is too long", err);
	if (out->strategy[0] == '\0')
		return invalid(v, slot, "is empty", err);
	for (p = (const unsigned char *)out->strategy; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return invalid(v, slot, "holds a control character",
			    err);
	return 0;
}

/* Action word → out->action (never AC_ACTION_NONE on success). */
static int
parse_action(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	if (!json_is_string(v))
		return invalid(v, slot, "must be a string", err);
	out->action = ac_action_parse(json_string_value(v));
	if (out->action == AC_ACTION_NONE)
		return invalid(v, slot, "must be buy, sell, long, short, exit, "
		    "close, flat, tp_hit or sl_hit", err);
	return 0;
}

/* JSON number or decimal string → the slot's double and "%.15g" text
 * (price, take profit or stop loss); the sign is the check's business. */
static int
parse_number(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char	 buf[NUM_TEXT_MAX];
	double	 d, *dst;
	char	*text;

	switch (slot) {
	case AC_F_PRICE:
		dst = &out->price;
		text = out->price_text;
		break;
	case AC_F_TP:
		dst = &out->take_profit;
		text = out->tp_text;
		break;
	default:
		dst = &out->stop_loss;
		text = out->sl_text;
		break;
	}
	if (json_is_number(v))
		d = json_number_value(v);
	else if (!json_is_string(v) ||
	    trim_copy(json_string_value(v), buf, sizeof(buf)) == -1 ||
	    parse_decimal(buf, &d) == -1)
		return invalid(v, slot, "must be a decimal number like 42000.5",
		    err);
	*dst = d = d == 0 ? 0 : d;	/* no "-0" in the text or the key */
	snprintf(text, AC_NUM_MAX, "%.15g", d);
	return 0;
}

/* ISO-8601 string, digits or JSON integer (unix s or ms) →
 * out->time_ms. */
static int
parse_time(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char	buf[TIME_TEXT_MAX];

	if (json_is_integer(v) ?
	    epoch_ms(json_integer_value(v), &out->time_ms) == 0 :
	    json_is_string(v) &&
	    trim_copy(json_string_value(v), buf, sizeof(buf)) == 0 &&
	    ac_time_parse(buf, &out->time_ms) == 0)
		return 0;
	return invalid(v, slot, "must be ISO-8601 like 2024-01-15T10:30:00Z "
	    "or unix seconds or milliseconds", err);
}

/* Secret → out->secret byte for byte; never echoed in a message. */
static int
parse_secret(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	if (!json_is_string(v) ||
	    json_string_length(v) >= sizeof(out->secret))
		return invalid(v, slot, "must be a string under "
		    STR(AC_SECRET_MAX) " bytes", err);
	memcpy(out->secret, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* The words of a position slot, by enum ac_position ("" for NONE). */
static const char *const position_words[AC_POS_FLAT + 1] = {
	"", "long", "short", "flat"
};
static const char *const sentiment_words[AC_POS_FLAT + 1] = {
	"", "bullish", "bearish", "flat"
};

/* The word slot uses for position p. */
static const char *
position_word(int slot, enum ac_position p)
{
	return (slot == SLOT_SENTIMENT ? sentiment_words :
	    position_words)[(unsigned)p <= AC_POS_FLAT ? p : AC_POS_NONE];
}

/* "long", "short" or "flat" (sentiment: "bullish", "bearish", "flat"), in
 * any case, trimmed → the slot's member of out. */
static int
parse_position(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	enum ac_position	*dst = slot == SLOT_POSITION ? &out->position :
				    slot == SLOT_PREV_POSITION ?
				    &out->prev_position : &out->sentiment;
	char			 buf[16];
	int			 p;

	if (json_is_string(v) &&
	    trim_copy(json_string_value(v), buf, sizeof(buf)) == 0)
		for (p = AC_POS_LONG; p <= AC_POS_FLAT; p++)
			if (strcasecmp(buf, position_word(slot, p)) == 0) {
				*dst = (enum ac_position)p;
				return 0;
			}
	return invalid(v, slot, slot == SLOT_SENTIMENT ? "must be bullish, "
	    "bearish or flat" : "must be long, short or flat", err);
}

/* ---- what the trader did -------------------------------------------- */

/* The action's name in lower case ("sell", "exit_long") into buf. */
static const char *
action_word(enum ac_action a, char *buf, size_t bufsz)
{
	size_t	i;

	snprintf(buf, bufsz, "%s", ac_action_name(a));
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = (char)to_lower((unsigned char)buf[i]);
	return buf;
}

/* The side an exit action (or a buy or sell to flat) closes: LONG, SHORT,
 * or NONE when the action names none. */
static enum ac_position
closed_side(enum ac_action a)
{
	switch (a) {
	case AC_ACTION_SELL:
	case AC_ACTION_EXIT_LONG:
		return AC_POS_LONG;
	case AC_ACTION_BUY:
	case AC_ACTION_EXIT_SHORT:
		return AC_POS_SHORT;
	default:
		return AC_POS_NONE;
	}
}

/* 1 if a is an exit the strategy sent (not a TP or SL hit). */
static int
is_exit(enum ac_action a)
{
	return a == AC_ACTION_EXIT_LONG || a == AC_ACTION_EXIT_SHORT ||
	    a == AC_ACTION_EXIT;
}

/* Resolves a->action against the positions sent (see ac_alert_parse() in
 * tv.h): entries stay, moves to flat become exits, and anything
 * else is refused. 0, or -1 with *err (400). */
static int
resolve_position(struct ac_alert *a, struct ac_alert_error *err)
{
	int			 slot = a->position ? SLOT_POSITION :
				    SLOT_SENTIMENT;
	enum ac_position	 now = a->position ? a->position : a->sentiment;
	enum ac_position	 was = a->prev_position, side;
	const char		*field = slots[slot].name;
	const char		*word = position_word(slot, now);
	const char		*prev = position_word(SLOT_PREV_POSITION, was);
	char			 act[16];

	action_word(a->action, act, sizeof(act));
	if (a->position && a->sentiment && a->position != a->sentiment)
		return fail(err, 400, "contradictory_position", "sentiment",
		    "sentiment \"%s\" contradicts market_position \"%s\"",
		    position_word(SLOT_SENTIMENT, a->sentiment), word);
	switch (now) {
	case AC_POS_NONE:
		if (was == AC_POS_FLAT && a->action != AC_ACTION_BUY &&
		    a->action != AC_ACTION_SELL)
			return fail(err, 400, "contradictory_position",
			    "prev_market_position", "action %s with "
			    "prev_market_position \"flat\": nothing was open "
			    "to close", act);
		if (was != AC_POS_NONE && was == closed_side(a->action) &&
		    !is_exit(a->action))
			return fail(err, 400, "missing_field", "market_position",
			    "prev_market_position \"%s\" with action %s does "
			    "not say whether the %s was closed or reversed; send "
			    "market_position (\"flat\" or \"%s\")", prev, act,
			    prev, position_word(SLOT_POSITION,
			    was == AC_POS_LONG ? AC_POS_SHORT : AC_POS_LONG));
		break;
	case AC_POS_FLAT:
		if (was == AC_POS_FLAT)
			return fail(err, 400, "contradictory_position", field,
			    "%s \"flat\" after prev_market_position \"flat\": "
			    "nothing was closed", field);
		if (a->action == AC_ACTION_TP_HIT ||
		    a->action == AC_ACTION_SL_HIT)
			return 0;
		side = closed_side(a->action);
		if (side != AC_POS_NONE && was != AC_POS_NONE && was != side)
			return fail(err, 400, "contradictory_position", field,
			    "%s \"flat\" after prev_market_position \"%s\": "
			    "%s does not close a %s", field, prev,
			    is_exit(a->action) ? (side == AC_POS_LONG ? "an exit "
			    "of the long side" : "an exit of the short side") :
			    side == AC_POS_LONG ? "a sell" : "a buy", prev);
		if (side == AC_POS_NONE)
			side = was;
		a->action = side == AC_POS_LONG ? AC_ACTION_EXIT_LONG :
		    side == AC_POS_SHORT ? AC_ACTION_EXIT_SHORT : AC_ACTION_EXIT;
		return 0;
	default:
		if ((now == AC_POS_LONG && a->action == AC_ACTION_BUY) ||
		    (now == AC_POS_SHORT && a->action == AC_ACTION_SELL))
			return 0;
		/* TradingView's strategy.exit with qty_percent, scaling out */
		if (was == now && (a->action == AC_ACTION_SELL || a->action == AC_ACTION_BUY))
			return fail(err, 400, "contradictory_position", field,
			    "%s \"%s\" after \"%s\" with action %s is a partial exit "
			    "(the position stays %s): alertcast follows whole positions, "
			    "so send the alert of the move to flat instead", field, word,
			    prev, act, position_word(SLOT_POSITION, now));
		return fail(err, 400, "contradictory_position", field,
		    "%s \"%s\" contradicts action %s: a position left %s is "
		    "an entry by a %s, and a move to flat is an exit", field,
		    word, act, position_word(SLOT_POSITION, now),
		    now == AC_POS_LONG ? "buy" : "sell");
	}
	/* no position now: an exit word takes its side from the one before */
	if (a->action == AC_ACTION_EXIT && was != AC_POS_NONE)
		a->action = was == AC_POS_LONG ? AC_ACTION_EXIT_LONG :
		    AC_ACTION_EXIT_SHORT;
	else if (is_exit(a->action) && was != AC_POS_NONE &&
	    closed_side(a->action) != was)
		return fail(err, 400, "contradictory_position",
		    "prev_market_position", "action %s with "
		    "prev_market_position \"%s\": it does not close a %s", act,
		    prev, prev);
	return 0;
}

/* ---- parse ---------------------------------------------------------- */

/* For a body jansson refused: if it holds a placeholder outside any
 * string (`"price": {{close}}`), fails with unfilled_placeholder naming
 * the key before it. Returns -1 if so, 0 if there is none. */
static int
raw_placeholder(const char *body, size_t len, struct ac_alert_error *err)
{
	char		 shown[SHOW_BUF], key[SHOW_BUF];
	size_t		 i, off, plen = 0, k, a;
	int		 in_string = 0;
	const char	*field = NULL;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (body[i] == '\\')
				i++;
			else if (body[i] == '"')
				in_string = 0;
		} else if (body[i] == '"')
			in_string = 1;
		else if ((plen = placeholder_at(body + i, len - i)) != 0)
			break;
	}
	if (i >= len)
		return 0;
	show(body + i, plen, shown);
	k = i;
	while (k > 0 && is_space((unsigned char)body[k - 1]))
		k--;
	if (k > 0 && body[k - 1] == ':') {
		for (k--; k > 0 && is_space((unsigned char)body[k - 1]); k--)
			continue;
		if (k > 0 && body[k - 1] == '"') {
			for (off = --k; off > 0 && k - off <= PH_MAX &&
			    body[off - 1] >= 0x20 && body[off - 1] <= 0x7e &&
			    body[off - 1] != '"' && body[off - 1] != '\\';
			    off--)
				continue;
			if (off > 0 && body[off - 1] == '"') {
				if ((a = alias_find(body + off, k - off)) <
				    NALIASES)
					field = slots[aliases[a].slot].name;
				return fail(err, 400, "unfilled_placeholder",
				    field, "%s \"%s\" holds the unfilled "
				    "TradingView placeholder %s",
				    field ? "field" : "key", field ? field :
				    show(body + off, k - off, key), shown);
			}
		}
	}
	return fail(err, 400, "unfilled_placeholder", NULL, "the body holds "
	    "the unfilled TradingView placeholder %s outside a JSON string",
	    shown);
}

/* Fails with malformed_json (or unfilled_placeholder, see above) for a
 * body jansson refused with *jerr. Returns -1. */
static int
malformed(const char *body, size_t len, const char *content_type,
    const json_error_t *jerr, struct ac_alert_error *err)
{
	char	text[SHOW_BUF];
	int	plain = content_type != NULL &&
		    strncasecmp(content_type, "text/plain", 10) == 0;

	if (raw_placeholder(body, len, err) == -1)
		return -1;
	return fail(err, 400, "malformed_json", NULL, "the body is not valid "
	    "JSON: line %d, column %d: %s%s", jerr->line, jerr->column,
	    show(jerr->text, strlen(jerr->text), text), plain ? " (it came "
	    "as text/plain: TradingView did not see JSON in the alert "
	    "message)" : "");
}

/* Parses v, a value of slot, into out: an unfilled placeholder or an
 * invalid value fails (400). 0, or -1 with *err. */
static int
parse_slot(const json_t *v, int slot, struct ac_alert *out,
    struct ac_alert_error *err)
{
	char		 shown[SHOW_BUF];
	const char	*s = json_string_value(v);
	size_t		 off, plen;

	if (s != NULL && !slots[slot].hidden &&
	    find_placeholder(s, strlen(s), &off, &plen))
		return fail(err, 400, "unfilled_placeholder", slots[slot].name,
		    "field \"%s\" holds the unfilled TradingView placeholder %s",
		    slots[slot].name, show(s + off, plen, shown));
	return slots[slot].parse(v, slot, out, err);
}

/* 1 if a and b hold the same value of slot once normalized ("60" = "1h",
 * 42000 = "42000.0", "UT Bot" = "ut_bot"). */
static int
slot_agree(const struct ac_alert *a, const struct ac_alert *b, int slot)
{
	const char	*ta, *tb;

	switch (slot) {
	case AC_F_SYMBOL:
		return strcmp(a->symbol, b->symbol) == 0;
	case AC_F_TIMEFRAME:
		return strcmp(a->timeframe, b->timeframe) == 0;
	case AC_F_STRATEGY:
		return names_match(a->strategy, b->strategy);
	case AC_F_ACTION:
		return a->action == b->action;
	case AC_F_PRICE:
	case AC_F_TP:
	case AC_F_SL:
		level_of(a, slot, &ta);
		level_of(b, slot, &tb);
		return strcmp(ta, tb) == 0;
	case AC_F_TIME:
		return a->time_ms == b->time_ms;
	case SLOT_SECRET:
		return strlen(a->secret) == strlen(b->secret) &&
		    CRYPTO_memcmp(a->secret, b->secret, strlen(a->secret)) == 0;
	case SLOT_EXCHANGE:
		return strcmp(a->exchange, b->exchange) == 0;
	case SLOT_POSITION:
		return a->position == b->position;
	case SLOT_PREV_POSITION:
		return a->prev_position == b->prev_position;
	case SLOT_SENTIMENT:
		return a->sentiment == b->sentiment;
	default:	/* a slot with no rule here: two of its keys conflict */
		return 0;
	}
}

/* Fails with 400 conflicting_fields: keys ka and kb (values va, vb) give
 * slot two different values. A hidden value is not shown. Returns -1. */
static int
conflict(int slot, const char *ka, const json_t *va, const char *kb,
    const json_t *vb, struct ac_alert_error *err)
{
	char	a[SHOW_BUF + 8], b[SHOW_BUF + 8];

	if (slots[slot].hidden)
		return fail(err, 400, "conflicting_fields", slots[slot].name,
		    "keys \"%s\" and \"%s\" both give field \"%s\", with "
		    "different values (not shown); send one of them", ka, kb,
		    slots[slot].name);
	return fail(err, 400, "conflicting_fields", slots[slot].name,
	    "keys \"%s\" and \"%s\" both give field \"%s\", with different "
	    "values: received %s and %s; send one of them, or the same value",
	    ka, kb, slots[slot].name, describe(va, a, sizeof(a)),
	    describe(vb, b, sizeof(b)));
}

int
ac_alert_parse(const char *body, size_t len, const char *content_type,
    struct ac_alert *out, struct ac_alert_error *err)
{
	const json_t	*found[SLOT__MAX] = { NULL }, *exch_val = NULL;
	const char	*fkey[SLOT__MAX] = { NULL }, *exch_key = NULL;
	size_t		 rank[SLOT__MAX] = { 0 }, i, a;
	char		 list[160];
	struct ac_alert	 other;
	json_error_t	 jerr;
	json_t		*root, *v;
	const char	*key;
	int		 slot, rc = -1;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < len && is_space((unsigned char)body[i]); i++)
		continue;
	if (i == len)
		return fail(err, 400, "empty_body", NULL, "the body is empty; "
		    "send the alert as a JSON object");
	root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (root == NULL)
		return malformed(body, len, content_type, &jerr, err);
	if (!json_is_object(root)) {
		fail(err, 400, "malformed_json", NULL, "the body must be a JSON "
		    "object; received %s", describe(root, list, sizeof(list)));
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (json_is_null(v) || (a = alias_find(key, strlen(key))) ==
		    NALIASES)
			continue;
		slot = aliases[a].slot;
		if (found[slot] == NULL || a < rank[slot]) {
			found[slot] = v;
			fkey[slot] = key;
			rank[slot] = a;
		}
	}
	for (slot = 0; slot < SLOT__MAX; slot++) {
		if (found[slot] == NULL) {
			if (slots[slot].required) {
				fail(err, 400, "missing_field", slots[slot].name,
				    "field \"%s\" is missing (send one of: %s)",
				    slots[slot].name, alias_list(slot, list,
				    sizeof(list)));
				goto out;
			}
			continue;
		}
		if (parse_slot(found[slot], slot, out, err) == -1)
			goto out;
		if (slot < AC_F__MAX)
			out->present |= BIT(slot);
		if (out->exchange[0] != '\0' && exch_key == NULL) {
			exch_key = fkey[slot];
			exch_val = found[slot];
		}
	}
	/*
	 * Every other key of a field must give the value its first-ranked key
	 * gave, and every exchange (a ticker's prefix, the exchange key) the
	 * first one found: an ETH price must not become a BTC signal.
	 */
	json_object_foreach(root, key, v) {
		if (json_is_null(v) || (a = alias_find(key, strlen(key))) ==
		    NALIASES)
			continue;
		slot = aliases[a].slot;
		if (v == found[slot] && slot != SLOT_EXCHANGE)
			continue;
		memset(&other, 0, sizeof(other));
		if (parse_slot(v, slot, &other, err) == -1)
			goto out;
		if (slot != SLOT_EXCHANGE && !slot_agree(out, &other, slot)) {
			conflict(slot, fkey[slot], found[slot], key, v, err);
			goto out;
		}
		if (other.exchange[0] == '\0')	/* not a ticker with a prefix */
			continue;
		if (exch_key == NULL) {
			memcpy(out->exchange, other.exchange, sizeof(out->exchange));
			exch_key = key;
			exch_val = v;
		} else if (!slot_agree(out, &other, SLOT_EXCHANGE)) {
			conflict(SLOT_EXCHANGE, exch_key, exch_val, key, v, err);
			goto out;
		}
	}
	if (resolve_position(out, err) == -1)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---- check ---------------------------------------------------------- */

/* s past any ASCII byte that is neither a letter nor a digit. */
static const char *
skip_punct(const char *s)
{
	while (*s != '\0' && (unsigned char)*s < 0x80 &&
	    !is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s))
		s++;
	return s;
}

/* 1 if a and b have the same letters and digits, ignoring ASCII case
 * ("UT Bot" = "ut_bot" = "UTBOT"). */
static int
names_match(const char *a, const char *b)
{
	for (;;) {
		a = skip_punct(a);
		b = skip_punct(b);
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (to_lower((unsigned char)*a) != to_lower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

/* The value of price field f (AC_F_PRICE, AC_F_TP or AC_F_SL) of a, and
 * its "%.15g" text through *text. */
static double
level_of(const struct ac_alert *a, int f, const char **text)
{
	switch (f) {
	case AC_F_TP:
		*text = a->tp_text;
		return a->take_profit;
	case AC_F_SL:
		*text = a->sl_text;
		return a->stop_loss;
	default:
		*text = a->price_text;
		return a->price;
	}
}

/* Fails with 422 tp_wrong_side / sl_wrong_side unless the level at f is
 * above (above != 0) or below the entry price. 0, or -1. */
static int
check_side(const struct ac_alert *a, int f, int above,
    struct ac_alert_error *err)
{
	const char	*text;
	double		 level = level_of(a, f, &text);

	if (!(a->present & BIT(f)) ||
	    (above ? level > a->price : level < a->price))
		return 0;
	return fail(err, 422, f == AC_F_TP ? "tp_wrong_side" : "sl_wrong_side",
	    slots[f].name, "%s %s must be %s the %s entry price %s",
	    f == AC_F_TP ? "take profit" : "stop loss", text,
	    above ? "above" : "below", ac_action_name(a->action),
	    a->price_text);
}

/* The enabled actions (bits) of which one lets a through: an exit rides
 * on the entry that opened what it closes. */
static unsigned
enabled_by(enum ac_action a)
{
	switch (a) {
	case AC_ACTION_EXIT_LONG:
		return BIT(AC_ACTION_BUY);
	case AC_ACTION_EXIT_SHORT:
		return BIT(AC_ACTION_SELL);
	case AC_ACTION_EXIT:
		return BIT(AC_ACTION_BUY) | BIT(AC_ACTION_SELL);
	default:
		return BIT(a);
	}
}

int
ac_alert_check(const struct ac_alert *a, const struct ac_rules *r,
    int64_t now_ms, struct ac_alert_error *err)
{
	static const int	 levels[] = { AC_F_PRICE, AC_F_TP, AC_F_SL };
	unsigned		 missing = r->required & ~a->present & FIELDS_ALL;
	char			 got[SHOW_BUF], want[SHOW_BUF], when[48];
	char			 list[160];
	const char		*text;
	int64_t			 age;
	int			 f, buy;
	size_t			 i;

	for (f = 0; missing != 0; f++)
		if (missing & BIT(f))
			return fail(err, 400, "missing_field", slots[f].name,
			    "field \"%s\" is required by this strategy (send "
			    "one of: %s)", slots[f].name, alias_list(f, list,
			    sizeof(list)));
	if ((a->present & BIT(AC_F_SYMBOL)) && strcmp(a->symbol, r->symbol))
		return fail(err, 422, "symbol_mismatch", slots[AC_F_SYMBOL].name,
		    "received symbol %s, the strategy trades %s", a->symbol,
		    r->symbol);
	if ((a->present & BIT(AC_F_TIMEFRAME)) &&
	    strcmp(a->timeframe, r->timeframe))
		return fail(err, 422, "timeframe_mismatch",
		    slots[AC_F_TIMEFRAME].name, "received timeframe %s, the "
		    "strategy runs on %s", a->timeframe, r->timeframe);
	if ((a->present & BIT(AC_F_STRATEGY)) &&
	    !names_match(a->strategy, r->name))
		return fail(err, 422, "strategy_mismatch",
		    slots[AC_F_STRATEGY].name, "received strategy \"%s\", "
		    "expected \"%s\"", show(a->strategy, strlen(a->strategy),
		    got), show(r->name, strlen(r->name), want));
	if ((unsigned)a->action >= AC_ACTION__MAX ||
	    !(r->actions & enabled_by(a->action)))
		return fail(err, 422, "action_disabled", slots[AC_F_ACTION].name,
		    "action %s %s enabled for this strategy",
		    ac_action_name(a->action), !is_exit(a->action) ? "is not" :
		    a->action == AC_ACTION_EXIT_LONG ? "needs BUY" :
		    a->action == AC_ACTION_EXIT_SHORT ? "needs SELL" :
		    "needs BUY or SELL");
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		f = levels[i];
		if ((a->present & BIT(f)) && !(level_of(a, f, &text) > 0))
			return fail(err, 422, "invalid_price", slots[f].name,
			    "field \"%s\" must be above 0; received %s",
			    slots[f].name, text);
	}
	if ((a->present & BIT(AC_F_PRICE)) &&
	    (a->action == AC_ACTION_BUY || a->action == AC_ACTION_SELL)) {
		buy = a->action == AC_ACTION_BUY;
		if (check_side(a, AC_F_TP, buy, err) == -1 ||
		    check_side(a, AC_F_SL, !buy, err) == -1)
			return -1;
	}
	if (a->present & BIT(AC_F_TIME)) {
		age = now_ms - a->time_ms;
		ac_iso8601_ms(a->time_ms, when);
		if (age > r->max_skew_ms)
			return fail(err, 422, "stale_alert",
			    slots[AC_F_TIME].name, "alert time %s is %.3f s "
			    "old; at most %.3f s allowed", when, age / 1000.0,
			    r->max_skew_ms / 1000.0);
		if (-age > r->max_skew_ms)
			return fail(err, 422, "future_alert",
			    slots[AC_F_TIME].name, "alert time %s is %.3f s in "
			    "the future; at most %.3f s allowed", when,
			    -age / 1000.0, r->max_skew_ms / 1000.0);
	}
	return 0;
}

/* ---- key ------------------------------------------------------------ */

/* Writes the lower-case hex SHA-256 of the fields of a under strategy_id,
 * prefixed by tag and followed by when (NULL: none), into out. */
static void
key_of(const char *tag, const struct ac_alert *a, long long strategy_id,
    const char *when, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 buf[320];
	int			 n;

	n = snprintf(buf, sizeof(buf), "%s|%lld|%s|%s|%s|%s|%s|%s%s%s", tag,
	    strategy_id, a->symbol, a->timeframe, ac_action_name(a->action),
	    a->price_text, a->tp_text, a->sl_text, when ? "|" : "",
	    when ? when : "");
	/* A broken libcrypto must not yield a key that merges alerts. */
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		abort();
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

int64_t
ac_alert_event_ms(const struct ac_alert *a, int64_t received_ms)
{
	return a->present & BIT(AC_F_TIME) ? a->time_ms : received_ms;
}

void
ac_alert_key(const struct ac_alert *a, long long strategy_id,
    int64_t received_ms, char out[65])
{
	char	when[24];

	/* "a": the arrival stands in; a time of the same ms is another key */
	snprintf(when, sizeof(when), "%s%" PRId64,
	    a->present & BIT(AC_F_TIME) ? "" : "a", ac_alert_event_ms(a,
	    received_ms));
	key_of("v1", a, strategy_id, when, out);
}

void
ac_alert_content_key(const struct ac_alert *a, long long strategy_id,
    char out[65])
{
	key_of("c1", a, strategy_id, NULL, out);
}

const char *
ac_field_name(enum ac_field f)
{
	return (unsigned)f < AC_F__MAX ? slots[f].name : "unknown";
}
