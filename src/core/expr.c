/* Filter expressions; see include/sluice/expr.h.
 *
 * Recursive descent into a small tree in the compile arena; evaluation
 * walks it with short-circuit and/or. Operands (paths, literals, filters)
 * come from the template parser (tmpl_internal.h), so both languages read
 * paths and literals the same way. String literals that are ISO dates or
 * timestamps are parsed once at compile time, so `created_at >=
 * '2026-01-01'` compares integers per record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/timeutil.h"
#include "tmpl_internal.h"

#define MAX_DEPTH 64
#define US_PER_DAY 86400000000LL

typedef enum {
    N_OR = 0,
    N_AND,
    N_NOT,
    N_CMP,
    N_ISNULL,
    N_IN,
    N_TRUTHY,
} node_kind_t;

typedef enum {
    OP_EQ = 0,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
} cmp_op_t;

static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">="};

typedef struct node node_t;
struct node {
    uint8_t kind;   /* node_kind_t */
    uint8_t op;     /* cmp_op_t */
    bool negate;    /* is not null, not in */
    node_t *l, *r;  /* or, and, not */
    sl_operand_t *a, *b;
    sl_operand_t *list;
    uint32_t nlist;
};

struct sl_expr {
    node_t *root;
    bool needs_scratch; /* some operand has filters or reads env */
};

typedef struct {
    sl_lexer_t lx;
    int depth;
    bool needs_scratch;
} parser_t;

static node_t *new_node(parser_t *p, node_kind_t kind)
{
    node_t *n = sl_arena_calloc(p->lx.a, sizeof *n);
    if (n) {
        n->kind = (uint8_t)kind;
    }
    return n;
}

static bool can_start_operand(const sl_lexer_t *lx)
{
    if (lx->pos >= lx->n) {
        return false;
    }
    unsigned char c = (unsigned char)lx->src[lx->pos];
    return c == '\'' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == '_' ||
           (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int operand(parser_t *p, sl_operand_t **out, const char *after)
{
    sl_lexer_t *lx = &p->lx;
    sl_lex_skip_ws(lx);
    if (!can_start_operand(lx)) {
        if (lx->pos >= lx->n) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected a value after '%s'", after);
        }
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected a value after '%s', got '%.*s'",
                            after, sl_lex_token_len(lx, lx->pos), lx->src + lx->pos);
    }
    sl_operand_t *op = sl_arena_alloc(lx->a, sizeof *op);
    if (!op) {
        return SL_ENOMEM;
    }
    int rc = sl_operand_parse(lx, true, op);
    if (rc) {
        return rc;
    }
    if (op->nfilters || op->root == SL_ROOT_ENV) {
        p->needs_scratch = true;
    }
    *out = op;
    return 0;
}

static bool is_null_literal(const sl_operand_t *op)
{
    return op->root == SL_ROOT_LITERAL && op->lit.type == SL_T_NULL && op->nfilters == 0;
}

/* Reads a comparison operator at the cursor; -1 if none. */
static int cmp_operator(sl_lexer_t *lx, size_t *len)
{
    if (lx->pos >= lx->n) {
        return -1;
    }
    char c = lx->src[lx->pos];
    char d = lx->pos + 1 < lx->n ? lx->src[lx->pos + 1] : '\0';
    *len = 2;
    if (c == '=' && d == '=') {
        return OP_EQ;
    }
    if (c == '!' && d == '=') {
        return OP_NE;
    }
    if (c == '<' && d == '=') {
        return OP_LE;
    }
    if (c == '>' && d == '=') {
        return OP_GE;
    }
    *len = 1;
    if (c == '<') {
        return OP_LT;
    }
    if (c == '>') {
        return OP_GT;
    }
    return -1;
}

static int parse_or(parser_t *p, node_t **out);

static int parse_list(parser_t *p, node_t *n)
{
    sl_lexer_t *lx = &p->lx;
    sl_lex_skip_ws(lx);
    if (lx->pos >= lx->n || lx->src[lx->pos] != '[') {
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected '[' after 'in'");
    }
    lx->pos++;
    size_t cap = 0;
    sl_lex_skip_ws(lx);
    if (lx->pos < lx->n && lx->src[lx->pos] == ']') {
        lx->pos++;
        return 0;
    }
    for (;;) {
        sl_operand_t *item;
        int rc = operand(p, &item, n->nlist ? "," : "[");
        if (rc) {
            return rc;
        }
        if (n->nlist == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            sl_operand_t *nl =
                sl_arena_realloc(lx->a, n->list, cap * sizeof *nl, ncap * sizeof *nl);
            if (!nl) {
                return SL_ENOMEM;
            }
            n->list = nl;
            cap = ncap;
        }
        n->list[n->nlist++] = *item;
        sl_lex_skip_ws(lx);
        if (lx->pos < lx->n && lx->src[lx->pos] == ',') {
            lx->pos++;
            continue;
        }
        if (lx->pos < lx->n && lx->src[lx->pos] == ']') {
            lx->pos++;
            return 0;
        }
        if (lx->pos >= lx->n) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected ',' or ']' to end the list");
        }
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected ',' or ']' in the list, got '%.*s'",
                            sl_lex_token_len(lx, lx->pos), lx->src + lx->pos);
    }
}

/* True at "not in" (after an operand). */
static bool not_in_ahead(sl_lexer_t *lx)
{
    if (!sl_lex_keyword(lx, lx->pos, "not")) {
        return false;
    }
    size_t save = lx->pos;
    lx->pos += 3;
    sl_lex_skip_ws(lx);
    bool in = sl_lex_keyword(lx, lx->pos, "in");
    lx->pos = save;
    return in;
}

/* comparison := '(' or ')' | operand [cmp operand | is [not] null | [not] in list] */
static int parse_cmp(parser_t *p, node_t **out)
{
    sl_lexer_t *lx = &p->lx;
    sl_lex_skip_ws(lx);
    if (lx->pos < lx->n && lx->src[lx->pos] == '(') {
        size_t open = lx->pos++;
        int rc = parse_or(p, out);
        if (rc) {
            return rc;
        }
        sl_lex_skip_ws(lx);
        if (lx->pos >= lx->n) {
            return sl_lex_error(lx, SL_EPARSE, open, "unclosed '('");
        }
        if (lx->src[lx->pos] != ')') {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected ')', got '%.*s'",
                                sl_lex_token_len(lx, lx->pos), lx->src + lx->pos);
        }
        lx->pos++;
        return 0;
    }
    if (lx->pos >= lx->n) {
        return sl_lex_error(lx, SL_EPARSE, lx->pos, lx->pos ? "expected a value at the end"
                                                             : "empty expression");
    }
    if (!can_start_operand(lx)) {
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected a value, got '%.*s'",
                            sl_lex_token_len(lx, lx->pos), lx->src + lx->pos);
    }
    sl_operand_t *a;
    int rc = operand(p, &a, "");
    if (rc) {
        return rc;
    }
    sl_lex_skip_ws(lx);
    size_t oplen;
    int op = cmp_operator(lx, &oplen);
    node_t *n;
    if (op >= 0) {
        size_t at = lx->pos;
        lx->pos += oplen;
        n = new_node(p, N_CMP);
        if (!n) {
            return SL_ENOMEM;
        }
        n->op = (uint8_t)op;
        n->a = a;
        rc = operand(p, &n->b, op_text[op]);
        if (rc) {
            return rc;
        }
        if (is_null_literal(a) || is_null_literal(n->b)) {
            return sl_lex_error(lx, SL_EPARSE, at, "'%s null' is never true; use 'is null' or "
                                "'is not null'", op_text[op]);
        }
    } else if (lx->pos < lx->n && lx->src[lx->pos] == '=') {
        return sl_lex_error(lx, SL_EPARSE, lx->pos, "'=' is not an operator; use '=='");
    } else if (sl_lex_keyword(lx, lx->pos, "is")) {
        lx->pos += 2;
        n = new_node(p, N_ISNULL);
        if (!n) {
            return SL_ENOMEM;
        }
        n->a = a;
        sl_lex_skip_ws(lx);
        if (sl_lex_keyword(lx, lx->pos, "not")) {
            n->negate = true;
            lx->pos += 3;
            sl_lex_skip_ws(lx);
        }
        if (!sl_lex_keyword(lx, lx->pos, "null")) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, n->negate
                                                            ? "expected 'null' after 'is not'"
                                                            : "expected 'null' or 'not null' "
                                                              "after 'is'");
        }
        lx->pos += 4;
    } else if (sl_lex_keyword(lx, lx->pos, "in") || not_in_ahead(lx)) {
        n = new_node(p, N_IN);
        if (!n) {
            return SL_ENOMEM;
        }
        n->a = a;
        if (sl_lex_keyword(lx, lx->pos, "not")) {
            n->negate = true;
            lx->pos += 3;
            sl_lex_skip_ws(lx);
        }
        lx->pos += 2;
        rc = parse_list(p, n);
        if (rc) {
            return rc;
        }
    } else {
        n = new_node(p, N_TRUTHY);
        if (!n) {
            return SL_ENOMEM;
        }
        n->a = a;
    }
    *out = n;
    return 0;
}

static int parse_not(parser_t *p, node_t **out)
{
    sl_lexer_t *lx = &p->lx;
    sl_lex_skip_ws(lx);
    if (sl_lex_keyword(lx, lx->pos, "not")) {
        lx->pos += 3;
        if (++p->depth > MAX_DEPTH) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expression nested too deeply");
        }
        node_t *n = new_node(p, N_NOT);
        if (!n) {
            return SL_ENOMEM;
        }
        int rc = parse_not(p, &n->l);
        p->depth--;
        if (rc) {
            return rc;
        }
        *out = n;
        return 0;
    }
    return parse_cmp(p, out);
}

static int parse_binary(parser_t *p, node_t **out, bool is_or)
{
    sl_lexer_t *lx = &p->lx;
    node_t *l;
    int rc = is_or ? parse_binary(p, &l, false) : parse_not(p, &l);
    if (rc) {
        return rc;
    }
    const char *kw = is_or ? "or" : "and";
    for (;;) {
        sl_lex_skip_ws(lx);
        if (!sl_lex_keyword(lx, lx->pos, kw)) {
            break;
        }
        lx->pos += strlen(kw);
        sl_lex_skip_ws(lx);
        if (lx->pos >= lx->n) {
            return sl_lex_error(lx, SL_EPARSE, lx->pos, "expected a condition after '%s'", kw);
        }
        node_t *n = new_node(p, is_or ? N_OR : N_AND);
        if (!n) {
            return SL_ENOMEM;
        }
        n->l = l;
        rc = is_or ? parse_binary(p, &n->r, false) : parse_not(p, &n->r);
        if (rc) {
            return rc;
        }
        l = n;
    }
    *out = l;
    return 0;
}

static int parse_or(parser_t *p, node_t **out)
{
    if (++p->depth > MAX_DEPTH) {
        return sl_lex_error(&p->lx, SL_EPARSE, p->lx.pos, "expression nested too deeply");
    }
    int rc = parse_binary(p, out, true);
    p->depth--;
    return rc;
}

int sl_expr_compile(sl_arena_t *a, const char *src, size_t n, sl_expr_t **out, sl_err_t *err)
{
    char *copy = sl_arena_strndup(a, src ? src : "", src ? n : 0);
    sl_expr_t *e = sl_arena_calloc(a, sizeof *e);
    if (!copy || !e) {
        return sl_err_set(err, SL_ENOMEM, "out of memory compiling an expression");
    }
    parser_t p = {.lx = {.src = copy, .n = n, .pos = 0, .a = a, .err = err, .what = NULL}};
    int rc = parse_or(&p, &e->root);
    if (rc) {
        return rc == SL_ENOMEM ? sl_err_set(err, rc, "out of memory compiling an expression") : rc;
    }
    sl_lex_skip_ws(&p.lx);
    if (p.lx.pos < n) {
        const char *fmt = copy[p.lx.pos] == ')' ? "unmatched ')'"
                          : copy[p.lx.pos] == '&' || copy[p.lx.pos] == '|'
                              ? "unexpected '%.*s' (use 'and' and 'or')"
                              : "expected 'and', 'or' or the end, got '%.*s'";
        return sl_lex_error(&p.lx, SL_EPARSE, p.lx.pos, fmt, sl_lex_token_len(&p.lx, p.lx.pos),
                            copy + p.lx.pos);
    }
    e->needs_scratch = p.needs_scratch;
    *out = e;
    return 0;
}

/* ---- evaluation ---- */

static bool is_time(const sl_value_t *v)
{
    return v->type == SL_T_TIMESTAMP || v->type == SL_T_DATE;
}

static int64_t time_us(const sl_value_t *v)
{
    if (v->type == SL_T_TIMESTAMP) {
        return v->u.i;
    }
    /* Saturate: a date too far out for microseconds is still ordered. */
    if (v->u.i > INT64_MAX / US_PER_DAY) {
        return INT64_MAX;
    }
    if (v->u.i < INT64_MIN / US_PER_DAY) {
        return INT64_MIN;
    }
    return v->u.i * US_PER_DAY;
}

static int cmp_i64(int64_t x, int64_t y)
{
    return x < y ? -1 : x > y;
}

/* Orders x and y; *ok false when they are not comparable. */
static int order(const sl_operand_t *ao, const sl_value_t *x, const sl_operand_t *bo,
                 const sl_value_t *y, bool *ok)
{
    *ok = true;
    /* The common cases first, without the generic comparison. */
    if (x->type == SL_T_INT && y->type == SL_T_INT) {
        return cmp_i64(x->u.i, y->u.i);
    }
    if (x->type == SL_T_STRING && y->type == SL_T_STRING) {
        uint32_t n = SL_MIN(x->len, y->len);
        int c = n ? memcmp(x->u.s, y->u.s, n) : 0;
        return c ? (c < 0 ? -1 : 1) : cmp_i64(x->len, y->len);
    }
    if (is_time(x) && bo && bo->lit_has_ts && y == &bo->lit) {
        return cmp_i64(time_us(x), bo->lit_ts);
    }
    if (is_time(y) && ao && ao->lit_has_ts && x == &ao->lit) {
        return cmp_i64(ao->lit_ts, time_us(y));
    }
    if (x->type == SL_T_ARRAY || x->type == SL_T_OBJECT || y->type == SL_T_ARRAY ||
        y->type == SL_T_OBJECT) {
        *ok = false;
        return 0;
    }
    int e = 0;
    int c = sl_value_compare(x, y, &e);
    *ok = e == 0;
    return c;
}

static bool equal(const sl_operand_t *ao, const sl_value_t *x, const sl_operand_t *bo,
                  const sl_value_t *y)
{
    if ((x->type == SL_T_ARRAY || x->type == SL_T_OBJECT) && x->type == y->type) {
        return sl_value_equal(x, y);
    }
    bool ok;
    int c = order(ao, x, bo, y, &ok);
    return ok && c == 0;
}

static int type_error(sl_err_t *err, const sl_operand_t *ao, const sl_value_t *x,
                      const sl_operand_t *bo, const sl_value_t *y, int op)
{
    char dx[96], dy[96];
    sl_value_describe(x, ao->root == SL_ROOT_ENV, dx, sizeof dx);
    sl_value_describe(y, bo->root == SL_ROOT_ENV, dy, sizeof dy);
    const char *fx = ao->root == SL_ROOT_LITERAL ? "" : ao->text;
    const char *fy = bo->root == SL_ROOT_LITERAL ? "" : bo->text;
    return sl_err_set(err, SL_ETYPE, "cannot compare %s%s%s%s with %s%s%s%s using '%s'", dx,
                      *fx ? " (" : "", fx, *fx ? ")" : "", dy, *fy ? " (" : "", fy,
                      *fy ? ")" : "", op_text[op]);
}

static int eval_node(const node_t *n, const sl_tmpl_ctx_t *ctx, sl_arena_t *sa, bool *res,
                     sl_err_t *err)
{
    sl_value_t ta, tb;
    const sl_value_t *x, *y;
    int rc;
    switch (n->kind) {
    case N_OR:
    case N_AND:
        rc = eval_node(n->l, ctx, sa, res, err);
        if (rc || *res == (n->kind == N_OR)) {
            return rc; /* short circuit */
        }
        return eval_node(n->r, ctx, sa, res, err);
    case N_NOT:
        rc = eval_node(n->l, ctx, sa, res, err);
        *res = !*res;
        return rc;
    case N_TRUTHY:
        rc = sl_operand_eval(n->a, ctx, sa, &ta, &x, err);
        *res = rc == 0 && sl_value_truthy(x);
        return rc;
    case N_ISNULL:
        rc = sl_operand_eval(n->a, ctx, sa, &ta, &x, err);
        *res = rc == 0 && ((x->type == SL_T_NULL) != n->negate);
        return rc;
    case N_IN:
        *res = false;
        rc = sl_operand_eval(n->a, ctx, sa, &ta, &x, err);
        if (rc || x->type == SL_T_NULL) {
            return rc;
        }
        for (uint32_t i = 0; i < n->nlist; i++) {
            const sl_operand_t *it = &n->list[i];
            rc = sl_operand_eval(it, ctx, sa, &tb, &y, err);
            if (rc) {
                return rc;
            }
            if (y->type != SL_T_NULL && equal(n->a, x, it, y)) {
                *res = !n->negate;
                return 0;
            }
        }
        *res = n->negate;
        return 0;
    case N_CMP: {
        *res = false;
        rc = sl_operand_eval(n->a, ctx, sa, &ta, &x, err);
        if (rc) {
            return rc;
        }
        rc = sl_operand_eval(n->b, ctx, sa, &tb, &y, err);
        if (rc || x->type == SL_T_NULL || y->type == SL_T_NULL) {
            return rc;
        }
        if (n->op == OP_EQ || n->op == OP_NE) {
            *res = equal(n->a, x, n->b, y) == (n->op == OP_EQ);
            return 0;
        }
        bool ok;
        int c = order(n->a, x, n->b, y, &ok);
        if (!ok) {
            return type_error(err, n->a, x, n->b, y, n->op);
        }
        switch (n->op) {
        case OP_LT:
            *res = c < 0;
            break;
        case OP_LE:
            *res = c <= 0;
            break;
        case OP_GT:
            *res = c > 0;
            break;
        default:
            *res = c >= 0;
            break;
        }
        return 0;
    }
    default:
        return sl_err_set(err, SL_EINVAL, "bad expression node %d", n->kind);
    }
}

int sl_expr_eval(const sl_expr_t *e, const sl_tmpl_ctx_t *ctx, bool *result, sl_err_t *err)
{
    sl_arena_t *sa = NULL;
    if (e->needs_scratch) {
        sa = sl_scratch_arena();
        if (!sa) {
            return sl_err_set(err, SL_ENOMEM, "out of memory evaluating an expression");
        }
    }
    *result = false;
    int rc = eval_node(e->root, ctx, sa, result, err);
    if (rc == SL_ENOMEM) {
        return sl_err_set(err, rc, "out of memory evaluating an expression");
    }
    return rc;
}

/* ---- templated expressions ---- */

/* Appends s as the body of a string literal quoted with q. */
static int put_escaped(sl_buf_t *b, const char *s, size_t n, char q)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (c == (unsigned char)q || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = sl_buf_append(b, esc, 2);
        } else if (c == '\n') {
            rc = sl_buf_append(b, "\\n", 2);
        } else if (c == '\t') {
            rc = sl_buf_append(b, "\\t", 2);
        } else if (c == '\r') {
            rc = sl_buf_append(b, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            rc = sl_buf_printf(b, "\\u%04x", c);
        } else {
            rc = sl_buf_putc(b, (char)c);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int put_literal(sl_buf_t *b, const sl_value_t *v, bool in_list, const char *what,
                       sl_err_t *err)
{
    char tmp[40];
    int rc;
    switch (v->type) {
    case SL_T_NULL:
        return sl_buf_append_c(b, "null");
    case SL_T_BOOL:
    case SL_T_INT:
    case SL_T_BIGNUM:
        return sl_value_to_text(v, b);
    case SL_T_DOUBLE: {
        double d;
        sl_value_get_double(v, &d);
        if (!isfinite(d)) {
            return sl_err_set(err, SL_EINVAL, "%s: %s is not a finite number", what,
                              (v->flags & SL_VF_RAW) ? "value" : "float");
        }
        return sl_value_to_text(v, b);
    }
    case SL_T_STRING:
    case SL_T_TIMESTAMP:
    case SL_T_DATE: {
        const char *s = v->u.s;
        size_t n = v->len;
        if (v->type == SL_T_TIMESTAMP) {
            n = sl_timestamp_format(v->u.i, tmp);
            s = tmp;
        } else if (v->type == SL_T_DATE) {
            n = sl_date_format(v->u.i, tmp);
            s = tmp;
        }
        rc = sl_buf_putc(b, '\'');
        if (!rc) {
            rc = put_escaped(b, s, n, '\'');
        }
        return rc ? rc : sl_buf_putc(b, '\'');
    }
    case SL_T_ARRAY:
        if (in_list) {
            return sl_err_set(err, SL_EINVAL, "%s: nested lists cannot be used in an "
                              "expression", what);
        }
        rc = sl_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            if (i) {
                rc = sl_buf_append(b, ", ", 2);
            }
            if (!rc) {
                rc = put_literal(b, &v->u.items[i], true, what, err);
            }
        }
        return rc ? rc : sl_buf_putc(b, ']');
    default:
        return sl_err_set(err, SL_EINVAL, "%s: an object cannot be used in an expression", what);
    }
}

/* Tracks whether the text so far leaves us inside a quoted string. */
typedef struct {
    char quote; /* '\'' or '"' inside a string, else 0 */
    bool escape;
} qstate_t;

static void track_quotes(qstate_t *q, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!q->quote) {
            if (c == '\'' || c == '"') {
                q->quote = c;
            }
        } else if (q->escape) {
            q->escape = false;
        } else if (c == '\\') {
            q->escape = true;
        } else if (c == q->quote) {
            q->quote = 0;
        }
    }
}

static int expand(const sl_template_t *t, const sl_tmpl_ctx_t *ctx, sl_arena_t *a, sl_buf_t *b,
                  sl_err_t *err)
{
    qstate_t q = {0, false};
    size_t np = sl_template_nparts(t);
    for (size_t i = 0; i < np; i++) {
        size_t len;
        const sl_operand_t *op;
        const char *text = sl_template_part(t, i, &len, &op);
        int rc;
        if (text) {
            track_quotes(&q, text, len);
            rc = sl_buf_append(b, text, len);
        } else {
            sl_value_t tmp;
            const sl_value_t *v;
            rc = sl_operand_eval(op, ctx, a, &tmp, &v, err);
            if (rc) {
                return rc == SL_ENOMEM ? sl_err_set(err, rc, "out of memory") : rc;
            }
            char what[96];
            snprintf(what, sizeof what, "{{ %s }}", op->text);
            if (q.quote) {
                const char *s;
                size_t n;
                rc = sl_value_text_view(a, v, &s, &n);
                if (!rc) {
                    rc = put_escaped(b, s, n, q.quote);
                }
            } else {
                rc = put_literal(b, v, false, what, err);
            }
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int sl_expr_compile_templated(sl_arena_t *a, const char *src, size_t n, const sl_tmpl_ctx_t *ctx,
                              sl_expr_t **out, sl_err_t *err)
{
    sl_template_t *t;
    int rc = sl_template_compile(a, src, n, &t, err);
    if (rc) {
        return rc;
    }
    if (sl_template_is_literal(t)) {
        return sl_expr_compile(a, src, n, out, err);
    }
    if (sl_template_uses_record(t)) {
        return sl_err_set(err, SL_EPARSE,
                          "{{ record... }} cannot be used in an expression: templates there are "
                          "expanded once; write record fields without braces (amount >= 10)");
    }
    sl_buf_t b;
    sl_buf_init(&b, 0);
    rc = expand(t, ctx, a, &b, err);
    if (rc == 0) {
        rc = sl_expr_compile(a, b.data ? b.data : "", b.len, out, err);
        if (rc) {
            sl_err_prefix(err, rc, "in '%.200s' (after expanding templates)",
                          b.data ? b.data : "");
        }
    } else if (rc == SL_ENOMEM || rc == SL_ELIMIT) {
        sl_err_set(err, rc, "out of memory expanding templates");
    }
    sl_buf_free(&b);
    return rc;
}
