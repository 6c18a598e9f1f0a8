#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/auto.h"
#include "util/conf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

enum conf_key { KEY_CATALOG, KEY_URI, KEY_WORKERS, KEY_LIMIT, KEY_MARGIN };
static const char *const key_names[] = {
    [KEY_CATALOG] = "catalog",		[KEY_URI] = "uri",
    [KEY_WORKERS] = "workers",		[KEY_LIMIT] = "snapshot_limit",
    [KEY_MARGIN] = "free_space_margin",
};

const char *sd_conf_path(void)
{
	const char *v = getenv("SNAPDECK_CONF");

	return v && *v ? v : SD_CONF_DEFAULT_PATH;
}

static void conf_defaults(struct sd_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->free_space_margin = SD_CONF_DEFAULT_MARGIN;
}

void sd_conf_clear(struct sd_conf *conf)
{
	if (!conf)
		return;
	free(conf->path);
	free(conf->catalog);
	free(conf->uri);
	conf_defaults(conf);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!*s || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* One `key = value` line (trimmed, not a comment). */
static int parse_line(char *line, const char *path, unsigned lineno, struct sd_conf *conf,
		      bool seen[], struct sd_err *err)
{
	char *eq = strchr(line, '=');
	char *key, *val;
	size_t k;
	long long n;
	uint64_t size;

	if (!eq) {
		sd_err_set(err, SD_ERR_INVALID, _("%s:%u: expected 'key = value'"), path, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	for (k = 0; k < SD_N_ELEMENTS(key_names); k++)
		if (strcmp(key, key_names[k]) == 0)
			break;
	if (k == SD_N_ELEMENTS(key_names)) {
		sd_err_set(err, SD_ERR_INVALID, _("%s:%u: unknown key '%s'"), path, lineno, key);
		return -1;
	}
	if (seen[k]) {
		sd_err_set(err, SD_ERR_INVALID, _("%s:%u: '%s' is given twice"), path, lineno, key);
		return -1;
	}
	seen[k] = true;
	if (!*val || !sd_str_printable_utf8(val)) {
		sd_err_set(err, SD_ERR_INVALID, _("%s:%u: '%s' needs a value (printable text)"),
			   path, lineno, key);
		return -1;
	}
	switch ((enum conf_key)k) {
	case KEY_CATALOG:
		if (val[0] != '/') {
			sd_err_set(err, SD_ERR_INVALID,
				   _("%s:%u: catalog must be an absolute path"), path, lineno);
			return -1;
		}
		conf->catalog = sd_strdup(val);
		break;
	case KEY_URI:
		conf->uri = sd_strdup(val);
		break;
	case KEY_WORKERS:
		if (!parse_int(val, 1, 64, &n)) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("%s:%u: workers must be 1 to 64, not '%s'"), path, lineno,
				   val);
			return -1;
		}
		conf->workers = (int)n;
		break;
	case KEY_LIMIT:
		if (!parse_int(val, 0, 1000000, &n)) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("%s:%u: snapshot_limit must be 0 (none) to 1000000, not '%s'"),
				   path, lineno, val);
			return -1;
		}
		conf->snapshot_limit = n;
		break;
	case KEY_MARGIN:
		if (!sd_str_parse_size(val, &size)) {
			sd_err_set(
			    err, SD_ERR_INVALID,
			    _("%s:%u: free_space_margin must be a size such as 512M, not '%s'"),
			    path, lineno, val);
			return -1;
		}
		conf->free_space_margin = size;
		break;
	}
	return 0;
}

int sd_conf_parse(const char *text, const char *path, struct sd_conf *conf, struct sd_err *err)
{
	SD_AUTOFREE char *copy = sd_strdup(text ? text : "");
	bool seen[SD_N_ELEMENTS(key_names)] = {false};
	unsigned lineno = 0;
	char *p = copy;

	conf_defaults(conf);
	while (p) {
		char *nl = strchr(p, '\n');
		char *line;

		if (nl)
			*nl = '\0';
		lineno++;
		line = trim(p);
		p = nl ? nl + 1 : NULL;
		if (!*line || line[0] == '#')
			continue;
		if (parse_line(line, path, lineno, conf, seen, err) < 0) {
			sd_conf_clear(conf);
			return -1;
		}
	}
	conf->path = sd_strdup(path);
	return 0;
}

int sd_conf_load(const char *path, struct sd_conf *conf, struct sd_err *err)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, got;
	char chunk[4096];
	int rc;

	conf_defaults(conf);
	if (!fp) {
		if (errno == ENOENT)
			return 0;
		sd_err_set(err, SD_ERR_IO, _("cannot read %s: %s"), path, strerror(errno));
		return -1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		sd_grow(&text, &cap, len + got + 1, 1);
		memcpy(text + len, chunk, got);
		len += got;
		if (len > (1u << 20)) {
			fclose(fp);
			free(text);
			sd_err_set(err, SD_ERR_INVALID,
				   _("%s is too large for a configuration file"), path);
			return -1;
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		free(text);
		sd_err_set(err, SD_ERR_IO, _("cannot read %s"), path);
		return -1;
	}
	fclose(fp);
	if (text && memchr(text, '\0', len)) {
		free(text);
		sd_err_set(err, SD_ERR_INVALID, _("%s is not a text file"), path);
		return -1;
	}
	if (text)
		text[len] = '\0';
	rc = sd_conf_parse(text, path, conf, err);
	free(text);
	return rc;
}

/* ---- the process's configuration ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static struct sd_conf global;
static struct sd_err global_err = SD_ERR_INIT;

static void global_load(void)
{
	if (sd_conf_load(sd_conf_path(), &global, &global_err) < 0)
		conf_defaults(&global);
}

int sd_conf_init(struct sd_err *err)
{
	pthread_once(&global_once, global_load);
	if (sd_err_is_set(&global_err)) {
		sd_err_set(err, global_err.code, "%s", global_err.msg);
		return -1;
	}
	return 0;
}

const struct sd_conf *sd_conf_get(void)
{
	pthread_once(&global_once, global_load);
	return &global;
}
