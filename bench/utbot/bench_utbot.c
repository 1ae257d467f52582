/* bench_utbot.c — ns per bar of the UT Bot engine (lib/alert/utbot.c) over
 * a million bars of a seeded random walk, beside a loop that only sums the
 * same bars' closes: the cost of reading the bars, measured in the same
 * run, so the engine's own cost is the difference; and the same bars as
 * the CSV lines of a chart export through lib/alert/barcsv.c, what acctl
 * backtest adds to read them. Best of 5 runs each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/barcsv.h"
#include "alert/utbot.h"

#define RUNS	5

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A random walk from 100 (xorshift, fixed seed: every run the same bars). */
static void
walk(struct ac_bar *b, long n)
{
	unsigned long long x = 88172645463325252ULL;
	double c = 100;

	for (long i = 0; i < n; i++) {
		double o = c, r[3];

		for (int k = 0; k < 3; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			r[k] = (double)(x >> 11) / (1ULL << 53);
		}
		c = o * (1 + (r[0] - 0.5) * 0.02);
		b[i] = (struct ac_bar){ i * 60, o, (o > c ? o : c) * (1 + r[1] * 0.005),
		    (o < c ? o : c) * (1 - r[2] * 0.005), c, 0 };
	}
}

/* The bars as export lines, one after another, each ending in '\n'
 * (malloc'd), as acctl backtest would read them from the file. */
static char *
lines(const struct ac_bar *b, long n, size_t *len)
{
	char *s = malloc((size_t)n * 96 + 64), *p = s;

	if (s == NULL)
		exit(1);
	p += sprintf(p, "time,open,high,low,close\n");
	for (long i = 0; i < n; i++)
		p += sprintf(p, "%lld,%.6f,%.6f,%.6f,%.6f\n", b[i].time + 1, b[i].open, b[i].high,
		    b[i].low, b[i].close);
	*len = (size_t)(p - s);
	return s;
}

/* Seconds to read every line of text; the bars read into *nbars. */
static double
parse(const char *text, size_t len, long *nbars)
{
	struct ac_barcsv r;
	struct ac_bar b;
	const char *p = text, *end = text + len;
	double t = now();

	*nbars = 0;
	ac_barcsv_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		*nbars += ac_barcsv_line(&r, p, (size_t)(nl - p), &b) == 1;
		p = nl + 1;
	}
	return now() - t;
}

int
main(int argc, char *argv[])
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, signals = 0;
	struct ac_bar *b = malloc(sizeof(*b) * n);
	struct ac_utbot_params p = { 1, 10, 1, 0 };
	double base = 1e9, eng = 1e9, csv = 1e9, sum = 0;
	const char *errstr;

	if (b == NULL || n < 1)
		return 1;
	walk(b, n);
	for (int r = 0; r < RUNS; r++) {
		double t = now();
		volatile double s = 0;

		for (long i = 0; i < n; i++)
			s += b[i].close;
		t = now() - t;
		sum = s;
		base = t < base ? t : base;
	}
	for (int r = 0; r < RUNS; r++) {
		struct ac_utbot u;
		double t;

		signals = 0;
		ac_utbot_init(&u, &p, &errstr);
		t = now();
		for (long i = 0; i < n; i++)
			signals += ac_utbot_feed(&u, &b[i]) != AC_UTBOT_NONE;
		t = now() - t;
		eng = t < eng ? t : eng;
	}
	{
		size_t len;
		char *text = lines(b, n, &len);
		long got;

		for (int r = 0; r < RUNS; r++) {
			double t = parse(text, len, &got);

			csv = t < csv ? t : csv;
		}
		free(text);
		if (got != n)
			return 1;
	}
	printf("bars %ld (a 1, c 10, e 1; %ld signals; closes sum %.0f)\n", n, signals, sum);
	printf("baseline (sum the closes)  %8.2f ns/bar  %8.3f ms\n", base * 1e9 / n, base * 1e3);
	printf("UT Bot engine              %8.2f ns/bar  %8.3f ms\n", eng * 1e9 / n, eng * 1e3);
	printf("CSV lines (barcsv.c)       %8.2f ns/bar  %8.3f ms\n", csv * 1e9 / n, csv * 1e3);
	free(b);
	return 0;
}
