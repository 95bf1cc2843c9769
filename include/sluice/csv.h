/* CSV (RFC 4180) reading and writing.
 *
 * The reader works on a caller-owned buffer and returns one record at a
 * time: quoted fields, embedded delimiters, newlines and doubled quotes,
 * CRLF or LF line ends. Unquoted fields and quoted fields without doubled
 * quotes borrow from the buffer; others are decoded into the arena. */
#ifndef SLUICE_CSV_H
#define SLUICE_CSV_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/value.h"

typedef struct {
    char delimiter; /* default ',' */
    char quote;     /* default '"' */
} sl_csv_opts_t;

typedef struct {
    sl_str_t text;
    bool quoted;
} sl_csv_field_t;

typedef struct {
    size_t offset;     /* byte offset of the problem within the buffer */
    char reason[160];
} sl_csv_error_t;

/* Finds the next record in buf[*pos..n). On success returns 0, stores up
 * to the fields in *fields (array allocated in a, *nfields set), the number
 * of line breaks the record spans in *newlines, and advances *pos past the
 * record's line end. Returns SL_AGAIN when the record is incomplete and
 * !at_eof (nothing consumed), SL_EOF when no bytes remain, SL_EPARSE on a
 * malformed record (e.g. a quote inside an unquoted field, text after a
 * closing quote, an unterminated quote at EOF): err filled and *pos
 * advanced past the bad line so the caller can go on. A final line without
 * a line end is a record when at_eof. */
int sl_csv_next(const sl_csv_opts_t *o, sl_arena_t *a, const char *buf, size_t n, size_t *pos,
                bool at_eof, sl_csv_field_t **fields, size_t *nfields, size_t *newlines,
                sl_csv_error_t *err);

/* Converts a field to a value with light inference: unquoted empty -> null,
 * integers -> SL_T_INT (beyond int64 -> SL_T_BIGNUM), decimal/exponent
 * numbers -> SL_T_DOUBLE (raw text), true/false -> bool, anything else (and
 * every quoted field) -> string. With infer false every field is a string
 * and only unquoted empty fields are null. */
sl_value_t sl_csv_field_value(const sl_csv_field_t *f, bool infer);

/* Appends one field, quoted only when it contains the delimiter, the quote,
 * CR or LF, or leading/trailing spaces. */
int sl_csv_write_field(sl_buf_t *b, const char *s, size_t n, char delimiter);
/* Appends a value as a field: null as empty, strings via write_field,
 * others in their text form (sl_value_to_text), nested values as JSON. */
int sl_csv_write_value(sl_buf_t *b, const sl_value_t *v, char delimiter);

#endif
