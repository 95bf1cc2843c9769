/* Fuzz target for the Parquet writer (src/format/).
 *
 * The input drives everything: writer options (codec, page size, row
 * group limits, page v2, dictionary cap), a random schema (every type,
 * REQUIRED or OPTIONAL, structs and lists nested a few levels, decimals of
 * any precision, sometimes an invalid one), and records that mostly fit
 * the schema but have nulls, missing keys, wrong types, out-of-range
 * numbers, arbitrary bytes as strings and number text. The file goes to
 * memory through the callback, which may also fail after a budget.
 *
 * Checks: add returns 0 or SL_ETYPE (SL_EIO once the sink failed), with a
 * message for errors; a finished file starts and ends with PAR1 and its
 * footer length fits; and a second writer fed only the accepted records
 * produces the very same bytes, so a rejected record leaves no trace. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/arena.h"
#include "sluice/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t n, i;
} rd_t;

static unsigned byte(rd_t *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static unsigned upto(rd_t *r, unsigned k) /* 0..k-1 */
{
    return k ? byte(r) % k : 0;
}

static uint64_t u64(rd_t *r)
{
    uint64_t x = 0;
    for (int k = 0; k < 8; k++) {
        x = x << 8 | byte(r);
    }
    return x;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_parquet: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* ---- schema ---- */

#define MAX_NODES 64

typedef struct {
    sl_pq_node_t nodes[MAX_NODES];
    int used;
    char names[MAX_NODES][8];
} schema_t;

static sl_pq_node_t *alloc_nodes(schema_t *s, int k)
{
    if (s->used + k > MAX_NODES) {
        return NULL;
    }
    sl_pq_node_t *n = &s->nodes[s->used];
    s->used += k;
    return n;
}

static void gen_node(rd_t *r, schema_t *s, sl_pq_node_t *n, int depth)
{
    int idx = (int)(n - s->nodes);
    snprintf(s->names[idx], sizeof s->names[idx], "c%d", idx);
    n->name = s->names[idx];
    n->required = upto(r, 4) == 0;
    unsigned t = upto(r, depth >= 4 ? 11 : 14);
    n->type = t < 11 ? (sl_pq_type_t)(SL_PQ_BOOL + t) : t == 11 ? SL_PQ_STRUCT : SL_PQ_LIST;
    if (n->type == SL_PQ_DECIMAL) {
        /* mostly valid precisions, sometimes not */
        n->precision = (int)upto(r, 41);
        n->scale = n->precision ? (int)upto(r, (unsigned)n->precision + 2) : 0;
    }
    if (n->type == SL_PQ_STRUCT || n->type == SL_PQ_LIST) {
        int k = n->type == SL_PQ_LIST ? 1 : 1 + (int)upto(r, 4);
        sl_pq_node_t *kids = alloc_nodes(s, k);
        if (!kids) {
            n->type = SL_PQ_INT64; /* out of room: a leaf */
            return;
        }
        n->children = kids;
        n->nchildren = (size_t)k;
        for (int i = 0; i < k; i++) {
            gen_node(r, s, &kids[i], depth + 1);
        }
    }
}

/* ---- values ---- */

static sl_value_t gen_str(rd_t *r, sl_arena_t *a, size_t max)
{
    size_t n = upto(r, (unsigned)max + 1);
    char *p = sl_arena_alloc(a, n + 1);
    if (!p) {
        die("arena", NULL);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned c = byte(r);
        /* mostly letters so that values repeat (dictionaries) */
        p[i] = (char)(c < 200 ? 'a' + c % 4 : c);
    }
    return sl_value_str(p, n);
}

static sl_value_t gen_number_text(rd_t *r, sl_arena_t *a, int type)
{
    static const char alphabet[] = "0123456789.-+eE0123456789";
    size_t n = 1 + upto(r, 24);
    char *p = sl_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        p[i] = alphabet[upto(r, sizeof alphabet - 1)];
    }
    sl_value_t v = sl_value_str(p, n);
    v.type = (uint8_t)type;
    if (type == SL_T_DOUBLE) {
        v.flags = SL_VF_RAW;
    }
    return v;
}

static sl_value_t gen_any(rd_t *r, sl_arena_t *a, int depth);

static sl_value_t gen_array(rd_t *r, sl_arena_t *a, const sl_pq_node_t *el, int depth);

static sl_value_t gen_for(rd_t *r, sl_arena_t *a, const sl_pq_node_t *n, int depth);

static sl_value_t gen_object(rd_t *r, sl_arena_t *a, const sl_pq_node_t *n, int depth)
{
    size_t k = n ? n->nchildren : upto(r, 4);
    size_t extra = upto(r, 3) == 0; /* a key not in the schema */
    sl_member_t *m = sl_arena_calloc(a, (k + extra + 1) * sizeof *m);
    size_t used = 0;
    for (size_t i = 0; i < k; i++) {
        if (n && upto(r, 8) == 0) {
            continue; /* missing key */
        }
        m[used].key = n ? n->children[i].name : "k";
        m[used].klen = (uint32_t)strlen(m[used].key);
        m[used].val = n ? gen_for(r, a, &n->children[i], depth + 1) : gen_any(r, a, depth + 1);
        used++;
    }
    if (extra) {
        m[used].key = "zz_extra";
        m[used].klen = 8;
        m[used].val = gen_any(r, a, depth + 1);
        used++;
    }
    /* sometimes shuffle: member order must not matter */
    if (used > 1 && upto(r, 4) == 0) {
        sl_member_t t = m[0];
        m[0] = m[used - 1];
        m[used - 1] = t;
    }
    sl_value_t v = {.type = SL_T_OBJECT, .len = (uint32_t)used, .u.members = m};
    return v;
}

static sl_value_t gen_array(rd_t *r, sl_arena_t *a, const sl_pq_node_t *el, int depth)
{
    size_t k = upto(r, 5);
    sl_value_t *items = sl_arena_calloc(a, (k + 1) * sizeof *items);
    for (size_t i = 0; i < k; i++) {
        items[i] = el ? gen_for(r, a, el, depth + 1) : gen_any(r, a, depth + 1);
    }
    sl_value_t v = {.type = SL_T_ARRAY, .len = (uint32_t)k, .u.items = items};
    return v;
}

static sl_value_t gen_any(rd_t *r, sl_arena_t *a, int depth)
{
    switch (upto(r, depth > 3 ? 9 : 11)) {
    case 0:
        return sl_value_null();
    case 1:
        return sl_value_bool(byte(r) & 1);
    case 2: {
        int64_t x = (int64_t)u64(r);
        return sl_value_int(x >> upto(r, 64));
    }
    case 3: {
        uint64_t bits = u64(r);
        double d;
        memcpy(&d, &bits, 8);
        return sl_value_double(d);
    }
    case 4:
        return gen_number_text(r, a, SL_T_DOUBLE);
    case 5:
        return gen_number_text(r, a, SL_T_BIGNUM);
    case 6:
        return gen_str(r, a, 40);
    case 7:
        return sl_value_timestamp((int64_t)u64(r) >> upto(r, 64));
    case 8:
        return sl_value_date((int64_t)u64(r) >> upto(r, 64));
    case 9:
        return gen_array(r, a, NULL, depth);
    default:
        return gen_object(r, a, NULL, depth);
    }
}

/* Mostly a value that fits n, sometimes anything. */
static sl_value_t gen_for(rd_t *r, sl_arena_t *a, const sl_pq_node_t *n, int depth)
{
    unsigned c = upto(r, 16);
    if (c == 0) {
        return sl_value_null();
    }
    if (c == 1 || depth > 8) {
        return gen_any(r, a, depth + 2);
    }
    switch (n->type) {
    case SL_PQ_BOOL:
        return sl_value_bool(byte(r) & 1);
    case SL_PQ_INT32:
        return sl_value_int((int32_t)(u64(r) >> upto(r, 40)));
    case SL_PQ_INT64:
        return sl_value_int((int64_t)upto(r, 20) - 10);
    case SL_PQ_FLOAT:
    case SL_PQ_DOUBLE:
        if (c < 6) {
            return gen_number_text(r, a, SL_T_DOUBLE);
        }
        return c < 10 ? sl_value_double((double)upto(r, 100) / 4) : sl_value_int(upto(r, 7));
    case SL_PQ_STRING:
    case SL_PQ_BINARY:
        return gen_str(r, a, c < 4 ? 300 : 12);
    case SL_PQ_JSON:
        return gen_any(r, a, depth + 1);
    case SL_PQ_DATE:
        return sl_value_date((int64_t)upto(r, 200) - 100);
    case SL_PQ_TIMESTAMP:
        return c < 4 ? sl_value_date(upto(r, 9)) : sl_value_timestamp((int64_t)u64(r) >> 8);
    case SL_PQ_DECIMAL:
        if (c < 6) {
            return gen_number_text(r, a, c < 4 ? SL_T_DOUBLE : SL_T_STRING);
        }
        return c < 10 ? sl_value_int((int64_t)upto(r, 2000) - 1000)
                      : sl_value_double((double)upto(r, 1000) / 8);
    case SL_PQ_STRUCT:
        return gen_object(r, a, n, depth);
    case SL_PQ_LIST:
        return gen_array(r, a, &n->children[0], depth);
    }
    return sl_value_null();
}

/* ---- output ---- */

typedef struct {
    uint8_t *data;
    size_t len, cap, budget;
} out_t;

static int sink(void *ud, const void *p, size_t n)
{
    out_t *o = ud;
    if (o->len + n > o->budget) {
        return SL_EIO;
    }
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(o->data, cap);
        if (!q) {
            return SL_ENOMEM;
        }
        o->data = q;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
    return 0;
}

#define MAX_RECS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_t r = {data, size, 0};
    sl_pq_opts_t o = {0};
    o.codec = (sl_pq_codec_t)upto(&r, 4);
    o.level = upto(&r, 4) == 0 ? (int)upto(&r, 10) : 0;
    static const size_t pages[] = {0, 1, 7, 64, 300, 4096};
    o.page_bytes = pages[upto(&r, 6)];
    o.row_group_rows = upto(&r, 3) ? upto(&r, 20) : 0;
    o.row_group_bytes = upto(&r, 4) == 0 ? 1 + upto(&r, 200) * 16 : 0;
    o.page_v2 = byte(&r) & 1;
    o.no_dictionary = upto(&r, 5) == 0;
    static const size_t caps[] = {0, 1, 16, 100, 1000};
    o.dictionary_max_bytes = caps[upto(&r, 5)];
    const char *kv[] = {"k", "v", NULL};
    o.kv = upto(&r, 2) ? kv : NULL;
    bool failing = upto(&r, 8) == 0;
    size_t budget = failing ? upto(&r, 255) * 16 : SIZE_MAX;

    static schema_t s;
    memset(&s, 0, sizeof s);
    int ncols = 1 + (int)upto(&r, 6);
    sl_pq_node_t *cols = alloc_nodes(&s, ncols);
    for (int i = 0; i < ncols; i++) {
        gen_node(&r, &s, &cols[i], 0);
    }
    sl_pq_node_t root = {.name = "root", .type = SL_PQ_STRUCT, .children = cols,
                         .nchildren = (size_t)ncols};

    out_t out = {.budget = budget};
    sl_pq_writer_t *w = NULL;
    sl_err_t err;
    int rc = sl_pq_writer_new(&root, &o, sink, &out, &w, &err);
    if (rc) {
        if (rc != SL_EINVAL && rc != SL_EIO) {
            die("writer_new", err.msg);
        }
        if (!err.msg[0]) {
            die("writer_new: no message", NULL);
        }
        free(out.data);
        return 0;
    }
    sl_arena_t *a = sl_arena_create(1 << 16, 0);
    sl_value_t recs[MAX_RECS];
    bool accepted[MAX_RECS], flushed[MAX_RECS];
    int nrec = (int)upto(&r, MAX_RECS);
    bool io_failed = false;
    uint64_t rows = 0;
    for (int i = 0; i < nrec; i++) {
        recs[i] = upto(&r, 20) ? gen_object(&r, a, &root, 0) : gen_any(&r, a, 0);
        err.msg[0] = '\0';
        rc = sl_pq_writer_add(w, &recs[i], &err);
        accepted[i] = rc == 0;
        if (rc == 0) {
            rows++;
        } else if (rc == SL_EIO && failing) {
            io_failed = true;
            break;
        } else if (rc != SL_ETYPE || !err.msg[0]) {
            die("add", err.msg);
        }
        if (sl_pq_writer_rows(w) != rows) {
            die("row count", NULL);
        }
        flushed[i] = upto(&r, 16) == 0;
        if (flushed[i]) {
            rc = sl_pq_writer_flush(w, &err);
            if (rc == SL_EIO && failing) {
                io_failed = true;
                break;
            }
            if (rc) {
                die("flush", err.msg);
            }
        }
    }
    if (!io_failed) {
        rc = sl_pq_writer_finish(w, &err);
        if (rc == SL_EIO && failing) {
            io_failed = true;
        } else if (rc) {
            die("finish", err.msg);
        }
    }
    sl_pq_writer_free(w);
    if (io_failed) {
        sl_arena_destroy(a);
        free(out.data);
        return 0;
    }
    if (out.len < 12 || memcmp(out.data, "PAR1", 4) != 0 ||
        memcmp(out.data + out.len - 4, "PAR1", 4) != 0) {
        die("not a Parquet file", NULL);
    }
    uint32_t flen;
    memcpy(&flen, out.data + out.len - 8, 4);
    if ((size_t)flen + 12 > out.len) {
        die("footer length", NULL);
    }

    /* the same writer fed only the accepted records (and flushed at the
     * same points) writes identical bytes */
    out_t again = {.budget = SIZE_MAX};
    if (sl_pq_writer_new(&root, &o, sink, &again, &w, &err)) {
        die("writer_new again", err.msg);
    }
    for (int i = 0; i < nrec; i++) {
        if (accepted[i] && sl_pq_writer_add(w, &recs[i], &err)) {
            die("accepted record refused on replay", err.msg);
        }
        if (flushed[i] && sl_pq_writer_flush(w, &err)) {
            die("flush again", err.msg);
        }
    }
    if (sl_pq_writer_finish(w, &err)) {
        die("finish again", err.msg);
    }
    sl_pq_writer_free(w);
    if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0) {
        die("a rejected record changed the output", NULL);
    }
    sl_arena_destroy(a);
    free(again.data);
    free(out.data);
    return 0;
}
