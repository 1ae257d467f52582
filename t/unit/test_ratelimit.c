/* test_ratelimit.c — the Redis counters fail open: with Redis away every
 * call answers -1 at once, and no reconnect is tried for a while. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/log.h"
#include "web/ratelimit.h"
#include "base/util.h"

static void
test_redis_away(void **state)
{
	int64_t t0;
	int ttl = -7;

	/* port 1 on loopback: refused at once */
	ac_rate_init("redis://127.0.0.1:1", 200);
	assert_int_equal(ac_rate_hit("k", 60, &ttl), -1);
	assert_int_equal(ttl, -7);
	t0 = ac_mono_ms();
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(ac_rate_hit("k", 60, NULL), -1);
		assert_int_equal(ac_rate_count("k"), -1);
		ac_rate_reset("k");
	}
	assert_true(ac_mono_ms() - t0 < 500);
	ac_rate_init("not a url", 200);
	assert_int_equal(ac_rate_count("k"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_away),
	};

	ac_log_init("test_ratelimit", AC_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
