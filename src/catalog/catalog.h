/* The catalog: one SQLite file (WAL) shared by every snapdeck process of a
 * host. Only src/catalog includes sqlite3.h; the rest of the program sees
 * these functions. Every statement is a named constant, always bound. */
#ifndef SD_CATALOG_CATALOG_H
#define SD_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/auto.h"
#include "util/err.h"

#define CATALOG_SCHEMA_VERSION 1

struct catalog;

/* The default path: /var/lib/snapdeck/catalog.db for root,
 * $XDG_DATA_HOME/snapdeck/catalog.db (or ~/.local/share/...) otherwise.
 * SNAPDECK_CATALOG overrides both. Caller frees; NULL only when no home
 * folder is known (no $HOME and no passwd entry). */
char *catalog_default_path(void);

/* Opens (creating the parent folder 0700 and the file 0600 when missing) and
 * migrates to CATALOG_SCHEMA_VERSION. WAL, busy timeout 5 s, foreign keys on.
 * A file that is not SQLite, or a newer schema than we know, is refused with
 * a clear error and left untouched. */
struct catalog *catalog_open(const char *path, struct sd_err *err);
/* Opens an existing catalog read-only (no migration, no creation). */
struct catalog *catalog_open_readonly(const char *path, struct sd_err *err);
void catalog_close(struct catalog *cat);
SD_DEFINE_AUTO(catalog, struct catalog, catalog_close)

const char *catalog_path(const struct catalog *cat);
int catalog_user_version(struct catalog *cat);
/* PRAGMA data_version: changes when another connection committed. */
int64_t catalog_data_version(struct catalog *cat);

/* Writer transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. begin refuses a
 * nested call; commit and rollback refuse when no transaction is open. */
int catalog_begin(struct catalog *cat, struct sd_err *err);
int catalog_commit(struct catalog *cat, struct sd_err *err);
void catalog_rollback(struct catalog *cat);

/* ---- hosts and VMs ---- */

/* The host row for a libvirt URI (created when missing). Returns its id or -1. */
int64_t catalog_host_ensure(struct catalog *cat, const char *uri, struct sd_err *err);
/* Looks the host up without creating it: 1 found, 0 not, -1 error. */
int catalog_host_find(struct catalog *cat, const char *uri, int64_t *host_id, struct sd_err *err);

struct catalog_vm {
	int64_t id;
	int64_t host_id;
	char *uuid;
	char *name;
	char *current_snapshot; /* snapshot id or NULL */
	bool drifted;
	char *drift_reason;     /* or NULL */
};
void catalog_vm_clear(struct catalog_vm *vm);

/* Registers a VM (by host and UUID), updating its name; *vm_id gets its row id. */
int catalog_vm_register(struct catalog *cat, int64_t host_id, const char *uuid,
			const char *name, int64_t *vm_id, struct sd_err *err);
/* 1 found (vm filled, clear it after), 0 not found, -1 error. */
int catalog_vm_get(struct catalog *cat, int64_t host_id, const char *uuid,
		   struct catalog_vm *vm, struct sd_err *err);
/* Removes the VM and everything hanging off it (disks, snapshots, locks,
 * policies; events stay). Removing an absent VM is not an error. */
int catalog_vm_delete(struct catalog *cat, int64_t host_id, const char *uuid, struct sd_err *err);
int catalog_vm_set_drift(struct catalog *cat, int64_t vm_id, const char *reason /* NULL clears */,
			 struct sd_err *err);

/* What the VM list shows beside libvirt's own facts. */
struct catalog_vm_summary {
	char *uuid;
	int64_t snapshots;
	bool in_preview;
	bool drifted;
	char *busy_op; /* operation holding the VM's lock, or NULL */
	char *name;
	char *targets; /* the registered disks' targets, sorted, comma-separated; or NULL */
};
/* All VMs of a host; caller frees with catalog_vm_summaries_free. */
int catalog_vm_summaries(struct catalog *cat, int64_t host_id, struct catalog_vm_summary **out,
			 size_t *n, struct sd_err *err);
void catalog_vm_summaries_free(struct catalog_vm_summary *v, size_t n);

/* ---- disks ---- */

/* The stable id of a VM's disk by target ("vda"): created (a new UUID) the
 * first time, the same ever after. *disk_id is the caller's. */
int catalog_disk_ensure(struct catalog *cat, int64_t vm_id, const char *target, char **disk_id,
			struct sd_err *err);
/* Looks the id up without creating it: 1 found, 0 not, -1 error. */
int catalog_disk_find(struct catalog *cat, int64_t vm_id, const char *target, char **disk_id,
		      struct sd_err *err);

/* ---- events ---- */

enum catalog_level { CATALOG_INFO, CATALOG_WARNING, CATALOG_ERROR };
const char *catalog_level_name(enum catalog_level level); /* "info", "warning", "error" */

struct catalog_event {
	int64_t id;
	char *time; /* ISO-8601 UTC */
	char *vm;   /* VM name or NULL */
	char *op;
	enum catalog_level level;
	char *message;
};
int catalog_event_add(struct catalog *cat, const char *vm, const char *op,
		      enum catalog_level level, const char *message, struct sd_err *err);
/* Newest last; vm NULL for all; limit 0 for no limit (then the newest limit). */
int catalog_event_list(struct catalog *cat, const char *vm, size_t limit,
		       struct catalog_event **out, size_t *n, struct sd_err *err);
void catalog_events_free(struct catalog_event *v, size_t n);

/* ======== the snapshot engine's tables ======== */
/* (catalog/state.c, catalog/apply.c, catalog/journal.c, catalog/lock.c) */

#include <jansson.h>

#include "model/state.h"

/* Everything of one VM (model/state.h): its disks, every image its disks and
 * snapshots use together with their parents (so whole chains), its
 * snapshots in tree order (parents first; siblings by creation time) with
 * their disks, and its preview. NULL with err on failure; SD_ERR_NOT_FOUND
 * when there is no such VM row. */
struct model_vm *catalog_vm_state(struct catalog *cat, int64_t vm_id, struct sd_err *err);

/* Applies a list of changes to one VM's rows, all or nothing (a savepoint
 * inside the caller's transaction, or a transaction of its own). changes is
 * a JSON array of objects, each with "op":
 *   image_add {id, path, format, parent_id|null, pool|null, virtual_size}
 *       (an existing id is updated)
 *   image_remove {id}
 *   image_set_parent {id, parent_id|null}
 *   disk_set_active {disk_id, image_id|null}
 *   snapshot_add {id, name, parent_id|null, created, description, domain_xml,
 *       memory_path|null, auto, imported, policy_id|null,
 *       disks: [{disk_id, target, image_id}]}
 *   snapshot_remove {id}              (its snapshot_disks go with it)
 *   snapshot_set_parent {id, parent_id|null}
 *   snapshot_disk_set_image {snapshot_id, disk_id, image_id}
 *   vm_set_current {snapshot_id|null}
 *   vm_set_drift {reason|null}
 *   preview_set {config_snapshot|null, memory, disks, saved_xml, saved_tops,
 *       saved_current|null}           (disks and saved_tops: JSON text)
 *   preview_clear {}
 *   event {vm|null, event_op, level: "info"|"warning"|"error", message}
 *       ("op" names the change, so the event's own op is "event_op")
 * An unknown op or a missing field: SD_ERR_INTERNAL, nothing applied. A name
 * taken (UNIQUE vm_id, name): SD_ERR_EXISTS. Images belong to host_id. */
int catalog_apply(struct catalog *cat, int64_t host_id, int64_t vm_id, const json_t *changes,
		  struct sd_err *err);

/* ---- the journal: operations and their steps ---- */

/* Who runs an operation or holds a lock: host name, pid and the process's
 * start time (field 22 of /proc/PID/stat), so a reused pid is not mistaken
 * for the owner. */
struct catalog_owner {
	char host[256];
	int64_t pid;
	int64_t start;
};

struct catalog_step {
	int seq;      /* 1-based */
	char *kind;
	char *args;   /* JSON text */
	char *undo;   /* JSON text or NULL */
	bool destructive;
	char *state;  /* "pending", "running", "done", "undone" */
};

struct catalog_op {
	int64_t id;
	int64_t vm_id;
	char *vm_name;
	char *op;
	char *state; /* "planned", "running", "done", "failed", "rolled_back" */
	char *plan;  /* JSON text */
	char *started;
	char *ended;
	char *error;
	struct catalog_owner owner;
	struct catalog_step *steps;
	size_t nsteps;
};
void catalog_op_clear(struct catalog_op *op);
void catalog_ops_free(struct catalog_op *ops, size_t n);

/* Records an operation (state "running") and its steps (state "pending") in
 * one transaction; *op_id gets its id. */
int catalog_op_begin(struct catalog *cat, int64_t vm_id, const char *vm_name, const char *op,
		     const char *plan_json, const struct catalog_step *steps, size_t nsteps,
		     const struct catalog_owner *owner, int64_t *op_id, struct sd_err *err);
/* Sets one step's state (its own write, or inside the caller's transaction). */
int catalog_op_step_state(struct catalog *cat, int64_t op_id, int seq, const char *state,
			  struct sd_err *err);
/* Ends an operation: "done", "failed" or "rolled_back", with an error text. */
int catalog_op_end(struct catalog *cat, int64_t op_id, const char *state, const char *error,
		   struct sd_err *err);
/* Operations of a VM (vm_id < 0: of every VM of every host) whose state is
 * "planned" or "running", oldest first, with their steps in order. */
int catalog_op_unfinished(struct catalog *cat, int64_t vm_id, struct catalog_op **ops,
			  size_t *n, struct sd_err *err);
/* Takes over an unfinished operation: records the new owner. */
int catalog_op_set_owner(struct catalog *cat, int64_t op_id, const struct catalog_owner *owner,
			 struct sd_err *err);

/* ---- locks: one operation per VM ---- */

/* Is the owner process still there? (ctl answers from /proc.) */
typedef bool (*catalog_owner_alive_fn)(const struct catalog_owner *owner);

/* Takes the VM's lock for op in one BEGIN IMMEDIATE transaction. A lock held
 * by a live owner (other than me) gives SD_ERR_BUSY with the message
 *   "VM <name> is busy: <op> by pid <pid> since <HH:MM:SS local time>"
 * A lock whose owner is gone is taken over (*taken_over = true, may be NULL).
 * Taking a lock I hold already just updates op. */
int catalog_lock_take(struct catalog *cat, int64_t vm_id, const char *vm_name, const char *op,
		      const struct catalog_owner *me, catalog_owner_alive_fn alive,
		      bool *taken_over, struct sd_err *err);
/* Releases the VM's lock if I hold it. */
int catalog_lock_release(struct catalog *cat, int64_t vm_id, const struct catalog_owner *me,
			 struct sd_err *err);

/* ---- images ---- */

/* The id of the host's image at path: 1 found (*id is the caller's), 0 none,
 * -1 error. */
int catalog_image_find(struct catalog *cat, int64_t host_id, const char *path, char **id,
		       struct sd_err *err);

/* ---- tasks: long copies with progress (catalog/task.c) ---- */

struct catalog_task {
	int64_t id;
	char *op;      /* "clone", "volume from-snapshot" */
	char *vm_name; /* or NULL */
	char *label;   /* what it does, for people; or NULL */
	char *state;   /* "queued", "running", "done", "failed", "cancelled" */
	uint64_t bytes_done, bytes_total;
	double rate;   /* bytes per second, 0 unknown */
	char *created, *started, *ended; /* ISO-8601 UTC; started/ended may be NULL */
	char *error;   /* or NULL */
	bool cancel_requested;
	struct catalog_owner owner;
};
void catalog_task_clear(struct catalog_task *t);
void catalog_tasks_free(struct catalog_task *v, size_t n);

/* Records a task in state "running", owned by owner; *id gets its id. */
int catalog_task_insert(struct catalog *cat, const char *op, const char *vm_name,
			const char *label, uint64_t bytes_total, const struct catalog_owner *owner,
			int64_t *id, struct sd_err *err);
/* Records progress; *cancel_requested (may be NULL) gets the cancel flag. */
/* Tasks wait in "queued" until a worker slot is free: at most workers
 * tasks of live owners run at once, started in the order they were queued.
 * *claimed is true when this task was moved to "running". */
int catalog_task_claim(struct catalog *cat, int64_t id, int workers,
		       catalog_owner_alive_fn alive, bool *claimed, struct sd_err *err);
int catalog_task_progress(struct catalog *cat, int64_t id, uint64_t bytes_done,
			  uint64_t bytes_total, double rate, bool *cancel_requested,
			  struct sd_err *err);
/* Ends a task ("done", "failed", "cancelled") with an error text (may be
 * NULL) and releases its image holds, in one transaction. */
int catalog_task_finish(struct catalog *cat, int64_t id, const char *state, const char *error,
			struct sd_err *err);
/* Changes the owner (a --detach child takes the task over). */
int catalog_task_set_owner(struct catalog *cat, int64_t id, const struct catalog_owner *owner,
			   struct sd_err *err);
/* Asks the owner of a queued or running task to cancel it: 1 asked, 0 the
 * task has ended already, SD_ERR_NOT_FOUND when there is no such task. */
int catalog_task_cancel(struct catalog *cat, int64_t id, struct sd_err *err);
/* 1 found (t filled; clear it after), 0 not found, -1 error. */
int catalog_task_get(struct catalog *cat, int64_t id, struct catalog_task *t, struct sd_err *err);
/* Every task, oldest first; limit 0: all (else the newest limit). */
int catalog_task_list(struct catalog *cat, size_t limit, struct catalog_task **out, size_t *n,
		      struct sd_err *err);

/* ---- image holds: layers a task reads, kept from delete and merge ---- */

int catalog_hold_add(struct catalog *cat, int64_t task_id, const char *image_id,
		     struct sd_err *err);
/* Releases every hold of the task. */
int catalog_hold_release(struct catalog *cat, int64_t task_id, struct sd_err *err);
/* The queued or running tasks holding image_id (the caller checks that
 * their owners live); caller frees with catalog_tasks_free. */
int catalog_hold_list(struct catalog *cat, const char *image_id, struct catalog_task **out,
		      size_t *n, struct sd_err *err);


/* ---- templates (catalog/template.c) ---- */

struct catalog_template_disk {
	char *target;
	char *image_id;
	char *path;
	char *format;
	uint64_t virtual_size;
};
struct catalog_template {
	char *id;
	char *name;
	char *pool;
	char *source_vm;
	char *source_snapshot;
	char *source_snapshot_id;
	char *created;
	struct catalog_template_disk *disks;
	size_t ndisks;
	char **dependents; /* names of VMs whose disks rest on it, NULL-terminated */
	size_t children;   /* layers resting directly on its images */
};
/* Records a template from register_template's args (idempotent). */
int catalog_template_add(struct catalog *cat, int64_t host_id, const json_t *args,
			 const char *now, struct sd_err *err);
int catalog_template_list(struct catalog *cat, int64_t host_id, struct catalog_template **out,
			  size_t *n, struct sd_err *err);
void catalog_templates_free(struct catalog_template *v, size_t n);
/* Removes the template and its image rows; SD_ERR_BUSY while any layer
 * rests on one of its images. */
int catalog_template_remove(struct catalog *cat, int64_t host_id, const char *id,
			    struct sd_err *err);

/* ---- recurring snapshot policies and per-VM limits (catalog/policy.c) ---- */

struct catalog_policy {
	int64_t id;
	int64_t vm_id;
	char *vm_uuid;
	char *vm_name;
	char *name;
	char *every;    /* "hourly", "daily", "weekly", "monthly" */
	char *at;       /* canonical --at, or NULL */
	int64_t keep;   /* > 0 */
	char *disks;    /* targets, comma-separated, or NULL: every disk */
	bool memory;
	char *last_run; /* ISO-8601 UTC: when it last took a snapshot (or was set); or NULL */
	int64_t snapshots; /* how many snapshots it made are still there */
	int64_t vm_limit;  /* the VM's snapshot_limit: 0 the default, < 0 none */
};
void catalog_policy_clear(struct catalog_policy *p);
void catalog_policies_free(struct catalog_policy *v, size_t n);

/* Adds the VM's policy p->name or changes it (every, at, keep, disks,
 * memory; last_run only when it is added). *created (may be NULL) says
 * which; *id (may be NULL) gets its id. */
int catalog_policy_set(struct catalog *cat, int64_t vm_id, const struct catalog_policy *p,
		       bool *created, int64_t *id, struct sd_err *err);
/* The policies of the host's VMs (vm_id 0: of every VM), by VM name, then
 * policy name; caller frees with catalog_policies_free. */
int catalog_policy_list(struct catalog *cat, int64_t host_id, int64_t vm_id,
			struct catalog_policy **out, size_t *n, struct sd_err *err);
/* Removes the VM's policy name (NULL: all its policies); *removed (may be
 * NULL) gets how many. The snapshots they made stay, no longer marked. */
int catalog_policy_delete(struct catalog *cat, int64_t vm_id, const char *name, size_t *removed,
			  struct sd_err *err);
int catalog_policy_set_last_run(struct catalog *cat, int64_t policy_id, const char *when,
				struct sd_err *err);
/* The VM's snapshot limit: > 0 its own, 0 the default, < 0 none. */
int catalog_vm_set_limit(struct catalog *cat, int64_t vm_id, int64_t limit, struct sd_err *err);

#endif
