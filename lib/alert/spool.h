/*
 * spool.h — the local spool that keeps accepted alerts while PostgreSQL
 * cannot be reached.
 *
 * Appenders add one JSON line per request (its body as given: ac_ingest()
 * spools it redacted) to STATE/spool/hook.spool under
 * an exclusive flock and fsync it before the client is answered. A
 * replayer renames that file aside (new appends start a fresh one), feeds
 * each entry to a callback and records the offset of every entry the
 * callback committed in STATE/spool/hook.spool.offset, so an entry is
 * dropped only after it committed; the file is removed when all are done.
 * A crash at any point replays at most the entries whose commit was not
 * yet recorded, which the idempotent ingest absorbs.
 */
#ifndef AC_SPOOL_H
#define AC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct ac_spool_entry {
	const char	*token_sha256;	/* the webhook token's hex SHA-256, or "": never
					 * the token (a line of the first format, which
					 * held it, is read as its hash) */
	const char	*content_type;
	const char	*remote_addr;
	const char	*request_id;
	const char	*body;		/* len bytes, any content */
	size_t		 len;
	int64_t		 received_ms;
};

/* Appends e, fsynced. 0, or -1 with errno (the caller answers 503). */
int	ac_spool_append(const char *state_dir, const struct ac_spool_entry *e);

/* 1 if entries are waiting to be replayed (cheap: two stat calls). */
int	ac_spool_pending(const char *state_dir);

/* Bytes waiting to be replayed (the spool and a replay in progress), for
 * /metrics; 0 when there is none. */
long long ac_spool_bytes(const char *state_dir);

/* What a replay callback answers for one entry. */
enum ac_spool_verdict {
	AC_SPOOL_DONE = 0,	/* committed (or finally refused): drop it */
	AC_SPOOL_STOP		/* the database is away again: keep it and stop */
};

struct ac_spool_stats {
	unsigned	done;		/* entries the callback took */
	unsigned	kept;		/* entries of the file being replayed left for later */
	unsigned	corrupt;	/* torn or unreadable lines, skipped */
	int		busy;		/* another replayer holds the lock */
};

/*
 * Replays waiting entries in arrival order through fn. Returns 0 (see
 * *st), or -1 with errno on an I/O error. Only one replayer runs at a
 * time; a second call returns 0 at once with st->busy set.
 */
int	ac_spool_replay(const char *state_dir,
	    enum ac_spool_verdict (*fn)(const struct ac_spool_entry *e, void *arg),
	    void *arg, struct ac_spool_stats *st);

/* The same, waiting for a replayer that holds the lock to finish first
 * (acctl replay-spool: when it returns, what the spool held is stored,
 * whoever stored it; st->busy is 0). */
int	ac_spool_replay_wait(const char *state_dir,
	    enum ac_spool_verdict (*fn)(const struct ac_spool_entry *e, void *arg),
	    void *arg, struct ac_spool_stats *st);

#endif
