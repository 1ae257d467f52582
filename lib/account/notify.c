/* notify.c — see notify.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/notify.h"
#include "base/crypto.h"
#include "base/queue.h"

#define NOTICE_ATTEMPTS	"7"	/* as lib/deliver/notice.c: the email plan's six sends and one */

/* The user's channels: the ones chosen and reachable, else email. */
static const struct ac_stmt st_notify = { "notify_user",
	"WITH u AS (SELECT id, array_remove(ARRAY["
	"  CASE WHEN notify_email THEN 'email' END,"
	"  CASE WHEN notify_telegram AND telegram_chat_id IS NOT NULL THEN 'telegram' END,"
	"  CASE WHEN notify_sms AND phone IS NOT NULL THEN 'sms' END,"
	"  CASE WHEN notify_push AND EXISTS (SELECT 1 FROM push_devices d"
	"   WHERE d.user_id = users.id) THEN 'push' END], NULL) AS chs"
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

void
ac_unsubscribe_token(const char *secret, long long user_id, char out[65])
{
	char msg[48];
	int n = snprintf(msg, sizeof(msg), "unsubscribe:%lld", user_id);

	ac_hmac_sha256_hex(secret, msg, (size_t)n, out);
}

int
ac_unsubscribe_ok(const char *secret, long long user_id, const char *token)
{
	char want[65];

	if (secret == NULL || *secret == '\0' || token == NULL || strlen(token) != 64)
		return 0;
	ac_unsubscribe_token(secret, user_id, want);
	return ac_ct_equal(want, token, 64);
}

static const struct ac_stmt st_unsubscribe = { "unsubscribe_email",
	"UPDATE users SET notify_email = false WHERE id = $1::bigint", 1 };

int
ac_unsubscribe_email(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };
	long long n;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	n = ac_db_command(db, &st_unsubscribe, vals);
	return n < 0 ? -1 : n > 0;
}
