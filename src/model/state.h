/* What snapdeck knows of one VM: its disks, the layers (images) they rest
 * on, its snapshots and an open preview. Plain data, no I/O: the catalog
 * loads it, the planners read it. */
#ifndef SD_MODEL_STATE_H
#define SD_MODEL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/auto.h"

struct model_image {
	char *id; /* UUID */
	char *path;
	char *format;    /* "qcow2", "raw" */
	char *parent_id; /* backing image, or NULL */
	char *pool;      /* libvirt pool name, or NULL */
	uint64_t virtual_size;
	uint64_t allocated; /* bytes of data it holds (filled by ctl; 0 unknown) */
	bool foreign;       /* not the VM's: a linked clone's layer resting on one of its */
};

struct model_disk {
	char *id;     /* stable disk id (UUID) */
	char *target; /* "vda" */
	char *active_image_id; /* writable top, or NULL when not in the active state */
};

struct model_snapshot_disk {
	char *disk_id;
	char *target;
	char *image_id; /* the frozen layer holding the disk as it was */
};

struct model_snapshot {
	char *id; /* UUID */
	char *name;
	char *parent_id; /* or NULL */
	char *created;   /* ISO-8601 UTC */
	char *description;
	char *domain_xml;
	char *memory_path; /* or NULL */
	bool is_auto;
	bool imported;
	int64_t policy_id; /* 0: none */
	char *policy_name; /* or NULL */
	struct model_snapshot_disk *disks;
	size_t ndisks;
};

/* A preview in progress and the state kept aside to undo it. */
struct model_preview {
	char *config_snapshot; /* NULL: "current" */
	bool memory;
	char *disks_json;  /* {"vda": id|"current"|"exclude"} as requested */
	char *saved_xml;   /* configuration before the preview */
	char *saved_tops;  /* JSON {"disk_id": image_id} before the preview */
	char *saved_current; /* current snapshot before the preview, or NULL */
	char *created;
};

struct model_vm {
	int64_t id;
	int64_t host_id;
	char *uuid;
	char *name;
	char *current_snapshot; /* or NULL */
	char *drift_reason;     /* or NULL */
	int64_t snapshot_limit; /* 0: the default */
	struct model_disk *disks;
	size_t ndisks;
	struct model_image *images; /* every layer any disk or snapshot of the VM uses */
	size_t nimages;
	struct model_snapshot *snapshots; /* tree order: parents before children, then by time */
	size_t nsnapshots;
	struct model_preview *preview; /* or NULL */
};

void model_vm_free(struct model_vm *vm);
SD_DEFINE_AUTO(model_vm, struct model_vm, model_vm_free)
void model_image_clear(struct model_image *img);
void model_snapshot_clear(struct model_snapshot *s);

/* Lookups (NULL when absent). */
const struct model_image *model_vm_image(const struct model_vm *vm, const char *id);
const struct model_image *model_vm_image_by_path(const struct model_vm *vm, const char *path);
const struct model_disk *model_vm_disk(const struct model_vm *vm, const char *target);
const struct model_disk *model_vm_disk_by_id(const struct model_vm *vm, const char *id);
/* By id, or else by name. */
const struct model_snapshot *model_vm_snapshot(const struct model_vm *vm, const char *id_or_name);
const struct model_snapshot_disk *model_snapshot_disk(const struct model_snapshot *s,
						      const char *disk_id);
/* The snapshot's disk with that target ("vda"), or NULL. */
const struct model_snapshot_disk *model_snapshot_disk_by_target(const struct model_snapshot *s,
								const char *target);
/* Did the state kept aside by preview p (may be NULL) have disk disk_id? */
bool model_preview_kept(const struct model_preview *p, const char *disk_id);
/* Every disk target the VM has or any of its snapshots holds, sorted,
 * NULL-terminated; caller frees with sd_strv_free. */
char **model_vm_targets(const struct model_vm *vm);

#endif
