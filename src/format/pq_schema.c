/* Parquet schemas for records: inference with widening, declared schemas
 * from config, and the small tree utilities the lake sink needs.
 *
 * Inference maps each non-null value to a column type:
 *
 *   int -> INT64        float -> DOUBLE     bool -> BOOL
 *   string -> STRING    timestamp -> TIMESTAMP (micros, UTC)
 *   date -> DATE        integer beyond int64 -> STRING (exact digits)
 *   object -> STRUCT of its keys (nested: struct) or JSON (nested: json)
 *   array -> LIST of its items' unified type (struct) or JSON (json)
 *
 * Every column is OPTIONAL. A column that has only seen nulls stays
 * UNKNOWN and is written as STRING if nothing else turns up. When values
 * of a column differ, it widens:
 *
 *   int + float           -> DOUBLE
 *   date + timestamp      -> TIMESTAMP (dates as midnight UTC)
 *   any other two scalars -> STRING (values in their text form: 42,
 *                            true, 1.5, 2026-11-22T10:00:00Z, 2026-11-22)
 *   object or array mixed with anything else (a scalar, or an array with
 *   an object)           -> JSON (every value as JSON text)
 *   STRING stays STRING for any scalar; JSON stays JSON for anything
 *
 * Keys that appear later become new columns after the existing ones, at
 * any depth. Widening never narrows: a column never goes back to a
 * smaller type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/pq_schema.h"

#define ELEMENT_NAME "element"

typedef struct {
    sl_arena_t *a;
    sl_pqs_nested_t nested;
    bool changed;
} infer_t;

static bool is_pow2(size_t n)
{
    return n && (n & (n - 1)) == 0;
}

/* Appends a zeroed child; the children array grows in powers of two, so
 * its capacity follows from nchildren (only trees built here grow; copies
 * are exact-size and never merged into). Invalidates pointers to
 * children. */
static sl_pq_node_t *add_child(sl_arena_t *a, sl_pq_node_t *node)
{
    size_t n = node->nchildren;
    if (n == 0 || is_pow2(n)) {
        size_t cap = n ? n * 2 : 1;
        sl_pq_node_t *grown = sl_arena_alloc(a, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        if (n) {
            memcpy(grown, node->children, n * sizeof *grown);
        }
        node->children = grown;
    }
    sl_pq_node_t *c = &node->children[n];
    memset(c, 0, sizeof *c);
    node->nchildren = n + 1;
    return c;
}

/* name (NUL-terminated) equals key[0..klen). The first byte decides
 * most mismatches; a key holding a NUL never matches. */
/* name (NUL-terminated) equals key[0..klen); a key holding a NUL never
 * matches. Stops at name's end, so it never reads past it. Hot: called per
 * field of every record. */
static bool name_is(const char *name, const char *key, size_t klen)
{
    for (size_t i = 0; i < klen; i++) {
        if (name[i] != key[i] || name[i] == '\0') {
            return false;
        }
    }
    return name[klen] == '\0';
}

/* The child named key, trying index hint first (records usually repeat
 * their key order). */
static long find_child(const sl_pq_node_t *node, const char *key, size_t klen, size_t hint)
{
    if (hint < node->nchildren && name_is(node->children[hint].name, key, klen)) {
        return (long)hint;
    }
    for (size_t i = 0; i < node->nchildren; i++) {
        if (name_is(node->children[i].name, key, klen)) {
            return (long)i;
        }
    }
    return -1;
}

static bool excluded(const char *const *keys, const char *key, size_t klen)
{
    for (size_t i = 0; keys && keys[i]; i++) {
        if (name_is(keys[i], key, klen)) {
            return true;
        }
    }
    return false;
}

static sl_pq_type_t scalar_type(const sl_value_t *v)
{
    switch (v->type) {
    case SL_T_BOOL:
        return SL_PQ_BOOL;
    case SL_T_INT:
        return SL_PQ_INT64;
    case SL_T_DOUBLE:
        return SL_PQ_DOUBLE;
    case SL_T_TIMESTAMP:
        return SL_PQ_TIMESTAMP;
    case SL_T_DATE:
        return SL_PQ_DATE;
    default: /* strings and big integers */
        return SL_PQ_STRING;
    }
}

static bool is_nested(sl_pq_type_t t)
{
    return t == SL_PQ_STRUCT || t == SL_PQ_LIST;
}

static void make_json(infer_t *c, sl_pq_node_t *node)
{
    if (node->type != SL_PQ_JSON) {
        node->type = SL_PQ_JSON;
        node->children = NULL;
        node->nchildren = 0;
        c->changed = true;
    }
}

/* The type two different scalar types widen to. */
static sl_pq_type_t widen_scalars(sl_pq_type_t a, sl_pq_type_t b)
{
    if ((a == SL_PQ_INT64 && b == SL_PQ_DOUBLE) || (a == SL_PQ_DOUBLE && b == SL_PQ_INT64)) {
        return SL_PQ_DOUBLE;
    }
    if ((a == SL_PQ_DATE && b == SL_PQ_TIMESTAMP) || (a == SL_PQ_TIMESTAMP && b == SL_PQ_DATE)) {
        return SL_PQ_TIMESTAMP;
    }
    return SL_PQ_STRING;
}

static int unify(infer_t *c, sl_pq_node_t *node, const sl_value_t *v);

/* Merges an object's members into a STRUCT node's children. */
static int unify_members(infer_t *c, sl_pq_node_t *node, const sl_value_t *obj,
                         const char *const *exclude)
{
    for (uint32_t j = 0; j < obj->len; j++) {
        const sl_member_t *m = &obj->u.members[j];
        if (exclude && excluded(exclude, m->key, m->klen)) {
            continue;
        }
        long ci = find_child(node, m->key, m->klen, j);
        if (ci < 0) {
            if (memchr(m->key, '\0', m->klen)) {
                continue; /* cannot be a column name */
            }
            char *name = sl_arena_strndup(c->a, m->key, m->klen);
            sl_pq_node_t *child = name ? add_child(c->a, node) : NULL;
            if (!child) {
                return SL_ENOMEM;
            }
            child->name = name;
            child->type = SL_PQ_UNKNOWN;
            ci = (long)node->nchildren - 1;
            c->changed = true;
        }
        int rc = unify(c, &node->children[ci], &m->val);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int unify(infer_t *c, sl_pq_node_t *node, const sl_value_t *v)
{
    switch (v->type) {
    case SL_T_NULL:
        return 0;
    case SL_T_OBJECT:
        if (c->nested == SL_PQS_NESTED_JSON ||
            (node->type != SL_PQ_UNKNOWN && node->type != SL_PQ_STRUCT)) {
            make_json(c, node);
            return 0;
        }
        if (node->type == SL_PQ_UNKNOWN) {
            node->type = SL_PQ_STRUCT;
            c->changed = true;
        }
        return unify_members(c, node, v, NULL);
    case SL_T_ARRAY:
        if (c->nested == SL_PQS_NESTED_JSON ||
            (node->type != SL_PQ_UNKNOWN && node->type != SL_PQ_LIST)) {
            make_json(c, node);
            return 0;
        }
        if (node->type == SL_PQ_UNKNOWN) {
            sl_pq_node_t *el = add_child(c->a, node);
            if (!el) {
                return SL_ENOMEM;
            }
            el->name = ELEMENT_NAME;
            el->type = SL_PQ_UNKNOWN;
            node->type = SL_PQ_LIST;
            c->changed = true;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = unify(c, &node->children[0], &v->u.items[i]);
            if (rc) {
                return rc;
            }
        }
        return 0;
    default: {
        sl_pq_type_t t = scalar_type(v);
        if (node->type == t || node->type == SL_PQ_JSON) {
            return 0;
        }
        if (node->type == SL_PQ_UNKNOWN) {
            node->type = t;
            c->changed = true;
        } else if (is_nested(node->type)) {
            make_json(c, node);
        } else {
            sl_pq_type_t w = widen_scalars(node->type, t);
            if (w != node->type) {
                node->type = w;
                c->changed = true;
            }
        }
        return 0;
    }
    }
}

int sl_pq_schema_merge(sl_arena_t *a, sl_pq_node_t **root, const sl_value_t *records, size_t n,
                       sl_pqs_nested_t nested, const char *const *exclude_keys, bool *changed)
{
    infer_t c = {a, nested, false};
    for (size_t i = 0; i < n; i++) {
        if (records[i].type != SL_T_OBJECT) {
            continue;
        }
        int rc = unify_members(&c, *root, &records[i], exclude_keys);
        if (rc) {
            return rc;
        }
    }
    if (c.changed && changed) {
        *changed = true;
    }
    return 0;
}

int sl_pq_schema_infer(sl_arena_t *a, const sl_value_t *records, size_t n, sl_pqs_nested_t nested,
                       const char *const *exclude_keys, sl_pq_node_t **root)
{
    sl_pq_node_t *r = sl_arena_calloc(a, sizeof *r);
    if (!r) {
        return SL_ENOMEM;
    }
    r->name = "schema";
    r->type = SL_PQ_STRUCT;
    r->required = true;
    *root = r;
    return sl_pq_schema_merge(a, root, records, n, nested, exclude_keys, NULL);
}

/* ---- copies ---- */

static int copy_node(sl_arena_t *a, const sl_pq_node_t *src, sl_pq_node_t *dst, bool finalize)
{
    *dst = *src;
    dst->children = NULL;
    dst->nchildren = 0;
    if (finalize && src->type == SL_PQ_UNKNOWN) {
        dst->type = SL_PQ_STRING;
        return 0;
    }
    if (finalize && src->type == SL_PQ_STRUCT && src->nchildren == 0) {
        /* Parquet has no empty groups; "{}" keeps the value. */
        dst->type = SL_PQ_JSON;
        return 0;
    }
    if (src->nchildren == 0) {
        return 0;
    }
    dst->children = sl_arena_alloc(a, src->nchildren * sizeof *dst->children);
    if (!dst->children) {
        return SL_ENOMEM;
    }
    dst->nchildren = src->nchildren;
    for (size_t i = 0; i < src->nchildren; i++) {
        int rc = copy_node(a, &src->children[i], &dst->children[i], finalize);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int sl_pq_schema_finalize(sl_arena_t *a, const sl_pq_node_t *root, sl_pq_node_t **out)
{
    sl_pq_node_t *r = sl_arena_alloc(a, sizeof *r);
    if (!r) {
        return SL_ENOMEM;
    }
    /* The root is a STRUCT even when it has no columns yet. */
    int rc = copy_node(a, root, r, root->nchildren > 0);
    if (rc) {
        return rc;
    }
    *out = r;
    return 0;
}

int sl_pq_schema_clone(sl_arena_t *a, const sl_pq_node_t *src, sl_pq_node_t **out)
{
    sl_pq_node_t *r = sl_arena_alloc(a, sizeof *r);
    if (!r) {
        return SL_ENOMEM;
    }
    int rc = copy_node(a, src, r, false);
    if (rc) {
        return rc;
    }
    *out = r;
    return 0;
}

size_t sl_pq_schema_drop(sl_pq_node_t *root, const char *const *keys)
{
    size_t w = 0, removed = 0;
    for (size_t i = 0; i < root->nchildren; i++) {
        if (excluded(keys, root->children[i].name, strlen(root->children[i].name))) {
            removed++;
            continue;
        }
        if (w != i) {
            root->children[w] = root->children[i];
        }
        w++;
    }
    root->nchildren = w;
    return removed;
}

bool sl_pq_schema_equal(const sl_pq_node_t *a, const sl_pq_node_t *b)
{
    if (a->type != b->type || a->required != b->required || a->nchildren != b->nchildren ||
        strcmp(a->name ? a->name : "", b->name ? b->name : "") != 0) {
        return false;
    }
    if (a->type == SL_PQ_DECIMAL && (a->precision != b->precision || a->scale != b->scale)) {
        return false;
    }
    for (size_t i = 0; i < a->nchildren; i++) {
        if (!sl_pq_schema_equal(&a->children[i], &b->children[i])) {
            return false;
        }
    }
    return true;
}

/* ---- conforming values to an inferred schema ---- */

static int to_text(sl_arena_t *a, sl_value_t *v)
{
    sl_buf_t b = SL_BUF_INIT;
    int rc = sl_value_to_text(v, &b);
    char *s = rc == 0 ? sl_arena_strndup(a, b.data ? b.data : "", b.len) : NULL;
    size_t n = b.len;
    sl_buf_free(&b);
    if (!s) {
        return SL_ENOMEM;
    }
    *v = sl_value_str(s, n);
    return 0;
}

int sl_pq_schema_conform(sl_arena_t *a, const sl_pq_node_t *node, sl_value_t *v)
{
    if (v->type == SL_T_NULL) {
        return 0;
    }
    switch (node->type) {
    case SL_PQ_STRING:
        return v->type == SL_T_STRING ? 0 : to_text(a, v);
    case SL_PQ_DOUBLE:
        if (v->type == SL_T_INT) {
            *v = sl_value_double((double)v->u.i);
        }
        return 0;
    case SL_PQ_TIMESTAMP:
        if (v->type == SL_T_DATE) {
            *v = sl_value_timestamp(v->u.i * 86400 * INT64_C(1000000));
        }
        return 0;
    case SL_PQ_STRUCT:
        if (v->type != SL_T_OBJECT) {
            return 0;
        }
        for (uint32_t j = 0; j < v->len; j++) {
            sl_member_t *m = &v->u.members[j];
            long ci = find_child(node, m->key, m->klen, j);
            if (ci >= 0) {
                int rc = sl_pq_schema_conform(a, &node->children[ci], &m->val);
                if (rc) {
                    return rc;
                }
            }
        }
        return 0;
    case SL_PQ_LIST:
        if (v->type != SL_T_ARRAY || node->nchildren == 0) {
            return 0;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = sl_pq_schema_conform(a, &node->children[0], &v->u.items[i]);
            if (rc) {
                return rc;
            }
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- text form ---- */

/* "null" for a column that held only nulls so far, else the writer's name. */
static const char *type_label(sl_pq_type_t t)
{
    return t == SL_PQ_UNKNOWN ? "null" : sl_pq_type_name(t);
}

static int format_type(const sl_pq_node_t *node, sl_buf_t *out)
{
    int rc = 0;
    switch (node->type) {
    case SL_PQ_DECIMAL:
        rc = sl_buf_printf(out, "decimal(%d,%d)", node->precision, node->scale);
        break;
    case SL_PQ_LIST:
        rc = sl_buf_append_c(out, "list<");
        if (!rc && node->nchildren > 0) {
            rc = format_type(&node->children[0], out);
        }
        if (!rc) {
            rc = sl_buf_putc(out, '>');
        }
        break;
    case SL_PQ_STRUCT:
        rc = sl_buf_append_c(out, "struct<");
        for (size_t i = 0; i < node->nchildren && !rc; i++) {
            const sl_pq_node_t *c = &node->children[i];
            rc = sl_buf_printf(out, "%s%s: ", i ? ", " : "", c->name ? c->name : "");
            if (!rc) {
                rc = format_type(c, out);
            }
        }
        if (!rc) {
            rc = sl_buf_putc(out, '>');
        }
        break;
    default:
        rc = sl_buf_append_c(out, type_label(node->type));
        break;
    }
    if (!rc && node->required) {
        rc = sl_buf_append_c(out, " not null");
    }
    return rc;
}

int sl_pq_schema_format(const sl_pq_node_t *node, sl_buf_t *out)
{
    if (node->required && node->type == SL_PQ_STRUCT) {
        /* The root is REQUIRED by construction; saying so adds nothing. */
        sl_pq_node_t shown = *node;
        shown.required = false;
        return format_type(&shown, out);
    }
    return format_type(node, out);
}

/* ---- declared schemas ---- */

typedef struct {
    sl_arena_t *a;
    const sl_node_t *node; /* the scalar being parsed, for messages */
    const char *what;
    const char *field; /* dotted path of the field, for messages */
    const char *s;     /* whole text */
    const char *p;     /* cursor */
    sl_err_t *err;
} parser_t;

static int perr(parser_t *ps, const char *fmt, const char *arg)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, arg);
    return sl_node_error(ps->err, ps->node, "%s: field '%s': %s", ps->what, ps->field, msg);
}

static void skip_ws(parser_t *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t') {
        ps->p++;
    }
}

/* A word of letters, digits and underscores (case-insensitive compare
 * later). Returns its length. */
static size_t word(parser_t *ps)
{
    const char *q = ps->p;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
           *q == '_') {
        q++;
    }
    return (size_t)(q - ps->p);
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(w, lit, n) == 0;
}

typedef struct {
    const char *name;
    sl_pq_type_t type;
} type_name_t;

static const type_name_t type_names[] = {
    {"bool", SL_PQ_BOOL},           {"boolean", SL_PQ_BOOL},  {"int32", SL_PQ_INT32},
    {"int64", SL_PQ_INT64},         {"int", SL_PQ_INT64},     {"bigint", SL_PQ_INT64},
    {"float", SL_PQ_FLOAT},         {"double", SL_PQ_DOUBLE}, {"string", SL_PQ_STRING},
    {"binary", SL_PQ_BINARY},       {"json", SL_PQ_JSON},     {"date", SL_PQ_DATE},
    {"timestamp", SL_PQ_TIMESTAMP},
};

#define TYPE_LIST                                                                                  \
    "bool, int32, int64, float, double, string, binary, json, date, timestamp, "                   \
    "decimal(p,s), list<T>, struct<name: T, ...>"

/* Reads "<int>" at the cursor. */
static bool read_int(parser_t *ps, int *out)
{
    skip_ws(ps);
    if (*ps->p < '0' || *ps->p > '9') {
        return false;
    }
    long v = 0;
    while (*ps->p >= '0' && *ps->p <= '9' && v < 100000) {
        v = v * 10 + (*ps->p++ - '0');
    }
    *out = (int)v;
    skip_ws(ps);
    return true;
}

static int parse_type(parser_t *ps, sl_pq_node_t *node, int depth);

/* After "struct<": fields until '>'. */
static int parse_struct_fields(parser_t *ps, sl_pq_node_t *node, int depth)
{
    const char *outer = ps->field;
    skip_ws(ps);
    if (*ps->p == '>') {
        return perr(ps, "struct<> needs at least one field%s", "");
    }
    for (;;) {
        skip_ws(ps);
        const char *start = ps->p;
        const char *colon = start;
        /* A field name runs to the ':' (names may hold spaces or dots). */
        while (*colon && *colon != ':' && *colon != ',' && *colon != '<' && *colon != '>') {
            colon++;
        }
        const char *end = colon;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if (*colon != ':' || end == start) {
            ps->field = outer;
            return perr(ps, "expected 'name: type' inside struct<...> at '%s'", start);
        }
        char *name = sl_arena_strndup(ps->a, start, (size_t)(end - start));
        if (!name) {
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < node->nchildren; i++) {
            if (strcmp(node->children[i].name, name) == 0) {
                ps->field = outer;
                return perr(ps, "struct field '%s' appears twice", name);
            }
        }
        sl_pq_node_t *c = add_child(ps->a, node);
        if (!c) {
            return SL_ENOMEM;
        }
        c->name = name;
        ps->field = sl_arena_sprintf(ps->a, "%s.%s", outer, name);
        if (!ps->field) {
            return SL_ENOMEM;
        }
        ps->p = colon + 1;
        int rc = parse_type(ps, &node->children[node->nchildren - 1], depth + 1);
        if (rc) {
            return rc;
        }
        ps->field = outer;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == '>') {
            ps->p++;
            return 0;
        }
        return perr(ps, "expected ',' or '>' in struct<...> at '%s'", *ps->p ? ps->p : "end");
    }
}

/* Parses one type at the cursor (with an optional "not null"). */
static int parse_type(parser_t *ps, sl_pq_node_t *node, int depth)
{
    if (depth > 32) {
        return perr(ps, "types nested too deeply%s", "");
    }
    skip_ws(ps);
    const char *w = ps->p;
    size_t n = word(ps);
    if (n == 0) {
        return perr(ps, "expected a type at '%s' (" TYPE_LIST ")", *w ? w : "end");
    }
    ps->p += n;
    bool known = false;
    for (size_t i = 0; i < SL_ARRAY_LEN(type_names); i++) {
        if (word_is(w, n, type_names[i].name)) {
            node->type = type_names[i].type;
            known = true;
            break;
        }
    }
    if (!known && word_is(w, n, "decimal")) {
        skip_ws(ps);
        int prec = 0, scale = 0;
        if (*ps->p != '(') {
            return perr(ps, "decimal needs (precision,scale), e.g. decimal(10,2)%s", "");
        }
        ps->p++;
        if (!read_int(ps, &prec) || *ps->p != ',') {
            return perr(ps, "decimal needs (precision,scale), e.g. decimal(10,2)%s", "");
        }
        ps->p++;
        if (!read_int(ps, &scale) || *ps->p != ')') {
            return perr(ps, "decimal needs (precision,scale), e.g. decimal(10,2)%s", "");
        }
        ps->p++;
        if (prec < 1 || prec > 38 || scale > prec) {
            char buf[64];
            snprintf(buf, sizeof buf, "decimal(%d,%d)", prec, scale);
            return perr(ps, "%s: precision must be 1..38 and scale 0..precision", buf);
        }
        node->type = SL_PQ_DECIMAL;
        node->precision = prec;
        node->scale = scale;
        known = true;
    } else if (!known && word_is(w, n, "list")) {
        skip_ws(ps);
        if (*ps->p != '<') {
            return perr(ps, "list needs an element type, e.g. list<string>%s", "");
        }
        ps->p++;
        node->type = SL_PQ_LIST;
        sl_pq_node_t *el = add_child(ps->a, node);
        if (!el) {
            return SL_ENOMEM;
        }
        el->name = ELEMENT_NAME;
        int rc = parse_type(ps, el, depth + 1);
        if (rc) {
            return rc;
        }
        skip_ws(ps);
        if (*ps->p != '>') {
            return perr(ps, "expected '>' to close list<...> at '%s'", *ps->p ? ps->p : "end");
        }
        ps->p++;
        known = true;
    } else if (!known && word_is(w, n, "struct")) {
        skip_ws(ps);
        if (*ps->p != '<') {
            return perr(ps, "struct needs fields, e.g. struct<city: string>%s", "");
        }
        ps->p++;
        node->type = SL_PQ_STRUCT;
        int rc = parse_struct_fields(ps, node, depth);
        if (rc) {
            return rc;
        }
        known = true;
    }
    if (!known) {
        char *bad = sl_arena_strndup(ps->a, w, n);
        return perr(ps, "unknown type '%s' (expected " TYPE_LIST ")", bad ? bad : "?");
    }
    /* Optional "not null". */
    skip_ws(ps);
    const char *save = ps->p;
    size_t n1 = word(ps);
    if (n1 && word_is(ps->p, n1, "not")) {
        ps->p += n1;
        skip_ws(ps);
        size_t n2 = word(ps);
        if (!word_is(ps->p, n2, "null")) {
            return perr(ps, "expected 'not null' at '%s'", save);
        }
        ps->p += n2;
        node->required = true;
    } else if (n1 && word_is(ps->p, n1, "null")) {
        ps->p += n1; /* "int64 null": optional, the default */
    }
    return 0;
}

static int parse_field(parser_t *ps, const sl_node_t *value, sl_pq_node_t *node, int depth);

static int parse_map(parser_t *ps, const sl_node_t *map, sl_pq_node_t *node, int depth)
{
    const char *outer = ps->field;
    node->type = SL_PQ_STRUCT;
    if (map->n == 0) {
        return sl_node_error(ps->err, map, "%s%s%s%s: needs at least one field", ps->what,
                             outer ? ": field '" : "", outer ? outer : "", outer ? "'" : "");
    }
    for (size_t i = 0; i < map->n; i++) {
        const sl_node_t *k = map->pairs[i].key;
        for (size_t j = 0; j < node->nchildren; j++) {
            if (strcmp(node->children[j].name, k->text) == 0) {
                return sl_node_error(ps->err, k, "%s: field '%s' appears twice", ps->what, k->text);
            }
        }
        if (k->len == 0) {
            return sl_node_error(ps->err, k, "%s: empty field name", ps->what);
        }
        sl_pq_node_t *c = add_child(ps->a, node);
        if (!c) {
            return SL_ENOMEM;
        }
        c->name = sl_arena_strdup(ps->a, k->text);
        ps->field = outer ? sl_arena_sprintf(ps->a, "%s.%s", outer, k->text) : c->name;
        if (!c->name || !ps->field) {
            return SL_ENOMEM;
        }
        int rc =
            parse_field(ps, map->pairs[i].value, &node->children[node->nchildren - 1], depth + 1);
        if (rc) {
            return rc;
        }
        ps->field = outer;
    }
    return 0;
}

static int parse_field(parser_t *ps, const sl_node_t *value, sl_pq_node_t *node, int depth)
{
    if (depth > 32) {
        return sl_node_error(ps->err, value, "%s: field '%s': types nested too deeply", ps->what,
                             ps->field);
    }
    if (value->kind == SL_NODE_MAP) {
        return parse_map(ps, value, node, depth);
    }
    if (value->kind == SL_NODE_SEQ) {
        if (value->n != 1) {
            return sl_node_error(ps->err, value,
                                 "%s: field '%s': a list type is written [T] with one element "
                                 "type (or \"list<T>\")",
                                 ps->what, ps->field);
        }
        node->type = SL_PQ_LIST;
        sl_pq_node_t *el = add_child(ps->a, node);
        if (!el) {
            return SL_ENOMEM;
        }
        el->name = ELEMENT_NAME;
        return parse_field(ps, value->items[0], el, depth + 1);
    }
    if (value->is_null || value->len == 0) {
        return sl_node_error(ps->err, value,
                             "%s: field '%s': missing type (expected " TYPE_LIST ")", ps->what,
                             ps->field);
    }
    ps->node = value;
    ps->s = ps->p = value->text;
    int rc = parse_type(ps, node, depth);
    if (rc) {
        return rc;
    }
    skip_ws(ps);
    if (*ps->p) {
        return perr(ps, "unexpected text '%s' after the type", ps->p);
    }
    return 0;
}

int sl_pq_schema_parse(sl_arena_t *a, const sl_node_t *map, const char *what, sl_pq_node_t **root,
                       sl_err_t *err)
{
    if (!map || map->kind != SL_NODE_MAP) {
        return sl_node_error(err, map, "%s: expected a map of column: type", what);
    }
    sl_pq_node_t *r = sl_arena_calloc(a, sizeof *r);
    if (!r) {
        return SL_ENOMEM;
    }
    r->name = "schema";
    r->required = true;
    parser_t ps = {a, map, what, NULL, NULL, NULL, err};
    int rc = parse_map(&ps, map, r, 0);
    if (rc) {
        return rc;
    }
    *root = r;
    return 0;
}
