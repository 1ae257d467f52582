/* backtest.c — see backtest.h. */
#include <string.h>

#include "alert/backtest.h"

void
ac_backtest_init(struct ac_backtest *bt, const struct ac_trade_settings *set,
    ac_bt_closed_fn closed, void *arg)
{
	memset(bt, 0, sizeof(*bt));
	bt->set = *set;
	bt->set.plan_max_open = 0;
	bt->next_id = 1;
	bt->closed = closed;
	bt->arg = arg;
}

/* One trade left open[i]: into the summary, the equity and the callback. */
static void
book(struct ac_backtest *bt, int i, const struct ac_trade_change *ch, long long when)
{
	struct ac_bt_trade t = { bt->open[i].side, bt->open_time[i], when, bt->open[i].entry,
	    ch->exit_price, ch->pnl, ch->pnl_percent, ch->reason };

	bt->sum.trades++;
	bt->sum.wins += t.pnl > 0;
	bt->sum.total_pnl += t.pnl;
	bt->sum.total_pnl_percent += t.pnl_percent;
	bt->equity += t.pnl;
	if (bt->equity > bt->peak)
		bt->peak = bt->equity;
	if (bt->peak - bt->equity > bt->sum.max_drawdown)
		bt->sum.max_drawdown = bt->peak - bt->equity;
	if (bt->closed != NULL)
		bt->closed(&t, bt->arg);
}

/* The plan applied as the worker does: closes and replacements leave the
 * open list (order kept, oldest first), then the OPEN joins at its end. */
static void
apply(struct ac_backtest *bt, const struct ac_trade_plan *p, long long when)
{
	int gone[AC_TRADE_OPEN_MAX] = { 0 }, n = 0;

	for (int j = 0; j < p->nchanges; j++)
		if (p->changes[j].op != AC_OP_OPEN) {
			book(bt, p->changes[j].index, &p->changes[j], when);
			gone[p->changes[j].index] = 1;
		}
	for (int i = 0; i < bt->nopen; i++)
		if (!gone[i]) {
			bt->open[n] = bt->open[i];
			bt->open_time[n++] = bt->open_time[i];
		}
	bt->nopen = n;
	if (p->nchanges > 0 && p->changes[p->nchanges - 1].op == AC_OP_OPEN &&
	    bt->nopen < AC_TRADE_OPEN_MAX) {
		bt->open[n] = (struct ac_open_trade){ bt->next_id++, p->side, p->entry, p->tp, p->sl };
		bt->open_time[n] = when;
		bt->nopen++;
	}
}

enum ac_trade_refusal
ac_backtest_apply(struct ac_backtest *bt, const struct ac_trade_signal *s, long long when)
{
	struct ac_trade_plan p;

	bt->sum.signals++;
	ac_trade_plan(&bt->set, bt->open, bt->nopen, s, &p);
	apply(bt, &p, when);
	return p.refusal;
}

enum ac_trade_refusal
ac_backtest_signal(struct ac_backtest *bt, enum ac_utbot_signal sig, const struct ac_bar *b)
{
	struct ac_trade_signal s = { sig == AC_UTBOT_BUY ? AC_ACTION_BUY : AC_ACTION_SELL,
	    b->close, 0, 0 };

	return ac_backtest_apply(bt, &s, b->time);
}

double
ac_bt_win_rate(const struct ac_bt_summary *s)
{
	return s->trades > 0 ? (double)s->wins / s->trades : 0;
}

double
ac_bt_average_pnl(const struct ac_bt_summary *s)
{
	return s->trades > 0 ? s->total_pnl / s->trades : 0;
}
