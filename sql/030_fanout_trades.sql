-- 030_fanout_trades: a fan-out part's trade writes as one function, planned
-- with hash joins whatever the statistics say.
--
-- A part inserts its users' new trades and closes (or replaces) the open
-- ones the candidates read, whose replaced_by is the same user's new trade.
-- The close joins the closes to the strategy's open trades. Statistics
-- taken before a strategy's first fan-out estimate 1 open trade for it:
-- with a nested loop the plan then went through 5,050 open trades
-- rescanning the 4,950 new ones for each, 4.3 s (bench/reach). 028's
-- version looked the closes up by id among every open trade instead,
-- which was safe but read every strategy's open trades: 100,000 hashed for
-- 4,950 closes in bench/fanout's tenth round, and more with each strategy
-- added.
--
-- Here the statement runs with nested loops off (the function's setting),
-- so each join is a hash join: the strategy's open trades (trades_open)
-- and the closes, each read once. The trades' key checks, fired by the
-- statement, keep nested loops (their setting): a lookup of each parent by
-- its primary key, not a hash of the parent table. A part that closes
-- nothing does not run the update. The result: trades opened, closed.
ALTER FUNCTION ac_trades_keys_insert() SET enable_nestloop = on;
ALTER FUNCTION ac_trades_keys_update() SET enable_nestloop = on;

CREATE FUNCTION ac_fanout_trades(p_signal bigint, p_users bigint[], p_subs bigint[],
    p_numbers int[], p_strategy bigint, p_symbol text, p_timeframe text, p_side text,
    p_price numeric, p_tp numeric, p_sl numeric, p_close bigint[], p_close_users bigint[],
    p_reasons text[], p_pnl numeric[], p_pct numeric[],
    OUT opened bigint, OUT closed bigint)
    LANGUAGE sql SET enable_nestloop = off AS $$
	WITH o AS (SELECT * FROM unnest(p_users, p_subs, p_numbers)
	    AS o(user_id, subscription_id, trade_number)),
	ins AS (INSERT INTO trades (trade_number, user_id, strategy_id, subscription_id, symbol,
	    timeframe, side, entry_price, take_profit, stop_loss, entry_signal_id)
	    SELECT o.trade_number, o.user_id, p_strategy, o.subscription_id, p_symbol,
	    p_timeframe, p_side, p_price, p_tp, p_sl, p_signal FROM o
	    ON CONFLICT (entry_signal_id, user_id) DO NOTHING RETURNING id, user_id),
	c AS (SELECT * FROM unnest(p_close, p_close_users, p_reasons, p_pnl, p_pct)
	    AS c(id, user_id, reason, pnl, pct)),
	upd AS (UPDATE trades t SET
	    status = CASE WHEN c.reason = 'REPLACED' THEN 'replaced' ELSE 'closed' END,
	    exit_reason = c.reason, exit_price = p_price, pnl_amount = c.pnl,
	    pnl_percent = c.pct, exit_signal_id = p_signal, updated_at = now(),
	    closed_at = CASE WHEN c.reason <> 'REPLACED' THEN now() END,
	    replaced_at = CASE WHEN c.reason = 'REPLACED' THEN now() END,
	    replaced_by = CASE WHEN c.reason = 'REPLACED' THEN ins.id END
	    FROM c LEFT JOIN ins ON ins.user_id = c.user_id
	    WHERE cardinality(p_close) > 0 AND t.id = c.id AND t.strategy_id = p_strategy
	    AND t.status = 'open' RETURNING t.id)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)
$$;
