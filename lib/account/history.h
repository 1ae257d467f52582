/*
 * history.h — what a user received and may see, as the portal and the API
 * show it: deliveries (notification history) and recent signals. Only
 * signals a subscription of the user covered when they arrived count
 * (ac_visible_periods, sql/013_visible_periods.sql).
 */
#ifndef AC_HISTORY_H
#define AC_HISTORY_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

struct ac_history_query {
	const char	*channel;	/* NULL: any */
	const char	*status;	/* queued sent failed skipped; NULL: any */
	const char	*strategy_id;	/* NULL: any */
	const char	*before;	/* a delivery id: only older ones; NULL: the newest */
	long long	 limit;
	int		 reading;	/* for a person (lib/account/query.h); and
					 * the strategies the user has alarms on */
};

/*
 * {"items": [deliveries as AC_SQL_DELIVERY_DATA or, q->reading,
 * AC_SQL_DELIVERY_READ (lib/account/query.h) describes, newest first, at
 * most q->limit], "strategies": [{"id" (text), "name", "symbol",
 * "timeframe"}, ... by name] when q->reading, else null}; NULL with *e.
 * One statement.
 */
json_t	*ac_history(struct ac_db *db, long long user_id, const struct ac_history_query *q,
	    struct ac_err *e);

/* The newest processed signals, at most limit, of ids below before (> 0;
 * 0: the newest), of the strategies the user has alarms on and may see:
 * [{"id", "strategy_id", "strategy", "symbol", "timeframe", "action",
 * "price", "take_profit", "stop_loss", "received_at"}, ...]; NULL with *e. */
json_t	*ac_signals(struct ac_db *db, long long user_id, long long before, long long limit,
	    struct ac_err *e);

#endif
