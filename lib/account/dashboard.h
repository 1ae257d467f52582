/*
 * dashboard.h — a user's overview, in one statement: balance, alarms,
 * current subscription, open trades and the latest notifications.
 */
#ifndef AC_DASHBOARD_H
#define AC_DASHBOARD_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * {"balance", "alarms" (a count), "subscription": {"plan", "ends" (the
 * user's date)} or null, "open_trades": [at most 10 trades as
 * AC_SQL_TRADE_READ], "notifications": [the 10 newest deliveries the user
 * may see, as AC_SQL_DELIVERY_READ]} (lib/account/query.h); NULL with *e.
 */
json_t	*ac_dashboard(struct ac_db *db, long long user_id, struct ac_err *e);

#endif
