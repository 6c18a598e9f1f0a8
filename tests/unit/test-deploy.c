/* Linked deploys and templates (model/plan-deploy.c), root-only clones, and
 * how the delete planner treats layers of other VMs (linked clones) that
 * rest on a VM's layers (model/plan-delete.c). */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/plan.h"
#include "tests/lib/sdtest.h"
#include "util/mem.h"
#include "util/str.h"

static void seq_id(char out[37], void *opaque)
{
	int *n = opaque;

	snprintf(out, 37, "%08x-0000-4000-8000-%012x", 0xdef000 + *n, *n);
	(*n)++;
}

struct img {
	const char *id, *parent;
	uint64_t allocated;
	bool foreign;
};

/* web with one disk vda (active: active) and snapshots name=image pairs in
 * order, each the child of the one before. */
static struct model_vm *make_vm(const struct img *imgs, const char *active,
				const char *const *snaps /* "S=a0", ... NULL */)
{
	struct model_vm *vm = sd_calloc(1, sizeof(*vm));
	size_t n = 0, ns = 0;

	vm->id = 7;
	vm->uuid = sd_strdup("11111111-2222-4333-8444-555555555555");
	vm->name = sd_strdup("web");
	vm->ndisks = 1;
	vm->disks = sd_calloc(1, sizeof(*vm->disks));
	vm->disks[0].id = sd_strdup("disk-a");
	vm->disks[0].target = sd_strdup("vda");
	vm->disks[0].active_image_id = sd_strdup(active);
	while (imgs[n].id)
		n++;
	vm->nimages = n;
	vm->images = sd_calloc(n, sizeof(*vm->images));
	for (size_t i = 0; i < n; i++) {
		vm->images[i].id = sd_strdup(imgs[i].id);
		vm->images[i].path = sd_asprintf("/p/%s.qcow2", imgs[i].id);
		vm->images[i].format = sd_strdup("qcow2");
		vm->images[i].parent_id = imgs[i].parent ? sd_strdup(imgs[i].parent) : NULL;
		vm->images[i].pool = sd_strdup("p");
		vm->images[i].virtual_size = 1 << 20;
		vm->images[i].allocated = imgs[i].allocated;
		vm->images[i].foreign = imgs[i].foreign;
	}
	while (snaps && snaps[ns])
		ns++;
	vm->nsnapshots = ns;
	vm->snapshots = sd_calloc(ns + 1, sizeof(*vm->snapshots));
	for (size_t i = 0; i < ns; i++) {
		struct model_snapshot *s = &vm->snapshots[i];
		const char *eq = strchr(snaps[i], '=');
		s->name = sd_strndup(snaps[i], (size_t)(eq - snaps[i]));
		s->id = sd_asprintf("id-%s", s->name);
		s->parent_id = i ? sd_strdup(vm->snapshots[i - 1].id) : NULL;
		s->created = sd_strdup("2026-01-01T00:00:00Z");
		s->description = sd_strdup("");
		s->domain_xml = sd_strdup("<domain><name>web</name></domain>");
		s->ndisks = 1;
		s->disks = sd_calloc(1, sizeof(*s->disks));
		s->disks[0].disk_id = sd_strdup("disk-a");
		s->disks[0].target = sd_strdup("vda");
		s->disks[0].image_id = sd_strdup(eq + 1);
	}
	return vm;
}

static const char *step_kind(const json_t *plan, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(plan, "steps"), i), "kind"));
}

static const json_t *step_args(const json_t *plan, size_t i)
{
	return json_object_get(json_array_get(json_object_get(plan, "steps"), i), "args");
}

/* Does the plan touch path with a data step (commit, rebase, delete)? */
static bool touches(const json_t *plan, const char *path)
{
	for (size_t i = 0; i < plan_nsteps(plan); i++) {
		const json_t *a = step_args(plan, i);
		const char *k = step_kind(plan, i);
		if (strcmp(k, "catalog") == 0 || strcmp(k, "define_domain") == 0)
			continue;
		if (sd_str_eq(json_string_value(json_object_get(a, "top")), path) ||
		    sd_str_eq(json_string_value(json_object_get(a, "path")), path) ||
		    sd_str_eq(json_string_value(json_object_get(a, "backing")), path))
			return true;
	}
	return false;
}

static bool kept(const json_t *plan, const char *path)
{
	const json_t *k = json_object_get(json_object_get(plan, "summary"), "kept_internal"), *v;
	size_t i;

	json_array_foreach(k, i, v) if (strcmp(json_string_value(v), path) == 0) return true;
	return false;
}

static json_t *delete_plan(struct model_vm *vm, const char *snap)
{
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", "<domain/>", "web", vm->uuid, seq_id, &n, false};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_delete(vm, &env, snap, &err);

	if (!plan)
		fail_msg("plan_delete: %s", err.msg);
	return plan;
}

/* S's layer a0 has one child of the VM (a1, small: it would be committed
 * down) and a linked clone's layer f1: a0 stays, nothing is rewritten. */
static void test_delete_keeps_layer_with_foreign_child(void **state)
{
	const struct img imgs[] = {{"a0", NULL, 1000, false},
				   {"a1", "a0", 10, false},
				   {"f1", "a0", 5, true},
				   {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", NULL};
	struct model_vm *vm = make_vm(imgs, "a1", snaps);
	json_t *plan = delete_plan(vm, "S");

	(void)state;
	assert_true(kept(plan, "/p/a0.qcow2"));
	assert_false(touches(plan, "/p/a0.qcow2"));
	assert_false(touches(plan, "/p/a1.qcow2"));
	assert_false(touches(plan, "/p/f1.qcow2"));
	json_decref(plan);
	model_vm_free(vm);
}

/* The linked clone is the only layer left on a0: it is never merged into
 * nor re-pointed (it is another VM's): a0 stays. */
static void test_delete_only_child_foreign(void **state)
{
	const struct img imgs[] = {{"a0", NULL, 1000, false},
				   {"b1", NULL, 10, false},
				   {"f1", "a0", 5, true},
				   {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", NULL};
	struct model_vm *vm = make_vm(imgs, "b1", snaps);
	json_t *plan = delete_plan(vm, "S");

	(void)state;
	assert_true(kept(plan, "/p/a0.qcow2"));
	assert_false(touches(plan, "/p/a0.qcow2"));
	assert_false(touches(plan, "/p/f1.qcow2"));
	json_decref(plan);
	model_vm_free(vm);
}

/* S's layer a0 has one child a1 (T's layer), and a linked clone rests on
 * a1: committing a1 into a0 (and re-pointing the clone) is not done; a0
 * stays, a1 untouched. */
static void test_delete_child_with_foreign_grandchild(void **state)
{
	const struct img imgs[] = {{"a0", NULL, 1000, false},
				   {"a1", "a0", 10, false},
				   {"a2", "a1", 1, false},
				   {"f1", "a1", 5, true},
				   {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", "T=a1", NULL};
	struct model_vm *vm = make_vm(imgs, "a2", snaps);
	json_t *plan = delete_plan(vm, "S");

	(void)state;
	assert_true(kept(plan, "/p/a0.qcow2"));
	assert_false(touches(plan, "/p/a1.qcow2"));
	assert_false(touches(plan, "/p/f1.qcow2"));
	json_decref(plan);
	model_vm_free(vm);
}

/* Without a linked clone the same layout merges as before (the rule only
 * applies to foreign layers). */
static void test_delete_without_foreign_merges(void **state)
{
	const struct img imgs[] = {{"a0", NULL, 1000, false},
				   {"a1", "a0", 10, false},
				   {"a2", "a1", 1, false},
				   {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", "T=a1", NULL};
	struct model_vm *vm = make_vm(imgs, "a2", snaps);
	json_t *plan = delete_plan(vm, "S");

	(void)state;
	assert_false(kept(plan, "/p/a0.qcow2"));
	assert_true(touches(plan, "/p/a1.qcow2"));
	json_decref(plan);
	model_vm_free(vm);
}

/* A linked deploy on a template: one create_overlay per disk on the
 * template's image, the domain, then the catalog with the parent. */
static void test_deploy_linked_plan(void **state)
{
	const struct img imgs[] = {{"a0", NULL, 0, false}, {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", NULL};
	struct model_vm *vm = make_vm(imgs, "a0", snaps);
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_linked_disk d[] = {
	    {"vda", "tpl-img", "/t/tpl.qcow2", "qcow2", "tp", "/t", 1 << 30}};
	char *taken[] = {"web", NULL};
	char *xml_targets[] = {"vda", "vdb", NULL};
	struct plan_deploy_req req = {"S", "new1", taken,     xml_targets, NULL, 1,
				      d,   1,	   "default", "tpl-id",	   "T1"};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_deploy_linked(vm, &env, &req, &err), *sum, *rd;

	(void)state;
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 3);
	assert_string_equal(step_kind(plan, 0), "create_overlay");
	assert_string_equal(step_kind(plan, 1), "define_new_domain");
	assert_string_equal(step_kind(plan, 2), "register_vm");
	assert_int_equal(json_integer_value(json_object_get(plan, "pnr")), 3);
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "backing")),
			    "/t/tpl.qcow2");
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "pool")), "tp");
	assert_true(sd_str_has_prefix(
	    json_string_value(json_object_get(step_args(plan, 0), "path")), "/t/"));
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 1), "network")),
			    "default");
	assert_int_equal(json_array_size(json_object_get(step_args(plan, 1), "only")), 1);
	rd = json_array_get(json_object_get(step_args(plan, 2), "disks"), 0);
	assert_string_equal(json_string_value(json_object_get(rd, "parent_id")), "tpl-img");
	sum = json_object_get(json_object_get(plan, "summary"), "deploy");
	assert_string_equal(json_string_value(json_object_get(sum, "mode")), "linked");
	assert_string_equal(json_string_value(json_array_get(json_object_get(sum, "removed"), 0)),
			    "vdb");
	json_decref(plan);

	/* a name in use is refused */
	req.name = "web";
	assert_null(plan_deploy_linked(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_EXISTS);
	model_vm_free(vm);
}

/* Seeding: one flattened copy per disk, then the template's record. */
static void test_template_seed_plan(void **state)
{
	const struct img imgs[] = {
	    {"a0", NULL, 0, false}, {"a1", "a0", 0, false}, {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a1", NULL};
	struct model_vm *vm = make_vm(imgs, "a1", snaps);
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_copy_target t[] = {{"vda", "tp", "/t", "qcow2", 123, false}};
	struct plan_seed_req req = {"S", "T1", "tp", t, 1};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_template_seed(vm, &env, &req, &err);
	const json_t *a;

	(void)state;
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 2);
	assert_string_equal(step_kind(plan, 0), "copy_disk");
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "src")),
			    "/p/a1.qcow2");
	assert_string_equal(step_kind(plan, 1), "register_template");
	assert_int_equal(json_integer_value(json_object_get(plan, "pnr")), 2);
	a = step_args(plan, 1);
	assert_string_equal(json_string_value(json_object_get(a, "snapshot_id")), "id-S");
	assert_string_equal(json_string_value(json_object_get(a, "pool")), "tp");
	assert_int_equal(json_array_size(json_object_get(a, "disks")), 1);
	json_decref(plan);
	model_vm_free(vm);
}

/* --root-only: a clone with one copy target of a two-disk snapshot. */
static void test_clone_root_only(void **state)
{
	const struct img imgs[] = {
	    {"a0", NULL, 0, false}, {"b0", NULL, 0, false}, {NULL, NULL, 0, false}};
	const char *snaps[] = {"S=a0", NULL};
	struct model_vm *vm = make_vm(imgs, "a0", snaps);
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_copy_target t[] = {{"vda", "p", "/p", "qcow2", 100, false}};
	char *xml_targets[] = {"vda", "vdb", NULL};
	struct plan_clone_req req = {0};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan;

	(void)state;
	/* S gets a second disk vdb */
	vm->snapshots[0].disks =
	    sd_realloc(vm->snapshots[0].disks, 2 * sizeof(*vm->snapshots[0].disks));
	vm->snapshots[0].ndisks = 2;
	vm->snapshots[0].disks[1].disk_id = sd_strdup("disk-b");
	vm->snapshots[0].disks[1].target = sd_strdup("vdb");
	vm->snapshots[0].disks[1].image_id = sd_strdup("b0");
	req.snapshot = "S";
	req.name = "r1";
	req.xml_targets = xml_targets;
	req.disks = t;
	req.ndisks = 1;
	assert_null(plan_clone(vm, &env, &req, &err)); /* vdb has no target */
	sd_err_clear(&err);
	req.root_only = true;
	plan = plan_clone(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 3);
	assert_string_equal(step_kind(plan, 0), "copy_disk");
	assert_int_equal(json_array_size(json_object_get(step_args(plan, 1), "only")), 1);
	json_decref(plan);
	model_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delete_keeps_layer_with_foreign_child),
	    cmocka_unit_test(test_delete_only_child_foreign),
	    cmocka_unit_test(test_delete_child_with_foreign_grandchild),
	    cmocka_unit_test(test_delete_without_foreign_merges),
	    cmocka_unit_test(test_deploy_linked_plan),
	    cmocka_unit_test(test_template_seed_plan),
	    cmocka_unit_test(test_clone_root_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
