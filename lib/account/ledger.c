/* ledger.c — see ledger.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/ledger.h"
#include "base/pgarray.h"

/* The user locked, the row written only if the balance allows it. */
static const struct ac_stmt st_post = { "ledger_post",
	"WITH u AS (SELECT id, credit_balance FROM users WHERE id = $1 FOR NO KEY UPDATE),"
	" ins AS (INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	" SELECT id, $2::bigint, $3, $4, $5 FROM u WHERE u.credit_balance + $2::bigint >= 0"
	" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id)"
	" SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM ins),"
	" (SELECT credit_balance FROM u) + $2::bigint", 5 };

/* Run after a row was not written, in a new snapshot: was it the key? */
static const struct ac_stmt st_key = { "ledger_key",
	"SELECT 1 FROM credit_ledger WHERE idempotency_key = $1", 1 };

enum ac_ledger_result
ac_ledger_post(struct ac_db *db, const struct ac_ledger_entry *e, long long *balance)
{
	char uid[24], amount[24];
	const char *vals[5] = { uid, amount, e->kind, e->reference ? e->reference : "", e->key };
	enum ac_ledger_result rc;
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", e->user_id);
	snprintf(amount, sizeof(amount), "%lld", e->amount);
	res = ac_db_exec(db, &st_post, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return AC_LEDGER_ERROR;
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		PQclear(res);
		return AC_LEDGER_NO_USER;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "1") == 0) {
		if (balance != NULL)
			*balance = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		PQclear(res);
		return AC_LEDGER_DONE;
	}
	if (balance != NULL)
		*balance = strtoll(PQgetvalue(res, 0, 2), NULL, 10) - e->amount;
	PQclear(res);
	res = ac_db_exec(db, &st_key, vals + 4, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return AC_LEDGER_ERROR;
	rc = PQntuples(res) > 0 ? AC_LEDGER_ALREADY : AC_LEDGER_INSUFFICIENT;
	PQclear(res);
	return rc;
}

const struct ac_stmt ac_ledger_charge_batch_st = { "ledger_charge_batch",
	"WITH c AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])"
	" AS c(user_id, cost, key)),"
	" u AS (SELECT id, credit_balance FROM users WHERE id = ANY ($1::bigint[])"
	" ORDER BY id FOR NO KEY UPDATE),"
	" ins AS (INSERT INTO credit_ledger (user_id, amount, kind, reference, idempotency_key)"
	" SELECT c.user_id, -c.cost, 'usage', $4, c.key FROM c JOIN u ON u.id = c.user_id"
	" WHERE c.cost > 0 AND u.credit_balance >= c.cost"
	" ON CONFLICT (idempotency_key) DO NOTHING RETURNING user_id)"
	" SELECT user_id FROM ins", 4 };

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

long long
ac_ledger_charge_batch(struct ac_db *db, int n, const long long *user_ids,
    const long long *costs, const char *const *keys, const char *reference,
    unsigned char *charged)
{
	struct ac_pgarray ids, cs, ks;
	long long *got, *hit, count;
	const char *vals[4];
	PGresult *res;
	int i;

	memset(charged, 0, (size_t)n);
	if (n == 0)
		return 0;
	ac_pgarray_init(&ids);
	ac_pgarray_init(&cs);
	ac_pgarray_init(&ks);
	for (i = 0; i < n; i++) {
		ac_pgarray_ll(&ids, user_ids[i]);
		ac_pgarray_ll(&cs, costs[i]);
		ac_pgarray_str(&ks, keys[i]);
	}
	vals[0] = ac_pgarray_text(&ids);
	vals[1] = ac_pgarray_text(&cs);
	vals[2] = ac_pgarray_text(&ks);
	vals[3] = reference;
	res = ac_db_exec(db, &ac_ledger_charge_batch_st, vals, NULL, NULL);
	ac_pgarray_free(&ids);
	ac_pgarray_free(&cs);
	ac_pgarray_free(&ks);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	count = PQntuples(res);
	if ((got = calloc((size_t)count + 1, sizeof(*got))) == NULL)
		abort();
	for (i = 0; i < count; i++)
		got[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	qsort(got, (size_t)count, sizeof(*got), cmp_ll);
	for (i = 0; i < n; i++) {
		hit = bsearch(&user_ids[i], got, (size_t)count, sizeof(*got), cmp_ll);
		charged[i] = hit != NULL;
	}
	free(got);
	return count;
}

static const struct ac_stmt st_show = { "ledger_show",
	"SELECT u.credit_balance, (SELECT coalesce(sum(amount), 0) FROM credit_ledger"
	" WHERE user_id = u.id),"
	" (SELECT coalesce(json_agg(json_build_object('id', l.id, 'amount', l.amount,"
	" 'kind', l.kind, 'reference', l.reference, 'key', l.idempotency_key,"
	" 'created_at', l.created_at) ORDER BY l.id DESC), '[]')"
	" FROM (SELECT * FROM credit_ledger WHERE user_id = u.id ORDER BY id DESC LIMIT $2) l)"
	" FROM users u WHERE u.id = $1", 2 };

json_t *
ac_ledger_show(struct ac_db *db, long long user_id, int limit, int *found)
{
	char uid[24], lim[16];
	const char *vals[2] = { uid, lim };
	PGresult *res;
	json_t *entries;

	*found = 0;
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(lim, sizeof(lim), "%d", limit);
	res = ac_db_exec(db, &st_show, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return NULL;
	}
	*found = 1;
	entries = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	entries = json_pack("{s:I, s:I, s:I, s:o}", "user_id", (json_int_t)user_id,
	    "balance", (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10),
	    "ledger_sum", (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10),
	    "entries", entries ? entries : json_array());
	PQclear(res);
	return entries;
}

const char *
ac_ledger_result_name(enum ac_ledger_result r)
{
	static const char *const names[] = {
		[AC_LEDGER_DONE] = "done", [AC_LEDGER_ALREADY] = "already",
		[AC_LEDGER_INSUFFICIENT] = "insufficient", [AC_LEDGER_NO_USER] = "no_user",
		[AC_LEDGER_ERROR] = "error",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "error";
}
