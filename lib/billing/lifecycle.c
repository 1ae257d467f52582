/* lifecycle.c — see lifecycle.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account/notify.h"
#include "base/log.h"
#include "billing/lifecycle.h"

#define SWEEP_BATCH	"500"	/* rows a statement takes at a time */

static struct ac_billing_cfg cfg = { "", 7, 3 };
static char site[1024];

void
ac_billing_setup(const struct ac_billing_cfg *c)
{
	cfg = *c;
	snprintf(site, sizeof(site), "%s", c->site ? c->site : "");
	cfg.site = site;
}

const struct ac_billing_cfg *
ac_billing_config(void)
{
	return &cfg;
}

/* Ends what is over: manual ones at their end, Stripe ones grace days
 * after (unrenewed) or after the first failed renewal (past due). */
static const struct ac_stmt st_expire = { "billing_expire",
	"WITH x AS (SELECT s.id FROM subscriptions s WHERE"
	"  (s.status = 'active' AND s.provider = 'manual' AND s.period_end <= now())"
	"  OR (s.status = 'active' AND s.provider = 'stripe'"
	"   AND s.period_end + make_interval(days => $1::int) <= now())"
	"  OR (s.status = 'past_due' AND (s.past_due_since + make_interval(days => $1::int) <= now()"
	"   OR s.period_end + make_interval(days => $1::int) <= now()))"
	"  ORDER BY s.id LIMIT " SWEEP_BATCH " FOR UPDATE SKIP LOCKED)"
	" UPDATE subscriptions s SET status = 'expired', updated_at = now(),"
	"  end_reason = CASE WHEN s.status = 'past_due' THEN 'payment_failed' ELSE 'period_end' END,"
	/* an unpaid period ends now: it covers (and shows) nothing after today */
	"  period_end = CASE WHEN s.status = 'past_due' THEN greatest(least(s.period_end, now()),"
	"   s.period_start + interval '1 second') ELSE s.period_end END"
	" FROM x, plans p, users u WHERE s.id = x.id AND p.id = s.plan_id AND u.id = s.user_id"
	" RETURNING s.id, s.user_id, p.name, s.end_reason,"
	"  to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD')", 1 };

/* Reminds once a period: active, not renewing itself, ending soon, no
 * later subscription to the same plan already paid for. */
static const struct ac_stmt st_remind = { "billing_remind",
	"WITH x AS (SELECT s.id FROM subscriptions s JOIN users u ON u.id = s.user_id"
	"  WHERE s.status = 'active' AND NOT s.auto_renew AND u.renewal_reminders"
	"  AND u.status = 'active' AND s.period_end > now()"
	"  AND s.period_end <= now() + make_interval(days => $1::int)"
	"  AND s.reminded_period_end IS DISTINCT FROM s.period_end"
	"  AND NOT EXISTS (SELECT 1 FROM subscriptions o WHERE o.user_id = s.user_id"
	"   AND o.plan_id = s.plan_id AND o.id <> s.id AND o.status = 'active'"
	"   AND o.period_end > s.period_end)"
	"  ORDER BY s.id LIMIT " SWEEP_BATCH " FOR UPDATE OF s SKIP LOCKED)"
	" UPDATE subscriptions s SET reminded_period_end = s.period_end"
	" FROM x, plans p, users u WHERE s.id = x.id AND p.id = s.plan_id AND u.id = s.user_id"
	" RETURNING s.id, s.user_id, p.name,"
	"  to_char(s.period_end AT TIME ZONE u.timezone, 'YYYY-MM-DD'),"
	"  ceil(extract(epoch FROM s.period_end - now()) / 86400)::int,"
	"  extract(epoch FROM s.period_end)::bigint", 1 };

/* Tells the users of res (id, user, plan, ..., date in column datecol). */
static int
tell(struct ac_db *db, PGresult *res, const char *notice, int datecol, int keycol)
{
	for (int i = 0; i < PQntuples(res); i++) {
		char key[96], grace[16];
		json_t *v;
		int rc;

		snprintf(grace, sizeof(grace), "%d", cfg.grace_days);
		v = json_pack("{s:s, s:s, s:s, s:s}", "plan", PQgetvalue(res, i, 2),
		    "period_end", PQgetvalue(res, i, datecol), "url", cfg.site, "grace", grace);
		if (strcmp(notice, "renewal_reminder") == 0)
			json_object_set_new(v, "days", json_string(PQgetvalue(res, i, 4)));
		snprintf(key, sizeof(key), "%s:%s", PQgetvalue(res, i, 0),
		    keycol >= 0 ? PQgetvalue(res, i, keycol) : "");
		rc = ac_notify_user(db, strtoll(PQgetvalue(res, i, 1), NULL, 10), notice, key, v);
		json_decref(v);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
ac_billing_sweep(struct ac_db *db, struct ac_sweep_stats *st, struct ac_err *e)
{
	char grace[16], days[16];
	const char *vg[1] = { grace }, *vd[1] = { days };
	PGresult *res;

	memset(st, 0, sizeof(*st));
	snprintf(grace, sizeof(grace), "%d", cfg.grace_days);
	snprintf(days, sizeof(days), "%d", cfg.reminder_days);
	if (ac_db_begin(db) == -1)
		return ac_db_err(db, e);
	res = ac_db_exec(db, &st_expire, vg, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto fail;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 3), "payment_failed") == 0)
			st->unpaid++;
		else
			st->expired++;
	if (tell(db, res, "subscription_expired", 4, -1) == -1) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	res = ac_db_exec(db, &st_remind, vd, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto fail;
	st->reminded = PQntuples(res);
	if (tell(db, res, "renewal_reminder", 3, 5) == -1) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (ac_db_commit(db) == -1)
		return ac_db_err(db, e);
	if (st->expired || st->unpaid || st->reminded)
		ac_info("billing: %lld subscriptions ended, %lld unpaid, %lld reminded",
		    st->expired, st->unpaid, st->reminded);
	return 0;
fail:
	ac_db_err(db, e);
	ac_db_rollback(db);
	return -1;
}
