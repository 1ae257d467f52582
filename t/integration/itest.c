/* itest.c — see itest.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "itest.h"

#define IT_PARAMS_MAX	16
#define IT_TIMEOUT_MS	10000L

static const char *const required_env[] = {
	"AC_TEST_BASE_URL", "AC_DATABASE_URL", "AC_STATE_DIR", "AC_TEST_ACCTL",
	"AC_TEST_PG_STOP", "AC_TEST_PG_START",
};

static PGconn	*db;
static double	 price_step;

/* ---- setup ------------------------------------------------------------- */

int
it_init(void)
{
	for (size_t i = 0; i < sizeof(required_env) / sizeof(required_env[0]); i++) {
		const char *v = getenv(required_env[i]);

		if (v == NULL || *v == '\0') {
			fprintf(stderr, "itest: %s is not set; run the integration tests with"
			    " t/integration/run\n", required_env[i]);
			return -1;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "itest: curl_global_init failed\n");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void
it_done(void)
{
	if (db != NULL)
		PQfinish(db);
	db = NULL;
	curl_global_cleanup();
}

const char *
it_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		fail_msg("%s is not set (run through t/integration/run)", name);
	return v;
}

/* ---- HTTP --------------------------------------------------------------- */

/* One transfer: its easy handle, request headers and the answer it fills. */
struct xfer {
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct it_resp		*resp;
	void			*tag;
	char			 url[1024];
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	assert_non_null(p);
	return p;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct it_resp *r = arg;
	size_t add = size * n;

	r->body = xrealloc(r->body, r->len + add + 1);
	memcpy(r->body + r->len, data, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static void
headers_clear(struct it_resp *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct it_resp *r = arg;
	size_t len = size * n, k;
	const char *colon = memchr(data, ':', len), *v, *e = data + len;
	struct it_header *h;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {	/* a new answer: keep the last */
		headers_clear(r);
		return len;
	}
	if (colon == NULL)
		return len;
	for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
		continue;
	while (e > v && isspace((unsigned char)e[-1]))
		e--;
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	h = &r->headers[r->nheaders++];
	k = (size_t)(colon - data);
	h->name = strndup(data, k);
	h->value = strndup(v, (size_t)(e - v));
	assert_non_null(h->name);
	assert_non_null(h->value);
	return len;
}

/* The source address of the next requests ("host!127.0.0.N"), or "". */
static char source[64];

const char *
it_source(const char *addr)
{
	static char was[64];

	snprintf(was, sizeof(was), "%s", *source ? source + 5 : "");
	snprintf(source, sizeof(source), "%s%s", addr ? "host!" : "", addr ? addr : "");
	return *was ? was : NULL;
}

/* Sets up x for req with the extra header lines (NULL-terminated, or
 * NULL), answering into r (zeroed here). */
static void
xfer_setup(struct xfer *x, const struct it_req *req, const char *const *headers,
    struct it_resp *r)
{
	char ct[256];

	memset(r, 0, sizeof(*r));
	memset(x, 0, sizeof(*x));
	x->resp = r;
	x->easy = curl_easy_init();
	assert_non_null(x->easy);
	snprintf(x->url, sizeof(x->url), "%s%s", it_env("AC_TEST_BASE_URL"), req->path);
	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, IT_TIMEOUT_MS);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (*source != '\0')
		curl_easy_setopt(x->easy, CURLOPT_INTERFACE, source);
	if (req->body != NULL) {
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
		curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, req->body);
	}
	if (strcmp(req->method, "GET") == 0 && req->body == NULL)
		curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
	else if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "POST") != 0 || req->body == NULL)
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, req->method);
	/* exactly the Content-Type asked for (none: curl's default removed),
	 * and no Expect: 100-continue round trip */
	snprintf(ct, sizeof(ct), "Content-Type:%s%s", req->content_type ? " " : "",
	    req->content_type ? req->content_type : "");
	x->hdrs = curl_slist_append(x->hdrs, ct);
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	for (const char *const *h = headers; h != NULL && *h != NULL; h++)
		x->hdrs = curl_slist_append(x->hdrs, *h);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
}

/* Records the outcome of x's transfer in its answer and frees the handle. */
static void
xfer_finish(struct xfer *x, CURLcode rc)
{
	struct it_resp *r = x->resp;

	r->curl_error = (int)rc;
	if (rc == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body == NULL) {
		r->body = xrealloc(NULL, 1);
		r->body[0] = '\0';
	}
	r->json = json_loadb(r->body, r->len, 0, NULL);
	curl_slist_free_all(x->hdrs);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	x->hdrs = NULL;
}

void
it_http(struct it_resp *r, const char *method, const char *path,
    const char *content_type, const char *body, size_t len)
{
	struct it_req req = { method, path, content_type, body, len };
	struct xfer x;

	xfer_setup(&x, &req, NULL, r);
	xfer_finish(&x, curl_easy_perform(x.easy));
}

void
it_http_h(struct it_resp *r, const char *method, const char *path, const char *const *headers,
    const char *content_type, const char *body, size_t len)
{
	struct it_req req = { method, path, content_type, body, len };
	struct xfer x;

	xfer_setup(&x, &req, headers, r);
	xfer_finish(&x, curl_easy_perform(x.easy));
}

void
it_post(struct it_resp *r, const char *path, const char *content_type, const char *body)
{
	it_http(r, "POST", path, content_type, body, strlen(body));
}

void
it_resp_free(struct it_resp *r)
{
	headers_clear(r);
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *
it_header(const struct it_resp *r, const char *name, size_t *count)
{
	const char *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			if (first == NULL)
				first = r->headers[i].value;
			n++;
		}
	if (count != NULL)
		*count = n;
	return first;
}

json_t *
it_json_get(const struct it_resp *r, const char *path)
{
	char key[128];
	json_t *v = r->json;
	const char *p = path, *dot;

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s", (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
		v = json_is_object(v) ? json_object_get(v, key) : NULL;
		p = dot ? dot + 1 : p + strlen(p);
	}
	return v;
}

const char *
it_json_str(const struct it_resp *r, const char *path)
{
	return json_string_value(it_json_get(r, path));
}

struct it_multi {
	CURLM		*multi;
	it_done_fn	 done;
	void		*arg;
	int		 running;
};

struct it_multi *
it_multi_new(it_done_fn done, void *arg)
{
	struct it_multi *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->multi = curl_multi_init();
	assert_non_null(m->multi);
	/* one connection per request: nothing waits behind another */
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	m->done = done;
	m->arg = arg;
	return m;
}

void
it_multi_add(struct it_multi *m, const struct it_req *req, void *tag)
{
	it_multi_add_h(m, req, NULL, tag);
}

void
it_multi_add_h(struct it_multi *m, const struct it_req *req, const char *const *headers,
    void *tag)
{
	struct xfer *x = calloc(1, sizeof(*x));
	struct it_resp *r = calloc(1, sizeof(*r));

	assert_non_null(x);
	assert_non_null(r);
	xfer_setup(x, req, headers, r);
	x->tag = tag;
	assert_int_equal(curl_multi_add_handle(m->multi, x->easy), CURLM_OK);
	m->running++;
}

int
it_multi_step(struct it_multi *m, int wait_ms)
{
	int64_t until = it_now_ms() + wait_ms;
	int still = 0, left;
	CURLMsg *msg;

	if (m->running == 0) {	/* nothing to drive: just let the time pass */
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return 0;
	}
	do {
		assert_int_equal(curl_multi_perform(m->multi, &still), CURLM_OK);
		while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
			struct xfer *x = NULL;
			struct it_resp *r;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			assert_non_null(x);
			curl_multi_remove_handle(m->multi, x->easy);
			r = x->resp;
			xfer_finish(x, msg->data.result);
			m->running--;
			if (m->done != NULL)
				m->done(x->tag, r, m->arg);
			it_resp_free(r);
			free(r);
			free(x);
		}
		if (m->running == 0)
			break;
		left = (int)(until - it_now_ms());
		if (left > 0)
			assert_int_equal(curl_multi_poll(m->multi, NULL, 0, left < 20 ? left : 20,
			    NULL), CURLM_OK);
	} while (it_now_ms() < until);
	return m->running;
}

void
it_multi_free(struct it_multi *m)
{
	if (m == NULL)
		return;
	assert_int_equal(m->running, 0);
	curl_multi_cleanup(m->multi);
	free(m);
}

/* Copies each finished answer into resps[tag]. */
static void
multi_keep(void *tag, const struct it_resp *r, void *arg)
{
	struct it_resp *out = (struct it_resp *)arg + (size_t)(uintptr_t)tag;

	*out = *r;
	out->body = xrealloc(NULL, r->len + 1);
	memcpy(out->body, r->body, r->len + 1);
	out->headers = NULL;
	out->nheaders = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		out->headers = xrealloc(out->headers, (i + 1) * sizeof(*out->headers));
		out->headers[i].name = strdup(r->headers[i].name);
		out->headers[i].value = strdup(r->headers[i].value);
		out->nheaders++;
	}
	out->json = json_incref(r->json);
}

void
it_http_multi(const struct it_req *reqs, struct it_resp *resps, size_t n)
{
	it_http_multi_h(reqs, NULL, resps, n);
}

void
it_http_multi_h(const struct it_req *reqs, const char *const *headers, struct it_resp *resps,
    size_t n)
{
	struct it_multi *m = it_multi_new(multi_keep, resps);
	int64_t until = it_now_ms() + IT_TIMEOUT_MS + 2000;

	memset(resps, 0, n * sizeof(*resps));
	for (size_t i = 0; i < n; i++)
		it_multi_add_h(m, &reqs[i], headers, (void *)(uintptr_t)i);
	while (it_multi_step(m, 100) > 0)
		assert_true(it_now_ms() < until);
	it_multi_free(m);
}

/* ---- database ---------------------------------------------------------- */

/* Server notices (the shutdown warning of a restart test) are not news. */
static void
quiet(void *arg, const char *msg)
{
}

PGconn *
it_db(void)
{
	if (db != NULL && PQstatus(db) == CONNECTION_OK)
		return db;
	if (db != NULL)
		PQfinish(db);
	db = PQconnectdb(it_env("AC_DATABASE_URL"));
	if (PQstatus(db) != CONNECTION_OK)
		fail_msg("database: %s", PQerrorMessage(db));
	PQsetNoticeProcessor(db, quiet, NULL);
	return db;
}

/* Runs sql with params; a connection lost since the last query (the
 * server was restarted) is re-made and the query run again once. */
static PGresult *
query(const char *sql, va_list ap)
{
	const char *vals[IT_PARAMS_MAX], *v;
	int n = 0;
	PGresult *res;
	ExecStatusType st;

	while ((v = va_arg(ap, const char *)) != NULL) {
		assert_true(n < IT_PARAMS_MAX);
		vals[n++] = v;
	}
	for (int attempt = 0;; attempt++) {
		res = PQexecParams(it_db(), sql, n, NULL, vals, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return res;
		if (attempt == 0 && PQstatus(db) != CONNECTION_OK) {
			PQclear(res);
			continue;
		}
		fail_msg("query failed: %s\n  %s", PQresultErrorMessage(res), sql);
	}
}

PGresult *
it_q(const char *sql, ...)
{
	va_list ap;
	PGresult *res;

	va_start(ap, sql);
	res = query(sql, ap);
	va_end(ap);
	return res;
}

long long
it_q_ll(const char *sql, ...)
{
	va_list ap;
	PGresult *res;
	long long v;

	va_start(ap, sql);
	res = query(sql, ap);
	va_end(ap);
	if (PQntuples(res) != 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
		fail_msg("expected one value from: %s (got %d rows)", sql, PQntuples(res));
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

PGconn *
it_listen(const char *channel)
{
	PGconn *c = PQconnectdb(it_env("AC_DATABASE_URL"));
	char *id, sql[256];
	PGresult *res;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("database: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	id = PQescapeIdentifier(c, channel, strlen(channel));
	assert_non_null(id);
	snprintf(sql, sizeof(sql), "LISTEN %s", id);
	PQfreemem(id);
	res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	return c;
}

int
it_notified(PGconn *c, const char *channel, const char *payload, int timeout_ms)
{
	int64_t until = it_now_ms() + timeout_ms;
	PGnotify *n;

	for (;;) {
		struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
		int left;

		assert_int_equal(PQconsumeInput(c), 1);
		while ((n = PQnotifies(c)) != NULL) {
			int match = strcmp(n->relname, channel) == 0 &&
			    (payload == NULL || strcmp(n->extra, payload) == 0);

			PQfreemem(n);
			if (match)
				return 1;
		}
		left = (int)(until - it_now_ms());
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
	}
}

/* ---- commands ---------------------------------------------------------- */

/* Appends s to buf (bufsz bytes, holding *len) in single quotes. */
static void
sh_quote(char *buf, size_t bufsz, size_t *len, const char *s)
{
	size_t need = 3 + strlen(s) * 4;

	assert_true(*len + need < bufsz);
	buf[(*len)++] = ' ';
	buf[(*len)++] = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(buf + *len, "'\\''", 4);
			*len += 4;
		} else
			buf[(*len)++] = *s;
	}
	buf[(*len)++] = '\'';
	buf[*len] = '\0';
}

json_t *
it_acctl(int *status, ...)
{
	char cmd[4096], *out = NULL;
	size_t cmdlen = 0, len = 0, cap = 0, got;
	const char *arg;
	va_list ap;
	FILE *p;
	int st;
	json_t *j;

	cmd[0] = '\0';
	sh_quote(cmd, sizeof(cmd), &cmdlen, it_env("AC_TEST_ACCTL"));
	va_start(ap, status);
	while ((arg = va_arg(ap, const char *)) != NULL)
		sh_quote(cmd, sizeof(cmd), &cmdlen, arg);
	va_end(ap);
	fflush(NULL);
	p = popen(cmd, "r");
	if (p == NULL)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	do {
		if (cap - len < 4096)
			out = xrealloc(out, cap += 8192);
		got = fread(out + len, 1, cap - len - 1, p);
		len += got;
	} while (got > 0);
	out[len] = '\0';
	st = pclose(p);
	*status = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	j = json_loadb(out, len, 0, NULL);
	free(out);
	return j;
}

pid_t
it_sh_start(const char *env_name)
{
	const char *cmd = it_env(env_name);
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd != -1) {
			dup2(fd, 0);
			close(fd);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
it_sh_poll(pid_t pid, int *status)
{
	int st;
	pid_t w = waitpid(pid, &st, WNOHANG);

	if (w == 0)
		return 0;
	if (w == -1)
		fail_msg("waitpid: %s", strerror(errno));
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 1;
}

int
it_sh(const char *env_name)
{
	return it_reap(it_sh_start(env_name));
}

const char *
it_worker(void)
{
	static char path[1024];
	const char *w = getenv("AC_TEST_WORKER");

	if (path[0] == '\0') {
		if (w != NULL) {
			snprintf(path, sizeof(path), "%s", w);
		} else {
			const char *acctl = it_env("AC_TEST_ACCTL"), *slash = strrchr(acctl, '/');

			snprintf(path, sizeof(path), "%.*s/ac-worker",
			    slash ? (int)(slash - acctl) : 1, slash ? acctl : ".");
		}
	}
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "no ac-worker at %s (set AC_TEST_WORKER)\n", path);
		return NULL;
	}
	return path;
}

pid_t
it_worker_start(const char *log, ...)
{
	const char *worker = it_worker(), *out = getenv("AC_TEST_OUT"), *arg;
	char *argv[12], path[1200];
	va_list ap;
	pid_t pid;
	int n = 0, fd;

	assert_non_null(worker);
	argv[n++] = (char *)worker;
	va_start(ap, log);
	while ((arg = va_arg(ap, const char *)) != NULL && n < 11)
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/%s", out ? out : "/tmp", log);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(worker, argv);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

int
it_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- fixtures ----------------------------------------------------------- */

void
it_rand_hex(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	FILE *f = fopen("/dev/urandom", "rb");

	assert_non_null(f);
	assert_true(n <= sizeof(b));
	assert_int_equal(fread(b, 1, n, f), n);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		buf[i] = hex[b[i] & 0xf];
	buf[n] = '\0';
}

void
it_strategy_new(struct it_strategy *s, const char *tf, ...)
{
	const char *argv[16], *a;
	char suffix[11];
	size_t n = 0;
	va_list ap;
	json_t *o;
	int st;

	memset(s, 0, sizeof(*s));
	it_rand_hex(suffix, 10);
	for (char *p = suffix; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(s->symbol, sizeof(s->symbol), "IT%s", suffix);
	va_start(ap, tf);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(n < sizeof(argv) / sizeof(argv[0]));
		argv[n++] = a;
	}
	va_end(ap);
	while (n < sizeof(argv) / sizeof(argv[0]))
		argv[n++] = NULL;
	o = it_acctl(&st, "strategy", "add", "--symbol", s->symbol, "--timeframe", tf,
	    "--strategy", "IT Hook", argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
	    argv[6], argv[7], argv[8], argv[9], argv[10], argv[11], argv[12], argv[13],
	    argv[14], argv[15], (char *)NULL);
	if (st != 0 || o == NULL)
		fail_msg("acctl strategy add --symbol %s --timeframe %s: exit %d", s->symbol, tf, st);
	assert_true(json_is_integer(json_object_get(o, "id")));
	assert_non_null(json_string_value(json_object_get(o, "token")));
	assert_string_equal(json_string_value(json_object_get(o, "symbol")), s->symbol);
	s->id = json_integer_value(json_object_get(o, "id"));
	snprintf(s->token, sizeof(s->token), "%s", json_string_value(json_object_get(o, "token")));
	snprintf(s->timeframe, sizeof(s->timeframe), "%s",
	    json_string_value(json_object_get(o, "timeframe")));
	snprintf(s->path, sizeof(s->path), "/hook/tv/%s", s->token);
	json_decref(o);
}

int64_t
it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
it_iso(int64_t ms, int offset_min, char *buf, size_t bufsz)
{
	time_t t = (time_t)((ms + (int64_t)offset_min * 60000) / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	char zone[16] = "Z";
	int off = offset_min < 0 ? -offset_min : offset_min;

	gmtime_r(&t, &tm);
	if (offset_min != 0)
		snprintf(zone, sizeof(zone), "%c%02d:%02d", offset_min < 0 ? '-' : '+',
		    off / 60, off % 60);
	snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, zone);
	return buf;
}

double
it_price(double base)
{
	price_step += 1;
	return base + price_step * 0.25;
}

const char *
it_num(double v, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%.15g", v);
	return buf;
}

char *
it_alert(const struct it_strategy *s, const char *action, double price,
    double tp, double sl, int64_t time_ms)
{
	char when[48], *text;
	json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:s}", "symbol", s->symbol,
	    "timeframe", s->timeframe, "action", action, "price", price,
	    "time", it_iso(time_ms, 0, when, sizeof(when)));

	assert_non_null(o);
	if (tp > 0)
		json_object_set_new(o, "tp", json_real(tp));
	if (sl > 0)
		json_object_set_new(o, "sl", json_real(sl));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	assert_non_null(text);
	return text;
}

int
it_spool_empty(void)
{
	char dir[1024];
	struct dirent *de;
	struct stat st;
	int empty = 1;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/spool", it_env("AC_STATE_DIR"));
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	while (empty && (de = readdir(d)) != NULL) {
		char path[2048];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "replay.lock") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(de->d_name, "hook.spool") == 0 && stat(path, &st) == 0 && st.st_size == 0)
			continue;
		empty = 0;
	}
	closedir(d);
	return empty;
}

int
it_log_line(const char *log, const char *a, const char *b, char *line, size_t n)
{
	const char *out = getenv("AC_TEST_OUT");
	char path[1024];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s", out ? out : "/tmp", log);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, (int)n, f) != NULL)
		found = strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(f);
	return found;
}

int
it_log_wait(const char *log, const char *a, const char *b, char *line, size_t n,
    int timeout_ms)
{
	int64_t end = it_now_ms() + timeout_ms;

	while (!it_log_line(log, a, b, line, n)) {
		if (it_now_ms() >= end)
			return 0;
		usleep(50 * 1000);
	}
	return 1;
}

void
it_drain(const char *log)
{
	for (int i = 0; i < 50; i++) {
		assert_int_equal(it_reap(it_worker_start(log, "--once", NULL)), 0);
		if (it_q_ll("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')"
		    " AND run_at <= now()", NULL) == 0)
			return;
	}
	fail_msg("jobs still pending after 50 drains");
}

const char *
it_ll(long long v)
{
	static char buf[4][24];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%lld", v);
	return buf[i];
}
