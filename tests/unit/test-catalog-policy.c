/* Policies and per-VM snapshot limits in the catalog (src/catalog/policy.c):
 * add and change, list by host and VM with the count of their snapshots,
 * last run, delete (their snapshots stay, unmarked), limits as the model
 * reads them, and the cascade when a VM goes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/priv.h"
#include "model/state.h"
#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/err.h"
#include "util/mem.h"

struct fixture {
	char *dir;
	struct catalog *cat;
	int64_t h1, h2, web, db, other;
};

static int setup(void **state)
{
	struct fixture *f = sd_calloc(1, sizeof(*f));
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *path = NULL;

	setenv("SNAPDECK_NOW", "2026-11-22T10:00:00Z", 1);
	f->dir = sdtest_mkdtemp("catalog-policy");
	path = sd_asprintf("%s/catalog.db", f->dir);
	f->cat = catalog_open(path, &err);
	if (!f->cat)
		fail_msg("%s", err.msg);
	f->h1 = catalog_host_ensure(f->cat, "qemu:///system", &err);
	f->h2 = catalog_host_ensure(f->cat, "qemu+ssh://b/system", &err);
	assert_int_equal(catalog_vm_register(f->cat, f->h1, "uuid-web", "web", &f->web, &err), 0);
	assert_int_equal(catalog_vm_register(f->cat, f->h1, "uuid-db", "db", &f->db, &err), 0);
	assert_int_equal(catalog_vm_register(f->cat, f->h2, "uuid-o", "web", &f->other, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	catalog_close(f->cat);
	sdtest_rm_rf(f->dir);
	free(f->dir);
	free(f);
	unsetenv("SNAPDECK_NOW");
	return 0;
}

static int64_t set(struct fixture *f, int64_t vm, const char *name, const char *every,
		   const char *at, int64_t keep, const char *disks, bool *created)
{
	struct catalog_policy p = {.name = (char *)name,
				   .every = (char *)every,
				   .at = (char *)at,
				   .keep = keep,
				   .disks = (char *)disks,
				   .last_run = "2026-11-22T09:30:00Z"};
	struct sd_err err = SD_ERR_INIT;
	int64_t id = 0;

	if (catalog_policy_set(f->cat, vm, &p, created, &id, &err) < 0)
		fail_msg("catalog_policy_set %s: %s", name, err.msg);
	assert_true(id > 0);
	return id;
}

/* A bare snapshot row made by policy (0: manual). */
static void add_snapshot(struct fixture *f, int64_t vm, const char *id, int64_t policy)
{
	static const char sql[] = "INSERT INTO snapshots (id, vm_id, name, created, domain_xml,"
				  " policy_id) VALUES (?1, ?2, ?1, '2026-11-22T10:00:00Z', '<d/>',"
				  " NULLIF(?3, 0))";
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(f->cat->db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, vm);
	sqlite3_bind_int64(st, 3, policy);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static long long count(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(f->cat->db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_set_and_list(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_policy *v = NULL;
	size_t n = 0;
	bool created = false;
	int64_t hourly, daily, again;

	hourly = set(f, f->web, "hourly", "hourly", "05", 24, NULL, &created);
	assert_true(created);
	daily = set(f, f->web, "daily", "daily", "02:00", 7, "vda,vdb", &created);
	assert_true(created);
	set(f, f->db, "hourly", "hourly", "00", 3, NULL, &created); /* same name, other VM */
	assert_true(created);
	set(f, f->other, "x", "weekly", "mon 00:00", 1, NULL, NULL); /* other host */
	add_snapshot(f, f->web, "m1", 0);
	add_snapshot(f, f->web, "h1", hourly);
	add_snapshot(f, f->web, "h2", hourly);
	add_snapshot(f, f->web, "d1", daily);

	assert_int_equal(catalog_policy_list(f->cat, f->h1, 0, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	/* by VM name, then policy name */
	assert_string_equal(v[0].vm_name, "db");
	assert_string_equal(v[1].vm_name, "web");
	assert_string_equal(v[1].name, "daily");
	assert_string_equal(v[2].name, "hourly");
	assert_int_equal(v[2].id, hourly);
	assert_int_equal(v[2].vm_id, f->web);
	assert_string_equal(v[2].vm_uuid, "uuid-web");
	assert_string_equal(v[2].every, "hourly");
	assert_string_equal(v[2].at, "05");
	assert_int_equal(v[2].keep, 24);
	assert_null(v[2].disks);
	assert_false(v[2].memory);
	assert_string_equal(v[2].last_run, "2026-11-22T09:30:00Z");
	assert_int_equal(v[2].snapshots, 2);
	assert_int_equal(v[1].snapshots, 1);
	assert_string_equal(v[1].disks, "vda,vdb");
	assert_int_equal(v[0].snapshots, 0);
	assert_int_equal(v[2].vm_limit, 0);
	catalog_policies_free(v, n);

	/* one VM */
	assert_int_equal(catalog_policy_list(f->cat, f->h1, f->db, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].vm_name, "db");
	catalog_policies_free(v, n);
	/* the other host sees only its own */
	assert_int_equal(catalog_policy_list(f->cat, f->h2, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "x");
	catalog_policies_free(v, n);

	/* changing keeps the id and the last run */
	assert_int_equal(catalog_policy_set_last_run(f->cat, hourly, "2026-11-22T11:05:00Z", &err),
			 0);
	{
		struct catalog_policy p = {.name = "hourly",
					   .every = "daily",
					   .at = "03:00",
					   .keep = 2,
					   .memory = true,
					   .last_run = "2000-01-01T00:00:00Z"};
		assert_int_equal(catalog_policy_set(f->cat, f->web, &p, &created, &again, &err), 0);
	}
	assert_false(created);
	assert_int_equal(again, hourly);
	assert_int_equal(catalog_policy_list(f->cat, f->h1, f->web, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].every, "daily");
	assert_string_equal(v[1].at, "03:00");
	assert_int_equal(v[1].keep, 2);
	assert_true(v[1].memory);
	assert_string_equal(v[1].last_run, "2026-11-22T11:05:00Z");
	catalog_policies_free(v, n);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_policy p = {.name = "p", .every = "hourly", .keep = 0};

	/* the schema's checks hold */
	assert_int_equal(catalog_policy_set(f->cat, f->web, &p, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	sd_err_clear(&err);
	p.keep = 1;
	p.every = "yearly";
	assert_int_equal(catalog_policy_set(f->cat, f->web, &p, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	assert_int_equal(count(f, "SELECT count(*) FROM policies"), 0);
	/* hostile names are data */
	set(f, f->web, "x'); DROP TABLE policies; --", "hourly", NULL, 1, NULL, NULL);
	assert_int_equal(count(f, "SELECT count(*) FROM policies WHERE name LIKE 'x''%'"), 1);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	size_t removed = 99;
	int64_t hourly = set(f, f->web, "hourly", "hourly", "00", 3, NULL, NULL);

	set(f, f->web, "daily", "daily", "00:00", 3, NULL, NULL);
	set(f, f->web, "weekly", "weekly", "mon 00:00", 3, NULL, NULL);
	set(f, f->db, "daily", "daily", "00:00", 3, NULL, NULL);
	add_snapshot(f, f->web, "h1", hourly);

	assert_int_equal(catalog_policy_delete(f->cat, f->web, "hourly", &removed, &err), 0);
	assert_int_equal(removed, 1);
	/* its snapshot stays, no longer marked */
	assert_int_equal(count(f, "SELECT count(*) FROM snapshots WHERE id = 'h1'"
				  " AND policy_id IS NULL"),
			 1);
	assert_int_equal(catalog_policy_delete(f->cat, f->web, "hourly", &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(catalog_policy_delete(f->cat, f->web, NULL, &removed, &err), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(count(f, "SELECT count(*) FROM policies"), 1); /* db's */
	/* a VM that goes takes its policies */
	assert_int_equal(catalog_vm_delete(f->cat, f->h1, "uuid-db", &err), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM policies"), 0);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	struct model_vm *vm;
	struct catalog_policy *v = NULL;
	size_t n = 0;

	vm = catalog_vm_state(f->cat, f->web, &err);
	assert_non_null(vm);
	assert_int_equal(vm->snapshot_limit, 0);
	model_vm_free(vm);

	assert_int_equal(catalog_vm_set_limit(f->cat, f->web, 5, &err), 0);
	vm = catalog_vm_state(f->cat, f->web, &err);
	assert_int_equal(vm->snapshot_limit, 5);
	model_vm_free(vm);
	set(f, f->web, "hourly", "hourly", "00", 3, NULL, NULL);
	assert_int_equal(catalog_policy_list(f->cat, f->h1, f->web, &v, &n, &err), 0);
	assert_int_equal(v[0].vm_limit, 5);
	catalog_policies_free(v, n);

	assert_int_equal(catalog_vm_set_limit(f->cat, f->web, -7, &err), 0); /* none */
	vm = catalog_vm_state(f->cat, f->web, &err);
	assert_int_equal(vm->snapshot_limit, -1);
	model_vm_free(vm);

	assert_int_equal(catalog_vm_set_limit(f->cat, f->web, 0, &err), 0); /* the default */
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE uuid = 'uuid-web'"
				  " AND snapshot_limit IS NULL"),
			 1);
	/* the other VMs keep theirs */
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE snapshot_limit IS NOT NULL"), 0);

	assert_int_equal(catalog_vm_set_limit(f->cat, 12345, 3, &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_set_and_list),
	    T(test_refusals),
	    T(test_delete),
	    T(test_limits),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
