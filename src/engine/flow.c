/* The flow runner: source -> transforms -> sink in bounded batches.
 *
 * Memory stays flat: batch arenas are reused, one on one thread, RING on
 * two, and the source never reads ahead more than that. Delivery: the
 * checkpoint of a batch ({"gen","seq","pos"}) is stored only after the
 * sink has it; a transactional sink stores it with the data, and at start
 * the newer of the state's and the sink's checkpoint wins. Sinks that publish only at
 * commit (files) get their checkpoints and source acks after commit.
 *
 * With more than one thread the step runs as two stages: source and
 * transforms on a producer thread, the sink on the calling thread, with a
 * ring of batches between them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/cancel.h"
#include "sluice/fault.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"

/* Records per batch when the step does not say (see sl_flow_run). */
#define BATCH_DEFAULT 10000
#define BATCH_CACHED 1000

typedef struct {
    char *origin;
    char *checkpoint;
} pending_ack_t;

typedef struct {
    int64_t gen;
    int64_t seq;
    char *pos; /* JSON text, malloc'd */
} wrapped_cp_t;

/* Parses {"gen":G,"seq":S,"pos":...}; returns false when malformed. */
static bool unwrap_checkpoint(const char *text, wrapped_cp_t *out)
{
    memset(out, 0, sizeof *out);
    if (!text) {
        return false;
    }
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_value_t v;
    sl_json_error_t jerr;
    bool ok = false;
    if (a && sl_json_parse(a, text, strlen(text), NULL, &v, &jerr) == 0) {
        sl_value_t *gen = sl_object_get_c(&v, "gen");
        sl_value_t *seq = sl_object_get_c(&v, "seq");
        sl_value_t *pos = sl_object_get_c(&v, "pos");
        sl_value_t *reset = sl_object_get_c(&v, "reset");
        if (gen && seq && gen->type == SL_T_INT && seq->type == SL_T_INT && !pos && reset &&
            reset->type == SL_T_BOOL && reset->u.i) {
            /* A step reset: start from the beginning, numbering on. */
            out->gen = gen->u.i;
            out->seq = seq->u.i;
            ok = true;
        } else if (gen && seq && pos && gen->type == SL_T_INT && seq->type == SL_T_INT) {
            sl_buf_t b = SL_BUF_INIT;
            if (sl_json_write(&b, pos, 0) == 0) {
                out->gen = gen->u.i;
                out->seq = seq->u.i;
                out->pos = b.data;
                ok = true;
            } else {
                sl_buf_free(&b);
            }
        }
    }
    sl_arena_destroy(a);
    return ok;
}

static char *wrap_checkpoint(int64_t gen, int64_t seq, const char *pos)
{
    sl_buf_t b = SL_BUF_INIT;
    if (sl_buf_printf(&b, "{\"gen\":%lld,\"seq\":%lld,\"pos\":%s}", (long long)gen,
                      (long long)seq, pos) != 0) {
        sl_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Picks the resume point: the newest checkpoint of the current generation
 * from the state store or the sink. Sets ctx->resume and *seq. */
static int find_resume(sl_step_ctx_t *ctx, const sl_sink_type_t *sink, void *sink_self,
                       unsigned flags, const char *key, int64_t gen, int64_t *seq)
{
    *seq = 0;
    ctx->resume = NULL;
    wrapped_cp_t best = {0}, cand;
    bool have = false;
    sl_checkpoint_t cp;
    int rc = sl_state_checkpoint_get(ctx->state, ctx->pipeline->name, key, &cp);
    if (rc == 0) {
        if (unwrap_checkpoint(cp.value, &cand) && cand.gen == gen) {
            best = cand;
            have = true;
        } else {
            free(cand.pos);
        }
        sl_checkpoint_free(&cp);
    } else if (rc != SL_ENOTFOUND) {
        return sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
    }
    if ((flags & SL_SINK_TRANSACTIONAL) && sink->checkpoint_get) {
        char *text = NULL;
        rc = sink->checkpoint_get(sink_self, key, &text);
        if (rc) {
            return rc;
        }
        if (unwrap_checkpoint(text, &cand) && cand.gen == gen && (!have || cand.seq > best.seq)) {
            free(best.pos);
            best = cand;
            have = true;
            sl_debug("step %s: resuming from the sink's checkpoint (seq %lld)",
                     ctx->step->name, (long long)cand.seq);
        } else {
            free(cand.pos);
        }
        free(text);
    }
    if (have) {
        ctx->resume = best.pos ? sl_arena_strdup(ctx->arena, best.pos) : NULL;
        *seq = best.seq;
        free(best.pos);
    }
    return 0;
}

int sl_engine_reset_step(sl_state_t *st, const char *pipeline, const char *step, sl_err_t *err)
{
    char key[300], files_key[300];
    snprintf(key, sizeof key, "step:%s", step);
    snprintf(files_key, sizeof files_key, "files:%s", step);
    int64_t gen = 1, seq = 0;
    int rc = sl_state_generation(st, pipeline, &gen);
    sl_checkpoint_t cp;
    if (rc == 0 && (rc = sl_state_checkpoint_get(st, pipeline, key, &cp)) == 0) {
        wrapped_cp_t old;
        if (unwrap_checkpoint(cp.value, &old) && old.gen == gen) {
            seq = old.seq;
        }
        free(old.pos);
        sl_checkpoint_free(&cp);
    }
    if (rc == SL_ENOTFOUND) {
        rc = 0;
    }
    if (rc == 0) {
        rc = sl_state_reset(st, pipeline, files_key);
    }
    if (rc == 0) {
        /* A sink may hold a checkpoint one batch ahead of the state's: the
         * marker's sequence is past it, so the marker wins at the next run. */
        char marker[96];
        seq += 1000;
        snprintf(marker, sizeof marker, "{\"gen\":%lld,\"seq\":%lld,\"reset\":true}",
                 (long long)gen, (long long)seq);
        rc = sl_state_checkpoint_put(st, pipeline, key, marker, seq);
    }
    if (rc) {
        return sl_err_set(err, rc, "%s", sl_state_errmsg(st));
    }
    return 0;
}

static void show_progress(const sl_step_ctx_t *ctx, const sl_step_result_t *res, bool done)
{
    double secs = (double)(sl_now_us() - res->started_us) / 1e6;
    double rate = secs > 0 ? (double)res->records_in / secs : 0;
    fprintf(stderr, "\r\033[K%s: %lld records, %.1f MB, %.0f rec/s%s", ctx->step->name,
            (long long)res->records_in, (double)res->bytes_in / 1e6, rate, done ? "\n" : "");
    fflush(stderr);
}

/* Everything one running flow step needs, shared by the two stages. */
typedef struct {
    sl_step_ctx_t *ctx;
    sl_step_result_t *res;
    const sl_source_type_t *src;
    const sl_sink_type_t *sink;
    const sl_transform_type_t **xf;
    void *src_self, *sink_self, **xf_self;
    size_t nx;
    char key[300];
    int64_t gen, seq;
    bool durable;
    size_t batch_size;
    pending_ack_t *pending; /* acks replayed after commit (non-durable sinks) */
    size_t npending, cap_pending;
    char *last_cp;
    int64_t last_seq;
    bool tty;
    int64_t last_progress;
} flow_t;

/* A timeout or cancel stops the step between batches: what was written
 * and checkpointed stays. */
static int check_stop(flow_t *f)
{
    int rc = sl_cancel_check(f->ctx->cancel);
    if (rc) {
        sl_err_set(&f->ctx->err, rc, "step '%s': %s; stopped between batches",
                   f->ctx->step->name, sl_strerror(rc));
    }
    return rc;
}

/* Stage 1: read a batch and transform it. Returns 0, SL_EOF or an error.
 * *n_in gets the records read (before transforms dropped any). */
static int produce(flow_t *f, sl_batch_t *b, int64_t *n_in)
{
    int rc = check_stop(f);
    if (rc) {
        return rc;
    }
    rc = f->src->next(f->src_self, b, f->batch_size);
    if (rc) {
        return rc;
    }
    *n_in = (int64_t)b->n;
    for (size_t i = 0; i < f->nx && b->n > 0; i++) {
        rc = f->xf[i]->process(f->xf_self[i], f->ctx, b);
        if (rc) {
            return rc;
        }
    }
    /* Rejects are on disk before the batch that dropped them is acked. */
    return sl_rejects_flush(f->ctx->rejects, &f->ctx->err);
}

/* Stage 2: write a batch to the sink and record its progress. */
static int consume(flow_t *f, sl_batch_t *b, int64_t n_in)
{
    sl_step_ctx_t *ctx = f->ctx;
    f->res->records_in += n_in;
    f->res->bytes_in += (int64_t)b->bytes_in;
    char *cp = NULL;
    if (b->checkpoint) {
        cp = wrap_checkpoint(f->gen, ++f->seq, b->checkpoint);
        if (!cp) {
            return SL_ENOMEM;
        }
    }
    if (b->n > 0 || cp) {
        int rc = f->sink->write(f->sink_self, b, f->key, cp);
        /* A sink rejects too (a null key, a value outside a declared
         * schema): on disk before the batch is acknowledged. */
        if (!rc) {
            rc = sl_rejects_flush(ctx->rejects, &ctx->err);
        }
        if (rc) {
            free(cp);
            return rc;
        }
    }
    SL_FAULT_POINT("flow.after_sink_write");
    f->res->records_out += (int64_t)b->n;
    if (cp) {
        free(f->last_cp);
        f->last_cp = cp;
        f->last_seq = f->seq;
    }
    if (f->durable) {
        if (cp) {
            int rc = sl_state_checkpoint_put_fenced(ctx->state, ctx->pipeline->name, f->key, cp,
                                                    f->seq, ctx->fence);
            if (rc) {
                return sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
            }
            SL_FAULT_POINT("flow.after_checkpoint");
        }
        if (f->src->ack) {
            int rc = f->src->ack(f->src_self, b);
            if (rc) {
                return rc;
            }
        }
    } else if (b->checkpoint && f->src->ack) {
        if (f->npending == f->cap_pending) {
            size_t cap = f->cap_pending ? f->cap_pending * 2 : 64;
            pending_ack_t *grown = realloc(f->pending, cap * sizeof *grown);
            if (!grown) {
                return SL_ENOMEM;
            }
            f->pending = grown;
            f->cap_pending = cap;
        }
        pending_ack_t *p = &f->pending[f->npending];
        p->origin = b->origin ? strdup(b->origin) : NULL;
        p->checkpoint = strdup(b->checkpoint);
        if (!p->checkpoint || (b->origin && !p->origin)) {
            free(p->origin);
            free(p->checkpoint);
            return SL_ENOMEM;
        }
        f->npending++;
    }
    if (f->tty) {
        int64_t now = sl_mono_us();
        if (now - f->last_progress > 200000) {
            show_progress(ctx, f->res, false);
            f->last_progress = now;
        }
    }
    return 0;
}

static int run_serial(flow_t *f)
{
    sl_arena_t *arena = sl_arena_create(1 << 20, 0);
    if (!arena) {
        return SL_ENOMEM;
    }
    int rc;
    for (;;) {
        sl_arena_reset(arena);
        sl_batch_t b = {0};
        b.arena = arena;
        int64_t n_in = 0;
        rc = produce(f, &b, &n_in);
        if (rc == SL_EOF) {
            rc = 0;
            break;
        }
        if (rc || (rc = consume(f, &b, n_in)) != 0) {
            break;
        }
    }
    sl_arena_destroy(arena);
    return rc;
}

/* Two stages on two threads: the source and transforms fill batches while
 * the sink writes the previous ones. A ring of RING batches bounds memory
 * and gives back-pressure; batches reach the sink in order. Eight, not
 * two or three: a sink pauses now and then for a long stretch (the lake
 * sink encodes and compresses a whole row group at once), and the
 * producer keeps going meanwhile instead of waiting on a full ring
 * (JSONL to Parquet on two threads: 15% faster than with three). Big
 * records make big batches: past RING_BYTES in flight the producer waits
 * until fewer than two batches are (one being written, one waiting), so
 * memory stays a few batches, as with a short ring. A batch's memory is
 * freed as soon as the sink has it. */
#define RING 8
#define RING_BYTES ((size_t)64 << 20)

typedef struct {
    sl_arena_t *arena;
    sl_batch_t b;
    int64_t n_in;
    int rc;
    bool ready;
    size_t bytes; /* arena and input the batch holds */
} slot_t;

typedef struct {
    flow_t *f;
    slot_t slots[RING];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    size_t ready_n, ready_bytes; /* batches produced and not yet consumed */
} ring_t;

static void *producer_main(void *arg)
{
    ring_t *r = arg;
    sl_log_scope_set(&r->f->ctx->scope); /* this thread works for the same unit */
    for (size_t i = 0;; i = (i + 1) % RING) {
        slot_t *s = &r->slots[i];
        pthread_mutex_lock(&r->mu);
        while ((s->ready || (r->ready_n >= 2 && r->ready_bytes >= RING_BYTES)) && !r->stop) {
            pthread_cond_wait(&r->cv, &r->mu);
        }
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop) {
            break;
        }
        /* the slot's arena is new or was reset by the consumer */
        memset(&s->b, 0, sizeof s->b);
        s->b.arena = s->arena;
        s->n_in = 0;
        int rc = produce(r->f, &s->b, &s->n_in);
        s->bytes = sl_arena_used(s->arena) + s->b.bytes_in;
        pthread_mutex_lock(&r->mu);
        s->rc = rc;
        s->ready = true;
        r->ready_n++;
        r->ready_bytes += s->bytes;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (rc) {
            break; /* SL_EOF or an error: the consumer sees it in order */
        }
    }
    return NULL;
}

static int run_threaded(flow_t *f)
{
    ring_t r;
    memset(&r, 0, sizeof r);
    r.f = f;
    for (size_t i = 0; i < RING; i++) {
        r.slots[i].arena = sl_arena_create(1 << 20, 0);
        if (!r.slots[i].arena) {
            for (size_t k = 0; k < i; k++) {
                sl_arena_destroy(r.slots[k].arena);
            }
            return SL_ENOMEM;
        }
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t th;
    int rc = pthread_create(&th, NULL, producer_main, &r) == 0 ? 0 : SL_ENOMEM;
    bool started = rc == 0;
    for (size_t i = 0; started; i = (i + 1) % RING) {
        slot_t *s = &r.slots[i];
        pthread_mutex_lock(&r.mu);
        while (!s->ready) {
            pthread_cond_wait(&r.cv, &r.mu);
        }
        pthread_mutex_unlock(&r.mu);
        if (s->rc) {
            rc = s->rc == SL_EOF ? 0 : s->rc;
            break;
        }
        rc = check_stop(f);
        if (rc == 0) {
            rc = consume(f, &s->b, s->n_in);
        }
        /* free the batch now, not when the producer comes round to this
         * slot again (RING batches later) */
        sl_arena_reset(s->arena);
        pthread_mutex_lock(&r.mu);
        s->ready = false;
        r.ready_n--;
        r.ready_bytes -= s->bytes;
        r.stop = rc != 0;
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        if (rc) {
            break;
        }
    }
    if (started) {
        pthread_mutex_lock(&r.mu);
        r.stop = true;
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        pthread_join(th, NULL);
    }
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    for (size_t i = 0; i < RING; i++) {
        sl_arena_destroy(r.slots[i].arena);
    }
    return rc;
}

/* After the sink's commit: for sinks that publish only then, the last
 * checkpoint and every source ack in one transaction, so a crash leaves
 * either no ack (the rerun reads everything again and publishes it again)
 * or all of them. */
static int ack_after_commit(flow_t *f)
{
    sl_step_ctx_t *ctx = f->ctx;
    if (f->durable || (!f->last_cp && f->npending == 0)) {
        return 0;
    }
    sl_state_tx_t *tx = NULL;
    int rc = sl_state_tx_begin(ctx->state, &tx);
    if (!rc && f->last_cp) {
        rc = sl_state_checkpoint_put_fenced(ctx->state, ctx->pipeline->name, f->key, f->last_cp,
                                            f->last_seq, ctx->fence);
    }
    if (rc) {
        sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
    }
    SL_FAULT_POINT("flow.acks_mid_transaction");
    for (size_t i = 0; i < f->npending && rc == 0; i++) {
        sl_batch_t b = {0};
        b.origin = f->pending[i].origin;
        b.checkpoint = f->pending[i].checkpoint;
        rc = f->src->ack(f->src_self, &b);
    }
    if (rc == 0) {
        rc = sl_state_tx_commit(tx);
        if (rc) {
            sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
        }
    } else {
        sl_state_tx_rollback(tx);
    }
    return rc;
}

/* The step's output: its counts and the position it reached (the sink
 * adds what it wrote, e.g. files, when it commits). */
static int flow_output(flow_t *f)
{
    sl_step_ctx_t *ctx = f->ctx;
    int rc = sl_step_output_int(ctx, "records_in", f->res->records_in);
    if (!rc) {
        rc = sl_step_output_int(ctx, "records_out", f->res->records_out);
    }
    if (!rc) {
        rc = sl_step_output_int(ctx, "rejected", sl_rejects_count(ctx->rejects));
    }
    if (!rc) {
        rc = sl_step_output_int(ctx, "bytes_in", f->res->bytes_in);
    }
    wrapped_cp_t cp;
    if (!rc && f->last_cp && unwrap_checkpoint(f->last_cp, &cp) && cp.pos) {
        sl_value_t v;
        sl_json_error_t jerr;
        if (sl_json_parse(ctx->arena, cp.pos, strlen(cp.pos), NULL, &v, &jerr) == 0) {
            rc = sl_step_output_put(ctx, "checkpoint", &v);
        }
        free(cp.pos);
    }
    return rc;
}

int sl_flow_run(sl_step_ctx_t *ctx, sl_step_result_t *res)
{
    int threads = ctx->threads;
    const sl_step_cfg_t *step = ctx->step;
    flow_t f;
    memset(&f, 0, sizeof f);
    f.ctx = ctx;
    f.res = res;
    f.src = step->source.source;
    f.sink = step->sink.sink;
    f.nx = step->ntransforms;
    int rc = 0;
    bool sink_open = false, src_open = false;
    size_t xf_open = 0;

    if (!f.src || !f.sink) {
        return sl_err_set(&ctx->err, SL_ECONFIG, "step '%s': unknown plugin", step->name);
    }
    f.xf = calloc(f.nx ? f.nx : 1, sizeof *f.xf);
    f.xf_self = calloc(f.nx ? f.nx : 1, sizeof *f.xf_self);
    if (!f.xf || !f.xf_self) {
        rc = SL_ENOMEM;
        goto done;
    }

    rc = f.sink->open(ctx, step->sink.node, &f.sink_self);
    if (rc) {
        goto done;
    }
    sink_open = true;
    unsigned flags =
        f.sink->instance_flags ? f.sink->instance_flags(f.sink_self) : f.sink->flags;
    if (flags & SL_SINK_FULL_INPUT) {
        ctx->full_refresh = true;
    }
    f.durable = (flags & SL_SINK_DURABLE_PER_BATCH) != 0;
    /* Unless configured: sinks that commit per batch get big batches (fewer
     * transactions). The others, on one thread, get small ones: a batch
     * then stays in the CPU cache from parsing through transforms to the
     * sink, some 3% faster. On two threads the handoffs between the stages
     * cost more than the cache saves. */
    f.batch_size = step->batch_size > 0                ? (size_t)step->batch_size
                   : threads != 1 || f.durable         ? BATCH_DEFAULT
                                                       : BATCH_CACHED;

    snprintf(f.key, sizeof f.key, "step:%s", ctx->unit ? ctx->unit : step->name);
    f.gen = 1;
    rc = sl_state_generation(ctx->state, ctx->pipeline->name, &f.gen);
    if (rc) {
        sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
        goto done;
    }
    if (!ctx->full_refresh) {
        rc = find_resume(ctx, f.sink, f.sink_self, flags, f.key, f.gen, &f.seq);
        if (rc) {
            goto done;
        }
    }

    rc = f.src->open(ctx, step->source.node, &f.src_self);
    if (rc) {
        goto done;
    }
    src_open = true;
    for (size_t i = 0; i < f.nx; i++) {
        f.xf[i] = step->transforms[i].transform;
        rc = f.xf[i]->open(ctx, step->transforms[i].node, &f.xf_self[i]);
        if (rc) {
            goto done;
        }
        xf_open++;
    }

    f.tty = ctx->progress && isatty(2);
    rc = threads == 1 ? run_serial(&f) : run_threaded(&f);
    if (rc) {
        goto done;
    }
    if (f.tty && res->records_in > 0) {
        show_progress(ctx, res, true);
    }
    if (f.sink->commit) {
        rc = f.sink->commit(f.sink_self);
        if (rc) {
            goto done;
        }
    }
    SL_FAULT_POINT("flow.after_commit");
    rc = ack_after_commit(&f);
    if (rc == 0) {
        rc = flow_output(&f);
    }

done:
    if (rc) {
        /* The rejects that failed the step must reach the disk too. */
        sl_err_t ferr;
        if (sl_rejects_flush(ctx->rejects, &ferr) != 0) {
            sl_warn("step %s: %s", step->name, ferr.msg);
        }
    }
    /* A plugin whose open failed after setting *self gets its close too,
     * to free what it had built (closes take half-built instances). */
    if (xf_open < f.nx && f.xf && f.xf_self && f.xf_self[xf_open]) {
        xf_open++;
    }
    for (size_t i = xf_open; i-- > 0;) {
        if (f.xf[i]->close) {
            f.xf[i]->close(f.xf_self[i]);
        }
    }
    if ((src_open || f.src_self) && f.src->close) {
        f.src->close(f.src_self);
    }
    if ((sink_open || f.sink_self) && f.sink->close) {
        f.sink->close(f.sink_self);
    }
    for (size_t i = 0; i < f.npending; i++) {
        free(f.pending[i].origin);
        free(f.pending[i].checkpoint);
    }
    free(f.pending);
    free(f.last_cp);
    free(f.xf);
    free(f.xf_self);
    if (rc && ctx->err.msg[0] == '\0') {
        sl_err_set(&ctx->err, rc, "step '%s': %s", step->name, sl_strerror(rc));
    }
    return rc;
}
