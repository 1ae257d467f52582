/* trade.c — see trade.h. */
#include <string.h>

#include "alert/trade.h"

int
ac_trade_limit(const struct ac_trade_settings *s)
{
	int limit = s->max_open;

	if (s->plan_max_open > 0 && s->plan_max_open < limit)
		limit = s->plan_max_open;
	return limit < 1 ? 1 : limit;
}

double
ac_pnl_amount(enum ac_side side, double entry, double exit)
{
	return side == AC_SIDE_BUY ? exit - entry : entry - exit;
}

double
ac_pnl_percent(enum ac_side side, double entry, double exit)
{
	return entry > 0 ? ac_pnl_amount(side, entry, exit) / entry * 100.0 : 0.0;
}

int
ac_trade_levels_ok(enum ac_side side, double entry, double tp, double sl)
{
	if (!(entry > 0) || tp < 0 || sl < 0)
		return 0;
	if (side == AC_SIDE_BUY)
		return (tp == 0 || tp > entry) && (sl == 0 || sl < entry);
	return (tp == 0 || tp < entry) && (sl == 0 || sl > entry);
}

int
ac_trade_level_hit(const struct ac_open_trade *t, enum ac_action action, double price)
{
	double level;
	int above;	/* the level is reached from below: price >= level */

	if (action == AC_ACTION_TP_HIT) {
		level = t->tp;
		above = t->side == AC_SIDE_BUY;
	} else if (action == AC_ACTION_SL_HIT) {
		level = t->sl;
		above = t->side == AC_SIDE_SELL;
	} else {
		return 0;
	}
	if (!(level > 0))
		return 1;
	return above ? price >= level : price <= level;
}

/* Appends a CLOSE or REPLACE of open[i] at price. */
static void
leave(struct ac_trade_plan *p, const struct ac_open_trade *open, int i,
    enum ac_trade_op op, enum ac_exit_reason reason, double price)
{
	struct ac_trade_change *c = &p->changes[p->nchanges++];

	c->op = op;
	c->index = i;
	c->reason = reason;
	c->exit_price = price;
	c->pnl = ac_pnl_amount(open[i].side, open[i].entry, price);
	c->pnl_percent = ac_pnl_percent(open[i].side, open[i].entry, price);
}

/* BUY or SELL: close opposites if allowed, then open or replace. */
static void
plan_entry(const struct ac_trade_settings *s, const struct ac_open_trade *open, int nopen,
    const struct ac_trade_signal *sig, struct ac_trade_plan *p)
{
	enum ac_side side = sig->action == AC_ACTION_BUY ? AC_SIDE_BUY : AC_SIDE_SELL;
	int i, same = 0, opposite = 0, oldest = -1;

	p->kind = AC_KIND_ENTRY;
	if (!ac_trade_levels_ok(side, sig->price, sig->tp, sig->sl)) {
		p->refusal = AC_REFUSE_BAD_LEVELS;
		return;
	}
	for (i = 0; i < nopen; i++) {
		if (open[i].side == side) {
			if (oldest == -1)
				oldest = i;
			same++;
		} else {
			opposite++;
		}
	}
	if (opposite > 0 && !s->allow_opposite) {
		p->refusal = AC_REFUSE_OPPOSITE_OPEN;
		return;
	}
	if (same >= ac_trade_limit(s) && !s->replace_same) {
		p->refusal = AC_REFUSE_LIMIT;
		return;
	}
	for (i = 0; i < nopen; i++)
		if (open[i].side != side)
			leave(p, open, i, AC_OP_CLOSE, AC_EXIT_OPPOSITE, sig->price);
	if (same >= ac_trade_limit(s)) {
		leave(p, open, oldest, AC_OP_REPLACE, AC_EXIT_REPLACED, sig->price);
		p->kind = AC_KIND_REPLACEMENT;
	}
	p->changes[p->nchanges].op = AC_OP_OPEN;
	p->changes[p->nchanges].index = -1;
	p->nchanges++;
	p->side = side;
	p->entry = sig->price;
	p->tp = sig->tp;
	p->sl = sig->sl;
}

/* The strategy's own exit: closes the open trades of the side it names
 * (EXIT: every side) at the signal price; auto_close is about TP/SL
 * hits, not this. */
static void
plan_exit(const struct ac_open_trade *open, int nopen,
    const struct ac_trade_signal *sig, struct ac_trade_plan *p)
{
	int i;

	p->kind = AC_KIND_EXIT;
	if (!(sig->price > 0)) {
		p->refusal = AC_REFUSE_BAD_LEVELS;
		return;
	}
	for (i = 0; i < nopen; i++)
		if (sig->action == AC_ACTION_EXIT ||
		    open[i].side == (sig->action == AC_ACTION_EXIT_LONG ? AC_SIDE_BUY :
		    AC_SIDE_SELL))
			leave(p, open, i, AC_OP_CLOSE, AC_EXIT_SIGNAL, sig->price);
	if (p->nchanges == 0)
		p->refusal = AC_REFUSE_NOTHING_OPEN;
}

/* TP_HIT / SL_HIT: closes the open trades whose level the price reached
 * (or that have none), when auto_close is on. */
static void
plan_level_hit(const struct ac_trade_settings *s, const struct ac_open_trade *open,
    int nopen, const struct ac_trade_signal *sig, struct ac_trade_plan *p)
{
	enum ac_exit_reason reason = sig->action == AC_ACTION_TP_HIT ? AC_EXIT_TP_HIT :
	    AC_EXIT_SL_HIT;
	int i;

	p->kind = AC_KIND_EXIT;
	if (!(sig->price > 0)) {
		p->refusal = AC_REFUSE_BAD_LEVELS;
		return;
	}
	if (!s->auto_close) {
		p->refusal = AC_REFUSE_NO_AUTO_CLOSE;
		return;
	}
	if (nopen == 0) {
		p->refusal = AC_REFUSE_NOTHING_OPEN;
		return;
	}
	for (i = 0; i < nopen; i++)
		if (ac_trade_level_hit(&open[i], sig->action, sig->price))
			leave(p, open, i, AC_OP_CLOSE, reason, sig->price);
	if (p->nchanges == 0)
		p->refusal = AC_REFUSE_NOT_REACHED;
}

void
ac_trade_plan(const struct ac_trade_settings *s, const struct ac_open_trade *open,
    int nopen, const struct ac_trade_signal *sig, struct ac_trade_plan *out)
{
	memset(out, 0, sizeof(*out));
	if (nopen > AC_TRADE_OPEN_MAX)
		nopen = AC_TRADE_OPEN_MAX;
	switch (sig->action) {
	case AC_ACTION_BUY:
	case AC_ACTION_SELL:
		plan_entry(s, open, nopen, sig, out);
		return;
	case AC_ACTION_TP_HIT:
	case AC_ACTION_SL_HIT:
		plan_level_hit(s, open, nopen, sig, out);
		return;
	case AC_ACTION_EXIT_LONG:
	case AC_ACTION_EXIT_SHORT:
	case AC_ACTION_EXIT:
		plan_exit(open, nopen, sig, out);
		return;
	case AC_ACTION_NONE:
	case AC_ACTION_HEARTBEAT:	/* never a signal (lib/alert/ingest.c) */
	case AC_ACTION__MAX:
		break;
	}
	out->kind = AC_KIND_EXIT;
	out->refusal = AC_REFUSE_BAD_LEVELS;
}

const char *
ac_side_name(enum ac_side s)
{
	return s == AC_SIDE_BUY ? "BUY" : "SELL";
}

int
ac_side_parse(const char *s)
{
	if (strcmp(s, "BUY") == 0)
		return AC_SIDE_BUY;
	if (strcmp(s, "SELL") == 0)
		return AC_SIDE_SELL;
	return -1;
}

const char *
ac_exit_reason_name(enum ac_exit_reason r)
{
	static const char *const names[] = {
		[AC_EXIT_NONE] = NULL, [AC_EXIT_TP_HIT] = "TP_HIT", [AC_EXIT_SL_HIT] = "SL_HIT",
		[AC_EXIT_REPLACED] = "REPLACED", [AC_EXIT_OPPOSITE] = "OPPOSITE",
		[AC_EXIT_MANUAL] = "MANUAL", [AC_EXIT_SIGNAL] = "EXIT",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

const char *
ac_signal_kind_name(enum ac_signal_kind k)
{
	static const char *const names[AC_KIND__MAX] = {
		[AC_KIND_ENTRY] = "entry", [AC_KIND_EXIT] = "exit",
		[AC_KIND_REPLACEMENT] = "replacement",
	};

	return (unsigned)k < AC_KIND__MAX ? names[k] : "entry";
}

const char *
ac_trade_refusal_name(enum ac_trade_refusal r)
{
	static const char *const names[] = {
		[AC_REFUSE_NONE] = NULL, [AC_REFUSE_LIMIT] = "limit",
		[AC_REFUSE_OPPOSITE_OPEN] = "opposite_open",
		[AC_REFUSE_NO_AUTO_CLOSE] = "no_auto_close",
		[AC_REFUSE_NOTHING_OPEN] = "nothing_open", [AC_REFUSE_BAD_LEVELS] = "bad_levels",
		[AC_REFUSE_NOT_REACHED] = "not_reached",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}
