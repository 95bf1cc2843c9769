/* The Parquet writer: schema, record shredding, row groups and footer.
 *
 * Records are shredded into leaf columns with Dremel definition and
 * repetition levels: an OPTIONAL node adds one definition level, a LIST
 * adds one more for "has elements" and one repetition level; a null or
 * missing value records, in every leaf below it, the definition level of
 * its parent. LISTs use the three-level form
 *     <optional|required> group <name> (LIST) {
 *         repeated group list { <optional|required> <element> } }
 * whose element is always named "element". A record that fails to convert
 * is rolled back in every leaf (each leaf remembers its counts at the
 * record start), so it leaves nothing behind. When the rows or buffered
 * bytes reach their limits the row group is encoded leaf after leaf, and
 * its RowGroup metadata is serialized at once so the footer is just the
 * concatenation at finish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/arena.h"
#include "sluice/timeutil.h"
#include "pq_internal.h"

#define CREATED_BY "sluice version 0.1.0"
#define WRITER_VERSION "0.1.0"
#define MAX_DEPTH 48
#define STAGE_BYTES ((size_t)1 << 20)
#define DIRECT_BYTES ((size_t)64 << 10)

typedef struct pqnode {
    const char *name;
    size_t klen;
    sl_pq_type_t type;
    bool required;
    int precision, scale;
    struct pqnode *children;
    size_t nchildren;
    uint8_t def_null; /* definition level recorded when this node is null */
    uint8_t def;      /* ... when it is present (max_def for a leaf) */
    uint8_t elem_rep; /* LIST: repetition level of elements after the first */
    size_t leaf_first, leaf_end;
    uint32_t hint; /* member index where this key was found last time */
    sl_pq_leaf_t *leaf;
} pqnode_t;

struct sl_pq_writer {
    sl_arena_t *arena; /* schema copy, leaf paths, key/value copies */
    pqnode_t root;
    sl_pq_leaf_t *leaves;
    size_t nleaves;
    sl_pq_ctx_t ctx;
    sl_pq_out_t out;
    sl_pq_codec_t codec;
    size_t row_group_rows, row_group_bytes;
    const char **kv; /* key, value, ... */
    size_t nkv;
    uint64_t rows, rg_rows;
    uint64_t s_buffered;
    sl_buf_t rg_meta; /* encoded RowGroup structs */
    size_t n_rg;
    sl_buf_t cols; /* encoded ColumnChunk structs of the current row group */
    int failed;
    bool finished;
    struct {
        const pqnode_t *node;
        int64_t index; /* list element index, or -1 */
    } path[MAX_DEPTH + 1];
};

const char *sl_pq_type_name(sl_pq_type_t t)
{
    switch (t) {
    case SL_PQ_BOOL:
        return "bool";
    case SL_PQ_INT32:
        return "int32";
    case SL_PQ_INT64:
        return "int64";
    case SL_PQ_FLOAT:
        return "float";
    case SL_PQ_DOUBLE:
        return "double";
    case SL_PQ_STRING:
        return "string";
    case SL_PQ_BINARY:
        return "binary";
    case SL_PQ_JSON:
        return "json";
    case SL_PQ_DATE:
        return "date";
    case SL_PQ_TIMESTAMP:
        return "timestamp";
    case SL_PQ_DECIMAL:
        return "decimal";
    case SL_PQ_STRUCT:
        return "struct";
    case SL_PQ_LIST:
        return "list";
    }
    return "unknown";
}

/* ---------------------------------------------------------------- */
/* output                                                             */

int sl_pq_out_flush(sl_pq_out_t *o)
{
    if (o->stage.len == 0) {
        return 0;
    }
    int rc = o->fn(o->ud, o->stage.data, o->stage.len);
    if (rc) {
        return rc < 0 ? rc : SL_EIO;
    }
    o->flushed += o->stage.len;
    sl_buf_clear(&o->stage);
    return 0;
}

int sl_pq_out_write(sl_pq_out_t *o, const void *p, size_t n)
{
    /* pages (large) go straight out; headers and small pages are staged */
    if (o->stage.len + n > STAGE_BYTES || n >= DIRECT_BYTES) {
        int rc = sl_pq_out_flush(o);
        if (rc) {
            return rc;
        }
        if (n >= DIRECT_BYTES) {
            rc = o->fn(o->ud, p, n);
            if (rc) {
                return rc < 0 ? rc : SL_EIO;
            }
            o->flushed += n;
            o->pos += n;
            return 0;
        }
    }
    int rc = sl_buf_append(&o->stage, p, n);
    if (rc == 0) {
        o->pos += n;
    }
    return rc;
}

/* ---------------------------------------------------------------- */
/* schema                                                             */

static bool valid_type(sl_pq_type_t t)
{
    return t >= SL_PQ_BOOL && t <= SL_PQ_LIST;
}

/* Copies src into dst (names into the arena) and validates it. path is
 * the dotted name of src for messages. */
static int copy_node(sl_pq_writer_t *w, const sl_pq_node_t *src, pqnode_t *dst, int depth,
                     const char *path, sl_err_t *err)
{
    if (depth > MAX_DEPTH) {
        return sl_err_set(err, SL_EINVAL, "parquet schema: '%s' is nested deeper than %d levels",
                          path, MAX_DEPTH);
    }
    if (!valid_type(src->type)) {
        return sl_err_set(err, SL_EINVAL, "parquet schema: '%s' has an unknown type %d", path,
                          (int)src->type);
    }
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->required = src->required;
    dst->precision = src->precision;
    dst->scale = src->scale;
    const char *name = src->name ? src->name : "";
    dst->name = sl_arena_strdup(w->arena, name);
    if (!dst->name) {
        return SL_ENOMEM;
    }
    dst->klen = strlen(name);
    if (src->type == SL_PQ_DECIMAL) {
        if (src->precision < 1 || src->precision > 38 || src->scale < 0 ||
            src->scale > src->precision) {
            return sl_err_set(err, SL_EINVAL,
                              "parquet schema: '%s' is decimal(%d,%d); precision must be 1..38 "
                              "and scale 0..precision",
                              path, src->precision, src->scale);
        }
    }
    if (src->type == SL_PQ_STRUCT || src->type == SL_PQ_LIST) {
        if (src->type == SL_PQ_LIST && src->nchildren != 1) {
            return sl_err_set(err, SL_EINVAL,
                              "parquet schema: list '%s' needs exactly one child (the element)",
                              path);
        }
        if (src->nchildren == 0 || !src->children) {
            return sl_err_set(err, SL_EINVAL, "parquet schema: struct '%s' has no fields", path);
        }
        dst->children = sl_arena_calloc(w->arena, src->nchildren * sizeof *dst->children);
        if (!dst->children) {
            return SL_ENOMEM;
        }
        dst->nchildren = src->nchildren;
        for (size_t i = 0; i < src->nchildren; i++) {
            const sl_pq_node_t *ch = &src->children[i];
            const char *cn = ch->name ? ch->name : "";
            if (src->type == SL_PQ_STRUCT) {
                if (!*cn) {
                    return sl_err_set(err, SL_EINVAL,
                                      "parquet schema: field %zu of '%s' has no name", i, path);
                }
                for (size_t j = 0; j < i; j++) {
                    const char *on = src->children[j].name;
                    if (on && strcmp(on, cn) == 0) {
                        return sl_err_set(err, SL_EINVAL,
                                          "parquet schema: '%s' has two fields named '%s'", path,
                                          cn);
                    }
                }
            }
            char *cp = src->type == SL_PQ_LIST ? sl_arena_sprintf(w->arena, "%s[]", path)
                       : *path              ? sl_arena_sprintf(w->arena, "%s.%s", path, cn)
                                            : sl_arena_strdup(w->arena, cn);
            if (!cp) {
                return SL_ENOMEM;
            }
            int rc = copy_node(w, ch, &dst->children[i], depth + 1, cp, err);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static size_t count_leaves(const pqnode_t *n)
{
    if (n->type != SL_PQ_STRUCT && n->type != SL_PQ_LIST) {
        return 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n->nchildren; i++) {
        k += count_leaves(&n->children[i]);
    }
    return k;
}

static void leaf_physical(sl_pq_leaf_t *l, const pqnode_t *n)
{
    l->type = n->type;
    l->precision = n->precision;
    l->scale = n->scale;
    switch (n->type) {
    case SL_PQ_BOOL:
        l->phys = PQ_BOOLEAN;
        break;
    case SL_PQ_INT32:
    case SL_PQ_DATE:
        l->phys = PQ_INT32;
        l->width = 4;
        break;
    case SL_PQ_INT64:
    case SL_PQ_TIMESTAMP:
        l->phys = PQ_INT64;
        l->width = 8;
        break;
    case SL_PQ_FLOAT:
        l->phys = PQ_FLOAT;
        l->width = 4;
        break;
    case SL_PQ_DOUBLE:
        l->phys = PQ_DOUBLE;
        l->width = 8;
        break;
    case SL_PQ_DECIMAL:
        if (n->precision <= 9) {
            l->phys = PQ_INT32;
            l->width = 4;
        } else if (n->precision <= 18) {
            l->phys = PQ_INT64;
            l->width = 8;
        } else {
            l->phys = PQ_FIXED_LEN_BYTE_ARRAY;
            l->width = sl_pq_decimal_flba_len(n->precision);
        }
        break;
    default:
        l->phys = PQ_BYTE_ARRAY;
        break;
    }
}

/* Assigns levels and leaves below n. names holds the path_in_schema
 * prefix (depth entries). */
static int assign(sl_pq_writer_t *w, pqnode_t *n, unsigned parent_def, unsigned parent_rep,
                  const char **names, size_t depth, size_t *next_leaf, sl_err_t *err)
{
    n->def_null = (uint8_t)parent_def;
    unsigned def = parent_def + (n->required ? 0 : 1);
    if (def > 250) {
        return sl_err_set(err, SL_EINVAL, "parquet schema: '%s' is nested too deeply", n->name);
    }
    n->def = (uint8_t)def;
    names[depth++] = n->name;
    n->leaf_first = *next_leaf;
    if (n->type == SL_PQ_STRUCT) {
        for (size_t i = 0; i < n->nchildren; i++) {
            int rc = assign(w, &n->children[i], def, parent_rep, names, depth, next_leaf, err);
            if (rc) {
                return rc;
            }
        }
    } else if (n->type == SL_PQ_LIST) {
        n->elem_rep = (uint8_t)(parent_rep + 1);
        names[depth++] = "list";
        pqnode_t *el = &n->children[0];
        el->name = "element";
        el->klen = 7;
        int rc = assign(w, el, def + 1, parent_rep + 1, names, depth, next_leaf, err);
        if (rc) {
            return rc;
        }
    } else {
        sl_pq_leaf_t *l = &w->leaves[(*next_leaf)++];
        n->leaf = l;
        leaf_physical(l, n);
        l->max_def = (uint8_t)def;
        l->max_rep = (uint8_t)parent_rep;
        l->path = sl_arena_alloc(w->arena, depth * sizeof *l->path);
        if (!l->path) {
            return SL_ENOMEM;
        }
        memcpy(l->path, names, depth * sizeof *names);
        l->npath = depth;
        sl_pq_leaf_init(l, &w->ctx);
    }
    n->leaf_end = *next_leaf;
    return 0;
}

/* ---------------------------------------------------------------- */
/* footer                                                             */

static void enc_logical(sl_tw_t *t, const pqnode_t *n)
{
    int16_t which;
    switch (n->type) {
    case SL_PQ_INT32:
    case SL_PQ_INT64:
        sl_tw_struct_begin(t, 10);
        sl_tw_struct_begin(t, 10);
        sl_tw_i8(t, 1, n->type == SL_PQ_INT32 ? 32 : 64);
        sl_tw_bool(t, 2, true);
        sl_tw_struct_end(t);
        sl_tw_struct_end(t);
        return;
    case SL_PQ_DECIMAL:
        sl_tw_struct_begin(t, 10);
        sl_tw_struct_begin(t, 5);
        sl_tw_i32(t, 1, n->scale);
        sl_tw_i32(t, 2, n->precision);
        sl_tw_struct_end(t);
        sl_tw_struct_end(t);
        return;
    case SL_PQ_TIMESTAMP:
        sl_tw_struct_begin(t, 10);
        sl_tw_struct_begin(t, 8);
        sl_tw_bool(t, 1, true);
        sl_tw_struct_begin(t, 2); /* TimeUnit */
        sl_tw_struct_begin(t, 2); /* MICROS */
        sl_tw_struct_end(t);
        sl_tw_struct_end(t);
        sl_tw_struct_end(t);
        sl_tw_struct_end(t);
        return;
    case SL_PQ_STRING:
        which = 1;
        break;
    case SL_PQ_LIST:
        which = 3;
        break;
    case SL_PQ_DATE:
        which = 6;
        break;
    case SL_PQ_JSON:
        which = 12;
        break;
    default:
        return;
    }
    sl_tw_struct_begin(t, 10);
    sl_tw_struct_begin(t, which);
    sl_tw_struct_end(t);
    sl_tw_struct_end(t);
}

static int converted_type(sl_pq_type_t t)
{
    switch (t) {
    case SL_PQ_INT32:
        return PQ_CT_INT_32;
    case SL_PQ_INT64:
        return PQ_CT_INT_64;
    case SL_PQ_STRING:
        return PQ_CT_UTF8;
    case SL_PQ_JSON:
        return PQ_CT_JSON;
    case SL_PQ_DATE:
        return PQ_CT_DATE;
    case SL_PQ_TIMESTAMP:
        return PQ_CT_TIMESTAMP_MICROS;
    case SL_PQ_DECIMAL:
        return PQ_CT_DECIMAL;
    case SL_PQ_LIST:
        return PQ_CT_LIST;
    default:
        return -1;
    }
}

static size_t count_elements(const pqnode_t *n)
{
    size_t k = 1;
    if (n->type == SL_PQ_LIST) {
        k++; /* the repeated group */
    }
    for (size_t i = 0; i < n->nchildren; i++) {
        k += count_elements(&n->children[i]);
    }
    return k;
}

static void enc_schema(sl_tw_t *t, const pqnode_t *n)
{
    sl_tw_elem_struct_begin(t);
    bool group = n->type == SL_PQ_STRUCT || n->type == SL_PQ_LIST;
    if (!group) {
        sl_tw_i32(t, 1, n->leaf->phys);
        if (n->leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
            sl_tw_i32(t, 2, n->leaf->width);
        }
    }
    sl_tw_i32(t, 3, n->required ? PQ_REQUIRED : PQ_OPTIONAL);
    sl_tw_string(t, 4, n->name);
    if (group) {
        sl_tw_i32(t, 5, (int32_t)n->nchildren);
    }
    int ct = converted_type(n->type);
    if (ct >= 0) {
        sl_tw_i32(t, 6, ct);
    }
    if (n->type == SL_PQ_DECIMAL) {
        sl_tw_i32(t, 7, n->scale);
        sl_tw_i32(t, 8, n->precision);
    }
    enc_logical(t, n);
    sl_tw_struct_end(t);
    if (n->type == SL_PQ_LIST) {
        sl_tw_elem_struct_begin(t);
        sl_tw_i32(t, 3, PQ_REPEATED);
        sl_tw_string(t, 4, "list");
        sl_tw_i32(t, 5, 1);
        sl_tw_struct_end(t);
    }
    for (size_t i = 0; i < n->nchildren; i++) {
        enc_schema(t, &n->children[i]);
    }
}

static void enc_stats(sl_tw_t *t, const sl_pq_stats_t *s)
{
    sl_tw_struct_begin(t, 12);
    if (s->has_minmax && s->legacy) {
        sl_tw_binary(t, 1, s->max, s->max_len);
        sl_tw_binary(t, 2, s->min, s->min_len);
    }
    sl_tw_i64(t, 3, (int64_t)s->null_count);
    if (s->has_minmax) {
        sl_tw_binary(t, 5, s->max, s->max_len);
        sl_tw_binary(t, 6, s->min, s->min_len);
        sl_tw_bool(t, 7, s->max_exact);
        sl_tw_bool(t, 8, s->min_exact);
    }
    if (s->nan_count >= 0) {
        sl_tw_i64(t, 9, s->nan_count);
    }
    sl_tw_struct_end(t);
}

static void enc_column_chunk(sl_tw_t *t, const sl_pq_leaf_t *l, const sl_pq_chunk_meta_t *m,
                             bool v2)
{
    int64_t start = m->dict_page_offset >= 0 ? m->dict_page_offset : m->data_page_offset;
    sl_tw_elem_struct_begin(t);
    sl_tw_i64(t, 2, start);
    sl_tw_struct_begin(t, 3);
    sl_tw_i32(t, 1, l->phys);
    int enc[3], ne = 0;
    if (m->dict_pages || m->plain_data_pages) {
        enc[ne++] = PQ_ENC_PLAIN;
    }
    if (l->max_def || l->max_rep) {
        enc[ne++] = PQ_ENC_RLE;
    }
    if (m->dict_data_pages) {
        enc[ne++] = PQ_ENC_RLE_DICTIONARY;
    }
    sl_tw_list_begin(t, 2, SL_TT_I32, (size_t)ne);
    for (int i = 0; i < ne; i++) {
        sl_tw_elem_i32(t, enc[i]);
    }
    sl_tw_list_begin(t, 3, SL_TT_BINARY, l->npath);
    for (size_t i = 0; i < l->npath; i++) {
        sl_tw_elem_binary(t, l->path[i], strlen(l->path[i]));
    }
    sl_tw_i32(t, 4, m->codec_id);
    sl_tw_i64(t, 5, m->num_values);
    sl_tw_i64(t, 6, m->total_uncompressed);
    sl_tw_i64(t, 7, m->total_compressed);
    sl_tw_i64(t, 9, m->data_page_offset);
    if (m->dict_page_offset >= 0) {
        sl_tw_i64(t, 11, m->dict_page_offset);
    }
    enc_stats(t, &m->stats);
    int nes = (m->dict_pages > 0) + (m->dict_data_pages > 0) + (m->plain_data_pages > 0);
    sl_tw_list_begin(t, 13, SL_TT_STRUCT, (size_t)nes);
    int data_type = v2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA;
    struct {
        int type, enc, count;
    } es[3] = {{PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, m->dict_pages},
               {data_type, PQ_ENC_RLE_DICTIONARY, m->dict_data_pages},
               {data_type, PQ_ENC_PLAIN, m->plain_data_pages}};
    for (int i = 0; i < 3; i++) {
        if (es[i].count) {
            sl_tw_elem_struct_begin(t);
            sl_tw_i32(t, 1, es[i].type);
            sl_tw_i32(t, 2, es[i].enc);
            sl_tw_i32(t, 3, es[i].count);
            sl_tw_struct_end(t);
        }
    }
    sl_tw_struct_end(t); /* ColumnMetaData */
    sl_tw_struct_end(t); /* ColumnChunk */
}

/* ---------------------------------------------------------------- */
/* writer                                                             */

static int fail(sl_pq_writer_t *w, int rc, sl_err_t *err, const char *what)
{
    w->failed = rc;
    return sl_err_set(err, rc, "parquet: %s failed: %s", what, sl_strerror(rc));
}

int sl_pq_writer_new(const sl_pq_node_t *root, const sl_pq_opts_t *opts, sl_pq_write_fn write,
                     void *ud, sl_pq_writer_t **out, sl_err_t *err)
{
    *out = NULL;
    if (!root || root->type != SL_PQ_STRUCT || !write) {
        return sl_err_set(err, SL_EINVAL,
                          "parquet schema: the root must be a struct and a write callback given");
    }
    sl_pq_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        return sl_err_set(err, SL_ENOMEM, "parquet: out of memory");
    }
    w->arena = sl_arena_create(4096, 0);
    if (!w->arena) {
        free(w);
        return sl_err_set(err, SL_ENOMEM, "parquet: out of memory");
    }
    sl_pq_opts_t o = {.codec = SL_PQ_SNAPPY};
    if (opts) {
        o = *opts;
    }
    w->codec = o.codec;
    w->row_group_rows = o.row_group_rows ? o.row_group_rows : 1000000;
    w->row_group_bytes = o.row_group_bytes ? o.row_group_bytes : (size_t)128 << 20;
    w->ctx.page_bytes = o.page_bytes ? o.page_bytes : (size_t)1 << 20;
    w->ctx.dict_max = o.dictionary_max_bytes ? o.dictionary_max_bytes : (size_t)1 << 20;
    w->ctx.use_dict = !o.no_dictionary;
    w->ctx.page_v2 = o.page_v2;
    w->ctx.out = &w->out;
    w->ctx.codec_id = sl_pq_codec_id(o.codec);
    w->out.fn = write;
    w->out.ud = ud;

    int rc = sl_pq_compressor_new(o.codec, o.level, &w->ctx.comp);
    if (rc) {
        sl_pq_writer_free(w);
        return sl_err_set(err, rc, "parquet: cannot set up codec %d level %d: %s", (int)o.codec,
                          o.level, sl_strerror(rc));
    }
    /* key/value pairs: key, value, key, value, ..., NULL */
    if (o.kv) {
        size_t n = 0;
        while (o.kv[n]) {
            n++;
        }
        w->kv = sl_arena_alloc(w->arena, (n + 1) * sizeof *w->kv);
        if (!w->kv) {
            sl_pq_writer_free(w);
            return sl_err_set(err, SL_ENOMEM, "parquet: out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            w->kv[i] = sl_arena_strdup(w->arena, o.kv[i]);
        }
        w->nkv = n;
    }
    sl_pq_node_t rootcopy = *root;
    rootcopy.name = "schema";
    rootcopy.required = true;
    rc = copy_node(w, &rootcopy, &w->root, 0, "", err);
    if (rc) {
        sl_pq_writer_free(w);
        return rc == SL_ENOMEM ? sl_err_set(err, rc, "parquet: out of memory") : rc;
    }
    w->nleaves = count_leaves(&w->root);
    w->leaves = calloc(w->nleaves, sizeof *w->leaves);
    const char **names = calloc(2 * MAX_DEPTH + 4, sizeof *names);
    if (!w->leaves || !names) {
        free(names);
        sl_pq_writer_free(w);
        return sl_err_set(err, SL_ENOMEM, "parquet: out of memory");
    }
    size_t next = 0;
    for (size_t i = 0; i < w->root.nchildren && rc == 0; i++) {
        rc = assign(w, &w->root.children[i], 0, 0, names, 0, &next, err);
    }
    free(names);
    w->root.leaf_first = 0;
    w->root.leaf_end = w->nleaves;
    if (rc) {
        sl_pq_writer_free(w);
        return rc == SL_ENOMEM ? sl_err_set(err, rc, "parquet: out of memory") : rc;
    }
    rc = write(ud, "PAR1", 4);
    if (rc) {
        sl_pq_writer_free(w);
        return sl_err_set(err, rc < 0 ? rc : SL_EIO, "parquet: writing the file header failed");
    }
    w->out.pos = w->out.flushed = 4;
    *out = w;
    return 0;
}

/* ---- shredding ---- */

static void describe(const sl_value_t *v, char *buf, size_t n)
{
    if (!v) {
        snprintf(buf, n, "nothing (missing)");
        return;
    }
    switch (v->type) {
    case SL_T_NULL:
        snprintf(buf, n, "null");
        return;
    case SL_T_BOOL:
        snprintf(buf, n, "bool %s", v->u.i ? "true" : "false");
        return;
    case SL_T_INT:
        snprintf(buf, n, "int %lld", (long long)v->u.i);
        return;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            snprintf(buf, n, "double %.*s", (int)SL_MIN(v->len, 40u), v->u.s);
        } else {
            snprintf(buf, n, "double %.17g", v->u.d);
        }
        return;
    case SL_T_BIGNUM:
        snprintf(buf, n, "number %.*s", (int)SL_MIN(v->len, 48u), v->u.s);
        return;
    case SL_T_STRING:
        snprintf(buf, n, "string '%.*s'%s", (int)SL_MIN(v->len, 40u), v->u.s,
                 v->len > 40 ? "..." : "");
        return;
    case SL_T_TIMESTAMP: {
        char t[40];
        sl_timestamp_format(v->u.i, t);
        snprintf(buf, n, "timestamp %s", t);
        return;
    }
    case SL_T_DATE: {
        char t[40];
        sl_date_format(v->u.i, t);
        snprintf(buf, n, "date %s", t);
        return;
    }
    case SL_T_ARRAY:
        snprintf(buf, n, "array of %u items", v->len);
        return;
    case SL_T_OBJECT:
        snprintf(buf, n, "object");
        return;
    }
    snprintf(buf, n, "value of type %d", v->type);
}

static void path_text(const sl_pq_writer_t *w, int depth, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i <= depth && k + 1 < n; i++) {
        int r;
        if (w->path[i].index >= 0) {
            r = snprintf(buf + k, n - k, "[%lld]", (long long)w->path[i].index);
        } else {
            r = snprintf(buf + k, n - k, "%s%s", i ? "." : "", w->path[i].node->name);
        }
        if (r < 0) {
            break;
        }
        k += (size_t)r;
        if (k >= n) {
            k = n - 1;
        }
    }
}

static int field_error(const sl_pq_writer_t *w, int depth, const pqnode_t *n,
                       const sl_value_t *v, const char *why, sl_err_t *err)
{
    char path[384], got[96], want[32];
    path_text(w, depth, path, sizeof path);
    describe(v, got, sizeof got);
    if (n->type == SL_PQ_DECIMAL) {
        snprintf(want, sizeof want, "decimal(%d,%d)", n->precision, n->scale);
    } else if (n->type == SL_PQ_STRUCT) {
        snprintf(want, sizeof want, "struct (an object)");
    } else if (n->type == SL_PQ_LIST) {
        snprintf(want, sizeof want, "list (an array)");
    } else {
        snprintf(want, sizeof want, "%s", sl_pq_type_name(n->type));
    }
    return sl_err_set(err, SL_ETYPE, "field '%s': expected %s%s, got %s%s%s%s", path,
                      n->required ? "required " : "", want, got, why ? " (" : "", why ? why : "",
                      why ? ")" : "");
}

static int null_fill(sl_pq_writer_t *w, const pqnode_t *n, unsigned def, unsigned rep)
{
    for (size_t i = n->leaf_first; i < n->leaf_end; i++) {
        int rc = sl_pq_leaf_null(&w->leaves[i], &w->ctx, def, rep);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static const sl_value_t *member(const sl_value_t *obj, pqnode_t *n)
{
    return sl_object_get_hinted(obj, n->name, n->klen, &n->hint);
}

static int shred(sl_pq_writer_t *w, pqnode_t *n, const sl_value_t *v, unsigned rep, int depth,
                 sl_err_t *err)
{
    if (!v || v->type == SL_T_NULL) {
        if (n->required) {
            return field_error(w, depth, n, v, NULL, err);
        }
        return null_fill(w, n, n->def_null, rep);
    }
    switch (n->type) {
    case SL_PQ_STRUCT:
        if (v->type != SL_T_OBJECT) {
            return field_error(w, depth, n, v, NULL, err);
        }
        for (size_t i = 0; i < n->nchildren; i++) {
            pqnode_t *ch = &n->children[i];
            w->path[depth + 1].node = ch;
            w->path[depth + 1].index = -1;
            int rc = shred(w, ch, member(v, ch), rep, depth + 1, err);
            if (rc) {
                return rc;
            }
        }
        return 0;
    case SL_PQ_LIST: {
        if (v->type != SL_T_ARRAY) {
            return field_error(w, depth, n, v, NULL, err);
        }
        if (v->len == 0) {
            return null_fill(w, n, n->def, rep);
        }
        pqnode_t *el = &n->children[0];
        w->path[depth + 1].node = el;
        for (uint32_t i = 0; i < v->len; i++) {
            w->path[depth + 1].index = i;
            int rc = shred(w, el, &v->u.items[i], i ? n->elem_rep : rep, depth + 1, err);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    default: {
        const char *why = NULL;
        int rc = sl_pq_leaf_value(n->leaf, &w->ctx, v, rep, &why);
        if (rc == SL_ETYPE) {
            return field_error(w, depth, n, v, why, err);
        }
        if (rc) {
            return sl_err_set(err, rc, "parquet: buffering a value failed: %s", sl_strerror(rc));
        }
        return 0;
    }
    }
}

static int add(sl_pq_writer_t *w, const sl_value_t *rec, const int32_t *col, sl_err_t *err)
{
    if (w->failed || w->finished) {
        return sl_err_set(err, w->failed ? w->failed : SL_EINVAL,
                          "parquet: the writer is %s", w->failed ? "in error" : "finished");
    }
    if (!rec || rec->type != SL_T_OBJECT) {
        char got[96];
        describe(rec, got, sizeof got);
        return sl_err_set(err, SL_ETYPE, "parquet: a record must be an object, got %s", got);
    }
    w->ctx.epoch++;
    w->s_buffered = w->ctx.buffered;
    int rc = 0;
    for (size_t i = 0; i < w->root.nchildren && rc == 0; i++) {
        pqnode_t *ch = &w->root.children[i];
        const sl_value_t *v;
        if (col) {
            v = col[i] >= 0 && (uint32_t)col[i] < rec->len ? &rec->u.members[col[i]].val : NULL;
        } else {
            v = member(rec, ch);
        }
        bool leaf_value = ch->leaf && v && v->type != SL_T_NULL;
        if (leaf_value && sl_pq_leaf_put_fast(ch->leaf, &w->ctx, v)) {
            continue; /* the common case: a top-level column with a plain value */
        }
        w->path[0].node = ch; /* for error messages */
        w->path[0].index = -1;
        if (leaf_value) {
            /* a top-level column with a value: no recursion */
            const char *why = NULL;
            rc = sl_pq_leaf_value(ch->leaf, &w->ctx, v, 0, &why);
            if (rc == SL_ETYPE) {
                rc = field_error(w, 0, ch, v, why, err);
            } else if (rc) {
                rc = sl_err_set(err, rc, "parquet: buffering a value failed: %s",
                                sl_strerror(rc));
            }
        } else {
            rc = shred(w, ch, v, 0, 0, err);
        }
    }
    if (rc) {
        for (size_t i = 0; i < w->nleaves; i++) {
            sl_pq_leaf_rollback(&w->leaves[i], &w->ctx);
        }
        w->ctx.buffered = w->s_buffered;
        return rc;
    }
    w->rows++;
    w->rg_rows++;
    if (w->rg_rows >= w->row_group_rows || w->ctx.buffered >= w->row_group_bytes) {
        return sl_pq_writer_flush(w, err);
    }
    return 0;
}

int sl_pq_writer_add(sl_pq_writer_t *w, const sl_value_t *rec, sl_err_t *err)
{
    return add(w, rec, NULL, err);
}

int sl_pq_writer_add_mapped(sl_pq_writer_t *w, const sl_value_t *rec, const int32_t *col,
                            sl_err_t *err)
{
    return add(w, rec, col, err);
}

int sl_pq_writer_flush(sl_pq_writer_t *w, sl_err_t *err)
{
    if (w->failed) {
        return sl_err_set(err, w->failed, "parquet: the writer is in error");
    }
    if (w->rg_rows == 0) {
        return 0;
    }
    sl_buf_clear(&w->cols);
    sl_tw_t t;
    sl_tw_init(&t, &w->cols);
    int64_t rg_start = (int64_t)w->out.pos, total_unc = 0, total_comp = 0;
    for (size_t i = 0; i < w->nleaves; i++) {
        sl_pq_leaf_t *l = &w->leaves[i];
        sl_pq_chunk_meta_t m;
        int rc = sl_pq_leaf_write_chunk(l, &w->ctx, &m);
        if (rc) {
            return fail(w, rc, err, "writing a column chunk");
        }
        enc_column_chunk(&t, l, &m, w->ctx.page_v2);
        total_unc += m.total_uncompressed;
        total_comp += m.total_compressed;
    }
    if (t.rc) {
        return fail(w, t.rc, err, "encoding row group metadata");
    }
    sl_tw_init(&t, &w->rg_meta);
    sl_tw_elem_struct_begin(&t);
    sl_tw_list_begin(&t, 1, SL_TT_STRUCT, w->nleaves);
    sl_tw_raw(&t, w->cols.data, w->cols.len);
    sl_tw_i64(&t, 2, total_unc);
    sl_tw_i64(&t, 3, (int64_t)w->rg_rows);
    sl_tw_i64(&t, 5, rg_start);
    sl_tw_i64(&t, 6, total_comp);
    if (w->n_rg <= INT16_MAX) {
        sl_tw_i16(&t, 7, (int16_t)w->n_rg);
    }
    sl_tw_struct_end(&t);
    if (t.rc) {
        return fail(w, t.rc, err, "encoding row group metadata");
    }
    w->n_rg++;
    for (size_t i = 0; i < w->nleaves; i++) {
        sl_pq_leaf_reset(&w->leaves[i], &w->ctx);
    }
    w->ctx.buffered = 0;
    w->rg_rows = 0;
    int rc = sl_pq_out_flush(&w->out);
    if (rc) {
        return fail(w, rc, err, "writing");
    }
    return 0;
}

uint64_t sl_pq_writer_rows(const sl_pq_writer_t *w)
{
    return w->rows;
}

uint64_t sl_pq_writer_written(const sl_pq_writer_t *w)
{
    return w->out.flushed;
}

uint64_t sl_pq_writer_buffered(const sl_pq_writer_t *w)
{
    return w->ctx.buffered;
}

bool sl_pq_writer_reached(const sl_pq_writer_t *w, uint64_t max_rows, uint64_t max_bytes)
{
    return w->rows >= max_rows || w->out.flushed + w->ctx.buffered >= max_bytes;
}

int sl_pq_writer_finish(sl_pq_writer_t *w, sl_err_t *err)
{
    if (w->finished) {
        return sl_err_set(err, SL_EINVAL, "parquet: the writer is already finished");
    }
    int rc = sl_pq_writer_flush(w, err);
    if (rc) {
        return rc;
    }
    sl_buf_t meta = SL_BUF_INIT;
    sl_tw_t t;
    sl_tw_init(&t, &meta);
    sl_tw_i32(&t, 1, 1);
    size_t nel = count_elements(&w->root);
    sl_tw_list_begin(&t, 2, SL_TT_STRUCT, nel);
    /* the root: a name and its children only */
    sl_tw_elem_struct_begin(&t);
    sl_tw_string(&t, 4, "schema");
    sl_tw_i32(&t, 5, (int32_t)w->root.nchildren);
    sl_tw_struct_end(&t);
    for (size_t i = 0; i < w->root.nchildren; i++) {
        enc_schema(&t, &w->root.children[i]);
    }
    sl_tw_i64(&t, 3, (int64_t)w->rows);
    sl_tw_list_begin(&t, 4, SL_TT_STRUCT, w->n_rg);
    sl_tw_raw(&t, w->rg_meta.data, w->rg_meta.len);
    size_t npairs = (w->nkv + 1) / 2;
    sl_tw_list_begin(&t, 5, SL_TT_STRUCT, npairs + 1);
    for (size_t i = 0; i < npairs; i++) {
        sl_tw_elem_struct_begin(&t);
        sl_tw_string(&t, 1, w->kv[2 * i]);
        if (2 * i + 1 < w->nkv) {
            sl_tw_string(&t, 2, w->kv[2 * i + 1]);
        }
        sl_tw_struct_end(&t);
    }
    sl_tw_elem_struct_begin(&t);
    sl_tw_string(&t, 1, "writer.sluice.version");
    sl_tw_string(&t, 2, WRITER_VERSION);
    sl_tw_struct_end(&t);
    sl_tw_string(&t, 6, CREATED_BY);
    /* column_orders: TYPE_ORDER for every leaf, so readers trust
     * min_value/max_value */
    sl_tw_list_begin(&t, 7, SL_TT_STRUCT, w->nleaves);
    for (size_t i = 0; i < w->nleaves; i++) {
        sl_tw_elem_struct_begin(&t);
        sl_tw_struct_begin(&t, 1);
        sl_tw_struct_end(&t);
        sl_tw_struct_end(&t);
    }
    sl_tw_struct_end(&t);
    rc = t.rc;
    if (rc == 0 && meta.len > UINT32_MAX) {
        rc = SL_ELIMIT;
    }
    if (rc == 0) {
        uint32_t len = (uint32_t)meta.len;
        rc = sl_pq_out_write(&w->out, meta.data, meta.len);
        if (rc == 0) {
            rc = sl_pq_out_write(&w->out, &len, 4);
        }
        if (rc == 0) {
            rc = sl_pq_out_write(&w->out, "PAR1", 4);
        }
        if (rc == 0) {
            rc = sl_pq_out_flush(&w->out);
        }
    }
    sl_buf_free(&meta);
    if (rc) {
        return fail(w, rc, err, "writing the footer");
    }
    w->finished = true;
    return 0;
}

void sl_pq_writer_free(sl_pq_writer_t *w)
{
    if (!w) {
        return;
    }
    if (w->leaves) {
        for (size_t i = 0; i < w->nleaves; i++) {
            sl_pq_leaf_free(&w->leaves[i]);
        }
        free(w->leaves);
    }
    sl_pq_compressor_free(w->ctx.comp);
    sl_buf_free(&w->ctx.scratch);
    sl_buf_free(&w->ctx.page);
    sl_buf_free(&w->ctx.comp_buf);
    sl_buf_free(&w->ctx.hdr);
    sl_buf_free(&w->ctx.lev);
    sl_buf_free(&w->out.stage);
    sl_buf_free(&w->rg_meta);
    sl_buf_free(&w->cols);
    sl_arena_destroy(w->arena);
    free(w);
}
