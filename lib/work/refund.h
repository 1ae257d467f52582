/*
 * refund.h — the fair-credit rule's second half. A signal is charged at
 * the fan-out only to a user one of whose channels can be reached
 * (fanout.h); when every delivery of it to that user then fails for good
 * (a blocked bot, a number the provider refuses), nothing reached them,
 * and the charge is given back.
 */
#ifndef AC_REFUND_H
#define AC_REFUND_H

#include "base/db.h"

/*
 * Refunds each charge "signal:S:user:U" whose deliveries of S to U all
 * ended failed (none queued, none sent) in the last two days: a "refund"
 * ledger row of the same amount, keyed "refund:signal:S:user:U" (so a
 * second sweep writes nothing), reference "signal:S". Committed state
 * only, so a delivery still being written is seen at the next sweep.
 * Returns the number refunded, or -1 on a database error (logged).
 */
long long	ac_refund_sweep(struct ac_db *db);

#endif
