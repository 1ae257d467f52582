/*
 * test_backup — acctl backup and acctl restore against the real stack:
 * users, plans, alarms, signals (through ac-hook), charges and trades
 * (through ac-worker) and a payment proof in the state folder are backed
 * up; the database is dropped and made again empty; the restore brings
 * every table's row count, the credit ledger's checksum and the state
 * folder back, and the responders answer from the restored data. Also:
 * restore refuses a database with tables and a spool with alerts,
 * changing nothing; retention keeps the newest sets and touches nothing
 * else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "itest.h"

#define PW	"it-backup-password-1"

/* Every table's row count ("name=n,...") and checksums of the ledger and
 * the balances: what must be the same after a restore. malloc'd. */
static char *
fingerprint(void)
{
	PGresult *res = it_q(
	    "SELECT (SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/n/text()',"
	    "  query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),"
	    "  false, true, '')))[1]::text), ',' ORDER BY c.relname)"
	    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	    "  WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public')"
	    " || ' ledger=' || (SELECT md5(coalesce(string_agg(l::text, '|' ORDER BY l.id), ''))"
	    "  FROM credit_ledger l)"
	    " || ' balances=' || (SELECT md5(string_agg(id || ':' || credit_balance, ','"
	    "  ORDER BY id)) FROM users)", NULL);
	char *s = strdup(PQgetvalue(res, 0, 0));

	PQclear(res);
	return s;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The first line of path, or "" if it cannot be read, into buf. */
static const char *
read_file(const char *path, char *buf, size_t sz)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f != NULL) {
		if (fgets(buf, (int)sz, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	return buf;
}

/* acctl with the NULL-terminated arguments; asserts its exit status. */
static json_t *
acctl(int want, ...)
{
	const char *a[16];
	va_list ap;
	json_t *o;
	int n = 0, st;

	va_start(ap, want);
	while ((a[n] = va_arg(ap, const char *)) != NULL && n < 15)
		n++;
	va_end(ap);
	a[n] = NULL;
	o = it_acctl(&st, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
	    a[11], a[12], a[13], a[14], NULL);
	if (st != want)
		fail_msg("acctl %s: exit %d, wanted %d", a[0], st, want);
	return o;
}

static void
alert(const struct it_strategy *s, const char *action, long want)
{
	char *body = it_alert(s, action, it_price(100), 0, 0, it_now_ms());
	struct it_resp r;

	it_post(&r, s->path, "application/json", body);
	if (r.status != want)
		fail_msg("%s alert: %ld %s", action, r.status, r.body);
	it_resp_free(&r);
	free(body);
}

/* Runs sql on the server's postgres database as the superuser. */
static void
as_superuser(const char *sql)
{
	char conninfo[1024];
	PGconn *c;
	PGresult *res;

	snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres user=postgres",
	    it_env("AC_DATABASE_URL"));
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("superuser: %s", PQerrorMessage(c));
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
}

/* The API's answer to GET path as email: its status; *balance from it. */
static long
api_balance(const char *email, long long *balance)
{
	char body[512], auth[700];
	const char *hdr[2] = { auth, NULL };
	struct it_resp r;
	long status;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	it_post(&r, "/api/v1/auth/token", "application/json", body);
	if (r.status != 200)
		fail_msg("token for %s: %ld %s", email, r.status, r.body);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", it_json_str(&r, "access_token"));
	it_resp_free(&r);
	it_http_h(&r, "GET", "/api/v1/account/credits", hdr, NULL, NULL, 0);
	status = r.status;
	*balance = json_integer_value(it_json_get(&r, "balance"));
	it_resp_free(&r);
	return status;
}

static void
test_backup_restore_round_trip(void **state)
{
	char hex[9], plan[64], email[3][96], sid[24], dir[1024], proof[1024], spool[1024];
	char url[1024], buf[1100], *before, *after, *refused;
	const char *file;
	struct it_strategy s;
	long long balance, id_before;
	json_t *o;

	(void)state;
	it_rand_hex(hex, 8);
	it_strategy_new(&s, "1h", NULL);
	snprintf(sid, sizeof(sid), "%lld", s.id);
	snprintf(plan, sizeof(plan), "IT Backup %s", hex);
	json_decref(acctl(0, "plan", "add", "--name", plan, "--price-cents", "0", "--currency",
	    "INR", "--months", "1", "--credits", "20", "--strategies", sid, NULL));
	for (int i = 0; i < 3; i++) {
		snprintf(email[i], sizeof(email[i]), "it-backup-%s-%d@example.com", hex, i);
		json_decref(acctl(0, "user", "add", "--email", email[i], "--password", PW, NULL));
		json_decref(acctl(0, "subscribe", "--email", email[i], "--plan", plan, NULL));
		json_decref(acctl(0, "alarm", "add", "--email", email[i], "--strategy", sid,
		    "--channels", "email", NULL));
		json_decref(acctl(0, "credits", "grant", "--email", email[i], "--amount", "5",
		    "--reason", "it backup", NULL));
	}
	/* signals through ac-hook; charges, deliveries and trades by the worker */
	alert(&s, "BUY", 202);
	it_drain("test_backup-worker.log");
	alert(&s, "SELL", 202);
	it_drain("test_backup-worker.log");
	assert_true(it_q_ll("SELECT count(*) FROM trades WHERE strategy_id = $1", sid, NULL) >= 3);
	assert_true(it_q_ll("SELECT count(*) FROM credit_ledger l JOIN users u ON u.id = l.user_id"
	    " WHERE u.email LIKE 'it-backup-' || $1 || '%' AND l.kind = 'usage'", hex, NULL) == 6);
	/* the state folder's part: a payment proof */
	snprintf(proof, sizeof(proof), "%s/proofs", it_env("AC_STATE_DIR"));
	mkdir(proof, 0750);
	snprintf(proof, sizeof(proof), "%s/proofs/it-backup-%s.txt", it_env("AC_STATE_DIR"), hex);
	write_file(proof, "proof of payment\n");

	before = fingerprint();
	id_before = it_q_ll("SELECT max(id) FROM users", NULL);

	/* a password in the conninfo goes to pg_dump in its environment and is
	 * never printed (the stack trusts loopback and ignores it) */
	snprintf(url, sizeof(url), "%s", it_env("AC_DATABASE_URL"));
	snprintf(buf, sizeof(buf), "%s password=it-backup-pg-secret", url);
	setenv("AC_DATABASE_URL", buf, 1);
	snprintf(dir, sizeof(dir), "%s/backups", it_env("AC_TEST_OUT"));
	o = acctl(0, "backup", "--dir", dir, NULL);
	setenv("AC_DATABASE_URL", url, 1);
	{
		char *text = json_dumps(o, 0);

		assert_null(strstr(text, "it-backup-pg-secret"));
		free(text);
	}
	file = json_string_value(json_object_get(o, "file"));
	assert_non_null(file);
	assert_true(json_integer_value(json_object_get(o, "bytes")) > 0);
	assert_true(json_is_real(json_object_get(o, "seconds")));
	assert_int_equal(access(file, R_OK), 0);

	/* into a database with tables: refused, nothing changed */
	json_decref(acctl(1, "restore", file, NULL));
	refused = fingerprint();
	assert_string_equal(refused, before);
	free(refused);

	/* destroyed: the database dropped (its connections cut) and made empty,
	 * the proof gone */
	as_superuser("DROP DATABASE alertcast WITH (FORCE)");
	as_superuser("CREATE DATABASE alertcast OWNER alertcast ENCODING 'UTF8'");
	assert_int_equal(unlink(proof), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
	    NULL), 0);

	/* a set cut short (a copy that did not finish) is refused */
	{
		char cut[1100];
		FILE *in = fopen(file, "r"), *out;
		char chunk[4096];
		size_t n;

		snprintf(cut, sizeof(cut), "%s/cut.tar", dir);
		assert_non_null(in);
		assert_non_null(out = fopen(cut, "w"));
		/* the first 4 KiB: the manifest whole, the dump cut */
		n = fread(chunk, 1, sizeof(chunk), in);
		assert_int_equal(fwrite(chunk, 1, n, out), n);
		fclose(in);
		assert_int_equal(fclose(out), 0);
		json_decref(acctl(1, "restore", cut, NULL));
		assert_int_equal(it_q_ll("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
		    NULL), 0);
	}

	/* alerts waiting in the spool are not overwritten unless told */
	snprintf(spool, sizeof(spool), "%s/spool", it_env("AC_STATE_DIR"));
	mkdir(spool, 0750);
	snprintf(spool, sizeof(spool), "%s/spool/hook.spool", it_env("AC_STATE_DIR"));
	assert_int_equal(access(spool, F_OK), -1);
	write_file(spool, "an alert not yet stored\n");
	json_decref(acctl(1, "restore", file, NULL));
	assert_int_equal(it_q_ll("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
	    NULL), 0);

	/* told: the set's spool (empty when it was made) replaces it */
	o = acctl(0, "restore", file, "--overwrite-spool", NULL);
	assert_int_equal(access(spool, F_OK), -1);
	assert_true(json_integer_value(json_object_get(o, "tables")) > 10);
	json_decref(o);
	after = fingerprint();
	assert_string_equal(after, before);
	assert_string_equal(read_file(proof, buf, sizeof(buf)), "proof of payment\n");

	/* the responders answer from the restored data, ingest stores again,
	 * and the sequences continue past the restored rows */
	assert_int_equal(api_balance(email[0], &balance), 200);
	assert_int_equal(balance, it_q_ll("SELECT credit_balance FROM users WHERE email = $1",
	    email[0], NULL));
	assert_int_equal(balance, 20 + 5 - 2);
	alert(&s, "BUY", 202);
	snprintf(buf, sizeof(buf), "it-backup-%s-new@example.com", hex);
	json_decref(acctl(0, "user", "add", "--email", buf, "--password", PW, NULL));
	assert_true(it_q_ll("SELECT id FROM users WHERE email = $1", buf, NULL) > id_before);
	free(before);
	free(after);
}

static void
test_retention_keeps_the_newest(void **state)
{
	static const char *const planted[] = {
		"alertcast-20200101T000000Z.tar", "alertcast-20200102T000000Z.tar",
		"alertcast-20200103T000000Z.tar",
	};
	char dir[1024], p[1200];
	const char *file;
	json_t *o;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/backups-retention", it_env("AC_TEST_OUT"));
	mkdir(dir, 0700);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, planted[i]);
		write_file(p, "old\n");
	}
	/* not sets: a half-written one and an operator's note stay */
	snprintf(p, sizeof(p), "%s/.alertcast-20200104T000000Z.tar.part", dir);
	write_file(p, "half\n");
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	write_file(p, "mine\n");

	o = acctl(0, "backup", "--dir", dir, "--keep", "2", NULL);
	file = json_string_value(json_object_get(o, "file"));
	assert_non_null(file);
	assert_int_equal(json_integer_value(json_object_get(o, "removed")), 2);
	assert_int_equal(access(file, R_OK), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, planted[i]);
		assert_int_equal(access(p, F_OK), i == 2 ? 0 : -1);
	}
	snprintf(p, sizeof(p), "%s/.alertcast-20200104T000000Z.tar.part", dir);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	assert_int_equal(access(p, F_OK), 0);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention_keeps_the_newest),
		cmocka_unit_test(test_backup_restore_round_trip),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	/* pg_dump and pg_restore of the server's major version */
	if (getenv("AC_PG_BINDIR") == NULL && access("/usr/lib/postgresql/15/bin/pg_dump", X_OK) == 0)
		setenv("AC_PG_BINDIR", "/usr/lib/postgresql/15/bin", 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
