/* COPY ... FROM STDIN (FORMAT binary) for the PostgreSQL driver of the sql
 * sink: the server takes int8, float8, bool, timestamptz and date values
 * as bytes instead of parsing their text, which is most of its work in a
 * bulk load. Used for a column set only when every column has one of the
 * types below; other sets use text COPY. */
#ifndef SLUICE_SQL_PG_BINARY_H
#define SLUICE_SQL_PG_BINARY_H

#include <libpq-fe.h>

#include "sluice/buf.h"
#include "sluice/value.h"

/* The 19-byte file header and the 2-byte trailer of binary COPY data. */
#define SL_PGBIN_HEADER_LEN 19
extern const char sl_pgbin_header[SL_PGBIN_HEADER_LEN];
extern const char sl_pgbin_trailer[2];

/* Whether columns of type oid can be written in binary (int2/4/8,
 * float4/8, bool, text, varchar, name-less text types, date, timestamp,
 * timestamptz). */
bool sl_pgbin_supported(Oid oid);

/* Appends the field count of a tuple. */
int sl_pgbin_put_count(sl_buf_t *b, int n);

/* Appends v (with its length word) as a value of a column of type oid,
 * converting the way PostgreSQL's text input would (an int into float8,
 * "42" into int8, a date into timestamptz at midnight UTC). Returns 0,
 * SL_ETYPE with *why saying what does not fit (the value is named by the
 * caller), SL_EINVAL for a NUL byte in text, or SL_ENOMEM. scratch holds
 * JSON text of nested values. */
int sl_pgbin_put(sl_buf_t *b, Oid oid, const sl_value_t *v, sl_buf_t *scratch, const char **why);

#endif
