/* The CLI against libvirt's test:///default driver (in-process, fake): the
 * command table, both output sinks, exit codes. */
#include "config.h"

#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "tests/lib/sdtest.h"

static char *tmp, *catalog;

static void test_vm_list_json_names_test_domain(void **state)
{
	char *out, *err;
	json_t *j, *vm;

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "test:///default", "--catalog", catalog,
					 "vm", "list", "--json", NULL),
			 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 1);
	vm = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(vm, "name")), "test");
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	assert_string_equal(json_string_value(json_object_get(vm, "uuid")),
			    "6695eb01-f6a4-8304-79aa-97f2502e193f");
	/* the DESIGN.md keys, with their types */
	assert_true(json_is_integer(json_object_get(vm, "disks")));
	assert_true(json_is_integer(json_object_get(vm, "snapshots")));
	assert_true(json_is_boolean(json_object_get(vm, "in_preview")));
	assert_true(json_is_null(json_object_get(vm, "busy")));
	json_decref(j);
	free(out);
	free(err);
}

static void test_vm_list_text(void **state)
{
	char *out, *err;

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "test:///default", "--catalog", catalog,
					 "vm", "list", NULL),
			 0);
	assert_true(strncmp(out, "NAME", 4) == 0);
	assert_non_null(strstr(out, "\ntest "));
	assert_non_null(strstr(out, "running"));
	free(out);
	free(err);
}

static void test_vm_show(void **state)
{
	char *out, *err;
	json_t *j;

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "test:///default", "--catalog", catalog,
					 "vm", "show", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--json",
					 NULL),
			 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "test");
	assert_true(json_is_array(json_object_get(j, "disks")));
	json_decref(j);
	free(out);
	free(err);

	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "test:///default", "--catalog", catalog,
					 "vm", "show", "missing", NULL),
			 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "missing"));
	free(out);
	free(err);
}

static void test_read_only_creates_no_catalog(void **state)
{
	char *out, *err, *cat2;

	if (asprintf(&cat2, "%s/ro.db", tmp) < 0)
		abort();
	assert_int_equal(sdtest_snapdeck(&out, &err, "-c", "test:///default", "--read-only",
					 "--catalog", cat2, "vm", "list", "--json", NULL),
			 0);
	assert_non_null(strstr(out, "\"test\""));
	assert_null(fopen(cat2, "r"));
	free(out);
	free(err);
	free(cat2);
}

static void test_json_str_keeps_json_valid(void **state)
{
	json_t *s = cli_json_str("ok-\xff-ü");
	char *dump;

	assert_non_null(s);
	assert_string_equal(json_string_value(s), "ok-\xef\xbf\xbd-ü");
	dump = json_dumps(s, JSON_ENCODE_ANY);
	assert_non_null(dump);
	free(dump);
	json_decref(s);
	s = cli_json_str(NULL);
	assert_true(json_is_null(s));
}

static void test_table(void **state)
{
	const char *h[] = { "A", "B" };
	const char *r1[] = { "ü-long", "x" };
	const char *r2[] = { "evil\nline", NULL };
	struct cli_table *t = cli_table_new(2, h);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cli_table_add(t, r1);
	cli_table_add(t, r2);
	cli_table_print(t, f);
	fclose(f);
	assert_string_equal(buf, "A          B\nü-long     x\nevil?line\n");
	free(buf);
	cli_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_list_json_names_test_domain),
		cmocka_unit_test(test_vm_list_text),
		cmocka_unit_test(test_vm_show),
		cmocka_unit_test(test_read_only_creates_no_catalog),
		cmocka_unit_test(test_json_str_keeps_json_valid),
		cmocka_unit_test(test_table),
	};
	int rc;

	setlocale(LC_ALL, "C.UTF-8");
	tmp = sdtest_mkdtemp("cli");
	if (asprintf(&catalog, "%s/catalog.db", tmp) < 0)
		abort();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	sdtest_rm_rf(tmp);
	return rc;
}
