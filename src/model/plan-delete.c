/* Delete a snapshot: its layers are merged away with the cheapest correct
 * data movement, and everything that rests on them reads the same after. */
#include "config.h"

#include <string.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

/* Does any snapshot other than s use image id as a layer? */
static bool used_by_other_snapshot(const struct model_vm *vm, const struct model_snapshot *s,
				   const char *id)
{
	for (size_t i = 0; i < vm->nsnapshots; i++) {
		if (&vm->snapshots[i] == s)
			continue;
		for (size_t d = 0; d < vm->snapshots[i].ndisks; d++)
			if (strcmp(vm->snapshots[i].disks[d].image_id, id) == 0)
				return true;
	}
	return false;
}

/* Does a layer of another VM (a linked clone) rest directly on image id? */
static bool has_foreign_child(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->nimages; i++)
		if (vm->images[i].foreign && sd_str_eq(vm->images[i].parent_id, id))
			return true;
	return false;
}

/* The disk whose active chain holds image id (NULL: none); *top tells
 * whether id is that disk's active layer. */
static const struct model_disk *live_disk_of(const struct model_vm *vm, const char *id, bool *top)
{
	for (size_t d = 0; d < vm->ndisks; d++) {
		const char *cur = vm->disks[d].active_image_id;
		size_t depth = 0;

		while (cur && depth++ < 4096) {
			const struct model_image *img;

			if (strcmp(cur, id) == 0) {
				*top = depth == 1;
				return &vm->disks[d];
			}
			img = model_vm_image(vm, cur);
			cur = img ? img->parent_id : NULL;
		}
	}
	*top = false;
	return NULL;
}

json_t *plan_delete(const struct model_vm *vm, const struct plan_env *env, const char *snapshot,
		    struct sd_err *err)
{
	const struct model_snapshot *S;
	json_t *plan, *changes, *moves, *after, *sources, *files, *kept, *summary;
	uint64_t bytes = 0;

	if (vm->preview) {
		sd_err_set(err, SD_ERR_STATE,
			   _("VM %s is in a preview: commit or undo it before deleting snapshots"),
			   vm->name);
		return NULL;
	}
	S = model_vm_snapshot(vm, snapshot);
	if (!S) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no snapshot '%s'"), vm->name,
			   snapshot);
		return NULL;
	}
	plan = plan_new("snapshot delete", vm->name);
	changes = json_array();
	moves = json_array(); /* data movement steps, in order */
	after = json_array(); /* images to delete once the catalog is updated */
	sources = json_object();
	files = json_array();
	kept = json_array();

	/* The tree: S's children move up to S's parent. */
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (sd_str_eq(vm->snapshots[i].parent_id, S->id))
			json_array_append_new(changes, json_pack("{s:s,s:s,s:s?}", "op",
								 "snapshot_set_parent", "id",
								 vm->snapshots[i].id, "parent_id",
								 S->parent_id));
	if (sd_str_eq(vm->current_snapshot, S->id))
		json_array_append_new(changes, json_pack("{s:s,s:s?}", "op", "vm_set_current",
							 "snapshot_id", S->parent_id));
	json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "snapshot_remove", "id", S->id));

	for (size_t i = 0; i < S->ndisks; i++) {
		const struct model_image *L = model_vm_image(vm, S->disks[i].image_id), *K, *P;
		const struct model_disk *kd = NULL;
		bool k_top = false;
		size_t n;

		if (!L || used_by_other_snapshot(vm, S, L->id))
			continue;
		n = plan_children(vm, L->id, &K);
		P = model_vm_image(vm, L->parent_id);
		if (n == 1 && env->running)
			kd = live_disk_of(vm, K->id, &k_top);
		if (n == 0) {
			/* nothing rests on it any more */
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", L->id));
			json_array_append_new(after, json_string(L->path));
			json_array_append_new(files, json_string(L->path));
		} else if (n >= 2 || K->foreign || has_foreign_child(vm, K->id)) {
			/* several layers rest on it, or a linked clone of another
			 * VM rests on it or on its only child (another VM's layers
			 * are never rewritten, removed nor re-pointed from here,
			 * and what they rest on is never rewritten): it stays,
			 * unnamed */
			json_array_append_new(kept, json_string(L->path));
		} else if (K->allocated < L->allocated || (kd && !k_top)) {
			/* Commit the smaller child down into L, then L takes the
			 * child's place everywhere. (A layer in the middle of a
			 * running VM's chain can only be merged this way.) */
			SD_AUTOFREE char *label =
				kd ? sd_asprintf(_("merge %s down into %s (%s, while the VM runs)"),
						 K->path, L->path, kd->target)
				   : sd_asprintf(_("merge %s down into %s"), K->path, L->path);
			if (kd)
				json_array_append_new(
					moves,
					json_pack("{s:s,s:{s:s,s:s,s:s,s:s?,s:s,s:I},s:s}", "kind",
						  "block_job", "args", "uuid", env->domain_uuid, "target",
						  kd->target, "job", k_top ? "active_commit" : "commit",
						  "top", k_top ? NULL : K->path, "base", L->path, "bytes",
						  (json_int_t)K->allocated, "label", label));
			else
				json_array_append_new(moves,
						      json_pack("{s:s,s:{s:s,s:s},s:s}", "kind",
								"qemu_commit", "args", "top", K->path,
								"format", K->format, "label", label));
			for (size_t c = 0; c < vm->nimages; c++) {
				const struct model_image *ch = &vm->images[c];
				bool ch_top;
				if (!sd_str_eq(ch->parent_id, K->id))
					continue;
				/* the child in the running chain: QEMU re-points it */
				if (kd && live_disk_of(vm, ch->id, &ch_top) == kd) {
					json_array_append_new(changes,
							      json_pack("{s:s,s:s,s:s}", "op",
									"image_set_parent", "id",
									ch->id, "parent_id", L->id));
					json_array_append_new(files, json_string(ch->path));
					continue;
				}
				SD_AUTOFREE char *l2 = sd_asprintf(_("re-point %s to %s"), ch->path,
								   L->path);
				json_array_append_new(
					moves, json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:b},s:s}", "kind",
							 "qemu_rebase", "args", "top", ch->path, "format",
							 ch->format, "backing", L->path, "backing_format",
							 L->format, "safe", false, "label", l2));
				json_array_append_new(changes, json_pack("{s:s,s:s,s:s}", "op",
									 "image_set_parent", "id",
									 ch->id, "parent_id", L->id));
				json_array_append_new(files, json_string(ch->path));
			}
			for (size_t d = 0; d < vm->ndisks; d++)
				if (sd_str_eq(vm->disks[d].active_image_id, K->id)) {
					json_object_set_new(sources, vm->disks[d].target,
							    json_pack("{s:s,s:s}", "path", L->path,
								      "format", L->format));
					json_array_append_new(changes,
							      json_pack("{s:s,s:s,s:s}", "op",
									"disk_set_active", "disk_id",
									vm->disks[d].id, "image_id",
									L->id));
				}
			for (size_t s = 0; s < vm->nsnapshots; s++)
				for (size_t d = 0; d < vm->snapshots[s].ndisks; d++)
					if (strcmp(vm->snapshots[s].disks[d].image_id, K->id) == 0)
						json_array_append_new(
							changes,
							json_pack("{s:s,s:s,s:s,s:s}", "op",
								  "snapshot_disk_set_image", "snapshot_id",
								  vm->snapshots[s].id, "disk_id",
								  vm->snapshots[s].disks[d].disk_id,
								  "image_id", L->id));
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", K->id));
			json_array_append_new(after, json_string(K->path));
			json_array_append_new(files, json_string(L->path));
			json_array_append_new(files, json_string(K->path));
			bytes += K->allocated;
		} else {
			/* Pull L's data up into its only child, then drop L: a
			 * block job when the child is a running VM's active layer,
			 * else qemu-img (undone by pointing it back at L). */
			bool live = kd && k_top;
			SD_AUTOFREE char *label =
				P ? sd_asprintf(_("copy %s into %s and re-point it to %s"), L->path,
						K->path, P->path)
				  : sd_asprintf(_("copy %s into %s, which then stands alone"),
						L->path, K->path);
			SD_AUTOFREE char *live_label =
				live ? sd_asprintf(_("%s (%s, while the VM runs)"), label, kd->target)
				     : NULL;

			if (live)
				json_array_append_new(
					moves,
					json_pack("{s:s,s:{s:s,s:s,s:s,s:s?,s:I},s:s}", "kind",
						  "block_job", "args", "uuid", env->domain_uuid, "target",
						  kd->target, "job", "pull", "base", P ? P->path : NULL,
						  "bytes", (json_int_t)L->allocated, "label", live_label));
			else
				json_array_append_new(
					moves,
					json_pack("{s:s,s:{s:s,s:s,s:s?,s:s?,s:b},s:{s:s,s:{s:s,s:s,s:s,s:s,s:b}},s:s}",
						  "kind", "qemu_rebase", "args", "top", K->path,
						  "format", K->format, "backing", P ? P->path : NULL,
						  "backing_format", P ? P->format : NULL, "safe", true,
						  "undo", "kind", "qemu_rebase", "args", "top", K->path,
						  "format", K->format, "backing", L->path,
						  "backing_format", L->format, "safe", false, "label",
						  label));
			json_array_append_new(changes, json_pack("{s:s,s:s,s:s?}", "op",
								 "image_set_parent", "id", K->id,
								 "parent_id", P ? P->id : NULL));
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", L->id));
			json_array_append_new(after, json_string(L->path));
			json_array_append_new(files, json_string(K->path));
			json_array_append_new(files, json_string(L->path));
			bytes += L->allocated;
		}
	}

	/* Steps: data movement (a commit is the point of no return), the
	 * domain, the catalog, then the files that are gone. */
	size_t i;
	json_t *m;
	json_array_foreach(moves, i, m) {
		const char *kind = json_string_value(json_object_get(m, "kind"));
		/* a merge (and any block job: it cannot be taken back) is the
		 * point of no return */
		bool is_commit = strcmp(kind, "qemu_commit") == 0 || strcmp(kind, "block_job") == 0;
		json_t *undo = json_object_get(m, "undo");

		if (is_commit)
			plan_set_pnr_next(plan);
		plan_add_step(plan, kind, json_incref(json_object_get(m, "args")),
			      undo ? json_incref(undo) : NULL, is_commit,
			      json_string_value(json_object_get(m, "label")));
	}
	if (json_object_size(sources) > 0)
		plan_add_step(plan, "define_domain",
			      json_pack("{s:s,s:s,s:s,s:O,s:[],s:[]}", "xml", env->domain_xml,
					"name", env->domain_name, "uuid", env->domain_uuid,
					"sources", sources, "remove", "imports"),
			      json_pack("{s:s,s:{s:s}}", "kind", "define_domain", "args", "xml",
					env->domain_xml),
			      false, _("point the VM's disks at the merged layers"));
	{
		char size[32];
		SD_AUTOFREE char *msg = NULL;

		sd_str_bytes(bytes, size, sizeof(size));
		msg = sd_asprintf(_("snapshot %s deleted (%s moved)"), S->name, size);
		json_array_append_new(changes,
				      plan_change_event(vm->name, "snapshot delete", "info", msg));
	}
	plan_set_pnr_next(plan);
	plan_add_step(plan, "catalog", json_pack("{s:o}", "changes", changes), NULL, false,
		      _("remove the snapshot from the catalog"));
	json_array_foreach(after, i, m) {
		const struct model_image *img = model_vm_image_by_path(vm, json_string_value(m));
		if (img)
			plan_step_delete(plan, img);
	}
	if (S->memory_path) {
		SD_AUTOFREE char *label = sd_asprintf(_("delete memory state %s"), S->memory_path);
		plan_add_step(plan, "delete_volume",
			      json_pack("{s:s,s:n}", "path", S->memory_path, "pool"), NULL, true,
			      label);
		json_array_append_new(files, json_string(S->memory_path));
	}
	summary = json_object_get(plan, "summary");
	json_object_set_new(summary, "snapshot", json_pack("{s:s,s:s}", "id", S->id, "name", S->name));
	json_object_set_new(summary, "bytes_to_move", json_integer((json_int_t)bytes));
	json_object_set_new(summary, "files", files);
	json_object_set_new(summary, "kept_internal", kept);
	json_decref(moves);
	json_decref(after);
	json_decref(sources);
	return plan;
}
