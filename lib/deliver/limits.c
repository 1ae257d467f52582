/*
 * limits.c — how fast sends may go, shared by all workers through Redis:
 * each provider's rate slots and sliding second, Telegram's gap per chat,
 * the holds a provider's Retry-After asks for, and the circuit breaker
 * per provider. Redis being away fails open to this process's own copy
 * of the same state (logged by the handle, base/redis.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "base/redis.h"
#include "base/util.h"
#include "deliver/internal.h"

#define STATE_TTL_MS	200	/* how long a closed breaker read from Redis is trusted */
#define CHAT_SLOTS	4096	/* the per-process fallback's per-chat table */
#define WINDOW_MS	1050	/* the sliding second, with room for sends that take
				 * longer on the way than the ones after them */

static struct {
	struct limits_cfg cfg;
	struct ac_redis	 redis;
	/* per-process state, used when Redis is away */
	struct ac_breaker breaker[AC_PROV__MAX];
	int64_t		 breaker_read_at[AC_PROV__MAX];
	int64_t		 next_slot[AC_PROV__MAX];
	int64_t		 prov_hold[AC_PROV__MAX];
	struct { long long chat; int64_t next, hold; } chats[CHAT_SLOTS];
} L;

/* The scripts the sends run, by their SHA-1: EVALSHA sends the 40-digit
 * name, not the body, which Redis would hash again on every EVAL (three
 * scripts a Telegram message, 1,000 messages a second). */
enum { S_RESERVE, S_HOLD, S_WINDOW, S_CAS, S__MAX };
static const char *const lua[S__MAX];
static char lua_sha[S__MAX][41];

static void
scripts_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	for (int i = 0; i < S__MAX; i++) {
		if (EVP_Digest(lua[i], strlen(lua[i]), md, &len, EVP_sha1(), NULL) != 1 ||
		    len != 20) {
			lua_sha[i][0] = '\0';	/* EVAL, then */
			continue;
		}
		for (unsigned int k = 0; k < len; k++)
			snprintf(lua_sha[i] + 2 * k, 3, "%02x", md[k]);
	}
}

/* Runs script i with argv[2..argc) (argv[0] and argv[1] are set here):
 * EVALSHA; when Redis does not know the script (restarted, SCRIPT FLUSH)
 * its NOSCRIPT is no failure, and EVAL runs it and has Redis keep it. The
 * reply, or NULL with the connection dropped (base/redis.h). */
static redisReply *
script_run(int i, int argc, const char **argv)
{
	redisContext *c;
	redisReply *r;

	if (lua_sha[i][0] != '\0' && (c = ac_redis_conn(&L.redis)) != NULL) {
		argv[0] = "EVALSHA";
		argv[1] = lua_sha[i];
		r = redisCommandArgv(c, argc, argv, NULL);
		if (r != NULL && r->type != REDIS_REPLY_ERROR)
			return r;
		if (r == NULL || strncmp(r->str, "NOSCRIPT", 8) != 0) {
			ac_redis_drop(&L.redis, r != NULL ? r->str : "EVALSHA");
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
	}
	argv[0] = "EVAL";
	argv[1] = lua[i];
	return ac_redis_argv(&L.redis, argc, argv);
}

void
limits_init(const struct limits_cfg *cfg)
{
	limits_done();
	memset(&L, 0, sizeof(L));
	L.cfg = *cfg;
	scripts_init();
	ac_redis_open(&L.redis, cfg->redis_url, 200, "limits and breakers (per process)");
}

void
limits_done(void)
{
	ac_redis_close(&L.redis);
}

int
limits_horizon_ms(void)
{
	return L.cfg.horizon_ms;
}

int
limits_cooldown_ms(void)
{
	return L.cfg.breaker_cooldown_ms;
}

int
limits_gap_ms(enum ac_prov p)
{
	return L.cfg.rate[p] > 0 ? (1000 + L.cfg.rate[p] - 1) / L.cfg.rate[p] : 0;
}

int
limits_paced(enum ac_prov p, long long chat)
{
	return L.cfg.rate[p] > 0 || chat != 0;
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

/* The per-process slot of chat in L.chats. */
static size_t
chat_slot(long long chat)
{
	return (size_t)((unsigned long long)chat % CHAT_SLOTS);
}

/* When a send of p (to chat, 0: none) may go, in wall-clock ms; *booked
 * is 0 when that lies beyond the horizon and nothing was reserved. */
int64_t
limits_reserve(enum ac_prov p, long long chat, int64_t now, int *booked)
{
	int64_t gap = L.cfg.rate[p] > 0 ? (1000 + L.cfg.rate[p] - 1) / L.cfg.rate[p] : 0, at = now;
	int64_t cgap = chat != 0 ? L.cfg.chat_gap_ms : 0;
	char k1[64], k2[64], a1[24], a2[24], a3[24], a4[24];
	const char *argv[] = { NULL, NULL, chat ? "2" : "1", k1, k2, a1, a2, a3, a4 };
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
	snprintf(a4, sizeof(a4), "%d", L.cfg.horizon_ms);
	if (!chat) {
		argv[4] = a1;
		argv[5] = a2;
		argv[6] = a3;
		argv[7] = a4;
	}
	if ((r = script_run(S_RESERVE, chat ? 9 : 8, argv)) != NULL) {
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
	if (L.next_slot[p] > at)
		at = L.next_slot[p];
	if (chat && L.chats[slot].chat == chat && L.chats[slot].next > at)
		at = L.chats[slot].next;
	if (at - now > L.cfg.horizon_ms) {
		*booked = 0;
		return at;
	}
	if (gap > 0)
		L.next_slot[p] = at + gap;
	if (chat) {
		L.chats[slot].chat = chat;
		L.chats[slot].next = at + cgap;
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

void
limits_hold(enum ac_prov p, long long chat, int64_t until)
{
	char k1[64], k2[64], a1[24], a2[24];
	const char *argv[] = { NULL, NULL, "2", k1, k2, a1, a2 };
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
	if ((r = script_run(S_HOLD, 7, argv)) != NULL)
		freeReplyObject(r);
	/* and in this process, for when Redis goes away */
	if (!chat) {
		if (L.next_slot[p] < until)
			L.next_slot[p] = until;
		L.prov_hold[p] = until;
		return;
	}
	if (L.chats[slot].chat != chat || L.chats[slot].next < until) {
		L.chats[slot].chat = chat;
		L.chats[slot].next = until;
	}
	L.chats[slot].hold = until;
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
int64_t
limits_window_wait(enum ac_prov p, long long chat)
{
	static unsigned long long seq;
	char k1[64], k2[64], a1[24], a2[24], a3[48], a4[24], a5[24];
	const char *argv[] = { NULL, NULL, chat ? "2" : "1", k1, k2, a1, a2, a3, a4, a5 };
	redisReply *r;
	int64_t wait = 0, now = ac_now_ms();

	if (L.cfg.rate[p] <= 0 && (chat == 0 || L.cfg.chat_gap_ms == 0))
		return 0;
	snprintf(k1, sizeof(k1), "ac:win:%s", ac_prov_name(p));
	snprintf(k2, sizeof(k2), "ac:last:%s:%lld", ac_prov_name(p), chat);
	snprintf(a1, sizeof(a1), "%" PRId64, now);
	snprintf(a2, sizeof(a2), "%d", L.cfg.rate[p]);
	snprintf(a3, sizeof(a3), "%" PRId64 ":%ld:%llu", now, (long)getpid(), ++seq);
	snprintf(a4, sizeof(a4), "%d", chat ? L.cfg.chat_gap_ms : 0);
	snprintf(a5, sizeof(a5), "%d", WINDOW_MS);
	if (!chat) {
		argv[4] = a1;
		argv[5] = a2;
		argv[6] = a3;
		argv[7] = a4;
		argv[8] = a5;
	}
	if ((r = script_run(S_WINDOW, chat ? 10 : 9, argv)) != NULL) {
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
int64_t
limits_held(enum ac_prov p, long long chat)
{
	char k1[64], k2[64];
	const char *argv[] = { "MGET", k1, k2 };
	redisReply *r;
	int64_t until = L.prov_hold[p];
	size_t slot = chat_slot(chat);

	if (chat == 0 && L.cfg.rate[p] <= 0)
		return 0;
	if (chat && L.chats[slot].chat == chat && L.chats[slot].hold > until)
		until = L.chats[slot].hold;
	snprintf(k1, sizeof(k1), "ac:hold:%s", ac_prov_name(p));
	snprintf(k2, sizeof(k2), "ac:hold:%s:%lld", ac_prov_name(p), chat);
	if ((r = ac_redis_argv(&L.redis, chat ? 3 : 2, argv)) != NULL) {
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

/* p's breaker as Redis has it, into L.breaker[p] (kept as is when Redis is
 * away). 0, or -1 without Redis. */
static int
breaker_read(enum ac_prov p)
{
	char key[64];
	const char *argv[] = { "GET", key };
	redisReply *r;

	snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
	if ((r = ac_redis_argv(&L.redis, 2, argv)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING || ac_breaker_parse(r->str, &L.breaker[p]) == -1)
		memset(&L.breaker[p], 0, sizeof(L.breaker[p]));
	freeReplyObject(r);
	L.breaker_read_at[p] = ac_mono_ms();
	return 0;
}

/* Applies change (allow or record) to p's breaker atomically in Redis
 * (a few compare-and-set rounds), else to the per-process copy. Returns
 * what change returned. */
static int
breaker_change(enum ac_prov p, int (*change)(struct ac_breaker *, int, int64_t), int arg)
{
	char key[64], was[64], now_s[64];
	const char *argv[] = { NULL, NULL, "1", key, was, now_s };
	int64_t now = ac_now_ms();

	snprintf(key, sizeof(key), "ac:breaker:%s", ac_prov_name(p));
	for (int round = 0; round < 4; round++) {
		struct ac_breaker b;
		redisReply *r;
		int rc, ok;

		if (breaker_read(p) == -1)
			break;
		b = L.breaker[p];
		rc = change(&b, arg, now);
		if (memcmp(&b, &L.breaker[p], sizeof(b)) == 0)
			return rc;
		ac_breaker_format(&L.breaker[p], was, sizeof(was));
		ac_breaker_format(&b, now_s, sizeof(now_s));
		if ((r = script_run(S_CAS, 6, argv)) == NULL)
			break;
		ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
		freeReplyObject(r);
		if (ok) {
			if (ac_breaker_state(&b, now) != ac_breaker_state(&L.breaker[p], now))
				ac_warn("%s: circuit %s", ac_prov_name(p),
				    ac_breaker_state(&b, now) == AC_BREAKER_CLOSED ? "closed" :
				    ac_breaker_state(&b, now) == AC_BREAKER_OPEN ? "open" : "half-open");
			L.breaker[p] = b;
			return rc;
		}
	}
	return change(&L.breaker[p], arg, now);
}

/* ac_breaker_allow as a change. */
static int
change_allow(struct ac_breaker *b, int unused, int64_t now)
{
	(void)unused;
	return ac_breaker_allow(b, now, L.cfg.breaker_cooldown_ms);
}

/* Opens the breaker at once, as for its threshold of failures. */
static int
change_trip(struct ac_breaker *b, int unused, int64_t now)
{
	(void)unused;
	b->fails = L.cfg.breaker_fails;
	b->open_until = now + L.cfg.breaker_cooldown_ms;
	b->probe_until = 0;
	return 1;
}

/* ac_breaker_record as a change. */
static int
change_record(struct ac_breaker *b, int ok, int64_t now)
{
	return ac_breaker_record(b, ok, now, L.cfg.breaker_fails, L.cfg.breaker_cooldown_ms);
}

/* 1 if p may be sent to now, *probe set when this send is the half-open
 * breaker's probe. A closed breaker read in the last STATE_TTL_MS is
 * trusted without asking Redis again. */
int
circuit_allows(enum ac_prov p, int *probe)
{
	int ok;

	if (ac_mono_ms() - L.breaker_read_at[p] < STATE_TTL_MS &&
	    ac_breaker_state(&L.breaker[p], ac_now_ms()) == AC_BREAKER_CLOSED)
		ok = 1;
	else
		ok = breaker_change(p, change_allow, 0);
	if (ok)
		*probe = ac_breaker_state(&L.breaker[p], ac_now_ms()) == AC_BREAKER_HALF_OPEN;
	return ok;
}

/* 1 if p's breaker is closed (read again when older than STATE_TTL_MS),
 * taking no probe: asked just before a send goes, so that a circuit
 * opened since the slot was booked stops it. */
int
circuit_closed(enum ac_prov p)
{
	if (ac_mono_ms() - L.breaker_read_at[p] >= STATE_TTL_MS)
		breaker_read(p);
	return ac_breaker_state(&L.breaker[p], ac_now_ms()) == AC_BREAKER_CLOSED;
}

/* Records an outcome of p; a success on a clean breaker costs nothing. */
void
circuit_outcome(enum ac_prov p, int ok)
{
	if (ok && L.breaker[p].fails == 0 && L.breaker[p].open_until == 0 &&
	    ac_mono_ms() - L.breaker_read_at[p] < STATE_TTL_MS)
		return;
	breaker_change(p, change_record, ok);
}

void
circuit_trip(enum ac_prov p)
{
	breaker_change(p, change_trip, 0);
}

static const char *const lua[S__MAX] = { lua_reserve, lua_hold, lua_window, lua_cas };

int
limits_warm(void)
{
	int loaded = 0;

	for (size_t i = 0; i < S__MAX; i++) {
		const char *argv[] = { "SCRIPT", "LOAD", lua[i] };
		redisReply *r = ac_redis_argv(&L.redis, 3, argv);

		if (r == NULL)
			break;	/* no Redis: the sends use the per-process state */
		/* the name Redis gives it is the one EVALSHA uses */
		loaded += r->type == REDIS_REPLY_STRING && strcmp(r->str, lua_sha[i]) == 0;
		freeReplyObject(r);
	}
	return loaded;
}
