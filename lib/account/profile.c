/* profile.c — see profile.h. */
#include <stdio.h>
#include <stdlib.h>

#include "account/profile.h"
#include "account/query.h"
#include "base/log.h"

static const struct ac_stmt st_profile = { "profile",
	"SELECT json_build_object('id', id, 'email', email, 'name', display_name,"
	" 'phone', phone, 'timezone', timezone, 'status', status,"
	" 'max_daily_alerts', max_daily_alerts, 'risk_level', risk_level,"
	" 'notifications', json_build_object('email', notify_email, 'telegram', notify_telegram,"
	"  'sms', notify_sms, 'push', notify_push, 'renewal_reminders', renewal_reminders),"
	" 'telegram_connected', telegram_chat_id IS NOT NULL, 'credit_balance', credit_balance,"
	" 'push_devices', (SELECT coalesce(json_agg(json_build_object('id', d.id,"
	"  'label', d.label, 'linked_at', to_char(d.linked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))"
	"  ORDER BY d.linked_at, d.id), '[]') FROM push_devices d WHERE d.user_id = users.id),"
	" 'created_at', " AC_SQL_ISO("created_at") ", 'telegram_username', telegram_username)"
	" FROM users WHERE id = $1", 1 };

json_t *
ac_profile(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_profile, user_id, NULL, e);
}

static const struct ac_stmt st_profile_update = { "profile_update",
	"UPDATE users SET display_name = $2, phone = nullif($3, ''), timezone = $4,"
	" max_daily_alerts = $5, notify_email = $6, notify_telegram = $7, notify_sms = $8,"
	" notify_push = $9, renewal_reminders = $10, updated_at = now() WHERE id = $1", 10 };

int
ac_profile_update(struct ac_db *db, long long user_id, const struct ac_profile_in *in,
    struct ac_err *e)
{
	char uid[24];
	const char *vals[10];

	snprintf(uid, sizeof(uid), "%lld", user_id);
	vals[0] = uid;
	vals[1] = in->name;
	vals[2] = in->phone;
	vals[3] = in->timezone;
	vals[4] = in->max_daily_alerts;
	vals[5] = in->notify_email ? "true" : "false";
	vals[6] = in->notify_telegram ? "true" : "false";
	vals[7] = in->notify_sms ? "true" : "false";
	vals[8] = in->notify_push ? "true" : "false";
	vals[9] = in->renewal_reminders ? "true" : "false";
	return ac_db_command(db, &st_profile_update, vals) == -1 ? ac_db_err(db, e) : 0;
}

static const struct ac_stmt st_credential_version = { "credential_version",
	"SELECT credential_version FROM users WHERE id = $1 AND status = 'active'", 1 };

long long
ac_credential_version(struct ac_db *db, long long user_id, struct ac_err *e)
{
	char uid[24];
	const char *vals[1] = { uid };
	PGresult *res;
	long long cv = 0;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	res = ac_db_exec(db, &st_credential_version, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_error("%s: %s", st_credential_version.name, ac_db_error(db));
		return ac_db_err(db, e);
	}
	if (PQntuples(res) == 1)
		cv = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return cv;
}

static const struct ac_stmt st_subscription_status = { "subscription_status",
	"SELECT json_build_object('credit_balance', u.credit_balance, 'subscriptions',"
	" (SELECT coalesce(json_agg(json_build_object('id', s.id, 'plan_id', s.plan_id,"
	"  'plan', p.name, 'status', s.status, 'period_start', " AC_SQL_ISO("s.period_start") ","
	"  'period_end', " AC_SQL_ISO("s.period_end") ", 'auto_renew', s.auto_renew,"
	"  'provider', s.provider, 'past_due_since', " AC_SQL_ISO("s.past_due_since") ")"
	"  ORDER BY s.period_end DESC), '[]') FROM subscriptions s JOIN plans p"
	"  ON p.id = s.plan_id WHERE s.user_id = u.id AND (s.status = 'pending'"
	"  OR s.status IN ('active', 'past_due') AND s.period_end > now())),"
	" 'ended', (SELECT json_build_object('id', s.id, 'plan', p.name, 'status', s.status,"
	"  'reason', s.end_reason, 'period_end', " AC_SQL_ISO("least(s.period_end, s.ended_at)") ")"
	"  FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.user_id = u.id"
	"  AND (s.status = 'expired' OR s.status = 'cancelled' AND s.end_reason = 'cancelled')"
	"  ORDER BY s.updated_at DESC, s.id DESC LIMIT 1))"
	" FROM users u WHERE u.id = $1", 1 };

json_t *
ac_subscription_status(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_subscription_status, user_id, NULL, e);
}

/* Times in the user's zone, as on every other page. */
static const struct ac_stmt st_api_tokens = { "api_token_list",
	"SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name,"
	" 'prefix', t.prefix, 'created', " AC_SQL_LOCAL("t.created_at") ","
	" 'last_used', " AC_SQL_LOCAL("t.last_used_at") ","
	" 'revoked', t.revoked_at IS NOT NULL) ORDER BY t.id DESC), '[]')"
	" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = $1", 1 };

json_t *
ac_api_token_list(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_api_tokens, user_id, NULL, e);
}
