/* multipart.c — see multipart.h. */
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/util.h"
#include "web/multipart.h"

/* Every refusal of the body's shape; fmt must be a literal. */
#define malformed(e, ...) \
	ac_err_set((e), AC_E_INVALID, NULL, "the upload is malformed: " __VA_ARGS__)

/* RFC 9110 token characters. */
static int
is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Control bytes other than HTAB: never in a header value. */
static int
is_ctl(char c)
{
	return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 2046 bchars: what a boundary may be made of. */
static int
is_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

static const char *
skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* 1 if the n bytes at s are word, ignoring case. */
static int
is_word(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* A token or a quoted-string (backslash escapes) at *pp, before end, as a
 * NUL-terminated copy in the arena, *pp moved past it; NULL if it is
 * neither or a control byte is inside the quotes. */
static char *
read_value(struct ac_arena *a, const char **pp, const char *end)
{
	const char *p = *pp, *s;
	char *out, *o;

	if (p < end && *p == '"') {
		/* the opening quote pays for the NUL: the copy is never longer */
		out = o = ac_arena_alloc(a, (size_t)(end - p));
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (is_ctl(*p))
				return NULL;
			*o++ = *p;
		}
		if (p == end)
			return NULL;
		*pp = p + 1;
		return out;
	}
	for (s = p; p < end && is_tchar(*p); p++)
		continue;
	if (p == s)
		return NULL;
	*pp = p;
	return ac_arena_strndup(a, s, (size_t)(p - s));
}

/* The next "; name=value" parameter from *pp to end: 1 with *name
 * (*namelen bytes, not copied) and *value (in the arena), 0 at the end,
 * -1 if what follows is not a parameter. */
static int
next_param(struct ac_arena *a, const char **pp, const char *end, const char **name,
    size_t *namelen, char **value)
{
	const char *p = skip_ows(*pp, end);

	if (p == end)
		return 0;
	if (*p != ';')
		return -1;
	p = skip_ows(p + 1, end);
	for (*name = p; p < end && is_tchar(*p); p++)
		continue;
	*namelen = (size_t)(p - *name);
	if (*namelen == 0 || p == end || *p != '=')
		return -1;
	p++;
	if ((*value = read_value(a, &p, end)) == NULL)
		return -1;
	*pp = p;
	return 1;
}

/* "\r\n--" and the boundary of a multipart/form-data Content-Type into
 * delim (4 + AC_MULTIPART_BOUNDARY_MAX + 1 bytes), *dlen its length. */
static int
delimiter(struct ac_arena *a, const char *ct, char *delim, size_t *dlen, struct ac_err *e)
{
	static const char type[] = "multipart/form-data";
	const char *p, *end, *name, *boundary = NULL;
	char *value;
	size_t namelen, blen;
	int r;

	if (ct == NULL)
		goto refuse;
	end = ct + strlen(ct);
	p = skip_ows(ct, end);
	if (strncasecmp(p, type, sizeof(type) - 1) != 0)
		goto refuse;
	p += sizeof(type) - 1;
	while ((r = next_param(a, &p, end, &name, &namelen, &value)) == 1)
		if (is_word(name, namelen, "boundary"))
			boundary = value;
	if (r == -1 || boundary == NULL)
		goto refuse;
	blen = strlen(boundary);
	if (blen == 0 || blen > AC_MULTIPART_BOUNDARY_MAX || boundary[blen - 1] == ' ')
		goto refuse;
	for (p = boundary; *p; p++)
		if (!is_bchar(*p))
			goto refuse;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen + 1);
	*dlen = 4 + blen;
	return 0;
refuse:
	return ac_err_set(e, AC_E_MEDIA_TYPE, NULL,
	    "the upload must be sent as multipart/form-data with a boundary");
}

/* Content-Disposition: form-data; name="..."[; filename="..."] from v to
 * end into part. filename* is ignored: RFC 7578 4.2 says senders must not
 * use it. */
static int
disposition(struct ac_arena *a, const char *v, const char *end, struct ac_part *part,
    struct ac_err *e)
{
	const char *p = v, *name;
	char *value;
	size_t namelen;
	int r;

	while (p < end && is_tchar(*p))
		p++;
	if (!is_word(v, (size_t)(p - v), "form-data"))
		return malformed(e, "a part is not form-data");
	while ((r = next_param(a, &p, end, &name, &namelen, &value)) == 1) {
		const char **slot = NULL;

		if (is_word(name, namelen, "name"))
			slot = &part->name;
		else if (is_word(name, namelen, "filename"))
			slot = &part->filename;
		if (slot == NULL)
			continue;
		/* two answers to one question: refuse rather than pick one */
		if (*slot != NULL)
			return malformed(e, "a part names its field or file twice");
		if (!ac_utf8_valid(value, strlen(value)))
			return malformed(e, "a field or file name is not UTF-8");
		*slot = value;
	}
	if (r == -1)
		return malformed(e, "a Content-Disposition header does not parse");
	if (part->name == NULL || part->name[0] == '\0')
		return malformed(e, "a part has no field name");
	return 0;
}

/* The header lines from p to end (each ending in CRLF) into part. */
static int
headers(struct ac_arena *a, const char *p, const char *end, struct ac_part *part,
    struct ac_err *e)
{
	int seen_cd = 0;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2), *colon, *v, *ve, *q;

		for (colon = p; colon < eol && is_tchar(*colon); colon++)
			continue;
		/* a line starting with a space would be an obsolete folded one */
		if (colon == p || colon == eol || *colon != ':')
			return malformed(e, "a part's header line has no name");
		for (q = colon + 1; q < eol; q++)
			if (is_ctl(*q))
				return malformed(e, "a part's header holds a control character");
		v = skip_ows(colon + 1, eol);
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			continue;
		if (is_word(p, (size_t)(colon - p), "Content-Disposition")) {
			if (seen_cd++)
				return malformed(e, "a part has two Content-Disposition headers");
			if (disposition(a, v, ve, part, e) == -1)
				return -1;
		} else if (is_word(p, (size_t)(colon - p), "Content-Type")) {
			if (part->content_type != NULL)
				return malformed(e, "a part has two Content-Type headers");
			part->content_type = ac_arena_strndup(a, v, (size_t)(ve - v));
		}
		p = eol + 2;
	}
	if (!seen_cd)
		return malformed(e, "a part has no Content-Disposition: form-data header");
	if (part->content_type == NULL)
		part->content_type = "";
	return 0;
}

/* After "--boundary" at *q: 1 for the close delimiter, 0 for a part's
 * start (*q moved past the line end), -1 for anything else. */
static int
delimiter_end(const unsigned char **q, const unsigned char *end)
{
	const unsigned char *p = *q;

	if (end - p >= 2 && p[0] == '-' && p[1] == '-')
		return 1;
	while (p < end && (*p == ' ' || *p == '\t'))	/* transport padding */
		p++;
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -1;
	*q = p + 2;
	return 0;
}

/* One part from *pp (just past its delimiter line) to the next delimiter,
 * *pp moved past that delimiter. */
static int
part(struct ac_arena *a, const unsigned char **pp, const unsigned char *end,
    const char *delim, size_t dlen, struct ac_part *pt, struct ac_err *e)
{
	const unsigned char *p = *pp, *hend, *data, *next;
	size_t window = (size_t)(end - p);

	memset(pt, 0, sizeof(*pt));
	if (window >= 2 && p[0] == '\r' && p[1] == '\n') {
		hend = p;	/* no header lines: refused below */
		data = p + 2;
	} else {
		if (window > AC_MULTIPART_HEADERS_MAX + 2)
			window = AC_MULTIPART_HEADERS_MAX + 2;
		if ((next = memmem(p, window, "\r\n\r\n", 4)) == NULL) {
			if ((size_t)(end - p) > AC_MULTIPART_HEADERS_MAX)
				return malformed(e, "a part's headers are over %d bytes",
				    AC_MULTIPART_HEADERS_MAX);
			return malformed(e, "a part's headers do not end");
		}
		hend = next + 2;
		data = next + 4;
	}
	if (headers(a, (const char *)p, (const char *)hend, pt, e) == -1)
		return -1;
	if ((next = memmem(data, (size_t)(end - data), delim, dlen)) == NULL)
		return malformed(e, "the closing boundary is missing");
	pt->data = data;
	pt->len = (size_t)(next - data);
	*pp = next + dlen;
	return 0;
}

int
ac_multipart_parse(struct ac_arena *arena, const char *content_type, const unsigned char *body,
    size_t len, struct ac_part *parts, size_t max, size_t *n, struct ac_err *e)
{
	char delim[4 + AC_MULTIPART_BOUNDARY_MAX + 1];
	const unsigned char *p, *end = body + len;
	size_t dlen = 0, count = 0;
	int r;

	*n = 0;
	if (delimiter(arena, content_type, delim, &dlen, e) == -1)
		return -1;
	if (body == NULL || len == 0)
		return malformed(e, "the body is empty");
	/* the first delimiter may open the body, without the CRLF before it */
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((p = memmem(body, len, delim, dlen)) != NULL)
		p += dlen;
	else
		return malformed(e, "the body has no boundary");
	while ((r = delimiter_end(&p, end)) == 0) {
		if (count == max)
			return malformed(e, "more than %zu parts", max);
		if (part(arena, &p, end, delim, dlen, &parts[count], e) == -1)
			return -1;
		count++;
	}
	if (r == -1)
		return malformed(e, "a boundary line has something after the boundary");
	*n = count;
	return 0;
}

const struct ac_part *
ac_multipart_get(const struct ac_part *parts, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(parts[i].name, name) == 0)
			return &parts[i];
	return NULL;
}
