/* metrics.c — see metrics.h. */
#include <math.h>	/* isnan, isinf: macros, no libm */
#include <stdio.h>
#include <string.h>

#include "base/metrics.h"

/* s with '\\' and newlines escaped, and '"' too when quote is set (label
 * values escape all three, HELP texts the first two). */
static void
put_escaped(struct ac_buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			ac_buf_puts(b, "\\\\");
		else if (*s == '\n')
			ac_buf_puts(b, "\\n");
		else if (*s == '"' && quote)
			ac_buf_puts(b, "\\\"");
		else
			ac_buf_putc(b, *s);
	}
}

void
ac_metric_head(struct ac_buf *b, const char *name, const char *type, const char *help)
{
	ac_buf_printf(b, "# HELP %s ", name);
	put_escaped(b, help, 0);
	ac_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void
put_value(struct ac_buf *b, double v)
{
	if (isnan(v))
		ac_buf_puts(b, "NaN");
	else if (isinf(v))
		ac_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		ac_buf_printf(b, "%.0f", v);
	else
		ac_buf_printf(b, "%.9g", v);
}

/* name{labels[,extra="value"]} */
static void
put_series(struct ac_buf *b, const char *name, const char *const *labels, const char *extra,
    const char *extra_value)
{
	int n = 0;

	ac_buf_puts(b, name);
	for (; labels && labels[0] && labels[1]; labels += 2, n++) {
		ac_buf_printf(b, "%s%s=\"", n ? "," : "{", labels[0]);
		put_escaped(b, labels[1], 1);
		ac_buf_putc(b, '"');
	}
	if (extra) {
		ac_buf_printf(b, "%s%s=\"", n++ ? "," : "{", extra);
		put_escaped(b, extra_value, 1);
		ac_buf_putc(b, '"');
	}
	if (n)
		ac_buf_putc(b, '}');
}

void
ac_metric_sample(struct ac_buf *b, const char *name, const char *const *labels, double v)
{
	put_series(b, name, labels, NULL, NULL);
	ac_buf_putc(b, ' ');
	put_value(b, v);
	ac_buf_putc(b, '\n');
}

void
ac_metric_histogram(struct ac_buf *b, const char *name, const char *const *labels,
    const double *bounds, const uint64_t *counts, size_t n, double sum)
{
	char series[128], le[32];
	uint64_t cum = 0;

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i <= n; i++) {
		cum += counts[i];
		if (i < n)
			snprintf(le, sizeof(le), "%.9g", bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		put_series(b, series, labels, "le", le);
		ac_buf_printf(b, " %llu\n", (unsigned long long)cum);
	}
	snprintf(series, sizeof(series), "%s_sum", name);
	ac_metric_sample(b, series, labels, sum);
	snprintf(series, sizeof(series), "%s_count", name);
	ac_metric_sample(b, series, labels, (double)cum);
}

size_t
ac_metric_bucket(const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

redisReply *
ac_metric_redis(struct ac_redis *r, int argc, const char **argv)
{
	int had = r->c != NULL;
	redisReply *rep = ac_redis_argv(r, argc, argv);

	if (rep == NULL && had && r->c == NULL) {
		r->retry_at = 0;	/* dropped just now: a new connection, once */
		rep = ac_redis_argv(r, argc, argv);
	}
	return rep;
}

void
ac_metric_count(struct ac_redis *r, const char *key, const char *field, long long by)
{
	char n[24];
	const char *argv[4] = { "HINCRBY", key, field, n };
	redisReply *rep;

	snprintf(n, sizeof(n), "%lld", by);
	if ((rep = ac_metric_redis(r, 4, argv)) != NULL)
		freeReplyObject(rep);
}

/* One EVAL: the bucket, the sum (microunits) and the count move together. */
static const char observe_lua[] =
	"redis.call('HINCRBY', KEYS[1], ARGV[1], 1) "
	"redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[4]) "
	"return redis.call('HINCRBY', KEYS[1], ARGV[3], 1)";

void
ac_metric_observe(struct ac_redis *r, const char *key, const char *series,
    const double *bounds, size_t n, double v)
{
	char fb[160], fs[160], fc[160], us[32];
	const char *argv[] = { "EVAL", observe_lua, "1", key, fb, fs, fc, us };
	redisReply *rep;

	snprintf(fb, sizeof(fb), "%s|b%zu", series, ac_metric_bucket(bounds, n, v));
	snprintf(fs, sizeof(fs), "%s|sum", series);
	snprintf(fc, sizeof(fc), "%s|count", series);
	snprintf(us, sizeof(us), "%lld", (long long)(v * 1e6 + 0.5));
	if ((rep = ac_metric_redis(r, 8, argv)) != NULL)
		freeReplyObject(rep);
}
