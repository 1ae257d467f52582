-- 028_trigger_joins: statement triggers that compare a statement's old rows
-- with its new ones no longer do it by a join PostgreSQL may plan as a
-- nested loop.
--
-- PL/pgSQL plans a static query once per session (021 and 025 made these static)
-- and keeps the plan. A transition table has no statistics: the planner
-- takes the row count the first call had. A worker whose first send marked
-- one delivery sent kept a nested loop joining d_new to d_old, and the
-- metrics trigger then compared 5,000 rows with 5,000: 24.5 million
-- comparisons, 2.9 s inside a statement that took 65 ms (bench/reach,
-- auto_explain with log_nested_statements). That statement runs in the
-- deliver batch's transaction, whose rows the next fan-out's parts wait
-- for; 027 read this as a lock cycle through signals.delivered_count. The
-- key checks of an UPDATE (021's ac_<table>_keys_update) joined new_rows
-- to old_rows the same way.
--
-- Now:
-- - ac_metric_deliveries_changed joins old and new rows with nested loops
--   off (its function's setting: a hash join, whatever the count it was
--   planned for), and finds each sent delivery's signal by a lookup of its
--   own (a subquery by primary key, which the setting does not touch);
-- - an UPDATE's key check takes the rows whose key changed as
--   (id, key) of new_rows EXCEPT those of old_rows: a set operation, hashed
--   or sorted, never a join.
-- The rows counted, the keys checked and the errors are the same.

CREATE OR REPLACE FUNCTION ac_metric_deliveries_changed() RETURNS trigger LANGUAGE plpgsql
    SET enable_nestloop = off AS $$
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
		FROM (SELECT ch.channel, extract(epoch FROM ch.sent_at - (SELECT s.received_at
		    FROM signals s WHERE s.id = ch.signal_id))::float8 AS l
		    FROM ch WHERE ch.sent_at IS NOT NULL) t
		CROSS JOIN LATERAL (VALUES ('b' || ac_metric_send_bucket(t.l), 1::float8),
		    ('sum_ms', round(t.l * 1000)), ('count', 1)) AS x(part, v)
		GROUP BY t.channel, x.part) y;
	RETURN NULL;
END $$;

-- 021's generator, with an UPDATE's changed keys found by EXCEPT. The
-- functions keep their names; the triggers are made again the same.
CREATE OR REPLACE FUNCTION ac_keys_static(tab text, keys text[]) RETURNS void
    LANGUAGE plpgsql AS $static$
DECLARE
	q text[];
	fn text;
	op text;
BEGIN
	FOREACH op IN ARRAY ARRAY['insert', 'update'] LOOP
		q := '{}';
		FOR i IN 1 .. array_length(keys, 1) BY 2 LOOP
			q := q || format('SELECT %1$L AS col, %2$L AS parent, n.%1$I::text AS bad'
			    ' FROM %3$s n WHERE n.%1$I IS NOT NULL'
			    ' AND NOT EXISTS (SELECT FROM %2$I x WHERE x.id = n.%1$I)',
			    keys[i], keys[i + 1], CASE WHEN op = 'update' THEN
			    format('(SELECT id, %1$I FROM new_rows EXCEPT SELECT id, %1$I FROM old_rows)',
			    keys[i]) ELSE 'new_rows' END);
		END LOOP;
		fn := format('ac_%s_keys_%s', tab, op);
		EXECUTE format($f$CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $b$
DECLARE
	k record;
BEGIN
	SELECT * INTO k FROM (%s) c LIMIT 1;
	IF FOUND THEN
		PERFORM ac_keys_fail(TG_TABLE_NAME, k.col, k.bad, k.parent);
	END IF;
	RETURN NULL;
END $b$
$f$, fn, array_to_string(q, ' UNION ALL '));
		EXECUTE format('DROP TRIGGER %I ON %I', tab || '_keys_' || op, tab);
		EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s FOR EACH STATEMENT'
		    ' EXECUTE FUNCTION %I()', tab || '_keys_' || op, upper(op), tab,
		    CASE WHEN op = 'update' THEN 'OLD TABLE AS old_rows NEW TABLE AS new_rows'
		    ELSE 'NEW TABLE AS new_rows' END, fn);
	END LOOP;
END $static$;
SELECT ac_keys_static('trades', ARRAY['user_id', 'users', 'strategy_id', 'strategies',
    'subscription_id', 'subscriptions', 'entry_signal_id', 'signals',
    'exit_signal_id', 'signals', 'replaced_by', 'trades']);
SELECT ac_keys_static('deliveries', ARRAY['signal_id', 'signals', 'user_id', 'users',
    'alarm_id', 'alarms']);
