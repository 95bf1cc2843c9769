/* Tests of the `sql` sink on SQLite, driven through its vtable with
 * hand-built contexts and batches; the results are read back with a
 * separate SQLite connection, values and storage types (typeof) exact. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../src/plugins/sinks/sql_internal.h"
#include "../test.h"
#include "sql_fixture.h"
#include "sluice/plugin.h"
#include "sluice/state.h"

extern const sl_sink_type_t sl_sink_sql;

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
    e->step.name = "load";
    snprintf(e->base, sizeof e->base, "%s", sl_test_tmpdir());
    e->ctx.pipeline = &e->pipeline;
    e->ctx.step = &e->step;
    e->ctx.base_dir = e->base;
    e->ctx.arena = e->arena;
}

/* A config map from key, value pairs (NULL-terminated). "key" values in
 * brackets become lists: "[id,region]". */
static sl_node_t *cfg(env_t *e, ...)
{
    sl_node_t *m = sl_arena_calloc(e->arena, sizeof *m);
    m->kind = SL_NODE_MAP;
    m->file = "p.yaml";
    m->line = 6;
    m->col = 11;
    m->pairs = sl_arena_calloc(e->arena, 16 * sizeof *m->pairs);
    va_list ap;
    va_start(ap, e);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        m->pairs[m->n].key = sqlfx_scalar(e->arena, k);
        if (v[0] == '[') {
            char *inner = sl_arena_strndup(e->arena, v + 1, strlen(v) - 2);
            m->pairs[m->n].value = sqlfx_seq(e->arena, inner);
        } else {
            m->pairs[m->n].value = sqlfx_scalar(e->arena, v);
        }
        m->n++;
    }
    va_end(ap);
    return m;
}

static void *open_sink(env_t *e, sl_node_t *c)
{
    void *self = NULL;
    int rc = sl_sink_sql.open(&e->ctx, c, &self);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "open: %d %s", rc, e->ctx.err.msg);
    }
    return self;
}

static void write_ok(env_t *e, void *self, sl_batch_t *b, const char *cp)
{
    int rc = sl_sink_sql.write(self, b, "step:load", cp);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "write: %d %s", rc, e->ctx.err.msg);
    }
}

static const char *path_in(const char *name)
{
    static char buf[4][600];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 600, "%s/%s", sl_test_tmpdir(), name);
    return p;
}

/* Rows of a query as "a|b\nc|d" (NULL as empty), like the sqlite3 shell. */
static const char *query(const char *db_file, const char *sql)
{
    static char out[8][4096];
    static int next;
    char *o = out[next++ % 8];
    o[0] = '\0';
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(db_file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        snprintf(o, 4096, "ERROR: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return o;
    }
    size_t len = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len) {
            len += (size_t)snprintf(o + len, 4096 - len, "\n");
        }
        for (int i = 0; i < sqlite3_column_count(q); i++) {
            const unsigned char *t = sqlite3_column_text(q, i);
            len += (size_t)snprintf(o + len, 4096 - len, "%s%s", i ? "|" : "",
                                    t ? (const char *)t : "");
        }
    }
    if (rc != SQLITE_DONE) {
        snprintf(o, 4096, "ERROR: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return o;
}

static void exec(const char *db_file, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    if (sqlite3_open(db_file, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sl_test_fail(__FILE__, __LINE__, "exec %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
    }
    sqlite3_close(db);
}

/* Records what the sink rejects. */
static struct {
    int n;
    size_t idx[8];
    uint64_t line[8];
    char reason[8][128];
} rejected;

static int fake_reject(sl_step_ctx_t *ctx, const sl_batch_t *b, size_t i, const char *reason)
{
    (void)ctx;
    rejected.idx[rejected.n] = i;
    rejected.line[rejected.n] = b->lines[i];
    snprintf(rejected.reason[rejected.n], 128, "%s", reason);
    rejected.n++;
    return 0;
}

/* ---- append ---- */

SL_TEST(sql_append_types_and_values)
{
    env_t e;
    env_init(&e);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "sqlite:///out/shop.db", "table",
                                   "orders", NULL));
    CHECK_INT(sl_sink_sql.instance_flags(self),
              SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL);
    CHECK_INT(sl_sink_sql.flags, SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(1));
    sqlfx_set(a, &r, "name", sqlfx_str("Z\xc3\xbcrich \"q\""));
    sqlfx_set(a, &r, "price", sqlfx_raw_num(SL_T_DOUBLE, "17707.64"));
    sqlfx_set(a, &r, "ratio", sl_value_double(0.25));
    sqlfx_set(a, &r, "paid", sl_value_bool(true));
    sqlfx_set(a, &r, "ts", sl_value_timestamp(1795255200123456));
    sqlfx_set(a, &r, "day", sl_value_date(20779));
    sqlfx_set(a, &r, "big", sqlfx_raw_num(SL_T_BIGNUM, "123456789012345678901234"));
    sl_value_t tags;
    sl_value_t items[2] = {sqlfx_str("a"), sqlfx_str("b")};
    tags.type = SL_T_ARRAY;
    tags.flags = 0;
    tags.len = 2;
    tags.u.items = items;
    sqlfx_set(a, &r, "tags", tags);
    sl_value_t meta = sqlfx_obj(a);
    sqlfx_set(a, &meta, "k", sl_value_int(1));
    sqlfx_set(a, &r, "meta", meta);
    sqlfx_set(a, &r, "note", sl_value_null());
    sqlfx_push(&b, r);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "id", sl_value_int(-9000000000));
    sqlfx_set(a, &r2, "name", sqlfx_str(""));
    sqlfx_set(a, &r2, "price", sl_value_int(3)); /* an int in a REAL column */
    sqlfx_set(a, &r2, "ratio", sl_value_double(-1.5e-7));
    sqlfx_set(a, &r2, "paid", sl_value_bool(false));
    sqlfx_set(a, &r2, "ts", sl_value_timestamp(1795255200000000));
    sqlfx_set(a, &r2, "day", sl_value_date(10956));
    sqlfx_set(a, &r2, "big", sl_value_null());
    sqlfx_set(a, &r2, "tags", sl_value_null());
    sqlfx_set(a, &r2, "meta", sl_value_null());
    sqlfx_set(a, &r2, "note", sl_value_null());
    sqlfx_push(&b, r2);
    write_ok(&e, self, &b, NULL);
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);

    const char *db = path_in("out/shop.db");
    CHECK_STR(query(db, "SELECT group_concat(name || ' ' || type, ', ') FROM"
                        " pragma_table_info('orders')"),
              "id INTEGER, name TEXT, price REAL, ratio REAL, paid INTEGER, ts TEXT, day TEXT,"
              " big TEXT, tags TEXT, meta TEXT, note TEXT");
    CHECK_STR(query(db, "SELECT * FROM orders ORDER BY rowid"),
              "1|Z\xc3\xbcrich \"q\"|17707.64|0.25|1|2026-11-21T10:00:00.123456Z|2026-11-22|"
              "123456789012345678901234|[\"a\",\"b\"]|{\"k\":1}|\n"
              "-9000000000||3.0|-1.5e-07|0|2026-11-21T10:00:00Z|1999-12-31||||");
    CHECK_STR(query(db, "SELECT typeof(id), typeof(name), typeof(price), typeof(ratio),"
                        " typeof(paid), typeof(ts), typeof(day), typeof(big), typeof(tags),"
                        " typeof(meta), typeof(note) FROM orders ORDER BY rowid"),
              "integer|text|real|real|integer|text|text|text|text|text|null\n"
              "integer|text|real|real|integer|text|text|null|null|null|null");
    /* WAL, as the sink sets it. */
    CHECK_STR(query(db, "PRAGMA journal_mode"), "wal");
    /* No checkpoint was given: no checkpoint table either. */
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'sluice_checkpoints'"),
              "0");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_create_infers_from_whole_first_batch)
{
    env_t e;
    env_init(&e);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "t.db", "table", "t", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r1 = sqlfx_obj(a);
    sqlfx_set(a, &r1, "n", sl_value_int(1));
    sqlfx_set(a, &r1, "later", sl_value_null());
    sqlfx_set(a, &r1, "mixed", sl_value_int(5));
    sqlfx_push(&b, r1);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "z", sl_value_bool(true));
    sqlfx_set(a, &r2, "n", sl_value_double(2.5));
    sqlfx_set(a, &r2, "later", sl_value_int(7));
    sqlfx_set(a, &r2, "mixed", sqlfx_str("five"));
    sqlfx_push(&b, r2);
    sl_value_t r3 = sqlfx_obj(a); /* an empty record: every column NULL */
    sqlfx_push(&b, r3);
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    const char *db = path_in("t.db");
    /* Order of first appearance; int+float -> REAL; int+string -> TEXT. */
    CHECK_STR(query(db, "SELECT group_concat(name || ' ' || type, ', ') FROM"
                        " pragma_table_info('t')"),
              "n REAL, later INTEGER, mixed TEXT, z INTEGER");
    CHECK_STR(query(db, "SELECT n, typeof(n), later, mixed, typeof(mixed), z FROM t"
                        " ORDER BY rowid"),
              "1.0|real||5|text|\n2.5|real|7|five|text|1\n|null|||null|");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_append_column_sets_keep_defaults)
{
    env_t e;
    env_init(&e);
    const char *db = path_in("d.db");
    exec(db, "CREATE TABLE t (a INTEGER, b TEXT DEFAULT 'dflt', c REAL)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "t", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r1 = sqlfx_obj(a);
    sqlfx_set(a, &r1, "a", sl_value_int(1));
    sqlfx_push(&b, r1);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "c", sl_value_double(0.5));
    sqlfx_set(a, &r2, "b", sl_value_null());
    sqlfx_set(a, &r2, "a", sl_value_int(2));
    sqlfx_push(&b, r2);
    sl_value_t r3 = sqlfx_obj(a);
    sqlfx_set(a, &r3, "a", sl_value_int(3));
    sqlfx_push(&b, r3);
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    /* An absent field takes the column's default; an explicit null is NULL. */
    CHECK_STR(query(db, "SELECT a, b, typeof(b), c FROM t ORDER BY rowid"),
              "1|dflt|text|\n2||null|0.5\n3|dflt|text|");
    sl_arena_destroy(e.arena);
}

/* ---- upsert ---- */

SL_TEST(sql_upsert_overwrites_and_keeps_absent_fields)
{
    env_t e;
    env_init(&e);
    sl_node_t *c = cfg(&e, "type", "sql", "url", "sqlite:///u.db", "table", "customers", "mode",
                       "upsert", "key", "[id]", NULL);
    void *self = open_sink(&e, c);
    CHECK_INT(sl_sink_sql.instance_flags(self),
              SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    for (int i = 1; i <= 2; i++) {
        sl_value_t r = sqlfx_rec_id_name(a, i, i == 1 ? "a" : "b");
        sqlfx_set(a, &r, "qty", sl_value_int(i));
        sqlfx_push(&b, r);
    }
    write_ok(&e, self, &b, NULL);
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sl_value_t r1 = sqlfx_rec_id_name(a, 1, "A");
    sqlfx_set(a, &r1, "qty", sl_value_int(10));
    sqlfx_push(&b2, r1);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 3, "c"));
    sl_value_t r2 = sqlfx_rec_id_name(a, 2, NULL);
    sqlfx_set(a, &r2, "qty", sl_value_int(20));
    sqlfx_push(&b2, r2);
    sl_value_t r1b = sqlfx_rec_id_name(a, 1, NULL); /* only the key: nothing to update */
    sqlfx_push(&b2, r1b);
    write_ok(&e, self, &b2, NULL);
    sl_sink_sql.close(self);

    const char *db = path_in("u.db");
    CHECK_STR(query(db, "SELECT id, name, qty, typeof(qty) FROM customers ORDER BY id"),
              "1|A|10|integer\n2|b|20|integer\n3|c||null");
    CHECK_STR(query(db, "SELECT name, pk FROM pragma_table_info('customers') WHERE pk > 0"),
              "id|1");

    /* A second run finds the table with its key and upserts again. */
    self = open_sink(&e, c);
    sl_batch_t b3 = sqlfx_batch(a, 16);
    sqlfx_push(&b3, sqlfx_rec_id_name(a, 3, "C"));
    write_ok(&e, self, &b3, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT group_concat(id || '=' || name) FROM customers"),
              "1=A,2=b,3=C");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_upsert_needs_unique_index)
{
    env_t e;
    env_init(&e);
    const char *db = path_in("n.db");
    exec(db, "CREATE TABLE t (id INTEGER, region TEXT, v TEXT)");
    sl_node_t *c = cfg(&e, "type", "sql", "url", db, "table", "t", "mode", "upsert", "key",
                       "[id,region]", NULL);
    void *self = NULL;
    CHECK_INT(sl_sink_sql.open(&e.ctx, c, &self), SL_ECONFIG);
    CHECK(self == NULL);
    CHECK_CONTAINS(e.ctx.err.msg, "p.yaml:6:11: sink 'sql': table \"t\" in ");
    CHECK_CONTAINS(e.ctx.err.msg, "has no primary key or unique index on (id, region)");

    /* An index on one of the columns is not enough; on both, any order, is. */
    exec(db, "CREATE UNIQUE INDEX t_id ON t (id)");
    CHECK_INT(sl_sink_sql.open(&e.ctx, c, &self), SL_ECONFIG);
    exec(db, "CREATE UNIQUE INDEX t_rid ON t (region, id)");
    self = open_sink(&e, c);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    for (int i = 0; i < 2; i++) {
        sl_value_t r = sqlfx_obj(a);
        sqlfx_set(a, &r, "id", sl_value_int(1));
        sqlfx_set(a, &r, "region", sqlfx_str("eu"));
        sqlfx_set(a, &r, "v", sqlfx_str(i ? "second" : "first"));
        sqlfx_push(&b, r);
    }
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT * FROM t"), "1|eu|second");

    /* Upsert without key is refused at open. */
    c = cfg(&e, "type", "sql", "url", db, "table", "t", "mode", "upsert", NULL);
    CHECK_INT(sl_sink_sql.open(&e.ctx, c, &self), SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "mode upsert needs key");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_null_key_rejected)
{
    env_t e;
    env_init(&e);
    sl_sql_set_reject_fn(fake_reject);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "k.db", "table", "t", "mode",
                                   "upsert", "key", "id", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "one"));
    sl_value_t no_id = sqlfx_obj(a);
    sqlfx_set(a, &no_id, "name", sqlfx_str("no id"));
    sqlfx_push(&b, no_id);
    sl_value_t null_id = sqlfx_obj(a);
    sqlfx_set(a, &null_id, "id", sl_value_null());
    sqlfx_set(a, &null_id, "name", sqlfx_str("null id"));
    sqlfx_push(&b, null_id);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 4, "four"));
    sqlfx_push(&b, sl_value_int(5)); /* not an object */
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);

    CHECK_INT(rejected.n, 3);
    CHECK_INT(rejected.idx[0], 1);
    CHECK_INT(rejected.line[0], 2);
    CHECK_STR(rejected.reason[0], "sql: key field 'id' is null");
    CHECK_INT(rejected.idx[1], 2);
    CHECK_INT(rejected.line[1], 3);
    CHECK_STR(rejected.reason[1], "sql: key field 'id' is null");
    CHECK_INT(rejected.line[2], 5);
    CHECK_STR(rejected.reason[2], "sql: record is not an object (got int)");
    /* Dropped from the batch, records and lines together. */
    CHECK_INT(b.n, 2);
    CHECK_INT(b.lines[0], 1);
    CHECK_INT(b.lines[1], 4);
    CHECK_STR(query(path_in("k.db"), "SELECT id, name FROM t ORDER BY id"), "1|one\n4|four");
    sl_sql_set_reject_fn(NULL);
    sl_arena_destroy(e.arena);
}

/* ---- replace ---- */

SL_TEST(sql_replace_swaps_at_commit)
{
    env_t e;
    env_init(&e);
    const char *db = path_in("r.db");
    exec(db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'n/a',"
             " code TEXT UNIQUE, extra TEXT);"
             "CREATE INDEX orders_name ON orders (name);"
             "CREATE VIEW orders_v AS SELECT id, name FROM orders;"
             "INSERT INTO orders (id, name) VALUES (1, 'old1'), (2, 'old2');");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "orders", "mode",
                                   "replace", NULL));
    CHECK_INT(sl_sink_sql.instance_flags(self), SL_SINK_FULL_INPUT);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 10, "new10"));
    sl_value_t r = sqlfx_rec_id_name(a, 11, "new11");
    sqlfx_set(a, &r, "fresh", sl_value_bool(true));
    sqlfx_push(&b, r);
    write_ok(&e, self, &b, "{\"pos\":1}");
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 12, NULL));
    write_ok(&e, self, &b2, "{\"pos\":2}");

    /* Before commit readers see the old table, whole. */
    CHECK_STR(query(db, "SELECT group_concat(id || '=' || name) FROM orders"), "1=old1,2=old2");
    CHECK_STR(query(db, "SELECT count(*) FROM \"orders__sluice_staging\""), "3");
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'sluice_checkpoints'"),
              "0");

    CHECK_INT(sl_sink_sql.commit(self), 0);
    CHECK_STR(query(db, "SELECT id, name, extra, fresh FROM orders ORDER BY id"),
              "10|new10||\n11|new11||1\n12|n/a||");
    /* Definition kept: key, NOT NULL default, UNIQUE, the index; view works. */
    CHECK_STR(query(db, "SELECT group_concat(name || ':' || type || ':' || \"notnull\" || ':'"
                        " || pk, ' ') FROM pragma_table_info('orders')"),
              "id:INTEGER:0:1 name:TEXT:1:0 code:TEXT:0:0 extra:TEXT:0:0 fresh:INTEGER:0:0");
    CHECK_STR(query(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND"
                        " tbl_name = 'orders' AND sql IS NOT NULL"),
              "orders_name");
    CHECK_STR(query(db, "SELECT count(*) FROM pragma_index_list('orders') WHERE origin = 'u'"),
              "1");
    CHECK_STR(query(db, "SELECT count(*) FROM orders_v"), "3");
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%staging%'"), "0");
    /* The last checkpoint went in with the swap. */
    CHECK_STR(query(db, "SELECT key, value FROM sluice_checkpoints"), "step:load|{\"pos\":2}");
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT count(*) FROM orders"), "3");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_replace_close_without_commit_keeps_old)
{
    env_t e;
    env_init(&e);
    const char *db = path_in("r.db");
    exec(db, "CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'old');"
             /* left by a killed run */
             "CREATE TABLE t__sluice_staging (junk TEXT); INSERT INTO t__sluice_staging"
             " VALUES ('x');");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "t", "mode",
                                   "replace", NULL));
    /* The leftover is gone, replaced by a copy of t's definition. */
    CHECK_STR(query(db, "SELECT group_concat(name) FROM pragma_table_info('t__sluice_staging')"),
              "id,name");
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 2, "new"));
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT * FROM t"), "1|old");
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%staging%'"), "0");

    /* Replace with no records empties the table; with no table and no
     * records there is nothing to do. */
    self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "t", "mode", "replace",
                             NULL));
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT count(*), (SELECT count(*) FROM pragma_table_info('t'))"
                        " FROM t"),
              "0|2");
    self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "none", "mode", "replace",
                             NULL));
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'none%'"), "0");

    /* A new table in replace mode appears at commit, with its key. */
    self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "fresh", "mode", "replace",
                             "key", "[id]", NULL));
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 5, "five"));
    write_ok(&e, self, &b2, NULL);
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'fresh'"), "0");
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT * FROM fresh"), "5|five");
    CHECK_STR(query(db, "SELECT name FROM pragma_table_info('fresh') WHERE pk = 1"), "id");
    sl_arena_destroy(e.arena);
}

/* ---- schema evolution, quoting ---- */

SL_TEST(sql_schema_evolution_adds_columns)
{
    env_t e;
    env_init(&e);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "e.db", "table", "t", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(1));
    sqlfx_set(a, &r, "a", sqlfx_str("x"));
    sqlfx_push(&b, r);
    write_ok(&e, self, &b, NULL);
    sl_batch_t b2 = sqlfx_batch(a, 16);
    r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(2));
    sqlfx_set(a, &r, "a", sqlfx_str("y"));
    sqlfx_set(a, &r, "b", sl_value_double(2.5));
    sqlfx_set(a, &r, "c", sl_value_bool(true));
    sqlfx_push(&b2, r);
    write_ok(&e, self, &b2, NULL);
    sl_batch_t b3 = sqlfx_batch(a, 16);
    r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(3));
    sqlfx_set(a, &r, "B", sl_value_int(7)); /* SQLite names ignore ASCII case */
    sqlfx_set(a, &r, "d", sl_value_timestamp(0));
    sqlfx_push(&b3, r);
    write_ok(&e, self, &b3, NULL);
    sl_sink_sql.close(self);
    const char *db = path_in("e.db");
    CHECK_STR(query(db, "SELECT group_concat(name || ' ' || type, ', ') FROM"
                        " pragma_table_info('t')"),
              "id INTEGER, a TEXT, b REAL, c INTEGER, d TEXT");
    CHECK_STR(query(db, "SELECT id, a, b, c, d FROM t ORDER BY id"),
              "1|x|||\n2|y|2.5|1|\n3||7.0||1970-01-01T00:00:00Z");

    /* A reopened sink knows the table's columns. */
    self = open_sink(&e, cfg(&e, "type", "sql", "url", "e.db", "table", "t", NULL));
    sl_batch_t b4 = sqlfx_batch(a, 16);
    r = sqlfx_obj(a);
    sqlfx_set(a, &r, "d", sqlfx_str("text"));
    sqlfx_set(a, &r, "id", sl_value_int(4));
    sqlfx_push(&b4, r);
    write_ok(&e, self, &b4, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT count(*) FROM pragma_table_info('t')"), "5");
    CHECK_STR(query(db, "SELECT d FROM t WHERE id = 4"), "text");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_create_false)
{
    env_t e;
    env_init(&e);
    void *self = NULL;
    sl_node_t *c = cfg(&e, "type", "sql", "url", "f.db", "table", "t", "create", "false", NULL);
    CHECK_INT(sl_sink_sql.open(&e.ctx, c, &self), SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "table \"t\" does not exist in ");
    CHECK_CONTAINS(e.ctx.err.msg, "(create: false)");
    const char *db = path_in("f.db");
    exec(db, "CREATE TABLE t (id INTEGER)");
    self = open_sink(&e, c);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, NULL));
    write_ok(&e, self, &b, NULL);
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 2, "extra"));
    CHECK_INT(sl_sink_sql.write(self, &b2, "step:load", NULL), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "has no column \"name\"");
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT group_concat(id) FROM t"), "1");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_identifier_quoting)
{
    env_t e;
    env_init(&e);
    const char *table = "weird \"name\"";
    sl_node_t *c = cfg(&e, "type", "sql", "url", "q.db", "table", table, "mode", "upsert", "key",
                       "[my col]", NULL);
    void *self = open_sink(&e, c);
    sl_arena_t *a = e.arena;
    for (int round = 0; round < 2; round++) {
        sl_batch_t b = sqlfx_batch(a, 16);
        sl_value_t r = sqlfx_obj(a);
        sqlfx_set(a, &r, "my col", sqlfx_str("k1"));
        sqlfx_set(a, &r, "we\"ird", sl_value_int(round + 1));
        sqlfx_set(a, &r, "select", sqlfx_str("'; DROP TABLE x; --"));
        sqlfx_push(&b, r);
        write_ok(&e, self, &b, "\"cp\"");
    }
    sl_sink_sql.close(self);
    const char *db = path_in("q.db");
    CHECK_STR(query(db, "SELECT \"my col\", \"we\"\"ird\", \"select\""
                        " FROM \"weird \"\"name\"\"\""),
              "k1|2|'; DROP TABLE x; --");

    /* The same table in replace mode: its staging name is quoted too. */
    self = open_sink(&e, cfg(&e, "type", "sql", "url", "q.db", "table", table, "mode",
                             "replace", NULL));
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r = sqlfx_obj(a);
    sqlfx_set(a, &r, "my col", sqlfx_str("k2"));
    sqlfx_set(a, &r, "new \"col\"", sl_value_int(3));
    sqlfx_push(&b, r);
    write_ok(&e, self, &b, NULL);
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT \"my col\", \"we\"\"ird\", \"new \"\"col\"\"\""
                        " FROM \"weird \"\"name\"\"\""),
              "k2||3");
    sl_arena_destroy(e.arena);
}

/* ---- checkpoints ---- */

SL_TEST(sql_checkpoint_in_same_transaction)
{
    env_t e;
    env_init(&e);
    const char *db = path_in("c.db");
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", db, "table", "t", NULL));
    char *cp = (char *)1;
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK(cp == NULL);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "a"));
    sqlfx_push(&b, sqlfx_rec_id_name(a, 2, "b"));
    write_ok(&e, self, &b, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    free(cp);
    CHECK_STR(query(db, "SELECT pipeline, key, value, gen, seq, typeof(updated_at),"
                        " updated_at LIKE '20__-__-__T__:__:__%Z' FROM sluice_checkpoints"),
              "shop|step:load|{\"gen\":1,\"seq\":1,\"pos\":10}|1|0|text|1");

    /* A batch that fails (duplicate key) leaves data and checkpoint as
     * they were. */
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 3, "c"));
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 1, "dup"));
    CHECK_INT(sl_sink_sql.write(self, &b2, "step:load", "{\"gen\":1,\"seq\":2,\"pos\":20}"),
              SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "in/orders.jsonl:2: sql sink: ");
    CHECK_CONTAINS(e.ctx.err.msg, "c.db: writing a row into \"t\": UNIQUE constraint failed");
    CHECK_STR(query(db, "SELECT group_concat(id) FROM t"), "1,2");
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    free(cp);

    /* An empty batch still moves the checkpoint; other keys are separate. */
    sl_batch_t b3 = sqlfx_batch(a, 16);
    write_ok(&e, self, &b3, "{\"gen\":1,\"seq\":3,\"pos\":30}");
    CHECK_INT(sl_sink_sql.write(self, &b3, "step:other", "\"o\""), 0);
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":3,\"pos\":30}");
    free(cp);
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:other", &cp), 0);
    CHECK_STR(cp, "\"o\"");
    free(cp);
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT count(*) FROM sluice_checkpoints"), "2");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_checkpoint_rolled_back_with_new_table)
{
    /* The first batch creates the table, then storing its checkpoint
     * fails: the table goes with the rollback, and the next batch starts
     * over from its own records. */
    env_t e;
    env_init(&e);
    const char *db = path_in("rb.db");
    exec(db, "CREATE TABLE sluice_checkpoints (pipeline TEXT, key TEXT)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "rb.db", "table", "t", "mode",
                                   "upsert", "key", "[id]", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "a"));
    CHECK_INT(sl_sink_sql.write(self, &b, "step:load", "\"cp1\""), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "rb.db: storing the checkpoint: table sluice_checkpoints has "
                                  "no column named value");
    CHECK_STR(query(db, "SELECT count(*) FROM sqlite_master WHERE name = 't'"), "0");
    exec(db, "DROP TABLE sluice_checkpoints");
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "more", sl_value_int(1));
    sqlfx_set(a, &r2, "id", sl_value_int(2));
    sqlfx_push(&b2, r2);
    write_ok(&e, self, &b2, "\"cp2\"");
    sl_sink_sql.close(self);
    CHECK_STR(query(db, "SELECT group_concat(name) FROM pragma_table_info('t')"), "more,id");
    CHECK_STR(query(db, "SELECT * FROM t"), "1|2");
    CHECK_STR(query(db, "SELECT value FROM sluice_checkpoints"), "\"cp2\"");
    sl_arena_destroy(e.arena);
}

/* ---- locations and errors ---- */

SL_TEST(sql_urls_and_connections)
{
    env_t e;
    env_init(&e);
    snprintf(e.base, sizeof e.base, "%s/pipes", sl_test_tmpdir());
    mkdir(e.base, 0777);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "sqlite:///out/rel.db", "table",
                                   "t", NULL));
    sl_sink_sql.close(self);
    CHECK(access(path_in("pipes/out/rel.db"), F_OK) == 0);
    self = open_sink(&e, cfg(&e, "type", "sql", "url", "plain.db", "table", "t", NULL));
    sl_sink_sql.close(self);
    CHECK(access(path_in("pipes/plain.db"), F_OK) == 0);
    char abs[700];
    snprintf(abs, sizeof abs, "sqlite:///%s/abs/a.db", sl_test_tmpdir());
    self = open_sink(&e, cfg(&e, "type", "sql", "url", abs, "table", "t", NULL));
    sl_sink_sql.close(self);
    CHECK(access(path_in("abs/a.db"), F_OK) == 0);

    /* A named connection of the pipeline. */
    sl_connection_cfg_t conns[1];
    conns[0].name = "warehouse";
    conns[0].node = cfg(&e, "url", "sqlite:///wh/w.db", NULL);
    e.pipeline.connections = conns;
    e.pipeline.nconnections = 1;
    self = open_sink(&e, cfg(&e, "type", "sql", "connection", "warehouse", "table", "t", NULL));
    sl_sink_sql.close(self);
    CHECK(access(path_in("pipes/wh/w.db"), F_OK) == 0);
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "connection", "nope", "table", "t",
                                           NULL),
                               &self),
              SL_ECONFIG);
    CHECK_STR(e.ctx.err.msg, "p.yaml:7:5: sink 'sql': no connection named 'nope' in the pipeline");
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "table", "t", NULL), &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "missing url (or connection)");

    /* Other databases: not supported, and the password is never shown. */
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url",
                                           "mysql://etl:hunter2@db:5432/x", "table", "t",
                                           NULL),
                               &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "database 'mysql://***@db:5432/x' not supported (SQLite: ");
    CHECK(strstr(e.ctx.err.msg, "hunter2") == NULL);
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url", "sqlite://h/x.db", "table",
                                           "t", NULL),
                               &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "expected sqlite:///relative/path.db");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_unwritable_database)
{
    env_t e;
    env_init(&e);
    sl_test_write_file("blocker", "x", 1);
    void *self = NULL;
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url", "sqlite:///blocker/x.db",
                                           "table", "t", NULL),
                               &self),
              SL_ESINK);
    char want[1200];
    snprintf(want, sizeof want, "sql sink: %s: %s exists and is not a folder",
             path_in("blocker/x.db"), path_in("blocker"));
    CHECK_STR(e.ctx.err.msg, want);

    /* Not a database. */
    const char *junk = sl_test_write_file("junk.db", "not a database at all, only text....", 36);
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url", junk, "table", "t", NULL),
                               &self),
              SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, junk);
    CHECK_CONTAINS(e.ctx.err.msg, "file is not a database");
    sl_arena_destroy(e.arena);
}

SL_TEST(sql_templated_table_and_url)
{
    env_t e;
    env_init(&e);
    sl_arena_t *a = e.arena;
    sl_value_t params = sqlfx_obj(a);
    sqlfx_set(a, &params, "day", sqlfx_str("20261121"));
    sqlfx_set(a, &params, "db", sqlfx_str("tpl/x.db"));
    e.ctx.params = &params;
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", "sqlite:///{{ params.db }}",
                                   "table", "orders_{{ params.day }}", NULL));
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "a"));
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(path_in("tpl/x.db"), "SELECT * FROM orders_20261121"), "1|a");
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url", "x.db", "table",
                                           "t_{{ record.id }}", NULL),
                               &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "only params and run can be used here");
    sl_arena_destroy(e.arena);
}
