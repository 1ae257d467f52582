/*
 * test_admin_payments.c — ac-admin's payments, signals and review queue
 * against the real stack:
 *
 *	payments	a UPI payment with a PNG proof sent through the portal is
 *			listed with the proof inline and served byte for byte;
 *			approve activates the subscription and grants the credits
 *			with an audit row, a second approve changes nothing; a
 *			reject needs a reason; subscriptions.view alone may look
 *			but not decide (403)
 *	signals		a signal with its deliveries by channel and status and its
 *			latencies, the strategy filter, one signal's page (its
 *			body escaped, every delivery)
 *	review		a stale alert refused through nginx, accepted once (twice
 *			in a row, two at once): one signal with the stored body; a
 *			symbol mismatch refused again and the row left open;
 *			dismiss; a secret shown redacted; alerts.view alone: 403
 *
 * IT_ONLY=<pattern> runs the matching tests only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itportal.h"

#define PW		"correct horse battery"
#define CT_JSON		"application/json"
#define HOUR_MS		(60 * 60 * 1000)

/* The answer is a 303 to location. */
static void
expect_redirect(const struct it_resp *r, const char *what, const char *location)
{
	const char *l = it_header(r, "Location", NULL);

	if (r->status != 303 || l == NULL || strcmp(l, location) != 0)
		fail_msg("%s: %ld to %s (wanted 303 to %s): %.600s", what, r->status, l ? l : "-",
		    location, r->body ? r->body : "");
}

/* The answer has status and its body says want. */
static void
expect_page(const struct it_resp *r, const char *what, long status, const char *want)
{
	if (r->status != status || !it_has(r, want))
		fail_msg("%s: %ld (wanted %ld saying '%s'): %.1200s", what, r->status, status, want,
		    r->body ? r->body : "");
}

/* GET path as b: 200 saying each of the NULL-terminated strings. */
static void
page_says(struct ib *b, const char *path, ...)
{
	struct it_resp r;
	const char *want;
	va_list ap;

	ib_get(b, &r, path);
	va_start(ap, path);
	while ((want = va_arg(ap, const char *)) != NULL)
		expect_page(&r, path, 200, want);
	va_end(ap);
	it_resp_free(&r);
}

/* POST form (csrf added) to /admin/<area>/<id>/<verb> as b into *r. */
static void
post_id(struct ib *b, struct it_resp *r, const char *area, long long id, const char *verb,
    const char *form)
{
	char path[128];

	snprintf(path, sizeof(path), "/admin/%s/%lld/%s", area, id, verb);
	ib_post(b, r, path, form);
}

/* The count a statement with one id parameter answers. */
static long long
count_of(const char *sql, long long id)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", id);
	return it_q_ll(sql, s, NULL);
}

/* ---- payments ---------------------------------------------------------------------- */

/* A UPI payment of plan by the subscriber b, with proof (n bytes of type
 * ctype), through POST /plans/N/pay as the portal's form sends it: its id. */
static long long
upi_pay(struct ib *b, long long plan, const char *tx, const char *ctype, const void *proof,
    size_t n)
{
	char path[64], cookie[1024], origin[300];
	const char *h[] = { ib_cookie(b, cookie, sizeof(cookie)), origin, NULL };
	struct mp m = { NULL, 0 };
	struct it_resp r;

	snprintf(path, sizeof(path), "/plans/%lld/pay", plan);
	ib_get(b, &r, path);	/* the form's token */
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	ib_cookie(b, cookie, sizeof(cookie));
	snprintf(origin, sizeof(origin), "Origin: %s", it_env("AC_TEST_BASE_URL"));
	mp_field(&m, "csrf", b->csrf);
	mp_field(&m, "transaction_id", tx);
	mp_field(&m, "amount", "499.00");
	mp_field(&m, "method", "upi");
	mp_file(&m, "proof", strcmp(ctype, "application/pdf") == 0 ? "receipt.pdf" : "screen.png",
	    ctype, proof, n);
	mp_str(&m, "--" MP_BOUNDARY "--\r\n");
	it_http_h(&r, "POST", path, h, "multipart/form-data; boundary=" MP_BOUNDARY,
	    (const char *)m.p, m.n);
	free(m.p);
	expect_redirect(&r, "a UPI payment with its proof", "/payments?done=payment_submitted");
	it_resp_free(&r);
	return it_q_ll("SELECT id FROM payments WHERE transaction_id = $1", tx, NULL);
}

/* How many audit_log rows of action name kind:id. */
static long long
audits(const char *action, const char *kind, long long id)
{
	char target[64];

	snprintf(target, sizeof(target), "%s:%lld", kind, id);
	return it_q_ll("SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2", action, target, NULL);
}

/* Payment pay of user uid approved once: its subscription active, the
 * plan's 100 credits granted once, one audit row. */
static void
approved_once(long long uid, long long pay)
{
	char key[48];

	assert_int_equal(count_of("SELECT count(*) FROM payments p JOIN subscriptions s ON"
	    " s.id = p.subscription_id WHERE p.id = $1 AND p.status = 'approved'"
	    " AND s.status = 'active'", pay), 1);
	snprintf(key, sizeof(key), "payment:%lld", pay);
	assert_int_equal(it_q_ll("SELECT count(*) FROM credit_ledger WHERE idempotency_key = $1",
	    key, NULL), 1);
	assert_int_equal(count_of("SELECT credit_balance FROM users WHERE id = $1", uid), 100);
	assert_int_equal(audits("payment.approve", "payment", pay), 1);
}

static void
test_payments(void **state)
{
	static const char pdf[] = "%PDF-1.4\n"
	    "1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
	    "2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
	    "3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 100]>> endobj\n"
	    "trailer <</Root 1 0 R>>\n%%EOF\n";
	struct ib u = { 0 }, w = { 0 }, a = { 0 }, v = { 0 };
	struct fx_plan plan;
	struct it_resp r;
	unsigned char png[128];
	size_t pn = png_make(png);
	char email[128], an[64], vn[64], tx[3][16], txp[16], path[128], img[200];
	long long uid, pay[3], pdfpay;

	(void)state;
	fx_plan_new(&plan);
	uid = ib_signup(&u, "apay", "Payer", PW, email);
	for (int i = 0; i < 3; i++) {
		it_rand_hex(tx[i], 12);
		pay[i] = upi_pay(&u, plan.plan_id, tx[i], "image/png", png, pn);
	}
	ia_login(&a, "subscriptions.view,subscriptions.approve", an);

	/* listed as pending with everything to judge it by, the proof inline */
	snprintf(img, sizeof(img), "<img class=\"ac-proof\" src=\"/admin/payments/%lld/proof\"",
	    pay[0]);
	snprintf(path, sizeof(path), "action=\"/admin/payments/%lld/approve\"", pay[0]);
	page_says(&a, "/admin/payments", "Waiting for review", email, tx[0], "499.00 INR", "UPI",
	    plan.plan_name, img, path, "name=\"reason\"", NULL);

	/* the proof, byte for byte, as stored */
	snprintf(path, sizeof(path), "/admin/payments/%lld/proof", pay[0]);
	ib_proof_is(&a, path, png, pn, "image/png", "inline");
	snprintf(path, sizeof(path), "/admin/payments/%lld/proof", pay[2] + 1000000);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);

	/* a PDF proof: a link that opens it in the browser (the site's CSP and
	 * frame rules allow no <object> or frame), served inline as a PDF */
	ib_signup(&w, "apdf", "Pdf Payer", PW, email);
	it_rand_hex(txp, 12);
	pdfpay = upi_pay(&w, plan.plan_id, txp, "application/pdf", pdf, sizeof(pdf) - 1);
	snprintf(img, sizeof(img), "href=\"/admin/payments/%lld/proof\" target=\"_blank\""
	    " rel=\"noopener\" id=\"pdf-%lld\">Open the PDF proof", pdfpay, pdfpay);
	page_says(&a, "/admin/payments", txp, img, NULL);
	snprintf(path, sizeof(path), "/admin/payments/%lld/proof", pdfpay);
	ib_proof_is(&a, path, pdf, sizeof(pdf) - 1, "application/pdf", "inline");

	/* approved: the subscription active, the plan's 100 credits, one audit row */
	post_id(&a, &r, "payments", pay[0], "approve", "");
	expect_redirect(&r, "approve", "/admin/payments?done=payment_approved");
	it_resp_free(&r);
	approved_once(uid, pay[0]);

	/* a second click: said, nothing twice */
	post_id(&a, &r, "payments", pay[0], "approve", "");
	expect_page(&r, "approve again", 409, "Already reviewed");
	it_resp_free(&r);
	approved_once(uid, pay[0]);

	/* a rejection needs its reason */
	post_id(&a, &r, "payments", pay[1], "reject", "reason=");
	expect_page(&r, "reject without a reason", 422, "say why the payment is rejected");
	it_resp_free(&r);
	assert_int_equal(count_of("SELECT count(*) FROM payments WHERE id = $1"
	    " AND status = 'pending'", pay[1]), 1);
	assert_int_equal(audits("payment.reject", "payment", pay[1]), 0);
	post_id(&a, &r, "payments", pay[1], "reject", "reason=No+such+UTR+at+the+bank");
	expect_redirect(&r, "reject", "/admin/payments?done=payment_rejected");
	it_resp_free(&r);
	assert_int_equal(count_of("SELECT count(*) FROM payments WHERE id = $1 AND status ="
	    " 'rejected' AND rejection_reason = 'No such UTR at the bank'", pay[1]), 1);
	assert_int_equal(audits("payment.reject", "payment", pay[1]), 1);
	/* the history: who, when, why */
	page_says(&a, "/admin/payments?status=rejected", "No such UTR at the bank", an, tx[1],
	    NULL);
	page_says(&a, "/admin/payments?status=approved", tx[0], an, NULL);

	/* subscriptions.view alone: sees, may not decide */
	ia_login(&v, "subscriptions.view", vn);
	snprintf(path, sizeof(path), "action=\"/admin/payments/%lld/approve\"", pay[2]);
	ib_get(&v, &r, "/admin/payments");
	expect_page(&r, "the list for a viewer", 200, tx[2]);
	assert_false(it_has(&r, path));
	it_resp_free(&r);
	post_id(&v, &r, "payments", pay[2], "approve", "");
	expect_page(&r, "approve as a viewer", 403, "subscriptions.approve");
	it_resp_free(&r);
	post_id(&v, &r, "payments", pay[2], "reject", "reason=no");
	expect_page(&r, "reject as a viewer", 403, "subscriptions.approve");
	it_resp_free(&r);
	assert_int_equal(count_of("SELECT count(*) FROM payments WHERE id = $1"
	    " AND status = 'pending'", pay[2]), 1);
}

/* ---- signals ----------------------------------------------------------------------- */

static void
test_signals(void **state)
{
	struct ib u1 = { 0 }, u2 = { 0 }, a = { 0 };
	struct it_strategy s, other;
	struct it_resp r;
	char e1[128], e2[128], an[64], path[128], row[64], sid[24], uid[24];
	long long users[2], sig;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	it_strategy_new(&other, "1h", NULL);
	users[0] = ib_signup(&u1, "asig", "One", PW, e1);
	users[1] = ib_signup(&u2, "asig2", "Two", PW, e2);
	sig = fx_signal_at(s.id, users, 2, "10 minutes", "123.5");
	snprintf(sid, sizeof(sid), "%lld", sig);
	snprintf(uid, sizeof(uid), "%lld", users[0]);
	/* processed 250 ms after it arrived, sent after 1 s and 3 s, one telegram failed */
	PQclear(it_q("UPDATE signals SET processed_at = received_at + interval '250 ms',"
	    " raw_body = '{\"note\":\"<b>bold</b>\"}' WHERE id = $1", sid, NULL));
	PQclear(it_q("UPDATE deliveries d SET sent_at = s.received_at + CASE WHEN d.user_id ="
	    " $2::bigint THEN interval '1 s' ELSE interval '3 s' END, provider = 'smtp',"
	    " attempts = 1 FROM signals s WHERE s.id = d.signal_id AND s.id = $1", sid,
	    uid, NULL));
	PQclear(it_q("INSERT INTO deliveries (signal_id, user_id, channel, kind, status, error,"
	    " attempts) VALUES ($1, $2, 'telegram', 'entry', 'failed', 'bot was blocked', 3)", sid,
	    uid, NULL));
	fx_deliveries(users[0], s.id, 3);
	ia_login(&a, "alerts.view", an);

	snprintf(path, sizeof(path), "/admin/signals?strategy=%lld", s.id);
	snprintf(row, sizeof(row), "id=\"signal-%lld\"", sig);
	page_says(&a, path, row, "123.5", "BUY", "processed", "250 ms", "2000 ms / 3000 ms",
	    "email 2 sent · telegram 1 failed", "sms 1 sent", "telegram 1 skipped", NULL);
	/* the filter: another strategy's page does not have it */
	snprintf(path, sizeof(path), "/admin/signals?strategy=%lld", other.id);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 200);
	assert_false(it_has(&r, row));
	it_resp_free(&r);
	page_says(&a, "/admin/signals", row, NULL);

	/* one signal: its fields, the body escaped, every delivery */
	snprintf(path, sizeof(path), "/admin/signals/%lld", sig);
	ib_get(&a, &r, path);
	expect_page(&r, path, 200, "&lt;b&gt;bold&lt;/b&gt;");
	assert_false(it_has(&r, "<b>bold"));
	assert_true(it_has(&r, e1) && it_has(&r, e2));
	assert_true(it_has(&r, "bot was blocked"));
	assert_true(it_has(&r, "1000 ms") && it_has(&r, "3000 ms"));
	assert_true(it_has(&r, "smtp"));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/admin/signals/%lld", sig + 1000000);
	ib_get(&a, &r, path);
	assert_int_equal(r.status, 404);
	it_resp_free(&r);
}

/* ---- review ------------------------------------------------------------------------ */

/* Sends body to s's webhook through nginx: the refusal's status must be
 * status; the webhook_rejects row it left. */
static long long
refused(const struct it_strategy *s, const char *body, long status, const char *code)
{
	struct it_resp r;
	char sid[24];

	it_post(&r, s->path, CT_JSON, body);
	if (r.status != status)
		fail_msg("%s: %ld (wanted %ld) %.300s", body, r.status, status, r.body);
	it_resp_free(&r);
	snprintf(sid, sizeof(sid), "%lld", s->id);
	return it_q_ll("SELECT max(id) FROM webhook_rejects WHERE strategy_id = $1 AND code = $2",
	    sid, code, NULL);
}

/* A stale BUY for s (an hour old) at a price of its own: malloc'd. */
static char *
stale_buy(const struct it_strategy *s)
{
	return it_alert(s, "BUY", it_price(200), 0, 0, it_now_ms() - HOUR_MS);
}

static long long
signals_of(const struct it_strategy *s)
{
	return count_of("SELECT count(*) FROM signals WHERE strategy_id = $1", s->id);
}

static void
test_review(void **state)
{
	struct ib a = { 0 }, v = { 0 };
	struct it_strategy s, o;
	struct it_resp r, rr[2];
	struct it_req q[2];
	char an[64], vn[64], want[160], cookie[1024], origin[300], path[2][64], form[128];
	char secret[40], hex[17];
	const char *h[] = { cookie, origin, NULL };
	char *body, *b2;
	long long rid, rid2, rid3, rid4, g;
	json_t *j;
	int ok;

	(void)state;
	it_strategy_new(&s, "1h", NULL);
	ia_login(&a, "alerts.view,alerts.configure", an);

	/* a stale alert: refused, in the queue with its message and the buttons */
	body = stale_buy(&s);
	rid = refused(&s, body, 422, "stale_alert");
	assert_int_equal(signals_of(&s), 0);
	snprintf(want, sizeof(want), "action=\"/admin/review/%lld/accept\"", rid);
	snprintf(path[0], sizeof(path[0]), "/admin/review?strategy=%lld", s.id);
	page_says(&a, path[0], "stale_alert", "old; at most", want, NULL);

	/* accepted: one signal, with the body as stored, the row marked */
	post_id(&a, &r, "review", rid, "accept", "");
	expect_redirect(&r, "accept", "/admin/review?done=review_accepted");
	it_resp_free(&r);
	assert_int_equal(signals_of(&s), 1);
	snprintf(want, sizeof(want), "%lld", rid);
	assert_int_equal(it_q_ll("SELECT count(*) FROM webhook_rejects w JOIN signals g ON"
	    " g.id = w.signal_id WHERE w.id = $1 AND w.review = 'accepted' AND w.reviewed_by = $2"
	    " AND w.reviewed_at IS NOT NULL AND g.raw_body = $3 AND g.received_at = w.received_at",
	    want, an, body, NULL), 1);
	assert_int_equal(audits("review.accept", "reject", rid), 1);
	/* twice: said, nothing more */
	post_id(&a, &r, "review", rid, "accept", "");
	expect_page(&r, "accept again", 409, "Already reviewed");
	it_resp_free(&r);
	assert_int_equal(signals_of(&s), 1);
	assert_int_equal(audits("review.accept", "reject", rid), 1);
	free(body);

	/* two accepts at once: one signal */
	body = stale_buy(&s);
	rid2 = refused(&s, body, 422, "stale_alert");
	free(body);
	ib_cookie(&a, cookie, sizeof(cookie));
	snprintf(origin, sizeof(origin), "Origin: %s", it_env("AC_TEST_BASE_URL"));
	snprintf(form, sizeof(form), "csrf=%s", a.csrf);
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "/admin/review/%lld/accept", rid2);
		q[i] = (struct it_req){ "POST", path[i], "application/x-www-form-urlencoded", form,
		    strlen(form) };
	}
	it_http_multi_h(q, h, rr, 2);
	ok = (rr[0].status == 303) + (rr[1].status == 303);
	if (ok != 1 || (rr[0].status != 409 && rr[1].status != 409))
		fail_msg("two accepts at once: %ld and %ld (wanted one 303, one 409)", rr[0].status,
		    rr[1].status);
	it_resp_free(&rr[0]);
	it_resp_free(&rr[1]);
	assert_int_equal(signals_of(&s), 2);
	assert_int_equal(count_of("SELECT count(*) FROM webhook_rejects WHERE id = $1"
	    " AND review = 'accepted' AND signal_id IS NOT NULL", rid2), 1);
	assert_int_equal(audits("review.accept", "reject", rid2), 1);
	/* a claim left behind after the signal was stored (ac-admin stopped before
	 * recording its id): accepted again after 5 minutes, the same signal found */
	snprintf(want, sizeof(want), "%lld", rid2);
	g = it_q_ll("SELECT signal_id FROM webhook_rejects WHERE id = $1", want, NULL);
	PQclear(it_q("UPDATE webhook_rejects SET signal_id = NULL, reviewed_at = now() -"
	    " interval '6 minutes' WHERE id = $1", want, NULL));
	post_id(&a, &r, "review", rid2, "accept", "");
	expect_redirect(&r, "accept a claim left behind", "/admin/review?done=review_accepted");
	it_resp_free(&r);
	assert_int_equal(signals_of(&s), 2);
	assert_int_equal(it_q_ll("SELECT signal_id FROM webhook_rejects WHERE id = $1", want,
	    NULL), g);

	/* a strategy name the rules refused: an operator may overrule it */
	b2 = it_alert(&s, "BUY", it_price(200), 0, 0, it_now_ms());
	j = json_loads(b2, 0, NULL);
	free(b2);
	json_object_set_new(j, "strategy", json_string("Some Other Bot"));
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rid = refused(&s, body, 422, "strategy_mismatch");
	free(body);
	post_id(&a, &r, "review", rid, "accept", "");
	expect_redirect(&r, "accept a strategy name mismatch", "/admin/review?done=review_accepted");
	it_resp_free(&r);
	assert_int_equal(signals_of(&s), 3);
	assert_int_equal(count_of("SELECT count(*) FROM webhook_rejects WHERE id = $1"
	    " AND review = 'accepted' AND signal_id IS NOT NULL", rid), 1);

	/* a wrong symbol stays refused: said, nothing stored, the row still open */
	o = s;
	snprintf(o.symbol, sizeof(o.symbol), "ITOTHER");
	body = it_alert(&o, "BUY", it_price(200), 0, 0, it_now_ms());
	rid3 = refused(&s, body, 422, "symbol_mismatch");
	free(body);
	post_id(&a, &r, "review", rid3, "accept", "");
	expect_page(&r, "accept a symbol mismatch", 422, "refused again");
	assert_true(it_has(&r, "received symbol ITOTHER"));
	it_resp_free(&r);
	assert_int_equal(signals_of(&s), 3);
	assert_int_equal(count_of("SELECT count(*) FROM webhook_rejects WHERE id = $1"
	    " AND review IS NULL AND reviewed_at IS NULL AND signal_id IS NULL", rid3), 1);
	assert_int_equal(count_of("SELECT count(*) FROM webhook_rejects WHERE strategy_id = $1"
	    " AND code = 'symbol_mismatch'", s.id), 1);
	assert_int_equal(audits("review.accept", "reject", rid3), 0);

	/* dismissed */
	post_id(&a, &r, "review", rid3, "dismiss", "");
	expect_redirect(&r, "dismiss", "/admin/review?done=review_dismissed");
	it_resp_free(&r);
	snprintf(want, sizeof(want), "%lld", rid3);
	assert_int_equal(it_q_ll("SELECT count(*) FROM webhook_rejects WHERE id = $1"
	    " AND review = 'dismissed' AND reviewed_by = $2", want, an, NULL), 1);
	assert_int_equal(audits("review.dismiss", "reject", rid3), 1);
	post_id(&a, &r, "review", rid3, "dismiss", "");
	expect_page(&r, "dismiss again", 409, "Already reviewed");
	it_resp_free(&r);

	/* a secret in the body: shown redacted, never in clear */
	it_rand_hex(hex, 16);
	snprintf(secret, sizeof(secret), "s3cr3t%s", hex);
	b2 = stale_buy(&s);
	j = json_loads(b2, 0, NULL);
	free(b2);
	json_object_set_new(j, "secret", json_string(secret));
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rid4 = refused(&s, body, 422, "stale_alert");
	free(body);
	snprintf(path[0], sizeof(path[0]), "/admin/review?show=all&strategy=%lld", s.id);
	ib_get(&a, &r, path[0]);
	expect_page(&r, "a body with a secret", 200, "[redacted]");
	assert_false(it_has(&r, secret));
	assert_false(it_has(&r, s.token));
	it_resp_free(&r);

	/* alerts.view alone: sees the queue, may not accept */
	ia_login(&v, "alerts.view", vn);
	snprintf(want, sizeof(want), "action=\"/admin/review/%lld/accept\"", rid4);
	ib_get(&v, &r, "/admin/review");
	expect_page(&r, "the queue for a viewer", 200, "stale_alert");
	assert_false(it_has(&r, want));
	it_resp_free(&r);
	post_id(&v, &r, "review", rid4, "accept", "");
	expect_page(&r, "accept as a viewer", 403, "alerts.configure");
	it_resp_free(&r);
	assert_int_equal(count_of("SELECT count(*) FROM webhook_rejects WHERE id = $1"
	    " AND reviewed_at IS NULL", rid4), 1);
	assert_int_equal(signals_of(&s), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payments),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_review),
	};
	int rc;

	if (it_init() == -1)
		return 1;
	if (getenv("IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("IT_ONLY"));
	srandom((unsigned)(time(NULL) ^ getpid()));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_done();
	return rc;
}
