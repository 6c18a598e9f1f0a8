/* policy set, policy list, policy delete, policy limit, policy run */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "ctl/policy.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

static json_t *policy_json(const struct ctl_policy *cp)
{
	const struct catalog_policy *p = &cp->p;
	json_t *disks = json_null();

	if (p->disks) {
		char **v = sd_strv_split(p->disks, ',');
		disks = json_array();
		for (size_t i = 0; v && v[i]; i++)
			json_array_append_new(disks, cli_json_str(v[i]));
		sd_strv_free(v);
	}
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:b,s:o,s:o,s:I}", "vm",
			 cli_json_str(p->vm_name), "uuid", cli_json_str(p->vm_uuid), "name",
			 cli_json_str(p->name), "every", cli_json_str(p->every), "at",
			 cli_json_str(p->at), "keep", (json_int_t)p->keep, "disks", disks, "memory",
			 p->memory, "last_run", cli_json_str(p->last_run), "next_run",
			 cli_json_str(cp->next_run[0] ? cp->next_run : NULL), "snapshots",
			 (json_int_t)p->snapshots);
}

/* A whole number in lo..hi, or -1 with a usage error. */
static long long parse_count(const char *opt, const char *s, long long lo, long long hi,
			     struct sd_err *err)
{
	char *end;
	long long v;

	errno = 0;
	v = s && *s ? strtoll(s, &end, 10) : 0;
	if (!s || !*s || errno || *end || v < lo || v > hi) {
		sd_err_set(err, SD_ERR_USAGE, _("%s must be a whole number from %lld to %lld"), opt,
			   lo, hi);
		return -1;
	}
	return v;
}

/* ---- policy list ---- */

static int list_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out, struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	struct ctl_policy *v = NULL;
	size_t n = 0;
	json_t *arr;

	if (!ctl)
		return -1;
	if (ctl_policy_list(ctl, a->npos ? a->pos[0] : NULL, &v, &n, err) < 0)
		return -1;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, policy_json(&v[i]));
	ctl_policies_free(v, n);
	*out = arr;
	return 0;
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* "hourly at :05", "daily at 02:30", ... (UTC) */
static char *schedule_text(const json_t *p)
{
	const char *every = str_or(p, "every", "");
	const char *at = str_or(p, "at", "");

	if (strcmp(every, "hourly") == 0)
		return sd_asprintf(_("%s at :%s"), every, at);
	return sd_asprintf(_("%s at %s"), every, at);
}

static void list_print(const json_t *out, FILE *fp)
{
	const char *headers[] = {_("VM"),    _("POLICY"),    _("SCHEDULE (UTC)"), _("KEEP"),
				 _("DISKS"), _("SNAPSHOTS"), _("NEXT RUN")};
	struct cli_table *t;
	const json_t *p, *d;
	size_t i, k;

	if (json_array_size(out) == 0) {
		fprintf(fp, "%s\n", _("No policies."));
		return;
	}
	t = cli_table_new(7, headers);
	json_array_foreach(out, i, p)
	{
		struct sd_buf disks = SD_BUF_INIT;
		SD_AUTOFREE char *sched = schedule_text(p);
		char keep[24], snaps[24];

		json_array_foreach(json_object_get(p, "disks"), k, d)
		    sd_buf_addf(&disks, "%s%s", k ? "," : "", json_string_value(d));
		if (json_is_true(json_object_get(p, "memory")))
			sd_buf_addf(&disks, "%s%s", disks.data ? " " : "", _("+memory"));
		snprintf(keep, sizeof(keep), "%lld",
			 (long long)json_integer_value(json_object_get(p, "keep")));
		snprintf(snaps, sizeof(snaps), "%lld",
			 (long long)json_integer_value(json_object_get(p, "snapshots")));
		const char *cells[] = {str_or(p, "vm", ""),
				       str_or(p, "name", ""),
				       sched,
				       keep,
				       disks.data ? disks.data : _("all"),
				       snaps,
				       str_or(p, "next_run", "-")};
		cli_table_add(t, cells);
		sd_buf_free(&disks);
	}
	cli_table_print(t, fp);
	cli_table_free(t);
}

/* ---- policy set ---- */

static int set_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out, struct sd_err *err)
{
	struct ctl_policy_req req = {.name = cli_arg(a, "name"),
				     .every = cli_arg(a, "every"),
				     .at = cli_arg(a, "at"),
				     .disks = cli_arg(a, "disks"),
				     .memory = cli_flag(a, "memory")};
	struct ctl_policy *p = NULL;
	struct ctl *ctl;
	long long keep;
	bool created = false;

	if (!req.every) {
		sd_err_set(err, SD_ERR_USAGE,
			   _("policy set needs --every hourly|daily|weekly|monthly"));
		return -1;
	}
	if (!cli_arg(a, "keep")) {
		sd_err_set(err, SD_ERR_USAGE, _("policy set needs --keep N"));
		return -1;
	}
	keep = parse_count("--keep", cli_arg(a, "keep"), 1, 10000, err);
	if (keep < 0)
		return -1;
	req.keep = keep;
	ctl = cli_ctl(ctx, err);
	if (!ctl)
		return -1;
	if (ctl_policy_set(ctl, a->pos[0], &req, &p, &created, err) < 0)
		return -1;
	*out =
	    json_pack("{s:b,s:o}", "created", created, "policy", p ? policy_json(p) : json_null());
	ctl_policies_free(p, p ? 1 : 0);
	return 0;
}

static void set_print(const json_t *out, FILE *fp)
{
	const json_t *p = json_object_get(out, "policy");
	SD_AUTOFREE char *sched = schedule_text(p);

	fprintf(fp,
		json_is_true(json_object_get(out, "created"))
		    ? _("Policy %s of %s added: %s (UTC), keeps %lld; first snapshot at %s.\n")
		    : _("Policy %s of %s changed: %s (UTC), keeps %lld; next snapshot at %s.\n"),
		str_or(p, "name", ""), str_or(p, "vm", ""), sched,
		(long long)json_integer_value(json_object_get(p, "keep")),
		str_or(p, "next_run", "-"));
}

/* ---- policy delete ---- */

static int delete_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		      struct sd_err *err)
{
	struct ctl *ctl = cli_ctl(ctx, err);
	const char *name = a->npos > 1 ? a->pos[1] : NULL;
	size_t n = 0;

	if (!ctl)
		return -1;
	if (ctl_policy_delete(ctl, a->pos[0], name, &n, err) < 0)
		return -1;
	*out = json_pack("{s:o,s:o,s:I}", "vm", cli_json_str(a->pos[0]), "policy",
			 cli_json_str(name), "deleted", (json_int_t)n);
	return 0;
}

static void delete_print(const json_t *out, FILE *fp)
{
	long long n = (long long)json_integer_value(json_object_get(out, "deleted"));

	if (json_is_string(json_object_get(out, "policy")))
		fprintf(fp, _("Policy %s of %s deleted; its snapshots stay.\n"),
			str_or(out, "policy", ""), str_or(out, "vm", ""));
	else
		fprintf(fp,
			P_("%lld policy of %s deleted; its snapshots stay.\n",
			   "%lld policies of %s deleted; their snapshots stay.\n",
			   (unsigned long)n),
			n, str_or(out, "vm", ""));
}

/* ---- policy limit ---- */

static int limit_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		     struct sd_err *err)
{
	struct ctl *ctl;
	struct ctl_limit l;
	const char *v = a->npos > 1 ? a->pos[1] : NULL;
	long long limit = 0;

	if (v && strcmp(v, "default") == 0)
		limit = 0;
	else if (v && strcmp(v, "none") == 0)
		limit = -1;
	else if (v && (limit = parse_count("the limit", v, 1, 1000000, err)) < 0)
		return -1;
	ctl = cli_ctl(ctx, err);
	if (!ctl)
		return -1;
	if (ctl_policy_limit(ctl, a->pos[0], v != NULL, limit, &l, err) < 0)
		return -1;
	*out =
	    json_pack("{s:o,s:s,s:o,s:s,s:o,s:I}", "vm", cli_json_str(l.vm), "uuid", l.uuid,
		      "limit", l.effective > 0 ? json_integer(l.effective) : json_null(), "source",
		      l.own > 0	       ? "vm"
		      : l.own < 0      ? "none"
		      : l.fallback > 0 ? "default"
				       : "none",
		      "default", l.fallback > 0 ? json_integer(l.fallback) : json_null(),
		      "snapshots", (json_int_t)l.snapshots);
	ctl_limit_clear(&l);
	return 0;
}

static void limit_print(const json_t *out, FILE *fp)
{
	const char *vm = str_or(out, "vm", "");
	const char *source = str_or(out, "source", "");
	long long limit = (long long)json_integer_value(json_object_get(out, "limit"));
	long long n = (long long)json_integer_value(json_object_get(out, "snapshots"));

	if (!json_is_integer(json_object_get(out, "limit")))
		fprintf(fp, _("%s: no snapshot limit; %lld snapshots.\n"), vm, n);
	else if (strcmp(source, "vm") == 0)
		fprintf(fp, _("%s: at most %lld snapshots (its own limit); %lld now.\n"), vm, limit,
			n);
	else
		fprintf(fp, _("%s: at most %lld snapshots (the default limit); %lld now.\n"), vm,
			limit, n);
}

/* ---- policy run ---- */

static void run_print(const json_t *out, FILE *fp)
{
	const json_t *p, *s;
	bool dry = json_is_true(json_object_get(out, "dry_run"));
	size_t i, k, due = 0;

	json_array_foreach(json_object_get(out, "policies"), i, p)
	{
		const char *result = str_or(p, "result", "");
		struct sd_buf line = SD_BUF_INIT;

		if (strcmp(result, "not_due") == 0)
			continue;
		due++;
		sd_buf_addf(&line, "%s %s: ", str_or(p, "vm", ""), str_or(p, "policy", ""));
		if (strcmp(result, "taken") == 0) {
			sd_buf_addf(&line, dry ? _("would take %s") : _("took %s"),
				    str_or(p, "snapshot", ""));
			if (json_array_size(json_object_get(p, "pruned")) > 0) {
				sd_buf_add(&line, dry ? _("; would delete ") : _("; deleted "));
				json_array_foreach(json_object_get(p, "pruned"), k, s)
				    sd_buf_addf(&line, "%s%s", k ? ", " : "", json_string_value(s));
			}
			if (json_is_string(json_object_get(p, "reason")))
				sd_buf_addf(&line, _("; but: %s"), str_or(p, "reason", ""));
		} else if (strcmp(result, "skipped") == 0) {
			sd_buf_addf(&line, dry ? _("would skip: %s") : _("skipped: %s"),
				    str_or(p, "reason", ""));
		} else {
			sd_buf_addf(&line, _("failed: %s"), str_or(p, "reason", ""));
		}
		cli_print_safe(fp, line.data);
		fputc('\n', fp);
		sd_buf_free(&line);
	}
	if (due == 0)
		fprintf(fp, _("No policy is due (%s).\n"), str_or(out, "now", ""));
	if (dry)
		fprintf(fp, "%s\n", _("(dry run: nothing was changed)"));
}

static int run_run(struct cli_ctx *ctx, const struct cli_args *a, json_t **out, struct sd_err *err)
{
	struct ctl_policy_run_opts o = {.vm = a->npos ? a->pos[0] : NULL,
					.dry_run = cli_flag(a, "dry-run")};
	const char *now = cli_arg(a, "now");
	struct ctl *ctl;
	json_t *report = NULL;
	time_t t;

	if (now) {
		if (!sd_time_parse_iso(now, &t)) {
			sd_err_set(err, SD_ERR_USAGE,
				   _("--now takes a UTC time such as 2026-11-22T10:00:00Z"));
			return -1;
		}
		/* the one clock every part of snapdeck reads (sd_now) */
		setenv("SNAPDECK_NOW", now, 1);
	}
	ctl = cli_ctl(ctx, err);
	if (!ctl)
		return -1;
	if (ctl_policy_run(ctl, &o, &report, err) < 0) {
		/* what did run is worth seeing; --json shows only the error */
		if (report && !cli_json(ctx))
			run_print(report, stdout);
		json_decref(report);
		return -1;
	}
	*out = report;
	return 0;
}

static const struct cli_opt set_opts[] = {
    {"every", CLI_VALUE, "PERIOD", N_("hourly, daily, weekly or monthly (required)")},
    {"at", CLI_VALUE, "WHEN",
     N_("in UTC: hourly MM, daily HH:MM, weekly DOW HH:MM, monthly DOM HH:MM "
	"(default: the period's start)")},
    {"keep", CLI_VALUE, "N", N_("how many of its snapshots to keep (required)")},
    {"name", CLI_VALUE, "NAME", N_("the policy's name (default: the --every word)")},
    {"disks", CLI_VALUE, "vda,vdb", N_("only these disks (default: every disk)")},
    {"memory", CLI_FLAG, NULL, N_("with the memory state when the VM runs")},
    {NULL, CLI_FLAG, NULL, NULL},
};

static const struct cli_opt run_opts[] = {
    {"dry-run", CLI_FLAG, NULL, N_("say what is due and what would be deleted, change nothing")},
    {"now", CLI_VALUE, "TIME", N_("run as if it were TIME (UTC, 2026-11-22T10:00:00Z)")},
    {NULL, CLI_FLAG, NULL, NULL},
};

const struct cli_cmd cli_cmds_policy[] = {
    {"policy set",
     "VM --every PERIOD [--at WHEN] --keep N [--name NAME] [--disks vda,vdb] [--memory]",
     N_("add or change a recurring snapshot policy"), 1, 1, set_opts, false, set_run, set_print,
     NULL},
    {"policy list", "[VM]", N_("the policies, with their next run"), 0, 1, NULL, false, list_run,
     list_print, NULL},
    {"policy delete", "VM [NAME]", N_("remove a VM's policy, or all of them; their snapshots stay"),
     1, 2, NULL, false, delete_run, delete_print, NULL},
    {"policy limit", "VM [N|default|none]", N_("show or set a VM's snapshot limit"), 1, 2, NULL,
     false, limit_run, limit_print, NULL},
    {"policy run", "[VM] [--dry-run] [--now TIME]",
     N_("take the snapshots that are due and delete the oldest beyond each keep"), 0, 1, run_opts,
     false, run_run, run_print, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, false, NULL, NULL, NULL},
};
