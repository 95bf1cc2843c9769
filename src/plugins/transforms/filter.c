/* The `filter` transform: `where: "amount >= {{ params.min }} and not
 * refunded"` keeps the records for which the expression holds.
 *
 * The where text may use {{ }} templates over params, run and env; they
 * are expanded once at open, each as a literal of its value's type
 * (sl_expr_compile_templated), so a string param cannot change the
 * expression's structure. Records for which the expression is false (or
 * null) are dropped silently; a record the expression cannot be evaluated
 * on (comparing a string with a number using '<') is rejected with the
 * reason. */
#include <stdio.h>
#include <string.h>

#include "sluice/expr.h"
#include "sluice/plugin.h"

static const sl_field_spec_t filter_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "filter"},
    {.name = "where", .type = SL_FIELD_STRING, .required = true,
     .doc = "condition to keep a record: amount >= 10 and (status == 'paid' or not refunded)"},
    {.name = NULL},
};

typedef struct {
    sl_expr_t *expr;
    const char *shown; /* the where text for reasons, cut to one line */
} filter_t;

static int filter_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    const sl_node_t *where = sl_node_get(cfg, "where");
    if (!where || where->kind != SL_NODE_SCALAR || where->is_null) {
        return sl_node_error(&ctx->err, where ? where : cfg,
                             "filter: 'where' must be an expression");
    }
    filter_t *f = sl_arena_calloc(ctx->arena, sizeof *f);
    if (!f) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "filter: out of memory");
    }
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    sl_err_t err = {0};
    int rc = sl_expr_compile_templated(ctx->arena, where->text, where->len, &tc, &f->expr, &err);
    if (rc) {
        if (where->secret) {
            return sl_node_error(&ctx->err, where, "filter: where: invalid expression (not "
                                 "shown: it holds a secret)");
        }
        return sl_node_error(&ctx->err, where, "filter: where: %s", err.msg);
    }
    char shown[84];
    const char *text = where->secret ? "<secret>" : where->text;
    size_t n = strlen(text), max = n > 80 ? 77 : n;
    for (size_t i = 0; i < max; i++) {
        shown[i] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
    }
    strcpy(shown + max, n > max ? "..." : "");
    f->shown = sl_arena_strdup(ctx->arena, shown);
    if (!f->shown) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "filter: out of memory");
    }
    *self = f;
    return 0;
}

static int filter_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    const filter_t *f = self;
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        tc.record = &b->records[i];
        bool keep = false;
        sl_err_t err;
        int rc = sl_expr_eval(f->expr, &tc, &keep, &err);
        if (rc == SL_ETYPE || rc == SL_EINVAL) {
            char reason[SL_ERRMSG_MAX + 128];
            snprintf(reason, sizeof reason, "filter: where '%.100s': %s", f->shown, err.msg);
            rc = sl_reject_record(ctx, b, i, reason);
            if (rc) {
                return rc;
            }
            continue;
        }
        if (rc) {
            return sl_err_set(&ctx->err, rc, "filter: %s", err.msg);
        }
        if (!keep) {
            continue;
        }
        w = sl_batch_keep(b, w, i);
    }
    b->n = w;
    return 0;
}

static void filter_close(void *self)
{
    (void)self; /* everything lives in the step arena */
}

const sl_transform_type_t sl_transform_filter = {
    .name = "filter",
    .doc = "keep records matching an expression (where: \"amount >= {{ params.min }}\")",
    .config = filter_config,
    .open = filter_open,
    .process = filter_process,
    .close = filter_close,
};
