/* Shared basics: error codes, string views, small macros.
 *
 * Every function that can fail returns int: 0 on success, a negative SL_E*
 * code on failure. Flow codes (SL_EOF, SL_AGAIN, SL_RETRY) share the list so
 * one switch can handle them all. sl_strerror() gives the short name; the
 * human message with file/line/URL travels in the caller's context. */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* X(name, value, description) */
#define SL_ERRNO_MAP(X)                                                  \
    X(EOF, -1, "end of input")                                           \
    X(AGAIN, -2, "try again")                                            \
    X(RETRY, -3, "transient failure, retry")                             \
    X(NOMEM, -10, "out of memory")                                       \
    X(IO, -11, "input/output error")                                     \
    X(PARSE, -12, "malformed input")                                     \
    X(CONFIG, -13, "configuration error")                                \
    X(NOTFOUND, -14, "not found")                                        \
    X(INVAL, -15, "invalid argument")                                    \
    X(TYPE, -16, "type mismatch")                                        \
    X(LIMIT, -17, "limit exceeded")                                      \
    X(SINK, -18, "sink refused data")                                    \
    X(STATE, -19, "state store error")                                   \
    X(UNSUPPORTED, -20, "not supported")                                 \
    X(CANCELLED, -21, "cancelled")                                       \
    X(REJECTS, -22, "too many rejected records")                         \
    X(TIMEOUT, -23, "timed out")                                         \
    X(RATELIMITED, -24, "rate limited")                                  \
    X(STALE, -25, "stale lease")                                         \
    X(TOLERANCE, -26, "more failures than tolerated")

enum {
#define SL__ERR_ENUM(name, val, desc) SL_E##name = (val),
    SL_ERRNO_MAP(SL__ERR_ENUM)
#undef SL__ERR_ENUM
};
#define SL_EOF SL_EEOF
#define SL_AGAIN SL_EAGAIN
#define SL_RETRY SL_ERETRY

/* Short description of an error code; never NULL. */
const char *sl_strerror(int code);

/* memcmp(a, b, n) == 0, inline: short keys and names are compared in hot
 * loops, where a call per comparison shows. */
static inline bool sl_mem_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    if (n >= 8 && n <= 16) {
        uint64_t x1, y1, x2, y2;
        memcpy(&x1, x, 8);
        memcpy(&y1, y, 8);
        memcpy(&x2, x + n - 8, 8);
        memcpy(&y2, y + n - 8, 8);
        return x1 == y1 && x2 == y2;
    }
    if (n >= 4 && n < 8) {
        uint32_t x1, y1, x2, y2;
        memcpy(&x1, x, 4);
        memcpy(&y1, y, 4);
        memcpy(&x2, x + n - 4, 4);
        memcpy(&y2, y + n - 4, 4);
        return x1 == y1 && x2 == y2;
    }
    if (n < 4) {
        for (size_t i = 0; i < n; i++) {
            if (x[i] != y[i]) {
                return false;
            }
        }
        return true;
    }
    return memcmp(x, y, n) == 0;
}

/* Whether s[0..n) is one or more ASCII digits (no sign). */
static inline bool sl_all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return n > 0;
}

/* A borrowed, not necessarily NUL-terminated string view. */
typedef struct {
    const char *ptr;
    size_t len;
} sl_str_t;

#define SL_STR(lit) ((sl_str_t){(lit), sizeof(lit) - 1})
#define SL_STR_NULL ((sl_str_t){NULL, 0})

static inline sl_str_t sl_str_c(const char *s)
{
    size_t n = 0;
    if (s) {
        while (s[n]) {
            n++;
        }
    }
    return (sl_str_t){s, n};
}

bool sl_str_eq(sl_str_t a, sl_str_t b);
bool sl_str_eq_c(sl_str_t a, const char *c);

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SL_UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SL_LIKELY(x) (x)
#define SL_UNLIKELY(x) (x)
#define SL_PRINTF(f, a)
#endif

/* Exit codes of the CLI. */
enum {
    SL_EXIT_OK = 0,
    SL_EXIT_FAILED = 1,
    SL_EXIT_USAGE = 2,
    SL_EXIT_PARTIAL = 3,
};

/* An error message buffer carried by contexts (like sqlite3_errmsg). */
#define SL_ERRMSG_MAX 1024
typedef struct {
    char msg[SL_ERRMSG_MAX];
    int code; /* the SL_E* code it was set with (0 if never set) */
} sl_err_t;

/* Formats into err->msg (truncating), records code and returns it, so
 * callers can write `return sl_err_set(err, SL_EPARSE, "%s:%zu: ...",
 * ...)`. err may be NULL. */
int sl_err_set(sl_err_t *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

/* Prefixes err->msg with a formatted context ("while X: old message"). */
int sl_err_prefix(sl_err_t *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

#endif
