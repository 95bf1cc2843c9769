/* Tests for src/core/template.c and src/core/convert.c: paths, every
 * filter, typed evaluation, compile and evaluation errors. */
#include <stdlib.h>

#include "sluice/json.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"
#include "../test.h"

static sl_arena_t *arena(void)
{
    static sl_arena_t *a;
    if (!a) {
        a = sl_arena_create(0, 0);
    }
    return a;
}

static sl_value_t J(const char *json)
{
    sl_value_t v;
    sl_json_error_t e;
    if (sl_json_parse(arena(), json, strlen(json), NULL, &v, &e) != 0) {
        sl_test_fail(__FILE__, __LINE__, "bad test JSON %s: %s", json, e.reason);
    }
    return v;
}

/* A record, params, run and item shared by the tests. */
static sl_tmpl_ctx_t *ctx(void)
{
    static sl_tmpl_ctx_t c;
    static sl_value_t rec, params, run, item;
    rec = J("{\"id\": 7, \"name\": \"  Ada Lovelace \", \"amount\": 42, \"price\": 9.5,"
            " \"whole\": 42.0, \"num_text\": \"42\", \"frac_text\": \"42.5\","
            " \"ts_text\": \"2026-11-22T10:00:00Z\", \"customer\": {\"id\": \"c-1\","
            " \"tier\": \"GOLD\"}, \"tags\": [\"a\", \"b\"], \"items\": [{\"sku\": \"x1\"},"
            " {\"sku\": \"x2\"}], \"odd key\": 1, \"nothing\": null, \"flag\": true,"
            " \"url\": \"a b&c/d~\xc3\xa9-_.\"}");
    /* Typed values no JSON text produces. */
    sl_object_set(arena(), &rec, "ts", 2, sl_value_timestamp(1795341600123456LL));
    sl_object_set(arena(), &rec, "day", 3, sl_value_date(20779));
    params = J("{\"min\": 10, \"s\": \"x\"}");
    run = J("{\"id\": \"run-1\"}");
    item = J("\"2026-01-02\"");
    c.record = &rec;
    c.params = &params;
    c.run = &run;
    c.item = &item;
    return &c;
}

static sl_template_t *compile(const char *src)
{
    sl_template_t *t = NULL;
    sl_err_t err = {0};
    int rc = sl_template_compile(arena(), src, strlen(src), &t, &err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "compile %s: %s", src, err.msg);
    }
    return t;
}

static const char *render(const char *src)
{
    sl_template_t *t = compile(src);
    sl_buf_t b = SL_BUF_INIT;
    sl_err_t err = {0};
    sl_buf_append_c(&b, "");
    int rc = sl_template_render(t, ctx(), &b, &err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "render %s: %s", src, err.msg);
    }
    char *s = sl_arena_strndup(arena(), b.data, b.len);
    sl_buf_free(&b);
    return s;
}

static sl_value_t eval(const char *src)
{
    sl_template_t *t = compile(src);
    sl_value_t v;
    sl_err_t err = {0};
    if (sl_template_eval(t, ctx(), arena(), &v, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "eval %s: %s", src, err.msg);
    }
    return v;
}

static const char *compile_error(const char *src)
{
    static sl_err_t err;
    sl_template_t *t = NULL;
    memset(&err, 0, sizeof err);
    int rc = sl_template_compile(arena(), src, strlen(src), &t, &err);
    if (rc != SL_EPARSE) {
        sl_test_fail(__FILE__, __LINE__, "compile %s: expected SL_EPARSE, got %d", src, rc);
    }
    return err.msg;
}

static const char *eval_error(const char *src)
{
    static sl_err_t err;
    sl_value_t v;
    memset(&err, 0, sizeof err);
    int rc = sl_template_eval(compile(src), ctx(), arena(), &v, &err);
    if (rc != SL_ETYPE) {
        sl_test_fail(__FILE__, __LINE__, "eval %s: expected SL_ETYPE, got %d", src, rc);
    }
    /* Rendering reports the same problem. */
    sl_buf_t b = SL_BUF_INIT;
    sl_err_t err2 = {0};
    if (sl_template_render(compile(src), ctx(), &b, &err2) != SL_ETYPE ||
        strcmp(err.msg, err2.msg) != 0) {
        sl_test_fail(__FILE__, __LINE__, "render %s: different error '%s'", src, err2.msg);
    }
    sl_buf_free(&b);
    return err.msg;
}

SL_TEST(template_literal_text)
{
    sl_template_t *t = compile("plain text, no braces } {");
    CHECK(sl_template_is_literal(t));
    CHECK(!sl_template_uses_record(t));
    CHECK_STR(render("plain text, no braces } {"), "plain text, no braces } {");
    sl_value_t v = eval("plain");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "plain");
    v = eval("");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_INT(v.len, 0);
    CHECK_STR(render(""), "");
}

SL_TEST(template_paths)
{
    CHECK_STR(render("{{ record.id }}"), "7");
    CHECK_STR(render("{{record.customer.id}}"), "c-1");
    CHECK_STR(render("{{ record.items.1.sku }}"), "x2");
    CHECK_STR(render("{{ record.items[0].sku }}"), "x1");
    CHECK_STR(render("{{ record['odd key'] }}"), "1");
    CHECK_STR(render("{{ record.tags }}"), "[\"a\",\"b\"]");
    CHECK_STR(render("{{ params.min }}/{{ run.id }}/{{ item }}"), "10/run-1/2026-01-02");
    CHECK_STR(render("{{ record.price }} {{ record.whole }} {{ record.flag }}"), "9.5 42.0 true");
    CHECK_STR(render("{{ record.ts }} {{ record.day }}"),
              "2026-11-22T10:00:00.123456Z 2026-11-22");
    CHECK_STR(render("a{{ record.id }}b{{ record.id }}c"), "a7b7c");
    CHECK(sl_template_uses_record(compile("x {{ record.id }}")));
    CHECK(!sl_template_uses_record(compile("x {{ params.min }} {{ run.id }}")));
    CHECK(!sl_template_is_literal(compile("{{ params.min }}")));
}

SL_TEST(template_missing_paths)
{
    CHECK_STR(render("[{{ record.missing }}]"), "[]");
    CHECK_STR(render("[{{ record.customer.missing.deeper }}]"), "[]");
    CHECK_STR(render("[{{ record.items.9.sku }}]"), "[]");
    CHECK_STR(render("[{{ record.id.sub }}]"), "[]");
    CHECK_STR(render("[{{ record.nothing }}]"), "[]");
    CHECK_INT(eval("{{ record.missing }}").type, SL_T_NULL);
    CHECK_INT(eval("{{ record.nothing | lower | md5 }}").type, SL_T_NULL);
    /* No context at all: every path is missing. */
    sl_template_t *t = compile("[{{ record.id }}{{ params.x }}]");
    sl_buf_t b = SL_BUF_INIT;
    sl_err_t err = {0};
    CHECK_INT(sl_template_render(t, NULL, &b, &err), 0);
    CHECK_STRN(b.data, b.len, "[]");
    sl_buf_free(&b);
}

SL_TEST(template_typed_eval)
{
    sl_value_t v = eval("{{ record.amount }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 42);
    v = eval("{{ record.ts_text | date }}");
    CHECK_INT(v.type, SL_T_DATE);
    CHECK_INT(v.u.i, 20779);
    v = eval("{{ record.ts | date }}");
    CHECK_INT(v.type, SL_T_DATE);
    CHECK_INT(v.u.i, 20779);
    v = eval("{{ record.day | date }}");
    CHECK_INT(v.type, SL_T_DATE);
    CHECK_INT(v.u.i, 20779);
    v = eval("{{ record.flag }}");
    CHECK_INT(v.type, SL_T_BOOL);
    CHECK_INT(v.u.i, 1);
    v = eval("{{ record.customer }}");
    CHECK_INT(v.type, SL_T_OBJECT);
    CHECK_INT(v.len, 2);
    v = eval("{{ 'lit' }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "lit");
    v = eval("{{ 12 }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 12);
    v = eval("{{ -1.5 }}");
    CHECK_INT(v.type, SL_T_DOUBLE);
    CHECK_DBL(v.u.d, -1.5);
    /* Anything around the braces makes it text. */
    v = eval(" {{ record.amount }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, " 42");
    v = eval("id={{ record.id }}&day={{ record.ts | date }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "id=7&day=2026-11-22");
}

SL_TEST(template_filter_case_trim)
{
    CHECK_STR(render("{{ record.name | lower }}"), "  ada lovelace ");
    CHECK_STR(render("{{ record.name | upper }}"), "  ADA LOVELACE ");
    CHECK_STR(render("[{{ record.name | trim }}]"), "[Ada Lovelace]");
    CHECK_STR(render("[{{ record.name | trim | upper }}]"), "[ADA LOVELACE]");
    CHECK_STR(render("{{ record.customer.tier | lower }}"), "gold");
    /* Non-ASCII bytes are left alone. */
    CHECK_STR(render("{{ record.url | upper }}"), "A B&C/D~\xc3\xa9-_.");
    CHECK_STR(render("{{ 'already lower' | lower }}"), "already lower");
}

SL_TEST(template_filter_md5_json_urlencode)
{
    CHECK_STR(render("{{ 'hello' | md5 }}"), "5d41402abc4b2a76b9719d911017c592");
    CHECK_STR(render("{{ record.amount | md5 }}"), "a1d0c6e83f027327d8461063f4ac58a6");
    CHECK_STR(render("{{ record.ts_text | md5 }}"), "e231fa45f84e18811547b861e281b3f8");
    CHECK_STR(render("{{ record.tags | json }}"), "[\"a\",\"b\"]");
    CHECK_STR(render("{{ record.customer | json }}"), "{\"id\":\"c-1\",\"tier\":\"GOLD\"}");
    CHECK_STR(render("{{ record.name | json }}"), "\"  Ada Lovelace \"");
    CHECK_STR(render("{{ record.missing | json }}"), "null");
    CHECK_STR(render("{{ record.amount | json }}"), "42");
    CHECK_STR(render("{{ record.ts | json }}"), "\"2026-11-22T10:00:00.123456Z\"");
    CHECK_STR(render("{{ record.url | urlencode }}"), "a%20b%26c%2Fd~%C3%A9-_.");
    CHECK_STR(render("{{ record.ts | urlencode }}"), "2026-11-22T10%3A00%3A00.123456Z");
    CHECK_STR(render("{{ record.amount | urlencode }}"), "42");
    sl_value_t v = eval("{{ record.tags | json }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "[\"a\",\"b\"]");
}

SL_TEST(template_filter_conversions)
{
    sl_value_t v = eval("{{ record.amount | string }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "42");
    v = eval("{{ record.day | string }}");
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "2026-11-22");
    v = eval("{{ record.num_text | int }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 42);
    v = eval("{{ record.whole | int }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 42);
    v = eval("{{ record.flag | int }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 1);
    v = eval("{{ record.frac_text | float }}");
    CHECK_INT(v.type, SL_T_DOUBLE);
    CHECK_DBL(v.u.d, 42.5);
    v = eval("{{ record.amount | float }}");
    CHECK_INT(v.type, SL_T_DOUBLE);
    CHECK_DBL(v.u.d, 42.0);
    CHECK_STR(render("{{ record.amount | float }}"), "42.0");
}

SL_TEST(template_filter_default)
{
    CHECK_STR(render("{{ record.missing | default('none') }}"), "none");
    CHECK_STR(render("{{ record.nothing | default(\"dq\") }}"), "dq");
    CHECK_STR(render("{{ record.name | trim | default('none') }}"), "Ada Lovelace");
    CHECK_STR(render("{{ record.missing | lower | default('x') | upper }}"), "X");
    CHECK_STR(render("{{ record.missing | default('it\\'s') }}"), "it's");
    sl_value_t v = eval("{{ record.missing | default(0) }}");
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 0);
    v = eval("{{ record.missing | default(2.5) }}");
    CHECK_INT(v.type, SL_T_DOUBLE);
    CHECK_DBL(v.u.d, 2.5);
    v = eval("{{ record.missing | default(false) }}");
    CHECK_INT(v.type, SL_T_BOOL);
    CHECK_INT(v.u.i, 0);
    v = eval("{{ record.missing | default(null) }}");
    CHECK_INT(v.type, SL_T_NULL);
    v = eval("{{ record.amount | default(0) }}");
    CHECK_INT(v.u.i, 42);
    /* An empty string is a value, not missing. */
    CHECK_STR(render("[{{ '' | default('x') }}]"), "[]");
}

SL_TEST(template_env)
{
    setenv("SL_TEMPLATE_TEST_VAR", "from env", 1);
    unsetenv("SL_TEMPLATE_TEST_UNSET");
    CHECK_STR(render("{{ env.SL_TEMPLATE_TEST_VAR }}"), "from env");
    CHECK_STR(render("[{{ env.SL_TEMPLATE_TEST_UNSET }}]"), "[]");
    CHECK_STR(render("{{ env.SL_TEMPLATE_TEST_UNSET | default('d') }}"), "d");
    /* Read at render time, not at compile time. */
    sl_template_t *t = compile("{{ env.SL_TEMPLATE_TEST_VAR | upper }}");
    setenv("SL_TEMPLATE_TEST_VAR", "changed", 1);
    sl_buf_t b = SL_BUF_INIT;
    sl_err_t err = {0};
    CHECK_INT(sl_template_render(t, ctx(), &b, &err), 0);
    CHECK_STRN(b.data, b.len, "CHANGED");
    sl_buf_free(&b);
    /* A failing filter does not show the (possibly secret) value. */
    setenv("SL_TEMPLATE_TEST_VAR", "hunter2", 1);
    const char *msg = eval_error("{{ env.SL_TEMPLATE_TEST_VAR | int }}");
    CHECK(strstr(msg, "hunter2") == NULL);
    CHECK_CONTAINS(msg, "filter 'int' cannot make an int of string (from env.SL_TEMPLATE_TEST_VAR)");
}

SL_TEST(template_compile_errors)
{
    CHECK_STR(compile_error("{{ record.x | lowr }}"),
              "template '{{ record.x | lowr }}': 1:15: unknown filter 'lowr' (known: date, "
              "lower, upper, trim, md5, json, urlencode, string, int, float, default)");
    CHECK_STR(compile_error("abc {{ record.x "), "template 'abc {{ record.x ': 1:5: "
              "unterminated '{{'");
    CHECK_STR(compile_error("{{ record.x | lower"), "template '{{ record.x | lower': 1:1: "
              "unterminated '{{'");
    CHECK_STR(compile_error("{{ recrd.x }}"), "template '{{ recrd.x }}': 1:4: unknown root "
              "'recrd' (expected record, params, run, item, env, steps, "
              "error)");
    CHECK_STR(compile_error("line1\n  {{ record.x | upper(1) }}"),
              "template 'line1   {{ record.x | upper(1) }}': 2:22: filter 'upper' takes no "
              "argument");
    CHECK_STR(compile_error("{{ record.x | default }}"), "template '{{ record.x | default }}': "
              "1:22: filter 'default' needs a value: default('text'), default(0)");
    CHECK_STR(compile_error("{{ record.x | default(record.y) }}"),
              "template '{{ record.x | default(record.y) }}': 1:23: default() takes a literal: a "
              "quoted string, a number, true, false or null");
    CHECK_STR(compile_error("{{ }}"), "template '{{ }}': 1:4: expected a value, got '}}'");
    CHECK_STR(compile_error("{{ record.x y }}"), "template '{{ record.x y }}': 1:13: expected "
              "'}}' or '| filter' after 'record.x', got 'y'");
    CHECK_STR(compile_error("{{ record. }}"), "template '{{ record. }}': 1:11: expected a field "
              "name after '.'");
    CHECK_STR(compile_error("{{ env }}"), "template '{{ env }}': 1:4: env needs one variable "
              "name: env.NAME");
    CHECK_STR(compile_error("{{ 'abc }}"), "template '{{ 'abc }}': 1:4: unterminated string");
    CHECK_STR(compile_error("{{ 'a\\q' }}"), "template '{{ 'a\\q' }}': 1:6: unknown escape "
              "'\\q' in string");
    CHECK_STR(compile_error("{{ record.x | }}"), "template '{{ record.x | }}': 1:15: expected a "
              "filter name after '|' (known: date, lower, upper, trim, md5, json, urlencode, "
              "string, int, float, default)");
    CHECK_STR(compile_error("{{ 12abc }}"), "template '{{ 12abc }}': 1:4: invalid number "
              "'12abc'");
    /* Long templates are cut in messages. */
    CHECK_CONTAINS(compile_error("{{ record.x | nope }} and then a great deal more text "
                                 "follows here"),
                   "template '{{ record.x | nope }} and then a great deal more text fol...': ");
}

SL_TEST(template_eval_errors)
{
    CHECK_STR(eval_error("{{ record.name | int }}"),
              "template '{{ record.name | int }}': filter 'int' cannot make an int of string "
              "'  Ada Lovelace ' (from record.name)");
    CHECK_STR(eval_error("{{ record.frac_text | int }}"),
              "template '{{ record.frac_text | int }}': filter 'int' cannot make an int of "
              "string '42.5' (from record.frac_text)");
    CHECK_STR(eval_error("{{ record.amount | lower }}"),
              "template '{{ record.amount | lower }}': filter 'lower' needs a string, got int "
              "42 (from record.amount)");
    CHECK_STR(eval_error("x{{ record.tags | trim }}"),
              "template 'x{{ record.tags | trim }}': filter 'trim' needs a string, got array "
              "(from record.tags)");
    CHECK_STR(eval_error("{{ record.name | date }}"),
              "template '{{ record.name | date }}': filter 'date' cannot make a date of string "
              "'  Ada Lovelace ' (from record.name)");
    CHECK_STR(eval_error("{{ record.amount | date }}"),
              "template '{{ record.amount | date }}': filter 'date' cannot make a date of int "
              "42 (from record.amount)");
}

SL_TEST(template_string_escapes)
{
    CHECK_STR(render("{{ 'a\\'b\\\"c\\\\d\\n' }}"), "a'b\"c\\d\n");
    CHECK_STR(render("{{ \"\\u00e9\\ud83d\\ude00\" }}"), "\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(render("{{ '{{' }} literal {{ '}}' }}"), "{{ literal }}");
    CHECK_CONTAINS(compile_error("{{ '\\ud83d' }}"), "high surrogate");
    CHECK_CONTAINS(compile_error("{{ '\\u12' }}"), "invalid \\u escape");
}

SL_TEST(template_render_appends)
{
    sl_template_t *t = compile("{{ record.id }}-{{ record.customer.tier | lower }}");
    sl_buf_t b = SL_BUF_INIT;
    sl_err_t err = {0};
    sl_buf_append_c(&b, "prefix:");
    for (int i = 0; i < 1000; i++) {
        b.len = 7;
        CHECK_INT(sl_template_render(t, ctx(), &b, &err), 0);
    }
    CHECK_STRN(b.data, b.len, "prefix:7-gold");
    sl_buf_free(&b);
}

SL_TEST(template_value_convert)
{
    sl_arena_t *a = arena();
    sl_value_t out;
    sl_err_t err = {0};
    sl_value_t s = sl_value_str(" -7 ", 4);
    CHECK_INT(sl_value_convert(a, &s, SL_T_INT, &out, &err), 0);
    CHECK_INT(out.u.i, -7);
    s = sl_value_str("9223372036854775808", 19);
    CHECK_INT(sl_value_convert(a, &s, SL_T_INT, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert string '9223372036854775808' to int (out of range)");
    s = sl_value_str("-9223372036854775808", 20);
    CHECK_INT(sl_value_convert(a, &s, SL_T_INT, &out, &err), 0);
    CHECK_INT(out.u.i, INT64_MIN);
    s = sl_value_str("0x10", 4);
    CHECK_INT(sl_value_convert(a, &s, SL_T_INT, &out, &err), SL_ETYPE);
    s = sl_value_str("1e3", 3);
    CHECK_INT(sl_value_convert(a, &s, SL_T_INT, &out, &err), 0);
    CHECK_INT(out.u.i, 1000);
    s = sl_value_str("nan", 3);
    CHECK_INT(sl_value_convert(a, &s, SL_T_DOUBLE, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert string 'nan' to float");
    s = sl_value_str("1e999", 5);
    CHECK_INT(sl_value_convert(a, &s, SL_T_DOUBLE, &out, &err), SL_ETYPE);
    s = sl_value_str(".5", 2);
    CHECK_INT(sl_value_convert(a, &s, SL_T_DOUBLE, &out, &err), 0);
    CHECK_DBL(out.u.d, 0.5);
    sl_value_t d = sl_value_double(42.5);
    CHECK_INT(sl_value_convert(a, &d, SL_T_INT, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert float 42.5 to int (not a whole number)");
    d = sl_value_double(0.1);
    CHECK_INT(sl_value_convert(a, &d, SL_T_INT, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert float 0.1 to int (not a whole number)");
    d = sl_value_double(1e19);
    CHECK_INT(sl_value_convert(a, &d, SL_T_INT, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert float 1e+19 to int (out of range)");
    sl_value_t i = sl_value_int(1700000000);
    CHECK_INT(sl_value_convert(a, &i, SL_T_TIMESTAMP, &out, &err), 0);
    CHECK_INT(out.type, SL_T_TIMESTAMP);
    CHECK_INT(out.u.i, 1700000000LL * 1000000);
    d = sl_value_double(1.5);
    CHECK_INT(sl_value_convert(a, &d, SL_T_TIMESTAMP, &out, &err), 0);
    CHECK_INT(out.u.i, 1500000);
    i = sl_value_int(INT64_MAX / 1000);
    CHECK_INT(sl_value_convert(a, &i, SL_T_TIMESTAMP, &out, &err), SL_ETYPE);
    sl_value_t t = sl_value_timestamp(-1);
    CHECK_INT(sl_value_convert(a, &t, SL_T_DATE, &out, &err), 0);
    CHECK_INT(out.u.i, -1); /* 1969-12-31 */
    sl_value_t day = sl_value_date(-1);
    CHECK_INT(sl_value_convert(a, &day, SL_T_TIMESTAMP, &out, &err), 0);
    CHECK_INT(out.u.i, -86400000000LL);
    s = sl_value_str("2026-03-15T01:00:00+05:30", 25);
    CHECK_INT(sl_value_convert(a, &s, SL_T_DATE, &out, &err), 0);
    CHECK_INT(out.u.i, sl_days_from_civil(2026, 3, 14)); /* UTC day */
    s = sl_value_str("YES", 3);
    CHECK_INT(sl_value_convert(a, &s, SL_T_BOOL, &out, &err), 0);
    CHECK_INT(out.type, SL_T_BOOL);
    CHECK_INT(out.u.i, 1);
    s = sl_value_str("maybe", 5);
    CHECK_INT(sl_value_convert(a, &s, SL_T_BOOL, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert string 'maybe' to bool");
    i = sl_value_int(2);
    CHECK_INT(sl_value_convert(a, &i, SL_T_BOOL, &out, &err), SL_ETYPE);
    i = sl_value_int(-12345);
    CHECK_INT(sl_value_convert(a, &i, SL_T_STRING, &out, &err), 0);
    CHECK_STRN(out.u.s, out.len, "-12345");
    i = sl_value_int(INT64_MIN);
    CHECK_INT(sl_value_convert(a, &i, SL_T_STRING, &out, &err), 0);
    CHECK_STRN(out.u.s, out.len, "-9223372036854775808");
    sl_value_t n = sl_value_null();
    CHECK_INT(sl_value_convert(a, &n, SL_T_INT, &out, &err), 0);
    CHECK_INT(out.type, SL_T_NULL);
    s = sl_value_str("a very long string value that goes on and on and on", 51);
    CHECK_INT(sl_value_convert(a, &s, SL_T_DATE, &out, &err), SL_ETYPE);
    CHECK_STR(err.msg, "cannot convert string 'a very long string value that goes on...' to "
              "date");
}
