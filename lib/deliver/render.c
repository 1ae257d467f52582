/*
 * render.c — the texts a send carries, from the message templates
 * (message.h): a signal's per channel (ac_render_signal(), deliver.h), a
 * notice's, and the HTML part of an email_outbox message. Numbers are
 * written for a reader here (42,800.5); the wording is the templates'.
 * An email's HTML part is its content in the shared layout (email_layout)
 * and its text part ends with the shared footer (email_footer): why the
 * reader gets it, the preferences page and, for signals, the unsubscribe
 * link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account/notify.h"
#include "base/buf.h"
#include "base/escape.h"
#include "base/message.h"
#include "deliver/deliver.h"
#include "deliver/internal.h"

#define VARS_MAX	32

/* Where messages link to (ac_render_links()). */
static char *base_url, *unsub_secret;

void
ac_render_links(const char *base, const char *secret)
{
	free(base_url);
	free(unsub_secret);
	base_url = strdup(base ? base : "");
	unsub_secret = secret && *secret ? strdup(secret) : NULL;
	if (base_url == NULL || (secret && *secret && unsub_secret == NULL))
		abort();
	/* links are written <base>/page */
	for (size_t n = strlen(base_url); n > 0 && base_url[n - 1] == '/'; n--)
		base_url[n - 1] = '\0';
}

/* <base><path> into out. */
static void
link_to(const char *path, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s", base_url ? base_url : "", path);
}

/* ac_message_render() with its error message in err. */
static char *
message(const char *tmpl, const struct ac_var *vars, size_t n, char *err, size_t errsz)
{
	struct ac_err e;
	char *out = ac_message_render(tmpl, vars, n, &e);

	if (out == NULL)
		snprintf(err, errsz, "%s", e.message);
	return out;
}

/* 1 if var name holds markup already (built from escaped values): *_html. */
static int
is_markup(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && strcmp(name + n - 5, "_html") == 0;
}

/* tmpl rendered with vars, each value HTML-escaped when html (but those
 * named *_html). NULL with err. */
static char *
render_vars(const char *tmpl, const struct ac_var *vars, size_t n, int html, char *err,
    size_t errsz)
{
	struct ac_var esc[VARS_MAX] = { { NULL, NULL } };
	char *out;

	if (!html || n > sizeof(esc) / sizeof(esc[0]))
		return message(tmpl, vars, n, err, errsz);
	for (size_t i = 0; i < n; i++) {
		esc[i].name = vars[i].name;
		esc[i].value = is_markup(vars[i].name) ? vars[i].value :
		    ac_html_escape(vars[i].value ? vars[i].value : "");
	}
	out = message(tmpl, esc, n, err, errsz);
	for (size_t i = 0; i < n; i++)
		if (!is_markup(esc[i].name))
			free((char *)esc[i].value);
	return out;
}

/* s without its final line breaks (a template file's last newline). */
static char *
chomp(char *s)
{
	for (size_t k = s ? strlen(s) : 0; k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r'); k--)
		s[k - 1] = '\0';
	return s;
}

/*
 * s, a decimal as PostgreSQL writes it ("42800.50000000", "-0.5", "+500"),
 * for a reader into out: thousands parted by commas, the fraction's
 * trailing zeros dropped ("42,800.5"). Anything else is copied as it is.
 */
static void
number_text(const char *s, char *out, size_t outsz)
{
	const char *p = s, *dot;
	size_t nint, nfrac, o = 0;
	char buf[128];

	if (*p == '+' || *p == '-')
		p++;
	nint = strspn(p, "0123456789");
	dot = p + nint;
	nfrac = *dot == '.' ? strspn(dot + 1, "0123456789") : 0;
	if (nint == 0 || (*dot != '\0' && (*dot != '.' || dot[1 + nfrac] != '\0')) ||
	    nint + nint / 3 + nfrac + 3 >= sizeof(buf)) {
		snprintf(out, outsz, "%s", s);
		return;
	}
	if (p != s)
		buf[o++] = *s;
	for (size_t i = 0; i < nint; i++) {
		if (i > 0 && (nint - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = p[i];
	}
	while (nfrac > 0 && dot[nfrac] == '0')
		nfrac--;
	if (nfrac > 0) {
		memcpy(buf + o, dot, nfrac + 1);
		o += nfrac + 1;
	}
	buf[o] = '\0';
	snprintf(out, outsz, "%s", buf);
}

/* The lines for the trades the signal closed or replaced ("" if none),
 * from tmpl (trade_closed, or trade_closed.sms); NULL with err on a
 * template error. The caller frees the result. */
static char *
closed_lines(const char *json, const char *tmpl, char *err, size_t errsz)
{
	json_t *arr = *json ? json_loads(json, 0, NULL) : NULL, *t;
	struct ac_buf all = AC_BUF_INIT;
	char *line;
	size_t i;

	json_array_foreach(arr, i, t) {
		char num[16], entry[64], exit[64], pnl[64], pct[64];
		const char *reason = json_string_value(json_object_get(t, "reason"));
		struct ac_var v[] = {
			{ "number", num },
			{ "side", json_string_value(json_object_get(t, "side")) },
			{ "entry", entry },
			{ "exit", exit },
			{ "reason", reason },
			{ "reason_words", ac_exit_reason_words(reason) },
			{ "pnl", pnl },
			{ "pnl_percent", pct },
		};

		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(json_object_get(t, "number")));
		number_text(json_string_value(json_object_get(t, "entry")) ?: "", entry,
		    sizeof(entry));
		number_text(json_string_value(json_object_get(t, "exit")) ?: "", exit, sizeof(exit));
		number_text(json_string_value(json_object_get(t, "pnl")) ?: "", pnl, sizeof(pnl));
		number_text(json_string_value(json_object_get(t, "pnl_percent")) ?: "", pct,
		    sizeof(pct));
		if ((line = message(tmpl, v, sizeof(v) / sizeof(v[0]), err, errsz)) == NULL) {
			json_decref(arr);
			ac_buf_free(&all);
			return NULL;
		}
		ac_buf_puts(&all, line);
		free(line);
	}
	json_decref(arr);
	return ac_buf_take(&all);
}

/* text escaped for HTML, its line breaks <br> (malloc'd). */
static char *
lines_html(const char *text)
{
	char *esc = chomp(ac_html_escape(text));
	struct ac_buf out = AC_BUF_INIT;

	for (const char *p = esc; *p != '\0'; p++)
		if (*p == '\n')
			ac_buf_puts(&out, "<br>\n");
		else
			ac_buf_putc(&out, *p);
	free(esc);
	return ac_buf_take(&out);
}

void
ac_texts_free(struct ac_texts *t)
{
	free(t->text);
	free(t->html);
	free(t->subject);
	free(t->url);
	free(t->unsubscribe);
	memset(t, 0, sizeof(*t));
}

/* A subject is one line. 0 if t has all three texts, else -1 (freed). */
static int
texts_done(struct ac_texts *t)
{
	if (t->text == NULL || t->html == NULL || t->subject == NULL) {
		ac_texts_free(t);
		return -1;
	}
	t->subject[strcspn(t->subject, "\r\n")] = '\0';
	return 0;
}

/*
 * An email's parts in t: the text with the footer, the HTML content in
 * the layout. strategy names the signal's ("": an account notice, which
 * carries no unsubscribe link). t->text and t->html hold the content on
 * entry and are replaced; on a template error either is NULL.
 */
static void
email_parts(struct ac_texts *t, const char *strategy, char *err, size_t errsz)
{
	char account[1024];
	struct ac_var v[] = {
		{ "title", t->subject },
		{ "strategy", strategy },
		{ "account_url", account },
		{ "unsubscribe_url", t->unsubscribe },
		{ "content_html", t->html },
	};
	size_t n = sizeof(v) / sizeof(v[0]);
	char *footer, *page;

	link_to("/account", account, sizeof(account));
	if (t->subject != NULL)
		t->subject[strcspn(t->subject, "\r\n")] = '\0';
	footer = t->text ? render_vars("email_footer", v, n, 0, err, errsz) : NULL;
	page = t->html && t->subject ? render_vars("email_layout", v, n, 1, err, errsz) : NULL;
	if (footer != NULL) {
		struct ac_buf b = AC_BUF_INIT;

		ac_buf_printf(&b, "%s\n%s", t->text, footer);
		free(footer);
		free(t->text);
		t->text = ac_buf_take(&b);
	} else {
		free(t->text);
		t->text = NULL;
	}
	free(t->html);
	t->html = page;
}

/* The signal's SMS from tmpl with vars (a copy is changed): the link, then
 * the strategy's name, left out until it fits one GSM-7 segment; the
 * shortest when none does. NULL with err. */
static char *
sms_text(const char *tmpl, const struct ac_var *vars, size_t n, char *err, size_t errsz)
{
	static const char *const drop[] = { NULL, "portal_url", "strategy" };
	struct ac_var v[VARS_MAX];
	char *out = NULL;
	int septets;

	if (n > VARS_MAX)
		n = VARS_MAX;
	memcpy(v, vars, n * sizeof(v[0]));
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		for (size_t k = 0; drop[i] != NULL && k < n; k++)
			if (strcmp(v[k].name, drop[i]) == 0)
				v[k].value = "";
		free(out);
		if ((out = chomp(render_vars(tmpl, v, n, 0, err, errsz))) == NULL)
			return NULL;
		if ((septets = ac_gsm7_septets(out)) >= 0 && septets <= AC_SMS_GSM7_MAX)
			break;
	}
	return out;
}

int
ac_render_preload(void)
{
	static const char *const names[] = {
		"entry", "entry.sms", "entry.telegram", "entry.html",
		"exit", "exit.sms", "exit.telegram", "exit.html",
		"replacement", "replacement.sms", "replacement.telegram", "replacement.html",
		"signal_levels", "signal_levels.sms", "trade_opened", "trade_none",
		"trade_closed", "trade_closed.sms", "push_body", "push_heading",
		"email_layout", "email_footer", "email_subject",
	};

	return (int)ac_message_preload(names, sizeof(names) / sizeof(names[0]));
}

int
ac_render_signal(const struct ac_signal_msg *m, int ch, struct ac_texts *t, char *err,
    size_t errsz)
{
	const char *sfx = ch == AC_CH_SMS ? ".sms" : "";
	char price[64], tp[64], sl[64], portal[1024], account[1024], tmpl[64], action[64];
	char *closed = NULL, *closed_html = NULL, *trade = NULL, *levels = NULL;
	struct ac_var tv[] = { { "number", m->trade } };
	int rc = -1;

	memset(t, 0, sizeof(*t));
	number_text(m->price, price, sizeof(price));
	number_text(m->take_profit, tp, sizeof(tp));
	number_text(m->stop_loss, sl, sizeof(sl));
	link_to("/trades", portal, sizeof(portal));
	link_to("/account", account, sizeof(account));
	if ((t->url = strdup(portal)) == NULL)
		abort();
	if (ch == AC_CH_EMAIL && unsub_secret != NULL) {
		char token[65], u[1200];

		ac_unsubscribe_token(unsub_secret, m->user_id, token);
		snprintf(u, sizeof(u), "%s/account/email/unsubscribe?u=%lld&t=%s", base_url,
		    m->user_id, token);
		if ((t->unsubscribe = strdup(u)) == NULL)
			abort();
	}
	snprintf(tmpl, sizeof(tmpl), "trade_closed%s", sfx);
	if ((closed = closed_lines(m->closed, tmpl, err, errsz)) == NULL)
		goto done;
	closed_html = lines_html(closed);
	if ((trade = chomp(message(*m->trade ? "trade_opened" : "trade_none", tv, 1, err,
	    errsz))) == NULL)
		goto done;
	/* TP_HIT and SL_HIT read as words: "SL HIT" */
	snprintf(action, sizeof(action), "%s", m->action);
	for (char *p = action; (p = strchr(p, '_')) != NULL; )
		*p = ' ';
	{
		struct ac_var v[] = {
			{ "channel", ch >= 0 ? ac_channel_name((enum ac_channel)ch) : "" },
			{ "strategy", m->strategy },
			{ "symbol", m->symbol },
			{ "timeframe", m->timeframe },
			{ "action", action },
			{ "price", price },
			{ "take_profit", tp },
			{ "stop_loss", sl },
			{ "time", m->time },
			{ "name", m->name },
			{ "kind", m->kind },
			{ "trade", trade },
			{ "closed", closed },
			{ "closed_html", closed_html },
			{ "portal_url", portal },
			{ "account_url", account },
			{ "unsubscribe_url", t->unsubscribe },
			{ "levels", NULL },
		};
		size_t n = sizeof(v) / sizeof(v[0]);

		snprintf(tmpl, sizeof(tmpl), "signal_levels%s", sfx);
		if ((levels = chomp(render_vars(tmpl, v, n, 0, err, errsz))) == NULL)
			goto done;
		v[n - 1].value = levels;
		if (ch == AC_CH_SMS) {
			snprintf(tmpl, sizeof(tmpl), "%s.sms", m->kind);
			t->text = sms_text(tmpl, v, n, err, errsz);
		} else
			t->text = render_vars(ch == AC_CH_PUSH ? "push_body" : m->kind, v, n, 0,
			    err, errsz);
		if (ch == AC_CH_TELEGRAM || ch == AC_CH_EMAIL) {
			snprintf(tmpl, sizeof(tmpl), "%s.%s", m->kind,
			    ch == AC_CH_TELEGRAM ? "telegram" : "html");
			t->html = render_vars(tmpl, v, n, 1, err, errsz);
		} else
			t->html = strdup("");
		if (ch == AC_CH_EMAIL || ch == AC_CH_PUSH)
			t->subject = render_vars(ch == AC_CH_EMAIL ? "email_subject" :
			    "push_heading", v, n, 0, err, errsz);
		else
			t->subject = strdup("");
		if (ch == AC_CH_PUSH)
			chomp(t->text);
		if (ch == AC_CH_EMAIL)
			email_parts(t, m->strategy, err, errsz);
		rc = texts_done(t);
	}
done:
	if (rc == -1)
		ac_texts_free(t);
	free(levels);
	free(trade);
	free(closed_html);
	free(closed);
	return rc;
}

int
render_delivery(const PGresult *res, int i, struct ac_texts *t, char *err, size_t errsz)
{
	const struct ac_signal_msg m = {
		.kind = PQgetvalue(res, i, C_KIND),
		.strategy = PQgetvalue(res, i, C_STRATEGY),
		.symbol = PQgetvalue(res, i, C_SYMBOL),
		.timeframe = PQgetvalue(res, i, C_TF),
		.action = PQgetvalue(res, i, C_ACTION),
		.price = PQgetvalue(res, i, C_PRICE),
		.take_profit = PQgetvalue(res, i, C_TP),
		.stop_loss = PQgetvalue(res, i, C_SL),
		.time = PQgetvalue(res, i, C_TIME),
		.name = PQgetvalue(res, i, C_NAME),
		.trade = PQgetvalue(res, i, C_TRADE),
		.closed = PQgetvalue(res, i, C_CLOSED),
		.user_id = strtoll(PQgetvalue(res, i, C_USER), NULL, 10),
	};

	return ac_render_signal(&m, ac_channel_parse(PQgetvalue(res, i, C_CHANNEL)), t, err,
	    errsz);
}

int
render_notice(const char *name, int ch, const struct ac_var *v, size_t n, struct ac_texts *t,
    char *err, size_t errsz)
{
	char tmpl[64];

	memset(t, 0, sizeof(*t));
	/* a text message and a push are one short line: <name>.sms when the
	 * notice has one, else its text */
	snprintf(tmpl, sizeof(tmpl), "%s.sms", name);
	if ((ch != AC_CH_SMS && ch != AC_CH_PUSH) ||
	    (t->text = chomp(render_vars(tmpl, v, n, 0, err, errsz))) == NULL)
		t->text = render_vars(name, v, n, 0, err, errsz);
	if (ch == AC_CH_EMAIL || ch == AC_CH_TELEGRAM) {
		snprintf(tmpl, sizeof(tmpl), "%s.%s", name, ch == AC_CH_TELEGRAM ? "telegram" :
		    "html");
		t->html = t->text ? render_vars(tmpl, v, n, 1, err, errsz) : NULL;
	} else
		t->html = t->text ? strdup("") : NULL;
	if (ch == AC_CH_EMAIL || ch == AC_CH_PUSH) {
		snprintf(tmpl, sizeof(tmpl), "%s_subject", name);
		t->subject = t->html ? render_vars(tmpl, v, n, 0, err, errsz) : NULL;
	} else
		t->subject = t->html ? strdup("") : NULL;
	if (ch == AC_CH_EMAIL && t->subject != NULL)
		email_parts(t, "", err, errsz);
	return texts_done(t);
}

int
render_mail(struct ac_texts *t, char *err, size_t errsz)
{
	if ((t->html = render_text_html(t->text)) == NULL)
		return -1;
	email_parts(t, "", err, errsz);
	return t->text != NULL && t->html != NULL ? 0 : -1;
}

/* text as an HTML part (malloc'd): escaped, a blank line parts paragraphs,
 * a line break stays one, and http(s) addresses become links. */
char *
render_text_html(const char *text)
{
	char *esc = ac_html_escape(text);
	struct ac_buf out = AC_BUF_INIT;
	const char *p = esc;

	ac_buf_puts(&out, "<p>");
	while (*p != '\0') {
		if (*p == '\n' || *p == '\r') {
			int lines = 0;

			for (; *p == '\n' || *p == '\r'; p++)
				lines += *p == '\n';
			if (*p != '\0')
				ac_buf_puts(&out, lines > 1 ? "</p>\n<p>" : "<br>\n");
		} else if (strncmp(p, "https://", 8) == 0 || strncmp(p, "http://", 7) == 0) {
			size_t n = strcspn(p, " \t\r\n");

			while (strchr(".,:!?)", p[n - 1]) != NULL)
				n--;
			ac_buf_printf(&out, "<a href=\"%.*s\">%.*s</a>", (int)n, p, (int)n, p);
			p += n;
		} else
			ac_buf_putc(&out, *p++);
	}
	ac_buf_puts(&out, "</p>\n");
	free(esc);
	return ac_buf_take(&out);
}
