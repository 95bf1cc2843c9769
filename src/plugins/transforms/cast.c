/* The `cast` transform: `fields: {amount: float, created_at: timestamp}`
 * converts top-level fields to int, float, bool, string, timestamp, date
 * or json (a string parsed as JSON; other values are left as they are).
 *
 * Conversion rules are sl_value_convert's (include/sluice/template.h):
 * strict, so "42.5" is no int and "abc" no float; numbers become
 * timestamps as epoch seconds. A missing field or null stays as it is.
 * A failed conversion, by on_error: `reject` (default) sends the record,
 * unchanged, to the rejects with the reason; `null` stores null and keeps
 * the record; `fail` stops the step. Every field of a record is converted
 * before any is stored, so a rejected record is the one that came in. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sluice/json.h"
#include "sluice/plugin.h"
#include "sluice/template.h"

static const sl_field_spec_t cast_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "cast"},
    {.name = "fields", .type = SL_FIELD_STRING_MAP, .required = true,
     .doc = "map of field: int, float, bool, string, timestamp, date or json"},
    /* ANY, checked by cast_check: a plain YAML `null` is the word null here. */
    {.name = "on_error", .type = SL_FIELD_ANY, .def = "reject",
     .doc = "reject: record to the rejects; null: store null; fail: stop the step"},
    {.name = NULL},
};

typedef enum { ON_REJECT = 0, ON_NULL, ON_FAIL } on_error_t;

/* The JSON target has no sl_type_t of its own. */
#define CAST_JSON 0xff

static const struct {
    const char *name;
    int type;
} type_names[] = {
    {"int", SL_T_INT},       {"integer", SL_T_INT},     {"float", SL_T_DOUBLE},
    {"double", SL_T_DOUBLE}, {"bool", SL_T_BOOL},       {"boolean", SL_T_BOOL},
    {"string", SL_T_STRING}, {"timestamp", SL_T_TIMESTAMP}, {"date", SL_T_DATE},
    {"json", CAST_JSON},
};

typedef struct {
    const char *key;
    uint32_t klen;
    int type; /* sl_type_t or CAST_JSON */
} field_t;

typedef struct {
    field_t *fields;
    size_t n;
    on_error_t on_error;
} cast_t;

/* The target type named by v, or -1. */
static int type_of(const sl_node_t *v)
{
    for (size_t t = 0; v->kind == SL_NODE_SCALAR && t < SL_ARRAY_LEN(type_names); t++) {
        if (strcmp(v->text, type_names[t].name) == 0) {
            return type_names[t].type;
        }
    }
    return -1;
}

/* on_error's value; a missing key is reject. Returns -1 when unknown. */
static int on_error_of(const sl_node_t *oe)
{
    const char *on_error = "reject";
    if (oe) {
        on_error = oe->kind == SL_NODE_SCALAR && oe->text && oe->len ? oe->text : "";
    }
    return strcmp(on_error, "reject") == 0    ? ON_REJECT
           : strcasecmp(on_error, "null") == 0 ? ON_NULL
           : strcmp(on_error, "fail") == 0     ? ON_FAIL
                                               : -1;
}

/* Rules of the keys, without the step: known types and on_error. For
 * `sluice validate`; open() runs it first. */
static int cast_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    if (!fields || fields->kind != SL_NODE_MAP || fields->n == 0) {
        return sl_node_error(err, fields ? fields : cfg,
                             "cast: 'fields' must be a map of field: type");
    }
    const sl_node_t *oe = sl_node_get(cfg, "on_error");
    if (on_error_of(oe) < 0) {
        return sl_node_error(err, oe, "cast: on_error must be reject, null or fail, got "
                             "'%s'", oe->kind == SL_NODE_SCALAR ? sl_node_display(oe) : "a "
                             "map or list");
    }
    for (size_t i = 0; i < fields->n; i++) {
        const sl_node_t *k = fields->pairs[i].key, *v = fields->pairs[i].value;
        if (type_of(v) < 0) {
            return sl_node_error(err, v, "cast: fields: '%s': unknown type '%s' (expected "
                                 "int, float, bool, string, timestamp, date or json)",
                                 sl_node_display(k), sl_node_display(v));
        }
    }
    return 0;
}

static int cast_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    int rc = cast_check(cfg, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    cast_t *c = sl_arena_calloc(ctx->arena, sizeof *c);
    field_t *f = c ? sl_arena_calloc(ctx->arena, fields->n * sizeof *f) : NULL;
    if (!f) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "cast: out of memory");
    }
    c->on_error = (on_error_t)on_error_of(sl_node_get(cfg, "on_error"));
    for (size_t i = 0; i < fields->n; i++) {
        const sl_node_t *k = fields->pairs[i].key;
        f[i].type = type_of(fields->pairs[i].value);
        f[i].key = sl_arena_strndup(ctx->arena, k->text, k->len);
        f[i].klen = (uint32_t)k->len;
        if (!f[i].key) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "cast: out of memory");
        }
    }
    c->fields = f;
    c->n = fields->n;
    *self = c;
    return 0;
}

static int parse_json(sl_arena_t *a, const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    if (v->type != SL_T_STRING) {
        *out = *v; /* already structured (or a number, bool...) */
        return 0;
    }
    sl_json_error_t je;
    int rc = sl_json_parse(a, v->u.s, v->len, NULL, out, &je);
    if (rc == SL_EPARSE) {
        char shown[48];
        size_t n = v->len > 40 ? 37 : v->len;
        memcpy(shown, v->u.s, n);
        strcpy(shown + n, v->len > n ? "..." : "");
        for (size_t i = 0; i < n; i++) {
            shown[i] = (unsigned char)shown[i] < 0x20 ? '?' : shown[i];
        }
        return sl_err_set(err, SL_ETYPE, "cannot parse string '%s' as JSON: %s at offset %zu",
                          shown, je.reason, je.offset);
    }
    return rc;
}

static int cast_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    const cast_t *c = self;
    /* Per batch: where each field lives in the current record, and its new
     * value. */
    sl_value_t **slots = sl_arena_alloc(b->arena, c->n * sizeof *slots);
    sl_value_t *vals = sl_arena_alloc(b->arena, c->n * sizeof *vals);
    uint32_t *hints = sl_arena_alloc(b->arena, c->n * sizeof *hints);
    if (!slots || !vals || !hints) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "cast: out of memory");
    }
    memset(hints, 0, c->n * sizeof *hints);
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        sl_value_t *rec = &b->records[i];
        bool rejected = false;
        for (size_t k = 0; k < c->n && !rejected; k++) {
            const field_t *f = &c->fields[k];
            sl_value_t *v = sl_object_get_hinted(rec, f->key, f->klen, &hints[k]);
            slots[k] = v;
            if (!v || v->type == SL_T_NULL) {
                slots[k] = NULL;
                continue;
            }
            sl_err_t err;
            int rc = f->type == CAST_JSON ? parse_json(b->arena, v, &vals[k], &err)
                                          : sl_value_convert(b->arena, v, (sl_type_t)f->type,
                                                             &vals[k], &err);
            if (rc == 0) {
                continue;
            }
            if (rc != SL_ETYPE) {
                return sl_err_set(&ctx->err, rc, "cast: field '%s': %s", f->key,
                                  sl_strerror(rc));
            }
            if (c->on_error == ON_NULL) {
                vals[k] = sl_value_null();
                continue;
            }
            if (c->on_error == ON_FAIL) {
                return sl_err_set(&ctx->err, SL_ETYPE, "cast: %s:%llu: field '%s': %s",
                                  b->origin ? b->origin : "?",
                                  (unsigned long long)(b->lines ? b->lines[i] : i + 1), f->key,
                                  err.msg);
            }
            char reason[SL_ERRMSG_MAX + 128];
            snprintf(reason, sizeof reason, "cast: field '%.100s': %s", f->key, err.msg);
            rc = sl_reject_record(ctx, b, i, reason);
            if (rc) {
                return rc;
            }
            rejected = true;
        }
        if (rejected) {
            continue;
        }
        for (size_t k = 0; k < c->n; k++) {
            if (slots[k]) {
                *slots[k] = vals[k];
            }
        }
        w = sl_batch_keep(b, w, i);
    }
    b->n = w;
    return 0;
}

static void cast_close(void *self)
{
    (void)self; /* everything lives in the step arena */
}

const sl_transform_type_t sl_transform_cast = {
    .name = "cast",
    .doc = "convert fields to int, float, bool, string, timestamp, date or json; bad values "
           "are rejected (on_error: reject|null|fail)",
    .config = cast_config,
    .check = cast_check,
    .open = cast_open,
    .process = cast_process,
    .close = cast_close,
};
