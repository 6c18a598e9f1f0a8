/* Images (layers) of a host, looked up by path. */
#include "config.h"

#include "catalog/priv.h"
#include "util/i18n.h"

static const char sql_image_find[] = "SELECT id FROM images WHERE host_id = ?1 AND path = ?2";

int catalog_image_find(struct catalog *cat, int64_t host_id, const char *path, char **id,
		       struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_image_find, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	catalog_bind_text(st, 2, path);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = catalog_column_dup(st, 0);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	sd_err_set(err, SD_ERR_CATALOG, _("cannot look up image %s in the catalog: %s"), path,
		   sqlite3_errmsg(sqlite3_db_handle(st)));
	return -1;
}
