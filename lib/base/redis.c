/* redis.c — see redis.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/redis.h"
#include "base/settings.h"
#include "base/util.h"

int
ac_redis_parse_url(const char *url, char *host, size_t hostsz, int *port, int *db)
{
	const char *p = url, *colon, *slash, *errstr;
	char num[16];
	size_t hl;

	if (strncmp(p, "redis://", 8) == 0)
		p += 8;
	if (strchr(p, '@') != NULL)
		p = strchr(p, '@') + 1;	/* credentials: not used on loopback */
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon != NULL && slash != NULL && colon > slash)
		colon = NULL;
	hl = (size_t)((colon ? colon : slash ? slash : p + strlen(p)) - p);
	if (hl == 0 || hl >= hostsz)
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	*port = 6379;
	*db = 0;
	if (colon != NULL) {
		size_t pl = (size_t)((slash ? slash : colon + strlen(colon)) - colon - 1);

		if (pl == 0 || pl >= sizeof(num))
			return -1;
		memcpy(num, colon + 1, pl);
		num[pl] = '\0';
		*port = (int)ac_strtonum(num, 1, 65535, &errstr);
		if (errstr != NULL)
			return -1;
	}
	if (slash != NULL && slash[1] != '\0') {
		*db = (int)ac_strtonum(slash + 1, 0, 1000, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return 0;
}

redisContext *
ac_redis_connect(const char *url, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char host[256], shown[512];
	int port, db;
	redisContext *c;

	if (ac_redis_parse_url(url, host, sizeof(host), &port, &db) == -1) {
		ac_warn("AC_REDIS_URL %s is not redis://host:port[/db]",
		    ac_setting_redact(AC_S_REDIS_URL, url, shown, sizeof(shown)));
		return NULL;
	}
	c = redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err) {
		ac_warn("redis %s:%d unreachable: %s", host, port, c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (db != 0) {
		redisReply *r = redisCommand(c, "SELECT %d", db);

		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			ac_warn("redis SELECT %d failed", db);
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	return c;
}

int
ac_redis_ping(const char *url, int timeout_ms)
{
	redisContext *c = ac_redis_connect(url, timeout_ms);
	redisReply *r;
	int ok;

	if (c == NULL)
		return 0;
	r = redisCommand(c, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

void
ac_redis_open(struct ac_redis *r, const char *url, int timeout_ms, const char *who)
{
	ac_redis_close(r);
	if (url != NULL && (r->url = strdup(url)) == NULL)
		abort();
	r->who = who;
	r->timeout_ms = timeout_ms;
}

void
ac_redis_close(struct ac_redis *r)
{
	redisFree(r->c);
	free(r->url);
	memset(r, 0, sizeof(*r));
}

redisContext *
ac_redis_conn(struct ac_redis *r)
{
	int64_t now;

	if (r->c != NULL || r->url == NULL || (now = ac_mono_ms()) < r->retry_at)
		return r->c;
	if ((r->c = ac_redis_connect(r->url, r->timeout_ms)) == NULL) {
		r->retry_at = now + AC_REDIS_RETRY_MS;
		if (!r->away)
			ac_warn("redis away: %s fail open until it returns", r->who);
		r->away = 1;
	} else if (r->away) {
		r->away = 0;
		ac_info("redis back: %s", r->who);
	}
	return r->c;
}

void
ac_redis_drop(struct ac_redis *r, const char *what)
{
	ac_warn("redis away: %s fail open until it returns (%s: %s)", r->who, what,
	    r->c != NULL && r->c->err ? r->c->errstr : "bad reply");
	redisFree(r->c);
	r->c = NULL;
	r->retry_at = ac_mono_ms() + AC_REDIS_RETRY_MS;
	r->away = 1;
}

redisReply *
ac_redis_argv(struct ac_redis *r, int argc, const char **argv)
{
	redisContext *c = ac_redis_conn(r);
	redisReply *rep;

	if (c == NULL)
		return NULL;
	rep = redisCommandArgv(c, argc, argv, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		ac_redis_drop(r, rep != NULL ? rep->str : argv[0]);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}
