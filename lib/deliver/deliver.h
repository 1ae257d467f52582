/*
 * deliver.h — job "deliver": a delivery sent through its channel's
 * providers (provider.h), concurrently, with retries, backup providers,
 * rate limits and a circuit breaker per provider.
 *
 * The runner hands a claimed batch of deliver jobs to ac_deliver_batch(),
 * outside any transaction: it loads the deliveries, renders each one's
 * message from the templates (message.h; HTML variants get every value
 * escaped), and sends them all at once through one libcurl multi handle
 * (AC_DELIVERY_CONCURRENCY in flight, AC_<PROVIDER>_CONCURRENCY per
 * provider). A job holds one delivery ({"delivery_id": N}: a retry) or many
 * ({"delivery_ids": [...]}: the fan-out writes one per 500 deliveries).
 * The deliveries that went out are marked sent while the batch goes on
 * and the rest of them in one statement at its end; every other result
 * stays on its job (job->result, a typed result in memory only) and
 * ac_deliver_job() writes it in the runner's transaction, together with
 * the job's completion. A worker killed between a send and that write
 * sends again (at-least-once): Resend and OneSignal get an idempotency key
 * derived from the delivery id and drop the repeat; Telegram, SMTP, Netgsm
 * and Twilio take no key. One killed after the write and before the job's
 * completion finds the deliveries sent, and sends nothing again.
 *
 * Retries: the delivery's n-th send is step n of its channel's plan (email:
 * Resend x3 then SMTP x3; SMS: Netgsm x3 then Twilio x3; Telegram x3;
 * push once), waiting 1 s, 2 s, 4 s ... (at most 10 s) or the provider's
 * retry-after; a retry is a new deliver job written with the attempt count
 * in the same transaction, so a crash never skips or repeats a step. A
 * permanent answer fails the delivery at once with the
 * provider's reason; Telegram's 403 also marks the user's chat
 * unreachable and queues a "telegram_blocked" notice to the user's email.
 * A channel with no provider configured uses the outbox
 * (sent, provider "outbox", the text kept in the row).
 *
 * Limits: AC_<PROVIDER>_RATE messages a second (Telegram 30 by default)
 * and, for Telegram, one message per chat every AC_TELEGRAM_CHAT_GAP_MS;
 * slots are reserved in Redis so all workers share them. The breaker
 * opens after AC_BREAKER_FAILURES consecutive transient failures and lets
 * one probe through after AC_BREAKER_COOLDOWN_MS; its state is in Redis
 * too. Without Redis both fall back to this process's own state (logged).
 */
#ifndef AC_DELIVER_H
#define AC_DELIVER_H

#include "base/config.h"
#include "work/jobs.h"

/* ---- what a subscriber reads (render.c) ------------------------------------ */

/* A signal's message: the values of its delivery, as the database writes
 * them ("" when none; owned by the caller). */
struct ac_signal_msg {
	const char	*kind;		/* "entry", "exit", "replacement" */
	const char	*strategy, *symbol, *timeframe, *action;
	const char	*price, *take_profit, *stop_loss;	/* "42800.00"; TP, SL "" */
	const char	*time;		/* in the subscriber's timezone, named */
	const char	*name;		/* the subscriber's */
	const char	*trade;		/* the number of the trade it opened, or "" */
	const char	*closed;	/* the trades it closed, a JSON array of
					 * {number, side, entry, exit, reason, pnl,
					 * pnl_percent}, or "" */
	long long	 user_id;
};

/* The texts of one message, all malloc'd (NULL: none). */
struct ac_texts {
	char	*text;		/* the SMS, the push's body, the email's text part */
	char	*html;		/* Telegram HTML or the email's HTML part */
	char	*subject;	/* the email subject or the push heading */
	char	*url;		/* the portal page the message points to */
	char	*unsubscribe;	/* a signal email's one-click unsubscribe link */
};

void	ac_texts_free(struct ac_texts *t);

/* Where messages link to: the portal at base_url (AC_BASE_URL) and the
 * unsubscribe links signed with secret (NULL or "": signal emails carry
 * none). Copied; ac_deliver_init() calls it. */
void	ac_render_links(const char *base_url, const char *secret);

/*
 * m's texts for channel ch (enum ac_channel) from the templates
 * (templates/messages/): the short line "BUY BTCUSDT 1h at 42,800 ·
 * TP 43,800 · SL 41,800", the trades closed in words, a link to the
 * portal; an SMS shortened until it is one GSM-7 segment where it can be
 * (the link dropped, then the strategy's name). 0, or -1 with err (a
 * template error).
 */
int	ac_render_signal(const struct ac_signal_msg *m, int ch, struct ac_texts *t, char *err,
	    size_t errsz);

/* Reads the templates ac_render_signal() uses, on every channel, into
 * the message cache (ac_message_preload()); how many are ready. */
int	ac_render_preload(void);

/* Reads the provider settings from cfg (which must outlive the use);
 * before this, or with no credentials, every channel uses the outbox. */
void	ac_deliver_init(const struct ac_config *cfg);

/* Readies db for deliver batches: ac_db_warm() of the statements a batch
 * runs (see ac_fanout_warm()), and the Redis connection and scripts of the
 * providers' rate limits and breakers. */
void	ac_deliver_warm(struct ac_db *db);

/* Frees what ac_deliver_init() and the sends kept (connections). */
void	ac_deliver_done(void);

/* The batch handler of kind "deliver": sends the n jobs' deliveries and
 * leaves each job's results on it (see above). */
void	ac_deliver_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
	    const volatile sig_atomic_t *stop);

/* Job "deliver", payload {"delivery_id": N} or {"delivery_ids": [N, ...]}:
 * writes the results ac_deliver_batch() left. FAIL for a missing payload,
 * or a missing delivery in a job of one (in a job of many it is logged and
 * passed over); a delivery no longer queued is left alone. */
enum ac_job_outcome ac_deliver_job(struct ac_db *db, struct ac_job *job);

/*
 * Job "notice", payload {"user_id": N, "notice": NAME}: an account email
 * (templates NAME.txt, NAME.html.txt, NAME_subject.txt) sent to the user's
 * address through the email plan, with the same limits and breakers; the
 * job's attempt is the plan's step, and a retry is the job's own. Queued
 * as "telegram_blocked" when Telegram says the user blocked the bot.
 */
void	ac_notice_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
	    const volatile sig_atomic_t *stop);
enum ac_job_outcome ac_notice_job(struct ac_db *db, struct ac_job *job);

/*
 * Job "ops_notice", payload {"admin_id": N, "notice": NAME, "channel": CH,
 * "vars": {...}}: the same, to an active operator (admin_users: email, or
 * Telegram at its telegram_chat_id) — the strategy health incidents and
 * recoveries lib/work/health.h queues. Its fn is ac_notice_job.
 */
void	ac_ops_notice_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
	    const volatile sig_atomic_t *stop);

/*
 * Job "email", payload {"email_id": N}: a message of email_outbox (queued
 * by ac_mail_queue(), mail.h) sent like a delivery: its n-th send is step n
 * of the email plan, a retry is a new email job, and the row's status,
 * provider, provider_message_id, error and attempts are written in the
 * runner's transaction. The text part is the row's body; the HTML part is
 * that text escaped, with its paragraphs, line breaks and links. Resend
 * gets an idempotency key of namespace "email" and the row's id. With no
 * email provider the row is sent by provider "outbox". A message no longer
 * queued, or gone, is left alone.
 */
void	ac_email_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
	    const volatile sig_atomic_t *stop);
enum ac_job_outcome ac_email_job(struct ac_db *db, struct ac_job *job);

#endif
