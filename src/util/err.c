#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

void sd_err_set(struct sd_err *err, enum sd_err_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != SD_OK)
		return;
	err->code = code == SD_OK ? SD_ERR_INTERNAL : code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* One line, whatever a hostile name or a tool's output put in it. */
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	size_t n = strlen(err->msg);
	while (n > 0 && err->msg[n - 1] == ' ')
		err->msg[--n] = '\0';
}

void sd_err_clear(struct sd_err *err)
{
	if (!err)
		return;
	err->code = SD_OK;
	err->msg[0] = '\0';
}

const char *sd_err_code_name(enum sd_err_code code)
{
	switch (code) {
	case SD_OK: return "ok";
	case SD_ERR_USAGE: return "usage";
	case SD_ERR_NOT_FOUND: return "not_found";
	case SD_ERR_INVALID: return "invalid";
	case SD_ERR_STATE: return "state";
	case SD_ERR_BUSY: return "busy";
	case SD_ERR_EXISTS: return "exists";
	case SD_ERR_HV: return "libvirt";
	case SD_ERR_CATALOG: return "catalog";
	case SD_ERR_IMG: return "image";
	case SD_ERR_IO: return "io";
	case SD_ERR_NOSPACE: return "no_space";
	case SD_ERR_INTERNAL: return "internal";
	}
	return "internal";
}

int sd_err_exit_status(const struct sd_err *err)
{
	if (!err || err->code == SD_OK)
		return 0;
	return err->code == SD_ERR_USAGE ? 2 : 1;
}
