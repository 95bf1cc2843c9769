/* Fuzz target: what the http source reads from a server's answers beyond
 * the JSON parser (fuzzed on its own): Link headers, Retry-After values,
 * the records path and cursor lookups over arbitrary JSON, cursor ordering,
 * and the URL edits applied to next links a server sends.
 *
 * Input: the first line is a records path (or a URL), the rest a body.
 * The whole input is also tried as a Link header and a Retry-After value.
 * Checks beyond "no sanitizer report": a found Link target lies inside the
 * input, a Retry-After wait is -1 or within [0, 1 day], the records found
 * are an array, cursor ordering is antisymmetric and reflexive, and a
 * redacted URL never still holds the value of a parameter named api_key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/plugins/sources/http_internal.h"
#include "sluice/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_http_paging: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes, so ASan sees any read past the end. */
    char *p = malloc(size ? size : 1);
    if (!p) {
        return 0;
    }
    memcpy(p, data, size);

    sl_buf_t out = SL_BUF_INIT;
    int rc = sl_http_link_find(p, size, "next", &out);
    if (rc == 0 && out.len > size) {
        die("link target longer than the header");
    }
    sl_buf_clear(&out);
    sl_http_link_find(p, size, "last", &out);

    int64_t ra = sl_http_retry_after_ms(p, size, 1700000000LL * 1000000);
    if (ra < -1 || ra > 86400 * 1000) {
        die("Retry-After out of range");
    }

    /* path \n body */
    size_t nl = 0;
    while (nl < size && p[nl] != '\n') {
        nl++;
    }
    char *path = malloc(nl + 1);
    if (!path) {
        free(p);
        return 0;
    }
    memcpy(path, p, nl);
    path[nl] = '\0';
    const char *body = nl < size ? p + nl + 1 : p + size;
    size_t blen = nl < size ? size - nl - 1 : 0;

    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t v;
    sl_json_error_t je;
    if (a && sl_json_parse(a, body, blen, NULL, &v, &je) == 0) {
        const sl_value_t *arr = NULL;
        char why[200];
        if (sl_http_records(&v, path, &arr, why, sizeof why) == 0 && arr->type != SL_T_ARRAY) {
            die("records is not an array");
        }
        if (strlen(why) >= sizeof why) {
            die("why not terminated");
        }
        sl_value_path(&v, path, strlen(path));
        /* cursor ordering over the first items of an array */
        if (v.type == SL_T_ARRAY && v.len >= 2) {
            const sl_value_t *x = &v.u.items[0], *y = &v.u.items[1];
            int c1 = sl_http_cursor_cmp(x, y), c2 = sl_http_cursor_cmp(y, x);
            if ((c1 > 0 && c2 >= 0) || (c1 < 0 && c2 <= 0) || (c1 == 0 && c2 != 0)) {
                die("cursor order not antisymmetric");
            }
            if (sl_http_cursor_cmp(x, x) != 0) {
                die("cursor order not reflexive");
            }
        }
    }
    sl_arena_destroy(a);

    /* the first line as a URL a server sent */
    if (!memchr(path, '\0', nl)) {
        sl_buf_clear(&out);
        sl_http_url_resolve(&out, "https://api.example/v1/items?page=2", path);
        sl_buf_clear(&out);
        sl_http_url_set(&out, path, "cursor", "a b&c");
        sl_buf_clear(&out);
        sl_http_url_set(&out, path, "api_key", NULL);
        sl_buf_clear(&out);
        sl_http_url_redact(&out, path, "k");
        const char *hit = out.data ? strstr(out.data, "api_key=") : NULL;
        for (; hit; hit = strstr(hit + 1, "api_key=")) {
            /* only a real parameter (starting right after the first '?'
             * or after a '&', before any '#') must be masked */
            const char *h = strchr(out.data, '#');
            const char *q = memchr(out.data, '?', h ? (size_t)(h - out.data) : out.len);
            bool at_start = (q && hit == q + 1) || (hit > out.data && hit[-1] == '&');
            bool in_query = q && hit > q && (!h || hit < h);
            if (at_start && in_query && strncmp(hit + 8, "***", 3) != 0) {
                die("api_key left visible");
            }
        }
    }
    sl_buf_free(&out);
    free(path);
    free(p);
    return 0;
}
