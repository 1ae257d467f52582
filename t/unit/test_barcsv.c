/* test_barcsv.c — TradingView's chart export read by lib/alert/barcsv.h:
 * both time forms, the optional volume, and each malformed line refused
 * with its line number and what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alert/barcsv.h"

/* Feeds text line by line; the number of bars, or -1 at the first error
 * (its message in r->err); the last bar read in *last. */
static int
feed(struct ac_barcsv *r, const char *text, struct ac_bar *last)
{
	int n = 0;

	ac_barcsv_init(r);
	while (*text != '\0') {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		int rc = ac_barcsv_line(r, text, len, last);

		if (rc < 0)
			return -1;
		n += rc;
		text += len + (nl != NULL);
	}
	return n;
}

static void
test_unix_and_iso(void **state)
{
	struct ac_barcsv r;
	struct ac_bar b;

	(void)state;
	assert_int_equal(feed(&r, "time,open,high,low,close,Volume\r\n"
	    "1704067200,1,2,0.5,1.5,100\r\n"
	    "2024-01-01T01:00:00Z,1.5,2,1,1.75,\r\n"
	    "\r\n"
	    "2024-01-01T04:30:00+02:30,1,1,1,1,7\n", &b), 3);
	assert_int_equal(b.time, 1704067200 + 2 * 3600);
	assert_true(b.volume == 7);
	assert_int_equal(feed(&r, "\xef\xbb\xbf\"time\",\"open\",\"high\",\"low\",\"close\"\n"
	    "2024-02-29T23:59:59.250-01:00,10,12,9,11\n", &b), 1);
	assert_int_equal(b.time, 1709251199 + 3600);
	assert_true(b.open == 10 && b.high == 12 && b.low == 9 && b.close == 11 && b.volume == 0);
	/* an export of a chart with indicators: their plots follow, ignored */
	assert_int_equal(feed(&r, "time,open,high,low,close,Trailing stop,Buy,Sell,Volume\n"
	    "1704067200,1,2,0.5,1.5,NaN,,x,100\n", &b), 1);
	assert_false(r.has_volume);
	assert_true(b.close == 1.5 && b.volume == 0);
}

static void
test_time_forms(void **state)
{
	static const struct { const char *s; long long t; } ok[] = {
		{ "0", 0 }, { "1700000000", 1700000000 },
		{ "1970-01-01T00:00Z", 0 }, { "2000-03-01 00:00:00+0100", 951865200 },
		{ "2024-12-31T23:59:60Z", 1735689600 },
	};
	static const char *const bad[] = {
		"", "17e8", "-5", "2024-01-01T00:00:00", "2024-13-01T00:00Z", "2023-02-29T00:00Z",
		"2024-01-01T24:00Z", "2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00Zjunk",
		"2024-01-01", "1969-12-31T23:59:59Z",
	};
	const char *errstr;
	long long t;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (ac_barcsv_time(ok[i].s, strlen(ok[i].s), &t, &errstr) != 0)
			fail_msg("%s: %s", ok[i].s, errstr);
		assert_int_equal(t, ok[i].t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ac_barcsv_time(bad[i], strlen(bad[i]), &t, &errstr) == 0)
			fail_msg("\"%s\" taken as %lld", bad[i], t);
		assert_non_null(errstr);
	}
}

/* Each malformed input and the error it must give. */
static void
test_malformed(void **state)
{
	static const struct { const char *text, *err; } rows[] = {
		{ "date,open,high,low,close\n",
		  "line 1: header column 1 is \"date\", expected \"time\"" },
		{ "time,open,high,low\n", "line 1: the header must be time,open,high,low,close[,volume]"
		  " (and at most 64 columns)" },
		{ "time,open,high,low,close\n1,1,1,1\n", "line 2: 4 fields, the header has 5" },
		{ "time,open,high,low,close\n1,1,1,1,1,1\n", "line 2: 6 fields, the header has 5" },
		{ "time,open,high,low,close,Trailing stop\n1,1,1,1,1,1,1\n",
		  "line 2: 7 fields, the header has 6" },
		{ "time,open,high,low,close\n\n1,1,x,1,1\n", "line 3: high is not a number: \"x\"" },
		{ "time,open,high,low,close\n1,1,1,1,\n", "line 2: close is not a number: \"\"" },
		{ "time,open,high,low,close\n1,nan,1,1,1\n", "line 2: open is not a number: \"nan\"" },
		{ "time,open,high,low,close\n1,1,1e999,1,1\n", "line 2: high is not a number: \"1e999\"" },
		{ "time,open,high,low,close\n1,1,2,3,2\n",
		  "line 2: open and close must lie between low and high" },
		{ "time,open,high,low,close\n1,1,2,1,5\n",
		  "line 2: open and close must lie between low and high" },
		{ "time,open,high,low,close\n5,1,1,1,1\n5,1,1,1,1\n",
		  "line 3: time 5 does not come after the previous bar's 5" },
		{ "time,open,high,low,close\nyesterday,1,1,1,1\n",
		  "line 2: time is neither Unix seconds nor ISO-8601 (2024-01-02T03:04:05Z),"
		  " got \"yesterday\"" },
		{ "time,open,high,low,close\n2024-01-01T00:00:00,1,1,1,1\n",
		  "line 2: time needs a zone: Z or an offset like +05:30, got \"2024-01-01T00:00:00\"" },
		{ "time,open,high,low,close,volume\n1,1,1,1,1,many\n",
		  "line 2: volume is not a number: \"many\"" },
	};
	struct ac_barcsv r;
	struct ac_bar b;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (feed(&r, rows[i].text, &b) != -1)
			fail_msg("row %zu taken", i);
		assert_string_equal(r.err, rows[i].err);
	}
}

static void
test_nul_byte(void **state)
{
	struct ac_barcsv r;
	struct ac_bar b;

	(void)state;
	ac_barcsv_init(&r);
	assert_int_equal(ac_barcsv_line(&r, "time,open,high,low,close", 24, &b), 0);
	assert_int_equal(ac_barcsv_line(&r, "1,1,1\0,1,1", 10, &b), -1);
	assert_string_equal(r.err, "line 2: a NUL byte");
}

/* 65 columns is more than any export has: refused, not read. */
static void
test_too_many_columns(void **state)
{
	char text[512] = "time,open,high,low,close";
	struct ac_barcsv r;
	struct ac_bar b;

	(void)state;
	for (int i = 5; i < 65; i++)
		strcat(text, ",x");
	strcat(text, "\n");
	assert_int_equal(feed(&r, text, &b), -1);
	assert_string_equal(r.err, "line 1: the header must be time,open,high,low,close[,volume]"
	    " (and at most 64 columns)");
	text[strlen(text) - 3] = '\n';		/* 64: taken */
	text[strlen(text) - 2] = '\0';
	assert_int_equal(feed(&r, text, &b), 0);
	assert_int_equal(r.ncols, 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_and_iso),
		cmocka_unit_test(test_time_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_too_many_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
