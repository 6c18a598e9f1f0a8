/* snapdeck.conf (src/util/conf.c): keys, comments, defaults, and errors
 * that name the file and the line; the example in data/ parses. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/sdtest.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/mem.h"

static void test_defaults(void **state)
{
	struct sd_conf c;
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	assert_int_equal(sd_conf_parse("", "x.conf", &c, &err), 0);
	assert_null(c.catalog);
	assert_null(c.uri);
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.snapshot_limit, 0);
	assert_int_equal(c.free_space_margin, SD_CONF_DEFAULT_MARGIN);
	assert_string_equal(c.path, "x.conf");
	sd_conf_clear(&c);
	/* a missing file: the defaults, no path */
	assert_int_equal(sd_conf_load("/nonexistent/snapdeck.conf", &c, &err), 0);
	assert_null(c.path);
	assert_int_equal(c.free_space_margin, SD_CONF_DEFAULT_MARGIN);
	sd_conf_clear(&c);
}

static void test_keys(void **state)
{
	static const char text[] = "# snapdeck.conf\n"
				   "\n"
				   "   # indented comment\n"
				   "catalog = /srv/snapdeck/catalog.db\n"
				   "uri=qemu:///system\n"
				   "\tworkers =  4  \r\n"
				   "snapshot_limit = 20\n"
				   "free_space_margin = 1G\n";
	struct sd_conf c;
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	if (sd_conf_parse(text, "t.conf", &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c.catalog, "/srv/snapdeck/catalog.db");
	assert_string_equal(c.uri, "qemu:///system");
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.snapshot_limit, 20);
	assert_int_equal(c.free_space_margin, 1ULL << 30);
	sd_conf_clear(&c);
	/* '#' inside a value is the value's (a path may hold one) */
	assert_int_equal(
	    sd_conf_parse("catalog = /a#b/c.db\nfree_space_margin = 0\n", "t", &c, &err), 0);
	assert_string_equal(c.catalog, "/a#b/c.db");
	assert_int_equal(c.free_space_margin, 0);
	sd_conf_clear(&c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"catalog = /a\nworkrs = 2\n", "t.conf:2: unknown key 'workrs'"},
	    {"workers = 2\nworkers = 3\n", "t.conf:2: 'workers' is given twice"},
	    {"just words\n", "t.conf:1: expected 'key = value'"},
	    {"uri =\n", "t.conf:1: 'uri' needs a value"},
	    {"\n\nworkers = 0\n", "t.conf:3: workers must be 1 to 64"},
	    {"workers = 65\n", "t.conf:1: workers"},
	    {"workers = 2x\n", "t.conf:1: workers"},
	    {"snapshot_limit = -1\n", "t.conf:1: snapshot_limit"},
	    {"free_space_margin = lots\n", "t.conf:1: free_space_margin"},
	    {"free_space_margin = -5M\n", "t.conf:1: free_space_margin"},
	    {"catalog = relative/cat.db\n", "t.conf:1: catalog must be an absolute path"},
	    {"uri = a\x01z\n", "t.conf:1: 'uri' needs a value"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sd_conf c;
		struct sd_err err = SD_ERR_INIT;
		if (sd_conf_parse(bad[i].text, "t.conf", &c, &err) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_int_equal(err.code, SD_ERR_INVALID);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("error '%s' lacks '%s'", err.msg, bad[i].want);
		/* nothing half-filled is left */
		assert_null(c.catalog);
		assert_null(c.uri);
	}
}

static void test_file(void **state)
{
	char *dir = sdtest_mkdtemp("conf");
	char *path = sd_asprintf("%s/snapdeck.conf", dir);
	const char *example = SD_TOP_SRCDIR "/data/snapdeck.conf";
	struct sd_conf c;
	struct sd_err err = SD_ERR_INIT;
	FILE *fp;

	(void)state;
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("snapshot_limit = 7\n", fp);
	fclose(fp);
	assert_int_equal(sd_conf_load(path, &c, &err), 0);
	assert_string_equal(c.path, path);
	assert_int_equal(c.snapshot_limit, 7);
	sd_conf_clear(&c);

	setenv("SNAPDECK_CONF", path, 1);
	assert_string_equal(sd_conf_path(), path);
	setenv("SNAPDECK_CONF", "", 1);
	assert_string_equal(sd_conf_path(), SD_CONF_DEFAULT_PATH);
	unsetenv("SNAPDECK_CONF");
	assert_string_equal(sd_conf_path(), SD_CONF_DEFAULT_PATH);

	/* not text */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite("a\0b", 1, 3, fp);
	fclose(fp);
	assert_int_equal(sd_conf_load(path, &c, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);

	/* the example in data/ parses, and says what the defaults are */
	sd_err_clear(&err);
	if (sd_conf_load(example, &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(c.path);
	assert_null(c.catalog);
	assert_int_equal(c.free_space_margin, SD_CONF_DEFAULT_MARGIN);
	sd_conf_clear(&c);

	sdtest_rm_rf(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
