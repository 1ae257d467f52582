/*
 * mail.h — account emails (password reset, ...): queued in email_outbox
 * with an "email" job in the caller's transaction, sent by the worker
 * through the email channel's providers (deliver.h, ac_email_job). With
 * no email provider configured the job marks the message sent by provider
 * "outbox"; either way the message stays on its row.
 */
#ifndef AC_MAIL_H
#define AC_MAIL_H

#include "base/db.h"

/* Queues a message to user_id (0: none) at to. The new id, or -1. */
long long	ac_mail_queue(struct ac_db *db, long long user_id, const char *kind,
		    const char *to, const char *subject, const char *body);

#endif
