/* vm list, vm show, start, stop */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/snap.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static int vm_list_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		       struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct ctl_vm_row *rows = NULL;
	size_t n = 0;
	json_t *arr;

	if (!ctl || ctl_vm_list(ctl, &rows, &n, err) < 0)
		return -1;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct ctl_vm_row *r = &rows[i];
		json_array_append_new(
			arr, json_pack("{s:o,s:s,s:s,s:I,s:I,s:b,s:b,s:o}", "name",
				       cli_json_str(r->name), "uuid", r->uuid, "state",
				       hv_state_name(r->state), "disks", (json_int_t)r->disks,
				       "snapshots", (json_int_t)r->snapshots, "in_preview",
				       r->in_preview, "drifted", r->drifted, "busy",
				       cli_json_str(r->busy)));
	}
	ctl_vm_rows_free(rows, n);
	*out = arr;
	return 0;
}

static void vm_list_print(const json_t *out, FILE *fp)
{
	const char *headers[] = { _("NAME"), _("STATE"), _("DISKS"), _("SNAPSHOTS"), _("MARKS") };
	struct cli_table *t;
	size_t i;
	json_t *vm;

	if (json_array_size(out) == 0) {
		fprintf(fp, "%s\n", _("No VMs on this host."));
		return;
	}
	t = cli_table_new(5, headers);
	json_array_foreach(out, i, vm) {
		char disks[24], snaps[24];
		struct sd_buf marks = SD_BUF_INIT;
		const json_t *busy = json_object_get(vm, "busy");

		snprintf(disks, sizeof(disks), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(vm, "disks")));
		snprintf(snaps, sizeof(snaps), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(vm, "snapshots")));
		if (json_is_true(json_object_get(vm, "in_preview")))
			sd_buf_addf(&marks, "%s ", _("preview"));
		if (json_is_true(json_object_get(vm, "drifted")))
			sd_buf_addf(&marks, "%s ", _("drifted"));
		if (json_is_string(busy))
			sd_buf_addf(&marks, _("busy: %s"), json_string_value(busy));
		const char *cells[] = { json_string_value(json_object_get(vm, "name")),
					json_string_value(json_object_get(vm, "state")), disks,
					snaps, marks.data ? marks.data : "" };
		cli_table_add(t, cells);
		sd_buf_free(&marks);
	}
	cli_table_print(t, fp);
	cli_table_free(t);
}

static json_t *strv_json(char *const *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(arr, cli_json_str(v[i]));
	return arr;
}

static int vm_show_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		       struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	SD_AUTO(ctl_vm_detail) *d = NULL;
	json_t *disks, *o, *preview;

	if (!ctl)
		return -1;
	d = ctl_vm_show(ctl, a->pos[0], err);
	if (!d)
		return -1;
	disks = json_array();
	for (size_t i = 0; i < d->ndisks; i++) {
		const struct ctl_disk *cd = &d->disks[i];
		json_t *jd = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "target",
				       cli_json_str(cd->target), "disk_id", cli_json_str(cd->disk_id),
				       "format", cli_json_str(cd->format), "source_type",
				       cli_json_str(cd->source_type), "active",
				       cli_json_str(cd->active), "chain", strv_json(cd->chain),
				       "readonly", cd->readonly);
		if (cd->problem)
			json_object_set_new(jd, "problem", cli_json_str(cd->problem));
		json_array_append_new(disks, jd);
	}
	if (d->in_preview) {
		json_t *pd = json_loads(d->preview_disks ? d->preview_disks : "{}", 0, NULL);
		preview = json_pack("{s:s,s:b,s:o}", "config",
				    d->preview_config ? d->preview_config : "current", "memory",
				    d->preview_memory, "disks", pd ? pd : json_object());
	} else {
		preview = json_null();
	}
	o = json_pack("{s:o,s:s,s:s,s:i,s:I,s:o,s:o,s:b,s:o,s:o}", "name",
		      cli_json_str(d->dom->name), "uuid", d->dom->uuid, "state",
		      hv_state_name(d->dom->state), "vcpus", (int)d->dom->vcpus, "memory_mib",
		      (json_int_t)(d->dom->memory_kib / 1024), "current_snapshot",
		      cli_json_str(d->current_snapshot), "in_preview", preview, "drifted", d->drifted,
		      "drift_reason", cli_json_str(d->drift_reason), "disks", disks);
	*out = o;
	return 0;
}

static void vm_show_print(const json_t *out, FILE *fp)
{
	const json_t *disks = json_object_get(out, "disks"), *disk;
	const json_t *cur = json_object_get(out, "current_snapshot");
	size_t i;

	fprintf(fp, "%-18s ", _("Name:"));
	cli_print_safe(fp, json_string_value(json_object_get(out, "name")));
	fprintf(fp, "\n%-18s %s\n", _("UUID:"), json_string_value(json_object_get(out, "uuid")));
	fprintf(fp, "%-18s %s\n", _("State:"), json_string_value(json_object_get(out, "state")));
	fprintf(fp, "%-18s %" JSON_INTEGER_FORMAT "\n", _("vCPUs:"),
		json_integer_value(json_object_get(out, "vcpus")));
	fprintf(fp, "%-18s %" JSON_INTEGER_FORMAT " MiB\n", _("Memory:"),
		json_integer_value(json_object_get(out, "memory_mib")));
	fprintf(fp, "%-18s %s\n", _("Current snapshot:"),
		json_is_string(cur) ? json_string_value(cur) : _("none"));
	if (json_is_object(json_object_get(out, "in_preview")))
		fprintf(fp, "%-18s %s\n", _("Preview:"),
			_("open ('snapdeck commit' keeps it, 'snapdeck undo' goes back)"));
	if (json_is_true(json_object_get(out, "drifted"))) {
		fprintf(fp, "%-18s ", _("Drifted:"));
		cli_print_safe(fp, json_string_value(json_object_get(out, "drift_reason")));
		fputc('\n', fp);
	}
	if (json_array_size(disks) == 0) {
		fprintf(fp, "%s\n", _("No disks."));
		return;
	}
	fprintf(fp, "%s\n", _("Disks:"));
	json_array_foreach(disks, i, disk) {
		const json_t *chain = json_object_get(disk, "chain"), *layer;
		const json_t *fmt = json_object_get(disk, "format");
		const json_t *problem = json_object_get(disk, "problem");
		size_t k;

		fprintf(fp, "  ");
		cli_print_safe(fp, json_string_value(json_object_get(disk, "target")));
		fprintf(fp, "  %s  %s\n", json_is_string(fmt) ? json_string_value(fmt) : "-",
			json_is_string(json_object_get(disk, "disk_id"))
				? json_string_value(json_object_get(disk, "disk_id"))
				: "");
		json_array_foreach(chain, k, layer) {
			fprintf(fp, "    %s ", k == 0 ? "▸" : "└");
			cli_print_safe(fp, json_string_value(layer));
			fputc('\n', fp);
		}
		if (json_array_size(chain) == 0)
			fprintf(fp, "    %s\n", _("(no source)"));
		if (json_is_string(problem)) {
			fprintf(fp, "    %s ", _("problem:"));
			cli_print_safe(fp, json_string_value(problem));
			fputc('\n', fp);
		}
	}
}

static int start_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		     struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	char *msg = NULL;

	if (!ctl || ctl_start(ctl, a->pos[0], &msg, err) < 0)
		return -1;
	*out = json_pack("{s:o,s:o}", "vm", cli_json_str(a->pos[0]), "message", cli_json_str(msg));
	free(msg);
	return 0;
}

static int stop_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		    struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	const char *t = cli_arg(a, "timeout");
	char *msg = NULL, *end = NULL;
	long timeout = t ? strtol(t, &end, 10) : 60;

	if (t && (!*t || *end || timeout < 1 || timeout > 3600)) {
		sd_err_set(err, SD_ERR_USAGE, _("--timeout takes seconds, 1 to 3600"));
		return -1;
	}
	if (!ctl || ctl_stop(ctl, a->pos[0], cli_flag(a, "force"), (int)timeout, &msg, err) < 0)
		return -1;
	*out = json_pack("{s:o,s:o}", "vm", cli_json_str(a->pos[0]), "message", cli_json_str(msg));
	free(msg);
	return 0;
}

static void message_print(const json_t *out, FILE *fp)
{
	cli_print_safe(fp, json_string_value(json_object_get(out, "message")));
	fputc('\n', fp);
}

static const struct cli_opt stop_opts[] = {
	{ "force", CLI_FLAG, NULL, N_("power off at once instead of asking the guest") },
	{ "timeout", CLI_VALUE, "SECONDS", N_("how long the guest may take (default 60)") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

const struct cli_cmd cli_cmds_vm[] = {
	{ "vm list", "", N_("list the VMs of the host with their snapshot counts and marks"), 0,
	  0, NULL, false, vm_list_run, vm_list_print, NULL },
	{ "vm show", "VM", N_("show a VM: state, disks and each disk's backing chain"), 1, 1,
	  NULL, false, vm_show_run, vm_show_print, NULL },
	{ "start", "VM",
	  N_("start a VM (in the preview of a snapshot with memory: resume from it)"), 1, 1, NULL,
	  false, start_run, message_print, NULL },
	{ "stop", "VM [--force] [--timeout S]",
	  N_("shut a VM down (the guest is asked; --force powers it off)"), 1, 1, stop_opts,
	  false, stop_run, message_print, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL },
};
