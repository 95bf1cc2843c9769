/* The engine: runs a loaded pipeline's steps and records the run.
 *
 * A flow step streams batches source -> transforms -> sink. After the sink
 * acknowledged a batch, its checkpoint is stored (with the batch itself
 * when the sink is transactional) and the source records its progress, so
 * a run killed at any moment and started again neither loses nor
 * duplicates records. */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

#include "sluice/config.h"
#include "sluice/retry.h"
#include "sluice/state.h"
#include "sluice/status.h"

typedef struct {
    const char *state_url;  /* default ".sluice/state.db" */
    bool full_refresh;      /* ignore checkpoints and ingested files */
    bool progress;          /* progress line on stderr */
    int threads;            /* 1: one thread; 0 = auto (two stages when the machine has
                               more than one core) */
    /* A token above the run's own (a calling step's): cancelling it, or its
     * deadline, stops the run as its own timeout would. NULL: none. */
    const struct sl_cancel *cancel;
} sl_engine_opts_t;

typedef struct sl_step_result {
    const char *name;
    sl_status_t status;     /* ok, failed, partial, skipped */
    int64_t records_in, records_out, rejected, bytes_in;
    int64_t started_us, ended_us;
    char error[SL_ERRMSG_MAX];
    char *output_json;      /* the step's output object as JSON, malloc'd, or NULL */
    int attempts;           /* tries made (retry:), 1 without retries */
    sl_error_class_t error_class; /* of the failure, SL_ECLASS_NONE if none */
} sl_step_result_t;

typedef struct {
    char run_id[37];
    sl_status_t status;     /* ok, failed, partial */
    int exit_code;          /* SL_EXIT_* */
    int64_t started_us, ended_us;
    sl_step_result_t *steps; /* nsteps entries, malloc'd */
    size_t nsteps;
} sl_run_result_t;

/* What one run is asked to do: which pipeline, with which params, started
 * by whom. The definition is shared and never changed by a run, so a
 * service holds one and starts many runs of it. */
typedef struct {
    const sl_pipeline_t *pipeline;
    const char *const *param_args; /* "NAME=VALUE" texts (-p, a request), applied in order */
    size_t nparam_args;
    const char *trigger;           /* who asked: "cli" (when NULL), "api", "schedule", "call" */
    const char *parent_run_id;     /* the run whose step started this one, or NULL */
    /* A run that ended (failed, partial, interrupted...) to resume under its
     * own id, as Step Functions' redrive does: its steps that succeeded are
     * not run again (their outputs come back from the run history), its map
     * items that succeeded stay, and the rest runs. NULL: a new run. */
    const char *resume_run_id;
    /* The id a new run gets, when the caller chose it (a call step that
     * does not wait hands it out before the run starts); NULL: a new one. */
    const char *run_id;
} sl_run_request_t;

/* A run in progress, between sl_run_begin and sl_run_end. */
typedef struct sl_engine_run sl_engine_run_t;

/* Starts a run: resolves the request's params (SL_ECONFIG, err naming the
 * param, when they do not fit the declarations), opens the state store,
 * takes the pipeline's run lock and records the run as running. Returns 0
 * with *out, or an error with err set and nothing recorded. A resume of a
 * run that is unknown, of another pipeline or that succeeded is
 * SL_EINVAL (SL_ENOTFOUND for an unknown one) with err saying so. */
int sl_run_begin(const sl_run_request_t *req, const sl_engine_opts_t *opts,
                 sl_engine_run_t **out, sl_err_t *err);
/* Runs the steps in order; a failed step stops the ones after it unless
 * it may fail (on_failure: continue). Outcomes are in the run. */
void sl_run_steps(sl_engine_run_t *r);
/* Ends the run: exports checkpoints, records the outcome, fills res (free
 * with sl_run_result_free) and frees r. */
void sl_run_end(sl_engine_run_t *r, sl_run_result_t *res);

/* sl_run_begin, sl_run_steps and sl_run_end in one call. Returns 0 when
 * the run happened (its outcome is in res->exit_code) or the error of
 * sl_run_begin. */
int sl_engine_run(const sl_run_request_t *req, const sl_engine_opts_t *opts, sl_run_result_t *res,
                  sl_err_t *err);
void sl_run_result_free(sl_run_result_t *res);

/* The params of a run's history (its params_json) as NAME=VALUE args in
 * a: a value masked there (its default came from a secret) is left out,
 * so a new attempt reads it from its secret again. SL_EPARSE when the
 * text is not a JSON object. */
int sl_run_params_args(sl_arena_t *a, const char *params_json, const char ***args, size_t *n);

/* Queues a run of p for a worker (sluice serve): checks args against the
 * declared params (SL_ECONFIG, err naming the param) and records the run
 * as pending, with its params (secrets masked), trigger and where its
 * definition is. run_id gets its id. */
int sl_run_enqueue(sl_state_t *st, const sl_pipeline_t *p, const char *const *args, size_t nargs,
                   const char *trigger, const char *parent_run_id, char run_id[37],
                   sl_err_t *err);

/* The `run` object templates see: id, started_at, pipeline. */
int sl_run_value(sl_arena_t *a, const char *id, int64_t started, const char *pipeline,
                 sl_value_t *out);
/* Sets steps[name] = {status, output} (arena a), creating steps. */
int sl_steps_record(sl_arena_t *a, sl_value_t *steps, const char *name, sl_status_t status,
                    const sl_value_t *output);

/* Checks what the config schema cannot: opens and closes every transform
 * (templates, expressions, cast types) without running anything, against
 * the params that args give (params nobody gave are null here). Returns 0
 * or SL_ECONFIG with err naming file:line:col. */
int sl_engine_check(const sl_pipeline_t *p, const char *const *args, size_t nargs, sl_err_t *err);

/* Makes one step of a pipeline start from the beginning at its next run:
 * forgets its ingested files and leaves a reset marker as its checkpoint,
 * numbered past any checkpoint a transactional sink kept. The pipeline's
 * other steps keep their progress. */
int sl_engine_reset_step(sl_state_t *st, const char *pipeline, const char *step, sl_err_t *err);

/* Prints the end-of-run summary table to f. */
void sl_run_result_print(const sl_run_result_t *res, const sl_pipeline_t *p, void *f);
/* The same summary as one JSON line (for --log-format json). */
void sl_run_result_json(const sl_run_result_t *res, const sl_pipeline_t *p, void *f);

#endif
