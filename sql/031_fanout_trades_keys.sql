-- 031_fanout_trades_keys: the trades a fan-out closes are looked up by
-- their keys, not found among the strategy's open trades.
--
-- 030's update found them among the strategy's open trades (trades_open),
-- hashed. For a head of 25 users that close 25 trades, that read all
-- 10,000 of the strategy's open trades, 6 ms before the first subscriber
-- (bench/reach, on an exit); statistics taken before a strategy's first
-- fan-out say it has one open trade, so the planner sees nothing to avoid.
--
-- Here the update reaches the trades by their ids (trades_pkey: = ANY
-- (p_close), the ids the candidates read), and checks the strategy and the
-- status on each (strategy_id + 0, status || '': written so that no index
-- answers them, trades_open above all). Nested loops stay off (030): the
-- closes and the new trades are still joined by hashing, each read once,
-- for 25 closes as for 2,500 (a part's: 130-200 ms, as before).
CREATE OR REPLACE FUNCTION ac_fanout_trades(p_signal bigint, p_users bigint[], p_subs bigint[],
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
	    WHERE cardinality(p_close) > 0 AND t.id = ANY (p_close) AND t.id = c.id
	    AND t.strategy_id + 0 = p_strategy AND t.status || '' = 'open' RETURNING t.id)
	SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)
$$;
