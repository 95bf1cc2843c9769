/* Thrift compact protocol encoder for the parquet.thrift structs the
 * writer emits (page headers here; the footer is assembled in writer.c
 * from the same primitives).
 *
 * Compact protocol in short: integers are ULEB128 varints of their zigzag
 * form; a field header is one byte (id delta << 4 | type) when the id
 * grows by 1..15 over the previous field of the same struct, else the type
 * byte followed by the zigzag varint id; booleans live in the field
 * header's type (1 true, 2 false); binary is a varint length and bytes; a
 * list header is (size << 4 | elem type) for sizes below 15, else 0xF0 |
 * type and a varint size; a struct ends with a 0 byte. */
#include <string.h>

#include "pq_internal.h"

void sl_tw_init(sl_tw_t *t, sl_buf_t *b)
{
    t->b = b;
    t->depth = 0;
    t->last[0] = 0;
    t->rc = 0;
}

static void put(sl_tw_t *t, const void *p, size_t n)
{
    if (t->rc == 0) {
        t->rc = sl_buf_append(t->b, p, n);
    }
}

static void put_byte(sl_tw_t *t, uint8_t c)
{
    put(t, &c, 1);
}

void sl_tw_raw(sl_tw_t *t, const void *p, size_t n)
{
    put(t, p, n);
}

void sl_tw_varint(sl_tw_t *t, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    put(t, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void sl_tw_field(sl_tw_t *t, int16_t id, int type)
{
    int16_t *last = &t->last[t->depth];
    int delta = (int)id - (int)*last;
    if (delta > 0 && delta <= 15) {
        put_byte(t, (uint8_t)(delta << 4 | type));
    } else {
        put_byte(t, (uint8_t)type);
        sl_tw_varint(t, zigzag(id));
    }
    *last = id;
}

void sl_tw_bool(sl_tw_t *t, int16_t id, bool v)
{
    sl_tw_field(t, id, v ? SL_TT_BOOL_TRUE : SL_TT_BOOL_FALSE);
}

void sl_tw_i8(sl_tw_t *t, int16_t id, int8_t v)
{
    sl_tw_field(t, id, SL_TT_BYTE);
    put_byte(t, (uint8_t)v);
}

void sl_tw_i16(sl_tw_t *t, int16_t id, int16_t v)
{
    sl_tw_field(t, id, SL_TT_I16);
    sl_tw_varint(t, zigzag(v));
}

void sl_tw_i32(sl_tw_t *t, int16_t id, int32_t v)
{
    sl_tw_field(t, id, SL_TT_I32);
    sl_tw_varint(t, zigzag(v));
}

void sl_tw_i64(sl_tw_t *t, int16_t id, int64_t v)
{
    sl_tw_field(t, id, SL_TT_I64);
    sl_tw_varint(t, zigzag(v));
}

void sl_tw_double(sl_tw_t *t, int16_t id, double v)
{
    sl_tw_field(t, id, SL_TT_DOUBLE);
    put(t, &v, 8); /* little-endian host */
}

void sl_tw_binary(sl_tw_t *t, int16_t id, const void *p, size_t n)
{
    sl_tw_field(t, id, SL_TT_BINARY);
    sl_tw_elem_binary(t, p, n);
}

void sl_tw_string(sl_tw_t *t, int16_t id, const char *s)
{
    sl_tw_binary(t, id, s, strlen(s));
}

static void push(sl_tw_t *t)
{
    if (t->depth + 1 >= SL_TW_MAX_DEPTH) {
        if (t->rc == 0) {
            t->rc = SL_ELIMIT;
        }
        return;
    }
    t->last[++t->depth] = 0;
}

void sl_tw_struct_begin(sl_tw_t *t, int16_t id)
{
    sl_tw_field(t, id, SL_TT_STRUCT);
    push(t);
}

void sl_tw_elem_struct_begin(sl_tw_t *t)
{
    push(t);
}

void sl_tw_struct_end(sl_tw_t *t)
{
    put_byte(t, 0);
    if (t->depth > 0) {
        t->depth--;
    }
}

void sl_tw_list_begin(sl_tw_t *t, int16_t id, int elem_type, size_t n)
{
    sl_tw_field(t, id, SL_TT_LIST);
    if (n < 15) {
        put_byte(t, (uint8_t)(n << 4 | (size_t)elem_type));
    } else {
        put_byte(t, (uint8_t)(0xF0 | elem_type));
        sl_tw_varint(t, n);
    }
}

void sl_tw_elem_i32(sl_tw_t *t, int32_t v)
{
    sl_tw_varint(t, zigzag(v));
}

void sl_tw_elem_binary(sl_tw_t *t, const void *p, size_t n)
{
    sl_tw_varint(t, n);
    put(t, p, n);
}

int sl_pq_encode_page_header(sl_buf_t *b, const sl_pq_page_header_t *h)
{
    sl_tw_t t;
    sl_tw_init(&t, b);
    sl_tw_i32(&t, 1, h->type);
    sl_tw_i32(&t, 2, h->uncompressed_size);
    sl_tw_i32(&t, 3, h->compressed_size);
    switch (h->type) {
    case PQ_PAGE_DATA:
        sl_tw_struct_begin(&t, 5);
        sl_tw_i32(&t, 1, h->num_values);
        sl_tw_i32(&t, 2, h->encoding);
        sl_tw_i32(&t, 3, PQ_ENC_RLE); /* definition levels */
        sl_tw_i32(&t, 4, PQ_ENC_RLE); /* repetition levels */
        sl_tw_struct_end(&t);
        break;
    case PQ_PAGE_DICTIONARY:
        sl_tw_struct_begin(&t, 7);
        sl_tw_i32(&t, 1, h->num_values);
        sl_tw_i32(&t, 2, h->encoding);
        sl_tw_struct_end(&t);
        break;
    case PQ_PAGE_DATA_V2:
        sl_tw_struct_begin(&t, 8);
        sl_tw_i32(&t, 1, h->num_values);
        sl_tw_i32(&t, 2, h->num_nulls);
        sl_tw_i32(&t, 3, h->num_rows);
        sl_tw_i32(&t, 4, h->encoding);
        sl_tw_i32(&t, 5, h->def_bytes);
        sl_tw_i32(&t, 6, h->rep_bytes);
        sl_tw_bool(&t, 7, h->is_compressed);
        sl_tw_struct_end(&t);
        break;
    default:
        return SL_EINVAL;
    }
    sl_tw_struct_end(&t);
    return t.rc;
}
