/* Deploy from snapshot, linked (DESIGN.md 8), and template seeding (9).
 * Pure: the controller finds the template, the pools and the names in use.
 * A full deploy is a clone (plan-clone.c). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static char *join_dir(const char *dir, const char *file)
{
	return sd_asprintf("%s%s%s", dir, sd_str_has_suffix(dir, "/") ? "" : "/", file);
}

json_t *plan_deploy_linked(const struct model_vm *vm, const struct plan_env *env,
			   const struct plan_deploy_req *req, struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(vm, req->snapshot);
	json_t *plan, *sources, *only, *macs, *rdisks, *events, *sdisks, *removed;
	char uuid[37];

	if (!s) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
			   req->snapshot ? req->snapshot : "");
		return NULL;
	}
	if (!plan_name_ok(req->name, _("VM"), err))
		return NULL;
	if (req->taken && sd_strv_contains(req->taken, req->name)) {
		sd_err_set(err, SD_ERR_EXISTS, _("a VM named %s exists already"), req->name);
		return NULL;
	}
	if (req->ndisks == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s has no disk to deploy"),
			   s->name, vm->name);
		return NULL;
	}
	for (size_t i = 0; i < req->ndisks; i++) {
		const struct plan_linked_disk *d = &req->disks[i];
		if (!d->target || !d->backing_path || !d->backing_id || !d->dir) {
			sd_err_set(err, SD_ERR_INTERNAL, _("disk %zu: incomplete deploy target"),
				   i);
			return NULL;
		}
	}
	env->new_id(uuid, env->opaque);
	plan = plan_new("deploy", vm->name);
	sources = json_object();
	only = json_array();
	macs = json_array();
	rdisks = json_array();
	events = json_array();
	sdisks = json_array();
	removed = json_array();
	for (size_t i = 0; i < req->ndisks; i++) {
		const struct plan_linked_disk *d = &req->disks[i];
		char fid[37];
		SD_AUTOFREE char *file = NULL;
		SD_AUTOFREE char *path = NULL;
		SD_AUTOFREE char *label = NULL;

		env->new_id(fid, env->opaque);
		file = sd_asprintf("%s.qcow2", fid);
		path = join_dir(d->dir, file);
		label =
		    sd_asprintf(_("new layer %s for %s on %s"), path, d->target, d->backing_path);
		plan_add_step(plan, "create_overlay",
			      json_pack("{s:s,s:s?,s:s,s:s,s:s}", "path", path, "pool", d->pool,
					"name", file, "backing", d->backing_path, "backing_format",
					d->backing_format ? d->backing_format : "qcow2"),
			      json_pack("{s:s,s:{s:s,s:s?}}", "kind", "delete_volume", "args",
					"path", path, "pool", d->pool),
			      false, label);
		json_object_set_new(sources, d->target,
				    json_pack("{s:s,s:s}", "path", path, "format", "qcow2"));
		json_array_append_new(only, json_string(d->target));
		json_array_append_new(rdisks, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:I}", "target",
							d->target, "image_id", fid, "path", path,
							"format", "qcow2", "pool", d->pool,
							"parent_id", d->backing_id, "virtual_size",
							(json_int_t)d->virtual_size));
		json_array_append_new(sdisks,
				      json_pack("{s:s,s:s,s:s?,s:s}", "target", d->target, "path",
						path, "pool", d->pool, "backing", d->backing_path));
	}
	for (size_t i = 0; req->xml_targets && req->xml_targets[i]; i++) {
		bool kept = false;
		json_t *v;
		size_t k;
		json_array_foreach(only, k, v) kept =
		    kept || sd_str_eq(json_string_value(v), req->xml_targets[i]);
		if (!kept)
			json_array_append_new(removed, json_string(req->xml_targets[i]));
	}
	for (size_t i = 0; i < req->nnics; i++) {
		char mac[18];
		plan_new_mac(env, req->old_macs, macs, mac);
		json_array_append_new(macs, json_string(mac));
	}
	{
		SD_AUTOFREE char *label =
		    sd_asprintf(_("define VM %s (%s) from snapshot %s"), req->name, uuid, s->name);
		SD_AUTOFREE char *msg =
		    req->template_id
			? sd_asprintf(_("%s deployed from snapshot %s, linked to template %s"),
				      req->name, s->name,
				      req->template_name ? req->template_name : req->template_id)
			: sd_asprintf(_("%s deployed from snapshot %s, linked to its layers"),
				      req->name, s->name);

		plan_add_step(plan, "define_new_domain",
			      json_pack("{s:s,s:s,s:s,s:O,s:O,s:O,s:i,s:I,s:s?}", "xml",
					s->domain_xml, "name", req->name, "uuid", uuid, "sources",
					sources, "only", only, "macs", macs, "vcpus", 0,
					"memory_kib", (json_int_t)0, "network", req->network),
			      json_pack("{s:s,s:{s:s,s:s}}", "kind", "undefine_domain", "args",
					"uuid", uuid, "name", req->name),
			      false, label);
		json_array_append_new(events,
				      json_pack("{s:s,s:s}", "level", "info", "message", msg));
		plan_set_pnr_next(plan);
		plan_add_step(plan, "register_vm",
			      json_pack("{s:s,s:s,s:o,s:o,s:s,s:s}", "name", req->name, "uuid",
					uuid, "disks", rdisks, "events", events, "vm", vm->name,
					"event_op", "deploy"),
			      NULL, false, _("record the new VM in the catalog"));
	}
	json_object_set_new(
	    json_object_get(plan, "summary"), "deploy",
	    json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:o,s:o,s:o,s:o,s:s?,s:s?,s:s?,s:I}", "name",
		      req->name, "uuid", uuid, "mode", req->template_id ? "linked" : "direct",
		      "snapshot", "id", s->id, "name", s->name, "disks", sdisks, "removed", removed,
		      "macs", macs, "only", only, "template", req->template_id, "template_name",
		      req->template_name, "network", req->network, "bytes_total", (json_int_t)0));
	json_decref(sources);
	return plan;
}

json_t *plan_template_seed(const struct model_vm *vm, const struct plan_env *env,
			   const struct plan_seed_req *req, struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(vm, req->snapshot);
	json_t *plan, *tdisks;
	char tid[37];
	uint64_t total = 0;

	if (!s) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
			   req->snapshot ? req->snapshot : "");
		return NULL;
	}
	if (!plan_name_ok(req->name, _("template"), err))
		return NULL;
	for (size_t i = 0; i < req->ndisks; i++) {
		const struct plan_copy_target *t = &req->disks[i];
		if (t->missing) {
			sd_err_set(err, SD_ERR_NOT_FOUND,
				   _("disk %s: the layer of snapshot %s is gone; no template can "
				     "be made from it"),
				   t->target, s->name);
			return NULL;
		}
		if (!t->dir || !t->pool) {
			sd_err_set(err, SD_ERR_INVALID, _("disk %s: no target pool folder"),
				   t->target);
			return NULL;
		}
	}
	if (req->ndisks == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk"), s->name,
			   vm->name);
		return NULL;
	}
	env->new_id(tid, env->opaque);
	plan = plan_new("template seed", vm->name);
	tdisks = json_array();
	for (size_t i = 0; i < req->ndisks; i++) {
		const struct plan_copy_target *t = &req->disks[i];
		const struct model_image *src = NULL;
		char fid[37];
		SD_AUTOFREE char *file = NULL;
		SD_AUTOFREE char *path = NULL;
		SD_AUTOFREE char *label = NULL;

		for (size_t k = 0; k < s->ndisks; k++)
			if (sd_str_eq(s->disks[k].target, t->target))
				src = model_vm_image(vm, s->disks[k].image_id);
		if (!src) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk %s"),
				   s->name, vm->name, t->target);
			json_decref(plan);
			json_decref(tdisks);
			return NULL;
		}
		env->new_id(fid, env->opaque);
		file = sd_asprintf("%s.qcow2", fid);
		path = join_dir(t->dir, file);
		label = sd_asprintf(_("copy %s (%s, flattened) to template %s: %s"), t->target,
				    src->path, req->name, path);
		plan_add_step(plan, "copy_disk",
			      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "target", t->target, "src",
					src->path, "src_format", src->format, "path", path,
					"format", "qcow2", "pool", t->pool, "bytes",
					(json_int_t)t->bytes),
			      json_pack("{s:s,s:{s:s,s:s}}", "kind", "remove_copy", "args", "path",
					path, "pool", t->pool),
			      false, label);
		json_array_append_new(
		    tdisks, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "target", t->target, "image_id",
				      fid, "path", path, "format", "qcow2", "pool", t->pool,
				      "virtual_size", (json_int_t)src->virtual_size));
		total += t->bytes;
	}
	plan_set_pnr_next(plan);
	plan_add_step(plan, "register_template",
		      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "id", tid, "name", req->name,
				"pool", req->pool, "vm", vm->name, "snapshot", s->name,
				"snapshot_id", s->id, "disks", tdisks),
		      NULL, false, _("record the template in the catalog"));
	json_object_set_new(json_object_get(plan, "summary"), "template",
			    json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s},s:o,s:I}", "id", tid, "name",
				      req->name, "pool", req->pool, "source", "vm", vm->name,
				      "snapshot", s->name, "snapshot_id", s->id, "disks", tdisks,
				      "bytes_total", (json_int_t)total));
	return plan;
}
