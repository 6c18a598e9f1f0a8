#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/auto.h"
#include "util/mem.h"
#include "util/str.h"

bool sd_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool sd_str_has_prefix(const char *s, const char *prefix)
{
	return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool sd_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls, lx;

	if (!s || !suffix)
		return false;
	ls = strlen(s);
	lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

char **sd_strv_split(const char *s, char sep)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	const char *p = s ? s : "";

	for (;;) {
		const char *e = strchr(p, sep);
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > 0) {
			sd_grow(&v, &cap, n + 2, sizeof(*v));
			v[n++] = sd_strndup(p, len);
		}
		if (!e)
			break;
		p = e + 1;
	}
	sd_grow(&v, &cap, n + 1, sizeof(*v));
	v[n] = NULL;
	return v;
}

size_t sd_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

bool sd_strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

void sd_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool sd_str_printable_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p;
		int extra;
		unsigned cp;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < extra; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
	}
	return true;
}

void sd_str_bytes(uint64_t bytes, char *out, size_t outlen)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024.0 && u + 1 < SD_N_ELEMENTS(units)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, outlen, v < 10.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool sd_str_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case '\0': break;
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: return false;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' && shift)
		end++;
	if (*end != '\0')
		return false;
	if (shift && v > (~0ULL >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

int sd_str_next_cell(const char **s, size_t *left, mbstate_t *st, wchar_t *wc)
{
	size_t k = mbrtowc(wc, *s, *left, st);
	int w;

	if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
		memset(st, 0, sizeof(*st));
		k = 1;
		*wc = L'?';
	}
	w = wcwidth(*wc);
	if (w < 0) { /* a control character, or one the locale cannot show */
		*wc = L'?';
		w = 1;
	}
	*s += k;
	*left -= k;
	return w;
}

size_t sd_str_width(const char *s)
{
	mbstate_t st;
	size_t left = s ? strlen(s) : 0, w = 0;
	wchar_t wc;

	memset(&st, 0, sizeof(st));
	while (left > 0)
		w += (size_t)sd_str_next_cell(&s, &left, &st, &wc);
	return w;
}
