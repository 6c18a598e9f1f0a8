/* The result of an operation, for both sinks. */
#include "config.h"

#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "model/plan.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/str.h"

json_t *cli_op_result(json_t *plan, bool dry_run)
{
	const char *op = json_string_value(json_object_get(plan, "op"));
	json_t *summary = json_object_get(plan, "summary");

	return json_pack("{s:s,s:O?,s:b,s:O,s:o}", "op", op ? op : "",
			 "vm", json_object_get(plan, "vm"), "dry_run", dry_run, "summary",
			 summary ? summary : json_object(), "plan", plan);
}

void cli_op_print(const json_t *out, FILE *fp)
{
	const char *op = json_string_value(json_object_get(out, "op"));
	const char *vm = json_string_value(json_object_get(out, "vm"));
	const json_t *sum = json_object_get(out, "summary");

	if (json_is_true(json_object_get(out, "dry_run"))) {
		SD_AUTOFREE char *text = plan_explain(json_object_get(out, "plan"));

		cli_print_safe_lines(fp, text);
		if (json_is_string(json_object_get(sum, "auto_snapshot")))
			fprintf(fp, _("The state before the preview becomes snapshot %s.\n"),
				json_string_value(json_object_get(sum, "auto_snapshot")));
		fprintf(fp, "%s\n", _("(dry run: nothing was changed)"));
		return;
	}
	if (sd_str_eq(op, "snapshot create")) {
		fprintf(fp, _("Snapshot %s of %s created.\n"),
			json_string_value(json_object_get(json_object_get(sum, "snapshot"), "name")), vm);
	} else if (sd_str_eq(op, "snapshot delete")) {
		char size[32];
		sd_str_bytes((uint64_t)json_integer_value(json_object_get(sum, "bytes_to_move")), size,
			     sizeof(size));
		fprintf(fp, _("Snapshot %s of %s deleted (%s moved).\n"),
			json_string_value(json_object_get(json_object_get(sum, "snapshot"), "name")), vm,
			size);
	} else if (sd_str_eq(op, "preview")) {
		fprintf(fp, _("Preview of %s open: 'snapdeck commit %s' keeps it, 'snapdeck undo %s' "
			      "goes back.\n"),
			vm, vm, vm);
	} else if (sd_str_eq(op, "undo")) {
		fprintf(fp, _("Preview of %s undone.\n"), vm);
	} else if (sd_str_eq(op, "commit") || sd_str_eq(op, "revert")) {
		const json_t *auto_snap = json_object_get(sum, "auto_snapshot");
		fprintf(fp, _("Preview of %s committed.\n"), vm ? vm : "");
		if (json_is_string(auto_snap))
			fprintf(fp, _("The state before the preview is kept as snapshot %s.\n"),
				json_string_value(auto_snap));
	} else {
		fprintf(fp, _("%s done.\n"), op);
	}
}

json_t *cli_task_result(json_t *plan, bool dry_run, int64_t task, bool detach)
{
	json_t *out = cli_op_result(plan, dry_run);

	json_object_set_new(out, "task", task > 0 ? json_integer(task) : json_null());
	json_object_set_new(out, "detached", json_boolean(detach));
	return out;
}

bool cli_task_print_pending(const json_t *out, FILE *fp)
{
	long long task = (long long)json_integer_value(json_object_get(out, "task"));

	if (json_is_true(json_object_get(out, "dry_run"))) {
		cli_op_print(out, fp);
		return true;
	}
	if (json_is_true(json_object_get(out, "detached"))) {
		fprintf(fp, _("Task %lld started; follow it with 'snapdeck tasks --follow'.\n"),
			task);
		return true;
	}
	return false;
}
