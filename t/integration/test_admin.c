/*
 * test_admin.c — what every page of ac-admin goes through, against the
 * real stack (nginx, ac-admin, PostgreSQL, Redis):
 *
 *	permissions	every row of `ac-admin --routes` names its permission; for
 *			each row, a session without that flag is refused (403) and
 *			one with only it is not; no session: a GET goes to the
 *			login page, a POST is refused
 *	login		the cookie (Path=/admin, HttpOnly, SameSite=Strict), a new
 *			token at each login, the previous login shown, logout
 *	lockout		five wrong passwords lock the account (the right one is
 *			refused too) until AC_LOCK_SECONDS pass; audit rows
 *	csrf		a POST without the token, with another token or from
 *			another origin changes nothing
 *	rights now	a password change, a flag taken away, a suspension count
 *			at the next request
 *	audit		the log page filters by who, action and target; the table
 *			refuses UPDATE and DELETE
 *	health		a dead job shows with its error, its retry makes it
 *			pending (audited); the providers' breakers are listed
 *
 * IT_ONLY=<pattern> runs the matching tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itportal.h"

/* ---- helpers ------------------------------------------------------------------ */

/* The rows of `ac-admin --routes`. */
struct row {
	char	method[8];
	char	path[160];
	char	perm[160];
};

static size_t
routes(struct row *rows, size_t max)
{
	char cmd[1200], line[400];
	const char *build = it_env("BUILD");
	size_t n = 0;
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "%s/cgi/ac-admin --routes", build);
	if ((fp = popen(cmd, "r")) == NULL)
		fail_msg("popen %s", cmd);
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		rows[n].perm[0] = '\0';
		if (sscanf(line, "%7s %159s %159s", rows[n].method, rows[n].path,
		    rows[n].perm) < 2)
			fail_msg("unreadable --routes line: %s", line);
		n++;
	}
	assert_int_equal(pclose(fp), 0);
	return n;
}

/* path with every '#' replaced by id. */
static void
path_with(char *out, size_t sz, const char *path, long long id)
{
	size_t o = 0;

	for (const char *p = path; *p != '\0' && o + 24 < sz; p++) {
		if (*p == '#')
			o += (size_t)snprintf(out + o, sz - o, "%lld", id);
		else
			out[o++] = *p;
	}
	out[o] = '\0';
}

/* The request of row as b: a GET, or a POST with b's token (and nothing else). */
static void
request(struct ib *b, struct it_resp *r, const struct row *row, const char *path)
{
	if (strcmp(row->method, "GET") == 0)
		ib_get(b, r, path);
	else
		ib_post(b, r, path, "");
}

/* Every flag but the one named. */
static void
all_but(char *out, size_t sz, const char *flag)
{
	static const char *const flags[] = { "users.view", "users.edit", "users.delete",
	    "subscriptions.view", "subscriptions.approve", "subscriptions.edit", "alerts.view",
	    "alerts.configure", "system.settings", "system.logs", NULL };
	size_t o = 0;

	out[0] = '\0';
	for (const char *const *f = flags; *f; f++)
		if (strcmp(*f, flag) != 0)
			o += (size_t)snprintf(out + o, sz - o, "%s%s", o ? "," : "", *f);
}

static long long
audit_count(const char *actor, const char *action)
{
	return it_q_ll("SELECT count(*) FROM audit_log WHERE actor = $1 AND action = $2", actor,
	    action, NULL);
}

/* ---- tests -------------------------------------------------------------------- */

/* Derived from the table: a row added tomorrow is covered without a test. */
static void
test_permissions(void **state)
{
	struct row rows[200];
	size_t n = routes(rows, 200), checked = 0;
	struct it_resp r;
	char path[256], perms[400], user[64];

	(void)state;
	assert_true(n >= 5);
	for (size_t i = 0; i < n; i++) {
		struct ib without = { 0 }, with = { 0 }, guest = { 0 };

		if (rows[i].perm[0] == '\0' || strcmp(rows[i].perm, "NONE") == 0)
			fail_msg("%s %s names no permission", rows[i].method, rows[i].path);
		path_with(path, sizeof(path), rows[i].path, 1);
		if (strcmp(rows[i].perm, "nobody") == 0)
			continue;
		/* no session */
		request(&guest, &r, &rows[i], path);
		if (strcmp(rows[i].method, "GET") == 0) {
			if (r.status != 303 || strcmp(it_header(&r, "Location", NULL),
			    "/admin/login") != 0)
				fail_msg("GET %s without a session: %ld", path, r.status);
		} else if (r.status != 403)
			fail_msg("POST %s without a session: %ld", path, r.status);
		it_resp_free(&r);
		if (strcmp(rows[i].perm, "signed-in") == 0)
			continue;
		/* every flag but this row's: refused */
		all_but(perms, sizeof(perms), rows[i].perm);
		assert_true(strchr(rows[i].perm, ',') == NULL);	/* one flag a row */
		ia_login(&without, perms, user);
		request(&without, &r, &rows[i], path);
		if (r.status != 403 || !it_has(&r, rows[i].perm))
			fail_msg("%s %s without %s: %ld", rows[i].method, path, rows[i].perm,
			    r.status);
		it_resp_free(&r);
		/* only this row's flag: let in (what happens then is the page's) */
		ia_login(&with, rows[i].perm, user);
		request(&with, &r, &rows[i], path);
		if (r.status == 403 || r.status == 0)
			fail_msg("%s %s with only %s: %ld %s", rows[i].method, path, rows[i].perm,
			    r.status, r.body);
		it_resp_free(&r);
		checked++;
	}
	print_message("permissions: %zu routes, %zu checked with and without their flag\n", n,
	    checked);
	assert_true(checked >= 2);
}

static void
test_login(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char user[64], first[64];

	(void)state;
	ia_login(&b, "users.view", user);
	/* the cookie */
	assert_non_null(strstr(b.admin_set_cookie, "Path=/admin"));
	assert_non_null(strstr(b.admin_set_cookie, "HttpOnly"));
	assert_non_null(strstr(b.admin_set_cookie, "SameSite=Strict"));
	assert_null(strstr(b.admin_set_cookie, "Secure"));	/* local http */
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE actor = $1"
	    " AND action = 'auth.login'", user, NULL), 1);
	ib_get(&b, &r, "/admin");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "This is your first login."));
	it_resp_free(&r);
	/* a second login: a new token, the old one ends; the first one is shown */
	snprintf(first, sizeof(first), "%s", b.admin);
	assert_int_equal(ia_login_as(&b, user, IT_ADMIN_PASSWORD), 303);
	assert_string_not_equal(first, b.admin);
	ib_get(&b, &r, "/admin");
	assert_true(it_has(&r, "Your previous login: "));
	assert_true(it_has(&r, " from 127.0."));
	it_resp_free(&r);
	{
		struct ib old = { 0 };

		snprintf(old.admin, sizeof(old.admin), "%s", first);
		ib_get(&old, &r, "/admin");
		assert_int_equal(r.status, 303);
		it_resp_free(&r);
	}
	/* a signed-in admin is sent home from the login page */
	ib_get(&b, &r, "/admin/login");
	assert_int_equal(r.status, 303);
	assert_string_equal(it_header(&r, "Location", NULL), "/admin");
	it_resp_free(&r);
	/* the subscribers' session is another thing: no admin page with it */
	{
		struct ib sub = { 0 };
		char email[128];

		ib_signup(&sub, "adm", "Not An Admin", "correct horse battery", email);
		ib_get(&sub, &r, "/admin");
		assert_int_equal(r.status, 303);
		assert_string_equal(it_header(&r, "Location", NULL), "/admin/login");
		it_resp_free(&r);
	}
	/* logout ends the session */
	ib_post(&b, &r, "/admin/logout", "");
	assert_int_equal(r.status, 303);
	assert_string_equal(it_header(&r, "Location", NULL), "/admin/login?done=logged_out");
	it_resp_free(&r);
	ib_get(&b, &r, "/admin");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	assert_int_equal(audit_count(user, "auth.logout"), 1);
}

static void
test_lockout(void **state)
{
	struct ib b = { 0 }, other = { 0 };
	struct it_resp r;
	char user[64];

	(void)state;
	ia_login(&b, "users.view", user);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ia_login_as(&other, user, "wrong password"), 401);
	}
	assert_int_equal(audit_count(user, "auth.login_failed"), 5);
	assert_int_equal(audit_count(user, "auth.locked"), 1);
	assert_true(it_q_ll("SELECT count(*) FROM admin_users WHERE username = $1"
	    " AND locked_until > now()", user, NULL) == 1);
	/* the right password while locked: the same answer */
	ib_get(&other, &r, "/admin/login");
	it_resp_free(&r);
	{
		char *form;

		if (asprintf(&form, "username=%s&password=%s", user,
		    "admin+password+1") == -1)
			abort();
		ib_post(&other, &r, "/admin/login", form);
		free(form);
	}
	assert_int_equal(r.status, 401);
	assert_true(it_has(&r, "locked for 15 minutes"));
	it_resp_free(&r);
	assert_string_equal(other.admin, "");
	/* an unknown name gets the same answer, and is logged */
	assert_int_equal(ia_login_as(&other, "nobody_here", "wrong password"), 401);
	assert_true(it_q_ll("SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed'"
	    " AND details->>'username_sha256' = left(encode(sha256('nobody_here'), 'hex'), 16)",
	    NULL) >= 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE details::text"
	    " LIKE '%nobody_here%'", NULL), 0);	/* what was typed is not kept */
	/* the lock ends (AC_LOCK_SECONDS=3 in the test stack) */
	sleep(4);
	assert_int_equal(ia_login_as(&other, user, IT_ADMIN_PASSWORD), 303);
	/* and the count starts again: four failures do not lock */
	for (int i = 0; i < 4; i++)
		assert_int_equal(ia_login_as(&other, user, "wrong password"), 401);
	assert_int_equal(ia_login_as(&other, user, IT_ADMIN_PASSWORD), 303);
}

static void
test_csrf(void **state)
{
	struct ib b = { 0 }, guest = { 0 };
	struct it_resp r;
	char user[64], good[64];
	long long id;

	(void)state;
	id = ia_login(&b, "system.logs,system.settings", user);
	(void)id;
	/* no token */
	ib_post_raw(&b, &r, "/admin/logout", "", it_env("AC_TEST_BASE_URL"));
	assert_int_equal(r.status, 403);
	assert_true(it_has(&r, "This form has expired"));
	it_resp_free(&r);
	/* another token */
	snprintf(good, sizeof(good), "%s", b.csrf);
	snprintf(b.csrf, sizeof(b.csrf), "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ib_post(&b, &r, "/admin/logout", "");
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	/* another origin, the right token */
	{
		char *form;

		if (asprintf(&form, "csrf=%s", good) == -1)
			abort();
		ib_post_raw(&b, &r, "/admin/logout", form, "https://evil.example");
		free(form);
	}
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	/* still signed in after all of it */
	snprintf(b.csrf, sizeof(b.csrf), "%s", good);
	ib_get(&b, &r, "/admin");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	assert_int_equal(audit_count(user, "auth.logout"), 0);
	/* the login form wants its own cookie's token */
	{
		char *form;

		if (asprintf(&form, "username=%s&password=admin+password+1", user) == -1)
			abort();
		ib_get(&guest, &r, "/admin/login");
		it_resp_free(&r);
		ib_post_raw(&guest, &r, "/admin/login", form, it_env("AC_TEST_BASE_URL"));
		assert_int_equal(r.status, 403);
		assert_string_equal(guest.admin, "");
		it_resp_free(&r);
		free(form);
	}
}

static void
test_rights_now(void **state)
{
	struct ib b = { 0 }, c = { 0 }, d = { 0 };
	struct it_resp r;
	char user[64], user2[64], user3[64];
	int status;
	json_t *o;

	(void)state;
	/* a new password ends the sessions */
	ia_login(&b, "system.logs", user);
	o = it_acctl(&status, "admin", "passwd", "--username", user, "--password",
	    "another password 2", NULL);
	assert_int_equal(status, 0);
	json_decref(o);
	ib_get(&b, &r, "/admin/health");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE actor = 'acctl'"
	    " AND action = 'admin.password' AND target = 'admin:' || (SELECT id FROM admin_users"
	    " WHERE username = $1)", user, NULL), 1);
	/* a flag taken away counts at the next request */
	ia_login(&c, "system.logs", user2);
	ib_get(&c, &r, "/admin/health");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	o = it_acctl(&status, "admin", "permissions", "--username", user2, "--permissions",
	    "users.view", NULL);
	assert_int_equal(status, 0);
	json_decref(o);
	ib_get(&c, &r, "/admin/health");
	assert_int_equal(r.status, 403);
	assert_true(it_has(&r, "system.logs"));
	it_resp_free(&r);
	/* an unknown flag is refused by acctl, nothing changes */
	o = it_acctl(&status, "admin", "permissions", "--username", user2, "--permissions",
	    "users.view,root", NULL);
	assert_int_not_equal(status, 0);
	json_decref(o);
	assert_int_equal(it_q_ll("SELECT count(*) FROM admin_users WHERE username = $1"
	    " AND permissions = '{users.view}'", user2, NULL), 1);
	/* a suspended account's session ends */
	ia_login(&d, "system.logs", user3);
	it_q_ll("WITH u AS (UPDATE admin_users SET status = 'suspended' WHERE username = $1"
	    " RETURNING 1) SELECT count(*) FROM u", user3, NULL);
	ib_get(&d, &r, "/admin/health");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	assert_int_equal(ia_login_as(&d, user3, IT_ADMIN_PASSWORD), 401);
}

static void
test_audit(void **state)
{
	struct ib b = { 0 }, x = { 0 };
	struct it_resp r;
	char user[64], other[64], path[256];
	PGresult *res;

	(void)state;
	ia_login(&x, "users.view", other);
	ia_login(&b, "system.logs", user);
	snprintf(path, sizeof(path), "/admin/audit?actor=%s", user);
	ib_get(&b, &r, path);
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, "auth.login"));
	assert_false(it_has(&r, other));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/audit?action=auth.&target=admin:%lld",
	    it_q_ll("SELECT id FROM admin_users WHERE username = $1", other, NULL));
	ib_get(&b, &r, path);
	assert_true(it_has(&r, other));
	{
		char cell[128];

		snprintf(cell, sizeof(cell), "href=\"/admin/audit?actor=%s\"", user);
		assert_false(it_has(&r, cell));
	}
	it_resp_free(&r);
	/* a filter that matches nothing */
	ib_get(&b, &r, "/admin/audit?action=no.such");
	assert_true(it_has(&r, "Nothing matches."));
	it_resp_free(&r);
	/* append-only */
	res = PQexec(it_db(), "UPDATE audit_log SET actor = 'x'");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
	PQclear(res);
	res = PQexec(it_db(), "DELETE FROM audit_log");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
}

static void
test_health(void **state)
{
	struct ib b = { 0 }, ro = { 0 };
	struct it_resp r;
	char user[64], user2[64], path[128], marker[32], hex[9];
	long long job;
	int status;
	json_t *o;
	pid_t w;

	(void)state;
	it_rand_hex(hex, 8);
	snprintf(marker, sizeof(marker), "boom-%s", hex);
	{
		char payload[96];

		snprintf(payload, sizeof(payload), "{\"fail\": \"%s\"}", marker);
		o = it_acctl(&status, "jobs", "enqueue", "--kind", "noop", "--payload", payload,
		    NULL);
		assert_int_equal(status, 0);
		json_decref(o);
	}
	job = it_q_ll("SELECT id FROM jobs WHERE kind = 'noop' AND payload->>'fail' = $1",
	    marker, NULL);
	w = it_worker_start("test_admin-worker.log", "--once", NULL);
	assert_int_equal(it_reap(w), 0);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE id = $1::bigint AND state = 'dead'",
	    it_ll(job), NULL), 1);
	ia_login(&b, "system.logs,system.settings", user);
	ib_get(&b, &r, "/admin/health");
	assert_int_equal(r.status, 200);
	assert_true(it_has(&r, marker));
	assert_true(it_has(&r, "id=\"breakers\""));
	assert_true(it_has(&r, "<td>telegram</td>"));
	assert_true(it_has(&r, "<td>onesignal</td>"));
	assert_true(it_has(&r, "<td>noop</td>"));
	it_resp_free(&r);
	/* retry without system.settings: refused, the job stays dead */
	snprintf(path, sizeof(path), "/admin/jobs/%lld/retry", job);
	ia_login(&ro, "system.logs", user2);
	ib_get(&ro, &r, "/admin/health");
	assert_false(it_has(&r, path));	/* no button either */
	it_resp_free(&r);
	ib_post(&ro, &r, path, "");
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	/* retry */
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 303);
	it_resp_free(&r);
	assert_int_equal(it_q_ll("SELECT count(*) FROM jobs WHERE id = $1::bigint"
	    " AND state = 'pending' AND attempts = 0", it_ll(job), NULL), 1);
	assert_int_equal(it_q_ll("SELECT count(*) FROM audit_log WHERE actor = $1"
	    " AND action = 'job.retry' AND target = 'job:' || $2", user, it_ll(job),
	    NULL), 1);
	/* a second retry: nothing to retry */
	ib_post(&b, &r, path, "");
	assert_int_equal(r.status, 409);
	it_resp_free(&r);
	assert_int_equal(audit_count(user, "job.retry"), 1);
	/* the job fails again and is dead again (the worker takes it) */
	w = it_worker_start("test_admin-worker.log", "--once", NULL);
	assert_int_equal(it_reap(w), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_rights_now),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_health),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	if (getenv("IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("IT_ONLY"));
	srandom((unsigned)(time(NULL) ^ getpid()));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
