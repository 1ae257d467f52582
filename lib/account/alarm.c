/* alarm.c — see alarm.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/alarm.h"
#include "account/query.h"
#include "base/channel.h"
#include "base/log.h"
#include "base/pgarray.h"
#include "base/util.h"

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

int
ac_alarm_check(struct ac_alarm_in *in, struct ac_err *e)
{
	struct ac_pgarray a;
	int bad;

	ac_pgarray_init(&a);
	bad = channels_array(in->channels, &a) == -1;
	ac_pgarray_free(&a);
	if (bad)
		return ac_err_set(e, AC_E_INVALID, "channels",
		    "choose at least one channel of email, telegram, sms and push");
	if (in->min_price != NULL && *in->min_price == '\0')
		in->min_price = NULL;
	if (in->max_price != NULL && *in->max_price == '\0')
		in->max_price = NULL;
	if (in->min_price != NULL && !price_ok(in->min_price))
		return ac_err_set(e, AC_E_INVALID, "min_price",
		    "the minimum price must be a positive number like 42000 or 0.5");
	if (in->max_price != NULL && !price_ok(in->max_price))
		return ac_err_set(e, AC_E_INVALID, "max_price",
		    "the maximum price must be a positive number like 42000 or 0.5");
	if (in->min_price != NULL && in->max_price != NULL &&
	    strtod(in->min_price, NULL) > strtod(in->max_price, NULL))
		return ac_err_set(e, AC_E_INVALID, "max_price",
		    "the maximum price must not be below the minimum price");
	return 0;
}

static const struct ac_stmt st_insert = { "alarm_insert",
	"WITH s AS (SELECT s.id FROM subscriptions s JOIN plan_strategies ps"
	"  ON ps.plan_id = s.plan_id AND ps.strategy_id = $2"
	"  WHERE s.user_id = $1 AND s.status IN ('active', 'past_due') AND s.period_start <= now()"
	"  AND s.period_end > now() ORDER BY s.period_end DESC, s.id LIMIT 1)"
	" INSERT INTO alarms (user_id, strategy_id, subscription_id, channels, on_entry, on_exit,"
	"  on_replacement, min_price, max_price, enabled)"
	" SELECT $1, $2, s.id, $3::text[], $4, $5, $6, $7, $8, $9 FROM s"
	" RETURNING json_build_object('id', id, 'user_id', user_id, 'strategy_id', strategy_id,"
	" 'subscription_id', subscription_id, 'channels', channels, 'on_entry', on_entry,"
	" 'on_exit', on_exit, 'on_replacement', on_replacement, 'min_price', min_price,"
	" 'max_price', max_price, 'enabled', enabled)", 9 };

/* What a new alarm on strategy $2 needs of user $1: a covering
 * subscription, and room under the most strategies the user's active
 * plans allow (-1: no limit). An alarm already there is left to the
 * insert (a conflict). A credit is not needed yet: a plan may grant none
 * and a signal without one is shown as skipped (no_credits). */
static const struct ac_stmt st_allow = { "alarm_allow",
	"SELECT EXISTS (SELECT 1 FROM subscriptions s JOIN plan_strategies ps"
	"  ON ps.plan_id = s.plan_id AND ps.strategy_id = $2::bigint WHERE s.user_id = $1"
	"  AND s.status IN ('active', 'past_due') AND s.period_start <= now()"
	"  AND s.period_end > now()),"
	" coalesce((SELECT CASE WHEN bool_or(p.max_strategies = -1) THEN -1"
	"  ELSE max(p.max_strategies) END FROM subscriptions s JOIN plans p ON p.id = s.plan_id"
	"  WHERE s.user_id = $1 AND s.status IN ('active', 'past_due')"
	"  AND s.period_start <= now() AND s.period_end > now()), -1),"
	" (SELECT count(*) FROM alarms a WHERE a.user_id = $1 AND a.strategy_id <> $2::bigint),"
	" EXISTS (SELECT 1 FROM alarms a WHERE a.user_id = $1 AND a.strategy_id = $2::bigint),"
	" (SELECT credit_balance FROM users WHERE id = $1),"
	" coalesce((SELECT min(coalesce(p.credit_cost, st.credit_cost)) FROM subscriptions s"
	"  JOIN plan_strategies ps ON ps.plan_id = s.plan_id AND ps.strategy_id = $2::bigint"
	"  JOIN plans p ON p.id = s.plan_id JOIN strategies st ON st.id = ps.strategy_id"
	"  WHERE s.user_id = $1 AND s.status IN ('active', 'past_due')"
	"  AND s.period_start <= now() AND s.period_end > now()), 0)", 2 };

/* 0 if the user may add the alarm, else -1 with e (AC_E_PAYMENT). */
static int
alarm_allowed(struct ac_db *db, const char *uid, const char *strategy, int need_credit,
    struct ac_err *e)
{
	const char *vals[2] = { uid, strategy };
	PGresult *res = ac_db_exec(db, &st_allow, vals, NULL, NULL);
	long long allowed, used, balance, cost;
	int covered, exists;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return ac_db_err(db, e);
	covered = PQgetvalue(res, 0, 0)[0] == 't';
	allowed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	used = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	exists = PQgetvalue(res, 0, 3)[0] == 't';
	balance = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	cost = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	PQclear(res);
	if (exists)
		return 0;
	if (!covered)
		return ac_err_setx(e, AC_E_PAYMENT, "not_covered", "strategy_id",
		    "none of your active subscriptions covers this strategy");
	if (allowed >= 0 && used >= allowed)
		return ac_err_setx(e, AC_E_PAYMENT, "strategy_limit", "strategy_id",
		    "your plan allows alarms on %lld %s and you have %lld", allowed,
		    allowed == 1 ? "strategy" : "strategies", used);
	if (need_credit && balance < cost)
		return ac_err_setx(e, AC_E_PAYMENT, "no_credits", "strategy_id",
		    "a signal of this strategy costs %lld %s and you have %lld: a plan's credits"
		    " would pay for it", cost, cost == 1 ? "credit" : "credits", balance);
	return 0;
}

json_t *
ac_alarm_create(struct ac_db *db, struct ac_alarm_in *in, struct ac_err *e)
{
	struct ac_pgarray ch;
	char uid[24];
	const char *vals[9], *errstr = NULL;
	PGresult *res;
	json_t *o;

	if (ac_alarm_check(in, e) == -1)
		return NULL;
	if (in->strategy_id != NULL)
		ac_strtonum(in->strategy_id, 1, INT64_MAX, &errstr);
	if (in->strategy_id == NULL || errstr != NULL) {
		ac_err_set(e, AC_E_INVALID, "strategy_id", "choose a strategy");
		return NULL;
	}
	snprintf(uid, sizeof(uid), "%lld", in->user_id);
	if (alarm_allowed(db, uid, in->strategy_id, in->need_credit, e) == -1)
		return NULL;
	ac_pgarray_init(&ch);
	channels_array(in->channels, &ch);
	vals[0] = uid;
	vals[1] = in->strategy_id;
	vals[2] = ac_pgarray_text(&ch);
	vals[3] = in->on_entry ? "true" : "false";
	vals[4] = in->on_exit ? "true" : "false";
	vals[5] = in->on_replacement ? "true" : "false";
	vals[6] = in->min_price;
	vals[7] = in->max_price;
	vals[8] = in->enabled ? "true" : "false";
	res = ac_db_exec(db, &st_insert, vals, NULL, NULL);
	ac_pgarray_free(&ch);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		if (strcmp(ac_db_sqlstate(db), "23514") == 0 &&
		    strstr(ac_db_error(db), "strategy_limit") != NULL)	/* a concurrent add won */
			ac_err_setx(e, AC_E_PAYMENT, "strategy_limit", "strategy_id",
			    "your plan allows no more strategies");
		if (strcmp(ac_db_sqlstate(db), "23503") == 0)	/* no such strategy */
			ac_err_setx(e, AC_E_PAYMENT, "not_covered", "strategy_id",
			    "no strategy %s", in->strategy_id);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_setx(e, AC_E_PAYMENT, "not_covered", "strategy_id",
		    "none of your active subscriptions covers this strategy");
		return NULL;
	}
	o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return o;
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
ac_alarm_list(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_list, user_id, NULL, e);
}

json_t *
ac_alarm_get(struct ac_db *db, long long user_id, long long id, struct ac_err *e)
{
	char aid[24];
	const char *more[1] = { aid };

	snprintf(aid, sizeof(aid), "%lld", id);
	return ac_user_query(db, &st_get, user_id, more, e);
}

/* Runs a command on the user's alarm id: 1 if it touched a row, 0, -1. */
static int
command(struct ac_db *db, const struct ac_stmt *st, const char *const *vals)
{
	long long n = ac_db_command(db, st, vals);

	if (n == -1)
		ac_error("%s: %s", st->name, ac_db_error(db));
	return n == -1 ? -1 : n > 0;
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
	"  AND s.status IN ('active', 'past_due') AND s.period_start <= now() AND s.period_end > now())", 1 };

json_t *
ac_alarm_strategies(struct ac_db *db, long long user_id, struct ac_err *e)
{
	return ac_user_query(db, &st_strategies, user_id, NULL, e);
}
