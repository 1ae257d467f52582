/*
 * track.h — a strategy's public track record from the trades its signals
 * made for one virtual account (backtest.h fed the stored signals): each
 * closed trade counts its result in percent of its entry, the equity is
 * the running sum of those results (one stake a trade, not compounded),
 * and the maximum drawdown its largest fall from a peak (from 0, in
 * percentage points). Months are the UTC months trades closed in.
 * Pure: no I/O; the caller hands the storage of the equity points over.
 */
#ifndef AC_TRACK_H
#define AC_TRACK_H

#include <stddef.h>

#include "alert/backtest.h"

#define AC_TRACK_MONTHS_MAX	600	/* 50 years; a later month counts in the last */

struct ac_track_month {
	int	year, month;		/* 2026, 1-12 */
	long	trades, wins;
	double	pnl_percent;
};

/* The equity after a trade closed at time. */
struct ac_track_point {
	long long	time;
	double		equity;
};

struct ac_track {
	long			trades, wins;
	double			equity, peak, max_drawdown;
	size_t			nmonths;
	struct ac_track_month	months[AC_TRACK_MONTHS_MAX];
	struct ac_track_point	*points;	/* the caller's, room for cap */
	size_t			npoints, cap;
};

/* Starts t with room for cap equity points in points (a point past cap
 * replaces the last one, so the curve ends right). */
void	ac_track_init(struct ac_track *t, struct ac_track_point *points, size_t cap);

/* Counts one closed trade, in the order trades close; fits
 * ac_bt_closed_fn (arg is the struct ac_track). */
void	ac_track_closed(const struct ac_bt_trade *tr, void *arg);

/* Wins over trades, 0 to 1 (0 without trades). */
double	ac_track_win_rate(const struct ac_track *t);

/*
 * The equity curve as an SVG image of width by height user units, drawn
 * from start (the first signal's time: equity 0) through every point:
 * the zero line, the curve, the highest and lowest equity and the first
 * and last dates as labels. No script, nothing from outside: numbers and
 * dates only, so it can be inlined in a page. The caller frees it.
 */
char	*ac_track_svg(const struct ac_track *t, long long start, int width, int height);

#endif
