/* The console's actions: each one asks (a dialog, or a confirmation built
 * from the operation's dry run), then runs the same ctl function the CLI
 * runs, in a process of its own so that the screen stays live. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/deploy.h"
#include "ctl/snap.h"
#include "ctl/task.h"
#include "ctl/view.h"
#include "model/plan.h"
#include "tui/priv.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

SD_DEFINE_AUTO(jsonv, json_t, json_decref)

/* ---- what a background process runs ---- */

enum op_kind {
	OP_SNAPSHOT,
	OP_PREVIEW,
	OP_COMMIT,
	OP_UNDO,
	OP_REVERT,
	OP_DELETE,
	OP_CLONE,
	OP_DEPLOY,
	OP_VOLUME,
	OP_SEED,
	OP_START,
	OP_STOP,
};

#define OP_MAX_DISKS 16

struct op {
	enum op_kind kind;
	char *vm;      /* UUID */
	char *vm_name; /* for messages */
	char *snap;    /* snapshot id */
	char *snap_name;
	bool prune;
	/* snapshot create */
	struct plan_snapshot_req sreq;
	char **disks;
	/* preview */
	struct plan_preview_req preq;
	struct plan_preview_choice choices[OP_MAX_DISKS];
	/* clone, deploy, volume, seed */
	struct ctl_clone_req creq;
	struct ctl_clone_disk cdisks[OP_MAX_DISKS];
	struct ctl_deploy_req dreq;
	struct ctl_volume_req vreq;
	struct ctl_seed_req seed;
	char **strings; /* every string the requests point to */
	size_t nstrings;
};

static const char *keep(struct op *o, const char *s)
{
	if (!s)
		return NULL;
	o->strings = sd_realloc(o->strings, (o->nstrings + 1) * sizeof(char *));
	o->strings[o->nstrings] = sd_strdup(s);
	return o->strings[o->nstrings++];
}

static void op_free(void *p)
{
	struct op *o = p;

	if (!o)
		return;
	free(o->vm);
	free(o->vm_name);
	free(o->snap);
	free(o->snap_name);
	sd_strv_free(o->disks);
	for (size_t i = 0; i < o->nstrings; i++)
		free(o->strings[i]);
	free(o->strings);
	free(o);
}

static const char *summary_str(const json_t *plan, const char *key)
{
	return json_string_value(json_object_get(json_object_get(plan, "summary"), key));
}

/* Runs in the child (ctl_background). */
static int run_op(struct ctl *ctl, void *arg, char **message, struct sd_err *err)
{
	struct op *o = arg;
	SD_AUTO(jsonv) *plan = NULL;
	SD_AUTO(jsonv) *seeded = NULL;
	struct ctl_task_opts topts = { false, false, NULL, NULL };
	int64_t task = 0;
	int rc = -1;

	switch (o->kind) {
	case OP_SNAPSHOT:
		rc = ctl_snapshot_create(ctl, o->vm, &o->sreq, false, &plan, err);
		if (rc == 0)
			*message = sd_asprintf(
				_("Snapshot %s of %s created."),
				json_string_value(json_object_get(
					json_object_get(json_object_get(plan, "summary"), "snapshot"),
					"name")),
				o->vm_name);
		break;
	case OP_PREVIEW:
		rc = ctl_preview(ctl, o->vm, &o->preq, false, &plan, err);
		if (rc == 0)
			*message = sd_asprintf(_("Preview of %s open: F4 commits it, F5 undoes it."),
					       o->vm_name);
		break;
	case OP_COMMIT:
		rc = ctl_commit(ctl, o->vm, o->prune, false, &plan, err);
		if (rc == 0 && summary_str(plan, "auto_snapshot"))
			*message = sd_asprintf(
				_("Preview of %s committed; the state before it is snapshot %s."),
				o->vm_name, summary_str(plan, "auto_snapshot"));
		else if (rc == 0)
			*message = sd_asprintf(_("Preview of %s committed."), o->vm_name);
		break;
	case OP_UNDO:
		rc = ctl_undo(ctl, o->vm, false, &plan, err);
		if (rc == 0)
			*message = sd_asprintf(_("Preview of %s undone."), o->vm_name);
		break;
	case OP_REVERT:
		rc = ctl_revert(ctl, o->vm, o->snap, false, &plan, err);
		if (rc == 0)
			*message = sd_asprintf(_("%s reverted to %s."), o->vm_name, o->snap_name);
		break;
	case OP_DELETE:
		rc = ctl_snapshot_delete(ctl, o->vm, o->snap, false, &plan, err);
		if (rc == 0)
			*message = sd_asprintf(_("Snapshot %s of %s deleted."), o->snap_name,
					       o->vm_name);
		break;
	case OP_CLONE:
		rc = ctl_clone(ctl, &o->creq, &topts, &plan, &task, err);
		if (rc == 0)
			*message = sd_asprintf(_("Clone of %s@%s made (task %lld)."), o->vm_name,
					       o->snap_name, (long long)task);
		break;
	case OP_DEPLOY:
		rc = ctl_deploy(ctl, &o->dreq, &topts, &plan, &seeded, &task, err);
		if (rc == 0)
			*message = sd_asprintf(_("%s deployed from %s@%s."), o->dreq.name, o->vm_name,
					       o->snap_name);
		break;
	case OP_VOLUME:
		rc = ctl_volume_from_snapshot(ctl, &o->vreq, &topts, &plan, &task, err);
		if (rc == 0)
			*message = sd_asprintf(_("Volume %s made from %s@%s %s."), o->vreq.name,
					       o->vm_name, o->snap_name, o->vreq.disk);
		break;
	case OP_SEED:
		rc = ctl_template_seed(ctl, &o->seed, &topts, &plan, &task, err);
		if (rc == 0)
			*message = sd_asprintf(_("Template %s seeded from %s@%s."), o->seed.name,
					       o->vm_name, o->snap_name);
		break;
	case OP_START:
		rc = ctl_start(ctl, o->vm, message, err);
		break;
	case OP_STOP:
		rc = ctl_stop(ctl, o->vm, o->prune /* force */, 120, message, err);
		break;
	}
	return rc;
}

/* ---- jobs: the background processes and what they say ---- */

size_t tui_jobs_running(const struct tui *t)
{
	size_t n = 0;

	for (size_t i = 0; i < TUI_MAX_JOBS; i++)
		n += t->jobs[i].pid > 0;
	return n;
}

/* Starts o in the background; takes o. */
static int start(struct tui *t, struct op *o, const char *label)
{
	struct sd_err err = SD_ERR_INIT;
	struct tui_job *j = NULL;

	for (size_t i = 0; i < TUI_MAX_JOBS && !j; i++)
		if (t->jobs[i].pid <= 0)
			j = &t->jobs[i];
	if (!j) {
		tui_status(t, true, _("too much running at once; wait for something to end"));
		op_free(o);
		return TUI_REDRAW;
	}
	if (ctl_background(t->ctl, &t->opts, run_op, o, &j->pid, &j->fd, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		op_free(o);
		return TUI_REDRAW;
	}
	free(j->label);
	j->label = sd_strdup(label);
	j->len = 0;
	tui_status(t, false, _("started: %s"), label);
	op_free(o);
	return TUI_RELOAD;
}

bool tui_jobs_poll(struct tui *t)
{
	bool ended = false;

	for (size_t i = 0; i < TUI_MAX_JOBS; i++) {
		struct tui_job *j = &t->jobs[i];
		ssize_t n;

		if (j->pid <= 0)
			continue;
		while ((n = read(j->fd, j->buf + j->len, sizeof(j->buf) - 1 - j->len)) > 0)
			j->len += (size_t)n;
		if (n < 0 && (errno == EAGAIN || errno == EINTR) && j->len < sizeof(j->buf) - 1)
			continue;
		/* the child closed the pipe (it has ended) or filled the buffer */
		j->buf[j->len] = '\0';
		char *nl = strchr(j->buf, '\n');
		if (nl)
			*nl = '\0';
		if (j->len == 0)
			tui_status(t, true, _("%s: the process ended without a result"), j->label);
		else if (j->buf[0] == '0')
			tui_status(t, false, "%s", j->buf[1] ? j->buf + 1 : _("done"));
		else
			tui_status(t, true, "%s", j->buf + 1);
		close(j->fd);
		waitpid(j->pid, NULL, 0);
		j->pid = 0;
		j->fd = -1;
		ended = true;
	}
	return ended;
}

/* ---- helpers ---- */

static const struct ctl_vm_row *need_vm(struct tui *t)
{
	const struct ctl_vm_row *r = tui_selected_vm(t);

	if (!r) {
		tui_status(t, true, _("no VM selected"));
		return NULL;
	}
	if (t->ctl->readonly) {
		tui_status(t, true, _("read-only: this console changes nothing"));
		return NULL;
	}
	return r;
}

static int stop_soft(struct tui *t, void *ctx);
static int stop_hard(struct tui *t, void *ctx);
static struct op *op_new(enum op_kind kind, const struct ctl_vm_row *r,
			 const struct model_snapshot *s);

/* Asks to stop the VM; why (may be NULL) says what needs it off. */
static int ask_stop(struct tui *t, const struct ctl_vm_row *r, const char *why)
{
	static const struct tui_button buttons[] = {
		{ N_("Shut down"), 's', stop_soft },
		{ N_("Power off"), 'f', stop_hard },
		{ N_("Cancel"), 'n', NULL },
	};
	SD_AUTOFREE char *text = NULL;
	char title[160];

	text = sd_asprintf(_("%s%sShut down asks the guest (up to 2 minutes); power off stops it "
			     "at once, like pulling the plug: what the guest has not written is "
			     "lost."),
			   why ? why : "", why ? "\n\n" : "");
	snprintf(title, sizeof(title), _("Stop %s?"), r->name);
	tui_push(t, tui_confirm_new(title, text, buttons, SD_N_ELEMENTS(buttons),
				    op_new(OP_STOP, r, NULL), op_free));
	return TUI_REDRAW;
}

/* The selected VM when it is shut off; a running one gets the offer to
 * stop it first (what names the operation that needs it off). */
static const struct ctl_vm_row *need_off(struct tui *t, const char *what)
{
	const struct ctl_vm_row *r = need_vm(t);
	SD_AUTOFREE char *why = NULL;

	if (!r || !hv_state_runs(r->state))
		return r;
	why = sd_asprintf(_("VM %s is running: %s needs it shut off."), r->name, what);
	ask_stop(t, r, why);
	return NULL;
}

static const struct model_snapshot *need_snapshot(struct tui *t)
{
	const struct model_snapshot *s = tui_tree_selected(t);

	if (!s)
		tui_status(t, true, _("select a snapshot in the tree first (Tab, then arrows)"));
	return s;
}

static struct op *op_new(enum op_kind kind, const struct ctl_vm_row *r,
			 const struct model_snapshot *s)
{
	struct op *o = sd_calloc(1, sizeof(*o));

	o->kind = kind;
	o->vm = sd_strdup(r->uuid);
	o->vm_name = sd_strdup(r->name);
	if (s) {
		o->snap = sd_strdup(s->id);
		o->snap_name = sd_strdup(s->name);
	}
	return o;
}

/* A new op of kind on the same VM and snapshot as o. */
static struct op *op_copy(enum op_kind kind, const struct op *o)
{
	struct op *run = sd_calloc(1, sizeof(*run));

	run->kind = kind;
	run->vm = sd_strdup(o->vm);
	run->vm_name = sd_strdup(o->vm_name);
	run->snap = sd_strdup(o->snap);
	run->snap_name = sd_strdup(o->snap_name);
	return run;
}


/* ---- snapshot ---- */

static int snapshot_submit(struct tui *t, struct tui_form *f)
{
	struct op *o = tui_form_ctx(f);
	struct op *run;
	const struct ctl_vm_row *r = tui_selected_vm(t);
	const char *name = tui_form_field(f, "name")->text;
	const char *desc = tui_form_field(f, "description")->text;
	size_t ndisks = 0, checked = 0;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(jsonv) *plan = NULL;
	char label[256];

	if (!r) {
		tui_status(t, true, _("the VM is gone"));
		return 0;
	}
	run = op_new(OP_SNAPSHOT, r, NULL);
	run->sreq.name = keep(run, name[0] ? name : NULL);
	run->sreq.description = keep(run, desc[0] ? desc : NULL);
	run->sreq.memory = tui_form_field(f, "memory")->checked;
	for (size_t i = 0; o->disks && o->disks[i]; i++)
		ndisks++;
	run->disks = sd_calloc(ndisks + 1, sizeof(char *));
	for (size_t i = 0; i < ndisks; i++) {
		char key[64];
		snprintf(key, sizeof(key), "disk:%s", o->disks[i]);
		if (tui_form_field(f, key)->checked)
			run->disks[checked++] = sd_strdup(o->disks[i]);
	}
	if (checked == 0) {
		tui_status(t, true, _("pick at least one disk"));
		op_free(run);
		return -1;
	}
	run->sreq.disks = checked == ndisks ? NULL : run->disks;
	/* the dry run checks the name and the VM's state here, at once */
	if (ctl_snapshot_create(t->ctl, run->vm, &run->sreq, true, &plan, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		op_free(run);
		return -1;
	}
	snprintf(label, sizeof(label), _("snapshot %s"), r->name);
	start(t, run, label);
	return 0;
}

int tui_act_snapshot(struct tui *t)
{
	const struct ctl_vm_row *r = need_vm(t);
	struct tui_form *f;
	struct tui_field *fd;
	struct op *o;
	char title[160];

	if (!r)
		return TUI_REDRAW;
	o = op_new(OP_SNAPSHOT, r, NULL);
	snprintf(title, sizeof(title), _("Snapshot %s"), r->name);
	f = tui_form_new(title, snapshot_submit, o, op_free);
	tui_form_add(f, TUI_FIELD_TEXT, "name", _("Name (empty: the time)"));
	tui_form_add(f, TUI_FIELD_TEXT, "description", _("Description"));
	/* a running VM is snapshotted live; its memory comes with every disk */
	fd = tui_form_add(f, TUI_FIELD_CHECK, "memory",
			  hv_state_runs(r->state) ? _("Memory (needs every disk)")
						  : _("Memory (only when running)"));
	fd->disabled = !hv_state_runs(r->state);
	tui_form_add(f, TUI_FIELD_NOTE, NULL, _("Disks in the snapshot:"));
	if (t->state) {
		o->disks = sd_calloc(t->state->ndisks + 1, sizeof(char *));
		for (size_t i = 0; i < t->state->ndisks && i < OP_MAX_DISKS; i++) {
			char key[64], label[96];
			o->disks[i] = sd_strdup(t->state->disks[i].target);
			snprintf(key, sizeof(key), "disk:%s", o->disks[i]);
			snprintf(label, sizeof(label), _("  disk %s"), o->disks[i]);
			fd = tui_form_add(f, TUI_FIELD_CHECK, keep(o, key), label);
			fd->checked = true;
		}
	}
	tui_push(t, tui_form_view(f));
	return TUI_REDRAW;
}

/* ---- preview, commit, undo, revert, delete ---- */

int tui_run_preview(struct tui *t, const struct plan_preview_req *req)
{
	const struct ctl_vm_row *r = need_vm(t);
	struct op *o;
	char label[256];

	if (!r)
		return TUI_REDRAW;
	o = op_new(OP_PREVIEW, r, NULL);
	o->preq.config = keep(o, req->config);
	o->preq.memory = req->memory;
	for (size_t i = 0; i < req->nchoices && i < OP_MAX_DISKS; i++) {
		o->choices[i].target = keep(o, req->choices[i].target);
		o->choices[i].choice = keep(o, req->choices[i].choice);
		o->preq.nchoices++;
	}
	o->preq.choices = o->choices;
	snprintf(label, sizeof(label), _("preview %s"), r->name);
	return start(t, o, label);
}

int tui_act_preview_grid(struct tui *t)
{
	if (!need_off(t, _("a preview")))
		return TUI_REDRAW;
	if (!t->state || t->state->nsnapshots == 0) {
		tui_status(t, true, _("this VM has no snapshots to preview"));
		return TUI_REDRAW;
	}
	tui_push(t, tui_grid_new(t));
	return TUI_REDRAW;
}

int tui_act_preview_whole(struct tui *t)
{
	const struct model_snapshot *s;
	struct plan_preview_req req = { NULL, false, NULL, 0 };

	if (!need_off(t, _("a preview")) || !(s = need_snapshot(t)))
		return TUI_REDRAW;
	req.config = s->id;
	req.memory = s->memory_path != NULL;
	return tui_run_preview(t, &req);
}

/* What the status line and the busy indicator call a confirmed op. */
static void op_label(const struct op *o, char *buf, size_t len)
{
	switch (o->kind) {
	case OP_COMMIT:
		snprintf(buf, len, o->prune ? _("commit and prune %s") : _("commit %s"), o->vm_name);
		break;
	case OP_UNDO:
		snprintf(buf, len, _("undo %s"), o->vm_name);
		break;
	case OP_REVERT:
		snprintf(buf, len, _("revert %s to %s"), o->vm_name, o->snap_name);
		break;
	default:
		snprintf(buf, len, _("delete %s@%s"), o->vm_name, o->snap_name);
		break;
	}
}

/* A confirmation's button: runs a copy of the op it was asked for. */
static int run_confirmed(struct tui *t, const struct op *o, bool prune)
{
	struct op *run = op_copy(o->kind, o);
	char label[256];

	run->prune = prune;
	op_label(run, label, sizeof(label));
	return start(t, run, label);
}

static int yes(struct tui *t, void *ctx)
{
	return run_confirmed(t, ctx, false);
}

static int yes_prune(struct tui *t, void *ctx)
{
	return run_confirmed(t, ctx, true);
}

/* Asks before o runs: intro, then the plan of its dry run. Takes o. */
static int ask(struct tui *t, struct op *o, const char *title, const char *intro,
	       const json_t *plan, const struct tui_button *buttons, size_t nbuttons)
{
	struct sd_buf b = SD_BUF_INIT;
	SD_AUTOFREE char *text = NULL;

	sd_buf_addf(&b, "%s\n\n", intro);
	{
		SD_AUTOFREE char *explained = plan_explain(plan);
		sd_buf_addf(&b, "%s", explained);
	}
	text = sd_buf_steal(&b);
	tui_push(t, tui_confirm_new(title, text, buttons, nbuttons, o, op_free));
	return TUI_REDRAW;
}

static const struct tui_button yes_no[] = {
	{ N_("Yes"), 'y', yes },
	{ N_("No"), 'n', NULL },
};

/* The dry run of o, or NULL (the status line says why). */
static json_t *dry_run(struct tui *t, const struct op *o)
{
	struct sd_err err = SD_ERR_INIT;
	json_t *plan = NULL;
	int rc;

	switch (o->kind) {
	case OP_COMMIT:
		rc = ctl_commit(t->ctl, o->vm, o->prune, true, &plan, &err);
		break;
	case OP_UNDO:
		rc = ctl_undo(t->ctl, o->vm, true, &plan, &err);
		break;
	case OP_REVERT:
		rc = ctl_revert(t->ctl, o->vm, o->snap, true, &plan, &err);
		break;
	default:
		rc = ctl_snapshot_delete(t->ctl, o->vm, o->snap, true, &plan, &err);
		break;
	}
	if (rc < 0) {
		tui_status(t, true, "%s", err.msg);
		json_decref(plan);
		return NULL;
	}
	return plan;
}

/* The selected VM when a preview is open on it, else NULL (the status line
 * says why). */
static const struct ctl_vm_row *need_preview(struct tui *t, bool commit)
{
	const struct ctl_vm_row *r = need_off(t, commit ? _("commit") : _("undo"));

	if (r && !r->in_preview) {
		tui_status(t, true,
			   commit ? _("%s has no open preview to commit")
				  : _("%s has no open preview to undo"),
			   r->name);
		return NULL;
	}
	return r;
}

int tui_act_commit(struct tui *t)
{
	const struct ctl_vm_row *r = need_preview(t, true);
	static const struct tui_button buttons[] = {
		{ N_("Commit"), 'c', yes },
		{ N_("Commit and prune"), 'p', yes_prune },
		{ N_("Cancel"), 'n', NULL },
	};
	SD_AUTO(jsonv) *plan = NULL;
	SD_AUTO(jsonv) *pplan = NULL;
	struct sd_buf b = SD_BUF_INIT;
	SD_AUTOFREE char *intro = NULL;
	const json_t *pruned;
	struct op *o;
	char title[160];

	if (!r)
		return TUI_REDRAW;
	o = op_new(OP_COMMIT, r, NULL);
	plan = dry_run(t, o);
	o->prune = true;
	pplan = plan ? dry_run(t, o) : NULL;
	o->prune = false;
	if (!pplan) {
		op_free(o);
		return TUI_REDRAW;
	}
	sd_buf_addf(&b, _("Commit makes the preview the state of %s. Every snapshot is kept; "
			  "later ones stay as a branch.\n"),
		    r->name);
	if (summary_str(plan, "auto_snapshot"))
		sd_buf_addf(&b, _("The state before the preview holds data no snapshot has: it "
				  "becomes the automatic snapshot %s.\n"),
			    summary_str(plan, "auto_snapshot"));
	else
		sd_buf_addf(&b, "%s\n", _("The state before the preview holds nothing new: its "
					  "empty layers are removed."));
	pruned = json_object_get(json_object_get(pplan, "summary"), "pruned");
	if (json_array_size(pruned) > 0) {
		size_t i;
		const json_t *v;
		sd_buf_addf(&b, "%s", _("Commit and prune also deletes these snapshots and the state "
					"before the preview:"));
		json_array_foreach(pruned, i, v)
			sd_buf_addf(&b, " %s", json_string_value(v));
	} else {
		sd_buf_addf(&b, "%s", _("Commit and prune deletes the state before the preview (no "
					"snapshot would go)."));
	}
	intro = sd_buf_steal(&b);
	snprintf(title, sizeof(title), _("Commit the preview of %s?"), r->name);
	return ask(t, o, title, intro, plan, buttons, SD_N_ELEMENTS(buttons));
}

int tui_act_undo(struct tui *t)
{
	const struct ctl_vm_row *r = need_preview(t, false);
	SD_AUTO(jsonv) *plan = NULL;
	SD_AUTOFREE char *intro = NULL;
	static const struct tui_button buttons[] = {
		{ N_("Undo"), 'u', yes },
		{ N_("Cancel"), 'n', NULL },
	};
	struct op *o;
	char title[160];

	if (!r)
		return TUI_REDRAW;
	o = op_new(OP_UNDO, r, NULL);
	if (!(plan = dry_run(t, o))) {
		op_free(o);
		return TUI_REDRAW;
	}
	intro = sd_asprintf(_("Undo puts %s back exactly as it was before the preview: "
			      "configuration and every disk. What was written during the preview "
			      "is lost."),
			    r->name);
	snprintf(title, sizeof(title), _("Undo the preview of %s?"), r->name);
	return ask(t, o, title, intro, plan, buttons, SD_N_ELEMENTS(buttons));
}

/* Revert and delete: a confirmation for the snapshot selected in the tree. */
static int ask_on_snapshot(struct tui *t, enum op_kind kind)
{
	const struct ctl_vm_row *r = kind == OP_REVERT ? need_off(t, _("a revert")) : need_vm(t);
	const struct model_snapshot *s;
	SD_AUTO(jsonv) *plan = NULL;
	SD_AUTOFREE char *intro = NULL;
	struct op *o;
	char title[160];

	if (!r || !(s = need_snapshot(t)))
		return TUI_REDRAW;
	o = op_new(kind, r, s);
	if (!(plan = dry_run(t, o))) {
		op_free(o);
		return TUI_REDRAW;
	}
	if (kind == OP_REVERT) {
		intro = sd_asprintf(_("Revert previews snapshot %s whole, then commits it: the "
				      "state now is kept as an automatic snapshot when it holds data "
				      "no snapshot has."),
				    s->name);
		snprintf(title, sizeof(title), _("Revert %s to %s?"), r->name, s->name);
	} else {
		intro = sd_asprintf(_("Delete snapshot %s of %s. Its data stays where later states "
				      "need it; the layers below are merged."),
				    s->name, r->name);
		snprintf(title, sizeof(title), _("Delete %s@%s?"), r->name, s->name);
	}
	return ask(t, o, title, intro, plan, yes_no, SD_N_ELEMENTS(yes_no));
}

int tui_act_revert(struct tui *t)
{
	return ask_on_snapshot(t, OP_REVERT);
}

int tui_act_delete(struct tui *t)
{
	return ask_on_snapshot(t, OP_DELETE);
}

/* ---- clone, deploy, volume, template ---- */

static const char *formats[] = { "qcow2", "raw", NULL };
static const char *modes[] = { N_("full copy"), N_("linked (on a template)"),
			       N_("linked direct (on the snapshot)"), NULL };

/* An op on snapshot s with its disk targets in o->disks. */
static struct op *op_with_disks(enum op_kind kind, const struct ctl_vm_row *r,
				const struct model_snapshot *s)
{
	struct op *o = op_new(kind, r, s);
	size_t n = s->ndisks < OP_MAX_DISKS ? s->ndisks : OP_MAX_DISKS;

	o->disks = sd_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		o->disks[i] = sd_strdup(s->disks[i].target);
	return o;
}

static int copy_submit(struct tui *t, struct tui_form *f)
{
	struct op *o = tui_form_ctx(f);
	const char *name = tui_form_field(f, "name")->text;
	struct tui_field *mode = tui_form_field(f, "mode");
	bool root_only = tui_form_field(f, "root_only")->checked;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(jsonv) *plan = NULL;
	SD_AUTO(jsonv) *seeded = NULL;
	struct ctl_task_opts dry = { true, false, NULL, NULL };
	int64_t task = 0;
	struct op *run;
	char label[300];
	int rc;

	run = op_copy(OP_CLONE, o);
	if (!mode || mode->choice == 0) {
		struct ctl_clone_req *c = &run->creq;
		c->vm = run->vm;
		c->snapshot = run->snap;
		c->name = keep(run, name[0] ? name : NULL);
		c->root_only = root_only;
		c->disks = run->cdisks;
		for (size_t i = 0; o->disks && o->disks[i] && i < OP_MAX_DISKS; i++) {
			char pk[64], fk[64];
			snprintf(pk, sizeof(pk), "pool:%s", o->disks[i]);
			snprintf(fk, sizeof(fk), "format:%s", o->disks[i]);
			struct tui_field *pf = tui_form_field(f, pk), *ff = tui_form_field(f, fk);
			run->cdisks[c->ndisks].target = keep(run, o->disks[i]);
			run->cdisks[c->ndisks].pool = pf && pf->text[0] ? keep(run, pf->text) : NULL;
			run->cdisks[c->ndisks].format = ff ? formats[ff->choice] : NULL;
			c->ndisks++;
		}
		rc = ctl_clone(t->ctl, c, &dry, &plan, &task, &err);
		if (rc == 0 && !c->name)
			c->name = keep(run, json_string_value(json_object_get(
						    json_object_get(json_object_get(plan, "summary"),
								    "clone"),
						    "name")));
		snprintf(label, sizeof(label), _("clone %s@%s to %s"), o->vm_name, o->snap_name,
			 c->name ? c->name : "");
	} else {
		struct ctl_deploy_req *d = &run->dreq;
		run->kind = OP_DEPLOY;
		if (!name[0]) {
			tui_status(t, true, _("deploy needs a name for the new VM"));
			op_free(run);
			return -1;
		}
		d->vm = run->vm;
		d->snapshot = run->snap;
		d->name = keep(run, name);
		d->linked = true;
		d->direct = mode->choice == 2;
		d->root_only = root_only;
		rc = ctl_deploy(t->ctl, d, &dry, &plan, &seeded, &task, &err);
		snprintf(label, sizeof(label), _("deploy %s from %s@%s"), name, o->vm_name,
			 o->snap_name);
	}
	if (rc < 0) {
		tui_status(t, true, "%s", err.msg);
		op_free(run);
		return -1;
	}
	start(t, run, label);
	return 0;
}

/* Clone (full, per-disk pool and format) or deploy (full, linked, linked
 * direct); both from the selected snapshot. */
static int copy_dialog(struct tui *t, bool deploy)
{
	const struct ctl_vm_row *r = need_vm(t);
	const struct model_snapshot *s;
	struct tui_form *f;
	struct tui_field *fd;
	struct op *o;
	char title[200], name[256];

	if (!r || !(s = need_snapshot(t)))
		return TUI_REDRAW;
	o = op_with_disks(OP_CLONE, r, s);
	snprintf(title, sizeof(title), deploy ? _("Deploy from %s@%s") : _("Clone %s@%s"),
		 r->name, s->name);
	f = tui_form_new(title, copy_submit, o, op_free);
	fd = tui_form_add(f, TUI_FIELD_TEXT, "name", _("New VM name"));
	snprintf(name, sizeof(name), "copy_of_%s", r->name);
	snprintf(fd->text, sizeof(fd->text), "%s", name);
	if (deploy) {
		fd = tui_form_add(f, TUI_FIELD_CHOICE, "mode", _("Disks"));
		fd->choices = modes;
		fd->choice = 1;
	}
	tui_form_add(f, TUI_FIELD_CHECK, "root_only", _("First disk only"));
	if (!deploy) {
		for (size_t i = 0; o->disks[i]; i++) {
			char key[64], label[96];
			snprintf(key, sizeof(key), "pool:%s", o->disks[i]);
			snprintf(label, sizeof(label), _("%s pool (empty: same)"), o->disks[i]);
			tui_form_add(f, TUI_FIELD_TEXT, keep(o, key), label);
			snprintf(key, sizeof(key), "format:%s", o->disks[i]);
			snprintf(label, sizeof(label), _("%s format"), o->disks[i]);
			fd = tui_form_add(f, TUI_FIELD_CHOICE, keep(o, key), label);
			fd->choices = formats;
		}
	} else {
		tui_form_add(f, TUI_FIELD_NOTE, NULL,
			     _("Linked disks are overlays: the VM needs the template (or the "
			       "snapshot) to live."));
	}
	tui_push(t, tui_form_view(f));
	return TUI_REDRAW;
}

int tui_act_clone(struct tui *t)
{
	return copy_dialog(t, false);
}

int tui_act_deploy(struct tui *t)
{
	return copy_dialog(t, true);
}

static int volume_submit(struct tui *t, struct tui_form *f)
{
	struct op *o = tui_form_ctx(f);
	struct tui_field *disk = tui_form_field(f, "disk");
	const char *name = tui_form_field(f, "name")->text;
	const char *pool = tui_form_field(f, "pool")->text;
	struct tui_field *fmt = tui_form_field(f, "format");
	struct ctl_task_opts dry = { true, false, NULL, NULL };
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(jsonv) *plan = NULL;
	int64_t task = 0;
	struct op *run = op_copy(OP_VOLUME, o);
	char label[300];

	run->vreq.vm = run->vm;
	run->vreq.snapshot = run->snap;
	run->vreq.disk = keep(run, o->disks[disk->choice]);
	run->vreq.name = keep(run, name);
	run->vreq.pool = pool[0] ? keep(run, pool) : NULL;
	run->vreq.format = formats[fmt->choice];
	if (ctl_volume_from_snapshot(t->ctl, &run->vreq, &dry, &plan, &task, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		op_free(run);
		return -1;
	}
	snprintf(label, sizeof(label), _("volume %s from %s@%s"), name, o->vm_name, o->snap_name);
	start(t, run, label);
	return 0;
}

int tui_act_volume(struct tui *t)
{
	const struct ctl_vm_row *r = need_vm(t);
	const struct model_snapshot *s;
	struct tui_form *f;
	struct tui_field *fd;
	struct op *o;
	char title[200];

	if (!r || !(s = need_snapshot(t)))
		return TUI_REDRAW;
	o = op_with_disks(OP_VOLUME, r, s);
	snprintf(title, sizeof(title), _("Volume from %s@%s"), r->name, s->name);
	f = tui_form_new(title, volume_submit, o, op_free);
	fd = tui_form_add(f, TUI_FIELD_CHOICE, "disk", _("Disk"));
	fd->choices = (const char **)o->disks;
	tui_form_add(f, TUI_FIELD_TEXT, "name", _("Volume name"));
	tui_form_add(f, TUI_FIELD_TEXT, "pool", _("Pool (empty: the disk's)"));
	fd = tui_form_add(f, TUI_FIELD_CHOICE, "format", _("Format"));
	fd->choices = formats;
	tui_push(t, tui_form_view(f));
	return TUI_REDRAW;
}

static int seed_submit(struct tui *t, struct tui_form *f)
{
	struct op *o = tui_form_ctx(f);
	const char *name = tui_form_field(f, "name")->text;
	const char *pool = tui_form_field(f, "pool")->text;
	struct ctl_task_opts dry = { true, false, NULL, NULL };
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(jsonv) *plan = NULL;
	int64_t task = 0;
	struct op *run = op_copy(OP_SEED, o);
	char label[300];

	run->seed.vm = run->vm;
	run->seed.snapshot = run->snap;
	run->seed.name = keep(run, name);
	run->seed.pool = pool[0] ? keep(run, pool) : NULL;
	if (ctl_template_seed(t->ctl, &run->seed, &dry, &plan, &task, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		op_free(run);
		return -1;
	}
	snprintf(label, sizeof(label), _("template %s from %s@%s"), name, o->vm_name,
		 o->snap_name);
	start(t, run, label);
	return 0;
}

int tui_act_template(struct tui *t)
{
	const struct ctl_vm_row *r = need_vm(t);
	const struct model_snapshot *s;
	struct tui_form *f;
	char title[200];

	if (!r || !(s = need_snapshot(t)))
		return TUI_REDRAW;
	snprintf(title, sizeof(title), _("Template from %s@%s"), r->name, s->name);
	f = tui_form_new(title, seed_submit, op_new(OP_SEED, r, s), op_free);
	tui_form_add(f, TUI_FIELD_TEXT, "name", _("Template name"));
	tui_form_add(f, TUI_FIELD_TEXT, "pool", _("Pool (empty: the first disk's)"));
	tui_push(t, tui_form_view(f));
	return TUI_REDRAW;
}

/* ---- tasks ---- */

int tui_act_cancel_task(struct tui *t)
{
	const struct catalog_task *k;
	struct sd_err err = SD_ERR_INIT;

	if (t->focus != TUI_PANE_BOTTOM || t->bottom != TUI_BOTTOM_TASKS) {
		tui_status(t, true, _("x cancels a task in the tasks pane (F9 or t shows it)"));
		return TUI_REDRAW;
	}
	k = tui_tasks_selected(t);
	if (!k) {
		tui_status(t, true, _("no task selected"));
		return TUI_REDRAW;
	}
	/* ask, do not wait: the pane shows it end */
	if (ctl_task_cancel(t->ctl, k->id, 0, NULL, &err) < 0) {
		tui_status(t, true, "%s", err.msg);
		return TUI_REDRAW;
	}
	tui_status(t, false, _("cancel asked for task %lld"), (long long)k->id);
	return TUI_RELOAD;
}

/* ---- start and stop ---- */

static int stop_with(struct tui *t, void *ctx, bool force)
{
	struct op *run = op_copy(OP_STOP, ctx);
	char label[256];

	run->prune = force;
	snprintf(label, sizeof(label), force ? _("power off %s") : _("shut down %s"),
		 run->vm_name);
	return start(t, run, label);
}

static int stop_soft(struct tui *t, void *ctx)
{
	return stop_with(t, ctx, false);
}

static int stop_hard(struct tui *t, void *ctx)
{
	return stop_with(t, ctx, true);
}

int tui_act_start(struct tui *t)
{
	const struct ctl_vm_row *r = need_vm(t);
	char label[256];

	if (!r)
		return TUI_REDRAW;
	if (hv_state_runs(r->state)) {
		tui_status(t, true, _("VM %s is running already"), r->name);
		return TUI_REDRAW;
	}
	snprintf(label, sizeof(label), _("start %s"), r->name);
	return start(t, op_new(OP_START, r, NULL), label);
}

int tui_act_stop(struct tui *t)
{
	const struct ctl_vm_row *r = need_vm(t);

	if (!r)
		return TUI_REDRAW;
	if (!hv_state_runs(r->state)) {
		tui_status(t, true, _("VM %s is not running"), r->name);
		return TUI_REDRAW;
	}
	return ask_stop(t, r, NULL);
}
