/* fuzz_proof.c — libFuzzer target for the payment proof check: the input
 * is the uploaded file. Whatever is taken is of a type the bytes start
 * with and holds no markup; whatever is refused names the field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "billing/proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ac_err e;
	int t = ac_proof_check("x", data, size, 1u << 20, &e);

	if (t == -1) {
		if (e.field == NULL || strcmp(e.field, "proof") != 0)
			abort();
		return 0;
	}
	if ((t == AC_PROOF_PNG && data[0] != 0x89) || (t == AC_PROOF_JPEG && data[0] != 0xff) ||
	    (t == AC_PROOF_PDF && data[0] != '%'))
		abort();
	if (memmem(data, size, "<script", 7) != NULL)
		abort();
	return 0;
}
