/* test_pine.c — the UT Bot Pine Script alertcast generates (lib/alert/pine.h):
 * its inputs carry each parameter set, and the alert message its alert()
 * calls make — evaluated here the way TradingView fills it in at a bar's
 * close — parses through lib/alert/tv.h to the strategy's symbol,
 * timeframe and action, and passes the strategy's checks, for every
 * timeframe alertcast allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alert/pine.h"
#include "alert/strategy.h"
#include "alert/tv.h"
#include "base/buf.h"

static const char *const timeframes[] = { "1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h",
	"12h", "1d", "1w" };

/* The script's line starting with prefix (malloc'd), or NULL. */
static char *
line_of(const char *script, const char *prefix)
{
	const char *p = strstr(script, prefix), *e;

	if (p == NULL)
		return NULL;
	e = strchr(p, '\n');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

/*
 * Evaluates the msg() line as Pine would: the expression after "=>" is
 * single-quoted literals and names joined by '+'; the names take the
 * values TradingView gives them on a bar of symbol at period with close.
 * Returns the message (malloc'd), or NULL when the line holds anything
 * else (the test then fails: the generator wrote what it must not).
 */
static char *
eval_msg(const char *line, const char *symbol, const char *period, const char *action,
    const char *close)
{
	const char *p = strstr(line, "=>");
	struct ac_buf out = AC_BUF_INIT;

	if (p == NULL)
		return NULL;
	for (p += 2;;) {
		while (*p == ' ')
			p++;
		if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');

			if (q == NULL)
				goto bad;
			ac_buf_add(&out, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (strncmp(p, "syminfo.ticker", 14) == 0) {
			ac_buf_puts(&out, symbol);
			p += 14;
		} else if (strncmp(p, "timeframe.period", 16) == 0) {
			ac_buf_puts(&out, period);
			p += 16;
		} else if (strncmp(p, "action", 6) == 0) {
			ac_buf_puts(&out, action);
			p += 6;
		} else if (strncmp(p, "str.tostring(close, format.mintick)", 35) == 0) {
			ac_buf_puts(&out, close);
			p += 35;
		} else
			goto bad;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != '+')
			goto bad;
	}
	if (out.p == NULL)
		ac_buf_puts(&out, "");
	return ac_buf_take(&out);
bad:
	ac_buf_free(&out);
	return NULL;
}

/* Every timeframe: the message of a buy, a sell and a heartbeat parses
 * to the strategy's symbol, timeframe and action and passes its rules. */
static void
test_message_parses_for_every_timeframe(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(timeframes) / sizeof(timeframes[0]); i++) {
		struct ac_pine_in in = { .id = 7, .name = "UT Bot BTC", .strategy = "UT Bot",
		    .symbol = "BTCUSDT", .timeframe = timeframes[i], .key_value = 1,
		    .atr_period = 10, .ema_period = 1 };
		const char *period = ac_pine_period(timeframes[i]);
		char *script = ac_pine_utbot(&in), *msg_line, *msg;
		struct ac_rules rules = { .actions = AC_ACTIONS_ALL, .required = AC_REQUIRED_DEFAULT,
		    .max_skew_ms = AC_MAX_SKEW_MS_DEFAULT };
		struct ac_alert a;
		struct ac_alert_error err;

		assert_non_null(period);
		snprintf(rules.symbol, sizeof(rules.symbol), "BTCUSDT");
		snprintf(rules.timeframe, sizeof(rules.timeframe), "%s", timeframes[i]);
		snprintf(rules.name, sizeof(rules.name), "UT Bot");
		assert_non_null(msg_line = line_of(script, "msg("));
		for (int side = 0; side < 3; side++) {
			static const char *const words[] = { "buy", "sell", "heartbeat" };
			static const enum ac_action want[] = { AC_ACTION_BUY, AC_ACTION_SELL,
			    AC_ACTION_HEARTBEAT };

			assert_non_null(msg = eval_msg(msg_line, "BTCUSDT", period,
			    words[side], "42000.50"));
			if (ac_alert_parse(msg, strlen(msg), "text/plain", &a, &err) != 0)
				fail_msg("%s: %s does not parse: %s", timeframes[i], msg, err.message);
			assert_string_equal(a.symbol, "BTCUSDT");
			assert_string_equal(a.timeframe, timeframes[i]);
			assert_int_equal(a.action, want[side]);
			assert_true(a.price == 42000.5);
			if (ac_alert_check(&a, &rules, (int64_t)time(NULL) * 1000, &err) != 0)
				fail_msg("%s: %s refused: %s", timeframes[i], msg, err.message);
			free(msg);
		}
		/* both signals alert, once per bar close */
		assert_non_null(strstr(script, "if buy\n    alert(msg(\"buy\"), alert.freq_once_per_bar_close)\n"));
		assert_non_null(strstr(script, "if sell\n    alert(msg(\"sell\"), alert.freq_once_per_bar_close)\n"));
		/* and the heartbeat, at every confirmed bar */
		assert_non_null(strstr(script, "if barstate.isconfirmed\n"
		    "    alert(msg(\"heartbeat\"), alert.freq_once_per_bar_close)\n"));
		free(msg_line);
		free(script);
	}
}

/* Each parameter set lands in the script's inputs, as Pine literals. */
static void
test_inputs_per_parameter_set(void **state)
{
	static const struct {
		double key_value;
		int atr, ema, ha;
		const char *a, *c, *e, *h;
	} sets[] = {
		{ 1, 10, 1, 0, "a = input.float(1.0, ", "c = input.int(10, ", "e = input.int(1, ",
		  "h = input.bool(false, " },
		{ 2.5, 14, 1, 1, "a = input.float(2.5, ", "c = input.int(14, ", "e = input.int(1, ",
		  "h = input.bool(true, " },
		{ 0.125, 300, 50, 0, "a = input.float(0.125, ", "c = input.int(300, ",
		  "e = input.int(50, ", "h = input.bool(false, " },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct ac_pine_in in = { .id = 3, .name = "Gold 4h", .strategy = "UT Bot",
		    .symbol = "XAUUSD", .timeframe = "4h", .key_value = sets[i].key_value,
		    .atr_period = sets[i].atr, .ema_period = sets[i].ema,
		    .heikin_ashi = sets[i].ha };
		char *s = ac_pine_utbot(&in);

		assert_true(strncmp(s, "//@version=5\n", 13) == 0);
		assert_non_null(strstr(s, "indicator(\"UT Bot: Gold 4h\", overlay = true)\n"));
		assert_non_null(strstr(s, sets[i].a));
		assert_non_null(strstr(s, sets[i].c));
		assert_non_null(strstr(s, sets[i].e));
		assert_non_null(strstr(s, sets[i].h));
		/* the trailing stop and the crossover, as REFERENCE.md has them */
		assert_non_null(strstr(s, "xATR = ta.atr(c)\nnLoss = a * xATR\n"));
		assert_non_null(strstr(s, "request.security(ticker.heikinashi(syminfo.tickerid)"));
		assert_non_null(strstr(s, "emaLine = ta.ema(src, e)\n"));
		assert_non_null(strstr(s, "XAUUSD chart on the 240 interval"));
		free(s);
	}
}

/* A name that would break out of a Pine string or the JSON never does:
 * the title is made safe, and a strategy name that cannot stand in the
 * message as it is stays out of it (the strategy is then not checked). */
static void
test_names_cannot_break_out(void **state)
{
	struct ac_pine_in in = { .id = 9, .name = "Evil\") // \n\"x", .strategy = "UT \"Bot",
	    .symbol = "BTCUSDT", .timeframe = "1h", .key_value = 1, .atr_period = 10,
	    .ema_period = 1 };
	char *s = ac_pine_utbot(&in), *line;

	(void)state;
	assert_non_null(strstr(s, "indicator(\"UT Bot: Evil_) // __x\", overlay = true)\n"));
	assert_non_null(line = line_of(s, "msg("));
	assert_null(strstr(line, "strategy"));
	free(line);
	free(s);
}

/* The whole script for two parameter sets, against the expected text in
 * t/unit/pine/ (read and checked by a person when it changes). */
static void
test_expected_text(void **state)
{
	static const struct {
		struct ac_pine_in in;
		const char *file;
	} sets[] = {
		{ { .id = 7, .name = "UT Bot BTC 1h", .strategy = "UT Bot", .symbol = "BTCUSDT",
		    .timeframe = "1h", .key_value = 1, .atr_period = 10, .ema_period = 1 },
		  "btcusdt_1h.pine" },
		{ { .id = 8, .name = "Gold HA 4h", .strategy = "UT Bot", .symbol = "XAUUSD",
		    .timeframe = "4h", .key_value = 2.5, .atr_period = 14, .ema_period = 3,
		    .heikin_ashi = 1 }, "xauusd_4h_ha.pine" },
	};
	const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";

	(void)state;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct ac_buf want = AC_BUF_INIT;
		char path[4096], chunk[4096], *got = ac_pine_utbot(&sets[i].in);
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/t/unit/pine/%s", srcdir, sets[i].file);
		assert_non_null(f = fopen(path, "r"));
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			ac_buf_add(&want, chunk, n);
		fclose(f);
		ac_buf_putc(&want, '\0');
		if (strcmp(got, want.p) != 0)
			fail_msg("%s differs from the generated script:\n%s", path, got);
		ac_buf_free(&want);
		free(got);
	}
}

/* A strategy's market after its name, less what the name says already. */
static void
test_strategy_tag(void **state)
{
	static const struct { const char *name, *sym, *tf, *want; } cases[] = {
		{ "UT Bot BTCUSDT 1h", "BTCUSDT", "1h", "" },
		{ "UT Bot", "BTCUSDT", "1h", "BTCUSDT 1h" },
		{ "ut bot btcusdt", "BTCUSDT", "4h", "4h" },
		{ "Trend 1h", "ETHUSDT", "1h", "ETHUSDT" },
		{ "Trend 15m", "ETHUSDT", "1h", "ETHUSDT 1h" },	/* "1h" not a word of it */
		{ "Scalper 1hour", "ETHUSDT", "1h", "ETHUSDT 1h" },
		{ "BTCUSDT-1D swing", "BTCUSDT", "1D", "" },
		{ "", "XAUUSD", "1D", "XAUUSD 1D" },
		{ "Gold", "", "1D", "1D" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ac_strategy_tag(cases[i].name, cases[i].sym, cases[i].tf, out,
		    sizeof(out)), cases[i].want);
	assert_string_equal(ac_strategy_tag(NULL, "BTCUSDT", "1h", out, sizeof(out)),
	    "BTCUSDT 1h");
	assert_string_equal(ac_strategy_tag("x", "BTCUSDT", "1h", out, 5), "BTCU");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_parses_for_every_timeframe),
		cmocka_unit_test(test_inputs_per_parameter_set),
		cmocka_unit_test(test_names_cannot_break_out),
		cmocka_unit_test(test_expected_text),
		cmocka_unit_test(test_strategy_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
