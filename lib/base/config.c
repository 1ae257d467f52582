/* config.c — see config.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads KEY=VALUE lines; '#' starts a comment line; values may be quoted. */
static int
load_file(struct ac_config *c, const char *path, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *k, *v, *eq;
	size_t cap = 0, n;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		snprintf(err, errsz, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if (strncmp(k, "export ", 7) == 0)
			k = trim(k + 7);
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errsz, "config file %s line %d: expected KEY=VALUE", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		c->file = realloc(c->file, (c->nfile + 1) * sizeof(*c->file));
		if (c->file == NULL)
			abort();
		c->file[c->nfile].key = strdup(k);
		c->file[c->nfile].value = strdup(v);
		c->nfile++;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Where key's value is: the environment (non-empty), else the file's last
 * line for it, else NULL. */
static const char *
lookup(const struct ac_config *c, const char *key, enum ac_config_source *src)
{
	const char *v = getenv(key);

	*src = AC_SRC_ENV;
	if (v != NULL && *v != '\0')
		return v;
	*src = AC_SRC_FILE;
	for (size_t i = c->nfile; i > 0; i--)	/* the last line for a key wins */
		if (strcmp(c->file[i - 1].key, key) == 0)
			return c->file[i - 1].value;
	*src = AC_SRC_DEFAULT;
	return NULL;
}

static int
config_load(struct ac_config *c, const char *path, char *err, size_t errsz)
{
	enum ac_config_source src = AC_SRC_ARG;
	char why[512];

	memset(c, 0, sizeof(*c));
	if (path == NULL) {
		path = getenv("AC_CONFIG");
		src = AC_SRC_ENV;
	}
	if (path != NULL && *path != '\0') {
		if (load_file(c, path, err, errsz) == -1)
			return -1;
		c->val[AC_S_CONFIG] = path;
		c->src[AC_S_CONFIG] = (unsigned char)src;
	}
	for (int i = AC_S_CONFIG + 1; i < AC_S__MAX; i++) {
		const char *v = lookup(c, ac_settings[i].name, &src);

		if (v != NULL && *v == '\0')
			v = NULL;	/* "KEY=" in the file: the default */
		if (v == NULL)
			src = AC_SRC_DEFAULT;
		c->src[i] = (unsigned char)src;
		c->val[i] = v != NULL ? v : ac_settings[i].def;
		if (ac_setting_check((enum ac_setting)i, c->val[i], &c->num[i], why,
		    sizeof(why)) == -1) {
			snprintf(err, errsz, "%.300s%s%.200s", why, src == AC_SRC_FILE ? " in " : "",
			    src == AC_SRC_FILE ? path : "");
			return -1;
		}
	}
	c->database_url = c->val[AC_S_DATABASE_URL];
	c->redis_url = c->val[AC_S_REDIS_URL];
	c->state_dir = c->val[AC_S_STATE_DIR];
	c->sql_dir = c->val[AC_S_SQL_DIR];
	c->base_url = c->val[AC_S_BASE_URL];
	c->log_level = (enum ac_log_level)c->num[AC_S_LOG_LEVEL];
	return 0;
}

int
ac_config_load(struct ac_config *c, const char *path, struct ac_err *e)
{
	char err[sizeof(e->message)] = "";

	if (config_load(c, path, err, sizeof(err)) == -1)
		return ac_err_set(e, AC_E_INVALID, NULL, "%s", err);
	return 0;
}

int
ac_setting_int(const struct ac_config *c, enum ac_setting id)
{
	return (int)c->num[id];
}

const char *
ac_setting_str(const struct ac_config *c, enum ac_setting id)
{
	return c->val[id] != NULL && *c->val[id] != '\0' ? c->val[id] : NULL;
}

enum ac_config_source
ac_setting_source(const struct ac_config *c, enum ac_setting id)
{
	return (enum ac_config_source)c->src[id];
}

const char *
ac_config_source_name(enum ac_config_source s)
{
	static const char *const names[] = { "default", "environment", "config file",
	    "command line" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void
ac_config_free(struct ac_config *c)
{
	for (size_t i = 0; i < c->nfile; i++) {
		free(c->file[i].key);
		free(c->file[i].value);
	}
	free(c->file);
	memset(c, 0, sizeof(*c));
}
