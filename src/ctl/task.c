/* The task runner: a plan of copy steps run by the engine, with a ticker
 * thread that records progress every 0.5 s,
 * polls for a cancel asked by any process and feeds the caller's progress
 * display. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl/deploy.h"
#include "ctl/engine.h"
#include "ctl/task.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/conf.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

#define TICK_MS 100
#define RECORD_MS 500

/* One task running in this process. */
struct task_run {
	int64_t id;
	char *cat_path;
	/* The controller's connection, shared with the ticker (opened
	 * SQLITE_OPEN_FULLMUTEX): a second connection in this process would
	 * be opened by catalog_open, whose first look at the file (open and
	 * close outside SQLite) drops this process's POSIX locks on it. */
	struct catalog *cat;
	pthread_mutex_t mu;
	pthread_t ticker;
	bool ticker_on;
	bool stop;     /* under mu */
	uint64_t base; /* bytes of the copies finished (under mu) */
	uint64_t cur;  /* size of the copy running (under mu) */
	double frac;   /* its progress (under mu) */
	uint64_t total;
	char what[32];	     /* under mu */
	volatile int cancel; /* set by the ticker, read by img_spawn_progress */
	double rate;
	ctl_task_progress_fn progress;
	void *opaque;
};

/* The task whose steps this process runs now (one at a time). */
static struct task_run *current;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t run_done(struct task_run *r)
{
	uint64_t d = r->base + (uint64_t)(r->frac * (double)r->cur);

	return d > r->total && r->total > 0 ? r->total : d;
}

static void report(struct task_run *r, uint64_t done, bool final)
{
	struct ctl_task_progress p;
	char what[32];

	if (!r->progress)
		return;
	pthread_mutex_lock(&r->mu);
	memcpy(what, r->what, sizeof(what));
	pthread_mutex_unlock(&r->mu);
	p.id = r->id;
	p.what = what[0] ? what : NULL;
	p.done = done;
	p.total = r->total;
	p.rate = r->rate;
	p.eta_s =
	    r->rate > 0 && r->total >= done ? (int64_t)((double)(r->total - done) / r->rate) : -1;
	p.final = final;
	r->progress(&p, r->opaque);
}

static void *ticker_main(void *arg)
{
	struct task_run *r = arg;
	struct catalog *cat = r->cat;
	int64_t last_rec = 0, last_rate_ms = sd_mono_ms();
	uint64_t last_rate_done = 0;

	for (;;) {
		struct timespec ts = {0, TICK_MS * 100000L};
		int64_t now;
		uint64_t done;
		bool stop;

		/* in slices, so that the end of a short task is not held up */
		for (int slice = 0; slice < 10; slice++) {
			bool quit;
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&r->mu);
			quit = r->stop;
			pthread_mutex_unlock(&r->mu);
			if (quit)
				break;
		}
		pthread_mutex_lock(&r->mu);
		stop = r->stop;
		done = run_done(r);
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		if (interrupted)
			r->cancel = 1;
		now = sd_mono_ms();
		if (now - last_rate_ms >= RECORD_MS) {
			double inst =
			    (double)(done - (done >= last_rate_done ? last_rate_done : done)) *
			    1000.0 / (double)(now - last_rate_ms);
			r->rate = r->rate > 0 ? 0.6 * r->rate + 0.4 * inst : inst;
			last_rate_done = done;
			last_rate_ms = now;
		}
		if (now - last_rec >= RECORD_MS) {
			bool cancel = false;
			struct sd_err perr = SD_ERR_INIT;

			if (catalog_task_progress(cat, r->id, done, r->total, r->rate, &cancel,
						  &perr) == 0 &&
			    cancel)
				r->cancel = 1;
			last_rec = now;
		}
		report(r, done, false);
	}
	return NULL;
}

static void on_fraction(double fraction, void *opaque)
{
	struct task_run *r = opaque;

	pthread_mutex_lock(&r->mu);
	r->frac = fraction;
	pthread_mutex_unlock(&r->mu);
}

/* ---- data moved by other steps (block jobs): the running task's progress ---- */

void ctl_task_move_begin(const char *what, uint64_t bytes)
{
	if (!current)
		return;
	pthread_mutex_lock(&current->mu);
	snprintf(current->what, sizeof(current->what), "%s", what ? what : "");
	current->cur = bytes;
	current->frac = 0;
	pthread_mutex_unlock(&current->mu);
}

void ctl_task_move_fraction(double fraction)
{
	if (current)
		on_fraction(fraction < 0 ? 0 : fraction > 1 ? 1 : fraction, current);
}

void ctl_task_move_end(void)
{
	if (!current)
		return;
	pthread_mutex_lock(&current->mu);
	current->base += current->cur;
	current->cur = 0;
	current->frac = 0;
	pthread_mutex_unlock(&current->mu);
}

bool ctl_task_cancel_asked(void)
{
	return current && (current->cancel || interrupted);
}

/* ---- the step kinds of model/plan-clone.c ---- */

static int check_cancel(struct sd_err *err)
{
	if (current && (current->cancel || interrupted)) {
		sd_err_set(err, SD_ERR_STATE, _("cancelled"));
		return -1;
	}
	return 0;
}

static void refresh_pool(struct ctl *ctl, const char *pool)
{
	struct sd_err ignored = SD_ERR_INIT;

	if (pool && hv_pool_refresh(ctl->hv, pool, &ignored) < 0)
		sd_debug("pool %s not refreshed: %s", pool, ignored.msg);
}

static int step_remove_copy(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *path = ctl_arg(a, "path");

	if (path && unlink(path) < 0 && errno != ENOENT) {
		sd_err_set(err, SD_ERR_IO, _("cannot delete %s: %s"), path, strerror(errno));
		return -1;
	}
	refresh_pool(ctl, ctl_arg(a, "pool"));
	return 0;
}

static int step_copy_disk(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *path = ctl_arg(a, "path"), *target = ctl_arg(a, "target");
	const char *limit = getenv("SNAPDECK_COPY_RATE_LIMIT");
	uint64_t rate = 0, bytes = (uint64_t)json_integer_value(json_object_get(a, "bytes"));
	static volatile int never;
	int rc;

	if (check_cancel(err) < 0)
		return -1;
	if (limit && *limit && !sd_str_parse_size(limit, &rate)) {
		sd_err_set(err, SD_ERR_INVALID, _("SNAPDECK_COPY_RATE_LIMIT '%s' is not a size"),
			   limit);
		return -1;
	}
	/* a run cut short left a partial file under our own (UUID) name */
	if (unlink(path) < 0 && errno != ENOENT) {
		sd_err_set(err, SD_ERR_IO, _("cannot replace %s: %s"), path, strerror(errno));
		return -1;
	}
	if (current) {
		pthread_mutex_lock(&current->mu);
		snprintf(current->what, sizeof(current->what), "%s", target ? target : "");
		current->cur = bytes;
		current->frac = 0;
		pthread_mutex_unlock(&current->mu);
	}
	rc = img_convert(ctl_arg(a, "src"), ctl_arg(a, "src_format"), path, ctl_arg(a, "format"), rate,
			 current ? on_fraction : NULL, current, current ? &current->cancel : &never,
			 err);
	if (rc < 0) {
		unlink(path);
		refresh_pool(ctl, ctl_arg(a, "pool"));
		return -1;
	}
	refresh_pool(ctl, ctl_arg(a, "pool"));
	if (current) {
		pthread_mutex_lock(&current->mu);
		current->base += bytes;
		current->cur = 0;
		current->frac = 0;
		pthread_mutex_unlock(&current->mu);
	}
	return 0;
}

static int step_define_new_domain(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const char *xml = ctl_arg(a, "xml"), *name = ctl_arg(a, "name"), *uuid = ctl_arg(a, "uuid");
	const json_t *sources = json_object_get(a, "sources"), *only = json_object_get(a, "only");
	const json_t *macs = json_object_get(a, "macs"), *v;
	struct hv_disk_source *src;
	const char **remove, **mac;
	size_t nsrc = 0, nrem = 0, nmac = 0, i;
	const char *k;
	char **targets;
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(hv_domain) *existing = NULL;
	SD_AUTOFREE char *edited = NULL;
	SD_AUTOFREE char *out = NULL;

	if (check_cancel(err) < 0)
		return -1;
	existing = hv_domain_lookup(ctl->hv, name, &lerr);
	if (existing && strcasecmp(existing->uuid, uuid) != 0) {
		sd_err_set(err, SD_ERR_EXISTS, _("a VM named %s exists already"), name);
		return -1;
	}
	targets = hv_domain_xml_disk_targets(xml, err);
	if (!targets)
		return -1;
	src = sd_calloc(json_object_size(sources) + 1, sizeof(*src));
	remove = sd_calloc(sd_strv_len(targets) + 1, sizeof(*remove));
	mac = sd_calloc(json_array_size(macs) + 1, sizeof(*mac));
	json_object_foreach((json_t *)sources, k, v)
	{
		src[nsrc].target = k;
		src[nsrc].path = ctl_arg(v, "path");
		src[nsrc].format = ctl_arg(v, "format");
		nsrc++;
	}
	for (i = 0; targets[i]; i++) {
		bool keep = false;
		size_t j;
		json_array_foreach(only, j, v) keep =
		    keep || sd_str_eq(json_string_value(v), targets[i]);
		if (!keep)
			remove[nrem++] = targets[i];
	}
	json_array_foreach(macs, i, v) mac[nmac++] = json_string_value(v);
	edited = hv_domain_xml_edit(xml, name, uuid, src, nsrc, remove, nrem, NULL, 0, err);
	if (edited)
		out = hv_domain_xml_set_identity(
		    edited, mac, nmac, (unsigned)json_integer_value(json_object_get(a, "vcpus")),
		    (uint64_t)json_integer_value(json_object_get(a, "memory_kib")), err);
	free(src);
	free(remove);
	free(mac);
	sd_strv_free(targets);
	if (out && ctl_arg(a, "network")) {
		char *net = hv_domain_xml_set_network(out, ctl_arg(a, "network"), err);
		free(out);
		out = net;
	}
	if (!out)
		return -1;
	return hv_domain_define(ctl->hv, out, err);
}

static int step_register_vm(struct ctl *ctl, const json_t *a, struct sd_err *err)
{
	const json_t *disks = json_object_get(a, "disks"), *events = json_object_get(a, "events");
	const json_t *d, *e;
	json_t *changes = json_array();
	int64_t vm_id;
	size_t i;

	if (catalog_begin(ctl->cat, err) < 0) {
		json_decref(changes);
		return -1;
	}
	if (catalog_vm_register(ctl->cat, ctl->host_id, ctl_arg(a, "uuid"), ctl_arg(a, "name"), &vm_id,
				err) < 0)
		goto fail;
	json_array_foreach(disks, i, d)
	{
		SD_AUTOFREE char *disk_id = NULL;

		if (catalog_disk_ensure(ctl->cat, vm_id, ctl_arg(d, "target"), &disk_id, err) < 0)
			goto fail;
		json_array_append_new(
		    changes,
		    json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:O}", "op", "image_add", "id",
			      ctl_arg(d, "image_id"), "path", ctl_arg(d, "path"), "format",
			      ctl_arg(d, "format"), "parent_id", ctl_arg(d, "parent_id"), "pool",
			      ctl_arg(d, "pool"), "virtual_size", json_object_get(d, "virtual_size")));
		json_array_append_new(changes,
				      json_pack("{s:s,s:s,s:s}", "op", "disk_set_active", "disk_id",
						disk_id, "image_id", ctl_arg(d, "image_id")));
	}
	json_array_foreach(events, i, e) json_array_append_new(
	    changes, json_pack("{s:s,s:s?,s:s,s:s,s:s}", "op", "event", "vm", ctl_arg(a, "vm"),
			       "event_op", ctl_arg(a, "event_op") ? ctl_arg(a, "event_op") : "clone",
			       "level", ctl_arg(e, "level"), "message", ctl_arg(e, "message")));
	if (catalog_apply(ctl->cat, ctl->host_id, vm_id, changes, err) < 0)
		goto fail;
	json_decref(changes);
	return catalog_commit(ctl->cat, err);
fail:
	json_decref(changes);
	catalog_rollback(ctl->cat);
	return -1;
}

bool ctl_task_step_kind(const char *kind)
{
	static const char *const kinds[] = {"copy_disk",       "remove_copy", "define_new_domain",
					    "undefine_domain", "register_vm", "register_template"};

	for (size_t i = 0; i < SD_N_ELEMENTS(kinds); i++)
		if (sd_str_eq(kind, kinds[i]))
			return true;
	return false;
}

int ctl_task_step(struct ctl *ctl, const char *kind, const json_t *args, struct sd_err *err)
{
	if (strcmp(kind, "copy_disk") == 0)
		return step_copy_disk(ctl, args, err);
	if (strcmp(kind, "remove_copy") == 0)
		return step_remove_copy(ctl, args, err);
	if (strcmp(kind, "define_new_domain") == 0)
		return step_define_new_domain(ctl, args, err);
	if (strcmp(kind, "undefine_domain") == 0)
		return hv_domain_remove(ctl->hv, ctl_arg(args, "uuid"), err);
	if (strcmp(kind, "register_vm") == 0)
		return step_register_vm(ctl, args, err);
	if (strcmp(kind, "register_template") == 0) /* ctl/deploy.c */
		return ctl_deploy_step_register_template(ctl, args, err);
	sd_err_set(err, SD_ERR_INTERNAL, _("unknown step kind '%s'"), kind);
	return -1;
}

/* ---- running a task ---- */

/* Runs the plan with progress; ends the task row. */
/* How many tasks of the host copy at once (SNAPDECK_WORKERS, else workers
 * in snapdeck.conf, default 2). */
static int workers(void)
{
	const char *v = getenv("SNAPDECK_WORKERS");
	int conf = sd_conf_get()->workers;
	long n = v ? strtol(v, NULL, 10) : conf ? conf : 2;

	return n >= 1 && n <= 64 ? (int)n : 2;
}

/* Waits in the queue until a worker slot is free; 1 when cancelled while
 * waiting, 0 when the task may run, -1 on error. */
static int wait_for_slot(struct ctl *ctl, struct task_run *r, struct sd_err *err)
{
	for (;;) {
		struct catalog_task t;
		bool claimed = false;
		int got;

		if (catalog_task_claim(ctl->cat, r->id, workers(), ctl_engine_owner_alive, &claimed,
				       err) < 0)
			return -1;
		if (claimed)
			return 0;
		memset(&t, 0, sizeof(t));
		got = catalog_task_get(ctl->cat, r->id, &t, err);
		if (got < 0)
			return -1;
		if (got > 0 && t.cancel_requested) {
			catalog_task_clear(&t);
			return 1;
		}
		if (got > 0)
			catalog_task_clear(&t);
		if (interrupted)
			return 1;
		usleep(200 * 1000);
	}
}

static int run_plan(struct ctl *ctl, struct task_run *r, int64_t vm_id, const char *vm_name,
		    const json_t *plan, struct sd_err *err)
{
	struct sigaction sa, old_int, old_term;
	struct sd_err ferr = SD_ERR_INIT;
	const char *state;
	int rc, waited;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	waited = wait_for_slot(ctl, r, err);
	if (waited != 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		if (waited > 0) {
			catalog_task_finish(ctl->cat, r->id, "cancelled", NULL, NULL);
			sd_err_set(err, SD_ERR_STATE,
				   _("task %lld was cancelled before it started"), (long long)r->id);
		} else {
			catalog_task_finish(ctl->cat, r->id, "failed", err->msg, NULL);
		}
		return -1;
	}
	current = r;
	r->cat = ctl->cat;
	r->ticker_on = pthread_create(&r->ticker, NULL, ticker_main, r) == 0;
	rc = ctl_engine_run(ctl, vm_id, vm_name, plan, err);
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_mutex_unlock(&r->mu);
	if (r->ticker_on)
		pthread_join(r->ticker, NULL);
	current = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc == 0)
		state = "done";
	else if (r->cancel || interrupted)
		state = "cancelled";
	else
		state = "failed";
	if (catalog_task_finish(ctl->cat, r->id, state, rc == 0 ? NULL : err->msg, &ferr) < 0)
		sd_log(SD_LOG_WARN, "task %lld: %s", (long long)r->id, ferr.msg);
	report(r, rc == 0 ? r->total : run_done(r), true);
	if (rc < 0 && strcmp(state, "cancelled") == 0) {
		sd_err_clear(err);
		sd_err_set(err, SD_ERR_STATE,
			   _("task %lld was cancelled; what it had made was removed"),
			   (long long)r->id);
	}
	return rc;
}

static void run_free(struct task_run *r)
{
	free(r->cat_path);
	pthread_mutex_destroy(&r->mu);
}

/* The child of --detach: its own connections, owner of the task, never
 * returns. ready is the pipe to tell the parent it owns the task. */
static void __attribute__((noreturn))
detached_child(struct ctl *parent, struct task_run *r, int64_t vm_id, const char *vm_name,
	       const json_t *plan, int ready)
{
	struct ctl_options opts = {hv_uri(parent->hv), r->cat_path, false};
	struct sd_err err = SD_ERR_INIT;
	struct ctl *ctl;
	int fd, rc;

	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	ctl = ctl_open(&opts, &err);
	if (!ctl || catalog_task_set_owner(ctl->cat, r->id, ctl_engine_me(), &err) < 0) {
		if (ctl)
			catalog_task_finish(ctl->cat, r->id, "failed", err.msg, NULL);
		(void)!write(ready, "E", 1);
		_exit(1);
	}
	(void)!write(ready, "K", 1);
	close(ready);
	r->progress = NULL;
	rc = run_plan(ctl, r, vm_id, vm_name, plan, &err);
	ctl_close(ctl);
	_exit(rc == 0 ? 0 : 1);
}

int ctl_task_execute(struct ctl *ctl, int64_t vm_id, const char *vm_name, const json_t *plan,
		     const char *label, uint64_t total, char *const *hold_ids, bool unlock,
		     const struct ctl_task_opts *o, int64_t *task_id, struct sd_err *err)
{
	struct task_run r;
	const char *op = json_string_value(json_object_get(plan, "op"));
	int rc;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	r.total = total;
	r.cat_path = sd_strdup(catalog_path(ctl->cat));
	r.progress = o ? o->progress : NULL;
	r.opaque = o ? o->opaque : NULL;
	if (catalog_begin(ctl->cat, err) < 0) {
		if (unlock)
			catalog_lock_release(ctl->cat, vm_id, ctl_engine_me(), NULL);
		run_free(&r);
		return -1;
	}
	if (catalog_task_insert(ctl->cat, op ? op : "task", vm_name, label, total, ctl_engine_me(),
				&r.id, err) < 0)
		goto fail_tx;
	for (size_t i = 0; hold_ids && hold_ids[i]; i++)
		if (catalog_hold_add(ctl->cat, r.id, hold_ids[i], err) < 0)
			goto fail_tx;
	if (unlock && catalog_lock_release(ctl->cat, vm_id, ctl_engine_me(), err) < 0)
		goto fail_tx;
	unlock = false;
	if (catalog_commit(ctl->cat, err) < 0) {
		run_free(&r);
		return -1;
	}
	*task_id = r.id;
	/* the journal names the task, so that a sync finishing or undoing the
	 * operation after a crash ends the task truthfully too */
	json_t *tplan = json_deep_copy(plan);
	json_object_set_new(tplan, "task", json_integer((json_int_t)r.id));
	plan = tplan;
	if (o && o->detach) {
		int p[2];
		char c = 0;
		pid_t pid;

		if (pipe2(p, O_CLOEXEC) < 0) {
			sd_err_set(err, SD_ERR_IO, _("cannot make a pipe: %s"), strerror(errno));
			catalog_task_finish(ctl->cat, r.id, "failed", err->msg, NULL);
			run_free(&r);
			json_decref(tplan);
			return -1;
		}
		pid = ctl_fork(ctl, err);
		if (pid == 0) {
			close(p[0]);
			detached_child(ctl, &r, vm_id, vm_name, plan, p[1]);
		}
		close(p[1]);
		if (!ctl->cat || pid < 0 || read(p[0], &c, 1) != 1 || c != 'K') {
			sd_err_set(err, SD_ERR_INTERNAL, _("the task's process did not start"));
			if (pid < 0 && ctl->cat)
				catalog_task_finish(ctl->cat, r.id, "failed", err->msg, NULL);
			close(p[0]);
			run_free(&r);
			json_decref(tplan);
			return -1;
		}
		close(p[0]);
		run_free(&r);
		json_decref(tplan);
		return 0;
	}
	rc = run_plan(ctl, &r, vm_id, vm_name, plan, err);
	run_free(&r);
	json_decref(tplan);
	return rc;
fail_tx:
	catalog_rollback(ctl->cat);
	if (unlock)
		catalog_lock_release(ctl->cat, vm_id, ctl_engine_me(), NULL);
	run_free(&r);
	return -1;
}

/* ---- listing, cancelling, holds ---- */

static bool unfinished(const struct catalog_task *t)
{
	return sd_str_eq(t->state, "running") || sd_str_eq(t->state, "queued");
}

int ctl_task_list(struct ctl *ctl, struct catalog_task **out, size_t *n, struct sd_err *err)
{
	*out = NULL;
	*n = 0;
	if (!ctl->cat)
		return 0;
	if (catalog_task_list(ctl->cat, 0, out, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		struct catalog_task *t = &(*out)[i];

		if (!unfinished(t) || ctl_engine_owner_alive(&t->owner))
			continue;
		free(t->state);
		t->state = sd_strdup("failed");
		free(t->error);
		t->error = sd_strdup(_("owner gone"));
		if (!ctl->readonly)
			catalog_task_finish(ctl->cat, t->id, "failed", t->error, NULL);
	}
	return 0;
}

int ctl_task_cancel(struct ctl *ctl, int64_t id, int wait_ms, struct catalog_task *out,
		    struct sd_err *err)
{
	struct catalog_task t;
	int64_t until = sd_mono_ms() + wait_ms;
	int rc;

	memset(&t, 0, sizeof(t));
	if (ctl->readonly || !ctl->cat) {
		sd_err_set(err, SD_ERR_STATE,
			   _("this needs a writable connection (not --read-only)"));
		return -1;
	}
	rc = catalog_task_get(ctl->cat, id, &t, err);
	if (rc <= 0) {
		if (rc == 0)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("no task %lld"), (long long)id);
		return -1;
	}
	if (unfinished(&t) && !ctl_engine_owner_alive(&t.owner)) {
		catalog_task_finish(ctl->cat, id, "failed", _("owner gone"), NULL);
		catalog_task_clear(&t);
		catalog_task_get(ctl->cat, id, &t, NULL);
	}
	if (!unfinished(&t)) {
		sd_err_set(err, SD_ERR_STATE, _("task %lld has ended already (%s)"), (long long)id,
			   t.state);
		catalog_task_clear(&t);
		return -1;
	}
	catalog_task_clear(&t);
	if (catalog_task_cancel(ctl->cat, id, err) < 0)
		return -1;
	for (;;) {
		struct timespec ts = {0, 100 * 1000000L};

		if (catalog_task_get(ctl->cat, id, &t, err) <= 0)
			return -1;
		if (!unfinished(&t) || sd_mono_ms() >= until || !ctl_engine_owner_alive(&t.owner))
			break;
		catalog_task_clear(&t);
		nanosleep(&ts, NULL);
	}
	if (out)
		*out = t;
	else
		catalog_task_clear(&t);
	return 0;
}

/* Is the image held by a task whose owner lives? */
static int held(struct ctl *ctl, const char *image_id, int64_t *task, struct sd_err *err)
{
	struct catalog_task *v = NULL;
	size_t n = 0;
	int found = 0;

	if (!image_id)
		return 0;
	if (catalog_hold_list(ctl->cat, image_id, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		if (ctl_engine_owner_alive(&v[i].owner)) {
			*task = v[i].id;
			found = 1;
		}
	catalog_tasks_free(v, n);
	return found;
}

int ctl_task_check_plan(struct ctl *ctl, const struct model_vm *vm, const json_t *plan,
			struct sd_err *err)
{
	const json_t *st;
	size_t i;

	if (!ctl->cat || !vm)
		return 0;
	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		const char *kind = ctl_arg(st, "kind");
		const json_t *args = json_object_get(st, "args");
		const struct model_image *img = NULL;
		const json_t *c;
		size_t k;
		int64_t task = 0;
		int h;

		if (sd_str_eq(kind, "delete_volume"))
			img = model_vm_image_by_path(vm, ctl_arg(args, "path"));
		else if (sd_str_eq(kind, "qemu_rebase"))
			img = model_vm_image_by_path(vm, ctl_arg(args, "top"));
		else if (sd_str_eq(kind, "qemu_commit")) {
			img = model_vm_image_by_path(vm, ctl_arg(args, "top"));
			img = img ? model_vm_image(vm, img->parent_id) : NULL;
		}
		if (img) {
			h = held(ctl, img->id, &task, err);
			if (h < 0)
				return -1;
			if (h > 0) {
				sd_err_set(
				    err, SD_ERR_BUSY,
				    _("layer %s is being read by task %lld: try again when it "
				      "has ended"),
				    img->path, (long long)task);
				return -1;
			}
		}
		json_array_foreach(json_object_get(args, "changes"), k, c)
		{
			if (!sd_str_eq(ctl_arg(c, "op"), "image_remove"))
				continue;
			h = held(ctl, ctl_arg(c, "id"), &task, err);
			if (h < 0)
				return -1;
			if (h > 0) {
				sd_err_set(
				    err, SD_ERR_BUSY,
				    _("a layer of VM %s is being read by task %lld: try again "
				      "when it has ended"),
				    vm->name, (long long)task);
				return -1;
			}
		}
	}
	return 0;
}
