/*
 * ingest.h — the TradingView ingest path, shared by ac-hook (live
 * requests) and the spool replay: authenticate, parse, check, and store
 * the signal with its fanout job and a NOTIFY in one statement, alone or
 * in a group commit with the signals other threads are storing.
 */
#ifndef AC_INGEST_H
#define AC_INGEST_H

#include <stdint.h>

#include "base/db.h"
#include "alert/spool.h"
#include "alert/tv.h"

struct ac_ingest_in {
	const char	*token;		/* from the path; NULL or "" to use the body's secret */
	const char	*token_sha256;	/* instead of token: its hex SHA-256 (a spooled alert) */
	const char	*body;
	size_t		 len;
	const char	*content_type;
	const char	*remote_addr;
	const char	*request_id;
	int64_t		 received_ms;	/* when it arrived: the 5-minute rule's clock */
	int		 spooled;	/* 1 when replayed from the spool */
	const char	*spool_dir;	/* state folder whose spool takes the alert when the
					 * database is away; NULL: none (a replay) */
	long long	 test_user_id;	/* > 0: a test signal for this user alone (the
					 * admin panel's), stored as signals.test_user_id;
					 * it never counts as a duplicate of a real alert */
	int		 review;	/* 1: an operator accepts a refused alert: its time,
					 * missing fields (but symbol and timeframe) and
					 * strategy name are not held against it, and a
					 * refusal is not recorded again */
};

enum ac_ingest_result {
	AC_INGEST_QUEUED = 0,	/* stored now: 202 */
	AC_INGEST_DUPLICATE,	/* stored before: 200 with the first id */
	AC_INGEST_REJECTED,	/* 400 / 401 / 422: see err (recorded for review) */
	AC_INGEST_DB_DOWN,	/* nothing stored: spool it or answer 503 */
	AC_INGEST_ERROR,	/* the database refused the row: 500, logged */
	AC_INGEST_SPOOLED,	/* the database is away: kept in the spool: 202 */
	AC_INGEST_HEARTBEAT	/* a heartbeat: the strategy's last one updated, no
				 * signal stored: 200 */
};

struct ac_ingest_out {
	enum ac_ingest_result	result;
	long long		signal_id;
	long long		strategy_id;
	struct ac_alert_error	err;		/* for AC_INGEST_REJECTED */
	int			parsed;		/* the body parsed as an alert */
	int			heartbeat;	/* ... as a heartbeat: never spooled, so
						 * DB_DOWN means dropped (the next bar's
						 * beat stands in for it) */
};

/* The host's coalesced NOTIFY for the signals stored here (and any other
 * job this process queues): base/queue.h, ac_notify_init(). */
int	ac_ingest_init(const char *state_dir, int coalesce_ms);

/*
 * Group commit: from now on the signals stored by this process's threads
 * go through n committer threads, one per connection in dbs (connections
 * of their own). A free committer stores up to max_batch waiting signals
 * in one statement and transaction, then answers each. Without this call
 * each signal is stored with the caller's own connection. Returns 0, or
 * -1 (logged) when no thread can start. ac_ingest_group_stop() stores
 * what is queued and joins the threads; the caller frees dbs after.
 */
int	ac_ingest_group_start(struct ac_db **dbs, int n, int max_batch);
void	ac_ingest_group_stop(void);

/*
 * Runs one alert through the path. A heartbeat (action "heartbeat"),
 * authenticated and checked like any alert, updates the strategy's one
 * strategy_heartbeats row and nothing else: no signal, no job, no credit
 * (AC_INGEST_HEARTBEAT); a test signal or a review cannot be one (422).
 * When the database is down the alert (never a heartbeat) is
 * spooled (AC_INGEST_SPOOLED; AC_INGEST_DB_DOWN without in->spool_dir or
 * when the spool cannot be written) unless the body alone proves the
 * request bad (a 400, logged but not recorded). A rejection is recorded
 * in webhook_rejects (a bad token as a security event, with the first
 * digits of its SHA-256) when the database answers.
 *
 * No secret is kept or logged in clear, on any path: before anything is
 * stored, recorded, spooled or logged, the values of the body's secret
 * keys (found by ac_alert_secret_spans(), so also in a body that does not
 * parse) and every occurrence of the token (the path's or the body's) are
 * replaced by "[redacted]" in the body and in the error message, and the
 * spool keeps the token's SHA-256, not the token.
 */
void	ac_ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out);

/* A spooled alert (e) run through ac_ingest() again, as it was received:
 * what ac-hook's drain and `acctl replay-spool` both do. */
void	ac_ingest_spooled(struct ac_db *db, const struct ac_spool_entry *e,
	    struct ac_ingest_out *out);

#endif
