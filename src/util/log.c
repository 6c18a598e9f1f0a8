#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static int log_state; /* 0 unknown, 1 off, 2 on */
static int quiet_stderr;

static FILE *log_open(void)
{
	const char *v = getenv("SNAPDECK_DEBUG");

	if (!v || !*v || strcmp(v, "0") == 0)
		return NULL;
	if (strcmp(v, "1") == 0)
		return quiet_stderr ? NULL : stderr;
	return fopen(v, "ae");
}

void sd_log_quiet_stderr(void)
{
	pthread_mutex_lock(&log_lock);
	quiet_stderr = 1;
	if (log_file == stderr) {
		log_file = NULL;
		log_state = 1;
	}
	pthread_mutex_unlock(&log_lock);
}

void sd_log(enum sd_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warning", "error" };
	va_list ap;
	struct timespec ts;

	pthread_mutex_lock(&log_lock);
	if (log_state == 0) {
		log_file = log_open();
		log_state = log_file ? 2 : 1;
	}
	if (log_state == 2 && log_file) {
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(log_file, "%lld.%03ld [%d] %s: ", (long long)ts.tv_sec,
			ts.tv_nsec / 1000000, (int)getpid(), names[level]);
		va_start(ap, fmt);
		vfprintf(log_file, fmt, ap);
		va_end(ap);
		fputc('\n', log_file);
		fflush(log_file);
	}
	pthread_mutex_unlock(&log_lock);
}
