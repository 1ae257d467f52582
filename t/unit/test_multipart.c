/* test_multipart.c — multipart/form-data as browsers send it parses into
 * its parts, file bytes untouched; every malformed body is refused with
 * the code a responder maps to its status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "web/multipart.h"

#define CT	"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"
#define B	"------WebKitFormBoundary7MA4YWxkTrZu0gW"

struct fx {
	struct ac_arena	*arena;
	struct ac_part	 parts[8];
	size_t		 n;
	struct ac_err	 e;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->arena = ac_arena_new(4096);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ac_arena_free(fx->arena);
	free(fx);
	return 0;
}

static int
parse(struct fx *fx, const char *ct, const void *body, size_t len, size_t max)
{
	memset(&fx->e, 0, sizeof(fx->e));
	return ac_multipart_parse(fx->arena, ct, body, len, fx->parts, max, &fx->n, &fx->e);
}

/* A text field and a PNG, as Chrome sends them. */
static void
test_browser_form(void **state)
{
	struct fx *fx = *state;
	static const char body[] =
	    B "\r\n"
	    "Content-Disposition: form-data; name=\"reference\"\r\n"
	    "\r\n"
	    "UTR 4312 9876\r\n"
	    B "\r\n"
	    "Content-Disposition: form-data; name=\"proof\"; filename=\"pay ment.png\"\r\n"
	    "Content-Type: image/png\r\n"
	    "\r\n"
	    "\x89PNG\r\n\x1a\n\0\0\r\n\r\n"
	    B "--\r\n";
	const struct ac_part *p;

	assert_int_equal(parse(fx, CT, body, sizeof(body) - 1, 8), 0);
	assert_int_equal(fx->n, 2);
	p = ac_multipart_get(fx->parts, fx->n, "reference");
	assert_non_null(p);
	assert_null(p->filename);
	assert_string_equal(p->content_type, "");
	assert_int_equal(p->len, 13);
	assert_memory_equal(p->data, "UTR 4312 9876", 13);
	p = ac_multipart_get(fx->parts, fx->n, "proof");
	assert_non_null(p);
	assert_string_equal(p->filename, "pay ment.png");
	assert_string_equal(p->content_type, "image/png");
	assert_int_equal(p->len, 12);
	assert_memory_equal(p->data, "\x89PNG\r\n\x1a\n\0\0\r\n", 12);
	assert_null(ac_multipart_get(fx->parts, fx->n, "other"));
}

/* Firefox's boundary, quoted, with a preamble and an epilogue, and an
 * empty file input (filename="", no bytes). */
static void
test_quoted_preamble_epilogue(void **state)
{
	struct fx *fx = *state;
	static const char body[] =
	    "This is the preamble, which is ignored.\r\n"
	    "--------------------------1234567890abcdef\r\n"
	    "content-disposition: FORM-DATA; name=note; filename=\"\"\r\n"
	    "content-type: application/octet-stream\r\n"
	    "\r\n"
	    "\r\n"
	    "--------------------------1234567890abcdef--\r\n"
	    "and an epilogue, also ignored\r\n";

	assert_int_equal(parse(fx,
	    "Multipart/Form-Data; charset=utf-8; boundary=\"------------------------1234567890abcdef\"",
	    body, sizeof(body) - 1, 8), 0);
	assert_int_equal(fx->n, 1);
	assert_string_equal(fx->parts[0].name, "note");
	assert_string_equal(fx->parts[0].filename, "");
	assert_int_equal(fx->parts[0].len, 0);
}

/* File bytes holding CR, LF, NUL, "--" and every prefix of the delimiter
 * come back exactly. */
static void
test_binary_partial_boundaries(void **state)
{
	struct fx *fx = *state;
	static const char delim[] = "\r\n--XyZ";
	char data[512], body[1024];
	size_t dl = 0, bl = 0;

	for (size_t i = 1; i < sizeof(delim) - 1; i++) {	/* "\r", "\r\n", ... "\r\n--Xy" */
		memcpy(data + dl, delim, i);
		dl += i;
		data[dl++] = (char)(0x80 | i);
	}
	memcpy(data + dl, "\0\r\r\n\n--\r\n--XY\r\n-", 17);
	dl += 17;
	bl = (size_t)snprintf(body, sizeof(body), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"f\"; filename=\"a.bin\"\r\n\r\n");
	memcpy(body + bl, data, dl);
	bl += dl;
	memcpy(body + bl, "\r\n--XyZ--", 9);
	bl += 9;
	assert_int_equal(parse(fx, "multipart/form-data; boundary=XyZ", body, bl, 8), 0);
	assert_int_equal(fx->n, 1);
	assert_int_equal(fx->parts[0].len, dl);
	assert_memory_equal(fx->parts[0].data, data, dl);
}

/* filename="..." with backslash-escaped quotes; filename* is ignored; a
 * 70-character boundary is the longest taken; the first of two parts of a
 * name is the one ac_multipart_get answers. */
static void
test_escapes_and_limits(void **state)
{
	struct fx *fx = *state;
	char b70[71], ct[128], body[1024];
	int bl;

	memset(b70, 'b', 70);
	b70[70] = '\0';
	snprintf(ct, sizeof(ct), "multipart/form-data;boundary=%s", b70);
	bl = snprintf(body, sizeof(body),
	    "--%s\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x \\\"q\\\" \\\\.png\"; "
	    "filename*=UTF-8''evil%%2F.png\r\n\r\none\r\n"
	    "--%s  \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ntwo\r\n--%s--",
	    b70, b70, b70);
	assert_int_equal(parse(fx, ct, body, (size_t)bl, 8), 0);
	assert_int_equal(fx->n, 2);
	assert_string_equal(fx->parts[0].filename, "x \"q\" \\.png");
	assert_ptr_equal(ac_multipart_get(fx->parts, fx->n, "a"), &fx->parts[0]);
	assert_memory_equal(fx->parts[1].data, "two", 3);
}

static void
test_media_type_refused(void **state)
{
	struct fx *fx = *state;
	static const char body[] = "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--";
	char b71[128];
	const char *bad[] = {
		NULL, "", "application/x-www-form-urlencoded", "multipart/mixed; boundary=x",
		"multipart/form-data", "multipart/form-data; charset=utf-8",
		"multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"x", "multipart/form-data; boundary=a<b",
		"multipart/form-data; boundary=\"x \"", "multipart/form-datax; boundary=x",
		"multipart/form-data boundary=x", b71,
	};

	snprintf(b71, sizeof(b71), "multipart/form-data; boundary=%071d", 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(fx, bad[i], body, sizeof(body) - 1, 8), -1);
		assert_int_equal(fx->e.code, AC_E_MEDIA_TYPE);
	}
}

static void
test_malformed_refused(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *body, *why;
	} bad[] = {
		{ "", "empty" },
		{ "no boundary at all", "no boundary" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n", "no closing" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1", "no closing" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\n", "headers do not end" },
		{ "--x\r\n\r\n1\r\n--x--", "no headers" },
		{ "--x\r\nContent-Type: text/plain\r\n\r\n1\r\n--x--", "no disposition" },
		{ "--x\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--x--", "not form-data" },
		{ "--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--", "no name" },
		{ "--x\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--x--", "empty name" },
		{ "--x\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--x--", "open quote" },
		{ "--x\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n1\r\n--x--", "two names" },
		{ "--x\r\nContent-Disposition: form-data; filename=a; name=b; filename=c\r\n\r\n1\r\n--x--",
		  "two filenames" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
		  "name=b\r\n\r\n1\r\n--x--", "two dispositions" },
		{ "--x\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\n1\r\n--x--", "not UTF-8" },
		{ "--x\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\n1\r\n--x--", "bare LF" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\n folded\r\n\r\n1\r\n--x--", "folded" },
		{ "--x\r\nNo colon here\r\n\r\n1\r\n--x--", "no colon" },
		{ "--xtra\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--", "after boundary" },
		{ "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xz\r\n", "after boundary" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(fx, "multipart/form-data; boundary=x", bad[i].body,
		    strlen(bad[i].body), 8) != -1)
			fail_msg("accepted: %s", bad[i].why);
		assert_int_equal(fx->e.code, AC_E_INVALID);
		assert_non_null(strstr(fx->e.message, "the upload is malformed: "));
	}
}

/* A header block of 8 KiB is taken; one byte more is refused. */
static void
test_header_limit(void **state)
{
	struct fx *fx = *state;
	static const char head[] = "--x\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ";
	size_t fixed = strlen("Content-Disposition: form-data; name=a\r\nX-Pad: ") + 2;
	char *body = malloc(16384);

	for (int extra = 0; extra <= 1; extra++) {
		size_t pad = AC_MULTIPART_HEADERS_MAX - fixed + (size_t)extra, bl = 0;

		memcpy(body, head, sizeof(head) - 1);
		bl = sizeof(head) - 1;
		memset(body + bl, 'p', pad);
		bl += pad;
		memcpy(body + bl, "\r\n\r\nv\r\n--x--", 12);
		bl += 12;
		assert_int_equal(parse(fx, "multipart/form-data; boundary=x", body, bl, 8),
		    extra ? -1 : 0);
		if (extra) {
			assert_int_equal(fx->e.code, AC_E_INVALID);
			assert_non_null(strstr(fx->e.message, "8192"));
		}
	}
	free(body);
}

static void
test_too_many_parts(void **state)
{
	struct fx *fx = *state;
	static const char body[] =
	    "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	    "--x\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
	    "--x\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n--x--";

	assert_int_equal(parse(fx, "multipart/form-data; boundary=x", body, sizeof(body) - 1, 3), 0);
	assert_int_equal(fx->n, 3);
	assert_int_equal(parse(fx, "multipart/form-data; boundary=x", body, sizeof(body) - 1, 2), -1);
	assert_int_equal(fx->e.code, AC_E_INVALID);
	assert_int_equal(fx->n, 0);
	/* no parts at all is a well-formed body */
	assert_int_equal(parse(fx, "multipart/form-data; boundary=x", "--x--", 5, 0), 0);
	assert_int_equal(fx->n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_browser_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quoted_preamble_epilogue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_partial_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_media_type_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_parts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
