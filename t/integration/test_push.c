/*
 * test_push.c — push on a device, through nginx and ac-portal, with
 * AC_ONESIGNAL_APP_ID set for the stack (t/integration/run): the account
 * page offers it with the app and the user's id on its button; POST
 * /account/push stores a UUID (lower case), refuses anything else with a
 * 400 and a request without the CSRF token with a 403, changing nothing;
 * the dashboard's "nowhere to send to" banner for a push alarm goes once a
 * device is linked and comes back when it is turned off; OneSignal's CDN
 * and API are allowed on /account and the service worker only. A push
 * delivery to the linked device is test_deliver's test_push_linked_device;
 * the page without the setting is t/unit/test_push.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itportal.h"

#define PW	"push password 1"
#define DEVICE	"1dd608f2-c6a1-11e3-851d-000c2940e62c"

/* The subscription ids of uid's devices, "id,id" in the order linked, ""
 * when none (malloc'd). */
static char *
device_of(long long uid)
{
	char su[24], *s;
	PGresult *r;

	snprintf(su, sizeof(su), "%lld", uid);
	r = it_q("SELECT coalesce(string_agg(subscription_id, ',' ORDER BY id), '')"
	    " FROM push_devices WHERE user_id = $1", su, NULL);
	assert_int_equal(PQntuples(r), 1);
	s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return s;
}

static void
expect_device(long long uid, const char *want)
{
	char *got = device_of(uid);

	if (strcmp(got, want) != 0)
		fail_msg("user %lld: push devices \"%s\", wanted \"%s\"", uid, got, want);
	free(got);
}

/* Fails unless the dashboard's banner names push (on) or does not (off). */
static void
expect_banner(struct ib *b, int on)
{
	struct it_resp r;

	ib_get(b, &r, "/");
	assert_int_equal(r.status, 200);
	assert_int_equal(it_has(&r, "id=\"unlinked\"") && it_has(&r, "<strong>push</strong>"), on);
	it_resp_free(&r);
}

static void
test_link_and_unlink(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	struct fx_plan p;
	char email[128], want[256], sid[24], form[256], dev[24];
	long long uid;
	int st;

	it_source("127.0.0.71");	/* sign-ups of its own, whatever ran before */
	uid = ib_signup(&b, "push", "Pia", PW, email);

	/* the card, with the app and the user's id for OneSignal.login */
	ib_get(&b, &r, "/account");
	assert_int_equal(r.status, 200);
	snprintf(want, sizeof(want), "id=\"push-enable\" data-app-id=\"%s\" data-external-id="
	    "\"%lld\"", it_env("AC_ONESIGNAL_APP_ID"), uid);
	assert_true(it_has(&r, want));
	assert_true(it_has(&r, "id=\"push-unlinked\""));
	assert_true(it_has(&r, "<script src=\"/static/js/push.js\" defer></script>"));
	assert_false(it_has(&r, "id=\"push-devices\""));
	it_resp_free(&r);

	/* a push alarm with no device: the dashboard says so */
	fx_plan_new(&p);
	fx_subscribe(uid, &p, 10);
	snprintf(sid, sizeof(sid), "%lld", p.strategy.id);
	json_decref(it_acctl(&st, "alarm", "add", "--email", email, "--strategy", sid,
	    "--channels", "email,push", NULL));
	assert_int_equal(st, 0);
	expect_banner(&b, 1);

	/* not a UUID, or none at all: 400 saying so, nothing stored */
	ib_get(&b, &r, "/account");
	it_resp_free(&r);
	ib_post(&b, &r, "/account/push", "subscription_id=player-7");
	assert_int_equal(r.status, 400);
	assert_true(it_has(&r, "must be a UUID"));
	it_resp_free(&r);
	ib_post(&b, &r, "/account/push", "subscription_id=" DEVICE "%0A");
	assert_int_equal(r.status, 400);
	it_resp_free(&r);
	ib_post(&b, &r, "/account/push", "other=1");
	assert_int_equal(r.status, 400);
	it_resp_free(&r);
	/* without the CSRF token: refused */
	ib_post_raw(&b, &r, "/account/push", "subscription_id=" DEVICE, it_env("AC_TEST_BASE_URL"));
	assert_int_equal(r.status, 403);
	it_resp_free(&r);
	expect_device(uid, "");

	/* a UUID is stored, in lower case */
	snprintf(form, sizeof(form), "subscription_id=%s", "1DD608F2-C6A1-11E3-851D-000C2940E62C");
	ib_post(&b, &r, "/account/push", form);
	ib_expect_redirect(&r, "/account?done=push_linked");
	it_resp_free(&r);
	expect_device(uid, DEVICE);
	ib_get(&b, &r, "/account?done=push_linked");
	assert_true(it_has(&r, "Push is on for this device."));
	assert_true(it_has(&r, "id=\"push-linked\""));
	snprintf(dev, sizeof(dev), "%lld", it_q_ll("SELECT id FROM push_devices WHERE"
	    " subscription_id = $1", DEVICE, NULL));
	snprintf(want, sizeof(want), "action=\"/account/push/%s/unlink\"", dev);
	assert_true(it_has(&r, want));
	/* named from the browser's User-Agent (this client sends none) */
	assert_true(it_has(&r, "<div>a browser</div>"));
	it_resp_free(&r);
	expect_banner(&b, 0);

	/* no such device: 404, nothing changed */
	ib_post(&b, &r, "/account/push/0/unlink", "");
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
	expect_device(uid, DEVICE);
	/* removed: forgotten, and the banner is back */
	snprintf(want, sizeof(want), "/account/push/%s/unlink", dev);
	ib_post(&b, &r, want, "");
	ib_expect_redirect(&r, "/account?done=push_unlinked");
	it_resp_free(&r);
	expect_device(uid, "");
	expect_banner(&b, 1);
	it_source(NULL);
	(void)state;
}

/* Fails unless path's CSP has OneSignal's sources (push) or not. */
static void
expect_csp(struct ib *b, const char *path, int push)
{
	struct it_resp r;
	const char *csp;
	size_t n;

	ib_get(b, &r, path);
	assert_int_equal(r.status, 200);
	assert_non_null(csp = it_header(&r, "Content-Security-Policy", &n));
	assert_int_equal(n, 1);
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	assert_non_null(it_header(&r, "X-Frame-Options", NULL));
	assert_non_null(it_header(&r, "X-Content-Type-Options", NULL));
	if (push) {
		assert_non_null(strstr(csp, "script-src 'self' https://cdn.onesignal.com;"));
		assert_non_null(strstr(csp, "connect-src 'self' https://onesignal.com"
		    " https://*.onesignal.com"));
	} else
		assert_null(strstr(csp, "onesignal"));
	it_resp_free(&r);
}

static void
test_csp_and_worker(void **state)
{
	struct ib b = { 0 };
	struct it_resp r;
	char email[128];

	it_source("127.0.0.72");
	ib_signup(&b, "pushcsp", "Pat", PW, email);
	expect_csp(&b, "/account", 1);
	expect_csp(&b, "/OneSignalSDKWorker.js", 1);
	expect_csp(&b, "/", 0);
	expect_csp(&b, "/alarms", 0);
	expect_csp(&b, "/static/js/push.js", 0);
	ib_get(&b, &r, "/OneSignalSDKWorker.js");
	assert_true(it_has(&r, "importScripts(\"https://cdn.onesignal.com/sdks/web/v16/"
	    "OneSignalSDK.sw.js\");"));
	assert_non_null(strstr(it_header(&r, "Content-Type", NULL), "javascript"));
	it_resp_free(&r);
	it_source(NULL);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_and_unlink),
		cmocka_unit_test(test_csp_and_worker),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
