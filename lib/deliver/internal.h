/*
 * internal.h — what the files of lib/deliver share, and nothing outside
 * lib/deliver includes: a send in the making (struct item) with its typed
 * result (struct send_result), and the entry points of each concern:
 *
 *	limits.c	rate slots, sliding windows, holds and breakers (Redis)
 *	render.c	a delivery's, a notice's or an email's texts
 *	send.c		the libcurl multi runner and the recording of sends
 *	batch.c		a claimed batch of jobs: load, set up, run, results
 *	deliver.c	the settings, and the job kind "deliver"
 *	notice.c	the job kind "notice"
 *	email.c		the job kind "email"
 *
 * Each file keeps the state of its concern; deliver.c reads the settings
 * once and hands each its part.
 */
#ifndef AC_DELIVER_INTERNAL_H
#define AC_DELIVER_INTERNAL_H

#include <stdint.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "base/buf.h"
#include "base/channel.h"
#include "base/db.h"
#include "base/pgarray.h"
#include "base/message.h"
#include "deliver/deliver.h"
#include "deliver/provider.h"
#include "work/jobs.h"

/* ---- settings: read by deliver.c, kept by the concern they are for ------- */

struct limits_cfg {
	int		 rate[AC_PROV__MAX];	/* a second; 0: none */
	int		 chat_gap_ms, horizon_ms;
	int		 breaker_fails, breaker_cooldown_ms;
	const char	*redis_url;		/* NULL: per process only */
};

struct send_cfg {
	unsigned	 enabled;		/* bits 1u << enum ac_prov */
	struct ac_prov_cfg prov[AC_PROV__MAX];
	int		 conc[AC_PROV__MAX];
	int		 total_conc, timeout_ms;
};

/* ---- the typed result of one send ----------------------------------------- */

enum send_kind {
	SEND_NONE = 0,	/* none: the rows could not be loaded, or no row */
	SEND_SENT,	/* the provider took it */
	SEND_OUTBOX,	/* no provider configured: kept in the row */
	SEND_FAILED,	/* for good */
	SEND_RETRY,	/* again in retry_in_ms */
	SEND_GONE,	/* no longer queued, or no such row: left alone */
	SEND_WRITTEN,	/* sent and already recorded (send.c, deliver.c) */
	SEND_STALE,	/* could not leave within its strategy's maximum age: skipped */
	SEND_HELD	/* not sent: the rest of a request of many, held for the
			 * next batch to fill (send_hold()); nothing written */
};

/*
 * What a send came to, handed from the batch handler to the job's handler
 * in the same process (job->result, struct job_results): never persisted.
 * What a retried or a rescued job must know, that a delivery went out, is
 * in its row (recorded while the batch sends, send.c) and its attempts.
 */
struct send_result {
	enum send_kind	 v;
	long long	 key;		/* the id the job named (delivery, email, user) */
	const char	*provider;	/* static: a provider's name, "outbox", "none" */
	char		*message;	/* the rendered text, or NULL */
	char		*pmid;		/* SENT: the provider's message id, or NULL */
	char		*error;		/* FAILED, RETRY: why, or NULL */
	char		*chat;		/* SENT: a migrated group's new chat; FAILED
					 * with blocked: the chat that blocked us,
					 * or the push devices OneSignal refused */
	int		 blocked;	/* Telegram: the user blocked the bot;
					 * OneSignal: none of the devices is
					 * subscribed any more */
	int		 counted;	/* attempts this result adds to the row */
	int64_t		 retry_in_ms;
	int64_t		 retry_at_ms;	/* RETRY of a request of many: when (wall clock),
					 * the same for its members; 0: in retry_in_ms */
	long long	 user_id;
};

/* A job's results, in the order of the ids it names; job->result. */
struct job_results {
	size_t			n;
	struct send_result	r[];
};

void	result_clear(struct send_result *r);

/* The results batch_run() left on job, or NULL (none). */
struct job_results *job_results(const struct ac_job *job);

/* The result of the k-th id job names, or NULL: none (the rows could not
 * be loaded, or no row for it). */
const struct send_result *job_result(const struct ac_job *job, size_t k);

/* r's error, or "" */
const char *result_error(const struct send_result *r);

/* ---- a send in the making ------------------------------------------------- */

enum item_state { I_WAIT = 0, I_FLIGHT, I_DONE };

struct item {
	struct ac_job	*job;		/* a deliver job may hold many items */
	struct send_result res;		/* the result, once state is I_DONE */
	enum item_state	 state;
	const char	*key_ns;	/* "delivery", "notice" or "email": what delivery_id numbers */
	long long	 delivery_id, user_id;
	int		 ch;		/* enum ac_channel, or -1 */
	char		 to[256];
	struct ac_texts	 t;
	struct ac_retry_plan	 plan;
	int		 attempts;	/* sends made before this one */
	int		 pos;		/* this attempt's place in the plan (1-based) */
	int		 step, nth;	/* the plan's step at pos and the attempt on it */
	enum ac_prov	 prov;		/* the provider of this attempt */
	int64_t		 not_before;	/* wall clock: a reserved rate slot */
	int		 slotted;	/* the slot is reserved */
	int		 probe;		/* this send is the half-open breaker's probe */
	int		 recorded;	/* recording: 0 not yet, 1 offered now, 2 done with */
	int		 migrated;	/* resent once to a migrated group chat */
	int		 priority;	/* its user's plan goes first (send_run's order) */
	int64_t		 deadline;	/* wall clock: stale if it cannot leave by then (0: never) */
	long long	 entry_id;	/* an exit: its entry's delivery, still queued (0: none) */
	struct item	*after;		/* that entry's item in this batch, which goes first */
	struct item	*lead;		/* a member of lead's request (the provider's bulk form) */
	struct item	**group;	/* a lead: its members, itself first, sorted by id */
	size_t		 ngroup;
	size_t		 units;		/* a lead: the recipients its request carries */
	int		 holdable;	/* of a deliver job of many not held before:
					 * may be held for a fuller request */
	CURL		*easy;
	struct curl_slist *headers;
	struct ac_http_req *req;	/* an HTTP transfer's request (3.5 KB: made for
					 * a lead only, not for each of 20,000 members) */
	struct ac_smtp	 smtp;		/* the SMTP transfer's envelope and curl_mime */
	struct ac_buf	 resp;
	char		 retry_after[32];
	char		 curl_err[CURL_ERROR_SIZE];
};

/* ---- limits.c ------------------------------------------------------------- */

void	limits_init(const struct limits_cfg *cfg);
void	limits_done(void);
int	limits_horizon_ms(void);
int	limits_cooldown_ms(void);
/* Connects to Redis and has it compile the scripts the sends run, before
 * the first send needs them (6 ms of a cold worker's first Telegram
 * message); the scripts loaded under the SHA-1 the sends' EVALSHA names. */
int	limits_warm(void);
/* 1 if sends of p (to chat, 0: none) are paced by a rate or a chat gap. */
int	limits_paced(enum ac_prov p, long long chat);
/* The time between two sends of p at its rate, in ms (0: no rate). */
int	limits_gap_ms(enum ac_prov p);
/* When a send of p (to chat) may go, wall-clock ms; *booked 0 when that
 * lies beyond the horizon and nothing was reserved. */
int64_t	limits_reserve(enum ac_prov p, long long chat, int64_t now, int *booked);
/* Nothing goes to p (chat's, or the provider's with chat 0) before until. */
void	limits_hold(enum ac_prov p, long long chat, int64_t until);
/* Until when p (chat) is held (wall-clock ms; 0: not held). */
int64_t	limits_held(enum ac_prov p, long long chat);
/* 0 if a send may leave now (then counted), else the ms to wait. */
int64_t	limits_window_wait(enum ac_prov p, long long chat);

/* 1 if p may be sent to now (may take the half-open probe); *probe says
 * whether it did. */
int	circuit_allows(enum ac_prov p, int *probe);
/* 1 if p's circuit is closed, taking no probe. */
int	circuit_closed(enum ac_prov p);
/* Records an outcome of p (ok: 1 or 0). */
void	circuit_outcome(enum ac_prov p, int ok);
/* Opens p's circuit at once (the provider refused our account). */
void	circuit_trip(enum ac_prov p);

/* ---- render.c ------------------------------------------------------------- */

/* The columns of a delivery row (deliver.c loads them). */
enum { C_ID, C_STATUS, C_KIND, C_CHANNEL, C_USER, C_STRATEGY, C_SYMBOL, C_TF, C_ACTION,
	C_PRICE, C_TP, C_SL, C_TIME, C_NAME, C_TRADE, C_CLOSED, C_EMAIL, C_CHAT, C_PHONE,
	C_UNREACHABLE, C_ATTEMPTS, C_PUSH, C_PRIORITY, C_DEADLINE, C_ENTRY };

/* Delivery row i's texts for its channel (ac_render_signal()). 0, or -1
 * with err. */
int	render_delivery(const PGresult *res, int i, struct ac_texts *t, char *err,
	    size_t errsz);
/* Notice name's texts for channel ch with vars; an email's HTML in the
 * shared layout and its text with the footer. 0, or -1 with err. */
int	render_notice(const char *name, int ch, const struct ac_var *v, size_t n,
	    struct ac_texts *t, char *err, size_t errsz);
/* text as an email's HTML part (malloc'd). */
char	*render_text_html(const char *text);
/* An email_outbox message's parts in t (t->text and t->subject set on
 * entry, t->html NULL): the HTML its text made in the shared layout, the
 * text with the footer, as an account notice's. 0, or -1 with err (either
 * part may then be NULL). */
int	render_mail(struct ac_texts *t, char *err, size_t errsz);

/* ---- send.c --------------------------------------------------------------- */

void	send_init(const struct send_cfg *cfg);
void	send_done(void);
/* Opens a connection (TCP and TLS) to each enabled HTTP provider's API
 * with a GET of its root, kept in the sends' connection cache, so the
 * first message does not wait for a handshake. Returns the hosts that
 * answered (any status). */
int	send_connect(void);

/* Where it goes (a copy of to) and what numbers it (ns and id). */
void	item_target(struct item *it, const char *ns, long long id, long long user_id,
	    int ch, const char *to);
/* Steps it's plan to the attempt-th send (1-based): 0 with it->prov set,
 * or -1 with the result left (outbox, plan used up). */
int	item_plan(struct item *it, int attempt);
/* The result: gone; failed with reason (provider may be static only). */
void	item_gone(struct item *it);
void	item_failed(struct item *it, const char *provider, const char *reason, int blocked,
	    int sent);
void	item_retry_in(struct item *it, int64_t ms, const char *reason);
/* The result: skipped, too late to be worth sending. */
void	item_stale(struct item *it);
/* Frees it's transfer (the texts and result stay). */
void	item_reset(struct item *it);

/* NOTIFY AC_HEAD_CHANNEL for each signal of $1 (bigint[]): batch.c's. */
extern const struct ac_stmt batch_head_out;

/* fn(arg), once, when the next send_run() has its first requests out
 * (every send that could go at once has gone) or has nothing to send. */
void	send_when_out(void (*fn)(void *), void *arg);

/* Drives the items' sends until each has a result (see send.c). With db,
 * the deliveries sent are recorded as they go. */
void	send_run(struct item *items, size_t n, const volatile sig_atomic_t *stop,
	    struct ac_db *db);

/* The statement marking deliveries sent: $1 ids, $2 providers, $3
 * messages, $4 provider message ids (arrays); returns the ids updated. */
extern const struct ac_stmt st_sent_many;

/* Its four columns, a sent result at a time. */
struct sent_cols {
	struct ac_pgarray ids, prov, msg, pmid;
};

void	sent_cols_init(struct sent_cols *c);
void	sent_cols_add(struct sent_cols *c, long long id, const struct send_result *r);
void	sent_cols_vals(struct sent_cols *c, const char *vals[4]);
void	sent_cols_free(struct sent_cols *c);

/* ---- batch.c -------------------------------------------------------------- */

/* Sets up it for its job from row i of the loaded rows (-1: no row). */
typedef void (*item_setup_fn)(struct item *it, const PGresult *res, int i);

/*
 * One batch: loads the rows with load ($1: the array of the ids the jobs
 * hold, matched against the rows' first column), sets up an item per id
 * with setup, sends them all (recording sends on db when record) and
 * leaves each job's results in job->result (struct job_results).
 */
void	batch_run(struct ac_db *db, struct ac_job *const *jobs, size_t n,
	    const volatile sig_atomic_t *stop, const struct ac_stmt *load, const char *key,
	    item_setup_fn setup, int record);

/* RETRY or FAIL with a formatted reason in job->error. */
enum ac_job_outcome job_error(struct ac_job *job, enum ac_job_outcome out, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

/* Queues notice for user once per delivery (a text id), in the caller's
 * transaction (notice.c). 0, or -1 on a database error. */
int	notice_queue(struct ac_db *db, const char *notice, long long user,
	    const char *delivery);

/* Queues the next job of kind ({"<idkey>": id}), keyed by the job that
 * retries (kind:id:job), due at at_ms. 0, or -1 on a database error. */
int	retry_enqueue(struct ac_db *db, const char *kind, const char *idkey, long long id,
	    long long job, int64_t at_ms);

#endif
