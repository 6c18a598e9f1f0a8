#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

time_t sd_now(void)
{
	const char *v = getenv("SNAPDECK_NOW");
	time_t t;

	if (v && *v && sd_time_parse_iso(v, &t))
		return t;
	return time(NULL);
}

int64_t sd_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sd_time_iso(time_t t, char out[SD_ISO_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, SD_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool sd_time_parse_iso(const char *s, time_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != (int)strlen(s))
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}
