/*
 * pine.h — the TradingView Pine Script (v5) of a UT Bot strategy, ready to
 * paste into TradingView's editor: its inputs set to the strategy's
 * parameters, the ATR trailing stop (REFERENCE.md, "UT Bot Alerts"), the
 * buy and sell marks, and one alert() per signal whose message is the JSON
 * alertcast parses (lib/alert/tv.h): symbol, timeframe, strategy, action
 * and price, filled in by TradingView at each bar close; and a heartbeat
 * alert() (action "heartbeat", same JSON) on every confirmed bar, so a
 * stopped or expired alert shows as silence (lib/work/health.h). Pure.
 */
#ifndef AC_PINE_H
#define AC_PINE_H

struct ac_pine_in {
	long long	 id;		/* the strategy's id, named in a comment */
	const char	*name;		/* its display name, for the indicator's title */
	const char	*strategy;	/* the strategy name alerts must carry ("UT Bot") */
	const char	*symbol;	/* BTCUSDT: for the comment and the steps */
	const char	*timeframe;	/* canonical: 1m ... 1w */
	double		 key_value;	/* a: sensitivity */
	int		 atr_period;	/* c */
	int		 ema_period;	/* the crossover line's EMA (1: the source itself) */
	int		 heikin_ashi;	/* signals from Heikin-Ashi candles */
};

/* The script (malloc'd). */
char	*ac_pine_utbot(const struct ac_pine_in *in);

/* TradingView's chart interval for a canonical timeframe, as Pine's
 * timeframe.period writes it ("60" for 1h, "D" for 1d), or NULL. */
const char *ac_pine_period(const char *timeframe);

#endif
