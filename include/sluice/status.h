/* Statuses of runs, steps and (later) map items: one enum for all, with
 * the names the CLI, the run history and the API show. */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

typedef enum {
    SL_STATUS_PENDING = 0, /* created, not started */
    SL_STATUS_RUNNING,
    SL_STATUS_OK,          /* succeeded */
    SL_STATUS_PARTIAL,     /* succeeded with tolerated failures (rejects, steps allowed to fail) */
    SL_STATUS_FAILED,
    SL_STATUS_SKIPPED,     /* not run: an earlier step failed, or its condition was false */
    SL_STATUS_CANCELLED,
    SL_STATUS_TIMED_OUT,
    SL_STATUS_INTERRUPTED, /* its process died (killed, crashed) while it ran */
} sl_status_t;

#define SL_STATUS_COUNT (SL_STATUS_INTERRUPTED + 1)

/* "pending", "running", "ok", "partial", "failed", "skipped", "cancelled",
 * "timed_out", "interrupted"; never NULL. */
const char *sl_status_name(sl_status_t s);
/* The status named s; returns 0 or SL_EINVAL. */
int sl_status_parse(const char *s, sl_status_t *out);
/* Whether a unit in status s is finished (will not change by itself). */
static inline int sl_status_final(sl_status_t s)
{
    return s != SL_STATUS_PENDING && s != SL_STATUS_RUNNING;
}

#endif
