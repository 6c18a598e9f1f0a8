/* Recurring snapshot policies (DESIGN.md 10): set, list, delete, the
 * per-VM snapshot limit, and the run a systemd timer starts. */
#ifndef SD_CTL_POLICY_H
#define SD_CTL_POLICY_H

#include <jansson.h>

#include "ctl/ctl.h"
#include "model/state.h"
#include "util/time.h"

struct ctl_policy_req {
	const char *name;  /* NULL: the every word ("hourly") */
	const char *every; /* "hourly", "daily", "weekly", "monthly" */
	const char *at;	   /* NULL: the default of every (see policy_at_parse) */
	int64_t keep;	   /* 1..10000 */
	const char *disks; /* "vda,vdb", or NULL: every disk */
	bool memory;	   /* with the memory state when the VM runs */
};

/* A policy as shown: its catalog row and when it runs next. */
struct ctl_policy {
	struct catalog_policy p;
	char next_run[SD_ISO_LEN];
};
void ctl_policies_free(struct ctl_policy *v, size_t n);

/* Adds the VM's policy, or changes the one of that name. A new policy's
 * schedule starts now: its first snapshot is taken at its first scheduled
 * time from now. *out (may be NULL; the caller's) gets the policy as
 * stored, *created (may be NULL) whether it is new. */
int ctl_policy_set(struct ctl *ctl, const char *vm, const struct ctl_policy_req *req,
		   struct ctl_policy **out, bool *created, struct sd_err *err);
/* The policies of one VM (by name or UUID; NULL: of every VM of the host),
 * by VM, then name; caller frees with ctl_policies_free. Needs no libvirt
 * connection when vm is NULL or a UUID (the console calls it with the
 * selected VM's UUID). */
int ctl_policy_list(struct ctl *ctl, const char *vm, struct ctl_policy **out, size_t *n,
		    struct sd_err *err);
/* Removes the VM's policy name, or with name NULL all of them; the
 * snapshots they made stay as ordinary snapshots. SD_ERR_NOT_FOUND when
 * there was nothing to remove. */
int ctl_policy_delete(struct ctl *ctl, const char *vm, const char *name, size_t *removed,
		      struct sd_err *err);

/* A VM's snapshot limit. */
struct ctl_limit {
	char *vm;
	char uuid[37];
	int64_t own;	   /* > 0 the VM's own, 0 the default applies, < 0 none */
	int64_t fallback;  /* the configuration's default (0: none) */
	int64_t effective; /* what applies (0: no limit) */
	size_t snapshots;  /* snapshots the VM has */
};
void ctl_limit_clear(struct ctl_limit *l);
/* Reads the VM's limit; with set, first sets it to limit (> 0 its own,
 * 0 the default, < 0 none). */
int ctl_policy_limit(struct ctl *ctl, const char *vm, bool set, int64_t limit,
		     struct ctl_limit *out, struct sd_err *err);
/* 0 when one more manual snapshot of vm fits its limit; -1 with
 * SD_ERR_STATE and the reason when it does not. For the snapshot path. */
int ctl_policy_check_limit(struct ctl *ctl, const struct model_vm *vm, struct sd_err *err);

struct ctl_policy_run_opts {
	const char *vm; /* NULL: every VM of the host */
	bool dry_run;
};
/* Takes every snapshot that is due (once, however many scheduled times
 * passed), names it "<policy>-<UTC time>", then deletes the oldest of the
 * policy's own snapshots beyond its keep count. A VM that is busy, in a
 * preview, drifted, at its limit with
 * nothing of the policy's own to delete, or short of free space is skipped
 * with a warning event; the others go on. *report (the caller's) gets
 *   {"now", "dry_run", "taken", "pruned", "skipped", "failed",
 *    "policies": [{"vm", "policy", "every", "due", "result":
 *       "taken"|"skipped"|"failed"|"not_due", "snapshot", "pruned": [name],
 *       "reason", "next_run"}]}
 * -1 when a policy failed (not skipped): err names the first failure,
 * *report is still filled. */
int ctl_policy_run(struct ctl *ctl, const struct ctl_policy_run_opts *o, json_t **report,
		   struct sd_err *err);

#endif
