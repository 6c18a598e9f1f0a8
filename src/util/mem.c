#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/i18n.h"
#include "util/mem.h"

static void (*oom_hook)(void);

void sd_mem_set_oom_hook(void (*hook)(void))
{
	oom_hook = hook;
}

void sd_oom(void)
{
	static const char fallback[] = "snapdeck: out of memory\n";

	if (oom_hook)
		oom_hook();
	if (write(STDERR_FILENO, fallback, sizeof(fallback) - 1) < 0) {
		/* nothing more we can do */
	}
	_exit(1);
}

void *sd_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		sd_oom();
	return p;
}

void *sd_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		sd_oom();
	return p;
}

void *sd_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		sd_oom();
	return q;
}

void sd_grow(void *array, size_t *cap, size_t need, size_t size)
{
	void **arr = array;
	size_t ncap = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			sd_oom();
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		sd_oom();
	*arr = sd_realloc(*arr, ncap * size);
	memset((char *)*arr + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
}

char *sd_strdup(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		sd_oom();
	return d;
}

char *sd_strndup(const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = strndup(s, n);
	if (!d)
		sd_oom();
	return d;
}

char *sd_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		sd_oom();
	return s;
}
