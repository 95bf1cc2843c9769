/* Cancellation tokens (see include/sluice/cancel.h).
 *
 * A token's state is two atomics, read without locks by sl_cancel_check.
 * Sleepers share one mutex and one condition variable on CLOCK_MONOTONIC:
 * a request sets its atomic, then broadcasts under the mutex, and a
 * sleeper re-checks its chain under that mutex before each wait, so a
 * request can never slip in between a sleeper's check and its wait. Cancels
 * are rare, so waking every sleeper for each one costs nothing that shows. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "sluice/cancel.h"
#include "sluice/timeutil.h"

static pthread_mutex_t sleep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cv;
static pthread_once_t sleep_once = PTHREAD_ONCE_INIT;

/* The condvar must time out on the monotonic clock, which needs an
 * attribute (no static initializer can say so). */
static void sleep_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sleep_cv, &attr);
    pthread_condattr_destroy(&attr);
}

static void wake_sleepers(void)
{
    pthread_once(&sleep_once, sleep_init);
    pthread_mutex_lock(&sleep_mu);
    pthread_cond_broadcast(&sleep_cv);
    pthread_mutex_unlock(&sleep_mu);
}

void sl_cancel_init(sl_cancel_t *c, const sl_cancel_t *parent)
{
    c->parent = parent;
    atomic_init(&c->reason, 0);
    atomic_init(&c->deadline_us, 0);
}

void sl_cancel_request(sl_cancel_t *c, int reason)
{
    if (reason != SL_ETIMEOUT) {
        reason = SL_ECANCELLED;
    }
    int none = 0;
    atomic_compare_exchange_strong(&c->reason, &none, reason);
    wake_sleepers();
}

void sl_cancel_set_deadline(sl_cancel_t *c, int64_t mono_us)
{
    atomic_store(&c->deadline_us, mono_us > 0 ? mono_us : 0);
    wake_sleepers();
}

/* The chain's explicit reason (0 if none), and its earliest deadline in
 * *deadline (0 if none). */
static int chain_state(const sl_cancel_t *c, int64_t *deadline)
{
    int64_t first = 0;
    for (; c; c = c->parent) {
        int r = atomic_load_explicit(&c->reason, memory_order_acquire);
        if (r) {
            return r;
        }
        int64_t d = atomic_load_explicit(&c->deadline_us, memory_order_relaxed);
        if (d > 0 && (first == 0 || d < first)) {
            first = d;
        }
    }
    *deadline = first;
    return 0;
}

int sl_cancel_check(const sl_cancel_t *c)
{
    int64_t deadline = 0;
    int r = chain_state(c, &deadline);
    if (r) {
        return r;
    }
    return deadline > 0 && sl_mono_us() >= deadline ? SL_ETIMEOUT : 0;
}

/* Sleeps without a token: nothing can end it early. */
static int plain_sleep(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

int sl_cancel_sleep(const sl_cancel_t *c, int64_t us)
{
    if (us <= 0 || !c) {
        return us > 0 ? plain_sleep(us) : sl_cancel_check(c);
    }
    int64_t now = sl_mono_us();
    int64_t end = us > INT64_MAX - now ? INT64_MAX : now + us;
    pthread_once(&sleep_once, sleep_init);
    pthread_mutex_lock(&sleep_mu);
    int rc = 0;
    for (;;) {
        int64_t deadline = 0;
        rc = chain_state(c, &deadline);
        now = sl_mono_us();
        if (!rc && deadline > 0 && now >= deadline) {
            rc = SL_ETIMEOUT;
        }
        if (rc || now >= end) {
            break;
        }
        /* Wake at the end of the sleep or at the deadline, whichever
         * comes first; a request or a new deadline wakes us earlier. */
        int64_t wake = deadline > 0 && deadline < end ? deadline : end;
        struct timespec at = {(time_t)(wake / 1000000), (long)(wake % 1000000) * 1000L};
        pthread_cond_timedwait(&sleep_cv, &sleep_mu, &at);
    }
    pthread_mutex_unlock(&sleep_mu);
    return rc;
}
