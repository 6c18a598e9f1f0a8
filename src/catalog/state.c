/* One VM's whole state for the planners (model/state.h): its row, disks,
 * snapshots in tree order, every image they use with whole chains, and its
 * preview. One consistent read of five statements, whatever the number of
 * snapshots; the tree order is worked out here, in C. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "model/state.h"
#include "util/i18n.h"
#include "util/mem.h"

static const char sql_state_vm[] =
    "SELECT id, host_id, uuid, name, current_snapshot, drift_reason, snapshot_limit"
    " FROM vms WHERE id = ?1";
enum { SVM_ID, SVM_HOST_ID, SVM_UUID, SVM_NAME, SVM_CURRENT, SVM_DRIFT, SVM_LIMIT };

static const char sql_state_disks[] =
    "SELECT id, target, active_image_id FROM disks WHERE vm_id = ?1 ORDER BY target, id";
enum { SDISK_ID, SDISK_TARGET, SDISK_ACTIVE };

/* Siblings come out in this order (taken in the same second: in the order
 * they were taken); the tree walk keeps it. */
static const char sql_state_snapshots[] =
    "SELECT s.id, s.name, s.parent_id, s.created, s.description, s.domain_xml, s.memory_path,"
    " s.auto, s.imported, s.policy_id, p.name"
    " FROM snapshots s LEFT JOIN policies p ON p.id = s.policy_id"
    " WHERE s.vm_id = ?1 ORDER BY s.created, s.rowid";
enum {
	SSNAP_ID,
	SSNAP_NAME,
	SSNAP_PARENT,
	SSNAP_CREATED,
	SSNAP_DESCRIPTION,
	SSNAP_XML,
	SSNAP_MEMORY,
	SSNAP_AUTO,
	SSNAP_IMPORTED,
	SSNAP_POLICY_ID,
	SSNAP_POLICY_NAME
};

static const char sql_state_snapshot_disks[] =
    "SELECT sd.snapshot_id, sd.disk_id, sd.target, sd.image_id"
    " FROM snapshots s JOIN snapshot_disks sd ON sd.snapshot_id = s.id"
    " WHERE s.vm_id = ?1 ORDER BY sd.snapshot_id, sd.target, sd.disk_id";
enum { SSD_SNAPSHOT, SSD_DISK, SSD_TARGET, SSD_IMAGE };

/* The layers the disks, the snapshots and the preview's kept-aside tops
 * use, and (recursively) their backing chains. UNION, not UNION ALL, so a
 * corrupt cycle of parents ends. A saved_tops that is not JSON adds
 * nothing rather than failing the whole load. */
static const char sql_state_images[] =
    "WITH RECURSIVE used(id) AS ("
    " SELECT active_image_id FROM disks WHERE vm_id = ?1 AND active_image_id IS NOT NULL"
    " UNION SELECT sd.image_id FROM snapshots s"
    "  JOIN snapshot_disks sd ON sd.snapshot_id = s.id WHERE s.vm_id = ?1"
    " UNION SELECT j.value FROM previews p,"
    "  json_each(CASE WHEN json_valid(p.saved_tops) THEN p.saved_tops ELSE '{}' END) j"
    "  WHERE p.vm_id = ?1 AND j.type = 'text'"
    " UNION SELECT i.parent_id FROM images i JOIN used u ON i.id = u.id"
    "  WHERE i.parent_id IS NOT NULL"
    ") SELECT i.id, i.path, i.format, i.parent_id, i.pool, i.virtual_size, 0"
    " FROM used u JOIN images i ON i.id = u.id"
    /* images of other VMs (linked clones) resting on this VM's layers */
    " UNION ALL SELECT i.id, i.path, i.format, i.parent_id, i.pool, i.virtual_size, 1"
    " FROM images i WHERE i.parent_id IN (SELECT id FROM used)"
    "  AND i.id NOT IN (SELECT id FROM used)"
    " ORDER BY 1";
enum { SIMG_ID, SIMG_PATH, SIMG_FORMAT, SIMG_PARENT, SIMG_POOL, SIMG_SIZE, SIMG_FOREIGN };

static const char sql_state_preview[] =
    "SELECT config_snapshot, memory, disks, saved_xml, saved_tops, saved_current, created"
    " FROM previews WHERE vm_id = ?1";
enum {
	SPRE_CONFIG,
	SPRE_MEMORY,
	SPRE_DISKS,
	SPRE_SAVED_XML,
	SPRE_SAVED_TOPS,
	SPRE_SAVED_CURRENT,
	SPRE_CREATED
};

#define NONE SIZE_MAX

static int read_failed(struct catalog *cat, int64_t vm_id, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read VM %lld from the catalog: %s"),
		   (long long)vm_id, sqlite3_errmsg(cat->db));
	return -1;
}

/* Prepares sql and binds the VM id to ?1; NULL with err filled. */
static sqlite3_stmt *prepare_vm(struct catalog *cat, const char *sql, int64_t vm_id,
				struct sd_err *err)
{
	sqlite3_stmt *st = catalog_prepare(cat, sql, err);

	if (st && sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK) {
		read_failed(cat, vm_id, err);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int load_vm_row(struct catalog *cat, int64_t vm_id, struct model_vm *vm, struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_vm, vm_id, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM with catalog id %lld"),
			   (long long)vm_id);
		return -1;
	}
	if (rc != SQLITE_ROW)
		return read_failed(cat, vm_id, err);
	vm->id = sqlite3_column_int64(st, SVM_ID);
	vm->host_id = sqlite3_column_int64(st, SVM_HOST_ID);
	vm->uuid = catalog_column_dup(st, SVM_UUID);
	vm->name = catalog_column_dup(st, SVM_NAME);
	vm->current_snapshot = catalog_column_dup(st, SVM_CURRENT);
	vm->drift_reason = catalog_column_dup(st, SVM_DRIFT);
	vm->snapshot_limit = sqlite3_column_int64(st, SVM_LIMIT); /* NULL reads 0 */
	return 0;
}

static int load_disks(struct catalog *cat, int64_t vm_id, struct model_vm *vm, struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_disks, vm_id, err);
	size_t cap = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct model_disk *d;

		sd_grow(&vm->disks, &cap, vm->ndisks + 1, sizeof(*vm->disks));
		d = &vm->disks[vm->ndisks++];
		d->id = catalog_column_dup(st, SDISK_ID);
		d->target = catalog_column_dup(st, SDISK_TARGET);
		d->active_image_id = catalog_column_dup(st, SDISK_ACTIVE);
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, vm_id, err);
}

static int load_images(struct catalog *cat, int64_t vm_id, struct model_vm *vm, struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_images, vm_id, err);
	size_t cap = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct model_image *img;
		int64_t size = sqlite3_column_int64(st, SIMG_SIZE);

		sd_grow(&vm->images, &cap, vm->nimages + 1, sizeof(*vm->images));
		img = &vm->images[vm->nimages++];
		memset(img, 0, sizeof(*img));
		img->id = catalog_column_dup(st, SIMG_ID);
		img->path = catalog_column_dup(st, SIMG_PATH);
		img->format = catalog_column_dup(st, SIMG_FORMAT);
		img->parent_id = catalog_column_dup(st, SIMG_PARENT);
		img->pool = catalog_column_dup(st, SIMG_POOL);
		img->virtual_size = size > 0 ? (uint64_t)size : 0;
		img->allocated = 0; /* ctl fills it */
		img->foreign = sqlite3_column_int(st, SIMG_FOREIGN) != 0;
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, vm_id, err);
}

static int load_preview(struct catalog *cat, int64_t vm_id, struct model_vm *vm, struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_preview, vm_id, err);
	struct model_preview *p;
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return read_failed(cat, vm_id, err);
	p = sd_calloc(1, sizeof(*p));
	p->config_snapshot = catalog_column_dup(st, SPRE_CONFIG);
	p->memory = sqlite3_column_int(st, SPRE_MEMORY) != 0;
	p->disks_json = catalog_column_dup(st, SPRE_DISKS);
	p->saved_xml = catalog_column_dup(st, SPRE_SAVED_XML);
	p->saved_tops = catalog_column_dup(st, SPRE_SAVED_TOPS);
	p->saved_current = catalog_column_dup(st, SPRE_SAVED_CURRENT);
	p->created = catalog_column_dup(st, SPRE_CREATED);
	vm->preview = p;
	return 0;
}

/* ---- snapshots ---- */

static int cmp_snapshot_ptr(const void *a, const void *b)
{
	const struct model_snapshot *const *x = a;
	const struct model_snapshot *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

/* The index in v of the snapshot with this id, via byid (v's items sorted
 * by id); NONE when absent. */
static size_t find_snapshot(struct model_snapshot *v, struct model_snapshot **byid, size_t n,
			    const char *id)
{
	struct model_snapshot key = {.id = (char *)id};
	struct model_snapshot *pkey = &key;
	struct model_snapshot **hit;

	if (!id || n == 0)
		return NONE;
	hit = bsearch(&pkey, byid, n, sizeof(*byid), cmp_snapshot_ptr);
	return hit ? (size_t)(*hit - v) : NONE;
}

static int load_snapshot_rows(struct catalog *cat, int64_t vm_id, struct model_vm *vm,
			      struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_snapshots, vm_id, err);
	size_t cap = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct model_snapshot *s;

		sd_grow(&vm->snapshots, &cap, vm->nsnapshots + 1, sizeof(*vm->snapshots));
		s = &vm->snapshots[vm->nsnapshots++];
		memset(s, 0, sizeof(*s));
		s->id = catalog_column_dup(st, SSNAP_ID);
		s->name = catalog_column_dup(st, SSNAP_NAME);
		s->parent_id = catalog_column_dup(st, SSNAP_PARENT);
		s->created = catalog_column_dup(st, SSNAP_CREATED);
		s->description = catalog_column_dup(st, SSNAP_DESCRIPTION);
		s->domain_xml = catalog_column_dup(st, SSNAP_XML);
		s->memory_path = catalog_column_dup(st, SSNAP_MEMORY);
		s->is_auto = sqlite3_column_int(st, SSNAP_AUTO) != 0;
		s->imported = sqlite3_column_int(st, SSNAP_IMPORTED) != 0;
		s->policy_id = sqlite3_column_int64(st, SSNAP_POLICY_ID); /* NULL reads 0 */
		s->policy_name = catalog_column_dup(st, SSNAP_POLICY_NAME);
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, vm_id, err);
}

/* Hangs every snapshot_disks row of the VM on its snapshot. */
static int load_snapshot_disks(struct catalog *cat, int64_t vm_id, struct model_vm *vm,
			       struct model_snapshot **byid, struct sd_err *err)
{
	SD_AUTO(stmt) *st = prepare_vm(cat, sql_state_snapshot_disks, vm_id, err);
	SD_AUTOFREE size_t *caps = sd_calloc(vm->nsnapshots, sizeof(*caps));
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sid = (const char *)sqlite3_column_text(st, SSD_SNAPSHOT);
		size_t i = find_snapshot(vm->snapshots, byid, vm->nsnapshots, sid);
		struct model_snapshot *s;
		struct model_snapshot_disk *d;

		if (i == NONE)
			continue; /* cannot happen: the join gives the VM's snapshots only */
		s = &vm->snapshots[i];
		sd_grow(&s->disks, &caps[i], s->ndisks + 1, sizeof(*s->disks));
		d = &s->disks[s->ndisks++];
		d->disk_id = catalog_column_dup(st, SSD_DISK);
		d->target = catalog_column_dup(st, SSD_TARGET);
		d->image_id = catalog_column_dup(st, SSD_IMAGE);
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, vm_id, err);
}

/* Puts vm->snapshots (sorted by creation time, then the order they were
 * recorded) in tree order: a
 * depth-first walk from the roots, siblings keeping their order, so a parent
 * always comes before its children. A snapshot whose parent is not among the
 * VM's snapshots counts as a root. Snapshots only reachable through a cycle
 * of parents (a corrupt catalog) are not dropped: they come last. */
static void sort_tree(struct model_vm *vm, struct model_snapshot **byid)
{
	size_t n = vm->nsnapshots, k = 0;
	struct model_snapshot *v = vm->snapshots;
	SD_AUTOFREE size_t *parent = sd_malloc(n * sizeof(size_t));
	SD_AUTOFREE size_t *first = sd_malloc(n * sizeof(size_t));
	SD_AUTOFREE size_t *last = sd_malloc(n * sizeof(size_t));
	SD_AUTOFREE size_t *next = sd_malloc(n * sizeof(size_t));
	SD_AUTOFREE bool *seen = sd_calloc(n, sizeof(bool));
	struct model_snapshot *out;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		first[i] = last[i] = next[i] = NONE;
	for (size_t i = 0; i < n; i++) {
		size_t p = find_snapshot(v, byid, n, v[i].parent_id);

		parent[i] = p;
		if (p == NONE)
			continue;
		if (last[p] == NONE)
			first[p] = i;
		else
			next[last[p]] = i;
		last[p] = i;
	}
	out = sd_malloc(n * sizeof(*out));
	for (size_t root = 0; root < n; root++) {
		size_t node = root;

		if (parent[root] != NONE)
			continue;
		for (;;) {
			out[k++] = v[node];
			seen[node] = true;
			if (first[node] != NONE) {
				node = first[node];
				continue;
			}
			while (node != root && next[node] == NONE)
				node = parent[node];
			if (node == root)
				break;
			node = next[node];
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!seen[i])
			out[k++] = v[i];
	free(vm->snapshots);
	vm->snapshots = out;
}

static int load_snapshots(struct catalog *cat, int64_t vm_id, struct model_vm *vm,
			  struct sd_err *err)
{
	SD_AUTOFREE struct model_snapshot **byid = NULL;

	if (load_snapshot_rows(cat, vm_id, vm, err) < 0)
		return -1;
	byid = sd_malloc(vm->nsnapshots * sizeof(*byid));
	for (size_t i = 0; i < vm->nsnapshots; i++)
		byid[i] = &vm->snapshots[i];
	qsort(byid, vm->nsnapshots, sizeof(*byid), cmp_snapshot_ptr);
	if (load_snapshot_disks(cat, vm_id, vm, byid, err) < 0)
		return -1;
	sort_tree(vm, byid);
	return 0;
}

struct model_vm *catalog_vm_state(struct catalog *cat, int64_t vm_id, struct sd_err *err)
{
	CATALOG_READ r = {0};
	SD_AUTO(model_vm) *vm = NULL;

	if (catalog_read_begin(cat, &r, err) < 0)
		return NULL;
	vm = sd_calloc(1, sizeof(*vm));
	if (load_vm_row(cat, vm_id, vm, err) < 0 || load_disks(cat, vm_id, vm, err) < 0 ||
	    load_snapshots(cat, vm_id, vm, err) < 0 || load_images(cat, vm_id, vm, err) < 0 ||
	    load_preview(cat, vm_id, vm, err) < 0)
		return NULL;
	return SD_STEAL(vm);
}
