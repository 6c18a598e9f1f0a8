/* Text tables for the CLI's text sink: columns sized to their widest cell,
 * in display cells (UTF-8 aware); control characters are shown as '?'. */
#ifndef SD_CLI_TABLE_H
#define SD_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cli_table;

struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints as empty). */
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(const struct cli_table *t, FILE *fp);
void cli_table_free(struct cli_table *t);

/* Prints s with control characters replaced, so hostile names cannot move the
 * cursor or forge lines. */
void cli_print_safe(FILE *fp, const char *s);
/* The same, keeping newlines (for multi-line text we built ourselves). */
void cli_print_safe_lines(FILE *fp, const char *s);

#endif
