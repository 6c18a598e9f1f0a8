/* Tasks: long copies (clone, volume from snapshot) run as journaled plans
 * whose progress is recorded in the catalog's tasks table every 0.5 s, so
 * that every snapdeck process of the host sees them; a cancel asked in the
 * catalog (by any process) stops the copy. The layers a task reads are held
 * (image_holds) until it ends. */
#ifndef SD_CTL_TASK_H
#define SD_CTL_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl/ctl.h"

struct ctl_task_progress {
	int64_t id;
	const char *what; /* the disk being copied ("vda"), or NULL */
	uint64_t done, total;
	double rate;   /* bytes per second, 0 unknown */
	int64_t eta_s; /* seconds left, -1 unknown */
	bool final;    /* the last call, when the task has ended */
};
typedef void (*ctl_task_progress_fn)(const struct ctl_task_progress *p, void *opaque);

struct ctl_task_opts {
	bool dry_run;		       /* plan only */
	bool detach;		       /* a child process runs the task; the call returns at once */
	ctl_task_progress_fn progress; /* may be NULL */
	void *opaque;
};

/* --disk vda:pool=P,format=raw */
struct ctl_clone_disk {
	const char *target;
	const char *pool;   /* NULL: the pool of the disk's layer */
	const char *format; /* NULL: qcow2 */
};
struct ctl_clone_req {
	const char *vm;
	const char *snapshot;
	const char *name; /* NULL: copy_of_VM, made unique */
	const struct ctl_clone_disk *disks;
	size_t ndisks;
	unsigned vcpus;	     /* 0: the snapshot's */
	uint64_t memory_mib; /* 0: the snapshot's */
	bool root_only;	     /* the first disk alone (deploy --root-only) */
	const char *network; /* NULL, or every NIC re-pointed to this network */
};
/* A new VM from snapshot S (DESIGN.md 7). *plan gets the plan (the
 * caller's), *task_id the task's id (0 with dry_run). */
int ctl_clone(struct ctl *ctl, const struct ctl_clone_req *req, const struct ctl_task_opts *o,
	      json_t **plan, int64_t *task_id, struct sd_err *err);

struct ctl_volume_req {
	const char *vm;
	const char *snapshot;
	const char *disk;   /* "vda" */
	const char *name;   /* the new volume's name */
	const char *pool;   /* NULL: the pool of the disk's layer */
	const char *format; /* NULL: qcow2 */
};
int ctl_volume_from_snapshot(struct ctl *ctl, const struct ctl_volume_req *req,
			     const struct ctl_task_opts *o, json_t **plan, int64_t *task_id,
			     struct sd_err *err);

/* Every task, oldest first. A queued or running task whose owner process is
 * gone is ended as failed ("owner gone") first. */
int ctl_task_list(struct ctl *ctl, struct catalog_task **out, size_t *n, struct sd_err *err);
/* Asks task id to stop and waits up to wait_ms for it to end; *out (may be
 * NULL) gets the task as it is then. SD_ERR_STATE when it had ended. */
int ctl_task_cancel(struct ctl *ctl, int64_t id, int wait_ms, struct catalog_task *out,
		    struct sd_err *err);

/* Refuses (SD_ERR_BUSY) a plan that would delete or rewrite a layer a
 * running task holds. */
int ctl_task_check_plan(struct ctl *ctl, const struct model_vm *vm, const json_t *plan,
			struct sd_err *err);

/* Runs a plan as a task (used by ctl_clone and ctl_volume_from_snapshot):
 * records the task, holds the images hold_ids, then runs the plan with the
 * engine here or, with o->detach, in a child process (the call returns once
 * the child owns the task). Ends the task done, failed or cancelled. With
 * unlock, releases the VM's lock (taken by the caller) once the holds are
 * recorded. */
int ctl_task_execute(struct ctl *ctl, int64_t vm_id, const char *vm_name, const json_t *plan,
		     const char *label, uint64_t total, char *const *hold_ids, bool unlock,
		     const struct ctl_task_opts *o, int64_t *task_id, struct sd_err *err);

/* Steps that move data without qemu-img (block jobs) tell the task running
 * them (if any) how far they are; no-ops outside a task. */
void ctl_task_move_begin(const char *what, uint64_t bytes);
void ctl_task_move_fraction(double fraction);
void ctl_task_move_end(void);
/* Has the task running this step been asked to stop? */
bool ctl_task_cancel_asked(void);

/* The engine's hook for the step kinds of model/plan-clone.c. */
bool ctl_task_step_kind(const char *kind);
int ctl_task_step(struct ctl *ctl, const char *kind, const json_t *args, struct sd_err *err);

#endif
