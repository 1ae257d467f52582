/*
 * fanout.h — from a stored signal to charged, tracked, per-user deliveries
 * (job "fanout"); deliver.h sends them (job "deliver").
 *
 * ac_fanout_job, in the runner's transaction, for the signal's strategy:
 * locks the strategy and the signal (one fan-out per strategy at a time)
 * and the alarm holders' user rows in id order (no deadlocks with other
 * fan-outs), then in a handful of set-based statements:
 *  1. candidates: enabled alarms of active users with an active
 *     subscription (period covering now) whose plan covers the strategy,
 *     with each user's open trades — users that already have a delivery for
 *     this signal are done and left out;
 *  2. per user, in C: the trade plan (trade.h) gives the signal's kind;
 *     the alarm's toggles and price filter must accept it (else the user is
 *     not matched: no record); then the daily cap (signals served today in
 *     the user's time zone >= max_daily_alerts → skipped/daily_cap, no
 *     charge), then the credit (plan's credit_cost, else the strategy's;
 *     one guarded batch of ledger rows keyed signal:<sid>:user:<uid>;
 *     too little → skipped/no_credits, no trade);
 *  3. the served users' trade changes (one statement: inserts + closes);
 *  4. one delivery per channel of the alarm for every matched user —
 *     queued, or skipped with its reason (preference before no_address) —
 *     and a "deliver" job per 500 queued ones, with one NOTIFY;
 *  5. the signal (processed, matched_users, processing_ms), the strategy's,
 *     alarms' and subscriptions' statistics.
 * A fan-out over many alarms runs in parts (ac_fanout_setup()), each
 * doing 1-4 and the alarms' statistics for its share of the users.
 * A signal no longer 'received' is left alone, so re-running changes
 * nothing; the unique keys (ledger key, deliveries (signal, user, channel),
 * trades (entry signal, user), jobs unique_key) hold even so.
 */
#ifndef AC_FANOUT_H
#define AC_FANOUT_H

#include "base/channel.h"
#include "work/jobs.h"
#include "alert/trade.h"

enum ac_skip {
	AC_SKIP_NONE = 0,
	AC_SKIP_NO_CREDITS,
	AC_SKIP_DAILY_CAP,
	AC_SKIP_PREFERENCE,
	AC_SKIP_NO_ADDRESS
};

/* What an alarm accepts: its toggles and price filter (has_*: set). */
struct ac_alarm_filter {
	int	on_entry, on_exit, on_replacement;
	int	has_min, has_max;
	double	min_price, max_price;
};

/* Which channels a user allows (preferences) and can be reached on
 * (address, chat id, phone, push id): bits (1u << enum ac_channel). */
struct ac_reach {
	unsigned	allowed;
	unsigned	addressed;
};

/* 1 if the alarm takes a signal of kind at price. Pure. */
int		 ac_alarm_accepts(const struct ac_alarm_filter *f, enum ac_signal_kind kind,
		    double price);

/* The gate before the charge: DAILY_CAP when served_today >= max_daily,
 * else NO_CREDITS when cost > balance, else NONE. Pure. */
enum ac_skip	 ac_fanout_gate(int served_today, int max_daily, long long balance,
		    long long cost);

/* The channels (bits) of an alarm's that a signal can go out on: allowed
 * and addressed. A user none of whose channels can be reached is not
 * served: no credit is charged and no trade moves for a message nobody
 * would receive. Pure. */
unsigned	 ac_reachable(unsigned channels, const struct ac_reach *r);

/* A served user's channel: PREFERENCE (switched off), NO_ADDRESS, or NONE
 * (queue it). Pure. */
enum ac_skip	 ac_channel_skip(enum ac_channel ch, const struct ac_reach *r);

/* "no_credits" "daily_cap" "preference" "no_address"; NULL for NONE. */
const char	*ac_skip_name(enum ac_skip s);

/*
 * Splits a fan-out over a strategy with at least min_alarms enabled alarms
 * into parts (1..8) by user id, run at once on connections and in
 * transactions of their own (the runner's holds the signal and the
 * strategy); see fanout.c. The default is 1 part. Such a fan-out first
 * serves a head of head users (those whose plan has the priority feature
 * first, then by id; 0: none) in a short transaction of its own and
 * commits it, so a free worker sends their messages while the parts run;
 * the parts start lead_ms after that commit, so that worker loads and
 * sends the head's messages before the parts take the cores. Each part
 * writes its users in commits (1..) transactions one after the other, so
 * the deliveries of its first ones leave while it serves the rest.
 * ac_fanout_shutdown() closes the extra connections.
 */
void	ac_fanout_setup(int parts, int min_alarms, int head, int lead_ms, int commits);
/* Readies db and the parts' connections (opened now) for a fan-out:
 * ac_db_warm() of every statement one runs, then on each connection a
 * head of one subscriber fanned out and rolled back (the writes' triggers,
 * indexes and functions are cold until a row is written). A worker that is to listen
 * calls it before its first claim, so that the first alert after it
 * starts (a timer starts one every minute or two, as bars close) is not
 * served by cold connections: 10,000 subscribers' first delivery came
 * 25-35 ms later from a new worker than from one that had fanned out
 * before (bench/reach). */
void	ac_fanout_warm(struct ac_db *db);
void	ac_fanout_shutdown(void);

/* Job "fanout", payload {"signal_id": N}: see above. FAIL for a payload
 * without a signal or a signal that does not exist; RETRY on database
 * errors. */
enum ac_job_outcome ac_fanout_job(struct ac_db *db, struct ac_job *job);

/* The signal's deliveries as {"signal_id", "status", "matched_users",
 * "deliveries": [{id, user_id, email, channel, kind, status, skip_reason,
 * provider, attempts, sent_at, error}]}; NULL with *found 0 when there is
 * no such signal, NULL with *found 1 on a database error. */
json_t		*ac_fanout_deliveries(struct ac_db *db, long long signal_id, int *found);

#endif
