/*
 * portal_billing.c — buying a plan from the portal:
 *
 *	POST /plans/N/checkout	to Stripe Checkout (the one outside call a
 *				page makes while a person waits: a clear page
 *				when Stripe is slow or down)
 *	GET  /billing/done	back from Stripe: the plan and its credits as
 *				they arrive (the page reloads itself until then)
 *	POST /billing/manage	to Stripe's billing portal (card, cancel)
 *	GET  /plans/N/pay	paying by UPI or bank transfer: the upi:// link,
 *				its QR code, the bank details and the proof form
 *	GET  /plans/N/upi.svg	the QR code
 *	POST /plans/N/pay	the payment, with its proof (multipart)
 *	GET  /payments		the user's manual payments and their review
 *	GET  /payments/N/proof	a proof, to its owner only
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/plans.h"
#include "base/arena.h"
#include "base/log.h"
#include "billing/payments.h"
#include "billing/proof.h"
#include "cgi/proof_reply.h"
#include "billing/stripe.h"
#include "billing/upi.h"
#include "web/multipart.h"
#include "web/response.h"
#include "cgi/portal.h"

#define QR_PX	6	/* pixels a QR module */

enum { PAY_TRANSACTION, PAY_AMOUNT, PAY_METHOD };
const struct ac_field_decl pay_fields[] = {
	[PAY_TRANSACTION] = { "transaction_id", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED,
	    .min = 1, .max = 64, .why = "enter the transaction id (UTR) your bank or UPI app shows" },
	[PAY_AMOUNT] = { "amount", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED, .min = 1, .max = 20,
	    .why = "enter the amount you paid, like 499.00" },
	[PAY_METHOD] = { "method", AC_F_ENUM, AC_FROM_FORM, AC_F_REQUIRED,
	    .values = ac_payment_methods, .why = "choose how you paid" },
	{ .name = NULL }
};

void
billing_setup(void)
{
	const struct ac_config *cfg = &portal.cfg;

	portal.stripe = (struct ac_stripe_api){ .base = ac_setting_str(cfg, AC_S_STRIPE_API_BASE),
	    .secret_key = ac_setting_str(cfg, AC_S_STRIPE_SECRET_KEY), .site = cfg->base_url,
	    .timeout_ms = ac_setting_int(cfg, AC_S_STRIPE_TIMEOUT_MS) };
	portal.upi_vpa = ac_setting_str(cfg, AC_S_UPI_VPA);
	portal.upi_payee = ac_setting_str(cfg, AC_S_UPI_PAYEE_NAME);
	portal.bank = ac_setting_str(cfg, AC_S_BANK_DETAILS);
	portal.proof_max = (size_t)ac_setting_int(cfg, AC_S_PROOF_MAX_BYTES);
	snprintf(portal.proof_dir, sizeof(portal.proof_dir), "%s/proofs", cfg->state_dir);
}

/* 1 if card payments are set up. */
static int
card_ok(void)
{
	return portal.stripe.secret_key != NULL && *portal.stripe.secret_key != '\0';
}

/* 1 if manual payments are set up. */
static int
manual_ok(void)
{
	return (portal.upi_vpa != NULL && *portal.upi_vpa) || (portal.bank != NULL && *portal.bank);
}

void
billing_plan_extras(struct pctx *c, json_t *p)
{
	int priced = json_integer_value(json_object_get(p, "price_minor")) > 0;

	json_object_set_new(p, "card", json_boolean(priced && card_ok() &&
	    json_is_true(json_object_get(p, "card"))));
	json_object_set_new(p, "manual", json_boolean(priced && manual_ok()));
	json_object_set_new(p, "guest", json_boolean(!c->user));
}

/* Active plan id as the plans read model has it (the caller decrefs), or
 * NULL once the 404 or 500 page is answered. */
static json_t *
plan_or_answer(struct pctx *c, long long id)
{
	struct ac_err e = { 0 };
	json_t *all = ac_plans(portal.db, 0, 1, &e), *p, *found = NULL;
	size_t i;

	if (all == NULL) {
		db_failed(c);
		return NULL;
	}
	json_array_foreach(all, i, p)
		if (json_integer_value(json_object_get(p, "id")) == id)
			found = json_incref(p);
	json_decref(all);
	if (found == NULL)
		not_found(c);
	return found;
}

/* "499.00" from minor units, in the arena. */
static const char *
money(struct pctx *c, json_int_t minor)
{
	return ac_arena_printf(c->r->arena, "%lld.%02lld", (long long)minor / 100,
	    (long long)minor % 100);
}

/* ---- by card (Stripe) ------------------------------------------------------- */

void
plan_checkout(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	char *url = ac_stripe_checkout(portal.db, &portal.stripe, c->s.user_id, k->id, &e);

	if (url != NULL) {
		redirect(c, url);
		free(url);
		return;
	}
	switch (e.code) {
	case AC_E_NOT_FOUND:
		not_found(c);
		break;
	case AC_E_UNPROCESSABLE:
		error_page(c, 422, "Card payment not possible", e.message);
		break;
	case AC_E_UNAVAILABLE:
		error_page(c, 503, "Card payments are not answering",
		    "Stripe, who takes our card payments, did not answer in time. Nothing was"
		    " charged. Try again in a minute, or pay by UPI or bank transfer from the"
		    " Plans page.");
		break;
	default:
		db_failed(c);
	}
}

void
billing_done(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	const char *session = ac_req_arg(c->r, "session");
	json_t *d;

	if (session == NULL || (d = ac_stripe_checkout_status(portal.db, c->s.user_id, session,
	    &e)) == NULL) {
		if (e.code == AC_E_NOT_FOUND || session == NULL)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	/* until Stripe's word is in, the page looks again by itself */
	if (!json_is_true(json_object_get(d, "granted")))
		json_object_set_new(d, "waiting", json_true());
	page(c, 200, "billing_done", "Payment", json_pack("{s:o, s:o?}", "d", d, "refresh",
	    json_is_true(json_object_get(d, "granted")) ? NULL : json_integer(3)), NULL);
}

void
billing_manage(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	char *url = ac_stripe_portal(portal.db, &portal.stripe, c->s.user_id, "/account", &e);

	if (url != NULL) {
		redirect(c, url);
		free(url);
		return;
	}
	if (e.code == AC_E_NOT_FOUND || e.code == AC_E_UNPROCESSABLE)
		error_page(c, 404, "No card subscription", "You have no subscription paid by card"
		    " to manage. Manual payments are listed on the Payments page.");
	else if (e.code == AC_E_UNAVAILABLE)
		error_page(c, 503, "Billing is not answering", "Stripe did not answer in time."
		    " Try again in a minute.");
	else
		db_failed(c);
}

/* ---- by UPI or bank transfer -------------------------------------------------- */

/* The UPI link of plan p (malloc'd), or NULL (no UPI set up). */
static char *
plan_upi(struct pctx *c, json_t *p)
{
	char note[96];
	struct ac_err e = { 0 };
	char *link;

	if (portal.upi_vpa == NULL || *portal.upi_vpa == '\0')
		return NULL;
	snprintf(note, sizeof(note), "alertcast %s %lld",
	    json_string_value(json_object_get(p, "name")), c->s.user_id);
	if ((link = ac_upi_link(portal.upi_vpa, portal.upi_payee,
	    json_integer_value(json_object_get(p, "price_minor")),
	    json_string_value(json_object_get(p, "currency")), note, &e)) == NULL)
		ac_warn("AC_UPI_VPA: %s", e.message);
	return link;
}

/* The payment form for plan id, with status and error after a refused
 * form; what was typed is shown again. */
static void
pay_show(struct pctx *c, long long id, int status, const char *error)
{
	json_t *p = plan_or_answer(c, id), *d;
	const char *method = ac_call_form(c->k, "method");
	char *link;

	if (p == NULL)
		return;
	if (!manual_ok() || json_integer_value(json_object_get(p, "price_minor")) <= 0) {
		json_decref(p);
		error_page(c, 404, "Not available", "Payments by UPI or bank transfer are not set up"
		    " here. Pay by card from the Plans page.");
		return;
	}
	link = plan_upi(c, p);
	d = json_pack("{s:o, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:I}",
	    "plan", p, "price", money(c, json_integer_value(json_object_get(p, "price_minor"))),
	    "upi", link, "vpa", link ? portal.upi_vpa : NULL, "bank", portal.bank,
	    "transaction_id", ac_call_form(c->k, "transaction_id"),
	    "amount", ac_call_form(c->k, "amount"),
	    "m_upi", method == NULL || strcmp(method, "upi") == 0,
	    "m_bank", method != NULL && strcmp(method, "bank_transfer") == 0,
	    "m_other", method != NULL && strcmp(method, "other") == 0,
	    "max_mb", (json_int_t)(portal.proof_max / (1024 * 1024)));
	free(link);
	page(c, status, "pay", "Pay by UPI or bank transfer", d, error);
}

void
pay_form(struct ac_call *k)
{
	pay_show(k->ctx, k->id, 200, NULL);
}

/* A refused field: the form again, with the message. */
void
pay_invalid(struct ac_call *k, const struct ac_err *e)
{
	pay_show(k->ctx, k->id, 422, e->message);
}

void
pay_qr(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *p = plan_or_answer(c, k->id);
	char *link, *svg;

	if (p == NULL)
		return;
	link = plan_upi(c, p);
	json_decref(p);
	if (link == NULL || (svg = ac_qr_svg(link, QR_PX, &e)) == NULL) {
		free(link);
		not_found(c);
		return;
	}
	free(link);
	ac_reply(c->r, 200, "image/svg+xml", "Cache-Control: private, max-age=300\r\n", svg,
	    strlen(svg));
	free(svg);
}

void
pay_post(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	const struct ac_part *proof = ac_multipart_get(k->parts, k->nparts, "proof");
	struct ac_payment_in in = { .user_id = c->s.user_id, .plan_id = k->id,
	    .transaction_id = k->v[PAY_TRANSACTION].s, .amount = k->v[PAY_AMOUNT].s,
	    .method = k->v[PAY_METHOD].s };
	struct ac_err e = { 0 };
	char name[AC_PROOF_NAME_SIZE];
	json_t *pay;
	int type;

	if (!manual_ok()) {
		not_found(c);
		return;
	}
	if (proof == NULL || (proof->len == 0 && (proof->filename == NULL ||
	    *proof->filename == '\0'))) {
		pay_show(c, k->id, 422, "Attach a screenshot (PNG or JPEG) or a PDF of the payment.");
		return;
	}
	if ((type = ac_proof_check(proof->filename, proof->data, proof->len, portal.proof_max,
	    &e)) == -1) {
		ac_info("payment proof refused: %s", e.message);
		pay_show(c, k->id, e.code == AC_E_TOO_LARGE ? 413 : 422, e.message);
		return;
	}
	if (ac_proof_store(portal.proof_dir, type, proof->data, proof->len, name, sizeof(name),
	    &e) == -1) {
		ac_error("payment proof not stored: %s", e.message);
		error_page(c, 500, "Something went wrong", "Your proof could not be saved. Please"
		    " try again in a moment.");
		return;
	}
	in.proof_file = name;
	in.proof_bytes = (long long)proof->len;
	if ((pay = ac_payment_submit(portal.db, &in, &e)) == NULL) {
		ac_proof_remove(portal.proof_dir, name);
		if (e.code == AC_E_INVALID || e.code == AC_E_UNPROCESSABLE ||
		    e.code == AC_E_CONFLICT)
			pay_show(c, k->id, e.code == AC_E_CONFLICT ? 409 : 422, e.message);
		else if (e.code == AC_E_NOT_FOUND)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	ac_info("payment %lld submitted by user %lld (%s, proof %zu bytes)",
	    (long long)json_integer_value(json_object_get(pay, "id")), c->s.user_id, in.method,
	    proof->len);
	json_decref(pay);
	redirect(c, "/payments?done=payment_submitted");
}

/* Bootstrap badge colours of a payment's status. */
static const char *
pay_badge(const char *status)
{
	if (status != NULL && strcmp(status, "approved") == 0)
		return "success";
	if (status != NULL && strcmp(status, "rejected") == 0)
		return "danger";
	return "warning";
}

void
payments_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *a = ac_payments_list(portal.db, c->s.user_id, NULL, 100, &e), *p;
	size_t i;

	if (a == NULL) {
		db_failed(c);
		return;
	}
	json_array_foreach(a, i, p) {
		const char *m = json_string_value(json_object_get(p, "method"));

		json_object_set_new(p, "badge", json_string(pay_badge(json_string_value(
		    json_object_get(p, "status")))));
		json_object_set_new(p, "method_name", json_string(m && strcmp(m, "upi") == 0 ?
		    "UPI" : m && strcmp(m, "bank_transfer") == 0 ? "Bank transfer" : "Other"));
		json_object_set_new(p, "has_proof", json_boolean(json_is_string(
		    json_object_get(p, "proof_file"))));
		json_object_set_new(p, "approved", json_boolean(strcmp(pay_badge(
		    json_string_value(json_object_get(p, "status"))), "success") == 0));
		json_object_set_new(p, "plan_active", json_boolean(json_string_value(
		    json_object_get(p, "subscription_status")) != NULL && strcmp(json_string_value(
		    json_object_get(p, "subscription_status")), "active") == 0));
		json_object_del(p, "proof_file");
		json_object_del(p, "reviewed_by");
	}
	page(c, 200, "payments", "Payments", json_pack("{s:o, s:b}", "payments", a, "has_rows",
	    json_array_size(a) > 0), NULL);
}

void
payment_proof(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	json_t *p = ac_payment_get(portal.db, k->id, c->s.user_id, &e);

	if (p == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	/* a PDF is downloaded, never shown inside the site */
	if (proof_reply(c->r, portal.proof_dir, json_string_value(json_object_get(p,
	    "proof_file")), k->id, 0) == -1)
		not_found(c);
	json_decref(p);
}
