/*
 * test_signal.c — cmocka tests for lib/alert/tv.c, one test per table row.
 *
 * Tables: bodies that parse (with every normalized value), bodies that
 * are refused (status, code, field, a piece of the message), alerts
 * held against a strategy's rules, idempotency keys, and the public
 * normalizers (timeframe, symbol, action, time) on their own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "alert/tv.h"

#define NROWS(t)	(sizeof(t) / sizeof((t)[0]))
#define B(f)		(1u << AC_F_##f)
#define JSON		"application/json"
#define TEXT		"text/plain"

/* 2024-01-15T10:30:00Z */
#define T0		1705314600000LL
#define MIN_BITS	(B(ACTION) | B(PRICE))
#define STD_BITS	(B(SYMBOL) | B(TIMEFRAME) | B(ACTION) | B(PRICE) | B(TIME))

/* ---- bodies that parse ---------------------------------------------- */

struct parse_ok {
	const char	*name;
	const char	*body;
	const char	*ctype;
	const char	*symbol, *exchange, *timeframe, *strategy, *secret;
	enum ac_action	 action;
	const char	*price, *tp, *sl;
	int64_t		 time_ms;
	unsigned	 present;
};

static const struct parse_ok parse_ok_rows[] = {
	{ "canonical keys, all fields",
	  "{\"symbol\":\"BTCUSDT\",\"timeframe\":\"60\",\"strategy\":\"UT Bot\","
	  "\"action\":\"buy\",\"price\":42000.5,\"tp\":43000,\"sl\":41000,"
	  "\"time\":\"2024-01-15T10:30:00Z\",\"secret\":\"s3cret\"}", JSON,
	  "BTCUSDT", "", "1h", "UT Bot", "s3cret", AC_ACTION_BUY,
	  "42000.5", "43000", "41000", T0, STD_BITS | B(STRATEGY) | B(TP) | B(SL) },
	{ "same body as text/plain",
	  "{\"symbol\":\"BTCUSDT\",\"timeframe\":\"60\",\"strategy\":\"UT Bot\","
	  "\"action\":\"buy\",\"price\":42000.5,\"tp\":43000,\"sl\":41000,"
	  "\"time\":\"2024-01-15T10:30:00Z\",\"secret\":\"s3cret\"}", TEXT,
	  "BTCUSDT", "", "1h", "UT Bot", "s3cret", AC_ACTION_BUY,
	  "42000.5", "43000", "41000", T0, STD_BITS | B(STRATEGY) | B(TP) | B(SL) },
	{ "null content type",
	  "{\"action\":\"sell\",\"price\":1}", NULL,
	  "", "", "", "", "", AC_ACTION_SELL, "1", "", "", 0, MIN_BITS },
	{ "{{ticker}} with exchange prefix, {{close}} quoted",
	  "{\"ticker\":\"BINANCE:BTCUSDT\",\"interval\":\"5\",\"signal\":\"sell\","
	  "\"close\":\"42000.50\"}", TEXT,
	  "BTCUSDT", "BINANCE", "5m", "", "", AC_ACTION_SELL,
	  "42000.5", "", "", 0, MIN_BITS | B(SYMBOL) | B(TIMEFRAME) },
	{ "{{ticker}} without prefix, {{close}} as number",
	  "{\"ticker\":\"BTCUSDT\",\"interval\":\"15\",\"action\":\"buy\","
	  "\"close\":42000.5}", JSON,
	  "BTCUSDT", "", "15m", "", "", AC_ACTION_BUY,
	  "42000.5", "", "", 0, MIN_BITS | B(SYMBOL) | B(TIMEFRAME) },
	{ "tickerid lower case, tf, side long, entry",
	  "{\"tickerid\":\"binance:ethusdt\",\"tf\":\"1\",\"side\":\"long\","
	  "\"entry\":\"2500\"}", JSON,
	  "ETHUSDT", "BINANCE", "1m", "", "", AC_ACTION_BUY,
	  "2500", "", "", 0, MIN_BITS | B(SYMBOL) | B(TIMEFRAME) },
	{ "order_action short, entry_price",
	  "{\"order_action\":\"short\",\"entry_price\":\"0.5\"}", JSON,
	  "", "", "", "", "", AC_ACTION_SELL, "0.5", "", "", 0, MIN_BITS },
	{ "unquoted numeric {{ticker}} (HKEX 1810)",
	  "{\"ticker\":1810,\"exchange\":\"HKEX\",\"action\":\"buy\",\"price\":1}", JSON,
	  "1810", "HKEX", "", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(SYMBOL) },
	{ "exchange key used when the ticker has no prefix",
	  "{\"ticker\":\"BTCUSDT\",\"exchange\":\"bybit\",\"action\":\"buy\","
	  "\"price\":1}", JSON,
	  "BTCUSDT", "BYBIT", "", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(SYMBOL) },
	{ "exchange key that agrees with the ticker prefix",
	  "{\"exchange\":\"binance\",\"ticker\":\"BINANCE:BTCUSDT\","
	  "\"action\":\"buy\",\"price\":1}", JSON,
	  "BTCUSDT", "BINANCE", "", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(SYMBOL) },
	{ "{{interval}} 240", "{\"interval\":\"240\",\"action\":\"buy\",\"price\":1}",
	  TEXT, "", "", "4h", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "{{interval}} D", "{\"interval\":\"D\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "1d", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "{{interval}} W", "{\"interval\":\"W\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "1w", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "{{interval}} M", "{\"interval\":\"M\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "1M", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "{{interval}} 1D", "{\"interval\":\"1D\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "1d", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "{{interval}} unquoted 240", "{\"interval\":240,\"action\":\"buy\","
	  "\"price\":1}", JSON, "", "", "4h", "", "", AC_ACTION_BUY, "1", "", "",
	  0, MIN_BITS | B(TIMEFRAME) },
	{ "{{timenow}} with fraction",
	  "{\"timenow\":\"2024-01-15T10:30:00.123Z\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0 + 123,
	  MIN_BITS | B(TIME) },
	{ "{{timenow}} with +02:00 offset",
	  "{\"timenow\":\"2024-01-15T12:30:00+02:00\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0,
	  MIN_BITS | B(TIME) },
	{ "time with -05:30 offset",
	  "{\"time\":\"2024-01-15T05:00:00-05:30\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0,
	  MIN_BITS | B(TIME) },
	{ "timestamp with a space and no zone is UTC",
	  "{\"timestamp\":\"2024-01-15 10:30:00\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0,
	  MIN_BITS | B(TIME) },
	{ "alert_time as unix seconds in a string",
	  "{\"alert_time\":\"1705314600\",\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0,
	  MIN_BITS | B(TIME) },
	{ "time as JSON integer milliseconds",
	  "{\"time\":1705314600123,\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0 + 123,
	  MIN_BITS | B(TIME) },
	{ "time as JSON integer seconds",
	  "{\"time\":1705314600,\"action\":\"buy\",\"price\":1}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", T0,
	  MIN_BITS | B(TIME) },
	{ "take_profit and stop_loss keys",
	  "{\"action\":\"buy\",\"price\":10,\"take_profit\":12,\"stop_loss\":9}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "10", "12", "9", 0,
	  MIN_BITS | B(TP) | B(SL) },
	{ "takeprofit and stoploss keys",
	  "{\"action\":\"buy\",\"price\":10,\"takeprofit\":\"12\",\"stoploss\":\"9\"}",
	  JSON, "", "", "", "", "", AC_ACTION_BUY, "10", "12", "9", 0,
	  MIN_BITS | B(TP) | B(SL) },
	{ "take_profit_price and stop_loss_price keys",
	  "{\"action\":\"buy\",\"price\":10,\"take_profit_price\":12.5,"
	  "\"stop_loss_price\":9.5}", JSON, "", "", "", "", "", AC_ACTION_BUY,
	  "10", "12.5", "9.5", 0, MIN_BITS | B(TP) | B(SL) },
	{ "takeprofitprice and stoplossprice keys",
	  "{\"action\":\"buy\",\"price\":10,\"takeprofitprice\":12,"
	  "\"stoplossprice\":9}", JSON, "", "", "", "", "", AC_ACTION_BUY,
	  "10", "12", "9", 0, MIN_BITS | B(TP) | B(SL) },
	{ "tp_price and sl_price keys",
	  "{\"action\":\"sell\",\"price\":10,\"tp_price\":8,\"sl_price\":11}",
	  JSON, "", "", "", "", "", AC_ACTION_SELL, "10", "8", "11", 0,
	  MIN_BITS | B(TP) | B(SL) },
	{ "strategy_name and token keys",
	  "{\"strategy_name\":\"  UT Bot  \",\"token\":\"tok-1\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "", "", "", "UT Bot", "tok-1", AC_ACTION_BUY,
	  "1", "", "", 0, MIN_BITS | B(STRATEGY) },
	{ "passphrase key, kept as sent",
	  "{\"passphrase\":\" p w \",\"action\":\"buy\",\"price\":1}", JSON,
	  "", "", "", "", " p w ", AC_ACTION_BUY, "1", "", "", 0, MIN_BITS },
	{ "placeholder-looking secret is not judged",
	  "{\"secret\":\"{{secret}}\",\"action\":\"buy\",\"price\":1}", JSON,
	  "", "", "", "", "{{secret}}", AC_ACTION_BUY, "1", "", "", 0, MIN_BITS },
	{ "keys match case-insensitively",
	  "{\"Symbol\":\"btcusdt\",\"INTERVAL\":\"4H\",\"Action\":\"BUY\","
	  "\"PRICE\":\"1\",\"TimeNow\":\"2024-01-15T10:30:00Z\"}", JSON,
	  "BTCUSDT", "", "4h", "", "", AC_ACTION_BUY, "1", "", "", T0, STD_BITS },
	{ "aliases that agree: symbol with a prefix, ticker without",
	  "{\"ticker\":\"BTCUSDT\",\"symbol\":\"BINANCE:BTCUSDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "BTCUSDT", "BINANCE", "", "", "", AC_ACTION_BUY, "1",
	  "", "", 0, MIN_BITS | B(SYMBOL) },
	{ "aliases that agree: the exchange comes from any ticker key",
	  "{\"symbol\":\"BTCUSDT\",\"ticker\":\"binance:btcusdt\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "BTCUSDT", "BINANCE", "", "", "", AC_ACTION_BUY, "1",
	  "", "", 0, MIN_BITS | B(SYMBOL) },
	{ "aliases that agree: timeframe 60, interval 1h, tf 60",
	  "{\"timeframe\":\"60\",\"interval\":\"1h\",\"tf\":60,\"action\":\"buy\","
	  "\"price\":1}", JSON, "", "", "1h", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(TIMEFRAME) },
	{ "aliases that agree: price 42000, close \"42000.0\"",
	  "{\"close\":\"42000.0\",\"price\":42000,\"action\":\"buy\"}", JSON,
	  "", "", "", "", "", AC_ACTION_BUY, "42000", "", "", 0, MIN_BITS },
	{ "aliases that agree: action buy, signal long, tp and sl twice",
	  "{\"action\":\"buy\",\"signal\":\"long\",\"price\":10,\"tp\":12,"
	  "\"take_profit\":\"12.0\",\"sl\":9,\"stop_loss\":\"9\"}", JSON,
	  "", "", "", "", "", AC_ACTION_BUY, "10", "12", "9", 0,
	  MIN_BITS | B(TP) | B(SL) },
	{ "aliases that agree: time as ISO-8601 and timenow as unix seconds",
	  "{\"time\":\"2024-01-15T12:30:00+02:00\",\"timenow\":1705314600,"
	  "\"action\":\"buy\",\"price\":1}", JSON, "", "", "", "", "",
	  AC_ACTION_BUY, "1", "", "", T0, MIN_BITS | B(TIME) },
	{ "aliases that agree: strategy names equal but for case and punctuation",
	  "{\"strategy\":\"UT Bot\",\"strategy_name\":\"ut_bot\",\"secret\":\"s\","
	  "\"token\":\"s\",\"action\":\"buy\",\"price\":1}", JSON,
	  "", "", "", "UT Bot", "s", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS | B(STRATEGY) },
	{ "aliases that agree: market_position flat, position FLAT",
	  "{\"action\":\"sell\",\"price\":1,\"market_position\":\"flat\","
	  "\"position\":\" FLAT \",\"prev_market_position\":\"long\"}", JSON,
	  "", "", "", "", "", AC_ACTION_EXIT_LONG, "1", "", "", 0, MIN_BITS },
	{ "keys that differ only in case and agree",
	  "{\"Symbol\":\"btcusdt\",\"symbol\":\"BTCUSDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "BTCUSDT", "", "", "", "", AC_ACTION_BUY, "1",
	  "", "", 0, MIN_BITS | B(SYMBOL) },
	{ "null counts as absent",
	  "{\"symbol\":null,\"ticker\":\"ETHUSDT\",\"price\":null,\"close\":3,"
	  "\"action\":\"buy\",\"tp\":null}", JSON, "ETHUSDT", "", "", "", "",
	  AC_ACTION_BUY, "3", "", "", 0, MIN_BITS | B(SYMBOL) },
	{ "unknown keys are ignored",
	  "{\"comment\":\"{{strategy.order.comment}}\",\"qty\":[1],\"action\":\"buy\","
	  "\"price\":1}", JSON, "", "", "", "", "", AC_ACTION_BUY, "1", "", "", 0,
	  MIN_BITS },
	{ "{{strategy.order.action}} sell, trimmed number",
	  "{\"action\":\" sell \",\"price\":\"  42.10 \"}", JSON, "", "", "", "", "",
	  AC_ACTION_SELL, "42.1", "", "", 0, MIN_BITS },
	{ "exponent and sign in a string number",
	  "{\"action\":\"buy\",\"price\":\"+1e3\",\"tp\":\"1.5E3\"}", JSON,
	  "", "", "", "", "", AC_ACTION_BUY, "1000", "1500", "", 0,
	  MIN_BITS | B(TP) },
	{ "negative exponent",
	  "{\"action\":\"buy\",\"price\":\"2.5e-3\"}", JSON,
	  "", "", "", "", "", AC_ACTION_BUY, "0.0025", "", "", 0, MIN_BITS },
	{ "negative and zero prices parse (check refuses them)",
	  "{\"action\":\"buy\",\"price\":\"-5\",\"sl\":\"-0\"}", JSON,
	  "", "", "", "", "", AC_ACTION_BUY, "-5", "", "0", 0, MIN_BITS | B(SL) },
	{ "tp_hit with tp only",
	  "{\"action\":\"TP_HIT\",\"price\":43000,\"tp\":43000}", JSON,
	  "", "", "", "", "", AC_ACTION_TP_HIT, "43000", "43000", "", 0,
	  MIN_BITS | B(TP) },
	{ "sl hit written with a space",
	  "{\"action\":\"stop loss\",\"price\":41000}", JSON,
	  "", "", "", "", "", AC_ACTION_SL_HIT, "41000", "", "", 0, MIN_BITS },
	{ "continuous futures ticker keeps !",
	  "{\"ticker\":\"CME_MINI:ES1!\",\"action\":\"buy\",\"price\":5000.25}", JSON,
	  "ES1!", "CME_MINI", "", "", "", AC_ACTION_BUY, "5000.25", "", "", 0,
	  MIN_BITS | B(SYMBOL) },
	{ "whitespace around the body",
	  "\r\n  {\"action\":\"buy\",\"price\":1}  \n", TEXT, "", "", "", "", "",
	  AC_ACTION_BUY, "1", "", "", 0, MIN_BITS },
	{ "UTF-8 strategy name",
	  "{\"strategy\":\"Stratégie \\u00e9t\\u00e9\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "", "", "", "Stratégie été", "", AC_ACTION_BUY,
	  "1", "", "", 0, MIN_BITS | B(STRATEGY) },
};

/* The body of row parses into exactly the row's values. */
static void
test_parse_ok(void **state)
{
	const struct parse_ok	*row = *state;
	struct ac_alert		 a;
	struct ac_alert_error	 err = { 0 };

	if (ac_alert_parse(row->body, strlen(row->body), row->ctype, &a,
	    &err) != 0)
		fail_msg("refused: %d %s: %s", err.status, err.code, err.message);
	assert_string_equal(a.symbol, row->symbol);
	assert_string_equal(a.exchange, row->exchange);
	assert_string_equal(a.timeframe, row->timeframe);
	assert_string_equal(a.strategy, row->strategy);
	assert_string_equal(a.secret, row->secret);
	assert_int_equal(a.action, row->action);
	assert_string_equal(a.price_text, row->price);
	assert_string_equal(a.tp_text, row->tp);
	assert_string_equal(a.sl_text, row->sl);
	assert_int_equal(a.time_ms, row->time_ms);
	assert_int_equal(a.present, row->present);
}

/* ---- bodies that are refused ---------------------------------------- */

struct parse_bad {
	const char	*name;
	const char	*body;
	const char	*ctype;
	const char	*code;
	const char	*field;		/* NULL: err.field must be NULL */
	const char	*msg;		/* must occur in err.message */
};

#define LONG41	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG128	LONG41 LONG41 LONG41 "aaaaa"
#define E10	"éééééééééé"
#define E19	"ééééééééééééééééééé"
#define UTF8_130 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10

static const struct parse_bad parse_bad_rows[] = {
	{ "empty body", "", JSON, "empty_body", NULL, "empty" },
	{ "blank body", " \r\n\t", TEXT, "empty_body", NULL, "empty" },
	{ "plain text", "BUY BTCUSDT now", TEXT, "malformed_json", NULL,
	  "line 1, column 3: invalid token" },
	{ "plain text says why it came as text/plain", "BUY", TEXT,
	  "malformed_json", NULL, "it came as text/plain" },
	{ "truncated object", "{\"action\":\"buy\"", JSON, "malformed_json",
	  NULL, "line 1" },
	{ "error on line 2", "{\"action\":\"buy\",\n \"price\": 1,}", JSON,
	  "malformed_json", NULL, "line 2" },
	{ "top level array", "[{\"action\":\"buy\"}]", JSON, "malformed_json",
	  NULL, "received an array" },
	{ "top level string", "\"buy\"", TEXT, "malformed_json", NULL,
	  "received \"buy\"" },
	{ "top level number", "42", JSON, "malformed_json", NULL,
	  "received 42" },
	{ "invalid UTF-8", "{\"action\":\"b\xff\",\"price\":1}", JSON,
	  "malformed_json", NULL, "unable to decode byte 0xff" },
	{ "duplicate key", "{\"price\":1,\"price\":2,\"action\":\"buy\"}", JSON,
	  "malformed_json", NULL, "duplicate" },
	{ "trailing garbage", "{\"action\":\"buy\",\"price\":1} x", JSON,
	  "malformed_json", NULL, "line 1" },
	{ "NUL escape in a string", "{\"action\":\"b\\u0000uy\",\"price\":1}",
	  JSON, "malformed_json", NULL, "\\u0000" },
	{ "unquoted {{close}}",
	  "{\"action\":\"buy\",\"price\": {{close}}}", TEXT,
	  "unfilled_placeholder", "price",
	  "field \"price\" holds the unfilled TradingView placeholder {{close}}" },
	{ "unquoted {{ticker}} after a quoted one",
	  "{\"exchange\":\"{{exchange}}\",\"Ticker\" : {{ticker}},\"price\":1}", TEXT,
	  "unfilled_placeholder", "symbol", "placeholder {{ticker}}" },
	{ "unquoted {{plot_0}} as tp", "{\"tp\":{{plot_0}},\"action\":\"buy\"}",
	  TEXT, "unfilled_placeholder", "take_profit", "{{plot_0}}" },
	{ "unquoted {{timenow}}", "{\"timenow\":\n\t{{timenow}}}", TEXT,
	  "unfilled_placeholder", "time", "{{timenow}}" },
	{ "unquoted placeholder under an unknown key",
	  "{\"rsi\": {{plot(\"RSI\")}}, \"action\":\"buy\"}", TEXT,
	  "unfilled_placeholder", NULL, "key \"rsi\" holds the unfilled "
	  "TradingView placeholder {{plot(\"RSI\")}}" },
	{ "placeholder in a plain-text message", "BUY {{ticker}} at {{close}}",
	  TEXT, "unfilled_placeholder", NULL, "placeholder {{ticker}} outside" },
	{ "quoted {{ticker}}", "{\"ticker\":\"{{ticker}}\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "unfilled_placeholder", "symbol",
	  "field \"symbol\" holds the unfilled TradingView placeholder {{ticker}}" },
	{ "quoted placeholder after a prefix",
	  "{\"ticker\":\"BINANCE:{{ticker}}\",\"action\":\"buy\",\"price\":1}", JSON,
	  "unfilled_placeholder", "symbol", "{{ticker}}" },
	{ "quoted {{interval}}", "{\"interval\":\"{{interval}}\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "unfilled_placeholder", "timeframe",
	  "{{interval}}" },
	{ "quoted {{strategy.order.action}}",
	  "{\"action\":\"{{strategy.order.action}}\",\"price\":1}", JSON,
	  "unfilled_placeholder", "action", "{{strategy.order.action}}" },
	{ "quoted {{close}}", "{\"action\":\"buy\",\"close\":\"{{close}}\"}", JSON,
	  "unfilled_placeholder", "price", "{{close}}" },
	{ "quoted {{plot_1}} as sl", "{\"action\":\"buy\",\"price\":1,"
	  "\"stop_loss\":\"{{plot_1}}\"}", JSON, "unfilled_placeholder",
	  "stop_loss", "{{plot_1}}" },
	{ "quoted {{timenow}}", "{\"action\":\"buy\",\"price\":1,"
	  "\"timenow\":\"{{timenow}}\"}", JSON, "unfilled_placeholder", "time",
	  "{{timenow}}" },
	{ "quoted placeholder in strategy", "{\"action\":\"buy\",\"price\":1,"
	  "\"strategy\":\"{{strategy.order.id}}\"}", JSON, "unfilled_placeholder",
	  "strategy", "{{strategy.order.id}}" },
	{ "quoted {{exchange}}", "{\"action\":\"buy\",\"price\":1,"
	  "\"exchange\":\"{{exchange}}\"}", JSON, "unfilled_placeholder",
	  "exchange", "{{exchange}}" },
	{ "symbol and ticker name different instruments",
	  "{\"symbol\":\"COINBASE:ETHUSD\",\"ticker\":\"BTCUSDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "symbol",
	  "keys \"symbol\" and \"ticker\" both give field \"symbol\", with different "
	  "values: received \"COINBASE:ETHUSD\" and \"BTCUSDT\"" },
	{ "a lower-ranked key comes first and disagrees",
	  "{\"tickerid\":\"ETHUSDT\",\"symbol\":\"BTCUSDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "symbol",
	  "keys \"symbol\" and \"tickerid\"" },
	{ "keys that differ only in case and disagree",
	  "{\"Symbol\":\"ETHUSDT\",\"symbol\":\"BTCUSDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "symbol",
	  "both give field \"symbol\"" },
	{ "timeframe and interval disagree",
	  "{\"timeframe\":\"60\",\"interval\":\"240\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "timeframe",
	  "keys \"timeframe\" and \"interval\" both give field \"timeframe\", with "
	  "different values: received \"60\" and \"240\"" },
	{ "strategy and strategy_name disagree",
	  "{\"strategy\":\"UT Bot\",\"strategy_name\":\"MACD\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "strategy",
	  "\"UT Bot\" and \"MACD\"" },
	{ "action and signal disagree",
	  "{\"action\":\"buy\",\"signal\":\"sell\",\"price\":1}", JSON,
	  "conflicting_fields", "action", "keys \"action\" and \"signal\"" },
	{ "price and close disagree",
	  "{\"close\":2,\"price\":1,\"action\":\"buy\"}", JSON,
	  "conflicting_fields", "price", "received 1 and 2" },
	{ "tp and take_profit disagree",
	  "{\"action\":\"buy\",\"price\":1,\"tp\":2,\"take_profit\":\"2.5\"}", JSON,
	  "conflicting_fields", "take_profit", "keys \"tp\" and \"take_profit\"" },
	{ "sl and stoploss disagree",
	  "{\"action\":\"buy\",\"price\":1,\"sl\":0.5,\"stoploss\":0.6}", JSON,
	  "conflicting_fields", "stop_loss", "keys \"sl\" and \"stoploss\"" },
	{ "timenow and time disagree by a second",
	  "{\"action\":\"buy\",\"price\":1,\"time\":\"2024-01-15T10:30:00Z\","
	  "\"timenow\":\"2024-01-15T10:30:01Z\"}", JSON,
	  "conflicting_fields", "time", "keys \"timenow\" and \"time\"" },
	{ "exchange key contradicts the ticker prefix",
	  "{\"exchange\":\"BYBIT\",\"ticker\":\"BINANCE:BTCUSDT\","
	  "\"action\":\"buy\",\"price\":1}", JSON, "conflicting_fields", "exchange",
	  "keys \"ticker\" and \"exchange\" both give field \"exchange\"" },
	{ "two ticker keys with different exchanges",
	  "{\"ticker\":\"BINANCE:BTCUSDT\",\"tickerid\":\"COINBASE:BTCUSDT\","
	  "\"action\":\"buy\",\"price\":1}", JSON, "conflicting_fields", "exchange",
	  "\"BINANCE:BTCUSDT\" and \"COINBASE:BTCUSDT\"" },
	{ "two prefixes that each agree with an unprefixed symbol",
	  "{\"symbol\":\"BTCUSDT\",\"ticker\":\"BINANCE:BTCUSDT\","
	  "\"tickerid\":\"COINBASE:BTCUSDT\",\"action\":\"buy\",\"price\":1}", JSON,
	  "conflicting_fields", "exchange", "both give field \"exchange\"" },
	{ "market_position and position disagree",
	  "{\"action\":\"sell\",\"price\":1,\"market_position\":\"flat\","
	  "\"position\":\"short\"}", JSON, "conflicting_fields", "market_position",
	  "keys \"market_position\" and \"position\"" },
	{ "prev_market_position and prev_position disagree",
	  "{\"action\":\"sell\",\"price\":1,\"market_position\":\"flat\","
	  "\"prev_market_position\":\"long\",\"prev_position\":\"short\"}", JSON,
	  "conflicting_fields", "prev_market_position", "\"long\" and \"short\"" },
	{ "secret and token disagree, neither shown",
	  "{\"secret\":\"alpha-secret\",\"token\":\"beta-secret\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "conflicting_fields", "secret",
	  "keys \"secret\" and \"token\" both give field \"secret\", with different "
	  "values (not shown)" },
	{ "a lower-ranked key holds an unfilled placeholder",
	  "{\"symbol\":\"BTCUSDT\",\"ticker\":\"{{ticker}}\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "unfilled_placeholder", "symbol", "{{ticker}}" },
	{ "a lower-ranked key holds an invalid value",
	  "{\"price\":1,\"close\":\"abc\",\"action\":\"buy\"}", JSON,
	  "invalid_value", "price", "received \"abc\"" },
	{ "missing action", "{\"price\":1}", JSON, "missing_field", "action",
	  "send one of: action, signal, side, order_action" },
	{ "null action", "{\"action\":null,\"price\":1}", JSON, "missing_field",
	  "action", "\"action\" is missing" },
	{ "missing price", "{\"action\":\"buy\"}", JSON, "missing_field", "price",
	  "price, close, entry, entry_price" },
	{ "empty symbol", "{\"symbol\":\"  \",\"action\":\"buy\",\"price\":1}", JSON,
	  "invalid_value", "symbol", "received \"  \"" },
	{ "slash in symbol", "{\"symbol\":\"BTC/USDT\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "invalid_value", "symbol", "received \"BTC/USDT\"" },
	{ "symbol too long", "{\"symbol\":\"" LONG41 "\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "invalid_value", "symbol", "..." },
	{ "symbol as a negative number", "{\"symbol\":-1810,\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "symbol", "must be a string; received -1810" },
	{ "symbol as a fraction", "{\"symbol\":18.5,\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "symbol", "must be a string" },
	{ "exchange prefix only", "{\"symbol\":\"BINANCE:\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "invalid_value", "symbol", "\"BINANCE:\"" },
	{ "control byte shown as ?", "{\"symbol\":\"BTC\\nUSD\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "invalid_value", "symbol", "\"BTC?USD\"" },
	{ "bad exchange", "{\"exchange\":\"BIN ANCE\",\"action\":\"buy\","
	  "\"price\":1}", JSON, "invalid_value", "exchange", "\"BIN ANCE\"" },
	{ "timeframe zero", "{\"interval\":\"0\",\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "timeframe", "received \"0\"" },
	{ "timeframe negative", "{\"interval\":-60,\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "timeframe", "received -60" },
	{ "timeframe unknown unit", "{\"tf\":\"5y\",\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "timeframe", "received \"5y\"" },
	{ "timeframe real", "{\"tf\":5.5,\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "timeframe", "received 5.5" },
	{ "timeframe boolean", "{\"tf\":true,\"action\":\"buy\",\"price\":1}",
	  JSON, "invalid_value", "timeframe", "received true" },
	{ "unknown action", "{\"action\":\"hold\",\"price\":1}", JSON,
	  "invalid_value", "action", "received \"hold\"" },
	{ "market position word as the action", "{\"action\":\"sideways\","
	  "\"price\":1}", JSON, "invalid_value", "action",
	  "must be buy, sell, long, short, exit, close, flat, tp_hit, sl_hit or heartbeat" },
	{ "action as a number", "{\"action\":1,\"price\":1}", JSON,
	  "invalid_value", "action", "must be a string" },
	{ "price not a number", "{\"action\":\"buy\",\"price\":\"abc\"}", JSON,
	  "invalid_value", "price", "received \"abc\"" },
	{ "price empty string", "{\"action\":\"buy\",\"price\":\"\"}", JSON,
	  "invalid_value", "price", "received \"\"" },
	{ "price hex", "{\"action\":\"buy\",\"price\":\"0x10\"}", JSON,
	  "invalid_value", "price", "\"0x10\"" },
	{ "price nan", "{\"action\":\"buy\",\"price\":\"nan\"}", JSON,
	  "invalid_value", "price", "\"nan\"" },
	{ "price inf", "{\"action\":\"buy\",\"price\":\"inf\"}", JSON,
	  "invalid_value", "price", "\"inf\"" },
	{ "price overflows", "{\"action\":\"buy\",\"price\":\"1e999\"}", JSON,
	  "invalid_value", "price", "\"1e999\"" },
	{ "price with a thousands comma", "{\"action\":\"buy\",\"price\":\"1,000\"}",
	  JSON, "invalid_value", "price", "\"1,000\"" },
	{ "price with trailing junk", "{\"action\":\"buy\",\"price\":\"12abc\"}",
	  JSON, "invalid_value", "price", "\"12abc\"" },
	{ "price exponent without digits", "{\"action\":\"buy\",\"price\":\"1e\"}",
	  JSON, "invalid_value", "price", "\"1e\"" },
	{ "price boolean", "{\"action\":\"buy\",\"price\":false}", JSON,
	  "invalid_value", "price", "received false" },
	{ "price object", "{\"action\":\"buy\",\"price\":{}}", JSON,
	  "invalid_value", "price", "received an object" },
	{ "tp not a number", "{\"action\":\"buy\",\"price\":1,\"tp\":\"x\"}", JSON,
	  "invalid_value", "take_profit", "\"take_profit\"" },
	{ "sl not a number", "{\"action\":\"buy\",\"price\":1,\"sl\":[]}", JSON,
	  "invalid_value", "stop_loss", "received an array" },
	{ "time words", "{\"action\":\"buy\",\"price\":1,\"time\":\"yesterday\"}",
	  JSON, "invalid_value", "time", "\"yesterday\"" },
	{ "time month 13", "{\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"2024-13-01T00:00:00Z\"}", JSON, "invalid_value", "time",
	  "2024-13-01" },
	{ "time February 30", "{\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"2024-02-30T00:00:00Z\"}", JSON, "invalid_value", "time",
	  "2024-02-30" },
	{ "time hour 25", "{\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"2024-01-15T25:00:00Z\"}", JSON, "invalid_value", "time",
	  "T25" },
	{ "time half offset", "{\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"2024-01-15T10:30:00+02:\"}", JSON, "invalid_value", "time",
	  "+02:" },
	{ "time negative integer", "{\"action\":\"buy\",\"price\":1,\"time\":-1}",
	  JSON, "invalid_value", "time", "received -1" },
	{ "time real", "{\"action\":\"buy\",\"price\":1,\"time\":1705314600.5}",
	  JSON, "invalid_value", "time", "received 1705314600.5" },
	{ "strategy empty", "{\"action\":\"buy\",\"price\":1,\"strategy\":\" \"}",
	  JSON, "invalid_value", "strategy", "is empty" },
	{ "strategy too long, shown cut", "{\"action\":\"buy\",\"price\":1,"
	  "\"strategy\":\"" LONG128 "\"}", JSON, "invalid_value", "strategy",
	  "received \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	{ "strategy with a control byte", "{\"action\":\"buy\",\"price\":1,"
	  "\"strategy\":\"UT\\u0007Bot\"}", JSON, "invalid_value", "strategy",
	  "\"UT?Bot\"" },
	{ "secret too long, not shown", "{\"action\":\"buy\",\"price\":1,"
	  "\"secret\":\"" LONG128 "\"}", JSON, "invalid_value", "secret",
	  "received a hidden value" },
	{ "secret not a string", "{\"action\":\"buy\",\"price\":1,\"token\":123}",
	  JSON, "invalid_value", "secret", "must be a string" },
	{ "strategy not a string", "{\"action\":\"buy\",\"price\":1,"
	  "\"strategy\":5}", JSON, "invalid_value", "strategy", "received 5" },
	{ "braces that are not a placeholder", "{\"symbol\":\"BTC{{USD\","
	  "\"action\":\"buy\",\"price\":1}", JSON, "invalid_value", "symbol",
	  "\"BTC{{USD\"" },
	{ "placeholder name too long to be one", "{\"symbol\":\"{{" LONG128
	  "}}\",\"action\":\"buy\",\"price\":1}", JSON, "invalid_value",
	  "symbol", "received \"{{aaaa" },
	{ "UTF-8 in a value is shown whole", "{\"symbol\":\"BTC\u00dcSD\","
	  "\"action\":\"buy\",\"price\":1}", JSON, "invalid_value", "symbol",
	  "received \"BTCÜSD\"" },
	{ "long UTF-8 value is cut between characters",
	  "{\"action\":\"buy\",\"price\":1,\"strategy\":\"" E19 "€" UTF8_130 "\"}",
	  JSON, "invalid_value", "strategy",
	  "received \"" E19 "...\"" },
};

/* The body of row is refused with 400 and the row's code and field. */
static void
test_parse_bad(void **state)
{
	const struct parse_bad	*row = *state;
	struct ac_alert		 a;
	struct ac_alert_error	 err = { 0 };

	assert_int_equal(ac_alert_parse(row->body, strlen(row->body), row->ctype,
	    &a, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, row->code);
	if (row->field == NULL)
		assert_null(err.field);
	else
		assert_string_equal(err.field, row->field);
	if (strstr(err.message, row->msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, row->msg);
	if (strstr(err.message, "-secret") != NULL)
		fail_msg("message \"%s\" shows a secret", err.message);
	assert_true(memchr(err.message, '\0', sizeof(err.message)) != NULL);
}

/* ---- position: what the trader did ---------------------------------- */

/* A row: the body's action and position keys, then either the action
 * stored (status 0) or the refusal (400, code, field, message piece). */
struct position_row {
	const char	*name;
	const char	*body;
	enum ac_action	 action;
	int		 status;
	const char	*code, *field, *msg;
};

#define POS(act, extra) \
	"{\"ticker\":\"BTCUSDT\",\"action\":\"" act "\",\"price\":45000" extra "}"
#define MP(v)		",\"market_position\":\"" v "\""
#define PREV(v)		",\"prev_market_position\":\"" v "\""
#define SENT(v)		",\"sentiment\":\"" v "\""
#define TAKEN(a)	AC_ACTION_##a, 0, NULL, NULL, NULL
#define REFUSED(code, field, msg) AC_ACTION_NONE, 400, code, field, msg

static const struct position_row position_rows[] = {
	/* entries, as today */
	{ "buy to long", POS("buy", MP("long")), TAKEN(BUY) },
	{ "buy to long from flat", POS("buy", MP("long") PREV("flat")), TAKEN(BUY) },
	{ "buy to long from short: a reversal", POS("buy", MP("long") PREV("short")),
	  TAKEN(BUY) },
	{ "buy adding to a long", POS("buy", MP("long") PREV("long")), TAKEN(BUY) },
	{ "sell to short", POS("sell", MP("short")), TAKEN(SELL) },
	{ "sell to short from long: a reversal", POS("sell", MP("short") PREV("long")),
	  TAKEN(SELL) },
	{ "buy, prev long alone", POS("buy", PREV("long")), TAKEN(BUY) },
	{ "sell, prev flat alone", POS("sell", PREV("flat")), TAKEN(SELL) },
	{ "buy, sentiment bullish", POS("buy", SENT("bullish")), TAKEN(BUY) },
	{ "sell, sentiment bearish", POS("sell", SENT("bearish")), TAKEN(SELL) },
	{ "sentiment and market_position agree",
	  POS("buy", SENT("Bullish") MP("long")), TAKEN(BUY) },
	/* moves to flat are exits */
	{ "sell to flat after long", POS("sell", MP("flat") PREV("long")), TAKEN(EXIT_LONG) },
	{ "sell to flat, prev absent", POS("sell", MP("flat")), TAKEN(EXIT_LONG) },
	{ "buy to flat after short", POS("buy", MP("flat") PREV("short")), TAKEN(EXIT_SHORT) },
	{ "buy to flat, prev absent", POS("buy", MP("flat")), TAKEN(EXIT_SHORT) },
	{ "sell, sentiment flat", POS("sell", SENT("flat")), TAKEN(EXIT_LONG) },
	{ "buy, sentiment flat, prev short", POS("buy", SENT("flat") PREV("short")),
	  TAKEN(EXIT_SHORT) },
	{ "exit to flat after long", POS("exit", MP("flat") PREV("long")), TAKEN(EXIT_LONG) },
	{ "close to flat after short", POS("close", MP("flat") PREV("short")),
	  TAKEN(EXIT_SHORT) },
	{ "exit, sentiment flat: whatever is open", POS("exit", SENT("flat")), TAKEN(EXIT) },
	{ "action flat alone", POS("flat", ""), TAKEN(EXIT) },
	{ "action exit alone", POS("exit", ""), TAKEN(EXIT) },
	{ "exit, prev long alone", POS("exit", PREV("long")), TAKEN(EXIT_LONG) },
	{ "exit_long word", POS("exit_long", ""), TAKEN(EXIT_LONG) },
	{ "close short word, to flat", POS("close short", MP("flat")), TAKEN(EXIT_SHORT) },
	{ "tp hit to flat", POS("tp_hit", MP("flat") PREV("long")), TAKEN(TP_HIT) },
	{ "sl hit, sentiment flat", POS("sl", SENT("flat")), TAKEN(SL_HIT) },
	/* spellings */
	{ "values in any case, with spaces",
	  POS("SELL", ",\"market_position\":\" FLAT \",\"prev_market_position\":\"Long\""),
	  TAKEN(EXIT_LONG) },
	{ "position and prev_position keys",
	  POS("sell", ",\"position\":\"flat\",\"prev_position\":\"long\""), TAKEN(EXIT_LONG) },
	{ "TradingView's own names",
	  POS("buy", ",\"strategy.market_position\":\"flat\","
	  "\"strategy.prev_market_position\":\"short\""), TAKEN(EXIT_SHORT) },
	{ "keys in any case", POS("sell", ",\"Market_Position\":\"flat\""), TAKEN(EXIT_LONG) },
	{ "null position is absent", POS("sell", ",\"market_position\":null"), TAKEN(SELL) },
	/* contradictions */
	{ "buy with position short", POS("buy", MP("short")),
	  REFUSED("contradictory_position", "market_position",
	  "market_position \"short\" contradicts action buy") },
	{ "sell with position long", POS("sell", MP("long")),
	  REFUSED("contradictory_position", "market_position",
	  "market_position \"long\" contradicts action sell") },
	{ "sell with position long after long: scaling out", POS("sell", MP("long") PREV("long")),
	  REFUSED("contradictory_position", "market_position", "is a partial exit (the "
	  "position stays long)") },
	{ "buy with position short after short: scaling out",
	  POS("buy", MP("short") PREV("short")), REFUSED("contradictory_position",
	  "market_position", "is a partial exit (the position stays short)") },
	{ "flat after flat", POS("sell", MP("flat") PREV("flat")),
	  REFUSED("contradictory_position", "market_position",
	  "market_position \"flat\" after prev_market_position \"flat\"") },
	{ "buy to flat after long", POS("buy", MP("flat") PREV("long")),
	  REFUSED("contradictory_position", "market_position",
	  "a buy does not close a long") },
	{ "sell to flat after short", POS("sell", MP("flat") PREV("short")),
	  REFUSED("contradictory_position", "market_position",
	  "a sell does not close a short") },
	{ "exit with position long", POS("exit", MP("long")),
	  REFUSED("contradictory_position", "market_position",
	  "market_position \"long\" contradicts action exit") },
	{ "exit_short after long", POS("exit_short", MP("flat") PREV("long")),
	  REFUSED("contradictory_position", "market_position",
	  "an exit of the short side does not close a long") },
	{ "exit after flat", POS("exit", PREV("flat")),
	  REFUSED("contradictory_position", "prev_market_position",
	  "prev_market_position \"flat\": nothing was open") },
	{ "tp hit with position long", POS("tp", MP("long")),
	  REFUSED("contradictory_position", "market_position",
	  "market_position \"long\" contradicts action tp_hit") },
	{ "sentiment bullish with sell", POS("sell", SENT("bullish")),
	  REFUSED("contradictory_position", "sentiment",
	  "sentiment \"bullish\" contradicts action sell") },
	{ "sentiment bearish with buy", POS("buy", SENT("bearish")),
	  REFUSED("contradictory_position", "sentiment",
	  "sentiment \"bearish\" contradicts action buy") },
	{ "exit with sentiment bearish", POS("exit", SENT("bearish")),
	  REFUSED("contradictory_position", "sentiment", "\"bearish\"") },
	{ "sentiment and market_position disagree", POS("buy", SENT("bullish") MP("flat")),
	  REFUSED("contradictory_position", "sentiment",
	  "sentiment \"bullish\" contradicts market_position \"flat\"") },
	{ "sell after long, where the position is now unsaid", POS("sell", PREV("long")),
	  REFUSED("missing_field", "market_position",
	  "prev_market_position \"long\" with action sell") },
	{ "buy after short, where the position is now unsaid", POS("buy", PREV("short")),
	  REFUSED("missing_field", "market_position", "send market_position") },
	/* values and placeholders */
	{ "unknown position", POS("sell", MP("sideways")),
	  REFUSED("invalid_value", "market_position",
	  "must be long, short or flat; received \"sideways\"") },
	{ "sentiment word as a position", POS("sell", MP("bearish")),
	  REFUSED("invalid_value", "market_position", "received \"bearish\"") },
	{ "position word as a sentiment", POS("sell", SENT("short")),
	  REFUSED("invalid_value", "sentiment",
	  "must be bullish, bearish or flat; received \"short\"") },
	{ "unknown prev position", POS("sell", ",\"prev_position\":\"out\""),
	  REFUSED("invalid_value", "prev_market_position", "received \"out\"") },
	{ "position not a string", POS("sell", ",\"market_position\":0"),
	  REFUSED("invalid_value", "market_position", "received 0") },
	{ "unfilled market_position", POS("sell", MP("{{strategy.market_position}}")),
	  REFUSED("unfilled_placeholder", "market_position", "{{strategy.market_position}}") },
	{ "unfilled prev position", POS("sell", MP("flat")
	  PREV("{{strategy.prev_market_position}}")),
	  REFUSED("unfilled_placeholder", "prev_market_position",
	  "{{strategy.prev_market_position}}") },
	{ "unquoted placeholder", "{\"action\":\"sell\",\"price\":1,"
	  "\"strategy.market_position\":{{strategy.market_position}}}",
	  REFUSED("unfilled_placeholder", "market_position", "{{strategy.market_position}}") },
};

/* The body of row is stored as the row's action, or refused as it says. */
static void
test_position(void **state)
{
	const struct position_row	*row = *state;
	struct ac_alert			 a;
	struct ac_alert_error		 err = { 0 };
	int				 rc;

	rc = ac_alert_parse(row->body, strlen(row->body), JSON, &a, &err);
	if (row->status == 0) {
		if (rc != 0)
			fail_msg("refused: %s: %s", err.code, err.message);
		assert_string_equal(ac_action_name(a.action),
		    ac_action_name(row->action));
		return;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(err.status, row->status);
	assert_string_equal(err.code, row->code);
	assert_string_equal(err.field, row->field);
	if (strstr(err.message, row->msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, row->msg);
}

/* ---- alerts held against rules -------------------------------------- */

struct check_row {
	const char	*name;
	const char	*body;
	int64_t		 now_ms;
	unsigned	 actions;	/* 0: AC_ACTIONS_ALL */
	unsigned	 required;	/* 0: AC_REQUIRED_DEFAULT */
	int		 status;	/* 0: accepted */
	const char	*code, *field, *msg;
};

#define ALERT(sym, tf, act, px, extra) \
	"{\"ticker\":\"" sym "\",\"interval\":\"" tf "\",\"action\":\"" act \
	"\",\"price\":" px ",\"timenow\":\"2024-01-15T10:30:00Z\"" extra "}"

static const struct check_row check_rows[] = {
	{ "BUY with tp above and sl below",
	  ALERT("BINANCE:BTCUSDT", "60", "buy", "100", ",\"tp\":110,\"sl\":95"),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "SELL with tp below and sl above",
	  ALERT("BTCUSDT", "1h", "sell", "100", ",\"tp\":90,\"sl\":105"),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "TP_HIT has no side rule",
	  ALERT("BTCUSDT", "60", "tp_hit", "100", ",\"tp\":90,\"sl\":105"),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "SL_HIT has no side rule",
	  ALERT("BTCUSDT", "60", "sl", "100", ",\"tp\":100,\"sl\":100"),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "strategy matches ignoring case and punctuation",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"strategy\":\"ut_bot\""),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "timeframe 60m equals 1h",
	  ALERT("BTCUSDT", "60m", "buy", "100", ""),
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "only action and price required",
	  "{\"action\":\"buy\",\"price\":1}", T0, 0, B(ACTION) | B(PRICE),
	  0, NULL, NULL, NULL },
	{ "exactly 300000 ms old",
	  ALERT("BTCUSDT", "60", "buy", "100", ""), T0 + 300000, 0, 0,
	  0, NULL, NULL, NULL },
	{ "exactly 300000 ms ahead",
	  ALERT("BTCUSDT", "60", "buy", "100", ""), T0 - 300000, 0, 0,
	  0, NULL, NULL, NULL },
	{ "300001 ms old is stale",
	  ALERT("BTCUSDT", "60", "buy", "100", ""), T0 + 300001, 0, 0,
	  422, "stale_alert", "time", "2024-01-15T10:30:00.000Z is 300.001 s old" },
	{ "300001 ms ahead is in the future",
	  ALERT("BTCUSDT", "60", "buy", "100", ""), T0 - 300001, 0, 0,
	  422, "future_alert", "time", "300.001 s in the future" },
	{ "no time: accepted by default",
	  "{\"ticker\":\"BTCUSDT\",\"tf\":\"60\",\"action\":\"buy\",\"price\":1}",
	  T0, 0, 0, 0, NULL, NULL, NULL },
	{ "missing time where the strategy requires it",
	  "{\"ticker\":\"BTCUSDT\",\"tf\":\"60\",\"action\":\"buy\",\"price\":1}",
	  T0, 0, AC_REQUIRED_DEFAULT | B(TIME), 400, "missing_field", "time",
	  "timenow, timestamp" },
	{ "no strategy, tp or sl: accepted by default",
	  "{\"ticker\":\"BTCUSDT\",\"tf\":\"60\",\"signal\":\"sell\",\"close\":1}",
	  T0 + 86400000, 0, 0, 0, NULL, NULL, NULL },
	{ "missing symbol reported before time",
	  "{\"tf\":\"60\",\"action\":\"buy\",\"price\":1}",
	  T0, 0, 0, 400, "missing_field", "symbol", "\"symbol\" is required" },
	{ "missing required take profit",
	  ALERT("BTCUSDT", "60", "buy", "100", ""), T0, 0,
	  AC_REQUIRED_DEFAULT | B(TP), 400, "missing_field", "take_profit",
	  "tp, take_profit" },
	{ "symbol mismatch",
	  ALERT("ETHUSDT", "60", "buy", "100", ""), T0, 0, 0,
	  422, "symbol_mismatch", "symbol", "received symbol ETHUSDT, the "
	  "strategy trades BTCUSDT" },
	{ "symbol mismatch beats a disabled action",
	  ALERT("ETHUSDT", "60", "sell", "100", ""), T0, 1u << AC_ACTION_BUY, 0,
	  422, "symbol_mismatch", "symbol", "ETHUSDT" },
	{ "timeframe mismatch",
	  ALERT("BTCUSDT", "240", "buy", "100", ""), T0, 0, 0,
	  422, "timeframe_mismatch", "timeframe", "received timeframe 4h, the "
	  "strategy runs on 1h" },
	{ "strategy mismatch",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"strategy\":\"UT Bot v2\""),
	  T0, 0, 0, 422, "strategy_mismatch", "strategy",
	  "received strategy \"UT Bot v2\", expected \"UT Bot\"" },
	{ "strategy differs by one letter",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"strategy\":\"UT Bat\""),
	  T0, 0, 0, 422, "strategy_mismatch", "strategy", "\"UT Bat\"" },
	{ "action disabled",
	  ALERT("BTCUSDT", "60", "sell", "100", ""), T0, 1u << AC_ACTION_BUY, 0,
	  422, "action_disabled", "action", "action SELL is not enabled" },
	{ "exit actions disabled",
	  ALERT("BTCUSDT", "60", "tp", "100", ""), T0,
	  (1u << AC_ACTION_BUY) | (1u << AC_ACTION_SELL), 0,
	  422, "action_disabled", "action", "TP_HIT" },
	{ "price zero",
	  ALERT("BTCUSDT", "60", "buy", "0", ""), T0, 0, 0,
	  422, "invalid_price", "price", "received 0" },
	{ "price negative",
	  ALERT("BTCUSDT", "60", "sell", "\"-5\"", ""), T0, 0, 0,
	  422, "invalid_price", "price", "received -5" },
	{ "tp negative",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"tp\":-1"), T0, 0, 0,
	  422, "invalid_price", "take_profit", "received -1" },
	{ "sl zero",
	  ALERT("BTCUSDT", "60", "tp_hit", "100", ",\"sl\":0"), T0, 0, 0,
	  422, "invalid_price", "stop_loss", "received 0" },
	{ "BUY tp below entry",
	  ALERT("BTCUSDT", "60", "buy", "100.5", ",\"tp\":99.5"), T0, 0, 0,
	  422, "tp_wrong_side", "take_profit",
	  "take profit 99.5 must be above the BUY entry price 100.5" },
	{ "BUY tp at entry",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"tp\":100"), T0, 0, 0,
	  422, "tp_wrong_side", "take_profit", "100" },
	{ "BUY sl above entry",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"tp\":110,\"sl\":101"), T0, 0, 0,
	  422, "sl_wrong_side", "stop_loss",
	  "stop loss 101 must be below the BUY entry price 100" },
	{ "SELL tp above entry",
	  ALERT("BTCUSDT", "60", "sell", "100", ",\"tp\":101"), T0, 0, 0,
	  422, "tp_wrong_side", "take_profit",
	  "take profit 101 must be below the SELL entry price 100" },
	{ "SELL sl below entry",
	  ALERT("BTCUSDT", "60", "sell", "100", ",\"sl\":99"), T0, 0, 0,
	  422, "sl_wrong_side", "stop_loss",
	  "stop loss 99 must be above the SELL entry price 100" },
	{ "SELL sl at entry",
	  ALERT("BTCUSDT", "60", "short", "100", ",\"sl\":100"), T0, 0, 0,
	  422, "sl_wrong_side", "stop_loss", "stop loss 100" },
	{ "alert from before 1970 is stale",
	  "{\"ticker\":\"BTCUSDT\",\"tf\":\"60\",\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"1969-12-31T23:59:59.5Z\"}", T0, 0, 0, 422, "stale_alert",
	  "time", "alert time 1969-12-31T23:59:59.500Z is 1705314600.500 s old" },
	{ "an alert of year 1 is stale",
	  "{\"ticker\":\"BTCUSDT\",\"tf\":\"60\",\"action\":\"buy\",\"price\":1,"
	  "\"time\":\"0001-01-01T00:00:00.25Z\"}", T0, 0, 0, 422, "stale_alert",
	  "time", "alert time 0001-01-01T00:00:00.250Z is 63840911399.750 s old" },
	{ "an exit of the long side needs BUY enabled, not itself",
	  ALERT("BTCUSDT", "60", "sell", "100", MP("flat") PREV("long")), T0,
	  (1u << AC_ACTION_BUY) | (1u << AC_ACTION_SELL), 0, 0, NULL, NULL, NULL },
	{ "an exit of the short side on a short-only strategy",
	  ALERT("BTCUSDT", "60", "buy", "100", MP("flat")), T0,
	  1u << AC_ACTION_SELL, 0, 0, NULL, NULL, NULL },
	{ "any exit on a long-only strategy",
	  ALERT("BTCUSDT", "60", "exit", "100", ""), T0,
	  1u << AC_ACTION_BUY, 0, 0, NULL, NULL, NULL },
	{ "an exit carries no side rule for tp and sl",
	  ALERT("BTCUSDT", "60", "sell", "100", MP("flat") ",\"tp\":90,\"sl\":110"), T0,
	  0, 0, 0, NULL, NULL, NULL },
	{ "no long to exit on a short-only strategy",
	  ALERT("BTCUSDT", "60", "sell", "100", MP("flat") PREV("long")), T0,
	  1u << AC_ACTION_SELL, 0, 422, "action_disabled", "action",
	  "EXIT_LONG needs BUY enabled" },
	{ "a heartbeat passes the checks of any alert",
	  ALERT("BINANCE:BTCUSDT", "60", "heartbeat", "100", ""), T0, 0, 0,
	  0, NULL, NULL, NULL },
	{ "a heartbeat needs no action enabled",
	  ALERT("BTCUSDT", "60", "heartbeat", "100", ""), T0, 1u << AC_ACTION_SELL, 0,
	  0, NULL, NULL, NULL },
	{ "a heartbeat passes over the positions",
	  ALERT("BTCUSDT", "60", "heartbeat", "100", MP("flat") PREV("flat")), T0, 0, 0,
	  0, NULL, NULL, NULL },
	{ "a heartbeat is not asked for the levels a strategy requires",
	  ALERT("BTCUSDT", "60", "heartbeat", "100", ""), T0, 0,
	  AC_REQUIRED_DEFAULT | B(TP) | B(SL), 0, NULL, NULL, NULL },
	{ "a heartbeat of another symbol",
	  ALERT("ETHUSDT", "60", "heartbeat", "100", ""), T0, 0, 0,
	  422, "symbol_mismatch", "symbol", "received symbol ETHUSDT" },
	{ "a heartbeat of another timeframe",
	  ALERT("BTCUSDT", "5", "heartbeat", "100", ""), T0, 0, 0,
	  422, "timeframe_mismatch", "timeframe", "received timeframe 5m" },
	{ "a heartbeat with a take profit",
	  ALERT("BTCUSDT", "60", "heartbeat", "100", ",\"tp\":110"), T0, 0, 0,
	  400, "unexpected_field", "take_profit", "a heartbeat carries no take_profit" },
	{ "a stale heartbeat",
	  ALERT("BTCUSDT", "60", "heartbeat", "100", ""), T0 + 300001, 0, 0,
	  422, "stale_alert", "time", "300.001 s old" },
	{ "a heartbeat at price 0",
	  ALERT("BTCUSDT", "60", "heartbeat", "0", ""), T0, 0, 0,
	  422, "invalid_price", "price", "must be above 0" },
	{ "side rules come before the time window",
	  ALERT("BTCUSDT", "60", "buy", "100", ",\"sl\":100"), T0 + 999999, 0, 0,
	  422, "sl_wrong_side", "stop_loss", "below" },
};

/* Parses row's body, then holds it against BTCUSDT/1h/"UT Bot" rules. */
static void
test_check(void **state)
{
	const struct check_row	*row = *state;
	struct ac_rules		 r = { "BTCUSDT", "1h", "UT Bot", AC_ACTIONS_ALL,
				    AC_REQUIRED_DEFAULT, AC_MAX_SKEW_MS_DEFAULT };
	struct ac_alert		 a;
	struct ac_alert_error	 err = { 0 };
	int			 rc;

	if (row->actions != 0)
		r.actions = row->actions;
	if (row->required != 0)
		r.required = row->required;
	if (ac_alert_parse(row->body, strlen(row->body), JSON, &a, &err) != 0)
		fail_msg("refused: %s: %s", err.code, err.message);
	rc = ac_alert_check(&a, &r, row->now_ms, &err);
	if (row->status == 0) {
		if (rc != 0)
			fail_msg("refused: %s: %s", err.code, err.message);
		return;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(err.status, row->status);
	assert_string_equal(err.code, row->code);
	assert_string_equal(err.field, row->field);
	if (strstr(err.message, row->msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, row->msg);
}

/* ---- idempotency keys ----------------------------------------------- */

struct key_row {
	const char	*name;
	const char	*a, *b;		/* bodies */
	long long	 id_a, id_b;
	int64_t		 recv_a, recv_b;
	int		 equal;		/* the exact keys */
	int		 content;	/* the content keys: 1 equal, -1 not, 0 as exact */
};

#define KBODY(ticker, interval) \
	"{\"ticker\":\"" ticker "\",\"interval\":\"" interval "\",\"action\":\"buy\"," \
	"\"price\":\"42000.50\",\"tp\":43000,\"sl\":41000," \
	"\"timenow\":\"2024-01-15T10:30:00Z\""
#define KBASE	KBODY("BINANCE:BTCUSDT", "60")
#define KNOTIME \
	"{\"ticker\":\"BTCUSDT\",\"action\":\"sell\",\"price\":5}"

static const struct key_row key_rows[] = {
	{ "re-send is equal", KBASE "}", KBASE "}", 7, 7, T0, T0 + 5000, 1, 0 },
	{ "same alert written differently is equal", KBASE "}",
	  "{\"symbol\":\"btcusdt\",\"tf\":\"1h\",\"signal\":\"BUY\","
	  "\"close\":42000.5,\"take_profit\":\"43000.0\",\"stop_loss\":4.1e4,"
	  "\"time\":\"2024-01-15T12:30:00+02:00\",\"secret\":\"x\"}",
	  7, 7, T0, T0, 1, 0 },
	{ "strategy id differs", KBASE "}", KBASE "}", 7, 8, T0, T0, 0, 0 },
	{ "symbol differs", KBASE "}", KBODY("ETHUSDT", "60") "}",
	  7, 7, T0, T0, 0, 0 },
	{ "timeframe differs", KBASE "}", KBODY("BINANCE:BTCUSDT", "4h") "}",
	  7, 7, T0, T0, 0, 0 },
	{ "action differs", "{\"action\":\"buy\",\"price\":1,\"time\":1}",
	  "{\"action\":\"sell\",\"price\":1,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "exit action differs", "{\"signal\":\"tp\",\"price\":1,\"time\":1}",
	  "{\"signal\":\"sl\",\"price\":1,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "price differs", "{\"action\":\"buy\",\"price\":1,\"time\":1}",
	  "{\"action\":\"buy\",\"price\":1.0000001,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "tp absent vs present", "{\"action\":\"buy\",\"price\":1,\"time\":1}",
	  "{\"action\":\"buy\",\"price\":1,\"tp\":2,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "tp differs", "{\"action\":\"buy\",\"price\":1,\"tp\":2,\"time\":1}",
	  "{\"action\":\"buy\",\"price\":1,\"tp\":3,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "tp vs sl of same value", "{\"action\":\"buy\",\"price\":1,\"tp\":2}",
	  "{\"action\":\"buy\",\"price\":1,\"sl\":2}", 7, 7, T0, T0, 0, 0 },
	{ "sl differs", "{\"action\":\"buy\",\"price\":1,\"sl\":0.5,\"time\":1}",
	  "{\"action\":\"buy\",\"price\":1,\"sl\":0.6,\"time\":1}", 7, 7, T0, T0, 0, 0 },
	{ "time differs by 1 ms",
	  "{\"action\":\"buy\",\"price\":1,\"time\":\"2024-01-15T10:30:00Z\"}",
	  "{\"action\":\"buy\",\"price\":1,\"time\":\"2024-01-15T10:30:00.001Z\"}",
	  7, 7, T0, T0, 0, 1 },
	{ "double fire: {{timenow}} a second apart, same content",
	  "{\"action\":\"buy\",\"price\":1,\"timenow\":\"2024-01-15T10:30:00Z\"}",
	  "{\"action\":\"buy\",\"price\":1,\"timenow\":\"2024-01-15T10:30:01Z\"}",
	  7, 7, T0, T0 + 1000, 0, 1 },
	{ "no time: the same arrival ms is equal", KNOTIME, KNOTIME, 7, 7,
	  T0, T0, 1, 0 },
	{ "no time: a re-send 5 s later, across a minute, same content",
	  KNOTIME, KNOTIME, 7, 7, T0 + 58000, T0 + 63000, 0, 1 },
	{ "no time vs a time of the same ms", KNOTIME,
	  "{\"ticker\":\"BTCUSDT\",\"action\":\"sell\",\"price\":5,"
	  "\"time\":1705314600000}", 7, 7, T0, 0, 0, 1 },
	{ "time given: receipt time ignored", KBASE "}", KBASE "}", 7, 7,
	  T0, T0 + 3600000, 1, 0 },
	{ "time given: a bar later is another key, same content",
	  KBODY("BTCUSDT", "60") "}",
	  "{\"ticker\":\"BTCUSDT\",\"interval\":\"60\",\"action\":\"buy\","
	  "\"price\":\"42000.50\",\"tp\":43000,\"sl\":41000,"
	  "\"timenow\":\"2024-01-15T11:30:00Z\"}", 7, 7, T0, T0, 0, 1 },
};

/* Two parsed bodies give equal (or different) well-formed keys. */
static void
test_key(void **state)
{
	const struct key_row	*row = *state;
	struct ac_alert		 a, b;
	struct ac_alert_error	 err;
	char			 ka[65], kb[65], ca[65], cb[65];
	size_t			 i;

	assert_int_equal(ac_alert_parse(row->a, strlen(row->a), JSON, &a, &err), 0);
	assert_int_equal(ac_alert_parse(row->b, strlen(row->b), TEXT, &b, &err), 0);
	ac_alert_key(&a, row->id_a, row->recv_a, ka);
	ac_alert_key(&b, row->id_b, row->recv_b, kb);
	assert_int_equal(strlen(ka), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", ka[i]));
	if (row->equal)
		assert_string_equal(ka, kb);
	else
		assert_string_not_equal(ka, kb);
	ac_alert_content_key(&a, row->id_a, ca);
	ac_alert_content_key(&b, row->id_b, cb);
	assert_string_not_equal(ca, ka);
	if (row->content == 1 || (row->content == 0 && row->equal))
		assert_string_equal(ca, cb);
	else
		assert_string_not_equal(ca, cb);
}

/* The key is SHA-256 of the documented canonical string. */
static void
test_key_vectors(void **state)
{
	static const char	with_time[] = KBASE "}";
	struct ac_alert		a;
	struct ac_alert_error	err;
	char			k[65];

	assert_int_equal(ac_alert_parse(with_time, strlen(with_time), JSON, &a,
	    &err), 0);
	ac_alert_key(&a, 7, 0, k);
	/* v1|7|BTCUSDT|1h|BUY|42000.5|43000|41000|1705314600000 */
	assert_string_equal(k, "ee1e9e52eac586f6d3fb9fa097c485ab"
	    "f21ddafbc07a8fa32a460b40258ef3f1");
	assert_int_equal(ac_alert_parse(KNOTIME, strlen(KNOTIME), JSON, &a,
	    &err), 0);
	ac_alert_key(&a, 7, T0, k);
	/* v1|7|BTCUSDT||SELL|5|||a1705314600000 */
	assert_string_equal(k, "3c744b69023b6b716ad77362776380e7"
	    "24958a10039f8ea0a6eeadde6fdcc4f2");
	assert_int_equal(ac_alert_event_ms(&a, T0), T0);
	assert_int_equal(ac_alert_parse(with_time, strlen(with_time), JSON, &a,
	    &err), 0);
	assert_int_equal(ac_alert_event_ms(&a, T0 + 5000), T0);
	ac_alert_content_key(&a, 7, k);
	/* c1|7|BTCUSDT|1h|BUY|42000.5|43000|41000 */
	assert_string_equal(k, "1a5de3cb5996dffa973864a7fefa44b1"
	    "6dd6b36256e4e5ef8661732db55af4eb");
}

/* ---- public normalizers --------------------------------------------- */

struct str_row {
	const char	*in;
	const char	*out;		/* NULL: refused */
};

static const struct str_row timeframe_rows[] = {
	{ "1", "1m" }, { "5", "5m" }, { "15", "15m" }, { "30", "30m" },
	{ "60", "1h" }, { "120", "2h" }, { "240", "4h" }, { "360", "6h" },
	{ "720", "12h" }, { "1440", "1d" }, { "10080", "1w" }, { "90", "90m" },
	{ "D", "1d" }, { "W", "1w" }, { "M", "1M" }, { "1D", "1d" },
	{ "2D", "2d" }, { "1W", "1w" }, { "3M", "3M" }, { "12M", "12M" },
	{ "30S", "30s" }, { "60S", "1m" }, { "1h", "1h" }, { "4H", "4h" },
	{ "15m", "15m" }, { "60m", "1h" }, { "1d", "1d" }, { "1w", "1w" },
	{ "60min", "1h" }, { "24h", "1d" }, { "36h", "36h" }, { "14D", "2w" },
	{ " 5 ", "5m" }, { "4 h", "4h" },
	{ "0", NULL }, { "0D", NULL }, { "-5", NULL }, { "", NULL },
	{ "  ", NULL }, { "x", NULL }, { "5x", NULL }, { "1.5", NULL },
	{ "M5", NULL }, { "1MM", NULL }, { "99999999999", NULL },
	{ "9999999M", NULL },
};

/* ac_timeframe_normalize maps in to out, or refuses it. */
static void
test_timeframe(void **state)
{
	const struct str_row	*row = *state;
	char			 out[AC_TIMEFRAME_MAX];

	if (row->out == NULL) {
		assert_int_equal(ac_timeframe_normalize(row->in, out,
		    sizeof(out)), -1);
		return;
	}
	assert_int_equal(ac_timeframe_normalize(row->in, out, sizeof(out)), 0);
	assert_string_equal(out, row->out);
}

/* ac_timeframe_valid knows exactly the strategy vocabulary. */
static void
test_timeframe_valid(void **state)
{
	static const char *const yes[] = { "1m", "5m", "15m", "30m", "1h", "2h",
	    "4h", "6h", "12h", "1d", "1w" };
	static const char *const no[] = { "2m", "3h", "1M", "60", "1H", "",
	    "30s", "2w" };
	size_t	i;

	for (i = 0; i < NROWS(yes); i++)
		assert_int_equal(ac_timeframe_valid(yes[i]), 1);
	for (i = 0; i < NROWS(no); i++)
		assert_int_equal(ac_timeframe_valid(no[i]), 0);
	assert_int_equal(ac_timeframe_valid(NULL), 0);
}

struct symbol_row {
	const char	*in, *sym, *exch;	/* sym NULL: refused */
};

static const struct symbol_row symbol_rows[] = {
	{ "BTCUSDT", "BTCUSDT", "" },
	{ "binance:btcusdt", "BTCUSDT", "BINANCE" },
	{ " NASDAQ : aapl ", "AAPL", "NASDAQ" },
	{ "BTCUSDT.P", "BTCUSDT.P", "" },
	{ "NYSE:BRK-B", "BRK-B", "NYSE" },
	{ "btc_usd", "BTC_USD", "" },
	{ "ES1!", "ES1!", "" },
	{ "", NULL, NULL }, { " ", NULL, NULL }, { ":BTC", NULL, NULL },
	{ "BINANCE:", NULL, NULL }, { "A:B:C", NULL, NULL },
	{ "BTC/USD", NULL, NULL }, { "BTC USD", NULL, NULL },
	{ "BTCÜSD", NULL, NULL },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", NULL, NULL },
};

/* ac_symbol_normalize splits and upper-cases, or refuses. */
static void
test_symbol(void **state)
{
	const struct symbol_row	*row = *state;
	char			 sym[AC_SYMBOL_MAX], exch[AC_SYMBOL_MAX];

	if (row->sym == NULL) {
		assert_int_equal(ac_symbol_normalize(row->in, sym, sizeof(sym),
		    exch, sizeof(exch)), -1);
		assert_int_equal(ac_symbol_normalize(row->in, sym, sizeof(sym),
		    NULL, 0), -1);
		return;
	}
	assert_int_equal(ac_symbol_normalize(row->in, sym, sizeof(sym), exch,
	    sizeof(exch)), 0);
	assert_string_equal(sym, row->sym);
	assert_string_equal(exch, row->exch);
	assert_int_equal(ac_symbol_normalize(row->in, sym, sizeof(sym), NULL,
	    0), 0);
	assert_string_equal(sym, row->sym);
}

/* ac_action_parse knows every spelling; ac_action_name round-trips. */
static void
test_actions(void **state)
{
	static const struct { const char *in; enum ac_action a; } rows[] = {
		{ "buy", AC_ACTION_BUY }, { "BUY", AC_ACTION_BUY },
		{ " Long ", AC_ACTION_BUY }, { "sell", AC_ACTION_SELL },
		{ "SHORT", AC_ACTION_SELL }, { "tp_hit", AC_ACTION_TP_HIT },
		{ "TP", AC_ACTION_TP_HIT }, { "take-profit", AC_ACTION_TP_HIT },
		{ "Take Profit", AC_ACTION_TP_HIT },
		{ "takeprofit", AC_ACTION_TP_HIT }, { "SL_HIT", AC_ACTION_SL_HIT },
		{ "sl", AC_ACTION_SL_HIT }, { "STOP-LOSS", AC_ACTION_SL_HIT },
		{ "stoploss", AC_ACTION_SL_HIT }, { "sl hit", AC_ACTION_SL_HIT },
		{ "", AC_ACTION_NONE }, { "hold", AC_ACTION_NONE },
		{ "flat", AC_ACTION_EXIT }, { "Exit", AC_ACTION_EXIT },
		{ "close", AC_ACTION_EXIT }, { "EXIT_LONG", AC_ACTION_EXIT_LONG },
		{ "close-long", AC_ACTION_EXIT_LONG },
		{ "exit short", AC_ACTION_EXIT_SHORT },
		{ "close_short", AC_ACTION_EXIT_SHORT },
		{ "buybuybuybuybuybuy", AC_ACTION_NONE },
		{ "heartbeat", AC_ACTION_HEARTBEAT }, { "HeartBeat", AC_ACTION_HEARTBEAT },
		{ "heart beat", AC_ACTION_NONE },
	};
	size_t	i;

	for (i = 0; i < NROWS(rows); i++)
		assert_int_equal(ac_action_parse(rows[i].in), rows[i].a);
	assert_string_equal(ac_action_name(AC_ACTION_BUY), "BUY");
	assert_string_equal(ac_action_name(AC_ACTION_SELL), "SELL");
	assert_string_equal(ac_action_name(AC_ACTION_TP_HIT), "TP_HIT");
	assert_string_equal(ac_action_name(AC_ACTION_SL_HIT), "SL_HIT");
	assert_string_equal(ac_action_name(AC_ACTION_EXIT_LONG), "EXIT_LONG");
	assert_string_equal(ac_action_name(AC_ACTION_EXIT_SHORT), "EXIT_SHORT");
	assert_string_equal(ac_action_name(AC_ACTION_EXIT), "EXIT");
	assert_string_equal(ac_action_name(AC_ACTION_HEARTBEAT), "HEARTBEAT");
	assert_string_equal(ac_action_name(AC_ACTION_NONE), "NONE");
	assert_string_equal(ac_action_name(AC_ACTION__MAX), "NONE");
}

/* ac_field_name gives the canonical names used in errors. */
static void
test_field_names(void **state)
{
	static const char *const names[AC_F__MAX] = { "symbol", "timeframe",
	    "strategy", "action", "price", "take_profit", "stop_loss", "time" };
	int	f;

	for (f = 0; f < AC_F__MAX; f++)
		assert_string_equal(ac_field_name((enum ac_field)f), names[f]);
	assert_string_equal(ac_field_name(AC_F__MAX), "unknown");
}

struct time_row {
	const char	*in;
	int		 ok;
	int64_t		 ms;
};

static const struct time_row time_rows[] = {
	{ "2024-01-15T10:30:00Z", 1, T0 },
	{ "2024-01-15t10:30:00z", 1, T0 },
	{ "2024-01-15T10:30Z", 1, T0 },
	{ "2024-01-15T10:30:00.5Z", 1, T0 + 500 },
	{ "2024-01-15T10:30:00.123456789Z", 1, T0 + 123 },
	{ "2024-01-15T10:30:00,250Z", 1, T0 + 250 },
	{ "2024-01-15T11:30:00+01", 1, T0 },
	{ "2024-01-15T11:30:00+0100", 1, T0 },
	{ "2024-01-15T00:00:00-10:30", 1, T0 },
	{ "2000-02-29T00:00:00Z", 1, 951782400000LL },
	{ "1969-12-31T23:59:59Z", 1, -1000 },
	/* leap years, month ends, the ends of the 4-digit range */
	{ "2024-02-29T12:00:00Z", 1, 1709208000000LL },
	{ "1600-02-29T00:00:00Z", 1, -11670998400000LL },
	{ "2023-02-28T24:00:00Z", 0, 0 }, { "2023-03-01T00:00:00Z", 1, 1677628800000LL },
	{ "2024-04-30T23:59:59Z", 1, 1714521599000LL }, { "2024-04-31T00:00:00Z", 0, 0 },
	{ "2024-12-31T23:59:59Z", 1, 1735689599000LL }, { "2024-12-32T00:00:00Z", 0, 0 },
	{ "0000-01-01T00:00:00Z", 1, -62167219200000LL },
	{ "9999-12-31T23:59:59Z", 1, 253402300799000LL },
	{ "1970-01-01T00:00:00+00:01", 1, -60000 },
	{ "1900-02-29T00:00:00Z", 0, 0 }, { "2100-02-29T00:00:00Z", 0, 0 },
	{ "2024-00-10T00:00:00Z", 0, 0 }, { "2024-01-00T00:00:00Z", 0, 0 },
	{ "2024-06-31T00:00:00Z", 0, 0 }, { "2024-09-31T00:00:00Z", 0, 0 },
	{ "2024-11-31T00:00:00Z", 0, 0 }, { "2024-01-15T10:30:00-00:60", 0, 0 },
	{ " 1705314600 ", 1, T0 },
	{ "1705314600123", 1, T0 + 123 },
	{ "0", 1, 0 },
	{ "", 0, 0 }, { "2024-01-15", 0, 0 }, { "2024-01-15T10:30:00.Z", 0, 0 },
	{ "2023-02-29T00:00:00Z", 0, 0 }, { "2024-01-15T10:60:00Z", 0, 0 },
	{ "2024-01-15T10:30:60Z", 0, 0 }, { "2024-01-15T10:30:00+24:00", 0, 0 },
	{ "2024-01-15T10:30:00Zjunk", 0, 0 }, { "-1705314600", 0, 0 },
	{ "1705314600.5", 0, 0 }, { "9999999999999999", 0, 0 },
	{ "2024-1-15T10:30:00Z", 0, 0 }, { "2024-01-15T10:30:5Z", 0, 0 },
};

/* ac_time_parse reads ISO-8601 and unix seconds/milliseconds. */
static void
test_time(void **state)
{
	const struct time_row	*row = *state;
	int64_t			 ms = 42;

	assert_int_equal(ac_time_parse(row->in, &ms), row->ok ? 0 : -1);
	if (row->ok)
		assert_int_equal(ms, row->ms);
}

/* ---- secret spans: the lenient scan ------------------------------------ */

/* The values the scan finds in body, "|"-separated, as written. */
static const struct secret_row {
	const char	*name;
	const char	*body;
	const char	*want;
} secret_rows[] = {
	{ "secret json", "{\"secret\":\"s3cr3t-tok\",\"price\":1}", "s3cr3t-tok" },
	{ "every alias, any case", "{\"Token\":\"aaaa\",\"PASSPHRASE\":\"bbbb\","
	    "\"sEcReT\":\"cccc\"}", "aaaa|bbbb|cccc" },
	{ "spaces around the colon", "{ \"secret\" :  \"abcd\" }", "abcd" },
	{ "malformed json after it", "{\"secret\":\"abcd\", price: {{close}}}", "abcd" },
	{ "unquoted value", "{\"secret\": abcd1234, \"price\": 1}", "abcd1234" },
	{ "escaped quote kept inside", "{\"secret\":\"ab\\\"cd\"}", "ab\\\"cd" },
	{ "cut short", "{\"secret\":\"abcdef", "abcdef" },
	{ "text/plain key=value", "BUY BTCUSDT secret=abcd&price=1", "abcd" },
	{ "text/plain key: value", "token: zzzz9 buy now", "zzzz9" },
	{ "single quotes", "{'passphrase': 'pq rs'}", "pq rs" },
	{ "number value", "{\"token\": 123456}", "123456" },
	{ "not a whole word", "{\"mytoken\":\"a\",\"token_id\":\"b\",\"secrets\":\"c\"}", "" },
	{ "a key without a value", "{\"secret\"}", "" },
	{ "an empty value", "{\"secret\":\"\"}", "" },
	{ "the key in a value", "{\"note\":\"token: t0k3n\"}", "t0k3n" },
};

static void
test_secret_spans(void **state)
{
	const struct secret_row *row = *state;
	struct ac_span sp[8];
	size_t n = ac_alert_secret_spans(row->body, strlen(row->body), sp, 8), len = 0;
	char got[256] = "";

	for (size_t i = 0; i < n && i < 8; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%.*s", i ? "|" : "",
		    (int)sp[i].len, row->body + sp[i].off);
	assert_string_equal(got, row->want);
}

/* More secret keys than room: the count says so. */
static void
test_secret_spans_overflow(void **state)
{
	static const char body[] = "{\"token\":\"a\",\"token\":\"b\",\"token\":\"c\"}";
	struct ac_span sp[2];

	assert_int_equal(ac_alert_secret_spans(body, strlen(body), sp, 2), 3);
	assert_int_equal(sp[1].len, 1);
	assert_memory_equal(body + sp[1].off, "b", 1);
}

/* ---- runner --------------------------------------------------------- */

/* Appends one test per row of a table to tests at *n. */
#define ADD_ROWS(tbl, fn, namefield) do {				\
	size_t	i_;							\
	for (i_ = 0; i_ < NROWS(tbl); i_++) {				\
		tests[n].name = (tbl)[i_].namefield;			\
		tests[n].test_func = (fn);				\
		tests[n].setup_func = NULL;				\
		tests[n].teardown_func = NULL;				\
		tests[n].initial_state = (void *)&(tbl)[i_];		\
		n++;							\
	}								\
} while (0)

int
main(void)
{
	static const struct CMUnitTest singles[] = {
		cmocka_unit_test(test_key_vectors),
		cmocka_unit_test(test_timeframe_valid),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_secret_spans_overflow),
	};
	struct CMUnitTest	tests[NROWS(parse_ok_rows) + NROWS(parse_bad_rows) +
				    NROWS(check_rows) + NROWS(key_rows) +
				    NROWS(position_rows) +
				    NROWS(timeframe_rows) + NROWS(symbol_rows) +
				    NROWS(time_rows) + NROWS(secret_rows) + NROWS(singles)];
	size_t			n = 0, i;

	ADD_ROWS(parse_ok_rows, test_parse_ok, name);
	ADD_ROWS(parse_bad_rows, test_parse_bad, name);
	ADD_ROWS(position_rows, test_position, name);
	ADD_ROWS(check_rows, test_check, name);
	ADD_ROWS(key_rows, test_key, name);
	ADD_ROWS(timeframe_rows, test_timeframe, in);
	ADD_ROWS(symbol_rows, test_symbol, in);
	ADD_ROWS(time_rows, test_time, in);
	ADD_ROWS(secret_rows, test_secret_spans, name);
	for (i = 0; i < NROWS(singles); i++)
		tests[n++] = singles[i];
	return _cmocka_run_group_tests("signal", tests, n, NULL, NULL);
}
