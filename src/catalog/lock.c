/* Locks: one operation per VM at a time. A lock row names its owner (host,
 * pid, process start time); a lock whose owner is gone is taken over. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

static const char sql_lock_get[] =
    "SELECT op, owner_host, owner_pid, owner_start, since FROM locks WHERE vm_id = ?1";
enum { LOCK_OP, LOCK_HOST, LOCK_PID, LOCK_START, LOCK_SINCE };

/* A new lock, or the one of a dead owner replaced. */
static const char sql_lock_put[] =
    "INSERT INTO locks (vm_id, op, operation_id, owner_host, owner_pid, owner_start, since)"
    " VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (vm_id) DO UPDATE SET op = excluded.op, operation_id = NULL,"
    " owner_host = excluded.owner_host, owner_pid = excluded.owner_pid,"
    " owner_start = excluded.owner_start, since = excluded.since";
static const char sql_lock_set_op[] = "UPDATE locks SET op = ?2 WHERE vm_id = ?1";
static const char sql_lock_release[] =
    "DELETE FROM locks WHERE vm_id = ?1 AND owner_host = ?2 AND owner_pid = ?3"
    " AND owner_start = ?4";

static int lock_failed(struct catalog *cat, const char *vm_name, struct sd_err *err)
{
	if (sqlite3_extended_errcode(cat->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
		sd_err_set(err, SD_ERR_NOT_FOUND, _("VM %s is not in the catalog"), vm_name);
	else
		sd_err_set(err, SD_ERR_CATALOG, _("cannot lock VM %s in the catalog: %s"), vm_name,
			   sqlite3_errmsg(cat->db));
	return -1;
}

static bool same_owner(const struct catalog_owner *a, const struct catalog_owner *b)
{
	return a->pid == b->pid && a->start == b->start &&
	       strncmp(a->host, b->host, sizeof(a->host)) == 0;
}

/* "HH:MM:SS" in local time of an ISO-8601 UTC time; the text itself when it
 * does not parse. */
static void local_clock(const char *iso, char *out, size_t len)
{
	struct tm tm;
	time_t t;

	if (iso && sd_time_parse_iso(iso, &t) && localtime_r(&t, &tm) &&
	    strftime(out, len, "%H:%M:%S", &tm) > 0)
		return;
	snprintf(out, len, "%s", iso ? iso : "?");
}

static int busy(const char *vm_name, sqlite3_stmt *get, struct sd_err *err)
{
	const char *op = (const char *)sqlite3_column_text(get, LOCK_OP);
	char since[64];

	local_clock((const char *)sqlite3_column_text(get, LOCK_SINCE), since, sizeof(since));
	sd_err_set(err, SD_ERR_BUSY, _("VM %s is busy: %s by pid %lld since %s"), vm_name,
		   op ? op : "?", (long long)sqlite3_column_int64(get, LOCK_PID), since);
	return -1;
}

int catalog_lock_take(struct catalog *cat, int64_t vm_id, const char *vm_name, const char *op,
		      const struct catalog_owner *me, catalog_owner_alive_fn alive,
		      bool *taken_over, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *get = NULL;
	SD_AUTO(stmt) *put = NULL;
	SD_AUTOFREE char *fallback = NULL;
	struct catalog_owner holder = {{0}, 0, 0};
	char now[SD_ISO_LEN];
	bool take_over = false;
	int rc;

	if (taken_over)
		*taken_over = false;
	if (!vm_name)
		vm_name = fallback = sd_asprintf("#%lld", (long long)vm_id);
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	get = catalog_prepare(cat, sql_lock_get, err);
	if (!get)
		return -1;
	if (sqlite3_bind_int64(get, 1, vm_id) != SQLITE_OK)
		return lock_failed(cat, vm_name, err);
	rc = sqlite3_step(get);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lock_failed(cat, vm_name, err);
	if (rc == SQLITE_ROW) {
		const char *host = (const char *)sqlite3_column_text(get, LOCK_HOST);

		snprintf(holder.host, sizeof(holder.host), "%s", host ? host : "");
		holder.pid = sqlite3_column_int64(get, LOCK_PID);
		holder.start = sqlite3_column_int64(get, LOCK_START);
		if (same_owner(&holder, me)) {
			put = catalog_prepare(cat, sql_lock_set_op, err);
			if (!put)
				return -1;
			if (sqlite3_bind_int64(put, 1, vm_id) != SQLITE_OK ||
			    catalog_bind_text(put, 2, op) != SQLITE_OK ||
			    sqlite3_step(put) != SQLITE_DONE)
				return lock_failed(cat, vm_name, err);
			return catalog_write_commit(&w, err);
		}
		/* Without a way to tell, an owner counts as alive: never steal. */
		if (!alive || alive(&holder))
			return busy(vm_name, get, err);
		take_over = true;
	}
	sqlite3_reset(get);
	put = catalog_prepare(cat, sql_lock_put, err);
	if (!put)
		return -1;
	sd_time_iso(sd_now(), now);
	if (sqlite3_bind_int64(put, 1, vm_id) != SQLITE_OK ||
	    catalog_bind_text(put, 2, op) != SQLITE_OK ||
	    catalog_bind_text(put, 3, me->host) != SQLITE_OK ||
	    sqlite3_bind_int64(put, 4, me->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(put, 5, me->start) != SQLITE_OK ||
	    catalog_bind_text(put, 6, now) != SQLITE_OK || sqlite3_step(put) != SQLITE_DONE)
		return lock_failed(cat, vm_name, err);
	if (catalog_write_commit(&w, err) < 0)
		return -1;
	if (taken_over)
		*taken_over = take_over;
	return 0;
}

int catalog_lock_release(struct catalog *cat, int64_t vm_id, const struct catalog_owner *me,
			 struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_lock_release, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, me->host) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, me->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, me->start) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot unlock a VM in the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	/* Not holding it (any more) is no error: the lock is someone else's. */
	return catalog_write_commit(&w, err);
}
