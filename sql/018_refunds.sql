-- 018_refunds: a signal charged to a user whose every delivery of it then
-- failed for good is refunded by the worker's sweep (lib/work/refund.c).
-- Failed deliveries are few; this index finds the recent ones without
-- reading the table.
CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE status = 'failed';
