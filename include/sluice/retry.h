/* Retries: error classes, retry policies and backoff delays, shared by every
 * plugin and step that retries (one module, as Fluent Bit has one
 * backoff_full_jitter).
 *
 * A caller sorts each failure into a class, asks sl_retry_should whether
 * its policy retries that class after so many attempts, and sleeps
 * sl_retry_delay_us with sl_cancel_sleep so a cancel ends the wait. The
 * policy's fields and defaults follow Step Functions' Retry (and
 * Temporal's RetryPolicy): max attempts, interval, backoff rate, max delay,
 * full jitter, and the classes retried. */
#ifndef SLUICE_RETRY_H
#define SLUICE_RETRY_H

#include "sluice/common.h"
#include "sluice/config.h"

typedef enum {
    SL_ECLASS_NONE = 0,
    SL_ECLASS_TRANSIENT,    /* worth trying again: reset, deadlock, 5xx */
    SL_ECLASS_TIMEOUT,      /* no answer in time */
    SL_ECLASS_RATE_LIMITED, /* the other side asked us to slow down (429) */
    SL_ECLASS_DATA,         /* the input is bad; trying again will not help */
    SL_ECLASS_CONFIG,       /* the pipeline is wrong */
    SL_ECLASS_FATAL,        /* anything else: stop */
    SL_ECLASS_TOLERANCE_EXCEEDED, /* more items of a map or parallel failed than tolerated */
} sl_error_class_t;

#define SL_ECLASS_COUNT 8
/* The bit of class cls in sl_retry_policy_t.on. */
#define SL_RETRY_ON(cls) (1u << (unsigned)(cls))

/* "none", "transient", "timeout", "rate_limited", "data", "config",
 * "fatal", "tolerance_exceeded"; "?" for a value outside the enum. */
const char *sl_error_class_name(sl_error_class_t cls);
/* The class named name (one of the six above, "none" excluded). Returns 0
 * or SL_ENOTFOUND. */
int sl_error_class_parse(const char *name, sl_error_class_t *out);

/* The default class of an SL_E* code, for callers that know nothing more:
 *   SL_ERETRY, SL_EIO                          -> transient
 *   SL_ETIMEOUT                                -> timeout
 *   SL_ERATELIMITED                            -> rate_limited
 *   SL_EPARSE, SL_ETYPE, SL_EREJECTS, SL_ESINK -> data
 *   SL_ECONFIG, SL_EINVAL, SL_EUNSUPPORTED     -> config
 *   0                                          -> none
 *   anything else (SL_ENOMEM, SL_ESTATE, SL_ECANCELLED, SL_ENOTFOUND,
 *   SL_ELIMIT, SL_EOF, SL_EAGAIN, ...)         -> fatal
 * Callers that know better (an HTTP status, a SQLSTATE) classify
 * themselves. */
sl_error_class_t sl_error_class_of(int code);

typedef struct {
    int max_attempts;     /* attempts in all, the first included; >= 1 */
    int64_t interval_us;  /* ceiling of the first retry's delay */
    double backoff;       /* each further retry multiplies the ceiling */
    int64_t max_delay_us; /* longest delay, Retry-After included */
    bool jitter;          /* full jitter: uniform in [0, ceiling] */
    unsigned on;          /* SL_RETRY_ON(class) bits: the classes retried */
} sl_retry_policy_t;

/* 3 attempts, 1 s interval, backoff 2.0, max delay 60 s, full jitter, on
 * transient, timeout and rate_limited. */
sl_retry_policy_t sl_retry_policy_default(void);

/* Whether a failure of class cls after attempts_made attempts (1 after the
 * first) gets another attempt: cls is in p->on and attempts_made <
 * p->max_attempts. */
bool sl_retry_should(const sl_retry_policy_t *p, sl_error_class_t cls, int attempts_made);

/* The delay before retry number attempt (1 = the first retry), in
 * microseconds. The ceiling is min(max_delay, interval * backoff^(attempt
 * - 1)), without overflow for any attempt; with jitter the delay is uniform
 * in [0, ceiling], else the ceiling. A retry_after_us >= 0 (a server's
 * Retry-After; -1 for none) asks for at least that long, but never more
 * than max_delay. rng_state is the caller's generator state (seed it with
 * sl_retry_seed; NULL uses one per thread). */
int64_t sl_retry_delay_us(const sl_retry_policy_t *p, int attempt, int64_t retry_after_us,
                          uint64_t *rng_state);

/* A seed that differs between processes, instances and calls (time, pid,
 * the address of instance and a counter), so clients that fail together
 * do not retry in step. Tests set a state of their own instead. */
uint64_t sl_retry_seed(const void *instance);

/* ---- config (src/config/retry_policy.c) ---- */

/* The keys of a retry map, for schema checks and `sluice help`:
 * max_attempts, interval, backoff, max_delay, jitter, on. */
extern const sl_field_spec_t sl_retry_spec[];

/* Reads a retry map into *out: max_attempts (integer >= 1), interval and
 * max_delay (durations: "500ms", "2s", "5m", "1h", or a number of
 * seconds), backoff (number >= 1), jitter ("full" or "none"), on (a class
 * name or a list of them). Keys absent from map keep what *out holds, so
 * start from sl_retry_policy_default() or the caller's defaults; map NULL
 * changes nothing. Returns 0, or SL_ECONFIG with "file:line:col: ..." in
 * err (an unknown class names the known ones, with a did-you-mean). */
int sl_retry_policy_from_node(const sl_node_t *map, sl_retry_policy_t *out, sl_err_t *err);

#endif
