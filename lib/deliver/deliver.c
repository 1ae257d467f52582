/*
 * deliver.c — see deliver.h: the settings (read here, once, and handed to
 * limits.c and send.c), and the job kind "deliver": a batch of deliveries
 * loaded and sent (batch.c), the sent ones marked in one statement, and
 * each job's results written in the runner's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/plans.h"
#include "base/log.h"
#include "base/queue.h"
#include "base/util.h"
#include "deliver/deliver.h"
#include "deliver/internal.h"

#define AC_TELEGRAM_PAID_RATE	1000	/* a second, with allow_paid_broadcast */

/* ---- settings ------------------------------------------------------------------- */

void
ac_deliver_init(const struct ac_config *cfg)
{
	/* the settings of each provider (base/settings.h; -1: none) */
	static const struct {
		enum ac_prov	 p;
		int		 user, secret, from, base, conc, rate;
	} defs[] = {
		{ AC_PROV_TELEGRAM, AC_S_TELEGRAM_BOT_TOKEN, -1, -1, AC_S_TELEGRAM_API_BASE,
		    AC_S_TELEGRAM_CONCURRENCY, AC_S_TELEGRAM_RATE },
		{ AC_PROV_RESEND, AC_S_RESEND_API_KEY, -1, AC_S_EMAIL_FROM, AC_S_RESEND_API_BASE,
		    AC_S_RESEND_CONCURRENCY, AC_S_RESEND_RATE },
		{ AC_PROV_SMTP, AC_S_SMTP_URL, AC_S_SMTP_PASSWORD, AC_S_EMAIL_FROM, -1,
		    AC_S_SMTP_CONCURRENCY, AC_S_SMTP_RATE },
		{ AC_PROV_NETGSM, AC_S_NETGSM_USER, AC_S_NETGSM_PASSWORD, AC_S_NETGSM_HEADER,
		    AC_S_NETGSM_API_BASE, AC_S_NETGSM_CONCURRENCY, AC_S_NETGSM_RATE },
		{ AC_PROV_TWILIO, AC_S_TWILIO_ACCOUNT_SID, AC_S_TWILIO_AUTH_TOKEN, AC_S_TWILIO_FROM,
		    AC_S_TWILIO_API_BASE, AC_S_TWILIO_CONCURRENCY, AC_S_TWILIO_RATE },
		{ AC_PROV_ONESIGNAL, AC_S_ONESIGNAL_API_KEY, -1, AC_S_ONESIGNAL_APP_ID,
		    AC_S_ONESIGNAL_API_BASE, AC_S_ONESIGNAL_CONCURRENCY, AC_S_ONESIGNAL_RATE },
	};

	struct limits_cfg lc;
	struct send_cfg sc;

	ac_deliver_done();
	memset(&lc, 0, sizeof(lc));
	memset(&sc, 0, sizeof(sc));
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		struct ac_prov_cfg *c = &sc.prov[defs[i].p];

		c->user = ac_setting_str(cfg, defs[i].user);
		c->secret = defs[i].secret >= 0 ? ac_setting_str(cfg, defs[i].secret) : NULL;
		c->from = defs[i].from >= 0 ? ac_setting_str(cfg, defs[i].from) : "";
		c->base = defs[i].base >= 0 ? ac_setting_str(cfg, defs[i].base) : c->user;
		c->enabled = c->user && *c->user && (defs[i].from < 0 || (c->from && *c->from));
		/* a Messaging Service spreads the sends over its senders */
		if (defs[i].p == AC_PROV_TWILIO && ac_setting_str(cfg,
		    AC_S_TWILIO_MESSAGING_SERVICE_SID) != NULL &&
		    *ac_setting_str(cfg, AC_S_TWILIO_MESSAGING_SERVICE_SID))
			c->from = ac_setting_str(cfg, AC_S_TWILIO_MESSAGING_SERVICE_SID);
		if (defs[i].p == AC_PROV_SMTP) {
			/* the URL names the server; the login is separate */
			c->user = ac_setting_str(cfg, AC_S_SMTP_USER);
			c->starttls = ac_setting_int(cfg, AC_S_SMTP_STARTTLS);
		} else if (defs[i].secret >= 0 && (c->secret == NULL || *c->secret == '\0'))
			c->enabled = 0;
		if (c->user != NULL && *c->user && !c->enabled && defs[i].p != AC_PROV_SMTP)
			ac_warn("%s: credentials incomplete (sender or secret missing): outbox",
			    ac_prov_name(defs[i].p));
		if (c->enabled)
			sc.enabled |= 1u << defs[i].p;
		sc.conc[defs[i].p] = ac_setting_int(cfg, defs[i].conc);
		lc.rate[defs[i].p] = ac_setting_int(cfg, defs[i].rate);
	}
	/* paid broadcast: Telegram's ceiling is 1,000 messages/s, not 30 */
	if ((sc.prov[AC_PROV_TELEGRAM].paid_broadcast = ac_setting_int(cfg,
	    AC_S_TELEGRAM_PAID_BROADCAST)) != 0)
		lc.rate[AC_PROV_TELEGRAM] = AC_TELEGRAM_PAID_RATE;
	sc.total_conc = ac_setting_int(cfg, AC_S_DELIVERY_CONCURRENCY);
	sc.timeout_ms = ac_setting_int(cfg, AC_S_DELIVERY_TIMEOUT_MS);
	lc.chat_gap_ms = ac_setting_int(cfg, AC_S_TELEGRAM_CHAT_GAP_MS);
	lc.horizon_ms = ac_setting_int(cfg, AC_S_DELIVERY_HORIZON_MS);
	lc.breaker_fails = ac_setting_int(cfg, AC_S_BREAKER_FAILURES);
	lc.breaker_cooldown_ms = ac_setting_int(cfg, AC_S_BREAKER_COOLDOWN_MS);
	lc.redis_url = cfg->redis_url;
	for (int p = 0; p < AC_PROV__MAX; p++)
		if (sc.enabled & (1u << p))
			ac_info("%s: enabled, %d in flight, %d/s", ac_prov_name((enum ac_prov)p),
			    sc.conc[p], lc.rate[p]);
	ac_render_links(ac_setting_str(cfg, AC_S_BASE_URL),
	    ac_setting_str(cfg, AC_S_UNSUBSCRIBE_SECRET));
	limits_init(&lc);
	send_init(&sc);
}

void
ac_deliver_done(void)
{
	send_done();
	limits_done();
}

/* ---- loading -------------------------------------------------------------------- */

/* The batch's deliveries with what their messages say and where they go.
 * What belongs to the signal (the strategy, the prices, the deadline) is
 * worked out once a signal (sg), not once a delivery: a part's batch is
 * thousands of deliveries of one signal. Every row is found by its key:
 * planned once (generic), where a plan for each batch took 2.5-3.7 ms of
 * the first subscriber's time. */
static const struct ac_stmt st_load = { "deliver_load_batch",
	"WITH d AS MATERIALIZED (SELECT id, status, kind, channel, user_id, signal_id, attempts"
	"  FROM deliveries WHERE id = ANY ($1::bigint[])),"
	" sg AS MATERIALIZED (SELECT s.id, st.name, s.symbol, s.timeframe,"
	"  signal_action_label(s.action) AS label, s.price::text AS price,"
	"  coalesce(s.take_profit::text, '') AS tp, coalesce(s.stop_loss::text, '') AS sl,"
	"  coalesce(s.alert_time, s.received_at) AS at,"
	/* too late after this (ms since the epoch): the strategy's maximum age */
	"  (extract(epoch FROM s.received_at + coalesce(st.max_age_s * interval '1 second',"
	"   ac_timeframe_interval(st.timeframe))) * 1000)::bigint AS deadline"
	"  FROM signals s JOIN strategies st ON st.id = s.strategy_id"
	"  WHERE s.id IN (SELECT signal_id FROM d))"
	" SELECT d.id, d.status, d.kind, d.channel, d.user_id, sg.name, sg.symbol, sg.timeframe,"
	" sg.label, sg.price, sg.tp, sg.sl,"
	" to_char(sg.at AT TIME ZONE u.timezone, 'YYYY-MM-DD HH24:MI') || ' ' || u.timezone,"
	" u.display_name,"
	" (SELECT trade_number FROM trades t WHERE t.entry_signal_id = d.signal_id"
	"  AND t.user_id = d.user_id),"
	" (SELECT json_agg(json_build_object('number', t.trade_number, 'side', t.side,"
	"  'entry', t.entry_price::text, 'exit', t.exit_price::text, 'reason', t.exit_reason,"
	"  'pnl', CASE WHEN t.pnl_amount > 0 THEN '+' ELSE '' END || t.pnl_amount::text,"
	"  'pnl_percent', CASE WHEN t.pnl_percent > 0 THEN '+' ELSE '' END"
	"   || round(t.pnl_percent, 2)::text) ORDER BY t.trade_number)"
	"  FROM trades t WHERE t.exit_signal_id = d.signal_id AND t.user_id = d.user_id),"
	" u.email, u.telegram_chat_id, u.phone, u.telegram_unreachable_at IS NOT NULL, d.attempts,"
	/* the devices are a push's address only (none: NULL, no address) */
	" CASE WHEN d.channel = 'push' THEN nullif(array_to_string(ARRAY(SELECT"
	"  pd.subscription_id FROM push_devices pd WHERE pd.user_id = d.user_id"
	"  ORDER BY pd.id), ','), '') END,"
	/* the user's plan goes first */
	AC_SQL_PRIORITY("d.user_id") ","
	" sg.deadline,"
	/* an exit's entry to the same user on the same channel, still queued */
	" (SELECT min(e.id) FROM trades t JOIN deliveries e ON e.signal_id = t.entry_signal_id"
	"  AND e.user_id = d.user_id AND e.channel = d.channel AND e.status = 'queued'"
	"  WHERE d.kind IN ('exit', 'replacement') AND t.exit_signal_id = d.signal_id"
	"  AND t.user_id = d.user_id)"
	" FROM d JOIN sg ON sg.id = d.signal_id JOIN users u ON u.id = d.user_id", 1, 1 };

/* The address of row i on channel ch into it->to; 0, or -1 (none). */
static int
address(struct item *it, const PGresult *res, int i)
{
	int col = it->ch == AC_CH_EMAIL ? C_EMAIL : it->ch == AC_CH_TELEGRAM ? C_CHAT :
	    it->ch == AC_CH_SMS ? C_PHONE : C_PUSH;

	if (PQgetisnull(res, i, col))
		return -1;
	snprintf(it->to, sizeof(it->to), "%s", PQgetvalue(res, i, col));
	return 0;
}

/* Sets up it from delivery row i: the result at once (outbox, gone,
 * nothing to send to) or a send waiting its turn; no row (-1): no result,
 * ac_deliver_job() finds out why. */
static void
item_setup(struct item *it, const PGresult *res, int i)
{
	char err[512];

	if (i == -1)
		return;
	item_target(it, "delivery", strtoll(PQgetvalue(res, i, C_ID), NULL, 10),
	    strtoll(PQgetvalue(res, i, C_USER), NULL, 10),
	    ac_channel_parse(PQgetvalue(res, i, C_CHANNEL)), NULL);
	if (strcmp(PQgetvalue(res, i, C_STATUS), "queued") != 0) {
		item_gone(it);
		return;
	}
	it->attempts = atoi(PQgetvalue(res, i, C_ATTEMPTS));
	if (render_delivery(res, i, &it->t, err, sizeof(err)) == -1) {
		item_retry_in(it, 60000, err);
		return;
	}
	if (item_plan(it, it->attempts + 1) == -1)
		return;
	if (address(it, res, i) == -1) {
		item_failed(it, ac_prov_name(it->prov), "no address on file", 0, 0);
		return;
	}
	if (it->prov == AC_PROV_TELEGRAM && *PQgetvalue(res, i, C_UNREACHABLE) == 't') {
		item_failed(it, ac_prov_name(AC_PROV_TELEGRAM),
		    "telegram unreachable: the user blocked the bot", 0, 0);
		return;
	}
	it->priority = *PQgetvalue(res, i, C_PRIORITY) == 't';
	it->deadline = strtoll(PQgetvalue(res, i, C_DEADLINE), NULL, 10);
	if (!PQgetisnull(res, i, C_ENTRY))
		it->entry_id = strtoll(PQgetvalue(res, i, C_ENTRY), NULL, 10);
	it->job->started = 1;
}

/* ---- the batch: sent, and the sent ones recorded at once -------------------------- */

/* A sent result the batch records at once (a migrated chat is recorded on
 * the user by the job itself). */
static int
batch_records(const struct send_result *r)
{
	return (r->v == SEND_SENT || r->v == SEND_OUTBOX) && r->chat == NULL;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Writes the sent results of the batch at once; they are left as
 * WRITTEN, which ac_deliver_job() passes over. If the statement fails,
 * each job writes its own results as usual. A crash before the jobs
 * complete finds the deliveries sent: GONE. */
static void
write_sent(struct ac_db *db, struct ac_job *const *jobs, size_t n)
{
	struct sent_cols c;
	struct job_results *jr;
	const char *vals[4];
	long long *ids;
	size_t nids;
	PGresult *res;

	sent_cols_init(&c);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; (jr = job_results(jobs[i])) != NULL && k < jr->n; k++)
			if (batch_records(&jr->r[k]))
				sent_cols_add(&c, jr->r[k].key, &jr->r[k]);
	if (c.ids.n == 0) {
		sent_cols_free(&c);
		return;
	}
	sent_cols_vals(&c, vals);
	res = ac_db_exec(db, &st_sent_many, vals, NULL, NULL);
	sent_cols_free(&c);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		ac_warn("sent deliveries not recorded at once (%s): one by one", ac_db_error(db));
		return;
	}
	nids = (size_t)PQntuples(res);
	if ((ids = calloc(nids + 1, sizeof(*ids))) == NULL)
		abort();
	for (size_t row = 0; row < nids; row++)
		ids[row] = strtoll(PQgetvalue(res, (int)row, 0), NULL, 10);
	PQclear(res);
	qsort(ids, nids, sizeof(*ids), cmp_ll);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; (jr = job_results(jobs[i])) != NULL && k < jr->n; k++)
			if (jr->r[k].v != SEND_NONE && bsearch(&jr->r[k].key, ids, nids,
			    sizeof(*ids), cmp_ll) != NULL) {
				result_clear(&jr->r[k]);
				jr->r[k].v = SEND_WRITTEN;
			}
	free(ids);
}

void
ac_deliver_batch(struct ac_db *db, struct ac_job *const *jobs, size_t n,
    const volatile sig_atomic_t *stop)
{
	int64_t t0;

	batch_run(db, jobs, n, stop, &st_load, "delivery_id", item_setup, 1);
	t0 = ac_mono_ms();
	write_sent(db, jobs, n);
	ac_debug("sent deliveries recorded in %lld ms", (long long)(ac_mono_ms() - t0));
}

/* ---- writing the result ---------------------------------------------------------- */

static const struct ac_stmt st_sent = { "deliver_sent",
	"WITH d AS (UPDATE deliveries SET status = 'sent', provider = $2, message = $3,"
	"  provider_message_id = nullif($4, ''), attempts = attempts + $5::int, error = NULL,"
	"  sent_at = now(),"
	"  updated_at = now() WHERE id = $1 AND status = 'queued' RETURNING user_id)"
	" UPDATE users SET telegram_chat_id = $6, updated_at = now()"
	" WHERE $6::text IS NOT NULL AND id = (SELECT user_id FROM d)", 6 };

static const struct ac_stmt st_failed = { "deliver_failed",
	"UPDATE deliveries SET status = 'failed', provider = $2, message = $3, error = $4,"
	" attempts = attempts + $5::int, updated_at = now() WHERE id = $1 AND status = 'queued'", 5 };

/* A retry: the attempt counted (when it reached the provider); the next
 * deliver job follows (retry_enqueue()) when the delivery is still queued. */
static const struct ac_stmt st_retry = { "deliver_retry",
	"UPDATE deliveries SET provider = $2, error = $3, attempts = attempts + $4::int,"
	" updated_at = now() WHERE id = $1 AND status = 'queued' RETURNING id", 4 };

/* Too late to be worth sending: skipped, and the portal says so. */
static const struct ac_stmt st_stale = { "deliver_stale",
	"UPDATE deliveries SET status = 'skipped', skip_reason = 'stale', provider = $2,"
	" message = $3, error = NULL, updated_at = now() WHERE id = $1 AND status = 'queued'", 3 };

static const struct ac_stmt st_blocked = { "deliver_blocked",
	"UPDATE users SET telegram_unreachable_at = now(), updated_at = now()"
	" WHERE id = $1 AND telegram_chat_id = $2 AND telegram_unreachable_at IS NULL", 2 };

/* The devices OneSignal said are subscribed no more ("id,id"): forgotten,
 * so the next push signal sees none, is not charged and the dashboard says
 * no device has push. */
static const struct ac_stmt st_push_gone = { "deliver_push_gone",
	"DELETE FROM push_devices WHERE user_id = $1"
	" AND subscription_id = ANY (string_to_array($2, ','))", 2 };

static const struct ac_stmt st_exists = { "deliver_exists",
	"SELECT 1 FROM deliveries WHERE id = $1", 1 };

void
ac_deliver_warm(struct ac_db *db)
{
	static const struct ac_stmt *const st[] = { &st_load, &st_sent_many, &st_sent,
	    &st_failed, &st_retry, &st_stale, &batch_head_out };
	int64_t t = ac_mono_ms();
	int planned, ran = ac_db_warm_plans(db, st, (int)(sizeof(st) / sizeof(st[0])),
	    &planned);
	int scripts = limits_warm();
	int tmpls = ac_render_preload(), hosts = send_connect();

	ac_info("deliver: %d of %zu statements (%d planned in full), %d templates and %d Redis"
	    " scripts readied, %d provider host%s connected in %lld ms", ran,
	    sizeof(st) / sizeof(st[0]), planned, tmpls,
	    scripts, hosts, hosts == 1 ? "" : "s", (long long)(ac_mono_ms() - t));
}

/* Writes delivery id's result r (NULL: none) in the runner's transaction.
 * A delivery that does not exist FAILs the job of one delivery; in a job
 * of many it is passed over (missing set). A retry of a job of many is
 * left in due ({"<at ms>": [ids]}, retries_enqueue()); of a job of one it
 * is queued at once. */
static enum ac_job_outcome
deliver_one(struct ac_db *db, struct ac_job *job, long long id, const struct send_result *r,
    int *missing, json_t *due)
{
	char sid[24], user[24], n[24];
	PGresult *res = NULL;

	if (id <= 0)
		return job_error(job, AC_JOB_FAIL, "payload has no delivery_id");
	snprintf(sid, sizeof(sid), "%lld", id);
	if (r == NULL) {
		const char *vals[1] = { sid };

		res = ac_db_exec(db, &st_exists, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		if (PQntuples(res) == 0) {
			PQclear(res);
			*missing = 1;
			return job_error(job, AC_JOB_FAIL, "delivery %lld does not exist", id);
		}
		PQclear(res);
		return job_error(job, AC_JOB_RETRY, "delivery %lld: not sent (database error)", id);
	}
	snprintf(n, sizeof(n), "%d", r->counted);
	switch (r->v) {
	case SEND_NONE:		/* as r == NULL, handled above */
	case SEND_GONE:
	case SEND_WRITTEN:
		return AC_JOB_DONE;
	case SEND_RETRY: {
		const char *vals[4] = { sid, r->provider, r->error, n };

		int64_t at = r->retry_at_ms > 0 ? r->retry_at_ms : ac_now_ms() + r->retry_in_ms;
		char sat[24];

		res = ac_db_exec(db, &st_retry, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		snprintf(sat, sizeof(sat), "%lld", (long long)at);
		if (PQntuples(res) == 1 && due != NULL) {
			json_t *ids = json_object_get(due, sat);

			if (ids == NULL)
				json_object_set_new(due, sat, ids = json_array());
			json_array_append_new(ids, json_integer(id));
		} else if (PQntuples(res) == 1 && retry_enqueue(db, "deliver", "delivery_id", id,
		    job->id, at) == -1) {
			PQclear(res);
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		}
		PQclear(res);
		return AC_JOB_DONE;
	}
	case SEND_HELD:		/* nothing written: in the job of the held */
		if (due == NULL)
			return job_error(job, AC_JOB_RETRY, "delivery %lld: held alone", id);
		{
			json_t *held = json_object_get(due, "held");

			if (held == NULL)
				json_object_set_new(due, "held", held = json_array());
			json_array_append_new(held, json_integer(id));
		}
		return AC_JOB_DONE;
	case SEND_STALE: {
		const char *vals[3] = { sid, r->provider, r->message };

		res = ac_db_exec(db, &st_stale, vals, NULL, NULL);
		break;
	}
	case SEND_SENT:
	case SEND_OUTBOX: {
		const char *vals[6] = { sid, r->provider, r->message, r->pmid, "1", r->chat };

		res = ac_db_exec(db, &st_sent, vals, NULL, NULL);
		break;
	}
	case SEND_FAILED: {
		const char *vals[5] = { sid, r->provider, r->message, r->error, n };

		res = ac_db_exec(db, &st_failed, vals, NULL, NULL);
		if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
			return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
		if (r->blocked && strcmp(r->provider, "onesignal") == 0) {
			const char *bv[2] = { user, r->chat };

			PQclear(res);
			snprintf(user, sizeof(user), "%lld", r->user_id);
			res = ac_db_exec(db, &st_push_gone, bv, NULL, NULL);
		} else if (r->blocked) {
			const char *bv[2] = { user, r->chat };

			PQclear(res);
			snprintf(user, sizeof(user), "%lld", r->user_id);
			res = ac_db_exec(db, &st_blocked, bv, NULL, NULL);
			if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
				return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id,
				    ac_db_error(db));
			/* just marked: tell the user by email */
			if (strcmp(PQcmdTuples(res), "1") == 0 &&
			    notice_queue(db, "telegram_blocked", r->user_id, sid) == -1) {
				PQclear(res);
				return job_error(job, AC_JOB_RETRY, "delivery %lld: notice: %s", id,
				    ac_db_error(db));
			}
		}
		break;
	}
	}
	if (!ac_db_ok(db, res, PGRES_COMMAND_OK))
		return job_error(job, AC_JOB_RETRY, "delivery %lld: %s", id, ac_db_error(db));
	PQclear(res);
	return AC_JOB_DONE;
}

/* The retries of job (a job of many) in due: one deliver job for the
 * deliveries due at one instant (the members of one request made again,
 * so it is made again as it was), keyed by its first delivery and job;
 * and the held ones (due's "held", send.c's send_hold()), due now, before
 * the jobs of its priority: {"delivery_ids", "held": true}. 0, or -1 on a
 * database error. */
static int
retries_enqueue(struct ac_db *db, const struct ac_job *job, json_t *due)
{
	const char *at;
	json_t *ids;

	json_object_foreach(due, at, ids) {
		long long first = json_integer_value(json_array_get(ids, 0));
		int held = strcmp(at, "held") == 0;
		int64_t when = held ? 0 : strtoll(at, NULL, 10);
		json_t *payload;
		char key[96];
		int rc;

		if (held) {
			if ((payload = json_pack("{s:O,s:b}", "delivery_ids", ids, "held", 1)) == NULL)
				abort();
			snprintf(key, sizeof(key), "deliver:held:%lld:%lld", first, job->id);
			rc = ac_job_enqueue(db, "deliver", payload, key, 0, 1, 0);
			json_decref(payload);
			if (rc == -1)
				return -1;
			continue;
		}
		if (json_array_size(ids) == 1) {
			if (retry_enqueue(db, "deliver", "delivery_id", first, job->id, when) == -1)
				return -1;
			continue;
		}
		if ((payload = json_pack("{s:O}", "delivery_ids", ids)) == NULL)
			abort();
		snprintf(key, sizeof(key), "deliver:%lld:%lld", first, job->id);
		rc = ac_job_enqueue(db, "deliver", payload, key, when, 0, 0);
		json_decref(payload);
		if (rc == -1)
			return -1;
	}
	return 0;
}

enum ac_job_outcome
ac_deliver_job(struct ac_db *db, struct ac_job *job)
{
	json_t *ids = json_object_get(job->payload, "delivery_ids"), *v;
	enum ac_job_outcome out;
	size_t i, k = 0;
	int missing = 0;

	json_t *due;

	if (!json_is_array(ids))
		return deliver_one(db, job, json_integer_value(json_object_get(job->payload,
		    "delivery_id")), job_result(job, 0), &missing, NULL);
	if (json_array_size(ids) == 0)
		return job_error(job, AC_JOB_FAIL, "payload has no delivery ids");
	if ((due = json_object()) == NULL)
		abort();
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v)) {	/* batch_run() did not send it either */
			ac_warn("deliver job %lld: delivery_ids[%zu] is not an id; passed over",
			    job->id, i);
			continue;
		}
		missing = 0;
		out = deliver_one(db, job, json_integer_value(v), job_result(job, k++), &missing,
		    due);
		if (out == AC_JOB_DONE)
			continue;
		if (!missing) {
			json_decref(due);
			return out;
		}
		ac_warn("deliver job %lld: %s; the others go on", job->id, job->error);
		job->error[0] = '\0';
	}
	out = AC_JOB_DONE;
	if (retries_enqueue(db, job, due) == -1)
		out = job_error(job, AC_JOB_RETRY, "deliver job %lld: retries: %s", job->id,
		    ac_db_error(db));
	json_decref(due);
	return out;
}
