/* signature.c — the Stripe-Signature check (stripe.h): pure, no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/crypto.h"
#include "billing/signature.h"

#define V1_MAX	8	/* v1 signatures looked at (Stripe sends one, two while a secret rolls) */

/* HMAC-SHA256(secret, t "." body) into mac. */
static void
expected(const char *secret, const char *t, size_t tlen, const void *body, size_t len,
    unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, tlen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
}

/* 1 if the hex digest hex (hexlen chars) is want. */
static int
v1_matches(const char *hex, size_t hexlen, const unsigned char want[32])
{
	unsigned char got[32];

	if (hexlen != 64 || ac_unhex(hex, got, sizeof(got)) == -1)
		return 0;
	return ac_ct_equal(want, got, sizeof(got));
}

int
ac_stripe_verify(const char *header, const void *body, size_t len, const char *secret,
    long long now, int tolerance_s, struct ac_err *e)
{
	const char *p, *t = NULL;
	size_t tlen = 0;
	unsigned char want[32];
	long long ts;
	int any = 0, ok = 0;
	char *end, tbuf[24];

	if (secret == NULL || *secret == '\0')
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "no webhook secret is configured");
	if (header == NULL || *header == '\0')
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "the Stripe-Signature header is missing");
	/* t= first, wherever it stands */
	for (p = header; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
		size_t n = strcspn(p, ",");

		if (n > 2 && strncmp(p, "t=", 2) == 0) {
			t = p + 2;
			tlen = n - 2;
		}
	}
	if (t == NULL || tlen == 0 || tlen >= sizeof(tbuf))
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "the Stripe-Signature header has no timestamp");
	memcpy(tbuf, t, tlen);
	tbuf[tlen] = '\0';
	ts = strtoll(tbuf, &end, 10);
	if (*end != '\0' || ts <= 0)
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "the Stripe-Signature timestamp is not a number");
	/* the digest once (a header of many v1s costs no more than one); every
	 * v1 up to V1_MAX is compared, so the time says nothing of which matched */
	expected(secret, tbuf, tlen, body, len, want);
	for (p = header; *p != '\0' && any < V1_MAX; p += strcspn(p, ","), p += *p == ',') {
		size_t n = strcspn(p, ",");

		if (n > 3 && strncmp(p, "v1=", 3) == 0) {
			any++;
			ok |= v1_matches(p + 3, n - 3, want);
		}
	}
	if (!any)
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "the Stripe-Signature header has no v1 signature");
	if (!ok)
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "no v1 signature matches the body");
	if (ts < now - tolerance_s || ts > now + tolerance_s)
		return ac_err_set(e, AC_E_UNAUTHORIZED, "Stripe-Signature",
		    "the signature is %lld s old (at most %d s is taken)", now - ts, tolerance_s);
	return 0;
}

