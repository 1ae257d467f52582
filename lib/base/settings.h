/*
 * settings.h — every AC_* setting, declared once: its name, type, default,
 * bounds, one line of documentation and the programs that read it. The
 * table (ac_settings[]) is the only place a setting is described;
 * ac_config_load() checks every value against it once at start and the
 * typed getters of config.h read the checked values by id. acctl config
 * prints the effective settings from it and the README's configuration
 * section is generated from it (acctl config --markdown).
 */
#ifndef AC_SETTINGS_H
#define AC_SETTINGS_H

#include <stddef.h>

#include "base/buf.h"

enum ac_setting_type {
	AC_ST_INT,	/* a number */
	AC_ST_MS,	/* milliseconds */
	AC_ST_SECONDS,	/* seconds */
	AC_ST_BOOL,	/* 0 or 1 */
	AC_ST_STRING,
	AC_ST_PATH,	/* a file or folder */
	AC_ST_URL,	/* a password in it is never printed */
	AC_ST_SECRET,	/* never printed */
	AC_ST_ENUM	/* one of the words of .words */
};

/* The programs that read a setting (a mask). */
#define AC_PROG_HOOK	0x01u	/* ac-hook */
#define AC_PROG_API	0x02u	/* ac-api */
#define AC_PROG_PORTAL	0x04u	/* ac-portal */
#define AC_PROG_WORKER	0x08u	/* ac-worker */
#define AC_PROG_ACCTL	0x10u	/* acctl */
#define AC_PROG_ADMIN	0x20u	/* ac-admin */
#define AC_PROG_ALL	0x3fu

enum ac_setting {
	AC_S_CONFIG,
	AC_S_DATABASE_URL,
	AC_S_REDIS_URL,
	AC_S_STATE_DIR,
	AC_S_SQL_DIR,
	AC_S_BACKUP_DIR,
	AC_S_BACKUP_KEEP,
	AC_S_PG_BINDIR,
	AC_S_BASE_URL,
	AC_S_UNSUBSCRIBE_SECRET,
	AC_S_LOG_LEVEL,
	AC_S_TEMPLATE_DIR,
	AC_S_DB_CONNECT_TIMEOUT,
	AC_S_REDIS_TIMEOUT_MS,
	/* ac-hook */
	AC_S_HOOK_BODY_MAX,
	AC_S_HOOK_STATEMENT_TIMEOUT_MS,
	AC_S_HOOK_THREADS,
	AC_S_INGEST_COMMITTERS,
	AC_S_INGEST_BATCH_MAX,
	AC_S_STRATEGY_CACHE_MS,
	AC_S_NOTIFY_COALESCE_MS,
	AC_S_TELEGRAM_WEBHOOK_SECRET,
	/* ac-portal and ac-api */
	AC_S_SESSION_IDLE_SECONDS,
	AC_S_SESSION_MAX_SECONDS,
	AC_S_LOCK_AFTER,
	AC_S_LOCK_SECONDS,
	AC_S_LOGIN_WINDOW_SECONDS,
	AC_S_LOGIN_IP_MAX,
	AC_S_LOGIN_ACCOUNT_MAX,
	AC_S_RESET_SECONDS,
	AC_S_RESET_PER_HOUR,
	AC_S_CONFIRM_SECONDS,
	AC_S_ADDRESS_MAILS_PER_HOUR,
	AC_S_PORTAL_TEMPLATE_DIR,
	AC_S_PORTAL_STATEMENT_TIMEOUT_MS,
	AC_S_ADMIN_TEMPLATE_DIR,
	AC_S_ADMIN_STATEMENT_TIMEOUT_MS,
	AC_S_TELEGRAM_BOT_USERNAME,
	AC_S_JWT_SECRET,
	AC_S_API_TOKEN_SECONDS,
	AC_S_API_PER_MINUTE,
	AC_S_API_BAD_TOKEN_MAX,
	AC_S_API_STATEMENT_TIMEOUT_MS,
	/* billing (lib/billing) */
	AC_S_STRIPE_SECRET_KEY,
	AC_S_STRIPE_WEBHOOK_SECRET,
	AC_S_STRIPE_API_BASE,
	AC_S_STRIPE_TIMEOUT_MS,
	AC_S_UPI_VPA,
	AC_S_UPI_PAYEE_NAME,
	AC_S_BANK_DETAILS,
	AC_S_PROOF_MAX_BYTES,
	AC_S_RENEWAL_REMINDER_DAYS,
	AC_S_PAST_DUE_GRACE_DAYS,
	/* ac-worker */
	AC_S_WORKER_STATEMENT_TIMEOUT_MS,
	AC_S_WORKER_IDLE_WAIT_MS,
	AC_S_JOBS_KEEP_DAYS,
	AC_S_FANOUT_PARTS,
	AC_S_FANOUT_SPLIT_MIN,
	AC_S_FANOUT_HEAD,
	AC_S_FANOUT_HEAD_LEAD_MS,
	AC_S_FANOUT_PART_COMMITS,
	AC_S_HEALTH_CHECK,
	/* ac-worker: delivery (lib/deliver) */
	AC_S_DELIVERY_CONCURRENCY,
	AC_S_DELIVERY_TIMEOUT_MS,
	AC_S_DELIVERY_HORIZON_MS,
	AC_S_BREAKER_FAILURES,
	AC_S_BREAKER_COOLDOWN_MS,
	AC_S_TELEGRAM_BOT_TOKEN,
	AC_S_TELEGRAM_API_BASE,
	AC_S_TELEGRAM_CHAT_GAP_MS,
	AC_S_TELEGRAM_PAID_BROADCAST,
	AC_S_TELEGRAM_CONCURRENCY,
	AC_S_TELEGRAM_RATE,
	AC_S_EMAIL_FROM,
	AC_S_RESEND_API_KEY,
	AC_S_RESEND_API_BASE,
	AC_S_RESEND_CONCURRENCY,
	AC_S_RESEND_RATE,
	AC_S_SMTP_URL,
	AC_S_SMTP_USER,
	AC_S_SMTP_PASSWORD,
	AC_S_SMTP_STARTTLS,
	AC_S_SMTP_CONCURRENCY,
	AC_S_SMTP_RATE,
	AC_S_NETGSM_USER,
	AC_S_NETGSM_PASSWORD,
	AC_S_NETGSM_HEADER,
	AC_S_NETGSM_API_BASE,
	AC_S_NETGSM_CONCURRENCY,
	AC_S_NETGSM_RATE,
	AC_S_TWILIO_ACCOUNT_SID,
	AC_S_TWILIO_AUTH_TOKEN,
	AC_S_TWILIO_FROM,
	AC_S_TWILIO_MESSAGING_SERVICE_SID,
	AC_S_TWILIO_API_BASE,
	AC_S_TWILIO_CONCURRENCY,
	AC_S_TWILIO_RATE,
	AC_S_ONESIGNAL_API_KEY,
	AC_S_ONESIGNAL_APP_ID,
	AC_S_ONESIGNAL_API_BASE,
	AC_S_ONESIGNAL_CONCURRENCY,
	AC_S_ONESIGNAL_RATE,
	AC_S__MAX
};

struct ac_setting_def {
	const char		*name;	/* the variable, AC_... */
	enum ac_setting_type	 type;
	const char		*def;	/* the default as text; NULL: unset */
	long long		 min, max;	/* numbers: the bounds */
	const char		*words;	/* AC_ST_ENUM: "a|b|c" */
	unsigned		 progs;	/* AC_PROG_* */
	const char		*doc;	/* one line */
	const char		*docdef;	/* the default as documented, when the
					 * build decides it (NULL: def) */
};

extern const struct ac_setting_def ac_settings[AC_S__MAX];

/* The id of the setting called name, or -1. */
int		 ac_setting_find(const char *name);

/* 1 for the types read with ac_setting_int() (numbers and bools). */
int		 ac_setting_is_number(enum ac_setting id);

/* Checks value against the setting's type and bounds: 0, or -1 with
 * "NAME=VALUE: why" in err (a secret's value is not repeated). On success
 * *num is the number (numbers, bools, enums: the word's index). */
int		 ac_setting_check(enum ac_setting id, const char *value, long long *num,
		    char *err, size_t errsz);

/* value as it may be printed: secrets as "(redacted)", a password in a
 * URL or conninfo as "***"; out (size outsz) is returned. */
const char	*ac_setting_redact(enum ac_setting id, const char *value, char *out,
		    size_t outsz);

/* The README's configuration section (a Markdown table), appended to b. */
void		 ac_settings_markdown(struct ac_buf *b);

#endif
