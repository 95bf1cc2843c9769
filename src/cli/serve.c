/* `sluice serve`: loads pipelines and serves the HTTP API until SIGTERM or
 * SIGINT (src/serve/). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../serve/server.h"
#include "cli.h"
#include "sluice/log.h"

int sl_cli_serve(const sl_cli_t *c)
{
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    const sl_pipeline_t **ps = calloc(c->nargs ? c->nargs : 1, sizeof *ps);
    int rc = a && ps ? 0 : SL_EXIT_FAILED;
    for (size_t i = 0; rc == 0 && i < c->nargs; i++) {
        sl_err_t err = {0};
        sl_pipeline_t *p = NULL;
        if (sl_pipeline_load(a, c->args[i], &p, &err) != 0) {
            sl_log_redact(err.msg);
            fprintf(stderr, "%s\n", err.msg);
            rc = SL_EXIT_USAGE;
        }
        ps[i] = p;
        for (size_t k = 0; rc == 0 && k < i; k++) {
            if (strcmp(ps[k]->name, p->name) == 0) {
                fprintf(stderr, "sluice: %s and %s both hold pipeline '%s'\n", c->args[k],
                        c->args[i], p->name);
                rc = SL_EXIT_USAGE;
            }
        }
    }
    /* the signals are waited for here; the server's threads never get them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    sl_server_t *s = NULL;
    unsigned port = 0;
    if (rc == 0) {
        sl_server_opts_t o = {.listen = c->listen, .state_url = c->state,
                              .max_runs = c->max_runs, .no_resume = c->no_resume,
                              .conn_timeout_s = (unsigned)c->idle_timeout};
        sl_err_t err = {0};
        if (sl_server_start(&o, ps, c->nargs, &s, &port, &err) != 0) {
            fprintf(stderr, "sluice: %s\n", err.msg);
            rc = err.code == SL_ECONFIG ? SL_EXIT_USAGE : SL_EXIT_FAILED;
        }
    }
    if (rc == 0) {
        const char *listen = c->listen ? c->listen : "127.0.0.1:8080";
        const char *colon = strrchr(listen, ':');
        printf("sluice serve: listening on http://%.*s:%u (%zu pipeline%s)\n",
               (int)(colon - listen), listen, port, c->nargs, c->nargs == 1 ? "" : "s");
        for (size_t i = 0; i < c->nargs; i++) {
            printf("  pipeline %s (%s)\n", ps[i]->name, c->args[i]);
        }
        printf("  GET /healthz, /readyz, /api/v1/pipelines, /api/v1/runs, /api/v1/runs/{id}\n");
        fflush(stdout);
        int sig = 0;
        sigwait(&stop, &sig);
        sl_info("sluice serve: %s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        sl_server_stop(s);
    }
    free(ps);
    sl_arena_destroy(a);
    return rc;
}
