/* The record model; see include/sluice/value.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"
#include "sluice/timeutil.h"
#include "sluice/value.h"

const char *sl_type_name(sl_type_t t)
{
    static const char *const names[] = {
        [SL_T_NULL] = "null",     [SL_T_BOOL] = "bool",           [SL_T_INT] = "int",
        [SL_T_DOUBLE] = "float",  [SL_T_BIGNUM] = "big integer",  [SL_T_STRING] = "string",
        [SL_T_TIMESTAMP] = "timestamp", [SL_T_DATE] = "date",     [SL_T_ARRAY] = "array",
        [SL_T_OBJECT] = "object",
    };
    return (unsigned)t < SL_ARRAY_LEN(names) && names[t] ? names[t] : "unknown";
}

double sl_parse_double(const char *s, size_t n)
{
    char tmp[128];
    if (n < sizeof tmp) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return strtod(tmp, NULL);
    }
    char *heap = malloc(n + 1);
    if (!heap) {
        return NAN;
    }
    memcpy(heap, s, n);
    heap[n] = '\0';
    double d = strtod(heap, NULL);
    free(heap);
    return d;
}

int sl_value_get_double(const sl_value_t *v, double *out)
{
    switch (v->type) {
    case SL_T_INT:
        *out = (double)v->u.i;
        return 0;
    case SL_T_DOUBLE:
        *out = (v->flags & SL_VF_RAW) ? sl_parse_double(v->u.s, v->len) : v->u.d;
        return 0;
    case SL_T_BIGNUM:
        *out = sl_parse_double(v->u.s, v->len);
        return 0;
    default:
        return SL_ETYPE;
    }
}

sl_value_t *sl_object_get(const sl_value_t *obj, const char *key, size_t klen)
{
    if (!obj || obj->type != SL_T_OBJECT) {
        return NULL;
    }
    sl_member_t *m = obj->u.members;
    for (uint32_t i = 0; i < obj->len; i++) {
        if (m[i].klen == klen && sl_mem_eq(m[i].key, key, klen)) {
            return &m[i].val;
        }
    }
    return NULL;
}

sl_value_t *sl_value_path(const sl_value_t *v, const char *path, size_t plen)
{
    const sl_value_t *cur = v;
    size_t i = 0;
    while (cur && i <= plen) {
        size_t j = i;
        while (j < plen && path[j] != '.') {
            j++;
        }
        const char *seg = path + i;
        size_t slen = j - i;
        if (cur->type == SL_T_OBJECT) {
            cur = sl_object_get(cur, seg, slen);
        } else if (cur->type == SL_T_ARRAY && slen > 0 && slen < 10) {
            size_t idx = 0;
            for (size_t k = 0; k < slen; k++) {
                if (seg[k] < '0' || seg[k] > '9') {
                    return NULL;
                }
                idx = idx * 10 + (size_t)(seg[k] - '0');
            }
            cur = idx < cur->len ? &cur->u.items[idx] : NULL;
        } else {
            return NULL;
        }
        if (j >= plen) {
            break;
        }
        i = j + 1;
    }
    return (sl_value_t *)cur;
}

int sl_object_new(sl_arena_t *a, sl_value_t *out, size_t cap)
{
    *out = sl_value_null();
    out->type = SL_T_OBJECT;
    out->len = 0;
    out->u.members = cap ? sl_arena_alloc(a, cap * sizeof(sl_member_t)) : NULL;
    if (cap && !out->u.members) {
        return SL_ENOMEM;
    }
    return 0;
}

int sl_object_set(sl_arena_t *a, sl_value_t *obj, const char *key, size_t klen, sl_value_t val)
{
    if (obj->type != SL_T_OBJECT) {
        return SL_ETYPE;
    }
    sl_value_t *existing = sl_object_get(obj, key, klen);
    if (existing) {
        *existing = val;
        return 0;
    }
    /* Grow by copying: the old array stays in the arena until reset. The
     * realloc grows in place when the members were the last allocation. */
    size_t n = obj->len;
    sl_member_t *m = sl_arena_realloc(a, obj->u.members, n * sizeof(sl_member_t),
                                      (n + 1) * sizeof(sl_member_t));
    if (!m) {
        return SL_ENOMEM;
    }
    m[n].key = key;
    m[n].klen = (uint32_t)klen;
    m[n].reserved = 0;
    m[n].val = val;
    obj->u.members = m;
    obj->len = (uint32_t)(n + 1);
    return 0;
}

int sl_object_set_many(sl_arena_t *a, sl_value_t *obj, const sl_str_t *keys,
                       const sl_value_t *vals, size_t n)
{
    if (obj->type != SL_T_OBJECT) {
        return SL_ETYPE;
    }
    size_t add = 0;
    for (size_t k = 0; k < n; k++) {
        add += sl_object_get(obj, keys[k].ptr, keys[k].len) == NULL;
    }
    if (add) {
        sl_member_t *m = sl_arena_alloc(a, (obj->len + add) * sizeof *m);
        if (!m) {
            return SL_ENOMEM;
        }
        if (obj->len) {
            memcpy(m, obj->u.members, obj->len * sizeof *m);
        }
        obj->u.members = m;
    }
    for (size_t k = 0; k < n; k++) {
        sl_value_t *slot = sl_object_get(obj, keys[k].ptr, keys[k].len);
        if (slot) {
            *slot = vals[k];
            continue;
        }
        sl_member_t *m = &obj->u.members[obj->len++];
        m->key = keys[k].ptr;
        m->klen = (uint32_t)keys[k].len;
        m->reserved = 0;
        m->val = vals[k];
    }
    return 0;
}

int sl_object_remove(sl_value_t *obj, const char *key, size_t klen)
{
    if (obj->type != SL_T_OBJECT) {
        return 0;
    }
    sl_member_t *m = obj->u.members;
    for (uint32_t i = 0; i < obj->len; i++) {
        if (m[i].klen == klen && memcmp(m[i].key, key, klen) == 0) {
            memmove(&m[i], &m[i + 1], (obj->len - i - 1) * sizeof(sl_member_t));
            obj->len--;
            return 1;
        }
    }
    return 0;
}

int sl_value_clone(sl_arena_t *a, const sl_value_t *v, sl_value_t *out)
{
    *out = *v;
    switch (v->type) {
    case SL_T_STRING:
    case SL_T_BIGNUM:
        out->u.s = sl_arena_strndup(a, v->u.s, v->len);
        return out->u.s ? 0 : SL_ENOMEM;
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            out->u.s = sl_arena_strndup(a, v->u.s, v->len);
            return out->u.s ? 0 : SL_ENOMEM;
        }
        return 0;
    case SL_T_ARRAY: {
        out->u.items = sl_arena_alloc(a, (v->len ? v->len : 1) * sizeof(sl_value_t));
        if (!out->u.items) {
            return SL_ENOMEM;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            int rc = sl_value_clone(a, &v->u.items[i], &out->u.items[i]);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    case SL_T_OBJECT: {
        out->u.members = sl_arena_alloc(a, (v->len ? v->len : 1) * sizeof(sl_member_t));
        if (!out->u.members) {
            return SL_ENOMEM;
        }
        for (uint32_t i = 0; i < v->len; i++) {
            const sl_member_t *src = &v->u.members[i];
            sl_member_t *dst = &out->u.members[i];
            dst->key = sl_arena_strndup(a, src->key, src->klen);
            dst->klen = src->klen;
            dst->reserved = 0;
            if (!dst->key) {
                return SL_ENOMEM;
            }
            int rc = sl_value_clone(a, &src->val, &dst->val);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

static bool is_number(const sl_value_t *v)
{
    return v->type == SL_T_INT || v->type == SL_T_DOUBLE || v->type == SL_T_BIGNUM;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) {
        return c;
    }
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int sl_value_compare(const sl_value_t *a, const sl_value_t *b, int *err)
{
    *err = 0;
    if (is_number(a) && is_number(b)) {
        if (a->type == SL_T_INT && b->type == SL_T_INT) {
            return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        }
        double x, y;
        sl_value_get_double(a, &x);
        sl_value_get_double(b, &y);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->type == SL_T_STRING && b->type == SL_T_STRING) {
        int c = cmp_bytes(a->u.s, a->len, b->u.s, b->len);
        return c < 0 ? -1 : c > 0;
    }
    if (a->type == b->type &&
        (a->type == SL_T_BOOL || a->type == SL_T_TIMESTAMP || a->type == SL_T_DATE)) {
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    }
    /* A timestamp against a date: compare at midnight UTC. */
    if ((a->type == SL_T_TIMESTAMP && b->type == SL_T_DATE) ||
        (a->type == SL_T_DATE && b->type == SL_T_TIMESTAMP)) {
        int64_t x = a->type == SL_T_DATE ? a->u.i * 86400000000LL : a->u.i;
        int64_t y = b->type == SL_T_DATE ? b->u.i * 86400000000LL : b->u.i;
        return x < y ? -1 : x > y;
    }
    /* A timestamp or date against an ISO string: parse the string. */
    if ((a->type == SL_T_TIMESTAMP || a->type == SL_T_DATE) && b->type == SL_T_STRING) {
        int64_t us;
        if (sl_timestamp_parse(b->u.s, b->len, &us) == 0) {
            int64_t x = a->type == SL_T_DATE ? a->u.i * 86400000000LL : a->u.i;
            return x < us ? -1 : x > us;
        }
    }
    if (a->type == SL_T_STRING && (b->type == SL_T_TIMESTAMP || b->type == SL_T_DATE)) {
        int c = sl_value_compare(b, a, err);
        return -c;
    }
    *err = SL_ETYPE;
    return 0;
}

bool sl_value_equal(const sl_value_t *a, const sl_value_t *b)
{
    if (a->type == SL_T_NULL || b->type == SL_T_NULL) {
        return a->type == b->type;
    }
    if (a->type == SL_T_ARRAY && b->type == SL_T_ARRAY) {
        if (a->len != b->len) {
            return false;
        }
        for (uint32_t i = 0; i < a->len; i++) {
            if (!sl_value_equal(&a->u.items[i], &b->u.items[i])) {
                return false;
            }
        }
        return true;
    }
    if (a->type == SL_T_OBJECT && b->type == SL_T_OBJECT) {
        if (a->len != b->len) {
            return false;
        }
        for (uint32_t i = 0; i < a->len; i++) {
            const sl_member_t *m = &a->u.members[i];
            const sl_value_t *o = sl_object_get(b, m->key, m->klen);
            if (!o || !sl_value_equal(&m->val, o)) {
                return false;
            }
        }
        return true;
    }
    int err;
    int c = sl_value_compare(a, b, &err);
    return err == 0 && c == 0;
}

bool sl_value_truthy(const sl_value_t *v)
{
    switch (v->type) {
    case SL_T_NULL:
        return false;
    case SL_T_BOOL:
    case SL_T_INT:
        return v->u.i != 0;
    case SL_T_DOUBLE: {
        double d = 0;
        sl_value_get_double(v, &d);
        return d != 0;
    }
    case SL_T_STRING:
        return v->len > 0;
    default:
        return true;
    }
}

int sl_fmt_double(sl_buf_t *b, double d)
{
    if (!isfinite(d)) {
        return sl_buf_append_c(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    }
    if (fabs(d) < 1e15 && d == (double)(int64_t)d) {
        /* Integral doubles keep a ".0" so they read back as floats. */
        return sl_buf_printf(b, "%.1f", d);
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d) {
            break;
        }
    }
    return sl_buf_append_c(b, tmp);
}

int sl_value_to_text(const sl_value_t *v, sl_buf_t *b)
{
    char tmp[40];
    switch (v->type) {
    case SL_T_NULL:
        return 0;
    case SL_T_BOOL:
        return sl_buf_append_c(b, v->u.i ? "true" : "false");
    case SL_T_INT: {
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        return sl_buf_append(b, tmp, (size_t)n);
    }
    case SL_T_DOUBLE:
        if (v->flags & SL_VF_RAW) {
            return sl_buf_append(b, v->u.s, v->len);
        }
        return sl_fmt_double(b, v->u.d);
    case SL_T_BIGNUM:
    case SL_T_STRING:
        return sl_buf_append(b, v->u.s, v->len);
    case SL_T_TIMESTAMP:
        return sl_buf_append(b, tmp, sl_timestamp_format(v->u.i, tmp));
    case SL_T_DATE:
        return sl_buf_append(b, tmp, sl_date_format(v->u.i, tmp));
    default:
        return sl_json_write(b, v, 0);
    }
}
