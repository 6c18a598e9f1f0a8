/* Helpers shared by the tests: run programs, temporary folders, skipping. */
#ifndef SD_TESTS_SDTEST_H
#define SD_TESTS_SDTEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Exit status that tells automake's harness a test was skipped. */
#define SDTEST_SKIP 77

/* A new empty folder under $TMPDIR (or /tmp); caller frees the string.
 * sdtest_rm_rf removes it again. */
char *sdtest_mkdtemp(const char *tag);
void sdtest_rm_rf(const char *path);
/* Reads a whole file (NUL-terminated); NULL when it cannot. */
char *sdtest_read_file(const char *path);
/* $SNAPDECK_FIXTURES/name; caller frees. */
char *sdtest_fixture(const char *name);

/* Runs argv with stdin from /dev/null; collects stdout and stderr (either may
 * be NULL); returns the exit status (128+signal when killed, -1 when it could
 * not start). */
int sdtest_run(char *const argv[], char **out, char **err);
/* Runs the snapdeck under test ($SNAPDECK_BIN) with the arguments given,
 * NULL-terminated. */
int sdtest_snapdeck(char **out, char **err, ...) __attribute__((sentinel));

/* For integration tests: true when qemu:///system answers. When it does not,
 * the test exits 77 (skipped), or fails when CI=true. */
void sdtest_require_libvirtd(void);

#endif
