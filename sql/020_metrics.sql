-- 020_metrics: what /metrics reads (cgi/hook_metrics.c), kept so that a
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

-- The bucket of an alert→send latency of s seconds: how many of the bounds
-- AC_METRIC_SEND_BUCKETS (lib/base/metrics.h) are below s, so s on a bound
-- falls in that bound's bucket (le) and 11 means above every bound.
-- width_bucket over the negated bounds counts those >= s, in C.
CREATE FUNCTION ac_metric_send_bucket(s double precision) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT 11 - width_bucket(-s, ARRAY[-900, -300, -60, -30, -10, -5, -2.5, -1, -0.5, -0.25,
	    -0.1]::double precision[])
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
-- adds attempts is a send that reached its provider (a retry while the
-- delivery stays queued). Old and new rows are joined once.
CREATE FUNCTION ac_metric_deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_metric_add(array_agg(k), array_agg(c)) FROM (
	    WITH ch AS MATERIALIZED (SELECT n.channel, coalesce(n.provider, 'none') AS provider,
		n.status, n.status <> o.status AS finished, n.attempts > o.attempts AS tried,
		CASE WHEN n.status = 'sent' AND o.status <> 'sent' THEN n.sent_at END AS sent_at,
		n.signal_id
		FROM d_new n JOIN d_old o USING (id)
		WHERE n.status <> o.status OR n.attempts > o.attempts)
	    SELECT 'deliveries|' || channel || '|' || provider || '|' || status AS k, count(*) AS c
		FROM ch WHERE finished GROUP BY 1
	    UNION ALL
	    SELECT 'attempts|' || provider || '|' ||
		CASE status WHEN 'queued' THEN 'retry' ELSE status END, count(*)
		FROM ch WHERE tried AND status IN ('queued', 'sent', 'failed') GROUP BY 1
	    UNION ALL
	    SELECT 'send_s|' || channel || '|' || x.part, sum(x.v)::bigint
		FROM (SELECT ch.channel, extract(epoch FROM ch.sent_at - s.received_at)::float8 AS l
		    FROM ch JOIN signals s ON s.id = ch.signal_id WHERE ch.sent_at IS NOT NULL) t
		CROSS JOIN LATERAL (VALUES ('b' || ac_metric_send_bucket(t.l), 1::float8),
		    ('sum_ms', round(t.l * 1000)), ('count', 1)) AS x(part, v)
		GROUP BY t.channel, x.part) y;
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
