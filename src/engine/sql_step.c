/* `sql` steps: statements, or a .sql file, run on PostgreSQL or SQLite
 * (schema creation, migrations, clean-ups between flows). They run in one
 * transaction unless `transaction: false`, so a failed migration leaves
 * nothing half done. Errors name the statement (list index, or file:line)
 * and the database's message. Statements are not templated: they are the
 * pipeline author's SQL, run as written. The first row of the last
 * statement that returned rows is the step's output `row`. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "sluice/connection.h"
#include "sluice/fsutil.h"
#include "sluice/log.h"
#include "sluice/pg.h"

typedef struct {
    sl_step_ctx_t *ctx;
    char what[160];      /* "step 'x': sql" */
    const char *file;    /* the .sql file as written, or NULL */
    const char **stmts;  /* statements, or the file's text as one */
    size_t n;
    bool transaction;
    sl_value_t row;      /* the first row of the last statement that gave rows */
} job_t;

/* Starts j->row: an object of ncols columns (ctx->arena). */
static int row_begin(job_t *j, size_t ncols)
{
    return sl_object_new(j->ctx->arena, &j->row, ncols ? ncols : 1);
}

static int row_set(job_t *j, const char *name, sl_value_t v)
{
    sl_arena_t *a = j->ctx->arena;
    char *k = sl_arena_strdup(a, name ? name : "?");
    return k ? sl_object_set(a, &j->row, k, strlen(k), v) : SL_ENOMEM;
}

static sl_value_t text_value(sl_arena_t *a, const char *t, size_t n)
{
    char *copy = sl_arena_strndup(a, t, n);
    return copy ? sl_value_str(copy, n) : sl_value_null();
}

/* The first row of a SQLite statement, typed as SQLite stores it. */
static int sqlite_row(job_t *j, sqlite3_stmt *st)
{
    int n = sqlite3_column_count(st);
    int rc = row_begin(j, (size_t)n);
    for (int c = 0; c < n && rc == 0; c++) {
        sl_value_t v = sl_value_null();
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
            v = sl_value_int(sqlite3_column_int64(st, c));
            break;
        case SQLITE_FLOAT:
            v = sl_value_double(sqlite3_column_double(st, c));
            break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
            v = text_value(j->ctx->arena, (const char *)sqlite3_column_text(st, c),
                           (size_t)sqlite3_column_bytes(st, c));
            break;
        default:
            break;
        }
        rc = row_set(j, sqlite3_column_name(st, c), v);
    }
    return rc;
}

/* The first row of a PostgreSQL result: integers, floats and booleans
 * typed, the rest (numeric too, to stay exact) as text. */
static int pg_row(job_t *j, const PGresult *r)
{
    int n = PQnfields(r);
    int rc = row_begin(j, (size_t)n);
    for (int c = 0; c < n && rc == 0; c++) {
        sl_value_t v = sl_value_null();
        if (!PQgetisnull(r, 0, c)) {
            const char *t = PQgetvalue(r, 0, c);
            switch (PQftype(r, c)) {
            case 16: /* bool */
                v = sl_value_bool(t[0] == 't');
                break;
            case 20: /* int8 */
            case 21: /* int2 */
            case 23: /* int4 */
                v = sl_value_int(strtoll(t, NULL, 10));
                break;
            case 700: /* float4 */
            case 701: /* float8 */
                v = sl_value_double(strtod(t, NULL));
                break;
            default:
                v = text_value(j->ctx->arena, t, strlen(t));
            }
        }
        rc = row_set(j, PQfname(r, c), v);
    }
    return rc;
}

/* Line (1-based) of byte offset off in text. */
static unsigned line_of(const char *text, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        line += text[i] == '\n';
    }
    return line;
}

/* "statement 2" or "schema.sql:14", for messages. */
static void stmt_place(const job_t *j, size_t i, size_t off, char *out, size_t cap)
{
    if (j->file) {
        snprintf(out, cap, "%s:%u", j->file, line_of(j->stmts[0], off));
    } else {
        snprintf(out, cap, "statement %zu", i + 1);
    }
}

/* The error code of a failed statement, for its class (retry, catch):
 * busy or locked databases and I/O are worth retrying; a constraint or a
 * type mismatch is the data's; anything else (a syntax error, a missing
 * table) is the SQL's own, a config error. */
static int sqlite_code(sqlite3 *db)
{
    switch (sqlite3_errcode(db)) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
        return SL_ERETRY;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
        return SL_EPARSE;
    default:
        return SL_ECONFIG;
    }
}

/* The same for PostgreSQL, by SQLSTATE class: 08 connection and 40
 * (serialization failure, deadlock) and 53/57 (resources, shutdown) are
 * transient; 22 data exceptions and 23 integrity violations the data's;
 * the rest (42 syntax, undefined objects...) config. */
static int pg_code(const PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!st || strlen(st) < 2) {
        return SL_ERETRY; /* no answer at all: the connection is gone */
    }
    if (!strncmp(st, "08", 2) || !strncmp(st, "40", 2) || !strncmp(st, "53", 2) ||
        !strncmp(st, "57", 2)) {
        return SL_ERETRY;
    }
    if (!strncmp(st, "22", 2) || !strncmp(st, "23", 2)) {
        return SL_EPARSE;
    }
    return SL_ECONFIG;
}

static int run_pg(job_t *j, const char *url)
{
    sl_step_ctx_t *ctx = j->ctx;
    PGconn *c = NULL;
    int rc = sl_pg_connect(url, &c, &ctx->err);
    if (rc) {
        return rc;
    }
    if (j->transaction && (rc = sl_pg_exec(c, "BEGIN", j->what, &ctx->err)) != 0) {
        PQfinish(c);
        return rc;
    }
    for (size_t i = 0; i < j->n && rc == 0; i++) {
        PGresult *r = PQexec(c, j->stmts[i]);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
            char place[300];
            /* the position counts characters; for ASCII SQL that is bytes */
            stmt_place(j, i, pos ? (size_t)strtoul(pos, NULL, 10) - 1 : 0, place, sizeof place);
            rc = sl_err_set(&ctx->err, pg_code(r), "%s: %s: %s", j->what, place,
                            sl_pg_msg(c, r));
        } else if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            rc = pg_row(j, r);
        }
        PQclear(r);
    }
    if (j->transaction) {
        if (rc == 0) {
            rc = sl_pg_exec(c, "COMMIT", j->what, &ctx->err);
        } else {
            PQclear(PQexec(c, "ROLLBACK"));
        }
    }
    PQfinish(c);
    return rc;
}

static int sqlite_fail(job_t *j, sqlite3 *db, size_t i, size_t off)
{
    char place[300];
    stmt_place(j, i, off, place, sizeof place);
    return sl_err_set(&j->ctx->err, sqlite_code(db), "%s: %s: %s", j->what, place,
                      sqlite3_errmsg(db));
}

/* Runs one text that may hold several statements, one by one, so a
 * failure can be placed. */
static int sqlite_run_text(job_t *j, sqlite3 *db, size_t i)
{
    const char *text = j->stmts[i], *p = text;
    while (*p) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        size_t off = (size_t)(p - text);
        while (text[off] == ' ' || text[off] == '\n' || text[off] == '\t' || text[off] == '\r') {
            off++;
        }
        if (sqlite3_prepare_v2(db, p, -1, &st, &tail) != SQLITE_OK) {
            return sqlite_fail(j, db, i, off);
        }
        if (!st) {
            break; /* only whitespace or comments left */
        }
        int r;
        bool first = true;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            if (first && sqlite_row(j, st) != 0) {
                sqlite3_finalize(st);
                return sl_err_set(&j->ctx->err, SL_ENOMEM, "%s: out of memory", j->what);
            }
            first = false;
        }
        sqlite3_finalize(st);
        if (r != SQLITE_DONE) {
            return sqlite_fail(j, db, i, off);
        }
        p = tail;
    }
    return 0;
}

static int run_sqlite(job_t *j, const char *url)
{
    sl_step_ctx_t *ctx = j->ctx;
    char *path = sl_sqlite_path(url, ctx->base_dir, j->what, &ctx->err);
    if (!path) {
        return ctx->err.msg[0] ? SL_ECONFIG : SL_ENOMEM;
    }
    sl_err_t merr;
    int rc = sl_mkdir_parents(path, &merr);
    sqlite3 *db = NULL;
    if (rc) {
        rc = sl_err_set(&ctx->err, rc, "%s: %s", j->what, merr.msg);
    } else if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
               SQLITE_OK) {
        rc = sl_err_set(&ctx->err, SL_EIO, "%s: cannot open %s: %s", j->what, path,
                        db ? sqlite3_errmsg(db) : "out of memory");
    }
    if (rc == 0) {
        sqlite3_busy_timeout(db, 10000);
        if (j->transaction && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            rc = sl_err_set(&ctx->err, SL_EIO, "%s: %s: %s", j->what, path, sqlite3_errmsg(db));
        }
    }
    for (size_t i = 0; i < j->n && rc == 0; i++) {
        rc = sqlite_run_text(j, db, i);
    }
    if (db && j->transaction) {
        if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            rc = sl_err_set(&ctx->err, SL_EIO, "%s: commit: %s", j->what, sqlite3_errmsg(db));
        }
        if (rc) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    sqlite3_close(db);
    free(path);
    return rc;
}

/* Reads the whole .sql file into the step arena. */
static int read_file(job_t *j, const char *file)
{
    sl_step_ctx_t *ctx = j->ctx;
    const char *path = sl_resolve_path(ctx->arena, ctx->base_dir, file);
    char *raw = NULL;
    size_t len = 0;
    int rc = path ? sl_read_file(path, SIZE_MAX - 1, &raw, &len) : SL_ENOMEM;
    if (rc == SL_EIO) {
        return sl_err_set(&ctx->err, SL_EIO, "%s: cannot read %s: %s", j->what, file,
                          strerror(errno));
    }
    if (rc) {
        return rc;
    }
    const char **one = sl_arena_alloc(ctx->arena, sizeof *one);
    char *text = sl_arena_strndup(ctx->arena, raw, len);
    free(raw);
    if (!one || !text) {
        return SL_ENOMEM;
    }
    if (strlen(text) != len) {
        return sl_err_set(&ctx->err, SL_ECONFIG, "%s: %s holds a NUL byte", j->what, file);
    }
    one[0] = text;
    j->stmts = one;
    j->n = 1;
    j->file = file;
    return 0;
}

int sl_sql_step_run(sl_step_ctx_t *ctx, sl_step_result_t *res)
{
    (void)res;
    const sl_node_t *cfg = ctx->step->sql;
    job_t j = {.ctx = ctx, .transaction = true};
    snprintf(j.what, sizeof j.what, "step '%s': sql", ctx->step->name);
    const char *url = NULL;
    const sl_node_t *where = NULL;
    int rc = sl_connection_db_url(ctx, cfg, j.what, &url, &where);
    if (!rc) {
        sl_err_t terr;
        rc = sl_render_once(ctx, url, &url, &terr);
        if (rc) {
            return sl_node_error(&ctx->err, where, "%s: url: %s", j.what,
                                 rc == SL_EINVAL ? "record is not available here" : terr.msg);
        }
    }
    if (!rc) {
        rc = sl_cfg_bool(cfg, "transaction", true, &j.transaction, &ctx->err);
    }
    if (rc) {
        return rc;
    }
    const sl_node_t *list = sl_node_get(cfg, "statements");
    if (list) {
        size_t n = list->kind == SL_NODE_SEQ ? list->n : 1;
        j.stmts = sl_arena_calloc(ctx->arena, (n ? n : 1) * sizeof *j.stmts);
        if (!j.stmts) {
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            const sl_node_t *it = list->kind == SL_NODE_SEQ ? list->items[i] : list;
            if ((rc = sl_node_to_str(it, "statements", &j.stmts[i], &ctx->err)) != 0) {
                return rc;
            }
        }
        j.n = n;
    } else {
        const char *file = NULL;
        if ((rc = sl_cfg_str(cfg, "file", NULL, &file, &ctx->err)) != 0 ||
            (rc = read_file(&j, file)) != 0) {
            return rc;
        }
    }
    rc = sl_pg_is_url(url) ? run_pg(&j, url) : run_sqlite(&j, url);
    if (rc == 0 && j.row.type == SL_T_OBJECT) {
        rc = sl_step_output_put(ctx, "row", &j.row); /* {{ steps.NAME.output.row.COL }} */
    }
    if (rc == 0) {
        sl_info("%s: ran %s", j.what, j.file ? j.file : j.n == 1 ? "1 statement" : "the statements");
    }
    return rc;
}
