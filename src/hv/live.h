/* libvirt for running domains (DESIGN.md, issue 6): live external
 * snapshots, block jobs, memory state, shutdown, the event loop and
 * reconnecting. Only src/hv includes libvirt; the rest sees these. */
#ifndef SD_HV_LIVE_H
#define SD_HV_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"
#include "util/err.h"

/* ---- live external snapshot ---- */

struct hv_live_disk {
	const char *target; /* "vda" */
	const char *path;   /* the new top, made already (qcow2 on the current top);
			     * NULL: the disk is left out (snapshot='no') */
};
struct hv_live_snapshot {
	const struct hv_live_disk *disks; /* every disk of the domain ("disk" device) */
	size_t ndisks;
	const char *memory_path; /* NULL: disks only; else the memory state file */
	bool quiesce;		 /* through the guest agent */
};
/* One atomic external snapshot of a running domain, reusing the new tops
 * made beforehand (REUSE_EXT | NO_METADATA | ATOMIC, DISK_ONLY without
 * memory; libvirt 9.0 takes NO_METADATA with a memory file too; ~0.1 s).
 * The domain keeps running (a memory snapshot pauses it while the memory
 * is written, then resumes it). A domain that does not run: SD_ERR_STATE.
 * A quiesce without an answering guest agent (none configured, or not
 * connected) fails with SD_ERR_STATE ("VM x has no guest agent answering:
 * cannot quiesce") and changes nothing. */
int hv_live_snapshot(struct hv_conn *conn, const char *uuid, const struct hv_live_snapshot *s,
		     struct sd_err *err);
/* The XML of hv_live_snapshot (pure, for tests and --dry-run; caller frees). */
char *hv_live_snapshot_xml(const struct hv_live_snapshot *s);

/* ---- block jobs ---- */

enum hv_job_kind {
	HV_JOB_COMMIT,	      /* top's data into base; top is not the active layer */
	HV_JOB_ACTIVE_COMMIT, /* the active layer into base, then pivot to base */
	HV_JOB_PULL,	      /* base's data (the layers between) up into the active layer */
};
struct hv_job {
	enum hv_job_kind kind;
	const char *target; /* "vda" */
	const char *base;   /* path: commit into / pull from above (NULL for pull: whole chain) */
	const char *top;    /* path: COMMIT's top layer (ignored by the others) */
	unsigned long bandwidth_mib; /* MiB/s the job may copy; 0: no limit */
};
/* Progress callback: bytes done and total as libvirt says (total is the
 * disk's size for a commit; pull jumps); returns false to cancel (the job
 * is aborted; the chain stays as it was). It runs on the caller's thread
 * with SIGPIPE held (see below). */
typedef bool (*hv_job_progress_fn)(uint64_t done, uint64_t total, void *opaque);
/* Runs a block job to its end, polling its progress every 100 ms: COMMIT
 * and PULL until they finish; ACTIVE_COMMIT until libvirt says the mirror
 * is ready (the domain XML's <mirror ready='yes'>, no event loop needed),
 * then pivots (ABORT_PIVOT | ASYNC, and waits for the job to go). Paths are
 * compared as libvirt shows them (absolute); backing names are written
 * absolute (libvirt 9.0 refuses COMMIT_RELATIVE on absolute chains: "can't
 * keep relative backing relationship"). A job the caller cancels is aborted
 * (ASYNC, waited for): SD_ERR_STATE "cancelled", or 0 when it finished
 * before the abort took. A vanished connection is reconnected (every 0.5 s,
 * up to 30 s) and the job looked up again. A job gone counts as finished
 * when the domain's chain for target shows its work done (COMMIT: top no
 * longer in it; ACTIVE_COMMIT: base on top; PULL: base right below the top,
 * or the top alone without a base), else failed. Idempotent: a job of the
 * same kind already running on target (after a crash) is waited for rather
 * than started again (another kind: SD_ERR_BUSY), and a job whose work the
 * chain shows done already returns 0 at once. A base that is not in the
 * chain: SD_ERR_INVALID. A job asked to pivot or abort that is still there
 * 60 s later, or a pivot or abort refused 20 times in a row: SD_ERR_HV.
 * SIGPIPE raised meanwhile on this thread (libvirtd gone) is dropped, so
 * that a process that does not ignore SIGPIPE (the CLI) survives. */
int hv_block_job_run(struct hv_conn *conn, const char *uuid, const struct hv_job *job,
		     hv_job_progress_fn progress, void *opaque, struct sd_err *err);
/* The running domain's backing chain of target as libvirt sees it, top
 * first, NULL-terminated (caller frees with sd_strv_free). */
char **hv_live_chain(struct hv_conn *conn, const char *uuid, const char *target,
		     struct sd_err *err);
/* The same from domain XML (pure): the disk's <source> and its nested
 * <backingStore><source>; an empty <backingStore/> or none ends it (an
 * inactive definition gives the top alone). No such disk: SD_ERR_NOT_FOUND. */
char **hv_live_chain_parse(const char *xml, const char *target, struct sd_err *err);

/* ---- memory state ---- */

/* Starts a shut-off domain from a memory state file (an external
 * snapshot's memory) on new disk tops: reads the saved XML
 * (virDomainSaveImageGetXMLDesc SECURE), sets each target's source to
 * tops[i].path as a qcow2 file (ntops entries, or up to one whose target is
 * NULL; a NULL path leaves that disk as saved), removes every
 * <backingStore> of those disks (else QEMU opens the overlays without
 * backing), and restores it running (virDomainRestoreFlags). A domain
 * running already: SD_ERR_STATE. */
int hv_domain_restore(struct hv_conn *conn, const char *memory_path,
		      const struct hv_live_disk *tops, size_t ntops, struct sd_err *err);
/* The XML the restore would use (pure part: edits saved_xml with
 * hv_domain_xml_edit; caller frees). A target not in it: SD_ERR_INVALID. */
char *hv_restore_xml(const char *saved_xml, const struct hv_live_disk *tops, size_t ntops,
		     struct sd_err *err);

/* ---- start and stop ---- */

/* Asks the guest to shut down (ACPI | AGENT: libvirt uses the agent when
 * one is configured and falls back to ACPI; a driver without modes gets
 * the default) and polls every 100 ms up to timeout_s for it to be off;
 * SD_ERR_STATE when it does not run, SD_ERR_BUSY ("did not shut down
 * within N s; stop --force powers it off") on timeout. A guest still in its
 * BIOS ignores ACPI: the timeout path. */
int hv_domain_shutdown(struct hv_conn *conn, const char *name_or_uuid, int timeout_s,
		       struct sd_err *err);

/* ---- the event loop ---- */

/* Registers libvirt's default event loop and runs it in a thread. Call once
 * (again: no-op), before any connection is opened, in processes that want
 * events. */
int hv_events_start(struct sd_err *err);
/* Stop the loop thread around fork() (no libvirt lock may be held in the
 * child): pause returns once the thread has left the loop (joined); resume
 * starts it again. They nest (a counter). No-ops when the loop was never
 * started. A child may open its own connections and use them without a
 * loop. */
void hv_events_pause(void);
void hv_events_resume(void);
/* Sets *flag (from the loop thread) whenever a domain of conn starts,
 * stops, is defined or undefined, suspends or resumes (libvirt's LIFECYCLE
 * events); hv_reconnect sets it too. Needs hv_events_start (else
 * SD_ERR_INTERNAL). The watch lasts as long as conn. */
int hv_watch_domains(struct hv_conn *conn, volatile int *flag, struct sd_err *err);
/* True once libvirt closed conn (libvirtd went away): told by libvirt's
 * close callback when the loop runs, else noticed by the first call that
 * fails (virConnectIsAlive). */
bool hv_conn_closed(struct hv_conn *conn);
/* Opens the connection again on the same URI and mode (after libvirtd
 * restarted); on failure conn stays as it was (retry). Watches set on it
 * are set again, and their flags set (what happened meanwhile is unknown).
 * The old connection is closed by hv_close only: another thread in a call
 * on conn meanwhile keeps a valid handle (its call fails, the next one
 * uses the new connection). */
int hv_reconnect(struct hv_conn *conn, struct sd_err *err);

#endif
