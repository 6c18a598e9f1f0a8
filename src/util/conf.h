/* The configuration file snapdeck.conf (snapdeck.conf(5)): `key = value`
 * lines, `#` comments. Options and environment variables win over it; it
 * wins over the built-in defaults. */
#ifndef SD_UTIL_CONF_H
#define SD_UTIL_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define SD_CONF_DEFAULT_PATH "/etc/snapdeck/snapdeck.conf"
/* Free space a policy run leaves in a pool beyond what the policy's last
 * snapshot took, when the file does not say. */
#define SD_CONF_DEFAULT_MARGIN (256ULL << 20)

struct sd_conf {
	char *path;		/* the file read, or NULL when there was none */
	char *catalog;		/* or NULL */
	char *uri;		/* or NULL */
	int workers;		/* 1..64, 0 when not set */
	int64_t snapshot_limit; /* 0: no default limit */
	uint64_t free_space_margin;
};

/* The file to read: SNAPDECK_CONF when set and not empty, else
 * SD_CONF_DEFAULT_PATH. */
const char *sd_conf_path(void);
/* Parses the text of a file (path only names it in errors) into conf, which
 * starts from the defaults. An unknown key, a key given twice or a bad value
 * is an error naming the file and line (SD_ERR_INVALID). */
int sd_conf_parse(const char *text, const char *path, struct sd_conf *conf, struct sd_err *err);
/* Reads path; a missing file gives the defaults (conf->path NULL). */
int sd_conf_load(const char *path, struct sd_conf *conf, struct sd_err *err);
void sd_conf_clear(struct sd_conf *conf);

/* The process's configuration: loaded from sd_conf_path() by the first
 * call of sd_conf_init (which reports a bad file) or sd_conf_get (which
 * falls back to the defaults then). */
int sd_conf_init(struct sd_err *err);
const struct sd_conf *sd_conf_get(void);

#endif
