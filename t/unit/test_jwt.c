/* test_jwt.c — the API's access tokens (lib/web/jwt.c): what verifies, and
 * every way a token is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "web/jwt.h"

static const unsigned char key[AC_JWT_KEY_LEN] = "0123456789abcdef0123456789abcdef";
#define NOW 1800000000

static long long cv;	/* the credential version the last verify gave */

/* A token with the given header and payload JSON, signed with k. */
static void
forge(const char *header, const char *payload, const unsigned char *k, char *out, size_t n)
{
	char h[256], p[512];
	unsigned char sig[32];
	size_t len;

	sodium_bin2base64(h, sizeof(h), (const unsigned char *)header, strlen(header),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(p, sizeof(p), (const unsigned char *)payload, strlen(payload),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, n, "%s.%s", h, p);
	len = strlen(out);
	crypto_auth_hmacsha256(sig, (const unsigned char *)out, len, k);
	out[len++] = '.';
	sodium_bin2base64(out + len, n - len, sig, sizeof(sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
expect_refused(const char *token, const char *want)
{
	const char *why = NULL;

	assert_int_equal(ac_jwt_verify(key, token, "alertcast-api", NOW, &cv, &why), 0);
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void
test_round_trip(void **state)
{
	char t[AC_JWT_MAX];
	const char *why = "x";

	assert_int_equal(ac_jwt_sign(key, 42, 3, "alertcast-api", NOW, 900, t), 0);
	assert_int_equal(ac_jwt_verify(key, t, "alertcast-api", NOW + 899, &cv, &why), 42);
	assert_null(why);
	assert_int_equal(cv, 3);
	assert_int_equal(ac_jwt_verify(key, t, "alertcast-api", NOW + 900, &cv, &why), 0);
	assert_string_equal(why, "expired");
	assert_int_equal(ac_jwt_verify(key, t, "other", NOW, &cv, &why), 0);
	assert_string_equal(why, "audience");
}

static void
test_algorithms_pinned(void **state)
{
	char t[1024];
	static const char payload[] = "{\"sub\":\"1\",\"aud\":\"alertcast-api\",\"exp\":1900000000}";

	forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, key, t, sizeof(t));
	expect_refused(t, "algorithm");
	/* "none" with an empty signature, as attackers send it */
	*strrchr(t, '.') = '\0';
	strcat(t, ".");
	expect_refused(t, "algorithm");
	forge("{\"alg\":\"HS512\"}", payload, key, t, sizeof(t));
	expect_refused(t, "algorithm");
	forge("{\"alg\":\"hs256\"}", payload, key, t, sizeof(t));
	expect_refused(t, "algorithm");
	forge("{\"typ\":\"JWT\"}", payload, key, t, sizeof(t));
	expect_refused(t, "algorithm");
	forge("{\"alg\":\"HS256\"}", payload, key, t, sizeof(t));
	assert_int_equal(ac_jwt_verify(key, t, "alertcast-api", NOW, &cv, &(const char *){ NULL }), 1);
	assert_int_equal(cv, 0);	/* no "cv": matches no user's version */
}

static void
test_signature(void **state)
{
	static const unsigned char other[AC_JWT_KEY_LEN] = "another key, another key, anoth";
	char t[1024], *p;

	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"aud\":\"alertcast-api\",\"exp\":1900000000}",
	    other, t, sizeof(t));
	expect_refused(t, "signature");
	assert_int_equal(ac_jwt_sign(key, 7, 1, "alertcast-api", NOW, 900, t), 0);
	p = strchr(t, '.') + 3;		/* a payload byte changed */
	*p = *p == 'A' ? 'B' : 'A';
	expect_refused(t, "signature");
	assert_int_equal(ac_jwt_sign(key, 7, 1, "alertcast-api", NOW, 900, t), 0);
	strcpy(strrchr(t, '.') + 1, "c2hvcnQ");
	expect_refused(t, "signature");
}

static void
test_claims(void **state)
{
	char t[1024];

	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"aud\":\"alertcast-api\"}", key, t, sizeof(t));
	expect_refused(t, "expired");
	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"aud\":\"alertcast-api\",\"exp\":1900000000,"
	    "\"nbf\":1850000000}", key, t, sizeof(t));
	expect_refused(t, "not_yet_valid");
	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"exp\":1900000000}", key, t, sizeof(t));
	expect_refused(t, "audience");
	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"aud\":[\"x\",\"alertcast-api\"],"
	    "\"exp\":1900000000}", key, t, sizeof(t));
	assert_int_equal(ac_jwt_verify(key, t, "alertcast-api", NOW, &cv, &(const char *){ NULL }), 1);
	forge("{\"alg\":\"HS256\"}", "{\"sub\":\"-3\",\"aud\":\"alertcast-api\",\"exp\":1900000000}",
	    key, t, sizeof(t));
	expect_refused(t, "subject");
	forge("{\"alg\":\"HS256\"}", "{\"sub\":7,\"aud\":\"alertcast-api\",\"exp\":1900000000}",
	    key, t, sizeof(t));
	expect_refused(t, "subject");
}

static void
test_malformed(void **state)
{
	expect_refused("", "malformed");
	expect_refused("abc", "malformed");
	expect_refused("a.b", "malformed");
	expect_refused("a.b.c.d", "malformed");
	expect_refused("!!!.e30.AAAA", "malformed");
	expect_refused("e30.e30.AAAA", "algorithm");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_algorithms_pinned),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
