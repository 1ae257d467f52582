/*
 * backtest.h — one virtual account following a strategy's signals, through
 * the same virtual-trade rules the worker applies to a subscriber (trade.h).
 * acctl backtest feeds it the UT Bot signals over past bars; the track
 * record (record.h) the stored signals, each at its price and levels:
 * each BUY/SELL the engine gives at a bar's close is a signal priced at
 * that close, without take profit or stop loss (the UT Bot alerts carry
 * none), planned by ac_trade_plan() against the trades it left open, with
 * the strategy's settings and no plan limit (a backtest is of the
 * strategy, not of one subscriber's plan). Pure: no I/O, no allocation;
 * closed trades go to a callback as they close.
 *
 * The summary: closed trades, wins (PnL > 0), total and average PnL per
 * unit and in percent of entry, and the maximum drawdown of the realized
 * equity (cumulative PnL per unit, from 0): the largest fall from a peak.
 */
#ifndef AC_BACKTEST_H
#define AC_BACKTEST_H

#include "alert/utbot.h"
#include "alert/trade.h"

struct ac_bt_trade {
	enum ac_side		side;
	long long		entry_time, exit_time;
	double			entry, exit, pnl, pnl_percent;
	enum ac_exit_reason	reason;
};

struct ac_bt_summary {
	long	signals, trades, wins;
	double	total_pnl, total_pnl_percent, max_drawdown;
};

typedef void (*ac_bt_closed_fn)(const struct ac_bt_trade *t, void *arg);

struct ac_backtest {
	struct ac_trade_settings	set;
	struct ac_open_trade		open[AC_TRADE_OPEN_MAX];
	long long			open_time[AC_TRADE_OPEN_MAX];
	int				nopen;
	long long			next_id;
	double				equity, peak;
	struct ac_bt_summary		sum;
	ac_bt_closed_fn			closed;
	void				*arg;
};

/* Starts a backtest with the strategy's trade settings; closed (may be
 * NULL) hears of each trade as it closes. */
void	ac_backtest_init(struct ac_backtest *bt, const struct ac_trade_settings *set,
	    ac_bt_closed_fn closed, void *arg);

/* Applies sig (BUY or SELL) at bar b's close; the plan's refusal
 * (AC_REFUSE_NONE when it opened or closed something). */
enum ac_trade_refusal ac_backtest_signal(struct ac_backtest *bt, enum ac_utbot_signal sig,
	    const struct ac_bar *b);

/* Applies any signal (a stored one: TP/SL hits and exits too) at time
 * when; the plan's refusal, as ac_backtest_signal(). */
enum ac_trade_refusal ac_backtest_apply(struct ac_backtest *bt, const struct ac_trade_signal *s,
	    long long when);

/* Averages of a summary (0 without trades). */
double	ac_bt_win_rate(const struct ac_bt_summary *s);
double	ac_bt_average_pnl(const struct ac_bt_summary *s);

#endif
