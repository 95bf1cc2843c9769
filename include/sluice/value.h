/* The record model: JSON-like values living in a batch arena.
 *
 * A value is 16 bytes: a type tag, flags, a length and an 8-byte payload.
 * Strings and raw numbers are {ptr,len} views that borrow from the arena
 * (or from input buffers the batch keeps alive). Objects are arrays of
 * members kept in input order; lookups are linear (records are small).
 *
 * Numbers: integers that fit int64 are SL_T_INT. Other JSON numbers are
 * SL_T_DOUBLE; when parsed from text they keep their exact text (flag
 * SL_VF_RAW, u.s/len) so writers reproduce them byte for byte and the double
 * is computed only when someone asks (sl_value_get_double). Integers beyond
 * int64 are SL_T_BIGNUM, also kept as exact text. */
#ifndef SLUICE_VALUE_H
#define SLUICE_VALUE_H

#include "sluice/arena.h"
#include "sluice/buf.h"
#include "sluice/common.h"

typedef enum {
    SL_T_NULL = 0,
    SL_T_BOOL,
    SL_T_INT,
    SL_T_DOUBLE,
    SL_T_BIGNUM,    /* integer text beyond int64, kept exactly */
    SL_T_STRING,
    SL_T_TIMESTAMP, /* u.i = microseconds since 1970-01-01T00:00:00Z */
    SL_T_DATE,      /* u.i = days since 1970-01-01 */
    SL_T_ARRAY,
    SL_T_OBJECT,
} sl_type_t;

enum {
    SL_VF_RAW = 1,  /* SL_T_DOUBLE whose payload is its exact text (u.s, len) */
    SL_VF_UTF8 = 2, /* SL_T_STRING already checked to be valid UTF-8 (the JSON
                       parser's strings): writers may skip checking again */
};

typedef struct sl_value sl_value_t;
typedef struct sl_member sl_member_t;

struct sl_value {
    uint8_t type;
    uint8_t flags;
    uint16_t reserved;
    uint32_t len; /* string/raw bytes, array items, object members */
    union {
        int64_t i;
        double d;
        const char *s;
        sl_value_t *items;
        sl_member_t *members;
    } u;
};

struct sl_member {
    const char *key;
    uint32_t klen;
    uint32_t reserved;
    sl_value_t val;
};

/* Constructors (no allocation except where an arena is passed). */
static inline sl_value_t sl_value_null(void)
{
    sl_value_t v = {0};
    return v;
}
static inline sl_value_t sl_value_bool(bool b)
{
    sl_value_t v = {0};
    v.type = SL_T_BOOL;
    v.u.i = b ? 1 : 0;
    return v;
}
static inline sl_value_t sl_value_int(int64_t i)
{
    sl_value_t v = {0};
    v.type = SL_T_INT;
    v.u.i = i;
    return v;
}
static inline sl_value_t sl_value_double(double d)
{
    sl_value_t v = {0};
    v.type = SL_T_DOUBLE;
    v.u.d = d;
    return v;
}
static inline sl_value_t sl_value_timestamp(int64_t us)
{
    sl_value_t v = {0};
    v.type = SL_T_TIMESTAMP;
    v.u.i = us;
    return v;
}
static inline sl_value_t sl_value_date(int64_t days)
{
    sl_value_t v = {0};
    v.type = SL_T_DATE;
    v.u.i = days;
    return v;
}
/* Borrows s: it must outlive the value (same arena or longer). */
static inline sl_value_t sl_value_str(const char *s, size_t n)
{
    sl_value_t v = {0};
    v.type = SL_T_STRING;
    v.len = (uint32_t)n;
    v.u.s = s;
    return v;
}

const char *sl_type_name(sl_type_t t);

/* The double value of SL_T_DOUBLE (parsing raw text if needed), SL_T_INT
 * or SL_T_BIGNUM. Returns SL_ETYPE for other types. */
int sl_value_get_double(const sl_value_t *v, double *out);

/* Object access. Returns the member's value or NULL. */
sl_value_t *sl_object_get(const sl_value_t *obj, const char *key, size_t klen);
static inline sl_value_t *sl_object_get_c(const sl_value_t *obj, const char *key)
{
    return sl_object_get(obj, key, sl_str_c(key).len);
}
/* sl_object_get for a lookup repeated over many records, which usually
 * carry their keys in the same order: *hint is the member index to try
 * first (any value is safe) and is set to where the key was found.
 * Inline: the hit costs less than a call. */
static inline sl_value_t *sl_object_get_hinted(const sl_value_t *obj, const char *key,
                                               size_t klen, uint32_t *hint)
{
    if (!obj || obj->type != SL_T_OBJECT) {
        return NULL;
    }
    sl_member_t *m = obj->u.members;
    uint32_t h = *hint;
    if (h < obj->len && m[h].klen == klen && sl_mem_eq(m[h].key, key, klen)) {
        return &m[h].val;
    }
    for (uint32_t i = 0; i < obj->len; i++) {
        if (m[i].klen == klen && sl_mem_eq(m[i].key, key, klen)) {
            *hint = i;
            return &m[i].val;
        }
    }
    return NULL;
}
/* Follows a dotted path ("a.b.0.c"; digits index arrays). NULL if absent. */
sl_value_t *sl_value_path(const sl_value_t *v, const char *path, size_t plen);

/* Sets key to val, replacing an existing member or appending a new one
 * (reallocating the member array in arena a). The key is borrowed. */
int sl_object_set(sl_arena_t *a, sl_value_t *obj, const char *key, size_t klen,
                  sl_value_t val);
/* Sets keys[k] to vals[k] for k < n (replacing or appending, as
 * sl_object_set does), growing the member array at most once. Keys are
 * borrowed. */
int sl_object_set_many(sl_arena_t *a, sl_value_t *obj, const sl_str_t *keys,
                       const sl_value_t *vals, size_t n);
/* Removes key if present; returns 1 if removed, 0 if absent. */
int sl_object_remove(sl_value_t *obj, const char *key, size_t klen);
/* Creates an empty object with room for cap members. */
int sl_object_new(sl_arena_t *a, sl_value_t *out, size_t cap);

/* Deep-copies v into arena a (strings included). */
int sl_value_clone(sl_arena_t *a, const sl_value_t *v, sl_value_t *out);

/* Structural equality (numbers compare by value across int/double). */
bool sl_value_equal(const sl_value_t *a, const sl_value_t *b);
/* Total order for filters/sorting: <0, 0, >0. Returns SL_ETYPE via *err
 * when the two are not comparable (e.g. string vs number). */
int sl_value_compare(const sl_value_t *a, const sl_value_t *b, int *err);

/* Truthiness for filters: null/false/0/"" are false. */
bool sl_value_truthy(const sl_value_t *v);

/* Text form used by templates and CSV: strings as-is, numbers shortest
 * round-trip, timestamps ISO 8601 UTC with 'Z', dates YYYY-MM-DD, null
 * empty, arrays/objects as compact JSON. Appends to b. */
int sl_value_to_text(const sl_value_t *v, sl_buf_t *b);

/* strtod over a {ptr,len} number text (not NUL-terminated). */
double sl_parse_double(const char *s, size_t n);

/* Appends the shortest text that reads back to the same double. */
int sl_fmt_double(sl_buf_t *b, double d);

#endif
