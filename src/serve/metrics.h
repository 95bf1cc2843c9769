/* The counters and histograms of /metrics (metrics.c). Thread-safe. */
#ifndef SLUICE_SERVE_METRICS_H
#define SLUICE_SERVE_METRICS_H

#include "sluice/buf.h"

/* One answered request: route is the route's pattern ("/api/v1/runs/{id}"). */
void sl_metrics_http(const char *route, int status, double seconds);
/* A run the worker ran ended with status. */
void sl_metrics_run(const char *pipeline, const char *status);
/* One of its steps. */
void sl_metrics_step(const char *pipeline, const char *step, double seconds, int64_t in,
                     int64_t out, int64_t rejected);
/* One of a map step's items (of a run the worker ran). */
void sl_metrics_item(const char *pipeline, const char *step, const char *status,
                     double seconds);
/* How late the scheduler's last tick was queued, in seconds. */
void sl_metrics_scheduler_lag(double seconds);
/* The whole exposition, Prometheus text format 0.0.4. */
void sl_metrics_write(sl_buf_t *b, int64_t queued, int64_t running);

#endif
