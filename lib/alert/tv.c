/*
 * tv.c — TradingView alert payloads: parse, normalize, check, key.
 *
 * Split in three (tvint.h): tvvalue.c (text helpers, normalizers), this
 * file (the field table and ac_alert_parse), tvcheck.c (check and keys).
 *
 * Reading order here: the field table that ac_alert_parse() walks, the
 * position keys resolved against the action, then ac_alert_parse().
 * Everything is pure: the only allocation is jansson's tree, freed before
 * ac_alert_parse() returns.
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
const char *
tv_alias_list(int slot, char *buf, size_t bufsz)
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
		snprintf(buf, bufsz, "\"%s\"", tv_show(json_string_value(v),
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

	return tv_fail(err, 400, "invalid_value", slots[slot].name,
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
	if (tv_trim_copy(json_string_value(v), out->strategy,
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
		    "close, flat, tp_hit, sl_hit or heartbeat", err);
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
	    tv_trim_copy(json_string_value(v), buf, sizeof(buf)) == -1 ||
	    tv_parse_decimal(buf, &d) == -1)
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
	    tv_epoch_ms(json_integer_value(v), &out->time_ms) == 0 :
	    json_is_string(v) &&
	    tv_trim_copy(json_string_value(v), buf, sizeof(buf)) == 0 &&
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
	    tv_trim_copy(json_string_value(v), buf, sizeof(buf)) == 0)
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
int
tv_is_exit(enum ac_action a)
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

	if (a->action == AC_ACTION_HEARTBEAT)	/* a beat moves no position */
		return 0;
	action_word(a->action, act, sizeof(act));
	if (a->position && a->sentiment && a->position != a->sentiment)
		return tv_fail(err, 400, "contradictory_position", "sentiment",
		    "sentiment \"%s\" contradicts market_position \"%s\"",
		    position_word(SLOT_SENTIMENT, a->sentiment), word);
	switch (now) {
	case AC_POS_NONE:
		if (was == AC_POS_FLAT && a->action != AC_ACTION_BUY &&
		    a->action != AC_ACTION_SELL)
			return tv_fail(err, 400, "contradictory_position",
			    "prev_market_position", "action %s with "
			    "prev_market_position \"flat\": nothing was open "
			    "to close", act);
		if (was != AC_POS_NONE && was == closed_side(a->action) &&
		    !tv_is_exit(a->action))
			return tv_fail(err, 400, "missing_field", "market_position",
			    "prev_market_position \"%s\" with action %s does "
			    "not say whether the %s was closed or reversed; send "
			    "market_position (\"flat\" or \"%s\")", prev, act,
			    prev, position_word(SLOT_POSITION,
			    was == AC_POS_LONG ? AC_POS_SHORT : AC_POS_LONG));
		break;
	case AC_POS_FLAT:
		if (was == AC_POS_FLAT)
			return tv_fail(err, 400, "contradictory_position", field,
			    "%s \"flat\" after prev_market_position \"flat\": "
			    "nothing was closed", field);
		if (a->action == AC_ACTION_TP_HIT ||
		    a->action == AC_ACTION_SL_HIT)
			return 0;
		side = closed_side(a->action);
		if (side != AC_POS_NONE && was != AC_POS_NONE && was != side)
			return tv_fail(err, 400, "contradictory_position", field,
			    "%s \"flat\" after prev_market_position \"%s\": "
			    "%s does not close a %s", field, prev,
			    tv_is_exit(a->action) ? (side == AC_POS_LONG ? "an exit "
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
			return tv_fail(err, 400, "contradictory_position", field,
			    "%s \"%s\" after \"%s\" with action %s is a partial exit "
			    "(the position stays %s): alertcast follows whole positions, "
			    "so send the alert of the move to flat instead", field, word,
			    prev, act, position_word(SLOT_POSITION, now));
		return tv_fail(err, 400, "contradictory_position", field,
		    "%s \"%s\" contradicts action %s: a position left %s is "
		    "an entry by a %s, and a move to flat is an exit", field,
		    word, act, position_word(SLOT_POSITION, now),
		    now == AC_POS_LONG ? "buy" : "sell");
	}
	/* no position now: an exit word takes its side from the one before */
	if (a->action == AC_ACTION_EXIT && was != AC_POS_NONE)
		a->action = was == AC_POS_LONG ? AC_ACTION_EXIT_LONG :
		    AC_ACTION_EXIT_SHORT;
	else if (tv_is_exit(a->action) && was != AC_POS_NONE &&
	    closed_side(a->action) != was)
		return tv_fail(err, 400, "contradictory_position",
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
		else if ((plen = tv_placeholder_at(body + i, len - i)) != 0)
			break;
	}
	if (i >= len)
		return 0;
	tv_show(body + i, plen, shown);
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
				return tv_fail(err, 400, "unfilled_placeholder",
				    field, "%s \"%s\" holds the unfilled "
				    "TradingView placeholder %s",
				    field ? "field" : "key", field ? field :
				    tv_show(body + off, k - off, key), shown);
			}
		}
	}
	return tv_fail(err, 400, "unfilled_placeholder", NULL, "the body holds "
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
	return tv_fail(err, 400, "malformed_json", NULL, "the body is not valid "
	    "JSON: line %d, column %d: %s%s", jerr->line, jerr->column,
	    tv_show(jerr->text, strlen(jerr->text), text), plain ? " (it came "
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
	    tv_find_placeholder(s, strlen(s), &off, &plen))
		return tv_fail(err, 400, "unfilled_placeholder", slots[slot].name,
		    "field \"%s\" holds the unfilled TradingView placeholder %s",
		    slots[slot].name, tv_show(s + off, plen, shown));
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
		return tv_names_match(a->strategy, b->strategy);
	case AC_F_ACTION:
		return a->action == b->action;
	case AC_F_PRICE:
	case AC_F_TP:
	case AC_F_SL:
		tv_level_of(a, slot, &ta);
		tv_level_of(b, slot, &tb);
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
		return tv_fail(err, 400, "conflicting_fields", slots[slot].name,
		    "keys \"%s\" and \"%s\" both give field \"%s\", with "
		    "different values (not shown); send one of them", ka, kb,
		    slots[slot].name);
	return tv_fail(err, 400, "conflicting_fields", slots[slot].name,
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
		return tv_fail(err, 400, "empty_body", NULL, "the body is empty; "
		    "send the alert as a JSON object");
	root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (root == NULL)
		return malformed(body, len, content_type, &jerr, err);
	if (!json_is_object(root)) {
		tv_fail(err, 400, "malformed_json", NULL, "the body must be a JSON "
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
				tv_fail(err, 400, "missing_field", slots[slot].name,
				    "field \"%s\" is missing (send one of: %s)",
				    slots[slot].name, tv_alias_list(slot, list,
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

const char *
ac_field_name(enum ac_field f)
{
	return (unsigned)f < AC_F__MAX ? slots[f].name : "unknown";
}
