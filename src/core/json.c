/* Strict RFC 8259 JSON parser and compact writer, and a streaming splitter
 * for files holding one big top-level array; see include/sluice/json.h.
 *
 * The parser runs once per JSONL line, so it is written for speed: one pass,
 * no copy for strings without escapes (they borrow from the input), strings
 * scanned 16 (SSE2) or 8 (SWAR) bytes at a time for '"', '\\', control and
 * non-ASCII bytes, and the members/items of open containers collected on one
 * reusable stack and copied once into the arena when the container closes
 * (no realloc chains). It never reads past text[n) and needs no NUL. A
 * UTF-8 byte order mark is not skipped (RFC 8259 forbids sending one).
 *
 * Duplicate object keys: the object keeps one member per key, at the
 * position of the key's first occurrence, holding the value of its last
 * occurrence (like assigning the members in order with sl_object_set).
 *
 * The writer escapes only what RFC 8259 requires ('"', '\\', control
 * characters; the short forms \b \f \n \r \t, else \u00xx), passes valid
 * UTF-8 through unchanged and replaces each byte of an invalid UTF-8
 * sequence with U+FFFD, so its output is always valid JSON even for strings
 * that came from non-UTF-8 sources. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"
#include "sluice/timeutil.h"

#if defined(__GNUC__)
#define COLD __attribute__((cold, noinline))
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define COLD
#define HOT_INLINE inline
#endif

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
#else
#define HAVE_SWAR 0
#endif

#if HAVE_SWAR && defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#else
#define HAVE_SSE2 0
#endif

/* ------------------------------------------------------------------------
 * Byte classes
 * ---------------------------------------------------------------------- */

/* 1 for the bytes that stop a string scan: control characters, '"', '\\'
 * and every non-ASCII byte (which then gets UTF-8 validation). The writer
 * uses the same set: these are the bytes it must escape or validate. */
static const uint8_t str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x90 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xa0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xb0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xc0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xd0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xe0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xf0 */
};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

#if HAVE_SWAR
/* Nonzero when one of the 8 bytes of v (little-endian load) is special; the
 * lowest set bit marks the first such byte exactly (the classic "has zero
 * byte" tricks only give false positives above a true hit). */
static inline uint64_t special_mask(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t bs = v ^ (ONES * '\\');
    uint64_t m = ((q - ONES) & ~q) | ((bs - ONES) & ~bs) | ((v - ONES * 0x20) & ~v) | v;
    return m & HIGHS;
}

/* Same, for '"' and '\\' only (finding the end of a string with escapes). */
static inline uint64_t quote_bs_mask(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t bs = v ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((bs - ONES) & ~bs)) & HIGHS;
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
#endif

#if HAVE_SSE2
/* 16 bytes at once: a signed compare with 0x20 flags control characters
 * and every byte >= 0x80 together. Bit i is set for special byte p[i]. */
static inline unsigned special_mask16(const char *p, unsigned *quotes)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i m = _mm_or_si128(_mm_or_si128(q, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    *quotes = (unsigned)_mm_movemask_epi8(q);
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10;
}

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= ' ' && is_ws((unsigned char)*p)) {
        p++;
    }
    return p;
}

static int hexval(unsigned char c)
{
    if (is_digit(c)) {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or a
 * negative code naming the problem. */
enum {
    U8_TRUNCATED = -1,  /* input ends inside the sequence */
    U8_BAD_CONT = -2,   /* a continuation byte is not 10xxxxxx */
    U8_BAD_LEAD = -3,   /* 0x80-0xbf or 0xf5-0xff as a lead byte */
    U8_OVERLONG = -4,   /* 0xc0/0xc1, or e0/f0 with a too small second byte */
    U8_SURROGATE = -5,  /* U+D800-U+DFFF encoded in UTF-8 */
    U8_TOO_BIG = -6,    /* above U+10FFFF */
};

static inline int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0xc2) {
        return c < 0xc0 ? U8_BAD_LEAD : U8_OVERLONG;
    } else if (c < 0xe0) {
        need = 1;
    } else if (c < 0xf0) {
        need = 2;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c < 0xf5) {
        need = 3;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return U8_BAD_LEAD;
    }
    if (end - p <= need) {
        /* Report a bad byte before the end as such, not as truncation. */
        for (const unsigned char *q = p + 1; q < end; q++) {
            if ((*q & 0xc0) != 0x80) {
                return U8_BAD_CONT;
            }
        }
        if (end - p > 1 && (p[1] < lo || p[1] > hi)) {
            goto second;
        }
        return U8_TRUNCATED;
    }
    if (p[1] < lo || p[1] > hi) {
        goto second;
    }
    for (int i = 2; i <= need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return U8_BAD_CONT;
        }
    }
    return need + 1;
second:
    if ((p[1] & 0xc0) != 0x80) {
        return U8_BAD_CONT;
    }
    if (c == 0xe0 || c == 0xf0) {
        return U8_OVERLONG;
    }
    return c == 0xed ? U8_SURROGATE : U8_TOO_BIG;
}

static inline size_t put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* "character 'x'", "byte 0x01" or "end of input", for error messages. */
static const char *describe(const char *p, const char *end, char buf[24])
{
    if (p >= end) {
        return "end of input";
    }
    unsigned char c = (unsigned char)*p;
    if (c > 0x20 && c < 0x7f) {
        snprintf(buf, 24, "character '%c'", c);
    } else {
        snprintf(buf, 24, "byte 0x%02X", c);
    }
    return buf;
}

/* ------------------------------------------------------------------------
 * Parser
 * ---------------------------------------------------------------------- */

#define LOCAL_MEMBERS 32
#define LOCAL_ITEMS 64
#define DEDUPE_LINEAR_MAX 24

typedef struct {
    sl_arena_t *a;
    const char *beg, *end;
    unsigned max_depth;
    bool reject_bignum;
    int rc;
    sl_json_error_t *err;
    /* The members and items of all open containers, innermost on top. */
    sl_member_t *ms;
    size_t mtop, mcap;
    sl_value_t *vs;
    size_t vtop, vcap;
    bool ms_heap, vs_heap;
    uint32_t *htab; /* hash index for deduplicating big objects */
    size_t hcap;
} parser_t;

COLD static const char *fail(parser_t *ps, const char *at, const char *fmt, ...) SL_PRINTF(3, 4);

COLD static const char *fail(parser_t *ps, const char *at, const char *fmt, ...)
{
    if (ps->rc == 0) {
        ps->rc = SL_EPARSE;
        ps->err->offset = (size_t)(at - ps->beg);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err->reason, sizeof ps->err->reason, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

COLD static const char *fail_nomem(parser_t *ps, const char *at)
{
    fail(ps, at, "out of memory");
    ps->rc = SL_ENOMEM;
    return NULL;
}

COLD static const char *fail_utf8(parser_t *ps, const char *at, int code)
{
    unsigned char c = (unsigned char)*at;
    switch (code) {
    case U8_TRUNCATED:
        return fail(ps, at, "truncated UTF-8 sequence (lead byte 0x%02X) in string", c);
    case U8_BAD_CONT:
        return fail(ps, at, "invalid UTF-8 sequence in string: lead byte 0x%02X is not "
                    "followed by enough continuation bytes", c);
    case U8_OVERLONG:
        return fail(ps, at, "overlong UTF-8 encoding (lead byte 0x%02X) in string", c);
    case U8_SURROGATE:
        return fail(ps, at, "UTF-8 encoded surrogate (bytes 0x%02X 0x%02X) in string", c,
                    (unsigned char)at[1]);
    case U8_TOO_BIG:
        return fail(ps, at, "UTF-8 sequence above U+10FFFF (lead byte 0x%02X) in string", c);
    default:
        if (c < 0xc0) {
            return fail(ps, at, "invalid UTF-8 in string: unexpected continuation byte 0x%02X",
                        c);
        }
        return fail(ps, at, "invalid UTF-8 byte 0x%02X in string", c);
    }
}

COLD static const char *fail_control(parser_t *ps, const char *at)
{
    return fail(ps, at, "unescaped control character 0x%02X in string (use \\u%04X)",
                (unsigned char)*at, (unsigned char)*at);
}

static const char *parse_escaped(parser_t *ps, const char *start, const char *p,
                                 const char **out, uint32_t *outlen);

/* Parses the rest of a string whose opening quote is just before p. On
 * success *out and *outlen hold the decoded bytes (borrowed from the input when
 * there are no escapes) and the position after the closing quote returns.
 * Always inlined: for the short strings of typical records the call itself
 * (saving registers) costs about as much as the scan. */
static HOT_INLINE const char *parse_string(parser_t *ps, const char *p, const char **out,
                                           uint32_t *outlen)
{
    const char *start = p;
    const char *end = ps->end;
    for (;;) {
#if HAVE_SSE2
        while (end - p >= 16) {
            unsigned q;
            unsigned m = special_mask16(p, &q);
            if (m) {
                p += __builtin_ctz(m);
                /* the first special byte is the closing quote: known from
                 * the masks, without waiting to load it again */
                if (SL_LIKELY(q & m & (0u - m)) && SL_LIKELY((size_t)(p - start) <= UINT32_MAX)) {
                    *out = start;
                    *outlen = (uint32_t)(p - start);
                    return p + 1;
                }
                goto special;
            }
            p += 16;
        }
#endif
#if HAVE_SWAR
        while (end - p >= 8) {
            uint64_t m = special_mask(load64(p));
            if (m) {
                p += __builtin_ctzll(m) >> 3;
                goto special;
            }
            p += 8;
        }
#endif
        while (p < end && !str_special[(unsigned char)*p]) {
            p++;
        }
        if (SL_UNLIKELY(p >= end)) {
            return fail(ps, start - 1, "unterminated string");
        }
#if HAVE_SWAR
    special:
#endif
        if (SL_LIKELY(*p == '"')) {
            if (SL_UNLIKELY((size_t)(p - start) > UINT32_MAX)) {
                return fail(ps, start - 1, "string longer than 4 GiB");
            }
            *out = start;
            *outlen = (uint32_t)(p - start);
            return p + 1;
        }
        if (*p == '\\') {
            return parse_escaped(ps, start, p, out, outlen);
        }
        if ((unsigned char)*p < 0x20) {
            return fail_control(ps, p);
        }
        int n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
        if (SL_UNLIKELY(n < 0)) {
            return fail_utf8(ps, p, n);
        }
        p += n;
    }
}

/* Slow path of parse_string: the string has escapes. Finds the closing
 * quote first, so the arena block is allocated once with the exact upper
 * bound (decoding never grows the text), then decodes and validates. */
static const char *parse_escaped(parser_t *ps, const char *start, const char *p,
                                 const char **out, uint32_t *outlen)
{
    const char *end = ps->end;
    const char *q = p;
    for (;;) {
#if HAVE_SWAR
        while (end - q >= 8) {
            uint64_t m = quote_bs_mask(load64(q));
            if (m) {
                q += __builtin_ctzll(m) >> 3;
                goto found;
            }
            q += 8;
        }
#endif
        while (q < end && *q != '"' && *q != '\\') {
            q++;
        }
        if (q >= end) {
            return fail(ps, start - 1, "unterminated string");
        }
#if HAVE_SWAR
    found:
#endif
        if (*q == '"') {
            break;
        }
        q += 2; /* skip the backslash and the escaped byte */
        if (q >= end) {
            return fail(ps, start - 1, "unterminated string");
        }
    }
    if (SL_UNLIKELY((size_t)(q - start) > UINT32_MAX)) {
        return fail(ps, start - 1, "string longer than 4 GiB");
    }
    size_t cap = (size_t)(q - start);
    char *dst = sl_arena_alloc(ps->a, cap);
    if (!dst) {
        return fail_nomem(ps, start);
    }
    size_t pre = (size_t)(p - start);
    memcpy(dst, start, pre);
    char *d = dst + pre;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        if (!str_special[c]) {
            *d++ = (char)c;
            p++;
            continue;
        }
        if (c >= 0x80) {
            int n = utf8_len((const unsigned char *)p, (const unsigned char *)q);
            if (n < 0) {
                return fail_utf8(ps, p, n);
            }
            memcpy(d, p, (size_t)n);
            d += n;
            p += n;
            continue;
        }
        if (c < 0x20) {
            return fail_control(ps, p);
        }
        /* c == '\\' (a bare '"' cannot occur before q) */
        unsigned char e = (unsigned char)p[1];
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *d++ = (char)e;
            p += 2;
            continue;
        case 'b':
            *d++ = '\b';
            p += 2;
            continue;
        case 'f':
            *d++ = '\f';
            p += 2;
            continue;
        case 'n':
            *d++ = '\n';
            p += 2;
            continue;
        case 'r':
            *d++ = '\r';
            p += 2;
            continue;
        case 't':
            *d++ = '\t';
            p += 2;
            continue;
        case 'u':
            break;
        default:
            if (e > 0x20 && e < 0x7f) {
                return fail(ps, p, "invalid escape '\\%c' in string", e);
            }
            return fail(ps, p, "invalid escape in string: backslash followed by byte 0x%02X", e);
        }
        int h[4];
        uint32_t cp = 0;
        for (int i = 0; i < 4; i++) {
            h[i] = p + 2 + i < q ? hexval((unsigned char)p[2 + i]) : -1;
            if (h[i] < 0) {
                return fail(ps, p, "invalid \\u escape in string: expected 4 hex digits");
            }
            cp = cp << 4 | (uint32_t)h[i];
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo = 0;
            bool ok = q - p >= 12 && p[6] == '\\' && p[7] == 'u';
            for (int i = 0; ok && i < 4; i++) {
                int x = hexval((unsigned char)p[8 + i]);
                ok = x >= 0;
                lo = lo << 4 | (uint32_t)(ok ? x : 0);
            }
            if (!ok || lo < 0xdc00 || lo > 0xdfff) {
                if (ok) {
                    return fail(ps, p, "invalid surrogate pair in string: high surrogate "
                                "\\u%04X followed by \\u%04X, expected \\uDC00-\\uDFFF",
                                (unsigned)cp, (unsigned)lo);
                }
                return fail(ps, p, "lone high surrogate \\u%04X in string (not followed by "
                            "a low surrogate escape)", (unsigned)cp);
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 12;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail(ps, p, "lone low surrogate \\u%04X in string", (unsigned)cp);
        } else {
            p += 6;
        }
        d += put_utf8(d, cp);
    }
    /* The unused tail (a few bytes per escape) stays: shrinking with
     * sl_arena_realloc would copy when the block sits in its own chunk. */
    *out = dst;
    *outlen = (uint32_t)(d - dst);
    return q + 1;
}

enum { NUM_AFTER_MINUS, NUM_AFTER_DOT, NUM_EXPONENT };

COLD static const char *number_error(parser_t *ps, const char *p, int where)
{
    static const char *const what[] = {"after '-' in", "after '.' in", "in the exponent of"};
    char buf[24];
    return fail(ps, p, "expected a digit %s number, got %s", what[where],
                describe(p, ps->end, buf));
}

/* Parses a number at p ('-' or a digit) into out. Integers that fit int64
 * become SL_T_INT; others keep their exact text. */
static inline const char *parse_number(parser_t *ps, const char *p, sl_value_t *out)
{
    const char *start = p;
    const char *end = ps->end;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
        if (p >= end || !is_digit((unsigned char)*p)) {
            return number_error(ps, p, NUM_AFTER_MINUS);
        }
    }
    const char *dstart = p;
    uint64_t u = (uint64_t)(*p - '0');
    p++;
    if (u == 0) {
        if (p < end && is_digit((unsigned char)*p)) {
            return fail(ps, dstart, "leading zeros are not allowed in numbers");
        }
    } else {
        /* Wraps silently past 20 digits; u is only used up to 19. */
        while (p < end && is_digit((unsigned char)*p)) {
            u = u * 10 + (uint64_t)(*p - '0');
            p++;
        }
    }
    size_t ndigits = (size_t)(p - dstart);
    bool integer = true;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit((unsigned char)*p)) {
            return number_error(ps, p, NUM_AFTER_DOT);
        }
        while (p < end && is_digit((unsigned char)*p)) {
            p++;
        }
        integer = false;
    }
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || !is_digit((unsigned char)*p)) {
            return number_error(ps, p, NUM_EXPONENT);
        }
        while (p < end && is_digit((unsigned char)*p)) {
            p++;
        }
        integer = false;
    }
    size_t len = (size_t)(p - start);
    if (SL_UNLIKELY(len > UINT32_MAX)) {
        return fail(ps, start, "number longer than 4 GiB");
    }
    if (integer) {
        uint64_t limit = neg ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX;
        if (ndigits < 19 || (ndigits == 19 && u <= limit)) {
            out->type = SL_T_INT;
            out->flags = 0;
            out->reserved = 0;
            out->len = 0;
            /* Negating in unsigned arithmetic covers INT64_MIN without UB. */
            out->u.i = neg ? (int64_t)(0 - u) : (int64_t)u;
            return p;
        }
        if (ps->reject_bignum) {
            return fail(ps, start, "integer out of range for int64: %.*s%s",
                        (int)(len > 40 ? 40 : len), start, len > 40 ? "..." : "");
        }
        out->type = SL_T_BIGNUM;
        out->flags = 0;
    } else {
        out->type = SL_T_DOUBLE;
        out->flags = SL_VF_RAW;
    }
    out->reserved = 0;
    out->len = (uint32_t)len;
    out->u.s = start;
    return p;
}

static const char *parse_value(parser_t *ps, const char *p, sl_value_t *out, unsigned depth);

COLD static const char *fail_value_start(parser_t *ps, const char *p)
{
    const char *end = ps->end;
    char buf[24];
    if (p >= end) {
        return fail(ps, p, "unexpected end of input, expected a value");
    }
    unsigned char c = (unsigned char)*p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        const char *w = p;
        while (w < end && w - p < 24 &&
               ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || is_digit(*w) ||
                *w == '_')) {
            w++;
        }
        return fail(ps, p, "invalid literal '%.*s' (expected true, false, null, a number, "
                    "a \"string\", an object or an array)", (int)(w - p), p);
    }
    switch (c) {
    case '+':
        return fail(ps, p, "unexpected character '+': JSON numbers have no plus sign");
    case '.':
        return fail(ps, p, "unexpected character '.': numbers must start with a digit");
    case '\'':
        return fail(ps, p, "unexpected character ''': JSON strings use double quotes");
    case '/':
        return fail(ps, p, "unexpected character '/': comments are not allowed in JSON");
    default:
        return fail(ps, p, "unexpected %s, expected a value", describe(p, end, buf));
    }
}

static const char *parse_literal(parser_t *ps, const char *p, sl_value_t *out)
{
    size_t avail = (size_t)(ps->end - p);
    *out = sl_value_null();
    if (*p == 't' && avail >= 4 && memcmp(p, "true", 4) == 0) {
        out->type = SL_T_BOOL;
        out->u.i = 1;
        return p + 4;
    }
    if (*p == 'f' && avail >= 5 && memcmp(p, "false", 5) == 0) {
        out->type = SL_T_BOOL;
        return p + 5;
    }
    if (*p == 'n' && avail >= 4 && memcmp(p, "null", 4) == 0) {
        return p + 4;
    }
    return fail_value_start(ps, p);
}

COLD static const char *fail_nesting(parser_t *ps, const char *p)
{
    return fail(ps, p, "nesting deeper than %u", ps->max_depth);
}

static int grow_members(parser_t *ps)
{
    size_t ncap = ps->mcap * 2;
    sl_member_t *m = malloc(ncap * sizeof *m);
    if (!m) {
        return SL_ENOMEM;
    }
    memcpy(m, ps->ms, ps->mtop * sizeof *m);
    if (ps->ms_heap) {
        free(ps->ms);
    }
    ps->ms = m;
    ps->mcap = ncap;
    ps->ms_heap = true;
    return 0;
}

static int grow_items(parser_t *ps)
{
    size_t ncap = ps->vcap * 2;
    sl_value_t *v = malloc(ncap * sizeof *v);
    if (!v) {
        return SL_ENOMEM;
    }
    memcpy(v, ps->vs, ps->vtop * sizeof *v);
    if (ps->vs_heap) {
        free(ps->vs);
    }
    ps->vs = v;
    ps->vcap = ncap;
    ps->vs_heap = true;
    return 0;
}

static inline bool same_key(const sl_member_t *x, const sl_member_t *y)
{
    return x->klen == y->klen &&
           (x->klen == 0 || (x->key[0] == y->key[0] && memcmp(x->key, y->key, x->klen) == 0));
}

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)k[i]) * 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

/* One of 64 bloom bits for a key, from its length and end bytes: cheap,
 * and distinct for most keys of a record, so the pairwise comparison only
 * runs when a duplicate is likely. */
static inline uint64_t key_bit(const sl_member_t *m)
{
    uint32_t x = m->klen ? (m->klen << 16) | ((uint32_t)(unsigned char)m->key[0] << 8) |
                               (unsigned char)m->key[m->klen - 1]
                         : 0;
    return (uint64_t)1 << ((x * 0x9e3779b1u) >> 26);
}

/* Merges duplicate keys of m[0..n) in place (first position, last value)
 * and returns the new count. Small objects compare pairwise; big ones use
 * a hash index so hostile input with many keys stays linear. */
static size_t dedupe_members(parser_t *ps, sl_member_t *m, size_t n, int *rc)
{
    if (n <= DEDUPE_LINEAR_MAX) {
        size_t k = 1;
        for (size_t i = 1; i < n; i++) {
            size_t j = 0;
            while (j < k && !same_key(&m[i], &m[j])) {
                j++;
            }
            if (j < k) {
                m[j].val = m[i].val;
            } else {
                m[k++] = m[i];
            }
        }
        return k;
    }
    size_t cap = 64;
    while (cap < n * 2) {
        cap *= 2;
    }
    if (cap > ps->hcap) {
        free(ps->htab);
        ps->htab = malloc(cap * sizeof *ps->htab);
        ps->hcap = ps->htab ? cap : 0;
        if (!ps->htab) {
            *rc = SL_ENOMEM;
            return n;
        }
    }
    uint32_t *t = ps->htab;
    memset(t, 0, cap * sizeof *t);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)key_hash(m[i].key, m[i].klen) & (cap - 1);
        for (;;) {
            if (t[h] == 0) {
                m[k] = m[i];
                t[h] = (uint32_t)++k;
                break;
            }
            sl_member_t *o = &m[t[h] - 1];
            if (same_key(o, &m[i])) {
                o->val = m[i].val;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    return k;
}

static const char *parse_object(parser_t *ps, const char *p, sl_value_t *out, unsigned depth)
{
    const char *open = p - 1;
    const char *end = ps->end;
    size_t base = ps->mtop;
    char buf[24];
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        *out = sl_value_null();
        out->type = SL_T_OBJECT;
        return p + 1;
    }
    bool first = true;
    uint64_t bloom = 0; /* key_bit of every key so far */
    bool dups = false;  /* a duplicate key was seen, or too many keys to track */
    for (;;) {
        if (SL_UNLIKELY(p >= end || *p != '"')) {
            if (p >= end) {
                return fail(ps, p, "unexpected end of input: unterminated object (opened at "
                            "offset %zu)", (size_t)(open - ps->beg));
            }
            if (first) {
                return fail(ps, p, "unexpected %s in object, expected a string key or '}'",
                            describe(p, end, buf));
            }
            if (*p == '}') {
                return fail(ps, p, "trailing comma before '}' in object");
            }
            return fail(ps, p, "unexpected %s after ',' in object, expected a string key",
                        describe(p, end, buf));
        }
        first = false;
        if (SL_UNLIKELY(ps->mtop == ps->mcap) && grow_members(ps)) {
            return fail_nomem(ps, p);
        }
        sl_member_t *m = &ps->ms[ps->mtop];
        p = parse_string(ps, p + 1, &m->key, &m->klen);
        if (!p) {
            return NULL;
        }
        m->reserved = 0;
        size_t idx = ps->mtop++;
        if (!dups) {
            if (idx - base >= DEDUPE_LINEAR_MAX) {
                dups = true;
            } else {
                uint64_t bit = key_bit(m);
                if (bloom & bit) {
                    for (size_t j = base; j < idx && !dups; j++) {
                        dups = same_key(&ps->ms[j], m);
                    }
                }
                bloom |= bit;
            }
        }
        p = skip_ws(p, end);
        if (SL_UNLIKELY(p >= end || *p != ':')) {
            return fail(ps, p, "unexpected %s after object key, expected ':'",
                        describe(p, end, buf));
        }
        p = skip_ws(p + 1, end);
        if (SL_UNLIKELY(p >= end)) {
            return fail(ps, p, "unexpected end of input after ':', expected a value");
        }
        /* Strings and numbers inline; containers may grow the stack, so
         * they are parsed into a local and stored by index. */
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            sl_value_t *v = &ps->ms[idx].val;
            v->type = SL_T_STRING;
            v->flags = SL_VF_UTF8; /* parse_string validates it */
            v->reserved = 0;
            p = parse_string(ps, p + 1, &v->u.s, &v->len);
        } else if (is_digit(c) || c == '-') {
            p = parse_number(ps, p, &ps->ms[idx].val);
        } else {
            sl_value_t v;
            p = parse_value(ps, p, &v, depth);
            ps->ms[idx].val = v;
        }
        if (!p) {
            return NULL;
        }
        p = skip_ws(p, end);
        if (SL_LIKELY(p < end)) {
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (*p == '}') {
                p++;
                break;
            }
            return fail(ps, p, "unexpected %s after object member, expected ',' or '}'",
                        describe(p, end, buf));
        }
        return fail(ps, p, "unexpected end of input: unterminated object (opened at offset "
                    "%zu)", (size_t)(open - ps->beg));
    }
    size_t n = ps->mtop - base;
    if (dups) {
        int rc = 0;
        n = dedupe_members(ps, ps->ms + base, n, &rc);
        if (rc) {
            return fail_nomem(ps, p);
        }
    }
    if (SL_UNLIKELY(n > UINT32_MAX)) {
        return fail(ps, open, "object with more than 2^32 members");
    }
    sl_member_t *dst = sl_arena_alloc(ps->a, n * sizeof *dst);
    if (!dst) {
        return fail_nomem(ps, p);
    }
    memcpy(dst, ps->ms + base, n * sizeof *dst);
    ps->mtop = base;
    out->type = SL_T_OBJECT;
    out->flags = 0;
    out->reserved = 0;
    out->len = (uint32_t)n;
    out->u.members = dst;
    return p;
}

static const char *parse_array(parser_t *ps, const char *p, sl_value_t *out, unsigned depth)
{
    const char *open = p - 1;
    const char *end = ps->end;
    size_t base = ps->vtop;
    char buf[24];
    p = skip_ws(p, end);
    if (p < end && *p == ']') {
        *out = sl_value_null();
        out->type = SL_T_ARRAY;
        return p + 1;
    }
    for (;;) {
        if (SL_UNLIKELY(p >= end)) {
            return fail(ps, p, "unexpected end of input: unterminated array (opened at offset "
                        "%zu)", (size_t)(open - ps->beg));
        }
        if (SL_UNLIKELY(ps->vtop == ps->vcap) && grow_items(ps)) {
            return fail_nomem(ps, p);
        }
        size_t idx = ps->vtop++;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            sl_value_t *v = &ps->vs[idx];
            v->type = SL_T_STRING;
            v->flags = SL_VF_UTF8; /* parse_string validates it */
            v->reserved = 0;
            p = parse_string(ps, p + 1, &v->u.s, &v->len);
        } else if (is_digit(c) || c == '-') {
            p = parse_number(ps, p, &ps->vs[idx]);
        } else if (c == ']' && idx > base) {
            return fail(ps, p, "trailing comma before ']' in array");
        } else {
            sl_value_t v;
            p = parse_value(ps, p, &v, depth);
            ps->vs[idx] = v;
        }
        if (!p) {
            return NULL;
        }
        p = skip_ws(p, end);
        if (SL_LIKELY(p < end)) {
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (*p == ']') {
                p++;
                break;
            }
            return fail(ps, p, "unexpected %s after array element, expected ',' or ']'",
                        describe(p, end, buf));
        }
        return fail(ps, p, "unexpected end of input: unterminated array (opened at offset "
                    "%zu)", (size_t)(open - ps->beg));
    }
    size_t n = ps->vtop - base;
    if (SL_UNLIKELY(n > UINT32_MAX)) {
        return fail(ps, open, "array with more than 2^32 elements");
    }
    sl_value_t *dst = sl_arena_alloc(ps->a, n * sizeof *dst);
    if (!dst) {
        return fail_nomem(ps, p);
    }
    memcpy(dst, ps->vs + base, n * sizeof *dst);
    ps->vtop = base;
    out->type = SL_T_ARRAY;
    out->flags = 0;
    out->reserved = 0;
    out->len = (uint32_t)n;
    out->u.items = dst;
    return p;
}

/* Parses the value starting at p (not whitespace); depth counts the
 * containers around it. */
static const char *parse_value(parser_t *ps, const char *p, sl_value_t *out, unsigned depth)
{
    if (SL_UNLIKELY(p >= ps->end)) {
        return fail_value_start(ps, p);
    }
    switch (*p) {
    case '"':
        *out = sl_value_null();
        out->type = SL_T_STRING;
        out->flags = SL_VF_UTF8; /* parse_string validates it */
        return parse_string(ps, p + 1, &out->u.s, &out->len);
    case '{':
        if (SL_UNLIKELY(depth >= ps->max_depth)) {
            return fail_nesting(ps, p);
        }
        return parse_object(ps, p + 1, out, depth + 1);
    case '[':
        if (SL_UNLIKELY(depth >= ps->max_depth)) {
            return fail_nesting(ps, p);
        }
        return parse_array(ps, p + 1, out, depth + 1);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps, p, out);
    default:
        return parse_literal(ps, p, out);
    }
}

int sl_json_parse(sl_arena_t *a, const char *text, size_t n, const sl_json_opts_t *opts,
                  sl_value_t *out, sl_json_error_t *err)
{
    sl_member_t mlocal[LOCAL_MEMBERS];
    sl_value_t vlocal[LOCAL_ITEMS];
    sl_json_error_t dummy;
    parser_t ps;
    ps.a = a;
    ps.beg = text ? text : "";
    ps.end = ps.beg + (text ? n : 0);
    ps.max_depth = opts && opts->max_depth ? opts->max_depth : SL_JSON_DEFAULT_MAX_DEPTH;
    ps.reject_bignum = opts && opts->reject_bignum;
    ps.rc = 0;
    ps.err = err ? err : &dummy;
    ps.ms = mlocal;
    ps.mtop = 0;
    ps.mcap = LOCAL_MEMBERS;
    ps.vs = vlocal;
    ps.vtop = 0;
    ps.vcap = LOCAL_ITEMS;
    ps.ms_heap = ps.vs_heap = false;
    ps.htab = NULL;
    ps.hcap = 0;

    const char *p = skip_ws(ps.beg, ps.end);
    if (p >= ps.end) {
        fail(&ps, p, p == ps.beg ? "empty input, expected a JSON value"
                                 : "input is only whitespace, expected a JSON value");
    } else {
        p = parse_value(&ps, p, out, 0);
        if (p) {
            p = skip_ws(p, ps.end);
            if (p < ps.end) {
                char buf[24];
                fail(&ps, p, "trailing characters after value (%s)", describe(p, ps.end, buf));
            }
        }
    }
    if (ps.ms_heap) {
        free(ps.ms);
    }
    if (ps.vs_heap) {
        free(ps.vs);
    }
    free(ps.htab);
    if (ps.rc) {
        *out = sl_value_null();
        return ps.rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------- */

static const char digits2[201] = "0001020304050607080910111213141516171819"
                                 "2021222324252627282930313233343536373839"
                                 "4041424344454647484950515253545556575859"
                                 "6061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

/* Formats i into the end of buf[24]; returns the start. */
static char *fmt_i64(int64_t i, char *buf)
{
    char *p = buf + 24;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digits2 + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digits2 + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (i < 0) {
        *--p = '-';
    }
    return p;
}

/* The writer reserves up to this many bytes more than it will use, so the
 * buffer's max is relaxed by it while growing, and enforced exactly on the
 * final length (finish_write). */
#define WRITE_SLACK 32

static int grow(sl_buf_t *b, size_t n)
{
    size_t max = b->max;
    if (max) {
        b->max = max + WRITE_SLACK;
    }
    int rc = sl_buf_reserve(b, n);
    b->max = max;
    return rc;
}

/* Makes room for n more bytes (plus the NUL); cheap when there is room. */
static inline int ensure(sl_buf_t *b, size_t n)
{
    if (SL_LIKELY(b->data && b->len + n + 1 <= b->cap)) {
        return 0;
    }
    return grow(b, n);
}

static inline int put(sl_buf_t *b, const void *p, size_t n)
{
    int rc = ensure(b, n);
    if (rc) {
        return rc;
    }
    sl_buf_put_unchecked(b, p, n);
    return 0;
}

static const char hexdig[] = "0123456789abcdef";

/* Writes the escaped, quoted string, preceded by the byte pre and followed
 * by post when they are not 0 (the ',' and ':' around object keys, so a
 * member costs one reservation). The buffer holds enough spare bytes at
 * every step for the rest of the text, the closing quote and post; the
 * copy loop never stores past the bytes it consumes. */
static int write_quoted(sl_buf_t *b, const char *s, size_t n, char pre, char post)
{
    const char *p = s;
    const char *end = s + n;
    int rc = ensure(b, n + 12);
    if (rc) {
        return rc;
    }
    char *d = b->data + b->len;
    if (pre) {
        *d++ = pre;
    }
    *d++ = '"';
    for (;;) {
#if HAVE_SWAR
        while (end - p >= 8) {
            uint64_t v = load64(p);
            memcpy(d, &v, 8);
            uint64_t m = special_mask(v);
            if (m) {
                unsigned k = (unsigned)__builtin_ctzll(m) >> 3;
                p += k;
                d += k;
                goto special;
            }
            p += 8;
            d += 8;
        }
#endif
        while (p < end && !str_special[(unsigned char)*p]) {
            *d++ = *p++;
        }
        if (p >= end) {
            break;
        }
#if HAVE_SWAR
    special:;
#endif
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            int len = utf8_len((const unsigned char *)p, (const unsigned char *)end);
            if (len > 0) {
                memcpy(d, p, (size_t)len);
                d += len;
                p += len;
                continue;
            }
        }
        /* An escape (up to 6 bytes) or U+FFFD (3) for 1 input byte. */
        b->len = (size_t)(d - b->data);
        rc = ensure(b, (size_t)(end - p) + 16);
        if (rc) {
            return rc;
        }
        d = b->data + b->len;
        p++;
        if (c >= 0x80) {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            continue;
        }
        *d++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *d++ = (char)c;
            break;
        case '\b':
            *d++ = 'b';
            break;
        case '\f':
            *d++ = 'f';
            break;
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        case '\t':
            *d++ = 't';
            break;
        default:
            memcpy(d, "u00", 3);
            d[3] = hexdig[c >> 4];
            d[4] = hexdig[c & 15];
            d += 5;
            break;
        }
    }
    *d++ = '"';
    if (post) {
        *d++ = post;
    }
    b->len = (size_t)(d - b->data);
    return 0;
}

static inline int write_string(sl_buf_t *b, const char *s, size_t n)
{
    return write_quoted(b, s, n, 0, 0);
}

static inline int write_int(sl_buf_t *b, int64_t i)
{
    char tmp[24];
    char *s = fmt_i64(i, tmp);
    return put(b, s, (size_t)(tmp + 24 - s));
}

static int write_value(sl_buf_t *b, const sl_value_t *v, unsigned flags);

/* One object member or array item value: the common scalars inline. */
static inline int write_item(sl_buf_t *b, const sl_value_t *v, unsigned flags)
{
    switch (v->type) {
    case SL_T_STRING:
        return write_quoted(b, v->u.s, v->len, 0, 0);
    case SL_T_INT:
        return write_int(b, v->u.i);
    default:
        return write_value(b, v, flags);
    }
}

typedef struct {
    const char *key;
    uint32_t klen;
    uint32_t idx;
} keyref_t;

static int keyref_cmp(const void *x, const void *y)
{
    const keyref_t *a = x, *b = y;
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c) {
        return c;
    }
    if (a->klen != b->klen) {
        return a->klen < b->klen ? -1 : 1;
    }
    /* Equal keys keep their order: the sort is stable. */
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int write_object(sl_buf_t *b, const sl_value_t *v, unsigned flags)
{
    const sl_member_t *m = v->u.members;
    uint32_t n = v->len;
    int rc;
    if ((rc = put(b, "{", 1))) {
        return rc;
    }
    if (!(flags & SL_JSON_SORTED) || n < 2) {
        for (uint32_t i = 0; i < n; i++) {
            if ((rc = write_quoted(b, m[i].key, m[i].klen, i ? ',' : 0, ':')) ||
                (rc = write_item(b, &m[i].val, flags))) {
                return rc;
            }
        }
        return put(b, "}", 1);
    }
    /* Sort an index, never the record itself. */
    keyref_t local[32];
    keyref_t *r = n <= SL_ARRAY_LEN(local) ? local : malloc(n * sizeof *r);
    if (!r) {
        return SL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        r[i].key = m[i].key;
        r[i].klen = m[i].klen;
        r[i].idx = i;
    }
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            keyref_t x = r[i];
            uint32_t j = i;
            while (j > 0 && keyref_cmp(&r[j - 1], &x) > 0) {
                r[j] = r[j - 1];
                j--;
            }
            r[j] = x;
        }
    } else {
        qsort(r, n, sizeof *r, keyref_cmp);
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        const sl_member_t *mm = &m[r[i].idx];
        if ((rc = write_quoted(b, mm->key, mm->klen, i ? ',' : 0, ':')) ||
            (rc = write_item(b, &mm->val, flags))) {
            break;
        }
    }
    if (r != local) {
        free(r);
    }
    return rc ? rc : put(b, "}", 1);
}

static int write_value(sl_buf_t *b, const sl_value_t *v, unsigned flags)
{
    char tmp[40];
    int rc;
    switch (v->type) {
    case SL_T_NULL:
        return put(b, "null", 4);
    case SL_T_BOOL:
        return v->u.i ? put(b, "true", 4) : put(b, "false", 5);
    case SL_T_INT:
        return write_int(b, v->u.i);
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            return put(b, v->u.s, v->len);
        }
        if (!isfinite(v->u.d)) {
            return put(b, "null", 4);
        }
        return sl_fmt_double(b, v->u.d);
    case SL_T_BIGNUM:
        return put(b, v->u.s, v->len);
    case SL_T_STRING:
        return write_string(b, v->u.s, v->len);
    case SL_T_TIMESTAMP:
        return write_string(b, tmp, sl_timestamp_format(v->u.i, tmp));
    case SL_T_DATE:
        return write_string(b, tmp, sl_date_format(v->u.i, tmp));
    case SL_T_ARRAY:
        if ((rc = put(b, "[", 1))) {
            return rc;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            if ((i && (rc = put(b, ",", 1))) || (rc = write_item(b, &v->u.items[i], flags))) {
                return rc;
            }
        }
        return put(b, "]", 1);
    case SL_T_OBJECT:
        return write_object(b, v, flags);
    default:
        return SL_EINVAL;
    }
}

/* Ends a top-level write: NUL-terminates, or drops a partial output. */
static int finish_write(sl_buf_t *b, size_t len0, int rc)
{
    if (!rc && b->max && b->len > b->max) {
        rc = SL_ELIMIT;
    }
    if (rc) {
        b->len = len0;
    }
    if (b->data) {
        b->data[b->len] = '\0';
    }
    return rc;
}

int sl_json_write(sl_buf_t *b, const sl_value_t *v, unsigned flags)
{
    size_t len0 = b->len;
    return finish_write(b, len0, write_value(b, v, flags));
}

int sl_json_write_string(sl_buf_t *b, const char *s, size_t n)
{
    size_t len0 = b->len;
    return finish_write(b, len0, write_string(b, s ? s : "", s ? n : 0));
}

/* ------------------------------------------------------------------------
 * Array splitter
 *
 * Elements are found by tracking strings (with escapes) and bracket depth,
 * without validating them: the caller parses each element's span, and the
 * parser reports problems inside it. The splitter checks the array's own
 * structure: '[' first, ',' between elements, no trailing comma, ']' last,
 * then only whitespace. After ']' it keeps answering SL_AGAIN until at_eof,
 * so trailing garbage anywhere in the input is reported; SL_EOF therefore
 * means the whole input was a well-formed array. When an element is split
 * across buffers, the bytes of it already scanned are remembered (in
 * elem_start, with depth/in_string/escape) so each byte is scanned once.
 * ---------------------------------------------------------------------- */

enum {
    SP_START,      /* before '[' */
    SP_VALUE,      /* after '[' or ',': a value (or ']' right after '[') */
    SP_ELEM,       /* inside an element; elem_start = bytes already scanned */
    SP_AFTER,      /* after an element: ',' or ']' */
    SP_DONE,       /* after ']': only whitespace */
    SP_FAILED,
};

void sl_json_array_splitter_init(sl_json_array_splitter_t *s)
{
    memset(s, 0, sizeof *s);
    s->state = SP_START;
}

/* Fails at buf[at]; buf[pos] is at absolute offset s->consumed. */
COLD static int split_fail(sl_json_array_splitter_t *s, size_t at, size_t pos,
                           sl_json_error_t *err, const char *fmt, ...) SL_PRINTF(5, 6);

COLD static int split_fail(sl_json_array_splitter_t *s, size_t at, size_t pos,
                           sl_json_error_t *err, const char *fmt, ...)
{
    s->state = SP_FAILED;
    if (err) {
        err->offset = (size_t)(s->consumed + (at - pos));
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
    }
    return SL_EPARSE;
}

/* 1 for the bytes that matter outside strings: quotes and brackets. */
static const uint8_t structural[256] = {
    ['"'] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1,
};

/* Index of the first '"' or '\\' in buf[j..n), or n. */
static inline size_t find_quote_bs(const char *buf, size_t j, size_t n)
{
#if HAVE_SWAR
    while (n - j >= 8) {
        uint64_t m = quote_bs_mask(load64(buf + j));
        if (m) {
            return j + ((unsigned)__builtin_ctzll(m) >> 3);
        }
        j += 8;
    }
#endif
    while (j < n && buf[j] != '"' && buf[j] != '\\') {
        j++;
    }
    return j;
}

static inline bool scalar_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
           c == '-' || c == '.';
}

int sl_json_array_next(sl_json_array_splitter_t *s, const char *buf, size_t n, size_t *pos,
                       bool at_eof, size_t *elem_off, size_t *elem_len, sl_json_error_t *err)
{
    size_t i = *pos;
    char db[24];
    const char *end = buf + n;
    for (;;) {
        switch (s->state) {
        case SP_START:
        case SP_VALUE:
        case SP_AFTER:
        case SP_DONE:
            while (i < n && is_ws((unsigned char)buf[i])) {
                i++;
            }
            s->consumed += i - *pos;
            *pos = i;
            if (i >= n) {
                if (!at_eof) {
                    /* Also after ']': the rest of the input must be seen
                     * to know that only whitespace follows. */
                    return SL_AGAIN;
                }
                if (s->state == SP_DONE) {
                    return SL_EOF;
                }
                if (s->state == SP_START) {
                    return split_fail(s, i, *pos, err,
                                      s->consumed ? "input is only whitespace, expected '['"
                                                  : "empty input, expected a JSON array");
                }
                return split_fail(s, i, *pos, err,
                                  "unexpected end of input: unterminated array");
            }
            break;
        case SP_ELEM:
            break;
        default:
            if (err) {
                err->offset = (size_t)s->consumed;
                snprintf(err->reason, sizeof err->reason,
                         "array splitter called again after an error");
            }
            return SL_EPARSE;
        }
        unsigned char c = (unsigned char)buf[i];
        switch (s->state) {
        case SP_START:
            if (c != '[') {
                return split_fail(s, i, *pos, err,
                                  "unexpected %s at start of input, expected '[' (a JSON array)",
                                  describe(buf + i, end, db));
            }
            i++;
            s->state = SP_VALUE;
            s->seen_elem = false;
            continue;
        case SP_AFTER:
            if (c == ',') {
                i++;
                s->state = SP_VALUE;
            } else if (c == ']') {
                i++;
                s->state = SP_DONE;
            } else {
                return split_fail(s, i, *pos, err,
                                  "unexpected %s after array element, expected ',' or ']'",
                                  describe(buf + i, end, db));
            }
            continue;
        case SP_DONE:
            return split_fail(s, i, *pos, err,
                              "trailing characters after the closing ']' of the array (%s)",
                              describe(buf + i, end, db));
        case SP_VALUE:
            if (c == ']') {
                if (s->seen_elem) {
                    return split_fail(s, i, *pos, err, "trailing comma before ']' in array");
                }
                i++;
                s->state = SP_DONE;
                continue;
            }
            if (!(c == '"' || c == '{' || c == '[' || c == '-' || is_digit(c) ||
                  (c >= 'a' && c <= 'z'))) {
                return split_fail(s, i, *pos, err, "unexpected %s in array, expected a value",
                                  describe(buf + i, end, db));
            }
            s->state = SP_ELEM;
            s->elem_start = 0;
            s->depth = 0;
            s->in_string = false;
            s->escape = false;
            break;
        default:
            break;
        }
        /* SP_ELEM: the element starts at *pos (the caller kept its bytes);
         * resume after the bytes scanned by earlier calls. */
        size_t start = *pos;
        size_t j = start + s->elem_start;
        unsigned char first = (unsigned char)buf[start];
        bool done = false;
        if (first != '"' && first != '{' && first != '[') {
            /* A scalar ends at the first byte that cannot continue it. */
            while (j < n && scalar_byte((unsigned char)buf[j])) {
                j++;
            }
            done = j < n;
        } else {
            unsigned depth = s->depth;
            bool in_string = s->in_string, escape = s->escape;
            if (j == start) {
                /* First byte: opens the string or the container. */
                in_string = first == '"';
                depth = first == '"' ? 0 : 1;
                j++;
            }
            while (j < n) {
                if (in_string) {
                    if (escape) {
                        escape = false;
                        j++;
                        continue;
                    }
                    j = find_quote_bs(buf, j, n);
                    if (j >= n) {
                        break;
                    }
                    if (buf[j] == '\\') {
                        escape = true;
                    } else {
                        in_string = false;
                        if (depth == 0) {
                            j++;
                            done = true;
                            break;
                        }
                    }
                    j++;
                    continue;
                }
                while (j < n && !structural[(unsigned char)buf[j]]) {
                    j++;
                }
                if (j >= n) {
                    break;
                }
                unsigned char x = (unsigned char)buf[j];
                if (x == '"') {
                    in_string = true;
                } else if (x == '{' || x == '[') {
                    depth++;
                } else if (x == '}' || x == ']') {
                    if (--depth == 0) {
                        j++;
                        done = true;
                        break;
                    }
                }
                j++;
            }
            s->depth = depth;
            s->in_string = in_string;
            s->escape = escape;
        }
        if (!done) {
            if (at_eof) {
                return split_fail(s, n, start, err,
                                  "unexpected end of input: unterminated array (last element "
                                  "starts at offset %llu)",
                                  (unsigned long long)s->consumed);
            }
            s->elem_start = j - start;
            return SL_AGAIN;
        }
        *elem_off = start;
        *elem_len = j - start;
        s->consumed += j - start;
        *pos = j;
        s->state = SP_AFTER;
        s->seen_elem = true;
        s->elem_start = 0;
        return 0;
    }
}
