/* The journal: every operation that changes disks or domains is recorded
 * with its plan of steps before it acts, each step's progress as it goes,
 * and its end; sync finds what a crash left unfinished. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

/* vm_id NULL for an operation on no VM (vm_id <= 0). */
static const char sql_op_insert[] =
    "INSERT INTO operations (vm_id, vm_name, op, state, plan, started, owner_host, owner_pid,"
    " owner_start) VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8) RETURNING id";
static const char sql_step_insert[] =
    "INSERT INTO operation_steps (operation_id, seq, kind, args, undo, destructive, state)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')";
static const char sql_step_state[] =
    "UPDATE operation_steps SET state = ?3 WHERE operation_id = ?1 AND seq = ?2";
static const char sql_op_end[] =
    "UPDATE operations SET state = ?2, ended = ?3, error = ?4 WHERE id = ?1";
static const char sql_op_set_owner[] =
    "UPDATE operations SET owner_host = ?2, owner_pid = ?3, owner_start = ?4 WHERE id = ?1";

/* Unfinished operations, of every VM or of one (two statements, so that the
 * second uses the operations_vm index), and their steps. */
#define UNFINISHED "state IN ('planned','running')"
static const char sql_op_unfinished_all[] =
    "SELECT id, vm_id, vm_name, op, state, plan, started, ended, error, owner_host, owner_pid,"
    " owner_start FROM operations WHERE " UNFINISHED " ORDER BY id";
static const char sql_op_unfinished_vm[] =
    "SELECT id, vm_id, vm_name, op, state, plan, started, ended, error, owner_host, owner_pid,"
    " owner_start FROM operations WHERE vm_id = ?1 AND " UNFINISHED " ORDER BY id";
enum {
	OP_ID,
	OP_VM_ID,
	OP_VM_NAME,
	OP_OP,
	OP_STATE,
	OP_PLAN,
	OP_STARTED,
	OP_ENDED,
	OP_ERROR,
	OP_OWNER_HOST,
	OP_OWNER_PID,
	OP_OWNER_START
};
static const char sql_steps_unfinished_all[] =
    "SELECT operation_id, seq, kind, args, undo, destructive, state FROM operation_steps"
    " WHERE operation_id IN (SELECT id FROM operations WHERE " UNFINISHED ")"
    " ORDER BY operation_id, seq";
static const char sql_steps_unfinished_vm[] =
    "SELECT operation_id, seq, kind, args, undo, destructive, state FROM operation_steps"
    " WHERE operation_id IN (SELECT id FROM operations WHERE vm_id = ?1 AND " UNFINISHED ")"
    " ORDER BY operation_id, seq";
enum { STEP_OP_ID, STEP_SEQ, STEP_KIND, STEP_ARGS, STEP_UNDO, STEP_DESTRUCTIVE, STEP_STATE };

static const char *const step_states[] = {"pending", "running", "done", "undone"};
static const char *const end_states[] = {"done", "failed", "rolled_back"};

static bool one_of(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s && strcmp(s, v[i]) == 0)
			return true;
	return false;
}

void catalog_op_clear(struct catalog_op *op)
{
	if (!op)
		return;
	free(op->vm_name);
	free(op->op);
	free(op->state);
	free(op->plan);
	free(op->started);
	free(op->ended);
	free(op->error);
	for (size_t i = 0; i < op->nsteps; i++) {
		free(op->steps[i].kind);
		free(op->steps[i].args);
		free(op->steps[i].undo);
		free(op->steps[i].state);
	}
	free(op->steps);
	memset(op, 0, sizeof(*op));
}

void catalog_ops_free(struct catalog_op *ops, size_t n)
{
	if (!ops)
		return;
	for (size_t i = 0; i < n; i++)
		catalog_op_clear(&ops[i]);
	free(ops);
}

static int journal_failed(struct catalog *cat, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG, _("cannot write the journal to the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	return -1;
}

static int insert_steps(struct catalog *cat, int64_t op_id, const struct catalog_step *steps,
			size_t nsteps, struct sd_err *err)
{
	SD_AUTO(stmt) *st = NULL;

	if (nsteps == 0)
		return 0;
	st = catalog_prepare(cat, sql_step_insert, err);
	if (!st)
		return -1;
	for (size_t i = 0; i < nsteps; i++) {
		const struct catalog_step *s = &steps[i];
		/* A step without its number is numbered by its place. */
		int seq = s->seq > 0 ? s->seq : (int)i + 1;

		if (!s->kind || !s->args) {
			sd_err_set(err, SD_ERR_INTERNAL,
				   _("journal step %d has no kind or no arguments"), seq);
			return -1;
		}
		sqlite3_reset(st);
		if (sqlite3_bind_int64(st, 1, op_id) != SQLITE_OK ||
		    sqlite3_bind_int(st, 2, seq) != SQLITE_OK ||
		    catalog_bind_text(st, 3, s->kind) != SQLITE_OK ||
		    catalog_bind_text(st, 4, s->args) != SQLITE_OK ||
		    catalog_bind_text(st, 5, s->undo) != SQLITE_OK ||
		    sqlite3_bind_int(st, 6, s->destructive) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			return journal_failed(cat, err);
	}
	return 0;
}

int catalog_op_begin(struct catalog *cat, int64_t vm_id, const char *vm_name, const char *op,
		     const char *plan_json, const struct catalog_step *steps, size_t nsteps,
		     const struct catalog_owner *owner, int64_t *op_id, struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];
	int64_t id;

	if (!op || !plan_json || !owner) {
		sd_err_set(err, SD_ERR_INTERNAL,
			   _("an operation needs a name, a plan and an owner"));
		return -1;
	}
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_op_insert, err);
	if (!st)
		return -1;
	sd_time_iso(sd_now(), now);
	if ((vm_id > 0 ? sqlite3_bind_int64(st, 1, vm_id) : sqlite3_bind_null(st, 1)) !=
		SQLITE_OK ||
	    catalog_bind_text(st, 2, vm_name) != SQLITE_OK ||
	    catalog_bind_text(st, 3, op) != SQLITE_OK ||
	    catalog_bind_text(st, 4, plan_json) != SQLITE_OK ||
	    catalog_bind_text(st, 5, now) != SQLITE_OK ||
	    catalog_bind_text(st, 6, owner->host) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, owner->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, owner->start) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		return journal_failed(cat, err);
	id = sqlite3_column_int64(st, 0);
	/* RETURNING: the statement must run to its end before the commit. */
	if (sqlite3_step(st) != SQLITE_DONE)
		return journal_failed(cat, err);
	if (insert_steps(cat, id, steps, nsteps, err) < 0)
		return -1;
	if (catalog_write_commit(&w, err) < 0)
		return -1;
	if (op_id)
		*op_id = id;
	return 0;
}

/* Runs a bound UPDATE of one operation's row(s) in a write of its own (or
 * the caller's transaction); SD_ERR_NOT_FOUND when it touched nothing. */
static int update_op(struct catalog *cat, struct catalog_write *w, sqlite3_stmt *st, int64_t op_id,
		     struct sd_err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return journal_failed(cat, err);
	if (sqlite3_changes(cat->db) == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no operation %lld in the journal"),
			   (long long)op_id);
		return -1;
	}
	return catalog_write_commit(w, err);
}

int catalog_op_step_state(struct catalog *cat, int64_t op_id, int seq, const char *state,
			  struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (!one_of(state, step_states, SD_N_ELEMENTS(step_states))) {
		sd_err_set(err, SD_ERR_INTERNAL, _("\"%s\" is not a state of a journal step"),
			   state ? state : "(null)");
		return -1;
	}
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_step_state, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, op_id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, seq) != SQLITE_OK ||
	    catalog_bind_text(st, 3, state) != SQLITE_OK)
		return journal_failed(cat, err);
	if (sqlite3_step(st) != SQLITE_DONE)
		return journal_failed(cat, err);
	if (sqlite3_changes(cat->db) == 0) {
		sd_err_set(err, SD_ERR_NOT_FOUND, _("no step %d of operation %lld in the journal"),
			   seq, (long long)op_id);
		return -1;
	}
	return catalog_write_commit(&w, err);
}

int catalog_op_end(struct catalog *cat, int64_t op_id, const char *state, const char *error,
		   struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;
	char now[SD_ISO_LEN];

	if (!one_of(state, end_states, SD_N_ELEMENTS(end_states))) {
		sd_err_set(err, SD_ERR_INTERNAL, _("\"%s\" is not a state an operation ends in"),
			   state ? state : "(null)");
		return -1;
	}
	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_op_end, err);
	if (!st)
		return -1;
	sd_time_iso(sd_now(), now);
	if (sqlite3_bind_int64(st, 1, op_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, state) != SQLITE_OK ||
	    catalog_bind_text(st, 3, now) != SQLITE_OK ||
	    catalog_bind_text(st, 4, error) != SQLITE_OK)
		return journal_failed(cat, err);
	return update_op(cat, &w, st, op_id, err);
}

int catalog_op_set_owner(struct catalog *cat, int64_t op_id, const struct catalog_owner *owner,
			 struct sd_err *err)
{
	CATALOG_WRITE w = {0};
	SD_AUTO(stmt) *st = NULL;

	if (catalog_write_begin(cat, &w, err) < 0)
		return -1;
	st = catalog_prepare(cat, sql_op_set_owner, err);
	if (!st)
		return -1;
	if (sqlite3_bind_int64(st, 1, op_id) != SQLITE_OK ||
	    catalog_bind_text(st, 2, owner->host) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, owner->pid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, owner->start) != SQLITE_OK)
		return journal_failed(cat, err);
	return update_op(cat, &w, st, op_id, err);
}

/* ---- reading ---- */

static int read_failed(struct catalog *cat, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG, _("cannot read the journal from the catalog: %s"),
		   sqlite3_errmsg(cat->db));
	return -1;
}

static int read_ops(struct catalog *cat, int64_t vm_id, struct catalog_op **ops, size_t *n,
		    struct sd_err *err)
{
	SD_AUTO(stmt) *st =
	    catalog_prepare(cat, vm_id < 0 ? sql_op_unfinished_all : sql_op_unfinished_vm, err);
	size_t cap = 0;
	int rc;

	if (!st)
		return -1;
	if (vm_id >= 0 && sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK)
		return read_failed(cat, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_op *op;
		const char *host = (const char *)sqlite3_column_text(st, OP_OWNER_HOST);

		sd_grow(ops, &cap, *n + 1, sizeof(**ops));
		op = &(*ops)[(*n)++];
		memset(op, 0, sizeof(*op));
		op->id = sqlite3_column_int64(st, OP_ID);
		op->vm_id = sqlite3_column_type(st, OP_VM_ID) == SQLITE_NULL
				? -1
				: sqlite3_column_int64(st, OP_VM_ID);
		op->vm_name = catalog_column_dup(st, OP_VM_NAME);
		op->op = catalog_column_dup(st, OP_OP);
		op->state = catalog_column_dup(st, OP_STATE);
		op->plan = catalog_column_dup(st, OP_PLAN);
		op->started = catalog_column_dup(st, OP_STARTED);
		op->ended = catalog_column_dup(st, OP_ENDED);
		op->error = catalog_column_dup(st, OP_ERROR);
		snprintf(op->owner.host, sizeof(op->owner.host), "%s", host ? host : "");
		op->owner.pid = sqlite3_column_int64(st, OP_OWNER_PID);
		op->owner.start = sqlite3_column_int64(st, OP_OWNER_START);
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, err);
}

/* Hangs the steps on their operations: both lists come sorted by
 * operation id, so one merge pass does it. */
static int read_steps(struct catalog *cat, int64_t vm_id, struct catalog_op *ops, size_t n,
		      struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(
	    cat, vm_id < 0 ? sql_steps_unfinished_all : sql_steps_unfinished_vm, err);
	size_t k = 0, cap = 0;
	int rc;

	if (!st)
		return -1;
	if (vm_id >= 0 && sqlite3_bind_int64(st, 1, vm_id) != SQLITE_OK)
		return read_failed(cat, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t op_id = sqlite3_column_int64(st, STEP_OP_ID);
		struct catalog_op *op;
		struct catalog_step *s;

		while (k < n && ops[k].id < op_id) {
			k++;
			cap = 0;
		}
		if (k == n || ops[k].id != op_id)
			continue; /* cannot happen: one read transaction */
		op = &ops[k];
		sd_grow(&op->steps, &cap, op->nsteps + 1, sizeof(*op->steps));
		s = &op->steps[op->nsteps++];
		s->seq = sqlite3_column_int(st, STEP_SEQ);
		s->kind = catalog_column_dup(st, STEP_KIND);
		s->args = catalog_column_dup(st, STEP_ARGS);
		s->undo = catalog_column_dup(st, STEP_UNDO);
		s->destructive = sqlite3_column_int(st, STEP_DESTRUCTIVE) != 0;
		s->state = catalog_column_dup(st, STEP_STATE);
	}
	return rc == SQLITE_DONE ? 0 : read_failed(cat, err);
}

int catalog_op_unfinished(struct catalog *cat, int64_t vm_id, struct catalog_op **ops, size_t *n,
			  struct sd_err *err)
{
	CATALOG_READ r = {0};
	struct catalog_op *v = NULL;
	size_t len = 0;

	*ops = NULL;
	*n = 0;
	if (catalog_read_begin(cat, &r, err) < 0)
		return -1;
	if (read_ops(cat, vm_id, &v, &len, err) < 0 || read_steps(cat, vm_id, v, len, err) < 0) {
		catalog_ops_free(v, len);
		return -1;
	}
	*ops = v;
	*n = len;
	return 0;
}
