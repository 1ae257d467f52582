/*
 * trades.h — a user's virtual trades as the portal and the API show them
 * (the read side; lib/alert/trade.h plans how the worker opens and closes them).
 */
#ifndef AC_TRADES_H
#define AC_TRADES_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * The user's trades, newest first, at most limit, of ids below before
 * (> 0: the last id of the previous page; 0: the newest), of one status
 * ("open", "closed", "replaced"; NULL: any): an array of trade objects as
 * AC_SQL_TRADE_DATA or, for a person (reading), AC_SQL_TRADE_READ
 * (lib/account/query.h) describes; NULL with *e.
 */
json_t	*ac_trades(struct ac_db *db, long long user_id, const char *status, long long before,
	    long long limit, int reading, struct ac_err *e);

/*
 * The user's trades per strategy, for a person reading the trades page:
 * an array, by strategy name, of {"strategy_id", "strategy", "symbol",
 * "timeframe", "closed" (closed or replaced trades), "wins" (of those, PnL
 * > 0), "win_rate" (percent, 1 place; null with nothing closed),
 * "pnl_amount", "pnl_percent" (the closed trades' sums, per unit; 2
 * places for the percent), "open" (open trades), and the open trades
 * marked to the strategy's last processed signal (the user's own test
 * signals count, others' do not): "mark_price", "marked_local" (its
 * arrival in the user's zone), "mark_pnl_amount", "mark_pnl_percent"
 * (null when nothing is open or no signal was processed)}. NULL with *e.
 */
json_t	*ac_trade_totals(struct ac_db *db, long long user_id, struct ac_err *e);

#endif
