/* ratelimit.c — see ratelimit.h. */
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "web/ratelimit.h"
#include "base/redis.h"

/* One handle per process: ac-portal and ac-api answer on one thread. */
static struct ac_redis rl;

void
ac_rate_init(const char *redis_url, int timeout_ms)
{
	ac_redis_open(&rl, redis_url, timeout_ms, "rate limits");
}

long long
ac_rate_hit(const char *key, int window_s, int *ttl_s)
{
	redisContext *c = ac_redis_conn(&rl);
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
		ac_redis_drop(&rl, "INCR");
	return n;
}

long long
ac_rate_count(const char *key)
{
	redisContext *c = ac_redis_conn(&rl);
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
		ac_redis_drop(&rl, "GET");
	return n;
}

void
ac_rate_expire(const char *key, int seconds)
{
	redisContext *c = ac_redis_conn(&rl);
	redisReply *r;

	if (c == NULL)
		return;
	r = redisCommand(c, "EXPIRE %s %d", key, seconds);
	if (r == NULL)
		ac_redis_drop(&rl, "EXPIRE");
	freeReplyObject(r);
}

void
ac_rate_reset(const char *key)
{
	redisContext *c = ac_redis_conn(&rl);
	redisReply *r;

	if (c == NULL)
		return;
	r = redisCommand(c, "DEL %s", key);
	if (r == NULL)
		ac_redis_drop(&rl, "DEL");
	freeReplyObject(r);
}
