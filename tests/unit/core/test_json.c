/* Tests for src/core/json.c: strict parsing (exact values and error
 * reasons/offsets), the compact and sorted writer, and the array splitter
 * fed in chunks of every size. Inputs are copied into exact-size heap
 * blocks so the sanitizers catch any read past the end (the parser never
 * relies on a NUL terminator). */
#include <math.h>

#include "sluice/json.h"
#include "../test.h"

static sl_arena_t *A;
static sl_json_error_t E;

static sl_arena_t *arena(void)
{
    if (!A) {
        A = sl_arena_create(4096, 0);
    }
    return A;
}

static char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (!p) {
        sl_test_fail(__FILE__, __LINE__, "out of memory");
    }
    memcpy(p, s, n);
    sl_arena_cleanup_add(arena(), free, p);
    return p;
}

static int parse_opts(const char *s, size_t n, const sl_json_opts_t *o, sl_value_t *v)
{
    char *copy = exact_copy(s, n);
    memset(&E, 0, sizeof E);
    return sl_json_parse(arena(), copy, n, o, v, &E);
}

static int parse_n(const char *s, size_t n, sl_value_t *v)
{
    return parse_opts(s, n, NULL, v);
}

static int parse_c(const char *s, sl_value_t *v)
{
    return parse_n(s, strlen(s), v);
}

/* The compact (or sorted) JSON of v, in a rotating static buffer. */
static const char *wr(const sl_value_t *v, unsigned flags)
{
    static sl_buf_t bufs[4];
    static int next;
    sl_buf_t *b = &bufs[next++ % 4];
    sl_buf_clear(b);
    int rc = sl_json_write(b, v, flags);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "sl_json_write: %s", sl_strerror(rc));
    }
    return b->data ? b->data : "";
}

/* Parses text (must succeed) and returns its compact form. */
static const char *rt(const char *text)
{
    sl_value_t v;
    int rc = parse_c(text, &v);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "parse of %s failed: %s at %zu", text, E.reason,
                     E.offset);
    }
    return wr(&v, 0);
}

#define CHECK_PARSE_ERR(text, sub, off)                                                    \
    do {                                                                                   \
        sl_value_t v_;                                                                     \
        CHECK_INT(parse_n((text), sizeof(text) - 1, &v_), SL_EPARSE);                      \
        CHECK_CONTAINS(E.reason, (sub));                                                   \
        if ((off) >= 0) {                                                                  \
            CHECK_INT(E.offset, (off));                                                    \
        }                                                                                  \
        CHECK_INT(v_.type, SL_T_NULL);                                                     \
    } while (0)

#define CHECK_PARSED_STR(text, expect)                                                     \
    do {                                                                                   \
        sl_value_t v_;                                                                     \
        CHECK_INT(parse_n((text), sizeof(text) - 1, &v_), 0);                              \
        CHECK_INT(v_.type, SL_T_STRING);                                                   \
        CHECK_INT(v_.len, sizeof(expect) - 1);                                             \
        CHECK(memcmp(v_.u.s, (expect), sizeof(expect) - 1) == 0);                          \
    } while (0)

/* ---- parser: values ---- */

SL_TEST(json_parse_scalars)
{
    sl_value_t v;
    CHECK_INT(parse_c(" null ", &v), 0);
    CHECK_INT(v.type, SL_T_NULL);
    CHECK_INT(parse_c("true", &v), 0);
    CHECK_INT(v.type, SL_T_BOOL);
    CHECK_INT(v.u.i, 1);
    CHECK_INT(parse_c("\tfalse\r\n", &v), 0);
    CHECK_INT(v.type, SL_T_BOOL);
    CHECK_INT(v.u.i, 0);
    CHECK_INT(parse_c("42", &v), 0);
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 42);
    CHECK_INT(parse_c("-17", &v), 0);
    CHECK_INT(v.u.i, -17);
    CHECK_INT(parse_c("0", &v), 0);
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 0);
    CHECK_INT(parse_c("\"abc\"", &v), 0);
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "abc");
    CHECK_INT(parse_c("\"\"", &v), 0);
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_INT(v.len, 0);
}

SL_TEST(json_parse_int64_limits)
{
    sl_value_t v;
    CHECK_INT(parse_c("9223372036854775807", &v), 0);
    CHECK_INT(v.type, SL_T_INT);
    CHECK(v.u.i == INT64_MAX);
    CHECK_INT(parse_c("-9223372036854775808", &v), 0);
    CHECK_INT(v.type, SL_T_INT);
    CHECK(v.u.i == INT64_MIN);
    CHECK_INT(parse_c("999999999999999999", &v), 0); /* 18 digits */
    CHECK_INT(v.type, SL_T_INT);
    CHECK(v.u.i == 999999999999999999LL);
    CHECK_INT(parse_c("-1000000000000000000", &v), 0); /* 19 digits */
    CHECK_INT(v.type, SL_T_INT);
    CHECK(v.u.i == -1000000000000000000LL);
    CHECK_INT(parse_c("-0", &v), 0); /* an integer: -0 is 0 */
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, 0);
}

SL_TEST(json_parse_bignum_text)
{
    sl_value_t v;
    CHECK_INT(parse_c("9223372036854775808", &v), 0);
    CHECK_INT(v.type, SL_T_BIGNUM);
    CHECK_STRN(v.u.s, v.len, "9223372036854775808");
    CHECK_INT(parse_c("-9223372036854775809", &v), 0);
    CHECK_INT(v.type, SL_T_BIGNUM);
    CHECK_STRN(v.u.s, v.len, "-9223372036854775809");
    CHECK_INT(parse_c(" 18446744073709551616 ", &v), 0); /* 2^64: no u64 wrap */
    CHECK_INT(v.type, SL_T_BIGNUM);
    CHECK_STRN(v.u.s, v.len, "18446744073709551616");
    CHECK_INT(parse_c("[123456789012345678901234567890]", &v), 0);
    CHECK_INT(v.u.items[0].type, SL_T_BIGNUM);
    CHECK_STRN(v.u.items[0].u.s, v.u.items[0].len, "123456789012345678901234567890");
    double d = 0;
    CHECK_INT(sl_value_get_double(&v.u.items[0], &d), 0);
    CHECK_DBL(d, 123456789012345678901234567890.0);
    CHECK_STR(wr(&v, 0), "[123456789012345678901234567890]");
}

SL_TEST(json_parse_reject_bignum)
{
    sl_json_opts_t o = {.reject_bignum = true};
    sl_value_t v;
    const char *big = "{\"n\": 9223372036854775808}";
    CHECK_INT(parse_opts(big, strlen(big), &o, &v), SL_EPARSE);
    CHECK_CONTAINS(E.reason, "integer out of range");
    CHECK_CONTAINS(E.reason, "9223372036854775808");
    CHECK_INT(E.offset, 6);
    const char *max = "[9223372036854775807,-9223372036854775808,1.5e300]";
    CHECK_INT(parse_opts(max, strlen(max), &o, &v), 0);
    CHECK(v.u.items[0].u.i == INT64_MAX);
    CHECK(v.u.items[1].u.i == INT64_MIN);
    CHECK_INT(v.u.items[2].type, SL_T_DOUBLE);
}

SL_TEST(json_parse_raw_doubles)
{
    static const char *const texts[] = {
        "1.5", "-0.5e-3", "1E+10", "1e5", "0.1", "-0.0", "123.456e-789", "2.5E3", "0e0",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(texts); i++) {
        sl_value_t v;
        CHECK_INT(parse_c(texts[i], &v), 0);
        CHECK_INT(v.type, SL_T_DOUBLE);
        CHECK_INT(v.flags, SL_VF_RAW);
        CHECK_STRN(v.u.s, v.len, texts[i]);
        CHECK_STR(wr(&v, 0), texts[i]);
    }
    sl_value_t v;
    double d;
    CHECK_INT(parse_c("0.1", &v), 0);
    CHECK_INT(sl_value_get_double(&v, &d), 0);
    CHECK_DBL(d, 0.1);
    CHECK_INT(parse_c("-0.5e-3", &v), 0);
    CHECK_INT(sl_value_get_double(&v, &d), 0);
    CHECK_DBL(d, -0.0005);
}

SL_TEST(json_parse_number_errors)
{
    CHECK_PARSE_ERR("01", "leading zeros", 0);
    CHECK_PARSE_ERR("-012", "leading zeros", 1);
    CHECK_PARSE_ERR("[00]", "leading zeros", 1);
    CHECK_PARSE_ERR("-", "expected a digit after '-'", 1);
    CHECK_PARSE_ERR("-a", "expected a digit after '-' in number, got character 'a'", 1);
    CHECK_PARSE_ERR("--1", "expected a digit after '-'", 1);
    CHECK_PARSE_ERR("+1", "no plus sign", 0);
    CHECK_PARSE_ERR(".5", "numbers must start with a digit", 0);
    CHECK_PARSE_ERR("1.", "expected a digit after '.'", 2);
    CHECK_PARSE_ERR("1.e5", "expected a digit after '.'", 2);
    CHECK_PARSE_ERR("1e", "expected a digit in the exponent", 2);
    CHECK_PARSE_ERR("1e+", "expected a digit in the exponent", 3);
    CHECK_PARSE_ERR("[1E-x]", "expected a digit in the exponent of number, got character 'x'", 4);
    CHECK_PARSE_ERR("1.5.3", "trailing characters after value", 3);
    CHECK_PARSE_ERR("0x10", "trailing characters after value (character 'x')", 1);
    CHECK_PARSE_ERR("NaN", "invalid literal 'NaN'", 0);
    CHECK_PARSE_ERR("Infinity", "invalid literal 'Infinity'", 0);
    CHECK_PARSE_ERR("-Infinity", "expected a digit after '-'", 1);
}

/* ---- parser: strings ---- */

SL_TEST(json_parse_string_borrows_input)
{
    const char *text = "{\"key\":\"plain value\"}";
    char *copy = exact_copy(text, strlen(text));
    sl_value_t v;
    CHECK_INT(sl_json_parse(arena(), copy, strlen(text), NULL, &v, &E), 0);
    CHECK_INT(v.type, SL_T_OBJECT);
    CHECK_INT(v.len, 1);
    CHECK(v.u.members[0].key == copy + 2);
    CHECK_INT(v.u.members[0].klen, 3);
    CHECK(v.u.members[0].val.u.s == copy + 8);
    CHECK_STRN(v.u.members[0].val.u.s, v.u.members[0].val.len, "plain value");
}

SL_TEST(json_parse_simple_escapes)
{
    CHECK_PARSED_STR("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", "a\"b\\c/d\be\ff\ng\rh\ti");
    CHECK_PARSED_STR("\"\\n\"", "\n");
    CHECK_PARSED_STR("\"\\\\\\\\\"", "\\\\");
    /* A long plain prefix and suffix around one escape. */
    CHECK_PARSED_STR("\"0123456789abcdefghij\\tklmnopqrstuvwxyz0123456789\"",
                     "0123456789abcdefghij\tklmnopqrstuvwxyz0123456789");
    /* Decoded strings live in the arena, not in the input. */
    const char *text = "\"x\\ny\"";
    char *copy = exact_copy(text, strlen(text));
    sl_value_t v;
    CHECK_INT(sl_json_parse(arena(), copy, strlen(text), NULL, &v, &E), 0);
    CHECK(v.u.s < copy || v.u.s >= copy + strlen(text));
    CHECK_STRN(v.u.s, v.len, "x\ny");
}

SL_TEST(json_parse_unicode_escapes)
{
    CHECK_PARSED_STR("\"\\u0041\"", "A");
    CHECK_PARSED_STR("\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9");
    CHECK_PARSED_STR("\"\\u20ac\"", "\xe2\x82\xac");
    CHECK_PARSED_STR("\"\\u07FF\\u0800\\uFFFF\"", "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
    CHECK_PARSED_STR("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    CHECK_PARSED_STR("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80");
    CHECK_PARSED_STR("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf");
    CHECK_PARSED_STR("\"a\\u0000b\"", "a\0b");
    CHECK_PARSED_STR("\"caf\\u00e9 \xc3\xa9\"", "caf\xc3\xa9 \xc3\xa9");
}

SL_TEST(json_parse_surrogate_errors)
{
    CHECK_PARSE_ERR("\"\\ud800\"", "lone high surrogate \\uD800", 1);
    CHECK_PARSE_ERR("\"ab\\uDBFFxyzxyzxyz\"", "lone high surrogate \\uDBFF", 3);
    CHECK_PARSE_ERR("\"\\ud800\\n\"", "lone high surrogate", 1);
    CHECK_PARSE_ERR("\"\\ud800\\u0041\"", "high surrogate \\uD800 followed by \\u0041", 1);
    CHECK_PARSE_ERR("\"\\ud800\\ud800\"", "followed by \\uD800", 1);
    CHECK_PARSE_ERR("\"\\udc00\"", "lone low surrogate \\uDC00", 1);
    CHECK_PARSE_ERR("\"x\\uDFFF\\uD800\"", "lone low surrogate \\uDFFF", 2);
}

SL_TEST(json_parse_bad_escapes)
{
    CHECK_PARSE_ERR("\"ab\\qc\"", "invalid escape '\\q' in string", 3);
    CHECK_PARSE_ERR("\"\\x41\"", "invalid escape '\\x'", 1);
    CHECK_PARSE_ERR("\"\\U0041\"", "invalid escape '\\U'", 1);
    CHECK_PARSE_ERR("\"\\\x01\"", "backslash followed by byte 0x01", 1);
    CHECK_PARSE_ERR("\"\\u12\"", "expected 4 hex digits", 1);
    CHECK_PARSE_ERR("\"\\u12g4\"", "expected 4 hex digits", 1);
    CHECK_PARSE_ERR("\"\\u\"", "expected 4 hex digits", 1);
}

SL_TEST(json_parse_utf8_valid)
{
    CHECK_PARSED_STR("\"Z\xc3\xbcrich\"", "Z\xc3\xbcrich");
    CHECK_PARSED_STR("\"\xe6\x97\xa5\xe6\x9c\xac\"", "\xe6\x97\xa5\xe6\x9c\xac");
    CHECK_PARSED_STR("\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80");
    CHECK_PARSED_STR("\"\xf4\x8f\xbf\xbf\"", "\xf4\x8f\xbf\xbf");     /* U+10FFFF */
    CHECK_PARSED_STR("\"\xed\x9f\xbf\xee\x80\x80\"", "\xed\x9f\xbf\xee\x80\x80"); /* D7FF E000 */
    CHECK_PARSED_STR("\"\x7f\"", "\x7f"); /* DEL is not a control character in JSON */
    /* Non-ASCII at every position relative to the 8/16-byte scan blocks. */
    for (int i = 0; i < 40; i++) {
        char text[64], expect[64];
        int n = 0;
        text[n++] = '"';
        for (int k = 0; k < i; k++) {
            text[n++] = 'a';
        }
        memcpy(text + n, "\xc3\xbc\"", 3);
        n += 3;
        sl_value_t v;
        CHECK_INT(parse_n(text, (size_t)n, &v), 0);
        CHECK_INT(v.len, i + 2);
        memcpy(expect, text + 1, (size_t)i + 2);
        CHECK(memcmp(v.u.s, expect, (size_t)i + 2) == 0);
    }
}

SL_TEST(json_parse_utf8_invalid)
{
    CHECK_PARSE_ERR("\"\xc0\x80\"", "overlong UTF-8", 1);
    CHECK_PARSE_ERR("\"\xc1\xbf\"", "overlong UTF-8", 1);
    CHECK_PARSE_ERR("\"ab\xe0\x80\x80\"", "overlong UTF-8", 3);
    CHECK_PARSE_ERR("\"\xf0\x80\x80\x80\"", "overlong UTF-8", 1);
    CHECK_PARSE_ERR("\"\xed\xa0\x80\"", "UTF-8 encoded surrogate", 1);
    CHECK_PARSE_ERR("\"\xed\xbf\xbf\"", "UTF-8 encoded surrogate", 1);
    CHECK_PARSE_ERR("\"\xf4\x90\x80\x80\"", "above U+10FFFF", 1);
    CHECK_PARSE_ERR("\"\xf5\x80\x80\x80\"", "invalid UTF-8 byte 0xF5", 1);
    CHECK_PARSE_ERR("\"\xff\"", "invalid UTF-8 byte 0xFF", 1);
    CHECK_PARSE_ERR("\"abc\x80\"", "unexpected continuation byte 0x80", 4);
    CHECK_PARSE_ERR("\"\xc3\"", "lead byte 0xC3 is not followed", 1);
    CHECK_PARSE_ERR("\"\xe2\x82x\"", "lead byte 0xE2 is not followed", 1);
    CHECK_PARSE_ERR("\"\xc3", "truncated UTF-8", 1);
    /* Invalid UTF-8 in a string that also has escapes (the slow path). */
    CHECK_PARSE_ERR("\"\\n\xc0\xaf\"", "overlong UTF-8", 3);
    CHECK_PARSE_ERR("\"\\n\xed\xa0\x80\"", "UTF-8 encoded surrogate", 3);
    /* In keys too. */
    CHECK_PARSE_ERR("{\"\xff\":1}", "invalid UTF-8 byte 0xFF", 2);
}

SL_TEST(json_parse_control_chars)
{
    CHECK_PARSE_ERR("\"a\nb\"", "unescaped control character 0x0A in string", 2);
    CHECK_PARSE_ERR("\"\x01\"", "unescaped control character 0x01", 1);
    CHECK_PARSE_ERR("\"tab\there\"", "unescaped control character 0x09", 4);
    CHECK_PARSE_ERR("\"\\t\x1f\"", "unescaped control character 0x1F", 3);
    sl_value_t v;
    CHECK_INT(parse_n("\"a\0b\"", 5, &v), SL_EPARSE);
    CHECK_CONTAINS(E.reason, "control character 0x00");
    CHECK_INT(E.offset, 2);
}

SL_TEST(json_parse_unterminated_string)
{
    CHECK_PARSE_ERR("\"abc", "unterminated string", 0);
    CHECK_PARSE_ERR("\"abcdefghijklmnopqrstuvwxyz", "unterminated string", 0);
    CHECK_PARSE_ERR("\"abc\\", "unterminated string", 0);
    CHECK_PARSE_ERR("\"abc\\\"", "unterminated string", 0);
    CHECK_PARSE_ERR("[\"a\\nb", "unterminated string", 1);
    CHECK_PARSE_ERR("{\"key", "unterminated string", 1);
    CHECK_PARSE_ERR("\"", "unterminated string", 0);
}

/* ---- parser: structure ---- */

SL_TEST(json_parse_structure_errors)
{
    CHECK_PARSE_ERR("{\"a\" 1}", "unexpected character '1' after object key, expected ':'", 5);
    CHECK_PARSE_ERR("{\"a\"", "unexpected end of input after object key, expected ':'", 4);
    CHECK_PARSE_ERR("{\"a\":1,}", "trailing comma before '}'", 7);
    CHECK_PARSE_ERR("[1,]", "trailing comma before ']'", 3);
    CHECK_PARSE_ERR("[1 , ]", "trailing comma before ']'", 5);
    CHECK_PARSE_ERR("[1 2]", "unexpected character '2' after array element, expected ',' or ']'",
                    3);
    CHECK_PARSE_ERR("{\"a\":1 \"b\":2}", "after object member, expected ',' or '}'", 7);
    CHECK_PARSE_ERR("{a:1}", "unexpected character 'a' in object, expected a string key or '}'",
                    1);
    CHECK_PARSE_ERR("{\"a\":1,2}", "after ',' in object, expected a string key", 7);
    CHECK_PARSE_ERR("[", "unterminated array (opened at offset 0)", 1);
    CHECK_PARSE_ERR(" [1,[2", "unterminated array (opened at offset 4)", 6);
    CHECK_PARSE_ERR("{\"a\":{}", "unterminated object (opened at offset 0)", 7);
    CHECK_PARSE_ERR("{\"a\":", "unexpected end of input after ':', expected a value", 5);
    CHECK_PARSE_ERR("[,1]", "unexpected character ',', expected a value", 1);
    CHECK_PARSE_ERR("[1,,2]", "unexpected character ',', expected a value", 3);
    CHECK_PARSE_ERR("]", "unexpected character ']', expected a value", 0);
    CHECK_PARSE_ERR("1 2", "trailing characters after value", 2);
    CHECK_PARSE_ERR("[1]]", "trailing characters after value (character ']')", 3);
    CHECK_PARSE_ERR("{\"a\":1}x", "trailing characters after value", 7);
    CHECK_PARSE_ERR("", "empty input", 0);
    CHECK_PARSE_ERR(" \n\t\r", "input is only whitespace", 4);
    CHECK_PARSE_ERR("tru", "invalid literal 'tru'", 0);
    CHECK_PARSE_ERR("[nul]", "invalid literal 'nul'", 1);
    CHECK_PARSE_ERR("True", "invalid literal 'True'", 0);
    CHECK_PARSE_ERR("[truex]", "unexpected character 'x' after array element", 5);
    CHECK_PARSE_ERR("'a'", "JSON strings use double quotes", 0);
    CHECK_PARSE_ERR("/* c */ 1", "comments are not allowed", 0);
    CHECK_PARSE_ERR("\xef\xbb\xbf{}", "unexpected byte 0xEF, expected a value", 0);
    CHECK_PARSE_ERR("[\f1]", "unexpected byte 0x0C, expected a value", 1);
    CHECK_PARSE_ERR("{\"a\"\x01:1}", "unexpected byte 0x01 after object key", 4);
}

SL_TEST(json_parse_nesting_limit)
{
    char deep[200];
    sl_value_t v;
    for (int i = 0; i < 64; i++) {
        deep[i] = '[';
        deep[64 + i] = ']';
    }
    CHECK_INT(parse_n(deep, 128, &v), 0);
    int depth = 0;
    const sl_value_t *cur = &v;
    while (cur->type == SL_T_ARRAY && cur->len == 1) {
        cur = &cur->u.items[0];
        depth++;
    }
    CHECK_INT(depth, 63);
    CHECK_INT(cur->type, SL_T_ARRAY);
    CHECK_INT(cur->len, 0);

    for (int i = 0; i < 65; i++) {
        deep[i] = i % 2 ? '[' : '{';
    }
    /* Objects need keys: build [[[...]]] of depth 65 instead. */
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    CHECK_INT(parse_n(deep, 130, &v), SL_EPARSE);
    CHECK_STR(E.reason, "nesting deeper than 64");
    CHECK_INT(E.offset, 64);

    sl_json_opts_t o = {.max_depth = 3};
    const char *ok = "{\"a\":[{\"b\":1}]}";
    const char *bad = "{\"a\":[{\"b\":[]}]}";
    CHECK_INT(parse_opts(ok, strlen(ok), &o, &v), 0);
    CHECK_INT(parse_opts(bad, strlen(bad), &o, &v), SL_EPARSE);
    CHECK_STR(E.reason, "nesting deeper than 3");
    CHECK_INT(E.offset, 11);
}

SL_TEST(json_parse_duplicate_keys_keep_last)
{
    sl_value_t v;
    CHECK_INT(parse_c("{\"a\":1,\"b\":2,\"a\":3}", &v), 0);
    CHECK_INT(v.len, 2);
    CHECK_STRN(v.u.members[0].key, v.u.members[0].klen, "a");
    CHECK_INT(v.u.members[0].val.u.i, 3);
    CHECK_STRN(v.u.members[1].key, v.u.members[1].klen, "b");
    CHECK_INT(v.u.members[1].val.u.i, 2);
    /* An escaped key equal to a plain one is the same key. */
    CHECK_INT(parse_c("{\"a\":1,\"\\u0061\":{\"x\":[1]}}", &v), 0);
    CHECK_INT(v.len, 1);
    CHECK_STR(wr(&v, 0), "{\"a\":{\"x\":[1]}}");
    /* Empty keys, repeated three times, and nested objects dedupe on their own. */
    CHECK_STR(rt("{\"\":1,\"\":2,\"k\":{\"k\":1,\"k\":2},\"\":3}"), "{\"\":3,\"k\":{\"k\":2}}");
    /* Keys differing only in the middle are distinct. */
    CHECK_STR(rt("{\"abc\":1,\"axc\":2}"), "{\"abc\":1,\"axc\":2}");

    /* A big object takes the hash path: 100 keys, every tenth repeated. */
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "{");
    for (int i = 0; i < 100; i++) {
        sl_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    for (int i = 0; i < 100; i += 10) {
        sl_buf_printf(&b, ",\"k%d\":%d", i, -i - 1);
    }
    sl_buf_append_c(&b, "}");
    CHECK_INT(parse_n(b.data, b.len, &v), 0);
    CHECK_INT(v.len, 100);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_STRN(v.u.members[i].key, v.u.members[i].klen, key);
        CHECK_INT(v.u.members[i].val.u.i, i % 10 ? i : -i - 1);
    }
    sl_buf_free(&b);
}

SL_TEST(json_parse_nested_values)
{
    sl_value_t v;
    const char *text = " { \"id\" : 7 , \"tags\" : [ \"a\" , { } , [ ] , null ] ,"
                       " \"o\" : { \"p\" : { \"q\" : [ 1 , 2.5 , true ] } } } ";
    CHECK_INT(parse_c(text, &v), 0);
    CHECK_INT(v.type, SL_T_OBJECT);
    CHECK_INT(v.len, 3);
    sl_value_t *tags = sl_object_get_c(&v, "tags");
    CHECK(tags && tags->type == SL_T_ARRAY);
    CHECK_INT(tags->len, 4);
    CHECK_INT(tags->u.items[1].type, SL_T_OBJECT);
    CHECK_INT(tags->u.items[1].len, 0);
    CHECK_INT(tags->u.items[2].type, SL_T_ARRAY);
    CHECK_INT(tags->u.items[2].len, 0);
    CHECK_INT(tags->u.items[3].type, SL_T_NULL);
    sl_value_t *q1 = sl_value_path(&v, "o.p.q.1", 7);
    CHECK(q1 && q1->type == SL_T_DOUBLE);
    CHECK_STRN(q1->u.s, q1->len, "2.5");
    CHECK_STR(wr(&v, 0),
              "{\"id\":7,\"tags\":[\"a\",{},[],null],\"o\":{\"p\":{\"q\":[1,2.5,true]}}}");
}

SL_TEST(json_parse_big_containers_grow_stacks)
{
    /* More members/items than the parser's initial stacks, nested inside
     * each other so the stacks grow while outer containers are open. */
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "[");
    for (int i = 0; i < 300; i++) {
        sl_buf_printf(&b, "%d,", i);
    }
    sl_buf_append_c(&b, "{");
    for (int i = 0; i < 200; i++) {
        sl_buf_printf(&b, "\"m%d\":[%d,%d],", i, i, -i);
    }
    sl_buf_append_c(&b, "\"last\":[");
    for (int i = 0; i < 500; i++) {
        sl_buf_printf(&b, "%s\"s%d\"", i ? "," : "", i);
    }
    sl_buf_append_c(&b, "]},301]");
    sl_value_t v;
    CHECK_INT(parse_n(b.data, b.len, &v), 0);
    CHECK_INT(v.len, 302);
    CHECK_INT(v.u.items[299].u.i, 299);
    CHECK_INT(v.u.items[301].u.i, 301);
    sl_value_t *o = &v.u.items[300];
    CHECK_INT(o->type, SL_T_OBJECT);
    CHECK_INT(o->len, 201);
    CHECK_STRN(o->u.members[150].key, o->u.members[150].klen, "m150");
    CHECK_INT(o->u.members[150].val.u.items[1].u.i, -150);
    sl_value_t *last = sl_object_get_c(o, "last");
    CHECK(last && last->len == 500);
    CHECK_STRN(last->u.items[499].u.s, last->u.items[499].len, "s499");
    CHECK_STR(wr(&v, 0), b.data);
    sl_buf_free(&b);
}

SL_TEST(json_parse_length_is_respected)
{
    sl_value_t v;
    CHECK_INT(parse_n("123456", 3, &v), 0);
    CHECK_INT(v.u.i, 123);
    CHECK_INT(parse_n("\"ab\"xyz", 4, &v), 0);
    CHECK_STRN(v.u.s, v.len, "ab");
    CHECK_INT(parse_n("truex", 4, &v), 0);
    CHECK_INT(v.u.i, 1);
    CHECK_INT(parse_n("nul", 3, &v), SL_EPARSE);
    CHECK_INT(parse_n("[1,2]", 4, &v), SL_EPARSE);
    CHECK_CONTAINS(E.reason, "unterminated array");
    CHECK_INT(parse_n("1.5e", 4, &v), SL_EPARSE);
    CHECK_INT(parse_n("\"\\u00", 5, &v), SL_EPARSE);
    CHECK_INT(sl_json_parse(arena(), NULL, 0, NULL, &v, &E), SL_EPARSE);
    CHECK_CONTAINS(E.reason, "empty input");
    CHECK_INT(sl_json_parse(arena(), "1", 1, NULL, &v, NULL), 0); /* err may be NULL */
    CHECK_INT(sl_json_parse(arena(), "x", 1, NULL, &v, NULL), SL_EPARSE);
}

SL_TEST(json_parse_out_of_memory)
{
    sl_arena_t *small = sl_arena_create(64, 64);
    sl_value_t v;
    char big[600];
    int n = 0;
    big[n++] = '[';
    for (int i = 0; i < 100; i++) {
        n += snprintf(big + n, sizeof big - (size_t)n, "%s%d", i ? "," : "", i);
    }
    big[n++] = ']';
    CHECK_INT(sl_json_parse(small, big, (size_t)n, NULL, &v, &E), SL_ENOMEM);
    CHECK_CONTAINS(E.reason, "out of memory");
    CHECK_INT(v.type, SL_T_NULL);
    sl_arena_destroy(small);
}

/* ---- writer ---- */

SL_TEST(json_write_scalars)
{
    sl_value_t v = sl_value_null();
    CHECK_STR(wr(&v, 0), "null");
    v = sl_value_bool(true);
    CHECK_STR(wr(&v, 0), "true");
    v = sl_value_bool(false);
    CHECK_STR(wr(&v, 0), "false");
    static const int64_t ints[] = {0, 7, -7, 10, 99, 100, -100, 1234567890, 1000000000000000000LL,
                                   INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < SL_ARRAY_LEN(ints); i++) {
        char expect[32];
        snprintf(expect, sizeof expect, "%lld", (long long)ints[i]);
        v = sl_value_int(ints[i]);
        CHECK_STR(wr(&v, 0), expect);
    }
    v = sl_value_double(1.5);
    CHECK_STR(wr(&v, 0), "1.5");
    v = sl_value_double(0.1);
    CHECK_STR(wr(&v, 0), "0.1");
    v = sl_value_double(NAN);
    CHECK_STR(wr(&v, 0), "null");
    v = sl_value_double(INFINITY);
    CHECK_STR(wr(&v, 0), "null");
    v = sl_value_double(-INFINITY);
    CHECK_STR(wr(&v, 0), "null");
    v = sl_value_double(1e300);
    sl_value_t back;
    CHECK_INT(parse_c(wr(&v, 0), &back), 0);
    double d;
    CHECK_INT(sl_value_get_double(&back, &d), 0);
    CHECK_DBL(d, 1e300);
    v = sl_value_str("x", 1);
    v.type = SL_T_BIGNUM;
    v.u.s = "-123456789012345678901";
    v.len = (uint32_t)strlen(v.u.s);
    CHECK_STR(wr(&v, 0), "-123456789012345678901");
    v.type = SL_T_DOUBLE;
    v.flags = SL_VF_RAW;
    v.u.s = "1.50E+2";
    v.len = 7;
    CHECK_STR(wr(&v, 0), "1.50E+2");
    v = sl_value_null();
    v.type = 200;
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_json_write(&b, &v, 0), SL_EINVAL);
    sl_buf_free(&b);
}

SL_TEST(json_write_string_escapes)
{
    sl_buf_t b = SL_BUF_INIT;
    const char in[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\0end";
    CHECK_INT(sl_json_write_string(&b, in, sizeof in - 1), 0);
    CHECK_STR(b.data, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\\u0000end\"");
    CHECK_INT(b.len, strlen(b.data));
    sl_buf_clear(&b);
    /* Valid UTF-8 passes through unchanged. */
    const char *u = "Z\xc3\xbcrich \xe6\x97\xa5 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    CHECK_INT(sl_json_write_string(&b, u, strlen(u)), 0);
    CHECK_STRN(b.data + 1, b.len - 2, u);
    sl_buf_clear(&b);
    /* Invalid UTF-8: each bad byte becomes U+FFFD, so the output stays valid. */
    const char bad[] = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82";
    CHECK_INT(sl_json_write_string(&b, bad, sizeof bad - 1), 0);
    CHECK_STR(b.data, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
                      "\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\"");
    sl_value_t v;
    CHECK_INT(parse_n(b.data, b.len, &v), 0);
    sl_buf_clear(&b);
    /* Escapes at every offset of the 8-byte copy blocks, long strings. */
    for (int i = 0; i < 40; i++) {
        char s[64];
        memset(s, 'x', sizeof s);
        s[i] = '\n';
        sl_buf_clear(&b);
        CHECK_INT(sl_json_write_string(&b, s, 50), 0);
        CHECK_INT(b.len, 53);
        CHECK(b.data[1 + i] == '\\' && b.data[2 + i] == 'n');
        CHECK_INT(parse_n(b.data, b.len, &v), 0);
        CHECK_INT(v.len, 50);
        CHECK(memcmp(v.u.s, s, 50) == 0);
    }
    /* A string of only control characters grows the output 6x. */
    char ctl[300];
    memset(ctl, 1, sizeof ctl);
    sl_buf_clear(&b);
    CHECK_INT(sl_json_write_string(&b, ctl, sizeof ctl), 0);
    CHECK_INT(b.len, 2 + 6 * sizeof ctl);
    sl_buf_clear(&b);
    CHECK_INT(sl_json_write_string(&b, NULL, 0), 0);
    CHECK_STR(b.data, "\"\"");
    sl_buf_free(&b);
}

SL_TEST(json_write_timestamps_and_dates)
{
    sl_value_t v = sl_value_timestamp(0);
    CHECK_STR(wr(&v, 0), "\"1970-01-01T00:00:00Z\"");
    v = sl_value_timestamp(1795774530123456LL);
    CHECK_STR(wr(&v, 0), "\"2026-11-27T10:15:30.123456Z\"");
    v = sl_value_date(20414);
    CHECK_STR(wr(&v, 0), "\"2025-11-22\"");
    v = sl_value_date(-1);
    CHECK_STR(wr(&v, 0), "\"1969-12-31\"");
}

SL_TEST(json_write_appends_and_terminates)
{
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "x=");
    sl_value_t v = sl_value_int(5);
    CHECK_INT(sl_json_write(&b, &v, 0), 0);
    v = sl_value_str("s", 1);
    CHECK_INT(sl_json_write(&b, &v, 0), 0);
    CHECK_STR(b.data, "x=5\"s\"");
    CHECK_INT(b.len, 6);
    sl_buf_free(&b);
}

SL_TEST(json_write_limit_leaves_buffer_unchanged)
{
    sl_value_t v;
    CHECK_INT(parse_c("{\"a\":\"0123456789012345678901234567890123456789\",\"b\":[1,2,3]}", &v),
              0);
    sl_buf_t b;
    sl_buf_init(&b, 20);
    sl_buf_append_c(&b, "prefix");
    CHECK_INT(sl_json_write(&b, &v, 0), SL_ELIMIT);
    CHECK_INT(b.len, 6);
    CHECK_STR(b.data, "prefix");
    CHECK_INT(sl_json_write(&b, &v, SL_JSON_SORTED), SL_ELIMIT);
    CHECK_STR(b.data, "prefix");
    sl_value_t small = sl_value_int(12);
    CHECK_INT(sl_json_write(&b, &small, 0), 0);
    CHECK_STR(b.data, "prefix12");
    sl_buf_free(&b);

    /* The limit is exact, also when the buffer has to grow on the way:
     * max == output length fits, one byte less does not. */
    char big[1000];
    memset(big, 'x', sizeof big);
    big[500] = '\n';
    sl_value_t s = sl_value_str(big, sizeof big);
    for (size_t max = 1002; max <= 1004; max++) {
        sl_buf_init(&b, max);
        int rc = sl_json_write(&b, &s, 0);
        CHECK_INT(rc, max >= 1003 ? 0 : SL_ELIMIT);
        CHECK_INT(b.len, max >= 1003 ? 1003 : 0);
        sl_buf_free(&b);
    }
}

SL_TEST(json_write_sorted_keys)
{
    sl_value_t v;
    const char *text = "{\"b\":1,\"a\":{\"z\":1,\"y\":[{\"d\":1,\"c\":2}]},\"ab\":2,\"B\":3,"
                       "\"\xc3\xa9\":4,\"\":5,\"a\\u0000\":6}";
    CHECK_INT(parse_c(text, &v), 0);
    CHECK_STR(wr(&v, SL_JSON_SORTED), "{\"\":5,\"B\":3,\"a\":{\"y\":[{\"c\":2,\"d\":1}],\"z\":1},"
                                      "\"a\\u0000\":6,\"ab\":2,\"b\":1,\"\xc3\xa9\":4}");
    /* The record itself keeps its order. */
    CHECK_STR(wr(&v, 0), "{\"b\":1,\"a\":{\"z\":1,\"y\":[{\"d\":1,\"c\":2}]},\"ab\":2,\"B\":3,"
                         "\"\xc3\xa9\":4,\"\":5,\"a\\u0000\":6}");
    CHECK_STRN(v.u.members[0].key, v.u.members[0].klen, "b");
    /* Same content, different order: same canonical text. */
    sl_value_t w;
    CHECK_INT(parse_c("{\"a\\u0000\":6,\"\":5,\"\xc3\xa9\":4,\"B\":3,\"ab\":2,"
                      "\"a\":{\"y\":[{\"c\":2,\"d\":1}],\"z\":1},\"b\":1}", &w), 0);
    CHECK_STR(wr(&w, SL_JSON_SORTED), wr(&v, SL_JSON_SORTED));
}

SL_TEST(json_write_sorted_big_and_stable)
{
    /* 60 keys (the qsort path) in reverse order. */
    sl_buf_t b = SL_BUF_INIT, expect = SL_BUF_INIT;
    sl_buf_append_c(&b, "{");
    for (int i = 59; i >= 0; i--) {
        sl_buf_printf(&b, "\"k%02d\":%d%s", i, i, i ? "," : "}");
    }
    sl_buf_append_c(&expect, "{");
    for (int i = 0; i < 60; i++) {
        sl_buf_printf(&expect, "\"k%02d\":%d%s", i, i, i < 59 ? "," : "}");
    }
    sl_value_t v;
    CHECK_INT(parse_n(b.data, b.len, &v), 0);
    CHECK_STR(wr(&v, SL_JSON_SORTED), expect.data);
    CHECK_STR(wr(&v, 0), b.data);
    /* Objects built by hand may hold equal keys: their order is kept. */
    sl_member_t m[40];
    for (int i = 0; i < 40; i++) {
        m[i].key = i % 2 ? "same" : "also";
        m[i].klen = 4;
        m[i].reserved = 0;
        m[i].val = sl_value_int(i);
    }
    sl_value_t o = sl_value_null();
    o.type = SL_T_OBJECT;
    o.u.members = m;
    for (uint32_t n = 3; n <= 40; n += 37) {
        o.len = n;
        const char *s = wr(&o, SL_JSON_SORTED);
        sl_buf_clear(&expect);
        sl_buf_append_c(&expect, "{");
        for (uint32_t i = 0; i < n; i += 2) {
            sl_buf_printf(&expect, "%s\"also\":%u", i ? "," : "", i);
        }
        for (uint32_t i = 1; i < n; i += 2) {
            sl_buf_printf(&expect, ",\"same\":%u", i);
        }
        sl_buf_append_c(&expect, "}");
        CHECK_STR(s, expect.data);
        CHECK_INT(m[0].val.u.i, 0);
        CHECK_STRN(m[1].key, 4, "same");
    }
    sl_buf_free(&b);
    sl_buf_free(&expect);
}

SL_TEST(json_roundtrip_canonical)
{
    static const char *const docs[][2] = {
        {" { \"a\" : [ 1 , -2 , 3.25e+1 ] , \"b\" : { } } ", "{\"a\":[1,-2,3.25e+1],\"b\":{}}"},
        {"\"\\u002F\\/\"", "\"//\""},
        {"\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\""},
        {"\"\\u001F\\u007f\"", "\"\\u001f\x7f\""},
        {"[-0, 0.0, -0.0, 1E2]", "[0,0.0,-0.0,1E2]"},
        {"[[[[]]],{}]", "[[[[]]],{}]"},
        {"{\"id\":123456,\"user\":\"alice \\\"al\\\" smith\",\"amount\":1234.56,"
         "\"active\":true,\"note\":null,\"tags\":[\"a\",\"b\"],\"score\":-0.5e-3,"
         "\"city\":\"Z\xc3\xbcrich\"}",
         "{\"id\":123456,\"user\":\"alice \\\"al\\\" smith\",\"amount\":1234.56,"
         "\"active\":true,\"note\":null,\"tags\":[\"a\",\"b\"],\"score\":-0.5e-3,"
         "\"city\":\"Z\xc3\xbcrich\"}"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(docs); i++) {
        const char *once = rt(docs[i][0]);
        CHECK_STR(once, docs[i][1]);
        CHECK_STR(rt(once), once);
    }
}

/* ---- array splitter ---- */

#define MAX_ELEMS 64

typedef struct {
    char elems[MAX_ELEMS][256];
    int count;
    int rc; /* SL_EOF or SL_EPARSE */
    sl_json_error_t err;
} split_t;

/* Feeds doc to a splitter chunk bytes at a time the way a file reader does:
 * keep the bytes from *pos on, append the next chunk. Every call sees an
 * exact-size copy of its window so overreads are caught. */
static void split_doc(const char *doc, size_t len, size_t chunk, split_t *r)
{
    sl_json_array_splitter_t s;
    sl_json_array_splitter_init(&s);
    char *win = malloc(len + 1);
    size_t n = 0, pos = 0, fed = 0;
    int calls = 0;
    memset(r, 0, sizeof *r);
    for (;;) {
        bool eof = fed == len;
        char *view = malloc(n ? n : 1);
        memcpy(view, win, n);
        size_t off = 0, elen = 0;
        int rc = sl_json_array_next(&s, view, n, &pos, eof, &off, &elen, &r->err);
        if (rc == 0) {
            if (r->count < MAX_ELEMS && elen < 256) {
                memcpy(r->elems[r->count], view + off, elen);
                r->elems[r->count][elen] = '\0';
            }
            if (off + elen != pos || pos > n) {
                sl_test_fail(__FILE__, __LINE__, "bad element span %zu+%zu pos %zu", off, elen,
                             pos);
            }
            r->count++;
        }
        free(view);
        if (++calls > 100000) {
            sl_test_fail(__FILE__, __LINE__, "splitter makes no progress");
        }
        if (rc == 0) {
            continue;
        }
        if (rc == SL_AGAIN) {
            if (eof) {
                sl_test_fail(__FILE__, __LINE__, "SL_AGAIN at end of input");
            }
            memmove(win, win + pos, n - pos);
            n -= pos;
            pos = 0;
            size_t k = len - fed < chunk ? len - fed : chunk;
            memcpy(win + n, doc + fed, k);
            n += k;
            fed += k;
            continue;
        }
        r->rc = rc;
        break;
    }
    free(win);
}

SL_TEST(json_split_basic)
{
    const char *doc = " [1, \"a,]\" ,{\"b\":[1,\"]\",{}]},[3],true , null,-1.5e3\n,\"\\\"\"] \n";
    split_t r;
    split_doc(doc, strlen(doc), strlen(doc), &r);
    CHECK_INT(r.rc, SL_EOF);
    CHECK_INT(r.count, 8);
    CHECK_STR(r.elems[0], "1");
    CHECK_STR(r.elems[1], "\"a,]\"");
    CHECK_STR(r.elems[2], "{\"b\":[1,\"]\",{}]}");
    CHECK_STR(r.elems[3], "[3]");
    CHECK_STR(r.elems[4], "true");
    CHECK_STR(r.elems[5], "null");
    CHECK_STR(r.elems[6], "-1.5e3");
    CHECK_STR(r.elems[7], "\"\\\"\"");
}

SL_TEST(json_split_every_chunk_size)
{
    const char *doc = "[{\"id\":1,\"s\":\"x\\\\\",\"t\":\"[{\\\"\"},\n  [[],[{}]], "
                      "\"\\u00e9\xc3\xa9\","
                      "12345678901234567890, -0.5e-3 ,false,{\"deep\":{\"er\":[1,[2,[3]]]}},"
                      "\"\\\\\\\\\"]";
    size_t len = strlen(doc);
    split_t whole, r;
    split_doc(doc, len, len, &whole);
    CHECK_INT(whole.rc, SL_EOF);
    CHECK_INT(whole.count, 8);
    CHECK_STR(whole.elems[0], "{\"id\":1,\"s\":\"x\\\\\",\"t\":\"[{\\\"\"}");
    CHECK_STR(whole.elems[7], "\"\\\\\\\\\"");
    for (int i = 0; i < whole.count; i++) {
        sl_value_t v;
        CHECK_INT(parse_c(whole.elems[i], &v), 0);
    }
    for (size_t chunk = 1; chunk <= len; chunk++) {
        split_doc(doc, len, chunk, &r);
        CHECK_INT(r.rc, SL_EOF);
        CHECK_INT(r.count, whole.count);
        for (int i = 0; i < r.count; i++) {
            CHECK_STR(r.elems[i], whole.elems[i]);
        }
    }
}

SL_TEST(json_split_empty_arrays)
{
    split_t r;
    split_doc("[]", 2, 1, &r);
    CHECK_INT(r.rc, SL_EOF);
    CHECK_INT(r.count, 0);
    split_doc("\n [ \t ]  \n", 10, 3, &r);
    CHECK_INT(r.rc, SL_EOF);
    CHECK_INT(r.count, 0);
}

SL_TEST(json_split_errors_same_for_every_chunk_size)
{
    static const struct {
        const char *doc;
        const char *reason;
        size_t offset;
        int count; /* elements delivered before the error */
    } cases[] = {
        {"[1 2]", "unexpected character '2' after array element, expected ',' or ']'", 3, 1},
        {"[1,]", "trailing comma before ']'", 3, 1},
        {"[,1]", "unexpected character ',' in array, expected a value", 1, 0},
        {"[1,,2]", "unexpected character ',' in array", 3, 1},
        {"{\"a\":1}", "expected '[' (a JSON array)", 0, 0},
        {"", "empty input, expected a JSON array", 0, 0},
        {"   ", "input is only whitespace", 3, 0},
        {"[1", "unexpected end of input: unterminated array", 2, 0},
        {"[1, {\"a\":[", "unexpected end of input: unterminated array", 10, 1},
        {"[\"abc", "unexpected end of input: unterminated array", 5, 0},
        {"[1,2", "unexpected end of input: unterminated array", 4, 1},
        {"[1, ", "unexpected end of input: unterminated array", 4, 1},
        {"[1] x", "trailing characters after the closing ']'", 4, 1},
        {"[1]]", "trailing characters after the closing ']'", 3, 1},
        {"[}]", "unexpected character '}' in array, expected a value", 1, 0},
        {"[1\"a\"]", "unexpected character '\"' after array element", 2, 1},
        {"[{}{}]", "unexpected character '{' after array element", 3, 1},
        {"[:]", "unexpected character ':' in array", 1, 0},
    };
    for (size_t c = 0; c < SL_ARRAY_LEN(cases); c++) {
        size_t len = strlen(cases[c].doc);
        for (size_t chunk = 1; chunk <= len + 1; chunk++) {
            split_t r;
            split_doc(cases[c].doc, len, chunk, &r);
            if (r.rc != SL_EPARSE || !strstr(r.err.reason, cases[c].reason) ||
                r.err.offset != cases[c].offset || r.count != cases[c].count) {
                sl_test_fail(__FILE__, __LINE__,
                             "doc %s chunk %zu: rc %d count %d offset %zu reason \"%s\"",
                             cases[c].doc, chunk, r.rc, r.count, r.err.offset, r.err.reason);
            }
        }
    }
}

SL_TEST(json_split_offsets_count_consumed_bytes)
{
    /* A long document: the error offset is absolute even though the
     * window was compacted many times. */
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "[");
    for (int i = 0; i < 200; i++) {
        sl_buf_printf(&b, "{\"n\":%d,\"s\":\"%s\"},", i, i % 3 ? "a]b" : "}{");
    }
    size_t bad = b.len;
    sl_buf_append_c(&b, ",2]");
    for (size_t chunk = 1; chunk < 64; chunk += 7) {
        split_t r;
        split_doc(b.data, b.len, chunk, &r);
        CHECK_INT(r.rc, SL_EPARSE);
        CHECK_INT(r.count, 200);
        CHECK_INT(r.err.offset, bad);
        CHECK_CONTAINS(r.err.reason, "unexpected character ','");
    }
    sl_buf_free(&b);
}

SL_TEST(json_split_after_eof_and_error)
{
    sl_json_array_splitter_t s;
    sl_json_array_splitter_init(&s);
    size_t pos = 0, off, len;
    const char *doc = "[7]  ";
    CHECK_INT(sl_json_array_next(&s, doc, 5, &pos, false, &off, &len, &E), 0);
    CHECK_INT(off, 1);
    CHECK_INT(len, 1);
    CHECK_INT(pos, 2);
    /* After ']' the splitter asks for the rest of the input: only
     * whitespace may follow, and SL_EOF comes once the input ended. */
    CHECK_INT(sl_json_array_next(&s, doc, 5, &pos, false, &off, &len, &E), SL_AGAIN);
    CHECK_INT(pos, 5);
    CHECK_INT(s.consumed, 5);
    pos = 0;
    CHECK_INT(sl_json_array_next(&s, " \n", 2, &pos, false, &off, &len, &E), SL_AGAIN);
    pos = 0;
    CHECK_INT(sl_json_array_next(&s, "", 0, &pos, true, &off, &len, &E), SL_EOF);
    CHECK_INT(sl_json_array_next(&s, "", 0, &pos, true, &off, &len, &E), SL_EOF);

    sl_json_array_splitter_init(&s);
    pos = 0;
    CHECK_INT(sl_json_array_next(&s, "[]", 2, &pos, false, &off, &len, &E), SL_AGAIN);
    pos = 0;
    CHECK_INT(sl_json_array_next(&s, " x", 2, &pos, false, &off, &len, &E), SL_EPARSE);
    CHECK_INT(E.offset, 3);
    CHECK_CONTAINS(E.reason, "trailing characters after the closing ']'");
    CHECK_INT(sl_json_array_next(&s, " x", 2, &pos, true, &off, &len, &E), SL_EPARSE);
    CHECK_CONTAINS(E.reason, "called again after an error");
}
