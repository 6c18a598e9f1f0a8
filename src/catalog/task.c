/* Tasks (long copies with progress) and the image holds they keep. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

static const char sql_task_insert[] =
    "INSERT INTO tasks (op, vm_name, label, state, bytes_done, bytes_total, created, started,"
    " owner_host, owner_pid, owner_start)"
    " VALUES (?1, ?2, ?3, 'queued', 0, ?4, ?5, NULL, ?6, ?7, ?8)";
static const char sql_task_ahead[] =
    "SELECT id, state, owner_host, owner_pid, owner_start FROM tasks"
    " WHERE state = 'running' OR (state = 'queued' AND id < ?1)";
static const char sql_task_start[] =
    "UPDATE tasks SET state = 'running', started = ?2 WHERE id = ?1 AND state = 'queued'";
static const char sql_task_progress[] =
    "UPDATE tasks SET bytes_done = ?2, bytes_total = ?3, rate = ?4 WHERE id = ?1";
static const char sql_task_cancel_flag[] = "SELECT cancel_requested FROM tasks WHERE id = ?1";
static const char sql_task_finish[] =
    "UPDATE tasks SET state = ?2, error = ?3, ended = ?4,"
    " bytes_done = CASE WHEN ?2 = 'done' THEN bytes_total ELSE bytes_done END"
    " WHERE id = ?1";
static const char sql_task_set_owner[] =
    "UPDATE tasks SET owner_host = ?2, owner_pid = ?3, owner_start = ?4 WHERE id = ?1";
static const char sql_task_cancel[] =
    "UPDATE tasks SET cancel_requested = 1 WHERE id = ?1 AND state IN ('queued','running')";
static const char sql_task_exists[] = "SELECT 1 FROM tasks WHERE id = ?1";
#define TASK_COLUMNS                                                                               \
	"t.id, t.op, t.vm_name, t.label, t.state, t.bytes_done, t.bytes_total, t.rate,"            \
	" t.created, t.started, t.ended, t.error, t.cancel_requested, t.owner_host,"               \
	" t.owner_pid, t.owner_start"
static const char sql_task_get[] = "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.id = ?1";
static const char sql_task_list[] =
    "SELECT * FROM (SELECT " TASK_COLUMNS " FROM tasks t ORDER BY t.id DESC LIMIT ?1) ORDER BY id";
enum {
	TASK_ID,
	TASK_OP,
	TASK_VM,
	TASK_LABEL,
	TASK_STATE,
	TASK_DONE,
	TASK_TOTAL,
	TASK_RATE,
	TASK_CREATED,
	TASK_STARTED,
	TASK_ENDED,
	TASK_ERROR,
	TASK_CANCEL,
	TASK_OWNER_HOST,
	TASK_OWNER_PID,
	TASK_OWNER_START,
};

static const char sql_hold_add[] = "INSERT OR IGNORE INTO image_holds (image_id, task_id)"
				   " VALUES (?1, ?2)";
static const char sql_hold_release[] = "DELETE FROM image_holds WHERE task_id = ?1";
static const char sql_hold_list[] =
    "SELECT " TASK_COLUMNS " FROM image_holds h JOIN tasks t ON t.id = h.task_id"
    " WHERE h.image_id = ?1 AND t.state IN ('queued','running')"
    " ORDER BY t.id";

void catalog_task_clear(struct catalog_task *t)
{
	if (!t)
		return;
	free(t->op);
	free(t->vm_name);
	free(t->label);
	free(t->state);
	free(t->created);
	free(t->started);
	free(t->ended);
	free(t->error);
	memset(t, 0, sizeof(*t));
}

void catalog_tasks_free(struct catalog_task *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		catalog_task_clear(&v[i]);
	free(v);
}

static int fail(struct catalog *cat, const char *what, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG, _("cannot %s in the catalog: %s"), what,
		   sqlite3_errmsg(cat->db));
	return -1;
}

static void read_task(sqlite3_stmt *st, struct catalog_task *t)
{
	const char *host = (const char *)sqlite3_column_text(st, TASK_OWNER_HOST);
	int64_t v;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, TASK_ID);
	t->op = catalog_column_dup(st, TASK_OP);
	t->vm_name = catalog_column_dup(st, TASK_VM);
	t->label = catalog_column_dup(st, TASK_LABEL);
	t->state = catalog_column_dup(st, TASK_STATE);
	v = sqlite3_column_int64(st, TASK_DONE);
	t->bytes_done = v > 0 ? (uint64_t)v : 0;
	v = sqlite3_column_int64(st, TASK_TOTAL);
	t->bytes_total = v > 0 ? (uint64_t)v : 0;
	t->rate = sqlite3_column_double(st, TASK_RATE);
	t->created = catalog_column_dup(st, TASK_CREATED);
	t->started = catalog_column_dup(st, TASK_STARTED);
	t->ended = catalog_column_dup(st, TASK_ENDED);
	t->error = catalog_column_dup(st, TASK_ERROR);
	t->cancel_requested = sqlite3_column_int64(st, TASK_CANCEL) != 0;
	if (host)
		snprintf(t->owner.host, sizeof(t->owner.host), "%s", host);
	t->owner.pid = sqlite3_column_int64(st, TASK_OWNER_PID);
	t->owner.start = sqlite3_column_int64(st, TASK_OWNER_START);
}

int catalog_task_insert(struct catalog *cat, const char *op, const char *vm_name, const char *label,
			uint64_t bytes_total, const struct catalog_owner *owner, int64_t *id,
			struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_task_insert, err);
	if (!st)
		return -1;
	sd_time_iso(sd_now(), now);
	if (catalog_bind_text(st, 1, op) != SQLITE_OK ||
	    catalog_bind_text(st, 2, vm_name) != SQLITE_OK ||
	    catalog_bind_text(st, 3, label) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)bytes_total) != SQLITE_OK ||
	    catalog_bind_text(st, 5, now) != SQLITE_OK ||
	    catalog_bind_text(st, 6, owner->host) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, owner->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, owner->start) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("record a task"), err);
	*id = sqlite3_last_insert_rowid(cat->db);
	return catalog_write_commit(&w, err);
}

int catalog_task_progress(struct catalog *cat, int64_t id, uint64_t bytes_done,
			  uint64_t bytes_total, double rate, bool *cancel_requested,
			  struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_task_progress, err);
	SD_AUTO(stmt) *q = NULL;

	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)bytes_done) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)bytes_total) != SQLITE_OK ||
	    sqlite3_bind_double(st, 4, rate) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("record a task's progress"), err);
	if (!cancel_requested)
		return 0;
	q = catalog_prepare(cat, sql_task_cancel_flag, err);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	*cancel_requested = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) != 0;
	return 0;
}

int catalog_task_finish(struct catalog *cat, int64_t id, const char *state, const char *error,
			struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	SD_AUTO(stmt) *rel = NULL;
	char now[SD_ISO_LEN];

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_task_finish, err);
	rel = st ? catalog_prepare(cat, sql_hold_release, err) : NULL;
	if (!rel)
		return -1;
	sd_time_iso(sd_now(), now);
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, state) != SQLITE_OK ||
	    catalog_bind_text(st, 3, error) != SQLITE_OK ||
	    catalog_bind_text(st, 4, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE ||
	    sqlite3_bind_int64(rel, 1, id) != SQLITE_OK || sqlite3_step(rel) != SQLITE_DONE)
		return fail(cat, _("end a task"), err);
	return catalog_write_commit(&w, err);
}

int catalog_task_set_owner(struct catalog *cat, int64_t id, const struct catalog_owner *owner,
			   struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_task_set_owner, err);

	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, owner->host) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, owner->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, owner->start) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("change a task's owner"), err);
	return 0;
}

int catalog_task_cancel(struct catalog *cat, int64_t id, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_task_cancel, err);
	SD_AUTO(stmt) *q = NULL;

	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("cancel a task"), err);
	if (sqlite3_changes(cat->db) > 0)
		return 1;
	q = catalog_prepare(cat, sql_task_exists, err);
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) == SQLITE_ROW)
		return 0;
	sd_err_set(err, SD_ERR_NOT_FOUND, _("no task %lld"), (long long)id);
	return -1;
}

int catalog_task_get(struct catalog *cat, int64_t id, struct catalog_task *t, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_task_get, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_task(st, t);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return fail(cat, _("read a task"), err);
}

/* Runs a statement that returns task rows. */
static int collect(struct catalog *cat, sqlite3_stmt *st, struct catalog_task **out, size_t *n,
		   struct sd_err *err)
{
	struct catalog_task *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sd_grow(&v, &cap, len + 1, sizeof(*v));
		read_task(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		catalog_tasks_free(v, len);
		return fail(cat, _("read the tasks"), err);
	}
	*out = v;
	*n = len;
	return 0;
}

int catalog_task_list(struct catalog *cat, size_t limit, struct catalog_task **out, size_t *n,
		      struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_task_list, err);

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (int64_t)limit);
	return collect(cat, st, out, n, err);
}

int catalog_hold_add(struct catalog *cat, int64_t task_id, const char *image_id, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_hold_add, err);

	if (!st)
		return -1;
	if (catalog_bind_text(st, 1, image_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, task_id) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("hold an image"), err);
	return 0;
}

int catalog_hold_release(struct catalog *cat, int64_t task_id, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_hold_release, err);

	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, task_id) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		return fail(cat, _("release image holds"), err);
	return 0;
}

int catalog_hold_list(struct catalog *cat, const char *image_id, struct catalog_task **out,
		      size_t *n, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql_hold_list, err);

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	catalog_bind_text(st, 1, image_id);
	return collect(cat, st, out, n, err);
}

int catalog_task_claim(struct catalog *cat, int64_t id, int workers,
		       catalog_owner_alive_fn alive, bool *claimed, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	SD_AUTO(stmt) *up = NULL;
	int running = 0, queued_before = 0, rc;
	char now[SD_ISO_LEN];

	*claimed = false;
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_task_ahead, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_owner o = {{0}, 0, 0};
		const char *host = (const char *)sqlite3_column_text(st, 2);

		snprintf(o.host, sizeof(o.host), "%s", host ? host : "");
		o.pid = sqlite3_column_int64(st, 3);
		o.start = sqlite3_column_int64(st, 4);
		if (sqlite3_column_int64(st, 0) == id || (alive && !alive(&o)))
			continue; /* a task whose owner is gone holds no slot */
		if (strcmp((const char *)sqlite3_column_text(st, 1), "running") == 0)
			running++;
		else
			queued_before++;
	}
	if (rc != SQLITE_DONE)
		return fail(cat, _("read the task queue"), err);
	if (running < workers && queued_before == 0) {
		up = catalog_prepare(cat, sql_task_start, err);
		if (!up)
			return -1;
		sd_time_iso(sd_now(), now);
		sqlite3_bind_int64(up, 1, id);
		catalog_bind_text(up, 2, now);
		if (sqlite3_step(up) != SQLITE_DONE)
			return fail(cat, _("start a task"), err);
		*claimed = sqlite3_changes(cat->db) == 1;
	}
	return catalog_write_commit(&w, err);
}
