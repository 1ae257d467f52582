/*
 * ingest.h — the TradingView ingest path, shared by ac-hook (live
 * requests) and the spool replay: authenticate, parse, check, and store
 * the signal with its fanout job and a NOTIFY in one statement, alone or
 * in a group commit with the signals other threads are storing.
 */
#ifndef AC_INGEST_H
#define AC_INGEST_H

#include <stdint.h>

#include "db.h"
#include "signal.h"

struct ac_ingest_in {
	const char	*token;		/* from the path; NULL or "" to use the body's secret */
	const char	*body;
	size_t		 len;
	const char	*content_type;
	const char	*remote_addr;
	const char	*request_id;
	int64_t		 received_ms;	/* when it arrived: the 5-minute rule's clock */
	int		 spooled;	/* 1 when replayed from the spool */
};

enum ac_ingest_result {
	AC_INGEST_QUEUED = 0,	/* stored now: 202 */
	AC_INGEST_DUPLICATE,	/* stored before: 200 with the first id */
	AC_INGEST_REJECTED,	/* 400 / 401 / 422: see err (recorded for review) */
	AC_INGEST_DB_DOWN,	/* nothing stored: spool it or answer 503 */
	AC_INGEST_ERROR		/* the database refused the row: 500, logged */
};

struct ac_ingest_out {
	enum ac_ingest_result	result;
	long long		signal_id;
	long long		strategy_id;
	struct ac_alert_error	err;		/* for AC_INGEST_REJECTED */
	int			parsed;		/* the body parsed as an alert */
};

/*
 * Shares one "workers were woken at" stamp among the processes that ingest
 * on this host (a file under state_dir): a signal stored within
 * coalesce_ms of the last NOTIFY sends none, as every NOTIFY serializes
 * the commits of all notifying transactions in PostgreSQL. Workers poll
 * quickly for a while after each wake-up, so no signal waits for the next
 * one. Without this call (or when the file cannot be used) every signal
 * notifies. Returns 0, or -1 (logged) when the stamp file is unusable.
 */
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
 * Runs one alert through the path. When the database is down the result
 * is AC_INGEST_DB_DOWN unless the body alone proves the request bad (a
 * 400, logged but not recorded). A rejection is recorded in
 * webhook_rejects (a bad token as a security event) when the database
 * answers.
 */
void	ac_ingest(struct ac_db *db, const struct ac_ingest_in *in, struct ac_ingest_out *out);

#endif
