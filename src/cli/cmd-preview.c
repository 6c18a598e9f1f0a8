/* preview, commit, undo, revert */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ctl/snap.h"
#include "util/i18n.h"
#include "util/mem.h"

static int finish(json_t *plan, int rc, bool dry_run, json_t **out)
{
	if (rc < 0) {
		json_decref(plan);
		return -1;
	}
	*out = cli_op_result(plan, dry_run);
	return 0;
}

static int preview_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		       struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct plan_preview_choice *choices = sd_calloc(a->nopt + 1, sizeof(*choices));
	char **owned = sd_calloc(a->nopt + 1, sizeof(char *));
	struct plan_preview_req req = { cli_arg(a, "config"), cli_flag(a, "memory"), choices, 0 };
	json_t *plan = NULL;
	int rc = -1;

	for (size_t i = 0; i < a->nopt; i++) {
		const char *v = a->opt_values[i];
		const char *eq;

		if (strcmp(a->opt_names[i], "disk") != 0)
			continue;
		eq = strchr(v, '=');
		if (!eq || eq == v || !eq[1]) {
			sd_err_set(err, SD_ERR_USAGE,
				   _("--disk takes TARGET=SNAPSHOT, TARGET=current or TARGET=exclude, "
				     "not '%s'"),
				   v);
			goto out;
		}
		owned[req.nchoices] = sd_strndup(v, (size_t)(eq - v));
		choices[req.nchoices].target = owned[req.nchoices];
		choices[req.nchoices].choice = eq + 1;
		req.nchoices++;
	}
	if (!ctl)
		goto out;
	rc = finish(plan, ctl_preview(ctl, a->pos[0], &req, cli_flag(a, "dry-run"), &plan, err),
		    cli_flag(a, "dry-run"), out);
	plan = NULL;
out:
	for (size_t i = 0; i < req.nchoices; i++)
		free(owned[i]);
	free(owned);
	free(choices);
	json_decref(plan);
	return rc;
}

static int commit_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	json_t *plan = NULL;

	if (!ctl)
		return -1;
	return finish(plan,
		      ctl_commit(ctl, a->pos[0], cli_flag(a, "prune"), cli_flag(a, "dry-run"), &plan,
				 err),
		      cli_flag(a, "dry-run"), out);
}

static int undo_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		    struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	json_t *plan = NULL;

	if (!ctl)
		return -1;
	return finish(plan, ctl_undo(ctl, a->pos[0], cli_flag(a, "dry-run"), &plan, err),
		      cli_flag(a, "dry-run"), out);
}

static int revert_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	json_t *plan = NULL;
	int rc;

	if (!ctl)
		return -1;
	rc = ctl_revert(ctl, a->pos[0], a->pos[1], cli_flag(a, "dry-run"), &plan, err);
	if (rc < 0) {
		json_decref(plan);
		return -1;
	}
	*out = cli_op_result(plan, cli_flag(a, "dry-run"));
	json_object_set_new(*out, "op", json_string("revert"));
	if (!cli_flag(a, "dry-run"))
		json_object_set(*out, "summary",
				json_object_get(json_object_get(plan, "commit"), "summary"));
	return 0;
}

static const struct cli_opt preview_opts[] = {
	{ "config", CLI_VALUE, "SNAP|current",
	  N_("the configuration from this snapshot (default: current)") },
	{ "memory", CLI_FLAG, NULL, N_("with that snapshot's memory state") },
	{ "disk", CLI_REPEAT, "vda=SNAP|current|exclude",
	  N_("a disk from this snapshot, as it is now, or left out (repeatable)") },
	{ "dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static const struct cli_opt commit_opts[] = {
	{ "prune", CLI_FLAG, NULL,
	  N_("delete the snapshots after the committed one and the state before the preview") },
	{ "dry-run", CLI_FLAG, NULL, N_("print what is kept, what becomes a snapshot, what goes") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static const struct cli_opt dry_opts[] = {
	{ "dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

const struct cli_cmd cli_cmds_preview[] = {
	{ "preview", "VM [--config SNAP|current] [--memory] [--disk vda=SNAP|current|exclude]...",
	  N_("preview a state composed from snapshots (VM shut off)"), 1, 1, preview_opts, false,
	  preview_run, cli_op_print, NULL },
	{ "commit", "VM [--prune] [--dry-run]", N_("make the preview the VM's state"), 1, 1,
	  commit_opts, false, commit_run, cli_op_print, NULL },
	{ "undo", "VM [--dry-run]", N_("end the preview and restore the state before it exactly"),
	  1, 1, dry_opts, false, undo_run, cli_op_print, NULL },
	{ "revert", "VM SNAP [--dry-run]", N_("preview a whole snapshot and commit it"), 2, 2,
	  dry_opts, false, revert_run, cli_op_print, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL },
};
