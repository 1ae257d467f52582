/* ratelimit.c — see ratelimit.h. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "web/ratelimit.h"
#include "base/redis.h"
#include "base/util.h"

#define RETRY_MS 5000	/* after a failure, no new connection before this */

static struct {
	char		*url;
	int		 timeout_ms;
	redisContext	*c;
	int64_t		 down_until;	/* monotonic ms */
} rl;

void
ac_rate_init(const char *redis_url, int timeout_ms)
{
	free(rl.url);
	redisFree(rl.c);
	rl.c = NULL;
	rl.down_until = 0;
	if ((rl.url = strdup(redis_url)) == NULL)
		abort();
	rl.timeout_ms = timeout_ms;
}

/* The live connection, or NULL while Redis is away. */
static redisContext *
conn(void)
{
	if (rl.c != NULL)
		return rl.c;
	if (rl.url == NULL || ac_mono_ms() < rl.down_until)
		return NULL;
	if ((rl.c = ac_redis_connect(rl.url, rl.timeout_ms)) == NULL) {
		ac_warn("rate limits fail open: Redis unreachable");
		rl.down_until = ac_mono_ms() + RETRY_MS;
	}
	return rl.c;
}

/* Drops a broken connection after a failed command. */
static void
broken(const char *what)
{
	ac_warn("rate limits fail open: Redis %s failed: %s", what,
	    rl.c && rl.c->err ? rl.c->errstr : "bad reply");
	redisFree(rl.c);
	rl.c = NULL;
	rl.down_until = ac_mono_ms() + RETRY_MS;
}

long long
ac_rate_hit(const char *key, int window_s, int *ttl_s)
{
	redisContext *c = conn();
	redisReply *r[3] = { NULL, NULL, NULL };
	long long n = -1;

	if (c == NULL)
		return -1;
	redisAppendCommand(c, "INCR %s", key);
	redisAppendCommand(c, "EXPIRE %s %d NX", key, window_s);
	redisAppendCommand(c, "TTL %s", key);
	for (int i = 0; i < 3; i++)
		if (redisGetReply(c, (void **)&r[i]) != REDIS_OK)
			break;
	if (r[0] != NULL && r[0]->type == REDIS_REPLY_INTEGER && r[2] != NULL &&
	    r[2]->type == REDIS_REPLY_INTEGER) {
		n = r[0]->integer;
		if (ttl_s != NULL)
			*ttl_s = r[2]->integer > 0 ? (int)r[2]->integer : window_s;
	}
	for (int i = 0; i < 3; i++)
		freeReplyObject(r[i]);
	if (n == -1)
		broken("INCR");
	return n;
}

long long
ac_rate_count(const char *key)
{
	redisContext *c = conn();
	redisReply *r;
	long long n = -1;

	if (c == NULL)
		return -1;
	r = redisCommand(c, "GET %s", key);
	if (r != NULL && r->type == REDIS_REPLY_NIL)
		n = 0;
	else if (r != NULL && r->type == REDIS_REPLY_STRING)
		n = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	if (n == -1)
		broken("GET");
	return n;
}

void
ac_rate_expire(const char *key, int seconds)
{
	redisContext *c = conn();
	redisReply *r;

	if (c == NULL)
		return;
	r = redisCommand(c, "EXPIRE %s %d", key, seconds);
	if (r == NULL)
		broken("EXPIRE");
	freeReplyObject(r);
}

void
ac_rate_reset(const char *key)
{
	redisContext *c = conn();
	redisReply *r;

	if (c == NULL)
		return;
	r = redisCommand(c, "DEL %s", key);
	if (r == NULL)
		broken("DEL");
	freeReplyObject(r);
}
