/* test_openapi.c — every route in ac-api's table (`ac-api --routes`) is
 * described in docs/openapi.yaml, with its method. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *spec;

/* 1 if the spec has path (relative to the /api/v1 server) with method. */
static int
described(const char *path, const char *method)
{
	char want[512], m[32];
	const char *p, *end;
	size_t i;

	snprintf(want, sizeof(want), "\n  %s:\n", path);
	if ((p = strstr(spec, want)) == NULL)
		return 0;
	p += strlen(want);
	/* the path's block ends at the next line indented by two spaces only */
	for (end = p; (end = strstr(end, "\n  ")) != NULL && end[3] == ' '; end++)
		;
	for (i = 0; method[i] && i < sizeof(m) - 1; i++)
		m[i] = (char)tolower((unsigned char)method[i]);
	m[i] = '\0';
	snprintf(want, sizeof(want), "    %s:\n", m);
	for (const char *q = p; (q = strstr(q, want)) != NULL && (end == NULL || q < end); q++)
		if (q == p || q[-1] == '\n')
			return 1;
	return 0;
}

static void
test_every_route_documented(void **state)
{
	const char *bin = getenv("AC_API_BIN") ? getenv("AC_API_BIN") : "cgi/ac-api";
	char cmd[1024], line[512], method[16], path[400], yaml[400];
	FILE *f;
	int n = 0, missing = 0;

	snprintf(cmd, sizeof(cmd), "%s --routes", bin);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *o = yaml;

		assert_int_equal(sscanf(line, "%15s %399s", method, path), 2);
		assert_memory_equal(path, "/api/v1/", 8);
		for (const char *p = path + 7; *p; p++) {
			if (*p == '#')
				o += sprintf(o, "{id}");
			else
				*o++ = *p;
		}
		*o = '\0';
		n++;
		if (!described(yaml, method)) {
			print_error("%s %s (as %s) is not in docs/openapi.yaml\n", method, path, yaml);
			missing++;
		}
	}
	assert_int_equal(pclose(f), 0);
	assert_true(n >= 14);
	assert_int_equal(missing, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_documented),
	};
	const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
	char path[1024];
	FILE *f;
	long size;

	snprintf(path, sizeof(path), "%s/docs/openapi.yaml", srcdir);
	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (spec = calloc(1, (size_t)size + 1)) == NULL ||
	    fread(spec, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "test_openapi: cannot read %s\n", path);
		return 1;
	}
	fclose(f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
