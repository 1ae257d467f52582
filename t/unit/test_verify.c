/* test_verify.c — lib/alert/verify.c: a stored signal's bar, the
 * comparison (matched, missing, extra, on a different bar, an exact match
 * before a near one), the bars of a CSV text with its bad line named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert/verify.h"

static const struct ac_bar bars[] = {
	{ 0, 1, 1, 1, 1, 0 }, { 60, 1, 1, 1, 1, 0 }, { 120, 1, 1, 1, 1, 0 },
	{ 180, 1, 1, 1, 1, 0 },
};

/* Without an alert time, the bar that closed last before the arrival; an
 * alert time that is a bar's open is that bar; another alert time is read
 * like an arrival. */
static void
test_bar_of_signal(void **state)
{
	(void)state;
	assert_int_equal(ac_verify_bar(bars, 4, 60, 0, 59), -1);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 0, 60), 0);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 0, 119), 0);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 0, 121), 1);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 0, 10000), 3);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 120, 999), 2);
	assert_int_equal(ac_verify_bar(bars, 4, 60, 125, 999), 1);
	assert_int_equal(ac_verify_bar(bars, 0, 60, 0, 125), -1);
}

#define W(b, a)		{ (b), AC_UTBOT_##a, 0, 0, 0 }
#define G(b, a, id)	{ (b), AC_UTBOT_##a, (id), 1000 + (id), 0 }

/* Engine: BUY 2, SELL 5, BUY 9, SELL 20. Stored: BUY 2 (matched), SELL 7
 * (two bars late), BUY 14 (five bars from the nearest BUY: extra), SELL 20
 * (matched), SELL 30 (extra). BUY 9 was never stored (missing). */
static void
test_compare(void **state)
{
	struct ac_vsignal want[] = { W(2, BUY), W(5, SELL), W(9, BUY), W(20, SELL) };
	struct ac_vsignal got[] = { G(2, BUY, 11), G(7, SELL, 12), G(14, BUY, 13),
	    G(20, SELL, 14), G(30, SELL, 15) };
	struct ac_verify_diff d[9];
	struct ac_verify_sum sum;
	size_t n;

	(void)state;
	n = ac_verify_compare(want, 4, got, 5, AC_VERIFY_WINDOW, d, &sum);
	assert_int_equal(n, 4);
	assert_int_equal(sum.recomputed, 4);
	assert_int_equal(sum.stored, 5);
	assert_int_equal(sum.matched, 2);
	assert_int_equal(sum.moved, 1);
	assert_int_equal(sum.missing, 1);
	assert_int_equal(sum.extra, 2);
	/* by bar: the moved SELL (engine's bar 5), the missing BUY 9, the extras 14 and 30 */
	assert_int_equal(d[0].kind, AC_VERIFY_MOVED);
	assert_int_equal(d[0].action, AC_UTBOT_SELL);
	assert_int_equal(d[0].want_bar, 5);
	assert_int_equal(d[0].got_bar, 7);
	assert_int_equal(d[0].id, 12);
	assert_int_equal(d[0].at, 1012);
	assert_int_equal(d[1].kind, AC_VERIFY_MISSING);
	assert_int_equal(d[1].want_bar, 9);
	assert_int_equal(d[1].got_bar, -1);
	assert_int_equal(d[1].id, 0);
	assert_int_equal(d[2].kind, AC_VERIFY_EXTRA);
	assert_int_equal(d[2].got_bar, 14);
	assert_int_equal(d[2].id, 13);
	assert_int_equal(d[2].want_bar, -1);
	assert_int_equal(d[3].kind, AC_VERIFY_EXTRA);
	assert_int_equal(d[3].got_bar, 30);
	assert_string_equal(ac_verify_kind_name(d[0].kind), "different_bar");
	assert_string_equal(ac_verify_kind_name(d[1].kind), "missing");
	assert_string_equal(ac_verify_kind_name(d[2].kind), "extra");
}

/* A stored BUY on bar 5 is the engine's BUY on bar 5, not its BUY on bar
 * 4 one bar away (which is then missing); an action never pairs with the
 * other one; the same lists compare equal again (paired is reset). */
static void
test_exact_first(void **state)
{
	struct ac_vsignal want[] = { W(4, BUY), W(5, BUY), W(8, SELL) };
	struct ac_vsignal got[] = { G(5, BUY, 1), G(7, BUY, 2) };
	struct ac_vsignal same[] = { G(4, BUY, 3), G(5, BUY, 4), G(8, SELL, 5) };
	struct ac_verify_diff d[6];
	struct ac_verify_sum sum;
	size_t n;

	(void)state;
	n = ac_verify_compare(want, 3, got, 2, AC_VERIFY_WINDOW, d, &sum);
	assert_int_equal(sum.matched, 1);
	assert_int_equal(sum.moved, 1);		/* BUY 4 takes the stored BUY 7 */
	assert_int_equal(sum.missing, 1);	/* SELL 8 */
	assert_int_equal(sum.extra, 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].kind, AC_VERIFY_MOVED);
	assert_int_equal(d[0].want_bar, 4);
	assert_int_equal(d[0].got_bar, 7);
	assert_int_equal(d[1].kind, AC_VERIFY_MISSING);
	assert_int_equal(d[1].action, AC_UTBOT_SELL);
	for (int k = 0; k < 2; k++) {
		n = ac_verify_compare(want, 3, same, 3, AC_VERIFY_WINDOW, d, &sum);
		assert_int_equal(n, 0);
		assert_int_equal(sum.matched, 3);
	}
	/* window 0: nothing is on a different bar, only missing and extra */
	n = ac_verify_compare(want, 3, got, 2, 0, d, &sum);
	assert_int_equal(sum.moved, 0);
	assert_int_equal(sum.missing, 2);
	assert_int_equal(sum.extra, 1);
	assert_int_equal(n, 3);
}

/* The engine's signals land on the bars it gives them. */
static void
test_recompute(void **state)
{
	static const double closes[] = { 10, 11, 12, 13, 9, 8, 7, 12, 14, 15 };
	struct ac_utbot_params p = { 1, 1, 1, 0 };
	struct ac_bar b[10];
	struct ac_vsignal out[10];
	struct ac_utbot u, v;
	const char *errstr;
	size_t n, k = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		b[i] = (struct ac_bar){ i * 60, closes[i], closes[i] + 0.5, closes[i] - 0.5,
		    closes[i], 0 };
	assert_int_equal(ac_utbot_init(&u, &p, &errstr), 0);
	assert_int_equal(ac_utbot_init(&v, &p, &errstr), 0);
	n = ac_verify_recompute(&u, b, 10, out);
	assert_true(n >= 2);
	for (int i = 0; i < 10; i++) {
		enum ac_utbot_signal s = ac_utbot_feed(&v, &b[i]);

		if (s == AC_UTBOT_NONE)
			continue;
		assert_int_equal(out[k].bar, i);
		assert_int_equal(out[k].action, s);
		k++;
	}
	assert_int_equal(k, n);
}

/* A CSV text, CRLF or not, a last line without its newline; a bad line is
 * named by its number; a header alone has no bar. */
static void
test_bars(void **state)
{
	static const char good[] = "time,open,high,low,close\r\n60,1,2,0.5,1.5\r\n"
	    "120,1.5,2,1,1.8";
	static const char bad[] = "time,open,high,low,close\n60,1,2,0.5,1.5\n120,1,0.5,2,1\n";
	static const char none[] = "time,open,high,low,close\n";
	struct ac_bar *b;
	size_t n;
	char err[200];

	(void)state;
	assert_int_equal(ac_verify_bars(good, strlen(good), &b, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(b[1].time, 120);
	assert_true(b[1].close == 1.8);
	free(b);
	assert_int_equal(ac_verify_bars(bad, strlen(bad), &b, &n, err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(ac_verify_bars(none, strlen(none), &b, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no bar"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bar_of_signal),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_exact_first),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_bars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
