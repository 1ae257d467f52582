/* refund.c — see refund.h. */
#include <stdlib.h>

#include "base/log.h"
#include "work/refund.h"

/* The (signal, user) pairs with a recent failure and nothing that went or
 * may still go; their charge; no refund yet. At most 1000 a sweep. */
static const struct ac_stmt st_refund = { "refund_sweep",
	"WITH ended AS (SELECT DISTINCT d.signal_id, d.user_id FROM deliveries d"
	"  WHERE d.status = 'failed' AND d.updated_at > now() - interval '2 days'"
	"  AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.signal_id = d.signal_id"
	"   AND o.user_id = d.user_id AND o.status IN ('queued', 'sent'))),"
	" due AS (SELECT l.user_id, -l.amount AS amount, e.signal_id, l.idempotency_key"
	"  FROM ended e JOIN credit_ledger l ON l.idempotency_key ="
	"   'signal:' || e.signal_id || ':user:' || e.user_id AND l.kind = 'usage'"
	"  WHERE NOT EXISTS (SELECT 1 FROM credit_ledger r"
	"   WHERE r.idempotency_key = 'refund:' || l.idempotency_key)"
	"  ORDER BY l.user_id LIMIT 1000)"
	" INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	" SELECT user_id, amount, 'refund', 'signal:' || signal_id, 'refund:' || idempotency_key"
	" FROM due ON CONFLICT (idempotency_key) DO NOTHING", 0 };

long long
ac_refund_sweep(struct ac_db *db)
{
	long long n = ac_db_command(db, &st_refund, NULL);

	if (n < 0)
		ac_error("refund sweep: %s", ac_db_error(db));
	else if (n > 0)
		ac_info("refunded %lld signals that reached none of their user's channels", n);
	return n;
}
