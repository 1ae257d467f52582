/* audit.c — the audit log of the operators' changes (see admin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "base/log.h"

static const struct ac_stmt st_audit = { "admin_audit",
	"INSERT INTO audit_log (admin_id, actor, action, target, details, ip)"
	" VALUES ($1, left($2, 64), $3, left($4, 200), coalesce($5::jsonb, '{}'), $6)", 6 };

int
ac_audit(struct ac_db *db, const struct ac_admin *a, const char *actor, const char *action,
    const char *target, const json_t *details, const char *ip)
{
	char aid[24], *d = NULL;
	const char *vals[6];
	long long n;

	snprintf(aid, sizeof(aid), "%lld", a ? a->id : 0);
	if (details != NULL && (d = json_dumps(details, JSON_COMPACT)) == NULL)
		return -1;
	vals[0] = a ? aid : NULL;
	vals[1] = actor ? actor : a ? a->username : "?";
	vals[2] = action;
	vals[3] = target ? target : "";
	vals[4] = d;
	vals[5] = ip ? ip : "";
	n = ac_db_command(db, &st_audit, vals);
	free(d);
	if (n != 1) {
		ac_error("audit %s %s: %s", action, target ? target : "", ac_db_error(db));
		return -1;
	}
	return 0;
}

static const struct ac_stmt st_audit_list = { "admin_audit_list",
	"SELECT coalesce(json_agg(json_build_object('id', id,"
	"  'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), 'actor', actor,"
	"  'action', action, 'target', target, 'details', details::text, 'ip', ip)"
	"  ORDER BY at DESC, id DESC), '[]') FROM (SELECT * FROM audit_log"
	"  WHERE ($1::text IS NULL OR actor = $1)"
	"  AND ($2::text IS NULL OR starts_with(action, $2))"
	"  AND ($3::text IS NULL OR target = $3)"
	"  AND ($4::bigint IS NULL OR id < $4)"
	"  ORDER BY at DESC, id DESC LIMIT $5) l", 5 };

json_t *
ac_audit_list(struct ac_db *db, const char *actor, const char *action, const char *target,
    long long before, int limit, struct ac_err *e)
{
	char b[24], l[16];
	const char *vals[5];
	json_t *o;
	int found;

	snprintf(b, sizeof(b), "%lld", before);
	snprintf(l, sizeof(l), "%d", limit);
	vals[0] = actor && *actor ? actor : NULL;
	vals[1] = action && *action ? action : NULL;
	vals[2] = target && *target ? target : NULL;
	vals[3] = before > 0 ? b : NULL;
	vals[4] = l;
	if ((o = ac_db_json(db, &st_audit_list, vals, &found)) == NULL)
		ac_db_err(db, e);
	return o;
}
