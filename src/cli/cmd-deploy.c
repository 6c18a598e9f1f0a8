/* deploy, template seed, template list, template delete */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/deploy.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

struct line {
	bool quiet;
	int last_pct;
	int64_t last_ms;
};

static void on_progress(const struct ctl_task_progress *p, void *opaque)
{
	struct line *l = opaque;
	int pct = p->total > 0 ? (int)((double)p->done * 100.0 / (double)p->total) : 0;
	int64_t now = sd_mono_ms();
	char rate[32];

	if (l->quiet || p->total == 0)
		return;
	if (pct > 100)
		pct = 100;
	if (!p->final && (pct == l->last_pct || now - l->last_ms < 1000))
		return;
	l->last_pct = pct;
	l->last_ms = now;
	sd_str_bytes((uint64_t)p->rate, rate, sizeof(rate));
	fprintf(stderr, _("task %lld: %s %d%% %s/s\n"), (long long)p->id, p->what ? p->what : "-",
		pct, rate);
	fflush(stderr);
}

static json_t *result(json_t *plan, bool dry_run, int64_t task, bool detach, json_t *seeded)
{
	json_t *out = cli_task_result(plan, dry_run, task, detach);

	if (seeded)
		json_object_set_new(
		    out, "seeded",
		    json_incref(json_object_get(json_object_get(seeded, "summary"), "template")));
	return out;
}

static int deploy_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct line l = {cli_json(ctx), -1, 0};
	struct ctl_task_opts o = {cli_flag(a, "dry-run"), cli_flag(a, "detach"), on_progress, &l};
	struct ctl_deploy_req req = {0};
	json_t *plan = NULL, *seeded = NULL;
	int64_t task = 0;

	if (!ctl)
		return -1;
	req.vm = a->pos[0];
	req.snapshot = a->pos[1];
	req.name = cli_arg(a, "name");
	req.linked = cli_flag(a, "linked");
	req.direct = cli_flag(a, "direct");
	req.root_only = cli_flag(a, "root-only");
	req.network = cli_arg(a, "network");
	req.pool = cli_arg(a, "pool");
	if (!req.name) {
		sd_err_set(err, SD_ERR_USAGE, _("deploy needs --name NEW"));
		return -1;
	}
	if (req.direct && !req.linked) {
		sd_err_set(err, SD_ERR_USAGE, _("--direct goes with --linked"));
		return -1;
	}
	if (ctl_deploy(ctl, &req, &o, &plan, &seeded, &task, err) < 0) {
		json_decref(plan);
		json_decref(seeded);
		return -1;
	}
	*out = result(plan, o.dry_run, task, o.detach, seeded);
	json_decref(seeded);
	return 0;
}

static void deploy_print(const json_t *out, FILE *fp)
{
	const json_t *sum = json_object_get(out, "summary");
	const json_t *dep = json_object_get(sum, "deploy"), *clone = json_object_get(sum, "clone");
	const json_t *tpl = json_object_get(sum, "template"),
		     *seeded = json_object_get(out, "seeded");

	if (cli_task_print_pending(out, fp))
		return;
	if (seeded) {
		fputs(_("Template "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(seeded, "name")));
		fputs(_(" seeded.\n"), fp);
	}
	if (dep) {
		fputs(_("VM "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(dep, "name")));
		if (json_string_value(json_object_get(dep, "template_name"))) {
			fputs(_(" deployed, linked to template "), fp);
			cli_print_safe(fp,
				       json_string_value(json_object_get(dep, "template_name")));
		} else {
			fputs(_(" deployed, linked to the snapshot's layers"), fp);
		}
		fprintf(fp, _(" (%zu disks).\n"), json_array_size(json_object_get(dep, "disks")));
	} else if (clone) {
		fputs(_("VM "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(clone, "name")));
		fprintf(fp, _(" deployed (full copy, %zu disks).\n"),
			json_array_size(json_object_get(clone, "disks")));
	} else if (tpl) {
		fputs(_("Template "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(tpl, "name")));
		fputs(_(" seeded.\n"), fp);
	}
}

static int seed_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out, struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct line l = {cli_json(ctx), -1, 0};
	struct ctl_task_opts o = {cli_flag(a, "dry-run"), cli_flag(a, "detach"), on_progress, &l};
	struct ctl_seed_req req = {a->pos[0], a->pos[1], cli_arg(a, "name"), cli_arg(a, "pool")};
	json_t *plan = NULL;
	int64_t task = 0;

	if (!ctl)
		return -1;
	if (!req.name) {
		sd_err_set(err, SD_ERR_USAGE, _("template seed needs --name T"));
		return -1;
	}
	if (ctl_template_seed(ctl, &req, &o, &plan, &task, err) < 0) {
		json_decref(plan);
		return -1;
	}
	*out = result(plan, o.dry_run, task, o.detach, NULL);
	return 0;
}

static int list_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out, struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);

	(void)a;
	if (!ctl)
		return -1;
	return ctl_template_list(ctl, out, err);
}

static void list_print(const json_t *out, FILE *fp)
{
	const char *headers[] = {_("NAME"), _("POOL"), _("SOURCE"), _("SIZE"), _("DEPENDENTS")};
	struct cli_table *t;
	const json_t *x;
	size_t i;

	if (json_array_size(out) == 0) {
		fprintf(fp, "%s\n", _("No templates."));
		return;
	}
	t = cli_table_new(5, headers);
	json_array_foreach(out, i, x)
	{
		const json_t *src = json_object_get(x, "source"),
			     *deps = json_object_get(x, "dependents"), *d;
		char size[32];
		size_t k;
		SD_AUTOFREE char *source =
		    sd_asprintf("%s@%s", json_string_value(json_object_get(src, "vm")),
				json_string_value(json_object_get(src, "snapshot")));
		SD_AUTOFREE char *who = sd_strdup("");

		json_array_foreach(deps, k, d)
		{
			char *w = sd_asprintf("%s%s%s", who, *who ? "," : "", json_string_value(d));
			free(who);
			who = w;
		}
		sd_str_bytes((uint64_t)json_integer_value(json_object_get(x, "size")), size,
			     sizeof(size));
		const char *cells[] = {json_string_value(json_object_get(x, "name")),
				       json_string_value(json_object_get(x, "pool")), source, size,
				       *who ? who : "-"};
		cli_table_add(t, cells);
	}
	cli_table_print(t, fp);
	cli_table_free(t);
}

static int delete_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);

	if (!ctl)
		return -1;
	return ctl_template_delete(ctl, a->pos[0], out, err);
}

static void delete_print(const json_t *out, FILE *fp)
{
	fputs(_("Template "), fp);
	cli_print_safe(fp, json_string_value(json_object_get(out, "name")));
	fputs(_(" deleted.\n"), fp);
}

static const struct cli_opt deploy_opts[] = {
    {"name", CLI_VALUE, "NEW", N_("the new VM's name")},
    {"linked", CLI_FLAG, NULL,
     N_("overlays on the snapshot's seeded template (seeded first when there is none)")},
    {"direct", CLI_FLAG, NULL,
     N_("with --linked: overlays straight on the snapshot's layers, which stay protected")},
    {"root-only", CLI_FLAG, NULL, N_("deploy the first disk alone")},
    {"network", CLI_VALUE, "NAME", N_("connect every network interface to this network")},
    {"pool", CLI_VALUE, "P", N_("with --linked: the template's pool (default: the disk's)")},
    {"detach", CLI_FLAG, NULL, N_("start and return ('snapdeck tasks' follows it)")},
    {"dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing")},
    {NULL, CLI_FLAG, NULL, NULL},
};

static const struct cli_opt seed_opts[] = {
    {"name", CLI_VALUE, "T", N_("the template's name")},
    {"pool", CLI_VALUE, "P", N_("the pool it goes to (default: the first disk's)")},
    {"detach", CLI_FLAG, NULL, N_("start the copy and return ('snapdeck tasks' follows it)")},
    {"dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing")},
    {NULL, CLI_FLAG, NULL, NULL},
};

const struct cli_cmd cli_cmds_deploy[] = {
    {"deploy",
     "VM SNAP --name NEW [--linked [--direct] [--pool P]] [--root-only] [--network NAME] "
     "[--detach] [--dry-run]",
     N_("a new VM from a snapshot: a full copy, or linked to a template or the snapshot"), 2, 2,
     deploy_opts, false, deploy_run, deploy_print, NULL},
    {"template seed", "VM SNAP --name T [--pool P] [--detach] [--dry-run]",
     N_("a flattened copy of a snapshot that linked deploys rest on"), 2, 2, seed_opts, false,
     seed_run, deploy_print, NULL},
    {"template list", "", N_("templates, their size and the VMs resting on them"), 0, 0, NULL,
     false, list_run, list_print, NULL},
    {"template delete", "T", N_("remove a template no VM rests on"), 1, 1, NULL, false, delete_run,
     delete_print, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL},
};
