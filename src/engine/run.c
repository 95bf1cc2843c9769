/* Running a pipeline: the run record, each step in order, the summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/expr.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

#define SL_DEFAULT_STATE ".sluice/state.db"

/* Params as JSON for the run record; values that came from secrets are
 * masked. */
static void params_json(const sl_pipeline_t *p, sl_buf_t *out)
{
    sl_buf_putc(out, '{');
    for (size_t i = 0; i < p->nparams; i++) {
        const sl_param_t *prm = &p->params[i];
        if (i) {
            sl_buf_putc(out, ',');
        }
        sl_json_write_string(out, prm->name, strlen(prm->name));
        sl_buf_putc(out, ':');
        const sl_node_t *def = prm->node ? sl_node_get(prm->node, "default") : NULL;
        if (def && def->secret) {
            sl_buf_append_c(out, "\"***\"");
        } else {
            sl_json_write(out, &prm->value, 0);
        }
    }
    sl_buf_putc(out, '}');
}

void sl_step_ctx_init(sl_step_ctx_t *ctx, const sl_pipeline_t *p, const sl_step_cfg_t *step,
                      const sl_value_t *params, const sl_value_t *run, const char *run_id)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->pipeline = p;
    ctx->step = step;
    ctx->base_dir = p->base_dir;
    ctx->arena = sl_arena_create(64 * 1024, 0);
    ctx->params = params;
    ctx->run = run;
    ctx->run_id = run_id;
}

/* Sets ctx->full_refresh from the step's full_refresh (a bool, or an
 * expression over params and run) on top of --full-refresh. */
static int step_full_refresh(sl_step_ctx_t *ctx, const sl_value_t *params, const sl_value_t *run)
{
    const sl_node_t *n = ctx->step->full_refresh;
    if (!n || ctx->full_refresh) {
        return 0;
    }
    if (!n->is_null && (strcmp(n->text, "true") == 0 || strcmp(n->text, "false") == 0)) {
        ctx->full_refresh = n->text[0] == 't';
        return 0;
    }
    sl_tmpl_ctx_t tc = {.record = NULL, .params = params, .run = run, .item = NULL};
    sl_expr_t *e = NULL;
    sl_err_t err;
    bool yes = false;
    int rc = n->is_null ? SL_ECONFIG
                        : sl_expr_compile_templated(ctx->arena, n->text, n->len, &tc, &e, &err);
    if (rc == 0) {
        rc = sl_expr_eval(e, &tc, &yes, &err);
    }
    if (rc) {
        return sl_node_error(&ctx->err, n, "step '%s': full_refresh: %s", ctx->step->name,
                             n->is_null ? "expected true, false or an expression" : err.msg);
    }
    ctx->full_refresh = yes;
    if (yes) {
        sl_info("%s: full refresh (%s)", ctx->step->name, n->text);
    }
    return 0;
}

int sl_run_value(sl_arena_t *a, const char *id, int64_t started, const char *pipeline,
                 sl_value_t *out)
{
    int rc = sl_object_new(a, out, 3);
    if (rc) {
        return rc;
    }
    rc = sl_object_set(a, out, "id", 2, sl_value_str(id, strlen(id)));
    if (!rc) {
        rc = sl_object_set(a, out, "started_at", 10, sl_value_timestamp(started));
    }
    if (!rc) {
        rc = sl_object_set(a, out, "pipeline", 8, sl_value_str(pipeline, strlen(pipeline)));
    }
    return rc;
}

int sl_engine_run(const sl_pipeline_t *p, const sl_engine_opts_t *opts, sl_run_result_t *res,
                  sl_err_t *err)
{
    memset(res, 0, sizeof *res);
    sl_state_t *st = NULL;
    const char *url = opts->state_url ? opts->state_url : SL_DEFAULT_STATE;
    int rc = sl_state_open(url, &st, err);
    if (rc) {
        return rc;
    }
    int interrupted = 0;
    rc = sl_state_lock_pipeline(st, p->name, sl_now_us(), &interrupted);
    if (rc) {
        sl_err_set(err, rc, "%s", sl_state_errmsg(st));
        sl_state_close(st);
        return rc;
    }
    if (interrupted > 0) {
        sl_warn("pipeline %s: %d earlier run(s) stopped without finishing (killed or crashed); "
                "marked interrupted, this run resumes from their checkpoints",
                p->name, interrupted);
    }
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    res->steps = calloc(p->nsteps ? p->nsteps : 1, sizeof *res->steps);
    if (!a || !res->steps) {
        sl_state_close(st);
        sl_arena_destroy(a);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    res->nsteps = p->nsteps;
    sl_uuid4(res->run_id);
    res->started_us = sl_now_us();

    sl_value_t params, run;
    sl_buf_t pj = SL_BUF_INIT;
    params_json(p, &pj);
    rc = sl_pipeline_params_value(a, p, &params);
    if (!rc) {
        rc = sl_run_value(a, res->run_id, res->started_us, p->name, &run);
    }
    sl_run_t rec = {.id = res->run_id,
                    .pipeline = p->name,
                    .params_json = pj.data ? pj.data : "{}",
                    .started_us = res->started_us,
                    .status = "running"};
    if (!rc) {
        rc = sl_state_run_begin(st, &rec);
        if (rc) {
            sl_err_set(err, rc, "state store: %s", sl_state_errmsg(st));
        }
    }
    sl_buf_free(&pj);
    if (rc) {
        sl_state_close(st);
        sl_arena_destroy(a);
        free(res->steps);
        res->steps = NULL;
        return rc;
    }
    sl_info("Starting: pipeline %s (run %s)", p->name, res->run_id);

    int threads = opts->threads;
    if (threads <= 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    }
    bool failed = false, partial = false;
    for (size_t i = 0; i < p->nsteps; i++) {
        const sl_step_cfg_t *step = &p->steps[i];
        sl_step_result_t *sr = &res->steps[i];
        sr->name = step->name;
        if (failed) {
            sr->status = "skipped";
            continue;
        }
        sl_step_ctx_t ctx;
        sl_step_ctx_init(&ctx, p, step, &params, &run, res->run_id);
        ctx.run_started_us = res->started_us;
        ctx.state = st;
        ctx.full_refresh = opts->full_refresh;
        const char *rej = step->rejects ? sl_resolve_path(ctx.arena, p->base_dir, step->rejects)
                                        : NULL;
        ctx.rejects = sl_rejects_new(rej, step->max_rejects, step->name);
        sr->started_us = sl_now_us();
        sl_info("Starting: %s", step->name);
        rc = ctx.arena && ctx.rejects ? step_full_refresh(&ctx, &params, &run) : SL_ENOMEM;
        if (rc == 0) {
            rc = step->sql ? sl_sql_step_run(&ctx, sr)
                           : sl_flow_run(&ctx, sr, threads, opts->progress);
        }
        sr->ended_us = sl_now_us();
        sr->rejected = sl_rejects_count(ctx.rejects);
        if (rc) {
            /* on_failure: continue keeps going; the run ends partial */
            failed = !step->continue_on_failure;
            partial = partial || step->continue_on_failure;
            sr->status = "failed";
            snprintf(sr->error, sizeof sr->error, "%s",
                     ctx.err.msg[0] ? ctx.err.msg : sl_strerror(rc));
            sl_log_redact(sr->error); /* kept in the run history and printed */
            sl_error("Failed: %s: %s", step->name, sr->error);
        } else {
            sr->status = sr->rejected ? "partial" : "ok";
            partial = partial || sr->rejected > 0;
            if (!step->sql) {
                sl_info("Processing %s: Extracted %lld records", step->name,
                        (long long)sr->records_in);
            }
            sl_info("Completed: %s", step->name);
        }
        sl_step_run_t srec = {.run_id = res->run_id,
                              .step = step->name,
                              .status = sr->status,
                              .records_in = sr->records_in,
                              .records_out = sr->records_out,
                              .rejected = sr->rejected,
                              .bytes_in = sr->bytes_in,
                              .started_us = sr->started_us,
                              .ended_us = sr->ended_us,
                              .error = rc ? sr->error : NULL};
        if (sl_state_step_put(st, &srec) != 0) {
            sl_warn("state store: cannot record step %s: %s", step->name, sl_state_errmsg(st));
        }
        sl_rejects_free(ctx.rejects);
        sl_arena_destroy(ctx.arena);
    }
    sl_err_t xerr = {{0}};
    if (sl_export_checkpoints(p, st, res, &params, &run, &xerr) != 0) {
        sl_log_redact(xerr.msg);
        sl_error("export_checkpoints: %s", xerr.msg);
        partial = true; /* the data landed; the copy of the checkpoints did not */
    }
    res->ended_us = sl_now_us();
    res->status = failed ? "failed" : partial ? "partial" : "ok";
    res->exit_code = failed ? SL_EXIT_FAILED : partial ? SL_EXIT_PARTIAL : SL_EXIT_OK;
    const char *first_error = NULL;
    for (size_t i = 0; i < res->nsteps; i++) {
        if (res->steps[i].error[0]) {
            first_error = res->steps[i].error;
            break;
        }
    }
    if (sl_state_run_end(st, res->run_id, res->status, res->ended_us, first_error) != 0) {
        sl_warn("state store: cannot record the end of run %s: %s", res->run_id,
                sl_state_errmsg(st));
    }
    sl_state_close(st);
    sl_arena_destroy(a);
    return 0;
}

void sl_run_result_free(sl_run_result_t *res)
{
    free(res->steps);
    res->steps = NULL;
}

void sl_run_result_json(const sl_run_result_t *res, const sl_pipeline_t *p, void *fp)
{
    sl_buf_t b = SL_BUF_INIT;
    char ts[40];
    sl_timestamp_format(res->ended_us, ts);
    sl_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"run summary\",\"run\":\"%s\","
                      "\"pipeline\":",
                  ts, res->run_id);
    sl_json_write_string(&b, p->name, strlen(p->name));
    sl_buf_printf(&b, ",\"status\":\"%s\",\"exit_code\":%d,\"seconds\":%.3f,\"steps\":[",
                  res->status, res->exit_code, (double)(res->ended_us - res->started_us) / 1e6);
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *st = &res->steps[i];
        sl_buf_append_c(&b, i ? ",{\"step\":" : "{\"step\":");
        sl_json_write_string(&b, st->name, strlen(st->name));
        sl_buf_printf(&b,
                      ",\"status\":\"%s\",\"records_in\":%lld,\"records_out\":%lld,"
                      "\"rejected\":%lld,\"bytes_in\":%lld,\"seconds\":%.3f",
                      st->status, (long long)st->records_in, (long long)st->records_out,
                      (long long)st->rejected, (long long)st->bytes_in,
                      st->ended_us > st->started_us
                          ? (double)(st->ended_us - st->started_us) / 1e6
                          : 0.0);
        if (st->error[0]) {
            sl_buf_append_c(&b, ",\"error\":");
            sl_json_write_string(&b, st->error, strlen(st->error));
        }
        sl_buf_putc(&b, '}');
    }
    sl_buf_append_c(&b, "]}\n");
    if (b.data) {
        fputs(b.data, (FILE *)fp);
    }
    sl_buf_free(&b);
}

static void human_bytes(int64_t n, char *out, size_t cap)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    unsigned u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void sl_run_result_print(const sl_run_result_t *res, const sl_pipeline_t *p, void *fp)
{
    FILE *f = fp;
    double secs = (double)(res->ended_us - res->started_us) / 1e6;
    fprintf(f, "run %s (%s): %s in %.2fs\n", res->run_id, p->name, res->status, secs);
    fprintf(f, "  %-20s %-8s %12s %12s %10s %10s %9s\n", "step", "status", "in", "out",
            "rejected", "bytes", "seconds");
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *s = &res->steps[i];
        char bytes[32];
        human_bytes(s->bytes_in, bytes, sizeof bytes);
        double ss = s->ended_us > s->started_us ? (double)(s->ended_us - s->started_us) / 1e6 : 0;
        fprintf(f, "  %-20s %-8s %12lld %12lld %10lld %10s %9.2f\n", s->name, s->status,
                (long long)s->records_in, (long long)s->records_out, (long long)s->rejected,
                bytes, ss);
        if (s->error[0]) {
            fprintf(f, "    error: %s\n", s->error);
        }
    }
}
