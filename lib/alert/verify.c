/* verify.c — see verify.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/barcsv.h"
#include "alert/verify.h"

int
ac_verify_bars(const char *text, size_t len, struct ac_bar **out, size_t *n, char *err,
    size_t errsz)
{
	struct ac_barcsv r;
	struct ac_bar *v = NULL, *grown;
	size_t cap = 0, off = 0;

	*out = NULL;
	*n = 0;
	ac_barcsv_init(&r);
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (text + off)) : len - off;
		struct ac_bar b;
		int rc = ac_barcsv_line(&r, text + off, l, &b);

		off += l + (nl != NULL);
		if (rc < 0) {
			snprintf(err, errsz, "%s", r.err);
			free(v);
			return -1;
		}
		if (rc == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((grown = reallocarray(v, cap, sizeof(*v))) == NULL) {
				snprintf(err, errsz, "out of memory after %zu bars", *n);
				free(v);
				return -1;
			}
			v = grown;
		}
		v[(*n)++] = b;
	}
	if (*n == 0) {
		snprintf(err, errsz, "no bar: the file needs a header line and one bar a line");
		return -1;
	}
	*out = v;
	return 0;
}

size_t
ac_verify_recompute(struct ac_utbot *u, const struct ac_bar *bars, size_t n,
    struct ac_vsignal *out)
{
	size_t k = 0;
	enum ac_utbot_signal s;

	for (size_t i = 0; i < n; i++)
		if ((s = ac_utbot_feed(u, &bars[i])) != AC_UTBOT_NONE)
			out[k++] = (struct ac_vsignal){ (long)i, s, 0, 0, 0 };
	return k;
}

/* The index of the last bar whose open is <= t, or -1. */
static long
last_open_by(const struct ac_bar *bars, size_t n, long long t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bars[mid].time <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

long
ac_verify_bar(const struct ac_bar *bars, size_t n, long long tf, long long alert_time,
    long long arrived)
{
	long i;

	if (n == 0)
		return -1;
	if (alert_time > 0 && (i = last_open_by(bars, n, alert_time)) >= 0 &&
	    bars[i].time == alert_time)
		return i;
	return last_open_by(bars, n, (alert_time > 0 ? alert_time : arrived) - tf);
}

/* Pairs each unpaired want with an unpaired got of its action within
 * window bars (0: the same bar only), the nearest, the earlier on a tie;
 * the pairs are written to out as MOVED unless on the same bar. */
static void
pair(struct ac_vsignal *want, size_t nwant, struct ac_vsignal *got, size_t ngot, long window,
    struct ac_verify_diff *out, size_t *k, struct ac_verify_sum *sum)
{
	size_t from = 0;

	for (size_t i = 0; i < nwant; i++) {
		long best = -1, dist = window + 1;

		if (want[i].paired)
			continue;
		while (from < ngot && got[from].bar < want[i].bar - window)
			from++;
		for (size_t j = from; j < ngot && got[j].bar <= want[i].bar + window; j++) {
			long d = labs(got[j].bar - want[i].bar);

			if (!got[j].paired && got[j].action == want[i].action && d < dist) {
				best = (long)j;
				dist = d;
			}
		}
		if (best < 0)
			continue;
		want[i].paired = got[best].paired = 1;
		if (dist == 0) {
			sum->matched++;
			continue;
		}
		sum->moved++;
		out[(*k)++] = (struct ac_verify_diff){ AC_VERIFY_MOVED, want[i].action, want[i].bar,
		    got[best].bar, got[best].id, got[best].at };
	}
}

/* A difference's bar, for the order: the engine's, else the stored one's. */
static int
by_bar(const void *a, const void *b)
{
	const struct ac_verify_diff *x = a, *y = b;
	long bx = x->want_bar >= 0 ? x->want_bar : x->got_bar;
	long by = y->want_bar >= 0 ? y->want_bar : y->got_bar;

	if (bx != by)
		return bx < by ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

size_t
ac_verify_compare(struct ac_vsignal *want, size_t nwant, struct ac_vsignal *got, size_t ngot,
    long window, struct ac_verify_diff *out, struct ac_verify_sum *sum)
{
	size_t k = 0;

	memset(sum, 0, sizeof(*sum));
	sum->recomputed = (long)nwant;
	sum->stored = (long)ngot;
	for (size_t i = 0; i < nwant; i++)
		want[i].paired = 0;
	for (size_t j = 0; j < ngot; j++)
		got[j].paired = 0;
	/* the same bar first, so a near one never takes an exact match's place */
	pair(want, nwant, got, ngot, 0, out, &k, sum);
	pair(want, nwant, got, ngot, window, out, &k, sum);
	for (size_t i = 0; i < nwant; i++)
		if (!want[i].paired) {
			sum->missing++;
			out[k++] = (struct ac_verify_diff){ AC_VERIFY_MISSING, want[i].action,
			    want[i].bar, -1, 0, 0 };
		}
	for (size_t j = 0; j < ngot; j++)
		if (!got[j].paired) {
			sum->extra++;
			out[k++] = (struct ac_verify_diff){ AC_VERIFY_EXTRA, got[j].action, -1,
			    got[j].bar, got[j].id, got[j].at };
		}
	qsort(out, k, sizeof(*out), by_bar);
	return k;
}

const char *
ac_verify_kind_name(enum ac_verify_kind k)
{
	static const char *const names[] = { [AC_VERIFY_MISSING] = "missing",
	    [AC_VERIFY_EXTRA] = "extra", [AC_VERIFY_MOVED] = "different_bar" };

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "extra";
}
