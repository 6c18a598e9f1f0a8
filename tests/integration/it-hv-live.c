/* src/hv/live.h against a real libvirtd: live external snapshots (subset,
 * memory, quiesce refused), block jobs (active commit, commit of a middle
 * layer, pull, cancel), restoring a memory state onto new overlays, a
 * shutdown that times out, and then, with the event loop running, domain
 * watches and pausing the loop around fork().
 *
 * Losing libvirtd in the middle of a block job is tested against a private
 * libvirtd this program starts (qemu:///session as nobody, its own socket
 * in the temp folder) and stops by its pid: the machine's libvirtd, which
 * other tests use at the same time, is never touched.
 *
 * Every VM is a fresh domain in the BIOS (blank qcow2 disks); content is
 * written with qemu-io before a VM starts, or by the "guest" through the
 * HMP qemu-io command while it runs (its output lands in the VM's log),
 * and read back offline once the VM is off. IT_KEEP=1 keeps the temp
 * folder; IT_FILTER=GLOB runs only the tests it matches. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"
#include "hv/hv.h"
#include "hv/live.h"
#include "util/auto.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/str.h"

#define SYS_URI "qemu:///system"
#define MiB (1024ULL * 1024)

/* The regions the tests write: a whole 1 MiB, a partial cluster, and one
 * zeroed over older data. */
#define R0_OFF 0ULL
#define R0_LEN MiB
#define R1_OFF (MiB + 512)
#define R1_LEN 4096ULL
#define R2_OFF (4 * MiB)
#define R2_LEN MiB

static char *g_tmp;
static pid_t g_main_pid;
static unsigned g_seq;

/* ---- small helpers ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Runs argv; fails the test unless it exits 0. */
static void must(char *const argv[])
{
	char *out = NULL, *err = NULL;
	int rc = sdtest_run(argv, &out, &err);

	if (rc != 0)
		fail_msg("%s %s failed (%d): %s%s", argv[0], argv[1] ? argv[1] : "", rc,
			 out ? out : "", err ? err : "");
	free(out);
	free(err);
}

static char *path_in(const char *dir, const char *name)
{
	return sd_asprintf("%s/%s", dir, name);
}

static void img_create(const char *path, const char *size)
{
	char *const argv[] = {"qemu-img", "create",	"-q",	      "-f",	    "qcow2",
			      "-o",	  "compat=1.1", (char *)path, (char *)size, NULL};
	must(argv);
}

static void img_overlay(const char *path, const char *backing)
{
	char *const argv[] = {
	    "qemu-img", "create",	 "-q", "-f",	"qcow2",      "-o", "compat=1.1",
	    "-b",	(char *)backing, "-F", "qcow2", (char *)path, NULL};
	must(argv);
}

/* qemu-io -f qcow2 -c CMD path (offline write). */
static void img_io(const char *path, const char *cmd)
{
	char *const argv[] = {"qemu-io", "-f", "qcow2", "-c", (char *)cmd, (char *)path, NULL};
	must(argv);
}

static void img_write(const char *path, uint64_t off, uint64_t len, unsigned pat)
{
	SD_AUTOFREE char *cmd = NULL;

	if (pat == 0)
		cmd = sd_asprintf("write -z %llu %llu", (unsigned long long)off,
				  (unsigned long long)len);
	else
		cmd = sd_asprintf("write -P 0x%02x %llu %llu", pat, (unsigned long long)off,
				  (unsigned long long)len);
	img_io(path, cmd);
}

/* Does path read pat (0: zeros) over [off, off+len), through its chain? */
static bool img_reads(const char *path, uint64_t off, uint64_t len, unsigned pat)
{
	SD_AUTOFREE char *cmd = sd_asprintf("read -P 0x%02x %llu %llu", pat,
					    (unsigned long long)off, (unsigned long long)len);
	char *const argv[] = {"qemu-io", "-r", "-f", "qcow2", "-c", cmd, (char *)path, NULL};
	char *out = NULL;
	int rc = sdtest_run(argv, &out, NULL);
	bool ok = rc == 0 && out && !strstr(out, "verification failed");

	free(out);
	return ok;
}

#define assert_reads(path, off, len, pat)                                                          \
	do {                                                                                       \
		if (!img_reads(path, off, len, pat))                                               \
			fail_msg("%s does not read 0x%02x at %llu+%llu", path, (unsigned)(pat),    \
				 (unsigned long long)(off), (unsigned long long)(len));            \
	} while (0)

static void img_check(const char *path)
{
	char *const argv[] = {"qemu-img", "check", "-q", "-f", "qcow2", (char *)path, NULL};
	must(argv);
}

/* The backing file qemu-img names for path, or NULL. */
static char *img_backing(const char *path)
{
	char *const argv[] = {"qemu-img", "info", "-f", "qcow2", (char *)path, NULL};
	char *out = NULL, *b, *e, *r = NULL;

	if (sdtest_run(argv, &out, NULL) != 0)
		fail_msg("qemu-img info %s failed", path);
	b = strstr(out, "\nbacking file: ");
	if (b) {
		b += strlen("\nbacking file: ");
		e = strchr(b, '\n');
		r = sd_strndup(b, e ? (size_t)(e - b) : strlen(b));
	}
	free(out);
	return r;
}

static void assert_chain(char **chain, ...) __attribute__((sentinel));
/* chain equals the paths given (top first), NULL-terminated. */
static void assert_chain(char **chain, ...)
{
	va_list ap;
	size_t i = 0;
	const char *want;

	assert_non_null(chain);
	va_start(ap, chain);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (!chain[i] || strcmp(chain[i], want) != 0) {
			va_end(ap);
			fail_msg("chain[%zu] is %s, expected %s", i, chain[i] ? chain[i] : "(end)",
				 want);
		}
		i++;
	}
	va_end(ap);
	if (chain[i])
		fail_msg("chain[%zu] is %s, expected the end", i, chain[i]);
	sd_strv_free(chain);
}

/* ---- VMs ---- */

struct vm {
	char name[64];
	char uuid[37];
	char *dir; /* its folder, in g_tmp */
	const char *uri;
	struct hv_conn *c;
};

/* Every VM made, to remove whatever happens. */
static struct {
	char name[64];
	const char *uri;
} g_vms[64];
static size_t g_nvms;

static struct hv_conn *open_or_fail(const char *uri)
{
	struct sd_err err = SD_ERR_INIT;
	struct hv_conn *c = hv_open(uri, false, &err);

	if (!c)
		fail_msg("%s", err.msg);
	return c;
}

/* Defines (and, when start, starts) a VM with a disk per path (vda, vdb,
 * ...), on conn c (uri for the clean-up); extra (may be NULL) is more
 * devices' XML. */
static void vm_make_x(struct vm *v, struct hv_conn *c, const char *uri, const char *dir,
		      char *const *paths, size_t npaths, bool start, const char *extra)
{
	static const char *const targets[] = {"vda", "vdb", "vdc"};
	struct hv_domain_spec spec = {0};
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *xml = NULL;
	SD_AUTO(hv_domain) *dom = NULL;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "sdlive%d-%u", (int)g_main_pid, ++g_seq);
	v->c = c;
	v->uri = uri;
	v->dir = sd_strdup(dir);
	spec.name = v->name;
	spec.type = hv_domain_type_default();
	spec.memory_kib = 64 * 1024;
	spec.ndisks = npaths;
	for (size_t i = 0; i < npaths; i++) {
		spec.disks[i].target = targets[i];
		spec.disks[i].path = paths[i];
		spec.disks[i].format = "qcow2";
	}
	xml = hv_domain_xml_build(&spec);
	if (extra) {
		char *end = strstr(xml, "</devices>");
		char *x;

		assert_non_null(end);
		*end = '\0';
		x = sd_asprintf("%s%s</devices>%s", xml, extra, end + strlen("</devices>"));
		free(xml);
		xml = x;
	}
	snprintf(g_vms[g_nvms].name, sizeof(g_vms[g_nvms].name), "%s", v->name);
	g_vms[g_nvms++].uri = uri;
	if (hv_domain_define(c, xml, &err) < 0)
		fail_msg("%s", err.msg);
	dom = hv_domain_lookup(c, v->name, &err);
	if (!dom)
		fail_msg("%s", err.msg);
	snprintf(v->uuid, sizeof(v->uuid), "%s", dom->uuid);
	if (start && hv_domain_start(c, v->name, &err) < 0)
		fail_msg("%s", err.msg);
}

static void vm_make(struct vm *v, struct hv_conn *c, const char *uri, const char *dir,
		    char *const *paths, size_t npaths, bool start)
{
	vm_make_x(v, c, uri, dir, paths, npaths, start, NULL);
}

static enum hv_state vm_state(struct vm *v)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(hv_domain) *dom = hv_domain_lookup(v->c, v->name, &err);

	if (!dom)
		fail_msg("%s", err.msg);
	return dom->state;
}

static void vm_destroy(struct vm *v)
{
	struct sd_err err = SD_ERR_INIT;

	if (hv_domain_destroy(v->c, v->name, &err) < 0)
		fail_msg("%s", err.msg);
}

static void vm_free(struct vm *v)
{
	struct sd_err err = SD_ERR_INIT;

	if (v->c && hv_domain_remove(v->c, v->name, &err) < 0)
		fail_msg("%s", err.msg);
	free(v->dir);
	v->dir = NULL;
}

static char **live_chain(struct vm *v, const char *target)
{
	struct sd_err err = SD_ERR_INIT;
	char **chain = hv_live_chain(v->c, v->uuid, target, &err);

	if (!chain)
		fail_msg("%s", err.msg);
	return chain;
}

/* virsh domblklist's source of target. */
static char *blklist_source(struct vm *v, const char *target)
{
	char *const argv[] = {"virsh", "-q", "-c", (char *)v->uri, "domblklist", v->name, NULL};
	char *out = NULL, *line, *save = NULL, *r = NULL;

	if (sdtest_run(argv, &out, NULL) != 0)
		fail_msg("virsh domblklist %s failed", v->name);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;

		while (*p == ' ')
			p++;
		if (strncmp(p, target, strlen(target)) != 0 || p[strlen(target)] != ' ')
			continue;
		p += strlen(target);
		while (*p == ' ')
			p++;
		r = sd_strdup(p);
		break;
	}
	free(out);
	return r;
}

/* The "guest": runs a qemu-io command on the running VM's disk target
 * through HMP; QEMU prints the result in the VM's log, which is returned
 * (what it appended). System libvirtd only. */
static char *guest_io(struct vm *v, const char *target, const char *cmd)
{
	SD_AUTOFREE char *log = sd_asprintf("/var/log/libvirt/qemu/%s.log", v->name);
	SD_AUTOFREE char *hmp =
	    sd_asprintf("qemu-io -d virtio-disk%d/virtio-backend \"%s\"", target[2] - 'a', cmd);
	char *const argv[] = {"virsh", "-q", "-c", (char *)v->uri, "qemu-monitor-command", v->name,
			      "--hmp", hmp,  NULL};
	struct stat st;
	off_t before;
	double deadline;

	before = stat(log, &st) == 0 ? st.st_size : 0;
	must(argv);
	/* virtlogd writes the log a moment later */
	deadline = now_s() + 5;
	while (now_s() < deadline) {
		SD_AUTOFREE char *all = sdtest_read_file(log);

		if (all && (off_t)strlen(all) > before) {
			const char *tail = all + before;

			if (strstr(tail, " bytes at offset") || strstr(tail, "failed") ||
			    strstr(tail, "rror"))
				return sd_strdup(tail);
		}
		sleep_ms(50);
	}
	fail_msg("no answer of qemu-io in %s", log);
	return NULL;
}

static bool guest_reads(struct vm *v, const char *target, uint64_t off, uint64_t len, unsigned pat)
{
	SD_AUTOFREE char *cmd = sd_asprintf("read -P 0x%02x %llu %llu", pat,
					    (unsigned long long)off, (unsigned long long)len);
	SD_AUTOFREE char *out = guest_io(v, target, cmd);

	return strstr(out, "read ") && !strstr(out, "verification failed");
}

static void guest_write(struct vm *v, const char *target, uint64_t off, uint64_t len, unsigned pat)
{
	SD_AUTOFREE char *cmd = NULL;
	SD_AUTOFREE char *out = NULL;

	if (pat == 0)
		cmd = sd_asprintf("write -z %llu %llu", (unsigned long long)off,
				  (unsigned long long)len);
	else
		cmd = sd_asprintf("write -P 0x%02x %llu %llu", pat, (unsigned long long)off,
				  (unsigned long long)len);
	out = guest_io(v, target, cmd);
	if (!strstr(out, "wrote "))
		fail_msg("guest write on %s: %s", v->name, out);
}

/* A new folder in g_tmp for one test. */
static char *test_dir(const char *tag)
{
	char *d = sd_asprintf("%s/%s", g_tmp, tag);

	if (mkdir(d, 0711) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", d, strerror(errno));
	return d;
}

/* ---- progress callbacks ---- */

struct prog {
	unsigned calls;
	unsigned cancel_after; /* 0: never */
	uint64_t last_done, last_total;
	double first_t, last_t;
	double t[4096];
	uint64_t done[4096];
};

static bool on_progress(uint64_t done, uint64_t total, void *opaque)
{
	struct prog *p = opaque;

	if (p->calls < SD_N_ELEMENTS(p->t)) {
		p->t[p->calls] = now_s();
		p->done[p->calls] = done;
	}
	if (!p->calls)
		p->first_t = now_s();
	p->last_t = now_s();
	p->calls++;
	p->last_done = done;
	p->last_total = total;
	return !(p->cancel_after && p->calls >= p->cancel_after);
}

/* ---- tests, without an event loop ---- */

static struct hv_conn *g_sys;

static int group1_setup(void **state)
{
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	g_sys = hv_open(SYS_URI, false, &err);
	if (!g_sys) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state);

/* A subset snapshot (vda in, vdb out), then one with memory of both, then
 * a quiesce refused for want of a guest agent; path characters that XML
 * must escape. */
static void test_snapshot(void **state)
{
	SD_AUTOFREE char *dir = test_dir("snap");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *b0 = path_in(dir, "b0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1 it's & <odd>.qcow2");
	SD_AUTOFREE char *a2 = path_in(dir, "a2.qcow2");
	SD_AUTOFREE char *b2 = path_in(dir, "b2.qcow2");
	SD_AUTOFREE char *a3 = path_in(dir, "a3.qcow2");
	SD_AUTOFREE char *mem = path_in(dir, "mem & 'state'");
	SD_AUTOFREE char *src = NULL;
	char *paths[] = {a0, b0};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	struct stat st;
	double t0;

	(void)state;
	img_create(a0, "64M");
	img_create(b0, "64M");
	img_write(a0, R0_OFF, R0_LEN, 0x11);
	img_write(b0, R0_OFF, R0_LEN, 0x21);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 2, true);

	/* vda in, vdb out */
	img_overlay(a1, a0);
	{
		struct hv_live_disk disks[] = {{"vda", a1}, {"vdb", NULL}};
		struct hv_live_snapshot s = {.disks = disks, .ndisks = 2};

		t0 = now_s();
		if (hv_live_snapshot(g_sys, v.uuid, &s, &err) < 0)
			fail_msg("%s", err.msg);
		printf("disk-only live snapshot: %.0f ms\n", (now_s() - t0) * 1000);
	}
	assert_chain(live_chain(&v, "vda"), a1, a0, NULL);
	assert_chain(live_chain(&v, "vdb"), b0, NULL);
	src = blklist_source(&v, "vda");
	assert_string_equal(src, a1);
	free(src);
	src = blklist_source(&v, "vdb");
	assert_string_equal(src, b0);
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);

	/* with memory, both disks */
	img_overlay(a2, a1);
	img_overlay(b2, b0);
	{
		struct hv_live_disk disks[] = {{"vda", a2}, {"vdb", b2}};
		struct hv_live_snapshot s = {.disks = disks, .ndisks = 2, .memory_path = mem};

		t0 = now_s();
		if (hv_live_snapshot(g_sys, v.uuid, &s, &err) < 0)
			fail_msg("%s", err.msg);
		printf("memory live snapshot: %.0f ms\n", (now_s() - t0) * 1000);
	}
	assert_int_equal(stat(mem, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);
	assert_chain(live_chain(&v, "vdb"), b2, b0, NULL);

	/* quiesce: no guest agent, nothing changes */
	img_overlay(a3, a2);
	{
		struct hv_live_disk disks[] = {{"vda", a3}, {"vdb", NULL}};
		struct hv_live_snapshot s = {.disks = disks, .ndisks = 2, .quiesce = true};

		assert_int_equal(hv_live_snapshot(g_sys, v.uuid, &s, &err), -1);
		assert_int_equal(err.code, SD_ERR_STATE);
		printf("quiesce: %s\n", err.msg);
		assert_non_null(strstr(err.msg, "has no guest agent answering: cannot quiesce"));
		assert_non_null(strstr(err.msg, v.name));
		sd_err_clear(&err);
	}
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);

	/* a VM that does not run */
	vm_destroy(&v);
	{
		struct hv_live_disk disks[] = {{"vda", a3}, {"vdb", NULL}};
		struct hv_live_snapshot s = {.disks = disks, .ndisks = 2};

		assert_int_equal(hv_live_snapshot(g_sys, v.uuid, &s, &err), -1);
		assert_int_equal(err.code, SD_ERR_STATE);
		sd_err_clear(&err);
	}
	/* offline, the layers read what they were given */
	assert_reads(a2, R0_OFF, R0_LEN, 0x11);
	assert_reads(b2, R0_OFF, R0_LEN, 0x21);
	img_check(a2);
	img_check(b2);
	vm_free(&v);
}

/* A live snapshot, the guest writes into the new top, an active commit
 * folds the top into its base and pivots. */
static void test_active_commit(void **state)
{
	SD_AUTOFREE char *dir = test_dir("active");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *b0 = path_in(dir, "b0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	char *paths[] = {a0, b0};
	struct hv_live_disk disks[] = {{"vda", NULL}, {"vdb", NULL}};
	struct hv_live_snapshot s = {.disks = disks, .ndisks = 2};
	struct hv_job job = {.kind = HV_JOB_ACTIVE_COMMIT, .target = "vda", .base = a0};
	struct prog p = {0};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	double t0;

	(void)state;
	img_create(a0, "64M");
	img_create(b0, "64M");
	img_write(a0, R0_OFF, R0_LEN, 0x31);
	img_write(a0, R1_OFF, R1_LEN, 0x32);
	img_write(a0, R2_OFF, R2_LEN, 0x33);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 2, true);
	img_overlay(a1, a0);
	disks[0].path = a1;
	if (hv_live_snapshot(g_sys, v.uuid, &s, &err) < 0)
		fail_msg("%s", err.msg);
	/* the guest writes: into the top now */
	guest_write(&v, "vda", R0_OFF, R0_LEN, 0x34);
	guest_write(&v, "vda", R2_OFF, R2_LEN, 0);
	assert_true(guest_reads(&v, "vda", R0_OFF, R0_LEN, 0x34));
	assert_true(guest_reads(&v, "vda", R1_OFF, R1_LEN, 0x32));
	assert_false(guest_reads(&v, "vda", R1_OFF, R1_LEN, 0x77)); /* the check can fail */
	assert_chain(live_chain(&v, "vda"), a1, a0, NULL);

	t0 = now_s();
	if (hv_block_job_run(g_sys, v.uuid, &job, on_progress, &p, &err) < 0)
		fail_msg("%s", err.msg);
	printf("active commit: %.0f ms, %u progress calls\n", (now_s() - t0) * 1000, p.calls);
	assert_true(p.calls >= 1);
	assert_chain(live_chain(&v, "vda"), a0, NULL);
	assert_chain(live_chain(&v, "vdb"), b0, NULL);
	assert_true(guest_reads(&v, "vda", R0_OFF, R0_LEN, 0x34));
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);

	/* again: the chain shows it done, nothing to do */
	assert_int_equal(hv_block_job_run(g_sys, v.uuid, &job, NULL, NULL, &err), 0);

	vm_destroy(&v);
	assert_reads(a0, R0_OFF, R0_LEN, 0x34);
	assert_reads(a0, R1_OFF, R1_LEN, 0x32);
	assert_reads(a0, R2_OFF, R2_LEN, 0);
	img_check(a0);
	vm_free(&v);
}

/* a0 <- a1 <- a2 made offline, each with its own data. */
static void make_chain3(const char *a0, const char *a1, const char *a2)
{
	img_create(a0, "64M");
	img_write(a0, R0_OFF, R0_LEN, 0x41);
	img_write(a0, R1_OFF, R1_LEN, 0x42);
	img_write(a0, R2_OFF, R2_LEN, 0x43);
	img_overlay(a1, a0);
	img_write(a1, R0_OFF, R0_LEN, 0x44);
	img_write(a1, R2_OFF, R2_LEN, 0); /* zeros over older data */
	img_overlay(a2, a1);
	img_write(a2, R1_OFF, R1_LEN, 0x45);
}

static void assert_chain3_content(const char *top)
{
	assert_reads(top, R0_OFF, R0_LEN, 0x44);
	assert_reads(top, R1_OFF, R1_LEN, 0x45);
	assert_reads(top, R2_OFF, R2_LEN, 0);
}

/* Commit of the middle layer: a2 then sits on a0, same content. */
static void test_commit_middle(void **state)
{
	SD_AUTOFREE char *dir = test_dir("commit");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	SD_AUTOFREE char *a2 = path_in(dir, "a2.qcow2");
	SD_AUTOFREE char *back = NULL;
	char *paths[] = {a2};
	struct hv_job job = {.kind = HV_JOB_COMMIT, .target = "vda", .base = a0, .top = a1};
	struct hv_job bad = {.kind = HV_JOB_COMMIT, .target = "vda", .base = "/no/such", .top = a1};
	struct prog p = {0};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	double t0;

	(void)state;
	make_chain3(a0, a1, a2);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 1, true);
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);

	assert_int_equal(hv_block_job_run(g_sys, v.uuid, &bad, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);

	t0 = now_s();
	if (hv_block_job_run(g_sys, v.uuid, &job, on_progress, &p, &err) < 0)
		fail_msg("%s", err.msg);
	printf("commit: %.0f ms, %u progress calls\n", (now_s() - t0) * 1000, p.calls);
	assert_chain(live_chain(&v, "vda"), a2, a0, NULL);
	assert_true(guest_reads(&v, "vda", R0_OFF, R0_LEN, 0x44));
	vm_destroy(&v);
	assert_chain3_content(a2);
	back = img_backing(a2);
	assert_non_null(back);
	assert_string_equal(back, a0);
	img_check(a0);
	img_check(a2);
	vm_free(&v);
}

/* Pull with a base (a1's data up into a2), then of the whole chain. */
static void test_pull(void **state)
{
	SD_AUTOFREE char *dir = test_dir("pull");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	SD_AUTOFREE char *a2 = path_in(dir, "a2.qcow2");
	SD_AUTOFREE char *back = NULL;
	char *paths[] = {a2};
	struct hv_job job = {.kind = HV_JOB_PULL, .target = "vda", .base = a0};
	struct hv_job all = {.kind = HV_JOB_PULL, .target = "vda"};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	make_chain3(a0, a1, a2);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 1, true);

	if (hv_block_job_run(g_sys, v.uuid, &job, NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_chain(live_chain(&v, "vda"), a2, a0, NULL);
	if (hv_block_job_run(g_sys, v.uuid, &all, NULL, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_chain(live_chain(&v, "vda"), a2, NULL);
	assert_true(guest_reads(&v, "vda", R1_OFF, R1_LEN, 0x45));
	vm_destroy(&v);
	assert_chain3_content(a2);
	back = img_backing(a2);
	assert_null(back);
	img_check(a2);
	vm_free(&v);
}

/* A slow commit of the middle layer and a slow active commit, both
 * cancelled by the progress callback: the chain stays, so does what the
 * guest sees. */
static void test_cancel(void **state)
{
	SD_AUTOFREE char *dir = test_dir("cancel");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	SD_AUTOFREE char *a2 = path_in(dir, "a2.qcow2");
	char *paths[] = {a2};
	struct hv_job commit = {
	    .kind = HV_JOB_COMMIT, .target = "vda", .base = a0, .top = a1, .bandwidth_mib = 4};
	struct hv_job active = {
	    .kind = HV_JOB_ACTIVE_COMMIT, .target = "vda", .base = a1, .bandwidth_mib = 4};
	struct prog p = {.cancel_after = 3};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	double t0;

	(void)state;
	make_chain3(a0, a1, a2);
	img_write(a1, 8 * MiB, 48 * MiB, 0x46);
	img_write(a2, 8 * MiB + 4096, 48 * MiB, 0x47);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 1, true);

	t0 = now_s();
	assert_int_equal(hv_block_job_run(g_sys, v.uuid, &commit, on_progress, &p, &err), -1);
	printf("commit cancelled after %.0f ms: %s\n", (now_s() - t0) * 1000, err.msg);
	assert_int_equal(err.code, SD_ERR_STATE);
	assert_string_equal(err.msg, "cancelled");
	assert_int_equal(p.calls, 3);
	assert_true(p.last_done < p.last_total);
	sd_err_clear(&err);
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);

	memset(&p, 0, sizeof(p));
	p.cancel_after = 3;
	assert_int_equal(hv_block_job_run(g_sys, v.uuid, &active, on_progress, &p, &err), -1);
	assert_int_equal(err.code, SD_ERR_STATE);
	assert_true(p.last_done < p.last_total);
	sd_err_clear(&err);
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);
	assert_true(guest_reads(&v, "vda", 8 * MiB, 4096, 0x46));
	assert_true(guest_reads(&v, "vda", 8 * MiB + 4096, 48 * MiB, 0x47));

	vm_destroy(&v);
	assert_chain3_content(a2);
	assert_reads(a2, 8 * MiB, 4096, 0x46);
	assert_reads(a2, 8 * MiB + 4096, 48 * MiB, 0x47);
	img_check(a0);
	img_check(a1);
	img_check(a2);
	vm_free(&v);
}

/* A memory snapshot; the VM goes on (and its new tops change); then it is
 * resumed from the memory state on fresh overlays of the snapshot's
 * layers: it runs, libvirt and the guest see the full chains, and the
 * content is the snapshot's. */
static void test_restore(void **state)
{
	SD_AUTOFREE char *dir = test_dir("restore");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *b0 = path_in(dir, "b0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	SD_AUTOFREE char *b1 = path_in(dir, "b1.qcow2");
	SD_AUTOFREE char *a2 = path_in(dir, "a2.qcow2");
	SD_AUTOFREE char *b2 = path_in(dir, "b2.qcow2");
	SD_AUTOFREE char *mem = path_in(dir, "mem");
	char *paths[] = {a0, b0};
	struct hv_live_disk disks[] = {{"vda", a1}, {"vdb", b1}};
	struct hv_live_snapshot s = {.disks = disks, .ndisks = 2, .memory_path = mem};
	struct hv_live_disk tops[] = {{"vda", a2}, {"vdb", b2}};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	double t0;

	(void)state;
	img_create(a0, "64M");
	img_create(b0, "64M");
	img_write(a0, R0_OFF, R0_LEN, 0x51);
	img_write(b0, R0_OFF, R0_LEN, 0x52);
	vm_make(&v, g_sys, SYS_URI, dir, paths, 2, true);
	img_overlay(a1, a0);
	img_overlay(b1, b0);
	if (hv_live_snapshot(g_sys, v.uuid, &s, &err) < 0)
		fail_msg("%s", err.msg);
	guest_write(&v, "vda", R0_OFF, R0_LEN, 0x53); /* after the snapshot */
	vm_destroy(&v);
	img_write(b1, R0_OFF, R0_LEN, 0x54);
	assert_reads(a1, R0_OFF, R0_LEN, 0x53);

	img_overlay(a2, a0);
	img_overlay(b2, b0);
	t0 = now_s();
	if (hv_domain_restore(g_sys, mem, tops, 2, &err) < 0)
		fail_msg("%s", err.msg);
	printf("restore: %.0f ms\n", (now_s() - t0) * 1000);
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);
	assert_chain(live_chain(&v, "vda"), a2, a0, NULL);
	assert_chain(live_chain(&v, "vdb"), b2, b0, NULL);
	/* what QEMU opened: the overlays with their backing */
	assert_true(guest_reads(&v, "vda", R0_OFF, R0_LEN, 0x51));
	assert_true(guest_reads(&v, "vdb", R0_OFF, R0_LEN, 0x52));

	/* running already */
	assert_int_equal(hv_domain_restore(g_sys, mem, tops, 2, &err), -1);
	printf("restore while running: %s\n", err.msg);
	assert_int_equal(err.code, SD_ERR_STATE);
	sd_err_clear(&err);

	vm_destroy(&v);
	assert_reads(a2, R0_OFF, R0_LEN, 0x51);
	assert_reads(b2, R0_OFF, R0_LEN, 0x52);
	img_check(a2);
	img_check(b2);
	/* a memory file that is not one */
	assert_int_equal(hv_domain_restore(g_sys, a0, tops, 2, &err), -1);
	assert_int_equal(err.code, SD_ERR_HV);
	sd_err_clear(&err);
	vm_free(&v);
}

/* A guest in its BIOS ignores the ACPI button: the timeout path. */
static void test_shutdown_timeout(void **state)
{
	SD_AUTOFREE char *dir = test_dir("shutdown");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	char *paths[] = {a0};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	double t0, dt;

	(void)state;
	img_create(a0, "16M");
	vm_make(&v, g_sys, SYS_URI, dir, paths, 1, true);
	t0 = now_s();
	assert_int_equal(hv_domain_shutdown(g_sys, v.name, 1, &err), -1);
	dt = now_s() - t0;
	printf("shutdown: %s (%.1f s)\n", err.msg, dt);
	assert_int_equal(err.code, SD_ERR_BUSY);
	assert_non_null(strstr(err.msg, "did not shut down within 1 s"));
	assert_true(dt >= 1.0 && dt < 3.0);
	sd_err_clear(&err);
	assert_int_equal(vm_state(&v), HV_STATE_RUNNING);
	vm_destroy(&v);
	assert_int_equal(hv_domain_shutdown(g_sys, v.name, 1, &err), -1);
	assert_int_equal(err.code, SD_ERR_STATE);
	sd_err_clear(&err);
	assert_int_equal(hv_domain_shutdown(g_sys, "sdlive-no-such-vm", 1, &err), -1);
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	vm_free(&v);
}

/* A guest agent configured but not answering (the BIOS runs none): a
 * quiesce is refused the same way; a shutdown falls back to ACPI (and
 * times out). */
static void test_agent_silent(void **state)
{
	static const char *const channel =
	    "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
	    "</channel>";
	SD_AUTOFREE char *dir = test_dir("agent");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	SD_AUTOFREE char *a1 = path_in(dir, "a1.qcow2");
	char *paths[] = {a0};
	struct hv_live_disk disks[] = {{"vda", a1}};
	struct hv_live_snapshot s = {.disks = disks, .ndisks = 1, .quiesce = true};
	struct vm v;
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	img_create(a0, "16M");
	vm_make_x(&v, g_sys, SYS_URI, dir, paths, 1, true, channel);
	img_overlay(a1, a0);
	assert_int_equal(hv_live_snapshot(g_sys, v.uuid, &s, &err), -1);
	printf("quiesce, agent silent: %s\n", err.msg);
	assert_int_equal(err.code, SD_ERR_STATE);
	assert_non_null(strstr(err.msg, "has no guest agent answering: cannot quiesce"));
	sd_err_clear(&err);
	assert_chain(live_chain(&v, "vda"), a0, NULL);
	assert_int_equal(hv_domain_shutdown(g_sys, v.uuid, 1, &err), -1);
	assert_int_equal(err.code, SD_ERR_BUSY);
	sd_err_clear(&err);
	/* without quiesce it works */
	s.quiesce = false;
	if (hv_live_snapshot(g_sys, v.uuid, &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_chain(live_chain(&v, "vda"), a1, a0, NULL);
	vm_destroy(&v);
	vm_free(&v);
}

/* ---- a private libvirtd, to lose and get back ---- */

struct privd {
	char *dir, *run, *uri, *log;
	pid_t pid;
	char **envp;
};
static struct privd g_pd;

/* Starts libvirtd as nobody (group kvm) in qemu:///session mode, its
 * socket and state in g_pd.dir; waits until it answers. The child only
 * makes system calls between fork and exec. 0 when it answers. */
static int privd_start(void)
{
	struct group *kvm = getgrnam("kvm");
	gid_t groups[1];
	int ngroups = 0;
	char *const argv[] = {"libvirtd", "--timeout", "0", NULL};
	double deadline;
	pid_t pid;
	int fd;

	if (kvm)
		groups[ngroups++] = kvm->gr_gid;
	fd = open(g_pd.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	hv_events_pause();
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(g_pd.dir) < 0 ||
		    setgroups((size_t)ngroups, groups) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(126);
		execve("/usr/sbin/libvirtd", argv, g_pd.envp);
		_exit(127);
	}
	hv_events_resume();
	close(fd);
	if (pid < 0)
		return -1;
	g_pd.pid = pid;
	deadline = now_s() + 20;
	while (now_s() < deadline) {
		struct sd_err err = SD_ERR_INIT;
		struct hv_conn *c = hv_open(g_pd.uri, true, &err);
		int st;

		if (c) {
			hv_close(c);
			return 0;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			g_pd.pid = 0;
			return -1;
		}
		sleep_ms(100);
	}
	return -1;
}

/* SIGTERM to our libvirtd, by its pid, and waits for it to go. */
static void privd_stop(void)
{
	double deadline = now_s() + 15;
	int st;

	if (g_pd.pid <= 0)
		return;
	kill(g_pd.pid, SIGTERM);
	while (now_s() < deadline) {
		if (waitpid(g_pd.pid, &st, WNOHANG) == g_pd.pid) {
			g_pd.pid = 0;
			return;
		}
		sleep_ms(50);
	}
	kill(g_pd.pid, SIGKILL);
	waitpid(g_pd.pid, &st, 0);
	g_pd.pid = 0;
}

/* Sets up and starts the private libvirtd once; false (with why) when it
 * cannot run here. */
static bool privd_ensure(char **why)
{
	static bool tried, ok;
	SD_AUTOFREE char *home = NULL;
	SD_AUTOFREE char *conf = NULL;
	SD_AUTOFREE char *qconf = NULL;
	FILE *f;

	if (tried) {
		if (ok && g_pd.pid <= 0 && privd_start() < 0)
			ok = false;
		if (!ok)
			*why = sd_strdup("the private libvirtd did not start");
		return ok;
	}
	tried = true;
	if (geteuid() != 0 || access("/usr/sbin/libvirtd", X_OK) != 0) {
		*why = sd_strdup("needs root and /usr/sbin/libvirtd");
		return false;
	}
	g_pd.dir = sd_asprintf("%s/privd", g_tmp);
	g_pd.run = sd_asprintf("%s/run", g_pd.dir);
	g_pd.log = sd_asprintf("%s/libvirtd.log", g_tmp);
	g_pd.uri = sd_asprintf("qemu:///session?socket=%s/libvirt/libvirt-sock", g_pd.run);
	home = sd_asprintf("%s/home", g_pd.dir);
	conf = sd_asprintf("%s/.config/libvirt", home);
	qconf = sd_asprintf("%s/qemu.conf", conf);
	{
		char *const mk[] = {"mkdir", "-p", g_pd.run, conf, NULL};
		must(mk);
	}
	/* QEMU's output to a file: no session virtlogd left behind */
	f = fopen(qconf, "w");
	assert_non_null(f);
	fputs("stdio_handler = \"file\"\n", f);
	fclose(f);
	{
		char *const ch[] = {"chown", "-R", "nobody:nogroup", g_pd.dir, NULL};
		must(ch);
	}
	chmod(g_pd.dir, 0755);
	chmod(g_pd.run, 0700);
	g_pd.envp = sd_calloc(8, sizeof(char *));
	g_pd.envp[0] = sd_strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	g_pd.envp[1] = sd_asprintf("HOME=%s", home);
	g_pd.envp[2] = sd_asprintf("XDG_RUNTIME_DIR=%s", g_pd.run);
	g_pd.envp[3] = sd_asprintf("XDG_CONFIG_HOME=%s/.config", home);
	g_pd.envp[4] = sd_asprintf("XDG_CACHE_HOME=%s/.cache", home);
	g_pd.envp[5] = sd_asprintf("XDG_DATA_HOME=%s/.local/share", home);
	ok = privd_start() == 0;
	if (!ok)
		*why = sd_asprintf("the private libvirtd did not start (see %s)", g_pd.log);
	return ok;
}

/* A folder the private libvirtd's QEMU (nobody) may use. */
static char *privd_dir(const char *tag)
{
	char *d = sd_asprintf("%s/%s", g_pd.dir, tag);
	char *const ch[] = {"chown", "-R", "nobody:nogroup", d, NULL};

	mkdir(d, 0755);
	must(ch);
	return d;
}

static void privd_chown(const char *dir)
{
	char *const ch[] = {"chown", "-R", "nobody:nogroup", (char *)dir, NULL};
	must(ch);
}

/* Stops our libvirtd in the middle of a job and starts it again: once the
 * job had `calls` progress calls, after pre_ms more, for down_ms. */
struct killer {
	struct prog *p;
	unsigned calls;
	long pre_ms, down_ms;
	double t_stop, t_up;
	uint64_t done_at_stop, total;
	int started; /* 0: did not come back */
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	double deadline = now_s() + 30;

	while (__atomic_load_n(&k->p->calls, __ATOMIC_ACQUIRE) < k->calls && now_s() < deadline)
		sleep_ms(20);
	sleep_ms(k->pre_ms);
	k->done_at_stop = k->p->last_done;
	k->total = k->p->last_total;
	k->t_stop = now_s();
	privd_stop();
	sleep_ms(k->down_ms);
	k->started = privd_start() == 0;
	k->t_up = now_s();
	return NULL;
}

/* hv_block_job_run of job with the killer at work; its result. */
static int run_with_killer(struct hv_conn *c, struct vm *v, const struct hv_job *job,
			   struct killer *k, struct sd_err *err, const char *what)
{
	pthread_t th;
	double t0;
	int rc;

	memset(k->p, 0, sizeof(*k->p));
	assert_int_equal(pthread_create(&th, NULL, killer_main, k), 0);
	t0 = now_s();
	rc = hv_block_job_run(c, v->uuid, job, on_progress, k->p, err);
	pthread_join(th, NULL);
	printf("%s: %.1f s; libvirtd stopped at %.1f s (job at %llu of %llu), up again at "
	       "%.1f s; %s\n",
	       what, now_s() - t0, k->t_stop - t0, (unsigned long long)k->done_at_stop,
	       (unsigned long long)k->total, k->t_up - t0, rc == 0 ? "finished" : err->msg);
	assert_true(k->started);
	return rc;
}

/* A slow commit of a 512 MiB layer; libvirtd goes away and comes back
 * meanwhile; the job ends truthfully with the right chain. */
static void test_reconnect_job(void **state)
{
	SD_AUTOFREE char *why = NULL;
	SD_AUTOFREE char *dir = NULL;
	SD_AUTOFREE char *a0 = NULL, *a1 = NULL, *a2 = NULL;
	char *paths[1];
	struct hv_job job = {.kind = HV_JOB_COMMIT, .target = "vda", .bandwidth_mib = 100};
	static struct prog p;
	struct killer k = {.p = &p, .calls = 3, .pre_ms = 500, .down_ms = 500};
	struct hv_conn *c;
	struct vm v;
	struct sd_err err = SD_ERR_INIT;
	bool after = false;

	(void)state;
	if (!privd_ensure(&why)) {
		printf("reconnect: skipped: %s\n", why);
		skip();
	}
	dir = privd_dir("reconnect");
	a0 = path_in(dir, "a0.qcow2");
	a1 = path_in(dir, "a1.qcow2");
	a2 = path_in(dir, "a2.qcow2");
	img_create(a0, "1G");
	img_write(a0, R0_OFF, R0_LEN, 0x61);
	img_overlay(a1, a0);
	img_write(a1, 8 * MiB, 512 * MiB, 0x62);
	img_overlay(a2, a1);
	img_write(a2, R0_OFF, R0_LEN, 0x63);
	privd_chown(dir);
	paths[0] = a2;
	job.base = a0;
	job.top = a1;
	c = open_or_fail(g_pd.uri);
	vm_make(&v, c, g_pd.uri, dir, paths, 1, true);
	assert_chain(live_chain(&v, "vda"), a2, a1, a0, NULL);

	if (run_with_killer(c, &v, &job, &k, &err, "commit across a libvirtd restart") < 0)
		fail_msg("%s", err.msg);
	/* it was running when libvirtd went, and followed after it came back */
	assert_true(k.done_at_stop < k.total);
	for (unsigned i = 0; i < p.calls && i < SD_N_ELEMENTS(p.t); i++)
		after |= p.t[i] > k.t_up;
	assert_true(after);
	assert_chain(live_chain(&v, "vda"), a2, a0, NULL);
	vm_destroy(&v);
	assert_reads(a2, R0_OFF, R0_LEN, 0x63);
	assert_reads(a2, 8 * MiB, 512 * MiB, 0x62);
	assert_reads(a2, R2_OFF, R2_LEN, 0);
	{
		SD_AUTOFREE char *back = img_backing(a2);

		assert_non_null(back);
		assert_string_equal(back, a0);
	}
	img_check(a0);
	img_check(a2);
	vm_free(&v);
	hv_close(c);
}

/* Jobs that end while libvirtd is away: a commit that finishes, then an
 * active commit that becomes ready (and is pivoted once libvirtd is back). */
static void test_reconnect_while_down(void **state)
{
	SD_AUTOFREE char *why = NULL;
	SD_AUTOFREE char *dir = NULL;
	SD_AUTOFREE char *a0 = NULL, *a1 = NULL, *a2 = NULL;
	char *paths[1];
	struct hv_job commit = {.kind = HV_JOB_COMMIT, .target = "vda", .bandwidth_mib = 32};
	struct hv_job active = {.kind = HV_JOB_ACTIVE_COMMIT, .target = "vda", .bandwidth_mib = 32};
	static struct prog p;
	struct killer k = {.p = &p, .calls = 2, .pre_ms = 0, .down_ms = 2000};
	struct hv_conn *c;
	struct vm v;
	struct sd_err err = SD_ERR_INIT;

	(void)state;
	if (!privd_ensure(&why)) {
		printf("reconnect: skipped: %s\n", why);
		skip();
	}
	dir = privd_dir("down");
	a0 = path_in(dir, "a0.qcow2");
	a1 = path_in(dir, "a1.qcow2");
	a2 = path_in(dir, "a2.qcow2");
	img_create(a0, "256M");
	img_write(a0, R0_OFF, R0_LEN, 0x71);
	img_write(a0, R1_OFF, R1_LEN, 0x72);
	img_overlay(a1, a0);
	img_write(a1, 8 * MiB, 32 * MiB, 0x73);
	img_overlay(a2, a1);
	img_write(a2, 64 * MiB, 32 * MiB, 0x74);
	img_write(a2, R1_OFF, R1_LEN, 0x75);
	privd_chown(dir);
	paths[0] = a2;
	commit.base = a0;
	commit.top = a1;
	active.base = a0;
	c = open_or_fail(g_pd.uri);
	vm_make(&v, c, g_pd.uri, dir, paths, 1, true);

	if (run_with_killer(c, &v, &commit, &k, &err, "commit ending while libvirtd is away") < 0)
		fail_msg("%s", err.msg);
	assert_true(k.done_at_stop < k.total);
	assert_chain(live_chain(&v, "vda"), a2, a0, NULL);

	if (run_with_killer(c, &v, &active, &k, &err,
			    "active commit ready while libvirtd is away") < 0)
		fail_msg("%s", err.msg);
	assert_true(k.done_at_stop < k.total);
	assert_chain(live_chain(&v, "vda"), a0, NULL);
	vm_destroy(&v);
	assert_reads(a0, R0_OFF, R0_LEN, 0x71);
	assert_reads(a0, R1_OFF, R1_LEN, 0x75);
	assert_reads(a0, 8 * MiB, 32 * MiB, 0x73);
	assert_reads(a0, 64 * MiB, 32 * MiB, 0x74);
	img_check(a0);
	vm_free(&v);
	hv_close(c);
}

/* ---- with the event loop ---- */

static bool wait_flag(volatile int *flag, double seconds)
{
	double deadline = now_s() + seconds;

	while (!*flag && now_s() < deadline)
		sleep_ms(20);
	return *flag != 0;
}

static void test_events_watch(void **state)
{
	SD_AUTOFREE char *dir = test_dir("events");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	char *paths[] = {a0};
	static volatile int flag;
	struct hv_conn *c = open_or_fail(SYS_URI);
	struct sd_err err = SD_ERR_INIT;
	struct vm v;

	(void)state;
	img_create(a0, "16M");
	if (hv_watch_domains(c, &flag, &err) < 0)
		fail_msg("%s", err.msg);
	flag = 0;
	vm_make(&v, c, SYS_URI, dir, paths, 1, false);
	assert_true(wait_flag(&flag, 5)); /* defined */
	flag = 0;
	if (hv_domain_start(c, v.name, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(wait_flag(&flag, 5));
	flag = 0;
	vm_destroy(&v);
	assert_true(wait_flag(&flag, 5));
	assert_false(hv_conn_closed(c));
	vm_free(&v);
	hv_close(c);
}

/* The loop paused around fork(): the child opens its own connection and
 * lists the VMs; events wait for the resume. */
static void test_events_fork(void **state)
{
	SD_AUTOFREE char *dir = test_dir("fork");
	SD_AUTOFREE char *a0 = path_in(dir, "a0.qcow2");
	char *paths[] = {a0};
	static volatile int flag;
	struct hv_conn *c = open_or_fail(SYS_URI);
	struct sd_err err = SD_ERR_INIT;
	struct vm v;
	pid_t pid;
	int st = -1;

	(void)state;
	img_create(a0, "16M");
	if (hv_watch_domains(c, &flag, &err) < 0)
		fail_msg("%s", err.msg);
	vm_make(&v, c, SYS_URI, dir, paths, 1, false);

	for (int round = 0; round < 5; round++) {
		hv_events_pause();
		hv_events_pause(); /* nested */
		pid = fork();
		if (pid == 0) {
			struct sd_err cerr = SD_ERR_INIT;
			struct hv_conn *cc;
			struct hv_domain **doms = NULL;
			size_t n = 0;
			bool found = false;

			alarm(30); /* a deadlock ends as SIGALRM */
			cc = hv_open(SYS_URI, true, &cerr);
			if (!cc)
				_exit(2);
			if (hv_domain_list(cc, &doms, &n, &cerr) < 0)
				_exit(3);
			for (size_t i = 0; i < n; i++)
				found |= strcmp(doms[i]->name, v.name) == 0;
			hv_domains_free(doms, n);
			hv_close(cc);
			_exit(found ? 0 : 4);
		}
		hv_events_resume();
		hv_events_resume();
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("the child ended with status 0x%x", st);
	}

	/* paused: the start is not told until the loop runs again */
	hv_events_pause();
	flag = 0;
	if (hv_domain_start(c, v.name, &err) < 0)
		fail_msg("%s", err.msg);
	sleep_ms(500);
	assert_int_equal(flag, 0);
	hv_events_resume();
	assert_true(wait_flag(&flag, 5));
	vm_destroy(&v);
	vm_free(&v);
	hv_close(c);
}

/* The private libvirtd goes: the loop tells (close callback) without a
 * call; it comes back: hv_reconnect, and the watch works again. */
static void test_events_reconnect(void **state)
{
	SD_AUTOFREE char *why = NULL;
	SD_AUTOFREE char *dir = NULL;
	SD_AUTOFREE char *a0 = NULL;
	char *paths[1];
	static volatile int flag;
	struct hv_conn *c;
	struct sd_err err = SD_ERR_INIT;
	struct vm v;
	double deadline, t0;
	int rc = -1;

	(void)state;
	if (!privd_ensure(&why)) {
		printf("events reconnect: skipped: %s\n", why);
		skip();
	}
	dir = privd_dir("evreconnect");
	a0 = path_in(dir, "a0.qcow2");
	img_create(a0, "16M");
	privd_chown(dir);
	paths[0] = a0;
	c = open_or_fail(g_pd.uri);
	if (hv_watch_domains(c, &flag, &err) < 0)
		fail_msg("%s", err.msg);
	vm_make(&v, c, g_pd.uri, dir, paths, 1, false);
	assert_false(hv_conn_closed(c));

	t0 = now_s();
	privd_stop();
	assert_true(hv_conn_closed(c));
	printf("closed noticed after %.0f ms\n", (now_s() - t0) * 1000);
	/* nobody answers: reconnecting fails and leaves conn as it was */
	assert_int_equal(hv_reconnect(c, &err), -1);
	assert_int_equal(err.code, SD_ERR_HV);
	sd_err_clear(&err);
	assert_int_equal(privd_start(), 0);
	flag = 0;
	deadline = now_s() + 10;
	while (now_s() < deadline && (rc = hv_reconnect(c, &err)) < 0) {
		sd_err_clear(&err);
		sleep_ms(200);
	}
	if (rc < 0)
		fail_msg("%s", err.msg);
	assert_false(hv_conn_closed(c));
	assert_int_equal(flag, 1);
	flag = 0;
	if (hv_domain_start(c, v.name, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(wait_flag(&flag, 5));
	vm_destroy(&v);
	vm_free(&v);
	hv_close(c);
}

/* ---- set-up and clean-up ---- */

/* Removes every VM made (they may run), quietly. */
static void remove_vms(void)
{
	for (size_t i = 0; i < g_nvms; i++) {
		struct sd_err err = SD_ERR_INIT;
		struct hv_conn *c;

		if (strcmp(g_vms[i].uri, SYS_URI) != 0 && g_pd.pid <= 0)
			continue;
		c = hv_open(g_vms[i].uri, false, &err);
		if (!c)
			continue;
		hv_domain_remove(c, g_vms[i].name, &err);
		hv_close(c);
	}
	g_nvms = 0;
}

static int group_teardown(void **state)
{
	(void)state;
	remove_vms();
	hv_close(g_sys);
	g_sys = NULL;
	return 0;
}

static int test_teardown(void **state)
{
	(void)state;
	remove_vms();
	return 0;
}

static void at_exit(void)
{
	if (getpid() != g_main_pid)
		return;
	remove_vms();
	privd_stop();
	if (g_tmp && !getenv("IT_KEEP"))
		sdtest_rm_rf(g_tmp);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1); /* at_exit cleans up */
}

int main(void)
{
	const struct CMUnitTest plain[] = {
	    cmocka_unit_test_teardown(test_snapshot, test_teardown),
	    cmocka_unit_test_teardown(test_active_commit, test_teardown),
	    cmocka_unit_test_teardown(test_commit_middle, test_teardown),
	    cmocka_unit_test_teardown(test_pull, test_teardown),
	    cmocka_unit_test_teardown(test_cancel, test_teardown),
	    cmocka_unit_test_teardown(test_restore, test_teardown),
	    cmocka_unit_test_teardown(test_shutdown_timeout, test_teardown),
	    cmocka_unit_test_teardown(test_agent_silent, test_teardown),
	    cmocka_unit_test_teardown(test_reconnect_job, test_teardown),
	    cmocka_unit_test_teardown(test_reconnect_while_down, test_teardown),
	};
	const struct CMUnitTest evented[] = {
	    cmocka_unit_test_teardown(test_events_watch, test_teardown),
	    cmocka_unit_test_teardown(test_events_fork, test_teardown),
	    cmocka_unit_test_teardown(test_events_reconnect, test_teardown),
	};
	struct sd_err err = SD_ERR_INIT;
	int failed;

	sdtest_require_libvirtd();
	g_main_pid = getpid();
	g_tmp = sdtest_mkdtemp("live");
	/* QEMU runs as its own user: it must reach the disks */
	chmod(g_tmp, 0711);
	atexit(at_exit);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	hv_init();
	if (getenv("IT_FILTER")) /* a glob of test names, to run a few */
		cmocka_set_test_filter(getenv("IT_FILTER"));

	/* first as the CLI: no event loop */
	failed = cmocka_run_group_tests_name("without an event loop", plain, group1_setup,
					     group_teardown);
	/* then as the console */
	if (hv_events_start(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	failed += cmocka_run_group_tests_name("with the event loop", evented, NULL, NULL);
	return failed ? 1 : 0;
}
