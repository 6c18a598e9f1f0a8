/* The pure clone and volume-from-snapshot planners (model/plan-clone.c). */
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

	snprintf(out, 37, "%08x-0000-4000-8000-%012x", 0xabc000 + *n, *n);
	(*n)++;
}

/* web: vda, vdb; images base-a (vda), base-b (vdb), top-a over base-a;
 * snapshot S holds vda=base-a, vdb=base-b; snapshot N holds vda only. */
static struct model_vm *make_vm(void)
{
	struct model_vm *vm = sd_calloc(1, sizeof(*vm));
	static const char *const ids[] = {"img-a", "img-b", "img-top"};
	static const char *const paths[] = {"/p/a.qcow2", "/p/b.qcow2", "/p/top.qcow2"};

	vm->id = 7;
	vm->uuid = sd_strdup("11111111-2222-4333-8444-555555555555");
	vm->name = sd_strdup("web");
	vm->ndisks = 2;
	vm->disks = sd_calloc(2, sizeof(*vm->disks));
	vm->disks[0].id = sd_strdup("disk-a");
	vm->disks[0].target = sd_strdup("vda");
	vm->disks[0].active_image_id = sd_strdup("img-top");
	vm->disks[1].id = sd_strdup("disk-b");
	vm->disks[1].target = sd_strdup("vdb");
	vm->disks[1].active_image_id = sd_strdup("img-b");
	vm->nimages = 3;
	vm->images = sd_calloc(3, sizeof(*vm->images));
	for (size_t i = 0; i < 3; i++) {
		vm->images[i].id = sd_strdup(ids[i]);
		vm->images[i].path = sd_strdup(paths[i]);
		vm->images[i].format = sd_strdup("qcow2");
		vm->images[i].virtual_size = 1 << 20;
		vm->images[i].pool = sd_strdup("p");
	}
	vm->images[2].parent_id = sd_strdup("img-a");
	vm->nsnapshots = 2;
	vm->snapshots = sd_calloc(2, sizeof(*vm->snapshots));
	vm->snapshots[0].id = sd_strdup("snap-s");
	vm->snapshots[0].name = sd_strdup("S");
	vm->snapshots[0].created = sd_strdup("2026-01-01T00:00:00Z");
	vm->snapshots[0].description = sd_strdup("");
	vm->snapshots[0].domain_xml = sd_strdup("<domain><name>web</name></domain>");
	vm->snapshots[0].ndisks = 2;
	vm->snapshots[0].disks = sd_calloc(2, sizeof(struct model_snapshot_disk));
	vm->snapshots[0].disks[0].disk_id = sd_strdup("disk-a");
	vm->snapshots[0].disks[0].target = sd_strdup("vda");
	vm->snapshots[0].disks[0].image_id = sd_strdup("img-a");
	vm->snapshots[0].disks[1].disk_id = sd_strdup("disk-b");
	vm->snapshots[0].disks[1].target = sd_strdup("vdb");
	vm->snapshots[0].disks[1].image_id = sd_strdup("img-b");
	vm->snapshots[1].id = sd_strdup("snap-n");
	vm->snapshots[1].name = sd_strdup("N");
	vm->snapshots[1].parent_id = sd_strdup("snap-s");
	vm->snapshots[1].created = sd_strdup("2026-01-02T00:00:00Z");
	vm->snapshots[1].description = sd_strdup("");
	vm->snapshots[1].domain_xml = sd_strdup("<domain><name>web</name></domain>");
	vm->snapshots[1].ndisks = 1;
	vm->snapshots[1].disks = sd_calloc(1, sizeof(struct model_snapshot_disk));
	vm->snapshots[1].disks[0].disk_id = sd_strdup("disk-a");
	vm->snapshots[1].disks[0].target = sd_strdup("vda");
	vm->snapshots[1].disks[0].image_id = sd_strdup("img-top");
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

static void test_clone_plan(void **state)
{
	struct model_vm *vm = make_vm();
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_copy_target t[] = {
	    {"vda", "p", "/p", "qcow2", 100, false},
	    {"vdb", "q", "/q/", "raw", 200, false},
	};
	char *taken[] = {"web", "copy_of_web", NULL};
	char *xml_targets[] = {"vda", "vdb", NULL};
	char *old_macs[] = {"52:54:00:aa:bb:cc", NULL};
	struct plan_clone_req req = {"S", NULL, taken, xml_targets, old_macs, 2,
				     t,	  2,	0,     0,	    false,    NULL};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_clone(vm, &env, &req, &err), *sum;

	(void)state;
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 4);
	assert_string_equal(step_kind(plan, 0), "copy_disk");
	assert_string_equal(step_kind(plan, 1), "copy_disk");
	assert_string_equal(step_kind(plan, 2), "define_new_domain");
	assert_string_equal(step_kind(plan, 3), "register_vm");
	assert_int_equal(json_integer_value(json_object_get(plan, "pnr")), 4);
	/* copies read the snapshot's layers and go to their pools, by UUID */
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "src")),
			    "/p/a.qcow2");
	assert_true(sd_str_has_prefix(
	    json_string_value(json_object_get(step_args(plan, 0), "path")), "/p/"));
	assert_true(sd_str_has_suffix(
	    json_string_value(json_object_get(step_args(plan, 1), "path")), ".raw"));
	assert_true(sd_str_has_prefix(
	    json_string_value(json_object_get(step_args(plan, 1), "path")), "/q/0"));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(plan, "steps"), 0), "undo"),
		"kind")),
	    "remove_copy");
	/* unique default name, new UUID, two new MACs */
	sum = json_object_get(json_object_get(plan, "summary"), "clone");
	assert_string_equal(json_string_value(json_object_get(sum, "name")), "copy_of_web_2");
	assert_int_equal(json_integer_value(json_object_get(sum, "bytes_total")), 300);
	assert_string_not_equal(json_string_value(json_object_get(sum, "uuid")), vm->uuid);
	assert_int_equal(json_array_size(json_object_get(sum, "macs")), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *mac =
		    json_string_value(json_array_get(json_object_get(sum, "macs"), i));
		assert_true(sd_str_has_prefix(mac, "52:54:00:"));
		assert_int_equal(strlen(mac), 17);
		assert_string_not_equal(mac, "52:54:00:aa:bb:cc");
	}
	json_decref(plan);
	model_vm_free(vm);
}

static void test_clone_refusals(void **state)
{
	struct model_vm *vm = make_vm();
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_copy_target t[] = {
	    {"vda", "p", "/p", "qcow2", 100, false},
	    {"vdb", "p", "/p", "qcow2", 100, false},
	};
	char *taken[] = {"web", "db", NULL};
	struct plan_clone_req req = {"S", "db", taken, NULL, NULL, 0, t, 2, 0, 0, false, NULL};
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	assert_null(plan_clone(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_EXISTS);
	sd_err_clear(&err);
	req.name = "a/b";
	assert_null(plan_clone(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	req.name = "new";
	req.snapshot = "nope";
	assert_null(plan_clone(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	req.snapshot = "S";
	t[1].format = "vmdk";
	assert_null(plan_clone(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	/* every layer gone: nothing to clone */
	t[0].missing = t[1].missing = true;
	assert_null(plan_clone(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	model_vm_free(vm);
}

/* A missing layer is skipped with a warning; a disk of the XML that the
 * snapshot does not hold is removed with a warning. */
static void test_clone_skips(void **state)
{
	struct model_vm *vm = make_vm();
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_copy_target t[] = {{"vda", "p", "/p", "qcow2", 100, false}};
	char *xml_targets[] = {"vda", "vdb", NULL};
	struct plan_clone_req req = {"N", "n1", NULL, xml_targets, NULL,  0,
				     t,	  1,	4,    512,	   false, NULL};
	struct plan_copy_target t2[] = {
	    {"vda", "p", "/p", "qcow2", 100, false},
	    {"vdb", NULL, NULL, "qcow2", 0, true},
	};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_clone(vm, &env, &req, &err), *sum, *def, *events;

	(void)state;
	assert_non_null(plan);
	sum = json_object_get(json_object_get(plan, "summary"), "clone");
	assert_int_equal(json_array_size(json_object_get(sum, "removed")), 1);
	def = (json_t *)step_args(plan, 1);
	assert_int_equal(json_integer_value(json_object_get(def, "memory_kib")), 512 * 1024);
	assert_int_equal(json_integer_value(json_object_get(def, "vcpus")), 4);
	assert_int_equal(json_array_size(json_object_get(def, "only")), 1);
	events = json_object_get(step_args(plan, 2), "events");
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "level")),
			    "warning");
	json_decref(plan);

	req.snapshot = "S";
	req.disks = t2;
	req.ndisks = 2;
	plan = plan_clone(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 3); /* one copy, define, register */
	sum = json_object_get(json_object_get(plan, "summary"), "clone");
	assert_string_equal(json_string_value(json_array_get(json_object_get(sum, "skipped"), 0)),
			    "vdb");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_volume_plan(void **state)
{
	struct model_vm *vm = make_vm();
	int n = 1;
	struct plan_env env = {"2026-01-03T00:00:00Z", NULL, "web", vm->uuid, seq_id, &n, false};
	struct plan_volume_req req = {"N", "vol.qcow2", {"vda", "p", "/p", "qcow2", 5, false}};
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = plan_volume_from_snapshot(vm, &env, &req, &err);

	(void)state;
	assert_non_null(plan);
	assert_int_equal(plan_nsteps(plan), 2);
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "src")),
			    "/p/top.qcow2");
	assert_string_equal(json_string_value(json_object_get(step_args(plan, 0), "path")),
			    "/p/vol.qcow2");
	assert_string_equal(step_kind(plan, 1), "catalog");
	json_decref(plan);
	req.disk.target = "vdb"; /* N does not hold vdb */
	assert_null(plan_volume_from_snapshot(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	model_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clone_plan),
	    cmocka_unit_test(test_clone_refusals),
	    cmocka_unit_test(test_clone_skips),
	    cmocka_unit_test(test_volume_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
