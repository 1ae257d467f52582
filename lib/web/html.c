/* html.c — see html.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/template.h"
#include "web/html.h"
#include "web/response.h"

struct tmpl {
	char		*name;
	struct ac_tmpl	*parsed;
	struct tmpl	*next;
};

struct ac_html {
	char		*dir;
	struct tmpl	*loaded;
};

struct ac_html *
ac_html_new(const char *dir)
{
	struct ac_html *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->dir = strdup(dir)) == NULL)
		abort();
	return h;
}

void
ac_html_free(struct ac_html *h)
{
	struct tmpl *t, *next;

	if (h == NULL)
		return;
	for (t = h->loaded; t != NULL; t = next) {
		next = t->next;
		ac_tmpl_free(t->parsed);
		free(t->name);
		free(t);
	}
	free(h->dir);
	free(h);
}

/* The parsed template name of set arg, reading and parsing it on first
 * use (the engine's include resolver). */
static const struct ac_tmpl *
load(void *arg, const char *name, struct ac_err *e)
{
	struct ac_html *h = arg;
	struct tmpl *t;
	struct ac_tmpl *parsed;
	char path[4096], label[80], *src;
	FILE *f;
	long size;

	for (t = h->loaded; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t->parsed;
	if (!ac_tmpl_name_ok(name)) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "bad template name '%s'", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.html", h->dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (src = calloc(1, (size_t)size + 1)) == NULL) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "%s: cannot read", path);
		fclose(f);
		return NULL;
	}
	if (fread(src, 1, (size_t)size, f) != (size_t)size) {
		ac_err_set(e, AC_E_INTERNAL, NULL, "%s: short read", path);
		fclose(f);
		free(src);
		return NULL;
	}
	fclose(f);
	snprintf(label, sizeof(label), "%s.html", name);
	parsed = ac_tmpl_parse(src, label, e);
	free(src);
	if (parsed == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->name = strdup(name)) == NULL)
		abort();
	t->parsed = parsed;
	t->next = h->loaded;
	h->loaded = t;
	return parsed;
}

char *
ac_html_render(struct ac_html *h, const char *name, const json_t *ctx, size_t *len,
    struct ac_err *e)
{
	const struct ac_tmpl_out o = { AC_TMPL_HTML, 0, load, h };
	const struct ac_tmpl *t;
	struct ac_buf out = AC_BUF_INIT;

	if ((t = load(h, name, e)) == NULL)
		return NULL;
	ac_buf_reserve(&out, 4096);	/* a page's size: fewer copies */
	if (ac_tmpl_render(t, ctx, &o, &out, e) == -1) {
		ac_buf_free(&out);
		return NULL;
	}
	*len = out.len;
	return ac_buf_take(&out);
}

void
ac_html_reply(struct ac_html *h, struct ac_req *r, int status, const char *name,
    const json_t *ctx, const char *headers)
{
	static const char oops[] = "<!doctype html><title>Error</title><p>Something went"
	    " wrong on our side. Please try again.</p>";
	struct ac_err e;
	size_t len;
	char *html;

	if ((html = ac_html_render(h, name, ctx, &len, &e)) == NULL) {
		ac_error("template %s: %s", name, e.message);
		ac_reply(r, 500, "text/html; charset=utf-8", NULL, oops, sizeof(oops) - 1);
		return;
	}
	ac_reply(r, status, "text/html; charset=utf-8", headers, html, len);
	free(html);
}
