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
#include "sluice/state.h"

typedef struct {
    const char *state_url;  /* default ".sluice/state.db" */
    bool full_refresh;      /* ignore checkpoints and ingested files */
    bool progress;          /* progress line on stderr */
    int threads;            /* 1: one thread; 0 = auto (two stages when the machine has
                               more than one core) */
} sl_engine_opts_t;

typedef struct {
    const char *name;
    const char *status;     /* ok, failed, partial, skipped */
    int64_t records_in, records_out, rejected, bytes_in;
    int64_t started_us, ended_us;
    char error[SL_ERRMSG_MAX];
} sl_step_result_t;

typedef struct {
    char run_id[37];
    const char *status;     /* ok, failed, partial */
    int exit_code;          /* SL_EXIT_* */
    int64_t started_us, ended_us;
    sl_step_result_t *steps; /* nsteps entries, malloc'd */
    size_t nsteps;
} sl_run_result_t;

/* Runs every step of p in order; stops at the first failed step. Fills
 * res (free with sl_run_result_free). Returns 0 when the run happened (its
 * outcome is in res->exit_code) or an error when it could not start (state
 * store unavailable), with err set. */
int sl_engine_run(const sl_pipeline_t *p, const sl_engine_opts_t *opts, sl_run_result_t *res,
                  sl_err_t *err);
void sl_run_result_free(sl_run_result_t *res);

/* Checks what the config schema cannot: opens and closes every transform
 * (templates, expressions, cast types) without running anything. Returns
 * 0 or SL_ECONFIG with err naming file:line:col. */
int sl_engine_check(const sl_pipeline_t *p, sl_err_t *err);

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
