/* Preview (a state composed from several snapshots), undo and commit. */
#include "config.h"

#include <string.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static const char *choice_for(const struct plan_preview_req *req, const char *target)
{
	const char *c = NULL;

	for (size_t i = 0; i < req->nchoices; i++)
		if (strcmp(req->choices[i].target, target) == 0)
			c = req->choices[i].choice;
	return c;
}

json_t *plan_preview(const struct model_vm *vm, const struct plan_env *env,
		     const struct plan_preview_req *req, struct sd_err *err)
{
	const struct model_snapshot *C = NULL;
	json_t *plan = NULL, *changes = NULL, *sources = NULL, *only = NULL, *imports = NULL;
	json_t *resolved = NULL, *tops = NULL, *summary;
	size_t previewed = 0;
	SD_AUTOFREE char *disks_text = NULL, *tops_text = NULL;

	if (vm->preview) {
		sd_err_set(err, SD_ERR_STATE,
			   _("VM %s is in a preview already: commit or undo it first"), vm->name);
		return NULL;
	}
	if (req->config && strcmp(req->config, "current") != 0) {
		C = model_vm_snapshot(vm, req->config);
		if (!C) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
				   req->config);
			return NULL;
		}
	}
	if (req->memory && (!C || !C->memory_path)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("memory comes with the configuration, and %s has no memory state"),
			   C ? C->name : _("the current configuration"));
		return NULL;
	}
	for (size_t i = 0; i < req->nchoices; i++) {
		const char *c = req->choices[i].choice;
		if (!model_vm_disk(vm, req->choices[i].target)) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no disk %s"), vm->name,
				   req->choices[i].target);
			return NULL;
		}
		if (strcmp(c, "current") != 0 && strcmp(c, "exclude") != 0 &&
		    !model_vm_snapshot(vm, c)) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name, c);
			return NULL;
		}
	}

	plan = plan_new("preview", vm->name);
	changes = json_array();
	sources = json_object();
	only = json_array();
	imports = json_array();
	resolved = json_object();
	tops = json_object();
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct model_disk *d = &vm->disks[i];
		const char *choice = choice_for(req, d->target);
		const struct model_snapshot *S = NULL;
		const struct model_image *base = NULL;
		const char *from_xml = NULL;

		if (d->active_image_id)
			json_object_set_new(tops, d->id, json_string(d->active_image_id));
		if (!choice) {
			if (C && model_snapshot_disk(C, d->id))
				choice = C->id;
			else if (d->active_image_id)
				choice = "current";
			else
				continue; /* a disk of other snapshots only: not in this state */
		}
		if (strcmp(choice, "exclude") == 0) {
			json_object_set_new(resolved, d->target, json_string("exclude"));
		} else if (strcmp(choice, "current") == 0) {
			if (!d->active_image_id) {
				sd_err_set(err, SD_ERR_INVALID,
					   _("disk %s is not in the VM's current state"), d->target);
				goto fail;
			}
			base = model_vm_image(vm, d->active_image_id);
			from_xml = env->domain_xml;
			json_object_set_new(resolved, d->target, json_string("current"));
		} else {
			const struct model_snapshot_disk *sd;
			S = model_vm_snapshot(vm, choice);
			sd = model_snapshot_disk(S, d->id);
			if (!sd) {
				sd_err_set(err, SD_ERR_INVALID, _("snapshot %s does not hold disk %s"),
					   S->name, d->target);
				goto fail;
			}
			base = model_vm_image(vm, sd->image_id);
			from_xml = S->domain_xml;
			json_object_set_new(resolved, d->target, json_string(S->id));
		}
		/* the memory state remembers the disks as they were: they come
		 * with it */
		if (req->memory && model_snapshot_disk(C, d->id) && S != C) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("with the memory state of %s, disk %s comes from %s too"),
				   C->name, d->target, C->name);
			goto fail;
		}
		if (d->active_image_id && !base)
			json_array_append_new(changes, json_pack("{s:s,s:s,s:n}", "op",
								 "disk_set_active", "disk_id", d->id,
								 "image_id"));
		if (!base) {
			if (strcmp(choice, "exclude") != 0) {
				sd_err_set(err, SD_ERR_INTERNAL, _("no known layer for disk %s"),
					   d->target);
				goto fail;
			}
			continue;
		}
		{
			char oid[37];
			SD_AUTOFREE char *path = NULL;

			env->new_id(oid, env->opaque);
			path = plan_overlay_path(base->path, oid);
			plan_step_overlay(plan, path, base);
			json_object_set_new(sources, d->target,
					    json_pack("{s:s,s:s}", "path", path, "format", "qcow2"));
			json_array_append_new(only, json_string(d->target));
			json_array_append_new(imports, json_pack("{s:s,s:s}", "target", d->target,
								 "from_xml", from_xml));
			json_array_append_new(changes,
					      plan_change_image_add(oid, path, "qcow2", base->id,
								    base->pool, base->virtual_size));
			json_array_append_new(changes,
					      json_pack("{s:s,s:s,s:s}", "op", "disk_set_active",
							"disk_id", d->id, "image_id", oid));
			previewed++;
		}
	}
	if (previewed == 0) {
		sd_err_set(err, SD_ERR_INVALID, _("a preview needs at least one disk"));
		goto fail;
	}
	plan_add_step(plan, "define_domain",
		      json_pack("{s:s,s:s,s:s,s:O,s:O,s:O}", "xml",
				C ? C->domain_xml : env->domain_xml, "name", env->domain_name, "uuid",
				env->domain_uuid, "sources", sources, "only", only, "imports", imports),
		      json_pack("{s:s,s:{s:s}}", "kind", "define_domain", "args", "xml",
				env->domain_xml),
		      false, C ? _("configuration from the snapshot, disks on the new layers")
			       : _("disks on the new layers"));
	disks_text = json_dumps(resolved, JSON_COMPACT | JSON_SORT_KEYS);
	tops_text = json_dumps(tops, JSON_COMPACT | JSON_SORT_KEYS);
	json_array_append_new(changes,
			      json_pack("{s:s,s:s?,s:b,s:s,s:s,s:s,s:s?}", "op", "preview_set",
					"config_snapshot", C ? C->id : NULL, "memory", req->memory,
					"disks", disks_text, "saved_xml", env->domain_xml,
					"saved_tops", tops_text, "saved_current", vm->current_snapshot));
	{
		SD_AUTOFREE char *msg = sd_asprintf(_("preview of %s configuration, disks %s"),
						    C ? C->name : _("the current"), disks_text);
		json_array_append_new(changes, plan_change_event(vm->name, "preview", "info", msg));
	}
	plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
		      _("record the preview in the catalog"));
	summary = json_object_get(plan, "summary");
	json_object_set_new(summary, "config", json_string(C ? C->id : "current"));
	json_object_set_new(summary, "memory", json_boolean(req->memory));
	json_object_set_new(summary, "disks", resolved);
	json_decref(sources);
	json_decref(only);
	json_decref(imports);
	json_decref(tops);
	return plan;
fail:
	json_decref(plan);
	json_decref(changes);
	json_decref(sources);
	json_decref(only);
	json_decref(imports);
	json_decref(resolved);
	json_decref(tops);
	return NULL;
}

/* The preview's saved tops (disk id -> image id), or NULL with err set. */
static json_t *saved_tops(const struct model_vm *vm, struct sd_err *err)
{
	json_t *tops = json_loads(vm->preview->saved_tops, 0, NULL);

	if (!json_is_object(tops)) {
		json_decref(tops);
		sd_err_set(err, SD_ERR_INTERNAL, _("the preview of VM %s has no saved state"),
			   vm->name);
		return NULL;
	}
	return tops;
}

json_t *plan_undo(const struct model_vm *vm, const struct plan_env *env, struct sd_err *err)
{
	json_t *plan, *changes, *tops;
	const struct model_preview *p = vm->preview;

	if (!p) {
		sd_err_set(err, SD_ERR_STATE, _("VM %s has no preview to undo"), vm->name);
		return NULL;
	}
	tops = saved_tops(vm, err);
	if (!tops)
		return NULL;
	plan = plan_new("undo", vm->name);
	changes = json_array();
	plan_add_step(plan, "define_domain", json_pack("{s:s}", "xml", p->saved_xml),
		      json_pack("{s:s,s:{s:s}}", "kind", "define_domain", "args", "xml",
				env->domain_xml),
		      false, _("the configuration from before the preview"));
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct model_disk *d = &vm->disks[i];
		const char *saved = json_string_value(json_object_get(tops, d->id));

		if (sd_str_eq(saved, d->active_image_id))
			continue;
		json_array_append_new(changes, json_pack("{s:s,s:s,s:s?}", "op", "disk_set_active",
							 "disk_id", d->id, "image_id", saved));
		if (d->active_image_id)
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", d->active_image_id));
	}
	/* the current snapshot too: a snapshot taken during the preview made
	 * itself current */
	json_array_append_new(changes, json_pack("{s:s,s:s?}", "op", "vm_set_current",
						 "snapshot_id", p->saved_current));
	json_array_append_new(changes, json_pack("{s:s}", "op", "preview_clear"));
	json_array_append_new(changes, plan_change_event(vm->name, "undo", "info",
							 _("preview undone")));
	plan_set_pnr_next(plan);
	plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
		      _("forget the preview in the catalog"));
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct model_disk *d = &vm->disks[i];
		const char *saved = json_string_value(json_object_get(tops, d->id));
		const struct model_image *ov = model_vm_image(vm, d->active_image_id);

		if (ov && !sd_str_eq(saved, d->active_image_id))
			plan_step_delete(plan, ov);
	}
	json_decref(tops);
	return plan;
}

/* Is id an ancestor-or-self of the images any of the keep set rests on? */
static bool image_needed(const struct model_vm *vm, json_t *keep, const char *id)
{
	const char *k;
	json_t *v;

	json_object_foreach(keep, k, v) {
		const struct model_image *img = model_vm_image(vm, k);
		while (img) {
			if (strcmp(img->id, id) == 0)
				return true;
			img = model_vm_image(vm, img->parent_id);
		}
	}
	return false;
}

/* Is image id the layer of some snapshot (of any disk)? */
static bool is_snapshot_layer(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->nsnapshots; i++)
		for (size_t d = 0; d < vm->snapshots[i].ndisks; d++)
			if (strcmp(vm->snapshots[i].disks[d].image_id, id) == 0)
				return true;
	return false;
}

static bool snapshot_descends(const struct model_vm *vm, const struct model_snapshot *s,
			      const char *ancestor)
{
	const struct model_snapshot *p = model_vm_snapshot(vm, s->parent_id);

	while (p) {
		if (strcmp(p->id, ancestor) == 0)
			return true;
		p = model_vm_snapshot(vm, p->parent_id);
	}
	return false;
}

json_t *plan_commit(const struct model_vm *vm, const struct plan_env *env, bool prune,
		    struct sd_err *err)
{
	const struct model_preview *p = vm->preview;
	const char *new_current;
	json_t *plan, *changes, *tops, *summary, *deleted = NULL;
	bool holds_data = false;
	const char *k;
	json_t *v;

	if (!p) {
		sd_err_set(err, SD_ERR_STATE, _("VM %s has no preview to commit"), vm->name);
		return NULL;
	}
	tops = saved_tops(vm, err);
	if (!tops)
		return NULL;
	new_current = p->config_snapshot ? p->config_snapshot : p->saved_current;
	/* snapshots taken during the preview: the state descends from the last */
	if (!sd_str_eq(vm->current_snapshot, p->saved_current))
		new_current = vm->current_snapshot;
	plan = plan_new("commit", vm->name);
	summary = json_object_get(plan, "summary");
	changes = json_array();
	json_array_append_new(changes, json_pack("{s:s}", "op", "preview_clear"));
	json_array_append_new(changes, json_pack("{s:s,s:s?}", "op", "vm_set_current",
						 "snapshot_id", new_current));
	/* A top holds the state before the preview unless it is empty and
	 * rests on a snapshot's layer: an empty top on an unnamed internal
	 * layer (what a deleted snapshot with two children leaves) is the only
	 * way left to that state. */
	json_object_foreach(tops, k, v) {
		const struct model_image *t = model_vm_image(vm, json_string_value(v));
		if (t && (t->allocated > 0 ||
			  (t->parent_id && !is_snapshot_layer(vm, t->parent_id))))
			holds_data = true;
	}

	if (prune) {
		/* oVirt: the snapshots after the committed one and the state
		 * from before the preview go; layers the new state still rests
		 * on stay as internal layers. */
		json_t *keep = json_object();
		const char *root = new_current;

		deleted = json_array();
		for (size_t i = 0; i < vm->ndisks; i++)
			if (vm->disks[i].active_image_id)
				json_object_set_new(keep, vm->disks[i].active_image_id, json_true());
		for (size_t i = 0; i < vm->nsnapshots; i++) {
			const struct model_snapshot *s = &vm->snapshots[i];
			if (root && snapshot_descends(vm, s, root)) {
				json_array_append_new(changes, json_pack("{s:s,s:s}", "op",
									 "snapshot_remove", "id",
									 s->id));
				json_array_append_new(deleted, json_string(s->name));
				continue;
			}
			for (size_t d = 0; d < s->ndisks; d++)
				json_object_set_new(keep, s->disks[d].image_id, json_true());
		}
		plan_set_pnr_next(plan);
		json_array_append_new(changes,
				      plan_change_event(vm->name, "commit", "info",
							_("preview committed; later snapshots pruned")));
		/* image rows go in the catalog step, files after it */
		json_t *gone = json_array();
		/* linked clones of other VMs keep what they rest on */
		for (size_t i = 0; i < vm->nimages; i++)
			if (vm->images[i].foreign)
				json_object_set_new(keep, vm->images[i].id, json_true());
		for (size_t i = 0; i < vm->nimages; i++)
			if (!image_needed(vm, keep, vm->images[i].id)) {
				json_array_append_new(changes, json_pack("{s:s,s:s}", "op",
									 "image_remove", "id",
									 vm->images[i].id));
				json_array_append_new(gone, json_integer((json_int_t)i));
			}
		plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
			      _("make the preview the VM's state in the catalog"));
		size_t gi;
		json_t *gv;
		json_array_foreach(gone, gi, gv)
			plan_step_delete(plan, &vm->images[json_integer_value(gv)]);
		json_object_set_new(summary, "pruned", deleted);
		json_decref(gone);
		json_decref(keep);
	} else if (holds_data) {
		/* The state from before the preview held data no snapshot has:
		 * it becomes an automatic snapshot. */
		char sid[37];
		SD_AUTOFREE char *name = sd_asprintf("auto-%s", env->now);
		json_t *sdisks = json_array();

		for (int n = 2; model_vm_snapshot(vm, name); n++) {
			free(name);
			name = sd_asprintf("auto-%s-%d", env->now, n);
		}
		env->new_id(sid, env->opaque);
		json_object_foreach(tops, k, v) {
			const struct model_disk *d = model_vm_disk_by_id(vm, k);
			json_array_append_new(sdisks, json_pack("{s:s,s:s,s:s}", "disk_id", k,
								"target", d ? d->target : "",
								"image_id", json_string_value(v)));
		}
		json_array_append_new(
			changes,
			json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:n,s:b,s:b,s:n,s:o}", "op",
				  "snapshot_add", "id", sid, "name", name, "parent_id",
				  p->saved_current, "created", env->now, "description",
				  _("the state before a preview was committed"), "domain_xml",
				  p->saved_xml, "memory_path", "auto", true, "imported", false,
				  "policy_id", "disks", sdisks));
		{
			SD_AUTOFREE char *msg = sd_asprintf(
				_("preview committed; the state before it is kept as snapshot %s"),
				name);
			json_array_append_new(changes,
					      plan_change_event(vm->name, "commit", "info", msg));
		}
		plan_set_pnr_next(plan);
		plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
			      _("make the preview the VM's state in the catalog"));
		json_object_set_new(summary, "auto_snapshot", json_string(name));
	} else {
		/* The tops held nothing and rest on snapshots' layers: those
		 * snapshots hold the state before the preview. Empty tops go; a
		 * preview layer resting on one is re-pointed to its parent
		 * (same content). */
		json_t *drop = json_array();

		json_object_foreach(tops, k, v) {
			const struct model_image *t = model_vm_image(vm, json_string_value(v));
			const struct model_image *child, *parent;
			size_t n;

			if (!t)
				continue;
			n = plan_children(vm, t->id, &child);
			if (n > 1)
				continue; /* should not happen: keep it */
			parent = model_vm_image(vm, t->parent_id);
			if (n == 1) {
				SD_AUTOFREE char *label =
					sd_asprintf(_("re-point %s past the empty layer %s"),
						    child->path, t->path);
				plan_add_step(plan, "qemu_rebase",
					      json_pack("{s:s,s:s,s:s?,s:s?,s:b}", "top", child->path,
							"format", child->format, "backing",
							parent ? parent->path : NULL,
							"backing_format",
							parent ? parent->format : NULL, "safe", false),
					      json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:b}}", "kind",
							"qemu_rebase", "args", "top", child->path,
							"format", child->format, "backing", t->path,
							"backing_format", t->format, "safe", false),
					      false, label);
				json_array_append_new(changes,
						      json_pack("{s:s,s:s,s:s?}", "op",
								"image_set_parent", "id", child->id,
								"parent_id", parent ? parent->id : NULL));
			}
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", t->id));
			json_array_append_new(drop, json_string(t->id));
		}
		json_array_append_new(changes, plan_change_event(vm->name, "commit", "info",
								 _("preview committed")));
		plan_set_pnr_next(plan);
		plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
			      _("make the preview the VM's state in the catalog"));
		size_t di;
		json_t *dv;
		json_array_foreach(drop, di, dv)
			plan_step_delete(plan, model_vm_image(vm, json_string_value(dv)));
		json_decref(drop);
	}
	json_object_set_new(summary, "current", new_current ? json_string(new_current) : json_null());
	json_decref(tops);
	return plan;
}
