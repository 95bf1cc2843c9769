/* Tests for src/core/expr.c: precedence, short-circuit, null semantics,
 * lists, numbers across int/float, dates, errors, templated compiles. */
#include "sluice/expr.h"
#include "sluice/json.h"
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

static sl_tmpl_ctx_t *ctx(void)
{
    static sl_tmpl_ctx_t c;
    static sl_value_t rec, params;
    static bool init;
    if (!init) {
        rec = J("{\"amount\": 10, \"price\": 10.0, \"ratio\": 0.5, \"status\": \"paid\","
                " \"name\": \"it's\", \"refunded\": false, \"vip\": true, \"zero\": 0,"
                " \"empty\": \"\", \"nothing\": null, \"customer\": {\"id\": \"c-1\","
                " \"tier\": \"Gold\"}, \"tags\": [\"a\", \"b\"], \"day_text\": \"2026-11-22\","
                " \"and_field\": 1}");
        sl_object_set(arena(), &rec, "ts", 2, sl_value_timestamp(1795341600123456LL));
        sl_object_set(arena(), &rec, "day", 3, sl_value_date(20779)); /* 2026-11-22 */
        sl_value_t big = sl_value_str("12345678901234567890", 20);
        big.type = SL_T_BIGNUM;
        sl_object_set(arena(), &rec, "big", 3, big);
        params = J("{\"min\": 5, \"status\": \"paid\", \"quoted\": \"it's\","
                   " \"ids\": [1, 10, \"x\"], \"limit\": 9.5, \"on\": true, \"none\": null}");
        sl_object_set(arena(), &params, "since", 5, sl_value_date(20778));
        init = true;
    }
    c.record = &rec;
    c.params = &params;
    return &c;
}

static sl_expr_t *compile(const char *src)
{
    sl_expr_t *e = NULL;
    sl_err_t err = {0};
    if (sl_expr_compile(arena(), src, strlen(src), &e, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "compile %s: %s", src, err.msg);
    }
    return e;
}

static bool T(const char *src)
{
    bool r = false;
    sl_err_t err = {0};
    int rc = sl_expr_eval(compile(src), ctx(), &r, &err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "eval %s: %s", src, err.msg);
    }
    return r;
}

static const char *compile_error(const char *src)
{
    static sl_err_t err;
    sl_expr_t *e = NULL;
    memset(&err, 0, sizeof err);
    if (sl_expr_compile(arena(), src, strlen(src), &e, &err) != SL_EPARSE) {
        sl_test_fail(__FILE__, __LINE__, "compile %s: expected SL_EPARSE", src);
    }
    return err.msg;
}

static const char *eval_error(const char *src)
{
    static sl_err_t err;
    bool r = true;
    memset(&err, 0, sizeof err);
    if (sl_expr_eval(compile(src), ctx(), &r, &err) != SL_ETYPE) {
        sl_test_fail(__FILE__, __LINE__, "eval %s: expected SL_ETYPE", src);
    }
    return err.msg;
}

SL_TEST(expr_comparisons)
{
    CHECK(T("amount >= 10"));
    CHECK(!T("amount > 10"));
    CHECK(T("amount <= 10"));
    CHECK(!T("amount < 10"));
    CHECK(T("amount == 10"));
    CHECK(!T("amount != 10"));
    CHECK(T("amount!=11"));
    CHECK(T("status == 'paid'"));
    CHECK(T("status == \"paid\""));
    CHECK(!T("status == 'Paid'"));
    CHECK(T("status > 'open'"));
    CHECK(T("customer.id == 'c-1'"));
    CHECK(T("record.customer.tier == 'Gold'"));
    CHECK(T("record.amount == 10"));
    CHECK(T("tags.1 == 'b'"));
    CHECK(T("name == 'it\\'s'"));
    CHECK(T("name == \"it's\""));
    CHECK(T("-5 < amount"));
    CHECK(T("10 == amount"));
    CHECK(T("record.and_field == 1"));
    CHECK(T("empty == ''"));
    CHECK(T("empty < 'a'"));
    CHECK(T("'' < status"));
    CHECK(T("status > 'pai'"));
    CHECK(!T("status < 'pai'"));
}

SL_TEST(expr_numbers_across_types)
{
    CHECK(T("price == 10"));
    CHECK(T("amount == 10.0"));
    CHECK(T("amount > 9.5"));
    CHECK(T("ratio < 1"));
    CHECK(T("ratio == 5e-1"));
    CHECK(T("big > 1e19"));
    CHECK(T("big > 9223372036854775807"));
    CHECK(T("amount < 99999999999999999999")); /* literal beyond int64 */
    CHECK(T("amount | string == '10'"));
    CHECK(T("day_text | date == day"));
}

SL_TEST(expr_precedence)
{
    /* vip=true, refunded=false, zero=0 */
    CHECK(T("vip or refunded and zero"));   /* vip or (refunded and zero) */
    CHECK(!T("(vip or refunded) and zero"));
    CHECK(T("not refunded"));
    CHECK(!T("not vip"));
    CHECK(T("not not vip"));
    CHECK(T("not amount == 11"));           /* not (amount == 11) */
    CHECK(!T("not amount == 10"));
    CHECK(T("not refunded and vip"));       /* (not refunded) and vip */
    CHECK(T("refunded or not refunded and vip"));
    CHECK(T("amount >= 10 and (status == 'paid' or not refunded)"));
    CHECK(!T("amount >= 10 and (status == 'open' or refunded)"));
    CHECK(T("((((amount == 10))))"));
    CHECK(T("vip AND NOT refunded OR zero"));
    CHECK(T("true"));
    CHECK(!T("false"));
    CHECK(!T("null is not null"));
}

SL_TEST(expr_truthiness)
{
    CHECK(T("vip"));
    CHECK(!T("refunded"));
    CHECK(!T("zero"));
    CHECK(!T("empty"));
    CHECK(T("status"));
    CHECK(!T("nothing"));
    CHECK(!T("missing_field"));
    CHECK(T("customer"));
    CHECK(T("tags"));
}

SL_TEST(expr_short_circuit)
{
    /* The right side would be an evaluation error. */
    CHECK_CONTAINS(eval_error("amount > 'abc'"), "cannot compare");
    CHECK(T("vip or amount > 'abc'"));
    CHECK(!T("refunded and amount > 'abc'"));
    CHECK(T("amount == 10 or status > 5"));
    CHECK_CONTAINS(eval_error("refunded or amount > 'abc'"), "cannot compare");
    CHECK_CONTAINS(eval_error("vip and amount > 'abc'"), "cannot compare");
}

SL_TEST(expr_null_semantics)
{
    CHECK(T("nothing is null"));
    CHECK(T("missing is null"));
    CHECK(T("customer.missing.deep is null"));
    CHECK(!T("nothing is not null"));
    CHECK(T("amount is not null"));
    CHECK(T("amount IS NOT NULL"));
    /* Comparisons with null are false, whatever the operator. */
    CHECK(!T("missing == 1"));
    CHECK(!T("missing != 1"));
    CHECK(!T("missing > 1"));
    CHECK(!T("missing < 1"));
    CHECK(!T("nothing == 'x'"));
    CHECK(!T("nothing != 'x'"));
    CHECK(T("not (missing == 1)"));
    CHECK(!T("missing in [1, 2]"));
    CHECK(!T("missing not in [1, 2]"));
    CHECK(T("missing | default(3) == 3"));
}

SL_TEST(expr_in_lists)
{
    CHECK(T("status in ['paid', 'open']"));
    CHECK(!T("status in ['open', 'void']"));
    CHECK(T("status not in ['open', 'void']"));
    CHECK(!T("status not in ['paid']"));
    CHECK(T("amount in [1, 2, 'x', 10]"));
    CHECK(T("amount in [10.0]"));
    CHECK(T("price in [1, 10]"));
    CHECK(!T("amount in []"));
    CHECK(T("amount not in []"));
    CHECK(T("amount in [params.min, 10]"));
    CHECK(!T("amount in ['10']")); /* a string is not a number */
    CHECK(T("day in ['2026-11-21', '2026-11-22']"));
    CHECK(T("status IN ['paid']"));
    CHECK(T("amount in [ 1 , 10 ]"));
    CHECK(T("amount in [null, 10]"));
}

SL_TEST(expr_dates)
{
    /* ts = 2026-11-22T10:00:00.123456Z, day = 2026-11-22 (date). */
    CHECK(T("ts >= '2026-01-01'"));
    CHECK(T("ts > '2026-11-22T10:00:00Z'"));
    CHECK(T("ts < '2026-11-22T10:00:00.123457Z'"));
    CHECK(T("ts == '2026-11-22T10:00:00.123456Z'"));
    CHECK(T("ts == '2026-11-22T15:30:00.123456+05:30'"));
    CHECK(T("'2026-01-01' < ts"));
    CHECK(T("day == '2026-11-22'"));
    CHECK(T("day < '2026-11-22T00:00:01Z'"));
    CHECK(T("day >= params.since"));
    CHECK(T("day < ts"));
    CHECK(T("day_text >= '2026-11-01'")); /* two strings compare as text */
    CHECK(T("ts | date == day"));
    CHECK(T("params.since < day"));
    CHECK_STR(eval_error("ts > 'soon'"), "cannot compare timestamp 2026-11-22T10:00:00.123456Z "
              "(ts) with string 'soon' using '>'");
    CHECK(!T("ts == 'soon'"));
    CHECK(T("ts != 'soon'"));
}

SL_TEST(expr_type_errors)
{
    CHECK(!T("status == 5"));
    CHECK(T("status != 5"));
    CHECK(!T("vip == 1")); /* bools are not numbers */
    CHECK_STR(eval_error("status > 5"),
              "cannot compare string 'paid' (status) with int 5 using '>'");
    CHECK_STR(eval_error("amount <= params.status"),
              "cannot compare int 10 (amount) with string 'paid' (params.status) using '<='");
    CHECK_STR(eval_error("tags < 3"), "cannot compare array (tags) with int 3 using '<'");
    CHECK_STR(eval_error("status | int > 1"), "filter 'int' cannot make an int of string "
              "'paid' (from status)");
    CHECK(!T("tags == 3"));
    CHECK(T("tags == tags"));
}

SL_TEST(expr_params)
{
    CHECK(T("amount >= params.min"));
    CHECK(T("status == params.status"));
    CHECK(T("params.on"));
    CHECK(T("params.none is null"));
    CHECK(T("amount > params.limit"));
    /* Without params everything params.* is null. */
    sl_tmpl_ctx_t c = *ctx();
    c.params = NULL;
    bool r = true;
    sl_err_t err = {0};
    CHECK_INT(sl_expr_eval(compile("params.min is null"), &c, &r, &err), 0);
    CHECK(r);
}

SL_TEST(expr_compile_errors)
{
    CHECK_STR(compile_error("amount >="), "1:10: expected a value after '>='");
    CHECK_STR(compile_error("amount >= and"), "1:11: 'and' is a keyword here; write record.and "
              "for a field of that name");
    CHECK_STR(compile_error("amount = 5"), "1:8: '=' is not an operator; use '=='");
    CHECK_STR(compile_error("amount >= 10 amount"), "1:14: expected 'and', 'or' or the end, got "
              "'amount'");
    CHECK_STR(compile_error("a && b"), "1:3: unexpected '&&' (use 'and' and 'or')");
    CHECK_STR(compile_error("(a or b"), "1:1: unclosed '('");
    CHECK_STR(compile_error("(a or b]"), "1:8: expected ')', got ']'");
    CHECK_STR(compile_error("a or b)"), "1:7: unmatched ')'");
    CHECK_STR(compile_error(""), "1:1: empty expression");
    CHECK_STR(compile_error("   "), "1:4: expected a value at the end");
    CHECK_STR(compile_error("a and"), "1:6: expected a condition after 'and'");
    CHECK_STR(compile_error("status == 'paid"), "1:11: unterminated string");
    CHECK_STR(compile_error("x == null"), "1:3: '== null' is never true; use 'is null' or "
              "'is not null'");
    CHECK_STR(compile_error("x is nul"), "1:6: expected 'null' or 'not null' after 'is'");
    CHECK_STR(compile_error("x in 1, 2"), "1:6: expected '[' after 'in'");
    CHECK_STR(compile_error("x in [1, 2"), "1:11: expected ',' or ']' to end the list");
    CHECK_STR(compile_error("x in [1 2]"), "1:9: expected ',' or ']' in the list, got '2'");
    CHECK_STR(compile_error("x > 1.5.3"), "1:5: invalid number '1.5.3'");
    CHECK_STR(compile_error("x | lowr == 'a'"), "1:5: unknown filter 'lowr' (known: date, lower, "
              "upper, trim, md5, json, urlencode, string, int, float, default)");
    CHECK_STR(compile_error("== 5"), "1:1: expected a value, got '=='");
    CHECK_STR(compile_error("x\n  and >"), "2:7: expected a value, got '>'");
    /* Deep nesting is refused, not a stack overflow. */
    char deep[400];
    memset(deep, '(', 300);
    strcpy(deep + 300, "a");
    CHECK_CONTAINS(compile_error(deep), "nested too deeply");
    memset(deep, 0, sizeof deep);
    for (int i = 0; i < 90; i++) {
        memcpy(deep + 4 * i, "not ", 4);
    }
    strcat(deep, "a");
    CHECK_CONTAINS(compile_error(deep), "nested too deeply");
}

static bool TT(const char *src)
{
    sl_expr_t *e = NULL;
    sl_err_t err = {0};
    if (sl_expr_compile_templated(arena(), src, strlen(src), ctx(), &e, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "compile %s: %s", src, err.msg);
    }
    bool r = false;
    if (sl_expr_eval(e, ctx(), &r, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "eval %s: %s", src, err.msg);
    }
    return r;
}

SL_TEST(expr_templated)
{
    CHECK(TT("amount >= {{ params.min }}"));
    CHECK(!TT("amount < {{ params.min }}"));
    CHECK(TT("amount > {{ params.limit }}"));
    CHECK(TT("status == {{ params.status }}"));
    CHECK(TT("name == {{ params.quoted }}"));            /* it's, quoted and escaped */
    CHECK(TT("name == '{{ params.quoted }}'"));          /* already inside quotes */
    CHECK(TT("name == \"{{ params.quoted }}\""));
    CHECK(TT("'x{{ params.status }}y' == 'xpaidy'"));
    CHECK(TT("amount in {{ params.ids }}"));
    CHECK(TT("day > {{ params.since }}"));
    CHECK(TT("{{ params.on }}"));
    CHECK(TT("{{ params.none }} is null"));
    CHECK(TT("vip")); /* no template at all */
    /* A param that looks like code stays a string. */
    sl_value_t p = J("{\"evil\": \"x' or 'a' == 'a\"}");
    sl_tmpl_ctx_t c = {.params = &p};
    sl_expr_t *e;
    sl_err_t err = {0};
    CHECK_INT(sl_expr_compile_templated(arena(), "status == {{ params.evil }}", 27, &c, &e, &err),
              0);
    bool r = true;
    CHECK_INT(sl_expr_eval(e, ctx(), &r, &err), 0);
    CHECK(!r);
}

SL_TEST(expr_templated_errors)
{
    sl_expr_t *e;
    sl_err_t err = {0};
    const char *src = "amount >= {{ record.min }}";
    CHECK_INT(sl_expr_compile_templated(arena(), src, strlen(src), ctx(), &e, &err), SL_EPARSE);
    CHECK_CONTAINS(err.msg, "{{ record... }} cannot be used in an expression");
    src = "amount >= {{ params.min | lowr }}";
    CHECK_INT(sl_expr_compile_templated(arena(), src, strlen(src), ctx(), &e, &err), SL_EPARSE);
    CHECK_CONTAINS(err.msg, "1:27: unknown filter 'lowr'");
    src = "amount >= {{ params.min }} and";
    CHECK_INT(sl_expr_compile_templated(arena(), src, strlen(src), ctx(), &e, &err), SL_EPARSE);
    CHECK_STR(err.msg, "in 'amount >= 5 and' (after expanding templates): 1:16: expected a "
              "condition after 'and'");
    src = "amount >= {{ params.min | int | lower }}";
    CHECK_INT(sl_expr_compile_templated(arena(), src, strlen(src), ctx(), &e, &err), SL_ETYPE);
    CHECK_CONTAINS(err.msg, "filter 'lower' needs a string, got int 5");
}

SL_TEST(expr_many_evals)
{
    /* Filters in expressions use per-thread scratch memory, reset each
     * evaluation: many evaluations must not grow anything. */
    sl_expr_t *e = compile("customer.tier | lower == 'gold' and status | upper == 'PAID'");
    for (int i = 0; i < 20000; i++) {
        bool r = false;
        sl_err_t err = {0};
        CHECK_INT(sl_expr_eval(e, ctx(), &r, &err), 0);
        CHECK(r);
    }
}
