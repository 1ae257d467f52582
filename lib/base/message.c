/* message.c — see message.h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "base/buf.h"
#include "base/template.h"
#include "base/util.h"
#include "base/message.h"

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
static struct slot {
	char		*path;
	char		*text;
	struct ac_tmpl	*parsed;	/* text parsed, once a render needed it */
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
		ac_tmpl_free(cache[i].parsed);
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

/* t filled with vars: plain, every placeholder one of vars. */
static char *
fill(const struct ac_tmpl *t, const struct ac_var *vars, size_t nvars, struct ac_err *e)
{
	static const struct ac_tmpl_out plain = { AC_TMPL_PLAIN, 1, NULL, NULL };
	struct ac_buf out = AC_BUF_INIT;

	if (ac_tmpl_render_vars(t, vars, nvars, &plain, &out, e) == -1) {
		ac_buf_free(&out);
		return NULL;
	}
	return ac_buf_take(&out);
}

char *
ac_message_fill(const char *tmpl, const struct ac_var *vars, size_t nvars, struct ac_err *e)
{
	struct ac_tmpl *t = ac_tmpl_parse(tmpl, "template", e);
	char *out;

	if (t == NULL)
		return NULL;
	out = fill(t, vars, nvars, e);
	ac_tmpl_free(t);
	return out;
}

/* path's cache slot, the file read (again) if need be; NULL with e.
 * Called with mu held; the slot stays valid while it is. */
static struct slot *
cached(const char *path, struct ac_err *e)
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
		return &cache[slot];
	if (stat(path, &st) == -1) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "template %s: %s", path, strerror(errno));
		return NULL;
	}
	if (slot >= 0 && st.st_size == cache[slot].size && st.st_ino == cache[slot].ino &&
	    st.st_mtim.tv_sec == cache[slot].mtime.tv_sec &&
	    st.st_mtim.tv_nsec == cache[slot].mtime.tv_nsec &&
	    st.st_ctim.tv_sec == cache[slot].ctime.tv_sec &&
	    st.st_ctim.tv_nsec == cache[slot].ctime.tv_nsec) {
		cache[slot].checked = now;
		return &cache[slot];
	}
	if ((f = fopen(path, "r")) == NULL) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "template %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((text = malloc(TEMPLATE_MAX + 1)) == NULL)
		abort();
	n = fread(text, 1, TEMPLATE_MAX + 1, f);
	fclose(f);
	if (n > TEMPLATE_MAX) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "template %s: larger than %d bytes", path,
		    TEMPLATE_MAX);
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
	ac_tmpl_free(cache[slot].parsed);
	cache[slot].text = text;
	cache[slot].parsed = NULL;
	cache[slot].size = st.st_size;
	cache[slot].ino = st.st_ino;
	cache[slot].mtime = st.st_mtim;
	cache[slot].ctime = st.st_ctim;
	cache[slot].checked = now;
	return &cache[slot];
}

/* Template name's slot (path: its file), read and parsed if need be; NULL
 * with e. Called with mu held, like cached(). */
static struct slot *
parsed(const char *name, char *path, size_t pathsz, struct ac_err *e)
{
	struct slot *c;

	snprintf(path, pathsz, "%s/messages/%s.txt", ac_message_dir(), name);
	if ((c = cached(path, e)) != NULL && c->parsed == NULL)
		c->parsed = ac_tmpl_parse(c->text, path, e);
	return c != NULL && c->parsed != NULL ? c : NULL;
}

size_t
ac_message_preload(const char *const *names, size_t n)
{
	char path[4096];
	size_t ready = 0;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n; i++)
		ready += parsed(names[i], path, sizeof(path), NULL) != NULL;
	pthread_mutex_unlock(&mu);
	return ready;
}

char *
ac_message_render(const char *name, const struct ac_var *vars, size_t nvars, struct ac_err *e)
{
	char path[4096], *out = NULL;
	struct slot *c;

	pthread_mutex_lock(&mu);
	if ((c = parsed(name, path, sizeof(path), e)) != NULL &&
	    (out = fill(c->parsed, vars, nvars, e)) == NULL && e != NULL) {
		char why[sizeof(e->message)];

		snprintf(why, sizeof(why), "%s", e->message);
		ac_err_set(e, AC_E_INTERNAL, NULL, "template %s: %s", path, why);
	}
	pthread_mutex_unlock(&mu);
	return out;
}

const char *
ac_exit_reason_words(const char *reason)
{
	static const struct {
		const char *code, *words;
	} words[] = {
		{ "TP_HIT", "take profit" }, { "SL_HIT", "stop loss" },
		{ "REPLACED", "replaced" }, { "OPPOSITE", "opposite signal" },
		{ "MANUAL", "closed by hand" }, { "EXIT", "exit signal" },
	};

	for (size_t i = 0; reason != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(reason, words[i].code) == 0)
			return words[i].words;
	return reason;
}
