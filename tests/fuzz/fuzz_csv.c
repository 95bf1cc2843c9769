/* Fuzz target for src/core/csv.c.
 *
 * The first input byte picks the delimiter and a chunk size; the rest is
 * CSV. Every record must make progress; each parsed record is written back
 * with sl_csv_write_field and must re-parse to the same fields; feeding the
 * same bytes in chunks must give exactly the same records and errors as
 * feeding them at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/csv.h"

static const char delims[4] = {',', ';', '\t', '|'};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_csv: %s\n", what);
    abort();
}

/* Serializes a result so two runs can be compared byte for byte. */
static void note(sl_buf_t *log, int rc, const sl_csv_field_t *f, size_t nf, size_t nl,
                 const sl_csv_error_t *e, size_t base)
{
    if (rc == SL_EPARSE) {
        sl_buf_printf(log, "E%zu:%s;%zu\n", base + e->offset, e->reason, nl);
        return;
    }
    sl_buf_printf(log, "R%zu;%zu", nf, nl);
    for (size_t i = 0; i < nf; i++) {
        sl_buf_printf(log, "|%d:%zu:", f[i].quoted, f[i].text.len);
        sl_buf_append(log, f[i].text.ptr, f[i].text.len);
    }
    sl_buf_putc(log, '\n');
}

static void check_roundtrip(const sl_csv_opts_t *o, sl_arena_t *a, const sl_csv_field_t *f,
                            size_t nf)
{
    sl_buf_t out = SL_BUF_INIT;
    if (nf == 1 && f[0].text.len == 0) {
        /* An empty line would be skipped as blank: keep the field visible. */
        sl_buf_append(&out, "\"\"", 2);
    } else {
        for (size_t i = 0; i < nf; i++) {
            if (i) {
                sl_buf_putc(&out, o->delimiter);
            }
            if (sl_csv_write_field(&out, f[i].text.ptr, f[i].text.len, o->delimiter)) {
                die("write_field failed");
            }
        }
    }
    sl_buf_putc(&out, '\n');
    char *copy = malloc(out.len);
    memcpy(copy, out.data, out.len);
    size_t pos = 0, nf2, nl2;
    sl_csv_field_t *f2;
    sl_csv_error_t e;
    int rc = sl_csv_next(o, a, copy, out.len, &pos, true, &f2, &nf2, &nl2, &e);
    if (rc != 0) {
        fprintf(stderr, "re-parse of %.*s: %d %s\n", (int)out.len, out.data, rc, e.reason);
        die("written record does not parse");
    }
    if (pos != out.len || nf2 != nf) {
        die("written record parses to a different shape");
    }
    for (size_t i = 0; i < nf; i++) {
        if (f2[i].text.len != f[i].text.len ||
            memcmp(f2[i].text.ptr, f[i].text.ptr, f[i].text.len) != 0) {
            die("written field reads back differently");
        }
    }
    free(copy);
    sl_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    sl_csv_opts_t o = {delims[data[0] & 3], '"'};
    size_t chunk = 1 + (data[0] >> 2);
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_buf_t whole = SL_BUF_INIT, chunked = SL_BUF_INIT;

    /* Whole buffer at once, in an exact-size copy. */
    char *buf = malloc(n ? n : 1);
    memcpy(buf, s, n);
    size_t pos = 0;
    for (;;) {
        sl_csv_field_t *f;
        size_t nf, nl;
        sl_csv_error_t e;
        size_t before = pos;
        int rc = sl_csv_next(&o, a, buf, n, &pos, true, &f, &nf, &nl, &e);
        if (rc == SL_EOF) {
            if (pos != n) {
                die("EOF before the end");
            }
            break;
        }
        if (rc != 0 && rc != SL_EPARSE) {
            die("unexpected return code");
        }
        if (pos <= before || pos > n) {
            die("no progress");
        }
        size_t lf = 0;
        for (size_t i = before; i < pos; i++) {
            lf += buf[i] == '\n';
        }
        if (nl != lf) {
            die("newline count differs from the LFs consumed");
        }
        note(&whole, rc, f, nf, nl, &e, 0);
        if (rc == 0) {
            if (nf == 0) {
                die("record without fields");
            }
            check_roundtrip(&o, a, f, nf);
        }
        sl_arena_reset(a);
    }
    free(buf);

    /* Same bytes in growing chunks, dropping consumed bytes. */
    size_t consumed = 0, avail = SL_MIN(chunk, n);
    pos = 0;
    for (;;) {
        size_t bn = avail - consumed;
        char *cb = malloc(bn ? bn : 1);
        memcpy(cb, s + consumed, bn);
        sl_csv_field_t *f;
        size_t nf, nl;
        sl_csv_error_t e;
        bool at_eof = avail == n;
        int rc = sl_csv_next(&o, a, cb, bn, &pos, at_eof, &f, &nf, &nl, &e);
        if (rc == SL_AGAIN) {
            if (at_eof || pos != 0) {
                die("SL_AGAIN at EOF or with bytes consumed");
            }
            avail = SL_MIN(avail + SL_MAX(chunk, bn), n);
            free(cb);
            continue;
        }
        if (rc == SL_EOF) {
            free(cb);
            break;
        }
        note(&chunked, rc, f, nf, nl, &e, consumed);
        free(cb);
        sl_arena_reset(a);
        consumed += pos;
        pos = 0;
    }
    /* Chunking may only differ where compaction puts a BOM at offset 0. */
    if (whole.len != chunked.len || (whole.len && memcmp(whole.data, chunked.data, whole.len))) {
        bool bom_inside = false;
        for (size_t i = 1; i + 2 < n; i++) {
            if ((uint8_t)s[i] == 0xEF && (uint8_t)s[i + 1] == 0xBB && (uint8_t)s[i + 2] == 0xBF) {
                bom_inside = true;
            }
        }
        if (!bom_inside) {
            fprintf(stderr, "whole:\n%s\nchunked:\n%s\n", whole.data, chunked.data);
            die("chunked parse differs");
        }
    }
    sl_buf_free(&whole);
    sl_buf_free(&chunked);
    sl_arena_destroy(a);
    return 0;
}
