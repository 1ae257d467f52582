/* trades.c — see trades.h. */
#include <stdio.h>

#include "account/query.h"
#include "account/trades.h"

static const struct ac_stmt st_trades = { "trades",
	"SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]')"
	" FROM (SELECT " AC_SQL_TRADE_ROW " FROM trades tr"
	"  JOIN strategies st ON st.id = tr.strategy_id JOIN users u ON u.id = tr.user_id"
	"  WHERE tr.user_id = $1 AND ($2::text IS NULL OR tr.status = $2)"
	"  ORDER BY tr.id DESC LIMIT $3) t", 3 };

json_t *
ac_trades(struct ac_db *db, long long user_id, const char *status, long long limit,
    struct ac_err *e)
{
	char lim[24];
	const char *more[2] = { status, lim };

	snprintf(lim, sizeof(lim), "%lld", limit);
	return ac_user_query(db, &st_trades, user_id, more, e);
}
