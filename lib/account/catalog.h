/*
 * catalog.h — what a guest may see before signing up: the strategies on
 * offer and the record of the signals they sent.
 */
#ifndef AC_CATALOG_H
#define AC_CATALOG_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * The active strategies some active plan covers, by name: [{"id", "name",
 * "description", "symbol", "timeframe", "credit_cost", "public_record" (its
 * track record page is public), "plans": [names in
 * display order], "signals_30d", "last_signal" (UTC, "YYYY-MM-DD HH:MI",
 * or null), and over the last 90 days "closed", "wins" (pnl > 0),
 * "win_rate" (whole percent, null with no closed trade), "pnl_percent"
 * (the sum of the closed trades' results in percent, 2 places, text)}].
 * Test signals (an operator's, to one test user) count nowhere.
 *
 * A closed trade here is one its exit signal closed for the first
 * subscriber it closed any for (the index on trades' exit signal keeps
 * that one lookup per exit signal, whatever the number of subscribers):
 * the record is that of a subscriber who followed every signal. NULL with
 * *e.
 */
json_t	*ac_catalog(struct ac_db *db, struct ac_err *e);

#endif
