#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/snap.h"
#include "ctl/view.h"
#include "img/img.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static bool is_disk(const struct hv_disk *d)
{
	return sd_str_eq(d->device, "disk") || sd_str_eq(d->device, "lun");
}

void ctl_vm_rows_free(struct ctl_vm_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].busy);
	}
	free(rows);
}

/* Registers the domain and its disks (one transaction is the caller's). */
static int register_domain(struct ctl *ctl, const struct hv_domain *dom, int64_t *vm_id,
			   struct sd_err *err)
{
	if (catalog_vm_register(ctl->cat, ctl->host_id, dom->uuid, dom->name, vm_id, err) < 0)
		return -1;
	for (size_t i = 0; i < dom->ndisks; i++) {
		SD_AUTOFREE char *id = NULL;

		if (!is_disk(&dom->disks[i]) || !dom->disks[i].target)
			continue;
		if (catalog_disk_ensure(ctl->cat, *vm_id, dom->disks[i].target, &id, err) < 0)
			return -1;
	}
	return 0;
}

static bool can_write(const struct ctl *ctl)
{
	return ctl->cat && !ctl->readonly && ctl->host_id >= 0;
}

static int cmp_summary(const void *a, const void *b)
{
	const struct catalog_vm_summary *x = a, *y = b;

	return strcasecmp(x->uuid ? x->uuid : "", y->uuid ? y->uuid : "");
}

/* The host's VMs in the catalog, sorted by UUID for summary_find. */
static int summaries(struct ctl *ctl, struct catalog_vm_summary **sum, size_t *n,
		     struct sd_err *err)
{
	*sum = NULL;
	*n = 0;
	if (!ctl->cat || ctl->host_id < 0)
		return 0;
	if (catalog_vm_summaries(ctl->cat, ctl->host_id, sum, n, err) < 0)
		return -1;
	if (*n > 1)
		qsort(*sum, *n, sizeof(**sum), cmp_summary);
	return 0;
}

static const struct catalog_vm_summary *summary_find(const struct catalog_vm_summary *sum,
						     size_t n, const char *uuid)
{
	struct catalog_vm_summary key = { 0 };

	key.uuid = (char *)uuid;
	return n ? bsearch(&key, sum, n, sizeof(*sum), cmp_summary) : NULL;
}

static void row_from_summary(struct ctl_vm_row *r, const struct catalog_vm_summary *s)
{
	free(r->busy);
	r->busy = NULL;
	r->snapshots = s ? s->snapshots : 0;
	r->in_preview = s && s->in_preview;
	r->drifted = s && s->drifted;
	if (s && s->busy_op)
		r->busy = sd_strdup(s->busy_op);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does the catalog know the domain as it is (name and disk targets)? */
static bool registered(const struct hv_domain *dom, const struct catalog_vm_summary *s)
{
	const char *targets[64];
	size_t n = 0;
	struct sd_buf b = SD_BUF_INIT;
	bool same;

	if (!s || !sd_str_eq(s->name, dom->name))
		return false;
	for (size_t i = 0; i < dom->ndisks && n < SD_N_ELEMENTS(targets); i++)
		if (is_disk(&dom->disks[i]) && dom->disks[i].target)
			targets[n++] = dom->disks[i].target;
	qsort(targets, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++)
		sd_buf_addf(&b, "%s%s", i ? "," : "", targets[i]);
	same = sd_str_eq(b.len ? b.data : NULL, s->targets);
	sd_buf_free(&b);
	return same;
}

int ctl_vm_list(struct ctl *ctl, struct ctl_vm_row **rows_out, size_t *n_out, struct sd_err *err)
{
	struct hv_domain **doms = NULL;
	size_t ndoms = 0, nsum = 0;
	struct catalog_vm_summary *sum = NULL;
	struct ctl_vm_row *rows;
	bool fresh = false;
	int ret = -1;

	if (hv_domain_list(ctl->hv, &doms, &ndoms, err) < 0)
		return -1;
	if (summaries(ctl, &sum, &nsum, err) < 0)
		goto out;
	/* register only what the catalog does not know as it is: a big host
	 * lists without writing */
	if (can_write(ctl)) {
		bool begun = false;

		for (size_t i = 0; i < ndoms; i++) {
			int64_t vm_id;

			if (registered(doms[i], summary_find(sum, nsum, doms[i]->uuid)))
				continue;
			if (!begun && catalog_begin(ctl->cat, err) < 0)
				goto out;
			begun = true;
			if (register_domain(ctl, doms[i], &vm_id, err) < 0) {
				catalog_rollback(ctl->cat);
				goto out;
			}
		}
		if (begun) {
			if (catalog_commit(ctl->cat, err) < 0)
				goto out;
			fresh = true;
		}
	}
	if (fresh) {
		catalog_vm_summaries_free(sum, nsum);
		if (summaries(ctl, &sum, &nsum, err) < 0)
			goto out;
	}

	rows = sd_calloc(ndoms ? ndoms : 1, sizeof(*rows));
	for (size_t i = 0; i < ndoms; i++) {
		struct ctl_vm_row *r = &rows[i];

		r->name = sd_strdup(doms[i]->name);
		memcpy(r->uuid, doms[i]->uuid, sizeof(r->uuid));
		r->state = doms[i]->state;
		for (size_t d = 0; d < doms[i]->ndisks; d++)
			r->disks += is_disk(&doms[i]->disks[d]);
		row_from_summary(r, summary_find(sum, nsum, r->uuid));
	}
	*rows_out = rows;
	*n_out = ndoms;
	ret = 0;
out:
	catalog_vm_summaries_free(sum, nsum);
	hv_domains_free(doms, ndoms);
	return ret;
}

int ctl_vm_list_cached(struct ctl *ctl, struct ctl_vm_row **rows_out, size_t *n_out,
		       struct sd_err *err)
{
	struct catalog_vm_summary *sum = NULL;
	struct ctl_vm_row *rows;
	size_t nsum = 0;

	if (!ctl->cat || ctl->host_id < 0) {
		*rows_out = NULL;
		*n_out = 0;
		return 0;
	}
	/* by name, as the catalog gives them */
	if (catalog_vm_summaries(ctl->cat, ctl->host_id, &sum, &nsum, err) < 0)
		return -1;
	rows = sd_calloc(nsum ? nsum : 1, sizeof(*rows));
	for (size_t i = 0; i < nsum; i++) {
		rows[i].name = sd_strdup(sum[i].name);
		snprintf(rows[i].uuid, sizeof(rows[i].uuid), "%s", sum[i].uuid);
		rows[i].state = HV_STATE_NOSTATE;
		if (sum[i].targets && sum[i].targets[0]) {
			rows[i].disks = 1;
			for (const char *p = sum[i].targets; *p; p++)
				rows[i].disks += *p == ',';
		}
		row_from_summary(&rows[i], &sum[i]);
	}
	*rows_out = rows;
	*n_out = nsum;
	catalog_vm_summaries_free(sum, nsum);
	return 0;
}

int ctl_vm_rows_refresh(struct ctl *ctl, struct ctl_vm_row *rows, size_t n, struct sd_err *err)
{
	struct catalog_vm_summary *sum = NULL;
	size_t nsum = 0;

	if (!ctl->cat || ctl->host_id < 0)
		return 0;
	if (summaries(ctl, &sum, &nsum, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		row_from_summary(&rows[i], summary_find(sum, nsum, rows[i].uuid));
	catalog_vm_summaries_free(sum, nsum);
	return 0;
}

static void disk_clear(struct ctl_disk *d)
{
	free(d->target);
	free(d->disk_id);
	free(d->device);
	free(d->format);
	free(d->source_type);
	free(d->active);
	sd_strv_free(d->chain);
	free(d->problem);
}

void ctl_vm_detail_free(struct ctl_vm_detail *d)
{
	if (!d)
		return;
	hv_domain_free(d->dom);
	free(d->current_snapshot);
	free(d->drift_reason);
	free(d->preview_config);
	free(d->preview_disks);
	for (size_t i = 0; i < d->ndisks; i++)
		disk_clear(&d->disks[i]);
	free(d->disks);
	free(d);
}

/* Reads the backing chain of a file disk; what goes wrong is recorded in the
 * disk's problem, not as an error of the whole command. */
static void read_chain(struct ctl_disk *cd, bool running)
{
	struct sd_err ierr = SD_ERR_INIT;
	SD_AUTO(img_chain) *chain = NULL;

	if (!cd->active) {
		cd->chain = sd_calloc(1, sizeof(char *));
		return;
	}
	if (!sd_str_eq(cd->source_type, "file") && !sd_str_eq(cd->source_type, "volume")) {
		cd->chain = sd_calloc(2, sizeof(char *));
		cd->chain[0] = sd_strdup(cd->active);
		return;
	}
	if (access(cd->active, F_OK) != 0) {
		cd->problem = sd_asprintf(_("file %s is missing"), cd->active);
		cd->chain = sd_calloc(1, sizeof(char *));
		return;
	}
	chain = img_info_chain(cd->active, running, &ierr);
	if (!chain) {
		cd->problem = sd_strdup(ierr.msg);
		cd->chain = sd_calloc(2, sizeof(char *));
		cd->chain[0] = sd_strdup(cd->active);
		return;
	}
	cd->chain = sd_calloc(chain->n + 1, sizeof(char *));
	for (size_t i = 0; i < chain->n; i++)
		cd->chain[i] = sd_strdup(chain->layers[i].filename);
	if (!cd->format && chain->n > 0)
		cd->format = sd_strdup(chain->layers[0].format);
}

struct ctl_vm_detail *ctl_vm_show(struct ctl *ctl, const char *vm, struct sd_err *err)
{
	SD_AUTO(ctl_vm_detail) *d = sd_calloc(1, sizeof(*d));
	int64_t vm_id = -1;
	bool running;

	d->dom = hv_domain_lookup(ctl->hv, vm, err);
	if (!d->dom)
		return NULL;
	if (can_write(ctl)) {
		/* registers it, imports new chains and looks for drift */
		struct model_vm *state = ctl_snapshot_state(ctl, d->dom->uuid, err);
		if (!state)
			return NULL;
		model_vm_free(state);
	}
	if (ctl->cat && ctl->host_id >= 0) {
		struct catalog_vm cv = { 0 };
		int found = catalog_vm_get(ctl->cat, ctl->host_id, d->dom->uuid, &cv, err);

		if (found < 0)
			return NULL;
		if (found) {
			SD_AUTO(model_vm) *state = NULL;

			vm_id = cv.id;
			d->current_snapshot = SD_STEAL(cv.current_snapshot);
			d->drifted = cv.drifted;
			d->drift_reason = SD_STEAL(cv.drift_reason);
			catalog_vm_clear(&cv);
			state = catalog_vm_state(ctl->cat, vm_id, err);
			if (!state)
				return NULL;
			if (state->preview) {
				d->in_preview = true;
				d->preview_config = sd_strdup(state->preview->config_snapshot);
				d->preview_memory = state->preview->memory;
				d->preview_disks = sd_strdup(state->preview->disks_json);
			}
		}
	}

	running = hv_state_runs(d->dom->state);
	d->disks = sd_calloc(d->dom->ndisks ? d->dom->ndisks : 1, sizeof(*d->disks));
	for (size_t i = 0; i < d->dom->ndisks; i++) {
		const struct hv_disk *hd = &d->dom->disks[i];
		struct ctl_disk *cd = &d->disks[d->ndisks];

		if (!is_disk(hd))
			continue;
		d->ndisks++;
		cd->target = sd_strdup(hd->target);
		cd->device = sd_strdup(hd->device);
		cd->format = sd_strdup(hd->driver_type);
		cd->source_type = sd_strdup(hd->source_type);
		cd->active = sd_strdup(hd->source);
		cd->readonly = hd->readonly;
		if (vm_id >= 0 && hd->target &&
		    catalog_disk_find(ctl->cat, vm_id, hd->target, &cd->disk_id, err) < 0)
			return NULL;
		read_chain(cd, running);
	}
	return SD_STEAL(d);
}
