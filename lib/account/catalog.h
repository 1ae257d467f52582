/*
 * catalog.h — what a guest may see before signing up: the strategies on
 * offer and how often they send.
 */
#ifndef AC_CATALOG_H
#define AC_CATALOG_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * The active strategies some active plan covers, by name: [{"id", "name",
 * "description", "symbol", "timeframe", "credit_cost", "public_record" (its
 * operator published its track record, lib/alert/record.h: the only
 * results a guest is shown), "plans": [names in display order],
 * "signals_30d", "last_signal" (UTC, "YYYY-MM-DD HH:MI", or null)}]. Test
 * signals (an operator's, to one test user) count nowhere. NULL with *e.
 */
json_t	*ac_catalog(struct ac_db *db, struct ac_err *e);

#endif
