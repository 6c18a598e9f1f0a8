#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/engine.h"
#include "ctl/live.h"
#include "ctl/task.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"

SD_DEFINE_AUTO(json, json_t, json_decref)

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
static int64_t proc_start_time(int64_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;
	char *p;
	int64_t start = -1;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p)
		start = strtoll(p + 1, NULL, 10);
	return start;
}

const struct catalog_owner *ctl_engine_me(void)
{
	static struct catalog_owner me;

	if (me.pid != (int64_t)getpid()) {
		memset(&me, 0, sizeof(me));
		if (gethostname(me.host, sizeof(me.host) - 1) < 0)
			snprintf(me.host, sizeof(me.host), "localhost");
		me.pid = getpid();
		me.start = proc_start_time(me.pid);
	}
	return &me;
}

bool ctl_engine_owner_alive(const struct catalog_owner *owner)
{
	const struct catalog_owner *me = ctl_engine_me();

	if (strcmp(owner->host, me->host) != 0)
		return true; /* another host's process: we cannot tell, so assume so */
	if (owner->pid == me->pid && owner->start == me->start)
		return true;
	if (kill((pid_t)owner->pid, 0) < 0 && errno == ESRCH)
		return false;
	return proc_start_time(owner->pid) == owner->start;
}

/* ---- fault injection (always compiled in, for the crash tests) ---- */

enum fault { FAULT_NONE, FAULT_CRASH, FAULT_FAIL };

static enum fault fault_at(int seq)
{
	const char *v = getenv("SNAPDECK_FAULT");
	int n;

	if (!v)
		return FAULT_NONE;
	if (sscanf(v, "crash:%d", &n) == 1 && n == seq)
		return FAULT_CRASH;
	if (sscanf(v, "fail:%d", &n) == 1 && n == seq)
		return FAULT_FAIL;
	return FAULT_NONE;
}

/* ---- step executors ---- */

static int step_create_overlay(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *path = ctl_arg(a, "path"), *pool = ctl_arg(a, "pool");
	struct sd_err lerr = SD_ERR_INIT;
	int rc;

	if (pool)
		rc = hv_volume_create(ctl->hv, pool, ctl_arg(a, "name"), "qcow2", 0, ctl_arg(a, "backing"),
				      ctl_arg(a, "backing_format"), NULL, &lerr);
	else
		rc = img_create(path, "qcow2", 0, ctl_arg(a, "backing"), ctl_arg(a, "backing_format"),
				&lerr);
	if (rc < 0 && access(path, F_OK) == 0 &&
	    (lerr.code == SD_ERR_EXISTS || lerr.code == SD_ERR_IMG)) {
		/* made by an earlier run of this step: our UUID name */
		return 0;
	}
	if (rc < 0)
		sd_err_set(err, lerr.code, "%s", lerr.msg);
	return rc;
}

static int step_delete_volume(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *path = ctl_arg(a, "path");

	if (ctl_arg(a, "pool"))
		return hv_volume_delete_path(ctl->hv, path, err);
	if (unlink(path) < 0 && errno != ENOENT) {
		sd_err_set(err, SD_ERR_IO, _("cannot delete %s: %s"), path, strerror(errno));
		return -1;
	}
	return 0;
}

static int step_define_domain(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *xml = ctl_arg(a, "xml");
	const json_t *sources = json_object_get(a, "sources"), *only = json_object_get(a, "only");
	const json_t *imports = json_object_get(a, "imports"), *v;
	struct hv_disk_source src[64];
	struct hv_disk_import imp[64];
	const char *remove[64];
	size_t nsrc = 0, nimp = 0, nrem = 0, i;
	const char *k;
	char **targets;
	SD_AUTOFREE char *out = NULL;

	if (!sources && !only && !imports && !ctl_arg(a, "name"))
		return hv_domain_define(ctl->hv, xml, err);
	targets = hv_domain_xml_disk_targets(xml, err);
	if (!targets)
		return -1;
	json_object_foreach((json_t *)sources, k, v) {
		if (nsrc >= SD_N_ELEMENTS(src))
			break;
		src[nsrc].target = k;
		src[nsrc].path = ctl_arg(v, "path");
		src[nsrc].format = ctl_arg(v, "format");
		nsrc++;
	}
	json_array_foreach(imports, i, v) {
		if (nimp < SD_N_ELEMENTS(imp) && !sd_strv_contains(targets, ctl_arg(v, "target"))) {
			imp[nimp].target = ctl_arg(v, "target");
			imp[nimp].from_xml = ctl_arg(v, "from_xml");
			nimp++;
		}
	}
	if (json_is_array(only))
		for (i = 0; targets[i] && nrem < SD_N_ELEMENTS(remove); i++) {
			bool keep = false;
			size_t j;
			json_array_foreach(only, j, v)
				keep = keep || sd_str_eq(json_string_value(v), targets[i]);
			if (!keep)
				remove[nrem++] = targets[i];
		}
	out = hv_domain_xml_edit(xml, ctl_arg(a, "name"), ctl_arg(a, "uuid"), src, nsrc, remove, nrem,
				 imp, nimp, err);
	sd_strv_free(targets);
	if (!out)
		return -1;
	return hv_domain_define(ctl->hv, out, err);
}

static int step_qemu_rebase(const json_t *a, struct sd_err *err)
{
	return img_rebase(ctl_arg(a, "top"), ctl_arg(a, "format"), ctl_arg(a, "backing"),
			  ctl_arg(a, "backing_format"), json_is_true(json_object_get(a, "safe")), err);
}

/* Runs one step that is not the catalog step. */
static int run_step(struct ctl *ctl, const char *kind, const json_t *args, struct sd_err *err)
{
	sd_debug("step %s", kind);
	if (strcmp(kind, "create_overlay") == 0)
		return step_create_overlay(ctl, args, err);
	if (strcmp(kind, "delete_volume") == 0)
		return step_delete_volume(ctl, args, err);
	if (strcmp(kind, "define_domain") == 0)
		return step_define_domain(ctl, args, err);
	if (strcmp(kind, "qemu_commit") == 0)
		return img_commit(ctl_arg(args, "top"), ctl_arg(args, "format"), err);
	if (strcmp(kind, "qemu_rebase") == 0)
		return step_qemu_rebase(args, err);
	if (ctl_task_step_kind(kind)) /* copies, clones: ctl/task.c */
		return ctl_task_step(ctl, kind, args, err);
	if (ctl_live_step_kind(kind)) /* running domains: ctl/live.c */
		return ctl_live_step(ctl, kind, args, err);
	sd_err_set(err, SD_ERR_INTERNAL, _("unknown step kind '%s'"), kind);
	return -1;
}

/* The catalog step: the changes and the step's (and, when last, the
 * operation's) completion in one transaction. */
static int run_catalog_step(struct ctl *ctl, int64_t vm_id, int64_t op_id, int seq, bool last,
			    const json_t *args, struct sd_err *err)
{
	if (catalog_begin(ctl->cat, err) < 0)
		return -1;
	if (catalog_apply(ctl->cat, ctl->host_id, vm_id, json_object_get(args, "changes"), err) < 0 ||
	    catalog_op_step_state(ctl->cat, op_id, seq, "done", err) < 0 ||
	    (last && catalog_op_end(ctl->cat, op_id, "done", NULL, err) < 0)) {
		catalog_rollback(ctl->cat);
		return -1;
	}
	return catalog_commit(ctl->cat, err);
}

struct run_state {
	struct ctl *ctl;
	int64_t vm_id;
	const char *vm_name;
	int64_t op_id;
	const char *op;
	int pnr;	/* 0: none */
	bool untouched; /* the failed step changed nothing */
};

static void add_event(struct ctl *ctl, const char *vm, const char *op, enum catalog_level level,
		      const char *msg)
{
	catalog_event_add(ctl->cat, vm, op, level, msg, NULL);
}

/* Undoes steps from..1 (the ones done or running), newest first. */
static int roll_back(struct run_state *rs, const struct catalog_op *op, int from,
		     struct sd_err *err)
{
	for (int seq = from; seq >= 1; seq--) {
		const struct catalog_step *st = &op->steps[seq - 1];
		SD_AUTO(json) *undo = NULL;

		if (strcmp(st->state, "pending") == 0 || strcmp(st->state, "undone") == 0)
			continue;
		if (st->undo) {
			undo = json_loads(st->undo, 0, NULL);
			if (json_is_object(undo) &&
			    run_step(rs->ctl, ctl_arg(undo, "kind"), json_object_get(undo, "args"),
				     err) < 0)
				return -1;
		}
		if (catalog_op_step_state(rs->ctl->cat, rs->op_id, seq, "undone", err) < 0)
			return -1;
	}
	return catalog_op_end(rs->ctl->cat, rs->op_id, "rolled_back", NULL, err);
}

/* New layers are independent of each other: a run of create_overlay steps
 * is executed in parallel (each a libvirt volume create, which libvirtd
 * carries out with qemu-img), recorded running before and done after. */
struct overlay_job {
	struct ctl *ctl;
	json_t *args;
	struct sd_err err;
	int rc;
};

static void *overlay_thread(void *opaque)
{
	struct overlay_job *job = opaque;

	job->rc = step_create_overlay(job->ctl, job->args, &job->err);
	return NULL;
}

/* Runs steps seq..end (all create_overlay, none done, none with a fault)
 * at once. Returns 0, or -1 with err (the first failure). */
static int run_overlays(struct run_state *rs, const struct catalog_op *op, int seq, int end,
			struct sd_err *err)
{
	int n = end - seq + 1, ret = 0;
	struct overlay_job *jobs = sd_calloc((size_t)n, sizeof(*jobs));
	pthread_t *threads = sd_calloc((size_t)n, sizeof(*threads));
	bool *started = sd_calloc((size_t)n, sizeof(*started));

	for (int i = 0; i < n; i++) {
		if (catalog_op_step_state(rs->ctl->cat, rs->op_id, seq + i, "running", err) < 0) {
			ret = -1;
			n = i;
			break;
		}
		jobs[i].ctl = rs->ctl;
		jobs[i].args = json_loads(op->steps[seq - 1 + i].args, 0, NULL);
		started[i] = pthread_create(&threads[i], NULL, overlay_thread, &jobs[i]) == 0;
		if (!started[i])
			overlay_thread(&jobs[i]);
	}
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		json_decref(jobs[i].args);
		if (jobs[i].rc < 0 && ret == 0) {
			sd_err_set(err, jobs[i].err.code, "%s", jobs[i].err.msg);
			ret = -1;
		}
		if (jobs[i].rc == 0 &&
		    catalog_op_step_state(rs->ctl->cat, rs->op_id, seq + i, "done", err) < 0)
			ret = -1;
	}
	free(jobs);
	free(threads);
	free(started);
	return ret;
}

/* The last step of the run of create_overlay steps starting at seq that can
 * go in parallel (stops before a step with an injected fault). */
static int overlay_run_end(const struct catalog_op *op, int seq)
{
	int end = seq;

	/* op->steps[end] is step end + 1 */
	while (end < (int)op->nsteps && strcmp(op->steps[end].kind, "create_overlay") == 0 &&
	       strcmp(op->steps[end].state, "done") != 0 && fault_at(end + 1) == FAULT_NONE)
		end++;
	return end;
}

/* Executes steps from..n of a journaled operation. */
static int roll_forward(struct run_state *rs, const struct catalog_op *op, int from,
			struct sd_err *err)
{
	for (int seq = from; seq <= (int)op->nsteps; seq++) {
		const struct catalog_step *st = &op->steps[seq - 1];
		SD_AUTO(json) *args = json_loads(st->args, 0, NULL);
		bool last = seq == (int)op->nsteps;
		enum fault f = fault_at(seq);
		int rc;

		if (strcmp(st->state, "done") == 0)
			continue;
		if (f == FAULT_NONE && strcmp(st->kind, "create_overlay") == 0) {
			int end = overlay_run_end(op, seq);
			if (end > seq) {
				if (run_overlays(rs, op, seq, end, err) < 0)
					return -end - 1;
				seq = end;
				continue;
			}
		}
		if (f == FAULT_CRASH) {
			fflush(NULL);
			_exit(137);
		}
		if (catalog_op_step_state(rs->ctl->cat, rs->op_id, seq, "running", err) < 0)
			return -1;
		if (f == FAULT_FAIL) {
			sd_err_set(err, SD_ERR_INTERNAL, _("injected failure at step %d (%s)"), seq,
				   st->kind);
			return -seq - 1;
		}
		if (strcmp(st->kind, "catalog") == 0) {
			if (run_catalog_step(rs->ctl, rs->vm_id, rs->op_id, seq, last, args, err) < 0)
				return -seq - 1;
			continue;
		}
		rc = run_step(rs->ctl, st->kind, args, err);
		if (rc == CTL_STEP_UNTOUCHED) {
			/* nothing changed: as if it had never started, so it may
			 * be undone even at the point of no return */
			rs->untouched = true;
			catalog_op_step_state(rs->ctl->cat, rs->op_id, seq, "pending", NULL);
			return -seq - 1;
		}
		if (rc < 0)
			return -seq - 1;
		if (catalog_op_step_state(rs->ctl->cat, rs->op_id, seq, "done", err) < 0)
			return -1;
		if (last && catalog_op_end(rs->ctl->cat, rs->op_id, "done", NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* Reloads the operation's steps (states change as we go). */
static int reload_op(struct ctl *ctl, int64_t vm_id, int64_t op_id, struct catalog_op *out,
		     struct sd_err *err)
{
	struct catalog_op *ops = NULL;
	size_t n = 0;
	int found = 0;

	if (catalog_op_unfinished(ctl->cat, vm_id, &ops, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ops[i].id == op_id) {
			*out = ops[i];
			memset(&ops[i], 0, sizeof(ops[i]));
			found = 1;
		}
	catalog_ops_free(ops, n);
	return found;
}

/* After a failure at step failed_seq: undo when still possible. */
static int handle_failure(struct run_state *rs, int failed_seq, struct sd_err *err)
{
	struct sd_err rerr = SD_ERR_INIT;
	struct catalog_op op = { 0 };
	SD_AUTOFREE char *msg = NULL;

	if (rs->pnr > 0 && failed_seq >= rs->pnr && !(rs->untouched && failed_seq == rs->pnr)) {
		msg = sd_asprintf(_("%s stopped after its point of no return (%s); "
				    "'snapdeck sync' will finish it"),
				  rs->op, err->msg);
		add_event(rs->ctl, rs->vm_name, rs->op, CATALOG_ERROR, msg);
		return -1;
	}
	if (reload_op(rs->ctl, rs->vm_id, rs->op_id, &op, &rerr) <= 0 ||
	    roll_back(rs, &op, failed_seq, &rerr) < 0) {
		msg = sd_asprintf(_("%s failed (%s) and could not be undone (%s); "
				    "'snapdeck sync' will try again"),
				  rs->op, err->msg, rerr.msg);
		add_event(rs->ctl, rs->vm_name, rs->op, CATALOG_ERROR, msg);
		catalog_op_clear(&op);
		return -1;
	}
	catalog_op_clear(&op);
	msg = sd_asprintf(_("%s failed and was undone: %s"), rs->op, err->msg);
	add_event(rs->ctl, rs->vm_name, rs->op, CATALOG_ERROR, msg);
	return -1;
}

int ctl_engine_run(struct ctl *ctl, int64_t vm_id, const char *vm_name, const json_t *plan,
		   struct sd_err *err)
{
	const json_t *steps = json_object_get(plan, "steps"), *st;
	size_t n = json_array_size(steps), i;
	struct catalog_step *cs = sd_calloc(n ? n : 1, sizeof(*cs));
	SD_AUTOFREE char *plan_text = json_dumps(plan, JSON_COMPACT);
	struct run_state rs = { ctl, vm_id, vm_name, 0, ctl_arg(plan, "op"),
				(int)json_integer_value(json_object_get(plan, "pnr")), false };
	struct catalog_op op = { 0 };
	int rc;

	json_array_foreach(steps, i, st) {
		const json_t *undo = json_object_get(st, "undo");
		cs[i].seq = (int)i + 1;
		cs[i].kind = (char *)ctl_arg(st, "kind");
		cs[i].args = json_dumps(json_object_get(st, "args"), JSON_COMPACT);
		cs[i].undo = json_is_object(undo) ? json_dumps(undo, JSON_COMPACT) : NULL;
		cs[i].destructive = json_is_true(json_object_get(st, "destructive"));
		cs[i].state = (char *)"pending";
	}
	rc = catalog_op_begin(ctl->cat, vm_id, vm_name, rs.op, plan_text, cs, n, ctl_engine_me(),
			      &rs.op_id, err);
	for (i = 0; i < n; i++) {
		free(cs[i].args);
		free(cs[i].undo);
	}
	free(cs);
	if (rc < 0)
		return -1;
	if (reload_op(ctl, vm_id, rs.op_id, &op, err) <= 0) {
		sd_err_set(err, SD_ERR_INTERNAL, _("operation %lld vanished from the journal"),
			   (long long)rs.op_id);
		return -1;
	}
	rc = roll_forward(&rs, &op, 1, err);
	catalog_op_clear(&op);
	if (rc < -1)
		return handle_failure(&rs, -rc - 1, err);
	return rc;
}

int ctl_engine_recover(struct ctl *ctl, int64_t vm_id, ctl_say_fn say, void *opaque, int *count,
		       struct sd_err *err)
{
	struct catalog_op *ops = NULL;
	size_t n = 0;
	int done = 0, ret = 0;

	if (count)
		*count = 0;
	if (!ctl->cat || ctl->readonly)
		return 0;
	if (catalog_op_unfinished(ctl->cat, vm_id, &ops, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct catalog_op *op = &ops[i];
		SD_AUTO(json) *plan = json_loads(op->plan, 0, NULL);
		struct run_state rs = { ctl, op->vm_id, op->vm_name, op->id, op->op,
					(int)json_integer_value(json_object_get(plan, "pnr")), false };
		bool forward = false;
		int last_touched = 0;
		SD_AUTOFREE char *msg = NULL;

		if (ctl_engine_owner_alive(&op->owner) &&
		    !(op->owner.pid == ctl_engine_me()->pid &&
		      op->owner.start == ctl_engine_me()->start))
			continue; /* still running elsewhere */
		if (catalog_op_set_owner(ctl->cat, op->id, ctl_engine_me(), err) < 0) {
			ret = -1;
			break;
		}
		for (size_t s = 0; s < op->nsteps; s++) {
			if (strcmp(op->steps[s].state, "pending") != 0) {
				last_touched = (int)s + 1;
				if (rs.pnr > 0 && (int)s + 1 >= rs.pnr)
					forward = true;
			}
		}
		if (forward) {
			int rc = roll_forward(&rs, op, 1, err);
			if (rc < 0) {
				ret = -1;
				break;
			}
			msg = sd_asprintf(_("interrupted %s finished by sync"), op->op);
		} else {
			if (roll_back(&rs, op, last_touched, err) < 0) {
				ret = -1;
				break;
			}
			msg = sd_asprintf(_("interrupted %s undone by sync"), op->op);
		}
		/* the task that ran it (its owner is gone) ends as the operation did */
		if (json_integer_value(json_object_get(plan, "task")) > 0)
			catalog_task_finish(ctl->cat, json_integer_value(json_object_get(plan, "task")),
					    forward ? "done" : "failed", forward ? NULL : msg, NULL);
		add_event(ctl, op->vm_name, "sync", CATALOG_WARNING, msg);
		if (say) {
			SD_AUTOFREE char *line = sd_asprintf("%s: %s", op->vm_name ? op->vm_name : "", msg);
			say(line, opaque);
		}
		done++;
	}
	catalog_ops_free(ops, n);
	if (count)
		*count = done;
	return ret;
}
