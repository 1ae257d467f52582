/*
 * password.h — password hashes: Argon2id through libsodium, stored as the
 * self-describing "$argon2id$v=19$m=...,t=...,p=...$salt$hash" string.
 */
#ifndef AC_PASSWORD_H
#define AC_PASSWORD_H

#define AC_PASSWORD_HASH_MAX 128	/* crypto_pwhash_STRBYTES */
#define AC_PASSWORD_MIN 8
#define AC_PASSWORD_MAX 1024

/* Hashes pw (AC_PASSWORD_MIN..MAX bytes) with a fresh random salt at
 * libsodium's interactive limits. 0, or -1 (bad length, or out of memory). */
int	ac_password_hash(const char *pw, char out[AC_PASSWORD_HASH_MAX]);

/* 1 if pw matches hash (any Argon2id parameters), else 0. Constant work
 * for a given hash, whatever pw is. */
int	ac_password_verify(const char *hash, const char *pw);

/* 1 if hash was made with other parameters than ac_password_hash() uses
 * now (so it should be replaced at the next successful login), else 0. */
int	ac_password_needs_rehash(const char *hash);

#endif
