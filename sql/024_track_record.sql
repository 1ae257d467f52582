-- 024_track_record: a strategy's verified track record (issue 16).
--
-- An operator opts a strategy in (the admin panel's strategy page); only
-- then do the portal's /strategies/N/record page and the API's
-- /api/v1/strategies/N/record answer, both from the stored signals
-- (lib/alert/record.c). The column is read by those two and by the
-- catalog's cards, never on the ingest path.
ALTER TABLE strategies ADD COLUMN public_record boolean NOT NULL DEFAULT false;

-- How long a notification took from TradingView's request (the signal's
-- received_at) to the provider's acceptance (the delivery's sent_at), as
-- a person reads it: "0.4 s", "12.0 s", "3 min 05 s", "2 h 07 min". A
-- negative span (a clock stepped back between hosts) reads "0.0 s".
CREATE FUNCTION latency_label(seconds float8) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN CASE WHEN seconds < 60 THEN to_char(greatest(seconds, 0), 'FM999990.0') || ' s'
	    WHEN seconds < 3600 THEN floor(seconds / 60)::int || ' min '
		|| lpad((floor(seconds)::int % 60)::text, 2, '0') || ' s'
	    ELSE floor(seconds / 3600)::bigint || ' h '
		|| lpad(((floor(seconds)::bigint / 60) % 60)::text, 2, '0') || ' min' END;
