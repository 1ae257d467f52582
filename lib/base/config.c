/* config.c — see config.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"

#ifndef AC_SQL_DIR
#define AC_SQL_DIR "/usr/local/share/alertcast/sql"
#endif
#ifndef AC_STATE_DIR
#define AC_STATE_DIR "/var/lib/alertcast"
#endif

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

const char *
ac_config_str(const struct ac_config *c, const char *key, const char *def)
{
	const char *v = getenv(key);

	if (v != NULL && *v != '\0')
		return v;
	for (size_t i = c->nfile; i > 0; i--)	/* the last line for a key wins */
		if (strcmp(c->file[i - 1].key, key) == 0)
			return c->file[i - 1].value;
	return def;
}

long long
ac_config_int(const struct ac_config *c, const char *key, long long min,
    long long max, long long def)
{
	const char *v = ac_config_str(c, key, NULL), *errstr;
	long long n;

	if (v == NULL)
		return def;
	n = ac_strtonum(v, min, max, &errstr);
	if (errstr != NULL) {
		ac_warn("%s=%s is %s (range %lld..%lld); using %lld", key, v, errstr, min, max, def);
		return def;
	}
	return n;
}

int
ac_config_load(struct ac_config *c, const char *path, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	if (path == NULL)
		path = getenv("AC_CONFIG");
	if (path != NULL && *path != '\0' && load_file(c, path, err, errsz) == -1)
		return -1;
	c->database_url = ac_config_str(c, "AC_DATABASE_URL", "dbname=alertcast");
	c->redis_url = ac_config_str(c, "AC_REDIS_URL", "redis://127.0.0.1:6379");
	c->state_dir = ac_config_str(c, "AC_STATE_DIR", AC_STATE_DIR);
	c->sql_dir = ac_config_str(c, "AC_SQL_DIR", AC_SQL_DIR);
	c->base_url = ac_config_str(c, "AC_BASE_URL", "http://127.0.0.1:8080");
	c->log_level = ac_log_level_parse(ac_config_str(c, "AC_LOG_LEVEL", "info"));
	return 0;
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
