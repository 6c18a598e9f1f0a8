/* Custom preview on the 3-disk demo VM: subset snapshots with their own
 * configurations; a preview composed from several points in time
 * (configuration from one snapshot, disks from others, one excluded, one
 * current) with writes during it; undo gives back the state byte for byte
 * (qemu-img compare against copies, dumpxml equal, same files and rows);
 * commit keeps the preview and every later snapshot; an excluded disk comes
 * back from a snapshot; revert; commit --prune. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itlib.h"

static struct it it;
static struct it_model m;
static char vm[64];
/* the current snapshot the demo left (the parent of S1), and the automatic
 * snapshots the commits made */
static char *base_current;
static char auto1[512], auto2[512];

#define VDA 0
#define VDB 1
#define VDC 2
#define S(n) (1u << (n))

static char *snap_id(const char *name)
{
	return it_cat_text(&it,
			   "SELECT s.id FROM snapshots s JOIN vms v ON v.id = s.vm_id"
			   " WHERE v.name = ?1 AND s.name = ?2",
			   vm, name, NULL);
}

/* The parent of snapshot name, by name ("" for none). */
static char *snap_parent(const char *name)
{
	char *p =
	    it_cat_text(&it,
			"SELECT IFNULL(p.name, '') FROM snapshots s JOIN vms v ON v.id = s.vm_id"
			" LEFT JOIN snapshots p ON p.id = s.parent_id"
			" WHERE v.name = ?1 AND s.name = ?2",
			vm, name, NULL);
	assert_non_null(p);
	return p;
}

static void assert_parent(const char *name, const char *parent)
{
	char *p = snap_parent(name);

	if (strcmp(p, parent) != 0)
		fail_msg("snapshot %s: parent '%s', expected '%s'", name, p, parent);
	free(p);
}

static void assert_current(const char *name)
{
	char *cur = it_cat_text(&it,
				"SELECT IFNULL(s.name, '') FROM vms v LEFT JOIN snapshots s"
				" ON s.id = v.current_snapshot WHERE v.name = ?1",
				vm, NULL);
	assert_non_null(cur);
	if (strcmp(cur, name) != 0)
		fail_msg("current snapshot is '%s', expected '%s'", cur, name);
	free(cur);
}

/* The configuration is the one with this description. */
static void assert_config(const char *desc)
{
	char *xml = it_dumpxml(vm);
	char want[128];

	snprintf(want, sizeof(want), "<description>%s</description>", desc);
	if (!strstr(xml, want))
		fail_msg("the configuration is not %s:\n%s", desc, xml);
	free(xml);
}

static void stamp_all(void)
{
	/* a fresh pattern per disk, over different slots, with zero writes */
	it_model_stamp(&it, &m, "vda", S(0) | S(3), S(5));
	it_model_stamp(&it, &m, "vdb", S(1) | S(6), 0);
	it_model_stamp(&it, &m, "vdc", S(2) | S(4), S(0));
}

static void copy_disk(const char *src, const char *dst)
{
	char *const argv[] = {"qemu-img", "convert",   "-f",	    "qcow2", "-O",
			      "qcow2",	  (char *)src, (char *)dst, NULL};
	free(it_must(argv));
}

static void compare_disks(const char *a, const char *b)
{
	char *const argv[] = {"qemu-img", "compare", "-f",	"qcow2", "-F",
			      "qcow2",	  (char *)a, (char *)b, NULL};
	char *out = NULL, *err = NULL;
	int rc = sdtest_run(argv, &out, &err);

	if (rc != 0)
		fail_msg("qemu-img compare %s %s: exit %d: %s%s", a, b, rc, out, err);
	free(out);
	free(err);
}

#define assert_refused(...) it_assert_refused(&it, __VA_ARGS__)

static void test_setup_points_in_time(void **state)
{
	(void)state;
	it_demo_setup(&it);
	it_model_demo(&it, &m, "db");
	snprintf(vm, sizeof(vm), "%s", m.vm);
	it_check(&it, &m);
	base_current = it_cat_text(&it,
				   "SELECT IFNULL(s.name, '') FROM vms v LEFT JOIN snapshots s"
				   " ON s.id = v.current_snapshot WHERE v.name = ?1",
				   vm, NULL);
	assert_non_null(base_current);

	stamp_all();
	it_set_description(vm, "config-S1");
	it_snapshot(&it, &m, "S1", NULL);
	it_check(&it, &m);

	stamp_all();
	it_set_description(vm, "config-S2");
	it_snapshot(&it, &m, "S2", "vda,vdc");

	stamp_all();
	it_set_description(vm, "config-S3");
	it_snapshot(&it, &m, "S3", "vdb,vdc");

	/* data in the tops: the state "now" differs from every snapshot */
	stamp_all();
	it_set_description(vm, "config-now");
	it_check(&it, &m);
	assert_parent("S1", base_current);
	assert_parent("S2", "S1");
	assert_parent("S3", "S2");
	assert_current("S3");
	/* every snapshot differs from the others on every disk it holds */
	assert_int_not_equal(
	    memcmp(&m.snaps[0].c[VDA], &m.snaps[1].c[VDA], sizeof(struct it_content)), 0);
	assert_int_not_equal(
	    memcmp(&m.snaps[1].c[VDC], &m.snaps[2].c[VDC], sizeof(struct it_content)), 0);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_refused("no snapshot", "preview", vm, "--config", "nope", NULL);
	assert_refused("S2", "preview", vm, "--disk", "vdb=S2", NULL); /* S2 lacks vdb */
	assert_refused("no disk", "preview", vm, "--disk", "vdz=S1", NULL);
	assert_refused("no preview", "undo", vm, NULL);
	assert_refused("no preview", "commit", vm, NULL);
	/* a preview needs a shut-off VM (snapshots of a running one are live:
	 * tests/integration/it-live.c) */
	{
		char *const start[] = {"virsh", "-q", "-c", "qemu:///system", "start", vm, NULL};
		char *const stop[] = {"virsh", "-q", "-c", "qemu:///system", "destroy", vm, NULL};
		free(it_must(start));
		assert_refused("shut it off", "preview", vm, "--config", "S1", NULL);
		assert_refused("snapdeck stop", "commit", vm, NULL);
		free(it_must(stop));
	}
	it_check(&it, &m);
}

static void test_custom_preview_undo(void **state)
{
	char *copies[3], *xml_before, *xml_after;
	struct it_state *before, *after;
	struct it_model p;
	json_t *j, *sum;
	char *id;

	(void)state;
	for (int d = 0; d < 3; d++) {
		char *active = it_cat_active(&it, vm, m.targets[d]);
		if (asprintf(&copies[d], "%s/copy-%s.qcow2", it.tmp, m.targets[d]) < 0)
			abort();
		copy_disk(active, copies[d]);
		free(active);
	}
	xml_before = it_dumpxml(vm);
	before = it_state_take(&it, vm);

	j = it_sd(&it, 0, "preview", vm, "--config", "S3", "--disk", "vda=S1", "--disk",
		  "vdb=exclude", "--disk", "vdc=S2", NULL);
	sum = json_object_get(j, "summary");
	id = snap_id("S3");
	assert_string_equal(json_string_value(json_object_get(sum, "config")), id);
	free(id);
	id = snap_id("S1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(sum, "disks"), "vda")), id);
	free(id);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(sum, "disks"), "vdb")), "exclude");
	json_decref(j);

	p = m;
	p.in_preview = true;
	p.active[VDA] = it_model_snap(&m, "S1")->c[VDA];
	p.present[VDB] = false;
	p.active[VDC] = it_model_snap(&m, "S2")->c[VDC];
	it_check(&it, &p);
	assert_config("config-S3");
	{
		/* vm show spells the preview out */
		json_t *show = it_sd(&it, 0, "vm", "show", vm, NULL);
		json_t *pv = json_object_get(show, "in_preview"),
		       *disks = json_object_get(pv, "disks");
		char *s1 = snap_id("S1"), *s2 = snap_id("S2"), *s3 = snap_id("S3");
		assert_string_equal(json_string_value(json_object_get(pv, "config")), s3);
		assert_true(json_is_false(json_object_get(pv, "memory")));
		assert_string_equal(json_string_value(json_object_get(disks, "vda")), s1);
		assert_string_equal(json_string_value(json_object_get(disks, "vdb")), "exclude");
		assert_string_equal(json_string_value(json_object_get(disks, "vdc")), s2);
		free(s1);
		free(s2);
		free(s3);
		json_decref(show);
	}
	{
		/* vm list marks the preview */
		json_t *list = it_sd(&it, 0, "vm", "list", NULL), *x;
		size_t i;
		bool seen = false;
		json_array_foreach(
		    list, i, x) if (strcmp(json_string_value(json_object_get(x, "name")), vm) == 0)
		{
			assert_true(json_is_true(json_object_get(x, "in_preview")));
			seen = true;
		}
		assert_true(seen);
		json_decref(list);
	}
	assert_refused("preview", "preview", vm, "--config", "S1", NULL);
	assert_refused("preview", "snapshot", "delete", vm, "S1", NULL);

	/* writes during the preview: gone after undo */
	{
		struct it_model save = m;
		m = p;
		it_model_stamp(&it, &m, "vda", 0x7f, 0);
		it_model_stamp(&it, &m, "vdc", S(1) | S(5), S(4));
		p = m;
		m = save;
	}
	it_check(&it, &p);

	j = it_sd(&it, 0, "undo", vm, NULL);
	json_decref(j);
	after = it_state_take(&it, vm);
	it_state_assert_equal(before, after, "undo");
	xml_after = it_dumpxml(vm);
	assert_string_equal(xml_before, xml_after);
	for (int d = 0; d < 3; d++) {
		char *active = it_cat_active(&it, vm, m.targets[d]);
		compare_disks(copies[d], active);
		free(active);
		free(copies[d]);
	}
	it_check(&it, &m);
	free(xml_before);
	free(xml_after);
	it_state_free(before);
	it_state_free(after);
}

static void test_preview_commit(void **state)
{
	struct it_model p;
	json_t *j, *sum;
	const char *auto_name;
	struct it_snap *a;

	(void)state;
	j = it_sd(&it, 0, "preview", vm, "--config", "S2", "--disk", "vda=S1", "--disk", "vdb=S3",
		  "--disk", "vdc=current", NULL);
	json_decref(j);
	p = m;
	p.in_preview = true;
	p.active[VDA] = it_model_snap(&m, "S1")->c[VDA];
	p.active[VDB] = it_model_snap(&m, "S3")->c[VDB];
	it_check(&it, &p);
	assert_config("config-S2");

	/* writes during the preview are kept by commit */
	{
		struct it_model save = m;
		m = p;
		stamp_all();
		p = m;
		m = save;
	}

	/* the dry run says what becomes of the state before the preview */
	j = it_sd(&it, 0, "commit", vm, "--dry-run", NULL);
	assert_true(
	    json_is_string(json_object_get(json_object_get(j, "summary"), "auto_snapshot")));
	json_decref(j);
	it_check(&it, &p);

	j = it_sd(&it, 0, "commit", vm, NULL);
	sum = json_object_get(j, "summary");
	auto_name = json_string_value(json_object_get(sum, "auto_snapshot"));
	assert_non_null(auto_name);
	snprintf(auto1, sizeof(auto1), "%s", auto_name);
	/* the state before the preview (the data in the tops) is kept */
	{
		struct it_model save = m;
		a = it_model_add_snap(&save, auto_name, S(VDA) | S(VDB) | S(VDC));
		(void)a;
		p.nsnaps = save.nsnaps;
		memcpy(p.snaps, save.snaps, sizeof(p.snaps));
	}
	json_decref(j);
	m = p;
	m.in_preview = false;
	it_check(&it, &m);
	assert_config("config-S2");
	assert_current("S2");
	assert_parent(m.snaps[m.nsnaps - 1].name, "S3");
	{
		/* the auto snapshot is marked so */
		json_t *list = it_sd(&it, 0, "snapshot", "list", vm, NULL), *x;
		size_t i;
		json_array_foreach(list, i, x)
		    assert_true(json_is_true(json_object_get(x, "auto")) ==
				(strcmp(json_string_value(json_object_get(x, "name")),
					m.snaps[m.nsnaps - 1].name) == 0));
		json_decref(list);
	}
	/* every snapshot, the later ones included, previews its own content */
	it_check_by_preview(&it, &m);
}

static void test_exclude_commit_and_back(void **state)
{
	json_t *j;
	struct it_model p;
	struct it_state *before, *after;
	char *xml;

	(void)state;
	/* commit a preview that leaves vdb out: the VM has no vdb afterwards */
	j = it_sd(&it, 0, "preview", vm, "--config", "S1", "--disk", "vdb=exclude", NULL);
	json_decref(j);
	j = it_sd(&it, 0, "commit", vm, NULL);
	assert_non_null(
	    json_string_value(json_object_get(json_object_get(j, "summary"), "auto_snapshot")));
	snprintf(
	    auto2, sizeof(auto2), "%s",
	    json_string_value(json_object_get(json_object_get(j, "summary"), "auto_snapshot")));
	it_model_add_snap(
	    &m, json_string_value(json_object_get(json_object_get(j, "summary"), "auto_snapshot")),
	    S(VDA) | S(VDB) | S(VDC));
	json_decref(j);
	m.active[VDA] = it_model_snap(&m, "S1")->c[VDA];
	m.active[VDC] = it_model_snap(&m, "S1")->c[VDC];
	m.present[VDB] = false;
	it_check(&it, &m);
	assert_current("S1");
	xml = it_dumpxml(vm);
	assert_null(strstr(xml, "dev='vdb'"));
	free(xml);

	/* a snapshot now holds the two disks there are */
	it_model_stamp(&it, &m, "vdc", S(6), 0);
	it_snapshot(&it, &m, "S4", NULL);
	assert_true(it_model_snap(&m, "S4")->has[VDA] && !it_model_snap(&m, "S4")->has[VDB]);
	assert_parent("S4", "S1");

	/* vdb comes back from S3 in a preview, with S3's disk definition */
	before = it_state_take(&it, vm);
	j = it_sd(&it, 0, "preview", vm, "--config", "S4", "--disk", "vdb=S3", NULL);
	json_decref(j);
	p = m;
	p.in_preview = true;
	p.present[VDB] = true;
	p.active[VDB] = it_model_snap(&m, "S3")->c[VDB];
	it_check(&it, &p);
	j = it_sd(&it, 0, "undo", vm, NULL);
	json_decref(j);
	after = it_state_take(&it, vm);
	it_state_assert_equal(before, after, "undo of a preview that brought a disk back");
	it_state_free(before);
	it_state_free(after);
	it_check(&it, &m);

	/* revert to S1: all three disks as S1 holds them; the tops held no
	 * data (nothing written since S4), so no automatic snapshot */
	j = it_sd(&it, 0, "revert", vm, "S1", NULL);
	assert_null(json_object_get(json_object_get(j, "summary"), "auto_snapshot"));
	json_decref(j);
	for (int d = 0; d < 3; d++) {
		m.present[d] = true;
		m.active[d] = it_model_snap(&m, "S1")->c[d];
	}
	it_check(&it, &m);
	assert_current("S1");
	assert_config("config-S1");
}

static void test_commit_prune(void **state)
{
	json_t *j, *pruned, *x;
	size_t i;
	const char *want[8];
	size_t nwant = 0;

	(void)state;
	stamp_all();
	/* the snapshots under S2: S3, the auto snapshot of the first commit
	 * (child of S3) and the one of the second (child of S2) */
	want[nwant++] = "S3";
	want[nwant++] = auto1;
	want[nwant++] = auto2;
	assert_parent(auto1, "S3");
	assert_parent(auto2, "S2");

	j = it_sd(&it, 0, "preview", vm, "--config", "S2", NULL);
	json_decref(j);
	m.active[VDA] = it_model_snap(&m, "S2")->c[VDA];
	m.active[VDC] = it_model_snap(&m, "S2")->c[VDC];
	/* vdb: S2 lacks it, so it stays as it is now */
	m.in_preview = true;
	it_check(&it, &m);

	j = it_sd(&it, 0, "commit", vm, "--prune", NULL);
	pruned = json_object_get(json_object_get(j, "summary"), "pruned");
	assert_int_equal(json_array_size(pruned), nwant);
	for (size_t k = 0; k < nwant; k++) {
		bool found = false;
		json_array_foreach(pruned, i, x) found =
		    found || strcmp(json_string_value(x), want[k]) == 0;
		if (!found)
			fail_msg("commit --prune did not delete %s", want[k]);
	}
	for (size_t k = 0; k < nwant; k++) {
		char name[512];
		snprintf(name, sizeof(name), "%s", want[k]);
		it_model_remove_snap(&m, name);
	}
	json_decref(j);
	m.in_preview = false;
	/* S1, S2, S4 (and the demo's) stay; the files of what went are gone
	 * (it_check: no stray file, no unused image) */
	assert_non_null(it_model_snap(&m, "S1"));
	assert_non_null(it_model_snap(&m, "S4"));
	it_check(&it, &m);
	assert_current("S2");
	it_check_by_preview(&it, &m);

	/* the event log tells what happened */
	{
		json_t *ev = it_sd(&it, 0, "events", "--vm", vm, NULL);
		const char *ops[] = {"snapshot create", "preview", "undo", "commit"};
		for (size_t o = 0; o < 4; o++) {
			bool seen = false;
			json_array_foreach(ev, i, x) seen =
			    seen ||
			    strcmp(json_string_value(json_object_get(x, "op")), ops[o]) == 0;
			if (!seen)
				fail_msg("no %s event", ops[o]);
		}
		json_decref(ev);
	}
}

/* A snapshot taken during a preview holds the preview's content and stays
 * (a branch); undo still gives back the state before the preview exactly,
 * its current snapshot included. */
static void test_snapshot_during_preview(void **state)
{
	struct it_model p;
	char *before;
	json_t *j;

	(void)state;
	before = it_cat_text(&it,
			     "SELECT IFNULL(s.name, '') FROM vms v LEFT JOIN snapshots s"
			     " ON s.id = v.current_snapshot WHERE v.name = ?1",
			     vm, NULL);
	assert_non_null(before);
	j = it_sd(&it, 0, "preview", vm, "--config", "S4", "--disk", "vdb=S1", NULL);
	json_decref(j);
	p = m;
	p.in_preview = true;
	p.active[VDA] = it_model_snap(&m, "S4")->c[VDA];
	p.active[VDB] = it_model_snap(&m, "S1")->c[VDB];
	p.active[VDC] = it_model_snap(&m, "S4")->c[VDC];
	{
		struct it_model save = m;
		m = p;
		stamp_all();
		it_snapshot(&it, &m, "in-preview", NULL);
		stamp_all();
		p = m;
		memcpy(save.snaps, m.snaps, sizeof(save.snaps));
		save.nsnaps = m.nsnaps;
		m = save;
	}
	it_check(&it, &p);

	j = it_sd(&it, 0, "undo", vm, NULL);
	json_decref(j);
	it_check(&it, &m);
	assert_current(before);
	it_check_by_preview(&it, &m);
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup_points_in_time),    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_custom_preview_undo),	    cmocka_unit_test(test_preview_commit),
	    cmocka_unit_test(test_exclude_commit_and_back), cmocka_unit_test(test_commit_prune),
	    cmocka_unit_test(test_snapshot_during_preview),
	};
	int rc;

	it_init(&it, "preview", 'p');
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_cleanup(&it);
	return rc;
}
