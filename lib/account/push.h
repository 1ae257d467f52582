/*
 * push.h — linking a browser to the account for push notifications.
 *
 * The portal's account page runs OneSignal's web SDK (www/js/push.js):
 * it logs the device in with the user's id as OneSignal's external id,
 * asks the browser's permission, and posts the device's push subscription
 * id here, which is stored as users.push_player_id. Push deliveries go to
 * that one subscription (lib/deliver/provider.c, include_subscription_ids);
 * a push alarm reaches the user only while one is linked (lib/work/fanout.c).
 */
#ifndef AC_PUSH_H
#define AC_PUSH_H

#include "base/db.h"

/* 1 if s is a OneSignal subscription id: a UUID, 8-4-4-4-12 hex digits
 * (either case), nothing around it; else 0. */
int	ac_push_id_ok(const char *s);

/* Stores id (already checked with ac_push_id_ok) as the user's device:
 * 0, or -1 on a database error. A device linked before is replaced. */
int	ac_push_link(struct ac_db *db, long long user_id, const char *id);

/* Forgets the user's device: 1, 0 when none was linked, -1 on a database error. */
int	ac_push_unlink(struct ac_db *db, long long user_id);

#endif
