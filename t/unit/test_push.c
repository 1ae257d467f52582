/* test_push.c — a OneSignal subscription id is a UUID and nothing else:
 * the shape POST /account/push accepts before anything is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "account/push.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_ok),
		cmocka_unit_test(test_id_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
