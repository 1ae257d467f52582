/* notify.c — see notify.h. */
#include <stdio.h>
#include <stdlib.h>

#include "account/notify.h"
#include "base/queue.h"

#define NOTICE_ATTEMPTS	"7"	/* as lib/deliver/notice.c: the email plan's six sends and one */

/* The user's channels: the ones chosen and reachable, else email. */
static const struct ac_stmt st_notify = { "notify_user",
	"WITH u AS (SELECT id, array_remove(ARRAY["
	"  CASE WHEN notify_email THEN 'email' END,"
	"  CASE WHEN notify_telegram AND telegram_chat_id IS NOT NULL THEN 'telegram' END,"
	"  CASE WHEN notify_sms AND phone IS NOT NULL THEN 'sms' END,"
	"  CASE WHEN notify_push AND push_player_id IS NOT NULL THEN 'push' END], NULL) AS chs"
	"  FROM users WHERE id = $1::bigint),"
	" c AS (SELECT u.id, ch FROM u, unnest(CASE WHEN cardinality(u.chs) = 0"
	"  THEN ARRAY['email'] ELSE u.chs END) AS ch),"
	" j AS (" AC_SQL_JOBS_INSERT(", max_attempts")
	"  SELECT 'notice', jsonb_build_object('user_id', c.id, 'notice', $2::text,"
	"  'channel', c.ch, 'vars', coalesce($4::jsonb, '{}')), $2 || ':' || $3 || ':' || c.ch,"
	"  now(), " NOTICE_ATTEMPTS " FROM c ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
	" SELECT (SELECT count(*) FROM j), pg_notify('ac_jobs', 'notice')", 4 };

int
ac_notify_user(struct ac_db *db, long long user_id, const char *notice, const char *key,
    json_t *vars)
{
	char uid[24], *v = vars ? json_dumps(vars, JSON_COMPACT) : NULL;
	const char *vals[4] = { uid, notice, key, v };
	PGresult *res;
	int n;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_notify, vals, NULL, NULL);
	free(v);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}
