/*
 * metrics.h — the Prometheus text exposition format (version 0.0.4),
 * pure, and the counters that feed it, kept in Redis hashes so that they
 * survive a responder's or worker's restart and add up across processes
 * and hosts.
 *
 *	ac_metric_head(&b, "alertcast_x_total", "counter", "What x counts.");
 *	ac_metric_sample(&b, "alertcast_x_total", (const char *[]){ "status",
 *	    "202", NULL }, 3);
 *
 * A counter is one field of a hash (HINCRBY); a histogram is a hash whose
 * fields are "<series>|b<i>" (observations in bucket i, not cumulative),
 * "<series>|sum" (microunits) and "<series>|count", where <series> is the
 * label values joined by ',' ("" without labels).
 */
#ifndef AC_METRICS_H
#define AC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/redis.h"

/* The Redis hashes the writers fill and /metrics reads. */
#define AC_MK_WEBHOOK		"ac:m:webhook"		/* "<route>,<status>" → requests */
#define AC_MK_INGEST_SECONDS	"ac:m:ingest_s"		/* histogram by route */
#define AC_MK_DELIVERIES	"ac:m:deliveries"	/* "<channel>,<provider>,<status>" */
#define AC_MK_PROVIDER		"ac:m:provider"		/* "<provider>,<result>" → sends */
#define AC_MK_SEND_SECONDS	"ac:m:send_s"		/* histogram by channel */
#define AC_MK_CREDITS		"ac:m:credits"		/* "consumed", "refunded" */
#define AC_MK_WORKERS		"ac:m:workers"		/* host id → last round (unix s) */

/* Upper bounds (seconds) of the histograms' buckets, +Inf implied. */
#define AC_METRIC_INGEST_BUCKETS { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5 }
#define AC_METRIC_SEND_BUCKETS { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900 }
#define AC_METRIC_BUCKETS_MAX	16

/* ---- the exposition format ------------------------------------------------- */

/* "# HELP name help" (help escaped) and "# TYPE name type". */
void	ac_metric_head(struct ac_buf *b, const char *name, const char *type, const char *help);

/* One sample line: name, the labels (NULL-terminated name, value pairs,
 * values escaped; NULL: none) and v (integers exactly, +Inf, NaN). */
void	ac_metric_sample(struct ac_buf *b, const char *name, const char *const *labels,
	    double v);

/* A histogram's series: name_bucket for each bound and le="+Inf"
 * (cumulative), name_sum and name_count. counts has n + 1 entries, the
 * observations per bucket (the last above every bound). */
void	ac_metric_histogram(struct ac_buf *b, const char *name, const char *const *labels,
	    const double *bounds, const uint64_t *counts, size_t n, double sum);

/* The index of the bucket v falls in among n ascending bounds (n: above all). */
size_t	ac_metric_bucket(const double *bounds, size_t n, double v);

/* ---- counters in Redis ----------------------------------------------------- */

/* ac_redis_argv(), tried once more at once on a new connection when the
 * one in hand had been closed (Redis restarted: without this each thread's
 * first counter after a restart would be lost, and the next ones for the
 * handle's backoff). */
redisReply *ac_metric_redis(struct ac_redis *r, int argc, const char **argv);

/* Adds by to field of hash key; fails open (Redis away: nothing counted). */
void	ac_metric_count(struct ac_redis *r, const char *key, const char *field, long long by);

/* One observation v of the histogram key's series (see above), in one
 * round trip; fails open. */
void	ac_metric_observe(struct ac_redis *r, const char *key, const char *series,
	    const double *bounds, size_t n, double v);

#endif
