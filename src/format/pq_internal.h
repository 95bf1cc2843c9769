/* Internals of the Parquet writer shared by the files of src/format/:
 * the Thrift compact protocol encoder (thrift.c), the RLE/bit-packed
 * hybrid encoder (rle.c), hash dictionaries (dict.c), page compression
 * (compress.c), per-leaf column buffers with value conversion, statistics
 * and chunk encoding (column.c), and the writer itself (writer.c).
 *
 * Parquet stores integers little-endian; the writer copies host integers
 * as they are, so it only builds on little-endian hosts. */
#ifndef SLUICE_PQ_INTERNAL_H
#define SLUICE_PQ_INTERNAL_H

#include "sluice/buf.h"
#include "sluice/common.h"
#include "sluice/parquet.h"
#include "sluice/value.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet writer assumes a little-endian host"
#endif

/* ---- parquet.thrift enums ---- */
enum {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FIXED_LEN_BYTE_ARRAY = 7,
};
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum {
    PQ_CT_UTF8 = 0,
    PQ_CT_LIST = 3,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_INT_32 = 17,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
};
enum { PQ_ENC_PLAIN = 0, PQ_ENC_RLE = 3, PQ_ENC_RLE_DICTIONARY = 8 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
/* CompressionCodec values equal sl_pq_codec_t except ZSTD. */
enum { PQ_CODEC_UNCOMPRESSED = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_ZSTD = 6 };

/* ---- Thrift compact protocol (thrift.c) ---- */
enum {
    SL_TT_BOOL_TRUE = 1,
    SL_TT_BOOL_FALSE = 2,
    SL_TT_BYTE = 3,
    SL_TT_I16 = 4,
    SL_TT_I32 = 5,
    SL_TT_I64 = 6,
    SL_TT_DOUBLE = 7,
    SL_TT_BINARY = 8,
    SL_TT_LIST = 9,
    SL_TT_STRUCT = 12,
};
#define SL_TW_MAX_DEPTH 16

/* Writes one struct tree into a buffer. Errors are sticky: check rc once
 * at the end. Struct nesting is tracked so field ids are delta-encoded
 * against the previous field of the same struct. */
typedef struct {
    sl_buf_t *b;
    int16_t last[SL_TW_MAX_DEPTH];
    int depth;
    int rc;
} sl_tw_t;

void sl_tw_init(sl_tw_t *t, sl_buf_t *b);
void sl_tw_varint(sl_tw_t *t, uint64_t v);
void sl_tw_field(sl_tw_t *t, int16_t id, int type);
void sl_tw_bool(sl_tw_t *t, int16_t id, bool v);
void sl_tw_i8(sl_tw_t *t, int16_t id, int8_t v);
void sl_tw_i16(sl_tw_t *t, int16_t id, int16_t v);
void sl_tw_i32(sl_tw_t *t, int16_t id, int32_t v);
void sl_tw_i64(sl_tw_t *t, int16_t id, int64_t v);
void sl_tw_double(sl_tw_t *t, int16_t id, double v);
void sl_tw_binary(sl_tw_t *t, int16_t id, const void *p, size_t n);
void sl_tw_string(sl_tw_t *t, int16_t id, const char *s);
/* A struct-valued field: fields follow, then sl_tw_struct_end. */
void sl_tw_struct_begin(sl_tw_t *t, int16_t id);
/* A struct that is a list element or the top-level value (no header). */
void sl_tw_elem_struct_begin(sl_tw_t *t);
/* Writes the stop byte and returns to the enclosing struct. */
void sl_tw_struct_end(sl_tw_t *t);
/* A list-valued field of n elements of elem_type; elements follow. */
void sl_tw_list_begin(sl_tw_t *t, int16_t id, int elem_type, size_t n);
void sl_tw_elem_i32(sl_tw_t *t, int32_t v);
void sl_tw_elem_binary(sl_tw_t *t, const void *p, size_t n);
/* Appends pre-encoded bytes (e.g. list elements encoded earlier). */
void sl_tw_raw(sl_tw_t *t, const void *p, size_t n);

/* A PageHeader (with the data, v2 or dictionary sub-header by type). */
typedef struct {
    int type; /* PQ_PAGE_* */
    int32_t uncompressed_size, compressed_size;
    int32_t num_values;
    int encoding;
    int32_t num_nulls, num_rows;     /* v2 */
    int32_t def_bytes, rep_bytes;    /* v2 */
    bool is_compressed;              /* v2 */
} sl_pq_page_header_t;

int sl_pq_encode_page_header(sl_buf_t *b, const sl_pq_page_header_t *h);

/* ---- RLE / bit-packed hybrid (rle.c) ---- */

/* Bits needed to store max (0 for 0). */
int sl_pq_bit_width(uint64_t max);
/* Append the hybrid encoding of v[0..n) at bit width bw (1..32; values
 * must fit). Runs of 8 or more equal values become RLE runs; the rest is
 * bit-packed in groups of 8, the last group padded with zeros. */
int sl_pq_rle_u8(sl_buf_t *b, const uint8_t *v, size_t n, int bw);
int sl_pq_rle_u32(sl_buf_t *b, const uint32_t *v, size_t n, int bw);
/* PLAIN booleans: one bit per value, LSB first, last byte zero-padded. */
int sl_pq_bitpack_bools(sl_buf_t *b, const uint8_t *v, size_t n);

/* ---- hash dictionaries (dict.c) ---- */

/* Distinct values in insertion order with their PLAIN encoding kept
 * contiguous in data (so the dictionary page is one copy). width > 0:
 * fixed-width values of width bytes; width 0: byte arrays stored as a
 * 4-byte little-endian length and the bytes. */
typedef struct {
    int width;
    uint64_t *slots;  /* (hash low 32 bits << 32) | (entry + 1); 0 = empty */
    size_t mask;      /* slot count - 1 */
    uint32_t count;
    uint32_t *hashes; /* per entry */
    uint64_t *offs;   /* per entry byte offset in data (byte arrays only) */
    size_t ecap;      /* capacity of hashes/offs */
    uint8_t *data;
    size_t dlen, dcap;
} sl_pq_dict_t;

void sl_pq_dict_init(sl_pq_dict_t *d, int width);
void sl_pq_dict_free(sl_pq_dict_t *d);
/* Empties the dictionary, keeping its memory. */
void sl_pq_dict_clear(sl_pq_dict_t *d);
/* Appends p[0..n) (n == width for fixed-width dictionaries) with hash h
 * (from sl_pq_hash), which must not be present yet. Sets *idx to its entry
 * number. Returns 0 or SL_ENOMEM. */
int sl_pq_dict_insert(sl_pq_dict_t *d, const void *p, size_t n, uint32_t h, uint32_t *idx);

static inline uint64_t sl_pq_load64(const void *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}
static inline uint32_t sl_pq_load32(const void *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}
static inline uint64_t sl_pq_mix64(uint64_t x)
{
    /* splitmix64 finalizer: every input bit reaches the low 32 bits */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
uint32_t sl_pq_hash_long(const void *p, size_t n);
/* The dictionary hash of a value. Short strings are hashed inline from
 * two overlapping words. */
static inline uint32_t sl_pq_hash(const void *p, size_t n, int width)
{
    const uint8_t *b = p;
    if (width == 8) {
        return (uint32_t)sl_pq_mix64(sl_pq_load64(p));
    }
    if (width == 4) {
        return (uint32_t)sl_pq_mix64(sl_pq_load32(p));
    }
    if (n > 16) {
        return sl_pq_hash_long(p, n);
    }
    uint64_t x, y;
    if (n >= 8) {
        x = sl_pq_load64(b);
        y = sl_pq_load64(b + n - 8);
    } else if (n >= 4) {
        x = sl_pq_load32(b);
        y = sl_pq_load32(b + n - 4);
    } else if (n > 0) {
        x = (uint64_t)b[0] | (uint64_t)b[n / 2] << 8 | (uint64_t)b[n - 1] << 16;
        y = 0;
    } else {
        x = y = 0;
    }
    return (uint32_t)sl_pq_mix64(x ^ sl_pq_mix64(y + (uint64_t)n));
}

/* Looks p[0..n) with hash h up. Returns true and sets *idx if present. */
static inline bool sl_pq_dict_find(const sl_pq_dict_t *d, const void *p, size_t n, uint32_t h,
                                   uint32_t *idx)
{
    if (!d->count) {
        return false;
    }
    size_t i = h & d->mask;
    for (;;) {
        uint64_t s = d->slots[i];
        if (!s) {
            return false;
        }
        if ((uint32_t)(s >> 32) == h) {
            uint32_t e = (uint32_t)s - 1;
            bool eq;
            if (d->width == 8) {
                eq = sl_pq_load64(d->data + (size_t)e * 8) == sl_pq_load64(p);
            } else if (d->width == 4) {
                eq = sl_pq_load32(d->data + (size_t)e * 4) == sl_pq_load32(p);
            } else if (d->width > 0) {
                eq = memcmp(d->data + (size_t)e * (size_t)d->width, p, n) == 0;
            } else {
                const uint8_t *q = d->data + d->offs[e];
                eq = sl_pq_load32(q) == n && sl_mem_eq(q + 4, p, n);
            }
            if (eq) {
                *idx = e;
                return true;
            }
        }
        i = (i + 1) & d->mask;
    }
}

/* The PLAIN bytes of entry i: for byte arrays, after the length prefix. */
static inline const uint8_t *sl_pq_dict_entry(const sl_pq_dict_t *d, uint32_t i, size_t *n)
{
    if (d->width > 0) {
        *n = (size_t)d->width;
        return d->data + (size_t)i * (size_t)d->width;
    }
    const uint8_t *p = d->data + d->offs[i];
    uint32_t len;
    memcpy(&len, p, 4);
    *n = len;
    return p + 4;
}

/* ---- compression (compress.c) ---- */
typedef struct sl_pq_compressor sl_pq_compressor_t;

int sl_pq_compressor_new(sl_pq_codec_t codec, int level, sl_pq_compressor_t **out);
void sl_pq_compressor_free(sl_pq_compressor_t *c);
/* Appends the compressed form of src[0..n) to out. */
int sl_pq_compress(sl_pq_compressor_t *c, const void *src, size_t n, sl_buf_t *out);
/* The parquet CompressionCodec number of a codec. */
int sl_pq_codec_id(sl_pq_codec_t codec);

/* ---- output: staged writes through the user's callback ---- */
typedef struct {
    sl_pq_write_fn fn;
    void *ud;
    sl_buf_t stage;
    uint64_t pos;     /* file offset of the next byte */
    uint64_t flushed; /* bytes handed to fn */
} sl_pq_out_t;

int sl_pq_out_write(sl_pq_out_t *o, const void *p, size_t n);
int sl_pq_out_flush(sl_pq_out_t *o);

/* ---- leaf columns (column.c) ---- */

/* The statistics of one column chunk, PLAIN-encoded min/max. */
typedef struct {
    uint64_t null_count;
    int64_t nan_count;      /* floating point columns; -1 otherwise */
    bool has_minmax;
    bool legacy;            /* also write deprecated min/max (signed order types) */
    bool min_exact, max_exact;
    uint8_t min[64], max[64];
    size_t min_len, max_len;
} sl_pq_stats_t;

/* What a chunk's encoding produced, for its ColumnMetaData. */
typedef struct {
    int codec_id;             /* of this chunk: none when the data does not compress */
    int64_t num_values;
    int64_t total_uncompressed, total_compressed;
    int64_t data_page_offset;
    int64_t dict_page_offset; /* -1: none */
    int32_t dict_pages, dict_data_pages, plain_data_pages;
    sl_pq_stats_t stats;
} sl_pq_chunk_meta_t;

/* One leaf column's buffered row group. Values are kept PLAIN-encoded as
 * they come (cheap to append and to roll back); the dictionary is built
 * when the chunk is written. */
typedef struct sl_pq_leaf {
    /* Touched for every record, kept together (two cache lines). */
    /* levels: one entry per leaf slot of a record */
    uint8_t *def, *rep;
    size_t nlev, lev_cap;
    /* values: fixed width, or a 4-byte length and the bytes, or one byte
     * per boolean */
    uint8_t *vals;
    size_t vlen, vcap, nvals;
    uint64_t nnull;        /* levels below max_def */
    /* state before the current record (number epoch), for rollback; the
     * values and nulls it added are counted from the levels then */
    uint64_t epoch;
    size_t s_nlev, s_vlen;
    sl_pq_type_t type;
    int phys;              /* PQ_BOOLEAN ... */
    int width;             /* fixed-width bytes (4, 8, FLBA length); 0 for byte arrays/bool */
    uint8_t max_def, max_rep;

    /* schema */
    int precision, scale;  /* decimals */
    const char **path;     /* path_in_schema */
    size_t npath;

    /* while a chunk is written: values [0, ndict) are entries of dict
     * (idx), the rest PLAIN from vals + dpos */
    sl_pq_dict_t dict;
    uint32_t *idx;
    size_t idx_cap, ndict, dpos;
    bool unique;           /* the last dictionary was given up for too few repeats */
} sl_pq_leaf_t;

/* Per-writer context for leaf operations. */
typedef struct {
    size_t dict_max;       /* dictionary cap in bytes */
    size_t page_bytes;
    bool page_v2;
    bool use_dict;
    sl_pq_compressor_t *comp;
    int codec_id;          /* the file's codec */
    int chunk_codec;       /* the codec of the chunk being written */
    sl_pq_out_t *out;
    uint64_t buffered;     /* estimated PLAIN bytes of the row group */
    uint64_t epoch;        /* number of the record being added */
    sl_buf_t scratch;      /* JSON text, decimal text */
    sl_buf_t page, comp_buf, hdr, lev; /* chunk encoding buffers */
} sl_pq_ctx_t;

int sl_pq_leaf_init(sl_pq_leaf_t *l, const sl_pq_ctx_t *c);
void sl_pq_leaf_free(sl_pq_leaf_t *l);
/* Forgets the buffered values (after a row group), keeping memory. */
void sl_pq_leaf_reset(sl_pq_leaf_t *l, const sl_pq_ctx_t *c);
/* Undoes what the current record appended to the leaf. */
void sl_pq_leaf_rollback(sl_pq_leaf_t *l, sl_pq_ctx_t *c);

/* Appends a null (def < max_def) at the given levels. */
int sl_pq_leaf_null(sl_pq_leaf_t *l, sl_pq_ctx_t *c, unsigned def, unsigned rep);
/* Appends value v (not null) at max_def. Returns SL_ETYPE with *why set
 * to a static description when v does not fit the column (the caller
 * names the field), or SL_ENOMEM. */
int sl_pq_leaf_value(sl_pq_leaf_t *l, sl_pq_ctx_t *c, const sl_value_t *v, unsigned rep,
                     const char **why);

/* Parses a JSON number text into a double, exactly like strtod. */
double sl_pq_parse_double(const char *s, size_t n);

/* On the leaf's first level of a record: remember where the record began. */
static inline void sl_pq_leaf_touch(sl_pq_leaf_t *l, const sl_pq_ctx_t *c)
{
    if (l->epoch != c->epoch) {
        l->epoch = c->epoch;
        l->s_nlev = l->nlev;
        l->s_vlen = l->vlen;
    }
}

/* sl_pq_leaf_value for the common cases of a column that is not repeated
 * (ints, doubles, UTF-8 strings, booleans, timestamps taken as they are),
 * inlined into the writer's loop over a record's columns: one call per
 * value costs as much as the append. Returns false, having appended
 * nothing, when sl_pq_leaf_value must decide (other types, conversions,
 * errors, full buffers). */
static inline bool sl_pq_leaf_put_fast(sl_pq_leaf_t *l, sl_pq_ctx_t *c, const sl_value_t *v)
{
    if (l->max_rep || l->nlev == l->lev_cap) {
        return false;
    }
    size_t room = l->vcap - l->vlen, n;
    uint8_t *dst = room ? l->vals + l->vlen : NULL; /* vals is NULL until it grows */
    switch (l->type) {
    case SL_PQ_INT64:
    case SL_PQ_TIMESTAMP:
        if (v->type != (l->type == SL_PQ_INT64 ? SL_T_INT : SL_T_TIMESTAMP) || room < 8) {
            return false;
        }
        memcpy(dst, &v->u.i, 8);
        n = 8;
        break;
    case SL_PQ_DOUBLE: {
        if (v->type != SL_T_DOUBLE || room < 8) {
            return false;
        }
        double d = (v->flags & SL_VF_RAW) ? sl_pq_parse_double(v->u.s, v->len) : v->u.d;
        memcpy(dst, &d, 8);
        n = 8;
        break;
    }
    case SL_PQ_STRING:
        if (v->type != SL_T_STRING || !(v->flags & SL_VF_UTF8) || room < (size_t)v->len + 4) {
            return false;
        }
        memcpy(dst, &v->len, 4);
        memcpy(dst + 4, v->u.s, v->len);
        n = (size_t)v->len + 4;
        break;
    case SL_PQ_BOOL:
        if (v->type != SL_T_BOOL || room < 1) {
            return false;
        }
        *dst = v->u.i != 0;
        n = 1;
        break;
    default:
        return false;
    }
    sl_pq_leaf_touch(l, c);
    l->vlen += n;
    l->nvals++;
    c->buffered += n;
    if (l->max_def) {
        l->def[l->nlev] = l->max_def;
    }
    l->nlev++;
    return true;
}
/* Encodes the buffered values as one column chunk written to c->out. */
int sl_pq_leaf_write_chunk(sl_pq_leaf_t *l, sl_pq_ctx_t *c, sl_pq_chunk_meta_t *m);

/* Exposed for tests: converts decimal text (digits, optional fraction
 * and exponent) to the unscaled integer for DECIMAL(precision, scale).
 * Returns 0, or SL_ETYPE with *why set. */
int sl_pq_decimal_parse(const char *s, size_t n, int precision, int scale, __int128 *out,
                        const char **why);
/* Bytes of the FIXED_LEN_BYTE_ARRAY for a decimal precision (> 18). */
int sl_pq_decimal_flba_len(int precision);
/* The unscaled integer of a value (int, double, big integer or numeric
 * string) in DECIMAL(precision, scale): exact, never rounded; a value
 * with more digits than the precision or more fraction digits than the
 * scale is SL_ETYPE with *why set. scratch holds a double's text. */
int sl_pq_decimal_from_value(const sl_value_t *v, int precision, int scale, sl_buf_t *scratch,
                             __int128 *out, const char **why);
/* The PLAIN bytes of unscaled x for a decimal precision: little-endian
 * INT32 (p <= 9) or INT64 (p <= 18), else a big-endian two's-complement
 * FIXED_LEN_BYTE_ARRAY of sl_pq_decimal_flba_len(p) bytes. Returns the
 * length. */
size_t sl_pq_decimal_encode(__int128 x, int precision, uint8_t out[16]);
/* Whether p[0..n) is valid UTF-8 (no overlongs, surrogates or code
 * points beyond U+10FFFF). */
bool sl_pq_utf8_valid(const void *p, size_t n);

#endif
