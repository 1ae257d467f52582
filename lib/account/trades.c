/* trades.c — see trades.h. */
#include <stdio.h>

#include "account/query.h"
#include "account/trades.h"

/* The user's trades in form cols, joining what they need ($2 status, $3
 * limit, $4 before: only ids below it; trades_user keeps it a range). */
#define TRADES(cols, join) \
	"SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]')" \
	" FROM (SELECT " cols " FROM trades tr JOIN strategies st ON st.id = tr.strategy_id" join \
	"  WHERE tr.user_id = $1 AND ($2::text IS NULL OR tr.status = $2)" \
	"  AND ($4::bigint IS NULL OR tr.id < $4)" \
	"  ORDER BY tr.id DESC LIMIT $3) t"

static const struct ac_stmt st_trades_data = { "trades_data", TRADES(AC_SQL_TRADE_DATA, ""), 4 };
static const struct ac_stmt st_trades_read = { "trades_read",
	TRADES(AC_SQL_TRADE_READ, " JOIN users u ON u.id = tr.user_id"), 4 };

json_t *
ac_trades(struct ac_db *db, long long user_id, const char *status, long long before,
    long long limit, int reading, struct ac_err *e)
{
	char lim[24], bef[24];
	const char *more[3] = { status, lim, before > 0 ? bef : NULL };

	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(bef, sizeof(bef), "%lld", before);
	return ac_user_query(db, reading ? &st_trades_read : &st_trades_data, user_id, more, e);
}

/* A trade's PnL per unit were it to leave at price x. */
#define MARK_PNL(x) \
	"CASE tr.side WHEN 'BUY' THEN " x " - tr.entry_price ELSE tr.entry_price - " x " END"

/* Per strategy the user has trades on: the closed ones' totals and the
 * open ones marked to the strategy's last processed signal (m). */
static const struct ac_stmt st_trade_totals = { "trade_totals",
	"WITH mine AS (SELECT DISTINCT strategy_id FROM trades WHERE user_id = $1),"
	" m AS (SELECT mine.strategy_id, s.price, s.received_at FROM mine"
	"  CROSS JOIN LATERAL (SELECT s.price, s.received_at FROM signals s"
	"  WHERE s.strategy_id = mine.strategy_id AND s.status = 'processed'"
	"  AND (s.test_user_id IS NULL OR s.test_user_id = $1)"
	"  ORDER BY s.id DESC LIMIT 1) s)"
	" SELECT coalesce(json_agg(x ORDER BY x.strategy, x.strategy_id), '[]') FROM ("
	"  SELECT st.id AS strategy_id, st.name AS strategy, st.symbol, st.timeframe,"
	"  count(*) FILTER (WHERE tr.status <> 'open') AS closed,"
	"  count(*) FILTER (WHERE tr.status <> 'open' AND tr.pnl_amount > 0) AS wins,"
	"  round(100.0 * count(*) FILTER (WHERE tr.status <> 'open' AND tr.pnl_amount > 0)"
	"  / nullif(count(*) FILTER (WHERE tr.status <> 'open'), 0), 1)::text AS win_rate,"
	"  coalesce(sum(tr.pnl_amount) FILTER (WHERE tr.status <> 'open'), 0)::text AS pnl_amount,"
	"  round(coalesce(sum(tr.pnl_percent) FILTER (WHERE tr.status <> 'open'), 0), 2)::text"
	"  AS pnl_percent,"
	"  count(*) FILTER (WHERE tr.status = 'open') AS open,"
	"  m.price::text AS mark_price, " AC_SQL_LOCAL("m.received_at") " AS marked_local,"
	"  sum(" MARK_PNL("m.price") ") FILTER (WHERE tr.status = 'open')::text AS mark_pnl_amount,"
	"  round(sum((" MARK_PNL("m.price") ") / tr.entry_price * 100)"
	"  FILTER (WHERE tr.status = 'open'), 2)::text AS mark_pnl_percent"
	"  FROM trades tr JOIN strategies st ON st.id = tr.strategy_id"
	"  JOIN users u ON u.id = tr.user_id LEFT JOIN m ON m.strategy_id = tr.strategy_id"
	"  WHERE tr.user_id = $1"
	"  GROUP BY st.id, st.name, st.symbol, st.timeframe, u.timezone, m.price, m.received_at) x",
	1 };

json_t *
ac_trade_totals(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_trade_totals, user_id, NULL, e);
}
