/* catalog_apply: the changes an operation makes to one VM's rows, given as
 * a JSON list and written all or nothing. Each op is one named statement
 * (snapshot_add two: the snapshot and its disks), prepared once per call and
 * always bound. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

/* An existing id is updated, if it is an image of the same host (the WHERE
 * leaves another host's image alone, which the caller sees as no change). */
static const char sql_image_add[] =
    "INSERT INTO images (id, host_id, path, format, parent_id, pool, virtual_size, created)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (id) DO UPDATE SET path = excluded.path, format = excluded.format,"
    " parent_id = excluded.parent_id, pool = excluded.pool,"
    " virtual_size = excluded.virtual_size"
    " WHERE images.host_id = excluded.host_id";
static const char sql_image_remove[] = "DELETE FROM images WHERE id = ?1 AND host_id = ?2";
static const char sql_image_set_parent[] =
    "UPDATE images SET parent_id = ?2 WHERE id = ?1 AND host_id = ?3";
static const char sql_disk_set_active[] =
    "UPDATE disks SET active_image_id = ?2 WHERE id = ?1 AND vm_id = ?3";
static const char sql_snapshot_add[] =
    "INSERT INTO snapshots (id, vm_id, name, parent_id, created, description, domain_xml,"
    " memory_path, auto, imported, policy_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/* Through the disks table, so that only a disk of this VM is taken. */
static const char sql_snapshot_disk_add[] =
    "INSERT INTO snapshot_disks (snapshot_id, disk_id, target, image_id)"
    " SELECT ?1, d.id, ?3, ?4 FROM disks d WHERE d.id = ?2 AND d.vm_id = ?5";
static const char sql_snapshot_remove[] = "DELETE FROM snapshots WHERE id = ?1 AND vm_id = ?2";
static const char sql_snapshot_set_parent[] =
    "UPDATE snapshots SET parent_id = ?2 WHERE id = ?1 AND vm_id = ?3";
static const char sql_snapshot_disk_set_image[] =
    "UPDATE snapshot_disks SET image_id = ?3 WHERE snapshot_id = ?1 AND disk_id = ?2"
    " AND snapshot_id IN (SELECT id FROM snapshots WHERE vm_id = ?4)";
static const char sql_vm_set_current[] = "UPDATE vms SET current_snapshot = ?2 WHERE id = ?1";
static const char sql_vm_set_drift[] = "UPDATE vms SET drift_reason = ?2 WHERE id = ?1";
static const char sql_preview_set[] =
    "INSERT INTO previews (vm_id, config_snapshot, memory, disks, saved_xml, saved_tops,"
    " saved_current, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (vm_id) DO UPDATE SET config_snapshot = excluded.config_snapshot,"
    " memory = excluded.memory, disks = excluded.disks, saved_xml = excluded.saved_xml,"
    " saved_tops = excluded.saved_tops, saved_current = excluded.saved_current,"
    " created = excluded.created";
static const char sql_preview_clear[] = "DELETE FROM previews WHERE vm_id = ?1";
static const char sql_event_insert[] =
    "INSERT INTO events (time, vm_name, op, level, message) VALUES (?1, ?2, ?3, ?4, ?5)";

enum stmt_id {
	ST_IMAGE_ADD,
	ST_IMAGE_REMOVE,
	ST_IMAGE_SET_PARENT,
	ST_DISK_SET_ACTIVE,
	ST_SNAPSHOT_ADD,
	ST_SNAPSHOT_DISK_ADD,
	ST_SNAPSHOT_REMOVE,
	ST_SNAPSHOT_SET_PARENT,
	ST_SNAPSHOT_DISK_SET_IMAGE,
	ST_VM_SET_CURRENT,
	ST_VM_SET_DRIFT,
	ST_PREVIEW_SET,
	ST_PREVIEW_CLEAR,
	ST_EVENT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_IMAGE_ADD] = sql_image_add,
    [ST_IMAGE_REMOVE] = sql_image_remove,
    [ST_IMAGE_SET_PARENT] = sql_image_set_parent,
    [ST_DISK_SET_ACTIVE] = sql_disk_set_active,
    [ST_SNAPSHOT_ADD] = sql_snapshot_add,
    [ST_SNAPSHOT_DISK_ADD] = sql_snapshot_disk_add,
    [ST_SNAPSHOT_REMOVE] = sql_snapshot_remove,
    [ST_SNAPSHOT_SET_PARENT] = sql_snapshot_set_parent,
    [ST_SNAPSHOT_DISK_SET_IMAGE] = sql_snapshot_disk_set_image,
    [ST_VM_SET_CURRENT] = sql_vm_set_current,
    [ST_VM_SET_DRIFT] = sql_vm_set_drift,
    [ST_PREVIEW_SET] = sql_preview_set,
    [ST_PREVIEW_CLEAR] = sql_preview_clear,
    [ST_EVENT] = sql_event_insert,
};

/* One call of catalog_apply: its statements (prepared on first use) and
 * the change at work, for messages. */
struct apply {
	struct catalog *cat;
	int64_t host_id;
	int64_t vm_id;
	sqlite3_stmt *st[ST_COUNT];
	size_t index; /* 1-based, in messages */
	const char *op;
	struct sd_err *err;
};

static void apply_finalize(struct apply *a)
{
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(a->st[i]);
}

static sqlite3_stmt *stmt(struct apply *a, enum stmt_id id)
{
	if (!a->st[id])
		a->st[id] = catalog_prepare(a->cat, stmt_sql[id], a->err);
	return a->st[id];
}

/* ---- fields of a change ---- */

static int bad_field(struct apply *a, const char *key)
{
	sd_err_set(a->err, SD_ERR_INTERNAL,
		   _("catalog change %zu (%s): missing or bad field \"%s\""), a->index, a->op, key);
	return -1;
}

/* A string that must be there. */
static int field_str(struct apply *a, const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return bad_field(a, key);
	*out = json_string_value(v);
	return 0;
}

/* A string, or null; a missing key reads null. */
static int field_str_null(struct apply *a, const json_t *o, const char *key, const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad_field(a, key);
	*out = json_string_value(v);
	return 0;
}

static int field_bool(struct apply *a, const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return bad_field(a, key);
	*out = json_is_true(v);
	return 0;
}

/* An integer, or null (*is_null); a missing key reads null. */
static int field_int_null(struct apply *a, const json_t *o, const char *key, int64_t *out,
			  bool *is_null)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	*is_null = !v || json_is_null(v);
	if (*is_null)
		return 0;
	if (!json_is_integer(v))
		return bad_field(a, key);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A JSON object kept as text: given as a string holding one (stored as
 * given), or as the object itself (stored compact, keys sorted). */
static int field_json_text(struct apply *a, const json_t *o, const char *key, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (json_is_object(v)) {
		*out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (!*out)
			sd_oom();
		return 0;
	}
	if (json_is_string(v)) {
		json_t *parsed = json_loads(json_string_value(v), 0, NULL);
		bool ok = json_is_object(parsed);

		json_decref(parsed);
		if (ok) {
			*out = sd_strdup(json_string_value(v));
			return 0;
		}
	}
	return bad_field(a, key);
}

static int bind_int_null(sqlite3_stmt *st, int idx, int64_t v, bool is_null)
{
	return is_null ? sqlite3_bind_null(st, idx) : sqlite3_bind_int64(st, idx, v);
}

/* ---- running statements ---- */

/* Runs a bound statement to its end and resets it. Returns SQLITE_DONE or
 * SQLite's extended error code; for any code but own_code (0: none), which
 * the caller turns into its own message, a->err gets SQLite's message. */
static int run(struct apply *a, sqlite3_stmt *st, int own_code)
{
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(a->cat->db);

	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return SQLITE_DONE;
	}
	if (own_code == 0 || ext != own_code)
		sd_err_set(a->err, SD_ERR_CATALOG, _("cannot apply catalog change %zu (%s): %s"),
			   a->index, a->op, sqlite3_errmsg(a->cat->db));
	sqlite3_reset(st);
	return ext;
}

enum row_kind { ROW_IMAGE, ROW_DISK, ROW_SNAPSHOT, ROW_SNAPSHOT_DISK, ROW_VM };

/* The row a change names is not there (or not this VM's, or this host's). */
static int not_found(struct apply *a, enum row_kind what, const char *id)
{
	switch (what) {
	case ROW_IMAGE:
		sd_err_set(a->err, SD_ERR_NOT_FOUND, _("catalog change %zu (%s): no image %s"),
			   a->index, a->op, id);
		break;
	case ROW_DISK:
		sd_err_set(a->err, SD_ERR_NOT_FOUND,
			   _("catalog change %zu (%s): the VM has no disk %s"), a->index, a->op,
			   id);
		break;
	case ROW_SNAPSHOT:
		sd_err_set(a->err, SD_ERR_NOT_FOUND,
			   _("catalog change %zu (%s): the VM has no snapshot %s"), a->index, a->op,
			   id);
		break;
	case ROW_SNAPSHOT_DISK:
		sd_err_set(a->err, SD_ERR_NOT_FOUND,
			   _("catalog change %zu (%s): the VM has no snapshot disk %s"), a->index,
			   a->op, id);
		break;
	case ROW_VM:
		sd_err_set(a->err, SD_ERR_NOT_FOUND,
			   _("catalog change %zu (%s): no VM with catalog id %s"), a->index, a->op,
			   id);
		break;
	}
	return -1;
}

/* Runs an UPDATE that must touch one row. */
static int run_update(struct apply *a, sqlite3_stmt *st, enum row_kind what, const char *id)
{
	if (run(a, st, 0) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(a->cat->db) == 0)
		return not_found(a, what, id);
	return 0;
}

static int bind_failed(struct apply *a)
{
	sd_err_set(a->err, SD_ERR_CATALOG, _("cannot apply catalog change %zu (%s): %s"), a->index,
		   a->op, sqlite3_errmsg(a->cat->db));
	return -1;
}

/* ---- the ops ---- */

static int op_image_add(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_IMAGE_ADD);
	const char *id, *path, *format, *parent, *pool;
	int64_t size;
	bool size_null;
	char now[SD_ISO_LEN];
	int rc;

	if (!st)
		return -1;
	if (field_str(a, o, "id", &id) < 0 || field_str(a, o, "path", &path) < 0 ||
	    field_str(a, o, "format", &format) < 0 ||
	    field_str_null(a, o, "parent_id", &parent) < 0 ||
	    field_str_null(a, o, "pool", &pool) < 0)
		return -1;
	/* Required, but null is allowed (an unknown size). */
	if (!json_object_get(o, "virtual_size"))
		return bad_field(a, "virtual_size");
	if (field_int_null(a, o, "virtual_size", &size, &size_null) < 0)
		return -1;
	sd_time_iso(sd_now(), now);
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, a->host_id) != SQLITE_OK ||
	    catalog_bind_text(st, 3, path) != SQLITE_OK ||
	    catalog_bind_text(st, 4, format) != SQLITE_OK ||
	    catalog_bind_text(st, 5, parent) != SQLITE_OK ||
	    catalog_bind_text(st, 6, pool) != SQLITE_OK ||
	    bind_int_null(st, 7, size, size_null) != SQLITE_OK ||
	    catalog_bind_text(st, 8, now) != SQLITE_OK)
		return bind_failed(a);
	rc = run(a, st, SQLITE_CONSTRAINT_UNIQUE);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		sd_err_set(a->err, SD_ERR_EXISTS,
			   _("another image with path %s exists already in the catalog"), path);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(a->cat->db) == 0) {
		sd_err_set(a->err, SD_ERR_INTERNAL,
			   _("catalog change %zu (%s): image %s belongs to another host"), a->index,
			   a->op, id);
		return -1;
	}
	return 0;
}

static int op_image_remove(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_IMAGE_REMOVE);
	const char *id;

	if (!st || field_str(a, o, "id", &id) < 0)
		return -1;
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, a->host_id) != SQLITE_OK)
		return bind_failed(a);
	/* Removing an image that is gone already is not an error. */
	return run(a, st, 0) == SQLITE_DONE ? 0 : -1;
}

static int op_image_set_parent(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_IMAGE_SET_PARENT);
	const char *id, *parent;

	if (!st || field_str(a, o, "id", &id) < 0 || field_str_null(a, o, "parent_id", &parent) < 0)
		return -1;
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, parent) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, a->host_id) != SQLITE_OK)
		return bind_failed(a);
	return run_update(a, st, ROW_IMAGE, id);
}

static int op_disk_set_active(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_DISK_SET_ACTIVE);
	const char *disk, *image;

	if (!st || field_str(a, o, "disk_id", &disk) < 0 ||
	    field_str_null(a, o, "image_id", &image) < 0)
		return -1;
	if (catalog_bind_text(st, 1, disk) != SQLITE_OK ||
	    catalog_bind_text(st, 2, image) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	return run_update(a, st, ROW_DISK, disk);
}

/* One {disk_id, target, image_id} of a new snapshot. */
static int snapshot_disk_add(struct apply *a, const char *snapshot_id, const json_t *d)
{
	sqlite3_stmt *st = stmt(a, ST_SNAPSHOT_DISK_ADD);
	const char *disk, *target, *image;

	if (!st)
		return -1;
	if (!json_is_object(d))
		return bad_field(a, "disks");
	if (field_str(a, d, "disk_id", &disk) < 0 || field_str(a, d, "target", &target) < 0 ||
	    field_str(a, d, "image_id", &image) < 0)
		return -1;
	if (catalog_bind_text(st, 1, snapshot_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, disk) != SQLITE_OK ||
	    catalog_bind_text(st, 3, target) != SQLITE_OK ||
	    catalog_bind_text(st, 4, image) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	if (run(a, st, 0) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(a->cat->db) == 0)
		return not_found(a, ROW_DISK, disk);
	return 0;
}

static int op_snapshot_add(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_SNAPSHOT_ADD);
	const char *id, *name, *parent, *created, *description, *xml, *memory;
	bool is_auto, imported, policy_null;
	int64_t policy;
	const json_t *disks = json_object_get(o, "disks");
	const json_t *d;
	size_t i;
	int rc;

	if (!st)
		return -1;
	if (field_str(a, o, "id", &id) < 0 || field_str(a, o, "name", &name) < 0 ||
	    field_str_null(a, o, "parent_id", &parent) < 0 ||
	    field_str(a, o, "created", &created) < 0 ||
	    field_str(a, o, "description", &description) < 0 ||
	    field_str(a, o, "domain_xml", &xml) < 0 ||
	    field_str_null(a, o, "memory_path", &memory) < 0 ||
	    field_bool(a, o, "auto", &is_auto) < 0 || field_bool(a, o, "imported", &imported) < 0 ||
	    field_int_null(a, o, "policy_id", &policy, &policy_null) < 0)
		return -1;
	if (!json_is_array(disks))
		return bad_field(a, "disks");
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, a->vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 3, name) != SQLITE_OK ||
	    catalog_bind_text(st, 4, parent) != SQLITE_OK ||
	    catalog_bind_text(st, 5, created) != SQLITE_OK ||
	    catalog_bind_text(st, 6, description) != SQLITE_OK ||
	    catalog_bind_text(st, 7, xml) != SQLITE_OK ||
	    catalog_bind_text(st, 8, memory) != SQLITE_OK ||
	    sqlite3_bind_int(st, 9, is_auto) != SQLITE_OK ||
	    sqlite3_bind_int(st, 10, imported) != SQLITE_OK ||
	    bind_int_null(st, 11, policy, policy_null) != SQLITE_OK)
		return bind_failed(a);
	rc = run(a, st, SQLITE_CONSTRAINT_UNIQUE);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		sd_err_set(a->err, SD_ERR_EXISTS, _("a snapshot named '%s' exists already"), name);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return -1;
	json_array_foreach(disks, i, d)
	{
		if (snapshot_disk_add(a, id, d) < 0)
			return -1;
	}
	return 0;
}

static int op_snapshot_remove(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_SNAPSHOT_REMOVE);
	const char *id;

	if (!st || field_str(a, o, "id", &id) < 0)
		return -1;
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	/* Its snapshot_disks go by ON DELETE CASCADE; one gone already is fine. */
	return run(a, st, 0) == SQLITE_DONE ? 0 : -1;
}

static int op_snapshot_set_parent(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_SNAPSHOT_SET_PARENT);
	const char *id, *parent;

	if (!st || field_str(a, o, "id", &id) < 0 || field_str_null(a, o, "parent_id", &parent) < 0)
		return -1;
	if (catalog_bind_text(st, 1, id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, parent) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	return run_update(a, st, ROW_SNAPSHOT, id);
}

static int op_snapshot_disk_set_image(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_SNAPSHOT_DISK_SET_IMAGE);
	const char *snapshot, *disk, *image;
	SD_AUTOFREE char *what = NULL;

	if (!st || field_str(a, o, "snapshot_id", &snapshot) < 0 ||
	    field_str(a, o, "disk_id", &disk) < 0 || field_str(a, o, "image_id", &image) < 0)
		return -1;
	if (catalog_bind_text(st, 1, snapshot) != SQLITE_OK ||
	    catalog_bind_text(st, 2, disk) != SQLITE_OK ||
	    catalog_bind_text(st, 3, image) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	what = sd_asprintf("%s/%s", snapshot, disk);
	return run_update(a, st, ROW_SNAPSHOT_DISK, what);
}

static int op_vm_set_current(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_VM_SET_CURRENT);
	const char *snapshot;
	char id[32];

	if (!st || field_str_null(a, o, "snapshot_id", &snapshot) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, a->vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, snapshot) != SQLITE_OK)
		return bind_failed(a);
	snprintf(id, sizeof(id), "%lld", (long long)a->vm_id);
	return run_update(a, st, ROW_VM, id);
}

static int op_vm_set_drift(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_VM_SET_DRIFT);
	const char *reason;
	char id[32];

	if (!st || field_str_null(a, o, "reason", &reason) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, a->vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, reason) != SQLITE_OK)
		return bind_failed(a);
	snprintf(id, sizeof(id), "%lld", (long long)a->vm_id);
	return run_update(a, st, ROW_VM, id);
}

static int op_preview_set(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_PREVIEW_SET);
	const char *config, *saved_xml, *saved_current;
	SD_AUTOFREE char *disks = NULL;
	SD_AUTOFREE char *saved_tops = NULL;
	bool memory;
	char now[SD_ISO_LEN];

	if (!st)
		return -1;
	if (field_str_null(a, o, "config_snapshot", &config) < 0 ||
	    field_bool(a, o, "memory", &memory) < 0 || field_json_text(a, o, "disks", &disks) < 0 ||
	    field_str(a, o, "saved_xml", &saved_xml) < 0 ||
	    field_json_text(a, o, "saved_tops", &saved_tops) < 0 ||
	    field_str_null(a, o, "saved_current", &saved_current) < 0)
		return -1;
	sd_time_iso(sd_now(), now);
	if (sqlite3_bind_int64(st, 1, a->vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, config) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, memory) != SQLITE_OK ||
	    catalog_bind_text(st, 4, disks) != SQLITE_OK ||
	    catalog_bind_text(st, 5, saved_xml) != SQLITE_OK ||
	    catalog_bind_text(st, 6, saved_tops) != SQLITE_OK ||
	    catalog_bind_text(st, 7, saved_current) != SQLITE_OK ||
	    catalog_bind_text(st, 8, now) != SQLITE_OK)
		return bind_failed(a);
	return run(a, st, 0) == SQLITE_DONE ? 0 : -1;
}

static int op_preview_clear(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_PREVIEW_CLEAR);

	(void)o;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, a->vm_id) != SQLITE_OK)
		return bind_failed(a);
	return run(a, st, 0) == SQLITE_DONE ? 0 : -1;
}

static int op_event(struct apply *a, const json_t *o)
{
	sqlite3_stmt *st = stmt(a, ST_EVENT);
	const char *vm, *op, *level, *message;
	char now[SD_ISO_LEN];

	if (!st)
		return -1;
	/* "op" names the change, so the event's own op comes as "event_op". */
	if (field_str_null(a, o, "vm", &vm) < 0 || field_str(a, o, "event_op", &op) < 0 ||
	    field_str(a, o, "level", &level) < 0 || field_str(a, o, "message", &message) < 0)
		return -1;
	if (strcmp(level, catalog_level_name(CATALOG_INFO)) != 0 &&
	    strcmp(level, catalog_level_name(CATALOG_WARNING)) != 0 &&
	    strcmp(level, catalog_level_name(CATALOG_ERROR)) != 0)
		return bad_field(a, "level");
	sd_time_iso(sd_now(), now);
	if (catalog_bind_text(st, 1, now) != SQLITE_OK ||
	    catalog_bind_text(st, 2, vm) != SQLITE_OK ||
	    catalog_bind_text(st, 3, op) != SQLITE_OK ||
	    catalog_bind_text(st, 4, level) != SQLITE_OK ||
	    catalog_bind_text(st, 5, message) != SQLITE_OK)
		return bind_failed(a);
	return run(a, st, 0) == SQLITE_DONE ? 0 : -1;
}

static const struct {
	const char *name;
	int (*fn)(struct apply *a, const json_t *o);
} ops[] = {
    {"image_add", op_image_add},
    {"image_remove", op_image_remove},
    {"image_set_parent", op_image_set_parent},
    {"disk_set_active", op_disk_set_active},
    {"snapshot_add", op_snapshot_add},
    {"snapshot_remove", op_snapshot_remove},
    {"snapshot_set_parent", op_snapshot_set_parent},
    {"snapshot_disk_set_image", op_snapshot_disk_set_image},
    {"vm_set_current", op_vm_set_current},
    {"vm_set_drift", op_vm_set_drift},
    {"preview_set", op_preview_set},
    {"preview_clear", op_preview_clear},
    {"event", op_event},
};

static int apply_one(struct apply *a, const json_t *change)
{
	const json_t *op = json_object_get(change, "op");

	a->op = "?";
	if (!json_is_object(change) || !json_is_string(op)) {
		sd_err_set(a->err, SD_ERR_INTERNAL,
			   _("catalog change %zu is not an object with an \"op\""), a->index);
		return -1;
	}
	a->op = json_string_value(op);
	for (size_t i = 0; i < SD_N_ELEMENTS(ops); i++)
		if (strcmp(a->op, ops[i].name) == 0)
			return ops[i].fn(a, change);
	sd_err_set(a->err, SD_ERR_INTERNAL, _("catalog change %zu: unknown op \"%s\""), a->index,
		   a->op);
	return -1;
}

int catalog_apply(struct catalog *cat, int64_t host_id, int64_t vm_id, const json_t *changes,
		  struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	__attribute__((cleanup(apply_finalize))) struct apply a = {
	    .cat = cat, .host_id = host_id, .vm_id = vm_id, .err = err};
	const json_t *change;
	size_t i;

	if (!json_is_array(changes)) {
		sd_err_set(err, SD_ERR_INTERNAL, _("catalog changes must be a JSON array"));
		return -1;
	}
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	json_array_foreach(changes, i, change)
	{
		a.index = i + 1;
		if (apply_one(&a, change) < 0)
			return -1;
	}
	return catalog_write_commit(&w, err);
}
