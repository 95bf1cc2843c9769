/* The RLE / bit-packed hybrid encoding of Parquet (levels, dictionary
 * indices) and PLAIN boolean bit-packing.
 *
 * A stream is a sequence of runs, each starting with a ULEB128 header:
 * (count << 1) for an RLE run, followed by the repeated value in
 * ceil(bw / 8) little-endian bytes; or (groups << 1 | 1) for a bit-packed
 * run of groups * 8 values packed LSB first. Only the stream's last group
 * may be padded (readers know the value count), so literals before an RLE
 * run must fill whole groups: the RLE run lends them its first values. */
#include <string.h>

#include "pq_internal.h"

/* A run of equal values this long is worth an RLE run. */
#define MIN_RLE 8

int sl_pq_bit_width(uint64_t max)
{
    int bw = 0;
    while (max) {
        bw++;
        max >>= 1;
    }
    return bw;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

/* Worst case: alternating literal groups and short RLE runs. */
static size_t bound(size_t n, int bw)
{
    return (n / 8 + 2) * ((size_t)bw + 28) + 16;
}

#define DEFINE_RLE(NAME, T)                                                                    \
    static uint8_t *NAME##_rle_run(uint8_t *o, T v, size_t count, int bw)                     \
    {                                                                                          \
        o = put_varint(o, (uint64_t)count << 1);                                               \
        for (int k = 0; k < (bw + 7) / 8; k++) {                                               \
            *o++ = (uint8_t)((uint32_t)v >> (8 * k));                                          \
        }                                                                                      \
        return o;                                                                              \
    }                                                                                          \
    /* Bit-packs v[0..n), zero-padding the last group of 8. */                                 \
    static uint8_t *NAME##_literal(uint8_t *o, const T *v, size_t n, int bw)                   \
    {                                                                                          \
        size_t groups = (n + 7) / 8;                                                           \
        o = put_varint(o, (uint64_t)groups << 1 | 1);                                          \
        T last[8] = {0};                                                                       \
        for (size_t g = 0; g < groups; g++) {                                                  \
            const T *p = v + g * 8;                                                            \
            if (g * 8 + 8 > n) {                                                               \
                memcpy(last, p, (n - g * 8) * sizeof(T));                                      \
                p = last;                                                                      \
            }                                                                                  \
            uint64_t acc = 0;                                                                  \
            int bits = 0;                                                                      \
            for (int k = 0; k < 8; k++) {                                                      \
                acc |= (uint64_t)p[k] << bits;                                                 \
                bits += bw;                                                                    \
                while (bits >= 8) {                                                            \
                    *o++ = (uint8_t)acc;                                                       \
                    acc >>= 8;                                                                 \
                    bits -= 8;                                                                 \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return o;                                                                              \
    }                                                                                          \
    int sl_pq_rle_##NAME(sl_buf_t *b, const T *v, size_t n, int bw)                            \
    {                                                                                          \
        if (bw < 1 || bw > 32) {                                                               \
            return SL_EINVAL;                                                                  \
        }                                                                                      \
        int rc = sl_buf_reserve(b, bound(n, bw));                                              \
        if (rc) {                                                                              \
            return rc;                                                                         \
        }                                                                                      \
        uint8_t *o = (uint8_t *)b->data + b->len;                                              \
        size_t i = 0, ls = 0; /* ls: start of pending literals */                             \
        while (i < n) {                                                                        \
            T x = v[i];                                                                        \
            size_t j = i + 1;                                                                  \
            if (sizeof(T) == 1) {                                                              \
                /* levels: long runs (no nulls) go 8 bytes at a time */                        \
                uint64_t pat = 0x0101010101010101ULL * (uint64_t)x, w;                         \
                while (j + 8 <= n && (memcpy(&w, v + j, 8), w == pat)) {                       \
                    j += 8;                                                                    \
                }                                                                              \
            }                                                                                  \
            while (j < n && v[j] == x) {                                                       \
                j++;                                                                           \
            }                                                                                  \
            size_t r = j - i;                                                                  \
            if (r >= MIN_RLE) {                                                                \
                size_t fill = (8 - (i - ls) % 8) % 8;                                          \
                if (r - fill >= MIN_RLE) {                                                     \
                    if (i + fill > ls) {                                                       \
                        o = NAME##_literal(o, v + ls, i + fill - ls, bw);                      \
                    }                                                                          \
                    o = NAME##_rle_run(o, x, r - fill, bw);                                    \
                    ls = j;                                                                    \
                }                                                                              \
            }                                                                                  \
            i = j;                                                                             \
        }                                                                                      \
        if (ls < n) {                                                                          \
            o = NAME##_literal(o, v + ls, n - ls, bw);                                         \
        }                                                                                      \
        b->len = (size_t)(o - (uint8_t *)b->data);                                             \
        b->data[b->len] = '\0';                                                                \
        return 0;                                                                              \
    }

DEFINE_RLE(u8, uint8_t)
DEFINE_RLE(u32, uint32_t)

int sl_pq_bitpack_bools(sl_buf_t *b, const uint8_t *v, size_t n)
{
    int rc = sl_buf_reserve(b, n / 8 + 1);
    if (rc) {
        return rc;
    }
    uint8_t *o = (uint8_t *)b->data + b->len;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        *o++ = (uint8_t)(v[i] | v[i + 1] << 1 | v[i + 2] << 2 | v[i + 3] << 3 | v[i + 4] << 4 |
                         v[i + 5] << 5 | v[i + 6] << 6 | v[i + 7] << 7);
    }
    if (i < n) {
        uint8_t c = 0;
        for (int k = 0; i < n; i++, k++) {
            c |= (uint8_t)(v[i] << k);
        }
        *o++ = c;
    }
    b->len = (size_t)(o - (uint8_t *)b->data);
    b->data[b->len] = '\0';
    return 0;
}
