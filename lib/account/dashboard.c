/* dashboard.c — see dashboard.h. */
#include "account/account.h"
#include "account/dashboard.h"
#include "account/query.h"

static const struct ac_stmt st_dashboard = { "dashboard", AC_SQL_VISIBLE_WITH
	"SELECT json_build_object('balance', u.credit_balance,"
	" 'alarms', (SELECT count(*) FROM alarms a WHERE a.user_id = u.id),"
	" 'subscription', (SELECT json_build_object('plan', p.name, 'ends',"
	"  to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD'),"
	"  'past_due', s.status = 'past_due', 'renews', s.auto_renew)"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.user_id = u.id"
	"  AND s.status IN ('active', 'past_due') AND s.period_start <= now()"
	"  AND s.period_end > now() ORDER BY s.status, s.period_end DESC LIMIT 1),"
	" 'pending_payments', (SELECT count(*) FROM payments pay WHERE pay.user_id = u.id"
	"  AND pay.status = 'pending'),"
	/* what keeps signals from reaching the user, for the banners: too few
	 * credits for the cheapest enabled alarm (the plan's price per signal,
	 * else the strategy's), signals missed for it in the last week, a plan
	 * ending within a week that will not renew itself, a channel of an
	 * enabled alarm with no address, a Telegram bot the user blocked */
	" 'short_of_credits', u.credit_balance < (SELECT min(coalesce((SELECT min(p.credit_cost)"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id JOIN plan_strategies ps"
	"  ON ps.plan_id = p.id AND ps.strategy_id = a.strategy_id WHERE s.user_id = u.id"
	"  AND s.status IN ('active', 'past_due') AND s.period_end > now()), st.credit_cost))"
	"  FROM alarms a JOIN strategies st ON st.id = a.strategy_id WHERE a.user_id = u.id"
	"  AND a.enabled AND st.credit_cost > 0),"
	" 'missed_for_credits', (SELECT count(DISTINCT d.signal_id) FROM deliveries d"
	"  WHERE d.user_id = u.id AND d.skip_reason = 'no_credits'"
	"  AND d.created_at > now() - interval '7 days'),"
	" 'ends_soon', (SELECT to_char(max(s.period_end) AT TIME ZONE u.timezone, 'YYYY-MM-DD')"
	"  FROM subscriptions s WHERE s.user_id = u.id AND s.status = 'active'"
	"  AND s.provider <> 'stripe' AND s.period_end > now()"
	"  AND s.period_end < now() + interval '7 days' AND NOT EXISTS (SELECT 1 FROM"
	"  subscriptions n WHERE n.user_id = u.id AND n.status IN ('active', 'pending')"
	"  AND n.period_end > s.period_end + interval '1 day')),"
	" 'unlinked', (SELECT string_agg(DISTINCT c, ', ') FROM alarms a,"
	"  unnest(a.channels) c WHERE a.user_id = u.id AND a.enabled"
	"  AND (c = 'telegram' AND u.telegram_chat_id IS NULL OR c = 'sms' AND u.phone IS NULL"
	"  OR c = 'push' AND NOT EXISTS (SELECT 1 FROM push_devices d WHERE d.user_id = u.id))),"
	" 'telegram_blocked', u.telegram_unreachable_at IS NOT NULL AND u.telegram_chat_id IS NOT NULL,"
	" 'ended', (SELECT json_build_object('plan', p.name, 'on',"
	"  to_char(least(s.period_end, s.ended_at) AT TIME ZONE u.timezone, 'YYYY-MM-DD'),"
	"  'unpaid', s.end_reason = 'payment_failed', 'cancelled', s.status = 'cancelled')"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.user_id = u.id"
	"  AND (s.status = 'expired' OR s.status = 'cancelled' AND s.end_reason = 'cancelled')"
	"  AND NOT EXISTS (SELECT 1 FROM subscriptions a WHERE a.user_id = u.id"
	"   AND a.status IN ('active', 'past_due') AND a.period_end > now())"
	"  ORDER BY s.updated_at DESC, s.id DESC LIMIT 1),"
	" 'open_trades', (SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]') FROM"
	"  (SELECT " AC_SQL_TRADE_READ " FROM trades tr JOIN strategies st ON st.id = tr.strategy_id"
	"  WHERE tr.user_id = u.id AND tr.status = 'open' ORDER BY tr.id DESC LIMIT 10) t),"
	" 'notifications', (SELECT coalesce(json_agg(n ORDER BY n.id DESC), '[]') FROM"
	"  (SELECT " AC_SQL_DELIVERY_READ " FROM deliveries d JOIN signals s ON s.id = d.signal_id"
	"  JOIN strategies st ON st.id = s.strategy_id"
	"  WHERE d.user_id = $1 AND " AC_SQL_VISIBLE("s")
	"  ORDER BY d.id DESC LIMIT 10) n))"
	" FROM users u WHERE u.id = $1", 1 };

json_t *
ac_dashboard(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_dashboard, user_id, NULL, e);
}
