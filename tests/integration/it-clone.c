/* Clone from snapshot, volume from snapshot and the task runner, on a real
 * libvirtd with real qcow2 files: content is checked with qemu-img compare,
 * failures (disk full, cancel) must leave nothing behind. */
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

static bool domain_exists(const char *name)
{
	char *const argv[] = {"virsh", "-q", "-c", "qemu:///system", "dominfo", (char *)name, NULL};
	return sdtest_run(argv, NULL, NULL) == 0;
}

/* A checksum of a file's bytes, to see that a source was not touched. */
static char *sum_of(const char *path)
{
	char *const argv[] = {"sha1sum", (char *)path, NULL};
	char *out = run_out(argv);

	out[40] = '\0';
	return out;
}

static void assert_no_unfinished(void)
{
	json_t *tasks = sd(0, "tasks", NULL), *t;
	size_t i;

	json_array_foreach(tasks, i, t)
	    assert_string_not_equal(json_string_value(json_object_get(t, "state")), "running");
	json_decref(tasks);
}

static const char *task_state(json_t *tasks, long long id)
{
	json_t *t;
	size_t i;

	json_array_foreach(tasks, i,
			   t) if (json_integer_value(json_object_get(t, "id")) ==
				  id) return json_string_value(json_object_get(t, "state"));
	return NULL;
}

/* Clone of before-upgrade: every disk identical to the snapshot's chain,
 * standalone, vdb raw; S's memory (2048 MiB, not today's), new UUID. */
static void test_clone_content(void **state)
{
	char name[96];
	json_t *r, *disks, *d;
	size_t i;
	char *xml, *src_xml;

	(void)state;
	snprintf(name, sizeof(name), "%s-c1", prefix);
	r = sd(0, "clone", vm_web, "before-upgrade", "--name", name, "--disk", "vdb:format=raw",
	       NULL);
	disks = json_object_get(json_object_get(json_object_get(r, "summary"), "clone"), "disks");
	assert_int_equal(json_array_size(disks), 2);
	json_array_foreach(disks, i, d)
	{
		const char *target = json_string_value(json_object_get(d, "target"));
		const char *path = json_string_value(json_object_get(d, "path"));
		char *layer = snap_layer(vm_web, "before-upgrade", target);

		assert_same(layer, path);
		assert_standalone(path, strcmp(target, "vdb") == 0 ? "raw" : "qcow2");
		free(layer);
	}
	xml = dumpxml(name);
	src_xml = dumpxml(vm_web);
	assert_non_null(strstr(xml, "<memory unit='KiB'>2097152</memory>"));
	assert_null(strstr(xml, "backingStore type='file'"));
	{
		const char *u1 = strstr(xml, "<uuid>"), *u2 = strstr(src_xml, "<uuid>");
		assert_non_null(u1);
		assert_non_null(u2);
		assert_memory_not_equal(u1, u2, 42);
	}
	assert_int_equal(json_integer_value(json_object_get(r, "task")) > 0, 1);
	free(xml);
	free(src_xml);
	json_decref(r);
	assert_no_unfinished();

	/* base-install had 1024 MiB; --vcpus/--memory override */
	snprintf(name, sizeof(name), "%s-c1b", prefix);
	json_decref(sd(0, "clone", vm_web, "base-install", "--name", name, NULL));
	xml = dumpxml(name);
	assert_non_null(strstr(xml, "<memory unit='KiB'>1048576</memory>"));
	free(xml);
	snprintf(name, sizeof(name), "%s-c1c", prefix);
	json_decref(sd(0, "clone", vm_web, "base-install", "--name", name, "--vcpus", "3",
		       "--memory", "768", NULL));
	xml = dumpxml(name);
	assert_non_null(strstr(xml, "<memory unit='KiB'>786432</memory>"));
	assert_non_null(strstr(xml, ">3</vcpu>"));
	free(xml);

	/* name taken: refused before anything is copied */
	{
		size_t before = count_files(pooldir);
		json_t *e = sd(1, "clone", vm_web, "before-upgrade", "--name", vm_db, NULL);
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(e, "error"), "code")),
		    "exists");
		json_decref(e);
		assert_int_equal(count_files(pooldir), before);
	}
	/* default name: copy_of_NAME, then copy_of_NAME_2 */
	r = sd(0, "clone", vm_web, "base-install", NULL);
	snprintf(name, sizeof(name), "copy_of_%s", vm_web);
	assert_true(domain_exists(name));
	json_decref(r);
	r = sd(0, "clone", vm_web, "base-install", NULL);
	snprintf(name, sizeof(name), "copy_of_%s_2", vm_web);
	assert_true(domain_exists(name));
	json_decref(r);
}

/* Every MAC is new: a snapshot whose configuration has two interfaces. */
static void test_clone_macs(void **state)
{
	char *xml = dumpxml(vm_db), *p, path[600], name[96];
	FILE *f;

	(void)state;
	p = strstr(xml, "</devices>");
	assert_non_null(p);
	*p = '\0';
	snprintf(path, sizeof(path), "%s/db.xml", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"%s<interface type='user'><mac address='52:54:00:aa:bb:01'/>"
		"<model type='virtio'/></interface>"
		"<interface type='user'><mac address='52:54:00:aa:bb:02'/>"
		"<model type='virtio'/></interface></devices></domain>\n",
		xml);
	fclose(f);
	free(xml);
	char *const define[] = {"virsh", "-q", "-c", "qemu:///system", "define", path, NULL};
	free(run_out(define));
	json_decref(sd(0, "snapshot", "create", vm_db, "--name", "with-nics", NULL));
	snprintf(name, sizeof(name), "%s-nics", prefix);
	json_decref(sd(0, "clone", vm_db, "with-nics", "--name", name, NULL));
	xml = dumpxml(name);
	assert_null(strstr(xml, "52:54:00:aa:bb:01"));
	assert_null(strstr(xml, "52:54:00:aa:bb:02"));
	p = strstr(xml, "<mac address=");
	assert_non_null(p);
	assert_non_null(strstr(p + 1, "<mac address="));
	free(xml);
}

/* A subset snapshot (nightly holds vda only): the clone has vda alone, and
 * a warning says vdb was removed. */
static void test_clone_subset(void **state)
{
	char name[96];
	json_t *r, *ev, *e;
	size_t i;
	bool warned = false;
	char *xml;

	(void)state;
	snprintf(name, sizeof(name), "%s-sub", prefix);
	r = sd(0, "clone", vm_web, "nightly", "--name", name, NULL);
	json_decref(r);
	xml = dumpxml(name);
	assert_non_null(strstr(xml, "dev='vda'"));
	assert_null(strstr(xml, "dev='vdb'"));
	free(xml);
	ev = sd(0, "events", NULL);
	json_array_foreach(
	    ev, i, e) if (strcmp(json_string_value(json_object_get(e, "level")), "warning") == 0 &&
			  strstr(json_string_value(json_object_get(e, "message")), name) &&
			  strstr(json_string_value(json_object_get(e, "message")), "vdb")) warned =
	    true;
	json_decref(ev);
	assert_true(warned);
}

/* A disk whose layer is gone is skipped with a warning; the clone goes on. */
static void test_clone_missing_layer(void **state)
{
	char name[96], moved[600];
	char *layer;
	json_t *r;
	char *xml;

	(void)state;
	json_decref(sd(0, "snapshot", "create", vm_db, "--name", "gone-vdc", NULL));
	layer = snap_layer(vm_db, "gone-vdc", "vdc");
	snprintf(moved, sizeof(moved), "%s/moved.qcow2", tmp);
	assert_int_equal(rename(layer, moved), 0);
	snprintf(name, sizeof(name), "%s-miss", prefix);
	r = sd(0, "clone", vm_db, "gone-vdc", "--name", name, NULL);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(json_object_get(r, "summary"), "clone"), "skipped")),
			 1);
	json_decref(r);
	assert_int_equal(rename(moved, layer), 0);
	xml = dumpxml(name);
	assert_non_null(strstr(xml, "dev='vda'"));
	assert_null(strstr(xml, "dev='vdc'"));
	free(xml);
	free(layer);
}

static void test_volume_from_snapshot(void **state)
{
	char path[600];
	char *layer = snap_layer(vm_web, "before-upgrade", "vdb");
	json_t *r;

	(void)state;
	r = sd(0, "volume", "from-snapshot", vm_web, "before-upgrade", "--disk", "vdb", "--name",
	       "vol1.qcow2", NULL);
	snprintf(path, sizeof(path), "%s/vol1.qcow2", pooldir);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "summary"), "volume"), "path")),
			    path);
	assert_same(layer, path);
	assert_standalone(path, "qcow2");
	{
		char *const argv[] = {"virsh",		"-q",	    "-c",
				      "qemu:///system", "vol-path", "vol1.qcow2",
				      "--pool",		pool,	    NULL};
		free(run_out(argv));
	}
	json_decref(r);
	/* the name is taken now */
	json_decref(sd(1, "volume", "from-snapshot", vm_web, "before-upgrade", "--disk", "vdb",
		       "--name", "vol1.qcow2", NULL));
	free(layer);
}

/* A full target pool: task failed, nothing left in the pool, no domain,
 * the source untouched. */
static void test_disk_full(void **state)
{
	char dir[600], name[96], poolname[64];
	char *layer, *sum1, *sum2;
	json_t *e, *tasks;
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/full", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=8m") != 0) {
		skip();
		return;
	}
	snprintf(poolname, sizeof(poolname), "%s-full", prefix);
	char *const def[] = {
	    "virsh",	"-q", "-c", "qemu:///system", "pool-create-as", poolname, "dir",
	    "--target", dir,  NULL};
	free(run_out(def));
	/* 24 MiB of data in vda, in a new snapshot */
	{
		json_t *show = sd(0, "vm", "show", vm_web, NULL), *d;
		size_t i;
		json_array_foreach(
		    json_object_get(show, "disks"), i,
		    d) if (strcmp(json_string_value(json_object_get(d, "target")), "vda") == 0)
		{
			char *const w[] = {"qemu-io",
					   "-f",
					   "qcow2",
					   "-c",
					   "write -P 0x5a 64M 24M",
					   (char *)json_string_value(json_object_get(d, "active")),
					   NULL};
			free(run_out(w));
		}
		json_decref(show);
	}
	json_decref(sd(0, "snapshot", "create", vm_web, "--name", "big", NULL));
	layer = snap_layer(vm_web, "big", "vda");
	sum1 = sum_of(layer);
	snprintf(name, sizeof(name), "%s-full", prefix);
	{
		char spec1[128], spec2[128];
		snprintf(spec1, sizeof(spec1), "vda:pool=%s", poolname);
		snprintf(spec2, sizeof(spec2), "vdb:pool=%s,format=raw", poolname);
		e = sd(1, "clone", vm_web, "big", "--name", name, "--disk", spec1, "--disk", spec2,
		       NULL);
	}
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
			    "no_space");
	json_decref(e);
	assert_int_equal(count_files(dir), 0);
	assert_false(domain_exists(name));
	sum2 = sum_of(layer);
	assert_string_equal(sum1, sum2);
	tasks = sd(0, "tasks", NULL);
	{
		json_t *t = json_array_get(tasks, json_array_size(tasks) - 1);
		assert_string_equal(json_string_value(json_object_get(t, "state")), "failed");
		assert_non_null(json_string_value(json_object_get(t, "error")));
	}
	json_decref(tasks);
	{
		char *const vl[] = {"virsh",	"-q",	  "-c", "qemu:///system",
				    "vol-list", poolname, NULL};
		char *out = run_out(vl);
		assert_null(strstr(out, dir));
		free(out);
	}
	char *const destroy[] = {"virsh",	 "-q",	   "-c", "qemu:///system",
				 "pool-destroy", poolname, NULL};
	sdtest_run(destroy, NULL, NULL);
	rc = umount(dir);
	assert_int_equal(rc, 0);
	free(layer);
	free(sum1);
	free(sum2);
}

static pid_t spawn_sd(char *const *args, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[32];
		const char *bin = getenv("SNAPDECK_BIN");
		size_t n = 0;
		FILE *f = freopen(log, "w", stdout);

		(void)f;
		dup2(1, 2);
		argv[n++] = (char *)(bin ? bin : "src/snapdeck");
		argv[n++] = "-c";
		argv[n++] = "qemu:///system";
		argv[n++] = "--catalog";
		argv[n++] = catalog;
		for (size_t i = 0; args[i] && n < 31; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Cancel mid-copy (a slow copy): the copy stops, the partial target goes,
 * no domain, the source untouched; another process sees it all. */
static void test_cancel(void **state)
{
	char name[96], log[600];
	long long id = -1;
	size_t before = count_files(pooldir);
	char *layer = snap_layer(vm_web, "before-upgrade", "vda"), *sum1 = sum_of(layer), *sum2;
	pid_t pid;
	json_t *r;

	(void)state;
	snprintf(name, sizeof(name), "%s-cancel", prefix);
	snprintf(log, sizeof(log), "%s/cancel.log", tmp);
	setenv("SNAPDECK_COPY_RATE_LIMIT", "1M", 1);
	char *args[] = {"clone", vm_web, "before-upgrade", "--name", name, NULL};
	pid = spawn_sd(args, log);
	unsetenv("SNAPDECK_COPY_RATE_LIMIT");
	for (int i = 0; i < 200 && id < 0; i++) {
		json_t *tasks = sd(0, "tasks", NULL), *t;
		size_t k;
		json_array_foreach(
		    tasks, k,
		    t) if (strcmp(json_string_value(json_object_get(t, "state")), "running") == 0 &&
			   json_integer_value(json_object_get(t, "bytes_done")) > 0) id =
		    json_integer_value(json_object_get(t, "id"));
		json_decref(tasks);
		usleep(100000);
	}
	if (id <= 0) {
		char *logtext = sdtest_read_file(log);
		fail_msg("no running task seen; the clone said: %s", logtext ? logtext : "");
	}
	{
		char ids[32];
		snprintf(ids, sizeof(ids), "%lld", id);
		r = sd(0, "tasks", "cancel", ids, NULL);
	}
	assert_string_equal(json_string_value(json_object_get(r, "state")), "cancelled");
	json_decref(r);
	assert_int_equal(wait_exit(pid), 1);
	assert_int_equal(count_files(pooldir), before);
	assert_false(domain_exists(name));
	sum2 = sum_of(layer);
	assert_string_equal(sum1, sum2);
	r = sd(0, "tasks", NULL);
	assert_string_equal(task_state(r, id), "cancelled");
	json_decref(r);
	/* the clone's layers are free again: the snapshot can be deleted later,
	 * and nothing is left unfinished */
	assert_no_unfinished();
	free(layer);
	free(sum1);
	free(sum2);
}

/* Two clones of one snapshot at once both complete correctly. */
static void test_two_at_once(void **state)
{
	char n1[96], n2[96], l1[600], l2[600];
	pid_t p1, p2;

	(void)state;
	snprintf(n1, sizeof(n1), "%s-twin1", prefix);
	snprintf(n2, sizeof(n2), "%s-twin2", prefix);
	snprintf(l1, sizeof(l1), "%s/twin1.log", tmp);
	snprintf(l2, sizeof(l2), "%s/twin2.log", tmp);
	char *a1[] = {"clone", vm_web, "before-upgrade", "--name", n1, "--json", NULL};
	char *a2[] = {"clone", vm_web, "before-upgrade", "--name", n2, "--json", NULL};
	p1 = spawn_sd(a1, l1);
	p2 = spawn_sd(a2, l2);
	assert_int_equal(wait_exit(p1), 0);
	assert_int_equal(wait_exit(p2), 0);
	for (int k = 0; k < 2; k++) {
		char *out = sdtest_read_file(k ? l2 : l1);
		json_t *r = json_loads(out, 0, NULL), *d;
		size_t i;
		assert_non_null(r);
		json_array_foreach(
		    json_object_get(json_object_get(json_object_get(r, "summary"), "clone"),
				    "disks"),
		    i, d)
		{
			char *layer = snap_layer(vm_web, "before-upgrade",
						 json_string_value(json_object_get(d, "target")));
			assert_same(layer, json_string_value(json_object_get(d, "path")));
			free(layer);
		}
		json_decref(r);
		free(out);
	}
	assert_true(domain_exists(n1));
	assert_true(domain_exists(n2));
	assert_no_unfinished();
}

/* The queue: with one worker slot, a second task waits as "queued" while the
 * first runs, and starts when the slot is free. */
static void test_queue(void **state)
{
	char n1[96], n2[96], l1[600], l2[600], ids[32];
	long long id1 = -1, id2 = -1;
	bool saw_queued = false;
	pid_t p1, p2;
	json_t *r;

	(void)state;
	snprintf(n1, sizeof(n1), "%s-q1", prefix);
	snprintf(n2, sizeof(n2), "%s-q2", prefix);
	snprintf(l1, sizeof(l1), "%s/q1.log", tmp);
	snprintf(l2, sizeof(l2), "%s/q2.log", tmp);
	setenv("SNAPDECK_WORKERS", "1", 1);
	setenv("SNAPDECK_COPY_RATE_LIMIT", "1M", 1);
	char *a1[] = {"clone", vm_web, "base-install", "--name", n1, NULL};
	p1 = spawn_sd(a1, l1);
	unsetenv("SNAPDECK_COPY_RATE_LIMIT");
	for (int i = 0; i < 200 && id1 < 0; i++) {
		json_t *tasks = sd(0, "tasks", NULL), *t;
		size_t k;
		json_array_foreach(tasks, k, t)
			if (strcmp(json_string_value(json_object_get(t, "state")), "running") == 0)
				id1 = json_integer_value(json_object_get(t, "id"));
		json_decref(tasks);
		usleep(100000);
	}
	assert_true(id1 > 0);
	char *a2[] = {"clone", vm_web, "base-install", "--name", n2, NULL};
	p2 = spawn_sd(a2, l2);
	for (int i = 0; i < 100 && !saw_queued; i++) {
		json_t *tasks = sd(0, "tasks", NULL), *t;
		size_t k;
		json_array_foreach(tasks, k, t)
			if (json_integer_value(json_object_get(t, "id")) > id1 &&
			    strcmp(json_string_value(json_object_get(t, "state")), "queued") == 0) {
				id2 = json_integer_value(json_object_get(t, "id"));
				saw_queued = true;
			}
		if (saw_queued)
			assert_string_equal(task_state(tasks, id1), "running");
		json_decref(tasks);
		usleep(100000);
	}
	assert_true(saw_queued);
	snprintf(ids, sizeof(ids), "%lld", id1);
	r = sd(0, "tasks", "cancel", ids, NULL);
	json_decref(r);
	assert_int_equal(wait_exit(p1), 1);
	assert_int_equal(wait_exit(p2), 0);
	unsetenv("SNAPDECK_WORKERS");
	r = sd(0, "tasks", NULL);
	assert_string_equal(task_state(r, id1), "cancelled");
	assert_string_equal(task_state(r, id2), "done");
	json_decref(r);
	assert_false(domain_exists(n1));
	assert_true(domain_exists(n2));
	assert_no_unfinished();
}

/* --detach: the command returns the task id at once; the task ends done. */
static void test_detach(void **state)
{
	char name[96];
	json_t *r, *tasks;
	long long id;
	const char *st = NULL;

	(void)state;
	snprintf(name, sizeof(name), "%s-det", prefix);
	r = sd(0, "clone", vm_web, "base-install", "--name", name, "--detach", NULL);
	id = json_integer_value(json_object_get(r, "task"));
	assert_true(id > 0);
	json_decref(r);
	tasks = sd(0, "tasks", "--follow", NULL);
	st = task_state(tasks, id);
	assert_non_null(st);
	assert_string_equal(st, "done");
	json_decref(tasks);
	assert_true(domain_exists(name));
}

static void cleanup_domains(void)
{
	static const char *const suffixes[] = {"c1",   "c1b",	 "c1c",	  "nics",  "sub", "miss",
					       "full", "cancel", "twin1", "twin2", "det", "q1", "q2"};
	char name[96];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s-%s", prefix, suffixes[i]);
		undefine(name);
	}
	snprintf(name, sizeof(name), "copy_of_%s", vm_web);
	undefine(name);
	snprintf(name, sizeof(name), "copy_of_%s_2", vm_web);
	undefine(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clone_content),
	    cmocka_unit_test(test_clone_macs),
	    cmocka_unit_test(test_clone_subset),
	    cmocka_unit_test(test_clone_missing_layer),
	    cmocka_unit_test(test_volume_from_snapshot),
	    cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_two_at_once),
	    cmocka_unit_test(test_queue), cmocka_unit_test(test_detach),
	};
	int rc;

	if (itclone_setup("clone", "sdc") != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cleanup_domains();
	itclone_teardown();
	return rc;
}
