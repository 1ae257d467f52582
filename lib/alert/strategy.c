/* strategy.c — see strategy.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "alert/strategy.h"
#include "base/util.h"

/* Sets the bits of a comma-separated list of names found in table. */
static int
parse_set(const char *list, const char *(*name)(int), int max, unsigned *out)
{
	char buf[256], *tok, *save = NULL;

	*out = 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (tok = strtok_r(buf, ",{} ", &save); tok; tok = strtok_r(NULL, ",{} ", &save)) {
		int i;

		for (i = 0; i < max; i++)
			if (strcmp(tok, name(i)) == 0)
				break;
		if (i == max)
			return -1;
		*out |= 1u << i;
	}
	return 0;
}

static const char *
action_name(int i)
{
	return ac_action_name((enum ac_action)i);
}

static const char *
field_name(int i)
{
	return ac_field_name((enum ac_field)i);
}

static const struct ac_stmt st_by_token = { "strategy_by_token",
	"SELECT id, status, symbol, timeframe, strategy,"
	" array_to_string(enabled_actions, ','), array_to_string(required_fields, ','),"
	" webhook_token_hash, dedup_window_s"
	" FROM strategies WHERE webhook_token_hash = $1", 1 };

/* Strategies recently found, by token hash (see ac_strategy_cache()),
 * shared by the threads of a process under cache_mu. When an entry
 * expires one thread looks it up again; the others go on with the old
 * copy for as long as that takes (at most REFRESH_MAX_MS), rather than
 * all asking the database at once. */
#define CACHE_SLOTS 16
#define REFRESH_MAX_MS 2000
static struct {
	unsigned char		hash[32];
	int64_t			until;		/* monotonic ms; 0: empty */
	int64_t			refreshing;	/* since when a thread looks it up; 0: none */
	struct ac_strategy	s;
} cache[CACHE_SLOTS];
static int	cache_ttl_ms;
static unsigned	cache_next;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

void
ac_strategy_cache(int ttl_ms)
{
	pthread_mutex_lock(&cache_mu);
	cache_ttl_ms = ttl_ms > 0 ? ttl_ms : 0;
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_mu);
}

/* 1 and the cached strategy for hash in out (fresh, or expired while
 * another thread refreshes it), or 0: the caller looks it up, and an
 * expired entry is marked as being refreshed by it. Every slot is
 * compared, in constant time, whatever matches. */
static int
cache_get(const unsigned char hash[32], int64_t now, struct ac_strategy *out)
{
	int hit = 0, slot = -1;

	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (ac_ct_equal(cache[i].hash, hash, 32) && cache[i].until != 0)
			slot = i;
	if (slot >= 0) {
		if (cache[slot].until > now ||
		    (cache[slot].refreshing != 0 && now - cache[slot].refreshing < REFRESH_MAX_MS)) {
			*out = cache[slot].s;
			hit = 1;
		} else {
			cache[slot].refreshing = now;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return hit;
}

/* Stores what a lookup found (s), or forgets hash (s NULL: unknown), or
 * only ends the refresh (the database did not answer). */
static void
cache_put(const unsigned char hash[32], const struct ac_strategy *s, int forget, int64_t now)
{
	int slot = -1;

	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (memcmp(cache[i].hash, hash, 32) == 0 && cache[i].until != 0)
			slot = i;
	if (s != NULL) {
		if (slot < 0)
			slot = (int)(cache_next++ % CACHE_SLOTS);
		memcpy(cache[slot].hash, hash, 32);
		cache[slot].s = *s;
		cache[slot].until = now + cache_ttl_ms;
		cache[slot].refreshing = 0;
	} else if (slot >= 0 && forget) {
		memset(&cache[slot], 0, sizeof(cache[slot]));
	} else if (slot >= 0) {
		cache[slot].refreshing = 0;
	}
	pthread_mutex_unlock(&cache_mu);
}

enum ac_lookup
ac_strategy_by_token_hash(struct ac_db *db, const unsigned char hash[32], struct ac_strategy *out)
{
	const char *vals[1] = { (const char *)hash };
	int lens[1] = { 32 }, fmts[1] = { 1 };
	int64_t now = cache_ttl_ms ? ac_mono_ms() : 0;
	PGresult *res;
	enum ac_lookup rc = AC_LOOKUP_UNKNOWN;

	memset(out, 0, sizeof(*out));
	if (cache_ttl_ms && cache_get(hash, now, out))
		return AC_LOOKUP_FOUND;
	res = ac_db_exec(db, &st_by_token, vals, lens, fmts);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		if (cache_ttl_ms)
			cache_put(hash, NULL, 0, now);
		return AC_LOOKUP_DB_DOWN;
	}
	if (PQntuples(res) == 1) {
		unsigned char stored[32];
		size_t n = 0;
		unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 7), &n);

		memset(stored, 0, sizeof(stored));
		if (raw != NULL && n == 32)
			memcpy(stored, raw, 32);
		PQfreemem(raw);
		if (ac_ct_equal(stored, hash, 32)) {
			out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 1));
			snprintf(out->rules.symbol, sizeof(out->rules.symbol), "%s", PQgetvalue(res, 0, 2));
			snprintf(out->rules.timeframe, sizeof(out->rules.timeframe), "%s", PQgetvalue(res, 0, 3));
			snprintf(out->rules.name, sizeof(out->rules.name), "%s", PQgetvalue(res, 0, 4));
			if (parse_set(PQgetvalue(res, 0, 5), action_name, AC_ACTION_ENABLE_MAX, &out->rules.actions) == -1 ||
			    parse_set(PQgetvalue(res, 0, 6), field_name, AC_F__MAX, &out->rules.required) == -1)
				ac_error("strategy %lld has unknown actions or fields", out->id);
			out->rules.max_skew_ms = AC_MAX_SKEW_MS_DEFAULT;
			out->dedup_window_ms = strtoll(PQgetvalue(res, 0, 8), NULL, 10) * 1000;
			rc = AC_LOOKUP_FOUND;
		}
	}
	PQclear(res);
	if (cache_ttl_ms)
		cache_put(hash, rc == AC_LOOKUP_FOUND ? out : NULL, 1, now);
	return rc;
}

#define STRATEGY_COLUMNS \
	"id, name, description, symbol, timeframe, strategy, key_value::text," \
	" atr_period, ema_period, heikin_ashi, webhook_token, max_open_trades," \
	" allow_opposite_signals, replace_on_same_signal, auto_close_on_tp_sl," \
	" array_to_json(enabled_actions)::text, array_to_json(required_fields)::text," \
	" credit_cost, status, total_alerts, dedup_window_s," \
	" to_char(last_alert_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')," \
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Row i of a STRATEGY_COLUMNS result as JSON. */
static json_t *
row_json(const PGresult *res, int i, const char *base_url)
{
	json_t *o = json_object();
	const char *token = PQgetvalue(res, i, 10);
	char url[512];

	snprintf(url, sizeof(url), "%s/hook/tv/%s", base_url, token);
	json_object_set_new(o, "id", json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
	json_object_set_new(o, "name", json_string(PQgetvalue(res, i, 1)));
	json_object_set_new(o, "description", json_string(PQgetvalue(res, i, 2)));
	json_object_set_new(o, "symbol", json_string(PQgetvalue(res, i, 3)));
	json_object_set_new(o, "timeframe", json_string(PQgetvalue(res, i, 4)));
	json_object_set_new(o, "strategy", json_string(PQgetvalue(res, i, 5)));
	json_object_set_new(o, "ut_bot", json_pack("{s:f, s:i, s:i, s:b}",
	    "key_value", strtod(PQgetvalue(res, i, 6), NULL),
	    "atr_period", (int)strtol(PQgetvalue(res, i, 7), NULL, 10),
	    "ema_period", (int)strtol(PQgetvalue(res, i, 8), NULL, 10),
	    "heikin_ashi", *PQgetvalue(res, i, 9) == 't'));
	json_object_set_new(o, "token", json_string(token));
	json_object_set_new(o, "webhook_url", json_string(url));
	json_object_set_new(o, "trade_management", json_pack("{s:i, s:b, s:b, s:b}",
	    "max_open_trades", (int)strtol(PQgetvalue(res, i, 11), NULL, 10),
	    "allow_opposite_signals", *PQgetvalue(res, i, 12) == 't',
	    "replace_on_same_signal", *PQgetvalue(res, i, 13) == 't',
	    "auto_close_on_tp_sl", *PQgetvalue(res, i, 14) == 't'));
	json_object_set_new(o, "enabled_actions", json_loads(PQgetvalue(res, i, 15), 0, NULL));
	json_object_set_new(o, "required_fields", json_loads(PQgetvalue(res, i, 16), 0, NULL));
	json_object_set_new(o, "credit_cost", json_integer((int)strtol(PQgetvalue(res, i, 17), NULL, 10)));
	json_object_set_new(o, "status", json_string(PQgetvalue(res, i, 18)));
	json_object_set_new(o, "total_alerts", json_integer(strtoll(PQgetvalue(res, i, 19), NULL, 10)));
	json_object_set_new(o, "dedup_window_s", json_integer(strtoll(PQgetvalue(res, i, 20), NULL, 10)));
	json_object_set_new(o, "last_alert_at", PQgetisnull(res, i, 21) ? json_null() :
	    json_string(PQgetvalue(res, i, 21)));
	json_object_set_new(o, "created_at", json_string(PQgetvalue(res, i, 22)));
	return o;
}

/* "BUY,SELL" → "{BUY,SELL}" after checking every name; NULL if one is bad. */
static int
array_literal(const char *list, const char *(*name)(int), int max, char *out, size_t sz)
{
	unsigned set;
	size_t o = 0;

	if (parse_set(list, name, max, &set) == -1 || set == 0)
		return -1;
	out[o++] = '{';
	for (int i = 0; i < max; i++)
		if (set & (1u << i))
			o += (size_t)snprintf(out + o, sz - o, "%s%s", o > 1 ? "," : "", name(i));
	snprintf(out + o, sz - o, "}");
	return 0;
}

/* --dedup-window text for a strategy on canonical timeframe tf ("15m",
 * "4h", "1w"): 1 to half a bar, in seconds, into out as digits. 0, or -1
 * with *e filled. */
static int
dedup_window(const char *text, const char *tf, char *out, size_t outsz, struct ac_err *e)
{
	static const struct { char unit; long long s; } units[] = {
		{ 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	char *unit;
	long long bar = strtoll(tf, &unit, 10), v;
	const char *errstr;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*unit == units[i].unit)
			bar *= units[i].s;
	v = ac_strtonum(text, 1, bar / 2, &errstr);
	if (errstr != NULL) {
		return ac_err_set(e, AC_E_INVALID, "dedup_window", "--dedup-window: seconds from 1"
		    " to %lld (half a %s bar) are required; received \"%s\" (%s)", bar / 2, tf, text,
		    errstr);
	}
	snprintf(out, outsz, "%lld", v);
	return 0;
}

/* --required text → an array literal in out. 0, or -1 with *e filled. */
static int
required_fields(const char *text, char *out, size_t outsz, struct ac_err *e)
{
	if (array_literal(text, field_name, AC_F__MAX, out, outsz) == 0)
		return 0;
	return ac_err_set(e, AC_E_INVALID, "required", "--required: a list of symbol, timeframe,"
	    " strategy, action, price, take_profit, stop_loss, time is required");
}

json_t *
ac_strategy_create(struct ac_db *db, const struct ac_strategy_new *in,
    const char *base_url, struct ac_err *e)
{
	static const char sql[] =
	    "INSERT INTO strategies (name, description, symbol, timeframe, strategy,"
	    " key_value, atr_period, ema_period, heikin_ashi, webhook_token, webhook_token_hash,"
	    " max_open_trades, enabled_actions, required_fields, status,"
	    " allow_opposite_signals, replace_on_same_signal, dedup_window_s)"
	    " VALUES ($1, coalesce($2, ''), $3, $4, $5, coalesce($6::numeric, 1),"
	    " coalesce($7::int, 10), coalesce($8::int, 1), $9, $10, decode($11, 'hex'),"
	    " coalesce($12::int, 3), coalesce($13::text[], '{BUY,SELL,TP_HIT,SL_HIT}'),"
	    " coalesce($14::text[], '{symbol,timeframe,action,price}'),"
	    " coalesce($15, 'active'), coalesce($16::boolean, true), coalesce($17::boolean, true),"
	    " coalesce($18::int, 30))"
	    " RETURNING " STRATEGY_COLUMNS;
	char sym[AC_SYMBOL_MAX], tf[AC_TIMEFRAME_MAX], token[AC_TOKEN_LEN + 1], hash[65];
	char actions[128], required[256], name[300], window[24];
	const char *vals[18];
	PGresult *res;
	json_t *out;

	if (in->symbol == NULL || ac_symbol_normalize(in->symbol, sym, sizeof(sym), NULL, 0) == -1) {
		ac_err_set(e, AC_E_INVALID, "symbol", "--symbol: a ticker such as BTCUSDT is required");
		return NULL;
	}
	if (in->timeframe == NULL || ac_timeframe_normalize(in->timeframe, tf, sizeof(tf)) == -1 ||
	    !ac_timeframe_valid(tf)) {
		ac_err_set(e, AC_E_INVALID, "timeframe",
		    "--timeframe: one of 1m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w is required");
		return NULL;
	}
	if (in->strategy == NULL || *in->strategy == '\0') {
		ac_err_set(e, AC_E_INVALID, "strategy", "--strategy: a strategy name such as \"UT Bot\" is required");
		return NULL;
	}
	if (in->actions && array_literal(in->actions, action_name, AC_ACTION_ENABLE_MAX, actions, sizeof(actions)) == -1) {
		ac_err_set(e, AC_E_INVALID, "actions", "--actions: a list of BUY, SELL, TP_HIT, SL_HIT is required");
		return NULL;
	}
	if ((in->required && required_fields(in->required, required, sizeof(required),
	    e) == -1) || (in->dedup_window && dedup_window(in->dedup_window, tf, window,
	    sizeof(window), e) == -1))
		return NULL;
	if (ac_token_new(token) == -1) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "no randomness from the OS");
		return NULL;
	}
	ac_sha256_hex(token, strlen(token), hash);
	snprintf(name, sizeof(name), "%s %s %s", in->strategy, sym, tf);
	vals[0] = in->name ? in->name : name;
	vals[1] = in->description;
	vals[2] = sym;
	vals[3] = tf;
	vals[4] = in->strategy;
	vals[5] = in->key_value;
	vals[6] = in->atr_period;
	vals[7] = in->ema_period;
	vals[8] = in->heikin_ashi ? "true" : "false";
	vals[9] = token;
	vals[10] = hash;
	vals[11] = in->max_open_trades;
	vals[12] = in->actions ? actions : NULL;
	vals[13] = in->required ? required : NULL;
	vals[14] = in->status;
	vals[15] = in->allow_opposite < 0 ? NULL : in->allow_opposite ? "true" : "false";
	vals[16] = in->replace_same < 0 ? NULL : in->replace_same ? "true" : "false";
	vals[17] = in->dedup_window ? window : NULL;
	res = ac_db_query(db, sql, 18, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		if (strcmp(ac_db_sqlstate(db), "23505") == 0)
			ac_err_set(e, AC_E_CONFLICT, "strategy", "a strategy %s for %s %s already exists",
			    in->strategy, sym, tf);
		else
			ac_err_set(e, ac_db_unavailable(db) ? AC_E_UNAVAILABLE : AC_E_INTERNAL, NULL,
			    "%s", ac_db_error(db));
		return NULL;
	}
	out = row_json(res, 0, base_url);
	PQclear(res);
	return out;
}

json_t *
ac_strategy_edit(struct ac_db *db, const char *id, const struct ac_strategy_new *in,
    const char *base_url, struct ac_err *e)
{
	static const char sql[] =
	    "UPDATE strategies SET required_fields = coalesce($2::text[], required_fields),"
	    " dedup_window_s = coalesce($3::int, dedup_window_s), updated_at = now()"
	    " WHERE id = $1 RETURNING " STRATEGY_COLUMNS;
	char required[256], window[24];
	const char *errstr, *vals[3] = { id, NULL, NULL };
	PGresult *res;
	json_t *out;

	if (id == NULL || (ac_strtonum(id, 1, INT64_MAX, &errstr), errstr != NULL)) {
		ac_err_set(e, AC_E_INVALID, "id", "--id: a strategy id is required");
		return NULL;
	}
	res = ac_db_query(db, "SELECT timeframe FROM strategies WHERE id = $1", 1, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "id", "--id: no strategy %s", id);
		return NULL;
	}
	if ((in->required && required_fields(in->required, required, sizeof(required),
	    e) == -1) || (in->dedup_window && dedup_window(in->dedup_window,
	    PQgetvalue(res, 0, 0), window, sizeof(window), e) == -1)) {
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	vals[1] = in->required ? required : NULL;
	vals[2] = in->dedup_window ? window : NULL;
	res = ac_db_query(db, sql, 3, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_db_err(db, e);
		return NULL;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		ac_err_set(e, AC_E_NOT_FOUND, "id", "--id: no strategy %s", id);
		return NULL;
	}
	out = row_json(res, 0, base_url);
	PQclear(res);
	return out;
}

json_t *
ac_strategy_list(struct ac_db *db, const char *base_url)
{
	PGresult *res = ac_db_query(db, "SELECT " STRATEGY_COLUMNS " FROM strategies ORDER BY id", 0, NULL);
	json_t *arr;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return NULL;
	arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, row_json(res, i, base_url));
	PQclear(res);
	return arr;
}
