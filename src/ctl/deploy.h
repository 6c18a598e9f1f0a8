/* Deploy from snapshot (full or linked) and templates (DESIGN.md 8, 9). */
#ifndef SD_CTL_DEPLOY_H
#define SD_CTL_DEPLOY_H

#include <jansson.h>
#include <stdbool.h>

#include "ctl/task.h"

struct ctl_deploy_req {
	const char *vm;
	const char *snapshot;
	const char *name;    /* the new VM's name (required) */
	bool linked;	     /* overlays instead of copies */
	bool direct;	     /* with linked: on the snapshot's layers, not on a template */
	bool root_only;	     /* the first disk alone */
	const char *network; /* NULL, or every NIC re-pointed to this network */
	const char *pool;    /* linked: the template's pool (default: the root disk's) */
};
/* Full: a clone. Linked: overlays on the seeded template of the snapshot in
 * the pool (seeded first when there is none: *seeded gets its plan, else
 * NULL), or with direct on the snapshot's layers. */
int ctl_deploy(struct ctl *ctl, const struct ctl_deploy_req *req, const struct ctl_task_opts *o,
	       json_t **plan, json_t **seeded, int64_t *task_id, struct sd_err *err);

struct ctl_seed_req {
	const char *vm;
	const char *snapshot;
	const char *name; /* the template's name */
	const char *pool; /* NULL: the pool of the snapshot's first disk */
};
int ctl_template_seed(struct ctl *ctl, const struct ctl_seed_req *req,
		      const struct ctl_task_opts *o, json_t **plan, int64_t *task_id,
		      struct sd_err *err);
/* [{"id","name","pool","source":{"vm","snapshot"},"size","dependents":[...],...}] */
int ctl_template_list(struct ctl *ctl, json_t **out, struct sd_err *err);
/* Removes an unused template (SD_ERR_BUSY while layers rest on it). */
int ctl_template_delete(struct ctl *ctl, const char *name, json_t **out, struct sd_err *err);

/* The engine's step register_template. */
int ctl_deploy_step_register_template(struct ctl *ctl, const json_t *args, struct sd_err *err);

#endif
