/* What the commands share: usage errors, the state store, running. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
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

int sl_cli_run(const sl_cli_t *c, const sl_run_request_t *req)
{
    sl_engine_opts_t opts = {
        .state_url = c->state,
        .full_refresh = c->full_refresh,
        .progress = c->progress,
        .threads = c->threads};
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

