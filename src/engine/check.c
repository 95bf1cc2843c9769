/* Deep checks for `sluice validate`: what the config schema cannot see.
 *
 * Sources, transforms and sinks may have a check() for rules between their
 * keys; it needs no I/O and no secrets, and open() runs the same check.
 * Transforms also compile their templates, expressions and cast types when
 * they open, without touching anything outside, so validate opens and
 * closes each one against the pipeline's params and a stand-in run.
 * Sources and sinks are not opened (they would read files, connect, create
 * databases). A `connection: NAME` must name an entry of `connections:`. */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "sluice/buf.h"
#include "sluice/timeutil.h"

/* map's `connection`, if any, names one of p's connections. */
static int check_connection_ref(const sl_pipeline_t *p, const sl_node_t *map, const char *what,
                                sl_err_t *err)
{
    const sl_node_t *cn = sl_node_get(map, "connection");
    if (!cn || cn->kind != SL_NODE_SCALAR || cn->is_null || cn->unresolved) {
        return 0;
    }
    for (size_t i = 0; i < p->nconnections; i++) {
        if (strcmp(p->connections[i].name, cn->text) == 0) {
            return 0;
        }
    }
    sl_buf_t known;
    sl_buf_init(&known, 400);
    for (size_t i = 0; i < p->nconnections; i++) {
        sl_buf_printf(&known, "%s%s", i ? ", " : "", p->connections[i].name);
    }
    int rc = sl_node_error(err, cn,
                           "%s: no connection named '%s' in the pipeline (connections: %s)", what,
                           sl_node_display(cn), known.data ? known.data : "none");
    sl_buf_free(&known);
    return rc;
}

static int check_plugin(int (*check)(const sl_node_t *, sl_err_t *), const sl_pipeline_t *p,
                        const sl_plugin_cfg_t *pc, sl_err_t *err)
{
    if (check && check(pc->node, err) != 0) {
        return SL_ECONFIG;
    }
    return check_connection_ref(p, pc->node, pc->name, err) ? SL_ECONFIG : 0;
}

int sl_engine_check(const sl_pipeline_t *p, const char *const *args, size_t nargs, sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    if (!a) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    sl_value_t params, run;
    int rc = sl_params_resolve_lenient(a, p, args, nargs, &params, err);
    if (!rc) {
        rc = sl_run_value(a, "00000000-0000-4000-8000-000000000000", sl_now_us(), p->name, &run);
    }
    const sl_node_t *exp = sl_node_get(p->root, "export_checkpoints");
    if (!rc && exp) {
        rc = check_connection_ref(p, exp, "export_checkpoints", err) ? SL_ECONFIG : 0;
    }
    for (size_t i = 0; i < p->nsteps && rc == 0; i++) {
        const sl_step_cfg_t *step = &p->steps[i];
        if (step->kind == &sl_step_sql) {
            char what[160];
            snprintf(what, sizeof what, "step '%s': sql", step->name);
            rc = check_connection_ref(p, step->sql, what, err) ? SL_ECONFIG : 0;
            continue;
        }
        /* In document order: the first message is the one nearest the top. */
        const sl_source_type_t *src = step->source.source;
        rc = check_plugin(src ? src->check : NULL, p, &step->source, err);
        for (size_t k = 0; k < step->ntransforms && rc == 0; k++) {
            const sl_transform_type_t *t = step->transforms[k].transform;
            if (!t) {
                continue; /* the loader already reported it */
            }
            if (t->check && t->check(step->transforms[k].node, err) != 0) {
                rc = SL_ECONFIG;
                break;
            }
            sl_step_ctx_t ctx;
            sl_step_ctx_init(&ctx, p, step, &params, &run, "00000000-0000-4000-8000-000000000000");
            if (!ctx.arena) {
                rc = sl_err_set(err, SL_ENOMEM, "out of memory");
                break;
            }
            void *self = NULL;
            rc = t->open(&ctx, step->transforms[k].node, &self);
            if (rc) {
                sl_err_set(err, SL_ECONFIG, "%s",
                           ctx.err.msg[0] ? ctx.err.msg : sl_strerror(rc));
                rc = SL_ECONFIG;
            } else if (t->close) {
                t->close(self);
            }
            sl_arena_destroy(ctx.arena);
        }
        const sl_sink_type_t *sink = step->sink.sink;
        if (!rc) {
            rc = check_plugin(sink ? sink->check : NULL, p, &step->sink, err);
        }
    }
    sl_arena_destroy(a);
    return rc;
}
