/* The engine: runs a plan (model/plan.h) as a journaled operation, and
 * finishes or undoes operations that a crash interrupted. */
#ifndef SD_CTL_ENGINE_H
#define SD_CTL_ENGINE_H

#include <jansson.h>

#include "ctl/ctl.h"

/* This process as the owner of operations and locks. */
const struct catalog_owner *ctl_engine_me(void);
/* Is that process still running? (false for a pid whose start time differs) */
bool ctl_engine_owner_alive(const struct catalog_owner *owner);

/* Journals the plan, then executes it step by step. A failure before the
 * point of no return undoes the steps done; after it, the operation stays
 * unfinished for sync. SNAPDECK_FAULT=crash:N / fail:N inject faults before
 * step N. */
int ctl_engine_run(struct ctl *ctl, int64_t vm_id, const char *vm_name, const json_t *plan,
		   struct sd_err *err);
/* Rolls the unfinished operations of a VM (vm_id < 0: of all VMs) forward
 * or back. Operations whose owner still runs are left alone. *count (may be
 * NULL) gets the number finished. */
int ctl_engine_recover(struct ctl *ctl, int64_t vm_id, ctl_say_fn say, void *opaque, int *count,
		       struct sd_err *err);

/* A string member of a plan's JSON (a step's argument), or NULL. */
static inline const char *ctl_arg(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

#endif
