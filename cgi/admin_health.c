/*
 * admin_health.c — the pipeline's health and the audit log (see
 * cgi/admin.h):
 *
 *	GET  /admin/health		queues, dead jobs, deliveries, breakers,
 *					latency, signals a day — charts and tables
 *	POST /admin/jobs/{id}/retry	a dead or failed job back to pending
 *	GET  /admin/audit		the audit log, filtered, paged
 *
 * The charts are SVG drawn here (bars: geometry computed in C, markup in
 * the chart template), so the page needs no JavaScript; every chart's
 * numbers are also in a table beside it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/breaker.h"
#include "base/channel.h"
#include "base/log.h"
#include "base/queue.h"
#include "base/redis.h"
#include "base/util.h"
#include "cgi/admin.h"

#define AUDIT_PAGE	100

static void	health_page(struct ac_call *);
static void	job_retry(struct ac_call *);
static void	audit_page(struct ac_call *);

enum { AUDIT_ACTOR, AUDIT_ACTION, AUDIT_TARGET, AUDIT_BEFORE };
static const struct ac_field_decl audit_fields[] = {
	[AUDIT_ACTOR] = { "actor", AC_F_STRING, AC_FROM_QUERY, AC_F_LENIENT, .max = 64 },
	[AUDIT_ACTION] = { "action", AC_F_STRING, AC_FROM_QUERY, AC_F_LENIENT, .max = 64 },
	[AUDIT_TARGET] = { "target", AC_F_STRING, AC_FROM_QUERY, AC_F_LENIENT, .max = 200 },
	[AUDIT_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/health", health_page, AC_P_SYSTEM_LOGS) },
	{ ADMIN_POST("/admin/jobs/{id}/retry", job_retry, AC_P_SYSTEM_SETTINGS) },
	{ ADMIN_GET("/admin/audit", audit_page, AC_P_SYSTEM_LOGS), .fields = audit_fields },
};

static const struct admin_flash flashes[] = {
	{ "job_retried", "The job is pending again; a worker takes it on its next round." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_health_area, routes, flashes);

/* ---- the numbers ------------------------------------------------------------ */

/* Everything the page shows but the breakers, in one statement. */
static const struct ac_stmt st_health = { "admin_health",
	"SELECT json_build_object("
	/* the queue: kinds by state (done: the last day) */
	" 'queue', (SELECT coalesce(json_agg(q ORDER BY q.kind), '[]') FROM (SELECT kind,"
	"   count(*) FILTER (WHERE state = 'pending') AS pending,"
	"   count(*) FILTER (WHERE state = 'pending' AND run_at <= now()) AS due,"
	"   count(*) FILTER (WHERE state = 'running') AS running,"
	"   count(*) FILTER (WHERE state = 'failed') AS failed,"
	"   count(*) FILTER (WHERE state = 'dead') AS dead,"
	"   count(*) FILTER (WHERE state = 'done') AS done_24h"
	"   FROM jobs WHERE state <> 'done' OR finished_at > now() - interval '1 day'"
	"   GROUP BY kind) q),"
	" 'oldest_due_s', (SELECT round(extract(epoch FROM now() - min(run_at)))::bigint"
	"   FROM jobs WHERE state = 'pending' AND run_at <= now()),"
	" 'dead', (SELECT coalesce(json_agg(d ORDER BY d.id DESC), '[]') FROM (SELECT id, kind,"
	"   attempts, left(coalesce(last_error, ''), 300) AS error,"
	"   to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS at"
	"   FROM jobs WHERE state IN ('dead', 'failed') ORDER BY id DESC LIMIT 50) d),"
	/* deliveries of the last day by channel, provider and status */
	" 'deliveries', (SELECT coalesce(json_agg(x ORDER BY x.channel, x.provider), '[]') FROM"
	"  (SELECT channel, coalesce(provider, '—') AS provider,"
	"   channel || ' · ' || coalesce(provider, '—') AS label,"
	"   count(*) FILTER (WHERE status = 'sent') AS sent,"
	"   count(*) FILTER (WHERE status = 'failed') AS failed,"
	"   count(*) FILTER (WHERE status = 'skipped') AS skipped,"
	"   count(*) FILTER (WHERE status = 'queued') AS queued, count(*) AS total"
	"   FROM deliveries WHERE created_at > now() - interval '1 day'"
	"   GROUP BY channel, coalesce(provider, '—')) x),"
	/* alert (received) to the provider's acceptance (sent), the last day */
	" 'latency', (SELECT coalesce(json_agg(l ORDER BY l.channel), '[]') FROM (SELECT d.channel,"
	"   count(*) AS n,"
	"   round((percentile_cont(0.5) WITHIN GROUP (ORDER BY"
	"    extract(epoch FROM d.sent_at - s.received_at)) * 1000)::numeric) AS p50_ms,"
	"   round((percentile_cont(0.99) WITHIN GROUP (ORDER BY"
	"    extract(epoch FROM d.sent_at - s.received_at)) * 1000)::numeric) AS p99_ms"
	"   FROM deliveries d JOIN signals s ON s.id = d.signal_id"
	"   WHERE d.status = 'sent' AND d.sent_at IS NOT NULL"
	"   AND d.created_at > now() - interval '1 day' GROUP BY d.channel) l),"
	/* signals a day per strategy, the last 14 days (UTC) */
	" 'days', (SELECT json_agg(to_char(day, 'MM-DD') ORDER BY day) FROM generate_series("
	"   date_trunc('day', now() AT TIME ZONE 'UTC') - interval '13 days',"
	"   date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') day),"
	" 'per_day', (SELECT coalesce(json_agg(t ORDER BY t.day), '[]') FROM (SELECT"
	"   to_char(day, 'MM-DD') AS day, (SELECT count(*) FROM signals s"
	"   WHERE s.received_at >= day AT TIME ZONE 'UTC'"
	"   AND s.received_at < (day + interval '1 day') AT TIME ZONE 'UTC') AS n"
	"   FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '13 days',"
	"   date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') day) t),"
	" 'strategies', (SELECT coalesce(json_agg(st ORDER BY st.name), '[]') FROM (SELECT"
	"   g.id, g.name, (SELECT json_agg(coalesce(c.n, 0) ORDER BY dd.day) FROM generate_series("
	"    date_trunc('day', now() AT TIME ZONE 'UTC') - interval '13 days',"
	"    date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') dd(day)"
	"    LEFT JOIN (SELECT date_trunc('day', s.received_at AT TIME ZONE 'UTC') AS day,"
	"     count(*) AS n FROM signals s WHERE s.strategy_id = g.id"
	"     AND s.received_at > now() - interval '15 days' GROUP BY 1) c ON c.day = dd.day) AS counts"
	"   FROM strategies g WHERE EXISTS (SELECT 1 FROM signals s WHERE s.strategy_id = g.id"
	"   AND s.received_at > now() - interval '14 days')) st),"
	/* strategy incidents (lib/work/health.h): the open ones, then the last closed */
	" 'incidents', (SELECT coalesce(json_agg(x ORDER BY x.closed, x.id DESC), '[]') FROM"
	"  (SELECT i.id, i.strategy_id, s.name AS strategy, i.kind,"
	"   replace(i.kind, '_', ' ') AS kind_label, i.detail,"
	"   to_char(i.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS opened_at,"
	"   to_char(i.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS closed_at,"
	"   i.closed_at IS NOT NULL AS closed FROM strategy_incidents i"
	"   JOIN strategies s ON s.id = i.strategy_id"
	"   WHERE i.closed_at IS NULL OR i.id IN (SELECT id FROM strategy_incidents"
	"   WHERE closed_at IS NOT NULL ORDER BY id DESC LIMIT 20)) x))", 0 };

/* The open strategy incidents, for the banner on every page. */
static const struct ac_stmt st_banner = { "admin_incident_banner",
	"SELECT json_agg(json_build_object('id', i.id, 'strategy_id', i.strategy_id,"
	" 'strategy', s.name, 'symbol', s.symbol, 'timeframe', s.timeframe,"
	" 'kind_label', replace(i.kind, '_', ' '), 'estimate', i.kind = 'estimated_silence',"
	" 'detail', i.detail,"
	" 'opened_at', to_char(i.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'))"
	" ORDER BY i.opened_at, i.id) FROM strategy_incidents i"
	" JOIN strategies s ON s.id = i.strategy_id WHERE i.closed_at IS NULL", 0 };

void
admin_health_banner(json_t *data)
{
	json_t *open;
	int found;

	/* NULL: none open, or the database did not answer (logged); the page
	 * goes on without the banner either way */
	if ((open = ac_db_json(site.db, &st_banner, NULL, &found)) == NULL)
		return;
	json_object_set_new(data, "banner", json_pack("{s:o}", "incidents", open));
}

/* ---- charts ------------------------------------------------------------------ */

#define CHART_W		560
#define CHART_H		160
#define CHART_PAD	24	/* room for the labels under the bars */

/* One series of a chart: the rows' integer key, its colour and name. */
struct series {
	const char	*key;
	const char	*colour;
	const char	*name;
};

/*
 * A bar chart of the rows of arr, labelled by key lk, each bar the stack of
 * the series (NULL-terminated by key): {"w", "h", "max", "legend": [{"name",
 * "colour"}], "bars": [{"lx", "ly", "label", "parts": [{"x", "y", "w",
 * "h", "colour", "name", "value"}]}]} for the chart template, or null when
 * every bar is 0.
 */
static json_t *
bars(const json_t *arr, const char *lk, const struct series *ser)
{
	size_t n = json_array_size(arr), i;
	double max = 0, slot, y, h, v, sum;
	json_t *b, *row, *parts, *legend;
	const struct series *s;

	json_array_foreach(arr, i, row) {
		for (sum = 0, s = ser; s->key; s++)
			sum += (double)json_integer_value(json_object_get(row, s->key));
		if (sum > max)
			max = sum;
	}
	if (n == 0 || max <= 0)
		return json_null();
	slot = (double)CHART_W / (double)n;
	b = json_array();
	json_array_foreach(arr, i, row) {
		parts = json_array();
		y = CHART_H - CHART_PAD;
		for (s = ser; s->key; s++) {
			v = (double)json_integer_value(json_object_get(row, s->key));
			if (v <= 0)
				continue;
			h = v / max * (CHART_H - CHART_PAD - 14);
			if (h < 1)
				h = 1;
			y -= h;
			json_array_append_new(parts, json_pack("{s:i, s:i, s:i, s:i, s:s, s:s, s:I}",
			    "x", (int)(i * slot + slot * 0.15), "y", (int)y,
			    "w", (int)(slot * 0.7 > 1 ? slot * 0.7 : 1), "h", (int)(h + 0.5),
			    "colour", s->colour, "name", s->name, "value", (json_int_t)v));
		}
		json_array_append_new(b, json_pack("{s:i, s:i, s:O, s:o}", "lx",
		    (int)(i * slot + slot / 2), "ly", CHART_H - 8, "label", json_object_get(row, lk),
		    "parts", parts));
	}
	legend = json_array();
	for (s = ser; s->key; s++)
		json_array_append_new(legend, json_pack("{s:s, s:s}", "name", s->name, "colour",
		    s->colour));
	return json_pack("{s:i, s:i, s:i, s:I, s:o, s:o}", "w", CHART_W, "h", CHART_H, "base",
	    CHART_H - CHART_PAD, "max", (json_int_t)max, "bars", b, "legend", legend);
}

/* ---- breakers (Redis) --------------------------------------------------------- */

static struct ac_redis redis;

/* Every provider's breaker as the workers share it in Redis: [{"provider",
 * "state", "fails", "until"}]; "unknown" for all while Redis is away. */
static json_t *
breakers(void)
{
	static const char *const names[] = { "closed", "open", "half-open" };
	json_t *out = json_array();
	struct ac_breaker b;
	int64_t now = ac_now_ms();
	char key[64];

	if (redis.url == NULL)
		ac_redis_open(&redis, site.cfg.redis_url, 200, "breaker states (admin)");
	for (int p = 0; p < AC_PROV__MAX; p++) {
		const char *argv[2] = { "GET", key };
		redisReply *r;
		const char *state = "unknown";

		snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
		memset(&b, 0, sizeof(b));
		if ((r = ac_redis_argv(&redis, 2, argv)) != NULL) {
			if (r->type != REDIS_REPLY_STRING || ac_breaker_parse(r->str, &b) == -1)
				memset(&b, 0, sizeof(b));
			state = names[ac_breaker_state(&b, now)];
			freeReplyObject(r);
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:b, s:I}", "provider",
		    ac_prov_name(p), "state", state, "fails", b.fails, "open",
		    strcmp(state, "closed") != 0 && strcmp(state, "unknown") != 0, "until",
		    (json_int_t)(b.open_until > now ? (b.open_until - now) / 1000 : 0)));
	}
	return out;
}

/* ---- pages ---------------------------------------------------------------------- */

/* GET /admin/health */
static void
health_page(struct ac_call *k)
{
	static const struct series queue[] = { { "running", "#0d6efd", "running" },
	    { "due", "#fd7e14", "due" }, { "failed", "#ffc107", "failed" },
	    { "dead", "#dc3545", "dead" }, { NULL, NULL, NULL } };
	static const struct series sent[] = { { "sent", "#198754", "sent" },
	    { "failed", "#dc3545", "failed" }, { "skipped", "#ffc107", "skipped" },
	    { "queued", "#6c757d", "queued" }, { NULL, NULL, NULL } };
	/* the p99 bar drawn as p50 plus what p99 adds to it */
	static const struct series latency[] = { { "p50_ms", "#0d6efd", "p50" },
	    { "p99_over_p50_ms", "#9ec5fe", "p99" }, { NULL, NULL, NULL } };
	static const struct series count[] = { { "n", "#0d6efd", "signals" },
	    { NULL, NULL, NULL } };
	struct actx *c = k->ctx;
	json_t *h, *st, *row;
	size_t i;
	int found;

	if ((h = ac_db_json(site.db, &st_health, NULL, &found)) == NULL) {
		admin_db_failed(c);
		return;
	}
	json_object_set_new(h, "queue_chart", bars(json_object_get(h, "queue"), "kind", queue));
	json_array_foreach(json_object_get(h, "latency"), i, row)
		json_object_set_new(row, "p99_over_p50_ms", json_integer(json_integer_value(
		    json_object_get(row, "p99_ms")) - json_integer_value(json_object_get(row,
		    "p50_ms"))));
	json_object_set_new(h, "latency_chart", bars(json_object_get(h, "latency"), "channel",
	    latency));
	json_object_set_new(h, "day_chart", bars(json_object_get(h, "per_day"), "day", count));
	json_object_set_new(h, "delivery_chart", bars(json_object_get(h, "deliveries"), "label",
	    sent));
	st = json_object_get(h, "strategies");
	json_array_foreach(st, i, row) {
		json_t *cells = json_array(), *n;
		size_t j;

		json_array_foreach(json_object_get(row, "counts"), j, n)
			json_array_append_new(cells, json_pack("{s:O}", "n", n));
		json_object_set_new(row, "cells", cells);
	}
	json_object_set_new(h, "breakers", breakers());
	json_object_set_new(h, "dead", admin_rows(json_incref(json_object_get(h, "dead"))));
	admin_page(c, 200, "health", "Health", json_pack("{s:o}", "h", h), NULL);
}

/* POST /admin/jobs/N/retry */
static void
job_retry(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_err e = { 0 };
	const char *target = ac_arena_printf(c->r->arena, "job:%lld", k->id);
	json_t *j;

	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if ((j = ac_job_retry(site.db, k->id, &e)) == NULL) {
		ac_db_rollback(site.db);
		if (e.code == AC_E_NOT_FOUND)
			admin_not_found(c);
		else if (e.code == AC_E_CONFLICT)
			admin_error(c, 409, "Nothing to retry", e.message);
		else
			admin_db_failed(c);
		return;
	}
	if (admin_audit(c, "job.retry", target, j) == -1 || ac_db_commit(site.db) == -1) {
		ac_db_rollback(site.db);
		json_decref(j);
		admin_db_failed(c);
		return;
	}
	json_decref(j);
	admin_redirect(c, "/admin/health?done=job_retried#dead");
}

/* GET /admin/audit?actor=&action=&target=&before= */
static void
audit_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_err e = { 0 };
	const char *actor = k->v[AUDIT_ACTOR].s, *action = k->v[AUDIT_ACTION].s,
	    *target = k->v[AUDIT_TARGET].s;
	json_t *rows, *last;
	char *older = NULL;

	if ((rows = ac_audit_list(site.db, actor, action, target, k->v[AUDIT_BEFORE].set ?
	    k->v[AUDIT_BEFORE].i : 0, AUDIT_PAGE, &e)) == NULL) {
		admin_db_failed(c);
		return;
	}
	{
		json_t *row;
		size_t i;

		/* the filter links of each row, encoded for the query string */
		json_array_foreach(rows, i, row) {
			json_object_set_new(row, "actor_q", json_string(admin_qs(c,
			    json_string_value(json_object_get(row, "actor")))));
			json_object_set_new(row, "target_q", json_string(admin_qs(c,
			    json_string_value(json_object_get(row, "target")))));
		}
	}
	if (json_array_size(rows) == AUDIT_PAGE) {
		last = json_array_get(rows, AUDIT_PAGE - 1);
		older = ac_arena_printf(c->r->arena, "/admin/audit?actor=%s&action=%s&target=%s"
		    "&before=%lld", admin_qs(c, actor), admin_qs(c, action), admin_qs(c, target), (long long)json_integer_value(json_object_get(last,
		    "id")));
	}
	admin_page(c, 200, "audit", "Audit log", json_pack("{s:o, s:s?, s:s?, s:s?, s:s?}",
	    "log", admin_rows(rows), "actor", actor, "action", action, "target", target,
	    "older", older), NULL);
}
