/* ingest.c — see ingest.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest.h"
#include "log.h"
#include "strategy.h"
#include "util.h"

#define EXCERPT_MAX 4096

/* The host's last-NOTIFY stamp (ms since the epoch), shared by mapping;
 * NULL: notify every time. */
static int64_t	*notify_stamp;
static int	 notify_coalesce_ms;

int
ac_ingest_init(const char *state_dir, int coalesce_ms)
{
	char path[4096];
	int fd;
	void *p;

	if (coalesce_ms <= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/notify.stamp", state_dir);
	if (mkdir(state_dir, 0750) == -1 && errno != EEXIST)
		ac_warn("%s: %s", state_dir, strerror(errno));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1 ||
	    ftruncate(fd, sizeof(int64_t)) == -1) {
		ac_warn("%s: %s; every signal will notify the workers", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		ac_warn("%s: mmap: %s; every signal will notify the workers", path, strerror(errno));
		return -1;
	}
	notify_stamp = p;
	notify_coalesce_ms = coalesce_ms;
	return 0;
}

/* 1 if this signal should wake the workers: no NOTIFY on this host within
 * the coalescing window (the stamp is taken atomically, so concurrent
 * processes agree on who sends it). */
static int
notify_due(int64_t now)
{
	int64_t last;

	if (notify_stamp == NULL)
		return 1;
	last = __atomic_load_n(notify_stamp, __ATOMIC_ACQUIRE);
	if (now - last >= 0 && now - last < notify_coalesce_ms)
		return 0;
	return __atomic_compare_exchange_n(notify_stamp, &last, now, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* The NOTIFY that was due did not happen (no row stored): let the next
 * signal send one. */
static void
notify_undo(int64_t stamp)
{
	if (notify_stamp != NULL)
		__atomic_compare_exchange_n(notify_stamp, &stamp, 0, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* The signal, its fanout job and the wake-up of the workers: one
 * statement, so one round trip and one implicit transaction. */
static const struct ac_stmt st_insert = { "signal_insert",
	"WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	" content_type, remote_addr, request_id, received_at, spooled, symbol,"
	" timeframe, action, price, take_profit, stop_loss, alert_time)"
	" VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::double precision / 1000),"
	" $8, $9, $10, $11, $12, $13, $14, to_timestamp($15::double precision / 1000))"
	" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),"
	" j AS (INSERT INTO jobs (kind, payload, unique_key)"
	" SELECT 'fanout', jsonb_build_object('signal_id', id), 'fanout:' || id FROM s)"
	" SELECT id, CASE WHEN $16::boolean THEN pg_notify('ac_jobs', 'fanout') END FROM s", 16 };

static const struct ac_stmt st_existing = { "signal_by_key",
	"SELECT id FROM signals WHERE idempotency_key = $1", 1 };

static const struct ac_stmt st_reject = { "reject_insert",
	"INSERT INTO webhook_rejects (received_at, http_status, code, field, message,"
	" strategy_id, remote_addr, request_id, content_type, body_excerpt, body_bytes,"
	" security_event)"
	" VALUES (to_timestamp($1::double precision / 1000), $2, $3, $4, $5, $6, $7, $8,"
	" $9, $10, $11, $12)", 12 };

static void
reject(struct ac_ingest_out *out, int status, const char *code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reject(struct ac_ingest_out *out, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	out->result = AC_INGEST_REJECTED;
	out->err.status = status;
	out->err.code = code;
	out->err.field = field;
	va_start(ap, fmt);
	vsnprintf(out->err.message, sizeof(out->err.message), fmt, ap);
	va_end(ap);
}

/* Keeps the rejection for review; a failure here is logged, not fatal. */
static void
record_reject(struct ac_db *db, const struct ac_ingest_in *in, const struct ac_ingest_out *out)
{
	char ms[24], status[8], sid[24], bytes[24], *excerpt;
	const char *vals[12];
	size_t n = in->len < EXCERPT_MAX ? in->len : EXCERPT_MAX;
	PGresult *res;

	excerpt = malloc(n + 1);
	if (excerpt == NULL)
		return;
	ac_utf8_clean(excerpt, n + 1, in->body, n);
	snprintf(ms, sizeof(ms), "%" PRId64, in->received_ms);
	snprintf(status, sizeof(status), "%d", out->err.status);
	snprintf(sid, sizeof(sid), "%lld", out->strategy_id);
	snprintf(bytes, sizeof(bytes), "%zu", in->len);
	vals[0] = ms;
	vals[1] = status;
	vals[2] = out->err.code;
	vals[3] = out->err.field;
	vals[4] = out->err.message;
	vals[5] = out->strategy_id > 0 ? sid : NULL;
	vals[6] = in->remote_addr ? in->remote_addr : "";
	vals[7] = in->request_id ? in->request_id : "";
	vals[8] = in->content_type ? in->content_type : "";
	vals[9] = excerpt;
	vals[10] = bytes;
	vals[11] = out->err.status == 401 ? "true" : "false";
	res = ac_db_exec(db, &st_reject, vals, NULL, NULL);
	if (ac_db_ok(db, res, PGRES_COMMAND_OK))
		PQclear(res);
	else
		ac_warn("rejection not recorded: %s", ac_db_error(db));
	free(excerpt);
}

/* Stores the signal; sets out->result to QUEUED, DUPLICATE, DB_DOWN or ERROR. */
static void
store(struct ac_db *db, const struct ac_ingest_in *in, const struct ac_alert *a,
    struct ac_ingest_out *out)
{
	char key[65], sid[24], rms[24], tms[24];
	const char *vals[16];
	int64_t now = ac_now_ms();
	int notify = notify_due(now);
	PGresult *res;

	ac_alert_key(a, out->strategy_id, in->received_ms, key);
	snprintf(sid, sizeof(sid), "%lld", out->strategy_id);
	snprintf(rms, sizeof(rms), "%" PRId64, in->received_ms);
	snprintf(tms, sizeof(tms), "%" PRId64, a->time_ms);
	vals[0] = sid;
	vals[1] = key;
	vals[2] = in->body;
	vals[3] = in->content_type ? in->content_type : "";
	vals[4] = in->remote_addr ? in->remote_addr : "";
	vals[5] = in->request_id ? in->request_id : "";
	vals[6] = rms;
	vals[7] = in->spooled ? "true" : "false";
	vals[8] = a->symbol;
	vals[9] = a->timeframe;
	vals[10] = ac_action_name(a->action);
	vals[11] = a->price_text;
	vals[12] = a->tp_text[0] ? a->tp_text : NULL;
	vals[13] = a->sl_text[0] ? a->sl_text : NULL;
	vals[14] = a->present & (1u << AC_F_TIME) ? tms : NULL;
	vals[15] = notify ? "true" : "false";

	res = ac_db_exec(db, &st_insert, vals, NULL, NULL);
	if (notify && (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0))
		notify_undo(now);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	if (PQntuples(res) == 1) {
		out->signal_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		out->result = AC_INGEST_QUEUED;
		PQclear(res);
		return;
	}
	PQclear(res);
	res = ac_db_exec(db, &st_existing, vals + 1, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	if (PQntuples(res) == 1) {
		out->signal_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		out->result = AC_INGEST_DUPLICATE;
		PQclear(res);
		return;
	}
	PQclear(res);
	ac_error("signal %s neither inserted nor found", key);
	out->result = AC_INGEST_ERROR;
	return;
dberr:
	out->result = ac_db_unavailable(db) ? AC_INGEST_DB_DOWN : AC_INGEST_ERROR;
	ac_error("signal not stored: %s", ac_db_error(db));
}

/* A copy of body with every occurrence of secret replaced, so a token sent
 * in the body is never stored or shown; malloc'd, NUL-terminated. */
static char *
redact(const char *body, size_t len, const char *secret, size_t *outlen)
{
	static const char mark[] = "[redacted]";
	size_t n = strlen(secret), o = 0;
	char *out = malloc(len / (n ? n : 1) * sizeof(mark) + len + 1);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < len;) {
		if (n > 0 && i + n <= len && memcmp(body + i, secret, n) == 0) {
			memcpy(out + o, mark, sizeof(mark) - 1);
			o += sizeof(mark) - 1;
			i += n;
		} else {
			out[o++] = body[i++];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void	ingest(struct ac_db *, const struct ac_ingest_in *, struct ac_ingest_out *,
		    const struct ac_alert *, const struct ac_alert_error *);

void
ac_ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out)
{
	struct ac_alert a;
	struct ac_alert_error perr;
	struct ac_ingest_in hidden;
	char *copy;

	memset(out, 0, sizeof(*out));
	out->parsed = ac_alert_parse(in->body, in->len, in->content_type, &a, &perr) == 0;
	if (!out->parsed || a.secret[0] == '\0') {
		ingest(db, in, out, &a, &perr);
		return;
	}
	hidden = *in;
	hidden.body = copy = redact(in->body, in->len, a.secret, &hidden.len);
	if (in->token == NULL || *in->token == '\0')
		hidden.token = a.secret;
	ingest(db, &hidden, out, &a, &perr);
	free(copy);
}

/* The path after parsing: authenticate, check, store or record the refusal. */
static void
ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out,
    const struct ac_alert *alert, const struct ac_alert_error *parse_err)
{
	struct ac_strategy s;
	const char *token = in->token ? in->token : "";

	if (*token == '\0') {
		if (out->parsed)
			reject(out, 401, "unauthorized", NULL, "missing or unknown webhook token");
		else
			out->err = *parse_err, out->result = AC_INGEST_REJECTED;
		record_reject(db, in, out);
		return;
	}
	switch (ac_strategy_by_token(db, token, &s)) {
	case AC_LOOKUP_DB_DOWN:
		if (out->parsed) {
			out->result = ac_db_unavailable(db) ? AC_INGEST_DB_DOWN : AC_INGEST_ERROR;
		} else {
			out->err = *parse_err;
			out->result = AC_INGEST_REJECTED;
			ac_info("refused while the database is away: %s", parse_err->message);
		}
		return;
	case AC_LOOKUP_UNKNOWN:
		reject(out, 401, "unauthorized", NULL, "missing or unknown webhook token");
		ac_warn("security: unknown webhook token from %s", in->remote_addr ? in->remote_addr : "?");
		record_reject(db, in, out);
		return;
	case AC_LOOKUP_FOUND:
		break;
	}
	out->strategy_id = s.id;
	if (!out->parsed) {
		out->err = *parse_err;
		out->result = AC_INGEST_REJECTED;
	} else if (strcmp(s.status, "inactive") == 0) {
		reject(out, 422, "strategy_inactive", NULL, "strategy %lld is inactive", s.id);
	} else if (ac_alert_check(alert, &s.rules, in->received_ms, &out->err) == -1) {
		out->result = AC_INGEST_REJECTED;
	} else {
		store(db, in, alert, out);
		return;
	}
	record_reject(db, in, out);
}
