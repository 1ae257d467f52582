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

/* What `acctl strategy add` (and later the admin panel) creates; `acctl
 * strategy edit` changes some of it. */
struct ac_strategy_new {
	const char	*name;		/* NULL: "<strategy> <symbol> <timeframe>" */
	const char	*description;
	const char	*symbol;	/* normalized by the call */
	const char	*timeframe;	/* normalized; must be in the vocabulary */
	const char	*strategy;
	const char	*key_value;	/* UT Bot: numeric text, NULL for defaults */
	const char	*atr_period;
	const char	*ema_period;
	int		 heikin_ashi;
	const char	*max_open_trades;
	const char	*actions;	/* "BUY,SELL,TP_HIT,SL_HIT" or NULL */
	const char	*required;	/* "symbol,timeframe,action,price" (NULL) or others */
	const char	*status;	/* NULL: active */
	const char	*dedup_window;	/* seconds, 1 to half a bar; NULL: 30 */
	int		 allow_opposite;	/* -1: default */
	int		 replace_same;		/* -1: default */
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
 * Changes strategy id (decimal text): of in, only required and
 * dedup_window count (NULL: left as they are), checked as for
 * ac_strategy_create(). Returns its JSON, or NULL with *e (AC_E_NOT_FOUND:
 * no such strategy).
 */
json_t		*ac_strategy_edit(struct ac_db *db, const char *id,
		    const struct ac_strategy_new *in, const char *base_url, struct ac_err *e);

/* Every strategy as a JSON array (id order), or NULL on a database error. */
json_t		*ac_strategy_list(struct ac_db *db, const char *base_url);

#endif
