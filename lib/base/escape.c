/* escape.c — see escape.h. */
#include <string.h>

#include "base/escape.h"

void
ac_buf_html(struct ac_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		ac_buf_add(b, s + run, i - run);
		ac_buf_puts(b, e);
		run = i + 1;
	}
	ac_buf_add(b, s + run, n - run);
}

char *
ac_html_escape(const char *s)
{
	struct ac_buf b = AC_BUF_INIT;

	ac_buf_html(&b, s, strlen(s));
	return ac_buf_take(&b);
}
