/* test_acctl.c — the operator's tool against the real database: migrations
 * (idempotent, refusing changed or missing files), strategies, the demo,
 * an empty spool replay and credit adjustments. Every command prints JSON
 * or fails clearly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

/* Runs "AC_SQL_DIR=sql_dir acctl ARGS..." with the NULL-terminated
 * arguments (no single quotes in them); returns the exit status, stdout
 * parsed into *out (NULL if not JSON), stderr in err. */
static int
acctl_run(const char *sql_dir, json_t **out, char *err, size_t errsz, ...)
{
	char cmd[8192], errfile[] = "/tmp/ac-acctl-err.XXXXXX", outfile[] = "/tmp/ac-acctl-out.XXXXXX";
	const char *arg;
	va_list ap;
	FILE *f;
	size_t n;
	int st, efd = mkstemp(errfile), ofd = mkstemp(outfile);

	assert_true(efd >= 0 && ofd >= 0);
	n = (size_t)snprintf(cmd, sizeof(cmd), "AC_SQL_DIR='%s' '%s'", sql_dir,
	    it_env("AC_TEST_ACCTL"));
	va_start(ap, errsz);
	while ((arg = va_arg(ap, const char *)) != NULL && n < sizeof(cmd))
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " '%s'", arg);
	va_end(ap);
	assert_true(n < sizeof(cmd) - 128);
	snprintf(cmd + n, sizeof(cmd) - n, " >'%s' 2>'%s'", outfile, errfile);
	st = system(cmd);
	f = fopen(errfile, "r");
	n = f ? fread(err, 1, errsz - 1, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	*out = json_load_file(outfile, 0, NULL);
	unlink(errfile);
	unlink(outfile);
	close(efd);
	close(ofd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* acctl migrate with the migrations of dir (NULL: the runner's). */
static int
migrate_in(const char *dir, json_t **out, char *err, size_t errsz)
{
	return acctl_run(dir ? dir : it_env("AC_SQL_DIR"), out, err, errsz, "migrate",
	    (char *)NULL);
}

/* acctl with the NULL-terminated arguments, expected to fail: its exit
 * status, stderr in err. */
#define acctl_err(err, errsz, ...) \
	acctl_run(it_env("AC_SQL_DIR"), &(json_t *){ NULL }, err, errsz, __VA_ARGS__)

/* A private copy of the migrations folder; returns its path (static). */
static const char *
copy_sql(void)
{
	static char dir[] = "/tmp/ac-sql.XXXXXX";
	char cmd[4096];

	strcpy(dir, "/tmp/ac-sql.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s'/*.sql '%s'/", it_env("AC_SQL_DIR"), dir);
	assert_int_equal(system(cmd), 0);
	return dir;
}

static void
rm_rf(const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static size_t
count_sql(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strlen(de->d_name) > 4 && strcmp(de->d_name + strlen(de->d_name) - 4, ".sql") == 0;
	closedir(d);
	return n;
}

static void
test_migrate_is_idempotent(void **state)
{
	char err[2048];
	json_t *o;

	assert_int_equal(migrate_in(NULL, &o, err, sizeof(err)), 0);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "applied")), 0);
	assert_int_equal(json_array_size(json_object_get(o, "current")), count_sql(it_env("AC_SQL_DIR")));
	assert_int_equal(it_q_ll("SELECT count(*) FROM schema_migrations", (char *)NULL),
	    (long long)count_sql(it_env("AC_SQL_DIR")));
	json_decref(o);
}

static void
test_migrate_refuses_a_changed_file(void **state)
{
	const char *dir = copy_sql();
	char path[4096], err[2048], before[65];
	PGresult *res;
	json_t *o;
	FILE *f;

	res = it_q("SELECT checksum FROM schema_migrations WHERE name = '001_core.sql'", (char *)NULL);
	snprintf(before, sizeof(before), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(path, sizeof(path), "%s/001_core.sql", dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("-- edited after it was applied\n", f);
	fclose(f);
	assert_int_equal(migrate_in(dir, &o, err, sizeof(err)), 1);
	assert_null(o);
	assert_non_null(strstr(err, "001_core.sql changed after it was applied"));
	res = it_q("SELECT checksum FROM schema_migrations WHERE name = '001_core.sql'", (char *)NULL);
	assert_string_equal(PQgetvalue(res, 0, 0), before);
	PQclear(res);
	rm_rf(dir);
}

static void
test_migrate_refuses_a_missing_file(void **state)
{
	const char *dir = copy_sql();
	char path[4096], err[2048];
	json_t *o;

	snprintf(path, sizeof(path), "%s/002_accounts.sql", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(migrate_in(dir, &o, err, sizeof(err)), 1);
	assert_null(o);
	assert_non_null(strstr(err, "002_accounts.sql was applied but its file is missing"));
	rm_rf(dir);
}

static void
test_migrate_applies_a_new_file_atomically(void **state)
{
	const char *dir = copy_sql();
	char path[4096], err[2048];
	json_t *o;
	FILE *f;

	/* a failing migration changes nothing */
	snprintf(path, sizeof(path), "%s/990_bad.sql", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("CREATE TABLE it_migrate_probe (x int);\nSELECT no_such_function();\n", f);
	fclose(f);
	assert_int_equal(migrate_in(dir, &o, err, sizeof(err)), 1);
	assert_null(o);
	assert_non_null(strstr(err, "990_bad.sql failed"));
	assert_int_equal(it_q_ll("SELECT count(*) FROM pg_tables WHERE tablename = 'it_migrate_probe'",
	    (char *)NULL), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM schema_migrations WHERE name = '990_bad.sql'",
	    (char *)NULL), 0);
	assert_int_equal(unlink(path), 0);

	/* a good one is applied once, then current */
	snprintf(path, sizeof(path), "%s/991_probe.sql", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("CREATE TABLE it_migrate_probe (x int);\n", f);
	fclose(f);
	assert_int_equal(migrate_in(dir, &o, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(o, "applied")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "applied"), 0)),
	    "991_probe.sql");
	json_decref(o);
	assert_int_equal(migrate_in(dir, &o, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(o, "applied")), 0);
	json_decref(o);
	/* leave the database as the shipped files describe it */
	PQclear(it_q("DROP TABLE it_migrate_probe", (char *)NULL));
	PQclear(it_q("DELETE FROM schema_migrations WHERE name = '991_probe.sql'", (char *)NULL));
	rm_rf(dir);
}

static void
test_strategy_add(void **state)
{
	char sym[32], hex[9];
	const char *token, *url;
	json_t *o;
	int st;

	it_rand_hex(hex, 8);
	snprintf(sym, sizeof(sym), "binance:acct%s", hex);
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "240",
	    "--strategy", "UT Bot", "--key-value", "2.5", "--atr-period", "14", "--heikin-ashi",
	    "--actions", "BUY,SELL", (char *)NULL);
	assert_int_equal(st, 0);
	assert_non_null(o);
	token = json_string_value(json_object_get(o, "token"));
	url = json_string_value(json_object_get(o, "webhook_url"));
	assert_non_null(token);
	assert_int_equal(strlen(token), 43);
	assert_non_null(url);
	assert_non_null(strstr(url, "/hook/tv/"));
	assert_string_equal(url + strlen(url) - 43, token);
	assert_string_equal(json_string_value(json_object_get(o, "timeframe")), "4h");
	assert_non_null(strstr(json_string_value(json_object_get(o, "symbol")), "ACCT"));
	assert_int_equal(json_array_size(json_object_get(o, "enabled_actions")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "ut_bot"), "atr_period")), 14);
	assert_true(json_is_true(json_object_get(json_object_get(o, "ut_bot"), "heikin_ashi")));
	/* its Pine Script carries its parameters, and the steps its webhook URL */
	{
		char id[24];
		json_t *p;
		const char *script;

		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(o, "id")));
		p = it_acctl(&st, "strategy", "pine", id, (char *)NULL);
		assert_int_equal(st, 0);
		assert_string_equal(json_string_value(json_object_get(p, "webhook_url")), url);
		assert_non_null(script = json_string_value(json_object_get(p, "script")));
		assert_non_null(strstr(script, "//@version=5\n"));
		assert_non_null(strstr(script, "a = input.float(2.5, "));
		assert_non_null(strstr(script, "c = input.int(14, "));
		assert_non_null(strstr(script, "h = input.bool(true, "));
		assert_non_null(strstr(script, "\"strategy\":\"UT Bot\""));
		assert_non_null(strstr(script, "chart on the 240 interval"));
		assert_int_equal(json_array_size(json_object_get(p, "steps")), 4);
		json_decref(p);
		assert_null(it_acctl(&st, "strategy", "pine", "999999999", (char *)NULL));
		assert_int_equal(st, 1);
	}
	json_decref(o);

	/* the same (symbol, timeframe, strategy) again, and bad input: refused */
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "4h",
	    "--strategy", "UT Bot", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "add", "--symbol", "BTC/USDT", "--timeframe", "1h",
	    "--strategy", "x", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "add", "--symbol", "BTCUSDT", "--timeframe", "7m",
	    "--strategy", "x", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "add", "--symbol", "BTCUSDT", "--timeframe", "1h",
	    "--strategy", "x", "--actions", "BUY,HOLD", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE strategy = 'x'", (char *)NULL), 0);
}

/* A strategy made with no --required takes alerts without a time; its
 * duplicate window is 30 s unless --dedup-window says otherwise (when made
 * or edited), never more than half its bar. */
static void
test_strategy_defaults(void **state)
{
	char sym[32], hex[9], id[24];
	json_t *o, *req;
	int st;

	it_rand_hex(hex, 8);
	for (char *c = hex; *c; c++)
		*c = (char)(*c >= 'a' ? *c - 'a' + 'A' : *c);
	snprintf(sym, sizeof(sym), "DFLT%s", hex);
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "1m",
	    "--strategy", "Defaults", (char *)NULL);
	assert_int_equal(st, 0);
	assert_non_null(o);
	req = json_object_get(o, "required_fields");
	assert_int_equal(json_array_size(req), 4);
	for (size_t i = 0; i < json_array_size(req); i++)
		assert_string_not_equal(json_string_value(json_array_get(req, i)), "time");
	assert_int_equal(json_integer_value(json_object_get(o, "dedup_window_s")), 30);
	snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "id")));
	json_decref(o);
	/* edited: the window within half a 1m bar, the required set */
	o = it_acctl(&st, "strategy", "edit", "--id", id, "--dedup-window", "10",
	    "--required", "symbol,action,price,time", (char *)NULL);
	assert_int_equal(st, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "dedup_window_s")), 10);
	assert_int_equal(json_array_size(json_object_get(o, "required_fields")), 4);
	json_decref(o);
	o = it_acctl(&st, "strategy", "edit", "--id", id, "--dedup-window", "31", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "edit", "--id", "999999999", "--dedup-window", "5",
	    (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE id = $1"
	    " AND dedup_window_s = 10 AND 'time' = ANY(required_fields)", id, (char *)NULL), 1);
	/* the track record published and withdrawn; a bad value changes nothing */
	o = it_acctl(&st, "strategy", "edit", "--id", id, "--public-record", "yes", (char *)NULL);
	assert_int_equal(st, 0);
	assert_true(json_is_true(json_object_get(o, "public_record")));
	json_decref(o);
	o = it_acctl(&st, "strategy", "edit", "--id", id, "--public-record", "maybe",
	    "--dedup-window", "5", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE id = $1"
	    " AND public_record AND dedup_window_s = 10", id, (char *)NULL), 1);
	o = it_acctl(&st, "strategy", "edit", "--id", id, "--public-record", "no", (char *)NULL);
	assert_int_equal(st, 0);
	assert_true(json_is_false(json_object_get(o, "public_record")));
	json_decref(o);

	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "5m",
	    "--strategy", "Defaults", "--dedup-window", "150", (char *)NULL);
	assert_int_equal(st, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "dedup_window_s")), 150);
	json_decref(o);
	/* more than half a bar, none, or not a number: refused, nothing made */
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "15m",
	    "--strategy", "Defaults", "--dedup-window", "451", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "15m",
	    "--strategy", "Defaults", "--dedup-window", "0", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "15m",
	    "--strategy", "Defaults", "--dedup-window", "5s", (char *)NULL);
	assert_int_equal(st, 1);
	assert_null(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE symbol = $1", sym,
	    (char *)NULL), 2);
}

static void
test_seed_demo_is_idempotent(void **state)
{
	json_t *a, *b;
	struct it_resp r;
	char *sa, *sb, id[24], path[64];
	int st;

	a = it_acctl(&st, "seed-demo", (char *)NULL);
	assert_int_equal(st, 0);
	b = it_acctl(&st, "seed-demo", (char *)NULL);
	assert_int_equal(st, 0);
	assert_non_null(a);
	assert_non_null(b);
	sa = json_dumps(json_object_get(a, "strategies"), JSON_SORT_KEYS);
	sb = json_dumps(json_object_get(b, "strategies"), JSON_SORT_KEYS);
	assert_true(json_array_size(json_object_get(a, "strategies")) >= 1);
	assert_string_equal(sa, sb);	/* same strategies, same tokens */
	free(sa);
	free(sb);
	/* the first one's public track record: 40 past signals, once */
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(
	    json_array_get(json_object_get(a, "strategies"), 0), "id")));
	assert_int_equal(it_q_ll("SELECT count(*) FROM signals WHERE strategy_id = $1"
	    " AND idempotency_key LIKE 'demo:history:%' AND status = 'processed'", id, NULL), 40);
	assert_int_equal(it_q_ll("SELECT count(*) FROM strategies WHERE id = $1 AND public_record",
	    id, NULL), 1);
	snprintf(path, sizeof(path), "/strategies/%s/record", id);
	it_http(&r, "GET", path, NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "Signals sent"));
	it_resp_free(&r);
	json_decref(a);
	json_decref(b);
}

static void
test_replay_empty_spool(void **state)
{
	json_t *o;
	int st;

	o = it_acctl(&st, "replay-spool", (char *)NULL);
	assert_int_equal(st, 0);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "queued")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "kept")), 0);
	json_decref(o);
}

/* ---- credits adjust ------------------------------------------------------------ */

/* A new user (no credits) with a unique address, written into email. */
static void
user_new(char *email, size_t sz)
{
	char hex[13];
	json_t *o;
	int st;

	it_rand_hex(hex, 12);
	snprintf(email, sz, "adjust-%s@example.com", hex);
	o = it_acctl(&st, "user", "add", "--email", email, "--password", "correct horse 12",
	    (char *)NULL);
	if (st != 0 || o == NULL)
		fail_msg("acctl user add --email %s: exit %d", email, st);
	json_decref(o);
}

/* "balance:ledger_sum:rows" of the user, and their adjustment rows as
 * "amount/reason,..." oldest first. */
static void
ledger_of(const char *email, char *sum, size_t sumsz, char *rows, size_t rowsz)
{
	PGresult *res = it_q("SELECT u.credit_balance || ':' || (SELECT coalesce(sum(amount), 0)"
	    " FROM credit_ledger WHERE user_id = u.id) || ':' || (SELECT count(*) FROM"
	    " credit_ledger WHERE user_id = u.id), (SELECT coalesce(string_agg(amount || '/' ||"
	    " reference, ',' ORDER BY id), '') FROM credit_ledger WHERE user_id = u.id AND"
	    " kind = 'adjustment') FROM users u WHERE lower(email) = lower($1)", email, (char *)NULL);

	assert_int_equal(PQntuples(res), 1);
	snprintf(sum, sumsz, "%s", PQgetvalue(res, 0, 0));
	snprintf(rows, rowsz, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
}

static void
test_credits_adjust(void **state)
{
	char email[64], sum[64], rows[256], err[1024];
	json_t *o;
	int st;

	user_new(email, sizeof(email));
	o = it_acctl(&st, "credits", "adjust", "--email", email, "--amount", "+5",
	    "--reason", "goodwill for ticket 12", (char *)NULL);
	assert_int_equal(st, 0);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "balance")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "amount")), 5);
	json_decref(o);
	o = it_acctl(&st, "credits", "adjust", "--email", email, "--amount", "-3",
	    "--reason", "double grant on 3 May", "--key", "it-adjust-once", (char *)NULL);
	assert_int_equal(st, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "balance")), 2);
	json_decref(o);
	ledger_of(email, sum, sizeof(sum), rows, sizeof(rows));
	assert_string_equal(sum, "2:2:2");
	assert_string_equal(rows, "5/goodwill for ticket 12,-3/double grant on 3 May");

	/* the same key again changes nothing */
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "-3", "--reason", "double grant on 3 May", "--key", "it-adjust-once",
	    (char *)NULL), 0);
	assert_non_null(strstr(err, "--key"));

	/* a debit below zero is refused, naming the balance */
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "-100", "--reason", "too much", (char *)NULL), 0);
	if (strstr(err, "balance is 2") == NULL)
		fail_msg("-100 on a balance of 2: stderr %s, want it to name the balance", err);

	/* no reason, an empty one, a zero or bad amount, an unknown user */
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "-1", (char *)NULL), 0);
	assert_non_null(strstr(err, "--reason"));
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "-1", "--reason", "", (char *)NULL), 0);
	assert_non_null(strstr(err, "--reason"));
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "0", "--reason", "nothing", (char *)NULL), 0);
	assert_non_null(strstr(err, "--amount"));
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email", email,
	    "--amount", "-2x", "--reason", "typo", (char *)NULL), 0);
	assert_non_null(strstr(err, "--amount"));
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "adjust", "--email",
	    "nobody-here@example.com", "--amount", "-1", "--reason", "who", (char *)NULL), 0);
	assert_non_null(strstr(err, "nobody-here@example.com"));

	ledger_of(email, sum, sizeof(sum), rows, sizeof(rows));
	assert_string_equal(sum, "2:2:2");

	/* grant stays positive-only */
	assert_int_not_equal(acctl_err(err, sizeof(err), "credits", "grant", "--email", email,
	    "--amount", "-2", "--reason", "no", (char *)NULL), 0);
	assert_non_null(strstr(err, "credits adjust"));
}

/* acctl config: each setting with its source, secrets redacted; a value
 * out of its bounds is refused naming the setting. */
static void
test_config(void **state)
{
	char err[2048];
	json_t *o, *s;

	(void)state;
	setenv("AC_HOOK_THREADS", "8", 1);
	unsetenv("AC_API_PER_MINUTE");
	setenv("AC_JWT_SECRET", "it-very-secret-jwt-key", 1);
	assert_int_equal(acctl_run(it_env("AC_SQL_DIR"), &o, err, sizeof(err), "config",
	    (char *)NULL), 0);
	assert_non_null(o);
	s = json_object_get(o, "AC_HOOK_THREADS");
	assert_int_equal(json_integer_value(json_object_get(s, "value")), 8);
	assert_string_equal(json_string_value(json_object_get(s, "source")), "environment");
	s = json_object_get(o, "AC_API_PER_MINUTE");
	assert_int_equal(json_integer_value(json_object_get(s, "value")), 100);
	assert_string_equal(json_string_value(json_object_get(s, "source")), "default");
	s = json_object_get(o, "AC_SQL_DIR");
	assert_string_equal(json_string_value(json_object_get(s, "value")), it_env("AC_SQL_DIR"));
	s = json_object_get(o, "AC_JWT_SECRET");
	assert_string_equal(json_string_value(json_object_get(s, "value")), "(redacted)");
	assert_string_equal(json_string_value(json_object_get(s, "source")), "environment");
	json_decref(o);

	setenv("AC_HOOK_THREADS", "0", 1);
	assert_int_equal(acctl_err(err, sizeof(err), "config", (char *)NULL), 1);
	assert_non_null(strstr(err, "AC_HOOK_THREADS=0: too small (1 to 1024)"));
	assert_null(strstr(err, "it-very-secret-jwt-key"));
	unsetenv("AC_HOOK_THREADS");
	unsetenv("AC_JWT_SECRET");
}

/* The bars of a backtest: a SELL at bar 1, a BUY at 3, a SELL at 5, a BUY
 * at 8 for a strategy with key value 1, ATR period 1, EMA period 1
 * (t/unit/test_utbot.c works the first six out by hand); Unix and ISO
 * times mixed, as a re-saved export may have them. */
static const char backtest_csv[] =
    "time,open,high,low,close,Volume\n"
    "1704067200,100,101,99,100,10\n"
    "2024-01-01T01:00:00Z,90,91,89,90,10\n"
    "1704074400,91,92,90,91,10\n"
    "2024-01-01T06:00:00+03:00,95,100,95,99,10\n"
    "1704081600,99,100,98,99.5,10\n"
    "1704085200,99,99,90,91,10\n"
    "1704088800,91,91,60,60,10\n"
    "1704092400,60,61,59,60,10\n"
    "1704096000,60,70,60,70,10\n";

/* path (static) of a temporary file holding text. */
static const char *
write_tmp(const char *text)
{
	static char path[] = "/tmp/ac-bars.XXXXXX";
	int fd;

	strcpy(path, "/tmp/ac-bars.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A UT Bot strategy with a = 1, c = 1, e = 1 and default trade rules; its id. */
static void
backtest_strategy(char *id, size_t idsz)
{
	char sym[32], hex[9];
	json_t *o;
	int st;

	it_rand_hex(hex, 8);
	snprintf(sym, sizeof(sym), "binance:bt%s", hex);
	o = it_acctl(&st, "strategy", "add", "--symbol", sym, "--timeframe", "1h",
	    "--strategy", "UT Bot", "--key-value", "1", "--atr-period", "1", "--ema-period", "1",
	    (char *)NULL);
	assert_int_equal(st, 0);
	snprintf(id, idsz, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "id")));
	json_decref(o);
}

static void
assert_close(double want, const json_t *v)
{
	if (!json_is_number(v) || fabs(json_number_value(v) - want) > 1e-9)
		fail_msg("%.12g, expected %.12g", json_number_value(v), want);
}

/* acctl backtest: the signals at their bars' times, the trades the worker's
 * rules make of them (each signal closes the opposite trade and opens its
 * own), and the summary; --table prints the same; a bad line is named. */
static void
test_backtest(void **state)
{
	static const struct { const char *time, *action; double price; } sig[] = {
		{ "2024-01-01T01:00:00Z", "sell", 90 }, { "2024-01-01T03:00:00Z", "buy", 99 },
		{ "2024-01-01T05:00:00Z", "sell", 91 }, { "2024-01-01T08:00:00Z", "buy", 70 },
	};
	static const struct { const char *side; double entry, exit, pnl; } tr[] = {
		{ "SELL", 90, 99, -9 }, { "BUY", 99, 91, -8 }, { "SELL", 91, 70, 21 },
	};
	const char *csv = write_tmp(backtest_csv);
	char id[24], cmd[1024], out[8192], err[512];
	json_t *o, *s, *sum;
	FILE *p;
	size_t n;
	int st;

	(void)state;
	backtest_strategy(id, sizeof(id));
	o = it_acctl(&st, "backtest", "--strategy", id, "--bars", csv, (char *)NULL);
	assert_int_equal(st, 0);
	s = json_object_get(o, "signals");
	assert_int_equal(json_array_size(s), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(json_string_value(json_object_get(json_array_get(s, i), "time")),
		    sig[i].time);
		assert_string_equal(json_string_value(json_object_get(json_array_get(s, i), "action")),
		    sig[i].action);
		assert_close(sig[i].price, json_object_get(json_array_get(s, i), "price"));
	}
	s = json_object_get(o, "trades");
	assert_int_equal(json_array_size(s), 3);
	for (size_t i = 0; i < 3; i++) {
		const json_t *t = json_array_get(s, i);

		assert_string_equal(json_string_value(json_object_get(t, "side")), tr[i].side);
		assert_string_equal(json_string_value(json_object_get(t, "reason")), "OPPOSITE");
		assert_close(tr[i].entry, json_object_get(t, "entry"));
		assert_close(tr[i].exit, json_object_get(t, "exit"));
		assert_close(tr[i].pnl, json_object_get(t, "pnl"));
	}
	assert_int_equal(json_array_size(json_object_get(o, "open_trades")), 1);
	sum = json_object_get(o, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "bars")), 9);
	assert_int_equal(json_integer_value(json_object_get(sum, "trades")), 3);
	assert_int_equal(json_integer_value(json_object_get(sum, "wins")), 1);
	assert_close(100.0 / 3, json_object_get(sum, "win_rate_percent"));
	assert_close(4, json_object_get(sum, "total_pnl"));
	assert_close(4.0 / 3, json_object_get(sum, "average_pnl"));
	assert_close(17, json_object_get(sum, "max_drawdown"));
	json_decref(o);

	snprintf(cmd, sizeof(cmd), "'%s' backtest --strategy %s --bars '%s' --table",
	    it_env("AC_TEST_ACCTL"), id, csv);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "2024-01-01T08:00:00Z  buy"));
	assert_non_null(strstr(out, "win rate 33.33%"));
	assert_non_null(strstr(out, "max drawdown 17.000000"));

	unlink(csv);
	csv = write_tmp("time,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704070800,1,x,1,1\n");
	assert_int_not_equal(acctl_err(err, sizeof(err), "backtest", "--strategy", id, "--bars",
	    csv, (char *)NULL), 0);
	assert_non_null(strstr(err, "line 3: high is not a number: \"x\""));
	unlink(csv);
	assert_int_not_equal(acctl_err(err, sizeof(err), "backtest", "--strategy", "999999999",
	    "--bars", "/nonexistent", (char *)NULL), 0);
	assert_non_null(strstr(err, "no such strategy"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_is_idempotent),
		cmocka_unit_test(test_migrate_refuses_a_changed_file),
		cmocka_unit_test(test_migrate_refuses_a_missing_file),
		cmocka_unit_test(test_migrate_applies_a_new_file_atomically),
		cmocka_unit_test(test_strategy_add),
		cmocka_unit_test(test_strategy_defaults),
		cmocka_unit_test(test_seed_demo_is_idempotent),
		cmocka_unit_test(test_replay_empty_spool),
		cmocka_unit_test(test_credits_adjust),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_backtest),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
