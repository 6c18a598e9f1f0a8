/* Shared by the planners. */
#ifndef SD_MODEL_PLAN_PRIV_H
#define SD_MODEL_PLAN_PRIV_H

#include "model/plan.h"

/* A new layer's path: the folder of base_path, the id, ".qcow2". */
char *plan_overlay_path(const char *base_path, const char *id);
/* The image's file name (after the last '/'). */
const char *plan_basename(const char *path);
/* Number of known images whose parent is id. */
size_t plan_children(const struct model_vm *vm, const char *id, const struct model_image **first);

json_t *plan_change_image_add(const char *id, const char *path, const char *format,
			      const char *parent_id, const char *pool, uint64_t virtual_size);
json_t *plan_change_event(const char *vm, const char *op, const char *level, const char *message);
/* A create_overlay step (with its undo) for a new overlay on base. */
void plan_step_overlay(json_t *plan, const char *path, const struct model_image *base);
/* A delete_volume step for an image's file (destructive). */
void plan_step_delete(json_t *plan, const struct model_image *img);
/* A name for a domain or a volume: printable, 1..200 bytes, no '/'; false
 * (with err set, what naming the kind) when not. */
bool plan_name_ok(const char *name, const char *what, struct sd_err *err);
/* A locally administered MAC (52:54:00:xx:xx:xx) from a new id, not in used
 * nor in given. */
void plan_new_mac(const struct plan_env *env, char *const *used, json_t *given, char out[18]);

#endif
