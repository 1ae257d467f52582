/* jwt.c — see jwt.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"
#include "web/jwt.h"
#include "base/util.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The HMAC-SHA256 of the n bytes of signing input. */
static void
mac(const unsigned char key[AC_JWT_KEY_LEN], const char *in, size_t n, unsigned char out[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, AC_JWT_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)in, n);
	crypto_auth_hmacsha256_final(&st, out);
}

int
ac_jwt_sign(const unsigned char key[AC_JWT_KEY_LEN], long long user_id, long long cv,
    const char *aud, int64_t now_s, int ttl_s, char out[AC_JWT_MAX])
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char jti[16], sig[32];
	char jtis[33], sub[24], *payload;
	json_t *p;
	size_t n;

	if (ac_random_bytes(jti, sizeof(jti)) == -1 || sodium_init() < 0)
		return -1;
	ac_hex(jti, sizeof(jti), jtis);
	snprintf(sub, sizeof(sub), "%lld", user_id);
	p = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "sub", sub, "aud", aud,
	    "iat", (json_int_t)now_s, "nbf", (json_int_t)now_s,
	    "exp", (json_int_t)(now_s + ttl_s), "jti", jtis, "cv", (json_int_t)cv);
	payload = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (payload == NULL)
		return -1;
	sodium_bin2base64(out, AC_JWT_MAX, (const unsigned char *)header, sizeof(header) - 1, B64);
	n = strlen(out);
	out[n++] = '.';
	sodium_bin2base64(out + n, AC_JWT_MAX - n, (const unsigned char *)payload,
	    strlen(payload), B64);
	free(payload);
	n = strlen(out);
	mac(key, out, n, sig);
	out[n++] = '.';
	sodium_bin2base64(out + n, AC_JWT_MAX - n, sig, sizeof(sig), B64);
	return 0;
}

/* Decodes n base64url characters at s into a NUL-terminated JSON object,
 * or NULL. */
static json_t *
part_json(const char *s, size_t n)
{
	unsigned char buf[AC_JWT_MAX];
	size_t len;

	if (sodium_base642bin(buf, sizeof(buf) - 1, s, n, NULL, &len, NULL, B64) != 0)
		return NULL;
	return json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
}

/* 1 if aud (a string or an array of strings) names want. */
static int
aud_ok(const json_t *aud, const char *want)
{
	size_t i;
	const json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return 1;
	return 0;
}

long long
ac_jwt_verify(const unsigned char key[AC_JWT_KEY_LEN], const char *token, const char *aud,
    int64_t now_s, long long *cv, const char **why)
{
	const char *d1, *d2, *alg, *sub, *errstr = NULL;
	unsigned char sig[32], want[32];
	size_t siglen;
	json_t *h = NULL, *p = NULL, *v;
	long long id = 0;

	*why = "malformed";
	*cv = 0;
	if (sodium_init() < 0 || strlen(token) >= AC_JWT_MAX ||
	    (d1 = strchr(token, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL)
		return 0;
	if ((h = part_json(token, (size_t)(d1 - token))) == NULL)
		goto out;
	alg = json_string_value(json_object_get(h, "alg"));
	if (alg == NULL || strcmp(alg, "HS256") != 0) {
		*why = "algorithm";
		goto out;
	}
	if (sodium_base642bin(sig, sizeof(sig), d2 + 1, strlen(d2 + 1), NULL, &siglen, NULL,
	    B64) != 0 || siglen != sizeof(sig)) {
		*why = "signature";
		goto out;
	}
	mac(key, token, (size_t)(d2 - token), want);
	if (!ac_ct_equal(sig, want, sizeof(sig))) {
		*why = "signature";
		goto out;
	}
	if ((p = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		goto out;
	v = json_object_get(p, "exp");
	if (!json_is_integer(v) || json_integer_value(v) <= now_s) {
		*why = "expired";
		goto out;
	}
	v = json_object_get(p, "nbf");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) > now_s)) {
		*why = "not_yet_valid";
		goto out;
	}
	if (!aud_ok(json_object_get(p, "aud"), aud)) {
		*why = "audience";
		goto out;
	}
	sub = json_string_value(json_object_get(p, "sub"));
	if (sub != NULL)
		id = ac_strtonum(sub, 1, INT64_MAX, &errstr);
	if (sub == NULL || errstr != NULL) {
		*why = "subject";
		id = 0;
		goto out;
	}
	v = json_object_get(p, "cv");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		*cv = json_integer_value(v);
	*why = NULL;
out:
	json_decref(h);
	json_decref(p);
	return id;
}

static int
key_load(const char *secret, const char *state_dir, unsigned char key[AC_JWT_KEY_LEN],
    char *err, size_t errsz)
{
	char path[4096];
	int fd;
	ssize_t n;

	if (secret != NULL && *secret != '\0') {
		if (strlen(secret) < 32) {
			snprintf(err, errsz, "AC_JWT_SECRET must have at least 32 characters");
			return -1;
		}
		ac_sha256(secret, strlen(secret), key);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/jwt.key", state_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) != -1) {
		if (ac_random_bytes(key, AC_JWT_KEY_LEN) == -1 ||
		    write(fd, key, AC_JWT_KEY_LEN) != AC_JWT_KEY_LEN || fsync(fd) == -1) {
			snprintf(err, errsz, "%.300s: cannot write: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		close(fd);
		return 0;
	}
	if (errno != EEXIST || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%.300s: %s", path, strerror(errno));
		return -1;
	}
	/* another process may be writing it right now */
	for (int tries = 0; tries < 50; tries++) {
		n = pread(fd, key, AC_JWT_KEY_LEN, 0);
		if (n == AC_JWT_KEY_LEN) {
			close(fd);
			return 0;
		}
		usleep(20000);
	}
	close(fd);
	snprintf(err, errsz, "%.300s: shorter than %d bytes", path, AC_JWT_KEY_LEN);
	return -1;
}

int
ac_jwt_key(const char *secret, const char *state_dir, unsigned char key[AC_JWT_KEY_LEN],
    struct ac_err *e)
{
	char err[sizeof(e->message)] = "";

	if (key_load(secret, state_dir, key, err, sizeof(err)) == -1)
		return ac_err_set(e, AC_E_INVALID, "AC_JWT_SECRET", "%s", err);
	return 0;
}
