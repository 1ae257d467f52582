/* test_openapi.c — every route in ac-api's table (`ac-api --routes`) is
 * described in docs/openapi.yaml, with its method, and every operation the
 * spec describes is a route of ac-api (none answers 404). */
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

#define ROUTES_MAX	128

/* ac-api's routes as "METHOD /path" with the spec's spelling: lower-case
 * method, the /api/v1 server left out, {id} for a number. */
static char	 routes[ROUTES_MAX][400];
static int	 nroutes;

static int
routes_load(void **state)
{
	const char *bin = getenv("AC_API_BIN") ? getenv("AC_API_BIN") : "cgi/ac-api";
	char cmd[1024], line[512], method[16], path[400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s --routes", bin);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *o = routes[nroutes];

		assert_true(nroutes < ROUTES_MAX);
		assert_int_equal(sscanf(line, "%15s %399s", method, path), 2);
		assert_memory_equal(path, "/api/v1/", 8);
		for (const char *m = method; *m; m++)
			*o++ = (char)tolower((unsigned char)*m);
		*o++ = ' ';
		for (const char *p = path + 7; *p && o < routes[nroutes] + 390; p++) {
			if (*p == '#')
				o += sprintf(o, "{id}");
			else
				*o++ = *p;
		}
		*o = '\0';
		nroutes++;
	}
	assert_int_equal(pclose(f), 0);
	assert_true(nroutes >= 14);
	return 0;
}

static void
test_every_route_documented(void **state)
{
	char method[16], path[400];
	int missing = 0;

	for (int i = 0; i < nroutes; i++) {
		assert_int_equal(sscanf(routes[i], "%15s %399s", method, path), 2);
		if (!described(path, method)) {
			print_error("%s /api/v1%s is not in docs/openapi.yaml\n", method, path);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

/* Each "    method:" under each "  /path:" of the spec's paths is a route. */
static void
test_every_operation_routed(void **state)
{
	static const char *const methods[] = { "get", "put", "post", "delete", "patch",
	    "head", "options", "trace" };
	const char *p, *eol;
	char path[400] = "", line[512], op[512];
	int n = 0, unrouted = 0, found;

	assert_non_null(p = strstr(spec, "\npaths:\n"));
	for (p += strlen("\npaths:\n"); *p == ' ' || *p == '\n'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		if (sscanf(line, "  /%398[^:]:", path + 1) == 1 && line[2] == '/') {
			path[0] = '/';
			continue;
		}
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			snprintf(op, sizeof(op), "    %s:", methods[m]);
			if (strcmp(line, op) != 0)
				continue;
			snprintf(op, sizeof(op), "%s %s", methods[m], path);
			n++;
			found = 0;
			for (int i = 0; i < nroutes && !found; i++)
				found = strcmp(routes[i], op) == 0;
			if (!found) {
				print_error("%s /api/v1%s is in docs/openapi.yaml but not a route of"
				    " ac-api\n", methods[m], path);
				unrouted++;
			}
		}
		if (*eol == '\0')
			break;
	}
	assert_int_equal(n, nroutes);
	assert_int_equal(unrouted, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_route_documented),
		cmocka_unit_test(test_every_operation_routed),
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
	return cmocka_run_group_tests(tests, routes_load, NULL);
}
