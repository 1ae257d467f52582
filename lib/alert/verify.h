/*
 * verify.h — do the stored signals match the strategy? The UT Bot engine
 * (utbot.h) recomputes the signals over TradingView's bars, and each
 * stored BUY/SELL is set beside them by the bar it belongs to:
 *
 *  - matched: the engine gives the same action on the same bar;
 *  - different bar: the engine gives that action within `window` bars of
 *    it, on no bar a stored signal of that action already matched (the
 *    nearest one, the earlier on a tie);
 *  - extra: TradingView sent it, the engine gives nothing like it;
 *  - missing: the engine gives it, nothing was stored for it.
 *
 * A stored signal's bar: the bar whose open is its alert time, when the
 * alert carried one ({{time}} is the bar's open); else the last bar that
 * had closed (open + timeframe <= t) at t, the alert time or, without
 * one, when it arrived: the generated script alerts once per bar close.
 * Pure: no I/O; only ac_verify_bars() allocates (the bars).
 */
#ifndef AC_VERIFY_H
#define AC_VERIFY_H

#include <stddef.h>

#include "alert/utbot.h"

/* The most bars apart a stored signal and the engine's may be and still
 * be one signal on a different bar. */
#define AC_VERIFY_WINDOW	3

/* A signal on a bar: the engine's (id 0) or a stored one. */
struct ac_vsignal {
	long			bar;		/* index into the bars; -1: none */
	enum ac_utbot_signal	action;
	long long		id;		/* the stored signal's id, 0 for the engine's */
	long long		at;		/* when it arrived, Unix seconds (stored) */
	int			paired;		/* set by ac_verify_compare() */
};

enum ac_verify_kind { AC_VERIFY_MISSING = 0, AC_VERIFY_EXTRA, AC_VERIFY_MOVED };

/* One difference: want_bar is the engine's bar (MISSING, MOVED; else -1),
 * got_bar, id and at the stored signal's (EXTRA, MOVED; else -1, 0, 0). */
struct ac_verify_diff {
	enum ac_verify_kind	kind;
	enum ac_utbot_signal	action;
	long			want_bar, got_bar;
	long long		id, at;
};

struct ac_verify_sum {
	long	recomputed, stored, matched, missing, extra, moved;
};

/* The bars of a whole CSV text (barcsv.h) into *out (the caller frees
 * it), *n of them: 0, or -1 with err holding "line N: what is wrong" (or
 * that there is no bar). */
int	ac_verify_bars(const char *text, size_t len, struct ac_bar **out, size_t *n,
	    char *err, size_t errsz);

/* Feeds the n bars through u (initialized) and writes each signal it
 * gives to out (room for n): their number, in bar order. */
size_t	ac_verify_recompute(struct ac_utbot *u, const struct ac_bar *bars, size_t n,
	    struct ac_vsignal *out);

/* The index of the bar a stored signal belongs to (above), from its alert
 * time (0: none) and arrival; tf the bar's length in seconds. -1 when it
 * is before the first bar closed. */
long	ac_verify_bar(const struct ac_bar *bars, size_t n, long long tf, long long alert_time,
	    long long arrived);

/* Compares want (the engine's) with got (stored), each in bar order: the
 * differences into out (room for nwant + ngot), ordered by bar, their
 * number returned; *sum counts everything. Sets each signal's paired. */
size_t	ac_verify_compare(struct ac_vsignal *want, size_t nwant, struct ac_vsignal *got,
	    size_t ngot, long window, struct ac_verify_diff *out, struct ac_verify_sum *sum);

/* "missing" "extra" "different_bar". */
const char *ac_verify_kind_name(enum ac_verify_kind k);

#endif
