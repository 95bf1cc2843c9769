/* Input files, plain or gzip; see include/sluice/input.h. The source of
 * bytes is a file descriptor or a caller's read function; gzip decoding
 * and hashing are the same for both. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "sluice/hash.h"
#include "sluice/input.h"

#define GZ_IN_BUF (256 * 1024)

struct sl_input {
    int fd;                  /* -1 for reader inputs */
    sl_input_read_fn read_fn;
    void (*close_fn)(void *);
    void *ud;
    unsigned char peek[2];   /* bytes read to detect gzip, served first */
    size_t peek_len, peek_off;
    char *path;
    bool gzip;
    bool gz_end;
    z_stream zs;
    unsigned char *zbuf;
    sl_content_hash_t *hash;
};

/* Sets up gzip decoding when the magic bytes say so; checks that the
 * allocations of open succeeded. */
static int start_decoder(sl_input_t *in, bool gzip, sl_err_t *err)
{
    if (!in->path || !in->hash) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    if (gzip) {
        in->gzip = true;
        in->zbuf = malloc(GZ_IN_BUF);
        /* 16 + MAX_WBITS: gzip wrapper; concatenated members handled in read */
        if (!in->zbuf || inflateInit2(&in->zs, 16 + MAX_WBITS) != Z_OK) {
            return sl_err_set(err, SL_ENOMEM, "cannot start gzip decoder for %s", in->path);
        }
    }
    return 0;
}

int sl_input_open(const char *path, sl_input_t **out, sl_err_t *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sl_err_set(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "cannot open %s: %s",
                          path, strerror(errno));
    }
    sl_input_t *in = calloc(1, sizeof *in);
    if (!in) {
        close(fd);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    in->fd = fd;
    in->path = strdup(path);
    in->hash = sl_content_hash_new();
    unsigned char magic[2];
    ssize_t n = pread(fd, magic, 2, 0);
    int rc = start_decoder(in, n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, err);
    if (rc) {
        sl_input_close(in);
        return rc;
    }
    *out = in;
    return 0;
}

int sl_input_open_reader(const char *name, sl_input_read_fn read_fn, void (*close_fn)(void *),
                         void *ud, sl_input_t **out, sl_err_t *err)
{
    *out = NULL;
    sl_input_t *in = calloc(1, sizeof *in);
    if (!in) {
        if (close_fn) {
            close_fn(ud);
        }
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    in->fd = -1;
    in->read_fn = read_fn;
    in->close_fn = close_fn;
    in->ud = ud;
    in->path = strdup(name);
    in->hash = sl_content_hash_new();
    /* Peek at the first two bytes; they are served again by read_plain. */
    int rc = 0;
    while (rc == 0 && in->peek_len < 2) {
        ssize_t r = read_fn(ud, in->peek + in->peek_len, 2 - in->peek_len, err);
        if (r < 0) {
            rc = (int)r;
        } else if (r == 0) {
            break;
        } else {
            in->peek_len += (size_t)r;
        }
    }
    if (rc == 0) {
        rc = start_decoder(in, in->peek_len == 2 && in->peek[0] == 0x1f && in->peek[1] == 0x8b,
                           err);
    }
    if (rc) {
        sl_input_close(in);
        return rc;
    }
    *out = in;
    return 0;
}

static ssize_t read_plain(sl_input_t *in, void *buf, size_t n, sl_err_t *err)
{
    if (in->peek_off < in->peek_len) {
        size_t k = SL_MIN(n, in->peek_len - in->peek_off);
        memcpy(buf, in->peek + in->peek_off, k);
        in->peek_off += k;
        return (ssize_t)k;
    }
    if (in->read_fn) {
        return in->read_fn(in->ud, buf, n, err);
    }
    for (;;) {
        ssize_t r = read(in->fd, buf, n);
        if (r >= 0) {
            return r;
        }
        if (errno != EINTR) {
            return sl_err_set(err, SL_EIO, "cannot read %s: %s", in->path, strerror(errno));
        }
    }
}

static ssize_t read_gzip(sl_input_t *in, void *buf, size_t n, sl_err_t *err)
{
    in->zs.next_out = buf;
    in->zs.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    while (in->zs.avail_out > 0 && !in->gz_end) {
        if (in->zs.avail_in == 0) {
            ssize_t r = read_plain(in, in->zbuf, GZ_IN_BUF, err);
            if (r < 0) {
                return r;
            }
            if (r == 0) {
                /* Ends after a member are handled below: this is mid-member. */
                return sl_err_set(err, SL_EPARSE, "%s: truncated gzip data", in->path);
            }
            in->zs.next_in = in->zbuf;
            in->zs.avail_in = (uInt)r;
        }
        int zrc = inflate(&in->zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) {
            /* Another member may follow (cat a.gz b.gz). */
            if (in->zs.avail_in == 0) {
                unsigned char peek;
                ssize_t r = read_plain(in, &peek, 1, err);
                if (r < 0) {
                    return r;
                }
                if (r == 0) {
                    in->gz_end = true;
                    break;
                }
                in->zbuf[0] = peek;
                in->zs.next_in = in->zbuf;
                in->zs.avail_in = 1;
            }
            inflateReset(&in->zs);
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            return sl_err_set(err, SL_EPARSE, "%s: corrupt gzip data (%s)", in->path,
                              in->zs.msg ? in->zs.msg : "inflate failed");
        }
    }
    return (ssize_t)(n - in->zs.avail_out);
}

ssize_t sl_input_read(sl_input_t *in, void *buf, size_t n, sl_err_t *err)
{
    ssize_t r = in->gzip ? read_gzip(in, buf, n, err) : read_plain(in, buf, n, err);
    if (r > 0) {
        sl_content_hash_update(in->hash, buf, (size_t)r);
    }
    return r;
}

int sl_input_skip(sl_input_t *in, uint64_t n, sl_err_t *err)
{
    char *tmp = malloc(1 << 16);
    if (!tmp) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    while (n > 0) {
        ssize_t r = sl_input_read(in, tmp, n < (1 << 16) ? (size_t)n : (1 << 16), err);
        if (r < 0) {
            free(tmp);
            return (int)r;
        }
        if (r == 0) {
            free(tmp);
            return sl_err_set(err, SL_EIO, "%s: file is shorter than the checkpoint says",
                              in->path);
        }
        n -= (uint64_t)r;
    }
    free(tmp);
    return 0;
}

void sl_input_hash(sl_input_t *in, char hex[33])
{
    sl_content_hash_hex(in->hash, hex);
}

bool sl_input_is_gzip(const sl_input_t *in)
{
    return in->gzip;
}

void sl_input_close(sl_input_t *in)
{
    if (!in) {
        return;
    }
    if (in->gzip) {
        inflateEnd(&in->zs);
    }
    free(in->zbuf);
    sl_content_hash_free(in->hash);
    if (in->fd >= 0) {
        close(in->fd);
    }
    if (in->close_fn) {
        in->close_fn(in->ud);
    }
    free(in->path);
    free(in);
}
