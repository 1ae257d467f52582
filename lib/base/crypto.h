/*
 * crypto.h — randomness from the OS CSPRNG, SHA-256, HMAC-SHA256, constant-time
 * comparison. Nothing here keeps state.
 */
#ifndef AC_CRYPTO_H
#define AC_CRYPTO_H

#include <stddef.h>

#define AC_TOKEN_LEN 43	/* 32 random bytes in unpadded base64url */

/* Fills buf with n bytes from getrandom(2). 0, or -1 (errno). */
int	ac_random_bytes(void *buf, size_t n);

/* A new 256-bit token, base64url without padding, NUL-terminated in out
 * (AC_TOKEN_LEN + 1 bytes). 0, or -1 if the OS gave no randomness. */
int	ac_token_new(char out[AC_TOKEN_LEN + 1]);

/* SHA-256 of n bytes, raw (32 bytes) or lower-case hex (64 + NUL). */
void	ac_sha256(const void *data, size_t n, unsigned char out[32]);
void	ac_sha256_hex(const void *data, size_t n, char out[65]);

/* HMAC-SHA256 of the n bytes of msg under the NUL-terminated key, as
 * lower-case hex (64 + NUL). */
void	ac_hmac_sha256_hex(const char *key, const void *msg, size_t n, char out[65]);

/* 1 if the n bytes at a and b are equal; time depends on n only. */
int	ac_ct_equal(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void	ac_hex(const unsigned char *in, size_t n, char *out);

/* The n bytes that exactly 2n lower-case hex digits (then the NUL) in in
 * stand for, into out. 0, or -1 if in is anything else. */
int	ac_unhex(const char *in, unsigned char *out, size_t n);

#endif
