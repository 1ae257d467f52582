/*
 * itest.h — the integration-test harness: HTTP through the real nginx
 * (libcurl easy and multi), the database (libpq), acctl (popen + jansson),
 * the PostgreSQL stop/start commands, and fresh alert bodies.
 *
 * Helpers assert with cmocka on anything that must not fail in a run (a
 * query error, acctl failing, a missing variable), so a test reads as
 * request, then expectations. The environment is the one t/integration/run
 * sets: AC_TEST_BASE_URL, AC_DATABASE_URL, AC_STATE_DIR, AC_TEST_ACCTL,
 * AC_TEST_PG_STOP, AC_TEST_PG_START (and AC_SQL_DIR, AC_REDIS_URL for acctl).
 */
#ifndef AC_ITEST_H
#define AC_ITEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <libpq-fe.h>

/* ---- setup ----------------------------------------------------------- */

/* Checks the environment and sets up libcurl; call once from main(). 0, or
 * -1 after saying on stderr which variable is missing. */
int		 it_init(void);
void		 it_done(void);

/* The value of a variable the runner sets; fails the test if unset. */
const char	*it_env(const char *name);

/* ---- HTTP --------------------------------------------------------------- */

struct it_header {
	char	*name;
	char	*value;		/* trimmed */
};

struct it_resp {
	long		 status;	/* HTTP status; 0 if the transfer failed */
	int		 curl_error;	/* CURLcode, 0 on success */
	char		*body;		/* len bytes + NUL; never NULL after a request */
	size_t		 len;
	struct it_header *headers;	/* of the final answer (not of a 100) */
	size_t		 nheaders;
	json_t		*json;		/* the body parsed, or NULL */
};

struct it_req {
	const char	*method;	/* "GET", "POST", "PUT", ... */
	const char	*path;		/* appended to AC_TEST_BASE_URL */
	const char	*content_type;	/* NULL: no Content-Type header */
	const char	*body;		/* NULL: no body */
	size_t		 len;
};

/* One request; *r is filled (free with it_resp_free). */
void		 it_http(struct it_resp *r, const char *method, const char *path,
		    const char *content_type, const char *body, size_t len);

/* The same with extra request headers: NULL-terminated "Name: value"
 * lines (a Cookie, an Authorization, an Origin), or NULL. */
void		 it_http_h(struct it_resp *r, const char *method, const char *path,
		    const char *const *headers, const char *content_type, const char *body,
		    size_t len);

/* Sends the next requests from addr, another loopback address such as
 * "127.0.0.7" (nginx sees it as the client's address: the per-address
 * throttles); NULL: the default again. Returns the address used until now
 * (NULL: the default), valid until the next call. */
const char	*it_source(const char *addr);

/* POST of a NUL-terminated body. */
void		 it_post(struct it_resp *r, const char *path, const char *content_type,
		    const char *body);

/* n requests all at once through one multi handle (one connection each);
 * resps[i] answers reqs[i]. */
void		 it_http_multi(const struct it_req *reqs, struct it_resp *resps, size_t n);
/* The same with further header lines (a Cookie, an Origin) on each request. */
void		 it_http_multi_h(const struct it_req *reqs, const char *const *headers,
		    struct it_resp *resps, size_t n);

void		 it_resp_free(struct it_resp *r);

/* The value of the first header called name (any case), or NULL; *count
 * (if not NULL) is how many headers have that name. */
const char	*it_header(const struct it_resp *r, const char *name, size_t *count);

/* A string member at a dotted path of the answer's JSON ("error.code"),
 * or NULL if absent or not a string. */
const char	*it_json_str(const struct it_resp *r, const char *path);

/* The JSON value at a dotted path, or NULL. */
json_t		*it_json_get(const struct it_resp *r, const char *path);

/*
 * Requests in flight on one multi handle, for tests that keep a number of
 * them going while something else happens. Each finished request is given
 * to the done callback with the tag it was added with; the response is
 * freed after the callback returns.
 */
struct it_multi;
typedef void	(*it_done_fn)(void *tag, const struct it_resp *r, void *arg);

struct it_multi	*it_multi_new(it_done_fn done, void *arg);
void		 it_multi_add(struct it_multi *m, const struct it_req *req, void *tag);
void		 it_multi_add_h(struct it_multi *m, const struct it_req *req,
		    const char *const *headers, void *tag);
/* Drives transfers for up to wait_ms (less once none is left; with none
 * running it just waits wait_ms). Returns how many are still running. */
int		 it_multi_step(struct it_multi *m, int wait_ms);
void		 it_multi_free(struct it_multi *m);

/* ---- database ---------------------------------------------------------- */

/* The harness's own connection, (re)connected as needed. */
PGconn		*it_db(void);

/* Runs sql with NULL-terminated text parameters; asserts success (tuples
 * or command) and returns the result, which the caller PQclear()s. */
PGresult	*it_q(const char *sql, ...);

/* The first column of the single row sql answers, as a number. */
long long	 it_q_ll(const char *sql, ...);

/* A new connection that LISTENs on channel. */
PGconn		*it_listen(const char *channel);

/* Waits up to timeout_ms for a notification on channel (with payload, if
 * not NULL) on c: 1 if one came, else 0. */
int		 it_notified(PGconn *c, const char *channel, const char *payload, int timeout_ms);

/* ---- commands ---------------------------------------------------------- */

/* Runs acctl with the NULL-terminated arguments; *status is its exit status.
 * Returns its stdout parsed as JSON (the caller decrefs), or NULL. */
json_t		*it_acctl(int *status, ...);

/* Runs the shell command held by variable env_name in the background;
 * returns the child's pid. */
pid_t		 it_sh_start(const char *env_name);

/* 1 with *status (exit status, or 128 + signal) once pid has ended, else 0. */
int		 it_sh_poll(pid_t pid, int *status);

/* Runs the command of env_name to the end; its exit status. */
int		 it_sh(const char *env_name);

/* The ac-worker binary: AC_TEST_WORKER, or ac-worker beside AC_TEST_ACCTL;
 * NULL (said on stderr) when it is not executable. */
const char	*it_worker(void);

/* ac-worker with the NULL-terminated arguments, in the background, its
 * output appended to AC_TEST_OUT/log (or /tmp/log); its pid. */
pid_t		 it_worker_start(const char *log, ...);

/* Waits for pid; its exit status (128 + signal when killed). */
int		 it_reap(pid_t pid);

/* ac-worker --once (its output appended to log, as it_worker_start) until no
 * job is pending and due; fails the test after 50 runs. */
void		 it_drain(const char *log);

/* The first line of log (as it_worker_start names it) holding both a and
 * b, into line: 1, or 0 when none does (yet). */
int		 it_log_line(const char *log, const char *a, const char *b, char *line,
		    size_t n);
/* Waits up to timeout_ms for such a line: 1, or 0. */
int		 it_log_wait(const char *log, const char *a, const char *b, char *line,
		    size_t n, int timeout_ms);

/* ---- fixtures ----------------------------------------------------------- */

struct it_strategy {
	long long	id;
	char		token[128];
	char		symbol[32];
	char		timeframe[8];
	char		path[192];	/* "/hook/tv/<token>" */
};

/* A new strategy on a unique symbol ("IT" + random hex) via `acctl strategy
 * add --timeframe tf --strategy "IT Hook"` plus the NULL-terminated extra
 * arguments. */
void		 it_strategy_new(struct it_strategy *s, const char *tf, ...);

/* v as text, in one of four buffers used in turn (parameters of it_q). */
const char	*it_ll(long long v);
/* Milliseconds since the epoch, now. */
int64_t		 it_now_ms(void);

/* ISO-8601 of ms with milliseconds, in the zone offset_min minutes east of
 * UTC ("Z" when 0, else "+HH:MM"/"-HH:MM"). Returns buf. */
const char	*it_iso(int64_t ms, int offset_min, char *buf, size_t bufsz);

/* A price no other alert of this run has (x.25 steps up from base). */
double		 it_price(double base);

/* "%.15g" of v into buf, as the responder writes numbers. Returns buf. */
const char	*it_num(double v, char *buf, size_t bufsz);

/* The canonical alert for s: symbol, timeframe, action, price (and tp/sl
 * when > 0), time = time_ms as ISO-8601 UTC. malloc'd JSON text. */
char		*it_alert(const struct it_strategy *s, const char *action, double price,
		    double tp, double sl, int64_t time_ms);

/* n random lower-case hex digits into buf (n + 1 bytes). */
void		 it_rand_hex(char *buf, size_t n);

/* 1 if nothing waits in $AC_STATE_DIR/spool: no spool file with bytes in
 * it, no file being replayed, no replay offset (the lock file may stay). */
int		 it_spool_empty(void);

#endif
