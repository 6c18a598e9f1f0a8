/* Plans: what an operation will do, as data. A planner reads a VM's state
 * (model/state.h) and a request, and returns a plan without touching
 * anything; the controller journals it and executes it step by step; sync
 * finishes or undoes it after a crash; --dry-run prints it.
 *
 * A plan is a JSON object:
 *   {"op": "preview", "vm": NAME, "pnr": N, "summary": {...},
 *    "steps": [{"kind", "args", "undo": null|{"kind","args"},
 *               "destructive": bool, "label": TEXT}, ...]}
 * Steps are idempotent. "pnr" is the 1-based index of the point of no
 * return: once that step has started, the operation is rolled forward;
 * before, it is rolled back with the undo steps. Destructive steps come at
 * or after the point of no return.
 *
 * Step kinds (args):
 *   create_overlay {path, pool|null, name, backing, backing_format}
 *   delete_volume  {path, pool|null}
 *   define_domain  {xml, name|null, uuid|null, sources: {target: {path, format}},
 *                   remove: [target], imports: [{target, from_xml}]}
 *   qemu_commit    {top, format}            (into its direct backing file)
 *   qemu_rebase    {top, format, backing|null, backing_format|null, safe}
 *   catalog        {changes: [...]}         (catalog_apply, in the same
 *                   transaction that records the step done)
 * On a running domain (env->running):
 *   live_snapshot  {uuid, disks: [{target, path|null}], memory_path|null, quiesce}
 *                  (one atomic external snapshot onto the overlays made
 *                  before; undo live_unsnapshot)
 *   live_unsnapshot {uuid, disks: [{target, top, base, format}], memory_path|null}
 *                  (commits each top back into base while the domain runs,
 *                  else with qemu-img, and points the domain at base)
 *   block_job      {uuid, target, job: "commit"|"active_commit"|"pull",
 *                   top|null, base|null, bytes}  (a libvirt block job run as a
 *                  task: progress into the tasks table, cancel aborts it)
 */
#ifndef SD_MODEL_PLAN_H
#define SD_MODEL_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/state.h"
#include "util/err.h"

/* What the planners need besides the VM's state. */
struct plan_env {
	const char *now;         /* ISO-8601 UTC */
	const char *domain_xml;  /* the VM's configuration now (inactive XML) */
	const char *domain_name;
	const char *domain_uuid;
	/* New ids (UUIDs); tests make them predictable. */
	void (*new_id)(char out[37], void *opaque);
	void *opaque;
	bool running; /* the domain runs: live steps (libvirt) instead of qemu-img */
};

json_t *plan_new(const char *op, const char *vm);
/* Appends a step; args and undo (may be NULL) are stolen. */
void plan_add_step(json_t *plan, const char *kind, json_t *args, json_t *undo, bool destructive,
		   const char *label);
/* The next step added is the point of no return (when none was set yet). */
void plan_set_pnr_next(json_t *plan);
size_t plan_nsteps(const json_t *plan);
/* Prints a plan for people (--dry-run). */
char *plan_describe(const json_t *plan);
/* plan_describe, then the data to move and the files touched where the
 * summary says (a revert: both of its plans): what --dry-run prints and the
 * console's confirmations show. Caller frees. */
char *plan_explain(const json_t *plan);

/* Is this a name a snapshot may have? (printable UTF-8, 1..200 bytes, no
 * leading or trailing space, not a reserved word, not UUID-shaped.) */
bool plan_name_valid(const char *name, struct sd_err *err);

struct plan_snapshot_req {
	const char *name;        /* NULL: a name from the time */
	const char *description; /* or NULL */
	char *const *disks;      /* targets, NULL-terminated; NULL: every disk */
	bool is_auto;
	int64_t policy_id;       /* the policy taking it, or 0 */
	bool memory;             /* with the memory state (a running VM only) */
	bool quiesce;            /* through the guest agent (a running VM only) */
};
json_t *plan_snapshot_create(const struct model_vm *vm, const struct plan_env *env,
			     const struct plan_snapshot_req *req, struct sd_err *err);

struct plan_preview_choice {
	const char *target;
	const char *choice; /* snapshot id or name, "current" or "exclude" */
};
struct plan_preview_req {
	const char *config; /* snapshot id or name; NULL or "current": the configuration now */
	bool memory;
	const struct plan_preview_choice *choices;
	size_t nchoices;
};
json_t *plan_preview(const struct model_vm *vm, const struct plan_env *env,
		     const struct plan_preview_req *req, struct sd_err *err);
json_t *plan_undo(const struct model_vm *vm, const struct plan_env *env, struct sd_err *err);
json_t *plan_commit(const struct model_vm *vm, const struct plan_env *env, bool prune,
		    struct sd_err *err);
json_t *plan_delete(const struct model_vm *vm, const struct plan_env *env, const char *snapshot,
		    struct sd_err *err);

/* ---- clone and volume from snapshot (plan-clone.c) ----
 * Step kinds (run by ctl/task.c):
 *   copy_disk   {target, src, src_format, path, format, pool, bytes}
 *               (qemu-img convert of src's chain into path; undo remove_copy)
 *   remove_copy {path, pool}
 *   define_new_domain {xml, name, uuid, sources: {target: {path, format}},
 *               only: [target], macs: [mac], vcpus, memory_kib}
 *               (undo undefine_domain {uuid, name})
 *   register_vm {name, uuid, disks: [{target, image_id, path, format, pool,
 *               virtual_size}], events: [{level, message}]} */

/* Where one disk of a snapshot is copied to (the controller resolves pools
 * and measures sizes). */
struct plan_copy_target {
	const char *target; /* "vda" */
	const char *pool;   /* libvirt pool name */
	const char *dir;    /* that pool's folder */
	const char *format; /* "qcow2" or "raw" */
	uint64_t bytes;     /* what the copy needs (qemu-img measure) */
	bool missing;       /* the snapshot's layer for this disk is gone */
};

struct plan_clone_req {
	const char *snapshot;     /* id or name */
	const char *name;         /* NULL: copy_of_<VM>, made unique against taken */
	char *const *taken;       /* names of the host's domains, NULL-terminated */
	char *const *xml_targets; /* disk targets in the snapshot's domain XML */
	char *const *old_macs;    /* MAC addresses in use (never given out again) */
	size_t nnics;             /* interfaces in the snapshot's domain XML */
	const struct plan_copy_target *disks; /* one per disk of the snapshot */
	size_t ndisks;
	unsigned vcpus;      /* 0: the snapshot's */
	uint64_t memory_mib; /* 0: the snapshot's */
	bool root_only;      /* disks: the first disk alone; the others leave the VM */
	const char *network; /* NULL, or every NIC re-pointed to this libvirt network */
};
json_t *plan_clone(const struct model_vm *vm, const struct plan_env *env,
		   const struct plan_clone_req *req, struct sd_err *err);

struct plan_volume_req {
	const char *snapshot; /* id or name */
	const char *name;     /* the new volume's name (its file name in the pool) */
	struct plan_copy_target disk;
};
json_t *plan_volume_from_snapshot(const struct model_vm *vm, const struct plan_env *env,
				  const struct plan_volume_req *req, struct sd_err *err);

/* ---- deploy from snapshot and templates (plan-deploy.c) ----
 * Step kinds (run by ctl/task.c and ctl/deploy.c):
 *   create_overlay, define_new_domain (+ network), register_vm (disks may
 *   have a parent_id),
 *   register_template {id, name, pool, vm, snapshot, snapshot_id,
 *               disks: [{target, image_id, path, format, pool, virtual_size}]}
 *               (undo: nothing; the copies' undos remove the files) */

/* What one disk of a linked deploy rests on. */
struct plan_linked_disk {
	const char *target;
	const char *backing_id; /* image id (a template's or the snapshot's layer) */
	const char *backing_path;
	const char *backing_format;
	const char *pool; /* the pool the overlay goes to */
	const char *dir;  /* its folder */
	uint64_t virtual_size;
};

struct plan_deploy_req {
	const char *snapshot; /* id or name */
	const char *name;     /* the new VM's name (required) */
	char *const *taken;
	char *const *xml_targets;
	char *const *old_macs;
	size_t nnics;
	const struct plan_linked_disk *disks; /* the disks deployed, in order */
	size_t ndisks;
	const char *network; /* or NULL */
	const char *template_id; /* NULL: --direct */
	const char *template_name;
};
/* A linked deploy: overlays on a template's images or on the snapshot's
 * layers, a new domain, the catalog. */
json_t *plan_deploy_linked(const struct model_vm *vm, const struct plan_env *env,
			   const struct plan_deploy_req *req, struct sd_err *err);

struct plan_seed_req {
	const char *snapshot; /* id or name */
	const char *name;     /* the template's name */
	const char *pool;
	const struct plan_copy_target *disks; /* one per disk of the snapshot */
	size_t ndisks;
};
/* A template: flattened copies of a snapshot's disks in one pool. */
json_t *plan_template_seed(const struct model_vm *vm, const struct plan_env *env,
			   const struct plan_seed_req *req, struct sd_err *err);

#endif
