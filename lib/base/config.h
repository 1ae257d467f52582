/*
 * config.h — settings from AC_* environment variables, optionally read
 * first from a KEY=VALUE file (given by --config or AC_CONFIG). The
 * environment wins over the file; the file wins over the defaults.
 */
#ifndef AC_CONFIG_H
#define AC_CONFIG_H

#include <stddef.h>

#include "base/log.h"

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
	/* what the file said; the environment is read directly */
	struct ac_config_kv *file;
	size_t		 nfile;
};

/*
 * Loads *c from path (NULL: AC_CONFIG, or no file) and the environment.
 * Returns 0, or -1 with a message in err (an unreadable file or a line
 * that is not KEY=VALUE). Strings stay valid until ac_config_free().
 */
int		 ac_config_load(struct ac_config *c, const char *path, char *err, size_t errsz);
void		 ac_config_free(struct ac_config *c);

/* The value of key (environment first, then the file), or def. */
const char	*ac_config_str(const struct ac_config *c, const char *key, const char *def);

/* key as an integer in [min, max]; def when unset or invalid (logged). */
long long	 ac_config_int(const struct ac_config *c, const char *key,
		    long long min, long long max, long long def);

#endif
