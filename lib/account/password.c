/* password.c — see password.h. */
#include <sodium.h>
#include <string.h>

#include "account/password.h"

int
ac_password_hash(const char *pw, char out[AC_PASSWORD_HASH_MAX])
{
	size_t n = strlen(pw);

	_Static_assert(AC_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "hash string size");
	if (n < AC_PASSWORD_MIN || n > AC_PASSWORD_MAX || sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

int
ac_password_verify(const char *hash, const char *pw)
{
	if (sodium_init() < 0 || strlen(pw) > AC_PASSWORD_MAX)
		return 0;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

int
ac_password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}
