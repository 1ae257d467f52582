/*
 * tv.h — TradingView alert payloads: parse, normalize, check, key.
 *
 * Pure functions: no I/O, no allocation that outlives a call, no globals.
 * ac_alert_parse() turns a request body into a normalized struct ac_alert
 * (errors are the client's fault: HTTP 400); ac_alert_check() holds that
 * alert against one strategy's rules at a given time (400 for a missing
 * required field, 422 for a rule the alert does not fit).
 */
#ifndef AC_SIGNAL_H
#define AC_SIGNAL_H

#include <stddef.h>
#include <stdint.h>

enum ac_action {
	AC_ACTION_NONE = 0,
	AC_ACTION_BUY,
	AC_ACTION_SELL,
	AC_ACTION_TP_HIT,
	AC_ACTION_SL_HIT,
	/* a move to flat: the strategy closed its long, its short, or (side
	 * unsaid) whatever it held; never enabled on its own (ac_alert_check) */
	AC_ACTION_EXIT_LONG,
	AC_ACTION_EXIT_SHORT,
	AC_ACTION_EXIT,
	/* the generated script's bar-close beat: the strategy's alerts are
	 * alive; stored as the strategy's last heartbeat, never a signal */
	AC_ACTION_HEARTBEAT,
	AC_ACTION__MAX
};

/* Actions below this one are what a strategy enables (enabled_actions). */
#define AC_ACTION_ENABLE_MAX	AC_ACTION_EXIT_LONG

/* Where a strategy's position stands, from the market_position keys or
 * the sentiment (bullish = LONG, bearish = SHORT). */
enum ac_position {
	AC_POS_NONE = 0,	/* not sent */
	AC_POS_LONG,
	AC_POS_SHORT,
	AC_POS_FLAT
};

/* Canonical fields of an alert; bit (1u << f) in masks below. */
enum ac_field {
	AC_F_SYMBOL = 0,
	AC_F_TIMEFRAME,
	AC_F_STRATEGY,
	AC_F_ACTION,
	AC_F_PRICE,
	AC_F_TP,
	AC_F_SL,
	AC_F_TIME,
	AC_F__MAX
};

#define AC_SYMBOL_MAX    32
#define AC_TIMEFRAME_MAX 8
#define AC_NAME_MAX      128
#define AC_NUM_MAX       32
#define AC_SECRET_MAX    128

struct ac_alert {
	char		symbol[AC_SYMBOL_MAX];		/* "BTCUSDT": upper case, no exchange */
	char		exchange[AC_SYMBOL_MAX];	/* "BINANCE" or "" */
	char		timeframe[AC_TIMEFRAME_MAX];	/* canonical: "1m" "4h" "1d" "1w" "1M" */
	char		strategy[AC_NAME_MAX];		/* as sent (trimmed), "" if absent */
	char		secret[AC_SECRET_MAX];		/* body "secret" field, "" if absent */
	enum ac_action	action;				/* what the trader did: the word
							 * resolved against the positions */
	enum ac_position position;			/* market_position as sent */
	enum ac_position prev_position;			/* prev_market_position as sent */
	enum ac_position sentiment;			/* sentiment as sent */
	double		price, take_profit, stop_loss;
	char		price_text[AC_NUM_MAX];		/* "%.15g" of the value, for numeric columns */
	char		tp_text[AC_NUM_MAX];		/* "" when absent */
	char		sl_text[AC_NUM_MAX];		/* "" when absent */
	int64_t		time_ms;			/* alert time, ms since the epoch (UTC) */
	unsigned	present;			/* (1u << enum ac_field) for each field sent */
};

/* The error of a parse or check: status is 400 or 422. */
struct ac_alert_error {
	int		status;
	const char	*code;		/* static: "malformed_json", "missing_field", ... */
	const char	*field;		/* static canonical field name, or NULL */
	char		message[256];	/* for a person: what was wrong, what was received */
};

/* A strategy's rules, as ac_alert_check() needs them. */
struct ac_rules {
	char		symbol[AC_SYMBOL_MAX];		/* canonical, like ac_alert.symbol */
	char		timeframe[AC_TIMEFRAME_MAX];	/* canonical */
	char		name[AC_NAME_MAX];		/* strategy name, e.g. "UT Bot" */
	unsigned	actions;			/* (1u << enum ac_action) enabled */
	unsigned	required;			/* (1u << enum ac_field) required */
	int64_t		max_skew_ms;			/* alert time vs. now, each way */
};

/* What a strategy requires unless told otherwise: the most common alert
 * form has no time (its arrival time stands in), nor a strategy name,
 * take profit or stop loss; each is still checked when sent. */
#define AC_REQUIRED_DEFAULT \
	((1u << AC_F_SYMBOL) | (1u << AC_F_TIMEFRAME) | (1u << AC_F_ACTION) | \
	 (1u << AC_F_PRICE))
#define AC_ACTIONS_ALL \
	((1u << AC_ACTION_BUY) | (1u << AC_ACTION_SELL) | \
	 (1u << AC_ACTION_TP_HIT) | (1u << AC_ACTION_SL_HIT))
#define AC_MAX_SKEW_MS_DEFAULT (5 * 60 * 1000)

/*
 * Parses a TradingView alert body of len bytes (not NUL-terminated;
 * content_type may be NULL) into *out. Returns 0, or -1 with *err filled
 * (status 400). Fields absent from the body are left zero/empty and their
 * bit clear in out->present; the action and price are always required.
 * The action word is resolved against market_position,
 * prev_market_position and sentiment into what the trader did: a sell to
 * flat is EXIT_LONG, a buy to flat EXIT_SHORT, an exit word to flat EXIT
 * (or the side prev_market_position names); a position the action
 * contradicts, or one it leaves unsaid when it matters, is a 400 naming
 * the position field.
 */
int	ac_alert_parse(const char *body, size_t len, const char *content_type,
	    struct ac_alert *out, struct ac_alert_error *err);

/*
 * Checks a parsed alert against rules at now_ms. Returns 0, or -1 with
 * *err filled: 400 for a missing required field, 422 for a rule broken
 * (symbol, timeframe or strategy mismatch, action disabled, price <= 0,
 * take profit / stop loss on the wrong side, time outside max_skew_ms).
 * An exit is enabled with the entry it closes: EXIT_LONG with BUY,
 * EXIT_SHORT with SELL, EXIT with either. A heartbeat is always enabled,
 * takes its checks like any alert, and may carry neither take profit nor
 * stop loss (400 naming the field); the position keys are not its
 * business and are passed over (ac_alert_parse).
 */
int	ac_alert_check(const struct ac_alert *a, const struct ac_rules *r,
	    int64_t now_ms, struct ac_alert_error *err);

/*
 * The alert's exact key: lower-case hex SHA-256 (64 chars + NUL) over the
 * strategy id, the normalized fields and the event time (see below) to
 * the millisecond. An identical replay (a spooled alert, a repeat of the
 * same body with its time) gives the same key; signals.idempotency_key.
 */
void	ac_alert_key(const struct ac_alert *a, long long strategy_id,
	    int64_t received_ms, char out[65]);

/* A stretch of a body: off and len bytes. */
struct ac_span {
	size_t	off;
	size_t	len;
};

/*
 * The values of the secret keys (secret, token, passphrase: any case) in a
 * body that may not parse at all: a lenient scan of the raw text for a key
 * as a whole word, quoted or not, then ':' or '=', then a value, quoted
 * (to its closing quote, or the end of the body) or bare (to a space or
 * one of , ; & } ] " '). Fills up to max spans of body with the values as
 * written (escapes and all) and returns how many it found, which may be
 * more than max. Whatever is kept or logged of a body hides these.
 */
size_t	ac_alert_secret_spans(const char *body, size_t len, struct ac_span *out, size_t max);

/*
 * What the alert says, as a key like ac_alert_key()'s but without any
 * time: strategy, symbol, timeframe, action, price, take profit, stop
 * loss. A re-send and a double fire have the same content key; ingest
 * treats two alerts with one content key as one within the strategy's
 * window of their event times.
 */
void	ac_alert_content_key(const struct ac_alert *a, long long strategy_id,
	    char out[65]);

/* The alert's event time: its own time when it carries one, else
 * received_ms (when it arrived). */
int64_t	ac_alert_event_ms(const struct ac_alert *a, int64_t received_ms);

/* Normalizes a timeframe ("60", "240", "D", "1D", "W", "4H", "15m") into
 * out ("1h", "4h", "1d", "1d", "1w", "4h", "15m"). 0, or -1 if unknown. */
int	ac_timeframe_normalize(const char *in, char *out, size_t outsz);

/* 1 if tf is one a strategy may use: 1m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w. */
int	ac_timeframe_valid(const char *tf);

/* Splits and normalizes a ticker ("binance:btcusdt") into sym and exch
 * (exch may be NULL). 0, or -1 if empty, too long or with bad characters. */
int	ac_symbol_normalize(const char *in, char *sym, size_t symsz,
	    char *exch, size_t exchsz);

/* "buy", "BUY", "long", "tp_hit", "TP", "stop_loss", "exit", "close",
 * "flat", "exit_long", "close_short", "heartbeat"... → the action, or
 * AC_ACTION_NONE. */
enum ac_action	ac_action_parse(const char *s);

/* "BUY", "SELL", "TP_HIT", "SL_HIT", "EXIT_LONG", "EXIT_SHORT", "EXIT",
 * "HEARTBEAT" (or "NONE"). */
const char	*ac_action_name(enum ac_action a);

/* "symbol", "timeframe", "strategy", "action", "price", "take_profit",
 * "stop_loss", "time". */
const char	*ac_field_name(enum ac_field f);

/* ISO-8601 ("2024-01-15T10:30:00Z", fractions, "+02:00" offsets) or unix
 * seconds / milliseconds as digits → *ms. 0, or -1. */
int	ac_time_parse(const char *s, int64_t *ms);

#endif
