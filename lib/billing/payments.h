/*
 * payments.h — manual payments (UPI, bank transfer): a subscriber says
 * what was paid and shows a proof; the payment waits, with a pending
 * subscription beside it, until an operator approves it (the subscription
 * becomes active for its period, after any running one of the same plan,
 * and the plan's credits are granted once: ledger key payment:<id>) or
 * rejects it with a reason the subscriber sees. Either way the subscriber
 * is told by their channels.
 */
#ifndef AC_PAYMENTS_H
#define AC_PAYMENTS_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

struct ac_payment_in {
	long long	 user_id, plan_id;
	const char	*transaction_id;	/* the UTR / reference the bank shows */
	const char	*amount;		/* as typed: "499" or "499.00" */
	const char	*method;		/* upi, bank_transfer, other */
	const char	*proof_file;		/* billing/proof.h's stored name, or NULL */
	long long	 proof_bytes;
};

#define AC_PAYMENTS_PENDING_MAX	3	/* a user's payments waiting for review at once */

/* The methods, NULL-terminated (for a field table). */
extern const char *const ac_payment_methods[];

/*
 * Records a pending payment and its pending subscription. The payment as
 * JSON (see ac_payment_get), or NULL with e naming the field:
 * transaction_id (malformed, or already submitted: AC_E_CONFLICT),
 * amount (not a number, or not the plan's price), method, plan_id (no
 * such plan on offer); or AC_E_UNPROCESSABLE with no field when
 * AC_PAYMENTS_PENDING_MAX of the user's payments already wait. Once
 * stored it is never NULL (at least {"id", "status"}).
 */
json_t	*ac_payment_submit(struct ac_db *db, const struct ac_payment_in *in, struct ac_err *e);

/*
 * Approves (approve 1) or rejects (0, with reason) pending payment id as
 * reviewer, in a transaction of its own. The payment as JSON, or NULL
 * with e: AC_E_NOT_FOUND, AC_E_CONFLICT (not pending any more),
 * AC_E_INVALID (field reason: missing or over 500 characters),
 * AC_E_UNPROCESSABLE (the user already has five active subscriptions).
 */
json_t	*ac_payment_review(struct ac_db *db, long long id, int approve, const char *reviewer,
	    const char *reason, struct ac_err *e);

/* The same inside the caller's transaction (which it may join with its own
 * rows, an audit entry): 0, or -1 with e as above; the caller commits, or
 * rolls back after -1. */
int	ac_payment_decide(struct ac_db *db, long long id, int approve, const char *reviewer,
	    const char *reason, struct ac_err *e);

/*
 * {"id", "user_id", "email", "plan_id", "plan", "transaction_id",
 * "amount" ("499.00"), "currency", "method", "status", "proof_file"
 * (or null), "proof_bytes", "rejection_reason", "reviewed_by",
 * "created_at", "reviewed_at", "subscription_id", "period_end"} of
 * payment id; user_id > 0: only that user's (another's is not found).
 */
json_t	*ac_payment_get(struct ac_db *db, long long id, long long user_id, struct ac_err *e);

/* The payments, newest first, of user_id (0: everyone's), with status
 * (NULL: any), at most limit: an array as above. */
json_t	*ac_payments_list(struct ac_db *db, long long user_id, const char *status, int limit,
	    struct ac_err *e);

#endif
