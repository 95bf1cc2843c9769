/* Fuzz target for src/core/chunker.c, differential against the CSV reader.
 *
 * The first byte picks CSV or JSON Lines, the rows per chunk, whether a
 * header is cut off, and the size of the pieces the bytes are fed in; the
 * rest is the file. The chunks must be contiguous and cover the file from
 * the header's end; and reading each chunk on its own from its offset (as
 * the file source's range: does) must give exactly the records, errors and
 * line numbers that reading the whole file gives. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/chunker.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_chunker: %s\n", what);
    abort();
}

typedef struct {
    sl_chunk_t c[4096];
    size_t n;
} chunks_t;

static int keep(void *ud, const sl_chunk_t *c)
{
    chunks_t *cs = ud;
    if (cs->n == 4096) {
        return SL_ELIMIT;
    }
    cs->c[cs->n++] = *c;
    return 0;
}

/* Reads buf[from..to) as the file source would, logging each record (or
 * error) with the line it starts on; line is the lines consumed before. */
static void read_csv(const char *buf, size_t from, size_t to, int64_t line, bool skip_header,
                     sl_buf_t *log)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_csv_opts_t o = {.delimiter = ',', .quote = '"'};
    size_t pos = from;
    for (;;) {
        sl_arena_reset(a);
        sl_csv_field_t *f;
        size_t nf = 0, nl = 0, skipped = 0;
        sl_csv_error_t err;
        int rc = sl_csv_next_ex(&o, a, buf, to, &pos, true, &f, &nf, &nl, &skipped, &err);
        if (rc == SL_EOF) {
            break;
        }
        if (rc != 0 && rc != SL_EPARSE) {
            die("unexpected reader result");
        }
        int64_t at = line + (int64_t)skipped + 1;
        line += (int64_t)nl;
        if (skip_header) {
            skip_header = false;
            continue;
        }
        if (rc == SL_EPARSE) {
            sl_buf_printf(log, "E@%lld:%s\n", (long long)at, err.reason);
            continue;
        }
        sl_buf_printf(log, "R@%lld:%zu", (long long)at, nf);
        for (size_t i = 0; i < nf; i++) {
            sl_buf_printf(log, "|%zu:", f[i].text.len);
            sl_buf_append(log, f[i].text.ptr, f[i].text.len);
        }
        sl_buf_putc(log, '\n');
    }
    sl_arena_destroy(a);
}

static void read_jsonl(const char *buf, size_t from, size_t to, int64_t line, sl_buf_t *log)
{
    size_t pos = from;
    while (pos < to) {
        const char *nl = memchr(buf + pos, '\n', to - pos);
        size_t end = nl ? (size_t)(nl - buf) : to;
        line++;
        bool blank = true;
        for (size_t i = pos; i < end && blank; i++) {
            blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r';
        }
        if (!blank) {
            sl_buf_printf(log, "R@%lld:", (long long)line);
            sl_buf_append(log, buf + pos, end - pos);
            sl_buf_putc(log, '\n');
        }
        pos = nl ? end + 1 : to;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    bool csv = data[0] & 1, header = csv && (data[0] & 2);
    int64_t rows = 1 + ((data[0] >> 2) & 3);
    size_t piece = 1 + (size_t)(data[0] >> 4) * 7;
    const char *file = (const char *)data + 1;
    size_t n = size - 1;

    sl_chunker_t ck;
    chunks_t *cs = calloc(1, sizeof *cs);
    if (!cs || sl_chunker_init(&ck, csv, NULL, header, rows) != 0) {
        die("out of memory");
    }
    int rc = 0;
    for (size_t at = 0; rc == 0 && at <= n; at += piece) {
        size_t k = n - at < piece ? n - at : piece;
        rc = sl_chunker_feed(&ck, file + at, k, at + k == n, keep, cs);
        if (at + k == n) {
            break;
        }
    }
    sl_chunker_free(&ck);
    if (rc == SL_ELIMIT) {
        free(cs);
        return 0;
    }
    if (rc) {
        die("feed failed");
    }
    /* contiguous, in order, within the file, each with 1..rows records */
    for (size_t i = 0; i < cs->n; i++) {
        const sl_chunk_t *c = &cs->c[i];
        if (c->index != (int64_t)i || c->length < 0 || c->offset < 0 ||
            c->offset + c->length > (int64_t)n || c->rows < 1 || c->rows > rows ||
            (i > 0 && c->offset != cs->c[i - 1].offset + cs->c[i - 1].length) ||
            (i + 1 < cs->n && c->rows != rows)) {
            die("chunks not contiguous or not of their size");
        }
    }
    /* what follows the last chunk (blank lines) holds no record: the
     * comparison below would miss them */
    sl_buf_t whole = SL_BUF_INIT, parts = SL_BUF_INIT;
    if (csv) {
        read_csv(file, 0, n, 0, header, &whole);
    } else {
        read_jsonl(file, 0, n, 0, &whole);
    }
    for (size_t i = 0; i < cs->n; i++) {
        const sl_chunk_t *c = &cs->c[i];
        size_t from = (size_t)c->offset, to = (size_t)(c->offset + c->length);
        if (csv) {
            /* a copy: the reader must not see the bytes after the chunk */
            char *copy = malloc(to + 1);
            memcpy(copy, file, to);
            read_csv(copy, from, to, c->first_line - 1, false, &parts);
            free(copy);
        } else {
            read_jsonl(file, from, to, c->first_line - 1, &parts);
        }
    }
    if (whole.len != parts.len || (whole.len && memcmp(whole.data, parts.data, whole.len))) {
        fprintf(stderr, "whole:\n%.*s\nchunks:\n%.*s\n", (int)whole.len,
                whole.data ? whole.data : "", (int)parts.len, parts.data ? parts.data : "");
        die("reading the chunks differs from reading the whole file");
    }
    sl_buf_free(&whole);
    sl_buf_free(&parts);
    free(cs);
    return 0;
}
