-- 010_exits: a strategy's move to flat is a signal of its own (issue 9).
--
-- TradingView's {{strategy.market_position}} "flat" after a long, with the
-- order action "sell", means the long was closed, not that a short was
-- opened (lib/signal.c resolves the action against the position keys):
--   EXIT_LONG   the strategy closed its long (a sell to flat)
--   EXIT_SHORT  the strategy closed its short (a buy to flat)
--   EXIT        the strategy closed whatever it held (an exit word to flat,
--               no side named)
-- The fan-out closes the subscribers' open trades of that side at the
-- signal's price, with exit_reason 'EXIT', and opens nothing
-- (lib/trade.h). strategies.enabled_actions keeps its four: an exit is
-- enabled with the entry it closes (lib/signal.c ac_alert_check).
-- (Each ADD CONSTRAINT reads its table once in the migration's
-- transaction: apply it when alerts are few; ac-hook spools what waits
-- longer than its statement timeout.)
ALTER TABLE signals
	DROP CONSTRAINT signals_action_check,
	ADD CONSTRAINT signals_action_check CHECK (action IN
	    ('BUY','SELL','TP_HIT','SL_HIT','EXIT_LONG','EXIT_SHORT','EXIT'));
ALTER TABLE trades
	DROP CONSTRAINT trades_exit_reason_check,
	ADD CONSTRAINT trades_exit_reason_check CHECK (exit_reason IN
	    ('TP_HIT','SL_HIT','REPLACED','OPPOSITE','MANUAL','EXIT'));

-- How a signal's action reads for a person (messages, portal): the entries
-- and hits as stored, an exit as what it did. The API answers the stored
-- name (docs/openapi.yaml).
CREATE FUNCTION signal_action_label(action text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN CASE action WHEN 'EXIT_LONG' THEN 'CLOSE LONG'
	    WHEN 'EXIT_SHORT' THEN 'CLOSE SHORT' WHEN 'EXIT' THEN 'CLOSE'
	    ELSE action END;
