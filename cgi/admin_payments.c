/*
 * admin_payments.c — manual payments (UPI, bank transfer) waiting for an
 * operator: the proof shown beside what the subscriber says was paid, and
 * the decision, which billing/payments.h carries out (approval activates
 * the subscription and grants its credits once; rejection tells the
 * subscriber why) in one transaction with its audit_log row.
 *
 *	GET  /admin/payments?status=	pending first, then the history
 *	GET  /admin/payments/N/proof	the proof file, inline
 *	POST /admin/payments/N/approve	POST /admin/payments/N/reject (reason)
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "billing/payments.h"
#include "cgi/proof_reply.h"
#include "cgi/admin.h"

#define HISTORY_MAX	100

static void	payments_page(struct ac_call *);
static void	proof_get(struct ac_call *);
static void	approve_post(struct ac_call *);
static void	reject_post(struct ac_call *);

static const char *const statuses[] = { "pending", "approved", "rejected", "all", NULL };

enum { LIST_STATUS };
static const struct ac_field_decl list_fields[] = {
	[LIST_STATUS] = { "status", AC_F_ENUM, AC_FROM_QUERY, AC_F_LENIENT, .values = statuses },
	{ .name = NULL }
};

static const struct ac_route routes[] = {
	{ ADMIN_GET("/admin/payments", payments_page, AC_P_SUBS_VIEW), .fields = list_fields },
	{ ADMIN_GET("/admin/payments/{id}/proof", proof_get, AC_P_SUBS_VIEW) },
	{ ADMIN_POST("/admin/payments/{id}/approve", approve_post, AC_P_SUBS_APPROVE) },
	{ ADMIN_POST("/admin/payments/{id}/reject", reject_post, AC_P_SUBS_APPROVE) },
};

static const struct admin_flash flashes[] = {
	{ "payment_approved", "Payment approved: the subscription is active and its credits"
	    " granted. The subscriber has been told." },
	{ "payment_rejected", "Payment rejected. The subscriber has been told why." },
	{ NULL, NULL }
};

ADMIN_AREA(admin_payments_area, routes, flashes);

/* 1 if payment p (JSON) has status. */
static int
status_is(const json_t *p, const char *status)
{
	const char *s = json_string_value(json_object_get(p, "status"));

	return s != NULL && strcmp(s, status) == 0;
}

/* What the template needs beside a payment's fields: how to show its
 * proof (an image inline, a PDF in an <object>) and its method's name. */
static void
payment_dress(json_t *p)
{
	const char *f = json_string_value(json_object_get(p, "proof_file"));
	const char *m = json_string_value(json_object_get(p, "method"));
	size_t n = f ? strlen(f) : 0;

	json_object_set_new(p, "proof_pdf", json_boolean(n > 4 && strcmp(f + n - 4, ".pdf") == 0));
	json_object_set_new(p, "proof_image", json_boolean(n > 4 && strcmp(f + n - 4, ".pdf") != 0));
	json_object_set_new(p, "method_name", json_string(m && strcmp(m, "upi") == 0 ? "UPI" :
	    m && strcmp(m, "bank_transfer") == 0 ? "Bank transfer" : "Other"));
	json_object_set_new(p, "approved", json_boolean(status_is(p, "approved")));
	json_object_del(p, "proof_file");
}

/* The list for status ("pending", "approved", "rejected" or "all"): the
 * pending payments (unless only reviewed ones are asked for), then the
 * reviewed ones; with error (status >= 400) above them. */
static void
payments_show(struct actx *c, int status, const char *which, const char *error)
{
	int pending = strcmp(which, "pending") == 0 || strcmp(which, "all") == 0;
	struct ac_err e = { 0 };
	json_t *waiting = NULL, *all, *history = json_array(), *p, *data;
	size_t i;

	if (pending && (waiting = ac_payments_list(site.db, 0, "pending", HISTORY_MAX, &e)) == NULL)
		goto fail;
	if ((all = ac_payments_list(site.db, 0, pending ? NULL : which, HISTORY_MAX, &e)) == NULL)
		goto fail;
	json_array_foreach(all, i, p)
		if (!status_is(p, "pending"))
			json_array_append(history, p);
	json_decref(all);
	json_array_foreach(waiting, i, p)
		payment_dress(p);
	json_array_foreach(history, i, p)
		payment_dress(p);
	data = json_pack("{s:o, s:o, s:b}", "pending", admin_rows(waiting ? waiting : json_array()),
	    "history", admin_rows(history), "show_pending", pending);
	json_object_set_new(data, ac_arena_printf(c->r->arena, "status_%s", which), json_true());
	admin_page(c, status, "payments", "Payments", data, error);
	return;
fail:
	json_decref(waiting);
	json_decref(history);
	admin_db_failed(c);
}

/* GET /admin/payments */
static void
payments_page(struct ac_call *k)
{
	payments_show(k->ctx, 200, k->v[LIST_STATUS].set ? k->v[LIST_STATUS].s : "pending", NULL);
}

/* GET /admin/payments/N/proof: as stored, shown in the page (a PDF too:
 * ac_proof_check() refused any with script or actions at upload). */
static void
proof_get(struct ac_call *k)
{
	struct actx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *p = ac_payment_get(site.db, k->id, 0, &e);

	if (p == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			admin_not_found(c);
		else
			admin_db_failed(c);
		return;
	}
	if (proof_reply(c->r, site.proof_dir, json_string_value(json_object_get(p,
	    "proof_file")), k->id, 1) == -1)
		admin_not_found(c);
	json_decref(p);
}

/* The decision on payment k->id and its audit row in one transaction;
 * a payment decided already (a second click, another operator) changes
 * nothing and says so. */
static void
review(struct ac_call *k, int approve)
{
	struct actx *c = k->ctx;
	const char *reason = approve ? NULL : ac_call_form(k, "reason");
	struct ac_err e = { 0 };
	json_t *d;
	int rc;

	if (ac_db_begin(site.db) == -1) {
		admin_db_failed(c);
		return;
	}
	if (ac_payment_decide(site.db, k->id, approve, c->a.username, reason, &e) == -1) {
		ac_db_rollback(site.db);
		switch (e.code) {
		case AC_E_NOT_FOUND:
			admin_not_found(c);
			break;
		case AC_E_CONFLICT:
			payments_show(c, 409, "all", ac_arena_printf(c->r->arena, "Already reviewed:"
			    " %s. Nothing was changed.", e.message));
			break;
		case AC_E_INVALID:
		case AC_E_UNPROCESSABLE:
			payments_show(c, 422, "pending", ac_arena_printf(c->r->arena, "Payment %lld"
			    " was not changed: %s.", k->id, e.message));
			break;
		default:
			admin_db_failed(c);
		}
		return;
	}
	d = approve ? NULL : json_pack("{s:s}", "reason", reason);
	rc = admin_audit(c, approve ? "payment.approve" : "payment.reject",
	    ac_arena_printf(c->r->arena, "payment:%lld", k->id), d);
	json_decref(d);
	if (rc == -1 || ac_db_commit(site.db) == -1) {
		ac_db_rollback(site.db);
		admin_db_failed(c);
		return;
	}
	admin_redirect(c, approve ? "/admin/payments?done=payment_approved" :
	    "/admin/payments?done=payment_rejected");
}

/* POST /admin/payments/N/approve */
static void
approve_post(struct ac_call *k)
{
	review(k, 1);
}

/* POST /admin/payments/N/reject: reason */
static void
reject_post(struct ac_call *k)
{
	review(k, 0);
}
