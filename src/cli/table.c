#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli/table.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

struct cli_table {
	size_t ncols;
	size_t nrows, cap; /* rows include the header row */
	char **cells;      /* nrows * ncols */
};

static char *sanitize(const char *s)
{
	struct sd_buf b = SD_BUF_INIT;

	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		sd_buf_addc(&b, (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p);
	return sd_buf_steal(&b);
}

struct cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
	struct cli_table *t = sd_calloc(1, sizeof(*t));

	t->ncols = ncols;
	cli_table_add(t, headers);
	return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	sd_grow(&t->cells, &t->cap, (t->nrows + 1) * t->ncols, sizeof(*t->cells));
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = sanitize(cells[c]);
	t->nrows++;
}

void cli_table_print(const struct cli_table *t, FILE *fp)
{
	SD_AUTOFREE size_t *width = sd_calloc(t->ncols, sizeof(size_t));

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = sd_str_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		size_t pending = 0;
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c > 0)
				pending += 2;
			if (*cell) {
				fprintf(fp, "%*s%s", (int)pending, "", cell);
				pending = 0;
			}
			pending += width[c] - sd_str_width(cell);
		}
		fputc('\n', fp);
	}
}

void cli_table_free(struct cli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void cli_print_safe(FILE *fp, const char *s)
{
	SD_AUTOFREE char *clean = sanitize(s);

	fputs(clean, fp);
}

void cli_print_safe_lines(FILE *fp, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		fputc((*p < 0x20 && *p != '\n') || *p == 0x7f ? '?' : (int)*p, fp);
}
