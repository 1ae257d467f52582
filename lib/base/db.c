/* db.c — see db.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/db.h"
#include "base/log.h"

#define MAX_PREPARED 64

struct ac_db {
	char		*conninfo;
	char		*appname;
	int		 connect_timeout_s;
	int		 statement_timeout_ms;
	int		 generic_plans;	/* plan_cache_mode=force_generic_plan */
	PGconn		*conn;
	const struct ac_stmt *prepared[MAX_PREPARED];	/* on this connection */
	int		 nprepared;
	char		 error[512];
	char		 sqlstate[6];
	int		 unavailable;
};

struct ac_db *
ac_db_new(const char *conninfo, const char *application_name,
    int connect_timeout_s, int statement_timeout_ms)
{
	struct ac_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		abort();
	db->conninfo = strdup(conninfo);
	db->appname = strdup(application_name);
	db->connect_timeout_s = connect_timeout_s;
	db->statement_timeout_ms = statement_timeout_ms;
	return db;
}

struct ac_db *
ac_db_new_like(const struct ac_db *db)
{
	struct ac_db *n = ac_db_new(db->conninfo, db->appname, db->connect_timeout_s,
	    db->statement_timeout_ms);

	n->generic_plans = db->generic_plans;
	return n;
}

void
ac_db_generic_plans(struct ac_db *db)
{
	db->generic_plans = 1;
}

void
ac_db_free(struct ac_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db->appname);
	free(db);
}

static void
set_error(struct ac_db *db, const char *msg, const char *sqlstate)
{
	size_t n;

	snprintf(db->error, sizeof(db->error), "%s", msg ? msg : "unknown error");
	n = strlen(db->error);
	while (n > 0 && (db->error[n - 1] == '\n' || db->error[n - 1] == ' '))
		db->error[--n] = '\0';
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", sqlstate ? sqlstate : "");
	/* class 08 connection exceptions, 57P0x shutdowns, 53300 too many
	 * connections, 57014 statement timeout, 25006 read-only standby */
	db->unavailable = db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    strncmp(db->sqlstate, "08", 2) == 0 || strncmp(db->sqlstate, "57P", 3) == 0 ||
	    strcmp(db->sqlstate, "53300") == 0 || strcmp(db->sqlstate, "57014") == 0 ||
	    strcmp(db->sqlstate, "25006") == 0;
}

static void	record_result(struct ac_db *, const PGresult *);

/* Server notices ("relation already exists, skipping") are debug lines. */
static void
notice(void *arg, const char *msg)
{
	ac_debug("postgres: %.*s", (int)strcspn(msg, "\n"), msg);
}

PGconn *
ac_db_conn(struct ac_db *db)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	char timeout[16], set[192];
	const char *vals[4];
	PGresult *res;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return db->conn;
	if (db->conn != NULL) {
		ac_warn("connection lost; reconnecting");
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->nprepared = 0;
	snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout_s);
	/* dbname with expand_dbname carries the whole conninfo or URI; the
	 * later keys add to it */
	vals[0] = db->conninfo;
	vals[1] = db->appname;
	vals[2] = timeout;
	vals[3] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, db->conn ? PQerrorMessage(db->conn) : "out of memory", "08006");
		goto fail;
	}
	PQsetNoticeProcessor(db->conn, notice, NULL);
	/* The session's settings by SET once connected, not as the startup
	 * packet's "options", which PgBouncer refuses (docs/scaling.md).
	 * No JIT: for these short statements it only adds compile time, which
	 * reached half a second on the fan-out's query. */
	snprintf(set, sizeof(set), "SET statement_timeout = %d; SET jit = off;%s",
	    db->statement_timeout_ms, db->generic_plans ?
	    " SET plan_cache_mode = force_generic_plan;" : "");
	res = PQexec(db->conn, set);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		record_result(db, res);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return db->conn;
fail:
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->unavailable = 1;
	return NULL;
}

static void
record_result(struct ac_db *db, const PGresult *res)
{
	if (res == NULL)
		set_error(db, PQerrorMessage(db->conn), "08006");
	else
		set_error(db, PQresultErrorMessage(res),
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

int
ac_db_ok(struct ac_db *db, PGresult *res, ExecStatusType want)
{
	if (res != NULL && PQresultStatus(res) == want)
		return 1;
	if (res != NULL) {
		record_result(db, res);
		PQclear(res);
	}
	return 0;
}

static int
is_prepared(const struct ac_db *db, const struct ac_stmt *st)
{
	for (int i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == st)
			return 1;
	return 0;
}

static int
prepare(struct ac_db *db, const struct ac_stmt *st)
{
	PGresult *res;

	if (is_prepared(db, st))
		return 0;
	res = PQprepare(db->conn, st->name, st->sql, st->nparams, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		record_result(db, res);
		ac_error("prepare %s: %s", st->name, db->error);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (db->nprepared < MAX_PREPARED)
		db->prepared[db->nprepared++] = st;
	return 0;
}

/* A result that failed because the connection broke, outside a transaction. */
static int
retryable(struct ac_db *db, PGresult *res)
{
	return (res == NULL || PQresultStatus(res) == PGRES_FATAL_ERROR) &&
	    PQstatus(db->conn) != CONNECTION_OK;
}

/* The statements to run with plan_cache_mode=force_generic_plan around
 * them: 1 when one of p[0..n) is generic and the connection's plans are
 * not so already. */
static int
wants_generic(const struct ac_db *db, const struct ac_db_pipe *p, int n)
{
	for (int i = 0; i < n && !db->generic_plans; i++)
		if (p[i].st->generic)
			return 1;
	return 0;
}

/* Sends a statement of the pipeline's own (no parameters, no answer the
 * caller wants): 0, or -1. */
static int
send_own(struct ac_db *db, const char *sql)
{
	return PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1 ? 0 : -1;
}

/* Takes the answer of a statement sent by send_own(), its status into *st
 * (PGRES_FATAL_ERROR when there was none): 0, or -1 with no answer. */
static int
take_own(struct ac_db *db, ExecStatusType *st)
{
	PGresult *res = PQgetResult(db->conn);

	*st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (res == NULL)
		return -1;
	if (*st != PGRES_COMMAND_OK && *st != PGRES_PIPELINE_ABORTED)
		record_result(db, res);
	PQclear(res);
	while ((res = PQgetResult(db->conn)) != NULL)	/* the statement's end */
		PQclear(res);
	return 0;
}

/* ac_db_pipeline() for any n: one round trip, the generic statements
 * planned as such (wants_generic(): SET before them, RESET after; a
 * failure rolls the SET back with the transaction it failed). */
static int
pipeline(struct ac_db *db, struct ac_db_pipe *p, int n)
{
	PGresult *res;
	ExecStatusType own;
	int i, failed = -1, sent = 0, generic = wants_generic(db, p, n), reset = 0;

	for (i = 0; i < n; i++)
		p[i].res = NULL;
	if (ac_db_conn(db) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (prepare(db, p[i].st) == -1)
			return -1;
	if (PQenterPipelineMode(db->conn) != 1) {
		record_result(db, NULL);
		return -1;
	}
	if (generic && send_own(db, "SET plan_cache_mode = force_generic_plan") == -1)
		n = 0;		/* nothing sent: failed below */
	for (i = 0; i < n; i++, sent++)
		if (PQsendQueryPrepared(db->conn, p[i].st->name, p[i].st->nparams, p[i].vals,
		    NULL, NULL, 0) != 1)
			break;
	if (generic && sent == n && n > 0)
		reset = send_own(db, "RESET plan_cache_mode") == 0;
	if (PQpipelineSync(db->conn) != 1) {
		/* the connection broke: the next ac_db_conn() makes a new one */
		record_result(db, NULL);
		PQexitPipelineMode(db->conn);
		return -1;
	}
	if (generic && n > 0 && (take_own(db, &own) == -1 || own != PGRES_COMMAND_OK)) {
		if (own != PGRES_FATAL_ERROR || failed < 0)
			record_result(db, NULL);
		failed = 0;
	}
	/* each statement's result, then a NULL; then the sync's */
	for (i = 0; i < sent; i++) {
		ExecStatusType st;

		if ((res = PQgetResult(db->conn)) == NULL) {
			if (failed < 0) {
				record_result(db, NULL);
				failed = i;
			}
			break;
		}
		st = PQresultStatus(res);
		if (failed < 0 && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			record_result(db, res);
			failed = i;
		}
		if (failed < 0)
			p[i].res = res;
		else
			PQclear(res);
		while ((res = PQgetResult(db->conn)) != NULL)	/* the statement's end */
			PQclear(res);
	}
	if (reset && take_own(db, &own) == 0 && own == PGRES_FATAL_ERROR && failed < 0)
		failed = sent;	/* the statements ran; the setting stays: an error */
	if (sent < n && failed < 0) {
		record_result(db, NULL);
		failed = sent;
	}
	if (n == 0 && failed < 0) {
		record_result(db, NULL);
		failed = 0;
	}
	while ((res = PQgetResult(db->conn)) != NULL) {
		int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;

		PQclear(res);
		if (sync)
			break;
	}
	if (PQexitPipelineMode(db->conn) != 1 && failed < 0) {
		record_result(db, NULL);
		failed = n;
	}
	if (failed < 0)
		return 0;
	for (i = 0; i < n; i++) {
		PQclear(p[i].res);
		p[i].res = NULL;
	}
	return -1;
}

PGresult *
ac_db_exec(struct ac_db *db, const struct ac_stmt *st, const char *const *vals,
    const int *lens, const int *formats)
{
	PGresult *res = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		int intx;

		if (ac_db_conn(db) == NULL)
			return NULL;
		intx = PQtransactionStatus(db->conn) != PQTRANS_IDLE;
		if (st->generic && !db->generic_plans) {
			struct ac_db_pipe p = { st, vals, NULL };

			if (pipeline(db, &p, 1) == 0)
				return p.res;
			if (!intx && attempt == 0 && PQstatus(db->conn) != CONNECTION_OK)
				continue;
			return NULL;	/* its error recorded */
		}
		if (prepare(db, st) == -1) {
			if (!intx && PQstatus(db->conn) != CONNECTION_OK)
				continue;
			return NULL;
		}
		res = PQexecPrepared(db->conn, st->name, st->nparams, vals, lens, formats, 0);
		if (!intx && attempt == 0 && retryable(db, res)) {
			PQclear(res);
			res = NULL;
			continue;
		}
		break;
	}
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK))
		record_result(db, res);
	return res;
}

int
ac_db_pipeline(struct ac_db *db, struct ac_db_pipe *p, int n)
{
	if (n == 1 && !wants_generic(db, p, 1)) {
		p[0].res = NULL;
		if (ac_db_conn(db) == NULL || prepare(db, p[0].st) == -1)
			return -1;
		if ((p[0].res = ac_db_exec(db, p[0].st, p[0].vals, NULL, NULL)) != NULL &&
		    (PQresultStatus(p[0].res) == PGRES_TUPLES_OK ||
		    PQresultStatus(p[0].res) == PGRES_COMMAND_OK))
			return 0;
		PQclear(p[0].res);	/* its error recorded by ac_db_exec() */
		p[0].res = NULL;
		return -1;
	}
	return pipeline(db, p, n);
}

json_t *
ac_db_json(struct ac_db *db, const struct ac_stmt *st, const char *const *vals, int *found)
{
	PGresult *res = ac_db_exec(db, st, vals, NULL, NULL);
	json_t *o;

	*found = 1;
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("%s: %s", st->name, ac_db_error(db));
		return NULL;
	}
	if (PQntuples(res) == 0) {
		*found = 0;
		PQclear(res);
		return NULL;
	}
	o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return o;
}

PGresult *
ac_db_query(struct ac_db *db, const char *sql, int n, const char *const *vals)
{
	PGresult *res;

	if (ac_db_conn(db) == NULL)
		return NULL;
	res = PQexecParams(db->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK))
		record_result(db, res);
	return res;
}

static int
command(struct ac_db *db, const char *sql)
{
	PGresult *res;

	if (ac_db_conn(db) == NULL)
		return -1;
	res = PQexec(db->conn, sql);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		if (res == NULL)
			record_result(db, NULL);
		return -1;
	}
	PQclear(res);
	return 0;
}

int
ac_db_begin(struct ac_db *db)
{
	/* a connection the server dropped (a restart) shows only when used:
	 * nothing has been done yet, so BEGIN again on a new one, as
	 * ac_db_exec() does outside a transaction */
	if (command(db, "BEGIN") == 0)
		return 0;
	if (db->conn == NULL || PQstatus(db->conn) == CONNECTION_OK)
		return -1;
	return command(db, "BEGIN");
}

int
ac_db_commit(struct ac_db *db)
{
	return command(db, "COMMIT");
}

void
ac_db_rollback(struct ac_db *db)
{
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		command(db, "ROLLBACK");
}

const char *
ac_db_error(const struct ac_db *db)
{
	return db->error;
}

int
ac_db_unavailable(const struct ac_db *db)
{
	return db->unavailable;
}

const char *
ac_db_sqlstate(const struct ac_db *db)
{
	return db->sqlstate;
}

int
ac_db_err(const struct ac_db *db, struct ac_err *e)
{
	const char *state = db->sqlstate;

	if (strcmp(state, "23505") == 0)
		return ac_err_set(e, AC_E_CONFLICT, NULL, "already exists: %s", db->error);
	if (strcmp(state, "23503") == 0)
		return ac_err_set(e, AC_E_NOT_FOUND, NULL,
		    "refers to something that does not exist: %s", db->error);
	if (strncmp(state, "23", 2) == 0 || strcmp(state, "22023") == 0)
		return ac_err_set(e, AC_E_UNPROCESSABLE, NULL, "refused: %s", db->error);
	return ac_err_set(e, ac_db_unavailable(db) ? AC_E_UNAVAILABLE : AC_E_INTERNAL, NULL,
	    "%s", db->error);
}

int
ac_db_ping(struct ac_db *db)
{
	static const struct ac_stmt st_ping = { "health_ping", "SELECT 1", 0 };
	PGresult *res = ac_db_exec(db, &st_ping, NULL, NULL, NULL);

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return 0;
	PQclear(res);
	return 1;
}

int
ac_db_warm(struct ac_db *db, const struct ac_stmt *const *st, int n)
{
	static const char *const nulls[AC_DB_WARM_PARAMS];	/* every one NULL */
	int ran = 0;

	for (int i = 0; i < n; i++) {
		PGresult *res;
		ExecStatusType rs;

		if (st[i]->nparams > AC_DB_WARM_PARAMS)
			continue;
		if (ac_db_begin(db) == -1) {	/* no server: the caller's loop waits for it */
			ac_debug("warming: %s", ac_db_error(db));
			break;
		}
		res = ac_db_exec(db, st[i], nulls, NULL, NULL);
		rs = PQresultStatus(res);
		if (res != NULL && (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK))
			ran++;
		else
			ac_debug("warming %s: %s", st[i]->name, ac_db_error(db));
		PQclear(res);
		ac_db_rollback(db);
	}
	return ran;
}

/* A value of type oid that matches nothing and folds nothing away: NULL
 * for a type not listed. */
static const char *
neutral(Oid type)
{
	switch (type) {
	case 16:		/* bool */
		return "f";
	case 20: case 21: case 23: case 26: case 700: case 701: case 1700:
		return "0";	/* int8, int2, int4, oid, float4, float8, numeric */
	case 19: case 25: case 1042: case 1043:
		return "";	/* name, text, bpchar, varchar */
	case 114: case 3802:	/* json, jsonb */
		return "{}";
	case 1082: case 1114: case 1184:	/* date, timestamp, timestamptz */
		return "epoch";
	case 199: case 1000: case 1005: case 1007: case 1009: case 1015: case 1016:
	case 1021: case 1022: case 1028: case 1115: case 1185: case 1231: case 3807:
		return "{}";	/* their arrays */
	default:
		return NULL;
	}
}

int
ac_db_warm_plans(struct ac_db *db, const struct ac_stmt *const *st, int n, int *planned)
{
	int ran = ac_db_warm(db, st, n);

	*planned = 0;
	for (int i = 0; i < n && ran > 0; i++) {
		const char *vals[AC_DB_WARM_PARAMS];
		PGresult *res;
		int np;

		if (st[i]->nparams > AC_DB_WARM_PARAMS || !is_prepared(db, st[i]) ||
		    (res = PQdescribePrepared(db->conn, st[i]->name)) == NULL)
			continue;
		np = PQresultStatus(res) == PGRES_COMMAND_OK ? PQnparams(res) : -1;
		for (int k = 0; k < np && k < AC_DB_WARM_PARAMS; k++)
			vals[k] = neutral(PQparamtype(res, k));
		PQclear(res);
		if (np != st[i]->nparams || ac_db_begin(db) == -1)
			continue;
		res = ac_db_exec(db, st[i], vals, NULL, NULL);
		if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
			(*planned)++;
		else
			ac_debug("planning %s: %s", st[i]->name, ac_db_error(db));
		PQclear(res);
		ac_db_rollback(db);
	}
	return ran;
}

long long
ac_db_command(struct ac_db *db, const struct ac_stmt *st, const char *const *vals)
{
	PGresult *res = ac_db_exec(db, st, vals, NULL, NULL);
	long long n;

	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return -1;
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}
