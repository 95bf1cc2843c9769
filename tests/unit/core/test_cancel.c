/* Tests for src/core/cancel.c: chains of tokens, deadlines, and sleeps that
 * a cancel from another thread ends. No test measures time: a sleep that a
 * cancel fails to wake sleeps for an hour, and the runner's timeout fails
 * the test. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "../test.h"
#include "sluice/cancel.h"
#include "sluice/timeutil.h"

SL_TEST(cancel_chain)
{
    sl_cancel_t run, step, item, other;
    sl_cancel_init(&run, NULL);
    sl_cancel_init(&step, &run);
    sl_cancel_init(&item, &step);
    sl_cancel_init(&other, &run);
    CHECK_INT(sl_cancel_check(NULL), 0);
    CHECK_INT(sl_cancel_check(&item), 0);
    /* a child's cancel stays below it */
    sl_cancel_request(&item, SL_ECANCELLED);
    CHECK_INT(sl_cancel_check(&item), SL_ECANCELLED);
    CHECK_INT(sl_cancel_check(&step), 0);
    CHECK_INT(sl_cancel_check(&run), 0);
    /* a parent's reaches every descendant */
    sl_cancel_request(&step, SL_ETIMEOUT);
    CHECK_INT(sl_cancel_check(&step), SL_ETIMEOUT);
    CHECK_INT(sl_cancel_check(&item), SL_ECANCELLED); /* its own reason came first */
    CHECK_INT(sl_cancel_check(&other), 0);
    sl_cancel_request(&run, SL_ECANCELLED);
    CHECK_INT(sl_cancel_check(&other), SL_ECANCELLED);
    /* the first reason sticks; other values count as cancelled */
    sl_cancel_request(&step, SL_ECANCELLED);
    CHECK_INT(sl_cancel_check(&step), SL_ETIMEOUT);
    sl_cancel_t z = {0};
    CHECK_INT(sl_cancel_check(&z), 0);
    sl_cancel_request(&z, SL_EIO);
    CHECK_INT(sl_cancel_check(&z), SL_ECANCELLED);
}

SL_TEST(cancel_deadline)
{
    sl_cancel_t run, step;
    sl_cancel_init(&run, NULL);
    sl_cancel_init(&step, &run);
    int64_t now = sl_mono_us();
    sl_cancel_set_deadline(&step, now + 3600LL * 1000000);
    CHECK_INT(sl_cancel_check(&step), 0);
    sl_cancel_set_deadline(&run, now - 1);
    CHECK_INT(sl_cancel_check(&run), SL_ETIMEOUT);
    CHECK_INT(sl_cancel_check(&step), SL_ETIMEOUT); /* an ancestor's deadline */
    sl_cancel_set_deadline(&run, 0);                /* removed */
    CHECK_INT(sl_cancel_check(&step), 0);
    sl_cancel_set_deadline(&step, 1);
    CHECK_INT(sl_cancel_check(&step), SL_ETIMEOUT);
    CHECK_INT(sl_cancel_check(&run), 0);
    /* an explicit cancel wins over a passed deadline */
    sl_cancel_request(&step, SL_ECANCELLED);
    CHECK_INT(sl_cancel_check(&step), SL_ECANCELLED);
}

SL_TEST(cancel_sleep_returns_at_once_when_done)
{
    sl_cancel_t c, child;
    sl_cancel_init(&c, NULL);
    sl_cancel_init(&child, &c);
    CHECK_INT(sl_cancel_sleep(NULL, 1), 0);
    CHECK_INT(sl_cancel_sleep(&child, 0), 0);
    CHECK_INT(sl_cancel_sleep(&child, 1000), 0); /* the time passes */
    sl_cancel_set_deadline(&c, sl_mono_us() - 1);
    CHECK_INT(sl_cancel_sleep(&child, 3600LL * 1000000), SL_ETIMEOUT);
    CHECK_INT(sl_cancel_sleep(&child, 0), SL_ETIMEOUT);
    sl_cancel_request(&c, SL_ECANCELLED);
    CHECK_INT(sl_cancel_sleep(&child, 3600LL * 1000000), SL_ECANCELLED);
}

SL_TEST(cancel_sleep_wakes_at_deadline)
{
    /* An hour's sleep under a deadline 20 ms away ends at the deadline. */
    sl_cancel_t c;
    sl_cancel_init(&c, NULL);
    sl_cancel_set_deadline(&c, sl_mono_us() + 20000);
    CHECK_INT(sl_cancel_sleep(&c, 3600LL * 1000000), SL_ETIMEOUT);
}

typedef struct {
    sl_cancel_t *target;
    int reason;          /* 0: set a passed deadline instead */
    _Atomic int *asleep; /* set by the sleeper just before it sleeps */
} waker_t;

static void *waker_main(void *arg)
{
    waker_t *w = arg;
    while (!atomic_load(w->asleep)) {
        sched_yield();
    }
    if (w->reason) {
        sl_cancel_request(w->target, w->reason);
    } else {
        sl_cancel_set_deadline(w->target, sl_mono_us() - 1);
    }
    return NULL;
}

/* Sleeps an hour on sleeper while another thread acts on target. Whether
 * the other thread acts before or during the sleep, the sleep must end
 * with the reason. */
static int sleep_while(sl_cancel_t *target, sl_cancel_t *sleeper, int reason)
{
    _Atomic int asleep = 0;
    waker_t w = {target, reason, &asleep};
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, waker_main, &w), 0);
    atomic_store(&asleep, 1);
    int rc = sl_cancel_sleep(sleeper, 3600LL * 1000000);
    pthread_join(th, NULL);
    return rc;
}

SL_TEST(cancel_from_another_thread_wakes_sleep)
{
    sl_cancel_t c;
    sl_cancel_init(&c, NULL);
    CHECK_INT(sleep_while(&c, &c, SL_ECANCELLED), SL_ECANCELLED);
}

SL_TEST(cancel_parent_from_another_thread_wakes_child_sleep)
{
    sl_cancel_t run, step, item;
    sl_cancel_init(&run, NULL);
    sl_cancel_init(&step, &run);
    sl_cancel_init(&item, &step);
    CHECK_INT(sleep_while(&run, &item, SL_ETIMEOUT), SL_ETIMEOUT);
}

SL_TEST(cancel_deadline_from_another_thread_wakes_sleep)
{
    sl_cancel_t run, step;
    sl_cancel_init(&run, NULL);
    sl_cancel_init(&step, &run);
    CHECK_INT(sleep_while(&run, &step, 0), SL_ETIMEOUT);
}

typedef struct {
    sl_cancel_t *c;
    _Atomic int *asleep;
    int rc;
} sleeper_t;

static void *sleeper_main(void *arg)
{
    sleeper_t *s = arg;
    atomic_fetch_add(s->asleep, 1);
    s->rc = sl_cancel_sleep(s->c, 3600LL * 1000000);
    return NULL;
}

SL_TEST(cancel_wakes_many_sleepers)
{
    /* Four threads sleep on children of one token; one cancel ends all. */
    enum { N = 4 };
    sl_cancel_t root, kids[N];
    sl_cancel_init(&root, NULL);
    _Atomic int asleep = 0;
    sleeper_t s[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        sl_cancel_init(&kids[i], &root);
        s[i] = (sleeper_t){&kids[i], &asleep, 1};
        CHECK_INT(pthread_create(&th[i], NULL, sleeper_main, &s[i]), 0);
    }
    while (atomic_load(&asleep) < N) {
        sched_yield();
    }
    sl_cancel_request(&root, SL_ECANCELLED);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(s[i].rc, SL_ECANCELLED);
    }
}
