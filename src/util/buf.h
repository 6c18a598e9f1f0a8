/* A growing string. */
#ifndef SD_UTIL_BUF_H
#define SD_UTIL_BUF_H

#include <stddef.h>

struct sd_buf {
	char *data; /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};

#define SD_BUF_INIT { NULL, 0, 0 }

void sd_buf_add(struct sd_buf *b, const char *s);
void sd_buf_addn(struct sd_buf *b, const char *s, size_t n);
void sd_buf_addc(struct sd_buf *b, char c);
void sd_buf_addf(struct sd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sd_buf_reset(struct sd_buf *b);
/* Returns the string (never NULL; the caller frees it) and empties b. */
char *sd_buf_steal(struct sd_buf *b);
void sd_buf_free(struct sd_buf *b);

#endif
