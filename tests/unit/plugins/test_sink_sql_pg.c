/* Tests of the `sql` sink on PostgreSQL (src/plugins/sinks/sql_pg.c),
 * against a real server (tests/unit/net/pg_harness.h): values and column
 * types read back exactly with a separate connection. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/plugins/sinks/sql_internal.h"
#include "../net/pg_harness.h"
#include "../test.h"
#include "sql_fixture.h"
#include "sluice/pg.h"
#include "sluice/plugin.h"

extern const sl_sink_type_t sl_sink_sql;

/* ---- fixtures ---- */

typedef struct {
    sl_arena_t *arena;
    sl_pipeline_t pipeline;
    sl_step_cfg_t step;
    sl_step_ctx_t ctx;
    const char *url;
} env_t;

/* A fresh database per test; false when the server cannot start. */
static bool env_init(env_t *e, const char *db)
{
    memset(e, 0, sizeof *e);
    e->arena = sl_arena_create(0, 0);
    e->pipeline.name = "shop";
    e->step.name = "load";
    e->ctx.pipeline = &e->pipeline;
    e->ctx.step = &e->step;
    e->ctx.base_dir = sl_test_tmpdir();
    e->ctx.arena = e->arena;
    e->url = sl_pg_harness_db(db);
    if (!e->url) {
        sl_test_fail(__FILE__, __LINE__, "no PostgreSQL server for %s", db);
    }
    return e->url != NULL;
}

/* A config map from key, value pairs (NULL-terminated); "[a,b]" is a list.
 * The url is the test database unless given ("none": no url). */
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
    bool has_url = false;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        has_url = has_url || strcmp(k, "url") == 0;
        if (strcmp(k, "url") == 0 && strcmp(v, "none") == 0) {
            continue; /* no url at all */
        }
        m->pairs[m->n].key = sqlfx_scalar(e->arena, k);
        if (v[0] == '[') {
            m->pairs[m->n].value = sqlfx_seq(e->arena, sl_arena_strndup(e->arena, v + 1, strlen(v) - 2));
        } else {
            m->pairs[m->n].value = sqlfx_scalar(e->arena, v);
        }
        m->n++;
    }
    va_end(ap);
    if (!has_url) {
        m->pairs[m->n].key = sqlfx_scalar(e->arena, "url");
        m->pairs[m->n].value = sqlfx_scalar(e->arena, e->url);
        m->n++;
    }
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

/* Rows of a query as "a|b\nc|d" (NULL as empty), like psql -At. */
static const char *query(const char *url, const char *sql)
{
    static char out[8][8192];
    static int next;
    char *o = out[next++ % 8];
    o[0] = '\0';
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(o, 8192, "ERROR: %s", PQresultErrorMessage(r));
    } else {
        size_t len = 0;
        for (int i = 0; i < PQntuples(r); i++) {
            for (int j = 0; j < PQnfields(r); j++) {
                len += (size_t)snprintf(o + len, 8192 - len, "%s%s", j ? "|" : i ? "\n" : "",
                                        PQgetvalue(r, i, j));
            }
        }
    }
    PQclear(r);
    PQfinish(c);
    return o;
}

static void exec(const char *url, const char *sql)
{
    const char *r = query(url, sql);
    if (strncmp(r, "ERROR", 5) == 0) {
        sl_test_fail(__FILE__, __LINE__, "exec %s: %s", sql, r);
    }
}

static struct {
    int n;
    uint64_t line[8];
    char reason[8][128];
} rejected;

static int fake_reject(sl_step_ctx_t *ctx, const sl_batch_t *b, size_t i, const char *reason)
{
    (void)ctx;
    if (rejected.n < 8) {
        rejected.line[rejected.n] = b->lines[i];
        snprintf(rejected.reason[rejected.n], 128, "%s", reason);
    }
    rejected.n++;
    return 0;
}

/* ---- append ---- */

SL_TEST(sqlpg_append_types_and_values)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_types")) {
        return;
    }
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "orders", NULL));
    CHECK_INT(sl_sink_sql.instance_flags(self), SL_SINK_DURABLE_PER_BATCH | SL_SINK_TRANSACTIONAL);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(1));
    sqlfx_set(a, &r, "name", sqlfx_str("Z\xc3\xbcrich \"q\" 'x' \xf0\x9f\x98\x80"));
    sqlfx_set(a, &r, "price", sqlfx_raw_num(SL_T_DOUBLE, "17707.64"));
    sqlfx_set(a, &r, "ratio", sl_value_double(0.25));
    sqlfx_set(a, &r, "paid", sl_value_bool(true));
    sqlfx_set(a, &r, "ts", sl_value_timestamp(1795255200123456));
    sqlfx_set(a, &r, "day", sl_value_date(20779));
    sqlfx_set(a, &r, "big", sqlfx_raw_num(SL_T_BIGNUM, "123456789012345678901234"));
    sl_value_t items[2] = {sqlfx_str("a\\b"), sqlfx_str("c\td")};
    sl_value_t tags = {.type = SL_T_ARRAY, .len = 2, .u.items = items};
    sqlfx_set(a, &r, "tags", tags);
    sl_value_t meta = sqlfx_obj(a);
    sqlfx_set(a, &meta, "k", sl_value_int(1));
    sqlfx_set(a, &r, "meta", meta);
    sqlfx_set(a, &r, "note", sl_value_null());
    sqlfx_push(&b, r);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "id", sl_value_int(INT64_MIN));
    sqlfx_set(a, &r2, "name", sqlfx_str("tab\there\nnewline\r\\N back\\slash \\."));
    sqlfx_set(a, &r2, "price", sl_value_int(3)); /* an int in a double column */
    sqlfx_set(a, &r2, "ratio", sl_value_double(-1.5e-7));
    sqlfx_set(a, &r2, "paid", sl_value_bool(false));
    sqlfx_set(a, &r2, "ts", sl_value_timestamp(-1));
    sqlfx_set(a, &r2, "day", sl_value_date(-719162)); /* 0001-01-01 */
    sqlfx_set(a, &r2, "big", sl_value_null());
    sqlfx_set(a, &r2, "tags", sl_value_null());
    sqlfx_set(a, &r2, "meta", sl_value_null());
    sqlfx_set(a, &r2, "note", sqlfx_str(""));
    sqlfx_push(&b, r2);
    write_ok(&e, self, &b, NULL);
    CHECK_INT(sl_sink_sql.commit(self), 0);
    sl_sink_sql.close(self);

    CHECK_STR(query(e.url, "SELECT string_agg(column_name || ' ' || data_type, ', '"
                           " ORDER BY ordinal_position) FROM information_schema.columns"
                           " WHERE table_name = 'orders'"),
              "id bigint, name text, price double precision, ratio double precision,"
              " paid boolean, ts timestamp with time zone, day date, big numeric, tags jsonb,"
              " meta jsonb, note text");
    CHECK_STR(query(e.url, "SET TimeZone = 'UTC'; SELECT id, name, price, ratio, paid, ts, day,"
                           " big, tags, meta, note IS NULL, note FROM orders ORDER BY id DESC"),
              "1|Z\xc3\xbcrich \"q\" 'x' \xf0\x9f\x98\x80|17707.64|0.25|t|"
              "2026-11-21 10:00:00.123456+00|2026-11-22|123456789012345678901234|"
              "[\"a\\\\b\", \"c\\td\"]|{\"k\": 1}|t|\n"
              "-9223372036854775808|tab\there\nnewline\r\\N back\\slash \\.|3|-1.5e-07|f|"
              "1969-12-31 23:59:59.999999+00|0001-01-01||||f|");
    /* No checkpoint was given: no checkpoint table either. */
    CHECK_STR(query(e.url, "SELECT to_regclass('sluice_checkpoints') IS NULL"), "t");
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlpg_schema_evolution_and_column_sets)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_evolve")) {
        return;
    }
    exec(e.url, "CREATE SCHEMA shop; CREATE TABLE shop.t (id bigint, name text DEFAULT 'dflt',"
                " n int, flag bigint)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "shop.t", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "a"));
    sqlfx_push(&b, sqlfx_rec_id_name(a, 2, NULL)); /* name absent: its default */
    sl_value_t r = sqlfx_obj(a);
    sqlfx_set(a, &r, "id", sl_value_int(3));
    sqlfx_set(a, &r, "n", sqlfx_str("42"));             /* text into int: the server converts */
    sqlfx_set(a, &r, "flag", sl_value_bool(true)); /* bool into bigint: 1 */
    sqlfx_push(&b, r);
    sqlfx_push(&b, sqlfx_obj(a)); /* no fields at all */
    write_ok(&e, self, &b, NULL);
    /* a later batch brings a new field: ALTER TABLE, type from its values */
    sl_batch_t b2 = sqlfx_batch(a, 16);
    sl_value_t r2 = sqlfx_obj(a);
    sqlfx_set(a, &r2, "id", sl_value_int(4));
    sqlfx_set(a, &r2, "Extra Col", sl_value_double(1.5));
    sqlfx_push(&b2, r2);
    sl_value_t r3 = sqlfx_obj(a);
    sqlfx_set(a, &r3, "id", sl_value_int(5));
    sqlfx_set(a, &r3, "Extra Col", sl_value_int(2));
    sqlfx_push(&b2, r3);
    write_ok(&e, self, &b2, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(e.url, "SELECT id, name, n, flag, \"Extra Col\" FROM shop.t"
                           " ORDER BY id NULLS LAST"),
              "1|a|||\n2|dflt|||\n3|dflt|42|1|\n4|dflt|||1.5\n5|dflt|||2\n|dflt|||");
    CHECK_STR(query(e.url, "SELECT data_type FROM information_schema.columns WHERE"
                           " table_schema = 'shop' AND column_name = 'Extra Col'"),
              "double precision");
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlpg_big_batches_stream_and_switch_sets)
{
    /* Two column sets alternating, rows big enough that both buffers pass
     * the chunk and switch sizes: every row arrives once. */
    env_t e;
    if (!env_init(&e, "t_sqlpg_stream")) {
        return;
    }
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", NULL));
    sl_arena_t *a = e.arena;
    enum { N = 24000 };
    char *filler = sl_arena_alloc(a, 1001);
    memset(filler, 'x', 1000);
    filler[0] = '\t';
    filler[999] = '\\';
    filler[1000] = '\0';
    for (int round = 0; round < 2; round++) {
        sl_batch_t b = sqlfx_batch(a, N);
        for (int i = 0; i < N; i++) {
            sl_value_t r = sqlfx_obj(a);
            sqlfx_set(a, &r, "id", sl_value_int(round * N + i));
            sqlfx_set(a, &r, i % 2 ? "odd" : "even", sqlfx_str(filler));
            sqlfx_push(&b, r);
        }
        write_ok(&e, self, &b, round ? "\"cp2\"" : "\"cp1\"");
    }
    sl_sink_sql.close(self);
    CHECK_STR(query(e.url, "SELECT count(*), count(DISTINCT id), min(id), max(id),"
                           " count(odd), count(even), min(length(odd)), max(length(even)),"
                           " bool_and(left(odd, 2) = E'\\tx' AND right(odd, 1) = E'\\\\') FROM t"),
              "48000|48000|0|47999|24000|24000|1000|1000|t");
    CHECK_STR(query(e.url, "SELECT value FROM sluice_checkpoints"), "\"cp2\"");
    sl_arena_destroy(e.arena);
}

/* ---- upsert ---- */

SL_TEST(sqlpg_upsert_overwrites_and_keeps_absent_fields)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_upsert")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint, region text, name text, n bigint,"
                " PRIMARY KEY (region, id)); INSERT INTO t VALUES (1, 'eu', 'old', 7)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", "mode", "upsert", "key",
                                   "[id,region]", NULL));
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 16);
    sl_value_t r = sqlfx_rec_id_name(a, 1, "new");
    sqlfx_set(a, &r, "region", sqlfx_str("eu"));
    sqlfx_push(&b, r); /* n absent: stays 7 */
    sl_value_t r2 = sqlfx_rec_id_name(a, 2, "first");
    sqlfx_set(a, &r2, "region", sqlfx_str("eu"));
    sqlfx_push(&b, r2);
    sl_value_t r3 = sqlfx_rec_id_name(a, 2, "second"); /* same key, same batch: last wins */
    sqlfx_set(a, &r3, "region", sqlfx_str("eu"));
    sqlfx_push(&b, r3);
    sl_value_t r4 = sqlfx_obj(a); /* another column set, same key: applied after r3 */
    sqlfx_set(a, &r4, "id", sl_value_int(2));
    sqlfx_set(a, &r4, "region", sqlfx_str("eu"));
    sqlfx_set(a, &r4, "n", sl_value_int(5));
    sqlfx_push(&b, r4);
    sl_value_t r5 = sqlfx_rec_id_name(a, 2, "third");
    sqlfx_set(a, &r5, "region", sqlfx_str("eu"));
    sqlfx_push(&b, r5);
    sl_value_t r6 = sqlfx_obj(a); /* only the key: inserted, or left alone */
    sqlfx_set(a, &r6, "id", sl_value_int(3));
    sqlfx_set(a, &r6, "region", sqlfx_str("us"));
    sqlfx_push(&b, r6);
    sl_value_t bad = sqlfx_obj(a); /* null key: rejected */
    sqlfx_set(a, &bad, "id", sl_value_null());
    sqlfx_set(a, &bad, "region", sqlfx_str("us"));
    sqlfx_push(&b, bad);
    rejected.n = 0;
    sl_sql_set_reject_fn(fake_reject);
    write_ok(&e, self, &b, "\"cp\"");
    sl_sql_set_reject_fn(NULL);
    CHECK_INT(rejected.n, 1);
    CHECK_INT((int)rejected.line[0], 7);
    CHECK_STR(rejected.reason[0], "sql: key field 'id' is null");
    /* a second batch updates again with the same cached statements */
    sl_batch_t b2 = sqlfx_batch(a, 4);
    sl_value_t r7 = sqlfx_rec_id_name(a, 1, "newer");
    sqlfx_set(a, &r7, "region", sqlfx_str("eu"));
    sqlfx_push(&b2, r7);
    write_ok(&e, self, &b2, "\"cp2\"");
    sl_sink_sql.close(self);
    CHECK_STR(query(e.url, "SELECT id, region, name, n FROM t ORDER BY region, id"),
              "1|eu|newer|7\n2|eu|third|5\n3|us||");
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlpg_upsert_needs_unique_index)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_unique")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint, name text);"
                " CREATE UNIQUE INDEX t_part ON t (id) WHERE id > 0;"
                " CREATE UNIQUE INDEX t_two ON t (id, name)");
    void *self = NULL;
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "table", "t", "mode", "upsert",
                                           "key", "[id]", NULL),
                               &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "p.yaml:6:11: sink 'sql': table \"t\" in postgresql://sluice@");
    CHECK_CONTAINS(e.ctx.err.msg,
                   "has no primary key or unique index on (id), which upsert needs");
    /* a unique index on exactly the key (any order) is enough */
    exec(e.url, "CREATE UNIQUE INDEX t_id ON t (id) INCLUDE (name)");
    self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", "mode", "upsert", "key", "[id]",
                             NULL));
    sl_sink_sql.close(self);
    self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", "mode", "upsert", "key",
                             "[name,id]", NULL));
    sl_sink_sql.close(self);
    sl_arena_destroy(e.arena);
}

/* ---- replace ---- */

SL_TEST(sqlpg_replace_swaps_at_commit)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_replace")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL DEFAULT 'd');"
                " CREATE INDEX t_name ON t (name); INSERT INTO t VALUES (9, 'old');"
                " CREATE FUNCTION up() RETURNS trigger LANGUAGE plpgsql AS"
                " 'BEGIN NEW.name := upper(NEW.name); RETURN NEW; END';"
                " CREATE TRIGGER t_up BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION up()");
    for (int run = 0; run < 2; run++) {
        void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", "mode", "replace",
                                       NULL));
        sl_batch_t b = sqlfx_batch(e.arena, 4);
        sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 1, "a"));
        sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 2, NULL));
        write_ok(&e, self, &b, "\"cp\"");
        /* nothing visible before the commit */
        CHECK_STR(query(e.url, "SELECT string_agg(name, ',') FROM t"), run ? "a,d" : "old");
        CHECK_INT(sl_sink_sql.commit(self), 0);
        sl_sink_sql.close(self);
    }
    CHECK_STR(query(e.url, "SELECT id, name FROM t ORDER BY id"), "1|a\n2|d");
    CHECK_STR(query(e.url, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes"
                           " WHERE tablename = 't'"),
              "t_name,t_pkey");
    CHECK_STR(query(e.url, "SELECT to_regclass('t__sluice_staging') IS NULL"), "t");
    CHECK_STR(query(e.url, "SELECT value FROM sluice_checkpoints"), "\"cp\"");
    /* the trigger came along */
    exec(e.url, "INSERT INTO t VALUES (3, 'z')");
    CHECK_STR(query(e.url, "SELECT name FROM t WHERE id = 3"), "Z");

    /* closed without commit: the old table stays, the staging goes */
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", "mode", "replace", NULL));
    sl_batch_t b = sqlfx_batch(e.arena, 4);
    sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 7, "x"));
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(e.url, "SELECT count(*), to_regclass('t__sluice_staging') IS NULL FROM t"),
              "3|t");
    sl_arena_destroy(e.arena);
}

/* ---- checkpoints and errors ---- */

SL_TEST(sqlpg_checkpoint_in_same_transaction)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_checkpoint")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint PRIMARY KEY, name text)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", NULL));
    char *cp = (char *)1;
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK(cp == NULL);
    sl_arena_t *a = e.arena;
    sl_batch_t b = sqlfx_batch(a, 4);
    sqlfx_push(&b, sqlfx_rec_id_name(a, 1, "a"));
    sqlfx_push(&b, sqlfx_rec_id_name(a, 2, "b"));
    write_ok(&e, self, &b, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    free(cp);
    CHECK_STR(query(e.url, "SELECT pipeline, key, value, gen, seq,"
                           " updated_at LIKE '20__-__-__T__:__:__%Z' FROM sluice_checkpoints"),
              "shop|step:load|{\"gen\":1,\"seq\":1,\"pos\":10}|1|0|t");
    /* the same table as the state store's (SL_STATE_PG_CHECKPOINTS_DDL) */
    CHECK_STR(query(e.url, "SELECT string_agg(column_name || ':' || data_type, ','"
                           " ORDER BY ordinal_position) FROM information_schema.columns"
                           " WHERE table_name = 'sluice_checkpoints'"),
              "pipeline:text,key:text,value:text,gen:bigint,seq:bigint,updated_at:text");

    /* A batch that fails (duplicate key) leaves data and checkpoint as
     * they were; the message names the record, server, table and error. */
    sl_batch_t b2 = sqlfx_batch(a, 4);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 3, "c"));
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 1, "dup"));
    CHECK_INT(sl_sink_sql.write(self, &b2, "step:load", "{\"gen\":1,\"seq\":2,\"pos\":20}"),
              SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "sql sink: postgres postgresql://sluice@127.0.0.1:");
    CHECK_CONTAINS(e.ctx.err.msg, "/t_sqlpg_checkpoint: writing rows into table \"t\": ERROR:  "
                                  "duplicate key value violates unique constraint \"t_pkey\"");
    CHECK_CONTAINS(e.ctx.err.msg, "COPY t, line 2");
    CHECK_STR(query(e.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"), "1,2");
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":1,\"pos\":10}");
    free(cp);
    /* the connection is usable again: an empty batch moves the checkpoint */
    sl_batch_t b3 = sqlfx_batch(a, 1);
    write_ok(&e, self, &b3, "{\"gen\":1,\"seq\":3,\"pos\":30}");
    CHECK_INT(sl_sink_sql.checkpoint_get(self, "step:load", &cp), 0);
    CHECK_STR(cp, "{\"gen\":1,\"seq\":3,\"pos\":30}");
    free(cp);
    sl_sink_sql.close(self);
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlpg_refused_values_name_the_record)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_refused")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint, name varchar(3), j jsonb)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "t", NULL));
    sl_arena_t *a = e.arena;
    /* a value the server refuses, deep in a streamed batch: its line */
    enum { N = 5000 };
    sl_batch_t b = sqlfx_batch(a, N);
    for (int i = 0; i < N; i++) {
        sl_value_t r = sqlfx_obj(a);
        sqlfx_set(a, &r, "id", i == 4321 ? sqlfx_str("abc") : sl_value_int(i));
        sqlfx_set(a, &r, "name", sqlfx_str("ab"));
        sqlfx_push(&b, r);
    }
    CHECK_INT(sl_sink_sql.write(self, &b, "step:load", "\"x\""), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "in/orders.jsonl:4322: sql sink: postgres postgresql://");
    /* (checked before sending: the set goes as binary COPY) */
    CHECK_CONTAINS(e.ctx.err.msg, "table \"t\", column \"id\": \"abc\" is not an integer");
    CHECK_STR(query(e.url, "SELECT count(*) FROM t"), "0");
    /* too long for varchar(3) */
    sl_batch_t b2 = sqlfx_batch(a, 4);
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 1, "abc"));
    sqlfx_push(&b2, sqlfx_rec_id_name(a, 2, "abcd"));
    CHECK_INT(sl_sink_sql.write(self, &b2, "step:load", NULL), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "in/orders.jsonl:2: ");
    CHECK_CONTAINS(e.ctx.err.msg, "value too long for type character varying(3)");
    /* a NUL byte cannot be stored in text */
    sl_batch_t b3 = sqlfx_batch(a, 4);
    sqlfx_push(&b3, sqlfx_rec_id_name(a, 1, "a"));
    sl_value_t nul = sqlfx_obj(a);
    sqlfx_set(a, &nul, "name", sl_value_str("a\0b", 3));
    sqlfx_push(&b3, nul);
    CHECK_INT(sl_sink_sql.write(self, &b3, "step:load", NULL), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "in/orders.jsonl:2: sql sink: postgres ");
    CHECK_CONTAINS(e.ctx.err.msg, "table \"t\", column \"name\": a string holds a NUL byte");
    /* a JSON string into jsonb is a JSON string; \u0000 is refused */
    sl_batch_t b4 = sqlfx_batch(a, 4);
    sl_value_t js = sqlfx_obj(a);
    sqlfx_set(a, &js, "j", sqlfx_str("x\"y"));
    sqlfx_push(&b4, js);
    write_ok(&e, self, &b4, NULL);
    CHECK_STR(query(e.url, "SELECT j #>> '{}' FROM t"), "x\"y");
    sl_sink_sql.close(self);

    /* the table that does not exist with create: false */
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "table", "nope", "create",
                                           "false", NULL),
                               &self),
              SL_ECONFIG);
    CHECK_CONTAINS(e.ctx.err.msg, "table \"nope\" does not exist in postgresql://sluice@");
    sl_arena_destroy(e.arena);
}

SL_TEST(sqlpg_connection_errors_hide_the_password)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_connect")) {
        return;
    }
    void *self = NULL;
    CHECK_INT(sl_sink_sql.open(&e.ctx, cfg(&e, "type", "sql", "url",
                                           "postgres://etl:hunter2@127.0.0.1:1/x", "table", "t",
                                           NULL),
                               &self),
              SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "sql sink: postgres postgres://etl@127.0.0.1:1/x: ");
    CHECK(strstr(e.ctx.err.msg, "hunter2") == NULL);
    /* a named connection */
    sl_connection_cfg_t conns[1];
    conns[0].name = "warehouse";
    conns[0].node = cfg(&e, NULL);
    e.pipeline.connections = conns;
    e.pipeline.nconnections = 1;
    self = open_sink(&e, cfg(&e, "type", "sql", "connection", "warehouse", "table", "t", "url",
                             "none", NULL));
    sl_batch_t b = sqlfx_batch(e.arena, 2);
    sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 1, "a"));
    write_ok(&e, self, &b, NULL);
    sl_sink_sql.close(self);
    CHECK_STR(query(e.url, "SELECT * FROM t"), "1|a");
    sl_arena_destroy(e.arena);
}

/* ---- retries ---- */

typedef struct {
    const char *url;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool locked;
} blocker_t;

/* Updates row 1 in a transaction, lets the sink start, commits 300 ms
 * later: the sink's serializable transaction, which took its snapshot
 * before, then cannot update that row (40001). */
static void *blocker(void *arg)
{
    blocker_t *bl = arg;
    PGconn *c = PQconnectdb(bl->url);
    PQclear(PQexec(c, "BEGIN"));
    PQclear(PQexec(c, "UPDATE t SET name = 'blocker' WHERE id = 1"));
    pthread_mutex_lock(&bl->mu);
    bl->locked = true;
    pthread_cond_signal(&bl->cv);
    pthread_mutex_unlock(&bl->mu);
    usleep(300000);
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
    return NULL;
}

SL_TEST(sqlpg_serialization_failure_is_retried)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_retry")) {
        return;
    }
    exec(e.url, "CREATE TABLE t (id bigint PRIMARY KEY, name text);"
                " INSERT INTO t VALUES (1, 'old'), (2, 'old')");
    char url[600];
    snprintf(url, sizeof url, "%s?options=-c%%20default_transaction_isolation%%3Dserializable",
             e.url);
    void *self = open_sink(&e, cfg(&e, "type", "sql", "url", url, "table", "t", "mode",
                                   "upsert", "key", "[id]", NULL));
    blocker_t bl = {.url = e.url, .mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, blocker, &bl), 0);
    pthread_mutex_lock(&bl.mu);
    while (!bl.locked) {
        pthread_cond_wait(&bl.cv, &bl.mu);
    }
    pthread_mutex_unlock(&bl.mu);
    sl_batch_t b = sqlfx_batch(e.arena, 4);
    sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 2, "sink"));
    sqlfx_push(&b, sqlfx_rec_id_name(e.arena, 1, "sink"));
    write_ok(&e, self, &b, "\"cp\"");
    pthread_join(th, NULL);
    /* the sink ran after the blocker committed: its values win */
    CHECK_STR(query(e.url, "SELECT id, name FROM t ORDER BY id"), "1|sink\n2|sink");
    CHECK_STR(query(e.url, "SELECT value FROM sluice_checkpoints"), "\"cp\"");
    sl_sink_sql.close(self);
    sl_arena_destroy(e.arena);
}

/* Binary COPY (every column of int2/4/8, float4/8, bool, text, varchar,
 * date, timestamp(tz)): values are converted as PostgreSQL's text input
 * would take them, and what does not fit fails naming column and value. */
SL_TEST(sqlpg_binary_copy_converts_like_text_input)
{
    env_t e;
    if (!env_init(&e, "t_sqlpg_binary")) {
        return;
    }
    exec(e.url, "CREATE TABLE b (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,"
                " ok boolean, v varchar(5), t text, d date, ts timestamp, tz timestamptz)");
    void *self = open_sink(&e, cfg(&e, "type", "sql", "table", "b", NULL));
    sl_arena_t *a = e.arena;
    const char *keys[] = {"i2", "i4", "i8", "f4", "f8", "ok", "v", "t", "d", "ts", "tz"};
    sl_value_t rows[3][11] = {
        {sl_value_int(-32768), sl_value_int(2147483647), sl_value_int(INT64_MIN),
         sqlfx_raw_num(SL_T_DOUBLE, "1.5"), sqlfx_raw_num(SL_T_DOUBLE, "0.1"), sl_value_bool(true),
         sqlfx_str("héllo"), sqlfx_str("tab\there\nnewline \\ back"), sl_value_date(20779),
         sl_value_timestamp(1795343400123456LL), sl_value_timestamp(-1LL)},
        /* strings and other types, converted */
        {sqlfx_str(" 12 "), sqlfx_str("-7"), sqlfx_raw_num(SL_T_BIGNUM, "9223372036854775807"), sl_value_int(3),
         sqlfx_str("2.5e3"), sqlfx_str("Yes"), sl_value_int(42), sl_value_bool(false),
         sl_value_timestamp(1795343400000000LL), sqlfx_str("2026-11-22T10:30:00+02:00"),
         sl_value_date(0)},
        {sl_value_null(), sl_value_null(), sl_value_null(), sl_value_null(), sl_value_null(),
         sqlfx_str("off"), sqlfx_str(""), sqlfx_str(""), sqlfx_str("1999-12-31"), sl_value_date(10957),
         sqlfx_str("2000-01-01T00:00:00Z")},
    };
    sl_batch_t b = sqlfx_batch(a, 4);
    for (int r = 0; r < 3; r++) {
        sl_value_t o = sqlfx_obj(a);
        for (int k = 0; k < 11; k++) {
            sqlfx_set(a, &o, keys[k], rows[r][k]);
        }
        sqlfx_push(&b, o);
    }
    write_ok(&e, self, &b, NULL);
    CHECK_STR(query(e.url, "SET TimeZone = 'UTC'; SELECT i2, i4, i8, f4, f8, ok, v, t, d, ts, tz "
                           "FROM b ORDER BY i2 NULLS LAST"),
              "-32768|2147483647|-9223372036854775808|1.5|0.1|t|héllo|tab\there\nnewline \\ "
              "back|2026-11-22|2026-11-22 10:30:00.123456|1969-12-31 23:59:59.999999+00\n"
              "12|-7|9223372036854775807|3|2500|t|42|false|2026-11-22|2026-11-22 08:30:00|"
              "1970-01-01 00:00:00+00\n"
              "|||||f|||1999-12-31|2000-01-01 00:00:00|2000-01-01 00:00:00+00");
    /* what does not fit: named with its column and value, nothing written */
    struct {
        const char *col;
        sl_value_t v;
        const char *msg;
    } bad[] = {
        {"i2", sl_value_int(40000), "column \"i2\": 40000 is out of range for smallint"},
        {"i8", sqlfx_raw_num(SL_T_DOUBLE, "1.5"), "column \"i8\": 1.5 is a fraction for an integer"},
        {"ok", sl_value_int(2), "column \"ok\": 2 is not a boolean"},
        {"tz", sqlfx_str("yesterday"), "column \"tz\": \"yesterday\" is not an ISO 8601 timestamp"},
        {"f8", sqlfx_str("1,5"), "column \"f8\": \"1,5\" is not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_batch_t bb = sqlfx_batch(a, 2);
        sl_value_t o = sqlfx_obj(a);
        sqlfx_set(a, &o, bad[i].col, bad[i].v);
        sqlfx_push(&bb, o);
        CHECK_INT(sl_sink_sql.write(self, &bb, "step:load", NULL), SL_ESINK);
        CHECK_CONTAINS(e.ctx.err.msg, "in/orders.jsonl:1: sql sink: postgres ");
        CHECK_CONTAINS(e.ctx.err.msg, bad[i].msg);
    }
    /* too long for varchar(5): the server still checks */
    sl_batch_t bv = sqlfx_batch(a, 2);
    sl_value_t o = sqlfx_obj(a);
    sqlfx_set(a, &o, "v", sqlfx_str("toolong"));
    sqlfx_push(&bv, o);
    CHECK_INT(sl_sink_sql.write(self, &bv, "step:load", NULL), SL_ESINK);
    CHECK_CONTAINS(e.ctx.err.msg, "value too long for type character varying(5)");
    CHECK_STR(query(e.url, "SELECT count(*) FROM b"), "3");
    sl_sink_sql.close(self);
}
