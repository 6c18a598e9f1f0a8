/* Storage pools and volumes through libvirt. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

/* ---- pools ---- */

/* The pool named name; NULL with SD_ERR_NOT_FOUND (or, quiet, no error at
 * all) when there is none. */
static virStoragePoolPtr pool_lookup(struct hv_conn *conn, const char *name, bool quiet,
				     struct sd_err *err)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(conn->conn, name);

	if (p)
		return p;
	if (hv_errcode() == VIR_ERR_NO_STORAGE_POOL) {
		if (!quiet)
			sd_err_set(err, SD_ERR_NOT_FOUND, _("no storage pool named '%s'"), name);
		return NULL;
	}
	sd_err_set(err, SD_ERR_HV, _("cannot look up storage pool '%s': %s"), name, hv_errmsg());
	return NULL;
}

/* Fills out (zeroed first) from a libvirt pool. -1 with *gone set and no
 * error when the pool vanished meanwhile. */
static int pool_load(virStoragePoolPtr p, struct hv_pool *out, bool *gone, struct sd_err *err)
{
	const char *name = virStoragePoolGetName(p);
	virStoragePoolInfo info;
	int autostart = 0;
	char *xml;
	int rc;

	*gone = false;
	memset(out, 0, sizeof(*out));
	if (virStoragePoolGetInfo(p, &info) < 0 || virStoragePoolGetAutostart(p, &autostart) < 0)
		goto fail;
	xml = virStoragePoolGetXMLDesc(p, 0);
	if (!xml)
		goto fail;
	rc = hv_pool_parse(xml, out, err);
	free(xml);
	if (rc < 0) {
		hv_pool_clear(out);
		return -1;
	}
	out->name = sd_strdup(name);
	out->active =
	    info.state == VIR_STORAGE_POOL_RUNNING || info.state == VIR_STORAGE_POOL_DEGRADED;
	out->autostart = autostart == 1;
	out->capacity = info.capacity;
	out->allocation = info.allocation;
	out->available = info.available;
	return 0;

fail:
	if (hv_errcode() == VIR_ERR_NO_STORAGE_POOL) {
		*gone = true;
		return -1;
	}
	sd_err_set(err, SD_ERR_HV, _("cannot read storage pool '%s': %s"), name ? name : "?",
		   hv_errmsg());
	return -1;
}

static int cmp_pool(const void *a, const void *b)
{
	return strcmp(((const struct hv_pool *)a)->name, ((const struct hv_pool *)b)->name);
}

int hv_pool_list(struct hv_conn *conn, struct hv_pool **out, size_t *n, struct sd_err *err)
{
	virStoragePoolPtr *pools = NULL;
	struct hv_pool *v = NULL;
	size_t nv = 0;
	int count, rc = -1;

	*out = NULL;
	*n = 0;
	count = virConnectListAllStoragePools(conn->conn, &pools, 0);
	if (count < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot list storage pools: %s"), hv_errmsg());
		return -1;
	}
	v = sd_calloc((size_t)count + 1, sizeof(*v));
	for (int i = 0; i < count; i++) {
		bool gone;

		if (pool_load(pools[i], &v[nv], &gone, err) == 0)
			nv++;
		else if (!gone)
			goto out;
	}
	qsort(v, nv, sizeof(*v), cmp_pool);
	*out = SD_STEAL(v);
	*n = nv;
	rc = 0;
out:
	for (int i = 0; i < count; i++)
		virStoragePoolFree(pools[i]);
	free(pools);
	hv_pools_free(v, nv);
	return rc;
}

int hv_pool_get(struct hv_conn *conn, const char *name, struct hv_pool *out, struct sd_err *err)
{
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(vir_pool) *p = pool_lookup(conn, name, true, &lerr);
	bool gone;

	if (!p) {
		if (!sd_err_is_set(&lerr))
			return 0;
		sd_err_set(err, lerr.code, "%s", lerr.msg);
		return -1;
	}
	if (pool_load(p, out, &gone, err) < 0)
		return gone ? 0 : -1;
	return 1;
}

/* The folder part of path ("/a/b" for "/a/b/c"; caller frees). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sd_strdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return sd_strdup("/");
	return sd_strndup(path, (size_t)(slash - path));
}

/* True when folders a and b are the same: by their real paths when both
 * exist here, else by their spelling (trailing slashes aside). */
static bool same_dir(const char *a, const char *b)
{
	SD_AUTOFREE char *ra = realpath(a, NULL);
	SD_AUTOFREE char *rb = realpath(b, NULL);
	size_t na, nb;

	if (ra && rb)
		return strcmp(ra, rb) == 0;
	na = strlen(a);
	nb = strlen(b);
	while (na > 1 && a[na - 1] == '/')
		na--;
	while (nb > 1 && b[nb - 1] == '/')
		nb--;
	return na == nb && memcmp(a, b, na) == 0;
}

int hv_pool_for_path(struct hv_conn *conn, const char *path, struct hv_pool *out,
		     struct sd_err *err)
{
	SD_AUTOFREE char *dir = dir_of(path);
	struct hv_pool *v;
	size_t n;
	int found = 0;

	if (hv_pool_list(conn, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++) {
		if (v[i].path && same_dir(v[i].path, dir)) {
			*out = v[i];
			memset(&v[i], 0, sizeof(v[i]));
			found = 1;
		}
	}
	hv_pools_free(v, n);
	return found;
}

/* Starts pool p when it is not running. */
static int pool_activate(virStoragePoolPtr p, const char *name, struct sd_err *err)
{
	int active = virStoragePoolIsActive(p);

	if (active == 1)
		return 0;
	if (active < 0 || virStoragePoolCreate(p, 0) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot start storage pool '%s': %s"), name,
			   hv_errmsg());
		return -1;
	}
	return 0;
}

int hv_pool_ensure_dir(struct hv_conn *conn, const char *name, const char *path, struct sd_err *err)
{
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(vir_pool) *p = pool_lookup(conn, name, true, &lerr);
	SD_AUTOFREE char *xml = NULL;

	if (!path || path[0] != '/') {
		sd_err_set(err, SD_ERR_INVALID,
			   _("the folder of storage pool '%s' must be an absolute path: %s"), name,
			   path ? path : "");
		return -1;
	}
	if (sd_err_is_set(&lerr)) {
		sd_err_set(err, lerr.code, "%s", lerr.msg);
		return -1;
	}
	if (p) {
		struct hv_pool cur;
		bool gone, same;

		if (pool_load(p, &cur, &gone, err) < 0) {
			if (gone)
				sd_err_set(err, SD_ERR_HV, _("storage pool '%s' vanished"), name);
			return -1;
		}
		same = cur.path && same_dir(cur.path, path);
		if (!same)
			sd_err_set(err, SD_ERR_EXISTS,
				   _("storage pool '%s' already exists with another folder (%s)"),
				   name, cur.path ? cur.path : "-");
		hv_pool_clear(&cur);
		if (!same)
			return -1;
		return pool_activate(p, name, err);
	}

	xml = hv_pool_dir_xml_build(name, path);
	p = virStoragePoolDefineXML(conn->conn, xml, 0);
	if (!p) {
		sd_err_set(err, SD_ERR_HV, _("cannot define storage pool '%s': %s"), name,
			   hv_errmsg());
		return -1;
	}
	/* Build makes the folder; with flags 0 an existing folder is fine. */
	if (virStoragePoolBuild(p, 0) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot create the folder of storage pool '%s': %s"),
			   name, hv_errmsg());
		goto undo;
	}
	if (virStoragePoolCreate(p, 0) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot start storage pool '%s': %s"), name,
			   hv_errmsg());
		goto undo;
	}
	if (virStoragePoolSetAutostart(p, 1) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot autostart storage pool '%s': %s"), name,
			   hv_errmsg());
		virStoragePoolDestroy(p);
		goto undo;
	}
	return 0;
undo:
	virStoragePoolUndefine(p);
	return -1;
}

int hv_pool_remove(struct hv_conn *conn, const char *name, struct sd_err *err)
{
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(vir_pool) *p = pool_lookup(conn, name, true, &lerr);
	int rc;

	if (!p) {
		if (!sd_err_is_set(&lerr))
			return 0;
		sd_err_set(err, lerr.code, "%s", lerr.msg);
		return -1;
	}
	if (virStoragePoolIsActive(p) == 1) {
		for (int i = 0;
		     (rc = virStoragePoolDestroy(p)) < 0 && hv_err_is_busy() && i < HV_BUSY_RETRIES;
		     i++)
			hv_retry_pause();
		if (rc < 0 && hv_errcode() != VIR_ERR_OPERATION_INVALID) {
			sd_err_set(err, SD_ERR_HV, _("cannot stop storage pool '%s': %s"), name,
				   hv_errmsg());
			return -1;
		}
	}
	/* a transient pool is gone once stopped */
	if (virStoragePoolIsPersistent(p) != 1)
		return 0;
	if (virStoragePoolUndefine(p) < 0 && hv_errcode() != VIR_ERR_NO_STORAGE_POOL) {
		sd_err_set(err, SD_ERR_HV, _("cannot undefine storage pool '%s': %s"), name,
			   hv_errmsg());
		return -1;
	}
	return 0;
}

/* Refreshes p, retrying while an asynchronous job (a volume copy) runs. */
static int pool_refresh(virStoragePoolPtr p)
{
	int rc;

	for (int i = 0;
	     (rc = virStoragePoolRefresh(p, 0)) < 0 && hv_err_is_busy() && i < HV_BUSY_RETRIES; i++)
		hv_retry_pause();
	return rc;
}

int hv_pool_refresh(struct hv_conn *conn, const char *name, struct sd_err *err)
{
	SD_AUTO(vir_pool) *p = pool_lookup(conn, name, false, err);

	if (!p)
		return -1;
	if (pool_refresh(p) < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot refresh storage pool '%s': %s"), name,
			   hv_errmsg());
		return -1;
	}
	return 0;
}

/* ---- volumes ---- */

static int cmp_volume(const void *a, const void *b)
{
	const struct hv_volume *x = a, *y = b;

	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* Fills out from a libvirt volume; -1 with *gone and no error when the
 * volume vanished meanwhile. */
static int volume_load(virStorageVolPtr vol, struct hv_volume *out, bool *gone, struct sd_err *err)
{
	const char *name = virStorageVolGetName(vol);
	char *xml = virStorageVolGetXMLDesc(vol, 0);
	int rc;

	*gone = false;
	memset(out, 0, sizeof(*out));
	if (!xml) {
		if (hv_errcode() == VIR_ERR_NO_STORAGE_VOL) {
			*gone = true;
			return -1;
		}
		sd_err_set(err, SD_ERR_HV, _("cannot read volume '%s': %s"), name ? name : "?",
			   hv_errmsg());
		return -1;
	}
	rc = hv_volume_parse(xml, out, err);
	free(xml);
	if (rc < 0)
		return -1;
	if (!out->name)
		out->name = sd_strdup(name);
	if (!out->path) {
		char *path = virStorageVolGetPath(vol);

		out->path = sd_strdup(path);
		free(path);
	}
	return 0;
}

int hv_volume_list(struct hv_conn *conn, const char *pool, struct hv_volume **out, size_t *n,
		   struct sd_err *err)
{
	SD_AUTO(vir_pool) *p = pool_lookup(conn, pool, false, err);
	virStorageVolPtr *vols = NULL;
	struct hv_volume *v = NULL;
	size_t nv = 0;
	int count, rc = -1;

	*out = NULL;
	*n = 0;
	if (!p)
		return -1;
	count = virStoragePoolListAllVolumes(p, &vols, 0);
	if (count < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot list the volumes of storage pool '%s': %s"),
			   pool, hv_errmsg());
		return -1;
	}
	v = sd_calloc((size_t)count + 1, sizeof(*v));
	for (int i = 0; i < count; i++) {
		bool gone;

		if (volume_load(vols[i], &v[nv], &gone, err) == 0)
			nv++;
		else if (!gone)
			goto out;
	}
	qsort(v, nv, sizeof(*v), cmp_volume);
	*out = SD_STEAL(v);
	*n = nv;
	rc = 0;
out:
	for (int i = 0; i < count; i++)
		virStorageVolFree(vols[i]);
	free(vols);
	hv_volumes_free(v, nv);
	return rc;
}

int hv_volume_create(struct hv_conn *conn, const char *pool, const char *name, const char *format,
		     uint64_t capacity, const char *backing, const char *backing_format,
		     char **path_out, struct sd_err *err)
{
	SD_AUTO(vir_pool) *p = pool_lookup(conn, pool, false, err);
	SD_AUTO(vir_vol) *vol = NULL;
	SD_AUTOFREE char *xml = NULL;
	char *path;

	if (path_out)
		*path_out = NULL;
	if (!p)
		return -1;
	/* libvirt's dir pools refuse these too, but not every driver does */
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid volume name '%s'"), name ? name : "");
		return -1;
	}
	vol = virStorageVolLookupByName(p, name);
	if (vol) {
		sd_err_set(err, SD_ERR_EXISTS, _("a volume named '%s' already exists in pool '%s'"),
			   name, pool);
		return -1;
	}
	if (hv_errcode() != VIR_ERR_NO_STORAGE_VOL) {
		sd_err_set(err, SD_ERR_HV, _("cannot look up volume '%s': %s"), name, hv_errmsg());
		return -1;
	}
	xml = hv_volume_xml_build(name, format, capacity, backing, backing_format);
	vol = virStorageVolCreateXML(p, xml, 0);
	if (!vol) {
		bool exists = hv_errcode() == VIR_ERR_STORAGE_VOL_EXIST;
		SD_AUTOFREE char *msg = sd_strdup(hv_errmsg());

		/* A file the pool has not seen yet ("target path already
		 * exists"): after a refresh it shows as the volume it is. */
		if (!exists && hv_errcode() == VIR_ERR_OPERATION_INVALID && pool_refresh(p) == 0) {
			vol = virStorageVolLookupByName(p, name);
			exists = vol != NULL;
		}
		if (exists)
			sd_err_set(err, SD_ERR_EXISTS,
				   _("a volume named '%s' already exists in pool '%s'"), name,
				   pool);
		else
			sd_err_set(err, SD_ERR_HV, _("cannot create volume '%s' in pool '%s': %s"),
				   name, pool, msg);
		return -1;
	}
	if (!path_out)
		return 0;
	path = virStorageVolGetPath(vol);
	if (!path) {
		sd_err_set(err, SD_ERR_HV, _("cannot read the path of volume '%s': %s"), name,
			   hv_errmsg());
		return -1;
	}
	*path_out = sd_strdup(path);
	free(path);
	return 0;
}

/* The volume at path; NULL with no error when libvirt knows none there. */
static virStorageVolPtr volume_by_path(struct hv_conn *conn, const char *path, struct sd_err *err)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(conn->conn, path);

	if (!vol && hv_errcode() != VIR_ERR_NO_STORAGE_VOL)
		sd_err_set(err, SD_ERR_HV, _("cannot look up volume %s: %s"), path, hv_errmsg());
	return vol;
}

int hv_volume_delete_path(struct hv_conn *conn, const char *path, struct sd_err *err)
{
	struct sd_err lerr = SD_ERR_INIT;
	SD_AUTO(vir_vol) *vol = volume_by_path(conn, path, &lerr);
	int rc;

	if (!vol && !sd_err_is_set(&lerr)) {
		/* The file may be newer than the pool's last refresh. */
		struct sd_err ignored = SD_ERR_INIT;
		struct hv_pool pool;
		SD_AUTO(vir_pool) *p = NULL;

		if (hv_pool_for_path(conn, path, &pool, &ignored) != 1)
			return 0;
		p = virStoragePoolLookupByName(conn->conn, pool.name);
		hv_pool_clear(&pool);
		if (!p || pool_refresh(p) < 0)
			return 0;
		vol = volume_by_path(conn, path, &lerr);
		if (!vol && !sd_err_is_set(&lerr))
			return 0;
	}
	if (!vol) {
		sd_err_set(err, lerr.code, "%s", lerr.msg);
		return -1;
	}
	for (int i = 0;
	     (rc = virStorageVolDelete(vol, 0)) < 0 && hv_err_is_busy() && i < HV_BUSY_RETRIES; i++)
		hv_retry_pause();
	if (rc < 0 && hv_errcode() != VIR_ERR_NO_STORAGE_VOL) {
		sd_err_set(err, SD_ERR_HV, _("cannot delete volume %s: %s"), path, hv_errmsg());
		return -1;
	}
	return 0;
}
