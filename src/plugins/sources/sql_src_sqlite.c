/* The SQLite driver of the `sql` source (see sql_src_internal.h).
 *
 * The database opens read-only; one statement is stepped row by row
 * (sqlite3_step), so memory stays flat whatever the table's size, and a
 * single SELECT reads one consistent snapshot. Values follow their storage
 * class (INTEGER, REAL, TEXT, BLOB as "\x<hex>" text like PostgreSQL's
 * bytea, NULL); a column declared DATE, DATETIME/TIMESTAMP, BOOLEAN or
 * JSON becomes a date, timestamp, bool or JSON value when its text (or
 * 0/1 for BOOLEAN) parses as one, and stays as stored otherwise. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/buf.h"
#include "sluice/fsutil.h"
#include "sluice/json.h"
#include "sluice/timeutil.h"
#include "sql_src_internal.h"

typedef enum { DECL_NONE = 0, DECL_DATE, DECL_TIMESTAMP, DECL_BOOL, DECL_JSON } decl_t;

struct sl_sqlsrc_conn {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt;
    size_t ncols;
    uint8_t *decl; /* decl_t per column */
    bool done;
};

static bool sqlite_accepts(const char *url)
{
    return sl_sqlite_is_url(url);
}

static void sqlite_finish(sl_sqlsrc_conn_t *c)
{
    sqlite3_finalize(c->stmt);
    c->stmt = NULL;
}

static void sqlite_disconnect(sl_sqlsrc_conn_t *c)
{
    if (!c) {
        return;
    }
    sqlite_finish(c);
    sqlite3_close(c->db);
    free(c->decl);
    free(c->path);
    free(c);
}

static int db_err(sl_sqlsrc_conn_t *c, sl_err_t *err)
{
    return sl_err_set(err, SL_EIO, "%s", sqlite3_errmsg(c->db));
}

static int sqlite_connect(const char *url, const char *base_dir, sl_sqlsrc_conn_t **out,
                          sl_err_t *err)
{
    *out = NULL;
    sl_sqlsrc_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    c->path = sl_sqlite_path(url, base_dir, "database", err);
    if (!c->path) {
        free(c);
        return SL_ECONFIG;
    }
    /* Read-only: a missing file is an error, not a new empty database. */
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(c->path, &c->db, flags, NULL) != SQLITE_OK) {
        int rc = c->db ? sl_err_set(err, SL_EIO, "%s: cannot open the database: %s", c->path,
                                    sqlite3_errmsg(c->db))
                       : sl_err_set(err, SL_ENOMEM, "out of memory");
        sqlite_disconnect(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, 10000);
    *out = c;
    return 0;
}

static const char *sqlite_where(const sl_sqlsrc_conn_t *c)
{
    return c->path;
}

static int sqlite_primary_key(sl_sqlsrc_conn_t *c, const char *schema, const char *table,
                              char ***cols, size_t *n, sl_err_t *err)
{
    *cols = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    const char *sql = schema ? "SELECT name, pk FROM pragma_table_info(?1, ?2) ORDER BY pk"
                             : "SELECT name, pk FROM pragma_table_info(?1) ORDER BY pk";
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK) {
        return db_err(c, err);
    }
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    if (schema) {
        sqlite3_bind_text(q, 2, schema, -1, SQLITE_STATIC);
    }
    size_t seen = 0;
    int rc = 0, src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        seen++;
        if (sqlite3_column_int(q, 1) <= 0) {
            continue;
        }
        char **grown = realloc(*cols, (*n + 1) * sizeof *grown);
        char *name = strdup((const char *)sqlite3_column_text(q, 0));
        if (grown) {
            *cols = grown;
        }
        if (!grown || !name) {
            free(name);
            rc = sl_err_set(err, SL_ENOMEM, "out of memory");
            break;
        }
        (*cols)[(*n)++] = name;
    }
    if (!rc && src != SQLITE_DONE) {
        rc = db_err(c, err);
    }
    sqlite3_finalize(q);
    if (!rc && seen == 0) {
        rc = sl_err_set(err, SL_EIO, "no such table: %s%s%s", schema ? schema : "",
                        schema ? "." : "", table);
    }
    return rc;
}

static decl_t decl_of(const char *d)
{
    if (!d) {
        return DECL_NONE;
    }
    if (strcasecmp(d, "DATE") == 0) {
        return DECL_DATE;
    }
    if (strncasecmp(d, "DATETIME", 8) == 0 || strncasecmp(d, "TIMESTAMP", 9) == 0) {
        return DECL_TIMESTAMP;
    }
    if (strncasecmp(d, "BOOL", 4) == 0) {
        return DECL_BOOL;
    }
    if (strncasecmp(d, "JSON", 4) == 0) {
        return DECL_JSON;
    }
    return DECL_NONE;
}

static int bind_value(sqlite3_stmt *q, int i, const sl_value_t *v)
{
    switch (v->type) {
    case SL_T_INT:
    case SL_T_BOOL:
        return sqlite3_bind_int64(q, i, v->u.i);
    case SL_T_DOUBLE:
        if (!(v->flags & SL_VF_RAW)) {
            return sqlite3_bind_double(q, i, v->u.d);
        }
        return sqlite3_bind_double(q, i, sl_parse_double(v->u.s, v->len));
    case SL_T_STRING:
    case SL_T_BIGNUM:
        return sqlite3_bind_text(q, i, v->u.s, (int)v->len, SQLITE_TRANSIENT);
    default: {
        sl_buf_t b = SL_BUF_INIT;
        int rc = sl_value_to_text(v, &b) ? SQLITE_NOMEM
                                          : sqlite3_bind_text(q, i, b.data ? b.data : "",
                                                              (int)b.len, SQLITE_TRANSIENT);
        sl_buf_free(&b);
        return rc;
    }
    }
}

static int sqlite_start(sl_sqlsrc_conn_t *c, const char *before, const char *after,
                        const sl_value_t *bound, sl_err_t *err)
{
    sqlite_finish(c);
    c->done = false;
    sl_buf_t q = SL_BUF_INIT;
    int rc = sl_buf_append_c(&q, before);
    if (bound) {
        rc = rc ? rc : sl_buf_append_c(&q, "?1");
        rc = rc ? rc : sl_buf_append_c(&q, after);
    }
    if (rc) {
        sl_buf_free(&q);
        return sl_err_set(err, rc, "out of memory");
    }
    int src = sqlite3_prepare_v2(c->db, q.data, -1, &c->stmt, NULL);
    sl_buf_free(&q);
    if (src != SQLITE_OK) {
        c->stmt = NULL;
        return db_err(c, err);
    }
    if (bound && bind_value(c->stmt, 1, bound) != SQLITE_OK) {
        return db_err(c, err);
    }
    c->ncols = (size_t)sqlite3_column_count(c->stmt);
    free(c->decl);
    c->decl = calloc(c->ncols ? c->ncols : 1, 1);
    if (!c->decl) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->ncols; i++) {
        c->decl[i] = (uint8_t)decl_of(sqlite3_column_decltype(c->stmt, (int)i));
    }
    return 0;
}

static size_t sqlite_ncols(const sl_sqlsrc_conn_t *c)
{
    return c->ncols;
}

static const char *sqlite_colname(const sl_sqlsrc_conn_t *c, size_t i)
{
    return sqlite3_column_name(c->stmt, (int)i);
}

/* The column's value as stored; strings and blobs copied into a. */
static int stored_value(sl_sqlsrc_conn_t *c, sl_arena_t *a, int i, sl_value_t *out,
                        uint64_t *bytes)
{
    sqlite3_stmt *q = c->stmt;
    switch (sqlite3_column_type(q, i)) {
    case SQLITE_INTEGER:
        *out = sl_value_int(sqlite3_column_int64(q, i));
        *bytes += 8;
        return 0;
    case SQLITE_FLOAT:
        *out = sl_value_double(sqlite3_column_double(q, i));
        *bytes += 8;
        return 0;
    case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_column_text(q, i);
        size_t n = (size_t)sqlite3_column_bytes(q, i);
        char *s = t ? sl_arena_strndup(a, (const char *)t, n) : NULL;
        if (!s) {
            return SL_ENOMEM;
        }
        *out = sl_value_str(s, n);
        *bytes += n;
        return 0;
    }
    case SQLITE_BLOB: {
        const unsigned char *p = sqlite3_column_blob(q, i);
        size_t n = (size_t)sqlite3_column_bytes(q, i);
        char *s = sl_arena_alloc(a, 2 * n + 3);
        if (!s) {
            return SL_ENOMEM;
        }
        static const char hex[] = "0123456789abcdef";
        s[0] = '\\';
        s[1] = 'x';
        for (size_t k = 0; k < n; k++) {
            s[2 + 2 * k] = hex[p[k] >> 4];
            s[3 + 2 * k] = hex[p[k] & 15];
        }
        s[2 + 2 * n] = '\0';
        *out = sl_value_str(s, 2 * n + 2);
        *bytes += n;
        return 0;
    }
    default:
        *out = sl_value_null();
        return 0;
    }
}

/* Converts a stored value by the column's declared type, when it parses. */
static int convert(sl_arena_t *a, decl_t d, sl_value_t *v)
{
    int64_t x;
    if (d == DECL_BOOL) {
        if (v->type == SL_T_INT && (v->u.i == 0 || v->u.i == 1)) {
            *v = sl_value_bool(v->u.i == 1);
        } else if (v->type == SL_T_STRING) {
            sl_str_t s = {v->u.s, v->len};
            if (sl_str_eq_c(s, "true") || sl_str_eq_c(s, "t") || sl_str_eq_c(s, "1")) {
                *v = sl_value_bool(true);
            } else if (sl_str_eq_c(s, "false") || sl_str_eq_c(s, "f") || sl_str_eq_c(s, "0")) {
                *v = sl_value_bool(false);
            }
        }
        return 0;
    }
    if (v->type != SL_T_STRING) {
        return 0;
    }
    if (d == DECL_DATE && sl_date_parse(v->u.s, v->len, &x) == 0) {
        *v = sl_value_date(x);
    } else if (d == DECL_TIMESTAMP && sl_timestamp_parse(v->u.s, v->len, &x) == 0) {
        *v = sl_value_timestamp(x);
    } else if (d == DECL_JSON) {
        sl_value_t j;
        sl_json_error_t jerr;
        int rc = sl_json_parse(a, v->u.s, v->len, NULL, &j, &jerr);
        if (rc == SL_ENOMEM) {
            return rc;
        }
        if (rc == 0) {
            *v = j;
        }
    }
    return 0;
}

static int sqlite_row(sl_sqlsrc_conn_t *c, sl_arena_t *a, sl_value_t *vals, const uint32_t *want,
                      size_t nwant, sl_value_t *native, uint64_t *bytes, sl_err_t *err)
{
    if (!c->stmt || c->done) {
        return SL_EOF;
    }
    int src = sqlite3_step(c->stmt);
    if (src == SQLITE_DONE) {
        c->done = true;
        return SL_EOF;
    }
    if (src != SQLITE_ROW) {
        return db_err(c, err);
    }
    for (size_t i = 0; i < c->ncols; i++) {
        int rc = stored_value(c, a, (int)i, &vals[i], bytes);
        if (rc) {
            return sl_err_set(err, rc, "out of memory");
        }
    }
    for (size_t k = 0; k < nwant; k++) {
        native[k] = vals[want[k]];
    }
    for (size_t i = 0; i < c->ncols; i++) {
        if (c->decl[i] != DECL_NONE && convert(a, (decl_t)c->decl[i], &vals[i])) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

const sl_sqlsrc_driver_t sl_sqlsrc_driver_sqlite = {
    .name = "sqlite",
    .accepts = sqlite_accepts,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .where = sqlite_where,
    .primary_key = sqlite_primary_key,
    .start = sqlite_start,
    .ncols = sqlite_ncols,
    .colname = sqlite_colname,
    .row = sqlite_row,
    .finish = sqlite_finish,
};
