/* What a console needs beside the operations (ctl/view.c). */
#ifndef SD_CTL_VIEW_H
#define SD_CTL_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl.h"
#include "model/state.h"

/* From the catalog alone: each row's snapshots, in_preview, drifted, busy. */
int ctl_vm_rows_refresh(struct ctl *ctl, struct ctl_vm_row *rows, size_t n, struct sd_err *err);
/* The VM's state from the catalog alone (no lock, no libvirt), with each
 * image's allocated bytes from the file system. SD_ERR_NOT_FOUND when the
 * catalog does not know the VM. */
struct model_vm *ctl_vm_state_peek(struct ctl *ctl, const char *uuid, struct sd_err *err);
/* True when the catalog changed (any connection committed) since *seen;
 * updates *seen. */
bool ctl_catalog_changed(struct ctl *ctl, int64_t *seen);
/* Changes when a VM is defined, undefined, renamed, started or stopped. */
int ctl_vm_fingerprint(struct ctl *ctl, uint64_t *fp, struct sd_err *err);
/* Events, newest last (vm NULL: all; limit 0: all). */
int ctl_event_list(struct ctl *ctl, const char *vm, size_t limit, struct catalog_event **out,
		   size_t *n, struct sd_err *err);

/* Work run in a process of its own: it gets a fresh controller; on success
 * *message (malloc'd, may stay NULL) says what was done. */
typedef int (*ctl_background_fn)(struct ctl *ctl, void *arg, char **message,
				 struct sd_err *err);
/* Forks a child (its own session, so it finishes even when the console
 * quits) that opens a controller like opts on the same URI and catalog and
 * runs fn(arg). *fd gets the non-blocking read end of a pipe on which the
 * child writes one line: "0MESSAGE" on success, "1ERROR" on failure. The
 * caller reads it, closes it and reaps *pid. The catalog is reopened here. */
int ctl_background(struct ctl *ctl, const struct ctl_options *opts, ctl_background_fn fn,
		   void *arg, pid_t *pid, int *fd, struct sd_err *err);

/* libvirt's event loop, for a process that wants live state (the console):
 * call before connecting. Forks in ctl pause it. */
int ctl_events_start(struct sd_err *err);
/* *flag is set when a VM of the host starts, stops, is defined or removed. */
int ctl_watch_domains(struct ctl *ctl, volatile int *flag, struct sd_err *err);
/* Has libvirt gone away (libvirtd stopped or restarted)? */
bool ctl_hv_lost(struct ctl *ctl);
/* Connects again to the same URI; the watches come back. */
int ctl_reconnect(struct ctl *ctl, struct sd_err *err);

#endif
