/* Step outputs: the object every step ends with (counts, files written,
 * the last checkpoint, a query's first row, the step's declared `output:`
 * templates). Later steps read it as {{ steps.NAME.output.KEY }}, `when:`
 * conditions as steps.NAME.output.KEY; `runs show` prints it. */
#include <string.h>

#include "engine_internal.h"
#include "sluice/json.h"
#include "sluice/template.h"

int sl_step_output_put(sl_step_ctx_t *ctx, const char *key, const sl_value_t *v)
{
    if (!ctx->out_arena) {
        ctx->out_arena = ctx->arena; /* a context outside a run (tests, validate) */
    }
    if (ctx->output.type != SL_T_OBJECT && sl_object_new(ctx->out_arena, &ctx->output, 8)) {
        return SL_ENOMEM;
    }
    sl_value_t copy;
    size_t n = strlen(key);
    char *k = sl_arena_strndup(ctx->out_arena, key, n);
    if (!k || sl_value_clone(ctx->out_arena, v, &copy) != 0) {
        return SL_ENOMEM;
    }
    return sl_object_set(ctx->out_arena, &ctx->output, k, n, copy);
}

int sl_step_output_int(sl_step_ctx_t *ctx, const char *key, int64_t n)
{
    sl_value_t v = sl_value_int(n);
    return sl_step_output_put(ctx, key, &v);
}

int sl_steps_record(sl_arena_t *a, sl_value_t *steps, const char *name, sl_status_t status,
                    const sl_value_t *output)
{
    sl_value_t entry;
    const char *st = sl_status_name(status);
    int rc = sl_object_new(a, &entry, 2);
    if (!rc) {
        rc = sl_object_set(a, &entry, "status", 6, sl_value_str(st, strlen(st)));
    }
    if (!rc) {
        sl_value_t empty;
        rc = output && output->type == SL_T_OBJECT ? 0 : sl_object_new(a, &empty, 0);
        if (!rc) {
            rc = sl_object_set(a, &entry, "output", 6,
                               output && output->type == SL_T_OBJECT ? *output : empty);
        }
    }
    if (!rc && steps->type != SL_T_OBJECT) {
        rc = sl_object_new(a, steps, 8);
    }
    return rc ? rc : sl_object_set(a, steps, name, strlen(name), entry);
}

int sl_step_output_declared(sl_step_ctx_t *ctx, const sl_node_t *decl,
                            const sl_template_t *const *templates)
{
    if (!decl) {
        return 0;
    }
    /* The templates see this step's own output so far, as steps.NAME. */
    sl_value_t steps = ctx->steps ? *ctx->steps : (sl_value_t){0};
    sl_value_t so_far = ctx->output;
    if (ctx->steps && sl_value_clone(ctx->arena, ctx->steps, &steps) != 0) {
        return SL_ENOMEM;
    }
    int rc = sl_steps_record(ctx->arena, &steps, ctx->step->name, SL_STATUS_OK, &so_far);
    if (rc) {
        return rc;
    }
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    tc.steps = &steps;
    for (size_t i = 0; i < decl->n && rc == 0; i++) {
        const sl_node_t *k = decl->pairs[i].key, *v = decl->pairs[i].value;
        sl_err_t terr;
        sl_value_t val;
        /* a template that is one value keeps its type (a count stays a
         * number); text around it makes a string */
        if (sl_template_eval(templates[i], &tc, ctx->arena, &val, &terr) != 0) {
            rc = sl_node_error(&ctx->err, v, "step '%s': output '%s': %s", ctx->step->name,
                               k->text, terr.msg);
            break;
        }
        rc = sl_step_output_put(ctx, k->text, &val);
    }
    return rc;
}

int sl_step_output_json(const sl_value_t *output, sl_buf_t *out)
{
    if (!output || output->type != SL_T_OBJECT) {
        return sl_buf_append_c(out, "{}");
    }
    return sl_json_write(out, output, 0);
}
