/* Test servers as child processes; see child_harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_harness.h"

const char *sl_child_repo_path(const char *rel, char *buf, size_t cap)
{
    const char *root = getenv("SLUICE_ROOT");
    snprintf(buf, cap, "%s%s%s", root ? root : "", root ? "/" : "", rel);
    return buf;
}

void sl_child_stop(sl_child_t *c, int term, int wait_ms)
{
    if (c->pid <= 0) {
        return;
    }
    close(c->in_fd);
    if (term) {
        kill(c->pid, SIGTERM);
    }
    int status;
    if (wait_ms < 0) {
        waitpid(c->pid, &status, 0);
        c->pid = -1;
    }
    for (int i = 0; c->pid > 0 && i < wait_ms / 10; i++) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid || (r < 0 && errno != EINTR)) {
            c->pid = -1;
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
        c->pid = -1;
    }
    close(c->out_fd);
}

int sl_child_start(sl_child_t *c, char *const argv[], int timeout_s, char *ready, size_t cap,
                   const char *what)
{
    c->pid = -1;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", what, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", what, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execvp(argv[0], argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", what, argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->in_fd = in[1];
    c->out_fd = out[0];
    char line[512];
    size_t len = 0;
    time_t deadline = time(NULL) + timeout_s;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {c->out_fd, POLLIN, 0};
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
            fprintf(stderr, "%s: no READY within %d s\n", what, timeout_s);
            sl_child_stop(c, 1, 1000);
            return -1;
        }
        ssize_t r = read(c->out_fd, line + len, sizeof line - 1 - len);
        if (r <= 0) {
            fprintf(stderr, "%s: exited before READY\n", what);
            sl_child_stop(c, 1, 1000);
            return -1;
        }
        len += (size_t)r;
    }
    line[len] = '\0';
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "READY ", 6) != 0 || strlen(line + 6) >= cap) {
        fprintf(stderr, "%s: unexpected output: %s\n", what, line);
        sl_child_stop(c, 1, 1000);
        return -1;
    }
    strcpy(ready, line + 6);
    return 0;
}
