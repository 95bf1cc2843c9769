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
/* Details of sl_csv_next (o may be NULL for the defaults):
 * - Line ends are LF or CRLF; a CR elsewhere is data, except that a CR
 *   right before the end of input (at_eof) ends the last line.
 * - Blank lines (nothing but a line end) are not records: they are skipped,
 *   and counted in *newlines so that adding *newlines to a line counter
 *   after each call keeps it exact. A one-column file therefore cannot hold
 *   a record whose only field is an unquoted empty (null) field.
 * - A UTF-8 BOM at offset 0 is skipped when *pos == 0.
 * - SL_EOF is returned only when at_eof; with !at_eof an exhausted buffer
 *   gives SL_AGAIN, so a chunk ending exactly at a record end is safe.
 * - On SL_EPARSE, *pos is advanced past the LF that ends the physical line
 *   holding the problem (or to n at EOF), *newlines counts the line breaks
 *   skipped, err->offset is absolute within buf and err->reason reads e.g.
 *   "quote inside unquoted field at column 3" (columns are 1-based field
 *   numbers). If that line is not complete yet and !at_eof, the result is
 *   SL_AGAIN instead.
 * - SL_EINVAL when the delimiter equals the quote or either is CR/LF. */

/* Same as sl_csv_next; also stores in *skipped (may be NULL) how many of
 * *newlines are blank lines skipped before the record, so a record found
 * after L consumed lines starts at line L + *skipped + 1. */
int sl_csv_next_ex(const sl_csv_opts_t *o, sl_arena_t *a, const char *buf, size_t n,
                   size_t *pos, bool at_eof, sl_csv_field_t **fields, size_t *nfields,
                   size_t *newlines, size_t *skipped, sl_csv_error_t *err);

/* Converts a field to a value with light inference: unquoted empty -> null,
 * integers -> SL_T_INT (beyond int64 -> SL_T_BIGNUM), decimal/exponent
 * numbers -> SL_T_DOUBLE (raw text), true/false -> bool, anything else (and
 * every quoted field) -> string. With infer false every field is a string
 * and only unquoted empty fields are null.
 * Only JSON number grammar counts ("0", "-12", "1.50", "-2e5"); "+5",
 * "01", " 5", "1.", ".5", "1e" stay strings. Booleans are lowercase only.
 * The value borrows the field's text. */
sl_value_t sl_csv_field_value(const sl_csv_field_t *f, bool infer);

/* Appends one field, quoted only when it contains the delimiter, the quote,
 * CR or LF, or leading/trailing spaces. (Leading/trailing tabs and a
 * leading UTF-8 BOM also get quotes; the quote character is always '"'.) */
int sl_csv_write_field(sl_buf_t *b, const char *s, size_t n, char delimiter);
/* Appends a value as a field: null as empty, strings via write_field,
 * others in their text form (sl_value_to_text), nested values as JSON.
 * An empty string is written as "" so that it reads back as a string, not
 * as null. */
int sl_csv_write_value(sl_buf_t *b, const sl_value_t *v, char delimiter);

#endif
