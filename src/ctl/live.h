/* The engine's steps for running domains (ctl/live.c). */
#ifndef SD_CTL_LIVE_H
#define SD_CTL_LIVE_H

#include <jansson.h>
#include <stdbool.h>

#include "ctl/ctl.h"

/* A step's return for "failed, and nothing changed" (a cancelled block job
 * was aborted): the engine may undo the operation even when the step is its
 * point of no return. */
#define CTL_STEP_UNTOUCHED (-2)

bool ctl_live_step_kind(const char *kind);
int ctl_live_step(struct ctl *ctl, const char *kind, const json_t *args, struct sd_err *err);

#endif
