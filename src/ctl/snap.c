#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/engine.h"
#include "ctl/policy.h"
#include "ctl/snap.h"
#include "ctl/task.h"
#include "hv/live.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"
#include "util/uuid.h"

SD_DEFINE_AUTO(jsonv, json_t, json_decref)

struct loaded {
	struct hv_domain *dom;
	int64_t vm_id;
	struct model_vm *state;
	bool locked;
};

static void loaded_clear(struct ctl *ctl, struct loaded *L)
{
	if (L->locked)
		catalog_lock_release(ctl->cat, L->vm_id, ctl_engine_me(), NULL);
	hv_domain_free(L->dom);
	model_vm_free(L->state);
	memset(L, 0, sizeof(*L));
}

static bool is_disk(const struct hv_disk *d)
{
	return sd_str_eq(d->device, "disk") || sd_str_eq(d->device, "lun");
}

static void new_id(char out[37], void *opaque)
{
	(void)opaque;
	sd_uuid_generate(out);
}

/* The id of the image at path: from the VM's state, the catalog, or new. */
static char *image_id_for(struct ctl *ctl, const struct model_vm *vm, const char *path)
{
	const struct model_image *img = vm ? model_vm_image_by_path(vm, path) : NULL;
	char *id = NULL;
	char fresh[37];

	if (img)
		return sd_strdup(img->id);
	if (catalog_image_find(ctl->cat, ctl->host_id, path, &id, NULL) > 0)
		return id;
	sd_uuid_generate(fresh);
	return sd_strdup(fresh);
}

/* Adds image_add changes for a chain (base first) and returns the top id. */
static char *import_chain(struct ctl *ctl, const struct model_vm *vm, const struct img_chain *chain,
			  json_t *changes)
{
	char *parent = NULL;

	for (size_t k = chain->n; k-- > 0;) {
		const struct img_layer *l = &chain->layers[k];
		struct hv_pool pool = { 0 };
		char *id = image_id_for(ctl, vm, l->filename);
		bool have_pool = hv_pool_for_path(ctl->hv, l->filename, &pool, NULL) > 0;

		json_array_append_new(changes,
				      json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:I}", "op", "image_add",
						"id", id, "path", l->filename, "format", l->format,
						"parent_id", parent, "pool",
						have_pool ? pool.name : NULL, "virtual_size",
						(json_int_t)l->virtual_size));
		hv_pool_clear(&pool);
		free(parent);
		parent = id;
	}
	return parent;
}

/* Registers the VM and its disks; a disk snapdeck has no layer for yet gets
 * its backing chain imported. */
static int register_vm(struct ctl *ctl, const struct hv_domain *dom, int64_t *vm_id,
		       struct sd_err *err)
{
	SD_AUTO(model_vm) *vm = NULL;
	SD_AUTO(jsonv) *changes = json_array();

	if (catalog_begin(ctl->cat, err) < 0)
		return -1;
	if (catalog_vm_register(ctl->cat, ctl->host_id, dom->uuid, dom->name, vm_id, err) < 0)
		goto fail;
	for (size_t i = 0; i < dom->ndisks; i++) {
		SD_AUTOFREE char *id = NULL;
		if (!is_disk(&dom->disks[i]) || !dom->disks[i].target)
			continue;
		if (catalog_disk_ensure(ctl->cat, *vm_id, dom->disks[i].target, &id, err) < 0)
			goto fail;
	}
	if (catalog_commit(ctl->cat, err) < 0)
		return -1;

	vm = catalog_vm_state(ctl->cat, *vm_id, err);
	if (!vm)
		return -1;
	if (vm->preview)
		return 0; /* excluded disks are meant to have no layer */
	for (size_t i = 0; i < dom->ndisks; i++) {
		const struct hv_disk *hd = &dom->disks[i];
		const struct model_disk *md;
		SD_AUTO(img_chain) *chain = NULL;
		SD_AUTOFREE char *top = NULL;

		if (!is_disk(hd) || !hd->target || !hd->source || !sd_str_eq(hd->source_type, "file"))
			continue;
		md = model_vm_disk(vm, hd->target);
		if (!md || md->active_image_id || access(hd->source, F_OK) != 0)
			continue;
		chain = img_info_chain(hd->source, hv_state_runs(dom->state), NULL);
		if (!chain || chain->n == 0)
			continue;
		top = import_chain(ctl, vm, chain, changes);
		json_array_append_new(changes, json_pack("{s:s,s:s,s:s}", "op", "disk_set_active",
							 "disk_id", md->id, "image_id", top));
	}
	if (json_array_size(changes) == 0)
		return 0;
	return catalog_apply(ctl->cat, ctl->host_id, *vm_id, changes, err);
fail:
	catalog_rollback(ctl->cat);
	return -1;
}

/* Compares the domain with the catalog; returns a reason, or NULL. With
 * chains, also each disk's backing chain as qemu-img reads it. */
static char *drift_reason(const struct model_vm *vm, const struct hv_domain *dom, bool chains)
{
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct model_disk *d = &vm->disks[i];
		const struct model_image *img = model_vm_image(vm, d->active_image_id);
		const struct hv_disk *hd = NULL;

		if (!d->active_image_id)
			continue;
		for (size_t k = 0; k < dom->ndisks; k++)
			if (is_disk(&dom->disks[k]) && sd_str_eq(dom->disks[k].target, d->target))
				hd = &dom->disks[k];
		if (!hd)
			return sd_asprintf(_("disk %s is gone from the VM's configuration"), d->target);
		if (!img || !sd_str_eq(hd->source, img->path))
			return sd_asprintf(_("disk %s uses %s, snapdeck expects %s"), d->target,
					   hd->source ? hd->source : "-", img ? img->path : "-");
		for (const struct model_image *l = img; l; l = model_vm_image(vm, l->parent_id))
			if (access(l->path, F_OK) != 0)
				return sd_asprintf(_("disk %s: layer %s is missing"), d->target,
						   l->path);
		if (chains) {
			SD_AUTO(img_chain) *chain = img_info_chain(img->path, hv_state_runs(dom->state), NULL);
			const struct model_image *l = img;
			size_t k = 0;

			if (!chain)
				return sd_asprintf(_("disk %s: %s cannot be read"), d->target, img->path);
			for (; k < chain->n && l; k++, l = model_vm_image(vm, l->parent_id))
				if (!sd_str_eq(chain->layers[k].filename, l->path))
					break;
			if (k != chain->n || l)
				return sd_asprintf(_("disk %s: the backing chain of %s changed"),
						   d->target, img->path);
		}
	}
	return NULL;
}

static int record_drift(struct ctl *ctl, struct loaded *L, const char *reason, struct sd_err *err)
{
	SD_AUTO(jsonv) *changes = NULL;

	if (sd_str_eq(L->state->drift_reason, reason))
		return 0;
	changes = json_pack("[{s:s,s:s},{s:s,s:s,s:s,s:s,s:s}]", "op", "vm_set_drift", "reason",
			    reason, "op", "event", "vm", L->dom->name, "event_op", "sync", "level",
			    "warning", "message", reason);
	if (catalog_apply(ctl->cat, ctl->host_id, L->vm_id, changes, err) < 0)
		return -1;
	free(L->state->drift_reason);
	L->state->drift_reason = sd_strdup(reason);
	return 0;
}

enum load_flags {
	LOAD_LOCK = 1,    /* take the VM's lock and finish its interrupted operation */
	LOAD_OFF = 2,     /* the VM must be shut off */
	LOAD_CLEAN = 4,   /* the VM must not have drifted */
	LOAD_CHAINS = 8,  /* check whole backing chains for drift */
};

static int load_vm(struct ctl *ctl, const char *name, const char *op, int flags, struct loaded *L,
		   struct sd_err *err)
{
	SD_AUTOFREE char *reason = NULL;

	memset(L, 0, sizeof(*L));
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	L->dom = hv_domain_lookup(ctl->hv, name, err);
	if (!L->dom)
		return -1;
	if (register_vm(ctl, L->dom, &L->vm_id, err) < 0)
		return -1;
	if (flags & LOAD_LOCK) {
		if (catalog_lock_take(ctl->cat, L->vm_id, L->dom->name, op, ctl_engine_me(),
				      ctl_engine_owner_alive, NULL, err) < 0)
			return -1;
		L->locked = true;
		if (ctl_engine_recover(ctl, L->vm_id, NULL, NULL, NULL, err) < 0)
			return -1;
		/* a recovered operation may have redefined the domain */
		hv_domain_free(L->dom);
		L->dom = hv_domain_lookup(ctl->hv, name, err);
		if (!L->dom)
			return -1;
	}
	L->state = catalog_vm_state(ctl->cat, L->vm_id, err);
	if (!L->state)
		return -1;
	reason = drift_reason(L->state, L->dom, flags & LOAD_CHAINS);
	if (reason && record_drift(ctl, L, reason, err) < 0)
		return -1;
	if ((flags & LOAD_CLEAN) && L->state->drift_reason) {
		sd_err_set(err, SD_ERR_STATE,
			   _("VM %s has drifted (%s): run 'snapdeck sync --adopt %s' first"),
			   L->dom->name, L->state->drift_reason, L->dom->name);
		return -1;
	}
	if ((flags & LOAD_OFF) && hv_state_runs(L->dom->state)) {
		sd_err_set(err, SD_ERR_STATE,
			   _("VM %s is %s: shut it off first ('snapdeck stop %s')"), L->dom->name,
			   hv_state_name(L->dom->state), L->dom->name);
		return -1;
	}
	return 0;
}

/* Fills the data size of the given images (qemu-img map of each file). */
static int measure(struct model_vm *vm, const char *const *ids, size_t n, struct sd_err *err)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < vm->nimages; k++) {
			struct model_image *img = &vm->images[k];
			if (!ids[i] || strcmp(img->id, ids[i]) != 0)
				continue;
			if (img_allocated_top(img->path, img->format, &img->allocated, err) < 0)
				return -1;
		}
	return 0;
}

/* Sets allocated to 1 for the given images that hold data of their own and
 * 0 for those that do not (qcow2 header read directly; raw always holds). */
static int holds_data(struct model_vm *vm, const char *const *ids, size_t n, struct sd_err *err)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < vm->nimages; k++) {
			struct model_image *img = &vm->images[k];
			bool has = true;

			if (!ids[i] || strcmp(img->id, ids[i]) != 0)
				continue;
			if (sd_str_eq(img->format, "qcow2") &&
			    img_qcow2_has_data(img->path, &has, err) < 0)
				return -1;
			img->allocated = has ? 1 : 0;
		}
	return 0;
}

static void fill_env(struct plan_env *env, const struct loaded *L, char now[SD_ISO_LEN])
{
	sd_time_iso(sd_now(), now);
	env->now = now;
	env->domain_xml = L->dom->config_xml ? L->dom->config_xml : L->dom->xml;
	env->domain_name = L->dom->name;
	env->domain_uuid = L->dom->uuid;
	env->new_id = new_id;
	env->opaque = NULL;
	env->running = hv_state_runs(L->dom->state);
}

/* A delete on a running VM moves data with block jobs: a task, so that its
 * progress shows in 'tasks' and in the console, and it can be cancelled. */
static int run_as_task(struct ctl *ctl, struct loaded *L, const json_t *plan, struct sd_err *err)
{
	const json_t *sum = json_object_get(plan, "summary");
	struct ctl_task_opts o = { false, false, NULL, NULL };
	SD_AUTOFREE char *label = sd_asprintf(
		_("delete %s@%s (block jobs)"), L->dom->name,
		json_string_value(json_object_get(json_object_get(sum, "snapshot"), "name")));
	int64_t task = 0;

	return ctl_task_execute(ctl, L->vm_id, L->dom->name, plan, label,
				(uint64_t)json_integer_value(json_object_get(sum, "bytes_to_move")),
				NULL, false, &o, &task, err);
}

/* Plans with fn, then runs the plan unless dry_run. */
typedef json_t *(*planner_fn)(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
			      const void *req, struct sd_err *err);

static int operate(struct ctl *ctl, const char *vm, const char *op, int flags, planner_fn fn,
		   const void *req, bool dry_run, json_t **plan_out, struct sd_err *err)
{
	struct loaded L;
	struct plan_env env;
	char now[SD_ISO_LEN];
	json_t *plan;
	int rc = -1;

	if (load_vm(ctl, vm, op, flags | (dry_run ? 0 : LOAD_LOCK), &L, err) < 0)
		goto out;
	fill_env(&env, &L, now);
	plan = fn(ctl, &L, &env, req, err);
	if (!plan)
		goto out;
	*plan_out = plan;
	/* layers a running task reads (a clone's source) stay as they are */
	if (!dry_run && ctl_task_check_plan(ctl, L.state, plan, err) < 0)
		goto out;
	if (dry_run)
		rc = 0;
	else if (env.running && strcmp(op, "snapshot delete") == 0)
		rc = run_as_task(ctl, &L, plan, err);
	else
		rc = ctl_engine_run(ctl, L.vm_id, L.dom->name, plan, err);
out:
	loaded_clear(ctl, &L);
	return rc;
}

static json_t *do_create(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
			 const void *req, struct sd_err *err)
{
	const struct plan_snapshot_req *r = req;

	/* a policy makes room under the limit itself (ctl/policy.c) */
	if (r->policy_id == 0 && !r->is_auto && ctl_policy_check_limit(ctl, L->state, err) < 0)
		return NULL;
	return plan_snapshot_create(L->state, env, req, err);
}

int ctl_snapshot_create(struct ctl *ctl, const char *vm, const struct plan_snapshot_req *req,
			bool dry_run, json_t **plan, struct sd_err *err)
{
	return operate(ctl, vm, "snapshot create", LOAD_CLEAN, do_create, req, dry_run, plan, err);
}

static json_t *do_delete(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
			 const void *req, struct sd_err *err)
{
	const struct model_snapshot *s = model_vm_snapshot(L->state, req);
	const char *ids[256];
	size_t n = 0;

	if (s) {
		for (size_t d = 0; d < s->ndisks && n < SD_N_ELEMENTS(ids); d++) {
			const struct model_image *child;
			ids[n++] = s->disks[d].image_id;
			for (size_t k = 0; k < L->state->nimages && n < SD_N_ELEMENTS(ids); k++) {
				child = &L->state->images[k];
				if (!child->foreign &&
				    sd_str_eq(child->parent_id, s->disks[d].image_id))
					ids[n++] = child->id;
			}
		}
		if (measure(L->state, ids, n, err) < 0)
			return NULL;
	}
	return plan_delete(L->state, env, req, err);
}

int ctl_snapshot_delete(struct ctl *ctl, const char *vm, const char *snapshot, bool dry_run,
			json_t **plan, struct sd_err *err)
{
	return operate(ctl, vm, "snapshot delete", LOAD_CLEAN, do_delete, snapshot, dry_run, plan,
		       err);
}

static json_t *do_preview(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
			  const void *req, struct sd_err *err)
{
	return plan_preview(L->state, env, req, err);
}

int ctl_preview(struct ctl *ctl, const char *vm, const struct plan_preview_req *req,
		bool dry_run, json_t **plan, struct sd_err *err)
{
	return operate(ctl, vm, "preview", LOAD_OFF | LOAD_CLEAN, do_preview, req, dry_run, plan,
		       err);
}

static json_t *do_undo(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
		       const void *req, struct sd_err *err)
{
	return plan_undo(L->state, env, err);
}

int ctl_undo(struct ctl *ctl, const char *vm, bool dry_run, json_t **plan, struct sd_err *err)
{
	return operate(ctl, vm, "undo", LOAD_OFF, do_undo, NULL, dry_run, plan, err);
}

static json_t *do_commit(struct ctl *ctl, struct loaded *L, const struct plan_env *env,
			 const void *req, struct sd_err *err)
{
	const bool *prune = req;
	SD_AUTO(jsonv) *tops = NULL;
	const char *ids[64];
	size_t n = 0;
	const char *k;
	json_t *v;

	if (L->state->preview) {
		/* Commit only needs to know whether each top holds data: read
		 * the qcow2 L1 tables, no qemu-img process per disk. */
		tops = json_loads(L->state->preview->saved_tops, 0, NULL);
		json_object_foreach(tops, k, v)
			if (n < SD_N_ELEMENTS(ids))
				ids[n++] = json_string_value(v);
		if (holds_data(L->state, ids, n, err) < 0)
			return NULL;
	}
	return plan_commit(L->state, env, *prune, err);
}

int ctl_commit(struct ctl *ctl, const char *vm, bool prune, bool dry_run, json_t **plan,
	       struct sd_err *err)
{
	return operate(ctl, vm, "commit", LOAD_OFF | LOAD_CLEAN, do_commit, &prune, dry_run, plan,
		       err);
}

int ctl_revert(struct ctl *ctl, const char *vm, const char *snapshot, bool dry_run,
	       json_t **plan, struct sd_err *err)
{
	struct plan_preview_req req = { snapshot, false, NULL, 0 };
	json_t *p1 = NULL, *p2 = NULL;

	if (ctl_preview(ctl, vm, &req, dry_run, &p1, err) < 0) {
		json_decref(p1);
		return -1;
	}
	if (dry_run) {
		*plan = p1;
		return 0;
	}
	if (ctl_commit(ctl, vm, false, false, &p2, err) < 0) {
		json_decref(p1);
		json_decref(p2);
		return -1;
	}
	*plan = json_pack("{s:s,s:o,s:o}", "op", "revert", "preview", p1, "commit", p2);
	return 0;
}

struct model_vm *ctl_snapshot_state(struct ctl *ctl, const char *vm, struct sd_err *err)
{
	struct loaded L;
	struct model_vm *state = NULL;

	if (load_vm(ctl, vm, "list", 0, &L, err) == 0)
		state = SD_STEAL(L.state);
	loaded_clear(ctl, &L);
	return state;
}

/* Reads the VM's chains into the catalog afresh (sync --adopt). */
static int adopt(struct ctl *ctl, struct loaded *L, struct sd_err *err)
{
	SD_AUTO(jsonv) *changes = json_array();
	struct img_chain *chains[64] = { 0 };
	const char *disk_ids[64], *targets[64];
	char *tops[64] = { 0 };
	size_t nd = 0, maxdepth = 0;
	char now[SD_ISO_LEN];
	SD_AUTOFREE char *prev = NULL;
	int rc = -1;

	sd_time_iso(sd_now(), now);
	json_array_append_new(changes, json_pack("{s:s}", "op", "preview_clear"));
	json_array_append_new(changes, json_pack("{s:s,s:n}", "op", "vm_set_current", "snapshot_id"));
	for (size_t i = 0; i < L->state->nsnapshots; i++)
		json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "snapshot_remove", "id",
							 L->state->snapshots[i].id));
	for (size_t i = 0; i < L->state->ndisks; i++)
		json_array_append_new(changes, json_pack("{s:s,s:s,s:n}", "op", "disk_set_active",
							 "disk_id", L->state->disks[i].id,
							 "image_id"));
	for (size_t i = 0; i < L->dom->ndisks && nd < SD_N_ELEMENTS(chains); i++) {
		const struct hv_disk *hd = &L->dom->disks[i];
		const struct model_disk *md;

		if (!is_disk(hd) || !hd->source || !sd_str_eq(hd->source_type, "file"))
			continue;
		md = model_vm_disk(L->state, hd->target);
		if (!md)
			continue;
		chains[nd] = img_info_chain(hd->source, hv_state_runs(L->dom->state), err);
		if (!chains[nd])
			goto out;
		disk_ids[nd] = md->id;
		targets[nd] = md->target;
		tops[nd] = import_chain(ctl, L->state, chains[nd], changes);
		json_array_append_new(changes, json_pack("{s:s,s:s,s:s}", "op", "disk_set_active",
							 "disk_id", md->id, "image_id", tops[nd]));
		if (chains[nd]->n > maxdepth)
			maxdepth = chains[nd]->n;
		nd++;
	}
	/* Layer k (from the base) of every disk that has more than k + 1
	 * layers is part of imported snapshot k + 1. */
	for (size_t k = 0; k + 1 < maxdepth; k++) {
		char sid[37];
		SD_AUTOFREE char *name = sd_asprintf("imported-%zu", k + 1);
		json_t *sdisks = json_array();

		sd_uuid_generate(sid);
		for (size_t d = 0; d < nd; d++) {
			size_t n = chains[d]->n;
			if (n < k + 2)
				continue;
			const char *path = chains[d]->layers[n - 1 - k].filename;
			/* the id import_chain gave this path */
			size_t idx;
			json_t *c;
			const char *id = NULL;
			json_array_foreach(changes, idx, c)
				if (sd_str_eq(json_string_value(json_object_get(c, "op")), "image_add") &&
				    sd_str_eq(json_string_value(json_object_get(c, "path")), path))
					id = json_string_value(json_object_get(c, "id"));
			json_array_append_new(sdisks, json_pack("{s:s,s:s,s:s}", "disk_id", disk_ids[d],
								"target", targets[d], "image_id",
								id));
		}
		json_array_append_new(
			changes,
			json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:n,s:b,s:b,s:n,s:o}", "op",
				  "snapshot_add", "id", sid, "name", name, "parent_id", prev, "created",
				  now, "description", _("imported from the existing backing chains"),
				  "domain_xml", L->dom->xml, "memory_path", "auto", false, "imported",
				  true, "policy_id", "disks", sdisks));
		free(prev);
		prev = sd_strdup(sid);
	}
	if (prev)
		json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "vm_set_current",
							 "snapshot_id", prev));
	json_array_append_new(changes, json_pack("{s:s,s:n}", "op", "vm_set_drift", "reason"));
	json_array_append_new(changes, json_pack("{s:s,s:s,s:s,s:s,s:s}", "op", "event", "vm",
						 L->dom->name, "event_op", "sync", "level", "info",
						 "message", _("backing chains adopted")));
	/* images the catalog knew that the chains no longer use */
	for (size_t i = 0; i < L->state->nimages; i++) {
		bool still = L->state->images[i].foreign; /* another VM's */
		for (size_t d = 0; d < nd && !still; d++)
			for (size_t k = 0; k < chains[d]->n && !still; k++)
				still = sd_str_eq(chains[d]->layers[k].filename,
						  L->state->images[i].path);
		if (!still)
			json_array_append_new(changes, json_pack("{s:s,s:s}", "op", "image_remove",
								 "id", L->state->images[i].id));
	}
	rc = catalog_apply(ctl->cat, ctl->host_id, L->vm_id, changes, err);
out:
	for (size_t d = 0; d < nd; d++) {
		img_chain_free(chains[d]);
		free(tops[d]);
	}
	return rc;
}

static json_t *sync_one(struct ctl *ctl, const char *name, bool do_adopt, struct sd_err *err)
{
	struct loaded L;
	json_t *r = NULL;

	if (load_vm(ctl, name, "sync", LOAD_LOCK | LOAD_CHAINS, &L, err) == 0) {
		if (do_adopt && adopt(ctl, &L, err) < 0)
			goto out;
		if (do_adopt) {
			model_vm_free(L.state);
			L.state = catalog_vm_state(ctl->cat, L.vm_id, err);
			if (!L.state)
				goto out;
		}
		r = json_pack("{s:s,s:b,s:s?,s:I}", "name", L.dom->name, "drifted",
			      L.state->drift_reason != NULL, "reason", L.state->drift_reason,
			      "snapshots", (json_int_t)L.state->nsnapshots);
	}
out:
	loaded_clear(ctl, &L);
	return r;
}

int ctl_sync(struct ctl *ctl, const char *vm, bool do_adopt, json_t **report, struct sd_err *err)
{
	json_t *vms = json_array();
	int recovered = 0;

	if (ctl_need_writable(ctl, err) < 0 ||
	    ctl_engine_recover(ctl, -1, NULL, NULL, &recovered, err) < 0) {
		json_decref(vms);
		return -1;
	}
	if (vm) {
		json_t *r = sync_one(ctl, vm, do_adopt, err);
		if (!r) {
			json_decref(vms);
			return -1;
		}
		json_array_append_new(vms, r);
	} else {
		struct hv_domain **doms = NULL;
		size_t n = 0;

		if (hv_domain_list(ctl->hv, &doms, &n, err) < 0) {
			json_decref(vms);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			struct sd_err lerr = SD_ERR_INIT;
			json_t *r = sync_one(ctl, doms[i]->uuid, false, &lerr);
			if (!r)
				r = json_pack("{s:s,s:b,s:s}", "name", doms[i]->name, "drifted", false,
					      "error", lerr.msg);
			json_array_append_new(vms, r);
		}
		hv_domains_free(doms, n);
	}
	*report = json_pack("{s:i,s:o}", "recovered", recovered, "vms", vms);
	return 0;
}

/* ---- start and stop ---- */

int ctl_start(struct ctl *ctl, const char *vm, char **message, struct sd_err *err)
{
	struct loaded L;
	int rc = -1;

	*message = NULL;
	if (load_vm(ctl, vm, "start", LOAD_LOCK, &L, err) < 0)
		goto out;
	if (hv_state_runs(L.dom->state)) {
		sd_err_set(err, SD_ERR_STATE, _("VM %s is running already"), L.dom->name);
		goto out;
	}
	if (L.state->preview && L.state->preview->memory) {
		/* the preview of a snapshot with its memory: resume from it on
		 * the preview's layers */
		const struct model_snapshot *C =
			model_vm_snapshot(L.state, L.state->preview->config_snapshot);
		struct hv_live_disk tops[64];
		size_t n = 0;

		char **saved;

		if (!C || !C->memory_path) {
			sd_err_set(err, SD_ERR_STATE, _("the preview's memory state is gone"));
			goto out;
		}
		/* every disk the memory state knows needs a preview layer: one
		 * left out would keep its source of then, which may be a
		 * snapshot's layer by now, and QEMU would write into it */
		saved = hv_domain_xml_disk_targets(C->domain_xml, err);
		if (!saved)
			goto out;
		for (size_t i = 0; saved[i]; i++) {
			const struct model_disk *d = model_vm_disk(L.state, saved[i]);
			if (!d || !d->active_image_id) {
				sd_err_set(err, SD_ERR_STATE,
					   _("the memory state of %s needs disk %s, which the "
					     "preview leaves out: undo it and preview %s whole"),
					   C->name, saved[i], C->name);
				sd_strv_free(saved);
				goto out;
			}
		}
		sd_strv_free(saved);
		for (size_t i = 0; i < L.state->ndisks && n < SD_N_ELEMENTS(tops); i++) {
			const struct model_image *top =
				model_vm_image(L.state, L.state->disks[i].active_image_id);
			if (top) {
				tops[n].target = L.state->disks[i].target;
				tops[n].path = top->path;
				n++;
			}
		}
		if (hv_domain_restore(ctl->hv, C->memory_path, tops, n, err) < 0)
			goto out;
		*message = sd_asprintf(_("VM %s resumed from the memory state of %s"), L.dom->name,
				       C->name);
	} else {
		if (hv_domain_start(ctl->hv, L.dom->uuid, err) < 0)
			goto out;
		*message = sd_asprintf(_("VM %s started"), L.dom->name);
	}
	catalog_event_add(ctl->cat, L.dom->name, "start", CATALOG_INFO, *message, NULL);
	rc = 0;
out:
	loaded_clear(ctl, &L);
	return rc;
}

int ctl_stop(struct ctl *ctl, const char *vm, bool force, int timeout_s, char **message,
	     struct sd_err *err)
{
	struct loaded L;
	int rc = -1;

	*message = NULL;
	if (load_vm(ctl, vm, "stop", LOAD_LOCK, &L, err) < 0)
		goto out;
	if (!hv_state_runs(L.dom->state)) {
		sd_err_set(err, SD_ERR_STATE, _("VM %s is not running"), L.dom->name);
		goto out;
	}
	if (force ? hv_domain_destroy(ctl->hv, L.dom->uuid, err)
		  : hv_domain_shutdown(ctl->hv, L.dom->name, timeout_s, err))
		goto out;
	*message = sd_asprintf(force ? _("VM %s powered off") : _("VM %s shut down"), L.dom->name);
	catalog_event_add(ctl->cat, L.dom->name, "stop", CATALOG_INFO, *message, NULL);
	rc = 0;
out:
	loaded_clear(ctl, &L);
	return rc;
}
