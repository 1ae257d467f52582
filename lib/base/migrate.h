/*
 * migrate.h — the numbered SQL migrations in sql/ and their bookkeeping
 * table (schema_migrations: name, SHA-256 checksum, applied_at).
 */
#ifndef AC_MIGRATE_H
#define AC_MIGRATE_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * Applies the pending migrations of sql_dir in name order, each in its own
 * transaction, under an advisory lock so concurrent runs wait for each
 * other. Refuses (applying nothing) if an applied file's checksum changed
 * or an applied file is missing. Returns {"applied":[...],"current":[...]}
 * or NULL with *e (the message says which file and why).
 */
json_t	*ac_migrate(struct ac_db *db, const char *sql_dir, struct ac_err *e);

/*
 * Compares sql_dir with what the database applied: 0 when every file is
 * applied with its checksum; 1 when some are pending or differ (*e says
 * which); -1 when the database or the folder cannot be read (*e).
 */
int	 ac_migrate_check(struct ac_db *db, const char *sql_dir, struct ac_err *e);

#endif
