/*
 * test_trade.c — cmocka tests for the pure parts of the fan-out: the
 * virtual-trade rules (lib/alert/trade.c) as a table, PnL, and the eligibility
 * helpers of lib/work/fanout.c (alarm toggles and price filter, daily cap and
 * credit gate, channel verdicts), and the message filling of lib/deliver/message.c.
 *
 * A trade row gives the settings, the open trades as a string of sides,
 * oldest first ("BBS": two BUYs then a SELL, entries 100, 101, 102...),
 * the signal, and the expected plan as tokens: "C<i>:<REASON>" closes
 * open[i], "R<i>" replaces it, "O" opens; "" with a refusal name. The
 * TP/SL hit rows give each open trade's own levels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "work/fanout.h"
#include "base/message.h"
#include "alert/trade.h"

#define NROWS(t)	(sizeof(t) / sizeof((t)[0]))

struct trade_row {
	const char		*name;
	int			 max_open, plan_max, opposite, replace, auto_close;
	const char		*open;		/* sides, oldest first */
	enum ac_action		 action;
	double			 price, tp, sl;
	const char		*kind;		/* expected */
	const char		*refusal;	/* expected, NULL for none */
	const char		*changes;	/* expected tokens */
};

#define BUY	AC_ACTION_BUY
#define SELL	AC_ACTION_SELL
#define TP	AC_ACTION_TP_HIT
#define SL	AC_ACTION_SL_HIT
#define XL	AC_ACTION_EXIT_LONG
#define XS	AC_ACTION_EXIT_SHORT
#define X	AC_ACTION_EXIT

static const struct trade_row trade_rows[] = {
	/* BUY: none, some, at the limit; replace on/off; plan limits */
	{ "buy, none open", 3, 0, 1, 1, 1, "", BUY, 110, 120, 100, "entry", NULL, "O" },
	{ "buy, one open", 3, 0, 1, 1, 1, "B", BUY, 110, 120, 100, "entry", NULL, "O" },
	{ "buy, two open", 3, 0, 1, 1, 1, "BB", BUY, 110, 120, 100, "entry", NULL, "O" },
	{ "buy, two open, replace off", 3, 0, 1, 0, 1, "BB", BUY, 110, 120, 100, "entry", NULL, "O" },
	{ "buy, at limit, replace", 3, 0, 1, 1, 1, "BBB", BUY, 110, 120, 100,
	  "replacement", NULL, "R0 O" },
	{ "buy, at limit, no replace", 3, 0, 1, 0, 1, "BBB", BUY, 110, 120, 100,
	  "entry", "limit", "" },
	{ "buy, plan limit 2 reached, replace", 3, 2, 1, 1, 1, "BB", BUY, 110, 120, 100,
	  "replacement", NULL, "R0 O" },
	{ "buy, plan limit 2 reached, no replace", 3, 2, 1, 0, 1, "BB", BUY, 110, 120, 100,
	  "entry", "limit", "" },
	{ "buy, plan limit 2, one open", 3, 2, 1, 1, 1, "B", BUY, 110, 120, 100, "entry", NULL, "O" },
	{ "buy, plan limit above strategy's", 1, 5, 1, 1, 1, "B", BUY, 110, 120, 100,
	  "replacement", NULL, "R0 O" },
	{ "buy, strategy limit 1, none open", 1, 0, 1, 1, 1, "", BUY, 110, 0, 0, "entry", NULL, "O" },
	{ "buy, over the limit (lowered), replace oldest", 2, 0, 1, 1, 1, "BBB", BUY, 110, 120, 100,
	  "replacement", NULL, "R0 O" },
	/* BUY against SELLs: opposite on/off */
	{ "buy, sells open, opposite", 3, 0, 1, 1, 1, "SS", BUY, 110, 120, 100,
	  "entry", NULL, "C0:OPPOSITE C1:OPPOSITE O" },
	{ "buy, sells open, no opposite", 3, 0, 0, 1, 1, "SS", BUY, 110, 120, 100,
	  "entry", "opposite_open", "" },
	{ "buy, sells at limit, opposite, no replace", 3, 0, 1, 0, 1, "SSS", BUY, 110, 120, 100,
	  "entry", NULL, "C0:OPPOSITE C1:OPPOSITE C2:OPPOSITE O" },
	{ "buy, mixed below limit", 3, 0, 1, 1, 1, "SBB", BUY, 110, 120, 100,
	  "entry", NULL, "C0:OPPOSITE O" },
	{ "buy, mixed at limit, replace", 3, 0, 1, 1, 1, "SBBB", BUY, 110, 120, 100,
	  "replacement", NULL, "C0:OPPOSITE R1 O" },
	{ "buy, mixed at limit, no replace", 3, 0, 1, 0, 1, "SBBB", BUY, 110, 120, 100,
	  "entry", "limit", "" },
	{ "buy, mixed, no opposite", 3, 0, 0, 1, 1, "BS", BUY, 110, 120, 100,
	  "entry", "opposite_open", "" },
	/* levels */
	{ "buy, tp below entry", 3, 0, 1, 1, 1, "", BUY, 110, 105, 100, "entry", "bad_levels", "" },
	{ "buy, sl above entry", 3, 0, 1, 1, 1, "", BUY, 110, 120, 115, "entry", "bad_levels", "" },
	{ "buy, no tp or sl", 3, 0, 1, 1, 1, "", BUY, 110, 0, 0, "entry", NULL, "O" },
	{ "buy, price 0", 3, 0, 1, 1, 1, "", BUY, 0, 0, 0, "entry", "bad_levels", "" },
	/* SELL mirrors */
	{ "sell, none open", 3, 0, 1, 1, 1, "", SELL, 110, 100, 120, "entry", NULL, "O" },
	{ "sell, some open", 3, 0, 1, 1, 1, "SS", SELL, 110, 100, 120, "entry", NULL, "O" },
	{ "sell, at limit, replace", 3, 0, 1, 1, 1, "SSS", SELL, 110, 100, 120,
	  "replacement", NULL, "R0 O" },
	{ "sell, at limit, no replace", 3, 0, 1, 0, 1, "SSS", SELL, 110, 100, 120,
	  "entry", "limit", "" },
	{ "sell, buys open, opposite", 3, 0, 1, 1, 1, "BBB", SELL, 110, 100, 120,
	  "entry", NULL, "C0:OPPOSITE C1:OPPOSITE C2:OPPOSITE O" },
	{ "sell, buys open, no opposite", 3, 0, 0, 0, 1, "B", SELL, 110, 100, 120,
	  "entry", "opposite_open", "" },
	{ "sell, tp above entry", 3, 0, 1, 1, 1, "", SELL, 110, 115, 120, "entry", "bad_levels", "" },
	{ "sell, sl below entry", 3, 0, 1, 1, 1, "", SELL, 110, 100, 105, "entry", "bad_levels", "" },
	/* TP/SL hits close the open trades whose level is reached (the table's
	 * trades: BUY tp 130 sl 80, SELL tp 70 sl 130; more in hit_rows) */
	{ "tp, none open", 3, 0, 1, 1, 1, "", TP, 110, 0, 0, "exit", "nothing_open", "" },
	{ "tp, buys open", 3, 0, 1, 1, 1, "BB", TP, 130, 0, 0, "exit", NULL, "C0:TP_HIT C1:TP_HIT" },
	{ "tp, buys open, not reached", 3, 0, 1, 1, 1, "BB", TP, 110, 0, 0, "exit",
	  "not_reached", "" },
	{ "tp, sell open", 3, 0, 1, 1, 1, "S", TP, 70, 0, 0, "exit", NULL, "C0:TP_HIT" },
	{ "sl, buys open", 3, 0, 1, 1, 1, "BBB", SL, 80, 0, 0, "exit", NULL,
	  "C0:SL_HIT C1:SL_HIT C2:SL_HIT" },
	{ "sl, mixed open, the buy's reached", 3, 0, 0, 0, 1, "BS", SL, 80, 0, 0, "exit", NULL,
	  "C0:SL_HIT" },
	{ "sl, mixed open, the sell's reached", 3, 0, 0, 0, 1, "BS", SL, 130, 0, 0, "exit", NULL,
	  "C1:SL_HIT" },
	{ "tp, auto close off", 3, 0, 1, 1, 0, "BB", TP, 110, 0, 0, "exit", "no_auto_close", "" },
	{ "sl, auto close off, none open", 3, 0, 1, 1, 0, "", SL, 90, 0, 0, "exit",
	  "no_auto_close", "" },
	{ "tp, price 0", 3, 0, 1, 1, 1, "B", TP, 0, 0, 0, "exit", "bad_levels", "" },
	/* a strategy's move to flat closes its side and opens nothing */
	{ "exit long, buys open", 3, 0, 1, 1, 1, "BB", XL, 120, 0, 0, "exit", NULL,
	  "C0:EXIT C1:EXIT" },
	{ "exit long, mixed open", 3, 0, 1, 1, 1, "BSB", XL, 120, 0, 0, "exit", NULL,
	  "C0:EXIT C2:EXIT" },
	{ "exit long, only sells open", 3, 0, 1, 1, 1, "SS", XL, 120, 0, 0, "exit",
	  "nothing_open", "" },
	{ "exit long, none open", 3, 0, 1, 1, 1, "", XL, 120, 0, 0, "exit", "nothing_open", "" },
	{ "exit long, auto close off", 3, 0, 1, 1, 0, "B", XL, 120, 0, 0, "exit", NULL,
	  "C0:EXIT" },
	{ "exit long, price 0", 3, 0, 1, 1, 1, "B", XL, 0, 0, 0, "exit", "bad_levels", "" },
	{ "exit short, mixed open", 3, 0, 0, 0, 1, "SBS", XS, 90, 0, 0, "exit", NULL,
	  "C0:EXIT C2:EXIT" },
	{ "exit short, only buys open", 3, 0, 1, 1, 1, "BBB", XS, 90, 0, 0, "exit",
	  "nothing_open", "" },
	{ "exit any, mixed open", 3, 0, 1, 1, 1, "BS", X, 105, 0, 0, "exit", NULL,
	  "C0:EXIT C1:EXIT" },
	{ "exit any, none open", 3, 0, 1, 1, 1, "", X, 105, 0, 0, "exit", "nothing_open", "" },
	{ "no action", 3, 0, 1, 1, 1, "B", AC_ACTION_NONE, 100, 0, 0, "exit", "bad_levels", "" },
};

/* The plan as tokens, for comparison with the row. */
static void
plan_tokens(const struct ac_trade_plan *p, char *out, size_t outsz)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < p->nchanges; i++) {
		const struct ac_trade_change *c = &p->changes[i];

		if (c->op == AC_OP_OPEN)
			len += (size_t)snprintf(out + len, outsz - len, "%sO", i ? " " : "");
		else if (c->op == AC_OP_REPLACE)
			len += (size_t)snprintf(out + len, outsz - len, "%sR%d", i ? " " : "", c->index);
		else
			len += (size_t)snprintf(out + len, outsz - len, "%sC%d:%s", i ? " " : "",
			    c->index, ac_exit_reason_name(c->reason));
	}
}

static void
test_trade_row(void **state)
{
	const struct trade_row *r = *state;
	struct ac_trade_settings s = { r->max_open, r->plan_max, r->opposite, r->replace,
	    r->auto_close };
	struct ac_open_trade open[AC_TRADE_OPEN_MAX];
	struct ac_trade_signal sig = { r->action, r->price, r->tp, r->sl };
	struct ac_trade_plan p;
	char got[256];
	int n = (int)strlen(r->open), i;

	for (i = 0; i < n; i++) {
		open[i].id = 1000 + i;
		open[i].side = r->open[i] == 'B' ? AC_SIDE_BUY : AC_SIDE_SELL;
		open[i].entry = 100 + i;
		open[i].tp = open[i].side == AC_SIDE_BUY ? 130 : 70;
		open[i].sl = open[i].side == AC_SIDE_BUY ? 80 : 130;
	}
	ac_trade_plan(&s, open, n, &sig, &p);
	plan_tokens(&p, got, sizeof(got));
	assert_string_equal(got, r->changes);
	assert_string_equal(ac_signal_kind_name(p.kind), r->kind);
	if (r->refusal == NULL)
		assert_null(ac_trade_refusal_name(p.refusal));
	else
		assert_string_equal(ac_trade_refusal_name(p.refusal), r->refusal);
	/* every close carries the exit price and its PnL; an open, the levels */
	for (i = 0; i < p.nchanges; i++) {
		const struct ac_trade_change *c = &p.changes[i];

		if (c->op == AC_OP_OPEN) {
			assert_int_equal(i, p.nchanges - 1);
			assert_int_equal(p.side, r->action == SELL ? AC_SIDE_SELL : AC_SIDE_BUY);
			assert_true(p.entry == r->price && p.tp == r->tp && p.sl == r->sl);
			continue;
		}
		assert_true(c->exit_price == r->price);
		assert_true(c->pnl == ac_pnl_amount(open[c->index].side, open[c->index].entry,
		    r->price));
		assert_true(c->pnl_percent == ac_pnl_percent(open[c->index].side,
		    open[c->index].entry, r->price));
	}
}

/* TP/SL hits against trades with levels of their own: each trade is
 * "B" or "S" with its entry, tp and sl (0: unset). */
struct hit_row {
	const char		*name;
	int			 nopen;
	struct ac_open_trade	 open[3];
	enum ac_action		 action;
	double			 price;
	const char		*refusal;	/* expected, NULL for none */
	const char		*changes;	/* expected tokens */
};

#define TB(entry, tp, sl)	{ 0, AC_SIDE_BUY, entry, tp, sl }
#define TS(entry, tp, sl)	{ 0, AC_SIDE_SELL, entry, tp, sl }

static const struct hit_row hit_rows[] = {
	/* BUY × TP/SL × reached / exactly at the level / not reached / missing */
	{ "buy tp reached", 1, { TB(42000, 43000, 41000) }, TP, 43100, NULL, "C0:TP_HIT" },
	{ "buy tp at the level", 1, { TB(42000, 43000, 41000) }, TP, 43000, NULL, "C0:TP_HIT" },
	{ "buy tp not reached", 1, { TB(42000, 43000, 41000) }, TP, 42900, "not_reached", "" },
	{ "buy tp missing", 1, { TB(42000, 0, 41000) }, TP, 42100, NULL, "C0:TP_HIT" },
	{ "buy sl reached", 1, { TB(42000, 43000, 41000) }, SL, 40900, NULL, "C0:SL_HIT" },
	{ "buy sl at the level", 1, { TB(42000, 43000, 41000) }, SL, 41000, NULL, "C0:SL_HIT" },
	{ "buy sl not reached", 1, { TB(42000, 43000, 41000) }, SL, 41100, "not_reached", "" },
	{ "buy sl missing", 1, { TB(42000, 43000, 0) }, SL, 41900, NULL, "C0:SL_HIT" },
	/* SELL: the other way round */
	{ "sell tp reached", 1, { TS(42000, 41000, 43000) }, TP, 40900, NULL, "C0:TP_HIT" },
	{ "sell tp at the level", 1, { TS(42000, 41000, 43000) }, TP, 41000, NULL, "C0:TP_HIT" },
	{ "sell tp not reached", 1, { TS(42000, 41000, 43000) }, TP, 41100, "not_reached", "" },
	{ "sell tp missing", 1, { TS(42000, 0, 43000) }, TP, 41900, NULL, "C0:TP_HIT" },
	{ "sell sl reached", 1, { TS(42000, 41000, 43000) }, SL, 43100, NULL, "C0:SL_HIT" },
	{ "sell sl at the level", 1, { TS(42000, 41000, 43000) }, SL, 43000, NULL, "C0:SL_HIT" },
	{ "sell sl not reached", 1, { TS(42000, 41000, 43000) }, SL, 42900, "not_reached", "" },
	{ "sell sl missing", 1, { TS(42000, 41000, 0) }, SL, 42100, NULL, "C0:SL_HIT" },
	/* a TP level is not an SL level: a TP_HIT beyond a trade's stop closes nothing */
	{ "buy tp hit below its sl", 1, { TB(42000, 43000, 41000) }, TP, 40000, "not_reached", "" },
	/* two BUYs, one TP_HIT between their levels: the reached one alone */
	{ "two buys, tp between", 2, { TB(42000, 43000, 41000), TB(42500, 45000, 41000) }, TP,
	  43100, NULL, "C0:TP_HIT" },
	{ "two buys, tp above both", 2, { TB(42000, 43000, 41000), TB(42500, 45000, 41000) }, TP,
	  45000, NULL, "C0:TP_HIT C1:TP_HIT" },
	{ "two buys, newer reached", 2, { TB(42000, 45000, 41000), TB(42500, 43000, 41000) }, TP,
	  43100, NULL, "C1:TP_HIT" },
	{ "buys, one without tp, one not reached", 3, { TB(42000, 0, 0), TB(42500, 45000, 0),
	  TB(42600, 43000, 0) }, TP, 43100, NULL, "C0:TP_HIT C2:TP_HIT" },
	{ "mixed, tp reached for the sell", 2, { TB(42000, 45000, 41000), TS(42000, 41000, 43000) },
	  TP, 40900, NULL, "C1:TP_HIT" },
	/* an exit without a price has nothing to close at */
	{ "tp without a price", 2, { TB(42000, 43000, 41000), TB(42500, 0, 0) }, TP, 0,
	  "bad_levels", "" },
	{ "sl without a price", 1, { TS(42000, 41000, 43000) }, SL, 0, "bad_levels", "" },
};

static void
test_hit_row(void **state)
{
	const struct hit_row *r = *state;
	struct ac_trade_settings s = { 3, 0, 1, 1, 1 };
	struct ac_trade_signal sig = { r->action, r->price, 0, 0 };
	struct ac_trade_plan p;
	char got[256];
	int i;

	ac_trade_plan(&s, r->open, r->nopen, &sig, &p);
	plan_tokens(&p, got, sizeof(got));
	assert_string_equal(got, r->changes);
	assert_string_equal(ac_signal_kind_name(p.kind), "exit");
	if (r->refusal == NULL)
		assert_null(ac_trade_refusal_name(p.refusal));
	else
		assert_string_equal(ac_trade_refusal_name(p.refusal), r->refusal);
	for (i = 0; i < p.nchanges; i++) {
		const struct ac_trade_change *c = &p.changes[i];
		const struct ac_open_trade *t = &r->open[c->index];

		assert_true(c->exit_price == r->price);
		assert_true(c->pnl == ac_pnl_amount(t->side, t->entry, r->price));
		assert_true(c->pnl_percent == ac_pnl_percent(t->side, t->entry, r->price));
	}
}

static void
test_level_hit(void **state)
{
	const struct ac_open_trade buy = TB(100, 110, 90);

	(void)state;
	assert_true(ac_trade_level_hit(&buy, TP, 110));
	assert_false(ac_trade_level_hit(&buy, TP, 109.99));
	assert_true(ac_trade_level_hit(&buy, SL, 90));
	assert_false(ac_trade_level_hit(&buy, SL, 90.01));
	/* only TP/SL hits are about levels */
	assert_false(ac_trade_level_hit(&buy, XL, 200));
	assert_false(ac_trade_level_hit(&buy, BUY, 200));
}

struct pnl_row {
	const char	*name;
	enum ac_side	 side;
	double		 entry, exit, amount, percent;
};

static const struct pnl_row pnl_rows[] = {
	{ "buy gain", AC_SIDE_BUY, 100, 110, 10, 10 },
	{ "buy loss", AC_SIDE_BUY, 100, 90, -10, -10 },
	{ "sell gain", AC_SIDE_SELL, 100, 90, 10, 10 },
	{ "sell loss", AC_SIDE_SELL, 100, 110, -10, -10 },
	{ "buy flat", AC_SIDE_BUY, 100, 100, 0, 0 },
	{ "buy fractional", AC_SIDE_BUY, 0.5, 0.55, 0.05, 10 },
	{ "sell btc", AC_SIDE_SELL, 42500, 41000, 1500, 3.5294117647 },
	{ "buy btc", AC_SIDE_BUY, 42000, 42840, 840, 2 },
};

static void
test_pnl_row(void **state)
{
	const struct pnl_row *r = *state;

	double amount = ac_pnl_amount(r->side, r->entry, r->exit);
	double percent = ac_pnl_percent(r->side, r->entry, r->exit);

	assert_true(amount - r->amount < 1e-9 && r->amount - amount < 1e-9);
	assert_true(percent - r->percent < 1e-8 && r->percent - percent < 1e-8);
}

static void
test_limit(void **state)
{
	struct ac_trade_settings s = { .max_open = 3 };

	assert_int_equal(ac_trade_limit(&s), 3);
	s.plan_max_open = 2;
	assert_int_equal(ac_trade_limit(&s), 2);
	s.plan_max_open = 5;
	assert_int_equal(ac_trade_limit(&s), 3);
	s.plan_max_open = -1;
	assert_int_equal(ac_trade_limit(&s), 3);
	s.max_open = 0;
	assert_int_equal(ac_trade_limit(&s), 1);
}

static void
test_levels(void **state)
{
	assert_true(ac_trade_levels_ok(AC_SIDE_BUY, 100, 110, 90));
	assert_true(ac_trade_levels_ok(AC_SIDE_BUY, 100, 0, 0));
	assert_false(ac_trade_levels_ok(AC_SIDE_BUY, 100, 100, 90));
	assert_false(ac_trade_levels_ok(AC_SIDE_BUY, 100, 110, 100));
	assert_true(ac_trade_levels_ok(AC_SIDE_SELL, 100, 90, 110));
	assert_false(ac_trade_levels_ok(AC_SIDE_SELL, 100, 110, 0));
	assert_false(ac_trade_levels_ok(AC_SIDE_SELL, 100, 0, 90));
	assert_false(ac_trade_levels_ok(AC_SIDE_SELL, -1, 0, 0));
}

static void
test_names(void **state)
{
	assert_string_equal(ac_side_name(AC_SIDE_BUY), "BUY");
	assert_string_equal(ac_side_name(AC_SIDE_SELL), "SELL");
	assert_int_equal(ac_side_parse("SELL"), AC_SIDE_SELL);
	assert_int_equal(ac_side_parse("buy"), -1);
	assert_null(ac_exit_reason_name(AC_EXIT_NONE));
	assert_string_equal(ac_exit_reason_name(AC_EXIT_MANUAL), "MANUAL");
	assert_string_equal(ac_signal_kind_name(AC_KIND_REPLACEMENT), "replacement");
	assert_string_equal(ac_channel_name(AC_CH_PUSH), "push");
	assert_int_equal(ac_channel_parse("sms"), AC_CH_SMS);
	assert_int_equal(ac_channel_parse("fax"), -1);
	assert_null(ac_skip_name(AC_SKIP_NONE));
	assert_string_equal(ac_skip_name(AC_SKIP_NO_ADDRESS), "no_address");
}

/* The channels a signal can go out on: allowed and addressed, of the alarm's. */
static void
test_reachable(void **state)
{
	const unsigned tg = AC_CH_BIT(AC_CH_TELEGRAM), em = AC_CH_BIT(AC_CH_EMAIL),
	    sms = AC_CH_BIT(AC_CH_SMS);
	struct ac_reach r = { .allowed = AC_CH_ALL, .addressed = em };

	(void)state;
	assert_int_equal(ac_reachable(tg, &r), 0);		/* no chat linked */
	assert_int_equal(ac_reachable(tg | em, &r), em);
	r.allowed = AC_CH_ALL & ~em;
	assert_int_equal(ac_reachable(em, &r), 0);		/* email switched off */
	r.addressed = em | tg | sms;
	assert_int_equal(ac_reachable(em | tg | sms, &r), tg | sms);
	assert_int_equal(ac_reachable(0, &r), 0);
}

/* ---- eligibility ---------------------------------------------------- */

struct accept_row {
	const char		*name;
	struct ac_alarm_filter	 f;
	enum ac_signal_kind	 kind;
	double			 price;
	int			 want;
};

static const struct accept_row accept_rows[] = {
	{ "all on, entry", { 1, 1, 1, 0, 0, 0, 0 }, AC_KIND_ENTRY, 100, 1 },
	{ "entry off", { 0, 1, 1, 0, 0, 0, 0 }, AC_KIND_ENTRY, 100, 0 },
	{ "entry off, exit", { 0, 1, 1, 0, 0, 0, 0 }, AC_KIND_EXIT, 100, 1 },
	{ "exit off", { 1, 0, 1, 0, 0, 0, 0 }, AC_KIND_EXIT, 100, 0 },
	{ "replacement off", { 1, 1, 0, 0, 0, 0, 0 }, AC_KIND_REPLACEMENT, 100, 0 },
	{ "replacement on, entry off", { 0, 1, 1, 0, 0, 0, 0 }, AC_KIND_REPLACEMENT, 100, 1 },
	{ "below min", { 1, 1, 1, 1, 0, 100, 0 }, AC_KIND_ENTRY, 99.99, 0 },
	{ "at min", { 1, 1, 1, 1, 0, 100, 0 }, AC_KIND_ENTRY, 100, 1 },
	{ "above max", { 1, 1, 1, 0, 1, 0, 200 }, AC_KIND_ENTRY, 200.01, 0 },
	{ "at max", { 1, 1, 1, 0, 1, 0, 200 }, AC_KIND_EXIT, 200, 1 },
	{ "inside band", { 1, 1, 1, 1, 1, 100, 200 }, AC_KIND_ENTRY, 150, 1 },
	{ "band, toggle off", { 0, 1, 1, 1, 1, 100, 200 }, AC_KIND_ENTRY, 150, 0 },
};

static void
test_accept_row(void **state)
{
	const struct accept_row *r = *state;

	assert_int_equal(ac_alarm_accepts(&r->f, r->kind, r->price), r->want);
}

static void
test_gate(void **state)
{
	/* the daily cap comes first and costs nothing */
	assert_int_equal(ac_fanout_gate(50, 50, 100, 1), AC_SKIP_DAILY_CAP);
	assert_int_equal(ac_fanout_gate(50, 50, 0, 1), AC_SKIP_DAILY_CAP);
	assert_int_equal(ac_fanout_gate(0, 0, 10, 1), AC_SKIP_DAILY_CAP);
	assert_int_equal(ac_fanout_gate(49, 50, 0, 1), AC_SKIP_NO_CREDITS);
	assert_int_equal(ac_fanout_gate(0, 50, 1, 2), AC_SKIP_NO_CREDITS);
	assert_int_equal(ac_fanout_gate(0, 50, 1, 1), AC_SKIP_NONE);
	assert_int_equal(ac_fanout_gate(0, 50, 0, 0), AC_SKIP_NONE);
}

static void
test_channel_skip(void **state)
{
	struct ac_reach r = { .allowed = 1u << AC_CH_EMAIL | 1u << AC_CH_TELEGRAM | 1u << AC_CH_SMS,
	    .addressed = 1u << AC_CH_EMAIL | 1u << AC_CH_SMS | 1u << AC_CH_PUSH };

	assert_int_equal(ac_channel_skip(AC_CH_EMAIL, &r), AC_SKIP_NONE);
	assert_int_equal(ac_channel_skip(AC_CH_SMS, &r), AC_SKIP_NONE);
	assert_int_equal(ac_channel_skip(AC_CH_TELEGRAM, &r), AC_SKIP_NO_ADDRESS);
	/* preference wins over a missing address */
	assert_int_equal(ac_channel_skip(AC_CH_PUSH, &r), AC_SKIP_PREFERENCE);
	r.addressed = 0;
	assert_int_equal(ac_channel_skip(AC_CH_PUSH, &r), AC_SKIP_PREFERENCE);
}

/* ---- message filling ---------------------------------------------------- */

static void
test_message_fill(void **state)
{
	struct ac_var v[] = { { "symbol", "BTCUSDT" }, { "price", "42000" }, { "tp", NULL } };
	struct ac_err e;
	char *s;

	s = ac_message_fill("{{symbol}} at {{ price }}{{tp}}!", v, NROWS(v), &e);
	assert_non_null(s);
	assert_string_equal(s, "BTCUSDT at 42000!");
	free(s);
	s = ac_message_fill("no placeholders", v, NROWS(v), &e);
	assert_string_equal(s, "no placeholders");
	free(s);
	assert_null(ac_message_fill("{{nope}}", v, NROWS(v), &e));
	assert_non_null(strstr(e.message, "{{nope}}"));
	assert_null(ac_message_fill("x {{symbol", v, NROWS(v), &e));
	assert_non_null(strstr(e.message, "unclosed"));
}

#define ADD_ROWS(rows, fn)						\
	for (i = 0; i < NROWS(rows); i++)				\
		tests[n++] = (struct CMUnitTest){ rows[i].name, fn, NULL, NULL, \
		    (void *)&rows[i] }

int
main(void)
{
	static const struct CMUnitTest singles[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_level_hit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_reachable),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_channel_skip),
		cmocka_unit_test(test_message_fill),
	};
	struct CMUnitTest	tests[NROWS(trade_rows) + NROWS(hit_rows) + NROWS(pnl_rows) + NROWS(accept_rows) +
				    NROWS(singles)];
	size_t			n = 0, i;

	ADD_ROWS(trade_rows, test_trade_row);
	ADD_ROWS(hit_rows, test_hit_row);
	ADD_ROWS(pnl_rows, test_pnl_row);
	ADD_ROWS(accept_rows, test_accept_row);
	for (i = 0; i < NROWS(singles); i++)
		tests[n++] = singles[i];
	return _cmocka_run_group_tests("trade", tests, n, NULL, NULL);
}
