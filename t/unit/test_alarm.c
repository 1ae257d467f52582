/*
 * test_alarm.c — cmocka tests for ac_alarm_check() (lib/account/alarm.c),
 * the one check of an alarm's input the portal, the API and acctl share:
 * the channel set, the price filters, and the error it fills (code and
 * field, which callers branch on).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "account/alarm.h"

#define NROWS(t)	(sizeof(t) / sizeof((t)[0]))

static void
test_check(void **state)
{
	static const struct {
		const char	*channels, *min, *max;
		const char	*field;		/* NULL: accepted */
	} rows[] = {
		{ "telegram", NULL, NULL, NULL },
		{ "email,telegram,sms,push", "", "", NULL },
		{ "email, sms", "0.5", "42000", NULL },
		{ "email", "42", "42", NULL },
		{ NULL, NULL, NULL, "channels" },
		{ "", NULL, NULL, "channels" },
		{ "fax", NULL, NULL, "channels" },
		{ "email,fax", NULL, NULL, "channels" },
		{ "email", "0", NULL, "min_price" },
		{ "email", "-1", NULL, "min_price" },
		{ "email", ".5", NULL, "min_price" },
		{ "email", "1.2.3", NULL, "min_price" },
		{ "email", NULL, "abc", "max_price" },
		{ "email", "10", "9.99", "max_price" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		struct ac_alarm_in in = { .channels = rows[i].channels, .min_price = rows[i].min,
		    .max_price = rows[i].max };
		struct ac_err e = { 0 };
		int rc = ac_alarm_check(&in, &e);

		if (rows[i].field == NULL) {
			assert_int_equal(rc, 0);
			assert_int_equal(e.code, AC_OK);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(e.code, AC_E_INVALID);
			assert_non_null(e.field);
			assert_string_equal(e.field, rows[i].field);
			assert_true(strlen(e.message) > 0);
		}
	}
}

/* Empty prices become NULL: no filter. */
static void
test_empty_prices(void **state)
{
	struct ac_alarm_in in = { .channels = "email", .min_price = "", .max_price = "" };

	(void)state;
	assert_int_equal(ac_alarm_check(&in, NULL), 0);
	assert_null(in.min_price);
	assert_null(in.max_price);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_empty_prices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
