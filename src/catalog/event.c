/* The event log: every operation, its result and every warning. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

static const char sql_event_add[] =
    "INSERT INTO events (time, vm_name, op, level, message) VALUES (?1, ?2, ?3, ?4, ?5)";

/* The newest ?1 events (-1: all), returned oldest first. Two statements
 * rather than "?2 IS NULL OR vm_name = ?2", so that the filtered one uses the
 * events_vm index. */
static const char sql_event_list_all[] = "SELECT id, time, vm_name, op, level, message FROM ("
					 " SELECT * FROM events ORDER BY id DESC LIMIT ?1"
					 ") ORDER BY id";
static const char sql_event_list_vm[] =
    "SELECT id, time, vm_name, op, level, message FROM ("
    " SELECT * FROM events WHERE vm_name = ?2 ORDER BY id DESC LIMIT ?1"
    ") ORDER BY id";
enum { EVENT_ID, EVENT_TIME, EVENT_VM, EVENT_OP, EVENT_LEVEL, EVENT_MESSAGE };

static const char *const level_names[] = {
    [CATALOG_INFO] = "info",
    [CATALOG_WARNING] = "warning",
    [CATALOG_ERROR] = "error",
};

const char *catalog_level_name(enum catalog_level level)
{
	if ((size_t)level >= SD_N_ELEMENTS(level_names))
		return "error";
	return level_names[level];
}

static enum catalog_level level_parse(const char *s)
{
	for (size_t i = 0; i < SD_N_ELEMENTS(level_names); i++)
		if (s && strcmp(s, level_names[i]) == 0)
			return (enum catalog_level)i;
	return CATALOG_ERROR; /* the CHECK constraint keeps this from happening */
}

int catalog_event_add(struct catalog *cat, const char *vm, const char *op, enum catalog_level level,
		      const char *message, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_event_add, err);
	if (!st)
		return -1;
	sd_time_iso(sd_now(), now);
	if (catalog_bind_text(st, 1, now) != SQLITE_OK ||
	    catalog_bind_text(st, 2, vm) != SQLITE_OK ||
	    catalog_bind_text(st, 3, op) != SQLITE_OK ||
	    catalog_bind_text(st, 4, catalog_level_name(level)) != SQLITE_OK ||
	    catalog_bind_text(st, 5, message) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot add an event to the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	return catalog_write_commit(&w, err);
}

void catalog_events_free(struct catalog_event *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].time);
		free(v[i].vm);
		free(v[i].op);
		free(v[i].message);
	}
	free(v);
}

int catalog_event_list(struct catalog *cat, const char *vm, size_t limit,
		       struct catalog_event **out, size_t *n, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, vm ? sql_event_list_vm : sql_event_list_all, err);
	struct catalog_event *v = NULL;
	size_t len = 0, cap = 0;
	int64_t sql_limit = limit == 0 || limit > (uint64_t)INT64_MAX ? -1 : (int64_t)limit;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, sql_limit) != SQLITE_OK ||
	    (vm && catalog_bind_text(st, 2, vm) != SQLITE_OK))
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_event *e;

		sd_grow(&v, &cap, len + 1, sizeof(*v));
		e = &v[len++];
		e->id = sqlite3_column_int64(st, EVENT_ID);
		e->time = catalog_column_dup(st, EVENT_TIME);
		e->vm = catalog_column_dup(st, EVENT_VM);
		e->op = catalog_column_dup(st, EVENT_OP);
		e->level = level_parse((const char *)sqlite3_column_text(st, EVENT_LEVEL));
		e->message = catalog_column_dup(st, EVENT_MESSAGE);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	*out = v;
	*n = len;
	return 0;
fail:
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read the events from the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	catalog_events_free(v, len);
	return -1;
}
