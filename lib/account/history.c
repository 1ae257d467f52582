/* history.c — see history.h. */
#include <stdio.h>

#include "account/account.h"
#include "account/history.h"
#include "account/query.h"

/* A page of the user's deliveries in form cols, joining what they need
 * ($2 channel, $3 status, $4 strategy, $5 before, $6 limit). Row by row
 * visibility (ac_signal_visible) keeps the ordered scan of a page that
 * stops after a few rows; see AC_SQL_VISIBLE_WITH. */
#define HISTORY(cols, join) \
	"SELECT json_build_object('items', (SELECT coalesce(json_agg(n ORDER BY n.id DESC), '[]')" \
	" FROM (SELECT " cols " FROM deliveries d JOIN signals s ON s.id = d.signal_id" \
	"  JOIN strategies st ON st.id = s.strategy_id" join \
	"  WHERE d.user_id = $1 AND ($2::text IS NULL OR d.channel = $2)" \
	"  AND ($3::text IS NULL OR d.status = $3) AND ($4::bigint IS NULL OR s.strategy_id = $4)" \
	"  AND d.id < coalesce($5::bigint, 9223372036854775807)" \
	"  AND ac_signal_visible($1, s.strategy_id, s.received_at) ORDER BY d.id DESC LIMIT $6) n)"

static const struct ac_stmt st_history_data = { "history_data",
	HISTORY(AC_SQL_DELIVERY_DATA, "") ", 'strategies', NULL)", 6 };

static const struct ac_stmt st_history_read = { "history_read",
	HISTORY(AC_SQL_DELIVERY_READ, " JOIN users u ON u.id = d.user_id") ","
	" 'strategies', (SELECT coalesce(json_agg(json_build_object('id', st.id::text,"
	"  'name', st.name, 'symbol', st.symbol, 'timeframe', st.timeframe)"
	"  ORDER BY st.name, st.id), '[]') FROM strategies st"
	"  WHERE st.id IN (SELECT strategy_id FROM alarms WHERE user_id = $1)))", 6 };

json_t *
ac_history(struct ac_db *db, long long user_id, const struct ac_history_query *q,
    struct ac_err *e)
{
	char lim[24];
	const char *more[5] = { q->channel, q->status, q->strategy_id, q->before, lim };

	snprintf(lim, sizeof(lim), "%lld", q->limit);
	return ac_user_query(db, q->reading ? &st_history_read : &st_history_data, user_id,
	    more, e);
}

static const struct ac_stmt st_signals = { "signals", AC_SQL_VISIBLE_WITH
	"SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')"
	" FROM (SELECT s.id, s.strategy_id, st.name AS strategy, s.symbol, s.timeframe,"
	"  s.action, s.price::text AS price, s.take_profit::text AS take_profit,"
	"  s.stop_loss::text AS stop_loss, " AC_SQL_ISO("s.received_at") " AS received_at"
	"  FROM signals s JOIN strategies st ON st.id = s.strategy_id"
	"  WHERE s.strategy_id IN (SELECT strategy_id FROM alarms WHERE user_id = $1)"
	"  AND s.status = 'processed' AND " AC_SQL_VISIBLE("s")
	/* a test signal is its test user's alone; a testing strategy's are
	 * test users' only (the fan-out's rule) */
	"  AND (s.test_user_id IS NULL OR s.test_user_id = $1)"
	"  AND (st.status <> 'testing' OR EXISTS (SELECT 1 FROM users u WHERE u.id = $1"
	"  AND u.is_test))"
	"  AND ($3::bigint IS NULL OR s.id < $3)"
	"  ORDER BY s.id DESC LIMIT $2) x", 3 };

json_t *
ac_signals(struct ac_db *db, long long user_id, long long before, long long limit,
    struct ac_err *e)
{
	char lim[24], bef[24];
	const char *more[2] = { lim, before > 0 ? bef : NULL };

	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(bef, sizeof(bef), "%lld", before);
	return ac_user_query(db, &st_signals, user_id, more, e);
}
