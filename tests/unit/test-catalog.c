#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/priv.h"
#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/uuid.h"

/* Every table of schema version 1, sorted. */
static const char all_tables[] = "disks events hosts image_holds images locks operation_steps "
				 "operations policies previews snapshot_disks snapshots tasks "
				 "template_disks templates vms";
static const char sql_table_names[] =
    "SELECT group_concat(name, ' ') FROM"
    " (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)";

/* ---- helpers ---- */

static int setup(void **state)
{
	*state = sdtest_mkdtemp("catalog");
	unsetenv("SNAPDECK_NOW");
	return 0;
}

static int teardown(void **state)
{
	sdtest_rm_rf(*state);
	free(*state);
	unsetenv("SNAPDECK_NOW");
	return 0;
}

static char *tmp_path(void **state, const char *name)
{
	return sd_asprintf("%s/%s", (const char *)*state, name);
}

static struct catalog *open_ok(const char *path)
{
	struct sd_err err = SD_ERR_INIT;
	struct catalog *cat = catalog_open(path, &err);

	if (!cat)
		fail_msg("catalog_open %s: %s", path, err.msg);
	return cat;
}

/* Runs each statement of a script through the raw connection, binding ?1,
 * ?2 and ?3 (where a statement uses them) to a, b and c. */
static void run_script(struct catalog *cat, const char *sql, int64_t a, int64_t b, int64_t c)
{
	const int64_t vals[] = {a, b, c};
	const char *tail = sql;

	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		int rc;

		if (sqlite3_prepare_v2(cat->db, tail, -1, &st, &tail) != SQLITE_OK)
			fail_msg("prepare: %s", sqlite3_errmsg(cat->db));
		if (!st)
			break;
		for (int i = 1; i <= sqlite3_bind_parameter_count(st) && i <= 3; i++)
			sqlite3_bind_int64(st, i, vals[i - 1]);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE)
			fail_msg("%s: %s", sqlite3_sql(st), sqlite3_errmsg(cat->db));
		sqlite3_finalize(st);
	}
}

static int64_t query_int(struct catalog *cat, const char *sql, int64_t a)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as a new string ("(null)" for NULL). */
static char *query_text(struct catalog *cat, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	const char *s;
	char *v;

	assert_int_equal(sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL), SQLITE_OK);
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = (const char *)sqlite3_column_text(st, 0);
	v = sd_strdup(s ? s : "(null)");
	sqlite3_finalize(st);
	return v;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The whole file; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = sd_malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Opening path must fail with code and leave the file exactly as it was;
 * copies the error message to msg. */
static void assert_refused_untouched(const char *path, enum sd_err_code code, char *msg,
				     size_t msglen)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *before = NULL;
	SD_AUTOFREE char *after = NULL;
	SD_AUTOFREE char *wal = sd_asprintf("%s-wal", path);
	size_t len_before, len_after;
	struct catalog *cat;

	before = slurp(path, &len_before);
	cat = catalog_open(path, &err);
	assert_null(cat);
	assert_int_equal(err.code, code);
	assert_null(strchr(err.msg, '\n'));
	after = slurp(path, &len_after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_false(exists(wal));
	snprintf(msg, msglen, "%s", err.msg);
}

/* ---- opening and migrations ---- */

static void test_open_fresh(void **state)
{
	SD_AUTOFREE char *dir_a = tmp_path(state, "a");
	SD_AUTOFREE char *dir_b = tmp_path(state, "a/b");
	SD_AUTOFREE char *path = tmp_path(state, "a/b/catalog.db");
	SD_AUTOFREE char *wal = tmp_path(state, "a/b/catalog.db-wal");
	SD_AUTOFREE char *mode = NULL;
	SD_AUTOFREE char *tables = NULL;
	SD_AUTO(catalog) *cat = NULL;
	struct stat st;

	umask(022);
	cat = open_ok(path);
	assert_string_equal(catalog_path(cat), path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(dir_b, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(dir_a, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(wal, &st), 0); /* WAL files follow the catalog's mode */
	assert_int_equal(st.st_mode & 07777, 0600);

	tables = query_text(cat, sql_table_names, NULL);
	assert_string_equal(tables, all_tables);
	assert_int_equal(catalog_user_version(cat), CATALOG_SCHEMA_VERSION);
	assert_int_equal(CATALOG_SCHEMA_VERSION, 1);
	mode = query_text(cat, "PRAGMA journal_mode", NULL);
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(cat, "PRAGMA foreign_keys", 0), 1);
	assert_int_equal(query_int(cat, "PRAGMA busy_timeout", 0), 5000);
	assert_int_equal(cat->migrations_run, 1);
	assert_false(cat->in_tx);
}

static void test_open_empty_file(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "empty.db");
	SD_AUTO(catalog) *cat = NULL;

	write_file(path, "", 0);
	cat = open_ok(path);
	assert_int_equal(catalog_user_version(cat), 1);
	assert_int_equal(cat->migrations_run, 1);
}

static void test_reopen_keeps_data(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *disk = NULL;
	SD_AUTOFREE char *disk2 = NULL;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_vm vm;
	struct catalog *cat = open_ok(path);
	int64_t host, vm_id, host2;

	host = catalog_host_ensure(cat, "qemu:///system", &err);
	assert_true(host > 0);
	assert_int_equal(catalog_vm_register(cat, host, "6695eb01-f6a4-8304-79aa-97f2502e193f",
					     "demo-web", &vm_id, &err),
			 0);
	assert_int_equal(catalog_disk_ensure(cat, vm_id, "vda", &disk, &err), 0);
	assert_int_equal(catalog_event_add(cat, "demo-web", "snapshot", CATALOG_INFO, "made", &err),
			 0);
	catalog_close(cat);

	cat = open_ok(path);
	assert_int_equal(cat->migrations_run, 0);
	assert_int_equal(catalog_user_version(cat), 1);
	assert_int_equal(catalog_host_find(cat, "qemu:///system", &host2, &err), 1);
	assert_int_equal(host2, host);
	assert_int_equal(
	    catalog_vm_get(cat, host, "6695eb01-f6a4-8304-79aa-97f2502e193f", &vm, &err), 1);
	assert_int_equal(vm.id, vm_id);
	assert_string_equal(vm.name, "demo-web");
	catalog_vm_clear(&vm);
	assert_int_equal(catalog_disk_find(cat, vm_id, "vda", &disk2, &err), 1);
	assert_string_equal(disk2, disk);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), 1);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

/* A test-only version 2: a new column with a default and a new table. */
static const char test_step_v2[] = "ALTER TABLE vms ADD COLUMN note TEXT NOT NULL DEFAULT 'none';"
				   "CREATE TABLE extra (x INTEGER);"
				   "PRAGMA user_version = 2;";
static const char test_step_forgetful[] = "CREATE TABLE forgotten (x INTEGER);";
static const char test_step_dangling[] =
    "INSERT INTO disks (id, vm_id, target) VALUES ('d-1', 424242, 'vdz');"
    "PRAGMA user_version = 2;";

static void test_upgrade_hook(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *note = NULL;
	SD_AUTOFREE char *expect = NULL;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_migration steps[2];
	char msg[1024];
	const struct catalog_migration *product;
	struct catalog_vm vm;
	struct catalog *cat = open_ok(path);
	size_t n;
	int64_t host, vm_id;

	host = catalog_host_ensure(cat, "qemu:///system", &err);
	assert_int_equal(catalog_vm_register(cat, host, "u-1", "keeper", &vm_id, &err), 0);
	product = catalog_migrations(&n);
	assert_int_equal(n, CATALOG_SCHEMA_VERSION);
	steps[0] = product[0];

	/* A step that does not set its version is refused and leaves nothing. */
	steps[1] = (struct catalog_migration){"forgetful", test_step_forgetful};
	assert_int_equal(catalog_migrate_steps(cat, steps, 2, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	assert_int_equal(catalog_user_version(cat), 1);
	assert_int_equal(
	    query_int(cat, "SELECT count(*) FROM sqlite_schema WHERE name = 'forgotten'", 0), 0);
	assert_int_equal(query_int(cat, "PRAGMA foreign_keys", 0), 1);

	/* A step that leaves a dangling reference is refused and rolled back. */
	sd_err_clear(&err);
	steps[1] = (struct catalog_migration){"dangling", test_step_dangling};
	assert_int_equal(catalog_migrate_steps(cat, steps, 2, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	assert_non_null(strstr(err.msg, "disks"));
	assert_int_equal(catalog_user_version(cat), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM disks", 0), 0);

	/* The real upgrade: step 1 is skipped, step 2 runs, the data survive. */
	sd_err_clear(&err);
	steps[1] = (struct catalog_migration){"test v2", test_step_v2};
	assert_int_equal(catalog_migrate_steps(cat, steps, 2, &err), 0);
	assert_int_equal(cat->migrations_run, 1);
	assert_int_equal(catalog_user_version(cat), 2);
	assert_int_equal(catalog_vm_get(cat, host, "u-1", &vm, &err), 1);
	assert_string_equal(vm.name, "keeper");
	assert_int_equal(vm.id, vm_id);
	catalog_vm_clear(&vm);
	note = query_text(cat, "SELECT note FROM vms WHERE uuid = ?1", "u-1");
	assert_string_equal(note, "none");
	assert_int_equal(query_int(cat, "PRAGMA foreign_keys", 0), 1);

	/* Applying the same steps again does nothing. */
	assert_int_equal(catalog_migrate_steps(cat, steps, 2, &err), 0);
	assert_int_equal(cat->migrations_run, 0);
	catalog_close(cat);

	/* This snapdeck only knows version 1: the upgraded catalog is refused. */
	expect = sd_asprintf("catalog %s has schema version 2, newer than this snapdeck knows (1)",
			     path);
	assert_refused_untouched(path, SD_ERR_CATALOG, msg, sizeof(msg));
	assert_string_equal(msg, expect);
}

static void test_refuse_not_sqlite(void **state)
{
	static const char text[] = "this is not a database, only some text\n";
	static const unsigned char fake[64] = "SQLite format 3\0\xab\xab\xab\xab\xab\xab";
	SD_AUTOFREE char *path = tmp_path(state, "notes.txt");
	SD_AUTOFREE char *shortf = tmp_path(state, "short.db");
	SD_AUTOFREE char *fakef = tmp_path(state, "fake.db");
	SD_AUTOFREE char *expect = NULL;
	struct sd_err err = SD_ERR_INIT;
	char msg[1024];

	write_file(path, text, strlen(text));
	assert_refused_untouched(path, SD_ERR_CATALOG, msg, sizeof(msg));
	expect = sd_asprintf("%s is not a snapdeck catalog (not an SQLite database)", path);
	assert_string_equal(msg, expect);
	assert_null(catalog_open_readonly(path, &err));
	assert_string_equal(err.msg, expect);

	write_file(shortf, "hi", 2);
	assert_refused_untouched(shortf, SD_ERR_CATALOG, msg, sizeof(msg));
	assert_non_null(strstr(msg, "not an SQLite database"));

	/* The right magic but nothing sensible after it: SQLite itself says no. */
	write_file(fakef, fake, sizeof(fake));
	assert_refused_untouched(fakef, SD_ERR_CATALOG, msg, sizeof(msg));
	assert_non_null(strstr(msg, "not an SQLite database"));
}

/* Makes an SQLite file with the given script, outside the catalog code. */
static void make_db(const char *path, const char *script)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, script, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void test_refuse_foreign_db(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "other.db");
	SD_AUTOFREE char *expect = NULL;
	char msg[1024];

	make_db(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
		      "INSERT INTO notes (text) VALUES ('keep me');");
	assert_refused_untouched(path, SD_ERR_CATALOG, msg, sizeof(msg));
	expect =
	    sd_asprintf("%s is not a snapdeck catalog (it holds another program's tables)", path);
	assert_string_equal(msg, expect);
}

static void test_refuse_newer(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "future.db");
	SD_AUTOFREE char *expect = NULL;
	struct sd_err err = SD_ERR_INIT;
	char msg[1024];

	make_db(path, "CREATE TABLE hosts (id INTEGER PRIMARY KEY); PRAGMA user_version = 7;");
	assert_refused_untouched(path, SD_ERR_CATALOG, msg, sizeof(msg));
	expect = sd_asprintf("catalog %s has schema version 7, newer than this snapdeck knows (1)",
			     path);
	assert_string_equal(msg, expect);
	assert_null(catalog_open_readonly(path, &err));
	assert_string_equal(err.msg, expect);
}

static void test_refuse_unwritable(void **state)
{
	SD_AUTOFREE char *file = tmp_path(state, "afile");
	SD_AUTOFREE char *path = tmp_path(state, "afile/sub/catalog.db");
	SD_AUTOFREE char *under = tmp_path(state, "afile/catalog.db");
	struct sd_err err = SD_ERR_INIT;

	/* Permissions do not stop root: a regular file in the way does. */
	write_file(file, "x", 1);
	assert_null(catalog_open(path, &err));
	assert_int_equal(err.code, SD_ERR_IO);
	assert_non_null(strstr(err.msg, "cannot create folder"));
	sd_err_clear(&err);
	assert_null(catalog_open(under, &err));
	assert_int_equal(err.code, SD_ERR_IO);

	if (geteuid() != 0) {
		SD_AUTOFREE char *ro = tmp_path(state, "ro");
		SD_AUTOFREE char *inside = tmp_path(state, "ro/catalog.db");

		assert_int_equal(mkdir(ro, 0500), 0);
		sd_err_clear(&err);
		assert_null(catalog_open(inside, &err));
		assert_int_equal(err.code, SD_ERR_IO);
		assert_false(exists(inside));
		chmod(ro, 0700);
	}

	sd_err_clear(&err);
	assert_null(catalog_open("", &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
}

static void test_readonly(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *missing = tmp_path(state, "missing.db");
	SD_AUTOFREE char *empty = tmp_path(state, "empty.db");
	struct sd_err err = SD_ERR_INIT;
	struct catalog_event *ev = NULL;
	size_t n = 0;
	int64_t host, found;
	struct catalog *cat = open_ok(path);

	host = catalog_host_ensure(cat, "qemu:///system", &err);
	assert_int_equal(catalog_event_add(cat, NULL, "sync", CATALOG_INFO, "hello", &err), 0);
	catalog_close(cat);

	cat = catalog_open_readonly(path, &err);
	assert_non_null(cat);
	assert_int_equal(catalog_host_find(cat, "qemu:///system", &found, &err), 1);
	assert_int_equal(found, host);
	assert_int_equal(catalog_event_list(cat, NULL, 0, &ev, &n, &err), 0);
	assert_int_equal(n, 1);
	catalog_events_free(ev, n);
	assert_int_equal(catalog_event_add(cat, NULL, "sync", CATALOG_INFO, "no", &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	catalog_close(cat);

	sd_err_clear(&err);
	assert_null(catalog_open_readonly(missing, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	assert_false(exists(missing));

	sd_err_clear(&err);
	write_file(empty, "", 0);
	assert_null(catalog_open_readonly(empty, &err));
	assert_int_equal(err.code, SD_ERR_CATALOG);
}

/* ---- hosts, VMs, disks ---- */

static void test_host_vm_disk(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *first_seen = NULL;
	SD_AUTOFREE char *last_seen = NULL;
	SD_AUTOFREE char *vda = NULL;
	SD_AUTOFREE char *vda2 = NULL;
	SD_AUTOFREE char *vdb = NULL;
	SD_AUTOFREE char *other_vda = NULL;
	SD_AUTOFREE char *none = NULL;
	SD_AUTOFREE char *reopened = NULL;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_vm vm;
	struct catalog *cat = open_ok(path);
	int64_t h1, h2, h, vm1, vm1b, vm2;

	setenv("SNAPDECK_NOW", "2026-11-22T10:00:00Z", 1);
	h1 = catalog_host_ensure(cat, "qemu:///system", &err);
	assert_true(h1 > 0);
	assert_int_equal(catalog_host_ensure(cat, "qemu:///system", &err), h1);
	h2 = catalog_host_ensure(cat, "qemu+ssh://b/system", &err);
	assert_true(h2 > 0 && h2 != h1);
	assert_int_equal(catalog_host_find(cat, "qemu+ssh://b/system", &h, &err), 1);
	assert_int_equal(h, h2);
	assert_int_equal(catalog_host_find(cat, "test:///default", &h, &err), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM hosts", 0), 2);

	assert_int_equal(catalog_vm_register(cat, h1, "uuid-1", "web", &vm1, &err), 0);
	setenv("SNAPDECK_NOW", "2026-11-23T11:00:00Z", 1);
	assert_int_equal(catalog_vm_register(cat, h1, "uuid-1", "web-renamed", &vm1b, &err), 0);
	assert_int_equal(vm1b, vm1);
	/* The same UUID on another host is another VM. */
	assert_int_equal(catalog_vm_register(cat, h2, "uuid-1", "web", &vm2, &err), 0);
	assert_true(vm2 != vm1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM vms", 0), 2);
	first_seen = query_text(cat, "SELECT first_seen FROM vms WHERE name = ?1", "web-renamed");
	last_seen = query_text(cat, "SELECT last_seen FROM vms WHERE name = ?1", "web-renamed");
	assert_string_equal(first_seen, "2026-11-22T10:00:00Z");
	assert_string_equal(last_seen, "2026-11-23T11:00:00Z");

	assert_int_equal(catalog_vm_get(cat, h1, "uuid-1", &vm, &err), 1);
	assert_int_equal(vm.id, vm1);
	assert_int_equal(vm.host_id, h1);
	assert_string_equal(vm.uuid, "uuid-1");
	assert_string_equal(vm.name, "web-renamed");
	assert_null(vm.current_snapshot);
	assert_false(vm.drifted);
	assert_null(vm.drift_reason);
	catalog_vm_clear(&vm);
	assert_int_equal(catalog_vm_get(cat, h1, "uuid-404", &vm, &err), 0);
	assert_null(vm.name);

	/* Drift: set, read back, cleared. */
	assert_int_equal(catalog_vm_set_drift(cat, vm1, "vda source changed", &err), 0);
	assert_int_equal(catalog_vm_get(cat, h1, "uuid-1", &vm, &err), 1);
	assert_true(vm.drifted);
	assert_string_equal(vm.drift_reason, "vda source changed");
	catalog_vm_clear(&vm);
	assert_int_equal(catalog_vm_set_drift(cat, vm1, NULL, &err), 0);
	assert_int_equal(catalog_vm_get(cat, h1, "uuid-1", &vm, &err), 1);
	assert_false(vm.drifted);
	catalog_vm_clear(&vm);
	assert_false(sd_err_is_set(&err));
	assert_int_equal(catalog_vm_set_drift(cat, 999999, "x", &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);

	/* A VM on an unknown host is refused by the foreign key. */
	assert_int_equal(catalog_vm_register(cat, 777, "uuid-x", "ghost", &vm2, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	assert_non_null(strstr(err.msg, "ghost"));
	sd_err_clear(&err);

	/* Disk ids: created once, stable ever after. */
	assert_int_equal(catalog_disk_find(cat, vm1, "vda", &none, &err), 0);
	assert_null(none);
	assert_int_equal(catalog_disk_ensure(cat, vm1, "vda", &vda, &err), 0);
	assert_true(sd_uuid_valid(vda));
	assert_int_equal(catalog_disk_ensure(cat, vm1, "vda", &vda2, &err), 0);
	assert_string_equal(vda2, vda);
	assert_int_equal(catalog_disk_ensure(cat, vm1, "vdb", &vdb, &err), 0);
	assert_string_not_equal(vdb, vda);
	assert_int_equal(catalog_disk_ensure(cat, vm2, "vda", &other_vda, &err), 0);
	assert_string_not_equal(other_vda, vda);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM disks", 0), 3);
	catalog_close(cat);

	cat = open_ok(path);
	assert_int_equal(catalog_disk_ensure(cat, vm1, "vda", &reopened, &err), 0);
	assert_string_equal(reopened, vda);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

/* Snapshots, a preview and a lock for the summaries, in raw SQL:
 * ?1 = vm with all of them, ?2 = a drifted VM, ?3 = a VM of another host. */
static const char fixture_summaries[] =
    "INSERT INTO snapshots (id, vm_id, name, created, domain_xml)"
    " VALUES ('s-1', ?1, 'one', '2026-01-01T00:00:00Z', '<domain/>');"
    "INSERT INTO snapshots (id, vm_id, name, parent_id, created, domain_xml)"
    " VALUES ('s-2', ?1, 'two', 's-1', '2026-01-02T00:00:00Z', '<domain/>');"
    "INSERT INTO snapshots (id, vm_id, name, created, domain_xml)"
    " VALUES ('s-3', ?3, 'elsewhere', '2026-01-02T00:00:00Z', '<domain/>');"
    "INSERT INTO previews (vm_id, config_snapshot, disks, saved_xml, saved_tops, created)"
    " VALUES (?1, 's-1', '{}', '<domain/>', '{}', '2026-01-03T00:00:00Z');"
    "INSERT INTO locks (vm_id, op, owner_host, owner_pid, owner_start, since)"
    " VALUES (?1, 'delete', 'here', 1, 1, '2026-01-03T00:00:00Z');"
    "UPDATE vms SET drift_reason = 'vdb missing' WHERE id = ?2;";

static void test_summaries(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	struct sd_err err = SD_ERR_INIT;
	struct catalog_vm_summary *v = NULL;
	size_t n = 0;
	struct catalog *cat = open_ok(path);
	int64_t h1, h2, busy, drifted, plain, far;

	h1 = catalog_host_ensure(cat, "qemu:///system", &err);
	h2 = catalog_host_ensure(cat, "qemu+ssh://far/system", &err);
	assert_int_equal(catalog_vm_register(cat, h1, "u-busy", "a-busy", &busy, &err), 0);
	assert_int_equal(catalog_vm_register(cat, h1, "u-drift", "b-drift", &drifted, &err), 0);
	assert_int_equal(catalog_vm_register(cat, h1, "u-plain", "c-plain", &plain, &err), 0);
	assert_int_equal(catalog_vm_register(cat, h2, "u-far", "far", &far, &err), 0);
	run_script(cat, fixture_summaries, busy, drifted, far);

	assert_int_equal(catalog_vm_summaries(cat, h1, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].uuid, "u-busy");
	assert_int_equal(v[0].snapshots, 2);
	assert_true(v[0].in_preview);
	assert_false(v[0].drifted);
	assert_string_equal(v[0].busy_op, "delete");
	assert_string_equal(v[1].uuid, "u-drift");
	assert_int_equal(v[1].snapshots, 0);
	assert_false(v[1].in_preview);
	assert_true(v[1].drifted);
	assert_null(v[1].busy_op);
	assert_string_equal(v[2].uuid, "u-plain");
	assert_int_equal(v[2].snapshots, 0);
	assert_false(v[2].in_preview);
	assert_false(v[2].drifted);
	assert_null(v[2].busy_op);
	catalog_vm_summaries_free(v, n);

	assert_int_equal(catalog_vm_summaries(cat, 424242, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	catalog_vm_summaries_free(NULL, 0);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

/* A VM (?1) with two disks, a snapshot, a preview, a lock, a policy and an
 * operation, beside another VM (?2) of the same host (?3) whose linked clone
 * disk is built on the first VM's snapshot layer, and a template.
 *   vm A vda: a-top -> a-s1 -> a-base (a-s1 in snapshot snap-a; b-top on a-s1)
 *   vm A vdb: c-top -> c-base                  (only A's: both go)
 *   vm A vdc: t-top -> tpl                     (tpl used by a template: stays)
 *   vm A vde: e-top -> e-s1 <- e-late          (a branch: e-s1 goes only after
 *             both its children, so the removal needs several passes)
 *   other    : an image nobody uses, not A's   (stays) */
static const char fixture_delete[] =
    "BEGIN;"
    "INSERT INTO images (id, host_id, path, format, parent_id, created) VALUES"
    " ('a-base', ?3, '/p/a-base', 'qcow2', NULL, 'now'),"
    " ('a-s1', ?3, '/p/a-s1', 'qcow2', 'a-base', 'now'),"
    " ('a-top', ?3, '/p/a-top', 'qcow2', 'a-s1', 'now'),"
    " ('b-top', ?3, '/p/b-top', 'qcow2', 'a-s1', 'now'),"
    " ('c-top', ?3, '/p/c-top', 'qcow2', 'c-base', 'now'),"
    " ('c-base', ?3, '/p/c-base', 'raw', NULL, 'now'),"
    " ('tpl', ?3, '/p/tpl', 'qcow2', NULL, 'now'),"
    " ('t-top', ?3, '/p/t-top', 'qcow2', 'tpl', 'now'),"
    " ('other', ?3, '/p/other', 'qcow2', NULL, 'now'),"
    " ('e-s1', ?3, '/p/e-s1', 'qcow2', NULL, 'now'),"
    " ('e-top', ?3, '/p/e-top', 'qcow2', 'e-s1', 'now'),"
    " ('e-late', ?3, '/p/e-late', 'qcow2', 'e-s1', 'now');"
    "INSERT INTO disks (id, vm_id, target, active_image_id) VALUES"
    " ('d-a-vda', ?1, 'vda', 'a-top'), ('d-a-vdb', ?1, 'vdb', 'c-top'),"
    " ('d-a-vdc', ?1, 'vdc', 't-top'), ('d-a-vde', ?1, 'vde', 'e-top'),"
    " ('d-b-vda', ?2, 'vda', 'b-top');"
    "INSERT INTO policies (id, vm_id, name, every, keep) VALUES (1, ?1, 'nightly', 'daily', 3);"
    "INSERT INTO snapshots (id, vm_id, name, created, domain_xml, policy_id)"
    " VALUES ('snap-a', ?1, 'first', 'now', '<domain/>', 1);"
    "INSERT INTO snapshots (id, vm_id, name, parent_id, created, domain_xml)"
    " VALUES ('snap-late', ?1, 'late', 'snap-a', 'now', '<domain/>');"
    "INSERT INTO snapshot_disks (snapshot_id, disk_id, target, image_id) VALUES"
    " ('snap-a', 'd-a-vda', 'vda', 'a-s1'), ('snap-a', 'd-a-vde', 'vde', 'e-s1'),"
    " ('snap-late', 'd-a-vde', 'vde', 'e-late');"
    "UPDATE vms SET current_snapshot = 'snap-a' WHERE id = ?1;"
    "INSERT INTO previews (vm_id, config_snapshot, disks, saved_xml, saved_tops, created)"
    " VALUES (?1, 'snap-a', '{}', '<domain/>', '{}', 'now');"
    "INSERT INTO operations (id, vm_id, vm_name, op, state, plan, started, owner_host,"
    " owner_pid, owner_start) VALUES (5, ?1, 'A', 'preview', 'done', '[]', 'now', 'h', 1, 1);"
    "INSERT INTO locks (vm_id, op, operation_id, owner_host, owner_pid, owner_start, since)"
    " VALUES (?1, 'preview', 5, 'h', 1, 1, 'now');"
    "INSERT INTO templates (id, host_id, name, pool, created) VALUES ('t-1', ?3, 'gold', 'p', "
    "'now');"
    "INSERT INTO template_disks (template_id, target, image_id) VALUES ('t-1', 'vda', 'tpl');"
    "COMMIT;";

static void test_vm_delete_cascade(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *left = NULL;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_vm vm;
	struct catalog *cat = open_ok(path);
	int64_t h, a, b;

	h = catalog_host_ensure(cat, "qemu:///system", &err);
	assert_int_equal(catalog_vm_register(cat, h, "u-a", "A", &a, &err), 0);
	assert_int_equal(catalog_vm_register(cat, h, "u-b", "B", &b, &err), 0);
	run_script(cat, fixture_delete, a, b, h);
	assert_int_equal(catalog_event_add(cat, "A", "preview", CATALOG_INFO, "done", &err), 0);

	assert_int_equal(catalog_vm_delete(cat, h, "u-a", &err), 0);
	assert_int_equal(catalog_vm_get(cat, h, "u-a", &vm, &err), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM vms", 0), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM disks WHERE vm_id = ?1", a), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM disks", 0), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM snapshots", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM snapshot_disks", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM previews", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM locks", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM policies", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM templates", 0), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM operations WHERE vm_id IS NULL", 0),
			 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), 1);
	left = query_text(
	    cat, "SELECT group_concat(id, ' ') FROM (SELECT id FROM images ORDER BY id)", NULL);
	assert_string_equal(left, "a-base a-s1 b-top other tpl");
	assert_int_equal(query_int(cat, "SELECT count(*) FROM pragma_foreign_key_check", 0), 0);

	/* Removing an absent VM is not an error. */
	assert_int_equal(catalog_vm_delete(cat, h, "u-a", &err), 0);
	assert_int_equal(catalog_vm_delete(cat, 4242, "nobody", &err), 0);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

/* ---- events ---- */

static void test_events(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	struct sd_err err = SD_ERR_INIT;
	struct catalog_event *ev = NULL;
	size_t n = 0;
	struct catalog *cat = open_ok(path);

	assert_string_equal(catalog_level_name(CATALOG_INFO), "info");
	assert_string_equal(catalog_level_name(CATALOG_WARNING), "warning");
	assert_string_equal(catalog_level_name(CATALOG_ERROR), "error");

	setenv("SNAPDECK_NOW", "2026-11-22T10:00:00Z", 1);
	assert_int_equal(catalog_event_add(cat, "web", "snapshot", CATALOG_INFO, "e1", &err), 0);
	setenv("SNAPDECK_NOW", "2026-11-22T10:00:01Z", 1);
	assert_int_equal(catalog_event_add(cat, "db", "delete", CATALOG_WARNING, "e2", &err), 0);
	setenv("SNAPDECK_NOW", "2026-11-22T10:00:02Z", 1);
	assert_int_equal(catalog_event_add(cat, NULL, "sync", CATALOG_INFO, "e3", &err), 0);
	setenv("SNAPDECK_NOW", "2026-11-22T10:00:03Z", 1);
	assert_int_equal(catalog_event_add(cat, "web", "preview", CATALOG_ERROR, "e4", &err), 0);
	setenv("SNAPDECK_NOW", "2026-11-22T10:00:04Z", 1);
	assert_int_equal(catalog_event_add(cat, "web", "undo", CATALOG_INFO, "e5", &err), 0);

	assert_int_equal(catalog_event_list(cat, NULL, 0, &ev, &n, &err), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "e%zu", i + 1);
		assert_string_equal(ev[i].message, want);
		if (i > 0)
			assert_true(ev[i].id > ev[i - 1].id);
	}
	assert_string_equal(ev[0].time, "2026-11-22T10:00:00Z");
	assert_string_equal(ev[0].vm, "web");
	assert_string_equal(ev[0].op, "snapshot");
	assert_int_equal(ev[1].level, CATALOG_WARNING);
	assert_null(ev[2].vm);
	assert_int_equal(ev[3].level, CATALOG_ERROR);
	catalog_events_free(ev, n);

	/* The newest two, still oldest first. */
	assert_int_equal(catalog_event_list(cat, NULL, 2, &ev, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].message, "e4");
	assert_string_equal(ev[1].message, "e5");
	catalog_events_free(ev, n);

	assert_int_equal(catalog_event_list(cat, "web", 0, &ev, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ev[0].message, "e1");
	assert_string_equal(ev[1].message, "e4");
	assert_string_equal(ev[2].message, "e5");
	assert_string_equal(ev[2].time, "2026-11-22T10:00:04Z");
	catalog_events_free(ev, n);

	assert_int_equal(catalog_event_list(cat, "web", 2, &ev, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].message, "e4");
	assert_string_equal(ev[1].message, "e5");
	catalog_events_free(ev, n);

	assert_int_equal(catalog_event_list(cat, "web", 100, &ev, &n, &err), 0);
	assert_int_equal(n, 3);
	catalog_events_free(ev, n);

	assert_int_equal(catalog_event_list(cat, "nobody", 0, &ev, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(ev);
	catalog_events_free(NULL, 0);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

/* ---- hostile strings ---- */

static void test_hostile_strings(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *tables = NULL;
	char long_name[301];
	const char *hostile[] = {
	    "it's a \"quoted\" name",
	    "x'; DROP TABLE vms; --",
	    "\"); DELETE FROM events; --",
	    "line one\nline two\r\n\tend",
	    "\xff\xfe\x80\xc0\xaf not UTF-8 \xed\xa0\x80",
	    "%s%n%x%%",
	    "Grüße 日本 ☃",
	    "?1 :name @x $y",
	    long_name,
	};
	struct sd_err err = SD_ERR_INIT;
	struct catalog *cat = open_ok(path);

	for (size_t i = 0; i < sizeof(long_name) - 1; i++)
		long_name[i] = "a'\"; -\\"[i % 7];
	long_name[sizeof(long_name) - 1] = '\0';

	for (size_t i = 0; i < SD_N_ELEMENTS(hostile); i++) {
		const char *s = hostile[i];
		SD_AUTOFREE char *disk = NULL;
		SD_AUTOFREE char *disk2 = NULL;
		struct catalog_event *ev = NULL;
		struct catalog_vm vm;
		size_t n = 0;
		int64_t host, found, vm_id;

		host = catalog_host_ensure(cat, s, &err);
		assert_true(host > 0);
		assert_int_equal(catalog_host_find(cat, s, &found, &err), 1);
		assert_int_equal(found, host);
		assert_int_equal(catalog_vm_register(cat, host, s, s, &vm_id, &err), 0);
		assert_int_equal(catalog_vm_get(cat, host, s, &vm, &err), 1);
		assert_string_equal(vm.uuid, s);
		assert_string_equal(vm.name, s);
		catalog_vm_clear(&vm);
		assert_int_equal(catalog_vm_set_drift(cat, vm_id, s, &err), 0);
		assert_int_equal(catalog_vm_get(cat, host, s, &vm, &err), 1);
		assert_string_equal(vm.drift_reason, s);
		catalog_vm_clear(&vm);
		assert_int_equal(catalog_disk_ensure(cat, vm_id, s, &disk, &err), 0);
		assert_int_equal(catalog_disk_find(cat, vm_id, s, &disk2, &err), 1);
		assert_string_equal(disk2, disk);
		assert_int_equal(catalog_event_add(cat, s, s, CATALOG_WARNING, s, &err), 0);
		assert_int_equal(catalog_event_list(cat, s, 0, &ev, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_string_equal(ev[0].vm, s);
		assert_string_equal(ev[0].op, s);
		assert_string_equal(ev[0].message, s);
		assert_int_equal(strlen(ev[0].message), strlen(s));
		catalog_events_free(ev, n);
		if (sd_err_is_set(&err))
			fail_msg("hostile string %zu: %s", i, err.msg);
	}
	assert_int_equal(query_int(cat, "SELECT count(*) FROM vms", 0), SD_N_ELEMENTS(hostile));
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), SD_N_ELEMENTS(hostile));
	tables = query_text(cat, sql_table_names, NULL);
	assert_string_equal(tables, all_tables);
	catalog_close(cat);
}

/* ---- transactions and data_version ---- */

static void test_transactions(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	struct sd_err err = SD_ERR_INIT;
	struct catalog *cat = open_ok(path);
	int64_t h, vm_id;

	h = catalog_host_ensure(cat, "qemu:///system", &err);

	assert_int_equal(catalog_commit(cat, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);
	catalog_rollback(cat); /* nothing open: harmless */

	assert_int_equal(catalog_begin(cat, &err), 0);
	assert_int_equal(catalog_begin(cat, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);
	assert_int_equal(catalog_vm_register(cat, h, "u-1", "rolled-back", &vm_id, &err), 0);
	assert_int_equal(catalog_event_add(cat, "rolled-back", "x", CATALOG_INFO, "m", &err), 0);
	catalog_rollback(cat);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM vms", 0), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), 0);
	assert_int_equal(catalog_commit(cat, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);

	/* A failing write inside a transaction undoes only itself. */
	assert_int_equal(catalog_begin(cat, &err), 0);
	assert_int_equal(catalog_vm_register(cat, h, "u-1", "kept", &vm_id, &err), 0);
	assert_int_equal(catalog_vm_register(cat, 9999, "u-2", "no host", &vm_id, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	sd_err_clear(&err);
	assert_int_equal(catalog_event_add(cat, "kept", "x", CATALOG_INFO, "m", &err), 0);
	assert_int_equal(catalog_commit(cat, &err), 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM vms", 0), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), 1);
	assert_true(sqlite3_get_autocommit(cat->db));

	/* Closing with a transaction open rolls it back. */
	assert_int_equal(catalog_begin(cat, &err), 0);
	assert_int_equal(catalog_event_add(cat, NULL, "x", CATALOG_INFO, "lost", &err), 0);
	catalog_close(cat);
	cat = open_ok(path);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), 1);
	assert_false(sd_err_is_set(&err));
	catalog_close(cat);
}

static void test_data_version(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	struct sd_err err = SD_ERR_INIT;
	struct catalog *a = open_ok(path);
	struct catalog *b = open_ok(path);
	int64_t v1, v2;

	v1 = catalog_data_version(a);
	assert_true(v1 >= 0);
	assert_int_equal(catalog_data_version(a), v1);
	/* Our own commits do not count, another connection's do. */
	assert_int_equal(catalog_event_add(a, NULL, "x", CATALOG_INFO, "mine", &err), 0);
	assert_int_equal(catalog_data_version(a), v1);
	assert_int_equal(catalog_event_add(b, NULL, "x", CATALOG_INFO, "theirs", &err), 0);
	v2 = catalog_data_version(a);
	assert_true(v2 != v1);
	assert_int_equal(catalog_data_version(a), v2);
	assert_false(sd_err_is_set(&err));
	catalog_close(b);
	catalog_close(a);
}

/* Several processes opening one fresh catalog at once: one of them creates
 * the schema, the others see it done; nobody fails, nothing is doubled. */
static void test_concurrent_first_open(void **state)
{
	enum { N_CHILDREN = 6 };
	SD_AUTOFREE char *path = tmp_path(state, "shared/catalog.db");
	pid_t pids[N_CHILDREN];
	struct catalog *cat;

	for (int i = 0; i < N_CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct sd_err err = SD_ERR_INIT;
			struct catalog *c = catalog_open(path, &err);
			int64_t host;

			if (!c) {
				fprintf(stderr, "child %d: %s\n", i, err.msg);
				_exit(1);
			}
			host = catalog_host_ensure(c, "qemu:///system", &err);
			if (host < 0 ||
			    catalog_event_add(c, NULL, "open", CATALOG_INFO, "hello", &err) < 0) {
				fprintf(stderr, "child %d: %s\n", i, err.msg);
				_exit(1);
			}
			catalog_close(c);
			_exit(0);
		}
	}
	for (int i = 0; i < N_CHILDREN; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	cat = open_ok(path);
	assert_int_equal(cat->migrations_run, 0);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM hosts", 0), 1);
	assert_int_equal(query_int(cat, "SELECT count(*) FROM events", 0), N_CHILDREN);
	catalog_close(cat);
}

/* ---- data/schema.sql documents the same schema ---- */

/* Collapses white space so that line breaks do not count. */
static char *squeeze(const char *s)
{
	char *out = sd_malloc(strlen(s) + 1), *o = out;
	bool space = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *schema_of(sqlite3 *db)
{
	static const char sql[] = "SELECT type, name, sql FROM sqlite_schema"
				  " WHERE sql IS NOT NULL ORDER BY type, name";
	struct sd_buf b = SD_BUF_INIT;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		SD_AUTOFREE char *text = squeeze((const char *)sqlite3_column_text(st, 2));
		sd_buf_addf(&b, "%s %s: %s\n", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1), text);
	}
	sqlite3_finalize(st);
	return sd_buf_steal(&b);
}

static void test_schema_file_matches(void **state)
{
	SD_AUTOFREE char *path = tmp_path(state, "catalog.db");
	SD_AUTOFREE char *file = sd_asprintf("%s/data/schema.sql", SD_TOP_SRCDIR);
	SD_AUTOFREE char *sql = sdtest_read_file(file);
	SD_AUTOFREE char *want = NULL;
	SD_AUTOFREE char *got = NULL;
	struct catalog *cat = open_ok(path);
	sqlite3 *mem = NULL;

	if (!sql)
		fail_msg("cannot read %s", file);
	assert_int_equal(sqlite3_open(":memory:", &mem), SQLITE_OK);
	if (sqlite3_exec(mem, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("data/schema.sql: %s", sqlite3_errmsg(mem));
	want = schema_of(mem);
	got = schema_of(cat->db);
	assert_string_equal(got, want);
	assert_int_equal(query_int(cat, "PRAGMA user_version", 0), CATALOG_SCHEMA_VERSION);
	sqlite3_close(mem);
	catalog_close(cat);
}

static void test_default_path(void **state)
{
	SD_AUTOFREE char *saved_home = sd_strdup(getenv("HOME"));
	SD_AUTOFREE char *p = NULL;

	setenv("SNAPDECK_CATALOG", "/srv/cat.db", 1);
	p = catalog_default_path();
	assert_string_equal(p, "/srv/cat.db");
	free(p);
	unsetenv("SNAPDECK_CATALOG");
	setenv("XDG_DATA_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	p = catalog_default_path();
	if (geteuid() == 0) {
		assert_string_equal(p, "/var/lib/snapdeck/catalog.db");
	} else {
		assert_string_equal(p, "/xdg/snapdeck/catalog.db");
		free(p);
		unsetenv("XDG_DATA_HOME");
		p = catalog_default_path();
		assert_string_equal(p, "/home/u/.local/share/snapdeck/catalog.db");
	}
	unsetenv("XDG_DATA_HOME");
	if (saved_home)
		setenv("HOME", saved_home, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_open_fresh),
	    T(test_open_empty_file),
	    T(test_reopen_keeps_data),
	    T(test_upgrade_hook),
	    T(test_refuse_not_sqlite),
	    T(test_refuse_foreign_db),
	    T(test_refuse_newer),
	    T(test_refuse_unwritable),
	    T(test_readonly),
	    T(test_host_vm_disk),
	    T(test_summaries),
	    T(test_vm_delete_cascade),
	    T(test_events),
	    T(test_hostile_strings),
	    T(test_transactions),
	    T(test_data_version),
	    T(test_concurrent_first_open),
	    T(test_schema_file_matches),
	    T(test_default_path),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
