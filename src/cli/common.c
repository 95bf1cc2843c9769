/* What the commands share: usage errors, the state store, running. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "cli.h"
#include "sluice/cancel.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

int sl_cli_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run 'sluice help' for usage)\n");
    return SL_EXIT_USAGE;
}

int sl_cli_open_state(const sl_cli_t *c, sl_state_t **st)
{
    sl_err_t err = {0};
    if (sl_state_open(c->state ? c->state : SL_CLI_DEFAULT_STATE, st, &err) != 0) {
        fprintf(stderr, "sluice: %s\n", err.msg);
        return SL_EXIT_FAILED;
    }
    return 0;
}

/* SIGTERM or SIGINT: the run stops at its next batch, its checkpoints
 * kept (status cancelled); a second one ends the process at once. */
static void *on_signals(void *arg)
{
    sl_cancel_t *token = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
        sl_warn("%s: stopping at the next batch (again to stop at once)",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        sl_cancel_request(token, SL_ECANCELLED);
    }
    if (sigwait(&set, &sig) == 0) {
        _exit(128 + sig);
    }
    return NULL;
}

int sl_cli_run(const sl_cli_t *c, const sl_run_request_t *req)
{
    static sl_cancel_t token; /* lives as long as the signal thread */
    sl_cancel_init(&token, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_t th;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
        pthread_create(&th, NULL, on_signals, &token) == 0) {
        pthread_detach(th);
    }
    sl_engine_opts_t opts = {
        .state_url = c->state,
        .full_refresh = c->full_refresh,
        .progress = c->progress,
        .threads = c->threads,
        .cancel = &token};
    sl_run_result_t res;
    sl_err_t err = {0};
    int rc = sl_engine_run(req, &opts, &res, &err);
    if (rc) {
        sl_log_redact(err.msg);
        /* params that do not fit are a usage error, like a bad file */
        fprintf(stderr, rc == SL_ECONFIG ? "%s\n" : "sluice: %s\n", err.msg);
        return rc == SL_ECONFIG || rc == SL_EINVAL || rc == SL_ENOTFOUND ? SL_EXIT_USAGE
                                                                          : SL_EXIT_FAILED;
    }
    if (c->json_logs) {
        sl_run_result_json(&res, req->pipeline, stderr);
    } else {
        sl_run_result_print(&res, req->pipeline, stderr);
    }
    int code = res.exit_code;
    sl_run_result_free(&res);
    return code;
}

void sl_cli_fmt_time(int64_t us, char *out)
{
    if (us <= 0) {
        strcpy(out, "-");
        return;
    }
    sl_timestamp_format(us - us % 1000000, out);
}

