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

/* Params as JSON for the run record; the values of params whose default
 * came from a secret are masked, whoever gave them. */
static void params_json(const sl_pipeline_t *p, const sl_value_t *params, sl_buf_t *out)
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
        const sl_value_t *v = sl_object_get_c(params, prm->name);
        if (def && def->secret) {
            sl_buf_append_c(out, "\"***\"");
        } else if (v) {
            sl_json_write(out, v, 0);
        } else {
            sl_buf_append_c(out, "null");
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

struct sl_engine_run {
    const sl_pipeline_t *p;
    sl_engine_opts_t opts;
    sl_state_t *st;
    sl_arena_t *arena; /* params, run object: lives as long as the run */
    sl_value_t params, run;
    sl_run_result_t res;
    int threads;
    bool failed, partial;
};

static void run_free(sl_engine_run_t *r)
{
    if (r->st) {
        sl_state_close(r->st);
    }
    sl_arena_destroy(r->arena);
    free(r->res.steps);
    free(r);
}

int sl_run_begin(const sl_run_request_t *req, const sl_engine_opts_t *opts,
                 sl_engine_run_t **out, sl_err_t *err)
{
    const sl_pipeline_t *p = req->pipeline;
    *out = NULL;
    sl_engine_run_t *r = calloc(1, sizeof *r);
    if (!r || !(r->arena = sl_arena_create(64 * 1024, 0)) ||
        !(r->res.steps = calloc(p->nsteps ? p->nsteps : 1, sizeof *r->res.steps))) {
        if (r) {
            run_free(r);
        }
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    r->p = p;
    r->opts = *opts;
    r->res.nsteps = p->nsteps;
    int rc = sl_params_resolve(r->arena, p, req->param_args, req->nparam_args, &r->params, err);
    if (rc) {
        run_free(r);
        return rc;
    }
    const char *url = opts->state_url ? opts->state_url : SL_DEFAULT_STATE;
    rc = sl_state_open(url, &r->st, err);
    if (rc) {
        run_free(r);
        return rc;
    }
    int interrupted = 0;
    rc = sl_state_lock_pipeline(r->st, p->name, sl_now_us(), &interrupted);
    if (rc) {
        sl_err_set(err, rc, "%s", sl_state_errmsg(r->st));
        run_free(r);
        return rc;
    }
    if (interrupted > 0) {
        sl_warn("pipeline %s: %d earlier run(s) stopped without finishing (killed or crashed); "
                "marked interrupted, this run resumes from their checkpoints",
                p->name, interrupted);
    }
    sl_uuid4(r->res.run_id);
    r->res.started_us = sl_now_us();
    rc = sl_run_value(r->arena, r->res.run_id, r->res.started_us, p->name, &r->run);
    sl_buf_t pj = SL_BUF_INIT;
    params_json(p, &r->params, &pj);
    sl_run_t rec = {.id = r->res.run_id,
                    .pipeline = p->name,
                    .params_json = pj.data ? pj.data : "{}",
                    .started_us = r->res.started_us,
                    .status = SL_STATUS_RUNNING};
    if (rc) {
        sl_err_set(err, rc, "out of memory");
    } else if ((rc = sl_state_run_begin(r->st, &rec)) != 0) {
        sl_err_set(err, rc, "state store: %s", sl_state_errmsg(r->st));
    }
    sl_buf_free(&pj);
    if (rc) {
        run_free(r);
        return rc;
    }
    r->threads = opts->threads;
    if (r->threads <= 0) {
        r->threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    }
    sl_info("Starting: pipeline %s (run %s)", p->name, r->res.run_id);
    *out = r;
    return 0;
}

/* Runs step i of the run and records it. */
static void run_step(sl_engine_run_t *r, size_t i)
{
    const sl_pipeline_t *p = r->p;
    const sl_step_cfg_t *step = &p->steps[i];
    sl_step_result_t *sr = &r->res.steps[i];
    sl_step_ctx_t ctx;
    sl_step_ctx_init(&ctx, p, step, &r->params, &r->run, r->res.run_id);
    ctx.run_started_us = r->res.started_us;
    ctx.state = r->st;
    ctx.full_refresh = r->opts.full_refresh;
    ctx.threads = r->threads;
    ctx.progress = r->opts.progress;
    ctx.scope = (sl_log_scope_t){.run = r->res.run_id, .step = step->name};
    const sl_log_scope_t *outer = sl_log_scope_set(&ctx.scope);
    const char *rej = step->rejects && ctx.arena
                          ? sl_resolve_path(ctx.arena, p->base_dir, step->rejects)
                          : NULL;
    ctx.rejects = sl_rejects_new(rej, step->max_rejects, step->name);
    sr->started_us = sl_now_us();
    sl_info("Starting: %s", step->name);
    int rc = ctx.arena && ctx.rejects ? step_full_refresh(&ctx, &r->params, &r->run) : SL_ENOMEM;
    if (rc == 0) {
        rc = step->kind->run(&ctx, sr);
    }
    sr->ended_us = sl_now_us();
    sr->rejected = sl_rejects_count(ctx.rejects);
    if (rc) {
        /* on_failure: continue keeps going; the run ends partial */
        r->failed = r->failed || !step->continue_on_failure;
        r->partial = r->partial || step->continue_on_failure;
        sr->status = SL_STATUS_FAILED;
        snprintf(sr->error, sizeof sr->error, "%s",
                 ctx.err.msg[0] ? ctx.err.msg : sl_strerror(rc));
        sl_log_redact(sr->error); /* kept in the run history and printed */
        sl_error("Failed: %s: %s", step->name, sr->error);
    } else {
        sr->status = sr->rejected ? SL_STATUS_PARTIAL : SL_STATUS_OK;
        r->partial = r->partial || sr->rejected > 0;
        if (step->kind == &sl_step_flow) {
            sl_info("Processing %s: Extracted %lld records", step->name,
                    (long long)sr->records_in);
        }
        sl_info("Completed: %s", step->name);
    }
    sl_step_run_t srec = {.run_id = r->res.run_id,
                          .step = step->name,
                          .status = sr->status,
                          .records_in = sr->records_in,
                          .records_out = sr->records_out,
                          .rejected = sr->rejected,
                          .bytes_in = sr->bytes_in,
                          .started_us = sr->started_us,
                          .ended_us = sr->ended_us,
                          .error = rc ? sr->error : NULL};
    if (sl_state_step_put(r->st, &srec) != 0) {
        sl_warn("state store: cannot record step %s: %s", step->name, sl_state_errmsg(r->st));
    }
    sl_log_scope_set(outer);
    sl_rejects_free(ctx.rejects);
    sl_arena_destroy(ctx.arena);
}

void sl_run_steps(sl_engine_run_t *r)
{
    for (size_t i = 0; i < r->p->nsteps; i++) {
        r->res.steps[i].name = r->p->steps[i].name;
        if (r->failed) {
            r->res.steps[i].status = SL_STATUS_SKIPPED;
            continue;
        }
        run_step(r, i);
    }
}

void sl_run_end(sl_engine_run_t *r, sl_run_result_t *res)
{
    sl_err_t xerr = {0};
    if (sl_export_checkpoints(r->p, r->st, &r->res, &r->params, &r->run, &xerr) != 0) {
        sl_log_redact(xerr.msg);
        sl_error("export_checkpoints: %s", xerr.msg);
        r->partial = true; /* the data landed; the copy of the checkpoints did not */
    }
    r->res.ended_us = sl_now_us();
    r->res.status = r->failed    ? SL_STATUS_FAILED
                    : r->partial ? SL_STATUS_PARTIAL
                                 : SL_STATUS_OK;
    r->res.exit_code = r->failed    ? SL_EXIT_FAILED
                       : r->partial ? SL_EXIT_PARTIAL
                                    : SL_EXIT_OK;
    const char *first_error = NULL;
    for (size_t i = 0; i < r->res.nsteps; i++) {
        if (r->res.steps[i].error[0]) {
            first_error = r->res.steps[i].error;
            break;
        }
    }
    if (sl_state_run_end(r->st, r->res.run_id, sl_status_name(r->res.status), r->res.ended_us,
                         first_error) != 0) {
        sl_warn("state store: cannot record the end of run %s: %s", r->res.run_id,
                sl_state_errmsg(r->st));
    }
    *res = r->res;
    r->res.steps = NULL; /* now the caller's */
    run_free(r);
}

int sl_engine_run(const sl_run_request_t *req, const sl_engine_opts_t *opts, sl_run_result_t *res,
                  sl_err_t *err)
{
    memset(res, 0, sizeof *res);
    sl_engine_run_t *r;
    int rc = sl_run_begin(req, opts, &r, err);
    if (rc) {
        return rc;
    }
    sl_run_steps(r);
    sl_run_end(r, res);
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
                  sl_status_name(res->status), res->exit_code,
                  (double)(res->ended_us - res->started_us) / 1e6);
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *st = &res->steps[i];
        sl_buf_append_c(&b, i ? ",{\"step\":" : "{\"step\":");
        sl_json_write_string(&b, st->name, strlen(st->name));
        sl_buf_printf(&b,
                      ",\"status\":\"%s\",\"records_in\":%lld,\"records_out\":%lld,"
                      "\"rejected\":%lld,\"bytes_in\":%lld,\"seconds\":%.3f",
                      sl_status_name(st->status), (long long)st->records_in,
                      (long long)st->records_out,
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
    fprintf(f, "run %s (%s): %s in %.2fs\n", res->run_id, p->name, sl_status_name(res->status),
            secs);
    fprintf(f, "  %-20s %-8s %12s %12s %10s %10s %9s\n", "step", "status", "in", "out",
            "rejected", "bytes", "seconds");
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *s = &res->steps[i];
        char bytes[32];
        human_bytes(s->bytes_in, bytes, sizeof bytes);
        double ss = s->ended_us > s->started_us ? (double)(s->ended_us - s->started_us) / 1e6 : 0;
        fprintf(f, "  %-20s %-8s %12lld %12lld %10lld %10s %9.2f\n", s->name,
                sl_status_name(s->status),
                (long long)s->records_in, (long long)s->records_out, (long long)s->rejected,
                bytes, ss);
        if (s->error[0]) {
            fprintf(f, "    error: %s\n", s->error);
        }
    }
}
