/* test_spool.c — the spool keeps every appended request until a replay
 * took it, in order, across stops, torn lines and concurrent appenders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crypto.h"
#include "alert/spool.h"

struct seen {
	int		 n;
	int		 stop_after;	/* answer STOP once n reaches this (0: never) */
	char		 bodies[2000][64];
	size_t		 lens[2000];
	int64_t		 ms[2000];
	char		 tokens[2000][65];
};

static enum ac_spool_verdict
collect(const struct ac_spool_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->stop_after && s->n >= s->stop_after)
		return AC_SPOOL_STOP;
	assert_true(e->len < sizeof(s->bodies[0]));
	memcpy(s->bodies[s->n], e->body, e->len);
	s->lens[s->n] = e->len;
	s->ms[s->n] = e->received_ms;
	snprintf(s->tokens[s->n], sizeof(s->tokens[0]), "%s", e->token_sha256);
	s->n++;
	return AC_SPOOL_DONE;
}

static int
setup(void **state)
{
	char *dir = strdup("/tmp/ac-spool-XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	assert_int_equal(system(cmd), 0);
	free(*state);
	return 0;
}

static void
append_n(const char *dir, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char body[64], tok[32];
		struct ac_spool_entry e = { .token_sha256 = tok, .content_type = "application/json",
			.remote_addr = "127.0.0.1", .request_id = "r", .body = body, .received_ms = 1000 + i };

		snprintf(tok, sizeof(tok), "tok%d", i);
		e.len = (size_t)snprintf(body, sizeof(body), "{\"n\":%d}", i);
		assert_int_equal(ac_spool_append(dir, &e), 0);
	}
}

static int
exists(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/spool/%s", dir, name);
	return stat(p, &st) == 0;
}

static void
test_roundtrip_in_order(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;

	assert_false(ac_spool_pending(dir));
	append_n(dir, 0, 50);
	assert_true(ac_spool_pending(dir));
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(st.done, 50);
	assert_int_equal(st.kept, 0);
	assert_int_equal(st.corrupt, 0);
	assert_int_equal(s->n, 50);
	for (int i = 0; i < 50; i++) {
		char want[64], tok[32];

		snprintf(want, sizeof(want), "{\"n\":%d}", i);
		snprintf(tok, sizeof(tok), "tok%d", i);
		assert_int_equal(s->lens[i], strlen(want));
		assert_memory_equal(s->bodies[i], want, s->lens[i]);
		assert_int_equal(s->ms[i], 1000 + i);
		assert_string_equal(s->tokens[i], tok);
	}
	assert_false(ac_spool_pending(dir));
	assert_false(exists(dir, "hook.spool.replaying"));
	assert_false(exists(dir, "hook.spool.offset"));
	free(s);
}

static void
test_binary_body(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;
	const char body[] = { 'a', 0, '\n', (char)0xff, (char)0xc3, '"', '\\', 'z' };
	struct ac_spool_entry e = { .token_sha256 = "", .content_type = "", .remote_addr = "",
		.request_id = "", .body = body, .len = sizeof(body), .received_ms = 7 };
	struct ac_spool_entry empty = e;

	empty.len = 0;
	empty.body = "";
	assert_int_equal(ac_spool_append(dir, &e), 0);
	assert_int_equal(ac_spool_append(dir, &empty), 0);
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->lens[0], sizeof(body));
	assert_memory_equal(s->bodies[0], body, sizeof(body));
	assert_int_equal(s->lens[1], 0);
	free(s);
}

static void
test_stop_keeps_the_rest(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;

	append_n(dir, 0, 10);
	s->stop_after = 4;	/* the database goes away after four */
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(st.done, 4);
	assert_int_equal(st.kept, 6);
	assert_true(ac_spool_pending(dir));
	append_n(dir, 10, 3);	/* new alerts arrive meanwhile */
	s->stop_after = 0;
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(st.done, 9);
	assert_int_equal(s->n, 13);
	for (int i = 0; i < 13; i++)	/* each exactly once, in arrival order */
		assert_int_equal(s->ms[i], 1000 + i);
	assert_false(ac_spool_pending(dir));
	free(s);
}

static void
test_torn_line_is_skipped(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;
	char p[512];
	int fd;

	append_n(dir, 0, 2);
	snprintf(p, sizeof(p), "%s/spool/hook.spool", dir);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"v\":1,\"tok", 11), 11);	/* a crash mid-write */
	close(fd);
	append_n(dir, 2, 2);	/* must start on a line of its own */
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.done, 4);
	assert_int_equal(s->ms[2], 1002);
	assert_int_equal(s->ms[3], 1003);
	free(s);
}

static void
test_concurrent_appenders(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;
	int seen[800] = { 0 };
	pid_t pids[4];

	for (int k = 0; k < 4; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			append_n(dir, k * 200, 200);
			_exit(0);
		}
	}
	/* a replayer racing the appenders takes whatever has arrived */
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	for (int k = 0; k < 4; k++) {
		int wst;

		assert_int_equal(waitpid(pids[k], &wst, 0), pids[k]);
		assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	}
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(s->n, 800);
	for (int i = 0; i < 800; i++) {
		int64_t n = s->ms[i] - 1000;

		assert_true(n >= 0 && n < 800);
		seen[n]++;
	}
	for (int i = 0; i < 800; i++)
		assert_int_equal(seen[i], 1);
	free(s);
}

static void
test_unwritable_state_dir(void **state)
{
	struct ac_spool_entry e = { .token_sha256 = "", .content_type = "", .remote_addr = "",
		.request_id = "", .body = "x", .len = 1 };

	assert_int_equal(ac_spool_append("/proc/no/such/dir", &e), -1);
}

/* A line of the first format held the token itself: it is replayed as the
 * token's hash, and the next lines are of the new format. */
static void
test_first_format_read_as_hash(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;
	char path[512], want[65];
	FILE *f;

	append_n(dir, 0, 1);
	snprintf(path, sizeof(path), "%s/spool/hook.spool", dir);
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"v\":1,\"token\":\"old-token\",\"content_type\":\"\",\"remote_addr\":\"\","
	    "\"request_id\":\"r\",\"received_ms\":5,\"len\":2,\"body\":\"e30=\"}\n", f);
	fclose(f);
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->tokens[0], "tok0");
	ac_sha256_hex("old-token", strlen("old-token"), want);
	assert_string_equal(s->tokens[1], want);
	assert_memory_equal(s->bodies[1], "{}", 2);
	free(s);
}

static int slow_fd = -1;	/* the pipe test_wait_for_replayer's child tells */

/* A replayer that holds its entries: says so on slow_fd, then takes 200 ms. */
static enum ac_spool_verdict
slow(const struct ac_spool_entry *e, void *arg)
{
	(void)e;
	(void)arg;
	if (write(slow_fd, "x", 1) != 1)
		_exit(3);
	usleep(200 * 1000);
	return AC_SPOOL_DONE;
}

/* While another replayer (a process of its own, like ac-hook) is at work,
 * ac_spool_replay() says busy and takes nothing; ac_spool_replay_wait()
 * returns only after the other finished (it took what arrived meanwhile
 * too), and itself replays what is there. */
static void
test_wait_for_replayer(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct ac_spool_stats st;
	int fds[2], wst;
	char c[4];
	pid_t pid;

	append_n(dir, 0, 2);
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct ac_spool_stats cst;

		close(fds[0]);
		slow_fd = fds[1];
		_exit(ac_spool_replay(dir, slow, NULL, &cst) == 0 && cst.done == 3 ? 0 : 1);
	}
	assert_true(pid > 0);
	close(fds[1]);
	assert_int_equal(read(fds[0], c, 1), 1);	/* it holds the first entry */
	append_n(dir, 2, 1);				/* one more arrives meanwhile */
	assert_int_equal(ac_spool_replay(dir, collect, s, &st), 0);
	assert_int_equal(st.busy, 1);
	assert_int_equal(s->n, 0);
	assert_int_equal(ac_spool_replay_wait(dir, collect, s, &st), 0);
	assert_int_equal(st.busy, 0);
	assert_int_equal(s->n, 0);
	/* it had taken all three before it let go of the lock */
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(fds[0], c, sizeof(c)), 2);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	append_n(dir, 3, 1);
	assert_int_equal(ac_spool_replay_wait(dir, collect, s, &st), 0);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->ms[0], 1003);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_keeps_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appenders, setup, teardown),
		cmocka_unit_test(test_unwritable_state_dir),
		cmocka_unit_test_setup_teardown(test_first_format_read_as_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_for_replayer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
