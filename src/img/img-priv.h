/* Helpers shared by the files of src/img, not part of its interface. */
#ifndef SD_IMG_IMG_PRIV_H
#define SD_IMG_IMG_PRIV_H

#include <stdbool.h>

#include "util/err.h"

/* Fills err for a tool that ran and failed: "<tool> failed: <first non-empty
 * line of errtext, else of outtext>" (the tool's own "tool: " prefix
 * dropped), SD_ERR_NOSPACE when either says "No space left on device",
 * SD_ERR_IMG otherwise. */
void img_fail(struct sd_err *err, const char *tool, const char *errtext, const char *outtext,
	      int status);
/* The first non-empty line of text without a leading "<tool>: ", or NULL;
 * caller frees. */
char *img_first_line(const char *text, const char *tool);

/* A format name goes on the command line as an option's value: letters and
 * digits only ("qcow2", "raw"). */
bool img_format_ok(const char *format);
/* Refuses (SD_ERR_INVALID) an empty path or a format img_format_ok refuses. */
int img_check_target(const char *path, const char *format, struct sd_err *err);

#endif
