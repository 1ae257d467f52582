/*
 * alarm.h — a subscriber's alarms as the portal and the API see them:
 * checked input, and every call scoped to the owner (another user's alarm
 * is "not found", never "forbidden"). Alarms are created by
 * ac_alarm_create() (lib/account/account.h) after ac_alarm_check().
 *
 * An alarm as JSON: {"id", "strategy_id", "strategy", "symbol",
 * "timeframe", "enabled", "on_entry", "on_exit", "on_replacement",
 * "channels": [...], "min_price", "max_price" (text or null),
 * "alerts_received", "created_at"}.
 */
#ifndef AC_ALARM_H
#define AC_ALARM_H

#include <jansson.h>
#include <stddef.h>

#include "base/db.h"

struct ac_alarm_in {
	const char	*channels;	/* "email,telegram" (a subset of the four) */
	const char	*min_price;	/* NULL or "": no filter */
	const char	*max_price;
	int		 on_entry, on_exit, on_replacement, enabled;
};

/* NULL if in is acceptable (empty prices become NULL), else what is wrong,
 * with the field's name in *field. */
const char	*ac_alarm_check(struct ac_alarm_in *in, const char **field);

/* The user's alarms, newest first; NULL on a database error. */
json_t		*ac_alarm_list(struct ac_db *db, long long user_id);

/* One alarm of the user; NULL with *found 0 if the user has none with this
 * id, NULL with *found 1 on a database error. */
json_t		*ac_alarm_get(struct ac_db *db, long long user_id, long long id, int *found);

/* Sets every field of in on the user's alarm id: 1, 0 if none, -1. */
int		 ac_alarm_update(struct ac_db *db, long long user_id, long long id,
		    const struct ac_alarm_in *in);

/* Switches it on or off: 1, 0 if none, -1. */
int		 ac_alarm_enable(struct ac_db *db, long long user_id, long long id, int on);

/* Deletes it: 1, 0 if none, -1. */
int		 ac_alarm_delete(struct ac_db *db, long long user_id, long long id);

/* The strategies the user's active subscriptions cover, with "has_alarm":
 * [{"id", "name", "symbol", "timeframe", "has_alarm"}]; NULL on error. */
json_t		*ac_alarm_strategies(struct ac_db *db, long long user_id);

#endif
