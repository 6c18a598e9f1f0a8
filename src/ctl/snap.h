/* The snapshot engine's operations on shut-off VMs (DESIGN.md 1-6, 11, 12).
 * Each loads the VM, takes its lock, finishes an interrupted operation,
 * checks for drift, plans, and runs the plan (or, with dry_run, returns it). */
#ifndef SD_CTL_SNAP_H
#define SD_CTL_SNAP_H

#include <jansson.h>

#include "ctl/ctl.h"
#include "model/plan.h"
#include "model/state.h"

/* The VM's state for listing: registers and imports it when new. */
struct model_vm *ctl_snapshot_state(struct ctl *ctl, const char *vm, struct sd_err *err);

/* Every operation returns its plan in *plan (the caller's), run or not. */
int ctl_snapshot_create(struct ctl *ctl, const char *vm, const struct plan_snapshot_req *req,
			bool dry_run, json_t **plan, struct sd_err *err);
int ctl_snapshot_delete(struct ctl *ctl, const char *vm, const char *snapshot, bool dry_run,
			json_t **plan, struct sd_err *err);
int ctl_preview(struct ctl *ctl, const char *vm, const struct plan_preview_req *req,
		bool dry_run, json_t **plan, struct sd_err *err);
int ctl_undo(struct ctl *ctl, const char *vm, bool dry_run, json_t **plan, struct sd_err *err);
int ctl_commit(struct ctl *ctl, const char *vm, bool prune, bool dry_run, json_t **plan,
	       struct sd_err *err);
/* Preview of one whole snapshot, then commit: two operations. */
int ctl_revert(struct ctl *ctl, const char *vm, const char *snapshot, bool dry_run,
	       json_t **plan, struct sd_err *err);

/* Finishes interrupted operations (of vm, or of every VM), checks every
 * VM's disks against the catalog; with adopt, reads vm's current backing
 * chains into the catalog (each layer below a top becomes an imported
 * snapshot, oldest first) and clears its drift. *report gets what it did. */
int ctl_sync(struct ctl *ctl, const char *vm, bool adopt, json_t **report, struct sd_err *err);

/* Starts a shut-off VM; a VM in the preview of a snapshot with its memory
 * resumes from that memory on the preview's layers. *message says which. */
int ctl_start(struct ctl *ctl, const char *vm, char **message, struct sd_err *err);
/* Shuts a running VM down (the guest is asked, up to timeout_s), or with
 * force powers it off at once. */
int ctl_stop(struct ctl *ctl, const char *vm, bool force, int timeout_s, char **message,
	     struct sd_err *err);

#endif
