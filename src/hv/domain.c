/* Domains through libvirt: listing, lookup, define, remove, start, stop. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/uuid.h"

static enum hv_state state_from_libvirt(int st)
{
	switch (st) {
	case VIR_DOMAIN_RUNNING:
		return HV_STATE_RUNNING;
	case VIR_DOMAIN_BLOCKED:
		return HV_STATE_BLOCKED;
	case VIR_DOMAIN_PAUSED:
		return HV_STATE_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return HV_STATE_SHUTDOWN;
	case VIR_DOMAIN_SHUTOFF:
		return HV_STATE_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return HV_STATE_CRASHED;
	case VIR_DOMAIN_PMSUSPENDED:
		return HV_STATE_PMSUSPENDED;
	default:
		return HV_STATE_NOSTATE;
	}
}

/* State, persistence and XML of one domain. NULL with *gone set when the
 * domain vanished meanwhile (no error then), NULL with err otherwise. */
static struct hv_domain *domain_load(virDomainPtr d, bool *gone, struct sd_err *err)
{
	const char *name = virDomainGetName(d);
	int st = VIR_DOMAIN_NOSTATE, reason, persistent;
	unsigned flags = 0;
	char *xml;
	struct hv_domain *dom;

	*gone = false;
	if (virDomainGetState(d, &st, &reason, 0) < 0)
		goto fail;
	persistent = virDomainIsPersistent(d);
	if (persistent < 0)
		goto fail;
	if (persistent && st == VIR_DOMAIN_SHUTOFF)
		flags |= VIR_DOMAIN_XML_INACTIVE;
	xml = virDomainGetXMLDesc(d, flags);
	if (!xml)
		goto fail;
	dom = hv_domain_parse(xml, err);
	free(xml);
	if (!dom)
		return NULL;
	dom->state = state_from_libvirt(st);
	dom->persistent = persistent == 1;
	return dom;

fail:
	if (hv_errcode() == VIR_ERR_NO_DOMAIN) {
		*gone = true;
		return NULL;
	}
	sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"), name ? name : "?", hv_errmsg());
	return NULL;
}

static int cmp_domain(const void *a, const void *b)
{
	const struct hv_domain *x = *(const struct hv_domain *const *)a;
	const struct hv_domain *y = *(const struct hv_domain *const *)b;

	return strcmp(x->name, y->name);
}

int hv_domain_list(struct hv_conn *conn, struct hv_domain ***out, size_t *n, struct sd_err *err)
{
	virDomainPtr *doms = NULL;
	struct hv_domain **v = NULL;
	size_t nv = 0;
	int count, rc = -1;

	*out = NULL;
	*n = 0;
	count = virConnectListAllDomains(conn->conn, &doms, 0);
	if (count < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot list VMs: %s"), hv_errmsg());
		return -1;
	}
	v = sd_calloc((size_t)count + 1, sizeof(*v));
	for (int i = 0; i < count; i++) {
		bool gone;
		struct hv_domain *dom = domain_load(doms[i], &gone, err);

		if (dom)
			v[nv++] = dom;
		else if (!gone)
			goto out;
	}
	qsort(v, nv, sizeof(*v), cmp_domain);
	*out = SD_STEAL(v);
	*n = nv;
	rc = 0;
out:
	for (int i = 0; i < count; i++)
		virDomainFree(doms[i]);
	free(doms);
	hv_domains_free(v, nv);
	return rc;
}

/* The libvirt domain named name_or_uuid (a UUID first, then a name); NULL
 * with SD_ERR_NOT_FOUND, or with quiet set and no error when absent. */
static virDomainPtr lookup(struct hv_conn *conn, const char *name_or_uuid, bool quiet,
			   struct sd_err *err)
{
	virDomainPtr d = NULL;

	if (!name_or_uuid || !*name_or_uuid) {
		if (!quiet)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), "");
		return NULL;
	}
	if (sd_uuid_valid(name_or_uuid)) {
		d = virDomainLookupByUUIDString(conn->conn, name_or_uuid);
		if (!d && hv_errcode() != VIR_ERR_NO_DOMAIN)
			goto fail;
	}
	/* a name may look like a UUID too */
	if (!d)
		d = virDomainLookupByName(conn->conn, name_or_uuid);
	if (d)
		return d;
	if (hv_errcode() == VIR_ERR_NO_DOMAIN) {
		if (!quiet)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), name_or_uuid);
		return NULL;
	}
fail:
	sd_err_set(err, SD_ERR_HV, _("cannot look up VM '%s': %s"), name_or_uuid, hv_errmsg());
	return NULL;
}

struct hv_domain *hv_domain_lookup(struct hv_conn *conn, const char *name_or_uuid,
				   struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = lookup(conn, name_or_uuid, false, err);
	struct hv_domain *dom;
	bool gone;

	if (!d)
		return NULL;
	dom = domain_load(d, &gone, err);
	if (!dom && gone)
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no VM named '%s'"), name_or_uuid);
	if (dom && dom->persistent && dom->state != HV_STATE_SHUTOFF) {
		/* a running VM's configuration for its next start (what a
		 * snapshot keeps, what is redefined): not the live XML */
		char *cfg = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);

		if (!cfg) {
			sd_err_set(err, SD_ERR_HV, _("cannot read VM '%s': %s"), dom->name,
				   hv_errmsg());
			hv_domain_free(dom);
			return NULL;
		}
		dom->config_xml = sd_strdup(cfg);
		free(cfg);
	}
	return dom;
}

int hv_domain_define(struct hv_conn *conn, const char *xml, struct sd_err *err)
{
	virDomainPtr d = virDomainDefineXML(conn->conn, xml);

	if (!d) {
		sd_err_set(err, SD_ERR_HV, _("cannot define VM: %s"), hv_errmsg());
		return -1;
	}
	virDomainFree(d);
	return 0;
}

int hv_domain_remove(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err)
{
	const unsigned flags = VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			       VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM;
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(vir_domain) *d = lookup(conn, name_or_uuid, true, &lerr);
	int active, persistent;

	if (!d) {
		if (!sd_err_is_set(&lerr))
			return 0;
		sd_err_set(err, lerr.code, "%s", lerr.msg);
		return -1;
	}
	active = virDomainIsActive(d);
	if (active > 0 && virDomainDestroy(d) < 0 && hv_errcode() != VIR_ERR_OPERATION_INVALID) {
		if (hv_errcode() == VIR_ERR_NO_DOMAIN)
			return 0;
		sd_err_set(err, SD_ERR_HV, _("cannot stop VM '%s': %s"), name_or_uuid, hv_errmsg());
		return -1;
	}
	/* a transient domain is gone once destroyed */
	persistent = virDomainIsPersistent(d);
	if (persistent == 0 || (persistent < 0 && hv_errcode() == VIR_ERR_NO_DOMAIN))
		return 0;
	if (virDomainUndefineFlags(d, flags) == 0)
		return 0;
	if (hv_errcode() == VIR_ERR_NO_SUPPORT || hv_errcode() == VIR_ERR_INVALID_ARG) {
		/* an older or simpler driver without these flags */
		if (virDomainUndefine(d) == 0)
			return 0;
	}
	if (hv_errcode() == VIR_ERR_NO_DOMAIN)
		return 0;
	sd_err_set(err, SD_ERR_HV, _("cannot undefine VM '%s': %s"), name_or_uuid, hv_errmsg());
	return -1;
}

int hv_domain_start(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = lookup(conn, name_or_uuid, false, err);

	if (!d)
		return -1;
	if (virDomainIsActive(d) == 1) {
		sd_err_set(err, SD_ERR_STATE, _("VM '%s' is already running"), name_or_uuid);
		return -1;
	}
	if (virDomainCreate(d) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot start VM '%s': %s"), name_or_uuid,
			   hv_errmsg());
		return -1;
	}
	return 0;
}

int hv_domain_destroy(struct hv_conn *conn, const char *name_or_uuid, struct sd_err *err)
{
	SD_AUTO(vir_domain) *d = lookup(conn, name_or_uuid, false, err);

	if (!d)
		return -1;
	if (virDomainIsActive(d) == 0) {
		sd_err_set(err, SD_ERR_STATE, _("VM '%s' is not running"), name_or_uuid);
		return -1;
	}
	if (virDomainDestroy(d) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot stop VM '%s': %s"), name_or_uuid, hv_errmsg());
		return -1;
	}
	return 0;
}

/* FNV-1a over bytes, folded into h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int hv_domain_fingerprint(struct hv_conn *conn, uint64_t *fp, struct sd_err *err)
{
	static const unsigned int lists[] = { 0, VIR_CONNECT_LIST_DOMAINS_PAUSED };
	uint64_t h = 14695981039346656037ULL;

	for (size_t l = 0; l < SD_N_ELEMENTS(lists); l++) {
		virDomainPtr *doms = NULL;
		int count = virConnectListAllDomains(conn->conn, &doms, lists[l]);
		uint64_t sum = 0;

		if (count < 0) {
			sd_err_set(err, SD_ERR_HV, _("cannot list VMs: %s"), hv_errmsg());
			return -1;
		}
		/* a sum of per-domain hashes does not depend on the order */
		for (int i = 0; i < count; i++) {
			unsigned char uuid[VIR_UUID_BUFLEN] = { 0 };
			int id = (int)virDomainGetID(doms[i]);
			const char *name = virDomainGetName(doms[i]);
			uint64_t d = 14695981039346656037ULL;

			virDomainGetUUID(doms[i], uuid);
			d = fnv(d, uuid, sizeof(uuid));
			d = fnv(d, &id, sizeof(id));
			if (name)
				d = fnv(d, name, strlen(name));
			sum += d;
			virDomainFree(doms[i]);
		}
		free(doms);
		h = fnv(h, &sum, sizeof(sum));
		h = fnv(h, &count, sizeof(count));
	}
	*fp = h;
	return 0;
}
