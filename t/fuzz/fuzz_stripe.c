/* fuzz_stripe.c — libFuzzer target for the Stripe-Signature check: the
 * input's first line is the header, the rest the body. Whatever it is, the
 * check answers 0 or -1 naming the header; a header made by signing the
 * body with the secret at the time is always taken, and the same with a
 * byte of its digest changed never. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/crypto.h"
#include "base/err.h"
#include "billing/signature.h"

#define SECRET	"whsec_fuzz0123456789abcdef"
#define NOW	1780000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "t=NOW,v1=<hex HMAC of NOW.body>" into out (flip: one digest byte changed). */
static void
sign(const uint8_t *body, size_t len, int flip, char *out, size_t outsz)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32];
	char t[24], hex[65];

	snprintf(t, sizeof(t), "%lld", NOW);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	mac[0] ^= (unsigned char)flip;
	ac_hex(mac, sizeof(mac), hex);
	snprintf(out, outsz, "t=%s,v1=%s", t, hex);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = size - hlen - (nl != NULL);
	char *header = malloc(hlen + 1), good[128];
	struct ac_err e;
	int rc;

	if (header == NULL)
		abort();
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	rc = ac_stripe_verify(header, body, blen, SECRET, NOW, AC_STRIPE_TOLERANCE_S, &e);
	if (rc != 0 && (rc != -1 || e.field == NULL || strcmp(e.field, "Stripe-Signature") != 0))
		abort();
	free(header);
	sign(body, blen, 0, good, sizeof(good));
	if (ac_stripe_verify(good, body, blen, SECRET, NOW, AC_STRIPE_TOLERANCE_S, &e) != 0)
		abort();
	sign(body, blen, 1, good, sizeof(good));
	if (ac_stripe_verify(good, body, blen, SECRET, NOW, AC_STRIPE_TOLERANCE_S, &e) != -1)
		abort();
	return 0;
}
