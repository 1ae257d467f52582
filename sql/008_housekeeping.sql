-- 008_housekeeping: what the worker prunes (lib/jobs.c ac_housekeep): done
-- jobs after AC_JOBS_KEEP_DAYS, found by when they finished; expired
-- sessions, password resets and Telegram link codes (already indexed or
-- small). Dead jobs stay until an operator retries or deletes them.
CREATE INDEX jobs_done ON jobs (finished_at) WHERE state = 'done';
