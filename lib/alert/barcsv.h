/*
 * barcsv.h — bars from TradingView's chart export ("Export chart data"):
 * a header line naming time,open,high,low,close and optionally volume,
 * then one bar a line; further columns (the plots of the chart's
 * indicators, which TradingView exports too) are counted and ignored. time is Unix seconds or ISO-8601 with a zone
 * (2024-01-02T03:04:05Z, ...+05:30, fractions of a second ignored). Bars
 * must come in strictly rising time, with low <= open, close <= high.
 * Pure and streaming: the caller hands over lines, one state, no allocation.
 */
#ifndef AC_BARCSV_H
#define AC_BARCSV_H

#include <stddef.h>

#include "alert/utbot.h"

struct ac_barcsv {
	long		line;		/* the last line handed over, from 1 */
	int		ncols;		/* 0 until the header is read */
	int		has_volume;	/* column 6 is "volume" */
	long		nbars;		/* bars read so far */
	long long	last_time;
	char		err[160];	/* "line N: what is wrong" after a -1 */
};

void	ac_barcsv_init(struct ac_barcsv *r);

/* One line (without its newline; a trailing \r is dropped): 1 with *out
 * filled, 0 for the header or a blank line, -1 with r->err set. */
int	ac_barcsv_line(struct ac_barcsv *r, const char *line, size_t len, struct ac_bar *out);

/* An ISO-8601 time with a zone, or all digits (Unix seconds), as Unix
 * seconds; 0, or -1 with *errstr. */
int	ac_barcsv_time(const char *s, size_t len, long long *out, const char **errstr);

#endif
