/* Running domains through libvirt: live external snapshots, block jobs
 * (commit, active commit with pivot, pull), the live backing chain,
 * restoring a memory state onto new overlays, and a clean shutdown. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "hv/live.h"
#include "hv/priv.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/uuid.h"

#define POLL_MS 100
#define RECONNECT_MS 500
#define RECONNECT_S 30
#define END_S 60       /* a job asked to pivot or abort is gone by then */
#define ABORT_TRIES 20 /* pivots or aborts refused in a row before giving up */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The <disk> of target in a domain document, or NULL. */
static xmlNode *find_disk(xmlDoc *doc, const char *target)
{
	xmlNode *devices = hv_xml_child(xmlDocGetRootElement(doc), "devices");

	for (xmlNode *d = devices ? devices->children : NULL; d; d = d->next) {
		SD_AUTOFREE char *dev = NULL;

		if (!is_element(d, "disk"))
			continue;
		dev = hv_xml_prop(hv_xml_child(d, "target"), "dev");
		if (sd_str_eq(dev, target))
			return d;
	}
	return NULL;
}

/* The libvirt domain of name_or_uuid (a UUID first, then a name); NULL with
 * libvirt's error left for the caller (VIR_ERR_NO_DOMAIN when absent). */
static virDomainPtr dom_get(struct hv_conn *c, const char *name_or_uuid)
{
	virDomainPtr d = NULL;

	if (sd_uuid_valid(name_or_uuid)) {
		d = virDomainLookupByUUIDString(c->conn, name_or_uuid);
		if (d || hv_errcode() != VIR_ERR_NO_DOMAIN)
			return d;
	}
	return virDomainLookupByName(c->conn, name_or_uuid);
}

/* dom_get with the error told in err. */
static virDomainPtr dom_get_err(struct hv_conn *c, const char *name_or_uuid, struct sd_err *err)
{
	virDomainPtr d;

	if (!name_or_uuid || !*name_or_uuid) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), "");
		return NULL;
	}
	d = dom_get(c, name_or_uuid);
	if (d)
		return d;
	if (hv_errcode() == VIR_ERR_NO_DOMAIN)
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), name_or_uuid);
	else
		sd_err_set(err, SD_ERR_HV, _("cannot look up VM '%s': %s"), name_or_uuid,
			   hv_errmsg());
	return NULL;
}

/* ---- live external snapshot ---- */

char *hv_live_snapshot_xml(const struct hv_live_snapshot *s)
{
	SD_AUTO(xml_doc) *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *mem, *disks;

	if (!doc)
		sd_oom();
	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"domainsnapshot", NULL);
	if (!root)
		sd_oom();
	xmlDocSetRootElement(doc, root);
	mem = hv_xml_add(root, "memory", NULL);
	if (s->memory_path) {
		hv_xml_set(mem, "snapshot", "external");
		hv_xml_set(mem, "file", s->memory_path);
	} else {
		hv_xml_set(mem, "snapshot", "no");
	}
	disks = hv_xml_add(root, "disks", NULL);
	for (size_t i = 0; i < s->ndisks; i++) {
		const struct hv_live_disk *ld = &s->disks[i];
		xmlNode *disk = hv_xml_add(disks, "disk", NULL), *n;

		hv_xml_set(disk, "name", ld->target ? ld->target : "");
		if (!ld->path) {
			hv_xml_set(disk, "snapshot", "no");
			continue;
		}
		hv_xml_set(disk, "snapshot", "external");
		hv_xml_set(disk, "type", "file");
		n = hv_xml_add(disk, "driver", NULL);
		hv_xml_set(n, "type", "qcow2");
		n = hv_xml_add(disk, "source", NULL);
		hv_xml_set(n, "file", ld->path);
	}
	return hv_xml_dump(doc);
}

/* True when the last error says the guest agent cannot be used: not
 * configured (VIR_ERR_ARGUMENT_UNSUPPORTED "QEMU guest agent is not
 * configured") or configured but not answering (VIR_ERR_AGENT_UNRESPONSIVE). */
static bool agent_missing(void)
{
	int code = hv_errcode();
	const char *m = virGetLastErrorMessage();

	if (code == VIR_ERR_AGENT_UNRESPONSIVE)
		return true;
	return (code == VIR_ERR_ARGUMENT_UNSUPPORTED || code == VIR_ERR_OPERATION_UNSUPPORTED) &&
	       m && strstr(m, "agent");
}

int hv_live_snapshot(struct hv_conn *conn, const char *uuid, const struct hv_live_snapshot *s,
		     struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = NULL;
	SD_AUTOFREE char *xml = NULL;
	unsigned flags = VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT |
			 VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA | VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
	virDomainSnapshotPtr snap;
	const char *name;
	bool any = false;

	for (size_t i = 0; i < s->ndisks; i++) {
		if (!s->disks[i].target || !*s->disks[i].target) {
			sd_err_set(err, SD_ERR_INVALID, _("a disk of the snapshot has no target"));
			return -1;
		}
		if (s->disks[i].path && !*s->disks[i].path) {
			sd_err_set(err, SD_ERR_INVALID, _("disk %s: empty path for its new top"),
				   s->disks[i].target);
			return -1;
		}
		any |= s->disks[i].path != NULL;
	}
	if (!any && !s->memory_path) {
		sd_err_set(err, SD_ERR_INVALID, _("a snapshot of nothing: no disk and no memory"));
		return -1;
	}
	d = dom_get_err(conn, uuid, err);
	if (!d)
		return -1;
	name = virDomainGetName(d);
	if (virDomainIsActive(d) == 0) {
		sd_err_set(err, SD_ERR_STATE, _("VM '%s' is not running"), name);
		return -1;
	}
	if (!s->memory_path)
		flags |= VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
	if (s->quiesce)
		flags |= VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
	xml = hv_live_snapshot_xml(s);
	snap = virDomainSnapshotCreateXML(d, xml, flags);
	if (!snap) {
		if (s->quiesce && agent_missing())
			sd_err_set(err, SD_ERR_STATE,
				   _("VM %s has no guest agent answering: cannot quiesce"), name);
		else if (hv_errcode() == VIR_ERR_OPERATION_INVALID)
			sd_err_set(err, SD_ERR_STATE, _("cannot snapshot VM '%s': %s"), name,
				   hv_errmsg());
		else
			sd_err_set(err, SD_ERR_HV, _("cannot snapshot VM '%s': %s"), name,
				   hv_errmsg());
		return -1;
	}
	virDomainSnapshotFree(snap);
	return 0;
}

/* ---- the live chain ---- */

/* The path a <source> names (file, or dev for a block device), or NULL. */
static char *source_path(const xmlNode *src)
{
	char *p = hv_xml_prop(src, "file");

	if (!p)
		p = hv_xml_prop(src, "dev");
	return p;
}

char **hv_live_chain_parse(const char *xml, const char *target, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	const xmlNode *disk, *layer;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	disk = find_disk(doc, target);
	if (!disk) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no disk %s in the VM"), target);
		return NULL;
	}
	sd_grow(&v, &cap, 1, sizeof(*v));
	v[0] = NULL;
	/* <disk><source/><backingStore><source/><backingStore>...</backingStore>:
	 * an empty <backingStore/> (or none) ends the chain */
	for (layer = disk; layer; layer = hv_xml_child(layer, "backingStore")) {
		char *p = source_path(hv_xml_child(layer, "source"));

		if (!p)
			break;
		sd_grow(&v, &cap, n + 2, sizeof(*v));
		v[n++] = p;
		v[n] = NULL;
	}
	if (n == 0) {
		sd_strv_free(v);
		sd_err_set(err, SD_ERR_INVALID, _("disk %s has no file source"), target);
		return NULL;
	}
	return v;
}

/* The chain of target of domain d (live XML). */
static char **chain_of(virDomainPtr d, const char *target, struct sd_err *err)
{
	SD_AUTOFREE char *xml = virDomainGetXMLDesc(d, 0);

	if (!xml) {
		sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"), virDomainGetName(d),
			   hv_errmsg());
		return NULL;
	}
	return hv_live_chain_parse(xml, target, err);
}

char **hv_live_chain(struct hv_conn *conn, const char *uuid, const char *target, struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = dom_get_err(conn, uuid, err);

	if (!d)
		return NULL;
	return chain_of(d, target, err);
}

/* ---- block jobs ---- */

static const char *job_label(enum hv_job_kind kind)
{
	switch (kind) {
	case HV_JOB_COMMIT:
		return _("block commit");
	case HV_JOB_ACTIVE_COMMIT:
		return _("active block commit");
	case HV_JOB_PULL:
		return _("block pull");
	}
	return "?";
}

static int job_type(enum hv_job_kind kind)
{
	switch (kind) {
	case HV_JOB_COMMIT:
		return VIR_DOMAIN_BLOCK_JOB_TYPE_COMMIT;
	case HV_JOB_ACTIVE_COMMIT:
		return VIR_DOMAIN_BLOCK_JOB_TYPE_ACTIVE_COMMIT;
	case HV_JOB_PULL:
		return VIR_DOMAIN_BLOCK_JOB_TYPE_PULL;
	}
	return -1;
}

static ssize_t strv_index(char **v, const char *s)
{
	for (size_t i = 0; s && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return (ssize_t)i;
	return -1;
}

/* Does chain show the work of job done (1), not done (0), or not hold the
 * job's base at all (-1)? */
static int job_done(const struct hv_job *job, char **chain)
{
	ssize_t ib = strv_index(chain, job->base);

	if (job->base && ib < 0)
		return -1;
	switch (job->kind) {
	case HV_JOB_COMMIT:
		return strv_index(chain, job->top) < 0;
	case HV_JOB_ACTIVE_COMMIT:
		return ib == 0;
	case HV_JOB_PULL:
		return job->base ? ib == 1 : sd_strv_len(chain) == 1;
	}
	return -1;
}

/* Is the <mirror> of target ready (the domain XML says ready='yes')?
 * -1 when the XML cannot be read. */
static int mirror_ready(virDomainPtr d, const char *target)
{
	SD_AUTOFREE char *xml = virDomainGetXMLDesc(d, 0);
	SD_AUTO(xml_doc) *doc = NULL;
	SD_AUTOFREE char *ready = NULL;
	struct sd_err perr = SD_ERR_INIT;

	if (!xml)
		return -1;
	doc = hv_xml_read(xml, &perr);
	if (!doc)
		return 0;
	ready = hv_xml_prop(hv_xml_child(find_disk(doc, target), "mirror"), "ready");
	return sd_str_eq(ready, "yes");
}

struct run {
	struct hv_conn *c;
	const char *uuid;
	const struct hv_job *job;
	virDomainPtr d;
	char *name; /* for messages */
};

/* Opens the connection again, every RECONNECT_MS for up to RECONNECT_S. */
static int reconnect_wait(struct hv_conn *c, struct sd_err *err)
{
	double deadline = now_s() + RECONNECT_S;
	struct sd_err lerr = SD_ERR_INIT;

	for (;;) {
		sd_err_clear(&lerr);
		if (hv_reconnect(c, &lerr) == 0)
			return 0;
		if (now_s() >= deadline)
			break;
		sleep_ms(RECONNECT_MS);
	}
	sd_err_set(err, SD_ERR_HV,
		   _("lost the connection to libvirt and could not get it back in %d s: %s"),
		   RECONNECT_S, lerr.msg);
	return -1;
}

/* After a failed call: 1 when the connection was lost and is back (try
 * again), 0 when the error is a real one (still the last libvirt error), -1
 * when reconnecting failed (err set). */
static int recover(struct run *r, struct sd_err *err)
{
	if (!hv_conn_lost(r->c))
		return 0;
	sd_debug("%s on %s: connection lost (%s), reconnecting", job_label(r->job->kind),
		 r->job->target, hv_errmsg());
	if (r->d)
		virDomainFree(r->d);
	r->d = NULL;
	return reconnect_wait(r->c, err) < 0 ? -1 : 1;
}

/* r->d looked up (again); 1 when it is there, 0 after a reconnect (try
 * again), -1 with err. */
static int run_domain(struct run *r, struct sd_err *err)
{
	int rc;

	if (r->d)
		return 1;
	r->d = dom_get(r->c, r->uuid);
	if (r->d) {
		if (!r->name)
			r->name = sd_strdup(virDomainGetName(r->d));
		return 1;
	}
	rc = recover(r, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (hv_errcode() == VIR_ERR_NO_DOMAIN)
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), r->uuid);
	else
		sd_err_set(err, SD_ERR_HV, _("cannot look up VM '%s': %s"), r->uuid, hv_errmsg());
	return -1;
}

static const char *run_name(const struct run *r)
{
	return r->name ? r->name : r->uuid;
}

/* The chain of the job's target, or NULL: *again set when the connection
 * was lost and is back. */
static char **run_chain(struct run *r, bool *again, struct sd_err *err)
{
	SD_AUTOFREE char *xml = NULL;

	*again = false;
	xml = virDomainGetXMLDesc(r->d, 0);
	if (!xml) {
		int rc = recover(r, err);

		if (rc > 0) {
			*again = true;
			return NULL;
		}
		if (rc == 0)
			sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"), run_name(r),
				   hv_errmsg());
		return NULL;
	}
	return hv_live_chain_parse(xml, r->job->target, err);
}

static int job_start(struct run *r)
{
	const struct hv_job *j = r->job;
	unsigned long bw = j->bandwidth_mib;

	switch (j->kind) {
	case HV_JOB_COMMIT:
		return virDomainBlockCommit(r->d, j->target, j->base, j->top, bw, 0);
	case HV_JOB_ACTIVE_COMMIT:
		return virDomainBlockCommit(r->d, j->target, j->base, NULL, bw,
					    VIR_DOMAIN_BLOCK_COMMIT_ACTIVE);
	case HV_JOB_PULL:
		if (j->base)
			return virDomainBlockRebase(r->d, j->target, j->base, bw, 0);
		return virDomainBlockPull(r->d, j->target, bw, 0);
	}
	return -1;
}

static int job_check(const struct hv_job *job, struct sd_err *err)
{
	if (!job->target || !*job->target) {
		sd_err_set(err, SD_ERR_INVALID, _("a block job needs a disk target"));
		return -1;
	}
	if ((job->kind == HV_JOB_COMMIT || job->kind == HV_JOB_ACTIVE_COMMIT) &&
	    (!job->base || !*job->base)) {
		sd_err_set(err, SD_ERR_INVALID, _("a block commit needs a base"));
		return -1;
	}
	if (job->kind == HV_JOB_COMMIT && (!job->top || !*job->top)) {
		sd_err_set(err, SD_ERR_INVALID, _("a block commit needs a top layer"));
		return -1;
	}
	return 0;
}

enum run_phase {
	PHASE_START,  /* no job of ours seen yet */
	PHASE_RUN,    /* running (ours, or one found running) */
	PHASE_PIVOT,  /* pivot asked: waiting for the job to go */
	PHASE_CANCEL, /* abort asked: waiting for the job to go */
};

/* The loop of hv_block_job_run; r->d may be NULL (looked up first). */
static int job_loop(struct run *r, hv_job_progress_fn progress, void *opaque, struct sd_err *err)
{
	const struct hv_job *job = r->job;
	enum run_phase phase = PHASE_START;
	bool resend = false;  /* the pivot or abort (again) */
	unsigned refused = 0; /* pivots or aborts refused in a row */
	double end_by = 0;    /* the job must be gone by then, once asked to go */

	for (;;) {
		virDomainBlockJobInfo info;
		int rc = run_domain(r, err);

		if (rc < 0)
			return -1;
		if (rc == 0) {
			resend = phase >= PHASE_PIVOT;
			continue;
		}
		memset(&info, 0, sizeof(info));
		rc = virDomainGetBlockJobInfo(r->d, job->target, &info, 0);
		if (rc < 0) {
			rc = recover(r, err);
			if (rc > 0) {
				resend = phase >= PHASE_PIVOT;
				continue;
			}
			if (rc == 0)
				sd_err_set(err,
					   hv_errcode() == VIR_ERR_OPERATION_INVALID ? SD_ERR_STATE
										     : SD_ERR_HV,
					   _("cannot follow the %s on %s of VM '%s': %s"),
					   job_label(job->kind), job->target, run_name(r),
					   hv_errmsg());
			return -1;
		}

		if (rc == 0) {
			/* no job: done already, gone (finished or failed), or
			 * to be started */
			bool again;
			char **chain = run_chain(r, &again, err);
			int done;

			if (!chain) {
				if (again)
					continue;
				return -1;
			}
			done = job_done(job, chain);
			sd_strv_free(chain);
			if (done > 0)
				return 0;
			if (done < 0) {
				sd_err_set(err, SD_ERR_INVALID,
					   _("%s is not in the chain of %s of VM '%s'"), job->base,
					   job->target, run_name(r));
				return -1;
			}
			if (phase == PHASE_CANCEL) {
				sd_err_set(err, SD_ERR_STATE, _("cancelled"));
				return -1;
			}
			if (phase != PHASE_START) {
				sd_err_set(
				    err, SD_ERR_HV,
				    phase == PHASE_PIVOT
					? _("the %s on %s of VM '%s' did not pivot to its base")
					: _("the %s on %s of VM '%s' ended without finishing"),
				    job_label(job->kind), job->target, run_name(r));
				return -1;
			}
			if (job_start(r) < 0) {
				rc = recover(r, err);
				if (rc > 0)
					continue; /* started or not: the next turn sees */
				if (rc < 0)
					return -1;
				sd_err_set(err,
					   hv_errcode() == VIR_ERR_OPERATION_INVALID ? SD_ERR_STATE
										     : SD_ERR_HV,
					   _("cannot start the %s on %s of VM '%s': %s"),
					   job_label(job->kind), job->target, run_name(r),
					   hv_errmsg());
				return -1;
			}
			phase = PHASE_RUN;
			sleep_ms(POLL_MS / 10); /* a tiny job may be over at once */
			continue;
		}

		if (phase == PHASE_START) {
			/* a job already running on target (after a crash): ours
			 * if it is of the same kind */
			if (info.type != job_type(job->kind)) {
				sd_err_set(err, SD_ERR_BUSY,
					   _("disk %s of VM '%s' is busy with another block job"),
					   job->target, run_name(r));
				return -1;
			}
			phase = PHASE_RUN;
		}
		if (phase == PHASE_RUN && progress && !progress(info.cur, info.end, opaque)) {
			phase = PHASE_CANCEL;
			resend = true;
			end_by = now_s() + END_S;
		}
		if (phase == PHASE_RUN && job->kind == HV_JOB_ACTIVE_COMMIT) {
			/* pivot only once QEMU said READY: libvirt shows it as
			 * <mirror ready='yes'> (cur == end is not enough) */
			int ready = mirror_ready(r->d, job->target);

			if (ready < 0) {
				rc = recover(r, err);
				if (rc > 0)
					continue;
				if (rc == 0)
					sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"),
						   run_name(r), hv_errmsg());
				return -1;
			}
			if (ready) {
				phase = PHASE_PIVOT;
				resend = true;
				end_by = now_s() + END_S;
			}
		}
		if (phase >= PHASE_PIVOT && now_s() > end_by) {
			sd_err_set(err, SD_ERR_HV,
				   _("the %s on %s of VM '%s' did not end within %d s of its %s"),
				   job_label(job->kind), job->target, run_name(r), END_S,
				   phase == PHASE_PIVOT ? _("pivot") : _("abort"));
			return -1;
		}
		if (resend && phase >= PHASE_PIVOT) {
			unsigned flags = VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC;

			if (phase == PHASE_PIVOT)
				flags |= VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT;
			resend = false;
			if (virDomainBlockJobAbort(r->d, job->target, flags) < 0) {
				rc = recover(r, err);
				if (rc > 0) {
					resend = true;
					continue;
				}
				if (rc < 0)
					return -1;
				/* not ready after all: wait more; already pivoting
				 * or aborting (asked before a reconnect), or over
				 * meanwhile: the next turns tell, else say why */
				sd_debug("block job abort on %s: %s", job->target, hv_errmsg());
				if (phase == PHASE_PIVOT &&
				    hv_errcode() == VIR_ERR_BLOCK_COPY_ACTIVE) {
					phase = PHASE_RUN;
				} else if (++refused >= ABORT_TRIES) {
					sd_err_set(err, SD_ERR_HV,
						   _("cannot %s the %s on %s of VM '%s': %s"),
						   phase == PHASE_PIVOT ? _("pivot") : _("abort"),
						   job_label(job->kind), job->target, run_name(r),
						   hv_errmsg());
					return -1;
				} else {
					resend = true;
				}
			} else {
				refused = 0;
			}
		}
		sleep_ms(POLL_MS);
	}
}

int hv_block_job_run(struct hv_conn *conn, const char *uuid, const struct hv_job *job,
		     hv_job_progress_fn progress, void *opaque, struct sd_err *err)
{
	struct run r = {.c = conn, .uuid = uuid, .job = job};
	struct hv_sigpipe sp;
	int rc;

	if (job_check(job, err) < 0)
		return -1;
	if (!uuid || !*uuid) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), "");
		return -1;
	}
	/* libvirtd may go away meanwhile: that is to survive */
	hv_sigpipe_block(&sp);
	rc = job_loop(&r, progress, opaque, err);
	if (r.d)
		virDomainFree(r.d);
	hv_sigpipe_restore(&sp);
	free(r.name);
	return rc;
}

/* ---- memory state ---- */

char *hv_restore_xml(const char *saved_xml, const struct hv_live_disk *tops, size_t ntops,
		     struct sd_err *err)
{
	struct hv_disk_source *src = sd_calloc(ntops + 1, sizeof(*src));
	size_t n = 0;
	char *xml;

	for (size_t i = 0; i < ntops && tops[i].target; i++) {
		if (!tops[i].path)
			continue;
		src[n].target = tops[i].target;
		src[n].path = tops[i].path;
		src[n].format = "qcow2";
		n++;
	}
	/* hv_domain_xml_edit sets each source and drops the disk's
	 * <backingStore> elements: libvirt then reads the chain from the
	 * images instead of trusting a stale (or empty) one */
	xml = hv_domain_xml_edit(saved_xml, NULL, NULL, src, n, NULL, 0, NULL, 0, err);
	free(src);
	return xml;
}

int hv_domain_restore(struct hv_conn *conn, const char *memory_path,
		      const struct hv_live_disk *tops, size_t ntops, struct sd_err *err)
{
	SD_AUTOFREE char *saved = NULL;
	SD_AUTOFREE char *xml = NULL;
	struct sd_err xerr = SD_ERR_INIT;

	saved =
	    virDomainSaveImageGetXMLDesc(conn->conn, memory_path, VIR_DOMAIN_SAVE_IMAGE_XML_SECURE);
	if (!saved) {
		sd_err_set(err, SD_ERR_HV, _("cannot read the memory state %s: %s"), memory_path,
			   hv_errmsg());
		return -1;
	}
	xml = hv_restore_xml(saved, tops, ntops, &xerr);
	if (!xml) {
		sd_err_set(err, xerr.code, _("memory state %s: %s"), memory_path, xerr.msg);
		return -1;
	}
	if (virDomainRestoreFlags(conn->conn, memory_path, xml, VIR_DOMAIN_SAVE_RUNNING) < 0) {
		sd_err_set(
		    err, hv_errcode() == VIR_ERR_OPERATION_INVALID ? SD_ERR_STATE : SD_ERR_HV,
		    _("cannot resume from the memory state %s: %s"), memory_path, hv_errmsg());
		return -1;
	}
	return 0;
}

/* ---- start and stop ---- */

int hv_domain_shutdown(struct hv_conn *conn, const char *name_or_uuid, int timeout_s,
		       struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = dom_get_err(conn, name_or_uuid, err);
	double deadline;
	int st, reason;

	if (!d)
		return -1;
	if (virDomainIsActive(d) == 0) {
		sd_err_set(err, SD_ERR_STATE, _("VM '%s' is not running"), name_or_uuid);
		return -1;
	}
	/* ACPI first, the agent when ACPI is not there; libvirt falls back
	 * from one to the other, and a driver without these modes takes the
	 * default */
	if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN |
					  VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) < 0) {
		int code = hv_errcode();

		if ((code == VIR_ERR_INVALID_ARG || code == VIR_ERR_NO_SUPPORT ||
		     code == VIR_ERR_ARGUMENT_UNSUPPORTED) &&
		    virDomainShutdown(d) == 0) {
			/* asked */
		} else if (virDomainIsActive(d) == 0) {
			return 0; /* off meanwhile */
		} else {
			sd_err_set(err, SD_ERR_HV, _("cannot shut down VM '%s': %s"), name_or_uuid,
				   hv_errmsg());
			return -1;
		}
	}
	deadline = now_s() + (timeout_s > 0 ? timeout_s : 0);
	for (;;) {
		if (virDomainGetState(d, &st, &reason, 0) < 0) {
			if (hv_errcode() == VIR_ERR_NO_DOMAIN)
				return 0; /* a transient domain is gone once off */
			sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"), name_or_uuid,
				   hv_errmsg());
			return -1;
		}
		if (st == VIR_DOMAIN_SHUTOFF)
			return 0;
		if (now_s() >= deadline)
			break;
		sleep_ms(POLL_MS);
	}
	sd_err_set(err, SD_ERR_BUSY,
		   _("VM '%s' did not shut down within %d s; stop --force powers it off"),
		   name_or_uuid, timeout_s);
	return -1;
}
