#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/plan-priv.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

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

/* A name for a domain or a volume: printable, 1..200 bytes, no '/'. */
bool plan_name_ok(const char *name, const char *what, struct sd_err *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > 200 || !sd_str_printable_utf8(name) || strchr(name, '/') ||
	    name[0] == '-' || name[0] == '.' || name[0] == ' ' || name[len - 1] == ' ') {
		sd_err_set(err, SD_ERR_INVALID,
			   _("'%s' is not a valid %s name (1 to 200 printable bytes, no '/', not "
			     "starting with '-', '.' or a space)"),
			   name ? name : "", what);
		return false;
	}
	return true;
}

/* A locally administered MAC (52:54:00:xx:xx:xx) from a new id, not in used. */
void plan_new_mac(const struct plan_env *env, char *const *used, json_t *given, char out[18])
{
	for (int tries = 0; tries < 64; tries++) {
		char id[37];
		bool dup = false;
		size_t i;
		json_t *v;

		env->new_id(id, env->opaque);
		snprintf(out, 18, "52:54:00:%c%c:%c%c:%c%c", id[0], id[1], id[2], id[3], id[4],
			 id[5]);
		for (i = 0; used && used[i] && !dup; i++)
			dup = strcasecmp(used[i], out) == 0;
		json_array_foreach(given, i, v) dup = dup || strcmp(json_string_value(v), out) == 0;
		if (!dup)
			return;
	}
}
