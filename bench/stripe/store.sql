-- store.sql — pgbench baseline for bench/stripe/run: what ac-hook does for
-- one new Stripe event (lib/billing/stripe.c, stripe_event_store): the event
-- row and its job, in one statement and one transaction. Under load ac-hook
-- sends at most one NOTIFY per AC_NOTIFY_COALESCE_MS for the host (shared
-- with the alerts), so the statement is measured without it, as
-- bench/ingest/insert.sql is.
\set n random(1, 2000000000)
WITH ev AS (INSERT INTO stripe_events (id, type, created, payload)
	VALUES ('evt_pgb' || :n || '_' || md5(random()::text), 'invoice.paid', now(),
	'{"id":"evt_x","object":"event","type":"invoice.paid","created":1,"data":{"object":{"id":"in_x","object":"invoice","subscription":"sub_x","status":"paid","amount_paid":49900,"currency":"inr","lines":{"object":"list","data":[{"price":{"id":"price_bench"},"period":{"start":1,"end":2}}]}}}}'::jsonb)
	ON CONFLICT (id) DO UPDATE SET deliveries = stripe_events.deliveries + 1
	RETURNING id, (xmax = 0) AS fresh),
j AS (INSERT INTO jobs (kind, payload, unique_key, run_at, max_attempts)
	SELECT 'stripe_event', jsonb_build_object('event_id', id), 'stripe:' || id, now(), 25
	FROM ev WHERE fresh ON CONFLICT (unique_key) DO NOTHING RETURNING 1)
SELECT (SELECT fresh FROM ev), (SELECT count(*) FROM j);
