/* test_backup — the names retention counts as backup sets (ac_backup_name_ok). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ops/backup.h"

static void
test_set_names(void **state)
{
	static const char *const yes[] = {
		"alertcast-20261202T031700Z.tar", "alertcast-19991231T235959Z.tar",
	};
	static const char *const no[] = {
		"", "alertcast-20261202T031700Z.tar.part", ".alertcast-20261202T031700Z.tar",
		"alertcast-20261202T031700.tar", "alertcast-2026120T031700Z.tar",
		"alertcast-20261202t031700Z.tar", "alertcast-2026-12-02T0317Z.tar",
		"alertcast-20261202T031700Z.tgz", "Alertcast-20261202T031700Z.tar",
		"alertcast-20261202T03170aZ.tar", "alertcast-20261202T031700Z.tar/",
		"notes.txt",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(ac_backup_name_ok(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (ac_backup_name_ok(no[i]))
			fail_msg("%s taken for a set", no[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
