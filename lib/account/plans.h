/*
 * plans.h — the plans on offer, as the portal (also to guests) and the
 * API show them.
 */
#ifndef AC_PLANS_H
#define AC_PLANS_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/* SQL: the active subscriptions whose plan has the priority feature, whose
 * users' messages go first (the fan-out's head and the order of a deliver
 * batch): AC_SQL_PRIORITY(user), whether user (a column) holds one, and
 * AC_SQL_PRIORITY_USERS, the users that do. The plans are read first, once
 * (an InitPlan), and the subscriptions by subscriptions_plan_active: none
 * when no plan has the feature. Joined to plans, the planner read every
 * active subscription to find none (2 ms for 10,000; 9 ms on a busy host,
 * in the fan-out's head). */
#define AC_SQL_PRIORITY_SUBS \
	" subscriptions sub WHERE sub.status = 'active' AND sub.period_end > now()" \
	"  AND sub.plan_id = ANY (ARRAY(SELECT p.id FROM plans p WHERE p.priority_support))"
#define AC_SQL_PRIORITY(user) \
	" EXISTS (SELECT 1 FROM" AC_SQL_PRIORITY_SUBS " AND sub.user_id = " user ")"
#define AC_SQL_PRIORITY_USERS \
	" SELECT DISTINCT sub.user_id FROM" AC_SQL_PRIORITY_SUBS

/*
 * The active plans in display order: [{"id", "name", "description",
 * "price_minor", "currency", "duration_months", "duration_days",
 * "credits_per_period", "max_strategies" (-1: unlimited),
 * "max_open_trades", "priority_support", "advanced_analytics", "popular",
 * and "strategy_ids": [...] or, for a person (reading), "strategies":
 * [{"id", "name", "symbol", "timeframe", "public_record" (its track record
 * page answers)}, ... by name] and "current"
 * (user_id has an active subscription to it; 0: a guest)}]; NULL with *e.
 */
json_t	*ac_plans(struct ac_db *db, long long user_id, int reading, struct ac_err *e);

/* The plans on offer that would allow user_id an alarm on strategy_id
 * (they cover it, allow more strategies than the user's others and pay
 * for its signals): [{"id", "name", "price_minor", "currency",
 * "max_strategies", "credits_per_period", "card" (payable by card)}];
 * NULL with *e.
 * What a 402 names. */
json_t	*ac_plans_allowing(struct ac_db *db, long long user_id, long long strategy_id,
	    struct ac_err *e);

#endif
