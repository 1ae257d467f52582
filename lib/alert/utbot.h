/*
 * utbot.h — the UT Bot indicator recomputed from OHLC bars, bar by bar,
 * exactly as the Pine Script of lib/alert/pine.c computes it (REFERENCE.md,
 * "UT Bot Alerts"). Pure: no I/O, no allocation; one struct ac_utbot is the
 * whole state, fed one closed bar at a time.
 *
 * What the script does, and so what this does:
 *  - xATR = ta.atr(c): Wilder's RMA (alpha 1/c) of the true range of the
 *    chart's regular bars (the first bar's is high - low), seeded with the
 *    simple mean of the first c true ranges; na before bar c.
 *  - src = close, or with h the Heikin-Ashi close (o + h + l + c) / 4. Only
 *    src comes from ticker.heikinashi(): the ATR stays on regular bars.
 *  - the trailing stop: the four-branch recursion on P = nz(stop[1], 0) and
 *    nz(src[1], 0); na while the ATR is (math.max/min with na give na).
 *  - emaLine = ta.ema(src, e): alpha 2 / (e + 1), seeded with the simple
 *    mean of the first e values, na before (e = 1: src itself).
 *  - buy  = src > stop and ta.crossover(emaLine, stop);
 *    sell = src < stop and ta.crossover(stop, emaLine); a crossover needs
 *    both bars' values (na compares false), and "a[1] <= b[1]" before.
 * na is NaN here.
 */
#ifndef AC_UTBOT_H
#define AC_UTBOT_H

struct ac_bar {
	long long	time;		/* Unix seconds, the bar's open */
	double		open, high, low, close;
	double		volume;		/* 0 when the export has none */
};

struct ac_utbot_params {
	double	key_value;	/* a, > 0 */
	int	atr_period;	/* c, >= 1 */
	int	ema_period;	/* e, >= 1 */
	int	heikin_ashi;	/* h */
};

enum ac_utbot_signal { AC_UTBOT_NONE = 0, AC_UTBOT_BUY, AC_UTBOT_SELL };

/* The state; after each ac_utbot_feed() the last four fields hold that
 * bar's values (NaN for na), for callers to read. */
struct ac_utbot {
	struct ac_utbot_params	p;
	double			alpha_ema;
	long long		n;		/* bars fed */
	double			close_prev;	/* regular close, for the true range */
	double			tr_sum, src_sum;	/* the seeds' sums */
	double			src_prev, stop_prev, ema_prev;
	double			src, atr, stop, ema;
};

/* Sets u up for p; 0, or -1 with *errstr naming the parameter out of range. */
int	ac_utbot_init(struct ac_utbot *u, const struct ac_utbot_params *p, const char **errstr);

/* Feeds one closed bar; the signal at its close. */
enum ac_utbot_signal ac_utbot_feed(struct ac_utbot *u, const struct ac_bar *b);

/* "buy" "sell" (the action alerts carry), NULL for NONE. */
const char *ac_utbot_signal_name(enum ac_utbot_signal s);

#endif
