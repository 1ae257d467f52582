/*
 * stripe.h — card subscriptions through Stripe (sql/014_billing.sql).
 *
 * The responders' side: Stripe-Signature checked (signature.c) and the
 * event stored once under its id with a "stripe_event" job beside it
 * (ac-hook), and the Checkout and Billing Portal sessions a subscriber is
 * sent to (ac-portal, ac-api; checkout.c) — the one outside call a
 * responder makes while a person waits, bounded by AC_STRIPE_TIMEOUT_MS.
 *
 * The worker's side: ac_stripe_event_process() folds one stored event
 * into Stripe's picture of the subscription (the latest "created" wins a
 * status; a paid invoice stays paid) and that picture into the user's
 * subscription once the checkout has said whose it is, granting each paid
 * invoice's credits once (ledger key invoice:<id>). Any order of events,
 * any number of copies, ends in the same state.
 */
#ifndef AC_STRIPE_H
#define AC_STRIPE_H

#include <stddef.h>

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"
#include "billing/signature.h"

/* 1 if s is an id Stripe makes with prefix ("evt_", "cs_"): letters,
 * digits and '_' after it, at most 250 in all. */
int	ac_stripe_id_ok(const char *s, const char *prefix);

/*
 * Stores the event in body (a Stripe event object: "id" evt_..., "type",
 * "created") with its processing job, in one statement, waking the
 * workers when notify (the host's coalesced NOTIFY, alert/ingest.h: every
 * NOTIFY serializes commits). 1 when new, 0
 * when already stored (a copy: counted), -1 with e (AC_E_INVALID for a
 * body that is not an event, AC_E_UNAVAILABLE / AC_E_INTERNAL for the
 * database). id (idsz >= 256) receives the event id when known.
 */
int	ac_stripe_event_store(struct ac_db *db, const void *body, size_t len, int notify,
	    char *id, size_t idsz, struct ac_err *e);

/* Where the responders reach Stripe (from the settings). */
struct ac_stripe_api {
	const char	*base;		/* AC_STRIPE_API_BASE, no trailing slash */
	const char	*secret_key;	/* AC_STRIPE_SECRET_KEY; NULL or "": not configured */
	const char	*site;		/* AC_BASE_URL: success, cancel and return URLs */
	int		 timeout_ms;	/* AC_STRIPE_TIMEOUT_MS */
};

/*
 * A Checkout Session (mode=subscription) for user on plan, recorded in
 * checkout_sessions; its url (malloc'd), to redirect to. A second call
 * for the same user and plan within ten minutes (a double click, a
 * retried request) reuses the same Idempotency-Key and so the same
 * session. NULL with e: AC_E_NOT_FOUND (no such active plan),
 * AC_E_UNPROCESSABLE (the plan has no Stripe price; card payments not
 * configured; five active subscriptions already), AC_E_UNAVAILABLE
 * (Stripe slow, down or refusing), or a database error.
 */
char	*ac_stripe_checkout(struct ac_db *db, const struct ac_stripe_api *api, long long user_id,
	    long long plan_id, struct ac_err *e);

/* 1 if the user has paid by card (has a Stripe customer), else 0. */
int	ac_stripe_is_customer(struct ac_db *db, long long user_id);

/* A Billing Portal session for the user's Stripe customer (change card,
 * cancel), returning to return_path on the site; its url (malloc'd).
 * NULL with e: AC_E_NOT_FOUND (the user never paid by card), as above. */
char	*ac_stripe_portal(struct ac_db *db, const struct ac_stripe_api *api, long long user_id,
	    const char *return_path, struct ac_err *e);

/* The user's checkout session as the page after paying shows it:
 * {"session", "completed" (Stripe told us), "plan", "credits", "balance",
 * "status" (the subscription's, or null), "active", "period_end",
 * "granted" (its invoice's credits arrived)}; NULL with e (AC_E_NOT_FOUND:
 * none, or another user's). */
json_t	*ac_stripe_checkout_status(struct ac_db *db, long long user_id, const char *session,
	    struct ac_err *e);

/*
 * Processes the stored event id inside the caller's transaction (the
 * worker's job; what overstays its time is ended by lifecycle.h, and
 * stays ended unless Stripe moves its period on). 0 when done (processed, ignored, or
 * processed before); -1 with e: AC_E_UNAVAILABLE (database: try again),
 * AC_E_UNPROCESSABLE (e.g. no plan has the invoice's price: an operator
 * must act; the job fails with this message), AC_E_NOT_FOUND (no such
 * event).
 */
int	ac_stripe_event_process(struct ac_db *db, const char *id, struct ac_err *e);

#endif
