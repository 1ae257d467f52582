/*
 * record.h — a strategy's stored signals read back: beside the engine's
 * (verify.h) for acctl verify and the admin panel, and as its public
 * track record (track.h) for the portal and the API. Test signals (an
 * operator's, to one test user) count in neither.
 */
#ifndef AC_RECORD_H
#define AC_RECORD_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/* The rule the track record follows, in words, for the page and the API. */
extern const char ac_record_rule[];

/*
 * The verify report of strategy id over the bars of a TradingView CSV
 * export (text, len bytes): {"strategy": {"id", "name", "symbol",
 * "timeframe"}, "bars", "from", "to" (the first and last bars' opens, UTC
 * ISO), "window_bars", "recomputed", "stored", "matched", "missing",
 * "extra", "different_bar", "differences": [{"kind" ("missing" "extra"
 * "different_bar"), "action" ("BUY" "SELL"), "bar_time" (the engine's bar,
 * null for extra), "stored_bar_time" (null for missing, or outside the
 * bars), "bars_apart" (different_bar), "signal_id", "received_at" (the
 * stored signal's; null for missing)}, ... by bar]}. NULL with *e:
 * AC_E_NOT_FOUND (no such strategy), AC_E_INVALID field "bars" (the message
 * "line N: ..."), or the database's error.
 */
json_t	*ac_verify_report(struct ac_db *db, long long id, const char *text, size_t len,
	    struct ac_err *e);

/*
 * The public track record of strategy id, when its operator opted in
 * (strategies.public_record, not a testing strategy): {"strategy": {"id",
 * "name", "description", "symbol", "timeframe"}, "rule" (ac_record_rule),
 * "signals", "first_signal_at", "last_signal_at", "trades", "wins",
 * "losses", "open_trades", "win_rate_percent" (null without trades),
 * "total_pnl_percent", "max_drawdown_percent", "months": [{"month"
 * ("2026-01"), "trades", "wins", "pnl_percent"}, ... oldest first],
 * "equity": [{"time", "equity_percent"}, ...], "latency": {"signals" (the
 * newest this many signals are measured: at most 200, fewer once their
 * subscribers pass 10,000), "deliveries" (their accepted
 * ones), "average_ms", "median_ms" (null without any), "average",
 * "median" (their labels, "1.2 s")}, "recent": [{"id",
 * "action", "price" (text), "received_at", "latency_ms" (its first
 * delivery accepted, or null), "latency" (its label)}, ... newest first,
 * at most recent]}; with recent < 0 the figures alone ("latency" null,
 * "recent" empty: the latency reads many deliveries, which a page listing
 * many strategies should not); with svg not NULL, *svg the equity chart (track.h;
 * the caller frees it). NULL with *e: AC_E_NOT_FOUND when there is no
 * such strategy or it has not opted in.
 */
json_t	*ac_record(struct ac_db *db, long long id, int recent, char **svg, struct ac_err *e);

#endif
