/*
 * strategy.h — strategies (alert configurations): finding one by its
 * webhook token, creating one, and showing one as JSON.
 */
#ifndef AC_STRATEGY_H
#define AC_STRATEGY_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"
#include "alert/tv.h"

struct ac_strategy {
	long long	id;
	char		status[16];	/* active | inactive | testing */
	struct ac_rules	rules;
	int64_t		dedup_window_ms;	/* alerts saying the same within it are one */
};

enum ac_lookup {
	AC_LOOKUP_FOUND = 0,
	AC_LOOKUP_UNKNOWN,	/* no strategy has this token */
	AC_LOOKUP_DB_DOWN	/* the database could not answer */
};

/*
 * Finds the strategy whose webhook token has the SHA-256 hash (the token
 * itself is never needed: the spool keeps only the hash). The lookup goes
 * by the hash and the match is confirmed in constant time, so neither the
 * answer nor its timing tells how close a wrong token was.
 */
enum ac_lookup	ac_strategy_by_token_hash(struct ac_db *db, const unsigned char hash[32],
		    struct ac_strategy *out);

/* Lets ac_strategy_by_token_hash() answer from this process's memory for up to
 * ttl_ms after it found a strategy in the database (0, the default: always
 * ask). A change to a strategy then takes up to ttl_ms to be seen. */
void		ac_strategy_cache(int ttl_ms);

/* What `acctl strategy add` and the admin panel create, and what an edit
 * changes (there NULL, or -1 for the ints, leaves a value as it is). */
struct ac_strategy_new {
	const char	*name;		/* NULL: "<strategy> <symbol> <timeframe>" */
	const char	*description;
	const char	*symbol;	/* normalized by the call */
	const char	*timeframe;	/* normalized; must be in the vocabulary */
	const char	*strategy;
	const char	*key_value;	/* UT Bot: numeric text, NULL for defaults */
	const char	*atr_period;
	const char	*ema_period;
	int		 heikin_ashi;	/* create: > 0 true */
	const char	*max_open_trades;	/* 1 to 5 */
	const char	*actions;	/* "BUY,SELL,TP_HIT,SL_HIT" or NULL */
	const char	*required;	/* "symbol,timeframe,action,price" (NULL) or others */
	const char	*status;	/* NULL: active */
	const char	*dedup_window;	/* seconds, 1 to half a bar; NULL: 30 */
	int		 allow_opposite;	/* -1: default */
	int		 replace_same;		/* -1: default */
	const char	*auto_close;	/* "true" | "false"; NULL: default (true) */
	const char	*price_tolerance;	/* a fraction, 0 to under 100; NULL: 0.05 */
	const char	*credit_cost;	/* credits an alert costs, 0 to 1000000; NULL: 1 */
};

/*
 * Creates a strategy with a new random webhook token. Returns its JSON
 * (see ac_strategy_json), or NULL with *e: AC_E_INVALID naming the field,
 * AC_E_CONFLICT for a duplicate (symbol, timeframe, strategy), or a
 * database error.
 */
json_t		*ac_strategy_create(struct ac_db *db, const struct ac_strategy_new *in,
		    const char *base_url, struct ac_err *e);

/*
 * Changes strategy id (decimal text): every field of in that is set (a
 * text not NULL, an int >= 0, heikin_ashi included), checked as for
 * ac_strategy_create() (the dedup window against the new timeframe, or
 * the stored one). Returns its JSON, or NULL with *e (AC_E_NOT_FOUND: no
 * such strategy; AC_E_CONFLICT: another has its symbol, timeframe and
 * strategy).
 */
json_t		*ac_strategy_edit(struct ac_db *db, const char *id,
		    const struct ac_strategy_new *in, const char *base_url, struct ac_err *e);

/* Every strategy as a JSON array (id order), or NULL on a database error. */
json_t		*ac_strategy_list(struct ac_db *db, const char *base_url);

/* Strategy id as JSON, or NULL: *found 0 when there is none, 1 on a
 * database error. */
json_t		*ac_strategy_get(struct ac_db *db, long long id, const char *base_url,
		    int *found);

/*
 * A new random webhook token for strategy id (the old one is refused from
 * then on, by a responder that caches strategies once its cache entry
 * expires: ac_strategy_cache()). Runs in the caller's transaction, if any.
 * 0, or -1 with *e (AC_E_NOT_FOUND, or a database error).
 */
int		 ac_strategy_token_rotate(struct ac_db *db, long long id, struct ac_err *e);

/*
 * What `acctl strategy pine ID` prints and the admin panel shows for st (a
 * strategy's JSON): {"id", "name", "webhook_url", "script": its UT Bot
 * Pine Script v5 (alert/pine.h), "steps": the TradingView steps as text}.
 */
json_t		*ac_strategy_pine(const json_t *st);

/*
 * What to print after a strategy's name so a reader sees its market once:
 * "<symbol> <timeframe>", less what the name already says (the symbol
 * anywhere in it, case aside; the timeframe as a word of its own), so the
 * default name "UT Bot BTCUSDT 1h" gets "" and "Trend" gets "BTCUSDT 1h".
 * Writes it to out (outsz bytes, NUL-terminated, cut if need be); returns
 * out.
 */
char		*ac_strategy_tag(const char *name, const char *symbol, const char *timeframe,
		    char *out, size_t outsz);

#endif
