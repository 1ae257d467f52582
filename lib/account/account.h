/*
 * account.h — subscribers, plans, subscriptions and alarms: creating them
 * (acctl now; the portal and admin panel later). Each call runs inside the
 * caller's transaction and returns the new row as JSON (the caller owns
 * it), or NULL with a message for a person in err: which field, which
 * rule, what was received — or the database's error.
 */
#ifndef AC_ACCOUNT_H
#define AC_ACCOUNT_H

#include <jansson.h>
#include <stddef.h>

#include "base/db.h"

struct ac_user_new {
	const char	*email;
	const char	*password;
	const char	*name;			/* NULL: "" */
	const char	*phone;			/* NULL: none */
	const char	*telegram_chat_id;	/* NULL: none */
	const char	*timezone;		/* NULL: UTC */
};

/* A user (active, no credits) with an Argon2id hash of the password. */
json_t	*ac_user_create(struct ac_db *db, const struct ac_user_new *in, char *err, size_t errsz);

/* The id of the user with this email (case-insensitive): > 0, 0 when
 * none (err says so), -1 on a database error (err). */
long long ac_user_id(struct ac_db *db, const char *email, char *err, size_t errsz);

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
};

/* A plan and the strategies it covers. */
json_t	*ac_plan_create(struct ac_db *db, const struct ac_plan_new *in, char *err, size_t errsz);

/* A manual subscription of user to the active plan called plan_name,
 * active from now for the plan's duration, and the plan's credits granted
 * as a ledger row keyed "subscription:<id>". */
json_t	*ac_subscribe_manual(struct ac_db *db, long long user_id, const char *plan_name,
	    char *err, size_t errsz);

struct ac_alarm_new {
	long long	 user_id;
	const char	*strategy_id;
	const char	*channels;	/* "email,telegram,sms,push" (a subset) */
	int		 no_entry, no_exit, no_replacement;
	const char	*min_price;	/* NULL: no filter */
	const char	*max_price;
};

/* An alarm, refused unless one of the user's active subscriptions covers
 * the strategy (that subscription is recorded on the alarm). */
json_t	*ac_alarm_create(struct ac_db *db, const struct ac_alarm_new *in, char *err, size_t errsz);

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
