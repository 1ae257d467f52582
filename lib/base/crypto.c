/* crypto.c — see crypto.h. */
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include "base/crypto.h"

int
ac_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
ac_token_new(char out[AC_TOKEN_LEN + 1])
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33];	/* 32 random bytes and a zero pad: 11 groups of 3 */
	size_t i, o = 0;

	if (ac_random_bytes(raw, 32) == -1)
		return -1;
	raw[32] = 0;
	for (i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	out[AC_TOKEN_LEN] = '\0';	/* 44 chars drop the pad's last one */
	return 0;
}

void
ac_sha256(const void *data, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void
ac_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
ac_unhex(const char *in, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		int c = (unsigned char)in[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return in[2 * n] == '\0' ? 0 : -1;
}

void
ac_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[32];

	ac_sha256(data, n, md);
	ac_hex(md, 32, out);
}

void
ac_hmac_sha256_hex(const char *key, const void *msg, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md);

	HMAC(EVP_sha256(), key, (int)strlen(key), msg, n, md, &len);
	ac_hex(md, sizeof(md), out);
}

int
ac_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
