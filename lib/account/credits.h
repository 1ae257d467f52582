/*
 * credits.h — a user's credits as the portal and the API show them: the
 * balance and the newest ledger rows (lib/account/ledger.h writes them).
 */
#ifndef AC_CREDITS_H
#define AC_CREDITS_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * {"balance", "entries": [{"id", "amount" (signed integer), "kind",
 * "reference", and "created_at" (ISO) or, for a person (reading), "at"
 * (the user's time, lib/account/query.h) and "balance_after" (the
 * balance once it was booked) and "described" and "href" (the row in
 * words, and where to see what it was for, or null)}, ...newest first, at
 * most limit, of ids below before (> 0; the last id of the previous page:
 * keyset paging) or the newest]}; NULL with *e (AC_E_NOT_FOUND: no such
 * user).
 */
json_t	*ac_credits(struct ac_db *db, long long user_id, long long before, long long limit,
	    int reading, struct ac_err *e);

#endif
