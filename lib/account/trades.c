/* trades.c — see trades.h. */
#include <stdio.h>

#include "account/query.h"
#include "account/trades.h"

/* The user's trades in form cols, joining what they need ($2 status, $3 limit). */
#define TRADES(cols, join) \
	"SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]')" \
	" FROM (SELECT " cols " FROM trades tr JOIN strategies st ON st.id = tr.strategy_id" join \
	"  WHERE tr.user_id = $1 AND ($2::text IS NULL OR tr.status = $2)" \
	"  ORDER BY tr.id DESC LIMIT $3) t"

static const struct ac_stmt st_trades_data = { "trades_data", TRADES(AC_SQL_TRADE_DATA, ""), 3 };
static const struct ac_stmt st_trades_read = { "trades_read",
	TRADES(AC_SQL_TRADE_READ, " JOIN users u ON u.id = tr.user_id"), 3 };

json_t *
ac_trades(struct ac_db *db, long long user_id, const char *status, long long limit,
    int reading, struct ac_err *e)
{
	char lim[24];
	const char *more[2] = { status, lim };

	snprintf(lim, sizeof(lim), "%lld", limit);
	return ac_user_query(db, reading ? &st_trades_read : &st_trades_data, user_id, more, e);
}
