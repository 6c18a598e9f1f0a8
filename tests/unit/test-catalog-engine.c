/* The snapshot engine's tables: catalog_vm_state, catalog_apply, the journal
 * and the locks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/priv.h"
#include "model/state.h"
#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/time.h"

/* ---- helpers ---- */

struct fixture {
	char *dir;
	struct catalog *cat;
	int64_t host_id;
	int64_t vm_id;	/* "web", disks disk-a (vda) and disk-b (vdb) */
	int64_t vm2_id; /* "db", disk disk-c (vda) */
};

static void run_script(struct catalog *cat, const char *sql, int64_t a, int64_t b, int64_t c);

static int setup(void **state)
{
	struct fixture *f = sd_calloc(1, sizeof(*f));
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *path = NULL;

	unsetenv("SNAPDECK_NOW");
	f->dir = sdtest_mkdtemp("catalog-engine");
	path = sd_asprintf("%s/catalog.db", f->dir);
	f->cat = catalog_open(path, &err);
	if (!f->cat)
		fail_msg("catalog_open: %s", err.msg);
	f->host_id = catalog_host_ensure(f->cat, "qemu:///system", &err);
	assert_true(f->host_id > 0);
	assert_int_equal(catalog_vm_register(f->cat, f->host_id,
					     "11111111-1111-4111-8111-111111111111", "web",
					     &f->vm_id, &err),
			 0);
	assert_int_equal(catalog_vm_register(f->cat, f->host_id,
					     "22222222-2222-4222-8222-222222222222", "db",
					     &f->vm2_id, &err),
			 0);
	run_script(f->cat,
		   "INSERT INTO disks (id, vm_id, target) VALUES ('disk-b', ?1, 'vdb');"
		   "INSERT INTO disks (id, vm_id, target) VALUES ('disk-a', ?1, 'vda');"
		   "INSERT INTO disks (id, vm_id, target) VALUES ('disk-c', ?2, 'vda');",
		   f->vm_id, f->vm2_id, 0);
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
	unsetenv("TZ");
	tzset();
	return 0;
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

/* The first column of the first row; ?1 bound to arg when given. */
static int64_t query_int(struct catalog *cat, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(cat->db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* As query_int, as a new string ("(null)" for NULL). */
static char *query_text(struct catalog *cat, const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	const char *s;
	char *v;

	if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(cat->db));
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = (const char *)sqlite3_column_text(st, 0);
	v = sd_strdup(s ? s : "(null)");
	sqlite3_finalize(st);
	return v;
}

#define assert_query_text(cat, sql, arg, expected)                                                 \
	do {                                                                                       \
		char *got_ = query_text((cat), (sql), (arg));                                      \
		assert_string_equal(got_, (expected));                                             \
		free(got_);                                                                        \
	} while (0)

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return j;
}

/* Applies changes (taking the reference) and expects success. */
static void apply_ok(struct fixture *f, int64_t vm_id, json_t *changes)
{
	struct sd_err err = SD_ERR_INIT;
	int rc = catalog_apply(f->cat, f->host_id, vm_id, changes, &err);

	json_decref(changes);
	if (rc != 0)
		fail_msg("catalog_apply: %s", err.msg);
}

/* Applies changes (taking the reference) and expects failure with code. */
static void apply_fails(struct fixture *f, int64_t vm_id, json_t *changes, enum sd_err_code code,
			struct sd_err *err)
{
	int rc = catalog_apply(f->cat, f->host_id, vm_id, changes, err);

	json_decref(changes);
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, code);
	assert_true(err->msg[0] != '\0');
}

static const struct model_snapshot *snap(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (strcmp(vm->snapshots[i].id, id) == 0)
			return &vm->snapshots[i];
	fail_msg("no snapshot %s", id);
	return NULL;
}

static const struct model_image *img(const struct model_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->nimages; i++)
		if (strcmp(vm->images[i].id, id) == 0)
			return &vm->images[i];
	return NULL;
}

/* ---- catalog_vm_state ---- */

/* Two roots (the older one first), a branch under "base" with two siblings
 * created at the same second (ordered by id), a subset snapshot, chains of
 * images, a policy, a preview whose kept-aside top is used by nothing else. */
static const char state_script[] =
    "INSERT INTO images (id, host_id, path, format, parent_id, pool, virtual_size, created)"
    " VALUES"
    " ('a-top', ?1, '/p/a-top.qcow2', 'qcow2', 'a2', 'default', 100, 'x'),"
    " ('a2', ?1, '/p/a2.qcow2', 'qcow2', 'a1', 'default', 100, 'x'),"
    " ('a1', ?1, '/p/a1.qcow2', 'qcow2', 'base-a', 'default', 100, 'x'),"
    " ('base-a', ?1, '/p/base-a.img', 'raw', NULL, NULL, NULL, 'x'),"
    " ('b-top', ?1, '/p/b-top.qcow2', 'qcow2', 'b1', 'default', 200, 'x'),"
    " ('b1', ?1, '/p/b1.qcow2', 'qcow2', 'base-b', 'default', 200, 'x'),"
    " ('base-b', ?1, '/p/base-b.qcow2', 'qcow2', NULL, 'default', 200, 'x'),"
    " ('old-top', ?1, '/p/old-top.qcow2', 'qcow2', 'a2', 'default', 100, 'x'),"
    " ('unused', ?1, '/p/unused.qcow2', 'qcow2', NULL, 'default', 1, 'x'),"
    " ('db-top', ?1, '/p/db-top.qcow2', 'qcow2', 'db-base', 'default', 1, 'x'),"
    " ('db-base', ?1, '/p/db-base.qcow2', 'qcow2', NULL, 'default', 1, 'x');"
    "UPDATE disks SET active_image_id = 'a-top' WHERE id = 'disk-a';"
    "UPDATE disks SET active_image_id = 'b-top' WHERE id = 'disk-b';"
    "UPDATE disks SET active_image_id = 'db-top' WHERE id = 'disk-c';"
    "INSERT INTO policies (id, vm_id, name, every, keep) VALUES (7, ?2, 'hourly', 'hourly', 3);"
    "INSERT INTO snapshots (id, vm_id, name, parent_id, created, description, domain_xml,"
    " memory_path, auto, imported, policy_id) VALUES"
    " ('s4', ?2, 'nightly', 's3', '2026-01-04T00:00:00Z', 'n', '<x4/>', NULL, 1, 0, 7),"
    " ('s2', ?2, 'before-upgrade', 's1', '2026-01-03T00:00:00Z', 'u', '<x2/>', '/m/s2', 0, 0,"
    "  NULL),"
    " ('s3', ?2, 'branch', 's1', '2026-01-02T00:00:00Z', '', '<x3/>', NULL, 0, 0, NULL),"
    " ('r0', ?2, 'twin', 's1', '2026-01-02T00:00:00Z', '', '<x0/>', NULL, 0, 0, NULL),"
    " ('s1', ?2, 'base', NULL, '2026-01-01T00:00:00Z', 'b', '<x1/>', NULL, 0, 0, NULL),"
    " ('s5', ?2, 'imported-root', NULL, '2025-12-31T00:00:00Z', '', '<x5/>', NULL, 0, 1,"
    "  NULL),"
    " ('d1', ?3, 'base', NULL, '2026-01-01T00:00:00Z', '', '<d/>', NULL, 0, 0, NULL);"
    "INSERT INTO snapshot_disks (snapshot_id, disk_id, target, image_id) VALUES"
    " ('s1', 'disk-b', 'vdb', 'base-b'), ('s1', 'disk-a', 'vda', 'base-a'),"
    " ('s2', 'disk-a', 'vda', 'a1'), ('s2', 'disk-b', 'vdb', 'b1'),"
    " ('s3', 'disk-a', 'vda', 'a1'),"
    " ('r0', 'disk-a', 'vda', 'a1'), ('r0', 'disk-b', 'vdb', 'b1'),"
    " ('s4', 'disk-a', 'vda', 'a2'), ('s4', 'disk-b', 'vdb', 'b1'),"
    " ('s5', 'disk-a', 'vda', 'base-a'),"
    " ('d1', 'disk-c', 'vda', 'db-base');"
    "UPDATE vms SET current_snapshot = 's4', snapshot_limit = 50 WHERE id = ?2;"
    "INSERT INTO previews (vm_id, config_snapshot, memory, disks, saved_xml, saved_tops,"
    " saved_current, created) VALUES (?2, 's2', 1, '{\"vda\":\"s2\"}', '<saved/>',"
    " '{\"disk-a\":\"old-top\",\"disk-b\":\"b-top\"}', 's4', '2026-01-05T00:00:00Z');";

static void test_state_tree(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = NULL;
	static const char *const order[] = {"s5", "s1", "s3", "s4", "r0", "s2"};
	static const char *const images[] = {"a-top", "a2", "a1",     "base-a",
					     "b-top", "b1", "base-b", "old-top"};
	const struct model_snapshot *s;
	const struct model_image *i;

	run_script(f->cat, state_script, f->host_id, f->vm_id, f->vm2_id);
	vm = catalog_vm_state(f->cat, f->vm_id, &err);
	if (!vm)
		fail_msg("catalog_vm_state: %s", err.msg);

	assert_int_equal(vm->id, f->vm_id);
	assert_int_equal(vm->host_id, f->host_id);
	assert_string_equal(vm->uuid, "11111111-1111-4111-8111-111111111111");
	assert_string_equal(vm->name, "web");
	assert_string_equal(vm->current_snapshot, "s4");
	assert_null(vm->drift_reason);
	assert_int_equal(vm->snapshot_limit, 50);

	assert_int_equal(vm->ndisks, 2);
	assert_string_equal(vm->disks[0].target, "vda");
	assert_string_equal(vm->disks[0].id, "disk-a");
	assert_string_equal(vm->disks[0].active_image_id, "a-top");
	assert_string_equal(vm->disks[1].target, "vdb");
	assert_string_equal(vm->disks[1].active_image_id, "b-top");

	/* Tree order: roots by time, depth first, siblings by time, then in the
	 * order they were recorded (s3 before r0). */
	assert_int_equal(vm->nsnapshots, SD_N_ELEMENTS(order));
	for (size_t k = 0; k < SD_N_ELEMENTS(order); k++)
		assert_string_equal(vm->snapshots[k].id, order[k]);

	s = snap(vm, "s1");
	assert_string_equal(s->name, "base");
	assert_null(s->parent_id);
	assert_string_equal(s->created, "2026-01-01T00:00:00Z");
	assert_string_equal(s->description, "b");
	assert_string_equal(s->domain_xml, "<x1/>");
	assert_null(s->memory_path);
	assert_int_equal(s->ndisks, 2);
	assert_string_equal(s->disks[0].target, "vda");
	assert_string_equal(s->disks[0].disk_id, "disk-a");
	assert_string_equal(s->disks[0].image_id, "base-a");
	assert_string_equal(s->disks[1].target, "vdb");
	assert_string_equal(s->disks[1].image_id, "base-b");
	assert_null(s->policy_name);
	assert_int_equal(s->policy_id, 0);

	s = snap(vm, "s3"); /* a subset: vda only */
	assert_string_equal(s->parent_id, "s1");
	assert_int_equal(s->ndisks, 1);
	assert_string_equal(s->disks[0].target, "vda");

	s = snap(vm, "s4");
	assert_true(s->is_auto);
	assert_false(s->imported);
	assert_int_equal(s->policy_id, 7);
	assert_string_equal(s->policy_name, "hourly");
	assert_string_equal(snap(vm, "s2")->memory_path, "/m/s2");
	assert_true(snap(vm, "s5")->imported);

	/* Every layer used, with whole chains; nothing of the other VM, nothing
	 * unused. */
	assert_int_equal(vm->nimages, SD_N_ELEMENTS(images));
	for (size_t k = 0; k < SD_N_ELEMENTS(images); k++)
		assert_non_null(img(vm, images[k]));
	assert_null(img(vm, "unused"));
	assert_null(img(vm, "db-top"));
	i = img(vm, "a-top");
	assert_string_equal(i->path, "/p/a-top.qcow2");
	assert_string_equal(i->format, "qcow2");
	assert_string_equal(i->pool, "default");
	assert_int_equal(i->virtual_size, 100);
	assert_int_equal(i->allocated, 0);
	/* the chain a-top -> a2 -> a1 -> base-a */
	assert_string_equal(i->parent_id, "a2");
	assert_string_equal(img(vm, "a2")->parent_id, "a1");
	assert_string_equal(img(vm, "a1")->parent_id, "base-a");
	i = img(vm, "base-a");
	assert_null(i->parent_id);
	assert_null(i->pool);
	assert_int_equal(i->virtual_size, 0);
	assert_string_equal(i->format, "raw");
	assert_string_equal(img(vm, "old-top")->parent_id, "a2");

	assert_non_null(vm->preview);
	assert_string_equal(vm->preview->config_snapshot, "s2");
	assert_true(vm->preview->memory);
	assert_string_equal(vm->preview->disks_json, "{\"vda\":\"s2\"}");
	assert_string_equal(vm->preview->saved_xml, "<saved/>");
	assert_string_equal(vm->preview->saved_tops,
			    "{\"disk-a\":\"old-top\",\"disk-b\":\"b-top\"}");
	assert_string_equal(vm->preview->saved_current, "s4");
	assert_string_equal(vm->preview->created, "2026-01-05T00:00:00Z");
	model_vm_free(SD_STEAL(vm));

	/* The other VM: its own snapshot named alike, its own chain, no preview. */
	vm = catalog_vm_state(f->cat, f->vm2_id, &err);
	assert_non_null(vm);
	assert_int_equal(vm->nsnapshots, 1);
	assert_string_equal(vm->snapshots[0].id, "d1");
	assert_int_equal(vm->nimages, 2);
	assert_non_null(img(vm, "db-top"));
	assert_non_null(img(vm, "db-base"));
	assert_null(vm->preview);
	assert_int_equal(vm->snapshot_limit, 0);
	assert_null(vm->current_snapshot);
}

static void test_state_inside_transaction(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = NULL;

	run_script(f->cat, state_script, f->host_id, f->vm_id, f->vm2_id);
	assert_int_equal(catalog_begin(f->cat, &err), 0);
	run_script(f->cat, "UPDATE vms SET drift_reason = 'gone' WHERE id = ?1", f->vm_id, 0, 0);
	vm = catalog_vm_state(f->cat, f->vm_id, &err);
	assert_non_null(vm);
	assert_string_equal(vm->drift_reason, "gone"); /* sees the caller's writes */
	catalog_rollback(f->cat);
	assert_true(sqlite3_get_autocommit(f->cat->db));
}

static void test_state_missing_vm(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;

	assert_null(catalog_vm_state(f->cat, 9999, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	/* the read transaction is over */
	assert_true(sqlite3_get_autocommit(f->cat->db));
}

static void test_state_empty_vm(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = catalog_vm_state(f->cat, f->vm_id, &err);

	assert_non_null(vm);
	assert_int_equal(vm->ndisks, 2);
	assert_null(vm->disks[0].active_image_id);
	assert_int_equal(vm->nsnapshots, 0);
	assert_int_equal(vm->nimages, 0);
	assert_null(vm->preview);
}

/* ---- a big tree, against a recursive walk written independently ---- */

#define BIG 1000

struct big {
	char id[16];
	char created[SD_ISO_LEN];
	int parent; /* -1: root */
};

static struct big big[BIG];
static int big_expected[BIG];
static int big_len;

static int big_cmp_time_order(int a, int b)
{
	int c = strcmp(big[a].created, big[b].created);

	return c ? c : a - b; /* recorded in index order */
}

static void big_walk(int parent)
{
	int kids[BIG];
	int n = 0;

	for (int i = 0; i < BIG; i++)
		if (big[i].parent == parent)
			kids[n++] = i;
	/* insertion sort by (created, order recorded) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && big_cmp_time_order(kids[j - 1], kids[j]) > 0; j--) {
			int t = kids[j];
			kids[j] = kids[j - 1];
			kids[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		big_expected[big_len++] = kids[i];
		big_walk(kids[i]);
	}
}

static void test_state_big_tree(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = NULL;
	sqlite3_stmt *ins = NULL, *disk = NULL;
	unsigned seed = 12345;
	int64_t t0;

	run_script(f->cat,
		   "INSERT INTO images (id, host_id, path, format, created)"
		   " VALUES ('img', ?1, '/p/img', 'qcow2', 'x')",
		   f->host_id, 0, 0);
	assert_int_equal(sqlite3_prepare_v2(f->cat->db,
					    "INSERT INTO snapshots (id, vm_id, name, parent_id,"
					    " created, domain_xml) VALUES (?1, ?2, ?1, ?3, ?4, '')",
					    -1, &ins, NULL),
			 SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(f->cat->db,
			       "INSERT INTO snapshot_disks (snapshot_id, disk_id, target, image_id)"
			       " VALUES (?1, 'disk-a', 'vda', 'img'), (?1, 'disk-b', 'vdb', 'img')",
			       -1, &disk, NULL),
	    SQLITE_OK);
	run_script(f->cat, "BEGIN", 0, 0, 0);
	for (int i = 0; i < BIG; i++) {
		time_t t;

		seed = seed * 1103515245u + 12345u;
		/* ids in no particular order; a handful of roots; times that
		 * collide and do not follow the tree (a child may look older). */
		snprintf(big[i].id, sizeof(big[i].id), "n%03u-%04d", (seed >> 8) % 1000u, i);
		big[i].parent =
		    i == 0 || (seed >> 4) % 50 == 0 ? -1 : (int)((seed >> 12) % (unsigned)i);
		t = 1767225600 + (time_t)((seed >> 16) % 200) * 60;
		sd_time_iso(t, big[i].created);
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, big[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, f->vm_id);
		if (big[i].parent < 0)
			sqlite3_bind_null(ins, 3);
		else
			sqlite3_bind_text(ins, 3, big[big[i].parent].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, big[i].created, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(disk);
		sqlite3_bind_text(disk, 1, big[i].id, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(disk), SQLITE_DONE);
	}
	run_script(f->cat, "COMMIT", 0, 0, 0);
	sqlite3_finalize(ins);
	sqlite3_finalize(disk);

	big_len = 0;
	big_walk(-1);
	assert_int_equal(big_len, BIG);

	t0 = sd_mono_ms();
	vm = catalog_vm_state(f->cat, f->vm_id, &err);
	if (!vm)
		fail_msg("catalog_vm_state: %s", err.msg);
	/* A few milliseconds; generous for sanitizers and slow machines. */
	assert_true(sd_mono_ms() - t0 < 3000);
	assert_int_equal(vm->nsnapshots, BIG);
	assert_int_equal(vm->nimages, 1);
	for (int k = 0; k < BIG; k++) {
		const struct big *b = &big[big_expected[k]];

		assert_string_equal(vm->snapshots[k].id, b->id);
		assert_int_equal(vm->snapshots[k].ndisks, 2);
		assert_string_equal(vm->snapshots[k].disks[0].target, "vda");
		assert_string_equal(vm->snapshots[k].disks[1].target, "vdb");
	}
}

/* ---- catalog_apply ---- */

static void test_apply_every_op(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = NULL;

	setenv("SNAPDECK_NOW", "2026-02-03T04:05:06Z", 1);
	apply_ok(
	    f, f->vm_id,
	    J("["
	      "{\"op\":\"image_add\",\"id\":\"base\",\"path\":\"/p/base.qcow2\","
	      " \"format\":\"qcow2\",\"parent_id\":null,\"pool\":\"default\","
	      " \"virtual_size\":10737418240},"
	      "{\"op\":\"image_add\",\"id\":\"top\",\"path\":\"/p/top.qcow2\",\"format\":\"qcow2\","
	      " \"parent_id\":\"base\",\"virtual_size\":10737418240},"
	      "{\"op\":\"image_add\",\"id\":\"spare\",\"path\":\"/p/spare.raw\",\"format\":\"raw\","
	      " \"virtual_size\":null},"
	      "{\"op\":\"disk_set_active\",\"disk_id\":\"disk-a\",\"image_id\":\"top\"},"
	      "{\"op\":\"snapshot_add\",\"id\":\"s1\",\"name\":\"first\",\"parent_id\":null,"
	      " \"created\":\"2026-02-03T04:00:00Z\",\"description\":\"d\","
	      " \"domain_xml\":\"<domain/>\",\"memory_path\":null,\"auto\":false,"
	      " \"imported\":false,\"policy_id\":null,"
	      " \"disks\":[{\"disk_id\":\"disk-a\",\"target\":\"vda\",\"image_id\":\"base\"}]},"
	      "{\"op\":\"vm_set_current\",\"snapshot_id\":\"s1\"},"
	      "{\"op\":\"vm_set_drift\",\"reason\":\"vda moved\"},"
	      "{\"op\":\"event\",\"vm\":\"web\",\"event_op\":\"snapshot\",\"level\":\"warning\","
	      " \"message\":\"made s1\"},"
	      "{\"op\":\"preview_set\",\"config_snapshot\":\"s1\",\"memory\":true,"
	      " \"disks\":\"{\\\"vda\\\":\\\"s1\\\"}\",\"saved_xml\":\"<saved/>\","
	      " \"saved_tops\":{\"disk-a\":\"top\"},\"saved_current\":null}"
	      "]"));

	assert_query_text(f->cat,
			  "SELECT host_id || ' ' || path || ' ' || format || ' ' ||"
			  " ifnull(parent_id, '-') || ' ' || pool || ' ' || virtual_size ||"
			  " ' ' || created FROM images WHERE id = ?1",
			  "base",
			  "1 /p/base.qcow2 qcow2 - default 10737418240 2026-02-03T04:05:06Z");
	assert_query_text(f->cat,
			  "SELECT parent_id || ' ' || ifnull(pool, 'NULL') FROM images"
			  " WHERE id = ?1",
			  "top", "base NULL");
	assert_int_equal(
	    query_int(f->cat, "SELECT virtual_size IS NULL FROM images WHERE id = ?1", "spare"), 1);
	assert_query_text(f->cat, "SELECT active_image_id FROM disks WHERE id = ?1", "disk-a",
			  "top");
	assert_query_text(f->cat,
			  "SELECT name || ' ' || created || ' ' || description || ' ' ||"
			  " domain_xml || ' ' || auto || imported ||"
			  " ifnull(policy_id, 'N') || ifnull(memory_path, 'N') ||"
			  " ifnull(parent_id, 'N') FROM snapshots WHERE id = ?1",
			  "s1", "first 2026-02-03T04:00:00Z d <domain/> 00NNN");
	assert_query_text(f->cat,
			  "SELECT group_concat(disk_id || ':' || target || ':' || image_id)"
			  " FROM snapshot_disks WHERE snapshot_id = ?1",
			  "s1", "disk-a:vda:base");
	assert_query_text(f->cat,
			  "SELECT current_snapshot || ' ' || drift_reason FROM vms"
			  " WHERE name = ?1",
			  "web", "s1 vda moved");
	assert_query_text(f->cat,
			  "SELECT time || ' ' || vm_name || ' ' || op || ' ' || level ||"
			  " ' ' || message FROM events WHERE message = ?1",
			  "made s1", "2026-02-03T04:05:06Z web snapshot warning made s1");
	assert_query_text(f->cat,
			  "SELECT config_snapshot || ' ' || memory || ' ' || disks || ' ' ||"
			  " saved_xml || ' ' || saved_tops || ' ' ||"
			  " ifnull(saved_current, 'N') || ' ' || created FROM previews",
			  NULL,
			  "s1 1 {\"vda\":\"s1\"} <saved/> {\"disk-a\":\"top\"} N "
			  "2026-02-03T04:05:06Z");

	/* the second round: updates, removals and the other ops */
	apply_ok(
	    f, f->vm_id,
	    J("["
	      "{\"op\":\"image_add\",\"id\":\"top\",\"path\":\"/p/top.qcow2\",\"format\":\"qcow2\","
	      " \"parent_id\":\"base\",\"pool\":\"fast\",\"virtual_size\":42},"
	      "{\"op\":\"image_add\",\"id\":\"top2\",\"path\":\"/p/top2.qcow2\","
	      " \"format\":\"qcow2\",\"parent_id\":\"top\",\"virtual_size\":42},"
	      "{\"op\":\"image_set_parent\",\"id\":\"top2\",\"parent_id\":\"base\"},"
	      "{\"op\":\"image_remove\",\"id\":\"spare\"},"
	      "{\"op\":\"image_remove\",\"id\":\"never-there\"},"
	      "{\"op\":\"snapshot_add\",\"id\":\"s2\",\"name\":\"second\",\"parent_id\":\"s1\","
	      " \"created\":\"2026-02-03T05:00:00Z\",\"description\":\"\","
	      " \"domain_xml\":\"<domain/>\",\"memory_path\":\"/m/s2.mem\",\"auto\":true,"
	      " \"imported\":true,\"policy_id\":null,"
	      " \"disks\":[{\"disk_id\":\"disk-a\",\"target\":\"vda\",\"image_id\":\"top\"},"
	      "          {\"disk_id\":\"disk-b\",\"target\":\"vdb\",\"image_id\":\"top2\"}]},"
	      "{\"op\":\"snapshot_disk_set_image\",\"snapshot_id\":\"s2\",\"disk_id\":\"disk-b\","
	      " \"image_id\":\"base\"},"
	      "{\"op\":\"snapshot_set_parent\",\"id\":\"s2\",\"parent_id\":null},"
	      "{\"op\":\"disk_set_active\",\"disk_id\":\"disk-a\",\"image_id\":\"top2\"},"
	      "{\"op\":\"disk_set_active\",\"disk_id\":\"disk-b\",\"image_id\":null},"
	      "{\"op\":\"snapshot_remove\",\"id\":\"s1\"},"
	      "{\"op\":\"preview_clear\"},"
	      "{\"op\":\"vm_set_current\",\"snapshot_id\":\"s2\"},"
	      "{\"op\":\"vm_set_drift\",\"reason\":null},"
	      "{\"op\":\"event\",\"event_op\":\"sync\",\"level\":\"info\",\"message\":\"no vm\"}"
	      "]"));
	assert_query_text(f->cat, "SELECT pool || ' ' || virtual_size FROM images WHERE id = ?1",
			  "top", "fast 42");
	assert_query_text(f->cat, "SELECT parent_id FROM images WHERE id = ?1", "top2", "base");
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images WHERE id = ?1", "spare"),
			 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM snapshots WHERE id = ?1", "s1"),
			 0);
	assert_int_equal(
	    query_int(f->cat, "SELECT count(*) FROM snapshot_disks WHERE snapshot_id = ?1", "s1"),
	    0);
	assert_query_text(f->cat,
			  "SELECT ifnull(parent_id, 'N') || auto || imported || memory_path"
			  " FROM snapshots WHERE id = ?1",
			  "s2", "N11/m/s2.mem");
	assert_query_text(f->cat,
			  "SELECT group_concat(target || ':' || image_id, ' ') FROM"
			  " (SELECT * FROM snapshot_disks WHERE snapshot_id = ?1"
			  "  ORDER BY target)",
			  "s2", "vda:top vdb:base");
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM previews", NULL), 0);
	assert_query_text(f->cat,
			  "SELECT current_snapshot || ifnull(drift_reason, 'N') FROM vms"
			  " WHERE name = ?1",
			  "web", "s2N");
	assert_query_text(f->cat,
			  "SELECT ifnull(vm_name, 'N') || ' ' || op FROM events"
			  " WHERE message = ?1",
			  "no vm", "N sync");
	assert_query_text(f->cat, "SELECT ifnull(active_image_id, 'N') FROM disks WHERE id = ?1",
			  "disk-b", "N");

	/* and catalog_vm_state sees it all */
	vm = catalog_vm_state(f->cat, f->vm_id, &err);
	assert_non_null(vm);
	assert_int_equal(vm->nsnapshots, 1);
	assert_int_equal(vm->nimages, 3); /* top2, top, base */
	assert_null(vm->preview);
}

static void test_apply_atomic(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	static const char add_x[] = "{\"op\":\"image_add\",\"id\":\"x\",\"path\":\"/p/x\","
				    "\"format\":\"qcow2\",\"virtual_size\":1}";
	static const char *const bad[] = {
	    "{\"op\":\"bogus\"}",
	    "{\"no_op\":1}",
	    "17",
	    "{\"op\":\"snapshot_add\",\"id\":\"s\",\"name\":\"n\",\"created\":\"t\","
	    " \"description\":\"\",\"auto\":false,\"imported\":false,\"disks\":[]}",
	    "{\"op\":\"snapshot_add\",\"id\":\"s\",\"name\":\"n\",\"created\":\"t\","
	    " \"description\":\"\",\"domain_xml\":\"\",\"auto\":0,\"imported\":false,\"disks\":[]}",
	    "{\"op\":\"snapshot_add\",\"id\":\"s\",\"name\":\"n\",\"created\":\"t\","
	    " \"description\":\"\",\"domain_xml\":\"\",\"auto\":false,\"imported\":false}",
	    "{\"op\":\"snapshot_add\",\"id\":\"s\",\"name\":\"n\",\"created\":\"t\","
	    " \"description\":\"\",\"domain_xml\":\"\",\"auto\":false,\"imported\":false,"
	    " \"disks\":[{\"disk_id\":\"disk-a\",\"target\":\"vda\"}]}",
	    "{\"op\":\"image_add\",\"id\":\"y\",\"path\":\"/p/y\",\"format\":\"qcow2\"}",
	    "{\"op\":\"image_add\",\"id\":\"y\",\"path\":\"/p/y\",\"format\":\"qcow2\","
	    " \"virtual_size\":\"big\"}",
	    "{\"op\":\"event\",\"event_op\":\"x\",\"level\":\"fatal\",\"message\":\"m\"}",
	    "{\"op\":\"event\",\"event_op\":\"x\",\"level\":\"info\"}",
	    "{\"op\":\"preview_set\",\"memory\":false,\"disks\":\"not json\",\"saved_xml\":\"\","
	    " \"saved_tops\":\"{}\"}",
	    "{\"op\":\"preview_set\",\"memory\":false,\"disks\":{},\"saved_xml\":\"\","
	    " \"saved_tops\":[]}",
	    "{\"op\":\"image_set_parent\",\"parent_id\":null}",
	    "{\"op\":\"vm_set_drift\",\"reason\":5}",
	};

	for (size_t i = 0; i < SD_N_ELEMENTS(bad); i++) {
		SD_AUTOFREE char *text = sd_asprintf("[%s, %s]", add_x, bad[i]);

		sd_err_clear(&err);
		apply_fails(f, f->vm_id, J(text), SD_ERR_INTERNAL, &err);
		assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images", NULL), 0);
		assert_true(sqlite3_get_autocommit(f->cat->db));
	}

	/* an update of a row that is not there, or not this VM's */
	static const char *const missing[] = {
	    "{\"op\":\"disk_set_active\",\"disk_id\":\"disk-c\",\"image_id\":\"x\"}",
	    "{\"op\":\"disk_set_active\",\"disk_id\":\"nope\",\"image_id\":null}",
	    "{\"op\":\"image_set_parent\",\"id\":\"nope\",\"parent_id\":null}",
	    "{\"op\":\"snapshot_set_parent\",\"id\":\"nope\",\"parent_id\":null}",
	    "{\"op\":\"snapshot_disk_set_image\",\"snapshot_id\":\"s\",\"disk_id\":\"disk-a\","
	    " \"image_id\":\"x\"}",
	    "{\"op\":\"snapshot_add\",\"id\":\"s\",\"name\":\"n\",\"created\":\"t\","
	    " \"description\":\"\",\"domain_xml\":\"\",\"auto\":false,\"imported\":false,"
	    " \"disks\":[{\"disk_id\":\"disk-c\",\"target\":\"vda\",\"image_id\":\"x\"}]}",
	};
	for (size_t i = 0; i < SD_N_ELEMENTS(missing); i++) {
		SD_AUTOFREE char *text = sd_asprintf("[%s, %s]", add_x, missing[i]);

		sd_err_clear(&err);
		apply_fails(f, f->vm_id, J(text), SD_ERR_NOT_FOUND, &err);
		assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images", NULL), 0);
		assert_int_equal(query_int(f->cat, "SELECT count(*) FROM snapshots", NULL), 0);
	}
	sd_err_clear(&err);
	apply_fails(f, 9999, J("[{\"op\":\"vm_set_drift\",\"reason\":\"r\"}]"), SD_ERR_NOT_FOUND,
		    &err);

	/* not a list */
	sd_err_clear(&err);
	apply_fails(f, f->vm_id, J("{\"op\":\"preview_clear\"}"), SD_ERR_INTERNAL, &err);

	/* a reference left dangling fails at the commit: still nothing applied */
	sd_err_clear(&err);
	apply_fails(
	    f, f->vm_id,
	    J("[{\"op\":\"image_add\",\"id\":\"x\",\"path\":\"/p/x\",\"format\":\"qcow2\","
	      "   \"virtual_size\":1},"
	      " {\"op\":\"disk_set_active\",\"disk_id\":\"disk-a\",\"image_id\":\"ghost\"}]"),
	    SD_ERR_CATALOG, &err);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images", NULL), 0);
	assert_true(sqlite3_get_autocommit(f->cat->db));

	/* inside the caller's transaction: only the savepoint is undone */
	assert_int_equal(catalog_begin(f->cat, &err), 0);
	assert_int_equal(catalog_event_add(f->cat, "web", "test", CATALOG_INFO, "kept", &err), 0);
	sd_err_clear(&err);
	apply_fails(f, f->vm_id,
		    J("[{\"op\":\"image_add\",\"id\":\"x\",\"path\":\"/p/x\","
		      "\"format\":\"qcow2\",\"virtual_size\":1},"
		      "{\"op\":\"bogus\"}]"),
		    SD_ERR_INTERNAL, &err);
	apply_ok(f, f->vm_id, J("[{\"op\":\"vm_set_drift\",\"reason\":\"in tx\"}]"));
	assert_int_equal(catalog_commit(f->cat, &err), 0);
	assert_int_equal(
	    query_int(f->cat, "SELECT count(*) FROM events WHERE message = ?1", "kept"), 1);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images", NULL), 0);
	assert_query_text(f->cat, "SELECT drift_reason FROM vms WHERE name = ?1", "web", "in tx");

	/* an empty list is fine */
	apply_ok(f, f->vm_id, J("[]"));
}

static void test_apply_duplicate_name(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	static const char fmt[] =
	    "[{\"op\":\"image_add\",\"id\":\"i-%s\",\"path\":\"/p/%s\",\"format\":\"qcow2\","
	    "  \"virtual_size\":1},"
	    " {\"op\":\"snapshot_add\",\"id\":\"%s\",\"name\":\"%s\",\"created\":\"t\","
	    "  \"description\":\"\",\"domain_xml\":\"\",\"auto\":false,\"imported\":false,"
	    "  \"disks\":[]}]";
	SD_AUTOFREE char *first = sd_asprintf(fmt, "1", "1", "s1", "nightly");
	SD_AUTOFREE char *second = sd_asprintf(fmt, "2", "2", "s2", "nightly");
	SD_AUTOFREE char *other_vm = sd_asprintf(fmt, "3", "3", "s3", "nightly");
	SD_AUTOFREE char *same_path = sd_asprintf(fmt, "4", "1", "s4", "other");

	apply_ok(f, f->vm_id, J(first));
	apply_fails(f, f->vm_id, J(second), SD_ERR_EXISTS, &err);
	assert_string_equal(err.msg, "a snapshot named 'nightly' exists already");
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM images WHERE id = ?1", "i-2"), 0);
	/* the same name on another VM is fine */
	apply_ok(f, f->vm2_id, J(other_vm));
	/* a path taken by another image of the host */
	sd_err_clear(&err);
	apply_fails(f, f->vm_id, J(same_path), SD_ERR_EXISTS, &err);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM snapshots", NULL), 2);
}

/* ---- hostile strings ---- */

static void test_hostile_strings(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(model_vm) *vm = NULL;
	static const char name[] = "x'); DROP TABLE snapshots; --";
	static const char desc[] = "%s%n%x \"quoted\" \\ back\nslash ümlaut 🐧";
	static const char path[] = "/p/it's a \"file\"; rm -rf /.qcow2";
	static const char message[] = "'); DELETE FROM events; -- %s";
	json_t *changes = json_pack(
	    "[{s:s, s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:b, s:b, s:[]},"
	    " {s:s, s:s, s:s, s:s, s:s}, {s:s, s:s}]",
	    "op", "image_add", "id", "i", "path", path, "format", "qcow2", "virtual_size", 1, "op",
	    "snapshot_add", "id", "s", "name", name, "parent_id", "created", "2026-01-01T00:00:00Z",
	    "description", desc, "domain_xml", "<a b=\"'\"/>", "auto", 0, "imported", 0, "disks",
	    "op", "event", "vm", name, "event_op", "snapshot", "level", "info", "message", message,
	    "op", "vm_set_drift", "reason", desc);

	assert_non_null(changes);
	apply_ok(f, f->vm_id, changes);
	vm = catalog_vm_state(f->cat, f->vm_id, &err);
	assert_non_null(vm);
	assert_int_equal(vm->nsnapshots, 1);
	assert_string_equal(vm->snapshots[0].name, name);
	assert_string_equal(vm->snapshots[0].description, desc);
	assert_string_equal(vm->snapshots[0].domain_xml, "<a b=\"'\"/>");
	assert_string_equal(vm->drift_reason, desc);
	assert_query_text(f->cat, "SELECT path FROM images WHERE id = ?1", "i", path);
	assert_query_text(f->cat, "SELECT message FROM events WHERE vm_name = ?1", name, message);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM snapshots", NULL), 1);

	/* and the same name again is refused, quoted literally */
	sd_err_clear(&err);
	changes = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:[]}]", "op",
			    "snapshot_add", "id", "s-2", "name", name, "created", "t",
			    "description", "", "domain_xml", "", "auto", 0, "imported", 0, "disks");
	apply_fails(f, f->vm_id, changes, SD_ERR_EXISTS, &err);
	assert_string_equal(err.msg, "a snapshot named 'x'); DROP TABLE snapshots; --' exists "
				     "already");
}

/* ---- the journal ---- */

static const struct catalog_owner owner_a = {"host-a", 100, 5000};
static const struct catalog_owner owner_b = {"host-b", 200, 6000};

static void test_journal(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_step steps[] = {
	    {0, "create_overlay", "{\"disk\":\"vda\"}", "{\"delete\":\"o\"}", false, NULL},
	    {0, "redefine", "{\"xml\":\"<d/>\"}", NULL, false, NULL},
	    {0, "delete_layer", "{\"image\":\"i\"}", NULL, true, NULL},
	};
	struct catalog_op *ops = NULL;
	size_t n = 0;
	int64_t op1 = 0, op2 = 0, op3 = 0;

	setenv("SNAPDECK_NOW", "2026-04-05T06:07:08Z", 1);
	assert_int_equal(catalog_op_begin(f->cat, f->vm_id, "web", "snapshot", "{\"plan\":1}",
					  steps, SD_N_ELEMENTS(steps), &owner_a, &op1, &err),
			 0);
	assert_true(op1 > 0);
	assert_int_equal(catalog_op_begin(f->cat, f->vm2_id, "db", "delete", "{}", steps, 1,
					  &owner_b, &op2, &err),
			 0);
	assert_true(op2 > op1);

	assert_int_equal(catalog_op_unfinished(f->cat, f->vm_id, &ops, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].id, op1);
	assert_int_equal(ops[0].vm_id, f->vm_id);
	assert_string_equal(ops[0].vm_name, "web");
	assert_string_equal(ops[0].op, "snapshot");
	assert_string_equal(ops[0].state, "running");
	assert_string_equal(ops[0].plan, "{\"plan\":1}");
	assert_string_equal(ops[0].started, "2026-04-05T06:07:08Z");
	assert_null(ops[0].ended);
	assert_null(ops[0].error);
	assert_string_equal(ops[0].owner.host, "host-a");
	assert_int_equal(ops[0].owner.pid, 100);
	assert_int_equal(ops[0].owner.start, 5000);
	assert_int_equal(ops[0].nsteps, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ops[0].steps[i].seq, (int)i + 1);
		assert_string_equal(ops[0].steps[i].kind, steps[i].kind);
		assert_string_equal(ops[0].steps[i].args, steps[i].args);
		assert_string_equal(ops[0].steps[i].state, "pending");
		assert_int_equal(ops[0].steps[i].destructive, steps[i].destructive);
	}
	assert_string_equal(ops[0].steps[0].undo, "{\"delete\":\"o\"}");
	assert_null(ops[0].steps[1].undo);
	catalog_ops_free(ops, n);

	/* steps move on */
	assert_int_equal(catalog_op_step_state(f->cat, op1, 1, "running", &err), 0);
	assert_int_equal(catalog_op_step_state(f->cat, op1, 1, "done", &err), 0);
	assert_int_equal(catalog_op_step_state(f->cat, op1, 2, "running", &err), 0);
	assert_int_equal(catalog_op_step_state(f->cat, op1, 9, "done", &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	assert_int_equal(catalog_op_step_state(f->cat, op1, 2, "finished", &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);

	/* every VM: both, oldest first, with their steps */
	assert_int_equal(catalog_op_unfinished(f->cat, -1, &ops, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ops[0].id, op1);
	assert_int_equal(ops[1].id, op2);
	assert_int_equal(ops[0].nsteps, 3);
	assert_string_equal(ops[0].steps[0].state, "done");
	assert_string_equal(ops[0].steps[1].state, "running");
	assert_string_equal(ops[0].steps[2].state, "pending");
	assert_int_equal(ops[1].nsteps, 1);
	assert_string_equal(ops[1].owner.host, "host-b");
	catalog_ops_free(ops, n);

	/* taken over by another process */
	assert_int_equal(catalog_op_set_owner(f->cat, op2, &owner_a, &err), 0);
	assert_int_equal(catalog_op_unfinished(f->cat, f->vm2_id, &ops, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ops[0].owner.host, "host-a");
	assert_int_equal(ops[0].owner.pid, 100);
	catalog_ops_free(ops, n);

	/* ends */
	setenv("SNAPDECK_NOW", "2026-04-05T06:09:00Z", 1);
	assert_int_equal(catalog_op_end(f->cat, op1, "done", NULL, &err), 0);
	assert_int_equal(catalog_op_end(f->cat, op2, "failed", "qemu-img: 'x' failed", &err), 0);
	assert_query_text(f->cat,
			  "SELECT state || ' ' || ended || ' ' || ifnull(error, 'N')"
			  " FROM operations WHERE op = ?1",
			  "snapshot", "done 2026-04-05T06:09:00Z N");
	assert_query_text(f->cat, "SELECT error FROM operations WHERE op = ?1", "delete",
			  "qemu-img: 'x' failed");
	assert_int_equal(catalog_op_unfinished(f->cat, -1, &ops, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(ops);
	assert_int_equal(catalog_op_end(f->cat, op1, "running", NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);
	assert_int_equal(catalog_op_end(f->cat, 9999, "done", NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);

	/* a planned operation counts as unfinished too; one without a VM */
	assert_int_equal(
	    catalog_op_begin(f->cat, -1, NULL, "policy-run", "{}", NULL, 0, &owner_b, &op3, &err),
	    0);
	run_script(f->cat, "UPDATE operations SET state = 'planned' WHERE id = ?1", op3, 0, 0);
	assert_int_equal(catalog_op_unfinished(f->cat, -1, &ops, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ops[0].id, op3);
	assert_int_equal(ops[0].vm_id, -1);
	assert_null(ops[0].vm_name);
	assert_int_equal(ops[0].nsteps, 0);
	assert_null(ops[0].steps);
	catalog_ops_free(ops, n);
	assert_int_equal(catalog_op_unfinished(f->cat, f->vm_id, &ops, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_journal_atomic(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	struct catalog_step steps[] = {
	    {1, "a", "{}", NULL, false, NULL}, {2, NULL, "{}", NULL, false, NULL}, /* no kind */
	};
	struct catalog_step dup[] = {
	    {1, "a", "{}", NULL, false, NULL},
	    {1, "b", "{}", NULL, false, NULL}, /* the same seq twice */
	};
	int64_t id = 0;

	assert_int_equal(
	    catalog_op_begin(f->cat, f->vm_id, "web", "x", "{}", steps, 2, &owner_a, &id, &err),
	    -1);
	assert_int_equal(err.code, SD_ERR_INTERNAL);
	sd_err_clear(&err);
	assert_int_equal(
	    catalog_op_begin(f->cat, f->vm_id, "web", "x", "{}", dup, 2, &owner_a, &id, &err), -1);
	assert_int_equal(err.code, SD_ERR_CATALOG);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM operations", NULL), 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM operation_steps", NULL), 0);

	/* inside the caller's transaction, rolled back with it */
	sd_err_clear(&err);
	assert_int_equal(catalog_begin(f->cat, &err), 0);
	assert_int_equal(
	    catalog_op_begin(f->cat, f->vm_id, "web", "x", "{}", steps, 1, &owner_a, &id, &err), 0);
	assert_int_equal(catalog_op_step_state(f->cat, id, 1, "done", &err), 0);
	catalog_rollback(f->cat);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM operations", NULL), 0);
}

/* ---- locks ---- */

static int alive_calls;
static int64_t alive_asked_pid;

static bool alive_yes(const struct catalog_owner *o)
{
	alive_calls++;
	alive_asked_pid = o->pid;
	return true;
}

static bool alive_no(const struct catalog_owner *o)
{
	alive_calls++;
	alive_asked_pid = o->pid;
	return false;
}

static void test_locks(void **state)
{
	struct fixture *f = *state;
	struct sd_err err = SD_ERR_INIT;
	const struct catalog_owner me = {"host-a", 100, 5000};
	const struct catalog_owner other = {"host-a", 200, 7000};
	const struct catalog_owner pid_reused = {"host-a", 100, 9999};
	const struct catalog_owner elsewhere = {"host-b", 100, 5000};
	bool taken_over = true;

	/* UTC+2 with no DST: 10:20:30Z shows as 12:20:30 */
	setenv("TZ", "XST-2", 1);
	tzset();
	setenv("SNAPDECK_NOW", "2026-03-04T10:20:30Z", 1);

	assert_int_equal(catalog_lock_take(f->cat, f->vm_id, "web", "snapshot", &me, alive_yes,
					   &taken_over, &err),
			 0);
	assert_false(taken_over);
	assert_int_equal(alive_calls, 0);
	assert_query_text(f->cat,
			  "SELECT op || ' ' || owner_host || ' ' || owner_pid || ' ' ||"
			  " owner_start || ' ' || since FROM locks WHERE vm_id ="
			  " (SELECT id FROM vms WHERE name = ?1)",
			  "web", "snapshot host-a 100 5000 2026-03-04T10:20:30Z");

	/* mine already: the op changes, the time stays */
	setenv("SNAPDECK_NOW", "2026-03-04T11:00:00Z", 1);
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm_id, "web", "delete", &me, alive_yes, &taken_over, &err),
	    0);
	assert_false(taken_over);
	assert_query_text(f->cat, "SELECT op || ' ' || since FROM locks", NULL,
			  "delete 2026-03-04T10:20:30Z");

	/* someone else, alive: busy */
	assert_int_equal(catalog_lock_take(f->cat, f->vm_id, "web", "clone", &other, alive_yes,
					   &taken_over, &err),
			 -1);
	assert_int_equal(err.code, SD_ERR_BUSY);
	assert_string_equal(err.msg, "VM web is busy: delete by pid 100 since 12:20:30");
	assert_int_equal(alive_calls, 1);
	assert_int_equal(alive_asked_pid, 100);
	assert_false(taken_over);
	assert_true(sqlite3_get_autocommit(f->cat->db));

	/* the same pid of another process (a reused pid) is someone else */
	sd_err_clear(&err);
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm_id, "we'b %s", "x", &pid_reused, alive_yes, NULL, &err),
	    -1);
	assert_string_equal(err.msg, "VM we'b %s is busy: delete by pid 100 since 12:20:30");
	/* no way to tell: alive */
	sd_err_clear(&err);
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm_id, "web", "x", &other, NULL, &taken_over, &err), -1);
	assert_int_equal(err.code, SD_ERR_BUSY);

	/* releasing a lock I do not hold does nothing: another pid, the same pid
	 * of another process, the same pid and start on another host */
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &other, &err), 0);
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &pid_reused, &err), 0);
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &elsewhere, &err), 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 1);

	/* the owner is gone: taken over */
	sd_err_clear(&err);
	assert_int_equal(catalog_lock_take(f->cat, f->vm_id, "web", "clone", &other, alive_no,
					   &taken_over, &err),
			 0);
	assert_true(taken_over);
	assert_int_equal(alive_asked_pid, 100);
	assert_query_text(f->cat,
			  "SELECT op || ' ' || owner_pid || ' ' || owner_start || ' ' ||"
			  " since FROM locks",
			  NULL, "clone 200 7000 2026-03-04T11:00:00Z");
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 1);

	/* the old owner's release leaves the new owner's lock alone */
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &me, &err), 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 1);
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &other, &err), 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 0);

	/* a lock per VM */
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm_id, "web", "a", &me, alive_yes, NULL, &err), 0);
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm2_id, "db", "b", &other, alive_yes, NULL, &err), 0);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 2);

	/* no such VM */
	assert_int_equal(catalog_lock_take(f->cat, 9999, "ghost", "a", &me, alive_yes, NULL, &err),
			 -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);

	/* inside the caller's transaction: a savepoint, gone with a rollback */
	assert_int_equal(catalog_lock_release(f->cat, f->vm_id, &me, &err), 0);
	assert_int_equal(catalog_begin(f->cat, &err), 0);
	assert_int_equal(
	    catalog_lock_take(f->cat, f->vm_id, "web", "a", &me, alive_yes, NULL, &err), 0);
	catalog_rollback(f->cat);
	assert_int_equal(query_int(f->cat, "SELECT count(*) FROM locks", NULL), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_state_tree),	    T(test_state_inside_transaction), T(test_state_missing_vm),
	    T(test_state_empty_vm), T(test_state_big_tree),	      T(test_apply_every_op),
	    T(test_apply_atomic),   T(test_apply_duplicate_name),     T(test_hostile_strings),
	    T(test_journal),	    T(test_journal_atomic),	      T(test_locks),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
