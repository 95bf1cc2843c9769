/* Builders shared by the sql sink's tests; see sql_fixture.h. */
#include <string.h>

#include "sql_fixture.h"

sl_node_t *sqlfx_scalar(sl_arena_t *a, const char *text)
{
    sl_node_t *n = sl_arena_calloc(a, sizeof *n);
    n->kind = SL_NODE_SCALAR;
    n->file = "p.yaml";
    n->line = 7;
    n->col = 5;
    n->text = sl_arena_strdup(a, text);
    n->len = strlen(text);
    return n;
}

sl_node_t *sqlfx_seq(sl_arena_t *a, const char *csv)
{
    sl_node_t *n = sl_arena_calloc(a, sizeof *n);
    n->kind = SL_NODE_SEQ;
    n->file = "p.yaml";
    n->line = 8;
    n->col = 5;
    n->items = sl_arena_calloc(a, 8 * sizeof *n->items);
    const char *p = csv;
    while (*p) {
        size_t l = strcspn(p, ",");
        n->items[n->n++] = sqlfx_scalar(a, sl_arena_strndup(a, p, l));
        p += l + (p[l] == ',');
    }
    return n;
}

sl_batch_t sqlfx_batch(sl_arena_t *a, size_t cap)
{
    sl_batch_t b = {0};
    b.arena = a;
    b.cap = cap;
    b.records = sl_arena_calloc(a, b.cap * sizeof *b.records);
    b.lines = sl_arena_calloc(a, b.cap * sizeof *b.lines);
    b.origin = "in/orders.jsonl";
    return b;
}

void sqlfx_push(sl_batch_t *b, sl_value_t rec)
{
    b->lines[b->n] = b->n + 1;
    b->records[b->n++] = rec;
}

sl_value_t sqlfx_obj(sl_arena_t *a)
{
    sl_value_t o;
    sl_object_new(a, &o, 4);
    return o;
}

void sqlfx_set(sl_arena_t *a, sl_value_t *o, const char *k, sl_value_t v)
{
    sl_object_set(a, o, k, strlen(k), v);
}

sl_value_t sqlfx_str(const char *s)
{
    return sl_value_str(s, strlen(s));
}

sl_value_t sqlfx_raw_num(sl_type_t t, const char *text)
{
    sl_value_t v = sl_value_str(text, strlen(text));
    v.type = t;
    v.flags = t == SL_T_DOUBLE ? SL_VF_RAW : 0;
    return v;
}

sl_value_t sqlfx_rec_id_name(sl_arena_t *a, int64_t id, const char *name)
{
    sl_value_t o = sqlfx_obj(a);
    sqlfx_set(a, &o, "id", sl_value_int(id));
    if (name) {
        sqlfx_set(a, &o, "name", sqlfx_str(name));
    }
    return o;
}
