/*
 * alarm.h — a subscriber's alarms as the portal and the API see them:
 * checked input, and every call scoped to the owner (another user's alarm
 * is "not found", never "forbidden"); acctl, the portal and the API all
 * create alarms with ac_alarm_create().
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
#include "base/err.h"

struct ac_alarm_in {
	long long	 user_id;	/* ac_alarm_create(): the owner */
	const char	*strategy_id;	/* ac_alarm_create(): a strategy id, as text */
	const char	*channels;	/* "email,telegram" (a subset of the four) */
	const char	*min_price;	/* NULL or "": no filter */
	const char	*max_price;
	int		 on_entry, on_exit, on_replacement, enabled;
	int		 need_credit;	/* ac_alarm_create(): refuse (AC_E_PAYMENT,
					 * "no_credits") when the balance cannot pay
					 * one signal of the strategy (the API) */
};

/* 0 if the fields of in an update takes (channels, prices) are acceptable
 * (empty prices become NULL), else -1 with AC_E_INVALID, the field and
 * what is wrong in *e. */
int		 ac_alarm_check(struct ac_alarm_in *in, struct ac_err *e);

/* A new alarm of in->user_id after ac_alarm_check() and a strategy id,
 * refused unless one of the user's active subscriptions covers the
 * strategy (that subscription is recorded on the alarm): its row as JSON
 * ({"id", "user_id", "strategy_id", "subscription_id", "channels",
 * "on_entry", "on_exit", "on_replacement", "min_price", "max_price",
 * "enabled"}), or NULL with *e: AC_E_INVALID (field "strategy_id" when
 * there is none), AC_E_CONFLICT when the user has an alarm on the
 * strategy, AC_E_PAYMENT when no active subscription covers it (slug
 * "not_covered") or the user's plans allow no more strategies
 * ("strategy_limit"; ac_plans_allowing() names the plans that would), or
 * the database's error. Runs in the caller's transaction. */
json_t		*ac_alarm_create(struct ac_db *db, struct ac_alarm_in *in, struct ac_err *e);

/* The user's alarms, newest first; NULL on a database error (*e). */
json_t		*ac_alarm_list(struct ac_db *db, long long user_id, struct ac_err *e);

/* One alarm of the user; NULL with *e: AC_E_NOT_FOUND if the user has
 * none with this id, else the database's error. */
json_t		*ac_alarm_get(struct ac_db *db, long long user_id, long long id, struct ac_err *e);

/* Sets every field of in on the user's alarm id: 1, 0 if none, -1. */
int		 ac_alarm_update(struct ac_db *db, long long user_id, long long id,
		    const struct ac_alarm_in *in);

/* Switches it on or off: 1, 0 if none, -1. */
int		 ac_alarm_enable(struct ac_db *db, long long user_id, long long id, int on);

/* Deletes it: 1, 0 if none, -1. */
int		 ac_alarm_delete(struct ac_db *db, long long user_id, long long id);

/* The strategies the user's active subscriptions cover, with "has_alarm":
 * [{"id", "name", "symbol", "timeframe", "has_alarm"}]; NULL on error (*e). */
json_t		*ac_alarm_strategies(struct ac_db *db, long long user_id, struct ac_err *e);

#endif
