/* clone, volume from-snapshot, tasks, tasks cancel */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/task.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

/* ---- progress display (stderr) ---- */

struct bar {
	bool tty;
	bool json;
	int last_pct;
	int64_t last_ms;
	bool drawn;
};

static void fmt_eta(int64_t s, char *out, size_t len)
{
	if (s < 0)
		snprintf(out, len, "-:--");
	else if (s >= 3600)
		snprintf(out, len, "%" PRId64 ":%02d:%02d", s / 3600, (int)(s / 60 % 60),
			 (int)(s % 60));
	else
		snprintf(out, len, "%d:%02d", (int)(s / 60), (int)(s % 60));
}

static void on_progress(const struct ctl_task_progress *p, void *opaque)
{
	struct bar *b = opaque;
	double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
	int pct = (int)(frac * 100.0 + 0.0001);
	char rate[32], eta[32];
	int64_t now = sd_mono_ms();

	if (b->json)
		return;
	if (frac > 1)
		frac = 1, pct = 100;
	sd_str_bytes((uint64_t)p->rate, rate, sizeof(rate));
	fmt_eta(p->final ? 0 : p->eta_s, eta, sizeof(eta));
	if (b->tty) {
		enum { W = 20 };
		int full = (int)(frac * W);
		fputs("\r\033[K", stderr);
		cli_print_safe(stderr, p->what ? p->what : "");
		fputc(' ', stderr);
		for (int i = 0; i < W; i++)
			fputs(i < full ? "█" : "░", stderr);
		fprintf(stderr, " %3d%%  %s/s  %s", pct, rate, eta);
		if (p->final)
			fputc('\n', stderr);
		fflush(stderr);
		b->drawn = !p->final;
		return;
	}
	/* plain lines: on each new percent, at most one a second, and the last */
	if (!p->final && (pct == b->last_pct || now - b->last_ms < 1000))
		return;
	b->last_pct = pct;
	b->last_ms = now;
	fprintf(stderr, _("task %lld: %s %d%% %s/s %s left\n"), (long long)p->id,
		p->what ? p->what : "-", pct, rate, eta);
	fflush(stderr);
}

static void bar_init(struct bar *b, struct cli_ctx *ctx)
{
	memset(b, 0, sizeof(*b));
	b->tty = isatty(2);
	b->json = cli_json(ctx);
	b->last_pct = -1;
}

/* ---- clone ---- */

/* "vda:pool=P,format=raw" */
static int parse_disk(const char *spec, struct ctl_clone_disk *d, char **owned, struct sd_err *err)
{
	char *s = sd_strdup(spec), *colon = strchr(s, ':'), *tok, *save = NULL;

	*owned = s;
	memset(d, 0, sizeof(*d));
	d->target = s;
	if (!colon)
		goto bad;
	*colon = '\0';
	if (!*s)
		goto bad;
	for (tok = strtok_r(colon + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "pool=", 5) == 0 && tok[5])
			d->pool = tok + 5;
		else if (strncmp(tok, "format=", 7) == 0 && tok[7])
			d->format = tok + 7;
		else
			goto bad;
	}
	return 0;
bad:
	sd_err_set(err, SD_ERR_USAGE,
		   _("--disk '%s': expected TARGET:pool=POOL,format=raw|qcow2 (either part may "
		     "be left out)"),
		   spec);
	return -1;
}

static int parse_uint(const char *s, const char *opt, uint64_t max, uint64_t *out,
		      struct sd_err *err)
{
	char *end;
	unsigned long long v;

	*out = 0;
	if (!s)
		return 0;
	v = strtoull(s, &end, 10);
	if (!*s || *end || s[0] == '-' || v == 0 || v > max) {
		sd_err_set(err, SD_ERR_USAGE, _("--%s wants a whole number from 1 to %llu"), opt,
			   (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int clone_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		     struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct ctl_clone_disk disks[64];
	char *owned[64];
	size_t nd = 0;
	struct ctl_clone_req req = {0};
	struct bar b;
	struct ctl_task_opts o = {cli_flag(a, "dry-run"), cli_flag(a, "detach"), on_progress, &b};
	uint64_t vcpus, mem;
	json_t *plan = NULL;
	int64_t task = 0;
	int rc = -1;

	if (!ctl)
		return -1;
	bar_init(&b, ctx);
	if (parse_uint(cli_arg(a, "vcpus"), "vcpus", 4096, &vcpus, err) < 0 ||
	    parse_uint(cli_arg(a, "memory"), "memory", 16ULL * 1024 * 1024, &mem, err) < 0)
		return -1;
	for (size_t i = 0; i < a->nopt; i++) {
		if (strcmp(a->opt_names[i], "disk") != 0)
			continue;
		if (nd >= SD_N_ELEMENTS(disks)) {
			sd_err_set(err, SD_ERR_USAGE, _("too many --disk options"));
			goto out;
		}
		if (parse_disk(a->opt_values[i], &disks[nd], &owned[nd], err) < 0) {
			nd++;
			goto out;
		}
		nd++;
	}
	req.vm = a->pos[0];
	req.snapshot = a->pos[1];
	req.name = cli_arg(a, "name");
	req.disks = disks;
	req.ndisks = nd;
	req.vcpus = (unsigned)vcpus;
	req.memory_mib = mem;
	rc = ctl_clone(ctl, &req, &o, &plan, &task, err);
	if (rc == 0)
		*out = cli_task_result(plan, o.dry_run, task, o.detach);
	else
		json_decref(plan);
out:
	for (size_t i = 0; i < nd; i++)
		free(owned[i]);
	return rc;
}

static void task_op_print(const json_t *out, FILE *fp)
{
	const json_t *sum = json_object_get(out, "summary");
	const json_t *clone = json_object_get(sum, "clone"), *vol = json_object_get(sum, "volume");

	if (cli_task_print_pending(out, fp))
		return;
	if (clone) {
		fputs(_("Clone "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(clone, "name")));
		fprintf(fp, _(" made (%zu disks copied"),
			json_array_size(json_object_get(clone, "disks")));
		if (json_array_size(json_object_get(clone, "skipped")) > 0)
			fprintf(fp, _(", %zu skipped: see 'snapdeck events'"),
				json_array_size(json_object_get(clone, "skipped")));
		fputs(").\n", fp);
	} else if (vol) {
		fputs(_("Volume "), fp);
		cli_print_safe(fp, json_string_value(json_object_get(vol, "path")));
		fputs(_(" made.\n"), fp);
	}
}

/* ---- volume from-snapshot ---- */

static int volume_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct bar b;
	struct ctl_task_opts o = {cli_flag(a, "dry-run"), cli_flag(a, "detach"), on_progress, &b};
	struct ctl_volume_req req = {a->pos[0],		 a->pos[1],	     cli_arg(a, "disk"),
				     cli_arg(a, "name"), cli_arg(a, "pool"), cli_arg(a, "format")};
	json_t *plan = NULL;
	int64_t task = 0;

	if (!ctl)
		return -1;
	if (!req.disk || !req.name) {
		sd_err_set(err, SD_ERR_USAGE, _("volume from-snapshot needs --disk and --name"));
		return -1;
	}
	bar_init(&b, ctx);
	if (ctl_volume_from_snapshot(ctl, &req, &o, &plan, &task, err) < 0) {
		json_decref(plan);
		return -1;
	}
	*out = cli_task_result(plan, o.dry_run, task, o.detach);
	return 0;
}

/* ---- tasks ---- */

static json_t *task_json(const struct catalog_task *t)
{
	double progress = t->bytes_total > 0 ? (double)t->bytes_done / (double)t->bytes_total : 0;

	if (sd_str_eq(t->state, "done"))
		progress = 1;
	if (progress > 1)
		progress = 1;
	return json_pack("{s:I,s:o,s:o,s:s,s:f,s:I,s:I,s:o,s:o,s:o,s:o,s:f,s:b,s:I}", "id",
			 (json_int_t)t->id, "op", cli_json_str(t->op), "vm",
			 cli_json_str(t->vm_name), "state", t->state, "progress", progress,
			 "bytes_done", (json_int_t)t->bytes_done, "bytes_total",
			 (json_int_t)t->bytes_total, "started", cli_json_str(t->started), "ended",
			 cli_json_str(t->ended), "error", cli_json_str(t->error), "label",
			 cli_json_str(t->label), "rate", t->rate, "cancel_requested",
			 t->cancel_requested, "pid", (json_int_t)t->owner.pid);
}

static bool any_running(const struct catalog_task *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sd_str_eq(v[i].state, "running") || sd_str_eq(v[i].state, "queued"))
			return true;
	return false;
}

static void follow_line(const struct catalog_task *t, bool tty)
{
	char done[32], total[32], rate[32];
	double frac = t->bytes_total ? (double)t->bytes_done / (double)t->bytes_total : 0;

	sd_str_bytes(t->bytes_done, done, sizeof(done));
	sd_str_bytes(t->bytes_total, total, sizeof(total));
	sd_str_bytes((uint64_t)t->rate, rate, sizeof(rate));
	fprintf(stderr, "%s%lld ", tty ? "\r\033[K" : "", (long long)t->id);
	cli_print_safe(stderr, t->label ? t->label : t->op);
	fprintf(stderr, "  %d%%  %s/%s  %s/s%s", (int)(frac * 100), done, total, rate,
		tty ? "" : "\n");
}

static int tasks_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		     struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct catalog_task *v = NULL;
	size_t n = 0;
	bool follow = cli_flag(a, "follow"), tty = isatty(2);
	json_t *arr;

	if (!ctl)
		return -1;
	for (;;) {
		struct timespec ts = {0, 500 * 1000000L};

		if (ctl_task_list(ctl, &v, &n, err) < 0)
			return -1;
		if (!follow || !any_running(v, n))
			break;
		if (!cli_json(ctx))
			for (size_t i = 0; i < n; i++)
				if (sd_str_eq(v[i].state, "running"))
					follow_line(&v[i], tty);
		catalog_tasks_free(v, n);
		v = NULL;
		nanosleep(&ts, NULL);
	}
	if (follow && tty && !cli_json(ctx))
		fputs("\r\033[K", stderr);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, task_json(&v[i]));
	catalog_tasks_free(v, n);
	*out = arr;
	return 0;
}

static void tasks_print(const json_t *out, FILE *fp)
{
	const char *headers[] = {_("ID"),   _("STATE"),	  _("PROGRESS"),
				 _("SIZE"), _("STARTED"), _("TASK")};
	struct cli_table *t;
	const json_t *x;
	size_t i;

	if (json_array_size(out) == 0) {
		fprintf(fp, "%s\n", _("No tasks."));
		return;
	}
	t = cli_table_new(6, headers);
	json_array_foreach(out, i, x)
	{
		char id[32], pct[16], size[32];
		const char *label = json_string_value(json_object_get(x, "label"));
		const char *error = json_string_value(json_object_get(x, "error"));
		SD_AUTOFREE char *what = NULL;

		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(x, "id")));
		snprintf(pct, sizeof(pct), "%d%%",
			 (int)(json_real_value(json_object_get(x, "progress")) * 100));
		sd_str_bytes((uint64_t)json_integer_value(json_object_get(x, "bytes_total")), size,
			     sizeof(size));
		what = error
			   ? sd_asprintf("%s: %s", label ? label : "", error)
			   : sd_strdup(label ? label : json_string_value(json_object_get(x, "op")));
		const char *cells[] = {
		    id,	  json_string_value(json_object_get(x, "state")),   pct,
		    size, json_string_value(json_object_get(x, "started")), what};
		cli_table_add(t, cells);
	}
	cli_table_print(t, fp);
	cli_table_free(t);
}

static int cancel_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct catalog_task t;
	char *end;
	long long id = strtoll(a->pos[0], &end, 10);

	if (!ctl)
		return -1;
	if (!*a->pos[0] || *end || id <= 0) {
		sd_err_set(err, SD_ERR_USAGE, _("'%s' is not a task id"), a->pos[0]);
		return -1;
	}
	if (ctl_task_cancel(ctl, id, 60000, &t, err) < 0)
		return -1;
	*out = task_json(&t);
	catalog_task_clear(&t);
	return 0;
}

static void cancel_print(const json_t *out, FILE *fp)
{
	fprintf(fp, _("Task %lld: %s\n"), (long long)json_integer_value(json_object_get(out, "id")),
		json_string_value(json_object_get(out, "state")));
}

static const struct cli_opt clone_opts[] = {
    {"name", CLI_VALUE, "NEW", N_("the new VM's name (default: copy_of_VM)")},
    {"disk", CLI_REPEAT, "vda:pool=P,format=raw",
     N_("where a disk goes and in which format (default: its pool, qcow2)")},
    {"vcpus", CLI_VALUE, "N", N_("vCPUs (default: the snapshot's)")},
    {"memory", CLI_VALUE, "MiB", N_("memory in MiB (default: the snapshot's)")},
    {"detach", CLI_FLAG, NULL, N_("start the copy and return ('snapdeck tasks' follows it)")},
    {"dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing")},
    {NULL, CLI_FLAG, NULL, NULL},
};

static const struct cli_opt volume_opts[] = {
    {"disk", CLI_VALUE, "vda", N_("the snapshot's disk to copy")},
    {"name", CLI_VALUE, "VOL", N_("the new volume's name")},
    {"pool", CLI_VALUE, "P", N_("the target pool (default: the disk's)")},
    {"format", CLI_VALUE, "qcow2|raw", N_("the new volume's format (default: qcow2)")},
    {"detach", CLI_FLAG, NULL, N_("start the copy and return ('snapdeck tasks' follows it)")},
    {"dry-run", CLI_FLAG, NULL, N_("print the plan, change nothing")},
    {NULL, CLI_FLAG, NULL, NULL},
};

static const struct cli_opt tasks_opts[] = {
    {"follow", CLI_FLAG, NULL, N_("wait, showing progress, until no task runs")},
    {NULL, CLI_FLAG, NULL, NULL},
};

const struct cli_cmd cli_cmds_clone[] = {
    {"clone",
     "VM SNAP [--name NEW] [--disk vda:pool=P,format=raw]... [--vcpus N] [--memory MiB] "
     "[--detach] [--dry-run]",
     N_("a new VM whose disks are flattened copies of a snapshot's"), 2, 2, clone_opts, false,
     clone_run, task_op_print, NULL},
    {"volume from-snapshot",
     "VM SNAP --disk vda --name VOL [--pool P] [--format F] [--detach] [--dry-run]",
     N_("one disk of a snapshot, flattened, as a new volume"), 2, 2, volume_opts, false, volume_run,
     task_op_print, NULL},
    {"tasks", "[--follow]", N_("long copies: running and ended, from every process"), 0, 0,
     tasks_opts, false, tasks_run, tasks_print, NULL},
    {"tasks cancel", "ID", N_("stop a task; what it made so far is removed"), 1, 1, NULL, false,
     cancel_run, cancel_print, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL},
};
