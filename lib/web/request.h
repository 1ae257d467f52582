/*
 * request.h — the request layer over libfcgi.
 *
 * ac_req_read() fills a struct ac_req from the FastCGI parameters and
 * body; everything it holds lives in the request's arena. The sources of
 * parameters, body bytes and output are callbacks, so tests and fuzzers
 * drive the same code without a FastCGI peer (ac_req_fcgx() wires them to
 * an FCGX_Request).
 */
#ifndef AC_REQUEST_H
#define AC_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"

struct ac_kv {
	const char	*key;
	const char	*value;
};

struct ac_req_io {
	void		*ctx;
	const char	*(*param)(void *ctx, const char *name);	/* NULL if unset */
	ssize_t		 (*read)(void *ctx, char *buf, size_t n);	/* 0 at the end */
	int		 (*write)(void *ctx, const char *buf, size_t n);	/* -1 on error */
};

struct ac_req {
	struct ac_arena	*arena;
	struct ac_req_io io;
	const char	*method;	/* "GET", "POST"... ("" if unset) */
	const char	*path;		/* decoded path without the query ("/" if unset) */
	const char	*query;		/* raw query string ("" if none) */
	const char	*content_type;	/* "" if none */
	const char	*remote_addr;
	const char	*request_id;	/* nginx's $request_id ("" if none) */
	char		*body;		/* NUL-terminated copy; body_len excludes the NUL */
	size_t		 body_len;
	struct ac_kv	*args;		/* the parsed query */
	size_t		 nargs;
	struct ac_kv	*cookies;
	size_t		 ncookies;
	const char	*bad_field;	/* AC_REQ_BAD_ENCODING: the query argument */
	int64_t		 received_ms;
	int		 responded;	/* set by response.c */
};

enum ac_req_status {
	AC_REQ_OK = 0,
	AC_REQ_TOO_LARGE,	/* body over the limit: answer 413 */
	AC_REQ_BAD_LENGTH,	/* CONTENT_LENGTH is not a number: 400 */
	AC_REQ_SHORT_BODY,	/* fewer bytes than CONTENT_LENGTH: 400 */
	AC_REQ_BAD_QUERY,	/* the query string cannot be parsed: 400 */
	AC_REQ_BAD_ENCODING	/* a query argument is not UTF-8 (bad_field): 400 */
};

/* What each status means, for logs and error bodies. */
const char	*ac_req_strerror(enum ac_req_status st);

/*
 * Fills *r from io: parameters, query, cookies, and the body (at most
 * body_max bytes; a larger CONTENT_LENGTH is refused before reading).
 * Query arguments must be UTF-8, as form fields must (the caller checks
 * those with ac_kv_not_utf8()). r->arena must be set. Returns AC_REQ_OK or why the request is bad;
 * the fields read before the failure stay set.
 */
enum ac_req_status ac_req_read(struct ac_req *r, const struct ac_req_io *io, size_t body_max);

/* A request header by its HTTP name ("User-Agent"), or NULL. */
const char	*ac_req_header(const struct ac_req *r, const char *name);

/* The first value of a query argument / a cookie, or NULL. */
const char	*ac_req_arg(const struct ac_req *r, const char *name);
const char	*ac_req_cookie(const struct ac_req *r, const char *name);

/* Parses an application/x-www-form-urlencoded string (a query or a form
 * body) into arena-owned pairs. 0, or -1 if it cannot be parsed. */
int		 ac_form_parse(struct ac_arena *a, const char *s, size_t len,
		    struct ac_kv **out, size_t *n);

/* The name of the first pair whose name or value is not UTF-8 ("a field
 * name" when the name itself is not), or NULL when all are. */
const char	*ac_kv_not_utf8(const struct ac_kv *kv, size_t n);

/* Parses a Cookie header ("a=1; b=2"), keeping well-formed pairs only
 * (a name, UTF-8 throughout). */
void		 ac_cookie_parse(struct ac_arena *a, const char *header,
		    struct ac_kv **out, size_t *n);

struct FCGX_Request;
/* io callbacks over an accepted FCGX_Request. */
void		 ac_req_io_fcgx(struct ac_req_io *io, struct FCGX_Request *fr);

#endif
