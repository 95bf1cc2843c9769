/* The `set` transform: `fields: {name: value, ...}` adds or replaces
 * top-level fields.
 *
 * A quoted or textual value is a template: "{{ record.created_at | date }}"
 * stores a date, "{{ params.source }}" a param's value, "v{{ record.id }}"
 * text. Plain YAML numbers, booleans and null (`n: 1`, `on: true`, `x:
 * null`) set typed constants. Templates that do not read the record are
 * evaluated once per batch. All values are computed against the record as
 * it came in (so a template cannot see a field set by the same step), then
 * stored; a record whose template fails (a filter that cannot handle the
 * value) is rejected unchanged, with the reason. */
#include <stdio.h>
#include <string.h>

#include "sluice/plugin.h"
#include "sluice/template.h"

static const sl_field_spec_t set_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "set"},
    {.name = "fields", .type = SL_FIELD_MAP, .required = true,
     .doc = "map of field: template or constant (\"{{ record.ts | date }}\", 42, true)"},
    {.name = NULL},
};

typedef enum {
    V_CONST = 0, /* typed constant */
    V_ONCE,      /* template without record: once per batch */
    V_RECORD,    /* template per record */
} kind_t;

typedef struct {
    const char *key;
    uint32_t klen;
    uint8_t kind;
    sl_template_t *t;
    sl_value_t value; /* V_CONST */
} field_t;

typedef struct {
    field_t *fields;
    sl_str_t *keys; /* fields[k].key, for sl_object_set_many */
    size_t n;
    const sl_value_t *item;
} set_t;

/* Plain scalars: null, integer, number or boolean constants; else NULL. */
static bool typed_constant(const sl_node_t *v, sl_value_t *out)
{
    if (v->is_null) {
        *out = sl_value_null();
        return true;
    }
    if (v->quoted) {
        return false;
    }
    int64_t i;
    double d;
    bool b;
    if (sl_node_to_int(v, NULL, &i, NULL) == 0) {
        *out = sl_value_int(i);
        return true;
    }
    if (sl_node_to_double(v, NULL, &d, NULL) == 0) {
        *out = sl_value_double(d);
        return true;
    }
    if (sl_node_to_bool(v, NULL, &b, NULL) == 0) {
        *out = sl_value_bool(b);
        return true;
    }
    return false;
}

/* Compiles the template of v into a (NULL when v is a typed constant);
 * errors name the field. */
static int compile_value(sl_arena_t *a, const sl_node_t *k, const sl_node_t *v, field_t *x,
                         sl_err_t *err)
{
    if (v->kind != SL_NODE_SCALAR) {
        return sl_node_error(err, v, "set: fields: '%s' must be a template or a constant, not a %s",
                             k->text, v->kind == SL_NODE_MAP ? "map" : "list");
    }
    if (typed_constant(v, &x->value)) {
        x->kind = V_CONST;
        return 0;
    }
    sl_err_t terr = {0};
    if (sl_template_compile(a, v->text, v->len, &x->t, &terr) != 0) {
        if (v->secret) {
            return sl_node_error(err, v, "set: fields: '%s': invalid template (not shown: it "
                                 "holds a secret)", k->text);
        }
        return sl_node_error(err, v, "set: fields: '%s': %s", k->text, terr.msg);
    }
    x->kind = sl_template_uses_record(x->t) ? V_RECORD : V_ONCE;
    return 0;
}

/* Constants and template syntax, without the step: for `sluice validate`
 * (open() then compiles the same way). */
static int set_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    if (!fields || fields->kind != SL_NODE_MAP || fields->n == 0) {
        return sl_node_error(err, fields ? fields : cfg,
                             "set: 'fields' must be a map of field: template or constant");
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    if (!a) {
        return sl_err_set(err, SL_ENOMEM, "set: out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < fields->n && rc == 0; i++) {
        field_t x = {0};
        rc = compile_value(a, fields->pairs[i].key, fields->pairs[i].value, &x, err);
    }
    sl_arena_destroy(a);
    return rc;
}

static int set_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    int rc = set_check(cfg, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    set_t *s = sl_arena_calloc(ctx->arena, sizeof *s);
    field_t *f = s ? sl_arena_calloc(ctx->arena, fields->n * sizeof *f) : NULL;
    if (!f) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "set: out of memory");
    }
    for (size_t i = 0; i < fields->n; i++) {
        const sl_node_t *k = fields->pairs[i].key, *v = fields->pairs[i].value;
        field_t *x = &f[i];
        /* The step arena outlives every batch, so records may borrow keys. */
        x->key = sl_arena_strndup(ctx->arena, k->text, k->len);
        x->klen = (uint32_t)k->len;
        if (!x->key) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "set: out of memory");
        }
        rc = compile_value(ctx->arena, k, v, x, &ctx->err);
        if (rc) {
            return rc;
        }
    }
    s->fields = f;
    s->n = fields->n;
    s->keys = sl_arena_alloc(ctx->arena, (s->n ? s->n : 1) * sizeof *s->keys);
    if (!s->keys) {
        return SL_ENOMEM;
    }
    for (size_t k = 0; k < s->n; k++) {
        s->keys[k] = (sl_str_t){f[k].key, f[k].klen};
    }
    s->item = ctx->item; /* the map item of the unit, or NULL */
    *self = s;
    return 0;
}


static int set_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    const set_t *s = self;
    sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(ctx);
    tc.item = s->item;
    sl_value_t *vals = sl_arena_alloc(b->arena, s->n * sizeof *vals); /* once per batch */
    if (!vals) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "set: out of memory");
    }
    for (size_t k = 0; k < s->n; k++) {
        const field_t *f = &s->fields[k];
        if (f->kind == V_CONST) {
            vals[k] = f->value;
        } else if (f->kind == V_ONCE) {
            sl_err_t err;
            int rc = sl_template_eval(f->t, &tc, b->arena, &vals[k], &err);
            if (rc) {
                return sl_err_set(&ctx->err, rc, "set: field '%s': %s", f->key, err.msg);
            }
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        sl_value_t *rec = &b->records[i];
        tc.record = rec;
        int rc = 0;
        for (size_t k = 0; k < s->n && !rc; k++) {
            const field_t *f = &s->fields[k];
            if (f->kind != V_RECORD) {
                continue;
            }
            sl_err_t err;
            rc = sl_template_eval(f->t, &tc, b->arena, &vals[k], &err);
            if (rc == SL_ETYPE || rc == SL_EINVAL) {
                char reason[SL_ERRMSG_MAX + 128];
                snprintf(reason, sizeof reason, "set: field '%.100s': %s", f->key, err.msg);
                int rr = sl_reject_record(ctx, b, i, reason);
                if (rr) {
                    return rr;
                }
            } else if (rc) {
                return sl_err_set(&ctx->err, rc, "set: field '%s': %s", f->key, err.msg);
            }
        }
        if (rc) {
            continue; /* rejected: dropped from the batch */
        }
        if (rec->type == SL_T_OBJECT &&
            sl_object_set_many(b->arena, rec, s->keys, vals, s->n) != 0) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "set: out of memory");
        }
        w = sl_batch_keep(b, w, i);
    }
    b->n = w;
    return 0;
}

static void set_close(void *self)
{
    (void)self; /* everything lives in the step arena */
}

const sl_transform_type_t sl_transform_set = {
    .name = "set",
    .doc = "add or replace fields from templates or constants (fields: {day: \"{{ record.ts | "
           "date }}\"})",
    .config = set_config,
    .check = set_check,
    .open = set_open,
    .process = set_process,
    .close = set_close,
};
