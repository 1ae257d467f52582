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

static const struct ac_stmt st_link = { "push_link",
	"UPDATE users SET push_player_id = lower($2), updated_at = now() WHERE id = $1", 2 };

static const struct ac_stmt st_unlink = { "push_unlink",
	"UPDATE users SET push_player_id = NULL, updated_at = now()"
	" WHERE id = $1 AND push_player_id IS NOT NULL", 1 };

int
ac_push_link(struct ac_db *db, long long user_id, const char *id)
{
	char uid[24];
	const char *vals[2] = { uid, id };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return ac_db_command(db, &st_link, vals) == -1 ? -1 : 0;
}

int
ac_push_unlink(struct ac_db *db, long long user_id)
{
	char uid[24];
	const char *vals[1] = { uid };

	snprintf(uid, sizeof(uid), "%lld", user_id);
	return (int)ac_db_command(db, &st_unlink, vals);
}
