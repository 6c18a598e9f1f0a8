#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

static void reserve(struct sd_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap *= 2;
		b->data = sd_realloc(b->data, cap);
		b->cap = cap;
	}
}

void sd_buf_addn(struct sd_buf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sd_buf_add(struct sd_buf *b, const char *s)
{
	sd_buf_addn(b, s, strlen(s));
}

void sd_buf_addc(struct sd_buf *b, char c)
{
	sd_buf_addn(b, &c, 1);
}

void sd_buf_addf(struct sd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sd_buf_reset(struct sd_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *sd_buf_steal(struct sd_buf *b)
{
	char *s = b->data ? b->data : sd_strdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void sd_buf_free(struct sd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
