-- 022_reach: how long a signal is worth sending, and the skip that says
-- it was not (issue 15, lib/deliver).
--
-- A delivery that cannot leave before its signal is older than the
-- strategy's max_age_s (NULL: one bar of its timeframe) is not sent late:
-- it is marked skipped with the reason 'stale', which the portal's history
-- shows in words. The age runs from the signal's arrival (received_at).

ALTER TABLE strategies ADD COLUMN max_age_s integer
    CHECK (max_age_s IS NULL OR max_age_s BETWEEN 1 AND 604800);
COMMENT ON COLUMN strategies.max_age_s IS
    'seconds after its arrival a signal may still be delivered; NULL: one bar of the timeframe';

-- One bar of a strategy's timeframe ('1m' ... '1w').
CREATE FUNCTION ac_timeframe_interval(tf text) RETURNS interval
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT left(tf, -1)::int * CASE right(tf, 1) WHEN 'm' THEN interval '1 minute'
	    WHEN 'h' THEN interval '1 hour' WHEN 'd' THEN interval '1 day'
	    ELSE interval '1 week' END
$$;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_skip_reason_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_skip_reason_check CHECK (skip_reason IN
    ('no_credits','daily_cap','preference','no_address','stale'));
