/* Unit tests for the `lake` sink (src/plugins/sinks/lake.c) on a local
 * folder, driven through the plugin vtable as the engine does, with the
 * files read back by DuckDB (tests/harness/pq_read_duckdb.js) as an
 * independent reader: values, Hive partitions and their escaping, rolling,
 * names across runs, aborts, declared schemas and rejects, and the
 * recovery of a run killed while publishing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"
#include "test.h"

extern const sl_sink_type_t sl_sink_lake;

/* Engine internals (src/engine/engine_internal.h) for a real rejects file. */
typedef struct sl_rejects sl_rejects_t;
sl_rejects_t *sl_rejects_new(const char *path, int64_t max_rejects, const char *step);
int sl_rejects_flush(sl_rejects_t *r, sl_err_t *err);
void sl_rejects_free(sl_rejects_t *r);

typedef struct {
    sl_step_ctx_t ctx;
    sl_arena_t *arena;
    sl_pipeline_t pipeline;
    sl_step_cfg_t step;
    sl_value_t params, run;
    sl_state_t *state;
    void *self;
    int64_t seq;
} fx_t;

static void fx_init(fx_t *f, const char *run_id)
{
    memset(f, 0, sizeof *f);
    f->arena = sl_arena_create(0, 0);
    f->pipeline.name = "p";
    f->step.name = "s";
    f->ctx.pipeline = &f->pipeline;
    f->ctx.step = &f->step;
    f->ctx.arena = f->arena;
    f->ctx.base_dir = sl_test_tmpdir();
    f->ctx.run_id = run_id;
    sl_object_new(f->arena, &f->params, 1);
    sl_object_set(f->arena, &f->params, "day", 3, sl_value_str("2026-11-22", 10));
    sl_object_new(f->arena, &f->run, 1);
    sl_object_set(f->arena, &f->run, "id", 2, sl_value_str(run_id, strlen(run_id)));
    f->ctx.params = &f->params;
    f->ctx.run = &f->run;
    sl_err_t err;
    char path[512];
    snprintf(path, sizeof path, "%s/state.db", sl_test_tmpdir());
    if (sl_state_open(path, &f->state, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "state: %s", err.msg);
    }
    f->ctx.state = f->state;
}

static void fx_free(fx_t *f)
{
    sl_state_close(f->state);
    sl_arena_destroy(f->arena);
}

static const sl_node_t *cfg(fx_t *f, const char *yaml)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(f->arena, "p.yaml", yaml, strlen(yaml), sl_test_tmpdir(), &root, &err)) {
        sl_test_fail(__FILE__, __LINE__, "config: %s", err.msg);
    }
    if (sl_config_check(root, sl_sink_lake.config, "sink 'lake'", &err)) {
        sl_test_fail(__FILE__, __LINE__, "config check: %s", err.msg);
    }
    return root;
}

/* The spec's message for yaml (a check that must fail), for range tests. */
static const char *spec_error(fx_t *f, const char *yaml)
{
    static sl_err_t err;
    sl_node_t *root = NULL;
    if (sl_config_parse(f->arena, "p.yaml", yaml, strlen(yaml), sl_test_tmpdir(), &root, &err) ||
        sl_config_check(root, sl_sink_lake.config, "sink 'lake'", &err) == 0) {
        return "(parsed and passed the spec)";
    }
    return err.msg;
}

/* Strings "@ts:ISO" and "@d:YYYY-MM-DD" become timestamps and dates. */
static void typed(sl_value_t *v)
{
    if (v->type == SL_T_STRING && v->len > 4 && memcmp(v->u.s, "@ts:", 4) == 0) {
        int64_t us;
        CHECK_INT(sl_timestamp_parse(v->u.s + 4, v->len - 4, &us), 0);
        *v = sl_value_timestamp(us);
    } else if (v->type == SL_T_STRING && v->len > 3 && memcmp(v->u.s, "@d:", 3) == 0) {
        int64_t days;
        CHECK_INT(sl_date_parse(v->u.s + 3, v->len - 3, &days), 0);
        *v = sl_value_date(days);
    } else if (v->type == SL_T_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++) {
            typed(&v->u.members[i].val);
        }
    } else if (v->type == SL_T_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++) {
            typed(&v->u.items[i]);
        }
    }
}

/* A batch of JSON lines, numbered from 1. */
static sl_batch_t *batch(fx_t *f, const char *lines)
{
    sl_batch_t *b = sl_arena_calloc(f->arena, sizeof *b);
    size_t cap = 1;
    for (const char *p = lines; *p; p++) {
        cap += *p == '\n';
    }
    b->arena = f->arena;
    b->origin = "in.jsonl";
    b->records = sl_arena_alloc(f->arena, cap * sizeof(sl_value_t));
    b->lines = sl_arena_alloc(f->arena, cap * sizeof(uint64_t));
    b->cap = cap;
    const char *p = lines;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        sl_json_error_t je;
        if (sl_json_parse(f->arena, p, n, NULL, &b->records[b->n], &je)) {
            sl_test_fail(__FILE__, __LINE__, "json: %s", je.reason);
        }
        typed(&b->records[b->n]);
        b->lines[b->n] = b->n + 1;
        b->n++;
        p += n + (e ? 1 : 0);
    }
    return b;
}

static void sink_open(fx_t *f, const char *yaml)
{
    int rc = sl_sink_lake.open(&f->ctx, cfg(f, yaml), &f->self);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "open: %d %s", rc, f->ctx.err.msg);
    }
}

/* Writes a batch with the next checkpoint, as the engine does. */
static void sink_write(fx_t *f, sl_batch_t *b)
{
    char *cp = sl_arena_sprintf(f->arena, "{\"gen\":1,\"seq\":%lld,\"pos\":{\"n\":%lld}}",
                                (long long)(f->seq + 1), (long long)(f->seq + 1));
    f->seq++;
    int rc = sl_sink_lake.write(f->self, b, "step:s", cp);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "write: %d %s", rc, f->ctx.err.msg);
    }
}

/* commit, then the engine's checkpoint, then close: a successful step. */
static void sink_finish(fx_t *f)
{
    int rc = sl_sink_lake.commit(f->self);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "commit: %d %s", rc, f->ctx.err.msg);
    }
    if (f->seq) {
        char *cp = sl_arena_sprintf(f->arena, "{\"gen\":1,\"seq\":%lld,\"pos\":{\"n\":%lld}}",
                                    (long long)f->seq, (long long)f->seq);
        CHECK_INT(sl_state_checkpoint_put(f->state, "p", "step:s", cp, f->seq), 0);
    }
    sl_sink_lake.close(f->self);
    f->self = NULL;
}

/* Runs one whole step writing lines into the lake configured by yaml. */
static void run_step(const char *run_id, const char *yaml, const char *lines)
{
    fx_t f;
    fx_init(&f, run_id);
    sink_open(&f, yaml);
    sink_write(&f, batch(&f, lines));
    sink_finish(&f);
    fx_free(&f);
}

static const char *in_tmp(const char *name)
{
    static char paths[4][600];
    static int k;
    char *p = paths[k++ % 4];
    snprintf(p, 600, "%s/%s", sl_test_tmpdir(), name);
    return p;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Every file under dir (hidden ones too), relative, sorted, one a line. */
static void collect(const char *dir, const char *rel, char names[][512], size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char path[1024], r[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            collect(path, r, names, n);
        } else if (*n < 200) {
            snprintf(names[(*n)++], 512, "%s", r);
        }
    }
    closedir(d);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static const char *tree(const char *dir)
{
    static char names[200][512];
    static char out[200 * 520];
    size_t n = 0;
    collect(dir, "", names, &n);
    qsort(names, n, sizeof names[0], cmp_name);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, names[i]);
        strcat(out, "\n");
    }
    return out;
}

/* Runs the DuckDB reader on file (a path or glob, $F in the SQL) and
 * returns its output: one JSON object per row. */
static const char *duck(const char *file, const char *sql)
{
    static char out[1 << 16];
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("node", "node", "tests/harness/pq_read_duckdb.js", file, sql, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0) {
        n += (size_t)r;
    }
    close(fds[0]);
    out[n] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sl_test_fail(__FILE__, __LINE__, "DuckDB reader failed (%d) on %s: %s", status, file, sql);
    }
    return out;
}

/* DuckDB over every Parquet file of the lake, with Hive partitions. */
#define LAKE_GLOB(dir) in_tmp(dir "/**/*.parquet")

SL_TEST(lake_values_read_back_by_duckdb)
{
    run_step(
        "0b7e1111-aaaa-4bbb-8ccc-000000000001", "type: lake\nurl: lake\npartition_by: [day]\n",
        "{\"id\":1,\"name\":\"a \\\"q\\\" é\",\"v\":1.5,\"ok\":true,\"ts\":\"@ts:2026-11-22T10:"
        "00:00.123456Z\",\"d\":\"@d:2026-11-22\",\"o\":{\"x\":1,\"y\":\"z\"},\"l\":[1,2,3],"
        "\"n\":null,\"day\":\"@d:2026-11-22\",\"big\":123456789012345678901234567890}\n"
        "{\"id\":2,\"name\":null,\"v\":-2,\"ok\":false,\"ts\":null,\"d\":null,\"o\":null,\"l\":"
        "[],\"n\":null,\"day\":\"@d:2026-11-23\",\"big\":null}");
    CHECK_STR(tree(in_tmp("lake")), "day=2026-11-22/part-00000-0b7e1111.parquet\n"
                                    "day=2026-11-23/part-00000-0b7e1111.parquet\n");
    const char *out = duck(LAKE_GLOB("lake"),
                           "SELECT id, name, v, ok, ts::VARCHAR AS ts, d::VARCHAR AS d, o.x AS x, "
                           "o.y AS y, l::VARCHAR AS l, n, day::VARCHAR AS day, big FROM "
                           "read_parquet($F, hive_partitioning=true) ORDER BY id");
    CHECK_STR(out,
              "{\"id\":\"1\",\"name\":\"a \\\"q\\\" é\",\"v\":1.5,\"ok\":true,\"ts\":"
              "\"2026-11-22 10:00:00.123456+00\",\"d\":\"2026-11-22\",\"x\":\"1\",\"y\":\"z\","
              "\"l\":\"[1, 2, 3]\",\"n\":null,\"day\":\"2026-11-22\",\"big\":"
              "\"123456789012345678901234567890\"}\n"
              "{\"id\":\"2\",\"name\":null,\"v\":-2,\"ok\":false,\"ts\":null,\"d\":null,\"x\":"
              "null,\"y\":null,\"l\":\"[]\",\"n\":null,\"day\":\"2026-11-23\",\"big\":null}\n");
    /* the partition field is not inside the files; types as inferred */
    out = duck(in_tmp("lake/day=2026-11-22/part-00000-0b7e1111.parquet"),
               "SELECT string_agg(column_name || ':' || column_type, ', ' ORDER BY column_name) AS "
               "cols FROM "
               "(DESCRIBE SELECT * FROM read_parquet($F, hive_partitioning=false))");
    CHECK_STR(out, "{\"cols\":\"big:VARCHAR, d:DATE, id:BIGINT, l:BIGINT[], n:VARCHAR, "
                   "name:VARCHAR, o:STRUCT(x BIGINT, y VARCHAR), ok:BOOLEAN, ts:TIMESTAMP WITH "
                   "TIME ZONE, v:DOUBLE\"}\n");
}

SL_TEST(lake_partition_values_escaped_and_restored)
{
    run_step("0b7e2222-aaaa-4bbb-8ccc-000000000002",
             "type: lake\nurl: file://lake\npartition_by: [k, n]\n",
             "{\"id\":1,\"k\":\"a/b=c:d%e\",\"n\":1}\n"
             "{\"id\":2,\"k\":null,\"n\":1}\n"
             "{\"id\":3,\"k\":\"\",\"n\":1}\n"
             "{\"id\":4,\"n\":2.5}\n"
             "{\"id\":5,\"k\":\"été #1?*[x]{y}^\\\\'\\\"\",\"n\":1}\n"
             "{\"id\":6,\"k\":\"tab\\there\",\"n\":true}\n"
             "{\"id\":7,\"k\":\"@ts:2026-11-22T10:00:00Z\",\"n\":1}");
    CHECK_STR(tree(in_tmp("lake")),
              "k=2026-11-22T10%3A00%3A00Z/n=1/part-00000-0b7e2222.parquet\n"
              "k=__HIVE_DEFAULT_PARTITION__/n=1/part-00000-0b7e2222.parquet\n"
              "k=__HIVE_DEFAULT_PARTITION__/n=2.5/part-00000-0b7e2222.parquet\n"
              "k=a%2Fb%3Dc%3Ad%25e/n=1/part-00000-0b7e2222.parquet\n"
              "k=tab%09here/n=true/part-00000-0b7e2222.parquet\n"
              "k=été %231%3F%2A%5Bx%5D%7By}%5E%5C%27%22/n=1/part-00000-0b7e2222.parquet\n");
    const char *out =
        duck(LAKE_GLOB("lake"), "SELECT id, k, n::VARCHAR AS n FROM read_parquet($F, "
                                "hive_partitioning=true, hive_types_autocast=false) ORDER BY id");
    CHECK_STR(out, "{\"id\":\"1\",\"k\":\"a/b=c:d%e\",\"n\":\"1\"}\n"
                   "{\"id\":\"2\",\"k\":null,\"n\":\"1\"}\n"
                   "{\"id\":\"3\",\"k\":null,\"n\":\"1\"}\n"
                   "{\"id\":\"4\",\"k\":null,\"n\":\"2.5\"}\n"
                   "{\"id\":\"5\",\"k\":\"été #1?*[x]{y}^\\\\'\\\"\",\"n\":\"1\"}\n"
                   "{\"id\":\"6\",\"k\":\"tab\\there\",\"n\":\"true\"}\n"
                   "{\"id\":\"7\",\"k\":\"2026-11-22T10:00:00Z\",\"n\":\"1\"}\n");
}

SL_TEST(lake_rolls_files_by_rows_and_numbers_them)
{
    char lines[4096] = "";
    for (int i = 0; i < 10; i++) {
        char l[64];
        snprintf(l, sizeof l, "%s{\"id\":%d,\"g\":\"%s\"}", i ? "\n" : "", i, i < 7 ? "a" : "b");
        strcat(lines, l);
    }
    run_step("abcdef01-aaaa-4bbb-8ccc-000000000003",
             "type: lake\nurl: lake\npartition_by: g\nmax_file_rows: 3\n", lines);
    CHECK_STR(tree(in_tmp("lake")), "g=a/part-00000-abcdef01.parquet\n"
                                    "g=a/part-00001-abcdef01.parquet\n"
                                    "g=a/part-00002-abcdef01.parquet\n"
                                    "g=b/part-00000-abcdef01.parquet\n");
    const char *out =
        duck(LAKE_GLOB("lake"), "SELECT regexp_extract(filename, 'g=.*') AS f, count(*) AS n, "
                                "min(id) AS lo, max(id) AS hi FROM read_parquet($F, filename=true) "
                                "GROUP BY f ORDER BY f");
    CHECK_STR(
        out, "{\"f\":\"g=a/part-00000-abcdef01.parquet\",\"n\":\"3\",\"lo\":\"0\",\"hi\":\"2\"}\n"
             "{\"f\":\"g=a/part-00001-abcdef01.parquet\",\"n\":\"3\",\"lo\":\"3\",\"hi\":\"5\"}\n"
             "{\"f\":\"g=a/part-00002-abcdef01.parquet\",\"n\":\"1\",\"lo\":\"6\",\"hi\":\"6\"}\n"
             "{\"f\":\"g=b/part-00000-abcdef01.parquet\",\"n\":\"3\",\"lo\":\"7\",\"hi\":\"9\"}\n");
}

SL_TEST(lake_two_runs_never_collide)
{
    const char *yaml = "type: lake\nurl: lake\npartition_by: [g]\n";
    run_step("11111111-aaaa-4bbb-8ccc-000000000004", yaml,
             "{\"id\":1,\"g\":1}\n{\"id\":2,\"g\":2}");
    run_step("22222222-aaaa-4bbb-8ccc-000000000005", yaml, "{\"id\":3,\"g\":1}");
    /* a name taken by someone else is skipped */
    CHECK_INT(mkdir(in_tmp("lake/g=3"), 0777), 0);
    sl_test_write_file("lake/g=3/part-00000-33333333.parquet", "x", 1);
    run_step("33333333-aaaa-4bbb-8ccc-000000000006", yaml, "{\"id\":4,\"g\":3}");
    CHECK_STR(tree(in_tmp("lake")), "g=1/part-00000-11111111.parquet\n"
                                    "g=1/part-00000-22222222.parquet\n"
                                    "g=2/part-00000-11111111.parquet\n"
                                    "g=3/part-00000-33333333.parquet\n"
                                    "g=3/part-00001-33333333.parquet\n");
    const char *out = duck(in_tmp("lake/g=[12]/*.parquet"),
                           "SELECT string_agg(id::VARCHAR || '@' || g, ',' ORDER BY id) AS r FROM "
                           "read_parquet($F, hive_partitioning=true)");
    CHECK_STR(out, "{\"r\":\"1@1,2@2,3@1\"}\n");
}

SL_TEST(lake_close_without_commit_leaves_nothing)
{
    fx_t f;
    fx_init(&f, "44444444-aaaa-4bbb-8ccc-000000000007");
    sink_open(&f, "type: lake\nurl: lake\npartition_by: [g]\nrow_group_rows: 1\n");
    sink_write(&f, batch(&f, "{\"id\":1,\"g\":1}\n{\"id\":2,\"g\":2}\n{\"id\":3,\"g\":2}"));
    /* row groups of one row were written out to the temp files */
    CHECK(strstr(tree(in_tmp("lake")), ".sl-tmp.") != NULL);
    sl_sink_lake.close(f.self);
    CHECK_STR(tree(in_tmp("lake")), "");
    /* not even the partition folders */
    DIR *d = opendir(in_tmp("lake"));
    CHECK(d != NULL);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL) {
        entries++;
    }
    closedir(d);
    CHECK_INT(entries, 2);
    /* and no marker is left in the state */
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), SL_ENOTFOUND);
    fx_free(&f);
}

SL_TEST(lake_commit_without_recorded_progress_is_taken_back)
{
    /* The engine failed to store the checkpoint after the sink's commit:
     * close() removes the files it had published. */
    fx_t f;
    fx_init(&f, "55555555-aaaa-4bbb-8ccc-000000000008");
    sink_open(&f, "type: lake\nurl: lake\npartition_by: [g]\n");
    sink_write(&f, batch(&f, "{\"id\":1,\"g\":1}\n{\"id\":2,\"g\":2}"));
    CHECK_INT(sl_sink_lake.commit(f.self), 0);
    CHECK_STR(tree(in_tmp("lake")), "g=1/part-00000-55555555.parquet\n"
                                    "g=2/part-00000-55555555.parquet\n");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), 0);
    CHECK_STR(cp.value,
              "{\"run\":\"55555555-aaaa-4bbb-8ccc-000000000008\",\"key\":\"step:s\","
              "\"checkpoint\":\"{\\\"gen\\\":1,\\\"seq\\\":1,\\\"pos\\\":{\\\"n\\\":1}}\","
              "\"files\":[\"g=1/part-00000-55555555.parquet\","
              "\"g=2/part-00000-55555555.parquet\"]}");
    sl_checkpoint_free(&cp);
    sl_sink_lake.close(f.self);
    CHECK_STR(tree(in_tmp("lake")), "");
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), SL_ENOTFOUND);
    fx_free(&f);
}

SL_TEST(lake_successful_step_keeps_files_and_clears_marker)
{
    fx_t f;
    fx_init(&f, "66666666-aaaa-4bbb-8ccc-000000000009");
    sink_open(&f, "type: lake\nurl: lake\n");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), 0);
    CHECK_STR(cp.value, "{\"run\":\"66666666-aaaa-4bbb-8ccc-000000000009\"}");
    sl_checkpoint_free(&cp);
    sink_write(&f, batch(&f, "{\"id\":1}"));
    sink_write(&f, batch(&f, "{\"id\":2}"));
    sink_finish(&f);
    CHECK_STR(tree(in_tmp("lake")), "part-00000-66666666.parquet\n");
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), SL_ENOTFOUND);
    CHECK_STR(duck(in_tmp("lake/*.parquet"), "SELECT count(*) AS n FROM read_parquet($F)"),
              "{\"n\":\"2\"}\n");
    fx_free(&f);
}

SL_TEST(lake_recovers_after_a_run_killed_while_publishing)
{
    /* What a run killed between its publishing and the engine's
     * checkpoint leaves: published files, a marker listing them, stale
     * temp files; plus another run's temp and an older run's file. */
    CHECK_INT(mkdir(in_tmp("lake"), 0777), 0);
    CHECK_INT(mkdir(in_tmp("lake/g=1"), 0777), 0);
    sl_test_write_file("lake/g=1/part-00000-77777777.parquet", "published", 9);
    sl_test_write_file("lake/g=1/part-00001-77777777.parquet", "published", 9);
    sl_test_write_file("lake/g=1/.part-00002-77777777.parquet.sl-tmp.AbC123", "temp", 4);
    sl_test_write_file("lake/g=1/.part-00000-99999999.parquet.sl-tmp.XyZ987", "other", 5);
    sl_test_write_file("lake/g=1/part-00000-00000001.parquet", "older run", 9);
    fx_t f;
    fx_init(&f, "88888888-aaaa-4bbb-8ccc-000000000010");
    CHECK_INT(sl_state_checkpoint_put(f.state, "p", "step:s", "{\"gen\":1,\"seq\":3}", 3), 0);
    CHECK_INT(sl_state_checkpoint_put(
                  f.state, "p", "lake:s:pending",
                  "{\"run\":\"77777777-aaaa-4bbb-8ccc-000000000011\",\"key\":\"step:s\","
                  "\"checkpoint\":\"{\\\"gen\\\":1,\\\"seq\\\":9}\",\"files\":["
                  "\"g=1/part-00000-77777777.parquet\",\"g=1/part-00001-77777777.parquet\","
                  "\"g=1/part-00002-77777777.parquet\"]}",
                  0),
              0);
    sink_open(&f, "type: lake\nurl: lake\npartition_by: [g]\n");
    CHECK_STR(tree(in_tmp("lake")), "g=1/.part-00000-99999999.parquet.sl-tmp.XyZ987\n"
                                    "g=1/part-00000-00000001.parquet\n");
    sl_checkpoint_t cp;
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), 0);
    CHECK_STR(cp.value, "{\"run\":\"88888888-aaaa-4bbb-8ccc-000000000010\"}");
    sl_checkpoint_free(&cp);
    sl_sink_lake.close(f.self);
    CHECK_INT(sl_state_checkpoint_get(f.state, "p", "lake:s:pending", &cp), SL_ENOTFOUND);
    fx_free(&f);
}

SL_TEST(lake_keeps_files_whose_progress_landed)
{
    /* Killed after the engine stored its checkpoint but before close():
     * the files are the run's output and stay. */
    CHECK_INT(mkdir(in_tmp("lake"), 0777), 0);
    sl_test_write_file("lake/part-00000-77777777.parquet", "published", 9);
    sl_test_write_file("lake/.part-00001-77777777.parquet.sl-tmp.AbC123", "temp", 4);
    fx_t f;
    fx_init(&f, "88888888-aaaa-4bbb-8ccc-000000000012");
    CHECK_INT(sl_state_checkpoint_put(f.state, "p", "step:s", "{\"gen\":1,\"seq\":9}", 9), 0);
    CHECK_INT(sl_state_checkpoint_put(f.state, "p", "lake:s:pending",
                                      "{\"run\":\"77777777-aaaa-4bbb-8ccc-000000000011\",\"key\":"
                                      "\"step:s\",\"checkpoint\":\"{\\\"gen\\\":1,\\\"seq\\\":9}"
                                      "\",\"files\":[\"part-00000-77777777.parquet\"]}",
                                      0),
              0);
    sink_open(&f, "type: lake\nurl: lake\n");
    CHECK_STR(tree(in_tmp("lake")), "part-00000-77777777.parquet\n");
    sl_sink_lake.close(f.self);
    fx_free(&f);
}

/* Records what the sink rejects through a real rejects file. */
static const char *rejects_text(void)
{
    static char buf[8192];
    FILE *fp = fopen(in_tmp("rejects.jsonl"), "r");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) {
        fclose(fp);
    }
    buf[n] = '\0';
    return buf;
}

SL_TEST(lake_declared_schema_rejects_what_does_not_fit)
{
    fx_t f;
    fx_init(&f, "99999999-aaaa-4bbb-8ccc-000000000013");
    sl_rejects_t *rj = sl_rejects_new(in_tmp("rejects.jsonl"), 100, "s");
    f.ctx.rejects = (struct sl_rejects *)rj;
    sink_open(&f, "type: lake\nurl: lake\npartition_by: [day]\nschema: {id: int64 not null, "
                  "amount: \"decimal(10,2)\", day: date, tags: \"list<string>\", addr: "
                  "\"struct<city: string>\"}\n");
    sl_batch_t *b = batch(&f, "{\"id\":1,\"amount\":12.5,\"day\":\"x\",\"tags\":[\"a\"],"
                              "\"addr\":{\"city\":\"Oslo\"},\"extra\":1}\n"
                              "{\"id\":\"x\",\"amount\":1}\n"
                              "[1,2]\n"
                              "{\"amount\":3}\n"
                              "{\"id\":5,\"amount\":null,\"tags\":null}");
    sink_write(&f, b);
    CHECK_INT(b->n, 2);
    CHECK_INT(b->lines[0], 1);
    CHECK_INT(b->lines[1], 5);
    sl_err_t err;
    CHECK_INT(sl_rejects_flush(rj, &err), 0);
    const char *rej = rejects_text();
    CHECK_CONTAINS(rej, "\"line\":2,\"reason\":\"lake: field 'id': expected required int64, got "
                        "string 'x'\"");
    CHECK_CONTAINS(rej, "\"line\":3,\"reason\":\"lake: record is not an object (got array)\"");
    CHECK_CONTAINS(rej, "\"line\":4,\"reason\":\"lake: field 'id': expected required int64, got "
                        "nothing (missing)\"");
    sink_finish(&f);
    sl_rejects_free(rj);
    CHECK_STR(tree(in_tmp("lake")), "day=__HIVE_DEFAULT_PARTITION__/part-00000-99999999.parquet\n"
                                    "day=x/part-00000-99999999.parquet\n");
    const char *out = duck(LAKE_GLOB("lake"),
                           "SELECT id, amount::VARCHAR AS amount, tags::VARCHAR AS tags, addr.city "
                           "AS city, day FROM read_parquet($F, hive_partitioning=true) ORDER BY "
                           "id");
    CHECK_STR(out, "{\"id\":\"1\",\"amount\":\"12.50\",\"tags\":\"[a]\",\"city\":\"Oslo\",\"day\":"
                   "\"x\"}\n{\"id\":\"5\",\"amount\":null,\"tags\":null,\"city\":null,\"day\":null}"
                   "\n");
    out = duck(in_tmp("lake/day=x/*.parquet"), "SELECT string_agg(column_name || ':' || "
                                               "column_type, ', ') AS cols FROM (DESCRIBE SELECT * "
                                               "FROM read_parquet($F, hive_partitioning=false))");
    CHECK_STR(out, "{\"cols\":\"id:BIGINT, amount:DECIMAL(10,2), tags:VARCHAR[], addr:STRUCT(city "
                   "VARCHAR)\"}\n");
    fx_free(&f);
}

SL_TEST(lake_schema_widens_within_a_row_group_and_splits_after)
{
    fx_t f;
    fx_init(&f, "aaaaaaaa-aaaa-4bbb-8ccc-000000000014");
    sink_open(&f, "type: lake\nurl: lake\nrow_group_rows: 3\n");
    /* widened before the first row group is written: one schema */
    sink_write(&f, batch(&f, "{\"id\":1,\"v\":1}\n{\"id\":2,\"v\":2.5}\n{\"id\":3,\"v\":null,"
                             "\"w\":\"x\"}"));
    /* fits the file's schema: same file, second row group */
    sink_write(&f, batch(&f, "{\"id\":4,\"v\":4}\n{\"id\":5}\n{\"id\":6,\"w\":\"y\"}"));
    /* widens after: a new file */
    sink_write(&f, batch(&f, "{\"id\":7,\"v\":\"seven\"}"));
    sink_finish(&f);
    CHECK_STR(tree(in_tmp("lake")), "part-00000-aaaaaaaa.parquet\npart-00001-aaaaaaaa.parquet\n");
    const char *out = duck(in_tmp("lake/part-00000-aaaaaaaa.parquet"),
                           "SELECT count(DISTINCT row_group_id) AS rgs FROM parquet_metadata($F)");
    CHECK_STR(out, "{\"rgs\":\"2\"}\n");
    out = duck(in_tmp("lake/part-00000-aaaaaaaa.parquet"),
               "SELECT string_agg(column_name || ':' || column_type, ', ') AS cols FROM (DESCRIBE "
               "SELECT * FROM read_parquet($F))");
    CHECK_STR(out, "{\"cols\":\"id:BIGINT, v:DOUBLE, w:VARCHAR\"}\n");
    out = duck(in_tmp("lake/part-00001-aaaaaaaa.parquet"),
               "SELECT string_agg(column_name || ':' || column_type, ', ') AS cols FROM (DESCRIBE "
               "SELECT * "
               "FROM read_parquet($F))");
    CHECK_STR(out, "{\"cols\":\"id:BIGINT, v:VARCHAR, w:VARCHAR\"}\n");
    out = duck(LAKE_GLOB("lake"), "SELECT string_agg(id || '=' || coalesce(v::VARCHAR, '-') || "
                                  "'/' || coalesce(w, '-'), ' ' ORDER BY id) AS r FROM "
                                  "read_parquet($F, union_by_name=true)");
    CHECK_STR(out, "{\"r\":\"1=1.0/- 2=2.5/- 3=-/x 4=4.0/- 5=-/- 6=-/y 7=seven/-\"}\n");
    fx_free(&f);
}

SL_TEST(lake_schema_is_fixed_after_infer_rows_and_the_row_group_goes_on)
{
    fx_t f;
    fx_init(&f, "aaaaaaaa-aaaa-4bbb-8ccc-000000000024");
    sink_open(&f, "type: lake\nurl: lake\nrow_group_rows: 100\ninfer_rows: 2\n");
    /* two rows fix the schema (v int64); the third joins the same row group */
    sink_write(&f, batch(&f, "{\"id\":1,\"v\":1}\n{\"id\":2,\"v\":2}\n{\"id\":3,\"v\":3}"));
    /* a double after that widens: the next file */
    sink_write(&f, batch(&f, "{\"id\":4,\"v\":4.5}"));
    sink_finish(&f);
    CHECK_STR(tree(in_tmp("lake")), "part-00000-aaaaaaaa.parquet\npart-00001-aaaaaaaa.parquet\n");
    const char *out = duck(in_tmp("lake/part-00000-aaaaaaaa.parquet"),
                           "SELECT count(DISTINCT row_group_id) AS rgs, max(row_group_num_rows) "
                           "AS n FROM parquet_metadata($F)");
    CHECK_STR(out, "{\"rgs\":\"1\",\"n\":\"3\"}\n");
    out = duck(in_tmp("lake/part-00000-aaaaaaaa.parquet"),
               "SELECT string_agg(column_name || ':' || column_type, ', ') AS cols FROM (DESCRIBE "
               "SELECT * FROM read_parquet($F))");
    CHECK_STR(out, "{\"cols\":\"id:BIGINT, v:BIGINT\"}\n");
    out = duck(in_tmp("lake/part-00001-aaaaaaaa.parquet"),
               "SELECT string_agg(column_name || ':' || column_type, ', ') AS cols FROM (DESCRIBE "
               "SELECT * FROM read_parquet($F))");
    CHECK_STR(out, "{\"cols\":\"id:BIGINT, v:DOUBLE\"}\n");
    out = duck(LAKE_GLOB("lake"), "SELECT string_agg(id || '=' || v::VARCHAR, ' ' ORDER BY id) AS r "
                                  "FROM read_parquet($F, union_by_name=true)");
    CHECK_STR(out, "{\"r\":\"1=1.0 2=2.0 3=3.0 4=4.5\"}\n");
    fx_free(&f);
}

SL_TEST(lake_memory_budget_flushes_the_biggest_partition)
{
    fx_t f;
    fx_init(&f, "bbbbbbbb-aaaa-4bbb-8ccc-000000000015");
    sink_open(&f, "type: lake\nurl: lake\npartition_by: [g]\nmax_buffer_bytes: 1000\n");
    char lines[1 << 14] = "";
    for (int i = 0; i < 60; i++) {
        char l[160];
        snprintf(l, sizeof l, "%s{\"id\":%d,\"g\":%d,\"pad\":\"%040d\"}", i ? "\n" : "", i, i % 2,
                 i);
        strcat(lines, l);
    }
    sink_write(&f, batch(&f, lines));
    sink_write(&f, batch(&f, lines));
    sink_finish(&f);
    const char *out = duck(LAKE_GLOB("lake"),
                           "SELECT count(*) AS n, count(DISTINCT id) AS d FROM read_parquet($F)");
    CHECK_STR(out, "{\"n\":\"120\",\"d\":\"60\"}\n");
    out = duck(in_tmp("lake/g=0/part-00000-bbbbbbbb.parquet"),
               "SELECT count(DISTINCT row_group_id) > 1 AS many FROM parquet_metadata($F)");
    CHECK_STR(out, "{\"many\":true}\n");
    fx_free(&f);
}

SL_TEST(lake_nested_json_mode_and_compression)
{
    run_step("cccccccc-aaaa-4bbb-8ccc-000000000016",
             "type: lake\nurl: lake\nnested: json\ncompression: zstd\n",
             "{\"id\":1,\"o\":{\"a\":[1,{\"b\":null}]},\"l\":[\"x\",2]}\n{\"id\":2,\"o\":\"s\"}");
    const char *out =
        duck(LAKE_GLOB("lake"), "SELECT id, o::VARCHAR AS o, l::VARCHAR AS l FROM read_parquet($F) "
                                "ORDER BY id");
    CHECK_STR(out,
              "{\"id\":\"1\",\"o\":\"{\\\"a\\\":[1,{\\\"b\\\":null}]}\",\"l\":\"[\\\"x\\\",2]\"}\n"
              "{\"id\":\"2\",\"o\":\"\\\"s\\\"\",\"l\":null}\n");
    out = duck(LAKE_GLOB("lake"), "SELECT DISTINCT compression FROM parquet_metadata($F)");
    CHECK_STR(out, "{\"compression\":\"ZSTD\"}\n");
}

SL_TEST(lake_empty_run_publishes_nothing)
{
    fx_t f;
    fx_init(&f, "dddddddd-aaaa-4bbb-8ccc-000000000017");
    sink_open(&f, "type: lake\nurl: lake\n");
    sink_finish(&f);
    CHECK(!exists(in_tmp("lake")) || strcmp(tree(in_tmp("lake")), "") == 0);
    fx_free(&f);
}

SL_TEST(lake_config_errors)
{
    fx_t f;
    fx_init(&f, "eeeeeeee-aaaa-4bbb-8ccc-000000000018");
    void *self = NULL;
    CHECK_INT(sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\n"), &self), SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "p.yaml:1:1: sink 'lake': missing url (or connection)");
    CHECK_INT(sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\nurl: \"{{ record.x }}\"\n"), &self),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:2:6: sink 'lake': url: templates may use params");
    CHECK_INT(
        sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\nurl: lake\nschema:\n  id: int65\n"), &self),
        SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "p.yaml:4:7: sink 'lake': schema: field 'id': unknown type "
                                  "'int65'");
    /* ranges are the spec's: found when the pipeline loads */
    CHECK_STR(spec_error(&f, "type: lake\nurl: lake\nmax_file_rows: 0\n"),
              "p.yaml:3:16: sink 'lake': key 'max_file_rows' must be at least 1, got 0");
    CHECK_INT(
        sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\nurl: lake\npartition_by: [a, a]\n"), &self),
        SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "p.yaml:3:19: sink 'lake': partition_by: 'a' appears twice");
    CHECK_INT(sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\nconnection: nope\n"), &self),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "p.yaml:2:13: sink 'lake': no connection named 'nope' in the "
                             "pipeline");
    CHECK_INT(sl_sink_lake.open(&f.ctx, cfg(&f, "type: lake\nurl: \"http://x/y\"\n"), &self),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "p.yaml:2:6: sink 'lake': url 'http://x/y': expected s3://, "
                             "file:// or a folder");
    CHECK_INT(sl_sink_lake.open(&f.ctx,
                                cfg(&f, "type: lake\nurl: lake\npartition_by: [a]\n"
                                        "schema: {a: int64}\n"),
                                &self),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "p.yaml:4:9: sink 'lake': schema: no column left besides the "
                             "partition fields");
    /* check() for validate: the same schema errors, without side effects */
    sl_err_t err;
    CHECK_INT(
        sl_sink_lake.check(cfg(&f, "type: lake\nurl: lake\nschema: {a: \"list<x>\"}\n"), &err),
        SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:3:13: sink 'lake': schema: field 'a': unknown type 'x' (expected "
                       "bool, int32, int64, float, double, string, binary, json, date, "
                       "timestamp, decimal(p,s), list<T>, struct<name: T, ...>)");
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\n"), &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:1: sink 'lake': missing url (or connection)");
    CHECK_STR(spec_error(&f, "type: lake\nurl: x\npage_bytes: -1\n"),
              "p.yaml:3:13: sink 'lake': key 'page_bytes' must be at least 1, got -1");
    /* a level needs a codec that has levels, within its range */
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\nurl: x\ncompression_level: 3\n"), &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:3:20: sink 'lake': compression_level applies to zstd and gzip, "
                       "not snappy (set compression: zstd or gzip)");
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\nurl: x\ncompression: gzip\n"
                                         "compression_level: 12\n"),
                                 &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:4:20: sink 'lake': compression_level for gzip must be between -1 "
                       "and 9 (0: the codec's default), got 12");
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\nurl: x\ncompression: zstd\n"
                                         "compression_level: 19\n"),
                                 &err),
              0);
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\nurl: \"ftp://h/x\"\n"), &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:2:6: sink 'lake': url 'ftp://h/x': expected s3://, file:// or a "
                       "folder");
    CHECK_INT(sl_sink_lake.check(cfg(&f, "type: lake\nurl: x\npartition_by: [d]\n"), &err), 0);
    CHECK(!exists(in_tmp("x")));
    fx_free(&f);
}

SL_TEST(lake_url_templates_and_connection)
{
    fx_t f;
    fx_init(&f, "ffffffff-aaaa-4bbb-8ccc-000000000019");
    sl_node_t *conn = NULL;
    sl_err_t err;
    const char *ctext = "url: \"file://conn-lake/{{ params.day }}\"\n";
    CHECK_INT(
        sl_config_parse(f.arena, "p.yaml", ctext, strlen(ctext), sl_test_tmpdir(), &conn, &err), 0);
    sl_connection_cfg_t c = {"mylake", conn};
    f.pipeline.connections = &c;
    f.pipeline.nconnections = 1;
    sink_open(&f, "type: lake\nconnection: mylake\n");
    sink_write(&f, batch(&f, "{\"id\":1}"));
    sink_finish(&f);
    CHECK_STR(tree(in_tmp("conn-lake")), "2026-11-22/part-00000-ffffffff.parquet\n");
    fx_free(&f);
}
