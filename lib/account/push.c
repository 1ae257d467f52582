/* push.c — see push.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "account/push.h"

int
ac_push_id_ok(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (d < 4 && i == (size_t)dash[d]) {
			if (s[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

const char *
ac_push_label(const char *ua, char *out, size_t size)
{
	/* the first name found wins: Edge and Opera say Chrome too, Chrome
	 * says Safari too */
	static const char *const browsers[][2] = { { "Edg/", "Edge" }, { "OPR/", "Opera" },
	    { "Firefox/", "Firefox" }, { "SamsungBrowser/", "Samsung Internet" },
	    { "Chrome/", "Chrome" }, { "Chromium/", "Chromium" }, { "Safari/", "Safari" } };
	static const char *const systems[][2] = { { "Android", "Android" },
	    { "iPhone", "iPhone" }, { "iPad", "iPad" }, { "Windows", "Windows" },
	    { "Mac OS X", "a Mac" }, { "CrOS", "ChromeOS" }, { "Linux", "Linux" } };
	const char *b = NULL, *o = NULL;
	size_t i;

	for (i = 0; ua != NULL && b == NULL && i < sizeof(browsers) / sizeof(browsers[0]); i++)
		if (strstr(ua, browsers[i][0]) != NULL)
			b = browsers[i][1];
	for (i = 0; ua != NULL && o == NULL && i < sizeof(systems) / sizeof(systems[0]); i++)
		if (strstr(ua, systems[i][0]) != NULL)
			o = systems[i][1];
	if (b != NULL && o != NULL)
		snprintf(out, size, "%s on %s", b, o);
	else
		snprintf(out, size, "%s", b ? b : o ? o : "a browser");
	return out;
}

/* the device stored (moved here when another account had it), then the
 * user's oldest past the limit dropped */
static const struct ac_stmt st_link = { "push_link",
	"WITH d AS (INSERT INTO push_devices (user_id, subscription_id, label)"
	" VALUES ($1, lower($2), $3) ON CONFLICT (subscription_id) DO UPDATE"
	" SET user_id = excluded.user_id, label = excluded.label, linked_at = now()"
	" RETURNING id)"
	" DELETE FROM push_devices WHERE user_id = $1 AND id NOT IN (SELECT id FROM d)"
	" AND id NOT IN (SELECT id FROM push_devices WHERE user_id = $1"
	"  ORDER BY linked_at DESC, id DESC LIMIT $4 - 1)", 4 };

static const struct ac_stmt st_unlink = { "push_unlink",
	"DELETE FROM push_devices WHERE id = $2 AND user_id = $1", 2 };

static const struct ac_stmt st_devices = { "push_devices",
	"SELECT coalesce(json_agg(json_build_object('id', id, 'label', label,"
	" 'linked_at', to_char(linked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))"
	" ORDER BY linked_at, id), '[]') FROM push_devices WHERE user_id = $1", 1 };

int
ac_push_link(struct ac_db *db, long long user_id, const char *id, const char *label)
{
	char uid[24], max[12];
	const char *vals[4] = { uid, id, label, max };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(max, sizeof(max), "%d", AC_PUSH_DEVICES);
	return ac_db_command(db, &st_link, vals) == -1 ? -1 : 0;
}

int
ac_push_unlink(struct ac_db *db, long long user_id, long long device_id)
{
	char uid[24], did[24];
	const char *vals[2] = { uid, did };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(did, sizeof(did), "%lld", device_id);
	return (int)ac_db_command(db, &st_unlink, vals);
}

json_t *
ac_push_devices(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return ac_db_json(db, &st_devices, vals, NULL);
}
