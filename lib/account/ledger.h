/*
 * ledger.h — credits: every change is a credit_ledger row with an
 * idempotency key. The schema (sql/002_accounts.sql) moves the balance
 * with each row and refuses a negative balance; the calls here check the
 * balance in the same statement, with the user's row locked, so a charge
 * without enough credit is reported, not raised, and the caller's
 * transaction stays usable. A key seen before means "already done".
 */
#ifndef AC_LEDGER_H
#define AC_LEDGER_H

#include <jansson.h>

#include "base/db.h"

enum ac_ledger_result {
	AC_LEDGER_DONE = 0,	/* the row was written, the balance moved */
	AC_LEDGER_ALREADY,	/* a row with this key exists: nothing changed */
	AC_LEDGER_INSUFFICIENT,	/* the balance would go negative: nothing changed */
	AC_LEDGER_NO_USER,	/* no such user */
	AC_LEDGER_ERROR		/* database error (ac_db_error) */
};

struct ac_ledger_entry {
	long long	 user_id;
	long long	 amount;	/* signed, never 0 */
	const char	*kind;		/* purchase grant usage refund adjustment */
	const char	*reference;	/* what it is for, e.g. "subscription:12" */
	const char	*key;		/* idempotency key, e.g. "signal:5:user:9" */
};

/* Writes e unless its key exists or the balance would go negative. On
 * DONE, *balance (may be NULL) is the new balance; on INSUFFICIENT, the
 * balance as it is. */
enum ac_ledger_result ac_ledger_post(struct ac_db *db, const struct ac_ledger_entry *e,
		    long long *balance);

/*
 * Charges n users at once (distinct ids; costs > 0) as "usage" rows keyed
 * keys[i], with reference. Users are locked in id order; a user whose
 * balance is below the cost, or whose key exists, is not charged. Sets
 * charged[i] to 1 for each user charged by this call, 0 otherwise.
 * Returns the number charged, or -1 on a database error.
 */
long long	ac_ledger_charge_batch(struct ac_db *db, int n, const long long *user_ids,
		    const long long *costs, const char *const *keys, const char *reference,
		    unsigned char *charged);
/* The statement it runs (for ac_db_warm()). */
extern const struct ac_stmt ac_ledger_charge_batch_st;

/* {"user_id", "balance", "ledger_sum", "entries": [...newest first, at
 * most limit]} for the user, or NULL (no user: *found 0; else db error). */
json_t		*ac_ledger_show(struct ac_db *db, long long user_id, int limit, int *found);

/* "done" "already" "insufficient" "no_user" "error". */
const char	*ac_ledger_result_name(enum ac_ledger_result r);

#endif
