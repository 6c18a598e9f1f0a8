/* demo setup, demo teardown */
#include "config.h"

#include <string.h>

#include "cli/cli.h"
#include "util/i18n.h"

static const struct cli_opt demo_opts[] = {
	{ "dir", CLI_VALUE, "DIR", N_("folder of the demo pool (default /var/lib/snapdeck/PREFIX)") },
	{ "prefix", CLI_VALUE, "PREFIX", N_("name prefix of the pool and VMs (default demo)") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static int demo_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		    struct sd_err *err, bool setup)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct ctl_demo_options o = { cli_arg(a, "dir"), cli_arg(a, "prefix") };
	const char *prefix = o.prefix ? o.prefix : "demo";
	json_t *vms;

	if (!ctl)
		return -1;
	if ((setup ? ctl_demo_setup : ctl_demo_teardown)(ctl, &o, cli_say, ctx, err) < 0)
		return -1;
	vms = json_array();
	for (size_t i = 0; i < ctl_demo_nvms; i++)
		json_array_append_new(vms, json_sprintf("%s-%s", prefix, ctl_demo_vms[i].suffix));
	*out = json_pack("{s:s,s:o,s:o}", "result", setup ? "set up" : "torn down", "pool",
			 json_sprintf("snapdeck-%s", prefix), "vms", vms);
	return 0;
}

static int demo_setup_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
			  struct sd_err *err)
{
	return demo_run(ctx, a, out, err, true);
}

static int demo_teardown_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
			     struct sd_err *err)
{
	return demo_run(ctx, a, out, err, false);
}

static void demo_print(const json_t *out, FILE *fp)
{
	fprintf(fp, "%s\n",
		strcmp(json_string_value(json_object_get(out, "result")), "set up") == 0
			? _("Demo host ready: run 'snapdeck vm list'.")
			: _("Demo host removed."));
}

const struct cli_cmd cli_cmds_demo[] = {
	{ "demo setup", "[--dir DIR] [--prefix PREFIX]",
	  N_("make a demo pool and VMs with data on their disks (idempotent)"), 0, 0, demo_opts,
	  false, demo_setup_run, demo_print, NULL },
	{ "demo teardown", "[--prefix PREFIX]",
	  N_("remove exactly what demo setup made"), 0, 0, demo_opts, false, demo_teardown_run,
	  demo_print, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL },
};
