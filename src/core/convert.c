/* Value conversions shared by template filters and the cast transform
 * (sl_value_convert, see include/sluice/template.h), value descriptions for
 * error messages, and the per-thread scratch memory of the template code.
 *
 * Conversions are strict on purpose: "42.5" is not an int and "12abc" is
 * not a number, so bad input becomes a reject with a reason instead of a
 * silently wrong value downstream. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"
#include "sluice/timeutil.h"
#include "tmpl_internal.h"

#define US_PER_SEC 1000000LL
#define US_PER_DAY 86400000000LL

/* ---- per-thread scratch ---- */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local sl_scratch_t *scratch;

static void scratch_free(void *p)
{
    sl_scratch_t *s = p;
    sl_arena_destroy(s->arena);
    sl_buf_free(&s->text);
    sl_buf_free(&s->render);
    free(s);
}

static void scratch_key_make(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

sl_scratch_t *sl_scratch_get(void)
{
    if (SL_LIKELY(scratch != NULL)) {
        return scratch;
    }
    pthread_once(&scratch_once, scratch_key_make);
    sl_scratch_t *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->arena = sl_arena_create(16 * 1024, 0);
    if (!s->arena) {
        free(s);
        return NULL;
    }
    sl_buf_init(&s->text, 0);
    sl_buf_init(&s->render, 0);
    /* The key's destructor frees the scratch when a worker thread ends. */
    pthread_setspecific(scratch_key, s);
    scratch = s;
    return s;
}

sl_arena_t *sl_scratch_arena(void)
{
    sl_scratch_t *s = sl_scratch_get();
    if (!s) {
        return NULL;
    }
    if (sl_arena_used(s->arena) > 0) {
        sl_arena_reset(s->arena);
    }
    return s->arena;
}

/* ---- text views and descriptions ---- */

int sl_value_text_view(sl_arena_t *a, const sl_value_t *v, const char **s, size_t *n)
{
    char tmp[40];
    switch (v->type) {
    case SL_T_NULL:
        *s = "";
        *n = 0;
        return 0;
    case SL_T_BOOL:
        *s = v->u.i ? "true" : "false";
        *n = v->u.i ? 4 : 5;
        return 0;
    case SL_T_STRING:
    case SL_T_BIGNUM:
        *s = v->u.s;
        *n = v->len;
        return 0;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            *s = v->u.s;
            *n = v->len;
            return 0;
        }
        break;
    case SL_T_INT: {
        /* Digits right to left: no printf on the hot path. */
        char *end = tmp + sizeof tmp, *p = end;
        uint64_t u = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v->u.i < 0) {
            *--p = '-';
        }
        *n = (size_t)(end - p);
        *s = sl_arena_strndup(a, p, *n);
        return *s ? 0 : SL_ENOMEM;
    }
    case SL_T_TIMESTAMP:
        *n = sl_timestamp_format(v->u.i, tmp);
        *s = sl_arena_strndup(a, tmp, *n);
        return *s ? 0 : SL_ENOMEM;
    case SL_T_DATE:
        *n = sl_date_format(v->u.i, tmp);
        *s = sl_arena_strndup(a, tmp, *n);
        return *s ? 0 : SL_ENOMEM;
    default:
        break;
    }
    /* Plain doubles, arrays and objects: through the scratch buffer. */
    sl_scratch_t *sc = sl_scratch_get();
    if (!sc) {
        return SL_ENOMEM;
    }
    sl_buf_clear(&sc->text);
    int rc = sl_value_to_text(v, &sc->text);
    if (rc) {
        return rc;
    }
    *n = sc->text.len;
    *s = sl_arena_strndup(a, sc->text.data ? sc->text.data : "", *n);
    return *s ? 0 : SL_ENOMEM;
}

void sl_value_describe(const sl_value_t *v, bool hide_text, char *buf, size_t n)
{
    const char *type = sl_type_name((sl_type_t)v->type);
    char tmp[40];
    const char *s = NULL;
    size_t len = 0;
    switch (v->type) {
    case SL_T_NULL:
    case SL_T_ARRAY:
    case SL_T_OBJECT:
        snprintf(buf, n, "%s", type);
        return;
    case SL_T_BOOL:
        s = v->u.i ? "true" : "false";
        len = strlen(s);
        break;
    case SL_T_INT:
        len = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        s = tmp;
        break;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            s = v->u.s;
            len = v->len;
        } else {
            /* Shortest text that reads back: 0.1, not 0.10000000000000001. */
            for (int prec = 15; prec <= 17; prec++) {
                len = (size_t)snprintf(tmp, sizeof tmp, "%.*g", prec, v->u.d);
                if (strtod(tmp, NULL) == v->u.d) {
                    break;
                }
            }
            s = tmp;
        }
        break;
    case SL_T_STRING:
    case SL_T_BIGNUM:
        s = v->u.s;
        len = v->len;
        break;
    case SL_T_TIMESTAMP:
        len = sl_timestamp_format(v->u.i, tmp);
        s = tmp;
        break;
    case SL_T_DATE:
        len = sl_date_format(v->u.i, tmp);
        s = tmp;
        break;
    default:
        snprintf(buf, n, "%s", type);
        return;
    }
    if (hide_text) {
        snprintf(buf, n, "%s", type);
        return;
    }
    /* Cut long values; control characters would garble one-line logs. */
    char shown[64];
    size_t k = 0;
    size_t max = len > 40 ? 37 : len;
    for (size_t i = 0; i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        shown[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (len > max) {
        memcpy(shown + k, "...", 3);
        k += 3;
    }
    shown[k] = '\0';
    if (v->type == SL_T_STRING) {
        snprintf(buf, n, "%s '%s'", type, shown);
    } else {
        snprintf(buf, n, "%s %s", type, shown);
    }
}

/* ---- conversions ---- */

static int fail(sl_err_t *err, const sl_value_t *v, sl_type_t to, const char *why)
{
    char d[96];
    sl_value_describe(v, false, d, sizeof d);
    return sl_err_set(err, SL_ETYPE, "cannot convert %s to %s%s", d, sl_type_name(to), why);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t len = *n;
    while (len && is_space(p[0])) {
        p++;
        len--;
    }
    while (len && is_space(p[len - 1])) {
        len--;
    }
    *s = p;
    *n = len;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Strict decimal syntax: [+-] digits [. digits] [e [+-] digits], with at
 * least one digit before or after the point. No hex, inf or nan, which
 * strtod would accept. */
static bool number_syntax(const char *s, size_t n, bool *integral)
{
    size_t i = 0, d = 0;
    *integral = true;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        i++;
    }
    while (i < n && is_digit(s[i])) {
        i++;
        d++;
    }
    if (i < n && s[i] == '.') {
        *integral = false;
        i++;
        while (i < n && is_digit(s[i])) {
            i++;
            d++;
        }
    }
    if (d == 0) {
        return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        size_t e = 0;
        while (i < n && is_digit(s[i])) {
            i++;
            e++;
        }
        if (e == 0) {
            return false;
        }
    }
    return i == n;
}

/* Integer text with optional sign; false on overflow. */
static bool text_to_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i++;
    }
    uint64_t u = 0;
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned c = (unsigned)(s[i] - '0');
        if (u > (lim - c) / 10) {
            return false;
        }
        u = u * 10 + c;
    }
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* 2^63 as a double: whole doubles in [-2^63, 2^63) fit int64. */
#define TWO63 9223372036854775808.0

static bool double_to_int(double d, int64_t *out)
{
    if (!(d >= -TWO63 && d < TWO63) || d != floor(d)) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static int to_int(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    int64_t i;
    double d;
    switch (v->type) {
    case SL_T_INT:
        *out = *v;
        return 0;
    case SL_T_BOOL:
        *out = sl_value_int(v->u.i ? 1 : 0);
        return 0;
    case SL_T_DOUBLE:
        sl_value_get_double(v, &d);
        if (!double_to_int(d, &i)) {
            return fail(err, v, SL_T_INT,
                        isfinite(d) && d == floor(d) ? " (out of range)" : " (not a whole number)");
        }
        *out = sl_value_int(i);
        return 0;
    case SL_T_BIGNUM:
        return fail(err, v, SL_T_INT, " (out of range)");
    case SL_T_STRING: {
        const char *s = v->u.s;
        size_t n = v->len;
        bool integral;
        trim(&s, &n);
        if (!number_syntax(s, n, &integral)) {
            return fail(err, v, SL_T_INT, "");
        }
        if (integral) {
            if (!text_to_int(s, n, &i)) {
                return fail(err, v, SL_T_INT, " (out of range)");
            }
        } else {
            d = sl_parse_double(s, n);
            if (!double_to_int(d, &i)) {
                return fail(err, v, SL_T_INT, isfinite(d) && d == floor(d)
                                                  ? " (out of range)"
                                                  : " (not a whole number)");
            }
        }
        *out = sl_value_int(i);
        return 0;
    }
    default:
        return fail(err, v, SL_T_INT, "");
    }
}

static int to_double(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    double d;
    switch (v->type) {
    case SL_T_DOUBLE:
        *out = *v;
        return 0;
    case SL_T_INT:
    case SL_T_BIGNUM:
        sl_value_get_double(v, &d);
        *out = sl_value_double(d);
        return 0;
    case SL_T_STRING: {
        const char *s = v->u.s;
        size_t n = v->len;
        bool integral;
        trim(&s, &n);
        if (!number_syntax(s, n, &integral)) {
            return fail(err, v, SL_T_DOUBLE, "");
        }
        d = sl_parse_double(s, n);
        if (!isfinite(d)) {
            return fail(err, v, SL_T_DOUBLE, " (out of range)");
        }
        *out = sl_value_double(d);
        return 0;
    }
    default:
        return fail(err, v, SL_T_DOUBLE, "");
    }
}

static bool word_eq(const char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != w[i]) {
            return false;
        }
    }
    return i == n && w[i] == '\0';
}

static int to_bool(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    switch (v->type) {
    case SL_T_BOOL:
        *out = *v;
        return 0;
    case SL_T_INT:
        if (v->u.i == 0 || v->u.i == 1) {
            *out = sl_value_bool(v->u.i == 1);
            return 0;
        }
        break;
    case SL_T_STRING: {
        const char *s = v->u.s;
        size_t n = v->len;
        trim(&s, &n);
        if (word_eq(s, n, "true") || word_eq(s, n, "yes") || word_eq(s, n, "1")) {
            *out = sl_value_bool(true);
            return 0;
        }
        if (word_eq(s, n, "false") || word_eq(s, n, "no") || word_eq(s, n, "0")) {
            *out = sl_value_bool(false);
            return 0;
        }
        break;
    }
    default:
        break;
    }
    return fail(err, v, SL_T_BOOL, "");
}

/* Epoch seconds to microseconds, refusing what int64 cannot hold. */
static int seconds_to_ts(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    if (v->type == SL_T_INT) {
        if (v->u.i > INT64_MAX / US_PER_SEC || v->u.i < INT64_MIN / US_PER_SEC) {
            return fail(err, v, SL_T_TIMESTAMP, " (out of range)");
        }
        *out = sl_value_timestamp(v->u.i * US_PER_SEC);
        return 0;
    }
    double d;
    sl_value_get_double(v, &d);
    double us = round(d * 1e6);
    if (!(us >= -TWO63 && us < TWO63)) {
        return fail(err, v, SL_T_TIMESTAMP, " (out of range)");
    }
    *out = sl_value_timestamp((int64_t)us);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A string's instant (ISO 8601, blanks around it ignored). */
static int text_us(const sl_value_t *v, int64_t *us)
{
    const char *s = v->u.s;
    size_t n = v->len;
    trim(&s, &n);
    return sl_timestamp_parse(s, n, us);
}

static int to_timestamp(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    switch (v->type) {
    case SL_T_TIMESTAMP:
        *out = *v;
        return 0;
    case SL_T_DATE:
        if (v->u.i > INT64_MAX / US_PER_DAY || v->u.i < INT64_MIN / US_PER_DAY) {
            return fail(err, v, SL_T_TIMESTAMP, " (out of range)");
        }
        *out = sl_value_timestamp(v->u.i * US_PER_DAY);
        return 0;
    case SL_T_INT:
    case SL_T_DOUBLE:
        return seconds_to_ts(v, out, err);
    case SL_T_STRING: {
        int64_t us;
        if (text_us(v, &us) != 0) {
            return fail(err, v, SL_T_TIMESTAMP, "");
        }
        *out = sl_value_timestamp(us);
        return 0;
    }
    default:
        return fail(err, v, SL_T_TIMESTAMP, "");
    }
}

static int to_date(const sl_value_t *v, sl_value_t *out, sl_err_t *err)
{
    switch (v->type) {
    case SL_T_DATE:
        *out = *v;
        return 0;
    case SL_T_TIMESTAMP:
        *out = sl_value_date(floor_div(v->u.i, US_PER_DAY));
        return 0;
    case SL_T_STRING: {
        int64_t us;
        if (text_us(v, &us) != 0) {
            return fail(err, v, SL_T_DATE, "");
        }
        *out = sl_value_date(floor_div(us, US_PER_DAY));
        return 0;
    }
    default:
        return fail(err, v, SL_T_DATE, "");
    }
}

int sl_value_convert(sl_arena_t *a, const sl_value_t *v, sl_type_t to, sl_value_t *out,
                     sl_err_t *err)
{
    if (v->type == SL_T_NULL) {
        *out = *v;
        return 0;
    }
    switch (to) {
    case SL_T_INT:
        return to_int(v, out, err);
    case SL_T_DOUBLE:
        return to_double(v, out, err);
    case SL_T_BOOL:
        return to_bool(v, out, err);
    case SL_T_TIMESTAMP:
        return to_timestamp(v, out, err);
    case SL_T_DATE:
        return to_date(v, out, err);
    case SL_T_STRING: {
        if (v->type == SL_T_STRING) {
            *out = *v;
            return 0;
        }
        const char *s;
        size_t n;
        int rc = sl_value_text_view(a, v, &s, &n);
        if (rc) {
            return rc;
        }
        *out = sl_value_str(s, n);
        return 0;
    }
    default:
        return sl_err_set(err, SL_EINVAL, "cannot convert to %s", sl_type_name(to));
    }
}
