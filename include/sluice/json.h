/* JSON (RFC 8259) parsing and writing.
 *
 * The parser is strict: no comments, no trailing commas, no NaN/Infinity,
 * no leading zeros, no control characters in strings, valid UTF-8 and
 * \u escapes (surrogate pairs combined, lone surrogates rejected). Strings
 * without escapes borrow from the input text (zero copy); strings with
 * escapes are decoded into the arena. Integers that fit int64 become
 * SL_T_INT, other integers SL_T_BIGNUM (exact text) unless reject_bignum,
 * other numbers SL_T_DOUBLE with SL_VF_RAW (exact text). */
#ifndef SLUICE_JSON_H
#define SLUICE_JSON_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/value.h"

#define SL_JSON_DEFAULT_MAX_DEPTH 64

typedef struct {
    unsigned max_depth;  /* 0 = SL_JSON_DEFAULT_MAX_DEPTH */
    bool reject_bignum;  /* integers beyond int64 are errors instead of kept */
} sl_json_opts_t;

typedef struct {
    size_t offset;      /* byte offset of the problem in the input */
    char reason[160];   /* e.g. "invalid escape '\\q' in string" */
} sl_json_error_t;

/* Parses exactly one JSON value from text[0..n); surrounding whitespace is
 * allowed, anything else after the value is an error. The input must stay
 * alive as long as the value (strings may point into it). opts may be NULL.
 * Returns 0, SL_EPARSE (err filled), or SL_ENOMEM. */
int sl_json_parse(sl_arena_t *a, const char *text, size_t n, const sl_json_opts_t *opts,
                  sl_value_t *out, sl_json_error_t *err);

enum {
    SL_JSON_SORTED = 1, /* object keys in byte order (canonical form) */
};

/* Appends compact JSON for v to b. Timestamps are written as ISO 8601 UTC
 * strings ("2026-11-22T10:00:00.123456Z", fraction only when non-zero),
 * dates as "YYYY-MM-DD", raw numbers as their exact text, doubles in
 * shortest round-trip form (non-finite doubles as null). */
int sl_json_write(sl_buf_t *b, const sl_value_t *v, unsigned flags);
/* Appends s as a quoted, escaped JSON string. */
int sl_json_write_string(sl_buf_t *b, const char *s, size_t n);

/* Streaming splitter for files holding one top-level JSON array of values:
 * feed bytes and get the text span of each element, so huge arrays are
 * parsed element by element in constant memory. */
typedef struct {
    int state;       /* internal */
    unsigned depth;  /* internal */
    bool in_string, escape, seen_elem;
    size_t elem_start; /* internal */
    uint64_t consumed; /* total bytes consumed so far (for error offsets) */
} sl_json_array_splitter_t;

void sl_json_array_splitter_init(sl_json_array_splitter_t *s);
/* Scans buf[*pos..n). On finding a complete element returns 0 and sets
 * [*elem_off, *elem_off + *elem_len) within buf and advances *pos past it.
 * Returns SL_AGAIN when more bytes are needed (the caller keeps the bytes
 * from the element start, *pos is left at the element start), SL_EOF after
 * the closing ']' (only whitespace may follow), SL_EPARSE on structure
 * errors (err filled). at_eof tells that no more bytes will come. */
int sl_json_array_next(sl_json_array_splitter_t *s, const char *buf, size_t n, size_t *pos,
                       bool at_eof, size_t *elem_off, size_t *elem_len, sl_json_error_t *err);

#endif
