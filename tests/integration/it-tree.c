/* CloudStack's VM snapshot test plan on the 2-disk demo VM: snapshot A,
 * then B on top; revert to A; C → the tree is A{B, C}; revert to each and
 * read it; revert with data in the tops (an automatic snapshot keeps it);
 * then delete the current snapshot, a middle one, and every snapshot left.
 * After every step all that remains (the VM's disks and each snapshot)
 * reads exactly as before, and libvirt, the catalog and the files agree. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itlib.h"

static struct it it;
static struct it_model m;
static char vm[64];
static char auto_name[512];
/* which data movements the deletes used */
static int n_commit, n_rebase, n_kept;

#define S(n) (1u << (n))

static char *parent_of(const char *name)
{
	char *p =
	    it_cat_text(&it,
			"SELECT IFNULL(p.name, '') FROM snapshots s JOIN vms v ON v.id = s.vm_id"
			" LEFT JOIN snapshots p ON p.id = s.parent_id"
			" WHERE v.name = ?1 AND s.name = ?2",
			vm, name, NULL);
	if (!p)
		fail_msg("no snapshot %s", name);
	return p;
}

static void assert_parent(const char *name, const char *parent)
{
	char *p = parent_of(name);

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
	/* snapshot list --json marks the same one */
	json_t *list = it_sd(&it, 0, "snapshot", "list", vm, NULL), *x;
	size_t i;
	json_array_foreach(list, i, x)
	    assert_int_equal(json_is_true(json_object_get(x, "current")),
			     strcmp(json_string_value(json_object_get(x, "name")), name) == 0);
	json_decref(list);
}

static void stamp_all(void)
{
	it_model_stamp(&it, &m, "vda", S(0) | S(2) | S(6), S(4));
	it_model_stamp(&it, &m, "vdb", S(1) | S(3), S(0));
}

/* revert VM NAME; the model follows; returns whether an automatic
 * snapshot was made (its name in auto_name). */
static bool revert(const char *name)
{
	json_t *j = it_sd(&it, 0, "revert", vm, name, NULL);
	const char *a =
	    json_string_value(json_object_get(json_object_get(j, "summary"), "auto_snapshot"));
	struct it_snap *s;
	bool made = a != NULL;

	if (a) {
		unsigned mask = 0;
		for (size_t d = 0; d < m.ndisks; d++)
			if (m.present[d])
				mask |= S(d);
		snprintf(auto_name, sizeof(auto_name), "%s", a);
		it_model_add_snap(&m, a, mask);
	}
	json_decref(j);
	s = it_model_snap(&m, name);
	for (size_t d = 0; d < m.ndisks; d++)
		if (s->has[d]) {
			m.present[d] = true;
			m.active[d] = s->c[d];
		}
	it_check(&it, &m);
	assert_current(name);
	return made;
}

static void delete_snapshot(const char *name)
{
	char copy[512];
	json_t *j, *x;
	size_t i;

	snprintf(copy, sizeof(copy), "%s", name);
	j = it_sd(&it, 0, "snapshot", "delete", vm, copy, NULL);
	json_array_foreach(json_object_get(json_object_get(j, "plan"), "steps"), i, x)
	{
		const char *kind = json_string_value(json_object_get(x, "kind"));
		n_commit += strcmp(kind, "qemu_commit") == 0;
		n_rebase += strcmp(kind, "qemu_rebase") == 0;
	}
	n_kept +=
	    (int)json_array_size(json_object_get(json_object_get(j, "summary"), "kept_internal"));
	json_decref(j);
	it_model_remove_snap(&m, copy);
	it_check(&it, &m);
}

static void test_tree(void **state)
{
	char *top;

	(void)state;
	it_demo_setup(&it);
	it_model_demo(&it, &m, "web");
	snprintf(vm, sizeof(vm), "%s", m.vm);
	top = it_cat_text(&it,
			  "SELECT IFNULL(s.name, '') FROM vms v LEFT JOIN snapshots s"
			  " ON s.id = v.current_snapshot WHERE v.name = ?1",
			  vm, NULL);
	it_check(&it, &m);

	stamp_all();
	it_snapshot(&it, &m, "A", NULL);
	assert_parent("A", top);
	stamp_all();
	it_snapshot(&it, &m, "B", NULL);
	assert_parent("B", "A");
	it_check(&it, &m);

	/* nothing written since B: the tops held no data, no auto snapshot */
	assert_false(revert("A"));
	stamp_all();
	it_snapshot(&it, &m, "C", NULL);
	assert_parent("B", "A");
	assert_parent("C", "A");
	assert_current("C");
	it_check(&it, &m);

	/* revert to each */
	assert_false(revert("B"));
	assert_false(revert("C"));
	assert_false(revert("A"));
	/* with data in the tops: kept as an automatic snapshot, a child of A */
	stamp_all();
	assert_true(revert("B"));
	assert_parent(auto_name, "A");
	assert_parent("B", "A");
	assert_parent("C", "A");
	/* each snapshot, previewed, reads its own content */
	it_check_by_preview(&it, &m);
	free(top);
}

static void test_deletes(void **state)
{
	(void)state;
	/* write after the revert, so the active layer holds data */
	stamp_all();
	it_check(&it, &m);

	/* the current one (B): the current snapshot becomes its parent */
	delete_snapshot("B");
	assert_current("A");
	/* a middle one (A: C and the auto snapshot rest on it) */
	delete_snapshot("A");
	{
		char *p = parent_of("C"), *q = parent_of(auto_name);
		assert_string_equal(p, q); /* both moved up to A's parent */
		free(p);
		free(q);
	}
	it_check_by_preview(&it, &m);

	/* every snapshot left, newest first, then a write and a check */
	while (m.nsnaps > 0) {
		char name[512];
		snprintf(name, sizeof(name), "%s", m.snaps[m.nsnaps - 1].name);
		delete_snapshot(name);
		stamp_all();
		it_check(&it, &m);
	}
	assert_int_equal(it_cat_int(&it,
				    "SELECT count(*) FROM snapshots s JOIN vms v ON v.id = s.vm_id"
				    " WHERE v.name = ?1",
				    vm, NULL),
			 0);
	fprintf(stderr, "# deletes used %d commit(s), %d rebase(s), kept %d layer(s)\n", n_commit,
		n_rebase, n_kept);
	assert_true(n_commit + n_rebase > 0);
	/* a snapshot again after all that */
	it_snapshot(&it, &m, "again", NULL);
	stamp_all();
	it_check_by_preview(&it, &m);
}

/* A snapshot deleted while two layers rest on its layer leaves that layer
 * as an unnamed internal one; the VM's (empty) top may rest on it. The
 * state "now" is then held by no snapshot, so a commit (a revert) that
 * drops the top must keep that state as an automatic snapshot: nothing is
 * lost (DESIGN.md, operation 4). */
static void test_commit_over_internal_layer(void **state)
{
	struct it_model b;
	struct it_content before;
	json_t *j;
	const char *a;

	(void)state;
	it_model_demo(&it, &b, "build");
	it_model_stamp(&it, &b, "vda", S(2) | S(3), 0);
	it_snapshot(&it, &b, "X", NULL);
	it_model_stamp(&it, &b, "vda", S(0) | S(6), 0);
	it_snapshot(&it, &b, "Y", NULL);
	/* back to X: X's layer has two children now, Y's layer and the top */
	j = it_sd(&it, 0, "revert", b.vm, "X", NULL);
	assert_null(json_object_get(json_object_get(j, "summary"), "auto_snapshot"));
	json_decref(j);
	b.active[0] = it_model_snap(&b, "X")->c[0];
	it_check(&it, &b);
	/* X goes; its layer stays (internal), the state now is as X was */
	j = it_sd(&it, 0, "snapshot", "delete", b.vm, "X", NULL);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(j, "summary"), "kept_internal")), 1);
	json_decref(j);
	it_model_remove_snap(&b, "X");
	it_check(&it, &b);
	before = b.active[0];

	j = it_sd(&it, 0, "revert", b.vm, "Y", NULL);
	a = json_string_value(json_object_get(json_object_get(j, "summary"), "auto_snapshot"));
	if (!a)
		fail_msg("revert dropped the state before it, which no snapshot holds");
	it_model_add_snap(&b, a, S(0));
	assert_memory_equal(&it_model_snap(&b, a)->c[0], &before, sizeof(before));
	json_decref(j);
	b.active[0] = it_model_snap(&b, "Y")->c[0];
	it_check(&it, &b);
	it_check_by_preview(&it, &b);
}

/* A real failure half-way (not an injected one): a snapshot whose layer
 * file went missing behind snapdeck's back cannot be previewed; the preview
 * fails with one line and is undone, nothing changed; with the file back,
 * it works. */
static void test_missing_layer(void **state)
{
	struct it_model b;
	struct it_state *before, *after;
	char *layer, *saved, *out = NULL, *err = NULL;
	json_t *j;
	int rc;

	(void)state;
	it_model_demo(&it, &b, "build");
	it_model_stamp(&it, &b, "vda", S(5), 0);
	it_snapshot(&it, &b, "side", NULL);
	/* back to Y: side's layer has no child left */
	j = it_sd(&it, 0, "revert", b.vm, "Y", NULL);
	json_decref(j);
	b.active[0] = it_model_snap(&b, "Y")->c[0];
	it_check(&it, &b);
	layer = it_cat_text(
	    &it,
	    "SELECT i.path FROM snapshots s JOIN snapshot_disks d ON d.snapshot_id = s.id"
	    " JOIN images i ON i.id = d.image_id JOIN vms v ON v.id = s.vm_id"
	    " WHERE v.name = ?1 AND s.name = 'side'",
	    b.vm, NULL);
	assert_non_null(layer);
	assert_int_equal(it_cat_int(&it,
				    "SELECT count(*) FROM images WHERE parent_id ="
				    " (SELECT id FROM images WHERE path = ?1)",
				    layer, NULL),
			 0);
	if (asprintf(&saved, "%s/side-layer.saved", it.tmp) < 0)
		abort();
	assert_int_equal(rename(layer, saved), 0);

	before = it_state_take(&it, b.vm);
	rc = it_sd_raw(&it, NULL, &out, &err, "preview", b.vm, "--config", "side", NULL);
	if (rc != 1 || strchr(err, '\n') != err + strlen(err) - 1)
		fail_msg("preview of a snapshot whose layer is missing: exit %d: [%s]", rc, err);
	free(out);
	free(err);
	after = it_state_take(&it, b.vm);
	it_state_assert_equal(before, after, "a preview that failed half-way");
	it_state_free(after);
	it_state_free(before);
	assert_int_equal(
	    it_cat_int(&it, "SELECT count(*) FROM operations WHERE state IN ('planned','running')",
		       NULL),
	    0);

	assert_int_equal(rename(saved, layer), 0);
	it_check(&it, &b);
	it_check_by_preview(&it, &b);
	free(layer);
	free(saved);
}

/* Drift: a disk's source changed behind snapdeck's back (an overlay made
 * by hand) is detected; operations are refused until `sync --adopt`, which
 * reads the chains into the catalog; the content is the VM's as it was,
 * with what was written on the new overlay. */
static void test_drift_adopt(void **state)
{
	struct it_model d, a;
	char *active, manual[600], xmlpath[600], *xml, *pos, *out = NULL, *err = NULL;
	json_t *j;
	FILE *f;
	int rc;

	(void)state;
	it_model_demo(&it, &d, "db");
	it_check(&it, &d);
	active = it_cat_active(&it, d.vm, "vda");
	snprintf(manual, sizeof(manual), "%s/by-hand.qcow2", it.dir);
	{
		char *const c[] = {"qemu-img", "create", "-q",	  "-f",	  "qcow2", "-b",
				   active,     "-F",	 "qcow2", manual, NULL};
		free(it_must(c));
	}
	it_stamp(manual, &d.active[0], S(2) | S(6), 0, it_pat());
	xml = it_dumpxml(d.vm);
	pos = strstr(xml, active);
	assert_non_null(pos);
	snprintf(xmlpath, sizeof(xmlpath), "%s/drift.xml", it.tmp);
	f = fopen(xmlpath, "w");
	assert_non_null(f);
	fprintf(f, "%.*s%s%s", (int)(pos - xml), xml, manual, pos + strlen(active));
	fclose(f);
	{
		char *const def[] = {"virsh",  "-q",	"-c", "qemu:///system",
				     "define", xmlpath, NULL};
		free(it_must(def));
	}
	free(xml);

	rc = it_sd_raw(&it, NULL, &out, &err, "snapshot", "create", d.vm, "--name", "on-drift",
		       NULL);
	if (rc != 1 || !strstr(err, "drifted") || !strstr(err, "sync --adopt") ||
	    strchr(err, '\n') != err + strlen(err) - 1)
		fail_msg("snapshot create on a drifted VM: exit %d: [%s]", rc, err);
	free(out);
	free(err);
	j = it_sd(&it, 0, "sync", d.vm, NULL);
	assert_true(
	    json_is_true(json_object_get(json_array_get(json_object_get(j, "vms"), 0), "drifted")));
	json_decref(j);

	j = it_sd(&it, 0, "sync", "--adopt", d.vm, NULL);
	assert_true(json_is_false(
	    json_object_get(json_array_get(json_object_get(j, "vms"), 0), "drifted")));
	json_decref(j);
	/* the disks read as before, plus what was written by hand */
	it_model_demo(&it, &a, "db");
	for (size_t k = 0; k < d.ndisks; k++)
		assert_memory_equal(&a.active[k], &d.active[k], sizeof(d.active[k]));
	{
		char *now = it_cat_active(&it, d.vm, "vda");
		assert_string_equal(now, manual);
		free(now);
	}
	it_check(&it, &a);
	it_model_stamp(&it, &a, "vda", S(4), 0);
	it_snapshot(&it, &a, "after-adopt", NULL);
	it_check_by_preview(&it, &a);
	free(active);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_deletes),
	    cmocka_unit_test(test_commit_over_internal_layer),
	    cmocka_unit_test(test_missing_layer),
	    cmocka_unit_test(test_drift_adopt),
	};
	int rc;

	it_init(&it, "tree", 't');
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_cleanup(&it);
	return rc;
}
