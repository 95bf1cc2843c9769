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
        err->code = code;
    }
    return code;
}

int sl_err_prefix(sl_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        char prefix[SL_ERRMSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        size_t pl = strlen(prefix), ol = strnlen(err->msg, SL_ERRMSG_MAX - 1);
        if (pl > SL_ERRMSG_MAX - 3) {
            pl = SL_ERRMSG_MAX - 3;
        }
        size_t room = SL_ERRMSG_MAX - 3 - pl;
        if (ol > room) {
            ol = room;
        }
        memmove(err->msg + pl + 2, err->msg, ol);
        memcpy(err->msg, prefix, pl);
        err->msg[pl] = ':';
        err->msg[pl + 1] = ' ';
        err->msg[pl + 2 + ol] = '\0';
        err->code = code;
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
