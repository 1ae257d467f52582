/* proof_reply.c — see proof_reply.h. */
#include <stdio.h>
#include <stdlib.h>

#include "billing/proof.h"
#include "cgi/proof_reply.h"
#include "web/response.h"

int
proof_reply(struct ac_req *r, const char *dir, const char *name, long long id,
    int pdf_inline)
{
	struct ac_err e;
	enum ac_proof_type type;
	unsigned char *data;
	const char *ext;
	char headers[256];
	size_t len;

	if (name == NULL || ac_proof_load(dir, name, &data, &len, &type, &e) == -1)
		return -1;
	ext = ac_proof_ext(type);
	snprintf(headers, sizeof(headers), "Cache-Control: private, no-store\r\n"
	    "Content-Disposition: %s; filename=\"payment-%lld.%s\"\r\n",
	    type == AC_PROOF_PDF && !pdf_inline ? "attachment" : "inline", id, ext ? ext : "bin");
	ac_reply(r, 200, ac_proof_mime(type), headers, (const char *)data, len);
	free(data);
	return 0;
}
