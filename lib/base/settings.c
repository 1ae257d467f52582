/* settings.c — see settings.h. The table below is the whole list. */
#include <stdio.h>
#include <string.h>

#include "base/settings.h"
#include "base/util.h"

#ifndef AC_SQL_DIR
#define AC_SQL_DIR "/usr/local/share/alertcast/sql"
#endif
#ifndef AC_STATE_DIR
#define AC_STATE_DIR "/var/lib/alertcast"
#endif
#ifndef AC_TEMPLATE_DIR
#define AC_TEMPLATE_DIR "/usr/local/share/alertcast/templates"
#endif

#define H	AC_PROG_HOOK
#define A	AC_PROG_API
#define P	AC_PROG_PORTAL
#define W	AC_PROG_WORKER
#define C	AC_PROG_ACCTL
#define D	AC_PROG_ADMIN

/* A number: type, default, bounds. */
#define NUM(n, t, d, lo, hi, progs, doc) \
	[AC_S_##n] = { "AC_" #n, t, #d, lo, hi, NULL, progs, doc, NULL }
/* Text: type, default (NULL: unset). */
#define TXT(n, t, d, progs, doc) \
	[AC_S_##n] = { "AC_" #n, t, d, 0, 0, NULL, progs, doc, NULL }
/* A folder the build places (shown as configure names it). */
#define DIR(n, d, shown, progs, doc) \
	[AC_S_##n] = { "AC_" #n, AC_ST_PATH, d, 0, 0, NULL, progs, doc, shown }
/* A provider's concurrency and rate (lib/deliver). */
#define PROV(n, conc, rate) \
	NUM(n##_CONCURRENCY, AC_ST_INT, conc, 1, 10000, W, \
	    "most " #n " requests in flight at once"), \
	NUM(n##_RATE, AC_ST_INT, rate, 0, 100000, W, \
	    #n " requests a second across workers (0: no limit)")

const struct ac_setting_def ac_settings[AC_S__MAX] = {
	TXT(CONFIG, AC_ST_PATH, NULL, AC_PROG_ALL,
	    "a KEY=VALUE file read first (or --config FILE); the environment wins over it"),
	TXT(DATABASE_URL, AC_ST_URL, "dbname=alertcast", AC_PROG_ALL,
	    "PostgreSQL: a libpq conninfo or URI"),
	TXT(REDIS_URL, AC_ST_URL, "redis://127.0.0.1:6379", H | A | P | W | D,
	    "Redis: redis://host:port[/db]"),
	DIR(STATE_DIR, AC_STATE_DIR, "$(localstatedir)/lib/alertcast", H | A | P | C | D,
	    "local state: the spool, the generated JWT key, payment proofs (proofs/)"),
	DIR(SQL_DIR, AC_SQL_DIR, "$(pkgdatadir)/sql", C, "the migrations acctl migrate applies"),
	TXT(BACKUP_DIR, AC_ST_PATH, "/var/backups/alertcast", C,
	    "where acctl backup writes its sets (alertcast-YYYYMMDDTHHMMSSZ.tar) unless --dir"),
	NUM(BACKUP_KEEP, AC_ST_INT, 14, 1, 10000, C,
	    "backup sets acctl backup keeps in that folder (the newest; unless --keep)"),
	TXT(PG_BINDIR, AC_ST_PATH, NULL, C,
	    "the folder of pg_dump and pg_restore, of the server's major version"
	    " (/usr/lib/postgresql/15/bin; unset: $PATH)"),
	TXT(BASE_URL, AC_ST_URL, "http://127.0.0.1:8080", P | W | C | D,
	    "how the world reaches nginx (links, webhook URLs, the portal's origin)"),
	TXT(UNSUBSCRIBE_SECRET, AC_ST_SECRET, NULL, P | W,
	    "signs the unsubscribe links of signal emails (unset: the emails carry none)"),
	[AC_S_LOG_LEVEL] = { "AC_LOG_LEVEL", AC_ST_ENUM, "info", 0, 0, "debug|info|warn|error",
	    AC_PROG_ALL, "the least severe level logged (acctl: warn when unset)", NULL },
	DIR(TEMPLATE_DIR, AC_TEMPLATE_DIR, "$(pkgdatadir)/templates", W, "the message templates"),
	NUM(DB_CONNECT_TIMEOUT, AC_ST_SECONDS, 2, 1, 60, H | A | P | D,
	    "how long the responders wait for a PostgreSQL connection"),
	NUM(REDIS_TIMEOUT_MS, AC_ST_MS, 200, 10, 5000, A | P,
	    "how long a rate-limit call waits for Redis (then it fails open)"),

	NUM(HOOK_BODY_MAX, AC_ST_INT, 65536, 1024, 1 << 24, H, "the largest alert body, in bytes"),
	NUM(HOOK_STATEMENT_TIMEOUT_MS, AC_ST_MS, 1500, 100, 60000, H,
	    "ac-hook's statement timeout (then the alert is spooled)"),
	NUM(HOOK_THREADS, AC_ST_INT, 32, 1, 1024, H, "threads per ac-hook process"),
	NUM(INGEST_COMMITTERS, AC_ST_INT, 1, 1, 16, H,
	    "committer threads per ac-hook process (with more than one thread)"),
	NUM(INGEST_BATCH_MAX, AC_ST_INT, 256, 1, 4096, H, "most alerts in one group commit"),
	NUM(STRATEGY_CACHE_MS, AC_ST_MS, 1000, 0, 60000, H | D,
	    "how long a responder keeps a strategy it looked up (the admin panel tells"
	    " how long a rotated webhook token still works)"),
	NUM(NOTIFY_COALESCE_MS, AC_ST_MS, 20, 0, 1000, H,
	    "how long ingest gathers NOTIFYs to the worker into one"),
	TXT(TELEGRAM_WEBHOOK_SECRET, AC_ST_SECRET, NULL, H | C,
	    "the secret token Telegram sends to /hook/telegram (unset: no webhook)"),

	NUM(SESSION_IDLE_SECONDS, AC_ST_SECONDS, 1800, 60, 86400 * 30, A | P | D,
	    "a portal session ends after this long unused"),
	NUM(SESSION_MAX_SECONDS, AC_ST_SECONDS, 43200, 60, 86400 * 90, A | P | D,
	    "a portal session ends this long after login"),
	NUM(LOCK_AFTER, AC_ST_INT, 5, 1, 1000, A | P | D,
	    "failed logins of an account from one address that lock it for that address only"),
	NUM(LOCK_SECONDS, AC_ST_SECONDS, 900, 1, 86400, A | P | D, "how long such a lock lasts"),
	NUM(LOGIN_WINDOW_SECONDS, AC_ST_SECONDS, 900, 1, 86400, A | P,
	    "the window the login failure counts cover"),
	NUM(LOGIN_IP_MAX, AC_ST_INT, 50, 1, 1000000, A | P,
	    "login failures from an address in the window, then it is refused"),
	NUM(LOGIN_ACCOUNT_MAX, AC_ST_INT, 10, 1, 1000000, A | P,
	    "failures of an account from anywhere: then each address that failed is refused,"
	    " a new one gets a single guess, the owner's own address still logs in"),
	NUM(RESET_SECONDS, AC_ST_SECONDS, 3600, 60, 86400 * 7, A | P,
	    "how long a password reset link lives"),
	NUM(RESET_PER_HOUR, AC_ST_INT, 3, 1, 100, A | P, "reset mails an account an hour"),
	NUM(CONFIRM_SECONDS, AC_ST_SECONDS, 86400, 3600, 86400 * 7, A | P,
	    "how long the links that confirm a sign-up or a new email live"),
	NUM(ADDRESS_MAILS_PER_HOUR, AC_ST_INT, 3, 1, 100, A | P,
	    "confirmation mails (or notices to an owner) an address an hour"),
	DIR(PORTAL_TEMPLATE_DIR, AC_TEMPLATE_DIR "/portal", "$(pkgdatadir)/templates/portal", P,
	    "the portal's HTML templates"),
	NUM(PORTAL_STATEMENT_TIMEOUT_MS, AC_ST_MS, 5000, 100, 60000, P,
	    "ac-portal's statement timeout"),
	DIR(ADMIN_TEMPLATE_DIR, AC_TEMPLATE_DIR "/admin", "$(pkgdatadir)/templates/admin", D,
	    "the admin panel's HTML templates"),
	NUM(ADMIN_STATEMENT_TIMEOUT_MS, AC_ST_MS, 15000, 100, 120000, D,
	    "ac-admin's statement timeout (its health and history pages read much)"),
	TXT(TELEGRAM_BOT_USERNAME, AC_ST_STRING, NULL, P | C,
	    "the bot's username, for the deep link that links a chat"),
	TXT(JWT_SECRET, AC_ST_SECRET, NULL, A,
	    "the API's signing key (unset: $AC_STATE_DIR/jwt.key is made)"),
	NUM(API_TOKEN_SECONDS, AC_ST_SECONDS, 900, 60, 86400, A, "how long an API token lives"),
	NUM(API_PER_MINUTE, AC_ST_INT, 100, 1, 1000000, A, "API requests a minute a user"),
	NUM(API_BAD_TOKEN_MAX, AC_ST_INT, 20, 1, 1000000, A,
	    "refused bearer tokens a minute from an address, then 429"),
	NUM(API_STATEMENT_TIMEOUT_MS, AC_ST_MS, 5000, 100, 60000, A, "ac-api's statement timeout"),

	TXT(STRIPE_SECRET_KEY, AC_ST_SECRET, NULL, A | P | C,
	    "Stripe's secret API key, sk_... (unset: no card payments)"),
	TXT(STRIPE_WEBHOOK_SECRET, AC_ST_SECRET, NULL, H | C,
	    "the whsec_... secret Stripe signs /hook/stripe events with (unset: refused)"),
	TXT(STRIPE_API_BASE, AC_ST_URL, "https://api.stripe.com", A | P | C, "the Stripe API"),
	NUM(STRIPE_TIMEOUT_MS, AC_ST_MS, 4000, 200, 30000, A | P,
	    "how long a checkout waits for Stripe while the subscriber waits"),
	TXT(UPI_VPA, AC_ST_STRING, NULL, A | P,
	    "the UPI address payments go to, name@bank (unset: no UPI)"),
	TXT(UPI_PAYEE_NAME, AC_ST_STRING, "alertcast", A | P, "the payee name UPI apps show"),
	TXT(BANK_DETAILS, AC_ST_STRING, NULL, A | P,
	    "bank transfer details shown on the payment page (unset: none)"),
	NUM(PROOF_MAX_BYTES, AC_ST_INT, 5242880, 1024, 20971520, P,
	    "the largest payment proof upload, in bytes"),
	NUM(RENEWAL_REMINDER_DAYS, AC_ST_INT, 3, 0, 60, W | C,
	    "days before a subscription ends that its renewal reminder goes out"),
	NUM(PAST_DUE_GRACE_DAYS, AC_ST_INT, 7, 0, 3650, W | C,
	    "days a Stripe subscription keeps access after a failed or missing renewal"),

	NUM(WORKER_STATEMENT_TIMEOUT_MS, AC_ST_MS, 300000, 0, 3600000, W,
	    "ac-worker's statement timeout (0: none)"),
	NUM(WORKER_IDLE_WAIT_MS, AC_ST_MS, 1000, 10, 600000, W,
	    "how long an idle ac-worker waits for a job's notification before it looks "
	    "for due jobs again (a notification wakes it at once)"),
	NUM(JOBS_KEEP_DAYS, AC_ST_INT, 7, 1, 3650, W,
	    "days done jobs are kept, then pruned with expired sessions and codes"),
	NUM(FANOUT_PARTS, AC_ST_INT, 2, 1, 8, W, "the parts a large fan-out runs in at once"),
	NUM(FANOUT_SPLIT_MIN, AC_ST_INT, 1000, 1, 1 << 30, W,
	    "a fan-out over this many alarms runs in parts"),
	NUM(FANOUT_HEAD, AC_ST_INT, 25, 0, 100000, W,
	    "a fan-out in parts first serves this many subscribers (priority plans first) "
	    "and commits, so their messages leave while the rest fan out (0: no head)"),
	NUM(FANOUT_HEAD_LEAD_MS, AC_ST_MS, 30, 0, 1000, W,
	    "after the head commits, the parts wait until the worker sending its messages "
	    "says the first are out, this long at most (a third of it when no worker takes "
	    "them), so the parts do not take the cores from them (0: no wait, for hosts with "
	    "cores to spare)"),
	NUM(FANOUT_PART_COMMITS, AC_ST_INT, 4, 1, 64, W,
	    "each part of a fan-out writes its subscribers in this many transactions, one "
	    "after the other (the first and the last half the size of the others), so the "
	    "first ones' messages leave while it serves the rest"),
	NUM(HEALTH_CHECK, AC_ST_BOOL, 1, 0, 1, W,
	    "1: the minute sweep judges each strategy's heartbeats and alerts and tells "
	    "the operators of incidents"),

	NUM(DELIVERY_CONCURRENCY, AC_ST_INT, 200, 1, 10000, W,
	    "most deliveries in flight at once, all providers"),
	NUM(DELIVERY_TIMEOUT_MS, AC_ST_MS, 10000, 100, 300000, W, "a provider request's timeout"),
	NUM(DELIVERY_HORIZON_MS, AC_ST_MS, 10000, 100, 600000, W,
	    "a rate slot further away than this: the delivery is retried later"),
	NUM(BREAKER_FAILURES, AC_ST_INT, 5, 1, 1000, W,
	    "failures in a row that open a provider's breaker"),
	NUM(BREAKER_COOLDOWN_MS, AC_ST_MS, 30000, 100, 3600000, W,
	    "how long an open breaker waits before a trial request"),
	TXT(TELEGRAM_BOT_TOKEN, AC_ST_SECRET, NULL, W | C,
	    "the Telegram bot's token (unset: telegram goes to the outbox)"),
	TXT(TELEGRAM_API_BASE, AC_ST_URL, "https://api.telegram.org", W | C,
	    "the Telegram Bot API"),
	NUM(TELEGRAM_CHAT_GAP_MS, AC_ST_MS, 1000, 0, 60000, W,
	    "the least time between two messages to one chat"),
	NUM(TELEGRAM_PAID_BROADCAST, AC_ST_BOOL, 0, 0, 1, W,
	    "1: Bot API paid broadcast (allow_paid_broadcast, charged in Stars a message):"
	    " up to 1000 messages/s instead of AC_TELEGRAM_RATE"),
	PROV(TELEGRAM, 30, 30),
	TXT(EMAIL_FROM, AC_ST_STRING, NULL, W, "the sender of mail (Resend and SMTP)"),
	TXT(RESEND_API_KEY, AC_ST_SECRET, NULL, W,
	    "Resend's API key (unset: email by SMTP, else the outbox)"),
	TXT(RESEND_API_BASE, AC_ST_URL, "https://api.resend.com", W, "the Resend API"),
	PROV(RESEND, 10, 5),
	TXT(SMTP_URL, AC_ST_URL, NULL, W, "the SMTP server: smtp[s]://host[:port]"),
	TXT(SMTP_USER, AC_ST_STRING, NULL, W, "the SMTP login"),
	TXT(SMTP_PASSWORD, AC_ST_SECRET, NULL, W, "the SMTP password"),
	NUM(SMTP_STARTTLS, AC_ST_BOOL, 0, 0, 1, W, "1: STARTTLS on a plain smtp:// connection"),
	PROV(SMTP, 10, 0),
	TXT(NETGSM_USER, AC_ST_STRING, NULL, W, "the NetGSM login (SMS)"),
	TXT(NETGSM_PASSWORD, AC_ST_SECRET, NULL, W, "the NetGSM password"),
	TXT(NETGSM_HEADER, AC_ST_STRING, NULL, W, "the NetGSM sender header"),
	TXT(NETGSM_API_BASE, AC_ST_URL, "https://api.netgsm.com.tr", W, "the NetGSM API"),
	PROV(NETGSM, 20, 0),
	TXT(TWILIO_ACCOUNT_SID, AC_ST_STRING, NULL, W, "the Twilio account (SMS)"),
	TXT(TWILIO_AUTH_TOKEN, AC_ST_SECRET, NULL, W, "the Twilio auth token"),
	TXT(TWILIO_FROM, AC_ST_STRING, NULL, W, "the Twilio sender number"),
	TXT(TWILIO_MESSAGING_SERVICE_SID, AC_ST_STRING, NULL, W,
	    "a Twilio Messaging Service (MG...): SMS go through it (MessagingServiceSid),"
	    " not from AC_TWILIO_FROM"),
	TXT(TWILIO_API_BASE, AC_ST_URL, "https://api.twilio.com", W, "the Twilio API"),
	PROV(TWILIO, 20, 0),
	TXT(ONESIGNAL_API_KEY, AC_ST_SECRET, NULL, W, "the OneSignal REST API key (push)"),
	TXT(ONESIGNAL_APP_ID, AC_ST_STRING, NULL, P | W,
	    "the OneSignal app (unset: the portal offers no push on a device)"),
	TXT(ONESIGNAL_API_BASE, AC_ST_URL, "https://api.onesignal.com", W, "the OneSignal API"),
	PROV(ONESIGNAL, 100, 0),
};

static const char *const type_names[] = {
	[AC_ST_INT] = "int", [AC_ST_MS] = "ms", [AC_ST_SECONDS] = "seconds",
	[AC_ST_BOOL] = "bool", [AC_ST_STRING] = "string", [AC_ST_PATH] = "path",
	[AC_ST_URL] = "url", [AC_ST_SECRET] = "secret", [AC_ST_ENUM] = "enum",
};

static int
is_number(enum ac_setting_type t)
{
	return t == AC_ST_INT || t == AC_ST_MS || t == AC_ST_SECONDS || t == AC_ST_BOOL;
}

int
ac_setting_is_number(enum ac_setting id)
{
	return is_number(ac_settings[id].type);
}

int
ac_setting_find(const char *name)
{
	for (int i = 0; i < AC_S__MAX; i++)
		if (strcmp(ac_settings[i].name, name) == 0)
			return i;
	return -1;
}

/* The index of word in "a|b|c", or -1. */
static int
word_index(const char *words, const char *word)
{
	size_t n = strlen(word);
	int i = 0;

	for (const char *p = words; ; i++) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return i;
		if (bar == NULL)
			return -1;
		p = bar + 1;
	}
}

int
ac_setting_check(enum ac_setting id, const char *value, long long *num, char *err,
    size_t errsz)
{
	const struct ac_setting_def *d = &ac_settings[id];
	const char *errstr, *shown = d->type == AC_ST_SECRET ? "(redacted)" : value;
	int w;

	*num = 0;
	if (value == NULL)
		return 0;
	if (is_number(d->type)) {
		*num = ac_strtonum(value, d->min, d->max, &errstr);
		if (errstr != NULL) {
			snprintf(err, errsz, "%s=%s: %s (%lld to %lld)", d->name, shown, errstr,
			    d->min, d->max);
			return -1;
		}
	} else if (d->type == AC_ST_ENUM) {
		if ((w = word_index(d->words, value)) == -1) {
			snprintf(err, errsz, "%s=%s: not one of %s", d->name, shown, d->words);
			return -1;
		}
		*num = w;
	}
	return 0;
}

const char *
ac_setting_redact(enum ac_setting id, const char *value, char *out, size_t outsz)
{
	const char *at, *colon, *scheme, *pw;
	size_t end;

	if (value == NULL)
		return NULL;
	if (ac_settings[id].type == AC_ST_SECRET)
		return "(redacted)";
	snprintf(out, outsz, "%s", value);
	if (ac_settings[id].type != AC_ST_URL)
		return out;
	/* scheme://user:PASSWORD@host */
	if (strlen(out) + 4 > outsz)
		return "(redacted)";
	if ((scheme = strstr(out, "://")) != NULL && (at = strchr(scheme + 3, '@')) != NULL &&
	    (colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3))) != NULL) {
		memmove((char *)colon + 4, at, strlen(at) + 1);
		memcpy((char *)colon + 1, "***", 3);
	}
	/* conninfo password=PASSWORD (or in a URI's query) */
	if (strlen(out) + 4 <= outsz && (pw = strstr(out, "password=")) != NULL) {
		pw += strlen("password=");
		end = strcspn(pw, " &");
		memmove((char *)pw + 3, pw + end, strlen(pw + end) + 1);
		memcpy((char *)pw, "***", 3);
	}
	return out;
}

void
ac_settings_markdown(struct ac_buf *b)
{
	static const struct { unsigned bit; const char *name; } progs[] = {
		{ AC_PROG_HOOK, "hook" }, { AC_PROG_API, "api" }, { AC_PROG_PORTAL, "portal" },
		{ AC_PROG_WORKER, "worker" }, { AC_PROG_ACCTL, "acctl" }, { AC_PROG_ADMIN, "admin" },
	};

	ac_buf_puts(b, "| Setting | Type | Default | Range | Read by | Meaning |\n"
	    "|---|---|---|---|---|---|\n");
	for (int i = 0; i < AC_S__MAX; i++) {
		const struct ac_setting_def *d = &ac_settings[i];
		const char *sep = "", *def = d->docdef ? d->docdef : d->def;

		ac_buf_printf(b, "| `%s` | %s | %s%s%s | ", d->name, type_names[d->type],
		    def ? "`" : "", def ? def : "", def ? "`" : "");
		if (is_number(d->type))
			ac_buf_printf(b, "%lld–%lld", d->min, d->max);
		else if (d->type == AC_ST_ENUM)
			for (const char *w = d->words; *w; w++)	/* '|' would end the cell */
				ac_buf_puts(b, *w == '|' ? ", " : (char[2]){ *w, '\0' });
		ac_buf_puts(b, " | ");
		if (d->progs == AC_PROG_ALL)
			ac_buf_puts(b, "all");
		else
			for (size_t k = 0; k < sizeof(progs) / sizeof(progs[0]); k++)
				if (d->progs & progs[k].bit) {
					ac_buf_printf(b, "%s%s", sep, progs[k].name);
					sep = ", ";
				}
		ac_buf_printf(b, " | %s |\n", d->doc);
	}
}
