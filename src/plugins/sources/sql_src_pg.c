/* The PostgreSQL driver of the `sql` source (see sql_src_internal.h).
 *
 * Rows stream with COPY (query) TO STDOUT in text format: the fastest way
 * out of PostgreSQL (no per-row result objects), one row per
 * PQgetCopyData, in constant memory. COPY takes no parameters, so the
 * incremental lower bound is bound to set_config('sluice.cursor', $1) and
 * the query reads it back with CAST(current_setting(...) AS <type>), the
 * type being the one PostgreSQL infers for $1 when the same SELECT is
 * prepared (PQprepare + PQdescribePrepared, which also give the column
 * names and types that decide how each column's text is decoded).
 *
 * The session runs with TimeZone UTC and DateStyle ISO, so timestamps and
 * dates print in one known form. bytea prints as PostgreSQL's hex text
 * ("\x0102ff") and stays a string; numeric stays exact (integers as int or
 * bignum, others as raw number text). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/buf.h"
#include "sluice/json.h"
#include "sluice/pg.h"
#include "sluice/timeutil.h"
#include "sql_src_internal.h"

struct sl_sqlsrc_conn {
    PGconn *pg;
    char where[512];
    bool utf8; /* the server checks text is valid UTF-8 */
    size_t ncols;
    char **names;
    sl_pg_col_t *cols;
    bool copying; /* inside COPY OUT */
    sl_buf_t sql;
};

/* ---- type kinds ---- */

sl_pg_col_t sl_pg_col_kind(unsigned oid)
{
    sl_pg_col_t c = {SL_PGK_TEXT, SL_PGK_TEXT};
    switch (oid) {
    case SL_PG_INT8:
    case SL_PG_INT2:
    case SL_PG_INT4:
    case SL_PG_OID:
        c.kind = SL_PGK_INT;
        break;
    case SL_PG_NUMERIC:
        c.kind = SL_PGK_NUMERIC;
        break;
    case SL_PG_FLOAT4:
    case SL_PG_FLOAT8:
        c.kind = SL_PGK_FLOAT;
        break;
    case SL_PG_BOOL:
        c.kind = SL_PGK_BOOL;
        break;
    case SL_PG_DATE:
        c.kind = SL_PGK_DATE;
        break;
    case SL_PG_TIMESTAMP:
    case SL_PG_TIMESTAMPTZ:
        c.kind = SL_PGK_TIMESTAMP;
        break;
    case SL_PG_JSON:
    case SL_PG_JSONB:
        c.kind = SL_PGK_JSON;
        break;
    /* arrays */
    case 1005: /* int2[] */
    case 1007: /* int4[] */
    case 1016: /* int8[] */
    case 1028: /* oid[] */
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_INT;
        break;
    case 1231:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_NUMERIC;
        break;
    case 1021:
    case 1022:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_FLOAT;
        break;
    case 1000:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_BOOL;
        break;
    case 1182:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_DATE;
        break;
    case 1115:
    case 1185:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_TIMESTAMP;
        break;
    case 199:
    case 3807:
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_JSON;
        break;
    case 1001: /* bytea[] */
    case 1002: /* "char"[] */
    case 1003: /* name[] */
    case 1009: /* text[] */
    case 1014: /* bpchar[] */
    case 1015: /* varchar[] */
    case 2951: /* uuid[] */
    case 1183: /* time[] */
    case 1187: /* interval[] */
        c.kind = SL_PGK_ARRAY;
        c.elem = SL_PGK_TEXT;
        break;
    default:
        break;
    }
    return c;
}

/* ---- decoding text ---- */

static int parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n || n - i > 19) {
        return SL_EPARSE;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) {
            return SL_EPARSE;
        }
        v = v * 10 + d;
    }
    /* 19 digits fit in uint64; int64 holds up to 2^63-1 (2^63 negated). */
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
        return SL_EPARSE;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    size_t i = n && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == n) {
        return false;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* A number's text: int when it is an integer within int64, bignum beyond,
 * else the exact text as a raw double; NaN and infinities as doubles. */
static sl_value_t number_value(const char *s, size_t n)
{
    sl_value_t v = {0};
    int64_t i;
    if (parse_int(s, n, &i) == 0) {
        return sl_value_int(i);
    }
    if (all_digits(s, n)) {
        v.type = SL_T_BIGNUM;
        v.len = (uint32_t)n;
        v.u.s = s;
        return v;
    }
    size_t k = n && s[0] == '-' ? 1 : 0;
    if (k < n && s[k] >= '0' && s[k] <= '9') {
        v.type = SL_T_DOUBLE;
        v.flags = SL_VF_RAW;
        v.len = (uint32_t)n;
        v.u.s = s;
        return v;
    }
    if (n == 3 && strncasecmp(s, "NaN", 3) == 0) {
        return sl_value_double(NAN);
    }
    return sl_value_double(k ? -INFINITY : INFINITY);
}

static sl_value_t float_value(const char *s, size_t n)
{
    size_t k = n && s[0] == '-' ? 1 : 0;
    if (k < n && s[k] >= '0' && s[k] <= '9') {
        sl_value_t v = {0};
        v.type = SL_T_DOUBLE;
        v.flags = SL_VF_RAW;
        v.len = (uint32_t)n;
        v.u.s = s;
        return v;
    }
    return number_value(s, n);
}

static sl_value_t str_value(const char *s, size_t n, bool utf8)
{
    sl_value_t v = sl_value_str(s, n);
    v.flags = utf8 ? SL_VF_UTF8 : 0;
    return v;
}

static int decode_array(sl_arena_t *a, char **pp, char *end, uint8_t elem, bool utf8,
                        unsigned depth, sl_value_t *out);

/* Converts one field's text (already unescaped, s[n] writable) by kind.
 * Text that does not parse as its kind ("infinity", BC dates) stays a
 * string. */
static int decode_scalar(sl_arena_t *a, uint8_t kind, uint8_t elem, char *s, size_t n, bool utf8,
                         sl_value_t *out)
{
    int64_t i;
    switch (kind) {
    case SL_PGK_INT:
        if (parse_int(s, n, &i) == 0) {
            *out = sl_value_int(i);
            return 0;
        }
        break;
    case SL_PGK_NUMERIC:
        *out = number_value(s, n);
        return 0;
    case SL_PGK_FLOAT:
        *out = float_value(s, n);
        return 0;
    case SL_PGK_BOOL:
        if (n == 1 && (s[0] == 't' || s[0] == 'f')) {
            *out = sl_value_bool(s[0] == 't');
            return 0;
        }
        break;
    case SL_PGK_DATE:
        if (sl_date_parse(s, n, &i) == 0) {
            *out = sl_value_date(i);
            return 0;
        }
        break;
    case SL_PGK_TIMESTAMP:
        if (sl_timestamp_parse(s, n, &i) == 0) {
            *out = sl_value_timestamp(i);
            return 0;
        }
        break;
    case SL_PGK_JSON: {
        sl_json_error_t jerr;
        int rc = sl_json_parse(a, s, n, NULL, out, &jerr);
        if (rc != SL_EPARSE) {
            return rc;
        }
        break;
    }
    case SL_PGK_ARRAY: {
        char *p = s;
        char *end = s + n;
        if (p < end && *p == '[') {
            /* "[0:2]={...}": bounds other than 1, not kept */
            char *eq = memchr(p, '=', n);
            p = eq ? eq + 1 : end;
        }
        if (p < end && *p == '{') {
            char *q = p;
            sl_value_t v;
            int rc = decode_array(a, &q, end, elem, utf8, 0, &v);
            if (rc == 0 && q == end) {
                *out = v;
                return 0;
            }
            if (rc == SL_ENOMEM) {
                return rc;
            }
        }
        return SL_EPARSE;
    }
    default:
        break;
    }
    *out = str_value(s, n, utf8);
    return 0;
}

#define MAX_ARRAY_DEPTH 16

/* Parses an array literal "{a,"b c",NULL,{1,2}}" at *pp (in place: quoted
 * elements are unescaped where they stand). */
static int decode_array(sl_arena_t *a, char **pp, char *end, uint8_t elem, bool utf8,
                        unsigned depth, sl_value_t *out)
{
    char *p = *pp;
    if (depth >= MAX_ARRAY_DEPTH || p >= end || *p != '{') {
        return SL_EPARSE;
    }
    p++;
    size_t n = 0, cap = 0;
    sl_value_t *items = NULL;
    bool expect_item = false;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            p++;
        }
        if (p >= end) {
            return SL_EPARSE;
        }
        if (*p == '}' && !expect_item) {
            p++;
            break;
        }
        sl_value_t v;
        if (*p == '{') {
            int rc = decode_array(a, &p, end, elem, utf8, depth + 1, &v);
            if (rc) {
                return rc;
            }
        } else if (*p == '"') {
            char *w = ++p, *start = p;
            for (;;) {
                if (p >= end) {
                    return SL_EPARSE;
                }
                if (*p == '"') {
                    p++;
                    break;
                }
                if (*p == '\\') {
                    if (++p >= end) {
                        return SL_EPARSE;
                    }
                }
                *w++ = *p++;
            }
            int rc = decode_scalar(a, elem == SL_PGK_ARRAY ? SL_PGK_TEXT : elem, 0, start,
                                   (size_t)(w - start), utf8, &v);
            if (rc) {
                return rc;
            }
        } else {
            char *w = p, *start = p;
            bool escaped = false;
            while (p < end && *p != ',' && *p != '}') {
                if (*p == '{' || *p == '"') {
                    return SL_EPARSE;
                }
                if (*p == '\\') {
                    escaped = true;
                    if (++p >= end) {
                        return SL_EPARSE;
                    }
                }
                *w++ = *p++;
            }
            /* unquoted elements lose surrounding white space */
            while (w > start && (w[-1] == ' ' || w[-1] == '\t')) {
                w--;
            }
            size_t len = (size_t)(w - start);
            if (len == 0) {
                return SL_EPARSE;
            }
            if (!escaped && len == 4 && strncasecmp(start, "NULL", 4) == 0) {
                v = sl_value_null();
            } else {
                int rc = decode_scalar(a, elem == SL_PGK_ARRAY ? SL_PGK_TEXT : elem, 0, start,
                                       len, utf8, &v);
                if (rc) {
                    return rc;
                }
            }
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            sl_value_t *grown = sl_arena_realloc(a, items, cap * sizeof *items,
                                                 ncap * sizeof *items);
            if (!grown) {
                return SL_ENOMEM;
            }
            items = grown;
            cap = ncap;
        }
        items[n++] = v;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            p++;
        }
        if (p < end && *p == ',') {
            p++;
            expect_item = true;
        } else if (p < end && *p == '}') {
            p++;
            break;
        } else {
            return SL_EPARSE;
        }
    }
    sl_value_t v = {0};
    v.type = SL_T_ARRAY;
    v.len = (uint32_t)n;
    v.u.items = items;
    *out = v;
    *pp = p;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undoes COPY text escapes in s[0..n) in place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
    char *w = s;
    const char *p = s, *end = s + n;
    while (p < end) {
        if (*p != '\\' || p + 1 >= end) {
            *w++ = *p++;
            continue;
        }
        char c = p[1];
        p += 2;
        switch (c) {
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'v':
            *w++ = '\v';
            break;
        case 'x': {
            int h = p < end ? hexval((unsigned char)*p) : -1;
            if (h < 0) {
                *w++ = 'x';
                break;
            }
            p++;
            int h2 = p < end ? hexval((unsigned char)*p) : -1;
            if (h2 >= 0) {
                h = h * 16 + h2;
                p++;
            }
            *w++ = (char)h;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0';
                for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++) {
                    v = v * 8 + (*p++ - '0');
                }
                *w++ = (char)v;
            } else {
                *w++ = c;
            }
            break;
        }
    }
    return (size_t)(w - s);
}

int sl_pg_decode_row(sl_arena_t *a, char *buf, size_t n, const sl_pg_col_t *cols, size_t ncols,
                     bool utf8, sl_value_t *vals, const uint32_t *want, size_t nwant,
                     sl_value_t *native, sl_err_t *err)
{
    char *p = buf, *end = buf + n;
    /* Most rows have no escapes (nor nulls): then fields end at tabs. */
    bool row_esc = memchr(buf, '\\', n) != NULL;
    for (size_t i = 0; i < ncols; i++) {
        if (p > end) {
            return sl_err_set(err, SL_EPARSE, "COPY row has %zu columns, expected %zu", i,
                              ncols);
        }
        char *s = p, *fe;
        bool esc = false;
        if (!row_esc) {
            fe = memchr(p, '\t', (size_t)(end - p));
            fe = fe ? fe : end;
        } else {
            for (fe = p; fe < end && *fe != '\t'; fe++) {
                esc |= *fe == '\\';
            }
        }
        if (i + 1 < ncols ? fe == end : fe != end) {
            return sl_err_set(err, SL_EPARSE, "COPY row does not have %zu columns", ncols);
        }
        size_t len = (size_t)(fe - s);
        p = fe + 1;
        if (esc) {
            if (len == 2 && s[1] == 'N') {
                vals[i] = sl_value_null();
                continue;
            }
            len = unescape(s, len);
        }
        for (size_t k = 0; native && k < nwant; k++) {
            if (want[k] == i) {
                char *copy = sl_arena_strndup(a, s, len);
                if (!copy) {
                    return SL_ENOMEM;
                }
                native[k] = str_value(copy, len, utf8);
            }
        }
        int rc = decode_scalar(a, cols[i].kind, cols[i].elem, s, len, utf8, &vals[i]);
        if (rc == SL_EPARSE) {
            return sl_err_set(err, SL_EPARSE, "column %zu: malformed array text", i + 1);
        }
        if (rc) {
            return rc;
        }
    }
    for (size_t k = 0; native && k < nwant; k++) {
        if (vals[want[k]].type == SL_T_NULL) {
            native[k] = sl_value_null();
        }
    }
    return 0;
}

/* ---- the driver ---- */

static bool pg_accepts(const char *url)
{
    return sl_pg_is_url(url);
}

static void free_cols(sl_sqlsrc_conn_t *c)
{
    for (size_t i = 0; i < c->ncols; i++) {
        free(c->names[i]);
    }
    free(c->names);
    free(c->cols);
    c->names = NULL;
    c->cols = NULL;
    c->ncols = 0;
}

/* Reads what is left of the current statement (a LIMIT 1 check, or after
 * the end); a source that stops early disconnects instead. */
static void pg_finish(sl_sqlsrc_conn_t *c)
{
    if (c->copying) {
        char *row;
        while (PQgetCopyData(c->pg, &row, 0) > 0) {
            PQfreemem(row);
        }
        c->copying = false;
    }
    PGresult *r;
    while ((r = PQgetResult(c->pg)) != NULL) {
        PQclear(r);
    }
}

static void pg_disconnect(sl_sqlsrc_conn_t *c)
{
    if (!c) {
        return;
    }
    if (c->pg) {
        PQfinish(c->pg);
    }
    free_cols(c);
    sl_buf_free(&c->sql);
    free(c);
}

static int pg_connect(const char *url, const char *base_dir, sl_sqlsrc_conn_t **out,
                      sl_err_t *err)
{
    (void)base_dir;
    *out = NULL;
    sl_sqlsrc_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    sl_pg_where(url, c->where, sizeof c->where);
    int rc = sl_pg_connect(url, &c->pg, err);
    if (!rc) {
        rc = sl_pg_exec(c->pg,
                        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                        " SET extra_float_digits = 1; SET bytea_output = 'hex'",
                        "session settings", err);
    }
    if (rc) {
        pg_disconnect(c);
        return rc;
    }
    const char *enc = PQparameterStatus(c->pg, "server_encoding");
    c->utf8 = enc && strcmp(enc, "SQL_ASCII") != 0;
    *out = c;
    return 0;
}

static const char *pg_where(const sl_sqlsrc_conn_t *c)
{
    return c->where;
}

static int result_err(sl_sqlsrc_conn_t *c, PGresult *r, sl_err_t *err)
{
    sl_err_set(err, SL_EIO, "%s", sl_pg_msg(c->pg, r));
    PQclear(r);
    return SL_EIO;
}

static int pg_primary_key(sl_sqlsrc_conn_t *c, const char *schema, const char *table,
                          char ***cols, size_t *n, sl_err_t *err)
{
    *cols = NULL;
    *n = 0;
    sl_buf_t name = SL_BUF_INIT;
    int rc = 0;
    if (schema) {
        rc = sl_pg_quote_ident(&name, schema, strlen(schema));
        rc = rc ? rc : sl_buf_putc(&name, '.');
    }
    rc = rc ? rc : sl_pg_quote_ident(&name, table, strlen(table));
    if (rc) {
        sl_buf_free(&name);
        return sl_err_set(err, rc, "bad table name");
    }
    const char *params[1] = {name.data};
    PGresult *r = PQexecParams(c->pg,
                               "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                               " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                               " WHERE i.indrelid = $1::regclass AND i.indisprimary"
                               " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                               1, NULL, params, NULL, NULL, 0);
    sl_buf_free(&name);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        return result_err(c, r, err);
    }
    int nt = PQntuples(r);
    if (nt > 0) {
        *cols = calloc((size_t)nt, sizeof **cols);
        if (!*cols) {
            PQclear(r);
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        for (int i = 0; i < nt; i++) {
            (*cols)[i] = strdup(PQgetvalue(r, i, 0));
            if (!(*cols)[i]) {
                rc = sl_err_set(err, SL_ENOMEM, "out of memory");
                break;
            }
            (*n)++;
        }
    }
    PQclear(r);
    return rc;
}

/* The text PostgreSQL takes for a bound cursor value. */
static int bound_text(const sl_value_t *v, sl_buf_t *b)
{
    if (v->type == SL_T_STRING || v->type == SL_T_BIGNUM ||
        (v->type == SL_T_DOUBLE && (v->flags & SL_VF_RAW))) {
        return sl_buf_append(b, v->u.s, v->len);
    }
    return sl_value_to_text(v, b);
}

static int pg_start(sl_sqlsrc_conn_t *c, const char *before, const char *after,
                    const sl_value_t *bound, sl_err_t *err)
{
    free_cols(c);
    sl_buf_t *q = &c->sql;
    sl_buf_clear(q);
    int rc = sl_buf_append_c(q, before);
    if (bound) {
        rc = rc ? rc : sl_buf_append_c(q, "$1");
        rc = rc ? rc : sl_buf_append_c(q, after);
    }
    if (rc) {
        return sl_err_set(err, rc, "out of memory");
    }
    /* The column types decide how each column's text is decoded. */
    PGresult *r = PQprepare(c->pg, "", q->data, bound ? 1 : 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        return result_err(c, r, err);
    }
    PQclear(r);
    r = PQdescribePrepared(c->pg, "");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        return result_err(c, r, err);
    }
    int nf = PQnfields(r);
    unsigned ptype = bound && PQnparams(r) > 0 ? (unsigned)PQparamtype(r, 0) : 0;
    c->names = calloc(nf > 0 ? (size_t)nf : 1, sizeof *c->names);
    c->cols = calloc(nf > 0 ? (size_t)nf : 1, sizeof *c->cols);
    if (!c->names || !c->cols) {
        PQclear(r);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < nf; i++) {
        c->names[i] = strdup(PQfname(r, i));
        if (!c->names[i]) {
            PQclear(r);
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        c->ncols++;
        c->cols[i] = sl_pg_col_kind((unsigned)PQftype(r, i));
    }
    PQclear(r);
    r = PQexec(c->pg, "DEALLOCATE \"\"");
    PQclear(r);

    sl_buf_t copy = SL_BUF_INIT;
    rc = sl_buf_append_c(&copy, "COPY (");
    rc = rc ? rc : sl_buf_append_c(&copy, before);
    if (bound) {
        /* COPY takes no parameters: the value goes through a bound
         * set_config and comes back typed as $1 was inferred. */
        char oid[16];
        snprintf(oid, sizeof oid, "%u", ptype);
        const char *tp[1] = {oid};
        r = PQexecParams(c->pg, "SELECT format_type($1::oid, NULL)", 1, NULL, tp, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
            sl_buf_free(&copy);
            return result_err(c, r, err);
        }
        rc = rc ? rc : sl_buf_append_c(&copy, "CAST(current_setting('sluice.cursor') AS ");
        rc = rc ? rc : sl_buf_append_c(&copy, PQgetvalue(r, 0, 0));
        rc = rc ? rc : sl_buf_append_c(&copy, ")");
        rc = rc ? rc : sl_buf_append_c(&copy, after);
        PQclear(r);
        sl_buf_t val = SL_BUF_INIT;
        rc = rc ? rc : bound_text(bound, &val);
        if (!rc) {
            const char *vp[1] = {val.data ? val.data : ""};
            r = PQexecParams(c->pg, "SELECT set_config('sluice.cursor', $1, false)", 1, NULL,
                             vp, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                sl_buf_free(&val);
                sl_buf_free(&copy);
                return result_err(c, r, err);
            }
            PQclear(r);
        }
        sl_buf_free(&val);
    }
    rc = rc ? rc : sl_buf_append_c(&copy, ") TO STDOUT");
    if (rc) {
        sl_buf_free(&copy);
        return sl_err_set(err, rc, "out of memory");
    }
    r = PQexec(c->pg, copy.data);
    sl_buf_free(&copy);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        return result_err(c, r, err);
    }
    PQclear(r);
    c->copying = true;
    return 0;
}

static size_t pg_ncols(const sl_sqlsrc_conn_t *c)
{
    return c->ncols;
}

static const char *pg_colname(const sl_sqlsrc_conn_t *c, size_t i)
{
    return c->names[i];
}

static int pg_row(sl_sqlsrc_conn_t *c, sl_arena_t *a, sl_value_t *vals, const uint32_t *want,
                  size_t nwant, sl_value_t *native, uint64_t *bytes, sl_err_t *err)
{
    if (!c->copying) {
        return SL_EOF;
    }
    char *row = NULL;
    int n = PQgetCopyData(c->pg, &row, 0);
    if (n == -1) {
        c->copying = false;
        PGresult *r = PQgetResult(c->pg);
        int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : result_err(c, r, err);
        if (rc == 0) {
            PQclear(r);
        }
        pg_finish(c);
        return rc ? rc : SL_EOF;
    }
    if (n < 0) {
        c->copying = false;
        return sl_err_set(err, SL_EIO, "%s", sl_pg_msg(c->pg, NULL));
    }
    *bytes += (uint64_t)n;
    size_t len = (size_t)n;
    if (len && row[len - 1] == '\n') {
        len--;
    }
    char *buf = sl_arena_alloc(a, len + 1);
    if (!buf) {
        PQfreemem(row);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    memcpy(buf, row, len);
    buf[len] = '\0';
    PQfreemem(row);
    return sl_pg_decode_row(a, buf, len, c->cols, c->ncols, c->utf8, vals, want, nwant, native,
                            err);
}

const sl_sqlsrc_driver_t sl_sqlsrc_driver_pg = {
    .name = "postgres",
    .accepts = pg_accepts,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .where = pg_where,
    .primary_key = pg_primary_key,
    .start = pg_start,
    .ncols = pg_ncols,
    .colname = pg_colname,
    .row = pg_row,
    .finish = pg_finish,
};
