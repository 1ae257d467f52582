/*
 * config.h — settings from AC_* environment variables, optionally read
 * first from a KEY=VALUE file (given by --config or AC_CONFIG). The
 * environment wins over the file; the file wins over the defaults. Every
 * setting is declared in base/settings.h; ac_config_load() checks them all
 * against their bounds once, and programs read them with the typed getters
 * ac_setting_int() and ac_setting_str() by id.
 */
#ifndef AC_CONFIG_H
#define AC_CONFIG_H

#include <stddef.h>

#include "base/err.h"
#include "base/log.h"
#include "base/settings.h"

/* Where a setting's value came from. */
enum ac_config_source {
	AC_SRC_DEFAULT,
	AC_SRC_ENV,		/* the environment */
	AC_SRC_FILE,		/* the config file */
	AC_SRC_ARG		/* the command line (AC_CONFIG as --config) */
};

struct ac_config_kv {
	char	*key;
	char	*value;
};

struct ac_config {
	/* the settings every program uses */
	const char	*database_url;	/* AC_DATABASE_URL: libpq conninfo or URI */
	const char	*redis_url;	/* AC_REDIS_URL: redis://host:port[/db] */
	const char	*state_dir;	/* AC_STATE_DIR: spool and other local state */
	const char	*sql_dir;	/* AC_SQL_DIR: the migrations */
	const char	*base_url;	/* AC_BASE_URL: how the world reaches nginx */
	enum ac_log_level log_level;	/* AC_LOG_LEVEL */
	/* every setting, checked: its text (NULL: unset), its number
	 * (numbers, bools; an enum's word index) and where it came from */
	const char	*val[AC_S__MAX];
	long long	 num[AC_S__MAX];
	unsigned char	 src[AC_S__MAX];
	/* what the file said */
	struct ac_config_kv *file;
	size_t		 nfile;
};

/*
 * Loads *c from path (NULL: AC_CONFIG, or no file) and the environment.
 * Returns 0, or -1 with *e (AC_E_INVALID: an unreadable file, a line that
 * is not KEY=VALUE, or a setting out of its type or bounds: the message
 * names it). Strings stay valid until ac_config_free().
 */
int		 ac_config_load(struct ac_config *c, const char *path, struct ac_err *e);
void		 ac_config_free(struct ac_config *c);

/* A number, bool or enum setting (checked against its bounds at load). */
int		 ac_setting_int(const struct ac_config *c, enum ac_setting id);
/* A text setting: its value, or NULL when unset (never ""). */
const char	*ac_setting_str(const struct ac_config *c, enum ac_setting id);
enum ac_config_source ac_setting_source(const struct ac_config *c, enum ac_setting id);
/* "default", "environment", "config file" or "command line". */
const char	*ac_config_source_name(enum ac_config_source s);

#endif
