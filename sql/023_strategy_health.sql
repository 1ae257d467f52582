-- 023_strategy_health: missed-alert detection (lib/work/health.h).
--
-- The generated Pine Script sends a heartbeat at every bar close; ingest
-- keeps only the last one per strategy here (one row updated, never a
-- signal), and /metrics exports its age. The worker's minute sweep judges
-- each strategy (silent, burst, estimated_silence) and keeps what it found
-- in strategy_incidents: one open row per strategy and kind at most, so an
-- incident is told to the operators once, however many workers sweep and
-- however often they restart, and its closing (the recovery) once more.

CREATE TABLE strategy_heartbeats (
	strategy_id	bigint PRIMARY KEY REFERENCES strategies (id) ON DELETE CASCADE,
	seen_at		timestamptz NOT NULL,		-- when the last one arrived
	bar_time	timestamptz,			-- the time it carried, if any
	beats		bigint NOT NULL DEFAULT 1 CHECK (beats >= 1)
);

CREATE TABLE strategy_incidents (
	id		bigserial PRIMARY KEY,
	strategy_id	bigint NOT NULL REFERENCES strategies (id) ON DELETE CASCADE,
	kind		text NOT NULL CHECK (kind IN ('silent','burst','estimated_silence')),
	detail		text NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
	opened_at	timestamptz NOT NULL DEFAULT now(),
	closed_at	timestamptz CHECK (closed_at >= opened_at)
);
-- Two workers sweeping at once cannot open the same incident twice.
CREATE UNIQUE INDEX strategy_incidents_open ON strategy_incidents (strategy_id, kind)
    WHERE closed_at IS NULL;
CREATE INDEX strategy_incidents_strategy ON strategy_incidents (strategy_id, id DESC);

-- Where an operator hears of incidents on Telegram besides email (NULL:
-- email only); set with `acctl admin telegram USERNAME CHAT_ID`.
ALTER TABLE admin_users
	ADD COLUMN telegram_chat_id text CHECK (telegram_chat_id ~ '^-?[0-9]{1,20}$');

-- A canonical timeframe's bar in seconds (NULL for anything else).
CREATE FUNCTION ac_timeframe_seconds(tf text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE tf WHEN '1m' THEN 60 WHEN '5m' THEN 300 WHEN '15m' THEN 900
	    WHEN '30m' THEN 1800 WHEN '1h' THEN 3600 WHEN '2h' THEN 7200 WHEN '4h' THEN 14400
	    WHEN '6h' THEN 21600 WHEN '12h' THEN 43200 WHEN '1d' THEN 86400
	    WHEN '1w' THEN 604800 END
$$;
