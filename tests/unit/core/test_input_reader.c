/* sl_input_open_reader: the same plain/gzip decoding and content hash over
 * any byte reader as over a file, with short reads of one byte. */
#include <string.h>
#include <zlib.h>

#include "../test.h"
#include "sluice/input.h"

typedef struct {
    const char *data;
    size_t len, pos;
    size_t step; /* bytes per read */
    int *closed;
    bool fail_at_end;
} mem_t;

static ssize_t mem_read(void *ud, void *buf, size_t n, sl_err_t *err)
{
    mem_t *m = ud;
    if (m->pos == m->len && m->fail_at_end) {
        return sl_err_set(err, SL_EIO, "mem: broken pipe");
    }
    size_t k = SL_MIN(SL_MIN(n, m->step), m->len - m->pos);
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static void mem_close(void *ud)
{
    mem_t *m = ud;
    (*m->closed)++;
}

static size_t gzip_into(const char *in, size_t n, char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

/* Reads everything through a reader input and returns its hash. */
static void read_all(mem_t *m, char *out, size_t cap, size_t *len, char hex[33], bool *gz)
{
    sl_input_t *in;
    sl_err_t err;
    CHECK_INT(sl_input_open_reader("mem://x", mem_read, mem_close, m, &in, &err), 0);
    *gz = sl_input_is_gzip(in);
    *len = 0;
    for (;;) {
        ssize_t r = sl_input_read(in, out + *len, SL_MIN((size_t)7, cap - *len), &err);
        CHECK(r >= 0);
        if (r == 0) {
            break;
        }
        *len += (size_t)r;
    }
    sl_input_hash(in, hex);
    sl_input_close(in);
}

SL_TEST(input_reader_plain_and_gzip_match_files)
{
    const char *text = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
    size_t tn = strlen(text);
    char gz[512];
    size_t gn = gzip_into(text, tn, gz, sizeof gz);
    /* two members back to back, as `cat a.gz b.gz` gives */
    char gz2[1024];
    memcpy(gz2, gz, gn);
    memcpy(gz2 + gn, gz, gn);

    /* the reference: the same bytes read from a file */
    sl_input_t *fin;
    sl_err_t err;
    const char *path = sl_test_write_file("a.jsonl", text, tn);
    CHECK_INT(sl_input_open(path, &fin, &err), 0);
    char buf[256];
    while (sl_input_read(fin, buf, sizeof buf, &err) > 0) {
    }
    char want[33];
    sl_input_hash(fin, want);
    sl_input_close(fin);

    int closed = 0;
    char out[1024], hex[33];
    size_t len;
    bool isgz;
    mem_t m = {text, tn, 0, 1, &closed, false};
    read_all(&m, out, sizeof out, &len, hex, &isgz);
    CHECK(!isgz);
    CHECK_STRN(out, len, text);
    CHECK_STR(hex, want);
    CHECK_INT(closed, 1);

    mem_t g = {gz, gn, 0, 1, &closed, false};
    read_all(&g, out, sizeof out, &len, hex, &isgz);
    CHECK(isgz);
    CHECK_STRN(out, len, text);
    CHECK_STR(hex, want); /* the hash is of the decoded bytes */
    CHECK_INT(closed, 2);

    mem_t g2 = {gz2, 2 * gn, 0, 3, &closed, false};
    read_all(&g2, out, sizeof out, &len, hex, &isgz);
    CHECK_INT(len, 2 * tn);
    CHECK(memcmp(out + tn, text, tn) == 0);

    /* one byte, and nothing at all */
    mem_t one = {"x", 1, 0, 1, &closed, false};
    read_all(&one, out, sizeof out, &len, hex, &isgz);
    CHECK_STRN(out, len, "x");
    mem_t none = {"", 0, 0, 1, &closed, false};
    read_all(&none, out, sizeof out, &len, hex, &isgz);
    CHECK_INT(len, 0);
    CHECK_INT(closed, 5);
}

SL_TEST(input_reader_errors)
{
    int closed = 0;
    sl_input_t *in;
    sl_err_t err;
    /* a failing source at open: closed, error passed on */
    mem_t bad = {"", 0, 0, 1, &closed, true};
    CHECK_INT(sl_input_open_reader("mem://bad", mem_read, mem_close, &bad, &in, &err), SL_EIO);
    CHECK_STR(err.msg, "mem: broken pipe");
    CHECK_INT(closed, 1);
    /* truncated gzip */
    char gz[512];
    size_t gn = gzip_into("hello hello hello", 17, gz, sizeof gz);
    mem_t t = {gz, gn - 6, 0, 4, &closed, false};
    CHECK_INT(sl_input_open_reader("mem://t.gz", mem_read, mem_close, &t, &in, &err), 0);
    char out[64];
    ssize_t r;
    while ((r = sl_input_read(in, out, sizeof out, &err)) > 0) {
    }
    CHECK_INT(r, SL_EPARSE);
    CHECK_STR(err.msg, "mem://t.gz: truncated gzip data");
    sl_input_close(in);
    CHECK_INT(closed, 2);
}
