/* message.c — see message.h. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "deliver/message.h"
#include "base/util.h"

#ifndef AC_TEMPLATE_DIR
#define AC_TEMPLATE_DIR "/usr/local/share/alertcast/templates"
#endif

#define TEMPLATE_MAX (64 * 1024)

#define CACHE_SLOTS	64
#define RECHECK_MS	1000	/* a cached template's file is looked at again after this */

static char *dir_set;

/* Templates read recently, by path, shared by a process's threads under
 * mu: the file is read again when its size, inode, modification or change
 * time changed
 * (looked at no more than once every RECHECK_MS), so an edited template is
 * used within a second and a delivery batch reads each file once. */
static struct {
	char		*path;
	char		*text;
	off_t		 size;
	ino_t		 ino;		/* a file put in its place (an editor's rename) */
	struct timespec	 mtime, ctime;
	int64_t		 checked;	/* monotonic ms */
} cache[CACHE_SLOTS];
static unsigned	cache_next;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void
cache_clear(void)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].path);
		free(cache[i].text);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
}

void
ac_message_set_dir(const char *dir)
{
	pthread_mutex_lock(&mu);
	free(dir_set);
	dir_set = dir ? strdup(dir) : NULL;
	cache_clear();
	pthread_mutex_unlock(&mu);
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

/* path's text, read (again) if need be; NULL with err. Called with mu
 * held; the text stays valid while it is. */
static const char *
cached(const char *path, char *err, size_t errsz)
{
	int64_t now = ac_mono_ms();
	struct stat st;
	char *text;
	size_t n;
	FILE *f;
	int slot = -1;

	for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
		if (cache[i].path != NULL && strcmp(cache[i].path, path) == 0)
			slot = i;
	if (slot >= 0 && now - cache[slot].checked < RECHECK_MS)
		return cache[slot].text;
	if (stat(path, &st) == -1) {
		snprintf(err, errsz, "template %s: %s", path, strerror(errno));
		return NULL;
	}
	if (slot >= 0 && st.st_size == cache[slot].size && st.st_ino == cache[slot].ino &&
	    st.st_mtim.tv_sec == cache[slot].mtime.tv_sec &&
	    st.st_mtim.tv_nsec == cache[slot].mtime.tv_nsec &&
	    st.st_ctim.tv_sec == cache[slot].ctime.tv_sec &&
	    st.st_ctim.tv_nsec == cache[slot].ctime.tv_nsec) {
		cache[slot].checked = now;
		return cache[slot].text;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "template %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((text = malloc(TEMPLATE_MAX + 1)) == NULL)
		abort();
	n = fread(text, 1, TEMPLATE_MAX + 1, f);
	fclose(f);
	if (n > TEMPLATE_MAX) {
		snprintf(err, errsz, "template %s: larger than %d bytes", path, TEMPLATE_MAX);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	if (slot < 0) {
		slot = (int)(cache_next++ % CACHE_SLOTS);
		free(cache[slot].path);
		if ((cache[slot].path = strdup(path)) == NULL)
			abort();
	}
	free(cache[slot].text);
	cache[slot].text = text;
	cache[slot].size = st.st_size;
	cache[slot].ino = st.st_ino;
	cache[slot].mtime = st.st_mtim;
	cache[slot].ctime = st.st_ctim;
	cache[slot].checked = now;
	return text;
}

char *
ac_message_render(const char *name, const struct ac_var *vars, size_t nvars,
    char *err, size_t errsz)
{
	char path[4096], *out = NULL;
	const char *tmpl;

	pthread_mutex_lock(&mu);
	snprintf(path, sizeof(path), "%s/messages/%s.txt", ac_message_dir(), name);
	if ((tmpl = cached(path, err, errsz)) != NULL &&
	    (out = ac_message_fill(tmpl, vars, nvars, err, errsz)) == NULL) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "template %s: %s", path, why);
	}
	pthread_mutex_unlock(&mu);
	return out;
}
