/* migrate.c — see migrate.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/migrate.h"

#define MAX_FILES 512

struct mfile {
	char	name[256];
	char	sum[65];
	char	*sql;
};

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct mfile *)a)->name, ((const struct mfile *)b)->name);
}

/* "001_core.sql": three digits, an underscore, ".sql". */
static int
is_migration(const char *n)
{
	size_t len = strlen(n);

	return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' &&
	    n[2] >= '0' && n[2] <= '9' && n[3] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static void
free_files(struct mfile *f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i].sql);
	free(f);
}

/* Reads every migration of dir, sorted, with its checksum. -1 on error. */
static int
read_files(const char *dir, struct mfile **out, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct mfile *f = calloc(MAX_FILES, sizeof(*f));
	int n = 0;

	*out = NULL;
	if (d == NULL || f == NULL) {
		snprintf(err, errsz, "migrations folder %s: %s", dir, strerror(errno));
		if (d)
			closedir(d);
		free(f);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		FILE *fp;
		long size;

		if (!is_migration(de->d_name) || strlen(de->d_name) >= sizeof(f[n].name))
			continue;
		if (n == MAX_FILES) {
			snprintf(err, errsz, "more than %d migrations in %s", MAX_FILES, dir);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) == -1 ||
		    (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) == -1 ||
		    (f[n].sql = malloc((size_t)size + 1)) == NULL ||
		    fread(f[n].sql, 1, (size_t)size, fp) != (size_t)size) {
			snprintf(err, errsz, "%.300s: %s", path, strerror(errno));
			if (fp)
				fclose(fp);
			n++;
			goto fail;
		}
		fclose(fp);
		f[n].sql[size] = '\0';
		snprintf(f[n].name, sizeof(f[n].name), "%s", de->d_name);
		ac_sha256_hex(f[n].sql, (size_t)size, f[n].sum);
		n++;
	}
	closedir(d);
	qsort(f, (size_t)n, sizeof(*f), cmp_name);
	*out = f;
	return n;
fail:
	closedir(d);
	free_files(f, n);
	return -1;
}

static const char create_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name text PRIMARY KEY, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Checks applied rows against files. Returns the number of files already
 * applied with the right checksum, or -1 (err says why) on a mismatch. */
static int
compare(PGresult *applied, const struct mfile *f, int n, int *done, char *err, size_t errsz)
{
	int ok = 0;

	for (int r = 0; r < PQntuples(applied); r++) {
		const char *name = PQgetvalue(applied, r, 0), *sum = PQgetvalue(applied, r, 1);
		int i;

		for (i = 0; i < n && strcmp(f[i].name, name) != 0; i++)
			;
		if (i == n) {
			snprintf(err, errsz, "migration %s was applied but its file is missing", name);
			return -1;
		}
		if (strcmp(f[i].sum, sum) != 0) {
			snprintf(err, errsz, "migration %s changed after it was applied"
			    " (checksum %.12s…, applied %.12s…); add a new migration instead", name,
			    f[i].sum, sum);
			return -1;
		}
		done[i] = 1;
		ok++;
	}
	return ok;
}

static json_t *
migrate(struct ac_db *db, const char *sql_dir, char *err, size_t errsz)
{
	struct mfile *f;
	PGresult *res;
	json_t *applied = json_array(), *current = json_array();
	int n, *done = NULL, locked = 0;

	if ((n = read_files(sql_dir, &f, err, errsz)) == -1)
		goto fail;
	done = calloc((size_t)n + 1, sizeof(*done));
	res = ac_db_query(db, create_table, 0, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		goto dberr;
	PQclear(res);
	res = ac_db_query(db, "SELECT pg_advisory_lock(727001)", 0, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	PQclear(res);
	locked = 1;
	res = ac_db_query(db, "SELECT name, checksum FROM schema_migrations", 0, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto dberr;
	if (compare(res, f, n, done, err, errsz) == -1) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	for (int i = 0; i < n; i++) {
		const char *vals[2] = { f[i].name, f[i].sum };

		if (done[i]) {
			json_array_append_new(current, json_string(f[i].name));
			continue;
		}
		if (ac_db_begin(db) == -1)
			goto dberr;
		/* a migration file is trusted SQL shipped with the program */
		res = PQexec(ac_db_conn(db), f[i].sql);
		if (!ac_db_ok(db, res, res && PQresultStatus(res) == PGRES_TUPLES_OK ?
		    PGRES_TUPLES_OK : PGRES_COMMAND_OK)) {
			snprintf(err, errsz, "migration %s failed: %s", f[i].name, ac_db_error(db));
			ac_db_rollback(db);
			goto fail;
		}
		PQclear(res);
		res = ac_db_query(db, "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", 2, vals);
		if (!ac_db_ok(db, res, PGRES_COMMAND_OK) || ac_db_commit(db) == -1) {
			ac_db_rollback(db);
			goto dberr;
		}
		PQclear(res);
		ac_info("applied migration %s", f[i].name);
		json_array_append_new(applied, json_string(f[i].name));
		json_array_append_new(current, json_string(f[i].name));
	}
	res = ac_db_query(db, "SELECT pg_advisory_unlock(727001)", 0, NULL);
	PQclear(res);
	free(done);
	free_files(f, n);
	return json_pack("{s:o, s:o}", "applied", applied, "current", current);
dberr:
	snprintf(err, errsz, "database: %s", ac_db_error(db));
fail:
	if (locked && ac_db_conn(db) != NULL)
		PQclear(ac_db_query(db, "SELECT pg_advisory_unlock(727001)", 0, NULL));
	json_decref(applied);
	json_decref(current);
	free(done);
	if (n > 0)
		free_files(f, n);
	return NULL;
}

static int
migrate_check(struct ac_db *db, const char *sql_dir, char *err, size_t errsz)
{
	struct mfile *f;
	PGresult *res;
	int n, ok, *done, rc;

	if ((n = read_files(sql_dir, &f, err, errsz)) == -1)
		return -1;
	res = ac_db_query(db, "SELECT name, checksum FROM schema_migrations", 0, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		snprintf(err, errsz, "database: %s", ac_db_error(db));
		free_files(f, n);
		return strcmp(ac_db_sqlstate(db), "42P01") == 0 ? 1 : -1;	/* no table yet */
	}
	done = calloc((size_t)n + 1, sizeof(*done));
	ok = compare(res, f, n, done, err, errsz);
	PQclear(res);
	rc = ok == n ? 0 : 1;
	for (int i = 0; rc == 1 && ok >= 0 && i < n; i++)
		if (!done[i]) {
			snprintf(err, errsz, "migration %s is not applied", f[i].name);
			break;
		}
	free(done);
	free_files(f, n);
	return rc;
}

json_t *
ac_migrate(struct ac_db *db, const char *sql_dir, struct ac_err *e)
{
	char err[sizeof(e->message)] = "";
	json_t *o;

	if ((o = migrate(db, sql_dir, err, sizeof(err))) == NULL)
		ac_err_set(e, AC_E_CONFLICT, NULL, "%s", err);
	return o;
}

int
ac_migrate_check(struct ac_db *db, const char *sql_dir, struct ac_err *e)
{
	char err[sizeof(e->message)] = "";
	int rc = migrate_check(db, sql_dir, err, sizeof(err));

	if (rc != 0)
		ac_err_set(e, rc == 1 ? AC_E_CONFLICT : AC_E_UNAVAILABLE, NULL, "%s", err);
	return rc;
}
