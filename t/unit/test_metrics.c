/* test_metrics.c — the exposition writer: label values and HELP texts
 * escaped, histograms cumulative with le="+Inf", _sum and _count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "base/metrics.h"

static void
test_escaping(void **state)
{
	struct ac_buf b = AC_BUF_INIT;

	(void)state;
	ac_metric_head(&b, "alertcast_x_total", "counter", "Back\\slash and\nnewline \"kept\".");
	ac_metric_sample(&b, "alertcast_x_total", (const char *[]){ "provider", "a\"b\\c\nd",
	    "status", "sent", NULL }, 42);
	assert_string_equal(b.p,
	    "# HELP alertcast_x_total Back\\\\slash and\\nnewline \"kept\".\n"
	    "# TYPE alertcast_x_total counter\n"
	    "alertcast_x_total{provider=\"a\\\"b\\\\c\\nd\",status=\"sent\"} 42\n");
	ac_buf_free(&b);
}

static void
test_values(void **state)
{
	struct ac_buf b = AC_BUF_INIT;

	(void)state;
	ac_metric_sample(&b, "a", NULL, 0.25);
	ac_metric_sample(&b, "b", NULL, NAN);
	ac_metric_sample(&b, "c", NULL, INFINITY);
	ac_metric_sample(&b, "d", NULL, 1700000000);
	ac_metric_sample(&b, "e", (const char *[]){ NULL }, -3);
	assert_string_equal(b.p, "a 0.25\nb NaN\nc +Inf\nd 1700000000\ne -3\n");
	ac_buf_free(&b);
}

static void
test_histogram(void **state)
{
	static const double bounds[] = { 0.1, 0.5, 2 };
	const uint64_t counts[] = { 3, 0, 2, 1 };
	struct ac_buf b = AC_BUF_INIT;

	(void)state;
	ac_metric_histogram(&b, "alertcast_t_seconds", (const char *[]){ "route", "tv", NULL },
	    bounds, counts, 3, 4.5);
	assert_string_equal(b.p,
	    "alertcast_t_seconds_bucket{route=\"tv\",le=\"0.1\"} 3\n"
	    "alertcast_t_seconds_bucket{route=\"tv\",le=\"0.5\"} 3\n"
	    "alertcast_t_seconds_bucket{route=\"tv\",le=\"2\"} 5\n"
	    "alertcast_t_seconds_bucket{route=\"tv\",le=\"+Inf\"} 6\n"
	    "alertcast_t_seconds_sum{route=\"tv\"} 4.5\n"
	    "alertcast_t_seconds_count{route=\"tv\"} 6\n");
	ac_buf_reset(&b);
	ac_metric_histogram(&b, "h", NULL, bounds, (const uint64_t[]){ 0, 0, 0, 0 }, 3, 0);
	assert_non_null(strstr(b.p, "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n"));
	ac_buf_free(&b);
}

static void
test_bucket(void **state)
{
	static const double bounds[] = { 0.1, 0.5, 2 };

	(void)state;
	assert_int_equal(ac_metric_bucket(bounds, 3, 0), 0);
	assert_int_equal(ac_metric_bucket(bounds, 3, 0.1), 0);	/* le: bound included */
	assert_int_equal(ac_metric_bucket(bounds, 3, 0.11), 1);
	assert_int_equal(ac_metric_bucket(bounds, 3, 2), 2);
	assert_int_equal(ac_metric_bucket(bounds, 3, 9), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
