/* The unit test runner: runs every test of the generated table (or those
 * named on the command line, or matching a prefix ending in '*') each in a
 * child process with a timeout, and ends with "N passed, N failed". */
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

static bool selected(const char *name, int argc, char **argv)
{
    if (argc < 2) {
        return true;
    }
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n > 0 && argv[i][n - 1] == '*') {
            if (strncmp(name, argv[i], n - 1) == 0) {
                return true;
            }
        } else if (strcmp(name, argv[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool run_one(const sl_test_entry_t *t, int timeout_s)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return false;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm((unsigned)timeout_s);
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return true;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    }
    return false;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    const char *to = getenv("SL_TEST_TIMEOUT");
    int timeout_s = to ? atoi(to) : 60;
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sl_test_count; i++) {
            printf("%s\n", sl_test_table[i].name);
        }
        return 0;
    }
    for (size_t i = 0; i < sl_test_count; i++) {
        const sl_test_entry_t *t = &sl_test_table[i];
        if (!selected(t->name, argc, argv)) {
            continue;
        }
        bool ok = run_one(t, timeout_s);
        printf("%s %s\n", ok ? "ok  " : "FAIL", t->name);
        fflush(stdout);
        ok ? passed++ : failed++;
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
