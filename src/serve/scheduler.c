/* The scheduler of `sluice serve`: at each fire time of a pipeline's
 * `schedule:` (cron.h, on the wall clock of its time zone), a run of the
 * pipeline is queued (trigger "schedule"), with its params' defaults.
 *
 * overlap: skip (the default) lets a tick pass while a run of the pipeline
 * is queued or running; queue queues one anyway. catchup: latest queues
 * one run at start when a tick passed while no server ran (the tick after
 * the last one handled, kept in the state store, has passed); none (the
 * default) waits
 * for the next tick. Ticks missed while the server ran slow are not run
 * one by one: the next tick is the one after now. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "scheduler.h"
#include "sluice/engine.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"

typedef struct {
    const sl_pipeline_t *p;
    sl_cron_t expr;
    int64_t next_s; /* 0: none */
} entry_t;

struct sl_scheduler {
    sl_state_t *st;
    sl_worker_t *worker;
    entry_t *e;
    size_t n;
    int64_t fake_start_s; /* SLUICE_CLOCK: the clock starts there... */
    int64_t real_start_us; /* ...at this system time... */
    int64_t rate;          /* ...and runs this many times as fast (SLUICE_CLOCK_RATE) */
    bool fake;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static int64_t now_s(const sl_scheduler_t *s)
{
    if (!s->fake) {
        return sl_now_us() / 1000000;
    }
    return s->fake_start_s + (sl_now_us() - s->real_start_us) * s->rate / 1000000;
}

static void fmt(int64_t t, char out[40])
{
    sl_timestamp_format(t * 1000000, out);
}

/* The last tick the schedule handled (a state key beside the pipeline's
 * checkpoints, in the scheduler's clock), or 0. */
#define LAST_TICK "schedule:last_tick"

static int64_t last_tick(sl_scheduler_t *s, const sl_pipeline_t *p)
{
    sl_checkpoint_t cp;
    int64_t t = 0;
    if (sl_state_checkpoint_get(s->st, p->name, LAST_TICK, &cp) == 0) {
        t = strtoll(cp.value, NULL, 10);
        sl_checkpoint_free(&cp);
    }
    return t;
}

static int any_run(void *ud, const sl_run_t *r)
{
    (void)r;
    *(bool *)ud = true;
    return 1;
}

/* Queues a run of e's pipeline for the tick at tick_s (unless overlap:
 * skip and one is queued or running). */
static void fire(sl_scheduler_t *s, entry_t *e, int64_t tick_s, const char *why)
{
    char at[40], text[24];
    fmt(tick_s, at);
    snprintf(text, sizeof text, "%lld", (long long)tick_s);
    if (sl_state_checkpoint_put(s->st, e->p->name, LAST_TICK, text, 0) != 0) {
        sl_warn("schedule: %s: cannot record tick %s: %s", e->p->name, at,
                sl_state_errmsg(s->st));
    }
    sl_metrics_scheduler_lag((double)(now_s(s) - tick_s));
    if (!e->p->schedule->overlap_queue) {
        bool busy = false;
        sl_runs_filter_t f = {.pipeline = e->p->name,
                              .statuses = SL_STATUS_BIT(SL_STATUS_PENDING) |
                                          SL_STATUS_BIT(SL_STATUS_RUNNING),
                              .limit = 1};
        sl_state_runs_query(s->st, &f, any_run, &busy);
        if (busy) {
            sl_info("schedule: %s: tick %s skipped: a run of it is queued or running "
                    "(overlap: skip)", e->p->name, at);
            return;
        }
    }
    char id[37];
    sl_err_t err = {0};
    if (sl_run_enqueue(s->st, e->p, NULL, 0, "schedule", NULL, id, &err) != 0) {
        sl_log_redact(err.msg);
        sl_error("schedule: %s: tick %s: %s", e->p->name, at, err.msg);
        return;
    }
    sl_info("schedule: %s: tick %s%s: run %s queued", e->p->name, at, why, id);
    sl_worker_wake(s->worker);
}

static void *scheduler_main(void *arg)
{
    sl_scheduler_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = now_s(s);
        for (size_t i = 0; i < s->n; i++) {
            entry_t *e = &s->e[i];
            if (!e->next_s || now < e->next_s) {
                continue;
            }
            int64_t tick = e->next_s;
            pthread_mutex_unlock(&s->mu);
            fire(s, e, tick, "");
            pthread_mutex_lock(&s->mu);
            /* the next tick after now: ticks missed while slow are not run
             * one by one */
            int64_t next = 0;
            if (sl_cron_next(&e->expr, e->p->schedule->timezone, now_s(s) > tick ? now_s(s)
                                                                                 : tick,
                             &next) != 0) {
                next = 0;
                sl_warn("schedule: %s: no fire time after this one", e->p->name);
            }
            e->next_s = next;
        }
        /* wake at the next second (the clock may be a test's) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        ts.tv_nsec = 0;
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sl_scheduler_start(const char *state_url, const sl_pipeline_t *const *pipelines, size_t n,
                       sl_worker_t *worker, sl_scheduler_t **out, sl_err_t *err)
{
    *out = NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += pipelines[i]->schedule != NULL;
    }
    if (k == 0) {
        return 0;
    }
    sl_scheduler_t *s = calloc(1, sizeof *s);
    if (!s || !(s->e = calloc(k, sizeof *s->e))) {
        free(s);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    const char *clock = getenv("SLUICE_CLOCK");
    int64_t fake_us;
    if (clock && *clock) {
        if (sl_timestamp_parse(clock, strlen(clock), &fake_us) != 0) {
            free(s->e);
            free(s);
            return sl_err_set(err, SL_ECONFIG, "SLUICE_CLOCK: expected an ISO 8601 time, got "
                              "'%s'", clock);
        }
        s->fake = true;
        s->fake_start_s = fake_us / 1000000;
        s->real_start_us = sl_now_us();
        const char *rate = getenv("SLUICE_CLOCK_RATE");
        s->rate = rate && atoll(rate) > 0 ? atoll(rate) : 1;
    }
    int rc = sl_state_open(state_url, &s->st, err);
    if (rc) {
        free(s->e);
        free(s);
        return rc;
    }
    s->worker = worker;
    int64_t now = now_s(s);
    for (size_t i = 0; i < n; i++) {
        const sl_pipeline_t *p = pipelines[i];
        if (!p->schedule) {
            continue;
        }
        entry_t *e = &s->e[s->n++];
        e->p = p;
        e->expr = p->schedule->expr;
        if (e->expr.kind == SL_CRON_RATE) {
            e->expr.anchor_s = now; /* every N from the server's start */
        }
        if (sl_cron_next(&e->expr, p->schedule->timezone, now, &e->next_s) != 0) {
            e->next_s = 0;
        }
        char at[40] = "never";
        if (e->next_s) {
            fmt(e->next_s, at);
        }
        sl_info("schedule: %s: %s (%s), next at %s", p->name, p->schedule->text,
                p->schedule->timezone, at);
        if (p->schedule->catchup_latest && e->expr.kind != SL_CRON_RATE) {
            int64_t last = last_tick(s, p), missed = 0;
            if (last && sl_cron_next(&e->expr, p->schedule->timezone, last, &missed) == 0 &&
                missed <= now) {
                fire(s, e, missed, " (missed while no server ran; catchup: latest)");
            }
        }
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        sl_state_close(s->st);
        free(s->e);
        free(s);
        return sl_err_set(err, SL_ENOMEM, "cannot start the scheduler thread");
    }
    *out = s;
    return 0;
}

void sl_scheduler_stop(sl_scheduler_t *s)
{
    if (!s) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    sl_state_close(s->st);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->e);
    free(s);
}
