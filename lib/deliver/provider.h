/*
 * provider.h — the delivery providers' wire formats, pure: how a message
 * becomes a request for each provider (REFERENCE.md, "Delivery
 * providers"), how each provider's answer is classified (ok / retryable /
 * permanent), the SMTP transfer (a curl_mime), the circuit breaker's state
 * machine, the retry backoff and the retry plan per channel. No I/O here:
 * lib/deliver/deliver.c sends what these build, and the unit tests call them
 * directly.
 */
#ifndef AC_PROVIDER_H
#define AC_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "base/breaker.h"
#include "base/channel.h"
#include "base/err.h"

/* A provider's settings (strings owned by the caller's config). */
struct ac_prov_cfg {
	int		 enabled;	/* credentials present */
	const char	*base;		/* API base URL, or the SMTP URL */
	const char	*user;		/* token, API key, account SID, login */
	const char	*secret;	/* password or auth token (NULL if none) */
	const char	*from;		/* sender: address, msgheader, number, app id */
	int		 starttls;	/* SMTP: require STARTTLS */
	int		 paid_broadcast;	/* Telegram: allow_paid_broadcast on every message */
};

/* What one message says, rendered per channel. */
struct ac_outmsg {
	const char	*key_ns;	/* what id numbers: "delivery", "notice", "email" */
	long long	 delivery_id;
	const char	*to;		/* chat id, address, phone number, push subscription id */
	const char	*subject;	/* email subject, push heading */
	const char	*text;		/* plain text (SMS, push, email text part) */
	const char	*html;		/* Telegram HTML or the email HTML part */
	const char	*url;		/* the portal page a push opens, or NULL */
	const char	*unsubscribe;	/* email: the one-click unsubscribe link
					 * (List-Unsubscribe, RFC 8058), or NULL */
};

#define AC_REQ_HEADERS	4

/* An HTTP request to make: url, headers, body; Basic auth when user set. */
struct ac_http_req {
	char	 url[1024];
	char	 headers[AC_REQ_HEADERS][640];
	int	 nheaders;
	char	*body;		/* malloc'd; the caller frees */
	const char *basic_user;	/* HTTP Basic credentials, or NULL */
	const char *basic_pass;
};

/*
 * Builds the request that sends m through HTTP provider p (not SMTP).
 * The Idempotency-Key / idempotency_key is derived from key_ns and the
 * delivery id, so a resend of the same message is recognised by Resend
 * and OneSignal.
 * 0, or -1 with err (a value that does not fit).
 */
int	ac_prov_request(enum ac_prov p, const struct ac_prov_cfg *c, const struct ac_outmsg *m,
	    struct ac_http_req *req, char *err, size_t errsz);

/* ---- many messages in one request (each provider's bulk form) ----------- */

#define AC_ONESIGNAL_BATCH	20000	/* include_subscription_ids a notification */
#define AC_RESEND_BATCH		100	/* emails a POST /emails/batch */
#define AC_NETGSM_BATCH		500	/* {msg, no} pairs a request (our choice) */

/* The most recipients one request of p carries (1: p has no bulk form). */
size_t	ac_prov_batch_max(enum ac_prov p);

/* The recipients of a message to address to through p: for OneSignal the
 * user's devices ("id,id,..."), else 1. A batch's recipients stay within
 * ac_prov_batch_max(). */
size_t	ac_prov_recipients(enum ac_prov p, const char *to);

/* 1 if a and b may go in one request of p: OneSignal one notification
 * per distinct content (heading, text, link); Resend and Netgsm any
 * messages; never two to the same recipient. */
int	ac_prov_batchable(enum ac_prov p, const struct ac_outmsg *a, const struct ac_outmsg *b);

/*
 * Builds the one request that sends m[0..n) (n <= ac_prov_batch_max(p),
 * in the order given: the caller sorts them by delivery id, so the same
 * messages always make the same request) through p: a OneSignal
 * notification to every subscription, a Resend POST /emails/batch, a
 * Netgsm messages array. Its idempotency key is ac_prov_batch_key() of
 * the ids. n == 1 is ac_prov_request(). 0, or -1 with err.
 */
int	ac_prov_request_batch(enum ac_prov p, const struct ac_prov_cfg *c,
	    const struct ac_outmsg *m, size_t n, struct ac_http_req *req, char *err, size_t errsz);

/* The idempotency key of the batch of messages ids[0..n) (in order) in
 * namespace ns; with n == 1 the message's own ac_prov_idempotency_key(). */
void	ac_prov_batch_key(const char *ns, const long long *ids, size_t n, char *out,
	    size_t outsz);

/* The idempotency key of message id in namespace ns (a UUID derived from
 * "alertcast-<ns>-<id>") into out. */
void	ac_prov_idempotency_key(const char *ns, long long id, char *out, size_t outsz);

enum ac_verdict {
	AC_SEND_OK = 0,
	AC_SEND_RETRY,		/* transient: may be sent again */
	AC_SEND_PERMANENT,	/* the provider refused this message for good */
	AC_SEND_ACCOUNT		/* the provider refused us (credentials, quota,
				 * account, sender): not the message's fault, so
				 * the circuit opens and the backup takes it */
};

/* A classified answer. */
struct ac_answer {
	enum ac_verdict	 verdict;
	int64_t		 retry_after_ms;	/* > 0 when the provider said when */
	int		 blocked;		/* Telegram: the user blocked the bot;
						 * OneSignal: every device refused */
	char		 migrate_chat[32];	/* Telegram: the group's new chat id */
	char		 id[128];		/* provider message id when OK */
	char		 reason[256];		/* the provider's reason when not OK */
};

/*
 * Classifies an answer of provider p. transport is the libcurl result (0:
 * a response arrived) with its message in transport_err; status is the
 * HTTP status, or the last SMTP reply code; body is NUL-terminated (may be
 * NULL); retry_after is the Retry-After header (NULL if none).
 */
void	ac_prov_classify(enum ac_prov p, int transport, const char *transport_err, long status,
	    const char *body, const char *retry_after, struct ac_answer *a);

/*
 * Classifies the answer to a request of ac_prov_request_batch() into a[i]
 * for each m[i]: the whole request's verdict, except where the provider
 * answers per recipient (OneSignal's errors.invalid_player_ids or
 * errors.invalid_aliases.external_id; Resend's data[i].id and errors[]
 * with an index): those recipients fail for good with the reason, the
 * others are sent.
 */
void	ac_prov_classify_batch(enum ac_prov p, int transport, const char *transport_err,
	    long status, const char *body, const char *retry_after, const struct ac_outmsg *m,
	    size_t n, struct ac_answer *a);

/* What an SMTP transfer holds until it ends (see ac_prov_smtp). */
struct ac_smtp {
	curl_mime		*mime;
	struct curl_slist	*headers, *rcpt;
};

/*
 * Sets up easy to send m by SMTP server c (the URL, STARTTLS, login):
 * the envelope (CURLOPT_MAIL_FROM, CURLOPT_MAIL_RCPT), the headers From,
 * To, Subject (RFC 2047 encoded when not ASCII), Date (date_s seconds
 * since the epoch) and Message-ID, and the body as a libcurl mime
 * (CURLOPT_MIMEPOST): multipart/alternative with m's text and HTML parts,
 * UTF-8, quoted-printable. The one part of this file that touches a curl
 * handle, since curl_mime needs one. What it allocates is in *t, for
 * ac_smtp_free() once the transfer is over.
 * 0, or -1 with e: an address or the id holds CR or LF (or the id <>).
 */
int	ac_prov_smtp(CURL *easy, const struct ac_prov_cfg *c, const struct ac_outmsg *m,
	    const char *message_id, int64_t date_s, struct ac_smtp *t, struct ac_err *e);
void	ac_smtp_free(struct ac_smtp *t);

/* ---- SMS length ----------------------------------------------------------- */

#define AC_SMS_GSM7_MAX	160	/* septets in one GSM-7 segment */

/* The GSM-7 septets s (UTF-8) takes: a character of the basic table
 * counts 1, one of the extension table (^ { } \\ [ ~ ] | and the euro
 * sign) 2. -1 if s holds a character GSM-7 has not (then the SMS goes as
 * UCS-2) or is not UTF-8. Pure. */
int	ac_gsm7_septets(const char *s);

/* The segments an SMS of s takes: GSM-7 160 septets in one, 153 a part
 * when concatenated; UCS-2 70 characters in one, 67 a part. */
int	ac_sms_segments(const char *s);

/* ---- retries ------------------------------------------------------------- */

/* The wait after the n-th failed attempt on a provider: 1 s, 2 s, 4 s, ...
 * capped at 10 s. */
int64_t	ac_delivery_backoff_ms(int n);

#define AC_RETRY_PLAN_MAX	2

/* A channel's providers in order (primary, then backup) and the attempts
 * each gets. */
struct ac_retry_plan {
	enum ac_prov	prov[AC_RETRY_PLAN_MAX];
	int		tries[AC_RETRY_PLAN_MAX];
	int		n;		/* 0: no provider configured: the outbox */
};

/* The plan of channel ("email" "telegram" "sms" "push") given which
 * providers are enabled (bits 1u << enum ac_prov). Email: Resend x3 then
 * SMTP x3; SMS: Netgsm x3 then Twilio x3; Telegram x3; push x1. */
void	ac_retry_plan_for(const char *channel, unsigned enabled, struct ac_retry_plan *p);

/* Which step of plan attempt (1-based, counting every attempt so far)
 * falls on: *step is the index in prov[], *nth the attempt on that
 * provider (1-based). 0, or -1 when the plan is used up. */
int	ac_retry_plan_step(const struct ac_retry_plan *p, int attempt, int *step, int *nth);

#endif
