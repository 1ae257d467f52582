/*
 * signature.h — Stripe's webhook signature (stripe.h has the rest): pure,
 * so that the fuzz target links it alone.
 */
#ifndef AC_STRIPE_SIGNATURE_H
#define AC_STRIPE_SIGNATURE_H

#include <stddef.h>

#include "base/err.h"

#define AC_STRIPE_TOLERANCE_S	300	/* a signature older than this is refused */

/*
 * Checks header (Stripe-Signature: "t=<unix>,v1=<hex>[,v1=...]") over
 * body with secret (the whole whsec_... string) at now (unix seconds):
 * any v1 matching HMAC-SHA256(secret, "<t>.<body>") in constant time, t
 * within tolerance_s of now. 0, or -1 with e (AC_E_UNAUTHORIZED, field
 * "Stripe-Signature", what was wrong: missing, malformed, stale, no match).
 */
int	ac_stripe_verify(const char *header, const void *body, size_t len, const char *secret,
	    long long now, int tolerance_s, struct ac_err *e);

#endif
