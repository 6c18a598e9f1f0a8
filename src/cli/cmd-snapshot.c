/* snapshot list, snapshot create, snapshot delete */
#include "config.h"

#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/snap.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static json_t *snapshot_json(const struct model_vm *vm, const struct model_snapshot *s)
{
	json_t *disks = json_array();

	for (size_t d = 0; d < s->ndisks; d++) {
		const struct model_image *img = model_vm_image(vm, s->disks[d].image_id);
		json_array_append_new(disks, json_pack("{s:o,s:s,s:o}", "target",
						       cli_json_str(s->disks[d].target), "disk_id",
						       s->disks[d].disk_id, "image",
						       cli_json_str(img ? img->path : NULL)));
	}
	return json_pack("{s:s,s:o,s:o,s:s,s:o,s:b,s:b,s:b,s:b,s:o,s:o}", "id", s->id, "name",
			 cli_json_str(s->name), "parent", cli_json_str(s->parent_id), "created",
			 s->created, "description", cli_json_str(s->description), "memory",
			 s->memory_path != NULL, "current", sd_str_eq(vm->current_snapshot, s->id),
			 "auto", s->is_auto, "imported", s->imported, "policy",
			 cli_json_str(s->policy_name), "disks", disks);
}

static int list_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		    struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	SD_AUTO(model_vm) *vm = NULL;
	json_t *arr;

	if (!ctl)
		return -1;
	vm = ctl_snapshot_state(ctl, a->pos[0], err);
	if (!vm)
		return -1;
	arr = json_array();
	for (size_t i = 0; i < vm->nsnapshots; i++)
		json_array_append_new(arr, snapshot_json(vm, &vm->snapshots[i]));
	/* text only: the tree view asked for and where "now" hangs */
	*out = json_pack("{s:o,s:b,s:o,s:b}", "snapshots", arr, "tree", cli_flag(a, "tree"),
			 "current", cli_json_str(vm->current_snapshot), "in_preview",
			 vm->preview != NULL);
	return 0;
}

/* JSON keeps the documented shape: the array alone. */
static json_t *list_json(json_t *out)
{
	return json_incref(json_object_get(out, "snapshots"));
}

static void disks_text(const json_t *s, struct sd_buf *b)
{
	size_t i;
	const json_t *d;

	json_array_foreach(json_object_get(s, "disks"), i, d)
		sd_buf_addf(b, "%s%s", i ? "," : "", json_string_value(json_object_get(d, "target")));
}

static void marks_text(const json_t *s, struct sd_buf *b)
{
	if (json_is_true(json_object_get(s, "current")))
		sd_buf_addf(b, "%s ", _("current"));
	if (json_is_true(json_object_get(s, "memory")))
		sd_buf_addf(b, "%s ", _("memory"));
	if (json_is_true(json_object_get(s, "auto")))
		sd_buf_addf(b, "%s ", _("auto"));
	if (json_is_true(json_object_get(s, "imported")))
		sd_buf_addf(b, "%s ", _("imported"));
	if (json_is_string(json_object_get(s, "policy")))
		sd_buf_addf(b, "%s ", json_string_value(json_object_get(s, "policy")));
}

/* Depth-first, children after their parent, drawn with box characters. */
static void tree_rows(const json_t *snaps, const char *parent, const char *prefix,
		      struct cli_table *t)
{
	size_t i, n = 0, seen = 0;
	const json_t *s;

	json_array_foreach(snaps, i, s)
		if (sd_str_eq(json_string_value(json_object_get(s, "parent")), parent))
			n++;
	json_array_foreach(snaps, i, s) {
		struct sd_buf name = SD_BUF_INIT, disks = SD_BUF_INIT, marks = SD_BUF_INIT;
		SD_AUTOFREE char *next = NULL;
		bool last;

		if (!sd_str_eq(json_string_value(json_object_get(s, "parent")), parent))
			continue;
		last = ++seen == n;
		sd_buf_addf(&name, "%s%s%s ", prefix, last ? "└─" : "├─",
			    json_is_true(json_object_get(s, "current")) ? "◉" : "●");
		sd_buf_add(&name, json_string_value(json_object_get(s, "name")));
		disks_text(s, &disks);
		marks_text(s, &marks);
		const char *cells[] = { name.data, json_string_value(json_object_get(s, "created")),
					disks.data ? disks.data : "", marks.data ? marks.data : "" };
		cli_table_add(t, cells);
		next = sd_asprintf("%s%s", prefix, last ? "  " : "│ ");
		tree_rows(snaps, json_string_value(json_object_get(s, "id")), next, t);
		sd_buf_free(&name);
		sd_buf_free(&disks);
		sd_buf_free(&marks);
	}
}

static void list_print(const json_t *out, FILE *fp)
{
	const json_t *snaps = json_object_get(out, "snapshots"), *s;
	const char *headers[] = { _("NAME"), _("CREATED"), _("DISKS"), _("MARKS") };
	struct cli_table *t;
	size_t i;

	if (json_array_size(snaps) == 0) {
		fprintf(fp, "%s\n", _("No snapshots."));
		return;
	}
	t = cli_table_new(4, headers);
	if (json_is_true(json_object_get(out, "tree"))) {
		tree_rows(snaps, NULL, "", t);
	} else {
		json_array_foreach(snaps, i, s) {
			struct sd_buf disks = SD_BUF_INIT, marks = SD_BUF_INIT;
			disks_text(s, &disks);
			marks_text(s, &marks);
			const char *cells[] = { json_string_value(json_object_get(s, "name")),
						json_string_value(json_object_get(s, "created")),
						disks.data ? disks.data : "",
						marks.data ? marks.data : "" };
			cli_table_add(t, cells);
			sd_buf_free(&disks);
			sd_buf_free(&marks);
		}
	}
	cli_table_print(t, fp);
	cli_table_free(t);
	if (json_is_true(json_object_get(out, "in_preview")))
		fprintf(fp, "%s\n", _("A preview is open: 'snapdeck commit' or 'snapdeck undo'."));
}

static int create_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	char **disks = cli_arg(a, "disks") ? sd_strv_split(cli_arg(a, "disks"), ',') : NULL;
	struct plan_snapshot_req req = { .name = cli_arg(a, "name"),
					 .description = cli_arg(a, "description"),
					 .disks = disks,
					 .memory = cli_flag(a, "memory"),
					 .quiesce = cli_flag(a, "quiesce") };
	json_t *plan = NULL;
	int rc;

	if (!ctl) {
		sd_strv_free(disks);
		return -1;
	}
	rc = ctl_snapshot_create(ctl, a->pos[0], &req, cli_flag(a, "dry-run"), &plan, err);
	sd_strv_free(disks);
	if (rc < 0) {
		json_decref(plan);
		return -1;
	}
	*out = cli_op_result(plan, cli_flag(a, "dry-run"));
	return 0;
}

static int delete_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	json_t *plan = NULL;

	if (!ctl)
		return -1;
	if (ctl_snapshot_delete(ctl, a->pos[0], a->pos[1], cli_flag(a, "dry-run"), &plan, err) < 0) {
		json_decref(plan);
		return -1;
	}
	*out = cli_op_result(plan, cli_flag(a, "dry-run"));
	return 0;
}

static const struct cli_opt list_opts[] = {
	{ "tree", CLI_FLAG, NULL, N_("draw the snapshot tree") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static const struct cli_opt create_opts[] = {
	{ "name", CLI_VALUE, "NAME", N_("the snapshot's name (default: snap-TIME)") },
	{ "description", CLI_VALUE, "TEXT", N_("a description") },
	{ "disks", CLI_VALUE, "vda,vdb", N_("only these disks (default: every disk)") },
	{ "memory", CLI_FLAG, NULL, N_("with the memory state (running VMs)") },
	{ "quiesce", CLI_FLAG, NULL, N_("quiesce file systems through the guest agent") },
	{ "dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

static const struct cli_opt delete_opts[] = {
	{ "dry-run", CLI_FLAG, NULL, N_("print the files touched and the bytes to move") },
	{ NULL, CLI_FLAG, NULL, NULL },
};

const struct cli_cmd cli_cmds_snapshot[] = {
	{ "snapshot list", "VM [--tree]", N_("list a VM's snapshots, parents first"), 1, 1,
	  list_opts, false, list_run, list_print, list_json },
	{ "snapshot create",
	  "VM [--name N] [--description D] [--disks vda,vdb] [--memory] [--quiesce] [--dry-run]",
	  N_("snapshot all or some disks (of a running VM: live, with its memory if asked)"), 1, 1,
	  create_opts, false, create_run, cli_op_print, NULL },
	{ "snapshot delete", "VM SNAP [--dry-run]",
	  N_("delete a snapshot; what rests on it keeps its content"), 2, 2, delete_opts, false,
	  delete_run, cli_op_print, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL },
};
