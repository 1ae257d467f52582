-- insert.sql — pgbench baseline for bench/ingest/run: one alert stored in
-- its own transaction (its signal and fanout job, the rows lib/alert/ingest.c
-- writes for each alert of a group commit), with a unique idempotency key
-- per transaction. Run with -D sid=<strategy id>. Under load
-- ac-hook sends at most one NOTIFY per 20 ms for the whole host
-- (AC_NOTIFY_COALESCE_MS), so the statement is measured as it runs then,
-- without the NOTIFY.
\set p random(4000000000, 4999999999)
WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,
	content_type, remote_addr, request_id, received_at, spooled, symbol,
	timeframe, action, price, take_profit, stop_loss, alert_time)
	VALUES (:sid, md5(random()::text),
	'{"symbol":"BTCUSDT","timeframe":"60","action":"buy","price":40000.001,"tp":40800.001,"sl":39200.001,"time":"2026-01-01T00:00:00Z"}',
	'application/json', '127.0.0.1', md5(random()::text),
	to_timestamp(extract(epoch FROM clock_timestamp())), false, 'BTCUSDT',
	'1h', 'BUY', :p / 100000.0, :p * 1.02 / 100000.0, :p * 0.98 / 100000.0,
	to_timestamp(extract(epoch FROM clock_timestamp())))
	ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),
j AS (INSERT INTO jobs (kind, payload, unique_key)
	SELECT 'fanout', jsonb_build_object('signal_id', id), 'fanout:' || id FROM s)
SELECT id, CASE WHEN false THEN pg_notify('ac_jobs', 'fanout') END FROM s;
