/* Binary COPY encoding for the sql sink's PostgreSQL driver; see
 * sql_pg_binary.h. Formats follow PostgreSQL's *_send functions: network
 * byte order, timestamps as microseconds and dates as days since
 * 2000-01-01. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sluice/json.h"
#include "sluice/pg.h"
#include "sluice/timeutil.h"
#include "sql_pg_binary.h"

/* 2000-01-01 in Unix time */
#define PG_EPOCH_DAYS 10957
#define PG_EPOCH_US (10957LL * 86400LL * 1000000LL)

const char sl_pgbin_header[SL_PGBIN_HEADER_LEN] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377',
                                                   '\r', '\n', '\0', 0, 0, 0, 0, 0, 0, 0, 0};
const char sl_pgbin_trailer[2] = {'\377', '\377'};

bool sl_pgbin_supported(Oid oid)
{
    switch (oid) {
    case SL_PG_BOOL:
    case SL_PG_INT8:
    case SL_PG_INT2:
    case SL_PG_INT4:
    case SL_PG_TEXT:
    case SL_PG_FLOAT4:
    case SL_PG_FLOAT8:
    case SL_PG_VARCHAR:
    case SL_PG_DATE:
    case SL_PG_TIMESTAMP:
    case SL_PG_TIMESTAMPTZ:
        return true;
    default:
        return false;
    }
}

static inline void be16(char *o, uint16_t v)
{
    o[0] = (char)(v >> 8);
    o[1] = (char)v;
}

static inline void be32(char *o, uint32_t v)
{
    o[0] = (char)(v >> 24);
    o[1] = (char)(v >> 16);
    o[2] = (char)(v >> 8);
    o[3] = (char)v;
}

static inline void be64(char *o, uint64_t v)
{
    be32(o, (uint32_t)(v >> 32));
    be32(o + 4, (uint32_t)v);
}

int sl_pgbin_put_count(sl_buf_t *b, int n)
{
    int rc = sl_buf_reserve(b, 2);
    if (!rc) {
        be16(b->data + b->len, (uint16_t)n);
        b->len += 2;
    }
    return rc;
}

/* A fixed-size field: length word then n bytes of v (big-endian). */
static int put_fixed(sl_buf_t *b, uint64_t v, int n)
{
    int rc = sl_buf_reserve(b, 4 + 8);
    if (rc) {
        return rc;
    }
    char *o = b->data + b->len;
    be32(o, (uint32_t)n);
    if (n == 8) {
        be64(o + 4, v);
    } else if (n == 4) {
        be32(o + 4, (uint32_t)v);
    } else if (n == 2) {
        be16(o + 4, (uint16_t)v);
    } else {
        o[4] = (char)v;
    }
    b->len += 4 + (size_t)n;
    return 0;
}

static int put_bytes(sl_buf_t *b, const char *p, size_t n)
{
    if (n > INT32_MAX) {
        return SL_ELIMIT;
    }
    int rc = sl_buf_reserve(b, 4 + n);
    if (rc) {
        return rc;
    }
    be32(b->data + b->len, (uint32_t)n);
    b->len += 4;
    sl_buf_put_unchecked(b, p, n);
    return 0;
}

/* The text of a string value without surrounding blanks (PostgreSQL's
 * number and boolean input ignore them too). */
static void trimmed(const sl_value_t *v, const char **s, size_t *n)
{
    const char *p = v->u.s;
    size_t len = v->len;
    while (len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
                   p[len - 1] == '\r')) {
        len--;
    }
    *s = p;
    *n = len;
}

/* v's trimmed text as a C string in buf; false (buf "") when empty or
 * too long to be a number. */
static bool c_text(const sl_value_t *v, char *buf, size_t cap)
{
    const char *s;
    size_t n;
    trimmed(v, &s, &n);
    buf[0] = '\0';
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* An integer from v for an int column, the way int8in reads text. */
static int int_of(const sl_value_t *v, int64_t *out, const char **why)
{
    switch (v->type) {
    case SL_T_INT:
        *out = v->u.i;
        return 0;
    case SL_T_BOOL:
        *out = v->u.i ? 1 : 0;
        return 0;
    case SL_T_STRING:
    case SL_T_BIGNUM: {
        char buf[32];
        if (!c_text(v, buf, sizeof buf)) {
            *why = "not an integer";
            return SL_ETYPE;
        }
        char *end;
        errno = 0;
        long long x = strtoll(buf, &end, 10);
        if (*end || end == buf) {
            *why = "not an integer";
            return SL_ETYPE;
        }
        if (errno == ERANGE) {
            *why = "out of range for an integer column";
            return SL_ETYPE;
        }
        *out = x;
        return 0;
    }
    default:
        *why = v->type == SL_T_DOUBLE ? "a fraction for an integer column" : "not an integer";
        return SL_ETYPE;
    }
}

static int double_of(const sl_value_t *v, double *out, const char **why)
{
    switch (v->type) {
    case SL_T_DOUBLE:
        *out = (v->flags & SL_VF_RAW) ? sl_parse_double(v->u.s, v->len) : v->u.d;
        return 0;
    case SL_T_INT:
        *out = (double)v->u.i;
        return 0;
    case SL_T_BOOL:
        *out = v->u.i ? 1.0 : 0.0;
        return 0;
    case SL_T_STRING:
    case SL_T_BIGNUM: {
        char buf[400];
        char *end;
        double x = c_text(v, buf, sizeof buf) ? strtod(buf, &end) : 0;
        if (!buf[0] || *end || end == buf) {
            *why = "not a number";
            return SL_ETYPE;
        }
        *out = x;
        return 0;
    }
    default:
        *why = "not a number";
        return SL_ETYPE;
    }
}

/* boolin's words: t/true/y/yes/on/1 and f/false/n/no/off/0, any case. */
static int bool_of(const sl_value_t *v, bool *out, const char **why)
{
    if (v->type == SL_T_BOOL) {
        *out = v->u.i != 0;
        return 0;
    }
    if (v->type == SL_T_INT && (v->u.i == 0 || v->u.i == 1)) {
        *out = v->u.i == 1;
        return 0;
    }
    if (v->type == SL_T_STRING) {
        static const char *const yes[] = {"t", "true", "y", "yes", "on", "1", NULL};
        static const char *const no[] = {"f", "false", "n", "no", "off", "0", NULL};
        const char *s;
        size_t n;
        trimmed(v, &s, &n);
        for (int i = 0; yes[i]; i++) {
            if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
                *out = true;
                return 0;
            }
            if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    *why = "not a boolean";
    return SL_ETYPE;
}

static int ts_of(const sl_value_t *v, int64_t *us, const char **why)
{
    switch (v->type) {
    case SL_T_TIMESTAMP:
        *us = v->u.i;
        return 0;
    case SL_T_DATE:
        *us = v->u.i * 86400LL * 1000000LL;
        return 0;
    case SL_T_STRING:
        if (sl_timestamp_parse(v->u.s, v->len, us) == 0) {
            return 0;
        }
        /* fall through */
    default:
        *why = "not an ISO 8601 timestamp";
        return SL_ETYPE;
    }
}

static int date_of(const sl_value_t *v, int64_t *days, const char **why)
{
    int64_t us;
    switch (v->type) {
    case SL_T_DATE:
        *days = v->u.i;
        return 0;
    case SL_T_TIMESTAMP:
        us = v->u.i;
        *days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
        return 0;
    case SL_T_STRING:
        if (sl_date_parse(v->u.s, v->len, days) == 0) {
            return 0;
        }
        /* fall through */
    default:
        *why = "not an ISO 8601 date";
        return SL_ETYPE;
    }
}

/* The text form of v for a text column (what text COPY sends, unescaped). */
static int put_text(sl_buf_t *b, const sl_value_t *v, sl_buf_t *scratch)
{
    if (v->type == SL_T_STRING || v->type == SL_T_BIGNUM) {
        if (memchr(v->u.s, '\0', v->len)) {
            return SL_EINVAL;
        }
        return put_bytes(b, v->u.s, v->len);
    }
    sl_buf_clear(scratch);
    int rc = v->type == SL_T_ARRAY || v->type == SL_T_OBJECT ? sl_json_write(scratch, v, 0)
                                                              : sl_value_to_text(v, scratch);
    return rc ? rc : put_bytes(b, scratch->data ? scratch->data : "", scratch->len);
}

int sl_pgbin_put(sl_buf_t *b, Oid oid, const sl_value_t *v, sl_buf_t *scratch, const char **why)
{
    if (v->type == SL_T_NULL) {
        int rc = sl_buf_reserve(b, 4);
        if (!rc) {
            be32(b->data + b->len, 0xffffffffu);
            b->len += 4;
        }
        return rc;
    }
    int64_t i;
    double d;
    bool t;
    int rc;
    switch (oid) {
    case SL_PG_INT8:
        return (rc = int_of(v, &i, why)) ? rc : put_fixed(b, (uint64_t)i, 8);
    case SL_PG_INT4:
        if ((rc = int_of(v, &i, why)) != 0) {
            return rc;
        }
        if (i < INT32_MIN || i > INT32_MAX) {
            *why = "out of range for integer";
            return SL_ETYPE;
        }
        return put_fixed(b, (uint32_t)(int32_t)i, 4);
    case SL_PG_INT2:
        if ((rc = int_of(v, &i, why)) != 0) {
            return rc;
        }
        if (i < INT16_MIN || i > INT16_MAX) {
            *why = "out of range for smallint";
            return SL_ETYPE;
        }
        return put_fixed(b, (uint16_t)(int16_t)i, 2);
    case SL_PG_FLOAT8: {
        if ((rc = double_of(v, &d, why)) != 0) {
            return rc;
        }
        uint64_t u;
        memcpy(&u, &d, 8);
        return put_fixed(b, u, 8);
    }
    case SL_PG_FLOAT4: {
        if ((rc = double_of(v, &d, why)) != 0) {
            return rc;
        }
        float f = (float)d;
        if (isfinite(d) && !isfinite(f)) {
            *why = "out of range for real";
            return SL_ETYPE;
        }
        uint32_t u;
        memcpy(&u, &f, 4);
        return put_fixed(b, u, 4);
    }
    case SL_PG_BOOL:
        return (rc = bool_of(v, &t, why)) ? rc : put_fixed(b, t ? 1 : 0, 1);
    case SL_PG_TIMESTAMP:
    case SL_PG_TIMESTAMPTZ:
        if ((rc = ts_of(v, &i, why)) != 0) {
            return rc;
        }
        return put_fixed(b, (uint64_t)(i - PG_EPOCH_US), 8);
    case SL_PG_DATE:
        if ((rc = date_of(v, &i, why)) != 0) {
            return rc;
        }
        if (i - PG_EPOCH_DAYS < INT32_MIN || i - PG_EPOCH_DAYS > INT32_MAX) {
            *why = "out of range for date";
            return SL_ETYPE;
        }
        return put_fixed(b, (uint32_t)(int32_t)(i - PG_EPOCH_DAYS), 4);
    default:
        return put_text(b, v, scratch);
    }
}
