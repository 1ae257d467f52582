/* catalog.c — see catalog.h. */
#include "account/catalog.h"
#include "account/query.h"

/* Signal s is one of st's that count (not an operator's test), in the last d days. */
#define SIGNALS_SINCE(d) \
	" s.strategy_id = st.id AND s.test_user_id IS NULL" \
	" AND s.received_at > now() - interval '" d " days'"

static const struct ac_stmt st_catalog = { "catalog",
	"SELECT coalesce(json_agg(json_build_object('id', st.id, 'name', st.name,"
	" 'description', st.description, 'symbol', st.symbol, 'timeframe', st.timeframe,"
	" 'credit_cost', st.credit_cost, 'public_record', st.public_record,"
	" 'plans', (SELECT json_agg(p.name ORDER BY p.display_order, p.id)"
	"  FROM plan_strategies ps JOIN plans p ON p.id = ps.plan_id"
	"  WHERE ps.strategy_id = st.id AND p.status = 'active'),"
	" 'signals_30d', (SELECT count(*) FROM signals s WHERE" SIGNALS_SINCE("30") "),"
	" 'last_signal', (SELECT to_char(s.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
	"  FROM signals s WHERE s.strategy_id = st.id AND s.test_user_id IS NULL"
	"  ORDER BY s.id DESC LIMIT 1))"
	" ORDER BY st.name, st.id), '[]')"
	" FROM strategies st"
	" WHERE st.status = 'active' AND $1::bigint >= 0 AND EXISTS (SELECT 1"
	"  FROM plan_strategies ps JOIN plans p ON p.id = ps.plan_id"
	"  WHERE ps.strategy_id = st.id AND p.status = 'active')", 1 };

json_t *
ac_catalog(struct ac_db *db, struct ac_err *e)
{
	return ac_user_query(db, &st_catalog, 0, NULL, e);
}
