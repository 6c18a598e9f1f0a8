#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/snap.h"
#include "img/img.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

#define GiB (1024ULL * 1024 * 1024)
#define MiB (1024ULL * 1024)

const struct ctl_demo_vm ctl_demo_vms[] = {
	{ "web", 2, 1024, 2, { { "vda", 2 * GiB, 0x11 }, { "vdb", 1 * GiB, 0x12 } } },
	{ "db", 2, 2048, 3,
	  { { "vda", 2 * GiB, 0x21 }, { "vdb", 1 * GiB, 0x22 }, { "vdc", 1 * GiB, 0x23 } } },
	{ "build", 1, 512, 1, { { "vda", 2 * GiB, 0x31 } } },
};
const size_t ctl_demo_nvms = SD_N_ELEMENTS(ctl_demo_vms);

/* A few MiB of data per disk, at the start and further in, so that content
 * checks of later operations mean something. */
const uint64_t ctl_demo_regions[][2] = {
	{ 0, 2 * MiB },
	{ 512 * MiB, 1 * MiB },
};
const size_t ctl_demo_nregions = SD_N_ELEMENTS(ctl_demo_regions);

struct demo_names {
	char *prefix;
	char *pool;
	char *dir;
};

static void names_clear(struct demo_names *n)
{
	free(n->prefix);
	free(n->pool);
	free(n->dir);
}

static bool prefix_valid(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || len > 32 || p[0] == '-' || p[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_", p[i]))
			return false;
	return true;
}

static int demo_names(const struct ctl_demo_options *o, struct demo_names *n, struct sd_err *err)
{
	const char *prefix = o && o->prefix ? o->prefix : "demo";

	if (!prefix_valid(prefix)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("demo prefix '%s' is not valid (a-z, 0-9, '-' and '_', at most 32)"),
			   prefix);
		return -1;
	}
	n->prefix = sd_strdup(prefix);
	n->pool = sd_asprintf("snapdeck-%s", prefix);
	if (o && o->dir) {
		if (o->dir[0] != '/') {
			sd_err_set(err, SD_ERR_INVALID, _("demo folder '%s' must be an absolute path"),
				   o->dir);
			return -1;
		}
		n->dir = sd_strdup(o->dir);
	} else {
		n->dir = sd_asprintf("/var/lib/snapdeck/%s", prefix);
	}
	return 0;
}

static void say(ctl_say_fn fn, void *opaque, const char *line)
{
	if (fn)
		fn(line, opaque);
}

static bool volume_exists(const struct hv_volume *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (sd_str_eq(v[i].name, name))
			return true;
	return false;
}

/* Creates one demo disk and writes its patterns; a disk whose data could not
 * be written is removed again, so a later run starts it afresh. */
static int make_disk(struct ctl *ctl, const struct demo_names *n, const char *volname,
		     const struct ctl_demo_disk *dd, struct sd_err *err)
{
	SD_AUTOFREE char *path = NULL;

	if (hv_volume_create(ctl->hv, n->pool, volname, "qcow2", dd->size, NULL, NULL, &path,
			     err) < 0)
		return -1;
	for (size_t r = 0; r < ctl_demo_nregions; r++) {
		if (img_write_pattern(path, "qcow2", dd->pattern, ctl_demo_regions[r][0],
				      ctl_demo_regions[r][1], err) < 0) {
			hv_volume_delete_path(ctl->hv, path, NULL);
			return -1;
		}
	}
	return 0;
}

/* QEMU runs as its own user: it must be able to walk into the default demo
 * folder's parent, which also holds the catalog (0600, so traversal alone
 * shows nothing). */
static int open_default_parent(struct sd_err *err)
{
	static const char parent[] = "/var/lib/snapdeck";
	struct stat st;

	if (mkdir(parent, 0711) < 0 && errno != EEXIST) {
		sd_err_set(err, SD_ERR_IO, _("cannot make folder %s: %s"), parent, strerror(errno));
		return -1;
	}
	if (stat(parent, &st) == 0 && (st.st_mode & 0011) != 0011 && chmod(parent, (st.st_mode & 07777) | 0011) < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot open folder %s to QEMU: %s"), parent,
			   strerror(errno));
		return -1;
	}
	return 0;
}

/* The source of a VM's disk now. */
static char *disk_source(struct ctl *ctl, const char *vm, const char *target, struct sd_err *err)
{
	SD_AUTO(hv_domain) *dom = hv_domain_lookup(ctl->hv, vm, err);

	if (!dom)
		return NULL;
	for (size_t i = 0; i < dom->ndisks; i++)
		if (sd_str_eq(dom->disks[i].target, target))
			return sd_strdup(dom->disks[i].source);
	sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no disk %s"), vm, target);
	return NULL;
}

/* Writes pattern at offset (1 MiB) into the VM's disk as it is now. */
static int demo_write(struct ctl *ctl, const char *vm, const char *target, int pattern,
		      uint64_t offset, struct sd_err *err)
{
	SD_AUTOFREE char *path = disk_source(ctl, vm, target, err);

	return path ? img_write_pattern(path, "qcow2", pattern, offset, MiB, err) : -1;
}

static int demo_snap(struct ctl *ctl, const char *vm, const char *name, const char *desc,
		     char *const *disks, struct sd_err *err)
{
	struct plan_snapshot_req req = { .name = name, .description = desc, .disks = disks };
	json_t *plan = NULL;
	int rc = ctl_snapshot_create(ctl, vm, &req, false, &plan, err);

	json_decref(plan);
	return rc;
}

/* Redefines a demo VM with another memory size (a configuration change
 * between snapshots). */
static int demo_set_memory(struct ctl *ctl, const char *vm, uint64_t mib, struct sd_err *err)
{
	SD_AUTO(hv_domain) *dom = hv_domain_lookup(ctl->hv, vm, err);
	struct hv_domain_spec spec = { 0 };
	SD_AUTOFREE char *xml = NULL;

	if (!dom)
		return -1;
	spec.name = dom->name;
	spec.uuid = dom->uuid;
	spec.type = hv_domain_type_default();
	spec.vcpus = dom->vcpus;
	spec.memory_kib = mib * 1024;
	spec.description = "snapdeck demo VM";
	for (size_t i = 0; i < dom->ndisks && spec.ndisks < 16; i++) {
		spec.disks[spec.ndisks].target = dom->disks[i].target;
		spec.disks[spec.ndisks].path = dom->disks[i].source;
		spec.disks[spec.ndisks].format = dom->disks[i].driver_type;
		spec.ndisks++;
	}
	xml = hv_domain_xml_build(&spec);
	return hv_domain_define(ctl->hv, xml, err);
}

/* A history worth exploring for a freshly made demo VM: a tree with a
 * branch, a subset snapshot, a configuration change, descriptions. */
static int demo_history(struct ctl *ctl, const char *vm, size_t index, struct sd_err *err)
{
	char *vda_only[] = { (char *)"vda", NULL };
	char *vdb_vdc[] = { (char *)"vdb", (char *)"vdc", NULL };
	json_t *plan = NULL;
	int rc;

	switch (index) {
	case 0: /* web: base-install {before-upgrade {nightly (vda)}, test-branch} */
		if (demo_snap(ctl, vm, "base-install", "fresh install, nothing configured", NULL,
			      err) < 0 ||
		    demo_write(ctl, vm, "vda", 0x13, 4 * MiB, err) < 0 ||
		    demo_set_memory(ctl, vm, 2048, err) < 0 ||
		    demo_snap(ctl, vm, "before-upgrade", "web server set up, 2 GiB of memory", NULL,
			      err) < 0 ||
		    demo_write(ctl, vm, "vda", 0x14, 8 * MiB, err) < 0 ||
		    demo_snap(ctl, vm, "nightly", "system disk only", vda_only, err) < 0)
			return -1;
		rc = ctl_revert(ctl, vm, "base-install", false, &plan, err);
		json_decref(plan);
		if (rc < 0 || demo_write(ctl, vm, "vda", 0x15, 12 * MiB, err) < 0 ||
		    demo_snap(ctl, vm, "test-branch", "trying another set-up from the install",
			      NULL, err) < 0)
			return -1;
		return 0;
	case 1: /* db: initial, then schema-v2 of the data disks only */
		if (demo_snap(ctl, vm, "initial", "empty database", NULL, err) < 0 ||
		    demo_write(ctl, vm, "vdb", 0x24, 4 * MiB, err) < 0 ||
		    demo_write(ctl, vm, "vdc", 0x25, 4 * MiB, err) < 0 ||
		    demo_snap(ctl, vm, "schema-v2", "data disks after the migration", vdb_vdc,
			      err) < 0)
			return -1;
		return 0;
	default:
		return demo_snap(ctl, vm, "clean", "clean checkout", NULL, err);
	}
}

int ctl_demo_setup(struct ctl *ctl, const struct ctl_demo_options *o, ctl_say_fn sayfn,
		   void *opaque, struct sd_err *err)
{
	struct demo_names n = { 0 };
	struct hv_volume *vols = NULL;
	size_t nvols = 0;
	int ret = -1;

	if (demo_names(o, &n, err) < 0)
		goto out;
	if (ctl->readonly || !ctl->cat) {
		sd_err_set(err, SD_ERR_STATE, _("demo setup needs a writable connection"));
		goto out;
	}
	if (!(o && o->dir) && open_default_parent(err) < 0)
		goto out;
	if (hv_pool_ensure_dir(ctl->hv, n.pool, n.dir, err) < 0)
		goto out;
	{
		SD_AUTOFREE char *line = sd_asprintf(_("pool %s at %s"), n.pool, n.dir);
		say(sayfn, opaque, line);
	}
	if (hv_volume_list(ctl->hv, n.pool, &vols, &nvols, err) < 0)
		goto out;

	for (size_t v = 0; v < ctl_demo_nvms; v++) {
		const struct ctl_demo_vm *dv = &ctl_demo_vms[v];
		SD_AUTOFREE char *name = sd_asprintf("%s-%s", n.prefix, dv->suffix);
		SD_AUTOFREE char *xml = NULL;
		SD_AUTO(hv_domain) *dom = NULL;
		struct sd_err lerr = SD_ERR_INIT;
		struct hv_domain_spec spec = { 0 };
		char *paths[3] = { NULL, NULL, NULL };
		int64_t vm_id;
		int rc = 0;
		bool fresh = false;

		for (size_t d = 0; d < dv->ndisks && rc == 0; d++) {
			SD_AUTOFREE char *volname =
				sd_asprintf("%s-%s.qcow2", name, dv->disks[d].target);
			paths[d] = sd_asprintf("%s/%s", n.dir, volname);
			if (volume_exists(vols, nvols, volname))
				continue;
			rc = make_disk(ctl, &n, volname, &dv->disks[d], err);
		}
		if (rc == 0) {
			dom = hv_domain_lookup(ctl->hv, name, &lerr);
			if (!dom && lerr.code != SD_ERR_NOT_FOUND) {
				sd_err_set(err, lerr.code, "%s", lerr.msg);
				rc = -1;
			}
		}
		if (rc == 0 && !dom) {
			fresh = true;
			spec.name = name;
			spec.type = hv_domain_type_default();
			spec.vcpus = dv->vcpus;
			spec.memory_kib = dv->memory_mib * 1024;
			spec.description = "snapdeck demo VM";
			spec.ndisks = dv->ndisks;
			for (size_t d = 0; d < dv->ndisks; d++) {
				spec.disks[d].target = dv->disks[d].target;
				spec.disks[d].path = paths[d];
				spec.disks[d].format = "qcow2";
			}
			xml = hv_domain_xml_build(&spec);
			rc = hv_domain_define(ctl->hv, xml, err);
			if (rc == 0)
				dom = hv_domain_lookup(ctl->hv, name, err);
			if (!dom)
				rc = -1;
		}
		for (size_t d = 0; d < 3; d++)
			free(paths[d]);
		if (rc < 0)
			goto out;
		if (catalog_begin(ctl->cat, err) < 0)
			goto out;
		if (catalog_vm_register(ctl->cat, ctl->host_id, dom->uuid, dom->name, &vm_id,
					err) < 0) {
			catalog_rollback(ctl->cat);
			goto out;
		}
		for (size_t d = 0; d < dv->ndisks; d++) {
			SD_AUTOFREE char *id = NULL;
			if (catalog_disk_ensure(ctl->cat, vm_id, dv->disks[d].target, &id, err) < 0) {
				catalog_rollback(ctl->cat);
				goto out;
			}
		}
		if (catalog_commit(ctl->cat, err) < 0)
			goto out;
		if (fresh && demo_history(ctl, name, v, err) < 0)
			goto out;
		{
			SD_AUTOFREE char *line = sd_asprintf(
				P_("VM %s with %zu disk", "VM %s with %zu disks", dv->ndisks), name,
				dv->ndisks);
			say(sayfn, opaque, line);
		}
	}
	catalog_event_add(ctl->cat, NULL, "demo", CATALOG_INFO, _("demo host set up"), NULL);
	ret = 0;
out:
	hv_volumes_free(vols, nvols);
	names_clear(&n);
	return ret;
}

/* True when every disk of the domain lives in dir: only then is it ours. */
static bool domain_in_dir(const struct hv_domain *dom, const char *dir)
{
	char real_dir[PATH_MAX];
	size_t len;

	if (!realpath(dir, real_dir))
		snprintf(real_dir, sizeof(real_dir), "%s", dir);
	len = strlen(real_dir);
	for (size_t i = 0; i < dom->ndisks; i++) {
		const struct hv_disk *d = &dom->disks[i];
		if (!d->source)
			continue;
		if (strncmp(d->source, real_dir, len) != 0 && strncmp(d->source, dir, strlen(dir)) != 0)
			return false;
	}
	return true;
}

/* Deletes the layers snapdeck made for a demo VM (snapshots, previews):
 * every image the catalog knows for it inside the demo folder. */
static int remove_layers(struct ctl *ctl, const char *uuid, const char *dir, struct sd_err *err)
{
	struct catalog_vm cv = { 0 };
	SD_AUTO(model_vm) *vm = NULL;
	size_t len = strlen(dir);
	int found = catalog_vm_get(ctl->cat, ctl->host_id, uuid, &cv, err);

	if (found <= 0)
		return found;
	vm = catalog_vm_state(ctl->cat, cv.id, err);
	catalog_vm_clear(&cv);
	if (!vm)
		return -1;
	for (size_t i = 0; i < vm->nimages; i++) {
		const char *path = vm->images[i].path;
		if (vm->images[i].foreign) /* another VM's (a linked clone) */
			continue;
		if (strncmp(path, dir, len) != 0 || path[len] != '/')
			continue;
		if (hv_volume_delete_path(ctl->hv, path, err) < 0)
			return -1;
	}
	/* snapshots' memory states live beside their layers */
	for (size_t i = 0; i < vm->nsnapshots; i++) {
		const char *mem = vm->snapshots[i].memory_path;
		if (!mem || strncmp(mem, dir, len) != 0 || mem[len] != '/')
			continue;
		if (unlink(mem) < 0 && errno != ENOENT) {
			sd_err_set(err, SD_ERR_IO, _("cannot delete %s: %s"), mem, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int ctl_demo_teardown(struct ctl *ctl, const struct ctl_demo_options *o, ctl_say_fn sayfn,
		      void *opaque, struct sd_err *err)
{
	struct demo_names n = { 0 };
	struct hv_pool pool = { 0 };
	struct hv_volume *vols = NULL;
	size_t nvols = 0;
	int have_pool, ret = -1;
	const char *dir;

	if (demo_names(o, &n, err) < 0)
		goto out;
	if (ctl->readonly || !ctl->cat) {
		sd_err_set(err, SD_ERR_STATE, _("demo teardown needs a writable connection"));
		goto out;
	}
	have_pool = hv_pool_get(ctl->hv, n.pool, &pool, err);
	if (have_pool < 0)
		goto out;
	dir = have_pool && pool.path ? pool.path : n.dir;

	for (size_t v = 0; v < ctl_demo_nvms; v++) {
		SD_AUTOFREE char *name = sd_asprintf("%s-%s", n.prefix, ctl_demo_vms[v].suffix);
		struct sd_err lerr = SD_ERR_INIT;
		SD_AUTO(hv_domain) *dom = hv_domain_lookup(ctl->hv, name, &lerr);

		if (!dom) {
			if (lerr.code != SD_ERR_NOT_FOUND) {
				sd_err_set(err, lerr.code, "%s", lerr.msg);
				goto out;
			}
			continue;
		}
		if (!domain_in_dir(dom, dir)) {
			SD_AUTOFREE char *line = sd_asprintf(
				_("VM %s is not a demo VM (its disks are outside %s): kept"), name, dir);
			say(sayfn, opaque, line);
			continue;
		}
		if (hv_domain_remove(ctl->hv, dom->uuid, err) < 0)
			goto out;
		if (remove_layers(ctl, dom->uuid, dir, err) < 0)
			goto out;
		if (catalog_vm_delete(ctl->cat, ctl->host_id, dom->uuid, err) < 0)
			goto out;
		{
			SD_AUTOFREE char *line = sd_asprintf(_("VM %s removed"), name);
			say(sayfn, opaque, line);
		}
	}

	if (have_pool) {
		size_t left = 0;

		if (hv_volume_list(ctl->hv, n.pool, &vols, &nvols, err) < 0)
			goto out;
		for (size_t i = 0; i < nvols; i++) {
			bool ours = false;
			for (size_t v = 0; v < ctl_demo_nvms && !ours; v++)
				for (size_t d = 0; d < ctl_demo_vms[v].ndisks && !ours; d++) {
					SD_AUTOFREE char *volname =
						sd_asprintf("%s-%s-%s.qcow2", n.prefix,
							    ctl_demo_vms[v].suffix,
							    ctl_demo_vms[v].disks[d].target);
					ours = sd_str_eq(vols[i].name, volname);
				}
			if (!ours) {
				left++;
				continue;
			}
			if (hv_volume_delete_path(ctl->hv, vols[i].path, err) < 0)
				goto out;
		}
		if (left > 0) {
			SD_AUTOFREE char *line = sd_asprintf(
				_("pool %s still holds %zu other volumes: kept"), n.pool, left);
			say(sayfn, opaque, line);
		} else {
			if (hv_pool_remove(ctl->hv, n.pool, err) < 0)
				goto out;
			if (rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY) {
				SD_AUTOFREE char *line =
					sd_asprintf(_("folder %s could not be removed"), dir);
				say(sayfn, opaque, line);
			}
			SD_AUTOFREE char *line = sd_asprintf(_("pool %s removed"), n.pool);
			say(sayfn, opaque, line);
		}
	}
	catalog_event_add(ctl->cat, NULL, "demo", CATALOG_INFO, _("demo host torn down"), NULL);
	ret = 0;
out:
	hv_volumes_free(vols, nvols);
	hv_pool_clear(&pool);
	names_clear(&n);
	return ret;
}
