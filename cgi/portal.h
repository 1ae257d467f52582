/*
 * portal.h — what the files of ac-portal share: its settings, a request as
 * the handlers see it, and the ways to answer (portal.c). The pages are
 * grouped by concern: portal.c (accounts, alarms, history, the rest),
 * portal_billing.c (plans bought by card or by UPI / bank transfer) and
 * portal_unsubscribe.c (a signal email's unsubscribe link),
 * portal_push.c (push notifications on a device) and portal_record.c (a
 * strategy's public track record).
 */
#ifndef AC_PORTAL_H
#define AC_PORTAL_H

#include <jansson.h>

#include "base/config.h"
#include "base/db.h"
#include "billing/stripe.h"
#include "web/auth.h"
#include "web/html.h"
#include "web/route.h"

struct portal {
	struct ac_config cfg;
	struct ac_db	*db;
	struct ac_html	*html;
	struct ac_auth_cfg auth;
	char		 origin[256];	/* scheme://host[:port] of AC_BASE_URL */
	int		 https;		/* the base URL is https: cookies get Secure */
	const char	*telegram_bot;	/* AC_TELEGRAM_BOT_USERNAME, or NULL */
	/* billing (portal_billing.c) */
	struct ac_stripe_api stripe;
	const char	*upi_vpa;	/* AC_UPI_VPA, or NULL: no UPI */
	const char	*upi_payee;	/* AC_UPI_PAYEE_NAME */
	const char	*bank;		/* AC_BANK_DETAILS, or NULL */
	size_t		 proof_max;	/* AC_PROOF_MAX_BYTES */
	char		 proof_dir[1024];	/* $AC_STATE_DIR/proofs */
	/* push (portal_push.c) */
	const char	*onesignal_app;	/* AC_ONESIGNAL_APP_ID, or NULL: no push offered */
};

extern struct portal portal;

/* One request as the handlers see it. */
struct pctx {
	struct ac_req	*r;
	struct ac_session s;
	int		 user;		/* s is loaded */
	const char	*cookie;	/* the session cookie, or NULL */
	const char	*csrf;		/* the token forms of this page carry */
	char		*headers;	/* extra header lines (Set-Cookie) */
	struct ac_call	*k;		/* the route, the form and its fields */
};

/* Adds the header line "name: value" to the answer. */
void	add_header(struct pctx *c, const char *name, const char *value);
/* Answers 303 to location, with the headers gathered so far. */
void	redirect(struct pctx *c, const char *location);
/* Renders template tmpl inside the layout with data (stolen; NULL: {}),
 * the user, the CSRF token, the menu, the flash message and error. */
void	page(struct pctx *c, int status, const char *tmpl, const char *title, json_t *data,
	    const char *error);
void	error_page(struct pctx *c, int status, const char *heading, const char *message);
void	not_found(struct pctx *c);
void	db_failed(struct pctx *c);

/* The plans page with status and error (portal.c). */
void	plans_show(struct pctx *c, int status, const char *error);

/* ---- portal_billing.c ------------------------------------------------------ */

/* Reads the billing settings into portal. */
void	billing_setup(void);

/* The plans page's data for each plan p (price shown, how it may be paid). */
void	billing_plan_extras(struct pctx *c, json_t *p);

void	plan_checkout(struct ac_call *k);	/* POST /plans/N/checkout */
void	billing_done(struct ac_call *k);	/* GET /billing/done */
void	billing_manage(struct ac_call *k);	/* POST /billing/manage */
void	pay_form(struct ac_call *k);		/* GET /plans/N/pay */
void	pay_qr(struct ac_call *k);		/* GET /plans/N/upi.svg */
void	pay_post(struct ac_call *k);		/* POST /plans/N/pay (multipart) */
void	pay_invalid(struct ac_call *k, const struct ac_err *e);	/* its refused field */
void	payments_page(struct ac_call *k);	/* GET /payments */
void	payment_proof(struct ac_call *k);	/* GET /payments/N/proof */

extern const struct ac_field_decl pay_fields[];

/* ---- portal_unsubscribe.c -------------------------------------------------- */

void	unsubscribe_form(struct ac_call *k);	/* GET /account/email/unsubscribe */
void	unsubscribe_post(struct ac_call *k);	/* POST, no CSRF token (RFC 8058) */

extern const struct ac_field_decl unsubscribe_fields[];

/* ---- portal_push.c --------------------------------------------------------- */

/* Reads the push setting into portal. */
void	push_setup(void);

/* The account page's push card: {"app_id", "external_id" (the user's id),
 * "devices" (the profile's push_devices, ac_profile), "linked" (any),
 * "max" (AC_PUSH_DEVICES)}, or NULL when push is not offered. */
json_t	*push_card(struct pctx *c, json_t *devices);

void	push_link(struct ac_call *k);		/* POST /account/push */
void	push_invalid(struct ac_call *k, const struct ac_err *e);	/* its refused id: 400 */
void	push_unlink(struct ac_call *k);		/* POST /account/push/N/unlink */

extern const struct ac_field_decl push_fields[];

/* ---- portal_record.c ------------------------------------------------------- */
void	record_page(struct ac_call *k);		/* GET /strategies/N/record */
void	record_figures(struct pctx *c, json_t *d);	/* its headline figures as shown */

#endif
