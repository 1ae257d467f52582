/* itportal.c — see itportal.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "itportal.h"

/* Keeps the cookies an answer sets. */
static void
keep_cookies(struct ib *b, const struct it_resp *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *v = r->headers[i].value;
		size_t n;

		if (strcasecmp(r->headers[i].name, "Set-Cookie") != 0)
			continue;
		n = strcspn(v, ";");
		if (strncmp(v, "ac_session=", 11) == 0) {
			snprintf(b->session, sizeof(b->session), "%.*s", (int)(n - 11), v + 11);
			snprintf(b->set_cookie, sizeof(b->set_cookie), "%s", v);
		} else if (strncmp(v, "ac_pre=", 7) == 0) {
			snprintf(b->pre, sizeof(b->pre), "%.*s", (int)(n - 7), v + 7);
		} else if (strncmp(v, "ac_admin=", 9) == 0) {
			snprintf(b->admin, sizeof(b->admin), "%.*s", (int)(n - 9), v + 9);
			snprintf(b->admin_set_cookie, sizeof(b->admin_set_cookie), "%s", v);
		} else if (strncmp(v, "ac_admin_pre=", 13) == 0) {
			snprintf(b->admin_pre, sizeof(b->admin_pre), "%.*s", (int)(n - 13), v + 13);
		} else if (strncmp(v, "ac_token_once=", 14) == 0) {
			snprintf(b->token_once, sizeof(b->token_once), "%.*s", (int)(n - 14), v + 14);
		}
	}
}

/* Keeps the page's csrf field, if it has one. */
static void
keep_csrf(struct ib *b, const struct it_resp *r)
{
	const char *p = strstr(r->body, "name=\"csrf\" value=\"");

	if (p != NULL) {
		p += strlen("name=\"csrf\" value=\"");
		snprintf(b->csrf, sizeof(b->csrf), "%.*s", (int)strcspn(p, "\""), p);
	}
}

const char *
ib_cookie(const struct ib *b, char *buf, size_t n)
{
	snprintf(buf, n, "Cookie: ac_session=%s; ac_pre=%s; ac_admin=%s; ac_admin_pre=%s%s%s",
	    b->session, b->pre, b->admin, b->admin_pre, *b->token_once ? "; ac_token_once=" : "",
	    b->token_once);
	return buf;
}

void
ib_new_token(struct ib *b, const char *name, char *token)
{
	struct it_resp r;
	char *form, *n = ib_urlencode(name);
	const char *p;

	if (asprintf(&form, "name=%s", n) == -1)
		abort();
	ib_post(b, &r, "/tokens", form);
	ib_expect_redirect(&r, "/tokens?done=token_created");
	it_resp_free(&r);
	ib_get(b, &r, "/tokens?done=token_created");
	assert_int_equal(r.status, 200);
	if ((p = strstr(r.body, "id=\"new-token\">")) == NULL)
		fail_msg("/tokens does not show the new token");
	snprintf(token, 64, "%.47s", p + strlen("id=\"new-token\">"));
	assert_memory_equal(token, "act_", 4);
	it_resp_free(&r);
	free(form);
	free(n);
}

void
ib_get(struct ib *b, struct it_resp *r, const char *path)
{
	char c[1024];
	const char *h[] = { ib_cookie(b, c, sizeof(c)), NULL };

	it_http_h(r, "GET", path, h, NULL, NULL, 0);
	keep_cookies(b, r);
	keep_csrf(b, r);
}

void
ib_post_raw(struct ib *b, struct it_resp *r, const char *path, const char *form,
    const char *origin)
{
	char c[1024], o[256];
	const char *h[] = { ib_cookie(b, c, sizeof(c)), NULL, NULL };

	if (origin != NULL) {
		snprintf(o, sizeof(o), "Origin: %s", origin);
		h[1] = o;
	}
	it_http_h(r, "POST", path, h, "application/x-www-form-urlencoded", form, strlen(form));
	keep_cookies(b, r);
	keep_csrf(b, r);
}

void
ib_post(struct ib *b, struct it_resp *r, const char *path, const char *form)
{
	char *body;

	if (asprintf(&body, "csrf=%s%s%s", b->csrf, *form ? "&" : "", form) == -1)
		abort();
	ib_post_raw(b, r, path, body, it_env("AC_TEST_BASE_URL"));
	free(body);
}

long
ia_login_as(struct ib *b, const char *username, const char *password)
{
	struct it_resp r;
	char *form, *u = ib_urlencode(username), *p = ib_urlencode(password);
	static unsigned n;
	char addr[32], was[64];
	const char *prev;
	long status;

	/* nginx allows 5 login POSTs at once from an address (10 a minute
	 * after): each login comes from another loopback address */
	n++;
	snprintf(addr, sizeof(addr), "127.0.%u.%u", 1 + (n / 200) % 200, 1 + n % 200);
	prev = it_source(addr);
	snprintf(was, sizeof(was), "%s", prev ? prev : "");
	ib_get(b, &r, "/admin/login");
	/* signed in already, the page sends b home: its form is the one of
	 * another tab, opened before, with the login cookie's token */
	if (r.status == 303)
		snprintf(b->csrf, sizeof(b->csrf), "%s", b->admin_pre);
	it_resp_free(&r);
	if (asprintf(&form, "username=%s&password=%s", u, p) == -1)
		abort();
	ib_post(b, &r, "/admin/login", form);
	status = r.status;
	it_resp_free(&r);
	it_source(*was ? was : NULL);	/* the caller's address again */
	free(form);
	free(u);
	free(p);
	if (status == 303) {
		ib_get(b, &r, "/admin");	/* the session's csrf */
		assert_int_equal(r.status, 200);
		it_resp_free(&r);
	}
	return status;
}

long long
ia_login(struct ib *b, const char *perms, char *username)
{
	char hex[9], email[128];
	json_t *o;
	int status;
	long long id;

	it_rand_hex(hex, 8);
	snprintf(username, 64, "ia_%s", hex);
	snprintf(email, sizeof(email), "%s@admin.example.com", username);
	o = it_acctl(&status, "admin", "add", "--username", username, "--email", email,
	    "--password", IT_ADMIN_PASSWORD, "--name", "Test Operator", "--permissions", perms,
	    NULL);
	if (status != 0 || o == NULL)
		fail_msg("acctl admin add %s: status %d", username, status);
	id = (long long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	if (ia_login_as(b, username, IT_ADMIN_PASSWORD) != 303)
		fail_msg("admin login as %s failed", username);
	return id;
}

char *
ib_urlencode(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	assert_non_null(e);
	out = strdup(e);
	curl_free(e);
	return out;
}

char *
ib_mail_link(const char *kind, const char *addr, const char *path)
{
	char re[128];
	PGresult *res;
	char *link;

	snprintf(re, sizeof(re), "%s\\?token=[A-Za-z0-9_-]+", path);
	res = it_q("SELECT substring(body FROM $3) FROM email_outbox WHERE kind = $1"
	    " AND lower(to_addr) = lower($2) ORDER BY id DESC LIMIT 1", kind, addr, re, NULL);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		fail_msg("no %s mail to %s with a %s link", kind, addr, path);
	link = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return link;
}

void
ib_open_link(struct ib *b, const char *link, const char *action, const char *password,
    struct it_resp *r)
{
	char *form, *p = password ? ib_urlencode(password) : NULL;

	ib_get(b, r, link);
	if (r->status != 200)
		fail_msg("GET %s: %ld", link, r->status);
	it_resp_free(r);
	if (asprintf(&form, "token=%s%s%s", strchr(link, '=') + 1, p ? "&password=" : "",
	    p ? p : "") == -1)
		abort();
	free(p);
	ib_post(b, r, action, form);
	free(form);
}

long long
ib_signup(struct ib *b, const char *tag, const char *name, const char *password, char *email)
{
	struct it_resp r;
	char hex[9], *form, *n = ib_urlencode(name), *p = ib_urlencode(password), *link;

	it_rand_hex(hex, 8);
	snprintf(email, 128, "%s.%s@example.com", tag, hex);
	ib_get(b, &r, "/signup");
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	if (asprintf(&form, "email=%s&password=%s&name=%s", email, p, n) == -1)
		abort();
	{
		/* a caller that chose no address signs up from one of a hundred
		 * others in turn: the suite makes more accounts a minute than
		 * nginx lets one address make (30), and tests of that limit
		 * post to /signup themselves */
		static unsigned turn;
		char addr[32], was[64];
		const char *w = it_source(NULL);	/* the caller's choice, if any */

		snprintf(was, sizeof(was), "%s", w ? w : "");
		snprintf(addr, sizeof(addr), "127.0.1.%u", 1 + turn++ % 100);
		it_source(*was ? was : addr);
		ib_post(b, &r, "/signup", form);
		it_source(*was ? was : NULL);
	}
	if (r.status != 303 || strcmp(it_header(&r, "Location", NULL),
	    "/signup?done=check_email") != 0)
		fail_msg("sign up: %ld %s", r.status, r.body);
	it_resp_free(&r);
	free(form);
	free(n);
	free(p);
	link = ib_mail_link("signup_confirm", email, "/signup/confirm");
	ib_open_link(b, link, "/signup/confirm", password, &r);
	if (r.status != 303 || strstr(it_header(&r, "Location", NULL), "done=signed_up") == NULL)
		fail_msg("sign-up link: %ld %s", r.status, r.body);
	it_resp_free(&r);
	free(link);
	ib_get(b, &r, "/");		/* the session's csrf */
	assert_int_equal(r.status, 200);
	it_resp_free(&r);
	return it_q_ll("SELECT id FROM users WHERE email = $1", email, NULL);
}

void
fx_plan_new(struct fx_plan *p)
{
	char sid[24];

	it_strategy_new(&p->strategy, "1h", NULL);
	it_rand_hex(p->plan_name, 12);
	snprintf(sid, sizeof(sid), "%lld", p->strategy.id);
	p->plan_id = it_q_ll("WITH p AS (INSERT INTO plans (name, price_minor, credits_per_period,"
	    " credit_cost) VALUES ('Plan ' || $1, 49900, 100, 1) RETURNING id),"
	    " s AS (INSERT INTO plan_strategies SELECT id, $2 FROM p) SELECT id FROM p",
	    p->plan_name, sid, NULL);
}

void
fx_subscribe(long long user_id, const struct fx_plan *p, int credits)
{
	char uid[24], pid[24], c[24], key[96];

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(key, sizeof(key), "test:grant:%lld:%lld", user_id, p->plan_id);
	snprintf(pid, sizeof(pid), "%lld", p->plan_id);
	snprintf(c, sizeof(c), "%d", credits);
	PQclear(it_q("INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " VALUES ($1, $2, 'active', now() - interval '1 day', now() + interval '30 days')",
	    uid, pid, NULL));
	if (credits > 0)
		PQclear(it_q("INSERT INTO credit_ledger (user_id, amount, kind, reference,"
		    " idempotency_key) VALUES ($1, $2, 'grant', 'test', $3)", uid, c,
		    key, NULL));
}

void
fx_subscribe_at(long long user_id, const struct fx_plan *p, const char *status,
    const char *start_ago, const char *end_in)
{
	char uid[24], pid[24];

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(pid, sizeof(pid), "%lld", p->plan_id);
	PQclear(it_q("INSERT INTO subscriptions (user_id, plan_id, status, period_start, period_end)"
	    " VALUES ($1, $2, $3, now() - $4::interval, now() + $5::interval)", uid, pid, status,
	    start_ago, end_in, NULL));
}

long long
fx_signal_at(long long strategy_id, const long long *users, int n, const char *ago,
    const char *price)
{
	char sid[24], key[33], ids[512] = "{";
	size_t len = 1;

	snprintf(sid, sizeof(sid), "%lld", strategy_id);
	it_rand_hex(key, 32);
	for (int i = 0; i < n && len < sizeof(ids) - 24; i++)
		len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%lld", i ? "," : "",
		    users[i]);
	snprintf(ids + len, sizeof(ids) - len, "}");
	return it_q_ll("WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	    " received_at, symbol, timeframe, action, price, status)"
	    " SELECT id, $2, '{}', now() - $3::interval, symbol, timeframe, 'BUY', $4::numeric,"
	    " 'processed' FROM strategies WHERE id = $1 RETURNING id),"
	    " d AS (INSERT INTO deliveries (signal_id, user_id, channel, kind, status)"
	    " SELECT s.id, u, 'email', 'entry', 'sent' FROM s, unnest($5::bigint[]) u)"
	    " SELECT id FROM s", sid, key, ago, price, ids, NULL);
}

void
fx_deliveries(long long user_id, long long strategy_id, int n)
{
	char uid[24], sid[24], sn[16], key[17];

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(sid, sizeof(sid), "%lld", strategy_id);
	snprintf(sn, sizeof(sn), "%d", n);
	it_rand_hex(key, 16);
	PQclear(it_q("WITH s AS (INSERT INTO signals (strategy_id, idempotency_key, raw_body,"
	    " received_at, symbol, timeframe, action, price, status)"
	    " SELECT st.id, $3 || ':' || i, '{}', now(), st.symbol, st.timeframe, 'BUY', 100 + i,"
	    " 'processed' FROM strategies st, generate_series(1, $4::int) i WHERE st.id = $2"
	    " RETURNING id, price)"
	    " INSERT INTO deliveries (signal_id, user_id, channel, kind, status, skip_reason)"
	    " SELECT id, $1, (ARRAY['email','telegram','sms','push'])[1 + (price::int % 4)], 'entry',"
	    " CASE WHEN price::int % 2 = 0 THEN 'sent' ELSE 'skipped' END,"
	    " CASE WHEN price::int % 2 = 0 THEN NULL ELSE 'no_credits' END FROM s",
	    uid, sid, key, sn, NULL));
}

void
ib_expect_redirect(const struct it_resp *r, const char *to)
{
	const char *loc = it_header(r, "Location", NULL);

	if (r->status != 303 || loc == NULL || strstr(loc, to) == NULL)
		fail_msg("wanted 303 to %s, got %ld (%s)", to, r->status, loc ? loc : "no Location");
}

int
it_has(const struct it_resp *r, const char *needle)
{
	return r->body != NULL && strstr(r->body, needle) != NULL;
}

/* ---- uploads -------------------------------------------------------------- */

void
mp_put(struct mp *m, const void *d, size_t n)
{
	m->p = realloc(m->p, m->n + n + 1);
	assert_non_null(m->p);
	memcpy(m->p + m->n, d, n);
	m->n += n;
	m->p[m->n] = '\0';
}

void
mp_str(struct mp *m, const char *s)
{
	mp_put(m, s, strlen(s));
}

void
mp_field(struct mp *m, const char *name, const char *value)
{
	mp_str(m, "--" MP_BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
	mp_str(m, name);
	mp_str(m, "\"\r\n\r\n");
	mp_str(m, value);
	mp_str(m, "\r\n");
}

void
mp_file(struct mp *m, const char *name, const char *filename, const char *ctype,
    const void *d, size_t n)
{
	mp_str(m, "--" MP_BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
	mp_str(m, name);
	mp_str(m, "\"; filename=\"");
	mp_str(m, filename);
	mp_str(m, "\"\r\nContent-Type: ");
	mp_str(m, ctype);
	mp_str(m, "\r\n\r\n");
	mp_put(m, d, n);
	mp_str(m, "\r\n");
}

size_t
png_chunk(unsigned char *o, const char *type, const unsigned char *d, uint32_t n)
{
	uint32_t c;

	o[0] = (unsigned char)(n >> 24);
	o[1] = (unsigned char)(n >> 16);
	o[2] = (unsigned char)(n >> 8);
	o[3] = (unsigned char)n;
	memcpy(o + 4, type, 4);
	if (n > 0)
		memcpy(o + 8, d, n);
	c = (uint32_t)crc32(0, o + 4, n + 4);
	o[8 + n] = (unsigned char)(c >> 24);
	o[9 + n] = (unsigned char)(c >> 16);
	o[10 + n] = (unsigned char)(c >> 8);
	o[11 + n] = (unsigned char)c;
	return 12 + n;
}

size_t
png_make(unsigned char *o)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	static const unsigned char ihdr[13] = { 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0 };
	static const unsigned char raw[2] = { 0, 0x7f };	/* filter 0, one grey pixel */
	unsigned char z[64];
	uLongf zn = sizeof(z);
	size_t n = 8;

	assert_int_equal(compress(z, &zn, raw, sizeof(raw)), Z_OK);
	memcpy(o, sig, 8);
	n += png_chunk(o + n, "IHDR", ihdr, 13);
	n += png_chunk(o + n, "IDAT", z, (uint32_t)zn);
	n += png_chunk(o + n, "IEND", NULL, 0);
	return n;
}

void
ib_proof_is(struct ib *b, const char *path, const void *proof, size_t n, const char *ctype,
    const char *disposition)
{
	struct it_resp r;
	const char *d;

	ib_get(b, &r, path);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, n);
	assert_memory_equal(r.body, proof, n);
	assert_string_equal(it_header(&r, "Content-Type", NULL) ?: "", ctype);
	assert_string_equal(it_header(&r, "X-Content-Type-Options", NULL) ?: "", "nosniff");
	d = it_header(&r, "Content-Disposition", NULL);
	if (d == NULL || strncmp(d, disposition, strlen(disposition)) != 0)
		fail_msg("%s: Content-Disposition %s (wanted %s)", path, d ? d : "(none)",
		    disposition);
	it_resp_free(&r);
}
