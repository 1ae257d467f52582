/*
 * account.h — subscribers, plans, subscriptions and alarms: creating them
 * (acctl now; the portal and admin panel later). Each call runs inside the
 * caller's transaction and returns the new row as JSON (the caller owns
 * it), or NULL with *e filled: AC_E_INVALID naming the field, which rule
 * and what was received; AC_E_NOT_FOUND; AC_E_CONFLICT when it exists
 * already; or the database's error (ac_db_err()). Alarms are
 * lib/account/alarm.h.
 */
#ifndef AC_ACCOUNT_H
#define AC_ACCOUNT_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

struct ac_user_new {
	const char	*email;
	const char	*password;
	const char	*name;			/* NULL: "" */
	const char	*phone;			/* NULL: none */
	const char	*telegram_chat_id;	/* NULL: none */
	const char	*timezone;		/* NULL: UTC */
};

/* A user (active, no credits) with an Argon2id hash of the password. */
json_t	*ac_user_create(struct ac_db *db, const struct ac_user_new *in, struct ac_err *e);

/* The id of the user with this email (case-insensitive): > 0, 0 when
 * none (AC_E_NOT_FOUND), -1 on a database error. */
long long ac_user_id(struct ac_db *db, const char *email, struct ac_err *e);

struct ac_plan_new {
	const char	*name;
	const char	*price_minor;	/* integer text, minor units */
	const char	*currency;	/* ISO 4217, e.g. "INR" */
	const char	*months;
	const char	*days;		/* NULL: 0 */
	const char	*credits;	/* granted per period */
	const char	*strategies;	/* "1,2,3": strategy ids the plan covers */
	const char	*max_open_trades;	/* NULL: 3 */
	const char	*credit_cost;	/* per signal; NULL: the strategy's */
	const char	*stripe_price_id;	/* price_...: bought by card; NULL: not */
	const char	*max_strategies;	/* alarms the plan allows; NULL: -1, unlimited */
	const char	*description;
};

/* A plan and the strategies it covers. */
json_t	*ac_plan_create(struct ac_db *db, const struct ac_plan_new *in, struct ac_err *e);

/* A manual subscription of user to the active plan called plan_name,
 * active from now for the plan's duration, and the plan's credits granted
 * as a ledger row keyed "subscription:<id>". */
json_t	*ac_subscribe_manual(struct ac_db *db, long long user_id, const char *plan_name,
	    struct ac_err *e);

/*
 * Who sees which signal (sql/013_visible_periods.sql), for statements whose
 * $1 is the user: AC_SQL_VISIBLE_WITH opens the statement (the user's
 * covered periods, taken once), AC_SQL_VISIBLE(s) tests signal alias s.
 * A page that stops after a few rows in id order (history) is faster
 * asking ac_signal_visible() row by row: the planner then keeps the
 * ordered scan.
 */
#define AC_SQL_VISIBLE_WITH \
	"WITH vis AS MATERIALIZED (SELECT * FROM ac_visible_periods($1)) "
#define AC_SQL_VISIBLE(s) \
	"EXISTS (SELECT FROM vis WHERE vis.strategy_id = " s ".strategy_id" \
	" AND vis.period_start <= " s ".received_at AND vis.period_end > " s ".received_at)"

#endif
