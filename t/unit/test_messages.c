/*
 * test_messages.c — what a subscriber reads, byte for byte: each signal
 * kind rendered for each channel (ac_render_signal(), lib/deliver/render.c)
 * through the real templates/messages folder and compared with its golden
 * file under t/golden/messages/:
 *
 *	<case>.telegram.html	the Telegram HTML text
 *	<case>.email.txt	"Subject:", "List-Unsubscribe:", a blank line,
 *				then the email's text part
 *	<case>.email.html	the email's HTML part
 *	<case>.sms.txt		the SMS (also asserted to be one GSM-7 segment)
 *	<case>.push.txt		the push heading, "---", the push body
 *
 * A difference fails with the first line that differs, expected and got.
 * After a change to the wording, look at the new texts and write them as
 * the golden files with
 *
 *	AC_GOLDEN_UPDATE=1 make check TESTS=t/unit/test_messages
 *
 * (the files are written in $srcdir/t/golden/messages; review the diff
 * before committing it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/channel.h"
#include "base/message.h"
#include "deliver/deliver.h"
#include "deliver/provider.h"
#include "deliver/internal.h"

#define BASE	"https://alertcast.example"

static const char *srcdir;

/* The signals, one a case: named for their golden files. */
static const struct golden_case {
	const char		*name;
	struct ac_signal_msg	 m;
} cases[] = {
	{ "entry_tp_sl", { "entry", "UT Bot Fast", "BTCUSDT", "1h", "BUY", "42800.00000000",
	    "43800.00", "41800", "2026-01-02 06:04 Europe/Istanbul", "Ayşe", "3", "", 42 } },
	{ "entry_plain", { "entry", "Trend Rider", "ETHUSDT", "15m", "SELL", "2345.5", "", "",
	    "2026-01-02 09:30 UTC", "Bob", "", "", 7 } },
	{ "exit_profit", { "exit", "UT Bot Fast", "BTCUSDT", "1h", "CLOSE LONG", "43300",
	    "", "", "2026-01-03 10:00 Europe/Istanbul", "Ayşe", "",
	    "[{\"number\": 2, \"side\": \"BUY\", \"entry\": \"42800.00\", \"exit\": \"43300.00\","
	    " \"reason\": \"TP_HIT\", \"pnl\": \"+500.00000000\", \"pnl_percent\": \"+1.17\"}]",
	    42 } },
	{ "exit_loss", { "exit", "Trend Rider", "ETHUSDT", "15m", "SL_HIT", "2280.25", "", "",
	    "2026-01-03 11:15 UTC", "Bob", "",
	    "[{\"number\": 5, \"side\": \"BUY\", \"entry\": \"2345.50\", \"exit\": \"2280.25\","
	    " \"reason\": \"SL_HIT\", \"pnl\": \"-1305.00\", \"pnl_percent\": \"-2.78\"}]", 7 } },
	{ "replacement", { "replacement", "UT Bot Fast", "SOLUSDT", "4h", "SELL", "187.125",
	    "180", "190.5", "2026-01-04 08:00 Europe/Istanbul", "Ayşe", "9",
	    "[{\"number\": 4, \"side\": \"BUY\", \"entry\": \"185.00\", \"exit\": \"187.125\","
	    " \"reason\": \"REPLACED\", \"pnl\": \"+2.125\", \"pnl_percent\": \"+1.15\"}]",
	    42 } },
	{ "long_name", { "entry", "Momentum Breakout with Volume Confirmation and Adaptive"
	    " Trailing Stop for Major Crypto Pairs v2", "BTCUSDT", "1h", "BUY", "1234567.5",
	    "1250000", "1200000", "2026-01-05 12:00 UTC", "Cem", "11",
	    "[{\"number\": 10, \"side\": \"SELL\", \"entry\": \"1240000\", \"exit\": \"1234567.5\","
	    " \"reason\": \"OPPOSITE\", \"pnl\": \"+5432.5\", \"pnl_percent\": \"+0.44\"}]",
	    1001 } },
};

/* The first line where want and got differ, as a diff would show it. */
static void
fail_diff(const char *path, const char *want, const char *got)
{
	const char *w = want, *g = got;
	int line = 1;

	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++, g++;
	}
	while (w > want && w[-1] != '\n')
		w--, g--;
	fail_msg("%s differs at line %d:\n-%.*s\n+%.*s\n(AC_GOLDEN_UPDATE=1 rewrites it)", path,
	    line, (int)strcspn(w, "\n"), w, (int)strcspn(g, "\n"), g);
}

/* The file at path (malloc'd), or NULL. */
static char *
slurp(const char *path)
{
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ac_buf_add(&b, chunk, n);
	fclose(f);
	return b.p ? ac_buf_take(&b) : strdup("");
}

/* got compared with golden file t/golden/messages/<name>, or written there
 * with AC_GOLDEN_UPDATE=1. */
static void
golden(const char *name, const char *got)
{
	const char *update = getenv("AC_GOLDEN_UPDATE");
	char path[1024], *want;
	FILE *f;

	snprintf(path, sizeof(path), "%s/t/golden/messages/%s", srcdir, name);
	if (update != NULL && strcmp(update, "1") == 0) {
		assert_non_null(f = fopen(path, "w"));
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
		return;
	}
	if ((want = slurp(path)) == NULL)
		fail_msg("%s: missing (AC_GOLDEN_UPDATE=1 writes it)", path);
	if (strcmp(want, got) != 0)
		fail_diff(path, want, got);
	free(want);
}

/* c rendered for channel ch into t. */
static void
render(const struct golden_case *c, enum ac_channel ch, struct ac_texts *t)
{
	char err[512];

	if (ac_render_signal(&c->m, ch, t, err, sizeof(err)) == -1)
		fail_msg("%s, %s: %s", c->name, ac_channel_name(ch), err);
}

static void
test_golden(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct golden_case *c = &cases[i];
		struct ac_texts t;
		struct ac_buf b = AC_BUF_INIT;
		char name[128];
		int septets;

		render(c, AC_CH_TELEGRAM, &t);
		snprintf(name, sizeof(name), "%s.telegram.html", c->name);
		golden(name, t.html);
		ac_texts_free(&t);

		render(c, AC_CH_EMAIL, &t);
		ac_buf_printf(&b, "Subject: %s\nList-Unsubscribe: <%s>\n\n%s", t.subject,
		    t.unsubscribe, t.text);
		snprintf(name, sizeof(name), "%s.email.txt", c->name);
		golden(name, b.p);
		ac_buf_free(&b);
		snprintf(name, sizeof(name), "%s.email.html", c->name);
		golden(name, t.html);
		ac_texts_free(&t);

		render(c, AC_CH_SMS, &t);
		snprintf(name, sizeof(name), "%s.sms.txt", c->name);
		golden(name, t.text);
		septets = ac_gsm7_septets(t.text);
		if (septets < 0 || septets > AC_SMS_GSM7_MAX || ac_sms_segments(t.text) != 1)
			fail_msg("%s: the SMS is not one GSM-7 segment (%d septets): %s", c->name,
			    septets, t.text);
		ac_texts_free(&t);

		render(c, AC_CH_PUSH, &t);
		ac_buf_printf(&b, "%s\n---\n%s", t.subject, t.text);
		snprintf(name, sizeof(name), "%s.push.txt", c->name);
		golden(name, b.p);
		ac_buf_free(&b);
		assert_string_equal(t.url, BASE "/trades");
		ac_texts_free(&t);
	}
}

/* The SMS loses its link, then the strategy's name, before a second
 * segment; a text that fits keeps both. */
static void
test_sms_shortened(void **state)
{
	struct ac_signal_msg m = cases[0].m;
	struct ac_texts t;

	render(&cases[0], AC_CH_SMS, &t);
	assert_non_null(strstr(t.text, BASE "/trades"));
	assert_non_null(strstr(t.text, "(UT Bot Fast)"));
	ac_texts_free(&t);
	m.strategy = "A strategy whose name is long enough that the link no longer fits in one"
	    " segment of";
	assert_int_equal(ac_render_signal(&m, AC_CH_SMS, &t, NULL, 0), 0);
	assert_null(strstr(t.text, BASE));
	assert_non_null(strstr(t.text, m.strategy));
	ac_texts_free(&t);
	m.strategy = "A strategy whose name is so long that neither the link nor the name itself"
	    " fits in one segment of GSM-7 text, not even when the link is gone";
	assert_int_equal(ac_render_signal(&m, AC_CH_SMS, &t, NULL, 0), 0);
	assert_string_equal(t.text, "BUY BTCUSDT 1h at 42,800, TP 43,800, SL 41,800");
	ac_texts_free(&t);
	/* a name GSM-7 has no letters for is left out rather than send UCS-2 */
	m.strategy = "\xe2\x98\x85 Star";
	assert_int_equal(ac_render_signal(&m, AC_CH_SMS, &t, NULL, 0), 0);
	assert_true(ac_gsm7_septets(t.text) > 0);
	ac_texts_free(&t);
}

/* Without a secret no unsubscribe link is written; the others stay. */
static void
test_no_secret(void **state)
{
	struct ac_texts t;

	ac_render_links(BASE "/", NULL);
	render(&cases[0], AC_CH_EMAIL, &t);
	assert_null(t.unsubscribe);
	assert_null(strstr(t.html, "unsubscribe"));
	assert_non_null(strstr(t.html, "href=\"" BASE "/account\""));
	ac_texts_free(&t);
	ac_render_links(BASE, "test-secret");
}

/* Septets: the basic table 1, the extension table 2, anything else -1. */
static void
test_gsm7(void **state)
{
	char seg[AC_SMS_GSM7_MAX + 2];

	assert_int_equal(ac_gsm7_septets(""), 0);
	assert_int_equal(ac_gsm7_septets("BUY BTCUSDT 1h at 42,800"), 24);
	assert_int_equal(ac_gsm7_septets("@$_!\"#%&'()*+,-./:;<=>?\n\r"), 25);
	assert_int_equal(ac_gsm7_septets("[x]"), 5);
	assert_int_equal(ac_gsm7_septets("^{}\\~|"), 12);
	assert_int_equal(ac_gsm7_septets("100 \xe2\x82\xac"), 6);	/* the euro sign */
	assert_int_equal(ac_gsm7_septets("\xc3\xa9\xc3\xa8\xc3\xbc\xc3\x9f\xc2\xa3\xc2\xa5"
	    "\xce\x94\xce\xa9"), 8);					/* é è ü ß £ ¥ Δ Ω */
	assert_int_equal(ac_gsm7_septets("`"), -1);
	assert_int_equal(ac_gsm7_septets("a \xc2\xb7 b"), -1);			/* · */
	assert_int_equal(ac_gsm7_septets("a \xe2\x80\x94 b"), -1);		/* — */
	assert_int_equal(ac_gsm7_septets("\xc5\x9f"), -1);			/* ş */
	assert_int_equal(ac_gsm7_septets("\xf0\x9f\x9a\x80"), -1);		/* an emoji */
	assert_int_equal(ac_gsm7_septets("\xc3"), -1);				/* cut short */
	assert_int_equal(ac_gsm7_septets("\x80"), -1);

	memset(seg, 'a', AC_SMS_GSM7_MAX);
	seg[AC_SMS_GSM7_MAX] = '\0';
	assert_int_equal(ac_sms_segments(seg), 1);
	seg[AC_SMS_GSM7_MAX - 1] = '[';				/* 161 septets */
	assert_int_equal(ac_sms_segments(seg), 2);
	assert_int_equal(ac_sms_segments("\xc5\x9fimdi"), 1);			/* UCS-2 */
}

/* An account mail from email_outbox (a password reset here) goes out in
 * the signals' layout with the account footer: its lines as paragraphs,
 * its link a link, its text escaped, no unsubscribe link. */
static void
test_account_mail(void **state)
{
	struct ac_texts t = { 0 };
	char err[256] = "";
	struct ac_buf b = AC_BUF_INIT;

	(void)state;
	t.text = strdup("Someone (hopefully you) asked to reset the password of your alertcast"
	    " account.\n\nOpen this link within 30 minutes to choose a new one:\n\n"
	    BASE "/password/reset?token=abc&x=<y>\n\nThe link works once.\n");
	t.subject = strdup("Reset your alertcast password\r\nBcc: x@example.com");
	if (render_mail(&t, err, sizeof(err)) == -1)
		fail_msg("render_mail: %s", err);
	assert_string_equal(t.subject, "Reset your alertcast password");
	assert_null(strstr(t.html, "<y>"));
	assert_null(strstr(t.html, "nsubscribe"));
	ac_buf_printf(&b, "Subject: %s\n\n%s", t.subject, t.text);
	golden("account_mail.email.txt", b.p);
	golden("account_mail.email.html", t.html);
	ac_buf_free(&b);
	ac_texts_free(&t);
}

static int
setup(void **state)
{
	static char dir[1024];

	srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
	snprintf(dir, sizeof(dir), "%s/templates", srcdir);
	ac_message_set_dir(dir);
	ac_render_links(BASE, "test-secret");
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_sms_shortened),
		cmocka_unit_test(test_no_secret),
		cmocka_unit_test(test_gsm7),
		cmocka_unit_test(test_account_mail),
	};

	return cmocka_run_group_tests_name("messages", tests, setup, NULL);
}
