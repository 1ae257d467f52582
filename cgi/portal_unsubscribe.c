/*
 * portal_unsubscribe.c — the unsubscribe link of a signal email, which
 * works without a login:
 *
 *	GET  /account/email/unsubscribe?u=N&t=T	a page with the one button
 *	POST /account/email/unsubscribe?u=N&t=T	signal emails stop
 *						(users.notify_email false)
 *
 * The POST is also the one-click unsubscribe of RFC 8058 that a mail
 * client sends from the List-Unsubscribe header, with no session and no
 * CSRF token; what protects it is t, the HMAC of the user id under
 * AC_UNSUBSCRIBE_SECRET (account/notify.h), compared in constant time. A
 * forged link can only stop one user's signal emails, and only with the
 * secret.
 */
#include <stdio.h>

#include "account/notify.h"
#include "cgi/portal.h"

enum { UNSUB_USER, UNSUB_TOKEN };
const struct ac_field_decl unsubscribe_fields[] = {
	[UNSUB_USER] = { "u", AC_F_INT, AC_FROM_QUERY, AC_F_LENIENT, .min = 1,
	    .max = INT64_MAX },
	[UNSUB_TOKEN] = { "t", AC_F_STRING, AC_FROM_QUERY, AC_F_LENIENT, .max = 64 },
	{ .name = NULL }
};

#define HEADING	"Unsubscribe from signal emails"

/* The user the link names, or 0 when u and t are not a pair signed with
 * the secret. */
static long long
link_user(struct ac_call *k)
{
	const char *secret = ac_setting_str(&portal.cfg, AC_S_UNSUBSCRIBE_SECRET);
	long long uid = k->v[UNSUB_USER].set ? k->v[UNSUB_USER].i : 0;

	return ac_unsubscribe_ok(secret, uid, k->v[UNSUB_TOKEN].s) ? uid : 0;
}

/* The page in state ("ask", "done" or "invalid"). */
static void
unsubscribe_page(struct ac_call *k, int status, const char *state)
{
	struct pctx *c = k->ctx;
	char action[160];

	snprintf(action, sizeof(action), "/account/email/unsubscribe?u=%lld&t=%s",
	    k->v[UNSUB_USER].i, k->v[UNSUB_TOKEN].s ? k->v[UNSUB_TOKEN].s : "");
	page(c, status, "unsubscribe", HEADING, json_pack("{s:s, s:b, s:s}", "heading", HEADING,
	    state, 1, "action", action), NULL);
}

void
unsubscribe_form(struct ac_call *k)
{
	if (link_user(k) == 0)
		unsubscribe_page(k, 404, "invalid");
	else
		unsubscribe_page(k, 200, "ask");
}

void
unsubscribe_post(struct ac_call *k)
{
	long long uid = link_user(k);

	switch (uid == 0 ? 0 : ac_unsubscribe_email(portal.db, uid)) {
	case 1:
		unsubscribe_page(k, 200, "done");
		return;
	case 0:
		unsubscribe_page(k, 404, "invalid");
		return;
	}
	db_failed(k->ctx);
}
