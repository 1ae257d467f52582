-- bench/jobs/claim.sql — the runner's SQL for one batch of noop jobs, as
-- pgbench runs it: the claim (lib/work/jobs.c st_claim, committed on its own)
-- and the completion of the whole batch (st_complete). :batch is set with -D.
WITH c AS (UPDATE jobs SET state = 'running', locked_by = 'pgbench',
	locked_until = now() + 120 * interval '1 second', attempts = attempts + 1,
	updated_at = now()
	WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= now()
		AND kind = ANY ('{noop}'::text[]) ORDER BY priority DESC, run_at, id
		LIMIT :batch FOR UPDATE SKIP LOCKED)
	RETURNING id, kind, payload, attempts, max_attempts, priority, run_at)
SELECT COALESCE(array_agg(id ORDER BY priority DESC, run_at, id), '{}') AS ids FROM c \gset
UPDATE jobs SET state = 'done', finished_at = now(), updated_at = now(),
	locked_by = NULL, locked_until = NULL
	WHERE id = ANY (:ids::bigint[]) AND locked_by = 'pgbench' AND state = 'running';
