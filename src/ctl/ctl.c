#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "hv/live.h"
#include "util/i18n.h"
#include "util/mem.h"

static char *catalog_file(const struct ctl_options *opts)
{
	return opts->catalog_path ? sd_strdup(opts->catalog_path) : catalog_default_path();
}

/* Opens the catalog and finds (or, writable, records) the host of uri. */
static int open_catalog(struct ctl *ctl, const struct ctl_options *opts, const char *uri,
			struct sd_err *err)
{
	SD_AUTOFREE char *path = catalog_file(opts);

	if (opts->readonly) {
		/* Read-only never creates a catalog; without one there is nothing
		 * snapdeck knows beyond what libvirt says. */
		if (access(path, F_OK) != 0)
			return 0;
		if (!ctl->cat)
			ctl->cat = catalog_open_readonly(path, err);
		if (!ctl->cat)
			return -1;
		return catalog_host_find(ctl->cat, uri, &ctl->host_id, err) < 0 ? -1 : 0;
	}
	if (!ctl->cat)
		ctl->cat = catalog_open(path, err);
	if (!ctl->cat)
		return -1;
	ctl->host_id = catalog_host_ensure(ctl->cat, uri, err);
	return ctl->host_id < 0 ? -1 : 0;
}

struct ctl *ctl_open(const struct ctl_options *opts, struct sd_err *err)
{
	SD_AUTO(ctl) *ctl = sd_calloc(1, sizeof(*ctl));

	ctl->readonly = opts->readonly;
	ctl->host_id = -1;
	ctl->hv = hv_open(opts->uri, opts->readonly, err);
	if (!ctl->hv)
		return NULL;
	if (open_catalog(ctl, opts, hv_uri(ctl->hv), err) < 0)
		return NULL;
	return SD_STEAL(ctl);
}

struct ctl *ctl_open_catalog(const struct ctl_options *opts, struct sd_err *err)
{
	SD_AUTO(ctl) *ctl = sd_calloc(1, sizeof(*ctl));
	SD_AUTOFREE char *path = catalog_file(opts);
	const char *uri = opts->uri ? opts->uri : getenv("LIBVIRT_DEFAULT_URI");

	ctl->readonly = opts->readonly;
	ctl->host_id = -1;
	if (!uri || !uri[0] || !path || access(path, F_OK) != 0)
		return SD_STEAL(ctl);
	ctl->cat = opts->readonly ? catalog_open_readonly(path, err) : catalog_open(path, err);
	if (!ctl->cat)
		return NULL;
	if (catalog_host_find(ctl->cat, uri, &ctl->host_id, err) < 0)
		return NULL;
	return SD_STEAL(ctl);
}

int ctl_connect(struct ctl *ctl, const struct ctl_options *opts, struct sd_err *err)
{
	if (ctl->hv)
		return 0;
	ctl->hv = hv_open(opts->uri, opts->readonly, err);
	if (!ctl->hv)
		return -1;
	ctl->host_id = -1;
	return open_catalog(ctl, opts, hv_uri(ctl->hv), err);
}

pid_t ctl_fork(struct ctl *ctl, struct sd_err *err)
{
	SD_AUTOFREE char *cat_path = ctl->cat ? sd_strdup(catalog_path(ctl->cat)) : NULL;
	pid_t pid;

	fflush(NULL);
	if (ctl->cat) {
		catalog_close(ctl->cat);
		ctl->cat = NULL;
	}
	hv_events_pause();
	pid = fork();
	if (pid == 0)
		return 0;
	hv_events_resume();
	if (pid < 0)
		sd_err_set(err, SD_ERR_INTERNAL, _("cannot start a process: %s"), strerror(errno));
	if (cat_path) {
		struct sd_err cerr = SD_ERR_INIT;

		ctl->cat = catalog_open(cat_path, &cerr);
		if (!ctl->cat)
			sd_err_set(err, cerr.code, "%s", cerr.msg);
	}
	return pid;
}

void ctl_close(struct ctl *ctl)
{
	if (!ctl)
		return;
	catalog_close(ctl->cat);
	hv_close(ctl->hv);
	free(ctl);
}

int ctl_need_writable(const struct ctl *ctl, struct sd_err *err)
{
	if (ctl->readonly || !ctl->cat || ctl->host_id < 0) {
		sd_err_set(err, SD_ERR_STATE, _("this needs a writable connection (not --read-only)"));
		return -1;
	}
	return 0;
}
