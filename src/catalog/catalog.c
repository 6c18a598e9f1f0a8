/* The catalog connection: paths, opening (with the checks that refuse files
 * that are not ours before anything is written), transactions, and the
 * statement helpers the table files share. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/priv.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/time.h"

#define CATALOG_BUSY_TIMEOUT_MS 5000
#define CATALOG_RETRY_MS 10

/* The first 16 bytes of every SQLite 3 database file. */
static const char sqlite_magic[16] = "SQLite format 3";

static const char sql_user_version[] = "PRAGMA user_version";
static const char sql_data_version[] = "PRAGMA data_version";
static const char sql_journal_wal[] = "PRAGMA journal_mode = WAL";
static const char sql_foreign_keys_on[] = "PRAGMA foreign_keys = ON";
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_begin_read[] = "BEGIN DEFERRED";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT catalog_write";
static const char sql_release[] = "RELEASE catalog_write";
static const char sql_rollback_savepoint[] = "ROLLBACK TO catalog_write";

/* What a file holds before we write to it: its schema version and how many
 * tables it has (read in one statement, so one snapshot of the file). */
static const char sql_probe[] =
    "SELECT (SELECT user_version FROM pragma_user_version),"
    " (SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\')";
enum { PROBE_VERSION, PROBE_TABLES };

char *catalog_default_path(void)
{
	const char *env = getenv("SNAPDECK_CATALOG");
	const char *home;

	if (env && *env)
		return sd_strdup(env);
	if (geteuid() == 0)
		return sd_strdup("/var/lib/snapdeck/catalog.db");
	env = getenv("XDG_DATA_HOME");
	/* The XDG spec says to ignore a relative XDG_DATA_HOME. */
	if (env && env[0] == '/')
		return sd_asprintf("%s/snapdeck/catalog.db", env);
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		return NULL;
	return sd_asprintf("%s/.local/share/snapdeck/catalog.db", home);
}

/* ---- statement helpers ---- */

sqlite3_stmt *catalog_prepare(struct catalog *cat, const char *sql, struct sd_err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot read catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int catalog_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

char *catalog_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	if (!s)
		return NULL;
	return sd_strndup((const char *)s, (size_t)sqlite3_column_bytes(st, col));
}

int catalog_exec(struct catalog *cat, const char *sql)
{
	return sqlite3_exec(cat->db, sql, NULL, NULL, NULL);
}

/* Reads a one-integer pragma; -1 with err filled. */
static int read_pragma_int(struct catalog *cat, const char *sql, int64_t *out, struct sd_err *err)
{
	SD_AUTO(stmt) *st = catalog_prepare(cat, sql, err);

	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot read catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	*out = sqlite3_column_int64(st, 0);
	return 0;
}

int catalog_read_user_version(struct catalog *cat, int *version, struct sd_err *err)
{
	int64_t v;

	if (read_pragma_int(cat, sql_user_version, &v, err) < 0)
		return -1;
	*version = (int)v;
	return 0;
}

/* ---- opening ---- */

static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sd_strdup(".");
	if (slash == path)
		return sd_strdup("/");
	return sd_strndup(path, (size_t)(slash - path));
}

static int make_one_dir(const char *dir, struct sd_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST) {
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
	}
	sd_err_set(err, SD_ERR_IO, _("cannot create folder %s: %s"), dir, strerror(errno));
	return -1;
}

/* mkdir -p with mode 0700 for the folders it creates. */
static int make_dirs(const char *dir, struct sd_err *err)
{
	SD_AUTOFREE char *p = sd_strdup(dir);
	struct stat st;

	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (make_one_dir(p, err) < 0)
			return -1;
		*s = '/';
	}
	return make_one_dir(p, err);
}

/* The catalog files this process has open. Closing any descriptor of a file
 * drops every POSIX lock the process holds on it, SQLite's included: so
 * once a connection is open, the file is never opened by hand again. */
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_file {
	dev_t dev;
	ino_t ino;
	int count;
} open_files[16];

static bool file_open_here(const struct stat *st)
{
	bool found = false;

	pthread_mutex_lock(&open_files_lock);
	for (size_t i = 0; i < sizeof(open_files) / sizeof(open_files[0]); i++)
		if (open_files[i].count > 0 && open_files[i].dev == st->st_dev &&
		    open_files[i].ino == st->st_ino)
			found = true;
	pthread_mutex_unlock(&open_files_lock);
	return found;
}

static void file_register(struct catalog *cat)
{
	struct stat st;
	size_t i, free_slot = SIZE_MAX;

	if (stat(cat->path, &st) < 0)
		return;
	pthread_mutex_lock(&open_files_lock);
	for (i = 0; i < sizeof(open_files) / sizeof(open_files[0]); i++) {
		if (open_files[i].count > 0 && open_files[i].dev == st.st_dev &&
		    open_files[i].ino == st.st_ino)
			break;
		if (open_files[i].count == 0 && free_slot == SIZE_MAX)
			free_slot = i;
	}
	if (i == sizeof(open_files) / sizeof(open_files[0]))
		i = free_slot;
	if (i != SIZE_MAX) {
		open_files[i].dev = st.st_dev;
		open_files[i].ino = st.st_ino;
		open_files[i].count++;
		cat->registered = true;
		cat->dev = st.st_dev;
		cat->ino = st.st_ino;
	}
	pthread_mutex_unlock(&open_files_lock);
}

static void file_unregister(struct catalog *cat)
{
	if (!cat->registered)
		return;
	pthread_mutex_lock(&open_files_lock);
	for (size_t i = 0; i < sizeof(open_files) / sizeof(open_files[0]); i++)
		if (open_files[i].count > 0 && open_files[i].dev == cat->dev &&
		    open_files[i].ino == cat->ino) {
			open_files[i].count--;
			break;
		}
	pthread_mutex_unlock(&open_files_lock);
	cat->registered = false;
}

/* Refuses a path that is not a regular file or whose content does not start
 * like an SQLite database. An empty file is fine: SQLite treats it as an
 * empty database. Only reads. */
static int check_sqlite_file(const char *path, struct sd_err *err)
{
	char head[sizeof(sqlite_magic)];
	struct stat st;
	ssize_t n;
	int fd;

	/* Already open in this process: it was checked then, and opening it
	 * again by hand would drop SQLite's locks (see open_files). */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && file_open_here(&st))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sd_err_set(err, errno == ENOENT ? SD_ERR_NOT_FOUND : SD_ERR_IO,
			   _("cannot open catalog %s: %s"), path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		sd_err_set(err, SD_ERR_IO, _("catalog %s is not a regular file"), path);
		return -1;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n != (ssize_t)sizeof(head) || memcmp(head, sqlite_magic, sizeof(head)) != 0) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("%s is not a snapdeck catalog (not an SQLite database)"), path);
		return -1;
	}
	return 0;
}

/* Creates the file with mode 0600 when it is missing; otherwise checks that
 * it looks like SQLite and that we may write it. */
static int prepare_file(const char *path, struct sd_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		/* Whatever the umask did, the catalog is private. */
		int rc = fchmod(fd, 0600);
		close(fd);
		if (rc < 0) {
			sd_err_set(err, SD_ERR_IO, _("cannot create catalog %s: %s"), path,
				   strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		sd_err_set(err, SD_ERR_IO, _("cannot create catalog %s: %s"), path,
			   strerror(errno));
		return -1;
	}
	if (check_sqlite_file(path, err) < 0)
		return -1;
	if (access(path, R_OK | W_OK) < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot write catalog %s: %s"), path, strerror(errno));
		return -1;
	}
	return 0;
}

static struct catalog *catalog_new(const char *path, bool readonly)
{
	struct catalog *cat = sd_calloc(1, sizeof(*cat));

	cat->path = sd_strdup(path);
	cat->readonly = readonly;
	return cat;
}

static int open_connection(struct catalog *cat, int flags, struct sd_err *err)
{
	if (sqlite3_open_v2(cat->path, &cat->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot open catalog %s: %s"), cat->path,
			   cat->db ? sqlite3_errmsg(cat->db) : strerror(ENOMEM));
		return -1;
	}
	sqlite3_busy_timeout(cat->db, CATALOG_BUSY_TIMEOUT_MS);
	return 0;
}

/* Reads the schema version and table count, mapping SQLite's "file is not a
 * database" to our one-line refusal. */
static int probe(struct catalog *cat, int *version, int64_t *tables, struct sd_err *err)
{
	SD_AUTO(stmt) *st = NULL;
	int rc = sqlite3_prepare_v2(cat->db, sql_probe, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(st, PROBE_VERSION);
		*tables = sqlite3_column_int64(st, PROBE_TABLES);
		return 0;
	}
	if ((sqlite3_errcode(cat->db) & 0xff) == SQLITE_NOTADB)
		sd_err_set(err, SD_ERR_CATALOG,
			   _("%s is not a snapdeck catalog (not an SQLite database)"), cat->path);
	else
		sd_err_set(err, SD_ERR_CATALOG, _("cannot open catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
	return -1;
}

static int refuse_newer(struct catalog *cat, int version, struct sd_err *err)
{
	sd_err_set(err, SD_ERR_CATALOG,
		   _("catalog %s has schema version %d, newer than this snapdeck knows (%d)"),
		   cat->path, version, CATALOG_SCHEMA_VERSION);
	return -1;
}

/* Switches to WAL. Going from a rollback journal to WAL needs the file to
 * itself, and SQLite reports "locked" at once, without its busy handler,
 * when another process is doing the same (several consoles starting on a
 * fresh catalog): so we wait here, as long as the busy timeout. */
static int set_wal(struct catalog *cat, struct sd_err *err)
{
	int64_t deadline = sd_mono_ms() + CATALOG_BUSY_TIMEOUT_MS;

	for (;;) {
		SD_AUTO(stmt) *st = catalog_prepare(cat, sql_journal_wal, err);
		const char *mode;
		int rc;

		if (!st)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			mode = (const char *)sqlite3_column_text(st, 0);
			if (mode && strcasecmp(mode, "wal") == 0)
				return 0;
			sd_err_set(err, SD_ERR_CATALOG,
				   _("cannot switch catalog %s to WAL mode: it stays in %s"),
				   cat->path, mode ? mode : "?");
			return -1;
		}
		if ((rc & 0xff) != SQLITE_BUSY || sd_mono_ms() >= deadline) {
			sd_err_set(err, SD_ERR_CATALOG,
				   _("cannot switch catalog %s to WAL mode: %s"), cat->path,
				   sqlite3_errmsg(cat->db));
			return -1;
		}
		sqlite3_sleep(CATALOG_RETRY_MS);
	}
}

struct catalog *catalog_open(const char *path, struct sd_err *err)
{
	SD_AUTO(catalog) *cat = NULL;
	SD_AUTOFREE char *dir = NULL;
	int version;
	int64_t tables;

	if (!path || !*path) {
		sd_err_set(err, SD_ERR_INVALID, _("no catalog path given"));
		return NULL;
	}
	dir = parent_dir(path);
	if (make_dirs(dir, err) < 0)
		return NULL;
	if (access(dir, W_OK | X_OK) < 0) {
		sd_err_set(err, SD_ERR_IO, _("cannot write to folder %s: %s"), dir,
			   strerror(errno));
		return NULL;
	}
	if (prepare_file(path, err) < 0)
		return NULL;

	cat = catalog_new(path, false);
	if (open_connection(cat, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err) < 0)
		return NULL;
	/* Everything up to here only read: a file we refuse is left as it was. */
	if (probe(cat, &version, &tables, err) < 0)
		return NULL;
	if (version > CATALOG_SCHEMA_VERSION) {
		refuse_newer(cat, version, err);
		return NULL;
	}
	if (version == 0 && tables > 0) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("%s is not a snapdeck catalog (it holds another program's tables)"),
			   path);
		return NULL;
	}
	if (set_wal(cat, err) < 0 || catalog_migrate(cat, err) < 0)
		return NULL;
	if (catalog_exec(cat, sql_foreign_keys_on) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot open catalog %s: %s"), path,
			   sqlite3_errmsg(cat->db));
		return NULL;
	}
	/* A newer snapdeck may have migrated further while we were opening. */
	if (catalog_read_user_version(cat, &version, err) < 0)
		return NULL;
	if (version != CATALOG_SCHEMA_VERSION) {
		refuse_newer(cat, version, err);
		return NULL;
	}
	file_register(cat);
	return SD_STEAL(cat);
}

struct catalog *catalog_open_readonly(const char *path, struct sd_err *err)
{
	SD_AUTO(catalog) *cat = NULL;
	int version;
	int64_t tables;

	if (!path || !*path) {
		sd_err_set(err, SD_ERR_INVALID, _("no catalog path given"));
		return NULL;
	}
	if (check_sqlite_file(path, err) < 0)
		return NULL;
	cat = catalog_new(path, true);
	if (open_connection(cat, SQLITE_OPEN_READONLY, err) < 0)
		return NULL;
	if (probe(cat, &version, &tables, err) < 0)
		return NULL;
	if (version > CATALOG_SCHEMA_VERSION) {
		refuse_newer(cat, version, err);
		return NULL;
	}
	if (version == 0) {
		sd_err_set(err, SD_ERR_CATALOG, _("%s is not a snapdeck catalog"), path);
		return NULL;
	}
	if (version < CATALOG_SCHEMA_VERSION) {
		sd_err_set(
		    err, SD_ERR_CATALOG,
		    _("catalog %s has schema version %d, older than this snapdeck needs (%d); "
		      "open it once without --read-only to upgrade it"),
		    path, version, CATALOG_SCHEMA_VERSION);
		return NULL;
	}
	file_register(cat);
	return SD_STEAL(cat);
}

void catalog_close(struct catalog *cat)
{
	if (!cat)
		return;
	if (cat->in_tx)
		catalog_rollback(cat);
	sqlite3_close_v2(cat->db);
	file_unregister(cat);
	free(cat->path);
	free(cat);
}

const char *catalog_path(const struct catalog *cat)
{
	return cat->path;
}

int catalog_user_version(struct catalog *cat)
{
	int version;

	if (catalog_read_user_version(cat, &version, NULL) < 0)
		return -1;
	return version;
}

int64_t catalog_data_version(struct catalog *cat)
{
	int64_t v;

	if (read_pragma_int(cat, sql_data_version, &v, NULL) < 0)
		return -1;
	return v;
}

/* ---- transactions ---- */

int catalog_begin(struct catalog *cat, struct sd_err *err)
{
	if (cat->in_tx) {
		sd_err_set(err, SD_ERR_INTERNAL, _("a catalog transaction is already open"));
		return -1;
	}
	if (catalog_exec(cat, sql_begin) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot start a catalog transaction: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	cat->in_tx = true;
	return 0;
}

/* A failed commit rolls the transaction back: afterwards no transaction is
 * open either way. */
int catalog_commit(struct catalog *cat, struct sd_err *err)
{
	if (!cat->in_tx) {
		sd_err_set(err, SD_ERR_INTERNAL, _("no catalog transaction is open"));
		return -1;
	}
	cat->in_tx = false;
	if (sqlite3_get_autocommit(cat->db)) {
		/* SQLite already rolled back after an error (disk full, I/O). */
		sd_err_set(err, SD_ERR_CATALOG,
			   _("the catalog transaction was rolled back after an error"));
		return -1;
	}
	if (catalog_exec(cat, sql_commit) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot commit to the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		if (!sqlite3_get_autocommit(cat->db))
			catalog_exec(cat, sql_rollback);
		return -1;
	}
	return 0;
}

void catalog_rollback(struct catalog *cat)
{
	if (!cat->in_tx)
		return;
	cat->in_tx = false;
	if (!sqlite3_get_autocommit(cat->db))
		catalog_exec(cat, sql_rollback);
}

int catalog_write_begin(struct catalog *cat, struct catalog_write *w, struct sd_err *err)
{
	w->cat = cat;
	w->nested = cat->in_tx;
	if (w->nested && sqlite3_get_autocommit(cat->db)) {
		sd_err_set(err, SD_ERR_CATALOG,
			   _("the catalog transaction was rolled back after an error"));
		return -1;
	}
	if (catalog_exec(cat, w->nested ? sql_savepoint : sql_begin) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot start a catalog transaction: %s"),
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	w->open = true;
	return 0;
}

int catalog_write_commit(struct catalog_write *w, struct sd_err *err)
{
	struct catalog *cat = w->cat;

	if (catalog_exec(cat, w->nested ? sql_release : sql_commit) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot commit to the catalog: %s"),
			   sqlite3_errmsg(cat->db));
		catalog_write_abort(w);
		return -1;
	}
	w->open = false;
	return 0;
}

void catalog_write_abort(struct catalog_write *w)
{
	struct catalog *cat = w->cat;

	if (!w->open)
		return;
	w->open = false;
	if (sqlite3_get_autocommit(cat->db))
		return; /* SQLite already rolled everything back */
	if (w->nested) {
		catalog_exec(cat, sql_rollback_savepoint);
		catalog_exec(cat, sql_release);
	} else {
		catalog_exec(cat, sql_rollback);
	}
}

int catalog_read_begin(struct catalog *cat, struct catalog_read *r, struct sd_err *err)
{
	r->cat = cat;
	r->open = false;
	if (!sqlite3_get_autocommit(cat->db))
		return 0; /* inside a transaction already: it gives the snapshot */
	if (catalog_exec(cat, sql_begin_read) != SQLITE_OK) {
		sd_err_set(err, SD_ERR_CATALOG, _("cannot read catalog %s: %s"), cat->path,
			   sqlite3_errmsg(cat->db));
		return -1;
	}
	r->open = true;
	return 0;
}

/* COMMIT rather than ROLLBACK: nothing was written by us, and a write another
 * thread made on this shared connection meanwhile must not be lost. */
void catalog_read_end(struct catalog_read *r)
{
	struct catalog *cat = r->cat;

	if (!r->open)
		return;
	r->open = false;
	if (sqlite3_get_autocommit(cat->db))
		return;
	if (catalog_exec(cat, sql_commit) != SQLITE_OK && !sqlite3_get_autocommit(cat->db))
		catalog_exec(cat, sql_rollback);
}
