/*
 * itportal.h — helpers for the portal and API tests on top of itest.h: a
 * browser (cookie jar and the page's CSRF token), and fixtures (a user
 * subscribed to a plan that covers a fresh strategy, deliveries).
 */
#ifndef AC_ITPORTAL_H
#define AC_ITPORTAL_H

#include "itest.h"

struct ib {
	char	session[64];	/* the ac_session cookie ("" if none) */
	char	pre[64];	/* the ac_pre cookie */
	char	csrf[64];	/* the last page's csrf field */
	char	set_cookie[512];	/* the last Set-Cookie of ac_session, whole */
	char	admin[64];	/* the ac_admin cookie (the admin panel's session) */
	char	admin_pre[64];	/* the ac_admin_pre cookie (its login form's CSRF) */
	char	admin_set_cookie[512];	/* the last Set-Cookie of ac_admin, whole */
	char	token_once[256];	/* the ac_token_once cookie (a new API token) */
};

/* The Cookie header line of b's cookies into buf (n bytes); buf. */
const char *ib_cookie(const struct ib *b, char *buf, size_t n);
/* A new personal API token named name, as b makes it on /tokens (the POST,
 * then the page it redirects to, which shows it once), into token (64). */
void	ib_new_token(struct ib *b, const char *name, char *token);
/* GET path as the browser b: cookies sent, cookies and csrf kept. */
void	ib_get(struct ib *b, struct it_resp *r, const char *path);

/* POST the urlencoded form as b, with "csrf=<b->csrf>&" in front and the
 * site's Origin; *r is the answer (redirects not followed). */
void	ib_post(struct ib *b, struct it_resp *r, const char *path, const char *form);

/* POST exactly form (no csrf added), with origin as Origin (NULL: none). */
void	ib_post_raw(struct ib *b, struct it_resp *r, const char *path, const char *form,
	    const char *origin);

/* A new account through the portal's sign-up form and the link it mails,
 * logged in as b. The email is <tag>.<hex>@example.com in email (128
 * bytes); the user's id. */
long long ib_signup(struct ib *b, const char *tag, const char *name, const char *password,
	    char *email);

/* The path and query of the link (path?token=...) in the newest outbox
 * message of kind to addr (malloc'd); fails the test if there is none. */
char	*ib_mail_link(const char *kind, const char *addr, const char *path);

/* Opens an emailed link as b: GET link (must be 200), then POST its token
 * (and password, unless NULL) to action; *r is the POST's answer. */
void	ib_open_link(struct ib *b, const char *link, const char *action, const char *password,
	    struct it_resp *r);

/* A new admin account (acctl admin add) with perms ("all", "none", or a
 * comma list of flags) and the password it_admin_password(), logged in
 * through /admin/login as b (b's csrf is then the admin session's). Its
 * username (ia_<hex>) in username (64 bytes); its id. */
long long ia_login(struct ib *b, const char *perms, char *username);
/* Logs the existing admin username in as b: the answer's status (303 on
 * success), b's csrf refreshed from /admin. */
long	ia_login_as(struct ib *b, const char *username, const char *password);
#define IT_ADMIN_PASSWORD	"admin password 1"

/* application/x-www-form-urlencoded of s (malloc'd). */
char	*ib_urlencode(const char *s);

struct fx_plan {
	struct it_strategy strategy;	/* covered by plan */
	long long	 plan_id;
	char		 plan_name[32];
};

/* A strategy and an active plan covering it. */
void	fx_plan_new(struct fx_plan *p);

/* user_id subscribed (active, 30 days) to p's plan, with credits granted. */
void	fx_subscribe(long long user_id, const struct fx_plan *p, int credits);

/* A subscription of user_id to p's plan with status, from start ago to
 * end from now (SQL intervals: "20 days", "-1 day"). */
void	fx_subscribe_at(long long user_id, const struct fx_plan *p, const char *status,
	    const char *start_ago, const char *end_in);

/* A processed signal of strategy_id that arrived ago (an SQL interval) at
 * price, delivered (sent by email) to the n users; its id. */
long long fx_signal_at(long long strategy_id, const long long *users, int n, const char *ago,
	    const char *price);

/* n deliveries for user_id of signals of strategy, channels cycling
 * through email/telegram/sms/push and statuses sent/skipped, by SQL. */
void	fx_deliveries(long long user_id, long long strategy_id, int n);

/* Fails the test unless r is a 303 whose Location contains to. */
void	ib_expect_redirect(const struct it_resp *r, const char *to);

/* ---- uploads: a multipart/form-data body built part by part ---- */

#define MP_BOUNDARY	"----alertcastItBoundary9f3Qx"

struct mp {
	unsigned char	*p;
	size_t		 n;
};

void	mp_put(struct mp *m, const void *d, size_t n);
void	mp_str(struct mp *m, const char *s);
/* A text part; a file part. End the body with mp_str(m, "--" MP_BOUNDARY "--\r\n"). */
void	mp_field(struct mp *m, const char *name, const char *value);
void	mp_file(struct mp *m, const char *name, const char *filename, const char *ctype,
	    const void *d, size_t n);
/* A PNG chunk of type with n bytes of d at o; the bytes written. */
size_t	png_chunk(unsigned char *o, const char *type, const unsigned char *d, uint32_t n);
/* A valid 1x1 grey PNG into o (room for 128 bytes); its length. */
size_t	png_make(unsigned char *o);

/* GET path as b answers exactly the n bytes of proof with Content-Type
 * ctype, a Content-Disposition starting with disposition ("inline",
 * "attachment") and nosniff. */
void	ib_proof_is(struct ib *b, const char *path, const void *proof, size_t n,
	    const char *ctype, const char *disposition);

/* 1 if needle occurs in the answer's body. */
int	it_has(const struct it_resp *r, const char *needle);

#endif
