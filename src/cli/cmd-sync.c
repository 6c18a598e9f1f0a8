/* sync, events */
#include "config.h"

#include <stdlib.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/snap.h"
#include "util/i18n.h"

static int sync_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		    struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	const char *adopt = cli_arg(a, "adopt");

	if (!ctl)
		return -1;
	if (adopt && a->npos > 0) {
		sd_err_set(err, SD_ERR_USAGE, _("give either VM or --adopt VM"));
		return -1;
	}
	return ctl_sync(ctl, adopt ? adopt : (a->npos ? a->pos[0] : NULL), adopt != NULL, out, err);
}

static void sync_print(const json_t *out, FILE *fp)
{
	const json_t *vms = json_object_get(out, "vms"), *vm;
	size_t i;

	fprintf(fp, _("Interrupted operations finished or undone: %lld\n"),
		(long long)json_integer_value(json_object_get(out, "recovered")));
	json_array_foreach(vms, i, vm) {
		const json_t *error = json_object_get(vm, "error");
		cli_print_safe(fp, json_string_value(json_object_get(vm, "name")));
		if (json_is_string(error)) {
			fprintf(fp, ": %s ", _("error:"));
			cli_print_safe(fp, json_string_value(error));
		} else if (json_is_true(json_object_get(vm, "drifted"))) {
			fprintf(fp, ": %s ", _("drifted:"));
			cli_print_safe(fp, json_string_value(json_object_get(vm, "reason")));
		} else {
			fprintf(fp, ": %s", _("in order"));
		}
		fputc('\n', fp);
	}
}

static int events_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct catalog_event *ev = NULL;
	size_t n = 0;
	long limit = cli_arg(a, "limit") ? strtol(cli_arg(a, "limit"), NULL, 10) : 0;
	json_t *arr;

	if (!ctl)
		return -1;
	if (limit < 0) {
		sd_err_set(err, SD_ERR_USAGE, _("--limit takes a number"));
		return -1;
	}
	arr = json_array();
	if (ctl->cat && catalog_event_list(ctl->cat, cli_arg(a, "vm"), (size_t)limit, &ev, &n, err) < 0) {
		json_decref(arr);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:s,s:o}", "time", ev[i].time,
						     "vm", cli_json_str(ev[i].vm), "op",
						     cli_json_str(ev[i].op), "level",
						     catalog_level_name(ev[i].level), "message",
						     cli_json_str(ev[i].message)));
	catalog_events_free(ev, n);
	*out = arr;
	return 0;
}

static void events_print(const json_t *out, FILE *fp)
{
	const char *headers[] = { _("TIME"), _("VM"), _("OPERATION"), _("LEVEL"), _("MESSAGE") };
	struct cli_table *t = cli_table_new(5, headers);
	const json_t *e;
	size_t i;

	json_array_foreach(out, i, e) {
		const char *cells[] = { json_string_value(json_object_get(e, "time")),
					json_string_value(json_object_get(e, "vm")),
					json_string_value(json_object_get(e, "op")),
					json_string_value(json_object_get(e, "level")),
					json_string_value(json_object_get(e, "message")) };
		cli_table_add(t, cells);
	}
	if (json_array_size(out) == 0)
		fprintf(fp, "%s\n", _("No events."));
	else
		cli_table_print(t, fp);
	cli_table_free(t);
}

static const struct cli_opt sync_opts[] = {
	{ "adopt", CLI_VALUE, "VM",
	  N_("read the VM's backing chains into the catalog as imported snapshots") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static const struct cli_opt events_opts[] = {
	{ "vm", CLI_VALUE, "VM", N_("only this VM's events") },
	{ "limit", CLI_VALUE, "N", N_("only the newest N events") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

const struct cli_cmd cli_cmds_sync[] = {
	{ "sync", "[VM] [--adopt VM]",
	  N_("finish or undo interrupted operations and look for drift"), 0, 1, sync_opts, false,
	  sync_run, sync_print, NULL },
	{ "events", "[--vm VM] [--limit N]", N_("the event log: operations, results, warnings"), 0,
	  0, events_opts, false, events_run, events_print, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL },
};
