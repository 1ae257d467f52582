-- 021_daily_signals: the daily cap from a counter, not from the day's
-- deliveries.
--
-- The fan-out holds each user to max_daily_alerts signals a day (their
-- time zone's day), counting the signals delivered to them since local
-- midnight: count(DISTINCT signal_id) of their deliveries created since
-- then with no skip_reason. Counted from deliveries, that read every
-- delivery of the user's day on every fan-out: after 40,000 signals in a
-- day, 1,000 alerts to a strategy with three subscribers drained at 20
-- fan-outs/s instead of 200 (bench/fanout), and a 10,000-user fan-out grew
-- with each round.
--
-- daily_signals keeps that count per user and local day, written with the
-- deliveries themselves: a statement trigger on deliveries (one upsert per
-- statement, over its transition table) counts each (signal, user) whose
-- first delivery not skipped this statement wrote, on the local day of its
-- created_at (the user's time zone at the time). The fan-out reads one row.
-- A delivery's skip_reason is set when it is written; should an update
-- change whether it is skipped, or a user change time zone, that user's
-- yesterday and today are counted again from deliveries (rare, and
-- bounded: two days of one user). Deliveries are never deleted; users
-- are never deleted (they change status).
CREATE TABLE daily_signals (
	user_id			bigint NOT NULL,
	day			date NOT NULL,		-- in the user's time zone
	signals			integer NOT NULL CHECK (signals >= 0),
	PRIMARY KEY (user_id, day)
) WITH (fillfactor = 50);	-- each served signal updates the row: room for HOT updates

-- Counts again users' yesterday and today (their time zone) from deliveries.
CREATE FUNCTION ac_daily_signals_recount(ids bigint[]) RETURNS void LANGUAGE sql AS $$
	DELETE FROM daily_signals n USING users u
	    WHERE u.id = ANY (ids) AND n.user_id = u.id
	    AND n.day >= (now() AT TIME ZONE u.timezone)::date - 1;
	INSERT INTO daily_signals (user_id, day, signals)
	SELECT f.user_id, f.day, count(*) FROM (
	    SELECT d.user_id, (min(d.created_at) AT TIME ZONE u.timezone)::date AS day
	    FROM users u JOIN deliveries d ON d.user_id = u.id
	    AND d.created_at >= (date_trunc('day', now() AT TIME ZONE u.timezone)
	        - interval '1 day') AT TIME ZONE u.timezone
	    WHERE u.id = ANY (ids) AND d.skip_reason IS NULL
	    GROUP BY d.user_id, d.signal_id, u.timezone) f
	GROUP BY f.user_id, f.day;
$$;

CREATE FUNCTION ac_daily_signals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO daily_signals AS n (user_id, day, signals)
	SELECT p.user_id, (p.at AT TIME ZONE u.timezone)::date, count(*)
	FROM (SELECT user_id, signal_id, min(created_at) AS at, array_agg(id) AS ids
	    FROM new_rows WHERE skip_reason IS NULL GROUP BY user_id, signal_id) p
	JOIN users u ON u.id = p.user_id
	-- a signal already delivered to the user (an earlier statement) counts once
	WHERE NOT EXISTS (SELECT FROM deliveries o WHERE o.signal_id = p.signal_id
	    AND o.user_id = p.user_id AND o.skip_reason IS NULL AND o.id <> ALL (p.ids))
	GROUP BY 1, 2
	ON CONFLICT (user_id, day) DO UPDATE SET signals = n.signals + excluded.signals;
	RETURN NULL;
END $$;
CREATE TRIGGER deliveries_daily_signals AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ac_daily_signals_insert();

CREATE FUNCTION ac_daily_signals_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_daily_signals_recount(ARRAY[OLD.user_id, NEW.user_id]);
	RETURN NULL;
END $$;
-- a row trigger, called only where the WHEN clause holds: the deliveries'
-- status updates (every send) call no function
CREATE TRIGGER deliveries_daily_signals_update AFTER UPDATE OF skip_reason, user_id
    ON deliveries FOR EACH ROW
    WHEN ((OLD.skip_reason IS NULL) <> (NEW.skip_reason IS NULL) OR OLD.user_id <> NEW.user_id)
    EXECUTE FUNCTION ac_daily_signals_update();

CREATE FUNCTION ac_daily_signals_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ac_daily_signals_recount(ARRAY[NEW.id]);
	RETURN NULL;
END $$;
CREATE TRIGGER users_daily_signals AFTER UPDATE OF timezone ON users
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION ac_daily_signals_timezone();

-- What is already there: every user's yesterday and today. (One pass over
-- the last two days' deliveries, in the migration's transaction.)
SELECT ac_daily_signals_recount(array_agg(id)) FROM users;

-- ---- the fan-out's key checks, planned once per session -----------------------
-- ac_keys_check (007) builds and plans one query per key on every statement
-- (EXECUTE format(...)): the trades' two statements and the deliveries' one
-- spent about 1.3 ms a fan-out planning them, most of a fan-out to three
-- subscribers. ac_keys_static writes the same checks out, once, here, as a
-- trigger function per table and operation (ac_<table>_keys_insert,
-- ac_<table>_keys_update) whose query PL/pgSQL plans once per session, and
-- puts them in place of the triggers of 007 under the same names: the same
-- keys in the same order, the same error (SQLSTATE 23503, the first key that
-- fails), an UPDATE checked only where it changed the key. The ledger's one
-- key keeps ac_keys_check.
CREATE FUNCTION ac_keys_fail(tab text, col text, bad text, parent text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'insert or update on table "%" violates foreign key: %=% is not present in table "%"',
	    tab, col, bad, parent
	    USING ERRCODE = 'foreign_key_violation', TABLE = tab, COLUMN = col;
END $$;

-- keys: column, parent table, column, parent table, ...
CREATE FUNCTION ac_keys_static(tab text, keys text[]) RETURNS void LANGUAGE plpgsql AS $static$
DECLARE
	q text[];
	fn text;
	op text;
BEGIN
	FOREACH op IN ARRAY ARRAY['insert', 'update'] LOOP
		q := '{}';
		FOR i IN 1 .. array_length(keys, 1) BY 2 LOOP
			q := q || format('SELECT %1$L AS col, %2$L AS parent, n.%1$I::text AS bad'
			    ' FROM new_rows n WHERE n.%1$I IS NOT NULL'
			    ' AND NOT EXISTS (SELECT FROM %2$I x WHERE x.id = n.%1$I)%3$s',
			    keys[i], keys[i + 1], CASE WHEN op = 'update' THEN
			    format(' AND NOT EXISTS (SELECT FROM old_rows o WHERE o.id = n.id'
			    ' AND o.%1$I IS NOT DISTINCT FROM n.%1$I)', keys[i]) ELSE '' END);
		END LOOP;
		fn := format('ac_%s_keys_%s', tab, op);
		EXECUTE format($f$CREATE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $b$
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
