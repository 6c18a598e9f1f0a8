/* Shared by the clone and deploy integration tests (it-clone.c,
 * it-deploy.c): running snapdeck and virsh, checking copies, and the demo
 * setup both run on. */
#ifndef SD_TESTS_IT_CLONE_H
#define SD_TESTS_IT_CLONE_H

#include <jansson.h>
#include <stddef.h>

/* The scratch folder, its catalog and pool folder, the name prefix, the demo
 * VMs and their pool (set by itclone_setup). */
extern char *tmp, *catalog, *pooldir, prefix[40];
extern char vm_web[64], vm_db[64], pool[64];

/* snapdeck -c qemu:///system --catalog CAT ARGS... --json; checks the status. */
json_t *sd(int expect, ...);
/* Runs argv, fails the test unless it exits 0; its stdout. */
char *run_out(char *const argv[]);
char *dumpxml(const char *name);
void undefine(const char *name);
/* The snapshot's layer for target, from snapshot list --json. */
char *snap_layer(const char *vm, const char *snap, const char *target);
/* qemu-img compare (guest view) of a chain and a copy. */
void assert_same(const char *a, const char *b);
/* The copy is standalone (no backing file) and has format fmt. */
void assert_standalone(const char *path, const char *fmt);
size_t count_files(const char *dir);

/* Needs libvirtd; makes the scratch folder (tag names it) and the demo VMs
 * (named from prefix_start and the pid). 0, or 1 when the demo setup failed. */
int itclone_setup(const char *tag, const char *prefix_start);
/* Removes the demo, its pool (teardown keeps a pool that holds volumes it did
 * not make: our copies) and the scratch folder. */
void itclone_teardown(void);

#endif
