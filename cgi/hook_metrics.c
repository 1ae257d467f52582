/*
 * hook_metrics.c — GET /metrics (see cgi/hook.h) and the webhook counters.
 *
 * Every number comes from a place that outlives the process: the database
 * (queue, oldest due job, active users, and metric_counts, which triggers
 * move with the deliveries and the ledger, sql/020_metrics.sql), Redis
 * (webhook answers and ingest times, which ac-hook counts after each
 * answer, and the providers' breakers) and this host's spool. Each query
 * reads an index or a table that does not grow with the signals, so a
 * scrape costs the same at a million of them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/breaker.h"
#include "base/buf.h"
#include "base/channel.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "alert/spool.h"
#include "web/response.h"
#include "cgi/hook.h"

static const double ingest_bounds[] = AC_METRIC_INGEST_BUCKETS;
static const double send_bounds[] = AC_METRIC_SEND_BUCKETS;
#define NBOUNDS(a)	(sizeof(a) / sizeof((a)[0]))

static const struct ac_stmt st_metrics = { "hook_metrics",
	"SELECT json_build_object("
	/* each state through its own index: pending (jobs_due), running
	 * (jobs_leased), failed and dead (jobs_stuck); done is not read */
	" 'queue', (SELECT coalesce(json_agg(q), '[]') FROM ("
	"   SELECT kind, 'pending' AS state, count(*) AS n FROM jobs WHERE state = 'pending'"
	"   GROUP BY kind UNION ALL"
	"   SELECT kind, 'running', count(*) FROM jobs WHERE state = 'running' GROUP BY kind"
	"   UNION ALL SELECT kind, state, count(*) FROM jobs"
	"   WHERE state IN ('failed', 'dead') GROUP BY kind, state) q),"
	" 'oldest_due_s', (SELECT coalesce(extract(epoch FROM now() - min(run_at)), 0)"
	"   FROM jobs WHERE state = 'pending' AND run_at <= now()),"
	" 'active_users', (SELECT count(DISTINCT user_id) FROM subscriptions"
	"   WHERE status = 'active' AND period_end > now()),"
	" 'counts', (SELECT coalesce(json_object_agg(key, n), '{}') FROM"
	"   (SELECT key, sum(n)::bigint AS n FROM metric_counts GROUP BY key) c),"
	" 'workers', (SELECT coalesce(json_object_agg(host, extract(epoch FROM seen_at)), '{}')"
	"   FROM worker_heartbeats),"
	/* one row per strategy that beats, one per open incident */
	" 'beats', (SELECT coalesce(json_agg(json_build_object('id', h.strategy_id::text,"
	"   'age', extract(epoch FROM now() - h.seen_at), 'bar', ac_timeframe_seconds(s.timeframe))"
	"   ORDER BY h.strategy_id), '[]') FROM strategy_heartbeats h"
	"   JOIN strategies s ON s.id = h.strategy_id WHERE s.status <> 'inactive'),"
	" 'incidents', (SELECT coalesce(json_agg(json_build_object('id', strategy_id::text,"
	"   'kind', kind) ORDER BY strategy_id, kind), '[]') FROM strategy_incidents"
	"   WHERE closed_at IS NULL))", 0 };

/* The database's part, shared by the threads. */
static struct {
	pthread_mutex_t	 lock;
	char		*text;		/* malloc'd exposition text, or NULL */
	int64_t		 at;		/* monotonic ms it was made */
} cache = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };

/* Splits a "a|b|c" key after its prefix into at most n parts (in place). */
static int
split(char *s, char sep, char **parts, int n)
{
	int k = 0;

	parts[k++] = s;
	for (; *s && k < n; s++)
		if (*s == sep) {
			*s = '\0';
			parts[k++] = s + 1;
		}
	return k;
}

/* The counters of metric_counts whose key starts with prefix ("deliveries|"),
 * as name{labels...} from the key's parts. */
static void
put_counts(struct ac_buf *b, json_t *counts, const char *prefix, const char *name,
    const char *const *labels, int nlabels)
{
	const char *key;
	json_t *v;
	size_t plen = strlen(prefix);

	json_object_foreach(counts, key, v) {
		char copy[256], *parts[4];
		const char *lv[9];

		if (strncmp(key, prefix, plen) != 0 || strlen(key) >= sizeof(copy))
			continue;
		snprintf(copy, sizeof(copy), "%s", key + plen);
		if (split(copy, '|', parts, nlabels) != nlabels)
			continue;
		for (int i = 0; i < nlabels; i++) {
			lv[2 * i] = labels[i];
			lv[2 * i + 1] = parts[i];
		}
		lv[2 * nlabels] = NULL;
		ac_metric_sample(b, name, lv, (double)json_integer_value(v));
	}
}

/* The alert→send histogram per channel from metric_counts' send_s| keys. */
static void
put_send_latency(struct ac_buf *b, json_t *counts)
{
	static const char name[] = "alertcast_send_latency_seconds";

	ac_metric_head(b, name, "histogram",
	    "Seconds from an alert's arrival to its delivery accepted by the provider, by channel.");
	for (int ch = 0; ch < AC_CH__MAX; ch++) {
		uint64_t n[AC_METRIC_BUCKETS_MAX + 1] = { 0 };
		char key[96];
		json_t *v;

		snprintf(key, sizeof(key), "send_s|%s|count", ac_channel_name(ch));
		if (json_object_get(counts, key) == NULL)
			continue;
		for (size_t i = 0; i <= NBOUNDS(send_bounds); i++) {
			snprintf(key, sizeof(key), "send_s|%s|b%zu", ac_channel_name(ch), i);
			n[i] = (uint64_t)json_integer_value(json_object_get(counts, key));
		}
		snprintf(key, sizeof(key), "send_s|%s|sum_ms", ac_channel_name(ch));
		v = json_object_get(counts, key);
		ac_metric_histogram(b, name, (const char *[]){ "channel", ac_channel_name(ch),
		    NULL }, send_bounds, n, NBOUNDS(send_bounds),
		    (double)json_integer_value(v) / 1000.0);
	}
}

/* A gauge of each beating strategy: its row's field of the statement's beats. */
static void
put_beats(struct ac_buf *b, json_t *m, const char *name, const char *help, const char *field)
{
	json_t *row;
	size_t i;

	ac_metric_head(b, name, "gauge", help);
	json_array_foreach(json_object_get(m, "beats"), i, row)
		ac_metric_sample(b, name, (const char *[]){ "strategy",
		    json_string_value(json_object_get(row, "id")), NULL },
		    json_number_value(json_object_get(row, field)));
}

/* Each beating strategy's last heartbeat age and bar, and the open
 * incidents (lib/work/health.h), from the statement's beats and incidents. */
static void
put_strategy_health(struct ac_buf *b, json_t *m)
{
	json_t *row;
	size_t i;

	put_beats(b, m, "alertcast_strategy_heartbeat_age_seconds",
	    "Seconds since each strategy's last heartbeat (strategies that send them).", "age");
	put_beats(b, m, "alertcast_strategy_bar_seconds",
	    "The bar of each strategy that sends heartbeats: one is due every bar.", "bar");
	ac_metric_head(b, "alertcast_strategy_incident_open", "gauge",
	    "1 for each open strategy incident the worker judged (silent, burst, "
	    "estimated_silence).");
	json_array_foreach(json_object_get(m, "incidents"), i, row)
		ac_metric_sample(b, "alertcast_strategy_incident_open", (const char *[]){
		    "strategy", json_string_value(json_object_get(row, "id")), "kind",
		    json_string_value(json_object_get(row, "kind")), NULL }, 1);
}

/* The database's part as text (malloc'd), or NULL when it cannot be read. */
static char *
db_part(struct ac_db *db)
{
	struct ac_buf b = AC_BUF_INIT;
	json_t *m, *row, *counts, *v;
	const char *key;
	size_t i;
	int found;

	if ((m = ac_db_json(db, &st_metrics, NULL, &found)) == NULL)
		return NULL;
	ac_metric_head(&b, "alertcast_queue_depth", "gauge",
	    "Jobs in the queue by kind and state (done jobs are not counted).");
	json_array_foreach(json_object_get(m, "queue"), i, row)
		ac_metric_sample(&b, "alertcast_queue_depth", (const char *[]){ "kind",
		    json_string_value(json_object_get(row, "kind")), "state",
		    json_string_value(json_object_get(row, "state")), NULL },
		    (double)json_integer_value(json_object_get(row, "n")));
	ac_metric_head(&b, "alertcast_queue_oldest_due_seconds", "gauge",
	    "Age of the oldest pending job that is due (0 when none waits).");
	ac_metric_sample(&b, "alertcast_queue_oldest_due_seconds", NULL,
	    json_number_value(json_object_get(m, "oldest_due_s")));
	ac_metric_head(&b, "alertcast_active_users", "gauge",
	    "Users with an active subscription now.");
	ac_metric_sample(&b, "alertcast_active_users", NULL,
	    (double)json_integer_value(json_object_get(m, "active_users")));

	counts = json_object_get(m, "counts");
	ac_metric_head(&b, "alertcast_deliveries_total", "counter",
	    "Deliveries by channel, provider and status: queued and skipped when created "
	    "(provider none), sent and failed when finished.");
	put_counts(&b, counts, "deliveries|", "alertcast_deliveries_total",
	    (const char *[]){ "channel", "provider", "status" }, 3);
	ac_metric_head(&b, "alertcast_provider_attempts_total", "counter",
	    "Sends that reached a provider, by provider and result (sent, failed, retry).");
	put_counts(&b, counts, "attempts|", "alertcast_provider_attempts_total",
	    (const char *[]){ "provider", "result" }, 2);
	put_send_latency(&b, counts);
	ac_metric_head(&b, "alertcast_credits_consumed_total", "counter",
	    "Credits charged for deliveries (the ledger's usage entries).");
	ac_metric_sample(&b, "alertcast_credits_consumed_total", NULL,
	    (double)json_integer_value(json_object_get(counts, "credits|consumed")));
	ac_metric_head(&b, "alertcast_credits_refunded_total", "counter",
	    "Credits given back (the ledger's refund entries).");
	ac_metric_sample(&b, "alertcast_credits_refunded_total", NULL,
	    (double)json_integer_value(json_object_get(counts, "credits|refunded")));
	ac_metric_head(&b, "alertcast_worker_last_seen_timestamp_seconds", "gauge",
	    "When each worker host last went round its loop (Unix time).");
	json_object_foreach(json_object_get(m, "workers"), key, v)
		ac_metric_sample(&b, "alertcast_worker_last_seen_timestamp_seconds",
		    (const char *[]){ "host", key, NULL }, json_number_value(v));
	put_strategy_health(&b, m);
	json_decref(m);
	return ac_buf_take(&b);
}

/* The cached database part appended to b: 1, or 0 when it cannot be read. */
static int
put_db_part(struct ac_buf *b, struct ac_db *db)
{
	int64_t now = ac_mono_ms();
	int ok;

	pthread_mutex_lock(&cache.lock);
	if (cache.text == NULL || now - cache.at >= HOOK_METRICS_CACHE_MS) {
		char *t = db_part(db);

		if (t != NULL || now - cache.at >= 5 * HOOK_METRICS_CACHE_MS) {
			free(cache.text);
			cache.text = t;
			cache.at = now;
		}
	}
	if ((ok = cache.text != NULL))
		ac_buf_puts(b, cache.text);
	pthread_mutex_unlock(&cache.lock);
	return ok;
}

/* HGETALL of key, or NULL (Redis away, or not a hash). */
static redisReply *
hgetall(struct ac_redis *redis, const char *key)
{
	const char *argv[2] = { "HGETALL", key };
	redisReply *r = ac_metric_redis(redis, 2, argv);

	if (r != NULL && r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* The webhook counters and the ingest histogram: 1, or 0 if Redis is away. */
static int
put_redis_part(struct ac_buf *b, struct ac_redis *redis)
{
	static const char *const routes[] = { "tv", "stripe", "telegram", "other" };
	redisReply *w, *h;

	if ((w = hgetall(redis, AC_MK_WEBHOOK)) == NULL)
		return 0;
	ac_metric_head(b, "alertcast_webhook_requests_total", "counter",
	    "Webhook requests answered by ac-hook, by route and HTTP status code.");
	for (size_t i = 0; i + 1 < w->elements; i += 2) {
		char copy[64], *parts[2];

		snprintf(copy, sizeof(copy), "%s", w->element[i]->str);
		if (split(copy, ',', parts, 2) == 2)
			ac_metric_sample(b, "alertcast_webhook_requests_total", (const char *[]){
			    "route", parts[0], "code", parts[1], NULL },
			    strtod(w->element[i + 1]->str, NULL));
	}
	freeReplyObject(w);
	if ((h = hgetall(redis, AC_MK_INGEST_SECONDS)) == NULL)
		return 0;
	ac_metric_head(b, "alertcast_ingest_duration_seconds", "histogram",
	    "Seconds from a webhook's arrival at ac-hook to its answer, by route.");
	for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++) {
		uint64_t n[AC_METRIC_BUCKETS_MAX + 1] = { 0 };
		size_t plen = strlen(routes[k]);
		double sum = 0;
		int seen = 0;

		for (size_t i = 0; i + 1 < h->elements; i += 2) {
			const char *f = h->element[i]->str, *v = h->element[i + 1]->str;
			unsigned long long bi;

			if (strncmp(f, routes[k], plen) != 0 || f[plen] != '|')
				continue;
			seen = 1;
			f += plen + 1;
			if (strcmp(f, "sum") == 0)
				sum = strtod(v, NULL) / 1e6;
			else if (f[0] == 'b' && (bi = strtoull(f + 1, NULL, 10)) <=
			    NBOUNDS(ingest_bounds))
				n[bi] = strtoull(v, NULL, 10);
		}
		if (seen)
			ac_metric_histogram(b, "alertcast_ingest_duration_seconds",
			    (const char *[]){ "route", routes[k], NULL }, ingest_bounds, n,
			    NBOUNDS(ingest_bounds), sum);
	}
	freeReplyObject(h);
	return 1;
}

/* Every provider's breaker as the workers share it: 1, or 0 if Redis is away. */
static int
put_breakers(struct ac_buf *b, struct ac_redis *redis)
{
	static const char *const names[] = { "closed", "open", "half_open" };
	int64_t now = ac_now_ms();
	char key[64];

	ac_metric_head(b, "alertcast_provider_breaker_state", "gauge",
	    "Each provider's circuit breaker: 1 for the state it is in, 0 for the others.");
	for (int p = 0; p < AC_PROV__MAX; p++) {
		const char *argv[2] = { "GET", key };
		struct ac_breaker br = { 0 };
		redisReply *r;
		int st;

		snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
		if ((r = ac_metric_redis(redis, 2, argv)) == NULL)
			return 0;
		if (r->type != REDIS_REPLY_STRING || ac_breaker_parse(r->str, &br) == -1)
			memset(&br, 0, sizeof(br));
		freeReplyObject(r);
		st = ac_breaker_state(&br, now);
		for (int s = 0; s < 3; s++)
			ac_metric_sample(b, "alertcast_provider_breaker_state", (const char *[]){
			    "provider", ac_prov_name(p), "state", names[s], NULL }, s == st);
	}
	return 1;
}

void
hook_metrics(struct ac_req *r, struct ac_db *db, struct ac_redis *redis, const char *state_dir)
{
	struct ac_buf b = AC_BUF_INIT;
	long long spool = ac_spool_bytes(state_dir);
	int db_ok = put_db_part(&b, db);
	int redis_ok = put_redis_part(&b, redis) && put_breakers(&b, redis);

	ac_metric_head(&b, "alertcast_spool_bytes", "gauge",
	    "Bytes of alerts in this host's spool, waiting for the database.");
	ac_metric_sample(&b, "alertcast_spool_bytes", NULL, (double)spool);
	ac_metric_head(&b, "alertcast_up", "gauge",
	    "1 if this scrape could read the part (database, redis), else 0.");
	ac_metric_sample(&b, "alertcast_up", (const char *[]){ "part", "database", NULL }, db_ok);
	ac_metric_sample(&b, "alertcast_up", (const char *[]){ "part", "redis", NULL }, redis_ok);
	ac_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.p, b.len);
	ac_buf_free(&b);
}

void
hook_metrics_count(struct ac_redis *redis, const char *route, int status, double seconds)
{
	char field[64];

	snprintf(field, sizeof(field), "%s,%d", route, status);
	ac_metric_count(redis, AC_MK_WEBHOOK, field, 1);
	ac_metric_observe(redis, AC_MK_INGEST_SECONDS, route, ingest_bounds,
	    NBOUNDS(ingest_bounds), seconds);
}
