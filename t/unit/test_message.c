/* test_message.c — notification templates (lib/deliver/message.c): filling, the
 * errors, and the cache that reads an edited file again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/message.h"

static char dir[] = "/tmp/test_message.XXXXXX";

/* Writes <dir>/messages/<name>.txt (by rename, as an editor may, when
 * replace). */
static void
put(const char *name, const char *text, int replace)
{
	char path[512], tmp[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/messages/%s.txt", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	assert_non_null(f = fopen(replace ? tmp : path, "w"));
	fputs(text, f);
	fclose(f);
	if (replace)
		assert_int_equal(rename(tmp, path), 0);
}

static int
setup(void **state)
{
	char sub[256];

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/messages", dir);
	if (mkdir(sub, 0755) == -1)
		return -1;
	ac_message_set_dir(dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	ac_message_set_dir(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_fill(void **state)
{
	struct ac_var v[] = { { "symbol", "BTCUSDT" }, { "price", "42000" }, { "none", NULL } };
	struct ac_err e;
	char *out;

	put("entry", "{{symbol}} at {{ price }}{{none}}!", 0);
	out = ac_message_render("entry", v, 3, &e);
	assert_non_null(out);
	assert_string_equal(out, "BTCUSDT at 42000!");
	free(out);
	/* the engine's sections over the variables: a text is truthy unless "" */
	put("sect", "{{#symbol}}<{{symbol}}>{{/symbol}}{{^none}}-{{/none}}{{#none}}x{{/none}}", 0);
	out = ac_message_render("sect", v, 3, &e);
	assert_non_null(out);
	assert_string_equal(out, "<BTCUSDT>-");
	free(out);
}

static void
test_errors(void **state)
{
	struct ac_var v[] = { { "symbol", "X" } };
	struct ac_err e;

	assert_null(ac_message_render("missing", v, 1, &e));
	assert_non_null(strstr(e.message, "missing.txt"));
	put("unknown", "{{symbol}} {{price}}", 0);
	assert_null(ac_message_render("unknown", v, 1, &e));
	assert_non_null(strstr(e.message, "unknown placeholder {{price}}"));
	put("unclosed", "{{symbol", 0);
	assert_null(ac_message_render("unclosed", v, 1, &e));
	assert_non_null(strstr(e.message, "unclosed"));
}

/* An edited template is used within about a second, whether rewritten in
 * place with the same size or replaced by a new file. */
static void
test_edit_read_again(void **state)
{
	struct ac_var v[] = { { "x", "1" } };
	struct ac_err e;
	char *out;

	put("edit", "AAAA {{x}}", 0);
	out = ac_message_render("edit", v, 1, &e);
	assert_string_equal(out, "AAAA 1");
	free(out);
	put("edit", "BBBB {{x}}", 0);	/* same size */
	usleep(1100 * 1000);
	out = ac_message_render("edit", v, 1, &e);
	assert_string_equal(out, "BBBB 1");
	free(out);
	put("edit", "CCCC {{x}}", 1);
	usleep(1100 * 1000);
	out = ac_message_render("edit", v, 1, &e);
	assert_string_equal(out, "CCCC 1");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_edit_read_again),
	};

	return cmocka_run_group_tests_name("message", tests, setup, teardown);
}
