/* Reading a qcow2 header directly: cheap facts that need no qemu-img. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "img/img.h"
#include "util/i18n.h"
#include "util/mem.h"

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int img_qcow2_has_data(const char *path, bool *has_data, struct sd_err *err)
{
	unsigned char hdr[48];
	unsigned char *l1 = NULL;
	uint32_t l1_size;
	uint64_t l1_offset;
	size_t len;
	ssize_t r;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot open %s: %s"), path, strerror(errno));
		return -1;
	}
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, "QFI\xfb", 4) != 0) {
		sd_err_set(err, SD_ERR_INVALID, _("%s is not a qcow2 image"), path);
		goto out;
	}
	l1_size = be32(hdr + 36);
	l1_offset = be64(hdr + 40);
	if (l1_size > (1u << 25)) {
		sd_err_set(err, SD_ERR_INVALID, _("%s has an implausible L1 table"), path);
		goto out;
	}
	*has_data = false;
	if (l1_size == 0 || l1_offset == 0) {
		ret = 0;
		goto out;
	}
	len = (size_t)l1_size * 8;
	l1 = sd_malloc(len);
	r = pread(fd, l1, len, (off_t)l1_offset);
	if (r != (ssize_t)len) {
		sd_err_set(err, SD_ERR_IO, _("cannot read the L1 table of %s"), path);
		goto out;
	}
	/* An L2 table exists for any cluster the image itself allocated or
	 * marked zero: no L2 table, no data of its own. */
	for (size_t i = 0; i < l1_size && !*has_data; i++)
		if (be64(l1 + i * 8) & 0x00fffffffffffe00ULL)
			*has_data = true;
	ret = 0;
out:
	free(l1);
	close(fd);
	return ret;
}
