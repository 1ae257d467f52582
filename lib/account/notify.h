/*
 * notify.h — an account notice to a user (a payment failed, a renewal is
 * due, a payment was approved) by each channel the user chose: one
 * "notice" job per channel, queued in the caller's transaction, each
 * keyed by notice, key and channel so that telling twice queues nothing.
 * The worker renders templates/messages/<notice>.* and sends them
 * (lib/deliver/notice.c).
 */
#ifndef AC_NOTIFY_H
#define AC_NOTIFY_H

#include <jansson.h>

#include "base/db.h"

/*
 * Queues notice for user_id on every channel the user wants and can be
 * reached on (email when none is), with vars (an object of strings the
 * templates show; may be NULL; not stolen). key names the occasion
 * (an invoice and attempt, a subscription and period). Returns the jobs
 * queued (0: told before), or -1 on a database error.
 */
int	ac_notify_user(struct ac_db *db, long long user_id, const char *notice, const char *key,
	    json_t *vars);

/*
 * The token of a signal email's unsubscribe link for user_id: the hex
 * HMAC-SHA256 of "unsubscribe:<user_id>" under secret (AC_UNSUBSCRIBE_SECRET,
 * which the worker that writes the link and the portal that reads it
 * share), into out. The link needs no login and never expires.
 */
void	ac_unsubscribe_token(const char *secret, long long user_id, char out[65]);

/* 1 if token is user_id's under secret (compared in constant time), else 0;
 * 0 as well when secret is unset or empty. */
int	ac_unsubscribe_ok(const char *secret, long long user_id, const char *token);

/* Stops signal emails to user_id (users.notify_email false). 1 if the user
 * exists, 0 if not, -1 on a database error. */
int	ac_unsubscribe_email(struct ac_db *db, long long user_id);

#endif
