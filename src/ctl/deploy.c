/* Deploy from snapshot and templates: find or seed the template, resolve
 * pools, plan (model/plan-deploy.c, model/plan-clone.c), run as a task. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/clone-priv.h"
#include "ctl/deploy.h"
#include "ctl/snap.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"
#include "util/uuid.h"

SD_DEFINE_AUTO(tjson, json_t, json_decref)

/* The dir pool of an image: its recorded pool, or the one holding its file.
 * name and dir are kept in t. */
static int image_pool(struct ctl *ctl, const struct model_image *img, const char *want,
		      struct targets *t, const char **name, const char **dir, struct sd_err *err)
{
	struct hv_pool p = {0};
	int rc;

	if (want)
		rc = hv_pool_get(ctl->hv, want, &p, err);
	else if (img && img->pool)
		rc = hv_pool_get(ctl->hv, img->pool, &p, err);
	else if (img)
		rc = hv_pool_for_path(ctl->hv, img->path, &p, err);
	else
		rc = 0;
	if (rc <= 0) {
		if (rc == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND,
				   want ? _("no storage pool %s")
					: _("no storage pool holds the snapshot's layer; say "
					    "where with --pool"),
				   want);
		hv_pool_clear(&p);
		return -1;
	}
	if (!p.path || !sd_str_eq(p.type, "dir")) {
		sd_err_set(err, SD_ERR_INVALID, _("pool %s is not a dir pool"), p.name);
		hv_pool_clear(&p);
		return -1;
	}
	*name = ctl_clone_keep(t, sd_strdup(p.name));
	*dir = ctl_clone_keep(t, sd_strdup(p.path));
	hv_pool_clear(&p);
	return 0;
}

/* ---- templates ---- */

int ctl_template_seed(struct ctl *ctl, const struct ctl_seed_req *req,
		      const struct ctl_task_opts *o, json_t **plan_out, int64_t *task_id,
		      struct sd_err *err)
{
	SD_AUTO(model_vm) *vm = NULL;
	const struct model_snapshot *s;
	struct catalog_template *tv = NULL;
	size_t ntv = 0;
	struct targets t = {0};
	struct plan_seed_req pr = {0};
	struct plan_env env = {0};
	char now[SD_ISO_LEN];
	const char *pool = req->pool, *dir = NULL;
	json_t *plan;
	int rc = -1;

	*task_id = 0;
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	if (!req->name) {
		sd_err_set(err, SD_ERR_USAGE, _("template seed needs --name"));
		return -1;
	}
	if (catalog_template_list(ctl->cat, ctl->host_id, &tv, &ntv, err) < 0)
		return -1;
	for (size_t i = 0; i < ntv; i++)
		if (sd_str_eq(tv[i].name, req->name)) {
			sd_err_set(err, SD_ERR_EXISTS, _("a template named %s exists already"),
				   req->name);
			catalog_templates_free(tv, ntv);
			return -1;
		}
	catalog_templates_free(tv, ntv);
	vm = ctl_snapshot_state(ctl, req->vm, err);
	if (!vm)
		return -1;
	s = ctl_clone_snapshot(vm, req->snapshot, err);
	if (!s)
		return -1;
	if (s->ndisks == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("snapshot %s of %s holds no disk"), s->name,
			   vm->name);
		return -1;
	}
	if (!pool) {
		const char *pname = NULL;
		char **xt = hv_domain_xml_disk_targets(s->domain_xml, err);
		const char *root;
		const struct model_image *img = NULL;

		root = ctl_clone_root_disk(s, xt);
		for (size_t k = 0; k < s->ndisks; k++)
			if (sd_str_eq(s->disks[k].target, root))
				img = model_vm_image(vm, s->disks[k].image_id);
		sd_strv_free(xt);
		if (image_pool(ctl, img, NULL, &t, &pname, &dir, err) < 0)
			goto out;
		pool = pname;
	}
	t.v = sd_calloc(s->ndisks + 1, sizeof(*t.v));
	for (size_t k = 0; k < s->ndisks; k++) {
		if (ctl_clone_resolve(ctl, vm, &s->disks[k], pool, "qcow2", &t, &t.v[t.n], err) < 0)
			goto out;
		t.n++;
	}
	sd_time_iso(sd_now(), now);
	env.now = now;
	env.new_id = ctl_clone_new_id;
	pr.snapshot = s->id;
	pr.name = req->name;
	pr.pool = pool;
	pr.disks = t.v;
	pr.ndisks = t.n;
	plan = plan_template_seed(vm, &env, &pr, err);
	if (!plan)
		goto out;
	*plan_out = plan;
	if (o && o->dry_run) {
		rc = 0;
		goto out;
	}
	{
		const json_t *sum = json_object_get(json_object_get(plan, "summary"), "template");
		SD_AUTOFREE char *label =
		    sd_asprintf("template %s from %s@%s", req->name, vm->name, s->name);
		rc = ctl_clone_execute(
		    ctl, vm, plan, label,
		    (uint64_t)json_integer_value(json_object_get(sum, "bytes_total")), &t, o,
		    task_id, err);
	}
out:
	ctl_clone_targets_clear(&t);
	return rc;
}

int ctl_deploy_step_register_template(struct ctl *ctl, const json_t *args, struct sd_err *err)
{
	char now[SD_ISO_LEN];
	SD_AUTOFREE char *msg = NULL;
	struct sd_err ignored = SD_ERR_INIT;

	sd_time_iso(sd_now(), now);
	if (catalog_template_add(ctl->cat, ctl->host_id, args, now, err) < 0)
		return -1;
	msg = sd_asprintf(_("template %s seeded from snapshot %s"),
			  json_string_value(json_object_get(args, "name")),
			  json_string_value(json_object_get(args, "snapshot")));
	catalog_event_add(ctl->cat, json_string_value(json_object_get(args, "vm")), "template seed",
			  CATALOG_INFO, msg, &ignored);
	return 0;
}

static uint64_t file_bytes(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static json_t *template_json(const struct catalog_template *t)
{
	json_t *deps = json_array(), *disks = json_array();
	uint64_t size = 0, vsize = 0;

	for (size_t i = 0; t->dependents && t->dependents[i]; i++)
		json_array_append_new(deps, json_string(t->dependents[i]));
	for (size_t k = 0; k < t->ndisks; k++) {
		uint64_t b = file_bytes(t->disks[k].path);
		size += b;
		vsize += t->disks[k].virtual_size;
		json_array_append_new(
		    disks,
		    json_pack("{s:s,s:s,s:s,s:I,s:I}", "target", t->disks[k].target, "image_id",
			      t->disks[k].image_id, "path", t->disks[k].path, "size", (json_int_t)b,
			      "virtual_size", (json_int_t)t->disks[k].virtual_size));
	}
	return json_pack("{s:s,s:s,s:s,s:{s:s?,s:s?,s:s?},s:I,s:o,s:I,s:o,s:s?,s:I}", "id", t->id,
			 "name", t->name, "pool", t->pool, "source", "vm", t->source_vm, "snapshot",
			 t->source_snapshot, "snapshot_id", t->source_snapshot_id, "size",
			 (json_int_t)size, "dependents", deps, "virtual_size", (json_int_t)vsize,
			 "disks", disks, "created", t->created, "children",
			 (json_int_t)t->children);
}

int ctl_template_list(struct ctl *ctl, json_t **out, struct sd_err *err)
{
	struct catalog_template *tv = NULL;
	size_t n = 0;

	*out = json_array();
	if (!ctl->cat || ctl->host_id < 0)
		return 0;
	if (catalog_template_list(ctl->cat, ctl->host_id, &tv, &n, err) < 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, template_json(&tv[i]));
	catalog_templates_free(tv, n);
	return 0;
}

int ctl_template_delete(struct ctl *ctl, const char *name, json_t **out, struct sd_err *err)
{
	struct catalog_template *tv = NULL, *t = NULL;
	size_t n = 0;
	int rc = -1;

	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	if (catalog_template_list(ctl->cat, ctl->host_id, &tv, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !t; i++)
		if (sd_str_eq(tv[i].name, name) || sd_str_eq(tv[i].id, name))
			t = &tv[i];
	if (!t) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no template %s"), name);
		goto out;
	}
	if (t->children > 0 || (t->dependents && t->dependents[0])) {
		SD_AUTOFREE char *who = sd_strdup("");
		for (size_t i = 0; t->dependents && t->dependents[i]; i++) {
			char *w = sd_asprintf("%s%s%s", who, *who ? ", " : "", t->dependents[i]);
			free(who);
			who = w;
		}
		sd_err_set(err, SD_ERR_BUSY,
			   _("template %s is in use by %s: delete those VMs first"), t->name,
			   who && *who ? who : _("linked layers"));
		goto out;
	}
	if (catalog_template_remove(ctl->cat, ctl->host_id, t->id, err) < 0)
		goto out;
	*out = template_json(t);
	for (size_t k = 0; k < t->ndisks; k++) {
		struct sd_err lerr = SD_ERR_INIT;
		if (hv_volume_delete_path(ctl->hv, t->disks[k].path, &lerr) < 0 &&
		    unlink(t->disks[k].path) < 0 && errno != ENOENT) {
			sd_err_set(err, SD_ERR_IO, _("cannot delete %s: %s"), t->disks[k].path,
				   strerror(errno));
			goto out;
		}
	}
	{
		SD_AUTOFREE char *msg = sd_asprintf(_("template %s deleted"), t->name);
		struct sd_err ignored = SD_ERR_INIT;
		catalog_event_add(ctl->cat, t->source_vm, "template delete", CATALOG_INFO, msg,
				  &ignored);
	}
	rc = 0;
out:
	catalog_templates_free(tv, n);
	return rc;
}

/* ---- deploy ---- */

/* The template of snapshot s in pool, or NULL; *tv keeps the list. */
static const struct catalog_template *find_template(struct ctl *ctl, const char *snapshot_id,
						    const char *pool, struct catalog_template **tv,
						    size_t *n, struct sd_err *err)
{
	if (catalog_template_list(ctl->cat, ctl->host_id, tv, n, err) < 0)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		if (sd_str_eq((*tv)[i].source_snapshot_id, snapshot_id) &&
		    sd_str_eq((*tv)[i].pool, pool))
			return &(*tv)[i];
	return NULL;
}

static char *template_name(const struct model_vm *vm, const struct model_snapshot *s,
			   const char *pool, const struct catalog_template *tv, size_t n)
{
	char *name = sd_asprintf("%s@%s@%s", vm->name, s->name, pool);

	for (unsigned k = 2;; k++) {
		bool taken = false;
		for (size_t i = 0; i < n; i++)
			taken = taken || sd_str_eq(tv[i].name, name);
		if (!taken)
			return name;
		free(name);
		name = sd_asprintf("%s@%s@%s_%u", vm->name, s->name, pool, k);
	}
}

int ctl_deploy(struct ctl *ctl, const struct ctl_deploy_req *req, const struct ctl_task_opts *o,
	       json_t **plan_out, json_t **seeded, int64_t *task_id, struct sd_err *err)
{
	SD_AUTO(model_vm) *vm = NULL;
	SD_AUTO(hv_domain) *sdom = NULL;
	const struct model_snapshot *s;
	struct hv_domain **doms = NULL;
	size_t ndoms = 0, ntv = 0;
	struct catalog_template *tv = NULL;
	const struct catalog_template *tpl = NULL;
	char **taken = NULL, **xml_targets = NULL, **old_macs = NULL;
	struct targets t = {0};
	struct plan_linked_disk *ld = NULL;
	size_t nld = 0;
	struct plan_deploy_req pr = {0};
	struct plan_env env = {0};
	char now[SD_ISO_LEN];
	const char *root, *pool = NULL, *dir = NULL;
	const struct model_image *root_img = NULL;
	json_t *plan = NULL;
	int rc = -1;

	*task_id = 0;
	if (seeded)
		*seeded = NULL;
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	if (!req->name) {
		sd_err_set(err, SD_ERR_USAGE, _("deploy needs --name"));
		return -1;
	}
	if (req->direct && !req->linked) {
		sd_err_set(err, SD_ERR_USAGE, _("--direct goes with --linked"));
		return -1;
	}
	if (!req->linked) {
		struct ctl_clone_req cr = {0};
		if (req->pool) {
			sd_err_set(err, SD_ERR_USAGE, _("--pool goes with --linked"));
			return -1;
		}
		cr.vm = req->vm;
		cr.snapshot = req->snapshot;
		cr.name = req->name;
		cr.root_only = req->root_only;
		cr.network = req->network;
		return ctl_clone(ctl, &cr, o, plan_out, task_id, err);
	}
	vm = ctl_snapshot_state(ctl, req->vm, err);
	if (!vm)
		return -1;
	s = ctl_clone_snapshot(vm, req->snapshot, err);
	if (!s)
		return -1;
	sdom = hv_domain_parse(s->domain_xml, err);
	xml_targets = sdom ? hv_domain_xml_disk_targets(s->domain_xml, err) : NULL;
	if (!xml_targets)
		return -1;
	root = ctl_clone_root_disk(s, xml_targets);
	for (size_t k = 0; k < s->ndisks; k++)
		if (sd_str_eq(s->disks[k].target, root))
			root_img = model_vm_image(vm, s->disks[k].image_id);
	if (hv_domain_list(ctl->hv, &doms, &ndoms, err) < 0)
		goto out;
	ctl_clone_taken(doms, ndoms, &taken, &old_macs);
	if (sd_strv_contains(taken, req->name)) {
		sd_err_set(err, SD_ERR_EXISTS, _("a VM named %s exists already"), req->name);
		goto out;
	}
	ld = sd_calloc(s->ndisks + 1, sizeof(*ld));
	if (!req->direct) {
		if (image_pool(ctl, root_img, req->pool, &t, &pool, &dir, err) < 0)
			goto out;
		tpl = find_template(ctl, s->id, pool, &tv, &ntv, err);
		if (!tpl && err->code != SD_OK)
			goto out;
		if (!tpl && o && o->dry_run) {
			sd_err_set(err, SD_ERR_STATE,
				   _("snapshot %s has no template in pool %s yet: seed one first "
				     "('snapdeck template seed')"),
				   s->name, pool);
			goto out;
		}
		if (!tpl) {
			SD_AUTOFREE char *tname = template_name(vm, s, pool, tv, ntv);
			struct ctl_seed_req sr = {req->vm, s->id, tname, pool};
			json_t *splan = NULL;
			int64_t stask = 0;

			catalog_templates_free(tv, ntv);
			tv = NULL;
			ntv = 0;
			if (ctl_template_seed(ctl, &sr,
					      &(struct ctl_task_opts){false, false,
								      o ? o->progress : NULL,
								      o ? o->opaque : NULL},
					      &splan, &stask, err) < 0) {
				json_decref(splan);
				goto out;
			}
			if (seeded)
				*seeded = splan;
			else
				json_decref(splan);
			tpl = find_template(ctl, s->id, pool, &tv, &ntv, err);
			if (!tpl) {
				if (err->code == SD_OK)
					sd_err_set(err, SD_ERR_INTERNAL,
						   _("the template just seeded is not in the "
						     "catalog"));
				goto out;
			}
		}
		for (size_t k = 0; k < tpl->ndisks; k++) {
			const struct catalog_template_disk *td = &tpl->disks[k];
			bool in_snap = false;
			for (size_t j = 0; j < s->ndisks; j++)
				in_snap = in_snap || sd_str_eq(s->disks[j].target, td->target);
			if (!in_snap || (req->root_only && !sd_str_eq(td->target, root)))
				continue;
			if (access(td->path, R_OK) != 0) {
				sd_err_set(err, SD_ERR_NOT_FOUND,
					   _("template %s: its image %s is gone"), tpl->name,
					   td->path);
				goto out;
			}
			ld[nld].target = td->target;
			ld[nld].backing_id = td->image_id;
			ld[nld].backing_path = td->path;
			ld[nld].backing_format = td->format;
			ld[nld].pool = pool;
			ld[nld].dir = dir;
			ld[nld].virtual_size = td->virtual_size;
			nld++;
			ctl_clone_hold(&t, td->image_id);
		}
	} else {
		for (size_t k = 0; k < s->ndisks; k++) {
			const struct model_image *img = model_vm_image(vm, s->disks[k].image_id);
			const char *pn = NULL, *pd = NULL;

			if (req->root_only && !sd_str_eq(s->disks[k].target, root))
				continue;
			if (!img || access(img->path, R_OK) != 0) {
				sd_err_set(err, SD_ERR_NOT_FOUND,
					   _("disk %s: the layer of snapshot %s is gone"),
					   s->disks[k].target, s->name);
				goto out;
			}
			if (image_pool(ctl, img, req->pool, &t, &pn, &pd, err) < 0)
				goto out;
			ld[nld].target = s->disks[k].target;
			ld[nld].backing_id = img->id;
			ld[nld].backing_path = img->path;
			ld[nld].backing_format = img->format;
			ld[nld].pool = pn;
			ld[nld].dir = pd;
			ld[nld].virtual_size = img->virtual_size;
			nld++;
			for (const struct model_image *l = img; l;
			     l = model_vm_image(vm, l->parent_id))
				ctl_clone_hold(&t, l->id);
		}
	}
	ctl_clone_env(&env, now, vm, s, sdom, &old_macs);
	pr.snapshot = s->id;
	pr.name = req->name;
	pr.taken = taken;
	pr.xml_targets = xml_targets;
	pr.old_macs = old_macs;
	pr.nnics = sdom->nnics;
	pr.disks = ld;
	pr.ndisks = nld;
	pr.network = req->network;
	pr.template_id = tpl ? tpl->id : NULL;
	pr.template_name = tpl ? tpl->name : NULL;
	plan = plan_deploy_linked(vm, &env, &pr, err);
	if (!plan)
		goto out;
	*plan_out = plan;
	if (o && o->dry_run) {
		rc = 0;
		goto out;
	}
	{
		SD_AUTOFREE char *label = sd_asprintf("deploy %s@%s → %s (%s)", vm->name, s->name,
						      req->name, tpl ? "linked" : "direct");
		rc = ctl_clone_execute(ctl, vm, plan, label, 0, &t, o, task_id, err);
	}
out:
	hv_domains_free(doms, ndoms);
	catalog_templates_free(tv, ntv);
	sd_strv_free(taken);
	sd_strv_free(xml_targets);
	sd_strv_free(old_macs);
	free(ld);
	ctl_clone_targets_clear(&t);
	return rc;
}
