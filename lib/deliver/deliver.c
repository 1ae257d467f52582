/* deliver.c — see deliver.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "base/crypto.h"
#include "deliver/deliver.h"
#include "web/html.h"
#include "base/log.h"
#include "deliver/message.h"
#include "base/pgarray.h"
#include "deliver/provider.h"
#include "base/redis.h"
#include "base/util.h"

#define STATE_TTL_MS	200	/* how long a closed breaker read from Redis is trusted */
#define REDIS_RETRY_MS	5000	/* after Redis failed, try it again this much later */
#define CHAT_SLOTS	4096	/* the per-process fallback's per-chat table */
#define NOTICE_ATTEMPTS	7	/* a notice job: the email plan's 6 sends and one more */
#define WINDOW_MS	1050	/* the sliding second, with room for sends that take
				 * longer on the way than the ones after them */
#define RECORD_MS	10	/* a send is recorded as sent at most this long after it... */
#define RECORD_MAX	128	/* ...or once this many are waiting */

/* ---- settings and process state ------------------------------------------ */

static struct {
	int		 init;
	unsigned	 enabled;		/* bits 1u << enum ac_prov */
	struct ac_prov_cfg prov[AC_PROV__MAX];
	int		 conc[AC_PROV__MAX];
	int		 rate[AC_PROV__MAX];	/* a second; 0: none */
	int		 total_conc, timeout_ms, chat_gap_ms;
	int		 horizon_ms;		/* a rate slot further away: retry later */
	int		 breaker_fails, breaker_cooldown_ms;
	const char	*redis_url;
	CURLM		*multi;
	redisContext	*redis;
	int64_t		 redis_retry_at;
	int		 redis_down_logged;
	/* per-process state, used when Redis is away */
	struct ac_breaker breaker[AC_PROV__MAX];
	int64_t		 breaker_read_at[AC_PROV__MAX];
	int64_t		 next_slot[AC_PROV__MAX];
	int64_t		 prov_hold[AC_PROV__MAX];
	struct { long long chat; int64_t next, hold; } chats[CHAT_SLOTS];
} D;

void
ac_deliver_init(const struct ac_config *cfg)
{
	static const struct {
		enum ac_prov	 p;
		const char	*user, *secret, *from, *base, *base_def;
		int		 conc, rate;
	} defs[] = {
		{ AC_PROV_TELEGRAM, "AC_TELEGRAM_BOT_TOKEN", NULL, NULL, "AC_TELEGRAM_API_BASE",
		    "https://api.telegram.org", 30, 30 },
		{ AC_PROV_RESEND, "AC_RESEND_API_KEY", NULL, "AC_EMAIL_FROM", "AC_RESEND_API_BASE",
		    "https://api.resend.com", 10, 5 },
		{ AC_PROV_SMTP, "AC_SMTP_URL", "AC_SMTP_PASSWORD", "AC_EMAIL_FROM", NULL, NULL, 10, 0 },
		{ AC_PROV_NETGSM, "AC_NETGSM_USER", "AC_NETGSM_PASSWORD", "AC_NETGSM_HEADER",
		    "AC_NETGSM_API_BASE", "https://api.netgsm.com.tr", 20, 0 },
		{ AC_PROV_TWILIO, "AC_TWILIO_ACCOUNT_SID", "AC_TWILIO_AUTH_TOKEN", "AC_TWILIO_FROM",
		    "AC_TWILIO_API_BASE", "https://api.twilio.com", 20, 0 },
		{ AC_PROV_ONESIGNAL, "AC_ONESIGNAL_API_KEY", NULL, "AC_ONESIGNAL_APP_ID",
		    "AC_ONESIGNAL_API_BASE", "https://api.onesignal.com", 100, 0 },
	};

	ac_deliver_done();
	memset(&D, 0, sizeof(D));
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		struct ac_prov_cfg *c = &D.prov[defs[i].p];
		const char *key = ac_prov_key(defs[i].p);
		char name[64];

		c->user = ac_config_str(cfg, defs[i].user, NULL);
		c->secret = defs[i].secret ? ac_config_str(cfg, defs[i].secret, NULL) : NULL;
		c->from = defs[i].from ? ac_config_str(cfg, defs[i].from, NULL) : "";
		c->base = defs[i].base ? ac_config_str(cfg, defs[i].base, defs[i].base_def) : c->user;
		c->enabled = c->user && *c->user && (defs[i].from == NULL || (c->from && *c->from));
		if (defs[i].p == AC_PROV_SMTP) {
			/* the URL names the server; the login is separate */
			c->user = ac_config_str(cfg, "AC_SMTP_USER", NULL);
			c->starttls = (int)ac_config_int(cfg, "AC_SMTP_STARTTLS", 0, 1, 0);
		} else if (defs[i].secret != NULL && (c->secret == NULL || *c->secret == '\0'))
			c->enabled = 0;
		if (c->user != NULL && *c->user && !c->enabled && defs[i].p != AC_PROV_SMTP)
			ac_warn("%s: credentials incomplete (sender or secret missing): outbox",
			    ac_prov_name(defs[i].p));
		if (c->enabled)
			D.enabled |= 1u << defs[i].p;
		snprintf(name, sizeof(name), "AC_%s_CONCURRENCY", key);
		D.conc[defs[i].p] = (int)ac_config_int(cfg, name, 1, 10000, defs[i].conc);
		snprintf(name, sizeof(name), "AC_%s_RATE", key);
		D.rate[defs[i].p] = (int)ac_config_int(cfg, name, 0, 100000, defs[i].rate);
	}
	D.total_conc = (int)ac_config_int(cfg, "AC_DELIVERY_CONCURRENCY", 1, 10000, 200);
	D.timeout_ms = (int)ac_config_int(cfg, "AC_DELIVERY_TIMEOUT_MS", 100, 300000, 10000);
	D.chat_gap_ms = (int)ac_config_int(cfg, "AC_TELEGRAM_CHAT_GAP_MS", 0, 60000, 1000);
	D.horizon_ms = (int)ac_config_int(cfg, "AC_DELIVERY_HORIZON_MS", 100, 600000, 10000);
	D.breaker_fails = (int)ac_config_int(cfg, "AC_BREAKER_FAILURES", 1, 1000, 5);
	D.breaker_cooldown_ms = (int)ac_config_int(cfg, "AC_BREAKER_COOLDOWN_MS", 100, 3600000,
	    30000);
	D.redis_url = cfg->redis_url;
	D.init = 1;
	for (int p = 0; p < AC_PROV__MAX; p++)
		if (D.enabled & (1u << p))
			ac_info("%s: enabled, %d in flight, %d/s", ac_prov_name((enum ac_prov)p),
			    D.conc[p], D.rate[p]);
}

void
ac_deliver_done(void)
{
	if (D.multi != NULL)
		curl_multi_cleanup(D.multi);
	if (D.redis != NULL)
		redisFree(D.redis);
	D.multi = NULL;
	D.redis = NULL;
	D.init = 0;
}

/* ---- Redis: shared limits and breakers, failing open ------------------------ */

/* The connection, or NULL while Redis is away (then retried every
 * REDIS_RETRY_MS; going away and coming back are logged once each). */
static redisContext *
redis(void)
{
	int64_t now = ac_mono_ms();

	if (D.redis != NULL || D.redis_url == NULL || now < D.redis_retry_at)
		return D.redis;
	if ((D.redis = ac_redis_connect(D.redis_url, 200)) == NULL) {
		D.redis_retry_at = now + REDIS_RETRY_MS;
		if (!D.redis_down_logged++)
			ac_warn("redis away: limits and breakers are per process until it returns");
	} else if (D.redis_down_logged) {
		D.redis_down_logged = 0;
		ac_info("redis back: limits and breakers shared again");
	}
	return D.redis;
}

/* A command's reply, or NULL after dropping a failed connection. */
static redisReply *
rcmd(int argc, const char **argv)
{
	redisContext *c = redis();
	redisReply *r;

	if (c == NULL)
		return NULL;
	r = redisCommandArgv(c, argc, argv, NULL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		ac_warn("redis: %s", r ? r->str : c->errstr);
		if (r != NULL)
			freeReplyObject(r);
		redisFree(D.redis);
		D.redis = NULL;
		D.redis_retry_at = ac_mono_ms() + REDIS_RETRY_MS;
		D.redis_down_logged++;
		return NULL;
	}
	return r;
}

/* Reserves the provider's next send slot (and the chat's, chat != 0)
 * unless it lies more than ARGV[4] ms ahead: the wall-clock time at which
 * the send may go, negated when nothing was booked (a slot not booked is
 * not taken from anyone: a backlog drains at the rate instead of booking
 * ever further ahead). */
static const char lua_reserve[] =
	"local now = tonumber(ARGV[1]) local at = now "
	"local g = tonumber(redis.call('GET', KEYS[1]) or '0') if g > at then at = g end "
	"if #KEYS > 1 then local c = tonumber(redis.call('GET', KEYS[2]) or '0') "
	" if c > at then at = c end end "
	"if at - now > tonumber(ARGV[4]) then return -at end "
	"local gg, cg = tonumber(ARGV[2]), tonumber(ARGV[3]) "
	"if gg > 0 then redis.call('SET', KEYS[1], at + gg, 'PX', at + gg - now + 60000) end "
	"if #KEYS > 1 then redis.call('SET', KEYS[2], at + cg, 'PX', at + cg - now + 60000) end "
	"return at";

/* The per-process slot of chat in D.chats. */
static size_t
chat_slot(long long chat)
{
	return (size_t)((unsigned long long)chat % CHAT_SLOTS);
}

/* When a send of p (to chat, 0: none) may go, in wall-clock ms; *booked
 * is 0 when that lies beyond the horizon and nothing was reserved. */
static int64_t
reserve(enum ac_prov p, long long chat, int64_t now, int *booked)
{
	int64_t gap = D.rate[p] > 0 ? (1000 + D.rate[p] - 1) / D.rate[p] : 0, at = now;
	int64_t cgap = chat != 0 ? D.chat_gap_ms : 0;
	char k1[64], k2[64], a1[24], a2[24], a3[24], a4[24];
	const char *argv[] = { "EVAL", lua_reserve, chat ? "2" : "1", k1, k2, a1, a2, a3, a4 };
	redisReply *r;
	size_t slot;

	*booked = 1;
	if (gap == 0 && cgap == 0)
		return now;
	snprintf(k1, sizeof(k1), "ac:slot:%s", ac_prov_name(p));
	snprintf(k2, sizeof(k2), "ac:slot:%s:%lld", ac_prov_name(p), chat);
	snprintf(a1, sizeof(a1), "%" PRId64, now);
	snprintf(a2, sizeof(a2), "%" PRId64, gap);
	snprintf(a3, sizeof(a3), "%" PRId64, cgap);
	snprintf(a4, sizeof(a4), "%d", D.horizon_ms);
	if (!chat) {
		argv[4] = a1;
		argv[5] = a2;
		argv[6] = a3;
		argv[7] = a4;
	}
	if ((r = rcmd(chat ? 9 : 8, argv)) != NULL) {
		at = r->type == REDIS_REPLY_INTEGER ? r->integer : now;
		freeReplyObject(r);
		if (at < 0) {
			*booked = 0;
			at = -at;
		}
		return at;
	}
	/* per process: the same reservation, in memory */
	slot = chat_slot(chat);
	if (D.next_slot[p] > at)
		at = D.next_slot[p];
	if (chat && D.chats[slot].chat == chat && D.chats[slot].next > at)
		at = D.chats[slot].next;
	if (at - now > D.horizon_ms) {
		*booked = 0;
		return at;
	}
	if (gap > 0)
		D.next_slot[p] = at + gap;
	if (chat) {
		D.chats[slot].chat = chat;
		D.chats[slot].next = at + cgap;
	}
	return at;
}

/* Moves p's next slot (chat's, chat != 0; the provider's, 0) to at least
 * until (wall clock ms), and keeps the hold itself (ac:hold:<p>[:<chat>]):
 * the provider asked us to wait (a 429's retry_after), so no send of any
 * job goes there before. */
static const char lua_hold[] =
	"local c = tonumber(redis.call('GET', KEYS[1]) or '0') local u = tonumber(ARGV[1]) "
	"local ttl = u - tonumber(ARGV[2]) + 60000 "
	"if u > c then redis.call('SET', KEYS[1], u, 'PX', ttl) end "
	"redis.call('SET', KEYS[2], u, 'PX', ttl) return 1";

static void
hold(enum ac_prov p, long long chat, int64_t until)
{
	char k1[64], k2[64], a1[24], a2[24];
	const char *argv[] = { "EVAL", lua_hold, "2", k1, k2, a1, a2 };
	redisReply *r;
	size_t slot = chat_slot(chat);

	if (chat) {
		snprintf(k1, sizeof(k1), "ac:slot:%s:%lld", ac_prov_name(p), chat);
		snprintf(k2, sizeof(k2), "ac:hold:%s:%lld", ac_prov_name(p), chat);
	} else {
		snprintf(k1, sizeof(k1), "ac:slot:%s", ac_prov_name(p));
		snprintf(k2, sizeof(k2), "ac:hold:%s", ac_prov_name(p));
	}
	snprintf(a1, sizeof(a1), "%" PRId64, until);
	snprintf(a2, sizeof(a2), "%" PRId64, ac_now_ms());
	if ((r = rcmd(7, argv)) != NULL)
		freeReplyObject(r);
	/* and in this process, for when Redis goes away */
	if (!chat) {
		if (D.next_slot[p] < until)
			D.next_slot[p] = until;
		D.prov_hold[p] = until;
		return;
	}
	if (D.chats[slot].chat != chat || D.chats[slot].next < until) {
		D.chats[slot].chat = chat;
		D.chats[slot].next = until;
	}
	D.chats[slot].hold = until;
}

/* The last second of p's sends, all workers together (a sorted set of
 * send times, KEYS[1]; ARGV[2] a second, 0: no limit), and for a chat the
 * time of its last send (KEYS[2], ARGV[4] ms apart): how long until the
 * send may go, or 0 with the send counted. Asked as each send leaves, so
 * the limits hold in every sliding second even when sends booked on their
 * slots leave late and together. */
static const char lua_window[] =
	"local now, rate = tonumber(ARGV[1]), tonumber(ARGV[2]) "
	"if #KEYS > 1 then local l = tonumber(redis.call('GET', KEYS[2]) or '0') "
	" local gap = tonumber(ARGV[4]) if now - l < gap then return gap - (now - l) end end "
	"if rate > 0 then "
	" local w = tonumber(ARGV[5]) "
	" redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w) "
	" if redis.call('ZCARD', KEYS[1]) >= rate then "
	"  local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES') "
	"  return tonumber(o[2]) + w - now end "
	" redis.call('ZADD', KEYS[1], now, ARGV[3]) redis.call('PEXPIRE', KEYS[1], 2 * w) end "
	"if #KEYS > 1 then redis.call('SET', KEYS[2], now, 'PX', tonumber(ARGV[4]) + 1000) end "
	"return 0";

/* 0 if a send of p (to chat, 0: none) may leave now, else the ms to wait
 * (fails open without Redis: the slots still pace the sends). */
static int64_t
window_wait(enum ac_prov p, long long chat)
{
	static unsigned long long seq;
	char k1[64], k2[64], a1[24], a2[24], a3[48], a4[24], a5[24];
	const char *argv[] = { "EVAL", lua_window, chat ? "2" : "1", k1, k2, a1, a2, a3, a4,
	    a5 };
	redisReply *r;
	int64_t wait = 0, now = ac_now_ms();

	if (D.rate[p] <= 0 && (chat == 0 || D.chat_gap_ms == 0))
		return 0;
	snprintf(k1, sizeof(k1), "ac:win:%s", ac_prov_name(p));
	snprintf(k2, sizeof(k2), "ac:last:%s:%lld", ac_prov_name(p), chat);
	snprintf(a1, sizeof(a1), "%" PRId64, now);
	snprintf(a2, sizeof(a2), "%d", D.rate[p]);
	snprintf(a3, sizeof(a3), "%" PRId64 ":%ld:%llu", now, (long)getpid(), ++seq);
	snprintf(a4, sizeof(a4), "%d", chat ? D.chat_gap_ms : 0);
	snprintf(a5, sizeof(a5), "%d", WINDOW_MS);
	if (!chat) {
		argv[4] = a1;
		argv[5] = a2;
		argv[6] = a3;
		argv[7] = a4;
		argv[8] = a5;
	}
	if ((r = rcmd(chat ? 10 : 9, argv)) != NULL) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
			wait = r->integer;
		freeReplyObject(r);
	}
	return wait;
}

/* Until when p (and chat, 0: none) is held by a provider's retry_after,
 * in wall-clock ms (0: not held): asked just before a send leaves, since
 * its slot may have been booked before the hold began. Providers without
 * a rate or chat (push) are not asked: they have no slots to move. */
static int64_t
held(enum ac_prov p, long long chat)
{
	char k1[64], k2[64];
	const char *argv[] = { "MGET", k1, k2 };
	redisReply *r;
	int64_t until = D.prov_hold[p];
	size_t slot = chat_slot(chat);

	if (chat == 0 && D.rate[p] <= 0)
		return 0;
	if (chat && D.chats[slot].chat == chat && D.chats[slot].hold > until)
		until = D.chats[slot].hold;
	snprintf(k1, sizeof(k1), "ac:hold:%s", ac_prov_name(p));
	snprintf(k2, sizeof(k2), "ac:hold:%s:%lld", ac_prov_name(p), chat);
	if ((r = rcmd(chat ? 3 : 2, argv)) != NULL) {
		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING &&
			    strtoll(r->element[i]->str, NULL, 10) > until)
				until = strtoll(r->element[i]->str, NULL, 10);
		freeReplyObject(r);
	}
	return until;
}

/* Compare-and-set of a breaker's text: 1 if it was ARGV[1] and is now
 * ARGV[2]. A missing key reads as a closed breaker. */
static const char lua_cas[] =
	"local v = redis.call('GET', KEYS[1]) or '0:0:0' "
	"if v ~= ARGV[1] then return 0 end "
	"redis.call('SET', KEYS[1], ARGV[2], 'EX', 86400) return 1";

/* p's breaker as Redis has it, into D.breaker[p] (kept as is when Redis is
 * away). 0, or -1 without Redis. */
static int
breaker_read(enum ac_prov p)
{
	char key[64];
	const char *argv[] = { "GET", key };
	redisReply *r;

	snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
	if ((r = rcmd(2, argv)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING || ac_breaker_parse(r->str, &D.breaker[p]) == -1)
		memset(&D.breaker[p], 0, sizeof(D.breaker[p]));
	freeReplyObject(r);
	D.breaker_read_at[p] = ac_mono_ms();
	return 0;
}

/* Applies change (allow or record) to p's breaker atomically in Redis
 * (a few compare-and-set rounds), else to the per-process copy. Returns
 * what change returned. */
static int
breaker_change(enum ac_prov p, int (*change)(struct ac_breaker *, int, int64_t), int arg)
{
	char key[64], was[64], now_s[64];
	const char *argv[] = { "EVAL", lua_cas, "1", key, was, now_s };
	int64_t now = ac_now_ms();

	snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
	for (int round = 0; round < 4; round++) {
		struct ac_breaker b;
		redisReply *r;
		int rc, ok;

		if (breaker_read(p) == -1)
			break;
		b = D.breaker[p];
		rc = change(&b, arg, now);
		if (memcmp(&b, &D.breaker[p], sizeof(b)) == 0)
			return rc;
		ac_breaker_format(&D.breaker[p], was, sizeof(was));
		ac_breaker_format(&b, now_s, sizeof(now_s));
		if ((r = rcmd(6, argv)) == NULL)
			break;
		ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
		freeReplyObject(r);
		if (ok) {
			if (ac_breaker_state(&b, now) != ac_breaker_state(&D.breaker[p], now))
				ac_warn("%s: circuit %s", ac_prov_name(p),
				    ac_breaker_state(&b, now) == AC_BREAKER_CLOSED ? "closed" :
				    ac_breaker_state(&b, now) == AC_BREAKER_OPEN ? "open" : "half-open");
			D.breaker[p] = b;
			return rc;
		}
	}
	return change(&D.breaker[p], arg, now);
}

/* ac_breaker_allow as a change. */
static int
change_allow(struct ac_breaker *b, int unused, int64_t now)
{
	(void)unused;
	return ac_breaker_allow(b, now, D.breaker_cooldown_ms);
}

/* Opens the breaker at once, as for its threshold of failures. */
static int
change_trip(struct ac_breaker *b, int unused, int64_t now)
{
	(void)unused;
	b->fails = D.breaker_fails;
	b->open_until = now + D.breaker_cooldown_ms;
	b->probe_until = 0;
	return 1;
}

/* ac_breaker_record as a change. */
static int
change_record(struct ac_breaker *b, int ok, int64_t now)
{
	return ac_breaker_record(b, ok, now, D.breaker_fails, D.breaker_cooldown_ms);
}

/* 1 if p may be sent to now. A closed breaker read in the last
 * STATE_TTL_MS is trusted without asking Redis again. */
static int
breaker_allows(enum ac_prov p)
{
	if (ac_mono_ms() - D.breaker_read_at[p] < STATE_TTL_MS &&
	    ac_breaker_state(&D.breaker[p], ac_now_ms()) == AC_BREAKER_CLOSED)
		return 1;
	return breaker_change(p, change_allow, 0);
}

/* 1 if p's breaker is closed (read again when older than STATE_TTL_MS),
 * taking no probe: asked just before a send goes, so that a circuit
 * opened since the slot was booked stops it. */
static int
breaker_closed(enum ac_prov p)
{
	if (ac_mono_ms() - D.breaker_read_at[p] >= STATE_TTL_MS)
		breaker_read(p);
	return ac_breaker_state(&D.breaker[p], ac_now_ms()) == AC_BREAKER_CLOSED;
}

/* Records an outcome of p; a success on a clean breaker costs nothing. */
static void
breaker_outcome(enum ac_prov p, int ok)
{
	if (ok && D.breaker[p].fails == 0 && D.breaker[p].open_until == 0 &&
	    ac_mono_ms() - D.breaker_read_at[p] < STATE_TTL_MS)
		return;
	breaker_change(p, change_record, ok);
}

/* ---- loading and rendering --------------------------------------------------- */

static const struct ac_stmt st_load = { "deliver_load_batch",
	"SELECT d.id, d.status, d.kind, d.channel, d.user_id, st.name, s.symbol, s.timeframe,"
	" signal_action_label(s.action), s.price::text, coalesce(s.take_profit::text, '-'),"
	" coalesce(s.stop_loss::text, '-'),"
	" to_char(coalesce(s.alert_time, s.received_at) AT TIME ZONE u.timezone,"
	"  'YYYY-MM-DD HH24:MI') || ' ' || u.timezone, u.display_name,"
	" (SELECT trade_number FROM trades t WHERE t.entry_signal_id = s.id"
	"  AND t.user_id = d.user_id),"
	" (SELECT json_agg(json_build_object('number', t.trade_number, 'side', t.side,"
	"  'entry', t.entry_price::text, 'exit', t.exit_price::text, 'reason', t.exit_reason,"
	"  'pnl', CASE WHEN t.pnl_amount > 0 THEN '+' ELSE '' END || t.pnl_amount::text,"
	"  'pnl_percent', CASE WHEN t.pnl_percent > 0 THEN '+' ELSE '' END"
	"   || round(t.pnl_percent, 2)::text) ORDER BY t.trade_number)"
	"  FROM trades t WHERE t.exit_signal_id = s.id AND t.user_id = d.user_id),"
	" u.email, u.telegram_chat_id, u.phone, u.telegram_unreachable_at IS NOT NULL, d.attempts"
	" FROM deliveries d JOIN signals s ON s.id = d.signal_id"
	" JOIN strategies st ON st.id = s.strategy_id JOIN users u ON u.id = d.user_id"
	" WHERE d.id = ANY ($1::bigint[])", 1 };

enum { C_ID, C_STATUS, C_KIND, C_CHANNEL, C_USER, C_STRATEGY, C_SYMBOL, C_TF, C_ACTION,
	C_PRICE, C_TP, C_SL, C_TIME, C_NAME, C_TRADE, C_CLOSED, C_EMAIL, C_CHAT, C_PHONE,
	C_UNREACHABLE, C_ATTEMPTS };

/* ac_message_render() with its error message in err. */
static char *
message(const char *tmpl, const struct ac_var *vars, size_t n, char *err, size_t errsz)
{
	struct ac_err e;
	char *out = ac_message_render(tmpl, vars, n, &e);

	if (out == NULL)
		snprintf(err, errsz, "%s", e.message);
	return out;
}

/* tmpl rendered with vars, each value HTML-escaped when html. NULL with err. */
static char *
render_vars(const char *tmpl, const struct ac_var *vars, size_t n, int html, char *err,
    size_t errsz)
{
	struct ac_var esc[16];
	char *out;

	if (!html || n > sizeof(esc) / sizeof(esc[0]))
		return message(tmpl, vars, n, err, errsz);
	for (size_t i = 0; i < n; i++) {
		esc[i].name = vars[i].name;
		esc[i].value = ac_html_escape(vars[i].value ? vars[i].value : "");
	}
	out = message(tmpl, esc, n, err, errsz);
	for (size_t i = 0; i < n; i++)
		free((char *)esc[i].value);
	return out;
}

/* The lines for the trades the signal closed or replaced ("" if none);
 * NULL with err on a template error. The caller frees the result. */
static char *
closed_lines(const char *json, char *err, size_t errsz)
{
	json_t *arr = *json ? json_loads(json, 0, NULL) : NULL, *t;
	char *all = strdup(""), *line, *grown;
	size_t i;

	if (all == NULL)
		abort();
	json_array_foreach(arr, i, t) {
		char num[16];
		struct ac_var v[] = {
			{ "number", num },
			{ "side", json_string_value(json_object_get(t, "side")) },
			{ "entry", json_string_value(json_object_get(t, "entry")) },
			{ "exit", json_string_value(json_object_get(t, "exit")) },
			{ "reason", json_string_value(json_object_get(t, "reason")) },
			{ "pnl", json_string_value(json_object_get(t, "pnl")) },
			{ "pnl_percent", json_string_value(json_object_get(t, "pnl_percent")) },
		};

		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(json_object_get(t, "number")));
		if ((line = message("trade_closed", v, sizeof(v) / sizeof(v[0]), err,
		    errsz)) == NULL) {
			free(all);
			all = NULL;
			break;
		}
		if (asprintf(&grown, "%s%s", all, line) == -1)
			abort();
		free(all);
		free(line);
		all = grown;
	}
	json_decref(arr);
	return all;
}

/* The texts of one delivery, all malloc'd. */
struct texts {
	char	*text;		/* <kind>: SMS, push, email text part, outbox */
	char	*html;		/* <kind>.telegram or <kind>.html, values escaped */
	char	*subject;	/* email_subject or push_heading */
};

/* Frees t's texts. */
static void
texts_free(struct texts *t)
{
	free(t->text);
	free(t->html);
	free(t->subject);
	memset(t, 0, sizeof(*t));
}

/* Renders row i's texts for its channel. 0, or -1 with err. */
static int
render(const PGresult *res, int i, struct texts *t, char *err, size_t errsz)
{
	const char *number = PQgetvalue(res, i, C_TRADE), *kind = PQgetvalue(res, i, C_KIND);
	const char *channel = PQgetvalue(res, i, C_CHANNEL);
	struct ac_var tv[] = { { "number", number } };
	char *closed, *trade, tmpl[64];
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if ((closed = closed_lines(PQgetvalue(res, i, C_CLOSED), err, errsz)) == NULL)
		return -1;
	trade = message(*number ? "trade_opened" : "trade_none", tv, 1, err, errsz);
	if (trade != NULL) {
		struct ac_var v[] = {
			{ "channel", channel },
			{ "strategy", PQgetvalue(res, i, C_STRATEGY) },
			{ "symbol", PQgetvalue(res, i, C_SYMBOL) },
			{ "timeframe", PQgetvalue(res, i, C_TF) },
			{ "action", PQgetvalue(res, i, C_ACTION) },
			{ "price", PQgetvalue(res, i, C_PRICE) },
			{ "take_profit", PQgetvalue(res, i, C_TP) },
			{ "stop_loss", PQgetvalue(res, i, C_SL) },
			{ "time", PQgetvalue(res, i, C_TIME) },
			{ "name", PQgetvalue(res, i, C_NAME) },
			{ "kind", kind },
			{ "trade", trade },
			{ "closed", closed },
		};
		size_t n = sizeof(v) / sizeof(v[0]);

		t->text = render_vars(kind, v, n, 0, err, errsz);
		if (strcmp(channel, "telegram") == 0 || strcmp(channel, "email") == 0) {
			snprintf(tmpl, sizeof(tmpl), "%s.%s", kind,
			    channel[0] == 't' ? "telegram" : "html");
			t->html = render_vars(tmpl, v, n, 1, err, errsz);
		} else
			t->html = strdup("");
		if (strcmp(channel, "email") == 0 || strcmp(channel, "push") == 0)
			t->subject = render_vars(channel[0] == 'e' ? "email_subject" : "push_heading",
			    v, n, 0, err, errsz);
		else
			t->subject = strdup("");
		if (t->text && t->html && t->subject) {
			/* a subject is one line */
			t->subject[strcspn(t->subject, "\r\n")] = '\0';
			rc = 0;
		} else
			texts_free(t);
	}
	free(trade);
	free(closed);
	return rc;
}

/* ---- one send ------------------------------------------------------------------ */

enum item_state { I_WAIT = 0, I_FLIGHT, I_DONE };

struct item {
	struct ac_job	*job;		/* a deliver job may hold many items */
	int		 of_many;	/* the job holds an array of ids */
	json_t		*res;		/* the result, once there is one */
	enum item_state	 state;
	const char	*key_ns;	/* "delivery", "notice" or "email": what delivery_id numbers */
	long long	 delivery_id, user_id;
	char		 channel[16];
	char		 to[256];
	struct texts	 t;
	struct ac_plan	 plan;
	int		 attempts;	/* sends made before this one */
	int		 pos;		/* this attempt's place in the plan (1-based) */
	int		 step, nth;	/* the plan's step at pos and the attempt on it */
	enum ac_prov	 prov;		/* the provider of this attempt */
	int64_t		 not_before;	/* wall clock: a reserved rate slot */
	int		 slotted;	/* the slot is reserved */
	int		 probe;		/* this send is the half-open breaker's probe */
	int		 recorded;	/* record_sent(): 0 not yet, 1 offered now, 2 done with */
	int		 migrated;	/* resent once to a migrated group chat */
	CURL		*easy;
	struct curl_slist *headers;
	struct ac_http_req req;
	struct ac_smtp	 smtp;
	char		*resp;
	size_t		 resp_len;
	char		 retry_after[32];
	char		 curl_err[CURL_ERROR_SIZE];
};

/* Keeps result r (consumed) for the job's handler (see batch()). */
static void
result(struct item *it, json_t *r)
{
	json_decref(it->res);
	it->res = r;
	it->state = I_DONE;
}

/* A result of kind v ("sent", "failed", "retry", "outbox", "gone") with
 * the rendered text. */
static json_t *
result_new(struct item *it, const char *v, const char *provider)
{
	return json_pack("{s:s, s:s?, s:s?, s:I}", "v", v, "provider", provider,
	    "message", it->t.text, "user_id", (json_int_t)it->user_id);
}

/* How many attempts this result adds to the delivery's count: its place
 * in the plan, less one when this attempt did not reach the provider.
 * Usually 1 or 0; more when the provider refused our account and the
 * attempts left on it were skipped for the backup's. */
static int
counted(const struct item *it, int sent)
{
	int at = it->pos - (sent ? 0 : 1);

	return at > it->attempts ? at - it->attempts : 0;
}

/* 1 if this attempt is the plan's last. */
static int
last_attempt(const struct item *it)
{
	int total = 0;

	for (int k = 0; k < it->plan.n; k++)
		total += it->plan.tries[k];
	return it->pos >= total;
}

/* The delivery must be tried again in ms (at least 1) with reason;
 * sent: this attempt reached the provider (it counts). */
static void
result_retry(struct item *it, int64_t ms, const char *reason, int sent)
{
	json_t *r = result_new(it, "retry", ac_prov_name(it->prov));

	json_object_set_new(r, "retry_in_ms", json_integer(ms > 0 ? ms : 1));
	json_object_set_new(r, "counted", json_integer(counted(it, sent)));
	json_object_set_new(r, "error", json_string(reason));
	result(it, r);
}

/* The delivery failed for good with reason. */
static void
result_failed(struct item *it, const char *provider, const char *reason, int blocked, int sent)
{
	json_t *r = result_new(it, "failed", provider);

	json_object_set_new(r, "counted", json_integer(counted(it, sent)));
	json_object_set_new(r, "error", json_string(reason));
	if (blocked) {
		json_object_set_new(r, "blocked", json_true());
		json_object_set_new(r, "chat", json_string(it->to));
	}
	result(it, r);
}

/* Collects the body. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct item *it = arg;
	size_t len = size * n;

	if (it->resp_len + len > 1 << 20)
		return 0;
	if ((it->resp = realloc(it->resp, it->resp_len + len + 1)) == NULL)
		abort();
	memcpy(it->resp + it->resp_len, p, len);
	it->resp_len += len;
	it->resp[it->resp_len] = '\0';
	return len;
}

/* Keeps Retry-After. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct item *it = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		size_t k = 12, m = 0;

		while (k < len && (p[k] == ' ' || p[k] == '\t'))
			k++;
		while (k < len && m + 1 < sizeof(it->retry_after) && p[k] >= '0' && p[k] <= '9')
			it->retry_after[m++] = p[k++];
		it->retry_after[m] = '\0';
	}
	return len;
}

/* Builds it's transfer for it->prov. 0, or -1 with the reason in
 * it->curl_err (a message the provider cannot take). */
static int
item_transfer(struct item *it)
{
	const struct ac_prov_cfg *c = &D.prov[it->prov];
	CURL *e;

	if ((e = it->easy = curl_easy_init()) == NULL)
		abort();
	curl_easy_setopt(e, CURLOPT_PRIVATE, it);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)D.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(D.timeout_ms < 5000 ?
	    D.timeout_ms : 5000));
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, it);
	if (it->prov == AC_PROV_SMTP) {
		struct ac_outmsg m = { it->key_ns, it->delivery_id, it->user_id, it->to, it->t.subject,
		    it->t.text, it->t.html };
		char id[160], rnd[17];
		unsigned char r8[8];
		const char *at = strrchr(c->from, '@');
		struct ac_err err;

		ac_random_bytes(r8, sizeof(r8));
		ac_hex(r8, sizeof(r8), rnd);
		snprintf(id, sizeof(id), "%s-%lld.%s@%.*s", it->key_ns, it->delivery_id, rnd,
		    at ? (int)strcspn(at + 1, ">") : 9, at ? at + 1 : "alertcast");
		if (ac_prov_smtp(e, c, &m, id, ac_now_ms() / 1000, &it->smtp, &err) == -1) {
			snprintf(it->curl_err, sizeof(it->curl_err), "%s", err.message);
			return -1;
		}
		return 0;
	}
	{
		struct ac_outmsg m = { it->key_ns, it->delivery_id, it->user_id, it->to, it->t.subject,
		    it->t.text, it->t.html };

		if (ac_prov_request(it->prov, c, &m, &it->req, it->curl_err,
		    sizeof(it->curl_err)) == -1)
			return -1;
	}
	for (int h = 0; h < it->req.nheaders; h++)
		it->headers = curl_slist_append(it->headers, it->req.headers[h]);
	curl_easy_setopt(e, CURLOPT_URL, it->req.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->req.body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, it);
	if (it->req.basic_user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, it->req.basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, it->req.basic_pass ? it->req.basic_pass : "");
	}
	return 0;
}

/* Frees it's transfer (the texts stay). */
static void
item_reset(struct item *it)
{
	if (it->easy != NULL) {
		curl_multi_remove_handle(D.multi, it->easy);
		curl_easy_cleanup(it->easy);
	}
	curl_slist_free_all(it->headers);
	free(it->req.body);
	ac_smtp_free(&it->smtp);
	free(it->resp);
	it->easy = NULL;
	it->headers = NULL;
	it->req.body = it->resp = NULL;
	it->resp_len = 0;
	it->retry_after[0] = it->curl_err[0] = '\0';
}

/* The address of row i on it->channel into it->to; 0, or -1 (none). */
static int
address(struct item *it, const PGresult *res, int i)
{
	int col = strcmp(it->channel, "email") == 0 ? C_EMAIL :
	    strcmp(it->channel, "telegram") == 0 ? C_CHAT :
	    strcmp(it->channel, "sms") == 0 ? C_PHONE : C_USER;

	if (PQgetisnull(res, i, col))
		return -1;
	snprintf(it->to, sizeof(it->to), "%s", PQgetvalue(res, i, col));
	return 0;
}

/* Steps it's plan for its channel to the attempt-th send (1-based): 0
 * with it->prov set, or -1 with the result left (outbox, plan used up). */
static int
plan_setup(struct item *it, int attempt)
{
	ac_plan_for(it->channel, D.enabled, &it->plan);
	if (it->plan.n == 0) {
		result(it, result_new(it, "outbox", "outbox"));
		return -1;
	}
	it->pos = attempt;
	if (ac_plan_step(&it->plan, attempt, &it->step, &it->nth) == -1) {
		result_failed(it, ac_prov_name(it->plan.prov[it->plan.n - 1]),
		    "attempts used up", 0, 0);
		return -1;
	}
	it->prov = it->plan.prov[it->step];
	return 0;
}

/* Sets up it from delivery row i: the result at once (outbox, gone,
 * nothing to send to) or a send waiting its turn; no row (-1): no result,
 * ac_deliver_job() finds out why. */
static void
item_setup(struct item *it, const PGresult *res, int i)
{
	char err[512];

	if (i == -1)
		return;
	it->key_ns = "delivery";
	it->delivery_id = strtoll(PQgetvalue(res, i, C_ID), NULL, 10);
	it->user_id = strtoll(PQgetvalue(res, i, C_USER), NULL, 10);
	snprintf(it->channel, sizeof(it->channel), "%s", PQgetvalue(res, i, C_CHANNEL));
	if (strcmp(PQgetvalue(res, i, C_STATUS), "queued") != 0) {
		result(it, json_pack("{s:s}", "v", "gone"));
		return;
	}
	it->attempts = atoi(PQgetvalue(res, i, C_ATTEMPTS));
	if (render(res, i, &it->t, err, sizeof(err)) == -1) {
		result(it, json_pack("{s:s, s:i, s:s, s:i}", "v", "retry", "retry_in_ms", 60000,
		    "error", err, "counted", 0));
		return;
	}
	if (plan_setup(it, it->attempts + 1) == -1)
		return;
	if (address(it, res, i) == -1) {
		result_failed(it, ac_prov_name(it->prov), "no address on file", 0, 0);
		return;
	}
	if (it->prov == AC_PROV_TELEGRAM && *PQgetvalue(res, i, C_UNREACHABLE) == 't') {
		result_failed(it, "telegram", "telegram unreachable: the user blocked the bot", 0, 0);
		return;
	}
	it->job->started = 1;
}

/* The chat a send of it is limited by (Telegram's), or 0. */
static long long
item_chat(const struct item *it)
{
	return it->prov == AC_PROV_TELEGRAM ? strtoll(it->to, NULL, 10) : 0;
}

/* The index in it's plan of the provider it is sent to now. */
static int
item_prov_step(const struct item *it)
{
	for (int k = it->plan.n - 1; k > 0; k--)
		if (it->plan.prov[k] == it->prov)
			return k;
	return 0;
}

/* Lets it through its provider's breaker: 1 with it->prov the provider
 * to use (the backup, while the primary's circuit is open), or 0 with a
 * retry after the cool-down left (every circuit of its plan is open). */
static int
item_breaker(struct item *it)
{
	char why[96];

	if (breaker_allows(it->prov)) {
		it->probe = ac_breaker_state(&D.breaker[it->prov], ac_now_ms()) ==
		    AC_BREAKER_HALF_OPEN;
		return 1;
	}
	/* the backup takes this attempt while the primary's circuit is open;
	 * the attempt keeps its place in the plan, so none is lost */
	if (it->step + 1 < it->plan.n && breaker_allows(it->plan.prov[it->step + 1])) {
		it->prov = it->plan.prov[it->step + 1];
		it->slotted = 0;
		it->probe = ac_breaker_state(&D.breaker[it->prov], ac_now_ms()) ==
		    AC_BREAKER_HALF_OPEN;
		return 1;
	}
	/* nothing was sent, so no attempt is used up: the delivery waits out
	 * the outage (the half-open probe tells when it is over) */
	snprintf(why, sizeof(why), "%s: circuit open", ac_prov_name(it->prov));
	result_retry(it, D.breaker_cooldown_ms, why, 0);
	return 0;
}

/* Starts it if its provider's breaker, rate slot and concurrency allow;
 * 1 if it went, 0 if it waits, and 1 as well when it got a result. */
static int
item_start(struct item *it, int *inflight, int *total)
{
	int64_t now = ac_now_ms(), wait;
	int booked, running;

	if (!it->slotted && !item_breaker(it))
		return 1;
	if (inflight[it->prov] >= D.conc[it->prov] || *total >= D.total_conc)
		return 0;
	if (!it->slotted) {
		it->not_before = reserve(it->prov, item_chat(it), now, &booked);
		if (!booked) {
			/* back when the slot it would have had is near */
			result_retry(it, it->not_before - now - D.horizon_ms / 2,
			    "rate limit: later slot", 0);
			return 1;
		}
		it->slotted = 1;
	}
	if (it->not_before > now)
		return 0;
	/* a hold that began after the slot was booked: book again, after it */
	if (held(it->prov, item_chat(it)) > now) {
		it->slotted = 0;
		return 0;
	}
	/* the circuit may have opened while this send waited for its slot */
	if (!it->probe && !breaker_closed(it->prov)) {
		it->slotted = 0;
		if (!item_breaker(it))
			return 1;
		return 0;
	}
	if ((wait = window_wait(it->prov, item_chat(it))) > 0) {
		it->not_before = now + wait;
		return 0;
	}
	if (item_transfer(it) == -1) {
		result_failed(it, ac_prov_name(it->prov), it->curl_err, 0, 0);
		item_reset(it);
		return 1;
	}
	curl_multi_add_handle(D.multi, it->easy);
	/* a rate-limited send on its way now, not after the others */
	if (D.rate[it->prov] > 0 || item_chat(it) != 0)
		curl_multi_perform(D.multi, &running);
	it->state = I_FLIGHT;
	inflight[it->prov]++;
	(*total)++;
	return 1;
}

/* A finished transfer of it: classified, the breaker told, the result
 * left (or, for a migrated Telegram group, sent again). */
static void
item_finish(struct item *it, CURLcode cc)
{
	struct ac_answer a;
	long status = 0;
	int64_t wait;

	curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
	ac_prov_classify(it->prov, (int)cc, it->curl_err[0] ? it->curl_err :
	    curl_easy_strerror(cc), status, it->resp, it->retry_after[0] ? it->retry_after : NULL,
	    &a);
	item_reset(it);
	it->probe = 0;
	if (a.verdict == AC_SEND_ACCOUNT)
		breaker_change(it->prov, change_trip, 0);
	else
		breaker_outcome(it->prov, a.verdict != AC_SEND_RETRY || a.retry_after_ms > 0);
	/* a provider that said when to come back: nothing more goes to that
	 * chat (Telegram) or that account (the others) before then */
	if (a.retry_after_ms > 0)
		hold(it->prov, item_chat(it), ac_now_ms() + a.retry_after_ms);
	switch (a.verdict) {
	case AC_SEND_OK: {
		json_t *r = result_new(it, "sent", ac_prov_name(it->prov));

		json_object_set_new(r, "id", json_string(a.id));
		if (it->migrated)
			json_object_set_new(r, "chat", json_string(it->to));
		result(it, r);
		return;
	}
	case AC_SEND_PERMANENT:
		result_failed(it, ac_prov_name(it->prov), a.reason, a.blocked, 1);
		return;
	case AC_SEND_ACCOUNT:
		/* not this message's fault: the backup, at once and with all of
		 * its attempts (those left on this provider are skipped) */
		if (item_prov_step(it) + 1 < it->plan.n) {
			int pos = 1;

			for (int k = 0; k <= item_prov_step(it); k++)
				pos += it->plan.tries[k];
			it->pos = pos;
			ac_plan_step(&it->plan, pos, &it->step, &it->nth);
			it->prov = it->plan.prov[it->step];
			it->slotted = 0;
			it->state = I_WAIT;
			return;
		}
		result_retry(it, D.breaker_cooldown_ms, a.reason, 1);
		return;
	case AC_SEND_RETRY:
		break;
	}
	if (a.migrate_chat[0] != '\0' && !it->migrated) {
		snprintf(it->to, sizeof(it->to), "%s", a.migrate_chat);
		it->migrated = 1;
		it->slotted = 0;
		it->state = I_WAIT;
		return;
	}
	if (last_attempt(it)) {
		result_failed(it, ac_prov_name(it->prov), a.reason, 0, 1);
		return;
	}
	/* the backup's first attempt follows at once; else the backoff */
	wait = it->nth >= it->plan.tries[it->step] ? 1 : ac_delivery_backoff_ms(it->nth);
	if (a.retry_after_ms > wait)
		wait = a.retry_after_ms;
	result_retry(it, wait, a.reason, 1);
}

/* The sent deliveries being recorded while the sends go on: one
 * statement at a time in flight on db's connection, and its items. */
struct recording {
	struct ac_db	 *db;
	int		  busy;
	struct item	**offered;
	size_t		  n, cap;
};

static void	record_start(struct recording *, struct item *, size_t);
static void	record_done(struct recording *, int);

/* Drives the items' sends until each has a result (or, after *stop, until
 * those in flight have ended; the rest are left unstarted). With db, the
 * deliveries sent are recorded as they go (RECORD_MS, RECORD_MAX), so a
 * worker killed mid-batch leaves milliseconds of sends unrecorded, not the
 * batch: a re-run finds them sent and sends nothing again. */
static void
run(struct item *items, size_t n, const volatile sig_atomic_t *stop, struct ac_db *db)
{
	int inflight[AC_PROV__MAX] = { 0 }, total = 0;
	size_t first = 0, unrecorded = 0;
	int64_t recorded_at = ac_mono_ms();
	struct recording rec = { .db = db };

	if (D.multi == NULL && (D.multi = curl_multi_init()) == NULL)
		abort();
	for (;;) {
		int64_t now = ac_now_ms(), next = now + 100;
		int running, left = 0;
		CURLMsg *msg;

		while (first < n && items[first].state == I_DONE)
			first++;
		for (size_t i = first; i < n && !(stop && *stop); i++) {
			struct item *it = &items[i];

			if (it->state != I_WAIT)
				continue;
			left++;
			if (!item_start(it, inflight, &total) && it->slotted && it->not_before < next)
				next = it->not_before;
		}
		if (stop && *stop) {
			/* a job counts as started if one of its sends was
			 * reserved; its items still waiting are retried alone
			 * (not counted), the other jobs go back unstarted */
			left = 0;
			for (size_t i = 0; i < n; i++)
				items[i].job->started = 0;
			for (size_t i = 0; i < n; i++)
				if (items[i].slotted)
					items[i].job->started = 1;
			for (size_t i = first; i < n; i++)
				if (items[i].state == I_WAIT && items[i].job->started)
					result_retry(&items[i], 1, "worker stopping", 0);
		}
		if (total == 0 && left == 0)
			break;
		curl_multi_perform(D.multi, &running);
		while ((msg = curl_multi_info_read(D.multi, &running)) != NULL) {
			struct item *it;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
			inflight[it->prov]--;
			total--;
			item_finish(it, msg->data.result);
			unrecorded += it->state == I_DONE;
			next = now;
		}
		record_done(&rec, 0);
		if (db != NULL && unrecorded > 0 && (unrecorded >= RECORD_MAX || total == 0 ||
		    ac_mono_ms() - recorded_at >= RECORD_MS)) {
			record_start(&rec, items + first, n - first);
			unrecorded = 0;
			recorded_at = ac_mono_ms();
		}
		now = ac_now_ms();
		if (next > now) {
			/* the recording's answer wakes the wait as a send's does */
			struct curl_waitfd pg = { .fd = rec.busy ? PQsocket(ac_db_conn(db)) : -1,
			    .events = CURL_WAIT_POLLIN };

			curl_multi_poll(D.multi, &pg, pg.fd >= 0 ? 1 : 0, (int)(next - now), NULL);
		}
	}
	record_done(&rec, 1);
	free(rec.offered);
}

/* Sets up it for its job from row i of the loaded rows (-1: no row). */
typedef void (*item_setup_fn)(struct item *it, const PGresult *res, int i);

/* The ids a job holds: its payload's array "<key>s" (a deliver job for
 * many deliveries), else its integer "<key>"; *multi tells which. At most
 * max go into out (NULL: count only). Returns how many there are. */
static size_t
job_ids(const struct ac_job *job, const char *key, long long *out, size_t max, int *multi)
{
	char many[64];
	json_t *arr, *v;
	size_t i, k = 0;

	snprintf(many, sizeof(many), "%ss", key);
	arr = json_object_get(job->payload, many);
	*multi = json_is_array(arr);
	if (!*multi) {
		if (out != NULL && max > 0)
			out[0] = json_integer_value(json_object_get(job->payload, key));
		return 1;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v))
			continue;
		if (out != NULL && k < max)
			out[k] = json_integer_value(v);
		k++;
	}
	return k;
}

/* A loaded row's id and its index, to find rows by id. */
struct row_at {
	long long	 id;
	int		 row;
};

static int
cmp_row_at(const void *a, const void *b)
{
	long long x = ((const struct row_at *)a)->id, y = ((const struct row_at *)b)->id;

	return (x > y) - (x < y);
}

/* One batch: loads the rows with load ($1: the array of the ids the jobs
 * hold, matched against the rows' first column), sets up an item per id
 * with setup, sends them all, and leaves each result in its job's payload:
 * "_result" for a job of one id, "_results" (by id) for a job of many. If
 * the load fails, no item gets a result (each job finds out and retries). */
static void
batch(struct ac_db *db, struct ac_job *const *jobs, size_t n, const volatile sig_atomic_t *stop,
    const struct ac_stmt *load, const char *key, item_setup_fn setup)
{
	struct item *items;
	long long *ids;
	char *arr, *p;
	const char *vals[1];
	size_t total = 0, k = 0;
	int64_t t0, t1;
	PGresult *res;
	int multi;

	for (size_t i = 0; i < n; i++)
		total += job_ids(jobs[i], key, NULL, 0, &multi);
	items = calloc(total + 1, sizeof(*items));
	ids = calloc(total + 1, sizeof(*ids));
	arr = malloc(total * 24 + 3);
	if (items == NULL || ids == NULL || arr == NULL)
		abort();
	p = arr;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		size_t m = job_ids(jobs[i], key, ids + k, total - k, &multi);

		for (size_t j = 0; j < m; j++, k++) {
			items[k].job = jobs[i];
			items[k].of_many = multi;
			p += sprintf(p, "%s%lld", k ? "," : "", ids[k]);
		}
	}
	strcpy(p, "}");
	vals[0] = arr;
	t0 = ac_mono_ms();
	res = ac_db_exec(db, load, vals, NULL, NULL);
	free(arr);
	if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		size_t nrows = (size_t)PQntuples(res);
		struct row_at *at = calloc(nrows + 1, sizeof(*at));

		if (at == NULL)
			abort();
		for (size_t r = 0; r < nrows; r++)
			at[r] = (struct row_at){ strtoll(PQgetvalue(res, (int)r, 0), NULL, 10), (int)r };
		qsort(at, nrows, sizeof(*at), cmp_row_at);
		for (size_t i = 0; i < total; i++) {
			struct row_at want = { ids[i], -1 }, *hit = bsearch(&want, at, nrows,
			    sizeof(*at), cmp_row_at);
			int row = hit ? hit->row : -1;

			setup(&items[i], res, row);
			if (row == -1 && items[i].state == I_WAIT)
				items[i].state = I_DONE;	/* nothing to send: no result */
		}
		free(at);
		PQclear(res);
		t1 = ac_mono_ms();
		run(items, total, stop, strcmp(key, "delivery_id") == 0 ? db : NULL);
		ac_debug("%zu items of %zu jobs: loaded and set up in %lld ms, sent in %lld ms",
		    total, n, (long long)(t1 - t0), (long long)(ac_mono_ms() - t1));
	}
	for (size_t i = 0; i < total; i++) {
		struct item *it = &items[i];

		if (it->res != NULL) {
			json_t *pl = it->job->payload, *all;
			char id[24];

			if (!it->of_many) {
				json_object_set_new(pl, "_result", it->res);
			} else {
				if ((all = json_object_get(pl, "_results")) == NULL)
					json_object_set_new(pl, "_results", all = json_object());
				snprintf(id, sizeof(id), "%lld", ids[i]);
				json_object_set_new(all, id, it->res);
			}
			it->res = NULL;
		}
		texts_free(&it->t);
		item_reset(it);
	}
	free(ids);
	free(items);
}

/* A string member of o, or NULL. */
static const char *
str(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* Every delivery of a batch that went out (or to the outbox) marked sent in
 * one statement, and each signal's count moved once: ids[i] with its
 * provider, message and provider message id. Returns the ids updated. */
static const struct ac_stmt st_sent_many = { "deliver_sent_many",
	"WITH x AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])"
	"  AS x(id, provider, message, pmid)),"
	" d AS (UPDATE deliveries d SET status = 'sent', provider = x.provider,"
	"  message = x.message, provider_message_id = nullif(x.pmid, ''),"
	"  attempts = d.attempts + 1, error = NULL, sent_at = now(), updated_at = now()"
	"  FROM x WHERE d.id = x.id AND d.status = 'queued' RETURNING d.id, d.signal_id),"
	" s AS (UPDATE signals SET delivered_count = delivered_count + c.n"
	"  FROM (SELECT signal_id, count(*) AS n FROM d GROUP BY signal_id) c"
	"  WHERE signals.id = c.signal_id)"
	" SELECT id FROM d", 4 };

/* Calls fn for each result left in job (one, or one per delivery). */
static void
each_result(struct ac_job *job, void (*fn)(struct ac_job *, long long, json_t *, void *),
    void *arg)
{
	json_t *all = json_object_get(job->payload, "_results"), *r;
	const char *id;

	if ((r = json_object_get(job->payload, "_result")) != NULL)
		fn(job, json_integer_value(json_object_get(job->payload, "delivery_id")), r, arg);
	json_object_foreach(all, id, r)
		fn(job, strtoll(id, NULL, 10), r, arg);
}

struct sent_cols {
	struct ac_pgarray ids, prov, msg, pmid;
};

/* Sends the statement recording the deliveries of items[0..n) sent since
 * the last one (st_sent_many, its own transaction) without waiting for it:
 * the sends go on meanwhile, and record_done() takes the answer. */
static void
record_start(struct recording *rc, struct item *items, size_t n)
{
	struct sent_cols c;
	const char *vals[4];

	record_done(rc, 1);
	rc->n = 0;
	ac_pgarray_init(&c.ids);
	ac_pgarray_init(&c.prov);
	ac_pgarray_init(&c.msg);
	ac_pgarray_init(&c.pmid);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		const char *v;

		if (it->state != I_DONE || it->recorded || it->res == NULL)
			continue;
		v = str(it->res, "v");
		if (v == NULL || strcmp(v, "sent") != 0 || json_object_get(it->res, "chat") != NULL) {
			it->recorded = 2;
			continue;
		}
		if (rc->n == rc->cap && (rc->offered = realloc(rc->offered,
		    (rc->cap = rc->cap ? rc->cap * 2 : 256) * sizeof(*rc->offered))) == NULL)
			abort();
		rc->offered[rc->n++] = it;
		it->recorded = 1;
		ac_pgarray_ll(&c.ids, it->delivery_id);
		ac_pgarray_str(&c.prov, str(it->res, "provider"));
		ac_pgarray_str(&c.msg, str(it->res, "message"));
		ac_pgarray_str(&c.pmid, str(it->res, "id") ? str(it->res, "id") : "");
	}
	if (rc->n > 0) {
		vals[0] = ac_pgarray_text(&c.ids);
		vals[1] = ac_pgarray_text(&c.prov);
		vals[2] = ac_pgarray_text(&c.msg);
		vals[3] = ac_pgarray_text(&c.pmid);
		if (PQsendQueryParams(ac_db_conn(rc->db), st_sent_many.sql, st_sent_many.nparams,
		    NULL, vals, NULL, NULL, 0) == 1) {
			rc->busy = 1;
		} else {
			ac_warn("%zu sent deliveries not recorded at once (%s): later", rc->n,
			    PQerrorMessage(ac_db_conn(rc->db)));
			for (size_t i = 0; i < rc->n; i++)
				rc->offered[i]->recorded = 0;
		}
	}
	ac_pgarray_free(&c.ids);
	ac_pgarray_free(&c.prov);
	ac_pgarray_free(&c.msg);
	ac_pgarray_free(&c.pmid);
}

/* Takes the answer of the recording in flight, if it has come (or, with
 * block, waiting for it): its deliveries become "written" (on success
 * every row offered was queued, now sent, or already done: nothing is left
 * to write); after a failure they are offered again, and at the end
 * written with their jobs. */
static void
record_done(struct recording *rc, int block)
{
	PGconn *conn;
	PGresult *res;
	int ok = 0, first = 1;

	if (!rc->busy)
		return;
	conn = ac_db_conn(rc->db);
	if (!block && PQconsumeInput(conn) == 1 && PQisBusy(conn))
		return;
	while ((res = PQgetResult(conn)) != NULL) {
		if (first)
			ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (first && !ok)
			ac_warn("%zu sent deliveries not recorded at once (%s): later", rc->n,
			    PQresultErrorMessage(res));
		first = 0;
		PQclear(res);
	}
	rc->busy = 0;
	for (size_t i = 0; i < rc->n; i++) {
		struct item *it = rc->offered[i];

		if (ok) {
			result(it, json_pack("{s:s}", "v", "written"));
			it->recorded = 2;
		} else {
			it->recorded = 0;
		}
	}
	rc->n = 0;
}

static void
collect_sent(struct ac_job *job, long long id, json_t *r, void *arg)
{
	struct sent_cols *c = arg;
	const char *v = str(r, "v");

	/* a migrated chat is recorded on the user by the job itself */
	if (v == NULL || (strcmp(v, "sent") != 0 && strcmp(v, "outbox") != 0) ||
	    json_object_get(r, "chat") != NULL)
		return;
	ac_pgarray_ll(&c->ids, id);
	ac_pgarray_str(&c->prov, str(r, "provider"));
	ac_pgarray_str(&c->msg, str(r, "message"));
	ac_pgarray_str(&c->pmid, str(r, "id") ? str(r, "id") : "");
}

struct id_set {
	long long	*ids;
	size_t		 n;
};

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Marks the result of a delivery in the (sorted) set written. */
static void
mark_written(struct ac_job *job, long long id, json_t *r, void *arg)
{
	const struct id_set *set = arg;

	if (bsearch(&id, set->ids, set->n, sizeof(*set->ids), cmp_ll) != NULL) {
		json_object_clear(r);
		json_object_set_new(r, "v", json_string("written"));
	}
}

/* Writes the sent results of the batch at once; they are left as
 * "written", which ac_deliver_job() passes over. If the statement fails,
 * each job writes its own results as usual. A crash before the jobs
 * complete finds the deliveries sent: "gone". */
static void
write_sent(struct ac_db *db, struct ac_job *const *jobs, size_t n)
{
	struct sent_cols c;
	const char *vals[4];
	PGresult *res;

	ac_pgarray_init(&c.ids);
	ac_pgarray_init(&c.prov);
	ac_pgarray_init(&c.msg);
	ac_pgarray_init(&c.pmid);
	for (size_t i = 0; i < n; i++)
		each_result(jobs[i], collect_sent, &c);
	if (c.ids.n > 0) {
		vals[0] = ac_pgarray_text(&c.ids);
		vals[1] = ac_pgarray_text(&c.prov);
		vals[2] = ac_pgarray_text(&c.msg);
		vals[3] = ac_pgarray_text(&c.pmid);
		res = ac_db_exec(db, &st_sent_many, vals, NULL, NULL);
		if (ac_db_ok(db, res, PGRES_TUPLES_OK)) {
			struct id_set set = { calloc((size_t)PQntuples(res) + 1, sizeof(long long)),
			    (size_t)PQntuples(res) };

			if (set.ids == NULL)
				abort();
			for (size_t row = 0; row < set.n; row++)
				set.ids[row] = strtoll(PQgetvalue(res, (int)row, 0), NULL, 10);
			PQclear(res);
			qsort(set.ids, set.n, sizeof(*set.ids), cmp_ll);
			for (size_t i = 0; i < n; i++)
				each_result(jobs[i], mark_written, &set);
			free(set.ids);
		} else {
			ac_warn("sent deliveries not recorded at once (%s): one by one",
			    ac_db_error(db));
		}
	}
	ac_pgarray_free(&c.ids);
	ac_pgarray_free(&c.prov);
	ac_pgarray_free(&c.msg);
	ac_pgarray_free(&c.pmid);
}

void
ac_deliver_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	int64_t t0;

	batch(db, jobs, n, stop, &st_load, "delivery_id", item_setup);
	t0 = ac_mono_ms();
	write_sent(db, jobs, n);
	ac_debug("sent deliveries recorded in %lld ms", (long long)(ac_mono_ms() - t0));
}

/* ---- notices: account emails through the same sends -------------------------------- */

/* The notices there are: each names its templates <name>.txt (text),
 * <name>.html.txt (HTML part) and <name>_subject.txt. */
static const char *const notices[] = { "telegram_blocked" };

static const struct ac_stmt st_notice_load = { "notice_load",
	"SELECT id, email, coalesce(display_name, '') FROM users WHERE id = ANY ($1::bigint[])", 1 };

/* Sets up it for job's notice to the user in row i (-1: no such user,
 * "gone"): rendered, its email plan stepped to the job's attempt, or a
 * result at once. */
static void
notice_setup(struct item *it, const PGresult *res, int i)
{
	const char *name = json_string_value(json_object_get(it->job->payload, "notice"));
	struct ac_var v[2];
	char err[512], tmpl[64];
	size_t k;

	if (i == -1) {
		result(it, json_pack("{s:s}", "v", "gone"));
		return;
	}
	v[0] = (struct ac_var){ "name", PQgetvalue(res, i, 2) };
	v[1] = (struct ac_var){ "email", PQgetvalue(res, i, 1) };
	it->key_ns = "notice";
	it->delivery_id = it->job->id;
	it->user_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	snprintf(it->channel, sizeof(it->channel), "email");
	snprintf(it->to, sizeof(it->to), "%s", PQgetvalue(res, i, 1));
	for (k = 0; k < sizeof(notices) / sizeof(notices[0]); k++)
		if (name != NULL && strcmp(name, notices[k]) == 0)
			break;
	if (k == sizeof(notices) / sizeof(notices[0])) {
		result_failed(it, "none", "no such notice", 0, 0);
		return;
	}
	it->t.text = render_vars(name, v, 2, 0, err, sizeof(err));
	snprintf(tmpl, sizeof(tmpl), "%s.html", name);
	it->t.html = it->t.text ? render_vars(tmpl, v, 2, 1, err, sizeof(err)) : NULL;
	snprintf(tmpl, sizeof(tmpl), "%s_subject", name);
	it->t.subject = it->t.html ? render_vars(tmpl, v, 2, 0, err, sizeof(err)) : NULL;
	if (it->t.subject == NULL) {
		texts_free(&it->t);
		result_failed(it, "none", err, 0, 0);
		return;
	}
	it->t.subject[strcspn(it->t.subject, "\r\n")] = '\0';
	if (plan_setup(it, it->job->attempts) == 0)
		it->job->started = 1;
}

void
ac_notice_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	batch(db, jobs, n, stop, &st_notice_load, "user_id", notice_setup);
}

/* ---- account emails: email_outbox rows through the same sends --------------------- */

static const struct ac_stmt st_email_load = { "email_load",
	"SELECT id, status, coalesce(user_id, 0), to_addr, subject, body, attempts"
	" FROM email_outbox WHERE id = ANY ($1::bigint[])", 1 };

enum { E_ID, E_STATUS, E_USER, E_TO, E_SUBJECT, E_BODY, E_ATTEMPTS };

/* text as an HTML part (malloc'd): escaped, a blank line parts paragraphs,
 * a line break stays one, and http(s) addresses become links. */
static char *
text_html(const char *text)
{
	char *esc = ac_html_escape(text), *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *p = esc;

	if (esc == NULL || f == NULL)
		abort();
	fputs("<p>", f);
	while (*p != '\0') {
		if (*p == '\n' || *p == '\r') {
			int lines = 0;

			for (; *p == '\n' || *p == '\r'; p++)
				lines += *p == '\n';
			if (*p != '\0')
				fputs(lines > 1 ? "</p>\n<p>" : "<br>\n", f);
		} else if (strncmp(p, "https://", 8) == 0 || strncmp(p, "http://", 7) == 0) {
			size_t n = strcspn(p, " \t\r\n");

			while (strchr(".,:!?)", p[n - 1]) != NULL)
				n--;
			fprintf(f, "<a href=\"%.*s\">%.*s</a>", (int)n, p, (int)n, p);
			p += n;
		} else
			fputc(*p++, f);
	}
	fputs("</p>\n", f);
	if (fclose(f) != 0)
		abort();
	free(esc);
	return out;
}

/* Sets up it from email_outbox row i (-1: no row, "gone"): the result at
 * once (no longer queued, outbox, plan used up) or a send waiting its turn,
 * the row's body as the text part and text_html() of it as the HTML part. */
static void
email_setup(struct item *it, const PGresult *res, int i)
{
	if (i == -1 || strcmp(PQgetvalue(res, i, E_STATUS), "queued") != 0) {
		result(it, json_pack("{s:s}", "v", "gone"));
		return;
	}
	it->key_ns = "email";
	it->delivery_id = strtoll(PQgetvalue(res, i, E_ID), NULL, 10);
	it->user_id = strtoll(PQgetvalue(res, i, E_USER), NULL, 10);
	it->attempts = atoi(PQgetvalue(res, i, E_ATTEMPTS));
	snprintf(it->channel, sizeof(it->channel), "email");
	snprintf(it->to, sizeof(it->to), "%s", PQgetvalue(res, i, E_TO));
	if ((it->t.text = strdup(PQgetvalue(res, i, E_BODY))) == NULL ||
	    (it->t.subject = strdup(PQgetvalue(res, i, E_SUBJECT))) == NULL)
		abort();
	it->t.subject[strcspn(it->t.subject, "\r\n")] = '\0';
	it->t.html = text_html(it->t.text);
	if (plan_setup(it, it->attempts + 1) == 0)
		it->job->started = 1;
}

void
ac_email_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	batch(db, jobs, n, stop, &st_email_load, "email_id", email_setup);
}

/* ---- writing the result ---------------------------------------------------------- */

static const struct ac_stmt st_sent = { "deliver_sent",
	"WITH d AS (UPDATE deliveries SET status = 'sent', provider = $2, message = $3,"
	"  provider_message_id = nullif($4, ''), attempts = attempts + $5::int, error = NULL,"
	"  sent_at = now(),"
	"  updated_at = now() WHERE id = $1 AND status = 'queued' RETURNING signal_id, user_id),"
	" s AS (UPDATE signals SET delivered_count = delivered_count + 1"
	"  WHERE id = (SELECT signal_id FROM d))"
	" UPDATE users SET telegram_chat_id = $6, updated_at = now()"
	" WHERE $6::text IS NOT NULL AND id = (SELECT user_id FROM d)", 6 };

static const struct ac_stmt st_failed = { "deliver_failed",
	"UPDATE deliveries SET status = 'failed', provider = $2, message = $3, error = $4,"
	" attempts = attempts + $5::int, updated_at = now() WHERE id = $1 AND status = 'queued'", 5 };

/* A retry: the attempt counted (when it reached the provider) and the next
 * deliver job, keyed by this one, due at $6 (ms since the epoch). */
static const struct ac_stmt st_retry = { "deliver_retry",
	"WITH d AS (UPDATE deliveries SET provider = $2, error = $3,"
	"  attempts = attempts + $4::int, updated_at = now()"
	"  WHERE id = $1 AND status = 'queued' RETURNING id)"
	" INSERT INTO jobs (kind, payload, unique_key, run_at)"
	" SELECT 'deliver', jsonb_build_object('delivery_id', id), 'deliver:' || id || ':' || $5,"
	"  to_timestamp($6::bigint / 1000.0) FROM d ON CONFLICT (unique_key) DO NOTHING", 6 };

static const struct ac_stmt st_blocked = { "deliver_blocked",
	"UPDATE users SET telegram_unreachable_at = now(), updated_at = now()"
	" WHERE id = $1 AND telegram_chat_id = $2 AND telegram_unreachable_at IS NULL", 2 };

static const struct ac_stmt st_exists = { "deliver_exists",
	"SELECT 1 FROM deliveries WHERE id = $1", 1 };

/* The attempts result r adds (see counted()) as text in buf. */
static const char *
counted_text(json_t *r, char buf[24])
{
	snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(r,
	    "counted")));
	return buf;
}

/* RETRY or FAIL with a formatted reason in job->error. */
static enum ac_job_outcome
job_error(struct ac_job *job, enum ac_job_outcome out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ac_job_outcome
job_error(struct ac_job *job, enum ac_job_outcome out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
	return out;
}

/* Queues notice for user (a text id) once per delivery (a text id), in
 * the caller's transaction. 0, or -1 on a database error. */
static int
notice_enqueue(struct ac_db *db, const char *notice, const char *user, const char *delivery)
{
	char key[128];
	json_t *payload = json_pack("{s:I, s:s}", "user_id",
	    (json_int_t)strtoll(user, NULL, 10), "notice", notice);
	int rc;

	snprintf(key, sizeof(key), "notice:%s:%s", notice, delivery);
	rc = ac_job_enqueue(db, "notice", payload, key, 0, 0, NOTICE_ATTEMPTS);
	json_decref(payload);
	return rc == -1 ? -1 : 0;
}

/* Writes delivery id's result r (NULL: none) in the runner's transaction.
 * A delivery that does not exist FAILs the job of one delivery; in a job
 * of many it is passed over (missing set). */
static enum ac_job_outcome
deliver_one(struct ac_db *db, struct ac_job *job, long long id, json_t *r, int *missing)
{
	const char *v = str(r, "v");
	char sid[24], user[24];
	PGresult *res;

	if (id <= 0)
		return job_error(job, AC_JOB_FAIL, "payload has no delivery_id");
	snprintf(sid, sizeof(sid), "%lld", id);
	if (v == NULL) {
		const char *vals[1] = { sid };

		res = ac_db_exec(db, &st_exists, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		if (PQntuples(res) == 0) {
			PQclear(res);
			*missing = 1;
			return job_error(job, AC_JOB_FAIL, "delivery %lld does not exist", id);
		}
		PQclear(res);
		return job_error(job, AC_JOB_RETRY, "delivery %lld: not sent (database error)", id);
	}
	if (strcmp(v, "gone") == 0 || strcmp(v, "written") == 0)
		return AC_JOB_DONE;
	if (strcmp(v, "retry") == 0) {
		char jid[24], at[24], n[24];
		const char *vals[6] = { sid, str(r, "provider"), str(r, "error"),
		    counted_text(r, n), jid, at };

		snprintf(jid, sizeof(jid), "%lld", job->id);
		snprintf(at, sizeof(at), "%lld", (long long)(ac_now_ms() +
		    json_integer_value(json_object_get(r, "retry_in_ms"))));
		res = ac_db_exec(db, &st_retry, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		PQclear(res);
		return AC_JOB_DONE;
	}
	if (strcmp(v, "sent") == 0 || strcmp(v, "outbox") == 0) {
		const char *vals[6] = { sid, str(r, "provider"), str(r, "message"), str(r, "id"),
		    "1", str(r, "chat") };

		res = ac_db_exec(db, &st_sent, vals, NULL, NULL);
	} else {
		char n[24];
		const char *vals[5] = { sid, str(r, "provider"), str(r, "message"),
		    str(r, "error"), counted_text(r, n) };

		res = ac_db_exec(db, &st_failed, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		if (json_is_true(json_object_get(r, "blocked"))) {
			const char *bv[2] = { user, str(r, "chat") };

			PQclear(res);
			snprintf(user, sizeof(user), "%lld",
			    (long long)json_integer_value(json_object_get(r, "user_id")));
			res = ac_db_exec(db, &st_blocked, bv, NULL, NULL);
			if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
				return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id,
				    ac_db_error(db));
			/* just marked: tell the user by email */
			if (strcmp(PQcmdTuples(res), "1") == 0 &&
			    notice_enqueue(db, "telegram_blocked", user, sid) == -1) {
				PQclear(res);
				return job_error(job, AC_JOB_RETRY, "delivery %lld: notice: %s", id,
				    ac_db_error(db));
			}
		}
	}
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
	PQclear(res);
	return AC_JOB_DONE;
}

enum ac_job_outcome
ac_deliver_job(struct ac_db *db, struct ac_job *job)
{
	json_t *ids = json_object_get(job->payload, "delivery_ids"), *all, *v;
	enum ac_job_outcome out;
	size_t i;
	int missing = 0;

	if (!json_is_array(ids))
		return deliver_one(db, job, json_integer_value(json_object_get(job->payload,
		    "delivery_id")), json_object_get(job->payload, "_result"), &missing);
	if (json_array_size(ids) == 0)
		return job_error(job, AC_JOB_FAIL, "payload has no delivery ids");
	all = json_object_get(job->payload, "_results");
	json_array_foreach(ids, i, v) {
		char id[24];

		if (!json_is_integer(v)) {	/* batch() did not send it either */
			ac_warn("deliver job %lld: delivery_ids[%zu] is not an id; passed over",
			    job->id, i);
			continue;
		}
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		missing = 0;
		out = deliver_one(db, job, json_integer_value(v), json_object_get(all, id), &missing);
		if (out == AC_JOB_DONE)
			continue;
		if (!missing)
			return out;
		ac_warn("deliver job %lld: %s; the others go on", job->id, job->error);
		job->error[0] = '\0';
	}
	return AC_JOB_DONE;
}

enum ac_job_outcome
ac_notice_job(struct ac_db *db, struct ac_job *job)
{
	json_t *r = json_object_get(job->payload, "_result");
	const char *v = str(r, "v");

	if (v == NULL)
		return job_error(job, AC_JOB_RETRY, "notice not sent (database error)");
	if (strcmp(v, "gone") == 0)
		return job_error(job, AC_JOB_FAIL, "no such user");
	if (strcmp(v, "sent") == 0 || strcmp(v, "outbox") == 0) {
		ac_info("notice %s to user %lld: %s", str(job->payload, "notice"),
		    (long long)json_integer_value(json_object_get(r, "user_id")), str(r, "provider"));
		return AC_JOB_DONE;
	}
	if (strcmp(v, "retry") == 0) {
		job->retry_in_ms = json_integer_value(json_object_get(r, "retry_in_ms"));
		return job_error(job, AC_JOB_RETRY, "%s", str(r, "error"));
	}
	return job_error(job, AC_JOB_FAIL, "%s: %s", str(r, "provider"), str(r, "error"));
}

static const struct ac_stmt st_email_sent = { "email_sent",
	"UPDATE email_outbox SET status = 'sent', provider = $2,"
	" provider_message_id = nullif($3, ''), attempts = attempts + $4::int, error = NULL,"
	" sent_at = now() WHERE id = $1 AND status = 'queued'", 4 };

static const struct ac_stmt st_email_failed = { "email_failed",
	"UPDATE email_outbox SET status = 'failed', provider = $2, error = $3,"
	" attempts = attempts + $4::int WHERE id = $1 AND status = 'queued'", 4 };

/* A retry, as st_retry: the attempt counted (when it reached the provider)
 * and the next email job, keyed by this one, due at $6 (ms since the epoch). */
static const struct ac_stmt st_email_retry = { "email_retry",
	"WITH m AS (UPDATE email_outbox SET provider = $2, error = $3,"
	"  attempts = attempts + $4::int WHERE id = $1 AND status = 'queued' RETURNING id)"
	" INSERT INTO jobs (kind, payload, unique_key, run_at)"
	" SELECT 'email', jsonb_build_object('email_id', id), 'email:' || id || ':' || $5,"
	"  to_timestamp($6::bigint / 1000.0) FROM m ON CONFLICT (unique_key) DO NOTHING", 6 };

enum ac_job_outcome
ac_email_job(struct ac_db *db, struct ac_job *job)
{
	json_t *id = json_object_get(job->payload, "email_id");
	json_t *r = json_object_get(job->payload, "_result");
	char sid[24], jid[24], at[24], n[24];
	const char *v = str(r, "v"), *sent = counted_text(r, n);
	PGresult *res;

	if (!json_is_integer(id))
		return job_error(job, AC_JOB_FAIL, "payload has no integer email_id");
	snprintf(sid, sizeof(sid), "%lld", (long long)json_integer_value(id));
	if (v == NULL)
		return job_error(job, AC_JOB_RETRY, "email %s: not sent (database error)", sid);
	if (strcmp(v, "gone") == 0)
		return AC_JOB_DONE;
	if (strcmp(v, "retry") == 0) {
		const char *vals[6] = { sid, str(r, "provider"), str(r, "error"), sent, jid, at };

		snprintf(jid, sizeof(jid), "%lld", job->id);
		snprintf(at, sizeof(at), "%lld", (long long)(ac_now_ms() +
		    json_integer_value(json_object_get(r, "retry_in_ms"))));
		res = ac_db_exec(db, &st_email_retry, vals, NULL, NULL);
	} else if (strcmp(v, "sent") == 0 || strcmp(v, "outbox") == 0) {
		const char *vals[4] = { sid, str(r, "provider"), str(r, "id"),
		    strcmp(v, "sent") == 0 ? "1" : "0" };

		res = ac_db_exec(db, &st_email_sent, vals, NULL, NULL);
	} else {
		const char *vals[4] = { sid, str(r, "provider"), str(r, "error"), sent };

		ac_warn("email %s to user %lld failed: %s: %s", sid,
		    (long long)json_integer_value(json_object_get(r, "user_id")),
		    str(r, "provider"), str(r, "error"));
		res = ac_db_exec(db, &st_email_failed, vals, NULL, NULL);
	}
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return job_error(job, AC_JOB_RETRY, "email %s: %s", sid, ac_db_error(db));
	PQclear(res);
	return AC_JOB_DONE;
}
