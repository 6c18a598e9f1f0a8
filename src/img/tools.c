/* qemu-img create / check and qemu-io pattern writes and reads. Every argv is
 * built from fixed words, checked names and numbers. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "img/img-priv.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"

/* qemu-img check's exit statuses (qemu-img(1)). */
enum {
	CHECK_INTERNAL = 1,
	CHECK_CORRUPT = 2,
	CHECK_LEAKS = 3,
	CHECK_UNSUPPORTED = 63,
};

char *img_path_arg(const char *path)
{
	if (!path)
		return NULL;
	/* qemu reads "proto:rest" as a protocol when the ':' comes before any
	 * '/' (block.c path_has_protocol); an absolute path never does. */
	if (path[0] != '/' && (path[0] == '-' || path[strcspn(path, ":/")] == ':'))
		return sd_asprintf("./%s", path);
	return sd_strdup(path);
}

/* A format name goes on the command line as an option's value: letters and
 * digits only ("qcow2", "raw"). */
bool img_format_ok(const char *format)
{
	if (!format || !*format)
		return false;
	for (const char *p = format; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

int img_check_target(const char *path, const char *format, struct sd_err *err)
{
	if (!path || !*path) {
		sd_err_set(err, SD_ERR_INVALID, _("no image path given"));
		return -1;
	}
	if (!img_format_ok(format)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid image format '%s' for %s"),
			   format ? format : "", path);
		return -1;
	}
	return 0;
}

int img_create(const char *path, const char *format, uint64_t size, const char *backing,
	       const char *backing_format, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *barg = NULL;
	char sizebuf[32];
	const char *argv[16];
	size_t n = 0;

	if (img_check_target(path, format, err) < 0)
		return -1;
	if (backing && !*backing) {
		sd_err_set(err, SD_ERR_INVALID, _("empty backing file name for %s"), path);
		return -1;
	}
	if (backing && !img_format_ok(backing_format)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid format '%s' of backing file %s"),
			   backing_format ? backing_format : "", backing);
		return -1;
	}
	arg = img_path_arg(path);
	argv[n++] = "qemu-img";
	argv[n++] = "create";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = format;
	if (strcmp(format, "qcow2") == 0) {
		/* qemu-img's default today, but never leave it to a default:
		 * libvirt's is 0.10. */
		argv[n++] = "-o";
		argv[n++] = "compat=1.1";
	}
	if (backing) {
		barg = img_path_arg(backing);
		argv[n++] = "-b";
		argv[n++] = barg;
		argv[n++] = "-F";
		argv[n++] = backing_format;
	}
	argv[n++] = "--";
	argv[n++] = arg;
	if (size > 0 || !backing) {
		snprintf(sizebuf, sizeof(sizebuf), "%" PRIu64, size);
		argv[n++] = sizebuf;
	}
	argv[n] = NULL;
	return img_run(argv, NULL, err);
}

int img_check(const char *path, const char *format, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *out = NULL;
	SD_AUTOFREE char *errout = NULL;
	SD_AUTOFREE char *line = NULL;
	int status;

	if (img_check_target(path, format, err) < 0)
		return -1;
	arg = img_path_arg(path);
	const char *argv[] = {"qemu-img", "check", "-q", "-f", format, "--", arg, NULL};
	if (img_spawn(argv, &out, &errout, &status, err) < 0)
		return -1;
	/* A format without metadata (raw) has nothing that could be
	 * inconsistent. */
	if (status == 0 || status == CHECK_UNSUPPORTED)
		return 0;
	line = img_first_line(errout, "qemu-img");
	if (!line)
		line = img_first_line(out, "qemu-img");
	if (status == CHECK_CORRUPT && line)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check: %s is corrupted (%s)"), path, line);
	else if (status == CHECK_CORRUPT)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check: %s is corrupted"), path);
	else if (status == CHECK_LEAKS && line)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check: %s has leaked clusters (%s)"), path,
			   line);
	else if (status == CHECK_LEAKS)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check: %s has leaked clusters"), path);
	else if (line)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check of %s: %s"), path, line);
	else if (status == CHECK_INTERNAL)
		sd_err_set(err, SD_ERR_IMG, _("qemu-img check of %s could not be completed"), path);
	else
		img_fail(err, "qemu-img", errout, out, status);
	return -1;
}

/* The qemu-io command, built from numbers only. */
static int io_command(char *cmd, size_t size, const char *verb, int pattern, uint64_t offset,
		      uint64_t len, struct sd_err *err)
{
	if (pattern > 0xff) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid byte pattern %d"), pattern);
		return -1;
	}
	if (pattern < 0 && strcmp(verb, "write") == 0)
		snprintf(cmd, size, "write -z %" PRIu64 " %" PRIu64, offset, len);
	else
		snprintf(cmd, size, "%s -P 0x%02x %" PRIu64 " %" PRIu64, verb,
			 pattern < 0 ? 0 : pattern, offset, len);
	return 0;
}

int img_write_pattern(const char *path, const char *format, int pattern, uint64_t offset,
		      uint64_t len, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	char cmd[96];

	if (img_check_target(path, format, err) < 0 ||
	    io_command(cmd, sizeof(cmd), "write", pattern, offset, len, err) < 0)
		return -1;
	arg = img_path_arg(path);
	const char *argv[] = {"qemu-io", "-f", format, "-c", cmd, "--", arg, NULL};
	return img_run(argv, NULL, err);
}

int img_read_pattern(const char *path, const char *format, int pattern, uint64_t offset,
		     uint64_t len, struct sd_err *err)
{
	SD_AUTOFREE char *arg = NULL;
	SD_AUTOFREE char *out = NULL;
	SD_AUTOFREE char *errout = NULL;
	char cmd[96];
	int status;

	if (img_check_target(path, format, err) < 0 ||
	    io_command(cmd, sizeof(cmd), "read", pattern, offset, len, err) < 0)
		return -1;
	arg = img_path_arg(path);
	const char *argv[] = {"qemu-io", "-r", "-f", format, "-c", cmd, "--", arg, NULL};
	if (img_spawn(argv, &out, &errout, &status, err) < 0)
		return -1;
	if (status == 0)
		return 1;
	/* qemu-io exits 1 both on a mismatch and when it cannot open or read
	 * the image; only its message tells them apart. */
	if (status == 1 && strstr(out, "Pattern verification failed"))
		return 0;
	img_fail(err, "qemu-io", errout, out, status);
	return -1;
}
