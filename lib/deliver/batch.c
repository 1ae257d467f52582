/*
 * batch.c — one claimed batch of jobs of a kind (deliver, notice, email):
 * the rows their ids name loaded in one statement, an item set up per id
 * by the kind, all of them sent at once (send.c), and each job's results
 * (struct job_results) left on the job for the kind's handler, which runs
 * next in the runner's transaction. What else the kinds share: a job's
 * error, and the retry job they queue.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/pgarray.h"
#include "base/queue.h"
#include "base/util.h"
#include "deliver/internal.h"

/* The fan-outs whose head is in a batch ($1): told it is taken (with the
 * load, $2 'c:') and when its requests are out ($2 ''). */
const struct ac_stmt batch_head_out = { "deliver_head_out",
	"SELECT pg_notify('" AC_HEAD_CHANNEL "', $2 || x::text) FROM unnest($1::bigint[]) x", 2 };

struct heads {
	struct ac_db		*db;
	struct ac_pgarray	 ids;
};

/* send_when_out(): NOTIFY AC_HEAD_CHANNEL for each signal (not kept: a
 * fan-out that hears nothing waits its longest, no more). */
static void
heads_out(void *arg)
{
	struct heads *h = arg;
	const char *vals[2] = { ac_pgarray_text(&h->ids), "" };
	PGresult *res = ac_db_exec(h->db, &batch_head_out, vals, NULL, NULL);

	if (!ac_db_ok(h->db, res, PGRES_TUPLES_OK))
		ac_debug("head out: %s", ac_db_error(h->db));
	PQclear(res);
}

/* The heads (payload "head": the signal) among the n jobs into h->ids (a
 * bigint[]: the caller frees it); 1 if there is one. */
static int
heads_of(struct ac_job *const *jobs, size_t n, struct heads *h)
{
	ac_pgarray_init(&h->ids);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(jobs[i]->payload, "head");

		if (json_is_integer(v) && json_integer_value(v) > 0)
			ac_pgarray_ll(&h->ids, (long long)json_integer_value(v));
	}
	return h->ids.n > 0;
}

/* Frees a struct job_results (the runner calls it with the job). */
static void
job_results_free(void *p)
{
	struct job_results *jr = p;

	for (size_t i = 0; jr != NULL && i < jr->n; i++)
		result_clear(&jr->r[i]);
	free(jr);
}

struct job_results *
job_results(const struct ac_job *job)
{
	return job->result_free == job_results_free ? job->result : NULL;
}

const struct send_result *
job_result(const struct ac_job *job, size_t k)
{
	const struct job_results *jr = job_results(job);

	if (jr == NULL || k >= jr->n || jr->r[k].v == SEND_NONE)
		return NULL;
	return &jr->r[k];
}

enum ac_job_outcome
job_error(struct ac_job *job, enum ac_job_outcome out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
	return out;
}

int
retry_enqueue(struct ac_db *db, const char *kind, const char *idkey, long long id,
    long long job, int64_t at_ms)
{
	char key[96];
	json_t *payload = json_pack("{s:I}", idkey, (json_int_t)id);
	int rc;

	if (payload == NULL)
		abort();
	snprintf(key, sizeof(key), "%s:%lld:%lld", kind, id, job);
	rc = ac_job_enqueue(db, kind, payload, key, at_ms, 0, 0);
	json_decref(payload);
	return rc == -1 ? -1 : 0;
}

/* The ids a job holds: its payload's array "<key>s" (a deliver job for
 * many deliveries), else its integer "<key>"; *multi tells which. At most
 * max go into out (NULL: count only). Returns how many there are. */
static size_t
job_ids(const struct ac_job *job, const char *key, long long *out, size_t max, int *multi)
{
	char many[64];
	json_t *arr, *v;
	size_t i, k = 0;

	snprintf(many, sizeof(many), "%ss", key);
	arr = json_object_get(job->payload, many);
	*multi = json_is_array(arr);
	if (!*multi) {
		if (out != NULL && max > 0)
			out[0] = json_integer_value(json_object_get(job->payload, key));
		return 1;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v))
			continue;
		if (out != NULL && k < max)
			out[k] = json_integer_value(v);
		k++;
	}
	return k;
}

/* A loaded row's id and its index, to find rows by id. */
struct row_at {
	long long	 id;
	int		 row;
};

static int
cmp_row_at(const void *a, const void *b)
{
	long long x = ((const struct row_at *)a)->id, y = ((const struct row_at *)b)->id;

	return (x > y) - (x < y);
}

/* batch_run(), see internal.h. If the load fails, no item gets a result
 * (each job finds out and retries). */
void
batch_run(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop, const struct ac_stmt *load, const char *key,
    item_setup_fn setup, int record)
{
	struct heads heads;
	struct item *items;
	long long *ids;
	struct ac_pgarray arr;
	const char *vals[1];
	size_t total = 0, k = 0;
	int64_t t0, t1;
	PGresult *res;
	int multi;

	for (size_t i = 0; i < n; i++)
		total += job_ids(jobs[i], key, NULL, 0, &multi);
	items = calloc(total + 1, sizeof(*items));
	ids = calloc(total + 1, sizeof(*ids));
	if (items == NULL || ids == NULL)
		abort();
	ac_pgarray_init(&arr);
	for (size_t i = 0; i < n; i++) {
		size_t m = job_ids(jobs[i], key, ids + k, total - k, &multi);
		/* send.c's send_hold(): deliveries of a job of many, once */
		int holdable = multi && strcmp(key, "delivery_id") == 0 &&
		    !json_is_true(json_object_get(jobs[i]->payload, "held"));

		for (size_t j = 0; j < m; j++, k++) {
			items[k].job = jobs[i];
			items[k].holdable = holdable;
			ac_pgarray_ll(&arr, ids[k]);
		}
	}
	vals[0] = ac_pgarray_text(&arr);
	t0 = ac_mono_ms();
	if (heads_of(jobs, n, &heads)) {
		/* the fan-out waits for this word, then for the next */
		const char *hv[2] = { ac_pgarray_text(&heads.ids), "c:" };
		struct ac_db_pipe pipe[2] = { { &batch_head_out, hv, NULL }, { load, vals, NULL } };

		heads.db = db;
		if (ac_db_pipeline(db, pipe, 2) == 0) {
			res = pipe[1].res;
			send_when_out(heads_out, &heads);
		} else {	/* as a lone load would have, and no word */
			PQclear(pipe[1].res);
			res = ac_db_exec(db, load, vals, NULL, NULL);
		}
		PQclear(pipe[0].res);
	} else
		res = ac_db_exec(db, load, vals, NULL, NULL);
	ac_pgarray_free(&arr);
	if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		size_t nrows = (size_t)PQntuples(res);
		struct row_at *at = calloc(nrows + 1, sizeof(*at));

		if (at == NULL)
			abort();
		for (size_t r = 0; r < nrows; r++)
			at[r] = (struct row_at){ strtoll(PQgetvalue(res, (int)r, 0), NULL, 10), (int)r };
		qsort(at, nrows, sizeof(*at), cmp_row_at);
		for (size_t i = 0; i < total; i++) {
			struct row_at want = { ids[i], -1 }, *hit = bsearch(&want, at, nrows,
			    sizeof(*at), cmp_row_at);
			int row = hit ? hit->row : -1;

			setup(&items[i], res, row);
			if (row == -1 && items[i].state == I_WAIT)
				items[i].state = I_DONE;	/* nothing to send: no result */
		}
		free(at);
		PQclear(res);
		t1 = ac_mono_ms();
		send_run(items, total, stop, record ? db : NULL);
		ac_debug("%zu items of %zu jobs: loaded and set up in %lld ms, sent in %lld ms",
		    total, n, (long long)(t1 - t0), (long long)(ac_mono_ms() - t1));
	}
	send_when_out(NULL, NULL);	/* said, or nothing was sent: no word */
	ac_pgarray_free(&heads.ids);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = job_ids(jobs[i], key, NULL, 0, &multi);
		struct job_results *jr = malloc(sizeof(*jr) + m * sizeof(jr->r[0]));

		if (jr == NULL)
			abort();
		jr->n = m;
		for (size_t j = 0; j < m; j++, k++) {
			struct item *it = &items[k];

			jr->r[j] = it->res;	/* moved: the item's is not freed */
			jr->r[j].key = ids[k];
			ac_texts_free(&it->t);
			item_reset(it);
		}
		if (jobs[i]->result_free != NULL)
			jobs[i]->result_free(jobs[i]->result);
		jobs[i]->result = jr;
		jobs[i]->result_free = job_results_free;
	}
	free(ids);
	free(items);
}
