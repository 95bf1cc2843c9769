/* The `select` transform: keeps the listed top-level fields, in the listed
 * order (`fields: [id, name]`), or drops the listed ones (`exclude:
 * [password]`). Names are exact top-level keys: a dot is part of the name.
 * A listed field a record lacks is left out, not added as null.
 *
 * Records are rearranged in place (members swapped into order, the array
 * shortened), so selecting allocates nothing per record. */
#include <string.h>

#include "sluice/plugin.h"

static const sl_field_spec_t select_config[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "select"},
    {.name = "fields", .type = SL_FIELD_STRING_LIST,
     .doc = "top-level fields to keep, in this order"},
    {.name = "exclude", .type = SL_FIELD_STRING_LIST,
     .doc = "top-level fields to drop (instead of fields)"},
    {.name = NULL},
};

typedef struct {
    const char **names;
    uint32_t *lens;
    size_t n;
    bool exclude;
} select_t;

/* Rules between keys, without the step: exactly one list, of distinct
 * non-empty names. For `sluice validate`; open() runs it first. */
static int select_check(const sl_node_t *cfg, sl_err_t *err)
{
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    const sl_node_t *exclude = sl_node_get(cfg, "exclude");
    if ((fields != NULL) == (exclude != NULL)) {
        return sl_node_error(err, cfg, "select: give exactly one of 'fields' (keep) or "
                             "'exclude' (drop)");
    }
    const sl_node_t *list = fields ? fields : exclude;
    const char *key = fields ? "fields" : "exclude";
    size_t n = list->kind == SL_NODE_SEQ ? list->n : 1;
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *item = list->kind == SL_NODE_SEQ ? list->items[i] : list;
        if (item->kind != SL_NODE_SCALAR || item->is_null || item->len == 0) {
            return sl_node_error(err, item, "select: %s: item %zu must be a field name", key,
                                 i + 1);
        }
    }
    if (n == 0 && fields) {
        return sl_node_error(err, list, "select: fields: the list is empty");
    }
    return sl_cfg_distinct(cfg, key, "select", err);
}

static int read_names(sl_step_ctx_t *ctx, const sl_node_t *list, select_t *s)
{
    size_t n = list->kind == SL_NODE_SEQ ? list->n : 1;
    s->names = sl_arena_calloc(ctx->arena, (n ? n : 1) * sizeof *s->names);
    s->lens = sl_arena_calloc(ctx->arena, (n ? n : 1) * sizeof *s->lens);
    if (!s->names || !s->lens) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "select: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const sl_node_t *item = list->kind == SL_NODE_SEQ ? list->items[i] : list;
        s->names[s->n] = sl_arena_strndup(ctx->arena, item->text, item->len);
        if (!s->names[s->n]) {
            return sl_err_set(&ctx->err, SL_ENOMEM, "select: out of memory");
        }
        s->lens[s->n++] = (uint32_t)item->len;
    }
    return 0;
}

static int select_open(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self)
{
    int rc = select_check(cfg, &ctx->err);
    if (rc) {
        return rc;
    }
    const sl_node_t *fields = sl_node_get(cfg, "fields");
    const sl_node_t *exclude = sl_node_get(cfg, "exclude");
    select_t *s = sl_arena_calloc(ctx->arena, sizeof *s);
    if (!s) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "select: out of memory");
    }
    s->exclude = exclude != NULL;
    rc = read_names(ctx, fields ? fields : exclude, s);
    if (rc) {
        return rc;
    }
    *self = s;
    return 0;
}

static bool key_is(const sl_member_t *m, const char *name, uint32_t len)
{
    return m->klen == len && memcmp(m->key, name, len) == 0;
}

static void keep_fields(const select_t *s, sl_value_t *rec)
{
    sl_member_t *m = rec->u.members;
    uint32_t w = 0;
    for (size_t k = 0; k < s->n; k++) {
        /* Members before w are already placed, so search after them. */
        for (uint32_t j = w; j < rec->len; j++) {
            if (key_is(&m[j], s->names[k], s->lens[k])) {
                sl_member_t t = m[w];
                m[w] = m[j];
                m[j] = t;
                w++;
                break;
            }
        }
    }
    rec->len = w;
}

static void drop_fields(const select_t *s, sl_value_t *rec)
{
    sl_member_t *m = rec->u.members;
    uint32_t w = 0;
    for (uint32_t j = 0; j < rec->len; j++) {
        bool drop = false;
        for (size_t k = 0; k < s->n && !drop; k++) {
            drop = key_is(&m[j], s->names[k], s->lens[k]);
        }
        if (!drop) {
            m[w++] = m[j];
        }
    }
    rec->len = w;
}

static int select_process(void *self, sl_step_ctx_t *ctx, sl_batch_t *b)
{
    (void)ctx;
    const select_t *s = self;
    for (size_t i = 0; i < b->n; i++) {
        sl_value_t *rec = &b->records[i];
        if (rec->type != SL_T_OBJECT) {
            continue;
        }
        if (s->exclude) {
            drop_fields(s, rec);
        } else {
            keep_fields(s, rec);
        }
    }
    return 0;
}

static void select_close(void *self)
{
    (void)self; /* everything lives in the step arena */
}

const sl_transform_type_t sl_transform_select = {
    .name = "select",
    .doc = "keep the listed top-level fields in order (fields) or drop some (exclude)",
    .config = select_config,
    .check = select_check,
    .open = select_open,
    .process = select_process,
    .close = select_close,
};
