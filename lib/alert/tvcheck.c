/*
 * tvcheck.c — a parsed alert against its strategy's rules
 * (ac_alert_check), and the keys that find a re-sent alert
 * (ac_alert_key, ac_alert_content_key). Pure.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/util.h"
#include "alert/tvint.h"

/* ---- check ---------------------------------------------------------- */

/* s past any ASCII byte that is neither a letter nor a digit. */
static const char *
skip_punct(const char *s)
{
	while (*s != '\0' && (unsigned char)*s < 0x80 &&
	    !is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s))
		s++;
	return s;
}

/* 1 if a and b have the same letters and digits, ignoring ASCII case
 * ("UT Bot" = "ut_bot" = "UTBOT"). */
int
tv_names_match(const char *a, const char *b)
{
	for (;;) {
		a = skip_punct(a);
		b = skip_punct(b);
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (to_lower((unsigned char)*a) != to_lower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

/* The value of price field f (AC_F_PRICE, AC_F_TP or AC_F_SL) of a, and
 * its "%.15g" text through *text. */
double
tv_level_of(const struct ac_alert *a, int f, const char **text)
{
	switch (f) {
	case AC_F_TP:
		*text = a->tp_text;
		return a->take_profit;
	case AC_F_SL:
		*text = a->sl_text;
		return a->stop_loss;
	default:
		*text = a->price_text;
		return a->price;
	}
}

/* Fails with 422 tp_wrong_side / sl_wrong_side unless the level at f is
 * above (above != 0) or below the entry price. 0, or -1. */
static int
check_side(const struct ac_alert *a, int f, int above,
    struct ac_alert_error *err)
{
	const char	*text;
	double		 level = tv_level_of(a, f, &text);

	if (!(a->present & BIT(f)) ||
	    (above ? level > a->price : level < a->price))
		return 0;
	return tv_fail(err, 422, f == AC_F_TP ? "tp_wrong_side" : "sl_wrong_side",
	    ac_field_name(f), "%s %s must be %s the %s entry price %s",
	    f == AC_F_TP ? "take profit" : "stop loss", text,
	    above ? "above" : "below", ac_action_name(a->action),
	    a->price_text);
}

/* The enabled actions (bits) of which one lets a through: an exit rides
 * on the entry that opened what it closes. */
static unsigned
enabled_by(enum ac_action a)
{
	switch (a) {
	case AC_ACTION_EXIT_LONG:
		return BIT(AC_ACTION_BUY);
	case AC_ACTION_EXIT_SHORT:
		return BIT(AC_ACTION_SELL);
	case AC_ACTION_EXIT:
		return BIT(AC_ACTION_BUY) | BIT(AC_ACTION_SELL);
	case AC_ACTION_HEARTBEAT:	/* the strategy's own pulse: always */
		return ~0u;
	default:
		return BIT(a);
	}
}

int
ac_alert_check(const struct ac_alert *a, const struct ac_rules *r,
    int64_t now_ms, struct ac_alert_error *err)
{
	static const int	 levels[] = { AC_F_PRICE, AC_F_TP, AC_F_SL };
	unsigned		 missing = r->required & ~a->present & FIELDS_ALL;
	char			 got[SHOW_BUF], want[SHOW_BUF], when[48];
	char			 list[160];
	const char		*text;
	int64_t			 age;
	int			 f, buy;
	size_t			 i;

	if (a->action == AC_ACTION_HEARTBEAT)	/* levels belong to entries */
		missing &= ~(BIT(AC_F_TP) | BIT(AC_F_SL));
	for (f = 0; missing != 0; f++)
		if (missing & BIT(f))
			return tv_fail(err, 400, "missing_field", ac_field_name(f),
			    "field \"%s\" is required by this strategy (send "
			    "one of: %s)", ac_field_name(f), tv_alias_list(f, list,
			    sizeof(list)));
	if ((a->present & BIT(AC_F_SYMBOL)) && strcmp(a->symbol, r->symbol))
		return tv_fail(err, 422, "symbol_mismatch", ac_field_name(AC_F_SYMBOL),
		    "received symbol %s, the strategy trades %s", a->symbol,
		    r->symbol);
	if ((a->present & BIT(AC_F_TIMEFRAME)) &&
	    strcmp(a->timeframe, r->timeframe))
		return tv_fail(err, 422, "timeframe_mismatch",
		    ac_field_name(AC_F_TIMEFRAME), "received timeframe %s, the "
		    "strategy runs on %s", a->timeframe, r->timeframe);
	if ((a->present & BIT(AC_F_STRATEGY)) &&
	    !tv_names_match(a->strategy, r->name))
		return tv_fail(err, 422, "strategy_mismatch",
		    ac_field_name(AC_F_STRATEGY), "received strategy \"%s\", "
		    "expected \"%s\"", tv_show(a->strategy, strlen(a->strategy),
		    got), tv_show(r->name, strlen(r->name), want));
	if ((unsigned)a->action >= AC_ACTION__MAX ||
	    !(r->actions & enabled_by(a->action)))
		return tv_fail(err, 422, "action_disabled", ac_field_name(AC_F_ACTION),
		    "action %s %s enabled for this strategy",
		    ac_action_name(a->action), !tv_is_exit(a->action) ? "is not" :
		    a->action == AC_ACTION_EXIT_LONG ? "needs BUY" :
		    a->action == AC_ACTION_EXIT_SHORT ? "needs SELL" :
		    "needs BUY or SELL");
	for (f = AC_F_TP; a->action == AC_ACTION_HEARTBEAT && f <= AC_F_SL; f++)
		if (a->present & BIT(f))
			return tv_fail(err, 400, "unexpected_field", ac_field_name(f),
			    "a heartbeat carries no %s; send it with the buy or sell "
			    "alert", ac_field_name(f));
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		f = levels[i];
		if ((a->present & BIT(f)) && !(tv_level_of(a, f, &text) > 0))
			return tv_fail(err, 422, "invalid_price", ac_field_name(f),
			    "field \"%s\" must be above 0; received %s",
			    ac_field_name(f), text);
	}
	if ((a->present & BIT(AC_F_PRICE)) &&
	    (a->action == AC_ACTION_BUY || a->action == AC_ACTION_SELL)) {
		buy = a->action == AC_ACTION_BUY;
		if (check_side(a, AC_F_TP, buy, err) == -1 ||
		    check_side(a, AC_F_SL, !buy, err) == -1)
			return -1;
	}
	if (a->present & BIT(AC_F_TIME)) {
		age = now_ms - a->time_ms;
		ac_iso8601_ms(a->time_ms, when);
		if (age > r->max_skew_ms)
			return tv_fail(err, 422, "stale_alert",
			    ac_field_name(AC_F_TIME), "alert time %s is %.3f s "
			    "old; at most %.3f s allowed", when, age / 1000.0,
			    r->max_skew_ms / 1000.0);
		if (-age > r->max_skew_ms)
			return tv_fail(err, 422, "future_alert",
			    ac_field_name(AC_F_TIME), "alert time %s is %.3f s in "
			    "the future; at most %.3f s allowed", when,
			    -age / 1000.0, r->max_skew_ms / 1000.0);
	}
	return 0;
}

/* ---- key ------------------------------------------------------------ */

/* Writes the lower-case hex SHA-256 of the fields of a under strategy_id,
 * prefixed by tag and followed by when (NULL: none), into out. */
static void
key_of(const char *tag, const struct ac_alert *a, long long strategy_id,
    const char *when, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 buf[320];
	int			 n;

	n = snprintf(buf, sizeof(buf), "%s|%lld|%s|%s|%s|%s|%s|%s%s%s", tag,
	    strategy_id, a->symbol, a->timeframe, ac_action_name(a->action),
	    a->price_text, a->tp_text, a->sl_text, when ? "|" : "",
	    when ? when : "");
	/* A broken libcrypto must not yield a key that merges alerts. */
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		abort();
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

int64_t
ac_alert_event_ms(const struct ac_alert *a, int64_t received_ms)
{
	return a->present & BIT(AC_F_TIME) ? a->time_ms : received_ms;
}

void
ac_alert_key(const struct ac_alert *a, long long strategy_id,
    int64_t received_ms, char out[65])
{
	char	when[24];

	/* "a": the arrival stands in; a time of the same ms is another key */
	snprintf(when, sizeof(when), "%s%" PRId64,
	    a->present & BIT(AC_F_TIME) ? "" : "a", ac_alert_event_ms(a,
	    received_ms));
	key_of("v1", a, strategy_id, when, out);
}

void
ac_alert_content_key(const struct ac_alert *a, long long strategy_id,
    char out[65])
{
	key_of("c1", a, strategy_id, NULL, out);
}
