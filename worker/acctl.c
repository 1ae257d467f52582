/*
 * acctl — the operator's tool. Every command prints JSON on stdout, and on
 * failure a clear message on stderr and a non-zero exit.
 *
 *	acctl [--config FILE] migrate
 *	acctl config [--markdown]
 *	acctl strategy add --symbol S --timeframe T --strategy NAME [options]
 *	acctl strategy edit --id ID [--required FIELDS] [--dedup-window SECONDS]
 *	    [--public-record yes|no]
 *	acctl strategy list
 *	acctl strategy pine ID [--raw]
 *	acctl backtest --strategy ID --bars FILE.csv [--table]
 *	acctl verify --strategy ID --bars FILE.csv [--table]
 *	acctl replay-spool
 *	acctl seed-demo
 *	acctl user add --email E --password P [options]
 *	acctl plan add --name N --price-cents N --currency C --months M --credits N
 *	    --strategies ID[,ID...] [options]
 *	acctl subscribe --email E --plan NAME
 *	acctl payment list [--status S] [--email E]
 *	acctl payment show ID
 *	acctl payment approve ID [--by NAME]
 *	acctl payment reject ID --reason R [--by NAME]
 *	acctl billing sweep
 *	acctl alarm add --email E --strategy ID --channels LIST [options]
 *	acctl credits grant --email E --amount N --reason R [--key K]
 *	acctl credits adjust --email E --amount ±N --reason R [--key K]
 *	acctl credits show --email E
 *	acctl deliveries --signal ID
 *	acctl jobs [retry ID | enqueue --kind K [options]]
 *	acctl telegram set-webhook
 *	acctl telegram link-code --email E
 *	acctl backup [--dir DIR] [--keep N]
 *	acctl restore FILE [--overwrite-spool]
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"
#include "account/password.h"
#include "admin/admin.h"
#include "base/buf.h"
#include "account/alarm.h"
#include "base/config.h"
#include "base/crypto.h"
#include "base/db.h"
#include "work/fanout.h"
#include "alert/ingest.h"
#include "work/jobs.h"
#include "account/ledger.h"
#include "base/log.h"
#include "base/migrate.h"
#include "base/opt.h"
#include "alert/spool.h"
#include "alert/strategy.h"
#include "alert/barcsv.h"
#include "alert/utbot.h"
#include "alert/backtest.h"
#include "alert/record.h"
#include "account/telegram.h"
#include "base/util.h"
#include "billing/lifecycle.h"
#include "billing/payments.h"
#include "ops/backup.h"

static struct ac_config cfg;
static struct ac_db *db;

static int
usage(void)
{
	fprintf(stderr,
	    "usage: acctl [--config FILE] COMMAND\n"
	    "  config [--markdown]          the effective settings and where each came from\n"
	    "                               (secrets redacted); --markdown: every setting\n"
	    "  migrate                      apply pending SQL migrations\n"
	    "  strategy add --symbol S --timeframe T --strategy NAME\n"
	    "               [--name N] [--description D] [--key-value A] [--atr-period C]\n"
	    "               [--ema-period E] [--heikin-ashi] [--max-open-trades N]\n"
	    "               [--actions BUY,SELL,TP_HIT,SL_HIT] [--required FIELDS]\n"
	    "               [--status active|inactive|testing]\n"
	    "               [--no-opposite] [--no-replace] [--dedup-window SECONDS]\n"
	    "  strategy edit --id ID [--required FIELDS] [--dedup-window SECONDS]\n"
	    "               [--public-record yes|no]   its track record page public or not\n"
	    "  strategy list                every strategy with its webhook URL\n"
	    "  strategy pine ID [--raw]     its UT Bot Pine Script (v5), webhook URL and the\n"
	    "                               steps to create the alert; --raw: the script alone\n"
	    "  backtest --strategy ID --bars FILE.csv [--table]   its UT Bot signals over\n"
	    "                               TradingView's chart export and the virtual trades\n"
	    "                               they make: win rate, PnL, max drawdown\n"
	    "  verify --strategy ID --bars FILE.csv [--table]   the stored signals in the\n"
	    "                               bars' period beside the recomputed ones: each\n"
	    "                               missing, extra or on a different bar (exit 3)\n"
	    "  replay-spool                 store alerts spooled while the database was away\n"
	    "  seed-demo                    load the demo data (idempotent)\n"
	    "  jobs                         job counts by kind and state, oldest due age\n"
	    "  jobs retry ID                a dead or failed job back to pending\n"
	    "  jobs enqueue --kind K [--payload JSON] [--unique-key K] [--count N]\n"
	    "               [--run-in SECONDS]   queue N jobs (tests, benchmarks)\n"
	    "  user add --email E --password P [--name N] [--phone P]\n"
	    "               [--telegram-chat-id ID] [--timezone TZ]\n"
	    "  plan add --name N --price-cents N --currency C --months M --credits N\n"
	    "               --strategies ID[,ID...] [--days D] [--max-open-trades N]\n"
	    "               [--credit-cost N] [--max-strategies N] [--stripe-price-id ID]\n"
	    "               [--description TEXT]\n"
	    "  subscribe --email E --plan NAME   activate a plan now, grant its credits\n"
	    "  payment list [--status pending|approved|rejected] [--email E]\n"
	    "  payment show ID              one payment, with the path of its proof file\n"
	    "  payment approve ID [--by NAME]     activate its subscription, grant credits\n"
	    "  payment reject ID --reason R [--by NAME]   the subscriber sees the reason\n"
	    "  billing sweep                end what is over, send renewal reminders (the\n"
	    "                               worker does this every minute)\n"
	    "  alarm add --email E --strategy ID --channels email,telegram,sms,push\n"
	    "               [--no-entry] [--no-exit] [--no-replacement]\n"
	    "               [--min-price X] [--max-price Y]\n"
	    "  credits grant --email E --amount N --reason R [--key K]   add credits\n"
	    "  credits adjust --email E --amount +N|-N --reason R [--key K]\n"
	    "               correct a balance (never below 0)\n"
	    "  credits show --email E       balance and ledger\n"
	    "  deliveries --signal ID       each delivery of a signal\n"
	    "  telegram set-webhook         register $AC_BASE_URL/hook/telegram with Telegram\n"
	    "  telegram link-code --email E a one-time deep link that links a Telegram chat\n"
	    "  admin add --username U --email E --password P [--name N] [--phone P]\n"
	    "               [--permissions LIST]   an operator of the admin panel; LIST:\n"
	    "               users.view,users.edit,users.delete,subscriptions.view,\n"
	    "               subscriptions.approve,subscriptions.edit,alerts.view,\n"
	    "               alerts.configure,system.settings,system.logs, or all\n"
	    "  admin passwd --username U --password P   a new password (ends its sessions,\n"
	    "               clears a lock); --password - reads it from stdin\n"
	    "  admin permissions --username U --permissions LIST\n"
	    "  admin telegram --username U --telegram CHAT_ID|none   where the operator\n"
	    "               also hears of strategy incidents (email always)\n"
	    "  backup [--dir DIR] [--keep N]   pg_dump of the database and a tar of\n"
	    "               AC_STATE_DIR in one set, DIR/alertcast-<UTC time>.tar\n"
	    "               (AC_BACKUP_DIR); keeps the newest N (AC_BACKUP_KEEP)\n"
	    "  restore FILE [--overwrite-spool]   a set into the empty database of\n"
	    "               AC_DATABASE_URL and its state folder over AC_STATE_DIR\n");
	return 2;
}

/* Prints o (stolen) as the command's answer (reals as %.15g: 0.013, not
 * 0.012999999999999999). */
static int
print(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(o);
	return 0;
}

static int
fail(const char *what, const char *msg)
{
	fprintf(stderr, "acctl %s: %s\n", what, msg);
	return 1;
}

/* Parses a command's options by its table into dst: 0, else the command's
 * exit (the usage, or a failure naming the option and its value). */
static int
options(const char *what, const struct ac_opt *opts, int argc, char *argv[], void *dst)
{
	char err[512];

	switch (ac_opt_parse(opts, argc, argv, dst, err, sizeof(err))) {
	case AC_OPT_OK:
		return 0;
	case AC_OPT_BAD:
		return fail(what, err);
	default:
		return usage();
	}
}

/* acctl config [--markdown]: every setting's effective value and where it
 * came from, secrets redacted; --markdown: the table of every setting, as
 * README.md's configuration section has it. */
static int
cmd_config(int argc, char *argv[])
{
	static const struct ac_opt opts[] = {
		{ "markdown", AC_OT_FLAG, 0, 1, 0 },
		AC_OPT_END
	};
	struct ac_buf b = AC_BUF_INIT;
	char shown[1024];
	int markdown = 0, rc;
	json_t *o, *v;

	if ((rc = options("config", opts, argc, argv, &markdown)) != 0)
		return rc;
	if (markdown) {
		ac_settings_markdown(&b);
		fputs(b.p, stdout);
		ac_buf_free(&b);
		return 0;
	}
	o = json_object();
	for (int i = 0; i < AC_S__MAX; i++) {
		const char *s = ac_setting_redact((enum ac_setting)i, cfg.val[i], shown,
		    sizeof(shown));

		if (cfg.val[i] != NULL && (ac_setting_is_number((enum ac_setting)i)))
			v = json_integer(cfg.num[i]);
		else
			v = s != NULL ? json_string(s) : json_null();
		json_object_set_new(o, ac_settings[i].name, json_pack("{s:o, s:s}", "value", v,
		    "source", ac_config_source_name(ac_setting_source(&cfg, (enum ac_setting)i))));
	}
	return print(o);
}

static int
cmd_migrate(int argc, char *argv[])
{
	struct ac_err e = { 0 };
	json_t *o;

	if (argc != 1)
		return usage();
	if ((o = ac_migrate(db, cfg.sql_dir, &e)) == NULL)
		return fail("migrate", e.message);
	return print(o);
}

/* acctl strategy add: where each option goes */
static const struct ac_opt strategy_opts[] = {
	AC_OPT_STR("name", struct ac_strategy_new, name),
	AC_OPT_STR("description", struct ac_strategy_new, description),
	AC_OPT_STR("symbol", struct ac_strategy_new, symbol),
	AC_OPT_STR("timeframe", struct ac_strategy_new, timeframe),
	AC_OPT_STR("strategy", struct ac_strategy_new, strategy),
	AC_OPT_STR("key-value", struct ac_strategy_new, key_value),
	AC_OPT_STR("multiplier", struct ac_strategy_new, key_value),
	AC_OPT_STR("atr-period", struct ac_strategy_new, atr_period),
	AC_OPT_STR("ema-period", struct ac_strategy_new, ema_period),
	AC_OPT_FLAG("heikin-ashi", struct ac_strategy_new, heikin_ashi, 1),
	AC_OPT_STR("max-open-trades", struct ac_strategy_new, max_open_trades),
	AC_OPT_STR("actions", struct ac_strategy_new, actions),
	AC_OPT_STR("required", struct ac_strategy_new, required),
	AC_OPT_STR("status", struct ac_strategy_new, status),
	AC_OPT_FLAG("no-opposite", struct ac_strategy_new, allow_opposite, 0),
	AC_OPT_FLAG("no-replace", struct ac_strategy_new, replace_same, 0),
	AC_OPT_STR("dedup-window", struct ac_strategy_new, dedup_window),
	AC_OPT_END
};

static int
strategy_add(int argc, char *argv[])
{
	struct ac_strategy_new in = { .allow_opposite = -1, .replace_same = -1 };
	struct ac_err e = { 0 };
	json_t *o;
	int rc;

	if ((rc = options("strategy add", strategy_opts, argc, argv, &in)) != 0)
		return rc;
	if ((o = ac_strategy_create(db, &in, cfg.base_url, &e)) == NULL)
		return fail("strategy add", e.message);
	return print(o);
}

/* acctl strategy edit --id ID [--required FIELDS] [--dedup-window SECONDS]
 * [--public-record yes|no] */
struct strategy_edit {
	const char		*id;
	const char		*public_record;
	struct ac_strategy_new	 in;
};

static const struct ac_opt strategy_edit_opts[] = {
	AC_OPT_STR("id", struct strategy_edit, id),
	AC_OPT_STR("required", struct strategy_edit, in.required),
	AC_OPT_STR("dedup-window", struct strategy_edit, in.dedup_window),
	AC_OPT_STR("public-record", struct strategy_edit, public_record),
	AC_OPT_END
};

static int
strategy_edit(int argc, char *argv[])
{
	struct strategy_edit se = { .in = { .heikin_ashi = -1, .allow_opposite = -1,
	    .replace_same = -1 } };
	struct ac_err e = { 0 };
	json_t *o;
	int rc;

	const char *pub = NULL, *vals[2];
	PGresult *res;

	if ((rc = options("strategy edit", strategy_edit_opts, argc, argv, &se)) != 0)
		return rc;
	if (se.public_record != NULL) {
		if (strcmp(se.public_record, "yes") == 0)
			pub = "true";
		else if (strcmp(se.public_record, "no") == 0)
			pub = "false";
		else
			return fail("strategy edit", "--public-record: yes or no");
	}
	if ((o = ac_strategy_edit(db, se.id, &se.in, cfg.base_url, &e)) == NULL)
		return fail("strategy edit", e.message);
	/* the track record's opt-in (the admin panel's strategy page has the
	 * same switch); a testing strategy's record stays unpublished anyway */
	vals[0] = se.id;
	vals[1] = pub;
	res = ac_db_query(db, "UPDATE strategies SET public_record = coalesce($2::boolean,"
	    " public_record) WHERE id = $1::bigint RETURNING public_record", 2, vals);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK)) {
		json_decref(o);
		return fail("strategy edit", ac_db_error(db));
	}
	if (PQntuples(res) != 1) {	/* deleted since the edit */
		PQclear(res);
		json_decref(o);
		return fail("strategy edit", "--id: no such strategy");
	}
	json_object_set_new(o, "public_record", json_boolean(*PQgetvalue(res, 0, 0) == 't'));
	PQclear(res);
	return print(o);
}

/* acctl strategy pine ID [--raw]: the strategy's Pine Script and how to
 * make its TradingView alert. */
static int
strategy_pine(int argc, char *argv[])
{
	const char *errstr = NULL;
	long long id = ac_strtonum(argv[1], 1, INT64_MAX, &errstr);
	int raw = argc > 2 && strcmp(argv[2], "--raw") == 0, found;
	json_t *st, *p;

	if (errstr != NULL || argc > 3 || (argc == 3 && !raw))
		return usage();
	if ((st = ac_strategy_get(db, id, cfg.base_url, &found)) == NULL)
		return fail("strategy pine", found ? ac_db_error(db) : "no such strategy");
	p = ac_strategy_pine(st);
	json_decref(st);
	if (raw) {
		fputs(json_string_value(json_object_get(p, "script")), stdout);
		json_decref(p);
		return 0;
	}
	return print(p);
}

static int
cmd_strategy(int argc, char *argv[])
{
	json_t *o;

	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return strategy_add(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "edit") == 0)
		return strategy_edit(argc - 1, argv + 1);
	if (argc >= 3 && strcmp(argv[1], "pine") == 0)
		return strategy_pine(argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((o = ac_strategy_list(db, cfg.base_url)) == NULL)
			return fail("strategy list", ac_db_error(db));
		return print(o);
	}
	return usage();
}

/* acctl backtest --strategy ID --bars FILE.csv [--table]: the strategy's
 * UT Bot signals recomputed over TradingView's chart export, and the
 * virtual trades they make (alert/backtest.h), as JSON or as a table. */
struct backtest_in {
	long long	 id;
	const char	*bars;
	int		 table;
};

static const struct ac_opt backtest_opts[] = {
	AC_OPT_NUM("strategy", struct backtest_in, id, 1, INT64_MAX),
	AC_OPT_STR("bars", struct backtest_in, bars),
	AC_OPT_FLAG("table", struct backtest_in, table, 1),
	AC_OPT_END
};

/* t as 2024-01-02T03:04:05Z, in a static buffer per slot (0 or 1). */
static const char *
utc(long long t, int slot)
{
	static char s[2][32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(s[slot], sizeof(s[slot]),
	    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(s[slot], sizeof(s[slot]), "%lld", t);
	return s[slot];
}

static void
bt_closed(const struct ac_bt_trade *t, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:f, s:s, s:f, s:s, s:f, s:f}",
	    "side", ac_side_name(t->side), "entry_time", utc(t->entry_time, 0), "entry", t->entry,
	    "exit_time", utc(t->exit_time, 1), "exit", t->exit,
	    "reason", ac_exit_reason_name(t->reason), "pnl", t->pnl, "pnl_percent", t->pnl_percent));
}

/* The strategy's engine and trade settings from its JSON (ac_strategy_get). */
static int
bt_settings(const json_t *st, struct ac_utbot *u, struct ac_trade_settings *set,
    const char **errstr)
{
	const json_t *ut = json_object_get(st, "ut_bot"), *tm = json_object_get(st, "trade_management");
	struct ac_utbot_params p = {
	    json_real_value(json_object_get(ut, "key_value")),
	    (int)json_integer_value(json_object_get(ut, "atr_period")),
	    (int)json_integer_value(json_object_get(ut, "ema_period")),
	    json_is_true(json_object_get(ut, "heikin_ashi")) };

	*set = (struct ac_trade_settings){
	    (int)json_integer_value(json_object_get(tm, "max_open_trades")), 0,
	    json_is_true(json_object_get(tm, "allow_opposite_signals")),
	    json_is_true(json_object_get(tm, "replace_on_same_signal")),
	    json_is_true(json_object_get(tm, "auto_close_on_tp_sl")) };
	return ac_utbot_init(u, &p, errstr);
}

/* Runs the bars of f through u and bt into the report's signals; the
 * number of bars, or -1 with errbuf. */
static long
bt_run(FILE *f, struct ac_utbot *u, struct ac_backtest *bt, json_t *signals,
    struct ac_bar *first, struct ac_bar *last, char *errbuf, size_t errsz)
{
	struct ac_barcsv r;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long nbars = 0;

	ac_barcsv_init(&r);
	while ((len = getline(&line, &cap, f)) != -1) {
		struct ac_bar b;
		enum ac_utbot_signal sig;
		int rc = ac_barcsv_line(&r, line, len > 0 && line[len - 1] == '\n' ? len - 1 : len, &b);

		if (rc < 0) {
			snprintf(errbuf, errsz, "%s", r.err);
			free(line);
			return -1;
		}
		if (rc == 0)
			continue;
		if (nbars++ == 0)
			*first = b;
		*last = b;
		if ((sig = ac_utbot_feed(u, &b)) == AC_UTBOT_NONE)
			continue;
		{
			enum ac_trade_refusal why = ac_backtest_signal(bt, sig, &b);
			json_t *s = json_pack("{s:s, s:I, s:s, s:f, s:f}", "time", utc(b.time, 0),
			    "unix", (json_int_t)b.time, "action", ac_utbot_signal_name(sig),
			    "price", b.close, "stop", u->stop);

			if (why != AC_REFUSE_NONE)
				json_object_set_new(s, "refused", json_string(ac_trade_refusal_name(why)));
			json_array_append_new(signals, s);
		}
	}
	free(line);
	return nbars;
}

/* The trades still open at the last bar, valued at its close. */
static json_t *
bt_open(const struct ac_backtest *bt, const struct ac_bar *last)
{
	json_t *a = json_array();

	for (int i = 0; i < bt->nopen; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f}",
		    "side", ac_side_name(bt->open[i].side), "entry_time", utc(bt->open_time[i], 0),
		    "entry", bt->open[i].entry, "unrealized_pnl",
		    ac_pnl_amount(bt->open[i].side, bt->open[i].entry, last->close)));
	return a;
}

/* The summary object; from and to are the first and last bars' times. */
static json_t *
bt_summary(const struct ac_bt_summary *s, long nbars, const struct ac_bar *first,
    const struct ac_bar *last)
{
	return json_pack("{s:I, s:s?, s:s?, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}",
	    "bars", (json_int_t)nbars, "from", nbars ? utc(first->time, 0) : NULL,
	    "to", nbars ? utc(last->time, 1) : NULL, "signals", (json_int_t)s->signals,
	    "trades", (json_int_t)s->trades, "wins", (json_int_t)s->wins,
	    "losses", (json_int_t)(s->trades - s->wins),
	    "win_rate_percent", ac_bt_win_rate(s) * 100, "total_pnl", s->total_pnl,
	    "average_pnl", ac_bt_average_pnl(s), "total_pnl_percent", s->total_pnl_percent,
	    "max_drawdown", s->max_drawdown);
}

/* The report as a table: signals, trades, open trades, summary. */
static void
bt_table(const json_t *rep)
{
	const json_t *sum = json_object_get(rep, "summary"), *v;
	size_t i;

	printf("%-20s  %-6s  %14s  %14s  %s\n", "time", "signal", "price", "stop", "refused");
	json_array_foreach(json_object_get(rep, "signals"), i, v)
		printf("%-20s  %-6s  %14.6f  %14.6f  %s\n", json_string_value(json_object_get(v, "time")),
		    json_string_value(json_object_get(v, "action")),
		    json_real_value(json_object_get(v, "price")), json_real_value(json_object_get(v, "stop")),
		    json_object_get(v, "refused") ? json_string_value(json_object_get(v, "refused")) : "");
	printf("\n%-4s  %-20s  %14s  %-20s  %14s  %-8s  %14s  %8s\n", "side", "entry time", "entry",
	    "exit time", "exit", "reason", "pnl", "pnl %");
	json_array_foreach(json_object_get(rep, "trades"), i, v)
		printf("%-4s  %-20s  %14.6f  %-20s  %14.6f  %-8s  %14.6f  %8.3f\n",
		    json_string_value(json_object_get(v, "side")),
		    json_string_value(json_object_get(v, "entry_time")),
		    json_real_value(json_object_get(v, "entry")),
		    json_string_value(json_object_get(v, "exit_time")),
		    json_real_value(json_object_get(v, "exit")),
		    json_string_value(json_object_get(v, "reason")),
		    json_real_value(json_object_get(v, "pnl")),
		    json_real_value(json_object_get(v, "pnl_percent")));
	json_array_foreach(json_object_get(rep, "open_trades"), i, v)
		printf("%-4s  %-20s  %14.6f  %-20s  %14s  %-8s  %14.6f\n",
		    json_string_value(json_object_get(v, "side")),
		    json_string_value(json_object_get(v, "entry_time")),
		    json_real_value(json_object_get(v, "entry")), "(open)", "", "",
		    json_real_value(json_object_get(v, "unrealized_pnl")));
	printf("\nbars %lld (%s to %s), signals %lld, trades %lld (%lld won), win rate %.2f%%,\n"
	    "total PnL %.6f (%.3f%%), average PnL %.6f, max drawdown %.6f\n",
	    (long long)json_integer_value(json_object_get(sum, "bars")),
	    json_string_value(json_object_get(sum, "from")) ?: "-",
	    json_string_value(json_object_get(sum, "to")) ?: "-",
	    (long long)json_integer_value(json_object_get(sum, "signals")),
	    (long long)json_integer_value(json_object_get(sum, "trades")),
	    (long long)json_integer_value(json_object_get(sum, "wins")),
	    json_real_value(json_object_get(sum, "win_rate_percent")),
	    json_real_value(json_object_get(sum, "total_pnl")),
	    json_real_value(json_object_get(sum, "total_pnl_percent")),
	    json_real_value(json_object_get(sum, "average_pnl")),
	    json_real_value(json_object_get(sum, "max_drawdown")));
}

static int
cmd_backtest(int argc, char *argv[])
{
	struct backtest_in in = { 0 };
	struct ac_utbot u;
	struct ac_trade_settings set;
	struct ac_backtest bt;
	struct ac_bar first = { 0 }, last = { 0 };
	json_t *st, *rep, *signals, *trades;
	const char *errstr;
	char err[256];
	FILE *f;
	long nbars;
	int found, rc;

	if ((rc = options("backtest", backtest_opts, argc, argv, &in)) != 0)
		return rc;
	if (in.id == 0 || in.bars == NULL)
		return usage();
	if ((st = ac_strategy_get(db, in.id, cfg.base_url, &found)) == NULL)
		return fail("backtest", found ? ac_db_error(db) : "no such strategy");
	if (bt_settings(st, &u, &set, &errstr) != 0) {
		json_decref(st);
		return fail("backtest", errstr);
	}
	if ((f = fopen(in.bars, "r")) == NULL) {
		json_decref(st);
		snprintf(err, sizeof(err), "%s: %s", in.bars, strerror(errno));
		return fail("backtest", err);
	}
	signals = json_array();
	trades = json_array();
	ac_backtest_init(&bt, &set, bt_closed, trades);
	nbars = bt_run(f, &u, &bt, signals, &first, &last, err, sizeof(err));
	fclose(f);
	if (nbars < 0) {
		char msg[512];

		json_decref(st);
		json_decref(signals);
		json_decref(trades);
		snprintf(msg, sizeof(msg), "%s: %s", in.bars, err);
		return fail("backtest", msg);
	}
	rep = json_pack("{s:I, s:O, s:O, s:O, s:o, s:o, s:o, s:o}", "strategy", (json_int_t)in.id,
	    "symbol", json_object_get(st, "symbol"), "timeframe", json_object_get(st, "timeframe"),
	    "ut_bot", json_object_get(st, "ut_bot"), "signals", signals, "trades", trades,
	    "open_trades", bt_open(&bt, &last), "summary", bt_summary(&bt.sum, nbars, &first, &last));
	json_decref(st);
	if (in.table) {
		bt_table(rep);
		json_decref(rep);
		return 0;
	}
	return print(rep);
}

/* The whole of file path into *out (malloc'd, NUL-terminated), *len bytes:
 * 0, or -1 with err. */
static int
slurp(const char *path, char **out, size_t *len, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r"), *m;

	*out = NULL;
	if (f == NULL || (m = open_memstream(out, len)) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	for (int c; (c = getc(f)) != EOF;)
		putc(c, m);
	if (ferror(f) | fclose(m)) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		fclose(f);
		free(*out);
		*out = NULL;
		return -1;
	}
	fclose(f);
	return 0;
}

/* The verify report as a table: each difference, then the counts. */
static void
verify_table(const json_t *rep)
{
	const json_t *v;
	size_t i;

	printf("%-13s  %-4s  %-20s  %-20s  %10s  %s\n", "difference", "sig", "engine's bar",
	    "stored on bar", "signal", "received");
	json_array_foreach(json_object_get(rep, "differences"), i, v)
		printf("%-13s  %-4s  %-20s  %-20s  %10lld  %s\n",
		    json_string_value(json_object_get(v, "kind")),
		    json_string_value(json_object_get(v, "action")),
		    json_string_value(json_object_get(v, "bar_time")) ?: "-",
		    json_string_value(json_object_get(v, "stored_bar_time")) ?: "-",
		    (long long)json_integer_value(json_object_get(v, "signal_id")),
		    json_string_value(json_object_get(v, "received_at")) ?: "-");
	printf("\nbars %lld (%s to %s): recomputed %lld, stored %lld, matched %lld, missing %lld,"
	    " extra %lld, on a different bar %lld\n",
	    (long long)json_integer_value(json_object_get(rep, "bars")),
	    json_string_value(json_object_get(rep, "from")),
	    json_string_value(json_object_get(rep, "to")),
	    (long long)json_integer_value(json_object_get(rep, "recomputed")),
	    (long long)json_integer_value(json_object_get(rep, "stored")),
	    (long long)json_integer_value(json_object_get(rep, "matched")),
	    (long long)json_integer_value(json_object_get(rep, "missing")),
	    (long long)json_integer_value(json_object_get(rep, "extra")),
	    (long long)json_integer_value(json_object_get(rep, "different_bar")));
}

/* acctl verify --strategy ID --bars FILE.csv [--table]: the stored signals
 * beside the engine's (alert/record.h); exit 3 when they differ. */
static int
cmd_verify(int argc, char *argv[])
{
	struct backtest_in in = { 0 };
	struct ac_err e = { 0 };
	char err[1024], *text;
	size_t len;
	json_t *rep;
	int rc;

	if ((rc = options("verify", backtest_opts, argc, argv, &in)) != 0)
		return rc;
	if (in.id == 0 || in.bars == NULL)
		return usage();
	if (slurp(in.bars, &text, &len, err, sizeof(err)) == -1)
		return fail("verify", err);
	rep = ac_verify_report(db, in.id, text, len, &e);
	free(text);
	if (rep == NULL) {
		int bars = e.field != NULL && strcmp(e.field, "bars") == 0;

		snprintf(err, sizeof(err), "%s%s%s", bars ? in.bars : "", bars ? ": " : "",
		    e.message);
		return fail("verify", err);
	}
	rc = json_integer_value(json_object_get(rep, "missing")) +
	    json_integer_value(json_object_get(rep, "extra")) +
	    json_integer_value(json_object_get(rep, "different_bar")) > 0 ? 3 : 0;
	if (in.table) {
		verify_table(rep);
		json_decref(rep);
	} else {
		print(rep);
	}
	return rc;
}

struct replay_ctx {
	unsigned	queued, duplicate, rejected;
};

static enum ac_spool_verdict
replay_one(const struct ac_spool_entry *e, void *arg)
{
	struct replay_ctx *ctx = arg;
	struct ac_ingest_out out;

	ac_ingest_spooled(db, e, &out);
	switch (out.result) {
	case AC_INGEST_QUEUED:
		ctx->queued++;
		break;
	case AC_INGEST_DUPLICATE:
		ctx->duplicate++;
		break;
	case AC_INGEST_REJECTED:
		ctx->rejected++;
		break;
	case AC_INGEST_HEARTBEAT:	/* spooled before heartbeats were dropped: nothing to count */
		break;
	case AC_INGEST_DB_DOWN:
	case AC_INGEST_ERROR:
	case AC_INGEST_SPOOLED:		/* not asked for: no spool_dir */
		return AC_SPOOL_STOP;
	}
	return AC_SPOOL_DONE;
}

static int
cmd_replay(int argc, char *argv[])
{
	struct replay_ctx ctx = { 0 };
	struct ac_spool_stats st;

	if (argc != 1)
		return usage();
	/* after ac-hook's own replay, if one is running: on return what the
	 * spool held is stored, by one or the other */
	if (ac_spool_replay_wait(cfg.state_dir, replay_one, &ctx, &st) == -1) {
		char msg[512];

		snprintf(msg, sizeof(msg), "spool in %s: %m", cfg.state_dir);
		return fail("replay-spool", msg);
	}
	if (st.kept > 0)
		fprintf(stderr, "acctl replay-spool: database away (%s); %u alerts kept for later\n",
		    ac_db_error(db), st.kept);
	print(json_pack("{s:i, s:i, s:i, s:i, s:i}", "queued", ctx.queued,
	    "duplicate", ctx.duplicate, "rejected", ctx.rejected, "kept", st.kept,
	    "unreadable", st.corrupt));
	return st.kept > 0 ? 1 : 0;
}

/* 1 if sql with vals finds a row, 0 if not, -1 on a database error. */
static int
exists(const char *sql, int n, const char *const *vals)
{
	PGresult *res = ac_db_query(db, sql, n, vals);
	int found;

	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return -1;
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/*
 * The demo's subscribers, in one transaction, each part only if missing:
 * plans "Demo Pro" (100 credits) and "Demo Trial" (none) covering the demo
 * strategies (ids, "1,2"), and three users with alarms on all of them —
 * alice (telegram, email), bob (email, sms), carol (Trial: no credits, so
 * her deliveries are skipped/no_credits). Returns the users as JSON, or
 * NULL with err.
 */
static json_t *
seed_subscribers(const char *ids, char *err, size_t errsz)
{
	static const struct {
		const char *email, *name, *phone, *chat, *plan, *channels;
	} users[] = {
		{ "demo.alice@example.com", "Alice (demo)", NULL, "100000001", "Demo Pro",
		  "telegram,email" },
		{ "demo.bob@example.com", "Bob (demo)", "+15550000002", NULL, "Demo Pro",
		  "email,sms" },
		{ "demo.carol@example.com", "Carol (demo)", NULL, NULL, "Demo Trial",
		  "telegram,email" },
		/* the admin panel's test signals reach test users only */
		{ "demo.tester@example.com", "Tess (test user)", NULL, "100000004", "Demo Pro",
		  "telegram,email" },
	};
	struct ac_plan_new plans[] = {
		{ .name = "Demo Pro", .price_minor = "249900", .currency = "INR", .months = "3",
		  .credits = "100", .strategies = ids, .stripe_price_id = "price_demo_pro",
		  .description = "Every demo strategy for a quarter, by card or UPI" },
		{ .name = "Demo Monthly", .price_minor = "49900", .currency = "INR", .months = "1",
		  .credits = "30", .strategies = ids, .stripe_price_id = "price_demo_monthly",
		  .max_strategies = "1", .description = "One strategy, renewed monthly" },
		{ .name = "Demo Trial", .price_minor = "0", .currency = "INR", .months = "1",
		  .credits = "0", .strategies = ids },
	};
	char ids_buf[256], uid[24], *tok, *save = NULL;
	struct ac_err e = { 0 };
	json_t *out = json_array(), *o;
	size_t i;
	int found;

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		const char *v[1] = { plans[i].name };

		if ((found = exists("SELECT 1 FROM plans WHERE name = $1", 1, v)) == -1)
			goto dberr;
		if (!found && (o = ac_plan_create(db, &plans[i], &e)) == NULL)
			goto fail;
		if (!found)
			json_decref(o);
	}
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		struct ac_user_new un = { .email = users[i].email, .password = "demo-password",
		    .name = users[i].name, .phone = users[i].phone,
		    .telegram_chat_id = users[i].chat };
		const char *v[2] = { uid, users[i].plan };
		long long id;

		if ((id = ac_user_id(db, users[i].email, &e)) == -1)
			goto fail;
		if (id == 0) {
			if ((o = ac_user_create(db, &un, &e)) == NULL)
				goto fail;
			id = (long long)json_integer_value(json_object_get(o, "id"));
			json_decref(o);
		}
		snprintf(uid, sizeof(uid), "%lld", id);
		if (strstr(users[i].email, "tester") != NULL &&
		    (found = exists("UPDATE users SET is_test = true WHERE id = $1 RETURNING 1", 1,
		    v)) == -1)
			goto dberr;
		if ((found = exists("SELECT 1 FROM subscriptions s JOIN plans p ON p.id = s.plan_id"
		    " WHERE s.user_id = $1 AND p.name = $2 AND s.status = 'active'"
		    " AND s.period_end > now()", 2, v)) == -1)
			goto dberr;
		if (!found && (o = ac_subscribe_manual(db, id, users[i].plan, &e)) == NULL)
			goto fail;
		if (!found)
			json_decref(o);
		snprintf(ids_buf, sizeof(ids_buf), "%s", ids);
		for (tok = strtok_r(ids_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			struct ac_alarm_in an = { .user_id = id, .strategy_id = tok,
			    .channels = users[i].channels, .on_entry = 1, .on_exit = 1,
			    .on_replacement = 1, .enabled = 1 };
			const char *va[2] = { uid, tok };

			if ((found = exists("SELECT 1 FROM alarms WHERE user_id = $1"
			    " AND strategy_id = $2", 2, va)) == -1)
				goto dberr;
			if (!found && (o = ac_alarm_create(db, &an, &e)) == NULL)
				goto fail;
			if (!found)
				json_decref(o);
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "email", users[i].email,
		    "password", "demo-password", "plan", users[i].plan, "channels",
		    users[i].channels));
	}
	return out;
dberr:
	ac_db_err(db, &e);
fail:
	snprintf(err, errsz, "%s", e.message);
	json_decref(out);
	return NULL;
}

/* The demo's operator: "admin" with every permission, made if missing, and
 * only when AC_BASE_URL is a loopback address (a dev stack). {"url",
 * "username", "password"} or {"skipped": why}, or NULL with err. */
static json_t *
seed_admin(char *err, size_t errsz)
{
	static const char pw[] = "demo-admin-password";
	const char *v[1] = { "admin" };
	struct ac_admin_new in = { .username = "admin", .email = "admin@example.com",
	    .password = pw, .name = "Demo Operator", .permissions = "all" };
	struct ac_err e = { 0 };
	json_t *o;
	int found;

	/* a known password with every right: only on a stack no one else reaches */
	if (strncmp(cfg.base_url, "http://127.", 11) != 0 &&
	    strncmp(cfg.base_url, "http://localhost", 16) != 0 &&
	    strncmp(cfg.base_url, "http://[::1]", 12) != 0)
		return json_pack("{s:s}", "skipped", "AC_BASE_URL is not a loopback address:"
		    " make an operator with acctl admin add");
	if ((found = exists("SELECT 1 FROM admin_users WHERE username = $1", 1, v)) == -1) {
		snprintf(err, errsz, "%s", ac_db_error(db));
		return NULL;
	}
	if (!found) {
		char target[40];

		if ((o = ac_admin_create(db, &in, &e)) == NULL) {
			snprintf(err, errsz, "%s", e.message);
			return NULL;
		}
		snprintf(target, sizeof(target), "admin:%lld",
		    (long long)json_integer_value(json_object_get(o, "id")));
		json_decref(o);
		if (ac_audit(db, NULL, "acctl", "admin.create", target, NULL, "") == -1) {
			snprintf(err, errsz, "%s", ac_db_error(db));
			return NULL;
		}
	}
	return json_pack("{s:s+, s:s, s:s}", "url", cfg.base_url, "/admin", "username", "admin",
	    "password", pw);
}

/* The demo's public track record: strategy id's record opted in and 40
 * past signals, BUY and SELL in turn 13 hours apart up to the last hour,
 * stored as processed (before any demo subscriber: nobody is charged or
 * told of them). Each only if missing. 0, or -1. */
static int
seed_history(const char *id)
{
	const char *v[1] = { id };

	return exists("WITH st AS (UPDATE strategies SET public_record = true WHERE id = $1::bigint"
	    "  RETURNING id, symbol, timeframe)"
	    " INSERT INTO signals (strategy_id, idempotency_key, raw_body, received_at, symbol,"
	    "  timeframe, action, price, status, processed_at)"
	    " SELECT st.id, 'demo:history:' || i, '{}', t, st.symbol, st.timeframe,"
	    "  CASE WHEN i % 2 = 1 THEN 'BUY' ELSE 'SELL' END,"
	    "  round((42000 + 1500 * sin(i * 0.7) + 60 * i)::numeric, 2), 'processed',"
	    "  t + interval '40 milliseconds'"
	    " FROM st, generate_series(1, 40) i,"
	    "  LATERAL (SELECT date_trunc('hour', now()) - (41 - i) * interval '13 hours' AS t) x"
	    " ON CONFLICT DO NOTHING RETURNING 1", 1, v) == -1 ? -1 : 0;
}

/* The demo: a UT Bot strategy on BTCUSDT 1h and on ETHUSDT 4h, the
 * subscribers of seed_subscribers(), an operator (seed_admin()) and the
 * first one's public track record (seed_history()). */
static int
cmd_seed_demo(int argc, char *argv[])
{
	static const struct ac_strategy_new demo[] = {
		{ .symbol = "BTCUSDT", .timeframe = "1h", .strategy = "UT Bot",
		  .description = "UT Bot Alerts (a=1, ATR 10) on Binance BTCUSDT, 1 hour bars",
		  .key_value = "1", .atr_period = "10", .allow_opposite = -1, .replace_same = -1 },
		{ .symbol = "ETHUSDT", .timeframe = "4h", .strategy = "UT Bot",
		  .description = "UT Bot Alerts (a=2, ATR 10, Heikin-Ashi) on ETHUSDT, 4 hour bars",
		  .key_value = "2", .atr_period = "10", .heikin_ashi = 1,
		  .allow_opposite = -1, .replace_same = -1 },
	};
	json_t *all, *out = json_array(), *s, *users = NULL, *admin;
	char err[1024], ids[256] = "", first[24];
	struct ac_err e = { 0 };
	size_t i, k;

	if (argc != 1)
		return usage();
	if ((all = ac_strategy_list(db, cfg.base_url)) == NULL)
		return fail("seed-demo", ac_db_error(db));
	for (i = 0; i < sizeof(demo) / sizeof(demo[0]); i++) {
		json_t *found = NULL;

		json_array_foreach(all, k, s)
			if (strcmp(json_string_value(json_object_get(s, "symbol")), demo[i].symbol) == 0 &&
			    strcmp(json_string_value(json_object_get(s, "timeframe")), demo[i].timeframe) == 0 &&
			    strcmp(json_string_value(json_object_get(s, "strategy")), demo[i].strategy) == 0)
				found = s;
		if (found != NULL) {
			json_array_append(out, found);
			continue;
		}
		if ((s = ac_strategy_create(db, &demo[i], cfg.base_url, &e)) == NULL) {
			json_decref(all);
			json_decref(out);
			return fail("seed-demo", e.message);
		}
		json_array_append_new(out, s);
	}
	json_decref(all);
	json_array_foreach(out, k, s) {
		size_t len = strlen(ids);

		snprintf(ids + len, sizeof(ids) - len, "%s%lld", len ? "," : "",
		    (long long)json_integer_value(json_object_get(s, "id")));
	}
	if (ac_db_begin(db) == -1) {
		json_decref(out);
		return fail("seed-demo", ac_db_error(db));
	}
	if ((users = seed_subscribers(ids, err, sizeof(err))) == NULL || ac_db_commit(db) == -1) {
		if (users != NULL)
			snprintf(err, sizeof(err), "%s", ac_db_error(db));
		ac_db_rollback(db);
		json_decref(users);
		json_decref(out);
		return fail("seed-demo", err);
	}
	snprintf(first, sizeof(first), "%lld", strtoll(ids, NULL, 10));
	if (seed_history(first) == -1) {
		json_decref(users);
		json_decref(out);
		return fail("seed-demo", ac_db_error(db));
	}
	if ((admin = seed_admin(err, sizeof(err))) == NULL) {
		json_decref(users);
		json_decref(out);
		return fail("seed-demo", err);
	}
	return print(json_pack("{s:o, s:o, s:o}", "strategies", out, "users", users, "admin",
	    admin));
}

/* acctl jobs enqueue: N jobs in one statement. */
struct jobs_enqueue {
	const char	*kind, *payload, *key;
	long long	 count, run_in;
};

static const struct ac_opt jobs_enqueue_opts[] = {
	AC_OPT_STR("kind", struct jobs_enqueue, kind),
	AC_OPT_STR("payload", struct jobs_enqueue, payload),
	AC_OPT_STR("unique-key", struct jobs_enqueue, key),
	AC_OPT_NUM("count", struct jobs_enqueue, count, 1, 10000000),
	AC_OPT_NUM("run-in", struct jobs_enqueue, run_in, 0, 31536000),
	AC_OPT_END
};

static int
jobs_enqueue(int argc, char *argv[])
{
	struct jobs_enqueue in = { .count = 1 };
	const char *payload;
	long long queued;
	json_error_t jerr;
	json_t *p;
	char msg[512];
	int rc;

	if ((rc = options("jobs enqueue", jobs_enqueue_opts, argc, argv, &in)) != 0)
		return rc;
	if (in.kind == NULL)
		return usage();
	payload = in.payload;
	if (payload != NULL) {
		if ((p = json_loads(payload, 0, &jerr)) == NULL || !json_is_object(p)) {
			snprintf(msg, sizeof(msg), "--payload must be a JSON object%s%s",
			    p == NULL ? ": " : "", p == NULL ? jerr.text : "");
			json_decref(p);
			return fail("jobs enqueue", msg);
		}
		json_decref(p);
	}
	if ((queued = ac_job_enqueue_n(db, in.kind, payload, in.key, (int)in.count,
	    in.run_in * 1000)) == -1)
		return fail("jobs enqueue", ac_db_error(db));
	return print(json_pack("{s:s, s:I, s:I}", "kind", in.kind, "requested", (json_int_t)in.count,
	    "queued", (json_int_t)queued));
}

/* acctl jobs [retry ID | enqueue ...] */
static int
cmd_jobs(int argc, char *argv[])
{
	const char *errstr;
	char err[512];
	struct ac_err e = { 0 };
	long long id;
	json_t *o;

	if (argc == 1) {
		if ((o = ac_jobs_summary(db)) == NULL)
			return fail("jobs", ac_db_error(db));
		return print(o);
	}
	if (argc >= 2 && strcmp(argv[1], "enqueue") == 0)
		return jobs_enqueue(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "retry") == 0) {
		id = ac_strtonum(argv[2], 1, INT64_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, sizeof(err), "job id %s: %s", argv[2], errstr);
			return fail("jobs retry", err);
		}
		if ((o = ac_job_retry(db, id, &e)) == NULL)
			return fail("jobs retry", e.message);
		return print(o);
	}
	return usage();
}

/* Commits the transaction the command opened and prints o (stolen); or,
 * when o is NULL, rolls back and fails with err. */
static int
finish_tx(const char *what, json_t *o, const char *err)
{
	if (o == NULL) {
		ac_db_rollback(db);
		return fail(what, err);
	}
	if (ac_db_commit(db) == -1) {
		json_decref(o);
		return fail(what, ac_db_error(db));
	}
	return print(o);
}

/* acctl user add --email E --password P [--name N] [--phone P]
 * [--telegram-chat-id ID] [--timezone TZ] */
static const struct ac_opt user_opts[] = {
	AC_OPT_STR("email", struct ac_user_new, email),
	AC_OPT_STR("password", struct ac_user_new, password),
	AC_OPT_STR("name", struct ac_user_new, name),
	AC_OPT_STR("phone", struct ac_user_new, phone),
	AC_OPT_STR("telegram-chat-id", struct ac_user_new, telegram_chat_id),
	AC_OPT_STR("timezone", struct ac_user_new, timezone),
	AC_OPT_END
};

static int
cmd_user(int argc, char *argv[])
{
	struct ac_user_new in = { 0 };
	struct ac_err e = { 0 };
	json_t *o;
	int rc;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return usage();
	if ((rc = options("user add", user_opts, argc - 1, argv + 1, &in)) != 0)
		return rc;
	if (ac_db_begin(db) == -1)
		return fail("user add", ac_db_error(db));
	o = ac_user_create(db, &in, &e);
	return finish_tx("user add", o, e.message);
}

/* acctl plan add --name N --price-cents N --currency C --months M --credits N
 * --strategies ID[,ID...] [--days D] [--max-open-trades N] [--credit-cost N] */
static const struct ac_opt plan_opts[] = {
	AC_OPT_STR("name", struct ac_plan_new, name),
	AC_OPT_STR("price-cents", struct ac_plan_new, price_minor),
	AC_OPT_STR("currency", struct ac_plan_new, currency),
	AC_OPT_STR("months", struct ac_plan_new, months),
	AC_OPT_STR("days", struct ac_plan_new, days),
	AC_OPT_STR("credits", struct ac_plan_new, credits),
	AC_OPT_STR("strategies", struct ac_plan_new, strategies),
	AC_OPT_STR("max-open-trades", struct ac_plan_new, max_open_trades),
	AC_OPT_STR("credit-cost", struct ac_plan_new, credit_cost),
	AC_OPT_STR("max-strategies", struct ac_plan_new, max_strategies),
	AC_OPT_STR("stripe-price-id", struct ac_plan_new, stripe_price_id),
	AC_OPT_STR("description", struct ac_plan_new, description),
	AC_OPT_END
};

static int
cmd_plan(int argc, char *argv[])
{
	struct ac_plan_new in = { 0 };
	struct ac_err e = { 0 };
	json_t *o;
	int rc;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return usage();
	if ((rc = options("plan add", plan_opts, argc - 1, argv + 1, &in)) != 0)
		return rc;
	if (ac_db_begin(db) == -1)
		return fail("plan add", ac_db_error(db));
	o = ac_plan_create(db, &in, &e);
	return finish_tx("plan add", o, e.message);
}

/* acctl subscribe --email E --plan NAME */
struct subscribe {
	const char	*email, *plan;
};

static const struct ac_opt subscribe_opts[] = {
	AC_OPT_STR("email", struct subscribe, email),
	AC_OPT_STR("plan", struct subscribe, plan),
	AC_OPT_END
};

static int
cmd_subscribe(int argc, char *argv[])
{
	struct subscribe in = { NULL, NULL };
	struct ac_err e = { 0 };
	long long uid;
	json_t *o = NULL;
	int rc;

	if ((rc = options("subscribe", subscribe_opts, argc, argv, &in)) != 0)
		return rc;
	if (in.email == NULL || in.plan == NULL)
		return usage();
	if (ac_db_begin(db) == -1)
		return fail("subscribe", ac_db_error(db));
	if ((uid = ac_user_id(db, in.email, &e)) > 0)
		o = ac_subscribe_manual(db, uid, in.plan, &e);
	return finish_tx("subscribe", o, e.message);
}

/* acctl payment list|approve|reject */
struct payment_opts {
	const char	*status, *email, *by, *reason;
	long long	 id;
};

static const struct ac_opt payment_opts[] = {
	AC_OPT_STR("status", struct payment_opts, status),
	AC_OPT_STR("email", struct payment_opts, email),
	AC_OPT_STR("by", struct payment_opts, by),
	AC_OPT_STR("reason", struct payment_opts, reason),
	AC_OPT_NUM("id", struct payment_opts, id, 1, INT64_MAX),
	AC_OPT_END
};

static int
cmd_payment(int argc, char *argv[])
{
	struct payment_opts o = { 0 };
	struct ac_err e = { 0 };
	const char *what, *by;
	char name[96];
	long long uid = 0;
	json_t *out;
	int rc, approve;

	if (argc < 2)
		return usage();
	what = argv[1];
	argc--, argv++;
	/* "approve 12": the id may stand first */
	if (argc > 1 && strspn(argv[1], "0123456789") == strlen(argv[1]) && *argv[1] != '\0') {
		o.id = strtoll(argv[1], NULL, 10);
		argv[1] = argv[0];
		argc--, argv++;
	}
	snprintf(name, sizeof(name), "payment %s", what);
	if ((rc = options(name, payment_opts, argc, argv, &o)) != 0)
		return rc;
	if (strcmp(what, "list") == 0) {
		if (o.status != NULL && strcmp(o.status, "pending") != 0 &&
		    strcmp(o.status, "approved") != 0 && strcmp(o.status, "rejected") != 0)
			return fail(name, "--status: pending, approved or rejected");
		if (o.email != NULL && (uid = ac_user_id(db, o.email, &e)) <= 0)
			return fail(name, e.message);
		if ((out = ac_payments_list(db, uid, o.status, 1000, &e)) == NULL)
			return fail(name, e.message);
		return print(out);
	}
	if (strcmp(what, "show") == 0) {
		const char *proof;
		char path[4096];

		if (o.id <= 0)
			return fail(name, "which payment? acctl payment show ID");
		if ((out = ac_payment_get(db, o.id, 0, &e)) == NULL)
			return fail(name, e.message);
		if ((proof = json_string_value(json_object_get(out, "proof_file"))) != NULL) {
			snprintf(path, sizeof(path), "%s/proofs/%s", cfg.state_dir, proof);
			json_object_set_new(out, "proof_path", json_string(path));
		}
		return print(out);
	}
	if (strcmp(what, "approve") != 0 && strcmp(what, "reject") != 0)
		return usage();
	approve = strcmp(what, "approve") == 0;
	if (o.id <= 0)
		return fail(name, "which payment? acctl payment approve|reject ID");
	if ((by = o.by) == NULL && (by = getenv("SUDO_USER")) == NULL && (by = getenv("USER")) == NULL)
		by = "acctl";
	if ((out = ac_payment_review(db, o.id, approve, by, o.reason, &e)) == NULL)
		return fail(name, e.message);
	return print(out);
}

/* acctl billing sweep: one pass of what the worker runs every minute. */
static int
cmd_billing(int argc, char *argv[])
{
	struct ac_sweep_stats st;
	struct ac_err e = { 0 };

	if (argc != 2 || strcmp(argv[1], "sweep") != 0)
		return usage();
	ac_billing_setup(&(struct ac_billing_cfg){ .site = ac_setting_str(&cfg, AC_S_BASE_URL),
	    .grace_days = ac_setting_int(&cfg, AC_S_PAST_DUE_GRACE_DAYS),
	    .reminder_days = ac_setting_int(&cfg, AC_S_RENEWAL_REMINDER_DAYS) });
	if (ac_billing_sweep(db, &st, &e) == -1)
		return fail("billing sweep", e.message);
	return print(json_pack("{s:I, s:I, s:I}", "expired", (json_int_t)st.expired, "unpaid",
	    (json_int_t)st.unpaid, "reminded", (json_int_t)st.reminded));
}

/* acctl alarm add --email E --strategy ID --channels LIST [--no-entry]
 * [--no-exit] [--no-replacement] [--min-price X] [--max-price Y] */
struct alarm_add {
	const char		*email;
	struct ac_alarm_in	 in;
};

static const struct ac_opt alarm_opts[] = {
	AC_OPT_STR("email", struct alarm_add, email),
	AC_OPT_STR("strategy", struct alarm_add, in.strategy_id),
	AC_OPT_STR("channels", struct alarm_add, in.channels),
	AC_OPT_FLAG("no-entry", struct alarm_add, in.on_entry, 0),
	AC_OPT_FLAG("no-exit", struct alarm_add, in.on_exit, 0),
	AC_OPT_FLAG("no-replacement", struct alarm_add, in.on_replacement, 0),
	AC_OPT_STR("min-price", struct alarm_add, in.min_price),
	AC_OPT_STR("max-price", struct alarm_add, in.max_price),
	AC_OPT_END
};

static int
cmd_alarm(int argc, char *argv[])
{
	struct alarm_add a = { NULL, { .on_entry = 1, .on_exit = 1, .on_replacement = 1, .enabled = 1 } };
	struct ac_err e = { 0 };
	json_t *o = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return usage();
	if ((rc = options("alarm add", alarm_opts, argc - 1, argv + 1, &a)) != 0)
		return rc;
	if (a.email == NULL)
		return usage();
	if (ac_db_begin(db) == -1)
		return fail("alarm add", ac_db_error(db));
	if ((a.in.user_id = ac_user_id(db, a.email, &e)) > 0)
		o = ac_alarm_create(db, &a.in, &e);
	return finish_tx("alarm add", o, e.message);
}

/* acctl credits grant --email E --amount N --reason R [--key K]
 * acctl credits adjust --email E --amount ±N --reason R [--key K]
 * acctl credits show --email E
 * A grant only adds; an adjustment adds or takes away, never below 0. The
 * reason is stored as the row's reference; a --key seen before changes
 * nothing. */
struct credits {
	const char	*email, *amount, *reason, *key;
};

static const struct ac_opt credits_opts[] = {
	AC_OPT_STR("email", struct credits, email),
	AC_OPT_STR("amount", struct credits, amount),
	AC_OPT_STR("reason", struct credits, reason),
	AC_OPT_STR("key", struct credits, key),
	AC_OPT_END
};

static int
cmd_credits(int argc, char *argv[])
{
	struct credits in = { NULL, NULL, NULL, NULL };
	const char *email, *amount, *reason, *key, *errstr = NULL;
	char err[1024], token[AC_TOKEN_LEN + 1], genkey[64], what[32];
	struct ac_ledger_entry e = { .kind = "grant" };
	struct ac_err ae = { 0 };
	enum ac_ledger_result lr;
	long long balance = 0;
	json_t *o = NULL;
	int c, rc, show, adjust;

	if (argc < 2 || (strcmp(argv[1], "grant") != 0 && strcmp(argv[1], "adjust") != 0 &&
	    strcmp(argv[1], "show") != 0))
		return usage();
	show = strcmp(argv[1], "show") == 0;
	adjust = strcmp(argv[1], "adjust") == 0;
	snprintf(what, sizeof(what), "credits %s", argv[1]);
	if ((rc = options(what, credits_opts, argc - 1, argv + 1, &in)) != 0)
		return rc;
	email = in.email;
	amount = in.amount;
	reason = in.reason;
	key = in.key;
	if (email == NULL || (show && (amount || reason || key)))
		return usage();
	if (!show) {
		if (amount == NULL)
			return fail(what, "--amount is required");
		if (reason == NULL || *reason == '\0')
			return fail(what, "--reason is required: say why, it is kept in the ledger");
		/* strtonum takes no '+': "+5" reads as 5, "+-5" stays invalid */
		e.amount = ac_strtonum(amount + (adjust && amount[0] == '+' &&
		    isdigit((unsigned char)amount[1])),
		    adjust ? -100000000 : 1, 100000000, &errstr);
		if (errstr == NULL && e.amount == 0)
			errstr = "zero";
		if (errstr != NULL) {
			snprintf(err, sizeof(err), "--amount %s: %s (%s)", amount, errstr, adjust ?
			    "-100000000 to 100000000, not 0" :
			    "1 to 100000000; to take credits away use credits adjust");
			return fail(what, err);
		}
		if (adjust)
			e.kind = "adjustment";
		if (key == NULL) {
			if (ac_token_new(token) == -1)
				return fail(what, "no randomness for a key");
			snprintf(genkey, sizeof(genkey), "%s:%s", e.kind, token);
			key = genkey;
		}
		e.key = key;
		e.reference = reason;
	}
	if (ac_db_begin(db) == -1)
		return fail(what, ac_db_error(db));
	if ((e.user_id = ac_user_id(db, email, &ae)) <= 0)
		return finish_tx(what, NULL, ae.message);
	if (show) {
		o = ac_ledger_show(db, e.user_id, 100, &c);
		snprintf(err, sizeof(err), "%s", ac_db_error(db));
		return finish_tx(what, o, err);
	}
	switch (lr = ac_ledger_post(db, &e, &balance)) {
	case AC_LEDGER_DONE:
		o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "email", email, "kind", e.kind,
		    "amount", (json_int_t)e.amount, "balance", (json_int_t)balance,
		    "reason", reason, "key", key);
		break;
	case AC_LEDGER_ALREADY:
		snprintf(err, sizeof(err), "a ledger row with this --key exists; nothing changed");
		break;
	case AC_LEDGER_INSUFFICIENT:
		snprintf(err, sizeof(err), "--amount %lld would make the balance negative: the"
		    " balance is %lld; nothing changed", e.amount, balance);
		break;
	default:
		snprintf(err, sizeof(err), "%s: %s", ac_ledger_result_name(lr), ac_db_error(db));
		break;
	}
	return finish_tx(what, o, err);
}

/* acctl deliveries --signal ID */
struct deliveries {
	long long	 signal;
};

static const struct ac_opt deliveries_opts[] = {
	AC_OPT_NUM("signal", struct deliveries, signal, 1, INT64_MAX),
	AC_OPT_END
};

static int
cmd_deliveries(int argc, char *argv[])
{
	struct deliveries in = { 0 };
	char err[256];
	long long id;
	json_t *o;
	int found, rc;

	if ((rc = options("deliveries", deliveries_opts, argc, argv, &in)) != 0)
		return rc;
	if ((id = in.signal) == 0)
		return usage();
	if ((o = ac_fanout_deliveries(db, id, &found)) == NULL) {
		if (found)
			return fail("deliveries", ac_db_error(db));
		snprintf(err, sizeof(err), "no signal %lld", id);
		return fail("deliveries", err);
	}
	return print(o);
}

/* acctl telegram link-code: the one option, into a const char * */
static const struct ac_opt link_code_opts[] = {
	{ "email", AC_OT_STR, 0, 0, 0 },
	AC_OPT_END
};

/* acctl telegram set-webhook | link-code --email E */
static int
cmd_telegram(int argc, char *argv[])
{
	static const struct ac_stmt st_expiry = { "acctl_tg_expiry",
		"SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		" FROM telegram_link_codes WHERE code = $1", 1 };
	const char *bot = ac_setting_str(&cfg, AC_S_TELEGRAM_BOT_USERNAME);
	char code[AC_TELEGRAM_CODE_LEN + 1], link[256];
	struct ac_err ae = { 0 };
	const char *vals[1] = { code }, *email = NULL;
	long long user;
	PGresult *res;
	json_t *o;

	if (argc == 2 && strcmp(argv[1], "set-webhook") == 0) {
		if ((o = ac_telegram_set_webhook(&cfg, &ae)) == NULL)
			return fail("telegram set-webhook", ae.message);
		return print(o);
	}
	if (argc < 2 || strcmp(argv[1], "link-code") != 0 ||
	    options("telegram link-code", link_code_opts, argc - 1, argv + 1, &email) != 0 ||
	    email == NULL)
		return usage();
	if (bot == NULL || *bot == '\0')
		return fail("telegram link-code", "AC_TELEGRAM_BOT_USERNAME is not set");
	if ((user = ac_user_id(db, email, &ae)) <= 0)
		return fail("telegram link-code", ae.message);
	if (ac_telegram_link_code(db, user, code, sizeof(code)) == -1)
		return fail("telegram link-code", ac_db_error(db));
	res = ac_db_exec(db, &st_expiry, vals, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		return fail("telegram link-code", ac_db_error(db));
	snprintf(link, sizeof(link), "https://t.me/%s?start=%s", bot, code);
	o = json_pack("{s:s, s:s, s:s}", "code", code, "deep_link", link, "expires_at",
	    PQgetvalue(res, 0, 0));
	PQclear(res);
	return print(o);
}

/* acctl admin add|passwd|permissions|telegram */
static const struct ac_opt admin_opts[] = {
	AC_OPT_STR("username", struct ac_admin_new, username),
	AC_OPT_STR("email", struct ac_admin_new, email),
	AC_OPT_STR("password", struct ac_admin_new, password),
	AC_OPT_STR("name", struct ac_admin_new, name),
	AC_OPT_STR("phone", struct ac_admin_new, phone),
	AC_OPT_STR("permissions", struct ac_admin_new, permissions),
	AC_OPT_STR("telegram", struct ac_admin_new, telegram),
	AC_OPT_END
};

static int
cmd_admin(int argc, char *argv[])
{
	struct ac_admin_new in = { 0 };
	struct ac_err e = { 0 };
	char what[32];
	json_t *o;
	int rc;

	if (argc < 2)
		return usage();
	snprintf(what, sizeof(what), "admin %s", argv[1]);
	if ((rc = options(what, admin_opts, argc - 1, argv + 1, &in)) != 0)
		return rc;
	/* --password -: the first line of stdin, kept out of ps and the history */
	if (in.password != NULL && strcmp(in.password, "-") == 0) {
		static char line[AC_PASSWORD_MAX + 2];

		if (fgets(line, sizeof(line), stdin) == NULL)
			return fail(what, "--password -: no line on stdin");
		line[strcspn(line, "\r\n")] = '\0';
		in.password = line;
	}
	if (ac_db_begin(db) == -1)
		return fail(what, ac_db_error(db));
	if (strcmp(argv[1], "add") == 0)
		o = ac_admin_create(db, &in, &e);
	else if (strcmp(argv[1], "passwd") == 0)
		o = ac_admin_passwd(db, in.username, in.password, &e);
	else if (strcmp(argv[1], "permissions") == 0)
		o = ac_admin_set_permissions(db, in.username, in.permissions, &e);
	else if (strcmp(argv[1], "telegram") == 0)
		o = ac_admin_set_telegram(db, in.username, in.telegram, &e);
	else {
		ac_db_rollback(db);
		return usage();
	}
	if (o != NULL) {
		/* operators' accounts change in the audit log too, by "acctl" */
		json_t *d = json_pack("{s:O?, s:O?}", "permissions", json_object_get(o, "permissions"),
		    "telegram_chat_id", json_object_get(o, "telegram_chat_id"));
		char target[40];

		snprintf(target, sizeof(target), "admin:%lld",
		    json_integer_value(json_object_get(o, "id")));
		if (ac_audit(db, NULL, "acctl", strcmp(argv[1], "add") == 0 ? "admin.create" :
		    strcmp(argv[1], "passwd") == 0 ? "admin.password" :
		    strcmp(argv[1], "telegram") == 0 ? "admin.telegram" : "admin.permissions",
		    target, d, "") == -1) {
			json_decref(o);
			o = NULL;
			snprintf(e.message, sizeof(e.message), "audit: %s", ac_db_error(db));
		}
		json_decref(d);
	}
	return finish_tx(what, o, e.message);
}

/* The backup settings as lib/ops takes them. */
static struct ac_backup_cfg
backup_cfg(const char *dir, long long keep)
{
	return (struct ac_backup_cfg){ .database_url = cfg.database_url,
	    .state_dir = cfg.state_dir,
	    .dir = dir != NULL ? dir : ac_setting_str(&cfg, AC_S_BACKUP_DIR),
	    .pg_bindir = ac_setting_str(&cfg, AC_S_PG_BINDIR),
	    .keep = keep > 0 ? (int)keep : ac_setting_int(&cfg, AC_S_BACKUP_KEEP) };
}

/* acctl backup [--dir DIR] [--keep N] */
struct backup_opts {
	const char	*dir;
	long long	 keep;
};

static const struct ac_opt backup_opts[] = {
	AC_OPT_STRLEN("dir", struct backup_opts, dir, 1, 0),
	AC_OPT_NUM("keep", struct backup_opts, keep, 1, 10000),
	AC_OPT_END
};

static int
cmd_backup(int argc, char *argv[])
{
	struct backup_opts in = { NULL, 0 };
	struct ac_backup_cfg bc;
	struct ac_backup_out out;
	struct ac_err e = { 0 };
	int rc;

	if ((rc = options("backup", backup_opts, argc, argv, &in)) != 0)
		return rc;
	bc = backup_cfg(in.dir, in.keep);
	if (ac_backup_make(&bc, &out, &e) == -1)
		return fail("backup", e.message);
	return print(json_pack("{s:s, s:I, s:f, s:i, s:i}", "file", out.file, "bytes",
	    (json_int_t)out.bytes, "seconds", out.seconds, "kept", bc.keep, "removed",
	    out.removed));
}

/* acctl restore FILE [--overwrite-spool] */
static const struct ac_opt restore_opts[] = {
	{ "overwrite-spool", AC_OT_FLAG, 0, 1, 0 },
	AC_OPT_END
};

static int
cmd_restore(int argc, char *argv[])
{
	struct ac_backup_cfg bc = backup_cfg(NULL, 0);
	struct ac_restore_out out;
	struct ac_err e = { 0 };
	const char *file;
	int overwrite = 0, rc;

	if (argc < 2 || argv[1][0] == '-')
		return usage();
	file = argv[1];
	argv[1] = argv[0];
	if ((rc = options("restore", restore_opts, argc - 1, argv + 1, &overwrite)) != 0)
		return rc;
	if (ac_backup_restore(db, &bc, file, overwrite, &out, &e) == -1)
		return fail("restore", e.message);
	return print(json_pack("{s:s, s:I, s:f, s:i}", "file", file, "bytes",
	    (json_int_t)out.bytes, "seconds", out.seconds, "tables", out.tables));
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
		int nodb;	/* runs without the database */
	} cmds[] = {
		{ "config", cmd_config, 1 },
		{ "migrate", cmd_migrate, 0 },
		{ "strategy", cmd_strategy, 0 },
		{ "backtest", cmd_backtest, 0 },
		{ "verify", cmd_verify, 0 },
		{ "replay-spool", cmd_replay, 0 },
		{ "seed-demo", cmd_seed_demo, 0 },
		{ "jobs", cmd_jobs, 0 },
		{ "user", cmd_user, 0 },
		{ "plan", cmd_plan, 0 },
		{ "subscribe", cmd_subscribe, 0 },
		{ "payment", cmd_payment, 0 },
		{ "billing", cmd_billing, 0 },
		{ "alarm", cmd_alarm, 0 },
		{ "credits", cmd_credits, 0 },
		{ "deliveries", cmd_deliveries, 0 },
		{ "telegram", cmd_telegram, 0 },
		{ "admin", cmd_admin, 0 },
		{ "backup", cmd_backup, 1 },	/* pg_dump connects itself */
		{ "restore", cmd_restore, 0 },
	};
	const char *config = NULL;
	struct ac_err ce = { 0 };
	int i = 1, rc;

	if (argc > 2 && strcmp(argv[1], "--config") == 0) {
		config = argv[2];
		i = 3;
	} else if (argc > 1 && strncmp(argv[1], "--config=", 9) == 0) {
		config = argv[1] + 9;
		i = 2;
	}
	if (i >= argc)
		return usage();
	if (ac_config_load(&cfg, config, &ce) == -1)
		return fail("config", ce.message);
	ac_log_init("acctl", ac_setting_source(&cfg, AC_S_LOG_LEVEL) == AC_SRC_DEFAULT ?
	    AC_LOG_WARN : cfg.log_level);
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		db = cmds[k].nodb ? NULL : ac_db_new(cfg.database_url, "acctl", 5, 0);
		if (cmds[k].nodb) {
			rc = cmds[k].fn(argc - i, argv + i);
		} else if (ac_db_conn(db) == NULL) {
			rc = fail(argv[i], ac_db_error(db));
		} else {
			rc = cmds[k].fn(argc - i, argv + i);
		}
		if (db != NULL)
			ac_db_free(db);
		ac_config_free(&cfg);
		return rc;
	}
	return usage();
}
