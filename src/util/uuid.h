/* Random (version 4) UUIDs: ids of disks, snapshots and the file names of
 * new layers. */
#ifndef SD_UTIL_UUID_H
#define SD_UTIL_UUID_H

#include <stdbool.h>

#define SD_UUID_STRLEN 37 /* 36 characters and the NUL */

/* Fills out with a new lower-case UUID. */
void sd_uuid_generate(char out[SD_UUID_STRLEN]);
/* True for the canonical 8-4-4-4-12 hex form (either case). */
bool sd_uuid_valid(const char *s);

#endif
