/*
 * push.h — linking browsers to the account for push notifications.
 *
 * The portal's account page runs OneSignal's web SDK (www/js/push.js):
 * it logs the device in with the user's id as OneSignal's external id,
 * asks the browser's permission, and posts the device's push subscription
 * id here, which is stored in push_devices (sql/026_push_devices.sql), at
 * most AC_PUSH_DEVICES per user. A push goes to every linked device of the
 * user in one request (lib/deliver/provider.c, include_subscription_ids);
 * a push alarm reaches the user only while one is linked (lib/work/fanout.c).
 */
#ifndef AC_PUSH_H
#define AC_PUSH_H

#include <jansson.h>

#include "base/db.h"

/* The devices a user may link; linking one more drops the longest linked. */
#define AC_PUSH_DEVICES	5

/* 1 if s is a OneSignal subscription id: a UUID, 8-4-4-4-12 hex digits
 * (either case), nothing around it; else 0. */
int	ac_push_id_ok(const char *s);

/* A device's label from its User-Agent (NULL: unknown): "Chrome on
 * Android", "Safari on iPhone", "Firefox on Windows", "a browser". */
const char *ac_push_label(const char *user_agent, char *out, size_t size);

/* Stores id (already checked with ac_push_id_ok) as one of the user's
 * devices, labelled label: 0, or -1 on a database error. A device linked
 * to another account before is moved to this one (the browser is signed
 * in here now); past AC_PUSH_DEVICES the longest linked is dropped. */
int	ac_push_link(struct ac_db *db, long long user_id, const char *id, const char *label);

/* Forgets the user's device device_id (push_devices.id): 1, 0 when the
 * user has no such device, -1 on a database error. */
int	ac_push_unlink(struct ac_db *db, long long user_id, long long device_id);

/* The user's devices, longest linked first: [{"id", "label", "linked_at"
 * (UTC, "YYYY-MM-DD")}], or NULL on a database error. */
json_t	*ac_push_devices(struct ac_db *db, long long user_id);

#endif
