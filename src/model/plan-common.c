#include "config.h"

#include <string.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"

char *plan_overlay_path(const char *base_path, const char *id)
{
	const char *slash = strrchr(base_path, '/');

	if (!slash)
		return sd_asprintf("%s.qcow2", id);
	return sd_asprintf("%.*s/%s.qcow2", (int)(slash - base_path), base_path, id);
}

const char *plan_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

size_t plan_children(const struct model_vm *vm, const char *id, const struct model_image **first)
{
	size_t n = 0;

	if (first)
		*first = NULL;
	for (size_t i = 0; i < vm->nimages; i++) {
		if (vm->images[i].parent_id && strcmp(vm->images[i].parent_id, id) == 0) {
			if (first && !*first)
				*first = &vm->images[i];
			n++;
		}
	}
	return n;
}

json_t *plan_change_image_add(const char *id, const char *path, const char *format,
			      const char *parent_id, const char *pool, uint64_t virtual_size)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:I}", "op", "image_add", "id", id, "path",
			 path, "format", format, "parent_id", parent_id, "pool", pool,
			 "virtual_size", (json_int_t)virtual_size);
}

json_t *plan_change_event(const char *vm, const char *op, const char *level, const char *message)
{
	return json_pack("{s:s,s:s?,s:s,s:s,s:s}", "op", "event", "vm", vm, "event_op", op,
			 "level", level, "message", message);
}

void plan_step_overlay(json_t *plan, const char *path, const struct model_image *base)
{
	SD_AUTOFREE char *label = sd_asprintf(_("new layer %s on %s"), path, base->path);

	plan_add_step(plan, "create_overlay",
		      json_pack("{s:s,s:s?,s:s,s:s,s:s}", "path", path, "pool", base->pool, "name",
				plan_basename(path), "backing", base->path, "backing_format",
				base->format),
		      json_pack("{s:s,s:{s:s,s:s?}}", "kind", "delete_volume", "args", "path", path,
				"pool", base->pool),
		      false, label);
}

void plan_step_delete(json_t *plan, const struct model_image *img)
{
	SD_AUTOFREE char *label = sd_asprintf(_("delete layer %s"), img->path);

	plan_add_step(plan, "delete_volume",
		      json_pack("{s:s,s:s?}", "path", img->path, "pool", img->pool), NULL, true,
		      label);
}
