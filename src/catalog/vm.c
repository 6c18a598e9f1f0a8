/* Hosts, VMs and their disks in the catalog. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"
#include "util/uuid.h"

static const char sql_host_find[] = "SELECT id FROM hosts WHERE uri = ?1";
static const char sql_host_insert[] =
    "INSERT INTO hosts (uri, created) VALUES (?1, ?2) ON CONFLICT (uri) DO NOTHING";

static const char sql_vm_register[] =
    "INSERT INTO vms (host_id, uuid, name, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)"
    " ON CONFLICT (host_id, uuid) DO UPDATE SET name = excluded.name,"
    " last_seen = excluded.last_seen"
    " RETURNING id";

static const char sql_vm_get[] =
    "SELECT id, host_id, uuid, name, current_snapshot, drift_reason FROM vms"
    " WHERE host_id = ?1 AND uuid = ?2";
enum { VM_GET_ID, VM_GET_HOST_ID, VM_GET_UUID, VM_GET_NAME, VM_GET_CURRENT, VM_GET_DRIFT };

static const char sql_vm_find_id[] = "SELECT id FROM vms WHERE host_id = ?1 AND uuid = ?2";

/* The images a VM's disks and snapshots use, and their backing chains: the
 * candidates for removal with the VM. */
static const char sql_vm_images[] =
    "WITH RECURSIVE used(id) AS ("
    " SELECT active_image_id FROM disks WHERE vm_id = ?1 AND active_image_id IS NOT NULL"
    " UNION SELECT sd.image_id FROM snapshot_disks sd"
    "  JOIN snapshots s ON s.id = sd.snapshot_id WHERE s.vm_id = ?1"
    " UNION SELECT i.parent_id FROM images i JOIN used u ON i.id = u.id"
    "  WHERE i.parent_id IS NOT NULL"
    ") SELECT id FROM used";

static const char sql_vm_delete[] = "DELETE FROM vms WHERE id = ?1";

/* Removes an image of the host nobody uses any more: no disk, snapshot,
 * template or running task refers to it, and no layer is built on it. */
static const char sql_image_delete_unused[] =
    "DELETE FROM images WHERE id = ?1 AND host_id = ?2"
    " AND NOT EXISTS (SELECT 1 FROM disks WHERE active_image_id = ?1)"
    " AND NOT EXISTS (SELECT 1 FROM snapshot_disks WHERE image_id = ?1)"
    " AND NOT EXISTS (SELECT 1 FROM template_disks WHERE image_id = ?1)"
    " AND NOT EXISTS (SELECT 1 FROM image_holds WHERE image_id = ?1)"
    " AND NOT EXISTS (SELECT 1 FROM images WHERE parent_id = ?1)";

static const char sql_vm_set_drift[] = "UPDATE vms SET drift_reason = ?2 WHERE id = ?1";

static const char sql_vm_summaries[] =
	"SELECT v.uuid,"
	" (SELECT count(*) FROM snapshots s WHERE s.vm_id = v.id),"
	" EXISTS (SELECT 1 FROM previews p WHERE p.vm_id = v.id),"
	" v.drift_reason IS NOT NULL,"
	" l.op, v.name,"
	" (SELECT group_concat(target, ',') FROM"
	"   (SELECT d.target FROM disks d WHERE d.vm_id = v.id ORDER BY d.target))"
	" FROM vms v LEFT JOIN locks l ON l.vm_id = v.id"
	" WHERE v.host_id = ?1 ORDER BY v.name, v.uuid";
enum { SUM_UUID, SUM_SNAPSHOTS, SUM_PREVIEW, SUM_DRIFTED, SUM_BUSY_OP, SUM_NAME, SUM_TARGETS };

static const char sql_disk_find[] = "SELECT id FROM disks WHERE vm_id = ?1 AND target = ?2";
static const char sql_disk_insert[] = "INSERT INTO disks (id, vm_id, target) VALUES (?1, ?2, ?3)"
				      " ON CONFLICT (vm_id, target) DO NOTHING";

static void now_iso(char out[SD_ISO_LEN])
{
	sd_time_iso(sd_now(), out);
}

/* ---- hosts ---- */

/* Looks a host up in the current transaction: 1 found, 0 not, -1 error. */
static int host_lookup(struct catalog *cat, const char *uri, int64_t *host_id, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_host_find, err);
	int rc;

	if (!st)
		return -1;
	if (catalog_bind_text(st, 1, uri) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*host_id = sqlite3_column_int64(st, 0);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot look up host %s in the catalog: %s"), uri,
		   sqlite3_errmsg(cat->db));
	return -1;
}

int catalog_host_find(struct catalog *cat, const char *uri, int64_t *host_id, struct sd_err *err)
{
	return host_lookup(cat, uri, host_id, err);
}

int64_t catalog_host_ensure(struct catalog *cat, const char *uri, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];
	int64_t id;
	int found = host_lookup(cat, uri, &id, err);

	if (found != 0)
		return found < 0 ? -1 : id;
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_host_insert, err);
	if (!st)
		return -1;
	now_iso(now);
	if (catalog_bind_text(st, 1, uri) != SQLITE_OK ||
	    catalog_bind_text(st, 2, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot add host %s to the catalog: %s"), uri,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	found = host_lookup(cat, uri, &id, err);
	if (found == 0)
		sd_err_set(err, SD_ERR_INTERNAL, _("host %s vanished from the catalog"), uri);
	if (found <= 0 || catalog_write_commit(&w, err) < 0)
		return -1;
	return id;
}

/* ---- VMs ---- */

void catalog_vm_clear(struct catalog_vm *vm)
{
	if (!vm)
		return;
	free(vm->uuid);
	free(vm->name);
	free(vm->current_snapshot);
	free(vm->drift_reason);
	memset(vm, 0, sizeof(*vm));
}

int catalog_vm_register(struct catalog *cat, int64_t host_id, const char *uuid, const char *name,
			int64_t *vm_id, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_vm_register, err);
	if (!st)
		return -1;
	now_iso(now);
	if (sqlite3_bind_int64(st, 1, host_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, uuid) != SQLITE_OK ||
	    catalog_bind_text(st, 3, name) != SQLITE_OK ||
	    catalog_bind_text(st, 4, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot register VM %s in the catalog: %s"), name,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	if (vm_id)
		*vm_id = sqlite3_column_int64(st, 0);
	/* RETURNING: the statement must run to its end before the commit. */
	if (sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot register VM %s in the catalog: %s"), name,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	return catalog_write_commit(&w, err);
}

int catalog_vm_get(struct catalog *cat, int64_t host_id, const char *uuid, struct catalog_vm *vm,
		   struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_vm_get, err);
	int rc;

	memset(vm, 0, sizeof(*vm));
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, host_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, uuid) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		goto fail;
	vm->id = sqlite3_column_int64(st, VM_GET_ID);
	vm->host_id = sqlite3_column_int64(st, VM_GET_HOST_ID);
	vm->uuid = catalog_column_dup(st, VM_GET_UUID);
	vm->name = catalog_column_dup(st, VM_GET_NAME);
	vm->current_snapshot = catalog_column_dup(st, VM_GET_CURRENT);
	vm->drift_reason = catalog_column_dup(st, VM_GET_DRIFT);
	vm->drifted = vm->drift_reason != NULL;
	return 1;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read VM %s from the catalog: %s"), uuid,
		   sqlite3_errmsg(cat->db));
	return -1;
}

/* The ids of the images the VM uses (and their chains); caller frees. */
static int vm_images(struct catalog *cat, int64_t vm_id, char ***ids, size_t *n, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_vm_images, err);
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sd_grow(&v, &cap, len + 1, sizeof(*v));
		v[len++] = catalog_column_dup(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	*ids = v;
	*n = len;
	return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read the images of a VM from the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	for (size_t i = 0; i < len; i++)
		free(v[i]);
	free(v);
	return -1;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Deletes the candidates nobody uses any more. A layer is only free once the
 * layers built on it are gone, so passes repeat until one removes nothing. */
static int delete_unused_images(struct catalog *cat, int64_t host_id, char **ids, size_t n,
				struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_image_delete_unused, err);
	bool removed = true;

	if (!st)
		return -1;
	while (removed) {
		removed = false;
		for (size_t i = 0; i < n; i++) {
			if (!ids[i])
				continue;
			sqlite3_reset(st);
			if (catalog_bind_text(st, 1, ids[i]) != SQLITE_OK ||
			    sqlite3_bind_int64(st, 2, host_id) != SQLITE_OK ||
			    sqlite3_step(st) != SQLITE_DONE) {
				sd_err_set(err, SD_ERR_CATALOG,
					   _("cannot remove image %s from the catalog: %s"), ids[i],
					   sqlite3_errmsg(cat->db));
				return -1;
			}
			if (sqlite3_changes(cat->db) > 0) {
				free(ids[i]);
				ids[i] = NULL;
				removed = true;
			}
		}
	}
	return 0;
}

int catalog_vm_delete(struct catalog *cat, int64_t host_id, const char *uuid, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *find = NULL;
	SD_AUTO(stmt) *del = NULL;
	char **images = NULL;
	size_t n_images = 0;
	int64_t vm_id;
	int rc;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	find = catalog_prepare(cat, sql_vm_find_id, err);
	del = catalog_prepare(cat, sql_vm_delete, err);
	if (!find || !del)
		return -1;
	if (sqlite3_bind_int64(find, 1, host_id) != SQLITE_OK ||
	    catalog_bind_text(find, 2, uuid) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(find);
	if (rc == SQLITE_DONE)
		return catalog_write_commit(&w, err); /* already gone */
	if (rc != SQLITE_ROW)
		goto fail;
	vm_id = sqlite3_column_int64(find, 0);
	sqlite3_reset(find);

	if (vm_images(cat, vm_id, &images, &n_images, err) < 0)
		return -1;
	if (sqlite3_bind_int64(del, 1, vm_id) != SQLITE_OK || sqlite3_step(del) != SQLITE_DONE) {
		free_ids(images, n_images);
		goto fail;
	}
	rc = delete_unused_images(cat, host_id, images, n_images, err);
	free_ids(images, n_images);
	if (rc < 0)
		return -1;
	return catalog_write_commit(&w, err);
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot remove VM %s from the catalog: %s"), uuid,
		   sqlite3_errmsg(cat->db));
	return -1;
}

int catalog_vm_set_drift(struct catalog *cat, int64_t vm_id, const char *reason, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_vm_set_drift, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, reason) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot record the drift of a VM: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	if (sqlite3_changes(cat->db) == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM with catalog id %lld"),
			   (long long)vm_id);
		return -1;
	}
	return catalog_write_commit(&w, err);
}

void catalog_vm_summaries_free(struct catalog_vm_summary *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].uuid);
		free(v[i].busy_op);
		free(v[i].name);
		free(v[i].targets);
	}
	free(v);
}

int catalog_vm_summaries(struct catalog *cat, int64_t host_id, struct catalog_vm_summary **out,
			 size_t *n, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_vm_summaries, err);
	struct catalog_vm_summary *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, host_id) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_vm_summary *s;

		sd_grow(&v, &cap, len + 1, sizeof(*v));
		s = &v[len++];
		s->uuid = catalog_column_dup(st, SUM_UUID);
		s->snapshots = sqlite3_column_int64(st, SUM_SNAPSHOTS);
		s->in_preview = sqlite3_column_int(st, SUM_PREVIEW) != 0;
		s->drifted = sqlite3_column_int(st, SUM_DRIFTED) != 0;
		s->busy_op = catalog_column_dup(st, SUM_BUSY_OP);
		s->name = catalog_column_dup(st, SUM_NAME);
		s->targets = catalog_column_dup(st, SUM_TARGETS);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read the VMs from the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	catalog_vm_summaries_free(v, len);
	return -1;
}

/* ---- disks ---- */

int catalog_disk_find(struct catalog *cat, int64_t vm_id, const char *target, char **disk_id,
		      struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_disk_find, err);
	int rc;

	*disk_id = NULL;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, target) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		goto fail;
	*disk_id = catalog_column_dup(st, 0);
	return 1;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot look up disk %s in the catalog: %s"), target,
		   sqlite3_errmsg(cat->db));
	return -1;
}

int catalog_disk_ensure(struct catalog *cat, int64_t vm_id, const char *target, char **disk_id,
			struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char uuid[SD_UUID_STRLEN];
	int found = catalog_disk_find(cat, vm_id, target, disk_id, err);

	if (found != 0)
		return found < 0 ? -1 : 0;
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_disk_insert, err);
	if (!st)
		return -1;
	sd_uuid_generate(uuid);
	/* Another process may have added it since: the conflict keeps theirs. */
	if (catalog_bind_text(st, 1, uuid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 3, target) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot add disk %s to the catalog: %s"), target,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	found = catalog_disk_find(cat, vm_id, target, disk_id, err);
	if (found == 0)
		sd_err_set(err, SD_ERR_INTERNAL, _("disk %s vanished from the catalog"), target);
	if (found <= 0 || catalog_write_commit(&w, err) < 0) {
		free(*disk_id);
		*disk_id = NULL;
		return -1;
	}
	return 0;
}
