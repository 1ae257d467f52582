/* fuzz_barcsv.c — libFuzzer target for the chart-export reader: the input
 * is the CSV file, fed line by line. A bar taken lies within its low and
 * high at a time after the last; a line refused says which line it was. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/barcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct ac_barcsv r;
	struct ac_bar b;
	long long last = 0;
	long nbars = 0;
	char want[32];

	ac_barcsv_init(&r);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		int rc = ac_barcsv_line(&r, s, len, &b);

		if (rc < 0) {
			snprintf(want, sizeof(want), "line %ld: ", r.line);
			if (strncmp(r.err, want, strlen(want)) != 0)
				abort();
			return 0;
		}
		if (rc == 1) {
			if (!isfinite(b.open) || !isfinite(b.close) || !(b.low <= b.open) ||
			    !(b.open <= b.high) || !(b.low <= b.close) || !(b.close <= b.high) ||
			    (nbars > 0 && b.time <= last))
				abort();
			last = b.time;
			nbars++;
		}
		s += len + (nl != NULL);
	}
	return 0;
}
