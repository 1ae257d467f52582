/* test_track.c — lib/alert/track.c on hand-computed trades: win rate,
 * PnL per month, the equity points and their cap, the maximum drawdown,
 * the SVG chart; and stored signals (TP/SL hits, exits) through one
 * virtual account (backtest.c's ac_backtest_apply) into the record. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert/track.h"

#define EPS	1e-9
#define JAN	1767225600LL	/* 2026-01-01T00:00:00Z */
#define DAY	86400LL

static void
closed_at(struct ac_track *t, long long when, double pnl_percent)
{
	struct ac_bt_trade tr = { AC_SIDE_BUY, when - DAY, when, 100, 100 + pnl_percent,
	    pnl_percent, pnl_percent, AC_EXIT_SIGNAL };

	ac_track_closed(&tr, t);
}

/* +10 and -5 in January, -10 in February, +20 in March: equity 10, 5,
 * -5, 15; the peak 10 then the low -5 is a drawdown of 15 points. */
static void
test_figures(void **state)
{
	struct ac_track_point pts[8];
	struct ac_track t;

	(void)state;
	ac_track_init(&t, pts, 8);
	assert_true(ac_track_win_rate(&t) == 0);
	closed_at(&t, JAN + 2 * DAY, 10);
	closed_at(&t, JAN + 20 * DAY, -5);
	closed_at(&t, JAN + 40 * DAY, -10);
	closed_at(&t, JAN + 70 * DAY, 20);
	assert_int_equal(t.trades, 4);
	assert_int_equal(t.wins, 2);
	assert_true(fabs(ac_track_win_rate(&t) - 0.5) < EPS);
	assert_true(fabs(t.equity - 15) < EPS);
	assert_true(fabs(t.max_drawdown - 15) < EPS);
	assert_int_equal(t.nmonths, 3);
	assert_int_equal(t.months[0].year, 2026);
	assert_int_equal(t.months[0].month, 1);
	assert_int_equal(t.months[0].trades, 2);
	assert_int_equal(t.months[0].wins, 1);
	assert_true(fabs(t.months[0].pnl_percent - 5) < EPS);
	assert_int_equal(t.months[1].month, 2);
	assert_true(fabs(t.months[1].pnl_percent + 10) < EPS);
	assert_int_equal(t.months[1].wins, 0);
	assert_int_equal(t.months[2].month, 3);
	assert_true(fabs(t.months[2].pnl_percent - 20) < EPS);
	assert_int_equal(t.npoints, 4);
	assert_true(fabs(t.points[2].equity + 5) < EPS);
	assert_int_equal(t.points[3].time, JAN + 70 * DAY);
}

/* Only rising equity: no drawdown. Past its room the last point is
 * replaced, so the curve still ends at the final equity. */
static void
test_no_drawdown_and_cap(void **state)
{
	struct ac_track_point pts[2];
	struct ac_track t;

	(void)state;
	ac_track_init(&t, pts, 2);
	for (int i = 1; i <= 4; i++)
		closed_at(&t, JAN + i * DAY, 1);
	assert_true(t.max_drawdown == 0);
	assert_int_equal(t.npoints, 2);
	assert_true(fabs(t.points[1].equity - 4) < EPS);
	assert_int_equal(t.points[1].time, JAN + 4 * DAY);
}

/* The chart: an SVG with the curve from 0 through each point, its dates
 * and extremes as labels, and nothing that runs. */
static void
test_svg(void **state)
{
	struct ac_track_point pts[4];
	struct ac_track t;
	char *svg;
	const char *p;
	int n = 0;

	(void)state;
	ac_track_init(&t, pts, 4);
	closed_at(&t, JAN + 10 * DAY, 10);
	closed_at(&t, JAN + 20 * DAY, -30);
	svg = ac_track_svg(&t, JAN, 960, 320);
	assert_non_null(svg);
	assert_true(strncmp(svg, "<svg ", 5) == 0);
	assert_non_null(strstr(svg, "</svg>"));
	assert_null(strstr(svg, "<script"));
	assert_null(strstr(svg, " on"));
	assert_non_null(strstr(svg, "2026-01-01"));
	assert_non_null(strstr(svg, "2026-01-21"));
	assert_non_null(strstr(svg, "+10.00 %"));
	assert_non_null(strstr(svg, "-20.00 %"));
	p = strstr(svg, "points=\"");
	assert_non_null(p);
	for (p += 8; *p != '"'; p++)
		n += *p == ',';
	assert_int_equal(n, 3);		/* the start at 0 and the two trades */
	free(svg);
}

/* Stored signals as the record follows them: BUY 100 (TP 110, SL 95) hit
 * its take profit at 110 (+10 %), SELL 200 closed by a BUY at 210 (-5 %)
 * which opens a BUY, closed by EXIT_LONG at 189 (-10 %); a TP_HIT with
 * nothing open changes nothing. */
static void
test_stored_signals(void **state)
{
	static const struct ac_trade_settings set = { 3, 0, 1, 1, 1 };
	static const struct ac_trade_signal sig[] = {
		{ AC_ACTION_BUY, 100, 110, 95 }, { AC_ACTION_TP_HIT, 110, 0, 0 },
		{ AC_ACTION_TP_HIT, 111, 0, 0 }, { AC_ACTION_SELL, 200, 0, 0 },
		{ AC_ACTION_BUY, 210, 0, 0 }, { AC_ACTION_EXIT_LONG, 189, 0, 0 },
	};
	struct ac_track_point pts[8];
	struct ac_backtest bt;
	struct ac_track t;

	(void)state;
	ac_track_init(&t, pts, 8);
	ac_backtest_init(&bt, &set, ac_track_closed, &t);
	for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
		ac_backtest_apply(&bt, &sig[i], JAN + (long long)i * DAY);
	assert_int_equal(bt.sum.signals, 6);
	assert_int_equal(t.trades, 3);
	assert_int_equal(t.wins, 1);
	assert_int_equal(bt.nopen, 0);
	assert_true(fabs(t.points[0].equity - 10) < EPS);
	assert_true(fabs(t.points[1].equity - 5) < EPS);
	assert_true(fabs(t.equity + 5) < EPS);
	assert_true(fabs(t.max_drawdown - 15) < EPS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures),
		cmocka_unit_test(test_no_drawdown_and_cap),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_stored_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
