/* Recurring snapshot policies: the run a timer starts, and their set-up. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ctl/engine.h"
#include "ctl/policy.h"
#include "ctl/snap.h"
#include "model/policy.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/uuid.h"

#define KEEP_MAX 10000
#define PRUNE_MAX 1024

SD_DEFINE_AUTO(policy_json, json_t, json_decref)

void ctl_policies_free(struct ctl_policy *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		catalog_policy_clear(&v[i].p);
	free(v);
}

void ctl_limit_clear(struct ctl_limit *l)
{
	if (!l)
		return;
	free(l->vm);
	memset(l, 0, sizeof(*l));
}

static time_t iso_or(const char *s, time_t fallback)
{
	time_t t;

	return s && sd_time_parse_iso(s, &t) ? t : fallback;
}

/* The policy's schedule as stored; false when the row makes no sense. */
static bool row_sched(const struct catalog_policy *p, struct policy_sched *s)
{
	enum policy_every every;

	return policy_every_parse(p->every, &every) &&
	       policy_at_parse(every, p->at, s, NULL, NULL) == 0;
}

/* When the policy runs next: the first scheduled time after its last run
 * (in the past when it is due), or the latest one when it never ran. */
static void next_run(const struct catalog_policy *p, time_t now, char out[SD_ISO_LEN])
{
	struct policy_sched s;
	time_t last = iso_or(p->last_run, -1);

	if (!row_sched(p, &s)) {
		out[0] = '\0';
		return;
	}
	sd_time_iso(last < 0 ? policy_slot_before(&s, now) : policy_slot_after(&s, last), out);
}

/* ---- listing ---- */

int ctl_policy_list(struct ctl *ctl, const char *vm, struct ctl_policy **out, size_t *n,
		    struct sd_err *err)
{
	struct catalog_policy *rows = NULL;
	struct ctl_policy *v;
	size_t nrows = 0, len = 0;
	char uuid[37] = "";
	time_t now = sd_now();

	*out = NULL;
	*n = 0;
	if (vm && !sd_uuid_valid(vm) && ctl->hv) {
		SD_AUTO(hv_domain) *dom = hv_domain_lookup(ctl->hv, vm, err);
		if (!dom)
			return -1;
		snprintf(uuid, sizeof(uuid), "%s", dom->uuid);
	} else if (vm && sd_uuid_valid(vm)) {
		snprintf(uuid, sizeof(uuid), "%s", vm);
	}
	if (!ctl->cat || ctl->host_id < 0)
		return 0;
	if (catalog_policy_list(ctl->cat, ctl->host_id, 0, &rows, &nrows, err) < 0)
		return -1;
	v = sd_calloc(nrows ? nrows : 1, sizeof(*v));
	for (size_t i = 0; i < nrows; i++) {
		if (vm && (uuid[0] ? strcasecmp(rows[i].vm_uuid, uuid) != 0
				   : !sd_str_eq(rows[i].vm_name, vm))) {
			catalog_policy_clear(&rows[i]);
			continue;
		}
		v[len].p = rows[i];
		next_run(&v[len].p, now, v[len].next_run);
		len++;
	}
	free(rows);
	*out = v;
	*n = len;
	return 0;
}

/* ---- set, delete, limit ---- */

/* Checks and normalizes --disks against the VM's disks ("vda,vdb"). */
static char *disks_norm(const struct model_vm *vm, const char *disks, struct sd_err *err)
{
	char **v;
	struct sd_buf b = SD_BUF_INIT;
	char *s;

	if (!disks)
		return NULL;
	v = sd_strv_split(disks, ',');
	if (!v || !v[0]) {
		sd_strv_free(v);
		sd_err_set(err, SD_ERR_INVALID, _("--disks names no disk"));
		return NULL;
	}
	for (size_t i = 0; v[i]; i++) {
		const struct model_disk *d = model_vm_disk(vm, v[i]);
		bool dup = false;
		if (!d || !d->active_image_id) {
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no disk %s"), vm->name,
				   v[i]);
			sd_strv_free(v);
			sd_buf_free(&b);
			return NULL;
		}
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(v[k], v[i]) == 0;
		if (!dup)
			sd_buf_addf(&b, "%s%s", b.data ? "," : "", v[i]);
	}
	sd_strv_free(v);
	s = sd_strdup(b.data);
	sd_buf_free(&b);
	return s;
}

int ctl_policy_set(struct ctl *ctl, const char *vm, const struct ctl_policy_req *req,
		   struct ctl_policy **out, bool *created, struct sd_err *err)
{
	SD_AUTO(model_vm) *state = NULL;
	SD_AUTOFREE char *disks = NULL;
	struct catalog_policy row = {0};
	struct policy_sched sched;
	enum policy_every every;
	char at[POLICY_AT_LEN], now[SD_ISO_LEN];
	const char *name = req->name ? req->name : req->every;

	if (!req->every || !policy_every_parse(req->every, &every)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("--every must be hourly, daily, weekly or monthly, not '%s'"),
			   req->every ? req->every : "");
		return -1;
	}
	if (policy_at_parse(every, req->at, &sched, at, err) < 0)
		return -1;
	if (req->keep < 1 || req->keep > KEEP_MAX) {
		sd_err_set(err, SD_ERR_INVALID, _("--keep must be 1 to %d"), KEEP_MAX);
		return -1;
	}
	if (!policy_name_valid(name, err))
		return -1;
	state = ctl_snapshot_state(ctl, vm, err);
	if (!state)
		return -1;
	if (req->disks) {
		disks = disks_norm(state, req->disks, err);
		if (!disks)
			return -1;
	}
	sd_time_iso(sd_now(), now);
	row.name = (char *)name;
	row.every = (char *)policy_every_name(every);
	row.at = at;
	row.keep = req->keep;
	row.disks = disks;
	row.memory = req->memory;
	row.last_run = now; /* the schedule starts now */
	if (catalog_policy_set(ctl->cat, state->id, &row, created, NULL, err) < 0)
		return -1;
	{
		SD_AUTOFREE char *msg = sd_asprintf(_("policy %s: %s at %s (UTC), keep %lld"), name,
						    row.every, at, (long long)req->keep);
		catalog_event_add(ctl->cat, state->name, "policy set", CATALOG_INFO, msg, NULL);
	}
	if (out) {
		struct ctl_policy *v = NULL;
		size_t n = 0;
		*out = NULL;
		if (ctl_policy_list(ctl, state->uuid, &v, &n, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (sd_str_eq(v[i].p.name, name)) {
				*out = sd_calloc(1, sizeof(**out));
				**out = v[i];
				memset(&v[i], 0, sizeof(v[i]));
			}
		ctl_policies_free(v, n);
	}
	return 0;
}

int ctl_policy_delete(struct ctl *ctl, const char *vm, const char *name, size_t *removed,
		      struct sd_err *err)
{
	SD_AUTO(model_vm) *state = ctl_snapshot_state(ctl, vm, err);
	size_t n = 0;

	if (!state)
		return -1;
	if (catalog_policy_delete(ctl->cat, state->id, name, &n, err) < 0)
		return -1;
	if (n == 0) {
		if (name)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no policy named '%s'"),
				   state->name, name);
		else
			sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s has no policies"), state->name);
		return -1;
	}
	{
		SD_AUTOFREE char *msg =
		    name ? sd_asprintf(_("policy %s deleted"), name)
			 : sd_asprintf(P_("%zu policy deleted", "%zu policies deleted", n), n);
		catalog_event_add(ctl->cat, state->name, "policy delete", CATALOG_INFO, msg, NULL);
	}
	if (removed)
		*removed = n;
	return 0;
}

int ctl_policy_limit(struct ctl *ctl, const char *vm, bool set, int64_t limit,
		     struct ctl_limit *out, struct sd_err *err)
{
	SD_AUTO(model_vm) *state = ctl_snapshot_state(ctl, vm, err);

	memset(out, 0, sizeof(*out));
	if (!state)
		return -1;
	if (set) {
		SD_AUTOFREE char *msg = NULL;
		if (catalog_vm_set_limit(ctl->cat, state->id, limit, err) < 0)
			return -1;
		state->snapshot_limit = limit < 0 ? -1 : limit;
		msg = limit > 0	  ? sd_asprintf(_("snapshot limit set to %lld"), (long long)limit)
		      : limit < 0 ? sd_strdup(_("snapshot limit removed (none applies)"))
				  : sd_strdup(_("snapshot limit back to the default"));
		catalog_event_add(ctl->cat, state->name, "policy limit", CATALOG_INFO, msg, NULL);
	}
	out->vm = sd_strdup(state->name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", state->uuid);
	out->own = state->snapshot_limit;
	out->fallback = sd_conf_get()->snapshot_limit;
	out->effective = policy_limit_effective(state->snapshot_limit, out->fallback);
	out->snapshots = state->nsnapshots;
	return 0;
}

int ctl_policy_check_limit(struct ctl *ctl, const struct model_vm *vm, struct sd_err *err)
{
	int64_t limit = policy_limit_effective(vm->snapshot_limit, sd_conf_get()->snapshot_limit);

	(void)ctl;
	if (!policy_limit_reached(vm->nsnapshots, limit))
		return 0;
	sd_err_set(err, SD_ERR_STATE,
		   _("VM %s has %zu snapshots and its limit is %lld: delete one first, or change "
		     "the limit with 'snapdeck policy limit %s N'"),
		   vm->name, vm->nsnapshots, (long long)limit, vm->name);
	return -1;
}

/* ---- the run ---- */

struct run {
	struct ctl *ctl;
	bool dry_run;
	time_t now;
	char now_iso[SD_ISO_LEN];
	json_t *report;
	json_t *entries;
	size_t taken, pruned, skipped, failed;
	struct sd_err first_failure;
};

/* One policy in a run. */
struct item {
	struct catalog_policy *p;
	struct policy_sched sched;
	bool sched_ok;
	bool due;
	json_t *entry; /* borrowed from run->entries */
};

static void run_event(struct run *r, const char *vm, enum catalog_level level, const char *msg)
{
	struct sd_err e = SD_ERR_INIT;

	if (r->dry_run)
		return;
	if (catalog_event_add(r->ctl->cat, vm, "policy run", level, msg, &e) < 0)
		sd_log(SD_LOG_WARN, "policy run: %s", e.msg);
}

/* Is msg among the warnings the VM's latest policy run events gave (since
 * the last one that was not a warning)? */
static bool said_last(struct run *r, const char *vm, const char *msg)
{
	struct catalog_event *ev = NULL;
	size_t n = 0;
	bool same = false;

	if (catalog_event_list(r->ctl->cat, vm, 64, &ev, &n, NULL) < 0)
		return false;
	for (size_t i = n; i-- > 0 && !same;) {
		if (!sd_str_eq(ev[i].op, "policy run"))
			continue;
		if (ev[i].level != CATALOG_WARNING)
			break;
		same = sd_str_eq(ev[i].message, msg);
	}
	catalog_events_free(ev, n);
	return same;
}

static void item_skip(struct run *r, struct item *it, const char *reason)
{
	SD_AUTOFREE char *msg = sd_asprintf(_("policy %s skipped: %s"), it->p->name, reason);

	json_object_set_new(it->entry, "result", json_string("skipped"));
	json_object_set_new(it->entry, "reason", json_string(reason));
	r->skipped++;
	/* a timer runs every 5 minutes: a skip that lasts is said once */
	if (!said_last(r, it->p->vm_name, msg))
		run_event(r, it->p->vm_name, CATALOG_WARNING, msg);
}

static void item_fail(struct run *r, struct item *it, const char *reason)
{
	SD_AUTOFREE char *msg = sd_asprintf(_("policy %s failed: %s"), it->p->name, reason);

	json_object_set_new(it->entry, "result", json_string("failed"));
	json_object_set_new(it->entry, "reason", json_string(reason));
	r->failed++;
	sd_err_set(&r->first_failure, SD_ERR_INTERNAL, _("policy %s of %s failed: %s"), it->p->name,
		   it->p->vm_name, reason);
	run_event(r, it->p->vm_name, CATALOG_ERROR, msg);
}

/* Errors that come from the VM's state (busy, running, drifted, gone, a
 * name taken, no room): the policy is skipped, not failed. */
static bool is_skip(const struct sd_err *e)
{
	switch (e->code) {
	case SD_ERR_BUSY:
	case SD_ERR_STATE:
	case SD_ERR_NOT_FOUND:
	case SD_ERR_EXISTS:
	case SD_ERR_NOSPACE:
		return true;
	default:
		return false;
	}
}

/* Why an operation on the VM was refused, for people (a state the snapshot
 * engine refuses, SD_ERR_STATE: the policy is skipped). Running VMs get
 * live snapshots. */
static char *refusal(struct run *r, const struct catalog_policy *p, const struct sd_err *e)
{
	if (e->code == SD_ERR_STATE) {
		SD_AUTO(hv_domain) *dom = hv_domain_lookup(r->ctl->hv, p->vm_uuid, NULL);
		if (dom && hv_state_runs(dom->state))
			return sd_asprintf(_("the VM is %s and the snapshot engine refused it: %s"),
					   hv_state_name(dom->state), e->msg);
	}
	return sd_strdup(e->msg);
}

/* Why the VM cannot take a policy snapshot now, or NULL. */
static char *vm_skip_reason(struct run *r, const struct catalog_policy *p, struct sd_err *err)
{
	SD_AUTO(model_vm) *state = NULL;
	struct sd_err e = SD_ERR_INIT;

	{
		SD_AUTO(hv_domain) *dom = hv_domain_lookup(r->ctl->hv, p->vm_uuid, &e);
		if (!dom)
			return e.code == SD_ERR_NOT_FOUND
				   ? sd_strdup(_("the VM is gone from libvirt"))
				   : sd_strdup(e.msg);
	}
	state = catalog_vm_state(r->ctl->cat, p->vm_id, err);
	if (!state)
		return NULL;
	if (state->preview)
		return sd_strdup(_("the VM is in a preview: commit or undo it first"));
	if (state->drift_reason)
		return sd_asprintf(_("the VM has drifted (%s): 'snapdeck sync --adopt' first"),
				   state->drift_reason);
	if (!r->dry_run) {
		/* a probe: the snapshot operations take the lock themselves */
		if (catalog_lock_take(r->ctl->cat, p->vm_id, p->vm_name, "policy run",
				      ctl_engine_me(), ctl_engine_owner_alive, NULL, &e) < 0) {
			if (e.code == SD_ERR_BUSY)
				return sd_strdup(e.msg);
			sd_err_set(err, e.code, "%s", e.msg);
			return NULL;
		}
		if (catalog_lock_release(r->ctl->cat, p->vm_id, ctl_engine_me(), err) < 0)
			return NULL;
	}
	return NULL;
}

/* The newest snapshot the policy made, or NULL. */
static const struct model_snapshot *newest_own(const struct model_vm *vm, int64_t policy_id)
{
	const struct model_snapshot *best = NULL;

	for (size_t i = 0; i < vm->nsnapshots; i++) {
		const struct model_snapshot *s = &vm->snapshots[i];
		if (s->policy_id != policy_id)
			continue;
		if (!best || strcmp(s->created, best->created) > 0 ||
		    (strcmp(s->created, best->created) == 0 && strcmp(s->name, best->name) > 0))
			best = s;
	}
	return best;
}

static uint64_t file_bytes(const char *path)
{
	struct stat st;

	return path && stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* Is there room in the file systems holding the tops of the disks the
 * policy snapshots (each must keep what the policy's last snapshot took
 * of its disks there, plus the margin)? NULL, or why not. */
static char *space_reason(const struct model_vm *vm, const struct catalog_policy *p,
			  uint64_t margin)
{
	struct fs {
		dev_t dev;
		uint64_t free, took;
		char *dir;
	} fs[32];
	size_t nfs = 0;
	char **only = p->disks ? sd_strv_split(p->disks, ',') : NULL;
	const struct model_snapshot *last = newest_own(vm, p->id);
	char *why = NULL;

	for (size_t i = 0; i < vm->ndisks && !why; i++) {
		const struct model_disk *d = &vm->disks[i];
		const struct model_image *top = model_vm_image(vm, d->active_image_id);
		const struct model_snapshot_disk *sd =
		    last ? model_snapshot_disk(last, d->id) : NULL;
		const struct model_image *took = sd ? model_vm_image(vm, sd->image_id) : NULL;
		const char *slash;
		char *dir;
		struct stat st;
		struct statvfs sv;
		size_t k;

		if (!top || (only && !sd_strv_contains(only, d->target)))
			continue;
		slash = strrchr(top->path, '/');
		dir = slash && slash != top->path
			  ? sd_strndup(top->path, (size_t)(slash - top->path))
			  : sd_strdup("/");
		if (stat(dir, &st) < 0 || statvfs(dir, &sv) < 0) {
			why = sd_asprintf(_("cannot read the free space of %s: %s"), dir,
					  strerror(errno));
			free(dir);
			break;
		}
		for (k = 0; k < nfs; k++)
			if (fs[k].dev == st.st_dev)
				break;
		if (k == nfs) {
			if (nfs == SD_N_ELEMENTS(fs)) {
				free(dir);
				continue;
			}
			fs[nfs].dev = st.st_dev;
			fs[nfs].free = (uint64_t)sv.f_bavail * sv.f_frsize;
			fs[nfs].took = 0;
			fs[nfs].dir = dir;
			nfs++;
		} else {
			free(dir);
		}
		fs[k].took += took ? file_bytes(took->path) : 0;
	}
	for (size_t k = 0; k < nfs && !why; k++)
		if (!policy_space_ok(fs[k].free, fs[k].took, margin)) {
			char f[32], t[32], m[32];
			sd_str_bytes(fs[k].free, f, sizeof(f));
			sd_str_bytes(fs[k].took, t, sizeof(t));
			sd_str_bytes(margin, m, sizeof(m));
			why =
			    sd_asprintf(_("only %s free in %s: the policy's last snapshot took %s, "
					  "and %s more are kept free"),
					f, fs[k].dir, t, m);
		}
	for (size_t k = 0; k < nfs; k++)
		free(fs[k].dir);
	sd_strv_free(only);
	return why;
}

/* Deletes the snapshots (through the engine: what rests on them keeps its
 * content), adding their names to the entry's "pruned". 0 done, 1 skipped
 * (*why set), -1 failed (*why set). */
static int prune(struct run *r, struct item *it, const struct model_snapshot *const *v, size_t n,
		 char **why)
{
	json_t *names = json_object_get(it->entry, "pruned");

	for (size_t i = 0; i < n; i++) {
		struct sd_err e = SD_ERR_INIT;
		json_t *plan = NULL;

		if (!r->dry_run &&
		    ctl_snapshot_delete(r->ctl, it->p->vm_uuid, v[i]->id, false, &plan, &e) < 0) {
			json_decref(plan);
			*why = refusal(r, it->p, &e);
			return is_skip(&e) ? 1 : -1;
		}
		json_decref(plan);
		json_array_append_new(names, json_string(v[i]->name));
		r->pruned++;
	}
	return 0;
}

/* Is the policy still due? Another run (the timer's and one by hand) may
 * have taken its snapshot since this one read the policies; a policy
 * deleted meanwhile is not due. */
static bool still_due(struct run *r, const struct item *it, struct sd_err *err)
{
	struct catalog_policy *v = NULL;
	size_t n = 0;
	bool due = false;

	if (catalog_policy_list(r->ctl->cat, r->ctl->host_id, it->p->vm_id, &v, &n, err) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i].id == it->p->id)
			due = policy_due(&it->sched, iso_or(v[i].last_run, -1), r->now, NULL);
	catalog_policies_free(v, n);
	return due;
}

/* One due policy of a VM that may take snapshots. */
static void run_item(struct run *r, struct item *it)
{
	const struct catalog_policy *p = it->p;
	const struct sd_conf *conf = sd_conf_get();
	SD_AUTO(model_vm) *state = NULL;
	SD_AUTOFREE char *name = NULL;
	SD_AUTOFREE char *why = NULL;
	SD_AUTOFREE char *desc = NULL;
	const struct model_snapshot *old[PRUNE_MAX];
	struct sd_err e = SD_ERR_INIT;
	int64_t limit, room;
	size_t own, n;
	char **disks = NULL;
	json_t *plan = NULL;
	int rc;

	if (!r->dry_run && !still_due(r, it, &e)) {
		if (sd_err_is_set(&e))
			item_fail(r, it, e.msg);
		else
			json_object_set_new(it->entry, "due", json_false());
		return;
	}
	state = catalog_vm_state(r->ctl->cat, p->vm_id, &e);
	if (!state) {
		item_fail(r, it, e.msg);
		return;
	}
	own = policy_own_count(state, p->id);
	limit = policy_limit_effective(state->snapshot_limit, conf->snapshot_limit);
	room = policy_limit_room(state->nsnapshots, own, limit);
	if (room < 0) {
		why = sd_asprintf(P_("the VM is at its limit of %lld snapshot and the policy has "
				     "too few of its own to delete (%zu)",
				     "the VM is at its limit of %lld snapshots and the policy has "
				     "too few of its own to delete (%zu)",
				     (unsigned long)limit),
				  (long long)limit, own);
		item_skip(r, it, why);
		return;
	}
	why = space_reason(state, p, conf->free_space_margin);
	if (why) {
		item_skip(r, it, why);
		return;
	}

	/* at the limit: its own oldest go first (a dry run lists them below) */
	if (room > 0 && !r->dry_run) {
		n = policy_prune_select(state, p->id, own - (size_t)room, old, PRUNE_MAX);
		rc = prune(r, it, old, n < PRUNE_MAX ? n : PRUNE_MAX, &why);
		if (rc != 0) {
			if (rc > 0)
				item_skip(r, it, why);
			else
				item_fail(r, it, why);
			return;
		}
	}

	name = policy_snapshot_name(p->name, r->now);
	desc = sd_asprintf(_("taken by policy %s (%s)"), p->name, p->every);
	disks = p->disks ? sd_strv_split(p->disks, ',') : NULL;
	{
		/* policy snapshots are not "auto" (that is a commit's); the
		 * memory state is kept when the VM runs (a shut-off VM has none) */
		struct sd_err lerr = SD_ERR_INIT;
		struct hv_domain *dom = p->memory ? hv_domain_lookup(r->ctl->hv, p->vm_uuid, &lerr)
						  : NULL;
		bool runs = dom && hv_state_runs(dom->state);
		struct plan_snapshot_req req = {.name = name,
						.description = desc,
						.disks = disks,
						.is_auto = false,
						.policy_id = p->id,
						.memory = p->memory && runs};

		hv_domain_free(dom);
		rc = ctl_snapshot_create(r->ctl, p->vm_uuid, &req, r->dry_run, &plan, &e);
	}
	sd_strv_free(disks);
	json_decref(plan);
	if (rc < 0) {
		free(why);
		why = refusal(r, p, &e);
		if (is_skip(&e))
			item_skip(r, it, why);
		else
			item_fail(r, it, why);
		return;
	}
	json_object_set_new(it->entry, "result", json_string("taken"));
	json_object_set_new(it->entry, "snapshot", json_string(name));
	r->taken++;
	if (!r->dry_run && catalog_policy_set_last_run(r->ctl->cat, p->id, r->now_iso, &e) < 0) {
		item_fail(r, it, e.msg);
		return;
	}

	/* retention: its own beyond keep, oldest first */
	if (r->dry_run) {
		/* the one it would take counts; those the limit took went first */
		size_t keep = p->keep > 1 ? (size_t)p->keep - 1 : 0;
		n = policy_prune_select(state, p->id, keep, old, PRUNE_MAX);
		if ((int64_t)n < room)
			n = policy_prune_select(state, p->id, own - (size_t)room, old, PRUNE_MAX);
		prune(r, it, old, n < PRUNE_MAX ? n : PRUNE_MAX, &why);
	} else {
		model_vm_free(SD_STEAL(state));
		state = catalog_vm_state(r->ctl->cat, p->vm_id, &e);
		if (!state) {
			item_fail(r, it, e.msg);
			return;
		}
		n = policy_prune_select(state, p->id, (size_t)p->keep, old, PRUNE_MAX);
		rc = prune(r, it, old, n < PRUNE_MAX ? n : PRUNE_MAX, &why);
		if (rc != 0) {
			SD_AUTOFREE char *msg = sd_asprintf(
			    _("policy %s took %s but could not delete an old snapshot: %s"),
			    p->name, name, why);
			json_object_set_new(it->entry, "reason", json_string(why));
			if (rc < 0) {
				r->failed++;
				sd_err_set(&r->first_failure, SD_ERR_INTERNAL, "%s", msg);
			}
			run_event(r, p->vm_name, rc < 0 ? CATALOG_ERROR : CATALOG_WARNING, msg);
			return;
		}
	}
	{
		size_t pruned = json_array_size(json_object_get(it->entry, "pruned"));
		SD_AUTOFREE char *msg =
		    pruned ? sd_asprintf(P_("policy %s took %s and deleted %zu old snapshot",
					    "policy %s took %s and deleted %zu old snapshots",
					    (unsigned long)pruned),
					 p->name, name, pruned)
			   : sd_asprintf(_("policy %s took %s"), p->name, name);
		run_event(r, p->vm_name, CATALOG_INFO, msg);
	}
}

int ctl_policy_run(struct ctl *ctl, const struct ctl_policy_run_opts *o, json_t **report,
		   struct sd_err *err)
{
	struct run r = {.ctl = ctl, .dry_run = o->dry_run, .first_failure = SD_ERR_INIT};
	struct ctl_policy *pols = NULL;
	struct item *items;
	size_t n = 0;

	*report = NULL;
	if (ctl_need_writable(ctl, err) < 0)
		return -1;
	r.now = sd_now();
	sd_time_iso(r.now, r.now_iso);
	if (ctl_policy_list(ctl, o->vm, &pols, &n, err) < 0)
		return -1;
	r.entries = json_array();
	items = sd_calloc(n ? n : 1, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];
		time_t slot = 0;

		it->p = &pols[i].p;
		it->sched_ok = row_sched(it->p, &it->sched);
		it->due = it->sched_ok &&
			  policy_due(&it->sched, iso_or(it->p->last_run, -1), r.now, &slot);
		it->entry =
		    json_pack("{s:o?,s:o?,s:s?,s:b,s:s,s:n,s:[],s:n,s:s}", "vm",
			      json_string(it->p->vm_name), "policy", json_string(it->p->name),
			      "every", it->p->every, "due", it->due, "result", "not_due",
			      "snapshot", "pruned", "reason", "next_run", pols[i].next_run);
		json_array_append_new(r.entries, it->entry);
		if (!it->sched_ok)
			item_fail(&r, it, _("its schedule in the catalog makes no sense"));
	}
	/* VM by VM (the list comes by VM), each VM's due policies by name */
	for (size_t i = 0; i < n;) {
		size_t end = i;
		bool any_due = false;
		SD_AUTOFREE char *skip = NULL;

		while (end < n && items[end].p->vm_id == items[i].p->vm_id) {
			any_due |= items[end].due;
			end++;
		}
		if (any_due) {
			struct sd_err e = SD_ERR_INIT;
			skip = vm_skip_reason(&r, items[i].p, &e);
			for (size_t k = i; k < end; k++) {
				if (!items[k].due)
					continue;
				if (sd_err_is_set(&e))
					item_fail(&r, &items[k], e.msg);
				else if (skip)
					item_skip(&r, &items[k], skip);
				else
					run_item(&r, &items[k]);
			}
		}
		i = end;
	}
	*report =
	    json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:o}", "now", r.now_iso, "dry_run", r.dry_run,
		      "taken", (json_int_t)r.taken, "pruned", (json_int_t)r.pruned, "skipped",
		      (json_int_t)r.skipped, "failed", (json_int_t)r.failed, "policies", r.entries);
	free(items);
	ctl_policies_free(pols, n);
	if (r.failed > 0) {
		if (r.failed > 1)
			sd_err_set(err, r.first_failure.code,
				   _("%s (and %zu more; see 'snapdeck events')"),
				   r.first_failure.msg, r.failed - 1);
		else
			sd_err_set(err, r.first_failure.code, "%s", r.first_failure.msg);
		return -1;
	}
	return 0;
}
