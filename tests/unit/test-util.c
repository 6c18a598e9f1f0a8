#include "config.h"

#include <locale.h>

#include <string.h>
#include <time.h>

#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"
#include "util/uuid.h"

static void test_err_first_wins_and_one_line(void **state)
{
	struct sd_err err = SD_ERR_INIT;

	assert_false(sd_err_is_set(&err));
	sd_err_set(&err, SD_ERR_NOT_FOUND, "no VM named '%s'", "evil\nname\r");
	sd_err_set(&err, SD_ERR_INTERNAL, "second");
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	assert_string_equal(err.msg, "no VM named 'evil name '");
	assert_null(strchr(err.msg, '\n'));
	assert_string_equal(sd_err_code_name(err.code), "not_found");
	assert_int_equal(sd_err_exit_status(&err), 1);
	sd_err_clear(&err);
	sd_err_set(&err, SD_ERR_USAGE, "x");
	assert_int_equal(sd_err_exit_status(&err), 2);
	sd_err_set(NULL, SD_ERR_USAGE, "ignored"); /* must not crash */
}

static void test_buf(void **state)
{
	struct sd_buf b = SD_BUF_INIT;
	SD_AUTOFREE char *s = NULL;

	sd_buf_add(&b, "abc");
	sd_buf_addc(&b, '-');
	for (int i = 0; i < 1000; i++)
		sd_buf_addf(&b, "%d,", i);
	assert_true(b.len > 3000);
	assert_memory_equal(b.data, "abc-0,1,2,", 10);
	s = sd_buf_steal(&b);
	assert_null(b.data);
	assert_int_equal(strlen(s), 4 + 10 + 90 * 2 + 900 * 3 + 1000);
}

static void test_uuid(void **state)
{
	char a[SD_UUID_STRLEN], b[SD_UUID_STRLEN];

	sd_uuid_generate(a);
	sd_uuid_generate(b);
	assert_true(sd_uuid_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_false(sd_uuid_valid("not-a-uuid"));
	assert_false(sd_uuid_valid("0123456789abcdef0123456789abcdef0123"));
	assert_true(sd_uuid_valid("6695EB01-F6A4-8304-79AA-97F2502E193F"));
	assert_false(sd_uuid_valid(NULL));
}

static void test_strv(void **state)
{
	char **v = sd_strv_split("vda,,vdb,", ',');

	assert_int_equal(sd_strv_len(v), 2);
	assert_string_equal(v[0], "vda");
	assert_string_equal(v[1], "vdb");
	assert_true(sd_strv_contains(v, "vdb"));
	assert_false(sd_strv_contains(v, "vdc"));
	sd_strv_free(v);
	v = sd_strv_split("", ',');
	assert_int_equal(sd_strv_len(v), 0);
	sd_strv_free(v);
}

static void test_printable_utf8(void **state)
{
	assert_true(sd_str_printable_utf8("demo-web"));
	assert_true(sd_str_printable_utf8("Grüße 日本"));
	assert_false(sd_str_printable_utf8("a\nb"));
	assert_false(sd_str_printable_utf8("\xff\xfe"));
	assert_false(sd_str_printable_utf8("\xc0\xaf")); /* overlong '/' */
	assert_false(sd_str_printable_utf8("\xed\xa0\x80")); /* surrogate */
}

static void test_sizes(void **state)
{
	uint64_t v;
	char out[32];

	assert_true(sd_str_parse_size("2G", &v));
	assert_int_equal(v, 2ULL << 30);
	assert_true(sd_str_parse_size("512MiB", &v));
	assert_int_equal(v, 512ULL << 20);
	assert_true(sd_str_parse_size("4096", &v));
	assert_int_equal(v, 4096);
	assert_false(sd_str_parse_size("-1", &v));
	assert_false(sd_str_parse_size("12X", &v));
	assert_false(sd_str_parse_size("99999999999T", &v));
	sd_str_bytes(1536, out, sizeof(out));
	assert_string_equal(out, "1.5 KiB");
	sd_str_bytes(3ULL << 30, out, sizeof(out));
	assert_string_equal(out, "3.0 GiB");
	sd_str_bytes(12, out, sizeof(out));
	assert_string_equal(out, "12 B");
}

static void test_time(void **state)
{
	time_t t;
	char iso[SD_ISO_LEN];

	assert_true(sd_time_parse_iso("2026-11-22T10:00:00Z", &t));
	assert_int_equal(t, 1795341600);
	sd_time_iso(t, iso);
	assert_string_equal(iso, "2026-11-22T10:00:00Z");
	assert_false(sd_time_parse_iso("2026-11-22 10:00:00", &t));
	assert_false(sd_time_parse_iso("2026-13-22T10:00:00Z", &t));
	assert_false(sd_time_parse_iso("2026-11-22T10:00:00Zjunk", &t));
	setenv("SNAPDECK_NOW", "2030-01-01T00:00:00Z", 1);
	sd_time_iso(sd_now(), iso);
	assert_string_equal(iso, "2030-01-01T00:00:00Z");
	unsetenv("SNAPDECK_NOW");
	assert_true(sd_now() > 1795341600 - 400 * 86400);
}

static void free_count(int *p)
{
	(*p)++;
}
SD_DEFINE_AUTO(counter, int, free_count)

static void test_auto(void **state)
{
	int freed = 0;
	int *kept;

	{
		SD_AUTO(counter) *c = &freed;
		(void)c;
	}
	assert_int_equal(freed, 1);
	{
		SD_AUTO(counter) *c = &freed;
		kept = SD_STEAL(c);
	}
	assert_int_equal(freed, 1);
	assert_ptr_equal(kept, &freed);
}

static void test_str_width(void **state)
{
	(void)state;
	setlocale(LC_CTYPE, "C.UTF-8");
	assert_int_equal(sd_str_width("demo-web"), 8);
	assert_int_equal(sd_str_width("ü●"), 2);      /* two characters, one cell each */
	assert_int_equal(sd_str_width("日本"), 4);     /* wide: two cells each */
	assert_int_equal(sd_str_width("a\tb"), 3);    /* a control shows as '?' */
	assert_int_equal(sd_str_width("a\xff\xfe" "b"), 4); /* invalid bytes: one cell each */
	assert_int_equal(sd_str_width(""), 0);
	assert_int_equal(sd_str_width(NULL), 0);
	setlocale(LC_CTYPE, "C");
	assert_int_equal(sd_str_width("ü"), 2); /* not UTF-8: each byte a '?' */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_first_wins_and_one_line),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_printable_utf8),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_str_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
