/* strategy.c — see strategy.h. */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "base/log.h"
#include "alert/pine.h"
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
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')," \
	" price_tolerance::text"

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
	json_object_set_new(o, "price_tolerance", json_string(PQgetvalue(res, i, 23)));
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

/* The columns create and edit set, in their statements' parameter order
 * ($2... for edit, whose $1 is the id). */
enum {
	C_NAME, C_DESCRIPTION, C_SYMBOL, C_TIMEFRAME, C_STRATEGY, C_KEY_VALUE, C_ATR, C_EMA,
	C_HEIKIN, C_MAX_OPEN, C_ACTIONS, C_REQUIRED, C_STATUS, C_OPPOSITE, C_REPLACE,
	C_AUTO_CLOSE, C_TOLERANCE, C_COST, C_WINDOW, C__N
};

/* in checked, as the statements' text parameters (NULL: not given). */
struct checked {
	char		 sym[AC_SYMBOL_MAX], tf[AC_TIMEFRAME_MAX];
	char		 actions[128], required[256], window[24];
	const char	*v[C__N];
};

/* The integer fields: text, bounds, and the message naming the option. */
static int
int_field(const char *text, long long min, long long max, const char *field, const char *opt,
    struct ac_err *e)
{
	const char *errstr;

	if (text == NULL)
		return 0;
	ac_strtonum(text, min, max, &errstr);
	if (errstr == NULL)
		return 0;
	return ac_err_set(e, AC_E_INVALID, field, "--%s: a whole number from %lld to %lld is"
	    " required", opt, min, max);
}

/* A decimal in (min, max) (min itself too when min_ok), as numeric takes it. */
static int
dec_field(const char *text, double min, int min_ok, double max, const char *field,
    const char *opt, struct ac_err *e)
{
	char *end;
	double d;

	if (text == NULL)
		return 0;
	d = strtod(text, &end);
	if (*text != '\0' && strspn(text, "0123456789.") == strlen(text) && *end == '\0' &&
	    (d > min || (min_ok && d == min)) && d < max)
		return 0;
	return ac_err_set(e, AC_E_INVALID, field, "--%s: a number from %g%s to under %g is"
	    " required", opt, min, min_ok ? "" : " (not included)", max);
}

static const char *
bool_text(int v)
{
	return v < 0 ? NULL : v ? "true" : "false";
}

/*
 * Checks in into *c. create: symbol, timeframe and strategy are required;
 * otherwise (an edit) stored_tf is the strategy's timeframe, for the dedup
 * window when in has none. 0, or -1 with *e naming the field.
 */
static int
check(const struct ac_strategy_new *in, int create, const char *stored_tf, struct checked *c,
    struct ac_err *e)
{
	static const char *const statuses[] = { "active", "inactive", "testing" };
	const char *tf = stored_tf;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (in->name != NULL && (*in->name == '\0' || strlen(in->name) > 200))
		return ac_err_set(e, AC_E_INVALID, "name", "--name: 1 to 200 characters are required");
	if (in->description != NULL && strlen(in->description) > 2000)
		return ac_err_set(e, AC_E_INVALID, "description",
		    "--description: at most 2000 characters");
	if ((in->symbol != NULL || create) && (in->symbol == NULL ||
	    ac_symbol_normalize(in->symbol, c->sym, sizeof(c->sym), NULL, 0) == -1))
		return ac_err_set(e, AC_E_INVALID, "symbol",
		    "--symbol: a ticker such as BTCUSDT is required");
	if ((in->timeframe != NULL || create) && (in->timeframe == NULL ||
	    ac_timeframe_normalize(in->timeframe, c->tf, sizeof(c->tf)) == -1 ||
	    !ac_timeframe_valid(c->tf)))
		return ac_err_set(e, AC_E_INVALID, "timeframe",
		    "--timeframe: one of 1m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w is required");
	if ((in->strategy != NULL || create) && (in->strategy == NULL || *in->strategy == '\0' ||
	    strlen(in->strategy) > 127))
		return ac_err_set(e, AC_E_INVALID, "strategy",
		    "--strategy: a strategy name such as \"UT Bot\" is required");
	if (dec_field(in->key_value, 0, 0, 100000, "key_value", "key-value", e) == -1 ||
	    int_field(in->atr_period, 1, 500, "atr_period", "atr-period", e) == -1 ||
	    int_field(in->ema_period, 1, 500, "ema_period", "ema-period", e) == -1 ||
	    int_field(in->max_open_trades, 1, 5, "max_open_trades", "max-open-trades", e) == -1 ||
	    dec_field(in->price_tolerance, 0, 1, 100, "price_tolerance", "price-tolerance",
	    e) == -1 ||
	    int_field(in->credit_cost, 0, 1000000, "credit_cost", "credit-cost", e) == -1)
		return -1;
	if (in->actions && array_literal(in->actions, action_name, AC_ACTION_ENABLE_MAX,
	    c->actions, sizeof(c->actions)) == -1)
		return ac_err_set(e, AC_E_INVALID, "actions",
		    "--actions: a list of BUY, SELL, TP_HIT, SL_HIT is required");
	if (in->required && required_fields(in->required, c->required, sizeof(c->required),
	    e) == -1)
		return -1;
	if (in->status != NULL) {
		for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
			if (strcmp(in->status, statuses[i]) == 0)
				break;
		if (i == sizeof(statuses) / sizeof(statuses[0]))
			return ac_err_set(e, AC_E_INVALID, "status",
			    "--status: active, inactive or testing is required");
	}
	if (in->auto_close != NULL && strcmp(in->auto_close, "true") != 0 &&
	    strcmp(in->auto_close, "false") != 0)
		return ac_err_set(e, AC_E_INVALID, "auto_close", "auto_close: true or false");
	if (*c->tf != '\0')
		tf = c->tf;
	if (in->dedup_window && dedup_window(in->dedup_window, tf, c->window,
	    sizeof(c->window), e) == -1)
		return -1;
	c->v[C_NAME] = in->name;
	c->v[C_DESCRIPTION] = in->description;
	c->v[C_SYMBOL] = *c->sym ? c->sym : NULL;
	c->v[C_TIMEFRAME] = *c->tf ? c->tf : NULL;
	c->v[C_STRATEGY] = in->strategy;
	c->v[C_KEY_VALUE] = in->key_value;
	c->v[C_ATR] = in->atr_period;
	c->v[C_EMA] = in->ema_period;
	c->v[C_HEIKIN] = create ? bool_text(in->heikin_ashi > 0) : bool_text(in->heikin_ashi);
	c->v[C_MAX_OPEN] = in->max_open_trades;
	c->v[C_ACTIONS] = in->actions ? c->actions : NULL;
	c->v[C_REQUIRED] = in->required ? c->required : NULL;
	c->v[C_STATUS] = in->status;
	c->v[C_OPPOSITE] = bool_text(in->allow_opposite);
	c->v[C_REPLACE] = bool_text(in->replace_same);
	c->v[C_AUTO_CLOSE] = in->auto_close;
	c->v[C_TOLERANCE] = in->price_tolerance;
	c->v[C_COST] = in->credit_cost;
	c->v[C_WINDOW] = in->dedup_window ? c->window : NULL;
	return 0;
}

/* A refused create or edit statement into *e: a duplicate (symbol,
 * timeframe, strategy) named as such. */
static void
write_failed(struct ac_db *db, const struct checked *c, struct ac_err *e)
{
	if (strcmp(ac_db_sqlstate(db), "23505") == 0)
		ac_err_set(e, AC_E_CONFLICT, "strategy", "a strategy %s for %s %s already exists",
		    c->v[C_STRATEGY] ? c->v[C_STRATEGY] : "of that name",
		    c->v[C_SYMBOL] ? c->v[C_SYMBOL] : "its symbol",
		    c->v[C_TIMEFRAME] ? c->v[C_TIMEFRAME] : "and timeframe");
	else
		ac_db_err(db, e);
}

json_t *
ac_strategy_create(struct ac_db *db, const struct ac_strategy_new *in,
    const char *base_url, struct ac_err *e)
{
	static const char sql[] =
	    "INSERT INTO strategies (name, description, symbol, timeframe, strategy,"
	    " key_value, atr_period, ema_period, heikin_ashi, max_open_trades, enabled_actions,"
	    " required_fields, status, allow_opposite_signals, replace_on_same_signal,"
	    " auto_close_on_tp_sl, price_tolerance, credit_cost, dedup_window_s,"
	    " webhook_token, webhook_token_hash)"
	    " VALUES ($1, coalesce($2, ''), $3, $4, $5, coalesce($6::numeric, 1),"
	    " coalesce($7::int, 10), coalesce($8::int, 1), $9::boolean, coalesce($10::int, 3),"
	    " coalesce($11::text[], '{BUY,SELL,TP_HIT,SL_HIT}'),"
	    " coalesce($12::text[], '{symbol,timeframe,action,price}'),"
	    " coalesce($13, 'active'), coalesce($14::boolean, true), coalesce($15::boolean, true),"
	    " coalesce($16::boolean, true), coalesce($17::numeric, 0.05), coalesce($18::int, 1),"
	    " coalesce($19::int, 30), $20, decode($21, 'hex'))"
	    " RETURNING " STRATEGY_COLUMNS;
	char token[AC_TOKEN_LEN + 1], hash[65], name[300];
	const char *vals[C__N + 2];
	struct checked c;
	PGresult *res;
	json_t *out;

	if (check(in, 1, NULL, &c, e) == -1)
		return NULL;
	if (ac_token_new(token) == -1) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "no randomness from the OS");
		return NULL;
	}
	ac_sha256_hex(token, strlen(token), hash);
	snprintf(name, sizeof(name), "%s %s %s", in->strategy, c.sym, c.tf);
	memcpy(vals, c.v, sizeof(c.v));
	if (vals[C_NAME] == NULL)
		vals[C_NAME] = name;
	vals[C__N] = token;
	vals[C__N + 1] = hash;
	res = ac_db_query(db, sql, C__N + 2, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		write_failed(db, &c, e);
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
	    "UPDATE strategies SET name = coalesce($2, name),"
	    " description = coalesce($3, description), symbol = coalesce($4, symbol),"
	    " timeframe = coalesce($5, timeframe), strategy = coalesce($6, strategy),"
	    " key_value = coalesce($7::numeric, key_value),"
	    " atr_period = coalesce($8::int, atr_period),"
	    " ema_period = coalesce($9::int, ema_period),"
	    " heikin_ashi = coalesce($10::boolean, heikin_ashi),"
	    " max_open_trades = coalesce($11::int, max_open_trades),"
	    " enabled_actions = coalesce($12::text[], enabled_actions),"
	    " required_fields = coalesce($13::text[], required_fields),"
	    " status = coalesce($14, status),"
	    " allow_opposite_signals = coalesce($15::boolean, allow_opposite_signals),"
	    " replace_on_same_signal = coalesce($16::boolean, replace_on_same_signal),"
	    " auto_close_on_tp_sl = coalesce($17::boolean, auto_close_on_tp_sl),"
	    " price_tolerance = coalesce($18::numeric, price_tolerance),"
	    " credit_cost = coalesce($19::int, credit_cost),"
	    " dedup_window_s = coalesce($20::int, dedup_window_s), updated_at = now()"
	    " WHERE id = $1 RETURNING " STRATEGY_COLUMNS;
	const char *errstr, *vals[C__N + 1] = { id };
	struct checked c;
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
	if (check(in, 0, PQgetvalue(res, 0, 0), &c, e) == -1) {
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	memcpy(vals + 1, c.v, sizeof(c.v));
	res = ac_db_query(db, sql, C__N + 1, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		write_failed(db, &c, e);
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

json_t *
ac_strategy_get(struct ac_db *db, long long id, const char *base_url, int *found)
{
	char sid[24];
	const char *vals[1] = { sid };
	PGresult *res;
	json_t *o = NULL;

	snprintf(sid, sizeof(sid), "%lld", id);
	*found = 1;
	res = ac_db_query(db, "SELECT " STRATEGY_COLUMNS " FROM strategies WHERE id = $1", 1, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return NULL;
	if (PQntuples(res) == 1)
		o = row_json(res, 0, base_url);
	else
		*found = 0;
	PQclear(res);
	return o;
}

int
ac_strategy_token_rotate(struct ac_db *db, long long id, struct ac_err *e)
{
	char sid[24], token[AC_TOKEN_LEN + 1], hash[65];
	const char *vals[3] = { sid, token, hash };
	PGresult *res;
	int n;

	snprintf(sid, sizeof(sid), "%lld", id);
	if (ac_token_new(token) == -1)
		return ac_err_set(e, AC_E_INTERNAL, NULL, "no randomness from the OS");
	ac_sha256_hex(token, strlen(token), hash);
	res = ac_db_query(db, "UPDATE strategies SET webhook_token = $2,"
	    " webhook_token_hash = decode($3, 'hex'), updated_at = now() WHERE id = $1", 3, vals);
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return ac_db_err(db, e);
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	if (n != 1)
		return ac_err_set(e, AC_E_NOT_FOUND, "id", "no strategy %lld", id);
	return 0;
}

json_t *
ac_strategy_pine(const json_t *st)
{
	const json_t *ut = json_object_get(st, "ut_bot");
	struct ac_pine_in in = {
	    .id = json_integer_value(json_object_get(st, "id")),
	    .name = json_string_value(json_object_get(st, "name")),
	    .strategy = json_string_value(json_object_get(st, "strategy")),
	    .symbol = json_string_value(json_object_get(st, "symbol")),
	    .timeframe = json_string_value(json_object_get(st, "timeframe")),
	    .key_value = json_real_value(json_object_get(ut, "key_value")),
	    .atr_period = (int)json_integer_value(json_object_get(ut, "atr_period")),
	    .ema_period = (int)json_integer_value(json_object_get(ut, "ema_period")),
	    .heikin_ashi = json_is_true(json_object_get(ut, "heikin_ashi")) };
	const char *period = ac_pine_period(in.timeframe);
	char *script = ac_pine_utbot(&in), step[512];
	json_t *o, *steps;

	snprintf(step, sizeof(step), "Open a %s chart on the %s interval in TradingView.",
	    in.symbol, period ? period : in.timeframe);
	steps = json_pack("[s, s, s, s]", step, "Pine Editor: paste the script, save it, and add"
	    " it to the chart.", "Create an alert on the indicator with the condition \"Any"
	    " alert() function call\", once per bar close.", "Notifications: tick Webhook URL and"
	    " paste the webhook_url above; leave the message box as it is.");
	o = json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)in.id, "name", in.name,
	    "webhook_url", json_string_value(json_object_get(st, "webhook_url")), "script", script,
	    "steps", steps);
	free(script);
	return o;
}

/* 1 if word occurs in s with no letter or digit just before or after it;
 * nocase: letters' case aside. */
static int
has_word(const char *s, const char *word, int nocase, int whole)
{
	size_t n = strlen(word);
	const char *p;

	if (n == 0)
		return 1;
	for (p = s; *p != '\0'; p++) {
		if ((nocase ? strncasecmp(p, word, n) : strncmp(p, word, n)) != 0)
			continue;
		if (!whole || ((p == s || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n])))
			return 1;
	}
	return 0;
}

char *
ac_strategy_tag(const char *name, const char *symbol, const char *timeframe, char *out,
    size_t outsz)
{
	int sym = symbol != NULL && *symbol != '\0' && !has_word(name ? name : "", symbol, 1, 0);
	int tf = timeframe != NULL && *timeframe != '\0' &&
	    !has_word(name ? name : "", timeframe, 0, 1);

	snprintf(out, outsz, "%s%s%s", sym ? symbol : "", sym && tf ? " " : "",
	    tf ? timeframe : "");
	return out;
}
