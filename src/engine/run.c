/* Running a pipeline: the run record, each step in order, the summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/expr.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/cancel.h"
#include "sluice/fault.h"
#include "sluice/log.h"
#include "sluice/retry.h"
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

int sl_run_params_args(sl_arena_t *a, const char *params_json, const char ***args, size_t *n)
{
    sl_value_t v;
    sl_json_error_t je;
    char *text = sl_arena_strdup(a, params_json ? params_json : "{}");
    *n = 0;
    if (!text || sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0 ||
        v.type != SL_T_OBJECT) {
        return text ? SL_EPARSE : SL_ENOMEM;
    }
    *args = sl_arena_calloc(a, (v.len + 1) * sizeof **args);
    if (!*args) {
        return SL_ENOMEM;
    }
    for (uint32_t i = 0; i < v.len; i++) {
        const sl_member_t *m = &v.u.members[i];
        if (m->val.type == SL_T_NULL ||
            (m->val.type == SL_T_STRING && m->val.len == 3 && memcmp(m->val.u.s, "***", 3) == 0)) {
            continue;
        }
        sl_buf_t b = SL_BUF_INIT;
        sl_buf_printf(&b, "%.*s=", (int)m->klen, m->key);
        sl_value_to_text(&m->val, &b);
        (*args)[*n] = b.data ? sl_arena_strdup(a, b.data) : NULL;
        sl_buf_free(&b);
        if (!(*args)[(*n)++]) {
            return SL_ENOMEM;
        }
    }
    return 0;
}

int sl_run_enqueue(sl_state_t *st, const sl_pipeline_t *p, const char *const *args, size_t nargs,
                   const char *trigger, const char *parent_run_id, char run_id[37],
                   sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t params;
    int rc = a ? sl_params_resolve(a, p, args, nargs, &params, err)
               : sl_err_set(err, SL_ENOMEM, "out of memory");
    sl_buf_t pj = SL_BUF_INIT;
    char *definition = NULL;
    if (rc == 0) {
        params_json(p, &params, &pj);
        definition = p->file ? realpath(p->file, NULL) : NULL;
        sl_uuid4(run_id);
        sl_run_t rec = {.id = run_id,
                        .pipeline = p->name,
                        .definition = definition,
                        .params_json = pj.data ? pj.data : "{}",
                        .started_us = sl_now_us(),
                        .status = SL_STATUS_PENDING,
                        .trigger = trigger,
                        .parent_run_id = parent_run_id};
        rc = sl_state_run_begin(st, &rec);
        if (rc) {
            sl_err_set(err, rc, "state store: %s", sl_state_errmsg(st));
        }
    }
    free(definition);
    sl_buf_free(&pj);
    sl_arena_destroy(a);
    return rc;
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
    ctx->unit = step ? step->name : NULL;
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
    sl_arena_t *arena; /* params, run object, step outputs: lives as long as the run */
    sl_value_t params, run;
    sl_cancel_t cancel; /* the run's: its timeout, a cancel */
    sl_frame_t top;     /* the pipeline's steps */
    sl_run_result_t res;
    /* a resume: the run as its history has it */
    sl_prior_step_t *prior;
    size_t nprior, capprior;
    const char *prior_pipeline;
    sl_status_t prior_status;
    bool prior_found;
    FILE *log_copy; /* export_logs: the run's log lines, captured */
};

static void run_free(sl_engine_run_t *r)
{
    if (r->log_copy) {
        sl_log_capture_stop();
        fclose(r->log_copy);
    }
    if (r->st) {
        sl_state_close(r->st);
    }
    for (size_t i = 0; i < r->nprior; i++) {
        free(r->prior[i].name);
        free(r->prior[i].output_json);
    }
    free(r->prior);
    sl_arena_destroy(r->arena);
    sl_run_result_free(&r->res);
    free(r);
}

/* Evaluates a step's `when` against params, run and the steps so far:
 * *yes false skips it. Errors go to ctx->err. */
static int step_when(sl_step_ctx_t *ctx, bool *yes)
{
    const sl_node_t *n = ctx->step->when;
    *yes = true;
    if (!n) {
        return 0;
    }
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    sl_err_t err;
    if (sl_expr_eval(ctx->step->when_expr, &tc, yes, &err) != 0) {
        return sl_node_error(&ctx->err, n, "step '%s': when: %s", ctx->step->name, err.msg);
    }
    return 0;
}

static int prior_run(void *ud, const sl_run_t *run)
{
    sl_engine_run_t *r = ud;
    snprintf(r->res.run_id, sizeof r->res.run_id, "%s", run->id);
    r->res.started_us = run->started_us;
    r->prior_pipeline = sl_arena_strdup(r->arena, run->pipeline);
    r->prior_status = run->status;
    r->prior_found = true;
    return r->prior_pipeline ? 0 : SL_ENOMEM;
}

/* Keeps the rows of the pipeline's own steps (a map's items are items,
 * its steps' paths hold a '/'). */
static int prior_step(void *ud, const sl_step_run_t *s)
{
    sl_engine_run_t *r = ud;
    if (strchr(s->step, '/')) {
        return 0;
    }
    if (r->nprior == r->capprior) {
        size_t cap = r->capprior ? r->capprior * 2 : 16;
        sl_prior_step_t *n = realloc(r->prior, cap * sizeof *n);
        if (!n) {
            return SL_ENOMEM;
        }
        r->prior = n;
        r->capprior = cap;
    }
    sl_prior_step_t *ps = &r->prior[r->nprior];
    *ps = (sl_prior_step_t){.name = strdup(s->step),
                            .status = s->status,
                            .attempts = s->attempts,
                            .records_in = s->records_in,
                            .records_out = s->records_out,
                            .rejected = s->rejected,
                            .bytes_in = s->bytes_in,
                            .started_us = s->started_us,
                            .ended_us = s->ended_us,
                            .output_json = s->output_json ? strdup(s->output_json) : NULL};
    if (!ps->name || (s->output_json && !ps->output_json)) {
        free(ps->name);
        free(ps->output_json);
        return SL_ENOMEM;
    }
    r->nprior++;
    return 0;
}

/* For a resume: reads the run and its steps from the history and marks it
 * restarted (redrive count + 1). The pipeline's lock is held, so a run
 * still marked running was interrupted and is marked so by now. */
static int load_prior(sl_engine_run_t *r, const char *id, sl_err_t *err)
{
    int rc = sl_state_run_show(r->st, id, prior_run, prior_step, r);
    if (rc) {
        return sl_err_set(err, rc, "%s", rc == SL_ENOMEM ? "out of memory"
                                                         : sl_state_errmsg(r->st));
    }
    if (!r->prior_found) {
        return sl_err_set(err, SL_ENOTFOUND, "no run %s", id);
    }
    if (strcmp(r->prior_pipeline, r->p->name) != 0) {
        return sl_err_set(err, SL_EINVAL, "run %s is a run of pipeline '%s', not '%s'",
                          r->res.run_id, r->prior_pipeline, r->p->name);
    }
    if (r->prior_status == SL_STATUS_OK) {
        return sl_err_set(err, SL_EINVAL, "run %s succeeded: there is nothing to resume",
                          r->res.run_id);
    }
    rc = sl_state_run_redrive(r->st, r->res.run_id);
    if (rc) {
        return sl_err_set(err, rc, "cannot resume run %s: %s", r->res.run_id,
                          sl_state_errmsg(r->st));
    }
    return 0;
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
    if (req->resume_run_id) {
        rc = load_prior(r, req->resume_run_id, err);
        if (rc) {
            run_free(r);
            return rc;
        }
    } else {
        if (req->run_id && strlen(req->run_id) == 36) {
            memcpy(r->res.run_id, req->run_id, 37);
        } else {
            sl_uuid4(r->res.run_id);
        }
        r->res.started_us = sl_now_us();
    }
    rc = sl_run_value(r->arena, r->res.run_id, r->res.started_us, p->name, &r->run);
    sl_buf_t pj = SL_BUF_INIT;
    params_json(p, &r->params, &pj);
    /* where the definition came from, for `runs resume` */
    char *definition = p->file ? realpath(p->file, NULL) : NULL;
    sl_run_t rec = {.id = r->res.run_id,
                    .definition = definition,
                    .pipeline = p->name,
                    .params_json = pj.data ? pj.data : "{}",
                    .started_us = r->res.started_us,
                    .status = SL_STATUS_RUNNING,
                    .trigger = req->trigger,
                    .parent_run_id = req->parent_run_id};
    if (rc) {
        sl_err_set(err, rc, "out of memory");
    } else if ((rc = sl_state_run_begin(r->st, &rec)) != 0) {
        sl_err_set(err, rc, "state store: %s", sl_state_errmsg(r->st));
    }
    sl_buf_free(&pj);
    free(definition);
    if (rc) {
        run_free(r);
        return rc;
    }
    sl_cancel_init(&r->cancel, opts->cancel);
    if (p->timeout_us) {
        sl_cancel_set_deadline(&r->cancel, sl_mono_us() + p->timeout_us);
    }
    int threads = opts->threads;
    if (threads <= 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    }
    r->top = (sl_frame_t){.p = p,
                          .st = r->st,
                          .params = &r->params,
                          .run = &r->run,
                          .run_id = r->res.run_id,
                          .run_started_us = r->res.started_us,
                          .full_refresh = opts->full_refresh,
                          .progress = opts->progress,
                          .threads = threads,
                          .state_url = url,
                          .run_cancel = &r->cancel,
                          .cancel = &r->cancel,
                          .steps = p->steps,
                          .nsteps = p->nsteps,
                          .res = r->res.steps,
                          .arena = r->arena,
                          .path = "",
                          .unit = "",
                          .record_rows = true,
                          .prior = r->prior,
                          .nprior = r->nprior};
    if (sl_node_get(p->root, "export_logs")) {
        /* a run called by another in this process is in the caller's log */
        r->log_copy = tmpfile();
        if (r->log_copy && sl_log_capture_start(r->log_copy) != 0) {
            fclose(r->log_copy);
            r->log_copy = NULL;
        }
    }
    if (req->resume_run_id) {
        sl_info("Resuming: pipeline %s (run %s)", p->name, r->res.run_id);
    } else {
        sl_info("Starting: pipeline %s (run %s)", p->name, r->res.run_id);
    }
    *out = r;
    return 0;
}

/* Records a finished step: its output where templates see it and in the
 * result, its row in the state store. */
static void record_step(sl_frame_t *f, sl_step_ctx_t *ctx, sl_step_result_t *sr, int rc)
{
    const sl_step_cfg_t *step = ctx->step;
    sl_buf_t out = SL_BUF_INIT;
    if (sl_steps_record(f->arena, &f->steps_value, step->name, sr->status, &ctx->output) != 0 ||
        sl_step_output_json(&ctx->output, &out) != 0) {
        sl_warn("step %s: out of memory recording its output", step->name);
    }
    free(sr->output_json);
    sr->output_json = out.data; /* taken over */
    /* the last step's outcome is kept with the item's own status */
    if (f->progress_key && rc == 0 && step != &f->steps[f->nsteps - 1]) {
        sl_buf_t prog = SL_BUF_INIT;
        sl_frame_steps_json(f, &prog);
        int prc = prog.data ? sl_state_checkpoint_put_fenced(f->st, f->p->name, f->progress_key,
                                                             prog.data, 0, f->fence)
                            : SL_ENOMEM;
        if (prc) {
            sl_warn("step %s: cannot keep the item's progress: %s", step->name,
                    prc == SL_ENOMEM ? "out of memory" : sl_state_errmsg(f->st));
        }
        f->progress_kept = f->progress_kept || prc == 0;
        sl_buf_free(&prog);
    }
    if (!f->record_rows) {
        return;
    }
    sl_step_run_t srec = {.run_id = f->run_id,
                          .step = ctx->scope.step,
                          .status = sr->status,
                          .records_in = sr->records_in,
                          .records_out = sr->records_out,
                          .rejected = sr->rejected,
                          .bytes_in = sr->bytes_in,
                          .started_us = sr->started_us,
                          .ended_us = sr->ended_us,
                          .error = rc ? sr->error : NULL,
                          .attempts = sr->attempts,
                          .output_json = sr->output_json,
                          .error_class = rc ? sl_error_class_name(sr->error_class) : NULL};
    if (sl_state_step_put(f->st, &srec) != 0) {
        sl_warn("state store: cannot record step %s: %s", step->name, sl_state_errmsg(f->st));
    }
    SL_FAULT_POINT("run.after_step_recorded");
}

void sl_frame_steps_json(const sl_frame_t *f, sl_buf_t *out)
{
    sl_buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < f->nsteps; i++) {
        const char *name = f->steps[i].name;
        const sl_value_t *v = sl_object_get_c(&f->steps_value, name);
        if (!v) {
            continue; /* not reached */
        }
        sl_buf_append_c(out, first ? "" : ",");
        sl_json_write_string(out, name, strlen(name));
        sl_buf_putc(out, ':');
        sl_json_write(out, v, 0);
        first = false;
    }
    sl_buf_putc(out, '}');
}

/* The status and message of a failed attempt: a stop asked for by the
 * step's or the run's token (timeout, cancel) wins over how the kind
 * phrased the error it returned while stopping. */
static sl_status_t failed_status(sl_step_ctx_t *ctx, int rc, sl_error_class_t *cls)
{
    int stop = sl_cancel_check(ctx->cancel);
    int code = stop ? stop : rc;
    *cls = sl_error_class_of(code);
    if (code == SL_ETIMEOUT) {
        return SL_STATUS_TIMED_OUT;
    }
    return code == SL_ECANCELLED ? SL_STATUS_CANCELLED : SL_STATUS_FAILED;
}

/* One attempt of a step: the kind's run, then its declared outputs. */
static int attempt(sl_step_ctx_t *ctx, sl_step_result_t *sr)
{
    ctx->err.msg[0] = '\0';
    ctx->err.code = 0;
    ctx->output = (sl_value_t){0};
    int rc = sl_cancel_check(ctx->cancel);
    if (rc) {
        return sl_err_set(&ctx->err, rc, "step '%s': %s before it started", ctx->step->name,
                          sl_strerror(rc));
    }
    rc = ctx->step->kind->run(ctx, sr);
    if (rc == 0) {
        rc = sl_step_output_declared(ctx, ctx->step->output, ctx->step->output_templates);
    }
    return rc;
}

/* The step's attempts: its retry policy, full refresh, then the kind's run
 * as often as the policy allows. Returns 0 or the last attempt's error,
 * with sr->status and *cls set for a failure. */
static int attempts(sl_frame_t *f, sl_step_ctx_t *ctx, sl_cancel_t *token,
                    sl_step_result_t *sr, sl_error_class_t *cls)
{
    const sl_step_cfg_t *step = ctx->step;
    sl_retry_policy_t policy = sl_retry_policy_default();
    policy.max_attempts = 1;
    int rc = step->retry ? sl_retry_policy_from_node(step->retry, &policy, &ctx->err) : 0;
    if (rc == 0) {
        sl_info("Starting: %s", step->name);
        rc = step_full_refresh(ctx, f->params, f->run);
    }
    uint64_t rng = sl_retry_seed(ctx);
    for (sr->attempts = 1; rc == 0; sr->attempts++) {
        rc = attempt(ctx, sr);
        if (rc == 0) {
            break;
        }
        sr->status = failed_status(ctx, rc, cls);
        if (!sl_retry_should(&policy, *cls, sr->attempts) || sl_cancel_check(f->cancel)) {
            break; /* rc != 0 also ends the loop */
        }
        int64_t wait = sl_retry_delay_us(&policy, sr->attempts, -1, &rng);
        sl_warn("%s: attempt %d of %d failed (%s: %s); trying again in %.1fs", step->name,
                sr->attempts, policy.max_attempts, sl_error_class_name(*cls),
                ctx->err.msg[0] ? ctx->err.msg : sl_strerror(rc), (double)wait / 1e6);
        /* the frame's token: the step's own deadline covers each attempt */
        if (sl_cancel_sleep(f->cancel, wait) != 0) {
            break;
        }
        if (step->timeout_us) {
            sl_cancel_init(token, f->cancel);
            sl_cancel_set_deadline(token, sl_mono_us() + step->timeout_us);
        }
        rc = 0; /* the next attempt */
    }
    return rc;
}

/* Whose timeout stopped a step: the run's, the item's, or its own. */
static const char *whose_timeout(const sl_frame_t *f)
{
    if (sl_cancel_check(f->run_cancel)) {
        return "the run's timeout";
    }
    return sl_cancel_check(f->cancel) ? "the item's timeout" : "its timeout";
}

/* The step's final status, error and log lines after its attempts. */
static void settle(sl_frame_t *f, sl_step_ctx_t *ctx, sl_step_result_t *sr, int rc,
                   sl_error_class_t *cls)
{
    const sl_step_cfg_t *step = ctx->step;
    sr->ended_us = sl_now_us();
    sr->rejected = sl_rejects_count(ctx->rejects);
    if (rc) {
        if (sr->status == SL_STATUS_PENDING || sr->status == SL_STATUS_OK) {
            sr->status = failed_status(ctx, rc, cls);
        }
        if (sr->status == SL_STATUS_TIMED_OUT) {
            snprintf(sr->error, sizeof sr->error, "step '%s': timed out (%s); stopped at a "
                     "batch boundary, its checkpoint kept", step->name, whose_timeout(f));
        } else {
            snprintf(sr->error, sizeof sr->error, "%s",
                     ctx->err.msg[0] ? ctx->err.msg : sl_strerror(rc));
        }
        sr->error_class = *cls;
        sl_log_redact(sr->error); /* kept in the run history and printed */
        sl_error("Failed: %s: %s", step->name, sr->error);
    } else {
        /* a kind that ran units of its own (a map) may have set partial */
        if (sr->status != SL_STATUS_PARTIAL) {
            sr->status = sr->rejected ? SL_STATUS_PARTIAL : SL_STATUS_OK;
        }
        f->partial = f->partial || sr->status == SL_STATUS_PARTIAL;
        if (step->kind == &sl_step_flow) {
            sl_info("Processing %s: Extracted %lld records", step->name,
                    (long long)sr->records_in);
        }
        sl_info("Completed: %s", step->name);
    }
}

/* Runs step i of the frame (with its retries) and records it. Returns 0,
 * or the failure's class through *cls with the step's status failed,
 * timed_out or cancelled. */
static int run_step(sl_frame_t *f, size_t i, sl_error_class_t *cls)
{
    const sl_pipeline_t *p = f->p;
    const sl_step_cfg_t *step = &f->steps[i];
    sl_step_result_t *sr = &f->res[i];
    sl_step_ctx_t ctx;
    sl_step_ctx_init(&ctx, p, step, f->params, f->run, f->run_id);
    ctx.run_started_us = f->run_started_us;
    ctx.state = f->st;
    ctx.full_refresh = f->full_refresh;
    ctx.threads = f->threads;
    ctx.progress = f->progress;
    ctx.item = f->item;
    ctx.fence = f->fence;
    ctx.frame = f;
    const char *path = f->path[0] ? sl_arena_sprintf(f->arena, "%s%s", f->path, step->name)
                                  : step->name;
    ctx.unit = f->unit[0] ? sl_arena_sprintf(f->arena, "%s%s", f->unit, step->name)
                          : step->name;
    ctx.scope = (sl_log_scope_t){.run = f->run_id, .step = path, .item = f->item_label};
    ctx.steps = &f->steps_value;
    ctx.error = f->error.type == SL_T_OBJECT ? &f->error : NULL;
    ctx.out_arena = f->arena;
    sl_cancel_t token; /* the step's: its timeout, under the frame's */
    sl_cancel_init(&token, f->cancel);
    if (step->timeout_us) {
        sl_cancel_set_deadline(&token, sl_mono_us() + step->timeout_us);
    }
    ctx.cancel = &token;
    const sl_log_scope_t *outer = sl_log_scope_set(&ctx.scope);
    const char *rej = step->rejects && ctx.arena
                          ? sl_resolve_path(ctx.arena, p->base_dir, step->rejects)
                          : NULL;
    ctx.rejects = sl_rejects_new(rej, step->max_rejects, step->name);
    sr->started_us = sl_now_us();
    *cls = SL_ECLASS_NONE;
    bool yes = true;
    int rc = ctx.arena && ctx.rejects && path && ctx.unit ? step_when(&ctx, &yes) : SL_ENOMEM;
    if (rc == 0 && !yes) {
        sl_info("Skipped: %s (when: %s is false)", step->name, step->when->text);
        sr->status = SL_STATUS_SKIPPED;
        sr->ended_us = sr->started_us;
    } else {
        if (rc == 0) {
            rc = attempts(f, &ctx, &token, sr, cls);
        }
        settle(f, &ctx, sr, rc, cls);
    }
    if (path) {
        record_step(f, &ctx, sr, rc);
    }
    sl_log_scope_set(outer);
    sl_rejects_free(ctx.rejects);
    sl_arena_destroy(ctx.arena);
    return rc;
}

/* Sets {{ error }} for the steps after a caught failure of step i. */
static void set_error_value(sl_frame_t *f, size_t i)
{
    const sl_step_result_t *sr = &f->res[i];
    const char *cls = sl_error_class_name(sr->error_class);
    char *msg = sl_arena_strdup(f->arena, sr->error);
    sl_value_t e;
    if (!msg || sl_object_new(f->arena, &e, 3) != 0 ||
        sl_object_set(f->arena, &e, "class", 5, sl_value_str(cls, strlen(cls))) != 0 ||
        sl_object_set(f->arena, &e, "message", 7, sl_value_str(msg, strlen(msg))) != 0 ||
        sl_object_set(f->arena, &e, "step", 4, sl_value_str(sr->name, strlen(sr->name))) != 0) {
        return;
    }
    f->error = e;
}

/* In a resumed run: step i succeeded in an earlier attempt, so its result
 * and output come back from the history instead of running it again.
 * Kinds whose items keep their own progress (a map) always run again:
 * only their unfinished items run. sl_frame_run stops restoring at the
 * first step that runs. */
static bool restored(sl_frame_t *f, size_t i)
{
    const sl_step_cfg_t *step = &f->steps[i];
    const sl_prior_step_t *ps = NULL;
    for (size_t k = 0; k < f->nprior && !ps; k++) {
        if (strcmp(f->prior[k].name, step->name) == 0) {
            ps = &f->prior[k];
        }
    }
    if (!ps || (ps->status != SL_STATUS_OK && ps->status != SL_STATUS_PARTIAL) ||
        step->nsubsteps > 0) {
        return false;
    }
    sl_step_result_t *sr = &f->res[i];
    sr->status = ps->status;
    sr->attempts = ps->attempts;
    sr->records_in = ps->records_in;
    sr->records_out = ps->records_out;
    sr->rejected = ps->rejected;
    sr->bytes_in = ps->bytes_in;
    sr->started_us = ps->started_us;
    sr->ended_us = ps->ended_us;
    sr->output_json = ps->output_json ? strdup(ps->output_json) : NULL;
    sl_value_t output = {0};
    sl_json_error_t je;
    char *text = ps->output_json ? sl_arena_strdup(f->arena, ps->output_json) : NULL;
    if (text && sl_json_parse(f->arena, text, strlen(text), NULL, &output, &je) != 0) {
        output = (sl_value_t){0};
    }
    if (sl_steps_record(f->arena, &f->steps_value, step->name, ps->status, &output) != 0) {
        sl_warn("step %s: out of memory restoring its output", step->name);
    }
    f->partial = f->partial || ps->status == SL_STATUS_PARTIAL;
    sl_info("Skipped: %s (%s in an earlier attempt of this run)", step->name,
            sl_status_name(ps->status));
    return true;
}

void sl_frame_run(sl_frame_t *f)
{
    for (size_t i = 0; i < f->nsteps; i++) {
        f->res[i].name = f->steps[i].name;
    }
    for (size_t i = 0; i < f->nsteps; i++) {
        const sl_step_cfg_t *step = &f->steps[i];
        if (f->failed) {
            f->res[i].status = SL_STATUS_SKIPPED;
            continue;
        }
        /* a resume restores the steps that succeeded before the first one
         * that runs again: the steps after it may depend on what it does */
        if (f->nprior && restored(f, i)) {
            continue;
        }
        f->nprior = 0;
        sl_error_class_t cls;
        if (run_step(f, i, &cls) == 0) {
            continue;
        }
        const struct sl_catch *caught = NULL;
        for (size_t k = 0; k < step->ncatches && !caught; k++) {
            if (step->catches[k].on & SL_RETRY_ON(cls)) {
                caught = &step->catches[k];
            }
        }
        if (caught && !sl_cancel_check(f->cancel)) {
            /* handled: the list goes on at the catch's step; it ends
             * partial at best, as a step failed */
            set_error_value(f, i);
            f->partial = true;
            sl_warn("%s failed (%s); caught: going on at %s", step->name,
                    sl_error_class_name(cls), f->steps[caught->next_index].name);
            for (size_t j = i + 1; j < caught->next_index; j++) {
                f->res[j].status = SL_STATUS_SKIPPED;
            }
            i = caught->next_index - 1;
            continue;
        }
        /* on_failure: continue keeps going; the list ends partial */
        f->failed = !step->continue_on_failure || sl_cancel_check(f->cancel) != 0;
        f->partial = f->partial || step->continue_on_failure;
    }
}

void sl_run_steps(sl_engine_run_t *r)
{
    sl_frame_run(&r->top);
}

void sl_run_end(sl_engine_run_t *r, sl_run_result_t *res)
{
    sl_err_t xerr = {0};
    if (sl_export_checkpoints(r->p, r->st, &r->res, &r->params, &r->run, &xerr) != 0) {
        sl_log_redact(xerr.msg);
        sl_error("export_checkpoints: %s", xerr.msg);
        r->top.partial = true; /* the data landed; the copy of the checkpoints did not */
    }
    if (r->log_copy) {
        sl_log_capture_stop();
        memset(&xerr, 0, sizeof xerr);
        if (sl_export_logs(r->p, r->log_copy, &r->params, &r->run, r->res.run_id, &xerr) != 0) {
            sl_log_redact(xerr.msg);
            sl_error("export_logs: %s", xerr.msg);
            r->top.partial = true; /* the data landed; its log did not */
        }
        fclose(r->log_copy);
        r->log_copy = NULL;
    }
    r->res.ended_us = sl_now_us();
    bool failed = r->top.failed, partial = r->top.partial;
    r->res.status = failed ? SL_STATUS_FAILED : partial ? SL_STATUS_PARTIAL : SL_STATUS_OK;
    int stop = failed ? sl_cancel_check(&r->cancel) : 0;
    if (stop) {
        /* stopped from outside (SIGTERM, a cancel) or by the run's timeout */
        r->res.status = stop == SL_ETIMEOUT ? SL_STATUS_TIMED_OUT : SL_STATUS_CANCELLED;
    }
    r->res.exit_code = failed ? SL_EXIT_FAILED : partial ? SL_EXIT_PARTIAL : SL_EXIT_OK;
    sl_outcome_t o = {.status = r->res.status, .ended_us = r->res.ended_us};
    for (size_t i = 0; i < r->res.nsteps; i++) {
        if (r->res.steps[i].error[0]) {
            o.error = r->res.steps[i].error;
            o.error_class = sl_error_class_name(r->res.steps[i].error_class);
            break;
        }
    }
    if (sl_state_run_finish(r->st, r->res.run_id, &o) != 0) {
        sl_warn("state store: cannot record the end of run %s: %s", r->res.run_id,
                sl_state_errmsg(r->st));
    }
    *res = r->res;
    r->res.steps = NULL; /* now the caller's */
    r->res.nsteps = 0;
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
    for (size_t i = 0; res->steps && i < res->nsteps; i++) {
        free(res->steps[i].output_json);
    }
    free(res->steps);
    res->steps = NULL;
}
