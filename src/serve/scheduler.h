/* The scheduler of `sluice serve` (scheduler.c): queues a run of each
 * pipeline with a `schedule:` at its fire times. */
#ifndef SLUICE_SERVE_SCHEDULER_H
#define SLUICE_SERVE_SCHEDULER_H

#include "sluice/config.h"
#include "worker.h"

typedef struct sl_scheduler sl_scheduler_t;

/* Starts the scheduler thread for the pipelines that have a schedule (none:
 * *out NULL, nothing runs). The clock is the system's, or, when the
 * environment has SLUICE_CLOCK=ISO-8601 (for tests), one that starts there
 * and runs at the system's pace, or SLUICE_CLOCK_RATE times as fast. */
int sl_scheduler_start(const char *state_url, const sl_pipeline_t *const *pipelines, size_t n,
                       sl_worker_t *worker, sl_scheduler_t **out, sl_err_t *err);
void sl_scheduler_stop(sl_scheduler_t *s);

#endif
