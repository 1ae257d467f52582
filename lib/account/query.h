/*
 * query.h — what the account's read models (credits.h, trades.h,
 * history.h, plans.h, profile.h, dashboard.h) share: one call that runs a
 * statement for a user and takes its one JSON cell, and the SQL pieces
 * their statements are written with. Read models answer data, never
 * presentation: the portal and the API each shape what they show.
 */
#ifndef AC_ACCOUNT_QUERY_H
#define AC_ACCOUNT_QUERY_H

#include <jansson.h>

#include "base/db.h"
#include "base/err.h"

/*
 * Runs st with the user's id as $1 and more[0..] as $2...: the one JSON
 * cell of its one row (the caller owns it), or NULL with *e:
 * AC_E_NOT_FOUND when there is no row or the cell is null, else the
 * database's error (logged).
 */
json_t	*ac_user_query(struct ac_db *db, const struct ac_stmt *st, long long user_id,
	    const char *const *more, struct ac_err *e);

/* A timestamp as UTC ISO 8601 text ("2026-01-02T03:04:05Z"), and as the
 * user's wall-clock time to the minute ("2026-01-02 08:34"; the statement
 * joins the user as u). */
#define AC_SQL_ISO(x) \
	"to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define AC_SQL_LOCAL(x) \
	"to_char((" x ") AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI')"

/*
 * Read models answer in two forms from one statement text: for a program
 * (the API: ids, numbers as text, UTC ISO times) and for a person reading
 * a page (the portal: times in the user's zone, labels). Each form takes
 * only its own columns, so neither pays for the other's.
 */

/*
 * A virtual trade (trades tr JOIN strategies st, the user as u): both
 * forms have {"id", "trade_number", "strategy", "symbol", "timeframe",
 * "side", "status", "entry_price", "take_profit", "stop_loss",
 * "exit_price", "exit_reason", "pnl_amount"} (numbers as text or null);
 * for a program also "strategy_id", "pnl_percent", "opened_at",
 * "closed_at" (ISO); for a person "pnl_percent_round" (2 places),
 * "opened_local", "closed_local" (closed or replaced).
 */
#define AC_SQL_TRADE_COLUMNS \
	"tr.id, tr.trade_number, st.name AS strategy, tr.symbol, tr.timeframe, tr.side," \
	" tr.status, tr.entry_price::text AS entry_price, tr.take_profit::text AS take_profit," \
	" tr.stop_loss::text AS stop_loss, tr.exit_price::text AS exit_price, tr.exit_reason," \
	" tr.pnl_amount::text AS pnl_amount"
#define AC_SQL_TRADE_DATA AC_SQL_TRADE_COLUMNS \
	", tr.strategy_id, tr.pnl_percent::text AS pnl_percent," \
	" " AC_SQL_ISO("tr.opened_at") " AS opened_at, " AC_SQL_ISO("tr.closed_at") " AS closed_at"
#define AC_SQL_TRADE_READ AC_SQL_TRADE_COLUMNS \
	", round(tr.pnl_percent, 2)::text AS pnl_percent_round," \
	" " AC_SQL_LOCAL("tr.opened_at") " AS opened_local," \
	" " AC_SQL_LOCAL("coalesce(tr.closed_at, tr.replaced_at)") " AS closed_local"

/*
 * A delivery of a signal (deliveries d JOIN signals s JOIN strategies
 * st): both forms have {"id", "strategy", "symbol", "timeframe", "price",
 * "channel", "status", "skip_reason"}; for a program also "signal_id",
 * "strategy_id", "action", "kind", "created_at", "sent_at" (ISO),
 * "latency_ms"; for a person (the user as u) "action_label"
 * (signal_action_label()), "at" and "latency" ("1.2 s"). The latency runs
 * from TradingView's request (the signal's received_at) to the provider's
 * acceptance (sent_at): null until then, and for the outbox (no provider).
 */
#define AC_SQL_DELIVERY_COLUMNS \
	"d.id, st.name AS strategy, s.symbol, s.timeframe, s.price::text AS price, d.channel," \
	" d.status, d.skip_reason"
#define AC_SQL_DELIVERY_DATA AC_SQL_DELIVERY_COLUMNS \
	", d.signal_id, s.strategy_id, s.action, d.kind," \
	" " AC_SQL_ISO("d.created_at") " AS created_at, " AC_SQL_ISO("d.sent_at") " AS sent_at," \
	" round(" AC_SQL_DELIVERY_LATENCY " * 1000)::bigint AS latency_ms"
#define AC_SQL_DELIVERY_READ AC_SQL_DELIVERY_COLUMNS \
	", signal_action_label(s.action) AS action_label, " AC_SQL_LOCAL("d.created_at") " AS at," \
	" " AC_SQL_DELIVERY_SHOWN " AS shown_status, " AC_SQL_DELIVERY_WHY " AS why," \
	" latency_label(" AC_SQL_DELIVERY_LATENCY ") AS latency"
/* Seconds from the signal's arrival to the provider's acceptance, or NULL
 * (sql/024_track_record.sql's latency_label() words it). */
#define AC_SQL_DELIVERY_LATENCY \
	"(CASE WHEN d.status = 'sent' AND d.provider IS DISTINCT FROM 'outbox' THEN" \
	" extract(epoch FROM d.sent_at - s.received_at)::float8 END)"
/* What a person sees of a delivery's state: "outbox" for one kept in the
 * outbox (no provider configured), else its status; and why it did not
 * go out, in words (NULL when it did). */
#define AC_SQL_DELIVERY_SHOWN \
	"CASE WHEN d.status = 'sent' AND d.provider = 'outbox' THEN 'outbox' ELSE d.status END"
#define AC_SQL_DELIVERY_WHY \
	"CASE WHEN d.status = 'sent' AND d.provider = 'outbox' THEN" \
	" 'Kept in the outbox: no ' || d.channel || ' provider is set up on this server yet'" \
	" WHEN d.skip_reason = 'no_credits' THEN 'Not sent: out of credits (top up on the Plans page)'" \
	" WHEN d.skip_reason = 'daily_cap' THEN 'Not sent: your daily limit was reached (Account)'" \
	" WHEN d.skip_reason = 'stale' THEN 'Not sent: too late to act on (the signal was older" \
	"  than its strategy allows by the time it could go)'" \
	" WHEN d.skip_reason = 'preference' THEN 'Not sent: you switched ' || d.channel ||" \
	"  ' off (Account); no credit charged'" \
	" WHEN d.skip_reason = 'no_address' THEN 'Not sent: ' || CASE d.channel" \
	"  WHEN 'telegram' THEN 'no Telegram chat linked (Account)'" \
	"  WHEN 'sms' THEN 'no phone number set (Account)'" \
	"  WHEN 'push' THEN 'no device set up for push' ELSE 'no address' END ||" \
	"  '; no credit charged'" \
	" WHEN d.status = 'failed' THEN 'Could not be delivered'" \
	"  || coalesce(': ' || left(d.error, 120), '')" \
	" WHEN d.status = 'queued' THEN 'On its way' END"

#endif
