/* html.c — see html.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/html.h"

#define INCLUDE_DEPTH	16
#define CTX_DEPTH	32

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_INCLUDE, N_INCLUDE_VAR };

struct node {
	enum node_kind	 kind;
	char		*text;		/* N_TEXT: the bytes; else the name */
	size_t		 len;
	struct node	*child;		/* sections: the body */
	struct node	*next;
};

struct tmpl {
	char		*name;
	struct node	*root;
	struct tmpl	*next;
};

struct ac_html {
	char		*dir;
	struct tmpl	*loaded;
};

struct render {
	struct ac_html	*h;
	struct ac_buf	 out;
	const json_t	*ctx[CTX_DEPTH];
	int		 nctx;
	int		 depth;
	char		*err;
	size_t		 errsz;
};

/* Frees a node list and everything under it. */
static void
nodes_free(struct node *n)
{
	while (n != NULL) {
		struct node *next = n->next;

		nodes_free(n->child);
		free(n->text);
		free(n);
		n = next;
	}
}

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
		nodes_free(t->root);
		free(t->name);
		free(t);
	}
	free(h->dir);
	free(h);
}

/* 1 if s (n bytes) is a template name: [a-z0-9_], 1..64 bytes. */
static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* 1 if s is a variable path: "." or dotted [A-Za-z0-9_] segments. */
static int
valid_var(const char *s)
{
	if (strcmp(s, ".") == 0)
		return 1;
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.' && (s[1] == '.' || s[1] == '\0'))
			return 0;
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.'))
			return 0;
	}
	return 1;
}

/* A node of kind holding a copy of len bytes of text. Aborts on OOM. */
static struct node *
node_new(enum node_kind kind, const char *text, size_t len)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->text = strndup(text, len)) == NULL)
		abort();
	n->kind = kind;
	n->len = len;
	return n;
}

/* The line number of p in src, for error messages. */
static int
line_of(const char *src, const char *p)
{
	int line = 1;

	for (; src < p; src++)
		line += *src == '\n';
	return line;
}

/*
 * Parses from *pp until end of input (close NULL) or {{/close}}; returns the
 * list, or NULL with err set (*failed) on a syntax error.
 */
static struct node *
parse(const char *src, const char **pp, const char *close, const char *name, int *failed,
    char *err, size_t errsz)
{
	struct node *head = NULL, **tail = &head;
	const char *p = *pp;

	for (;;) {
		const char *open = strstr(p, "{{"), *end;
		char *tag;
		size_t tlen;

		if (open == NULL) {
			if (close != NULL) {
				snprintf(err, errsz, "%s.html: {{#%s}} is never closed", name, close);
				goto fail;
			}
			if (*p) {
				*tail = node_new(N_TEXT, p, strlen(p));
				tail = &(*tail)->next;
			}
			*pp = p + strlen(p);
			return head;
		}
		if (open > p) {
			*tail = node_new(N_TEXT, p, (size_t)(open - p));
			tail = &(*tail)->next;
		}
		if ((end = strstr(open + 2, "}}")) == NULL) {
			snprintf(err, errsz, "%s.html:%d: unclosed {{", name, line_of(src, open));
			goto fail;
		}
		tlen = (size_t)(end - open - 2);
		tag = strndup(open + 2, tlen);
		if (tag == NULL)
			abort();
		p = end + 2;
		if (tag[0] == '/') {
			int ok = close != NULL && strcmp(tag + 1, close) == 0;

			if (!ok)
				snprintf(err, errsz, "%s.html:%d: {{%s}} closes nothing open",
				    name, line_of(src, open), tag);
			free(tag);
			if (!ok)
				goto fail;
			*pp = p;
			return head;
		}
		if (tag[0] == '#' || tag[0] == '^') {
			struct node *n;

			if (!valid_var(tag + 1)) {
				snprintf(err, errsz, "%s.html:%d: bad section name '%s'",
				    name, line_of(src, open), tag + 1);
				free(tag);
				goto fail;
			}
			n = node_new(tag[0] == '#' ? N_SECTION : N_INVERTED, tag + 1, tlen - 1);
			*tail = n;
			tail = &n->next;
			n->child = parse(src, &p, n->text, name, failed, err, errsz);
			free(tag);
			if (*failed)
				goto fail;
			continue;
		}
		if (tag[0] == '>') {
			int dyn = tag[1] == '*';
			const char *t = tag + 1 + dyn;
			int ok = dyn ? valid_var(t) : valid_name(t, strlen(t));

			if (ok) {
				*tail = node_new(dyn ? N_INCLUDE_VAR : N_INCLUDE, t, strlen(t));
				tail = &(*tail)->next;
			} else {
				snprintf(err, errsz, "%s.html:%d: bad include '%s'", name,
				    line_of(src, open), t);
			}
			free(tag);
			if (!ok)
				goto fail;
			continue;
		}
		{
			int raw = strncmp(tag, "raw:", 4) == 0;
			const char *v = tag + (raw ? 4 : 0);
			int ok = valid_var(v);

			if (ok) {
				*tail = node_new(raw ? N_RAW : N_VAR, v, strlen(v));
				tail = &(*tail)->next;
			} else {
				snprintf(err, errsz, "%s.html:%d: bad tag '{{%s}}'", name,
				    line_of(src, open), tag);
			}
			free(tag);
			if (!ok)
				goto fail;
		}
	}
fail:
	*failed = 1;
	nodes_free(head);
	return NULL;
}

/* The parsed template name, reading and parsing it on first use. */
static struct tmpl *
load(struct ac_html *h, const char *name, char *err, size_t errsz)
{
	struct tmpl *t;
	char path[4096], *src;
	const char *p;
	FILE *f;
	long size;
	int failed = 0;

	for (t = h->loaded; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	if (!valid_name(name, strlen(name))) {
		snprintf(err, errsz, "bad template name '%s'", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.html", h->dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: cannot open: %m", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (src = calloc(1, (size_t)size + 1)) == NULL) {
		snprintf(err, errsz, "%s: cannot read", path);
		fclose(f);
		return NULL;
	}
	if (fread(src, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errsz, "%s: short read", path);
		fclose(f);
		free(src);
		return NULL;
	}
	fclose(f);
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->name = strdup(name)) == NULL)
		abort();
	p = src;
	t->root = parse(src, &p, NULL, name, &failed, err, errsz);
	free(src);
	if (failed) {
		free(t->name);
		free(t);
		return NULL;
	}
	t->next = h->loaded;
	h->loaded = t;
	return t;
}

/* The value of a dotted path, innermost context first; NULL if missing. */
static const json_t *
lookup(const struct render *r, const char *path)
{
	char seg[128];
	const char *dot;
	const json_t *v = NULL;

	if (strcmp(path, ".") == 0)
		return r->ctx[r->nctx - 1];
	dot = strchr(path, '.');
	snprintf(seg, sizeof(seg), "%.*s", (int)(dot ? (size_t)(dot - path) : strlen(path)), path);
	for (int i = r->nctx - 1; i >= 0 && v == NULL; i--)
		v = json_is_object(r->ctx[i]) ? json_object_get(r->ctx[i], seg) : NULL;
	while (v != NULL && dot != NULL) {
		const char *next = strchr(dot + 1, '.');

		snprintf(seg, sizeof(seg), "%.*s",
		    (int)(next ? (size_t)(next - dot - 1) : strlen(dot + 1)), dot + 1);
		v = json_is_object(v) ? json_object_get(v, seg) : NULL;
		dot = next;
	}
	return v;
}

/* What a section tests: 0 for missing, null, false, 0, "" and []. */
static int
truthy(const json_t *v)
{
	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_OBJECT: return 1;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return 1;
	default: return 0;
	}
}

/* Appends a scalar's text, escaped or not. Objects and arrays write nothing. */
static void
put_value(struct ac_buf *b, const json_t *v, int raw)
{
	char num[64];
	const char *s = NULL;
	size_t n = 0;

	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
		break;
	case JSON_REAL:
		n = (size_t)snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		s = num;
		break;
	case JSON_TRUE:
		s = "true";
		n = 4;
		break;
	default:
		return;
	}
	if (raw)
		ac_buf_add(b, s, n);
	else
		ac_buf_html(b, s, n);
}

static int	run_template(struct render *r, const char *name);

/* Renders a node list. 0, or -1 with r->err. */
static int
run(struct render *r, const struct node *n)
{
	for (; n != NULL; n = n->next) {
		const json_t *v;

		switch (n->kind) {
		case N_TEXT:
			ac_buf_add(&r->out, n->text, n->len);
			break;
		case N_VAR:
		case N_RAW:
			put_value(&r->out, lookup(r, n->text), n->kind == N_RAW);
			break;
		case N_INVERTED:
			if (!truthy(lookup(r, n->text)) && run(r, n->child) == -1)
				return -1;
			break;
		case N_SECTION:
			v = lookup(r, n->text);
			if (!truthy(v))
				break;
			if (r->nctx == CTX_DEPTH) {
				snprintf(r->err, r->errsz, "sections nested deeper than %d", CTX_DEPTH);
				return -1;
			}
			if (json_is_array(v)) {
				size_t i;
				const json_t *el;

				json_array_foreach(v, i, el) {
					r->ctx[r->nctx++] = el;
					if (run(r, n->child) == -1)
						return -1;
					r->nctx--;
				}
			} else {
				int push = json_is_object(v);

				if (push)
					r->ctx[r->nctx++] = v;
				if (run(r, n->child) == -1)
					return -1;
				r->nctx -= push;
			}
			break;
		case N_INCLUDE:
			if (run_template(r, n->text) == -1)
				return -1;
			break;
		case N_INCLUDE_VAR:
			v = lookup(r, n->text);
			if (!json_is_string(v)) {
				snprintf(r->err, r->errsz, "{{>*%s}}: not a template name", n->text);
				return -1;
			}
			if (run_template(r, json_string_value(v)) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/* Renders the template name at the current contexts. 0, or -1. */
static int
run_template(struct render *r, const char *name)
{
	struct tmpl *t;
	int rc;

	if (r->depth == INCLUDE_DEPTH) {
		snprintf(r->err, r->errsz, "%s: includes nested deeper than %d", name,
		    INCLUDE_DEPTH);
		return -1;
	}
	if ((t = load(r->h, name, r->err, r->errsz)) == NULL)
		return -1;
	r->depth++;
	rc = run(r, t->root);
	r->depth--;
	return rc;
}

char *
ac_html_render(struct ac_html *h, const char *name, const json_t *ctx, size_t *len,
    char *err, size_t errsz)
{
	struct render r = { .h = h, .err = err, .errsz = errsz };

	r.ctx[r.nctx++] = ctx;
	ac_buf_reserve(&r.out, 4095);	/* a page: 4 KiB at once */
	ac_buf_add(&r.out, "", 0);
	if (run_template(&r, name) == -1) {
		free(r.out.p);
		return NULL;
	}
	*len = r.out.len;
	return r.out.p;
}
