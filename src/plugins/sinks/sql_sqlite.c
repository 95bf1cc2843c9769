/* The SQLite driver of the `sql` sink (see sql_internal.h).
 *
 * Speed comes from what SQLite is good at: one IMMEDIATE transaction per
 * batch, WAL with synchronous=NORMAL, one prepared statement per column
 * set reused for every row, and values bound in place (strings straight
 * from the batch arena with SQLITE_STATIC; timestamps, dates and JSON
 * formatted into one scratch buffer per row, so no value costs a malloc).
 * Identifiers are always quoted, values always bound. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "sluice/fsutil.h"
#include "sluice/buf.h"
#include "sluice/json.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"
#include "sql_internal.h"

struct sl_sql_conn {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *begin, *commit, *rollback, *cp_put, *cp_get;
    bool cp_table; /* sluice_checkpoints exists (or was created in this transaction) */
    sqlite3_stmt **sets; /* per column set id */
    size_t nsets;
    sl_buf_t scratch; /* text of the current row's formatted values */
    size_t *offs;     /* offset in scratch of value k, per row */
    size_t noffs;
    sl_buf_t sql; /* statement text being built */
};

#define BUSY_MS 10000

/* Fills err with "sql sink: PATH: WHAT: sqlite message (hint)". */
static int db_err(sl_sql_conn_t *c, sl_err_t *err, const char *what)
{
    int ec = sqlite3_extended_errcode(c->db) & 0xff;
    const char *hint = "";
    if (ec == SQLITE_BUSY || ec == SQLITE_LOCKED) {
        hint = " (another connection holds a lock on the database; waited 10 s)";
    } else if (ec == SQLITE_READONLY || ec == SQLITE_CANTOPEN || ec == SQLITE_PERM) {
        hint = " (check that the database file and its folder are writable)";
    }
    return sl_err_set(err, SL_ESINK, "sql sink: %s: %s: %s%s", c->path, what,
                      sqlite3_errmsg(c->db), hint);
}

/* Appends "name" with embedded quotes doubled. */
static int quote_ident(sl_buf_t *b, const char *name)
{
    int rc = sl_buf_putc(b, '"');
    for (const char *p = name; *p && !rc; p++) {
        if (*p == '"') {
            rc = sl_buf_putc(b, '"');
        }
        if (!rc) {
            rc = sl_buf_putc(b, *p);
        }
    }
    return rc ? rc : sl_buf_putc(b, '"');
}

static const char *type_name(sl_sql_type_t t)
{
    switch (t) {
    case SL_SQL_INT:
    case SL_SQL_BOOL:
        return "INTEGER";
    case SL_SQL_FLOAT:
        return "REAL";
    default:
        /* Timestamps as ISO 8601 UTC text sort in time order; big
         * integers and JSON keep their exact text. */
        return "TEXT";
    }
}

/* "table \"x\"" for messages. */
static const char *table_label(sl_buf_t *b, const char *table)
{
    sl_buf_clear(b);
    sl_buf_append_c(b, "table ");
    quote_ident(b, table);
    return b->data ? b->data : "table";
}

static int exec_sql(sl_sql_conn_t *c, const char *sql, const char *what, sl_err_t *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return db_err(c, err, what);
    }
    return 0;
}

static int prepare(sl_sql_conn_t *c, const char *sql, sqlite3_stmt **q, const char *what,
                   sl_err_t *err)
{
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK) {
        *q = NULL;
        return db_err(c, err, what);
    }
    return 0;
}

/* Runs a cached no-row statement, preparing it on first use. */
static int run_cached(sl_sql_conn_t *c, sqlite3_stmt **q, const char *sql, const char *what,
                      sl_err_t *err)
{
    if (!*q && prepare(c, sql, q, what, err)) {
        return SL_ESINK;
    }
    int rc = sqlite3_step(*q);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(c, err, what);
    sqlite3_reset(*q);
    return ret;
}

/* ---- connect ---- */

static bool sqlite_accepts(const char *url)
{
    return sl_sqlite_is_url(url);
}



static void sqlite_disconnect(sl_sql_conn_t *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->nsets; i++) {
        sqlite3_finalize(c->sets[i]);
    }
    free(c->sets);
    sqlite3_finalize(c->begin);
    sqlite3_finalize(c->commit);
    sqlite3_finalize(c->rollback);
    sqlite3_finalize(c->cp_put);
    sqlite3_finalize(c->cp_get);
    sqlite3_close(c->db);
    sl_buf_free(&c->scratch);
    sl_buf_free(&c->sql);
    free(c->offs);
    free(c->path);
    free(c);
}

static int sqlite_connect(const char *url, const char *base_dir, sl_sql_conn_t **out,
                          sl_err_t *err)
{
    *out = NULL;
    sl_sql_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
    }
    c->path = sl_sqlite_path(url, base_dir, "sql sink", err);
    int rc = c->path ? sl_mkdir_parents(c->path, err) : SL_ECONFIG;
    if (rc && c->path) {
        rc = sl_err_prefix(err, SL_ESINK, "sql sink: %s", c->path);
    }
    if (!rc) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(c->path, &c->db, flags, NULL) != SQLITE_OK) {
            rc = c->db ? db_err(c, err, "cannot open the database")
                       : sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
        }
    }
    if (!rc) {
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, BUSY_MS);
        /* wal_autocheckpoint: a bulk load checkpoints every 64 MB instead
         * of every 4 MB, so it syncs about as often as a plain rollback
         * journal import (each checkpoint costs two fdatasyncs).
         * legacy_alter_table: renaming the staging table must not check
         * views that name the table being replaced (they resolve to the
         * new one afterwards anyway). */
        /* Switching a new database to WAL takes a lock that sinks opening it
         * at the same moment (a map's items) contend for, and SQLite answers
         * BUSY without waiting: try again for up to the busy time. */
        for (int tries = 0;; tries++) {
            int ec = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
            if (ec == SQLITE_OK || (ec & 0xff) != SQLITE_BUSY || tries * 10 >= BUSY_MS) {
                rc = ec == SQLITE_OK ? 0 : db_err(c, err, "cannot open the database");
                break;
            }
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (!rc) {
            rc = exec_sql(c,
                          "PRAGMA synchronous = NORMAL;"
                          " PRAGMA wal_autocheckpoint = 16384; PRAGMA cache_size = -32768;"
                          " PRAGMA legacy_alter_table = ON",
                          "cannot open the database", err);
        }
    }
    if (!rc) {
        sl_sqlite_keep_open(c->path);
    }
    if (rc) {
        sqlite_disconnect(c);
        return rc;
    }
    *out = c;
    return 0;
}

static const char *sqlite_where(const sl_sql_conn_t *c)
{
    return c->path;
}

/* ---- schema ---- */

static bool table_exists(sl_sql_conn_t *c, const char *table)
{
    sqlite3_stmt *q = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                           " AND name = ?1 COLLATE NOCASE",
                           -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

static void free_cols(sl_sql_column_t *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
    }
    free(cols);
}

static int sqlite_describe(sl_sql_conn_t *c, const char *table, bool *exists,
                           sl_sql_column_t **cols, size_t *ncols, sl_err_t *err)
{
    *exists = false;
    *cols = NULL;
    *ncols = 0;
    sqlite3_stmt *q = NULL;
    char what[300];
    snprintf(what, sizeof what, "reading the columns of %s", table_label(&c->sql, table));
    if (sqlite3_prepare_v2(c->db, "SELECT name, type FROM pragma_table_info(?1)", -1, &q,
                           NULL) != SQLITE_OK) {
        return db_err(c, err, what);
    }
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    int rc, ret = 0;
    size_t cap = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*ncols == cap) {
            cap = cap ? cap * 2 : 16;
            sl_sql_column_t *grown = realloc(*cols, cap * sizeof **cols);
            if (!grown) {
                ret = sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
                break;
            }
            *cols = grown;
        }
        const char *name = (const char *)sqlite3_column_text(q, 0);
        sl_sql_column_t *col = &(*cols)[*ncols];
        memset(col, 0, sizeof *col);
        col->name = strdup(name ? name : "");
        if (!col->name) {
            ret = sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
            break;
        }
        col->len = strlen(col->name);
        col->type = SL_SQL_UNKNOWN;
        col->in_db = true;
        (*ncols)++;
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = db_err(c, err, what);
    }
    sqlite3_finalize(q);
    if (ret) {
        free_cols(*cols, *ncols);
        *cols = NULL;
        *ncols = 0;
        return ret;
    }
    *exists = *ncols > 0;
    return 0;
}

/* True when names (n of them, from a statement's column 0) and keys are
 * the same set, ignoring ASCII case like SQLite does. */
static bool same_set(char **names, size_t n, char *const *keys, size_t nkeys)
{
    if (n != nkeys) {
        return false;
    }
    for (size_t i = 0; i < nkeys; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++) {
            found = strcasecmp(names[j], keys[i]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* Collects column 0 of q's rows (bound already) into names (max 64). */
static size_t collect_names(sqlite3_stmt *q, char **names, size_t max)
{
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        if (n < max) {
            names[n] = strdup(t ? t : "");
        }
        n++;
    }
    return n;
}

static void free_names(char **names, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        free(names[i]);
    }
}

static int sqlite_unique_on(sl_sql_conn_t *c, const char *table, char *const *keys,
                            size_t nkeys, bool *ok, sl_err_t *err)
{
    enum { MAXN = 64 };
    char *names[MAXN];
    *ok = false;
    sqlite3_stmt *pk = NULL, *il = NULL, *ii = NULL;
    int ret = 0;
    /* The primary key (an INTEGER PRIMARY KEY has no index of its own). */
    if (sqlite3_prepare_v2(c->db, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0", -1, &pk,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                           "SELECT name FROM pragma_index_list(?1) WHERE \"unique\" AND NOT "
                           "partial",
                           -1, &il, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "SELECT name FROM pragma_index_info(?1)", -1, &ii, NULL) !=
            SQLITE_OK) {
        ret = db_err(c, err, "reading the table's indexes");
        goto done;
    }
    sqlite3_bind_text(pk, 1, table, -1, SQLITE_STATIC);
    size_t n = collect_names(pk, names, MAXN);
    *ok = n <= MAXN && same_set(names, n, keys, nkeys);
    free_names(names, n, MAXN);
    sqlite3_bind_text(il, 1, table, -1, SQLITE_STATIC);
    while (!*ok && sqlite3_step(il) == SQLITE_ROW) {
        sqlite3_bind_text(ii, 1, (const char *)sqlite3_column_text(il, 0), -1, SQLITE_TRANSIENT);
        n = collect_names(ii, names, MAXN);
        sqlite3_reset(ii);
        *ok = n <= MAXN && same_set(names, n, keys, nkeys);
        free_names(names, n, MAXN);
    }
done:
    sqlite3_finalize(pk);
    sqlite3_finalize(il);
    sqlite3_finalize(ii);
    return ret;
}

static int append_keys(sl_buf_t *b, char *const *keys, size_t nkeys)
{
    int rc = sl_buf_append_c(b, "(");
    for (size_t i = 0; i < nkeys && !rc; i++) {
        rc = i ? sl_buf_append_c(b, ", ") : 0;
        rc = rc ? rc : quote_ident(b, keys[i]);
    }
    return rc ? rc : sl_buf_append_c(b, ")");
}

static int sqlite_create(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *cols,
                         size_t ncols, char *const *keys, size_t nkeys, sl_err_t *err)
{
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_buf_append_c(&b, "CREATE TABLE ");
    rc = rc ? rc : quote_ident(&b, table);
    rc = rc ? rc : sl_buf_append_c(&b, " (");
    for (size_t i = 0; i < ncols && !rc; i++) {
        rc = i ? sl_buf_append_c(&b, ", ") : 0;
        rc = rc ? rc : quote_ident(&b, cols[i].name);
        rc = rc ? rc : sl_buf_printf(&b, " %s", type_name(cols[i].type));
    }
    if (!rc && nkeys) {
        rc = sl_buf_append_c(&b, ", PRIMARY KEY ");
        rc = rc ? rc : append_keys(&b, keys, nkeys);
    }
    rc = rc ? rc : sl_buf_append_c(&b, ")");
    if (rc) {
        sl_buf_free(&b);
        return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
    }
    char what[300];
    snprintf(what, sizeof what, "creating %s", table_label(&c->sql, table));
    rc = exec_sql(c, b.data, what, err);
    sl_buf_free(&b);
    return rc;
}

/* Builds "CREATE TABLE table (...)" from like's columns, primary key and
 * UNIQUE constraints; indexes created with CREATE INDEX come back at swap. */
static int sqlite_create_like(sl_sql_conn_t *c, const char *table, const char *like,
                              sl_err_t *err)
{
    sl_buf_t b = SL_BUF_INIT;
    sqlite3_stmt *q = NULL, *il = NULL, *ii = NULL;
    char what[300];
    snprintf(what, sizeof what, "copying the definition of %s", table_label(&c->sql, like));
    int rc = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT name, type, \"notnull\", dflt_value, pk"
                           " FROM pragma_table_info(?1)",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                           "SELECT name FROM pragma_index_list(?1) WHERE origin = 'u'"
                           " AND NOT partial",
                           -1, &il, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", -1,
                           &ii, NULL) != SQLITE_OK) {
        rc = db_err(c, err, what);
        goto done;
    }
    sl_buf_append_c(&b, "CREATE TABLE ");
    quote_ident(&b, table);
    sl_buf_append_c(&b, " (");
    sqlite3_bind_text(q, 1, like, -1, SQLITE_STATIC);
    /* pk holds each key column's position in the key, 1-based. */
    const char *pkcols[64] = {0};
    char *pkcopy[64] = {0};
    int npk = 0, ncol = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        const char *type = (const char *)sqlite3_column_text(q, 1);
        const char *dflt = (const char *)sqlite3_column_text(q, 3);
        int pk = sqlite3_column_int(q, 4);
        sl_buf_append_c(&b, ncol++ ? ", " : "");
        quote_ident(&b, name ? name : "");
        if (type && *type) {
            sl_buf_printf(&b, " %s", type);
        }
        if (sqlite3_column_int(q, 2)) {
            sl_buf_append_c(&b, " NOT NULL");
        }
        if (dflt) {
            /* The default is SQL text SQLite itself stored for this column. */
            sl_buf_printf(&b, " DEFAULT (%s)", dflt);
        }
        if (pk > 0 && pk <= 64) {
            pkcopy[pk - 1] = strdup(name ? name : "");
            pkcols[pk - 1] = pkcopy[pk - 1];
            npk = SL_MAX(npk, pk);
        }
    }
    if (npk > 0) {
        sl_buf_append_c(&b, ", PRIMARY KEY ");
        append_keys(&b, (char *const *)pkcols, (size_t)npk);
    }
    for (int i = 0; i < 64; i++) {
        free(pkcopy[i]);
    }
    sqlite3_bind_text(il, 1, like, -1, SQLITE_STATIC);
    while (sqlite3_step(il) == SQLITE_ROW) {
        sqlite3_bind_text(ii, 1, (const char *)sqlite3_column_text(il, 0), -1, SQLITE_TRANSIENT);
        sl_buf_append_c(&b, ", UNIQUE (");
        int k = 0;
        while (sqlite3_step(ii) == SQLITE_ROW) {
            sl_buf_append_c(&b, k++ ? ", " : "");
            const char *n = (const char *)sqlite3_column_text(ii, 0);
            quote_ident(&b, n ? n : "");
        }
        sqlite3_reset(ii);
        sl_buf_append_c(&b, ")");
    }
    if (sl_buf_append_c(&b, ")") != 0) {
        rc = sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
        goto done;
    }
    rc = exec_sql(c, b.data, what, err);
done:
    sqlite3_finalize(q);
    sqlite3_finalize(il);
    sqlite3_finalize(ii);
    sl_buf_free(&b);
    return rc;
}

static int sqlite_add_column(sl_sql_conn_t *c, const char *table, const sl_sql_column_t *col,
                             sl_err_t *err)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "ALTER TABLE ");
    quote_ident(&b, table);
    sl_buf_append_c(&b, " ADD COLUMN ");
    quote_ident(&b, col->name);
    if (sl_buf_printf(&b, " %s", type_name(col->type)) != 0) {
        sl_buf_free(&b);
        return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
    }
    char what[400];
    snprintf(what, sizeof what, "adding column \"%.100s\" to %s", col->name,
             table_label(&c->sql, table));
    int rc = exec_sql(c, b.data, what, err);
    sl_buf_free(&b);
    return rc;
}

static int sqlite_drop(sl_sql_conn_t *c, const char *table, bool *existed, sl_err_t *err)
{
    if (existed) {
        *existed = table_exists(c, table);
    }
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "DROP TABLE IF EXISTS ");
    if (quote_ident(&b, table) != 0) {
        sl_buf_free(&b);
        return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
    }
    char what[300];
    snprintf(what, sizeof what, "dropping %s", table_label(&c->sql, table));
    int rc = exec_sql(c, b.data, what, err);
    sl_buf_free(&b);
    return rc;
}

static int sqlite_swap(sl_sql_conn_t *c, const char *staging, const char *table, sl_err_t *err)
{
    /* The old table's own indexes and triggers (not those of its
     * constraints, which have no SQL) are recreated on the new table: the
     * DROP frees their names and the statements name the table, which the
     * rename gives to the staging table. */
    sqlite3_stmt *q = NULL;
    char **defs = NULL;
    size_t ndefs = 0;
    char what[300];
    snprintf(what, sizeof what, "replacing %s", table_label(&c->sql, table));
    int rc = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
                           " AND tbl_name = ?1 COLLATE NOCASE AND sql IS NOT NULL"
                           " ORDER BY type, rowid",
                           -1, &q, NULL) != SQLITE_OK) {
        return db_err(c, err, what);
    }
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    while (!rc && sqlite3_step(q) == SQLITE_ROW) {
        char **grown = realloc(defs, (ndefs + 1) * sizeof *defs);
        if (!grown || !(grown[ndefs] = strdup((const char *)sqlite3_column_text(q, 0)))) {
            rc = sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
            defs = grown ? grown : defs;
            break;
        }
        defs = grown;
        ndefs++;
    }
    sqlite3_finalize(q);
    if (!rc) {
        rc = sqlite_drop(c, table, NULL, err);
    }
    if (!rc) {
        sl_buf_t b = SL_BUF_INIT;
        sl_buf_append_c(&b, "ALTER TABLE ");
        quote_ident(&b, staging);
        sl_buf_append_c(&b, " RENAME TO ");
        rc = quote_ident(&b, table) ? sl_err_set(err, SL_ENOMEM, "sql sink: out of memory")
                                    : exec_sql(c, b.data, what, err);
        sl_buf_free(&b);
    }
    for (size_t i = 0; i < ndefs; i++) {
        if (!rc) {
            rc = exec_sql(c, defs[i], what, err);
        }
        free(defs[i]);
    }
    free(defs);
    return rc;
}

/* ---- transactions ---- */

static int sqlite_begin(sl_sql_conn_t *c, sl_err_t *err)
{
    return run_cached(c, &c->begin, "BEGIN IMMEDIATE", "starting a transaction", err);
}

static int sqlite_commit(sl_sql_conn_t *c, sl_err_t *err)
{
    return run_cached(c, &c->commit, "COMMIT", "committing", err);
}

static void sqlite_rollback(sl_sql_conn_t *c)
{
    if (!sqlite3_get_autocommit(c->db)) {
        sl_err_t ignored;
        run_cached(c, &c->rollback, "ROLLBACK", "rolling back", &ignored);
    }
    /* A sluice_checkpoints created in that transaction is gone. */
    c->cp_table = false;
    sqlite3_finalize(c->cp_put);
    c->cp_put = NULL;
}

/* ---- rows ---- */

static int build_insert(sl_buf_t *b, const sl_sql_insert_t *ins)
{
    sl_buf_clear(b);
    int rc = sl_buf_append_c(b, "INSERT INTO ");
    rc = rc ? rc : quote_ident(b, ins->table);
    if (ins->n == 0) {
        return rc ? rc : sl_buf_append_c(b, " DEFAULT VALUES");
    }
    rc = rc ? rc : sl_buf_append_c(b, " (");
    for (size_t k = 0; k < ins->n && !rc; k++) {
        rc = k ? sl_buf_append_c(b, ", ") : 0;
        rc = rc ? rc : quote_ident(b, ins->cols[ins->idx[k]].name);
    }
    rc = rc ? rc : sl_buf_append_c(b, ") VALUES (");
    for (size_t k = 0; k < ins->n && !rc; k++) {
        rc = sl_buf_append_c(b, k ? ", ?" : "?");
    }
    rc = rc ? rc : sl_buf_append_c(b, ")");
    if (rc || ins->mode != SL_SQL_UPSERT) {
        return rc;
    }
    rc = sl_buf_append_c(b, " ON CONFLICT ");
    rc = rc ? rc : append_keys(b, ins->keys, ins->nkeys);
    bool any = false;
    for (size_t k = 0; k < ins->n && !rc; k++) {
        const char *name = ins->cols[ins->idx[k]].name;
        bool is_key = false;
        for (size_t j = 0; j < ins->nkeys && !is_key; j++) {
            is_key = strcasecmp(name, ins->keys[j]) == 0;
        }
        if (is_key) {
            continue;
        }
        rc = sl_buf_append_c(b, any ? ", " : " DO UPDATE SET ");
        any = true;
        rc = rc ? rc : quote_ident(b, name);
        rc = rc ? rc : sl_buf_append_c(b, " = excluded.");
        rc = rc ? rc : quote_ident(b, name);
    }
    return rc ? rc : any ? 0 : sl_buf_append_c(b, " DO NOTHING");
}

static sqlite3_stmt *set_stmt(sl_sql_conn_t *c, uint32_t set, const sl_sql_insert_t *ins,
                              sl_err_t *err)
{
    if (set < c->nsets && c->sets[set]) {
        return c->sets[set];
    }
    if (set >= c->nsets) {
        size_t n = SL_MAX((size_t)set + 1, c->nsets * 2);
        sqlite3_stmt **grown = realloc(c->sets, n * sizeof *grown);
        if (!grown) {
            sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
            return NULL;
        }
        memset(grown + c->nsets, 0, (n - c->nsets) * sizeof *grown);
        c->sets = grown;
        c->nsets = n;
    }
    if (build_insert(&c->sql, ins) != 0) {
        sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
        return NULL;
    }
    sqlite3_stmt *q = NULL;
    char what[300];
    snprintf(what, sizeof what, "preparing the insert into \"%.200s\"", ins->table);
    if (prepare(c, c->sql.data, &q, what, err) != 0) {
        return NULL;
    }
    c->sets[set] = q;
    return q;
}

static void sqlite_forget_sets(sl_sql_conn_t *c)
{
    for (size_t i = 0; i < c->nsets; i++) {
        sqlite3_finalize(c->sets[i]);
        c->sets[i] = NULL;
    }
}

static int sqlite_insert(sl_sql_conn_t *c, uint32_t set, const sl_sql_insert_t *ins,
                         const sl_value_t *const *vals, sl_err_t *err)
{
    sqlite3_stmt *q = set_stmt(c, set, ins, err);
    if (!q) {
        return SL_ESINK;
    }
    size_t n = ins->n;
    if (n > c->noffs) {
        size_t *grown = realloc(c->offs, n * sizeof *grown);
        if (!grown) {
            return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
        }
        c->offs = grown;
        c->noffs = n;
    }
    /* First format what needs text into one buffer, then bind: the buffer
     * may move while it grows, so pointers are taken only afterwards. */
    sl_buf_t *s = &c->scratch;
    s->len = 0;
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        const sl_value_t *v = vals[k];
        c->offs[k] = s->len;
        switch (v->type) {
        case SL_T_TIMESTAMP:
        case SL_T_DATE:
            rc = sl_buf_reserve(s, 40);
            if (!rc) {
                s->len += v->type == SL_T_TIMESTAMP ? sl_timestamp_format(v->u.i, s->data + s->len)
                                                    : sl_date_format(v->u.i, s->data + s->len);
            }
            break;
        case SL_T_ARRAY:
        case SL_T_OBJECT:
            rc = sl_json_write(s, v, 0);
            break;
        default:
            break;
        }
    }
    if (rc) {
        return sl_err_set(err, SL_ENOMEM, "sql sink: out of memory formatting a row");
    }
    for (size_t k = 0; k < n; k++) {
        const sl_value_t *v = vals[k];
        int i = (int)k + 1;
        switch (v->type) {
        case SL_T_BOOL:
        case SL_T_INT:
            sqlite3_bind_int64(q, i, v->u.i);
            break;
        case SL_T_DOUBLE: {
            double d = v->u.d;
            if (v->flags & SL_VF_RAW) {
                sl_value_get_double(v, &d);
            }
            sqlite3_bind_double(q, i, d);
            break;
        }
        case SL_T_STRING:
        case SL_T_BIGNUM:
            if (v->len > INT32_MAX) {
                return sl_err_set(err, SL_ESINK, "sql sink: %s: a string of %u bytes is too "
                                  "long for SQLite", c->path, v->len);
            }
            sqlite3_bind_text(q, i, v->len ? v->u.s : "", (int)v->len, SQLITE_STATIC);
            break;
        case SL_T_TIMESTAMP:
        case SL_T_DATE:
        case SL_T_ARRAY:
        case SL_T_OBJECT: {
            size_t end = k + 1 < n ? c->offs[k + 1] : s->len;
            sqlite3_bind_text(q, i, s->data + c->offs[k], (int)(end - c->offs[k]),
                              SQLITE_STATIC);
            break;
        }
        default:
            sqlite3_bind_null(q, i);
            break;
        }
    }
    int src = sqlite3_step(q);
    if (src != SQLITE_DONE) {
        char what[300];
        snprintf(what, sizeof what, "writing a row into \"%.200s\"", ins->table);
        rc = db_err(c, err, what);
    }
    sqlite3_reset(q);
    return rc;
}

/* ---- checkpoints ---- */

static int sqlite_checkpoint_put(sl_sql_conn_t *c, const char *pipeline, const char *key,
                                 const char *value, sl_err_t *err)
{
    if (!c->cp_table) {
        int rc = exec_sql(c, SL_STATE_CHECKPOINTS_DDL, "creating sluice_checkpoints", err);
        if (rc) {
            return rc;
        }
        c->cp_table = true;
    }
    if (!c->cp_put &&
        prepare(c,
                "INSERT INTO sluice_checkpoints (pipeline, key, value, updated_at)"
                " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (pipeline, key) DO UPDATE SET"
                " value = excluded.value, updated_at = excluded.updated_at",
                &c->cp_put, "storing the checkpoint", err)) {
        return SL_ESINK;
    }
    char now[40];
    sl_timestamp_format(sl_now_us(), now);
    sqlite3_bind_text(c->cp_put, 1, pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->cp_put, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->cp_put, 3, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->cp_put, 4, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(c->cp_put) == SQLITE_DONE ? 0 : db_err(c, err, "storing the checkpoint");
    sqlite3_reset(c->cp_put);
    sqlite3_clear_bindings(c->cp_put);
    return rc;
}

static int sqlite_checkpoint_get(sl_sql_conn_t *c, const char *pipeline, const char *key,
                                 char **out, sl_err_t *err)
{
    *out = NULL;
    if (!c->cp_table && !(c->cp_table = table_exists(c, "sluice_checkpoints"))) {
        return 0;
    }
    if (!c->cp_get && prepare(c,
                              "SELECT value FROM sluice_checkpoints"
                              " WHERE pipeline = ?1 AND key = ?2",
                              &c->cp_get, "reading the checkpoint", err)) {
        return SL_ESINK;
    }
    sqlite3_bind_text(c->cp_get, 1, pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->cp_get, 2, key, -1, SQLITE_STATIC);
    int src = sqlite3_step(c->cp_get);
    int rc = 0;
    if (src == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(c->cp_get, 0);
        if (v && !(*out = strdup(v))) {
            rc = sl_err_set(err, SL_ENOMEM, "sql sink: out of memory");
        }
    } else if (src != SQLITE_DONE) {
        rc = db_err(c, err, "reading the checkpoint");
    }
    sqlite3_reset(c->cp_get);
    sqlite3_clear_bindings(c->cp_get);
    return rc;
}

const sl_sql_driver_t sl_sql_driver_sqlite = {
    .name = "sqlite",
    .ident_nocase = true,
    .accepts = sqlite_accepts,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .where = sqlite_where,
    .describe = sqlite_describe,
    .unique_on = sqlite_unique_on,
    .create = sqlite_create,
    .create_like = sqlite_create_like,
    .add_column = sqlite_add_column,
    .drop = sqlite_drop,
    .swap = sqlite_swap,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .insert = sqlite_insert,
    .forget_sets = sqlite_forget_sets,
    .checkpoint_put = sqlite_checkpoint_put,
    .checkpoint_get = sqlite_checkpoint_get,
};
