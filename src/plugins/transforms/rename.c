/* The `rename` transform: `fields: {old: new, ...}` renames top-level keys.
 *
 * All renames apply at once to the record as it came in, so `{a: b, b: a}`
 * swaps two fields. A renamed field keeps its position; when its new name
 * already exists (and that field is not itself renamed away), the old
 * field of that name is replaced. Keys are swapped in place: no
 * allocation per record. */
#include <string.h>

#include "sluice/plugin.h"

static const sl_field_spec_t rename_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "rename"},
    {.name = "fields", .type = SL_FIELD_STRING_MAP, .required = true,
     .doc = "map of old name: new name"},
    {.name = NULL},
};

typedef struct {
    const char *from, *to;
    uint32_t from_len, to_len;
} pair_t;

typedef struct {
    pair_t *pairs;
    size_t n;
} rename_t;

/* Rules between keys, without the step: every field gets a new name, and
 * no two get the same. For `sluice validate`; open() runs it first. */
static int rename_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    if (!fields || fields->kind != SL_NODE_MAP || fields->n == 0) {
        return sl_node_error(err, fields ? fields : cfg,
                             "rename: 'fields' must be a map of old name: new name");
    }
    for (size_t i = 0; i < fields->n; i++) {
        const sl_node_t *k = fields->pairs[i].key, *v = fields->pairs[i].value;
        if (v->kind != SL_NODE_SCALAR || v->is_null || v->len == 0) {
            return sl_node_error(err, v, "rename: fields: '%s' needs a new name",
                                 sl_node_display(k));
        }
        for (size_t j = 0; j < i; j++) {
            const sl_node_t *kj = fields->pairs[j].key, *w = fields->pairs[j].value;
            bool to_itself = kj->len == w->len && memcmp(kj->text, w->text, w->len) == 0;
            if (!to_itself && w->len == v->len && memcmp(w->text, v->text, v->len) == 0) {
                return sl_node_error(err, v, "rename: fields: '%s' and '%s' both become '%s'",
                                     sl_node_display(k),
                                     sl_node_display(fields->pairs[j].key),
                                     sl_node_display(v));
            }
        }
    }
    return 0;
}

static int rename_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    int rc = rename_check(cfg, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    rename_t *r = sl_arena_calloc(ctx->arena, sizeof *r);
    pair_t *p = r ? sl_arena_calloc(ctx->arena, fields->n * sizeof *p) : NULL;
    if (!p) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "rename: out of memory");
    }
    for (size_t i = 0; i < fields->n; i++) {
        const sl_node_t *k = fields->pairs[i].key, *v = fields->pairs[i].value;
        if (k->len == v->len && memcmp(k->text, v->text, k->len) == 0) {
            continue; /* renaming to itself changes nothing */
        }
        pair_t *q = &p[r->n++];
        q->from = sl_arena_strndup(ctx->arena, k->text, k->len);
        q->to = sl_arena_strndup(ctx->arena, v->text, v->len);
        if (!q->from || !q->to) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "rename: out of memory");
        }
        q->from_len = (uint32_t)k->len;
        q->to_len = (uint32_t)v->len;
    }
    r->pairs = p;
    *self = r;
    return 0;
}

static bool key_is(const sl_member_t *m, const char *s, uint32_t n)
{
    return m->klen == n && memcmp(m->key, s, n) == 0;
}

/* Bits of the renames that apply to this record, 64 at a time. */
#define WORD_BITS 64

static void rename_record(const rename_t *r, sl_value_t *rec, uint64_t *hit, size_t words)
{
    memset(hit, 0, words * sizeof *hit);
    bool any = false;
    for (size_t k = 0; k < r->n; k++) {
        if (sl_object_get(rec, r->pairs[k].from, r->pairs[k].from_len)) {
            hit[k / WORD_BITS] |= (uint64_t)1 << (k % WORD_BITS);
            any = true;
        }
    }
    if (!any) {
        return;
    }
    sl_member_t *m = rec->u.members;
    uint32_t w = 0;
    for (uint32_t j = 0; j < rec->len; j++) {
        bool keep = true, renamed = false;
        for (size_t k = 0; k < r->n && !renamed; k++) {
            if (key_is(&m[j], r->pairs[k].from, r->pairs[k].from_len)) {
                m[j].key = r->pairs[k].to;
                m[j].klen = r->pairs[k].to_len;
                renamed = true;
            }
        }
        /* A field under a name another field is renamed to is replaced. */
        for (size_t k = 0; k < r->n && !renamed && keep; k++) {
            if ((hit[k / WORD_BITS] >> (k % WORD_BITS) & 1) &&
                key_is(&m[j], r->pairs[k].to, r->pairs[k].to_len)) {
                keep = false;
            }
        }
        if (keep) {
            m[w++] = m[j];
        }
    }
    rec->len = w;
}

static int rename_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    const rename_t *r = self;
    uint64_t stack[4];
    size_t words = (r->n + WORD_BITS - 1) / WORD_BITS;
    uint64_t *hit = stack;
    if (words > SL_ARRAY_LEN(stack)) {
        hit = sl_arena_alloc(b->arena, words * sizeof *hit); /* once per batch */
        if (!hit) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "rename: out of memory");
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->records[i].type == SL_T_OBJECT) {
            rename_record(r, &b->records[i], hit, words ? words : 1);
        }
    }
    return 0;
}

static void rename_close(void *self)
{
    (void)self; /* everything lives in the step arena */
}

const sl_transform_type_t sl_transform_rename = {
    .name = "rename",
    .doc = "rename top-level fields (fields: {old: new}); a new name replaces an existing field",
    .config = rename_config,
    .check = rename_check,
    .open = rename_open,
    .process = rename_process,
    .close = rename_close,
};
