/*
 * lifecycle.h — what time does to subscriptions, run by every worker
 * about once a minute (cron starts the workers):
 *
 *	a manual subscription past its end	expired ("period_end")
 *	a Stripe one Stripe never renewed	expired once its end is grace days
 *						past (Stripe's word is awaited that long)
 *	a past-due one				expired grace days after the first
 *						failed renewal ("payment_failed")
 *	an active one ending within		a renewal reminder, once a period, by
 *	reminder days, not renewing itself	the user's channels, if they want them
 *
 * Each ended subscription's user is told. Rows are taken FOR UPDATE SKIP
 * LOCKED, so any number of workers may sweep at once, each row once.
 */
#ifndef AC_LIFECYCLE_H
#define AC_LIFECYCLE_H

#include "base/db.h"
#include "base/err.h"

struct ac_billing_cfg {
	const char	*site;		/* AC_BASE_URL: links in the notices */
	int		 grace_days;	/* AC_PAST_DUE_GRACE_DAYS */
	int		 reminder_days;	/* AC_RENEWAL_REMINDER_DAYS */
};

struct ac_sweep_stats {
	long long	 expired;	/* ended at their period's end */
	long long	 unpaid;	/* ended after the grace */
	long long	 reminded;
};

/* Sets what the sweeps and billing's notices use (copied). */
void	ac_billing_setup(const struct ac_billing_cfg *cfg);
const struct ac_billing_cfg *ac_billing_config(void);

/* One sweep in its own transaction. 0 with *st, or -1 with e. */
int	ac_billing_sweep(struct ac_db *db, struct ac_sweep_stats *st, struct ac_err *e);

#endif
