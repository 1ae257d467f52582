-- 013_visible_periods: the periods in which a user may see a strategy's
-- signals, as rows, so that a page of history asks for them once.
--
-- ac_signal_visible() (011) asked the subscriptions once for every row it
-- was given: a history page whose rows were not visible (a user whose old
-- notifications predate a subscription) read 10,000 rows that way in about
-- half a second. The rule is now written once, here, as the set of
-- (strategy, period) a user's subscriptions cover; queries take the set
-- once (MATERIALIZED) and test each row against it in memory, and
-- ac_signal_visible() says the same for a single row.
CREATE FUNCTION ac_visible_periods(p_user bigint)
    RETURNS TABLE (strategy_id bigint, period_start timestamptz, period_end timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT ps.strategy_id, s.period_start, s.period_end FROM subscriptions s
	    JOIN plan_strategies ps ON ps.plan_id = s.plan_id
	    WHERE s.user_id = p_user AND s.status IN ('active', 'past_due', 'expired')
$$;

CREATE OR REPLACE FUNCTION ac_signal_visible(p_user bigint, p_strategy bigint, p_at timestamptz)
    RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT EXISTS (SELECT 1 FROM ac_visible_periods(p_user) v
	    WHERE v.strategy_id = p_strategy AND v.period_start <= p_at AND v.period_end > p_at)
$$;
