/* plans.c — see plans.h. */
#include "account/plans.h"
#include "account/query.h"

/* The active plans with the members cols. */
#define PLANS(cols) \
	"SELECT coalesce(json_agg(json_build_object('id', p.id," \
	" 'name', p.name, 'description', p.description, 'price_minor', p.price_minor," \
	" 'currency', p.currency, 'duration_months', p.duration_months," \
	" 'duration_days', p.duration_days, 'credits_per_period', p.credits_per_period," \
	" 'max_strategies', p.max_strategies, 'max_open_trades', p.max_open_trades," \
	" 'priority_support', p.priority_support, 'advanced_analytics', p.advanced_analytics," \
	" 'popular', p.popular, 'card', p.stripe_price_id IS NOT NULL, " cols ")" \
	" ORDER BY p.display_order, p.id), '[]') FROM plans p WHERE p.status = 'active'"

static const struct ac_stmt st_plans_data = { "plans_data", PLANS(
	"'strategy_ids', (SELECT coalesce(json_agg(ps.strategy_id ORDER BY ps.strategy_id), '[]')"
	" FROM plan_strategies ps WHERE ps.plan_id = p.id)") " AND $1::bigint >= 0", 1 };

static const struct ac_stmt st_plans_read = { "plans_read", PLANS(
	"'strategies', (SELECT coalesce(json_agg(json_build_object('id', st.id, 'name', st.name,"
	"  'symbol', st.symbol, 'timeframe', st.timeframe, 'public_record', st.public_record"
	"  AND st.status <> 'testing') ORDER BY st.name, st.id), '[]')"
	"  FROM plan_strategies ps JOIN strategies st ON st.id = ps.strategy_id"
	"  WHERE ps.plan_id = p.id),"
	" 'current', EXISTS (SELECT 1 FROM subscriptions s WHERE s.plan_id = p.id"
	"  AND s.user_id = $1 AND s.status = 'active' AND s.period_end > now())"), 1 };

json_t *
ac_plans(struct ac_db *db, long long user_id, int reading, struct ac_err *e)
{
	return ac_user_query(db, reading ? &st_plans_read : &st_plans_data, user_id, NULL, e);
}

/* Plans on offer covering $2 whose strategy allowance exceeds user $1's
 * other alarms, and that pay for its signals (credits, or signals free). */
static const struct ac_stmt st_allowing = { "plans_allowing",
	"SELECT coalesce(json_agg(json_build_object('id', p.id, 'name', p.name,"
	" 'price_minor', p.price_minor, 'currency', p.currency, 'max_strategies', p.max_strategies,"
	" 'credits_per_period', p.credits_per_period,"
	" 'card', p.stripe_price_id IS NOT NULL) ORDER BY p.display_order, p.id), '[]')"
	" FROM plans p WHERE p.status = 'active'"
	" AND EXISTS (SELECT 1 FROM plan_strategies ps WHERE ps.plan_id = p.id"
	"  AND ps.strategy_id = $2::bigint)"
	" AND (p.max_strategies = -1 OR p.max_strategies > (SELECT count(*) FROM alarms a"
	"  WHERE a.user_id = $1 AND a.strategy_id <> $2::bigint))"
	" AND (p.credits_per_period > 0 OR coalesce(p.credit_cost, (SELECT st.credit_cost"
	"  FROM strategies st WHERE st.id = $2::bigint)) = 0)", 2 };

json_t *
ac_plans_allowing(struct ac_db *db, long long user_id, long long strategy_id,
    struct ac_err *e)
{
	char sid[24];
	const char *more[1] = { sid };

	snprintf(sid, sizeof(sid), "%lld", strategy_id);
	return ac_user_query(db, &st_allowing, user_id, more, e);
}
