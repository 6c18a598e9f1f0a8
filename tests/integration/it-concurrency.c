/* Two processes on one VM, a killed owner, hostile names.
 *  - Two `snapshot create` at once, many times: each either succeeds or is
 *    refused (exit 1, one line, "is busy"); exactly the successful ones
 *    exist, each with the right content.
 *  - An operation that holds the VM's lock (a snapshot delete, stopped
 *    with SIGSTOP once its lock row is there): every other operation on
 *    the VM is refused as busy, sync leaves it alone; it finishes when
 *    continued.
 *  - The same operation killed (SIGKILL) at points spread over its run,
 *    mid-step included: the next command takes the dead owner's lock over
 *    and finishes or undoes the operation; nothing is lost or corrupted.
 *  - Hostile names: refused with a one-line error, or stored literally
 *    and never interpreted (no shell, no path, no SQL). */
#include "config.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/itlib.h"

static struct it it;
static struct it_model m;
static char vm[64];

#define S(n) (1u << (n))
#define ALL_SLOTS ((1u << IT_NSLOTS) - 1)

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Exactly one line on stderr, "snapdeck: ...", containing want. */
static void assert_one_line(const char *err, const char *want, const char *what)
{
	size_t len = strlen(err);

	if (len == 0 || err[len - 1] != '\n' || strchr(err, '\n') != err + len - 1 ||
	    strncmp(err, "snapdeck: ", 10) != 0 || (want && !strstr(err, want)))
		fail_msg("%s: not one line saying '%s': [%s]", what, want ? want : "", err);
}

static char *file_text(const char *path)
{
	char *t = sdtest_read_file(path);

	return t ? t : strdup("");
}

/* ---- two creates at once ---- */

static void test_parallel_creates(void **state)
{
	int ok_both = 0, busy = 0;
	struct it_model other;
	char bout[600], berr[600];

	(void)state;
	it_demo_setup(&it);
	it_model_demo(&it, &m, "web");
	snprintf(vm, sizeof(vm), "%s", m.vm);
	it_model_demo(&it, &other, "build");
	snprintf(bout, sizeof(bout), "%s/bout", it.tmp);
	snprintf(berr, sizeof(berr), "%s/berr", it.tmp);
	for (int round = 0; round < 12; round++) {
		char names[2][32], out[2][600], err[2][600], bname[32];
		char *args[2][8];
		pid_t pid[2];
		int rc[2], okn = 0;

		/* a new point in time per round: each snapshot's content is its own */
		it_model_stamp(&it, &m, "vda", S(round % IT_NSLOTS), 0);
		it_model_stamp(&it, &m, "vdb", S((round + 3) % IT_NSLOTS), 0);
		for (int k = 0; k < 2; k++) {
			snprintf(names[k], sizeof(names[k]), "r%d-%c", round, 'a' + k);
			snprintf(out[k], sizeof(out[k]), "%s/out%d", it.tmp, k);
			snprintf(err[k], sizeof(err[k]), "%s/err%d", it.tmp, k);
			args[k][0] = "snapshot";
			args[k][1] = "create";
			args[k][2] = vm;
			args[k][3] = "--name";
			args[k][4] = names[k];
			args[k][5] = NULL;
		}
		/* and one on another VM at the same time: never refused */
		snprintf(bname, sizeof(bname), "b%d", round);
		{
			char *bargs[] = {"snapshot", "create", other.vm, "--name", bname, NULL};
			pid_t bp;
			pid[0] = it_sd_spawn(&it, out[0], err[0], args[0]);
			bp = it_sd_spawn(&it, bout, berr, bargs);
			pid[1] = it_sd_spawn(&it, out[1], err[1], args[1]);
			rc[0] = it_wait(pid[0]);
			rc[1] = it_wait(pid[1]);
			if (it_wait(bp) != 0) {
				char *e = file_text(berr);
				fail_msg("snapshot create on %s, next to two on %s: %s", other.vm,
					 vm, e);
			}
			it_model_add_snap(&other, bname, S(0));
		}
		for (int k = 0; k < 2; k++) {
			char *e = file_text(err[k]);
			if (rc[k] == 0) {
				unsigned mask = S(0) | S(1);
				it_model_add_snap(&m, names[k], mask);
				okn++;
			} else if (rc[k] == 1) {
				assert_one_line(e, "is busy", names[k]);
				busy++;
			} else {
				fail_msg("snapshot create %s: exit %d: %s", names[k], rc[k], e);
			}
			free(e);
		}
		/* one of the two at least gets through */
		assert_true(okn >= 1);
		ok_both += okn == 2;
		it_check(&it, &m);
	}
	it_check(&it, &other);
	fprintf(stderr, "# 12 rounds: %d refused as busy, %d with both through\n", busy, ok_both);
}

/* ---- an operation that holds the lock ---- */

static pid_t stopped; /* a process this test stopped (SIGSTOP) */

static long long lock_pid(void)
{
	return it_cat_int(&it,
			  "SELECT l.owner_pid FROM locks l JOIN vms v ON v.id = l.vm_id"
			  " WHERE v.name = ?1",
			  vm, NULL);
}

/* A snapshot "victim" whose delete moves some data (its layers hold much,
 * the ones above little: a commit down). */
static void make_victim(void)
{
	it_model_stamp(&it, &m, "vda", ALL_SLOTS, 0);
	it_model_stamp(&it, &m, "vdb", ALL_SLOTS, 0);
	it_snapshot(&it, &m, "victim", NULL);
	it_model_stamp(&it, &m, "vda", S(0), 0);
	it_model_stamp(&it, &m, "vdb", S(2), 0);
}

/* Does some process hold a write transaction on the catalog now? */
static bool catalog_write_locked(void)
{
	sqlite3 *db;
	int rc;

	assert_int_equal(sqlite3_open_v2(it.catalog, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 0);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc != SQLITE_OK;
}

/* Starts the delete of victim and stops it (SIGSTOP) while it holds the
 * VM's lock; returns its pid, or 0 when it ran through before. */
static pid_t start_and_stop_delete(const char *out, const char *err)
{
	char *args[] = {"snapshot", "delete", vm, "victim", NULL};
	pid_t pid = it_sd_spawn(&it, out, err, args);

	char owner[32];

	snprintf(owner, sizeof(owner), "%d", (int)pid);
	stopped = pid;
	for (;;) {
		int status;
		/* locked, and journaled: its steps are under way */
		if (it_cat_int(&it,
			       "SELECT count(*) FROM operations WHERE state = 'running'"
			       " AND owner_pid = CAST(?1 AS INTEGER)",
			       owner, NULL) == 1) {
			kill(pid, SIGSTOP);
			/* not inside one of its (short) catalog transactions: a
			 * process stopped there would hold the whole catalog, which
			 * says nothing about the VM's lock */
			if (!catalog_write_locked())
				return pid;
			kill(pid, SIGCONT);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			stopped = 0;
			return 0;
		}
	}
}

/* A test that failed with a process stopped: kill it, let sync recover. */
static int kill_stopped(void **state)
{
	(void)state;
	if (stopped > 0) {
		kill(stopped, SIGKILL);
		it_wait(stopped);
		stopped = 0;
		it_sd_raw(&it, NULL, NULL, NULL, "sync", vm, NULL);
	}
	return 0;
}

static void test_busy_while_held(void **state)
{
	char out[600], err[600];
	pid_t pid = 0;
	json_t *j, *x;
	size_t i;

	(void)state;
	make_victim();
	snprintf(out, sizeof(out), "%s/hold.out", it.tmp);
	snprintf(err, sizeof(err), "%s/hold.err", it.tmp);
	for (int tries = 0; tries < 30 && !pid; tries++) {
		pid = start_and_stop_delete(out, err);
		if (!pid) /* it was quicker than us: make it again */
			make_victim();
	}
	if (!pid)
		fail_msg("could not catch a snapshot delete holding the lock in 30 tries");

	{
		char *const refused[][8] = {
		    {"snapshot", "create", vm, "--name", "racer", NULL},
		    {"snapshot", "delete", vm, "r0-a", NULL},
		    {"preview", vm, "--config", "r1-a", NULL},
		    {"revert", vm, "r1-a", NULL},
		    {"undo", vm, NULL},
		    {"commit", vm, NULL},
		    {"sync", vm, NULL},
		};
		for (size_t r = 0; r < sizeof(refused) / sizeof(refused[0]); r++) {
			char *o = NULL, *e = NULL;
			int rc = it_sd_rawv(&it, NULL, &o, &e, refused[r]);
			if (rc != 1)
				fail_msg("%s while the VM is locked: exit %d: %s%s", refused[r][0],
					 rc, o, e);
			assert_one_line(e, "is busy", refused[r][0]);
			free(o);
			free(e);
		}
	}
	/* vm list shows the VM busy; sync of every VM leaves the live
	 * operation alone */
	j = it_sd(&it, 0, "vm", "list", NULL);
	json_array_foreach(j, i,
			   x) if (strcmp(json_string_value(json_object_get(x, "name")), vm) == 0)
	    assert_string_equal(json_string_value(json_object_get(x, "busy")), "snapshot delete");
	json_decref(j);
	{
		char *o = NULL, *e = NULL;
		int rc = it_sd_raw(&it, NULL, &o, &e, "sync", "--json", NULL);
		/* our VM is busy: reported, not touched */
		if (rc != 0 && rc != 1)
			fail_msg("sync: exit %d: %s", rc, e);
		free(o);
		free(e);
	}
	assert_int_equal(
	    it_cat_int(&it, "SELECT count(*) FROM operations WHERE state = 'running'", NULL), 1);
	assert_int_equal(lock_pid(), (long long)pid);

	kill(pid, SIGCONT);
	stopped = 0;
	if (it_wait(pid) != 0) {
		char *e = file_text(err);
		fail_msg("the stopped delete failed once continued: %s", e);
	}
	it_model_remove_snap(&m, "victim");
	it_check(&it, &m);
}

/* ---- killed at any point ---- */

/* The children of pid (its qemu-img), from /proc. */
static size_t children(pid_t pid, pid_t *out, size_t max)
{
	char path[64], *text;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	text = sdtest_read_file(path);
	for (char *p = text; p && *p && n < max;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = (pid_t)v;
		p = end;
	}
	free(text);
	return n;
}

static void test_killed_anywhere(void **state)
{
	char out[600], err[600];
	double t, full;
	int finished = 0, undone = 0, ran_through = 0;

	(void)state;
	snprintf(out, sizeof(out), "%s/kill.out", it.tmp);
	snprintf(err, sizeof(err), "%s/kill.err", it.tmp);

	/* how long a delete takes here */
	make_victim();
	t = now_ms();
	{
		json_t *j = it_sd(&it, 0, "snapshot", "delete", vm, "victim", NULL);
		json_decref(j);
	}
	full = now_ms() - t;
	it_model_remove_snap(&m, "victim");

	for (int k = 0; k < 10; k++) {
		char *args[] = {"snapshot", "delete", vm, "victim", NULL};
		pid_t pid, kids[8];
		size_t nk;
		int rc;
		json_t *j;

		make_victim();
		pid = it_sd_spawn(&it, out, err, args);
		msleep((long)(full * k / 10.0 * 0.9));
		kill(pid, SIGSTOP);
		nk = children(pid, kids, 8);
		kill(pid, SIGKILL);
		rc = it_wait(pid);
		/* a qemu-img it ran goes on alone: let it end, as after a real crash */
		for (size_t c = 0; c < nk; c++)
			while (kill(kids[c], 0) == 0) {
				char path[64], *st;
				snprintf(path, sizeof(path), "/proc/%d/stat", (int)kids[c]);
				st = sdtest_read_file(path);
				/* a zombie of the dead parent is reaped by init */
				if (!st || strstr(st, ") Z")) {
					free(st);
					break;
				}
				free(st);
				msleep(5);
			}
		if (rc == 0) {
			ran_through++;
			it_model_remove_snap(&m, "victim");
			it_check(&it, &m);
			continue;
		}
		assert_int_equal(rc, 128 + SIGKILL);
		/* the next operation on the VM takes the lock over and finishes
		 * or undoes the delete first */
		j = it_sd(&it, 0, "snapshot", "create", vm, "--name", "after-kill", NULL);
		json_decref(j);
		/* finished (victim gone) or undone / never journaled (still there):
		 * either way the journal is clear and it_check below holds */
		if (!it_cat_int(&it,
				"SELECT count(*) FROM snapshots s JOIN vms v ON v.id = s.vm_id"
				" WHERE v.name = ?1 AND s.name = 'victim'",
				vm, NULL)) {
			it_model_remove_snap(&m, "victim");
			finished++;
		} else {
			undone++;
		}
		it_model_add_snap(&m, "after-kill", S(0) | S(1));
		it_check(&it, &m);
		/* tidy up for the next round (not part of the kill) */
		j = it_sd(&it, 0, "snapshot", "delete", vm, "after-kill", NULL);
		json_decref(j);
		it_model_remove_snap(&m, "after-kill");
		if (it_model_snap(&m, "victim")) {
			j = it_sd(&it, 0, "snapshot", "delete", vm, "victim", NULL);
			json_decref(j);
			it_model_remove_snap(&m, "victim");
		}
		it_check(&it, &m);
	}
	fprintf(stderr,
		"# delete (%.0f ms) killed 10 times: %d finished, %d undone, %d ran through\n",
		full, finished, undone, ran_through);
	assert_true(finished + undone > 0);
	it_check_by_preview(&it, &m);
}

/* ---- hostile names ---- */

static char pwned[256];

static void assert_not_pwned(void)
{
	if (access(pwned, F_OK) == 0)
		fail_msg("%s exists: a name was run by a shell", pwned);
}

static void test_hostile_names(void **state)
{
	char sub[300], bt[300], longname[301];
	const char *stored[] = {
	    "it's \"quoted\"",
	    sub,
	    bt,
	    "../../../../etc/passwd",
	    "x'; DROP TABLE snapshots; --",
	    "été ☃ 快照",
	    "back\\slash %s %n",
	    "a/b",
	};
	const char *refused[] = {
	    "line\nbreak",
	    longname,
	    "\xff\xfe not utf-8",
	    "tab\there",
	    "esc\x1b[31mred",
	    "current",
	    "exclude",
	    "12345678-1234-1234-1234-123456789abc",
	    "",
	    " leading space",
	};
	char *out, *err;
	int rc;

	(void)state;
	snprintf(pwned, sizeof(pwned), "%s/pwned", it.tmp);
	snprintf(sub, sizeof(sub), "$(touch %s)", pwned);
	snprintf(bt, sizeof(bt), "`touch %s`", pwned);
	memset(longname, 'x', 300);
	longname[300] = '\0';

	for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		json_t *list, *x;
		size_t k;
		bool found = false;

		it_model_stamp(&it, &m, "vda", S(i % IT_NSLOTS), 0);
		it_snapshot(&it, &m, stored[i], NULL);
		assert_not_pwned();
		list = it_sd(&it, 0, "snapshot", "list", vm, NULL);
		json_array_foreach(list, k, x) found =
		    found || strcmp(json_string_value(json_object_get(x, "name")), stored[i]) == 0;
		json_decref(list);
		if (!found)
			fail_msg("snapshot '%s' is not listed under its name", stored[i]);
		/* the text face prints it on one line */
		rc = it_sd_raw(&it, NULL, &out, &err, "snapshot", "list", vm, NULL);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, stored[i]));
		free(out);
		free(err);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		rc = it_sd_raw(&it, NULL, &out, &err, "snapshot", "create", vm, "--name",
			       refused[i], NULL);
		if (rc != 1 && rc != 2)
			fail_msg("snapshot create --name [%s]: exit %d (refusal wanted)",
				 refused[i], rc);
		assert_one_line(err, NULL, refused[i]);
		assert_null(strchr(err, '\x1b'));
		free(out);
		free(err);
		/* --json: the error is valid JSON */
		rc = it_sd_raw(&it, NULL, &out, &err, "snapshot", "create", vm, "--name",
			       refused[i], "--json", NULL);
		assert_true(rc == 1 || rc == 2);
		{
			json_t *j = json_loads(out, 0, NULL);
			if (!j || !json_is_object(json_object_get(j, "error")))
				fail_msg("--json error for [%s] is not JSON: [%s]", refused[i],
					 out);
			json_decref(j);
		}
		free(out);
		free(err);
	}
	/* hostile arguments elsewhere: refused, not run */
	{
		/* (not the names stored above, which are snapshots now) */
		char disk[400], vmname[400], sub2[320], bt2[320];
		snprintf(sub2, sizeof(sub2), "%s ", sub);
		snprintf(bt2, sizeof(bt2), "%s;", bt);
		snprintf(disk, sizeof(disk), "vda=%s", sub2);
		snprintf(vmname, sizeof(vmname), "../%s", sub);
		const char *const cases[][8] = {
		    {"preview", vm, "--disk", disk, NULL},
		    {"preview", vm, "--config", bt2, NULL},
		    {"snapshot", "create", vm, "--name", "ok-name", "--disks", "vda,../../x", NULL},
		    {"snapshot", "create", vmname, "--name", "ok-name", NULL},
		    {"snapshot", "delete", vm, "../../../../etc/passwd\n", NULL},
		    {"revert", vm, sub2, NULL},
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			rc = it_sd_rawv(&it, NULL, &out, &err, (char *const *)cases[c]);
			if (rc != 1 && rc != 2)
				fail_msg("%s %s ...: exit %d (refusal wanted): %s", cases[c][0],
					 cases[c][1], rc, err);
			assert_one_line(err, NULL, cases[c][0]);
			free(out);
			free(err);
			assert_not_pwned();
		}
	}
	/* a description is stored as given, too */
	{
		json_t *j, *list, *x;
		size_t k;
		const char *desc = "multi\nline $(touch /nonexistent) \"desc\"";
		j = it_sd(&it, 0, "snapshot", "create", vm, "--name", "with-desc", "--description",
			  desc, NULL);
		json_decref(j);
		it_model_add_snap(&m, "with-desc", S(0) | S(1));
		list = it_sd(&it, 0, "snapshot", "list", vm, NULL);
		json_array_foreach(
		    list, k,
		    x) if (strcmp(json_string_value(json_object_get(x, "name")), "with-desc") == 0)
		    assert_string_equal(json_string_value(json_object_get(x, "description")), desc);
		json_decref(list);
	}
	it_check(&it, &m);
	/* each previews as itself (by its literal name), and deletes by it */
	it_check_by_preview(&it, &m);
	for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		json_t *j = it_sd(&it, 0, "snapshot", "delete", vm, stored[i], NULL);
		json_decref(j);
		it_model_remove_snap(&m, stored[i]);
		assert_not_pwned();
	}
	it_check(&it, &m);
	/* no file appeared outside the pool folder */
	{
		DIR *d = opendir(it.tmp);
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && strcmp(e->d_name, "pool") != 0 &&
			    strncmp(e->d_name, "catalog.db", 10) != 0 &&
			    strncmp(e->d_name, "out", 3) != 0 &&
			    strncmp(e->d_name, "err", 3) != 0 && strcmp(e->d_name, "bout") != 0 &&
			    strcmp(e->d_name, "berr") != 0 && strncmp(e->d_name, "hold.", 5) != 0 &&
			    strncmp(e->d_name, "kill.", 5) != 0)
				fail_msg("unexpected file %s/%s", it.tmp, e->d_name);
		closedir(d);
	}
	/* the event log stays valid JSON */
	{
		json_t *ev = it_sd(&it, 0, "events", "--vm", vm, NULL);
		assert_true(json_array_size(ev) > 0);
		json_decref(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parallel_creates),
	    cmocka_unit_test_teardown(test_busy_while_held, kill_stopped),
	    cmocka_unit_test(test_killed_anywhere),
	    cmocka_unit_test(test_hostile_names),
	};
	int rc;

	it_init(&it, "conc", 'k');
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	it_cleanup(&it);
	return rc;
}
