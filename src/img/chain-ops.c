/* Chain surgery on shut-off images: qemu-img map (what a layer holds),
 * commit, rebase and compare. Every argv is built from fixed words, checked
 * format names and paths after "--". */
#include "config.h"

#include <jansson.h>
#include <string.h>

#include "img/img-priv.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"

SD_DEFINE_AUTO(img_json, json_t, json_decref)

/* qemu-img compare's exit statuses (qemu-img(1)); 2 and above are errors. */
enum {
	COMPARE_IDENTICAL = 0,
	COMPARE_DIFFERENT = 1,
};

/* Sums the extents of `qemu-img map --output=json` at depth 0 that are
 * present (data or zeros the top file itself records). */
static int map_sum_top(const char *json, uint64_t *bytes, struct sd_err *err)
{
	SD_AUTO(img_json) *root = NULL;
	json_error_t jerr;
	uint64_t sum = 0;
	size_t i;
	json_t *ext;

	root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img map printed invalid JSON: %s (line %d)"), jerr.text,
			   jerr.line);
		return -1;
	}
	if (!json_is_array(root)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img map printed JSON that is not an array"));
		return -1;
	}
	json_array_foreach(root, i, ext)
	{
		json_t *length = json_object_get(ext, "length");
		json_t *depth = json_object_get(ext, "depth");
		json_t *present = json_object_get(ext, "present");
		json_int_t len;

		if (!json_is_integer(length) || json_integer_value(length) < 0 ||
		    !json_is_integer(depth) || !json_is_boolean(present)) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("qemu-img map: extent %zu lacks length, depth or present"), i);
			return -1;
		}
		if (json_integer_value(depth) != 0 || !json_is_true(present))
			continue;
		len = json_integer_value(length);
		if ((uint64_t)len > UINT64_MAX - sum) {
			sd_err_set(err, SD_ERR_INVALID, _("qemu-img map: extents too large"));
			return -1;
		}
		sum += (uint64_t)len;
	}
	*bytes = sum;
	return 0;
}

int img_allocated_top(const char *path, const char *format, uint64_t *bytes, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *out = NULL;

	if (img_check_target(path, format, err) < 0)
		return -1;
	arg = img_path_arg(path);
	/* -U: the layer may be open in a running VM; an estimate is enough */
	const char *argv[] = {"qemu-img", "map", "-U", "--output=json", "-f", format, "--", arg, NULL};
	if (img_run(argv, &out, err) < 0)
		return -1;
	return map_sum_top(out, bytes, err);
}

int img_commit(const char *top, const char *format, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;

	if (img_check_target(top, format, err) < 0)
		return -1;
	arg = img_path_arg(top);
	/* Never -b: committing into a deeper layer rewrites a layer that
	 * others may sit on. -d keeps TOP's data, so TOP still reads the
	 * same whatever becomes of it. */
	const char *argv[] = {"qemu-img", "commit", "-q", "-d", "-f", format, "--", arg, NULL};
	return img_run(argv, NULL, err);
}

int img_rebase(const char *top, const char *format, const char *backing, const char *backing_format,
	       bool safe, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *barg = NULL;
	const char *argv[16];
	size_t n = 0;

	if (img_check_target(top, format, err) < 0)
		return -1;
	if (backing && !*backing) {
		sd_err_set(err, SD_ERR_INVALID, _("empty backing file name for %s"), top);
		return -1;
	}
	if (backing && !img_format_ok(backing_format)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid format '%s' of backing file %s"),
			   backing_format ? backing_format : "", backing);
		return -1;
	}
	arg = img_path_arg(top);
	argv[n++] = "qemu-img";
	argv[n++] = "rebase";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = format;
	if (!safe)
		argv[n++] = "-u";
	if (backing) {
		barg = img_path_arg(backing);
		argv[n++] = "-F";
		argv[n++] = backing_format;
		argv[n++] = "-b";
		argv[n++] = barg;
	} else {
		/* no backing file: TOP becomes standalone (and -F has nothing
		 * to describe) */
		argv[n++] = "-b";
		argv[n++] = "";
	}
	argv[n++] = "--";
	argv[n++] = arg;
	argv[n] = NULL;
	return img_run(argv, NULL, err);
}

int img_compare(const char *a, const char *format_a, const char *b, const char *format_b,
		struct sd_err *err)
{
	SD_AUTOFREE char *aarg = NULL;
	SD_AUTOFREE char *barg = NULL;
	SD_AUTOFREE char *out = NULL;
	SD_AUTOFREE char *errout = NULL;
	int status;

	if (img_check_target(a, format_a, err) < 0 || img_check_target(b, format_b, err) < 0)
		return -1;
	aarg = img_path_arg(a);
	barg = img_path_arg(b);
	/* Without -s: what a guest sees (a size difference counts only where
	 * the larger image holds something other than zeros). */
	const char *argv[] = {"qemu-img", "compare", "-q", "-f", format_a, "-F",
			      format_b,	  "--",	     aarg, barg, NULL};
	if (img_spawn(argv, &out, &errout, &status, err) < 0)
		return -1;
	if (status == COMPARE_IDENTICAL)
		return 1;
	if (status == COMPARE_DIFFERENT)
		return 0;
	img_fail(err, "qemu-img", errout, out, status);
	return -1;
}
