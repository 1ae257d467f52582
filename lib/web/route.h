/*
 * route.h — a responder's route table, and the phases a request goes
 * through before its handler runs:
 *
 *	begin	the responder's own (a session read for every request)
 *	match	path and method: 404, or 405 with Allow
 *	access	who may call it: the responder's hook (session, bearer token
 *		with its audience, permission bits), which may refuse
 *	body	a form (urlencoded or multipart) or a JSON object, as the row says
 *	csrf	for a form POST: same origin, and the csrf field matching the
 *		token the access hook expects
 *	fields	the row's field table, parsed into typed values
 *	handler	with k->v[i] for fields[i]
 *
 * Every refusal is decided here as a struct ac_err (status, wire code,
 * field, message) and written by the responder's error renderer (JSON for
 * the API, an HTML page for the portal) or, for a refused field of a row
 * that has one, by its invalid hook (a form shown again with the message).
 *
 * Fields are declared beside the handler, kcgi style:
 *	{ "limit", AC_F_INT, AC_FROM_QUERY, .min = 1, .max = 500, .def = 100 }
 * A query field refused answers 400 "bad_parameter"; a form or JSON field,
 * 422 "invalid"; both name the field.
 */
#ifndef AC_ROUTE_H
#define AC_ROUTE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "base/err.h"
#include "web/request.h"

enum ac_method {
	AC_M_OTHER = 0,	/* none a row can name: 405 where the path is known */
	AC_M_GET,	/* answers HEAD too */
	AC_M_POST,
	AC_M_PUT,
	AC_M_DELETE,
	AC_M__MAX
};

/* The method of a request ("HEAD" is AC_M_GET), and a method's name. */
enum ac_method	 ac_method_parse(const char *s);
const char	*ac_method_name(enum ac_method m);

enum ac_access {
	AC_PUBLIC = 0,	/* anyone */
	AC_GUEST,	/* meant for a visitor without a session */
	AC_SESSION,	/* a logged-in browser */
	AC_BEARER	/* Authorization: Bearer, for the row's audience */
};

enum ac_body {
	AC_BODY_NONE = 0,
	AC_BODY_FORM,	/* application/x-www-form-urlencoded (other types: no fields) */
	AC_BODY_JSON,	/* a JSON object: 415 for another type, 400 bad_json */
	AC_BODY_MULTIPART	/* multipart/form-data: text parts are the form, file
				 * parts k->parts (415 for another type) */
};

enum ac_field_type {
	AC_F_STRING,	/* .min..max bytes (max 0: any length) */
	AC_F_INT,	/* a whole number in .min..max (int64), .def when absent */
	AC_F_NUMBER,	/* a finite decimal number */
	AC_F_ENUM,	/* one of .values (NULL-terminated) */
	AC_F_BOOL,	/* a checkbox (ticked: not empty) or a JSON boolean */
	AC_F_EMAIL,	/* an email address as accounts take it */
	AC_F_LIST	/* a repeated form field, its values joined by commas */
};

enum ac_field_from { AC_FROM_QUERY, AC_FROM_FORM, AC_FROM_JSON };

#define AC_F_REQUIRED	0x1	/* absent (or "" in a query or form) is refused */
#define AC_F_LENIENT	0x2	/* a bad value counts as absent, never refused */

struct ac_field_decl {
	const char		*name;	/* NULL ends a table */
	enum ac_field_type	 type;
	enum ac_field_from	 from;
	int			 flags;
	long long		 min, max;	/* INT: bounds; STRING: length */
	long long		 def;		/* INT when absent */
	const char *const	*values;	/* ENUM */
	/* a further rule on a present text value: NULL, or what is wrong */
	const char		*(*check)(const char *);
	const char		*why;	/* the message for any refusal of the field */
};

/* A parsed field: set if present and valid; s is the text as sent (for
 * JSON, a string's value), i the number (a BOOL's 0 or 1), n a NUMBER. */
struct ac_val {
	int		 set;
	long long	 i;
	double		 n;
	const char	*s;
};

struct ac_route;
struct ac_part;

/* One request on its way through the phases. */
struct ac_call {
	struct ac_req	*r;
	const struct ac_route *route;	/* the row, once matched */
	void		*ctx;		/* the responder's per-request state */
	long long	 id;		/* the path's {id}, 0 if none */
	const char	*rest;		/* what {*} matched ("" if none) */
	long long	 user;		/* the caller, as the access hook found it */
	const char	*csrf;		/* the token a CSRF row's form must carry */
	struct ac_kv	*form;		/* the form body, if the row takes one */
	size_t		 nform;
	json_t		*json;		/* the JSON body (freed after the handler) */
	struct ac_part	*parts;		/* a multipart body's file parts */
	size_t		 nparts;
	struct ac_val	*v;		/* v[i] for route->fields[i] */
};

typedef void	(*ac_handler)(struct ac_call *k);

struct ac_route {
	enum ac_method		 method;
	/* literal segments; {id} a positive int64 (k->id); a last {*} the
	 * rest of the path, slashes and all, possibly empty (k->rest) */
	const char		*path;
	ac_handler		 fn;
	enum ac_access		 access;
	const char		*audience;	/* AC_BEARER: the token's audience */
	unsigned		 perms;		/* permission bits the access hook checks */
	int			 csrf;		/* a form POST that must carry the token */
	int			 rate;		/* rate-limit class (the responder's), 0 none */
	enum ac_body		 body;
	const struct ac_field_decl	*fields;	/* NULL, or a table ended by { NULL } */
	/* answers a refused field instead of the responder's renderer (the
	 * form shown again with the message), or NULL */
	void			(*invalid)(struct ac_call *k, const struct ac_err *e);
	/* told of any refusal after access (body, CSRF, fields) before it
	 * is answered (a login counts its unreadable attempts), or NULL */
	void			(*refused)(struct ac_call *k, const struct ac_err *e);
};

struct ac_router {
	const struct ac_route	*routes;
	size_t			 n;
	/* CSRF rows: the Origin (or, without one, the Referer) must be this
	 * scheme://host[:port]; a request with neither passes */
	const char		*origin;
	/* before matching: 0 to go on, 1 when it has answered */
	int	(*begin)(struct ac_call *k);
	/* after matching: 0 to go on; -1 with *e to refuse; 1 when it has
	 * answered (a redirect, a 429 of its own); NULL lets everyone in */
	int	(*access)(struct ac_call *k, struct ac_err *e);
	/* writes a refusal, with extra header lines (Allow) or NULL; NULL:
	 * ac_route_json_error() */
	void	(*error)(struct ac_call *k, const struct ac_err *e, const char *headers);
};

/* Takes k->r (and k->ctx) through the phases to the row's handler, or to
 * one refusal. */
void	ac_route(const struct ac_router *rt, struct ac_call *k);

/* The JSON error shape of response.h for e, with the headers. */
void	ac_route_json_error(struct ac_call *k, const struct ac_err *e, const char *headers);

/* 1 if path matches a row's pattern, with {id} in *id and {*} in *rest. */
int	ac_route_match(const char *pattern, const char *path, long long *id,
	    const char **rest);

/* Writes "METHOD /path" a line for the table, {id} written '#'. */
void	ac_route_print(FILE *fp, const struct ac_router *rt);

/* The first value of a form field, or NULL. */
const char *ac_call_form(const struct ac_call *k, const char *name);

#endif
