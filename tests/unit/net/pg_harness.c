/* Runs tests/harness/pg_server.sh for the unit tests; see pg_harness.h. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child_harness.h"
#include "pg_harness.h"

#define SCRIPT "tests/harness/pg_server.sh"

static sl_child_t server = {.pid = -1};
static char base_url[256];
static bool failed;

typedef struct db_url {
    struct db_url *next;
    char url[300];
} db_url_t;
static db_url_t *urls;

static void stop_server(void)
{
    /* the script stops postgres and cleans up once its stdin closes; no
     * signal, or postgres would outlive it */
    sl_child_stop(&server, 0, -1);
    while (urls) {
        db_url_t *n = urls->next;
        free(urls);
        urls = n;
    }
}

static int start_server(void)
{
    char script[1024];
    sl_child_repo_path(SCRIPT, script, sizeof script);
    char *argv[] = {"sh", script, NULL};
    atexit(stop_server);
    return sl_child_start(&server, argv, 60, base_url, sizeof base_url, "pg harness");
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
