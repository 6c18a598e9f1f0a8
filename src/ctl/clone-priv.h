/* Shared by ctl/clone.c and ctl/deploy.c: resolving where a snapshot's disks
 * are copied to, and running a copy plan as a task. */
#ifndef SD_CTL_CLONE_PRIV_H
#define SD_CTL_CLONE_PRIV_H

#include "ctl/task.h"
#include "model/plan.h"
#include "util/time.h"

struct hv_domain;

/* Resolved copy targets and the strings they point into. */
struct targets {
	struct plan_copy_target *v;
	size_t n;
	char **owned; /* strings to free */
	size_t nowned, capowned;
	char **holds; /* image ids to hold, NULL-terminated */
	size_t nholds, capholds;
};

/* The snapshot's disk that comes first in its domain XML. */
const char *ctl_clone_root_disk(const struct model_snapshot *s, char *const *xml_targets);
int ctl_clone_resolve(struct ctl *ctl, const struct model_vm *vm,
		      const struct model_snapshot_disk *sd, const char *pool, const char *format,
		      struct targets *t, struct plan_copy_target *out, struct sd_err *err);
void ctl_clone_targets_clear(struct targets *t);
const char *ctl_clone_keep(struct targets *t, char *s);
int ctl_clone_lock_briefly(struct ctl *ctl, const struct model_vm *vm, struct sd_err *err);
/* Locks briefly, records the holds, runs the plan as a task. */
int ctl_clone_execute(struct ctl *ctl, const struct model_vm *vm, json_t *plan, const char *label,
		      uint64_t total, struct targets *t, const struct ctl_task_opts *o,
		      int64_t *task_id, struct sd_err *err);
/* The snapshot of vm named snap (id or name); NULL with SD_ERR_NOT_FOUND. */
const struct model_snapshot *ctl_clone_snapshot(const struct model_vm *vm, const char *snap,
						struct sd_err *err);
/* plan_env.new_id: a random UUID. */
void ctl_clone_new_id(char out[37], void *opaque);
/* Adds image id to the holds. */
void ctl_clone_hold(struct targets *t, const char *id);
/* The names of the domains, and the MACs of their NICs (both new
 * NULL-terminated vectors). */
void ctl_clone_taken(struct hv_domain **doms, size_t ndoms, char ***taken, char ***old_macs);
/* Adds the MACs of the snapshot's domain sdom to old_macs and fills env for
 * a copy of vm's snapshot s, the time in now. */
void ctl_clone_env(struct plan_env *env, char now[SD_ISO_LEN], const struct model_vm *vm,
		   const struct model_snapshot *s, const struct hv_domain *sdom, char ***old_macs);

#endif
