/* The run worker of `sluice serve` (worker.c): runs queued runs in child
 * processes. */
#ifndef SLUICE_SERVE_WORKER_H
#define SLUICE_SERVE_WORKER_H

#include "sluice/state.h"

typedef struct sl_worker sl_worker_t;

/* Starts the worker on the state store at state_url: at most max_runs
 * runs at once; a stopped or cancelled run's process gets grace_s seconds
 * between SIGTERM and SIGKILL. With resume_interrupted, the runs a
 * server's stop interrupted are resumed first. */
int sl_worker_start(const char *state_url, int max_runs, int grace_s, bool resume_interrupted,
                    sl_worker_t **out, sl_err_t *err);
/* A run was queued: look now rather than at the next tick. */
void sl_worker_wake(sl_worker_t *w);
/* Stops the run's process (SIGTERM, SIGKILL after the grace); its run ends
 * cancelled. SL_ENOTFOUND when no process of this worker runs it. */
int sl_worker_cancel(sl_worker_t *w, const char *run_id);
/* Resumes an ended run (`sluice runs resume ID` in a child process);
 * SL_EAGAIN when a process of this worker already runs it. */
int sl_worker_resume(sl_worker_t *w, const char *run_id, const char *pipeline);
/* How many runs its processes run now. */
int sl_worker_running(sl_worker_t *w);
/* Stops the running runs (SIGTERM, then SIGKILL after the grace), waits for
 * them, frees w: they end interrupted, for the next start to resume. Queued
 * runs stay queued. */
void sl_worker_stop(sl_worker_t *w);

#endif
