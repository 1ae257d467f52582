/*
 * send.c — the sending runner: every item of a batch sent at once through
 * one libcurl multi handle, within each provider's concurrency, rate slots
 * and breaker (limits.c), each attempt classified by provider.h and its
 * result (struct send_result) left on the item; and, for deliveries, the
 * sends recorded as sent in the database while the next ones go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/pgarray.h"
#include "base/util.h"
#include "deliver/internal.h"

#define RECORD_MS	10	/* a send is recorded as sent at most this long after it... */
#define RECORD_MAX	128	/* ...or once this many are waiting */

static struct {
	struct send_cfg	 cfg;
	CURLM		*multi;
	void		(*out_fn)(void *);	/* send_when_out() */
	void		*out_arg;
} S;

void
send_when_out(void (*fn)(void *), void *arg)
{
	S.out_fn = fn;
	S.out_arg = arg;
}

/* The send_when_out() call, if one is due. */
static void
out_now(void)
{
	void (*fn)(void *) = S.out_fn;

	S.out_fn = NULL;
	if (fn != NULL)
		fn(S.out_arg);
}

void
send_init(const struct send_cfg *cfg)
{
	send_done();
	S.cfg = *cfg;
}

void
send_done(void)
{
	if (S.multi != NULL)
		curl_multi_cleanup(S.multi);
	S.multi = NULL;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* send_connect(), see internal.h. One GET a distinct API base, all at once,
 * 2 s at most: what it answers does not matter (a provider's API root is
 * a 404 or a redirect), only that the connection stays open for the
 * sends that follow through the same multi handle. */
int
send_connect(void)
{
	CURL *easy[AC_PROV__MAX];
	char url[AC_PROV__MAX][1024];
	int n = 0, answered = 0, running;
	CURLMsg *msg;

	if (S.multi == NULL && (S.multi = curl_multi_init()) == NULL)
		abort();
	for (int p = 0; p < AC_PROV__MAX; p++) {
		const struct ac_prov_cfg *c = &S.cfg.prov[p];
		int seen = 0;

		if (p == AC_PROV_SMTP || !(S.cfg.enabled & (1u << p)) || c->base == NULL ||
		    *c->base == '\0')
			continue;
		snprintf(url[n], sizeof(url[n]), "%s/", c->base);
		for (int q = 0; q < n && !seen; q++)
			seen = strcmp(url[q], url[n]) == 0;
		if (seen)
			continue;
		if ((easy[n] = curl_easy_init()) == NULL)
			abort();
		curl_easy_setopt(easy[n], CURLOPT_URL, url[n]);
		curl_easy_setopt(easy[n], CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy[n], CURLOPT_TIMEOUT_MS, 2000L);
		curl_easy_setopt(easy[n], CURLOPT_WRITEFUNCTION, discard);
		curl_multi_add_handle(S.multi, easy[n]);
		n++;
	}
	for (running = n; running > 0;) {
		curl_multi_perform(S.multi, &running);
		while ((msg = curl_multi_info_read(S.multi, &(int){ 0 })) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK)
				answered++;
		if (running > 0)
			curl_multi_poll(S.multi, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < n; i++) {
		curl_multi_remove_handle(S.multi, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	return answered;
}

/* ---- results ------------------------------------------------------------------ */

/* A copy of s (NULL: NULL). */
static char *
copy(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		abort();
	return d;
}

void
result_clear(struct send_result *r)
{
	free(r->message);
	free(r->pmid);
	free(r->error);
	free(r->chat);
	memset(r, 0, sizeof(*r));
}

const char *
result_error(const struct send_result *r)
{
	return r->error != NULL ? r->error : "";
}

/* it's result, of kind v: by provider, with the rendered text (none for
 * GONE and WRITTEN). */
static void
result_set(struct item *it, enum send_kind v, const char *provider)
{
	result_clear(&it->res);
	it->res.v = v;
	if (v != SEND_GONE && v != SEND_WRITTEN) {
		it->res.provider = provider;
		it->res.message = copy(it->t.text);
		it->res.user_id = it->user_id;
	}
	it->state = I_DONE;
}

/* How many attempts this result adds to the delivery's count: its place
 * in the plan, less one when this attempt did not reach the provider.
 * Usually 1 or 0; more when the provider refused our account and the
 * attempts left on it were skipped for the backup's. */
static int
counted(const struct item *it, int sent)
{
	int at = it->pos - (sent ? 0 : 1);

	return at > it->attempts ? at - it->attempts : 0;
}

/* 1 if this attempt is the plan's last. */
static int
last_attempt(const struct item *it)
{
	int total = 0;

	for (int k = 0; k < it->plan.n; k++)
		total += it->plan.tries[k];
	return it->pos >= total;
}

/* The delivery must be tried again in ms (at least 1) with reason;
 * sent: this attempt reached the provider (it counts). */
static void
result_retry(struct item *it, int64_t ms, const char *reason, int sent)
{
	result_set(it, SEND_RETRY, ac_prov_name(it->prov));
	it->res.retry_in_ms = ms > 0 ? ms : 1;
	it->res.counted = counted(it, sent);
	it->res.error = copy(reason);
}

void
item_retry_in(struct item *it, int64_t ms, const char *reason)
{
	result_clear(&it->res);
	it->res.v = SEND_RETRY;
	it->res.retry_in_ms = ms;
	it->res.error = copy(reason);
	it->state = I_DONE;
}

void
item_stale(struct item *it)
{
	result_set(it, SEND_STALE, ac_prov_name(it->prov));
	it->res.error = copy("stale: could not leave within the strategy's maximum age");
}

void
item_gone(struct item *it)
{
	result_set(it, SEND_GONE, NULL);
}

void
item_failed(struct item *it, const char *provider, const char *reason, int blocked, int sent)
{
	result_set(it, SEND_FAILED, provider);
	it->res.counted = counted(it, sent);
	it->res.error = copy(reason);
	if (blocked) {
		it->res.blocked = 1;
		it->res.chat = copy(it->to);
	}
}

/* ---- the sent deliveries' columns ------------------------------------------------ */

/* Every delivery of a batch that went out (or to the outbox) marked sent in
 * one statement: ids[i] with its provider, message and provider message
 * id. Returns the ids updated. The signal's row is not touched: a fan-out
 * holds it while its parts run, and its head's deliveries are sent
 * meanwhile (sql/027_signal_counts.sql). */
const struct ac_stmt st_sent_many = { "deliver_sent_many",
	"WITH x AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])"
	"  AS x(id, provider, message, pmid)),"
	" d AS (UPDATE deliveries d SET status = 'sent', provider = x.provider,"
	"  message = x.message, provider_message_id = nullif(x.pmid, ''),"
	"  attempts = d.attempts + 1, error = NULL, sent_at = now(), updated_at = now()"
	/* found by id (= ANY, the primary key): joined to x alone the planner
	 * hashed every queued delivery, a backlog of 190,000 for a batch of
	 * 10,000, and the cost of a batch grew with the backlog */
	"  FROM x WHERE d.id = ANY ($1::bigint[]) AND d.id = x.id AND d.status = 'queued'"
	"  RETURNING d.id)"
	" SELECT id FROM d", 4 };

void
sent_cols_init(struct sent_cols *c)
{
	ac_pgarray_init(&c->ids);
	ac_pgarray_init(&c->prov);
	ac_pgarray_init(&c->msg);
	ac_pgarray_init(&c->pmid);
}

void
sent_cols_add(struct sent_cols *c, long long id, const struct send_result *r)
{
	ac_pgarray_ll(&c->ids, id);
	ac_pgarray_str(&c->prov, r->provider);
	ac_pgarray_str(&c->msg, r->message);
	ac_pgarray_str(&c->pmid, r->pmid != NULL ? r->pmid : "");
}

void
sent_cols_vals(struct sent_cols *c, const char *vals[4])
{
	vals[0] = ac_pgarray_text(&c->ids);
	vals[1] = ac_pgarray_text(&c->prov);
	vals[2] = ac_pgarray_text(&c->msg);
	vals[3] = ac_pgarray_text(&c->pmid);
}

void
sent_cols_free(struct sent_cols *c)
{
	ac_pgarray_free(&c->ids);
	ac_pgarray_free(&c->prov);
	ac_pgarray_free(&c->msg);
	ac_pgarray_free(&c->pmid);
}

/* ---- one send ------------------------------------------------------------------ */

/* Collects the body. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct item *it = arg;
	size_t len = size * n;

	if (it->resp.len + len > 1 << 20)
		return 0;
	ac_buf_add(&it->resp, p, len);
	return len;
}

/* Keeps Retry-After. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct item *it = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		size_t k = 12, m = 0;

		while (k < len && (p[k] == ' ' || p[k] == '\t'))
			k++;
		while (k < len && m + 1 < sizeof(it->retry_after) && p[k] >= '0' && p[k] <= '9')
			it->retry_after[m++] = p[k++];
		it->retry_after[m] = '\0';
	}
	return len;
}

/* What it says, for the provider's wire format (borrowed from it). */
static struct ac_outmsg
outmsg(const struct item *it)
{
	return (struct ac_outmsg){ it->key_ns, it->delivery_id, it->to,
	    it->t.subject, it->t.text, it->t.html, it->t.url, it->t.unsubscribe };
}

/* Builds it's transfer for it->prov. 0, or -1 with the reason in
 * it->curl_err (a message the provider cannot take). */
static int
item_transfer(struct item *it)
{
	const struct ac_prov_cfg *c = &S.cfg.prov[it->prov];
	CURL *e;

	if ((e = it->easy = curl_easy_init()) == NULL)
		abort();
	curl_easy_setopt(e, CURLOPT_PRIVATE, it);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)S.cfg.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(S.cfg.timeout_ms < 5000 ?
	    S.cfg.timeout_ms : 5000));
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, it);
	/* SMTP: the message is set on the handle here */
	if (it->prov == AC_PROV_SMTP) {
		struct ac_outmsg m = outmsg(it);
		char id[160], rnd[17];
		unsigned char r8[8];
		const char *at = strrchr(c->from, '@');
		struct ac_err err;

		ac_random_bytes(r8, sizeof(r8));
		ac_hex(r8, sizeof(r8), rnd);
		snprintf(id, sizeof(id), "%s-%lld.%s@%.*s", it->key_ns, it->delivery_id, rnd,
		    at ? (int)strcspn(at + 1, ">") : 9, at ? at + 1 : "alertcast");
		if (ac_prov_smtp(e, c, &m, id, ac_now_ms() / 1000, &it->smtp, &err) == -1) {
			snprintf(it->curl_err, sizeof(it->curl_err), "%.*s", (int)sizeof(it->curl_err) - 1, err.message);
			return -1;
		}
		return 0;
	}
	{
		struct ac_outmsg one = outmsg(it), *m = &one;
		size_t n = it->group != NULL ? it->ngroup : 1;
		int rc;

		if (it->group != NULL) {
			if ((m = calloc(n, sizeof(*m))) == NULL)
				abort();
			for (size_t k = 0; k < n; k++)
				m[k] = outmsg(it->group[k]);
		}
		if (it->req == NULL && (it->req = calloc(1, sizeof(*it->req))) == NULL)
			abort();
		rc = ac_prov_request_batch(it->prov, c, m, n, it->req, it->curl_err,
		    sizeof(it->curl_err));
		if (m != &one)
			free(m);
		if (rc == -1)
			return -1;
	}
	for (int h = 0; h < it->req->nheaders; h++)
		it->headers = curl_slist_append(it->headers, it->req->headers[h]);
	curl_easy_setopt(e, CURLOPT_URL, it->req->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->req->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, it);
	if (it->req->basic_user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, it->req->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, it->req->basic_pass ? it->req->basic_pass : "");
	}
	return 0;
}

/* Frees it's transfer (the texts and the result stay). */
void
item_reset(struct item *it)
{
	if (it->easy != NULL) {
		curl_multi_remove_handle(S.multi, it->easy);
		curl_easy_cleanup(it->easy);
	}
	curl_slist_free_all(it->headers);
	if (it->req != NULL)
		free(it->req->body);
	free(it->req);
	ac_smtp_free(&it->smtp);
	ac_buf_free(&it->resp);
	it->easy = NULL;
	it->headers = NULL;
	it->req = NULL;
	it->retry_after[0] = it->curl_err[0] = '\0';
}

void
item_target(struct item *it, const char *ns, long long id, long long user_id, int ch,
    const char *to)
{
	it->key_ns = ns;
	it->delivery_id = id;
	it->user_id = user_id;
	it->ch = ch;
	if (to != NULL)
		snprintf(it->to, sizeof(it->to), "%s", to);
}

int
item_plan(struct item *it, int attempt)
{
	ac_retry_plan_for(it->ch >= 0 ? ac_channel_name(it->ch) : "", S.cfg.enabled, &it->plan);
	if (it->plan.n == 0) {
		result_set(it, SEND_OUTBOX, "outbox");
		return -1;
	}
	it->pos = attempt;
	if (ac_retry_plan_step(&it->plan, attempt, &it->step, &it->nth) == -1) {
		item_failed(it, ac_prov_name(it->plan.prov[it->plan.n - 1]),
		    "attempts used up", 0, 0);
		return -1;
	}
	it->prov = it->plan.prov[it->step];
	return 0;
}

/* The chat a send of it is limited by (Telegram's), or 0. */
static long long
item_chat(const struct item *it)
{
	return it->prov == AC_PROV_TELEGRAM ? strtoll(it->to, NULL, 10) : 0;
}

/* The index in it's plan of the provider it is sent to now. */
static int
item_prov_step(const struct item *it)
{
	for (int k = it->plan.n - 1; k > 0; k--)
		if (it->plan.prov[k] == it->prov)
			return k;
	return 0;
}

/* Lets it through its provider's breaker: 1 with it->prov the provider
 * to use (the backup, while the primary's circuit is open), or 0 with a
 * retry after the cool-down left (every circuit of its plan is open). */
static int
item_breaker(struct item *it)
{
	char why[96];

	if (circuit_allows(it->prov, &it->probe))
		return 1;
	/* the backup takes this attempt while the primary's circuit is open;
	 * the attempt keeps its place in the plan, so none is lost */
	if (it->step + 1 < it->plan.n && circuit_allows(it->plan.prov[it->step + 1],
	    &it->probe)) {
		it->prov = it->plan.prov[it->step + 1];
		it->slotted = 0;
		return 1;
	}
	/* nothing was sent, so no attempt is used up: the delivery waits out
	 * the outage (the half-open probe tells when it is over) */
	snprintf(why, sizeof(why), "%s: circuit open", ac_prov_name(it->prov));
	result_retry(it, limits_cooldown_ms(), why, 0);
	return 0;
}

/* ---- requests of many (the providers' bulk forms) ----------------------------- */

static int
cmp_item_id(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;

	return (x->delivery_id > y->delivery_id) - (x->delivery_id < y->delivery_id);
}

/* The recipients of the request being put together: an open-addressing
 * set of strings (the items' own), emptied by a new generation. */
struct toset {
	struct { const char *to; unsigned gen; } *slot;
	size_t		 cap;
	unsigned	 gen;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* 1 if to was added to t, 0 if it is in t already. */
static int
toset_add(struct toset *t, const char *to)
{
	size_t i = (size_t)hash_str(to) & (t->cap - 1);

	while (t->slot[i].gen == t->gen) {
		if (strcmp(t->slot[i].to, to) == 0)
			return 0;
		i = (i + 1) & (t->cap - 1);
	}
	t->slot[i].to = to;
	t->slot[i].gen = t->gen;
	return 1;
}

/* 1 if it may lead or join a request of many: a delivery waiting, no
 * exit waiting for its entry, on a provider with a bulk form. */
static int
groupable(const struct item *it)
{
	return it->state == I_WAIT && it->lead == NULL && it->group == NULL &&
	    it->after == NULL && strcmp(it->key_ns, "delivery") == 0 &&
	    ac_prov_batch_max(it->prov) > 1;
}

/* Puts the deliveries waiting, in the order sent (ord), into requests of
 * many where their provider has a bulk form: each that leads takes the
 * next ones of its provider and deadline that its request may carry
 * (ac_prov_batchable(): OneSignal's same content, never one recipient
 * twice), up to the provider's most. A lead's members are sorted by id,
 * so the same deliveries make the same request and idempotency key. */
static void
send_group(struct item **ord, size_t n)
{
	struct toset set = { NULL, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		struct item *lead = ord[i];
		struct ac_outmsg lm, mm;
		size_t max, units, room = 8;

		if (!groupable(lead))
			continue;
		max = ac_prov_batch_max(lead->prov);
		if (set.cap < 2 * max) {
			free(set.slot);
			for (set.cap = 64; set.cap < 2 * max; set.cap *= 2)
				;
			if ((set.slot = calloc(set.cap, sizeof(*set.slot))) == NULL)
				abort();
			set.gen = 0;
		}
		set.gen++;
		toset_add(&set, lead->to);
		if ((lead->group = malloc(room * sizeof(*lead->group))) == NULL)
			abort();
		lead->group[0] = lead;
		lead->ngroup = 1;
		lm = outmsg(lead);
		/* recipients, not messages, count toward the request's limit (a
		 * push goes to each of the user's devices) */
		units = ac_prov_recipients(lead->prov, lead->to);
		for (size_t j = i + 1; j < n && units < max; j++) {
			struct item *m = ord[j];
			size_t mu;

			if (!groupable(m) || m->prov != lead->prov || m->deadline != lead->deadline)
				continue;
			mu = ac_prov_recipients(m->prov, m->to);
			if (units + mu > max)
				continue;
			mm = outmsg(m);
			if (!ac_prov_batchable(lead->prov, &lm, &mm) || !toset_add(&set, m->to))
				continue;
			units += mu;
			if (lead->ngroup == room && (lead->group = realloc(lead->group,
			    (room *= 2) * sizeof(*lead->group))) == NULL)
				abort();
			lead->group[lead->ngroup++] = m;
			m->lead = lead;
		}
		if (lead->ngroup == 1) {
			free(lead->group);
			lead->group = NULL;
			lead->ngroup = 0;
			continue;
		}
		lead->units = units;
		qsort(lead->group, lead->ngroup, sizeof(*lead->group), cmp_item_id);
	}
	free(set.slot);
}

/* Takes lead's members off it (its group array, which the caller frees):
 * each is on its own again. */
static struct item **
group_take(struct item *lead, size_t *n)
{
	struct item **g = lead->group;

	*n = lead->ngroup;
	for (size_t k = 0; k < *n; k++)
		g[k]->lead = NULL;
	lead->group = NULL;
	lead->ngroup = 0;
	return g;
}

/* The members of one request that are to be tried again are due at one
 * instant (their retry jobs are claimed together, so the request is made
 * again as it was, with its idempotency key). */
static void
group_retry_at(struct item **g, size_t n)
{
	int64_t now = ac_now_ms();

	for (size_t k = 0; n > 1 && k < n; k++)
		if (g[k]->res.v == SEND_RETRY)
			g[k]->res.retry_at_ms = now + g[k]->res.retry_in_ms;
}

/* lead came to a result with no request made (a breaker open, a rate
 * slot too far, too late, a message its provider cannot take): every
 * member comes to the same. */
static void
group_settle(struct item *lead)
{
	size_t n;
	struct item **g = group_take(lead, &n);

	for (size_t k = 0; k < n; k++) {
		struct item *m = g[k];

		if (m == lead)
			continue;
		m->prov = lead->prov;
		if (lead->res.v == SEND_RETRY)
			result_retry(m, lead->res.retry_in_ms, lead->res.error, 0);
		else if (lead->res.v == SEND_STALE)
			item_stale(m);
		else
			item_failed(m, lead->res.provider, result_error(&lead->res), 0, 0);
	}
	group_retry_at(g, n);
	free(g);
}

/* A provider whose requests are at least this far apart at its rate
 * (Netgsm's 100 ms, Resend's 500) has a request short of its most held
 * back (send_hold()): waiting for its next slot anyway, it loses nothing,
 * where at OneSignal's 7 ms holding would only delay. */
#define HOLD_GAP_MS 50

/* it and its members, all that may be held (send_hold()). */
static int
all_holdable(const struct item *it)
{
	if (it->group == NULL)
		return it->holdable;
	for (size_t k = 0; k < it->ngroup; k++)
		if (!it->group[k]->holdable)
			return 0;
	return 1;
}

/* Marks it and its members SEND_HELD: not sent, each to go again in a
 * deliver job of the held, which the next batch takes first. */
static void
hold(struct item *it)
{
	size_t n = 1;
	struct item **g = it->group != NULL ? group_take(it, &n) : &it;

	for (size_t k = 0; k < n; k++) {
		result_set(g[k], SEND_HELD, ac_prov_name(it->prov));
		g[k]->res.counted = 0;
	}
	if (g != &it)
		free(g);
}

/*
 * A batch's requests of a provider held to a rate (HOLD_GAP_MS) go out
 * full, but for the last: a claim of 831 deliveries made requests of 500
 * and 331, each taking a slot (Netgsm: 100 ms), and a fan-out's claims
 * left a short request each, 4 or 5 slots of 20 for 10,000 SMS
 * (bench/reach). So when the batch has a full request of the provider,
 * its short ones are held back (SEND_HELD) to start the next batch, which
 * takes them first with whatever was queued meanwhile. A delivery is held
 * once: then it goes in whatever request it is in (a job of the held is
 * not held again), and a batch with no full request (the head of a
 * fan-out, a small one) sends at once.
 */
static void
send_hold(struct item **ord, size_t n)
{
	unsigned full = 0;

	for (size_t i = 0; i < n; i++) {
		struct item *it = ord[i];

		if (it->group != NULL && it->units >= ac_prov_batch_max(it->prov))
			full |= 1u << it->prov;
	}
	for (size_t i = 0; i < n && full != 0; i++) {
		struct item *it = ord[i];

		if (!(full & (1u << it->prov)) || it->state != I_WAIT || it->lead != NULL ||
		    limits_gap_ms(it->prov) < HOLD_GAP_MS)
			continue;
		if ((it->group != NULL ? it->units < ac_prov_batch_max(it->prov) : groupable(it)) &&
		    all_holdable(it))
			hold(it);
	}
}

/* ---- starting and finishing a send --------------------------------------------- */

/* item_start() but for the group: 1 if it went, 0 if it waits, and 1 as
 * well when it got a result. */
static int
item_try(struct item *it, int *inflight, int *total)
{
	int64_t now = ac_now_ms(), wait;
	int booked, running;

	/* an exit goes once its entry has had an answer; after the entry's
	 * retry, not before it */
	if (it->after != NULL) {
		if (it->after->state != I_DONE)
			return 0;
		if (it->after->res.v == SEND_RETRY || it->after->res.v == SEND_HELD) {
			result_retry(it, it->after->res.retry_in_ms + 1, "waiting for its entry", 0);
			return 1;
		}
		it->after = NULL;
	}
	if (it->deadline > 0 && now > it->deadline) {
		item_stale(it);
		return 1;
	}
	if (!it->slotted && !item_breaker(it))
		return 1;
	/* the backup (SMTP, Twilio) has no bulk form: each member on its own */
	if (it->group != NULL && ac_prov_batch_max(it->prov) < 2)
		free(group_take(it, &(size_t){ 0 }));
	if (inflight[it->prov] >= S.cfg.conc[it->prov] || *total >= S.cfg.total_conc)
		return 0;
	if (!it->slotted) {
		it->not_before = limits_reserve(it->prov, item_chat(it), now, &booked);
		if (!booked) {
			/* back when the slot it would have had is near, unless
			 * that is too late already */
			if (it->deadline > 0 && it->not_before > it->deadline)
				item_stale(it);
			else
				result_retry(it, it->not_before - now - limits_horizon_ms() / 2,
				    "rate limit: later slot", 0);
			return 1;
		}
		it->slotted = 1;
		/* its slot comes after the signal is too old to act on */
		if (it->deadline > 0 && it->not_before > it->deadline) {
			item_stale(it);
			return 1;
		}
	}
	if (it->not_before > now)
		return 0;
	/* a hold that began after the slot was booked: book again, after it */
	if (limits_held(it->prov, item_chat(it)) > now) {
		it->slotted = 0;
		return 0;
	}
	/* the circuit may have opened while this send waited for its slot */
	if (!it->probe && !circuit_closed(it->prov)) {
		it->slotted = 0;
		if (!item_breaker(it))
			return 1;
		return 0;
	}
	if ((wait = limits_window_wait(it->prov, item_chat(it))) > 0) {
		it->not_before = now + wait;
		return 0;
	}
	for (size_t k = 0; k < it->ngroup; k++)
		it->group[k]->prov = it->prov;
	if (item_transfer(it) == -1) {
		item_failed(it, ac_prov_name(it->prov), it->curl_err, 0, 0);
		item_reset(it);
		return 1;
	}
	curl_multi_add_handle(S.multi, it->easy);
	/* a rate-limited send on its way now, not after the others */
	if (limits_paced(it->prov, item_chat(it)))
		curl_multi_perform(S.multi, &running);
	it->state = I_FLIGHT;
	for (size_t k = 0; k < it->ngroup; k++)
		it->group[k]->state = I_FLIGHT;
	inflight[it->prov]++;
	(*total)++;
	return 1;
}

/* Starts it (and the members of its request) if its provider's breaker,
 * rate slot and concurrency allow, and its entry (an exit's) has had its
 * answer; 1 if it went, 0 if it waits, and 1 as well when it got a
 * result (then its members got the same). */
static int
item_start(struct item *it, int *inflight, int *total)
{
	int rc = item_try(it, inflight, total);

	if (it->state == I_DONE && it->group != NULL)
		group_settle(it);
	return rc;
}

/* Applies the classified answer a to it: the result left, or (a
 * provider that refused our account, a migrated Telegram group) it
 * waits to be sent again. probe: the request was the half-open breaker's
 * probe. */
static void
item_apply(struct item *it, const struct ac_answer *a, int probe)
{
	int64_t wait;

	switch (a->verdict) {
	case AC_SEND_OK:
		result_set(it, SEND_SENT, ac_prov_name(it->prov));
		it->res.pmid = copy(a->id);
		if (it->migrated)
			it->res.chat = copy(it->to);
		return;
	case AC_SEND_PERMANENT:
		item_failed(it, ac_prov_name(it->prov), a->reason, a->blocked, 1);
		return;
	case AC_SEND_ACCOUNT:
		/* not this message's fault: the backup, at once and with all of
		 * its attempts (those left on this provider are skipped) */
		if (item_prov_step(it) + 1 < it->plan.n) {
			int pos = 1;

			for (int k = 0; k <= item_prov_step(it); k++)
				pos += it->plan.tries[k];
			it->pos = pos;
			ac_retry_plan_step(&it->plan, pos, &it->step, &it->nth);
			it->prov = it->plan.prov[it->step];
			it->slotted = 0;
			it->state = I_WAIT;
			return;
		}
		result_retry(it, limits_cooldown_ms(), a->reason, 1);
		return;
	case AC_SEND_RETRY:
		break;
	}
	if (a->migrate_chat[0] != '\0' && !it->migrated) {
		snprintf(it->to, sizeof(it->to), "%s", a->migrate_chat);
		it->migrated = 1;
		it->slotted = 0;
		it->state = I_WAIT;
		return;
	}
	if (last_attempt(it) && probe) {
		/* the half-open breaker's probe, failed: the outage goes on,
		 * and the message has not had its last chance. It is not
		 * counted and waits two cool-downs, so another delivery takes
		 * the next probe (one that always fails is skipped as stale
		 * once past its signal's maximum age) */
		result_retry(it, 2 * (int64_t)limits_cooldown_ms(), a->reason, 0);
		return;
	}
	if (last_attempt(it)) {
		item_failed(it, ac_prov_name(it->prov), a->reason, 0, 1);
		return;
	}
	/* the backup's first attempt follows at once; else the backoff */
	wait = it->nth >= it->plan.tries[it->step] ? 1 : ac_delivery_backoff_ms(it->nth);
	if (a->retry_after_ms > wait)
		wait = a->retry_after_ms;
	result_retry(it, wait, a->reason, 1);
}

/* A finished transfer of it: classified (for a request of many, per
 * member), the breaker told, the result left on it and each member. */
static void
item_finish(struct item *it, CURLcode cc)
{
	struct ac_answer one, *a = &one;
	struct ac_outmsg *m;
	struct item **g = &it;
	size_t n = 1;
	long status = 0;
	const char *terr = it->curl_err[0] ? it->curl_err : curl_easy_strerror(cc);
	const char *ra = it->retry_after[0] ? it->retry_after : NULL;
	int probe;

	curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
	if (it->group == NULL)
		ac_prov_classify(it->prov, (int)cc, terr, status, it->resp.p, ra, &one);
	else {
		g = group_take(it, &n);
		if ((a = calloc(n, sizeof(*a))) == NULL || (m = calloc(n, sizeof(*m))) == NULL)
			abort();
		for (size_t k = 0; k < n; k++)
			m[k] = outmsg(g[k]);
		ac_prov_classify_batch(it->prov, (int)cc, terr, status, it->resp.p, ra, m, n, a);
		free(m);
	}
	item_reset(it);
	probe = it->probe;
	it->probe = 0;
	/* the request's outcome (a member refused for good is no outage) */
	if (a[0].verdict == AC_SEND_ACCOUNT)
		circuit_trip(it->prov);
	else
		circuit_outcome(it->prov, a[0].verdict != AC_SEND_RETRY || a[0].retry_after_ms > 0);
	/* a provider that said when to come back: nothing more goes to that
	 * chat (Telegram) or that account (the others) before then */
	if (a[0].retry_after_ms > 0)
		limits_hold(it->prov, item_chat(it), ac_now_ms() + a[0].retry_after_ms);
	for (size_t k = 0; k < n; k++) {
		item_apply(g[k], &a[k], probe);
		/* a half-open probe that failed: the outage goes on. It waits
		 * two cool-downs, so the next probe is another delivery's and
		 * one message does not use up its attempts testing an outage */
		if (probe && g[k]->res.v == SEND_RETRY && g[k]->res.counted > 0 &&
		    g[k]->res.retry_in_ms < 2 * (int64_t)limits_cooldown_ms())
			g[k]->res.retry_in_ms = 2 * (int64_t)limits_cooldown_ms();
	}
	group_retry_at(g, n);
	if (g != &it) {
		free(g);
		free(a);
	}
}

/* The sent deliveries being recorded while the sends go on: one
 * statement at a time in flight on db's connection, and its items. */
struct recording {
	struct ac_db	 *db;
	int		  busy;
	struct ac_buf	  offered;	/* struct item *[n] */
	size_t		  n;
};

/* The items of the recording in flight. */
static struct item **
offered(struct recording *rc)
{
	return (struct item **)(void *)rc->offered.p;
}

static void	record_start(struct recording *, struct item *, size_t);
static void	record_done(struct recording *, int);

/* send_run()'s order: the users whose plan goes first, then the order
 * the jobs were claimed in (their items' place in the batch). */
static int
cmp_order(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;

	if (x->priority != y->priority)
		return y->priority - x->priority;
	return (x > y) - (x < y);
}

/* Links each exit waiting for its entry to the entry's item, when that
 * is in this batch (ord sorted by id); else the exit waits for the
 * entry's own send (a retry of its own, no attempt counted). */
static void
link_entries(struct item **byid, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = byid[i], want, *w = &want, **hit;

		if (it->entry_id == 0 || it->state != I_WAIT)
			continue;
		want.delivery_id = it->entry_id;
		hit = bsearch(&w, byid, n, sizeof(*byid), cmp_item_id);
		if (hit != NULL && strcmp((*hit)->key_ns, "delivery") == 0)
			it->after = *hit;
		else
			result_retry(it, 1000, "waiting for its entry", 0);
	}
}

/* Drives the items' sends until each has a result (or, after *stop, until
 * those in flight have ended; the rest are left unstarted), in a stated
 * order: the users whose plan has the priority feature first, then as
 * the jobs were claimed, an exit never before its entry; many messages in one
 * request where the provider has a bulk form (send_group()). With db, the
 * deliveries sent are recorded as they go (RECORD_MS, RECORD_MAX), so a
 * worker killed mid-batch leaves milliseconds of sends unrecorded, not the
 * batch: a re-run finds them sent and sends nothing again. */
void
send_run(struct item *items, size_t n, const volatile sig_atomic_t *stop, struct ac_db *db)
{
	int inflight[AC_PROV__MAX] = { 0 }, total = 0;
	size_t first = 0, ofirst = 0, unrecorded = 0;
	int64_t recorded_at = ac_mono_ms();
	struct recording rec = { .db = db, .offered = AC_BUF_INIT };
	struct item **ord;

	if (S.multi == NULL && (S.multi = curl_multi_init()) == NULL)
		abort();
	if ((ord = calloc(n + 1, sizeof(*ord))) == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		ord[i] = &items[i];
	qsort(ord, n, sizeof(*ord), cmp_item_id);
	link_entries(ord, n);
	qsort(ord, n, sizeof(*ord), cmp_order);
	send_group(ord, n);
	send_hold(ord, n);
	for (;;) {
		int64_t now = ac_now_ms(), next = now + 100;
		int running, left = 0;
		CURLMsg *msg;

		while (first < n && items[first].state == I_DONE)
			first++;
		while (ofirst < n && ord[ofirst]->state == I_DONE)
			ofirst++;
		for (size_t i = ofirst; i < n && !(stop && *stop); i++) {
			struct item *it = ord[i];

			if (it->state != I_WAIT || it->lead != NULL)
				continue;
			left++;
			if (!item_start(it, inflight, &total) && it->slotted && it->not_before < next)
				next = it->not_before;
		}
		if (stop && *stop) {
			/* a job counts as started if one of its sends was
			 * reserved (or rides on one that was); its items still
			 * waiting are retried alone (not counted), the other
			 * jobs go back unstarted */
			left = 0;
			for (size_t i = 0; i < n; i++)
				items[i].job->started = 0;
			for (size_t i = 0; i < n; i++)
				if (items[i].slotted || (items[i].lead && items[i].lead->slotted))
					items[i].job->started = 1;
			for (size_t i = first; i < n; i++) {
				struct item *it = &items[i];

				if (it->state != I_WAIT || !it->job->started ||
				    (it->lead != NULL && it->lead->state != I_WAIT))
					continue;
				if (it->group != NULL)
					free(group_take(it, &(size_t){ 0 }));
				result_retry(it, 1, "worker stopping", 0);
			}
		}
		if (total == 0 && left == 0)
			break;
		curl_multi_perform(S.multi, &running);
		out_now();	/* the first pass: what could go is on its way */
		while ((msg = curl_multi_info_read(S.multi, &running)) != NULL) {
			struct item *it;
			size_t members;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
			inflight[it->prov]--;
			total--;
			members = it->group != NULL ? it->ngroup : 1;
			item_finish(it, msg->data.result);
			unrecorded += members;
			next = now;
		}
		record_done(&rec, 0);
		if (db != NULL && unrecorded > 0 && (unrecorded >= RECORD_MAX || total == 0 ||
		    ac_mono_ms() - recorded_at >= RECORD_MS)) {
			record_start(&rec, items + first, n - first);
			unrecorded = 0;
			recorded_at = ac_mono_ms();
		}
		now = ac_now_ms();
		if (next > now) {
			/* the recording's answer wakes the wait as a send's does */
			struct curl_waitfd pg = { .fd = rec.busy ? PQsocket(ac_db_conn(db)) : -1,
			    .events = CURL_WAIT_POLLIN };

			curl_multi_poll(S.multi, &pg, pg.fd >= 0 ? 1 : 0, (int)(next - now), NULL);
		}
	}
	record_done(&rec, 1);
	out_now();	/* nothing went: no one is to wait for it */
	ac_buf_free(&rec.offered);
	free(ord);
}

/* Sends the statement recording the deliveries of items[0..n) sent since
 * the last one (st_sent_many, its own transaction) without waiting for it:
 * the sends go on meanwhile, and record_done() takes the answer. */
static void
record_start(struct recording *rc, struct item *items, size_t n)
{
	struct sent_cols c;
	const char *vals[4];

	record_done(rc, 1);
	ac_buf_reset(&rc->offered);
	rc->n = 0;
	sent_cols_init(&c);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];

		if (it->state != I_DONE || it->recorded || it->res.v == SEND_NONE)
			continue;
		if (it->res.v != SEND_SENT || it->res.chat != NULL) {
			it->recorded = 2;
			continue;
		}
		ac_buf_add(&rc->offered, &it, sizeof(it));
		rc->n++;
		it->recorded = 1;
		sent_cols_add(&c, it->delivery_id, &it->res);
	}
	if (rc->n > 0) {
		sent_cols_vals(&c, vals);
		if (PQsendQueryParams(ac_db_conn(rc->db), st_sent_many.sql, st_sent_many.nparams,
		    NULL, vals, NULL, NULL, 0) == 1) {
			rc->busy = 1;
		} else {
			ac_warn("%zu sent deliveries not recorded at once (%s): later", rc->n,
			    PQerrorMessage(ac_db_conn(rc->db)));
			for (size_t i = 0; i < rc->n; i++)
				offered(rc)[i]->recorded = 0;
		}
	}
	sent_cols_free(&c);
}

/* Takes the answer of the recording in flight, if it has come (or, with
 * block, waiting for it): its deliveries become "written" (on success
 * every row offered was queued, now sent, or already done: nothing is left
 * to write); after a failure they are offered again, and at the end
 * written with their jobs. */
static void
record_done(struct recording *rc, int block)
{
	PGconn *conn;
	PGresult *res;
	int ok = 0, first = 1;

	if (!rc->busy)
		return;
	conn = ac_db_conn(rc->db);
	if (!block && PQconsumeInput(conn) == 1 && PQisBusy(conn))
		return;
	while ((res = PQgetResult(conn)) != NULL) {
		if (first)
			ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		if (first && !ok)
			ac_warn("%zu sent deliveries not recorded at once (%s): later", rc->n,
			    PQresultErrorMessage(res));
		first = 0;
		PQclear(res);
	}
	rc->busy = 0;
	for (size_t i = 0; i < rc->n; i++) {
		struct item *it = offered(rc)[i];

		if (ok) {
			result_set(it, SEND_WRITTEN, NULL);
			it->recorded = 2;
		} else {
			it->recorded = 0;
		}
	}
	rc->n = 0;
}

