/* test_upi.c — the UPI link encodes every value and formats the amount;
 * a bad UPI ID is refused; the QR code of a link reads back as exactly the
 * link with zbarimg, and the SVG draws the same modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "billing/upi.h"

static void
test_link_encoding(void **state)
{
	struct ac_err e;
	char *s;

	s = ac_upi_link("shop.name-1_x@okaxis", "A & B = C Ltd", 49900, "INR",
	    "Plan \xe2\x82\xb9" "499 / month?", &e);
	assert_non_null(s);
	assert_string_equal(s, "upi://pay?pa=shop.name-1_x@okaxis&pn=A%20%26%20B%20%3D%20C%20Ltd"
	    "&am=499.00&cu=INR&tn=Plan%20%E2%82%B9499%20%2F%20month%3F");
	free(s);
	s = ac_upi_link("a@ybl", NULL, 5, NULL, "", &e);
	assert_string_equal(s, "upi://pay?pa=a@ybl&am=0.05&cu=INR");
	free(s);
	s = ac_upi_link("a@ybl", "~x.y_z-", 123456789, "USD", "100%", &e);
	assert_string_equal(s, "upi://pay?pa=a@ybl&pn=~x.y_z-&am=1234567.89&cu=USD&tn=100%25");
	free(s);
}

static void
test_amounts(void **state)
{
	static const struct {
		long long minor;
		const char *am;
	} cases[] = {
		{ 49900, "am=499.00&" }, { 5, "am=0.05&" }, { 100, "am=1.00&" }, { 99, "am=0.99&" },
		{ 1010, "am=10.10&" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = ac_upi_link("pay@upi", "x", cases[i].minor, "INR", NULL, NULL);

		assert_non_null(s);
		assert_non_null(strstr(s, cases[i].am));
		free(s);
	}
}

static void
test_refused(void **state)
{
	static const char *const vpas[] = {
		"", "noat", "@bank", "name@", "name@b", "na me@bank", "name@@bank", "name@1bank",
		"name@bank/x", "name@ba nk", "name@bank?x=1", "n&pa=evil@bank", "name@bank&x",
		"\xc3\xa9@bank",
	};
	struct ac_err e;

	for (size_t i = 0; i < sizeof(vpas) / sizeof(vpas[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (ac_upi_link(vpas[i], "x", 100, "INR", NULL, &e) != NULL)
			fail_msg("took \"%s\"", vpas[i]);
		assert_int_equal(e.code, AC_E_INVALID);
		assert_string_equal(e.field, "upi_vpa");
	}
	assert_null(ac_upi_link(NULL, "x", 100, "INR", NULL, &e));
	assert_string_equal(e.field, "upi_vpa");
	assert_null(ac_upi_link("a@ybl", "x", 0, "INR", NULL, &e));
	assert_string_equal(e.field, "amount");
	assert_null(ac_upi_link("a@ybl", "x", -100, "INR", NULL, &e));
	assert_string_equal(e.field, "amount");
	assert_null(ac_upi_link("a@ybl", "x", 100, "inr", NULL, &e));
	assert_string_equal(e.field, "currency");
	assert_null(ac_upi_link("a@ybl", "\xff", 100, "INR", NULL, &e));
	assert_string_equal(e.field, "payee");
	assert_null(ac_upi_link("a@ybl", "x", 100, "INR", "\xc3", &e));
	assert_string_equal(e.field, "note");
}

/* The matrix as a PGM, 4 pixels a module, 4 modules of quiet zone. */
static void
write_pgm(const char *path, const QRcode *qr)
{
	int px = 4, side = (qr->width + 2 * AC_QR_QUIET) * px;
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fprintf(f, "P5\n%d %d\n255\n", side, side);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int mx = x / px - AC_QR_QUIET, my = y / px - AC_QR_QUIET;
			int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
			    (qr->data[my * qr->width + mx] & 1);

			fputc(dark ? 0 : 255, f);
		}
	assert_int_equal(fclose(f), 0);
}

static void
test_qr_decodes(void **state)
{
	char dir[] = "/tmp/ac-upi-XXXXXX", path[64], cmd[128], out[512];
	char *link = ac_upi_link("alertcast@okhdfcbank", "Alertcast Signals & Co", 49900, "INR",
	    "Pro plan, 1 month", NULL);
	QRcode *qr;
	size_t n;
	FILE *p;

	assert_non_null(link);
	if (system("command -v zbarimg >/dev/null 2>&1") != 0) {
		free(link);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qr.pgm", dir);
	qr = QRcode_encodeString(link, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	write_pgm(path, qr);
	QRcode_free(qr);
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s'", path);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	assert_int_equal(pclose(p), 0);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	assert_string_equal(out, link);
	unlink(path);
	rmdir(dir);
	free(link);
}

static void
test_qr_svg(void **state)
{
	const char *text = "upi://pay?pa=a@ybl&am=1.00&cu=INR";
	char *svg = ac_qr_svg(text, 5, NULL), *d, *q;
	int vb, w, h, x, y, run, back, dark = 0, drawn = 0;
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	struct ac_err e;

	assert_non_null(svg);
	assert_non_null(qr);
	assert_non_null(q = strstr(svg, "viewBox=\"0 0 "));
	assert_int_equal(sscanf(q, "viewBox=\"0 0 %d %d\"", &vb, &h), 2);
	assert_int_equal(vb, qr->width + 8);
	assert_int_equal(h, vb);
	assert_int_equal(sscanf(strstr(svg, "width=\""), "width=\"%d\"", &w), 1);
	assert_int_equal(w, vb * 5);
	assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
	assert_non_null(strstr(svg, "<title>upi://pay?pa=a@ybl&amp;am=1.00&amp;cu=INR</title>"));
	/* one path, every run inside the quiet zone, as many modules as the matrix */
	assert_non_null(d = strstr(svg, " d=\""));
	assert_null(strstr(d + 1, "<path"));
	d += 4;
	assert_true(*d == 'M');
	while (sscanf(d, "M%d %dh%dv1h-%dz", &x, &y, &run, &back) == 4) {
		assert_int_equal(run, back);
		assert_true(x >= 4 && y >= 4 && x + run <= qr->width + 4 && y < qr->width + 4);
		for (int i = 0; i < run; i++)
			assert_true(qr->data[(y - 4) * qr->width + x - 4 + i] & 1);
		drawn += run;
		d = strchr(d, 'z') + 1;
	}
	assert_string_equal(d, "\"/></svg>\n");
	for (int i = 0; i < qr->width * qr->width; i++)
		dark += qr->data[i] & 1;
	assert_int_equal(drawn, dark);
	QRcode_free(qr);
	free(svg);

	assert_null(ac_qr_svg(text, 0, &e));
	assert_int_equal(e.code, AC_E_INVALID);
	q = malloc(8000);
	memset(q, 'x', 7999);
	q[7999] = '\0';
	assert_null(ac_qr_svg(q, 4, &e));
	assert_int_equal(e.code, AC_E_INVALID);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_encoding),
		cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_qr_decodes),
		cmocka_unit_test(test_qr_svg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
