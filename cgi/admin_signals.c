/*
 * admin_signals.c — what came in from TradingView: the signals stored,
 * each with its deliveries and how long they took, and the review queue
 * of refused alerts, where an operator may accept one the rules refused
 * wrongly (it goes through the ingest path once, as if it had passed) or
 * dismiss it.
 *
 *	GET  /admin/signals?strategy=&before=	GET /admin/signals/N
 *	GET  /admin/review?show=&strategy=
 *	POST /admin/review/N/accept		POST /admin/review/N/dismiss
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/ingest.h"
#include "base/arena.h"
#include "base/log.h"
#include "cgi/admin.h"

#define SIGNALS_PAGE	50
#define REJECTS_PAGE	100
#define TEXT_(x)	#x
#define TEXT(x)		TEXT_(x)	/* a number for a statement's text */

static void	signals_page(struct ac_call *);
static void	signal_page(struct ac_call *);
static void	review_page(struct ac_call *);
static void	accept_post(struct ac_call *);
static void	dismiss_post(struct ac_call *);

enum { SIG_STRATEGY, SIG_BEFORE };
static const struct ac_field_decl signals_fields[] = {
	[SIG_STRATEGY] = { "strategy", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	[SIG_BEFORE] = { "before", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

static const char *const shows[] = { "unreviewed", "all", NULL };

enum { REV_SHOW, REV_STRATEGY };
static const struct ac_field_decl review_fields[] = {
	[REV_SHOW] = { "show", AC_F_ENUM, AC_FROM_QUERY, AC_F_LENIENT, .values = shows },
	[REV_STRATEGY] = { "strategy", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/signals", signals_page, AC_P_ALERTS_VIEW), .fields = signals_fields },
	{ ADMIN_GET("/admin/signals/{id}", signal_page, AC_P_ALERTS_VIEW) },
	{ ADMIN_GET("/admin/review", review_page, AC_P_ALERTS_VIEW), .fields = review_fields },
	{ ADMIN_POST("/admin/review/{id}/accept", accept_post, AC_P_ALERTS_CONFIGURE) },
	{ ADMIN_POST("/admin/review/{id}/dismiss", dismiss_post, AC_P_ALERTS_CONFIGURE) },
};

static const struct admin_flash flashes[] = {
	{ "review_accepted", "Alert accepted: it is stored as a signal and goes out to the"
	    " subscribers like any other." },
	{ "review_dismissed", "Refused alert dismissed." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_signals_area, routes, flashes);

/* ---- signals ---------------------------------------------------------------------- */

#define UTC(col)	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
/* A latency's text ("12 ms"), null when either time is. */
#define MS(later, earlier) \
	"(round(extract(epoch FROM " later " - " earlier ") * 1000)::bigint || ' ms')"

/* The strategies for a filter select, selected ($1) marked. */
static const struct ac_stmt st_strategies = { "admin_strategy_choices",
	"SELECT coalesce(json_agg(json_build_object('id', id, 'name', name || ' ' || symbol"
	"  || ' ' || timeframe, 'selected', id = $1::bigint) ORDER BY name, id), '[]')"
	" FROM strategies", 1 };

static const struct ac_stmt st_signals = { "admin_signals",
	"SELECT coalesce(json_agg(json_build_object('id', s.id, 'received', " UTC("s.received_at") ","
	"  'strategy_name', st.name, 'symbol', s.symbol, 'timeframe', s.timeframe, 'action', s.action,"
	"  'price', s.price::text, 'status', s.status,"
	"  'processing', " MS("s.processed_at", "s.received_at") ","
	"  'delivery', round(lat.median)::bigint || ' ms / ' || round(lat.max)::bigint || ' ms',"
	"  'deliveries', dc.counts) ORDER BY s.id DESC), '[]')"
	" FROM (SELECT * FROM signals WHERE ($1::bigint IS NULL OR strategy_id = $1)"
	"  AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT " TEXT(SIGNALS_PAGE) ") s"
	" JOIN strategies st ON st.id = s.strategy_id"
	" LEFT JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) AS median,"
	"  max(l) AS max FROM (SELECT extract(epoch FROM d.sent_at - s.received_at) * 1000 AS l"
	"  FROM deliveries d WHERE d.signal_id = s.id AND d.sent_at IS NOT NULL) q) lat ON true"
	" LEFT JOIN LATERAL (SELECT string_agg(channel || ' ' || n || ' ' || status, ' · '"
	"  ORDER BY channel, status) AS counts FROM (SELECT channel, status, count(*) AS n"
	"  FROM deliveries WHERE signal_id = s.id GROUP BY channel, status) g) dc ON true", 2 };

static const struct ac_stmt st_signal = { "admin_signal",
	"SELECT json_build_object('id', s.id, 'received', " UTC("s.received_at") ","
	" 'stored', " UTC("s.stored_at") ", 'processed', " UTC("s.processed_at") ","
	" 'strategy', st.name, 'strategy_id', s.strategy_id, 'symbol', s.symbol,"
	" 'timeframe', s.timeframe, 'action', s.action, 'price', s.price::text,"
	" 'take_profit', s.take_profit::text, 'stop_loss', s.stop_loss::text,"
	" 'alert_time', " UTC("s.alert_time") ", 'status', s.status, 'spooled', s.spooled,"
	" 'matched_users', s.matched_users, 'remote_addr', s.remote_addr,"
	" 'request_id', s.request_id, 'content_type', s.content_type, 'raw_body', s.raw_body,"
	" 'processing', " MS("s.processed_at", "s.received_at") ","
	" 'deliveries', (SELECT json_agg(json_build_object('id', d.id, 'user_id', d.user_id,"
	"  'email', u.email, 'channel', d.channel, 'kind', d.kind, 'provider', d.provider,"
	"  'status', d.status, 'skip_reason', d.skip_reason, 'error', d.error,"
	"  'attempts', d.attempts, 'sent', " UTC("d.sent_at") ","
	"  'latency', " MS("d.sent_at", "s.received_at") ") ORDER BY d.id)"
	"  FROM deliveries d JOIN users u ON u.id = d.user_id WHERE d.signal_id = s.id))"
	" FROM signals s JOIN strategies st ON st.id = s.strategy_id WHERE s.id = $1", 1 };

/* The value of an optional id field as a parameter, NULL when absent. */
static const char *
opt_id(struct actx *c, const struct ac_val *v)
{
	return v->set ? ac_arena_printf(c->r->arena, "%lld", v->i) : NULL;
}

/* The rows of list statement st (vals) into *rows, and the page's data:
 * the strategies of the filter select, strategy (an id's text, or NULL)
 * selected. NULL after a database error (answered). */
static json_t *
listing(struct actx *c, const struct ac_stmt *st, const char *const *vals, const char *strategy,
    json_t **rows)
{
	const char *sv[1] = { strategy };
	json_t *choices;
	int found;

	if ((*rows = ac_db_json(site.db, st, vals, &found)) == NULL ||
	    (choices = ac_db_json(site.db, &st_strategies, sv, &found)) == NULL) {
		json_decref(*rows);
		admin_db_failed(c);
		return NULL;
	}
	return json_pack("{s:o, s:s?}", "strategies", choices, "strategy", strategy);
}

/* GET /admin/signals: the newest SIGNALS_PAGE, before the id ?before=. */
static void
signals_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[2] = { opt_id(c, &k->v[SIG_STRATEGY]), opt_id(c, &k->v[SIG_BEFORE]) };
	json_t *rows, *data;
	size_t n;

	if ((data = listing(c, &st_signals, vals, vals[0], &rows)) == NULL)
		return;
	n = json_array_size(rows);
	if (n == SIGNALS_PAGE)
		json_object_set(data, "next_before", json_object_get(json_array_get(rows, n - 1),
		    "id"));
	json_object_set_new(data, "signals", admin_rows(rows));
	admin_page(c, 200, "signals", "Signals", data, NULL);
}

/* GET /admin/signals/N */
static void
signal_page(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[1] = { admin_id(c) };
	json_t *s;
	int found;

	if ((s = ac_db_json(site.db, &st_signal, vals, &found)) == NULL) {
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	json_object_set_new(s, "deliveries", admin_rows(json_incref(json_object_get(s,
	    "deliveries"))));
	admin_page(c, 200, "signal", ac_arena_printf(c->r->arena, "Signal %lld", k->id),
	    json_pack("{s:o}", "s", s), NULL);
}

/* ---- the review queue ------------------------------------------------------------- */

/* Not decided: never reviewed, or an accept's claim left behind (ac-admin
 * stopped between the claim and the signal's id) long enough ago that no
 * accept still runs: claimed again, ingest finds the signal if it was
 * stored. */
#define OPEN(w) \
	" (" w "reviewed_at IS NULL OR " w "review = 'accepted' AND " w "signal_id IS NULL" \
	" AND " w "reviewed_at < now() - interval '5 minutes')"

/* A refusal an operator may overrule: the rules refused it (400, 422) for
 * a strategy its token named, and the whole body is kept. */
#define ACCEPTABLE \
	" w.http_status IN (400, 422) AND w.strategy_id IS NOT NULL" \
	" AND octet_length(w.body_excerpt) = w.body_bytes"

static const struct ac_stmt st_rejects = { "admin_rejects",
	"SELECT coalesce(json_agg(json_build_object('id', w.id, 'received', " UTC("w.received_at") ","
	"  'http_status', w.http_status, 'code', w.code, 'field', w.field, 'message', w.message,"
	"  'strategy_name', st.name, 'strategy_id', w.strategy_id, 'remote_addr', w.remote_addr,"
	"  'security_event', w.security_event, 'body', w.body_excerpt,"
	"  'truncated', octet_length(w.body_excerpt) <> w.body_bytes, 'review', w.review,"
	"  'reviewed_by', w.reviewed_by, 'reviewed_at', " UTC("w.reviewed_at") ","
	"  'signal_id', w.signal_id, 'open'," OPEN("w.") ","
	"  'acceptable'," OPEN("w.") " AND" ACCEPTABLE ") ORDER BY w.id DESC), '[]')"
	" FROM (SELECT * FROM webhook_rejects WHERE ($1::boolean OR" OPEN("") ")"
	"  AND ($2::bigint IS NULL OR strategy_id = $2)"
	"  ORDER BY id DESC LIMIT " TEXT(REJECTS_PAGE) ") w"
	" LEFT JOIN strategies st ON st.id = w.strategy_id", 2 };

/* Takes the refusal for review (the claim that makes an accept happen
 * once), with what ingest needs to run it again. */
static const struct ac_stmt st_claim = { "admin_reject_claim",
	"UPDATE webhook_rejects w SET review = 'accepted', reviewed_by = $2, reviewed_at = now()"
	" FROM strategies st WHERE w.id = $1 AND" OPEN("w.") " AND" ACCEPTABLE
	" AND st.id = w.strategy_id"
	" RETURNING w.body_excerpt, w.content_type, w.remote_addr, w.request_id,"
	"  (extract(epoch FROM w.received_at) * 1000)::bigint, encode(st.webhook_token_hash, 'hex')",
	2 };

static const struct ac_stmt st_accepted = { "admin_reject_accepted",
	"UPDATE webhook_rejects SET signal_id = $2 WHERE id = $1 AND review = 'accepted'"
	" AND signal_id IS NULL", 2 };

static const struct ac_stmt st_dismiss = { "admin_reject_dismiss",
	"UPDATE webhook_rejects SET review = 'dismissed', reviewed_by = $2, reviewed_at = now()"
	" WHERE id = $1 AND" OPEN("") "", 2 };

static const struct ac_stmt st_reject_state = { "admin_reject_state",
	"SELECT json_build_object('review', w.review, 'reviewed_by', w.reviewed_by,"
	" 'acceptable'," ACCEPTABLE ") FROM webhook_rejects w WHERE w.id = $1", 1 };

/* The queue with error (status >= 400) above it: what is still open, or
 * everything (show=all), of one strategy or all. */
static void
review_show(struct actx *c, int status, int all, const char *strategy, const char *error)
{
	const char *vals[2] = { all ? "true" : "false", strategy };
	json_t *rows, *data;

	if ((data = listing(c, &st_rejects, vals, strategy, &rows)) == NULL)
		return;
	json_object_set_new(data, "rejects", admin_rows(rows));
	json_object_set_new(data, "show_all", json_boolean(all));
	admin_page(c, status, "review", "Review queue", data, error);
}

/* GET /admin/review */
static void
review_page(struct ac_call *k)
{
	struct actx *c = k->ctx;

	review_show(c, 200, k->v[REV_SHOW].set && strcmp(k->v[REV_SHOW].s, "all") == 0,
	    opt_id(c, &k->v[REV_STRATEGY]), NULL);
}

/* Why refusal k->id could not be claimed: not there (404), decided
 * already, or not one an operator may accept (409 with the queue). */
static void
unclaimable(struct actx *c)
{
	const char *vals[1] = { admin_id(c) };
	json_t *st;
	const char *review, *by;
	int found;

	if ((st = ac_db_json(site.db, &st_reject_state, vals, &found)) == NULL) {
		if (found)
			admin_db_failed(c);
		else
			admin_not_found(c);
		return;
	}
	review = json_string_value(json_object_get(st, "review"));
	by = json_string_value(json_object_get(st, "reviewed_by"));
	review_show(c, 409, 1, NULL, review != NULL ? ac_arena_printf(c->r->arena, "Already"
	    " reviewed: refused alert %lld was %s by %s. Nothing was changed.", c->k->id, review,
	    by != NULL ? by : "?") :
	    ac_arena_printf(c->r->arena, "Refused alert %lld cannot be accepted: only a refusal"
	    " by the rules (400 or 422) of a known strategy, with its whole body kept, can be."
	    " Nothing was changed.", c->k->id));
	json_decref(st);
}

/* Records decision st (an accepted refusal's signal, or a dismissal) on
 * refusal k->id and its audit row (details stolen) in one transaction:
 * 1, 0 when st changed nothing (decided already), or -1. */
static int
decided(struct actx *c, const struct ac_stmt *st, const char *const *vals, const char *action,
    json_t *details)
{
	long long n = -1;

	if (ac_db_begin(site.db) == 0) {
		if ((n = ac_db_command(site.db, st, vals)) == 1 && (admin_audit(c, action,
		    ac_arena_printf(c->r->arena, "reject:%lld", c->k->id), details) == -1 ||
		    ac_db_commit(site.db) == -1))
			n = -1;
		if (n != 1)
			ac_db_rollback(site.db);
	}
	json_decref(details);
	return (int)n;
}

/* POST /admin/review/N/accept: the stored body through ac_ingest() once,
 * with the strategy's token and its first arrival time, the operator's
 * overrule relaxing only what an operator may judge (ingest.h: review).
 * The claim, the signal, its fan-out job and the audit row are one
 * transaction: a double click or two operators at once wait on the
 * claimed row and find it decided; a refusal again, or a failure, leaves
 * nothing behind. */
static void
accept_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[2] = { admin_id(c), c->a.username };
	struct ac_ingest_in in = { 0 };
	struct ac_ingest_out out;
	char sid[24];
	const char *av[2] = { vals[0], sid };
	PGresult *res;
	json_t *d;
	int ok;

	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	res = ac_db_exec(site.db, &st_claim, vals, NULL, NULL);
	if (!ac_db_ok(site.db, res, PGRES_TUPLES_OK)) {
		ac_db_rollback(site.db);
		admin_db_failed(c);
		return;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_db_rollback(site.db);
		unclaimable(c);
		return;
	}
	in.body = PQgetvalue(res, 0, 0);
	in.len = (size_t)PQgetlength(res, 0, 0);
	in.content_type = PQgetvalue(res, 0, 1);
	in.remote_addr = PQgetvalue(res, 0, 2);
	in.request_id = PQgetvalue(res, 0, 3);
	in.received_ms = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	in.token_sha256 = PQgetvalue(res, 0, 5);
	in.review = 1;
	ac_ingest(site.db, &in, &out);
	PQclear(res);
	if (out.result != AC_INGEST_QUEUED && out.result != AC_INGEST_DUPLICATE) {
		ac_db_rollback(site.db);
		if (out.result == AC_INGEST_REJECTED)
			review_show(c, 422, 0, NULL, ac_arena_printf(c->r->arena, "Refused alert %lld"
			    " was refused again (%d %s): %s. Nothing was stored.", k->id,
			    out.err.status, out.err.code ? out.err.code : "", out.err.message));
		else
			admin_db_failed(c);
		return;
	}
	snprintf(sid, sizeof(sid), "%lld", out.signal_id);
	d = json_pack("{s:I, s:b}", "signal_id", (json_int_t)out.signal_id, "duplicate",
	    out.result == AC_INGEST_DUPLICATE);
	ok = ac_db_command(site.db, &st_accepted, av) == 1 && admin_audit(c, "review.accept",
	    ac_arena_printf(c->r->arena, "reject:%lld", k->id), d) == 0 &&
	    ac_db_commit(site.db) == 0;
	json_decref(d);
	if (!ok) {
		ac_db_rollback(site.db);
		admin_db_failed(c);
		return;
	}
	ac_info("refused alert %s accepted by %s: signal %s%s", vals[0], c->a.username, sid,
	    out.result == AC_INGEST_DUPLICATE ? " (stored before)" : "");
	admin_redirect(c, "/admin/review?done=review_accepted");
}

/* POST /admin/review/N/dismiss */
static void
dismiss_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const char *vals[2] = { admin_id(c), c->a.username };

	switch (decided(c, &st_dismiss, vals, "review.dismiss", NULL)) {
	case 1:
		admin_redirect(c, "/admin/review?done=review_dismissed");
		break;
	case 0:
		unclaimable(c);
		break;
	default:
		admin_db_failed(c);
	}
}
