/* The SQLite driver of the state store: one database file (default
 * .sluice/state.db) holding run history, checkpoints, pipeline generations
 * and ingested files.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward at
 * open inside one IMMEDIATE transaction, so two processes opening a fresh
 * file at once do not race. Every statement is prepared once and cached on
 * the handle; values are always bound, never formatted into SQL. Times are
 * integer microseconds since the epoch, except sluice_checkpoints.updated_at
 * which is ISO 8601 text because sinks share that table's DDL. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/timeutil.h"
#include "sluice/fsutil.h"
#include "sluice/hash.h"
#include "state_internal.h"

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
};
#define SCHEMA_VERSION ((int)SL_ARRAY_LEN(migrations))

#define RUN_COLS "id, pipeline, params_json, status, started_at, ended_at, error"

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_RUN_BEGIN,
    Q_RUN_END,
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
    Q_CP_LIST,
    Q_CP_DEL_ALL,
    Q_CP_DEL_KEY,
    Q_FILES_DEL_ALL,
    Q_FILES_DEL_STEP,
    Q_FILE_GET,
    Q_FILE_PUT,
    Q_COUNT
};

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    /* A resumed run begins again under its id: it keeps its start time. */
    [Q_RUN_BEGIN] = "INSERT INTO runs (" RUN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)"
                    " ON CONFLICT (id) DO UPDATE SET params_json = excluded.params_json,"
                    " status = excluded.status, ended_at = NULL, error = NULL"
                    " WHERE runs.pipeline = excluded.pipeline",
    [Q_RUN_END] = "UPDATE runs SET status = ?2, ended_at = ?3, error = ?4 WHERE id = ?1",
    [Q_RUNS_INTERRUPTED] =
        "UPDATE runs SET status = 'interrupted', ended_at = ?2,"
        " error = 'the process stopped before the run ended (killed or crashed)'"
        " WHERE pipeline = ?1 AND status = 'running'",
    [Q_STEP_PUT] =
        "INSERT INTO step_runs (run_id, step, status, records_in, records_out, rejected,"
        " bytes_in, started, ended, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT (run_id, step) DO UPDATE SET status = excluded.status,"
        " records_in = excluded.records_in, records_out = excluded.records_out,"
        " rejected = excluded.rejected, bytes_in = excluded.bytes_in,"
        " started = excluded.started, ended = excluded.ended, error = excluded.error",
    [Q_RUNS_ALL] = "SELECT " RUN_COLS " FROM runs ORDER BY started_at DESC, rowid DESC"
                   " LIMIT ?1",
    [Q_RUNS_PIPELINE] = "SELECT " RUN_COLS " FROM runs WHERE pipeline = ?2"
                        " ORDER BY started_at DESC, rowid DESC LIMIT ?1",
    [Q_RUN_PREFIX] = "SELECT " RUN_COLS " FROM runs WHERE id >= ?1 AND (?2 IS NULL OR id < ?2)"
                     " ORDER BY id LIMIT 4",
    [Q_RUN_PREFIX_COUNT] = "SELECT count(*) FROM runs WHERE id >= ?1 AND (?2 IS NULL OR id < ?2)",
    [Q_STEPS_OF] = "SELECT run_id, step, status, records_in, records_out, rejected, bytes_in,"
                   " started, ended, error FROM step_runs WHERE run_id = ?1"
                   " ORDER BY started, rowid",
    [Q_GEN_GET] = "SELECT generation FROM sluice_pipelines WHERE pipeline = ?1",
    [Q_GEN_BUMP] = "INSERT INTO sluice_pipelines (pipeline, generation) VALUES (?1, 2)"
                   " ON CONFLICT (pipeline) DO UPDATE SET generation = generation + 1",
    [Q_CP_GET] = "SELECT value, gen, seq, updated_at FROM sluice_checkpoints"
                 " WHERE pipeline = ?1 AND key = ?2",
    [Q_CP_PUT] = "INSERT INTO sluice_checkpoints (pipeline, key, value, gen, seq, updated_at)"
                 " VALUES (?1, ?2, ?3, COALESCE((SELECT generation FROM sluice_pipelines"
                 " WHERE pipeline = ?1), 1), ?4, ?5)"
                 " ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value,"
                 " gen = excluded.gen, seq = excluded.seq, updated_at = excluded.updated_at",
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

typedef struct {
    sl_state_t base; /* first: the public handle */
    sqlite3 *db;
    sqlite3_stmt *stmts[Q_COUNT];
    int lock_fd; /* the run lock taken by lock(), or -1 */
} sqlite_state_t;

static const struct sl_state_ops sqlite_ops;

static sqlite_state_t *S(sl_state_t *st)
{
    return (sqlite_state_t *)st;
}

/* Records "state store PATH: WHAT: sqlite message" and returns SL_ESTATE. */
static int db_fail(sqlite_state_t *s, const char *what)
{
    int ec = sqlite3_extended_errcode(s->db);
    const char *hint = "";
    if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED) {
        hint = " (another process holds a lock on it; waited 10 s)";
    } else if ((ec & 0xff) == SQLITE_READONLY || (ec & 0xff) == SQLITE_CANTOPEN ||
               (ec & 0xff) == SQLITE_PERM) {
        hint = " (check that the file and its folder are writable)";
    }
    return sl_err_set(&s->base.err, SL_ESTATE, "state store %s: %s: %s%s", s->base.where, what,
                      sqlite3_errmsg(s->db), hint);
}

/* The cached statement q, prepared on first use. */
static sqlite3_stmt *stmt(sqlite_state_t *s, int q)
{
    if (!s->stmts[q]) {
        if (sqlite3_prepare_v3(s->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[q],
                               NULL) != SQLITE_OK) {
            db_fail(s, "preparing a statement");
            s->stmts[q] = NULL;
        }
    }
    return s->stmts[q];
}

static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Binds a string borrowed for the duration of the statement (NULL binds
 * NULL). */
static void bind_str(sqlite3_stmt *q, int i, const char *v)
{
    if (v) {
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(q, i);
    }
}

/* Steps a statement that returns no rows; resets it. */
static int exec_done(sqlite_state_t *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    int ret = rc == SQLITE_DONE ? 0 : db_fail(s, what);
    done(q);
    return ret;
}

static int run_q(sqlite_state_t *s, int qi, const char *what)
{
    sqlite3_stmt *q = stmt(s, qi);
    return q ? exec_done(s, q, what) : SL_ESTATE;
}

static char *dup_col(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? strdup((const char *)t) : NULL;
}

static const char *col_str(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
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

static int exec_sql(sqlite_state_t *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return db_fail(s, what);
    }
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
        return sl_err_set(&s->base.err, SL_ESTATE,
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
    for (int i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(s->stmts[i]);
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
                   : sl_err_set(&s->base.err, SL_ENOMEM, "state store %s: out of memory", path);
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
            memcpy(err->msg, s->base.err.msg, sizeof err->msg);
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
    bind_str(q, 4, run->status ? run->status : "running");
    sqlite3_bind_int64(q, 5, run->started_us);
    int rc = exec_done(s, q, "recording the start of a run");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = sl_err_set(&st->err, SL_ESTATE,
                        "state store %s: run id %s already belongs to another pipeline",
                        st->where, run->id);
    }
    return rc;
}

static int sqlite_run_end(sl_state_t *st, const char *run_id, const char *status,
                          int64_t ended_us, const char *error)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_RUN_END);
    if (!q) {
        return SL_ESTATE;
    }
    bind_str(q, 1, run_id);
    bind_str(q, 2, status);
    sqlite3_bind_int64(q, 3, ended_us);
    bind_str(q, 4, error);
    int rc = exec_done(s, q, "recording the end of a run");
    if (!rc && sqlite3_changes(s->db) == 0) {
        rc = sl_err_set(&st->err, SL_ENOTFOUND, "state store %s: no run with id %s", st->where,
                        run_id);
    }
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
    bind_str(q, 3, r->status ? r->status : "running");
    sqlite3_bind_int64(q, 4, r->records_in);
    sqlite3_bind_int64(q, 5, r->records_out);
    sqlite3_bind_int64(q, 6, r->rejected);
    sqlite3_bind_int64(q, 7, r->bytes_in);
    sqlite3_bind_int64(q, 8, r->started_us);
    if (r->ended_us) {
        sqlite3_bind_int64(q, 9, r->ended_us);
    }
    bind_str(q, 10, r->error);
    char what[160];
    snprintf(what, sizeof what, "recording step '%.60s' of run %.40s", r->step, r->run_id);
    return exec_done(s, q, what);
}

static void read_run(sqlite3_stmt *q, sl_run_t *r)
{
    r->id = col_str(q, 0);
    r->pipeline = col_str(q, 1);
    r->params_json = col_str(q, 2);
    r->status = col_str(q, 3);
    r->started_us = sqlite3_column_int64(q, 4);
    r->ended_us = sqlite3_column_int64(q, 5); /* NULL reads as 0: still running */
    r->error = col_str(q, 6);
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

static int sqlite_runs_list(sl_state_t *st, const char *pipeline, int limit, sl_run_cb cb,
                            void *ud)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, pipeline ? Q_RUNS_PIPELINE : Q_RUNS_ALL);
    if (!q) {
        return SL_ESTATE;
    }
    sqlite3_bind_int64(q, 1, limit > 0 ? limit : -1);
    if (pipeline) {
        bind_str(q, 2, pipeline);
    }
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
        return sl_err_set(&st->err, SL_EINVAL,
                          "state store %s: run id prefix '%s' is ambiguous: it matches %lld "
                          "runs (%s%s)",
                          st->where, id, (long long)total, listed, total > nmatch ? ", ..." : "");
    }
    free(upper);
    if (nmatch == 0 || !found) {
        free(found);
        return sl_err_set(&st->err, SL_ENOTFOUND, "state store %s: no run with id '%s'",
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
                .status = col_str(sq, 2),
                .records_in = sqlite3_column_int64(sq, 3),
                .records_out = sqlite3_column_int64(sq, 4),
                .rejected = sqlite3_column_int64(sq, 5),
                .bytes_in = sqlite3_column_int64(sq, 6),
                .started_us = sqlite3_column_int64(sq, 7),
                .ended_us = sqlite3_column_int64(sq, 8),
                .error = col_str(sq, 9),
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
            ret = sl_err_set(&st->err, SL_ENOMEM, "state store %s: out of memory", st->where);
        }
    } else if (rc == SQLITE_DONE) {
        ret = sl_err_set(&st->err, SL_ENOTFOUND, "state store %s: no checkpoint '%s' for %s",
                         st->where, key, pipeline);
    } else {
        ret = db_fail(s, "reading a checkpoint");
    }
    done(q);
    return ret;
}

static int sqlite_checkpoint_put(sl_state_t *st, const char *pipeline, const char *key,
                                 const char *value, int64_t seq)
{
    sqlite_state_t *s = S(st);
    sqlite3_stmt *q = stmt(s, Q_CP_PUT);
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
    return exec_done(s, q, "storing a checkpoint");
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
        sl_err_t keep = st->err;
        run_q(s, Q_ROLLBACK, "rolling back");
        st->err = keep;
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
            ret = sl_err_set(&st->err, SL_ENOMEM, "state store %s: out of memory", st->where);
        }
    } else if (rc == SQLITE_DONE) {
        ret = sl_err_set(&st->err, SL_ENOTFOUND,
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
        return sl_err_set(&st->err, SL_ESTATE, "state store %s: cannot open the run lock %s: %s",
                          st->where, path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            return sl_err_set(&st->err, SL_EAGAIN,
                              "pipeline '%s' is already running with the state store %s "
                              "(another sluice process holds %s)",
                              pipeline, st->where, path);
        }
        return sl_err_set(&st->err, SL_ESTATE, "state store %s: cannot lock %s: %s", st->where,
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
    .run_end = sqlite_run_end,
    .step_put = sqlite_step_put,
    .runs_list = sqlite_runs_list,
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
};
