-- snapdeck catalog schema, version 1 (PRAGMA user_version = 1).
--
-- Documentation only: the source of truth is src/catalog/migrate.c, whose
-- migration steps create and upgrade the catalog. tests/unit/test-catalog.c
-- checks that this file creates the same schema as a fresh catalog.

CREATE TABLE hosts (
  id INTEGER PRIMARY KEY,
  uri TEXT NOT NULL UNIQUE,
  created TEXT NOT NULL
);

CREATE TABLE vms (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  uuid TEXT NOT NULL,
  name TEXT NOT NULL,
  current_snapshot TEXT REFERENCES snapshots(id) ON DELETE SET NULL
    DEFERRABLE INITIALLY DEFERRED,
  drift_reason TEXT,
  snapshot_limit INTEGER,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  UNIQUE (host_id, uuid)
);

CREATE TABLE images (
  id TEXT PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  format TEXT NOT NULL,
  parent_id TEXT REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,
  pool TEXT,
  virtual_size INTEGER,
  created TEXT NOT NULL,
  UNIQUE (host_id, path)
);

CREATE TABLE disks (
  id TEXT PRIMARY KEY,
  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  active_image_id TEXT REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,
  UNIQUE (vm_id, target)
);

CREATE TABLE snapshots (
  id TEXT PRIMARY KEY,
  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  parent_id TEXT REFERENCES snapshots(id) DEFERRABLE INITIALLY DEFERRED,
  created TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  domain_xml TEXT NOT NULL,
  memory_path TEXT,
  auto INTEGER NOT NULL DEFAULT 0,
  imported INTEGER NOT NULL DEFAULT 0,
  policy_id INTEGER REFERENCES policies(id) ON DELETE SET NULL,
  UNIQUE (vm_id, name)
);

CREATE TABLE snapshot_disks (
  snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  disk_id TEXT NOT NULL REFERENCES disks(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (snapshot_id, disk_id)
);

CREATE TABLE previews (
  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
  config_snapshot TEXT REFERENCES snapshots(id) DEFERRABLE INITIALLY DEFERRED,
  memory INTEGER NOT NULL DEFAULT 0,
  disks TEXT NOT NULL,
  saved_xml TEXT NOT NULL,
  saved_tops TEXT NOT NULL,
  saved_current TEXT,
  created TEXT NOT NULL
);

CREATE TABLE operations (
  id INTEGER PRIMARY KEY,
  vm_id INTEGER REFERENCES vms(id) ON DELETE SET NULL,
  vm_name TEXT,
  op TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('planned','running','done','failed','rolled_back')),
  plan TEXT NOT NULL,
  started TEXT NOT NULL,
  ended TEXT,
  error TEXT,
  owner_host TEXT NOT NULL,
  owner_pid INTEGER NOT NULL,
  owner_start INTEGER NOT NULL
);

CREATE TABLE operation_steps (
  operation_id INTEGER NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  args TEXT NOT NULL,
  undo TEXT,
  destructive INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending','running','done','undone')),
  PRIMARY KEY (operation_id, seq)
);

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  operation_id INTEGER REFERENCES operations(id) ON DELETE SET NULL,
  op TEXT NOT NULL,
  vm_name TEXT,
  label TEXT,
  state TEXT NOT NULL
    CHECK (state IN ('queued','running','done','failed','cancelled')),
  bytes_done INTEGER NOT NULL DEFAULT 0,
  bytes_total INTEGER NOT NULL DEFAULT 0,
  rate REAL,
  created TEXT NOT NULL,
  started TEXT,
  ended TEXT,
  error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  owner_host TEXT,
  owner_pid INTEGER,
  owner_start INTEGER
);

CREATE TABLE image_holds (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  PRIMARY KEY (image_id, task_id)
);

CREATE TABLE locks (
  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,
  op TEXT NOT NULL,
  operation_id INTEGER REFERENCES operations(id) ON DELETE SET NULL,
  owner_host TEXT NOT NULL,
  owner_pid INTEGER NOT NULL,
  owner_start INTEGER NOT NULL,
  since TEXT NOT NULL
);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  vm_name TEXT,
  op TEXT NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('info','warning','error')),
  message TEXT NOT NULL
);
CREATE INDEX events_vm ON events (vm_name, id);

CREATE TABLE policies (
  id INTEGER PRIMARY KEY,
  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  every TEXT NOT NULL CHECK (every IN ('hourly','daily','weekly','monthly')),
  at TEXT,
  keep INTEGER NOT NULL CHECK (keep > 0),
  disks TEXT,
  memory INTEGER NOT NULL DEFAULT 0,
  last_run TEXT,
  UNIQUE (vm_id, name)
);

CREATE TABLE templates (
  id TEXT PRIMARY KEY,
  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  pool TEXT NOT NULL,
  source_vm TEXT,
  source_snapshot TEXT,
  source_snapshot_id TEXT,
  created TEXT NOT NULL,
  UNIQUE (host_id, name)
);

CREATE TABLE template_disks (
  template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (template_id, target)
);

-- Indexes on the referencing side of foreign keys, so that cascades and the
-- "is this image still used?" checks do not scan whole tables.
CREATE INDEX vms_current ON vms (current_snapshot);
CREATE INDEX images_parent ON images (parent_id);
CREATE INDEX disks_image ON disks (active_image_id);
CREATE INDEX snapshots_parent ON snapshots (parent_id);
CREATE INDEX snapshots_policy ON snapshots (policy_id);
CREATE INDEX snapshot_disks_disk ON snapshot_disks (disk_id);
CREATE INDEX snapshot_disks_image ON snapshot_disks (image_id);
CREATE INDEX previews_config ON previews (config_snapshot);
CREATE INDEX operations_vm ON operations (vm_id);
CREATE INDEX tasks_operation ON tasks (operation_id);
CREATE INDEX image_holds_task ON image_holds (task_id);
CREATE INDEX locks_operation ON locks (operation_id);
CREATE INDEX template_disks_image ON template_disks (image_id);

PRAGMA user_version = 1;
