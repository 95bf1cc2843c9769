/* Cutting a CSV or JSON Lines file into chunks of N records, on record
 * boundaries, so that each chunk can be read on its own (a map over
 * `chunks`, each item read by the file source's `range:`).
 *
 * Boundaries are where the CSV reader (csv.h) ends records, so a quoted
 * field holding line breaks is never cut, and reading a chunk from its
 * offset gives the same records as reading the whole file does. Chunks are
 * contiguous: each starts where the one before ended (a CSV header line
 * belongs to none), blank lines belong to the chunk they are in, and a
 * malformed line counts as a record (the reader rejects it the same way).
 * Bytes are fed in pieces of any size; memory holds one record at most. */
#ifndef SLUICE_CHUNKER_H
#define SLUICE_CHUNKER_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/csv.h"

typedef struct {
    int64_t index;      /* 0, 1, 2... */
    int64_t offset;     /* first byte, from the start of the file */
    int64_t length;     /* bytes */
    int64_t first_line; /* the 1-based line of the chunk's first byte */
    int64_t rows;       /* records in it (malformed lines included) */
} sl_chunk_t;

typedef int (*sl_chunk_fn)(void *ud, const sl_chunk_t *c);

typedef struct {
    bool csv;           /* else JSON Lines: one record per non-blank line */
    sl_csv_opts_t opts;
    bool header;        /* CSV: the first record names the columns */
    int64_t rows;       /* records per chunk */
    sl_buf_t pending;   /* bytes fed but not yet cut (the current record) */
    int64_t base;       /* file offset of pending's first byte */
    bool kept;          /* pending's first byte was already cut (see chunker.c) */
    int64_t lines;      /* line breaks before base */
    sl_chunk_t cur;     /* the chunk being filled */
    sl_arena_t *arena;  /* the CSV reader's fields, reset per record */
} sl_chunker_t;

/* rows >= 1; opts may be NULL (','). Returns 0 or SL_ENOMEM. */
int sl_chunker_init(sl_chunker_t *c, bool csv, const sl_csv_opts_t *opts, bool header,
                    int64_t rows);
/* Feeds the next n bytes of the file; fn gets each chunk as it is complete
 * (a non-zero return stops and is returned). at_eof: these are the last
 * bytes; the last chunk (fewer rows) is then handed on too. */
int sl_chunker_feed(sl_chunker_t *c, const char *data, size_t n, bool at_eof, sl_chunk_fn fn,
                    void *ud);
void sl_chunker_free(sl_chunker_t *c);

#endif
