/*
 * test_provider.c — the providers' pure side (lib/deliver/provider.c): answer
 * classification per provider from the codes REFERENCE.md lists, the SMTP
 * message as a recipient gets it (through a one-message SMTP server in a
 * child process, decoded here), Telegram's HTML text and request,
 * idempotency keys, the circuit breaker's transitions, the backoff and the
 * retry plans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <curl/curl.h>
#include <jansson.h>

#include "web/html.h"
#include "base/message.h"
#include "deliver/provider.h"

/* ---- classification ------------------------------------------------------ */

struct cls_case {
	enum ac_prov	 p;
	int		 transport;	/* CURLcode; 0: an answer came */
	long		 status;
	const char	*body;
	const char	*retry_after;	/* the header */
	enum ac_verdict	 want;
	int64_t		 retry_ms;	/* wanted retry_after_ms */
	int		 blocked;
	const char	*reason;	/* in a->reason (NULL: no check) */
};

#define TG(code, desc) "{\"ok\":false,\"error_code\":" #code ",\"description\":\"" desc "\"}"
#define RS(code, name) "{\"statusCode\":" #code ",\"name\":\"" name "\",\"message\":\"m\"}"
#define NG(code) "{\"code\":\"" code "\",\"description\":\"d\"}"
#define TW(code) "{\"code\":" #code ",\"message\":\"m\",\"status\":400}"

static const struct cls_case cases[] = {
	/* Telegram */
	{ AC_PROV_TELEGRAM, 0, 200, "{\"ok\":true,\"result\":{\"message_id\":42}}", NULL,
	    AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_TELEGRAM, 0, 429, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many"
	    " Requests: retry after 7\",\"parameters\":{\"retry_after\":7}}", NULL,
	    AC_SEND_RETRY, 7000, 0, "429" },
	{ AC_PROV_TELEGRAM, 0, 500, TG(500, "Internal Server Error"), NULL, AC_SEND_RETRY, 0, 0,
	    "500" },
	{ AC_PROV_TELEGRAM, 0, 502, "<html>Bad Gateway</html>", NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TELEGRAM, 0, 503, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TELEGRAM, 0, 504, TG(504, "Gateway Timeout"), NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TELEGRAM, 0, 403, TG(403, "Forbidden: bot was blocked by the user"), NULL,
	    AC_SEND_PERMANENT, 0, 1, "bot was blocked" },
	{ AC_PROV_TELEGRAM, 0, 400, TG(400, "Bad Request: chat not found"), NULL,
	    AC_SEND_PERMANENT, 0, 0, "chat not found" },
	{ AC_PROV_TELEGRAM, 0, 400, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad"
	    " Request: group chat was upgraded to a supergroup chat\",\"parameters\":"
	    "{\"migrate_to_chat_id\":-1001234567890}}", NULL, AC_SEND_RETRY, 0, 0,
	    "-1001234567890" },
	{ AC_PROV_TELEGRAM, 0, 401, TG(401, "Unauthorized"), NULL, AC_SEND_ACCOUNT, 0, 0,
	    "Unauthorized" },
	{ AC_PROV_TELEGRAM, 0, 404, TG(404, "Not Found"), NULL, AC_SEND_ACCOUNT, 0, 0, NULL },
	{ AC_PROV_TELEGRAM, 7, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, "refused" },
	{ AC_PROV_TELEGRAM, 28, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, "refused" },
	/* Resend */
	{ AC_PROV_RESEND, 0, 200, "{\"id\":\"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794\"}", NULL,
	    AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_RESEND, 0, 200, "{}", NULL, AC_SEND_RETRY, 0, 0, "without an id" },
	{ AC_PROV_RESEND, 0, 429, RS(429, "rate_limit_exceeded"), "2", AC_SEND_RETRY, 2000, 0,
	    NULL },
	{ AC_PROV_RESEND, 0, 429, RS(429, "daily_quota_exceeded"), NULL, AC_SEND_ACCOUNT, 0, 0,
	    "quota" },
	{ AC_PROV_RESEND, 0, 429, RS(429, "monthly_quota_exceeded"), NULL, AC_SEND_ACCOUNT, 0,
	    0, "quota" },
	{ AC_PROV_RESEND, 0, 409, RS(409, "concurrent_idempotent_requests"), NULL, AC_SEND_RETRY,
	    0, 0, NULL },
	{ AC_PROV_RESEND, 0, 500, RS(500, "internal_server_error"), NULL, AC_SEND_RETRY, 0, 0,
	    NULL },
	{ AC_PROV_RESEND, 0, 502, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_RESEND, 0, 503, NULL, "5", AC_SEND_RETRY, 5000, 0, NULL },
	{ AC_PROV_RESEND, 0, 504, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_RESEND, 0, 422, RS(422, "validation_error"), NULL, AC_SEND_PERMANENT, 0, 0,
	    "validation_error" },
	{ AC_PROV_RESEND, 0, 400, RS(400, "invalid_idempotency_key"), NULL, AC_SEND_PERMANENT, 0,
	    0, NULL },
	{ AC_PROV_RESEND, 0, 401, RS(401, "missing_api_key"), NULL, AC_SEND_ACCOUNT, 0, 0,
	    NULL },
	{ AC_PROV_RESEND, 0, 403, RS(403, "invalid_api_key"), NULL, AC_SEND_ACCOUNT, 0, 0,
	    NULL },
	{ AC_PROV_RESEND, 6, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, "resolve" },
	/* Netgsm */
	{ AC_PROV_NETGSM, 0, 200, "{\"code\":\"00\",\"description\":\"queued\",\"jobid\":"
	    "\"17377215342605050417149344\"}", NULL, AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_NETGSM, 0, 200, NG("80"), NULL, AC_SEND_RETRY, 0, 0, "code 80" },
	{ AC_PROV_NETGSM, 0, 200, NG("85"), NULL, AC_SEND_RETRY, 0, 0, "code 85" },
	{ AC_PROV_NETGSM, 0, 200, NG("100"), NULL, AC_SEND_RETRY, 0, 0, "code 100" },
	{ AC_PROV_NETGSM, 0, 200, NG("101"), NULL, AC_SEND_RETRY, 0, 0, "code 101" },
	{ AC_PROV_NETGSM, 0, 200, NG("20"), NULL, AC_SEND_PERMANENT, 0, 0, "code 20" },
	{ AC_PROV_NETGSM, 0, 200, NG("30"), NULL, AC_SEND_ACCOUNT, 0, 0, "code 30" },
	{ AC_PROV_NETGSM, 0, 200, NG("40"), NULL, AC_SEND_ACCOUNT, 0, 0, "code 40" },
	{ AC_PROV_NETGSM, 0, 200, NG("50"), NULL, AC_SEND_ACCOUNT, 0, 0, "code 50" },
	{ AC_PROV_NETGSM, 0, 200, NG("51"), NULL, AC_SEND_ACCOUNT, 0, 0, "code 51" },
	{ AC_PROV_NETGSM, 0, 200, NG("70"), NULL, AC_SEND_PERMANENT, 0, 0, "code 70" },
	{ AC_PROV_NETGSM, 0, 406, NG("30"), NULL, AC_SEND_ACCOUNT, 0, 0, "code 30" },
	{ AC_PROV_NETGSM, 0, 503, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_NETGSM, 0, 500, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_NETGSM, 0, 200, "not json", NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_NETGSM, 7, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	/* Twilio */
	{ AC_PROV_TWILIO, 0, 201, "{\"sid\":\"SM0123456789abcdef0123456789abcdef\",\"status\":"
	    "\"queued\"}", NULL, AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 429, "{\"code\":20429,\"message\":\"Too Many Requests\"}", NULL,
	    AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 500, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 502, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 503, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 504, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_TWILIO, 0, 401, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":401}",
	    NULL, AC_SEND_ACCOUNT, 0, 0, "20003" },
	{ AC_PROV_TWILIO, 0, 400, TW(21211), NULL, AC_SEND_PERMANENT, 0, 0, "21211" },
	{ AC_PROV_TWILIO, 0, 400, TW(21606), NULL, AC_SEND_PERMANENT, 0, 0, "21606" },
	{ AC_PROV_TWILIO, 0, 400, TW(21608), NULL, AC_SEND_PERMANENT, 0, 0, "21608" },
	{ AC_PROV_TWILIO, 0, 400, TW(21610), NULL, AC_SEND_PERMANENT, 0, 0, "21610" },
	{ AC_PROV_TWILIO, 0, 400, TW(21612), NULL, AC_SEND_PERMANENT, 0, 0, "21612" },
	{ AC_PROV_TWILIO, 0, 400, TW(21614), NULL, AC_SEND_PERMANENT, 0, 0, "21614" },
	{ AC_PROV_TWILIO, 28, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	/* OneSignal */
	{ AC_PROV_ONESIGNAL, 0, 200, "{\"id\":\"b98881cc-1e94-4366-bbd9-db8f3429292b\"}", NULL,
	    AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_ONESIGNAL, 0, 200, "{\"id\":\"\",\"errors\":[\"All included players are not"
	    " subscribed\"]}", NULL, AC_SEND_PERMANENT, 0, 0, "not subscribed" },
	{ AC_PROV_ONESIGNAL, 0, 200, "{\"id\":\"b98881cc\",\"errors\":{\"invalid_aliases\":"
	    "{\"external_id\":[\"7\"]}}}", NULL, AC_SEND_PERMANENT, 0, 0, "invalid_aliases" },
	{ AC_PROV_ONESIGNAL, 0, 200, "{\"id\":\"\",\"errors\":{\"invalid_player_ids\":"
	    "[\"1dd608f2-c6a1-11e3-851d-000c2940e62c\"]}}", NULL, AC_SEND_PERMANENT, 0, 0,
	    "invalid_player_ids" },
	{ AC_PROV_ONESIGNAL, 0, 200, "{}", NULL, AC_SEND_PERMANENT, 0, 0, "no id" },
	{ AC_PROV_ONESIGNAL, 0, 429, "{\"errors\":[\"rate limited\"]}", "1", AC_SEND_RETRY, 1000,
	    0, NULL },
	{ AC_PROV_ONESIGNAL, 0, 503, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_ONESIGNAL, 0, 500, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	{ AC_PROV_ONESIGNAL, 0, 400, "{\"errors\":[\"bad\"]}", NULL, AC_SEND_PERMANENT, 0, 0,
	    NULL },
	{ AC_PROV_ONESIGNAL, 0, 401, NULL, NULL, AC_SEND_ACCOUNT, 0, 0, NULL },
	{ AC_PROV_ONESIGNAL, 0, 403, NULL, NULL, AC_SEND_ACCOUNT, 0, 0, NULL },
	{ AC_PROV_ONESIGNAL, 7, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, NULL },
	/* SMTP: the last reply code */
	{ AC_PROV_SMTP, 0, 250, NULL, NULL, AC_SEND_OK, 0, 0, NULL },
	{ AC_PROV_SMTP, 55, 451, NULL, NULL, AC_SEND_RETRY, 0, 0, "451" },
	{ AC_PROV_SMTP, 55, 421, NULL, NULL, AC_SEND_RETRY, 0, 0, "421" },
	{ AC_PROV_SMTP, 55, 550, NULL, NULL, AC_SEND_PERMANENT, 0, 0, "550" },
	{ AC_PROV_SMTP, 55, 554, NULL, NULL, AC_SEND_PERMANENT, 0, 0, "554" },
	{ AC_PROV_SMTP, 7, 0, NULL, NULL, AC_SEND_RETRY, 0, 0, "refused" },
};

static void
test_classify(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cls_case *c = &cases[i];
		struct ac_answer a;

		ac_prov_classify(c->p, c->transport, c->transport ? "Connection refused, resolve,"
		    " timeout" : "reply", c->status, c->body, c->retry_after, &a);
		if (a.verdict != c->want || a.retry_after_ms != c->retry_ms ||
		    a.blocked != c->blocked || (c->reason && !strstr(a.reason, c->reason)))
			fail_msg("case %zu (%s %ld %s): verdict %d retry %lld blocked %d reason '%s'",
			    i, ac_prov_name(c->p), c->status, c->body ? c->body : "-", a.verdict,
			    (long long)a.retry_after_ms, a.blocked, a.reason);
		if (c->want == AC_SEND_OK && c->p != AC_PROV_SMTP && a.id[0] == '\0')
			fail_msg("case %zu: no message id", i);
	}
	(void)state;
}

static void
test_classify_details(void **state)
{
	struct ac_answer a;

	ac_prov_classify(AC_PROV_TELEGRAM, 0, "", 200, "{\"ok\":true,\"result\":"
	    "{\"message_id\":42}}", NULL, &a);
	assert_string_equal(a.id, "42");
	ac_prov_classify(AC_PROV_TELEGRAM, 0, "", 400, "{\"ok\":false,\"error_code\":400,"
	    "\"parameters\":{\"migrate_to_chat_id\":-1001234567890}}", NULL, &a);
	assert_string_equal(a.migrate_chat, "-1001234567890");
	ac_prov_classify(AC_PROV_NETGSM, 0, "", 200, "{\"code\":\"00\",\"jobid\":\"1737\"}", NULL,
	    &a);
	assert_string_equal(a.id, "1737");
	(void)state;
}

/* ---- requests ------------------------------------------------------------ */

static const struct ac_prov_cfg cfg = { 1, "http://fake", "123:TOKEN", "secret",
	"alertcast <a@example.com>", 0, 0 };

/* The JSON body of req (caller decrefs). */
static json_t *
body(const struct ac_http_req *req)
{
	json_t *o = json_loads(req->body, 0, NULL);

	assert_non_null(o);
	return o;
}

static void
test_telegram_html(void **state)
{
	char *esc = ac_html_escape("Fast <b> & \"co\" 'q'"), err[128], *text;
	struct ac_var v[] = { { "strategy", esc }, { "price", "100.5" } };
	struct ac_outmsg m = { "delivery", 7, "900000001", "", "", NULL, NULL, NULL };
	struct ac_http_req req;
	char big[5000];
	json_t *o;

	assert_string_equal(esc, "Fast &lt;b&gt; &amp; &quot;co&quot; &#39;q&#39;");
	/* the template's markup stays, the values are escaped */
	text = ac_message_fill("<b>{{strategy}}</b> <code>{{price}}</code>", v, 2, NULL);
	assert_string_equal(text, "<b>Fast &lt;b&gt; &amp; &quot;co&quot; &#39;q&#39;</b>"
	    " <code>100.5</code>");
	m.html = text;
	assert_int_equal(ac_prov_request(AC_PROV_TELEGRAM, &cfg, &m, &req, err, sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/bot123:TOKEN/sendMessage");
	o = body(&req);
	assert_string_equal(json_string_value(json_object_get(o, "text")), text);
	assert_string_equal(json_string_value(json_object_get(o, "parse_mode")), "HTML");
	assert_string_equal(json_string_value(json_object_get(o, "chat_id")), "900000001");
	json_decref(o);
	free(req.body);
	/* Telegram takes at most 4096 characters */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m.html = big;
	assert_int_equal(ac_prov_request(AC_PROV_TELEGRAM, &cfg, &m, &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "4096"));
	free(text);
	free(esc);
	(void)state;
}

/* 1 if req has header line h. */
static int
has_header(const struct ac_http_req *req, const char *h)
{
	for (int i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i], h) == 0)
			return 1;
	return 0;
}

static void
test_requests(void **state)
{
	struct ac_outmsg m = { "delivery", 7, "+905551112233", "Subject", "plain & text",
	    "<p>html</p>", NULL, NULL };
	struct ac_http_req req;
	char key[64], other[64], err[128];
	json_t *o;

	ac_prov_idempotency_key("delivery", 7, key, sizeof(key));
	ac_prov_idempotency_key("notice", 7, other, sizeof(other));
	assert_int_equal(strlen(key), 36);
	assert_int_equal(key[14], '4');
	assert_string_not_equal(key, other);
	ac_prov_idempotency_key("delivery", 7, other, sizeof(other));
	assert_string_equal(key, other);

	assert_int_equal(ac_prov_request(AC_PROV_RESEND, &cfg, &m, &req, err, sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/emails");
	assert_true(has_header(&req, "Authorization: Bearer 123:TOKEN"));
	snprintf(other, sizeof(other), "Idempotency-Key: %s", key);
	assert_true(has_header(&req, other));
	assert_non_null(strstr(req.headers[0], "User-Agent: alertcast/"));
	o = body(&req);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "to"), 0)),
	    "+905551112233");
	assert_null(json_object_get(o, "headers"));	/* an account email: no unsubscribe */
	json_decref(o);
	free(req.body);
	/* a signal email: the one-click unsubscribe of RFC 8058 */
	m.unsubscribe = "https://a.example/account/email/unsubscribe?u=12&t=ab";
	assert_int_equal(ac_prov_request(AC_PROV_RESEND, &cfg, &m, &req, err, sizeof(err)), 0);
	o = body(&req);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "headers"),
	    "List-Unsubscribe")), "<https://a.example/account/email/unsubscribe?u=12&t=ab>");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "headers"),
	    "List-Unsubscribe-Post")), "List-Unsubscribe=One-Click");
	json_decref(o);
	free(req.body);
	m.unsubscribe = NULL;

	assert_int_equal(ac_prov_request(AC_PROV_NETGSM, &cfg, &m, &req, err, sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/sms/rest/v2/send");
	assert_string_equal(req.basic_user, "123:TOKEN");
	o = body(&req);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o,
	    "messages"), 0), "no")), "905551112233");
	json_decref(o);
	free(req.body);

	assert_int_equal(ac_prov_request(AC_PROV_TWILIO, &cfg, &m, &req, err, sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/2010-04-01/Accounts/123:TOKEN/Messages.json");
	assert_string_equal(req.body, "To=%2B905551112233&From=alertcast%20%3Ca%40example.com%3E"
	    "&Body=plain%20%26%20text");
	free(req.body);

	assert_int_equal(ac_prov_request(AC_PROV_ONESIGNAL, &cfg, &m, &req, err, sizeof(err)), 0);
	o = body(&req);
	/* the device the user linked, and nothing else to target */
	assert_string_equal(json_string_value(json_array_get(json_object_get(o,
	    "include_subscription_ids"), 0)), m.to);
	assert_int_equal(json_array_size(json_object_get(o, "include_subscription_ids")), 1);
	assert_null(json_object_get(o, "include_aliases"));
	assert_null(json_object_get(o, "target_channel"));
	assert_string_equal(json_string_value(json_object_get(o, "idempotency_key")), key);
	assert_null(json_object_get(o, "url"));
	json_decref(o);
	free(req.body);
	/* a signal's push opens the portal */
	m.url = "https://a.example/trades";
	assert_int_equal(ac_prov_request(AC_PROV_ONESIGNAL, &cfg, &m, &req, err, sizeof(err)), 0);
	o = body(&req);
	assert_string_equal(json_string_value(json_object_get(o, "url")), "https://a.example/trades");
	json_decref(o);
	free(req.body);

	assert_int_equal(ac_prov_request(AC_PROV_SMTP, &cfg, &m, &req, err, sizeof(err)), -1);
	(void)state;
}

/* ---- MIME ------------------------------------------------------------------ */

/* ---- SMTP: the message a recipient gets -------------------------------------- */

/* base64 of s decoded into out. */
static void
b64dec(const char *s, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0;
	int bits = 0;

	for (size_t i = 0; i < n && s[i] != '='; i++) {
		v = v << 6 | (unsigned)(strchr(tab, s[i]) - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			*out++ = (char)(v >> bits & 0xff);
		}
	}
	*out = '\0';
}

/* Reads a line (CRLF) from fd into line; 0 at EOF. */
static size_t
smtp_line(int fd, char *line, size_t sz)
{
	size_t n = 0;
	char c;

	while (n + 1 < sz && read(fd, &c, 1) == 1) {
		line[n++] = c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return n;
}

/*
 * A one-message SMTP server on a free port of 127.0.0.1 in a child: it
 * writes the envelope and the DATA (dot-unstuffed) to the file out and
 * exits. Returns the port; *pid is the child.
 */
static int
smtp_server(const char *out, pid_t *pid)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	if ((*pid = fork()) == 0) {
		char line[4096];
		int c = accept(s, NULL, NULL), data = 0;
		FILE *f = fopen(out, "w");

		dprintf(c, "220 test ESMTP\r\n");
		while (smtp_line(c, line, sizeof(line)) > 0) {
			if (data) {
				if (strcmp(line, ".\r\n") == 0) {
					data = 0;
					dprintf(c, "250 ok\r\n");
				} else
					fputs(line[0] == '.' ? line + 1 : line, f);
			} else if (strncasecmp(line, "DATA", 4) == 0) {
				data = 1;
				dprintf(c, "354 go\r\n");
			} else if (strncasecmp(line, "QUIT", 4) == 0) {
				dprintf(c, "221 bye\r\n");
				break;
			} else {
				if (strncasecmp(line, "MAIL", 4) == 0 || strncasecmp(line, "RCPT", 4) == 0)
					fprintf(f, "%s", line);
				dprintf(c, "250 ok\r\n");
			}
		}
		fclose(f);
		_exit(0);
	}
	close(s);
	return ntohs(sa.sin_port);
}

/* Sends m as from through ac_prov_smtp() to the test server; the
 * envelope and message it got, malloc'd. */
static char *
smtp_send(const char *from, const char *to, const char *subject, const char *text,
    const char *html, const char *unsubscribe)
{
	char path[] = "/tmp/test_provider.XXXXXX", url[64], *got;
	struct ac_prov_cfg c = { 1, url, NULL, NULL, from, 0, 0 };
	struct ac_outmsg m = { "delivery", 1, to, subject, text, html, NULL, unsubscribe };
	struct ac_smtp t;
	struct ac_err e;
	CURL *easy = curl_easy_init();
	pid_t pid;
	FILE *f;
	long size;
	int fd = mkstemp(path), st;

	assert_true(fd >= 0);
	close(fd);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp_server(path, &pid));
	assert_int_equal(ac_prov_smtp(easy, &c, &m, "d-1.ab@example.com", 0, &t, &e), 0);
	assert_int_equal(curl_easy_perform(easy), CURLE_OK);
	curl_easy_cleanup(easy);
	ac_smtp_free(&t);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	got = calloc(1, (size_t)size + 1);
	assert_int_equal(fread(got, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	unlink(path);
	return got;
}

/* The value of header name (unfolded, folds dropped) in the header block
 * hdr (up to the blank line) into out; NULL if absent. */
static char *
header_of(const char *hdr, const char *name, char *out, size_t outsz)
{
	const char *end = strstr(hdr, "\r\n\r\n"), *p;
	size_t n = 0, nl = strlen(name);

	for (p = hdr; p != NULL && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
			break;
	if (p == NULL || p >= end)
		return NULL;
	for (p += nl + 1; *p == ' '; p++)
		;
	for (; p < end && n + 1 < outsz; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			p += 2;
			continue;
		}
		if (p[0] == '\r' && p[1] == '\n')
			break;
		out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

/* Quoted-printable (with soft breaks) from s to e decoded into out. */
static void
qpdec(const char *s, const char *e, char *out)
{
	while (s < e) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n')
			s += 3;
		else if (s[0] == '=') {
			unsigned v;

			assert_int_equal(sscanf(s + 1, "%2X", &v), 1);
			*out++ = (char)v;
			s += 3;
		} else
			*out++ = *s++;
	}
	*out = '\0';
}

/* The decoded body of msg's part of Content-Type type (up to the ';')
 * into out; fails the test when there is none or it is not
 * quoted-printable. */
static void
part_of(const char *msg, const char *type, char *out)
{
	char ct[256], bnd[128], delim[140], v[256];
	const char *p, *q, *b;

	assert_non_null(header_of(msg, "Content-Type", ct, sizeof(ct)));
	assert_non_null(b = strstr(ct, "boundary="));
	snprintf(bnd, sizeof(bnd), "%.*s", (int)strcspn(b + 9 + (b[9] == '"'), "\";"),
	    b + 9 + (b[9] == '"'));
	snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
	for (p = strstr(msg, delim); p != NULL; p = q) {
		p += strlen(delim);
		if (strncmp(p, "--", 2) == 0)
			break;
		p += 2;
		q = strstr(p, delim);
		assert_non_null(q);
		assert_non_null(header_of(p, "Content-Type", v, sizeof(v)));
		if (strncmp(v, type, strlen(type)) != 0 || v[strlen(type)] != ';')
			continue;
		assert_non_null(strstr(v, "charset=UTF-8"));
		assert_non_null(header_of(p, "Content-Transfer-Encoding", v, sizeof(v)));
		assert_string_equal(v, "quoted-printable");
		qpdec(strstr(p, "\r\n\r\n") + 4, q, out);
		return;
	}
	fail_msg("no %s part", type);
}

/* A UTF-8 header value of RFC 2047 "B" words decoded into out. */
static void
words_of(const char *v, char *out)
{
	out[0] = '\0';
	while (strncmp(v, "=?UTF-8?B?", 10) == 0) {
		const char *end = strstr(v + 10, "?=");
		char word[128];

		assert_non_null(end);
		assert_true(end + 2 - v <= 75);
		b64dec(v + 10, (size_t)(end - v - 10), word);
		strcat(out, word);
		v = end + 2;
		while (*v == ' ')
			v++;
	}
	assert_string_equal(v, "");
}

/* n messages to "to-<i>" (ids 100 + i), one content. */
static struct ac_outmsg *
many(size_t n)
{
	struct ac_outmsg *m = calloc(n, sizeof(*m));
	static char to[3][16];

	assert_non_null(m);
	for (size_t i = 0; i < n; i++) {
		if (i < 3)
			snprintf(to[i], sizeof(to[i]), "to-%zu", i);
		m[i] = (struct ac_outmsg){ "delivery", 100 + (long long)i, to[i < 3 ? i : 2],
		    "Subject", "text", "<p>html</p>", NULL, NULL };
	}
	return m;
}

/* The bulk forms: OneSignal one notification to many subscriptions,
 * Resend's /emails/batch, Netgsm's messages array; keys from the ids;
 * what may share a request; the caps. */
static void
test_batches(void **state)
{
	struct ac_outmsg *m = many(3), other;
	struct ac_http_req req;
	char key[64], again[64], one[64], hdr[128], err[128];
	long long ids[3] = { 100, 101, 102 }, ids2[3] = { 100, 101, 103 };
	json_t *o;

	assert_int_equal(ac_prov_batch_max(AC_PROV_ONESIGNAL), 20000);
	assert_int_equal(ac_prov_batch_max(AC_PROV_RESEND), 100);
	assert_int_equal(ac_prov_batch_max(AC_PROV_TELEGRAM), 1);
	assert_int_equal(ac_prov_batch_max(AC_PROV_TWILIO), 1);
	/* OneSignal: one content a notification; never one recipient twice */
	other = m[1];
	assert_true(ac_prov_batchable(AC_PROV_ONESIGNAL, &m[0], &m[1]));
	other.text = "another text";
	assert_false(ac_prov_batchable(AC_PROV_ONESIGNAL, &m[0], &other));
	assert_true(ac_prov_batchable(AC_PROV_RESEND, &m[0], &other));
	other.to = m[0].to;
	assert_false(ac_prov_batchable(AC_PROV_RESEND, &m[0], &other));
	assert_false(ac_prov_batchable(AC_PROV_TELEGRAM, &m[0], &m[1]));

	ac_prov_batch_key("delivery", ids, 3, key, sizeof(key));
	ac_prov_batch_key("delivery", ids, 3, again, sizeof(again));
	assert_string_equal(key, again);
	assert_int_equal(strlen(key), 36);
	ac_prov_batch_key("delivery", ids2, 3, again, sizeof(again));
	assert_string_not_equal(key, again);
	ac_prov_batch_key("delivery", ids, 1, again, sizeof(again));
	ac_prov_idempotency_key("delivery", 100, one, sizeof(one));
	assert_string_equal(again, one);

	assert_int_equal(ac_prov_request_batch(AC_PROV_ONESIGNAL, &cfg, m, 3, &req, err,
	    sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/notifications");
	o = body(&req);
	assert_int_equal(json_array_size(json_object_get(o, "include_subscription_ids")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o,
	    "include_subscription_ids"), 2)), "to-2");
	assert_string_equal(json_string_value(json_object_get(o, "idempotency_key")), key);
	json_decref(o);
	free(req.body);

	assert_int_equal(ac_prov_request_batch(AC_PROV_RESEND, &cfg, m, 3, &req, err,
	    sizeof(err)), 0);
	assert_string_equal(req.url, "http://fake/emails/batch");
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", key);
	assert_true(has_header(&req, hdr));
	o = body(&req);
	assert_true(json_is_array(o));
	assert_int_equal(json_array_size(o), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(o, 1),
	    "to"), 0)), "to-1");
	json_decref(o);
	free(req.body);

	assert_int_equal(ac_prov_request_batch(AC_PROV_NETGSM, &cfg, m, 3, &req, err,
	    sizeof(err)), 0);
	o = body(&req);
	assert_int_equal(json_array_size(json_object_get(o, "messages")), 3);
	json_decref(o);
	free(req.body);

	assert_int_equal(ac_prov_request_batch(AC_PROV_TELEGRAM, &cfg, m, 3, &req, err,
	    sizeof(err)), -1);
	/* Telegram: one message a request, paid broadcast when set */
	assert_int_equal(ac_prov_request(AC_PROV_TELEGRAM, &cfg, m, &req, err, sizeof(err)), 0);
	o = body(&req);
	assert_null(json_object_get(o, "allow_paid_broadcast"));
	json_decref(o);
	free(req.body);
	{
		struct ac_prov_cfg paid = cfg;

		paid.paid_broadcast = 1;
		assert_int_equal(ac_prov_request(AC_PROV_TELEGRAM, &paid, m, &req, err,
		    sizeof(err)), 0);
		o = body(&req);
		assert_true(json_is_true(json_object_get(o, "allow_paid_broadcast")));
		json_decref(o);
		free(req.body);
	}
	free(m);
	m = many(101);
	assert_int_equal(ac_prov_request_batch(AC_PROV_RESEND, &cfg, m, 101, &req, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 100"));
	free(m);
	(void)state;
}

/* Answers per recipient: OneSignal's invalid_player_ids and
 * invalid_aliases, Resend's data and errors[] by index; the whole
 * request's verdict for the rest. */
static void
test_classify_batch(void **state)
{
	struct ac_outmsg *m = many(3);
	struct ac_answer a[3];

	ac_prov_classify_batch(AC_PROV_ONESIGNAL, 0, "", 200, "{\"id\": \"n-1\", \"errors\":"
	    " {\"invalid_player_ids\": [\"to-1\"]}}", NULL, m, 3, a);
	assert_int_equal(a[0].verdict, AC_SEND_OK);
	assert_string_equal(a[0].id, "n-1");
	assert_int_equal(a[1].verdict, AC_SEND_PERMANENT);
	assert_non_null(strstr(a[1].reason, "not subscribed"));
	assert_int_equal(a[2].verdict, AC_SEND_OK);
	ac_prov_classify_batch(AC_PROV_ONESIGNAL, 0, "", 200, "{\"id\": \"n-2\", \"errors\":"
	    " {\"invalid_aliases\": {\"external_id\": [\"to-0\", \"to-2\"]}}}", NULL, m, 3, a);
	assert_int_equal(a[0].verdict, AC_SEND_PERMANENT);
	assert_int_equal(a[1].verdict, AC_SEND_OK);
	assert_int_equal(a[2].verdict, AC_SEND_PERMANENT);
	ac_prov_classify_batch(AC_PROV_ONESIGNAL, 0, "", 200, "{\"id\": \"\", \"errors\":"
	    " [\"All included players are not subscribed\"]}", NULL, m, 3, a);
	for (int i = 0; i < 3; i++)
		assert_int_equal(a[i].verdict, AC_SEND_PERMANENT);
	ac_prov_classify_batch(AC_PROV_ONESIGNAL, 0, "", 429, "{\"errors\": [\"API rate limit"
	    " exceeded.\"]}", "1", m, 3, a);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a[i].verdict, AC_SEND_RETRY);
		assert_int_equal(a[i].retry_after_ms, 1000);
	}
	ac_prov_classify_batch(AC_PROV_RESEND, 0, "", 200, "{\"data\": [{\"id\": \"e-0\"},"
	    " {\"id\": \"e-1\"}, {\"id\": \"e-2\"}]}", NULL, m, 3, a);
	assert_int_equal(a[2].verdict, AC_SEND_OK);
	assert_string_equal(a[2].id, "e-2");
	ac_prov_classify_batch(AC_PROV_RESEND, 0, "", 200, "{\"data\": [{\"id\": \"e-0\"},"
	    " {\"id\": \"e-2\"}], \"errors\": [{\"index\": 1, \"message\": \"Invalid `to`\"}]}",
	    NULL, m, 3, a);
	assert_string_equal(a[0].id, "e-0");
	assert_int_equal(a[1].verdict, AC_SEND_PERMANENT);
	assert_non_null(strstr(a[1].reason, "Invalid"));
	assert_string_equal(a[2].id, "e-2");
	/* an answer that does not say which went: all again (the key makes it harmless) */
	ac_prov_classify_batch(AC_PROV_RESEND, 0, "", 200, "{\"data\": [{\"id\": \"e-0\"}]}",
	    NULL, m, 3, a);
	for (int i = 0; i < 3; i++)
		assert_int_equal(a[i].verdict, AC_SEND_RETRY);
	ac_prov_classify_batch(AC_PROV_NETGSM, 0, "", 200, "{\"code\": \"00\", \"jobid\": \"9\"}",
	    NULL, m, 3, a);
	for (int i = 0; i < 3; i++)
		assert_string_equal(a[i].id, "9");
	free(m);
	(void)state;
}

static void
test_smtp(void **state)
{
	char long_line[200], html[sizeof(long_line) + 16], v[512], part[512], *got, *m, *p;
	const char *utf = "Fiyat \xe2\x86\x91 BTCUSDT \xe2\x80\x93 \xc5\x9fimdi, \xc3\xa7ok"
	    " g\xc3\xbczel \xc5\x9f" "ey \xc4\x9f" "i\xc5\x9f \xe2\x82\xac 100";
	struct ac_prov_cfg c = { 1, "smtp://127.0.0.1:1", NULL, NULL, "a@example.com", 0, 0 };
	struct ac_outmsg bad = { "delivery", 1, "u@example.com\r\nBcc: x@y", "s", "t", "h", NULL, NULL };
	struct ac_smtp t;
	struct ac_err e;
	CURL *easy;

	memset(long_line, 'a', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	snprintf(html, sizeof(html), "<p>%s</p>", long_line);
	got = smtp_send("alertcast <a@example.com>", "u@example.com", "BUY BTCUSDT",
	    "caf\xc3\xa9 = 100 \ntrail \nline2", html, "https://a.example/u?u=2&t=ab");
	/* the envelope: the bare sender address, the recipient */
	assert_int_equal(strncmp(got, "MAIL FROM:<a@example.com>", 25), 0);
	assert_non_null(m = strstr(got, "\r\nRCPT TO:<u@example.com>\r\n"));
	m += 27;
	assert_string_equal(header_of(m, "Date", v, sizeof(v)), "Thu, 01 Jan 1970 00:00:00 +0000");
	assert_string_equal(header_of(m, "From", v, sizeof(v)), "alertcast <a@example.com>");
	assert_string_equal(header_of(m, "To", v, sizeof(v)), "u@example.com");
	assert_string_equal(header_of(m, "Subject", v, sizeof(v)), "BUY BTCUSDT");
	assert_string_equal(header_of(m, "Message-ID", v, sizeof(v)), "<d-1.ab@example.com>");
	assert_string_equal(header_of(m, "List-Unsubscribe", v, sizeof(v)),
	    "<https://a.example/u?u=2&t=ab>");
	assert_string_equal(header_of(m, "List-Unsubscribe-Post", v, sizeof(v)),
	    "List-Unsubscribe=One-Click");
	assert_string_equal(header_of(m, "MIME-Version", v, sizeof(v)), "1.0");
	assert_non_null(header_of(m, "Content-Type", v, sizeof(v)));
	assert_int_equal(strncmp(v, "multipart/alternative;", 22), 0);
	/* each part decodes back to its text, line ends as CRLF */
	part_of(m, "text/plain", part);
	assert_string_equal(part, "caf\xc3\xa9 = 100 \r\ntrail \r\nline2");
	part_of(m, "text/html", part);
	assert_string_equal(part, html);
	/* every line ends in CRLF; in the body (libcurl's boundary header is
	 * longer) none is longer than 76 characters (soft breaks) */
	for (p = m; *p; p++) {
		size_t len = strcspn(p, "\n");

		if (p[len] == '\n')
			assert_true(len > 0 && p[len - 1] == '\r');
		assert_true(len <= 77 || p < strstr(m, "\r\n\r\n"));
		p += len;
		if (*p == '\0')
			break;
	}
	free(got);

	/* a UTF-8 subject: RFC 2047 encoded-words that decode back */
	m = smtp_send("a@example.com", "u@example.com", utf, "t", "h", NULL);
	p = strstr(strstr(m, "\r\nRCPT"), "RCPT");
	p = strstr(p, "\r\n") + 2;
	assert_non_null(header_of(p, "Subject", v, sizeof(v)));
	words_of(v, part);
	assert_string_equal(part, utf);
	free(m);

	/* header injection is refused */
	easy = curl_easy_init();
	assert_int_equal(ac_prov_smtp(easy, &c, &bad, "x@y", 0, &t, &e), -1);
	assert_int_equal(e.code, AC_E_INVALID);
	bad.to = "u@example.com";
	c.from = "a@example.com\n";
	assert_int_equal(ac_prov_smtp(easy, &c, &bad, "x@y", 0, &t, &e), -1);
	c.from = "a@example.com";
	assert_int_equal(ac_prov_smtp(easy, &c, &bad, "x@y>", 0, &t, &e), -1);
	bad.unsubscribe = "https://a.example/u\r\nBcc: x@y";
	assert_int_equal(ac_prov_smtp(easy, &c, &bad, "x@y", 0, &t, &e), -1);
	assert_string_equal(e.field, "unsubscribe");
	curl_easy_cleanup(easy);
	(void)state;
}

/* ---- breaker, backoff, plans -------------------------------------------------- */

static void
test_breaker(void **state)
{
	struct ac_breaker b = { 0 }, c;
	char s[64];

	assert_int_equal(ac_breaker_state(&b, 1000), AC_BREAKER_CLOSED);
	assert_true(ac_breaker_allow(&b, 1000, 500));
	/* two failures of three: still closed; a success resets the count */
	assert_true(ac_breaker_record(&b, 0, 1000, 3, 500));
	assert_true(ac_breaker_record(&b, 0, 1001, 3, 500));
	assert_int_equal(ac_breaker_state(&b, 1001), AC_BREAKER_CLOSED);
	assert_true(ac_breaker_record(&b, 1, 1002, 3, 500));
	assert_int_equal(b.fails, 0);
	assert_false(ac_breaker_record(&b, 1, 1003, 3, 500));
	/* three in a row open it for the cool-down */
	for (int i = 0; i < 3; i++)
		ac_breaker_record(&b, 0, 2000, 3, 500);
	assert_int_equal(ac_breaker_state(&b, 2000), AC_BREAKER_OPEN);
	assert_false(ac_breaker_allow(&b, 2499, 500));
	/* then half-open: one probe, no second */
	assert_int_equal(ac_breaker_state(&b, 2500), AC_BREAKER_HALF_OPEN);
	assert_true(ac_breaker_allow(&b, 2500, 500));
	assert_false(ac_breaker_allow(&b, 2600, 500));
	/* a failed probe opens it again at once */
	assert_true(ac_breaker_record(&b, 0, 2700, 3, 500));
	assert_int_equal(ac_breaker_state(&b, 2700), AC_BREAKER_OPEN);
	assert_int_equal(ac_breaker_state(&b, 3200), AC_BREAKER_HALF_OPEN);
	/* a lost probe: another goes after its cool-down */
	assert_true(ac_breaker_allow(&b, 3200, 500));
	assert_false(ac_breaker_allow(&b, 3699, 500));
	assert_true(ac_breaker_allow(&b, 3700, 500));
	/* a good probe closes it */
	assert_true(ac_breaker_record(&b, 1, 3750, 3, 500));
	assert_int_equal(ac_breaker_state(&b, 3750), AC_BREAKER_CLOSED);
	assert_true(ac_breaker_allow(&b, 3750, 500));
	/* the text form round-trips; junk is refused */
	b = (struct ac_breaker){ 2, 1700000000123, 1700000000456 };
	ac_breaker_format(&b, s, sizeof(s));
	assert_string_equal(s, "2:1700000000123:1700000000456");
	assert_int_equal(ac_breaker_parse(s, &c), 0);
	assert_true(c.fails == b.fails && c.open_until == b.open_until &&
	    c.probe_until == b.probe_until);
	assert_int_equal(ac_breaker_parse("2:1:2x", &c), -1);
	assert_int_equal(ac_breaker_parse("-1:0:0", &c), -1);
	assert_int_equal(ac_breaker_parse("", &c), -1);
	(void)state;
}

static void
test_backoff(void **state)
{
	static const int64_t want[] = { 1000, 2000, 4000, 8000, 10000, 10000, 10000 };

	for (int n = 1; n <= 7; n++)
		assert_int_equal(ac_delivery_backoff_ms(n), want[n - 1]);
	(void)state;
}

/* Asserts plan p is the n (provider, tries) pairs that follow. */
static void
expect_plan(const struct ac_retry_plan *p, int n, ...)
{
	va_list ap;

	assert_int_equal(p->n, n);
	va_start(ap, n);
	for (int k = 0; k < n; k++) {
		assert_int_equal(p->prov[k], va_arg(ap, int));
		assert_int_equal(p->tries[k], va_arg(ap, int));
	}
	va_end(ap);
}

static void
test_plans(void **state)
{
	unsigned all = (1u << AC_PROV__MAX) - 1;
	struct ac_retry_plan p;
	int step, nth;

	ac_retry_plan_for("email", all, &p);
	expect_plan(&p, 2, AC_PROV_RESEND, 3, AC_PROV_SMTP, 3);
	for (int a = 1; a <= 6; a++) {
		assert_int_equal(ac_retry_plan_step(&p, a, &step, &nth), 0);
		assert_int_equal(step, a <= 3 ? 0 : 1);
		assert_int_equal(nth, a <= 3 ? a : a - 3);
	}
	assert_int_equal(ac_retry_plan_step(&p, 7, &step, &nth), -1);
	ac_retry_plan_for("email", 1u << AC_PROV_SMTP, &p);
	expect_plan(&p, 1, AC_PROV_SMTP, 3);
	ac_retry_plan_for("sms", all, &p);
	expect_plan(&p, 2, AC_PROV_NETGSM, 3, AC_PROV_TWILIO, 3);
	ac_retry_plan_for("sms", 1u << AC_PROV_TWILIO, &p);
	expect_plan(&p, 1, AC_PROV_TWILIO, 3);
	ac_retry_plan_for("telegram", all, &p);
	expect_plan(&p, 1, AC_PROV_TELEGRAM, 3);
	assert_int_equal(ac_retry_plan_step(&p, 4, &step, &nth), -1);
	ac_retry_plan_for("push", all, &p);
	expect_plan(&p, 1, AC_PROV_ONESIGNAL, 1);
	assert_int_equal(ac_retry_plan_step(&p, 1, &step, &nth), 0);
	assert_int_equal(ac_retry_plan_step(&p, 2, &step, &nth), -1);
	/* nothing configured: the outbox */
	ac_retry_plan_for("telegram", all & ~(1u << AC_PROV_TELEGRAM), &p);
	expect_plan(&p, 0);
	ac_retry_plan_for("email", 0, &p);
	expect_plan(&p, 0);
	assert_int_equal(ac_retry_plan_step(&p, 1, &step, &nth), -1);
	ac_retry_plan_for("fax", all, &p);
	expect_plan(&p, 0);
	(void)state;
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_details),
		cmocka_unit_test(test_telegram_html),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_classify_batch),
		cmocka_unit_test(test_smtp),
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_plans),
	};

	return cmocka_run_group_tests_name("provider", tests, NULL, NULL);
}
