-- 025_trigger_plans: the ledger's and the metrics' statement triggers with
-- their plans kept, so a small fan-out pays for its rows, not for planning.
--
-- A fan-out to three subscribers spent about as long in these triggers as
-- in its own statements (bench/fanout, "small fan-outs", auto_explain with
-- log_triggers): ac_metric_add is a LANGUAGE sql function holding an
-- INSERT, which PostgreSQL 15 plans again on every call (only PL/pgSQL
-- keeps a session's plans), and it runs for every statement that writes
-- deliveries or ledger rows; the ledger's key check is still 007's
-- ac_keys_check, which builds and plans its query on every statement.
-- Both now do the same in PL/pgSQL with a static query: the same rows
-- counted the same way, the same error (SQLSTATE 23503) for a ledger row
-- whose user does not exist.

CREATE OR REPLACE FUNCTION ac_metric_add(counts text[], amounts bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO metric_counts AS m (key, shard, n)
	SELECT k, pg_backend_pid() % 8, sum(a) FROM unnest(counts, amounts) AS x(k, a)
	    WHERE a <> 0 GROUP BY k
	ON CONFLICT (key, shard) DO UPDATE SET n = m.n + excluded.n;
END $$;

CREATE FUNCTION ac_credit_ledger_keys_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	SELECT n.user_id::text INTO bad FROM new_rows n
	    WHERE NOT EXISTS (SELECT FROM users x WHERE x.id = n.user_id) LIMIT 1;
	IF FOUND THEN
		PERFORM ac_keys_fail(TG_TABLE_NAME, 'user_id', bad, 'users');
	END IF;
	RETURN NULL;
END $$;
DROP TRIGGER credit_ledger_keys ON credit_ledger;
CREATE TRIGGER credit_ledger_keys AFTER INSERT ON credit_ledger
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_credit_ledger_keys_insert();
