/*
 * render.c — the texts a send carries, from the message templates
 * (message.h): a delivery's per channel (its kind's text, the Telegram or
 * email HTML with every value escaped, the email subject or push heading),
 * a notice's, and the HTML part of an email_outbox message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/escape.h"
#include "deliver/internal.h"

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

/* tmpl rendered with vars, each value HTML-escaped when html. NULL with err. */
static char *
render_vars(const char *tmpl, const struct ac_var *vars, size_t n, int html, char *err,
    size_t errsz)
{
	struct ac_var esc[16] = { { NULL, NULL } };
	char *out;

	if (!html || n > sizeof(esc) / sizeof(esc[0]))
		return message(tmpl, vars, n, err, errsz);
	for (size_t i = 0; i < n; i++) {
		esc[i].name = vars[i].name;
		esc[i].value = ac_html_escape(vars[i].value ? vars[i].value : "");
	}
	out = message(tmpl, esc, n, err, errsz);
	for (size_t i = 0; i < n; i++)
		free((char *)esc[i].value);
	return out;
}

/* The lines for the trades the signal closed or replaced ("" if none);
 * NULL with err on a template error. The caller frees the result. */
static char *
closed_lines(const char *json, char *err, size_t errsz)
{
	json_t *arr = *json ? json_loads(json, 0, NULL) : NULL, *t;
	struct ac_buf all = AC_BUF_INIT;
	char *line;
	size_t i;

	json_array_foreach(arr, i, t) {
		char num[16];
		struct ac_var v[] = {
			{ "number", num },
			{ "side", json_string_value(json_object_get(t, "side")) },
			{ "entry", json_string_value(json_object_get(t, "entry")) },
			{ "exit", json_string_value(json_object_get(t, "exit")) },
			{ "reason", json_string_value(json_object_get(t, "reason")) },
			{ "pnl", json_string_value(json_object_get(t, "pnl")) },
			{ "pnl_percent", json_string_value(json_object_get(t, "pnl_percent")) },
		};

		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(json_object_get(t, "number")));
		if ((line = message("trade_closed", v, sizeof(v) / sizeof(v[0]), err,
		    errsz)) == NULL) {
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

void
texts_free(struct texts *t)
{
	free(t->text);
	free(t->html);
	free(t->subject);
	memset(t, 0, sizeof(*t));
}

/* A subject is one line. 0 if t has all three texts, else -1 (freed). */
static int
texts_done(struct texts *t)
{
	if (t->text == NULL || t->html == NULL || t->subject == NULL) {
		texts_free(t);
		return -1;
	}
	t->subject[strcspn(t->subject, "\r\n")] = '\0';
	return 0;
}

int
render_delivery(const PGresult *res, int i, struct texts *t, char *err, size_t errsz)
{
	const char *number = PQgetvalue(res, i, C_TRADE), *kind = PQgetvalue(res, i, C_KIND);
	const char *channel = PQgetvalue(res, i, C_CHANNEL);
	int ch = ac_channel_parse(channel);
	struct ac_var tv[] = { { "number", number } };
	char *closed, *trade, tmpl[64];
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if ((closed = closed_lines(PQgetvalue(res, i, C_CLOSED), err, errsz)) == NULL)
		return -1;
	trade = message(*number ? "trade_opened" : "trade_none", tv, 1, err, errsz);
	if (trade != NULL) {
		struct ac_var v[] = {
			{ "channel", channel },
			{ "strategy", PQgetvalue(res, i, C_STRATEGY) },
			{ "symbol", PQgetvalue(res, i, C_SYMBOL) },
			{ "timeframe", PQgetvalue(res, i, C_TF) },
			{ "action", PQgetvalue(res, i, C_ACTION) },
			{ "price", PQgetvalue(res, i, C_PRICE) },
			{ "take_profit", PQgetvalue(res, i, C_TP) },
			{ "stop_loss", PQgetvalue(res, i, C_SL) },
			{ "time", PQgetvalue(res, i, C_TIME) },
			{ "name", PQgetvalue(res, i, C_NAME) },
			{ "kind", kind },
			{ "trade", trade },
			{ "closed", closed },
		};
		size_t n = sizeof(v) / sizeof(v[0]);

		t->text = render_vars(kind, v, n, 0, err, errsz);
		if (ch == AC_CH_TELEGRAM || ch == AC_CH_EMAIL) {
			snprintf(tmpl, sizeof(tmpl), "%s.%s", kind,
			    ch == AC_CH_TELEGRAM ? "telegram" : "html");
			t->html = render_vars(tmpl, v, n, 1, err, errsz);
		} else
			t->html = strdup("");
		if (ch == AC_CH_EMAIL || ch == AC_CH_PUSH)
			t->subject = render_vars(ch == AC_CH_EMAIL ? "email_subject" :
			    "push_heading", v, n, 0, err, errsz);
		else
			t->subject = strdup("");
		rc = texts_done(t);
	}
	free(trade);
	free(closed);
	return rc;
}

int
render_notice(const char *name, int ch, const struct ac_var *v, size_t n, struct texts *t,
    char *err, size_t errsz)
{
	char tmpl[64];

	memset(t, 0, sizeof(*t));
	/* a text message and a push are one short line: <name>.sms when the
	 * notice has one, else its text */
	snprintf(tmpl, sizeof(tmpl), "%s.sms", name);
	if ((ch != AC_CH_SMS && ch != AC_CH_PUSH) ||
	    (t->text = render_vars(tmpl, v, n, 0, err, errsz)) == NULL)
		t->text = render_vars(name, v, n, 0, err, errsz);
	else	/* the template file's final newline is not part of the line */
		for (size_t k = strlen(t->text); k > 0 && (t->text[k - 1] == '\n' ||
		    t->text[k - 1] == '\r'); k--)
			t->text[k - 1] = '\0';
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
	return texts_done(t);
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
