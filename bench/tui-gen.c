/* bench/tui-gen: a big fake host for bench/tui. Writes DIR/node.xml for the
 * libvirt test driver (test:///DIR/node.xml): N VMs bench-vm0001... with two
 * file disks vda, vdb each; then, through the controller and the catalog's
 * own change list, DIR/catalog.db with M snapshots per VM and their layers.
 * The layer files are not created: the console reads the catalog, and a
 * command that looks at the files reports them missing.
 *
 * Usage: tui-gen --dir DIR [--vms N] [--snapshots M]
 *
 * Every VM gets the same tree (see shape_build), by the position k of a
 * snapshot: a main line, where k % 7 == 3 is of vda only and k % 4 == 1 is
 * automatic; k % 10 == 8 starts a side branch three main snapshots back and
 * k % 20 == 9 continues it by one. Created times are an hour apart. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "ctl/ctl.h"
#include "util/mem.h"
#include "util/time.h"
#include "util/uuid.h"

#define NDISKS 2
static const char *const disk_target[NDISKS] = {"vda", "vdb"};
static const uint64_t disk_size[NDISKS] = {20ULL << 30, 50ULL << 30};

/* VMs per write transaction: few commits (each one syncs), small WAL. */
#define BATCH 50
/* 2026-01-01T00:00:00Z: the first snapshot of every VM. */
#define FIRST_CREATED ((time_t)1767225600)

enum snap_kind { SNAP_MAIN, SNAP_PARTIAL, SNAP_BRANCH };

/* A layer of the shape: a file name in the VM's folder and its backing
 * layer (an index into the shape's images, -1 for a base). */
struct shape_image {
	int disk;
	char name[24];
	int parent;
};

struct shape_snap {
	enum snap_kind kind;
	bool is_auto;
	char name[24];
	int parent;	   /* index of the parent snapshot, -1 for the root */
	int image[NDISKS]; /* the frozen layer of each disk, -1: not in it */
};

/* The snapshot tree and layers every VM gets, without ids. */
struct shape {
	struct shape_image *images;
	size_t nimages;
	struct shape_snap *snaps;
	size_t nsnaps;
	int active[NDISKS]; /* each disk's writable top at the end */
	int current;	    /* the current snapshot at the end */
};

/* A layer of disk on parent: the base vda.qcow2 (k 0), or the overlay
 * vda-s007.qcow2 a main snapshot 7 made, or vda-b009.qcow2 of branch 9. */
static int shape_image_add(struct shape *s, int disk, int parent, char tag, int k)
{
	struct shape_image *im = &s->images[s->nimages];

	im->disk = disk;
	im->parent = parent;
	if (k == 0)
		snprintf(im->name, sizeof(im->name), "%s.qcow2", disk_target[disk]);
	else
		snprintf(im->name, sizeof(im->name), "%s-%c%03d.qcow2", disk_target[disk], tag, k);
	return (int)s->nimages++;
}

/* Builds the shape of m snapshots, as snapdeck would have made them: a main
 * snapshot freezes each disk's top and puts a new overlay on it; a branch
 * snapshot freezes a layer made on its parent's (as after a preview of the
 * parent and a commit) and is left as it is, the VM back on the main line. */
static void shape_build(struct shape *s, size_t m)
{
	int *mains = sd_calloc(m + 1, sizeof(*mains));
	int(*lay)[NDISKS] = sd_calloc(m + 1, sizeof(*lay));
	size_t nmains = 0;

	memset(s, 0, sizeof(*s));
	s->images = sd_calloc(NDISKS * (m + 1), sizeof(*s->images));
	s->snaps = sd_calloc(m + 1, sizeof(*s->snaps));
	s->current = -1;
	for (int d = 0; d < NDISKS; d++)
		s->active[d] = shape_image_add(s, d, -1, 0, 0);
	for (size_t k = 0; k < m; k++) {
		struct shape_snap *sn = &s->snaps[k];
		bool branch_start = k % 10 == 8, branch_next = k % 20 == 9;

		if (branch_start || branch_next) {
			sn->kind = SNAP_BRANCH;
			sn->parent = branch_next ? (int)k - 1 : mains[nmains > 3 ? nmains - 3 : 0];
			snprintf(sn->name, sizeof(sn->name), "try-%03zu", k + 1);
			for (int d = 0; d < NDISKS; d++) {
				sn->image[d] =
				    shape_image_add(s, d, lay[sn->parent][d], 'b', (int)k + 1);
				lay[k][d] = sn->image[d];
			}
			continue;
		}
		sn->kind = k > 0 && k % 7 == 3 ? SNAP_PARTIAL : SNAP_MAIN;
		sn->is_auto = k % 4 == 1;
		sn->parent = s->current;
		snprintf(sn->name, sizeof(sn->name), "%s-%03zu", sn->is_auto ? "auto" : "snap",
			 k + 1);
		for (int d = 0; d < NDISKS; d++) {
			if (sn->kind == SNAP_PARTIAL && d > 0) {
				/* not in the snapshot: a branch from it starts at the parent's */
				sn->image[d] = -1;
				lay[k][d] = lay[sn->parent][d];
				continue;
			}
			sn->image[d] = s->active[d];
			lay[k][d] = s->active[d];
			s->active[d] = shape_image_add(s, d, s->active[d], 's', (int)k + 1);
		}
		s->current = (int)k;
		mains[nmains++] = (int)k;
	}
	s->nsnaps = m;
	free(mains);
	free(lay);
}

static void shape_free(struct shape *s)
{
	free(s->images);
	free(s->snaps);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void vm_name(char *out, size_t size, size_t i)
{
	snprintf(out, size, "bench-vm%04zu", i + 1);
}

static void vm_uuid(char out[SD_UUID_STRLEN], size_t i)
{
	snprintf(out, SD_UUID_STRLEN, "5d0e5b1a-0000-4000-8000-%012u", (unsigned)(i + 1));
}

/* The VM's folder of layers: DIR/images/bench-vmNNNN. */
static char *vm_folder(const char *dir, size_t i)
{
	return sd_asprintf("%s/images/bench-vm%04zu", dir, i + 1);
}

/* The domain XML of VM i with its disks on tops (file names in its folder);
 * with test_ns, the test driver's run state: 5 (shut off) but for every 4th
 * VM, which the driver then starts (running is its default). */
static char *domain_xml(const char *dir, size_t i, const char *const tops[NDISKS], bool test_ns)
{
	SD_AUTOFREE char *folder = vm_folder(dir, i);
	char name[32], uuid[SD_UUID_STRLEN];
	SD_AUTOFREE char *disks = sd_strdup("");

	vm_name(name, sizeof(name), i);
	vm_uuid(uuid, i);
	for (int d = 0; d < NDISKS; d++) {
		char *more = sd_asprintf("%s    <disk type='file' device='disk'>\n"
					 "      <driver name='qemu' type='qcow2'/>\n"
					 "      <source file='%s/%s'/>\n"
					 "      <target dev='%s' bus='virtio'/>\n"
					 "    </disk>\n",
					 disks, folder, tops[d], disk_target[d]);
		free(disks);
		disks = more;
	}
	return sd_asprintf("<domain type='test'%s>\n"
			   "  <name>%s</name>\n"
			   "  <uuid>%s</uuid>\n"
			   "  <memory unit='MiB'>%u</memory>\n"
			   "  <vcpu>%u</vcpu>\n"
			   "  <os>\n    <type>hvm</type>\n  </os>\n"
			   "  <devices>\n%s  </devices>\n%s"
			   "</domain>\n",
			   test_ns ? " xmlns:test='http://libvirt.org/schemas/domain/test/1.0'"
				   : "",
			   name, uuid, 512u << (i % 4), 1u + (unsigned)(i % 4), disks,
			   test_ns && i % 4 != 0 ? "  <test:runstate>5</test:runstate>\n" : "");
}

static int write_node_xml(const char *dir, const struct shape *s, size_t nvms)
{
	SD_AUTOFREE char *path = sd_asprintf("%s/node.xml", dir);
	const char *tops[NDISKS];
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "tui-gen: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int d = 0; d < NDISKS; d++)
		tops[d] = s->images[s->active[d]].name;
	fputs("<node>\n", f);
	for (size_t i = 0; i < nvms; i++) {
		SD_AUTOFREE char *xml = domain_xml(dir, i, tops, true);

		fputs(xml, f);
	}
	fputs("</node>\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "tui-gen: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The catalog changes that record VM i in the shape s, with fresh ids. */
static json_t *vm_changes(const char *dir, size_t i, const struct shape *s,
			  char disk_ids[NDISKS][SD_UUID_STRLEN])
{
	SD_AUTOFREE char *folder = vm_folder(dir, i);
	char(*img_id)[SD_UUID_STRLEN] = sd_calloc(s->nimages, sizeof(*img_id));
	char(*snap_id)[SD_UUID_STRLEN] = sd_calloc(s->nsnaps, sizeof(*snap_id));
	json_t *changes = json_array();

	for (size_t k = 0; k < s->nimages; k++) {
		const struct shape_image *im = &s->images[k];
		SD_AUTOFREE char *path = sd_asprintf("%s/%s", folder, im->name);

		sd_uuid_generate(img_id[k]);
		json_array_append_new(
		    changes, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:n,s:I}", "op", "image_add", "id",
				       img_id[k], "path", path, "format", "qcow2", "parent_id",
				       im->parent < 0 ? NULL : img_id[im->parent], "pool",
				       "virtual_size", (json_int_t)disk_size[im->disk]));
	}
	for (size_t k = 0; k < s->nsnaps; k++) {
		const struct shape_snap *sn = &s->snaps[k];
		const char *tops[NDISKS];
		SD_AUTOFREE char *xml = NULL;
		SD_AUTOFREE char *desc = NULL;
		char created[SD_ISO_LEN];
		json_t *disks = json_array();

		sd_uuid_generate(snap_id[k]);
		for (int d = 0; d < NDISKS; d++) {
			int im = sn->image[d];

			/* the configuration then, near enough: each disk on its frozen
			 * layer, a disk not in the snapshot on its last top */
			tops[d] = s->images[im >= 0 ? im : s->active[d]].name;
			if (im < 0)
				continue;
			json_array_append_new(
			    disks, json_pack("{s:s,s:s,s:s}", "disk_id", disk_ids[d], "target",
					     disk_target[d], "image_id", img_id[im]));
		}
		xml = domain_xml(dir, i, tops, false);
		desc = sn->kind == SNAP_BRANCH
			   ? sd_asprintf("trying something, from %s", s->snaps[sn->parent].name)
			   : sd_strdup(k % 3 == 0 ? "before the update" : "");
		sd_time_iso(FIRST_CREATED + (time_t)k * 3600, created);
		json_array_append_new(
		    changes,
		    json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:n,s:b,s:b,s:n,s:o}", "op",
			      "snapshot_add", "id", snap_id[k], "name", sn->name, "parent_id",
			      sn->parent < 0 ? NULL : snap_id[sn->parent], "created", created,
			      "description", desc, "domain_xml", xml, "memory_path", "auto",
			      sn->is_auto, "imported", false, "policy_id", "disks", disks));
	}
	for (int d = 0; d < NDISKS; d++)
		json_array_append_new(changes,
				      json_pack("{s:s,s:s,s:s}", "op", "disk_set_active", "disk_id",
						disk_ids[d], "image_id", img_id[s->active[d]]));
	json_array_append_new(changes,
			      json_pack("{s:s,s:s?}", "op", "vm_set_current", "snapshot_id",
					s->current < 0 ? NULL : snap_id[s->current]));
	free(img_id);
	free(snap_id);
	return changes;
}

/* Records VM i: its row id and disk ids from the catalog (ctl_vm_list
 * registered them), then its layers and snapshots in one catalog_apply. */
static int record_vm(struct ctl *ctl, const char *dir, size_t i, const struct shape *s,
		     struct sd_err *err)
{
	struct catalog_vm cv = {0};
	char uuid[SD_UUID_STRLEN], disk_ids[NDISKS][SD_UUID_STRLEN];
	json_t *changes;
	int found, rc;

	vm_uuid(uuid, i);
	found = catalog_vm_get(ctl->cat, ctl->host_id, uuid, &cv, err);
	if (found <= 0) {
		if (found == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND, "VM %s is not in the catalog", uuid);
		return -1;
	}
	for (int d = 0; d < NDISKS; d++) {
		SD_AUTOFREE char *id = NULL;

		found = catalog_disk_find(ctl->cat, cv.id, disk_target[d], &id, err);
		if (found <= 0) {
			if (found == 0)
				sd_err_set(err, SD_ERR_NOT_FOUND, "VM %s has no disk %s", cv.name,
					   disk_target[d]);
			catalog_vm_clear(&cv);
			return -1;
		}
		snprintf(disk_ids[d], sizeof(disk_ids[d]), "%s", id);
	}
	changes = vm_changes(dir, i, s, disk_ids);
	rc = catalog_apply(ctl->cat, ctl->host_id, cv.id, changes, err);
	json_decref(changes);
	catalog_vm_clear(&cv);
	return rc;
}

static int record_all(struct ctl *ctl, const char *dir, size_t nvms, const struct shape *s,
		      struct sd_err *err)
{
	for (size_t i = 0; i < nvms; i += BATCH) {
		if (catalog_begin(ctl->cat, err) < 0)
			return -1;
		for (size_t k = i; k < nvms && k < i + BATCH; k++)
			if (record_vm(ctl, dir, k, s, err) < 0) {
				catalog_rollback(ctl->cat);
				return -1;
			}
		if (catalog_commit(ctl->cat, err) < 0)
			return -1;
	}
	return 0;
}

static bool parse_count(const char *s, size_t max, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > max)
		return false;
	*out = (size_t)v;
	return true;
}

static void usage(FILE *f)
{
	fputs("Usage: tui-gen --dir DIR [--vms N] [--snapshots M]\n"
	      "Writes DIR/node.xml (N VMs for test:///DIR/node.xml, default 1000) and\n"
	      "DIR/catalog.db (M snapshots per VM, default 100).\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"vms", required_argument, NULL, 'n'},
	    {"snapshots", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	size_t nvms = 1000, nsnaps = 100, nrows = 0;
	struct sd_err err = SD_ERR_INIT;
	struct ctl_vm_row *rows = NULL;
	struct shape shape;
	struct timespec t0, t;
	SD_AUTOFREE char *uri = NULL;
	SD_AUTOFREE char *cat_path = NULL;
	SD_AUTO(ctl) *ctl = NULL;
	struct ctl_options opts = {0};
	double ms_xml, ms_list, ms_cat;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			if (!parse_count(optarg, 99999, &nvms)) {
				fprintf(stderr, "tui-gen: --vms wants 1 to 99999\n");
				return 2;
			}
			break;
		case 's':
			if (!parse_count(optarg, 999, &nsnaps)) {
				fprintf(stderr, "tui-gen: --snapshots wants 1 to 999\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc || dir[0] != '/' || strpbrk(dir, "'\"&<>")) {
		/* the folder goes into XML attributes as it is */
		fprintf(stderr, "tui-gen: --dir wants an absolute path without ' \" & < >\n");
		usage(stderr);
		return 2;
	}
	cat_path = sd_asprintf("%s/catalog.db", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "tui-gen: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (access(cat_path, F_OK) == 0) {
		fprintf(stderr, "tui-gen: %s exists; give an empty folder\n", cat_path);
		return 1;
	}

	shape_build(&shape, nsnaps);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write_node_xml(dir, &shape, nvms) < 0) {
		shape_free(&shape);
		return 1;
	}
	ms_xml = ms_since(&t0);

	uri = sd_asprintf("test://%s/node.xml", dir);
	opts.uri = uri;
	opts.catalog_path = cat_path;
	clock_gettime(CLOCK_MONOTONIC, &t);
	ctl = ctl_open(&opts, &err);
	if (!ctl || ctl_vm_list(ctl, &rows, &nrows, &err) < 0)
		goto fail;
	ms_list = ms_since(&t);
	ctl_vm_rows_free(rows, nrows);
	if (nrows != nvms) {
		sd_err_set(&err, SD_ERR_INTERNAL, "%s lists %zu VMs, expected %zu", uri, nrows,
			   nvms);
		goto fail;
	}

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (record_all(ctl, dir, nvms, &shape, &err) < 0)
		goto fail;
	ms_cat = ms_since(&t);

	printf("tui-gen: %zu VMs x %zu snapshots (%zu layers per VM) in %s\n", nvms, nsnaps,
	       shape.nimages, dir);
	printf("tui-gen: node.xml %.0f ms, connect + ctl_vm_list %.0f ms, catalog %.0f ms,"
	       " total %.0f ms\n",
	       ms_xml, ms_list, ms_cat, ms_since(&t0));
	printf("tui-gen: uri %s\n", uri);
	shape_free(&shape);
	return 0;
fail:
	fprintf(stderr, "tui-gen: %s\n", err.msg);
	shape_free(&shape);
	return 1;
}
