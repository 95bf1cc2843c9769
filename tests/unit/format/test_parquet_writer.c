/* Round trips for the Parquet writer (src/format/writer.c, column.c):
 * files written here are read back by two independent readers, DuckDB
 * (tests/harness/pq_read_duckdb.js) and hyparquet
 * (tests/harness/pq_read_hyparquet.mjs), and their JSON output is compared
 * exactly. Also checked: schema annotations, statistics, encodings, row
 * groups and offsets as the readers decode them, error messages, and that
 * a rejected record leaves nothing behind. Tests run from the repository
 * root (make unit), where the harness scripts live. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "sluice/json.h"
#include "sluice/parquet.h"
#include "sluice/timeutil.h"
#include "../test.h"

#define COL(n, t) {.name = (n), .type = (t)}
#define REQ(n, t) {.name = (n), .type = (t), .required = true}
#define DEC(n, p, s) {.name = (n), .type = SL_PQ_DECIMAL, .precision = (p), .scale = (s)}
#define GROUP(n, t, kids) {.name = (n), .type = (t), .children = (kids), .nchildren = SL_ARRAY_LEN(kids)}
#define ROOT(kids) {.name = "root", .type = SL_PQ_STRUCT, .children = (kids), .nchildren = SL_ARRAY_LEN(kids)}

static sl_arena_t *A;

static sl_arena_t *arena(void)
{
    if (!A) {
        A = sl_arena_create(1 << 16, 0);
    }
    return A;
}

/* Strings "@ts:ISO" become timestamps and "@d:YYYY-MM-DD" dates. */
static void fix(sl_value_t *v)
{
    if (v->type == SL_T_STRING && v->len > 4 && memcmp(v->u.s, "@ts:", 4) == 0) {
        int64_t us;
        CHECK_INT(sl_timestamp_parse(v->u.s + 4, v->len - 4, &us), 0);
        *v = sl_value_timestamp(us);
    } else if (v->type == SL_T_STRING && v->len > 3 && memcmp(v->u.s, "@d:", 3) == 0) {
        int64_t d;
        CHECK_INT(sl_date_parse(v->u.s + 3, v->len - 3, &d), 0);
        *v = sl_value_date(d);
    } else if (v->type == SL_T_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++) {
            fix(&v->u.items[i]);
        }
    } else if (v->type == SL_T_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++) {
            fix(&v->u.members[i].val);
        }
    }
}

static sl_value_t rec(const char *json)
{
    sl_value_t v;
    sl_json_error_t je;
    size_t n = strlen(json);
    char *copy = sl_arena_strndup(arena(), json, n);
    if (sl_json_parse(arena(), copy, n, NULL, &v, &je)) {
        sl_test_fail(__FILE__, __LINE__, "bad test JSON at %zu (%s): %s", je.offset, je.reason,
                     json);
    }
    fix(&v);
    return v;
}

static int to_file(void *ud, const void *p, size_t n)
{
    return fwrite(p, 1, n, ud) == n ? 0 : SL_EIO;
}

typedef struct {
    sl_pq_writer_t *w;
    FILE *f;
    char path[512];
} pqf_t;

static void open_pq(pqf_t *o, const char *name, const sl_pq_node_t *root, const sl_pq_opts_t *opts)
{
    snprintf(o->path, sizeof o->path, "%s/%s", sl_test_tmpdir(), name);
    o->f = fopen(o->path, "wb");
    CHECK(o->f != NULL);
    sl_err_t err = {0};
    int rc = sl_pq_writer_new(root, opts, to_file, o->f, &o->w, &err);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "writer_new: %s", err.msg);
    }
}

static void add_ok(pqf_t *o, const char *json)
{
    sl_err_t err = {0};
    sl_value_t v = rec(json);
    if (sl_pq_writer_add(o->w, &v, &err)) {
        sl_test_fail(__FILE__, __LINE__, "add %s: %s", json, err.msg);
    }
}

/* Adds a record that must be rejected; returns the message. */
static const char *add_bad(pqf_t *o, const char *json, int code)
{
    static sl_err_t err;
    memset(&err, 0, sizeof err);
    sl_value_t v = rec(json);
    int rc = sl_pq_writer_add(o->w, &v, &err);
    if (rc != code) {
        sl_test_fail(__FILE__, __LINE__, "add %s: got %d (%s), want %d", json, rc, err.msg, code);
    }
    return err.msg;
}

static const char *close_pq(pqf_t *o)
{
    sl_err_t err = {0};
    if (sl_pq_writer_finish(o->w, &err)) {
        sl_test_fail(__FILE__, __LINE__, "finish: %s", err.msg);
    }
    sl_pq_writer_free(o->w);
    CHECK_INT(fclose(o->f), 0);
    return o->path;
}

static const char *write_all(const char *name, const sl_pq_node_t *root, const sl_pq_opts_t *opts,
                             const char *const *recs, size_t n)
{
    static pqf_t o;
    open_pq(&o, name, root, opts);
    for (size_t i = 0; i < n; i++) {
        add_ok(&o, recs[i]);
    }
    return close_pq(&o);
}

/* ---- running the readers ---- */

static void sh_quote(sl_buf_t *b, const char *s)
{
    sl_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') {
            sl_buf_append_c(b, "'\\''");
        } else {
            sl_buf_putc(b, *s);
        }
    }
    sl_buf_putc(b, '\'');
}

/* Runs a harness script with node; returns its stdout (valid until the
 * fourth next call). Fails the test if it exits non-zero. */
static const char *node_run(const char *script, const char *file, const char *const *args)
{
    static sl_buf_t outs[4];
    static int next;
    sl_buf_t *o = &outs[next++ % 4];
    sl_buf_t cmd = SL_BUF_INIT;
    sl_buf_append_c(&cmd, "node ");
    sh_quote(&cmd, script);
    sl_buf_putc(&cmd, ' ');
    sh_quote(&cmd, file);
    for (size_t i = 0; args && args[i]; i++) {
        sl_buf_putc(&cmd, ' ');
        sh_quote(&cmd, args[i]);
    }
    sl_buf_append_c(&cmd, " 2>&1");
    FILE *p = popen(cmd.data, "r");
    if (!p) {
        sl_test_fail(__FILE__, __LINE__, "popen: %s", strerror(errno));
    }
    sl_buf_clear(o);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, p)) > 0) {
        sl_buf_append(o, chunk, k);
    }
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        sl_test_fail(__FILE__, __LINE__, "%s failed (%d): %.2000s", cmd.data, st,
                     o->data ? o->data : "");
    }
    sl_buf_free(&cmd);
    return o->data ? o->data : "";
}

/* DuckDB: one query ($F is the file); NULL sql means SELECT *. */
static const char *duck(const char *file, const char *sql)
{
    const char *args[] = {sql, NULL};
    return node_run("tests/harness/pq_read_duckdb.js", file, sql ? args : NULL);
}

static const char *hyp(const char *file)
{
    return node_run("tests/harness/pq_read_hyparquet.mjs", file, NULL);
}

static const char *hyp_meta(const char *file)
{
    const char *args[] = {file, NULL};
    return node_run("tests/harness/pq_read_hyparquet.mjs", "--meta", args);
}

static void check_text(const char *file, int line, const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == want[i]) {
            i++;
        }
        sl_test_fail(file, line, "output differs at byte %zu:\n--- got:\n%.3000s\n--- want:\n%.3000s",
                     i, got, want);
    }
}
#define CHECK_TEXT(got, want) check_text(__FILE__, __LINE__, (got), (want))

/* ---------------------------------------------------------------- */

static sl_pq_node_t scalar_cols[] = {
    COL("b", SL_PQ_BOOL),     COL("i32", SL_PQ_INT32),  COL("i64", SL_PQ_INT64),
    COL("f", SL_PQ_FLOAT),    COL("d", SL_PQ_DOUBLE),   COL("s", SL_PQ_STRING),
    COL("bin", SL_PQ_BINARY), COL("j", SL_PQ_JSON),     COL("dt", SL_PQ_DATE),
    COL("ts", SL_PQ_TIMESTAMP), DEC("dec", 9, 3),
};

static const char *const scalar_recs[] = {
    "{\"b\":true,\"i32\":-2147483648,\"i64\":9223372036854775807,\"f\":1.5,\"d\":-0.25,"
    "\"s\":\"h\\u00e9llo\",\"bin\":\"\\u0000\\u00ff\",\"j\":{\"k\":[1,\"x\",null]},"
    "\"dt\":\"@d:2024-02-29\",\"ts\":\"@ts:2024-02-29T12:34:56.789012Z\",\"dec\":123456.789}",
    "{\"b\":null,\"i32\":null,\"i64\":null,\"f\":null,\"d\":null,\"s\":null,\"bin\":null,"
    "\"j\":null,\"dt\":null,\"ts\":null,\"dec\":null}",
    "{}",
    "{\"b\":false,\"i32\":2147483647,\"i64\":-9223372036854775808,\"f\":-3,\"d\":42,\"s\":\"\","
    "\"bin\":\"\",\"j\":\"text\",\"dt\":\"@d:1969-12-31\",\"ts\":\"@ts:1969-12-31T23:59:59.999999Z\","
    "\"dec\":\"-0.001\",\"extra\":[1,2]}",
};

SL_TEST(pq_rt_scalars_duckdb)
{
    sl_pq_node_t root = ROOT(scalar_cols);
    const char *f = write_all("scalars.parquet", &root, NULL, scalar_recs, 4);
    CHECK_TEXT(duck(f, NULL),
               "{\"b\":true,\"i32\":-2147483648,\"i64\":\"9223372036854775807\",\"f\":1.5,"
               "\"d\":-0.25,\"s\":\"h\xc3\xa9llo\",\"bin\":\"\\\\x00\\\\xC3\\\\xBF\","
               "\"j\":\"{\\\"k\\\":[1,\\\"x\\\",null]}\",\"dt\":\"2024-02-29\","
               "\"ts\":\"2024-02-29 12:34:56.789012+00\",\"dec\":\"123456.789\"}\n"
               "{\"b\":null,\"i32\":null,\"i64\":null,\"f\":null,\"d\":null,\"s\":null,"
               "\"bin\":null,\"j\":null,\"dt\":null,\"ts\":null,\"dec\":null}\n"
               "{\"b\":null,\"i32\":null,\"i64\":null,\"f\":null,\"d\":null,\"s\":null,"
               "\"bin\":null,\"j\":null,\"dt\":null,\"ts\":null,\"dec\":null}\n"
               "{\"b\":false,\"i32\":2147483647,\"i64\":\"-9223372036854775808\",\"f\":-3,"
               "\"d\":42,\"s\":\"\",\"bin\":\"\",\"j\":\"\\\"text\\\"\",\"dt\":\"1969-12-31\","
               "\"ts\":\"1969-12-31 23:59:59.999999+00\",\"dec\":\"-0.001\"}\n");
    /* the declared types as DuckDB maps them */
    CHECK_TEXT(duck(f, "SELECT string_agg(column_name || ' ' || column_type, ', ') t FROM "
                       "(DESCRIBE SELECT * FROM read_parquet($F))"),
               "{\"t\":\"b BOOLEAN, i32 INTEGER, i64 BIGINT, f FLOAT, d DOUBLE, s VARCHAR, "
               "bin BLOB, j JSON, dt DATE, ts TIMESTAMP WITH TIME ZONE, dec DECIMAL(9,3)\"}\n");
}

/* add_mapped takes the member indexes from the caller: keys in another
 * order, a missing column (-1), an index past the record's end (treated as
 * missing) and an extra key all give what add() gives. */
SL_TEST(pq_add_mapped_matches_add)
{
    static sl_pq_node_t cols[] = {COL("a", SL_PQ_INT64), COL("b", SL_PQ_STRING),
                                  COL("c", SL_PQ_DOUBLE)};
    sl_pq_node_t root = ROOT(cols);
    pqf_t o;
    open_pq(&o, "mapped.parquet", &root, NULL);
    sl_err_t err = {0};
    sl_value_t v = rec("{\"c\":1.5,\"x\":true,\"a\":7,\"b\":\"s\"}");
    const int32_t m1[] = {2, 3, 0};
    CHECK_INT(sl_pq_writer_add_mapped(o.w, &v, m1, &err), 0);
    v = rec("{\"b\":\"t\",\"a\":8}");
    const int32_t m2[] = {1, 0, -1};
    CHECK_INT(sl_pq_writer_add_mapped(o.w, &v, m2, &err), 0);
    const int32_t m3[] = {1, 0, 5};
    CHECK_INT(sl_pq_writer_add_mapped(o.w, &v, m3, &err), 0);
    /* a value of the wrong type is still rejected, naming the column */
    v = rec("{\"a\":\"nine\"}");
    const int32_t m4[] = {0, -1, -1};
    CHECK_INT(sl_pq_writer_add_mapped(o.w, &v, m4, &err), SL_ETYPE);
    CHECK(strstr(err.msg, "field 'a': expected int64") != NULL);
    CHECK_TEXT(duck(close_pq(&o), NULL), "{\"a\":\"7\",\"b\":\"s\",\"c\":1.5}\n"
                                         "{\"a\":\"8\",\"b\":\"t\",\"c\":null}\n"
                                         "{\"a\":\"8\",\"b\":\"t\",\"c\":null}\n");
}

SL_TEST(pq_rt_scalars_hyparquet)
{
    sl_pq_node_t root = ROOT(scalar_cols);
    const char *f = write_all("scalars.parquet", &root, NULL, scalar_recs, 4);
    CHECK_TEXT(hyp(f),
               "{\"b\":true,\"i32\":-2147483648,\"i64\":\"9223372036854775807\",\"f\":1.5,"
               "\"d\":-0.25,\"s\":\"h\xc3\xa9llo\",\"bin\":\"0x00c3bf\",\"j\":{\"k\":[1,\"x\",null]},"
               "\"dt\":19782,\"ts\":\"1709210096789012\",\"dec\":123456.789}\n"
               "{\"b\":null,\"i32\":null,\"i64\":null,\"f\":null,\"d\":null,\"s\":null,"
               "\"bin\":null,\"j\":null,\"dt\":null,\"ts\":null,\"dec\":null}\n"
               "{\"b\":null,\"i32\":null,\"i64\":null,\"f\":null,\"d\":null,\"s\":null,"
               "\"bin\":null,\"j\":null,\"dt\":null,\"ts\":null,\"dec\":null}\n"
               "{\"b\":false,\"i32\":2147483647,\"i64\":\"-9223372036854775808\",\"f\":-3,"
               "\"d\":42,\"s\":\"\",\"bin\":\"0x\",\"j\":\"text\",\"dt\":-1,\"ts\":\"-1\","
               "\"dec\":-0.001}\n");
}

/* struct of list of struct of list, lists of lists, required elements */
static sl_pq_node_t nest_b_el[] = {COL("element", SL_PQ_INT32)};
static sl_pq_node_t nest_item[] = {GROUP("b", SL_PQ_LIST, nest_b_el), COL("c", SL_PQ_STRING)};
static sl_pq_node_t nest_a_el[] = {GROUP("element", SL_PQ_STRUCT, nest_item)};
static sl_pq_node_t nest_s[] = {GROUP("a", SL_PQ_LIST, nest_a_el), COL("z", SL_PQ_BOOL)};
static sl_pq_node_t nest_tag_el[] = {REQ("element", SL_PQ_STRING)};
static sl_pq_node_t nest_row_el[] = {COL("element", SL_PQ_DOUBLE)};
static sl_pq_node_t nest_mx_el[] = {GROUP("element", SL_PQ_LIST, nest_row_el)};
static sl_pq_node_t nest_cols[] = {
    REQ("id", SL_PQ_INT64),
    GROUP("s", SL_PQ_STRUCT, nest_s),
    GROUP("tags", SL_PQ_LIST, nest_tag_el),
    GROUP("matrix", SL_PQ_LIST, nest_mx_el),
};

static const char *const nest_recs[] = {
    "{\"id\":1,\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},{\"b\":null},null],"
    "\"z\":true},\"tags\":[\"p\",\"q\"],\"matrix\":[[1.5],[],null,[2,3]]}",
    "{\"id\":2,\"s\":null,\"tags\":[],\"matrix\":[]}",
    "{\"id\":3,\"s\":{\"a\":[]},\"tags\":null,\"matrix\":null}",
    "{\"id\":4,\"s\":{\"a\":null,\"z\":false}}",
    "{\"id\":5,\"s\":{\"a\":[{\"b\":[null,7]}]},\"matrix\":[[null]]}",
};

SL_TEST(pq_rt_nested)
{
    sl_pq_node_t root = ROOT(nest_cols);
    for (int v2 = 0; v2 < 2; v2++) {
        sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY, .page_v2 = v2, .page_bytes = v2 ? 8 : 0};
        const char *f = write_all("nested.parquet", &root, &o, nest_recs, 5);
        CHECK_TEXT(duck(f, NULL),
                   "{\"id\":\"1\",\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},"
                   "{\"b\":null,\"c\":null},null],\"z\":true},\"tags\":[\"p\",\"q\"],"
                   "\"matrix\":[[1.5],[],null,[2,3]]}\n"
                   "{\"id\":\"2\",\"s\":null,\"tags\":[],\"matrix\":[]}\n"
                   "{\"id\":\"3\",\"s\":{\"a\":[],\"z\":null},\"tags\":null,\"matrix\":null}\n"
                   "{\"id\":\"4\",\"s\":{\"a\":null,\"z\":false},\"tags\":null,\"matrix\":null}\n"
                   "{\"id\":\"5\",\"s\":{\"a\":[{\"b\":[null,7],\"c\":null}],\"z\":null},"
                   "\"tags\":null,\"matrix\":[[null]]}\n");
        CHECK_TEXT(hyp(f),
                   "{\"id\":\"1\",\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},"
                   "{\"c\":null},null],\"z\":true},\"tags\":[\"p\",\"q\"],"
                   "\"matrix\":[[1.5],[],null,[2,3]]}\n"
                   "{\"id\":\"2\",\"tags\":[],\"matrix\":[]}\n"
                   "{\"id\":\"3\",\"s\":{\"a\":[],\"z\":null}}\n"
                   "{\"id\":\"4\",\"s\":{\"z\":false}}\n"
                   "{\"id\":\"5\",\"s\":{\"a\":[{\"b\":[null,7],\"c\":null}],\"z\":null},"
                   "\"matrix\":[[null]]}\n");
    }
    /* the three-level list layout, by path */
    const char *f = write_all("nested.parquet", &root, NULL, nest_recs, 5);
    CHECK_TEXT(duck(f, "SELECT string_agg(path_in_schema, ' | ' ORDER BY column_id) p FROM "
                       "parquet_metadata($F)"),
               "{\"p\":\"id | s, a, list, element, b, list, element | s, a, list, element, c | "
               "s, z | tags, list, element | matrix, list, element, list, element\"}\n");
}

SL_TEST(pq_rt_strings_unicode_long)
{
    sl_pq_node_t cols[] = {REQ("n", SL_PQ_INT32), COL("s", SL_PQ_STRING), COL("bin", SL_PQ_BINARY)};
    sl_pq_node_t root = ROOT(cols);
    pqf_t o;
    open_pq(&o, "strings.parquet", &root, NULL);
    add_ok(&o, "{\"n\":1,\"s\":\"\",\"bin\":\"\"}");
    add_ok(&o, "{\"n\":2,\"s\":\"\\ud83d\\ude00 \\u65e5\\u672c\\u8a9e\",\"bin\":\"a\\u0000b\"}");
    add_ok(&o, "{\"n\":3,\"s\":\"tab\\tquote\\\"nl\\n\",\"bin\":null}");
    /* 100 KB strings, written as values built here */
    size_t big = 100 * 1024;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++) {
        s[i] = (char)('a' + i % 26);
    }
    uint8_t all[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (uint8_t)i;
    }
    sl_member_t m[3] = {{.key = "n", .klen = 1, .val = sl_value_int(4)},
                        {.key = "s", .klen = 1, .val = sl_value_str(s, big)},
                        {.key = "bin", .klen = 3, .val = sl_value_str((char *)all, 256)}};
    sl_value_t r = {.type = SL_T_OBJECT, .len = 3, .u.members = m};
    sl_err_t err;
    CHECK_INT(sl_pq_writer_add(o.w, &r, &err), 0);
    const char *f = close_pq(&o);
    sl_buf_t q = SL_BUF_INIT, want = SL_BUF_INIT;
    sl_buf_append_c(&q, "SELECT n, s, bin FROM read_parquet($F) WHERE n < 4 ORDER BY n");
    CHECK_TEXT(duck(f, q.data),
               "{\"n\":1,\"s\":\"\",\"bin\":\"\"}\n"
               "{\"n\":2,\"s\":\"\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\","
               "\"bin\":\"a\\\\x00b\"}\n"
               "{\"n\":3,\"s\":\"tab\\tquote\\\"nl\\n\",\"bin\":null}\n");
    sl_buf_clear(&q);
    sl_buf_append_c(&q, "SELECT length(s) l, s = left(repeat('abcdefghijklmnopqrstuvwxyz', "
                        "4000), 102400) same, bin = from_hex('");
    for (int i = 0; i < 256; i++) {
        sl_buf_printf(&q, "%02x", i);
    }
    sl_buf_append_c(&q, "') bsame FROM read_parquet($F) WHERE n = 4");
    CHECK_TEXT(duck(f, q.data), "{\"l\":\"102400\",\"same\":true,\"bsame\":true}\n");
    sl_buf_append_c(&want, "{\"n\":1,\"s\":\"\",\"bin\":\"0x\"}\n"
                           "{\"n\":2,\"s\":\"\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\","
                           "\"bin\":\"0x610062\"}\n"
                           "{\"n\":3,\"s\":\"tab\\tquote\\\"nl\\n\",\"bin\":null}\n"
                           "{\"n\":4,\"s\":\"");
    sl_buf_append(&want, s, big);
    sl_buf_append_c(&want, "\",\"bin\":\"0x");
    for (int i = 0; i < 256; i++) {
        sl_buf_printf(&want, "%02x", i);
    }
    sl_buf_append_c(&want, "\"}\n");
    CHECK_TEXT(hyp(f), want.data);
    sl_buf_free(&q);
    sl_buf_free(&want);
    free(s);
}

SL_TEST(pq_rt_empty_and_single_row)
{
    sl_pq_node_t root = ROOT(nest_cols);
    const char *f = write_all("empty.parquet", &root, NULL, NULL, 0);
    CHECK_TEXT(duck(f, "SELECT count(*) n, (SELECT count(*) FROM parquet_metadata($F)) chunks, "
                       "(SELECT num_rows || '/' || num_row_groups FROM parquet_file_metadata($F)) "
                       "m FROM read_parquet($F)"),
               "{\"n\":\"0\",\"chunks\":\"0\",\"m\":\"0/0\"}\n");
    CHECK_TEXT(duck(f, "SELECT string_agg(column_name || ' ' || column_type, ', ') t FROM "
                       "(DESCRIBE SELECT * FROM read_parquet($F))"),
               "{\"t\":\"id BIGINT, s STRUCT(a STRUCT(b INTEGER[], c VARCHAR)[], z BOOLEAN), "
               "tags VARCHAR[], matrix DOUBLE[][]\"}\n");
    CHECK_TEXT(hyp(f), "");

    f = write_all("one.parquet", &root, NULL, nest_recs, 1);
    CHECK_TEXT(duck(f, NULL),
               "{\"id\":\"1\",\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},"
               "{\"b\":null,\"c\":null},null],\"z\":true},\"tags\":[\"p\",\"q\"],"
               "\"matrix\":[[1.5],[],null,[2,3]]}\n");
    CHECK_TEXT(hyp(f), "{\"id\":\"1\",\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},"
                       "{\"c\":null},null],\"z\":true},\"tags\":[\"p\",\"q\"],"
                       "\"matrix\":[[1.5],[],null,[2,3]]}\n");
}

SL_TEST(pq_rt_all_null_columns)
{
    sl_pq_node_t tag_el[] = {COL("element", SL_PQ_STRING)};
    sl_pq_node_t st[] = {COL("x", SL_PQ_INT64)};
    sl_pq_node_t cols[] = {COL("s", SL_PQ_STRING),   COL("i", SL_PQ_INT32),
                           COL("b", SL_PQ_BOOL),     DEC("d", 30, 2),
                           GROUP("l", SL_PQ_LIST, tag_el), GROUP("st", SL_PQ_STRUCT, st)};
    sl_pq_node_t root = ROOT(cols);
    const char *recs[] = {"{}", "{\"s\":null,\"l\":null,\"st\":null}", "{\"st\":{}}"};
    const char *f = write_all("nulls.parquet", &root, NULL, recs, 3);
    CHECK_TEXT(duck(f, NULL),
               "{\"s\":null,\"i\":null,\"b\":null,\"d\":null,\"l\":null,\"st\":null}\n"
               "{\"s\":null,\"i\":null,\"b\":null,\"d\":null,\"l\":null,\"st\":null}\n"
               "{\"s\":null,\"i\":null,\"b\":null,\"d\":null,\"l\":null,\"st\":{\"x\":null}}\n");
    /* statistics: null counts, and no min/max when there is no value */
    CHECK_TEXT(duck(f, "SELECT path_in_schema p, stats_null_count n, stats_min_value mn, "
                       "stats_max_value mx, num_values v FROM parquet_metadata($F) ORDER BY "
                       "column_id"),
               "{\"p\":\"s\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n"
               "{\"p\":\"i\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n"
               "{\"p\":\"b\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n"
               "{\"p\":\"d\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n"
               "{\"p\":\"l, list, element\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n"
               "{\"p\":\"st, x\",\"n\":\"3\",\"mn\":null,\"mx\":null,\"v\":\"3\"}\n");
    CHECK_TEXT(hyp(f), "{\"s\":null,\"i\":null,\"b\":null,\"d\":null}\n"
                       "{\"s\":null,\"i\":null,\"b\":null,\"d\":null}\n"
                       "{\"s\":null,\"i\":null,\"b\":null,\"d\":null,\"st\":{\"x\":null}}\n");
}

/* Rows like {"id":i,"g":"g<i%37>","v":i/2,"t":[...],"n":null every 5th}. */
static void add_rows(pqf_t *o, int from, int to)
{
    char buf[256];
    for (int i = from; i < to; i++) {
        if (i % 5 == 0) {
            snprintf(buf, sizeof buf, "{\"id\":%d,\"g\":\"g%d\",\"v\":%d.5,\"t\":[%d,%d],\"n\":null}",
                     i, i % 37, i / 2, i, -i);
        } else {
            snprintf(buf, sizeof buf,
                     "{\"id\":%d,\"g\":\"g%d\",\"v\":%d.5,\"t\":[],\"n\":\"note %d\"}", i, i % 37,
                     i / 2, i);
        }
        add_ok(o, buf);
    }
}

static sl_pq_node_t rows_t_el[] = {COL("element", SL_PQ_INT64)};
static sl_pq_node_t rows_cols[] = {REQ("id", SL_PQ_INT64), COL("g", SL_PQ_STRING),
                                   COL("v", SL_PQ_DOUBLE), GROUP("t", SL_PQ_LIST, rows_t_el),
                                   COL("n", SL_PQ_STRING)};

/* An order-sensitive digest of rows, by DuckDB: over our file, and over
 * the same rows generated by DuckDB itself (the oracle). */
#define ROWS_DIGEST_OF(from)                                                                       \
    "SELECT count(*) c, sum(id) s, md5(string_agg(id || g || v || t::VARCHAR || "                 \
    "coalesce(n, '~'), ',' ORDER BY id)) h, bool_and(id = rn - 1) ordered FROM (SELECT *, "       \
    "row_number() OVER () rn FROM " from ")"
#define ROWS_DIGEST ROWS_DIGEST_OF("read_parquet($F)")
#define ROWS_GENERATED(n)                                                                          \
    ROWS_DIGEST_OF("(SELECT i::BIGINT id, 'g' || (i % 37) g, (i // 2 + 0.5)::DOUBLE v, CASE "     \
                   "WHEN i % 5 = 0 THEN [i, -i]::BIGINT[] ELSE []::BIGINT[] END t, CASE WHEN "    \
                   "i % 5 = 0 THEN NULL ELSE 'note ' || i END n FROM range(" #n ") r(i))")

SL_TEST(pq_rt_row_groups)
{
    sl_pq_node_t root = ROOT(rows_cols);
    sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY, .row_group_rows = 7};
    pqf_t p;
    open_pq(&p, "rg.parquet", &root, &o);
    add_rows(&p, 0, 50);
    CHECK_INT(sl_pq_writer_rows(p.w), 50);
    CHECK_INT(sl_pq_writer_buffered(p.w) > 0, 1); /* 50 = 7 * 7 + 1 */
    uint64_t written = sl_pq_writer_written(p.w);
    CHECK(written > 4);
    sl_err_t err;
    CHECK_INT(sl_pq_writer_flush(p.w, &err), 0); /* an explicit flush: a row group of 1 */
    CHECK_INT(sl_pq_writer_buffered(p.w), 0);
    CHECK(sl_pq_writer_written(p.w) > written);
    CHECK_INT(sl_pq_writer_flush(p.w, &err), 0); /* nothing buffered: no empty row group */
    add_rows(&p, 50, 100);
    const char *f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT count(*) rgs, sum(row_group_num_rows) n, min(row_group_num_rows) "
                       "mn, max(row_group_num_rows) mx FROM parquet_metadata($F) WHERE "
                       "column_id = 0"),
               "{\"rgs\":\"16\",\"n\":\"100\",\"mn\":\"1\",\"mx\":\"7\"}\n");
    /* chunk offsets are increasing, contiguous and match the sizes */
    CHECK_TEXT(duck(f, "SELECT bool_and(coalesce(dictionary_page_offset, data_page_offset) = "
                       "expected) ok, count(*) n FROM (SELECT *, 4 + coalesce(sum("
                       "total_compressed_size) OVER (ORDER BY row_group_id, column_id ROWS "
                       "BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) expected FROM "
                       "parquet_metadata($F))"),
               "{\"ok\":true,\"n\":\"80\"}\n");
    CHECK_TEXT(duck(f, "SELECT count(*) c, sum(id) s, count(n) nn, sum(len(t)) tl, "
                       "string_agg(DISTINCT g, ',' ORDER BY g) FILTER (WHERE id < 3) g3 FROM "
                       "read_parquet($F)"),
               "{\"c\":\"100\",\"s\":\"4950\",\"nn\":\"80\",\"tl\":\"40\",\"g3\":\"g0,g1,g2\"}\n");
    /* rows come back in order with their values */
    CHECK_TEXT(duck(f, "SELECT * FROM read_parquet($F) WHERE id IN (0, 6, 7, 49, 50, 99)"),
               "{\"id\":\"0\",\"g\":\"g0\",\"v\":0.5,\"t\":[\"0\",\"0\"],\"n\":null}\n"
               "{\"id\":\"6\",\"g\":\"g6\",\"v\":3.5,\"t\":[],\"n\":\"note 6\"}\n"
               "{\"id\":\"7\",\"g\":\"g7\",\"v\":3.5,\"t\":[],\"n\":\"note 7\"}\n"
               "{\"id\":\"49\",\"g\":\"g12\",\"v\":24.5,\"t\":[],\"n\":\"note 49\"}\n"
               "{\"id\":\"50\",\"g\":\"g13\",\"v\":25.5,\"t\":[\"50\",\"-50\"],\"n\":null}\n"
               "{\"id\":\"99\",\"g\":\"g25\",\"v\":49.5,\"t\":[],\"n\":\"note 99\"}\n");
    /* hyparquet reads every row group */
    const char *h = hyp(f);
    CHECK_CONTAINS(h, "{\"id\":\"0\",\"g\":\"g0\",\"v\":0.5,\"t\":[\"0\",\"0\"],\"n\":null}\n"
                      "{\"id\":\"1\",\"g\":\"g1\",\"v\":0.5,\"t\":[],\"n\":\"note 1\"}\n");
    CHECK_CONTAINS(h, "{\"id\":\"98\",\"g\":\"g24\",\"v\":49.5,\"t\":[],\"n\":\"note 98\"}\n"
                      "{\"id\":\"99\",\"g\":\"g25\",\"v\":49.5,\"t\":[],\"n\":\"note 99\"}\n");
    size_t lines = 0;
    for (const char *c = h; *c; c++) {
        lines += *c == '\n';
    }
    CHECK_INT(lines, 100);

    /* row_group_bytes: a row group as soon as ~1 KB is buffered */
    sl_pq_opts_t ob = {.codec = SL_PQ_SNAPPY, .row_group_bytes = 1000};
    open_pq(&p, "rgb.parquet", &root, &ob);
    add_rows(&p, 0, 100);
    f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT count(*) > 3 many, sum(row_group_num_rows) n FROM "
                       "parquet_metadata($F) WHERE column_id = 0"),
               "{\"many\":true,\"n\":\"100\"}\n");
}

SL_TEST(pq_rt_codecs_pages_v1_v2)
{
    sl_pq_node_t root = ROOT(rows_cols);
    static const char *codec_names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD"};
    char want[512] = "", hwant_head[256];
    const char *hyp_first = NULL;
    (void)hyp_first;
    snprintf(hwant_head, sizeof hwant_head, "%s",
             "{\"id\":\"0\",\"g\":\"g0\",\"v\":0.5,\"t\":[\"0\",\"0\"],\"n\":null}\n"
             "{\"id\":\"1\",\"g\":\"g1\",\"v\":0.5,\"t\":[],\"n\":\"note 1\"}\n");
    static char first_h[1 << 20];
    for (int codec = 0; codec < 4; codec++) {
        for (int v2 = 0; v2 < 2; v2++) {
            for (int small = 0; small < 2; small++) {
                sl_pq_opts_t o = {.codec = (sl_pq_codec_t)codec,
                                  .page_v2 = v2,
                                  .page_bytes = small ? 100 : 0,
                                  .level = codec == SL_PQ_ZSTD ? 9 : 0};
                pqf_t p;
                open_pq(&p, "codec.parquet", &root, &o);
                add_rows(&p, 0, 3000);
                const char *f = close_pq(&p);
                /* the rows, and the codec recorded in every column chunk */
                char q[1024];
                snprintf(q, sizeof q,
                         "SELECT * FROM (%s), (SELECT bool_and(compression = '%s') codec_ok "
                         "FROM parquet_metadata($F))",
                         ROWS_DIGEST, codec_names[codec]);
                if (!want[0]) {
                    snprintf(want, sizeof want, "%s", duck(f, ROWS_GENERATED(3000)));
                    CHECK_CONTAINS(want, "{\"c\":\"3000\",\"s\":\"4498500\",");
                    CHECK_CONTAINS(want, "\"ordered\":true}");
                    want[strlen(want) - 2] = '\0'; /* drop "}\n" */
                    strcat(want, ",\"codec_ok\":true}\n");
                }
                CHECK_TEXT(duck(f, q), want);
                if (codec == SL_PQ_ZSTD) {
                    continue; /* hyparquet has no zstd */
                }
                const char *h = hyp(f);
                CHECK(strncmp(h, hwant_head, strlen(hwant_head)) == 0);
                if (!first_h[0]) {
                    snprintf(first_h, sizeof first_h, "%s", h);
                }
                CHECK_TEXT(h, first_h);
                const char *m = hyp_meta(f);
                CHECK_CONTAINS(m, v2 ? "\"page_type\":\"DATA_PAGE_V2\""
                                     : "\"page_type\":\"DATA_PAGE\"");
                /* "id" (3000 INT64 values, 24000 bytes) in pages of about
                 * 100 bytes or in one page */
                const char *idm = strstr(m, "\"path_in_schema\":[\"id\"]");
                CHECK(idm != NULL);
                const char *cnt = strstr(idm, "\"encoding\":\"PLAIN\",\"count\":");
                CHECK(cnt != NULL);
                long pages = strtol(cnt + strlen("\"encoding\":\"PLAIN\",\"count\":"), NULL, 10);
                if (small) {
                    CHECK(pages >= 200 && pages <= 240);
                } else {
                    CHECK_INT(pages, 1);
                }
            }
        }
    }
}

SL_TEST(pq_rt_dictionary_fallback)
{
    sl_pq_node_t cols[] = {REQ("id", SL_PQ_INT32), COL("long", SL_PQ_STRING),
                           COL("low", SL_PQ_STRING), COL("num", SL_PQ_INT64),
                           COL("uniq", SL_PQ_STRING)};
    sl_pq_node_t root = ROOT(cols);
#define DICT_DIGEST(from)                                                                          \
    "SELECT count(*) c, count(DISTINCT long) d, min(long) mn, max(long) mx, "                     \
    "md5(string_agg(long || low || num || uniq, ',' ORDER BY id)) h FROM " from
    static char want[512];
    for (int mode = 0; mode < 3; mode++) {
        /* 0: dictionary cap 4 KB (falls back), 1: default cap, 2: no dictionary */
        sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY,
                          .dictionary_max_bytes = mode == 0 ? 4096 : 0,
                          .no_dictionary = mode == 2,
                          .page_bytes = 2048};
        pqf_t p;
        open_pq(&p, "dict.parquet", &root, &o);
        char buf[256];
        for (int i = 0; i < 2000; i++) {
            /* "long": 500 distinct values of 40 bytes, each 4 times in a row */
            snprintf(buf, sizeof buf,
                     "{\"id\":%d,\"long\":\"distinct value number %06d with padding\","
                     "\"low\":\"v%d\",\"num\":%d,\"uniq\":\"u%d\"}",
                     i, i / 4, i % 3, i % 10, i * 7 % 2000);
            add_ok(&p, buf);
        }
        const char *f = close_pq(&p);
        if (!want[0]) {
            snprintf(want, sizeof want, "%s",
                     duck(f, DICT_DIGEST("(SELECT i id, 'distinct value number ' || "
                                         "lpad((i // 4)::VARCHAR, 6, '0') || ' with padding' "
                                         "long, 'v' || (i % 3) low, i % 10 num, 'u' || "
                                         "(i * 7 % 2000) uniq FROM range(2000) r(i))")));
            CHECK_CONTAINS(want, "{\"c\":\"2000\",\"d\":\"500\",\"mn\":\"distinct value "
                                 "number 000000 with padding\",\"mx\":\"distinct value number "
                                 "000499 with padding\",\"h\":\"");
        }
        CHECK_TEXT(duck(f, DICT_DIGEST("read_parquet($F)")), want);
        const char *meta = duck(f, "SELECT path_in_schema p, encodings e, dictionary_page_offset "
                                   "IS NOT NULL AND dictionary_page_offset < data_page_offset "
                                   "dict_first FROM parquet_metadata($F) ORDER BY column_id");
        const char *dict_cols = "{\"p\":\"id\",\"e\":\"PLAIN\",\"dict_first\":false}\n"
                                "{\"p\":\"long\",\"e\":\"PLAIN, RLE, RLE_DICTIONARY\","
                                "\"dict_first\":true}\n"
                                "{\"p\":\"low\",\"e\":\"PLAIN, RLE, RLE_DICTIONARY\","
                                "\"dict_first\":true}\n"
                                "{\"p\":\"num\",\"e\":\"PLAIN, RLE, RLE_DICTIONARY\","
                                "\"dict_first\":true}\n"
                                /* unique values gain nothing from a dictionary */
                                "{\"p\":\"uniq\",\"e\":\"PLAIN, RLE\",\"dict_first\":false}\n";
        const char *m = hyp_meta(f);
        /* "long": dictionary page, then dictionary-encoded pages, then (on
         * fallback) PLAIN pages */
        const char *stats = "\"path_in_schema\":[\"long\"],\"codec\":\"SNAPPY\"";
        CHECK_CONTAINS(m, stats);
        const char *lm = strstr(m, stats);
        if (mode == 0) {
            CHECK_TEXT(meta, dict_cols);
            CHECK_CONTAINS(lm, "\"encoding_stats\":[{\"page_type\":\"DICTIONARY_PAGE\","
                               "\"encoding\":\"PLAIN\",\"count\":1},{\"page_type\":"
                               "\"DATA_PAGE\",\"encoding\":\"RLE_DICTIONARY\",\"count\":1},"
                               "{\"page_type\":\"DATA_PAGE\",\"encoding\":\"PLAIN\",\"count\":");
        } else if (mode == 1) {
            CHECK_TEXT(meta, dict_cols);
            CHECK_CONTAINS(lm, "\"encoding_stats\":[{\"page_type\":\"DICTIONARY_PAGE\","
                               "\"encoding\":\"PLAIN\",\"count\":1},{\"page_type\":"
                               "\"DATA_PAGE\",\"encoding\":\"RLE_DICTIONARY\",\"count\":1}]");
        } else {
            CHECK_TEXT(meta, "{\"p\":\"id\",\"e\":\"PLAIN\",\"dict_first\":false}\n"
                             "{\"p\":\"long\",\"e\":\"PLAIN, RLE\",\"dict_first\":false}\n"
                             "{\"p\":\"low\",\"e\":\"PLAIN, RLE\",\"dict_first\":false}\n"
                             "{\"p\":\"num\",\"e\":\"PLAIN, RLE\",\"dict_first\":false}\n"
                             "{\"p\":\"uniq\",\"e\":\"PLAIN, RLE\",\"dict_first\":false}\n");
        }
        const char *h = hyp(f);
        CHECK_CONTAINS(h, "{\"id\":0,\"long\":\"distinct value number 000000 with padding\","
                          "\"low\":\"v0\",\"num\":\"0\",\"uniq\":\"u0\"}\n{\"id\":1,"
                          "\"long\":\"distinct value number 000000 with padding\",\"low\":\"v1\","
                          "\"num\":\"1\",\"uniq\":\"u7\"}\n");
        CHECK_CONTAINS(h, "{\"id\":1999,\"long\":\"distinct value number 000499 with padding\","
                          "\"low\":\"v1\",\"num\":\"9\",\"uniq\":\"u1993\"}\n");
    }
}

SL_TEST(pq_rt_decimals)
{
    sl_pq_node_t cols[] = {REQ("n", SL_PQ_INT32), DEC("d5", 5, 2), DEC("d15", 15, 4),
                           DEC("d30", 30, 10), DEC("d38", 38, 0)};
    sl_pq_node_t root = ROOT(cols);
    const char *recs[] = {
        /* ints, raw doubles, strings and bignums, all exact */
        "{\"n\":1,\"d5\":123,\"d15\":-12345678901.2345,\"d30\":\"12345678901234567890.0123456789\","
        "\"d38\":99999999999999999999999999999999999999}",
        "{\"n\":2,\"d5\":-999.99,\"d15\":\"0.0001\",\"d30\":-12345678901234567890,"
        "\"d38\":-99999999999999999999999999999999999999}",
        "{\"n\":3,\"d5\":\"0.5\",\"d15\":0,\"d30\":1e-10,\"d38\":0}",
        "{\"n\":4,\"d5\":null,\"d15\":-1,\"d30\":-0.0000000001,\"d38\":-1}",
    };
    const char *f = write_all("dec.parquet", &root, NULL, recs, 4);
    CHECK_TEXT(duck(f, "SELECT n, d5::VARCHAR d5, d15::VARCHAR d15, d30::VARCHAR d30, "
                       "d38::VARCHAR d38 FROM read_parquet($F)"),
               "{\"n\":1,\"d5\":\"123.00\",\"d15\":\"-12345678901.2345\","
               "\"d30\":\"12345678901234567890.0123456789\","
               "\"d38\":\"99999999999999999999999999999999999999\"}\n"
               "{\"n\":2,\"d5\":\"-999.99\",\"d15\":\"0.0001\","
               "\"d30\":\"-12345678901234567890.0000000000\","
               "\"d38\":\"-99999999999999999999999999999999999999\"}\n"
               "{\"n\":3,\"d5\":\"0.50\",\"d15\":\"0.0000\",\"d30\":\"0.0000000001\","
               "\"d38\":\"0\"}\n"
               "{\"n\":4,\"d5\":null,\"d15\":\"-1.0000\",\"d30\":\"-0.0000000001\","
               "\"d38\":\"-1\"}\n");
    CHECK_TEXT(duck(f, "SELECT name, type, type_length, converted_type, scale, precision, "
                       "logical_type FROM parquet_schema($F) WHERE name LIKE 'd%'"),
               "{\"name\":\"d5\",\"type\":\"INT32\",\"type_length\":null,\"converted_type\":"
               "\"DECIMAL\",\"scale\":\"2\",\"precision\":\"5\",\"logical_type\":"
               "\"DecimalType(scale=2, precision=5)\"}\n"
               "{\"name\":\"d15\",\"type\":\"INT64\",\"type_length\":null,\"converted_type\":"
               "\"DECIMAL\",\"scale\":\"4\",\"precision\":\"15\",\"logical_type\":"
               "\"DecimalType(scale=4, precision=15)\"}\n"
               "{\"name\":\"d30\",\"type\":\"FIXED_LEN_BYTE_ARRAY\",\"type_length\":\"13\","
               "\"converted_type\":\"DECIMAL\",\"scale\":\"10\",\"precision\":\"30\","
               "\"logical_type\":\"DecimalType(scale=10, precision=30)\"}\n"
               "{\"name\":\"d38\",\"type\":\"FIXED_LEN_BYTE_ARRAY\",\"type_length\":\"16\","
               "\"converted_type\":\"DECIMAL\",\"scale\":\"0\",\"precision\":\"38\","
               "\"logical_type\":\"DecimalType(scale=0, precision=38)\"}\n");
    /* statistics in signed decimal order */
    CHECK_TEXT(duck(f, "SELECT path_in_schema p, stats_min_value mn, stats_max_value mx FROM "
                       "parquet_metadata($F) WHERE path_in_schema <> 'n'"),
               "{\"p\":\"d5\",\"mn\":\"-999.99\",\"mx\":\"123.00\"}\n"
               "{\"p\":\"d15\",\"mn\":\"-12345678901.2345\",\"mx\":\"0.0001\"}\n"
               "{\"p\":\"d30\",\"mn\":\"-12345678901234567890.0000000000\","
               "\"mx\":\"12345678901234567890.0123456789\"}\n"
               "{\"p\":\"d38\",\"mn\":\"-99999999999999999999999999999999999999\","
               "\"mx\":\"99999999999999999999999999999999999999\"}\n");
    /* hyparquet turns decimals into JS numbers, unscaled * 10 ** -scale */
    CHECK_TEXT(hyp(f), "{\"n\":1,\"d5\":123,\"d15\":-12345678901.234499,"
                       "\"d30\":12345678901234570000,\"d38\":1e+38}\n"
                       "{\"n\":2,\"d5\":-999.99,\"d15\":0.00009999999999999999,"
                       "\"d30\":-12345678901234570000,\"d38\":-1e+38}\n"
                       "{\"n\":3,\"d5\":0.5,\"d15\":0,\"d30\":1e-10,\"d38\":0}\n"
                       "{\"n\":4,\"d5\":null,\"d15\":-0.9999999999999999,\"d30\":-1e-10,"
                       "\"d38\":-1}\n");
}

SL_TEST(pq_rt_timestamps_and_dates)
{
    sl_pq_node_t cols[] = {COL("ts", SL_PQ_TIMESTAMP), COL("d", SL_PQ_DATE)};
    sl_pq_node_t root = ROOT(cols);
    const char *recs[] = {
        "{\"ts\":\"@ts:1900-01-01T00:00:00Z\",\"d\":\"@d:1900-01-01\"}",
        "{\"ts\":\"@ts:0001-01-01T00:00:00Z\",\"d\":\"@d:0001-01-01\"}",
        "{\"ts\":\"@ts:9999-12-31T23:59:59.999999Z\",\"d\":\"@d:9999-12-31\"}",
        "{\"ts\":\"@ts:1970-01-01T00:00:00Z\",\"d\":\"@d:1970-01-01\"}",
        "{\"ts\":\"@d:2024-03-01\",\"d\":null}", /* a date widens to midnight */
        "{\"ts\":\"@ts:1969-07-20T20:17:40.5Z\"}",
    };
    const char *f = write_all("ts.parquet", &root, NULL, recs, 6);
    CHECK_TEXT(duck(f, "SELECT epoch_us(ts) us, ts::VARCHAR t, d::VARCHAR d FROM "
                       "read_parquet($F)"),
               "{\"us\":\"-2208988800000000\",\"t\":\"1900-01-01 00:00:00+00\",\"d\":\"1900-01-01\"}\n"
               "{\"us\":\"-62135596800000000\",\"t\":\"0001-01-01 00:00:00+00\","
               "\"d\":\"0001-01-01\"}\n"
               "{\"us\":\"253402300799999999\",\"t\":\"9999-12-31 23:59:59.999999+00\","
               "\"d\":\"9999-12-31\"}\n"
               "{\"us\":\"0\",\"t\":\"1970-01-01 00:00:00+00\",\"d\":\"1970-01-01\"}\n"
               "{\"us\":\"1709251200000000\",\"t\":\"2024-03-01 00:00:00+00\",\"d\":null}\n"
               "{\"us\":\"-14182939500000\",\"t\":\"1969-07-20 20:17:40.5+00\",\"d\":null}\n");
    CHECK_TEXT(duck(f, "SELECT path_in_schema p, stats_min_value mn, stats_max_value mx, "
                       "stats_null_count n FROM parquet_metadata($F)"),
               "{\"p\":\"ts\",\"mn\":\"0001-01-01 00:00:00+00\",\"mx\":\"9999-12-31 "
               "23:59:59.999999+00\",\"n\":\"0\"}\n"
               "{\"p\":\"d\",\"mn\":\"0001-01-01\",\"mx\":\"9999-12-31\",\"n\":\"2\"}\n");
    CHECK_TEXT(hyp(f), "{\"ts\":\"-2208988800000000\",\"d\":-25567}\n"
                       "{\"ts\":\"-62135596800000000\",\"d\":-719162}\n"
                       "{\"ts\":\"253402300799999999\",\"d\":2932896}\n"
                       "{\"ts\":\"0\",\"d\":0}\n"
                       "{\"ts\":\"1709251200000000\",\"d\":null}\n"
                       "{\"ts\":\"-14182939500000\",\"d\":null}\n");
}

SL_TEST(pq_rt_million_rows)
{
    sl_pq_node_t cols[] = {REQ("id", SL_PQ_INT64), COL("grp", SL_PQ_STRING),
                           COL("val", SL_PQ_DOUBLE), COL("flag", SL_PQ_BOOL),
                           COL("ts", SL_PQ_TIMESTAMP)};
    sl_pq_node_t root = ROOT(cols);
    pqf_t p;
    open_pq(&p, "million.parquet", &root, NULL);
    char g[8];
    sl_member_t m[5] = {{.key = "id", .klen = 2},
                        {.key = "grp", .klen = 3},
                        {.key = "val", .klen = 3},
                        {.key = "flag", .klen = 4},
                        {.key = "ts", .klen = 2}};
    sl_value_t r = {.type = SL_T_OBJECT, .len = 5, .u.members = m};
    sl_err_t err;
    for (int64_t i = 0; i < 1000000; i++) {
        snprintf(g, sizeof g, "g%03d", (int)(i % 1000));
        m[0].val = sl_value_int(i);
        m[1].val = sl_value_str(g, 4);
        m[2].val = i % 7 == 0 ? sl_value_null() : sl_value_double((double)i * 0.5);
        m[3].val = sl_value_bool(i % 3 == 0);
        m[4].val = sl_value_timestamp(1700000000000000LL + i * 1000);
        if (sl_pq_writer_add(p.w, &r, &err)) {
            sl_test_fail(__FILE__, __LINE__, "add %lld: %s", (long long)i, err.msg);
        }
    }
    const char *f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT count(*) c, sum(id) s, min(id) mn, max(id) mx, count(DISTINCT "
                       "grp) dg, min(grp) ming, max(grp) maxg, sum(val) sv, count(val) cv, "
                       "sum(flag::INT) sf, min(ts)::VARCHAR t0, max(ts)::VARCHAR t1, "
                       "bool_and(grp = 'g' || lpad((id % 1000)::VARCHAR, 3, '0')) gok, "
                       "bool_and(epoch_us(ts) = 1700000000000000 + id * 1000) tok FROM "
                       "read_parquet($F)"),
               "{\"c\":\"1000000\",\"s\":\"499999500000\",\"mn\":\"0\",\"mx\":\"999999\","
               "\"dg\":\"1000\",\"ming\":\"g000\",\"maxg\":\"g999\",\"sv\":214285285714.5,"
               "\"cv\":\"857142\",\"sf\":\"333334\",\"t0\":\"2023-11-14 22:13:20+00\","
               "\"t1\":\"2023-11-14 22:29:59.999+00\",\"gok\":true,\"tok\":true}\n");
}

/* A record from parallel arrays of keys and values. */
static sl_value_t obj(sl_member_t *m, const char *const *keys, const sl_value_t *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m[i].key = keys[i];
        m[i].klen = (uint32_t)strlen(keys[i]);
        m[i].val = vals[i];
    }
    sl_value_t v = {.type = SL_T_OBJECT, .len = (uint32_t)n, .u.members = m};
    return v;
}

SL_TEST(pq_meta_statistics)
{
    sl_pq_node_t cols[] = {COL("i", SL_PQ_INT32),  COL("s", SL_PQ_STRING), COL("d", SL_PQ_DOUBLE),
                           COL("f", SL_PQ_FLOAT),  COL("b", SL_PQ_BOOL),   COL("long", SL_PQ_STRING),
                           COL("bin", SL_PQ_BINARY), COL("u", SL_PQ_STRING)};
    sl_pq_node_t root = ROOT(cols);
    static const char *keys[] = {"i", "s", "d", "f", "b", "long", "bin", "u"};
    char longa[100], longb[100], ff[70], uni[80];
    memset(longa, 'a', sizeof longa);
    memset(longb, 'b', sizeof longb);
    memset(ff, 0xFF, sizeof ff);
    /* 62 ASCII bytes then a 3-byte character across the 64-byte cut */
    memset(uni, 'x', 62);
    memcpy(uni + 62, "\xe2\x82\xac", 3);
    memset(uni + 65, 'y', 15);
    sl_value_t rows[4][8] = {
        {sl_value_int(-5), sl_value_str("b", 1), sl_value_double(NAN), sl_value_double(NAN),
         sl_value_bool(true), sl_value_str(longa, 100), sl_value_str(ff, 70),
         sl_value_str(uni, 80)},
        {sl_value_int(3), sl_value_str("a", 1), sl_value_double(-0.0), sl_value_null(),
         sl_value_bool(true), sl_value_str(longb, 100), sl_value_str("\x01", 1),
         sl_value_str("x", 1)},
        {sl_value_null(), sl_value_str("\xc3\xbc", 2), sl_value_double(2.5), sl_value_double(NAN),
         sl_value_null(), sl_value_str("ab", 2), sl_value_null(), sl_value_null()},
        {sl_value_int(10), sl_value_null(), sl_value_double(-7.25), sl_value_null(),
         sl_value_null(), sl_value_null(), sl_value_null(), sl_value_null()},
    };
    pqf_t p;
    open_pq(&p, "stats.parquet", &root, NULL);
    sl_member_t m[8];
    sl_err_t err;
    for (int r = 0; r < 4; r++) {
        sl_value_t v = obj(m, keys, rows[r], 8);
        CHECK_INT(sl_pq_writer_add(p.w, &v, &err), 0);
    }
    const char *f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT path_in_schema p, stats_null_count n, stats_min_value mn, "
                       "stats_max_value mx, stats_min mn_old, stats_max mx_old, min_is_exact me, "
                       "max_is_exact xe FROM parquet_metadata($F) WHERE path_in_schema <> 'long' "
                       "AND path_in_schema <> 'u'"),
               /* NaN is no min or max; only NaNs: no min/max at all */
               "{\"p\":\"i\",\"n\":\"1\",\"mn\":\"-5\",\"mx\":\"10\",\"mn_old\":\"-5\","
               "\"mx_old\":\"10\",\"me\":true,\"xe\":true}\n"
               "{\"p\":\"s\",\"n\":\"1\",\"mn\":\"a\",\"mx\":\"\xc3\xbc\",\"mn_old\":null,"
               "\"mx_old\":null,\"me\":true,\"xe\":true}\n"
               "{\"p\":\"d\",\"n\":\"0\",\"mn\":\"-7.25\",\"mx\":\"2.5\",\"mn_old\":\"-7.25\","
               "\"mx_old\":\"2.5\",\"me\":true,\"xe\":true}\n"
               "{\"p\":\"f\",\"n\":\"2\",\"mn\":null,\"mx\":null,\"mn_old\":null,"
               "\"mx_old\":null,\"me\":null,\"xe\":null}\n"
               "{\"p\":\"b\",\"n\":\"2\",\"mn\":\"true\",\"mx\":\"true\",\"mn_old\":\"true\","
               "\"mx_old\":\"true\",\"me\":true,\"xe\":true}\n"
               /* a max of 0xFF bytes cannot be rounded up: no min/max */
               "{\"p\":\"bin\",\"n\":\"2\",\"mn\":null,\"mx\":null,\"mn_old\":null,"
               "\"mx_old\":null,\"me\":null,\"xe\":null}\n");
    /* long strings: 64-byte bounds, flagged inexact; the max rounded up
     * at a character boundary */
    const char *meta = hyp_meta(f);
    CHECK_CONTAINS(meta, "\"path_in_schema\":[\"d\"]");
    CHECK_CONTAINS(strstr(meta, "\"path_in_schema\":[\"d\"]"),
                   "\"statistics\":{\"max\":2.5,\"min\":-7.25,\"null_count\":\"0\","
                   "\"max_value\":2.5,\"min_value\":-7.25,\"is_max_value_exact\":true,"
                   "\"is_min_value_exact\":true}");
    CHECK_CONTAINS(strstr(meta, "\"path_in_schema\":[\"f\"]"),
                   "\"statistics\":{\"null_count\":\"2\"}");
    /* nan_count (field 9, which neither reader shows), in the raw footer:
     * f is {3: null_count 2, 9: nan_count 2}, d ends with 7: true, 8: true,
     * 9: nan_count 1 */
    FILE *fp = fopen(f, "rb");
    static char raw[8192];
    size_t rn = fread(raw, 1, sizeof raw, fp);
    fclose(fp);
    CHECK(memmem(raw, rn, "\x36\x04\x66\x04\x00", 5) != NULL);
    CHECK(memmem(raw, rn, "\x11\x11\x16\x02\x00", 5) != NULL);
    CHECK_CONTAINS(meta, "\"statistics\":{\"null_count\":\"1\",\"max_value\":\"bbbbbbbbbbbbbbbb"
                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbc\",\"min_value\":"
                      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                      "\"is_max_value_exact\":false,\"is_min_value_exact\":false}");
    CHECK_CONTAINS(meta, "\"statistics\":{\"null_count\":\"2\",\"max_value\":\"xxxxxxxxxxxxxx"
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy\",\"min_value\":\"x\","
                      "\"is_max_value_exact\":false,\"is_min_value_exact\":true}");
    /* every leaf has a type-defined column order */
    CHECK_CONTAINS(duck(f, "SELECT len(column_orders) n, created_by FROM "
                           "parquet_file_metadata($F)"),
                   "{\"n\":\"8\",\"created_by\":\"sluice version 0.1.0\"}\n");
}

SL_TEST(pq_meta_schema_annotations)
{
    sl_pq_node_t root = ROOT(scalar_cols);
    const char *kv[] = {"origin", "unit test", "empty", "", NULL};
    sl_pq_opts_t o = {.codec = SL_PQ_GZIP, .kv = kv};
    const char *f = write_all("schema.parquet", &root, &o, scalar_recs, 4);
    CHECK_TEXT(duck(f, "SELECT name, type, repetition_type r, converted_type c, logical_type l "
                       "FROM parquet_schema($F)"),
               "{\"name\":\"schema\",\"type\":null,\"r\":null,\"c\":null,\"l\":null}\n"
               "{\"name\":\"b\",\"type\":\"BOOLEAN\",\"r\":\"OPTIONAL\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"i32\",\"type\":\"INT32\",\"r\":\"OPTIONAL\",\"c\":\"INT_32\","
               "\"l\":\"IntType(bitWidth= , isSigned=1)\"}\n"
               "{\"name\":\"i64\",\"type\":\"INT64\",\"r\":\"OPTIONAL\",\"c\":\"INT_64\","
               "\"l\":\"IntType(bitWidth=@, isSigned=1)\"}\n"
               "{\"name\":\"f\",\"type\":\"FLOAT\",\"r\":\"OPTIONAL\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"d\",\"type\":\"DOUBLE\",\"r\":\"OPTIONAL\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"s\",\"type\":\"BYTE_ARRAY\",\"r\":\"OPTIONAL\",\"c\":\"UTF8\","
               "\"l\":\"StringType()\"}\n"
               "{\"name\":\"bin\",\"type\":\"BYTE_ARRAY\",\"r\":\"OPTIONAL\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"j\",\"type\":\"BYTE_ARRAY\",\"r\":\"OPTIONAL\",\"c\":\"JSON\","
               "\"l\":\"JsonType()\"}\n"
               "{\"name\":\"dt\",\"type\":\"INT32\",\"r\":\"OPTIONAL\",\"c\":\"DATE\","
               "\"l\":\"DateType()\"}\n"
               "{\"name\":\"ts\",\"type\":\"INT64\",\"r\":\"OPTIONAL\",\"c\":\"TIMESTAMP_MICROS\","
               "\"l\":\"TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, "
               "MICROS=MicroSeconds(), NANOS=<null>))\"}\n"
               "{\"name\":\"dec\",\"type\":\"INT32\",\"r\":\"OPTIONAL\",\"c\":\"DECIMAL\","
               "\"l\":\"DecimalType(scale=3, precision=9)\"}\n");
    /* the same through hyparquet's footer decoder */
    const char *m = hyp_meta(f);
    CHECK_CONTAINS(m, "{\"type\":\"INT64\",\"repetition_type\":\"OPTIONAL\",\"name\":\"ts\","
                      "\"converted_type\":\"TIMESTAMP_MICROS\",\"logical_type\":{\"type\":"
                      "\"TIMESTAMP\",\"isAdjustedToUTC\":true,\"unit\":\"MICROS\"}}");
    CHECK_CONTAINS(m, "\"key_value_metadata\":[{\"key\":\"origin\",\"value\":\"unit test\"},"
                      "{\"key\":\"empty\",\"value\":\"\"},{\"key\":\"writer.sluice.version\","
                      "\"value\":\"0.1.0\"}],\"created_by\":\"sluice version 0.1.0\"");
    CHECK_TEXT(duck(f, "SELECT decode(key) k, decode(value) v FROM parquet_kv_metadata($F)"),
               "{\"k\":\"origin\",\"v\":\"unit test\"}\n{\"k\":\"empty\",\"v\":\"\"}\n"
               "{\"k\":\"writer.sluice.version\",\"v\":\"0.1.0\"}\n");
    /* lists and structs */
    sl_pq_node_t nroot = ROOT(nest_cols);
    f = write_all("nschema.parquet", &nroot, NULL, nest_recs, 5);
    CHECK_TEXT(duck(f, "SELECT name, repetition_type r, num_children n, converted_type c, "
                       "logical_type l FROM parquet_schema($F)"),
               "{\"name\":\"schema\",\"r\":null,\"n\":\"4\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"id\",\"r\":\"REQUIRED\",\"n\":null,\"c\":\"INT_64\","
               "\"l\":\"IntType(bitWidth=@, isSigned=1)\"}\n"
               "{\"name\":\"s\",\"r\":\"OPTIONAL\",\"n\":\"2\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"a\",\"r\":\"OPTIONAL\",\"n\":\"1\",\"c\":\"LIST\",\"l\":\"ListType()\"}\n"
               "{\"name\":\"list\",\"r\":\"REPEATED\",\"n\":\"1\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"element\",\"r\":\"OPTIONAL\",\"n\":\"2\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"b\",\"r\":\"OPTIONAL\",\"n\":\"1\",\"c\":\"LIST\",\"l\":\"ListType()\"}\n"
               "{\"name\":\"list\",\"r\":\"REPEATED\",\"n\":\"1\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"element\",\"r\":\"OPTIONAL\",\"n\":null,\"c\":\"INT_32\","
               "\"l\":\"IntType(bitWidth= , isSigned=1)\"}\n"
               "{\"name\":\"c\",\"r\":\"OPTIONAL\",\"n\":null,\"c\":\"UTF8\",\"l\":\"StringType()\"}\n"
               "{\"name\":\"z\",\"r\":\"OPTIONAL\",\"n\":null,\"c\":null,\"l\":null}\n"
               "{\"name\":\"tags\",\"r\":\"OPTIONAL\",\"n\":\"1\",\"c\":\"LIST\",\"l\":\"ListType()\"}\n"
               "{\"name\":\"list\",\"r\":\"REPEATED\",\"n\":\"1\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"element\",\"r\":\"REQUIRED\",\"n\":null,\"c\":\"UTF8\","
               "\"l\":\"StringType()\"}\n"
               "{\"name\":\"matrix\",\"r\":\"OPTIONAL\",\"n\":\"1\",\"c\":\"LIST\","
               "\"l\":\"ListType()\"}\n"
               "{\"name\":\"list\",\"r\":\"REPEATED\",\"n\":\"1\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"element\",\"r\":\"OPTIONAL\",\"n\":\"1\",\"c\":\"LIST\","
               "\"l\":\"ListType()\"}\n"
               "{\"name\":\"list\",\"r\":\"REPEATED\",\"n\":\"1\",\"c\":null,\"l\":null}\n"
               "{\"name\":\"element\",\"r\":\"OPTIONAL\",\"n\":null,\"c\":null,\"l\":null}\n");
}

/* ---- errors ---- */

SL_TEST(pq_err_messages)
{
    sl_pq_node_t root = ROOT(nest_cols);
    sl_pq_node_t sroot = ROOT(scalar_cols);
    pqf_t p, q;
    open_pq(&p, "err.parquet", &root, NULL);
    open_pq(&q, "err2.parquet", &sroot, NULL);
    CHECK_STR(add_bad(&p, "{\"id\":\"x\"}", SL_ETYPE),
              "field 'id': expected required int64, got string 'x'");
    CHECK_STR(add_bad(&p, "{\"s\":null}", SL_ETYPE),
              "field 'id': expected required int64, got nothing (missing)");
    CHECK_STR(add_bad(&p, "{\"id\":null}", SL_ETYPE),
              "field 'id': expected required int64, got null");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"s\":{\"a\":[{\"b\":[1]},{\"b\":[2,\"three\"]}]}}", SL_ETYPE),
              "field 's.a[1].b[1]': expected int32, got string 'three'");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"s\":{\"a\":{\"b\":1}}}", SL_ETYPE),
              "field 's.a': expected list (an array), got object");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"s\":[1]}", SL_ETYPE),
              "field 's': expected struct (an object), got array of 1 items");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"tags\":[\"a\",null]}", SL_ETYPE),
              "field 'tags[1]': expected required string, got null");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"s\":{\"a\":[{\"b\":[3000000000]}]}}", SL_ETYPE),
              "field 's.a[0].b[0]': expected int32, got int 3000000000 (out of range)");
    CHECK_STR(add_bad(&p, "{\"id\":1,\"matrix\":[[1],[\"x\"]]}", SL_ETYPE),
              "field 'matrix[1][0]': expected double, got string 'x'");
    CHECK_STR(add_bad(&p, "{\"id\":12345678901234567890}", SL_ETYPE),
              "field 'id': expected required int64, got number 12345678901234567890");
    CHECK_STR(add_bad(&q, "{\"dt\":\"@ts:2024-01-01T00:00:00Z\"}", SL_ETYPE),
              "field 'dt': expected date, got timestamp 2024-01-01T00:00:00Z (cast it to a "
              "date first)");
    CHECK_STR(add_bad(&q, "{\"ts\":\"2024-01-01\"}", SL_ETYPE),
              "field 'ts': expected timestamp, got string '2024-01-01'");
    CHECK_STR(add_bad(&q, "{\"dec\":1234567.5}", SL_ETYPE),
              "field 'dec': expected decimal(9,3), got double 1234567.5 (too many digits for "
              "the precision)");
    CHECK_STR(add_bad(&q, "{\"dec\":1.2345}", SL_ETYPE),
              "field 'dec': expected decimal(9,3), got double 1.2345 (more fraction digits "
              "than the scale)");
    CHECK_STR(add_bad(&q, "{\"dec\":true}", SL_ETYPE),
              "field 'dec': expected decimal(9,3), got bool true");
    CHECK_STR(add_bad(&q, "{\"i64\":1.5}", SL_ETYPE), "field 'i64': expected int64, got double 1.5");
    CHECK_STR(add_bad(&q, "{\"d\":\"1.5\"}", SL_ETYPE),
              "field 'd': expected double, got string '1.5'");
    CHECK_STR(add_bad(&q, "{\"d\":123456789012345678901234567890}", SL_ETYPE),
              "field 'd': expected double, got number 123456789012345678901234567890");
    CHECK_STR(add_bad(&q, "{\"b\":1}", SL_ETYPE), "field 'b': expected bool, got int 1");
    CHECK_STR(add_bad(&q, "{\"s\":7}", SL_ETYPE), "field 's': expected string, got int 7");
    CHECK_STR(add_bad(&q, "{\"i32\":\"a very long string value that goes on and on and on\"}",
                      SL_ETYPE),
              "field 'i32': expected int32, got string 'a very long string value that goes on "
              "an'...");

    /* invalid UTF-8 is refused in STRING (also when it would be a new
     * dictionary entry), kept as is in BINARY */
    sl_err_t err;
    sl_member_t m[1];
    static const char *ks[] = {"s"}, *kb[] = {"bin"};
    sl_value_t bad = sl_value_str("ok\xff", 3);
    sl_value_t r = obj(m, ks, &bad, 1);
    CHECK_INT(sl_pq_writer_add(q.w, &r, &err), SL_ETYPE);
    CHECK_STR(err.msg, "field 's': expected string, got string 'ok\xff' (invalid UTF-8)");
    sl_value_t good = sl_value_str("fine", 4);
    r = obj(m, ks, &good, 1);
    CHECK_INT(sl_pq_writer_add(q.w, &r, &err), 0);
    r = obj(m, ks, &bad, 1);
    CHECK_INT(sl_pq_writer_add(q.w, &r, &err), SL_ETYPE);
    r = obj(m, kb, &bad, 1);
    CHECK_INT(sl_pq_writer_add(q.w, &r, &err), 0);

    /* a record must be an object */
    sl_value_t arr = rec("[1,2]");
    CHECK_INT(sl_pq_writer_add(p.w, &arr, &err), SL_ETYPE);
    CHECK_STR(err.msg, "parquet: a record must be an object, got array of 2 items");
    CHECK_INT(sl_pq_writer_rows(p.w), 0);
    CHECK_INT(sl_pq_writer_buffered(p.w), 0);
    const char *f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT count(*) n FROM read_parquet($F)"), "{\"n\":\"0\"}\n");
    f = close_pq(&q);
    CHECK_TEXT(duck(f, "SELECT s, bin FROM read_parquet($F)"),
               "{\"s\":\"fine\",\"bin\":null}\n{\"s\":null,\"bin\":\"ok\\\\xFF\"}\n");
}

/* Rejected records interleaved with good ones, failing at every depth
 * after other leaves (and new dictionary entries) were appended: the file
 * holds exactly the good records, and statistics know nothing of the rest. */
SL_TEST(pq_err_rollback_leaves_nothing)
{
    sl_pq_node_t root = ROOT(nest_cols);
    for (int v2 = 0; v2 < 2; v2++) {
        sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY, .row_group_rows = 3, .page_v2 = v2,
                          .dictionary_max_bytes = 64};
        pqf_t p;
        open_pq(&p, "rollback.parquet", &root, &o);
        for (int round = 0; round < 4; round++) {
            add_ok(&p, nest_recs[0]);
            add_bad(&p, "{\"id\":90,\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"zzz-rejected\"},"
                        "{\"b\":[\"x\"]}]},\"tags\":[\"zzz\"]}",
                    SL_ETYPE);
            add_ok(&p, nest_recs[1]);
            add_bad(&p, "{\"id\":91,\"s\":{\"a\":[{\"c\":\"zzz-a\"}],\"z\":true},"
                        "\"tags\":[\"zzz1\",\"zzz2\",null]}",
                    SL_ETYPE);
            add_bad(&p, "{\"id\":92,\"s\":{\"z\":false},\"tags\":[\"zzz3\"],\"matrix\":[[9.5],1]}",
                    SL_ETYPE);
            add_ok(&p, nest_recs[4]);
            add_bad(&p, "{\"id\":\"93\"}", SL_ETYPE);
        }
        const char *f = close_pq(&p);
        CHECK_TEXT(duck(f, "SELECT count(*) c, string_agg(id, ',') ids, max(s.a[1].c) mc, "
                           "max(tags[1]) mt, max(matrix[1][1]) mm FROM read_parquet($F)"),
                   "{\"c\":\"12\",\"ids\":\"1,2,5,1,2,5,1,2,5,1,2,5\",\"mc\":\"x\",\"mt\":\"p\","
                   "\"mm\":1.5}\n");
        CHECK_TEXT(duck(f, "SELECT DISTINCT * FROM read_parquet($F) ORDER BY id"),
                   "{\"id\":\"1\",\"s\":{\"a\":[{\"b\":[1,2],\"c\":\"x\"},{\"b\":[],\"c\":null},"
                   "{\"b\":null,\"c\":null},null],\"z\":true},\"tags\":[\"p\",\"q\"],"
                   "\"matrix\":[[1.5],[],null,[2,3]]}\n"
                   "{\"id\":\"2\",\"s\":null,\"tags\":[],\"matrix\":[]}\n"
                   "{\"id\":\"5\",\"s\":{\"a\":[{\"b\":[null,7],\"c\":null}],\"z\":null},"
                   "\"tags\":null,\"matrix\":[[null]]}\n");
        CHECK_TEXT(duck(f, "SELECT max(stats_max_value) mx, sum(num_values) n FROM "
                           "parquet_metadata($F) WHERE path_in_schema IN ('tags, list, element', "
                           "'s, a, list, element, c')"),
                   "{\"mx\":\"x\",\"n\":\"40\"}\n");
        const char *h = hyp(f);
        CHECK(strstr(h, "zzz") == NULL);
    }
}

SL_TEST(pq_err_schema_validation)
{
    sl_pq_writer_t *w = NULL;
    sl_err_t err;
    FILE *f = fopen("/dev/null", "wb");
    sl_pq_node_t bad_dec[] = {DEC("price", 39, 2)};
    sl_pq_node_t r1 = ROOT(bad_dec);
    CHECK_INT(sl_pq_writer_new(&r1, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet schema: 'price' is decimal(39,2); precision must be 1..38 and "
                       "scale 0..precision");
    sl_pq_node_t bad_scale[] = {DEC("p", 5, 6)};
    sl_pq_node_t r2 = ROOT(bad_scale);
    CHECK_INT(sl_pq_writer_new(&r2, NULL, to_file, f, &w, &err), SL_EINVAL);
    sl_pq_node_t two[] = {COL("a", SL_PQ_INT32), COL("b", SL_PQ_INT32)};
    sl_pq_node_t lst[] = {GROUP("l", SL_PQ_LIST, two)};
    sl_pq_node_t r3 = ROOT(lst);
    CHECK_INT(sl_pq_writer_new(&r3, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet schema: list 'l' needs exactly one child (the element)");
    sl_pq_node_t empty[] = {{.name = "st", .type = SL_PQ_STRUCT}};
    sl_pq_node_t inner[] = {GROUP("x", SL_PQ_STRUCT, empty)};
    sl_pq_node_t r4 = ROOT(inner);
    CHECK_INT(sl_pq_writer_new(&r4, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet schema: struct 'x.st' has no fields");
    sl_pq_node_t dup[] = {COL("a", SL_PQ_INT32), COL("a", SL_PQ_STRING)};
    sl_pq_node_t r5 = ROOT(dup);
    CHECK_INT(sl_pq_writer_new(&r5, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet schema: '' has two fields named 'a'");
    sl_pq_node_t noname[] = {COL(NULL, SL_PQ_INT32)};
    sl_pq_node_t r6 = ROOT(noname);
    CHECK_INT(sl_pq_writer_new(&r6, NULL, to_file, f, &w, &err), SL_EINVAL);
    sl_pq_node_t badtype[] = {COL("t", (sl_pq_type_t)99)};
    sl_pq_node_t r7 = ROOT(badtype);
    CHECK_INT(sl_pq_writer_new(&r7, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet schema: 't' has an unknown type 99");
    sl_pq_node_t leafroot = COL("x", SL_PQ_INT32);
    CHECK_INT(sl_pq_writer_new(&leafroot, NULL, to_file, f, &w, &err), SL_EINVAL);
    sl_pq_node_t ok[] = {COL("a", SL_PQ_INT32)};
    sl_pq_node_t r8 = ROOT(ok);
    sl_pq_opts_t o = {.codec = (sl_pq_codec_t)7};
    CHECK_INT(sl_pq_writer_new(&r8, &o, to_file, f, &w, &err), SL_EINVAL);
    o.codec = SL_PQ_GZIP;
    o.level = 42;
    CHECK_INT(sl_pq_writer_new(&r8, &o, to_file, f, &w, &err), SL_EINVAL);
    /* nesting deeper than the limit */
    sl_pq_node_t chain[60];
    for (int i = 0; i < 60; i++) {
        chain[i] = (sl_pq_node_t){.name = "n", .type = SL_PQ_STRUCT, .children = &chain[i + 1],
                                  .nchildren = 1};
    }
    chain[59] = (sl_pq_node_t)COL("leaf", SL_PQ_INT32);
    sl_pq_node_t r9 = {.type = SL_PQ_STRUCT, .children = chain, .nchildren = 1};
    CHECK_INT(sl_pq_writer_new(&r9, NULL, to_file, f, &w, &err), SL_EINVAL);
    CHECK_CONTAINS(err.msg, "is nested deeper than 48 levels");
    CHECK(w == NULL);
    fclose(f);
    CHECK_STR(sl_pq_type_name(SL_PQ_DECIMAL), "decimal");
    CHECK_STR(sl_pq_type_name(SL_PQ_TIMESTAMP), "timestamp");
}

/* A write callback that fails after a budget of bytes. */
typedef struct {
    size_t budget, got, calls;
} sink_t;

static int failing_sink(void *ud, const void *p, size_t n)
{
    sink_t *s = ud;
    (void)p;
    s->calls++;
    if (s->got + n > s->budget) {
        return SL_EIO;
    }
    s->got += n;
    return 0;
}

SL_TEST(pq_err_write_callback_fails)
{
    sl_pq_node_t root = ROOT(rows_cols);
    sl_pq_writer_t *w;
    sl_err_t err;
    sink_t s0 = {.budget = 2};
    CHECK_INT(sl_pq_writer_new(&(sl_pq_node_t)ROOT(rows_cols), NULL, failing_sink, &s0, &w, &err),
              SL_EIO);
    CHECK_STR(err.msg, "parquet: writing the file header failed");
    for (size_t budget = 4; budget < 4000; budget += 397) {
        sink_t s = {.budget = budget};
        sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY, .row_group_rows = 10, .page_bytes = 64};
        CHECK_INT(sl_pq_writer_new(&root, &o, failing_sink, &s, &w, &err), 0);
        int rc = 0;
        char buf[128];
        for (int i = 0; i < 100 && rc == 0; i++) {
            snprintf(buf, sizeof buf, "{\"id\":%d,\"g\":\"g%d\",\"t\":[%d]}", i, i, i);
            sl_value_t v = rec(buf);
            rc = sl_pq_writer_add(w, &v, &err);
        }
        if (rc == 0) {
            rc = sl_pq_writer_finish(w, &err);
        }
        CHECK_INT(rc, SL_EIO);
        CHECK_CONTAINS(err.msg, "parquet: ");
        CHECK_CONTAINS(err.msg, "failed: input/output error");
        /* the writer stays failed */
        sl_value_t v = rec("{\"id\":1}");
        CHECK_INT(sl_pq_writer_add(w, &v, &err), SL_EIO);
        CHECK_INT(sl_pq_writer_flush(w, &err), SL_EIO);
        CHECK_INT(sl_pq_writer_finish(w, &err), SL_EIO);
        CHECK(sl_pq_writer_written(w) <= budget);
        sl_pq_writer_free(w);
    }
    /* finish twice */
    sink_t ok = {.budget = SIZE_MAX};
    CHECK_INT(sl_pq_writer_new(&root, NULL, failing_sink, &ok, &w, &err), 0);
    CHECK_INT(sl_pq_writer_finish(w, &err), 0);
    CHECK_INT(sl_pq_writer_finish(w, &err), SL_EINVAL);
    sl_value_t v = rec("{\"id\":1}");
    CHECK_INT(sl_pq_writer_add(w, &v, &err), SL_EINVAL);
    CHECK_STR(err.msg, "parquet: the writer is finished");
    CHECK_INT(sl_pq_writer_written(w), ok.got);
    sl_pq_writer_free(w);
    sl_pq_writer_free(NULL);
}

SL_TEST(pq_rt_floats_and_json)
{
    sl_pq_node_t cols[] = {COL("f", SL_PQ_FLOAT), COL("d", SL_PQ_DOUBLE), COL("j", SL_PQ_JSON)};
    sl_pq_node_t root = ROOT(cols);
    static const char *keys[] = {"f", "d", "j"};
    pqf_t p;
    open_pq(&p, "floats.parquet", &root, NULL);
    sl_value_t rows[][3] = {
        {sl_value_double(NAN), sl_value_double(INFINITY), rec("{\"t\":\"@ts:2024-01-02T03:04:05Z\","
                                                              "\"d\":\"@d:2024-01-02\"}")},
        {sl_value_double(-0.0), sl_value_double(-INFINITY), rec("[1.50,1e400,-0,\"\\u00e9\"]")},
        {sl_value_int(16777217), sl_value_int(9007199254740993), rec("12345678901234567890")},
        {rec("0.1"), rec("0.1"), rec("null")},
        {rec("3.4e38"), rec("-1.7976931348623157e308"), rec("true")},
    };
    sl_member_t m[3];
    sl_err_t err;
    for (size_t r = 0; r < SL_ARRAY_LEN(rows); r++) {
        sl_value_t v = obj(m, keys, rows[r], 3);
        CHECK_INT(sl_pq_writer_add(p.w, &v, &err), 0);
    }
    const char *f = close_pq(&p);
    CHECK_TEXT(duck(f, "SELECT f::VARCHAR f, d::VARCHAR d, j::VARCHAR j FROM read_parquet($F)"),
               "{\"f\":\"nan\",\"d\":\"inf\","
               "\"j\":\"{\\\"t\\\":\\\"2024-01-02T03:04:05Z\\\",\\\"d\\\":\\\"2024-01-02\\\"}\"}\n"
               "{\"f\":\"-0.0\",\"d\":\"-inf\",\"j\":\"[1.50,1e400,0,\\\"\xc3\xa9\\\"]\"}\n"
               "{\"f\":\"16777216.0\",\"d\":\"9007199254740992.0\","
               "\"j\":\"12345678901234567890\"}\n"
               "{\"f\":\"0.1\",\"d\":\"0.1\",\"j\":null}\n"
               "{\"f\":\"3.4e+38\",\"d\":\"-1.7976931348623157e+308\",\"j\":\"true\"}\n");
    /* a finite double beyond FLOAT's range is refused, not made infinite */
    open_pq(&p, "floats2.parquet", &root, NULL);
    CHECK_STR(add_bad(&p, "{\"f\":3.5e38}", SL_ETYPE),
              "field 'f': expected float, got double 3.5e38 (out of range)");
    close_pq(&p);
}

/* Plain chunks the codec cannot shrink are stored uncompressed (the codec
 * is per column chunk); the others keep the file's codec. */
SL_TEST(pq_rt_incompressible_chunks)
{
    sl_pq_node_t cols[] = {REQ("id", SL_PQ_INT64), REQ("noise", SL_PQ_INT64),
                           REQ("text", SL_PQ_STRING)};
    sl_pq_node_t root = ROOT(cols);
    static const char *keys[] = {"id", "noise", "text"};
    for (int codec = SL_PQ_SNAPPY; codec <= SL_PQ_ZSTD; codec++) {
        sl_pq_opts_t o = {.codec = (sl_pq_codec_t)codec, .no_dictionary = true};
        pqf_t p;
        open_pq(&p, "noise.parquet", &root, &o);
        uint64_t x = 88172645463325252ULL;
        sl_member_t m[3];
        sl_err_t err;
        char text[64];
        for (int i = 0; i < 20000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int k = snprintf(text, sizeof text, "row %d of the sample text", i % 100);
            sl_value_t vals[3] = {sl_value_int(i), sl_value_int((int64_t)x),
                                  sl_value_str(text, (size_t)k)};
            sl_value_t v = obj(m, keys, vals, 3);
            CHECK_INT(sl_pq_writer_add(p.w, &v, &err), 0);
        }
        const char *f = close_pq(&p);
        static const char *names[] = {"", "SNAPPY", "GZIP", "ZSTD"};
        char want[256];
        snprintf(want, sizeof want,
                 "{\"p\":\"id\",\"c\":\"%s\"}\n{\"p\":\"noise\",\"c\":\"UNCOMPRESSED\"}\n"
                 "{\"p\":\"text\",\"c\":\"%s\"}\n",
                 names[codec], names[codec]);
        CHECK_TEXT(duck(f, "SELECT path_in_schema p, compression c FROM parquet_metadata($F)"),
                   want);
        CHECK_TEXT(duck(f, "SELECT count(*) n, sum(id) s, count(DISTINCT noise) r, "
                           "count(DISTINCT text) t, max(text) mt FROM read_parquet($F)"),
                   "{\"n\":\"20000\",\"s\":\"199990000\",\"r\":\"20000\",\"t\":\"100\","
                   "\"mt\":\"row 99 of the sample text\"}\n");
        if (codec != SL_PQ_ZSTD) {
            const char *h = hyp(f);
            CHECK_CONTAINS(h, "{\"id\":\"19999\",\"noise\":\"");
            CHECK_CONTAINS(h, "\"text\":\"row 99 of the sample text\"}\n");
        }
    }
}
