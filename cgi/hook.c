/*
 * ac-hook — the ingest responder: TradingView alerts, and the health checks.
 *
 *	POST /hook/tv/<token>	an alert for the strategy holding token
 *	POST /hook/tv		an alert whose body carries the token as "secret"
 *	POST /hook/telegram	an update from Telegram: /start <code> links a
 *				chat, /stop unlinks it (lib/account/telegram.h)
 *	POST /hook/stripe	a Stripe event: its signature checked, stored once
 *				with its job, processed by the worker
 *				(lib/billing/stripe.h)
 *	GET  /health/live	the process answers
 *	GET  /health/ready	the database answers and its migrations are current
 *	GET  /metrics		the Prometheus text (cgi/hook_metrics.c); nginx
 *				lets only its address list ask
 *
 * A few of these run under spawn-fcgi, each with AC_HOOK_THREADS threads
 * accepting requests. Alerts are stored by one committer thread per
 * process that writes all the alerts waiting at that moment in one
 * statement and one transaction (a group commit, lib/alert/ingest.h); each
 * thread also keeps a connection of its own, opened when first needed,
 * for the rest (strategy lookups, refusals, Telegram, health). When the
 * database cannot take an alert, the request goes to the local spool and
 * is replayed after a later request finds the database back (and by
 * `acctl replay-spool`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/crypto.h"
#include "base/db.h"
#include "alert/ingest.h"
#include "base/log.h"
#include "base/message.h"
#include "base/migrate.h"
#include "base/queue.h"
#include "base/redis.h"
#include "web/request.h"
#include "web/responder.h"
#include "web/response.h"
#include "web/route.h"
#include "alert/spool.h"
#include "alert/strategy.h"
#include "account/telegram.h"
#include "billing/stripe.h"
#include "base/util.h"
#include "cgi/hook.h"

static struct {
	struct ac_config cfg;
	struct ac_db	*group_db[16];	/* the committers' */
	int		 committers;
	size_t		 body_max;
	int		 connect_timeout_s, statement_timeout_ms;
	int		 db_seen_up;	/* atomic: the last database call of this process worked */
} hook;

#define STRIPE_BODY_MAX	(256 * 1024)	/* as nginx's /hook/stripe */

/* This thread's connection, and its Redis handle for the counters. */
static _Thread_local struct ac_db *tdb;
static _Thread_local struct ac_redis tredis;

/* The webhook this thread answered last, counted by after() once the
 * client has its answer (route NULL: none). */
static _Thread_local struct {
	const char	*route;
	int		 status;
	double		 seconds;
} answered;

static void
seen_up(int up)
{
	__atomic_store_n(&hook.db_seen_up, up, __ATOMIC_RELAXED);
}


static void	tv_alert(struct ac_call *k);
static void	tg_update(struct ac_call *k);
static void	stripe_event(struct ac_call *k);
static void	health_live(struct ac_call *k);
static void	health_ready(struct ac_call *k);
static void	metrics(struct ac_call *k);
static void	maybe_replay(void);

static const struct ac_route routes[] = {
	{ .method = AC_M_POST, .path = "/hook/tv", .fn = tv_alert },
	{ .method = AC_M_POST, .path = "/hook/tv/{*}", .fn = tv_alert },	/* {*}: the token */
	{ .method = AC_M_POST, .path = "/hook/telegram", .fn = tg_update },
	{ .method = AC_M_POST, .path = "/hook/stripe", .fn = stripe_event },
	{ .method = AC_M_GET, .path = "/health/live", .fn = health_live },
	{ .method = AC_M_GET, .path = "/health/ready", .fn = health_ready },
	{ .method = AC_M_GET, .path = "/metrics", .fn = metrics },
};

static const struct ac_router router = { .routes = routes,
	.n = sizeof(routes) / sizeof(routes[0]) };

/* The answer to an accepted or refused alert. */
static void
tv_answer(struct ac_req *r, const struct ac_ingest_out *out)
{
	switch (out->result) {
	case AC_INGEST_SPOOLED:
		ac_reply_json(r, 202, json_pack("{s:n, s:s}", "id", "status", "spooled"));
		break;
	case AC_INGEST_QUEUED:
		ac_reply_json(r, 202, json_pack("{s:I, s:s}", "id", (json_int_t)out->signal_id,
		    "status", "queued"));
		break;
	case AC_INGEST_DUPLICATE:
		ac_reply_json(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)out->signal_id,
		    "status", "duplicate"));
		break;
	case AC_INGEST_REJECTED:
		ac_reply_error(r, out->err.status, out->err.code, out->err.message, out->err.field);
		break;
	case AC_INGEST_HEARTBEAT:
		ac_reply_json(r, 200, json_pack("{s:I, s:s}", "strategy_id",
		    (json_int_t)out->strategy_id, "status", "heartbeat"));
		break;
	case AC_INGEST_DB_DOWN:
		ac_reply_error(r, 503, "unavailable", out->heartbeat ? "the heartbeat could not "
		    "be recorded and is not spooled; the next one stands in for it" :
		    "the alert could not be stored; retry", NULL);
		break;
	case AC_INGEST_ERROR:
		ac_reply_error(r, 500, "internal", "the alert could not be stored; retry", NULL);
		break;
	}
}

/* The token and any secret in the body never reach a log or the database
 * in clear: ac_ingest() redacts them (and spools the alert when the
 * database is away), and what is logged here is its redacted message. */
static void
tv_alert(struct ac_call *k)
{
	struct ac_req *r = k->r;
	const char *token = k->rest;
	struct ac_ingest_in in = {
		.token = token, .body = r->body, .len = r->body_len,
		.content_type = r->content_type, .remote_addr = r->remote_addr,
		.request_id = r->request_id, .received_ms = r->received_ms,
		.spool_dir = hook.cfg.state_dir,
	};
	struct ac_ingest_out out;

	if (r->body_len > hook.body_max) {	/* the responder takes Stripe's larger events */
		ac_reply_error(r, 413, "too_large", "the alert body is over the limit", NULL);
		return;
	}
	ac_ingest(tdb, &in, &out);
	seen_up(out.result != AC_INGEST_DB_DOWN && out.result != AC_INGEST_SPOOLED);
	if (out.result == AC_INGEST_REJECTED)
		ac_info("alert refused %d %s: %s", out.err.status, out.err.code, out.err.message);
	tv_answer(r, &out);
}

/* 1 if the request carries the webhook secret (compared in constant time
 * over SHA-256 digests, so neither content nor length leaks). */
static int
tg_secret_ok(const struct ac_req *r, const char *secret)
{
	const char *given = ac_req_header(r, "X-Telegram-Bot-Api-Secret-Token");
	unsigned char want[32], got[32];

	ac_sha256(secret, strlen(secret), want);
	ac_sha256(given ? given : "", given ? strlen(given) : 0, got);
	return ac_ct_equal(want, got, sizeof(want)) && given != NULL;
}

/* 200 to Telegram with, when template renders, a sendMessage to chat as
 * the answer's method (Telegram runs it: no call leaves from here). */
static void
tg_answer(struct ac_req *r, const char *result, json_int_t chat, const char *template)
{
	struct ac_err e;
	char *text = template ? ac_message_render(template, NULL, 0, &e) : NULL;

	if (template != NULL && text == NULL)
		ac_warn("telegram reply %s: %s", template, e.message);
	if (text == NULL) {
		ac_reply_json(r, 200, json_pack("{s:b, s:s}", "ok", 1, "result", result));
		return;
	}
	ac_reply_json(r, 200, json_pack("{s:s, s:I, s:s, s:s}", "method", "sendMessage",
	    "chat_id", chat, "text", text, "result", result));
	free(text);
}

/* POST /hook/telegram: an Update checked by its secret token. /start CODE
 * links the private chat to the code's user, /stop unlinks it; anything
 * else is acknowledged and ignored (Telegram resends non-2xx answers). A
 * database failure answers 503 so that Telegram tries again. */
static void
tg_update(struct ac_call *k)
{
	struct ac_req *r = k->r;
	const char *secret = ac_setting_str(&hook.cfg, AC_S_TELEGRAM_WEBHOOK_SECRET);
	json_t *u, *msg, *chat, *from;
	char code[80], cid[24], uname[80] = "";
	const char *type, *un;
	enum ac_tg_cmd cmd;
	json_int_t id;
	long long user;

	if (secret == NULL || *secret == '\0') {
		ac_reply_error(r, 404, "not_found", "the Telegram webhook is not configured", NULL);
		return;
	}
	if (!tg_secret_ok(r, secret)) {
		ac_info("telegram update refused: secret token missing or wrong");
		ac_reply_error(r, 401, "unauthorized", "missing or wrong secret token",
		    "X-Telegram-Bot-Api-Secret-Token");
		return;
	}
	if ((u = json_loadb(r->body, r->body_len, 0, NULL)) == NULL || !json_is_object(u)) {
		json_decref(u);
		ac_reply_error(r, 400, "bad_request", "the body is not a Telegram update", NULL);
		return;
	}
	msg = json_object_get(u, "message");
	chat = json_object_get(msg, "chat");
	from = json_object_get(msg, "from");
	type = json_string_value(json_object_get(chat, "type"));
	cmd = ac_telegram_command(json_string_value(json_object_get(msg, "text")), code,
	    sizeof(code));
	if (!json_is_integer(json_object_get(chat, "id")) || type == NULL ||
	    strcmp(type, "private") != 0 || cmd == AC_TG_NONE) {
		json_decref(u);
		tg_answer(r, "ignored", 0, NULL);
		return;
	}
	id = json_integer_value(json_object_get(chat, "id"));
	snprintf(cid, sizeof(cid), "%" JSON_INTEGER_FORMAT, id);
	if ((un = json_string_value(json_object_get(from, "username"))) != NULL &&
	    strlen(un) < sizeof(uname) && strspn(un, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(un))
		snprintf(uname, sizeof(uname), "%s", un);
	json_decref(u);
	if (cmd == AC_TG_STOP) {
		int n = ac_telegram_unlink(tdb, cid);

		if (n == -1)
			goto db_down;
		ac_info("telegram chat %s unlinked (%d user)", cid, n);
		tg_answer(r, n ? "unlinked" : "not_linked", id, "telegram_unlinked");
		return;
	}
	switch (ac_telegram_link(tdb, code, cid, uname[0] ? uname : NULL, &user)) {
	case AC_TG_LINKED:
		ac_info("telegram chat %s linked to user %lld", cid, user);
		tg_answer(r, "linked", id, "telegram_linked");
		return;
	case AC_TG_BAD_CODE:
		ac_info("telegram /start with an unknown, used or expired code");
		tg_answer(r, "bad_code", id, "telegram_link_invalid");
		return;
	case AC_TG_DB_ERROR:
		break;
	}
db_down:
	ac_warn("telegram update not stored: %s", ac_db_error(tdb));
	ac_reply_error(r, 503, "unavailable", "the update could not be stored; retry", NULL);
}

/* POST /hook/stripe: 200 once the event is stored (or was before), 400
 * for a bad signature or a body that is no event (Stripe shows these to
 * the account owner), 503 when the database cannot take it (Stripe tries
 * again for three days). */
static void
stripe_event(struct ac_call *k)
{
	struct ac_req *r = k->r;
	const char *secret = ac_setting_str(&hook.cfg, AC_S_STRIPE_WEBHOOK_SECRET);
	struct ac_err e = { 0 };
	int64_t stamp;
	char id[256];
	int rc, notify;

	if (secret == NULL || *secret == '\0') {
		ac_reply_error(r, 404, "not_found", "the Stripe webhook is not configured", NULL);
		return;
	}
	if (ac_stripe_verify(ac_req_header(r, "Stripe-Signature"), r->body, r->body_len, secret,
	    (long long)time(NULL), AC_STRIPE_TOLERANCE_S, &e) == -1) {
		ac_info("stripe event refused: %s", e.message);
		ac_reply_error(r, 400, "bad_signature", e.message, e.field);
		return;
	}
	stamp = ac_now_ms();
	notify = ac_notify_due(stamp);
	rc = ac_stripe_event_store(tdb, r->body, r->body_len, notify, id, sizeof(id), &e);
	if (rc != 1 && notify)
		ac_notify_undo(stamp);	/* nothing new: let the next one wake them */
	if (rc == -1 && (e.code == AC_E_INVALID)) {
		ac_info("stripe event refused: %s", e.message);
		ac_reply_error(r, 400, "bad_request", e.message, e.field);
		return;
	}
	if (rc == -1) {
		seen_up(!ac_db_unavailable(tdb));
		ac_warn("stripe event %s not stored: %s", id, e.message);
		ac_reply_error(r, 503, "unavailable", "the event could not be stored; retry", NULL);
		return;
	}
	ac_reply_json(r, 200, json_pack("{s:b, s:s, s:b}", "received", 1, "id", id,
	    "duplicate", rc == 0));
}

static void
health_live(struct ac_call *k)
{
	ac_reply_json(k->r, 200, json_pack("{s:s}", "status", "live"));
}

static void
health_ready(struct ac_call *k)
{
	struct ac_req *r = k->r;
	struct ac_err e = { 0 };
	int db_up = ac_db_ping(tdb);
	int mig = db_up ? ac_migrate_check(tdb, hook.cfg.sql_dir, &e) : -1;
	json_t *checks;

	if (!db_up)
		ac_err_set(&e, AC_E_UNAVAILABLE, NULL, "database: %s", ac_db_error(tdb));
	seen_up(db_up);
	checks = json_pack("{s:s, s:s, s:s, s:s}",
	    "database", db_up ? "ok" : "down",
	    "migrations", mig == 0 ? "current" : mig == 1 ? "pending" : "unknown",
	    "redis", ac_redis_ping(hook.cfg.redis_url, 200) ? "ok" : "down",
	    "spool", ac_spool_pending(hook.cfg.state_dir) ? "pending" : "empty");
	if (mig == 0) {
		ac_reply_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
		return;
	}
	ac_reply_json(r, 503, json_pack("{s:s, s:o, s:{s:s, s:s, s:n}}", "status", "not_ready",
	    "checks", checks, "error", "code", "not_ready", "message", e.message, "field"));
}

static void
metrics(struct ac_call *k)
{
	hook_metrics(k->r, tdb, &tredis, hook.cfg.state_dir);
}

/* The counters' name of a webhook path, or NULL for what is not one. */
static const char *
webhook_route(const char *path)
{
	if (strncmp(path, "/hook/", 6) != 0)
		return NULL;
	path += 6;
	if (strcmp(path, "tv") == 0 || strncmp(path, "tv/", 3) == 0)
		return "tv";
	if (strcmp(path, "stripe") == 0)
		return "stripe";
	if (strcmp(path, "telegram") == 0)
		return "telegram";
	return "other";
}

static void
route(struct ac_req *r)
{
	ac_route(&router, &(struct ac_call){ .r = r });
	if ((answered.route = webhook_route(r->path)) != NULL) {
		answered.status = r->responded;
		answered.seconds = (double)(ac_now_ms() - r->received_ms) / 1000.0;
	}
}

/* After the client has its answer: drain the spool if the database is back. */
static enum ac_spool_verdict
replay_one(const struct ac_spool_entry *e, void *arg)
{
	struct ac_ingest_out out;

	ac_ingest_spooled(tdb, e, &out);
	if (out.result == AC_INGEST_DB_DOWN || out.result == AC_INGEST_ERROR)
		return AC_SPOOL_STOP;
	ac_info("replayed spooled alert %s: %s %lld", e->request_id,
	    out.result == AC_INGEST_QUEUED ? "queued" : out.result == AC_INGEST_DUPLICATE ?
	    "duplicate" : out.result == AC_INGEST_HEARTBEAT ? "heartbeat" : out.err.code,
	    out.signal_id);
	return AC_SPOOL_DONE;
}

/* After each answer: the webhook counted, then the spool replayed when due. */
static void
after(void)
{
	if (answered.route != NULL)
		hook_metrics_count(&tredis, answered.route, answered.status, answered.seconds);
	answered.route = NULL;
	maybe_replay();
}

static void
maybe_replay(void)
{
	struct ac_spool_stats st;

	if (!__atomic_load_n(&hook.db_seen_up, __ATOMIC_RELAXED) || !ac_spool_pending(hook.cfg.state_dir))
		return;
	if (ac_spool_replay(hook.cfg.state_dir, replay_one, NULL, &st) == -1)
		ac_error("spool replay: %m");
	else if (!st.busy)
		ac_info("spool replay: %u stored, %u kept, %u unreadable", st.done, st.kept, st.corrupt);
}

static void
thread_init(int index)
{
	tdb = ac_db_new(hook.cfg.database_url, "ac-hook", hook.connect_timeout_s,
	    hook.statement_timeout_ms);
	ac_redis_open(&tredis, hook.cfg.redis_url, 200, "webhook counters and /metrics");
}

static void
thread_end(int index)
{
	ac_db_free(tdb);
	tdb = NULL;
	ac_redis_close(&tredis);
}

int
main(int argc, char *argv[])
{
	int rc, threads;

	if ((rc = ac_responder_start(argc, argv, "ac-hook", NULL, &hook.cfg)) != -1)
		return rc;
	hook.body_max = (size_t)ac_setting_int(&hook.cfg, AC_S_HOOK_BODY_MAX);
	hook.connect_timeout_s = ac_setting_int(&hook.cfg, AC_S_DB_CONNECT_TIMEOUT);
	hook.statement_timeout_ms = ac_setting_int(&hook.cfg,
	    AC_S_HOOK_STATEMENT_TIMEOUT_MS);
	threads = ac_setting_int(&hook.cfg, AC_S_HOOK_THREADS);
	hook.db_seen_up = 1;
	ac_strategy_cache(ac_setting_int(&hook.cfg, AC_S_STRATEGY_CACHE_MS));
	ac_ingest_init(hook.cfg.state_dir,
	    ac_setting_int(&hook.cfg, AC_S_NOTIFY_COALESCE_MS));

	json_object_seed(0);	/* before the threads: jansson seeds its hash once */
	if (threads > 1) {
		hook.committers = ac_setting_int(&hook.cfg, AC_S_INGEST_COMMITTERS);
		for (int i = 0; i < hook.committers; i++)
			hook.group_db[i] = ac_db_new(hook.cfg.database_url, "ac-hook commit",
			    hook.connect_timeout_s, hook.statement_timeout_ms);
		ac_ingest_group_start(hook.group_db, hook.committers,
		    ac_setting_int(&hook.cfg, AC_S_INGEST_BATCH_MAX));
	}

	ac_info("ready: %d threads, body limit %zu bytes, state in %s", threads, hook.body_max,
	    hook.cfg.state_dir);
	rc = ac_responder_run(&(struct ac_responder){ .body_max = hook.body_max > STRIPE_BODY_MAX ?
	    hook.body_max : STRIPE_BODY_MAX,
	    .threads = threads, .route = route, .after = after,
	    .thread_init = thread_init, .thread_end = thread_end });
	ac_ingest_group_stop();
	for (int i = 0; i < hook.committers; i++)
		ac_db_free(hook.group_db[i]);
	ac_config_free(&hook.cfg);
	return rc;
}
