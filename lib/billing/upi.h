/*
 * upi.h — paying by UPI: the upi://pay link a UPI app opens, and the QR
 * code of it that a phone's camera reads off the payment page.
 */
#ifndef AC_UPI_H
#define AC_UPI_H

#include "base/err.h"

#define AC_QR_QUIET	4	/* modules of light border around the code */

/*
 * "upi://pay?pa=<vpa>&pn=<payee>&am=<amount>&cu=<currency>&tn=<note>", each
 * value percent-encoded (RFC 3986 unreserved kept; the VPA's "@" too, as
 * UPI apps expect it), the amount from minor units ("499.00"); pn and tn
 * are left out when NULL or empty, currency NULL means "INR". malloc'd, or
 * NULL with e (AC_E_INVALID): a vpa not like name@bank (field "upi_vpa"),
 * an amount not above 0 ("amount"), a currency not three capital letters
 * ("currency"), a payee or note that is not UTF-8 ("payee", "note").
 */
char	*ac_upi_link(const char *vpa, const char *payee, long long amount_minor,
	    const char *currency, const char *note, struct ac_err *e);

/*
 * text as a QR code (libqrencode, error correction M, 8-bit mode) in SVG:
 * one <path> of the dark modules on a light background, a quiet zone of
 * AC_QR_QUIET modules, viewBox in modules, shape-rendering crispEdges,
 * width and height px_per_module (1..64) times the size, a <title> of the
 * text. malloc'd, or NULL with e (AC_E_INVALID for text too long for a
 * code or a bad scale).
 */
char	*ac_qr_svg(const char *text, int px_per_module, struct ac_err *e);

#endif
