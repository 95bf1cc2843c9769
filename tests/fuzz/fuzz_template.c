/* Fuzz target for src/core/template.c, expr.c, convert.c and timeutil.c.
 *
 * The input is compiled as a template, as an expression and as a templated
 * expression, and whatever compiles is evaluated against a small fixed
 * record, params, run and item. Checked: rendering and evaluation agree
 * (the text of sl_template_eval's value is what sl_template_render
 * writes), a literal template renders to itself, and an error always comes
 * with a message. The input is also parsed as a timestamp and a date:
 * whatever parses must format and parse back to the same instant. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/expr.h"
#include "sluice/json.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *a, size_t an, const char *b, size_t bn)
{
    fprintf(stderr, "fuzz_template: %s\n  1: %.*s\n  2: %.*s\n", what, (int)an, a ? a : "",
            (int)bn, b ? b : "");
    abort();
}

static sl_value_t parse(sl_arena_t *a, const char *json)
{
    sl_value_t v;
    sl_json_error_t e;
    if (sl_json_parse(a, json, strlen(json), NULL, &v, &e) != 0) {
        die("bad fixture JSON", json, strlen(json), e.reason, strlen(e.reason));
    }
    return v;
}

static sl_tmpl_ctx_t *fixture(void)
{
    static sl_arena_t *a;
    static sl_value_t rec, params, run, item;
    static sl_tmpl_ctx_t ctx;
    if (!a) {
        a = sl_arena_create(0, 0);
        rec = parse(a, "{\"id\": 7, \"name\": \" Ada \", \"amount\": 12.5, \"n\": -3,"
                       " \"ok\": true, \"none\": null, \"ts\": \"2026-11-22T10:00:00Z\","
                       " \"tags\": [\"a\", \"b\", 3], \"customer\": {\"id\": \"c-1\","
                       " \"tier\": \"GOLD\"}, \"big\": 123456789012345678901234,"
                       " \"raw\": 1.50, \"s\": \"a b/\\u00e9\"}");
        sl_object_set(a, &rec, "at", 2, sl_value_timestamp(-1));
        sl_object_set(a, &rec, "day", 3, sl_value_date(20779));
        params = parse(a, "{\"min\": 10, \"s\": \"it's\", \"ids\": [1, \"x\", null, 2.5],"
                          " \"f\": 1e300, \"o\": {\"k\": 1}, \"nested\": [[1]]}");
        run = parse(a, "{\"id\": \"run-1\"}");
        item = parse(a, "\"2026-01-02\"");
        ctx.record = &rec;
        ctx.params = &params;
        ctx.run = &run;
        ctx.item = &item;
        setenv("SL_FUZZ_VAR", "value", 1);
    }
    return &ctx;
}

static void check_template(sl_arena_t *a, const char *src, size_t n)
{
    sl_template_t *t;
    sl_err_t err = {0};
    int rc = sl_template_compile(a, src, n, &t, &err);
    if (rc) {
        if (!err.msg[0]) {
            die("template error without message", src, n, NULL, 0);
        }
        return;
    }
    sl_buf_t r = SL_BUF_INIT, e = SL_BUF_INIT;
    sl_err_t rerr = {0}, eerr = {0};
    int rrc = sl_template_render(t, fixture(), &r, &rerr);
    sl_value_t v;
    int erc = sl_template_eval(t, fixture(), a, &v, &eerr);
    if (rrc != erc) {
        die("render and eval disagree", rerr.msg, strlen(rerr.msg), eerr.msg, strlen(eerr.msg));
    }
    if (rrc == 0) {
        sl_value_to_text(&v, &e);
        if (r.len != e.len || (r.len && memcmp(r.data, e.data, r.len) != 0)) {
            die("render != text(eval)", r.data, r.len, e.data, e.len);
        }
        if (sl_template_is_literal(t) && (r.len != n || (n && memcmp(r.data, src, n) != 0))) {
            die("literal template changed", src, n, r.data, r.len);
        }
    } else if (!rerr.msg[0]) {
        die("render error without message", src, n, NULL, 0);
    }
    sl_buf_free(&r);
    sl_buf_free(&e);
}

static void check_expr(sl_arena_t *a, const char *src, size_t n)
{
    sl_expr_t *x;
    sl_err_t err = {0};
    bool res;
    if (sl_expr_compile(a, src, n, &x, &err) == 0) {
        sl_expr_eval(x, fixture(), &res, &err);
        sl_tmpl_ctx_t bare = {0};
        sl_expr_eval(x, &bare, &res, &err);
    } else if (!err.msg[0]) {
        die("expression error without message", src, n, NULL, 0);
    }
    err.msg[0] = '\0';
    if (sl_expr_compile_templated(a, src, n, fixture(), &x, &err) == 0) {
        sl_expr_eval(x, fixture(), &res, &err);
    } else if (!err.msg[0]) {
        die("templated expression error without message", src, n, NULL, 0);
    }
}

static void check_time(const char *src, size_t n)
{
    int64_t us, back, days;
    char buf[32];
    if (sl_timestamp_parse(src, n, &us) == 0) {
        size_t len = sl_timestamp_format(us, buf);
        if (sl_timestamp_parse(buf, len, &back) != 0 || back != us) {
            die("timestamp does not round-trip", src, n, buf, len);
        }
    }
    if (sl_date_parse(src, n, &days) == 0) {
        size_t len = sl_date_format(days, buf);
        if (len != n || memcmp(buf, src, n) != 0) {
            die("date does not round-trip", src, n, buf, len);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sl_arena_t *a;
    if (!a) {
        a = sl_arena_create(0, 64u << 20);
    }
    /* An exact-size copy: reads past the end are caught by ASan. */
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    check_template(a, src, size);
    check_expr(a, src, size);
    check_time(src, size);
    free(src);
    sl_arena_reset(a);
    return 0;
}
