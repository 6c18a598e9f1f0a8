/* Recurring snapshot policies on a real libvirtd with real qcow2 files, the
 * clock set with SNAPDECK_NOW (never a sleep):
 *  - an hourly policy keeping 3, run every hour for 6 hours with new data
 *    each hour: exactly its 3 newest snapshots remain, manual snapshots are
 *    untouched, every snapshot left reads its own content, qemu-img check
 *    is clean;
 *  - two policies on one VM (one of some disks) prune independently; a run
 *    after 5 missed hours takes one snapshot, not five;
 *  - the per-VM limit: a manual snapshot beyond it is refused, a policy at
 *    it deletes its own oldest first, and skips when that is not enough;
 *  - a busy VM (its lock held by another live process), a VM in a preview
 *    and a VM whose pool (a small tmpfs) lacks the room its last snapshot
 *    took plus the margin of snapdeck.conf are skipped with a warning event
 *    while another VM's policy runs; a skip that lasts is not logged again;
 *    once the obstacles are gone, all run;
 *  - snapdeck.conf: its catalog and URI count unless the environment or an
 *    option says otherwise; a misspelt key is refused with file and line;
 *    its default snapshot limit applies to VMs without their own.
 * The demo host is private (prefix, catalog, pool); a second demo sits in a
 * tmpfs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/itlib.h"

static struct it it, it2;
static bool have_it2, mounted;
static char fsdir[2048], conf_path[4096], filler[4096];
static struct it_model web, db, build;

#define MARGIN (4ULL << 20)

/* ---- helpers ---- */

static void at(const char *now)
{
	setenv("SNAPDECK_NOW", now, 1);
}

static unsigned all_disks(const struct it_model *m)
{
	unsigned mask = 0;

	for (size_t d = 0; d < m->ndisks; d++)
		if (m->present[d])
			mask |= 1u << d;
	return mask;
}

static void stamp_all(struct it *w, struct it_model *m)
{
	for (size_t d = 0; d < m->ndisks; d++)
		it_model_stamp(w, m, m->targets[d], 1u << (d % IT_NSLOTS) | 1u << 3, 0);
}

/* policy run at now (--json); must exit 0. */
static json_t *run_at(const char *now)
{
	at(now);
	return it_sd(&it, 0, "policy", "run", NULL);
}

static json_t *entry(const json_t *report, const char *vm, const char *policy)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(report, "policies"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "vm")), vm) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "policy")), policy) == 0)
			return e;
	}
	fail_msg("the report has no entry for %s %s", vm, policy);
	return NULL;
}

static const char *result(const json_t *report, const char *vm, const char *policy)
{
	return json_string_value(json_object_get(entry(report, vm, policy), "result"));
}

static void assert_counts(const json_t *report, long long taken, long long pruned,
			  long long skipped)
{
	long long t = json_integer_value(json_object_get(report, "taken"));
	long long p = json_integer_value(json_object_get(report, "pruned"));
	long long s = json_integer_value(json_object_get(report, "skipped"));
	long long f = json_integer_value(json_object_get(report, "failed"));

	if (t != taken || p != pruned || s != skipped || f != 0) {
		char *text = json_dumps(report, JSON_INDENT(1));
		fail_msg(
		    "taken %lld pruned %lld skipped %lld failed %lld, wanted %lld %lld %lld 0:\n%s",
		    t, p, s, f, taken, pruned, skipped, text);
	}
}

/* Brings the model in line with one policy's entry: its snapshot (of the
 * disks in mask) added, what it pruned removed. */
static void follow(struct it_model *m, const json_t *report, const char *policy, unsigned mask)
{
	const json_t *e = entry(report, m->vm, policy), *p;
	size_t i;

	json_array_foreach(json_object_get(e, "pruned"), i, p)
	    it_model_remove_snap(m, json_string_value(p));
	if (strcmp(json_string_value(json_object_get(e, "result")), "taken") == 0)
		it_model_add_snap(m, json_string_value(json_object_get(e, "snapshot")), mask);
}

/* The names of the snapshots the VM's policy made, oldest first, space-separated. */
static char *policy_snaps(const char *vm, const char *policy)
{
	char *s = it_cat_text(&it,
			      "SELECT IFNULL(group_concat(name, ' '), '') FROM (SELECT s.name FROM"
			      " snapshots s JOIN policies p ON p.id = s.policy_id"
			      " JOIN vms v ON v.id = s.vm_id WHERE v.name = ?1 AND p.name = ?2"
			      " ORDER BY s.created)",
			      vm, policy, NULL);
	assert_non_null(s);
	return s;
}

static void assert_policy_snaps(const char *vm, const char *policy, const char *want)
{
	char *got = policy_snaps(vm, policy);

	if (strcmp(got, want) != 0)
		fail_msg("%s %s has [%s], wanted [%s]", vm, policy, got, want);
	free(got);
}

/* A warning event for vm whose message holds both words. */
static size_t count_warnings(const char *vm, const char *word)
{
	json_t *ev = it_sd(&it, 0, "events", "--vm", vm, NULL), *e;
	size_t i, n = 0;

	json_array_foreach(ev, i, e)
	{
		const char *level = json_string_value(json_object_get(e, "level"));
		if (strcmp(level, "warning") == 0 &&
		    strstr(json_string_value(json_object_get(e, "message")), word))
			n++;
	}
	json_decref(ev);
	return n;
}

static void assert_warning(const char *vm, const char *w1, const char *w2)
{
	json_t *ev = it_sd(&it, 0, "events", "--vm", vm, NULL), *e;
	size_t i;
	bool found = false;

	json_array_foreach(ev, i, e)
	{
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (strcmp(json_string_value(json_object_get(e, "level")), "warning") == 0 &&
		    strstr(msg, w1) && strstr(msg, w2))
			found = true;
	}
	if (!found) {
		char *text = json_dumps(ev, JSON_INDENT(1));
		fail_msg("no warning event for %s with '%s' and '%s':\n%s", vm, w1, w2, text);
	}
	json_decref(ev);
}

/* snapdeck ARGS... --json must succeed; the output is dropped. */
#define SD_OK(...) json_decref(it_sd(&it, 0, __VA_ARGS__, NULL))

/* ---- the world ---- */

static int group_setup(void **state)
{
	FILE *fp;

	(void)state;
	it_init(&it, "policy", 'a');
	snprintf(conf_path, sizeof(conf_path), "%s/snapdeck.conf", it.tmp);
	fp = fopen(conf_path, "w");
	assert_non_null(fp);
	fprintf(fp, "# it-policy\nfree_space_margin = %lluK\n", MARGIN >> 10);
	fclose(fp);
	setenv("SNAPDECK_CONF", conf_path, 1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (have_it2) {
		char *const td[] = {"demo", "teardown", "--prefix", it2.prefix, NULL};
		it_sd_rawv(&it2, NULL, NULL, NULL, td);
		if (mounted && umount(fsdir) < 0)
			fprintf(stderr, "umount %s: %s\n", fsdir, strerror(errno));
		it_cleanup(&it2);
	}
	it_cleanup(&it);
	unsetenv("SNAPDECK_NOW");
	unsetenv("SNAPDECK_CONF");
	return 0;
}

static void test_setup(void **state)
{
	(void)state;
	at("2031-03-01T09:00:00Z");
	it_demo_setup(&it);
	it_model_demo(&it, &web, "web");
	it_model_demo(&it, &db, "db");
	it_model_demo(&it, &build, "build");
}

/* ---- hourly, keep 3, over 6 hours ---- */

static void test_hourly_keep3(void **state)
{
	static const char *const hours[] = {"10", "11", "12", "13", "14", "15"};
	char now[32], *names[6];
	json_t *r, *list;

	(void)state;
	at("2031-03-01T09:30:00Z");
	SD_OK("policy", "set", web.vm, "--every", "hourly", "--keep", "3");
	at("2031-03-01T09:40:00Z");
	stamp_all(&it, &web);
	it_snapshot(&it, &web, "manual-1", NULL);
	/* set at 09:30: nothing is due before 10:00 */
	r = run_at("2031-03-01T09:59:59Z");
	assert_counts(r, 0, 0, 0);
	assert_string_equal(result(r, web.vm, "hourly"), "not_due");
	json_decref(r);

	for (size_t h = 0; h < 6; h++) {
		stamp_all(&it, &web);
		if (h == 2) {
			at("2031-03-01T11:30:00Z");
			it_snapshot(&it, &web, "manual-2", "vda");
			stamp_all(&it, &web);
		}
		snprintf(now, sizeof(now), "2031-03-01T%s:00:00Z", hours[h]);
		r = run_at(now);
		assert_counts(r, 1, h >= 3 ? 1 : 0, 0);
		names[h] = strdup(
		    json_string_value(json_object_get(entry(r, web.vm, "hourly"), "snapshot")));
		snprintf(now, sizeof(now), "hourly-2031-03-01T%s:00:00Z", hours[h]);
		assert_string_equal(names[h], now);
		if (h >= 3)
			assert_string_equal(
			    json_string_value(json_array_get(
				json_object_get(entry(r, web.vm, "hourly"), "pruned"), 0)),
			    names[h - 3]);
		follow(&web, r, "hourly", all_disks(&web));
		json_decref(r);
		/* the same hour again: not due */
		snprintf(now, sizeof(now), "2031-03-01T%s:59:00Z", hours[h]);
		r = run_at(now);
		assert_counts(r, 0, 0, 0);
		json_decref(r);
	}
	{
		char want[256];
		snprintf(want, sizeof(want), "%s %s %s", names[3], names[4], names[5]);
		assert_policy_snaps(web.vm, "hourly", want);
	}
	/* the manual snapshots and the demo's are all there */
	assert_non_null(it_model_snap(&web, "manual-1"));
	assert_non_null(it_model_snap(&web, "manual-2"));
	list = it_sd(&it, 0, "policy", "list", web.vm, NULL);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "snapshots")),
			 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "last_run")),
			    "2031-03-01T15:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "next_run")),
			    "2031-03-01T16:00:00Z");
	json_decref(list);
	it_check(&it, &web);
	for (size_t h = 0; h < 6; h++)
		free(names[h]);
	/* done with it: its snapshots stay, unmarked, and later runs leave web alone */
	SD_OK("policy", "delete", web.vm, "hourly");
	assert_int_equal(it_cat_int(&it, "SELECT count(*) FROM policies", NULL), 0);
}

/* ---- two policies on one VM; missed runs ---- */

static void test_two_policies_missed_runs(void **state)
{
	unsigned ac = (1u << it_model_disk(&db, "vda")) | (1u << it_model_disk(&db, "vdc"));
	json_t *r;

	(void)state;
	at("2031-03-05T09:30:00Z");
	SD_OK("policy", "set", db.vm, "--every", "hourly", "--at", "0", "--keep", "3");
	SD_OK("policy", "set", db.vm, "--every", "daily", "--at", "12:00", "--keep", "2");
	/* changed: only some disks */
	at("2031-03-05T09:31:00Z");
	{
		json_t *j =
		    it_sd(&it, 0, "policy", "set", db.vm, "--name", "daily", "--every", "daily",
			  "--at", "12:00", "--keep", "2", "--disks", "vda,vdc", NULL);
		assert_false(json_is_true(json_object_get(j, "created")));
		json_decref(j);
	}

	stamp_all(&it, &db);
	r = run_at("2031-03-05T10:00:00Z");
	assert_counts(r, 1, 0, 0);
	assert_string_equal(result(r, db.vm, "daily"), "not_due");
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);

	stamp_all(&it, &db);
	r = run_at("2031-03-05T11:00:00Z");
	assert_counts(r, 1, 0, 0);
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);

	stamp_all(&it, &db);
	r = run_at("2031-03-05T12:00:00Z");
	assert_counts(r, 2, 0, 0);
	follow(&db, r, "daily", ac);
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);
	assert_policy_snaps(db.vm, "hourly",
			    "hourly-2031-03-05T10:00:00Z hourly-2031-03-05T11:00:00Z "
			    "hourly-2031-03-05T12:00:00Z");
	assert_policy_snaps(db.vm, "daily", "daily-2031-03-05T12:00:00Z");

	/* 13:00 to 18:00 missed: one snapshot, not five or six */
	stamp_all(&it, &db);
	r = run_at("2031-03-05T18:10:00Z");
	assert_counts(r, 1, 1, 0);
	assert_string_equal(result(r, db.vm, "daily"), "not_due");
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);
	assert_policy_snaps(db.vm, "hourly",
			    "hourly-2031-03-05T11:00:00Z hourly-2031-03-05T12:00:00Z "
			    "hourly-2031-03-05T18:10:00Z");
	r = run_at("2031-03-05T18:59:00Z");
	assert_counts(r, 0, 0, 0);
	json_decref(r);

	/* the next day at noon both run; each prunes only its own */
	stamp_all(&it, &db);
	r = run_at("2031-03-06T12:00:00Z");
	assert_counts(r, 2, 1, 0);
	follow(&db, r, "daily", ac);
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);
	assert_policy_snaps(db.vm, "daily",
			    "daily-2031-03-05T12:00:00Z daily-2031-03-06T12:00:00Z");
	assert_policy_snaps(db.vm, "hourly",
			    "hourly-2031-03-05T12:00:00Z hourly-2031-03-05T18:10:00Z "
			    "hourly-2031-03-06T12:00:00Z");

	stamp_all(&it, &db);
	r = run_at("2031-03-07T12:00:00Z");
	assert_counts(r, 2, 2, 0);
	follow(&db, r, "daily", ac);
	follow(&db, r, "hourly", all_disks(&db));
	json_decref(r);
	assert_policy_snaps(db.vm, "daily",
			    "daily-2031-03-06T12:00:00Z daily-2031-03-07T12:00:00Z");
	assert_policy_snaps(db.vm, "hourly",
			    "hourly-2031-03-05T18:10:00Z hourly-2031-03-06T12:00:00Z "
			    "hourly-2031-03-07T12:00:00Z");
	it_check(&it, &db);
	SD_OK("policy", "delete", db.vm);
}

/* ---- the per-VM limit ---- */

static void test_limit(void **state)
{
	size_t base = build.nsnaps;
	char n[16];
	json_t *r, *j;

	(void)state;
	at("2031-03-10T09:00:00Z");
	snprintf(n, sizeof(n), "%zu", base + 2);
	j = it_sd(&it, 0, "policy", "limit", build.vm, n, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "limit")), (long long)base + 2);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "vm");
	json_decref(j);
	stamp_all(&it, &build);
	it_snapshot(&it, &build, "m1", NULL);
	SD_OK("policy", "set", build.vm, "--every", "hourly", "--keep", "5");

	stamp_all(&it, &build);
	r = run_at("2031-03-10T10:00:00Z");
	assert_counts(r, 1, 0, 0);
	follow(&build, r, "hourly", all_disks(&build));
	json_decref(r);

	/* at the limit: a manual snapshot is refused with the reason */
	at("2031-03-10T10:10:00Z");
	stamp_all(&it, &build);
	{
		char *out = NULL, *err = NULL;
		char *const args[] = {"snapshot", "create", build.vm, "--name", "m2", NULL};
		int rc = it_sd_rawv(&it, NULL, &out, &err, args);
		if (rc != 1 || !strstr(err, "limit"))
			fail_msg("a manual snapshot beyond the limit: exit %d, stderr [%s] (is "
				 "ctl_policy_check_limit called in src/ctl/snap.c do_create?)",
				 rc, err);
		free(out);
		free(err);
	}

	/* a policy at the limit deletes its own oldest first */
	r = run_at("2031-03-10T11:00:00Z");
	assert_counts(r, 1, 1, 0);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(entry(r, build.vm, "hourly"), "pruned"), 0)),
			    "hourly-2031-03-10T10:00:00Z");
	follow(&build, r, "hourly", all_disks(&build));
	json_decref(r);
	assert_int_equal(it_cat_int(&it,
				    "SELECT count(*) FROM snapshots s JOIN vms v ON v.id = s.vm_id"
				    " WHERE v.name = ?1",
				    build.vm, NULL),
			 (long long)base + 2);

	/* a lower limit than its own can make room for: skipped, with a warning */
	snprintf(n, sizeof(n), "%zu", base);
	SD_OK("policy", "limit", build.vm, n);
	stamp_all(&it, &build);
	r = run_at("2031-03-10T12:00:00Z");
	assert_counts(r, 0, 0, 1);
	assert_non_null(strstr(
	    json_string_value(json_object_get(entry(r, build.vm, "hourly"), "reason")), "limit"));
	json_decref(r);
	assert_warning(build.vm, "hourly", "limit");
	assert_policy_snaps(build.vm, "hourly", "hourly-2031-03-10T11:00:00Z");

	/* back to the default (none here): manual snapshots go again */
	j = it_sd(&it, 0, "policy", "limit", build.vm, "default", NULL);
	assert_true(json_is_null(json_object_get(j, "limit")));
	json_decref(j);
	at("2031-03-10T12:10:00Z");
	it_snapshot(&it, &build, "m2", NULL);
	it_check(&it, &build);
	SD_OK("policy", "delete", build.vm);
}

/* ---- skips ---- */

/* Field 22 of /proc/PID/stat: the start time the lock owner is known by. */
static long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long start = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')'))) {
		int field = 2;
		for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
			if (++field == 22) {
				start = atoll(tok);
				break;
			}
	}
	fclose(fp);
	return start;
}

static void cat_exec(const char *sql, const char *vm, long long pid, long long start)
{
	sqlite3 *dbh = NULL;
	sqlite3_stmt *st = NULL;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	assert_int_equal(sqlite3_open(it.catalog, &dbh), SQLITE_OK);
	sqlite3_busy_timeout(dbh, 5000);
	if (sqlite3_prepare_v2(dbh, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(dbh));
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, pid);
	sqlite3_bind_int64(st, 4, start);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail_msg("%s: %s", sql, sqlite3_errmsg(dbh));
	sqlite3_finalize(st);
	sqlite3_close(dbh);
}

/* The bytes the files of a snapshot's layers take. */
static unsigned long long snapshot_bytes(struct it *w, const char *vm, const char *snap)
{
	json_t *list = it_sdv(w, NULL, 0, (char *const[]){"snapshot", "list", (char *)vm, NULL});
	unsigned long long total = 0;
	size_t i, k;
	json_t *s, *d;

	json_array_foreach(list, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "name")), snap) != 0)
			continue;
		json_array_foreach(json_object_get(s, "disks"), k, d)
		{
			struct stat st;
			if (stat(json_string_value(json_object_get(d, "image")), &st) == 0)
				total += (unsigned long long)st.st_blocks * 512;
		}
	}
	json_decref(list);
	return total;
}

static void test_skips(void **state)
{
	struct it_model bweb;
	struct statvfs sv;
	unsigned long long took, free_now, want_free;
	char *const sleeper[] = {"sleep", "600", NULL};
	pid_t holder;
	json_t *r;
	int nb = 0; /* 1 with the VM in the tmpfs */
	int fd;

	(void)state;
	/* a second demo host in a small tmpfs, in the same catalog */
	it_init(&it2, "policy-fs", 'b');
	have_it2 = true;
	free(it2.catalog);
	it2.catalog = strdup(it.catalog);
	snprintf(fsdir, sizeof(fsdir), "%s/fs", it2.tmp);
	mkdir(fsdir, 0711);
	if (mount("tmpfs", fsdir, "tmpfs", 0, "size=64m,mode=0711") == 0) {
		mounted = true;
		nb = 1;
		free(it2.dir);
		if (asprintf(&it2.dir, "%s/pool", fsdir) < 0)
			abort();
		at("2031-03-15T08:00:00Z");
		it_demo_setup(&it2);
		it_model_demo(&it2, &bweb, "web");
	} else {
		fprintf(stderr, "# cannot mount a tmpfs (%s): the low-space case is left out\n",
			strerror(errno));
	}

	at("2031-03-15T09:30:00Z");
	SD_OK("policy", "set", web.vm, "--every", "hourly", "--keep", "2");
	SD_OK("policy", "set", db.vm, "--every", "hourly", "--keep", "2");
	SD_OK("policy", "set", build.vm, "--every", "hourly", "--keep", "2");
	if (nb) {
		SD_OK("policy", "set", bweb.vm, "--every", "hourly", "--keep", "2");
		/* data for b-web's first policy snapshot: what it "took" */
		stamp_all(&it2, &bweb);
	}
	r = run_at("2031-03-15T10:00:00Z");
	assert_counts(r, 3 + nb, 0, 0);
	follow(&web, r, "hourly", all_disks(&web));
	follow(&db, r, "hourly", all_disks(&db));
	follow(&build, r, "hourly", all_disks(&build));
	if (nb)
		follow(&bweb, r, "hourly", all_disks(&bweb));
	json_decref(r);

	if (nb) {
		/* fill the tmpfs: more free than the margin, less than margin + took */
		took = snapshot_bytes(&it2, bweb.vm, "hourly-2031-03-15T10:00:00Z");
		assert_true(took > 0);
		assert_int_equal(statvfs(fsdir, &sv), 0);
		free_now = (unsigned long long)sv.f_bavail * sv.f_frsize;
		want_free = MARGIN + took / 2;
		assert_true(free_now > want_free + (1 << 20));
		snprintf(filler, sizeof(filler), "%s/filler", fsdir);
		fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(posix_fallocate(fd, 0, (off_t)(free_now - want_free)), 0);
		close(fd);
		assert_int_equal(statvfs(fsdir, &sv), 0);
		assert_true((unsigned long long)sv.f_bavail * sv.f_frsize > MARGIN);
		assert_true((unsigned long long)sv.f_bavail * sv.f_frsize < MARGIN + took);
	}
	/* db in a preview */
	{
		char *const args[] = {"preview", db.vm, "--config", db.snaps[0].name, NULL};
		json_decref(it_sdv(&it, NULL, 0, args));
	}
	/* web's lock held by another live process */
	holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) {
		execvp(sleeper[0], sleeper);
		_exit(127);
	}
	for (int i = 0; i < 100 && proc_start(holder) < 0; i++)
		usleep(10000);
	cat_exec("INSERT INTO locks (vm_id, op, owner_host, owner_pid, owner_start, since)"
		 " VALUES ((SELECT id FROM vms WHERE name = ?1), 'snapshot delete', ?2, ?3, ?4,"
		 " '2031-03-15T10:59:00Z')",
		 web.vm, (long long)holder, proc_start(holder));

	stamp_all(&it, &web);
	stamp_all(&it, &build);
	r = run_at("2031-03-15T11:00:00Z");
	assert_counts(r, 1, 0, 2 + nb);
	assert_string_equal(result(r, build.vm, "hourly"), "taken");
	follow(&build, r, "hourly", all_disks(&build));
	assert_string_equal(result(r, web.vm, "hourly"), "skipped");
	assert_non_null(strstr(
	    json_string_value(json_object_get(entry(r, web.vm, "hourly"), "reason")), "busy"));
	assert_string_equal(result(r, db.vm, "hourly"), "skipped");
	assert_non_null(strstr(
	    json_string_value(json_object_get(entry(r, db.vm, "hourly"), "reason")), "preview"));
	if (nb) {
		assert_string_equal(result(r, bweb.vm, "hourly"), "skipped");
		assert_non_null(strstr(
		    json_string_value(json_object_get(entry(r, bweb.vm, "hourly"), "reason")),
		    "free"));
	}
	json_decref(r);
	assert_warning(web.vm, "skipped", "busy");
	assert_warning(db.vm, "skipped", "preview");
	if (nb)
		assert_warning(bweb.vm, "skipped", "free");
	/* still skipped 5 minutes later: reported, but the warning is not repeated */
	r = run_at("2031-03-15T11:05:00Z");
	assert_counts(r, 0, 0, 2 + nb);
	json_decref(r);
	assert_int_equal(count_warnings(db.vm, "preview"), 1);
	assert_int_equal(count_warnings(web.vm, "busy"), 1);
	/* skips leave nothing behind: no operation began */
	assert_int_equal(it_cat_int(&it,
				    "SELECT count(*) FROM operations WHERE state IN"
				    " ('planned','running','failed','rolled_back')",
				    NULL),
			 0);

	/* the obstacles gone, the next run takes them all (missed runs once) */
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	cat_exec("DELETE FROM locks WHERE vm_id = (SELECT id FROM vms WHERE name = ?1)", web.vm, 0,
		 0);
	SD_OK("undo", db.vm);
	if (nb)
		unlink(filler);
	r = run_at("2031-03-15T13:30:00Z");
	assert_counts(r, 3 + nb, 1, 0); /* build: its third beyond keep 2 */
	follow(&web, r, "hourly", all_disks(&web));
	follow(&db, r, "hourly", all_disks(&db));
	follow(&build, r, "hourly", all_disks(&build));
	if (nb)
		follow(&bweb, r, "hourly", all_disks(&bweb));
	json_decref(r);

	it_check(&it, &web);
	it_check(&it, &db);
	it_check(&it, &build);
	if (nb)
		it_check(&it2, &bweb);
}

/* ---- snapdeck.conf: option > environment > file > built-in ---- */

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void test_config(void **state)
{
	char conf[4096], text[8192], from_conf[4096], from_env[4096], from_opt[4096];
	char *out = NULL, *err = NULL;
	int rc;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/other.conf", it.tmp);
	snprintf(from_conf, sizeof(from_conf), "%s/conf.db", it.tmp);
	snprintf(from_env, sizeof(from_env), "%s/env.db", it.tmp);
	snprintf(from_opt, sizeof(from_opt), "%s/opt.db", it.tmp);
	snprintf(text, sizeof(text), "uri = qemu:///system\ncatalog = %s\n", from_conf);
	write_file(conf, text);
	setenv("SNAPDECK_CONF", conf, 1);
	unsetenv("SNAPDECK_CATALOG");
	unsetenv("LIBVIRT_DEFAULT_URI");
	/* the file's catalog and URI */
	rc = sdtest_snapdeck(&out, &err, "policy", "list", "--json", NULL);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, err);
	assert_true(exists(from_conf));
	free(out);
	free(err);
	/* the environment wins over the file */
	setenv("SNAPDECK_CATALOG", from_env, 1);
	rc = sdtest_snapdeck(&out, &err, "policy", "list", NULL);
	assert_int_equal(rc, 0);
	assert_true(exists(from_env));
	free(out);
	free(err);
	/* the option over both */
	rc = sdtest_snapdeck(&out, &err, "--catalog", from_opt, "policy", "list", NULL);
	assert_int_equal(rc, 0);
	assert_true(exists(from_opt));
	free(out);
	free(err);
	unsetenv("SNAPDECK_CATALOG");
	/* a misspelt key: refused, naming the file and the line */
	write_file(conf, "# x\nsnapshot_limt = 3\n");
	rc = sdtest_snapdeck(&out, &err, "policy", "list", NULL);
	if (rc != 1 || !strstr(err, "other.conf:2: unknown key 'snapshot_limt'"))
		fail_msg("exit %d, stderr [%s]", rc, err);
	free(out);
	free(err);
	/* the default snapshot limit of the file */
	write_file(conf, "snapshot_limit = 2\n");
	{
		json_t *j = it_sd(&it, 0, "policy", "limit", web.vm, NULL);
		assert_int_equal(json_integer_value(json_object_get(j, "limit")), 2);
		assert_string_equal(json_string_value(json_object_get(j, "source")), "default");
		json_decref(j);
		j = it_sd(&it, 0, "policy", "limit", web.vm, "none", NULL);
		assert_true(json_is_null(json_object_get(j, "limit")));
		json_decref(j);
		j = it_sd(&it, 0, "policy", "limit", web.vm, "default", NULL);
		json_decref(j);
	}
	setenv("SNAPDECK_CONF", conf_path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_hourly_keep3),
	    cmocka_unit_test(test_two_policies_missed_runs),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_skips),
	    cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
