/* Test servers as child processes (s3rver, the PostgreSQL script, the fake
 * APIs): started with stdin and stdout on pipes, ready once they print a
 * line "READY <value>", stopped by closing their stdin (each of them exits
 * on EOF, so a test that dies takes its servers with it). */
#ifndef SLUICE_TEST_CHILD_HARNESS_H
#define SLUICE_TEST_CHILD_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid; /* -1 when not running */
    int in_fd; /* the child's stdin: closing it stops the child */
    int out_fd;
} sl_child_t;

/* Runs argv (argv[0] found on PATH) and waits up to timeout_s seconds for
 * its READY line; copies what follows "READY " into ready. Returns 0, or
 * -1 with a message on stderr naming what (the child is then stopped). */
int sl_child_start(sl_child_t *c, char *const argv[], int timeout_s, char *ready, size_t cap,
                   const char *what);

/* Closes the child's stdin, sends SIGTERM when term, and waits up to
 * wait_ms (< 0: for as long as it takes) before SIGKILL. */
void sl_child_stop(sl_child_t *c, int term, int wait_ms);

/* rel below the repository root ($SLUICE_ROOT when set, else the current
 * folder), written into buf. */
const char *sl_child_repo_path(const char *rel, char *buf, size_t cap);

#endif
