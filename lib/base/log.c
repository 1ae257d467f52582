/* log.c — JSON lines on stderr; see log.h. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static const char	*prog = "alertcast";
static enum ac_log_level minlevel = AC_LOG_INFO;
static _Thread_local char reqid[128];	/* per serving thread */

static const char *const names[] = { "debug", "info", "warn", "error" };

void
ac_log_init(const char *program, enum ac_log_level min)
{
	prog = program;
	minlevel = min;
}

enum ac_log_level
ac_log_level_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum ac_log_level)i;
	return AC_LOG_INFO;
}

void
ac_log_request(const char *request_id)
{
	snprintf(reqid, sizeof(reqid), "%s", request_id ? request_id : "");
}

void
ac_log_at(enum ac_log_level lvl, const char *func, const char *fmt, ...)
{
	char raw[2048], msg[2048], ts[32];
	va_list ap;
	json_t *o;
	char *line;

	if (lvl < minlevel)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	ac_utf8_clean(msg, sizeof(msg), raw, strlen(raw));
	ac_iso8601_ms(ac_now_ms(), ts);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ts", ts, "level", names[lvl],
	    "prog", prog, "pid", (int)getpid(), "func", func);
	if (o == NULL)
		return;
	if (reqid[0] != '\0')
		json_object_set_new(o, "request_id", json_string(reqid));
	json_object_set_new(o, "msg", json_string(msg));
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (line != NULL) {
		fprintf(stderr, "%s\n", line);
		free(line);
	}
	json_decref(o);
}
