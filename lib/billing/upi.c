/* upi.c — see upi.h. */
#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/escape.h"
#include "base/util.h"
#include "billing/upi.h"

/* name@bank: the name of letters, digits, '.', '-', '_'; the bank handle
 * of letters, digits and '.', starting with a letter. */
static int
vpa_ok(const char *v)
{
	const char *at = strchr(v, '@'), *p;

	if (at == NULL || at == v || at - v > 64 || strlen(at + 1) < 2 || strlen(at + 1) > 64)
		return 0;
	for (p = v; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	if (!((at[1] >= 'a' && at[1] <= 'z') || (at[1] >= 'A' && at[1] <= 'Z')))
		return 0;
	for (p = at + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.'))
			return 0;
	return 1;
}

/* sep, "key=" and value percent-encoded, keeping RFC 3986 unreserved
 * bytes and those in also. */
static void
param(struct ac_buf *b, char sep, const char *key, const char *value, const char *also)
{
	static const char hex[] = "0123456789ABCDEF";

	ac_buf_printf(b, "%c%s=", sep, key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) || strchr(also, *p))
			ac_buf_putc(b, (char)*p);
		else {
			ac_buf_putc(b, '%');
			ac_buf_putc(b, hex[*p >> 4]);
			ac_buf_putc(b, hex[*p & 15]);
		}
	}
}

char *
ac_upi_link(const char *vpa, const char *payee, long long amount_minor, const char *currency,
    const char *note, struct ac_err *e)
{
	struct ac_buf b = AC_BUF_INIT;
	char amount[32];

	if (vpa == NULL || !vpa_ok(vpa)) {
		ac_err_set(e, AC_E_INVALID, "upi_vpa", "a UPI ID looks like name@bank");
		return NULL;
	}
	if (amount_minor <= 0) {
		ac_err_set(e, AC_E_INVALID, "amount", "the amount must be above zero");
		return NULL;
	}
	if (currency == NULL)
		currency = "INR";
	if (strlen(currency) != 3 || strspn(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
		ac_err_set(e, AC_E_INVALID, "currency", "a currency is three capital letters (INR)");
		return NULL;
	}
	if (payee && !ac_utf8_valid(payee, strlen(payee))) {
		ac_err_set(e, AC_E_INVALID, "payee", "the payee's name is not UTF-8");
		return NULL;
	}
	if (note && !ac_utf8_valid(note, strlen(note))) {
		ac_err_set(e, AC_E_INVALID, "note", "the note is not UTF-8");
		return NULL;
	}
	snprintf(amount, sizeof(amount), "%lld.%02lld", amount_minor / 100, amount_minor % 100);
	ac_buf_puts(&b, "upi://pay");
	param(&b, '?', "pa", vpa, "@");
	if (payee && *payee)
		param(&b, '&', "pn", payee, "");
	param(&b, '&', "am", amount, "");
	param(&b, '&', "cu", currency, "");
	if (note && *note)
		param(&b, '&', "tn", note, "");
	return ac_buf_take(&b);
}

/* The dark modules as one path: a rectangle for each horizontal run. */
static void
qr_path(struct ac_buf *b, const QRcode *qr)
{
	for (int y = 0; y < qr->width; y++) {
		for (int x = 0; x < qr->width; x++) {
			int run = 0;

			while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
				run++;
			if (run == 0)
				continue;
			ac_buf_printf(b, "M%d %dh%dv1h-%dz", x + AC_QR_QUIET, y + AC_QR_QUIET, run, run);
			x += run;
		}
	}
}

char *
ac_qr_svg(const char *text, int px_per_module, struct ac_err *e)
{
	struct ac_buf b = AC_BUF_INIT;
	QRcode *qr;
	int size;

	if (text == NULL || px_per_module < 1 || px_per_module > 64) {
		ac_err_set(e, AC_E_INVALID, NULL, "a QR code needs text and 1 to 64 pixels a module");
		return NULL;
	}
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL) {
		if (errno == ERANGE)
			ac_err_set(e, AC_E_INVALID, NULL, "the text is too long for a QR code");
		else
			ac_err_set(e, AC_E_INTERNAL, NULL, "the QR code could not be made: %s",
			    strerror(errno));
		return NULL;
	}
	size = qr->width + 2 * AC_QR_QUIET;
	ac_buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" role=\"img\"><title>",
	    size * px_per_module, size * px_per_module, size, size);
	ac_buf_html(&b, text, strlen(text));
	ac_buf_printf(&b, "</title><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", size, size);
	qr_path(&b, qr);
	ac_buf_puts(&b, "\"/></svg>\n");
	QRcode_free(qr);
	return ac_buf_take(&b);
}
