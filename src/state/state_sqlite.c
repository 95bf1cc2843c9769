/* The SQLite driver of the state store: one database file (default
 * .sluice/state.db) holding runs, steps and map items, checkpoints,
 * pipeline generations, ingested files and API keys. This file has the
 * schema and everything but items (state_sqlite_items.c) and API keys
 * (state_sqlite_keys.c).
 *
 * The schema is versioned with PRAGMA user_version and migrated forward at
 * open inside one IMMEDIATE transaction, so two processes opening a fresh
 * file at once do not race. Every statement is prepared once and cached on
 * the handle; values are always bound, never formatted into SQL. Times are
 * integer microseconds since the epoch, except sluice_checkpoints.updated_at
 * which is ISO 8601 text because sinks share that table's DDL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/fsutil.h"
#include "sluice/hash.h"
#include "sluice/timeutil.h"
#include "state_sqlite.h"

/* Migrations: entry i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE IF NOT EXISTS runs ("
    " id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, params_json TEXT,"
    " status TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, error TEXT);"
    "CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);"
    "CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, started_at);"
    "CREATE TABLE IF NOT EXISTS step_runs ("
    " run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step TEXT NOT NULL,"
    " status TEXT NOT NULL, records_in INTEGER NOT NULL DEFAULT 0,"
    " records_out INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " bytes_in INTEGER NOT NULL DEFAULT 0, started INTEGER, ended INTEGER, error TEXT,"
    " PRIMARY KEY (run_id, step));" SL_STATE_CHECKPOINTS_DDL ";"
    "CREATE TABLE IF NOT EXISTS sluice_pipelines ("
    " pipeline TEXT PRIMARY KEY, generation INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS ingested_files ("
    " pipeline TEXT NOT NULL, step TEXT NOT NULL, path TEXT NOT NULL, size INTEGER,"
    " mtime_us INTEGER, hash TEXT, records INTEGER, run_id TEXT, ingested_at INTEGER,"
    " PRIMARY KEY (pipeline, step, path));",
    /* v2: typed runs and steps (trigger, parent, error class, redrives,
     * outputs, attempts) and map items with leases. Steps recorded before
     * had one attempt. */
    "ALTER TABLE runs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'cli';"
    "ALTER TABLE runs ADD COLUMN parent_run_id TEXT;"
    "ALTER TABLE runs ADD COLUMN error_class TEXT;"
    "ALTER TABLE runs ADD COLUMN redrive_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN output_json TEXT;"
    "CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_run_id);"
    "ALTER TABLE step_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE step_runs SET attempts = 1;"
    "ALTER TABLE step_runs ADD COLUMN output_json TEXT;"
    "ALTER TABLE step_runs ADD COLUMN error_class TEXT;"
    "CREATE TABLE IF NOT EXISTS items ("
    " run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, step TEXT NOT NULL,"
    " idx INTEGER NOT NULL, value_json TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " started_us INTEGER, ended_us INTEGER, output_json TEXT, error_class TEXT, error TEXT,"
    " owner TEXT, lease_expires_us INTEGER, gen INTEGER NOT NULL DEFAULT 0,"
    " heartbeat_us INTEGER, PRIMARY KEY (run_id, step, idx));"
    "CREATE INDEX IF NOT EXISTS items_by_status ON items (run_id, step, status, idx);",
    /* v3: the pipeline file a run was started from (NULL for older runs). */
    "ALTER TABLE runs ADD COLUMN definition TEXT;",
    /* v4: the API keys of `sluice serve`: each key's hash, never the key. */
    "CREATE TABLE IF NOT EXISTS api_keys ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, hash TEXT NOT NULL,"
    " created_us INTEGER NOT NULL, revoked_us INTEGER, last_used_us INTEGER);",
};
#define SCHEMA_VERSION ((int)SL_ARRAY_LEN(migrations))

#define RUN_COLS                                                                           \
    "id, pipeline, params_json, status, started_at, ended_at, error, trigger, parent_run_id," \
    " error_class, redrive_count, output_json, definition"
/* Runs listings filter by a status list (sl_state_status_list) and a
 * parent, both optional. */
#define RUNS_WHERE                                                                         \
    " (?2 IS NULL OR instr(?2, ',' || status || ',') > 0)"                                 \
    " AND (?3 IS NULL OR parent_run_id = ?3)"                                              \
    " AND (?5 IS NULL OR started_at >= ?5) AND (?6 IS NULL OR started_at < ?6)"             \
    " AND (?8 IS NULL OR started_at < ?7 OR (started_at = ?7 AND id < ?8))"
#define CP_UPSERT                                                                          \
    " ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value,"                   \
    " gen = excluded.gen, seq = excluded.seq, updated_at = excluded.updated_at"

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_RUN_BEGIN,
    Q_RUN_FINISH,
    Q_RUN_REDRIVE,
    Q_RUN_STATUS,
    Q_RUNS_INTERRUPTED,
    Q_STEP_PUT,
    Q_RUNS_ALL,
    Q_RUNS_PIPELINE,
    Q_RUN_PREFIX,
    Q_RUN_PREFIX_COUNT,
    Q_STEPS_OF,
    Q_GEN_GET,
    Q_GEN_BUMP,
    Q_CP_GET,
    Q_CP_PUT,
    Q_CP_PUT_FENCED,
    Q_CP_LIST,
    Q_CP_DEL_ALL,
    Q_CP_DEL_KEY,
    Q_FILES_DEL_ALL,
    Q_FILES_DEL_STEP,
    Q_FILE_GET,
    Q_FILE_PUT,
    Q_COUNT
};
_Static_assert(Q_COUNT <= SL_STATE_SQLITE_CORE_STMTS, "more statements than cache slots");

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    /* A resumed run begins again under its id: it keeps its start time,
     * trigger, parent and redrive count, and its definition unless given
     * a new one. */
    [Q_RUN_BEGIN] = "INSERT INTO runs (id, pipeline, params_json, status, started_at, trigger,"
                    " parent_run_id, definition)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 'cli'), ?7, ?8)"
                    " ON CONFLICT (id) DO UPDATE SET params_json = excluded.params_json,"
                    " status = excluded.status, ended_at = NULL, error = NULL,"
                    " error_class = NULL, output_json = NULL,"
                    " definition = COALESCE(excluded.definition, runs.definition)"
                    " WHERE runs.pipeline = excluded.pipeline",
    [Q_RUN_FINISH] = "UPDATE runs SET status = ?2, ended_at = ?3, error = ?4, error_class = ?5,"
                     " output_json = ?6 WHERE id = ?1",
    [Q_RUN_REDRIVE] = "UPDATE runs SET redrive_count = redrive_count + 1, status = 'running',"
                      " ended_at = NULL, error = NULL, error_class = NULL, output_json = NULL"
                      " WHERE id = ?1 AND status NOT IN ('pending', 'running')",
    [Q_RUN_STATUS] = "SELECT status FROM runs WHERE id = ?1",
    [Q_RUNS_INTERRUPTED] =
        "UPDATE runs SET status = 'interrupted', ended_at = ?2,"
        " error = 'the process stopped before the run ended (killed or crashed)'"
        " WHERE pipeline = ?1 AND status = 'running'",
    [Q_STEP_PUT] =
        "INSERT INTO step_runs (run_id, step, status, records_in, records_out, rejected,"
        " bytes_in, started, ended, error, attempts, output_json, error_class)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        " ON CONFLICT (run_id, step) DO UPDATE SET status = excluded.status,"
        " records_in = excluded.records_in, records_out = excluded.records_out,"
        " rejected = excluded.rejected, bytes_in = excluded.bytes_in,"
        " started = excluded.started, ended = excluded.ended, error = excluded.error,"
        " attempts = excluded.attempts, output_json = excluded.output_json,"
        " error_class = excluded.error_class",
    [Q_RUNS_ALL] = "SELECT " RUN_COLS " FROM runs WHERE" RUNS_WHERE
                   " ORDER BY started_at DESC, id DESC LIMIT ?1",
    [Q_RUNS_PIPELINE] = "SELECT " RUN_COLS " FROM runs WHERE pipeline = ?4 AND" RUNS_WHERE
                        " ORDER BY started_at DESC, id DESC LIMIT ?1",
    [Q_RUN_PREFIX] = "SELECT " RUN_COLS " FROM runs WHERE id >= ?1 AND (?2 IS NULL OR id < ?2)"
                     " ORDER BY id LIMIT 4",
    [Q_RUN_PREFIX_COUNT] = "SELECT count(*) FROM runs WHERE id >= ?1 AND (?2 IS NULL OR id < ?2)",
    [Q_STEPS_OF] = "SELECT run_id, step, status, records_in, records_out, rejected, bytes_in,"
                   " started, ended, error, attempts, output_json, error_class"
                   " FROM step_runs WHERE run_id = ?1 ORDER BY started, rowid",
    [Q_GEN_GET] = "SELECT generation FROM sluice_pipelines WHERE pipeline = ?1",
    [Q_GEN_BUMP] = "INSERT INTO sluice_pipelines (pipeline, generation) VALUES (?1, 2)"
                   " ON CONFLICT (pipeline) DO UPDATE SET generation = generation + 1",
    [Q_CP_GET] = "SELECT value, gen, seq, updated_at FROM sluice_checkpoints"
                 " WHERE pipeline = ?1 AND key = ?2",
    [Q_CP_PUT] = "INSERT INTO sluice_checkpoints (pipeline, key, value, gen, seq, updated_at)"
                 " VALUES (?1, ?2, ?3, COALESCE((SELECT generation FROM sluice_pipelines"
                 " WHERE pipeline = ?1), 1), ?4, ?5)" CP_UPSERT,
    /* One statement: the lease check and the write are atomic. */
    [Q_CP_PUT_FENCED] = "INSERT INTO sluice_checkpoints (pipeline, key, value, gen, seq,"
                        " updated_at) SELECT ?1, ?2, ?3, COALESCE((SELECT generation FROM"
                        " sluice_pipelines WHERE pipeline = ?1), 1), ?4, ?5"
                        " WHERE EXISTS (SELECT 1 FROM items WHERE run_id = ?6 AND step = ?7"
                        " AND idx = ?8 AND gen = ?9 AND status = 'running')" CP_UPSERT,
    [Q_CP_LIST] = "SELECT key, value, gen, seq, updated_at FROM sluice_checkpoints"
                  " WHERE pipeline = ?1 ORDER BY key",
    [Q_CP_DEL_ALL] = "DELETE FROM sluice_checkpoints WHERE pipeline = ?1",
    [Q_CP_DEL_KEY] = "DELETE FROM sluice_checkpoints WHERE pipeline = ?1 AND key = ?2",
    [Q_FILES_DEL_ALL] = "DELETE FROM ingested_files WHERE pipeline = ?1",
    [Q_FILES_DEL_STEP] = "DELETE FROM ingested_files WHERE pipeline = ?1 AND step = ?2",
    [Q_FILE_GET] = "SELECT size, mtime_us, hash, records, run_id, ingested_at"
                   " FROM ingested_files WHERE pipeline = ?1 AND step = ?2 AND path = ?3",
    [Q_FILE_PUT] = "INSERT INTO ingested_files (pipeline, step, path, size, mtime_us, hash,"
                   " records, run_id, ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                   " ON CONFLICT (pipeline, step, path) DO UPDATE SET size = excluded.size,"
                   " mtime_us = excluded.mtime_us, hash = excluded.hash,"
                   " records = excluded.records, run_id = excluded.run_id,"
                   " ingested_at = excluded.ingested_at",
};

typedef sl_sqlite_state_t sqlite_state_t;

static const struct sl_state_ops sqlite_ops;

static sqlite_state_t *S(sl_state_t *st)
{
    return (sqlite_state_t *)st;
}

int sl_state_sqlite_fail(sqlite_state_t *s, const char *what)
{
    int ec = sqlite3_extended_errcode(s->db);
    const char *hint = "";
    if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED) {
        hint = " (another process holds a lock on it; waited 10 s)";
    } else if ((ec & 0xff) == SQLITE_READONLY || (ec & 0xff) == SQLITE_CANTOPEN ||
               (ec & 0xff) == SQLITE_PERM) {
        hint = " (check that the file and its folder are writable)";
    }
    return sl_err_set(sl_state_err(&s->base), SL_ESTATE, "state store %s: %s: %s%s", s->base.where, what,
                      sqlite3_errmsg(s->db), hint);
}

sqlite3_stmt *sl_state_sqlite_stmt(sqlite_state_t *s, sqlite3_stmt **slot, const char *sql)
{
    if (!*slot) {
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
            SQLITE_OK) {
            sl_state_sqlite_fail(s, "preparing a statement");
            *slot = NULL;
        }
    }
    return *slot;
}

int sl_state_sqlite_exec_done(sqlite_state_t *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    int ret = rc == SQLITE_DONE ? 0 : sl_state_sqlite_fail(s, what);
    sl_state_sqlite_done(q);
    return ret;
}

int sl_state_sqlite_exec(sqlite_state_t *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return sl_state_sqlite_fail(s, what);
    }
    return 0;
}

/* This file's names for the shared helpers. */
#define db_fail sl_state_sqlite_fail
#define exec_done sl_state_sqlite_exec_done
#define exec_sql sl_state_sqlite_exec
#define done sl_state_sqlite_done
#define bind_str sl_state_sqlite_bind_str
#define col_str sl_state_sqlite_col_str

/* The cached statement q, prepared on first use. */
static sqlite3_stmt *stmt(sqlite_state_t *s, int q)
{
    return sl_state_sqlite_stmt(s, &s->stmts[q], sql_text[q]);
}

static int run_q(sqlite_state_t *s, int qi, const char *what)
{
    sqlite3_stmt *q = stmt(s, qi);
    return q ? exec_done(s, q, what) : SL_ESTATE;
}

int sl_state_sqlite_begin(sqlite_state_t *s, bool *began, const char *what)
{
    *began = sqlite3_get_autocommit(s->db) != 0;
    return *began ? run_q(s, Q_BEGIN, what) : 0;
}

int sl_state_sqlite_end(sqlite_state_t *s, bool began, int rc, const char *what)
{
    if (!began) {
        return rc;
    }
    if (!rc) {
        rc = run_q(s, Q_COMMIT, what);
    }
    if (rc && !sqlite3_get_autocommit(s->db)) {
        /* Keep the first error's message: the rollback's is not the cause. */
        sl_err_t keep = *sl_state_err(&s->base);
        run_q(s, Q_ROLLBACK, "rolling back");
        *sl_state_err(&s->base) = keep;
    }
    return rc;
}

static char *dup_col(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? strdup((const char *)t) : NULL;
}

/* ---- open / close ---- */


static int user_version(sqlite_state_t *s, int *v)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK) {
        return db_fail(s, "reading the schema version");
    }
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        rc = db_fail(s, "reading the schema version");
        sqlite3_finalize(q);
        return rc;
    }
    *v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return 0;
}

/* Brings the schema to SCHEMA_VERSION. */
static int migrate(sqlite_state_t *s)
{
    int v = 0;
    int rc = user_version(s, &v);
    if (rc || v == SCHEMA_VERSION) {
        return rc;
    }
    if (v > SCHEMA_VERSION) {
        return sl_err_set(sl_state_err(&s->base), SL_ESTATE,
                          "state store %s: schema version %d is newer than this sluice "
                          "supports (%d): upgrade sluice",
                          s->base.where, v, SCHEMA_VERSION);
    }
    if ((rc = exec_sql(s, "BEGIN IMMEDIATE", "creating the schema"))) {
        return rc;
    }
    /* Another process may have migrated while we waited for the lock. */
    if (!(rc = user_version(s, &v))) {
        for (; v < SCHEMA_VERSION && !rc; v++) {
            rc = exec_sql(s, migrations[v], "creating the schema");
        }
    }
    if (!rc) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", SCHEMA_VERSION);
        rc = exec_sql(s, pragma, "setting the schema version");
    }
    if (!rc) {
        rc = exec_sql(s, "COMMIT", "creating the schema");
    }
    if (rc) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static void sqlite_close(sl_state_t *st)
{
    sqlite_state_t *s = S(st);
    for (int i = 0; i < SL_STATE_SQLITE_CORE_STMTS; i++) {
        sqlite3_finalize(s->stmts[i]);
    }
    for (int i = 0; i < SL_STATE_SQLITE_ITEM_STMTS; i++) {
        sqlite3_finalize(s->item_stmts[i]);
    }
    for (int i = 0; i < SL_STATE_SQLITE_KEY_STMTS; i++) {
        sqlite3_finalize(s->key_stmts[i]);
    }
    sqlite3_close(s->db);
    if (s->lock_fd >= 0) {
        close(s->lock_fd); /* releases the run lock */
    }
    free(s->base.where);
    free(s);
}

int sl_state_sqlite_open(const char *path, sl_state_t **out, sl_err_t *err)
{
    *out = NULL;
    if (!*path) {
        return sl_err_set(err, SL_EINVAL, "state store: empty database path");
    }
    int rc = sl_mkdir_parents(path, err);
    if (rc) {
        return sl_err_prefix(err, SL_ESTATE, "state store %s", path);
    }
    sqlite_state_t *s = calloc(1, sizeof *s);
    if (!s || !(s->base.where = strdup(path))) {
        free(s);
        return sl_err_set(err, SL_ENOMEM, "state store %s: out of memory", path);
    }
    s->base.ops = &sqlite_ops;
    s->lock_fd = -1;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        rc = s->db ? db_fail(s, "cannot open")
                   : sl_err_set(sl_state_err(&s->base), SL_ENOMEM, "state store %s: out of memory", path);
    } else {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, 10000);
        rc = exec_sql(s,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                      " PRAGMA foreign_keys = ON",
                      "cannot open");
        if (!rc) {
            rc = migrate(s);
        }
    }
    if (rc) {
        if (err) {
            memcpy(err->msg, sl_state_err(&s->base)->msg, sizeof err->msg);
        }
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* ---- runs ---- */

static int sqlite_run_begin(sl_state_t *st, const sl_run_t *run)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUN_BEGIN);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run->id);
    bind_str(q, 2, run->pipeline);
    bind_str(q, 3, run->params_json);
    bind_str(q, 4, sl_status_name(run->status));
    sqlite3_bind_int64(q, 5, run->started_us);
    bind_str(q, 6, run->trigger);
    bind_str(q, 7, run->parent_run_id);
    bind_str(q, 8, run->definition);
    int rc = exec_done(s, q, "recording the start of a run");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = sl_err_set(sl_state_err(st), SL_ESTATE,
                        "state store %s: run id %s already belongs to another pipeline",
                        st->where, run->id);
    }
    return rc;
}

static int sqlite_run_finish(sl_state_t *st, const char *run_id, const sl_outcome_t *o)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUN_FINISH);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    bind_str(q, 2, sl_status_name(o->status));
    sqlite3_bind_int64(q, 3, o->ended_us);
    bind_str(q, 4, o->error);
    bind_str(q, 5, o->error_class);
    bind_str(q, 6, o->output_json);
    int rc = exec_done(s, q, "recording the end of a run");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no run with id %s", st->where,
                        run_id);
    }
    return rc;
}

static int sqlite_run_redrive(sl_state_t *st, const char *run_id)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUN_REDRIVE);
    sqlite3_stmt *sq = stmt(s, Q_RUN_STATUS);
    if (!q || !sq) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    int rc = exec_done(s, q, "redriving a run");
    if (rc || sqlite3_changes(s->db) > 0) {
        return rc;
    }
    bind_str(sq, 1, run_id);
    int src = sqlite3_step(sq);
    if (src == SQLITE_ROW) {
        rc = sl_err_set(sl_state_err(st), SL_EINVAL,
                        "state store %s: run %s is %s: only a run that ended can be redriven",
                        st->where, run_id, col_str(sq, 0));
    } else if (src == SQLITE_DONE) {
        rc = sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no run with id %s", st->where,
                        run_id);
    } else {
        rc = db_fail(s, "redriving a run");
    }
    done(sq);
    return rc;
}

static int sqlite_step_put(sl_state_t *st, const sl_step_run_t *r)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_STEP_PUT);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, r->run_id);
    bind_str(q, 2, r->step);
    bind_str(q, 3, sl_status_name(r->status));
    sqlite3_bind_int64(q, 4, r->records_in);
    sqlite3_bind_int64(q, 5, r->records_out);
    sqlite3_bind_int64(q, 6, r->rejected);
    sqlite3_bind_int64(q, 7, r->bytes_in);
    sqlite3_bind_int64(q, 8, r->started_us);
    sl_state_sqlite_bind_time(q, 9, r->ended_us);
    bind_str(q, 10, r->error);
    sqlite3_bind_int(q, 11, r->attempts);
    bind_str(q, 12, r->output_json);
    bind_str(q, 13, r->error_class);
    char what[160];
    snprintf(what, sizeof what, "recording step '%.60s' of run %.40s", r->step, r->run_id);
    return exec_done(s, q, what);
}

static void read_run(sqlite3_stmt *q, sl_run_t *r)
{
    r->id = col_str(q, 0);
    r->pipeline = col_str(q, 1);
    r->params_json = col_str(q, 2);
    r->status = sl_state_status_read(col_str(q, 3));
    r->started_us = sqlite3_column_int64(q, 4);
    r->ended_us = sqlite3_column_int64(q, 5); /* NULL reads as 0: still running */
    r->error = col_str(q, 6);
    r->trigger = col_str(q, 7);
    r->parent_run_id = col_str(q, 8);
    r->error_class = col_str(q, 9);
    r->redrive_count = sqlite3_column_int64(q, 10);
    r->output_json = col_str(q, 11);
    r->definition = col_str(q, 12);
}

/* Steps q, calling cb for each run, until done or cb stops. */
static int each_run(sqlite_state_t *s, sqlite3_stmt *q, sl_run_cb cb, void *ud)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        sl_run_t r;
        read_run(q, &r);
        int c = cb(ud, &r);
        if (c) {
            ret = c < 0 ? c : 0;
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        ret = db_fail(s, "listing runs");
    }
    done(q);
    return ret;
}

static int sqlite_runs_query(sl_state_t *st, const sl_runs_filter_t *f, sl_run_cb cb, void *ud)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, f->pipeline ? Q_RUNS_PIPELINE : Q_RUNS_ALL);
    if (!q) {
        return SL_ESTATE;
    }
    char statuses[SL_STATE_STATUS_LIST_MAX];
    sqlite3_bind_int64(q, 1, f->limit > 0 ? f->limit : -1);
    bind_str(q, 2, sl_state_status_list(f->statuses, statuses));
    bind_str(q, 3, f->parent_run_id);
    if (f->pipeline) {
        bind_str(q, 4, f->pipeline);
    }
    if (f->since_us) {
        sqlite3_bind_int64(q, 5, f->since_us);
    } else {
        sqlite3_bind_null(q, 5);
    }
    if (f->until_us) {
        sqlite3_bind_int64(q, 6, f->until_us);
    } else {
        sqlite3_bind_null(q, 6);
    }
    sqlite3_bind_int64(q, 7, f->after_started_us);
    bind_str(q, 8, f->after_id);
    return each_run(s, q, cb, ud);
}

/* The smallest string greater than every string starting with prefix, in
 * byte order, or NULL when there is none (prefix all 0xff). malloc'd. */
static char *prefix_upper(const char *prefix)
{
    size_t n = strlen(prefix);
    char *u = strdup(prefix);
    while (u && n > 0 && (unsigned char)u[n - 1] == 0xff) {
        n--;
    }
    if (!u || n == 0) {
        free(u);
        return NULL;
    }
    u[n - 1] = (char)((unsigned char)u[n - 1] + 1);
    u[n] = '\0';
    return u;
}

static int sqlite_run_show(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb,
                           void *ud)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUN_PREFIX);
    sqlite3_stmt *cq = stmt(s, Q_RUN_PREFIX_COUNT);
    sqlite3_stmt *sq = stmt(s, Q_STEPS_OF);
    if (!q || !cq || !sq) {
        return SL_ESTATE;
    }
    char *upper = prefix_upper(id);
    bind_str(q, 1, id);
    bind_str(q, 2, upper);
    /* A run whose id is exactly `id` wins over longer ids sharing it. */
    int rc, nmatch = 0, exact = 0;
    char *found = NULL;
    char listed[200] = "";
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *rid = col_str(q, 0);
        nmatch++;
        size_t l = strlen(listed);
        snprintf(listed + l, sizeof listed - l, "%s%s", l ? ", " : "", rid);
        if (!found || strcmp(rid, id) == 0) {
            exact = strcmp(rid, id) == 0;
            free(found);
            found = strdup(rid);
        }
    }
    done(q);
    if (rc != SQLITE_DONE) {
        free(found);
        free(upper);
        return db_fail(s, "looking up a run");
    }
    if (nmatch > 1 && !exact) {
        int64_t total = nmatch;
        bind_str(cq, 1, id);
        bind_str(cq, 2, upper);
        if (sqlite3_step(cq) == SQLITE_ROW) {
            total = sqlite3_column_int64(cq, 0);
        }
        done(cq);
        free(found);
        free(upper);
        return sl_err_set(sl_state_err(st), SL_EINVAL,
                          "state store %s: run id prefix '%s' is ambiguous: it matches %lld "
                          "runs (%s%s)",
                          st->where, id, (long long)total, listed, total > nmatch ? ", ..." : "");
    }
    free(upper);
    if (nmatch == 0 || !found) {
        free(found);
        return sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no run with id '%s'",
                          st->where, id);
    }
    /* Read the run again by its full id: the prefix scan is reset. */
    int ret = 0;
    if (run_cb) {
        bind_str(q, 1, found);
        bind_str(q, 2, NULL);
        if (sqlite3_step(q) == SQLITE_ROW) {
            sl_run_t r;
            read_run(q, &r);
            int c = run_cb(ud, &r);
            ret = c < 0 ? c : 0;
            if (c) {
                step_cb = NULL;
            }
        }
        done(q);
    }
    if (step_cb && !ret) {
        bind_str(sq, 1, found);
        while ((rc = sqlite3_step(sq)) == SQLITE_ROW) {
            sl_step_run_t r = {
                .run_id = col_str(sq, 0),
                .step = col_str(sq, 1),
                .status = sl_state_status_read(col_str(sq, 2)),
                .records_in = sqlite3_column_int64(sq, 3),
                .records_out = sqlite3_column_int64(sq, 4),
                .rejected = sqlite3_column_int64(sq, 5),
                .bytes_in = sqlite3_column_int64(sq, 6),
                .started_us = sqlite3_column_int64(sq, 7),
                .ended_us = sqlite3_column_int64(sq, 8),
                .error = col_str(sq, 9),
                .attempts = sqlite3_column_int(sq, 10),
                .output_json = col_str(sq, 11),
                .error_class = col_str(sq, 12),
            };
            int c = step_cb(ud, &r);
            if (c) {
                ret = c < 0 ? c : 0;
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE) {
            ret = db_fail(s, "listing the steps of a run");
        }
        done(sq);
    }
    free(found);
    return ret;
}

/* ---- generations and checkpoints ---- */

static int sqlite_generation(sl_state_t *st, const char *pipeline, int64_t *gen)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_GEN_GET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        *gen = sqlite3_column_int64(q, 0);
    } else if (rc == SQLITE_DONE) {
        *gen = 1;
    } else {
        ret = db_fail(s, "reading the pipeline's generation");
    }
    done(q);
    return ret;
}

static int64_t parse_updated(const char *t)
{
    int64_t us = 0;
    if (!t || sl_timestamp_parse(t, strlen(t), &us) != 0) {
        return 0;
    }
    return us;
}

static void read_checkpoint(sqlite3_stmt *q, int first, sl_checkpoint_t *cp)
{
    cp->value = col_str(q, first);
    cp->gen = sqlite3_column_int64(q, first + 1);
    cp->seq = sqlite3_column_int64(q, first + 2);
    cp->updated_us = parse_updated(col_str(q, first + 3));
}

static int sqlite_checkpoint_get(sl_state_t *st, const char *pipeline, const char *key,
                                 sl_checkpoint_t *cp)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_CP_GET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    bind_str(q, 2, key);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        read_checkpoint(q, 0, cp);
        cp->value = dup_col(q, 0);
        if (!cp->value) {
            ret = sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
        }
    } else if (rc == SQLITE_DONE) {
        ret = sl_err_set(sl_state_err(st), SL_ENOTFOUND, "state store %s: no checkpoint '%s' for %s",
                         st->where, key, pipeline);
    } else {
        ret = db_fail(s, "reading a checkpoint");
    }
    done(q);
    return ret;
}

static int sqlite_checkpoint_put(sl_state_t *st, const char *pipeline, const char *key,
                                 const char *value, int64_t seq, const sl_fence_t *fence)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, fence ? Q_CP_PUT_FENCED : Q_CP_PUT);
    if (!q) {
        return SL_ESTATE;
    }
    char now[40];
    sl_timestamp_format(sl_now_us(), now);
    bind_str(q, 1, pipeline);
    bind_str(q, 2, key);
    bind_str(q, 3, value);
    sqlite3_bind_int64(q, 4, seq);
    bind_str(q, 5, now);
    if (fence) {
        bind_str(q, 6, fence->run_id);
        bind_str(q, 7, fence->step);
        sqlite3_bind_int64(q, 8, fence->idx);
        sqlite3_bind_int64(q, 9, fence->gen);
    }
    int rc = exec_done(s, q, "storing a checkpoint");
    if (!rc && fence && sqlite3_changes(s->db) == 0) {
        rc = SL_ESTALE;
    }
    return rc;
}

static int sqlite_checkpoint_list(sl_state_t *st, const char *pipeline, sl_checkpoint_cb cb,
                                  void *ud)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_CP_LIST);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        sl_checkpoint_t cp;
        read_checkpoint(q, 1, &cp);
        int c = cb(ud, col_str(q, 0), &cp);
        if (c) {
            ret = c < 0 ? c : 0;
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        ret = db_fail(s, "listing checkpoints");
    }
    done(q);
    return ret;
}

static int sqlite_reset(sl_state_t *st, const char *pipeline, const char *key)
{
    sqlite_state_t *s = S(st);
    int rc = run_q(s, Q_BEGIN, "resetting the pipeline's state");
    if (rc) {
        return rc;
    }
    sqlite3_stmt *q = stmt(s, key ? Q_CP_DEL_KEY : Q_CP_DEL_ALL);
    rc = q ? 0 : SL_ESTATE;
    if (!rc) {
        bind_str(q, 1, pipeline);
        if (key) {
            bind_str(q, 2, key);
        }
        rc = exec_done(s, q, "deleting checkpoints");
    }
    const size_t plen = strlen(SL_STATE_FILES_KEY_PREFIX);
    bool files_key = key && strncmp(key, SL_STATE_FILES_KEY_PREFIX, plen) == 0;
    if (!rc && (!key || files_key)) {
        q = stmt(s, key ? Q_FILES_DEL_STEP : Q_FILES_DEL_ALL);
        rc = q ? 0 : SL_ESTATE;
        if (!rc) {
            bind_str(q, 1, pipeline);
            if (key) {
                bind_str(q, 2, key + plen);
            }
            rc = exec_done(s, q, "deleting ingested file records");
        }
    }
    /* Only a whole-pipeline reset starts a new generation: a keyed reset
     * must not orphan the other steps' checkpoints. */
    if (!rc && !key && (q = stmt(s, Q_GEN_BUMP))) {
        bind_str(q, 1, pipeline);
        rc = exec_done(s, q, "bumping the pipeline's generation");
    } else if (!rc && !key) {
        rc = SL_ESTATE;
    }
    if (!rc) {
        rc = run_q(s, Q_COMMIT, "resetting the pipeline's state");
    }
    if (rc) {
        /* Keep the first error's message: the rollback's is not the cause. */
        sl_err_t keep = *sl_state_err(st);
        run_q(s, Q_ROLLBACK, "rolling back");
        *sl_state_err(st) = keep;
    }
    return rc;
}

/* ---- ingested files ---- */

static int sqlite_file_get(sl_state_t *st, const char *pipeline, const char *step,
                           const char *path, sl_file_record_t *out)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_FILE_GET);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    bind_str(q, 2, step);
    bind_str(q, 3, path);
    int rc = sqlite3_step(q);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        out->size = sqlite3_column_int64(q, 0);
        out->mtime_us = sqlite3_column_int64(q, 1);
        out->hash = dup_col(q, 2);
        out->records = sqlite3_column_int64(q, 3);
        out->run_id = dup_col(q, 4);
        out->ingested_us = sqlite3_column_int64(q, 5);
        out->path = strdup(path);
        if (!out->path || (!out->hash && sqlite3_column_type(q, 2) != SQLITE_NULL) ||
            (!out->run_id && sqlite3_column_type(q, 4) != SQLITE_NULL)) {
            sl_file_record_free(out);
            ret = sl_err_set(sl_state_err(st), SL_ENOMEM, "state store %s: out of memory", st->where);
        }
    } else if (rc == SQLITE_DONE) {
        ret = sl_err_set(sl_state_err(st), SL_ENOTFOUND,
                         "state store %s: file %s was not ingested by %s/%s", st->where, path,
                         pipeline, step);
    } else {
        ret = db_fail(s, "reading an ingested file record");
    }
    done(q);
    return ret;
}

static int sqlite_file_put(sl_state_t *st, const char *pipeline, const char *step,
                           const sl_file_record_t *f)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_FILE_PUT);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    bind_str(q, 2, step);
    bind_str(q, 3, f->path);
    sqlite3_bind_int64(q, 4, f->size);
    sqlite3_bind_int64(q, 5, f->mtime_us);
    bind_str(q, 6, f->hash);
    sqlite3_bind_int64(q, 7, f->records);
    bind_str(q, 8, f->run_id);
    sqlite3_bind_int64(q, 9, f->ingested_us ? f->ingested_us : sl_now_us());
    return exec_done(s, q, "recording an ingested file");
}

/* The run lock is an flock() on "<db>.lock-<hash of pipeline>": the kernel
 * drops it when the process ends however it ends, so a held lock means a
 * live run, and a 'running' row without one means a killed run. */
static int sqlite_lock(sl_state_t *st, const char *pipeline)
{
    sqlite_state_t *s = S(st);
    char hex[33], path[4200];
    sl_md5_hex(pipeline, strlen(pipeline), hex);
    hex[12] = '\0';
    snprintf(path, sizeof path, "%s.lock-%s", st->where, hex);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        return sl_err_set(sl_state_err(st), SL_ESTATE, "state store %s: cannot open the run lock %s: %s",
                          st->where, path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            return sl_err_set(sl_state_err(st), SL_EAGAIN,
                              "pipeline '%s' is already running with the state store %s "
                              "(another sluice process holds %s)",
                              pipeline, st->where, path);
        }
        return sl_err_set(sl_state_err(st), SL_ESTATE, "state store %s: cannot lock %s: %s", st->where,
                          path, strerror(e));
    }
    if (s->lock_fd >= 0) {
        close(s->lock_fd);
    }
    s->lock_fd = fd;
    return 0;
}

static int sqlite_interrupted(sl_state_t *st, const char *pipeline, int64_t ended_us, int *n)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUNS_INTERRUPTED);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, pipeline);
    sqlite3_bind_int64(q, 2, ended_us);
    int rc = exec_done(s, q, "marking interrupted runs");
    *n = rc == 0 ? sqlite3_changes(s->db) : 0;
    return rc;
}

static int sqlite_tx_begin(sl_state_t *st)
{
    return exec_sql((sqlite_state_t *)st, "BEGIN IMMEDIATE", "starting a transaction");
}

static int sqlite_tx_commit(sl_state_t *st)
{
    return exec_sql((sqlite_state_t *)st, "COMMIT", "committing a transaction");
}

static void sqlite_tx_rollback(sl_state_t *st)
{
    sqlite3_exec(((sqlite_state_t *)st)->db, "ROLLBACK", NULL, NULL, NULL);
}

static const struct sl_state_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .run_begin = sqlite_run_begin,
    .run_finish = sqlite_run_finish,
    .run_redrive = sqlite_run_redrive,
    .step_put = sqlite_step_put,
    .runs_query = sqlite_runs_query,
    .run_show = sqlite_run_show,
    .generation = sqlite_generation,
    .checkpoint_get = sqlite_checkpoint_get,
    .checkpoint_put = sqlite_checkpoint_put,
    .checkpoint_list = sqlite_checkpoint_list,
    .reset = sqlite_reset,
    .file_get = sqlite_file_get,
    .file_put = sqlite_file_put,
    .lock = sqlite_lock,
    .interrupted = sqlite_interrupted,
    .tx_begin = sqlite_tx_begin,
    .tx_commit = sqlite_tx_commit,
    .tx_rollback = sqlite_tx_rollback,
    .items_create = sl_state_sqlite_items_create,
    .item_claim = sl_state_sqlite_item_claim,
    .item_heartbeat = sl_state_sqlite_item_heartbeat,
    .item_finish = sl_state_sqlite_item_finish,
    .item_release = sl_state_sqlite_item_release,
    .item_get = sl_state_sqlite_item_get,
    .items_counts = sl_state_sqlite_items_counts,
    .items_list = sl_state_sqlite_items_list,
    .items_reset = sl_state_sqlite_items_reset,
    .key_create = sl_state_sqlite_key_create,
    .key_get = sl_state_sqlite_key_get,
    .keys_list = sl_state_sqlite_keys_list,
    .key_revoke = sl_state_sqlite_key_revoke,
    .key_touch = sl_state_sqlite_key_touch,
};
