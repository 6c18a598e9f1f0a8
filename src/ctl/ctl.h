/* The controller: the operations both faces (CLI and console) call. It owns
 * the libvirt connection and the catalog for one host. */
#ifndef SD_CTL_CTL_H
#define SD_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/catalog.h"
#include "hv/hv.h"
#include "util/auto.h"
#include "util/err.h"

struct ctl_options {
	const char *uri;          /* NULL: libvirt's default */
	const char *catalog_path; /* NULL: catalog_default_path() */
	bool readonly;            /* read-only libvirt; the catalog is not written */
};

struct ctl {
	struct hv_conn *hv;
	struct catalog *cat; /* NULL only in read-only mode when no catalog exists yet */
	int64_t host_id;     /* -1 when the catalog does not know this host yet */
	bool readonly;
};

/* Connects to libvirt, then opens (and migrates) the catalog. */
struct ctl *ctl_open(const struct ctl_options *opts, struct sd_err *err);
/* The catalog alone, for a first look before libvirt answers: the host is
 * found by the URI asked for (opts->uri, else LIBVIRT_DEFAULT_URI); host_id
 * stays -1 (and cat NULL) when that is not known or there is no catalog
 * yet. hv is NULL until ctl_connect; nothing but ctl_vm_list_cached may be
 * called before. */
struct ctl *ctl_open_catalog(const struct ctl_options *opts, struct sd_err *err);
/* Connects libvirt (when not yet) and records the host as ctl_open does. */
int ctl_connect(struct ctl *ctl, const struct ctl_options *opts, struct sd_err *err);
void ctl_close(struct ctl *ctl);
/* fork() for a controller: its catalog connection is closed first (SQLite
 * must not see a connection cross a fork) and reopened in the parent, and
 * libvirt's event loop is paused across it (no loop lock held in the
 * child). The child's controller has no catalog: it opens its own. Returns
 * the pid, 0 in the child, -1 when fork failed (err set). In the parent, a
 * catalog that cannot be reopened leaves ctl->cat NULL, with err set. */
pid_t ctl_fork(struct ctl *ctl, struct sd_err *err);
SD_DEFINE_AUTO(ctl, struct ctl, ctl_close)
/* 0 when the controller may change things; -1 with err when it is read-only
 * or has no catalog. */
int ctl_need_writable(const struct ctl *ctl, struct sd_err *err);

/* ---- VMs ---- */

struct ctl_vm_row {
	char *name;
	char uuid[37];
	enum hv_state state;
	size_t disks;     /* devices of type "disk" */
	int64_t snapshots;
	bool in_preview;
	bool drifted;
	char *busy;       /* operation holding the VM, or NULL */
};
void ctl_vm_rows_free(struct ctl_vm_row *rows, size_t n);
/* Every VM of the host, by name; registers new and changed ones and their
 * disks. */
int ctl_vm_list(struct ctl *ctl, struct ctl_vm_row **rows, size_t *n, struct sd_err *err);
/* The VMs the catalog knows for the host, without asking libvirt: state
 * HV_STATE_NOSTATE, disks as registered. */
int ctl_vm_list_cached(struct ctl *ctl, struct ctl_vm_row **rows, size_t *n,
		       struct sd_err *err);

struct ctl_disk {
	char *target;
	char *disk_id;     /* stable id from the catalog, or NULL (read-only, unregistered) */
	char *device;      /* "disk", "cdrom", ... */
	char *format;      /* driver type, or the format qemu-img reports */
	char *source_type; /* "file", "block", "network", ... */
	char *active;      /* the writable top (source), or NULL */
	char **chain;      /* top first, base last; NULL-terminated; the active first */
	char *problem;     /* why the chain could not be read, or NULL */
	bool readonly;
};

struct ctl_vm_detail {
	struct hv_domain *dom;
	char *current_snapshot; /* id or NULL */
	bool in_preview;
	char *preview_config; /* snapshot id, or NULL for "current" */
	bool preview_memory;
	char *preview_disks;  /* JSON text {"vda": id|"current"|"exclude"} */
	bool drifted;
	char *drift_reason;
	struct ctl_disk *disks;
	size_t ndisks;
};
void ctl_vm_detail_free(struct ctl_vm_detail *d);
SD_DEFINE_AUTO(ctl_vm_detail, struct ctl_vm_detail, ctl_vm_detail_free)
/* One VM by name or UUID, with every disk's backing chain; registers it. */
struct ctl_vm_detail *ctl_vm_show(struct ctl *ctl, const char *vm, struct sd_err *err);

/* ---- the demo host ---- */

struct ctl_demo_options {
	const char *dir;    /* NULL: /var/lib/snapdeck/<prefix> */
	const char *prefix; /* NULL: "demo" (pool snapdeck-demo, VMs demo-web, ...) */
};
/* Progress lines for the caller (may be NULL). */
typedef void (*ctl_say_fn)(const char *line, void *opaque);
/* Makes the demo pool, volumes (with data patterns) and VMs; what exists is
 * kept (idempotent). */
int ctl_demo_setup(struct ctl *ctl, const struct ctl_demo_options *o, ctl_say_fn say,
		   void *opaque, struct sd_err *err);
/* Removes exactly what setup made: the demo VMs, their volumes, the pool and
 * their catalog rows. */
int ctl_demo_teardown(struct ctl *ctl, const struct ctl_demo_options *o, ctl_say_fn say,
		      void *opaque, struct sd_err *err);

/* Demo layout, shared with the tests: the VMs and their disks. */
struct ctl_demo_disk {
	const char *target;
	uint64_t size;
	int pattern; /* the byte written at the disk's demo regions */
};
struct ctl_demo_vm {
	const char *suffix; /* "web" -> "<prefix>-web" */
	unsigned vcpus;
	uint64_t memory_mib;
	size_t ndisks;
	struct ctl_demo_disk disks[3];
};
extern const struct ctl_demo_vm ctl_demo_vms[];
extern const size_t ctl_demo_nvms;
/* The regions every demo disk gets its pattern at: offset, length. */
extern const uint64_t ctl_demo_regions[][2];
extern const size_t ctl_demo_nregions;

#endif
