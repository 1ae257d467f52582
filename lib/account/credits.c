/* credits.c — see credits.h. */
#include <stdio.h>

#include "account/credits.h"
#include "account/query.h"

/* The balance and ledger rows in form cols ($2 limit). */
#define CREDITS(cols) \
	"SELECT json_build_object('balance', u.credit_balance, 'entries'," \
	" (SELECT coalesce(json_agg(e ORDER BY e.id DESC), '[]') FROM (SELECT l.id, l.amount," \
	"  l.kind, l.reference, " cols " FROM credit_ledger l" \
	"  WHERE l.user_id = u.id ORDER BY l.id DESC LIMIT $2) e))" \
	" FROM users u WHERE u.id = $1"

static const struct ac_stmt st_credits_data = { "credits_data",
	CREDITS(AC_SQL_ISO("l.created_at") " AS created_at"), 2 };
static const struct ac_stmt st_credits_read = { "credits_read",
	CREDITS(AC_SQL_LOCAL("l.created_at") " AS at"), 2 };

json_t *
ac_credits(struct ac_db *db, long long user_id, long long limit, int reading,
    struct ac_err *e)
{
	char lim[24];
	const char *more[1] = { lim };

	snprintf(lim, sizeof(lim), "%lld", limit);
	return ac_user_query(db, reading ? &st_credits_read : &st_credits_data, user_id, more, e);
}
