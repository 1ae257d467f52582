/*
 * proof.h — a payment proof: the screenshot or PDF of a UPI or bank
 * transfer a subscriber uploads. The bytes decide what it is (never its
 * name or declared type), it is walked to its end so nothing rides behind
 * an image, and it is stored under a random name outside the web root, so
 * a request can only ever name a file this code made.
 */
#ifndef AC_PROOF_H
#define AC_PROOF_H

#include <stddef.h>

#include "base/err.h"

enum ac_proof_type { AC_PROOF_PNG = 1, AC_PROOF_JPEG, AC_PROOF_PDF };

#define AC_PROOF_NAME_SIZE	64	/* room for a stored name: 32 hex + "." + ext + NUL */

/*
 * Checks an uploaded proof: filename as sent (may be NULL), len bytes of
 * data, max bytes allowed. The type, or -1 with e (field "proof", a
 * message for the subscriber): AC_E_INVALID for an empty file or a file
 * name with a path or a control character; AC_E_TOO_LARGE over max;
 * AC_E_MEDIA_TYPE for bytes that are not PNG, JPEG or PDF; AC_E_UNPROCESSABLE
 * for a damaged file, bytes after its end, markup or script anywhere, or a
 * PDF carrying JavaScript, a launch action or an embedded file (also inside
 * its Flate streams).
 */
int		 ac_proof_check(const char *filename, const unsigned char *data, size_t len,
		    size_t max, struct ac_err *e);

/* "png" "jpg" "pdf", and "image/png" "image/jpeg" "application/pdf";
 * NULL for anything else. */
const char	*ac_proof_ext(enum ac_proof_type t);
const char	*ac_proof_mime(enum ac_proof_type t);

/*
 * Stores data under dir (made 0750 if missing; its parent must exist) as
 * 32 lower-case hex characters from the OS CSPRNG + "." + ext, mode 0640:
 * written to a temporary file (O_EXCL), fsync'd, renamed into place, the
 * directory fsync'd. name (namesz >= AC_PROOF_NAME_SIZE) receives the file
 * name without the directory. 0, or -1 with e (AC_E_INTERNAL).
 */
int		 ac_proof_store(const char *dir, enum ac_proof_type t, const unsigned char *data,
		    size_t len, char *name, size_t namesz, struct ac_err *e);

/* 1 if name is one ac_proof_store makes, else 0. */
int		 ac_proof_name_ok(const char *name);

/* Reads a stored proof back: *data malloc'd (the caller frees it), *len,
 * *type from the extension. 0, or -1 with e: AC_E_NOT_FOUND for a name
 * ac_proof_store does not make or a file that is not there. */
int		 ac_proof_load(const char *dir, const char *name, unsigned char **data,
		    size_t *len, enum ac_proof_type *type, struct ac_err *e);

/* Removes a stored proof (the database refused the payment after the file
 * was stored); a name ac_proof_store does not make is left alone. */
void		 ac_proof_remove(const char *dir, const char *name);

#endif
