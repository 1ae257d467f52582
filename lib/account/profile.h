/*
 * profile.h — a user's own account as the portal and the API show it and
 * change it: profile and preferences, credential version, subscriptions,
 * API tokens.
 */
#ifndef AC_PROFILE_H
#define AC_PROFILE_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * {"id", "email", "name", "phone", "timezone", "status",
 * "max_daily_alerts", "risk_level", "notifications": {"email", "telegram",
 * "sms", "push", "renewal_reminders"}, "telegram_connected",
 * "credit_balance", "created_at" (ISO), "telegram_username"}; NULL with
 * *e (AC_E_NOT_FOUND: no such user).
 */
json_t		*ac_profile(struct ac_db *db, long long user_id, struct ac_err *e);

struct ac_profile_in {
	const char	*name;
	const char	*phone;			/* "": none */
	const char	*timezone;		/* an IANA name */
	const char	*max_daily_alerts;	/* integer text */
	int		 notify_email, notify_telegram, notify_sms, notify_push;
	int		 renewal_reminders;
};

/* Saves in (already checked) as the user's profile and preferences: 0, or
 * -1 with *e (AC_E_UNPROCESSABLE: the time zone is unknown). */
int		 ac_profile_update(struct ac_db *db, long long user_id,
		    const struct ac_profile_in *in, struct ac_err *e);

/* The user's credential version while the account is active: > 0; 0 when
 * it is suspended, inactive or gone; -1 on a database error (*e). One
 * primary-key read. */
long long	 ac_credential_version(struct ac_db *db, long long user_id, struct ac_err *e);

/* {"credit_balance", "subscriptions": [{"id", "plan_id", "plan", "status",
 * "period_start", "period_end" (ISO), "auto_renew", "provider",
 * "past_due_since"}, ... active or past due and not ended, or pending
 * (a payment awaiting approval), latest end first], "ended": the
 * subscription that ended last {"id", "plan", "status", "reason"
 * (period_end, payment_failed, cancelled), "period_end"} or null};
 * NULL with *e. */
json_t		*ac_subscription_status(struct ac_db *db, long long user_id, struct ac_err *e);

/* The user's API tokens, newest first: [{"id", "name", "prefix",
 * "created", "last_used" (the user's time, to the minute; null: never),
 * "revoked"}]; NULL with *e. */
json_t		*ac_api_token_list(struct ac_db *db, long long user_id, struct ac_err *e);

#endif
