/* credits.c — see credits.h. */
#include <stdio.h>

#include "account/credits.h"
#include "account/query.h"

/* The balance and ledger rows in form cols ($2 limit, $3 before: only ids
 * below it, the keyset of the next page; NULL for the newest). */
#define CREDITS(cols) \
	"SELECT json_build_object('balance', u.credit_balance, 'entries'," \
	" (SELECT coalesce(json_agg(e ORDER BY e.id DESC), '[]') FROM (SELECT l.id, l.amount," \
	"  l.kind, l.reference, " cols " FROM credit_ledger l" \
	"  WHERE l.user_id = u.id AND ($3::bigint IS NULL OR l.id < $3)" \
	"  ORDER BY l.id DESC LIMIT $2) e))" \
	" FROM users u WHERE u.id = $1"

static const struct ac_stmt st_credits_data = { "credits_data",
	CREDITS(AC_SQL_ISO("l.created_at") " AS created_at"), 3 };
/* For a person: each row in words (what the signal was, which plan, which
 * payment), where to see it, and the balance after it. balance =
 * sum(ledger) holds, so that is the balance less what came after: the
 * rows from the page's keyset on (the newer pages, index-bounded) and the
 * page's own newer rows (a window that streams under the LIMIT), so a page
 * costs its rows and the ones before it, never the whole ledger. */
static const struct ac_stmt st_credits_read = { "credits_read",
	"SELECT json_build_object('balance', u.credit_balance, 'entries',"
	" (SELECT coalesce(json_agg(e ORDER BY e.id DESC), '[]') FROM (SELECT w.id, w.amount,"
	"  w.kind, w.reference, w.at, w.balance_after,"
	"  CASE WHEN s.id IS NOT NULL THEN CASE w.kind WHEN 'refund' THEN"
	"   'Refund, it reached none of your channels: ' ELSE '' END"
	"   || signal_action_label(s.action) || ' ' || s.symbol || ' '"
	"   || s.timeframe || ' at ' || s.price::text || ' · ' || st.name"
	"   WHEN p.id IS NOT NULL THEN 'Credits of the ' || p.name || ' plan'"
	"   WHEN w.reference LIKE 'invoice:%' THEN 'Card payment (Stripe)'"
	"   WHEN w.reference LIKE 'payment:%' THEN 'UPI or bank payment #' || substr(w.reference, 9)"
	"   WHEN w.kind = 'adjustment' THEN 'Adjustment: ' || w.reference"
	"   ELSE w.reference END AS described,"
	"  CASE WHEN s.id IS NOT NULL THEN '/history?strategy=' || s.strategy_id"
	"   WHEN w.reference LIKE 'payment:%' THEN '/payments' END AS href"
	"  FROM (SELECT l.id, l.amount, l.kind, l.reference, " AC_SQL_LOCAL("l.created_at") " AS at,"
	"   u.credit_balance - coalesce((SELECT sum(n.amount) FROM credit_ledger n"
	"   WHERE n.user_id = u.id AND n.id >= $3), 0) - coalesce(sum(l.amount) OVER (ORDER BY"
	"   l.id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS balance_after"
	"   FROM credit_ledger l WHERE l.user_id = u.id AND ($3::bigint IS NULL OR l.id < $3)"
	"   ORDER BY l.id DESC LIMIT $2) w"
	/* CASE: the cast only where the pattern holds (AND has no order) */
	"  LEFT JOIN signals s ON s.id = CASE WHEN w.reference ~ '^signal:[0-9]{1,18}$'"
	"   THEN substr(w.reference, 8)::bigint END"
	"  LEFT JOIN strategies st ON st.id = s.strategy_id"
	"  LEFT JOIN subscriptions sub ON sub.id = CASE WHEN"
	"   w.reference ~ '^subscription:[0-9]{1,18}$' THEN substr(w.reference, 14)::bigint END"
	"   AND sub.user_id = u.id"
	"  LEFT JOIN plans p ON p.id = sub.plan_id) e))"
	" FROM users u WHERE u.id = $1", 3 };

json_t *
ac_credits(struct ac_db *db, long long user_id, long long before, long long limit,
    int reading, struct ac_err *e)
{
	char lim[24], bef[24];
	const char *more[2] = { lim, before > 0 ? bef : NULL };

	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(bef, sizeof(bef), "%lld", before);
	return ac_user_query(db, reading ? &st_credits_read : &st_credits_data, user_id, more, e);
}
