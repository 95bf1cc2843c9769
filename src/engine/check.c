/* Deep checks for `sluice validate`: what the config schema cannot see.
 *
 * Transforms compile their templates, expressions and cast types when they
 * open, without touching anything outside, so validate opens and closes
 * each one against the pipeline's params and a stand-in run. Sinks are
 * not opened (they would create files and databases): their optional
 * check() looks at rules between keys instead. */
#include <string.h>

#include "engine_internal.h"
#include "sluice/timeutil.h"

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
    for (size_t i = 0; i < p->nsteps && rc == 0; i++) {
        const sl_step_cfg_t *step = &p->steps[i];
        const sl_sink_type_t *sink = sl_registry_sink(step->sink.type);
        if (sink && sink->check && sink->check(step->sink.node, err) != 0) {
            rc = SL_ECONFIG;
            break;
        }
        for (size_t k = 0; k < step->ntransforms && rc == 0; k++) {
            const sl_transform_type_t *t = sl_registry_transform(step->transforms[k].type);
            if (!t) {
                continue; /* the loader already reported it */
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
    }
    sl_arena_destroy(a);
    return rc;
}
