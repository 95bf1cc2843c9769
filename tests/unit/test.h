/* Minimal unit test framework.
 *
 * SL_TEST(name) { ... } defines a test; the Makefile collects every
 * SL_TEST in tests/unit/ into one static table (build/gen/test_table.c).
 * The runner runs each test in a child process with a timeout, so a crash
 * or hang fails one test, not the suite. CHECK* report file:line and the
 * values, and stop the test at the first failure. */
#ifndef SLUICE_TEST_H
#define SLUICE_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_TEST(name)                                                                      \
    void sl_test_##name(void);                                                             \
    void sl_test_##name(void)

void sl_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Ends the test as skipped (reported as such, never as passed), with the
 * reason; for a test that cannot run in this environment. */
#define SL_TEST_SKIP_EXIT 77
void sl_test_skip(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
#define SKIP(...) sl_test_skip(__FILE__, __LINE__, __VA_ARGS__)
/* A fresh temp dir for this test (removed after it), NUL-terminated. */
const char *sl_test_tmpdir(void);
/* Writes data to tmpdir/name and returns the full path (static buffer
 * rotation of 8). */
const char *sl_test_write_file(const char *name, const char *data, size_t n);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            sl_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                   \
        }                                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                                    \
    do {                                                                                   \
        long long sl__a = (long long)(a), sl__b = (long long)(b);                          \
        if (sl__a != sl__b) {                                                              \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, sl__a,     \
                         sl__b);                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_DBL(a, b)                                                                    \
    do {                                                                                   \
        double sl__a = (a), sl__b = (b);                                                   \
        if (!(sl__a == sl__b)) {                                                           \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", #a, #b, sl__a,   \
                         sl__b);                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                                    \
    do {                                                                                   \
        const char *sl__a = (a), *sl__b = (b);                                             \
        if (!sl__a || !sl__b || strcmp(sl__a, sl__b) != 0) {                               \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,        \
                         sl__a ? sl__a : "(null)", sl__b ? sl__b : "(null)");              \
        }                                                                                  \
    } while (0)

/* Compares a {ptr,len} with a C string. */
#define CHECK_STRN(p, n, b)                                                                \
    do {                                                                                   \
        const char *sl__p = (p), *sl__b = (b);                                             \
        size_t sl__n = (n);                                                                \
        if (strlen(sl__b) != sl__n || memcmp(sl__p, sl__b, sl__n) != 0) {                  \
            sl_test_fail(__FILE__, __LINE__, "%s == %s: \"%.*s\" != \"%s\"", #p, #b,      \
                         (int)sl__n, sl__p, sl__b);                                        \
        }                                                                                  \
    } while (0)

/* Checks that haystack contains needle. */
#define CHECK_CONTAINS(h, needle)                                                          \
    do {                                                                                   \
        const char *sl__h = (h), *sl__x = (needle);                                        \
        if (!sl__h || !strstr(sl__h, sl__x)) {                                             \
            sl_test_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%s\"", #h, sl__x, \
                         sl__h ? sl__h : "(null)");                                        \
        }                                                                                  \
    } while (0)

#endif
