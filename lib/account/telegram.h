/*
 * telegram.h — linking a user's Telegram chat to the account.
 *
 * The portal (or `acctl telegram link-code`) makes a one-time code and
 * shows the deep link t.me/<bot>?start=<code>; the user's Telegram sends
 * "/start <code>" to the bot, and Telegram delivers that update to
 * POST /hook/telegram (ac-hook), which stores the chat on the code's user.
 * "/stop" unlinks the chat. `acctl telegram set-webhook` registers the
 * URL with Telegram, with the secret it sends back in
 * X-Telegram-Bot-Api-Secret-Token.
 */
#ifndef AC_TELEGRAM_H
#define AC_TELEGRAM_H

#include <stddef.h>

#include <jansson.h>

#include "base/config.h"
#include "base/db.h"
#include "base/err.h"

#define AC_TELEGRAM_CODE_LEN	32	/* URL-safe characters of a link code */
#define AC_TELEGRAM_CODE_TTL_S	900	/* a code is valid this long */

/* A fresh random link code for user_id, valid AC_TELEGRAM_CODE_TTL_S,
 * stored and written to out (at least AC_TELEGRAM_CODE_LEN + 1 bytes).
 * 0, or -1 (database error, no randomness, out too small). */
int	ac_telegram_link_code(struct ac_db *db, long long user_id, char *out, size_t outsz);

enum ac_tg_cmd {
	AC_TG_NONE = 0,		/* not a command this bot knows */
	AC_TG_START,		/* "/start" (code holds its argument, maybe "") */
	AC_TG_STOP		/* "/stop" */
};

/* The command in a message's text ("/start CODE", "/start@bot CODE",
 * "/stop"); the /start argument goes to code (truncated to codesz). Pure. */
enum ac_tg_cmd ac_telegram_command(const char *text, char *code, size_t codesz);

enum ac_tg_link {
	AC_TG_LINKED = 0,	/* the chat is now the code's user's */
	AC_TG_BAD_CODE,		/* unknown, used or expired code: nothing changed */
	AC_TG_DB_ERROR		/* ac_db_error() says why */
};

/* Uses code (once) to link chat (and username, may be NULL) to its user,
 * taking the chat from any other user and clearing the user's
 * telegram_unreachable_at, in one transaction. *user_id gets the user. */
enum ac_tg_link ac_telegram_link(struct ac_db *db, const char *code, const char *chat,
	    const char *username, long long *user_id);

/* Unlinks chat from whoever has it. The number of users changed (0 or 1),
 * or -1 on a database error. */
int	ac_telegram_unlink(struct ac_db *db, const char *chat);

/* The user's own "Disconnect": their chat and username forgotten (Telegram
 * is then a channel without an address: no signal goes there, none is
 * charged for it). 1, 0 when none was linked, -1 on a database error. */
int	ac_telegram_disconnect(struct ac_db *db, long long user_id);

/* Calls setWebhook on AC_TELEGRAM_API_BASE with url $AC_BASE_URL/hook/telegram
 * and AC_TELEGRAM_WEBHOOK_SECRET. Telegram's answer (caller decrefs), or
 * NULL with *e: AC_E_INVALID (a setting missing), AC_E_UNAVAILABLE (the
 * call failed, or the answer is not JSON). */
json_t	*ac_telegram_set_webhook(const struct ac_config *cfg, struct ac_err *e);

#endif
