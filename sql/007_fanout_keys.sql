-- 007_fanout_keys: the foreign keys of the fan-out's tables, checked once per
-- statement instead of once per row.
--
-- A declarative foreign key runs one lookup for every row written: one
-- signal to 10,000 users wrote 30,000 rows through 8 keys, about 80,000
-- lookups, over a third of the fan-out's time (bench/fanout).
-- The same rules hold here, set-based: an AFTER ... FOR EACH STATEMENT
-- trigger reads the statement's new rows (a transition table) and refuses
-- the statement with SQLSTATE 23503 if any of them points at nothing; and
-- the referenced tables refuse a DELETE of a row still referenced (users,
-- signals, strategies, subscriptions are never deleted by alertcast: they
-- change status), or, for alarms, clear deliveries.alarm_id as before.
--
-- Concurrency: a declarative key also locks each referenced row until the
-- writer commits. The fan-out already holds the signal, the strategy and
-- every served user locked (lib/fanout.c), and subscriptions are never
-- deleted; deliveries.alarm_id is a note of the matching alarm, cleared when
-- the alarm is deleted, and may keep the id of an alarm deleted during the
-- fan-out that wrote it.

ALTER TABLE trades
	DROP CONSTRAINT trades_user_id_fkey,
	DROP CONSTRAINT trades_strategy_id_fkey,
	DROP CONSTRAINT trades_subscription_id_fkey,
	DROP CONSTRAINT trades_entry_signal_id_fkey,
	DROP CONSTRAINT trades_exit_signal_id_fkey,
	DROP CONSTRAINT trades_replaced_by_fkey;
ALTER TABLE deliveries
	DROP CONSTRAINT deliveries_signal_id_fkey,
	DROP CONSTRAINT deliveries_user_id_fkey,
	DROP CONSTRAINT deliveries_alarm_id_fkey;
ALTER TABLE credit_ledger
	DROP CONSTRAINT credit_ledger_user_id_fkey;

-- The referencing side: ac_keys_check('col', 'parent', ...) after INSERT or
-- UPDATE, over the statement's rows (new_rows); a NULL refers to nothing.
-- As with a declarative key, an UPDATE is checked only where it changed the
-- key (rows matched to old_rows by id): a status update never fails on a
-- key it left alone.
CREATE FUNCTION ac_keys_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	FOR i IN 0 .. TG_NARGS - 1 BY 2 LOOP
		EXECUTE format('SELECT n.%1$I::text FROM new_rows n WHERE n.%1$I IS NOT NULL'
		    ' AND NOT EXISTS (SELECT FROM %2$I x WHERE x.id = n.%1$I) %3$s LIMIT 1',
		    TG_ARGV[i], TG_ARGV[i + 1], CASE WHEN TG_OP = 'UPDATE' THEN
		    format('AND NOT EXISTS (SELECT FROM old_rows o WHERE o.id = n.id'
		    ' AND o.%1$I IS NOT DISTINCT FROM n.%1$I)', TG_ARGV[i]) ELSE '' END) INTO bad;
		IF bad IS NOT NULL THEN
			RAISE EXCEPTION 'insert or update on table "%" violates foreign key: %=% is not present in table "%"',
			    TG_TABLE_NAME, TG_ARGV[i], bad, TG_ARGV[i + 1]
			    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
			    COLUMN = TG_ARGV[i];
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

CREATE TRIGGER trades_keys_insert AFTER INSERT ON trades
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_check('user_id', 'users', 'strategy_id', 'strategies',
    'subscription_id', 'subscriptions', 'entry_signal_id', 'signals',
    'exit_signal_id', 'signals', 'replaced_by', 'trades');
CREATE TRIGGER trades_keys_update AFTER UPDATE ON trades
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_check('user_id', 'users', 'strategy_id', 'strategies',
    'subscription_id', 'subscriptions', 'entry_signal_id', 'signals',
    'exit_signal_id', 'signals', 'replaced_by', 'trades');
CREATE TRIGGER deliveries_keys_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_check('signal_id', 'signals', 'user_id', 'users',
    'alarm_id', 'alarms');
CREATE TRIGGER deliveries_keys_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_check('signal_id', 'signals', 'user_id', 'users',
    'alarm_id', 'alarms');
-- (the ledger is append-only: no update to check)
CREATE TRIGGER credit_ledger_keys AFTER INSERT ON credit_ledger
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_check('user_id', 'users');

-- The referenced side: ac_keys_referenced('child', 'col', ...) after DELETE,
-- over the deleted rows (old_rows): refused while a child row points at one.
CREATE FUNCTION ac_keys_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	bad text;
BEGIN
	FOR i IN 0 .. TG_NARGS - 1 BY 2 LOOP
		EXECUTE format('SELECT o.id::text FROM old_rows o'
		    ' WHERE EXISTS (SELECT FROM %1$I x WHERE x.%2$I = o.id) LIMIT 1',
		    TG_ARGV[i], TG_ARGV[i + 1]) INTO bad;
		IF bad IS NOT NULL THEN
			RAISE EXCEPTION 'update or delete on table "%" violates foreign key: id=% is still referenced from table "%"',
			    TG_TABLE_NAME, bad, TG_ARGV[i]
			    USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

CREATE TRIGGER users_referenced AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_referenced('trades', 'user_id', 'deliveries', 'user_id',
    'credit_ledger', 'user_id');
CREATE TRIGGER signals_referenced AFTER DELETE ON signals
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_referenced('trades', 'entry_signal_id', 'trades', 'exit_signal_id',
    'deliveries', 'signal_id');
CREATE TRIGGER strategies_referenced AFTER DELETE ON strategies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_referenced('trades', 'strategy_id');
CREATE TRIGGER subscriptions_referenced AFTER DELETE ON subscriptions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_referenced('trades', 'subscription_id');
-- a trade replaced by another keeps pointing at it
CREATE TRIGGER trades_referenced AFTER DELETE ON trades
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_keys_referenced('trades', 'replaced_by');

-- a deleted alarm leaves its deliveries, without the id (ON DELETE SET NULL)
CREATE FUNCTION ac_alarms_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE deliveries d SET alarm_id = NULL FROM old_rows o WHERE d.alarm_id = o.id;
	RETURN NULL;
END $$;
CREATE TRIGGER alarms_deleted AFTER DELETE ON alarms
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ac_alarms_deleted();

-- The ledger's statement-level trigger updates every charged user's
-- balance: room on each page lets those be HOT updates (no new index
-- entries). Takes effect on pages written from now on.
ALTER TABLE users SET (fillfactor = 80);
