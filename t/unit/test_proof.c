/* test_proof.c — payment proofs: PNG, JPEG and PDF built byte by byte are
 * taken, judged by their bytes; every refusal (size, name, type, damage,
 * polyglot, active PDF) names the field; a stored proof comes back whole
 * under a random name of the one shape a request may use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/err.h"
#include "billing/proof.h"

#define MAX	(5u << 20)
#define TEXT(s)	(s), sizeof(s) - 1	/* a literal that may hold NUL */

struct bytes {
	unsigned char	 p[8192];
	size_t		 len;
};

static void
put(struct bytes *b, const void *s, size_t n)
{
	assert_true(b->len + n <= sizeof(b->p));
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
put32(struct bytes *b, uint32_t v)
{
	unsigned char q[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, q, 4);
}

/* One PNG chunk with its length and CRC. */
static void
chunk(struct bytes *b, const char *type, const void *data, size_t n)
{
	size_t at;

	put32(b, (uint32_t)n);
	at = b->len;
	put(b, type, 4);
	put(b, data, n);
	put32(b, (uint32_t)crc32(0, b->p + at, (uInt)(n + 4)));
}

/* A 1x1 grey PNG; text (n bytes, keyword NUL text), if not NULL, goes in
 * a tEXt chunk before IDAT. */
static void
png(struct bytes *b, const char *text, size_t n)
{
	static const unsigned char ihdr[13] = { 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0 };
	static const unsigned char row[2] = { 0, 0x7f };	/* filter none, one pixel */
	unsigned char z[64];
	uLongf zl = sizeof(z);

	b->len = 0;
	put(b, "\x89PNG\r\n\x1a\n", 8);
	chunk(b, "IHDR", ihdr, sizeof(ihdr));
	if (text)
		chunk(b, "tEXt", text, n);
	assert_int_equal(compress(z, &zl, row, sizeof(row)), Z_OK);
	chunk(b, "IDAT", z, zl);
	chunk(b, "IEND", "", 0);
}

/* A baseline JPEG's segments: SOI, APP0, DQT, SOF0, DHT, SOS, a scan with
 * a stuffed FF 00 and a restart marker, EOI. */
static void
jpeg(struct bytes *b)
{
	static const unsigned char head[] = {
		0xff, 0xd8,
		0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
	};
	static const unsigned char sof[] = {
		0xff, 0xc0, 0x00, 0x0b, 8, 0, 1, 0, 1, 1, 1, 0x11, 0,
	};
	static const unsigned char dht[] = {
		0xff, 0xc4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const unsigned char sos[] = {
		0xff, 0xda, 0x00, 0x08, 1, 1, 0, 0, 0x3f, 0,
		0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56,	/* entropy-coded data */
		0xff, 0xd9,
	};
	unsigned char dqt[69] = { 0xff, 0xdb, 0x00, 0x43, 0x00 };

	memset(dqt + 5, 1, 64);
	b->len = 0;
	put(b, head, sizeof(head));
	put(b, dqt, sizeof(dqt));
	put(b, sof, sizeof(sof));
	put(b, dht, sizeof(dht));
	put(b, sos, sizeof(sos));
}

static const char pdf_text[] =
    "%PDF-1.4\n"
    "1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    "2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    "3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R>> endobj\n"
    "4 0 obj <</Length 44>> stream\n"
    "BT /F1 12 Tf 10 50 Td (Paid 499.00 JSON) Tj ET\n"
    "endstream endobj\n"
    "trailer <</Root 1 0 R>>\n"
    "%%EOF\n";

#define PDF_TRAILER	"trailer <</Root 1 0 R>>\n%%EOF\n"

/* The PDF above up to its trailer, so objects can be added before it. */
static void
pdf_open(struct bytes *b)
{
	b->len = 0;
	put(b, pdf_text, strlen(pdf_text) - strlen(PDF_TRAILER));
}

static void
pdf(struct bytes *b, const char *extra)
{
	pdf_open(b);
	if (extra)
		put(b, extra, strlen(extra));
	put(b, PDF_TRAILER, strlen(PDF_TRAILER));
}

static void
refused(const char *name, const struct bytes *b, size_t max, enum ac_err_code code,
    const char *says)
{
	struct ac_err e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(ac_proof_check(name, b->p, b->len, max, &e), -1);
	assert_int_equal(e.code, code);
	assert_string_equal(e.field, "proof");
	if (strstr(e.message, says) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", e.message, says);
}

static void
test_valid_types(void **state)
{
	struct bytes b;
	struct ac_err e;

	png(&b, NULL, 0);
	assert_int_equal(ac_proof_check("screenshot 1.png", b.p, b.len, MAX, &e), AC_PROOF_PNG);
	png(&b, TEXT("Comment\0paid by UPI"));
	assert_int_equal(ac_proof_check(NULL, b.p, b.len, MAX, &e), AC_PROOF_PNG);
	jpeg(&b);
	assert_int_equal(ac_proof_check("IMG_0001.JPG", b.p, b.len, MAX, &e), AC_PROOF_JPEG);
	pdf(&b, NULL);
	assert_int_equal(ac_proof_check("statement.pdf", b.p, b.len, MAX, &e), AC_PROOF_PDF);
	/* the name does not decide: a PNG called .pdf is a PNG */
	png(&b, NULL, 0);
	assert_int_equal(ac_proof_check("x.pdf", b.p, b.len, MAX, &e), AC_PROOF_PNG);
	assert_string_equal(ac_proof_ext(AC_PROOF_JPEG), "jpg");
	assert_string_equal(ac_proof_mime(AC_PROOF_PDF), "application/pdf");
	assert_string_equal(ac_proof_mime(AC_PROOF_PNG), "image/png");
	assert_null(ac_proof_ext(0));
}

static void
test_size_and_name(void **state)
{
	struct bytes b;
	unsigned char *big = calloc(1, MAX + 1);
	struct ac_err e;

	png(&b, NULL, 0);
	refused("x.png", &(struct bytes){ .len = 0 }, MAX, AC_E_INVALID, "empty");
	refused("x.png", &b, b.len - 1, AC_E_TOO_LARGE, "larger than");
	memcpy(big, b.p, b.len);
	assert_int_equal(ac_proof_check("x.png", big, MAX + 1, MAX, &e), -1);
	assert_int_equal(e.code, AC_E_TOO_LARGE);
	assert_string_equal(e.message, "the proof is larger than 5 MB");
	free(big);
	refused("../x.png", &b, MAX, AC_E_INVALID, "path");
	refused("a/b.png", &b, MAX, AC_E_INVALID, "path");
	refused("a\\b.png", &b, MAX, AC_E_INVALID, "path");
	refused("..", &b, MAX, AC_E_INVALID, "path");
	refused("x\r\n.png", &b, MAX, AC_E_INVALID, "control");
	refused("x\x7f.png", &b, MAX, AC_E_INVALID, "control");
}

static void
test_wrong_types(void **state)
{
	struct bytes b = { .len = 0 };

	put(&b, "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,", 20);
	refused("x.gif", &b, MAX, AC_E_MEDIA_TYPE, "PNG or JPEG");
	b.len = 0;
	put(&b, "Paid 499 by UPI, ref 4312\n", 26);
	refused("x.txt", &b, MAX, AC_E_MEDIA_TYPE, "PNG or JPEG");
	b.len = 0;
	put(&b, "<!doctype html><html><body>paid</body></html>", 45);
	refused("x.png", &b, MAX, AC_E_MEDIA_TYPE, "PNG or JPEG");
	b.len = 0;
	put(&b, "\x89PNG\r\n", 6);	/* a signature cut short */
	refused("x.png", &b, MAX, AC_E_MEDIA_TYPE, "PNG or JPEG");
}

static void
test_png_polyglots(void **state)
{
	struct bytes b;

	png(&b, NULL, 0);
	put(&b, "<script>alert(1)</script>", 25);
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "<script");
	png(&b, NULL, 0);
	put(&b, "PK\x03\x04", 4);
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "after its end");
	png(&b, TEXT("Comment\0<ScRiPt src=//evil>"));
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "<script");
	png(&b, TEXT("Comment\0<?php system($_GET[0]);"));
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "<?php");
	png(&b, TEXT("Comment\0<SVG onload=x>"));
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "<svg");
	png(&b, NULL, 0);
	b.p[20] ^= 1;		/* a bit of IHDR: its CRC no longer matches */
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "checksum");
	png(&b, NULL, 0);
	b.len -= 12;		/* IEND gone */
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "cut short");
	png(&b, NULL, 0);
	b.p[11] = 0xff;		/* IHDR's length beyond the file */
	refused("x.png", &b, MAX, AC_E_UNPROCESSABLE, "cut short");
}

static void
test_jpeg_refused(void **state)
{
	struct bytes b;

	jpeg(&b);
	put(&b, "<html>", 6);
	refused("x.jpg", &b, MAX, AC_E_UNPROCESSABLE, "<html");
	jpeg(&b);
	put(&b, "trailer", 7);
	refused("x.jpg", &b, MAX, AC_E_UNPROCESSABLE, "after its end");
	jpeg(&b);
	b.len -= 2;		/* no EOI */
	refused("x.jpg", &b, MAX, AC_E_UNPROCESSABLE, "cut short");
	jpeg(&b);
	b.p[5] = 0xff;		/* APP0's length beyond the file */
	refused("x.jpg", &b, MAX, AC_E_UNPROCESSABLE, "cut short");
	b.len = 0;
	put(&b, "\xff\xd8\xff\xd9", 4);
	refused("x.jpg", &b, MAX, AC_E_UNPROCESSABLE, "no picture");
}

static void
test_pdf_refused(void **state)
{
	static const char js[] = "var x = 1; app.alert('paid');";
	unsigned char z[256];
	char extra[512];
	uLongf zl = sizeof(z);
	struct bytes b;
	int n;

	pdf(&b, "5 0 obj <</S /JavaScript /JS (app.alert\\(1\\))>> endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "JavaScript");
	pdf(&b, "5 0 obj <</S /J#61va#53cript>> endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "JavaScript");
	pdf(&b, "5 0 obj <</OpenAction <</S/Launch/F(cmd.exe)>>>> endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "Launch");
	pdf(&b, "5 0 obj <</Type /EmbeddedFile /Length 0>> endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "EmbeddedFile");
	pdf(&b, "5 0 obj <</Names <</EmbeddedFiles 6 0 R>>>> endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "EmbeddedFile");
	/* hidden in a Flate object stream */
	/* a harmless Flate stream is taken; the same stream with /JS is not */
	n = snprintf(extra, sizeof(extra), "<</Title (%s)>>", js);
	assert_int_equal(compress(z, &zl, (const unsigned char *)extra, (uLong)n), Z_OK);
	pdf_open(&b);
	put(&b, "6 0 obj <</Type /ObjStm /Filter /FlateDecode>> stream\r\n", 55);
	put(&b, z, zl);
	put(&b, "\r\nendstream endobj\n" PDF_TRAILER, 19 + strlen(PDF_TRAILER));
	assert_int_equal(ac_proof_check("x.pdf", b.p, b.len, MAX, NULL), AC_PROOF_PDF);
	zl = sizeof(z);
	n = snprintf(extra, sizeof(extra), "<</JS (%s)>>", js);
	assert_int_equal(compress(z, &zl, (const unsigned char *)extra, (uLong)n), Z_OK);
	pdf_open(&b);
	put(&b, "6 0 obj <</Type /ObjStm /Filter /FlateDecode>> stream\r\n", 55);
	put(&b, z, zl);
	put(&b, "\r\nendstream endobj\n" PDF_TRAILER, 19 + strlen(PDF_TRAILER));
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "JS");
	/* the same after another stream whose "endstream" ends its line */
	pdf_open(&b);
	put(&b, "5 0 obj <</Length 5>> stream\nBT ET\nendstream\nendobj\n", 52);
	put(&b, "6 0 obj <</Type /ObjStm /Filter /FlateDecode>> stream\n", 54);
	put(&b, z, zl);
	put(&b, "\nendstream\nendobj\n" PDF_TRAILER, 18 + strlen(PDF_TRAILER));
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "JS");
	pdf(&b, "5 0 obj (<svg/onload=alert(1)>) endobj\n");
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "<svg");
	pdf(&b, NULL);
	b.len -= 6;		/* "%%EOF\n" gone */
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "%%EOF");
	/* %%EOF must be in the last KiB */
	pdf(&b, NULL);
	for (int i = 0; i < 1100; i++)
		put(&b, " ", 1);
	refused("x.pdf", &b, MAX, AC_E_UNPROCESSABLE, "%%EOF");
}

static int
setup(void **state)
{
	char *dir = strdup("/tmp/ac-proof-XXXXXX");

	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	char *dir = *state, cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
	return 0;
}

static void
test_store_load(void **state)
{
	char dir[256], path[512], name[AC_PROOF_NAME_SIZE], name2[AC_PROOF_NAME_SIZE];
	enum ac_proof_type t;
	unsigned char *data;
	struct dirent *de;
	struct bytes b;
	struct ac_err e;
	struct stat st;
	size_t len;
	int files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/proofs", (char *)*state);
	umask(077);	/* the mode is the code's, not the umask's */
	png(&b, NULL, 0);
	assert_int_equal(ac_proof_store(dir, AC_PROOF_PNG, b.p, b.len, name, sizeof(name), &e), 0);
	assert_int_equal(strlen(name), 36);
	assert_true(ac_proof_name_ok(name));
	assert_string_equal(name + 32, ".png");
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);	/* 0750 under the umask of 077 */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	jpeg(&b);
	assert_int_equal(ac_proof_store(dir, AC_PROOF_JPEG, b.p, b.len, name2, sizeof(name2), &e), 0);
	assert_string_not_equal(name, name2);
	assert_string_equal(name2 + 32, ".jpg");

	assert_int_equal(ac_proof_load(dir, name2, &data, &len, &t, &e), 0);
	assert_int_equal(t, AC_PROOF_JPEG);
	assert_int_equal(len, b.len);
	assert_memory_equal(data, b.p, len);
	free(data);

	/* no temporary file is left behind */
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))) {
			assert_true(strcmp(de->d_name, name) == 0 || strcmp(de->d_name, name2) == 0);
			files++;
		}
	closedir(d);
	assert_int_equal(files, 2);

	ac_proof_remove(dir, name);
	assert_int_equal(ac_proof_load(dir, name, &data, &len, &t, &e), -1);
	assert_int_equal(e.code, AC_E_NOT_FOUND);
	assert_null(data);
	assert_int_equal(ac_proof_load(dir, "../../etc/passwd", &data, &len, &t, &e), -1);
	assert_int_equal(e.code, AC_E_NOT_FOUND);
	assert_int_equal(ac_proof_store(dir, AC_PROOF_PNG, b.p, b.len, name, 10, &e), -1);
	assert_int_equal(ac_proof_store("/nonexistent/a/b", AC_PROOF_PNG, b.p, b.len, name,
	    sizeof(name), &e), -1);
	assert_int_equal(e.code, AC_E_INTERNAL);
	umask(022);
}

static void
test_name_ok(void **state)
{
	static const char *const bad[] = {
		"", "x.png", "../x", "../0123456789abcdef0123456789abcdef.png",
		"0123456789ABCDEF0123456789abcdef.png", "0123456789abcdef0123456789abcde.png",
		"0123456789abcdef0123456789abcdef0.png", "0123456789abcdef0123456789abcdef.PNG",
		"0123456789abcdef0123456789abcdef.gif", "0123456789abcdef0123456789abcdef.png/",
		"0123456789abcdef0123456789abcdef.png.", "0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef.", ".0123456789abcdef0123456789abcdef.tmp",
		"0123456789abcdef0123456789abcdeg.pdf", "0123456789abcdef0123456789abcdef.jpeg",
	};

	assert_true(ac_proof_name_ok("0123456789abcdef0123456789abcdef.png"));
	assert_true(ac_proof_name_ok("ffffffffffffffffffffffffffffffff.jpg"));
	assert_true(ac_proof_name_ok("00000000000000000000000000000000.pdf"));
	assert_false(ac_proof_name_ok(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ac_proof_name_ok(bad[i]))
			fail_msg("took \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_types),
		cmocka_unit_test(test_size_and_name),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_png_polyglots),
		cmocka_unit_test(test_jpeg_refused),
		cmocka_unit_test(test_pdf_refused),
		cmocka_unit_test_setup_teardown(test_store_load, setup, teardown),
		cmocka_unit_test(test_name_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
