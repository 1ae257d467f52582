/* provider.c — see provider.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "deliver/provider.h"

#define USER_AGENT	"alertcast/" PACKAGE_VERSION " (+https://github.com/alertcast)"


void
ac_prov_idempotency_key(const char *ns, long long id, char *out, size_t outsz)
{
	unsigned char h[32];
	char in[96], x[33];

	/* a UUID (version 4 layout) derived from the delivery id: OneSignal
	 * wants a UUID, Resend takes any string of up to 256 characters */
	snprintf(in, sizeof(in), "alertcast-%.40s-%lld", ns, id);
	ac_sha256(in, strlen(in), h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x40);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	ac_hex(h, 16, x);
	snprintf(out, outsz, "%.8s-%.4s-%.4s-%.4s-%.12s", x, x + 8, x + 12, x + 16, x + 20);
}

/* Appends "name: value" to req's headers. */
static void
header(struct ac_http_req *req, const char *name, const char *value)
{
	if (req->nheaders < AC_REQ_HEADERS)
		snprintf(req->headers[req->nheaders++], sizeof(req->headers[0]), "%s: %s", name,
		    value);
}

/* "name=s" percent-encoded for a form body, appended to b. */
static void
form_append(struct ac_buf *b, const char *name, const char *s)
{
	ac_buf_printf(b, "%s%s=", b->len ? "&" : "", name);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			ac_buf_putc(b, (char)c);
		else
			ac_buf_printf(b, "%%%02X", c);
	}
}

/* The JSON text of o (consumed); aborts on allocation failure. */
static char *
dump(json_t *o)
{
	char *s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	return s;
}

/* The List-Unsubscribe header's value for link into out: "<link>". */
static void
unsubscribe_value(const char *link, char *out, size_t outsz)
{
	snprintf(out, outsz, "<%s>", link);
}

/* Resend's "headers" of a signal email: the one-click unsubscribe of RFC
 * 8058 (a mail client POSTs "List-Unsubscribe=One-Click" to link). */
static json_t *
unsubscribe_headers(const char *link)
{
	char v[1024];

	unsubscribe_value(link, v, sizeof(v));
	return json_pack("{s:s, s:s}", "List-Unsubscribe", v, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click");
}

/* One email of Resend's (alone, or an element of a batch). */
static json_t *
resend_email(const struct ac_prov_cfg *c, const struct ac_outmsg *m)
{
	json_t *o = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "from", c->from, "to", m->to,
	    "subject", m->subject, "html", m->html, "text", m->text);

	if (o != NULL && m->unsubscribe != NULL)
		json_object_set_new(o, "headers", unsubscribe_headers(m->unsubscribe));
	return o;
}

/* Netgsm's body for m[0..n): a {msg, no} pair each (no without the +). */
static json_t *
netgsm_body(const struct ac_prov_cfg *c, const struct ac_outmsg *m, size_t n)
{
	json_t *msgs = json_array();

	for (size_t i = 0; msgs != NULL && i < n; i++)
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "msg", m[i].text, "no",
		    m[i].to[0] == '+' ? m[i].to + 1 : m[i].to));
	return json_pack("{s:s, s:o, s:s}", "msgheader", c->from, "messages", msgs,
	    "encoding", "TR");
}

/* Appends to ids each subscription id of the address to: "id" or
 * "id,id,..." (the devices of one user). */
static void
push_ids(json_t *ids, const char *to)
{
	for (const char *p = to; ids != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len > 0)
			json_array_append_new(ids, json_stringn(p, len));
		p += len + (p[len] == ',');
	}
}

size_t
ac_prov_recipients(enum ac_prov p, const char *to)
{
	size_t n = 1;

	if (p == AC_PROV_ONESIGNAL)
		for (; *to != '\0'; to++)
			n += *to == ',';
	return n;
}

/* OneSignal's notification of m[0]'s content to the subscriptions of
 * m[0..n): the devices each user linked (push_devices), so a device they
 * removed on the account page hears nothing more, even while OneSignal
 * still has it under their external id. */
static json_t *
onesignal_body(const struct ac_prov_cfg *c, const struct ac_outmsg *m, size_t n,
    const char *key)
{
	json_t *ids = json_array(), *o;

	for (size_t i = 0; ids != NULL && i < n; i++)
		push_ids(ids, m[i].to);
	o = json_pack("{s:s, s:o, s:{s:s}, s:{s:s}, s:s}", "app_id", c->from,
	    "include_subscription_ids", ids, "headings", "en", m->subject, "contents", "en", m->text, "idempotency_key", key);
	if (o != NULL && m->url != NULL && *m->url)
		json_object_set_new(o, "url", json_string(m->url));
	return o;
}

int
ac_prov_request(enum ac_prov p, const struct ac_prov_cfg *c, const struct ac_outmsg *m,
    struct ac_http_req *req, char *err, size_t errsz)
{
	char key[64], auth[512];
	struct ac_buf form = AC_BUF_INIT;
	json_t *o;

	memset(req, 0, sizeof(*req));
	ac_prov_idempotency_key(m->key_ns, m->delivery_id, key, sizeof(key));
	header(req, "User-Agent", USER_AGENT);
	switch (p) {
	case AC_PROV_TELEGRAM:
		if (strlen(m->html) > 4096) {
			snprintf(err, errsz, "message longer than Telegram's 4096 characters");
			return -1;
		}
		snprintf(req->url, sizeof(req->url), "%s/bot%s/sendMessage", c->base, c->user);
		header(req, "Content-Type", "application/json");
		o = json_pack("{s:s, s:s, s:s, s:b}", "chat_id", m->to, "text", m->html,
		    "parse_mode", "HTML", "disable_web_page_preview", 1);
		/* Telegram's paid broadcast: up to 1,000 messages/s, charged in
		 * Stars per message (limits.c paces at that rate) */
		if (o != NULL && c->paid_broadcast)
			json_object_set_new(o, "allow_paid_broadcast", json_true());
		req->body = dump(o);
		return 0;
	case AC_PROV_RESEND:
		snprintf(req->url, sizeof(req->url), "%s/emails", c->base);
		snprintf(auth, sizeof(auth), "Bearer %s", c->user);
		header(req, "Authorization", auth);
		header(req, "Content-Type", "application/json");
		header(req, "Idempotency-Key", key);
		req->body = dump(resend_email(c, m));
		return 0;
	case AC_PROV_NETGSM:
		snprintf(req->url, sizeof(req->url), "%s/sms/rest/v2/send", c->base);
		header(req, "Content-Type", "application/json");
		req->basic_user = c->user;
		req->basic_pass = c->secret;
		req->body = dump(netgsm_body(c, m, 1));
		return 0;
	case AC_PROV_TWILIO:
		if (strlen(m->text) > 1600) {
			snprintf(err, errsz, "message longer than Twilio's 1600 characters");
			return -1;
		}
		snprintf(req->url, sizeof(req->url), "%s/2010-04-01/Accounts/%s/Messages.json",
		    c->base, c->user);
		header(req, "Content-Type", "application/x-www-form-urlencoded");
		req->basic_user = c->user;
		req->basic_pass = c->secret;
		form_append(&form, "To", m->to);
		form_append(&form, strncmp(c->from, "MG", 2) == 0 ? "MessagingServiceSid" : "From",
		    c->from);
		form_append(&form, "Body", m->text);
		req->body = ac_buf_take(&form);
		return 0;
	case AC_PROV_ONESIGNAL:
		snprintf(req->url, sizeof(req->url), "%s/notifications", c->base);
		snprintf(auth, sizeof(auth), "Key %s", c->user);
		header(req, "Authorization", auth);
		header(req, "Content-Type", "application/json");
		/* the devices the user linked (push_devices): one they removed
		 * on the account page hears nothing more, even while OneSignal
		 * still has it under their external id */
		req->body = dump(onesignal_body(c, m, 1, key));
		return 0;
	case AC_PROV_SMTP:
	case AC_PROV__MAX:
		break;
	}
	snprintf(err, errsz, "%s is not an HTTP provider", ac_prov_name(p));
	return -1;
}

/* ---- many messages in one request ---------------------------------------- */

size_t
ac_prov_batch_max(enum ac_prov p)
{
	return p == AC_PROV_ONESIGNAL ? AC_ONESIGNAL_BATCH : p == AC_PROV_RESEND ?
	    AC_RESEND_BATCH : p == AC_PROV_NETGSM ? AC_NETGSM_BATCH : 1;
}

/* a and b equal, NULL equal to NULL. */
static int
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
ac_prov_batchable(enum ac_prov p, const struct ac_outmsg *a, const struct ac_outmsg *b)
{
	if (ac_prov_batch_max(p) < 2 || strcmp(a->to, b->to) == 0 ||
	    strcmp(a->key_ns, b->key_ns) != 0)
		return 0;
	if (p == AC_PROV_ONESIGNAL)
		return same(a->subject, b->subject) && same(a->text, b->text) &&
		    same(a->url, b->url);
	return 1;
}

void
ac_prov_batch_key(const char *ns, const long long *ids, size_t n, char *out, size_t outsz)
{
	struct ac_buf b = AC_BUF_INIT;
	unsigned char h[32];
	char x[33];

	if (n == 1) {
		ac_prov_idempotency_key(ns, ids[0], out, outsz);
		return;
	}
	/* the batch is its ids: the same deliveries, the same key */
	ac_buf_printf(&b, "alertcast-%.40s-batch", ns);
	for (size_t i = 0; i < n; i++)
		ac_buf_printf(&b, "-%lld", ids[i]);
	ac_sha256(b.p, b.len, h);
	ac_buf_free(&b);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x40);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	ac_hex(h, 16, x);
	snprintf(out, outsz, "%.8s-%.4s-%.4s-%.4s-%.12s", x, x + 8, x + 12, x + 16, x + 20);
}

int
ac_prov_request_batch(enum ac_prov p, const struct ac_prov_cfg *c, const struct ac_outmsg *m,
    size_t n, struct ac_http_req *req, char *err, size_t errsz)
{
	char key[64], auth[512];
	long long *ids;
	json_t *arr;

	if (n == 1)
		return ac_prov_request(p, c, m, req, err, errsz);
	if (n == 0 || n > ac_prov_batch_max(p)) {
		snprintf(err, errsz, "%s: %zu messages in one request (at most %zu)",
		    ac_prov_name(p), n, ac_prov_batch_max(p));
		return -1;
	}
	if ((ids = calloc(n, sizeof(*ids))) == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		ids[i] = m[i].delivery_id;
	ac_prov_batch_key(m->key_ns, ids, n, key, sizeof(key));
	free(ids);
	memset(req, 0, sizeof(*req));
	header(req, "User-Agent", USER_AGENT);
	header(req, "Content-Type", "application/json");
	switch (p) {
	case AC_PROV_ONESIGNAL:
		snprintf(req->url, sizeof(req->url), "%s/notifications", c->base);
		snprintf(auth, sizeof(auth), "Key %s", c->user);
		header(req, "Authorization", auth);
		req->body = dump(onesignal_body(c, m, n, key));
		return 0;
	case AC_PROV_RESEND:
		snprintf(req->url, sizeof(req->url), "%s/emails/batch", c->base);
		snprintf(auth, sizeof(auth), "Bearer %s", c->user);
		header(req, "Authorization", auth);
		header(req, "Idempotency-Key", key);
		if ((arr = json_array()) == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, resend_email(c, &m[i]));
		req->body = dump(arr);
		return 0;
	case AC_PROV_NETGSM:
		snprintf(req->url, sizeof(req->url), "%s/sms/rest/v2/send", c->base);
		req->basic_user = c->user;
		req->basic_pass = c->secret;
		req->body = dump(netgsm_body(c, m, n));
		return 0;
	default:
		break;
	}
	snprintf(err, errsz, "%s has no bulk form", ac_prov_name(p));
	return -1;
}

/* ---- answers ---------------------------------------------------------- */

/* Sets a's verdict and reason (printf-style). */
static void
verdict(struct ac_answer *a, enum ac_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verdict(struct ac_answer *a, enum ac_verdict v, const char *fmt, ...)
{
	va_list ap;

	a->verdict = v;
	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
}

/* HTTP statuses every provider's documentation calls transient. */
static int
status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* A JSON member as text (string or number) into out; "" if absent. */
static void
member_text(json_t *o, const char *name, char *out, size_t outsz)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		snprintf(out, outsz, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		out[0] = '\0';
}

/* A 2xx answer: OK with the message id (member idname, "an id") in a->id,
 * or a retry when it has none. 1 if status was 2xx, else 0 (nothing set). */
static int
answer_id(long status, json_t *o, const char *prov, const char *idname, const char *what,
    struct ac_answer *a)
{
	if (status / 100 != 2)
		return 0;
	member_text(o, idname, a->id, sizeof(a->id));
	if (a->id[0] != '\0')
		a->verdict = AC_SEND_OK;
	else
		verdict(a, AC_SEND_RETRY, "%s %ld: answer without %s", prov, status, what);
	return 1;
}

/* Telegram: {"ok", "result": {"message_id"}, "error_code", "description",
 * "parameters": {"retry_after", "migrate_to_chat_id"}}. */
static void
classify_telegram(long status, json_t *o, struct ac_answer *a)
{
	json_t *params = json_object_get(o, "parameters");
	char desc[200];
	long code = json_is_integer(json_object_get(o, "error_code")) ?
	    (long)json_integer_value(json_object_get(o, "error_code")) : status;

	member_text(o, "description", desc, sizeof(desc));
	if (json_is_true(json_object_get(o, "ok"))) {
		member_text(json_object_get(o, "result"), "message_id", a->id, sizeof(a->id));
		a->verdict = AC_SEND_OK;
		return;
	}
	if (json_is_integer(json_object_get(params, "retry_after")))
		a->retry_after_ms = json_integer_value(json_object_get(params, "retry_after")) * 1000;
	member_text(params, "migrate_to_chat_id", a->migrate_chat, sizeof(a->migrate_chat));
	if (a->migrate_chat[0] != '\0')
		verdict(a, AC_SEND_RETRY, "telegram %ld: group moved to chat %s", code,
		    a->migrate_chat);
	else if (status_retryable(code) || o == NULL)
		verdict(a, AC_SEND_RETRY, "telegram %ld: %s", code, desc[0] ? desc : "no answer");
	else if (code == 401 || code == 404)	/* the bot token is not (or no longer) valid */
		verdict(a, AC_SEND_ACCOUNT, "telegram %ld: %s", code, desc);
	else {
		a->blocked = code == 403;
		verdict(a, AC_SEND_PERMANENT, "telegram %ld: %s", code, desc);
	}
}

/* Resend: 200 {"id"}; errors {"statusCode", "name", "message"}. */
static void
classify_resend(long status, json_t *o, const char *retry_after, struct ac_answer *a)
{
	char name[64], msg[160];

	member_text(o, "name", name, sizeof(name));
	member_text(o, "message", msg, sizeof(msg));
	if (answer_id(status, o, "resend", "id", "an id", a))
		return;
	if (retry_after != NULL)
		a->retry_after_ms = strtoll(retry_after, NULL, 10) * 1000;
	/* a 429 for a used-up quota does not pass by waiting; 409
	 * concurrent_idempotent_requests: the first is still running */
	if (strcmp(name, "daily_quota_exceeded") == 0 || strcmp(name, "monthly_quota_exceeded") == 0 ||
	    status == 401 || status == 403)
		verdict(a, AC_SEND_ACCOUNT, "resend %ld %s: %s", status, name, msg);
	else if (status_retryable(status) || strcmp(name, "concurrent_idempotent_requests") == 0)
		verdict(a, AC_SEND_RETRY, "resend %ld %s: %s", status, name, msg);
	else
		verdict(a, AC_SEND_PERMANENT, "resend %ld %s: %s", status, name, msg);
}

/* Netgsm: {"code", "description", "jobid"}; "00" sent. */
static void
classify_netgsm(long status, json_t *o, struct ac_answer *a)
{
	static const char *const retry[] = { "80", "85", "100", "101" };
	/* bad credentials or no API access, an unregistered sender header,
	 * the account's IYS (consent register) settings */
	static const char *const account[] = { "30", "40", "50", "51" };
	char code[16], desc[160];

	member_text(o, "code", code, sizeof(code));
	member_text(o, "description", desc, sizeof(desc));
	if (status_retryable(status) || (status / 100 == 2 && o == NULL)) {
		verdict(a, AC_SEND_RETRY, "netgsm HTTP %ld", status);
		return;
	}
	if (strcmp(code, "00") == 0) {
		member_text(o, "jobid", a->id, sizeof(a->id));
		a->verdict = AC_SEND_OK;
		return;
	}
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(code, retry[i]) == 0) {
			verdict(a, AC_SEND_RETRY, "netgsm code %s: %s", code, desc);
			return;
		}
	for (size_t i = 0; i < sizeof(account) / sizeof(account[0]); i++)
		if (strcmp(code, account[i]) == 0) {
			verdict(a, AC_SEND_ACCOUNT, "netgsm code %s: %s", code, desc);
			return;
		}
	if (status == 401 || status == 403) {
		verdict(a, AC_SEND_ACCOUNT, "netgsm HTTP %ld: %s", status, desc);
		return;
	}
	verdict(a, AC_SEND_PERMANENT, "netgsm code %s: %s (HTTP %ld)", code[0] ? code : "?", desc,
	    status);
}

/* Twilio: 201 {"sid", "status"}; errors {"code", "message", "status"}. */
static void
classify_twilio(long status, json_t *o, struct ac_answer *a)
{
	char code[16], msg[160];

	member_text(o, "code", code, sizeof(code));
	member_text(o, "message", msg, sizeof(msg));
	if (answer_id(status, o, "twilio", "sid", "a sid", a))
		return;
	if (status_retryable(status))
		verdict(a, AC_SEND_RETRY, "twilio %ld %s: %s", status, code, msg);
	else if (status == 401 || status == 403 || strcmp(code, "20003") == 0 ||
	    strcmp(code, "20005") == 0)
		/* authentication, a suspended account */
		verdict(a, AC_SEND_ACCOUNT, "twilio %ld %s: %s", status, code, msg);
	else
		verdict(a, AC_SEND_PERMANENT, "twilio %ld %s: %s", status, code, msg);
}

/* OneSignal: 200 {"id", "errors"}; an empty id or any errors sent nothing. */
static void
classify_onesignal(long status, json_t *o, struct ac_answer *a)
{
	json_t *errors = json_object_get(o, "errors");
	char *etext = errors ? json_dumps(errors, JSON_COMPACT) : NULL;

	if (status / 100 == 2) {
		member_text(o, "id", a->id, sizeof(a->id));
		if (a->id[0] != '\0' && (errors == NULL || json_is_null(errors) ||
		    (json_is_array(errors) && json_array_size(errors) == 0)))
			a->verdict = AC_SEND_OK;
		else {
			a->id[0] = '\0';
			verdict(a, AC_SEND_PERMANENT, "onesignal %ld: nothing sent: %s", status,
			    etext ? etext : "no id");
		}
	} else if (status_retryable(status))
		verdict(a, AC_SEND_RETRY, "onesignal %ld: %s", status, etext ? etext : "");
	else if (status == 401 || status == 403)
		verdict(a, AC_SEND_ACCOUNT, "onesignal %ld: %s", status, etext ? etext : "");
	else
		verdict(a, AC_SEND_PERMANENT, "onesignal %ld: %s", status, etext ? etext : "");
	free(etext);
}

void
ac_prov_classify(enum ac_prov p, int transport, const char *transport_err, long status,
    const char *body, const char *retry_after, struct ac_answer *a)
{
	json_t *o;

	memset(a, 0, sizeof(*a));
	if (p == AC_PROV_SMTP) {
		/* the last reply code tells: 4yz transient, 5yz permanent */
		if (transport == 0)
			a->verdict = AC_SEND_OK;
		else if (status >= 500 && status < 600)
			verdict(a, AC_SEND_PERMANENT, "smtp %ld: %s", status, transport_err);
		else
			verdict(a, AC_SEND_RETRY, "smtp %ld: %s", status, transport_err);
		return;
	}
	if (transport != 0) {
		verdict(a, AC_SEND_RETRY, "%s: %s", ac_prov_name(p), transport_err);
		return;
	}
	o = body ? json_loads(body, 0, NULL) : NULL;
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	switch (p) {
	case AC_PROV_TELEGRAM: classify_telegram(status, o, a); break;
	case AC_PROV_RESEND: classify_resend(status, o, retry_after, a); break;
	case AC_PROV_NETGSM: classify_netgsm(status, o, a); break;
	case AC_PROV_TWILIO: classify_twilio(status, o, a); break;
	case AC_PROV_ONESIGNAL: classify_onesignal(status, o, a); break;
	case AC_PROV_SMTP:
	case AC_PROV__MAX: break;
	}
	if (a->verdict == AC_SEND_RETRY && a->retry_after_ms == 0 && retry_after != NULL)
		a->retry_after_ms = strtoll(retry_after, NULL, 10) * 1000;
	json_decref(o);
}

/* 1 if s is one of the strings of array arr. */
static int
in_array(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* 1 if every subscription id of the address to ("id,id,...") is in a. */
static int
all_in_array(json_t *a, const char *to)
{
	char id[129];

	for (const char *p = to; *p != '\0';) {
		size_t len = strcspn(p, ",");

		snprintf(id, sizeof(id), "%.*s", (int)(len < 128 ? len : 128), p);
		if (len > 0 && !in_array(a, id))
			return 0;
		p += len + (p[len] == ',');
	}
	return 1;
}

/* OneSignal's 200 with an id to m[0..n): a message all of whose devices
 * it names under errors (invalid_player_ids, or invalid_aliases.external_id)
 * failed for good; the others were sent (to at least one device). 0, or
 * -1: not that answer. */
static int
split_onesignal(json_t *o, const struct ac_outmsg *m, size_t n, struct ac_answer *a)
{
	json_t *errors = json_object_get(o, "errors"), *bad;
	char id[128];

	member_text(o, "id", id, sizeof(id));
	bad = json_object_get(errors, "invalid_player_ids");
	if (!json_is_array(bad))
		bad = json_object_get(json_object_get(errors, "invalid_aliases"), "external_id");
	if (id[0] == '\0' || !json_is_object(errors) || !json_is_array(bad))
		return -1;
	for (size_t i = 0; i < n; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		if (all_in_array(bad, m[i].to)) {
			verdict(&a[i], AC_SEND_PERMANENT, "onesignal 200: not subscribed (%s)",
			    json_object_get(errors, "invalid_player_ids") ? "invalid_player_ids" :
			    "invalid_aliases");
			a[i].blocked = 1;	/* its devices are forgotten */
		} else
			snprintf(a[i].id, sizeof(a[i].id), "%s", id);
	}
	return 0;
}

/* Resend's 200 to a batch: {"data": [{"id"}, ...]} in the order sent,
 * and in permissive mode "errors": [{"index", "message"}] for the emails
 * refused (data then holds the others, in order). 0, or -1: not that
 * answer. */
static int
split_resend(json_t *o, size_t n, struct ac_answer *a)
{
	json_t *data = json_object_get(o, "data"), *errors = json_object_get(o, "errors"), *e;
	size_t i, k = 0, nerr = json_is_array(errors) ? json_array_size(errors) : 0;

	if (!json_is_array(data) || json_array_size(data) + nerr != n)
		return -1;
	for (i = 0; i < n; i++)
		memset(&a[i], 0, sizeof(a[i]));
	json_array_foreach(errors, i, e) {
		json_int_t at = json_integer_value(json_object_get(e, "index"));
		char msg[160];

		if (!json_is_integer(json_object_get(e, "index")) || at < 0 || (size_t)at >= n)
			return -1;
		member_text(e, "message", msg, sizeof(msg));
		verdict(&a[at], AC_SEND_PERMANENT, "resend 200: %s", msg[0] ? msg : "refused");
	}
	for (i = 0; i < n; i++) {
		if (a[i].verdict != AC_SEND_OK)
			continue;
		member_text(json_array_get(data, k++), "id", a[i].id, sizeof(a[i].id));
		if (a[i].id[0] == '\0')
			return -1;
	}
	return 0;
}

void
ac_prov_classify_batch(enum ac_prov p, int transport, const char *transport_err, long status,
    const char *body, const char *retry_after, const struct ac_outmsg *m, size_t n,
    struct ac_answer *a)
{
	struct ac_answer whole;
	json_t *o;
	int split = -1;

	ac_prov_classify(p, transport, transport_err, status, body, retry_after, &whole);
	if (n > 1 && transport == 0 && status / 100 == 2 && body != NULL &&
	    (o = json_loads(body, 0, NULL)) != NULL) {
		if (p == AC_PROV_ONESIGNAL && json_is_object(o))
			split = split_onesignal(o, m, n, a);
		else if (p == AC_PROV_RESEND && json_is_object(o)) {
			split = split_resend(o, n, a);
			if (split == -1)
				verdict(&whole, AC_SEND_RETRY, "resend %ld: batch answer without an id"
				    " for each email", status);
		}
		json_decref(o);
	}
	if (split == 0)
		return;
	for (size_t i = 0; i < n; i++)
		a[i] = whole;
}

/* ---- SMS length ------------------------------------------------------------ */

/* The next code point of UTF-8 *p (advanced past it), or -1. */
static long
utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	int n = s[0] < 0x80 ? 0 : (s[0] & 0xe0) == 0xc0 ? 1 : (s[0] & 0xf0) == 0xe0 ? 2 :
	    (s[0] & 0xf8) == 0xf0 ? 3 : -1;
	long c;

	if (n == -1)
		return -1;
	c = n == 0 ? s[0] : s[0] & (0x3f >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

/* The septets code point c takes in GSM 03.38: 1 (basic table), 2
 * (extension table), 0 (none). */
static int
gsm7_width(long c)
{
	/* the basic table beyond printable ASCII, and ASCII's one gap (`) */
	static const long basic[] = { 0xa3, 0xa5, 0xe8, 0xe9, 0xf9, 0xec, 0xf2, 0xc7, 0xd8,
		0xf8, 0xc5, 0xe5, 0x394, 0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398,
		0x39e, 0xc6, 0xe6, 0xdf, 0xc9, 0xa4, 0xa1, 0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf,
		0xe4, 0xf6, 0xf1, 0xfc, 0xe0 };

	if (c == '\n' || c == '\r')
		return 1;
	if (c == '^' || c == '{' || c == '}' || c == '\\' || c == '[' || c == '~' ||
	    c == ']' || c == '|' || c == 0x20ac || c == '\f')
		return 2;
	if (c >= 0x20 && c < 0x7f)
		return c == '`' ? 0 : 1;
	for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (basic[i] == c)
			return 1;
	return 0;
}

int
ac_gsm7_septets(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n = 0, w;
	long c;

	while (*p != '\0') {
		if ((c = utf8_next(&p)) == -1 || (w = gsm7_width(c)) == 0)
			return -1;
		n += w;
	}
	return n;
}

int
ac_sms_segments(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n = ac_gsm7_septets(s);
	long c;

	if (n >= 0)
		return n <= AC_SMS_GSM7_MAX ? 1 : (n + 152) / 153;
	for (n = 0; *p != '\0'; n += c > 0xffff ? 2 : 1)
		if ((c = utf8_next(&p)) == -1)
			p++;
	return n <= 70 ? 1 : (n + 66) / 67;
}

/* ---- SMTP --------------------------------------------------------------- */

/* A header value into b: as is when printable ASCII, else RFC 2047 "B"
 * encoded-words of UTF-8 that never split a character (libcurl does not
 * encode headers). */
static void
put_header_text(struct ac_buf *b, const char *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	int ascii = 1;

	for (const unsigned char *q = p; *q; q++)
		if (*q < 32 || *q > 126)
			ascii = 0;
	if (ascii) {
		ac_buf_puts(b, s);
		return;
	}
	while (*p) {
		size_t n = 0, take;
		char out[64];
		int o = 0;

		/* up to 45 bytes a word (60 base64 characters), whole characters */
		while (p[n] && n < 45) {
			take = p[n] < 0x80 ? 1 : p[n] >= 0xf0 ? 4 : p[n] >= 0xe0 ? 3 : 2;
			if (n + take > 45)
				break;
			n += take;
		}
		if (n == 0)
			n = 1;
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			    (i + 2 < n ? p[i + 2] : 0);

			out[o++] = b64[v >> 18 & 63];
			out[o++] = b64[v >> 12 & 63];
			out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
			out[o++] = i + 2 < n ? b64[v & 63] : '=';
		}
		ac_buf_puts(b, p == (const unsigned char *)s ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
		ac_buf_add(b, out, (size_t)o);
		ac_buf_puts(b, "?=");
		p += n;
	}
}

/* Appends to the list a header "name: value" (value RFC 2047 encoded when
 * encode); aborts on OOM. */
static struct curl_slist *
header_add(struct curl_slist *l, const char *name, const char *value, int encode)
{
	struct ac_buf b = AC_BUF_INIT;

	ac_buf_printf(&b, "%s: ", name);
	if (encode)
		put_header_text(&b, value);
	else
		ac_buf_puts(&b, value);
	if ((l = curl_slist_append(l, b.p)) == NULL)
		abort();
	ac_buf_free(&b);
	return l;
}

/* A text part of type (with charset UTF-8) in mime: the lines of s ending
 * in CRLF (so quoted-printable keeps them as line breaks), encoded
 * quoted-printable by libcurl. */
static int
text_part(curl_mime *mime, const char *type, const char *s)
{
	curl_mimepart *part;
	struct ac_buf b = AC_BUF_INIT;
	int rc;

	for (; *s; s++)
		if (*s == '\n')
			ac_buf_add(&b, "\r\n", 2);
		else if (*s != '\r')
			ac_buf_putc(&b, *s);
	rc = (part = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_data(part, b.p ? b.p : "", b.len) != CURLE_OK ||
	    curl_mime_type(part, type) != CURLE_OK ||
	    curl_mime_encoder(part, "quoted-printable") != CURLE_OK ? -1 : 0;
	ac_buf_free(&b);
	return rc;
}

/* The bare address of "Name <addr>" or "addr" into out, in <>. */
static void
bare_address(const char *from, char *out, size_t outsz)
{
	const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt)
		snprintf(out, outsz, "<%.*s>", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, outsz, "<%s>", from);
}

int
ac_prov_smtp(CURL *easy, const struct ac_prov_cfg *c, const struct ac_outmsg *m,
    const char *message_id, int64_t date_s, struct ac_smtp *t, struct ac_err *e)
{
	char date[64], from[256], id[300];
	time_t when = (time_t)date_s;
	struct tm tm;

	memset(t, 0, sizeof(*t));
	if (strpbrk(c->from, "\r\n") || strpbrk(m->to, "\r\n") || strpbrk(message_id, "\r\n<>"))
		return ac_err_set(e, AC_E_INVALID, "to", "smtp: bad address");
	if (m->unsubscribe != NULL && strpbrk(m->unsubscribe, "\r\n<> "))
		return ac_err_set(e, AC_E_INVALID, "unsubscribe", "smtp: bad unsubscribe link");
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(id, sizeof(id), "<%s>", message_id);
	t->headers = header_add(t->headers, "Date", date, 0);
	t->headers = header_add(t->headers, "From", c->from, 0);
	t->headers = header_add(t->headers, "To", m->to, 0);
	t->headers = header_add(t->headers, "Subject", m->subject, 1);
	t->headers = header_add(t->headers, "Message-ID", id, 0);
	if (m->unsubscribe != NULL) {
		char v[1024];

		unsubscribe_value(m->unsubscribe, v, sizeof(v));
		t->headers = header_add(t->headers, "List-Unsubscribe", v, 0);
		t->headers = header_add(t->headers, "List-Unsubscribe-Post",
		    "List-Unsubscribe=One-Click", 0);
	}
	/* the message itself is the alternative (libcurl adds the boundary
	 * and MIME-Version) */
	t->headers = header_add(t->headers, "Content-Type", "multipart/alternative", 0);
	if ((t->rcpt = curl_slist_append(NULL, m->to)) == NULL)
		abort();
	if ((t->mime = curl_mime_init(easy)) == NULL ||
	    text_part(t->mime, "text/plain; charset=UTF-8", m->text) == -1 ||
	    text_part(t->mime, "text/html; charset=UTF-8", m->html) == -1) {
		ac_smtp_free(t);
		return ac_err_set(e, AC_E_INTERNAL, NULL, "smtp: cannot build the message");
	}
	bare_address(c->from, from, sizeof(from));
	curl_easy_setopt(easy, CURLOPT_URL, c->base);
	curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, t->rcpt);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(easy, CURLOPT_MIMEPOST, t->mime);
	curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)(c->starttls ? CURLUSESSL_ALL :
	    CURLUSESSL_TRY));
	if (c->user != NULL && *c->user) {
		curl_easy_setopt(easy, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, c->secret ? c->secret : "");
	}
	return 0;
}

void
ac_smtp_free(struct ac_smtp *t)
{
	curl_mime_free(t->mime);
	curl_slist_free_all(t->headers);
	curl_slist_free_all(t->rcpt);
	memset(t, 0, sizeof(*t));
}

/* ---- retries ------------------------------------------------------------ */

int64_t
ac_delivery_backoff_ms(int n)
{
	int64_t ms = 1000;

	for (int i = 1; i < n && ms < 10000; i++)
		ms *= 2;
	return ms > 10000 ? 10000 : ms;
}

void
ac_retry_plan_for(const char *channel, unsigned enabled, struct ac_retry_plan *p)
{
	static const struct {
		const char	*channel;
		enum ac_prov	 prov[AC_RETRY_PLAN_MAX];
		int		 tries[AC_RETRY_PLAN_MAX];
		int		 n;
	} plans[] = {
		{ "telegram", { AC_PROV_TELEGRAM }, { 3 }, 1 },
		{ "email", { AC_PROV_RESEND, AC_PROV_SMTP }, { 3, 3 }, 2 },
		{ "sms", { AC_PROV_NETGSM, AC_PROV_TWILIO }, { 3, 3 }, 2 },
		{ "push", { AC_PROV_ONESIGNAL }, { 1 }, 1 },
	};

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		if (strcmp(channel, plans[i].channel) != 0)
			continue;
		for (int k = 0; k < plans[i].n; k++)
			if (enabled & (1u << plans[i].prov[k])) {
				p->prov[p->n] = plans[i].prov[k];
				p->tries[p->n++] = plans[i].tries[k];
			}
	}
}

int
ac_retry_plan_step(const struct ac_retry_plan *p, int attempt, int *step, int *nth)
{
	for (int k = 0; k < p->n; k++) {
		if (attempt <= p->tries[k]) {
			*step = k;
			*nth = attempt;
			return 0;
		}
		attempt -= p->tries[k];
	}
	return -1;
}
