/* The unit test runner: runs every test of the generated table (or those
 * named on the command line, or matching a prefix ending in '*') each in a
 * child process with a timeout, and ends with "N passed, N failed, N
 * skipped". A test passes only when its child exits 0: a child that could
 * not be started, crashed, timed out or was never waited for is a failure,
 * and a name on the command line that selects no test is one too. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

typedef struct {
    const char *name;
    void (*fn)(void);
} sl_test_entry_t;

extern const sl_test_entry_t sl_test_table[];
extern const size_t sl_test_count;

static char tmpdir[256];

void sl_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

void sl_test_skip(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: skipped: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(SL_TEST_SKIP_EXIT);
}

const char *sl_test_tmpdir(void)
{
    return tmpdir;
}

const char *sl_test_write_file(const char *name, const char *data, size_t n)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        sl_test_fail(__FILE__, __LINE__, "cannot write %s: %s", p, strerror(errno));
    }
    return p;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool matches(const char *name, const char *sel)
{
    size_t n = strlen(sel);
    if (n > 0 && sel[n - 1] == '*') {
        return strncmp(name, sel, n - 1) == 0;
    }
    return strcmp(name, sel) == 0;
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc < 2) {
        return true;
    }
    for (int i = 1; i < argc; i++) {
        if (matches(name, argv[i])) {
            return true;
        }
    }
    return false;
}

typedef enum { RESULT_PASS, RESULT_FAIL, RESULT_SKIP } result_t;

static result_t run_one(const sl_test_entry_t *t, int timeout_s)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "    mkdtemp: %s\n", strerror(errno));
        return RESULT_FAIL;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "    fork: %s\n", strerror(errno));
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return RESULT_FAIL;
    }
    if (pid == 0) {
        alarm((unsigned)timeout_s);
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (w != pid) {
        fprintf(stderr, "    waitpid: %s\n", strerror(errno));
        return RESULT_FAIL;
    }
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        return code == 0 ? RESULT_PASS : code == SL_TEST_SKIP_EXIT ? RESULT_SKIP : RESULT_FAIL;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    }
    return RESULT_FAIL;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *to = getenv("SL_TEST_TIMEOUT");
    int timeout_s = to ? atoi(to) : 60;
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sl_test_count; i++) {
            printf("%s\n", sl_test_table[i].name);
        }
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        bool any = false;
        for (size_t k = 0; k < sl_test_count && !any; k++) {
            any = matches(sl_test_table[k].name, argv[i]);
        }
        if (!any) {
            printf("FAIL no test matches '%s'\n", argv[i]);
            failed++;
        }
    }
    for (size_t i = 0; i < sl_test_count; i++) {
        const sl_test_entry_t *t = &sl_test_table[i];
        if (!selected(t->name, argc, argv)) {
            continue;
        }
        result_t r = run_one(t, timeout_s);
        printf("%s %s\n", r == RESULT_PASS ? "ok  " : r == RESULT_SKIP ? "skip" : "FAIL", t->name);
        fflush(stdout);
        r == RESULT_PASS ? passed++ : r == RESULT_SKIP ? skipped++ : failed++;
    }
    if (passed + failed + skipped == 0) {
        printf("FAIL no test ran\n");
        failed = 1;
    }
    printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
