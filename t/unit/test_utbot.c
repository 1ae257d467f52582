/* test_utbot.c — the UT Bot engine (lib/alert/utbot.h) against bars whose
 * ATR, trailing stop, EMA and signals were worked out by hand from the
 * script lib/alert/pine.c generates. Every value is asserted to 1e-9. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alert/utbot.h"

#define EPS	1e-9
#define N	AC_UTBOT_NONE
#define B	AC_UTBOT_BUY
#define S	AC_UTBOT_SELL

/* An expected bar: its OHLC, then ATR, stop, EMA (NAN: na) and signal. */
struct step {
	double			o, h, l, c;
	double			atr, stop, ema;
	enum ac_utbot_signal	sig;
};

static void
assert_value(double want, double got, size_t bar, const char *what)
{
	if (isnan(want) ? !isnan(got) : !(fabs(want - got) <= EPS))
		fail_msg("bar %zu: %s %.12g, expected %.12g", bar, what, got, want);
}

/* Feeds steps through an engine with p and checks each bar. */
static void
run(const struct ac_utbot_params *p, const struct step *st, size_t n)
{
	struct ac_utbot u;
	const char *errstr;

	assert_int_equal(ac_utbot_init(&u, p, &errstr), 0);
	for (size_t i = 0; i < n; i++) {
		struct ac_bar b = { (long long)i * 60, st[i].o, st[i].h, st[i].l, st[i].c, 0 };
		enum ac_utbot_signal sig = ac_utbot_feed(&u, &b);

		assert_value(st[i].atr, u.atr, i, "ATR");
		assert_value(st[i].stop, u.stop, i, "stop");
		assert_value(st[i].ema, u.ema, i, "EMA");
		if (sig != st[i].sig)
			fail_msg("bar %zu: signal %d, expected %d", i, sig, st[i].sig);
	}
}

/* c = 3: na for two bars, then the mean of three true ranges, then RMA. */
static void
test_first_atr_period(void **state)
{
	static const struct ac_utbot_params p = { 1, 3, 1, 0 };
	static const struct step st[] = {
		{ 10, 11, 9, 10, NAN, NAN, 10, N },		/* TR 2 (high - low) */
		{ 10, 12, 10, 11, NAN, NAN, 11, N },		/* TR 2 */
		{ 11, 14, 11, 13, 7.0 / 3, 13 - 7.0 / 3, 13, N },	/* TR 3: seed 7/3 */
		{ 13, 15, 12, 14, 23.0 / 9, 14 - 23.0 / 9, 14, N },	/* TR 3: 7/3*2/3 + 1 */
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* No movement: ATR 0, the stop sits on the price, nothing crosses. */
static void
test_flat_market(void **state)
{
	static const struct ac_utbot_params p = { 2, 3, 1, 0 };
	struct step st[50];

	(void)state;
	for (size_t i = 0; i < 50; i++)
		st[i] = (struct step){ 100, 100, 100, 100, i < 2 ? NAN : 0, i < 2 ? NAN : 100,
		    100, N };
	run(&p, st, 50);
}

/* A gap's true range reaches back to the previous close; a gap down
 * through the stop flips it above the price and is a SELL. */
static void
test_gap(void **state)
{
	static const struct ac_utbot_params p = { 1, 1, 1, 0 };
	static const struct step st[] = {
		{ 100, 101, 99, 100, 2, 98, 100, N },
		{ 110, 112, 110, 111, 12, 99, 111, N },		/* |112 - 100|, not 2 */
		{ 90, 91, 88, 89, 23, 112, 89, S },		/* |88 - 111| */
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* The same bars with and without Heikin-Ashi: src is (o+h+l+c)/4, the
 * ATR stays on the regular bars (12 from the regular close 100, where the
 * HA close 100.75 would give 11.25). */
static void
test_heikin_ashi(void **state)
{
	static const struct ac_utbot_params on = { 1, 1, 1, 1 }, off = { 1, 1, 1, 0 };
	static const struct step ha[] = {
		{ 100, 104, 99, 100, 5, 95.75, 100.75, N },
		{ 110, 112, 110, 111, 12, 98.75, 110.75, N },
	};
	static const struct step plain[] = {
		{ 100, 104, 99, 100, 5, 95, 100, N },
		{ 110, 112, 110, 111, 12, 99, 111, N },
	};

	(void)state;
	run(&on, ha, 2);
	run(&off, plain, 2);
}

/* EMA period 1: the line is src, and a BUY then a SELL come where src
 * crosses the stop. */
static void
test_buy_then_sell(void **state)
{
	static const struct ac_utbot_params p = { 1, 1, 1, 0 };
	static const struct step st[] = {
		{ 100, 101, 99, 100, 2, 98, 100, N },	/* first stop: no previous one */
		{ 90, 91, 89, 90, 11, 101, 90, S },
		{ 91, 92, 90, 91, 2, 93, 91, N },	/* min(101, 91 + 2) */
		{ 95, 100, 95, 99, 9, 90, 99, B },
		{ 99, 100, 98, 99.5, 2, 97.5, 99.5, N },	/* max(90, 99.5 - 2) */
		{ 99, 99, 90, 91, 9.5, 100.5, 91, S },	/* |90 - 99.5| */
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* EMA period 3 on the same bars: na for two bars (no SELL at bar 1), seeded
 * with the mean of three, alpha 0.5; its slower line misses the BUY. */
static void
test_ema_period(void **state)
{
	static const struct ac_utbot_params p = { 1, 1, 3, 0 };
	static const struct step st[] = {
		{ 100, 101, 99, 100, 2, 98, NAN, N },
		{ 90, 91, 89, 90, 11, 101, NAN, N },
		{ 91, 92, 90, 91, 2, 93, 281.0 / 3, N },
		{ 95, 100, 95, 99, 9, 90, 99 / 2.0 + 281.0 / 6, N },
		{ 99, 100, 98, 99.5, 2, 97.5, 99.5 / 2 + 99 / 4.0 + 281.0 / 12, N },
		{ 99, 99, 90, 91, 9.5, 100.5, 91 / 2.0 + 99.5 / 4 + 99 / 8.0 + 281.0 / 24, S },
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* ta.crossover wants "<=" on the bar before: a line that touched the
 * stop and then goes above it is a BUY. */
static void
test_cross_from_touch(void **state)
{
	static const struct ac_utbot_params p = { 1, 1, 1, 0 };
	static const struct step st[] = {
		{ 100, 100, 100, 100, 0, 100, 100, N },		/* stop = src: touching */
		{ 101, 102, 101, 102, 2, 100, 102, B },
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* The stop only tightens: math.max(prevStop, ...) holds a long's stop
 * when the ATR widens, math.min(prevStop, ...) a short's. */
static void
test_ratchet(void **state)
{
	static const struct ac_utbot_params p = { 1, 1, 1, 0 };
	static const struct step st[] = {
		{ 100, 101, 99, 100, 2, 98, 100, N },
		{ 101, 105, 99, 101, 6, 98, 101, N },		/* not 101 - 6 = 95 */
		{ 90, 91, 89, 90, 12, 102, 90, S },		/* |89 - 101| */
		{ 90, 100, 80, 90, 20, 102, 90, N },		/* not 90 + 20 = 110 */
	};

	(void)state;
	run(&p, st, sizeof(st) / sizeof(st[0]));
}

/* nz(src[1], 0) and nz(prevStop, 0): on the first bar the stop comes from
 * the third branch and may be negative; on the first bar with an ATR
 * after others, both src and src[1] are above 0, so it is max(0, ...). */
static void
test_first_stop(void **state)
{
	static const struct ac_utbot_params c1 = { 100, 1, 1, 0 }, c2 = { 100, 2, 1, 0 };
	static const struct step one[] = { { 100, 101, 99, 100, 2, -100, 100, N } };
	static const struct step two[] = {
		{ 100, 101, 99, 100, NAN, NAN, 100, N },
		{ 100, 101, 99, 100, 2, 0, 100, N },
	};

	(void)state;
	run(&c1, one, 1);
	run(&c2, two, 2);
}

/* With an EMA line slower than src, the line can cross the stop while src
 * is on the wrong side of it: "src > stop" / "src < stop" then keep the
 * signal back. Rising: the stop crosses over the line, src above it, no
 * SELL. Falling: the line crosses over the stop, src below it, no BUY. */
static void
test_src_side(void **state)
{
	static const struct ac_utbot_params p = { 0.1, 1, 3, 0 };
	static const struct step up[] = {
		{ 100, 100, 100, 100, 0, 100, NAN, N },
		{ 100, 100, 100, 100, 0, 100, NAN, N },
		{ 100, 100, 100, 100, 0, 100, 100, N },
		{ 100, 110, 100, 110, 10, 109, 105, N },
	};
	static const struct step down[] = {
		{ 100, 100, 100, 100, 0, 100, NAN, N },
		{ 100, 100, 100, 100, 0, 100, NAN, N },
		{ 100, 100, 100, 100, 0, 100, 100, N },
		{ 100, 100, 90, 90, 10, 91, 95, N },
	};

	(void)state;
	run(&p, up, 4);
	run(&p, down, 4);
}

static void
test_bad_params(void **state)
{
	struct ac_utbot u;
	const char *errstr;
	static const struct ac_utbot_params bad[] = {
		{ 0, 10, 1, 0 }, { NAN, 10, 1, 0 }, { 1, 0, 1, 0 }, { 1, 10, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ac_utbot_init(&u, &bad[i], &errstr), -1);
		assert_non_null(errstr);
	}
	assert_string_equal(ac_utbot_signal_name(AC_UTBOT_BUY), "buy");
	assert_string_equal(ac_utbot_signal_name(AC_UTBOT_SELL), "sell");
	assert_null(ac_utbot_signal_name(AC_UTBOT_NONE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_atr_period),
		cmocka_unit_test(test_flat_market),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_heikin_ashi),
		cmocka_unit_test(test_buy_then_sell),
		cmocka_unit_test(test_ema_period),
		cmocka_unit_test(test_cross_from_touch),
		cmocka_unit_test(test_ratchet),
		cmocka_unit_test(test_first_stop),
		cmocka_unit_test(test_src_side),
		cmocka_unit_test(test_bad_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
