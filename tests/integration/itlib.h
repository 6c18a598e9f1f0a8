/* Helpers for the integration tests of the snapshot engine: a private demo
 * host per test program, snapdeck runs with JSON, disk content written and
 * read with qemu-io, and one check that libvirt, the catalog and the files
 * agree with what the test expects. Every helper fails the running cmocka
 * test (fail_msg) when something is off, with enough said to debug it.
 * IT_KEEP=1 keeps the temp folder (catalog, pool) after the VMs are gone;
 * IT_PROFILE=1 prints how long each part of it_check takes. */
#ifndef SD_TESTS_ITLIB_H
#define SD_TESTS_ITLIB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/lib/sdtest.h"

/* One test program's world: a temp folder, the demo pool folder in it, a
 * private catalog and a unique demo prefix (sdt<pid><letter>). */
struct it {
	char *tmp;
	char *dir;
	char *catalog;
	char prefix[40];
};

/* Makes the temp folder and names; exits 77 (or fails under CI) when no
 * libvirtd answers. */
void it_init(struct it *it, const char *tag, char letter);
/* demo setup --dir <tmp>/pool --prefix <prefix> (must succeed). */
void it_demo_setup(struct it *it);
/* demo teardown and rm -rf of the temp folder; never fails a test. */
void it_cleanup(struct it *it);
/* "<prefix>-<suffix>" in a static buffer per call site (caller copies). */
char *it_vm(struct it *it, const char *suffix);

/* ---- running snapdeck ---- */

/* Runs snapdeck -c qemu:///system --catalog CAT ARGS..., NULL-terminated,
 * with SNAPDECK_FAULT=fault when fault is not NULL. Returns the exit
 * status; out and err (may be NULL) get stdout and stderr. */
/* Runs snapdeck ARGS (NULL-terminated): exit 1 and one line on stderr,
 * "snapdeck: ...", that holds want; fails the test otherwise. */
void it_assert_refused(struct it *it, const char *want, ...) __attribute__((sentinel));
int it_sd_rawv(struct it *it, const char *fault, char **out, char **err, char *const *args);
int it_sd_raw(struct it *it, const char *fault, char **out, char **err, ...)
    __attribute__((sentinel));
/* The same with --json appended; fails the test when the exit status is not
 * expect or stdout is not JSON; returns the parsed output. */
json_t *it_sd(struct it *it, int expect, ...) __attribute__((sentinel));
json_t *it_sdv(struct it *it, const char *fault, int expect, char *const *args);
/* Runs the operation (args, NULL-terminated) with --dry-run --json and
 * returns its plan (the caller's; for revert, its preview's plan, the one
 * it runs first); *nsteps and *pnr (may be NULL) from it. */
json_t *it_planv(struct it *it, char *const *args, size_t *nsteps, int *pnr);

/* ---- other programs ---- */

/* Runs argv; fails the test unless it exits 0. Returns stdout (caller frees). */
char *it_must(char *const argv[]);
/* virsh -q -c qemu:///system dumpxml --inactive VM */
char *it_dumpxml(const char *vm);
/* virsh desc VM --config TEXT: changes only the configuration. */
void it_set_description(const char *vm, const char *text);

/* ---- disk content ----
 * A disk's content, as the tests see it, is the bytes of IT_NSLOTS regions
 * ("slots"), each holding one byte pattern (0: zeros). The slots include
 * partial clusters and regions the demo filled. */
#define IT_NSLOTS 7
#define IT_MAXDISKS 4
struct it_slot {
	uint64_t off, len;
};
extern const struct it_slot it_slots[IT_NSLOTS];
struct it_content {
	unsigned char v[IT_NSLOTS];
};
/* What the demo wrote on a disk with this pattern. */
struct it_content it_demo_content(unsigned char pattern);
/* A byte pattern no earlier call of this process returned (0x40..0xfe,
 * wrapping only after 190 calls). */
unsigned char it_pat(void);
/* Writes, in one qemu-io run on the qcow2 file path: pattern pat into each
 * slot of mask, zeros (write -z) into each slot of zmask; updates *c. */
void it_stamp(const char *path, struct it_content *c, unsigned mask, unsigned zmask,
	      unsigned char pat);
/* Does path (read through its backing chain, qemu-io -r) hold c? On false,
 * *why (may be NULL) gets what qemu-io said (caller frees). */
bool it_reads(const char *path, const struct it_content *c, char **why);
void it_assert_reads(const char *path, const struct it_content *c, const char *what);

/* ---- the catalog (read-only SQL on the private catalog file) ---- */

/* The first column of the first row as an integer (-1 when no row). */
long long it_cat_int(struct it *it, const char *sql, ...) __attribute__((sentinel));
/* The first column of the first row as text, or NULL. Text parameters
 * ?1.. follow the SQL, NULL-terminated. */
char *it_cat_text(struct it *it, const char *sql, ...) __attribute__((sentinel));
/* The catalog's active layer of VM's disk target, or NULL (none). */
char *it_cat_active(struct it *it, const char *vm, const char *target);
/* The catalog's chain of the image at path (top first), NULL-terminated. */
char **it_cat_chain(struct it *it, const char *path);
void it_strv_free(char **v);

/* ---- what a test expects of a VM ---- */
struct it_snap {
	char name[512];
	bool has[IT_MAXDISKS];
	struct it_content c[IT_MAXDISKS];
};
#define IT_MAXSNAPS 48
struct it_model {
	char vm[64];
	size_t ndisks;
	char targets[IT_MAXDISKS][8];
	bool present[IT_MAXDISKS]; /* false: excluded (no active layer) */
	struct it_content active[IT_MAXDISKS];
	bool in_preview;
	size_t nsnaps;
	struct it_snap snaps[IT_MAXSNAPS];
};
/* A model of demo VM "<prefix>-<suffix>" as it is (demo setup may have
 * given it a history): its disks and snapshots, and the content of each
 * (read from the files; each slot must hold one pattern). */
void it_model_demo(struct it *it, struct it_model *m, const char *suffix);
int it_model_disk(const struct it_model *m, const char *target);
struct it_snap *it_model_snap(struct it_model *m, const char *name);
/* Records a snapshot of the disks in mask (bit per disk index) as of now. */
struct it_snap *it_model_add_snap(struct it_model *m, const char *name, unsigned mask);
void it_model_remove_snap(struct it_model *m, const char *name);

/* Stamps disk target of the VM's active state (its active layer in the
 * catalog) with a fresh pattern in mask and zeros in zmask. Returns the
 * pattern. */
unsigned char it_model_stamp(struct it *it, struct it_model *m, const char *target, unsigned mask,
			     unsigned zmask);

/* snapshot create VM --name NAME [--disks D] with the model updated. */
void it_snapshot(struct it *it, struct it_model *m, const char *name, const char *disks);

/* The full check (each a failure of the test when off):
 *  - libvirt (virsh domblklist --inactive) lists exactly the present disks,
 *    each at the catalog's active layer; vm show --json says the same, and
 *    its chain equals the catalog's chain and qemu-img's;
 *  - each present disk reads its expected content; excluded disks have no
 *    active layer;
 *  - snapshot list --json names exactly the model's snapshots, each with
 *    exactly the disks expected, each disk's layer reading its content;
 *  - every image of the catalog exists, passes qemu-img check, and its
 *    backing file is its catalog parent; no stray layer file in the pool
 *    folder; no unfinished operation, no lock, no drift; a preview row iff
 *    the model is in a preview. */
void it_check(struct it *it, const struct it_model *m);
/* Previews every snapshot of the model whole (--config S), checks that each
 * disk S holds reads S's content and the others read as now (and that
 * libvirt, vm show and the catalog agree on the disks), and undoes, which
 * must give back the same rows, files and domain; then it_check. */
void it_check_by_preview(struct it *it, struct it_model *m);

/* ---- the state of files and rows, to compare before/after ---- */
struct it_state;
struct it_state *it_state_take(struct it *it, const char *vm);
/* Fails the test, saying what differs, when a and b differ. */
void it_state_assert_equal(const struct it_state *a, const struct it_state *b, const char *what);
void it_state_free(struct it_state *s);

/* ---- processes ---- */
/* Starts snapdeck (with -c/--catalog) in the background, stdout and stderr
 * to files out_path and err_path. */
pid_t it_sd_spawn(struct it *it, const char *out_path, const char *err_path, char *const *args);
/* Waits; returns the exit status (128+signal when killed). */
int it_wait(pid_t pid);

#endif
