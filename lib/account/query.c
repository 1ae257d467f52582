/* query.c — see query.h. */
#include <stdio.h>

#include "account/query.h"
#include "base/log.h"

json_t *
ac_user_query(struct ac_db *db, const struct ac_stmt *st, long long user_id,
    const char *const *more, struct ac_err *e)
{
	const char *vals[16];
	char uid[24];
	PGresult *res;
	json_t *o;
	int i;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	vals[0] = uid;
	for (i = 1; i < st->nparams && i < 16; i++)
		vals[i] = more[i - 1];
	res = ac_db_exec(db, st, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("%s: %s", st->name, ac_db_error(db));
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, NULL, "no such row");
		return NULL;
	}
	o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	if (o == NULL)
		ac_err_set(e, AC_E_INTERNAL, NULL, "%s: not JSON", st->name);
	return o;
}
