/* Unit tests for src/core/csv.c: record splitting, chunked feeding, line
 * counting, errors, inference and the writer. */
#include <stdint.h>

#include "sluice/csv.h"
#include "test.h"

/* Renders parse results as text so tests compare one exact string:
 * fields joined by '|', quoted fields in {}, records joined by " / ",
 * CR/LF shown as \r \n, errors as ERR(reason@offset). */
typedef struct {
    char out[8192];
    size_t len;
} render_t;

static void put(render_t *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n && r->len + 3 < sizeof r->out; i++) {
        if (s[i] == '\n') {
            r->out[r->len++] = '\\';
            r->out[r->len++] = 'n';
        } else if (s[i] == '\r') {
            r->out[r->len++] = '\\';
            r->out[r->len++] = 'r';
        } else {
            r->out[r->len++] = s[i];
        }
    }
    r->out[r->len] = '\0';
}

static void puts_c(render_t *r, const char *s)
{
    put(r, s, strlen(s));
}

static void render_record(render_t *r, const sl_csv_field_t *f, size_t nf)
{
    if (r->len) {
        puts_c(r, " / ");
    }
    for (size_t i = 0; i < nf; i++) {
        if (i) {
            puts_c(r, "|");
        }
        if (f[i].quoted) {
            puts_c(r, "{");
        }
        put(r, f[i].text.ptr, f[i].text.len);
        if (f[i].quoted) {
            puts_c(r, "}");
        }
    }
}

static void render_error(render_t *r, const sl_csv_error_t *e, size_t base)
{
    char tmp[256];
    if (r->len) {
        puts_c(r, " / ");
    }
    snprintf(tmp, sizeof tmp, "ERR(%s@%zu)", e->reason, base + e->offset);
    puts_c(r, tmp);
}

/* Parses all of s (length n) at once with at_eof. */
static const char *parse_all_n(const sl_csv_opts_t *o, const char *s, size_t n)
{
    static render_t r;
    r.len = 0;
    r.out[0] = '\0';
    sl_arena_t *a = sl_arena_create(0, 0);
    /* Exact-size copy so sanitizers catch any read past n. */
    char *buf = malloc(n ? n : 1);
    memcpy(buf, s, n);
    size_t pos = 0;
    for (int guard = 0; guard < 10000; guard++) {
        sl_csv_field_t *f;
        size_t nf, nl;
        sl_csv_error_t e;
        size_t before = pos;
        int rc = sl_csv_next(o, a, buf, n, &pos, true, &f, &nf, &nl, &e);
        if (rc == SL_EOF) {
            break;
        }
        if (rc == SL_EPARSE) {
            render_error(&r, &e, 0);
        } else if (rc == 0) {
            render_record(&r, f, nf);
        } else {
            sl_test_fail(__FILE__, __LINE__, "unexpected rc %d", rc);
        }
        if (pos <= before) {
            sl_test_fail(__FILE__, __LINE__, "no progress at %zu", pos);
        }
    }
    free(buf);
    sl_arena_destroy(a);
    return r.out;
}

static const char *parse_all(const char *s)
{
    return parse_all_n(NULL, s, strlen(s));
}

/* Feeds s in chunks of `chunk` bytes, compacting consumed bytes away like a
 * file source does, and renders the same way as parse_all. */
static const char *parse_chunked(const sl_csv_opts_t *o, const char *s, size_t n, size_t chunk)
{
    static render_t r;
    r.len = 0;
    r.out[0] = '\0';
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t consumed = 0; /* bytes of s dropped from the front */
    size_t avail = SL_MIN(chunk, n);
    size_t pos = 0;
    for (int guard = 0; guard < 100000; guard++) {
        size_t bn = avail - consumed;
        char *buf = malloc(bn ? bn : 1);
        memcpy(buf, s + consumed, bn);
        sl_csv_field_t *f;
        size_t nf, nl;
        sl_csv_error_t e;
        bool at_eof = avail == n;
        int rc = sl_csv_next(o, a, buf, bn, &pos, at_eof, &f, &nf, &nl, &e);
        if (rc == SL_AGAIN) {
            CHECK(!at_eof);
            avail = SL_MIN(avail + chunk, n);
            free(buf);
            continue;
        }
        if (rc == SL_EOF) {
            CHECK(at_eof);
            free(buf);
            break;
        }
        if (rc == SL_EPARSE) {
            render_error(&r, &e, consumed);
        } else {
            CHECK_INT(rc, 0);
            render_record(&r, f, nf);
        }
        /* Fields may borrow from buf: render before freeing it. */
        free(buf);
        consumed += pos;
        pos = 0;
    }
    sl_arena_destroy(a);
    return r.out;
}

SL_TEST(csv_simple_lf)
{
    CHECK_STR(parse_all("a,b,c\n1,2,3\n"), "a|b|c / 1|2|3");
}

SL_TEST(csv_crlf)
{
    CHECK_STR(parse_all("a,b\r\n1,2\r\n"), "a|b / 1|2");
    CHECK_STR(parse_all("\"a\",\"b\"\r\n\"1\",2\r\n"), "{a}|{b} / {1}|2");
}

SL_TEST(csv_final_line_without_newline)
{
    CHECK_STR(parse_all("a,b\n1,2"), "a|b / 1|2");
    CHECK_STR(parse_all("a,\"b\""), "a|{b}");
    CHECK_STR(parse_all("x"), "x");

    /* Not at EOF, the last line is incomplete: SL_AGAIN, nothing consumed. */
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "a,b\n1,2";
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, false, &f, &nf, &nl, &e), 0);
    CHECK_INT(pos, 4);
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, false, &f, &nf, &nl, &e), SL_AGAIN);
    CHECK_INT(pos, 4);
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_INT(nf, 2);
    CHECK_INT(nl, 0);
    CHECK_INT(pos, 7);
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), SL_EOF);
    sl_arena_destroy(a);
}

SL_TEST(csv_quoted_fields)
{
    CHECK_STR(parse_all("\"a\",\"b,c\",d\n"), "{a}|{b,c}|d");
    CHECK_STR(parse_all("\"he said \"\"hi\"\"\",x\n"), "{he said \"hi\"}|x");
    CHECK_STR(parse_all("\"\"\"\"\n"), "{\"}");
    CHECK_STR(parse_all("\"\",\"\"\"\"\"\"\n"), "{}|{\"\"}");
    CHECK_STR(parse_all("\"a\r\nb\",c\r\n"), "{a\\r\\nb}|c");
}

SL_TEST(csv_borrows_from_buffer)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "plain,\"quoted\",\"dou\"\"bled\"\n";
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_INT(nf, 3);
    CHECK(f[0].text.ptr == s);
    CHECK(f[1].text.ptr == s + 7);
    CHECK_STRN(f[1].text.ptr, f[1].text.len, "quoted");
    /* Doubled quotes are decoded into the arena. */
    CHECK(f[2].text.ptr < s || f[2].text.ptr >= s + strlen(s));
    CHECK_STRN(f[2].text.ptr, f[2].text.len, "dou\"bled");
    CHECK(f[2].quoted);
    sl_arena_destroy(a);
}

SL_TEST(csv_embedded_newlines_counted)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "\"line1\nline2\nline3\",b\nc,d\n";
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_INT(nf, 2);
    CHECK_STRN(f[0].text.ptr, f[0].text.len, "line1\nline2\nline3");
    CHECK_INT(nl, 3);
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_STRN(f[0].text.ptr, f[0].text.len, "c");
    CHECK_INT(nl, 1);
    sl_arena_destroy(a);
}

SL_TEST(csv_empty_fields)
{
    CHECK_STR(parse_all(",,\n"), "||");
    CHECK_STR(parse_all("a,\n"), "a|");
    CHECK_STR(parse_all("a,"), "a|");
    CHECK_STR(parse_all(",a"), "|a");
    CHECK_STR(parse_all("\"\"\n"), "{}");
    CHECK_STR(parse_all(" \n"), " ");
}

SL_TEST(csv_blank_lines_skipped)
{
    CHECK_STR(parse_all("\n\na\n\r\n\nb\n\n"), "a / b");
    CHECK_STR(parse_all("\n\n\n"), "");
    CHECK_STR(parse_all("\r\n"), "");
    CHECK_STR(parse_all("a\n\r"), "a");

    /* Blank lines are counted in newlines, and reported in skipped. */
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "\n\na\n\r\n\nb\n\n";
    size_t pos = 0, nf, nl, sk;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    size_t n = strlen(s);
    CHECK_INT(sl_csv_next_ex(NULL, a, s, n, &pos, true, &f, &nf, &nl, &sk, &e), 0);
    CHECK_INT(nl, 3);
    CHECK_INT(sk, 2);
    CHECK_INT(sl_csv_next_ex(NULL, a, s, n, &pos, true, &f, &nf, &nl, &sk, &e), 0);
    CHECK_INT(nl, 3);
    CHECK_INT(sk, 2);
    CHECK_INT(sl_csv_next_ex(NULL, a, s, n, &pos, true, &f, &nf, &nl, &sk, &e), SL_EOF);
    CHECK_INT(nl, 1);
    CHECK_INT(pos, n);
    sl_arena_destroy(a);
}

SL_TEST(csv_line_numbers_with_skipped)
{
    /* A caller tracking lines: record k starts at L + skipped + 1. */
    const char *s = "h1,h2\n\n\"x\ny\",1\n\nz,2\nbad\"q,3\nw,4";
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0, n = strlen(s), lines = 0;
    char got[256] = "";
    for (;;) {
        sl_csv_field_t *f;
        size_t nf, nl, sk;
        sl_csv_error_t e;
        int rc = sl_csv_next_ex(NULL, a, s, n, &pos, true, &f, &nf, &nl, &sk, &e);
        if (rc == SL_EOF) {
            break;
        }
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%s%zu", rc == 0 ? "r" : "e", lines + sk + 1);
        strcat(got, tmp);
        strcat(got, " ");
        lines += nl;
    }
    CHECK_STR(got, "r1 r3 r6 e7 r8 ");
    sl_arena_destroy(a);
}

SL_TEST(csv_bom_skipped_at_start)
{
    CHECK_STR(parse_all("\xEF\xBB\xBF"
                        "a,b\n1,2\n"),
              "a|b / 1|2");
    CHECK_STR(parse_all("\xEF\xBB\xBF"), "");
    CHECK_STR(parse_all("\xEF\xBB"), "\xEF\xBB");

    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    /* A partial BOM at the end of a chunk waits for more bytes. */
    CHECK_INT(sl_csv_next(NULL, a, "\xEF\xBB", 2, &pos, false, &f, &nf, &nl, &e), SL_AGAIN);
    CHECK_INT(pos, 0);
    /* Only at position 0. */
    const char *s = "x\n\xEF\xBB\xBFy\n";
    pos = 2;
    CHECK_INT(sl_csv_next(NULL, a, s, strlen(s), &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_STRN(f[0].text.ptr, f[0].text.len, "\xEF\xBB\xBFy");
    sl_arena_destroy(a);
}

SL_TEST(csv_delimiter_options)
{
    sl_csv_opts_t semi = {';', '"'}, tab = {'\t', '"'}, pipe = {'|', '"'};
    CHECK_STR(parse_all_n(&semi, "a;b,c;\"d;e\"\n", 12), "a|b,c|{d;e}");
    CHECK_STR(parse_all_n(&tab, "a\tb c\t\"d\te\"\n", 12), "a|b c|{d\te}");
    CHECK_STR(parse_all_n(&pipe, "a|b,c|\"d|e\"\n", 12), "a|b,c|{d|e}");
    sl_csv_opts_t squote = {',', '\''};
    CHECK_STR(parse_all_n(&squote, "'a,b','it''s',\"x\"\n", 18), "{a,b}|{it's}|\"x\"");
    sl_csv_opts_t zero = {0, 0};
    CHECK_STR(parse_all_n(&zero, "a,\"b\"\n", 6), "a|{b}");
}

SL_TEST(csv_invalid_options)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    sl_csv_opts_t bad = {'"', '"'};
    CHECK_INT(sl_csv_next(&bad, a, "a\n", 2, &pos, true, &f, &nf, &nl, &e), SL_EINVAL);
    sl_csv_opts_t bad2 = {'\n', '"'};
    CHECK_INT(sl_csv_next(&bad2, a, "a\n", 2, &pos, true, &f, &nf, &nl, &e), SL_EINVAL);
    CHECK_INT(pos, 0);
    sl_arena_destroy(a);
}

SL_TEST(csv_cr_handling)
{
    /* A lone CR is data; CRLF ends the line; CR before EOF ends the line. */
    CHECK_STR(parse_all("a\rb,c\n"), "a\\rb|c");
    CHECK_STR(parse_all("a,b\r"), "a|b");
    CHECK_STR(parse_all("a,\"b\"\r"), "a|{b}");
    CHECK_STR(parse_all("a\r\r\n"), "a\\r");
    CHECK_STR(parse_all("\ra\n"), "\\ra");
}

SL_TEST(csv_many_and_long_fields)
{
    /* 1000 fields go past the reader's local field array. */
    char s[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        n += (size_t)snprintf(s + n, sizeof s - n, "%s%d", i ? "," : "", i % 10);
    }
    s[n++] = '\n';
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0, nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_INT(nf, 1000);
    for (int i = 0; i < 1000; i++) {
        CHECK_INT(f[i].text.len, 1);
        CHECK_INT(f[i].text.ptr[0], '0' + i % 10);
    }
    CHECK_INT(pos, n);

    /* Delimiters at every offset around the 64-byte block edges. */
    for (size_t at = 50; at < 140; at++) {
        char line[300];
        memset(line, 'x', sizeof line);
        line[at] = ',';
        line[200] = '\n';
        pos = 0;
        CHECK_INT(sl_csv_next(NULL, a, line, sizeof line, &pos, true, &f, &nf, &nl, &e), 0);
        CHECK_INT(nf, 2);
        CHECK_INT(f[0].text.len, at);
        CHECK_INT(f[1].text.len, 200 - at - 1);
        CHECK_INT(pos, 201);
    }
    sl_arena_destroy(a);
}

SL_TEST(csv_chunked_matches_whole)
{
    static const char *inputs[] = {
        "a,b,c\n1,\"x,y\",3\r\n\n\"multi\nline\",\"q\"\"q\",\n\"end\"",
        "\xEF\xBB\xBFh1;h2\n",
        "x,\"unterminated\nnext,line\n",
        "p,q\"r\ns,t\n\"a\"b,c\n",
        "\"\"\"\",\"\"\r\n\r\n\r",
        "long field with many characters to cross blocks of sixty four bytes each,"
        "\"and a quoted one, with commas, and \"\"quotes\"\", also crossing the block\"\n"
        "tail",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(inputs); i++) {
        size_t n = strlen(inputs[i]);
        char whole[8192];
        snprintf(whole, sizeof whole, "%s", parse_all(inputs[i]));
        for (size_t chunk = 1; chunk <= n + 1; chunk++) {
            const char *got = parse_chunked(NULL, inputs[i], n, chunk);
            if (strcmp(got, whole) != 0) {
                sl_test_fail(__FILE__, __LINE__, "input %zu chunk %zu: \"%s\" != \"%s\"", i,
                             chunk, got, whole);
            }
        }
    }
}

SL_TEST(csv_again_consumes_nothing)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t nf, nl;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    static const char *partial[] = {
        "\"open",     /* unterminated so far */
        "\"ab\"",     /* a doubled quote may follow */
        "\"ab\"\r",   /* an LF may follow */
        "a,b",        /* no line end yet */
        "\r",         /* blank line or data? */
        "",           /* empty buffer */
        "x\"y",       /* error line not complete */
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(partial); i++) {
        size_t pos = 0;
        int rc = sl_csv_next(NULL, a, partial[i], strlen(partial[i]), &pos, false, &f, &nf, &nl,
                             &e);
        if (rc != SL_AGAIN || pos != 0) {
            sl_test_fail(__FILE__, __LINE__, "partial %zu: rc %d pos %zu", i, rc, pos);
        }
    }
    sl_arena_destroy(a);
}

SL_TEST(csv_error_quote_in_unquoted)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "a,b,c\"d,e\nx,y\n";
    size_t pos = 0, nf, nl, n = strlen(s);
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, true, &f, &nf, &nl, &e), SL_EPARSE);
    CHECK_STR(e.reason, "quote inside unquoted field at column 3");
    CHECK_INT(e.offset, 5);
    CHECK_INT(pos, 10);
    CHECK_INT(nl, 1);
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_INT(nf, 2);
    CHECK_STRN(f[0].text.ptr, f[0].text.len, "x");
    sl_arena_destroy(a);
}

SL_TEST(csv_error_unterminated_quote)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *s = "a,\"bc\nd,e\n";
    size_t pos = 0, nf, nl, n = strlen(s);
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, false, &f, &nf, &nl, &e), SL_AGAIN);
    CHECK_INT(pos, 0);
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, true, &f, &nf, &nl, &e), SL_EPARSE);
    CHECK_STR(e.reason, "unterminated quoted field at column 2");
    CHECK_INT(e.offset, 2);
    CHECK_INT(pos, 6);
    CHECK_INT(nl, 1);
    CHECK_INT(sl_csv_next(NULL, a, s, n, &pos, true, &f, &nf, &nl, &e), 0);
    CHECK_STRN(f[1].text.ptr, f[1].text.len, "e");
    CHECK_STR(parse_all("\"abc"), "ERR(unterminated quoted field at column 1@0)");
    sl_arena_destroy(a);
}

SL_TEST(csv_error_after_closing_quote)
{
    CHECK_STR(parse_all("\"ab\"x,c\nd\n"),
              "ERR(unexpected character 'x' after closing quote at column 1@4) / d");
    CHECK_STR(parse_all("1,\"ab\" ,c\n"),
              "ERR(unexpected character ' ' after closing quote at column 2@6)");
    CHECK_STR(parse_all("\"a\"\rb\n"),
              "ERR(unexpected character '\\r' after closing quote at column 1@3)");
    CHECK_STR(parse_all("\"a\"\x01\n"),
              "ERR(unexpected character '\\x01' after closing quote at column 1@3)");
}

SL_TEST(csv_error_skips_physical_line)
{
    /* The error is on the second physical line of a record: skipping
     * resumes after that line, not the first. */
    CHECK_STR(parse_all("\"a\nb\"c,d\ne,f\n"),
              "ERR(unexpected character 'c' after closing quote at column 1@5) / e|f");
    /* An error line without a line end at EOF consumes the rest. */
    CHECK_STR(parse_all("ok\nx\"y"), "ok / ERR(quote inside unquoted field at column 1@4)");
}

SL_TEST(csv_eof_and_empty_input)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0, nf = 99, nl = 99;
    sl_csv_field_t *f;
    sl_csv_error_t e;
    CHECK_INT(sl_csv_next(NULL, a, "", 0, &pos, true, &f, &nf, &nl, &e), SL_EOF);
    CHECK_INT(nf, 0);
    CHECK_INT(nl, 0);
    CHECK_INT(sl_csv_next(NULL, a, "", 0, &pos, false, &f, &nf, &nl, &e), SL_AGAIN);
    /* Exactly at a record end, not at EOF: more may come. */
    pos = 2;
    CHECK_INT(sl_csv_next(NULL, a, "a\n", 2, &pos, false, &f, &nf, &nl, &e), SL_AGAIN);
    CHECK_INT(sl_csv_next(NULL, a, "a\n", 2, &pos, true, &f, &nf, &nl, &e), SL_EOF);
    sl_arena_destroy(a);
}

/* ---- inference ---- */

SL_TEST(csv_infer_table)
{
    static const struct {
        const char *text;
        bool quoted;
        sl_type_t type;
    } cases[] = {
        {"", false, SL_T_NULL},         {"", true, SL_T_STRING},
        {"0", false, SL_T_INT},         {"-0", false, SL_T_INT},
        {"42", false, SL_T_INT},        {"-17", false, SL_T_INT},
        {"1.50", false, SL_T_DOUBLE},   {"-2e5", false, SL_T_DOUBLE},
        {"0.5", false, SL_T_DOUBLE},    {"1E+3", false, SL_T_DOUBLE},
        {"1e-3", false, SL_T_DOUBLE},   {"-0.0", false, SL_T_DOUBLE},
        {"+5", false, SL_T_STRING},     {"01", false, SL_T_STRING},
        {" 5", false, SL_T_STRING},     {"5 ", false, SL_T_STRING},
        {"1.", false, SL_T_STRING},     {".5", false, SL_T_STRING},
        {"1e", false, SL_T_STRING},     {"1e+", false, SL_T_STRING},
        {"-", false, SL_T_STRING},      {"1,5", false, SL_T_STRING},
        {"0x10", false, SL_T_STRING},   {"NaN", false, SL_T_STRING},
        {"Infinity", false, SL_T_STRING}, {"1_000", false, SL_T_STRING},
        {"42", true, SL_T_STRING},      {"true", false, SL_T_BOOL},
        {"false", false, SL_T_BOOL},    {"TRUE", false, SL_T_STRING},
        {"true", true, SL_T_STRING},    {"null", false, SL_T_STRING},
        {"hello", false, SL_T_STRING},  {"--1", false, SL_T_STRING},
        {"00", false, SL_T_STRING},     {"0.", false, SL_T_STRING},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_csv_field_t f = {sl_str_c(cases[i].text), cases[i].quoted};
        sl_value_t v = sl_csv_field_value(&f, true);
        if (v.type != cases[i].type) {
            sl_test_fail(__FILE__, __LINE__, "'%s'%s: type %s, want %s", cases[i].text,
                         cases[i].quoted ? " (quoted)" : "", sl_type_name(v.type),
                         sl_type_name(cases[i].type));
        }
        if (v.type == SL_T_DOUBLE) {
            CHECK(v.flags & SL_VF_RAW);
            CHECK(v.u.s == cases[i].text);
            CHECK_INT(v.len, strlen(cases[i].text));
        }
        if (v.type == SL_T_STRING) {
            CHECK(v.u.s == cases[i].text);
            CHECK_INT(v.len, strlen(cases[i].text));
        }
    }
}

SL_TEST(csv_infer_integer_values)
{
    static const struct {
        const char *text;
        int64_t v;
    } ints[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"-123456789012345678", -123456789012345678LL},
        {"123456789012345678", 123456789012345678LL},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"1000000000000000000", 1000000000000000000LL},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ints); i++) {
        sl_csv_field_t f = {sl_str_c(ints[i].text), false};
        sl_value_t v = sl_csv_field_value(&f, true);
        CHECK_INT(v.type, SL_T_INT);
        CHECK(v.u.i == ints[i].v);
    }
    static const char *big[] = {"9223372036854775808", "-9223372036854775809",
                                "18446744073709551616", "123456789012345678901234567890"};
    for (size_t i = 0; i < SL_ARRAY_LEN(big); i++) {
        sl_csv_field_t f = {sl_str_c(big[i]), false};
        sl_value_t v = sl_csv_field_value(&f, true);
        CHECK_INT(v.type, SL_T_BIGNUM);
        CHECK_STRN(v.u.s, v.len, big[i]);
    }
    sl_csv_field_t b = {SL_STR("true"), false};
    sl_value_t bv = sl_csv_field_value(&b, true);
    CHECK_INT(bv.u.i, 1);
    sl_csv_field_t d = {SL_STR("-2e5"), false};
    sl_value_t dv = sl_csv_field_value(&d, true);
    double x = 0;
    CHECK_INT(sl_value_get_double(&dv, &x), 0);
    CHECK_DBL(x, -200000.0);
}

SL_TEST(csv_infer_off)
{
    sl_csv_field_t f1 = {SL_STR("42"), false};
    sl_csv_field_t f2 = {SL_STR(""), false};
    sl_csv_field_t f3 = {SL_STR(""), true};
    sl_csv_field_t f4 = {SL_STR("true"), false};
    CHECK_INT(sl_csv_field_value(&f1, false).type, SL_T_STRING);
    CHECK_INT(sl_csv_field_value(&f2, false).type, SL_T_NULL);
    CHECK_INT(sl_csv_field_value(&f3, false).type, SL_T_STRING);
    CHECK_INT(sl_csv_field_value(&f4, false).type, SL_T_STRING);
}

/* ---- writer ---- */

static const char *wf(const char *s, char delim)
{
    static sl_buf_t b;
    sl_buf_clear(&b);
    CHECK_INT(sl_csv_write_field(&b, s, strlen(s), delim), 0);
    return b.data ? b.data : "";
}

SL_TEST(csv_write_field_quoting)
{
    CHECK_STR(wf("plain", ','), "plain");
    CHECK_STR(wf("", ','), "");
    CHECK_STR(wf("a,b", ','), "\"a,b\"");
    CHECK_STR(wf("a,b", ';'), "a,b");
    CHECK_STR(wf("a;b", ';'), "\"a;b\"");
    CHECK_STR(wf("a;b", ','), "a;b");
    CHECK_STR(wf("a\tb", '\t'), "\"a\tb\"");
    CHECK_STR(wf("a|b", '|'), "\"a|b\"");
    CHECK_STR(wf("a|b", ','), "a|b");
    CHECK_STR(wf("a#b", '#'), "\"a#b\"");
    CHECK_STR(wf("a\nb", ','), "\"a\nb\"");
    CHECK_STR(wf("a\rb", ','), "\"a\rb\"");
    CHECK_STR(wf("say \"hi\"", ','), "\"say \"\"hi\"\"\"");
    CHECK_STR(wf("\"", ','), "\"\"\"\"");
    CHECK_STR(wf(" lead", ','), "\" lead\"");
    CHECK_STR(wf("trail ", ','), "\"trail \"");
    CHECK_STR(wf("in side", ','), "in side");
    CHECK_STR(wf("\ttab", ','), "\"\ttab\"");
    CHECK_STR(wf("\xEF\xBB\xBFx", ','), "\"\xEF\xBB\xBFx\"");
    CHECK_STR(wf("caf\xC3\xA9", ','), "caf\xC3\xA9");
    /* Long fields take the 16-byte path: specials at every position. */
    for (size_t at = 1; at < 40; at++) {
        char s[48];
        memset(s, 'x', 41);
        s[41] = '\0';
        s[at] = ',';
        const char *got = wf(s, ',');
        CHECK_INT(got[0], '"');
        CHECK_INT(strlen(got), 43);
        s[at] = ';';
        CHECK_STR(wf(s, ','), s);
    }
}

/* Every length 1..40 (byte, 8-byte and 16-byte paths), every position of
 * one special byte, every delimiter: quoted exactly when it matters. */
SL_TEST(csv_write_field_quote_detection_exhaustive)
{
    static const char delims[] = {',', ';', '\t', '|', '#'};
    static const char specials[] = {',', ';', '\t', '|', '#', '"', '\r', '\n', 'z'};
    sl_buf_t b = SL_BUF_INIT;
    for (size_t di = 0; di < sizeof delims; di++) {
        for (size_t n = 1; n <= 40; n++) {
            for (size_t at = 0; at < n; at++) {
                for (size_t si = 0; si < sizeof specials; si++) {
                    char s[41];
                    memset(s, 'a', n);
                    s[at] = specials[si];
                    char c = specials[si];
                    bool edge_tab = c == '\t' && (at == 0 || at == n - 1);
                    bool want = c == '"' || c == '\r' || c == '\n' || c == delims[di] || edge_tab;
                    sl_buf_clear(&b);
                    CHECK_INT(sl_csv_write_field(&b, s, n, delims[di]), 0);
                    bool got = b.len > 0 && b.data[0] == '"';
                    if (got != want) {
                        sl_test_fail(__FILE__, __LINE__, "delim %d len %zu at %zu byte %d: %d",
                                     delims[di], n, at, c, got);
                    }
                }
            }
        }
    }
    sl_buf_free(&b);
}

SL_TEST(csv_write_field_appends)
{
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_csv_write_field(&b, "a", 1, ','), 0);
    CHECK_INT(sl_buf_putc(&b, ','), 0);
    CHECK_INT(sl_csv_write_field(&b, "b\"c", 3, ','), 0);
    CHECK_INT(sl_buf_putc(&b, ','), 0);
    CHECK_INT(sl_csv_write_field(&b, "x\"\"y\"", 5, ','), 0);
    CHECK_STR(b.data, "a,\"b\"\"c\",\"x\"\"\"\"y\"\"\"");
    CHECK_INT(b.len, strlen(b.data));
    sl_buf_free(&b);

    /* Many quotes: each doubling needs room beyond the first reservation. */
    sl_buf_t big = SL_BUF_INIT;
    char q[300];
    memset(q, '"', sizeof q);
    sl_buf_append(&big, "0123456789", 10);
    CHECK_INT(sl_csv_write_field(&big, q, sizeof q, ','), 0);
    CHECK_INT(big.len, 10 + 2 + 600);
    for (size_t i = 10; i < big.len; i++) {
        CHECK_INT(big.data[i], '"');
    }
    CHECK_INT(big.data[big.len], '\0');
    sl_buf_free(&big);

    /* A buffer at its maximum refuses with SL_ELIMIT. */
    sl_buf_t lim;
    sl_buf_init(&lim, 5);
    CHECK_INT(sl_csv_write_field(&lim, "123456", 6, ','), SL_ELIMIT);
    CHECK_INT(sl_csv_write_field(&lim, "a\"", 2, ','), 0);
    CHECK_STR(lim.data, "\"a\"\"\"");
    sl_buf_free(&lim);
}

static const char *wv(const sl_value_t *v, char delim)
{
    static sl_buf_t b;
    sl_buf_clear(&b);
    CHECK_INT(sl_csv_write_value(&b, v, delim), 0);
    return b.data ? b.data : "";
}

SL_TEST(csv_write_value_types)
{
    sl_value_t v = sl_value_null();
    CHECK_STR(wv(&v, ','), "");
    v = sl_value_str("", 0);
    CHECK_STR(wv(&v, ','), "\"\"");
    v = sl_value_str("a,b", 3);
    CHECK_STR(wv(&v, ','), "\"a,b\"");
    v = sl_value_bool(true);
    CHECK_STR(wv(&v, ','), "true");
    v = sl_value_bool(false);
    CHECK_STR(wv(&v, ','), "false");
    v = sl_value_int(0);
    CHECK_STR(wv(&v, ','), "0");
    v = sl_value_int(-42);
    CHECK_STR(wv(&v, ','), "-42");
    v = sl_value_int(INT64_MIN);
    CHECK_STR(wv(&v, ','), "-9223372036854775808");
    v = sl_value_int(INT64_MAX);
    CHECK_STR(wv(&v, ','), "9223372036854775807");
    sl_csv_field_t raw = {SL_STR("1.50"), false};
    v = sl_csv_field_value(&raw, true);
    CHECK_STR(wv(&v, ','), "1.50");
    v = sl_value_double(0.25);
    CHECK_STR(wv(&v, ','), "0.25");
    sl_csv_field_t big = {SL_STR("123456789012345678901234567890"), false};
    v = sl_csv_field_value(&big, true);
    CHECK_STR(wv(&v, ','), "123456789012345678901234567890");
    v = sl_value_timestamp(1795341600123456LL); /* 2026-11-22T10:00:00.123456Z */
    CHECK_STR(wv(&v, ','), "2026-11-22T10:00:00.123456Z");
    v = sl_value_timestamp(1795341600000000LL);
    CHECK_STR(wv(&v, ','), "2026-11-22T10:00:00Z");
    v = sl_value_date(20414); /* 2025-11-22 */
    CHECK_STR(wv(&v, ','), "2025-11-22");
}

SL_TEST(csv_write_value_nested_json)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t items[2] = {sl_value_int(1), sl_value_int(2)};
    sl_value_t arr = {0};
    arr.type = SL_T_ARRAY;
    arr.len = 2;
    arr.u.items = items;
    CHECK_STR(wv(&arr, ','), "\"[1,2]\"");
    CHECK_STR(wv(&arr, ';'), "[1,2]");
    sl_value_t obj;
    CHECK_INT(sl_object_new(a, &obj, 2), 0);
    CHECK_INT(sl_object_set(a, &obj, "k", 1, sl_value_str("v \"q\"", 5)), 0);
    CHECK_STR(wv(&obj, ';'), "\"{\"\"k\"\":\"\"v \\\"\"q\\\"\"\"\"}\"");
    /* Appends after existing content, keeping the NUL. */
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_append_c(&b, "x,");
    CHECK_INT(sl_csv_write_value(&b, &obj, ','), 0);
    CHECK_STR(b.data, "x,\"{\"\"k\"\":\"\"v \\\"\"q\\\"\"\"\"}\"");
    sl_buf_free(&b);
    sl_arena_destroy(a);
}

SL_TEST(csv_write_then_read_roundtrip)
{
    static const char *vals[] = {"plain", "", "a,b", "q\"q", "\"", "line\nbreak", "cr\rlf\r\n",
                                 " sp ", "\xEF\xBB\xBF", ";|\t", "\"\"\"", ",", "x"};
    size_t nv = SL_ARRAY_LEN(vals);
    sl_buf_t b = SL_BUF_INIT;
    for (size_t r = 0; r < nv; r++) {
        for (size_t c = 0; c < 3; c++) {
            if (c) {
                sl_buf_putc(&b, ',');
            }
            const char *s = vals[(r + c) % nv];
            sl_csv_write_field(&b, s, strlen(s), ',');
        }
        sl_buf_append_c(&b, r % 2 ? "\r\n" : "\n");
    }
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t pos = 0;
    for (size_t r = 0; r < nv; r++) {
        sl_csv_field_t *f;
        size_t nf, nl;
        sl_csv_error_t e;
        CHECK_INT(sl_csv_next(NULL, a, b.data, b.len, &pos, true, &f, &nf, &nl, &e), 0);
        CHECK_INT(nf, 3);
        for (size_t c = 0; c < 3; c++) {
            CHECK_STRN(f[c].text.ptr, f[c].text.len, vals[(r + c) % nv]);
        }
    }
    CHECK_INT(pos, b.len);
    sl_buf_free(&b);
    sl_arena_destroy(a);
}
