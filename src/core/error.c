/* Error codes to text, and the error-message helpers every context uses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sluice/common.h"

const char *sl_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define SL__ERR_CASE(name, val, desc)                                                      \
    case val:                                                                              \
        return desc;
        SL_ERRNO_MAP(SL__ERR_CASE)
#undef SL__ERR_CASE
    default:
        return "unknown error";
    }
}

int sl_err_set(sl_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int sl_err_prefix(sl_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        char prefix[SL_ERRMSG_MAX], old[SL_ERRMSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    }
    return code;
}

bool sl_str_eq(sl_str_t a, sl_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool sl_str_eq_c(sl_str_t a, const char *c)
{
    return sl_str_eq(a, sl_str_c(c));
}
