/* Bad input: one clear line on stderr (or a JSON error with --json), exit 1
 * (2 for bad usage), nothing changed. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"

static char *tmp, *catalog;

/* Exactly one line, starting with "snapdeck: ", and containing want. */
static void assert_one_line(const char *err, const char *want)
{
	size_t len = strlen(err);

	if (len == 0 || err[len - 1] != '\n' || strchr(err, '\n') != err + len - 1)
		fail_msg("not one line: [%s]", err);
	assert_true(strncmp(err, "snapdeck: ", 10) == 0);
	if (!strstr(err, want))
		fail_msg("[%s] does not say [%s]", err, want);
}

static void test_unknown_vm(void **state)
{
	char *out, *err;

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", catalog,
					 "vm", "show", "no-such-vm-$(touch /tmp/sd-pwned)", NULL),
			 1);
	assert_one_line(err, "no-such-vm");
	assert_string_equal(out, "");
	assert_int_not_equal(access("/tmp/sd-pwned", F_OK), 0);
	free(out);
	free(err);

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", catalog,
					 "vm", "show", "nope\nforged line", "--json", NULL),
			 1);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "not_found");
	assert_null(strchr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			   '\n'));
	json_decref(j);
	free(out);
	free(err);
}

static void test_bad_uri(void **state)
{
	char *out, *err, *cat2;

	if (asprintf(&cat2, "%s/never.db", tmp) < 0)
		abort();
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "bogus:///nothing", "--catalog", cat2,
					 "vm", "list", NULL),
			 1);
	assert_one_line(err, "bogus:///nothing");
	assert_int_not_equal(access(cat2, F_OK), 0); /* nothing made */
	free(out);
	free(err);

	/* a daemon that is not there */
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c",
					 "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
					 "--catalog", cat2, "vm", "list", NULL),
			 1);
	assert_one_line(err, "qemu+unix:///system");
	assert_int_not_equal(access(cat2, F_OK), 0);
	free(out);
	free(err);

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "bogus:///nothing", "--catalog", cat2,
					 "vm", "list", "--json", NULL),
			 1);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "libvirt");
	json_decref(j);
	free(out);
	free(err);
	free(cat2);
}

static void test_unwritable_catalog_folder(void **state)
{
	char *out, *err, *file, *cat2;

	/* under a regular file, no folder can be made, not even by root */
	if (asprintf(&file, "%s/a-file", tmp) < 0 || asprintf(&cat2, "%s/sub/c.db", file) < 0)
		abort();
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", cat2,
					 "vm", "list", NULL),
			 1);
	assert_one_line(err, file);
	free(out);
	free(err);
	free(file);
	free(cat2);
}

static void test_catalog_not_sqlite(void **state)
{
	char *out, *err, *junk, *before, *after;
	static const char text[] = "this is not a database, it is a shopping list\n";

	if (asprintf(&junk, "%s/junk.db", tmp) < 0)
		abort();
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs(text, f);
	fclose(f);
	before = sdtest_read_file(junk);
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", junk,
					 "vm", "list", NULL),
			 1);
	assert_one_line(err, junk);
	after = sdtest_read_file(junk);
	assert_string_equal(before, after);
	free(out);
	free(err);
	free(before);
	free(after);
	free(junk);
}

static void test_usage(void **state)
{
	char *out, *err;

	assert_int_equal(sdtest_snapdeck(&out, &err, "vm", "frobnicate", NULL), 2);
	free(out);
	free(err);
	assert_int_equal(sdtest_snapdeck(&out, &err, "vm", "show", NULL), 2);
	assert_one_line(err, "vm show");
	free(out);
	free(err);
	assert_int_equal(sdtest_snapdeck(&out, &err, "vm", "list", "--bogus", NULL), 2);
	assert_one_line(err, "--bogus");
	free(out);
	free(err);
	assert_int_equal(sdtest_snapdeck(&out, &err, "--help", NULL), 0);
	assert_non_null(strstr(out, "vm list"));
	assert_non_null(strstr(out, "demo setup"));
	free(out);
	free(err);
	assert_int_equal(sdtest_snapdeck(&out, &err, "--version", NULL), 0);
	assert_non_null(strstr(out, PACKAGE_VERSION));
	free(out);
	free(err);
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "qemu:///system", "--catalog", catalog,
					 "demo", "setup", "--prefix", "../etc", NULL),
			 1);
	assert_one_line(err, "prefix");
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_vm),
		cmocka_unit_test(test_bad_uri),
		cmocka_unit_test(test_unwritable_catalog_folder),
		cmocka_unit_test(test_catalog_not_sqlite),
		cmocka_unit_test(test_usage),
	};
	int rc;

	sdtest_require_libvirtd();
	tmp = sdtest_mkdtemp("bad");
	if (asprintf(&catalog, "%s/catalog.db", tmp) < 0)
		abort();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	sdtest_rm_rf(tmp);
	return rc;
}
