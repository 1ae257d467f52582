/* route.c — see route.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "web/auth.h"
#include "web/multipart.h"
#include "web/response.h"
#include "web/route.h"

static const char *const method_names[AC_M__MAX] = {
	[AC_M_OTHER] = "", [AC_M_GET] = "GET", [AC_M_POST] = "POST", [AC_M_PUT] = "PUT",
	[AC_M_DELETE] = "DELETE",
};

enum ac_method
ac_method_parse(const char *s)
{
	if (strcmp(s, "HEAD") == 0)
		return AC_M_GET;
	for (int m = AC_M_GET; m < AC_M__MAX; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum ac_method)m;
	return AC_M_OTHER;
}

const char *
ac_method_name(enum ac_method m)
{
	return (unsigned)m < AC_M__MAX ? method_names[m] : "";
}

int
ac_route_match(const char *pattern, const char *path, long long *id, const char **rest)
{
	while (*pattern) {
		if (strcmp(pattern, "{*}") == 0) {
			*rest = path;
			return 1;
		}
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t n = strspn(path, "0123456789");
			char num[24];
			const char *errstr = NULL;

			if (n == 0 || n >= sizeof(num))
				return 0;
			memcpy(num, path, n);
			num[n] = '\0';
			*id = ac_strtonum(num, 1, INT64_MAX, &errstr);
			if (errstr != NULL)
				return 0;
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

const char *
ac_call_form(const struct ac_call *k, const char *name)
{
	for (size_t i = 0; i < k->nform; i++)
		if (strcmp(k->form[i].key, name) == 0)
			return k->form[i].value;
	return NULL;
}

void
ac_route_json_error(struct ac_call *k, const struct ac_err *e, const char *headers)
{
	json_t *o = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", ac_err_slug(e),
	    "message", e->message, "field", e->field ? json_string(e->field) : json_null());
	char *body = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	ac_reply(k->r, ac_err_status(e->code), "application/json", headers, body ? body : "",
	    body ? strlen(body) : 0);
	free(body);
}

/* Answers e: the row's invalid hook for a refused field (one named), else
 * the responder's renderer. */
static void
refuse(const struct ac_router *rt, struct ac_call *k, const struct ac_err *e,
    const char *headers)
{
	if (k->route != NULL && k->route->refused != NULL)
		k->route->refused(k, e);
	if (k->route != NULL && k->route->invalid != NULL && e->field != NULL)
		k->route->invalid(k, e);
	else if (rt->error != NULL)
		rt->error(k, e, headers);
	else
		ac_route_json_error(k, e, headers);
}

/* 1 if the request's Origin (or, without one, its Referer) is origin; a
 * request with neither passes (the CSRF token still has to match). */
static int
same_origin(const struct ac_req *r, const char *origin)
{
	const char *o = ac_req_header(r, "Origin"), *ref;
	size_t n = strlen(origin);

	if (o != NULL)
		return strcmp(o, origin) == 0;
	ref = ac_req_header(r, "Referer");
	return ref == NULL || (strncmp(ref, origin, n) == 0 && ref[n] == '/');
}

#define PARTS_MAX	16	/* parts a multipart form may have */

/* A multipart body: its text parts become the form (NUL-terminated
 * copies), its file parts k->parts. 0, or -1 with *e. */
static int
read_multipart(struct ac_call *k, struct ac_err *e)
{
	struct ac_part *parts = ac_arena_alloc(k->r->arena, PARTS_MAX * sizeof(*parts));
	size_t n, nf = 0;

	if (ac_multipart_parse(k->r->arena, k->r->content_type, (const unsigned char *)k->r->body,
	    k->r->body_len, parts, PARTS_MAX, &n, e) == -1)
		return -1;
	k->form = ac_arena_alloc(k->r->arena, (n + 1) * sizeof(*k->form));
	k->parts = ac_arena_alloc(k->r->arena, (n + 1) * sizeof(*k->parts));
	for (size_t i = 0; i < n; i++) {
		if (parts[i].filename != NULL) {
			k->parts[k->nparts++] = parts[i];
			continue;
		}
		if (memchr(parts[i].data, '\0', parts[i].len) != NULL)
			return ac_err_setx(e, AC_E_INVALID, "bad_form", NULL,
			    "The form could not be read.");
		k->form[nf].key = parts[i].name;
		k->form[nf].value = ac_arena_strndup(k->r->arena, (const char *)parts[i].data,
		    parts[i].len);
		nf++;
	}
	k->nform = nf;
	return 0;
}

/* The body phase: the form or JSON object the row takes. 0, or -1 with *e. */
static int
read_body(struct ac_call *k, struct ac_err *e)
{
	struct ac_req *r = k->r;
	json_error_t je;

	switch (k->route->body) {
	case AC_BODY_NONE:
		return 0;
	case AC_BODY_FORM:
		if (strncmp(r->content_type, "application/x-www-form-urlencoded", 33) == 0 &&
		    ac_form_parse(r->arena, r->body, r->body_len, &k->form, &k->nform) == -1)
			return ac_err_setx(e, AC_E_INVALID, "bad_form", NULL,
			    "The form could not be read.");
		return 0;
	case AC_BODY_MULTIPART:
		return read_multipart(k, e);
	case AC_BODY_JSON:
		if (strncmp(r->content_type, "application/json", 16) != 0)
			return ac_err_set(e, AC_E_MEDIA_TYPE, NULL,
			    "send the body as application/json");
		if ((k->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
		    &je)) == NULL)
			return ac_err_setx(e, AC_E_INVALID, "bad_json", NULL,
			    "the body must be a JSON object in UTF-8: %s at byte %d", je.text,
			    je.position);
		if (!json_is_object(k->json)) {
			json_decref(k->json);
			k->json = NULL;
			return ac_err_setx(e, AC_E_INVALID, "bad_json", NULL,
			    "the body must be a JSON object");
		}
		return 0;
	}
	return 0;
}

/* Refuses field f: its own message, or msg. Returns -1. */
static int
bad_field(const struct ac_field_decl *f, struct ac_err *e, const char *msg)
{
	if (f->from == AC_FROM_QUERY)
		return ac_err_setx(e, AC_E_INVALID, "bad_parameter", f->name, "%s",
		    f->why ? f->why : msg);
	return ac_err_setx(e, AC_E_UNPROCESSABLE, "invalid", f->name, "%s", f->why ? f->why : msg);
}

/* The values of a repeated form field joined by commas ("" if none). */
static const char *
form_joined(const struct ac_call *k, const char *name)
{
	char *out = "";

	for (size_t i = 0; i < k->nform; i++)
		if (strcmp(k->form[i].key, name) == 0)
			out = ac_arena_printf(k->r->arena, "%s%s%s", out, *out ? "," : "",
			    k->form[i].value);
	return out;
}

/* A JSON member into *v: NULL when it has the field's type, else why not. */
static const char *
json_value(struct ac_arena *a, const struct ac_field_decl *f, const json_t *j, struct ac_val *v)
{
	switch (f->type) {
	case AC_F_INT:
		if (!json_is_integer(j))
			break;
		v->i = (long long)json_integer_value(j);
		v->s = ac_arena_printf(a, "%lld", v->i);
		return NULL;
	case AC_F_NUMBER:
		if (!json_is_number(j))
			break;
		v->n = json_number_value(j);
		v->s = ac_arena_printf(a, "%.15g", v->n);
		return NULL;
	case AC_F_BOOL:
		if (!json_is_boolean(j))
			return ac_arena_printf(a, "%s must be true or false", f->name);
		v->i = json_is_true(j);
		v->s = v->i ? "true" : "false";
		return NULL;
	default:
		if (!json_is_string(j))
			return ac_arena_printf(a, "%s must be a string", f->name);
		v->s = json_string_value(j);
		return NULL;
	}
	return ac_arena_printf(a, "%s must be a number", f->name);
}

/* What is wrong with the present value v->s of f (v->i, v->n set), or NULL. */
static const char *
check_text(struct ac_arena *a, const struct ac_field_decl *f, struct ac_val *v, int typed)
{
	const char *errstr = NULL, *why;
	size_t len = strlen(v->s);
	char *end;

	switch (f->type) {
	case AC_F_INT:
		if (!typed)
			v->i = ac_strtonum(v->s, f->min, f->max, &errstr);
		else if (v->i < f->min || v->i > f->max)
			errstr = "out of bounds";
		if (errstr != NULL)
			return ac_arena_printf(a, "%s must be a whole number from %lld to %lld",
			    f->name, f->min, f->max);
		break;
	case AC_F_NUMBER:
		if (!typed) {
			v->n = strtod(v->s, &end);
			if (*v->s == '\0' || *end != '\0' || !isfinite(v->n))
				return ac_arena_printf(a, "%s must be a number", f->name);
		}
		break;
	case AC_F_ENUM:
		for (const char *const *p = f->values; *p; p++)
			if (strcmp(v->s, *p) == 0)
				return NULL;
		return ac_arena_printf(a, "%s must be one of the documented values", f->name);
	case AC_F_EMAIL:
		if ((why = ac_auth_check_email(v->s)) != NULL)
			return why;
		break;
	case AC_F_STRING:
		if (len < (size_t)f->min)
			return ac_arena_printf(a, "%s must be at least %lld characters", f->name,
			    f->min);
		if (f->max > 0 && len > (size_t)f->max)
			return ac_arena_printf(a, "%s must be at most %lld characters", f->name,
			    f->max);
		break;
	default:
		break;
	}
	return f->check != NULL ? f->check(v->s) : NULL;
}

/* One field into *v. 0, or -1 with *e. */
static int
parse_field(struct ac_call *k, const struct ac_field_decl *f, struct ac_val *v, struct ac_err *e)
{
	struct ac_arena *a = k->r->arena;
	const json_t *j = NULL;
	const char *why = NULL;
	int typed = f->from == AC_FROM_JSON;

	*v = (struct ac_val){ .i = f->def };
	if (typed) {
		j = json_object_get(k->json, f->name);
		if (j != NULL && !json_is_null(j))
			why = json_value(a, f, j, v);
	} else if (f->type == AC_F_LIST) {
		v->s = form_joined(k, f->name);
	} else {
		v->s = f->from == AC_FROM_QUERY ? ac_req_arg(k->r, f->name) :
		    ac_call_form(k, f->name);
	}
	if (f->type == AC_F_BOOL && !typed) {
		v->i = v->s != NULL && *v->s != '\0';
		v->set = 1;
		return 0;
	}
	if (why == NULL && (v->s == NULL || (!typed && *v->s == '\0' &&
	    (f->flags & AC_F_REQUIRED)))) {
		if (f->flags & AC_F_REQUIRED)
			return bad_field(f, e, ac_arena_printf(a, "%s is required", f->name));
		v->i = f->def;
		return 0;
	}
	if (why == NULL)
		why = check_text(a, f, v, typed);
	if (why == NULL) {
		v->set = 1;
		return 0;
	}
	if (f->flags & AC_F_LENIENT) {
		*v = (struct ac_val){ .i = f->def };
		return 0;
	}
	return bad_field(f, e, why);
}

/* The fields phase: k->v from the row's table. 0, or -1 with *e. */
static int
parse_fields(struct ac_call *k, struct ac_err *e)
{
	const struct ac_field_decl *f = k->route->fields;
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (f[n].name != NULL)
		n++;
	k->v = ac_arena_alloc(k->r->arena, (n ? n : 1) * sizeof(*k->v));
	for (size_t i = 0; i < n; i++)
		if (parse_field(k, &f[i], &k->v[i], e) == -1)
			return -1;
	return 0;
}

/* The match phase: the row for path and method, or a refusal (404, or
 * 405 with the path's methods in *allow). */
static const struct ac_route *
match(const struct ac_router *rt, struct ac_call *k, const char **allow)
{
	enum ac_method m = ac_method_parse(k->r->method);
	const char *list = NULL;

	for (size_t i = 0; i < rt->n; i++) {
		const struct ac_route *row = &rt->routes[i];
		const char *name = row->method == AC_M_GET ? "GET, HEAD" : ac_method_name(row->method);

		if (!ac_route_match(row->path, k->r->path, &k->id, &k->rest))
			continue;
		if (row->method == m)
			return row;
		list = list ? ac_arena_printf(k->r->arena, "%s, %s", list, name) : name;
	}
	*allow = list;
	return NULL;
}

void
ac_route(const struct ac_router *rt, struct ac_call *k)
{
	struct ac_err e = { 0 };
	const char *allow = NULL, *bad;
	int rc;

	k->rest = "";
	if (rt->begin != NULL && rt->begin(k) != 0)
		return;
	if ((k->route = match(rt, k, &allow)) == NULL) {
		if (allow == NULL) {
			ac_err_set(&e, AC_E_NOT_FOUND, NULL, "no such route");
			refuse(rt, k, &e, NULL);
		} else {
			ac_err_set(&e, AC_E_NOT_ALLOWED, NULL, "method not allowed");
			refuse(rt, k, &e, ac_arena_printf(k->r->arena, "Allow: %s\r\n", allow));
		}
		return;
	}
	if (rt->access != NULL && (rc = rt->access(k, &e)) != 0) {
		if (rc == -1)
			(rt->error ? rt->error : ac_route_json_error)(k, &e, NULL);
		return;
	}
	if (read_body(k, &e) == -1)
		goto refused;
	if (k->route->csrf && ((rt->origin && !same_origin(k->r, rt->origin)) ||
	    !ac_csrf_ok(k->csrf, ac_call_form(k, "csrf")))) {
		ac_err_setx(&e, AC_E_FORBIDDEN, "csrf", NULL,
		    "Go back, reload the page and try again.");
		goto refused;
	}
	if ((k->route->body == AC_BODY_FORM || k->route->body == AC_BODY_MULTIPART) &&
	    (bad = ac_kv_not_utf8(k->form, k->nform)) != NULL) {
		ac_err_setx(&e, AC_E_INVALID, "bad_encoding", NULL, "The field %s is not valid"
		    " UTF-8 text: check what was typed or pasted into it.", bad);
		goto refused;
	}
	if (parse_fields(k, &e) == -1)
		goto refused;
	k->route->fn(k);
	json_decref(k->json);
	k->json = NULL;
	return;
refused:
	refuse(rt, k, &e, NULL);
	json_decref(k->json);
	k->json = NULL;
}

void
ac_route_print(FILE *fp, const struct ac_router *rt)
{
	for (size_t i = 0; i < rt->n; i++) {
		const char *p = rt->routes[i].path, *id;

		fprintf(fp, "%s ", ac_method_name(rt->routes[i].method));
		while ((id = strstr(p, "{id}")) != NULL) {
			fprintf(fp, "%.*s#", (int)(id - p), p);
			p = id + 4;
		}
		fprintf(fp, "%s\n", p);
	}
}
