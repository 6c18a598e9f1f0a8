/* The engine's steps for running domains (model/plan.h: live_snapshot,
 * live_unsnapshot, block_job). Each is idempotent: run again after a crash,
 * it looks at the domain's live chain first. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/engine.h"
#include "ctl/live.h"
#include "ctl/task.h"
#include "hv/live.h"
#include "img/img.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

#define LIVE_MAX_DISKS 64

/* The top of target's live chain (caller frees), or NULL. */
static char *live_top(struct ctl *ctl, const char *uuid, const char *target, struct sd_err *err)
{
	char **chain = hv_live_chain(ctl->hv, uuid, target, err);
	char *top;

	if (!chain)
		return NULL;
	top = sd_strdup(chain[0]);
	sd_strv_free(chain);
	return top;
}

static bool domain_runs(struct ctl *ctl, const char *uuid)
{
	struct sd_err ignored = SD_ERR_INIT;
	struct hv_domain *dom = hv_domain_lookup(ctl->hv, uuid, &ignored);
	bool runs = dom && hv_state_runs(dom->state);

	hv_domain_free(dom);
	return runs;
}

static int step_live_snapshot(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *uuid = ctl_arg(a, "uuid");
	const json_t *disks = json_object_get(a, "disks"), *v;
	struct hv_live_disk d[LIVE_MAX_DISKS];
	struct hv_live_snapshot s = { d, 0, ctl_arg(a, "memory_path"),
				      json_is_true(json_object_get(a, "quiesce")) };
	size_t i, included = 0, taken = 0;

	json_array_foreach(disks, i, v) {
		if (s.ndisks >= LIVE_MAX_DISKS)
			break;
		d[s.ndisks].target = ctl_arg(v, "target");
		d[s.ndisks].path = ctl_arg(v, "path");
		if (d[s.ndisks].path) {
			SD_AUTOFREE char *top = live_top(ctl, uuid, d[s.ndisks].target, err);
			if (!top)
				return -1;
			included++;
			taken += sd_str_eq(top, d[s.ndisks].path);
		}
		s.ndisks++;
	}
	/* Every other disk of the domain (one snapdeck has no layer for: a
	 * volume or block source, say) is left out by name: libvirt would
	 * otherwise snapshot it externally too, under a name of its own. */
	{
		struct hv_domain *dom = hv_domain_lookup(ctl->hv, uuid, err);

		if (!dom)
			return -1;
		for (i = 0; i < dom->ndisks && s.ndisks < LIVE_MAX_DISKS; i++) {
			const struct hv_disk *hd = &dom->disks[i];
			bool listed = false;

			if (!hd->target ||
			    !(sd_str_eq(hd->device, "disk") || sd_str_eq(hd->device, "lun")))
				continue;
			for (size_t k = 0; k < s.ndisks && !listed; k++)
				listed = sd_str_eq(d[k].target, hd->target);
			if (listed)
				continue;
			d[s.ndisks].target = hd->target;
			d[s.ndisks].path = NULL;
			s.ndisks++;
		}
		/* an earlier run got as far as the snapshot (it is atomic: all
		 * or none) */
		if (!(included > 0 && taken == included) &&
		    hv_live_snapshot(ctl->hv, uuid, &s, err) < 0) {
			hv_domain_free(dom);
			return -1;
		}
		hv_domain_free(dom);
		return 0;
	}
}

/* Points the (shut-off) domain's target at path in its definition. */
static int define_source(struct ctl *ctl, const char *uuid, const char *target, const char *path,
			 const char *format, struct sd_err *err)
{
	struct hv_domain *dom = hv_domain_lookup(ctl->hv, uuid, err);
	struct hv_disk_source src = { target, path, format };
	char *xml;
	int rc;

	if (!dom)
		return -1;
	xml = hv_domain_xml_edit(dom->xml, NULL, NULL, &src, 1, NULL, 0, NULL, 0, err);
	hv_domain_free(dom);
	if (!xml)
		return -1;
	rc = hv_domain_define(ctl->hv, xml, err);
	free(xml);
	return rc;
}

static int step_live_unsnapshot(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *uuid = ctl_arg(a, "uuid"), *mem = ctl_arg(a, "memory_path");
	const json_t *disks = json_object_get(a, "disks"), *v;
	bool runs = domain_runs(ctl, uuid);
	size_t i;

	json_array_foreach(disks, i, v) {
		const char *target = ctl_arg(v, "target"), *top = ctl_arg(v, "top");
		const char *base = ctl_arg(v, "base");

		if (runs) {
			SD_AUTOFREE char *now = live_top(ctl, uuid, target, err);
			struct hv_job job = { .kind = HV_JOB_ACTIVE_COMMIT, .target = target,
					      .base = base };

			if (!now)
				return -1;
			if (!sd_str_eq(now, top))
				continue; /* the snapshot did not reach this disk */
			/* what the VM wrote since goes back into base */
			if (hv_block_job_run(ctl->hv, uuid, &job, NULL, NULL, err) < 0)
				return -1;
			continue;
		}
		/* shut off meanwhile: qemu-img, then the definition */
		if (access(top, F_OK) == 0 && img_commit(top, "qcow2", err) < 0)
			return -1;
		if (define_source(ctl, uuid, target, base, ctl_arg(v, "format"), err) < 0)
			return -1;
	}
	if (mem && unlink(mem) < 0 && errno != ENOENT) {
		sd_err_set(err, SD_ERR_IO, _("cannot delete %s: %s"), mem, strerror(errno));
		return -1;
	}
	return 0;
}

static bool on_progress(uint64_t done, uint64_t total, void *opaque)
{
	(void)opaque;
	ctl_task_move_fraction(total ? (double)done / (double)total : 0);
	return !ctl_task_cancel_asked();
}

static int step_block_job(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *kind = ctl_arg(a, "job"), *limit = getenv("SNAPDECK_COPY_RATE_LIMIT");
	struct hv_job job = { .kind = HV_JOB_COMMIT, .target = ctl_arg(a, "target"),
			      .base = ctl_arg(a, "base"), .top = ctl_arg(a, "top") };
	uint64_t rate = 0;
	int rc;

	/* the tests' brake on copies brakes block jobs too (MiB/s, at least 1) */
	if (limit && *limit && sd_str_parse_size(limit, &rate) && rate > 0)
		job.bandwidth_mib = (unsigned long)((rate + (1 << 20) - 1) >> 20);

	if (sd_str_eq(kind, "active_commit"))
		job.kind = HV_JOB_ACTIVE_COMMIT;
	else if (sd_str_eq(kind, "pull"))
		job.kind = HV_JOB_PULL;
	ctl_task_move_begin(job.target, (uint64_t)json_integer_value(json_object_get(a, "bytes")));
	rc = hv_block_job_run(ctl->hv, ctl_arg(a, "uuid"), &job, on_progress, NULL, err);
	if (rc < 0)
		/* a cancelled job was aborted: the chain is as it was */
		return ctl_task_cancel_asked() ? CTL_STEP_UNTOUCHED : -1;
	ctl_task_move_end();
	return 0;
}

bool ctl_live_step_kind(const char *kind)
{
	return sd_str_eq(kind, "live_snapshot") || sd_str_eq(kind, "live_unsnapshot") ||
	       sd_str_eq(kind, "block_job");
}

int ctl_live_step(struct ctl *ctl, const char *kind, const json_t *args, struct sd_err *err)
{
	if (sd_str_eq(kind, "live_snapshot"))
		return step_live_snapshot(ctl, args, err);
	if (sd_str_eq(kind, "live_unsnapshot"))
		return step_live_unsnapshot(ctl, args, err);
	if (sd_str_eq(kind, "block_job"))
		return step_block_job(ctl, args, err);
	sd_err_set(err, SD_ERR_INTERNAL, _("unknown step kind '%s'"), kind);
	return -1;
}
