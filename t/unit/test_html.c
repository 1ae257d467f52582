/* test_html.c — the escape-by-default template renderer (lib/web/html.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "web/html.h"

static char dir[] = "/tmp/test_html.XXXXXX";

/* Writes <dir>/<name>.html. */
static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.html", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Renders name over the JSON text ctx with a fresh set; asserts success. */
static char *
render(const char *name, const char *ctx)
{
	struct ac_html *h = ac_html_new(dir);
	json_t *c = json_loads(ctx, 0, NULL);
	struct ac_err e;
	char *out;
	size_t len;

	assert_non_null(c);
	out = ac_html_render(h, name, c, &len, &e);
	if (out == NULL)
		fail_msg("render %s: %s", name, e.message);
	assert_int_equal(len, strlen(out));
	json_decref(c);
	ac_html_free(h);
	return out;
}

/* Renders and expects failure; returns the error. */
static void
render_fails(const char *name, const char *want)
{
	struct ac_html *h = ac_html_new(dir);
	json_t *c = json_object();
	struct ac_err e;
	size_t len;

	assert_null(ac_html_render(h, name, c, &len, &e));
	if (strstr(e.message, want) == NULL)
		fail_msg("error '%s' does not say '%s'", e.message, want);
	json_decref(c);
	ac_html_free(h);
}

static void
check(const char *name, const char *tmpl, const char *ctx, const char *want)
{
	char *out;

	put(name, tmpl);
	out = render(name, ctx);
	assert_string_equal(out, want);
	free(out);
}

static void
test_escapes_everything(void **state)
{
	check("esc", "<p title=\"{{t}}\">{{t}}</p>",
	    "{\"t\": \"<script>alert('x')</script> & \\\"q\\\"\"}",
	    "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\">"
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>");
	check("attr", "<a href=\"/x?q={{q}}\">", "{\"q\": \"\\\" onmouseover=\\\"x\"}",
	    "<a href=\"/x?q=&quot; onmouseover=&quot;x\">");
}

static void
test_raw_is_explicit(void **state)
{
	check("raw", "{{raw:m}}|{{m}}", "{\"m\": \"<b>\"}", "<b>|&lt;b&gt;");
}

static void
test_scalars(void **state)
{
	check("sc", "{{i}} {{r}} {{b}} [{{n}}] [{{missing}}] {{o.k}}",
	    "{\"i\": -42, \"r\": 1.5, \"b\": true, \"n\": null, \"o\": {\"k\": \"v\"}}",
	    "-42 1.5 true [] [] v");
}

static void
test_sections(void **state)
{
	check("loop", "<ul>{{#items}}<li>{{name}}@{{site}}</li>{{/items}}</ul>",
	    "{\"site\": \"s\", \"items\": [{\"name\": \"a\"}, {\"name\": \"<b>\"}]}",
	    "<ul><li>a@s</li><li>&lt;b&gt;@s</li></ul>");
	check("dot", "{{#xs}}[{{.}}]{{/xs}}", "{\"xs\": [\"1\", \"<\"]}", "[1][&lt;]");
	check("obj", "{{#u}}{{name}}{{/u}}", "{\"u\": {\"name\": \"bob\"}}", "bob");
	check("inv", "{{#xs}}x{{/xs}}{{^xs}}none{{/xs}}{{^f}}F{{/f}}{{#t}}T{{/t}}",
	    "{\"xs\": [], \"f\": false, \"t\": 1}", "noneFT");
	check("falsy", "{{#a}}a{{/a}}{{#b}}b{{/b}}{{#c}}c{{/c}}{{#d}}d{{/d}}",
	    "{\"a\": 0, \"b\": \"\", \"c\": null}", "");
	check("nest", "{{#a}}{{#b}}{{x}}{{/b}}{{/a}}", "{\"a\": [{\"b\": [{\"x\": 1}, {\"x\": 2}]}]}",
	    "12");
	/* spaces just inside the braces are the engine's (notification texts
	 * write {{ price }}) */
	check("spaced", "{{ #xs }}[{{ . }}]{{ /xs }}", "{\"xs\": [\"<\"]}", "[&lt;]");
}

static void
test_includes(void **state)
{
	put("part", "<nav>{{who}}</nav>");
	put("body_a", "A:{{who}}");
	check("inc", "{{>part}}|{{>*page}}", "{\"who\": \"<i>\", \"page\": \"body_a\"}",
	    "<nav>&lt;i&gt;</nav>|A:&lt;i&gt;");
	put("self", "x{{>self}}");
	render_fails("self", "nested deeper");
	put("dyn", "{{>*page}}");
	render_fails("dyn", "not a template name");
	put("dynbad", "{{>*page}}");
	{
		struct ac_html *h = ac_html_new(dir);
		json_t *c = json_pack("{s:s}", "page", "../etc/passwd");
		struct ac_err e;
		size_t len;

		assert_null(ac_html_render(h, "dynbad", c, &len, &e));
		assert_non_null(strstr(e.message, "bad template name"));
		json_decref(c);
		ac_html_free(h);
	}
}

static void
test_syntax_errors(void **state)
{
	put("e1", "a\n{{#x}}b");
	render_fails("e1", "never closed");
	put("e2", "a\nb {{/x}}");
	render_fails("e2", "e2.html:2: {{/x}} closes nothing open");
	put("e3", "{{x");
	render_fails("e3", "unclosed {{");
	put("e4", "{{x y}}");
	render_fails("e4", "bad tag");
	put("e5", "{{#a}}{{/b}}");
	render_fails("e5", "closes nothing");
	put("e6", "{{>../x}}");
	render_fails("e6", "bad include");
	render_fails("nope", "cannot open");
}

static void
test_escape_function(void **state)
{
	char *s = ac_html_escape("a<b>&'\"");

	assert_string_equal(s, "a&lt;b&gt;&amp;&#39;&quot;");
	free(s);
}

/* A set keeps parsed templates: a later change of the file is not seen. */
static void
test_cache(void **state)
{
	struct ac_html *h = ac_html_new(dir);
	json_t *c = json_object();
	struct ac_err e;
	char *a, *b;
	size_t len;

	put("cached", "one");
	assert_non_null(a = ac_html_render(h, "cached", c, &len, &e));
	put("cached", "two");
	assert_non_null(b = ac_html_render(h, "cached", c, &len, &e));
	assert_string_equal(a, "one");
	assert_string_equal(b, "one");
	free(a);
	free(b);
	json_decref(c);
	ac_html_free(h);
}

/* Removes the template folder and its files. */
static void
remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_everything),
		cmocka_unit_test(test_raw_is_explicit),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_escape_function),
		cmocka_unit_test(test_cache),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_dir();
	return rc;
}
