/* Differential fuzz target for the Parquet writer's decimals.
 *
 * The input picks a DECIMAL(precision, scale) with 1 <= precision <= 38
 * and 0 <= scale <= precision, a kind of value (numeric text, int64,
 * double, the exact text of a raw double or a big integer) and the value
 * itself. The writer's conversion (sl_pq_decimal_from_value) and its
 * bytes (sl_pq_decimal_encode) are compared with a slow reference that
 * works on decimal digit strings only, never on machine integers:
 *
 *   - the same verdict: accepted, or rejected for the same reason;
 *   - when accepted, the unscaled integer's digits are the reference's,
 *     and the encoded bytes decode (little-endian INT32/INT64, or
 *     big-endian two's complement of the minimal width) to that integer.
 *
 * A double is compared through its shortest round-trip text, the value
 * the writer promises to store for it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/format/pq_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { REF_OK, REF_NOT_NUMBER, REF_FRACTION, REF_DIGITS };

#define MAX_TEXT 4096

static void die(const char *what, const char *text, size_t n, int p, int s)
{
    fprintf(stderr, "fuzz_decimal: %s: decimal(%d,%d) of '%.*s'\n", what, p, s, (int)n, text);
    abort();
}

/* The reference: the unscaled integer of text in DECIMAL(p, s) as a
 * sign and a digit string without leading zeros ("0" for zero). */
static int ref_convert(const char *t, size_t n, int p, int s, char *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (t[i] == '+' || t[i] == '-')) {
        neg = t[i++] == '-';
    }
    char digits[MAX_TEXT + 1];
    size_t nd = 0, point = 0, seen = 0;
    while (i < n && t[i] >= '0' && t[i] <= '9') {
        digits[nd++] = t[i++];
        seen++;
    }
    point = nd;
    if (i < n && t[i] == '.') {
        i++;
        while (i < n && t[i] >= '0' && t[i] <= '9') {
            digits[nd++] = t[i++];
            seen++;
        }
    }
    if (seen == 0) {
        return REF_NOT_NUMBER;
    }
    long long e = 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (t[i] == '+' || t[i] == '-')) {
            eneg = t[i++] == '-';
        }
        size_t e0 = i;
        while (i < n && t[i] >= '0' && t[i] <= '9') {
            if (e < 1000000000000LL) { /* far past MAX_TEXT: exact enough */
                e = e * 10 + (t[i] - '0');
            }
            i++;
        }
        if (i == e0) {
            return REF_NOT_NUMBER;
        }
        e = eneg ? -e : e;
    }
    if (i != n) {
        return REF_NOT_NUMBER;
    }
    bool zero = true;
    for (size_t k = 0; k < nd; k++) {
        zero = zero && digits[k] == '0';
    }
    if (zero) {
        strcpy(out, "0");
        return REF_OK;
    }
    /* The unscaled value is the digits with the point moved to
     * point + e + s: what lies right of it must be zeros. */
    long long cut = (long long)point + e + s;
    for (long long k = cut < 0 ? 0 : cut; k < (long long)nd; k++) {
        if (digits[k] != '0') {
            return REF_FRACTION;
        }
    }
    if (cut > (long long)nd + 64) {
        return REF_DIGITS; /* a nonzero digit followed by more than 38 zeros */
    }
    /* integer digits: digits[0..cut) padded with zeros past nd */
    char *o = out;
    if (neg) {
        *o++ = '-';
    }
    char *first = o;
    for (long long k = 0; k < cut; k++) {
        char d = k < (long long)nd ? digits[k] : '0';
        if (o == first && d == '0') {
            continue;
        }
        *o++ = d;
    }
    *o = '\0';
    if (o - first > p) {
        return REF_DIGITS;
    }
    return REF_OK;
}

static void i128_text(__int128 x, char *out)
{
    char tmp[64];
    int n = 0;
    unsigned __int128 u = x < 0 ? -(unsigned __int128)x : (unsigned __int128)x;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (x < 0) {
        *out++ = '-';
    }
    while (n) {
        *out++ = tmp[--n];
    }
    *out = '\0';
}

/* The Parquet spec's minimal width for a precision: enough bytes for
 * 10^p - 1 and a sign bit. */
static size_t ref_width(int p)
{
    if (p <= 9) {
        return 4;
    }
    if (p <= 18) {
        return 8;
    }
    unsigned __int128 m = 1;
    for (int k = 0; k < p; k++) {
        m *= 10;
    }
    m -= 1;
    int bits = 0;
    while (m) {
        bits++;
        m >>= 1;
    }
    return (size_t)(bits + 1 + 7) / 8;
}

static __int128 decode(const uint8_t *b, size_t n, int p)
{
    if (p <= 9) {
        int32_t y;
        memcpy(&y, b, 4);
        return y;
    }
    if (p <= 18) {
        int64_t y;
        memcpy(&y, b, 8);
        return y;
    }
    unsigned __int128 u = (b[0] & 0x80) ? ~(unsigned __int128)0 : 0;
    for (size_t k = 0; k < n; k++) {
        u = u << 8 | b[k];
    }
    return (__int128)u;
}

/* The shortest "%.Ng" text that reads back as d. */
static void shortest_double(double d, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d) {
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > MAX_TEXT) {
        return 0;
    }
    int p = 1 + data[0] % 38;
    int s = data[1] % (p + 1);
    unsigned kind = (unsigned)(data[0] / 38) % 5;
    const char *text = (const char *)data + 2;
    size_t n = size - 2;

    sl_value_t v = {0};
    char reftext[MAX_TEXT + 80];
    size_t reflen = 0;
    bool finite = true;
    if (kind == 1 || kind == 2) {
        uint64_t bits = 0;
        for (size_t k = 0; k < 8; k++) {
            bits = bits << 8 | (k < n ? (uint8_t)text[k] : 0);
        }
        if (kind == 1) {
            v = sl_value_int((int64_t)bits);
            snprintf(reftext, sizeof reftext, "%lld", (long long)(int64_t)bits);
        } else {
            double d;
            memcpy(&d, &bits, sizeof d);
            v = sl_value_double(d);
            finite = isfinite(d);
            if (finite) {
                shortest_double(d, reftext, sizeof reftext);
            }
        }
        reflen = strlen(reftext);
    } else {
        /* 0: a string, 3: a raw double's text, 4: a big integer's text */
        v = sl_value_str(text, n);
        if (kind == 3) {
            v.type = SL_T_DOUBLE;
            v.flags = SL_VF_RAW;
        } else if (kind == 4) {
            v.type = SL_T_BIGNUM;
        }
        memcpy(reftext, text, n);
        reflen = n;
        reftext[reflen] = '\0';
    }

    char want[MAX_TEXT + 80];
    int ref = finite ? ref_convert(reftext, reflen, p, s, want) : REF_NOT_NUMBER;

    sl_buf_t scratch = {0};
    __int128 x = 0;
    const char *why = NULL;
    int rc = sl_pq_decimal_from_value(&v, p, s, &scratch, &x, &why);
    sl_buf_free(&scratch);

    if (ref == REF_OK) {
        if (rc != 0) {
            die(why ? why : "rejected", reftext, reflen, p, s);
        }
        char got[64];
        i128_text(x, got);
        const char *w = strcmp(want, "-0") == 0 ? "0" : want;
        if (strcmp(got, w) != 0) {
            fprintf(stderr, "got %s, want %s\n", got, w);
            die("wrong value", reftext, reflen, p, s);
        }
        uint8_t bytes[16];
        size_t nb = sl_pq_decimal_encode(x, p, bytes);
        if (nb != ref_width(p)) {
            die("wrong width", reftext, reflen, p, s);
        }
        if (decode(bytes, nb, p) != x) {
            die("bytes do not decode to the value", reftext, reflen, p, s);
        }
        return 0;
    }
    if (rc != SL_ETYPE || !why) {
        die("accepted a value the reference rejects", reftext, reflen, p, s);
    }
    const char *want_why = ref == REF_FRACTION ? "more fraction digits than the scale"
                           : ref == REF_DIGITS ? "too many digits for the precision"
                                               : NULL;
    if (want_why && strcmp(why, want_why) != 0) {
        die(why, reftext, reflen, p, s);
    }
    if (!want_why && strcmp(why, "not a decimal number") != 0 &&
        strcmp(why, "not a finite number") != 0) {
        die(why, reftext, reflen, p, s);
    }
    return 0;
}
