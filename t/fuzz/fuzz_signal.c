/*
 * fuzz_signal.c — libFuzzer driver for lib/alert/tv.c.
 *
 * Feeds each input to ac_alert_parse() as application/json, as
 * text/plain and with no content type; a parsed alert goes through
 * ac_alert_check() against two rule sets, ac_alert_key() and
 * ac_alert_content_key(). The input, NUL-terminated, also goes to each
 * public normalizer, and the raw input to the lenient secret scan. Traps
 * when an invariant breaks: errors must be well-formed, messages printable
 * UTF-8, normalized values stable under a second normalization, secret
 * spans non-empty, in order and in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert/tv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Traps unless err is a well-formed error of the given status. */
static void
check_error(const struct ac_alert_error *err, int status)
{
	json_t	*utf8;
	size_t	 len, i;

	if (err->status != status || err->code == NULL ||
	    (len = strnlen(err->message, sizeof(err->message))) ==
	    sizeof(err->message) || len == 0)
		__builtin_trap();
	for (i = 0; i < len; i++)
		if ((unsigned char)err->message[i] < 0x20 ||
		    err->message[i] == 0x7f)
			__builtin_trap();
	if ((utf8 = json_stringn(err->message, len)) == NULL)	/* not UTF-8 */
		__builtin_trap();
	json_decref(utf8);
}

/* 1 if action is what a position p (sent, or NONE) allows: a long is
 * entered by a buy, a short by a sell, flat by an exit or a TP/SL hit; a
 * heartbeat passes over the positions. */
static int
position_agrees(enum ac_action action, enum ac_position p)
{
	if (action == AC_ACTION_HEARTBEAT)
		return 1;
	switch (p) {
	case AC_POS_LONG:
		return action == AC_ACTION_BUY;
	case AC_POS_SHORT:
		return action == AC_ACTION_SELL;
	case AC_POS_FLAT:
		return action != AC_ACTION_BUY && action != AC_ACTION_SELL;
	default:
		return 1;
	}
}

/* Traps unless a parsed alert's normalized fields normalize to themselves
 * and its action agrees with the positions it carries. */
static void
check_alert(const struct ac_alert *a)
{
	char	buf[AC_SYMBOL_MAX];

	if (a->action <= AC_ACTION_NONE || a->action >= AC_ACTION__MAX ||
	    !(a->present & (1u << AC_F_PRICE)) || a->price_text[0] == '\0')
		__builtin_trap();
	if ((a->present & (1u << AC_F_SYMBOL)) &&
	    (ac_symbol_normalize(a->symbol, buf, sizeof(buf), NULL, 0) != 0 ||
	    strcmp(buf, a->symbol) != 0))
		__builtin_trap();
	if ((a->present & (1u << AC_F_TIMEFRAME)) &&
	    (ac_timeframe_normalize(a->timeframe, buf, sizeof(buf)) != 0 ||
	    strcmp(buf, a->timeframe) != 0))
		__builtin_trap();
	if (ac_action_parse(ac_action_name(a->action)) != a->action)
		__builtin_trap();
	if (!position_agrees(a->action, a->position) ||
	    !position_agrees(a->action, a->sentiment))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = { "application/json",
	    "text/plain; charset=utf-8", NULL };
	static const struct ac_rules rules[] = {
		{ "BTCUSDT", "1h", "UT Bot", AC_ACTIONS_ALL, AC_REQUIRED_DEFAULT,
		  AC_MAX_SKEW_MS_DEFAULT },
		{ "ES1!", "4h", "", 1u << AC_ACTION_BUY,
		  (1u << AC_F_ACTION) | (1u << AC_F_PRICE), 0 },
	};
	const int64_t		 now = 1705314600000LL;
	struct ac_alert		 a;
	struct ac_alert_error	 err;
	char			 key[65], content[65], out[AC_SYMBOL_MAX], exch[AC_SYMBOL_MAX];
	char			*s;
	int64_t			 ms;
	size_t			 i, j;

	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (ac_alert_parse((const char *)data, size, ctypes[i], &a,
		    &err) != 0) {
			check_error(&err, 400);
			continue;
		}
		check_alert(&a);
		for (j = 0; j < sizeof(rules) / sizeof(rules[0]); j++) {
			memset(&err, 0, sizeof(err));
			if (ac_alert_check(&a, &rules[j], now, &err) == 0)
				continue;
			if (err.code == NULL)
				__builtin_trap();
			check_error(&err, strcmp(err.code, "missing_field") == 0 ?
			    400 : 422);
		}
		ac_alert_key(&a, 1, now, key);
		ac_alert_content_key(&a, 1, content);
		if (strlen(key) != 64 || strlen(content) != 64 ||
		    strcmp(key, content) == 0)
			__builtin_trap();
	}
	{
		struct ac_span	sp[8];
		size_t		n = ac_alert_secret_spans((const char *)data, size, sp, 8);

		for (i = 0; i < n && i < 8; i++)
			if (sp[i].len == 0 || sp[i].off + sp[i].len > size ||
			    (i > 0 && sp[i].off < sp[i - 1].off + sp[i - 1].len))
				__builtin_trap();
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ac_timeframe_normalize(s, out, sizeof(out)) == 0 &&
	    ac_timeframe_normalize(out, exch, sizeof(exch)) != 0)
		__builtin_trap();
	(void)ac_timeframe_valid(s);
	(void)ac_symbol_normalize(s, out, sizeof(out), exch, sizeof(exch));
	(void)ac_action_parse(s);
	(void)ac_time_parse(s, &ms);
	free(s);
	return 0;
}
