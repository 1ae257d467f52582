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

#endif
