/*
 * proof_reply.h — a stored payment proof as the answer to a request: what
 * the portal (to its owner) and ac-admin (to an operator) both serve.
 */
#ifndef AC_CGI_PROOF_REPLY_H
#define AC_CGI_PROOF_REPLY_H

#include "web/request.h"

/* Answers r with stored proof name (billing/proof.h; NULL: none) of
 * payment id: its own content type, not cached, Content-Disposition inline
 * (a PDF too when pdf_inline, else an attachment); response.h adds nosniff.
 * 0, or -1 with nothing answered when there is no such file. */
int	proof_reply(struct ac_req *r, const char *dir, const char *name, long long id,
	    int pdf_inline);

#endif
