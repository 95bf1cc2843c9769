/* Engine tests with fake plugins through an injected registry: a pipeline
 * is loaded against the fakes below, and the real engine runs it (state in
 * a SQLite file of the test's temp dir). The fakes count what happens to
 * them, so tests assert attempts, skips and outputs without timing. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/config/config_internal.h"
#include "../test.h"
#include "sluice/engine.h"
#include "sluice/log.h"
#include "sluice/step.h"

/* ---- fakes ---- */

/* atomics: the items of a map run the fakes on several threads */
static _Atomic int opens;       /* gen sources opened */
static _Atomic int64_t written; /* records the count sink was given */

/* source gen: {n: records, fail_opens: how many first opens fail (transient)} */
typedef struct {
    int64_t n, next;
    bool failing;
} gen_t;

static int gen_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    gen_t *g = sl_arena_calloc(ctx->arena, sizeof *g);
    int64_t fail_opens = 0;
    if (!g || sl_cfg_int(cfg, "n", 10, &g->n, &ctx->err) ||
        sl_cfg_int(cfg, "fail_opens", 0, &fail_opens, &ctx->err)) {
        return SL_ECONFIG;
    }
    g->failing = ++opens <= fail_opens;
    *self = g;
    return 0;
}

static int gen_next(void *self, sl_batch_t *b, size_t max)
{
    gen_t *g = self;
    if (g->failing) {
        return SL_ERETRY; /* a transient failure, as a dropped connection */
    }
    if (g->next >= g->n) {
        return SL_EOF;
    }
    for (size_t k = 0; k < max && g->next < g->n; k++, g->next++) {
        sl_value_t rec;
        if (sl_object_new(b->arena, &rec, 1) || sl_object_set(b->arena, &rec, "id", 2,
                                                               sl_value_int(g->next)) ||
            sl_batch_push(b, rec, (uint64_t)g->next + 1)) {
            return SL_ENOMEM;
        }
    }
    return 0;
}

static const sl_source_type_t fake_gen = {
    .name = "gen", .open = gen_open, .next = gen_next};

static int count_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    *self = ctx;
    return 0;
}

static int count_write(void *self, sl_batch_t *b, const char *key, const char *cp)
{
    written += (int64_t)b->n;
    return 0;
}

static const sl_sink_type_t fake_count = {.name = "count",
                                          .flags = SL_SINK_DURABLE_PER_BATCH,
                                          .open = count_open,
                                          .write = count_write};

static const sl_source_type_t *const sources[] = {&fake_gen, NULL};
static const sl_transform_type_t *const transforms[] = {NULL};
static const sl_sink_type_t *const sinks[] = {&fake_count, NULL};

static const sl_source_type_t *find_source(const char *n)
{
    return strcmp(n, "gen") == 0 ? &fake_gen : NULL;
}
static const sl_transform_type_t *find_transform(const char *n)
{
    return NULL;
}
static const sl_sink_type_t *find_sink(const char *n)
{
    return strcmp(n, "count") == 0 ? &fake_count : NULL;
}

static const sl_plugin_registry_t reg = {find_source, find_transform, find_sink,
                                         sources,     transforms,     sinks};

/* ---- helpers ---- */

static sl_pipeline_t *load(sl_arena_t *a, const char *yaml)
{
    const char *path = sl_test_write_file("p.yaml", yaml, strlen(yaml));
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    if (sl_pipeline_load_reg(a, path, &reg, &p, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "load: %s", err.msg);
    }
    return p;
}

static int threads = 1; /* of the flows run() runs */

static void run(const sl_pipeline_t *p, const char *const *args, size_t nargs,
                sl_run_result_t *res)
{
    char state[600];
    snprintf(state, sizeof state, "%s/state.db", sl_test_tmpdir());
    sl_engine_opts_t opts = {.state_url = state, .threads = threads};
    sl_run_request_t req = {.pipeline = p, .param_args = args, .nparam_args = nargs};
    sl_err_t err;
    sl_log_setup(SL_LOG_ERROR, SL_LOG_TEXT);
    opens = 0;
    written = 0;
    if (sl_engine_run(&req, &opts, res, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "run: %s", err.msg);
    }
}

/* ---- tests ---- */

SL_TEST(engine_retry_counts_attempts)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: r\nsteps:\n"
                               "  - name: s\n"
                               "    source: {type: gen, n: 25, fail_opens: 2}\n"
                               "    sink: {type: count}\n"
                               "    batch_size: 10\n"
                               "    retry: {max_attempts: 3, interval: 1ms}\n");
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_OK);
    CHECK_INT(res.steps[0].status, SL_STATUS_OK);
    CHECK_INT(res.steps[0].attempts, 3);
    CHECK_INT(opens, 3);
    CHECK_INT(written, 25);
    CHECK_CONTAINS(res.steps[0].output_json, "\"records_in\":25,\"records_out\":25");
    sl_run_result_free(&res);

    /* fewer attempts than failures: failed, transient, and no later step */
    p = load(a, "name: r2\nsteps:\n"
                "  - name: s\n"
                "    source: {type: gen, fail_opens: 5}\n"
                "    sink: {type: count}\n"
                "    retry: {max_attempts: 2, interval: 1ms}\n"
                "  - name: t\n"
                "    source: {type: gen}\n"
                "    sink: {type: count}\n");
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_FAILED);
    CHECK_INT(res.steps[0].status, SL_STATUS_FAILED);
    CHECK_INT(res.steps[0].error_class, SL_ECLASS_TRANSIENT);
    CHECK_INT(res.steps[0].attempts, 2);
    CHECK_INT(res.steps[1].status, SL_STATUS_SKIPPED);
    CHECK_INT(opens, 2);
    sl_run_result_free(&res);
    sl_arena_destroy(a);
}

SL_TEST(engine_catch_when_and_outputs)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: c\nsteps:\n"
                               "  - name: a\n"
                               "    source: {type: gen, fail_opens: 1}\n"
                               "    sink: {type: count}\n"
                               "    catch: [{on: [data], next: c}, {on: [transient], next: d}]\n"
                               "  - name: b\n    source: {type: gen}\n    sink: {type: count}\n"
                               "  - name: c\n    source: {type: gen}\n    sink: {type: count}\n"
                               "  - name: d\n"
                               "    when: \"steps.a.status == 'failed'\"\n"
                               "    source: {type: gen, n: 4}\n"
                               "    sink: {type: count}\n"
                               "    output: {why: \"{{ error.step }} {{ error.class }}\",\n"
                               "             n: \"{{ steps.d.output.records_out }}\"}\n"
                               "  - name: e\n"
                               "    when: \"steps.d.output.n > 4\"\n"
                               "    source: {type: gen}\n    sink: {type: count}\n");
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_PARTIAL);
    CHECK_INT(res.steps[0].status, SL_STATUS_FAILED);
    CHECK_INT(res.steps[1].status, SL_STATUS_SKIPPED);
    CHECK_INT(res.steps[2].status, SL_STATUS_SKIPPED);
    CHECK_INT(res.steps[3].status, SL_STATUS_OK);
    CHECK_INT(res.steps[4].status, SL_STATUS_SKIPPED);
    CHECK_CONTAINS(res.steps[3].output_json, "\"why\":\"a transient\",\"n\":4");
    CHECK_INT(written, 4);
    sl_run_result_free(&res);
    sl_arena_destroy(a);
}

SL_TEST(engine_runs_never_change_the_definition)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: d\nparams:\n  n: {type: int, default: 3}\nsteps:\n"
                               "  - name: s\n"
                               "    source: {type: gen, n: 5}\n"
                               "    sink: {type: count}\n"
                               "    output: {n: \"{{ params.n }}\"}\n");
    const char *args[] = {"n=7"};
    sl_run_result_t r1, r2;
    run(p, args, 1, &r1);
    run(p, NULL, 0, &r2);
    CHECK_CONTAINS(r1.steps[0].output_json, "\"n\":7");
    CHECK_CONTAINS(r2.steps[0].output_json, "\"n\":3");
    CHECK_INT(p->params[0].default_value.u.i, 3);
    CHECK(strcmp(r1.run_id, r2.run_id) != 0);
    sl_run_result_free(&r1);
    sl_run_result_free(&r2);
    /* a param that does not fit is refused before anything is recorded */
    const char *bad[] = {"n=x"};
    char state[600];
    snprintf(state, sizeof state, "%s/state.db", sl_test_tmpdir());
    sl_engine_opts_t opts = {.state_url = state, .threads = 1};
    sl_run_request_t req = {.pipeline = p, .param_args = bad, .nparam_args = 1};
    sl_err_t err;
    CHECK_INT(sl_engine_run(&req, &opts, &r1, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "param 'n': expected an integer, got 'x'");
    sl_arena_destroy(a);
}

SL_TEST(engine_two_stage_flow)
{
    /* the source on a producer thread, the sink on the step's: run under
     * ThreadSanitizer by make test */
    threads = 2;
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: t\nsteps:\n"
                               "  - name: s\n"
                               "    source: {type: gen, n: 5000}\n"
                               "    sink: {type: count}\n"
                               "    batch_size: 100\n");
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_OK);
    CHECK_INT(written, 5000);
    CHECK_INT(res.steps[0].records_in, 5000);
    CHECK_INT(res.steps[0].records_out, 5000);
    sl_run_result_free(&res);
    sl_arena_destroy(a);
    threads = 1;
}

/* 40 items, 4 workers: every item's flow runs once, on the workers'
 * threads (ThreadSanitizer runs this in make test). */
SL_TEST(engine_map_runs_every_item_once)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_buf_t y = SL_BUF_INIT;
    sl_buf_append_c(&y, "name: m\nsteps:\n  - name: per\n    map:\n      items: [");
    for (int i = 0; i < 40; i++) {
        sl_buf_printf(&y, "%s%d", i ? ", " : "", i);
    }
    sl_buf_append_c(&y, "]\n      max_concurrency: 4\n      steps:\n"
                        "        - name: s\n"
                        "          source: {type: gen, n: 25}\n"
                        "          sink: {type: count}\n"
                        "          batch_size: 10\n"
                        "  - name: after\n"
                        "    when: \"steps.per.output.ok == 40\"\n"
                        "    source: {type: gen, n: 1}\n"
                        "    sink: {type: count}\n");
    sl_pipeline_t *p = load(a, y.data);
    sl_buf_free(&y);
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_OK);
    CHECK_INT(written, 40 * 25 + 1);
    CHECK_INT(opens, 41);
    CHECK_INT(res.steps[0].records_in, 40 * 25);
    CHECK_INT(res.steps[1].status, SL_STATUS_OK);
    CHECK_CONTAINS(res.steps[0].output_json, "\"total\":40,\"ok\":40,\"partial\":0,\"failed\":0");
    sl_run_result_free(&res);
    sl_arena_destroy(a);
}

/* Failed items within the tolerance end the map partial; beyond it the
 * map fails with class tolerance_exceeded and starts no more items. */
SL_TEST(engine_map_tolerance)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: m\nsteps:\n  - name: per\n    map:\n"
                               "      items: [a, b, c, d, e, f, g, h]\n"
                               "      max_concurrency: 1\n"
                               "      tolerated_failure_count: 2\n"
                               "      steps:\n"
                               "        - name: s\n"
                               "          source: {type: gen, n: 3, fail_opens: 2}\n"
                               "          sink: {type: count}\n");
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_PARTIAL);
    CHECK_INT(res.steps[0].status, SL_STATUS_PARTIAL);
    CHECK_INT(written, 6 * 3);
    sl_run_result_free(&res);
    /* one more failure than tolerated: items run one at a time, in order,
     * so the third failure is the third item, and none starts after it */
    p = load(a, "name: m2\nsteps:\n  - name: per\n    map:\n"
                "      items: [a, b, c, d, e, f, g, h]\n"
                "      max_concurrency: 1\n"
                "      tolerated_failure_count: 2\n"
                "      steps:\n"
                "        - name: s\n"
                "          source: {type: gen, n: 3, fail_opens: 3}\n"
                "          sink: {type: count}\n");
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_FAILED);
    CHECK_INT(res.steps[0].error_class, SL_ECLASS_TOLERANCE_EXCEEDED);
    CHECK_INT(opens, 3);
    CHECK_INT(written, 0);
    CHECK_CONTAINS(res.steps[0].output_json, "\"failed\":3");
    CHECK_CONTAINS(res.steps[0].output_json, "\"not_run\":5");
    sl_run_result_free(&res);
    sl_arena_destroy(a);
}

/* A parallel step runs each sub-step once, side by side; a branch that
 * fails with on_failure: continue leaves the step partial, and the others
 * run. Their outputs are the step's output, by name. */
SL_TEST(engine_parallel_runs_each_branch_once)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = load(a, "name: par\nsteps:\n  - name: all\n    parallel:\n"
                               "      steps:\n"
                               "        - {name: a, source: {type: gen, n: 10}, sink: {type: count}}\n"
                               "        - {name: b, source: {type: gen, n: 20}, sink: {type: count}}\n"
                               "        - {name: c, source: {type: gen, n: 30}, sink: {type: count}}\n"
                               "  - name: after\n"
                               "    when: \"steps.all.output.steps.b.output.records_out == 20\"\n"
                               "    source: {type: gen, n: 1}\n"
                               "    sink: {type: count}\n");
    sl_run_result_t res;
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_OK);
    CHECK_INT(written, 61);
    CHECK_INT(opens, 4);
    CHECK_INT(res.steps[1].status, SL_STATUS_OK);
    CHECK_CONTAINS(res.steps[0].output_json, "\"total\":3,\"ok\":3");
    CHECK_CONTAINS(res.steps[0].output_json, "\"c\":{\"status\":\"ok\",\"output\":{\"records_in\":30");
    sl_run_result_free(&res);
    /* the first open of gen fails: one branch fails, on_failure continues */
    p = load(a, "name: par2\nsteps:\n  - name: all\n    parallel:\n"
                "      max_concurrency: 1\n"
                "      steps:\n"
                "        - {name: a, source: {type: gen, n: 10, fail_opens: 1}, sink: {type: count},"
                " on_failure: continue}\n"
                "        - {name: b, source: {type: gen, n: 20}, sink: {type: count}}\n");
    run(p, NULL, 0, &res);
    CHECK_INT(res.exit_code, SL_EXIT_PARTIAL);
    CHECK_INT(res.steps[0].status, SL_STATUS_PARTIAL);
    CHECK_INT(written, 20);
    CHECK_CONTAINS(res.steps[0].output_json, "\"a\":{\"status\":\"failed\"");
    sl_run_result_free(&res);
    sl_arena_destroy(a);
}
