/* Helpers shared by it-clone.c and it-deploy.c (itclone.h). */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "tests/integration/itclone.h"
#include "tests/lib/sdtest.h"

char *tmp, *catalog, *pooldir, prefix[40];
char vm_web[64], vm_db[64], pool[64];

/* snapdeck -c qemu:///system --catalog CAT ARGS... --json; checks the status. */
json_t *sd(int expect, ...)
{
	char *argv[64], *out = NULL, *err = NULL;
	const char *bin = getenv("SNAPDECK_BIN");
	size_t n = 0;
	va_list ap;
	json_t *j;
	int rc;

	argv[n++] = (char *)(bin ? bin : "src/snapdeck");
	argv[n++] = "-c";
	argv[n++] = "qemu:///system";
	argv[n++] = "--catalog";
	argv[n++] = catalog;
	va_start(ap, expect);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 60;)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = "--json";
	argv[n] = NULL;
	rc = sdtest_run(argv, &out, &err);
	if (rc != expect)
		fail_msg("%s %s: exit %d, expected %d\nstdout: %s\nstderr: %s", argv[5],
			 n > 6 ? argv[6] : "", rc, expect, out, err);
	j = json_loads(out ? out : "", 0, NULL);
	if (!j)
		fail_msg("not JSON: %s", out);
	free(out);
	free(err);
	return j;
}

char *run_out(char *const argv[])
{
	char *out = NULL, *err = NULL;
	int rc = sdtest_run(argv, &out, &err);

	if (rc != 0)
		fail_msg("%s %s failed (%d): %s", argv[0], argv[1], rc, err);
	free(err);
	return out;
}

char *dumpxml(const char *name)
{
	char *const argv[] = {"virsh",	 "-q",	       "-c",	     "qemu:///system",
			      "dumpxml", "--inactive", (char *)name, NULL};
	return run_out(argv);
}

void undefine(const char *name)
{
	char *const argv[] = {"virsh",	  "-q",		"-c", "qemu:///system",
			      "undefine", (char *)name, NULL};
	sdtest_run(argv, NULL, NULL);
}

/* The snapshot's layer for target, from snapshot list --json. */
char *snap_layer(const char *vm, const char *snap, const char *target)
{
	json_t *list = sd(0, "snapshot", "list", vm, NULL), *s, *d;
	size_t i, k;
	char *path = NULL;

	json_array_foreach(list, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "name")), snap) != 0)
			continue;
		json_array_foreach(
		    json_object_get(s, "disks"), k,
		    d) if (strcmp(json_string_value(json_object_get(d, "target")), target) == 0)
		    path = strdup(json_string_value(json_object_get(d, "image")));
	}
	json_decref(list);
	if (!path)
		fail_msg("snapshot %s of %s has no disk %s", snap, vm, target);
	return path;
}

/* qemu-img compare (guest view) of a chain and a copy. */
void assert_same(const char *a, const char *b)
{
	char *const argv[] = {"qemu-img", "compare", "-q", (char *)a, (char *)b, NULL};
	char *err = NULL;
	int rc = sdtest_run(argv, NULL, &err);

	if (rc != 0)
		fail_msg("%s and %s differ (%d): %s", a, b, rc, err);
	free(err);
}

/* The copy is standalone (no backing file) and has format fmt. */
void assert_standalone(const char *path, const char *fmt)
{
	char *const argv[] = {"qemu-img", "info", "--output=json", (char *)path, NULL};
	char *out = run_out(argv);
	json_t *j = json_loads(out, 0, NULL);

	assert_non_null(j);
	assert_null(json_object_get(j, "backing-filename"));
	assert_string_equal(json_string_value(json_object_get(j, "format")), fmt);
	json_decref(j);
	free(out);
}

size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int itclone_setup(const char *tag, const char *prefix_start)
{
	char *out = NULL;

	sdtest_require_libvirtd();
	tmp = sdtest_mkdtemp(tag);
	if (asprintf(&catalog, "%s/catalog.db", tmp) < 0 || asprintf(&pooldir, "%s/pool", tmp) < 0)
		abort();
	snprintf(prefix, sizeof(prefix), "%s%d", prefix_start, (int)getpid());
	snprintf(vm_web, sizeof(vm_web), "%s-web", prefix);
	snprintf(vm_db, sizeof(vm_db), "%s-db", prefix);
	snprintf(pool, sizeof(pool), "snapdeck-%s", prefix);
	if (sdtest_snapdeck(&out, NULL, "-c", "qemu:///system", "--catalog", catalog, "demo",
			    "setup", "--dir", pooldir, "--prefix", prefix, NULL) != 0) {
		fprintf(stderr, "demo setup failed: %s\n", out);
		return 1;
	}
	free(out);
	return 0;
}

void itclone_teardown(void)
{
	sdtest_snapdeck(NULL, NULL, "-c", "qemu:///system", "--catalog", catalog, "demo",
			"teardown", "--dir", pooldir, "--prefix", prefix, NULL);
	{
		char *const destroy[] = {"virsh",	 "-q", "-c", "qemu:///system",
					 "pool-destroy", pool, NULL};
		char *const undef[] = {"virsh",		"-q", "-c", "qemu:///system",
				       "pool-undefine", pool, NULL};
		sdtest_run(destroy, NULL, NULL);
		sdtest_run(undef, NULL, NULL);
	}
	sdtest_rm_rf(tmp);
}
