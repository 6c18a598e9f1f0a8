/* qemu-img measure and convert: flattened copies of a backing chain. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "img/img-priv.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"

int img_measure(const char *src, const char *src_format, const char *out_format, uint64_t *required,
		struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *out = NULL;
	const char *argv[] = {"qemu-img", "measure",	   "-f", src_format, "-O",
			      out_format, "--output=json", NULL, NULL};
	json_t *j, *r;

	if (img_check_target(src, src_format, err) < 0 ||
	    img_check_target(src, out_format, err) < 0)
		return -1;
	arg = img_path_arg(src);
	argv[7] = arg;
	if (img_run(argv, &out, err) < 0)
		return -1;
	j = json_loads(out, 0, NULL);
	r = json_object_get(j, "required");
	if (!json_is_integer(r) || json_integer_value(r) < 0) {
		sd_err_set(err, SD_ERR_IMG, _("qemu-img measure gave no size for %s"), src);
		json_decref(j);
		return -1;
	}
	*required = (uint64_t)json_integer_value(r);
	json_decref(j);
	return 0;
}

int img_fsync_path(const char *path, struct sd_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot open %s: %s"), path, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		sd_err_set(err, e == ENOSPC ? SD_ERR_NOSPACE : SD_ERR_IO, _("cannot sync %s: %s"),
			   path, strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

int img_convert(const char *src, const char *src_format, const char *dst, const char *dst_format,
		uint64_t rate_limit, void (*on_progress)(double fraction, void *opaque),
		void *opaque, volatile int *cancel, struct sd_err *err)
{
	SD_AUTOFREE char *sarg = NULL;
	SD_AUTOFREE char *darg = NULL;
	SD_AUTOFREE char *errtext = NULL;
	char rate[32];
	const char *argv[20];
	size_t n = 0;
	int status = 0;

	if (img_check_target(src, src_format, err) < 0 ||
	    img_check_target(dst, dst_format, err) < 0)
		return -1;
	sarg = img_path_arg(src);
	darg = img_path_arg(dst);
	argv[n++] = "qemu-img";
	argv[n++] = "convert";
	argv[n++] = "-p";
	argv[n++] = "-f";
	argv[n++] = src_format;
	argv[n++] = "-O";
	argv[n++] = dst_format;
	if (strcmp(dst_format, "qcow2") == 0) {
		argv[n++] = "-o";
		argv[n++] = "compat=1.1";
	}
	if (rate_limit > 0) {
		snprintf(rate, sizeof(rate), "%" PRIu64, rate_limit);
		argv[n++] = "-r";
		argv[n++] = rate;
	}
	argv[n++] = sarg;
	argv[n++] = darg;
	argv[n] = NULL;
	if (img_spawn_progress(argv, on_progress, opaque, cancel, &errtext, &status, err) < 0)
		return -1;
	if (status != 0) {
		img_fail(err, "qemu-img", errtext, NULL, status);
		return -1;
	}
	return img_fsync_path(dst, err);
}
