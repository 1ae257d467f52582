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
 * (the user's time, lib/account/query.h)}, ...newest first, at most
 * limit]}; NULL with *e (AC_E_NOT_FOUND: no such user).
 */
json_t	*ac_credits(struct ac_db *db, long long user_id, long long limit, int reading,
	    struct ac_err *e);

#endif
