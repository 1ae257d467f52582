-- 008_housekeeping: what the worker prunes (lib/jobs.c ac_housekeep): done
-- jobs after AC_JOBS_KEEP_DAYS, found by when they finished; expired
-- sessions, password resets and Telegram link codes (already indexed or
-- small). Dead jobs stay until an operator retries or deletes them.
-- (Built in the migration's transaction, so not CONCURRENTLY: on a large
-- jobs table, apply it when alerts are few; ac-hook spools what waits
-- longer than its statement timeout.)
CREATE INDEX jobs_done ON jobs (finished_at) WHERE state = 'done';
