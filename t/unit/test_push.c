/* test_push.c — a OneSignal subscription id is a UUID and nothing else
 * (the shape POST /account/push accepts before anything is stored), and
 * the account page (cgi/templates/account.html) has the push card, with
 * the app and the user's id on its button, only when push is offered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/push.h"
#include "web/html.h"

static void
test_id_ok(void **state)
{
	assert_true(ac_push_id_ok("1dd608f2-c6a1-11e3-851d-000c2940e62c"));
	assert_true(ac_push_id_ok("1DD608F2-C6A1-11E3-851D-000C2940E62C"));
	assert_true(ac_push_id_ok("00000000-0000-0000-0000-000000000000"));
	(void)state;
}

static void
test_id_refused(void **state)
{
	static const char *const bad[] = {
		"", "player-7", "1dd608f2c6a111e3851d000c2940e62c",	/* no dashes */
		"1dd608f2-c6a1-11e3-851d-000c2940e62",		/* one short */
		"1dd608f2-c6a1-11e3-851d-000c2940e62cc",	/* one long */
		"1dd608f2-c6a1-11e3-851d-000c2940e62g",		/* not hex */
		"1dd608f2-c6a1-11e3-851d0-00c2940e62c",		/* a dash moved */
		" 1dd608f2-c6a1-11e3-851d-000c2940e62",		/* a space */
		"1dd608f2-c6a1-11e3-851d-000c2940e62\n",
		"{1dd608f2-c6a1-11e3-851d-000c2940e6}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ac_push_id_ok(bad[i]));
	assert_false(ac_push_id_ok(NULL));
	(void)state;
}

/* The account page over the JSON text ctx (malloc'd). */
static char *
account(const char *ctx)
{
	char dir[1024];
	const char *src = getenv("srcdir");
	struct ac_html *h;
	json_t *c = json_loads(ctx, 0, NULL);
	struct ac_err e;
	size_t len;
	char *out;

	snprintf(dir, sizeof(dir), "%s/cgi/templates", src ? src : ".");
	assert_non_null(c);
	assert_non_null(h = ac_html_new(dir));
	out = ac_html_render(h, "account", c, &len, &e);
	if (out == NULL)
		fail_msg("account.html: %s", e.message);
	ac_html_free(h);
	json_decref(c);
	return out;
}

static void
test_card_offered(void **state)
{
	char *out = account("{\"csrf\": \"tok\", \"u\": {\"id\": 42, \"notifications\":"
	    " {\"push\": true}}, \"push\": {\"app_id\": \"5eb5a37e-b458-11e3-ac11-000c2940e62c\","
	    " \"external_id\": \"42\", \"linked\": false}}");

	assert_non_null(strstr(out, "id=\"push-enable\" data-app-id=\"5eb5a37e-b458-11e3-ac11-"
	    "000c2940e62c\" data-external-id=\"42\""));
	assert_non_null(strstr(out, "<script src=\"/static/js/push.js\" defer></script>"));
	assert_non_null(strstr(out, "id=\"push-unlinked\""));
	assert_null(strstr(out, "/account/push/unlink"));
	free(out);
	out = account("{\"csrf\": \"tok\", \"u\": {\"id\": 42}, \"push\": {\"app_id\":"
	    " \"a\\\"b\", \"external_id\": \"42\", \"linked\": true, \"max\": 5, \"devices\":"
	    " [{\"id\": 7, \"label\": \"Chrome on <Android>\", \"linked_at\": \"2026-12-01\"},"
	    " {\"id\": 9, \"label\": \"Safari on iPhone\", \"linked_at\": \"2026-12-02\"}]}}");
	assert_non_null(strstr(out, "id=\"push-linked\""));
	/* each device by name, with its own Remove form and the page's token */
	assert_non_null(strstr(out, "action=\"/account/push/7/unlink\"><input type=\"hidden\""
	    " name=\"csrf\" value=\"tok\">"));
	assert_non_null(strstr(out, "action=\"/account/push/9/unlink\""));
	assert_non_null(strstr(out, "Chrome on &lt;Android&gt;"));
	assert_non_null(strstr(out, "linked 2026-12-02"));
	assert_non_null(strstr(out, "up to 5"));
	assert_non_null(strstr(out, "data-app-id=\"a&quot;b\""));
	free(out);
	(void)state;
}

static void
test_card_absent(void **state)
{
	char *out = account("{\"csrf\": \"tok\", \"u\": {\"id\": 42}, \"push\": null}");

	assert_null(strstr(out, "Push notifications"));
	assert_null(strstr(out, "push-enable"));
	assert_null(strstr(out, "push.js"));
	free(out);
	(void)state;
}

/* A device's label names its browser and system from the User-Agent. */
static void
test_label(void **state)
{
	static const char *const cases[][2] = {
		{ "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
		    " Chrome/120.0.0.0 Mobile Safari/537.36", "Chrome on Android" },
		{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
		    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari on iPhone" },
		{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
		    " Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge on Windows" },
		{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101"
		    " Firefox/120.0", "Firefox on a Mac" },
		{ "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
		    " HeadlessChrome/120.0.0.0 Safari/537.36", "Chrome on Linux" },
		{ "curl/7.88.1", "a browser" },
		{ "", "a browser" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ac_push_label(cases[i][0], out, sizeof(out)), cases[i][1]);
	assert_string_equal(ac_push_label(NULL, out, sizeof(out)), "a browser");
	/* never longer than the buffer (the column takes 60) */
	assert_string_equal(ac_push_label(cases[0][0], out, 8), "Chrome ");
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_ok),
		cmocka_unit_test(test_id_refused),
		cmocka_unit_test(test_card_offered),
		cmocka_unit_test(test_card_absent),
		cmocka_unit_test(test_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
