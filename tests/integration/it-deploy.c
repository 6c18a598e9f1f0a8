/* Deploy from snapshot (full, linked on a seeded template, linked straight
 * on the snapshot's layers) and templates, on a real libvirtd with real
 * qcow2 files: content is checked with qemu-img compare, before and after
 * the source snapshot is deleted. */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "tests/integration/itclone.h"
#include "tests/lib/sdtest.h"

/* The disk sources of a domain, target -> path (from domblklist). */
static char *disk_of(const char *vm, const char *target)
{
	char *const argv[] = {"virsh",	    "-q",	"-c", "qemu:///system",
			      "domblklist", (char *)vm, NULL};
	char *out = run_out(argv), *line, *save = NULL, *path = NULL;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char t[64], p[1024];
		if (sscanf(line, " %63s %1023s", t, p) == 2 && strcmp(t, target) == 0)
			path = strdup(p);
	}
	free(out);
	if (!path)
		fail_msg("%s has no disk %s", vm, target);
	return path;
}

/* The backing file qemu-img reports for path, or NULL. */
static char *backing_of(const char *path)
{
	char *const argv[] = {"qemu-img", "info", "-U", "--output=json", (char *)path, NULL};
	char *out = run_out(argv);
	json_t *j = json_loads(out, 0, NULL);
	const char *b = json_string_value(json_object_get(j, "full-backing-filename"));
	char *r = b ? strdup(b) : NULL;

	json_decref(j);
	free(out);
	return r;
}

/* A raw copy of what a guest sees, to compare with later. */
static char *freeze(const char *path, const char *tag)
{
	char *out = NULL;

	if (asprintf(&out, "%s/%s.raw", tmp, tag) < 0)
		abort();
	char *const argv[] = {"qemu-img", "convert", "-U", "-O", "raw", (char *)path, out, NULL};
	free(run_out(argv));
	return out;
}

static json_t *template_named(const char *name)
{
	json_t *list = sd(0, "template", "list", NULL), *t, *r = NULL;
	size_t i;

	json_array_foreach(list, i, t) if (strcmp(json_string_value(json_object_get(t, "name")),
						  name) == 0) r = json_incref(t);
	json_decref(list);
	return r;
}

static bool has_string(const json_t *arr, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Linked deploys of before-upgrade: the first seeds the template, the second
 * copies nothing; the disks rest on the template, not on web's layers;
 * template list shows both VMs; deleting before-upgrade leaves both VMs
 * reading the same content; the template cannot be deleted while in use. */
static void test_linked_on_template(void **state)
{
	char n1[96], n2[96];
	json_t *r, *tpl, *sum;
	const char *tname;
	char *layer[2], *frozen[2][2];
	const char *targets[] = {"vda", "vdb"};
	size_t files_before, files_after;
	char *tplname;

	(void)state;
	snprintf(n1, sizeof(n1), "%s-l1", prefix);
	snprintf(n2, sizeof(n2), "%s-l2", prefix);
	for (int k = 0; k < 2; k++)
		layer[k] = snap_layer(vm_web, "before-upgrade", targets[k]);
	r = sd(0, "deploy", vm_web, "before-upgrade", "--name", n1, "--linked", NULL);
	sum = json_object_get(json_object_get(r, "summary"), "deploy");
	assert_string_equal(json_string_value(json_object_get(sum, "mode")), "linked");
	assert_non_null(json_object_get(r, "seeded"));
	tname = json_string_value(json_object_get(sum, "template_name"));
	assert_non_null(tname);
	tplname = strdup(tname);
	json_decref(r);
	tpl = template_named(tplname);
	assert_non_null(tpl);
	assert_string_equal(json_string_value(json_object_get(tpl, "pool")), pool);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(tpl, "source"), "vm")), vm_web);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(tpl, "source"), "snapshot")),
	    "before-upgrade");
	assert_true(json_integer_value(json_object_get(tpl, "size")) > 0);
	for (int k = 0; k < 2; k++) {
		char *p = disk_of(n1, targets[k]), *b = backing_of(p);
		const json_t *td = json_array_get(json_object_get(tpl, "disks"), (size_t)k);
		assert_non_null(b);
		/* the template's image, not web's layer */
		assert_string_equal(b, json_string_value(json_object_get(td, "path")));
		assert_string_not_equal(b, layer[k]);
		assert_null(backing_of(b)); /* the template stands alone */
		assert_same(layer[k], p);
		free(p);
		free(b);
	}
	json_decref(tpl);

	/* the second deploy: one new overlay per disk, no copy, same template */
	files_before = count_files(pooldir);
	r = sd(0, "deploy", vm_web, "before-upgrade", "--name", n2, "--linked", NULL);
	assert_null(json_object_get(r, "seeded"));
	sum = json_object_get(json_object_get(r, "summary"), "deploy");
	assert_string_equal(json_string_value(json_object_get(sum, "template_name")), tplname);
	assert_int_equal(json_integer_value(json_object_get(sum, "bytes_total")), 0);
	json_decref(r);
	files_after = count_files(pooldir);
	assert_int_equal(files_after, files_before + 2);
	for (int k = 0; k < 2; k++) {
		char *p1 = disk_of(n1, targets[k]), *p2 = disk_of(n2, targets[k]);
		char *b1 = backing_of(p1), *b2 = backing_of(p2);
		char tag[64];
		assert_string_equal(b1, b2);
		/* small overlays: no data of their own */
		{
			struct stat st;
			assert_int_equal(stat(p2, &st), 0);
			assert_true(st.st_blocks * 512 < 2 * 1024 * 1024);
		}
		snprintf(tag, sizeof(tag), "l1-%s", targets[k]);
		frozen[0][k] = freeze(p1, tag);
		snprintf(tag, sizeof(tag), "l2-%s", targets[k]);
		frozen[1][k] = freeze(p2, tag);
		free(p1);
		free(p2);
		free(b1);
		free(b2);
	}
	tpl = template_named(tplname);
	assert_int_equal(json_array_size(json_object_get(tpl, "dependents")), 2);
	assert_true(has_string(json_object_get(tpl, "dependents"), n1));
	assert_true(has_string(json_object_get(tpl, "dependents"), n2));
	json_decref(tpl);
	/* only one template for that snapshot and pool */
	{
		json_t *list = sd(0, "template", "list", NULL);
		assert_int_equal(json_array_size(list), 1);
		json_decref(list);
	}

	/* in use: refused */
	r = sd(1, "template", "delete", tplname, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
			    "busy");
	json_decref(r);

	/* delete the source snapshot: both VMs read the same */
	json_decref(sd(0, "snapshot", "delete", vm_web, "before-upgrade", NULL));
	for (int v = 0; v < 2; v++)
		for (int k = 0; k < 2; k++) {
			char *p = disk_of(v ? n2 : n1, targets[k]);
			assert_same(frozen[v][k], p);
			free(p);
			free(frozen[v][k]);
		}
	tpl = template_named(tplname);
	assert_non_null(tpl);
	json_decref(tpl);
	for (int k = 0; k < 2; k++)
		free(layer[k]);
	free(tplname);
}

/* --linked --direct on a fresh snapshot X of build (its layer has one child
 * of build's own): overlays on X's layer; deleting X keeps that layer (it
 * counts as a child) and the deployed VM reads the same. */
static void test_linked_direct(void **state)
{
	char name[96], vm_build[64];
	char *layer, *p, *b, *frozen;
	json_t *r, *show, *d;
	size_t i;

	(void)state;
	snprintf(vm_build, sizeof(vm_build), "%s-build", prefix);
	snprintf(name, sizeof(name), "%s-d1", prefix);
	json_decref(sd(0, "snapshot", "create", vm_build, "--name", "X", NULL));
	layer = snap_layer(vm_build, "X", "vda");
	/* build writes on after X, over X's data */
	show = sd(0, "vm", "show", vm_build, NULL);
	json_array_foreach(json_object_get(show, "disks"), i, d)
	{
		char *const w[] = {"qemu-io",
				   "-f",
				   "qcow2",
				   "-c",
				   "write -P 0x3c 0 3M",
				   (char *)json_string_value(json_object_get(d, "active")),
				   NULL};
		free(run_out(w));
	}
	json_decref(show);
	r = sd(0, "deploy", vm_build, "X", "--name", name, "--linked", "--direct", NULL);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "summary"), "deploy"), "mode")),
			    "direct");
	json_decref(r);
	p = disk_of(name, "vda");
	b = backing_of(p);
	assert_string_equal(b, layer);
	assert_same(layer, p);
	frozen = freeze(p, "d1-vda");
	/* a dry run of the delete keeps X's layer and moves nothing into it */
	r = sd(0, "snapshot", "delete", vm_build, "X", "--dry-run", NULL);
	assert_true(
	    has_string(json_object_get(json_object_get(r, "summary"), "kept_internal"), layer));
	json_decref(r);
	json_decref(sd(0, "snapshot", "delete", vm_build, "X", NULL));
	assert_int_equal(access(layer, R_OK), 0);
	assert_same(frozen, p);
	{
		char *const chk[] = {"qemu-img", "check", "-q", p, NULL};
		free(run_out(chk));
	}
	free(frozen);
	free(layer);
	free(p);
	free(b);
}

/* Full deploy = a standalone copy; --root-only keeps the first disk alone;
 * --network re-points the NICs. */
static void test_full_root_only(void **state)
{
	char name[96];
	char *layer = snap_layer(vm_web, "base-install", "vda"), *p, *xml;
	json_t *r;

	(void)state;
	snprintf(name, sizeof(name), "%s-f1", prefix);
	r = sd(0, "deploy", vm_web, "base-install", "--name", name, "--root-only", NULL);
	json_decref(r);
	p = disk_of(name, "vda");
	assert_same(layer, p);
	assert_standalone(p, "qcow2");
	xml = dumpxml(name);
	assert_null(strstr(xml, "dev='vdb'"));
	free(xml);
	free(p);

	/* linked + root-only + network */
	snprintf(name, sizeof(name), "%s-f2", prefix);
	json_decref(sd(0, "deploy", vm_web, "base-install", "--name", name, "--linked",
		       "--root-only", "--network", "sdnet-test", NULL));
	xml = dumpxml(name);
	assert_null(strstr(xml, "dev='vdb'"));
	if (strstr(xml, "<interface"))
		assert_non_null(strstr(xml, "network='sdnet-test'"));
	free(xml);
	p = disk_of(name, "vda");
	assert_same(layer, p);
	free(p);
	free(layer);
}

/* template seed / delete of an unused template; names are unique. */
static void test_template_seed_delete(void **state)
{
	json_t *r, *t;
	char *path;
	char *layer = snap_layer(vm_web, "nightly", "vda");

	(void)state;
	r = sd(0, "template", "seed", vm_web, "nightly", "--name", "tpl-n", "--pool", pool, NULL);
	json_decref(r);
	t = template_named("tpl-n");
	assert_non_null(t);
	assert_int_equal(json_array_size(json_object_get(t, "dependents")), 0);
	path = strdup(json_string_value(
	    json_object_get(json_array_get(json_object_get(t, "disks"), 0), "path")));
	assert_same(layer, path);
	assert_standalone(path, "qcow2");
	json_decref(t);
	json_decref(sd(1, "template", "seed", vm_web, "nightly", "--name", "tpl-n", NULL));
	r = sd(0, "template", "delete", "tpl-n", NULL);
	json_decref(r);
	assert_null(template_named("tpl-n"));
	assert_int_not_equal(access(path, F_OK), 0);
	json_decref(sd(1, "template", "delete", "tpl-n", NULL));
	free(path);
	free(layer);
}

static void cleanup_domains(void)
{
	static const char *const suffixes[] = {"l1", "l2", "d1", "f1", "f2"};
	char name[96];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s-%s", prefix, suffixes[i]);
		undefine(name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_linked_on_template),
	    cmocka_unit_test(test_linked_direct),
	    cmocka_unit_test(test_full_root_only),
	    cmocka_unit_test(test_template_seed_delete),
	};
	int rc;

	if (itclone_setup("deploy", "sdd") != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cleanup_domains();
	itclone_teardown();
	return rc;
}
