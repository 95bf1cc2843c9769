/* CSV (RFC 4180) reading and writing; see include/sluice/csv.h.
 *
 * The reader is built for throughput: unquoted fields are found by scanning
 * 64-byte blocks for the three bytes that can end them (delimiter, quote,
 * LF) with SSE2 where available, quoted fields by memchr for the quote.
 * Fields borrow from the input buffer unless they hold doubled quotes.
 * Line ends are LF or CRLF; a CR elsewhere is data (a CR right before the
 * end of input also ends the last line). Blank lines are not records.
 *
 * The writer checks a field against a 256-entry table (or 16 bytes at a
 * time with SSE2) and copies it with one memcpy when it needs no quotes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sluice/csv.h"
#include "sluice/json.h"
#include "sluice/timeutil.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define CSV_SSE2 1
#endif

/* ---- reader ---- */

/* Finds delimiter/quote/LF bytes of a buffer, one 64-bit mask per 64-byte
 * block, so a record's fields come from a few bit scans instead of a
 * byte-by-byte loop. Positions are offsets into the buffer. */
typedef struct {
    const char *buf;
    size_t n;
    size_t base; /* offset of the cached block, SIZE_MAX when none */
    uint64_t mask;
    unsigned char delim, quote;
} scanner_t;

static inline uint64_t block_mask(const scanner_t *sc, const char *p)
{
#ifdef CSV_SSE2
    const __m128i vd = _mm_set1_epi8((char)sc->delim);
    const __m128i vq = _mm_set1_epi8((char)sc->quote);
    const __m128i vn = _mm_set1_epi8('\n');
    uint64_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vq)),
                                 _mm_cmpeq_epi8(x, vn));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(e) << (16 * k);
    }
    return m;
#else
    uint64_t m = 0;
    for (int k = 0; k < 64; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c == sc->delim || c == sc->quote || c == '\n') {
            m |= (uint64_t)1 << k;
        }
    }
    return m;
#endif
}

/* Offset of the first delimiter, quote or LF at or after pos, or n. */
static inline size_t scan_find(scanner_t *sc, size_t pos)
{
    for (;;) {
        if (pos >= sc->base && pos - sc->base < 64) {
            uint64_t m = sc->mask >> (pos - sc->base);
            if (m) {
                return pos + (size_t)__builtin_ctzll(m);
            }
            pos = sc->base + 64;
        }
        if (sc->n - pos >= 64) {
            sc->base = pos;
            sc->mask = block_mask(sc, sc->buf + pos);
            continue;
        }
        /* Fewer than 64 bytes left: only at the very end of the buffer. */
        while (pos < sc->n) {
            unsigned char c = (unsigned char)sc->buf[pos];
            if (c == sc->delim || c == sc->quote || c == '\n') {
                return pos;
            }
            pos++;
        }
        return pos;
    }
}

static size_t count_lf(const char *s, size_t n)
{
    size_t c = 0;
    const char *end = s + n;
    while (s < end) {
        const char *p = memchr(s, '\n', (size_t)(end - s));
        if (!p) {
            break;
        }
        c++;
        s = p + 1;
    }
    return c;
}

/* Copies s[0..n) into the arena collapsing doubled quotes. */
static char *undouble(sl_arena_t *a, const char *s, size_t n, char quote, size_t *outlen)
{
    char *d = sl_arena_alloc(a, n + 1);
    if (!d) {
        return NULL;
    }
    size_t o = 0;
    const char *end = s + n;
    while (s < end) {
        const char *q = memchr(s, quote, (size_t)(end - s));
        if (!q) {
            memcpy(d + o, s, (size_t)(end - s));
            o += (size_t)(end - s);
            break;
        }
        /* Keep one quote of the pair (the scanner guaranteed pairs). */
        memcpy(d + o, s, (size_t)(q - s) + 1);
        o += (size_t)(q - s) + 1;
        s = q + 2;
    }
    d[o] = '\0';
    *outlen = o;
    return d;
}

static void char_repr(unsigned char c, char *out, size_t cap)
{
    if (c == '\r') {
        snprintf(out, cap, "'\\r'");
    } else if (c == '\t') {
        snprintf(out, cap, "'\\t'");
    } else if (c >= 0x20 && c < 0x7f) {
        snprintf(out, cap, "'%c'", c);
    } else {
        snprintf(out, cap, "'\\x%02x'", c);
    }
}

#define LOCAL_FIELDS 64

typedef struct {
    sl_csv_field_t local[LOCAL_FIELDS];
    sl_csv_field_t *arr; /* local or an arena array once local is full */
    size_t n, cap;
} fields_t;

static int fields_push(fields_t *f, sl_arena_t *a, const char *p, size_t len, bool quoted)
{
    if (SL_UNLIKELY(f->n == f->cap)) {
        size_t ncap = f->cap * 2;
        sl_csv_field_t *na;
        if (f->arr == f->local) {
            na = sl_arena_alloc(a, ncap * sizeof *na);
            if (na) {
                memcpy(na, f->local, f->n * sizeof *na);
            }
        } else {
            na = sl_arena_realloc(a, f->arr, f->cap * sizeof *na, ncap * sizeof *na);
        }
        if (!na) {
            return SL_ENOMEM;
        }
        f->arr = na;
        f->cap = ncap;
    }
    sl_csv_field_t *x = &f->arr[f->n++];
    x->text.ptr = p;
    x->text.len = len;
    x->quoted = quoted;
    return 0;
}

/* Sets *err and finds where the caller resumes: past the LF ending the
 * physical line that holds the problem. */
static int parse_error(const char *buf, size_t n, size_t off, bool at_eof, size_t *resume,
                       sl_csv_error_t *err, const char *fmt, ...) SL_PRINTF(7, 8);

static int parse_error(const char *buf, size_t n, size_t off, bool at_eof, size_t *resume,
                       sl_csv_error_t *err, const char *fmt, ...)
{
    const char *lf = off < n ? memchr(buf + off, '\n', n - off) : NULL;
    if (!lf && !at_eof) {
        /* The bad line is not complete yet: report it once it is, so the
         * caller can skip it whole. */
        return SL_AGAIN;
    }
    *resume = lf ? (size_t)(lf - buf) + 1 : n;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
        err->offset = off;
    }
    return SL_EPARSE;
}

int sl_csv_next_ex(const sl_csv_opts_t *o, sl_arena_t *a, const char *buf, size_t n,
                   size_t *pos, bool at_eof, sl_csv_field_t **fields, size_t *nfields,
                   size_t *newlines, size_t *skipped, sl_csv_error_t *err)
{
    unsigned char delim = (unsigned char)(o && o->delimiter ? o->delimiter : ',');
    unsigned char quote = (unsigned char)(o && o->quote ? o->quote : '"');
    if (delim == quote || delim == '\n' || delim == '\r' || quote == '\n' || quote == '\r') {
        if (err) {
            snprintf(err->reason, sizeof err->reason,
                     "invalid CSV options: delimiter and quote must differ and not be CR/LF");
            err->offset = *pos;
        }
        return SL_EINVAL;
    }
    size_t p = *pos;
    if (p == 0 && n > 0 && (unsigned char)buf[0] == 0xEF) {
        static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
        size_t k = n < 3 ? n : 3;
        if (memcmp(buf, bom, k) == 0) {
            if (k < 3 && !at_eof) {
                return SL_AGAIN;
            }
            if (k == 3) {
                p = 3;
            }
        }
    }

    /* Blank lines are not records (a one-column file cannot tell an empty
     * line from a null, and most writers leave stray blank lines). */
    size_t blank = 0;
    for (;;) {
        if (p >= n) {
            if (!at_eof) {
                return SL_AGAIN;
            }
            *pos = n;
            *newlines = blank;
            if (skipped) {
                *skipped = blank;
            }
            *nfields = 0;
            *fields = NULL;
            return SL_EOF;
        }
        if (buf[p] == '\n') {
            p++;
            blank++;
        } else if (buf[p] == '\r' && (p + 1 < n || at_eof)) {
            if (p + 1 == n) {
                p++; /* a CR ending the input ends the line */
                blank++;
            } else if (buf[p + 1] == '\n') {
                p += 2;
                blank++;
            } else {
                break;
            }
        } else if (buf[p] == '\r') {
            return SL_AGAIN; /* CR at the end: is an LF next? */
        } else {
            break;
        }
    }

    const size_t start = p;
    scanner_t sc = {buf, n, SIZE_MAX, 0, delim, quote};
    fields_t f;
    f.arr = f.local;
    f.n = 0;
    f.cap = LOCAL_FIELDS;
    size_t lfs = 0; /* LFs inside quoted fields */
    size_t resume = 0;
    int rc;

    for (;;) {
        size_t col = f.n + 1;
        if (p < n && (unsigned char)buf[p] == quote) {
            size_t open = p;
            size_t q = p + 1;
            bool doubled = false;
            size_t close;
            for (;;) {
                const char *c = q < n ? memchr(buf + q, quote, n - q) : NULL;
                if (!c) {
                    if (!at_eof) {
                        return SL_AGAIN;
                    }
                    rc = parse_error(buf, n, open, at_eof, &resume, err,
                                     "unterminated quoted field at column %zu", col);
                    goto fail;
                }
                size_t ci = (size_t)(c - buf);
                if (ci + 1 < n && (unsigned char)buf[ci + 1] == quote) {
                    doubled = true;
                    q = ci + 2;
                    continue;
                }
                if (ci + 1 == n && !at_eof) {
                    return SL_AGAIN; /* a doubled quote may follow */
                }
                close = ci;
                break;
            }
            const char *text = buf + open + 1;
            size_t len = close - open - 1;
            lfs += count_lf(text, len);
            if (doubled) {
                text = undouble(a, text, len, (char)quote, &len);
                if (!text) {
                    return SL_ENOMEM;
                }
            }
            if (fields_push(&f, a, text, len, true)) {
                return SL_ENOMEM;
            }
            p = close + 1;
            if (p == n) {
                break; /* at_eof: last record without a line end */
            }
            unsigned char c = (unsigned char)buf[p];
            if (c == delim) {
                p++;
                continue;
            }
            if (c == '\n') {
                p++;
                lfs++;
                break;
            }
            if (c == '\r') {
                if (p + 1 == n) {
                    if (!at_eof) {
                        return SL_AGAIN;
                    }
                    p++;
                    break;
                }
                if (buf[p + 1] == '\n') {
                    p += 2;
                    lfs++;
                    break;
                }
            }
            char rep[16];
            char_repr(c, rep, sizeof rep);
            rc = parse_error(buf, n, p, at_eof, &resume, err,
                             "unexpected character %s after closing quote at column %zu", rep,
                             col);
            goto fail;
        }

        size_t s = scan_find(&sc, p);
        if (s == n) {
            if (!at_eof) {
                return SL_AGAIN;
            }
            size_t e = n;
            if (e > p && buf[e - 1] == '\r') {
                e--;
            }
            if (fields_push(&f, a, buf + p, e - p, false)) {
                return SL_ENOMEM;
            }
            p = n;
            break;
        }
        unsigned char c = (unsigned char)buf[s];
        if (c == delim) {
            if (fields_push(&f, a, buf + p, s - p, false)) {
                return SL_ENOMEM;
            }
            p = s + 1;
            continue;
        }
        if (c == '\n') {
            size_t e = s;
            if (e > p && buf[e - 1] == '\r') {
                e--;
            }
            if (fields_push(&f, a, buf + p, e - p, false)) {
                return SL_ENOMEM;
            }
            p = s + 1;
            lfs++;
            break;
        }
        rc = parse_error(buf, n, s, at_eof, &resume, err,
                         "quote inside unquoted field at column %zu", col);
        goto fail;
    }

    if (f.arr == f.local) {
        f.arr = sl_arena_alloc(a, f.n * sizeof(sl_csv_field_t));
        if (!f.arr) {
            return SL_ENOMEM;
        }
        memcpy(f.arr, f.local, f.n * sizeof(sl_csv_field_t));
    }
    *fields = f.arr;
    *nfields = f.n;
    *newlines = blank + lfs;
    if (skipped) {
        *skipped = blank;
    }
    *pos = p;
    return 0;

fail:
    if (rc == SL_EPARSE) {
        *newlines = blank + count_lf(buf + start, resume - start);
        if (skipped) {
            *skipped = blank;
        }
        *fields = NULL;
        *nfields = 0;
        *pos = resume;
    }
    return rc;
}

int sl_csv_next(const sl_csv_opts_t *o, sl_arena_t *a, const char *buf, size_t n, size_t *pos,
                bool at_eof, sl_csv_field_t **fields, size_t *nfields, size_t *newlines,
                sl_csv_error_t *err)
{
    return sl_csv_next_ex(o, a, buf, n, pos, at_eof, fields, nfields, newlines, NULL, err);
}

/* ---- inference ---- */

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n, bool *is_int)
{
    size_t i = 0;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i >= n) {
        return false;
    }
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i])) {
            i++;
        }
    } else {
        return false;
    }
    *is_int = true;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) {
            return false;
        }
        while (i < n && is_digit(s[i])) {
            i++;
        }
        *is_int = false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i >= n || !is_digit(s[i])) {
            return false;
        }
        while (i < n && is_digit(s[i])) {
            i++;
        }
        *is_int = false;
    }
    return i == n;
}

/* Parses a validated integer text; false when it does not fit int64. */
static bool parse_int64(const char *s, size_t n, int64_t *out)
{
    bool neg = s[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t v = 0;
    if (n - i <= 18) {
        for (; i < n; i++) {
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *out = neg ? -(int64_t)v : (int64_t)v;
        return true;
    }
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (limit - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (neg) {
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    return true;
}

sl_value_t sl_csv_field_value(const sl_csv_field_t *f, bool infer)
{
    const char *s = f->text.ptr;
    size_t n = f->text.len;
    if (n == 0 && !f->quoted) {
        return sl_value_null();
    }
    if (!infer || f->quoted) {
        return sl_value_str(s, n);
    }
    unsigned char c0 = (unsigned char)s[0];
    if (c0 == '-' || (c0 >= '0' && c0 <= '9')) {
        bool is_int = false;
        if (json_number(s, n, &is_int)) {
            sl_value_t v = {0};
            if (is_int) {
                int64_t i;
                if (parse_int64(s, n, &i)) {
                    return sl_value_int(i);
                }
                v.type = SL_T_BIGNUM;
            } else {
                v.type = SL_T_DOUBLE;
                v.flags = SL_VF_RAW;
            }
            v.len = (uint32_t)n;
            v.u.s = s;
            return v;
        }
    } else if (n == 4 && memcmp(s, "true", 4) == 0) {
        return sl_value_bool(true);
    } else if (n == 5 && memcmp(s, "false", 5) == 0) {
        return sl_value_bool(false);
    }
    return sl_value_str(s, n);
}

/* ---- writer ---- */

/* Bit 1: always forces quotes (quote, CR, LF); bits 2..16: one per common
 * delimiter, so one table serves them all. */
enum { Q_ALWAYS = 1, Q_COMMA = 2, Q_SEMI = 4, Q_TAB = 8, Q_PIPE = 16 };
static const unsigned char quote_table[256] = {
    ['"'] = Q_ALWAYS, ['\r'] = Q_ALWAYS, ['\n'] = Q_ALWAYS,
    [','] = Q_COMMA,  [';'] = Q_SEMI,    ['\t'] = Q_TAB,   ['|'] = Q_PIPE,
};

static inline unsigned delim_bit(char d)
{
    switch (d) {
    case ',':
        return Q_COMMA;
    case ';':
        return Q_SEMI;
    case '\t':
        return Q_TAB;
    case '|':
        return Q_PIPE;
    default:
        return 0;
    }
}

static inline uint64_t has_zero_byte(uint64_t v)
{
    return (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
}

/* True when any byte of the 8 at p is a quote, CR, LF or the delimiter
 * (dw: the delimiter repeated in every byte). */
static inline bool word_special(const char *p, uint64_t dw)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return (has_zero_byte(w ^ 0x2222222222222222ULL) | has_zero_byte(w ^ 0x0d0d0d0d0d0d0d0dULL) |
            has_zero_byte(w ^ 0x0a0a0a0a0a0a0a0aULL) | has_zero_byte(w ^ dw)) != 0;
}

static bool needs_quotes(const char *s, size_t n, char delim)
{
    if (n == 0) {
        return false;
    }
    unsigned char first = (unsigned char)s[0], last = (unsigned char)s[n - 1];
    /* Edge spaces would be trimmed by many readers; a leading BOM would be
     * eaten by ours at the start of a file. */
    if (first == ' ' || first == '\t' || last == ' ' || last == '\t') {
        return true;
    }
    if (first == 0xEF && n >= 3 && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) {
        return true;
    }
    if (n < 8) {
        /* Short fields: one table lookup per byte. */
        unsigned bit = delim_bit(delim);
        if (bit) {
            unsigned mask = Q_ALWAYS | bit;
            for (size_t i = 0; i < n; i++) {
                if (quote_table[(unsigned char)s[i]] & mask) {
                    return true;
                }
            }
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if ((quote_table[(unsigned char)s[i]] & Q_ALWAYS) || s[i] == delim) {
                return true;
            }
        }
        return false;
    }
#ifdef CSV_SSE2
    if (n >= 16) {
        const __m128i vq = _mm_set1_epi8('"');
        const __m128i vr = _mm_set1_epi8('\r');
        const __m128i vn = _mm_set1_epi8('\n');
        const __m128i vd = _mm_set1_epi8(delim);
        size_t i = 0;
        for (;;) {
            /* The last block overlaps the previous one instead of a
             * byte loop for the tail. */
            if (i + 16 > n) {
                i = n - 16;
            }
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vr)),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vd)));
            if (_mm_movemask_epi8(e)) {
                return true;
            }
            if (i + 16 >= n) {
                return false;
            }
            i += 16;
        }
    }
#endif
    /* 8 bytes at a time, the last word overlapping. */
    uint64_t dw = 0x0101010101010101ULL * (unsigned char)delim;
    size_t i = 0;
    for (;;) {
        if (i + 8 > n) {
            i = n - 8;
        }
        if (word_special(s + i, dw)) {
            return true;
        }
        if (i + 8 >= n) {
            return false;
        }
        i += 8;
    }
}

static int write_quoted(sl_buf_t *b, const char *s, size_t n)
{
    int rc = sl_buf_reserve(b, n + 2);
    if (rc) {
        return rc;
    }
    b->data[b->len++] = '"';
    const char *end = s + n;
    while (s < end) {
        const char *q = memchr(s, '"', (size_t)(end - s));
        if (!q) {
            memcpy(b->data + b->len, s, (size_t)(end - s));
            b->len += (size_t)(end - s);
            break;
        }
        /* Each doubled quote needs one more byte: room for the rest of the
         * input, this extra quote and the closing one. */
        if ((rc = sl_buf_reserve(b, (size_t)(end - s) + 2)) != 0) {
            return rc;
        }
        size_t run = (size_t)(q - s) + 1;
        memcpy(b->data + b->len, s, run);
        b->len += run;
        b->data[b->len++] = '"';
        s = q + 1;
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return 0;
}

int sl_csv_write_field(sl_buf_t *b, const char *s, size_t n, char delimiter)
{
    if (needs_quotes(s, n, delimiter)) {
        return write_quoted(b, s, n);
    }
    /* Room is usually there already: skip the call into buf.c. */
    if (SL_UNLIKELY(b->len + n + 1 > b->cap || (b->max && b->len + n > b->max))) {
        int rc = sl_buf_reserve(b, n);
        if (rc) {
            return rc;
        }
    }
    if (n) {
        memcpy(b->data + b->len, s, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int write_int(sl_buf_t *b, int64_t i)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *p = e;
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0) {
        *--p = '-';
    }
    size_t n = (size_t)(e - p);
    if (SL_UNLIKELY(b->len + n + 1 > b->cap || (b->max && b->len + n > b->max))) {
        int rc = sl_buf_reserve(b, n);
        if (rc) {
            return rc;
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* JSON text was appended at [start, b->len): quote it in place when the
 * field needs it, doubling quotes back to front so no copy is needed. */
static int quote_in_place(sl_buf_t *b, size_t start, char delim)
{
    size_t n = b->len - start;
    if (!needs_quotes(b->data + start, n, delim)) {
        return 0;
    }
    size_t nq = 0;
    for (size_t i = start; i < b->len; i++) {
        nq += b->data[i] == '"';
    }
    int rc = sl_buf_reserve(b, nq + 2);
    if (rc) {
        return rc;
    }
    char *d = b->data;
    size_t src = b->len, dst = b->len + nq + 2;
    d[dst] = '\0';
    d[--dst] = '"';
    while (src > start) {
        char c = d[--src];
        d[--dst] = c;
        if (c == '"') {
            d[--dst] = '"';
        }
    }
    d[--dst] = '"';
    b->len += nq + 2;
    return 0;
}

int sl_csv_write_value(sl_buf_t *b, const sl_value_t *v, char delimiter)
{
    char tmp[40];
    switch (v->type) {
    case SL_T_NULL:
        return 0;
    case SL_T_STRING:
        if (v->len == 0) {
            /* Quoted, so it reads back as "" and not as null. */
            return sl_buf_append(b, "\"\"", 2);
        }
        return sl_csv_write_field(b, v->u.s, v->len, delimiter);
    case SL_T_BOOL:
        return v->u.i ? sl_buf_append(b, "true", 4) : sl_buf_append(b, "false", 5);
    case SL_T_INT:
        return write_int(b, v->u.i);
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            return sl_csv_write_field(b, v->u.s, v->len, delimiter);
        }
        return sl_fmt_double(b, v->u.d);
    case SL_T_BIGNUM:
        return sl_csv_write_field(b, v->u.s, v->len, delimiter);
    case SL_T_TIMESTAMP:
        return sl_buf_append(b, tmp, sl_timestamp_format(v->u.i, tmp));
    case SL_T_DATE:
        return sl_buf_append(b, tmp, sl_date_format(v->u.i, tmp));
    case SL_T_ARRAY:
    case SL_T_OBJECT: {
        size_t start = b->len;
        int rc = sl_json_write(b, v, 0);
        if (rc) {
            b->len = start;
            if (b->data) {
                b->data[start] = '\0';
            }
            return rc;
        }
        return quote_in_place(b, start, delimiter);
    }
    default:
        return SL_ETYPE;
    }
}
