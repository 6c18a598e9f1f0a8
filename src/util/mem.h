/* Allocation that never returns NULL: running out of memory ends the program
 * cleanly (the hook set by the console restores the terminal first). */
#ifndef SD_UTIL_MEM_H
#define SD_UTIL_MEM_H

#include <stddef.h>

void *sd_malloc(size_t n);
void *sd_calloc(size_t nmemb, size_t size);
void *sd_realloc(void *p, size_t n);
/* Grows *array (of *cap items of size) to hold at least need items. */
void sd_grow(void *array, size_t *cap, size_t need, size_t size);
char *sd_strdup(const char *s);          /* NULL stays NULL */
char *sd_strndup(const char *s, size_t n);
char *sd_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called once before exiting on out-of-memory. */
void sd_mem_set_oom_hook(void (*hook)(void));
void sd_oom(void) __attribute__((noreturn));

#endif
