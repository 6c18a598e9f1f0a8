/* The catalog's schema and its migrations, keyed by PRAGMA user_version.
 * This file is the source of truth for the schema; data/schema.sql is its
 * documentation (a unit test checks that they agree).
 *
 * To change the schema, append a step: never edit one that has shipped.
 * Step i brings version i to i + 1 and ends by setting PRAGMA user_version
 * to i + 1. Steps run with foreign keys off (so a step may rebuild a table
 * the SQLite way: create new, copy, drop old, rename) and are checked with
 * PRAGMA foreign_key_check before they commit. */
#include "config.h"

#include "catalog/priv.h"
#include "util/i18n.h"

/* Version 1: every table the product needs. */
static const char sql_schema_v1[] =
    "CREATE TABLE hosts (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  uri TEXT NOT NULL UNIQUE,\n"
    "  created TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE vms (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,\n"
    "  uuid TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  current_snapshot TEXT REFERENCES snapshots(id) ON DELETE SET NULL\n"
    "    DEFERRABLE INITIALLY DEFERRED,\n"
    "  drift_reason TEXT,\n"
    "  snapshot_limit INTEGER,\n"
    "  first_seen TEXT NOT NULL,\n"
    "  last_seen TEXT NOT NULL,\n"
    "  UNIQUE (host_id, uuid)\n"
    ");\n"
    "CREATE TABLE images (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,\n"
    "  path TEXT NOT NULL,\n"
    "  format TEXT NOT NULL,\n"
    "  parent_id TEXT REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  pool TEXT,\n"
    "  virtual_size INTEGER,\n"
    "  created TEXT NOT NULL,\n"
    "  UNIQUE (host_id, path)\n"
    ");\n"
    "CREATE TABLE disks (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,\n"
    "  target TEXT NOT NULL,\n"
    "  active_image_id TEXT REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  UNIQUE (vm_id, target)\n"
    ");\n"
    "CREATE TABLE snapshots (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  parent_id TEXT REFERENCES snapshots(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  created TEXT NOT NULL,\n"
    "  description TEXT NOT NULL DEFAULT '',\n"
    "  domain_xml TEXT NOT NULL,\n"
    "  memory_path TEXT,\n"
    "  auto INTEGER NOT NULL DEFAULT 0,\n"
    "  imported INTEGER NOT NULL DEFAULT 0,\n"
    "  policy_id INTEGER REFERENCES policies(id) ON DELETE SET NULL,\n"
    "  UNIQUE (vm_id, name)\n"
    ");\n"
    "CREATE TABLE snapshot_disks (\n"
    "  snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,\n"
    "  disk_id TEXT NOT NULL REFERENCES disks(id) ON DELETE CASCADE,\n"
    "  target TEXT NOT NULL,\n"
    "  image_id TEXT NOT NULL REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  PRIMARY KEY (snapshot_id, disk_id)\n"
    ");\n"
    "CREATE TABLE previews (\n"
    "  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,\n"
    "  config_snapshot TEXT REFERENCES snapshots(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  memory INTEGER NOT NULL DEFAULT 0,\n"
    "  disks TEXT NOT NULL,\n"
    "  saved_xml TEXT NOT NULL,\n"
    "  saved_tops TEXT NOT NULL,\n"
    "  saved_current TEXT,\n"
    "  created TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE operations (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  vm_id INTEGER REFERENCES vms(id) ON DELETE SET NULL,\n"
    "  vm_name TEXT,\n"
    "  op TEXT NOT NULL,\n"
    "  state TEXT NOT NULL\n"
    "    CHECK (state IN ('planned','running','done','failed','rolled_back')),\n"
    "  plan TEXT NOT NULL,\n"
    "  started TEXT NOT NULL,\n"
    "  ended TEXT,\n"
    "  error TEXT,\n"
    "  owner_host TEXT NOT NULL,\n"
    "  owner_pid INTEGER NOT NULL,\n"
    "  owner_start INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE operation_steps (\n"
    "  operation_id INTEGER NOT NULL REFERENCES operations(id) ON DELETE CASCADE,\n"
    "  seq INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  args TEXT NOT NULL,\n"
    "  undo TEXT,\n"
    "  destructive INTEGER NOT NULL DEFAULT 0,\n"
    "  state TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (state IN ('pending','running','done','undone')),\n"
    "  PRIMARY KEY (operation_id, seq)\n"
    ");\n"
    "CREATE TABLE tasks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  operation_id INTEGER REFERENCES operations(id) ON DELETE SET NULL,\n"
    "  op TEXT NOT NULL,\n"
    "  vm_name TEXT,\n"
    "  label TEXT,\n"
    "  state TEXT NOT NULL\n"
    "    CHECK (state IN ('queued','running','done','failed','cancelled')),\n"
    "  bytes_done INTEGER NOT NULL DEFAULT 0,\n"
    "  bytes_total INTEGER NOT NULL DEFAULT 0,\n"
    "  rate REAL,\n"
    "  created TEXT NOT NULL,\n"
    "  started TEXT,\n"
    "  ended TEXT,\n"
    "  error TEXT,\n"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,\n"
    "  owner_host TEXT,\n"
    "  owner_pid INTEGER,\n"
    "  owner_start INTEGER\n"
    ");\n"
    "CREATE TABLE image_holds (\n"
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY (image_id, task_id)\n"
    ");\n"
    "CREATE TABLE locks (\n"
    "  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,\n"
    "  op TEXT NOT NULL,\n"
    "  operation_id INTEGER REFERENCES operations(id) ON DELETE SET NULL,\n"
    "  owner_host TEXT NOT NULL,\n"
    "  owner_pid INTEGER NOT NULL,\n"
    "  owner_start INTEGER NOT NULL,\n"
    "  since TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE events (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  time TEXT NOT NULL,\n"
    "  vm_name TEXT,\n"
    "  op TEXT NOT NULL,\n"
    "  level TEXT NOT NULL CHECK (level IN ('info','warning','error')),\n"
    "  message TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX events_vm ON events (vm_name, id);\n"
    "CREATE TABLE policies (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  every TEXT NOT NULL CHECK (every IN ('hourly','daily','weekly','monthly')),\n"
    "  at TEXT,\n"
    "  keep INTEGER NOT NULL CHECK (keep > 0),\n"
    "  disks TEXT,\n"
    "  memory INTEGER NOT NULL DEFAULT 0,\n"
    "  last_run TEXT,\n"
    "  UNIQUE (vm_id, name)\n"
    ");\n"
    "CREATE TABLE templates (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  pool TEXT NOT NULL,\n"
    "  source_vm TEXT,\n"
    "  source_snapshot TEXT,\n"
    "  source_snapshot_id TEXT,\n"
    "  created TEXT NOT NULL,\n"
    "  UNIQUE (host_id, name)\n"
    ");\n"
    "CREATE TABLE template_disks (\n"
    "  template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,\n"
    "  target TEXT NOT NULL,\n"
    "  image_id TEXT NOT NULL REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,\n"
    "  PRIMARY KEY (template_id, target)\n"
    ");\n"
    "CREATE INDEX vms_current ON vms (current_snapshot);\n"
    "CREATE INDEX images_parent ON images (parent_id);\n"
    "CREATE INDEX disks_image ON disks (active_image_id);\n"
    "CREATE INDEX snapshots_parent ON snapshots (parent_id);\n"
    "CREATE INDEX snapshots_policy ON snapshots (policy_id);\n"
    "CREATE INDEX snapshot_disks_disk ON snapshot_disks (disk_id);\n"
    "CREATE INDEX snapshot_disks_image ON snapshot_disks (image_id);\n"
    "CREATE INDEX previews_config ON previews (config_snapshot);\n"
    "CREATE INDEX operations_vm ON operations (vm_id);\n"
    "CREATE INDEX tasks_operation ON tasks (operation_id);\n"
    "CREATE INDEX image_holds_task ON image_holds (task_id);\n"
    "CREATE INDEX locks_operation ON locks (operation_id);\n"
    "CREATE INDEX template_disks_image ON template_disks (image_id);\n"
    "PRAGMA user_version = 1;\n";

static const struct catalog_migration migrations[] = {
    {"create the catalog", sql_schema_v1},
};

_Static_assert(SD_N_ELEMENTS(migrations) == CATALOG_SCHEMA_VERSION,
	       "one migration step per schema version");

static const char sql_foreign_keys_off[] = "PRAGMA foreign_keys = OFF";
static const char sql_foreign_keys_on[] = "PRAGMA foreign_keys = ON";
static const char sql_foreign_key_check[] = "PRAGMA foreign_key_check";
enum { FK_CHECK_TABLE, FK_CHECK_ROWID, FK_CHECK_PARENT, FK_CHECK_FKID };

const struct catalog_migration *catalog_migrations(size_t *n)
{
	*n = SD_N_ELEMENTS(migrations);
	return migrations;
}

/* Refuses to commit a step that left a reference dangling. */
static int check_references(struct catalog *cat, int to, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_foreign_key_check, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		sd_err_set(err, SD_ERR_CATALOG,
			   _("cannot upgrade catalog %s to schema version %d: a reference in table "
			     "%s points nowhere"),
			   cat->path, to, (const char *)sqlite3_column_text(st, FK_CHECK_TABLE));
	else
		sd_err_set(err, SD_ERR_CATALOG,
			   _("cannot upgrade catalog %s to schema version %d: %s"), cat->path, to,
			   sqlite3_errmsg(cat->db));
	return -1;
}

/* Applies step `from` (version from -> from + 1) unless another process
 * already did: 1 applied, 0 skipped, -1 error. */
static int migrate_one(struct catalog *cat, const struct catalog_migration *step, int from,
		       struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	int version;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	if (catalog_read_user_version(cat, &version, err) < 0)
		return -1;
	if (version > from)
		return 0;
	if (version < from) {
		sd_err_set(err, SD_ERR_INTERNAL,
			   _("catalog %s has schema version %d, cannot apply migration step %d"),
			   cat->path, version, from + 1);
		return -1;
	}
	if (catalog_exec(cat, step->sql) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("cannot upgrade catalog %s to schema version %d (%s): %s"), cat->path,
			   from + 1, step->name, sqlite3_errmsg(cat->db));
		return -1;
	}
	if (catalog_read_user_version(cat, &version, err) < 0)
		return -1;
	if (version != from + 1) {
		sd_err_set(err, SD_ERR_INTERNAL,
			   _("migration step %d (%s) did not set the schema version"), from + 1,
			   step->name);
		return -1;
	}
	if (check_references(cat, from + 1, err) < 0)
		return -1;
	if (catalog_write_commit(&w, err) < 0)
		return -1;
	return 1;
}

int catalog_migrate_steps(struct catalog *cat, const struct catalog_migration *steps, size_t n,
			  struct sd_err *err)
{
	int rc = 0;

	cat->migrations_run = 0;
	if (cat->in_tx) {
		sd_err_set(err, SD_ERR_INTERNAL,
			   _("cannot upgrade the catalog inside a transaction"));
		return -1;
	}
	/* A no-op inside a transaction, hence here, around the steps. */
	if (catalog_exec(cat, sql_foreign_keys_off) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot upgrade catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	for (size_t i = 0; i < n && rc >= 0; i++) {
		rc = migrate_one(cat, &steps[i], (int)i, err);
		if (rc > 0)
			cat->migrations_run++;
	}
	if (catalog_exec(cat, sql_foreign_keys_on) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot upgrade catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

int catalog_migrate(struct catalog *cat, struct sd_err *err)
{
	return catalog_migrate_steps(cat, migrations, SD_N_ELEMENTS(migrations), err);
}
