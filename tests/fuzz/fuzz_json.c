/* Fuzz target for src/core/json.c.
 *
 * The input is parsed as one JSON document. When it parses, its compact
 * form must parse again and write to the very same text (the writer's
 * output is a fixpoint), and likewise for the sorted form; the strict
 * reject_bignum mode must agree except for out-of-range integers. The
 * input is also run through the array splitter at once and in chunks of a
 * size picked by the first byte: both runs must give the same elements and
 * the same final result, and for a valid top-level array the elements must
 * be exactly the array's items. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_json: %s\n  1: %s\n  2: %s\n", what, a ? a : "", b ? b : "");
    abort();
}

static void write_or_die(sl_buf_t *b, const sl_value_t *v, unsigned flags)
{
    sl_buf_clear(b);
    int rc = sl_json_write(b, v, flags);
    if (rc) {
        die("write failed", sl_strerror(rc), NULL);
    }
}

/* Writes v, parses the text, writes again: the two texts must match. */
static void check_fixpoint(sl_arena_t *a, const sl_value_t *v, unsigned flags)
{
    sl_buf_t w1 = SL_BUF_INIT, w2 = SL_BUF_INIT;
    sl_json_error_t err;
    sl_value_t v2;
    write_or_die(&w1, v, flags);
    /* An exact-size copy so the re-parse cannot read past the text. */
    char *copy = malloc(w1.len ? w1.len : 1);
    memcpy(copy, w1.data, w1.len);
    int rc = sl_json_parse(a, copy, w1.len, NULL, &v2, &err);
    if (rc) {
        die("written JSON does not parse", w1.data, err.reason);
    }
    write_or_die(&w2, &v2, flags);
    if (w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0) {
        die("write(parse(write(v))) != write(v)", w1.data, w2.data);
    }
    if (flags == 0) {
        /* Sorting does not depend on the member order it starts from. */
        sl_buf_t s1 = SL_BUF_INIT, s2 = SL_BUF_INIT;
        write_or_die(&s1, v, SL_JSON_SORTED);
        write_or_die(&s2, &v2, SL_JSON_SORTED);
        if (s1.len != s2.len || memcmp(s1.data, s2.data, s1.len) != 0) {
            die("sorted forms differ", s1.data, s2.data);
        }
        sl_buf_free(&s1);
        sl_buf_free(&s2);
    }
    free(copy);
    sl_buf_free(&w1);
    sl_buf_free(&w2);
}

/* Runs the splitter over data, chunk bytes at a time (keeping the bytes
 * from *pos on, like a file reader), logging elements and the outcome. */
static void split(const char *data, size_t size, size_t chunk, sl_buf_t *log)
{
    sl_json_array_splitter_t s;
    sl_json_array_splitter_init(&s);
    char *win = malloc(size + 1);
    size_t n = 0, pos = 0, fed = 0;
    sl_json_error_t err;
    for (size_t calls = 0;; calls++) {
        if (calls > 4 * size + 16) {
            die("splitter makes no progress", NULL, NULL);
        }
        bool eof = fed == size;
        char *view = malloc(n ? n : 1);
        memcpy(view, win, n);
        size_t off = 0, len = 0;
        int rc = sl_json_array_next(&s, view, n, &pos, eof, &off, &len, &err);
        if (rc == 0) {
            if (off + len != pos || pos > n || len == 0) {
                die("bad element span", NULL, NULL);
            }
            sl_buf_printf(log, "E%zu:", len);
            sl_buf_append(log, view + off, len);
            sl_buf_putc(log, '\n');
        }
        free(view);
        if (rc == 0) {
            continue;
        }
        if (rc == SL_AGAIN) {
            if (eof) {
                die("SL_AGAIN at end of input", NULL, NULL);
            }
            if (pos > n) {
                die("pos beyond the buffer", NULL, NULL);
            }
            memmove(win, win + pos, n - pos);
            n -= pos;
            pos = 0;
            size_t k = size - fed < chunk ? size - fed : chunk;
            memcpy(win + n, data + fed, k);
            n += k;
            fed += k;
            continue;
        }
        if (rc == SL_EOF) {
            sl_buf_append_c(log, "EOF\n");
        } else if (rc == SL_EPARSE) {
            sl_buf_printf(log, "ERR %zu %s\n", err.offset, err.reason);
        } else {
            die("unexpected splitter result", sl_strerror(rc), NULL);
        }
        break;
    }
    free(win);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sl_arena_t *a;
    if (!a) {
        a = sl_arena_create(64 * 1024, 0);
    }
    const char *text = (const char *)data;
    sl_json_error_t err;
    sl_value_t v;
    int rc = sl_json_parse(a, text, size, NULL, &v, &err);
    if (rc != 0 && rc != SL_EPARSE) {
        die("unexpected parse result", sl_strerror(rc), NULL);
    }
    if (rc == SL_EPARSE && (err.offset > size || err.reason[0] == '\0')) {
        die("bad error report", err.reason, NULL);
    }
    if (rc == 0) {
        check_fixpoint(a, &v, 0);
        check_fixpoint(a, &v, SL_JSON_SORTED);
    }
    sl_json_opts_t strict = {.reject_bignum = true};
    sl_value_t vs;
    sl_json_error_t serr;
    int src = sl_json_parse(a, text, size, &strict, &vs, &serr);
    if (src != rc && !(src == SL_EPARSE && strstr(serr.reason, "integer out of range"))) {
        die("reject_bignum changes more than bignums", err.reason, serr.reason);
    }

    sl_buf_t whole = SL_BUF_INIT, chunked = SL_BUF_INIT;
    split(text, size, size ? size : 1, &whole);
    split(text, size, size ? (size_t)data[0] % 13 + 1 : 1, &chunked);
    if (whole.len != chunked.len || memcmp(whole.data, chunked.data, whole.len) != 0) {
        die("splitter results depend on chunking", whole.data, chunked.data);
    }
    if (rc == 0 && v.type == SL_T_ARRAY) {
        /* The splitter must find exactly the items of the parsed array. */
        sl_buf_t expect = SL_BUF_INIT, w = SL_BUF_INIT;
        const char *p = whole.data;
        for (uint32_t i = 0; i < v.len; i++) {
            size_t len = 0;
            if (!p || sscanf(p, "E%zu:", &len) != 1) {
                die("splitter found fewer elements than the parser", whole.data, NULL);
            }
            const char *el = strchr(p, ':') + 1;
            sl_value_t ev;
            if (sl_json_parse(a, el, len, NULL, &ev, &err) != 0) {
                die("element span does not parse", el, err.reason);
            }
            write_or_die(&w, &ev, 0);
            write_or_die(&expect, &v.u.items[i], 0);
            if (strcmp(w.data, expect.data) != 0) {
                die("element differs from the parsed item", w.data, expect.data);
            }
            p = el + len + 1;
        }
        if (!p || strcmp(p, "EOF\n") != 0) {
            die("splitter did not end with EOF after the items", whole.data, p);
        }
        sl_buf_free(&expect);
        sl_buf_free(&w);
    }
    sl_buf_free(&whole);
    sl_buf_free(&chunked);
    sl_arena_reset(a);
    return 0;
}
