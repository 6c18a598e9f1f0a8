/* Small string helpers. */
#ifndef SD_UTIL_STR_H
#define SD_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

bool sd_str_eq(const char *a, const char *b); /* NULL-safe */
bool sd_str_has_prefix(const char *s, const char *prefix);
bool sd_str_has_suffix(const char *s, const char *suffix);
/* Splits s at sep into a NULL-terminated vector (empty fields dropped). */
char **sd_strv_split(const char *s, char sep);
size_t sd_strv_len(char *const *v);
bool sd_strv_contains(char *const *v, const char *s);
void sd_strv_free(char **v);
/* True when s is valid UTF-8 with no control characters. */
bool sd_str_printable_utf8(const char *s);
/* The next character of *s (*left bytes) as a terminal shows it, in the
 * current locale: an invalid byte or a character that cannot be shown
 * becomes '?' (one cell). Advances *s and *left; returns its width in cells
 * (0 for a combining mark). *st is the caller's conversion state. */
int sd_str_next_cell(const char **s, size_t *left, mbstate_t *st, wchar_t *wc);
/* The cells s takes on a terminal (sd_str_next_cell over all of it). */
size_t sd_str_width(const char *s);
/* "1.5 GiB" style, into out. */
void sd_str_bytes(uint64_t bytes, char *out, size_t outlen);
/* Parses a size with optional K/M/G/T suffix (binary); false when malformed. */
bool sd_str_parse_size(const char *s, uint64_t *out);

#endif
