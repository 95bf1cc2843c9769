/* Tests for src/config/node.c: typed reads, optional reads with defaults,
 * and sl_node_error formatting. */
#include <string.h>

#include "../test.h"
#include "sluice/config.h"

static const sl_node_t *must_parse(const char *text)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(a, "c.yaml", text, strlen(text), NULL, &root, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err.msg);
    }
    return root;
}

SL_TEST(config_node_typed_reads)
{
    const sl_node_t *r = must_parse("i: -42\n"
                                    "big: 9223372036854775807\n"
                                    "f: 1.5e3\n"
                                    "fi: 7\n"
                                    "b1: yes\n"
                                    "b2: False\n"
                                    "s: 12\n"
                                    "q: 'quoted'\n");
    sl_err_t err;
    int64_t i;
    double d;
    bool b;
    const char *s;
    CHECK_INT(sl_node_to_int(sl_node_get(r, "i"), "i", &i, &err), 0);
    CHECK_INT(i, -42);
    CHECK_INT(sl_node_to_int(sl_node_get(r, "big"), "big", &i, &err), 0);
    CHECK(i == INT64_MAX);
    CHECK_INT(sl_node_to_double(sl_node_get(r, "f"), "f", &d, &err), 0);
    CHECK_DBL(d, 1500.0);
    CHECK_INT(sl_node_to_double(sl_node_get(r, "fi"), "fi", &d, &err), 0);
    CHECK_DBL(d, 7.0);
    CHECK_INT(sl_node_to_bool(sl_node_get(r, "b1"), "b1", &b, &err), 0);
    CHECK(b);
    CHECK_INT(sl_node_to_bool(sl_node_get(r, "b2"), "b2", &b, &err), 0);
    CHECK(!b);
    CHECK_INT(sl_node_to_str(sl_node_get(r, "s"), "s", &s, &err), 0);
    CHECK_STR(s, "12");
    CHECK_INT(sl_node_to_str(sl_node_get(r, "q"), "q", &s, &err), 0);
    CHECK_STR(s, "quoted");
}

SL_TEST(config_node_typed_read_errors)
{
    const sl_node_t *r = must_parse("a: abc\n"
                                    "b: \"5\"\n"
                                    "c: 1.5\n"
                                    "d: 99999999999999999999\n"
                                    "e: {x: 1}\n"
                                    "f:\n"
                                    "g: maybe\n"
                                    "h: 0x10\n");
    sl_err_t err;
    int64_t i;
    double d;
    bool b;
    const char *s;
    CHECK_INT(sl_node_to_int(sl_node_get(r, "a"), "a", &i, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:1:4: a: expected an integer, got 'abc'");
    CHECK_INT(sl_node_to_int(sl_node_get(r, "b"), "b", &i, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:2:4: b: expected an integer, got the quoted string '5'");
    CHECK_INT(sl_node_to_int(sl_node_get(r, "c"), NULL, &i, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:3:4: expected an integer, got '1.5'");
    CHECK_INT(sl_node_to_int(sl_node_get(r, "d"), "d", &i, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:4:4: d: integer out of range: '99999999999999999999'");
    CHECK_INT(sl_node_to_str(sl_node_get(r, "e"), "e", &s, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:5:4: e: expected a string, got a map");
    CHECK_INT(sl_node_to_str(sl_node_get(r, "f"), "f", &s, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:6:3: f: expected a string, got null");
    CHECK_INT(sl_node_to_bool(sl_node_get(r, "g"), "g", &b, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:7:4: g: expected a boolean (true or false), got 'maybe'");
    CHECK_INT(sl_node_to_double(sl_node_get(r, "h"), "h", &d, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:8:4: h: expected a number, got '0x10'");
}

SL_TEST(config_node_optional_reads)
{
    const sl_node_t *r = must_parse("n: 3\nx: 2.5\nflag: off\nname: hi\nbad: [1]\n");
    sl_err_t err;
    int64_t i;
    double d;
    bool b;
    const char *s;
    CHECK_INT(sl_cfg_int(r, "n", 9, &i, &err), 0);
    CHECK_INT(i, 3);
    CHECK_INT(sl_cfg_int(r, "absent", 9, &i, &err), 0);
    CHECK_INT(i, 9);
    CHECK_INT(sl_cfg_double(r, "x", 1.0, &d, &err), 0);
    CHECK_DBL(d, 2.5);
    CHECK_INT(sl_cfg_double(r, "absent", 1.25, &d, &err), 0);
    CHECK_DBL(d, 1.25);
    CHECK_INT(sl_cfg_bool(r, "flag", true, &b, &err), 0);
    CHECK(!b);
    CHECK_INT(sl_cfg_bool(r, "absent", true, &b, &err), 0);
    CHECK(b);
    CHECK_INT(sl_cfg_str(r, "name", "def", &s, &err), 0);
    CHECK_STR(s, "hi");
    CHECK_INT(sl_cfg_str(r, "absent", "def", &s, &err), 0);
    CHECK_STR(s, "def");
    CHECK_INT(sl_cfg_str(r, "bad", "def", &s, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:5:6: bad: expected a string, got a list");
    /* A non-map gives absent. */
    CHECK_INT(sl_cfg_int(sl_node_get(r, "n"), "n", 5, &i, &err), 0);
    CHECK_INT(i, 5);
}

SL_TEST(config_node_error_and_display)
{
    const sl_node_t *r = must_parse("a:\n  - b\n");
    sl_err_t err;
    const sl_node_t *seq = sl_node_get(r, "a");
    CHECK_INT(sl_node_error(&err, seq, "bad %s %d", "thing", 3), SL_ECONFIG);
    CHECK_STR(err.msg, "c.yaml:2:3: bad thing 3");
    CHECK_INT(sl_node_error(&err, NULL, "no position"), SL_ECONFIG);
    CHECK_STR(err.msg, "no position");
    CHECK_STR(sl_node_display(seq->items[0]), "b");
    CHECK_STR(sl_node_display(seq), "<list>");
    CHECK_STR(sl_node_display(r), "<map>");
    CHECK_INT(sl_node_error(NULL, seq, "ignored"), SL_ECONFIG);
}
