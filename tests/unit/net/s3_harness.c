/* Spawns and stops the s3rver test server; see s3_harness.h. */
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

#include "s3_harness.h"

#define SCRIPT "tests/harness/s3rver.js"

static const char *script_path(void)
{
    static char path[1024];
    const char *root = getenv("SLUICE_ROOT");
    snprintf(path, sizeof path, "%s%s%s", root ? root : "", root ? "/" : "", SCRIPT);
    return path;
}

int sl_s3_harness_start(sl_s3_harness_t *h, const char *const *buckets, const char *access_key,
                        const char *secret_key)
{
    memset(h, 0, sizeof *h);
    h->pid = -1;
    const char *script = script_path();
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "s3 harness: %s not found (run from the repository root or set "
                        "SLUICE_ROOT)\n", script);
        return -1;
    }
    char *argv[64];
    char keyarg[512];
    int n = 0;
    argv[n++] = "node";
    argv[n++] = (char *)script;
    for (size_t i = 0; buckets && buckets[i] && n < 56; i++) {
        argv[n++] = "--bucket";
        argv[n++] = (char *)buckets[i];
    }
    snprintf(keyarg, sizeof keyarg, "%s:%s", access_key, secret_key);
    argv[n++] = "--key";
    argv[n++] = keyarg;
    argv[n] = NULL;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        perror("s3 harness: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("s3 harness: fork");
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execvp("node", argv);
        fprintf(stderr, "s3 harness: cannot run node: %s\n", strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->pid = pid;
    h->in_fd = in[1];
    h->out_fd = out[0];
    /* Wait for "READY <port>". */
    char line[128];
    size_t len = 0;
    time_t deadline = time(NULL) + 30;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {h->out_fd, POLLIN, 0};
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
            fprintf(stderr, "s3 harness: no READY from the server within 30 s\n");
            sl_s3_harness_stop(h);
            return -1;
        }
        ssize_t r = read(h->out_fd, line + len, sizeof line - 1 - len);
        if (r <= 0) {
            fprintf(stderr, "s3 harness: the server exited before READY (is "
                            "tests/node_modules installed? run scripts/npm-deps.sh)\n");
            sl_s3_harness_stop(h);
            return -1;
        }
        len += (size_t)r;
    }
    line[len] = '\0';
    if (sscanf(line, "READY %d", &h->port) != 1 || h->port <= 0) {
        fprintf(stderr, "s3 harness: unexpected output: %s\n", line);
        sl_s3_harness_stop(h);
        return -1;
    }
    snprintf(h->endpoint, sizeof h->endpoint, "http://127.0.0.1:%d", h->port);
    return 0;
}

void sl_s3_harness_stop(sl_s3_harness_t *h)
{
    if (h->pid <= 0) {
        return;
    }
    close(h->in_fd);
    kill(h->pid, SIGTERM);
    int status;
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(h->pid, &status, WNOHANG);
        if (r == h->pid || (r < 0 && errno != EINTR)) {
            h->pid = -1;
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        h->pid = -1;
    }
    close(h->out_fd);
}
