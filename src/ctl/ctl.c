#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "util/i18n.h"
#include "util/mem.h"

struct ctl *ctl_open(const struct ctl_options *opts, struct sd_err *err)
{
	SD_AUTO(ctl) *ctl = sd_calloc(1, sizeof(*ctl));
	SD_AUTOFREE char *path = NULL;

	ctl->readonly = opts->readonly;
	ctl->host_id = -1;
	ctl->hv = hv_open(opts->uri, opts->readonly, err);
	if (!ctl->hv)
		return NULL;

	path = opts->catalog_path ? sd_strdup(opts->catalog_path) : catalog_default_path();
	if (opts->readonly) {
		/* Read-only never creates a catalog; without one there is nothing
		 * snapdeck knows beyond what libvirt says. */
		if (access(path, F_OK) != 0)
			return SD_STEAL(ctl);
		ctl->cat = catalog_open_readonly(path, err);
		if (!ctl->cat)
			return NULL;
		if (catalog_host_find(ctl->cat, hv_uri(ctl->hv), &ctl->host_id, err) < 0)
			return NULL;
		return SD_STEAL(ctl);
	}
	ctl->cat = catalog_open(path, err);
	if (!ctl->cat)
		return NULL;
	ctl->host_id = catalog_host_ensure(ctl->cat, hv_uri(ctl->hv), err);
	if (ctl->host_id < 0)
		return NULL;
	return SD_STEAL(ctl);
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
