/* Time: ISO-8601 in UTC, and a clock that tests can set (SNAPDECK_NOW). */
#ifndef SD_UTIL_TIME_H
#define SD_UTIL_TIME_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define SD_ISO_LEN 21 /* "2026-11-22T10:00:00Z" and the NUL */

/* Now, or SNAPDECK_NOW (ISO-8601 UTC) when set and valid. */
time_t sd_now(void);
/* Monotonic milliseconds, for rates and timeouts. */
int64_t sd_mono_ms(void);
void sd_time_iso(time_t t, char out[SD_ISO_LEN]);
/* Parses "YYYY-MM-DDTHH:MM:SSZ"; false when malformed. */
bool sd_time_parse_iso(const char *s, time_t *out);

#endif
