/* The map kind: a step that runs its sub-steps once per item.
 *
 *   - name: per_date
 *     map:
 *       items: {dates: {start: today, days: 31}}
 *       max_concurrency: 5
 *       tolerated_failure_percent: 10
 *       steps: [...]
 *
 * The items are computed once (map_items.c) and stored in the state store
 * in one transaction, so memory does not grow with their number and a
 * resume finds the same ones. Up to max_concurrency worker threads claim
 * them one at a time under a lease; each runs the sub-steps as a frame of
 * its own ({{ item }}, its own steps scope, checkpoint keys of its own,
 * its own cancel token under the map's). This thread watches: it renews
 * the leases, draws the progress line, and stops every item once more
 * failed than tolerated (Step Functions' semantics: failed and timed-out
 * items over all items; once exceeded no item starts, running ones stop
 * at their next batch and the map fails with class tolerance_exceeded). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/fault.h"
#include "sluice/fsutil.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"

#define LEASE_US (60 * 1000000LL)         /* a worker that dies frees its item after this */
#define HEARTBEAT_US (LEASE_US / 4)       /* leases of running items are renewed this often */
#define CREATE_CHUNK 1000                 /* items inserted per statement batch */
#define KEY_MAX 64                        /* an item text longer than this is keyed by hash */

/* ---- running ---- */

typedef struct map map_t;

typedef struct {
    map_t *m;
    int id;
    pthread_t thread;
    /* the item in hand, for the lease renewals (under m->mu) */
    bool busy;
    int64_t idx, gen;
    sl_cancel_t *token;
} worker_t;

struct map {
    sl_step_ctx_t *ctx;           /* the map step's */
    const sl_map_cfg_t *cfg;
    sl_state_t *st;
    const char *items_step;       /* the items' key in the state store: the map's unit */
    const char *path;             /* the map's step path (logs, sub-step paths) */
    sl_retry_policy_t item_policy;
    sl_cancel_t stop;             /* under the step's token: cancelled once tolerance is gone */
    char owner[160];
    int64_t total;
    int64_t before[SL_STATUS_COUNT]; /* items that had ended before this attempt */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t done[SL_STATUS_COUNT];   /* items this attempt ended, by status */
    int live;                     /* workers still running */
    bool exceeded;
    int fail_rc;                  /* a failure outside the items (the state store) */
    char fail_msg[SL_ERRMSG_MAX];
    int64_t records_in, records_out, rejected, bytes_in;
    worker_t *workers;
    int nworkers;
};

static int64_t failures(const int64_t *c)
{
    return c[SL_STATUS_FAILED] + c[SL_STATUS_TIMED_OUT];
}

/* True once failed items are beyond what the map tolerates (under mu). */
static bool tolerance_exceeded(const map_t *m)
{
    const sl_map_cfg_t *cfg = m->cfg;
    int64_t f = failures(m->before) + failures(m->done);
    if (f == 0) {
        return false;
    }
    if (!cfg->has_count && !cfg->has_percent) {
        return true; /* nothing tolerated */
    }
    bool over = false;
    if (cfg->has_count && f > cfg->tolerated_count) {
        over = true;
    }
    if (cfg->has_percent && (double)f * 100.0 > cfg->tolerated_percent * (double)m->total) {
        over = true;
    }
    return over;
}

static bool stopping(map_t *m)
{
    pthread_mutex_lock(&m->mu);
    bool stop = m->exceeded || m->fail_rc != 0;
    pthread_mutex_unlock(&m->mu);
    return stop || sl_cancel_check(&m->stop) != 0;
}

static void map_fail(map_t *m, int rc, const char *msg)
{
    pthread_mutex_lock(&m->mu);
    if (!m->fail_rc) {
        m->fail_rc = rc;
        snprintf(m->fail_msg, sizeof m->fail_msg, "%s", msg);
    }
    pthread_mutex_unlock(&m->mu);
    sl_cancel_request(&m->stop, SL_ECANCELLED);
}

/* A safe key character: it may appear in state keys and log lines as is. */
static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':' || c == '@' || c == '+';
}

/* The item's name in state keys and logs: key: when given, else the item
 * itself (a short plain text or a number), else a hash of its JSON. The
 * same item gets the same key in every run, so its checkpoints carry over
 * (a per-project cursor stays the project's). */
static const char *item_key(map_t *m, sl_arena_t *a, const sl_value_t *item, const char *json,
                            sl_value_t *steps)
{
    const char *text = NULL;
    size_t len = 0;
    sl_buf_t b = SL_BUF_INIT;
    if (m->cfg->key_tmpl) {
        sl_tmpl_ctx_t tc = sl_step_tmpl_ctx(m->ctx);
        tc.item = item;
        tc.steps = steps;
        sl_err_t e;
        if (sl_template_render(m->cfg->key_tmpl, &tc, &b, &e) == 0) {
            text = b.data ? b.data : "";
            len = b.len;
        } else {
            sl_warn("%s: key: %s; the item is keyed by its hash", m->path, e.msg);
        }
    } else if (item->type == SL_T_STRING) {
        text = item->u.s;
        len = item->len;
    } else if (item->type == SL_T_INT || item->type == SL_T_DOUBLE) {
        text = json;
        len = strlen(json);
    }
    bool plain = text && len > 0 && len <= KEY_MAX;
    for (size_t i = 0; plain && i < len; i++) {
        plain = key_char(text[i]);
    }
    const char *key;
    if (plain) {
        key = sl_arena_strndup(a, text, len);
    } else {
        char hex[33];
        sl_md5_hex(text ? text : json, text ? len : strlen(json), hex);
        key = sl_arena_sprintf(a, "h%.16s", hex);
    }
    sl_buf_free(&b);
    return key;
}

/* The item's frame: the map's frame with the sub-steps, the item, a
 * steps scope of its own (the steps before the map, then its sub-steps),
 * its token and lease. */
static int item_frame(map_t *m, sl_arena_t *a, const sl_item_t *it, const sl_value_t *item,
                      const char *key, sl_cancel_t *token, const sl_fence_t *fence,
                      sl_frame_t *fr)
{
    const sl_step_ctx_t *ctx = m->ctx;
    const sl_step_cfg_t *step = ctx->step;
    *fr = *ctx->frame;
    fr->steps = step->substeps;
    fr->nsteps = step->nsubsteps;
    if (m->cfg->parallel) {
        if (it->idx < 0 || (size_t)it->idx >= step->nsubsteps) {
            return SL_ESTATE; /* stored by another version of the pipeline */
        }
        fr->steps = &step->substeps[it->idx];
        fr->nsteps = 1;
    }
    fr->prior = NULL;
    fr->nprior = 0;
    fr->res = sl_arena_calloc(a, fr->nsteps * sizeof *fr->res);
    fr->arena = a;
    fr->steps_value = (sl_value_t){0};
    fr->error = (sl_value_t){0};
    fr->item = item;
    fr->item_label = key;
    fr->path = sl_arena_sprintf(a, "%s/", m->path);
    /* a map's item keeps its own state keys; a parallel step's branch keeps
     * the keys it would have outside the parallel step */
    fr->unit = m->cfg->parallel ? ctx->frame->unit
                                : sl_arena_sprintf(a, "%s[%s]/", m->items_step, key);
    fr->cancel = token;
    fr->fence = fence;
    fr->record_rows = false;
    fr->failed = fr->partial = false;
    fr->progress = false; /* the map draws one line for all its items */
    fr->threads = 1;      /* items run side by side already */
    if (!fr->res || !fr->path || !fr->unit) {
        return SL_ENOMEM;
    }
    const sl_value_t *outer = ctx->steps;
    size_t n = (outer && outer->type == SL_T_OBJECT ? outer->len : 0) + step->nsubsteps;
    int rc = sl_object_new(a, &fr->steps_value, n ? n : 1);
    for (uint32_t i = 0; rc == 0 && outer && outer->type == SL_T_OBJECT && i < outer->len;
         i++) {
        const sl_member_t *mb = &outer->u.members[i];
        rc = sl_object_set(a, &fr->steps_value, mb->key, mb->klen, mb->val);
    }
    return rc;
}

typedef struct {
    sl_status_t status;
    sl_error_class_t cls;
    char error[SL_ERRMSG_MAX];
} item_end_t;

/* How an item's steps went: ok or partial, else the first failure (a stop
 * of the map or the run reads as cancelled, the item's deadline as
 * timed_out). */
static void item_outcome(map_t *m, const sl_frame_t *fr, const sl_cancel_t *token,
                         item_end_t *end)
{
    end->cls = SL_ECLASS_NONE;
    end->error[0] = '\0';
    if (!fr->failed) {
        end->status = fr->partial ? SL_STATUS_PARTIAL : SL_STATUS_OK;
        /* a step that failed with on_failure: continue: the item is
         * partial, its error kept */
        for (size_t i = 0; i < fr->nsteps && !end->error[0]; i++) {
            if (fr->res[i].error[0]) {
                end->cls = fr->res[i].error_class;
                snprintf(end->error, sizeof end->error, "%s", fr->res[i].error);
            }
        }
        return;
    }
    end->status = SL_STATUS_FAILED;
    for (size_t i = 0; i < fr->nsteps; i++) {
        const sl_step_result_t *r = &fr->res[i];
        if (r->error[0]) {
            end->status = r->status;
            end->cls = r->error_class;
            snprintf(end->error, sizeof end->error, "%s", r->error);
        }
    }
    int stop = sl_cancel_check(token);
    if (stop == SL_ECANCELLED || (stop && sl_cancel_check(&m->stop))) {
        end->status = SL_STATUS_CANCELLED;
        end->cls = sl_error_class_of(sl_cancel_check(&m->stop) ? sl_cancel_check(&m->stop)
                                                                  : stop);
    } else if (stop == SL_ETIMEOUT) {
        end->status = SL_STATUS_TIMED_OUT;
        end->cls = SL_ECLASS_TIMEOUT;
    }
    if (!end->error[0]) {
        snprintf(end->error, sizeof end->error, "%s", sl_strerror(stop ? stop : SL_EIO));
    }
}

/* The item's steps that succeeded in an earlier attempt (its progress
 * key's checkpoint), as prior steps for its frame; none when there is no
 * such checkpoint. */
static void item_prior(map_t *m, sl_arena_t *a, const char *key, sl_prior_step_t **prior,
                       size_t *n)
{
    *prior = NULL;
    *n = 0;
    sl_checkpoint_t cp;
    if (sl_state_checkpoint_get(m->st, m->ctx->pipeline->name, key, &cp) != 0) {
        return;
    }
    sl_value_t v;
    sl_json_error_t je;
    char *text = sl_arena_strdup(a, cp.value);
    sl_checkpoint_free(&cp);
    if (!text || sl_json_parse(a, text, strlen(text), NULL, &v, &je) != 0 ||
        v.type != SL_T_OBJECT || !(*prior = sl_arena_calloc(a, (v.len + 1) * sizeof **prior))) {
        return;
    }
    for (uint32_t i = 0; i < v.len; i++) {
        const sl_member_t *mb = &v.u.members[i];
        const sl_value_t *st = sl_object_get_c(&mb->val, "status");
        const sl_value_t *out = sl_object_get_c(&mb->val, "output");
        sl_status_t status;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(st ? st->len : 0), st ? st->u.s : "");
        if (!st || st->type != SL_T_STRING || sl_status_parse(name, &status) != 0) {
            continue;
        }
        sl_buf_t b = SL_BUF_INIT;
        if (out) {
            sl_json_write(&b, out, 0);
        }
        (*prior)[*n] = (sl_prior_step_t){
            .name = sl_arena_strndup(a, mb->key, mb->klen),
            .status = status,
            .output_json = b.data ? sl_arena_strndup(a, b.data, b.len) : NULL};
        sl_buf_free(&b);
        (*n)++;
    }
}

static void free_results(sl_frame_t *fr)
{
    for (size_t i = 0; fr->res && i < fr->nsteps; i++) {
        free(fr->res[i].output_json);
        fr->res[i].output_json = NULL;
    }
}

/* Runs one claimed item (with its retries) and records how it ended. */
static void run_item(worker_t *w, const sl_item_t *it)
{
    map_t *m = w->m;
    sl_arena_t *a = sl_arena_create(16 * 1024, 0);
    sl_value_t item;
    sl_json_error_t je;
    if (!a || sl_json_parse(a, it->value_json, strlen(it->value_json), NULL, &item, &je) != 0) {
        map_fail(m, SL_ESTATE, "state store: an item's value is not JSON");
        sl_arena_destroy(a);
        return;
    }
    sl_cancel_t token; /* the item's: its timeout, under the map's stop */
    sl_cancel_init(&token, &m->stop);
    if (m->cfg->item_timeout_us) {
        sl_cancel_set_deadline(&token, sl_mono_us() + m->cfg->item_timeout_us);
    }
    sl_fence_t fence = {.run_id = m->ctx->run_id, .step = m->items_step, .idx = it->idx,
                        .gen = it->gen};
    pthread_mutex_lock(&m->mu);
    w->busy = true;
    w->idx = it->idx;
    w->gen = it->gen;
    w->token = &token;
    pthread_mutex_unlock(&m->mu);

    const char *key = item_key(m, a, &item, it->value_json, (sl_value_t *)m->ctx->steps);
    item_end_t end = {.status = SL_STATUS_FAILED};
    bool kept = false; /* progress was kept, or came from an earlier attempt */
    sl_buf_t out = SL_BUF_INIT;
    int64_t in = 0, outn = 0, rej = 0, bytes = 0;
    uint64_t rng = (uint64_t)it->idx * 0x9E3779B97F4A7C15ull ^ (uint64_t)sl_mono_us();
    for (int attempt = 1; key; attempt++) {
        sl_arena_t *fa = sl_arena_create(16 * 1024, 0);
        sl_frame_t fr = {0};
        int frc = fa ? item_frame(m, fa, it, &item, key, &token, &fence, &fr) : SL_ENOMEM;
        const char *progress = frc == 0 ? sl_arena_sprintf(fa, "progress:%s:%s[%s]/",
                                                           m->ctx->run_id, m->items_step, key)
                                        : NULL;
        if (progress) {
            sl_prior_step_t *prior;
            size_t nprior;
            item_prior(m, fa, progress, &prior, &nprior);
            fr.prior = prior;
            fr.nprior = nprior;
            fr.progress_key = progress;
            kept = kept || nprior > 0;
        }
        if (frc) {
            snprintf(end.error, sizeof end.error, "%s",
                     frc == SL_ENOMEM ? "out of memory"
                                      : "the stored items do not fit this pipeline's steps");
            sl_arena_destroy(fa);
            break;
        }
        sl_frame_run(&fr);
        kept = kept || fr.progress_kept;
        item_outcome(m, &fr, &token, &end);
        for (size_t i = 0; i < fr.nsteps; i++) {
            in += fr.res[i].records_in;
            outn += fr.res[i].records_out;
            rej += fr.res[i].rejected;
            bytes += fr.res[i].bytes_in;
        }
        sl_buf_clear(&out);
        sl_frame_steps_json(&fr, &out);
        free_results(&fr);
        sl_arena_destroy(fa);
        if (end.status == SL_STATUS_OK || end.status == SL_STATUS_PARTIAL ||
            !sl_retry_should(&m->item_policy, end.cls, attempt) || stopping(m)) {
            break;
        }
        int64_t wait = sl_retry_delay_us(&m->item_policy, attempt, -1, &rng);
        sl_warn("%s: item %s: attempt %d of %d failed (%s); trying again in %.1fs", m->path,
                key, attempt, m->item_policy.max_attempts, sl_error_class_name(end.cls),
                (double)wait / 1e6);
        if (sl_cancel_sleep(&token, wait) != 0) {
            break;
        }
    }
    sl_outcome_t o = {.status = end.status,
                      .ended_us = sl_now_us(),
                      .error_class = end.error[0] ? sl_error_class_name(end.cls) : NULL,
                      .error = end.error[0] ? end.error : NULL,
                      .output_json = out.data ? out.data : "{}"};
    int rc = sl_state_item_finish(m->st, &fence, &o);
    SL_FAULT_POINT("map.after_item_status");
    if (rc == 0 && kept && (end.status == SL_STATUS_OK || end.status == SL_STATUS_PARTIAL)) {
        /* done: its progress is its row now */
        char *progress = sl_arena_sprintf(a, "progress:%s:%s[%s]/", m->ctx->run_id,
                                          m->items_step, key);
        if (progress && sl_state_reset(m->st, m->ctx->pipeline->name, progress) != 0) {
            sl_warn("%s: item %s: cannot drop its progress: %s", m->path, key,
                    sl_state_errmsg(m->st));
        }
    }
    sl_buf_free(&out);
    bool counted = rc == 0;
    if (rc == SL_ESTALE) {
        sl_warn("%s: item %s: its lease was taken over; its outcome is left to the new holder",
                m->path, key ? key : "?");
    } else if (rc) {
        char msg[SL_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "state store: %s", sl_state_errmsg(m->st));
        map_fail(m, rc, msg);
    }
    if (counted && end.status != SL_STATUS_OK && end.status != SL_STATUS_PARTIAL) {
        sl_warn("%s: item %s %s: %s", m->path, key ? key : "?", sl_status_name(end.status),
                end.error);
    }
    pthread_mutex_lock(&m->mu);
    w->busy = false;
    w->token = NULL;
    if (counted) {
        m->done[end.status]++;
        m->records_in += in;
        m->records_out += outn;
        m->rejected += rej;
        m->bytes_in += bytes;
        if (!m->exceeded && tolerance_exceeded(m)) {
            m->exceeded = true;
            sl_cancel_request(&m->stop, SL_ECANCELLED);
        }
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    sl_arena_destroy(a);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    map_t *m = w->m;
    const sl_log_scope_t *outer = sl_log_scope_set(&m->ctx->scope);
    char owner[200];
    snprintf(owner, sizeof owner, "%s:w%d", m->owner, w->id);
    while (!stopping(m)) {
        sl_item_t it;
        int rc = sl_state_item_claim(m->st, m->ctx->run_id, m->items_step, owner, LEASE_US,
                                     sl_now_us(), 0, &it);
        if (rc == SL_ENOTFOUND) {
            break;
        }
        if (rc) {
            char msg[SL_ERRMSG_MAX];
            snprintf(msg, sizeof msg, "state store: %s", sl_state_errmsg(m->st));
            map_fail(m, rc, msg);
            break;
        }
        if (stopping(m)) { /* claimed as the map stopped: give it back untouched */
            sl_fence_t f = sl_item_fence(&it);
            sl_state_item_release(m->st, &f);
            sl_item_free(&it);
            break;
        }
        run_item(w, &it);
        sl_item_free(&it);
    }
    pthread_mutex_lock(&m->mu);
    m->live--;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    sl_log_scope_set(outer);
    return NULL;
}

/* Renews the leases of the items in hand; an item whose lease was lost
 * (it expired and another process took it) is stopped. */
static void renew_leases(map_t *m)
{
    for (int i = 0; i < m->nworkers; i++) {
        worker_t *w = &m->workers[i];
        pthread_mutex_lock(&m->mu);
        bool busy = w->busy;
        sl_fence_t f = {.run_id = m->ctx->run_id, .step = m->items_step, .idx = w->idx,
                        .gen = w->gen};
        pthread_mutex_unlock(&m->mu);
        if (!busy) {
            continue;
        }
        int rc = sl_state_item_heartbeat(m->st, &f, LEASE_US, sl_now_us());
        if (rc == SL_ESTALE) {
            pthread_mutex_lock(&m->mu);
            if (w->busy && w->idx == f.idx && w->gen == f.gen && w->token) {
                sl_warn("%s: lost the lease of item %lld; stopping it", m->path,
                        (long long)f.idx);
                sl_cancel_request(w->token, SL_ECANCELLED);
            }
            pthread_mutex_unlock(&m->mu);
        } else if (rc) {
            sl_warn("%s: cannot renew the lease of item %lld: %s", m->path, (long long)f.idx,
                    sl_state_errmsg(m->st));
        }
    }
}

/* "12/31 done, 5 running, 1 failed" (under mu). */
static void progress_text(const map_t *m, char *buf, size_t cap)
{
    int64_t ended = 0, running = 0;
    for (int s = 0; s < SL_STATUS_COUNT; s++) {
        ended += m->before[s] + m->done[s];
    }
    for (int i = 0; i < m->nworkers; i++) {
        running += m->workers[i].busy;
    }
    snprintf(buf, cap, "%s: %lld/%lld done, %lld running, %lld failed", m->path,
             (long long)ended, (long long)m->total, (long long)running,
             (long long)(failures(m->before) + failures(m->done)));
}

/* The calling thread while the workers run: lease renewals, the progress
 * line (on a terminal; a log line every 30 s otherwise). */
static void watch(map_t *m)
{
    bool tty = m->ctx->progress && isatty(2);
    int64_t last_beat = sl_mono_us(), last_log = last_beat;
    pthread_mutex_lock(&m->mu);
    while (m->live > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += tty ? 200000000L : 500000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        int64_t now = sl_mono_us();
        char line[300];
        progress_text(m, line, sizeof line);
        if (tty) {
            fprintf(stderr, "\r\033[K%s", line);
        } else if (now - last_log >= 30 * 1000000LL) {
            sl_info("%s", line);
            last_log = now;
        }
        if (now - last_beat >= HEARTBEAT_US) {
            pthread_mutex_unlock(&m->mu);
            renew_leases(m);
            pthread_mutex_lock(&m->mu);
            last_beat = now;
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (tty) {
        fputs("\r\033[K", stderr);
    }
}

typedef struct {
    map_t *m;
    char *texts[CREATE_CHUNK];
    size_t n;
    int64_t next_idx;
} creator_t;

static int create_flush(creator_t *c)
{
    int rc = 0;
    if (c->n) {
        rc = sl_state_items_create(c->m->st, c->m->ctx->run_id, c->m->items_step,
                                   (const char *const *)c->texts, c->n, (size_t)c->next_idx);
        if (rc) {
            sl_err_set(&c->m->ctx->err, rc, "step '%s': storing its items: %s",
                       c->m->ctx->step->name, sl_state_errmsg(c->m->st));
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->texts[i]);
    }
    c->next_idx += (int64_t)c->n;
    c->n = 0;
    return rc;
}

static int create_one(void *ud, const char *json, size_t len)
{
    creator_t *c = ud;
    char *t = malloc(len + 1);
    if (!t) {
        return SL_ENOMEM;
    }
    memcpy(t, json, len);
    t[len] = '\0';
    c->texts[c->n++] = t;
    return c->n == CREATE_CHUNK ? create_flush(c) : 0;
}

/* Computes the items and stores them in one transaction: a crash leaves
 * all of them or none. Items already stored (a retry of the map, a resume)
 * are made runnable again instead: those that ended ok stay. */
static int prepare_items(map_t *m)
{
    sl_step_ctx_t *ctx = m->ctx;
    int64_t counts[SL_STATUS_COUNT];
    int rc = sl_state_items_counts(m->st, ctx->run_id, m->items_step, counts);
    int64_t total = 0;
    for (int s = 0; rc == 0 && s < SL_STATUS_COUNT; s++) {
        total += counts[s];
    }
    if (rc == 0 && total > 0) {
        int64_t reset = 0;
        /* the run's lock says no other process works on this run, so every
         * unfinished item is ours to run again, leases or not */
        rc = sl_state_items_reset_unfinished(m->st, ctx->run_id, m->items_step, INT64_MAX,
                                             &reset);
        if (rc == 0 && reset) {
            sl_info("%s: %lld unfinished item(s) of %lld run again", m->path, (long long)reset,
                    (long long)total);
        }
    } else if (rc == 0) {
        sl_state_tx_t *tx = NULL;
        rc = sl_state_tx_begin(m->st, &tx);
        creator_t *c = rc == 0 ? calloc(1, sizeof *c) : NULL;
        if (rc == 0 && !c) {
            rc = SL_ENOMEM;
        }
        if (rc == 0) {
            c->m = m;
            rc = sl_map_items(ctx, m->cfg, create_one, c);
            if (rc == 0) {
                rc = create_flush(c);
            }
            for (size_t i = 0; i < c->n; i++) {
                free(c->texts[i]);
            }
            total = c->next_idx;
        }
        free(c);
        if (rc == 0) {
            rc = sl_state_tx_commit(tx);
        } else {
            sl_state_tx_rollback(tx);
        }
        if (rc == 0) {
            sl_info("%s: %lld item(s)", m->path, (long long)total);
        }
    }
    if (rc == 0) {
        rc = sl_state_items_counts(m->st, ctx->run_id, m->items_step, m->before);
    }
    if (rc && !ctx->err.msg[0]) {
        sl_err_set(&ctx->err, rc, "step '%s': items: %s", ctx->step->name,
                   rc == SL_ENOMEM ? "out of memory" : sl_state_errmsg(m->st));
    }
    m->total = total;
    /* this attempt runs the pending ones; the others ended before it */
    m->before[SL_STATUS_PENDING] = m->before[SL_STATUS_RUNNING] = 0;
    return rc;
}

/* "\"2026-12-10\": timeout, ...": the first failed items, for the map's
 * message. */
static int name_failed(void *ud, const sl_item_t *it)
{
    sl_buf_t *b = ud;
    sl_buf_append_c(b, b->len ? ", " : "");
    sl_buf_printf(b, "%.60s: %s", it->value_json, it->error_class ? it->error_class : "?");
    return 0;
}

int sl_map_run(sl_step_ctx_t *ctx, sl_step_result_t *res)
{
    const sl_map_cfg_t *cfg = ctx->step->map;
    map_t *m = calloc(1, sizeof *m);
    if (!m) {
        return sl_err_set(&ctx->err, SL_ENOMEM, "out of memory");
    }
    m->ctx = ctx;
    m->cfg = cfg;
    m->st = ctx->state;
    m->items_step = sl_ctx_unit(ctx);
    m->path = ctx->scope.step ? ctx->scope.step : ctx->step->name;
    m->item_policy = sl_retry_policy_default();
    m->item_policy.max_attempts = 1;
    sl_cancel_init(&m->stop, ctx->cancel);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(m->owner, sizeof m->owner, "%s:%d", host, (int)getpid());
    int rc = cfg->item_retry ? sl_retry_policy_from_node(cfg->item_retry, &m->item_policy,
                                                         &ctx->err)
                             : 0;
    if (rc == 0) {
        rc = prepare_items(m);
    }
    int64_t todo = m->total;
    for (int s = 0; s < SL_STATUS_COUNT; s++) {
        todo -= m->before[s];
    }
    m->nworkers = (int)(todo < cfg->max_concurrency ? todo : cfg->max_concurrency);
    if (rc == 0 && m->nworkers > 0) {
        m->workers = calloc((size_t)m->nworkers, sizeof *m->workers);
        rc = m->workers ? 0 : sl_err_set(&ctx->err, SL_ENOMEM, "out of memory");
    }
    m->exceeded = rc == 0 && tolerance_exceeded(m);
    for (int i = 0; rc == 0 && i < m->nworkers; i++) {
        m->workers[i] = (worker_t){.m = m, .id = i + 1};
        pthread_mutex_lock(&m->mu);
        m->live++;
        pthread_mutex_unlock(&m->mu);
        if (pthread_create(&m->workers[i].thread, NULL, worker_main, &m->workers[i]) != 0) {
            pthread_mutex_lock(&m->mu);
            m->live--;
            pthread_mutex_unlock(&m->mu);
            m->nworkers = i;
            map_fail(m, SL_ENOMEM, "cannot start a worker thread");
        }
    }
    if (rc == 0) {
        watch(m);
    }
    for (int i = 0; i < m->nworkers; i++) {
        pthread_join(m->workers[i].thread, NULL);
    }
    int64_t counts[SL_STATUS_COUNT] = {0};
    if (rc == 0 && sl_state_items_counts(m->st, ctx->run_id, m->items_step, counts) != 0) {
        rc = sl_err_set(&ctx->err, SL_ESTATE, "state store: %s", sl_state_errmsg(m->st));
    }
    res->records_in = m->records_in;
    res->records_out = m->records_out;
    res->bytes_in = m->bytes_in;
    if (rc == 0) {
        rc = sl_map_output(ctx, cfg, m->items_step, m->total, counts);
    }
    int64_t failed = failures(counts);
    int64_t not_run = counts[SL_STATUS_PENDING] + counts[SL_STATUS_RUNNING] +
                      counts[SL_STATUS_INTERRUPTED] + counts[SL_STATUS_CANCELLED];
    if (rc == 0 && m->fail_rc) {
        rc = sl_err_set(&ctx->err, m->fail_rc, "step '%s': %s", ctx->step->name, m->fail_msg);
    } else if (rc == 0 && m->exceeded) {
        sl_buf_t names = SL_BUF_INIT;
        sl_items_filter_t ff = {.statuses = SL_STATUS_BIT(SL_STATUS_FAILED) |
                                            SL_STATUS_BIT(SL_STATUS_TIMED_OUT),
                                .limit = 3};
        sl_state_items_list(m->st, ctx->run_id, m->items_step, &ff, name_failed, &names);
        rc = sl_err_set(&ctx->err, SL_ETOLERANCE,
                        "step '%s': %lld of %lld items failed, more than tolerated (%s%s); "
                        "%lld not run (runs resume runs them)",
                        ctx->step->name, (long long)failed, (long long)m->total,
                        names.data ? names.data : "", failed > 3 ? ", ..." : "",
                        (long long)not_run);
        sl_buf_free(&names);
    } else if (rc == 0 && (rc = sl_cancel_check(ctx->cancel)) != 0) {
        sl_err_set(&ctx->err, rc, "step '%s': %s with %lld of %lld items not run",
                   ctx->step->name, sl_strerror(rc), (long long)not_run, (long long)m->total);
    } else if (rc == 0 && not_run > 0) {
        rc = sl_err_set(&ctx->err, SL_ESTATE, "step '%s': %lld of %lld items did not run",
                        ctx->step->name, (long long)not_run, (long long)m->total);
    } else if (rc == 0 && (failed > 0 || counts[SL_STATUS_PARTIAL] > 0)) {
        res->status = SL_STATUS_PARTIAL; /* failures within the tolerance */
    }
    if (m->total > 0) {
        sl_info("%s: %lld item(s): %lld ok, %lld partial, %lld failed, %lld not run", m->path,
                (long long)m->total, (long long)counts[SL_STATUS_OK],
                (long long)counts[SL_STATUS_PARTIAL], (long long)failed, (long long)not_run);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m->workers);
    free(m);
    return rc;
}

