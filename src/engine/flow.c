/* The flow runner: source -> transforms -> sink in bounded batches.
 *
 * Memory stays flat: one batch arena is reused for every batch, and the
 * source never reads ahead more than one batch. Delivery: the checkpoint of
 * a batch ({"gen","seq","pos"}) is stored only after the sink has it; a
 * transactional sink stores it with the data, and at start the newer of
 * the state's and the sink's checkpoint wins. Sinks that publish only at
 * commit (files) get their checkpoints and source acks after commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "sluice/json.h"
#include "sluice/log.h"
#include "sluice/state.h"
#include "sluice/timeutil.h"

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

int sl_flow_run(sl_step_ctx_t *ctx, sl_step_result_t *res, bool progress)
{
    const sl_step_cfg_t *step = ctx->step;
    const sl_source_type_t *src = sl_registry_source(step->source.type);
    const sl_sink_type_t *sink = sl_registry_sink(step->sink.type);
    const sl_transform_type_t **xf = NULL;
    void *src_self = NULL, *sink_self = NULL, **xf_self = NULL;
    sl_arena_t *batch_arena = NULL;
    pending_ack_t *pending = NULL;
    size_t npending = 0, cap_pending = 0;
    char *last_cp = NULL;
    int64_t last_seq = 0;
    size_t nx = step->ntransforms;
    int rc = 0;
    bool sink_open = false, src_open = false;
    size_t xf_open = 0;

    if (!src || !sink) {
        return sl_err_set(&ctx->err, SL_ECONFIG, "step '%s': unknown plugin", step->name);
    }
    xf = calloc(nx ? nx : 1, sizeof *xf);
    xf_self = calloc(nx ? nx : 1, sizeof *xf_self);
    if (!xf || !xf_self) {
        rc = SL_ENOMEM;
        goto done;
    }

    rc = sink->open(ctx, step->sink.node, &sink_self);
    if (rc) {
        goto done;
    }
    sink_open = true;
    unsigned flags = sink->instance_flags ? sink->instance_flags(sink_self) : sink->flags;
    if (flags & SL_SINK_FULL_INPUT) {
        ctx->full_refresh = true;
    }
    bool durable = (flags & SL_SINK_DURABLE_PER_BATCH) != 0;

    char key[300];
    snprintf(key, sizeof key, "step:%s", step->name);
    int64_t gen = 1, seq = 0;
    rc = sl_state_generation(ctx->state, ctx->pipeline->name, &gen);
    if (rc) {
        sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
        goto done;
    }
    if (!ctx->full_refresh) {
        rc = find_resume(ctx, sink, sink_self, flags, key, gen, &seq);
        if (rc) {
            goto done;
        }
    }

    rc = src->open(ctx, step->source.node, &src_self);
    if (rc) {
        goto done;
    }
    src_open = true;
    for (size_t i = 0; i < nx; i++) {
        xf[i] = sl_registry_transform(step->transforms[i].type);
        rc = xf[i]->open(ctx, step->transforms[i].node, &xf_self[i]);
        if (rc) {
            goto done;
        }
        xf_open++;
    }

    batch_arena = sl_arena_create(1 << 20, 0);
    if (!batch_arena) {
        rc = SL_ENOMEM;
        goto done;
    }
    bool tty = progress && isatty(2);
    int64_t last_progress = 0;
    for (;;) {
        sl_arena_reset(batch_arena);
        sl_batch_t b = {0};
        b.arena = batch_arena;
        rc = src->next(src_self, &b, (size_t)step->batch_size);
        if (rc == SL_EOF) {
            rc = 0;
            break;
        }
        if (rc) {
            goto done;
        }
        res->records_in += (int64_t)b.n;
        res->bytes_in += (int64_t)b.bytes_in;
        for (size_t i = 0; i < nx && b.n > 0; i++) {
            rc = xf[i]->process(xf_self[i], ctx, &b);
            if (rc) {
                goto done;
            }
        }
        /* Rejects are on disk before the batch that dropped them is acked. */
        rc = sl_rejects_flush(ctx->rejects, &ctx->err);
        if (rc) {
            goto done;
        }
        char *cp = NULL;
        if (b.checkpoint) {
            cp = wrap_checkpoint(gen, ++seq, b.checkpoint);
            if (!cp) {
                rc = SL_ENOMEM;
                goto done;
            }
        }
        if (b.n > 0 || cp) {
            rc = sink->write(sink_self, &b, key, cp);
            if (rc) {
                free(cp);
                goto done;
            }
        }
        res->records_out += (int64_t)b.n;
        if (cp) {
            free(last_cp);
            last_cp = cp;
            last_seq = seq;
        }
        if (durable) {
            if (cp) {
                rc = sl_state_checkpoint_put(ctx->state, ctx->pipeline->name, key, cp, seq);
                if (rc) {
                    sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
                    goto done;
                }
            }
            if (src->ack) {
                rc = src->ack(src_self, &b);
                if (rc) {
                    goto done;
                }
            }
        } else if (b.checkpoint && src->ack) {
            if (npending == cap_pending) {
                cap_pending = cap_pending ? cap_pending * 2 : 64;
                pending_ack_t *grown = realloc(pending, cap_pending * sizeof *pending);
                if (!grown) {
                    rc = SL_ENOMEM;
                    goto done;
                }
                pending = grown;
            }
            pending[npending].origin = b.origin ? strdup(b.origin) : NULL;
            pending[npending].checkpoint = strdup(b.checkpoint);
            npending++;
        }
        if (tty) {
            int64_t now = sl_mono_us();
            if (now - last_progress > 200000) {
                show_progress(ctx, res, false);
                last_progress = now;
            }
        }
    }
    if (tty && res->records_in > 0) {
        show_progress(ctx, res, true);
    }
    if (sink->commit) {
        rc = sink->commit(sink_self);
        if (rc) {
            goto done;
        }
    }
    if (!durable && (last_cp || npending > 0)) {
        /* One transaction: a crash leaves either no ack (the rerun reads
         * everything again and publishes it again) or all of them. */
        rc = sl_state_tx_begin(ctx->state);
        if (!rc && last_cp) {
            rc = sl_state_checkpoint_put(ctx->state, ctx->pipeline->name, key, last_cp,
                                         last_seq);
        }
        if (rc) {
            sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
        }
        for (size_t i = 0; i < npending && rc == 0; i++) {
            sl_batch_t b = {0};
            b.origin = pending[i].origin;
            b.checkpoint = pending[i].checkpoint;
            rc = src->ack(src_self, &b);
        }
        if (rc == 0) {
            rc = sl_state_tx_commit(ctx->state);
            if (rc) {
                sl_err_set(&ctx->err, rc, "state store: %s", sl_state_errmsg(ctx->state));
            }
        } else {
            sl_state_tx_rollback(ctx->state);
        }
        if (rc) {
            goto done;
        }
    }

done:
    if (rc) {
        /* The rejects that failed the step must reach the disk too. */
        sl_err_t ferr;
        if (sl_rejects_flush(ctx->rejects, &ferr) != 0) {
            sl_warn("step %s: %s", step->name, ferr.msg);
        }
    }
    for (size_t i = xf_open; i-- > 0;) {
        if (xf[i]->close) {
            xf[i]->close(xf_self[i]);
        }
    }
    if (src_open && src->close) {
        src->close(src_self);
    }
    if (sink_open && sink->close) {
        sink->close(sink_self);
    }
    for (size_t i = 0; i < npending; i++) {
        free(pending[i].origin);
        free(pending[i].checkpoint);
    }
    free(pending);
    free(last_cp);
    free(xf);
    free(xf_self);
    sl_arena_destroy(batch_arena);
    if (rc && ctx->err.msg[0] == '\0') {
        sl_err_set(&ctx->err, rc, "step '%s': %s", step->name, sl_strerror(rc));
    }
    return rc;
}
