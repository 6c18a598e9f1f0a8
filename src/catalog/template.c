/* Templates: flattened copies of a snapshot, seeded once per pool, that
 * linked deploys rest on (DESIGN.md 8, 9). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

static const char sql_tpl_add[] =
    "INSERT INTO templates (id, host_id, name, pool, source_vm, source_snapshot,"
    " source_snapshot_id, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (id) DO NOTHING";
static const char sql_tpl_image_add[] =
    "INSERT INTO images (id, host_id, path, format, parent_id, pool, virtual_size, created)"
    " VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING";
static const char sql_tpl_disk_add[] =
    "INSERT INTO template_disks (template_id, target, image_id) VALUES (?1, ?2, ?3)"
    " ON CONFLICT DO NOTHING";
static const char sql_tpl_list[] =
    "SELECT id, name, pool, source_vm, source_snapshot, source_snapshot_id, created"
    " FROM templates WHERE host_id = ?1 ORDER BY name";
static const char sql_tpl_disks[] =
    "SELECT td.target, td.image_id, i.path, i.format, i.virtual_size"
    " FROM template_disks td JOIN images i ON i.id = td.image_id"
    " WHERE td.template_id = ?1 ORDER BY td.target";
/* The VMs whose active chains go through one of the template's images. */
static const char sql_tpl_dependents[] =
    "WITH RECURSIVE d(id) AS ("
    " SELECT image_id FROM template_disks WHERE template_id = ?1"
    " UNION SELECT i.id FROM images i JOIN d ON i.parent_id = d.id"
    ") SELECT DISTINCT v.name FROM vms v JOIN disks k ON k.vm_id = v.id"
    " WHERE k.active_image_id IN (SELECT id FROM d) ORDER BY v.name";
static const char sql_tpl_children[] =
    "SELECT count(*) FROM images i WHERE i.parent_id IN"
    " (SELECT image_id FROM template_disks WHERE template_id = ?1)";
static const char sql_tpl_remove_images[] =
    "DELETE FROM images WHERE host_id = ?2 AND id IN"
    " (SELECT image_id FROM template_disks WHERE template_id = ?1)";
static const char sql_tpl_remove[] = "DELETE FROM templates WHERE id = ?1 AND host_id = ?2";

static int fail(struct catalog *cat, const char *what, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG, _("cannot %s in the catalog: %s"), what,
		   sqlite3_errmsg(cat->db));
	return -1;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int catalog_template_add(struct catalog *cat, int64_t host_id, const json_t *a, const char *now,
			 struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	const json_t *d;
	size_t i;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	{
		SD_AUTO(stmt) *st = catalog_prepare(cat, sql_tpl_add, err);
		if (!st)
			return -1;
		if (catalog_bind_text(st, 1, jstr(a, "id")) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, host_id) != SQLITE_OK ||
		    catalog_bind_text(st, 3, jstr(a, "name")) != SQLITE_OK ||
		    catalog_bind_text(st, 4, jstr(a, "pool")) != SQLITE_OK ||
		    catalog_bind_text(st, 5, jstr(a, "vm")) != SQLITE_OK ||
		    catalog_bind_text(st, 6, jstr(a, "snapshot")) != SQLITE_OK ||
		    catalog_bind_text(st, 7, jstr(a, "snapshot_id")) != SQLITE_OK ||
		    catalog_bind_text(st, 8, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
			return fail(cat, _("record a template"), err);
	}
	json_array_foreach(json_object_get(a, "disks"), i, d)
	{
		SD_AUTO(stmt) *im = catalog_prepare(cat, sql_tpl_image_add, err);
		SD_AUTO(stmt) *td = im ? catalog_prepare(cat, sql_tpl_disk_add, err) : NULL;

		if (!td)
			return -1;
		if (catalog_bind_text(im, 1, jstr(d, "image_id")) != SQLITE_OK ||
		    sqlite3_bind_int64(im, 2, host_id) != SQLITE_OK ||
		    catalog_bind_text(im, 3, jstr(d, "path")) != SQLITE_OK ||
		    catalog_bind_text(im, 4, jstr(d, "format")) != SQLITE_OK ||
		    catalog_bind_text(im, 5, jstr(d, "pool")) != SQLITE_OK ||
		    sqlite3_bind_int64(im, 6,
				       json_integer_value(json_object_get(d, "virtual_size"))) !=
			SQLITE_OK ||
		    catalog_bind_text(im, 7, now) != SQLITE_OK || sqlite3_step(im) != SQLITE_DONE ||
		    catalog_bind_text(td, 1, jstr(a, "id")) != SQLITE_OK ||
		    catalog_bind_text(td, 2, jstr(d, "target")) != SQLITE_OK ||
		    catalog_bind_text(td, 3, jstr(d, "image_id")) != SQLITE_OK ||
		    sqlite3_step(td) != SQLITE_DONE)
			return fail(cat, _("record a template's disk"), err);
	}
	return catalog_write_commit(&w, err);
}

void catalog_templates_free(struct catalog_template *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		struct catalog_template *t = &v[i];
		free(t->id);
		free(t->name);
		free(t->pool);
		free(t->source_vm);
		free(t->source_snapshot);
		free(t->source_snapshot_id);
		free(t->created);
		for (size_t k = 0; k < t->ndisks; k++) {
			free(t->disks[k].target);
			free(t->disks[k].image_id);
			free(t->disks[k].path);
			free(t->disks[k].format);
		}
		free(t->disks);
		sd_strv_free(t->dependents);
	}
	free(v);
}

static int load_one(struct catalog *cat, struct catalog_template *t, struct sd_err *err)
{
	SD_AUTO(stmt) *ds = catalog_prepare(cat, sql_tpl_disks, err);
	SD_AUTO(stmt) *dep = ds ? catalog_prepare(cat, sql_tpl_dependents, err) : NULL;
	SD_AUTO(stmt) *ch = dep ? catalog_prepare(cat, sql_tpl_children, err) : NULL;
	size_t cap = 0, ndep = 0;
	int rc;

	if (!ch)
		return -1;
	catalog_bind_text(ds, 1, t->id);
	while ((rc = sqlite3_step(ds)) == SQLITE_ROW) {
		struct catalog_template_disk *d;
		sd_grow(&t->disks, &cap, t->ndisks + 1, sizeof(*t->disks));
		d = &t->disks[t->ndisks++];
		d->target = catalog_column_dup(ds, 0);
		d->image_id = catalog_column_dup(ds, 1);
		d->path = catalog_column_dup(ds, 2);
		d->format = catalog_column_dup(ds, 3);
		d->virtual_size = (uint64_t)sqlite3_column_int64(ds, 4);
	}
	if (rc != SQLITE_DONE)
		return fail(cat, _("read a template"), err);
	t->dependents = sd_calloc(1, sizeof(char *));
	catalog_bind_text(dep, 1, t->id);
	while ((rc = sqlite3_step(dep)) == SQLITE_ROW) {
		t->dependents = sd_realloc(t->dependents, (ndep + 2) * sizeof(char *));
		t->dependents[ndep++] = catalog_column_dup(dep, 0);
		t->dependents[ndep] = NULL;
	}
	if (rc != SQLITE_DONE)
		return fail(cat, _("read a template"), err);
	catalog_bind_text(ch, 1, t->id);
	if (sqlite3_step(ch) != SQLITE_ROW)
		return fail(cat, _("read a template"), err);
	t->children = (size_t)sqlite3_column_int64(ch, 0);
	return 0;
}

int catalog_template_list(struct catalog *cat, int64_t host_id, struct catalog_template **out,
			  size_t *n, struct sd_err *err)
{
	CATALOG_READ r = {0};
	SD_AUTO(stmt) *st = NULL;
	struct catalog_template *v = NULL;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (catalog_read_begin(cat, &r, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_tpl_list, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_template *t;
		sd_grow(&v, &cap, count + 1, sizeof(*v));
		t = &v[count++];
		memset(t, 0, sizeof(*t));
		t->id = catalog_column_dup(st, 0);
		t->name = catalog_column_dup(st, 1);
		t->pool = catalog_column_dup(st, 2);
		t->source_vm = catalog_column_dup(st, 3);
		t->source_snapshot = catalog_column_dup(st, 4);
		t->source_snapshot_id = catalog_column_dup(st, 5);
		t->created = catalog_column_dup(st, 6);
		if (load_one(cat, t, err) < 0) {
			catalog_templates_free(v, count);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		catalog_templates_free(v, count);
		return fail(cat, _("list templates"), err);
	}
	*out = v;
	*n = count;
	return 0;
}

int catalog_template_remove(struct catalog *cat, int64_t host_id, const char *id,
			    struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *ch = NULL;
	SD_AUTO(stmt) *ri = NULL;
	SD_AUTO(stmt) *rt = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	ch = catalog_prepare(cat, sql_tpl_children, err);
	ri = ch ? catalog_prepare(cat, sql_tpl_remove_images, err) : NULL;
	rt = ri ? catalog_prepare(cat, sql_tpl_remove, err) : NULL;
	if (!rt)
		return -1;
	catalog_bind_text(ch, 1, id);
	if (sqlite3_step(ch) != SQLITE_ROW)
		return fail(cat, _("read a template"), err);
	if (sqlite3_column_int64(ch, 0) > 0) {
		sd_err_set(err, SD_ERR_BUSY, _("the template is in use: %lld layers rest on it"),
			   (long long)sqlite3_column_int64(ch, 0));
		return -1;
	}
	if (catalog_bind_text(ri, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(ri, 2, host_id) != SQLITE_OK || sqlite3_step(ri) != SQLITE_DONE ||
	    catalog_bind_text(rt, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(rt, 2, host_id) != SQLITE_OK || sqlite3_step(rt) != SQLITE_DONE)
		return fail(cat, _("remove a template"), err);
	return catalog_write_commit(&w, err);
}
