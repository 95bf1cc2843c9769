/* The call kind: a step that starts another pipeline's run.
 *
 *   - name: ingest_project
 *     call:
 *       pipeline: ingest_spans.yaml     # relative to this pipeline's folder
 *       params: {project: "{{ item }}"} # templates
 *       wait: true                      # default
 *
 * Waiting, the child runs in this process, under the step's cancel token
 * (its timeout stops the child too), in the same state store; its outcome
 * is the step's: its status, and its steps' outputs as the step's output.
 * A pipeline runs once at a time per state store, so calls of one pipeline
 * (from the items of a map) take turns, and a pipeline cannot call itself.
 * Not waiting, the child starts as a process of its own (`sluice run` with
 * the run id chosen here), and the step's output is that run id. Either
 * way the child's run records this run as its parent (trigger "call"). */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/retry.h"

extern char **environ;

static const sl_field_spec_t call_keys_spec[] = {
    {.name = "pipeline", .type = SL_FIELD_STRING, .required = true, .min_len = 1,
     .doc = "the pipeline file to run (relative to this one; templates)"},
    {.name = "params", .type = SL_FIELD_STRING_MAP,
     .doc = "NAME: template pairs, the child run's params"},
    {.name = "wait", .type = SL_FIELD_BOOL, .def = "true",
     .doc = "wait for the child run (its outcome is the step's); false: start it and go on"},
    {.name = NULL},
};

static const sl_field_spec_t call_spec[] = {
    {.name = "call", .type = SL_FIELD_MAP, .doc = "starts another pipeline's run"},
    {.name = NULL},
};

static int call_load(sl_step_loader_t *l, const sl_node_t *node, const char *label,
                     sl_step_cfg_t *st)
{
    const sl_node_t *c = sl_node_get(node, "call");
    char what[200];
    snprintf(what, sizeof what, "%s: call", label);
    int rc = sl_config_check(c, call_keys_spec, what, sl_step_loader_err(l));
    if (rc == 0) {
        st->call = c;
    }
    return rc;
}

/* The child's params as NAME=VALUE texts, rendered (ctx->arena). */
static int call_args(sl_step_ctx_t *ctx, const sl_node_t *params, const char ***args,
                     size_t *n)
{
    *n = 0;
    *args = NULL;
    if (!params || params->n == 0) {
        return 0;
    }
    *args = sl_arena_calloc(ctx->arena, params->n * sizeof **args);
    if (!*args) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < params->n; i++) {
        const sl_node_t *k = params->pairs[i].key, *v = params->pairs[i].value;
        const char *val = "";
        sl_err_t terr;
        int rc = v->is_null ? 0 : sl_render_once(ctx, v->text, &val, &terr);
        if (rc) {
            return sl_node_error(&ctx->err, v, "step '%s': call: params: %s: %s",
                                 ctx->step->name, k->text,
                                 rc == SL_EINVAL ? "record is not available here" : terr.msg);
        }
        (*args)[(*n)++] = sl_arena_sprintf(ctx->arena, "%s=%s", k->text, val);
        if (!(*args)[*n - 1]) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* An error code of the class the child's failure had, so the step's
 * retry and catch see the same class. */
static int code_of_class(const char *cls)
{
    static const struct {
        const char *name;
        int code;
    } map[] = {{"transient", SL_ERETRY},        {"timeout", SL_ETIMEOUT},
               {"rate_limited", SL_ERATELIMITED}, {"data", SL_EPARSE},
               {"config", SL_ECONFIG},          {"tolerance_exceeded", SL_ETOLERANCE}};
    for (size_t i = 0; cls && i < SL_ARRAY_LEN(map); i++) {
        if (strcmp(cls, map[i].name) == 0) {
            return map[i].code;
        }
    }
    return SL_ESTATE; /* fatal */
}

/* The child's outcome as the step's output: run_id, status, and its
 * steps' {status, output} by name. */
static int child_output(sl_step_ctx_t *ctx, const sl_run_result_t *res)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_printf(&b, "{\"run_id\":\"%s\",\"status\":\"%s\",\"steps\":{", res->run_id,
                  sl_status_name(res->status));
    for (size_t i = 0; i < res->nsteps; i++) {
        const sl_step_result_t *s = &res->steps[i];
        sl_buf_append_c(&b, i ? "," : "");
        sl_json_write_string(&b, s->name, strlen(s->name));
        sl_buf_printf(&b, ":{\"status\":\"%s\",\"output\":%s}", sl_status_name(s->status),
                      s->output_json ? s->output_json : "{}");
    }
    sl_buf_append_c(&b, "}}");
    sl_value_t v;
    sl_json_error_t je;
    char *text = b.data ? sl_arena_strndup(ctx->arena, b.data, b.len) : NULL;
    int rc = text && sl_json_parse(ctx->arena, text, b.len, NULL, &v, &je) == 0 ? 0 : SL_ENOMEM;
    sl_buf_free(&b);
    for (uint32_t i = 0; rc == 0 && i < v.len; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)v.u.members[i].klen, v.u.members[i].key);
        rc = sl_step_output_put(ctx, key, &v.u.members[i].val);
    }
    return rc;
}

/* Runs the child here and waits for it. */
static int call_wait(sl_step_ctx_t *ctx, sl_step_result_t *res, const char *path,
                     const char *const *args, size_t nargs)
{
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *child = NULL;
    sl_err_t err = {0};
    if (!a || sl_pipeline_load(a, path, &child, &err) != 0) {
        sl_arena_destroy(a);
        return sl_err_set(&ctx->err, a ? SL_ECONFIG : SL_ENOMEM, "step '%s': call: %s",
                          ctx->step->name, a ? err.msg : "out of memory");
    }
    const sl_frame_t *f = ctx->frame;
    sl_engine_opts_t opts = {.state_url = f ? f->state_url : NULL,
                             .threads = ctx->threads,
                             .cancel = ctx->cancel};
    sl_run_request_t req = {.pipeline = child,
                            .param_args = args,
                            .nparam_args = nargs,
                            .trigger = "call",
                            .parent_run_id = ctx->run_id};
    if (strcmp(child->name, ctx->pipeline->name) == 0) {
        sl_arena_destroy(a);
        return sl_err_set(&ctx->err, SL_ECONFIG, "step '%s': call: %s is this pipeline (%s): a "
                          "pipeline cannot call itself", ctx->step->name, path, child->name);
    }
    sl_run_result_t cr;
    int rc;
    /* one run of a pipeline at a time: calls of one pipeline from the items
     * of a map take turns (their checkpoints are the pipeline's) */
    for (bool said = false;;) {
        rc = sl_engine_run(&req, &opts, &cr, &err);
        if (rc != SL_EAGAIN) {
            break;
        }
        if (!said) {
            sl_info("%s: %s is running; waiting for its turn", ctx->step->name, child->name);
            said = true;
        }
        int stop = sl_cancel_sleep(ctx->cancel, 100 * 1000);
        if (stop) {
            rc = stop;
            snprintf(err.msg, sizeof err.msg, "%s while waiting for the other run of %s",
                     sl_strerror(stop), child->name);
            break;
        }
    }
    if (rc) {
        sl_arena_destroy(a);
        return sl_err_set(&ctx->err, rc, "step '%s': call %s: %s", ctx->step->name,
                          child->name, err.msg);
    }
    res->records_in = res->records_out = 0;
    for (size_t i = 0; i < cr.nsteps; i++) {
        res->records_in += cr.steps[i].records_in;
        res->records_out += cr.steps[i].records_out;
        res->bytes_in += cr.steps[i].bytes_in;
    }
    rc = child_output(ctx, &cr);
    if (rc == 0 && cr.status == SL_STATUS_FAILED) {
        const sl_step_result_t *bad = NULL;
        for (size_t i = 0; i < cr.nsteps && !bad; i++) {
            bad = cr.steps[i].error[0] ? &cr.steps[i] : NULL;
        }
        const char *cls = bad ? sl_error_class_name(bad->error_class) : NULL;
        rc = sl_err_set(&ctx->err, code_of_class(cls), "step '%s': run %s of %s failed%s%s",
                        ctx->step->name, cr.run_id, child->name, bad ? ": " : "",
                        bad ? bad->error : "");
    } else if (rc == 0 && cr.status == SL_STATUS_PARTIAL) {
        res->status = SL_STATUS_PARTIAL;
    }
    sl_run_result_free(&cr);
    sl_arena_destroy(a);
    return rc;
}

/* Starts the child as a `sluice run` process of its own and returns at
 * once; it outlives this run if need be. */
static int call_start(sl_step_ctx_t *ctx, const char *path, const char *const *args,
                      size_t nargs)
{
    char id[37];
    sl_uuid4(id);
    const sl_frame_t *f = ctx->frame;
    size_t n = 0;
    const char **argv = sl_arena_calloc(ctx->arena, (nargs * 2 + 16) * sizeof *argv);
    if (!argv) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "out of memory");
    }
    argv[n++] = "sluice";
    argv[n++] = "run";
    argv[n++] = path;
    argv[n++] = "--run-id";
    argv[n++] = id;
    argv[n++] = "--parent-run";
    argv[n++] = ctx->run_id;
    argv[n++] = "--no-progress";
    if (f && f->state_url) {
        argv[n++] = "--state";
        argv[n++] = f->state_url;
    }
    for (size_t i = 0; i < nargs; i++) {
        argv[n++] = "-p";
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    pid_t pid;
    /* the child starts with no signal blocked (this thread may block some) */
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int e = posix_spawn(&pid, "/proc/self/exe", NULL, &attr, (char *const *)argv, environ);
    posix_spawnattr_destroy(&attr);
    if (e != 0) {
        return sl_err_set(&ctx->err, SL_EIO, "step '%s': call: cannot start sluice: %s",
                          ctx->step->name, strerror(e));
    }
    sl_info("%s: started run %s of %s (pid %d), not waiting", ctx->step->name, id, path,
            (int)pid);
    sl_value_t v = sl_value_str(id, strlen(id));
    int rc = sl_step_output_put(ctx, "run_id", &v);
    if (rc == 0) {
        v = sl_value_int(pid);
        rc = sl_step_output_put(ctx, "pid", &v);
    }
    return rc;
}

static int call_run(sl_step_ctx_t *ctx, sl_step_result_t *res)
{
    const sl_node_t *c = ctx->step->call;
    const sl_node_t *pn = sl_node_get(c, "pipeline");
    const char *file;
    sl_err_t terr;
    int rc = sl_render_once(ctx, pn->text, &file, &terr);
    if (rc) {
        return sl_node_error(&ctx->err, pn, "step '%s': call: pipeline: %s", ctx->step->name,
                             rc == SL_EINVAL ? "record is not available here" : terr.msg);
    }
    const char *path = sl_resolve_path(ctx->arena, ctx->base_dir, file);
    bool wait = true;
    const char **args = NULL;
    size_t nargs = 0;
    rc = sl_cfg_bool(c, "wait", true, &wait, &ctx->err);
    if (rc == 0) {
        rc = path ? call_args(ctx, sl_node_get(c, "params"), &args, &nargs) : SL_ENOMEM;
    }
    if (rc) {
        return rc;
    }
    return wait ? call_wait(ctx, res, path, args, nargs) : call_start(ctx, path, args, nargs);
}

const sl_step_kind_t sl_step_call = {
    .name = "call",
    .key = "call",
    .doc = "starts another pipeline's run",
    .spec = call_spec,
    .load = call_load,
    .run = call_run,
};
