/*
 * admin_record.c — a strategy's track record and its verification, on
 * its admin page (/admin/strategies/N):
 *
 *	POST /admin/strategies/N/record	public or not: the portal's
 *					/strategies/N/record and the API's
 *					(alerts: configure; audited)
 *	POST /admin/strategies/N/verify	a TradingView CSV export (multipart,
 *					at most VERIFY_MAX bytes) against the
 *					stored signals: the acctl verify report
 *					(alerts: view; nothing changes)
 */
#include <stdint.h>

#include "alert/record.h"
#include "base/arena.h"
#include "base/log.h"
#include "cgi/admin.h"
#include "web/multipart.h"

#define VERIFY_MAX	(1024 * 1024)	/* ~20,000 bars of a CSV export */

static void	record_post(struct ac_call *);
static void	verify_post(struct ac_call *);

enum { R_PUBLIC };
static const struct ac_field_decl record_fields[] = {
	[R_PUBLIC] = { "public_record", AC_F_BOOL, AC_FROM_FORM },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_POST("/admin/strategies/{id}/record", record_post, AC_P_ALERTS_CONFIGURE),
	    .fields = record_fields },
	{ .method = AC_M_POST, .path = "/admin/strategies/{id}/verify", .fn = verify_post,
	    .access = AC_SESSION, .perms = AC_P_ALERTS_VIEW, .csrf = 1,
	    .body = AC_BODY_MULTIPART },
};

static const struct admin_flash flashes[] = {
	{ "record_public", "The track record is public: its page is linked from the front page." },
	{ "record_private", "The track record is private again: its page and API answer 404." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_record_area, routes, flashes);

/* The old value of the row it changed. */
static const struct ac_stmt st_record_set = { "admin_record_set",
	"UPDATE strategies s SET public_record = $2, updated_at = now()"
	" FROM (SELECT id, public_record FROM strategies WHERE id = $1 FOR UPDATE) o"
	" WHERE s.id = o.id RETURNING o.public_record::text", 2 };

/* POST /admin/strategies/{id}/record: public_record ticked or not. */
static void
record_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	int on = k->v[R_PUBLIC].i != 0;
	const char *vals[2] = { admin_id(c), on ? "true" : "false" };
	json_t *details;
	PGresult *res;
	int rc;

	if ((rc = admin_change(c, &st_record_set, vals, &res)) == -1)
		return;
	if (rc == 0) {
		admin_not_found(c);
		return;
	}
	details = json_pack("{s:{s:b, s:b}}", "public_record", "from",
	    *PQgetvalue(res, 0, 0) == 't', "to", on);
	PQclear(res);
	rc = admin_commit(c, "strategy.record", ac_arena_printf(c->r->arena, "strategy:%lld",
	    k->id), details);
	json_decref(details);
	if (rc == 0)
		admin_redirect(c, ac_arena_printf(c->r->arena, "/admin/strategies/%lld?done=%s",
		    k->id, on ? "record_public" : "record_private"));
}

/* The verify page: the report (stolen, may be NULL) or error, with status. */
static void
verify_show(struct actx *c, int status, json_t *rep, const char *error)
{
	json_t *d = json_pack("{s:I, s:i}", "id", (json_int_t)c->k->id, "max_kib",
	    VERIFY_MAX / 1024);

	if (rep != NULL) {
		json_object_set_new(rep, "differ", json_boolean(json_array_size(json_object_get(rep,
		    "differences")) > 0));
		json_object_set_new(d, "rep", rep);
	}
	admin_page(c, status, "verify", "Verify signals", d, error);
}

/* POST /admin/strategies/{id}/verify: the "bars" file against the stored signals. */
static void
verify_post(struct ac_call *k)
{
	struct actx *c = k->ctx;
	const struct ac_part *f = ac_multipart_get(k->parts, k->nparts, "bars");
	struct ac_err e = { 0 };
	json_t *rep;

	if (f == NULL || f->len == 0) {
		verify_show(c, 422, NULL, "Choose the CSV file of the chart's bars (TradingView:"
		    " Export chart data).");
		return;
	}
	if (f->len > VERIFY_MAX) {
		verify_show(c, 413, NULL, ac_arena_printf(c->r->arena, "The file is %zu KiB: at"
		    " most %d KiB are read. Export a shorter period.", f->len / 1024,
		    VERIFY_MAX / 1024));
		return;
	}
	if ((rep = ac_verify_report(site.db, k->id, (const char *)f->data, f->len, &e)) == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			admin_not_found(c);
		else if (e.code == AC_E_INVALID || e.code == AC_E_UNPROCESSABLE)
			verify_show(c, 422, NULL, ac_arena_printf(c->r->arena, "The file was not"
			    " read: %s", e.message));
		else
			admin_db_failed(c);
		return;
	}
	ac_info("strategy %lld verified over %lld bars by admin %lld: %zu differences", k->id,
	    (long long)json_integer_value(json_object_get(rep, "bars")), c->a.id,
	    json_array_size(json_object_get(rep, "differences")));
	verify_show(c, 200, rep, NULL);
}
