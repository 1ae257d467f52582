/*
 * acctl — the operator's tool. Every command prints JSON on stdout, and on
 * failure a clear message on stderr and a non-zero exit.
 *
 *	acctl [--config FILE] migrate
 *	acctl strategy add --symbol S --timeframe T --strategy NAME [options]
 *	acctl strategy list
 *	acctl replay-spool
 *	acctl seed-demo
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "ingest.h"
#include "log.h"
#include "migrate.h"
#include "spool.h"
#include "strategy.h"

static struct ac_config cfg;
static struct ac_db *db;

static int
usage(void)
{
	fprintf(stderr,
	    "usage: acctl [--config FILE] COMMAND\n"
	    "  migrate                      apply pending SQL migrations\n"
	    "  strategy add --symbol S --timeframe T --strategy NAME\n"
	    "               [--name N] [--description D] [--key-value A] [--atr-period C]\n"
	    "               [--ema-period E] [--heikin-ashi] [--max-open-trades N]\n"
	    "               [--actions BUY,SELL,TP_HIT,SL_HIT] [--required FIELDS]\n"
	    "               [--status active|inactive|testing]\n"
	    "               [--no-opposite] [--no-replace]\n"
	    "  strategy list                every strategy with its webhook URL\n"
	    "  replay-spool                 store alerts spooled while the database was away\n"
	    "  seed-demo                    load the demo data (idempotent)\n");
	return 2;
}

/* Prints o (stolen) as the command's answer. */
static int
print(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

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

static int
cmd_migrate(int argc, char *argv[])
{
	char err[1024];
	json_t *o;

	if (argc != 1)
		return usage();
	if ((o = ac_migrate(db, cfg.sql_dir, err, sizeof(err))) == NULL)
		return fail("migrate", err);
	return print(o);
}

static int
strategy_add(int argc, char *argv[])
{
	enum { O_NAME = 1, O_DESC, O_SYMBOL, O_TF, O_STRATEGY, O_KEY, O_ATR, O_EMA, O_HA,
	    O_MAXOPEN, O_ACTIONS, O_REQUIRED, O_STATUS, O_NOOPP, O_NOREPL };
	static const struct option opts[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "description", required_argument, NULL, O_DESC },
		{ "symbol", required_argument, NULL, O_SYMBOL },
		{ "timeframe", required_argument, NULL, O_TF },
		{ "strategy", required_argument, NULL, O_STRATEGY },
		{ "key-value", required_argument, NULL, O_KEY },
		{ "multiplier", required_argument, NULL, O_KEY },
		{ "atr-period", required_argument, NULL, O_ATR },
		{ "ema-period", required_argument, NULL, O_EMA },
		{ "heikin-ashi", no_argument, NULL, O_HA },
		{ "max-open-trades", required_argument, NULL, O_MAXOPEN },
		{ "actions", required_argument, NULL, O_ACTIONS },
		{ "required", required_argument, NULL, O_REQUIRED },
		{ "status", required_argument, NULL, O_STATUS },
		{ "no-opposite", no_argument, NULL, O_NOOPP },
		{ "no-replace", no_argument, NULL, O_NOREPL },
		{ NULL, 0, NULL, 0 }
	};
	struct ac_strategy_new in = { .allow_opposite = -1, .replace_same = -1 };
	char err[1024];
	json_t *o;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_NAME: in.name = optarg; break;
		case O_DESC: in.description = optarg; break;
		case O_SYMBOL: in.symbol = optarg; break;
		case O_TF: in.timeframe = optarg; break;
		case O_STRATEGY: in.strategy = optarg; break;
		case O_KEY: in.key_value = optarg; break;
		case O_ATR: in.atr_period = optarg; break;
		case O_EMA: in.ema_period = optarg; break;
		case O_HA: in.heikin_ashi = 1; break;
		case O_MAXOPEN: in.max_open_trades = optarg; break;
		case O_ACTIONS: in.actions = optarg; break;
		case O_REQUIRED: in.required = optarg; break;
		case O_STATUS: in.status = optarg; break;
		case O_NOOPP: in.allow_opposite = 0; break;
		case O_NOREPL: in.replace_same = 0; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	if ((o = ac_strategy_create(db, &in, cfg.base_url, err, sizeof(err))) == NULL)
		return fail("strategy add", err);
	return print(o);
}

static int
cmd_strategy(int argc, char *argv[])
{
	json_t *o;

	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return strategy_add(argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if ((o = ac_strategy_list(db, cfg.base_url)) == NULL)
			return fail("strategy list", ac_db_error(db));
		return print(o);
	}
	return usage();
}

struct replay_ctx {
	unsigned	queued, duplicate, rejected;
};

static enum ac_spool_verdict
replay_one(const struct ac_spool_entry *e, void *arg)
{
	struct replay_ctx *ctx = arg;
	struct ac_ingest_in in = {
		.token = e->token, .body = e->body, .len = e->len,
		.content_type = e->content_type, .remote_addr = e->remote_addr,
		.request_id = e->request_id, .received_ms = e->received_ms, .spooled = 1,
	};
	struct ac_ingest_out out;

	ac_ingest(db, &in, &out);
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
	case AC_INGEST_DB_DOWN:
	case AC_INGEST_ERROR:
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
	if (ac_spool_replay(cfg.state_dir, replay_one, &ctx, &st) == -1) {
		char msg[512];

		snprintf(msg, sizeof(msg), "spool in %s: %m", cfg.state_dir);
		return fail("replay-spool", msg);
	}
	if (st.kept > 0)
		fprintf(stderr, "acctl replay-spool: database away (%s); %u alerts kept for later\n",
		    ac_db_error(db), st.kept);
	print(json_pack("{s:b, s:i, s:i, s:i, s:i, s:i}", "busy", st.busy, "queued", ctx.queued,
	    "duplicate", ctx.duplicate, "rejected", ctx.rejected, "kept", st.kept,
	    "unreadable", st.corrupt));
	return st.kept > 0 ? 1 : 0;
}

/* The demo: a UT Bot strategy on BTCUSDT 1h and on ETHUSDT 4h. */
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
	json_t *all, *out = json_array(), *s;
	char err[1024];
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
		if ((s = ac_strategy_create(db, &demo[i], cfg.base_url, err, sizeof(err))) == NULL) {
			json_decref(all);
			json_decref(out);
			return fail("seed-demo", err);
		}
		json_array_append_new(out, s);
	}
	json_decref(all);
	return print(json_pack("{s:o}", "strategies", out));
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "migrate", cmd_migrate },
		{ "strategy", cmd_strategy },
		{ "replay-spool", cmd_replay },
		{ "seed-demo", cmd_seed_demo },
	};
	const char *config = NULL;
	char err[512];
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
	if (ac_config_load(&cfg, config, err, sizeof(err)) == -1)
		return fail("config", err);
	ac_log_init("acctl", ac_log_level_parse(ac_config_str(&cfg, "AC_LOG_LEVEL", "warn")));
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (strcmp(argv[i], cmds[k].name) != 0)
			continue;
		db = ac_db_new(cfg.database_url, "acctl", 5, 0);
		if (ac_db_conn(db) == NULL) {
			rc = fail(argv[i], ac_db_error(db));
		} else {
			rc = cmds[k].fn(argc - i, argv + i);
		}
		ac_db_free(db);
		ac_config_free(&cfg);
		return rc;
	}
	return usage();
}
