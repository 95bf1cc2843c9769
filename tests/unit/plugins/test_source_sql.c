/* Tests of the `sql` source against a real PostgreSQL (tests/unit/net/
 * pg_harness.h) and SQLite files, driven through its vtable with
 * hand-built contexts. Records are compared as compact JSON, so every
 * value's type and text is checked exactly; incremental runs are chained
 * by feeding one run's last checkpoint to the next as ctx->resume. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../../src/plugins/sources/sql_src_internal.h"
#include "../net/pg_harness.h"
#include "../test.h"
#include "sluice/json.h"
#include "sluice/plugin.h"

extern const sl_source_type_t sl_source_sql;

/* ---- fixtures ---- */

typedef struct {
    sl_arena_t *arena;
    sl_pipeline_t pipeline;
    sl_step_cfg_t step;
    sl_step_ctx_t ctx;
    char base[512];
} env_t;

static void env_init(env_t *e)
{
    memset(e, 0, sizeof *e);
    e->arena = sl_arena_create(0, 0);
    e->pipeline.name = "shop";
    e->step.name = "extract";
    snprintf(e->base, sizeof e->base, "%s", sl_test_tmpdir());
    e->ctx.pipeline = &e->pipeline;
    e->ctx.step = &e->step;
    e->ctx.base_dir = e->base;
    e->ctx.arena = e->arena;
}

static sl_node_t *node(sl_arena_t *a, sl_node_kind_t kind)
{
    sl_node_t *n = sl_arena_calloc(a, sizeof *n);
    n->kind = kind;
    n->file = "p.yaml";
    n->line = 7;
    n->col = 5;
    return n;
}

static sl_node_t *scalar(sl_arena_t *a, const char *text)
{
    sl_node_t *n = node(a, SL_NODE_SCALAR);
    n->text = sl_arena_strdup(a, text);
    n->len = strlen(text);
    return n;
}

/* A config map from key, value pairs (NULL-terminated). "[a,b]" values
 * become lists; "{k=v;k2=v2}" values become maps. */
static sl_node_t *cfg(env_t *e, ...)
{
    sl_arena_t *a = e->arena;
    sl_node_t *m = node(a, SL_NODE_MAP);
    m->pairs = sl_arena_calloc(a, 16 * sizeof *m->pairs);
    va_list ap;
    va_start(ap, e);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        m->pairs[m->n].key = scalar(a, k);
        size_t vl = strlen(v);
        if (v[0] == '[' || v[0] == '{') {
            bool list = v[0] == '[';
            char *inner = sl_arena_strndup(a, v + 1, vl - 2);
            sl_node_t *c = node(a, list ? SL_NODE_SEQ : SL_NODE_MAP);
            c->items = sl_arena_calloc(a, 8 * sizeof *c->items);
            c->pairs = sl_arena_calloc(a, 8 * sizeof *c->pairs);
            char *p = inner;
            while (*p) {
                size_t l = strcspn(p, list ? "," : ";");
                char *item = sl_arena_strndup(a, p, l);
                if (list) {
                    c->items[c->n++] = scalar(a, item);
                } else {
                    char *eq = strchr(item, '=');
                    *eq = '\0';
                    c->pairs[c->n].key = scalar(a, item);
                    c->pairs[c->n++].value = scalar(a, eq + 1);
                }
                p += l + (p[l] != '\0');
            }
            m->pairs[m->n].value = c;
        } else {
            m->pairs[m->n].value = scalar(a, v);
        }
        m->n++;
    }
    va_end(ap);
    return m;
}

typedef struct {
    char *text;      /* records as JSON lines */
    char *checkpoint; /* the last batch's, or NULL */
    size_t batches;
    size_t records;
    int rc;          /* first error (not EOF) */
    char err[SL_ERRMSG_MAX];
} run_t;

static void run_free(run_t *r)
{
    free(r->text);
    free(r->checkpoint);
    memset(r, 0, sizeof *r);
}

/* Opens the source and reads it to the end in batches of max records. */
static run_t run_source(env_t *e, sl_node_t *c, size_t max)
{
    run_t r = {0};
    void *self = NULL;
    e->ctx.err.msg[0] = '\0';
    r.rc = sl_source_sql.open(&e->ctx, c, &self);
    if (r.rc) {
        snprintf(r.err, sizeof r.err, "%s", e->ctx.err.msg);
        return r;
    }
    sl_arena_t *ba = sl_arena_create(1 << 16, 0);
    sl_buf_t out = SL_BUF_INIT;
    for (;;) {
        sl_arena_reset(ba);
        sl_batch_t b = {0};
        b.arena = ba;
        int rc = sl_source_sql.next(self, &b, max);
        if (rc == SL_EOF) {
            break;
        }
        if (rc) {
            r.rc = rc;
            snprintf(r.err, sizeof r.err, "%s", e->ctx.err.msg);
            break;
        }
        r.batches++;
        for (size_t i = 0; i < b.n; i++) {
            sl_json_write(&out, &b.records[i], 0);
            sl_buf_putc(&out, '\n');
        }
        r.records += b.n;
        if (b.checkpoint) {
            free(r.checkpoint);
            r.checkpoint = strdup(b.checkpoint);
        }
    }
    sl_source_sql.close(self);
    sl_arena_destroy(ba);
    r.text = out.data ? strdup(out.data) : strdup("");
    sl_buf_free(&out);
    return r;
}

/* ---- PostgreSQL helpers ---- */

static PGconn *pg(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        sl_test_fail(__FILE__, __LINE__, "connect: %s", PQerrorMessage(c));
    }
    return c;
}

static void pg_do(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
}

static const char *need_pg(const char *name)
{
    const char *url = sl_pg_harness_db(name);
    if (!url) {
        sl_test_fail(__FILE__, __LINE__, "no PostgreSQL server for the tests");
    }
    return url;
}

/* ---- PostgreSQL: types ---- */

SL_TEST(sqlsrc_pg_every_type)
{
    const char *url = need_pg("t_sqlsrc_types");
    PGconn *c = pg(url);
    pg_do(c, "CREATE TABLE t (id int2 PRIMARY KEY, i4 int4, i8 int8, n numeric, ni numeric,"
             " nb numeric, f4 real, f8 float8, fnan float8, s text, v varchar(10), ch char(3),"
             " nm name, u uuid, b bool, d date, ts timestamp, tz timestamptz, j json, jb jsonb,"
             " ai int4[], at text[], af float8[], ab bool[], m int8[], by bytea, iv interval,"
             " dinf date)");
    pg_do(c, "INSERT INTO t VALUES (1, -2147483648, 9223372036854775807,"
             " 12345678901234567890.125, 42, 123456789012345678901234, 1.5, 0.1, 'NaN',"
             " E'tab\\there\\nnew \\\\ back \u00e9\u00e8 \U0001F600', 'v', 'ab', 'nm',"
             " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, '2026-11-22',"
             " '2026-11-22 10:11:12.345678', '2026-11-22 12:00:00+02',"
             " '{\"a\": [1, 2.5]}', '{\"big\": 123456789012345678901, \"s\": \"x\\ty\"}',"
             " '{1,NULL,3}', ARRAY['a b', 'q\"uote', 'back\\slash', NULL, 'NULL', 'c,d{}', ''],"
             " '{1.5,-Infinity}', '{t,f}', '{{1,2},{3,4}}', '\\x00ff10', '1 day 02:00:00',"
             " 'infinity')");
    pg_do(c, "INSERT INTO t (id) VALUES (2)");
    PQfinish(c);

    env_t e;
    env_init(&e);
    run_t r = run_source(&e, cfg(&e, "url", url, "table", "t", NULL), 100);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.records, 2);
    CHECK(r.checkpoint == NULL); /* not incremental */
    CHECK_STR(r.text,
              "{\"id\":1,\"i4\":-2147483648,\"i8\":9223372036854775807,"
              "\"n\":12345678901234567890.125,\"ni\":42,\"nb\":123456789012345678901234,"
              "\"f4\":1.5,\"f8\":0.1,\"fnan\":null,"
              "\"s\":\"tab\\there\\nnew \\\\ back \u00e9\u00e8 \U0001F600\",\"v\":\"v\","
              "\"ch\":\"ab \",\"nm\":\"nm\",\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\","
              "\"b\":true,\"d\":\"2026-11-22\",\"ts\":\"2026-11-22T10:11:12.345678Z\","
              "\"tz\":\"2026-11-22T10:00:00Z\",\"j\":{\"a\":[1,2.5]},"
              "\"jb\":{\"s\":\"x\\ty\",\"big\":123456789012345678901},"
              "\"ai\":[1,null,3],"
              "\"at\":[\"a b\",\"q\\\"uote\",\"back\\\\slash\",null,\"NULL\",\"c,d{}\",\"\"],"
              "\"af\":[1.5,null],\"ab\":[true,false],\"m\":[[1,2],[3,4]],"
              "\"by\":\"\\\\x00ff10\",\"iv\":\"1 day 02:00:00\",\"dinf\":\"infinity\"}\n"
              "{\"id\":2,\"i4\":null,\"i8\":null,\"n\":null,\"ni\":null,\"nb\":null,"
              "\"f4\":null,\"f8\":null,\"fnan\":null,\"s\":null,\"v\":null,\"ch\":null,"
              "\"nm\":null,\"u\":null,\"b\":null,\"d\":null,\"ts\":null,\"tz\":null,"
              "\"j\":null,\"jb\":null,\"ai\":null,\"at\":null,\"af\":null,\"ab\":null,"
              "\"m\":null,\"by\":null,\"iv\":null,\"dinf\":null}\n");
    run_free(&r);
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlsrc_pg_value_types_are_exact)
{
    /* JSON text hides the value types: check them on the values. */
    sl_arena_t *a = sl_arena_create(0, 0);
    char row[] = "12345678901234567890\t1.50\t-7\tNaN\t1e+100\t2026-01-02\t"
                 "2026-01-02 03:04:05+00\tt\t\\N\t{1,2}\t\\x41\\102";
    sl_pg_col_t cols[11] = {
        {SL_PGK_NUMERIC, 0}, {SL_PGK_NUMERIC, 0}, {SL_PGK_INT, 0},       {SL_PGK_FLOAT, 0},
        {SL_PGK_FLOAT, 0},   {SL_PGK_DATE, 0},    {SL_PGK_TIMESTAMP, 0}, {SL_PGK_BOOL, 0},
        {SL_PGK_TEXT, 0},    {SL_PGK_ARRAY, SL_PGK_INT}, {SL_PGK_TEXT, 0},
    };
    sl_value_t v[11];
    sl_err_t err;
    CHECK_INT(sl_pg_decode_row(a, row, strlen(row), cols, 11, true, v, NULL, 0, NULL, &err), 0);
    CHECK_INT(v[0].type, SL_T_BIGNUM);
    CHECK_STRN(v[0].u.s, v[0].len, "12345678901234567890");
    CHECK_INT(v[1].type, SL_T_DOUBLE);
    CHECK_INT(v[1].flags, SL_VF_RAW);
    CHECK_STRN(v[1].u.s, v[1].len, "1.50");
    CHECK_INT(v[2].type, SL_T_INT);
    CHECK_INT(v[2].u.i, -7);
    CHECK_INT(v[3].type, SL_T_DOUBLE);
    CHECK(v[3].u.d != v[3].u.d); /* NaN */
    CHECK_INT(v[4].flags, SL_VF_RAW);
    CHECK_STRN(v[4].u.s, v[4].len, "1e+100");
    CHECK_INT(v[5].type, SL_T_DATE);
    CHECK_INT(v[5].u.i, 20455);
    CHECK_INT(v[6].type, SL_T_TIMESTAMP);
    CHECK_INT(v[6].u.i, 1767323045000000LL);
    CHECK_INT(v[7].type, SL_T_BOOL);
    CHECK_INT(v[8].type, SL_T_NULL);
    CHECK_INT(v[9].type, SL_T_ARRAY);
    CHECK_INT(v[9].len, 2);
    CHECK_INT(v[10].type, SL_T_STRING);
    CHECK_STRN(v[10].u.s, v[10].len, "AB"); /* \x41 and octal \102 */
    CHECK_INT(v[10].flags, SL_VF_UTF8);

    char bad[] = "1\t2";
    CHECK_INT(sl_pg_decode_row(a, bad, 3, cols, 3, true, v, NULL, 0, NULL, &err), SL_EPARSE);
    char badarr[] = "{1,{2}";
    sl_pg_col_t acol = {SL_PGK_ARRAY, SL_PGK_INT};
    CHECK_INT(sl_pg_decode_row(a, badarr, strlen(badarr), &acol, 1, true, v, NULL, 0, NULL, &err),
              SL_EPARSE);
    CHECK_CONTAINS(err.msg, "column 1: malformed array");
    sl_arena_destroy(a);
}

/* ---- PostgreSQL: many rows, query vs table ---- */

SL_TEST(sqlsrc_pg_25k_rows_cross_batches)
{
    const char *url = need_pg("t_sqlsrc_many");
    PGconn *c = pg(url);
    pg_do(c, "CREATE TABLE big (id int8 PRIMARY KEY, name text, at timestamptz)");
    pg_do(c, "INSERT INTO big SELECT g, 'n\u00e9' || g, '2026-01-01'::timestamptz + g *"
             " interval '1 second' FROM generate_series(1, 25003) g");
    PQfinish(c);
    env_t e;
    env_init(&e);
    run_t r = run_source(&e, cfg(&e, "url", url, "table", "big", NULL), 10000);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.batches, 3);
    CHECK_INT(r.records, 25003);
    CHECK_CONTAINS(r.text, "{\"id\":25003,\"name\":\"n\u00e925003\","
                           "\"at\":\"2026-01-01T06:56:43Z\"}\n");
    run_free(&r);

    /* incremental over the same rows, in batches: checkpoints follow */
    r = run_source(&e,
                   cfg(&e, "url", url, "table", "public.big", "incremental",
                       "{cursor_field=at}", NULL),
                   7000);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.batches, 4);
    CHECK_INT(r.records, 25003);
    CHECK_STR(r.checkpoint,
              "{\"field\":\"at\",\"cursor\":\"2026-01-01 06:56:43+00\",\"keys\":[[\"25003\"]]}");
    run_free(&r);

    /* query: with a trailing ';' */
    r = run_source(&e,
                   cfg(&e, "url", url, "query", "SELECT id, id * 2 AS u FROM big"
                                                " WHERE id % 5000 = 0 ORDER BY id;",
                       NULL),
                   2);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.batches, 3);
    CHECK_STR(r.text, "{\"id\":5000,\"u\":10000}\n{\"id\":10000,\"u\":20000}\n"
                      "{\"id\":15000,\"u\":30000}\n{\"id\":20000,\"u\":40000}\n"
                      "{\"id\":25000,\"u\":50000}\n");
    run_free(&r);
    sl_arena_destroy(e.arena);
}

/* ---- incremental boundaries (both databases) ---- */

typedef void (*exec_fn)(void *db, const char *sql);

static void pg_exec_fn(void *db, const char *sql)
{
    pg_do(db, sql);
}

static void sqlite_exec_fn(void *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sl_test_fail(__FILE__, __LINE__, "%s: %s", sql, msg);
    }
}

/* Rows sharing the boundary's cursor value across runs, a kill after a
 * batch, rows committed later with the boundary's value, updates. */
static void incremental_boundaries(const char *url, void *db, exec_fn x, const char *ts_type,
                                   const char *q, const char *tz)
{
    /* q: how native keys print ("\"" for PostgreSQL's text); tz: the
     * zone suffix of the cursor's text */
    char want[256];
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE TABLE ev (id integer PRIMARY KEY, v text, up %s)",
             ts_type);
    x(db, sql);
    x(db, "INSERT INTO ev VALUES (1, 'a', '2026-01-01 10:00:00'), (2, 'b', '2026-01-01"
          " 11:00:00'), (3, 'c', '2026-01-01 12:00:00'), (4, 'd', '2026-01-01 12:00:00'),"
          " (5, 'e', '2026-01-01 12:00:00')");
    env_t e;
    env_init(&e);
    const char *inc = "{cursor_field=up;initial=2026-01-01 00:00:00}";

    /* run 1 delivers one batch of 4 and is "killed": its checkpoint lists
     * ids 3 and 4 at 12:00 */
    sl_node_t *c1 = cfg(&e, "url", url, "table", "ev", "incremental", inc, NULL);
    void *self = NULL;
    CHECK_INT(sl_source_sql.open(&e.ctx, c1, &self), 0);
    sl_arena_t *ba = sl_arena_create(0, 0);
    sl_batch_t b = {.arena = ba};
    CHECK_INT(sl_source_sql.next(self, &b, 4), 0);
    CHECK_INT(b.n, 4);
    snprintf(want, sizeof want,
             "{\"field\":\"up\",\"cursor\":\"2026-01-01 12:00:00%s\",\"keys\":[[%s3%s],[%s4%s]]}",
             tz, q, q, q, q);
    CHECK_STR(b.checkpoint, want);
    char *cp = strdup(b.checkpoint);
    sl_source_sql.close(self);
    sl_arena_destroy(ba);

    /* run 2 resumes: only id 5, nothing twice */
    e.ctx.resume = cp;
    run_t r = run_source(&e, c1, 100);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.records, 1);
    CHECK_CONTAINS(r.text, "\"id\":5,");
    snprintf(want, sizeof want, "\"keys\":[[%s3%s],[%s4%s],[%s5%s]]}", q, q, q, q, q, q);
    CHECK_CONTAINS(r.checkpoint, want);
    free(cp);
    cp = strdup(r.checkpoint);
    run_free(&r);

    /* later: a row committed with the boundary's value (smaller and larger
     * ids), an update, an insert */
    x(db, "INSERT INTO ev VALUES (0, 'z', '2026-01-01 12:00:00'), (6, 'f', '2026-01-01"
          " 12:00:00'), (7, 'g', '2026-01-02 09:00:00')");
    x(db, "UPDATE ev SET v = 'a2', up = '2026-01-02 08:00:00' WHERE id = 1");
    e.ctx.resume = cp;
    r = run_source(&e, c1, 2);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.records, 4);
    /* in cursor, then key order */
    const char *p0 = strstr(r.text, "\"id\":0,");
    const char *p6 = strstr(r.text, "\"id\":6,");
    const char *p1 = strstr(r.text, "\"id\":1,\"v\":\"a2\"");
    const char *p7 = strstr(r.text, "\"id\":7,");
    CHECK(p0 && p6 && p1 && p7 && p0 < p6 && p6 < p1 && p1 < p7);
    snprintf(want, sizeof want, "\"cursor\":\"2026-01-02 09:00:00%s\",\"keys\":[[%s7%s]]}",
             tz, q, q);
    CHECK_CONTAINS(r.checkpoint, want);
    free(cp);
    cp = strdup(r.checkpoint);
    run_free(&r);

    /* nothing new: no records, no checkpoint (the old one stays) */
    e.ctx.resume = cp;
    r = run_source(&e, c1, 100);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.records, 0);
    CHECK(r.checkpoint == NULL);
    run_free(&r);

    /* full_refresh ignores the checkpoint */
    e.ctx.full_refresh = true;
    r = run_source(&e, c1, 100);
    CHECK_INT(r.records, 8);
    run_free(&r);
    e.ctx.full_refresh = false;

    /* query: with primary_key reads the same way */
    e.ctx.resume = NULL;
    r = run_source(&e,
                   cfg(&e, "url", url, "query", "SELECT id, up FROM ev WHERE id <> 4",
                       "incremental", "{cursor_field=up;initial=2026-01-01 12:00:00}",
                       "primary_key", "[id]", NULL),
                   100);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.records, 6); /* 0 3 5 6 at 12:00, then 1 and 7 */
    run_free(&r);
    free(cp);
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlsrc_pg_incremental_boundaries)
{
    const char *url = need_pg("t_sqlsrc_inc");
    PGconn *c = pg(url);
    incremental_boundaries(url, c, pg_exec_fn, "timestamptz", "\"", "+00");
    PQfinish(c);
}

SL_TEST(sqlsrc_sqlite_incremental_boundaries)
{
    char path[600];
    snprintf(path, sizeof path, "%s/inc.db", sl_test_tmpdir());
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    char url[700];
    snprintf(url, sizeof url, "sqlite:///%s", "inc.db");
    incremental_boundaries(url, db, sqlite_exec_fn, "TEXT", "", "");
    sqlite3_close(db);
}

SL_TEST(sqlsrc_sqlite_integer_cursor)
{
    char path[600];
    snprintf(path, sizeof path, "%s/seq.db", sl_test_tmpdir());
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite_exec_fn(db, "CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT);"
                       " INSERT INTO s VALUES (1,'a'),(2,'b'),(10,'c')");
    env_t e;
    env_init(&e);
    char url[700];
    snprintf(url, sizeof url, "sqlite:////%s", path + (path[0] == '/'));
    run_t r = run_source(&e,
                         cfg(&e, "url", url, "query", "SELECT * FROM s", "incremental",
                             "{cursor_field=id;initial=2}", "primary_key", "[id]", NULL),
                         100);
    CHECK_INT(r.rc, 0);
    CHECK_STR(r.text, "{\"id\":2,\"v\":\"b\"}\n{\"id\":10,\"v\":\"c\"}\n");
    CHECK_STR(r.checkpoint, "{\"field\":\"id\",\"cursor\":10,\"keys\":[[10]]}");
    run_free(&r);
    sqlite3_close(db);
    sl_arena_destroy(e.arena);
}

/* ---- SQLite types ---- */

SL_TEST(sqlsrc_sqlite_types_by_storage_class_and_declared_type)
{
    char path[600];
    snprintf(path, sizeof path, "%s/types.db", sl_test_tmpdir());
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite_exec_fn(db, "CREATE TABLE t (i INTEGER, r REAL, s TEXT, bl BLOB, d DATE,"
                       " ts TIMESTAMP, dt DATETIME, b BOOLEAN, j JSON, any_);"
                       " INSERT INTO t VALUES (9007199254740993, 1.25, 'h\u00e9 \U0001F600',"
                       " x'00ff', '2026-11-22', '2026-11-22 10:00:00', '2026-11-22T10:00:00.5Z',"
                       " 1, '{\"a\":[1,\"x\"]}', 'free');"
                       " INSERT INTO t VALUES (NULL, NULL, NULL, NULL, 'not a date', 'soon',"
                       " 12, 'false', 'not json', 3.5);");
    sqlite3_close(db);
    env_t e;
    env_init(&e);
    run_t r = run_source(&e, cfg(&e, "url", "sqlite:///types.db", "table", "t", NULL), 100);
    CHECK_INT(r.rc, 0);
    CHECK_STR(r.text,
              "{\"i\":9007199254740993,\"r\":1.25,\"s\":\"h\u00e9 \U0001F600\",\"bl\":\"\\\\x00ff\","
              "\"d\":\"2026-11-22\",\"ts\":\"2026-11-22T10:00:00Z\","
              "\"dt\":\"2026-11-22T10:00:00.500000Z\",\"b\":true,\"j\":{\"a\":[1,\"x\"]},"
              "\"any_\":\"free\"}\n"
              "{\"i\":null,\"r\":null,\"s\":null,\"bl\":null,\"d\":\"not a date\","
              "\"ts\":\"soon\",\"dt\":12,\"b\":false,\"j\":\"not json\",\"any_\":3.5}\n");
    run_free(&r);
    sl_arena_destroy(e.arena);
}

/* ---- errors ---- */

SL_TEST(sqlsrc_pg_errors_name_url_table_and_message)
{
    const char *url = need_pg("t_sqlsrc_err");
    PGconn *c = pg(url);
    pg_do(c, "CREATE TABLE t (id int PRIMARY KEY, up timestamptz)");
    pg_do(c, "CREATE TABLE nokey (id int, up timestamptz)");
    pg_do(c, "INSERT INTO t VALUES (1, now()), (7, NULL)");
    PQfinish(c);
    env_t e;
    env_init(&e);
    char where[512];
    snprintf(where, sizeof where, "%s", url); /* the harness URL has no password */

    run_t r = run_source(&e, cfg(&e, "url", url, "table", "nope", NULL), 10);
    CHECK_INT(r.rc, SL_EIO);
    CHECK_CONTAINS(r.err, "source 'sql': ");
    CHECK_CONTAINS(r.err, where);
    CHECK_CONTAINS(r.err, "table \"nope\"");
    CHECK_CONTAINS(r.err, "relation \"nope\" does not exist");
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", url, "query", "SELECT nocol FROM t", NULL), 10);
    CHECK_INT(r.rc, SL_EIO);
    CHECK_CONTAINS(r.err, "query \"SELECT nocol FROM t\"");
    CHECK_CONTAINS(r.err, "column \"nocol\" does not exist");
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", url, "table", "t", "incremental", "{cursor_field=nope}",
                           NULL),
                   10);
    CHECK_INT(r.rc, SL_ECONFIG);
    CHECK_CONTAINS(r.err, "table \"t\": incremental cursor_field 'nope' is not a column of the "
                          "result (columns: id, up)");
    run_free(&r);

    /* a null cursor: in the stream (no bound yet) and by the check (bound) */
    r = run_source(&e, cfg(&e, "url", url, "table", "t", "incremental", "{cursor_field=up}",
                           NULL),
                   10);
    CHECK_INT(r.rc, SL_EPARSE);
    CHECK_CONTAINS(r.err, "table \"t\": row 2 (id=7) has a null up");
    run_free(&r);
    r = run_source(&e,
                   cfg(&e, "url", url, "table", "t", "incremental",
                       "{cursor_field=up;initial=2000-01-01}", NULL),
                   10);
    CHECK_INT(r.rc, SL_EPARSE);
    CHECK_CONTAINS(r.err, "table \"t\": the row with id=7 has a null up");
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", url, "table", "nokey", "incremental",
                           "{cursor_field=up}", NULL),
                   10);
    CHECK_INT(r.rc, SL_ECONFIG);
    CHECK_CONTAINS(r.err, "incremental reads need a primary key");
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", url, "table", "t", "query", "SELECT 1", NULL), 10);
    CHECK_INT(r.rc, SL_ECONFIG);
    CHECK_CONTAINS(r.err, "p.yaml:7:5: source 'sql': give either table or query, not both");
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", "postgres://u:secret@127.0.0.1:1/x", "table", "t", NULL),
                   10);
    CHECK_INT(r.rc, SL_EIO);
    CHECK_CONTAINS(r.err, "postgres://u@127.0.0.1:1/x");
    CHECK(strstr(r.err, "secret") == NULL);
    run_free(&r);

    r = run_source(&e, cfg(&e, "url", "mysql://h/db", "table", "t", NULL), 10);
    CHECK_INT(r.rc, SL_ECONFIG);
    CHECK_CONTAINS(r.err, "database 'mysql://h/db' not supported");
    run_free(&r);
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlsrc_sqlite_errors)
{
    char path[600];
    snprintf(path, sizeof path, "%s/e.db", sl_test_tmpdir());
    sqlite3 *db = NULL;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite_exec_fn(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, up TEXT)");
    sqlite3_close(db);
    env_t e;
    env_init(&e);
    run_t r = run_source(&e, cfg(&e, "url", "sqlite:///e.db", "table", "nope", NULL), 10);
    CHECK_INT(r.rc, SL_EIO);
    CHECK_CONTAINS(r.err, "e.db: table \"nope\": no such table: nope");
    run_free(&r);
    r = run_source(&e, cfg(&e, "url", "sqlite:///missing.db", "table", "t", NULL), 10);
    CHECK_INT(r.rc, SL_EIO);
    CHECK_CONTAINS(r.err, "missing.db");
    run_free(&r);
    r = run_source(&e, cfg(&e, "url", "sqlite:///e.db", "table", "t", "incremental",
                           "{cursor_field=upp}", NULL),
                   10);
    CHECK_INT(r.rc, SL_ECONFIG);
    CHECK_CONTAINS(r.err, "cursor_field 'upp' is not a column");
    run_free(&r);
    sl_arena_destroy(e.arena);
}
