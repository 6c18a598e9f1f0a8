/* Recurring snapshot policies and per-VM snapshot limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

static const char sql_policy_find[] = "SELECT id FROM policies WHERE vm_id = ?1 AND name = ?2";

static const char sql_policy_insert[] =
    "INSERT INTO policies (vm_id, name, every, at, keep, disks, memory, last_run)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

static const char sql_policy_update[] =
    "UPDATE policies SET every = ?2, at = ?3, keep = ?4, disks = ?5, memory = ?6 WHERE id = ?1";

static const char sql_policy_list[] =
    "SELECT p.id, p.vm_id, v.uuid, v.name, p.name, p.every, p.at, p.keep, p.disks, p.memory,"
    " p.last_run, (SELECT count(*) FROM snapshots s WHERE s.policy_id = p.id),"
    " IFNULL(v.snapshot_limit, 0)"
    " FROM policies p JOIN vms v ON v.id = p.vm_id"
    " WHERE v.host_id = ?1 AND (?2 = 0 OR v.id = ?2)"
    " ORDER BY v.name, v.uuid, p.name";
enum {
	POL_ID,
	POL_VM_ID,
	POL_VM_UUID,
	POL_VM_NAME,
	POL_NAME,
	POL_EVERY,
	POL_AT,
	POL_KEEP,
	POL_DISKS,
	POL_MEMORY,
	POL_LAST_RUN,
	POL_SNAPSHOTS,
	POL_VM_LIMIT
};

static const char sql_policy_delete_one[] = "DELETE FROM policies WHERE vm_id = ?1 AND name = ?2";
static const char sql_policy_delete_all[] = "DELETE FROM policies WHERE vm_id = ?1";

static const char sql_policy_set_last_run[] = "UPDATE policies SET last_run = ?2 WHERE id = ?1";

static const char sql_vm_set_limit[] = "UPDATE vms SET snapshot_limit = ?2 WHERE id = ?1";

void catalog_policy_clear(struct catalog_policy *p)
{
	if (!p)
		return;
	free(p->vm_uuid);
	free(p->vm_name);
	free(p->name);
	free(p->every);
	free(p->at);
	free(p->disks);
	free(p->last_run);
	memset(p, 0, sizeof(*p));
}

void catalog_policies_free(struct catalog_policy *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		catalog_policy_clear(&v[i]);
	free(v);
}

int catalog_policy_set(struct catalog *cat, int64_t vm_id, const struct catalog_policy *p,
		       bool *created, int64_t *id, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *find = NULL;
	SD_AUTO(stmt) *st = NULL;
	int64_t pid = 0;
	int rc;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	find = catalog_prepare(cat, sql_policy_find, err);
	if (!find)
		return -1;
	if (sqlite3_bind_int64(find, 1, vm_id) != SQLITE_OK ||
	    catalog_bind_text(find, 2, p->name) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(find);
	if (rc == SQLITE_ROW)
		pid = sqlite3_column_int64(find, 0);
	else if (rc != SQLITE_DONE)
		goto fail;
	if (pid) {
		st = catalog_prepare(cat, sql_policy_update, err);
		if (!st)
			return -1;
		if (sqlite3_bind_int64(st, 1, pid) != SQLITE_OK ||
		    catalog_bind_text(st, 2, p->every) != SQLITE_OK ||
		    catalog_bind_text(st, 3, p->at) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 4, p->keep) != SQLITE_OK ||
		    catalog_bind_text(st, 5, p->disks) != SQLITE_OK ||
		    sqlite3_bind_int(st, 6, p->memory) != SQLITE_OK)
			goto fail;
	} else {
		st = catalog_prepare(cat, sql_policy_insert, err);
		if (!st)
			return -1;
		if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK ||
		    catalog_bind_text(st, 2, p->name) != SQLITE_OK ||
		    catalog_bind_text(st, 3, p->every) != SQLITE_OK ||
		    catalog_bind_text(st, 4, p->at) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 5, p->keep) != SQLITE_OK ||
		    catalog_bind_text(st, 6, p->disks) != SQLITE_OK ||
		    sqlite3_bind_int(st, 7, p->memory) != SQLITE_OK ||
		    catalog_bind_text(st, 8, p->last_run) != SQLITE_OK)
			goto fail;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	if (!pid)
		pid = sqlite3_last_insert_rowid(cat->db);
	if (catalog_write_commit(&w, err) < 0)
		return -1;
	if (created)
		*created = rc != SQLITE_ROW;
	if (id)
		*id = pid;
	return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot record policy %s in the catalog: %s"),
		   p->name ? p->name : "", sqlite3_errmsg(cat->db));
	return -1;
}

int catalog_policy_list(struct catalog *cat, int64_t host_id, int64_t vm_id,
			struct catalog_policy **out, size_t *n, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_policy_list, err);
	struct catalog_policy *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, host_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, vm_id) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_policy *p;

		sd_grow(&v, &cap, len + 1, sizeof(*v));
		p = &v[len++];
		p->id = sqlite3_column_int64(st, POL_ID);
		p->vm_id = sqlite3_column_int64(st, POL_VM_ID);
		p->vm_uuid = catalog_column_dup(st, POL_VM_UUID);
		p->vm_name = catalog_column_dup(st, POL_VM_NAME);
		p->name = catalog_column_dup(st, POL_NAME);
		p->every = catalog_column_dup(st, POL_EVERY);
		p->at = catalog_column_dup(st, POL_AT);
		p->keep = sqlite3_column_int64(st, POL_KEEP);
		p->disks = catalog_column_dup(st, POL_DISKS);
		p->memory = sqlite3_column_int(st, POL_MEMORY) != 0;
		p->last_run = catalog_column_dup(st, POL_LAST_RUN);
		p->snapshots = sqlite3_column_int64(st, POL_SNAPSHOTS);
		p->vm_limit = sqlite3_column_int64(st, POL_VM_LIMIT);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read the policies from the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	catalog_policies_free(v, len);
	return -1;
}

int catalog_policy_delete(struct catalog *cat, int64_t vm_id, const char *name, size_t *removed,
			  struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, name ? sql_policy_delete_one : sql_policy_delete_all, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK ||
	    (name && catalog_bind_text(st, 2, name) != SQLITE_OK) ||
	    sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot remove policies from the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	if (removed)
		*removed = (size_t)sqlite3_changes(cat->db);
	return catalog_write_commit(&w, err);
}

int catalog_policy_set_last_run(struct catalog *cat, int64_t policy_id, const char *when,
				struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_policy_set_last_run, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, policy_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, when) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("cannot record a policy's run in the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	return catalog_write_commit(&w, err);
}

int catalog_vm_set_limit(struct catalog *cat, int64_t vm_id, int64_t limit, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	int rc;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_vm_set_limit, err);
	if (!st)
		return -1;
	rc = sqlite3_bind_int64(st, 1, vm_id);
	if (rc == SQLITE_OK)
		rc = limit == 0 ? sqlite3_bind_null(st, 2)
				: sqlite3_bind_int64(st, 2, limit < 0 ? -1 : limit);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("cannot record the snapshot limit in the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	if (sqlite3_changes(cat->db) == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no such VM in the catalog"));
		return -1;
	}
	return catalog_write_commit(&w, err);
}
