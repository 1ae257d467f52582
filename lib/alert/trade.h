/*
 * trade.h — virtual trades: what one signal does to one user's open trades
 * on one strategy. Pure functions: no I/O, no allocation, no globals.
 *
 * The rules (seed 003 "trade management", issue 3):
 *  - BUY/SELL opens a trade at the signal price with the signal's take
 *    profit and stop loss, which must lie on the trade's side (BUY: tp above
 *    and sl below the entry; SELL: the reverse).
 *  - Open trades of the other side: with allow_opposite they are all closed
 *    first (OPPOSITE, at the signal price); without it the signal opens
 *    nothing and closes nothing (refusal OPPOSITE_OPEN).
 *  - Never more open than the limit, min(strategy max, plan max). Below the
 *    limit a same-direction signal opens another trade. At the limit, with
 *    replace_on_same_signal, it replaces the OLDEST open trade (REPLACED at
 *    the signal price; the new trade's id goes in its replaced_by); without
 *    it nothing changes (refusal LIMIT). Replacement happens only at the
 *    limit: below it there is room, and opening keeps the older trades.
 *  - TP_HIT / SL_HIT (when auto_close_on_tp_sl; otherwise refusal
 *    NO_AUTO_CLOSE) closes, at the signal price, the user's open trades on
 *    the strategy whose level the price reached: TP_HIT a BUY whose
 *    take_profit <= price and a SELL whose take_profit >= price; SL_HIT a
 *    BUY whose stop_loss >= price and a SELL whose stop_loss <= price. A
 *    trade without the level the alert names (no take_profit for a TP_HIT)
 *    is closed too: the alert is the strategy saying its position ended,
 *    and the trade has no level of its own to hold it open. Only a trade
 *    whose level is known and not reached stays open (nothing closed:
 *    refusal NOT_REACHED). An alert always carries a price (ac_alert_parse
 *    requires it); a signal without one (price <= 0) has nothing to close
 *    at and closes nothing (refusal BAD_LEVELS), as before. The price is
 *    the alert's: one priced at the bar's close after an intrabar hit may
 *    fall short of the level and leave the trade open, so a TP/SL alert
 *    should send the order's price ({{strategy.order.price}}).
 *  - EXIT_LONG / EXIT_SHORT (the strategy went flat from a long / a short)
 *    closes the user's open BUY / SELL trades at the signal price, EXIT
 *    all of them (reason EXIT, whatever auto_close_on_tp_sl says: the
 *    trader closed, no level was hit); it opens nothing. Nothing of that
 *    side open: refusal NOTHING_OPEN.
 *  - PnL per unit: BUY exit - entry, SELL entry - exit; percent = amount /
 *    entry * 100. Every close and replacement carries its PnL.
 * The signal's kind, which the alarm toggles filter on: entry (BUY/SELL),
 * replacement (BUY/SELL that replaced a trade), exit (TP_HIT/SL_HIT and
 * the EXIT actions).
 */
#ifndef AC_TRADE_H
#define AC_TRADE_H

#include "alert/tv.h"

/* Open trades a plan looks at: a limit is at most 5, so more than this
 * many open trades never happen; callers pass at most this many. */
#define AC_TRADE_OPEN_MAX 8

enum ac_side { AC_SIDE_BUY = 0, AC_SIDE_SELL };

enum ac_exit_reason {
	AC_EXIT_NONE = 0,
	AC_EXIT_TP_HIT,
	AC_EXIT_SL_HIT,
	AC_EXIT_REPLACED,
	AC_EXIT_OPPOSITE,
	AC_EXIT_MANUAL,
	AC_EXIT_SIGNAL		/* the strategy's exit (EXIT_LONG, EXIT_SHORT, EXIT) */
};

enum ac_signal_kind { AC_KIND_ENTRY = 0, AC_KIND_EXIT, AC_KIND_REPLACEMENT, AC_KIND__MAX };

enum ac_trade_refusal {
	AC_REFUSE_NONE = 0,
	AC_REFUSE_LIMIT,		/* at the limit and replace_on_same_signal is off */
	AC_REFUSE_OPPOSITE_OPEN,	/* opposite trades open, allow_opposite is off */
	AC_REFUSE_NO_AUTO_CLOSE,	/* TP/SL hit, auto_close_on_tp_sl is off */
	AC_REFUSE_NOTHING_OPEN,		/* TP/SL hit or exit, no open trade (of its side) */
	AC_REFUSE_BAD_LEVELS,		/* price <= 0, or TP/SL on the wrong side */
	AC_REFUSE_NOT_REACHED		/* TP/SL hit, no open trade's level reached */
};

/* One open trade; tp/sl 0 when unset. Passed oldest first. */
struct ac_open_trade {
	long long	id;
	enum ac_side	side;
	double		entry, tp, sl;
};

struct ac_trade_settings {
	int	max_open;		/* the strategy's max_open_trades (1-5) */
	int	plan_max_open;		/* the plan's max open trades; <= 0: no plan limit */
	int	allow_opposite;
	int	replace_same;
	int	auto_close;
};

struct ac_trade_signal {
	enum ac_action	action;
	double		price, tp, sl;	/* tp/sl 0 when absent */
};

enum ac_trade_op { AC_OP_CLOSE = 0, AC_OP_REPLACE, AC_OP_OPEN };

/* A change: CLOSE/REPLACE name open[index]; OPEN names nothing (index -1). */
struct ac_trade_change {
	enum ac_trade_op	op;
	int			index;
	enum ac_exit_reason	reason;		/* CLOSE/REPLACE */
	double			exit_price;	/* CLOSE/REPLACE */
	double			pnl, pnl_percent;	/* CLOSE/REPLACE */
};

/* What a signal does: changes in the order they apply (closes and
 * replacements first, then at most one OPEN, which is last). */
struct ac_trade_plan {
	enum ac_signal_kind	kind;
	enum ac_trade_refusal	refusal;	/* why nothing opened or closed */
	int			nchanges;
	struct ac_trade_change	changes[AC_TRADE_OPEN_MAX + 1];
	/* the trade an OPEN creates */
	enum ac_side		side;
	double			entry, tp, sl;
};

/* min(strategy max, plan max), plan max <= 0 meaning none; at least 1. */
int	ac_trade_limit(const struct ac_trade_settings *s);

/* Applies the rules above to the nopen (<= AC_TRADE_OPEN_MAX) open trades
 * and sig; fills *out. Never fails: a signal that changes nothing has
 * nchanges 0 and says why in refusal. */
void	ac_trade_plan(const struct ac_trade_settings *s, const struct ac_open_trade *open,
	    int nopen, const struct ac_trade_signal *sig, struct ac_trade_plan *out);

/* PnL per unit of a trade of side entered at entry and left at exit, and
 * the same as a percentage of entry (entry > 0). */
double	ac_pnl_amount(enum ac_side side, double entry, double exit);
double	ac_pnl_percent(enum ac_side side, double entry, double exit);

/* 1 if tp/sl (0: unset) lie on side's side of entry (> 0). */
int	ac_trade_levels_ok(enum ac_side side, double entry, double tp, double sl);

/* 1 if a TP_HIT or SL_HIT (action) at price closes t: its level reached,
 * or unset (0); 0 for any other action. */
int	ac_trade_level_hit(const struct ac_open_trade *t, enum ac_action action, double price);

/* Names as stored: "BUY" "SELL"; "TP_HIT" "SL_HIT" "REPLACED" "OPPOSITE"
 * "MANUAL" "EXIT" (NULL for NONE); "entry" "exit" "replacement"; "limit"
 * "opposite_open" "no_auto_close" "nothing_open" "bad_levels"
 * "not_reached" (NULL for NONE). ac_side_parse: "BUY"/"SELL" → 0/1, -1 otherwise. */
const char	*ac_side_name(enum ac_side s);
int		 ac_side_parse(const char *s);
const char	*ac_exit_reason_name(enum ac_exit_reason r);
const char	*ac_signal_kind_name(enum ac_signal_kind k);
const char	*ac_trade_refusal_name(enum ac_trade_refusal r);

#endif
