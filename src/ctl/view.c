/* What a console needs beside the operations: catalog-only refreshes that
 * stay cheap on big hosts, change detection, and running an operation in a
 * process of its own so that the screen never waits. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/view.h"
#include "hv/live.h"
#include "util/i18n.h"
#include "util/mem.h"

struct model_vm *ctl_vm_state_peek(struct ctl *ctl, const char *uuid, struct sd_err *err)
{
	struct catalog_vm cv = { 0 };
	struct model_vm *vm;
	int found;

	if (!ctl->cat || ctl->host_id < 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("the catalog does not know this host yet"));
		return NULL;
	}
	found = catalog_vm_get(ctl->cat, ctl->host_id, uuid, &cv, err);
	if (found <= 0) {
		if (found == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("the catalog does not know VM %s"), uuid);
		return NULL;
	}
	vm = catalog_vm_state(ctl->cat, cv.id, err);
	catalog_vm_clear(&cv);
	if (!vm)
		return NULL;
	for (size_t i = 0; i < vm->nimages; i++) {
		struct stat st;

		if (vm->images[i].path && stat(vm->images[i].path, &st) == 0)
			vm->images[i].allocated = (uint64_t)st.st_blocks * 512;
	}
	return vm;
}

bool ctl_catalog_changed(struct ctl *ctl, int64_t *seen)
{
	int64_t v;

	if (!ctl->cat)
		return false;
	v = catalog_data_version(ctl->cat);
	if (v == *seen)
		return false;
	*seen = v;
	return true;
}

int ctl_vm_fingerprint(struct ctl *ctl, uint64_t *fp, struct sd_err *err)
{
	return hv_domain_fingerprint(ctl->hv, fp, err);
}

int ctl_event_list(struct ctl *ctl, const char *vm, size_t limit, struct catalog_event **out,
		   size_t *n, struct sd_err *err)
{
	*out = NULL;
	*n = 0;
	if (!ctl->cat)
		return 0;
	return catalog_event_list(ctl->cat, vm, limit, out, n, err);
}

/* The child: its own connections, the work, one line on the pipe. */
static void __attribute__((noreturn))
background_child(const struct ctl_options *opts, ctl_background_fn fn, void *arg, int fd)
{
	struct sd_err err = SD_ERR_INIT;
	struct ctl *ctl;
	char *message = NULL;
	char *line;
	int null, rc = -1;

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	ctl = ctl_open(opts, &err);
	if (ctl)
		rc = fn(ctl, arg, &message, &err);
	line = rc == 0 ? sd_asprintf("0%s\n", message ? message : "")
		       : sd_asprintf("1%s\n", err.msg[0] ? err.msg : _("the operation failed"));
	(void)!write(fd, line, strlen(line));
	ctl_close(ctl);
	_exit(rc == 0 ? 0 : 1);
}

int ctl_background(struct ctl *ctl, const struct ctl_options *opts, ctl_background_fn fn,
		   void *arg, pid_t *pid_out, int *fd_out, struct sd_err *err)
{
	SD_AUTOFREE char *cat_path = ctl->cat ? sd_strdup(catalog_path(ctl->cat)) : NULL;
	struct ctl_options child = *opts;
	int p[2];
	pid_t pid;

	child.uri = hv_uri(ctl->hv);
	if (cat_path)
		child.catalog_path = cat_path;
	if (pipe2(p, O_CLOEXEC) < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot make a pipe: %s"), strerror(errno));
		return -1;
	}
	pid = ctl_fork(ctl, err);
	if (pid == 0) {
		close(p[0]);
		background_child(&child, fn, arg, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	if (cat_path && !ctl->cat) {
		close(p[0]);
		return -1; /* the child goes on; the caller reports err */
	}
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	*pid_out = pid;
	*fd_out = p[0];
	return 0;
}

int ctl_events_start(struct sd_err *err)
{
	return hv_events_start(err);
}

int ctl_watch_domains(struct ctl *ctl, volatile int *flag, struct sd_err *err)
{
	return ctl->hv ? hv_watch_domains(ctl->hv, flag, err) : 0;
}

bool ctl_hv_lost(struct ctl *ctl)
{
	return ctl->hv && hv_conn_closed(ctl->hv);
}

int ctl_reconnect(struct ctl *ctl, struct sd_err *err)
{
	return hv_reconnect(ctl->hv, err);
}
