/* Growing byte buffers with a hard maximum (like curl's dynbuf).
 *
 * A buffer owns its heap memory. Appends fail with SL_ELIMIT when the
 * content would exceed max (0 = unlimited) and SL_ENOMEM when malloc fails;
 * the content is always NUL-terminated for convenience. */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stdarg.h>
#include <string.h>

#include "sluice/common.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} sl_buf_t;

#define SL_BUF_INIT {NULL, 0, 0, 0}

void sl_buf_init(sl_buf_t *b, size_t max);
void sl_buf_free(sl_buf_t *b);
/* Empties the buffer and keeps its memory. */
static inline void sl_buf_clear(sl_buf_t *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}
/* Makes room for n more bytes; returns 0, SL_ELIMIT or SL_ENOMEM. */
int sl_buf_reserve(sl_buf_t *b, size_t n);
int sl_buf_append(sl_buf_t *b, const void *p, size_t n);
int sl_buf_append_c(sl_buf_t *b, const char *s);
int sl_buf_putc(sl_buf_t *b, char c);
int sl_buf_printf(sl_buf_t *b, const char *fmt, ...) SL_PRINTF(2, 3);
int sl_buf_vprintf(sl_buf_t *b, const char *fmt, va_list ap);

/* Fast path for hot loops: caller guarantees room via sl_buf_reserve. */
static inline void sl_buf_put_unchecked(sl_buf_t *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

#endif
