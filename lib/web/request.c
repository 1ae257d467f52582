/* request.c — see request.h. */
#include <ctype.h>
#include <fcgiapp.h>
#include <stdint.h>
#include <string.h>
#include <uriparser/Uri.h>

#include "web/request.h"
#include "base/util.h"

const char *
ac_req_strerror(enum ac_req_status st)
{
	switch (st) {
	case AC_REQ_OK:
		return "ok";
	case AC_REQ_TOO_LARGE:
		return "request body too large";
	case AC_REQ_BAD_LENGTH:
		return "Content-Length is not a number";
	case AC_REQ_SHORT_BODY:
		return "request body shorter than Content-Length";
	case AC_REQ_BAD_QUERY:
		return "query string cannot be parsed";
	case AC_REQ_BAD_ENCODING:
		return "a query parameter is not valid UTF-8";
	}
	return "unknown";
}

static const char *
param(const struct ac_req *r, const char *name, const char *def)
{
	const char *v = r->io.param ? r->io.param(r->io.ctx, name) : NULL;

	return v != NULL ? v : def;
}

int
ac_form_parse(struct ac_arena *a, const char *s, size_t len, struct ac_kv **out, size_t *n)
{
	UriQueryListA *list = NULL, *it;
	int count = 0;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return 0;
	if (uriDissectQueryMallocExA(&list, &count, s, s + len, URI_TRUE,
	    URI_BR_DONT_TOUCH) != URI_SUCCESS)
		return -1;
	*out = ac_arena_alloc(a, sizeof(**out) * (size_t)(count > 0 ? count : 1));
	for (it = list; it != NULL; it = it->next, i++) {
		(*out)[i].key = ac_arena_strdup(a, it->key);
		(*out)[i].value = ac_arena_strdup(a, it->value ? it->value : "");
	}
	*n = i;
	uriFreeQueryListA(list);
	return 0;
}

const char *
ac_kv_not_utf8(const struct ac_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!ac_utf8_valid(kv[i].key, strlen(kv[i].key)))
			return "a field name";
		if (!ac_utf8_valid(kv[i].value, strlen(kv[i].value)))
			return kv[i].key;
	}
	return NULL;
}

void
ac_cookie_parse(struct ac_arena *a, const char *h, struct ac_kv **out, size_t *n)
{
	size_t cap = 1, count = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	if (h == NULL)
		return;
	for (p = h; *p; p++)
		cap += *p == ';';
	*out = ac_arena_alloc(a, sizeof(**out) * cap);
	for (p = h; *p != '\0';) {
		const char *k, *ke, *v, *ve, *end;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		k = p;
		ke = memchr(k, '=', (size_t)(end - k));
		p = end;
		if (ke == NULL || ke == k || !ac_utf8_valid(k, (size_t)(end - k)))
			continue;	/* no name, or not text: not a cookie */
		v = ke + 1;
		ve = end;
		while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (ve - v >= 2 && *v == '"' && ve[-1] == '"')
			v++, ve--;
		(*out)[count].key = ac_arena_strndup(a, k, (size_t)(ke - k));
		(*out)[count].value = ac_arena_strndup(a, v, (size_t)(ve - v));
		count++;
	}
	*n = count;
}

static enum ac_req_status
read_body(struct ac_req *r, size_t body_max)
{
	const char *cl = param(r, "CONTENT_LENGTH", ""), *errstr;
	long long want = -1;
	size_t cap, len = 0;
	ssize_t got;

	if (*cl != '\0') {
		want = ac_strtonum(cl, 0, (long long)1 << 40, &errstr);
		if (errstr != NULL)
			return AC_REQ_BAD_LENGTH;
		if ((unsigned long long)want > body_max)
			return AC_REQ_TOO_LARGE;
	}
	cap = want >= 0 ? (size_t)want : body_max + 1;
	r->body = ac_arena_alloc(r->arena, cap + 1);
	if (r->io.read == NULL)
		return want > 0 ? AC_REQ_SHORT_BODY : AC_REQ_OK;
	while (len < cap && (got = r->io.read(r->io.ctx, r->body + len, cap - len)) > 0)
		len += (size_t)got;
	r->body[len] = '\0';
	r->body_len = len;
	if (want >= 0 && len < (size_t)want)
		return AC_REQ_SHORT_BODY;
	if (want < 0 && len > body_max)
		return AC_REQ_TOO_LARGE;
	return AC_REQ_OK;
}

enum ac_req_status
ac_req_read(struct ac_req *r, const struct ac_req_io *io, size_t body_max)
{
	const char *uri;

	r->io = *io;
	r->received_ms = ac_now_ms();
	r->method = param(r, "REQUEST_METHOD", "");
	uri = param(r, "DOCUMENT_URI", NULL);
	if (uri == NULL) {	/* fall back to the raw REQUEST_URI, without its query */
		const char *ru = param(r, "REQUEST_URI", "/");

		uri = ac_arena_strndup(r->arena, ru, strcspn(ru, "?"));
	}
	r->path = *uri ? uri : "/";
	r->query = param(r, "QUERY_STRING", "");
	r->content_type = param(r, "CONTENT_TYPE", "");
	r->remote_addr = param(r, "REMOTE_ADDR", "");
	r->request_id = param(r, "REQUEST_ID", "");
	ac_cookie_parse(r->arena, param(r, "HTTP_COOKIE", NULL), &r->cookies, &r->ncookies);
	if (ac_form_parse(r->arena, r->query, strlen(r->query), &r->args, &r->nargs) == -1)
		return AC_REQ_BAD_QUERY;
	if ((r->bad_field = ac_kv_not_utf8(r->args, r->nargs)) != NULL)
		return AC_REQ_BAD_ENCODING;
	return read_body(r, body_max);
}

const char *
ac_req_header(const struct ac_req *r, const char *name)
{
	char key[128];
	size_t i, n = strlen(name);

	if (n + 6 > sizeof(key))
		return NULL;
	memcpy(key, "HTTP_", 5);
	for (i = 0; i < n; i++)
		key[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[5 + n] = '\0';
	return param(r, key, NULL);
}

static const char *
kv_get(const struct ac_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, name) == 0)
			return kv[i].value;
	return NULL;
}

const char *
ac_req_arg(const struct ac_req *r, const char *name)
{
	return kv_get(r->args, r->nargs, name);
}

const char *
ac_req_cookie(const struct ac_req *r, const char *name)
{
	return kv_get(r->cookies, r->ncookies, name);
}

static const char *
fcgx_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static ssize_t
fcgx_read(void *ctx, char *buf, size_t n)
{
	int want = n > (1u << 30) ? 1 << 30 : (int)n;

	return FCGX_GetStr(buf, want, ((FCGX_Request *)ctx)->in);
}

static int
fcgx_write(void *ctx, const char *buf, size_t n)
{
	return FCGX_PutStr(buf, (int)n, ((FCGX_Request *)ctx)->out) == (int)n ? 0 : -1;
}

void
ac_req_io_fcgx(struct ac_req_io *io, struct FCGX_Request *fr)
{
	io->ctx = fr;
	io->param = fcgx_param;
	io->read = fcgx_read;
	io->write = fcgx_write;
}
