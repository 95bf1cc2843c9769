/* The small XML reader for S3 responses; see src/net/xml.h. */
#include <string.h>

#include "xml.h"

/* Finds the next element <name ...>content</name> (or <name/>) in
 * [p, end). Returns the position after it and sets the raw content, or
 * NULL when absent. Enough for S3's flat, attribute-free responses. */
const char *sl_xml_find(const char *p, const char *end, const char *name, const char **content,
                        size_t *clen)
{
    size_t nlen = strlen(name);
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || (size_t)(end - lt) < nlen + 2) {
            return NULL;
        }
        const char *after = lt + 1 + nlen;
        if (memcmp(lt + 1, name, nlen) == 0 &&
            (*after == '>' || *after == '/' || *after == ' ' || *after == '\t' ||
             *after == '\r' || *after == '\n')) {
            const char *gt = memchr(after, '>', (size_t)(end - after));
            if (!gt) {
                return NULL;
            }
            if (gt[-1] == '/') {
                *content = gt + 1;
                *clen = 0;
                return gt + 1;
            }
            const char *c = gt + 1;
            for (const char *q = c; q < end;) {
                const char *close = memchr(q, '<', (size_t)(end - q));
                if (!close || (size_t)(end - close) < nlen + 3) {
                    return NULL;
                }
                if (close[1] == '/' && memcmp(close + 2, name, nlen) == 0 &&
                    close[2 + nlen] == '>') {
                    *content = c;
                    *clen = (size_t)(close - c);
                    return close + nlen + 3;
                }
                q = close + 1;
            }
            return NULL;
        }
        p = lt + 1;
    }
    return NULL;
}

static int put_utf8(sl_buf_t *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sl_buf_append(out, b, n);
}

/* Appends the text of an element with entities decoded (the five named
 * ones and &#N; / &#xH;). An unknown or malformed entity is kept as is. */
int sl_xml_text(sl_buf_t *out, const char *p, size_t n)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    int rc = sl_buf_reserve(out, n);
    for (size_t i = 0; i < n && rc == 0;) {
        if (p[i] != '&') {
            size_t j = i;
            while (j < n && p[j] != '&') {
                j++;
            }
            rc = sl_buf_append(out, p + i, j - i);
            i = j;
            continue;
        }
        size_t rest = n - i - 1;
        const char *e = p + i + 1;
        bool done = false;
        for (size_t k = 0; k < SL_ARRAY_LEN(named) && !done; k++) {
            size_t len = strlen(named[k].name);
            if (rest >= len && memcmp(e, named[k].name, len) == 0) {
                rc = sl_buf_putc(out, named[k].c);
                i += 1 + len;
                done = true;
            }
        }
        if (!done && rest >= 3 && e[0] == '#') {
            bool hex = e[1] == 'x' || e[1] == 'X';
            size_t j = hex ? 2 : 1;
            unsigned long cp = 0;
            size_t digits = 0;
            while (j < rest && digits < 8) {
                char c = e[j];
                int v = c >= '0' && c <= '9'   ? c - '0'
                        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                      : -1;
                if (v < 0) {
                    break;
                }
                cp = cp * (hex ? 16 : 10) + (unsigned long)v;
                digits++;
                j++;
            }
            if (digits > 0 && j < rest && e[j] == ';' && cp > 0 && cp <= 0x10FFFF &&
                !(cp >= 0xD800 && cp <= 0xDFFF)) {
                rc = put_utf8(out, cp);
                i += 1 + j + 1;
                done = true;
            }
        }
        if (!done) {
            rc = sl_buf_putc(out, '&');
            i++;
        }
    }
    return rc;
}

/* The decoded text of the first <name> in [p, end) into out (cleared
 * first). Returns false when absent. */
bool sl_xml_get(const char *p, const char *end, const char *name, sl_buf_t *out)
{
    const char *c;
    size_t n;
    sl_buf_clear(out);
    if (!sl_xml_find(p, end, name, &c, &n)) {
        return false;
    }
    return sl_xml_text(out, c, n) == 0;
}
