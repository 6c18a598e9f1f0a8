/* Clone from snapshot (DESIGN.md 7) and volume from snapshot (9): flattened
 * copies of a snapshot's chains. Pure: the controller resolves pools, sizes
 * and names in use. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static bool format_ok(const char *f)
{
	return sd_str_eq(f, "qcow2") || sd_str_eq(f, "raw");
}

static const struct model_snapshot_disk *snap_disk_by_target(const struct model_snapshot *s,
							     const char *target)
{
	for (size_t i = 0; i < s->ndisks; i++)
		if (sd_str_eq(s->disks[i].target, target))
			return &s->disks[i];
	return NULL;
}

/* Checks one copy target against the snapshot; 0 or -1. */
static int check_target(const struct model_vm *vm, const struct model_snapshot *s,
			const struct plan_copy_target *t, struct sd_err *err)
{
	const struct model_snapshot_disk *sd = snap_disk_by_target(s, t->target);

	if (!sd) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk %s"), s->name,
			   vm->name, t->target ? t->target : "");
		return -1;
	}
	if (t->missing)
		return 0;
	if (!format_ok(t->format)) {
		sd_err_set(err, SD_ERR_INVALID, _("disk %s: format '%s' is not qcow2 or raw"),
			   t->target, t->format ? t->format : "");
		return -1;
	}
	if (!t->dir || !*t->dir) {
		sd_err_set(err, SD_ERR_INVALID, _("disk %s: no target pool folder"), t->target);
		return -1;
	}
	if (!model_vm_image(vm, sd->image_id)) {
		sd_err_set(err, SD_ERR_INTERNAL, _("disk %s: the snapshot's layer is unknown"),
			   t->target);
		return -1;
	}
	return 0;
}

/* The copy step of one disk into path. */
static void add_copy(json_t *plan, const struct model_image *src, const struct plan_copy_target *t,
		     const char *path)
{
	SD_AUTOFREE char *label =
	    sd_asprintf(_("copy %s (%s, flattened) to %s"), t->target, src->path, path);

	plan_add_step(plan, "copy_disk",
		      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:I}", "target", t->target, "src",
				src->path, "src_format", src->format, "path", path, "format",
				t->format, "pool", t->pool, "bytes", (json_int_t)t->bytes),
		      json_pack("{s:s,s:{s:s,s:s?}}", "kind", "remove_copy", "args", "path", path,
				"pool", t->pool),
		      false, label);
}

/* copy_of_NAME, or copy_of_NAME_2, _3 ... when taken. */
static char *unique_name(const char *vm, char *const *taken)
{
	char *name = sd_asprintf("copy_of_%s", vm);

	for (unsigned n = 2; taken && sd_strv_contains(taken, name); n++) {
		free(name);
		name = sd_asprintf("copy_of_%s_%u", vm, n);
	}
	return name;
}

json_t *plan_clone(const struct model_vm *vm, const struct plan_env *env,
		   const struct plan_clone_req *req, struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(vm, req->snapshot);
	SD_AUTOFREE char *name = NULL;
	char uuid[37];
	json_t *plan, *sources, *only, *macs, *rdisks, *events, *sdisks, *skipped, *removed;
	uint64_t total = 0;
	size_t copied = 0;

	if (!s) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
			   req->snapshot ? req->snapshot : "");
		return NULL;
	}
	if (req->name) {
		if (!plan_name_ok(req->name, _("VM"), err))
			return NULL;
		if (req->taken && sd_strv_contains(req->taken, req->name)) {
			sd_err_set(err, SD_ERR_EXISTS, _("a VM named %s exists already"),
				   req->name);
			return NULL;
		}
		name = sd_strdup(req->name);
	} else {
		name = unique_name(vm->name, req->taken);
	}
	for (size_t i = 0; i < req->ndisks; i++)
		if (check_target(vm, s, &req->disks[i], err) < 0)
			return NULL;
	for (size_t i = 0; i < s->ndisks; i++) {
		bool given = false;
		for (size_t k = 0; k < req->ndisks; k++)
			given = given || sd_str_eq(req->disks[k].target, s->disks[i].target);
		if (!given && !req->root_only) {
			sd_err_set(err, SD_ERR_INTERNAL, _("no copy target for disk %s"),
				   s->disks[i].target);
			return NULL;
		}
	}

	env->new_id(uuid, env->opaque);
	plan = plan_new("clone", vm->name);
	sources = json_object();
	only = json_array();
	rdisks = json_array();
	events = json_array();
	sdisks = json_array();
	skipped = json_array();
	removed = json_array();
	macs = json_array();
	for (size_t i = 0; i < req->ndisks; i++) {
		const struct plan_copy_target *t = &req->disks[i];
		const struct model_snapshot_disk *sd = snap_disk_by_target(s, t->target);
		const struct model_image *src = model_vm_image(vm, sd->image_id);
		char fid[37];
		SD_AUTOFREE char *path = NULL;

		if (t->missing || !src) {
			SD_AUTOFREE char *msg = sd_asprintf(
			    _("disk %s: the layer of snapshot %s is gone; the clone %s has no %s"),
			    t->target, s->name, name, t->target);
			json_array_append_new(
			    events, json_pack("{s:s,s:s}", "level", "warning", "message", msg));
			json_array_append_new(skipped, json_string(t->target));
			continue;
		}
		env->new_id(fid, env->opaque);
		path = sd_asprintf("%s%s%s.%s", t->dir, sd_str_has_suffix(t->dir, "/") ? "" : "/",
				   fid, t->format);
		add_copy(plan, src, t, path);
		json_object_set_new(sources, t->target,
				    json_pack("{s:s,s:s}", "path", path, "format", t->format));
		json_array_append_new(only, json_string(t->target));
		json_array_append_new(
		    rdisks, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:I}", "target", t->target, "image_id",
				      fid, "path", path, "format", t->format, "pool", t->pool,
				      "virtual_size", (json_int_t)src->virtual_size));
		json_array_append_new(
		    sdisks, json_pack("{s:s,s:s,s:s,s:s?,s:s}", "target", t->target, "path", path,
				      "format", t->format, "pool", t->pool, "source", src->path));
		total += t->bytes;
		copied++;
	}
	if (copied == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s has no disk left to copy"),
			   s->name, vm->name);
		goto fail;
	}
	for (size_t i = 0; req->xml_targets && req->xml_targets[i]; i++) {
		const char *t = req->xml_targets[i];
		SD_AUTOFREE char *msg = NULL;

		if (snap_disk_by_target(s, t))
			continue;
		msg = sd_asprintf(_("disk %s is not in snapshot %s: removed from the clone %s"), t,
				  s->name, name);
		json_array_append_new(events,
				      json_pack("{s:s,s:s}", "level", "warning", "message", msg));
		json_array_append_new(removed, json_string(t));
	}
	for (size_t i = 0; i < req->nnics; i++) {
		char mac[18];
		plan_new_mac(env, req->old_macs, macs, mac);
		json_array_append_new(macs, json_string(mac));
	}
	{
		SD_AUTOFREE char *label =
		    sd_asprintf(_("define VM %s (%s) from snapshot %s"), name, uuid, s->name);
		SD_AUTOFREE char *msg =
		    sd_asprintf(_("clone %s made from snapshot %s"), name, s->name);

		plan_add_step(
		    plan, "define_new_domain",
		    json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:i,s:I,s:s?}", "xml", s->domain_xml,
			      "name", name, "uuid", uuid, "sources", sources, "only", only, "macs",
			      json_deep_copy(macs), "vcpus", (int)req->vcpus, "memory_kib",
			      (json_int_t)(req->memory_mib * 1024), "network", req->network),
		    json_pack("{s:s,s:{s:s,s:s}}", "kind", "undefine_domain", "args", "uuid", uuid,
			      "name", name),
		    false, label);
		json_array_append_new(events,
				      json_pack("{s:s,s:s}", "level", "info", "message", msg));
		plan_set_pnr_next(plan);
		plan_add_step(plan, "register_vm",
			      json_pack("{s:s,s:s,s:o,s:o,s:s}", "name", name, "uuid", uuid,
					"disks", rdisks, "events", events, "vm", vm->name),
			      NULL, false, _("record the clone in the catalog"));
	}
	json_object_set_new(json_object_get(plan, "summary"), "clone",
			    json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:o,s:o,s:o,s:I,s:i,s:I}", "name",
				      name, "uuid", uuid, "snapshot", "id", s->id, "name", s->name,
				      "disks", sdisks, "skipped", skipped, "removed", removed,
				      "macs", macs, "bytes_total", (json_int_t)total, "vcpus",
				      (int)req->vcpus, "memory_mib", (json_int_t)req->memory_mib));
	return plan;
fail:
	json_decref(plan);
	json_decref(sources);
	json_decref(only);
	json_decref(rdisks);
	json_decref(events);
	json_decref(sdisks);
	json_decref(skipped);
	json_decref(removed);
	json_decref(macs);
	return NULL;
}

json_t *plan_volume_from_snapshot(const struct model_vm *vm, const struct plan_env *env,
				  const struct plan_volume_req *req, struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(vm, req->snapshot);
	const struct model_image *src;
	SD_AUTOFREE char *path = NULL;
	SD_AUTOFREE char *msg = NULL;
	json_t *plan;

	(void)env;
	if (!s) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
			   req->snapshot ? req->snapshot : "");
		return NULL;
	}
	if (!plan_name_ok(req->name, _("volume"), err))
		return NULL;
	if (check_target(vm, s, &req->disk, err) < 0)
		return NULL;
	src = model_vm_image(vm, snap_disk_by_target(s, req->disk.target)->image_id);
	if (req->disk.missing || !src) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("disk %s: the layer of snapshot %s is gone"),
			   req->disk.target, s->name);
		return NULL;
	}
	path = sd_asprintf("%s%s%s", req->disk.dir,
			   sd_str_has_suffix(req->disk.dir, "/") ? "" : "/", req->name);
	plan = plan_new("volume from-snapshot", vm->name);
	add_copy(plan, src, &req->disk, path);
	msg = sd_asprintf(_("volume %s (%s) made from disk %s of snapshot %s"), req->name, path,
			  req->disk.target, s->name);
	plan_set_pnr_next(plan);
	plan_add_step(plan, "catalog",
		      json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "changes", "op", "event", "vm",
				vm->name, "event_op", "volume from-snapshot", "level", "info",
				"message", msg),
		      NULL, false, _("record the event"));
	json_object_set_new(json_object_get(plan, "summary"), "volume",
			    json_pack("{s:s,s:s,s:s?,s:s,s:s,s:{s:s,s:s},s:I}", "name", req->name,
				      "path", path, "pool", req->disk.pool, "format",
				      req->disk.format, "target", req->disk.target, "snapshot",
				      "id", s->id, "name", s->name, "bytes_total",
				      (json_int_t)req->disk.bytes));
	return plan;
}
