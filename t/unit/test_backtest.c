/* test_backtest.c — lib/alert/backtest.c: signals through the worker's
 * trade rules (replacement at the limit, opposite closes, refusals), the
 * trades as they close, and the summary's win rate, PnL and drawdown. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alert/backtest.h"

#define EPS	1e-9

struct seen {
	int			n;
	struct ac_bt_trade	t[8];
};

static void
closed(const struct ac_bt_trade *t, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	s->t[s->n++] = *t;
}

static enum ac_trade_refusal
at(struct ac_backtest *bt, enum ac_utbot_signal sig, long long time, double close)
{
	struct ac_bar b = { time, close, close, close, close, 0 };

	return ac_backtest_signal(bt, sig, &b);
}

/* Two may be open: the third BUY replaces the oldest, then a SELL closes
 * both (oldest first) and opens itself. */
static void
test_replace_and_opposite(void **state)
{
	static const struct ac_trade_settings set = { 2, 1, 1, 1, 1 };
	struct ac_backtest bt;
	struct seen s = { 0 };

	(void)state;
	ac_backtest_init(&bt, &set, closed, &s);
	assert_int_equal(at(&bt, AC_UTBOT_BUY, 10, 100), AC_REFUSE_NONE);
	assert_int_equal(at(&bt, AC_UTBOT_BUY, 20, 110), AC_REFUSE_NONE);
	assert_int_equal(at(&bt, AC_UTBOT_BUY, 30, 105), AC_REFUSE_NONE);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.t[0].reason, AC_EXIT_REPLACED);
	assert_int_equal(s.t[0].entry_time, 10);
	assert_int_equal(s.t[0].exit_time, 30);
	assert_true(fabs(s.t[0].pnl - 5) < EPS);
	assert_true(fabs(s.t[0].pnl_percent - 5) < EPS);	/* plan_max 1 ignored: no plan */
	assert_int_equal(at(&bt, AC_UTBOT_SELL, 40, 100), AC_REFUSE_NONE);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.t[1].entry_time, 20);
	assert_true(fabs(s.t[1].pnl + 10) < EPS);
	assert_int_equal(s.t[2].entry_time, 30);
	assert_true(fabs(s.t[2].pnl + 5) < EPS);
	assert_int_equal(s.t[2].reason, AC_EXIT_OPPOSITE);
	assert_int_equal(bt.nopen, 1);
	assert_int_equal(bt.open[0].side, AC_SIDE_SELL);
	assert_int_equal(bt.sum.signals, 4);
	assert_int_equal(bt.sum.trades, 3);
	assert_int_equal(bt.sum.wins, 1);
	assert_true(fabs(bt.sum.total_pnl + 10) < EPS);
	assert_true(fabs(ac_bt_average_pnl(&bt.sum) + 10.0 / 3) < EPS);
	assert_true(fabs(ac_bt_win_rate(&bt.sum) - 1.0 / 3) < EPS);
	/* equity 5, -5, -10: the fall from the peak of 5 */
	assert_true(fabs(bt.sum.max_drawdown - 15) < EPS);
}

/* Without allow_opposite or replace the rules refuse, and nothing moves. */
static void
test_refusals(void **state)
{
	static const struct ac_trade_settings set = { 1, 0, 0, 0, 1 };
	struct ac_backtest bt;
	struct seen s = { 0 };

	(void)state;
	ac_backtest_init(&bt, &set, closed, &s);
	assert_int_equal(at(&bt, AC_UTBOT_BUY, 10, 100), AC_REFUSE_NONE);
	assert_int_equal(at(&bt, AC_UTBOT_SELL, 20, 90), AC_REFUSE_OPPOSITE_OPEN);
	assert_int_equal(at(&bt, AC_UTBOT_BUY, 30, 95), AC_REFUSE_LIMIT);
	assert_int_equal(s.n, 0);
	assert_int_equal(bt.nopen, 1);
	assert_true(bt.open[0].entry == 100);
	assert_int_equal(bt.sum.signals, 3);
	assert_int_equal(bt.sum.trades, 0);
	assert_true(ac_bt_win_rate(&bt.sum) == 0 && ac_bt_average_pnl(&bt.sum) == 0);
}

/* Drawdown is from the highest equity reached, and a new high resets it:
 * trades +5, -3, -4, +10, -2 give equity 5, 2, -2, 8, 6: drawdown 7. */
static void
test_drawdown(void **state)
{
	static const struct ac_trade_settings set = { 1, 0, 1, 1, 1 };
	static const double closes[] = { 100, 105, 108, 104, 94, 92 };
	struct ac_backtest bt;

	(void)state;
	ac_backtest_init(&bt, &set, NULL, NULL);
	for (int i = 0; i < 6; i++)
		at(&bt, i % 2 ? AC_UTBOT_SELL : AC_UTBOT_BUY, i, closes[i]);
	assert_int_equal(bt.sum.trades, 5);
	assert_int_equal(bt.sum.wins, 2);
	assert_true(fabs(bt.sum.total_pnl - 6) < EPS);
	assert_true(fabs(bt.sum.max_drawdown - 7) < EPS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_and_opposite),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_drawdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
