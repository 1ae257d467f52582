/* spool.c — see spool.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"
#include "alert/spool.h"

#define SPOOL_FILE	"hook.spool"
#define REPLAY_FILE	"hook.spool.replaying"
#define OFFSET_FILE	"hook.spool.offset"
#define LOCK_FILE	"replay.lock"

static int
spool_path(char *out, size_t sz, const char *state_dir, const char *name)
{
	int n = snprintf(out, sz, "%s/spool%s%s", state_dir, name ? "/" : "", name ? name : "");

	if (n < 0 || (size_t)n >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Creates STATE/spool (and STATE) if missing. */
static int
ensure_dir(const char *state_dir)
{
	char dir[PATH_MAX];

	if (mkdir(state_dir, 0750) == -1 && errno != EEXIST)
		return -1;
	if (spool_path(dir, sizeof(dir), state_dir, NULL) == -1)
		return -1;
	if (mkdir(dir, 0750) == -1) {
		if (errno != EEXIST)
			return -1;
		return 0;
	}
	return fsync_dir(state_dir);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The entry as one JSON line, malloc'd. */
static char *
encode(const struct ac_spool_entry *e, size_t *outlen)
{
	size_t b64len = 4 * ((e->len + 2) / 3) + 1;
	char *b64 = malloc(b64len), *line, *s;
	json_t *o;

	if (b64 == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)e->body, (int)e->len);
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "v", 2,
	    "token_sha256", e->token_sha256 ? e->token_sha256 : "",
	    "content_type", e->content_type ? e->content_type : "",
	    "remote_addr", e->remote_addr ? e->remote_addr : "",
	    "request_id", e->request_id ? e->request_id : "",
	    "received_ms", (json_int_t)e->received_ms, "len", (json_int_t)e->len, "body", b64);
	free(b64);
	if (o == NULL)	/* a string that is not UTF-8: a header */
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		return NULL;
	*outlen = strlen(s) + 1;
	line = realloc(s, *outlen + 1);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[*outlen - 1] = '\n';
	line[*outlen] = '\0';
	return line;
}

int
ac_spool_append(const char *state_dir, const struct ac_spool_entry *e)
{
	char path[PATH_MAX], last;
	struct stat fst, pst;
	size_t len;
	char *line;
	int fd = -1, created, saved;

	if (ensure_dir(state_dir) == -1 || spool_path(path, sizeof(path), state_dir, SPOOL_FILE) == -1)
		return -1;
	if ((line = encode(e, &len)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {	/* open the file the path names now, not one renamed away */
		created = access(path, F_OK) == -1;
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd == -1 || flock(fd, LOCK_EX) == -1)
			goto fail;
		if (fstat(fd, &fst) == 0 && stat(path, &pst) == 0 &&
		    fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev)
			break;
		close(fd);
	}
	/* a torn line from a crash must not swallow this one */
	if (fst.st_size > 0 && (pread(fd, &last, 1, fst.st_size - 1) != 1 || last != '\n') &&
	    write_all(fd, "\n", 1) == -1)
		goto fail;
	if (write_all(fd, line, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (created) {
		char dir[PATH_MAX];

		if (spool_path(dir, sizeof(dir), state_dir, NULL) == -1 || fsync_dir(dir) == -1)
			goto fail;
	}
	close(fd);
	free(line);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(line);
	errno = saved;
	return -1;
}

int
ac_spool_pending(const char *state_dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (spool_path(path, sizeof(path), state_dir, REPLAY_FILE) == 0 && stat(path, &st) == 0)
		return 1;
	return spool_path(path, sizeof(path), state_dir, SPOOL_FILE) == 0 &&
	    stat(path, &st) == 0 && st.st_size > 0;
}

long long
ac_spool_bytes(const char *state_dir)
{
	static const char *const files[] = { SPOOL_FILE, REPLAY_FILE };
	char path[PATH_MAX];
	struct stat st;
	long long n = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (spool_path(path, sizeof(path), state_dir, files[i]) == 0 && stat(path, &st) == 0)
			n += (long long)st.st_size;
	return n;
}

/* Decodes one line into e (strings point into the returned object or
 * hash, and the body into *body, which the caller frees). NULL if it is
 * not one. A line of format 1 held the token itself: it is read as its
 * hash. */
static json_t *
decode(const char *line, size_t n, struct ac_spool_entry *e, char **body, char hash[65])
{
	json_t *o = json_loadb(line, n, 0, NULL);
	const char *b64 = NULL, *token;
	json_int_t len = -1, ms = 0;
	size_t blen;

	*body = NULL;
	if (o == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	if ((token = json_string_value(json_object_get(o, "token"))) != NULL) {
		hash[0] = '\0';
		if (*token != '\0')
			ac_sha256_hex(token, strlen(token), hash);
		e->token_sha256 = hash;
	} else {
		e->token_sha256 = json_string_value(json_object_get(o, "token_sha256"));
	}
	if (e->token_sha256 == NULL || json_unpack(o, "{s:s, s:s, s:s, s:I, s:I, s:s}",
	    "content_type", &e->content_type, "remote_addr", &e->remote_addr,
	    "request_id", &e->request_id, "received_ms", &ms, "len", &len, "body", &b64) == -1 ||
	    len < 0 || (blen = strlen(b64)) % 4 != 0 || (size_t)len > blen / 4 * 3)
		goto bad;
	if ((*body = malloc(blen / 4 * 3 + 1)) == NULL)
		goto bad;
	if (EVP_DecodeBlock((unsigned char *)*body, (const unsigned char *)b64, (int)blen) < 0)
		goto bad;
	(*body)[len] = '\0';
	e->body = *body;
	e->len = (size_t)len;
	e->received_ms = ms;
	return o;
bad:
	free(*body);
	*body = NULL;
	json_decref(o);
	return NULL;
}

static int
read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t got;

	*data = NULL;
	if (f == NULL)
		return -1;
	if (fstat(fileno(f), &st) == -1 || (*data = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	got = fread(*data, 1, (size_t)st.st_size, f);
	fclose(f);
	(*data)[got] = '\0';
	*len = got;
	return 0;
}

static long long
read_offset(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");
	long long off = 0;

	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL)
		off = strtoll(buf, NULL, 10);
	fclose(f);
	return off < 0 ? 0 : off;
}

static int
write_offset(const char *path, size_t off)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640), rc;
	int n = snprintf(buf, sizeof(buf), "%020zu\n", off);	/* fixed width: overwrite in place */

	if (fd == -1)
		return -1;
	rc = pwrite(fd, buf, (size_t)n, 0) == n && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

/* Moves the live spool aside for replay, waiting out appends in flight. */
static int
take_spool(const char *live, const char *replay, const char *dir)
{
	struct stat st;
	int fd = open(live, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
		rc = -1;
	else if (st.st_size > 0 && (rename(live, replay) == -1 || fsync_dir(dir) == -1))
		rc = -1;
	close(fd);
	return rc;
}

/* Both replays: lockop LOCK_NB returns at once when another replayer
 * holds the lock, 0 waits for it. */
static int
replay_locked(const char *state_dir,
    enum ac_spool_verdict (*fn)(const struct ac_spool_entry *e, void *arg),
    void *arg, struct ac_spool_stats *st, int lockop)
{
	char dir[PATH_MAX], live[PATH_MAX], replay[PATH_MAX], offp[PATH_MAX], lockp[PATH_MAX];
	char *data = NULL, *p, *nl, *body, hash[65];
	size_t len, off;
	int lockfd, rc = 0, stopped = 0;
	struct ac_spool_entry e;
	json_t *o;

	memset(st, 0, sizeof(*st));
	if (ensure_dir(state_dir) == -1 ||
	    spool_path(dir, sizeof(dir), state_dir, NULL) == -1 ||
	    spool_path(live, sizeof(live), state_dir, SPOOL_FILE) == -1 ||
	    spool_path(replay, sizeof(replay), state_dir, REPLAY_FILE) == -1 ||
	    spool_path(offp, sizeof(offp), state_dir, OFFSET_FILE) == -1 ||
	    spool_path(lockp, sizeof(lockp), state_dir, LOCK_FILE) == -1)
		return -1;
	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1)
		return -1;
	while (flock(lockfd, LOCK_EX | lockop) == -1) {
		if (errno == EINTR && lockop == 0)
			continue;
		close(lockfd);
		if (errno != EWOULDBLOCK)
			return -1;
		st->busy = 1;
		return 0;
	}
	/* a replay file left by an earlier run goes first; then the live one */
	while (!stopped) {
		if (access(replay, F_OK) == -1) {
			if (take_spool(live, replay, dir) == -1) {
				rc = -1;
				break;
			}
			if (access(replay, F_OK) == -1)
				break;	/* nothing waiting */
		}
		if (read_file(replay, &data, &len) == -1) {
			rc = -1;
			break;
		}
		off = (size_t)read_offset(offp);
		for (p = data + (off < len ? off : len); p < data + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(data + len - p));
			if (nl == NULL)
				nl = data + len;	/* a torn last line */
			if (nl == p)
				continue;
			if ((o = decode(p, (size_t)(nl - p), &e, &body, hash)) == NULL) {
				st->corrupt++;
				ac_error("spool line at offset %zu is unreadable; skipped", (size_t)(p - data));
			} else {
				enum ac_spool_verdict v = fn(&e, arg);

				free(body);
				json_decref(o);
				if (v == AC_SPOOL_STOP) {
					stopped = 1;
					for (; p < data + len; p++)
						st->kept += *p == '\n';
					break;
				}
				st->done++;
			}
			if (write_offset(offp, (size_t)(nl - data) + 1) == -1) {
				rc = -1;
				stopped = 1;
				break;
			}
		}
		free(data);
		data = NULL;
		if (!stopped && (unlink(replay) == -1 || (unlink(offp) == -1 && errno != ENOENT) ||
		    fsync_dir(dir) == -1)) {
			rc = -1;
			break;
		}
	}
	close(lockfd);
	return rc;
}

int
ac_spool_replay(const char *state_dir,
    enum ac_spool_verdict (*fn)(const struct ac_spool_entry *e, void *arg),
    void *arg, struct ac_spool_stats *st)
{
	return replay_locked(state_dir, fn, arg, st, LOCK_NB);
}

int
ac_spool_replay_wait(const char *state_dir,
    enum ac_spool_verdict (*fn)(const struct ac_spool_entry *e, void *arg),
    void *arg, struct ac_spool_stats *st)
{
	return replay_locked(state_dir, fn, arg, st, 0);
}
