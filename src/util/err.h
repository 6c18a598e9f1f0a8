/* Errors are reported once, where they happen; callers return -1 or NULL. */
#ifndef SD_UTIL_ERR_H
#define SD_UTIL_ERR_H

#include <stdbool.h>

enum sd_err_code {
	SD_OK = 0,
	SD_ERR_USAGE,     /* bad command line */
	SD_ERR_NOT_FOUND, /* no such VM, snapshot, pool, volume */
	SD_ERR_INVALID,   /* bad value (name, size, XML, JSON) */
	SD_ERR_STATE,     /* the object is in the wrong state (running, in preview) */
	SD_ERR_BUSY,      /* another operation holds the VM */
	SD_ERR_EXISTS,    /* the name is taken */
	SD_ERR_HV,        /* libvirt failed or is unreachable */
	SD_ERR_CATALOG,   /* SQLite failed */
	SD_ERR_IMG,       /* qemu-img / qemu-io failed */
	SD_ERR_IO,        /* a file or folder could not be used */
	SD_ERR_NOSPACE,   /* disk full */
	SD_ERR_INTERNAL,
};

struct sd_err {
	enum sd_err_code code;
	char msg[1024];
};

#define SD_ERR_INIT { SD_OK, "" }

/* Fills err unless it is NULL or already holds an error (the first one wins).
 * Newlines and control characters in the message are replaced so that the
 * message always stays one line. */
void sd_err_set(struct sd_err *err, enum sd_err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sd_err_clear(struct sd_err *err);
static inline bool sd_err_is_set(const struct sd_err *err)
{
	return err && err->code != SD_OK;
}
/* Stable machine name of a code, for JSON: "not_found", "busy", ... */
const char *sd_err_code_name(enum sd_err_code code);
/* The process exit status for an error: 2 for usage, 1 otherwise. */
int sd_err_exit_status(const struct sd_err *err);

#endif
