-- 019_metrics: what /metrics reads (cgi/hook_metrics.c), kept so that a
-- scrape costs the same with a million signals as with ten.
--
-- metric_counts holds counters moved by statement-level triggers in the
-- same transaction as the rows they count, so they survive restarts and
-- never drift from the tables. Each key is split over 8 shards chosen by
-- the backend's pid, so concurrent workers rarely wait on one row; a
-- scrape sums the shards (at most a few hundred rows).
--   deliveries|<channel>|<provider>|<status>   deliveries created (queued,
--                                              skipped) and finished (sent, failed)
--   attempts|<provider>|<result>               sends reaching a provider: sent,
--                                              failed, retry
--   send_s|<channel>|b<i> / sum_ms / count     alert received → delivery sent,
--                                              bucket i of ac_metric_send_bucket()
--   credits|consumed / credits|refunded        usage and refund credits
CREATE TABLE metric_counts (
	key		text NOT NULL,
	shard		smallint NOT NULL,
	n		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (key, shard)
);

-- The bucket of an alert→send latency of s seconds: the bounds are
-- AC_METRIC_SEND_BUCKETS (lib/base/metrics.h), index n = above every bound.
CREATE FUNCTION ac_metric_send_bucket(s double precision) RETURNS int
    LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce((SELECT min(i) - 1 FROM unnest(ARRAY[0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	    30, 60, 300, 900]::double precision[]) WITH ORDINALITY AS b(le, i) WHERE s <= le), 11)
$$;

CREATE FUNCTION ac_metric_add(counts text[], amounts bigint[]) RETURNS void
    LANGUAGE sql AS $$
	INSERT INTO metric_counts AS m (key, shard, n)
	SELECT k, pg_backend_pid() % 8, sum(a) FROM unnest(counts, amounts) AS x(k, a)
	    WHERE a <> 0 GROUP BY k
	ON CONFLICT (key, shard) DO UPDATE SET n = m.n + excluded.n
$$;

CREATE FUNCTION ac_metric_deliveries_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_metric_add(array_agg(k), array_agg(c)) FROM (SELECT 'deliveries|' ||
	    channel || '|' || coalesce(provider, 'none') || '|' || status AS k, count(*) AS c
	    FROM deliveries_new GROUP BY 1) x;
	RETURN NULL;
END $$;
CREATE TRIGGER deliveries_metrics_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS deliveries_new
    FOR EACH STATEMENT EXECUTE FUNCTION ac_metric_deliveries_new();

-- An update that finishes a delivery counts it by its new status; one that
-- only adds attempts while it stays queued is a retry of its provider.
CREATE FUNCTION ac_metric_deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_metric_add(array_agg(k), array_agg(c)) FROM (
	    SELECT 'deliveries|' || n.channel || '|' || coalesce(n.provider, 'none') || '|' ||
		n.status AS k, count(*) AS c
		FROM d_new n JOIN d_old o USING (id) WHERE n.status <> o.status GROUP BY 1
	    UNION ALL
	    SELECT 'attempts|' || coalesce(n.provider, 'none') || '|' ||
		CASE n.status WHEN 'queued' THEN 'retry' ELSE n.status END, count(*)
		FROM d_new n JOIN d_old o USING (id) WHERE n.attempts > o.attempts
		AND n.status IN ('queued', 'sent', 'failed') GROUP BY 1
	    UNION ALL
	    SELECT 'send_s|' || n.channel || '|' || x.part, sum(x.v)::bigint
		FROM d_new n JOIN d_old o USING (id) JOIN signals s ON s.id = n.signal_id
		CROSS JOIN LATERAL (VALUES
		    ('b' || ac_metric_send_bucket(extract(epoch FROM n.sent_at - s.received_at)), 1::numeric),
		    ('sum_ms', round(extract(epoch FROM n.sent_at - s.received_at) * 1000)),
		    ('count', 1)) AS x(part, v)
		WHERE n.status = 'sent' AND o.status <> 'sent' AND n.sent_at IS NOT NULL
		GROUP BY n.channel, x.part) y;
	RETURN NULL;
END $$;
CREATE TRIGGER deliveries_metrics_update AFTER UPDATE ON deliveries
    REFERENCING NEW TABLE AS d_new OLD TABLE AS d_old
    FOR EACH STATEMENT EXECUTE FUNCTION ac_metric_deliveries_changed();

CREATE FUNCTION ac_metric_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_metric_add(array_agg(k), array_agg(c)) FROM (
	    SELECT CASE kind WHEN 'usage' THEN 'credits|consumed' ELSE 'credits|refunded' END AS k,
		sum(abs(amount))::bigint AS c FROM ledger_new WHERE kind IN ('usage', 'refund')
		GROUP BY 1) x;
	RETURN NULL;
END $$;
CREATE TRIGGER credit_ledger_metrics AFTER INSERT ON credit_ledger
    REFERENCING NEW TABLE AS ledger_new
    FOR EACH STATEMENT EXECUTE FUNCTION ac_metric_ledger();

-- Each worker host's last round (ac-worker, every loop), for "no worker alive".
CREATE TABLE worker_heartbeats (
	host		text PRIMARY KEY,
	seen_at		timestamptz NOT NULL DEFAULT now()
);

-- Failed and dead jobs for the queue-depth gauge without reading the done
-- ones (pending and running have jobs_due and jobs_leased). Nothing on the
-- ingest path is written here: new jobs are pending.
CREATE INDEX jobs_stuck ON jobs (kind, state) WHERE state IN ('failed', 'dead');
