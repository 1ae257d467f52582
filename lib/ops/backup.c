/* backup.c — see backup.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "alert/spool.h"
#include "base/log.h"
#include "base/proc.h"
#include "base/util.h"
#include "ops/backup.h"

#define SET_FORMAT	1
#define ENV_MAX		48

/* The members of a set, in the order they are written. */
static const char *const members[] = { "manifest.json", "database.dump", "state.tar.gz" };

/* The relations a database holds outside the system schemas. */
static const char sql_tables[] =
	"SELECT n.nspname || '.' || c.relname FROM pg_class c"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
	" AND n.nspname !~ '^pg_(toast|temp)' ORDER BY 1";

int
ac_backup_name_ok(const char *name)
{
	static const char shape[] = "alertcast-DDDDDDDDTDDDDDDZ.tar";

	if (strlen(name) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'D' ? name[i] < '0' || name[i] > '9' : name[i] != shape[i])
			return 0;
	return 1;
}

/*
 * The PG* variables that say to pg_dump what conninfo says to libpq
 * (each option's environment variable is in libpq's own table), as
 * malloc'd "NAME=value" strings in env (NULL-terminated). An option with
 * no variable (keepalives, ...) is left out with a warning naming it.
 * 0, or -1 with e (conninfo does not parse; its text is not repeated).
 */
static int
pg_env(const char *conninfo, char *env[ENV_MAX], struct ac_err *e)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	int n = 0;

	if ((opts = PQconninfoParse(conninfo, &msg)) == NULL) {
		ac_err_set(e, AC_E_INVALID, "AC_DATABASE_URL", "AC_DATABASE_URL: %s",
		    msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL && n < ENV_MAX - 1; o++) {
		if (o->val == NULL)
			continue;
		if (o->envvar == NULL) {
			ac_warn("AC_DATABASE_URL's %s has no PG* variable: pg_dump and pg_restore"
			    " use their default", o->keyword);
			continue;
		}
		if (asprintf(&env[n], "%s=%s", o->envvar, o->val) == -1)
			break;
		n++;
	}
	env[n] = NULL;
	PQconninfoFree(opts);
	return 0;
}

static void
env_free(char *env[])
{
	for (int i = 0; env[i] != NULL; i++)
		free(env[i]);
}

/* The path of a PostgreSQL program: in bindir, or bare for $PATH. */
static void
pg_tool(char *out, size_t sz, const char *bindir, const char *name)
{
	if (bindir != NULL && *bindir != '\0')
		snprintf(out, sz, "%s/%s", bindir, name);
	else
		snprintf(out, sz, "%s", name);
}

/* Runs argv with env; 0, or -1 with e naming the program ("exited 1":
 * its own message is on stderr). A status in ok_also (tar's 1, "a file
 * changed as it was read") is a warning. */
static int
run(char *const argv[], char *const env[], int ok_also, struct ac_err *e)
{
	char err[512];
	int rc = ac_proc_run(argv, env, err, sizeof(err));

	if (rc == -1)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "%s", err);
	if (rc != 0 && rc == ok_also) {
		ac_warn("%s exited %d (a file changed while it was read); the set is kept", argv[0],
		    rc);
		return 0;
	}
	if (rc != 0)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "%s exited %d (its message is above)",
		    argv[0], rc);
	return 0;
}

/* mkdir -p path with mode; 0 or -1 with errno. */
static int
mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX * 2];

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, mode) == -1 && errno != EEXIST ? -1 : 0;
}

static int
fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Removes the members of a set's work folder (and set.tar), then it. */
static void
work_remove(const char *work)
{
	char p[PATH_MAX * 2];

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", work, members[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/set.tar", work);
	unlink(p);
	if (rmdir(work) == -1 && errno != ENOENT)
		ac_warn("%s: %s", work, strerror(errno));
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes all but the newest keep sets of dir, and the work folders of runs
 * that died over a day ago; how many sets it removed. */
static int
prune(const char *dir, int keep)
{
	char **names = NULL, p[PATH_MAX];
	size_t n = 0, cap = 0;
	struct dirent *d;
	int removed = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		ac_warn("%s: %s; nothing removed", dir, strerror(errno));
		return 0;
	}
	while ((d = readdir(dp)) != NULL) {
		struct stat st;

		/* the work folder of a run killed more than a day ago */
		if (strncmp(d->d_name, ".alertcast-", 11) == 0 && d->d_type == DT_DIR &&
		    snprintf(p, sizeof(p), "%s/%s", dir, d->d_name) < (int)sizeof(p) &&
		    stat(p, &st) == 0 && st.st_mtime < time(NULL) - 86400) {
			ac_warn("%s: left by a backup that did not finish; removed", p);
			work_remove(p);
		}
		if (!ac_backup_name_ok(d->d_name))
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*names));

			if (grown == NULL)
				break;
			names = grown;
		}
		if ((names[n] = strdup(d->d_name)) == NULL)
			break;
		n++;
	}
	closedir(dp);
	/* the names sort as their UTC times do */
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (i + (size_t)keep < n) {
			if (unlink(p) == 0)
				removed++;
			else
				ac_warn("%s: %s", p, strerror(errno));
		}
		free(names[i]);
	}
	free(names);
	return removed;
}

/* In work: manifest.json describing the set. 0 or -1 with e. */
static int
write_manifest(const char *work, const char *created, const char *state_dir,
    struct ac_err *e)
{
	char p[PATH_MAX * 2];
	json_t *m = json_pack("{s:i, s:s, s:s, s:s, s:s}", "format", SET_FORMAT, "created",
	    created, "database", members[1], "state", members[2], "state_dir", state_dir);
	int rc;

	snprintf(p, sizeof(p), "%s/%s", work, members[0]);
	rc = json_dump_file(m, p, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(m);
	if (rc == -1)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "%s: cannot write", p);
	return 0;
}

int
ac_backup_make(const struct ac_backup_cfg *c, struct ac_backup_out *out, struct ac_err *e)
{
	char stamp[32], created[32], work[PATH_MAX], final[PATH_MAX], tmp[PATH_MAX * 2];
	char dumpf[PATH_MAX * 2], statef[PATH_MAX * 2], setf[PATH_MAX * 2], dirf[PATH_MAX * 2];
	char tool[PATH_MAX], rstate[PATH_MAX], rdir[PATH_MAX], exclude[PATH_MAX * 2];
	char *env[ENV_MAX];
	int64_t t0 = ac_mono_ms();
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;
	mode_t um;
	size_t sl;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	errno = 0;
	if (stat(c->state_dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return ac_err_set(e, AC_E_NOT_FOUND, "AC_STATE_DIR", "AC_STATE_DIR %s: %s",
		    c->state_dir, errno ? strerror(errno) : "not a folder");
	um = umask(077);	/* a set holds jwt.key and every account */
	if (mkdirs(c->dir, 0700) == -1) {
		ac_err_set(e, AC_E_INTERNAL, "dir", "%s: %s", c->dir, strerror(errno));
		umask(um);
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(final, sizeof(final), "%s/alertcast-%s.tar", c->dir, stamp);
	if (access(final, F_OK) == 0) {
		ac_err_set(e, AC_E_CONFLICT, NULL, "%s exists: one set a second", final);
		umask(um);
		return -1;
	}
	snprintf(work, sizeof(work), "%s/.alertcast-%s.XXXXXX", c->dir, stamp);
	if (mkdtemp(work) == NULL) {
		ac_err_set(e, AC_E_INTERNAL, "dir", "%s: %s", work, strerror(errno));
		umask(um);
		return -1;
	}
	if (pg_env(c->database_url, env, e) == -1)
		goto done;

	pg_tool(tool, sizeof(tool), c->pg_bindir, "pg_dump");
	snprintf(dumpf, sizeof(dumpf), "--file=%s/%s", work, members[1]);
	if (run((char *[]){ tool, "--format=custom", "--no-password", dumpf, NULL }, env, 0,
	    e) == -1)
		goto done_env;

	/* the state folder, without the sets when they are kept inside it */
	snprintf(statef, sizeof(statef), "--file=%s/%s", work, members[2]);
	snprintf(dirf, sizeof(dirf), "--directory=%s", c->state_dir);
	exclude[0] = '\0';
	if (realpath(c->state_dir, rstate) != NULL && realpath(c->dir, rdir) != NULL &&
	    strncmp(rdir, rstate, sl = strlen(rstate)) == 0 && rdir[sl] == '/')
		snprintf(exclude, sizeof(exclude), "--exclude=./%s", rdir + sl + 1);
	if (run((char *[]){ "tar", "--create", "--gzip", statef, dirf, "--anchored",
	    exclude[0] ? exclude : "--exclude=./.alertcast-*", "--", ".", NULL }, NULL, 1, e) == -1)
		goto done_env;

	if (write_manifest(work, created, c->state_dir, e) == -1)
		goto done_env;
	snprintf(setf, sizeof(setf), "--file=%s/set.tar", work);
	snprintf(dirf, sizeof(dirf), "--directory=%s", work);
	if (run((char *[]){ "tar", "--create", setf, dirf, "--", (char *)members[0],
	    (char *)members[1], (char *)members[2], NULL }, NULL, 0, e) == -1)
		goto done_env;

	/* whole on disk, then under its name (link: never over another set) */
	snprintf(tmp, sizeof(tmp), "%s/set.tar", work);
	if (fsync_path(tmp, O_RDONLY) == -1 || link(tmp, final) == -1 ||
	    fsync_path(c->dir, O_RDONLY | O_DIRECTORY) == -1) {
		ac_err_set(e, errno == EEXIST ? AC_E_CONFLICT : AC_E_INTERNAL, NULL, "%s: %s",
		    final, strerror(errno));
		goto done_env;
	}
	snprintf(out->file, sizeof(out->file), "%s", final);
	out->bytes = stat(final, &st) == 0 ? (long long)st.st_size : 0;
	out->removed = prune(c->dir, c->keep < 1 ? 1 : c->keep);
	out->seconds = (double)(ac_mono_ms() - t0) / 1000.0;
	rc = 0;
done_env:
	env_free(env);
done:
	work_remove(work);
	umask(um);
	return rc;
}

/* The relations of the database: how many, and the first few named in
 * names. -1 with e on a database error. */
static int
tables(struct ac_db *db, char *names, size_t sz, struct ac_err *e)
{
	PGresult *res = ac_db_query(db, sql_tables, 0, NULL);
	int n;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return -1;
	}
	n = PQntuples(res);
	names[0] = '\0';
	for (int i = 0; i < n && i < 3; i++) {
		size_t len = strlen(names);

		snprintf(names + len, sz - len, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return n;
}

/* Removes the regular files of state_dir/spool (the set's replace them). */
static int
spool_clear(const char *state_dir, struct ac_err *e)
{
	char dir[PATH_MAX], p[PATH_MAX + 256];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/spool", state_dir);
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : ac_err_set(e, AC_E_INTERNAL, NULL, "%s: %s", dir,
		    strerror(errno));
	while ((d = readdir(dp)) != NULL) {
		if (d->d_type != DT_REG)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (unlink(p) == -1) {
			closedir(dp);
			return ac_err_set(e, AC_E_INTERNAL, NULL, "%s: %s", p, strerror(errno));
		}
	}
	closedir(dp);
	return 0;
}

/* Reads work/manifest.json: 0 if it is a set of our format, else -1. */
static int
manifest_ok(const char *work, const char *file, struct ac_err *e)
{
	char p[PATH_MAX * 2];
	json_error_t jerr;
	json_t *m;
	long long format;

	snprintf(p, sizeof(p), "%s/%s", work, members[0]);
	if ((m = json_load_file(p, 0, &jerr)) == NULL)
		return ac_err_set(e, AC_E_INVALID, "file", "%s: its manifest: %s", file, jerr.text);
	format = json_integer_value(json_object_get(m, "format"));
	json_decref(m);
	if (format != SET_FORMAT)
		return ac_err_set(e, AC_E_INVALID, "file", "%s: a set of format %lld, this acctl"
		    " reads format %d", file, format, SET_FORMAT);
	return 0;
}

int
ac_backup_restore(struct ac_db *db, const struct ac_backup_cfg *c, const char *file,
    int overwrite_spool, struct ac_restore_out *out, struct ac_err *e)
{
	char names[256], work[PATH_MAX], setf[PATH_MAX * 2], dirf[PATH_MAX * 2];
	char dumpf[PATH_MAX * 2], statef[PATH_MAX * 2], dbf[256], tool[PATH_MAX];
	const char *tmpdir = getenv("TMPDIR"), *dbname;
	char *env[ENV_MAX];
	int64_t t0 = ac_mono_ms();
	struct stat st;
	PGresult *res;
	int n, rc = -1;

	memset(out, 0, sizeof(*out));
	errno = 0;
	if (stat(file, &st) == -1 || !S_ISREG(st.st_mode))
		return ac_err_set(e, AC_E_NOT_FOUND, "file", "%s: %s", file,
		    errno ? strerror(errno) : "not a file");
	out->bytes = (long long)st.st_size;
	if (ac_db_conn(db) == NULL)
		return ac_db_err(db, e);
	if ((n = tables(db, names, sizeof(names), e)) == -1)
		return -1;
	if (n > 0)
		return ac_err_set(e, AC_E_CONFLICT, NULL, "the database AC_DATABASE_URL names"
		    " holds %d tables and sequences (%s%s): restore goes only into an empty"
		    " database (drop it and create it empty first); nothing changed", n, names,
		    n > 3 ? ", ..." : "");
	if (!overwrite_spool && ac_spool_pending(c->state_dir))
		return ac_err_set(e, AC_E_CONFLICT, NULL, "%s/spool holds alerts not yet stored:"
		    " keep a copy of them, then pass --overwrite-spool to replace them with the"
		    " set's; nothing changed", c->state_dir);
	dbname = PQdb(ac_db_conn(db));
	if (strchr(dbname, '=') != NULL || strstr(dbname, "://") != NULL)
		return ac_err_set(e, AC_E_INVALID, "AC_DATABASE_URL", "database name %s: not one"
		    " pg_restore can be given", dbname);

	snprintf(work, sizeof(work), "%s/alertcast-restore.XXXXXX",
	    tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
	if (mkdtemp(work) == NULL)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "%s: %s", work, strerror(errno));
	if (pg_env(c->database_url, env, e) == -1)
		goto done;
	snprintf(setf, sizeof(setf), "--file=%s", file);
	snprintf(dirf, sizeof(dirf), "--directory=%s", work);
	if (run((char *[]){ "tar", "--extract", setf, dirf, "--", (char *)members[0],
	    (char *)members[1], (char *)members[2], NULL }, NULL, 0, e) == -1) {
		ac_err_set(e, AC_E_INVALID, "file", "%s is not a whole backup set (tar's message"
		    " is above); nothing changed", file);
		goto done_env;
	}
	if (manifest_ok(work, file, e) == -1)
		goto done_env;

	/* one transaction: a failure leaves the database as empty as it was */
	pg_tool(tool, sizeof(tool), c->pg_bindir, "pg_restore");
	snprintf(dbf, sizeof(dbf), "--dbname=%s", dbname);
	snprintf(dumpf, sizeof(dumpf), "%s/%s", work, members[1]);
	if (run((char *[]){ tool, "--exit-on-error", "--single-transaction", "--no-owner",
	    "--no-password", dbf, "--", dumpf, NULL }, env, 0, e) == -1) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "pg_restore failed (its message is above);"
		    " the database is unchanged, the state folder untouched");
		goto done_env;
	}
	res = ac_db_query(db, "ANALYZE", 0, NULL);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		ac_warn("ANALYZE: %s", ac_db_error(db));
	else
		PQclear(res);

	if (mkdirs(c->state_dir, 0750) == -1) {
		ac_err_set(e, AC_E_INTERNAL, "AC_STATE_DIR", "the database is restored, the state"
		    " folder not: %s: %s", c->state_dir, strerror(errno));
		goto done_env;
	}
	if (overwrite_spool && spool_clear(c->state_dir, e) == -1)
		goto done_env;
	snprintf(statef, sizeof(statef), "--file=%s/%s", work, members[2]);
	snprintf(dirf, sizeof(dirf), "--directory=%s", c->state_dir);
	if (run((char *[]){ "tar", "--extract", "--gzip", "--no-overwrite-dir", statef, dirf,
	    NULL }, NULL, 0, e) == -1) {
		ac_err_set(e, AC_E_INTERNAL, "AC_STATE_DIR", "the database is restored, the state"
		    " folder not (tar's message is above): extract state.tar.gz of %s into %s by"
		    " hand", file, c->state_dir);
		goto done_env;
	}
	if ((out->tables = tables(db, names, sizeof(names), e)) == -1)
		goto done_env;
	out->seconds = (double)(ac_mono_ms() - t0) / 1000.0;
	rc = 0;
done_env:
	env_free(env);
done:
	work_remove(work);
	return rc;
}
