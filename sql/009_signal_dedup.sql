-- 009_signal_dedup: a re-send or a double fire is found by what it says, within
-- a window of the strategy's, not by the minute it arrived; and `time` is no
-- longer a required field by default (issue 9, items 3 and 4).
--
-- signals.idempotency_key stays the exact key (content + the alert's own time,
-- or its arrival ms when it has none): an identical replay, the spool's
-- included, conflicts there as before. signal_dedup holds, per strategy and
-- content (strategy, symbol, timeframe, action, price, tp, sl; not the time),
-- the event time and signal of the last alert accepted. ac-hook claims the row
-- with INSERT ... ON CONFLICT DO UPDATE ... WHERE the new event lies outside
-- the window of the one held: the row lock makes the claim atomic, so of N
-- alerts saying the same thing at once exactly one is stored (lib/ingest.c).
-- No foreign keys (strategies and signals are never deleted; see 007): the
-- ingest path pays for every lookup. Rows older than a day are pruned by the
-- worker's housekeeping.

ALTER TABLE strategies
	ALTER COLUMN required_fields SET DEFAULT '{symbol,timeframe,action,price}',
	ADD COLUMN dedup_window_s integer NOT NULL DEFAULT 30,
	ADD CONSTRAINT strategies_dedup_window CHECK (dedup_window_s >= 1 AND
	    dedup_window_s * 2 <= CASE timeframe WHEN '1m' THEN 60 WHEN '5m' THEN 300
	    WHEN '15m' THEN 900 WHEN '30m' THEN 1800 WHEN '1h' THEN 3600
	    WHEN '2h' THEN 7200 WHEN '4h' THEN 14400 WHEN '6h' THEN 21600
	    WHEN '12h' THEN 43200 WHEN '1d' THEN 86400 ELSE 604800 END);

-- Strategies that still have the old default (in any order) lose `time`;
-- a set an operator chose otherwise is left as it is.
UPDATE strategies SET required_fields = '{symbol,timeframe,action,price}', updated_at = now()
 WHERE required_fields @> '{symbol,timeframe,action,price,time}'
   AND required_fields <@ '{symbol,timeframe,action,price,time}';

CREATE TABLE signal_dedup (
	strategy_id	bigint NOT NULL,
	content_key	text NOT NULL,		-- lib/signal.c ac_alert_content_key()
	event_ms	bigint NOT NULL,	-- the alert's time, else its arrival (ms)
	window_ms	bigint NOT NULL,	-- the strategy's window when claimed
	signal_id	bigint NOT NULL,	-- what a duplicate is answered with
	PRIMARY KEY (strategy_id, content_key)
);
