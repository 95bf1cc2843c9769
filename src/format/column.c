/* Leaf columns of the Parquet writer: value conversion, buffering of one
 * row group, statistics and the encoding of a column chunk into pages.
 *
 * A leaf buffers its levels (one byte each) and its values PLAIN-encoded
 * (byte arrays with their 4-byte length prefix), so appending is a copy
 * and a rejected record is undone by resetting a few counts. When the
 * chunk is written, the dictionary is built over the values from the
 * first on, in batches with prefetching; it stops at a record boundary
 * when it outgrows its cap (the rest of the chunk is PLAIN) or when the
 * values hardly repeat, and it is used only when it beats PLAIN. Pages
 * are cut at record boundaries. Statistics come from the dictionary
 * entries plus the PLAIN part; long string bounds are truncated to 64
 * bytes and flagged inexact (the max rounded up so it stays an upper
 * bound). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"
#include "pq_internal.h"

#define STATS_MAX 64

/* ---------------------------------------------------------------- */
/* numbers                                                            */

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a mantissa below 2^53 times or divided by an exact
 * power of ten up to 1e22 is one correctly rounded IEEE operation, so the
 * result equals strtod's. Anything else goes to strtod. */
double sl_pq_parse_double(const char *s, size_t n)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    uint64_t m = 0;
    size_t start = i;
    unsigned d;
    while (i < n && (d = (unsigned)(s[i] - '0')) < 10) {
        m = m * 10 + d;
        i++;
    }
    size_t nd = i - start;
    if (nd == 0) {
        return sl_parse_double(s, n);
    }
    int frac = 0;
    if (i < n && s[i] == '.') {
        size_t fs = ++i;
        while (i < n && (d = (unsigned)(s[i] - '0')) < 10) {
            m = m * 10 + d;
            i++;
        }
        frac = (int)(i - fs);
        nd += (size_t)frac;
        if (frac == 0) {
            return sl_parse_double(s, n);
        }
    }
    /* up to 19 digits cannot overflow m */
    if (nd > 19) {
        return sl_parse_double(s, n);
    }
    int e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t es = i;
        while (i < n && (d = (unsigned)(s[i] - '0')) < 10) {
            if (e > 10000) {
                return sl_parse_double(s, n);
            }
            e = e * 10 + (int)d;
            i++;
        }
        if (i == es) {
            return sl_parse_double(s, n);
        }
        if (eneg) {
            e = -e;
        }
    }
    if (i != n || m > ((uint64_t)1 << 53)) {
        return sl_parse_double(s, n);
    }
    e -= frac;
    double x = (double)m;
    if (m == 0) {
        /* 0 with any exponent is 0 */
    } else if (e >= 0 && e <= 22) {
        x *= POW10[e];
    } else if (e < 0 && e >= -22) {
        x /= POW10[-e];
    } else {
        return sl_parse_double(s, n);
    }
    return neg ? -x : x;
}

/* 10^k for 0 <= k <= 38: all of them fit a signed 128-bit integer
 * (10^38 < 2^127), so no decimal of precision <= 38 overflows. */
static __int128 pow10_i128(int k)
{
    __int128 p = 1;
    while (k-- > 0) {
        p *= 10;
    }
    return p;
}

int sl_pq_decimal_flba_len(int precision)
{
    /* the smallest n with 10^precision - 1 <= 2^(8n - 1) - 1 */
    __int128 need = pow10_i128(precision) - 1;
    for (int n = 1; n < 16; n++) {
        __int128 lim = ((__int128)1 << (8 * n - 1)) - 1;
        if (need <= lim) {
            return n;
        }
    }
    return 16;
}

#define EXP_SATURATED 100000000000000000LL /* 1e17 */

int sl_pq_decimal_parse(const char *s, size_t n, int precision, int scale, __int128 *out,
                        const char **why)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    size_t ia = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
    }
    size_t ib = i, fa = i, fb = i;
    if (i < n && s[i] == '.') {
        fa = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        fb = i;
    }
    if (ib == ia && fb == fa) {
        *why = "not a decimal number";
        return SL_ETYPE;
    }
    int64_t e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t es = i;
        /* Saturates far beyond any text's length: an exponent that big
         * leaves no digit within precision 38 either way, so the value is
         * rejected below just as its exact exponent would be. */
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (e < EXP_SATURATED) {
                e = e * 10 + (s[i] - '0');
            }
            i++;
        }
        if (i == es) {
            *why = "not a decimal number";
            return SL_ETYPE;
        }
        if (eneg) {
            e = -e;
        }
    }
    if (i != n) {
        *why = "not a decimal number";
        return SL_ETYPE;
    }
    /* The digit sequence int||frac, without leading and trailing zeros:
     * value = D * 10^(e - nfrac + trailing zeros). */
    size_t nint = ib - ia, nfrac = fb - fa, total = nint + nfrac;
#define DIGIT(k) ((k) < nint ? s[ia + (k)] : s[fa + (k) - nint])
    size_t lo = 0, hi = total;
    while (lo < hi && DIGIT(lo) == '0') {
        lo++;
    }
    while (hi > lo && DIGIT(hi - 1) == '0') {
        hi--;
    }
    if (lo == hi) {
        *out = 0;
        return 0;
    }
    int64_t exp10 = e - (int64_t)nfrac + (int64_t)(total - hi) + scale;
    if (exp10 < 0) {
        *why = "more fraction digits than the scale";
        return SL_ETYPE;
    }
    if ((int64_t)(hi - lo) + exp10 > precision) {
        *why = "too many digits for the precision";
        return SL_ETYPE;
    }
    __int128 v = 0;
    for (size_t k = lo; k < hi; k++) {
        v = v * 10 + (DIGIT(k) - '0');
    }
#undef DIGIT
    v *= pow10_i128((int)exp10);
    *out = neg ? -v : v;
    return 0;
}

/* ---------------------------------------------------------------- */
/* UTF-8                                                              */

/* Decodes the multi-byte character at p (p[0] >= 0x80, left bytes
 * available); returns its length, or 0 if invalid: overlong forms,
 * surrogates and code points beyond U+10FFFF are. */
static inline size_t utf8_char(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    if (c < 0xE0) {
        return c >= 0xC2 && left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (left < 3) {
        return 0;
    }
    uint8_t c1 = p[1];
    if (c < 0xF0) {
        bool ok = (c1 & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (c != 0xE0 || c1 >= 0xA0) &&
                  (c != 0xED || c1 <= 0x9F);
        return ok ? 3 : 0;
    }
    bool ok = c <= 0xF4 && left >= 4 && (c1 & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
              (p[3] & 0xC0) == 0x80 && (c != 0xF0 || c1 >= 0x90) && (c != 0xF4 || c1 <= 0x8F);
    return ok ? 4 : 0;
}

/* Eight bytes at a time: ASCII words are skipped whole, and in a word
 * with high bits the ASCII bytes before the first one are skipped at
 * once, so the loop runs per word or character, not per byte. */
static bool utf8_valid_slow(const uint8_t *p, size_t n)
{
    const uint8_t *e = p + n;
    while (e - p >= 8) {
        uint64_t hi = sl_pq_load64(p) & 0x8080808080808080ULL;
        if (!hi) {
            p += 8;
            continue;
        }
        p += (size_t)__builtin_ctzll(hi) / 8;
        size_t k = utf8_char(p, (size_t)(e - p));
        if (!k) {
            return false;
        }
        p += k;
    }
    while (p < e) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_char(p, (size_t)(e - p));
        if (!k) {
            return false;
        }
        p += k;
    }
    return true;
}

/* Short strings go through a branch-free DFA instead: whether a string
 * is ASCII is a coin toss in real data, and the mispredicted branches
 * cost more than the bytes. Shift-based DFA: every state is a multiple of
 * 6, and UTF8_NEXT[class] packs, at bit s, the next state from state s,
 * so one byte costs a shift and a mask. */
enum { U_ACC = 0, U_REJ = 6, U_C1 = 12, U_C2 = 18, U_C3 = 24, U_E0 = 30, U_ED = 36, U_F0 = 42, U_F4 = 48 };
#define U_T(acc, c1, c2, c3, e0, ed, f0, f4)                                                      \
    ((uint64_t)(acc) << U_ACC | (uint64_t)U_REJ << U_REJ | (uint64_t)(c1) << U_C1 |               \
     (uint64_t)(c2) << U_C2 | (uint64_t)(c3) << U_C3 | (uint64_t)(e0) << U_E0 |                   \
     (uint64_t)(ed) << U_ED | (uint64_t)(f0) << U_F0 | (uint64_t)(f4) << U_F4)
/* Byte classes: 0 ASCII, 1 80-8F, 2 90-9F, 3 A0-BF, 4 invalid (C0 C1 F5-FF),
 * 5 C2-DF, 6 E0, 7 E1-EC EE EF, 8 ED, 9 F0, 10 F1-F3, 11 F4. */
static const uint64_t UTF8_NEXT[12] = {
    /*        from: ACC    C1     C2     C3     E0     ED     F0     F4 */
    [0] = U_T(U_ACC, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [1] = U_T(U_REJ, U_ACC, U_C1, U_C2, U_REJ, U_C1, U_REJ, U_C2),
    [2] = U_T(U_REJ, U_ACC, U_C1, U_C2, U_REJ, U_C1, U_C2, U_REJ),
    [3] = U_T(U_REJ, U_ACC, U_C1, U_C2, U_C1, U_REJ, U_C2, U_REJ),
    [4] = U_T(U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [5] = U_T(U_C1, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [6] = U_T(U_E0, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [7] = U_T(U_C2, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [8] = U_T(U_ED, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [9] = U_T(U_F0, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [10] = U_T(U_C3, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
    [11] = U_T(U_F4, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ, U_REJ),
};
static const uint8_t UTF8_CLASS[256] = {
    [0x80 ... 0x8F] = 1, [0x90 ... 0x9F] = 2, [0xA0 ... 0xBF] = 3, [0xC0 ... 0xC1] = 4,
    [0xC2 ... 0xDF] = 5, [0xE0] = 6, [0xE1 ... 0xEC] = 7, [0xED] = 8, [0xEE ... 0xEF] = 7,
    [0xF0] = 9, [0xF1 ... 0xF3] = 10, [0xF4] = 11, [0xF5 ... 0xFF] = 4,
};

static inline bool utf8_valid(const uint8_t *p, size_t n)
{
    if (n > 64) {
        uint64_t acc = 0;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            acc |= sl_pq_load64(p + i);
        }
        acc |= sl_pq_load64(p + n - 8);
        return !(acc & 0x8080808080808080ULL) || utf8_valid_slow(p, n);
    }
    uint64_t st = U_ACC;
    for (size_t i = 0; i < n; i++) {
        st = UTF8_NEXT[UTF8_CLASS[p[i]]] >> st & 63;
    }
    return st == U_ACC;
}

bool sl_pq_utf8_valid(const void *p, size_t n)
{
    return utf8_valid(p, n);
}

/* ---------------------------------------------------------------- */
/* buffers                                                            */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q) {
        return SL_ENOMEM;
    }
    *p = q;
    *cap = c;
    return 0;
}

static int grow_levels(sl_pq_leaf_t *l)
{
    size_t cap = l->lev_cap;
    size_t c = cap ? cap * 2 : 1024;
    if (l->max_def) {
        uint8_t *q = realloc(l->def, c);
        if (!q) {
            return SL_ENOMEM;
        }
        l->def = q;
    }
    if (l->max_rep) {
        uint8_t *q = realloc(l->rep, c);
        if (!q) {
            return SL_ENOMEM;
        }
        l->rep = q;
    }
    l->lev_cap = c;
    return 0;
}

int sl_pq_leaf_init(sl_pq_leaf_t *l, const sl_pq_ctx_t *c)
{
    sl_pq_dict_init(&l->dict, l->phys == PQ_BYTE_ARRAY ? 0 : l->width);
    sl_pq_leaf_reset(l, c);
    return 0;
}

void sl_pq_leaf_free(sl_pq_leaf_t *l)
{
    free(l->def);
    free(l->rep);
    free(l->idx);
    free(l->vals);
    sl_pq_dict_free(&l->dict);
    l->def = l->rep = l->vals = NULL;
    l->idx = NULL;
}

void sl_pq_leaf_reset(sl_pq_leaf_t *l, const sl_pq_ctx_t *c)
{
    (void)c;
    l->nlev = 0;
    l->nnull = 0;
    l->vlen = 0;
    l->nvals = 0;
    l->ndict = 0;
    l->dpos = 0;
    l->epoch = UINT64_MAX;
}

#define touch sl_pq_leaf_touch

void sl_pq_leaf_rollback(sl_pq_leaf_t *l, sl_pq_ctx_t *c)
{
    if (l->epoch != c->epoch) {
        return; /* not reached by the failed record */
    }
    /* every level is a value or a null; values are at max_def */
    size_t levels = l->nlev - l->s_nlev, values = levels;
    if (l->max_def) {
        values = 0;
        for (size_t i = l->s_nlev; i < l->nlev; i++) {
            values += l->def[i] == l->max_def;
        }
    }
    l->nvals -= values;
    l->nnull -= levels - values;
    l->nlev = l->s_nlev;
    l->vlen = l->s_vlen;
}

int sl_pq_leaf_null(sl_pq_leaf_t *l, sl_pq_ctx_t *c, unsigned def, unsigned rep)
{
    touch(l, c);
    if (SL_UNLIKELY(l->nlev == l->lev_cap)) {
        int rc = grow_levels(l);
        if (rc) {
            return rc;
        }
    }
    /* a leaf that can be null has an optional or repeated ancestor, so
     * definition levels */
    if (l->max_def) {
        l->def[l->nlev] = (uint8_t)def;
    }
    if (l->max_rep) {
        l->rep[l->nlev] = (uint8_t)rep;
    }
    l->nlev++;
    l->nnull++;
    return 0;
}

/* n is the column's width, given as sizeof at the call sites so that the
 * copy compiles to a plain store. */
static inline int push_fixed(sl_pq_leaf_t *l, sl_pq_ctx_t *c, const void *p, size_t n)
{
    if (SL_UNLIKELY(l->vlen + n > l->vcap)) {
        int rc = grow((void **)&l->vals, &l->vcap, l->vlen + n, 1);
        if (rc) {
            return rc;
        }
    }
    memcpy(l->vals + l->vlen, p, n);
    l->vlen += n;
    l->nvals++;
    c->buffered += n;
    return 0;
}

static inline int push_bytes(sl_pq_leaf_t *l, sl_pq_ctx_t *c, const void *p, size_t n)
{
    if (SL_UNLIKELY(l->vlen + n + 4 > l->vcap)) {
        int rc = grow((void **)&l->vals, &l->vcap, l->vlen + n + 4, 1);
        if (rc) {
            return rc;
        }
    }
    uint32_t len = (uint32_t)n;
    memcpy(l->vals + l->vlen, &len, 4);
    if (n) {
        memcpy(l->vals + l->vlen + 4, p, n);
    }
    l->vlen += n + 4;
    l->nvals++;
    c->buffered += n + 4;
    return 0;
}

static inline int push_bool(sl_pq_leaf_t *l, sl_pq_ctx_t *c, bool b)
{
    if (SL_UNLIKELY(l->vlen + 1 > l->vcap)) {
        int rc = grow((void **)&l->vals, &l->vcap, l->vlen + 1, 1);
        if (rc) {
            return rc;
        }
    }
    l->vals[l->vlen++] = b;
    l->nvals++;
    c->buffered += 1;
    return 0;
}

static int value_double(const sl_value_t *v, double *d)
{
    if (v->type == SL_T_INT) {
        *d = (double)v->u.i;
        return 0;
    }
    if (v->type == SL_T_DOUBLE) {
        *d = (v->flags & SL_VF_RAW) ? sl_pq_parse_double(v->u.s, v->len) : v->u.d;
        return 0;
    }
    return SL_ETYPE;
}

int sl_pq_decimal_from_value(const sl_value_t *v, int precision, int scale, sl_buf_t *scratch,
                             __int128 *out, const char **why)
{
    switch (v->type) {
    case SL_T_INT: {
        /* |i| < 10^(p - s) is the range check; it also keeps the product
         * below 10^p, so the multiplication cannot overflow */
        __int128 i = v->u.i, mag = i < 0 ? -i : i;
        if (mag >= pow10_i128(precision - scale)) {
            *why = "too many digits for the precision";
            return SL_ETYPE;
        }
        *out = i * pow10_i128(scale);
        return 0;
    }
    case SL_T_DOUBLE:
        if (!(v->flags & SL_VF_RAW)) {
            if (!isfinite(v->u.d)) {
                *why = "not a finite number";
                return SL_ETYPE;
            }
            /* the shortest text that reads back as the same double: 0.1
             * is 0.1, not 0.1000000000000000055511151231257827 */
            sl_buf_clear(scratch);
            int rc = sl_fmt_double(scratch, v->u.d);
            if (rc) {
                return rc;
            }
            return sl_pq_decimal_parse(scratch->data, scratch->len, precision, scale, out, why);
        }
        return sl_pq_decimal_parse(v->u.s, v->len, precision, scale, out, why);
    case SL_T_BIGNUM:
    case SL_T_STRING:
        return sl_pq_decimal_parse(v->u.s, v->len, precision, scale, out, why);
    default:
        *why = NULL;
        return SL_ETYPE;
    }
}

size_t sl_pq_decimal_encode(__int128 x, int precision, uint8_t out[16])
{
    if (precision <= 9) {
        int32_t y = (int32_t)x;
        memcpy(out, &y, sizeof y);
        return sizeof y;
    }
    if (precision <= 18) {
        int64_t y = (int64_t)x;
        memcpy(out, &y, sizeof y);
        return sizeof y;
    }
    int width = sl_pq_decimal_flba_len(precision);
    unsigned __int128 u = (unsigned __int128)x;
    for (int k = width - 1; k >= 0; k--) {
        out[k] = (uint8_t)u;
        u >>= 8;
    }
    return (size_t)width;
}

int sl_pq_leaf_value(sl_pq_leaf_t *l, sl_pq_ctx_t *c, const sl_value_t *v, unsigned rep,
                     const char **why)
{
    *why = NULL;
    touch(l, c);
    /* room for the level first, so a stored value always gets its level */
    if (SL_UNLIKELY(l->nlev == l->lev_cap)) {
        int rc = grow_levels(l);
        if (rc) {
            return rc;
        }
    }
    int rc;
    switch (l->type) {
    case SL_PQ_BOOL:
        if (v->type != SL_T_BOOL) {
            return SL_ETYPE;
        }
        rc = push_bool(l, c, v->u.i != 0);
        break;
    case SL_PQ_INT32: {
        if (v->type != SL_T_INT) {
            return SL_ETYPE;
        }
        if (v->u.i < INT32_MIN || v->u.i > INT32_MAX) {
            *why = "out of range";
            return SL_ETYPE;
        }
        int32_t x = (int32_t)v->u.i;
        rc = push_fixed(l, c, &x, sizeof x);
        break;
    }
    case SL_PQ_INT64:
        if (v->type != SL_T_INT) {
            return SL_ETYPE;
        }
        rc = push_fixed(l, c, &v->u.i, sizeof v->u.i);
        break;
    case SL_PQ_FLOAT: {
        double d;
        if (value_double(v, &d)) {
            return SL_ETYPE;
        }
        float f = (float)d;
        if (isfinite(d) && !isfinite(f)) {
            *why = "out of range";
            return SL_ETYPE;
        }
        rc = push_fixed(l, c, &f, sizeof f);
        break;
    }
    case SL_PQ_DOUBLE: {
        double d;
        if (value_double(v, &d)) {
            return SL_ETYPE;
        }
        rc = push_fixed(l, c, &d, sizeof d);
        break;
    }
    case SL_PQ_STRING:
    case SL_PQ_BINARY:
        if (v->type != SL_T_STRING) {
            return SL_ETYPE;
        }
        if (l->type == SL_PQ_STRING && !(v->flags & SL_VF_UTF8) &&
            !utf8_valid((const uint8_t *)v->u.s, v->len)) {
            *why = "invalid UTF-8";
            return SL_ETYPE;
        }
        rc = push_bytes(l, c, v->u.s, v->len);
        break;
    case SL_PQ_JSON:
        sl_buf_clear(&c->scratch);
        rc = sl_json_write(&c->scratch, v, 0);
        if (rc) {
            return rc;
        }
        if (!utf8_valid((const uint8_t *)c->scratch.data, c->scratch.len)) {
            *why = "invalid UTF-8";
            return SL_ETYPE;
        }
        rc = push_bytes(l, c, c->scratch.data, c->scratch.len);
        break;
    case SL_PQ_DATE: {
        if (v->type == SL_T_TIMESTAMP) {
            *why = "cast it to a date first";
            return SL_ETYPE;
        }
        if (v->type != SL_T_DATE) {
            return SL_ETYPE;
        }
        if (v->u.i < INT32_MIN || v->u.i > INT32_MAX) {
            *why = "out of range";
            return SL_ETYPE;
        }
        int32_t x = (int32_t)v->u.i;
        rc = push_fixed(l, c, &x, sizeof x);
        break;
    }
    case SL_PQ_TIMESTAMP: {
        int64_t us;
        if (v->type == SL_T_TIMESTAMP) {
            us = v->u.i;
        } else if (v->type == SL_T_DATE) {
            if (v->u.i > INT64_MAX / 86400000000LL || v->u.i < INT64_MIN / 86400000000LL) {
                *why = "out of range";
                return SL_ETYPE;
            }
            us = v->u.i * 86400000000LL;
        } else {
            return SL_ETYPE;
        }
        rc = push_fixed(l, c, &us, sizeof us);
        break;
    }
    case SL_PQ_DECIMAL: {
        __int128 x;
        rc = sl_pq_decimal_from_value(v, l->precision, l->scale, &c->scratch, &x, why);
        if (rc) {
            return rc;
        }
        uint8_t bytes[16];
        size_t nb = sl_pq_decimal_encode(x, l->precision, bytes);
        rc = push_fixed(l, c, bytes, nb);
        break;
    }
    default:
        return SL_ETYPE;
    }
    if (rc) {
        return rc;
    }
    if (l->max_def) {
        l->def[l->nlev] = l->max_def;
    }
    if (l->max_rep) {
        l->rep[l->nlev] = (uint8_t)rep;
    }
    l->nlev++;
    return 0;
}

/* ---------------------------------------------------------------- */
/* statistics                                                         */

typedef struct {
    const uint8_t *p;
    size_t n;
} span_t;

/* Runs BODY with P, N set to the PLAIN bytes (without length prefix) of
 * each distinct dictionary entry and each value of the plain part: every
 * value of the chunk is among them. */
#define FOR_EACH_VALUE(l, P, N, BODY)                                                          \
    do {                                                                                       \
        if ((l)->ndict) {                                                                      \
            for (uint32_t e_ = 0; e_ < (l)->dict.count; e_++) {                                \
                size_t N;                                                                      \
                const uint8_t *P = sl_pq_dict_entry(&(l)->dict, e_, &N);                       \
                BODY;                                                                          \
            }                                                                                  \
        }                                                                                      \
        if ((l)->width > 0) {                                                                  \
            size_t N = (size_t)(l)->width;                                                     \
            for (size_t o_ = (l)->dpos; o_ < (l)->vlen; o_ += N) {                             \
                const uint8_t *P = (l)->vals + o_;                                             \
                BODY;                                                                          \
            }                                                                                  \
        } else {                                                                               \
            for (size_t o_ = (l)->dpos; o_ < (l)->vlen;) {                                     \
                uint32_t len_;                                                                 \
                memcpy(&len_, (l)->vals + o_, 4);                                              \
                size_t N = len_;                                                               \
                const uint8_t *P = (l)->vals + o_ + 4;                                         \
                o_ += 4 + N;                                                                   \
                BODY;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) {
        return c;
    }
    return an < bn ? -1 : an > bn;
}

/* Signed big-endian two's complement of equal lengths. */
static int cmp_be_signed(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (a[0] != b[0]) {
        return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
    }
    for (size_t i = 1; i < n; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

static bool is_utf8_type(const sl_pq_leaf_t *l)
{
    return l->type == SL_PQ_STRING || l->type == SL_PQ_JSON;
}

/* Largest cut <= STATS_MAX that does not split a UTF-8 sequence. */
static size_t utf8_cut(const uint8_t *p, size_t n)
{
    size_t k = n < STATS_MAX ? n : STATS_MAX;
    if (k < n) {
        while (k > 0 && (p[k] & 0xC0) == 0x80) {
            k--;
        }
    }
    return k;
}

static void stats_bytes(const sl_pq_leaf_t *l, sl_pq_stats_t *st, span_t mn, span_t mx)
{
    bool utf8 = is_utf8_type(l);
    size_t k = utf8 ? utf8_cut(mn.p, mn.n) : SL_MIN(mn.n, (size_t)STATS_MAX);
    memcpy(st->min, mn.p, k);
    st->min_len = k;
    st->min_exact = k == mn.n;
    if (mx.n <= STATS_MAX) {
        memcpy(st->max, mx.p, mx.n);
        st->max_len = mx.n;
        st->max_exact = true;
        st->has_minmax = true;
        return;
    }
    /* Round the prefix up: bump its last byte that can grow (for UTF-8,
     * an ASCII byte, dropping whole characters after it). */
    k = utf8 ? utf8_cut(mx.p, mx.n) : STATS_MAX;
    memcpy(st->max, mx.p, k);
    while (k > 0) {
        uint8_t b = st->max[k - 1];
        if (utf8 ? b < 0x7F : b < 0xFF) {
            st->max[k - 1] = (uint8_t)(b + 1);
            break;
        }
        if (utf8 && b >= 0x80) {
            k--;
            while (k > 0 && (st->max[k] & 0xC0) == 0x80) {
                k--;
            }
        } else {
            k--;
        }
    }
    if (k == 0) {
        return; /* no upper bound shorter than the value: no min/max */
    }
    st->max_len = k;
    st->max_exact = false;
    st->has_minmax = true;
}

static void stats_compute(const sl_pq_leaf_t *l, sl_pq_stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->null_count = l->nnull;
    st->nan_count = -1;
    if (l->phys == PQ_FLOAT || l->phys == PQ_DOUBLE) {
        st->nan_count = 0;
    }
    if (l->nvals == 0) {
        return;
    }
    st->min_exact = st->max_exact = true;
    switch (l->phys) {
    case PQ_BOOLEAN: {
        bool any0 = false, any1 = false;
        for (size_t i = 0; i < l->vlen; i++) {
            if (l->vals[i]) {
                any1 = true;
            } else {
                any0 = true;
            }
        }
        st->min[0] = any0 ? 0 : 1;
        st->max[0] = any1 ? 1 : 0;
        st->min_len = st->max_len = 1;
        st->has_minmax = st->legacy = true;
        return;
    }
    case PQ_INT32: {
        int32_t mn = INT32_MAX, mx = INT32_MIN;
        FOR_EACH_VALUE(l, p, n, {
            (void)n;
            int32_t x;
            memcpy(&x, p, 4);
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        });
        memcpy(st->min, &mn, 4);
        memcpy(st->max, &mx, 4);
        st->min_len = st->max_len = 4;
        st->has_minmax = st->legacy = true;
        return;
    }
    case PQ_INT64: {
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        FOR_EACH_VALUE(l, p, n, {
            (void)n;
            int64_t x;
            memcpy(&x, p, 8);
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        });
        memcpy(st->min, &mn, 8);
        memcpy(st->max, &mx, 8);
        st->min_len = st->max_len = 8;
        st->has_minmax = st->legacy = true;
        return;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE: {
        /* NaN fails every comparison, so it never becomes min or max; if
         * only NaNs were seen, min > max afterwards */
        double mn = INFINITY, mx = -INFINITY;
        bool dbl = l->phys == PQ_DOUBLE;
        int64_t nans = 0;
        /* NaNs are counted over values, not entries: the dictionary part
         * (vals up to dpos) here, the plain part with min and max */
        for (size_t o = 0; o < l->dpos; o += dbl ? 8 : 4) {
            double x;
            if (dbl) {
                memcpy(&x, l->vals + o, 8);
            } else {
                float f;
                memcpy(&f, l->vals + o, 4);
                x = f;
            }
            nans += x != x;
        }
        if (l->ndict) {
            for (uint32_t e = 0; e < l->dict.count; e++) {
                size_t n;
                const uint8_t *p = sl_pq_dict_entry(&l->dict, e, &n);
                double x;
                if (dbl) {
                    memcpy(&x, p, 8);
                } else {
                    float f;
                    memcpy(&f, p, 4);
                    x = f;
                }
                mn = x < mn ? x : mn;
                mx = x > mx ? x : mx;
            }
        }
        for (size_t o = l->dpos; o < l->vlen; o += dbl ? 8 : 4) {
            double x;
            if (dbl) {
                memcpy(&x, l->vals + o, 8);
            } else {
                float f;
                memcpy(&f, l->vals + o, 4);
                x = f;
            }
            /* NaN fails every comparison, so it never becomes min or
             * max; if only NaNs were seen, min > max afterwards */
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            nans += x != x;
        }
        st->nan_count = nans;
        if (!(mn <= mx)) {
            return;
        }
        /* zeros: the min as -0.0, the max as +0.0 */
        if (mn == 0) {
            mn = -0.0;
        }
        if (mx == 0) {
            mx = 0.0;
        }
        if (dbl) {
            memcpy(st->min, &mn, 8);
            memcpy(st->max, &mx, 8);
            st->min_len = st->max_len = 8;
        } else {
            float a = (float)mn, b = (float)mx;
            memcpy(st->min, &a, 4);
            memcpy(st->max, &b, 4);
            st->min_len = st->max_len = 4;
        }
        st->has_minmax = st->legacy = true;
        return;
    }
    case PQ_FIXED_LEN_BYTE_ARRAY: {
        const uint8_t *mn = NULL, *mx = NULL;
        size_t w = (size_t)l->width;
        FOR_EACH_VALUE(l, p, n, {
            (void)n;
            if (!mn || cmp_be_signed(p, mn, w) < 0) {
                mn = p;
            }
            if (!mx || cmp_be_signed(p, mx, w) > 0) {
                mx = p;
            }
        });
        memcpy(st->min, mn, w);
        memcpy(st->max, mx, w);
        st->min_len = st->max_len = w;
        st->has_minmax = true;
        return;
    }
    case PQ_BYTE_ARRAY: {
        span_t mn = {NULL, 0}, mx = {NULL, 0};
        /* first bytes decide most comparisons without memcmp */
        int mn0 = 256, mx0 = -1;
        FOR_EACH_VALUE(l, p, n, {
            int b0 = n ? p[0] : -1;
            if (!mn.p || (b0 <= mn0 && cmp_bytes(p, n, mn.p, mn.n) < 0)) {
                mn.p = p;
                mn.n = n;
                mn0 = b0;
            }
            if (!mx.p || (b0 >= mx0 && cmp_bytes(p, n, mx.p, mx.n) > 0)) {
                mx.p = p;
                mx.n = n;
                mx0 = b0;
            }
        });
        stats_bytes(l, st, mn, mx);
        return;
    }
    }
}

/* ---------------------------------------------------------------- */
/* chunk encoding                                                     */

enum { MODE_DICT, MODE_PLAIN };

typedef struct {
    size_t li, vi; /* level and value index */
    size_t pos;    /* byte offset in vals of value vi (PLAIN pages) */
} cursor_t;

static int out_page(sl_pq_leaf_t *l, sl_pq_ctx_t *c, sl_pq_page_header_t *h,
                    const sl_buf_t *prefix, const sl_buf_t *body, sl_pq_chunk_meta_t *m)
{
    /* body is compressed unless the codec is none */
    const sl_buf_t *payload = body;
    if (c->chunk_codec != PQ_CODEC_UNCOMPRESSED) {
        sl_buf_clear(&c->comp_buf);
        int rc = sl_pq_compress(c->comp, body->data, body->len, &c->comp_buf);
        if (rc) {
            return rc;
        }
        payload = &c->comp_buf;
    }
    size_t pre = prefix ? prefix->len : 0;
    if (pre + body->len > INT32_MAX || pre + payload->len > INT32_MAX) {
        return SL_ELIMIT;
    }
    h->uncompressed_size = (int32_t)(pre + body->len);
    h->compressed_size = (int32_t)(pre + payload->len);
    sl_buf_clear(&c->hdr);
    int rc = sl_pq_encode_page_header(&c->hdr, h);
    if (rc) {
        return rc;
    }
    rc = sl_pq_out_write(c->out, c->hdr.data, c->hdr.len);
    if (rc == 0 && pre) {
        rc = sl_pq_out_write(c->out, prefix->data, pre);
    }
    if (rc == 0) {
        rc = sl_pq_out_write(c->out, payload->data, payload->len);
    }
    m->total_uncompressed += (int64_t)(c->hdr.len + (size_t)h->uncompressed_size);
    m->total_compressed += (int64_t)(c->hdr.len + (size_t)h->compressed_size);
    (void)l;
    return rc;
}

static int write_dict_page(sl_pq_leaf_t *l, sl_pq_ctx_t *c, sl_pq_chunk_meta_t *m)
{
    if (l->dict.count > INT32_MAX) {
        return SL_ELIMIT;
    }
    sl_buf_t body = {(char *)l->dict.data, l->dict.dlen, l->dict.dcap, 0};
    sl_pq_page_header_t h = {.type = PQ_PAGE_DICTIONARY,
                             .num_values = (int32_t)l->dict.count,
                             .encoding = PQ_ENC_PLAIN};
    m->dict_page_offset = (int64_t)c->out->pos;
    m->dict_pages = 1;
    return out_page(l, c, &h, NULL, &body, m);
}

/* Bits of value vi in a page of the given mode; advances *pos. */
static inline size_t value_bits(const sl_pq_leaf_t *l, int mode, int bw, size_t *pos)
{
    if (mode == MODE_DICT) {
        return (size_t)bw;
    }
    if (l->phys == PQ_BOOLEAN) {
        return 1;
    }
    if (l->width > 0) {
        return (size_t)l->width * 8;
    }
    uint32_t len;
    memcpy(&len, l->vals + *pos, 4);
    *pos += 4 + (size_t)len;
    return ((size_t)len + 4) * 8;
}

/* Appends the PLAIN values [va, vb) to b; pos0/pos1 are their byte range
 * in vals (byte arrays). */
static int plain_values(const sl_pq_leaf_t *l, size_t va, size_t vb, size_t pos0, size_t pos1,
                        sl_buf_t *b)
{
    if (va == vb) {
        return 0; /* a page of nulls: vals may never have been allocated */
    }
    if (l->phys == PQ_BOOLEAN) {
        return sl_pq_bitpack_bools(b, l->vals + va, vb - va);
    }
    if (l->width > 0) {
        pos0 = va * (size_t)l->width;
        pos1 = vb * (size_t)l->width;
    }
    return sl_buf_append(b, l->vals + pos0, pos1 - pos0);
}

static int write_data_page(sl_pq_leaf_t *l, sl_pq_ctx_t *c, int mode, int bw, cursor_t a,
                           cursor_t z, sl_pq_chunk_meta_t *m)
{
    size_t nlev = z.li - a.li, nval = z.vi - a.vi;
    if (nlev > INT32_MAX) {
        return SL_ELIMIT;
    }
    int def_bw = sl_pq_bit_width(l->max_def), rep_bw = sl_pq_bit_width(l->max_rep);
    sl_buf_t *page = &c->page, *lev = &c->lev;
    sl_buf_clear(page);
    sl_buf_clear(lev);
    int rc = 0;
    /* levels: v1 puts them in the page with a 4-byte length each, v2
     * before the (separately compressed) values without lengths */
    int32_t rep_bytes = 0, def_bytes = 0;
    sl_buf_t *lb = c->page_v2 ? lev : page;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const uint8_t *v = pass == 0 ? l->rep : l->def;
        int bw_l = pass == 0 ? rep_bw : def_bw;
        if (!bw_l) {
            continue;
        }
        size_t at = lb->len;
        if (!c->page_v2) {
            rc = sl_buf_append(lb, "\0\0\0\0", 4);
        }
        if (rc == 0) {
            rc = sl_pq_rle_u8(lb, v + a.li, nlev, bw_l);
        }
        if (rc == 0) {
            size_t len = lb->len - at - (c->page_v2 ? 0 : 4);
            if (len > INT32_MAX) {
                return SL_ELIMIT;
            }
            if (!c->page_v2) {
                uint32_t len32 = (uint32_t)len;
                memcpy(lb->data + at, &len32, 4);
            }
            if (pass == 0) {
                rep_bytes = (int32_t)len;
            } else {
                def_bytes = (int32_t)len;
            }
        }
    }
    if (rc) {
        return rc;
    }
    if (mode == MODE_DICT) {
        uint8_t b = (uint8_t)bw;
        rc = sl_buf_append(page, &b, 1);
        if (rc == 0) {
            rc = sl_pq_rle_u32(page, l->idx + a.vi, nval, bw);
        }
    } else {
        rc = plain_values(l, a.vi, z.vi, a.pos, z.pos, page);
    }
    if (rc) {
        return rc;
    }
    sl_pq_page_header_t h = {.num_values = (int32_t)nlev,
                             .encoding = mode == MODE_DICT ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN};
    if (m->data_page_offset < 0) {
        m->data_page_offset = (int64_t)c->out->pos;
    }
    if (mode == MODE_DICT) {
        m->dict_data_pages++;
    } else {
        m->plain_data_pages++;
    }
    if (!c->page_v2) {
        h.type = PQ_PAGE_DATA;
        return out_page(l, c, &h, NULL, page, m);
    }
    size_t rows = nlev;
    if (l->max_rep) {
        rows = 0;
        for (size_t i = a.li; i < z.li; i++) {
            rows += l->rep[i] == 0;
        }
    }
    h.type = PQ_PAGE_DATA_V2;
    h.num_nulls = (int32_t)(nlev - nval);
    h.num_rows = (int32_t)rows;
    h.def_bytes = def_bytes;
    h.rep_bytes = rep_bytes;
    h.is_compressed = c->chunk_codec != PQ_CODEC_UNCOMPRESSED;
    return out_page(l, c, &h, lev, page, m);
}

/* Column chunks of plain values that the codec cannot shrink (random
 * doubles, hashes) are stored uncompressed: the codec is recorded per
 * chunk, and compressing them only costs time, for writers and readers.
 * A sample from the middle of the values decides. */
#define SAMPLE_MIN ((size_t)64 << 10)
#define SAMPLE_BYTES ((size_t)32 << 10)

static bool compressible(const sl_pq_leaf_t *l, sl_pq_ctx_t *c)
{
    size_t at = (l->vlen - SAMPLE_BYTES) / 2;
    sl_buf_clear(&c->comp_buf);
    if (sl_pq_compress(c->comp, l->vals + at, SAMPLE_BYTES, &c->comp_buf)) {
        return true; /* let the real compression report it */
    }
    return c->comp_buf.len < SAMPLE_BYTES - SAMPLE_BYTES / 32;
}

/* Advances cur to the end of the page that starts there: pages end at
 * record boundaries once they hold limit bits, or where the dictionary
 * part ends (stop_vi). */
static void cut_page(const sl_pq_leaf_t *l, int mode, int bw, cursor_t *cur, size_t limit,
                     size_t stop_vi, size_t lev_bits)
{
    size_t li = cur->li, vi = cur->vi, pos = cur->pos;
    const size_t n = l->nlev, a = li;
    const uint8_t maxd = l->max_def;
    size_t vbits = mode == MODE_DICT           ? (size_t)bw
                   : l->phys == PQ_BOOLEAN     ? 1
                   : l->width > 0              ? (size_t)l->width * 8
                                               : 0;
    size_t bits = 0;
    if (vbits && !l->max_rep) {
        /* flat, fixed-size values: every level is a record boundary */
        if (!maxd) {
            size_t k = limit / (vbits + lev_bits) + 1;
            k = SL_MIN(k, n - li);
            k = SL_MIN(k, SL_MAX(stop_vi - vi, (size_t)1));
            li += k;
            vi += k;
        } else {
            while (li < n) {
                if (li > a && (bits >= limit || vi >= stop_vi)) {
                    break;
                }
                size_t isv = l->def[li] == maxd;
                bits += lev_bits + isv * vbits;
                vi += isv;
                li++;
            }
        }
    } else {
        while (li < n) {
            if (li > a && (!l->max_rep || l->rep[li] == 0) && (bits >= limit || vi >= stop_vi)) {
                break;
            }
            bits += lev_bits;
            if (!maxd || l->def[li] == maxd) {
                bits += vbits ? vbits : value_bits(l, mode, bw, &pos);
                vi++;
            }
            li++;
        }
    }
    cur->li = li;
    cur->vi = vi;
    cur->pos = pos;
}

/* The first value of the record after the one holding value vi. */
static size_t next_record(const sl_pq_leaf_t *l, size_t vi)
{
    if (!l->max_rep) {
        return vi + 1;
    }
    const uint8_t maxd = l->max_def;
    size_t li = 0, v = 0;
    for (; li < l->nlev; li++) {
        if (l->def[li] == maxd) {
            if (v == vi) {
                break;
            }
            v++;
        }
    }
    for (li++, v++; li < l->nlev && l->rep[li] != 0; li++) {
        v += l->def[li] == maxd;
    }
    return v;
}

#define BATCH 32

/* Builds the dictionary over the values from the first on, until it
 * outgrows the cap or turns out (nearly) unique, stopping at a record
 * boundary so that pages need not start mid-record. Sets l->ndict (values
 * covered, with their entry numbers in l->idx) and l->dpos. Values go in
 * batches: hashes first, with the hash slots and then the entries
 * prefetched, so the cache misses of a batch overlap. */
static int build_dict(sl_pq_leaf_t *l, sl_pq_ctx_t *c)
{
    l->ndict = l->dpos = 0;
    bool was_unique = l->unique;
    l->unique = false;
    sl_pq_dict_clear(&l->dict);
    if (!c->use_dict || l->phys == PQ_BOOLEAN || l->nvals == 0) {
        return 0;
    }
    int rc = grow((void **)&l->idx, &l->idx_cap, l->nvals, sizeof *l->idx);
    if (rc) {
        return rc;
    }
    sl_pq_dict_t *d = &l->dict;
    const size_t n = l->nvals, w = (size_t)l->width;
    /* repeat checks: at an eighth of the cap, or much earlier when the
     * last row group of this column was unique */
    size_t check_at = SL_MAX(c->dict_max / (was_unique ? 128 : 8), (size_t)1);
    size_t stop = SIZE_MAX, i = 0, pos = 0;
    const uint8_t *ptr[BATCH];
    uint32_t len[BATCH], hs[BATCH];
    while (i < n && i < stop) {
        size_t k = SL_MIN((size_t)BATCH, n - i), q = pos;
        for (size_t j = 0; j < k; j++) {
            if (w) {
                ptr[j] = l->vals + (i + j) * w;
                len[j] = (uint32_t)w;
            } else {
                len[j] = sl_pq_load32(l->vals + q);
                ptr[j] = l->vals + q + 4;
                q += 4 + (size_t)len[j];
            }
            hs[j] = sl_pq_hash(ptr[j], len[j], d->width);
            if (d->slots) {
                __builtin_prefetch(&d->slots[hs[j] & d->mask]);
            }
        }
        if (d->count) {
            for (size_t j = 0; j < k; j++) {
                uint64_t s = d->slots[hs[j] & d->mask];
                if (s && (uint32_t)(s >> 32) == hs[j]) {
                    uint32_t e = (uint32_t)s - 1;
                    __builtin_prefetch(w ? d->data + (size_t)e * w : (const uint8_t *)&d->offs[e]);
                }
            }
            if (!w) {
                for (size_t j = 0; j < k; j++) {
                    uint64_t s = d->slots[hs[j] & d->mask];
                    if (s && (uint32_t)(s >> 32) == hs[j]) {
                        __builtin_prefetch(d->data + d->offs[(uint32_t)s - 1]);
                    }
                }
            }
        }
        for (size_t j = 0; j < k && i < stop; j++, i++) {
            uint32_t ix;
            pos += w ? w : 4 + (size_t)len[j];
            if (sl_pq_dict_find(d, ptr[j], len[j], hs[j], &ix)) {
                l->idx[i] = ix;
                continue;
            }
            rc = sl_pq_dict_insert(d, ptr[j], len[j], hs[j], &ix);
            if (rc) {
                return rc;
            }
            l->idx[i] = ix;
            if (stop != SIZE_MAX) {
                continue;
            }
            if (d->dlen > c->dict_max) {
                stop = next_record(l, i);
            } else if (check_at && d->dlen >= check_at) {
                /* fewer than one value in ten repeating: (nearly) unique */
                if ((i + 1 - d->count) * 10 < i + 1) {
                    stop = next_record(l, i);
                    l->unique = true;
                }
                check_at = check_at < c->dict_max / 8 ? c->dict_max / 8 : 0;
            }
        }
    }
    l->ndict = i;
    l->dpos = w ? i * w : pos;
    return 0;
}

int sl_pq_leaf_write_chunk(sl_pq_leaf_t *l, sl_pq_ctx_t *c, sl_pq_chunk_meta_t *m)
{
    memset(m, 0, sizeof *m);
    m->num_values = (int64_t)l->nlev;
    m->dict_page_offset = -1;
    m->data_page_offset = -1;
    int rc = build_dict(l, c);
    if (rc) {
        return rc;
    }
    /* the entries and the values after the dictionary part cover all
     * values: statistics from them */
    stats_compute(l, &m->stats);

    int bw = 0;
    if (l->ndict) {
        bw = sl_pq_bit_width(l->dict.count - 1);
        if (bw < 1) {
            bw = 1;
        }
        /* keep the dictionary only when it beats PLAIN for these values */
        uint64_t dict_cost = l->dict.dlen + ((uint64_t)l->ndict * (uint64_t)bw + 7) / 8;
        if (dict_cost >= l->dpos) {
            l->ndict = l->dpos = 0;
        }
    }
    c->chunk_codec = c->codec_id;
    if (!l->ndict && c->codec_id != PQ_CODEC_UNCOMPRESSED && l->phys != PQ_BOOLEAN &&
        l->vlen >= SAMPLE_MIN) {
        c->chunk_codec = compressible(l, c) ? c->codec_id : PQ_CODEC_UNCOMPRESSED;
    }
    m->codec_id = c->chunk_codec;
    if (l->ndict) {
        rc = write_dict_page(l, c, m);
        if (rc) {
            return rc;
        }
    }
    const size_t limit = c->page_bytes * 8;
    const size_t lev_bits = (size_t)(sl_pq_bit_width(l->max_def) + sl_pq_bit_width(l->max_rep));
    cursor_t cur = {0, 0, 0};
    /* Empty chunks (0 rows) still get one (empty) page so that every
     * column chunk has a data page. */
    do {
        int mode = cur.vi < l->ndict ? MODE_DICT : MODE_PLAIN;
        /* a dictionary page must end where the dictionary part ends */
        size_t stop_vi = mode == MODE_DICT ? l->ndict : SIZE_MAX;
        if (mode == MODE_PLAIN && cur.vi == l->ndict) {
            cur.pos = l->dpos;
        }
        cursor_t a = cur;
        cut_page(l, mode, bw, &cur, limit, stop_vi, lev_bits);
        rc = write_data_page(l, c, mode, bw, a, cur, m);
    } while (rc == 0 && cur.li < l->nlev);
    return rc;
}
