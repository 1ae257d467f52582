-- 019_trades_by_user.sql — a user's trades are read newest first by id, a
-- page at a time (keyset: id < the previous page's last), in the portal and
-- the API. trades_user_opened (user_id, opened_at DESC) served no query's
-- order; (user_id, id) serves the pages, and every lookup by user, so it
-- replaces it at no extra cost per trade written.
CREATE INDEX trades_user ON trades (user_id, id);
DROP INDEX trades_user_opened;
