/* Inside the catalog layer: the connection, statement helpers shared by the
 * table files, write transactions and the migration runner. The unit tests
 * include this header too, to reach the raw connection and the migration
 * hook; nothing outside src/catalog and its tests does. */
#ifndef SD_CATALOG_PRIV_H
#define SD_CATALOG_PRIV_H

#include <sqlite3.h>
#include <sys/types.h>

#include "catalog/catalog.h"

/* One connection. It is opened SQLITE_OPEN_FULLMUTEX, so single calls may
 * come from several threads; a transaction (catalog_begin) belongs to the
 * thread that opened it, and worker threads that write should open their own
 * connection. */
struct catalog {
	sqlite3 *db;
	char *path;
	bool readonly;
	bool in_tx;	    /* between catalog_begin and catalog_commit/rollback */
	int migrations_run; /* migration steps applied by the last migration */
	bool registered;    /* counted in the process's table of open catalog files */
	dev_t dev;
	ino_t ino;
};

SD_DEFINE_AUTO(stmt, sqlite3_stmt, sqlite3_finalize)

/* Prepares one named statement; NULL with err filled (SD_ERR_CATALOG). */
sqlite3_stmt *catalog_prepare(struct catalog *cat, const char *sql, struct sd_err *err);
/* Binds a C string as TEXT, byte for byte (copied); NULL binds SQL NULL. */
int catalog_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* A TEXT column as a new string; NULL for SQL NULL. */
char *catalog_column_dup(sqlite3_stmt *st, int col);
/* Runs one statement without parameters or rows (transaction control,
 * pragmas); returns the SQLite result code. */
int catalog_exec(struct catalog *cat, const char *sql);
/* The PRAGMA user_version of the connection; -1 with err filled. */
int catalog_read_user_version(struct catalog *cat, int *version, struct sd_err *err);

/* A write: BEGIN IMMEDIATE on its own, or a savepoint inside the caller's
 * catalog_begin transaction. Declared with CATALOG_WRITE it is rolled back on
 * every return that did not reach catalog_write_commit, so writers need no
 * cleanup ladder. Declare it before the statements it covers. */
struct catalog_write {
	struct catalog *cat;
	bool open;
	bool nested;
};
#define CATALOG_WRITE __attribute__((cleanup(catalog_write_abort))) struct catalog_write

int catalog_write_begin(struct catalog *cat, struct catalog_write *w, struct sd_err *err);
int catalog_write_commit(struct catalog_write *w, struct sd_err *err);
void catalog_write_abort(struct catalog_write *w);

/* A consistent read of several statements: a deferred transaction of its
 * own, or nothing when a transaction is open already (the caller's). Declared
 * with CATALOG_READ it ends on every return; declare it before the
 * statements it covers. */
struct catalog_read {
	struct catalog *cat;
	bool open;
};
#define CATALOG_READ __attribute__((cleanup(catalog_read_end))) struct catalog_read

int catalog_read_begin(struct catalog *cat, struct catalog_read *r, struct sd_err *err);
void catalog_read_end(struct catalog_read *r);

/* Migration step i brings the schema from version i to i + 1: a script run
 * with sqlite3_exec in one BEGIN IMMEDIATE transaction. The script sets
 * PRAGMA user_version itself (pragmas cannot be bound, and we never print
 * SQL); the runner checks that it did. */
struct catalog_migration {
	const char *name;
	const char *sql;
};

/* The product's migration steps (CATALOG_SCHEMA_VERSION of them). */
const struct catalog_migration *catalog_migrations(size_t *n);
/* Applies the steps the catalog has not seen yet, each in its own
 * transaction with foreign keys checked before its commit. Steps already
 * applied (user_version > i) are skipped, so concurrent openers do not
 * apply a step twice. cat->migrations_run counts the steps applied. Also the
 * unit tests' hook to check an upgrade with a test-only step. */
int catalog_migrate_steps(struct catalog *cat, const struct catalog_migration *steps, size_t n,
			  struct sd_err *err);
/* catalog_migrate_steps with the product's steps. */
int catalog_migrate(struct catalog *cat, struct sd_err *err);

#endif
