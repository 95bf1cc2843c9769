/* Cancellation tokens: one way for a run, a step or a map item to be told
 * to stop, and for a sleep to end early when it is.
 *
 * Tokens form a chain: a map item's token is a child of its step's, which
 * is a child of the run's; cancelling a token (or passing its deadline)
 * cancels every descendant. A parent must outlive its children. A NULL
 * token is never cancelled, so code without a token at hand passes NULL.
 *
 * Requests and deadlines may come from any thread (atomics); sleepers wait
 * on one process-wide condition variable that every request broadcasts
 * on, so a cancel wakes them at once, without polling. */
#ifndef SLUICE_CANCEL_H
#define SLUICE_CANCEL_H

#include <stdatomic.h>

#include "sluice/common.h"

typedef struct sl_cancel {
    const struct sl_cancel *parent; /* NULL for a root */
    _Atomic int reason;             /* 0, SL_ECANCELLED or SL_ETIMEOUT */
    _Atomic int64_t deadline_us;    /* CLOCK_MONOTONIC (sl_mono_us); 0 = none */
} sl_cancel_t;

/* Makes c a live token without a deadline, child of parent (may be NULL).
 * Borrows parent: it must outlive c. A zeroed sl_cancel_t is a live root
 * too. */
void sl_cancel_init(sl_cancel_t *c, const sl_cancel_t *parent);

/* Cancels c and so its descendants, with reason SL_ECANCELLED or
 * SL_ETIMEOUT (anything else counts as SL_ECANCELLED). The first reason
 * sticks. Thread-safe; wakes every sl_cancel_sleep. */
void sl_cancel_request(sl_cancel_t *c, int reason);

/* Sets c's deadline (CLOCK_MONOTONIC microseconds, as sl_mono_us(); 0
 * removes it). Once it has passed, c and its descendants read as
 * SL_ETIMEOUT. Thread-safe; wakes sleepers so they wait for the new time. */
void sl_cancel_set_deadline(sl_cancel_t *c, int64_t mono_us);

/* 0 while c and all its ancestors are live; else the reason of the nearest
 * cancelled one, or SL_ETIMEOUT when one is past its deadline. c NULL: 0.
 * A few atomic loads (and one clock read when a deadline is set): cheap
 * enough to call per batch. */
int sl_cancel_check(const sl_cancel_t *c);

/* Sleeps up to us microseconds. Returns 0 when the time passed, or at once
 * the reason sl_cancel_check would give when c (or an ancestor) is
 * cancelled or reaches its deadline, including before the sleep starts.
 * A deadline inside the sleep ends it at that deadline. us <= 0 only
 * checks. */
int sl_cancel_sleep(const sl_cancel_t *c, int64_t us);

#endif
