/* Templates: "{{ record.created_at | date }}" in config strings; see
 * include/sluice/template.h.
 *
 * A template compiles once into a list of parts (literal text or an
 * operand: a path or literal plus filters). The operand parser and
 * evaluator here are shared with expressions (expr.c) through
 * tmpl_internal.h. Rendering resolves plain paths straight into the output
 * buffer; filter results go to a per-thread scratch arena that is reset,
 * not freed, so a warm render performs no malloc. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/timeutil.h"
#include "tmpl_internal.h"

/* ---- lexer helpers ---- */

int sl_lex_error(sl_lexer_t *lx, int code, size_t pos, const char *fmt, ...)
{
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < pos && i < lx->n; i++) {
        if (lx->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (lx->what) {
        return sl_err_set(lx->err, code, "%s: %u:%u: %s", lx->what, line, col, msg);
    }
    return sl_err_set(lx->err, code, "%u:%u: %s", line, col, msg);
}

void sl_lex_skip_ws(sl_lexer_t *lx)
{
    while (lx->pos < lx->n) {
        char c = lx->src[lx->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        lx->pos++;
    }
}

bool sl_lex_is_ident_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c >= 0x80;
}

static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

bool sl_lex_keyword(const sl_lexer_t *lx, size_t pos, const char *kw)
{
    size_t k = strlen(kw);
    if (pos + k > lx->n) {
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        char c = lx->src[pos + i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != kw[i]) {
            return false;
        }
    }
    return pos + k == lx->n || !sl_lex_is_ident_char((unsigned char)lx->src[pos + k]);
}

int sl_lex_token_len(const sl_lexer_t *lx, size_t pos)
{
    size_t i = pos;
    if (i < lx->n && sl_lex_is_ident_char((unsigned char)lx->src[i])) {
        while (i < lx->n && i - pos < 30 && sl_lex_is_ident_char((unsigned char)lx->src[i])) {
            i++;
        }
    } else if (i < lx->n) {
        /* One punctuation token, two characters for the doubled ones. */
        i++;
        if (i < lx->n && strchr("=<>|}{&", lx->src[i]) && lx->src[i] != '\0') {
            i++;
        }
    }
    return (int)(i - pos);
}

/* ---- literals ---- */

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *p, unsigned cp)
{
    if (cp < 0x80) {
        p[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (char)(0xC0 | (cp >> 6));
        p[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (char)(0xE0 | (cp >> 12));
        p[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        p[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (char)(0xF0 | (cp >> 18));
    p[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    p[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    p[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A quoted string; escapes \\ \' \" \n \t \r \/ \0 \uXXXX (pairs joined). */
static int lex_string(sl_lexer_t *lx, sl_value_t *out)
{
    size_t start = lx->pos;
    char q = lx->src[lx->pos++];
    size_t body = lx->pos;
    bool escapes = false;
    while (lx->pos < lx->n && lx->src[lx->pos] != q) {
        if (lx->src[lx->pos] == '\\') {
            escapes = true;
            lx->pos++;
        }
        lx->pos++;
    }
    if (lx->pos >= lx->n) {
        return sl_lex_error(lx, SL_EPARSE, start, "unterminated string");
    }
    size_t end = lx->pos++;
    if (!escapes) {
        *out = sl_value_str(lx->src + body, end - body);
        return 0;
    }
    /* Decoded text is never longer than the source. */
    char *dst = sl_arena_alloc(lx->a, end - body + 1);
    if (!dst) {
        return SL_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = body; i < end; i++) {
        char c = lx->src[i];
        if (c != '\\') {
            dst[k++] = c;
            continue;
        }
        size_t at = i;
        c = lx->src[++i];
        switch (c) {
        case '\\':
        case '\'':
        case '"':
        case '/':
            dst[k++] = c;
            break;
        case 'n':
            dst[k++] = '\n';
            break;
        case 't':
            dst[k++] = '\t';
            break;
        case 'r':
            dst[k++] = '\r';
            break;
        case '0':
            dst[k++] = '\0';
            break;
        case 'u': {
            unsigned cp, lo;
            if (i + 4 >= end || hex4(lx->src + i + 1, &cp) != 0) {
                return sl_lex_error(lx, SL_EPARSE, at,
                                    "invalid \\u escape (expected 4 hex digits)");
            }
            i += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return sl_lex_error(lx, SL_EPARSE, at, "lone low surrogate in \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 6 >= end || lx->src[i + 1] != '\\' || lx->src[i + 2] != 'u' ||
                    hex4(lx->src + i + 3, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    return sl_lex_error(lx, SL_EPARSE, at,
                                        "high surrogate in \\u escape without its low half");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            k += put_utf8(dst + k, cp);
            break;
        }
        default:
            return sl_lex_error(lx, SL_EPARSE, at, "unknown escape '\\%c' in string",
                                (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f ? c : '?');
        }
    }
    dst[k] = '\0';
    *out = sl_value_str(dst, k);
    return 0;
}

static int lex_number(sl_lexer_t *lx, sl_value_t *out)
{
    size_t start = lx->pos, i = lx->pos;
    bool integral = true;
    if (lx->src[i] == '-') {
        i++;
    }
    size_t d0 = i;
    while (i < lx->n && lx->src[i] >= '0' && lx->src[i] <= '9') {
        i++;
    }
    if (i == d0) {
        return sl_lex_error(lx, SL_EPARSE, start, "expected a digit after '-'");
    }
    if (i < lx->n && lx->src[i] == '.') {
        integral = false;
        size_t f0 = ++i;
        while (i < lx->n && lx->src[i] >= '0' && lx->src[i] <= '9') {
            i++;
        }
        if (i == f0) {
            return sl_lex_error(lx, SL_EPARSE, start, "expected digits after '.' in number");
        }
    }
    if (i < lx->n && (lx->src[i] == 'e' || lx->src[i] == 'E')) {
        integral = false;
        i++;
        if (i < lx->n && (lx->src[i] == '+' || lx->src[i] == '-')) {
            i++;
        }
        size_t e0 = i;
        while (i < lx->n && lx->src[i] >= '0' && lx->src[i] <= '9') {
            i++;
        }
        if (i == e0) {
            return sl_lex_error(lx, SL_EPARSE, start, "expected digits in number exponent");
        }
    }
    if (i < lx->n && (sl_lex_is_ident_char((unsigned char)lx->src[i]) || lx->src[i] == '.')) {
        size_t end = i;
        while (end < lx->n && end - start < 40 &&
               (sl_lex_is_ident_char((unsigned char)lx->src[end]) || lx->src[end] == '.')) {
            end++;
        }
        return sl_lex_error(lx, SL_EPARSE, start, "invalid number '%.*s'", (int)(end - start),
                            lx->src + start);
    }
    lx->pos = i;
    const char *s = lx->src + start;
    size_t n = i - start;
    if (integral) {
        /* Overflowing integers fall through to double. */
        bool neg = s[0] == '-';
        uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        bool ok = true;
        for (size_t k = neg; k < n && ok; k++) {
            unsigned c = (unsigned)(s[k] - '0');
            if (u > (lim - c) / 10) {
                ok = false;
            } else {
                u = u * 10 + c;
            }
        }
        if (ok) {
            *out = sl_value_int(neg ? (int64_t)(0 - u) : (int64_t)u);
            return 0;
        }
    }
    char tmp[64];
    if (n >= sizeof tmp) {
        return sl_lex_error(lx, SL_EPARSE, start, "number too long");
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (!isfinite(d)) {
        return sl_lex_error(lx, SL_EPARSE, start, "number '%s' out of range", tmp);
    }
    *out = sl_value_double(d);
    return 0;
}

int sl_lex_literal(sl_lexer_t *lx, sl_value_t *out)
{
    if (lx->pos >= lx->n) {
        return SL_ENOTFOUND;
    }
    char c = lx->src[lx->pos];
    if (c == '\'' || c == '"') {
        return lex_string(lx, out);
    }
    if ((c >= '0' && c <= '9') || c == '-') {
        return lex_number(lx, out);
    }
    if (sl_lex_keyword(lx, lx->pos, "true")) {
        *out = sl_value_bool(true);
        lx->pos += 4;
        return 0;
    }
    if (sl_lex_keyword(lx, lx->pos, "false")) {
        *out = sl_value_bool(false);
        lx->pos += 5;
        return 0;
    }
    if (sl_lex_keyword(lx, lx->pos, "null")) {
        *out = sl_value_null();
        lx->pos += 4;
        return 0;
    }
    return SL_ENOTFOUND;
}

/* ---- operands ---- */

static const char *const filter_names[] = {
    [SL_FILTER_DATE] = "date",           [SL_FILTER_LOWER] = "lower",
    [SL_FILTER_UPPER] = "upper",         [SL_FILTER_TRIM] = "trim",
    [SL_FILTER_MD5] = "md5",             [SL_FILTER_JSON] = "json",
    [SL_FILTER_URLENCODE] = "urlencode", [SL_FILTER_STRING] = "string",
    [SL_FILTER_INT] = "int",             [SL_FILTER_FLOAT] = "float",
    [SL_FILTER_DEFAULT] = "default",
};
#define FILTER_LIST "date, lower, upper, trim, md5, json, urlencode, string, int, float, default"

static const char *const root_names[] = {
    [SL_ROOT_RECORD] = "record", [SL_ROOT_PARAMS] = "params", [SL_ROOT_RUN] = "run",
    [SL_ROOT_ITEM] = "item",     [SL_ROOT_ENV] = "env",       [SL_ROOT_STEPS] = "steps",
    [SL_ROOT_ERROR] = "error",
};

static size_t ident_len(const sl_lexer_t *lx, size_t pos)
{
    size_t i = pos;
    while (i < lx->n && sl_lex_is_ident_char((unsigned char)lx->src[i])) {
        i++;
    }
    return i - pos;
}

static bool str_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* Words an expression reserves; bare fields with these names need record. */
static bool is_reserved(const sl_lexer_t *lx, size_t pos)
{
    static const char *const words[] = {"and", "or", "not", "in", "is", "true", "false", "null"};
    for (size_t i = 0; i < SL_ARRAY_LEN(words); i++) {
        if (sl_lex_keyword(lx, pos, words[i])) {
            return true;
        }
    }
    return false;
}

static int add_seg(sl_lexer_t *lx, sl_seg_t **segs, size_t *nsegs, size_t *cap, const char *s,
                   size_t len)
{
    if (*nsegs == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        sl_seg_t *ns = sl_arena_realloc(lx->a, *segs, *cap * sizeof **segs, ncap * sizeof **segs);
        if (!ns) {
            return SL_ENOMEM;
        }
        *segs = ns;
        *cap = ncap;
    }
    sl_seg_t *g = &(*segs)[(*nsegs)++];
    g->s = s;
    g->len = (uint32_t)len;
    g->index = -1;
    if (len > 0 && len < 10) {
        int32_t idx = 0;
        size_t k = 0;
        for (; k < len && s[k] >= '0' && s[k] <= '9'; k++) {
            idx = idx * 10 + (s[k] - '0');
        }
        if (k == len) {
            g->index = idx;
        }
    }
    return 0;
}

/* Path segments after the first: `.name`, `.0`, `[0]`, `['any key']`. */
static int parse_segments(sl_lexer_t *lx, sl_seg_t **segs, size_t *nsegs, size_t *cap)
{
    for (;;) {
        if (lx->pos < lx->n && lx->src[lx->pos] == '.') {
            size_t at = ++lx->pos;
            size_t len = ident_len(lx, at);
            if (len == 0) {
                return sl_lex_error(lx, SL_EPARSE, at, "expected a field name after '.'");
            }
            int rc = add_seg(lx, segs, nsegs, cap, lx->src + at, len);
            if (rc) {
                return rc;
            }
            lx->pos += len;
        } else if (lx->pos < lx->n && lx->src[lx->pos] == '[') {
            size_t open = lx->pos++;
            sl_lex_skip_ws(lx);
            sl_value_t key;
            int rc = sl_lex_literal(lx, &key);
            if (rc == SL_ENOTFOUND || (rc == 0 && key.type != SL_T_STRING &&
                                       !(key.type == SL_T_INT && key.u.i >= 0))) {
                return sl_lex_error(lx, SL_EPARSE, open + 1,
                                    "expected a quoted key or an index after '['");
            }
            if (rc) {
                return rc;
            }
            sl_lex_skip_ws(lx);
            if (lx->pos >= lx->n || lx->src[lx->pos] != ']') {
                return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected ']' after the key");
            }
            lx->pos++;
            if (key.type == SL_T_INT) {
                char *d = sl_arena_sprintf(lx->a, "%lld", (long long)key.u.i);
                if (!d) {
                    return SL_ENOMEM;
                }
                rc = add_seg(lx, segs, nsegs, cap, d, strlen(d));
            } else {
                rc = add_seg(lx, segs, nsegs, cap, key.u.s, key.len);
                (*segs)[*nsegs - 1].index = -1; /* a quoted key is a key */
            }
            if (rc) {
                return rc;
            }
        } else {
            return 0;
        }
    }
}

static int parse_filters(sl_lexer_t *lx, sl_operand_t *op)
{
    size_t cap = 0, n = 0;
    sl_filter_t *fs = NULL;
    for (;;) {
        size_t save = lx->pos;
        sl_lex_skip_ws(lx);
        /* '|' but not '||' (which an expression reports as unknown). */
        if (lx->pos >= lx->n || lx->src[lx->pos] != '|' ||
            (lx->pos + 1 < lx->n && lx->src[lx->pos + 1] == '|')) {
            lx->pos = save;
            break;
        }
        lx->pos++;
        sl_lex_skip_ws(lx);
        size_t at = lx->pos;
        size_t len = ident_len(lx, at);
        if (len == 0) {
            return sl_lex_error(lx, SL_EPARSE, at, "expected a filter name after '|' (known: "
                                FILTER_LIST ")");
        }
        int kind = -1;
        for (size_t k = 0; k < SL_ARRAY_LEN(filter_names); k++) {
            if (str_is(lx->src + at, len, filter_names[k])) {
                kind = (int)k;
            }
        }
        if (kind < 0) {
            return sl_lex_error(lx, SL_EPARSE, at, "unknown filter '%.*s' (known: " FILTER_LIST ")",
                                (int)SL_MIN(len, 40), lx->src + at);
        }
        lx->pos += len;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 2;
            sl_filter_t *nf = sl_arena_realloc(lx->a, fs, cap * sizeof *fs, ncap * sizeof *fs);
            if (!nf) {
                return SL_ENOMEM;
            }
            fs = nf;
            cap = ncap;
        }
        sl_filter_t *f = &fs[n++];
        f->kind = (uint8_t)kind;
        f->arg = sl_value_null();
        size_t after = lx->pos;
        sl_lex_skip_ws(lx);
        bool paren = lx->pos < lx->n && lx->src[lx->pos] == '(';
        if (kind != SL_FILTER_DEFAULT) {
            if (paren) {
                return sl_lex_error(lx, SL_EPARSE, lx->pos, "filter '%s' takes no argument",
                                    filter_names[kind]);
            }
            lx->pos = after;
            continue;
        }
        if (!paren) {
            return sl_lex_error(lx, SL_EPARSE, after,
                                "filter 'default' needs a value: default('text'), default(0)");
        }
        lx->pos++;
        sl_lex_skip_ws(lx);
        int rc = sl_lex_literal(lx, &f->arg);
        if (rc == SL_ENOTFOUND) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos,
                                "default() takes a literal: a quoted string, a number, true, "
                                "false or null");
        }
        if (rc) {
            return rc;
        }
        sl_lex_skip_ws(lx);
        if (lx->pos >= lx->n || lx->src[lx->pos] != ')') {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected ')' after default's value");
        }
        lx->pos++;
    }
    if (n > UINT16_MAX) {
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "too many filters");
    }
    op->filters = fs;
    op->nfilters = (uint16_t)n;
    return 0;
}

int sl_operand_parse(sl_lexer_t *lx, bool bare_fields, sl_operand_t *op)
{
    memset(op, 0, sizeof *op);
    size_t start = lx->pos;
    int rc = sl_lex_literal(lx, &op->lit);
    if (rc == 0) {
        op->root = SL_ROOT_LITERAL;
        if (op->lit.type == SL_T_STRING &&
            sl_timestamp_parse(op->lit.u.s, op->lit.len, &op->lit_ts) == 0) {
            op->lit_has_ts = true;
        }
    } else if (rc != SL_ENOTFOUND) {
        return rc;
    } else {
        if (start >= lx->n || !is_ident_start((unsigned char)lx->src[start])) {
            if (start >= lx->n) {
                return sl_lex_error(lx, SL_EPARSE, start, "expected a value at the end");
            }
            return sl_lex_error(lx, SL_EPARSE, start, "expected a value, got '%.*s'",
                                sl_lex_token_len(lx, start), lx->src + start);
        }
        size_t len = ident_len(lx, start);
        const char *name = lx->src + start;
        bool dotted = start + len < lx->n &&
                      (lx->src[start + len] == '.' || lx->src[start + len] == '[');
        int root = -1;
        for (size_t k = 0; k < SL_ARRAY_LEN(root_names); k++) {
            if (str_is(name, len, root_names[k])) {
                root = (int)k;
            }
        }
        sl_seg_t *segs = NULL;
        size_t nsegs = 0, cap = 0;
        if (bare_fields) {
            /* Expressions: record.x, params.x, run.x, item.x, steps.x and
             * error.x are roots; anything else (and those names alone) is
             * a field of the record. */
            if (dotted && root >= 0 && root != SL_ROOT_ENV) {
                op->root = (uint8_t)root;
            } else {
                if (is_reserved(lx, start)) {
                    return sl_lex_error(lx, SL_EPARSE, start,
                                        "'%.*s' is a keyword here; write record.%.*s for a "
                                        "field of that name", (int)len, name, (int)len, name);
                }
                op->root = SL_ROOT_RECORD;
                rc = add_seg(lx, &segs, &nsegs, &cap, name, len);
                if (rc) {
                    return rc;
                }
            }
        } else {
            if (root < 0) {
                return sl_lex_error(lx, SL_EPARSE, start,
                                    "unknown root '%.*s' (expected record, params, run, item, "
                                    "env, steps, error)", (int)SL_MIN(len, 40), name);
            }
            op->root = (uint8_t)root;
        }
        lx->pos = start + len;
        rc = parse_segments(lx, &segs, &nsegs, &cap);
        if (rc) {
            return rc;
        }
        if (op->root == SL_ROOT_ENV) {
            if (nsegs != 1) {
                return sl_lex_error(lx, SL_EPARSE, start, "env needs one variable name: env.NAME");
            }
            op->env = sl_arena_strndup(lx->a, segs[0].s, segs[0].len);
            if (!op->env) {
                return SL_ENOMEM;
            }
        }
        if (nsegs > UINT16_MAX) {
            return sl_lex_error(lx, SL_EPARSE, start, "path too long");
        }
        op->segs = segs;
        op->nsegs = (uint16_t)nsegs;
    }
    op->text = sl_arena_strndup(lx->a, lx->src + start, SL_MIN(lx->pos - start, 60));
    if (!op->text) {
        return SL_ENOMEM;
    }
    return parse_filters(lx, op);
}

/* ---- filters ---- */

static const sl_value_t null_value = {0};

static int filter_error(sl_err_t *err, const sl_operand_t *op, int kind, const sl_value_t *v,
                        const char *what)
{
    char d[96];
    sl_value_describe(v, op->root == SL_ROOT_ENV, d, sizeof d);
    return sl_err_set(err, SL_ETYPE, "filter '%s' %s %s (from %s)", filter_names[kind], what, d,
                      op->text);
}

static bool needs_case_change(const char *s, size_t n, char lo, char hi)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= lo && s[i] <= hi) {
            return true;
        }
    }
    return false;
}

static int filter_case(sl_arena_t *a, const sl_value_t *in, bool upper, sl_value_t *out)
{
    char lo = upper ? 'a' : 'A', hi = upper ? 'z' : 'Z';
    if (!needs_case_change(in->u.s, in->len, lo, hi)) {
        *out = *in;
        return 0;
    }
    char *d = sl_arena_alloc(a, in->len + 1);
    if (!d) {
        return SL_ENOMEM;
    }
    /* ASCII only: UTF-8 bytes pass through unchanged. */
    for (uint32_t i = 0; i < in->len; i++) {
        char c = in->u.s[i];
        d[i] = c >= lo && c <= hi ? (char)(c ^ 0x20) : c;
    }
    d[in->len] = '\0';
    *out = sl_value_str(d, in->len);
    return 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int filter_urlencode(sl_arena_t *a, const char *s, size_t n, sl_value_t *out)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t extra = 0;
    for (size_t i = 0; i < n; i++) {
        extra += unreserved((unsigned char)s[i]) ? 0 : 2;
    }
    if (extra == 0) {
        *out = sl_value_str(s, n);
        return 0;
    }
    char *d = sl_arena_alloc(a, n + extra + 1);
    if (!d) {
        return SL_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            d[k++] = (char)c;
        } else {
            d[k++] = '%';
            d[k++] = HEX[c >> 4];
            d[k++] = HEX[c & 15];
        }
    }
    d[k] = '\0';
    *out = sl_value_str(d, k);
    return 0;
}

static int apply_filter(const sl_operand_t *op, const sl_filter_t *f, const sl_value_t *in,
                        sl_arena_t *a, sl_value_t *out, sl_err_t *err)
{
    int kind = f->kind;
    if (in->type == SL_T_NULL && kind != SL_FILTER_DEFAULT && kind != SL_FILTER_JSON) {
        *out = *in; /* null flows through to a later default() */
        return 0;
    }
    const char *s;
    size_t n;
    int rc;
    switch (kind) {
    case SL_FILTER_DEFAULT:
        *out = in->type == SL_T_NULL ? f->arg : *in;
        if (in->type == SL_T_NULL && f->arg.type == SL_T_STRING && a) {
            /* The result must not borrow from the template's memory. */
            out->u.s = sl_arena_strndup(a, f->arg.u.s, f->arg.len);
            if (!out->u.s) {
                return SL_ENOMEM;
            }
        }
        return 0;
    case SL_FILTER_LOWER:
    case SL_FILTER_UPPER:
        if (in->type != SL_T_STRING) {
            return filter_error(err, op, kind, in, "needs a string, got");
        }
        return filter_case(a, in, kind == SL_FILTER_UPPER, out);
    case SL_FILTER_TRIM:
        if (in->type != SL_T_STRING) {
            return filter_error(err, op, kind, in, "needs a string, got");
        }
        s = in->u.s;
        n = in->len;
        while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' ||
                     *s == '\v')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r' || s[n - 1] == '\f' || s[n - 1] == '\v')) {
            n--;
        }
        *out = sl_value_str(s, n);
        return 0;
    case SL_FILTER_MD5: {
        rc = sl_value_text_view(a, in, &s, &n);
        if (rc) {
            return rc;
        }
        char *hex = sl_arena_alloc(a, 33);
        if (!hex) {
            return SL_ENOMEM;
        }
        sl_md5_hex(s, n, hex);
        *out = sl_value_str(hex, 32);
        return 0;
    }
    case SL_FILTER_JSON: {
        sl_scratch_t *sc = sl_scratch_get();
        if (!sc) {
            return SL_ENOMEM;
        }
        sl_buf_clear(&sc->text);
        rc = sl_json_write(&sc->text, in, 0);
        if (rc) {
            return rc;
        }
        char *d = sl_arena_strndup(a, sc->text.data ? sc->text.data : "", sc->text.len);
        if (!d) {
            return SL_ENOMEM;
        }
        *out = sl_value_str(d, sc->text.len);
        return 0;
    }
    case SL_FILTER_URLENCODE:
        rc = sl_value_text_view(a, in, &s, &n);
        if (rc) {
            return rc;
        }
        return filter_urlencode(a, s, n, out);
    case SL_FILTER_STRING:
    case SL_FILTER_INT:
    case SL_FILTER_FLOAT:
    case SL_FILTER_DATE: {
        static const sl_type_t to[] = {
            [SL_FILTER_STRING] = SL_T_STRING, [SL_FILTER_INT] = SL_T_INT,
            [SL_FILTER_FLOAT] = SL_T_DOUBLE,  [SL_FILTER_DATE] = SL_T_DATE,
        };
        sl_err_t e;
        rc = sl_value_convert(a, in, to[kind], out, &e);
        if (rc == SL_ETYPE) {
            const char *why = kind == SL_FILTER_DATE ? "cannot make a date of"
                              : kind == SL_FILTER_INT ? "cannot make an int of"
                                                      : "cannot make a float of";
            return filter_error(err, op, kind, in, why);
        }
        return rc;
    }
    default:
        return sl_err_set(err, SL_EINVAL, "unknown filter %d", kind);
    }
}

/* sl_object_get with the first byte checked inline: most members differ
 * there, which saves a memcmp call per member on the per-record path. */
static inline const sl_value_t *member(const sl_value_t *obj, const char *k, uint32_t n)
{
    const sl_member_t *m = obj->u.members;
    for (uint32_t i = 0; i < obj->len; i++) {
        if (m[i].klen == n && (n == 0 || (m[i].key[0] == k[0] && memcmp(m[i].key, k, n) == 0))) {
            return &m[i].val;
        }
    }
    return NULL;
}

static const sl_value_t *walk(const sl_operand_t *op, const sl_value_t *cur)
{
    for (uint16_t i = 0; i < op->nsegs && cur; i++) {
        const sl_seg_t *g = &op->segs[i];
        if (cur->type == SL_T_OBJECT) {
            cur = member(cur, g->s, g->len);
        } else if (cur->type == SL_T_ARRAY && g->index >= 0) {
            cur = (uint32_t)g->index < cur->len ? &cur->u.items[g->index] : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

int sl_operand_eval(const sl_operand_t *op, const sl_tmpl_ctx_t *ctx, sl_arena_t *a,
                    sl_value_t *tmp, const sl_value_t **out, sl_err_t *err)
{
    const sl_value_t *v = NULL;
    switch (op->root) {
    case SL_ROOT_LITERAL:
        v = &op->lit;
        break;
    case SL_ROOT_RECORD:
        v = ctx ? walk(op, ctx->record) : NULL;
        break;
    case SL_ROOT_PARAMS:
        v = ctx ? walk(op, ctx->params) : NULL;
        break;
    case SL_ROOT_RUN:
        v = ctx ? walk(op, ctx->run) : NULL;
        break;
    case SL_ROOT_ITEM:
        v = ctx ? walk(op, ctx->item) : NULL;
        break;
    case SL_ROOT_STEPS:
        v = ctx ? walk(op, ctx->steps) : NULL;
        break;
    case SL_ROOT_ERROR:
        v = ctx ? walk(op, ctx->error) : NULL;
        break;
    case SL_ROOT_ENV: {
        const char *e = getenv(op->env);
        if (e) {
            /* Copied: the environment may change under us. */
            size_t n = strlen(e);
            char *d = sl_arena_strndup(a, e, n);
            if (!d) {
                return SL_ENOMEM;
            }
            *tmp = sl_value_str(d, n);
            v = tmp;
        }
        break;
    }
    default:
        break;
    }
    if (!v) {
        v = &null_value;
    }
    for (uint16_t i = 0; i < op->nfilters; i++) {
        sl_value_t r;
        int rc = apply_filter(op, &op->filters[i], v, a, &r, err);
        if (rc) {
            return rc;
        }
        *tmp = r;
        v = tmp;
    }
    *out = v;
    return 0;
}

/* ---- templates ---- */

typedef struct {
    const char *text; /* literal text, or NULL for an operand */
    uint32_t len;
    sl_operand_t op;
} part_t;

struct sl_template {
    part_t *parts;
    size_t nparts;
    bool literal;     /* no {{ }} */
    bool single;      /* exactly one {{ }} and nothing else: keeps its type */
    bool uses_record;
    bool needs_scratch; /* filters or env: render needs scratch memory */
    const char *what; /* "template '...'" for messages */
};

/* "template '<src>'" with the source cut to 60 bytes on one line. */
static const char *describe_template(sl_arena_t *a, const char *src, size_t n)
{
    char shown[72];
    size_t max = n > 60 ? 57 : n, k = 0;
    for (size_t i = 0; i < max; i++) {
        unsigned char c = (unsigned char)src[i];
        shown[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (n > max) {
        memcpy(shown + k, "...", 3);
        k += 3;
    }
    shown[k] = '\0';
    return sl_arena_sprintf(a, "template '%s'", shown);
}

static int add_part(sl_arena_t *a, part_t **parts, size_t *n, size_t *cap, part_t p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        part_t *np = sl_arena_realloc(a, *parts, *cap * sizeof **parts, ncap * sizeof **parts);
        if (!np) {
            return SL_ENOMEM;
        }
        *parts = np;
        *cap = ncap;
    }
    (*parts)[(*n)++] = p;
    return 0;
}

static const char *find2(const char *s, size_t from, size_t n, char c)
{
    for (size_t i = from; i + 1 < n; i++) {
        if (s[i] == c && s[i + 1] == c) {
            return s + i;
        }
    }
    return NULL;
}

int sl_template_compile(sl_arena_t *a, const char *src, size_t n, sl_template_t **out,
                        sl_err_t *err)
{
    sl_template_t *t = sl_arena_calloc(a, sizeof *t);
    char *copy = sl_arena_strndup(a, src ? src : "", src ? n : 0);
    if (!t || !copy) {
        return SL_ENOMEM;
    }
    t->what = describe_template(a, copy, n);
    if (!t->what) {
        return SL_ENOMEM;
    }
    sl_lexer_t lx = {.src = copy, .n = n, .pos = 0, .a = a, .err = err, .what = t->what};
    size_t cap = 0;
    while (lx.pos < n) {
        const char *open = find2(copy, lx.pos, n, '{');
        size_t stop = open ? (size_t)(open - copy) : n;
        if (stop > lx.pos) {
            part_t p = {.text = copy + lx.pos, .len = (uint32_t)(stop - lx.pos)};
            int rc = add_part(a, &t->parts, &t->nparts, &cap, p);
            if (rc) {
                return rc;
            }
        }
        if (!open) {
            break;
        }
        size_t open_pos = stop;
        lx.pos = open_pos + 2;
        sl_lex_skip_ws(&lx);
        part_t p = {0};
        int rc = sl_operand_parse(&lx, false, &p.op);
        if (rc) {
            /* A missing "}}" explains most parse errors best. */
            if (rc == SL_EPARSE && !find2(copy, open_pos + 2, n, '}')) {
                return sl_lex_error(&lx, SL_EPARSE, open_pos, "unterminated '{{'");
            }
            return rc;
        }
        sl_lex_skip_ws(&lx);
        if (lx.pos >= n) {
            return sl_lex_error(&lx, SL_EPARSE, open_pos, "unterminated '{{'");
        }
        if (lx.pos + 1 >= n || copy[lx.pos] != '}' || copy[lx.pos + 1] != '}') {
            if (!find2(copy, lx.pos, n, '}')) {
                return sl_lex_error(&lx, SL_EPARSE, open_pos, "unterminated '{{'");
            }
            return sl_lex_error(&lx, SL_EPARSE, lx.pos, "expected '}}' or '| filter' after '%s', "
                                "got '%.*s'", p.op.text, sl_lex_token_len(&lx, lx.pos),
                                copy + lx.pos);
        }
        lx.pos += 2;
        if (p.op.root == SL_ROOT_RECORD) {
            t->uses_record = true;
        }
        rc = add_part(a, &t->parts, &t->nparts, &cap, p);
        if (rc) {
            return rc;
        }
    }
    t->literal = true;
    for (size_t i = 0; i < t->nparts; i++) {
        const part_t *p = &t->parts[i];
        if (!p->text) {
            t->literal = false;
            t->needs_scratch |= p->op.nfilters > 0 || p->op.root == SL_ROOT_ENV;
        }
    }
    t->single = t->nparts == 1 && !t->parts[0].text;
    *out = t;
    return 0;
}

bool sl_template_is_literal(const sl_template_t *t)
{
    return t->literal;
}

bool sl_template_uses_record(const sl_template_t *t)
{
    return t->uses_record;
}

/* Integers are the most common rendered value (ids in keys and URLs):
 * digits written directly, without snprintf. */
static int put_int(sl_buf_t *out, int64_t i)
{
    char tmp[24], *end = tmp + sizeof tmp, *p = end;
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0) {
        *--p = '-';
    }
    return sl_buf_append(out, p, (size_t)(end - p));
}

/* Renders the parts; filter results go to the scratch arena sa. */
static int render_parts(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_arena_t *sa,
                        sl_buf_t *out, sl_err_t *err)
{
    for (size_t i = 0; i < t->nparts; i++) {
        const part_t *p = &t->parts[i];
        int rc;
        if (p->text) {
            rc = sl_buf_append(out, p->text, p->len);
        } else {
            sl_value_t tmp;
            const sl_value_t *v;
            rc = sl_operand_eval(&p->op, ctx, sa, &tmp, &v, err);
            if (rc == SL_ETYPE || rc == SL_EINVAL) {
                return sl_err_prefix(err, rc, "%s", t->what);
            }
            if (rc == 0) {
                rc = v->type == SL_T_INT ? put_int(out, v->u.i) : sl_value_to_text(v, out);
            }
        }
        if (rc) {
            return rc == SL_ENOMEM || rc == SL_ELIMIT
                       ? sl_err_set(err, rc, "%s: %s", t->what, sl_strerror(rc))
                       : rc;
        }
    }
    return 0;
}

int sl_template_render(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_buf_t *out,
                       sl_err_t *err)
{
    sl_arena_t *sa = NULL;
    if (t->needs_scratch) {
        sa = sl_scratch_arena();
        if (!sa) {
            return sl_err_set(err, SL_ENOMEM, "%s: out of memory", t->what);
        }
    }
    return render_parts(t, ctx, sa, out, err);
}

int sl_template_eval(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_arena_t *a,
                     sl_value_t *out, sl_err_t *err)
{
    if (t->single) {
        sl_value_t tmp;
        const sl_value_t *v;
        int rc = sl_operand_eval(&t->parts[0].op, ctx, a, &tmp, &v, err);
        if (rc == SL_ETYPE || rc == SL_EINVAL) {
            return sl_err_prefix(err, rc, "%s", t->what);
        }
        if (rc) {
            return sl_err_set(err, rc, "%s: %s", t->what, sl_strerror(rc));
        }
        *out = *v;
        if (v == &t->parts[0].op.lit && v->type == SL_T_STRING) {
            out->u.s = sl_arena_strndup(a, v->u.s, v->len);
            if (!out->u.s) {
                return sl_err_set(err, SL_ENOMEM, "%s: out of memory", t->what);
            }
        }
        return 0;
    }
    if (t->nparts <= 1) {
        const char *s = t->nparts ? t->parts[0].text : "";
        size_t n = t->nparts ? t->parts[0].len : 0;
        char *d = sl_arena_strndup(a, s, n);
        if (!d) {
            return sl_err_set(err, SL_ENOMEM, "%s: out of memory", t->what);
        }
        *out = sl_value_str(d, n);
        return 0;
    }
    sl_scratch_t *sc = sl_scratch_get();
    sl_arena_t *sa = sl_scratch_arena();
    if (!sc || !sa) {
        return sl_err_set(err, SL_ENOMEM, "%s: out of memory", t->what);
    }
    sl_buf_clear(&sc->render);
    int rc = render_parts(t, ctx, sa, &sc->render, err);
    if (rc) {
        return rc;
    }
    char *d = sl_arena_strndup(a, sc->render.data ? sc->render.data : "", sc->render.len);
    if (!d) {
        return sl_err_set(err, SL_ENOMEM, "%s: out of memory", t->what);
    }
    *out = sl_value_str(d, sc->render.len);
    return 0;
}

size_t sl_template_nparts(const sl_template_t *t)
{
    return t->nparts;
}

const char *sl_template_part(const sl_template_t *t, size_t i, size_t *len,
                             const sl_operand_t **op)
{
    const part_t *p = &t->parts[i];
    *len = p->len;
    *op = p->text ? NULL : &p->op;
    return p->text;
}
