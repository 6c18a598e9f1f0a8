#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model/state.h"
#include "util/mem.h"
#include "util/str.h"

void model_image_clear(struct model_image *img)
{
	free(img->id);
	free(img->path);
	free(img->format);
	free(img->parent_id);
	free(img->pool);
	memset(img, 0, sizeof(*img));
}

void model_snapshot_clear(struct model_snapshot *s)
{
	free(s->id);
	free(s->name);
	free(s->parent_id);
	free(s->created);
	free(s->description);
	free(s->domain_xml);
	free(s->memory_path);
	free(s->policy_name);
	for (size_t i = 0; i < s->ndisks; i++) {
		free(s->disks[i].disk_id);
		free(s->disks[i].target);
		free(s->disks[i].image_id);
	}
	free(s->disks);
	memset(s, 0, sizeof(*s));
}

static void preview_free(struct model_preview *p)
{
	if (!p)
		return;
	free(p->config_snapshot);
	free(p->disks_json);
	free(p->saved_xml);
	free(p->saved_tops);
	free(p->saved_current);
	free(p->created);
	free(p);
}

void model_vm_free(struct model_vm *vm)
{
	if (!vm)
		return;
	free(vm->uuid);
	free(vm->name);
	free(vm->current_snapshot);
	free(vm->drift_reason);
	for (size_t i = 0; i < vm->ndisks; i++) {
		free(vm->disks[i].id);
		free(vm->disks[i].target);
		free(vm->disks[i].active_image_id);
	}
	free(vm->disks);
	for (size_t i = 0; i < vm->nimages; i++)
		model_image_clear(&vm->images[i]);
	free(vm->images);
	for (size_t i = 0; i < vm->nsnapshots; i++)
		model_snapshot_clear(&vm->snapshots[i]);
	free(vm->snapshots);
	preview_free(vm->preview);
	free(vm);
}

const struct model_image *model_vm_image(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; id && i < vm->nimages; i++)
		if (strcmp(vm->images[i].id, id) == 0)
			return &vm->images[i];
	return NULL;
}

const struct model_image *model_vm_image_by_path(const struct model_vm *vm, const char *path)
{
	for (size_t i = 0; path && i < vm->nimages; i++)
		if (sd_str_eq(vm->images[i].path, path))
			return &vm->images[i];
	return NULL;
}

const struct model_disk *model_vm_disk(const struct model_vm *vm, const char *target)
{
	for (size_t i = 0; target && i < vm->ndisks; i++)
		if (sd_str_eq(vm->disks[i].target, target))
			return &vm->disks[i];
	return NULL;
}

const struct model_disk *model_vm_disk_by_id(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; id && i < vm->ndisks; i++)
		if (sd_str_eq(vm->disks[i].id, id))
			return &vm->disks[i];
	return NULL;
}

const struct model_snapshot *model_vm_snapshot(const struct model_vm *vm, const char *id_or_name)
{
	if (!id_or_name)
		return NULL;
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (strcmp(vm->snapshots[i].id, id_or_name) == 0)
			return &vm->snapshots[i];
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (strcmp(vm->snapshots[i].name, id_or_name) == 0)
			return &vm->snapshots[i];
	return NULL;
}

const struct model_snapshot_disk *model_snapshot_disk_by_target(const struct model_snapshot *s,
								const char *target)
{
	for (size_t i = 0; target && i < s->ndisks; i++)
		if (sd_str_eq(s->disks[i].target, target))
			return &s->disks[i];
	return NULL;
}

static void add_target(char ***v, size_t *n, const char *target)
{
	if (!target || sd_strv_contains(*v, target))
		return;
	*v = sd_realloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = sd_strdup(target);
	(*v)[*n] = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool model_preview_kept(const struct model_preview *p, const char *disk_id)
{
	json_t *tops;
	bool kept;

	if (!p || !p->saved_tops || !disk_id)
		return false;
	tops = json_loads(p->saved_tops, 0, NULL);
	kept = json_is_string(json_object_get(tops, disk_id));
	json_decref(tops);
	return kept;
}

char **model_vm_targets(const struct model_vm *vm)
{
	char **v = sd_calloc(1, sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < vm->ndisks; i++)
		add_target(&v, &n, vm->disks[i].target);
	for (size_t i = 0; i < vm->nsnapshots; i++)
		for (size_t d = 0; d < vm->snapshots[i].ndisks; d++)
			add_target(&v, &n, vm->snapshots[i].disks[d].target);
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

const struct model_snapshot_disk *model_snapshot_disk(const struct model_snapshot *s,
						      const char *disk_id)
{
	for (size_t i = 0; disk_id && i < s->ndisks; i++)
		if (sd_str_eq(s->disks[i].disk_id, disk_id))
			return &s->disks[i];
	return NULL;
}
