/* Running VMs (issue 6) on real domains: the demo VM web (2 disks, no OS:
 * it sits in the BIOS, which writes nothing to its disks).
 *  - a live snapshot of a subset of the disks, then with the memory state;
 *    --quiesce without a guest agent is refused and changes nothing;
 *  - a live delete: a middle snapshot (block commit under the active layer)
 *    and the newest one (active commit with pivot on one disk, block pull
 *    on the other), each run as a task that ends done;
 *  - the preview of a snapshot with its memory: start resumes from it on the
 *    preview's layers, undo gives the state before back; a preview that
 *    leaves out a disk the memory state knows cannot be started;
 *  - crash:N at each step of a live snapshot with memory, then sync undoes
 *    it on the still running VM; fail:N at its live_snapshot step;
 *  - start and stop, and their refusals;
 *  - a VM with a disk snapdeck has no layer for (a pool volume): a live
 *    snapshot leaves it alone.
 * While the VM runs, the guest's own view of each disk is read through
 * QEMU: the node of the disk's device, exported read-only over NBD (QMP),
 * read with qemu-io; with the VM off, the files are read with qemu-io and
 * checked (it_check). */
#include "config.h"

#include <sys/wait.h>

#include <signal.h>

#include <fcntl.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/itlib.h"

static struct it it;
static struct it_model m;
static char vm[64];

#define S(n) (1u << (n))
#define ALL_SLOTS ((1u << IT_NSLOTS) - 1)
#define VDA 0
#define VDB 1

/* ---- small helpers ---- */

static char *virsh(const char *cmd, const char *arg1, const char *arg2)
{
	char *const argv[] = {"virsh",	   "-q",	 "-c",	       "qemu:///system",
			      (char *)cmd, (char *)arg1, (char *)arg2, NULL};
	return it_must(argv);
}

static char *domstate(void)
{
	char *s = virsh("domstate", vm, NULL);

	for (size_t l = strlen(s); l > 0 && (s[l - 1] == '\n' || s[l - 1] == ' '); l--)
		s[l - 1] = '\0';
	return s;
}

static void assert_domstate(const char *want)
{
	char *s = domstate();

	if (strcmp(s, want) != 0)
		fail_msg("%s is '%s', expected '%s'", vm, s, want);
	free(s);
}

static bool is_running(void)
{
	char *s = domstate();
	bool r = strcmp(s, "running") == 0;

	free(s);
	return r;
}

/* snapdeck ARGS --json (NULL-terminated) must succeed; returns its output. */
static json_t *sd_json(const char *a0, ...)
{
	char *args[32];
	size_t n = 0;
	va_list ap;

	args[n++] = (char *)a0;
	va_start(ap, a0);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 31;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return it_sdv(&it, NULL, 0, args);
}
#define sd_ok(...) json_decref(sd_json(__VA_ARGS__))

static void start_vm(void)
{
	sd_ok("start", vm, NULL);
	assert_domstate("running");
}

static void force_off(void)
{
	if (is_running())
		sd_ok("stop", vm, "--force", NULL);
	assert_domstate("shut off");
}

#define assert_refused(...) it_assert_refused(&it, __VA_ARGS__)

static long long unfinished(void)
{
	return it_cat_int(
	    &it, "SELECT count(*) FROM operations WHERE state IN ('planned','running')", NULL);
}

static char *last_op_state(void)
{
	return it_cat_text(&it, "SELECT state FROM operations ORDER BY id DESC LIMIT 1", NULL);
}

static char *memory_path_of(const char *snap)
{
	return it_cat_text(&it,
			   "SELECT s.memory_path FROM snapshots s JOIN vms v ON v.id = s.vm_id"
			   " WHERE v.name = ?1 AND s.name = ?2",
			   vm, snap, NULL);
}

/* The source of target in virsh domblklist (live, or --inactive). */
static char *blk_source(const char *target, bool inactive)
{
	char *const a1[] = {"virsh",	  "-q",	       "-c",	   "qemu:///system",
			    "domblklist", "--details", (char *)vm, NULL};
	char *const a2[] = {"virsh",	      "-q",	    "-c",
			    "qemu:///system", "domblklist", "--details",
			    "--inactive",     (char *)vm,   NULL};
	char *text = it_must(inactive ? a2 : a1), *save = NULL, *src = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char type[32], device[32], t[16];
		int used = 0;

		if (sscanf(line, " %31s %31s %15s %n", type, device, t, &used) < 3 || !used)
			continue;
		if (strcmp(device, "disk") != 0 || strcmp(t, target) != 0)
			continue;
		src = strdup(line + used);
		for (size_t l = strlen(src); l > 0 && src[l - 1] == ' '; l--)
			src[l - 1] = '\0';
	}
	free(text);
	if (!src)
		fail_msg("virsh domblklist%s %s: no disk %s", inactive ? " --inactive" : "", vm,
			 target);
	return src;
}

/* The disk object of target in vm show --json (caller's). */
static json_t *show_disk(const char *target)
{
	json_t *show = it_sd(&it, 0, "vm", "show", vm, NULL), *x, *r = NULL;
	size_t i;

	json_array_foreach(json_object_get(show, "disks"), i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "target")), target) == 0)
			r = json_incref(x);
	}
	json_decref(show);
	if (!r)
		fail_msg("vm show %s: no disk %s", vm, target);
	return r;
}

static json_t *show_chain(const char *target)
{
	json_t *d = show_disk(target);
	json_t *c = json_incref(json_object_get(d, "chain"));

	json_decref(d);
	assert_true(json_is_array(c) && json_array_size(c) > 0);
	return c;
}

static void assert_json_equal(const json_t *a, const json_t *b, const char *what)
{
	if (!json_equal((json_t *)a, (json_t *)b)) {
		char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);
		fail_msg("%s: %s, expected %s", what, y, x);
	}
}

/* qemu-img info -U --backing-chain: the file names, top first. */
static json_t *qemu_chain(const char *path)
{
	char *const argv[] = {"qemu-img",	 "info",       "-U", "--output=json",
			      "--backing-chain", (char *)path, NULL};
	char *out = it_must(argv);
	json_t *j = json_loads(out, 0, NULL), *names = json_array(), *l;
	size_t i;

	if (!j)
		fail_msg("qemu-img info %s: not JSON: %s", path, out);
	json_array_foreach(j, i, l) json_array_append(names, json_object_get(l, "filename"));
	json_decref(j);
	free(out);
	return names;
}

/* The QEMU device (alias) of target in the running domain. */
static char *alias_of(const char *target)
{
	char *xml = virsh("dumpxml", vm, NULL), *alias = NULL;
	char want[64];
	const char *t, *a, *end;

	snprintf(want, sizeof(want), "<target dev='%s'", target);
	t = strstr(xml, want);
	end = t ? strstr(t, "</disk>") : NULL;
	a = t ? strstr(t, "<alias name='") : NULL;
	if (!t || !a || !end || a > end)
		fail_msg("no alias for %s in the live XML of %s", target, vm);
	a += strlen("<alias name='");
	alias = strndup(a, strcspn(a, "'"));
	free(xml);
	return alias;
}

/* A QMP command to the VM's QEMU (virsh qemu-monitor-command); the
 * answer's "return", or NULL with *error set (caller frees both). */
static json_t *qmp(const char *cmd, char **error)
{
	char *const argv[] = {
	    "virsh", "-c", "qemu:///system", "qemu-monitor-command", (char *)vm, (char *)cmd, NULL};
	char *out = NULL, *err = NULL;
	json_t *j = NULL, *r = NULL;
	int rc = sdtest_run(argv, &out, &err);

	*error = NULL;
	if (rc == 0)
		j = json_loads(out, 0, NULL);
	r = j ? json_incref(json_object_get(j, "return")) : NULL;
	if (!r && asprintf(error, "%s: exit %d: %s%s", cmd, rc, out, err) < 0)
		abort();
	json_decref(j);
	free(out);
	free(err);
	return r;
}

/* Does the running guest see c on target? The node QEMU's device of target
 * reads from (query-block) is exported read-only over NBD on a socket, and
 * qemu-io reads each slot through it: the guest's own view of the whole
 * chain, whatever libvirt's XML or the files' headers say. */
static void assert_guest_reads(const char *target, const struct it_content *c, const char *what)
{
	char *alias = alias_of(target), *error = NULL, *problem = NULL;
	char sock[128], cmd[512], uri[256], qdev[128];
	const char *node = NULL;
	json_t *blocks, *x, *r;
	size_t i;

	snprintf(sock, sizeof(sock), "/tmp/sdt%d-nbd.sock", (int)getpid());
	snprintf(qdev, sizeof(qdev), "/machine/peripheral/%s/virtio-backend", alias);
	blocks = qmp("{\"execute\":\"query-block\"}", &error);
	if (!blocks)
		fail_msg("%s: %s", what, error);
	json_array_foreach(blocks, i, x)
	{
		const char *q = json_string_value(json_object_get(x, "qdev"));
		if (q && (strcmp(q, qdev) == 0 || strcmp(q, alias) == 0))
			node = json_string_value(
			    json_object_get(json_object_get(x, "inserted"), "node-name"));
	}
	if (!node) {
		char *t = json_dumps(blocks, JSON_COMPACT);
		fail_msg("%s: no block node for %s (%s) in query-block: %.3000s", what, target,
			 alias, t);
	}
	unlink(sock);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":"
		 "\"unix\",\"data\":{\"path\":\"%s\"}}}}",
		 sock);
	r = qmp(cmd, &error);
	if (!r)
		fail_msg("%s: %s", what, error);
	json_decref(r);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":\"nbd\","
		 "\"id\":\"itlive\",\"node-name\":\"%s\",\"name\":\"%s\","
		 "\"writable\":false}}",
		 node, target);
	r = qmp(cmd, &error);
	if (!r) {
		problem = error;
	} else {
		char cmds[IT_NSLOTS][96];
		char *argv[5 + 2 * IT_NSLOTS + 2];
		size_t n = 0;
		char *out = NULL, *err = NULL;
		int rc;

		json_decref(r);
		snprintf(uri, sizeof(uri), "nbd+unix:///%s?socket=%s", target, sock);
		argv[n++] = "qemu-io";
		argv[n++] = "-r";
		argv[n++] = "-f";
		argv[n++] = "raw";
		for (int s = 0; s < IT_NSLOTS; s++) {
			snprintf(cmds[s], sizeof(cmds[s]), "read -P 0x%02x %llu %llu", c->v[s],
				 (unsigned long long)it_slots[s].off,
				 (unsigned long long)it_slots[s].len);
			argv[n++] = "-c";
			argv[n++] = cmds[s];
		}
		argv[n++] = uri;
		argv[n] = NULL;
		rc = sdtest_run(argv, &out, &err);
		if (rc != 0 || strstr(out, "failed") || strstr(err, "failed") ||
		    strstr(err, "rror")) {
			char expect[IT_NSLOTS * 6 + 1] = "";
			for (int s = 0; s < IT_NSLOTS; s++)
				snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect),
					 "%02x ", c->v[s]);
			if (asprintf(&problem,
				     "the guest's %s (node %s) does not read [%s]: "
				     "qemu-io exit %d: %s%s",
				     target, node, expect, rc, out, err) < 0)
				abort();
		}
		free(out);
		free(err);
	}
	r = qmp("{\"execute\":\"nbd-server-stop\"}", &error);
	json_decref(r);
	free(error);
	unlink(sock);
	json_decref(blocks);
	free(alias);
	if (problem)
		fail_msg("%s: %s", what, problem);
}

/* The checks that hold while the VM runs (its images are locked: no
 * qemu-io on the files): it runs; no operation is unfinished and no lock
 * held; for each disk, the catalog's active layer is the live top (virsh
 * domblklist), the configured one (--inactive) and vm show's; vm show's
 * chain is the catalog's and qemu-img's (-U); the guest reads the model's
 * content through QEMU. */
static void check_running(const struct it_model *mm, const char *what)
{
	char label[256];

	assert_domstate("running");
	assert_int_equal(unfinished(), 0);
	assert_int_equal(it_cat_int(&it, "SELECT count(*) FROM locks", NULL), 0);
	for (size_t d = 0; d < mm->ndisks; d++) {
		const char *t = mm->targets[d];
		char *active = it_cat_active(&it, mm->vm, t);
		char *live = blk_source(t, false), *conf = blk_source(t, true);
		json_t *sd = show_disk(t), *cat = json_array(), *qc;
		char **chain;

		assert_non_null(active);
		if (strcmp(live, active) != 0 || strcmp(conf, active) != 0)
			fail_msg("%s: %s: the VM runs on %s (configured %s), the catalog says %s",
				 what, t, live, conf, active);
		assert_string_equal(json_string_value(json_object_get(sd, "active")), active);
		chain = it_cat_chain(&it, active);
		for (size_t i = 0; chain[i]; i++)
			json_array_append_new(cat, json_string(chain[i]));
		snprintf(label, sizeof(label), "%s: %s: vm show's chain", what, t);
		assert_json_equal(cat, json_object_get(sd, "chain"), label);
		qc = qemu_chain(active);
		snprintf(label, sizeof(label), "%s: %s: qemu-img's chain", what, t);
		assert_json_equal(cat, qc, label);
		snprintf(label, sizeof(label), "%s (running)", what);
		assert_guest_reads(t, &mm->active[d], label);
		json_decref(qc);
		json_decref(cat);
		json_decref(sd);
		it_strv_free(chain);
		free(active);
		free(live);
		free(conf);
	}
}

static json_t *snapshot_entry_of(const char *of, const char *name)
{
	json_t *list = it_sd(&it, 0, "snapshot", "list", of, NULL), *x, *r = NULL;
	size_t i;

	json_array_foreach(list, i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0)
			r = json_incref(x);
	}
	json_decref(list);
	if (!r)
		fail_msg("snapshot list %s: no %s", of, name);
	return r;
}

static json_t *snapshot_entry(const char *name)
{
	return snapshot_entry_of(vm, name);
}

static size_t nsnapshots(void)
{
	json_t *list = it_sd(&it, 0, "snapshot", "list", vm, NULL);
	size_t n = json_array_size(list);

	json_decref(list);
	return n;
}

/* The targets of a snapshot-list entry, joined by ','. */
static void entry_targets(const json_t *e, char *out, size_t len)
{
	json_t *x;
	size_t i;

	*out = '\0';
	json_array_foreach(json_object_get(e, "disks"), i, x)
	{
		if (i)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, json_string_value(json_object_get(x, "target")),
			len - strlen(out) - 1);
	}
}

static bool plan_has_job(const json_t *plan, const char *target, const char *job)
{
	json_t *st;
	size_t i;

	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		const json_t *a = json_object_get(st, "args");
		if (strcmp(json_string_value(json_object_get(st, "kind")), "block_job") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "target")), target) == 0 &&
		    strcmp(json_string_value(json_object_get(a, "job")), job) == 0)
			return true;
	}
	return false;
}

static size_t plan_count(const json_t *plan, const char *kind)
{
	json_t *st;
	size_t i, n = 0;

	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		if (strcmp(json_string_value(json_object_get(st, "kind")), kind) == 0)
			n++;
	}
	return n;
}

/* 1-based index of the first step of kind, 0 when none. */
static int plan_index(const json_t *plan, const char *kind)
{
	json_t *st;
	size_t i;

	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		if (strcmp(json_string_value(json_object_get(st, "kind")), kind) == 0)
			return (int)i + 1;
	}
	return 0;
}

/* The newest task of the VM: op snapshot delete, done, progress 1, its
 * label naming the snapshot; and it is a new one (id > after_id). */
static json_int_t assert_task_done(const char *snap, json_int_t after_id)
{
	json_t *tasks = it_sd(&it, 0, "tasks", NULL), *x, *t = NULL;
	char want[128];
	size_t i;
	json_int_t id;

	json_array_foreach(tasks, i, x)
	{
		const char *v = json_string_value(json_object_get(x, "vm"));
		if (v && strcmp(v, vm) == 0 &&
		    (!t || json_integer_value(json_object_get(x, "id")) >
			       json_integer_value(json_object_get(t, "id"))))
			t = x;
	}
	if (!t)
		fail_msg("tasks: none for %s", vm);
	id = json_integer_value(json_object_get(t, "id"));
	snprintf(want, sizeof(want), "@%s", snap);
	if (id <= after_id ||
	    strcmp(json_string_value(json_object_get(t, "op")), "snapshot delete") != 0 ||
	    strcmp(json_string_value(json_object_get(t, "state")), "done") != 0 ||
	    json_real_value(json_object_get(t, "progress")) != 1.0 ||
	    !json_is_null(json_object_get(t, "error")) ||
	    !strstr(json_string_value(json_object_get(t, "label")), want)) {
		char *text = json_dumps(t, JSON_COMPACT);
		fail_msg("the delete of %s: task %s (after task %lld)", snap, text,
			 (long long)after_id);
	}
	json_decref(tasks);
	return id;
}

/* ---- the tests ---- */

static void test_setup(void **state)
{
	(void)state;
	it_demo_setup(&it);
	it_model_demo(&it, &m, "web");
	snprintf(vm, sizeof(vm), "%s", m.vm);
	assert_int_equal(m.ndisks, 2);
	assert_string_equal(m.targets[VDA], "vda");
	assert_string_equal(m.targets[VDB], "vdb");
	assert_domstate("shut off");
	/* patterns of this test's own */
	it_model_stamp(&it, &m, "vda", S(0) | S(3), 0);
	it_model_stamp(&it, &m, "vdb", S(1) | S(6), S(4));
	it_check(&it, &m);
}

/* 1. Live snapshots: a subset, then with memory; --quiesce refused. */
static void test_live_snapshot(void **state)
{
	json_t *vda0, *vdb0, *vda1, *vdb1, *e, *rest;
	char targets[64], *mem, *xml, *want;
	struct it_state *before, *after;
	struct stat st;

	(void)state;
	force_off();
	start_vm();
	check_running(&m, "started");

	/* a subset: vda alone */
	vda0 = show_chain("vda");
	vdb0 = show_chain("vdb");
	sd_ok("snapshot", "create", vm, "--disks", "vda", "--name", "live1", NULL);
	it_model_add_snap(&m, "live1", S(VDA));
	vda1 = show_chain("vda");
	vdb1 = show_chain("vdb");
	if (json_array_size(vda1) != json_array_size(vda0) + 1)
		fail_msg("vda's chain has %zu layers after the snapshot, %zu before",
			 json_array_size(vda1), json_array_size(vda0));
	rest = json_array();
	for (size_t i = 1; i < json_array_size(vda1); i++)
		json_array_append(rest, json_array_get(vda1, i));
	assert_json_equal(vda0, rest, "vda's chain below the new top");
	assert_json_equal(vdb0, vdb1, "vdb's chain (not in the snapshot)");
	{
		char *live = blk_source("vda", false);
		assert_string_equal(live, json_string_value(json_array_get(vda1, 0)));
		free(live);
	}
	e = snapshot_entry("live1");
	entry_targets(e, targets, sizeof(targets));
	assert_string_equal(targets, "vda");
	assert_false(json_is_true(json_object_get(e, "memory")));
	/* its layer is vda's top of before */
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(e, "disks"), 0), "image")),
			    json_string_value(json_array_get(vda0, 0)));
	json_decref(e);
	check_running(&m, "after live1");
	json_decref(rest);
	json_decref(vda0);
	json_decref(vdb0);

	/* with the memory state, every disk: the VM goes on running */
	sd_ok("snapshot", "create", vm, "--memory", "--name", "livemem", NULL);
	it_model_add_snap(&m, "livemem", S(VDA) | S(VDB));
	assert_domstate("running");
	e = snapshot_entry("livemem");
	entry_targets(e, targets, sizeof(targets));
	assert_string_equal(targets, "vda,vdb");
	assert_true(json_is_true(json_object_get(e, "memory")));
	json_decref(e);
	mem = memory_path_of("livemem");
	assert_non_null(mem);
	if (stat(mem, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4096)
		fail_msg("memory state %s: missing or too small", mem);
	/* <id>.mem beside the new layer of the first disk */
	{
		char *top = it_cat_active(&it, vm, "vda");
		size_t l = strlen(top) - strlen(".qcow2");
		if (asprintf(&want, "%.*s.mem", (int)l, top) < 0)
			abort();
		assert_string_equal(mem, want);
		free(want);
		free(top);
	}
	/* a memory state libvirt can read */
	xml = virsh("save-image-dumpxml", mem, NULL);
	if (!strstr(xml, vm))
		fail_msg("save-image-dumpxml %s does not name %s:\n%s", mem, vm, xml);
	free(xml);
	free(mem);
	check_running(&m, "after livemem");
	json_decref(vda1);
	json_decref(vdb1);

	/* --quiesce without a guest agent: refused, nothing changed */
	before = it_state_take(&it, vm);
	vda0 = show_chain("vda");
	vdb0 = show_chain("vdb");
	assert_refused("guest agent", "snapshot", "create", vm, "--quiesce", "--name", "q1", NULL);
	after = it_state_take(&it, vm);
	it_state_assert_equal(before, after, "after a refused --quiesce");
	it_state_free(before);
	it_state_free(after);
	vda1 = show_chain("vda");
	vdb1 = show_chain("vdb");
	assert_json_equal(vda0, vda1, "vda's chain after --quiesce");
	assert_json_equal(vdb0, vdb1, "vdb's chain after --quiesce");
	assert_int_equal(nsnapshots(), m.nsnaps);
	check_running(&m, "after the refused --quiesce");
	json_decref(vda0);
	json_decref(vdb0);
	json_decref(vda1);
	json_decref(vdb1);

	force_off();
	it_check(&it, &m);
}

/* 2. Live delete of a middle snapshot, then of the newest. */
static void test_live_delete(void **state)
{
	char *a_del[] = {"snapshot", "delete", vm, "A", NULL};
	char *b_del[] = {"snapshot", "delete", vm, "B", NULL};
	json_t *plan;
	json_int_t task;

	(void)state;
	force_off();
	/* A: vda's new top gets much (P1 in R1), vdb's a little */
	it_snapshot(&it, &m, "A", NULL);
	it_model_stamp(&it, &m, "vda", S(0) | S(2) | S(3) | S(4) | S(6), 0);
	it_model_stamp(&it, &m, "vdb", S(1), 0);
	/* B: on vda little (P2 in R2, P3 over part of R1, zeros over P1);
	 * on vdb much (so that B's delete pulls on vdb, commits on vda) */
	it_snapshot(&it, &m, "B", NULL);
	it_model_stamp(&it, &m, "vda", S(1), 0);
	it_model_stamp(&it, &m, "vda", S(0), S(3));
	it_model_stamp(&it, &m, "vdb", ALL_SLOTS & ~S(5), S(5));
	it_check(&it, &m);
	start_vm();
	check_running(&m, "started for the deletes");
	task = it_cat_int(&it, "SELECT IFNULL(max(id), 0) FROM tasks", NULL);

	/* A: its layers' children are in the middle of the running chains */
	plan = it_planv(&it, a_del, NULL, NULL);
	if (!plan_has_job(plan, "vda", "commit") || !plan_has_job(plan, "vdb", "commit") ||
	    plan_count(plan, "block_job") != 2 || plan_count(plan, "qemu_commit") ||
	    plan_count(plan, "qemu_rebase")) {
		char *t = json_dumps(plan, JSON_COMPACT);
		fail_msg("delete A: the plan should commit under the active layer: %s", t);
	}
	json_decref(plan);
	sd_ok("snapshot", "delete", vm, "A", NULL);
	it_model_remove_snap(&m, "A");
	task = assert_task_done("A", task);
	check_running(&m, "after deleting A");

	/* B: the newest; its layers' children are the active layers */
	plan = it_planv(&it, b_del, NULL, NULL);
	if (!plan_has_job(plan, "vda", "active_commit") || !plan_has_job(plan, "vdb", "pull") ||
	    plan_count(plan, "block_job") != 2 || plan_count(plan, "qemu_commit") ||
	    plan_count(plan, "qemu_rebase")) {
		char *t = json_dumps(plan, JSON_COMPACT);
		fail_msg("delete B: the plan should active-commit vda and pull vdb: %s", t);
	}
	json_decref(plan);
	sd_ok("snapshot", "delete", vm, "B", NULL);
	it_model_remove_snap(&m, "B");
	assert_task_done("B", task);
	check_running(&m, "after deleting B");

	force_off();
	it_check(&it, &m);
	it_check_by_preview(&it, &m);
}

/* 2b. Cancelling a live delete: the block job is aborted, the chain is as it
 * was, the operation is undone (even though the merge was its point of no
 * return: nothing had changed), the snapshot stays and reads the same. */
static void test_cancel_live_delete(void **state)
{
	json_t *before, *after, *tasks, *x;
	char *argv[16], *big_top;
	json_int_t task = 0;
	pid_t pid;
	int status, waited = 0;
	size_t n = 0, i;

	(void)state;
	force_off();
	it_snapshot(&it, &m, "C", NULL);
	/* 24 MiB in the layer above C's, far from the model's regions */
	before = sd_json("vm", "show", vm, NULL);
	big_top = strdup(json_string_value(
		json_object_get(json_array_get(json_object_get(before, "disks"), 0), "active")));
	json_decref(before);
	{
		char *const io[] = {"qemu-io", "-f", "qcow2", "-c", "write -P 0xc3 1536M 24M",
				    big_top, NULL};
		free(it_must(io));
	}
	free(big_top);
	it_snapshot(&it, &m, "D", NULL);
	start_vm();
	before = sd_json("vm", "show", vm, NULL);

	/* at 1 MiB/s the merge of C (24 MiB, in the middle of vda's chain)
	 * takes long enough to be cancelled */
	argv[n++] = getenv("SNAPDECK_BIN");
	argv[n++] = "-c";
	argv[n++] = "qemu:///system";
	argv[n++] = "--catalog";
	argv[n++] = it.catalog;
	argv[n++] = "snapshot";
	argv[n++] = "delete";
	argv[n++] = vm;
	argv[n++] = "C";
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("SNAPDECK_COPY_RATE_LIMIT", "1M", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	/* the task runs and moves */
	for (int tries = 0; tries < 200 && !task; tries++) {
		tasks = it_sd(&it, 0, "tasks", NULL);
		json_array_foreach(tasks, i, x)
		{
			const char *label = json_string_value(json_object_get(x, "label"));
			if (label && strstr(label, "@C") &&
			    strcmp(json_string_value(json_object_get(x, "state")), "running") == 0 &&
			    json_real_value(json_object_get(x, "progress")) > 0)
				task = json_integer_value(json_object_get(x, "id"));
		}
		json_decref(tasks);
		if (!task)
			usleep(100 * 1000);
	}
	if (!task) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("the delete's task never ran with progress");
	}
	{
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)task);
		sd_ok("tasks", "cancel", id, NULL);
	}
	while (waitpid(pid, &status, WNOHANG) == 0 && waited++ < 300)
		usleep(100 * 1000);
	if (waited > 300) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("the cancelled delete did not end");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	/* the task says so; the chain, the snapshots and the journal are as before */
	tasks = it_sd(&it, 0, "tasks", NULL);
	json_array_foreach(tasks, i, x)
		if (json_integer_value(json_object_get(x, "id")) == task)
			assert_string_equal(json_string_value(json_object_get(x, "state")),
					    "cancelled");
	json_decref(tasks);
	after = sd_json("vm", "show", vm, NULL);
	if (!json_equal(json_object_get(before, "disks"), json_object_get(after, "disks"))) {
		char *b = json_dumps(before, JSON_COMPACT), *a = json_dumps(after, JSON_COMPACT);
		fail_msg("the chains changed:\n%s\n%s", b, a);
	}
	json_decref(before);
	json_decref(after);
	assert_int_equal(it_cat_int(&it, "SELECT count(*) FROM operations WHERE state IN "
				    "('planned', 'running')",
				    NULL),
			 0);
	check_running(&m, "after the cancel");
	force_off();
	it_check(&it, &m);
}

/* 3. The preview of a snapshot with its memory; start resumes from it. */
static void test_memory_preview(void **state)
{
	struct it_model pre, p;
	json_t *j, *ev, *x;
	char *mem;
	size_t i;
	bool said = false;

	(void)state;
	force_off();
	start_vm();
	sd_ok("snapshot", "create", vm, "--memory", "--name", "M", NULL);
	it_model_add_snap(&m, "M", S(VDA) | S(VDB));
	mem = memory_path_of("M");
	assert_non_null(mem);
	assert_int_equal(access(mem, F_OK), 0);
	force_off();
	/* later writes, with the VM off */
	it_model_stamp(&it, &m, "vda", S(2) | S(5), S(0));
	it_model_stamp(&it, &m, "vdb", S(0) | S(3), 0);
	pre = m;

	sd_ok("preview", vm, "--config", "M", "--memory", NULL);
	p = m;
	p.in_preview = true;
	p.active[VDA] = it_model_snap(&m, "M")->c[VDA];
	p.active[VDB] = it_model_snap(&m, "M")->c[VDB];
	it_check(&it, &p);

	j = sd_json("start", vm, NULL);
	if (!strstr(json_string_value(json_object_get(j, "message")), "memory state"))
		fail_msg("start in a memory preview: %s",
			 json_string_value(json_object_get(j, "message")));
	json_decref(j);
	assert_domstate("running");
	j = sd_json("vm", "list", NULL);
	json_array_foreach(j, i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "name")), vm) == 0) {
			assert_string_equal(json_string_value(json_object_get(x, "state")),
					    "running");
			assert_true(json_is_true(json_object_get(x, "in_preview")));
		}
	}
	json_decref(j);
	ev = sd_json("events", "--vm", vm, NULL);
	json_array_foreach(ev, i, x)
	{
		const char *msg = json_string_value(json_object_get(x, "message"));
		said = said || (strcmp(json_string_value(json_object_get(x, "op")), "start") == 0 &&
				strstr(msg, "memory state") && strstr(msg, "M"));
	}
	if (!said) {
		char *t = json_dumps(ev, JSON_COMPACT);
		fail_msg("no start event mentions the memory state of M: %.3000s", t);
	}
	json_decref(ev);
	/* the guest runs on the preview's layers (not on M's) and sees M's
	 * content through them */
	check_running(&p, "resumed from M");
	force_off();
	it_check(&it, &p);
	/* the memory state is M's still */
	assert_int_equal(access(mem, F_OK), 0);
	free(mem);

	sd_ok("undo", vm, NULL);
	m = pre;
	it_check(&it, &m);

	/* a memory state knows every disk as it was: it comes only with all of
	 * them (a guest resumed on a disk it did not see would corrupt it) */
	start_vm();
	assert_refused("every disk", "snapshot", "create", vm, "--memory", "--disks", "vda",
		       "--name", "Mv", NULL);
	force_off();
	it_check(&it, &m);
}

/* 4. crash:N at every step of a live snapshot with memory: sync undoes it
 * on the running VM; fail:N at its live_snapshot step. */
static void test_crash_live_snapshot(void **state)
{
	char *args[] = {"snapshot", "create", vm, "--memory", "--name", "crashy", NULL};
	char *top0[2], fault[32];
	struct it_state *before, *after;
	json_t *plan;
	size_t nsteps;
	int pnr, i_live, i_def, i_cat;

	(void)state;
	force_off();
	start_vm();
	plan = it_planv(&it, args, &nsteps, &pnr);
	i_live = plan_index(plan, "live_snapshot");
	i_def = plan_index(plan, "define_domain");
	i_cat = plan_index(plan, "catalog");
	if (plan_count(plan, "create_overlay") != 2 || i_live != 3 || i_def != 4 || i_cat != 5 ||
	    nsteps != 5 || pnr != i_cat) {
		char *t = json_dumps(plan, JSON_COMPACT);
		fail_msg("the live snapshot's plan: %s", t);
	}
	json_decref(plan);
	top0[VDA] = it_cat_active(&it, vm, "vda");
	top0[VDB] = it_cat_active(&it, vm, "vdb");
	before = it_state_take(&it, vm);

	for (int n = 1; n <= (int)nsteps + 1; n++) {
		char *out = NULL, *err = NULL, *st, *ev;
		bool fail = n > (int)nsteps; /* the last round: fail at live_snapshot */
		json_t *j;
		int rc;

		snprintf(fault, sizeof(fault), "%s:%d", fail ? "fail" : "crash", fail ? i_live : n);
		rc = it_sd_rawv(&it, fault, &out, &err, args);
		if (!fail) {
			if (rc != 137)
				fail_msg("%s: exit %d, not 137\n%s%s", fault, rc, out, err);
			assert_int_equal(unfinished(), 1);
			/* once past live_snapshot, the VM runs on the new layers */
			if (n > i_live) {
				char *live = blk_source("vda", false);
				if (strcmp(live, top0[VDA]) == 0)
					fail_msg("%s: the VM still runs on %s", fault, live);
				free(live);
			}
			j = it_sd(&it, 0, "sync", vm, NULL);
			assert_int_equal(json_integer_value(json_object_get(j, "recovered")), 1);
			json_decref(j);
			ev = it_cat_text(
			    &it,
			    "SELECT message FROM events WHERE vm_name = ?1 AND op = 'sync'"
			    " ORDER BY id DESC LIMIT 1",
			    vm, NULL);
			if (!ev || !strstr(ev, "undone"))
				fail_msg("%s: sync should have undone it: %s", fault,
					 ev ? ev : "(no event)");
			free(ev);
		} else if (rc != 1 || !strstr(err, "injected failure") ||
			   strchr(err, '\n') != err + strlen(err) - 1) {
			fail_msg("%s: exit %d, stderr [%s]", fault, rc, err);
		}
		free(out);
		free(err);
		assert_int_equal(unfinished(), 0);
		st = last_op_state();
		assert_string_equal(st, "rolled_back");
		free(st);
		/* the VM runs on its old tops again; no layer, memory file or
		 * row of the snapshot is left */
		after = it_state_take(&it, vm);
		{
			char what[64];
			snprintf(what, sizeof(what), "after %s and sync", fault);
			it_state_assert_equal(before, after, what);
			check_running(&m, what);
		}
		it_state_free(after);
		for (int d = 0; d < 2; d++) {
			char *live = blk_source(m.targets[d], false);
			assert_string_equal(live, top0[d]);
			free(live);
		}
	}
	it_state_free(before);
	free(top0[VDA]);
	free(top0[VDB]);
	force_off();
	it_check(&it, &m);
}

/* 4b. A crash inside a live delete, after its block jobs (past the point of
 * no return): sync finishes it, and the task that ran it ends "done". */
static void test_crash_live_delete(void **state)
{
	char *args[] = {"snapshot", "delete", vm, "E", NULL};
	char *out = NULL, *err = NULL;
	json_t *tasks, *x, *j;
	json_int_t after_id;
	size_t i;
	int rc;

	(void)state;
	force_off();
	it_snapshot(&it, &m, "E", NULL);
	it_model_stamp(&it, &m, "vda", S(2), 0);
	it_snapshot(&it, &m, "F", NULL);
	start_vm();
	after_id = it_cat_int(&it, "SELECT IFNULL(max(id), 0) FROM tasks", NULL);
	/* steps: the block jobs (1, 2), the catalog (3), the deletes */
	rc = it_sd_rawv(&it, "crash:3", &out, &err, args);
	if (rc != 137)
		fail_msg("crash:3: exit %d, not 137\n%s%s", rc, out, err);
	free(out);
	free(err);
	assert_int_equal(unfinished(), 1);
	j = it_sd(&it, 0, "sync", vm, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "recovered")), 1);
	json_decref(j);
	it_model_remove_snap(&m, "E");
	tasks = it_sd(&it, 0, "tasks", NULL);
	json_array_foreach(tasks, i, x)
		if (json_integer_value(json_object_get(x, "id")) > after_id)
			assert_string_equal(json_string_value(json_object_get(x, "state")), "done");
	json_decref(tasks);
	check_running(&m, "after the crashed delete was finished");
	force_off();
	it_check(&it, &m);
}

/* 5. start and stop, and what they (and a preview) refuse. */
static void test_start_stop(void **state)
{
	struct it_state *before, *after;

	(void)state;
	force_off();
	assert_refused("not running", "stop", vm, NULL);
	start_vm();
	assert_refused("running already", "start", vm, NULL);
	before = it_state_take(&it, vm);
	assert_refused("snapdeck stop", "preview", vm, "--config", "base-install", NULL);
	after = it_state_take(&it, vm);
	it_state_assert_equal(before, after, "after a refused preview of a running VM");
	it_state_free(before);
	it_state_free(after);
	/* no OS: the BIOS ignores the ACPI power button */
	assert_refused("--force", "stop", vm, "--timeout", "2", NULL);
	{
		char *out = NULL, *err = NULL;
		char want[160];
		int rc = it_sd_raw(&it, NULL, &out, &err, "stop", vm, "--timeout", "1", NULL);
		snprintf(want, sizeof(want), "VM '%s' did not shut down within 1 s", vm);
		if (rc != 1 || !strstr(err, want))
			fail_msg("stop --timeout 1: exit %d, stderr [%s] (wanted [%s])", rc, err,
				 want);
		free(out);
		free(err);
	}
	assert_domstate("running");
	sd_ok("stop", vm, "--force", NULL);
	assert_domstate("shut off");
	assert_refused("not running", "stop", vm, NULL);
	it_check(&it, &m);
}

/* 6. A running VM with a disk snapdeck has no layer for (a pool volume by
 * name): a live snapshot leaves that disk alone and takes the others. */
static void test_unmanaged_disk(void **state)
{
	char *build = it_vm(&it, "build"), pool[80], vol[96], xmlpath[512], *out, *top0, *top1;
	FILE *f;
	json_t *e;
	char targets[32];

	(void)state;
	snprintf(pool, sizeof(pool), "snapdeck-%s", it.prefix);
	snprintf(vol, sizeof(vol), "%s-build-extra.qcow2", it.prefix);
	snprintf(xmlpath, sizeof(xmlpath), "%s/vdc.xml", it.tmp);
	{
		char *const argv[] = {"virsh",	       "-q",	"-c", "qemu:///system",
				      "vol-create-as", pool,	vol,  "64M",
				      "--format",      "qcow2", NULL};
		free(it_must(argv));
	}
	f = fopen(xmlpath, "w");
	assert_non_null(f);
	fprintf(f,
		"<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
		"<source pool='%s' volume='%s'/><target dev='vdc' bus='virtio'/></disk>\n",
		pool, vol);
	fclose(f);
	{
		char *const argv[] = {
		    "virsh", "-q",	 "-c", "qemu:///system", "attach-device", build,
		    xmlpath, "--config", NULL};
		free(it_must(argv));
	}
	sd_ok("start", build, NULL);
	top0 = it_cat_active(&it, build, "vda");
	sd_ok("snapshot", "create", build, "--name", "with-vdc", NULL);
	top1 = it_cat_active(&it, build, "vda");
	assert_string_not_equal(top0, top1);
	e = snapshot_entry_of(build, "with-vdc");
	entry_targets(e, targets, sizeof(targets));
	assert_string_equal(targets, "vda");
	json_decref(e);
	{
		char *const argv[] = {"virsh",	    "-q",	 "-c",	"qemu:///system",
				      "domblklist", "--details", build, NULL};
		out = it_must(argv);
		if (!strstr(out, top1) || !strstr(out, vol))
			fail_msg("%s runs on: %s (wanted vda on %s, vdc on %s)", build, out, top1,
				 vol);
		free(out);
	}
	/* the volume was not snapshotted: no file beside it */
	{
		char *const argv[] = {"virsh",	     "-q",     "-c", "qemu:///system",
				      "vol-dumpxml", "--pool", pool, vol,
				      NULL};
		out = it_must(argv);
		if (strstr(out, "<backingStore>"))
			fail_msg("%s got a backing file: %s", vol, out);
		free(out);
	}
	{
		char *const argv[] = {"virsh",	 "-q",	"-c", "qemu:///system",
				      "destroy", build, NULL};
		free(it_must(argv));
	}
	{
		char *const d[] = {"virsh",	  "-q",	 "-c",	"qemu:///system",
				   "detach-disk", build, "vdc", "--config",
				   NULL};
		char *const v[] = {"virsh", "-q", "-c", "qemu:///system", "vol-delete", "--pool",
				   pool,    vol,  NULL};
		free(it_must(d));
		free(it_must(v));
	}
	free(top0);
	free(top1);
	free(build);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_live_snapshot),
	    cmocka_unit_test(test_live_delete),
	    cmocka_unit_test(test_cancel_live_delete),
	    cmocka_unit_test(test_memory_preview),
	    cmocka_unit_test(test_crash_live_snapshot),
	    cmocka_unit_test(test_crash_live_delete),
	    cmocka_unit_test(test_start_stop),
	    cmocka_unit_test(test_unmanaged_disk),
	};
	int rc;

	it_init(&it, "live", 'l');
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_cleanup(&it);
	return rc;
}
