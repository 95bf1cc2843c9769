/* The state store's public API for runs, steps, checkpoints and files: URL
 * dispatch to a driver, argument checks and one lock per handle, then a
 * call through the driver's ops table (see state_internal.h). Everything
 * SQL lives in the drivers; items are in state_items.c, transactions in
 * state_tx.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/fsutil.h"
#include "sluice/pg.h"
#include "sluice/state.h"
#include "state_internal.h"

#define SQLITE_SCHEME "sqlite://"

/* Length of "scheme://" at the start of url, or 0 when url has no scheme
 * (a plain path). */
static size_t scheme_len(const char *url)
{
    size_t i = 0;
    if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z'))) {
        return 0;
    }
    while (url[i] && (strchr("+-.", url[i]) || (url[i] >= 'a' && url[i] <= 'z') ||
                      (url[i] >= 'A' && url[i] <= 'Z') || (url[i] >= '0' && url[i] <= '9'))) {
        i++;
    }
    return strncmp(url + i, "://", 3) == 0 ? i + 3 : 0;
}


int sl_state_open(const char *url, sl_state_t **out, sl_err_t *err)
{
    *out = NULL;
    if (!url || !*url) {
        return sl_err_set(err, SL_EINVAL, "state store: empty location");
    }
    const char *path = url;
    size_t sl = scheme_len(url);
    if (sl == strlen(SQLITE_SCHEME) && strncmp(url, SQLITE_SCHEME, sl) == 0) {
        /* sqlite:///rel/path (relative to cwd) or sqlite:////abs/path: the
         * third slash ends the empty host. */
        if (url[sl] != '/' || url[sl + 1] == '\0') {
            return sl_err_set(err, SL_EINVAL,
                              "state store '%s': expected sqlite:///relative/path.db or "
                              "sqlite:////absolute/path.db",
                              url);
        }
        path = url + sl + 1;
    } else if (sl_pg_is_url(url)) {
        path = NULL; /* postgres:// or postgresql://: the PostgreSQL driver */
    } else if (sl > 0) {
        char shown[512];
        sl_url_redact(url, shown, sizeof shown);
        return sl_err_set(err, SL_EUNSUPPORTED, "state store '%s' not supported yet", shown);
    }
    sl_state_t *st = NULL;
    int rc = path ? sl_state_sqlite_open(path, &st, err) : sl_state_pg_open(url, &st, err);
    if (rc) {
        return rc;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    sl_state_err(st)->msg[0] = '\0';
    st->tx = NULL;
    *out = st;
    return 0;
}

void sl_state_close(sl_state_t *st)
{
    if (!st) {
        return;
    }
    if (st->tx) {
        sl_state_tx_rollback(st->tx); /* as closing a connection does */
    }
    pthread_mutex_destroy(&st->lock);
    sl_state_err_forget(st);
    st->ops->close(st);
}

/* A few slots per thread, each for one store, reused oldest first. */
#define ERR_SLOTS 4
static _Thread_local struct {
    const sl_state_t *st;
    sl_err_t err;
} err_slots[ERR_SLOTS];
static _Thread_local unsigned err_next;

sl_err_t *sl_state_err(const sl_state_t *st)
{
    for (unsigned i = 0; i < ERR_SLOTS; i++) {
        if (err_slots[i].st == st) {
            return &err_slots[i].err;
        }
    }
    unsigned i = err_next++ % ERR_SLOTS;
    err_slots[i].st = st;
    err_slots[i].err.msg[0] = '\0';
    err_slots[i].err.code = 0;
    return &err_slots[i].err;
}

void sl_state_err_forget(const sl_state_t *st)
{
    for (unsigned i = 0; i < ERR_SLOTS; i++) {
        if (err_slots[i].st == st) {
            err_slots[i].st = NULL;
        }
    }
}

const char *sl_state_errmsg(const sl_state_t *st)
{
    return st ? sl_state_err(st)->msg : "no state store";
}

#define LOCKED SL_STATE_LOCKED
#define need sl_state_need

int sl_state_need(sl_state_t *st, const void *p, const char *what)
{
    if (p) {
        return 0;
    }
    return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: missing %s", st->where, what);
}

sl_status_t sl_state_status_read(const char *name)
{
    sl_status_t s = SL_STATUS_FAILED;
    if (name) {
        sl_status_parse(name, &s);
    }
    return s;
}

const char *sl_state_status_list(unsigned mask, char buf[SL_STATE_STATUS_LIST_MAX])
{
    if (mask == 0) {
        return NULL;
    }
    size_t n = 0;
    buf[n++] = ',';
    for (int i = 0; i < SL_STATUS_COUNT; i++) {
        if (mask & SL_STATUS_BIT(i)) {
            n += (size_t)snprintf(buf + n, SL_STATE_STATUS_LIST_MAX - n, "%s,",
                                  sl_status_name((sl_status_t)i));
        }
    }
    buf[n] = '\0';
    return buf;
}

int sl_state_need_final(sl_state_t *st, sl_status_t s)
{
    if ((unsigned)s < SL_STATUS_COUNT && sl_status_final(s)) {
        return 0;
    }
    return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: '%s' is not a final status", st->where,
                      sl_status_name(s));
}

static int need_status(sl_state_t *st, sl_status_t s)
{
    if ((unsigned)s < SL_STATUS_COUNT) {
        return 0;
    }
    return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: invalid status %d", st->where, (int)s);
}

int sl_state_run_begin(sl_state_t *st, const sl_run_t *run)
{
    int rc = need(st, run, "run");
    if (!rc) {
        rc = need(st, run->id, "run id");
    }
    if (!rc) {
        rc = need(st, run->pipeline, "run pipeline");
    }
    if (!rc) {
        rc = need_status(st, run->status);
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->run_begin(st, run));
    return rc;
}

int sl_state_run_finish(sl_state_t *st, const char *run_id, const sl_outcome_t *o)
{
    int rc = need(st, run_id, "run id");
    if (!rc) {
        rc = need(st, o, "run outcome");
    }
    if (!rc) {
        rc = sl_state_need_final(st, o->status);
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->run_finish(st, run_id, o));
    return rc;
}

int sl_state_run_end(sl_state_t *st, const char *run_id, const char *status, int64_t ended_us,
                     const char *error)
{
    int rc = need(st, status, "run status");
    if (rc) {
        return rc;
    }
    sl_outcome_t o = {.ended_us = ended_us, .error = error};
    if (sl_status_parse(status, &o.status) != 0) {
        return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: unknown run status '%s'", st->where,
                          status);
    }
    return sl_state_run_finish(st, run_id, &o);
}

int sl_state_run_redrive(sl_state_t *st, const char *run_id)
{
    int rc = need(st, run_id, "run id");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->run_redrive(st, run_id));
    return rc;
}

int sl_state_step_put(sl_state_t *st, const sl_step_run_t *s)
{
    int rc = need(st, s, "step run");
    if (!rc) {
        rc = need(st, s->run_id, "step run id");
    }
    if (!rc) {
        rc = need(st, s->step, "step name");
    }
    if (!rc) {
        rc = need_status(st, s->status);
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->step_put(st, s));
    return rc;
}

/* Callbacks stop a listing by returning non-zero: a positive value is a
 * plain stop (the listing returns 0), a negative one an error the listing
 * returns as is. */
int sl_state_runs_query(sl_state_t *st, const sl_runs_filter_t *f, sl_run_cb cb, void *ud)
{
    int rc = cb ? 0 : need(st, NULL, "callback");
    if (rc) {
        return rc;
    }
    sl_runs_filter_t all = {0};
    LOCKED(st, st->ops->runs_query(st, f ? f : &all, cb, ud));
    return rc;
}

int sl_state_runs_list(sl_state_t *st, const char *pipeline, int limit, sl_run_cb cb, void *ud)
{
    sl_runs_filter_t f = {.pipeline = pipeline, .limit = limit};
    return sl_state_runs_query(st, &f, cb, ud);
}

int sl_state_run_show(sl_state_t *st, const char *id, sl_run_cb run_cb, sl_step_cb step_cb,
                      void *ud)
{
    int rc = need(st, id, "run id");
    if (rc) {
        return rc;
    }
    if (!*id) {
        return sl_err_set(sl_state_err(st), SL_EINVAL, "state store %s: empty run id", st->where);
    }
    LOCKED(st, st->ops->run_show(st, id, run_cb, step_cb, ud));
    return rc;
}

int sl_state_generation(sl_state_t *st, const char *pipeline, int64_t *gen)
{
    int rc = need(st, pipeline, "pipeline");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->generation(st, pipeline, gen));
    return rc;
}

int sl_state_checkpoint_get(sl_state_t *st, const char *pipeline, const char *key,
                            sl_checkpoint_t *cp)
{
    memset(cp, 0, sizeof *cp);
    int rc = need(st, pipeline, "pipeline");
    if (!rc) {
        rc = need(st, key, "checkpoint key");
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->checkpoint_get(st, pipeline, key, cp));
    return rc;
}

int sl_state_checkpoint_put(sl_state_t *st, const char *pipeline, const char *key,
                            const char *value, int64_t seq)
{
    return sl_state_checkpoint_put_fenced(st, pipeline, key, value, seq, NULL);
}

int sl_state_checkpoint_put_fenced(sl_state_t *st, const char *pipeline, const char *key,
                                   const char *value, int64_t seq, const sl_fence_t *fence)
{
    int rc = need(st, pipeline, "pipeline");
    if (!rc) {
        rc = need(st, key, "checkpoint key");
    }
    if (!rc) {
        rc = need(st, value, "checkpoint value");
    }
    if (rc) {
        return rc;
    }
    if (fence && (rc = need(st, fence->run_id, "fence run id")) == 0) {
        rc = need(st, fence->step, "fence step");
    }
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&st->lock);
    rc = st->ops->checkpoint_put(st, pipeline, key, value, seq, fence);
    if (rc == SL_ESTALE) {
        rc = sl_state_item_missed(st, rc, fence->run_id, fence->step, fence->idx, fence->gen,
                                  "storing a checkpoint");
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sl_state_checkpoint_list(sl_state_t *st, const char *pipeline, sl_checkpoint_cb cb,
                             void *ud)
{
    int rc = need(st, pipeline, "pipeline");
    if (!rc) {
        rc = cb ? 0 : need(st, NULL, "callback");
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->checkpoint_list(st, pipeline, cb, ud));
    return rc;
}

/* key NULL forgets everything of the pipeline (checkpoints and ingested
 * files of all steps); key "files:<step>" forgets that checkpoint and the
 * files ingested by <step> only; any other key forgets just that
 * checkpoint. The generation is bumped in every case, in the same
 * transaction. */
int sl_state_reset(sl_state_t *st, const char *pipeline, const char *key)
{
    int rc = need(st, pipeline, "pipeline");
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->reset(st, pipeline, key));
    return rc;
}

void sl_checkpoint_free(sl_checkpoint_t *cp)
{
    if (cp) {
        free((char *)cp->value);
        cp->value = NULL;
    }
}

int sl_state_file_get(sl_state_t *st, const char *pipeline, const char *step, const char *path,
                      sl_file_record_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = need(st, pipeline, "pipeline");
    if (!rc) {
        rc = need(st, step, "step");
    }
    if (!rc) {
        rc = need(st, path, "file path");
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->file_get(st, pipeline, step, path, out));
    return rc;
}

int sl_state_file_put(sl_state_t *st, const char *pipeline, const char *step,
                      const sl_file_record_t *f)
{
    int rc = need(st, pipeline, "pipeline");
    if (!rc) {
        rc = need(st, step, "step");
    }
    if (!rc) {
        rc = need(st, f, "file record");
    }
    if (!rc) {
        rc = need(st, f->path, "file path");
    }
    if (rc) {
        return rc;
    }
    LOCKED(st, st->ops->file_put(st, pipeline, step, f));
    return rc;
}

void sl_file_record_free(sl_file_record_t *f)
{
    if (f) {
        free((char *)f->path);
        free((char *)f->hash);
        free((char *)f->run_id);
        f->path = f->hash = f->run_id = NULL;
    }
}

int sl_state_lock_pipeline(sl_state_t *st, const char *pipeline, int64_t now_us, int *interrupted)
{
    int rc = need(st, pipeline, "pipeline");
    if (rc) {
        return rc;
    }
    *interrupted = 0;
    LOCKED(st, st->ops->lock(st, pipeline));
    if (rc == 0) {
        LOCKED(st, st->ops->interrupted(st, pipeline, now_us, interrupted));
    }
    return rc;
}
