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

#endif
