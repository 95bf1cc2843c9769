/* Our own Parquet writer (Debian has no Arrow/Parquet library).
 *
 * A writer takes a schema (a tree of nodes), shreds records into columns
 * (definition and repetition levels for optional, STRUCT and LIST fields),
 * buffers one row group in memory, and on flush encodes each column chunk
 * (PLAIN or RLE_DICTIONARY with fallback, RLE/bit-packed levels, data pages
 * v1 or v2), compresses pages (snappy, gzip, zstd or none), tracks
 * statistics (min, max, null_count) and finally writes the footer (thrift
 * compact FileMetaData) with key-value metadata naming the writer. Bytes
 * leave through a write callback, so the same writer streams to a local
 * temp file or an S3 multipart upload. Files are readable by DuckDB,
 * Spark, Athena, ClickHouse and pure readers such as hyparquet. */
#ifndef SLUICE_PARQUET_H
#define SLUICE_PARQUET_H

#include "sluice/common.h"
#include "sluice/value.h"

typedef enum {
    SL_PQ_BOOL = 1,
    SL_PQ_INT32,     /* INT32 + INTEGER(32, signed) */
    SL_PQ_INT64,     /* INT64 + INTEGER(64, signed) */
    SL_PQ_FLOAT,     /* FLOAT */
    SL_PQ_DOUBLE,    /* DOUBLE */
    SL_PQ_STRING,    /* BYTE_ARRAY + STRING */
    SL_PQ_BINARY,    /* BYTE_ARRAY */
    SL_PQ_JSON,      /* BYTE_ARRAY + JSON: any value, written as JSON text */
    SL_PQ_DATE,      /* INT32 + DATE */
    SL_PQ_TIMESTAMP, /* INT64 + TIMESTAMP(isAdjustedToUTC=true, MICROS) */
    SL_PQ_DECIMAL,   /* INT32/INT64/FIXED_LEN_BYTE_ARRAY + DECIMAL(precision, scale) */
    SL_PQ_STRUCT,    /* group of children */
    SL_PQ_LIST,      /* 3-level LIST group; children[0] is the element */
} sl_pq_type_t;

typedef struct sl_pq_node {
    const char *name;
    sl_pq_type_t type;
    bool required;            /* REQUIRED instead of OPTIONAL */
    int precision, scale;     /* DECIMAL */
    struct sl_pq_node *children;
    size_t nchildren;
} sl_pq_node_t;

typedef enum {
    SL_PQ_UNCOMPRESSED = 0,
    SL_PQ_SNAPPY,
    SL_PQ_GZIP,
    SL_PQ_ZSTD,
} sl_pq_codec_t;

typedef struct {
    sl_pq_codec_t codec;        /* default SL_PQ_SNAPPY when opts is NULL */
    int level;                  /* gzip/zstd level; 0 = codec default */
    size_t row_group_rows;      /* 0 = 1,000,000 */
    size_t row_group_bytes;     /* buffered (uncompressed) bytes; 0 = 128 MiB */
    size_t page_bytes;          /* 0 = 1 MiB */
    bool no_dictionary;         /* dictionary encoding is on unless set */
    size_t dictionary_max_bytes; /* per column chunk before PLAIN fallback; 0 = 1 MiB */
    bool page_v2;               /* DataPageHeaderV2 instead of v1 */
    const char *const *kv;      /* extra key/value metadata pairs, NULL-terminated */
} sl_pq_opts_t;

/* The compression levels codec accepts in sl_pq_opts_t.level (0, the
 * codec's default, is always accepted): gzip -1 to 9, zstd its negative
 * fast levels to 22; none for snappy and uncompressed (*lo = *hi = 0). */
void sl_pq_codec_levels(sl_pq_codec_t codec, int *lo, int *hi);

/* Receives the file's bytes in order. Returns 0 or a negative error. */
typedef int (*sl_pq_write_fn)(void *ud, const void *data, size_t n);

typedef struct sl_pq_writer sl_pq_writer_t;

/* Creates a writer. root is a STRUCT whose children are the top-level
 * columns; the writer copies it. Writes the leading "PAR1" at once. */
int sl_pq_writer_new(const sl_pq_node_t *root, const sl_pq_opts_t *opts, sl_pq_write_fn write,
                     void *ud, sl_pq_writer_t **out, sl_err_t *err);

/* Appends one record (an object; keys not in the schema are ignored,
 * missing keys are null). A value that does not fit its column (a string
 * for an INT64, a null for a REQUIRED field, a decimal with too many
 * digits) returns SL_ETYPE with err naming the field path, e.g. "field
 * 'customer.id': expected int64, got string 'x'", and nothing of the
 * record is kept. Ints widen to doubles and to decimals; ISO strings are
 * not parsed (cast them first). */
int sl_pq_writer_add(sl_pq_writer_t *w, const sl_value_t *rec, sl_err_t *err);

/* The same for a record whose keys are in a layout the caller already
 * knows: col[i] is the member index in rec of top-level column i (the
 * root's children, in order), or -1 when it is absent. Saves looking every
 * key up when many records share one layout. */
int sl_pq_writer_add_mapped(sl_pq_writer_t *w, const sl_value_t *rec, const int32_t *col,
                            sl_err_t *err);

/* Encodes and writes the buffered rows as a row group now (also done
 * automatically at row_group_rows / row_group_bytes). */
int sl_pq_writer_flush(sl_pq_writer_t *w, sl_err_t *err);

/* Rows added; bytes written through the callback so far; bytes buffered
 * for the current row group (uncompressed estimate). */
uint64_t sl_pq_writer_rows(const sl_pq_writer_t *w);
uint64_t sl_pq_writer_written(const sl_pq_writer_t *w);
uint64_t sl_pq_writer_buffered(const sl_pq_writer_t *w);
/* Whether the file holds max_rows rows, or max_bytes written and buffered
 * (one call per record for writers that roll files). */
bool sl_pq_writer_reached(const sl_pq_writer_t *w, uint64_t max_rows, uint64_t max_bytes);

/* Flushes the last row group and writes the footer. */
int sl_pq_writer_finish(sl_pq_writer_t *w, sl_err_t *err);
void sl_pq_writer_free(sl_pq_writer_t *w);

const char *sl_pq_type_name(sl_pq_type_t t);

#endif
