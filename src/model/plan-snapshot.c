/* Create a snapshot of some or all disks: of a shut-off VM by new overlays
 * and a redefinition, of a running one by the same overlays taken over in
 * one atomic libvirt snapshot (with the memory state when asked). */
#include "config.h"

#include <string.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

json_t *plan_snapshot_create(const struct model_vm *vm, const struct plan_env *env,
			     const struct plan_snapshot_req *req, struct sd_err *err)
{
	char snap_id[37];
	SD_AUTOFREE char *name = NULL;
	json_t *plan, *changes, *sources, *sdisks, *live, *back;
	size_t included = 0;
	SD_AUTOFREE char *memory_path = NULL;
	const char *parent = vm->current_snapshot;

	if (req->name) {
		if (!plan_name_valid(req->name, err))
			return NULL;
		name = sd_strdup(req->name);
	} else {
		name = sd_asprintf("%s%s", req->is_auto ? "auto-" : "snap-", env->now);
	}
	if (model_vm_snapshot(vm, name) && strcmp(model_vm_snapshot(vm, name)->name, name) == 0) {
		sd_err_set(err, SD_ERR_EXISTS, _("VM %s has a snapshot named '%s' already"),
			   vm->name, name);
		return NULL;
	}
	if ((req->memory || req->quiesce) && !env->running) {
		sd_err_set(err, SD_ERR_STATE,
			   req->memory ? _("VM %s is not running: there is no memory to keep")
				       : _("VM %s is not running: there is nothing to quiesce"),
			   vm->name);
		return NULL;
	}
	if (req->memory && req->disks) {
		size_t active = 0, asked = 0;

		for (size_t i = 0; i < vm->ndisks; i++)
			active += vm->disks[i].active_image_id != NULL &&
				  sd_strv_contains(req->disks, vm->disks[i].target);
		for (size_t i = 0; i < vm->ndisks; i++)
			asked += vm->disks[i].active_image_id != NULL;
		if (active < asked) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("a memory state comes with every disk of VM %s: the guest would "
				     "resume on disks it did not see"),
				   vm->name);
			return NULL;
		}
	}
	for (size_t i = 0; req->disks && req->disks[i]; i++) {
		const struct model_disk *d = model_vm_disk(vm, req->disks[i]);
		if (!d || !d->active_image_id) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no disk %s"), vm->name,
				   req->disks[i]);
			return NULL;
		}
	}

	/* In a preview the state descends from the preview's configuration
	 * snapshot (or from a snapshot already taken during the preview). */
	if (vm->preview && sd_str_eq(vm->current_snapshot, vm->preview->saved_current))
		parent = vm->preview->config_snapshot ? vm->preview->config_snapshot
						      : vm->preview->saved_current;
	env->new_id(snap_id, env->opaque);
	plan = plan_new("snapshot create", vm->name);
	changes = json_array();
	sources = json_object();
	sdisks = json_array();
	live = json_array();
	back = json_array();
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct model_disk *d = &vm->disks[i];
		const struct model_image *top;
		char oid[37];
		SD_AUTOFREE char *path = NULL;

		if (!d->active_image_id)
			continue;
		if (req->disks && !sd_strv_contains(req->disks, d->target)) {
			json_array_append_new(live, json_pack("{s:s,s:n}", "target", d->target,
							      "path"));
			continue;
		}
		top = model_vm_image(vm, d->active_image_id);
		if (!top) {
			sd_err_set(err, SD_ERR_INTERNAL, _("disk %s has no known top layer"), d->target);
			goto fail;
		}
		env->new_id(oid, env->opaque);
		path = plan_overlay_path(top->path, oid);
		if (req->memory && !memory_path) {
			size_t len = strlen(path);
			/* beside the first new layer: <id>.mem */
			memory_path = sd_asprintf("%.*s.mem", (int)(len - strlen(".qcow2")), path);
		}
		json_array_append_new(live, json_pack("{s:s,s:s}", "target", d->target, "path", path));
		json_array_append_new(back, json_pack("{s:s,s:s,s:s,s:s}", "target", d->target, "top",
						      path, "base", top->path, "format", top->format));
		plan_step_overlay(plan, path, top);
		json_object_set_new(sources, d->target,
				    json_pack("{s:s,s:s}", "path", path, "format", "qcow2"));
		json_array_append_new(changes, plan_change_image_add(oid, path, "qcow2", top->id,
								     top->pool, top->virtual_size));
		json_array_append_new(changes, json_pack("{s:s,s:s,s:s}", "op", "disk_set_active",
							 "disk_id", d->id, "image_id", oid));
		json_array_append_new(sdisks, json_pack("{s:s,s:s,s:s}", "disk_id", d->id, "target",
							d->target, "image_id", top->id));
		included++;
	}
	if (included == 0) {
		sd_err_set(err, SD_ERR_INVALID, _("VM %s has no disk to snapshot"), vm->name);
		goto fail;
	}
	if (env->running) {
		SD_AUTOFREE char *label =
			memory_path ? sd_asprintf(_("snapshot the running VM with its memory (%s)"),
						  memory_path)
				    : sd_strdup(_("snapshot the running VM's disks (atomic)"));
		plan_add_step(plan, "live_snapshot",
			      json_pack("{s:s,s:O,s:s?,s:b}", "uuid", env->domain_uuid, "disks", live,
					"memory_path", memory_path, "quiesce", req->quiesce),
			      json_pack("{s:s,s:{s:s,s:O,s:s?}}", "kind", "live_unsnapshot", "args",
					"uuid", env->domain_uuid, "disks", back, "memory_path",
					memory_path),
			      false, label);
	}
	json_decref(live);
	json_decref(back);
	plan_add_step(plan, "define_domain",
		      json_pack("{s:s,s:s,s:s,s:o,s:[],s:[]}", "xml", env->domain_xml, "name",
				env->domain_name, "uuid", env->domain_uuid, "sources", sources,
				"remove", "imports"),
		      json_pack("{s:s,s:{s:s}}", "kind", "define_domain", "args", "xml",
				env->domain_xml),
		      false, _("point the VM's disks at the new layers"));
	json_array_append_new(
		changes,
		json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s?,s:b,s:b,s:o,s:o}", "op", "snapshot_add",
			  "id", snap_id, "name", name, "parent_id", parent, "created",
			  env->now, "description", req->description ? req->description : "",
			  "domain_xml", env->domain_xml, "memory_path", memory_path, "auto", req->is_auto,
			  "imported", false, "policy_id",
			  req->policy_id > 0 ? json_integer((json_int_t)req->policy_id) : json_null(),
			  "disks", sdisks));
	json_array_append_new(changes,
			      json_pack("{s:s,s:s}", "op", "vm_set_current", "snapshot_id", snap_id));
	{
		SD_AUTOFREE char *msg = sd_asprintf(
			P_("snapshot %s of %zu disk", "snapshot %s of %zu disks", included), name,
			included);
		json_array_append_new(changes, plan_change_event(vm->name, "snapshot create",
								 "info", msg));
	}
	if (env->running)
		plan_set_pnr_next(plan); /* from here on, the VM writes to the new layers */
	plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
		      _("record the snapshot in the catalog"));
	json_object_set_new(json_object_get(plan, "summary"), "snapshot",
			    json_pack("{s:s,s:s,s:I}", "id", snap_id, "name", name, "disks",
				      (json_int_t)included));
	return plan;
fail:
	json_decref(plan);
	json_decref(changes);
	json_decref(sources);
	json_decref(sdisks);
	json_decref(live);
	json_decref(back);
	return NULL;
}
