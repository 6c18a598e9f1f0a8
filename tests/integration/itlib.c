#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/itlib.h"

extern char **environ;

#define KiB 1024ULL
#define MiB (1024ULL * 1024)

/* Within 1 GiB (the smallest demo disk); partial clusters included; slots
 * 0, 1, 4 and 5 lie in what the demo filled (0..2M, 512M..513M). */
const struct it_slot it_slots[IT_NSLOTS] = {
    {0, 64 * KiB},	    {1 * MiB + 512, 3000},
    {3 * MiB, 1 * MiB},	    {100 * MiB + 4096, 70000},
    {512 * MiB, 256 * KiB}, {512 * MiB + 768 * KiB, 4196},
    {900 * MiB, 64 * KiB},
};

static bool str_eq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- the world ---- */

/* Interrupted (make check's timeout, ^C): leave nothing behind either. */
static struct it *cleanup_on_signal;

static void on_signal(int sig)
{
	struct it *it = cleanup_on_signal;

	cleanup_on_signal = NULL;
	if (it)
		it_cleanup(it);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_sigpipe(int sig)
{
	(void)sig;
}

void it_init(struct it *it, const char *tag, char letter)
{
	memset(it, 0, sizeof(*it));
	/* a reader of our output that goes away must not kill us before the
	 * clean-up (a handler, not SIG_IGN, which programs we run would
	 * inherit) */
	signal(SIGPIPE, on_sigpipe);
	cleanup_on_signal = it;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	sdtest_require_libvirtd();
	if (!getenv("SNAPDECK_BIN")) {
		fprintf(stderr, "SNAPDECK_BIN is not set\n");
		exit(1);
	}
	it->tmp = sdtest_mkdtemp(tag);
	if (asprintf(&it->dir, "%s/pool", it->tmp) < 0 ||
	    asprintf(&it->catalog, "%s/catalog.db", it->tmp) < 0)
		abort();
	snprintf(it->prefix, sizeof(it->prefix), "sdt%d%c", (int)getpid(), letter);
	/* QEMU (its own user) must reach the disks when a test starts a VM */
	chmod(it->tmp, 0711);
}

void it_demo_setup(struct it *it)
{
	json_t *j = it_sd(it, 0, "demo", "setup", "--dir", it->dir, "--prefix", it->prefix, NULL);
	json_decref(j);
}

void it_cleanup(struct it *it)
{
	char *argv[] = {getenv("SNAPDECK_BIN"),
			"-c",
			"qemu:///system",
			"--catalog",
			it->catalog,
			"demo",
			"teardown",
			"--prefix",
			it->prefix,
			NULL};
	char *err = NULL;

	if (it->tmp && sdtest_run(argv, NULL, &err) != 0)
		fprintf(stderr, "demo teardown failed: %s\n", err ? err : "");
	free(err);
	/* whatever teardown kept after a failure (a VM, the pool with layers
	 * in it) goes too: nothing of ours may outlive the temp folder */
	if (it->tmp) {
		static const char *const vms[] = {"web", "db", "build"};
		char name[80];
		for (size_t i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "%s-%s", it->prefix, vms[i]);
			char *const d[] = {"virsh",   "-q", "-c", "qemu:///system",
					   "destroy", name, NULL};
			char *const u[] = {"virsh",    "-q", "-c", "qemu:///system",
					   "undefine", name, NULL};
			sdtest_run(d, NULL, NULL);
			sdtest_run(u, NULL, NULL);
		}
		snprintf(name, sizeof(name), "snapdeck-%s", it->prefix);
		char *const pd[] = {"virsh",	    "-q", "-c", "qemu:///system",
				    "pool-destroy", name, NULL};
		char *const pu[] = {"virsh",	     "-q", "-c", "qemu:///system",
				    "pool-undefine", name, NULL};
		sdtest_run(pd, NULL, NULL);
		sdtest_run(pu, NULL, NULL);
	}
	if (getenv("IT_KEEP"))
		fprintf(stderr, "kept %s\n", it->tmp);
	else
		sdtest_rm_rf(it->tmp);
	free(it->tmp);
	free(it->dir);
	free(it->catalog);
	memset(it, 0, sizeof(*it));
	cleanup_on_signal = NULL;
}

char *it_vm(struct it *it, const char *suffix)
{
	char *s;

	if (asprintf(&s, "%s-%s", it->prefix, suffix) < 0)
		abort();
	return s;
}

/* ---- running snapdeck ---- */

int it_sd_rawv(struct it *it, const char *fault, char **out, char **err, char *const *args)
{
	char *argv[80];
	size_t n = 0;
	int rc;

	argv[n++] = getenv("SNAPDECK_BIN");
	argv[n++] = "-c";
	argv[n++] = "qemu:///system";
	argv[n++] = "--catalog";
	argv[n++] = it->catalog;
	for (size_t i = 0; args[i] && n < 79; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (fault)
		setenv("SNAPDECK_FAULT", fault, 1);
	rc = sdtest_run(argv, out, err);
	if (fault)
		unsetenv("SNAPDECK_FAULT");
	return rc;
}

void it_assert_refused(struct it *it, const char *want, ...)
{
	char *args[32], *out = NULL, *err = NULL;
	size_t n = 0;
	va_list ap;
	int rc;

	va_start(ap, want);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 31;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	rc = it_sd_rawv(it, NULL, &out, &err, args);
	if (rc != 1 || strncmp(err, "snapdeck: ", 10) != 0 ||
	    strchr(err, '\n') != err + strlen(err) - 1 || !strstr(err, want))
		fail_msg("snapdeck %s %s: exit %d, stderr [%s] (wanted exit 1 and one line with "
			 "'%s')",
			 args[0], args[1] ? args[1] : "", rc, err, want);
	free(out);
	free(err);
}

static size_t collect(va_list ap, char **args, size_t max)
{
	size_t n = 0;

	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		if (n + 2 >= max)
			abort();
		args[n++] = a;
	}
	args[n] = NULL;
	return n;
}

int it_sd_raw(struct it *it, const char *fault, char **out, char **err, ...)
{
	char *args[64];
	va_list ap;

	va_start(ap, err);
	collect(ap, args, 64);
	va_end(ap);
	return it_sd_rawv(it, fault, out, err, args);
}

json_t *it_sdv(struct it *it, const char *fault, int expect, char *const *args)
{
	char *a[72];
	size_t n = 0;
	char *out = NULL, *err = NULL;
	json_t *j;
	json_error_t je;
	int rc;

	for (; args[n] && n < 70; n++)
		a[n] = args[n];
	a[n++] = "--json";
	a[n] = NULL;
	rc = it_sd_rawv(it, fault, &out, &err, a);
	if (rc != expect) {
		char cmd[2048] = "";
		for (size_t i = 0; args[i]; i++) {
			strncat(cmd, args[i], sizeof(cmd) - strlen(cmd) - 2);
			strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
		}
		fail_msg("snapdeck %s%s%s: exit %d (wanted %d)\nstdout: %s\nstderr: %s", cmd,
			 fault ? " with SNAPDECK_FAULT=" : "", fault ? fault : "", rc, expect, out,
			 err);
	}
	j = json_loads(out, 0, &je);
	if (!j && expect != 137)
		fail_msg("snapdeck %s: not JSON (%s): [%s]", args[0], je.text, out);
	free(out);
	free(err);
	return j;
}

json_t *it_sd(struct it *it, int expect, ...)
{
	char *args[64];
	va_list ap;

	va_start(ap, expect);
	collect(ap, args, 64);
	va_end(ap);
	return it_sdv(it, NULL, expect, args);
}

json_t *it_planv(struct it *it, char *const *args, size_t *nsteps, int *pnr)
{
	char *a[64];
	size_t n = 0;
	json_t *j, *plan;

	for (; args[n] && n < 62; n++)
		a[n] = args[n];
	a[n++] = "--dry-run";
	a[n] = NULL;
	j = it_sdv(it, NULL, 0, a);
	assert_true(json_is_true(json_object_get(j, "dry_run")));
	plan = json_object_get(j, "plan");
	/* revert: a preview and a commit; its dry run shows the preview */
	if (json_object_get(plan, "preview"))
		plan = json_object_get(plan, "preview");
	plan = json_incref(plan);
	json_decref(j);
	assert_true(json_is_array(json_object_get(plan, "steps")));
	if (nsteps)
		*nsteps = json_array_size(json_object_get(plan, "steps"));
	if (pnr)
		*pnr = (int)json_integer_value(json_object_get(plan, "pnr"));
	return plan;
}

/* ---- other programs ---- */

char *it_must(char *const argv[])
{
	char *out = NULL, *err = NULL;
	int rc = sdtest_run(argv, &out, &err);

	if (rc != 0) {
		char cmd[2048] = "";
		for (size_t i = 0; argv[i]; i++) {
			strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
			strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
		}
		fail_msg("%s: exit %d\nstdout: %s\nstderr: %s", cmd, rc, out, err);
	}
	free(err);
	return out;
}

char *it_dumpxml(const char *vm)
{
	char *const argv[] = {"virsh",	 "-q",	       "-c",	   "qemu:///system",
			      "dumpxml", "--inactive", (char *)vm, NULL};
	return it_must(argv);
}

void it_set_description(const char *vm, const char *text)
{
	char *const argv[] = {"virsh",	  "-q",		"-c", "qemu:///system", "desc", (char *)vm,
			      "--config", (char *)text, NULL};
	free(it_must(argv));
}

/* ---- content ---- */

struct it_content it_demo_content(unsigned char pattern)
{
	struct it_content c;

	memset(&c, 0, sizeof(c));
	c.v[0] = c.v[1] = c.v[4] = c.v[5] = pattern;
	return c;
}

unsigned char it_pat(void)
{
	static unsigned next;
	unsigned char p = (unsigned char)(0x40 + next % 0xbf);

	next++;
	return p;
}

void it_stamp(const char *path, struct it_content *c, unsigned mask, unsigned zmask,
	      unsigned char pat)
{
	char cmds[IT_NSLOTS][96];
	char *argv[4 + 2 * IT_NSLOTS + 2];
	size_t n = 0;
	char *out;

	argv[n++] = "qemu-io";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	for (int s = 0; s < IT_NSLOTS; s++) {
		if (zmask & (1u << s))
			snprintf(cmds[s], sizeof(cmds[s]), "write -z %llu %llu",
				 (unsigned long long)it_slots[s].off,
				 (unsigned long long)it_slots[s].len);
		else if (mask & (1u << s))
			snprintf(cmds[s], sizeof(cmds[s]), "write -P 0x%02x %llu %llu", pat,
				 (unsigned long long)it_slots[s].off,
				 (unsigned long long)it_slots[s].len);
		else
			continue;
		argv[n++] = "-c";
		argv[n++] = cmds[s];
		c->v[s] = (zmask & (1u << s)) ? 0 : pat;
	}
	argv[n++] = (char *)path;
	argv[n] = NULL;
	out = it_must(argv);
	if (strstr(out, "failed") || strstr(out, "error"))
		fail_msg("qemu-io write on %s: %s", path, out);
	free(out);
}

bool it_reads(const char *path, const struct it_content *c, char **why)
{
	char cmds[IT_NSLOTS][96];
	char *argv[5 + 2 * IT_NSLOTS + 2];
	size_t n = 0;
	char *out = NULL, *err = NULL;
	int rc;
	bool ok;

	argv[n++] = "qemu-io";
	argv[n++] = "-r";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	for (int s = 0; s < IT_NSLOTS; s++) {
		snprintf(cmds[s], sizeof(cmds[s]), "read -P 0x%02x %llu %llu", c->v[s],
			 (unsigned long long)it_slots[s].off, (unsigned long long)it_slots[s].len);
		argv[n++] = "-c";
		argv[n++] = cmds[s];
	}
	argv[n++] = (char *)path;
	argv[n] = NULL;
	rc = sdtest_run(argv, &out, &err);
	ok = rc == 0 && !strstr(out, "failed") && !strstr(err, "failed");
	if (!ok && why) {
		char expect[IT_NSLOTS * 6 + 1] = "";
		for (int s = 0; s < IT_NSLOTS; s++)
			snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect), "%02x ",
				 c->v[s]);
		if (asprintf(why, "expected slots [%s], qemu-io exit %d: %s%s", expect, rc, out,
			     err) < 0)
			abort();
	}
	free(out);
	free(err);
	return ok;
}

void it_assert_reads(const char *path, const struct it_content *c, const char *what)
{
	char *why = NULL;

	if (!it_reads(path, c, &why))
		fail_msg("%s: %s does not read as expected: %s", what, path, why);
}

/* ---- the catalog ---- */

static sqlite3_stmt *cat_query(struct it *it, sqlite3 **db, const char *sql, va_list ap)
{
	sqlite3_stmt *st;
	int i = 1;

	if (sqlite3_open_v2(it->catalog, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("cannot open %s", it->catalog);
	sqlite3_busy_timeout(*db, 5000);
	if (sqlite3_prepare_v2(*db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("SQL %s: %s", sql, sqlite3_errmsg(*db));
	for (const char *a; (a = va_arg(ap, const char *)) != NULL; i++)
		sqlite3_bind_text(st, i, a, -1, SQLITE_TRANSIENT);
	return st;
}

long long it_cat_int(struct it *it, const char *sql, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	va_list ap;
	long long v = -1;

	va_start(ap, sql);
	st = cat_query(it, &db, sql, ap);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

char *it_cat_text(struct it *it, const char *sql, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	va_list ap;
	char *v = NULL;

	va_start(ap, sql);
	st = cat_query(it, &db, sql, ap);
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Every row of a query, its columns joined by '|', one per line. */
static char *cat_dump(struct it *it, const char *sql, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	va_list ap;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	va_start(ap, sql);
	st = cat_query(it, &db, sql, ap);
	va_end(ap);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			fprintf(f, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
		}
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return buf;
}

char *it_cat_active(struct it *it, const char *vm, const char *target)
{
	return it_cat_text(it,
			   "SELECT i.path FROM disks d JOIN vms v ON v.id = d.vm_id"
			   " JOIN images i ON i.id = d.active_image_id"
			   " WHERE v.name = ?1 AND d.target = ?2",
			   vm, target, NULL);
}

char **it_cat_chain(struct it *it, const char *path)
{
	char **v = calloc(64, sizeof(char *));
	size_t n = 0;
	char *p = path ? strdup(path) : NULL;

	while (p && n < 63) {
		v[n++] = p;
		p = it_cat_text(it,
				"SELECT p.path FROM images c JOIN images p ON p.id = c.parent_id"
				" WHERE c.path = ?1",
				v[n - 1], NULL);
	}
	free(p);
	return v;
}

void it_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- the model ---- */

/* The content of path, slot by slot: the first byte of each slot, then a
 * check that the whole slot holds it. */
static struct it_content probe(const char *path)
{
	char cmds[IT_NSLOTS][96];
	char *argv[5 + 2 * IT_NSLOTS + 2];
	size_t n = 0;
	struct it_content c;
	char *out, *save = NULL;
	int s = 0;

	argv[n++] = "qemu-io";
	argv[n++] = "-r";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	for (int k = 0; k < IT_NSLOTS; k++) {
		snprintf(cmds[k], sizeof(cmds[k]), "read -v %llu 1",
			 (unsigned long long)it_slots[k].off);
		argv[n++] = "-c";
		argv[n++] = cmds[k];
	}
	argv[n++] = (char *)path;
	argv[n] = NULL;
	out = it_must(argv);
	memset(&c, 0, sizeof(c));
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long off;
		unsigned byte;
		if (sscanf(line, "%llx: %x", &off, &byte) != 2)
			continue;
		assert_true(s < IT_NSLOTS);
		assert_int_equal(off, it_slots[s].off);
		c.v[s++] = (unsigned char)byte;
	}
	assert_int_equal(s, IT_NSLOTS);
	free(out);
	it_assert_reads(path, &c, "a slot holds one byte pattern");
	return c;
}

void it_model_demo(struct it *it, struct it_model *m, const char *suffix)
{
	json_t *show, *snaps, *x, *y;
	size_t i, k;

	memset(m, 0, sizeof(*m));
	snprintf(m->vm, sizeof(m->vm), "%s-%s", it->prefix, suffix);
	show = it_sd(it, 0, "vm", "show", m->vm, NULL);
	json_array_foreach(json_object_get(show, "disks"), i, x)
	{
		size_t d = m->ndisks++;
		assert_true(d < IT_MAXDISKS);
		snprintf(m->targets[d], sizeof(m->targets[d]), "%s",
			 json_string_value(json_object_get(x, "target")));
		m->present[d] = true;
		m->active[d] = probe(json_string_value(json_object_get(x, "active")));
	}
	json_decref(show);
	assert_int_not_equal(m->ndisks, 0);
	snaps = it_sd(it, 0, "snapshot", "list", m->vm, NULL);
	json_array_foreach(snaps, i, x)
	{
		struct it_snap *s;
		assert_true(m->nsnaps < IT_MAXSNAPS);
		s = &m->snaps[m->nsnaps++];
		snprintf(s->name, sizeof(s->name), "%s",
			 json_string_value(json_object_get(x, "name")));
		json_array_foreach(json_object_get(x, "disks"), k, y)
		{
			int d = it_model_disk(m, json_string_value(json_object_get(y, "target")));
			s->has[d] = true;
			s->c[d] = probe(json_string_value(json_object_get(y, "image")));
		}
	}
	json_decref(snaps);
}

int it_model_disk(const struct it_model *m, const char *target)
{
	for (size_t d = 0; d < m->ndisks; d++)
		if (strcmp(m->targets[d], target) == 0)
			return (int)d;
	fail_msg("the model has no disk %s", target);
	return -1;
}

struct it_snap *it_model_snap(struct it_model *m, const char *name)
{
	for (size_t i = 0; i < m->nsnaps; i++)
		if (strcmp(m->snaps[i].name, name) == 0)
			return &m->snaps[i];
	return NULL;
}

struct it_snap *it_model_add_snap(struct it_model *m, const char *name, unsigned mask)
{
	struct it_snap *s;

	assert_true(m->nsnaps < IT_MAXSNAPS);
	s = &m->snaps[m->nsnaps++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (size_t d = 0; d < m->ndisks; d++)
		if (mask & (1u << d)) {
			assert_true(m->present[d]);
			s->has[d] = true;
			s->c[d] = m->active[d];
		}
	return s;
}

void it_model_remove_snap(struct it_model *m, const char *name)
{
	struct it_snap *s = it_model_snap(m, name);

	assert_non_null(s);
	memmove(s, s + 1, (size_t)((m->snaps + m->nsnaps) - (s + 1)) * sizeof(*s));
	m->nsnaps--;
}

unsigned char it_model_stamp(struct it *it, struct it_model *m, const char *target, unsigned mask,
			     unsigned zmask)
{
	int d = it_model_disk(m, target);
	char *path = it_cat_active(it, m->vm, target);
	unsigned char p = it_pat();

	if (!path)
		fail_msg("%s %s has no active layer to write on", m->vm, target);
	it_stamp(path, &m->active[d], mask, zmask, p);
	free(path);
	return p;
}

void it_snapshot(struct it *it, struct it_model *m, const char *name, const char *disks)
{
	unsigned mask = 0;
	json_t *j;

	if (disks) {
		char *copy = strdup(disks), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			mask |= 1u << it_model_disk(m, t);
		free(copy);
		j = it_sd(it, 0, "snapshot", "create", m->vm, "--name", name, "--disks", disks,
			  NULL);
	} else {
		for (size_t d = 0; d < m->ndisks; d++)
			if (m->present[d])
				mask |= 1u << d;
		j = it_sd(it, 0, "snapshot", "create", m->vm, "--name", name, NULL);
	}
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(j, "summary"), "snapshot"), "name")),
	    name);
	json_decref(j);
	it_model_add_snap(m, name, mask);
}

/* ---- the check ---- */

struct blk {
	char target[16];
	char *source;
};

/* The disks (device disk) of the inactive configuration. */
static size_t domblklist(const char *vm, struct blk *out, size_t max)
{
	char *const argv[] = {"virsh",		"-q",	      "-c",
			      "qemu:///system", "domblklist", "--inactive",
			      "--details",	(char *)vm,   NULL};
	char *text = it_must(argv), *save = NULL;
	size_t n = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char type[32], device[32], target[16];
		int used = 0;
		while (*line == ' ')
			line++;
		if (sscanf(line, "%31s %31s %15s %n", type, device, target, &used) < 3 || !used)
			continue;
		if (strcmp(device, "disk") != 0)
			continue;
		if (n >= max)
			fail_msg("too many disks in %s", vm);
		snprintf(out[n].target, sizeof(out[n].target), "%s", target);
		out[n].source = strdup(line + used);
		/* trailing blanks */
		for (size_t l = strlen(out[n].source); l > 0 && out[n].source[l - 1] == ' '; l--)
			out[n].source[l - 1] = '\0';
		n++;
	}
	free(text);
	return n;
}

/* qemu-img info --backing-chain: the file names, top first. */
static json_t *qemu_img_info(const char *path, bool chain)
{
	char *const a1[] = {"qemu-img",	       "info",	     "--output=json",
			    "--backing-chain", (char *)path, NULL};
	char *const a2[] = {"qemu-img", "info", "--output=json", (char *)path, NULL};
	char *out = it_must(chain ? a1 : a2);
	json_t *j = json_loads(out, 0, NULL);

	if (!j)
		fail_msg("qemu-img info %s: not JSON: %s", path, out);
	free(out);
	return j;
}

/* "<pool folder>/": the catalog may know images of other VMs of the host
 * (sync without a VM registers them all); the checks look at ours. */
static char *dir_prefix(struct it *it)
{
	char *p;

	if (asprintf(&p, "%s/", it->dir) < 0)
		abort();
	return p;
}

static bool strv_has(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void check_images(struct it *it, const struct it_model *m)
{
	char *under = dir_prefix(it);
	char *rows = cat_dump(it,
			      "SELECT c.path, IFNULL(p.path, '') FROM images c"
			      " LEFT JOIN images p ON p.id = c.parent_id"
			      " WHERE substr(c.path, 1, length(?1)) = ?1 ORDER BY c.path",
			      under, NULL);
	char **paths = calloc(1024, sizeof(char *));
	size_t np = 0;
	char *save = NULL;
	DIR *d;
	struct dirent *e;
	char vmdash[80];

	char **parents = calloc(1024, sizeof(char *));
	bool *seen;

	for (char *line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *bar = strrchr(line, '|');

		assert_non_null(bar);
		assert_true(np < 1023);
		*bar = '\0';
		paths[np] = strdup(line);
		parents[np++] = strdup(bar + 1);
		if (access(line, F_OK) != 0)
			fail_msg("catalog image %s: the file is gone (layer lost)", line);
		{
			char *const chk[] = {"qemu-img", "check", "-q", line, NULL};
			char *out = NULL, *err = NULL;
			int rc = sdtest_run(chk, &out, &err);
			if (rc != 0)
				fail_msg("qemu-img check %s: exit %d: %s%s", line, rc, out, err);
			free(out);
			free(err);
		}
	}
	/* Each file's backing file is its catalog parent: read with one
	 * qemu-img info --backing-chain per leaf (an image no other rests on),
	 * which covers every layer below it. */
	seen = calloc(np + 1, sizeof(bool));
	for (size_t i = 0; i < np; i++) {
		bool leaf = true;
		json_t *chain, *l;
		size_t k;

		for (size_t j = 0; j < np && leaf; j++)
			leaf = strcmp(parents[j], paths[i]) != 0;
		if (!leaf)
			continue;
		chain = qemu_img_info(paths[i], true);
		json_array_foreach(chain, k, l)
		{
			const char *file = json_string_value(json_object_get(l, "filename"));
			const char *backing =
			    json_string_value(json_object_get(l, "full-backing-filename"));
			size_t at = np;
			for (size_t j = 0; j < np; j++)
				if (str_eq_null(paths[j], file))
					at = j;
			if (at == np)
				fail_msg("%s rests on %s, which the catalog does not know",
					 paths[i], file);
			if (!str_eq_null(backing, *parents[at] ? parents[at] : NULL))
				fail_msg("image %s: qcow2 backing file %s, catalog parent %s", file,
					 backing ? backing : "(none)",
					 *parents[at] ? parents[at] : "(none)");
			seen[at] = true;
		}
		json_decref(chain);
	}
	for (size_t i = 0; i < np; i++)
		if (!seen[i])
			fail_msg("image %s: on no chain of a leaf (a cycle in the catalog?)",
				 paths[i]);
	free(seen);
	it_strv_free(parents);
	free(rows);

	/* Every catalog image is used: some disk's active layer, some
	 * snapshot's layer, a top kept aside by a preview, or below one. */
	{
		char *unused =
		    cat_dump(it,
			     "WITH RECURSIVE used(id) AS ("
			     " SELECT active_image_id FROM disks WHERE active_image_id IS NOT NULL"
			     " UNION SELECT image_id FROM snapshot_disks"
			     " UNION SELECT j.value FROM previews p, json_each(p.saved_tops) j"
			     " UNION SELECT i.parent_id FROM images i JOIN used u ON u.id = i.id"
			     "  WHERE i.parent_id IS NOT NULL)"
			     " SELECT path FROM images WHERE id NOT IN (SELECT id FROM used)"
			     " AND substr(path, 1, length(?1)) = ?1",
			     under, NULL);
		if (unused && *unused)
			fail_msg("catalog images nothing uses (leaked layers):\n%s", unused);
		free(unused);
	}

	/* No stray file in the pool folder: each is in the catalog (an image,
	 * or a snapshot's memory state), or is a demo disk of another VM that
	 * no operation has touched. */
	snprintf(vmdash, sizeof(vmdash), "%s-", m->vm);
	d = opendir(it->dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char *full;
		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&full, "%s/%s", it->dir, e->d_name) < 0)
			abort();
		if (!strv_has(paths, full) &&
		    it_cat_int(it, "SELECT count(*) FROM snapshots WHERE memory_path = ?1", full,
			       NULL) <= 0 &&
		    !(strncmp(e->d_name, it->prefix, strlen(it->prefix)) == 0 &&
		      strncmp(e->d_name, vmdash, strlen(vmdash)) != 0))
			fail_msg("stray file %s: in the pool folder, not in the catalog", full);
		free(full);
	}
	closedir(d);
	it_strv_free(paths);
	free(under);
}

static void check_chain_equal(char **a, const json_t *b, const char *what)
{
	size_t i = 0;

	for (; a[i]; i++) {
		const char *x = json_string_value(json_array_get(b, i));
		if (!x || strcmp(x, a[i]) != 0)
			fail_msg("%s: layer %zu is %s, catalog says %s", what, i, x ? x : "(none)",
				 a[i]);
	}
	if (json_array_size(b) != i)
		fail_msg("%s: %zu layers, catalog says %zu", what, json_array_size(b), i);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define PROF(label)                                                                                \
	do {                                                                                       \
		if (getenv("IT_PROFILE")) {                                                        \
			double t_ = now_s();                                                       \
			fprintf(stderr, "#   %-10s %.3fs\n", label, t_ - t_prof);                  \
			t_prof = t_;                                                               \
		}                                                                                  \
	} while (0)

static void check(struct it *it, const struct it_model *m, bool full)
{
	double t_prof = now_s();
	struct blk blk[16];
	size_t nblk;
	json_t *show, *snaps, *sync;
	char what[256];

	/* the journal and locks first: sync would finish what they show */
	{
		char *ops = cat_dump(it,
				     "SELECT id, op, state FROM operations"
				     " WHERE state IN ('planned','running')",
				     NULL);
		if (ops && *ops)
			fail_msg("unfinished operations in the journal:\n%s", ops);
		free(ops);
		ops = cat_dump(it, "SELECT vm_id, op, owner_pid FROM locks", NULL);
		if (ops && *ops)
			fail_msg("locks left behind:\n%s", ops);
		free(ops);
	}
	assert_int_equal(it_cat_int(it,
				    "SELECT count(*) FROM previews p JOIN vms v ON v.id = p.vm_id"
				    " WHERE v.name = ?1",
				    m->vm, NULL),
			 m->in_preview ? 1 : 0);

	PROF("journal");
	/* libvirt, the catalog and vm show */
	nblk = domblklist(m->vm, blk, 16);
	show = it_sd(it, 0, "vm", "show", m->vm, NULL);
	if (m->in_preview != json_is_object(json_object_get(show, "in_preview")))
		fail_msg("vm show: in_preview is %s, the test expects %s",
			 json_is_object(json_object_get(show, "in_preview")) ? "an object"
									     : "not one",
			 m->in_preview ? "a preview" : "none");
	if (json_array_size(json_object_get(show, "disks")) != nblk)
		fail_msg("vm show lists %zu disks, virsh %zu",
			 json_array_size(json_object_get(show, "disks")), nblk);
	for (size_t d = 0; d < m->ndisks; d++) {
		const char *t = m->targets[d];
		char *active = it_cat_active(it, m->vm, t);
		const struct blk *b = NULL;
		json_t *sd = NULL, *x;
		size_t i;

		for (i = 0; i < nblk; i++)
			if (strcmp(blk[i].target, t) == 0)
				b = &blk[i];
		json_array_foreach(
		    json_object_get(show, "disks"), i,
		    x) if (strcmp(json_string_value(json_object_get(x, "target")), t) == 0) sd = x;
		if (!m->present[d]) {
			if (b || active || sd)
				fail_msg("%s %s should be excluded: virsh %s, catalog %s", m->vm, t,
					 b ? b->source : "-", active ? active : "-");
			continue;
		}
		if (!b || !active || !sd)
			fail_msg("%s %s: virsh %s, catalog %s, vm show %s", m->vm, t,
				 b ? b->source : "(missing)", active ? active : "(missing)",
				 sd ? "has it" : "(missing)");
		if (strcmp(b->source, active) != 0)
			fail_msg("%s %s: virsh says %s, the catalog %s", m->vm, t, b->source,
				 active);
		assert_string_equal(json_string_value(json_object_get(sd, "active")), active);
		{
			char **chain = it_cat_chain(it, active);
			json_t *qi = qemu_img_info(active, true), *names = json_array(), *l;
			snprintf(what, sizeof(what), "%s %s: vm show chain", m->vm, t);
			check_chain_equal(chain, json_object_get(sd, "chain"), what);
			json_array_foreach(qi, i, l)
			    json_array_append(names, json_object_get(l, "filename"));
			snprintf(what, sizeof(what), "%s %s: qemu-img chain", m->vm, t);
			check_chain_equal(chain, names, what);
			json_decref(names);
			json_decref(qi);
			it_strv_free(chain);
		}
		snprintf(what, sizeof(what), "%s %s (active)", m->vm, t);
		it_assert_reads(active, &m->active[d], what);
		free(active);
	}
	for (size_t i = 0; i < nblk; i++) {
		bool known = false;
		for (size_t d = 0; d < m->ndisks; d++)
			known = known || strcmp(m->targets[d], blk[i].target) == 0;
		if (!known)
			fail_msg("%s has an unexpected disk %s (%s)", m->vm, blk[i].target,
				 blk[i].source);
		free(blk[i].source);
	}
	json_decref(show);
	PROF("disks");
	if (!full)
		return;

	/* snapshots */
	snaps = it_sd(it, 0, "snapshot", "list", m->vm, NULL);
	if (json_array_size(snaps) != m->nsnaps) {
		char *names = json_dumps(snaps, JSON_COMPACT);
		fail_msg("%s: %zu snapshots, the test expects %zu: %.2000s", m->vm,
			 json_array_size(snaps), m->nsnaps, names);
	}
	/* tree order: a parent before its children; one current at most, the
	 * catalog's */
	{
		json_t *x, *y;
		size_t i, j, ncur = 0;
		char *cur = it_cat_text(it, "SELECT current_snapshot FROM vms WHERE name = ?1",
					m->vm, NULL);
		json_array_foreach(snaps, i, x)
		{
			const char *parent = json_string_value(json_object_get(x, "parent"));
			bool seen = !parent;
			json_array_foreach(snaps, j, y)
			{
				if (j >= i)
					break;
				seen =
				    seen || str_eq_null(json_string_value(json_object_get(y, "id")),
							parent);
			}
			if (!seen)
				fail_msg("snapshot list: %s comes before its parent %s",
					 json_string_value(json_object_get(x, "name")), parent);
			if (json_is_true(json_object_get(x, "current"))) {
				ncur++;
				assert_true(
				    str_eq_null(json_string_value(json_object_get(x, "id")), cur));
			}
		}
		assert_int_equal(ncur, cur ? 1 : 0);
		free(cur);
	}
	/* vm list agrees */
	{
		json_t *list = it_sd(it, 0, "vm", "list", NULL), *x, *row = NULL;
		size_t i;
		json_array_foreach(list, i,
				   x) if (str_eq_null(json_string_value(json_object_get(x, "name")),
						      m->vm)) row = x;
		assert_non_null(row);
		assert_int_equal(json_integer_value(json_object_get(row, "snapshots")), m->nsnaps);
		assert_int_equal(json_is_true(json_object_get(row, "in_preview")), m->in_preview);
		assert_true(json_is_null(json_object_get(row, "busy")));
		json_decref(list);
	}
	for (size_t k = 0; k < m->nsnaps; k++) {
		const struct it_snap *s = &m->snaps[k];
		json_t *js = NULL, *x;
		size_t i, ndisks = 0;

		json_array_foreach(snaps, i,
				   x) if (str_eq_null(json_string_value(json_object_get(x, "name")),
						      s->name)) js = x;
		if (!js)
			fail_msg("%s: snapshot '%s' is missing", m->vm, s->name);
		for (size_t d = 0; d < m->ndisks; d++) {
			json_t *jd = NULL;
			json_array_foreach(
			    json_object_get(js, "disks"), i,
			    x) if (str_eq_null(json_string_value(json_object_get(x, "target")),
					       m->targets[d])) jd = x;
			if (!s->has[d]) {
				if (jd)
					fail_msg("snapshot %s should not hold %s", s->name,
						 m->targets[d]);
				continue;
			}
			if (!jd)
				fail_msg("snapshot %s should hold %s", s->name, m->targets[d]);
			ndisks++;
			snprintf(what, sizeof(what), "snapshot %s, disk %s", s->name,
				 m->targets[d]);
			it_assert_reads(json_string_value(json_object_get(jd, "image")), &s->c[d],
					what);
		}
		assert_int_equal(json_array_size(json_object_get(js, "disks")), ndisks);
	}
	json_decref(snaps);
	PROF("snapshots");

	check_images(it, m);
	PROF("images");

	/* the engine's own view: no drift, whole chains compared (sync VM:
	 * sync alone would register every VM of the host in our catalog) */
	sync = it_sd(it, 0, "sync", m->vm, NULL);
	{
		json_t *v = json_array_get(json_object_get(sync, "vms"), 0);
		if (!json_is_false(json_object_get(v, "drifted")) ||
		    json_integer_value(json_object_get(sync, "recovered")) != 0) {
			char *t = json_dumps(sync, JSON_COMPACT);
			fail_msg("sync after a check: %s", t);
		}
	}
	json_decref(sync);
	PROF("sync");
}

void it_check(struct it *it, const struct it_model *m)
{
	check(it, m, true);
}

void it_check_by_preview(struct it *it, struct it_model *m)
{
	struct it_state *before = it_state_take(it, m->vm);

	assert_false(m->in_preview);
	for (size_t k = 0; k < m->nsnaps; k++) {
		struct it_model *p = malloc(sizeof(*p));
		const struct it_snap *s = &m->snaps[k];
		json_t *j;
		struct it_state *after;

		memcpy(p, m, sizeof(*p));
		j = it_sd(it, 0, "preview", m->vm, "--config", s->name, NULL);
		json_decref(j);
		for (size_t d = 0; d < m->ndisks; d++)
			if (s->has[d]) {
				p->present[d] = true;
				p->active[d] = s->c[d];
			}
		p->in_preview = true;
		/* the disks as previewed; the rest is checked below */
		check(it, p, false);
		j = it_sd(it, 0, "undo", m->vm, NULL);
		json_decref(j);
		after = it_state_take(it, m->vm);
		it_state_assert_equal(before, after, "after preview + undo of each snapshot");
		it_state_free(after);
		free(p);
	}
	it_check(it, m);
	it_state_free(before);
}

/* ---- states ---- */

struct it_state {
	char *text;
};

struct it_state *it_state_take(struct it *it, const char *vm)
{
	struct it_state *s = calloc(1, sizeof(*s));
	char *parts[8];
	struct dirent **list = NULL;
	char *under;
	int n;
	FILE *f;
	size_t len = 0;

	parts[0] = cat_dump(it,
			    "SELECT d.target, IFNULL(i.path, '-') FROM disks d"
			    " JOIN vms v ON v.id = d.vm_id LEFT JOIN images i"
			    " ON i.id = d.active_image_id WHERE v.name = ?1 ORDER BY d.target",
			    vm, NULL);
	parts[1] = cat_dump(it,
			    "SELECT s.id, s.name, IFNULL(s.parent_id, '-'),"
			    " s.id = IFNULL(v.current_snapshot, ''), sd.target, i.path"
			    " FROM snapshots s JOIN vms v ON v.id = s.vm_id"
			    " LEFT JOIN snapshot_disks sd ON sd.snapshot_id = s.id"
			    " LEFT JOIN images i ON i.id = sd.image_id"
			    " WHERE v.name = ?1 ORDER BY s.created, s.id, sd.target",
			    vm, NULL);
	under = dir_prefix(it);
	parts[2] = cat_dump(it,
			    "SELECT c.id, c.path, IFNULL(p.path, '-') FROM images c"
			    " LEFT JOIN images p ON p.id = c.parent_id"
			    " WHERE substr(c.path, 1, length(?1)) = ?1 ORDER BY c.path",
			    under, NULL);
	free(under);
	parts[3] = cat_dump(it,
			    "SELECT IFNULL(p.config_snapshot, '-'), p.disks, p.saved_tops,"
			    " IFNULL(p.saved_current, '-') FROM previews p JOIN vms v"
			    " ON v.id = p.vm_id WHERE v.name = ?1",
			    vm, NULL);
	parts[4] = it_dumpxml(vm);
	f = open_memstream(&parts[5], &len);
	n = scandir(it->dir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			fprintf(f, "%s\n", list[i]->d_name);
		free(list[i]);
	}
	free(list);
	fclose(f);
	if (asprintf(&s->text,
		     "== disks\n%s== snapshots\n%s== images\n%s== preview\n%s== files\n%s"
		     "== domain\n%s",
		     parts[0], parts[1], parts[2], parts[3], parts[5], parts[4]) < 0)
		abort();
	for (int i = 0; i < 6; i++)
		free(parts[i]);
	return s;
}

void it_state_assert_equal(const struct it_state *a, const struct it_state *b, const char *what)
{
	const char *x = a->text, *y = b->text;
	size_t line = 1;

	if (strcmp(x, y) == 0)
		return;
	/* the first line that differs, with the section it is in */
	while (*x && *x == *y) {
		if (*x == '\n')
			line++;
		x++;
		y++;
	}
	while (x > a->text && x[-1] != '\n') {
		x--;
		y--;
	}
	fail_msg("%s: the state differs at line %zu:\n  before: %.300s\n  after:  %.300s\n"
		 "--- before ---\n%.6000s\n--- after ---\n%.6000s",
		 what, line, x, y, a->text, b->text);
}

void it_state_free(struct it_state *s)
{
	if (s)
		free(s->text);
	free(s);
}

/* ---- processes ---- */

pid_t it_sd_spawn(struct it *it, const char *out_path, const char *err_path, char *const *args)
{
	char *argv[80];
	size_t n = 0;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	argv[n++] = getenv("SNAPDECK_BIN");
	argv[n++] = "-c";
	argv[n++] = "qemu:///system";
	argv[n++] = "--catalog";
	argv[n++] = it->catalog;
	for (size_t i = 0; args[i] && n < 79; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		fail_msg("cannot start %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

int it_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
