/* Tests for the Parquet writer's building blocks, against bytes computed
 * by hand from the specs: the Thrift compact protocol (src/format/
 * thrift.c), the RLE/bit-packed hybrid and boolean bit-packing (rle.c),
 * plus the hash dictionaries (dict.c), exact decimal parsing and the fast
 * double parser (column.c). The hybrid encoder is also checked by an
 * independent decoder over random inputs. */
#include <math.h>

#include "../../../src/format/pq_internal.h"
#include "../test.h"

/* Compares a buffer with expected bytes, printing both in hex. */
static void check_bytes(const char *file, int line, const sl_buf_t *b, const uint8_t *want,
                        size_t n)
{
    if (b->len == n && memcmp(b->data, want, n) == 0) {
        return;
    }
    char got[512] = "", exp[512] = "";
    for (size_t i = 0; i < b->len && i < 100; i++) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%02x ", (uint8_t)b->data[i]);
    }
    for (size_t i = 0; i < n && i < 100; i++) {
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%02x ", want[i]);
    }
    sl_test_fail(file, line, "bytes differ:\n      got  %s\n      want %s", got, exp);
}
#define CHECK_BYTES(b, ...)                                                                        \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        check_bytes(__FILE__, __LINE__, (b), want_, sizeof want_);                                 \
    } while (0)

SL_TEST(pq_thrift_ints_zigzag_varints)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_tw_t t;
    sl_tw_init(&t, &b);
    sl_tw_i32(&t, 1, 0);
    sl_tw_i32(&t, 2, -1);
    sl_tw_i32(&t, 3, 300);
    sl_tw_i32(&t, 4, INT32_MIN);
    sl_tw_i64(&t, 5, INT64_MAX);
    sl_tw_i8(&t, 6, 32);
    sl_tw_i16(&t, 7, -2);
    CHECK_INT(t.rc, 0);
    CHECK_BYTES(&b, 0x15, 0x00,                   /* 1: 0 */
                0x15, 0x01,                       /* 2: -1 -> 1 */
                0x15, 0xD8, 0x04,                 /* 3: 300 -> 600 */
                0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, /* 4: INT32_MIN -> 2^32 - 1 */
                0x16, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, /* 5 */
                0x13, 0x20,                       /* 6: i8 is one raw byte */
                0x14, 0x03);                      /* 7: i16 -2 -> 3 */
    sl_buf_free(&b);
}

SL_TEST(pq_thrift_field_headers_long_form)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_tw_t t;
    sl_tw_init(&t, &b);
    sl_tw_i32(&t, 1, 1);
    sl_tw_i64(&t, 20, -64); /* delta 19 > 15: type byte, then zigzag id */
    sl_tw_i32(&t, 5, 1);    /* going back: long form too */
    sl_tw_i32(&t, 6, 2);    /* short again */
    sl_tw_i32(&t, 300, 7);  /* a big id: varint */
    CHECK_INT(t.rc, 0);
    CHECK_BYTES(&b, 0x15, 0x02, 0x06, 0x28, 0x7F, 0x05, 0x0A, 0x02, 0x15, 0x04, 0x05, 0xD8, 0x04,
                0x0E);
    sl_buf_free(&b);
}

SL_TEST(pq_thrift_bools_binary_double)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_tw_t t;
    sl_tw_init(&t, &b);
    sl_tw_bool(&t, 1, true);
    sl_tw_bool(&t, 2, false);
    sl_tw_binary(&t, 3, "ab", 2);
    sl_tw_string(&t, 4, "");
    sl_tw_double(&t, 5, 1.5);
    CHECK_INT(t.rc, 0);
    CHECK_BYTES(&b, 0x11, 0x12, 0x18, 0x02, 'a', 'b', 0x18, 0x00, 0x17, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0xF8, 0x3F);
    sl_buf_free(&b);
}

SL_TEST(pq_thrift_lists_and_nested_structs)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_tw_t t;
    sl_tw_init(&t, &b);
    sl_tw_list_begin(&t, 1, SL_TT_I32, 3);
    sl_tw_elem_i32(&t, 1);
    sl_tw_elem_i32(&t, 2);
    sl_tw_elem_i32(&t, -3);
    sl_tw_list_begin(&t, 2, SL_TT_BINARY, 20); /* 15 or more: long list header */
    for (int i = 0; i < 20; i++) {
        sl_tw_elem_binary(&t, "x", 1);
    }
    sl_tw_struct_begin(&t, 4); /* inner field ids restart at 0 */
    sl_tw_i32(&t, 1, 1);
    sl_tw_struct_begin(&t, 2);
    sl_tw_struct_end(&t);
    sl_tw_struct_end(&t);
    sl_tw_i32(&t, 5, 0); /* delta 1 from the struct field 4 */
    sl_tw_list_begin(&t, 6, SL_TT_STRUCT, 2);
    sl_tw_elem_struct_begin(&t);
    sl_tw_i32(&t, 3, 1);
    sl_tw_struct_end(&t);
    sl_tw_elem_struct_begin(&t);
    sl_tw_struct_end(&t);
    sl_tw_struct_end(&t); /* top level stop */
    CHECK_INT(t.rc, 0);
    uint8_t want[200];
    size_t n = 0;
    uint8_t head[] = {0x19, 0x35, 0x02, 0x04, 0x05, 0x19, 0xF8, 0x14};
    memcpy(want, head, sizeof head);
    n = sizeof head;
    for (int i = 0; i < 20; i++) {
        want[n++] = 0x01;
        want[n++] = 'x';
    }
    uint8_t tail[] = {0x2C, 0x15, 0x02, 0x1C, 0x00, 0x00, 0x15, 0x00, 0x19, 0x2C, 0x35, 0x02,
                      0x00, 0x00, 0x00};
    memcpy(want + n, tail, sizeof tail);
    n += sizeof tail;
    check_bytes(__FILE__, __LINE__, &b, want, n);
    sl_buf_free(&b);
}

SL_TEST(pq_thrift_page_headers)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_pq_page_header_t h = {.type = PQ_PAGE_DATA,
                             .uncompressed_size = 10,
                             .compressed_size = 8,
                             .num_values = 3,
                             .encoding = PQ_ENC_RLE_DICTIONARY};
    CHECK_INT(sl_pq_encode_page_header(&b, &h), 0);
    CHECK_BYTES(&b, 0x15, 0x00, 0x15, 0x14, 0x15, 0x10, 0x2C, 0x15, 0x06, 0x15, 0x10, 0x15, 0x06,
                0x15, 0x06, 0x00, 0x00);

    sl_buf_clear(&b);
    sl_pq_page_header_t d = {.type = PQ_PAGE_DICTIONARY,
                             .uncompressed_size = 64,
                             .compressed_size = 64,
                             .num_values = 16,
                             .encoding = PQ_ENC_PLAIN};
    CHECK_INT(sl_pq_encode_page_header(&b, &d), 0);
    CHECK_BYTES(&b, 0x15, 0x04, 0x15, 0x80, 0x01, 0x15, 0x80, 0x01, 0x4C, 0x15, 0x20, 0x15, 0x00,
                0x00, 0x00);

    sl_buf_clear(&b);
    sl_pq_page_header_t v2 = {.type = PQ_PAGE_DATA_V2,
                              .uncompressed_size = 5,
                              .compressed_size = 5,
                              .num_values = 4,
                              .num_nulls = 1,
                              .num_rows = 2,
                              .encoding = PQ_ENC_PLAIN,
                              .def_bytes = 2,
                              .rep_bytes = 1,
                              .is_compressed = false};
    CHECK_INT(sl_pq_encode_page_header(&b, &v2), 0);
    CHECK_BYTES(&b, 0x15, 0x06, 0x15, 0x0A, 0x15, 0x0A, 0x5C, 0x15, 0x08, 0x15, 0x02, 0x15, 0x04,
                0x15, 0x00, 0x15, 0x04, 0x15, 0x02, 0x12, 0x00, 0x00);
    sl_buf_free(&b);
}

/* ---- RLE / bit-packing ---- */

SL_TEST(pq_rle_exact_runs)
{
    sl_buf_t b = SL_BUF_INIT;
    uint8_t zeros[100] = {0};
    CHECK_INT(sl_pq_rle_u8(&b, zeros, 100, 1), 0);
    CHECK_BYTES(&b, 0xC8, 0x01, 0x00); /* RLE run: 100 << 1 as a varint, value 0 */

    sl_buf_clear(&b);
    uint8_t lit[] = {1, 0, 1, 1, 0, 0, 0, 1};
    CHECK_INT(sl_pq_rle_u8(&b, lit, 8, 1), 0);
    CHECK_BYTES(&b, 0x03, 0x8D); /* one bit-packed group, LSB first */

    sl_buf_clear(&b);
    uint8_t seq[] = {0, 1, 2, 3, 4, 5, 6, 7}; /* the spec's bit width 3 example */
    CHECK_INT(sl_pq_rle_u8(&b, seq, 8, 3), 0);
    CHECK_BYTES(&b, 0x03, 0x88, 0xC6, 0xFA);

    sl_buf_clear(&b);
    uint8_t tail[] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 1}; /* last group zero-padded */
    CHECK_INT(sl_pq_rle_u8(&b, tail, 10, 1), 0);
    CHECK_BYTES(&b, 0x05, 0x55, 0x03);

    /* 3 literals then 20 fives: the run lends 5 values to fill the literal
     * group, 15 remain as an RLE run */
    sl_buf_clear(&b);
    uint8_t mix[23] = {1, 2, 3};
    for (int i = 3; i < 23; i++) {
        mix[i] = 5;
    }
    CHECK_INT(sl_pq_rle_u8(&b, mix, 23, 3), 0);
    CHECK_BYTES(&b, 0x03, 0xD1, 0xDA, 0xB6, 0x1E, 0x05);

    /* a short run stays inside the literals */
    sl_buf_clear(&b);
    uint8_t shortrun[] = {1, 1, 1, 1, 1, 1, 1, 0};
    CHECK_INT(sl_pq_rle_u8(&b, shortrun, 8, 1), 0);
    CHECK_BYTES(&b, 0x03, 0x7F);

    /* 32-bit values: a 9-bit RLE value takes two bytes */
    sl_buf_clear(&b);
    uint32_t big[10];
    for (int i = 0; i < 10; i++) {
        big[i] = 300;
    }
    CHECK_INT(sl_pq_rle_u32(&b, big, 10, 9), 0);
    CHECK_BYTES(&b, 0x14, 0x2C, 0x01);

    sl_buf_clear(&b);
    CHECK_INT(sl_pq_rle_u8(&b, zeros, 0, 1), 0);
    CHECK_INT(b.len, 0);
    CHECK_INT(sl_pq_rle_u8(&b, zeros, 4, 0), SL_EINVAL);
    sl_buf_free(&b);
}

SL_TEST(pq_rle_bools_and_widths)
{
    sl_buf_t b = SL_BUF_INIT;
    uint8_t v[] = {1, 1, 0, 1, 0, 0, 0, 0, 1};
    CHECK_INT(sl_pq_bitpack_bools(&b, v, 9), 0);
    CHECK_BYTES(&b, 0x0B, 0x01);
    CHECK_INT(sl_pq_bit_width(0), 0);
    CHECK_INT(sl_pq_bit_width(1), 1);
    CHECK_INT(sl_pq_bit_width(2), 2);
    CHECK_INT(sl_pq_bit_width(255), 8);
    CHECK_INT(sl_pq_bit_width(256), 9);
    sl_buf_free(&b);
}

/* An independent decoder of the hybrid encoding. */
static size_t rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t want)
{
    size_t i = 0, k = 0;
    while (i < n && k < want) {
        uint64_t h = 0;
        int shift = 0;
        while (i < n) {
            uint8_t c = p[i++];
            h |= (uint64_t)(c & 0x7F) << shift;
            shift += 7;
            if (!(c & 0x80)) {
                break;
            }
        }
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t j = 0; j < count; j++) {
                while (bits < bw) {
                    acc |= (uint64_t)p[i++] << bits;
                    bits += 8;
                }
                uint32_t x = (uint32_t)(acc & (((uint64_t)1 << bw) - 1));
                acc >>= bw;
                bits -= bw;
                if (k < want) {
                    out[k++] = x;
                }
            }
        } else {
            size_t count = (size_t)(h >> 1);
            uint32_t x = 0;
            for (int j = 0; j < (bw + 7) / 8; j++) {
                x |= (uint32_t)p[i++] << (8 * j);
            }
            for (size_t j = 0; j < count && k < want; j++) {
                out[k++] = x;
            }
        }
    }
    return i == n ? k : 0;
}

SL_TEST(pq_rle_random_roundtrip)
{
    uint64_t s = 12345;
    sl_buf_t b = SL_BUF_INIT;
    uint32_t *v = malloc(5000 * sizeof *v), *d = malloc(5000 * sizeof *d);
    uint8_t *v8 = malloc(5000);
    for (int iter = 0; iter < 300; iter++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int bw = 1 + (int)((s >> 33) % 32);
        size_t n = (size_t)((s >> 20) % 5000);
        uint64_t mask = bw == 32 ? 0xFFFFFFFFu : ((uint64_t)1 << bw) - 1;
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            /* runs of random length and literals */
            if (i > 0 && (s >> 60) < 12) {
                v[i] = v[i - 1];
            } else {
                v[i] = (uint32_t)((s >> 16) & mask);
            }
            v8[i] = (uint8_t)(v[i] & (bw >= 8 ? 0xFF : mask));
        }
        sl_buf_clear(&b);
        CHECK_INT(sl_pq_rle_u32(&b, v, n, bw), 0);
        CHECK_INT(rle_decode((uint8_t *)b.data, b.len, bw, d, n), n);
        CHECK(n == 0 || memcmp(v, d, n * sizeof *v) == 0);
        int bw8 = bw > 8 ? 8 : bw;
        sl_buf_clear(&b);
        CHECK_INT(sl_pq_rle_u8(&b, v8, n, bw8), 0);
        CHECK_INT(rle_decode((uint8_t *)b.data, b.len, bw8, d, n), n);
        for (size_t i = 0; i < n; i++) {
            CHECK_INT(d[i], v8[i]);
        }
    }
    free(v);
    free(d);
    free(v8);
    sl_buf_free(&b);
}

/* ---- dictionaries ---- */

static uint32_t put(sl_pq_dict_t *d, const void *p, size_t n)
{
    uint32_t h = sl_pq_hash(p, n, d->width), ix = 0;
    if (!sl_pq_dict_find(d, p, n, h, &ix)) {
        CHECK_INT(sl_pq_dict_insert(d, p, n, h, &ix), 0);
    }
    return ix;
}

SL_TEST(pq_dict_strings_growth_and_plain_layout)
{
    sl_pq_dict_t d;
    sl_pq_dict_init(&d, 0);
    CHECK_INT(put(&d, "a", 1), 0);
    CHECK_INT(put(&d, "", 0), 1);
    CHECK_INT(put(&d, "a", 1), 0);
    CHECK_INT(put(&d, "bcdefghijklmnopqrstu", 20), 2);
    CHECK_INT(d.count, 3);
    /* PLAIN: 4-byte little-endian length, then the bytes */
    CHECK_INT(d.dlen, 5 + 4 + 24);
    CHECK(memcmp(d.data, "\x01\0\0\0a\0\0\0\0\x14\0\0\0bcdefghij", 22) == 0);
    size_t n;
    const uint8_t *p = sl_pq_dict_entry(&d, 2, &n);
    CHECK_STRN((const char *)p, n, "bcdefghijklmnopqrstu");

    /* thousands of entries (the table grows and rehashes) */
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int k = snprintf(key, sizeof key, "key-%d", i);
        CHECK_INT(put(&d, key, (size_t)k), 3 + i);
    }
    for (int i = 0; i < 5000; i++) {
        int k = snprintf(key, sizeof key, "key-%d", i);
        uint32_t ix;
        CHECK(sl_pq_dict_find(&d, key, (size_t)k, sl_pq_hash(key, (size_t)k, 0), &ix));
        CHECK_INT(ix, 3 + i);
    }
    uint32_t ix;
    CHECK(!sl_pq_dict_find(&d, "key-5000", 8, sl_pq_hash("key-5000", 8, 0), &ix));
    CHECK_INT(put(&d, "a", 1), 0);
    sl_pq_dict_clear(&d);
    CHECK_INT(d.count, 0);
    CHECK_INT(put(&d, "key-4999", 8), 0);
    sl_pq_dict_free(&d);
}

SL_TEST(pq_dict_fixed_width)
{
    sl_pq_dict_t d;
    sl_pq_dict_init(&d, 8);
    for (int64_t i = 0; i < 100000; i++) {
        int64_t x = i * 7919 % 1000;
        CHECK_INT(put(&d, &x, 8), i < 1000 ? (uint32_t)i : put(&d, &x, 8));
    }
    CHECK_INT(d.count, 1000);
    int64_t v;
    memcpy(&v, d.data + 8 * 5, 8);
    CHECK_INT(v, 5 * 7919 % 1000);
    sl_pq_dict_free(&d);

    sl_pq_dict_init(&d, 16); /* FIXED_LEN_BYTE_ARRAY decimals */
    uint8_t a[16] = {1}, b[16] = {2};
    CHECK_INT(put(&d, a, 16), 0);
    CHECK_INT(put(&d, b, 16), 1);
    CHECK_INT(put(&d, a, 16), 0);
    sl_pq_dict_free(&d);
}

/* ---- numbers ---- */

static char dec_out[64];

/* v as decimal text in dec_out. */
static const char *i128_text(__int128 v)
{
    char tmp[64];
    int k = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[k++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    int j = 0;
    if (neg) {
        dec_out[j++] = '-';
    }
    while (k) {
        dec_out[j++] = tmp[--k];
    }
    dec_out[j] = '\0';
    return dec_out;
}

/* The unscaled integer of text in decimal(p, sc), or "error: why". */
static const char *dec(const char *s, int p, int sc)
{
    __int128 v;
    const char *why = NULL;
    if (sl_pq_decimal_parse(s, strlen(s), p, sc, &v, &why)) {
        snprintf(dec_out, sizeof dec_out, "error: %s", why ? why : "?");
        return dec_out;
    }
    return i128_text(v);
}

/* The unscaled integer of a value in decimal(p, sc), or "error: why". */
static const char *dec_value(sl_value_t v, int p, int sc)
{
    __int128 x;
    const char *why = NULL;
    sl_buf_t scratch = {0};
    int rc = sl_pq_decimal_from_value(&v, p, sc, &scratch, &x, &why);
    sl_buf_free(&scratch);
    if (rc) {
        snprintf(dec_out, sizeof dec_out, "error: %s", why ? why : "?");
        return dec_out;
    }
    return i128_text(x);
}

SL_TEST(pq_decimal_parse_exact)
{
    CHECK_STR(dec("123.45", 5, 2), "12345");
    CHECK_STR(dec("-1.5", 5, 2), "-150");
    CHECK_STR(dec("0", 5, 2), "0");
    CHECK_STR(dec("-0.00", 5, 2), "0");
    CHECK_STR(dec("999.99", 5, 2), "99999");
    CHECK_STR(dec("1000", 5, 2), "error: too many digits for the precision");
    CHECK_STR(dec("1.234", 5, 2), "error: more fraction digits than the scale");
    CHECK_STR(dec("1.230000", 5, 2), "123"); /* trailing zeros are not digits */
    CHECK_STR(dec("00012.5", 5, 2), "1250");
    CHECK_STR(dec("1.5e2", 5, 2), "15000");
    CHECK_STR(dec("15E-1", 5, 2), "150");
    CHECK_STR(dec("1e-3", 5, 2), "error: more fraction digits than the scale");
    CHECK_STR(dec(".5", 5, 2), "50");
    CHECK_STR(dec("5.", 5, 2), "500");
    CHECK_STR(dec("+7", 5, 0), "7");
    CHECK_STR(dec("abc", 5, 2), "error: not a decimal number");
    CHECK_STR(dec("1.2.3", 5, 2), "error: not a decimal number");
    CHECK_STR(dec("", 5, 2), "error: not a decimal number");
    CHECK_STR(dec("-", 5, 2), "error: not a decimal number");
    CHECK_STR(dec("1e", 5, 2), "error: not a decimal number");
    CHECK_STR(dec(" 1", 5, 2), "error: not a decimal number");
    /* 38 digits, beyond any double */
    CHECK_STR(dec("-12345678901234567890123456789012345.678", 38, 3),
              "-12345678901234567890123456789012345678");
    CHECK_STR(dec("123456789012345678901234567890123456789", 38, 0),
              "error: too many digits for the precision");
    CHECK_STR(dec("1e100000000000", 38, 0), "error: too many digits for the precision");
    CHECK_STR(dec("1e-100000000000", 38, 0), "error: more fraction digits than the scale");
    CHECK_STR(dec("0e999", 5, 2), "0");

    CHECK_INT(sl_pq_decimal_flba_len(19), 9);
    CHECK_INT(sl_pq_decimal_flba_len(30), 13);
    CHECK_INT(sl_pq_decimal_flba_len(38), 16);
}

SL_TEST(pq_decimal_from_ints_and_doubles_never_overflows)
{
    /* int64 * 10^scale beyond 128 bits used to wrap silently */
    CHECK_STR(dec_value(sl_value_int(1000000000), 38, 30),
              "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(-170141183460469231LL), 38, 30),
              "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(INT64_MIN), 38, 30),
              "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(99999999), 38, 30), "99999999000000000000000000000000000000");
    CHECK_STR(dec_value(sl_value_int(-99999999), 38, 30),
              "-99999999000000000000000000000000000000");
    CHECK_STR(dec_value(sl_value_int(100000000), 38, 30),
              "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(1), 38, 38), "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(0), 38, 38), "0");
    CHECK_STR(dec_value(sl_value_int(INT64_MAX), 19, 0), "9223372036854775807");
    CHECK_STR(dec_value(sl_value_int(INT64_MIN), 19, 0), "-9223372036854775808");
    CHECK_STR(dec_value(sl_value_int(INT64_MIN), 18, 0), "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_int(9), 1, 0), "9");
    CHECK_STR(dec_value(sl_value_int(10), 1, 0), "error: too many digits for the precision");
    /* a double is its shortest text: 0.1 fits scale 1 */
    CHECK_STR(dec_value(sl_value_double(0.1), 38, 1), "1");
    CHECK_STR(dec_value(sl_value_double(-2.5), 3, 1), "-25");
    CHECK_STR(dec_value(sl_value_double(0.125), 10, 2),
              "error: more fraction digits than the scale");
    CHECK_STR(dec_value(sl_value_double(1e300), 38, 0), "error: too many digits for the precision");
    CHECK_STR(dec_value(sl_value_double(1.0 / 0.0), 38, 0), "error: not a finite number");
    CHECK_STR(dec_value(sl_value_bool(true), 38, 0), "error: ?");

    uint8_t b[16];
    CHECK_INT((int)sl_pq_decimal_encode(-2, 9, b), 4);
    CHECK_INT((int)sl_pq_decimal_encode(-2, 18, b), 8);
    CHECK_INT((int)sl_pq_decimal_encode(-2, 38, b), 16);
    CHECK(b[0] == 0xff && b[14] == 0xff && b[15] == 0xfe);
    CHECK_INT((int)sl_pq_decimal_encode(258, 19, b), 9);
    CHECK(b[0] == 0 && b[7] == 1 && b[8] == 2);
}

SL_TEST(pq_parse_double_matches_strtod)
{
    static const char *cases[] = {"0", "-0", "1", "-1", "0.1", "3306.53", "0.000001",
                                  "123456789012345678", "1234567890123456789", "9007199254740993",
                                  "1e22", "1e23", "1.5e-22", "1e-23", "2.2250738585072014e-308",
                                  "1.7976931348623157e308", "1e400", "-1e-400", "0.30000000000000004",
                                  "1E5", "1e+5", "12345678901234567890123", "0.0000000000000000000001",
                                  "4.9e-324", "123.456e-7", "12345678.12345678", "99999999.99999999",
                                  "123456789.5", "1.23456789", "00012.50", "7.", "-7.", "-", "",
                                  "1.5e3", "3.x", "1.2.3", "90071992.54740993", "0.00000001"};
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        double a = sl_pq_parse_double(cases[i], strlen(cases[i]));
        double b = strtod(cases[i], NULL);
        if (memcmp(&a, &b, 8) != 0) {
            sl_test_fail(__FILE__, __LINE__, "%s: %.17g != %.17g", cases[i], a, b);
        }
    }
    /* random short decimals, the common case of the fast path */
    uint64_t s = 99;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int ip = (int)((s >> 40) % 100000), fd = (int)((s >> 20) % 9);
        long long fr = (long long)((s >> 3) % 1000000000LL);
        int k = fd ? snprintf(buf, sizeof buf, "%s%d.%0*lld", (s & 1) ? "-" : "", ip, fd,
                              fr % (long long)pow(10, fd))
                   : snprintf(buf, sizeof buf, "%d", ip);
        double a = sl_pq_parse_double(buf, (size_t)k), b = strtod(buf, NULL);
        if (memcmp(&a, &b, 8) != 0) {
            sl_test_fail(__FILE__, __LINE__, "%s: %.17g != %.17g", buf, a, b);
        }
    }
    /* every split of up to 8 + 8 digits, around the 2^53 limit too */
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int id = 1 + (int)((s >> 60) % 8), fd = (int)((s >> 56) % 9);
        unsigned long long ip = (s >> 8) % (unsigned long long)pow(10, id);
        unsigned long long fr = (s * 31) % (unsigned long long)pow(10, fd ? fd : 1);
        int k = fd ? snprintf(buf, sizeof buf, "%s%llu.%0*llu", (s & 2) ? "-" : "", ip, fd, fr)
                   : snprintf(buf, sizeof buf, "%s%llu", (s & 2) ? "-" : "", ip);
        double a = sl_pq_parse_double(buf, (size_t)k), b = strtod(buf, NULL);
        if (memcmp(&a, &b, 8) != 0) {
            sl_test_fail(__FILE__, __LINE__, "%s: %.17g != %.17g", buf, a, b);
        }
    }
}

/* A reference UTF-8 check: decode to code points by the book. */
static bool utf8_ref(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = p[i], cp, min;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + k > n) {
            return false;
        }
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += k;
    }
    return true;
}

SL_TEST(pq_utf8_validation)
{
    /* every 1-, 2- and 3-byte sequence, and 4-byte ones around the edges */
    uint8_t b[8];
    for (uint32_t x = 0; x < 0x1000000; x += (x < 0x10000 ? 1 : 7)) {
        size_t n = x < 0x100 ? 1 : x < 0x10000 ? 2 : 3;
        for (size_t j = 0; j < n; j++) {
            b[j] = (uint8_t)(x >> (8 * (n - 1 - j)));
        }
        if (sl_pq_utf8_valid(b, n) != utf8_ref(b, n)) {
            sl_test_fail(__FILE__, __LINE__, "%zu bytes %06x: %d", n, x, utf8_ref(b, n));
        }
    }
    static const uint8_t fours[][4] = {{0xF0, 0x90, 0x80, 0x80}, {0xF0, 0x8F, 0xBF, 0xBF},
                                       {0xF4, 0x8F, 0xBF, 0xBF}, {0xF4, 0x90, 0x80, 0x80},
                                       {0xF5, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF},
                                       {0xF1, 0x80, 0x80, 0x7F}, {0xED, 0xA0, 0x80, 0x41}};
    for (size_t i = 0; i < SL_ARRAY_LEN(fours); i++) {
        CHECK_INT(sl_pq_utf8_valid(fours[i], 4), utf8_ref(fours[i], 4));
    }
    /* random strings, short (the DFA) and long (word-at-a-time) */
    uint64_t s = 7;
    static uint8_t buf[300];
    for (int iter = 0; iter < 200000; iter++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = (size_t)(s >> 33) % (iter % 2 ? 300 : 40);
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(s >> 56);
            /* mostly ASCII and valid pieces, sometimes any byte */
            buf[i] = r < 150 ? (uint8_t)('a' + r % 26) : (uint8_t)(s >> 40);
        }
        if (n > 3 && (s & 1)) {
            memcpy(buf + n / 2 - 2, "\xe2\x82\xac", 3);
        }
        if (sl_pq_utf8_valid(buf, n) != utf8_ref(buf, n)) {
            sl_test_fail(__FILE__, __LINE__, "random string %d (%zu bytes) differs", iter, n);
        }
    }
    CHECK(sl_pq_utf8_valid("", 0));
    CHECK(!sl_pq_utf8_valid("\xc3", 1));
    CHECK(sl_pq_utf8_valid("\xf0\x9f\x98\x80", 4));
}
