/*
 * trades.h — a user's virtual trades as the portal and the API show them
 * (the read side; lib/work/trade.h opens and closes them).
 */
#ifndef AC_TRADES_H
#define AC_TRADES_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * The user's trades, newest first, at most limit, of one status ("open",
 * "closed", "replaced"; NULL: any): an array of trade objects as
 * AC_SQL_TRADE_DATA or, for a person (reading), AC_SQL_TRADE_READ
 * (lib/account/query.h) describes; NULL with *e.
 */
json_t	*ac_trades(struct ac_db *db, long long user_id, const char *status, long long limit,
	    int reading, struct ac_err *e);

#endif
