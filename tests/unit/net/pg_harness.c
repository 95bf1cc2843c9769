/* Runs tests/harness/pg_server.sh for the unit tests; see pg_harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_harness.h"

#define SCRIPT "tests/harness/pg_server.sh"

static pid_t server_pid = -1;
static int server_in = -1;
static char base_url[256];
static bool failed;

typedef struct db_url {
    struct db_url *next;
    char url[300];
} db_url_t;
static db_url_t *urls;

static void stop_server(void)
{
    if (server_pid > 0) {
        close(server_in); /* the script stops postgres and cleans up */
        int status;
        waitpid(server_pid, &status, 0);
        server_pid = -1;
    }
    while (urls) {
        db_url_t *n = urls->next;
        free(urls);
        urls = n;
    }
}

static int start_server(void)
{
    char script[1024];
    const char *root = getenv("SLUICE_ROOT");
    snprintf(script, sizeof script, "%s%s%s", root ? root : "", root ? "/" : "", SCRIPT);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        perror("pg harness: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("pg harness: fork");
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp("sh", "sh", script, (char *)NULL);
        fprintf(stderr, "pg harness: cannot run %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    server_pid = pid;
    server_in = in[1];
    atexit(stop_server);
    char line[512];
    size_t len = 0;
    time_t deadline = time(NULL) + 60;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {out[0], POLLIN, 0};
        int left = (int)(deadline - time(NULL));
        if (left <= 0 || poll(&p, 1, left * 1000) <= 0) {
            fprintf(stderr, "pg harness: no READY from %s within 60 s\n", script);
            close(out[0]);
            return -1;
        }
        ssize_t r = read(out[0], line + len, sizeof line - 1 - len);
        if (r <= 0) {
            fprintf(stderr, "pg harness: %s exited before READY\n", script);
            close(out[0]);
            return -1;
        }
        len += (size_t)r;
    }
    close(out[0]);
    line[len] = '\0';
    char *nl = strchr(line, '\n');
    *nl = '\0';
    if (strncmp(line, "READY ", 6) != 0 || strlen(line + 6) >= sizeof base_url) {
        fprintf(stderr, "pg harness: unexpected output: %s\n", line);
        return -1;
    }
    strcpy(base_url, line + 6);
    return 0;
}

const char *sl_pg_harness_url(void)
{
    if (failed) {
        return NULL;
    }
    if (!base_url[0] && start_server() != 0) {
        failed = true;
        return NULL;
    }
    return base_url;
}

static void quiet(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

const char *sl_pg_harness_db(const char *name)
{
    const char *base = sl_pg_harness_url();
    if (!base) {
        return NULL;
    }
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg harness: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    char sql[256];
    const char *steps[2] = {"DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", "CREATE DATABASE \"%s\""};
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql, steps[i], name);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "pg harness: %s: %s", sql, PQerrorMessage(c));
            PQclear(r);
            PQfinish(c);
            return NULL;
        }
        PQclear(r);
    }
    PQfinish(c);
    db_url_t *u = calloc(1, sizeof *u);
    if (!u) {
        return NULL;
    }
    const char *slash = strrchr(base, '/');
    snprintf(u->url, sizeof u->url, "%.*s/%s", (int)(slash - base), base, name);
    u->next = urls;
    urls = u;
    return u->url;
}
