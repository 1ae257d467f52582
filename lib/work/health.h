/*
 * health.h — missed-alert detection: the worker's minute sweep judges each
 * strategy that is not inactive and tells the operators once per incident,
 * and once more when it ends.
 *
 * The rules (ac_health_judge(), pure):
 *	silent			the strategy sends heartbeats (it has a
 *				strategy_heartbeats row) and the last one is
 *				older than AC_HEALTH_SILENT_BARS bars of its
 *				timeframe;
 *	burst			more than AC_HEALTH_BURST_MAX of its alerts
 *				within AC_HEALTH_BURST_WINDOW_S seconds (what
 *				TradingView stops a script alert for), among
 *				those of the last AC_HEALTH_BURST_LOOKBACK_S;
 *	estimated_silence	no heartbeat ever, at least
 *				AC_HEALTH_HISTORY_MIN alerts in the last
 *				AC_HEALTH_HISTORY_DAYS days, and the silence
 *				since the last one over AC_HEALTH_GAP_FACTOR
 *				times the longest gap between two of them (and
 *				over AC_HEALTH_SILENT_BARS bars): an estimate.
 * Test signals count for none of these.
 *
 * Incidents live in strategy_incidents (sql/023_strategy_health.sql), at
 * most one open per strategy and kind (a unique partial index), so "once"
 * holds across restarts and any number of workers: the sweep opens what
 * is on and not open, closes what is open and no longer on, and queues
 * one "ops_notice" job per operator and channel (email; Telegram when the
 * operator has a telegram_chat_id) for each opening and each closing, keyed
 * by the incident, all in one transaction.
 */
#ifndef AC_HEALTH_H
#define AC_HEALTH_H

#include <stddef.h>

#include "base/db.h"

#define AC_HEALTH_SILENT_BARS		2
#define AC_HEALTH_BURST_MAX		15
#define AC_HEALTH_BURST_WINDOW_S	180
#define AC_HEALTH_BURST_LOOKBACK_S	360
#define AC_HEALTH_HISTORY_MIN		10
#define AC_HEALTH_HISTORY_DAYS		30
#define AC_HEALTH_GAP_FACTOR		2

enum ac_incident_kind {
	AC_INC_SILENT = 0,
	AC_INC_BURST,
	AC_INC_ESTIMATED,
	AC_INC__MAX
};

/* What the sweep reads of one strategy. */
struct ac_health_facts {
	long long	 strategy_id;
	int		 bar_s;			/* its timeframe's bar, seconds */
	int		 beats;			/* 1: it has sent heartbeats */
	double		 beat_age_s;		/* age of the last one (beats) */
	int		 burst;			/* most alerts in one burst window lately */
	int		 history;		/* alerts of the history (no heartbeats) */
	double		 longest_gap_s;		/* the longest gap between two of them */
	double		 silence_s;		/* since the last of them */
};

/* The kinds that are on for f: bits (1u << enum ac_incident_kind). Pure. */
unsigned	ac_health_judge(const struct ac_health_facts *f);

/* Why kind is on for f, for a person ("no heartbeat for 5 min 2 s; one
 * is due every 1 min"), into buf. Pure. */
void		ac_health_detail(const struct ac_health_facts *f, enum ac_incident_kind kind,
		    char *buf, size_t bufsz);

/* "silent", "burst", "estimated_silence" (the table's kind). */
const char	*ac_incident_kind_name(enum ac_incident_kind kind);

/*
 * The sweep, in one transaction; skipped (0) while another worker's sweep
 * holds the lock. site (AC_BASE_URL) goes into the notices' links.
 * Returns the incidents opened plus closed, or -1 on a database error
 * (logged; nothing changed).
 */
int		ac_health_sweep(struct ac_db *db, const char *site);

#endif
