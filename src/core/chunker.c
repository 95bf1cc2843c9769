/* Cutting CSV and JSON Lines files into chunks; see include/sluice/chunker.h. */
#include <string.h>

#include "sluice/chunker.h"

int sl_chunker_init(sl_chunker_t *c, bool csv, const sl_csv_opts_t *opts, bool header,
                    int64_t rows)
{
    memset(c, 0, sizeof *c);
    c->csv = csv;
    c->opts = opts ? *opts : (sl_csv_opts_t){.delimiter = ',', .quote = '"'};
    c->header = csv && header;
    c->rows = rows > 0 ? rows : 1;
    c->cur.first_line = 1;
    c->arena = sl_arena_create(16 * 1024, 0);
    return c->arena ? 0 : SL_ENOMEM;
}

void sl_chunker_free(sl_chunker_t *c)
{
    sl_buf_free(&c->pending);
    sl_arena_destroy(c->arena);
    c->arena = NULL;
}

/* The next JSON Lines record of buf[*pos..n): like sl_csv_next, SL_AGAIN
 * when the line is not complete and !at_eof, SL_EOF when nothing but blank
 * lines remain at EOF (neither consumes anything); *newlines counts the
 * line breaks of the record and the blank lines before it. */
static int next_line(const char *buf, size_t n, size_t *pos, bool at_eof, size_t *newlines)
{
    size_t p = *pos;
    *newlines = 0;
    for (;;) {
        const char *nl = p < n ? memchr(buf + p, '\n', n - p) : NULL;
        size_t end = nl ? (size_t)(nl - buf) : n;
        if (!nl && !at_eof) {
            return SL_AGAIN;
        }
        bool blank = true;
        for (size_t i = p; i < end && blank; i++) {
            blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r';
        }
        if (!nl && (blank || p == n)) {
            return SL_EOF;
        }
        *newlines += nl ? 1 : 0;
        p = nl ? end + 1 : end;
        if (!blank) {
            *pos = p; /* the record and the blank lines before it */
            return 0;
        }
    }
}

/* Closes the current chunk at file offset end and starts the next. */
static int emit(sl_chunker_t *c, int64_t end, int64_t lines_at_end, sl_chunk_fn fn, void *ud)
{
    c->cur.length = end - c->cur.offset;
    int rc = fn(ud, &c->cur);
    c->cur = (sl_chunk_t){.index = c->cur.index + 1,
                          .offset = end,
                          .first_line = lines_at_end + 1};
    return rc;
}

int sl_chunker_feed(sl_chunker_t *c, const char *data, size_t n, bool at_eof, sl_chunk_fn fn,
                    void *ud)
{
    if (n && sl_buf_append(&c->pending, data, n) != 0) {
        return SL_ENOMEM;
    }
    const char *buf = c->pending.data ? c->pending.data : "";
    /* pending starts with one byte already cut after the file's first cut:
     * the CSV reader skips a BOM at offset 0 of its buffer, which must be
     * the file's offset 0 only */
    size_t len = c->pending.len, pos = c->kept ? 1 : 0;
    size_t start = pos;
    int rc = 0;
    for (;;) {
        size_t newlines = 0;
        sl_arena_reset(c->arena);
        if (c->csv) {
            sl_csv_field_t *f;
            size_t nf;
            sl_csv_error_t err;
            size_t at = pos;
            rc = sl_csv_next(&c->opts, c->arena, buf, len, &at, at_eof, &f, &nf, &newlines,
                             &err);
            if (rc == SL_EPARSE) {
                rc = 0; /* a malformed line is a record: the reader rejects it too */
            }
            pos = rc == 0 ? at : pos;
        } else {
            rc = next_line(buf, len, &pos, at_eof, &newlines);
        }
        if (rc == SL_AGAIN || rc == SL_EOF) {
            rc = 0;
            break;
        }
        if (rc) {
            return rc;
        }
        c->lines += (int64_t)newlines;
        int64_t end = c->base + (int64_t)pos;
        if (c->header) {
            c->header = false; /* the column names: before the first chunk */
            c->cur.offset = end;
            c->cur.first_line = c->lines + 1;
            continue;
        }
        if (++c->cur.rows == c->rows) {
            rc = emit(c, end, c->lines, fn, ud);
            if (rc) {
                return rc;
            }
        }
    }
    /* keep the unread tail (and the byte before it); line breaks inside it
     * are counted with its record */
    if (pos > start) {
        memmove(c->pending.data, buf + pos - 1, len - pos + 1);
        c->pending.len = len - pos + 1;
        c->base += (int64_t)pos - 1;
        c->kept = true;
    }
    if (at_eof) {
        int64_t end = c->base + (int64_t)c->pending.len;
        if (c->cur.rows > 0) {
            rc = emit(c, end, c->lines, fn, ud);
        }
        c->pending.len = 0;
    }
    return rc;
}
