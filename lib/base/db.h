/*
 * db.h — PostgreSQL access: a handle is one connection, reconnected after
 * a failure, prepared statements re-prepared on each new connection. A
 * handle belongs to one thread at a time.
 *
 * Statements live next to the code that runs them as
 *	static const struct ac_stmt st_x = { "x", "SELECT ... $1", 1 };
 * and are prepared on first use. Every value is a parameter.
 */
#ifndef AC_DB_H
#define AC_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/err.h"

struct ac_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	/* 1: planned once, generically, whatever the connection's setting
	 * (plan_cache_mode=force_generic_plan for the statement alone): for a
	 * statement whose every plan is the same lookups by key, which
	 * PostgreSQL would otherwise plan afresh at each execution (an array
	 * of ids as a parameter: a custom plan keeps winning on cost). Its
	 * values are text (lens and formats NULL). */
	int		 generic;
};

struct ac_db;

/*
 * A handle for conninfo (not yet connected). statement_timeout_ms > 0 is
 * set on each connection; connect_timeout_s bounds each connect attempt.
 * application_name names the program in pg_stat_activity.
 */
struct ac_db	*ac_db_new(const char *conninfo, const char *application_name,
		    int connect_timeout_s, int statement_timeout_ms);
void		 ac_db_free(struct ac_db *db);

/* Another handle (another connection) with db's settings. */
struct ac_db	*ac_db_new_like(const struct ac_db *db);

/* Makes the handle's connections plan prepared statements once, generically
 * (plan_cache_mode=force_generic_plan), from the next connect on: for
 * responders whose statements have optional filters ("$2 IS NULL OR ..."),
 * which PostgreSQL would otherwise re-plan at every execution. */
void		 ac_db_generic_plans(struct ac_db *db);

/* The live connection, connecting or reconnecting if needed; NULL when the
 * server cannot be reached (ac_db_error() says why). */
PGconn		*ac_db_conn(struct ac_db *db);

/*
 * Runs a prepared statement with text parameters (NULL entries are SQL
 * NULL); lens/formats may be NULL (all text). Returns the result, which
 * the caller PQclear()s, or NULL if there was no connection. Outside a
 * transaction a broken connection is re-established and the statement
 * retried once.
 */
PGresult	*ac_db_exec(struct ac_db *db, const struct ac_stmt *st,
		    const char *const *vals, const int *lens, const int *formats);

/* One statement of ac_db_pipeline(): st with vals (text, st->nparams of
 * them); res gets its result (the caller clears it), NULL when it did not
 * run. */
struct ac_db_pipe {
	const struct ac_stmt	*st;
	const char *const	*vals;
	PGresult		*res;
};

/*
 * Runs n statements in order in one round trip (libpq's pipeline mode),
 * inside the transaction the caller has open: the statements of a step
 * that do not need each other's answers, sent at once instead of waiting
 * for each. 0 when every one succeeded (rows or a command); -1 when one
 * failed: its error is recorded, the ones after it did not run (res NULL),
 * and the transaction is failed, as it would be running them one by one.
 * No retry on a broken connection (a transaction is open).
 */
int		 ac_db_pipeline(struct ac_db *db, struct ac_db_pipe *p, int n);

/* Runs st, whose single cell is JSON text (a row_to_json(), json_agg(),
 * ...): the parsed value, or NULL when there is no row (*found 0) or on a
 * database error (*found 1, logged). */
json_t		*ac_db_json(struct ac_db *db, const struct ac_stmt *st,
		    const char *const *vals, int *found);

/* Same, for SQL run once (migrations, operator commands). */
PGresult	*ac_db_query(struct ac_db *db, const char *sql, int n,
		    const char *const *vals);

/* 1 if res is the wanted status; otherwise records the error, clears res
 * and returns 0. res may be NULL. */
int		 ac_db_ok(struct ac_db *db, PGresult *res, ExecStatusType want);

/* Runs a statement that returns no rows (UPDATE, DELETE, INSERT without
 * RETURNING): the number of rows it touched, or -1 (error recorded). */
long long	 ac_db_command(struct ac_db *db, const struct ac_stmt *st,
		    const char *const *vals);

/*
 * Readies a connection for statements before they are needed: runs each of
 * st[0..n-1] (at most AC_DB_WARM_PARAMS parameters) once with every
 * parameter NULL, in a transaction of its own that is rolled back. Each is
 * prepared, the relations it names are read into the server's caches, and
 * the PL/pgSQL of the statement triggers it fires (which fire on no rows
 * too) is compiled: the first real run pays for none of it. Returns how
 * many ran; one that fails is logged (debug) and skipped, and without a
 * connection it stops at once.
 */
#define AC_DB_WARM_PARAMS 32
int		 ac_db_warm(struct ac_db *db, const struct ac_stmt *const *st, int n);

/*
 * ac_db_warm(), then each again with a neutral value of each parameter's
 * type (0, false, '', '{}', the epoch; others NULL), rolled back too: a
 * NULL folds the planner's work away (id = NULL is no plan at all), these
 * are planned in full, so the first real bind does not read the catalogs
 * (5-10 ms for a statement of many subqueries). Only for statements that
 * such values narrow to no row. Returns how many ran in the first pass;
 * *planned gets how many ran in the second (one that fails is logged,
 * debug: the first real bind plans it).
 */
int		 ac_db_warm_plans(struct ac_db *db, const struct ac_stmt *const *st, int n,
		    int *planned);

/* 1 if the server answers a trivial statement, else 0 (error recorded). */
int		 ac_db_ping(struct ac_db *db);

/* BEGIN / COMMIT / ROLLBACK. 0, or -1 (error recorded). BEGIN on a
 * connection found broken is tried once more on a new one. */
int		 ac_db_begin(struct ac_db *db);
int		 ac_db_commit(struct ac_db *db);
void		 ac_db_rollback(struct ac_db *db);

/* The last error's text, and whether it meant the server is unreachable
 * or unusable right now (connection lost, shutting down, too many
 * connections, statement timeout) rather than a fault in the request. */
const char	*ac_db_error(const struct ac_db *db);
int		 ac_db_unavailable(const struct ac_db *db);

/* The SQLSTATE of the last error ("" if none), e.g. "23505". */
const char	*ac_db_sqlstate(const struct ac_db *db);

/* The last error into *e by what it means: a unique violation is
 * AC_E_CONFLICT ("already exists: ..."), a foreign key AC_E_NOT_FOUND
 * ("refers to something that does not exist: ..."), another refused
 * constraint or value AC_E_UNPROCESSABLE ("refused: ..."), an unusable
 * server AC_E_UNAVAILABLE, anything else AC_E_INTERNAL; the message ends
 * with the database's text. Returns -1. */
int		 ac_db_err(const struct ac_db *db, struct ac_err *e);

#endif
