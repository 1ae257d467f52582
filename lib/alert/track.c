/* track.c — see track.h. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "alert/track.h"
#include "base/buf.h"

void
ac_track_init(struct ac_track *t, struct ac_track_point *points, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->points = points;
	t->cap = cap;
}

/* The month of t's last entry for a trade closed at when, added if new. */
static struct ac_track_month *
month_of(struct ac_track *t, long long when)
{
	time_t tt = (time_t)when;
	struct tm tm;
	struct ac_track_month *m;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	m = t->nmonths ? &t->months[t->nmonths - 1] : NULL;
	if (m != NULL && (m->year == tm.tm_year + 1900 && m->month == tm.tm_mon + 1))
		return m;
	if (t->nmonths == AC_TRACK_MONTHS_MAX)
		return m;
	m = &t->months[t->nmonths++];
	*m = (struct ac_track_month){ tm.tm_year + 1900, tm.tm_mon + 1, 0, 0, 0 };
	return m;
}

void
ac_track_closed(const struct ac_bt_trade *tr, void *arg)
{
	struct ac_track *t = arg;
	struct ac_track_month *m = month_of(t, tr->exit_time);

	t->trades++;
	t->wins += tr->pnl > 0;
	m->trades++;
	m->wins += tr->pnl > 0;
	m->pnl_percent += tr->pnl_percent;
	t->equity += tr->pnl_percent;
	if (t->equity > t->peak)
		t->peak = t->equity;
	if (t->peak - t->equity > t->max_drawdown)
		t->max_drawdown = t->peak - t->equity;
	if (t->cap == 0)
		return;
	if (t->npoints == t->cap)
		t->npoints--;
	t->points[t->npoints++] = (struct ac_track_point){ tr->exit_time, t->equity };
}

double
ac_track_win_rate(const struct ac_track *t)
{
	return t->trades > 0 ? (double)t->wins / t->trades : 0;
}

/* "2026-01-02" of a time. */
static void
day(long long when, char out[16])
{
	time_t tt = (time_t)when;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		strcpy(out, "?");
}

char *
ac_track_svg(const struct ac_track *t, long long start, int width, int height)
{
	const double left = 110, right = 10, top = 20, bottom = 36;
	double lo = 0, hi = 0, w = width - left - right, h = height - top - bottom, x, y;
	long long end = t->npoints ? t->points[t->npoints - 1].time : start;
	struct ac_buf b = AC_BUF_INIT;
	char d0[16], d1[16];

	for (size_t i = 0; i < t->npoints; i++) {
		lo = fmin(lo, t->points[i].equity);
		hi = fmax(hi, t->points[i].equity);
	}
	if (hi - lo < 1e-9)
		hi = lo + 1;
	if (end <= start)
		end = start + 1;
#define X(tm)	(left + w * (double)((tm) - start) / (double)(end - start))
#define Y(v)	(top + h * (hi - (v)) / (hi - lo))
	ac_buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
	    " width=\"100%%\" role=\"img\" aria-labelledby=\"equity-title\" class=\"ac-equity\">"
	    "<title id=\"equity-title\">Equity curve: the sum of the closed trades' results, in %%"
	    "</title>", width, height);
	ac_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#adb5bd\""
	    " stroke-dasharray=\"4 3\"/>", left, Y(0), left + w, Y(0));
	ac_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"20\" text-anchor=\"end\""
	    " fill=\"#6c757d\">%+.2f %%</text>", left - 6, Y(hi) + 4, hi);
	ac_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"20\" text-anchor=\"end\""
	    " fill=\"#6c757d\">%+.2f %%</text>", left - 6, Y(lo) + 4, lo);
	day(start, d0);
	day(end, d1);
	ac_buf_printf(&b, "<text x=\"%.1f\" y=\"%d\" font-size=\"20\" fill=\"#6c757d\">%s</text>"
	    "<text x=\"%.1f\" y=\"%d\" font-size=\"20\" text-anchor=\"end\" fill=\"#6c757d\">%s"
	    "</text>", left, height - 6, d0, left + w, height - 6, d1);
	ac_buf_printf(&b, "<polyline fill=\"none\" stroke=\"#0d6efd\" stroke-width=\"2\""
	    " stroke-linejoin=\"round\" points=\"%.1f,%.1f", X(start), Y(0));
	for (size_t i = 0; i < t->npoints; i++) {
		x = X(t->points[i].time);
		y = Y(t->points[i].equity);
		ac_buf_printf(&b, " %.1f,%.1f", x, y);
	}
	ac_buf_puts(&b, "\"/></svg>");
#undef X
#undef Y
	return ac_buf_take(&b);
}
