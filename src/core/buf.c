/* Growing buffers with a hard maximum; see include/sluice/buf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/buf.h"

void sl_buf_init(sl_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sl_buf_free(sl_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int sl_buf_reserve(sl_buf_t *b, size_t n)
{
    if (b->max && b->len + n > b->max) {
        return SL_ELIMIT;
    }
    size_t need = b->len + n + 1; /* room for the NUL */
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        return SL_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sl_buf_append(sl_buf_t *b, const void *p, size_t n)
{
    int rc = sl_buf_reserve(b, n);
    if (rc) {
        return rc;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sl_buf_append_c(sl_buf_t *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

int sl_buf_putc(sl_buf_t *b, char c)
{
    if (b->len + 2 > b->cap) {
        int rc = sl_buf_reserve(b, 1);
        if (rc) {
            return rc;
        }
    }
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
}

int sl_buf_vprintf(sl_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return SL_EINVAL;
    }
    int rc = sl_buf_reserve(b, (size_t)n);
    if (rc) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int sl_buf_printf(sl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sl_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}
