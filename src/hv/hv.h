/* The hypervisor: libvirt through one persistent connection. Only src/hv
 * includes libvirt; the rest of the program sees these types. */
#ifndef SD_HV_HV_H
#define SD_HV_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/auto.h"
#include "util/err.h"

struct hv_conn;

/* Opens uri (NULL: LIBVIRT_DEFAULT_URI, then libvirt's own default). Installs
 * an error handler first, so libvirt never prints behind us. An unreachable
 * daemon or a bad URI gives one clear line in err. */
struct hv_conn *hv_open(const char *uri, bool readonly, struct sd_err *err);
void hv_close(struct hv_conn *conn);
SD_DEFINE_AUTO(hv_conn, struct hv_conn, hv_close)
/* The canonical URI the connection answers to ("qemu:///system"). */
const char *hv_uri(const struct hv_conn *conn);
bool hv_readonly(const struct hv_conn *conn);
/* Quiets libvirt's default printing on stderr; hv_open calls it. */
void hv_init(void);

/* ---- domains ---- */

enum hv_state {
	HV_STATE_NOSTATE,
	HV_STATE_RUNNING,
	HV_STATE_BLOCKED,
	HV_STATE_PAUSED,
	HV_STATE_SHUTDOWN, /* being shut down */
	HV_STATE_SHUTOFF,
	HV_STATE_CRASHED,
	HV_STATE_PMSUSPENDED,
};
/* Stable machine names for JSON: "running", "paused", "shutoff", ... */
const char *hv_state_name(enum hv_state state);
/* Short label for tables: "run", "off", ... (translated) */
const char *hv_state_label(enum hv_state state);
/* Does a QEMU process run the domain (running, paused, being shut down,
 * suspended...)? Then its disks belong to QEMU: live paths only. */
bool hv_state_runs(enum hv_state state);

struct hv_disk {
	char *device;      /* "disk", "cdrom", "floppy", "lun" */
	char *bus;         /* "virtio", "sata", ... or NULL */
	char *target;      /* "vda" */
	char *driver_type; /* "qcow2", "raw", ... or NULL */
	char *source_type; /* "file", "block", "network", "volume", ... */
	/* file path (type file), device path (block), folder (dir); for network
	 * "PROTOCOL:NAME" ("rbd:pool/image", "nbd:export"), or
	 * "PROTOCOL://HOST[:PORT]" when the source has no name; NULL for an
	 * empty cdrom and for type volume (see source_pool/source_volume) */
	char *source;
	char *source_pool;     /* type='volume' only */
	char *source_volume;   /* type='volume' only */
	char *source_protocol; /* type='network' only: "nbd", "rbd", ... */
	bool readonly;
	bool shareable;
};

struct hv_nic {
	char *type;   /* "network", "bridge", "user", ... */
	char *mac;    /* or NULL */
	char *source; /* network or bridge name, or NULL */
	char *model;  /* or NULL */
};

struct hv_domain {
	char *name;
	char uuid[37];
	enum hv_state state;
	bool persistent;
	unsigned vcpus;
	uint64_t memory_kib;
	struct hv_disk *disks;
	size_t ndisks;
	struct hv_nic *nics;
	size_t nnics;
	char *description; /* the <description> text as it is, or NULL */
	char *xml;	   /* the XML it was parsed from (the live one while it runs) */
	char *config_xml;  /* hv_domain_lookup of a running persistent VM: its
			    * configuration (inactive XML); else NULL */
};
void hv_domain_free(struct hv_domain *dom);
SD_DEFINE_AUTO(hv_domain, struct hv_domain, hv_domain_free)
void hv_domains_free(struct hv_domain **v, size_t n);

/* Parses domain XML (libxml2; no network access, no entities). Pure: state
 * is HV_STATE_NOSTATE, persistent false; memory is <memory> in KiB (any
 * unit, rounded up), vcpus 1 when <vcpu> is absent. */
struct hv_domain *hv_domain_parse(const char *xml, struct sd_err *err);

/* Every domain, active and inactive, in one virConnectListAllDomains call,
 * sorted by name. For each, its state and its XML (inactive definition for a
 * shut-off persistent domain, live XML otherwise). */
int hv_domain_list(struct hv_conn *conn, struct hv_domain ***out, size_t *n, struct sd_err *err);
/* A cheap fingerprint of the domains (two list calls, no XML): it changes
 * when a domain is defined, undefined, renamed, started, stopped, paused or
 * resumed. */
int hv_domain_fingerprint(struct hv_conn *conn, uint64_t *fp, struct sd_err *err);
/* By name or UUID; SD_ERR_NOT_FOUND when there is none. */
struct hv_domain *hv_domain_lookup(struct hv_conn *conn, const char *name_or_uuid,
				   struct sd_err *err);
/* Defines (or redefines) a persistent domain from XML. */
int hv_domain_define(struct hv_conn *conn, const char *xml, struct sd_err *err);
/* Destroys (when running) and undefines (also its libvirt snapshot metadata,
 * managed save and nvram). An absent domain is not an error. */
int hv_domain_remove(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err);
/* Starts a defined domain; SD_ERR_STATE when it already runs. */
int hv_domain_start(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err);
/* Stops a domain at once (power off); SD_ERR_STATE when it does not run. */
int hv_domain_destroy(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err);

/* What the demo and tests need to build a new domain. */
struct hv_domain_spec {
	const char *name;
	const char *uuid;     /* NULL: libvirt chooses */
	const char *type;     /* "kvm" or "qemu" */
	unsigned vcpus;
	uint64_t memory_kib;
	const char *description; /* or NULL */
	size_t ndisks;
	struct {
		const char *target; /* "vda" */
		const char *path;
		const char *format; /* "qcow2", "raw" */
	} disks[16];
};
/* Builds domain XML (pure; caller frees): x86_64 'pc' machine, the disks
 * as virtio files (driver type = format when given), a serial console, no
 * network interface. type NULL: hv_domain_type_default(); vcpus 0: 1. */
char *hv_domain_xml_build(const struct hv_domain_spec *spec);
/* "kvm" when /dev/kvm can be used, "qemu" (TCG) otherwise. As root, /dev/kvm
 * must also be open to its group (not root) or to others, since libvirt runs
 * QEMU as an unprivileged user. */
const char *hv_domain_type_default(void);

/* One disk's new source for hv_domain_xml_edit. */
struct hv_disk_source {
	const char *target; /* "vda" */
	const char *path;   /* new file path */
	const char *format; /* "qcow2", "raw" */
};
/* A disk element to copy in from another domain XML (a snapshot's). */
struct hv_disk_import {
	const char *target;
	const char *from_xml; /* domain XML that has a <disk> with that target */
};
/* Rewrites domain XML (pure; caller frees the result): sets <name> and <uuid>
 * when given (NULL keeps them); for each source, the <disk> with that target
 * gets type='file', <source file='path'/> (other source attributes and child
 * elements of <source> dropped), <driver type='format'/> (name='qemu' kept or
 * added), and every <backingStore> element inside that disk is removed; the
 * disks whose targets are in remove[] are deleted; the disks of imports[] are
 * copied from their from_xml (replacing a disk with the same target, or
 * appended after the last <disk> in <devices>) before the sources are
 * applied. A target named in sources or imports that ends up absent is an
 * error (SD_ERR_INVALID, "no disk vdb in the configuration"). Devices other
 * than those disks are untouched. The XML declaration is not emitted.
 * Order: imports, then removals (so a target both imported and removed is
 * that error), then sources; removing an absent target is fine. */
char *hv_domain_xml_edit(const char *xml, const char *name, const char *uuid,
			 const struct hv_disk_source *sources, size_t nsources,
			 const char *const *remove, size_t nremove,
			 const struct hv_disk_import *imports, size_t nimports, struct sd_err *err);
/* The disk targets of device type "disk" in a domain XML, in document order,
 * NULL-terminated (caller frees with sd_strv_free). NULL on bad XML. */
char **hv_domain_xml_disk_targets(const char *xml, struct sd_err *err);

/* A clone's identity (pure; caller frees): the <mac address> of each
 * <interface> in document order becomes macs[i] (more interfaces than macs:
 * SD_ERR_INVALID); <os><nvram> is dropped; vcpus > 0 sets <vcpu> (and drops
 * <vcpus> and a <cpu><topology>); memory_kib > 0 sets <memory> and
 * <currentMemory> (KiB) and drops <maxMemory>. Name, UUID and disks:
 * hv_domain_xml_edit. */
char *hv_domain_xml_set_identity(const char *xml, const char *const *macs, size_t nmacs,
				 unsigned vcpus, uint64_t memory_kib, struct sd_err *err);
/* Every <interface> becomes type='network' with <source network='NAME'/>
 * (deploy --network). */
char *hv_domain_xml_set_network(const char *xml, const char *network, struct sd_err *err);

/* ---- storage ---- */

struct hv_pool {
	char *name;
	char *type; /* "dir", ... */
	char *path; /* target path, or NULL */
	bool active;
	bool autostart;
	uint64_t capacity, allocation, available;
};
void hv_pools_free(struct hv_pool *v, size_t n);
void hv_pool_clear(struct hv_pool *p);
int hv_pool_list(struct hv_conn *conn, struct hv_pool **out, size_t *n, struct sd_err *err);
/* 1 found (out filled), 0 none, -1 error. */
int hv_pool_get(struct hv_conn *conn, const char *name, struct hv_pool *out, struct sd_err *err);
/* The pool whose target path holds file path (its folder), or 0 when none. */
int hv_pool_for_path(struct hv_conn *conn, const char *path, struct hv_pool *out,
		     struct sd_err *err);
/* Defines, builds (mkdir), starts and autostarts a dir pool; an existing
 * pool of that name with that path is fine (idempotent: it is started if it
 * is not running). The same name with another folder: SD_ERR_EXISTS; a
 * relative path: SD_ERR_INVALID. */
int hv_pool_ensure_dir(struct hv_conn *conn, const char *name, const char *path,
		       struct sd_err *err);
/* Destroys and undefines a pool; its folder and files stay. Absent: fine. */
int hv_pool_remove(struct hv_conn *conn, const char *name, struct sd_err *err);
/* Refreshes a pool (retried while a volume copy keeps it busy);
 * SD_ERR_NOT_FOUND when there is no such pool. */
int hv_pool_refresh(struct hv_conn *conn, const char *name, struct sd_err *err);
/* Fills out->type and out->path from pool XML (pure; other fields stay as
 * they are). */
int hv_pool_parse(const char *xml, struct hv_pool *out, struct sd_err *err);

struct hv_volume {
	char *name;
	char *path;
	char *format;  /* "qcow2", "raw", ... */
	char *backing; /* backing file path or NULL */
	uint64_t capacity, allocation;
};
void hv_volumes_free(struct hv_volume *v, size_t n);
int hv_volume_list(struct hv_conn *conn, const char *pool, struct hv_volume **out, size_t *n,
		   struct sd_err *err);
/* Creates a volume in pool: qcow2 (compat 1.1, always) or raw, capacity in
 * bytes (0 with a backing file: the backing file's size). backing may be
 * NULL. *path_out (may be NULL) gets the new file's path. An existing name
 * gives SD_ERR_EXISTS. */
int hv_volume_create(struct hv_conn *conn, const char *pool, const char *name,
		     const char *format, uint64_t capacity, const char *backing,
		     const char *backing_format, char **path_out, struct sd_err *err);
/* Deletes the volume at path (by libvirt); an absent one is not an error.
 * A file the pool has not seen yet is found after a refresh of its pool. */
int hv_volume_delete_path(struct hv_conn *conn, const char *path, struct sd_err *err);
/* Replaces the contents of out (old strings freed: zero it before the
 * first use) with the name, <target><path>, format, backing path, capacity
 * and allocation (bytes) of volume XML (pure). On error out is unchanged. */
int hv_volume_parse(const char *xml, struct hv_volume *out, struct sd_err *err);
void hv_volume_clear(struct hv_volume *v);
/* Builds volume XML (pure; caller frees): qcow2 always gets compat 1.1;
 * capacity 0 with a backing file leaves <capacity> out; backing_format
 * NULL leaves the backing format to libvirt. */
char *hv_volume_xml_build(const char *name, const char *format, uint64_t capacity,
			  const char *backing, const char *backing_format);

#endif
