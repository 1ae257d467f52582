/* ingest.c — see ingest.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <pthread.h>

#include "base/crypto.h"
#include "alert/ingest.h"
#include "base/log.h"
#include "base/pgarray.h"
#include "base/queue.h"
#include "alert/spool.h"
#include "alert/strategy.h"
#include "base/util.h"

#define EXCERPT_MAX 4096

int
ac_ingest_init(const char *state_dir, int coalesce_ms)
{
	return ac_notify_init(state_dir, coalesce_ms);
}

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

/* Keeps the rejection for review; a failure here is logged, not fatal.
 * in->body is already redacted; a bad token is kept only as the first
 * digits of its SHA-256, enough to tell one sender's typo from another's. */
static void
record_reject(struct ac_db *db, const struct ac_ingest_in *in, const struct ac_ingest_out *out)
{
	char ms[24], status[8], sid[24], bytes[24], msg[sizeof(out->err.message) + 40], *excerpt;
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
	if (out->err.status == 401 && in->token_sha256 != NULL && *in->token_sha256 != '\0')
		snprintf(msg, sizeof(msg), "%s (token sha256 %.8s...)", out->err.message,
		    in->token_sha256);
	else
		snprintf(msg, sizeof(msg), "%s", out->err.message);
	vals[0] = ms;
	vals[1] = status;
	vals[2] = out->err.code;
	vals[3] = out->err.field;
	vals[4] = msg;
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

/* One alert on its way to the signals table: what store_batch() takes,
 * and what it answers. */
struct pending {
	const struct ac_ingest_in *in;
	const struct ac_alert	*a;
	long long		 strategy_id;
	int64_t			 window_ms;	/* the strategy's: one alert within it */
	char			 key[65];	/* exact: signals.idempotency_key */
	char			 content[65];	/* what it says: signal_dedup.content_key */
	int			 beat;		/* a heartbeat: no signal, no key */
	enum ac_ingest_result	 result;	/* QUEUED, DUPLICATE, HEARTBEAT, DB_DOWN
						 * or ERROR */
	long long		 signal_id;
	/* for the group commit */
	struct pending		*next;
	pthread_cond_t		 cv;
	int			 done;
};

static void
failed(struct ac_db *db, struct pending *p)
{
	p->result = ac_db_unavailable(db) ? AC_INGEST_DB_DOWN : AC_INGEST_ERROR;
}

/* ---- storing, and the group commit --------------------------------------------
 * Signals are stored a group at a time, a lone signal being a group of one:
 * the signals, their fanout jobs and the wake-up of the workers in one
 * statement, so one round trip and one transaction.
 *
 * The threads of a process hand their signals to a few committer threads,
 * each of which stores everything waiting when it comes free in one
 * statement and one transaction: under load a WAL flush is shared by many
 * alerts, at rest each goes alone, at once; while one committer waits for
 * its flush the next takes what arrived meanwhile. Nobody is answered
 * before the commit that holds their row.
 *
 * Duplicates. An alert is one already stored when its exact key (content
 * and event time to the ms: a replay) is in signals, or when the last alert
 * accepted with its content (strategy, symbol, timeframe, action, price,
 * tp, sl) lies within the strategy's window of its event time, either way
 * (a re-send seconds later, a double fire whose {{timenow}} differs, the
 * earlier of two arriving last). signal_dedup holds that last alert per
 * content; a new one claims the row with INSERT ... ON CONFLICT DO UPDATE
 * ... WHERE outside the window, which waits for a rival's commit and then
 * judges the row it committed: of N alerts saying the same at once, one
 * claims. Rows are claimed sorted, so two batches never wait on each
 * other in turn. As ON CONFLICT cannot touch a row twice in a statement,
 * a batch sends one row per exact key (its other holders share the
 * answer) and one per content: a second alert of the same content with
 * another time goes in a statement after, judged against the first. The
 * one race left (an exact replay whose original commits between the
 * statement's start and its claim, while a third alert of that content a
 * window away also commits) is stored once all the same, by the UNIQUE
 * exact key.
 */

/* The rows in one statement: columns as arrays, unnest()ed in order; each
 * has a signal id drawn, used if it claims its content. The rows inserted
 * come back with their keys; the others are looked up after. */
static const struct ac_stmt st_insert_many = { "signal_insert_many",
	"WITH v AS (SELECT *, nextval('signals_id_seq') AS id FROM unnest($1::bigint[],"
	" $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],"
	" $8::boolean[], $9::text[], $10::text[], $11::text[], $12::numeric[], $13::numeric[],"
	" $14::numeric[], $15::float8[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[])"
	" WITH ORDINALITY AS u(strategy_id, idempotency_key, raw_body, content_type,"
	" remote_addr, request_id, received_ms, spooled, symbol, timeframe, action, price,"
	" take_profit, stop_loss, alert_ms, content_key, event_ms, window_ms, test_user_id, n)),"
	" d AS (INSERT INTO signal_dedup AS d (strategy_id, content_key, event_ms, window_ms,"
	" signal_id)"
	" SELECT strategy_id, content_key, event_ms, window_ms, id FROM v WHERE NOT EXISTS"
	" (SELECT FROM signals x WHERE x.idempotency_key = v.idempotency_key)"
	" ORDER BY strategy_id, content_key"
	" ON CONFLICT (strategy_id, content_key) DO UPDATE SET event_ms = excluded.event_ms,"
	" window_ms = excluded.window_ms, signal_id = excluded.signal_id"
	" WHERE abs(d.event_ms - excluded.event_ms) >= excluded.window_ms"
	" RETURNING signal_id),"
	" s AS (INSERT INTO signals (id, strategy_id, idempotency_key, raw_body, content_type,"
	" remote_addr, request_id, received_at, spooled, symbol, timeframe, action, price,"
	" take_profit, stop_loss, alert_time, test_user_id)"
	" SELECT id, strategy_id, idempotency_key, raw_body, content_type, remote_addr,"
	" request_id, to_timestamp(received_ms / 1000), spooled, symbol, timeframe, action,"
	" price, take_profit, stop_loss, to_timestamp(alert_ms / 1000), test_user_id"
	" FROM v WHERE id IN (SELECT signal_id FROM d) ORDER BY n"
	" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key),"
	" j AS (" AC_SQL_JOBS_INSERT("")
	" SELECT 'fanout', jsonb_build_object('signal_id', id), 'fanout:' || id, now() FROM s),"
	" w AS (SELECT pg_notify('ac_jobs', 'fanout') WHERE $20::boolean AND EXISTS (SELECT FROM s))"
	" SELECT id, idempotency_key FROM s LEFT JOIN w ON true", 20 };

/* What the rows not inserted duplicate: the signal of their exact key, else
 * the one their content's window holds. */
static const struct ac_stmt st_existing_many = { "signal_duplicated_many",
	"SELECT k.n, coalesce(s.id, d.signal_id) FROM unnest($1::text[], $2::bigint[],"
	" $3::text[]) WITH ORDINALITY AS k(idempotency_key, strategy_id, content_key, n)"
	" LEFT JOIN signals s ON s.idempotency_key = k.idempotency_key"
	" LEFT JOIN signal_dedup d ON d.strategy_id = k.strategy_id"
	" AND d.content_key = k.content_key", 3 };

/* Answers the rows (b[i] with row[i] == i) that the statement did not
 * insert with the signal each duplicates. */
static void
answer_duplicates(struct ac_db *db, struct pending **b, const int *row, int n)
{
	struct ac_pgarray keys, sids, contents;
	const char *vals[3];
	int *at = malloc((size_t)n * sizeof(*at)), left = 0;	/* k.n - 1 → item */
	PGresult *res;

	if (at == NULL)
		abort();
	ac_pgarray_init(&keys);
	ac_pgarray_init(&sids);
	ac_pgarray_init(&contents);
	for (int i = 0; i < n; i++)
		if (row[i] == i && b[i]->signal_id == 0) {
			ac_pgarray_str(&keys, b[i]->key);
			ac_pgarray_ll(&sids, b[i]->strategy_id);
			ac_pgarray_str(&contents, b[i]->content);
			at[left++] = i;
		}
	if (left > 0) {
		vals[0] = ac_pgarray_text(&keys);
		vals[1] = ac_pgarray_text(&sids);
		vals[2] = ac_pgarray_text(&contents);
		res = ac_db_exec(db, &st_existing_many, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
			for (int k = 0; k < left; k++)
				failed(db, b[at[k]]);
			ac_error("stored signals not looked up: %s", ac_db_error(db));
		} else {
			for (int r = 0; r < PQntuples(res); r++) {
				long k = strtol(PQgetvalue(res, r, 0), NULL, 10) - 1;

				if (k < 0 || k >= left || PQgetisnull(res, r, 1))
					continue;
				b[at[k]]->result = AC_INGEST_DUPLICATE;
				b[at[k]]->signal_id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
			}
			PQclear(res);
			for (int k = 0; k < left; k++)
				if (b[at[k]]->signal_id == 0)
					ac_error("signal %s neither inserted nor found", b[at[k]]->key);
		}
	}
	ac_pgarray_free(&keys);
	ac_pgarray_free(&sids);
	ac_pgarray_free(&contents);
	free(at);
}

/* Sends the rows (b[i] with row[i] == i) in one statement, then looks up
 * what the ones not inserted duplicate. 0, or -1 when the statement was
 * refused (nothing answered). */
static int
store_rows(struct ac_db *db, struct pending **b, const int *row, int n)
{
	enum { COLS = 19 };
	struct ac_pgarray col[COLS];
	const char *vals[COLS + 1];
	int64_t now = ac_now_ms();
	int notify;
	PGresult *res;

	for (int c = 0; c < COLS; c++)
		ac_pgarray_init(&col[c]);
	for (int i = 0; i < n; i++) {
		const struct ac_ingest_in *in = b[i]->in;
		const struct ac_alert *a = b[i]->a;

		if (row[i] != i)
			continue;
		ac_pgarray_ll(&col[0], b[i]->strategy_id);
		ac_pgarray_str(&col[1], b[i]->key);
		ac_pgarray_str(&col[2], in->body);
		ac_pgarray_str(&col[3], in->content_type ? in->content_type : "");
		ac_pgarray_str(&col[4], in->remote_addr ? in->remote_addr : "");
		ac_pgarray_str(&col[5], in->request_id ? in->request_id : "");
		ac_pgarray_ll(&col[6], in->received_ms);
		ac_pgarray_str(&col[7], in->spooled ? "t" : "f");
		ac_pgarray_str(&col[8], a->symbol);
		ac_pgarray_str(&col[9], a->timeframe);
		ac_pgarray_str(&col[10], ac_action_name(a->action));
		ac_pgarray_str(&col[11], a->price_text);
		ac_pgarray_str(&col[12], a->tp_text[0] ? a->tp_text : NULL);
		ac_pgarray_str(&col[13], a->sl_text[0] ? a->sl_text : NULL);
		if (a->present & (1u << AC_F_TIME))
			ac_pgarray_ll(&col[14], a->time_ms);
		else
			ac_pgarray_str(&col[14], NULL);
		ac_pgarray_str(&col[15], b[i]->content);
		ac_pgarray_ll(&col[16], ac_alert_event_ms(a, in->received_ms));
		ac_pgarray_ll(&col[17], b[i]->window_ms);
		if (in->test_user_id > 0)
			ac_pgarray_ll(&col[18], in->test_user_id);
		else
			ac_pgarray_str(&col[18], NULL);
	}
	for (int c = 0; c < COLS; c++)
		vals[c] = ac_pgarray_text(&col[c]);
	notify = ac_notify_due(now);
	vals[COLS] = notify ? "true" : "false";
	res = ac_db_exec(db, &st_insert_many, vals, NULL, NULL);
	for (int c = 0; c < COLS; c++)
		ac_pgarray_free(&col[c]);
	if (notify && (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0))
		ac_notify_undo(now);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	for (int r = 0; r < PQntuples(res); r++)
		for (int i = 0; i < n; i++)
			if (row[i] == i && strcmp(b[i]->key, PQgetvalue(res, r, 1)) == 0) {
				b[i]->result = AC_INGEST_QUEUED;
				b[i]->signal_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
				break;
			}
	PQclear(res);
	answer_duplicates(db, b, row, n);
	return 0;
}

/*
 * Heartbeats ride the same group commit in a statement of their own: one
 * row per strategy, updated in place (the batch's beats of one strategy
 * summed first, as ON CONFLICT cannot touch a row twice), so a strategy
 * beating every minute costs no growth. seen_at only moves forward: a late
 * re-send does not make a strategy look older.
 */
static const struct ac_stmt st_beats = { "heartbeat_upsert_many",
	"INSERT INTO strategy_heartbeats AS h (strategy_id, seen_at, bar_time, beats)"
	" SELECT strategy_id, to_timestamp(max(received_ms) / 1000),"
	" to_timestamp(max(bar_ms) / 1000), count(*)"
	" FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(strategy_id, received_ms,"
	" bar_ms) GROUP BY strategy_id ORDER BY strategy_id"
	" ON CONFLICT (strategy_id) DO UPDATE SET"
	" seen_at = greatest(h.seen_at, excluded.seen_at),"
	" bar_time = coalesce(excluded.bar_time, h.bar_time), beats = h.beats + excluded.beats",
	3 };

/* Moves the heartbeats of b[0..n) to its front; how many there are. */
static int
beats_first(struct pending **b, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (b[i]->beat) {
			struct pending *t = b[k];

			b[k++] = b[i];
			b[i] = t;
		}
	return k;
}

/* Records the heartbeats b[0..n) in one statement and answers each. */
static void
store_beats(struct ac_db *db, struct pending **b, int n)
{
	struct ac_pgarray col[3];
	const char *vals[3];
	PGresult *res;
	int ok;

	for (int c = 0; c < 3; c++)
		ac_pgarray_init(&col[c]);
	for (int i = 0; i < n; i++) {
		ac_pgarray_ll(&col[0], b[i]->strategy_id);
		ac_pgarray_ll(&col[1], b[i]->in->received_ms);
		if (b[i]->a->present & (1u << AC_F_TIME))
			ac_pgarray_ll(&col[2], b[i]->a->time_ms);
		else
			ac_pgarray_str(&col[2], NULL);
	}
	for (int c = 0; c < 3; c++)
		vals[c] = ac_pgarray_text(&col[c]);
	res = ac_db_exec(db, &st_beats, vals, NULL, NULL);
	for (int c = 0; c < 3; c++)
		ac_pgarray_free(&col[c]);
	if ((ok = ac_db_ok(db, res, PGRES_COMMAND_OK)))
		PQclear(res);
	else if (n > 1 && !ac_db_unavailable(db)) {
		/* one the database refuses (its strategy just deleted) must not
		 * cost the others theirs */
		for (int i = 0; i < n; i++)
			store_beats(db, &b[i], 1);
		return;
	} else
		ac_warn("%d heartbeat%s not recorded: %s", n, n == 1 ? "" : "s", ac_db_error(db));
	for (int i = 0; i < n; i++) {
		if (ok)
			b[i]->result = AC_INGEST_HEARTBEAT;
		else
			failed(db, b[i]);
	}
}

/* Stores b[0..n) and answers each: the heartbeats first, then the signals. */
static void
store_batch(struct ac_db *db, struct pending **b, int n)
{
	int beats = beats_first(b, n), *row, nlater = 0;
	struct pending **later;

	if (beats > 0)
		store_beats(db, b, beats);
	b += beats;
	if ((n -= beats) == 0)
		return;
	row = calloc((size_t)n, sizeof(*row));
	later = calloc((size_t)n, sizeof(*later));
	if (row == NULL || later == NULL)
		abort();
	/* row[i]: the item whose row answers b[i] (i: its own), or -1: a later
	 * statement's (same content, another exact key) */
	for (int i = 0; i < n; i++) {
		b[i]->result = AC_INGEST_ERROR;	/* until answered */
		b[i]->signal_id = 0;
		row[i] = i;
		for (int j = 0; j < i; j++)
			if (row[j] == j && b[j]->strategy_id == b[i]->strategy_id &&
			    strcmp(b[j]->content, b[i]->content) == 0) {
				row[i] = strcmp(b[j]->key, b[i]->key) == 0 ? j : -1;
				break;
			}
		if (row[i] == -1)
			later[nlater++] = b[i];
	}
	if (store_rows(db, b, row, n) == 0) {
		for (int i = 0; i < n; i++)
			if (row[i] >= 0 && row[i] != i) {
				b[i]->result = b[row[i]]->result == AC_INGEST_QUEUED ?
				    AC_INGEST_DUPLICATE : b[row[i]]->result;
				b[i]->signal_id = b[row[i]]->signal_id;
			}
		if (nlater > 0)
			store_batch(db, later, nlater);
	} else if (n == 1 || ac_db_unavailable(db)) {
		for (int i = 0; i < n; i++)
			failed(db, b[i]);
		ac_error("%d signal%s not stored: %s", n, n == 1 ? "" : "s", ac_db_error(db));
	} else {
		/* one row the database refuses must not cost the others theirs */
		ac_warn("a batch of %d signals refused (%s): storing them one by one",
		    n, ac_db_error(db));
		for (int i = 0; i < n; i++)
			store_batch(db, &b[i], 1);
	}
	free(row);
	free(later);
}

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 wake;		/* the committer's: work, or stop */
	struct pending	*head, **tail;
	struct committer {
		struct ac_db	*db;
		pthread_t	 thread;
	}		*c;
	int		 n;		/* committers */
	int		 on, stop, max;
} gc = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void *
committer(void *arg)
{
	static const struct ac_stmt *const st[] = { &st_insert_many, &st_existing_many,
	    &st_beats };
	struct committer *self = arg;
	struct pending **batch = calloc((size_t)gc.max, sizeof(*batch));
	int planned, ran;

	if (batch == NULL)
		abort();
	/* connected and planned before the first alert, which paid for both
	 * (about 45 ms after a start); with no database, at the first alert */
	ran = ac_db_warm_plans(self->db, st, 3, &planned);
	ac_info("ingest: a committer readied %d of 3 statements (%d planned in full)", ran,
	    planned);
	pthread_mutex_lock(&gc.mu);
	for (;;) {
		int n = 0;

		while (gc.head == NULL && !gc.stop)
			pthread_cond_wait(&gc.wake, &gc.mu);
		if (gc.head == NULL)
			break;
		while (gc.head != NULL && n < gc.max) {
			batch[n++] = gc.head;
			gc.head = gc.head->next;
		}
		if (gc.head == NULL)
			gc.tail = &gc.head;
		else
			pthread_cond_signal(&gc.wake);	/* more for another committer */
		pthread_mutex_unlock(&gc.mu);
		store_batch(self->db, batch, n);
		pthread_mutex_lock(&gc.mu);
		for (int i = 0; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->cv);
		}
	}
	pthread_mutex_unlock(&gc.mu);
	free(batch);
	return NULL;
}

int
ac_ingest_group_start(struct ac_db **dbs, int n, int max_batch)
{
	gc.max = max_batch > 1 ? max_batch : 1;
	gc.head = NULL;
	gc.tail = &gc.head;
	gc.stop = 0;
	if ((gc.c = calloc((size_t)n, sizeof(*gc.c))) == NULL)
		abort();
	for (gc.n = 0; gc.n < n; gc.n++) {
		gc.c[gc.n].db = dbs[gc.n];
		if (ac_thread_start(&gc.c[gc.n].thread, committer, &gc.c[gc.n]) != 0) {
			ac_error("cannot start committer thread %d of %d", gc.n + 1, n);
			break;
		}
	}
	if (gc.n == 0) {
		free(gc.c);
		ac_error("no committer thread: signals are stored one by one");
		return -1;
	}
	__atomic_store_n(&gc.on, 1, __ATOMIC_RELEASE);
	return 0;
}

void
ac_ingest_group_stop(void)
{
	if (!__atomic_load_n(&gc.on, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&gc.mu);
	gc.stop = 1;
	pthread_cond_broadcast(&gc.wake);
	pthread_mutex_unlock(&gc.mu);
	for (int i = 0; i < gc.n; i++)
		pthread_join(gc.c[i].thread, NULL);
	free(gc.c);
	gc.c = NULL;
	gc.n = 0;
	__atomic_store_n(&gc.on, 0, __ATOMIC_RELEASE);
}

/* Hands p to the committer and waits for its commit; -1 if the
 * committer has stopped. */
static int
store_grouped(struct pending *p)
{
	pthread_mutex_lock(&gc.mu);
	if (gc.stop) {
		pthread_mutex_unlock(&gc.mu);
		return -1;
	}
	pthread_cond_init(&p->cv, NULL);
	p->done = 0;
	p->next = NULL;
	*gc.tail = p;
	gc.tail = &p->next;
	pthread_cond_signal(&gc.wake);
	while (!p->done)
		pthread_cond_wait(&p->cv, &gc.mu);
	pthread_mutex_unlock(&gc.mu);
	pthread_cond_destroy(&p->cv);
	return 0;
}

/* key (64 hex digits) made the key of a test signal for user uid. */
static void
test_key(char key[65], long long uid)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "test:%lld:%s", uid, key);
	ac_sha256_hex(buf, strlen(buf), key);
}

/* Stores the signal (or records the heartbeat) for strategy s; sets
 * out->result to QUEUED, DUPLICATE, HEARTBEAT, DB_DOWN or ERROR. */
static void
store(struct ac_db *db, const struct ac_ingest_in *in, const struct ac_alert *a,
    const struct ac_strategy *s, struct ac_ingest_out *out)
{
	struct pending p = { .in = in, .a = a, .strategy_id = s->id,
	    .window_ms = s->dedup_window_ms, .beat = a->action == AC_ACTION_HEARTBEAT }, *one = &p;

	ac_alert_key(a, s->id, in->received_ms, p.key);
	ac_alert_content_key(a, s->id, p.content);
	if (in->test_user_id > 0) {
		/* a test signal is its own: it neither stands in for a real
		 * alert saying the same nor is one's duplicate */
		test_key(p.key, in->test_user_id);
		test_key(p.content, in->test_user_id);
	}
	if (!__atomic_load_n(&gc.on, __ATOMIC_ACQUIRE) || store_grouped(&p) == -1)
		store_batch(db, &one, 1);
	out->result = p.result;
	out->signal_id = p.signal_id;
}

/* ---- secrets: what is hidden before anything is kept or logged ---------------- */

#define SPANS_MAX	16
#define WORD_MIN	4	/* shorter strings are hidden where found, not everywhere */

/* The secrets of one alert: the stretches of its body that hold the values
 * of secret keys, and the strings hidden wherever they occur (those values,
 * the path's token, the parsed secret). */
struct secrets {
	struct ac_span	 span[SPANS_MAX];
	size_t		 nspan;
	int		 all;		/* more secret keys than spans: hide the whole body */
	const char	*word[SPANS_MAX + 2];
	size_t		 wlen[SPANS_MAX + 2];
	size_t		 nword;
};

static void
secrets_word(struct secrets *sec, const char *w, size_t n)
{
	if (w != NULL && n >= WORD_MIN && sec->nword < SPANS_MAX + 2) {
		sec->word[sec->nword] = w;
		sec->wlen[sec->nword++] = n;
	}
}

/* The secrets of in's body, with token and secret (either may be NULL);
 * the words point into in->body, token and secret. */
static void
secrets_find(struct secrets *sec, const struct ac_ingest_in *in, const char *token,
    const char *secret)
{
	size_t found = ac_alert_secret_spans(in->body, in->len, sec->span, SPANS_MAX);

	sec->all = found > SPANS_MAX;
	sec->nspan = sec->all ? 0 : found;
	sec->nword = 0;
	for (size_t i = 0; i < sec->nspan; i++)
		secrets_word(sec, in->body + sec->span[i].off, sec->span[i].len);
	secrets_word(sec, token, token ? strlen(token) : 0);
	secrets_word(sec, secret, secret ? strlen(secret) : 0);
}

/* A copy of the len bytes of text with sec hidden (the spans too when
 * spans is set): each stretch hidden becomes "[redacted]"; malloc'd,
 * NUL-terminated, its length in *outlen. */
static char *
conceal(const char *text, size_t len, const struct secrets *sec, int spans, size_t *outlen)
{
	static const char mark[] = "[redacted]";
	unsigned char *hide = calloc(len + 1, 1);
	size_t i, w, o = 0, nmarks = 0;
	const char *p;
	char *out;

	if (hide == NULL)
		abort();
	if (spans && sec->all)
		memset(hide, 1, len);
	for (i = 0; spans && i < sec->nspan; i++)
		memset(hide + sec->span[i].off, 1, sec->span[i].len);
	for (w = 0; w < sec->nword; w++)
		for (p = text; (p = memmem(p, len - (size_t)(p - text), sec->word[w],
		    sec->wlen[w])) != NULL; p++)
			memset(hide + (p - text), 1, sec->wlen[w]);
	for (i = 0; i < len; i++)
		nmarks += hide[i] && (i == 0 || !hide[i - 1]);
	if ((out = malloc(len + nmarks * sizeof(mark) + 1)) == NULL)
		abort();
	for (i = 0; i < len; i++) {
		if (!hide[i])
			out[o++] = text[i];
		else if (i == 0 || !hide[i - 1]) {
			memcpy(out + o, mark, sizeof(mark) - 1);
			o += sizeof(mark) - 1;
		}
	}
	out[o] = '\0';
	*outlen = o;
	free(hide);
	return out;
}

/* msg (a NUL-terminated buffer of sz bytes) with sec's words hidden. */
static void
conceal_message(char *msg, size_t sz, const struct secrets *sec)
{
	size_t n;
	char *c = conceal(msg, strlen(msg), sec, 0, &n);

	snprintf(msg, sz, "%s", c);
	free(c);
}

static void	ingest(struct ac_db *, const struct ac_ingest_in *, struct ac_ingest_out *,
		    const struct ac_alert *, const struct ac_alert_error *, const struct secrets *);

/* Appends the (redacted) alert to the spool: SPOOLED, or DB_DOWN if it
 * cannot be written. */
static void
spool(const struct ac_ingest_in *in, const char *why, struct ac_ingest_out *out)
{
	struct ac_spool_entry e = {
		.token_sha256 = in->token_sha256, .content_type = in->content_type,
		.remote_addr = in->remote_addr, .request_id = in->request_id,
		.body = in->body, .len = in->len, .received_ms = in->received_ms,
	};

	if (ac_spool_append(in->spool_dir, &e) == -1) {
		ac_error("database away (%s) and spool failed: %s", why, strerror(errno));
		return;
	}
	ac_warn("database away (%s): alert spooled", why);
	out->result = AC_INGEST_SPOOLED;
}

void
ac_ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out)
{
	struct ac_alert a;
	struct ac_alert_error perr;
	struct ac_ingest_in hidden;
	struct secrets sec;
	const char *token = in->token != NULL && *in->token != '\0' ? in->token : NULL;
	char hash[65] = "", *copy;

	memset(out, 0, sizeof(*out));
	out->parsed = ac_alert_parse(in->body, in->len, in->content_type, &a, &perr) == 0;
	if (token == NULL && (in->token_sha256 == NULL || *in->token_sha256 == '\0') &&
	    out->parsed && a.secret[0] != '\0')
		token = a.secret;
	if (token != NULL)
		ac_sha256_hex(token, strlen(token), hash);
	else if (in->token_sha256 != NULL)
		snprintf(hash, sizeof(hash), "%s", in->token_sha256);
	secrets_find(&sec, in, in->token, out->parsed ? a.secret : NULL);
	if (!out->parsed)
		conceal_message(perr.message, sizeof(perr.message), &sec);
	hidden = *in;
	hidden.token = NULL;
	hidden.token_sha256 = hash;
	hidden.body = copy = conceal(in->body, in->len, &sec, 1, &hidden.len);
	out->heartbeat = out->parsed && a.action == AC_ACTION_HEARTBEAT;
	ingest(db, &hidden, out, &a, &perr, &sec);
	if (out->result == AC_INGEST_DB_DOWN && in->spool_dir != NULL && !out->heartbeat)
		spool(&hidden, ac_db_error(db), out);
	free(copy);
}

/* The path after parsing: authenticate (by in->token_sha256), check, store
 * or record the refusal. in->body is redacted already; messages made here
 * are redacted with sec before they are kept or logged. */
static void
ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out,
    const struct ac_alert *alert, const struct ac_alert_error *parse_err,
    const struct secrets *sec)
{
	struct ac_strategy s;
	struct ac_rules rules;
	unsigned char hash[32];

	if (ac_unhex(in->token_sha256, hash, sizeof(hash)) == -1) {
		if (out->parsed)
			reject(out, 401, "unauthorized", NULL, "missing or unknown webhook token");
		else
			out->err = *parse_err, out->result = AC_INGEST_REJECTED;
		record_reject(db, in, out);
		return;
	}
	switch (ac_strategy_by_token_hash(db, hash, &s)) {
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
		ac_warn("security: unknown webhook token (sha256 %.8s...) from %s", in->token_sha256,
		    in->remote_addr ? in->remote_addr : "?");
		record_reject(db, in, out);
		return;
	case AC_LOOKUP_FOUND:
		break;
	}
	out->strategy_id = s.id;
	rules = s.rules;
	if (in->review) {
		/* a signal is never stored without what it trades */
		rules.required &= (1u << AC_F_SYMBOL) | (1u << AC_F_TIMEFRAME);
		rules.max_skew_ms = INT64_MAX / 2;
		snprintf(rules.name, sizeof(rules.name), "%s", alert->strategy);
	}
	if (!out->parsed) {
		out->err = *parse_err;
		out->result = AC_INGEST_REJECTED;
	} else if (strcmp(s.status, "inactive") == 0) {
		reject(out, 422, "strategy_inactive", NULL, "strategy %lld is inactive", s.id);
	} else if (ac_alert_check(alert, &rules, in->received_ms, &out->err) == -1) {
		out->result = AC_INGEST_REJECTED;
		conceal_message(out->err.message, sizeof(out->err.message), sec);
	} else if (out->heartbeat && (in->test_user_id > 0 || in->review)) {
		reject(out, 422, "heartbeat_not_signal", "action", "a heartbeat is not a "
		    "signal: it cannot be sent as a test signal or accepted from review");
	} else {
		store(db, in, alert, &s, out);
		return;
	}
	if (!in->review)
		record_reject(db, in, out);
}

void
ac_ingest_spooled(struct ac_db *db, const struct ac_spool_entry *e, struct ac_ingest_out *out)
{
	struct ac_ingest_in in = {
		.token_sha256 = e->token_sha256, .body = e->body, .len = e->len,
		.content_type = e->content_type, .remote_addr = e->remote_addr,
		.request_id = e->request_id, .received_ms = e->received_ms, .spooled = 1,
	};

	ac_ingest(db, &in, out);
}
