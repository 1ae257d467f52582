/*
 * portal_push.c — push notifications on a device, from the account page:
 *
 *	POST /account/push		the device's OneSignal subscription id
 *					(www/js/push.js posts it once the browser
 *					allowed notifications): stored, 303
 *	POST /account/push/N/unlink	device N forgotten, 303 (404: not
 *					one of the user's)
 *
 * Offered only when AC_ONESIGNAL_APP_ID is set; without it the account page
 * has no push card and both routes answer 409. The SDK logs the device in
 * with the user's id (decimal) as OneSignal's external id. A user links up
 * to AC_PUSH_DEVICES browsers (a phone, a laptop); each is labelled from
 * its User-Agent ("Chrome on Android") so the account page can name it.
 */
#include <stdio.h>

#include "account/push.h"
#include "base/arena.h"
#include "cgi/portal.h"

/* A subscription id as OneSignal makes them: NULL, or what is wrong. */
static const char *
push_why(const char *s)
{
	return ac_push_id_ok(s) ? NULL : "the device's push subscription id must be a UUID,"
	    " like 1dd608f2-c6a1-11e3-851d-000c2940e62c";
}

enum { PUSH_ID };
const struct ac_field_decl push_fields[] = {
	[PUSH_ID] = { "subscription_id", AC_F_STRING, AC_FROM_FORM, AC_F_REQUIRED,
	    .check = push_why },
	{ .name = NULL }
};

void
push_setup(void)
{
	portal.onesignal_app = ac_setting_str(&portal.cfg, AC_S_ONESIGNAL_APP_ID);
	if (portal.onesignal_app != NULL && *portal.onesignal_app == '\0')
		portal.onesignal_app = NULL;
}

json_t *
push_card(struct pctx *c, json_t *devices)
{
	if (portal.onesignal_app == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:O, s:b, s:i}", "app_id", portal.onesignal_app,
	    "external_id", ac_arena_printf(c->r->arena, "%lld", c->s.user_id), "devices",
	    devices ? devices : json_null(), "linked", json_array_size(devices) > 0,
	    "max", AC_PUSH_DEVICES);
}

/* 1 if push is offered; else answers 409 and returns 0. */
static int
push_offered(struct pctx *c)
{
	if (portal.onesignal_app != NULL)
		return 1;
	error_page(c, 409, "Push is not available",
	    "Push notifications are not configured on this server.");
	return 0;
}

void
push_invalid(struct ac_call *k, const struct ac_err *e)
{
	error_page(k->ctx, 400, "Bad request", e->message);
}

void
push_link(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	char label[64];

	if (!push_offered(c))
		return;
	ac_push_label(ac_req_header(c->r, "User-Agent"), label, sizeof(label));
	if (ac_push_link(portal.db, c->s.user_id, k->v[PUSH_ID].s, label) == -1)
		db_failed(c);
	else
		redirect(c, "/account?done=push_linked#push");
}

void
push_unlink(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	int r;

	if (!push_offered(c))
		return;
	if ((r = ac_push_unlink(portal.db, c->s.user_id, k->id)) == -1)
		db_failed(c);
	else if (r == 0)
		not_found(c);
	else
		redirect(c, "/account?done=push_unlinked#push");
}
