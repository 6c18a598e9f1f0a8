/* Clone from snapshot and volume from snapshot: resolve where each disk
 * goes and what it needs, plan (model/plan-clone.c), run as a task. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/clone-priv.h"
#include "ctl/engine.h"
#include "ctl/snap.h"
#include "ctl/task.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"
#include "util/uuid.h"

SD_DEFINE_AUTO(cjson, json_t, json_decref)

/* plan_env.new_id: a random UUID. */
void ctl_clone_new_id(char out[37], void *opaque)
{
	(void)opaque;
	sd_uuid_generate(out);
}

static const char *keep(struct targets *t, char *s)
{
	sd_grow(&t->owned, &t->capowned, t->nowned + 1, sizeof(char *));
	t->owned[t->nowned++] = s;
	return s;
}

static void targets_clear(struct targets *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->v);
	sd_strv_free(t->holds);
	memset(t, 0, sizeof(*t));
}

/* Fills one target for disk sd of snapshot s: pool, folder, format, size;
 * missing when a layer of its chain is gone. */
static int resolve(struct ctl *ctl, const struct model_vm *vm, const struct model_snapshot_disk *sd,
		   const char *pool, const char *format, struct targets *t,
		   struct plan_copy_target *out, struct sd_err *err)
{
	const struct model_image *img = model_vm_image(vm, sd->image_id);
	struct hv_pool p = {0};
	int rc;

	out->target = sd->target;
	out->format = format ? format : "qcow2";
	for (const struct model_image *l = img; l; l = model_vm_image(vm, l->parent_id))
		if (access(l->path, R_OK) != 0)
			out->missing = true;
	if (!img)
		out->missing = true;
	if (out->missing)
		return 0;
	if (pool) {
		rc = hv_pool_get(ctl->hv, pool, &p, err);
		if (rc == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("no storage pool %s"), pool);
	} else if (img->pool) {
		rc = hv_pool_get(ctl->hv, img->pool, &p, err);
	} else {
		rc = hv_pool_for_path(ctl->hv, img->path, &p, err);
	}
	if (rc <= 0) {
		if (rc == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND,
				   _("disk %s: no storage pool holds %s; say where with --disk "
				     "%s:pool=P"),
				   sd->target, img->path, sd->target);
		hv_pool_clear(&p);
		return -1;
	}
	if (!p.path || !sd_str_eq(p.type, "dir")) {
		sd_err_set(err, SD_ERR_INVALID, _("pool %s is not a dir pool"), p.name);
		hv_pool_clear(&p);
		return -1;
	}
	out->pool = keep(t, sd_strdup(p.name));
	out->dir = keep(t, sd_strdup(p.path));
	hv_pool_clear(&p);
	if (!sd_str_eq(out->format, "qcow2") && !sd_str_eq(out->format, "raw")) {
		sd_err_set(err, SD_ERR_INVALID, _("disk %s: format '%s' is not qcow2 or raw"),
			   sd->target, out->format);
		return -1;
	}
	if (img_measure(img->path, img->format, out->format, &out->bytes, err) < 0)
		return -1;
	for (const struct model_image *l = img; l; l = model_vm_image(vm, l->parent_id))
		ctl_clone_hold(t, l->id);
	return 0;
}

/* Takes and releases the VM's lock, so that no delete or merge runs while
 * the holds are recorded (those check the holds under the lock). Waits a
 * little for a short operation (another clone recording its holds). */
static int lock_briefly(struct ctl *ctl, const struct model_vm *vm, struct sd_err *err)
{
	for (int tries = 0;; tries++) {
		struct sd_err lerr = SD_ERR_INIT;
		struct timespec ts = {0, 100 * 1000000L};

		if (catalog_lock_take(ctl->cat, vm->id, vm->name, "clone", ctl_engine_me(),
				      ctl_engine_owner_alive, NULL, &lerr) == 0)
			return 0;
		if (lerr.code != SD_ERR_BUSY || tries >= 100) {
			sd_err_set(err, lerr.code, "%s", lerr.msg);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
}

static int execute(struct ctl *ctl, const struct model_vm *vm, json_t *plan, const char *label,
		   uint64_t total, struct targets *t, const struct ctl_task_opts *o,
		   int64_t *task_id, struct sd_err *err)
{
	int rc;

	if (lock_briefly(ctl, vm, err) < 0)
		return -1;
	rc = ctl_task_execute(ctl, vm->id, vm->name, plan, label, total, t->holds, true,
			      &(struct ctl_task_opts){false, o && o->detach, o ? o->progress : NULL,
						      o ? o->opaque : NULL},
			      task_id, err);
	return rc;
}

int ctl_clone(struct ctl *ctl, const struct ctl_clone_req *req, const struct ctl_task_opts *o,
	      json_t **plan_out, int64_t *task_id, struct sd_err *err)
{
	SD_AUTO(model_vm) *vm = NULL;
	SD_AUTO(hv_domain) *sdom = NULL;
	struct hv_domain **doms = NULL;
	size_t ndoms = 0;
	const struct model_snapshot *s;
	struct targets t = {0};
	char **taken = NULL, **xml_targets = NULL, **old_macs = NULL;
	struct plan_clone_req pr = {0};
	struct plan_env env = {0};
	char now[SD_ISO_LEN];
	json_t *plan = NULL;
	int rc = -1;

	*task_id = 0;
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	vm = ctl_snapshot_state(ctl, req->vm, err);
	if (!vm)
		return -1;
	s = ctl_clone_snapshot(vm, req->snapshot, err);
	if (!s)
		return -1;
	for (size_t i = 0; i < req->ndisks; i++) {
		bool found = false;
		for (size_t k = 0; k < s->ndisks; k++)
			found = found || sd_str_eq(s->disks[k].target, req->disks[i].target);
		if (!found) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk %s"),
				   s->name, vm->name, req->disks[i].target);
			return -1;
		}
	}
	if (hv_domain_list(ctl->hv, &doms, &ndoms, err) < 0)
		return -1;
	ctl_clone_taken(doms, ndoms, &taken, &old_macs);
	if (req->name && sd_strv_contains(taken, req->name)) {
		sd_err_set(err, SD_ERR_EXISTS, _("a VM named %s exists already"), req->name);
		goto out;
	}
	sdom = hv_domain_parse(s->domain_xml, err);
	xml_targets = sdom ? hv_domain_xml_disk_targets(s->domain_xml, err) : NULL;
	if (!xml_targets)
		goto out;
	t.v = sd_calloc(s->ndisks + 1, sizeof(*t.v));
	for (size_t k = 0; k < s->ndisks; k++) {
		const char *pool = NULL, *format = NULL;
		if (req->root_only &&
		    !sd_str_eq(s->disks[k].target, ctl_clone_root_disk(s, xml_targets)))
			continue;
		for (size_t i = 0; i < req->ndisks; i++)
			if (sd_str_eq(req->disks[i].target, s->disks[k].target)) {
				pool = req->disks[i].pool;
				format = req->disks[i].format;
			}
		if (resolve(ctl, vm, &s->disks[k], pool, format, &t, &t.v[t.n], err) < 0)
			goto out;
		t.n++;
	}
	ctl_clone_env(&env, now, vm, s, sdom, &old_macs);
	pr.snapshot = s->id;
	pr.name = req->name;
	pr.taken = taken;
	pr.xml_targets = xml_targets;
	pr.old_macs = old_macs;
	pr.nnics = sdom->nnics;
	pr.disks = t.v;
	pr.ndisks = t.n;
	pr.vcpus = req->vcpus;
	pr.memory_mib = req->memory_mib;
	pr.root_only = req->root_only;
	pr.network = req->network;
	plan = plan_clone(vm, &env, &pr, err);
	if (!plan)
		goto out;
	*plan_out = plan;
	if (o && o->dry_run) {
		rc = 0;
		goto out;
	}
	{
		const json_t *sum = json_object_get(json_object_get(plan, "summary"), "clone");
		SD_AUTOFREE char *label =
		    sd_asprintf("clone %s@%s → %s", vm->name, s->name,
				json_string_value(json_object_get(sum, "name")));
		rc = execute(ctl, vm, plan, label,
			     (uint64_t)json_integer_value(json_object_get(sum, "bytes_total")), &t,
			     o, task_id, err);
	}
out:
	hv_domains_free(doms, ndoms);
	sd_strv_free(taken);
	sd_strv_free(xml_targets);
	sd_strv_free(old_macs);
	targets_clear(&t);
	return rc;
}

int ctl_volume_from_snapshot(struct ctl *ctl, const struct ctl_volume_req *req,
			     const struct ctl_task_opts *o, json_t **plan_out, int64_t *task_id,
			     struct sd_err *err)
{
	SD_AUTO(model_vm) *vm = NULL;
	const struct model_snapshot *s;
	const struct model_snapshot_disk *sd = NULL;
	struct targets t = {0};
	struct plan_volume_req pr = {0};
	struct plan_env env = {0};
	char now[SD_ISO_LEN];
	json_t *plan;
	int rc = -1;

	*task_id = 0;
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	vm = ctl_snapshot_state(ctl, req->vm, err);
	if (!vm)
		return -1;
	s = ctl_clone_snapshot(vm, req->snapshot, err);
	if (!s)
		return -1;
	for (size_t k = 0; k < s->ndisks; k++)
		if (sd_str_eq(s->disks[k].target, req->disk))
			sd = &s->disks[k];
	if (!sd) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk %s"), s->name,
			   vm->name, req->disk);
		return -1;
	}
	pr.snapshot = s->id;
	pr.name = req->name;
	if (resolve(ctl, vm, sd, req->pool, req->format, &t, &pr.disk, err) < 0)
		goto out;
	if (!pr.disk.missing && pr.disk.dir && req->name && !strchr(req->name, '/')) {
		SD_AUTOFREE char *path = sd_asprintf("%s/%s", pr.disk.dir, req->name);
		if (access(path, F_OK) == 0) {
			sd_err_set(err, SD_ERR_EXISTS, _("pool %s has a volume %s already"),
				   pr.disk.pool, req->name);
			goto out;
		}
	}
	sd_time_iso(sd_now(), now);
	env.now = now;
	env.new_id = ctl_clone_new_id;
	plan = plan_volume_from_snapshot(vm, &env, &pr, err);
	if (!plan)
		goto out;
	*plan_out = plan;
	if (o && o->dry_run) {
		rc = 0;
		goto out;
	}
	{
		SD_AUTOFREE char *label =
		    sd_asprintf("volume %s from %s@%s %s", req->name, vm->name, s->name, req->disk);
		rc = execute(ctl, vm, plan, label, pr.disk.bytes, &t, o, task_id, err);
	}
out:
	targets_clear(&t);
	return rc;
}

/* ---- shared with ctl/deploy.c (ctl/clone-priv.h) ---- */

const char *ctl_clone_root_disk(const struct model_snapshot *s, char *const *xml_targets)
{
	for (size_t i = 0; xml_targets && xml_targets[i]; i++)
		for (size_t k = 0; k < s->ndisks; k++)
			if (sd_str_eq(s->disks[k].target, xml_targets[i]))
				return s->disks[k].target;
	return s->ndisks > 0 ? s->disks[0].target : NULL;
}

int ctl_clone_resolve(struct ctl *ctl, const struct model_vm *vm,
		      const struct model_snapshot_disk *sd, const char *pool, const char *format,
		      struct targets *t, struct plan_copy_target *out, struct sd_err *err)
{
	return resolve(ctl, vm, sd, pool, format, t, out, err);
}

void ctl_clone_targets_clear(struct targets *t)
{
	targets_clear(t);
}

const char *ctl_clone_keep(struct targets *t, char *s)
{
	return keep(t, s);
}

int ctl_clone_lock_briefly(struct ctl *ctl, const struct model_vm *vm, struct sd_err *err)
{
	return lock_briefly(ctl, vm, err);
}

int ctl_clone_execute(struct ctl *ctl, const struct model_vm *vm, json_t *plan, const char *label,
		      uint64_t total, struct targets *t, const struct ctl_task_opts *o,
		      int64_t *task_id, struct sd_err *err)
{
	return execute(ctl, vm, plan, label, total, t, o, task_id, err);
}

void ctl_clone_hold(struct targets *t, const char *id)
{
	sd_grow(&t->holds, &t->capholds, t->nholds + 2, sizeof(char *));
	t->holds[t->nholds++] = sd_strdup(id);
	t->holds[t->nholds] = NULL;
}

void ctl_clone_taken(struct hv_domain **doms, size_t ndoms, char ***taken, char ***old_macs)
{
	*taken = sd_calloc(ndoms + 1, sizeof(char *));
	*old_macs = sd_calloc(1, sizeof(char *));
	for (size_t i = 0, nm = 0; i < ndoms; i++) {
		(*taken)[i] = sd_strdup(doms[i]->name);
		*old_macs = sd_realloc(*old_macs, (nm + doms[i]->nnics + 1) * sizeof(char *));
		for (size_t k = 0; k < doms[i]->nnics; k++)
			if (doms[i]->nics[k].mac)
				(*old_macs)[nm++] = sd_strdup(doms[i]->nics[k].mac);
		(*old_macs)[nm] = NULL;
	}
}

void ctl_clone_env(struct plan_env *env, char now[SD_ISO_LEN], const struct model_vm *vm,
		   const struct model_snapshot *s, const struct hv_domain *sdom, char ***old_macs)
{
	for (size_t k = 0; k < sdom->nnics; k++)
		if (sdom->nics[k].mac) {
			size_t nm = sd_strv_len(*old_macs);
			*old_macs = sd_realloc(*old_macs, (nm + 2) * sizeof(char *));
			(*old_macs)[nm] = sd_strdup(sdom->nics[k].mac);
			(*old_macs)[nm + 1] = NULL;
		}
	sd_time_iso(sd_now(), now);
	env->now = now;
	env->domain_xml = s->domain_xml;
	env->domain_name = vm->name;
	env->domain_uuid = vm->uuid;
	env->new_id = ctl_clone_new_id;
}

const struct model_snapshot *ctl_clone_snapshot(const struct model_vm *vm, const char *snap,
						struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(vm, snap);

	if (!s)
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name, snap);
	return s;
}
