/* demo setup → vm list/show → setup again (idempotent) → teardown leaves
 * nothing behind: no pool, volume, domain or catalog row. */
#include "config.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"

static char *tmp, *dir, *catalog, prefix[32];

static json_t *run_json(int expect, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;
	char *out = NULL, *err = NULL;
	json_t *j;
	int rc;

	argv[n++] = getenv("SNAPDECK_BIN");
	argv[n++] = "-c";
	argv[n++] = "qemu:///system";
	argv[n++] = "--catalog";
	argv[n++] = catalog;
	va_start(ap, expect);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = "--json";
	argv[n] = NULL;
	rc = sdtest_run(argv, &out, &err);
	if (rc != expect)
		fail_msg("exit %d (wanted %d)\nstdout: %s\nstderr: %s", rc, expect, out, err);
	j = json_loads(out, 0, NULL);
	if (!j)
		fail_msg("not JSON: %s", out);
	free(out);
	free(err);
	return j;
}

static json_t *find_vm(json_t *list, const char *name)
{
	size_t i;
	json_t *vm;

	json_array_foreach(list, i, vm)
		if (strcmp(json_string_value(json_object_get(vm, "name")), name) == 0)
			return vm;
	return NULL;
}

/* Counts rows of the catalog; ?1 in sql is bound to the test's prefix. */
static long long count_rows(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(catalog, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int virsh_ok(const char *what, const char *name)
{
	char *const argv[] = { "virsh", "-q", "-c", "qemu:///system", (char *)what, (char *)name,
			       NULL };
	return sdtest_run(argv, NULL, NULL) == 0;
}

static void test_demo_cycle(void **state)
{
	static const struct {
		const char *suffix;
		int disks;
		int snapshots;
	} want[] = { { "web", 2, 4 }, { "db", 3, 2 }, { "build", 1, 1 } };
	char name[64], pool[64], path[512];
	json_t *j, *list, *disks;
	char *first_ids[2];

	j = run_json(0, "demo", "setup", "--dir", dir, "--prefix", prefix, NULL);
	json_decref(j);

	list = run_json(0, "vm", "list", NULL);
	for (size_t v = 0; v < 3; v++) {
		snprintf(name, sizeof(name), "%s-%s", prefix, want[v].suffix);
		json_t *vm = find_vm(list, name);
		assert_non_null(vm);
		assert_int_equal(json_integer_value(json_object_get(vm, "disks")), want[v].disks);
		assert_string_equal(json_string_value(json_object_get(vm, "state")), "shutoff");
		/* the demo's history: a tree with a branch, subset snapshots */
		assert_int_equal(json_integer_value(json_object_get(vm, "snapshots")),
				 want[v].snapshots);
		assert_true(json_is_false(json_object_get(vm, "in_preview")));
		assert_true(json_is_null(json_object_get(vm, "busy")));
		assert_int_equal(strlen(json_string_value(json_object_get(vm, "uuid"))), 36);
	}
	json_decref(list);

	/* vm show: each disk a chain in the pool on its base volume, with the
	 * base's patterns visible through it. */
	snprintf(name, sizeof(name), "%s-web", prefix);
	j = run_json(0, "vm", "show", name, NULL);
	disks = json_object_get(j, "disks");
	assert_int_equal(json_array_size(disks), 2);
	for (size_t d = 0; d < 2; d++) {
		json_t *disk = json_array_get(disks, d);
		const char *target = json_string_value(json_object_get(disk, "target"));
		const char *active = json_string_value(json_object_get(disk, "active"));
		json_t *chain = json_object_get(disk, "chain");
		char pattern[64];

		assert_string_equal(target, d == 0 ? "vda" : "vdb");
		snprintf(path, sizeof(path), "%s/%s-%s.qcow2", dir, name, target);
		assert_true(json_array_size(chain) >= 2);
		assert_string_equal(json_string_value(json_array_get(chain, 0)), active);
		assert_string_equal(
			json_string_value(json_array_get(chain, json_array_size(chain) - 1)), path);
		assert_true(strncmp(active, dir, strlen(dir)) == 0);
		assert_string_equal(json_string_value(json_object_get(disk, "format")), "qcow2");
		first_ids[d] = strdup(json_string_value(json_object_get(disk, "disk_id")));
		assert_int_equal(strlen(first_ids[d]), 36);

		/* the demo wrote 0x11 / 0x12 at 0..2M and 512M..513M; zeros between */
		snprintf(pattern, sizeof(pattern), "read -P 0x%02x 0 2M", 0x11 + (int)d);
		char *const rd[] = { "qemu-io", "-r", "-f", "qcow2", "-c", pattern, (char *)active,
				     NULL };
		assert_int_equal(sdtest_run(rd, NULL, NULL), 0);
		snprintf(pattern, sizeof(pattern), "read -P 0x%02x 512M 1M", 0x11 + (int)d);
		assert_int_equal(sdtest_run(rd, NULL, NULL), 0);
		snprintf(pattern, sizeof(pattern), "read -P 0x00 2M 1M");
		assert_int_equal(sdtest_run(rd, NULL, NULL), 0);
		snprintf(pattern, sizeof(pattern), "read -P 0x%02x 0 2M", 0x31);
		assert_int_not_equal(sdtest_run(rd, NULL, NULL), 0); /* can fail */
		/* compat 1.1, as every layer snapdeck makes */
		char *out = NULL;
		char *const info[] = { "qemu-img", "info", "--output=json", (char *)active, NULL };
		assert_int_equal(sdtest_run(info, &out, NULL), 0);
		assert_non_null(strstr(out, "\"compat\": \"1.1\""));
		free(out);
	}
	json_decref(j);

	/* Idempotent: a second setup changes nothing and the disk ids stay. */
	j = run_json(0, "demo", "setup", "--dir", dir, "--prefix", prefix, NULL);
	json_decref(j);
	j = run_json(0, "vm", "show", name, NULL);
	disks = json_object_get(j, "disks");
	for (size_t d = 0; d < 2; d++) {
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(disks, d), "disk_id")),
			first_ids[d]);
		free(first_ids[d]);
	}
	json_decref(j);
	assert_int_equal(count_rows("SELECT count(*) FROM vms WHERE substr(name, 1, length(?1) + 1) = ?1 || '-'"), 3);
	assert_int_equal(count_rows("SELECT count(*) FROM disks JOIN vms ON vms.id = disks.vm_id WHERE substr(vms.name, 1, length(?1) + 1) = ?1 || '-'"), 6);

	/* Teardown removes exactly that. */
	j = run_json(0, "demo", "teardown", "--prefix", prefix, NULL);
	json_decref(j);
	snprintf(pool, sizeof(pool), "snapdeck-%s", prefix);
	assert_false(virsh_ok("pool-info", pool));
	for (size_t v = 0; v < 3; v++) {
		snprintf(name, sizeof(name), "%s-%s", prefix, want[v].suffix);
		assert_false(virsh_ok("dominfo", name));
	}
	assert_int_not_equal(access(dir, F_OK), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM vms WHERE substr(name, 1, length(?1) + 1) = ?1 || '-'"), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM disks JOIN vms ON vms.id = disks.vm_id WHERE substr(vms.name, 1, length(?1) + 1) = ?1 || '-'"), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM snapshots JOIN vms ON vms.id = snapshots.vm_id WHERE substr(vms.name, 1, length(?1) + 1) = ?1 || '-'"), 0);
	assert_int_equal(count_rows("SELECT count(*) FROM images WHERE path LIKE '%/sdtest-demo-%'"), 0);
	list = run_json(0, "vm", "list", NULL);
	snprintf(name, sizeof(name), "%s-web", prefix);
	assert_null(find_vm(list, name));
	json_decref(list);
	/* teardown twice is fine too */
	j = run_json(0, "demo", "teardown", "--prefix", prefix, NULL);
	json_decref(j);
}

static void test_teardown_keeps_foreign_domain(void **state)
{
	/* A domain that has a demo name but whose disks are elsewhere is not
	 * ours: teardown keeps it. */
	char name[64], xml[1024], xmlpath[512], disk[512];
	json_t *j;

	snprintf(name, sizeof(name), "%s-web", prefix);
	snprintf(disk, sizeof(disk), "%s/foreign.qcow2", tmp);
	char *const create[] = { "qemu-img", "create", "-q", "-f", "qcow2", disk, "16M", NULL };
	assert_int_equal(sdtest_run(create, NULL, NULL), 0);
	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		 "<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>"
		 "<driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda' bus='virtio'/>"
		 "</disk></devices></domain>",
		 name, disk);
	snprintf(xmlpath, sizeof(xmlpath), "%s/foreign.xml", tmp);
	FILE *f = fopen(xmlpath, "w");
	assert_non_null(f);
	fputs(xml, f);
	fclose(f);
	char *const define[] = { "virsh", "-q", "-c", "qemu:///system", "define", xmlpath, NULL };
	assert_int_equal(sdtest_run(define, NULL, NULL), 0);
	j = run_json(0, "demo", "teardown", "--prefix", prefix, NULL);
	json_decref(j);
	assert_true(virsh_ok("dominfo", name));
	assert_int_equal(access(disk, F_OK), 0);
	char *const undef[] = { "virsh", "-q", "-c", "qemu:///system", "undefine", name, NULL };
	assert_int_equal(sdtest_run(undef, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_cycle),
		cmocka_unit_test(test_teardown_keeps_foreign_domain),
	};
	int rc;

	sdtest_require_libvirtd();
	tmp = sdtest_mkdtemp("demo");
	if (asprintf(&dir, "%s/pool", tmp) < 0 || asprintf(&catalog, "%s/catalog.db", tmp) < 0)
		abort();
	snprintf(prefix, sizeof(prefix), "sdt%d", (int)getpid());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* leave nothing behind even when a test failed half-way */
	char *argv[] = { getenv("SNAPDECK_BIN"), "-c", "qemu:///system", "--catalog", catalog,
			 "demo", "teardown", "--prefix", prefix, NULL };
	sdtest_run(argv, NULL, NULL);
	sdtest_rm_rf(tmp);
	return rc;
}
