/* test_health.c — the rules of missed-alert detection (lib/work/health.h):
 * when a strategy is silent, bursting or estimated silent, at and around
 * each threshold, and what the operators read about it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "work/health.h"

#define SILENT		(1u << AC_INC_SILENT)
#define BURST		(1u << AC_INC_BURST)
#define ESTIMATED	(1u << AC_INC_ESTIMATED)

static const struct {
	const char		*name;
	struct ac_health_facts	 f;
	unsigned		 want;
} rows[] = {
	{ "a heartbeat a bar old is healthy",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 60 }, 0 },
	{ "exactly two bars is not yet silent",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 120 }, 0 },
	{ "just over two bars is silent",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 120.5 }, SILENT },
	{ "two hours on a 1h strategy is not silent",
	  { .bar_s = 3600, .beats = 1, .beat_age_s = 7200 }, 0 },
	{ "15 alerts in the window is no burst",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 10, .burst = 15 }, 0 },
	{ "16 alerts in the window is a burst",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 10, .burst = 16 }, BURST },
	{ "silent and bursting at once",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 600, .burst = 40 }, SILENT | BURST },
	{ "no heartbeats: silence over twice the longest gap is estimated",
	  { .bar_s = 60, .history = 10, .longest_gap_s = 600, .silence_s = 1201 }, ESTIMATED },
	{ "no heartbeats: twice the longest gap exactly is not",
	  { .bar_s = 60, .history = 10, .longest_gap_s = 600, .silence_s = 1200 }, 0 },
	{ "no heartbeats: too short a history says nothing",
	  { .bar_s = 60, .history = 9, .longest_gap_s = 600, .silence_s = 100000 }, 0 },
	{ "no heartbeats: the silence must also pass two bars",
	  { .bar_s = 3600, .history = 50, .longest_gap_s = 60, .silence_s = 7000 }, 0 },
	{ "no heartbeats: past two bars and the gaps",
	  { .bar_s = 3600, .history = 50, .longest_gap_s = 60, .silence_s = 7300 }, ESTIMATED },
	{ "a strategy with heartbeats is never estimated",
	  { .bar_s = 60, .beats = 1, .beat_age_s = 30, .history = 50, .longest_gap_s = 60,
	    .silence_s = 100000 }, 0 },
	{ "no heartbeats, no alerts: nothing to judge",
	  { .bar_s = 60 }, 0 },
};

static void
test_judge(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (ac_health_judge(&rows[i].f) != rows[i].want)
			fail_msg("%s: judged %#x, want %#x", rows[i].name,
			    ac_health_judge(&rows[i].f), rows[i].want);
}

static void
test_detail(void **state)
{
	struct ac_health_facts silent = { .bar_s = 60, .beats = 1, .beat_age_s = 302 };
	struct ac_health_facts burst = { .bar_s = 60, .burst = 16 };
	struct ac_health_facts quiet = { .bar_s = 300, .history = 12, .longest_gap_s = 5400,
	    .silence_s = 90000 };
	char buf[400];

	(void)state;
	ac_health_detail(&silent, AC_INC_SILENT, buf, sizeof(buf));
	assert_non_null(strstr(buf, "No heartbeat for 5 min 2 s; one is due every 1 min"));
	ac_health_detail(&burst, AC_INC_BURST, buf, sizeof(buf));
	assert_non_null(strstr(buf, "16 alerts within 3 min"));
	assert_non_null(strstr(buf, "more than 15 times in 3 min"));
	ac_health_detail(&quiet, AC_INC_ESTIMATED, buf, sizeof(buf));
	assert_non_null(strstr(buf, "No alert for 1 d 1 h, over 2 times the longest gap "
	    "(1 h 30 min) between its 12 alerts of the last 30 days"));
	assert_string_equal(ac_incident_kind_name(AC_INC_SILENT), "silent");
	assert_string_equal(ac_incident_kind_name(AC_INC_BURST), "burst");
	assert_string_equal(ac_incident_kind_name(AC_INC_ESTIMATED), "estimated_silence");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_detail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
