/* template.c — see template.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/template.h"

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

struct ac_tmpl {
	struct node	*root;
};

struct render {
	const struct ac_tmpl_out *o;
	const struct ac_var *vars;	/* a flat context when not NULL */
	size_t		 nvars;
	struct ac_buf	*out;
	const json_t	*ctx[CTX_DEPTH];
	int		 nctx;
	int		 depth;
	struct ac_err	*e;
};

/* ac_buf_add() with the common case (room enough) inline: a page is
 * written in many small pieces. */
static inline void
put(struct ac_buf *b, const char *s, size_t n)
{
	if (b->len + n < b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len] = '\0';
	} else
		ac_buf_add(b, s, n);
}

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

void
ac_tmpl_free(struct ac_tmpl *t)
{
	if (t != NULL) {
		nodes_free(t->root);
		free(t);
	}
}

int
ac_tmpl_name_ok(const char *s)
{
	size_t n = strlen(s);

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

/* Appends a node to the list whose end is *tail. */
static void
append(struct node ***tail, struct node *n)
{
	**tail = n;
	*tail = &n->next;
}

/*
 * Parses from *pp until end of input (close NULL) or {{/close}}; returns the
 * list, or NULL with e set (*failed) on a syntax error.
 */
static struct node *
parse(const char *src, const char **pp, const char *close, const char *label, int *failed,
    struct ac_err *e)
{
	struct node *head = NULL, **tail = &head;
	const char *p = *pp;

	for (;;) {
		const char *open = strstr(p, "{{"), *end, *a, *b;
		char *tag;

		if (open == NULL) {
			if (close != NULL) {
				ac_err_set(e, AC_E_INTERNAL, NULL, "%s: {{#%s}} is never closed", label,
				    close);
				goto fail;
			}
			if (*p)
				append(&tail, node_new(N_TEXT, p, strlen(p)));
			*pp = p + strlen(p);
			return head;
		}
		if (open > p)
			append(&tail, node_new(N_TEXT, p, (size_t)(open - p)));
		if ((end = strstr(open + 2, "}}")) == NULL) {
			ac_err_set(e, AC_E_INTERNAL, NULL, "%s:%d: unclosed {{", label,
			    line_of(src, open));
			goto fail;
		}
		for (a = open + 2; a < end && isspace((unsigned char)*a); a++)
			;
		for (b = end; b > a && isspace((unsigned char)b[-1]); b--)
			;
		if ((tag = strndup(a, (size_t)(b - a))) == NULL)
			abort();
		p = end + 2;
		if (tag[0] == '/') {
			int ok = close != NULL && strcmp(tag + 1, close) == 0;

			if (!ok)
				ac_err_set(e, AC_E_INTERNAL, NULL, "%s:%d: {{%s}} closes nothing open",
				    label, line_of(src, open), tag);
			free(tag);
			if (!ok)
				goto fail;
			*pp = p;
			return head;
		}
		if (tag[0] == '#' || tag[0] == '^') {
			struct node *n;

			if (!valid_var(tag + 1)) {
				ac_err_set(e, AC_E_INTERNAL, NULL, "%s:%d: bad section name '%s'",
				    label, line_of(src, open), tag + 1);
				free(tag);
				goto fail;
			}
			n = node_new(tag[0] == '#' ? N_SECTION : N_INVERTED, tag + 1, strlen(tag + 1));
			append(&tail, n);
			n->child = parse(src, &p, n->text, label, failed, e);
			free(tag);
			if (*failed)
				goto fail;
			continue;
		}
		{
			int inc = tag[0] == '>', dyn = inc && tag[1] == '*';
			int raw = !inc && strncmp(tag, "raw:", 4) == 0;
			const char *v = tag + (inc ? 1 + dyn : raw ? 4 : 0);
			int ok = inc && !dyn ? ac_tmpl_name_ok(v) : valid_var(v);

			if (ok)
				append(&tail, node_new(dyn ? N_INCLUDE_VAR : inc ? N_INCLUDE : raw ?
				    N_RAW : N_VAR, v, strlen(v)));
			else if (inc)
				ac_err_set(e, AC_E_INTERNAL, NULL, "%s:%d: bad include '%s'", label,
				    line_of(src, open), v);
			else
				ac_err_set(e, AC_E_INTERNAL, NULL, "%s:%d: bad tag '{{%s}}'", label,
				    line_of(src, open), tag);
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

struct ac_tmpl *
ac_tmpl_parse(const char *src, const char *label, struct ac_err *e)
{
	struct ac_tmpl *t;
	const char *p = src;
	int failed = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	t->root = parse(src, &p, NULL, label, &failed, e);
	if (failed) {
		free(t);
		return NULL;
	}
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

/* The value of path: from the flat context into *sv (a missing name
 * NULL, a NULL value ""), else lookup() into *v. A strict output makes a
 * missing name an error: 0, or -1. */
static int
value(const struct render *r, const char *path, const json_t **v, const char **sv)
{
	*v = NULL;
	*sv = NULL;
	if (r->vars != NULL) {
		for (size_t i = 0; i < r->nvars && *sv == NULL; i++)
			if (strcmp(r->vars[i].name, path) == 0)
				*sv = r->vars[i].value ? r->vars[i].value : "";
	} else
		*v = lookup(r, path);
	if (*v == NULL && *sv == NULL && r->o->strict)
		return ac_err_set(r->e, AC_E_INTERNAL, NULL, "unknown placeholder {{%s}}", path);
	return 0;
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

/* Appends n bytes of s, escaped or not. */
static void
put_text(struct ac_buf *b, const char *s, size_t n, int escape)
{
	if (escape)
		ac_buf_html(b, s, n);
	else
		put(b, s, n);
}

/* Appends a scalar's text, escaped or not. Objects and arrays write nothing. */
static void
put_value(struct ac_buf *b, const json_t *v, int escape)
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
	put_text(b, s, n, escape);
}

static int	run_include(struct render *r, const char *name);

/* Renders a node list. 0, or -1 with r->e. */
static int
run(struct render *r, const struct node *n)
{
	for (; n != NULL; n = n->next) {
		const json_t *v = NULL;
		const char *sv = NULL;
		int escape = n->kind == N_VAR && r->o->escape == AC_TMPL_HTML;

		if (n->kind != N_TEXT && n->kind != N_INCLUDE && value(r, n->text, &v, &sv) == -1)
			return -1;
		switch (n->kind) {
		case N_TEXT:
			put(r->out, n->text, n->len);
			break;
		case N_VAR:
		case N_RAW:
			if (sv != NULL)
				put_text(r->out, sv, strlen(sv), escape);
			else
				put_value(r->out, v, escape);
			break;
		case N_INVERTED:
			if (!(sv ? *sv != '\0' : truthy(v)) && run(r, n->child) == -1)
				return -1;
			break;
		case N_SECTION:
			if (!(sv ? *sv != '\0' : truthy(v)))
				break;
			if (r->nctx == CTX_DEPTH)
				return ac_err_set(r->e, AC_E_INTERNAL, NULL,
				    "sections nested deeper than %d", CTX_DEPTH);
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
			if (run_include(r, n->text) == -1)
				return -1;
			break;
		case N_INCLUDE_VAR:
			if (sv == NULL && json_is_string(v))
				sv = json_string_value(v);
			if (sv == NULL)
				return ac_err_set(r->e, AC_E_INTERNAL, NULL,
				    "{{>*%s}}: not a template name", n->text);
			if (run_include(r, sv) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/* Renders the template name at the current contexts. 0, or -1. */
static int
run_include(struct render *r, const char *name)
{
	const struct ac_tmpl *t;
	int rc;

	if (r->depth == INCLUDE_DEPTH)
		return ac_err_set(r->e, AC_E_INTERNAL, NULL, "%s: includes nested deeper than %d",
		    name, INCLUDE_DEPTH);
	if (r->o->include == NULL)
		return ac_err_set(r->e, AC_E_INTERNAL, NULL, "{{>%s}}: no includes here", name);
	if ((t = r->o->include(r->o->arg, name, r->e)) == NULL)
		return -1;
	r->depth++;
	rc = run(r, t->root);
	r->depth--;
	return rc;
}

int
ac_tmpl_render(const struct ac_tmpl *t, const json_t *ctx, const struct ac_tmpl_out *o,
    struct ac_buf *out, struct ac_err *e)
{
	struct render r = { .o = o, .out = out, .depth = 1, .e = e };

	r.ctx[r.nctx++] = ctx;
	return run(&r, t->root);
}

int
ac_tmpl_render_vars(const struct ac_tmpl *t, const struct ac_var *vars, size_t nvars,
    const struct ac_tmpl_out *o, struct ac_buf *out, struct ac_err *e)
{
	static const struct ac_var none[1];
	struct render r = { .o = o, .vars = vars ? vars : none, .nvars = nvars, .out = out,
	    .depth = 1, .e = e };

	return run(&r, t->root);
}
