/* telegram.c — see telegram.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "account/telegram.h"

static const struct ac_stmt st_code = { "tg_link_code",
	"INSERT INTO telegram_link_codes (code, user_id, expires_at)"
	" VALUES ($1, $2, now() + make_interval(secs => $3::int))", 3 };

int
ac_telegram_link_code(struct ac_db *db, long long user_id, char *out, size_t outsz)
{
	char token[AC_TOKEN_LEN + 1], uid[24], ttl[16];
	const char *vals[3] = { token, uid, ttl };

	if (outsz < AC_TELEGRAM_CODE_LEN + 1 || ac_token_new(token) == -1)
		return -1;
	token[AC_TELEGRAM_CODE_LEN] = '\0';
	snprintf(uid, sizeof(uid), "%lld", user_id);
	snprintf(ttl, sizeof(ttl), "%d", AC_TELEGRAM_CODE_TTL_S);
	if (ac_db_command(db, &st_code, vals) == -1)
		return -1;
	snprintf(out, outsz, "%s", token);
	return 0;
}

enum ac_tg_cmd
ac_telegram_command(const char *text, char *code, size_t codesz)
{
	static const struct {
		const char	*name;
		enum ac_tg_cmd	 cmd;
	} cmds[] = { { "/start", AC_TG_START }, { "/stop", AC_TG_STOP } };
	size_t n;

	if (codesz > 0)
		code[0] = '\0';
	if (text == NULL)
		return AC_TG_NONE;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *p;

		n = strlen(cmds[i].name);
		if (strncmp(text, cmds[i].name, n) != 0)
			continue;
		p = text + n;
		if (*p == '@')		/* "/start@botname" in a group */
			while (*p && !isspace((unsigned char)*p))
				p++;
		if (*p != '\0' && !isspace((unsigned char)*p))
			continue;	/* "/startle" */
		while (isspace((unsigned char)*p))
			p++;
		if (codesz > 0)
			snprintf(code, codesz, "%.*s", (int)strcspn(p, " \t\r\n"), p);
		return cmds[i].cmd;
	}
	return AC_TG_NONE;
}

static const struct ac_stmt st_use = { "tg_use_code",
	"UPDATE telegram_link_codes SET used_at = now()"
	" WHERE code = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id", 1 };

/* The chat (and username) leave whoever else had them: both are unique. */
static const struct ac_stmt st_take = { "tg_take_chat",
	"UPDATE users SET telegram_chat_id = CASE WHEN telegram_chat_id = $2 THEN NULL"
	"  ELSE telegram_chat_id END,"
	" telegram_username = CASE WHEN lower(telegram_username) = lower($3) THEN NULL"
	"  ELSE telegram_username END, updated_at = now()"
	" WHERE id <> $1 AND (telegram_chat_id = $2 OR lower(telegram_username) = lower($3))", 3 };

static const struct ac_stmt st_link = { "tg_link",
	"UPDATE users SET telegram_chat_id = $2, telegram_username = $3,"
	" telegram_unreachable_at = NULL, updated_at = now() WHERE id = $1", 3 };

enum ac_tg_link
ac_telegram_link(struct ac_db *db, const char *code, const char *chat, const char *username,
    long long *user_id)
{
	const char *cv[1] = { code };
	const char *uv[3] = { NULL, chat, username };
	PGresult *res;

	*user_id = 0;
	if (ac_db_begin(db) == -1)
		return AC_TG_DB_ERROR;
	res = ac_db_exec(db, &st_use, cv, NULL, NULL);
	if (!ac_db_ok(db, res, PGRES_TUPLES_OK))
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ac_db_rollback(db);
		return AC_TG_BAD_CODE;
	}
	*user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	uv[0] = PQgetvalue(res, 0, 0);
	if (ac_db_command(db, &st_take, uv) == -1 || ac_db_command(db, &st_link, uv) == -1) {
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (ac_db_commit(db) == -1)
		return AC_TG_DB_ERROR;
	return AC_TG_LINKED;
fail:
	ac_db_rollback(db);
	return AC_TG_DB_ERROR;
}

static const struct ac_stmt st_unlink = { "tg_unlink",
	"UPDATE users SET telegram_chat_id = NULL, updated_at = now()"
	" WHERE telegram_chat_id = $1", 1 };

int
ac_telegram_unlink(struct ac_db *db, const char *chat)
{
	const char *vals[1] = { chat };

	return (int)ac_db_command(db, &st_unlink, vals);
}

static const struct ac_stmt st_disconnect = { "tg_disconnect",
	"UPDATE users SET telegram_chat_id = NULL, telegram_username = NULL,"
	" telegram_unreachable_at = NULL, updated_at = now()"
	" WHERE id = $1 AND telegram_chat_id IS NOT NULL", 1 };

int
ac_telegram_disconnect(struct ac_db *db, long long user_id)
{
	char id[24];
	const char *vals[1] = { id };

	snprintf(id, sizeof(id), "%lld", user_id);
	return (int)ac_db_command(db, &st_disconnect, vals);
}

/* Collects an answer body (at most 1 MiB). */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct ac_buf *b = arg;
	size_t len = size * n;

	if (b->len + len > 1 << 20)
		return 0;
	ac_buf_add(b, p, len);
	return len;
}

json_t *
ac_telegram_set_webhook(const struct ac_config *cfg, struct ac_err *e)
{
	const char *token = ac_setting_str(cfg, AC_S_TELEGRAM_BOT_TOKEN);
	const char *secret = ac_setting_str(cfg, AC_S_TELEGRAM_WEBHOOK_SECRET);
	const char *api = ac_setting_str(cfg, AC_S_TELEGRAM_API_BASE);
	char url[1024], hook[1024], cerr[CURL_ERROR_SIZE] = "", *body;
	struct ac_buf out = AC_BUF_INIT;
	struct curl_slist *h;
	json_t *o = NULL, *req;
	CURL *c;
	CURLcode cc;

	if (token == NULL || *token == '\0' || secret == NULL || *secret == '\0' ||
	    cfg->base_url == NULL || *cfg->base_url == '\0') {
		ac_err_set(e, AC_E_INVALID, NULL, "AC_TELEGRAM_BOT_TOKEN, AC_TELEGRAM_WEBHOOK_SECRET"
		    " and AC_BASE_URL must be set");
		return NULL;
	}
	snprintf(url, sizeof(url), "%s/bot%s/setWebhook", api, token);
	snprintf(hook, sizeof(hook), "%s/hook/telegram", cfg->base_url);
	req = json_pack("{s:s, s:s, s:[s]}", "url", hook, "secret_token", secret,
	    "allowed_updates", "message");
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL || (c = curl_easy_init()) == NULL)
		abort();
	h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if ((cc = curl_easy_perform(c)) != CURLE_OK)
		/* the URL holds the bot token: say where, not which */
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "setWebhook on %s: %s", api, cerr[0] ? cerr :
		    curl_easy_strerror(cc));
	else if ((o = json_loads(out.p ? out.p : "", 0, NULL)) == NULL)
		ac_err_set(e, AC_E_UNAVAILABLE, NULL, "setWebhook on %s: the answer is not JSON", api);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(body);
	ac_buf_free(&out);
	return o;
}
