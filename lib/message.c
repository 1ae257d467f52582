/* message.c — see message.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

#ifndef AC_TEMPLATE_DIR
#define AC_TEMPLATE_DIR "/usr/local/share/alertcast/templates"
#endif

#define TEMPLATE_MAX (64 * 1024)

static char *dir_set;

void
ac_message_set_dir(const char *dir)
{
	free(dir_set);
	dir_set = dir ? strdup(dir) : NULL;
}

const char *
ac_message_dir(void)
{
	const char *env = getenv("AC_TEMPLATE_DIR");

	if (dir_set != NULL)
		return dir_set;
	return env && *env ? env : AC_TEMPLATE_DIR;
}

/* Grows *out to hold n more bytes and appends them. */
static void
append(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap ? *cap * 2 : 256;
		if ((*out = realloc(*out, *cap)) == NULL)
			abort();
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

char *
ac_message_fill(const char *tmpl, const struct ac_var *vars, size_t nvars,
    char *err, size_t errsz)
{
	char *out = NULL;
	size_t len = 0, cap = 0, i;
	const char *p = tmpl, *open, *close, *name, *end;

	append(&out, &len, &cap, "", 0);
	while ((open = strstr(p, "{{")) != NULL) {
		append(&out, &len, &cap, p, (size_t)(open - p));
		if ((close = strstr(open + 2, "}}")) == NULL) {
			snprintf(err, errsz, "unclosed {{ at offset %zu", (size_t)(open - tmpl));
			free(out);
			return NULL;
		}
		for (name = open + 2; name < close && isspace((unsigned char)*name); name++)
			;
		for (end = close; end > name && isspace((unsigned char)end[-1]); end--)
			;
		for (i = 0; i < nvars; i++)
			if (strlen(vars[i].name) == (size_t)(end - name) &&
			    memcmp(vars[i].name, name, (size_t)(end - name)) == 0)
				break;
		if (i == nvars) {
			snprintf(err, errsz, "unknown placeholder {{%.*s}}", (int)(end - name), name);
			free(out);
			return NULL;
		}
		if (vars[i].value != NULL)
			append(&out, &len, &cap, vars[i].value, strlen(vars[i].value));
		p = close + 2;
	}
	append(&out, &len, &cap, p, strlen(p));
	return out;
}

char *
ac_message_render(const char *name, const struct ac_var *vars, size_t nvars,
    char *err, size_t errsz)
{
	char path[4096], *tmpl, *out;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/messages/%s.txt", ac_message_dir(), name);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "template %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((tmpl = malloc(TEMPLATE_MAX + 1)) == NULL)
		abort();
	n = fread(tmpl, 1, TEMPLATE_MAX + 1, f);
	fclose(f);
	if (n > TEMPLATE_MAX) {
		snprintf(err, errsz, "template %s: larger than %d bytes", path, TEMPLATE_MAX);
		free(tmpl);
		return NULL;
	}
	tmpl[n] = '\0';
	if ((out = ac_message_fill(tmpl, vars, nvars, err, errsz)) == NULL) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "template %s: %s", path, why);
	}
	free(tmpl);
	return out;
}
