/* The run worker of `sluice serve`: runs the queued runs, each in a child
 * process of its own (`sluice run DEFINITION --run-id ID`), so a run that
 * crashes cannot take the server down.
 *
 * One thread: it starts the oldest pending runs while fewer than max_runs
 * run (and never two of one pipeline at once: a pipeline runs once at a
 * time per state store, the others wait their turn in the queue), reaps
 * the children, and records the end of a run whose process died without
 * recording it (killed by a signal: failed, the signal named; after a
 * cancel: cancelled). The queue is the state store's pending runs. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sluice/engine.h"
#include "sluice/log.h"
#include "sluice/timeutil.h"
#include "metrics.h"
#include "worker.h"

extern char **environ;

typedef struct {
    pid_t pid;
    char id[37];
    char *pipeline;
    bool cancel;        /* a cancel was asked: SIGTERM sent */
    int64_t term_us;    /* when SIGTERM was sent (SIGKILL after the grace) */
} child_t;

struct sl_worker {
    char *state_url;
    sl_state_t *st;
    int max_runs;
    int64_t grace_us;
    bool resume_interrupted;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, woken;
    child_t *kids;
    int nkids;
};

typedef struct {
    char id[37];
    char *pipeline, *definition, *params_json;
} queued_t;

typedef struct {
    queued_t *q;
    size_t n, cap;
} queue_t;

static int collect(void *ud, const sl_run_t *r)
{
    queue_t *q = ud;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        queued_t *n = realloc(q->q, cap * sizeof *n);
        if (!n) {
            return 1;
        }
        q->q = n;
        q->cap = cap;
    }
    queued_t *e = &q->q[q->n++];
    snprintf(e->id, sizeof e->id, "%s", r->id);
    e->pipeline = strdup(r->pipeline);
    e->definition = r->definition ? strdup(r->definition) : NULL;
    e->params_json = strdup(r->params_json ? r->params_json : "{}");
    return 0;
}

static void queue_free(queue_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->q[i].pipeline);
        free(q->q[i].definition);
        free(q->q[i].params_json);
    }
    free(q->q);
}

/* Under mu. */
static bool busy(const sl_worker_t *w, const char *id, const char *pipeline)
{
    for (int i = 0; i < w->nkids; i++) {
        if (strcmp(w->kids[i].id, id) == 0 || strcmp(w->kids[i].pipeline, pipeline) == 0) {
            return true;
        }
    }
    return false;
}

static void finish(sl_worker_t *w, const char *id, sl_status_t status, const char *error)
{
    sl_outcome_t o = {.status = status,
                      .ended_us = sl_now_us(),
                      .error_class = status == SL_STATUS_FAILED ? "fatal" : NULL,
                      .error = error};
    if (sl_state_run_finish(w->st, id, &o) != 0) {
        sl_warn("worker: cannot record the end of run %s: %s", id, sl_state_errmsg(w->st));
    }
}

/* Spawns `sluice ARGV...` as the process of run id; under mu. */
static int spawn_child(sl_worker_t *w, const char *id, const char *pipeline,
                       const char *const *argv)
{
    child_t *kids = realloc(w->kids, (size_t)(w->nkids + 1) * sizeof *kids);
    if (!kids) {
        return SL_ENOMEM;
    }
    w->kids = kids;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", NULL, &attr, (char *const *)argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return SL_EIO;
    }
    child_t *c = &w->kids[w->nkids++];
    *c = (child_t){.pid = pid, .pipeline = strdup(pipeline)};
    snprintf(c->id, sizeof c->id, "%s", id);
    sl_info("worker: run %s of %s started (pid %d)", id, pipeline, (int)pid);
    return 0;
}

int sl_worker_resume(sl_worker_t *w, const char *run_id, const char *pipeline)
{
    pthread_mutex_lock(&w->mu);
    int rc = busy(w, run_id, pipeline) ? SL_EAGAIN : 0;
    if (rc == 0) {
        const char *argv[] = {"sluice", "runs", "resume", run_id, "--state", w->state_url,
                              "--no-progress", NULL};
        rc = spawn_child(w, run_id, pipeline, argv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Starts queued run e as `sluice run`; under mu. */
static void start(sl_worker_t *w, const queued_t *e)
{
    if (!e->definition) {
        finish(w, e->id, SL_STATUS_FAILED, "the queued run does not say which pipeline file "
                                           "it runs");
        return;
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    const char **args = NULL;
    size_t n = 0;
    if (!a || sl_run_params_args(a, e->params_json, &args, &n) != 0) {
        finish(w, e->id, SL_STATUS_FAILED, "the queued run's params are not a JSON object");
        sl_arena_destroy(a);
        return;
    }
    const char **argv = sl_arena_calloc(a, (2 * n + 12) * sizeof *argv);
    if (!argv) {
        sl_arena_destroy(a);
        return; /* stays queued; tried again */
    }
    size_t k = 0;
    argv[k++] = "sluice";
    argv[k++] = "run";
    argv[k++] = e->definition;
    argv[k++] = "--run-id";
    argv[k++] = e->id;
    argv[k++] = "--state";
    argv[k++] = w->state_url;
    argv[k++] = "--no-progress";
    for (size_t i = 0; i < n; i++) {
        argv[k++] = "-p";
        argv[k++] = args[i];
    }
    argv[k] = NULL;
    int rc = spawn_child(w, e->id, e->pipeline, argv);
    sl_arena_destroy(a);
    if (rc == SL_EIO) {
        finish(w, e->id, SL_STATUS_FAILED, "cannot start the run's process");
    }
}

/* The run's status now, or SL_STATUS_PENDING when it cannot be read. */
static int status_of(void *ud, const sl_run_t *r)
{
    *(sl_status_t *)ud = r->status;
    return 0;
}

static int no_step(void *ud, const sl_step_run_t *s)
{
    (void)ud;
    (void)s;
    return 0;
}

/* An ended run's metrics: its status, its steps and their map items. */
typedef struct {
    char pipeline[128];
    char status[32];
    char *steps[64];
    size_t nsteps;
    const char *step; /* the step whose items are being read */
} ended_t;

static int ended_run(void *ud, const sl_run_t *r)
{
    ended_t *e = ud;
    snprintf(e->pipeline, sizeof e->pipeline, "%s", r->pipeline);
    snprintf(e->status, sizeof e->status, "%s", sl_status_name(r->status));
    return 0;
}

static int ended_step(void *ud, const sl_step_run_t *s)
{
    ended_t *e = ud;
    double secs = s->ended_us > s->started_us ? (double)(s->ended_us - s->started_us) / 1e6 : 0;
    sl_metrics_step(e->pipeline, s->step, secs, s->records_in, s->records_out, s->rejected);
    if (e->nsteps < SL_ARRAY_LEN(e->steps)) {
        e->steps[e->nsteps++] = strdup(s->step);
    }
    return 0;
}

static int ended_item(void *ud, const sl_item_t *it)
{
    ended_t *e = ud;
    double secs = it->ended_us > it->started_us ? (double)(it->ended_us - it->started_us) / 1e6
                                                : 0;
    sl_metrics_item(e->pipeline, e->step, sl_status_name(it->status), secs);
    return 0;
}

/* The metrics of an ended run: its status, steps, and their items (read
 * after the steps: one listing at a time on the handle). */
static void run_metrics(sl_worker_t *w, const char *id, ended_t *e)
{
    if (sl_state_run_show(w->st, id, ended_run, ended_step, e) == 0) {
        sl_metrics_run(e->pipeline, e->status);
    }
    for (size_t i = 0; i < e->nsteps; i++) {
        if (e->steps[i]) {
            e->step = e->steps[i];
            sl_state_items_list(w->st, id, e->steps[i], NULL, ended_item, e);
        }
        free(e->steps[i]);
    }
}

int sl_worker_running(sl_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->nkids;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* Reaps ended children; under mu. */
static void reap(sl_worker_t *w)
{
    for (int i = 0; i < w->nkids;) {
        child_t *c = &w->kids[i];
        int ws;
        pid_t r = waitpid(c->pid, &ws, WNOHANG);
        if (r == 0) {
            if (c->term_us && sl_now_us() - c->term_us > w->grace_us) {
                kill(c->pid, SIGKILL); /* it did not stop in time */
                c->term_us = 0;
            }
            i++;
            continue;
        }
        sl_status_t st = SL_STATUS_PENDING;
        sl_state_run_show(w->st, c->id, status_of, no_step, &st);
        if (w->stop && !c->cancel && (st == SL_STATUS_CANCELLED || !sl_status_final(st))) {
            /* stopped because the server stops: it resumes the run at its
             * next start */
            finish(w, c->id, SL_STATUS_INTERRUPTED, "the server stopped while the run ran; "
                                                    "it resumes it when it starts again");
        } else if (r > 0 && WIFSIGNALED(ws) && !sl_status_final(st)) {
            char msg[160];
            int sig = WTERMSIG(ws);
            snprintf(msg, sizeof msg, "the run's process was killed by signal %d (%s)", sig,
                     strsignal(sig));
            finish(w, c->id, c->cancel ? SL_STATUS_CANCELLED : SL_STATUS_FAILED, msg);
        } else if (!sl_status_final(st) && st != SL_STATUS_PENDING) {
            finish(w, c->id, c->cancel ? SL_STATUS_CANCELLED : SL_STATUS_FAILED,
                   "the run's process ended without recording how the run ended");
        }
        ended_t e = {.pipeline = "", .status = ""};
        run_metrics(w, c->id, &e);
        sl_info("worker: run %s ended (%s)", c->id, e.status[0] ? e.status : "?");
        free(c->pipeline);
        w->kids[i] = w->kids[--w->nkids];
    }
}

/* The runs this kind of server started (not a command line's) that a
 * server's stop interrupted, to resume at start. */
static int interrupted(void *ud, const sl_run_t *r)
{
    queue_t *q = ud;
    if (!r->trigger || strcmp(r->trigger, "cli") == 0) {
        return 0;
    }
    return collect(q, r);
}

static void *worker_main(void *arg)
{
    sl_worker_t *w = arg;
    if (w->resume_interrupted) {
        queue_t q = {0};
        sl_runs_filter_t f = {.statuses = SL_STATUS_BIT(SL_STATUS_INTERRUPTED), .limit = 100};
        if (sl_state_runs_query(w->st, &f, interrupted, &q) == 0) {
            for (size_t i = q.n; i-- > 0;) {
                sl_info("worker: resuming run %s of %s, interrupted when a server stopped",
                        q.q[i].id, q.q[i].pipeline);
                sl_worker_resume(w, q.q[i].id, q.q[i].pipeline);
            }
        }
        queue_free(&q);
    }
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        reap(w);
        if (w->nkids < w->max_runs) {
            queue_t q = {0};
            sl_runs_filter_t f = {.statuses = SL_STATUS_BIT(SL_STATUS_PENDING), .limit = 200};
            if (sl_state_runs_query(w->st, &f, collect, &q) == 0) {
                /* newest first: the oldest runs start first */
                for (size_t i = q.n; i-- > 0 && w->nkids < w->max_runs;) {
                    if (!busy(w, q.q[i].id, q.q[i].pipeline)) {
                        start(w, &q.q[i]);
                    }
                }
            }
            queue_free(&q);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!w->woken) {
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        w->woken = false;
    }
    /* stopping: the children stop at their next batch, or are killed */
    for (int i = 0; i < w->nkids; i++) {
        kill(w->kids[i].pid, SIGTERM);
        w->kids[i].term_us = sl_now_us();
    }
    int64_t until = sl_now_us() + w->grace_us;
    while (w->nkids > 0 && sl_now_us() < until) {
        reap(w);
        pthread_mutex_unlock(&w->mu);
        usleep(50 * 1000);
        pthread_mutex_lock(&w->mu);
    }
    for (int i = 0; i < w->nkids; i++) {
        kill(w->kids[i].pid, SIGKILL);
    }
    while (w->nkids > 0) {
        for (int i = 0; i < w->nkids; i++) {
            waitpid(w->kids[i].pid, NULL, 0);
        }
        reap(w);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sl_worker_start(const char *state_url, int max_runs, int grace_s, bool resume_interrupted,
                    sl_worker_t **out, sl_err_t *err)
{
    *out = NULL;
    sl_worker_t *w = calloc(1, sizeof *w);
    if (!w || !(w->state_url = strdup(state_url))) {
        free(w);
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    w->max_runs = max_runs > 0 ? max_runs : 2;
    w->grace_us = (int64_t)(grace_s > 0 ? grace_s : 10) * 1000000;
    w->resume_interrupted = resume_interrupted;
    int rc = sl_state_open(state_url, &w->st, err);
    if (rc) {
        free(w->state_url);
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        sl_state_close(w->st);
        free(w->state_url);
        free(w);
        return sl_err_set(err, SL_ENOMEM, "cannot start the worker thread");
    }
    *out = w;
    return 0;
}

void sl_worker_wake(sl_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->woken = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int sl_worker_cancel(sl_worker_t *w, const char *run_id)
{
    pthread_mutex_lock(&w->mu);
    int rc = SL_ENOTFOUND;
    for (int i = 0; i < w->nkids; i++) {
        if (strcmp(w->kids[i].id, run_id) == 0) {
            w->kids[i].cancel = true;
            w->kids[i].term_us = sl_now_us();
            kill(w->kids[i].pid, SIGTERM);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void sl_worker_stop(sl_worker_t *w)
{
    if (!w) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    free(w->kids);
    sl_state_close(w->st);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->state_url);
    free(w);
}
