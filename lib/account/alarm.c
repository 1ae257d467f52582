/* alarm.c — see alarm.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/alarm.h"
#include "work/fanout.h"
#include "base/log.h"
#include "base/pgarray.h"

/* 1 if s is a positive decimal ("42", "0.5"), at most 30 characters. */
static int
price_ok(const char *s)
{
	size_t digits = 0, dots = 0;

	if (strlen(s) > 30)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			return 0;
	}
	return digits > 0 && dots <= 1 && s[0] != '.' && s[strlen(s) - 1] != '.' &&
	    strtod(s, NULL) > 0;
}

/* The channel list as a PostgreSQL array into out; -1 if a name is wrong. */
static int
channels_array(const char *list, struct ac_pgarray *out)
{
	char buf[128], *tok, *save = NULL;

	if (list == NULL || snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (ac_channel_parse(tok) == -1)
			return -1;
		ac_pgarray_str(out, tok);
	}
	return out->n > 0 ? 0 : -1;
}

const char *
ac_alarm_check(struct ac_alarm_in *in, const char **field)
{
	struct ac_pgarray a;
	int bad;

	ac_pgarray_init(&a);
	bad = channels_array(in->channels, &a) == -1;
	ac_pgarray_free(&a);
	if (bad) {
		*field = "channels";
		return "choose at least one channel of email, telegram, sms and push";
	}
	if (in->min_price != NULL && *in->min_price == '\0')
		in->min_price = NULL;
	if (in->max_price != NULL && *in->max_price == '\0')
		in->max_price = NULL;
	if (in->min_price != NULL && !price_ok(in->min_price)) {
		*field = "min_price";
		return "the minimum price must be a positive number like 42000 or 0.5";
	}
	if (in->max_price != NULL && !price_ok(in->max_price)) {
		*field = "max_price";
		return "the maximum price must be a positive number like 42000 or 0.5";
	}
	if (in->min_price != NULL && in->max_price != NULL &&
	    strtod(in->min_price, NULL) > strtod(in->max_price, NULL)) {
		*field = "max_price";
		return "the maximum price must not be below the minimum price";
	}
	return NULL;
}

#define ALARM_JSON \
	"json_build_object('id', a.id, 'strategy_id', a.strategy_id, 'strategy', st.name," \
	" 'symbol', st.symbol, 'timeframe', st.timeframe, 'enabled', a.enabled," \
	" 'on_entry', a.on_entry, 'on_exit', a.on_exit, 'on_replacement', a.on_replacement," \
	" 'channels', a.channels, 'min_price', a.min_price::text, 'max_price', a.max_price::text," \
	" 'alerts_received', a.alerts_received," \
	" 'created_at', to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"

static const struct ac_stmt st_list = { "alarm_list",
	"SELECT coalesce(json_agg(" ALARM_JSON " ORDER BY a.id DESC), '[]')"
	" FROM alarms a JOIN strategies st ON st.id = a.strategy_id WHERE a.user_id = $1", 1 };

static const struct ac_stmt st_get = { "alarm_get",
	"SELECT " ALARM_JSON " FROM alarms a JOIN strategies st ON st.id = a.strategy_id"
	" WHERE a.user_id = $1 AND a.id = $2", 2 };

json_t *
ac_alarm_list(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };
	int found;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return ac_db_json(db, &st_list, vals, &found);
}

json_t *
ac_alarm_get(struct ac_db *db, long long user_id, long long id, int *found)
{
	char uid[24], aid[24];
	const char *vals[2] = { uid, aid };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(aid, sizeof(aid), "%lld", id);
	return ac_db_json(db, &st_get, vals, found);
}

/* Runs a command on the user's alarm id: 1 if it touched a row, 0, -1. */
static int
command(struct ac_db *db, const struct ac_stmt *st, const char *const *vals)
{
	PGresult *res = ac_db_exec(db, st, vals, NULL, NULL);
	int n;

	if (!ac_db_ok(db, res, PGRES_COMMAND_OK)) {
		ac_error("%s: %s", st->name, ac_db_error(db));
		return -1;
	}
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n > 0;
}

static const struct ac_stmt st_update = { "alarm_update",
	"UPDATE alarms SET channels = $3::text[], min_price = $4, max_price = $5,"
	" on_entry = $6, on_exit = $7, on_replacement = $8, enabled = $9, updated_at = now()"
	" WHERE user_id = $1 AND id = $2", 9 };

int
ac_alarm_update(struct ac_db *db, long long user_id, long long id, const struct ac_alarm_in *in)
{
	struct ac_pgarray ch;
	char uid[24], aid[24];
	const char *vals[9];
	int rc;

	ac_pgarray_init(&ch);
	if (channels_array(in->channels, &ch) == -1) {
		ac_pgarray_free(&ch);
		return -1;
	}
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(aid, sizeof(aid), "%lld", id);
	vals[0] = uid;
	vals[1] = aid;
	vals[2] = ac_pgarray_text(&ch);
	vals[3] = in->min_price;
	vals[4] = in->max_price;
	vals[5] = in->on_entry ? "true" : "false";
	vals[6] = in->on_exit ? "true" : "false";
	vals[7] = in->on_replacement ? "true" : "false";
	vals[8] = in->enabled ? "true" : "false";
	rc = command(db, &st_update, vals);
	ac_pgarray_free(&ch);
	return rc;
}

static const struct ac_stmt st_enable = { "alarm_enable",
	"UPDATE alarms SET enabled = $3, updated_at = now() WHERE user_id = $1 AND id = $2", 3 };

int
ac_alarm_enable(struct ac_db *db, long long user_id, long long id, int on)
{
	char uid[24], aid[24];
	const char *vals[3] = { uid, aid, on ? "true" : "false" };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(aid, sizeof(aid), "%lld", id);
	return command(db, &st_enable, vals);
}

static const struct ac_stmt st_delete = { "alarm_delete",
	"DELETE FROM alarms WHERE user_id = $1 AND id = $2", 2 };

int
ac_alarm_delete(struct ac_db *db, long long user_id, long long id)
{
	char uid[24], aid[24];
	const char *vals[2] = { uid, aid };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(aid, sizeof(aid), "%lld", id);
	return command(db, &st_delete, vals);
}

static const struct ac_stmt st_strategies = { "alarm_strategies",
	"SELECT coalesce(json_agg(json_build_object('id', st.id, 'name', st.name,"
	" 'symbol', st.symbol, 'timeframe', st.timeframe, 'has_alarm',"
	" EXISTS (SELECT 1 FROM alarms a WHERE a.user_id = $1 AND a.strategy_id = st.id))"
	" ORDER BY st.name, st.id), '[]')"
	" FROM strategies st WHERE st.id IN (SELECT ps.strategy_id FROM subscriptions s"
	"  JOIN plan_strategies ps ON ps.plan_id = s.plan_id WHERE s.user_id = $1"
	"  AND s.status = 'active' AND s.period_start <= now() AND s.period_end > now())", 1 };

json_t *
ac_alarm_strategies(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };
	int found;

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return ac_db_json(db, &st_strategies, vals, &found);
}
