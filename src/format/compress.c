/* Page compression for the Parquet writer: snappy (raw snappy blocks, as
 * Parquet wants, no framing), gzip (deflate with a gzip wrapper), zstd
 * (one frame per page) or none. Contexts are kept across pages. */
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "pq_internal.h"

struct sl_pq_compressor {
    sl_pq_codec_t codec;
    int level;
    ZSTD_CCtx *zstd;
    z_stream gz;
    bool gz_ready;
};

int sl_pq_codec_id(sl_pq_codec_t codec)
{
    switch (codec) {
    case SL_PQ_SNAPPY:
        return PQ_CODEC_SNAPPY;
    case SL_PQ_GZIP:
        return PQ_CODEC_GZIP;
    case SL_PQ_ZSTD:
        return PQ_CODEC_ZSTD;
    default:
        return PQ_CODEC_UNCOMPRESSED;
    }
}

void sl_pq_codec_levels(sl_pq_codec_t codec, int *lo, int *hi)
{
    *lo = *hi = 0;
    if (codec == SL_PQ_GZIP) {
        *lo = Z_DEFAULT_COMPRESSION;
        *hi = 9;
    } else if (codec == SL_PQ_ZSTD) {
        *lo = ZSTD_minCLevel();
        *hi = ZSTD_maxCLevel();
    }
}

int sl_pq_compressor_new(sl_pq_codec_t codec, int level, sl_pq_compressor_t **out)
{
    if (codec != SL_PQ_UNCOMPRESSED && codec != SL_PQ_SNAPPY && codec != SL_PQ_GZIP &&
        codec != SL_PQ_ZSTD) {
        return SL_EINVAL;
    }
    sl_pq_compressor_t *c = calloc(1, sizeof *c);
    if (!c) {
        return SL_ENOMEM;
    }
    c->codec = codec;
    c->level = level;
    if (codec == SL_PQ_ZSTD) {
        c->zstd = ZSTD_createCCtx();
        if (!c->zstd) {
            free(c);
            return SL_ENOMEM;
        }
    } else if (codec == SL_PQ_GZIP) {
        int lv = level ? level : Z_DEFAULT_COMPRESSION;
        if (lv < Z_DEFAULT_COMPRESSION || lv > 9) {
            free(c);
            return SL_EINVAL;
        }
        /* windowBits 15 + 16: a gzip header and trailer around deflate. */
        if (deflateInit2(&c->gz, lv, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(c);
            return SL_ENOMEM;
        }
        c->gz_ready = true;
    }
    *out = c;
    return 0;
}

void sl_pq_compressor_free(sl_pq_compressor_t *c)
{
    if (!c) {
        return;
    }
    if (c->zstd) {
        ZSTD_freeCCtx(c->zstd);
    }
    if (c->gz_ready) {
        deflateEnd(&c->gz);
    }
    free(c);
}

static int gzip(sl_pq_compressor_t *c, const void *src, size_t n, sl_buf_t *out)
{
    if (deflateReset(&c->gz) != Z_OK) {
        return SL_EIO;
    }
    /* zlib counts in uInt: feed and drain in slices below 1 GiB. */
    const size_t slice = (size_t)1 << 30;
    const uint8_t *in = src;
    size_t left = n;
    int flush;
    do {
        size_t take = left < slice ? left : slice;
        c->gz.next_in = (Bytef *)(uintptr_t)in;
        c->gz.avail_in = (uInt)take;
        if (take) {
            in += take; /* an empty page may have no buffer at all */
        }
        left -= take;
        flush = left ? Z_NO_FLUSH : Z_FINISH;
        int zrc;
        do {
            size_t room = deflateBound(&c->gz, (uLong)take) + 64;
            if (room > slice) {
                room = slice;
            }
            int rc = sl_buf_reserve(out, room);
            if (rc) {
                return rc;
            }
            c->gz.next_out = (Bytef *)out->data + out->len;
            c->gz.avail_out = (uInt)room;
            zrc = deflate(&c->gz, flush);
            if (zrc == Z_STREAM_ERROR) {
                return SL_EIO;
            }
            out->len += room - c->gz.avail_out;
        } while (c->gz.avail_out == 0 || (flush == Z_FINISH && zrc != Z_STREAM_END));
    } while (flush != Z_FINISH);
    out->data[out->len] = '\0';
    return 0;
}

int sl_pq_compress(sl_pq_compressor_t *c, const void *src, size_t n, sl_buf_t *out)
{
    switch (c->codec) {
    case SL_PQ_UNCOMPRESSED:
        return sl_buf_append(out, src, n);
    case SL_PQ_SNAPPY: {
        size_t room = snappy_max_compressed_length(n);
        int rc = sl_buf_reserve(out, room);
        if (rc) {
            return rc;
        }
        if (snappy_compress(src, n, out->data + out->len, &room) != SNAPPY_OK) {
            return SL_EIO;
        }
        out->len += room;
        out->data[out->len] = '\0';
        return 0;
    }
    case SL_PQ_ZSTD: {
        size_t room = ZSTD_compressBound(n);
        int rc = sl_buf_reserve(out, room);
        if (rc) {
            return rc;
        }
        size_t z = ZSTD_compressCCtx(c->zstd, out->data + out->len, room, src, n,
                                     c->level ? c->level : ZSTD_CLEVEL_DEFAULT);
        if (ZSTD_isError(z)) {
            return SL_EIO;
        }
        out->len += z;
        out->data[out->len] = '\0';
        return 0;
    }
    case SL_PQ_GZIP:
        return gzip(c, src, n, out);
    }
    return SL_EINVAL;
}
