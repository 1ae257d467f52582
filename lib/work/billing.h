/*
 * billing.h — the worker's billing jobs (lib/billing does the work):
 *
 *	"stripe_event"	{"event_id": "evt_..."}: one stored Stripe event,
 *			queued by ac-hook with it (billing/stripe.h)
 */
#ifndef AC_WORK_BILLING_H
#define AC_WORK_BILLING_H

#include "work/jobs.h"

/* Processes the event in the runner's transaction: RETRY while the
 * database is away (or a deadlock with another event of the same
 * customer), FAIL when an operator must act (no plan has the price). */
enum ac_job_outcome ac_stripe_event_job(struct ac_db *db, struct ac_job *job);

#endif
