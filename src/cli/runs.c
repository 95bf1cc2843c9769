/* `sluice runs`: the run history (list, show) and `runs resume`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sluice/buf.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

static int print_run(void *ud, const sl_run_t *r)
{
    bool detail = ud != NULL;
    char started[40];
    sl_cli_fmt_time(r->started_us, started);
    double secs = r->ended_us > 0 ? (double)(r->ended_us - r->started_us) / 1e6 : 0;
    if (detail) {
        printf("run:      %s\npipeline: %s\nstatus:   %s\nstarted:  %s\nduration: %.2fs\n"
               "params:   %s\n",
               r->id, r->pipeline, sl_status_name(r->status), started, secs,
               r->params_json ? r->params_json : "{}");
        if (r->trigger && strcmp(r->trigger, "cli") != 0) {
            printf("trigger:  %s\n", r->trigger);
        }
        if (r->parent_run_id) {
            printf("parent:   %s\n", r->parent_run_id);
        }
        if (r->redrive_count > 0) {
            printf("redrives: %d\n", (int)r->redrive_count);
        }
        if (r->error) {
            printf("error:    %s\n", r->error);
        }
        printf("steps:\n  %-20s %-8s %12s %12s %10s %9s\n", "step", "status", "in", "out",
               "rejected", "seconds");
    } else {
        printf("%-36s  %-20s  %-8s  %-20s  %8.2fs  %.8s\n", r->id, r->pipeline,
               sl_status_name(r->status), started, secs,
               r->parent_run_id ? r->parent_run_id : "-");
    }
    return 0;
}

static int print_child(void *ud, const sl_run_t *r)
{
    int *n = ud;
    if ((*n)++ == 0) {
        printf("children:\n");
    }
    printf("  %-36s  %-20s  %s\n", r->id, r->pipeline, sl_status_name(r->status));
    return 0;
}

/* The steps `runs show` printed, for their items after them. */
typedef struct {
    char run_id[37];
    char *names[256];
    size_t n;
} shown_steps_t;

static int print_step(void *ud, const sl_step_run_t *s)
{
    shown_steps_t *shown = ud;
    if (shown->n < SL_ARRAY_LEN(shown->names)) {
        shown->names[shown->n++] = strdup(s->step);
    }
    double secs = s->ended_us > s->started_us ? (double)(s->ended_us - s->started_us) / 1e6 : 0;
    printf("  %-20s %-8s %12lld %12lld %10lld %9.2f\n", s->step, sl_status_name(s->status),
           (long long)s->records_in, (long long)s->records_out, (long long)s->rejected, secs);
    if (s->attempts > 1) {
        printf("    attempts: %d\n", s->attempts);
    }
    if (s->error) {
        printf("    error: %s%s%s\n", s->error_class ? s->error_class : "",
               s->error_class ? ": " : "", s->error);
    }
    if (s->output_json && strcmp(s->output_json, "{}") != 0) {
        printf("    output: %s\n", s->output_json);
    }
    return 0;
}

static int print_item(void *ud, const sl_item_t *it)
{
    (void)ud;
    double secs = it->ended_us > it->started_us ? (double)(it->ended_us - it->started_us) / 1e6
                                                : 0;
    printf("    %-6lld %-24.200s %-10s %8d %9.2f", (long long)it->idx, it->value_json,
           sl_status_name(it->status), it->attempts, secs);
    if (it->error) {
        printf("  %s: %s", it->error_class ? it->error_class : "?", it->error);
    }
    putchar('\n');
    return 0;
}

/* Each map step's items, after the steps: status, attempts, duration and
 * last error of every one. */
static int print_items(sl_state_t *st, const char *run_id, const shown_steps_t *shown)
{
    for (size_t i = 0; i < shown->n; i++) {
        int64_t counts[SL_STATUS_COUNT];
        if (!shown->names[i] || sl_state_items_counts(st, run_id, shown->names[i], counts)) {
            continue;
        }
        int64_t total = 0;
        for (int k = 0; k < SL_STATUS_COUNT; k++) {
            total += counts[k];
        }
        if (total == 0) {
            continue;
        }
        printf("items of %s: %lld (", shown->names[i], (long long)total);
        bool first = true;
        for (int k = 0; k < SL_STATUS_COUNT; k++) {
            if (counts[k]) {
                printf("%s%lld %s", first ? "" : ", ", (long long)counts[k],
                       sl_status_name((sl_status_t)k));
                first = false;
            }
        }
        printf(")\n    %-6s %-24s %-10s %8s %9s  %s\n", "idx", "item", "status", "attempts",
               "seconds", "error");
        int rc = sl_state_items_list(st, run_id, shown->names[i], NULL, print_item, NULL);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static int show_run(void *ud, const sl_run_t *r)
{
    shown_steps_t *shown = ud;
    snprintf(shown->run_id, sizeof shown->run_id, "%s", r->id);
    return print_run((void *)1, r);
}

/* ---- runs resume ---- */

typedef struct {
    char id[37];
    char *pipeline, *params_json, *definition;
    bool found;
} run_info_t;

static int keep_run(void *ud, const sl_run_t *r)
{
    run_info_t *info = ud;
    snprintf(info->id, sizeof info->id, "%s", r->id);
    info->pipeline = strdup(r->pipeline);
    info->params_json = strdup(r->params_json ? r->params_json : "{}");
    info->definition = r->definition ? strdup(r->definition) : NULL;
    info->found = true;
    return info->pipeline && info->params_json ? 0 : SL_ENOMEM;
}

static int no_steps(void *ud, const sl_step_run_t *s)
{
    (void)ud;
    (void)s;
    return 0;
}

/* The run's params from its history, then the command line's -p. */
static int resume_args(sl_arena_t *a, const char *params_json, const sl_cli_t *c,
                       const char ***args, size_t *n)
{
    const char **hist = NULL;
    size_t nh = 0;
    int rc = sl_run_params_args(a, params_json, &hist, &nh);
    *args = rc ? NULL : sl_arena_calloc(a, (nh + c->nparams + 1) * sizeof **args);
    if (rc || !*args) {
        return rc ? rc : SL_ENOMEM;
    }
    memcpy(*args, hist, nh * sizeof *hist);
    for (size_t i = 0; i < c->nparams; i++) {
        (*args)[nh + i] = c->params[i];
    }
    *n = nh + c->nparams;
    return 0;
}

/* sluice runs resume ID [PIPELINE.yaml]: runs the failed and unfinished
 * parts of a run again, under its id, with its params. */
static int resume(const sl_cli_t *c, sl_state_t *st)
{
    if (c->nargs < 2) {
        sl_state_close(st);
        return sl_cli_usage_error("%s", "runs resume needs a run id");
    }
    run_info_t info = {.found = false};
    int rc = sl_state_run_show(st, c->args[1], keep_run, no_steps, &info);
    if (rc) {
        fprintf(stderr, "sluice: %s\n", rc == SL_ENOMEM ? "out of memory" : sl_state_errmsg(st));
    }
    sl_state_close(st); /* the run opens the store again, under the pipeline's lock */
    const char *file = c->nargs >= 3 ? c->args[2] : info.definition;
    sl_arena_t *a = sl_arena_create(64 * 1024, 0);
    sl_pipeline_t *p = NULL;
    const char **args = NULL;
    size_t nargs = 0;
    sl_err_t err = {0};
    if (rc) {
        rc = rc == SL_ENOTFOUND || rc == SL_EINVAL ? SL_EXIT_USAGE : SL_EXIT_FAILED;
    } else if (!file) {
        fprintf(stderr, "sluice: run %s does not record its pipeline file; give it: sluice runs "
                        "resume %s PIPELINE.yaml\n", info.id, info.id);
        rc = SL_EXIT_USAGE;
    } else if (!a || sl_pipeline_load(a, file, &p, &err) != 0) {
        sl_log_redact(err.msg);
        fprintf(stderr, "%s\n", a ? err.msg : "sluice: out of memory");
        rc = SL_EXIT_USAGE;
    } else if (strcmp(p->name, info.pipeline) != 0) {
        fprintf(stderr, "sluice: run %s is a run of pipeline '%s', but %s holds '%s'\n",
                info.id, info.pipeline, file, p->name);
        rc = SL_EXIT_USAGE;
    } else if (resume_args(a, info.params_json, c, &args, &nargs) != 0) {
        fprintf(stderr, "sluice: run %s: its params in the history are not a JSON object\n",
                info.id);
        rc = SL_EXIT_FAILED;
    } else {
        sl_run_request_t req = {.pipeline = p,
                                .param_args = args,
                                .nparam_args = nargs,
                                .trigger = "cli",
                                .resume_run_id = info.id};
        rc = sl_cli_run(c, &req);
    }
    sl_arena_destroy(a);
    free(info.pipeline);
    free(info.params_json);
    free(info.definition);
    return rc;
}

int sl_cli_runs(const sl_cli_t *c)
{
    sl_state_t *st;
    int rc = sl_cli_open_state(c, &st);
    if (rc) {
        return rc;
    }
    if (c->nargs >= 1 && strcmp(c->args[0], "show") == 0) {
        if (c->nargs < 2) {
            sl_state_close(st);
            return sl_cli_usage_error("%s", "runs show needs a run id");
        }
        shown_steps_t shown = {.n = 0};
        rc = sl_state_run_show(st, c->args[1], show_run, print_step, &shown);
        if (rc == 0) {
            rc = print_items(st, shown.run_id, &shown);
        }
        int nchildren = 0;
        sl_runs_filter_t kids = {.parent_run_id = shown.run_id};
        if (rc == 0) {
            rc = sl_state_runs_query(st, &kids, print_child, &nchildren);
        }
        for (size_t i = 0; i < shown.n; i++) {
            free(shown.names[i]);
        }
        if (rc) {
            fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
            rc = rc == SL_ENOTFOUND ? SL_EXIT_USAGE : SL_EXIT_FAILED;
        }
    } else if (c->nargs >= 1 && strcmp(c->args[0], "resume") == 0) {
        return resume(c, st);
    } else if (c->nargs == 0) {
        printf("%-36s  %-20s  %-8s  %-20s  %9s  %s\n", "run", "pipeline", "status", "started",
               "duration", "parent");
        rc = sl_state_runs_list(st, c->pipeline_filter, c->limit, print_run, NULL);
        if (rc) {
            fprintf(stderr, "sluice: %s\n", sl_state_errmsg(st));
            rc = SL_EXIT_FAILED;
        }
    } else {
        rc = sl_cli_usage_error("unknown runs subcommand '%s' (show, resume)", c->args[0]);
    }
    sl_state_close(st);
    return rc;
}

