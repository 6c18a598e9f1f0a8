/* The crash/fail matrix: every operation of the snapshot engine (snapshot
 * create, preview, undo, commit with and without data in the tops, commit
 * --prune, revert, snapshot delete by rebase, by commit and mixed), and
 * every step N of its plan (.plan.steps of --dry-run --json):
 *  - SNAPDECK_FAULT=crash:N: the process dies (137) just before step N;
 *    `snapdeck sync VM` then rolls the operation back (N at or before the
 *    point of no return) or forward (after it);
 *  - SNAPDECK_FAULT=fail:N: exit 1 and an error event; before the point of
 *    no return the operation is undone at once; from it on, sync finishes it.
 * A rolled-back operation leaves exactly the state before (catalog rows,
 * files, domain XML); a finished one the state the test expects. After
 * each: libvirt, catalog and files agree, no layer is lost, qemu-img check
 * is clean, the VM and every snapshot read their content (it_check); once
 * per operation every snapshot is previewed, read and undone. One VM is
 * reused: an operation that finished is set up again from the state it
 * left. Revert is a preview then a commit, each counting its own steps:
 * the faults hit its preview (its commit is the commit matrices' code).
 * Then: a sync that crashes (and fails) while finishing a crashed
 * operation, and the next operation (not sync) recovering a crash.
 * IT_CRASH_ONLY=TEXT runs only the matrices whose title has TEXT;
 * IT_PROFILE=1 prints timings. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/integration/itlib.h"

static struct it it;
static struct it_model m;   /* the VM as it is */
static struct it_model pre; /* the VM before the open preview */
static char vm[64];
static int counter;

#define S(n) (1u << (n))
#define ALL_SLOTS ((1u << IT_NSLOTS) - 1)

/* ---- states the operations start from ---- */

enum kind { K_NONE, K_PREVIEW_UNDO, K_PREVIEW_DATA, K_PREVIEW_NODATA, K_PREVIEW_PRUNE };
static enum kind open_preview = K_NONE; /* what the open preview was made for */
static bool ready;			/* the operation's start state is there */
static char prune_a[64], prune_b[64];

static void do_preview(enum kind k, ...)
{
	char *args[16];
	size_t n = 0;
	va_list ap;
	json_t *j;

	args[n++] = "preview";
	args[n++] = vm;
	va_start(ap, k);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	pre = m;
	j = it_sdv(&it, NULL, 0, args);
	json_decref(j);
	m.in_preview = true;
	open_preview = k;
}

static void end_preview(void)
{
	json_t *j;

	if (!m.in_preview)
		return;
	j = it_sd(&it, 0, "undo", vm, NULL);
	json_decref(j);
	m = pre;
	open_preview = K_NONE;
}

/* The active content of a disk becomes snapshot name's. */
static void take_from(const char *name, const char *target)
{
	int d = it_model_disk(&m, target);
	struct it_snap *s = it_model_snap(&m, name);

	assert_non_null(s);
	assert_true(s->has[d]);
	m.present[d] = true;
	m.active[d] = s->c[d];
}

static void stamp(const char *target, unsigned mask)
{
	it_model_stamp(&it, &m, target, mask, 0);
}

/* The snapshot the catalog has and the model does not (an automatic one). */
static const char *new_snapshot_name(void)
{
	static char name[512];
	json_t *list = it_sd(&it, 0, "snapshot", "list", vm, NULL), *x;
	size_t i;
	int found = 0;

	json_array_foreach(list, i, x)
	{
		const char *n = json_string_value(json_object_get(x, "name"));
		if (!it_model_snap(&m, n)) {
			snprintf(name, sizeof(name), "%s", n);
			found++;
		}
	}
	json_decref(list);
	assert_int_equal(found, 1);
	return name;
}

/* ---- the operations ---- */

struct op {
	const char *title;
	char *args[12];
	void (*setup)(void);   /* makes the start state (when !ready) */
	void (*finish)(void);  /* the model after the operation finished */
	const char *must_have; /* a step kind the plan must have, or NULL */
	const char *must_not;  /* one it must not have, or NULL */
};

static void setup_plain(void)
{
	end_preview();
}

static void finish_create(void)
{
	it_model_add_snap(&m, "crash-create", S(0) | S(1));
}

static void finish_preview(void)
{
	pre = m;
	take_from("S1", "vda");
	m.present[1] = false;
	m.in_preview = true;
	open_preview = K_PREVIEW_UNDO; /* undo ends it */
}

static void setup_undo(void)
{
	if (open_preview != K_PREVIEW_UNDO)
		end_preview();
	if (m.in_preview)
		return;
	do_preview(K_PREVIEW_UNDO, "--config", "S1", "--disk", "vda=S2", NULL);
	take_from("S2", "vda");
	take_from("S1", "vdb");
	/* written during the preview: undo drops it, a rolled-back undo keeps it */
	stamp("vda", S(2) | S(3));
	stamp("vdb", S(6));
}

static void finish_undo(void)
{
	m = pre;
	open_preview = K_NONE;
}

static void setup_commit_data(void)
{
	end_preview();
	/* data in the tops: the commit keeps them as an automatic snapshot */
	stamp("vda", S(1) | S(6));
	stamp("vdb", S(2));
	do_preview(K_PREVIEW_DATA, "--config", "S1", NULL);
	take_from("S1", "vda");
	take_from("S1", "vdb");
	stamp("vdb", S(4));
}

static void finish_commit_data(void)
{
	const char *a = new_snapshot_name();

	{
		struct it_model now = m;
		m = pre;
		it_model_add_snap(&m, a, S(0) | S(1));
		memcpy(now.snaps, m.snaps, sizeof(now.snaps));
		now.nsnaps = m.nsnaps;
		m = now;
	}
	m.in_preview = false;
	open_preview = K_NONE;
}

/* Deletes a helper snapshot an earlier set-up made (not faulted): the
 * matrices reuse one VM, and its tree should not grow with every run. */
static void drop_helper(char *name)
{
	json_t *j;

	if (!*name || !it_model_snap(&m, name))
		return;
	j = it_sd(&it, 0, "snapshot", "delete", vm, name, NULL);
	json_decref(j);
	it_model_remove_snap(&m, name);
	*name = '\0';
}

static char helper[64];

static void setup_commit_nodata(void)
{
	char name[32];

	end_preview();
	drop_helper(helper);
	/* empty tops; vdb's preview layer rests on its top, which the commit
	 * drops: the preview layer is re-pointed past it */
	snprintf(name, sizeof(name), "n-%d", ++counter);
	it_snapshot(&it, &m, name, NULL);
	snprintf(helper, sizeof(helper), "%s", name);
	do_preview(K_PREVIEW_NODATA, "--config", "S1", "--disk", "vdb=current", NULL);
	take_from("S1", "vda");
	stamp("vdb", S(0) | S(5));
	stamp("vda", S(3));
}

static void finish_commit_nodata(void)
{
	m.in_preview = false;
	open_preview = K_NONE;
}

static void setup_prune(void)
{
	end_preview();
	drop_helper(helper);
	counter++;
	/* pA stays after a prune that finished: the next run prunes under it
	 * again */
	if (!*prune_a || !it_model_snap(&m, prune_a)) {
		snprintf(prune_a, sizeof(prune_a), "pA-%d", counter);
		stamp("vda", S(2));
		it_snapshot(&it, &m, prune_a, NULL);
	}
	snprintf(prune_b, sizeof(prune_b), "pB-%d", counter);
	stamp("vda", S(0));
	stamp("vdb", S(3));
	it_snapshot(&it, &m, prune_b, NULL);
	stamp("vdb", S(5));
	do_preview(K_PREVIEW_PRUNE, "--config", prune_a, NULL);
	take_from(prune_a, "vda");
	take_from(prune_a, "vdb");
}

static void finish_prune(void)
{
	it_model_remove_snap(&m, prune_b);
	m.in_preview = false;
	open_preview = K_NONE;
}

static void finish_revert(void)
{
	fail_msg("a revert whose preview part was interrupted cannot have finished");
}

static void setup_delete_rebase(void)
{
	char name[32];

	end_preview();
	drop_helper(helper);
	/* dR's layers hold little, the layers on them much: pulling dR's data
	 * up (rebase) is the cheaper move */
	snprintf(name, sizeof(name), "dR0-%d", ++counter);
	it_snapshot(&it, &m, name, NULL);
	snprintf(helper, sizeof(helper), "%s", name);
	stamp("vda", S(0));
	stamp("vdb", S(0));
	it_snapshot(&it, &m, "dR", NULL);
	stamp("vda", ALL_SLOTS);
	stamp("vdb", ALL_SLOTS);
}

static void finish_delete_rebase(void)
{
	it_model_remove_snap(&m, "dR");
}

static void setup_delete_commit(void)
{
	end_preview();
	if (it_model_snap(&m, "dC"))
		return; /* there from an earlier run */
	/* dC's layers hold much, the layers on them little: committing those
	 * down is the cheaper move */
	stamp("vda", ALL_SLOTS);
	stamp("vdb", ALL_SLOTS);
	it_snapshot(&it, &m, "dC", NULL);
	stamp("vda", S(0));
	stamp("vdb", S(0));
}

static void finish_delete_commit(void)
{
	it_model_remove_snap(&m, "dC");
}

static void setup_delete_mixed(void)
{
	char name[32];

	end_preview();
	drop_helper(helper);
	/* vda: dM's layer holds little (rebase up); vdb: much (commit down) */
	snprintf(name, sizeof(name), "dM0-%d", ++counter);
	it_snapshot(&it, &m, name, NULL);
	snprintf(helper, sizeof(helper), "%s", name);
	stamp("vda", S(3));
	stamp("vdb", ALL_SLOTS);
	it_snapshot(&it, &m, "dM", NULL);
	stamp("vda", ALL_SLOTS);
	stamp("vdb", S(1));
}

static void finish_delete_mixed(void)
{
	it_model_remove_snap(&m, "dM");
}

/* ---- the matrix ---- */

static char *last_sync_event(void)
{
	return it_cat_text(&it,
			   "SELECT message FROM events WHERE vm_name = ?1 AND op = 'sync'"
			   " ORDER BY id DESC LIMIT 1",
			   vm, NULL);
}

static char *last_op_state(void)
{
	return it_cat_text(&it, "SELECT state FROM operations ORDER BY id DESC LIMIT 1", NULL);
}

static long long unfinished(void)
{
	return it_cat_int(
	    &it, "SELECT count(*) FROM operations WHERE state IN ('planned','running')", NULL);
}

static bool plan_has(const json_t *plan, const char *kind)
{
	size_t i;
	json_t *st;

	json_array_foreach(json_object_get(plan, "steps"), i,
			   st) if (strcmp(json_string_value(json_object_get(st, "kind")), kind) ==
				   0) return true;
	return false;
}

static void run_matrix(struct op *op)
{
	size_t nsteps0 = 0;
	int pnr0 = 0;
	time_t t0 = time(NULL);
	int finished_runs = 0;

	if (getenv("IT_CRASH_ONLY") && !strstr(op->title, getenv("IT_CRASH_ONLY")))
		return;
	ready = false;
	for (size_t n = 1;; n++) {
		for (int mode = 0; mode < 2; mode++) {
			struct it_model before_model;
			struct it_state *before, *after;
			char fault[32], *out = NULL, *err = NULL, *st;
			size_t nsteps;
			int pnr, rc;
			bool finishes;
			json_t *plan;

			if (!ready) {
				op->setup();
				it_check(&it, &m);
				ready = true;
			}
			plan = it_planv(&it, op->args, &nsteps, &pnr);
			if (n == 1 && mode == 0) {
				nsteps0 = nsteps;
				pnr0 = pnr;
				/* must_have: kinds joined by '+' */
				for (const char *k = op->must_have; k && *k;) {
					const char *plus = strchr(k, '+');
					char kind[32];
					snprintf(kind, sizeof(kind), "%.*s",
						 (int)(plus ? (size_t)(plus - k) : strlen(k)), k);
					if (!plan_has(plan, kind))
						fail_msg("%s: the plan has no %s step", op->title,
							 kind);
					k = plus ? plus + 1 : NULL;
				}
				if (op->must_not && plan_has(plan, op->must_not))
					fail_msg("%s: the plan has a %s step", op->title,
						 op->must_not);
				assert_true(pnr >= 0 && pnr <= (int)nsteps);
			}
			json_decref(plan);
			if (nsteps != nsteps0 || pnr != pnr0)
				fail_msg(
				    "%s: the plan changed shape (%zu steps, pnr %d; first %zu, %d)",
				    op->title, nsteps, pnr, nsteps0, pnr0);
			if (n > nsteps0)
				goto done;

			before_model = m;
			before = it_state_take(&it, vm);
			snprintf(fault, sizeof(fault), "%s:%zu", mode == 0 ? "crash" : "fail", n);
			if (getenv("IT_PROFILE"))
				fprintf(stderr, "# %s %s (t=%lds)\n", op->title, fault,
					(long)(time(NULL) - t0));
			rc = it_sd_rawv(&it, fault, &out, &err, op->args);
			if (mode == 0) {
				if (rc != 137)
					fail_msg("%s with %s: exit %d, not 137\n%s%s", op->title,
						 fault, rc, out, err);
				/* the journal holds it, unfinished, under a dead owner */
				assert_int_equal(unfinished(), 1);
				finishes = pnr0 > 0 && (int)n > pnr0;
			} else {
				if (rc != 1 || !strstr(err, "injected failure") ||
				    strchr(err, '\n') != err + strlen(err) - 1)
					fail_msg("%s with %s: exit %d, stderr [%s]", op->title,
						 fault, rc, err);
				finishes = pnr0 > 0 && (int)n >= pnr0;
				/* the event log says so */
				{
					char *ev = it_cat_text(
					    &it,
					    "SELECT level || ' ' || message FROM events"
					    " WHERE vm_name = ?1 ORDER BY id DESC LIMIT 1",
					    vm, NULL);
					if (!ev || strncmp(ev, "error ", 6) != 0 ||
					    !strstr(ev, "injected failure"))
						fail_msg("%s with %s: last event [%s]", op->title,
							 fault, ev ? ev : "(none)");
					free(ev);
				}
				if (!finishes) {
					/* undone at once */
					assert_int_equal(unfinished(), 0);
					st = last_op_state();
					assert_string_equal(st, "rolled_back");
					free(st);
				} else {
					assert_int_equal(unfinished(), 1);
				}
			}
			free(out);
			free(err);
			if (unfinished() > 0) {
				json_t *j = it_sd(&it, 0, "sync", vm, NULL);
				char *ev = last_sync_event();
				if (json_integer_value(json_object_get(j, "recovered")) != 1)
					fail_msg("%s with %s: sync recovered %lld operations",
						 op->title, fault,
						 (long long)json_integer_value(
						     json_object_get(j, "recovered")));
				json_decref(j);
				if (!ev || !strstr(ev, finishes ? "finished" : "undone"))
					fail_msg("%s with %s: sync should have %s it: %s",
						 op->title, fault, finishes ? "finished" : "undone",
						 ev ? ev : "(no event)");
				free(ev);
				st = last_op_state();
				assert_string_equal(st, finishes ? "done" : "rolled_back");
				free(st);
			}
			if (finishes) {
				op->finish();
				finished_runs++;
				ready = false;
				it_check(&it, &m);
			} else {
				after = it_state_take(&it, vm);
				{
					char what[128];
					snprintf(what, sizeof(what), "%s with %s, rolled back",
						 op->title, fault);
					it_state_assert_equal(before, after, what);
				}
				it_state_free(after);
				m = before_model;
				it_check(&it, &m);
			}
			it_state_free(before);
		}
	}
done:
	/* every snapshot previews its own content */
	end_preview();
	it_check_by_preview(&it, &m);
	fprintf(stderr, "# %-22s %zu steps, pnr %d: %zu faults, %d finished by sync, %lds\n",
		op->title, nsteps0, pnr0, 2 * nsteps0, finished_runs, (long)(time(NULL) - t0));
}

/* ---- tests ---- */

static void test_setup(void **state)
{
	(void)state;
	it_demo_setup(&it);
	it_model_demo(&it, &m, "web");
	snprintf(vm, sizeof(vm), "%s", m.vm);
	assert_int_equal(m.ndisks, 2);
	stamp("vda", S(0) | S(3));
	stamp("vdb", S(1) | S(6));
	it_snapshot(&it, &m, "S1", NULL);
	stamp("vda", S(2) | S(4));
	stamp("vdb", S(0));
	it_snapshot(&it, &m, "S2", "vda");
	stamp("vda", S(5));
	stamp("vdb", S(3));
	it_check(&it, &m);
}

#define OP(title, setup, finish, have, not, ...)                                                   \
	static void test_##setup##_##finish(void **state)                                          \
	{                                                                                          \
		struct op op = {title, {__VA_ARGS__, NULL}, setup, finish, have, not };            \
		(void)state;                                                                       \
		run_matrix(&op);                                                                   \
	}

OP("snapshot create", setup_plain, finish_create, "create_overlay", NULL, "snapshot", "create", vm,
   "--name", "crash-create")
OP("preview", setup_plain, finish_preview, "define_domain", NULL, "preview", vm, "--config", "S1",
   "--disk", "vdb=exclude")
OP("undo", setup_undo, finish_undo, "delete_volume", NULL, "undo", vm)
OP("commit (data in tops)", setup_commit_data, finish_commit_data, "catalog", NULL, "commit", vm)
OP("commit (empty tops)", setup_commit_nodata, finish_commit_nodata, "qemu_rebase", NULL, "commit",
   vm)
OP("commit --prune", setup_prune, finish_prune, "delete_volume", NULL, "commit", vm, "--prune")
OP("revert", setup_plain, finish_revert, "create_overlay", NULL, "revert", vm, "S1")
OP("snapshot delete (rebase)", setup_delete_rebase, finish_delete_rebase, "qemu_rebase",
   "qemu_commit", "snapshot", "delete", vm, "dR")
OP("snapshot delete (mixed)", setup_delete_mixed, finish_delete_mixed, "qemu_rebase+qemu_commit",
   NULL, "snapshot", "delete", vm, "dM")
OP("snapshot delete (commit)", setup_delete_commit, finish_delete_commit, "qemu_commit", NULL,
   "snapshot", "delete", vm, "dC")

/* A crash (and a failure) of the sync that finishes a crashed operation:
 * the next sync takes over from the dead sync. */
static void test_crash_during_sync(void **state)
{
	char *out = NULL, *err = NULL;
	json_t *j;
	int rc;

	(void)state;
	setup_delete_commit();
	it_check(&it, &m);
	/* past the point of no return (step 1, the first commit) */
	rc = it_sd_raw(&it, "crash:3", &out, &err, "snapshot", "delete", vm, "dC", NULL);
	assert_int_equal(rc, 137);
	free(out);
	free(err);
	rc = it_sd_raw(&it, "crash:4", &out, &err, "sync", vm, NULL);
	if (rc != 137)
		fail_msg("sync with crash:4: exit %d: %s%s", rc, out, err);
	free(out);
	free(err);
	assert_int_equal(unfinished(), 1);
	rc = it_sd_raw(&it, "fail:5", &out, &err, "sync", vm, NULL);
	if (rc != 1)
		fail_msg("sync with fail:5: exit %d: %s%s", rc, out, err);
	free(out);
	free(err);
	assert_int_equal(unfinished(), 1);
	j = it_sd(&it, 0, "sync", vm, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "recovered")), 1);
	json_decref(j);
	finish_delete_commit();
	it_check(&it, &m);
}

/* After a crash, the next operation on the VM (not sync) takes the dead
 * owner's lock over, rolls the crashed one back or forward, then runs. */
static void test_next_operation_recovers(void **state)
{
	char *out = NULL, *err = NULL;
	json_t *j;
	int rc;

	(void)state;
	end_preview();
	/* a preview crashed after its first layer: undone, then the snapshot */
	rc = it_sd_raw(&it, "crash:2", &out, &err, "preview", vm, "--config", "S2", NULL);
	assert_int_equal(rc, 137);
	free(out);
	free(err);
	j = it_sd(&it, 0, "snapshot", "create", vm, "--name", "next-1", NULL);
	json_decref(j);
	it_model_add_snap(&m, "next-1", S(0) | S(1));
	it_check(&it, &m);

	/* a delete crashed after its point of no return: finished, then the
	 * snapshot */
	setup_delete_commit();
	rc = it_sd_raw(&it, "crash:2", &out, &err, "snapshot", "delete", vm, "dC", NULL);
	assert_int_equal(rc, 137);
	free(out);
	free(err);
	j = it_sd(&it, 0, "snapshot", "create", vm, "--name", "next-2", NULL);
	json_decref(j);
	finish_delete_commit();
	it_model_add_snap(&m, "next-2", S(0) | S(1));
	it_check(&it, &m);
	it_check_by_preview(&it, &m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_setup_plain_finish_create),
	    cmocka_unit_test(test_setup_plain_finish_preview),
	    cmocka_unit_test(test_setup_undo_finish_undo),
	    cmocka_unit_test(test_setup_commit_data_finish_commit_data),
	    cmocka_unit_test(test_setup_commit_nodata_finish_commit_nodata),
	    cmocka_unit_test(test_setup_prune_finish_prune),
	    cmocka_unit_test(test_setup_plain_finish_revert),
	    cmocka_unit_test(test_setup_delete_rebase_finish_delete_rebase),
	    cmocka_unit_test(test_setup_delete_mixed_finish_delete_mixed),
	    cmocka_unit_test(test_setup_delete_commit_finish_delete_commit),
	    cmocka_unit_test(test_crash_during_sync),
	    cmocka_unit_test(test_next_operation_recovers),
	};
	int rc;

	it_init(&it, "crash", 'c');
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_cleanup(&it);
	return rc;
}
