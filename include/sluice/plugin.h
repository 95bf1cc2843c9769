/* Plugin interfaces: sources, transforms and sinks, and the batch that flows
 * between them.
 *
 * A plugin *type* is one const struct (name, doc, config spec, callbacks);
 * an *instance* is the void *self its open() returns. Records move in
 * batches: the source appends records into the batch arena, transforms edit
 * them in place (dropping records by compacting the array), the sink writes
 * them, and the engine resets the arena once the sink acknowledged. */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include "sluice/arena.h"
#include "sluice/config.h"
#include "sluice/log.h"
#include "sluice/template.h"
#include "sluice/value.h"

struct sl_state;
struct sl_rejects;

struct sl_cancel;
struct sl_fence;
struct sl_frame;

/* The context of one unit of work (a step, or a map item's step): what
 * its plugins share at run time. Owned by the engine; each unit has its
 * own, so units running side by side share nothing through it.
 *
 * Which callbacks may run concurrently:
 *  - Different instances may run at the same time on different threads
 *    (the branches of a parallel step, the items of a map): plugins keep
 *    no mutable global state.
 *  - One instance is never entered by two threads for the same callback.
 *    open and close run on the unit's thread. In a two-stage flow (threads
 *    > 1) the source's next and the transforms' process run on a producer
 *    thread, while the sink's callbacks and the source's ack run on the
 *    unit's thread: a source's ack may run while its next runs, so the two
 *    share only what is safe to share (the state store, immutable config).
 *  - Log lines carry the unit's scope on every thread it uses (log.h). */
typedef struct sl_step_ctx {
    const sl_pipeline_t *pipeline;
    const sl_step_cfg_t *step;
    const char *base_dir;     /* folder of the pipeline file */
    sl_arena_t *arena;        /* lives as long as the step */
    const sl_value_t *params; /* object: typed params */
    const sl_value_t *run;    /* object: id, started_at, pipeline */
    const char *run_id;       /* UUID text */
    int64_t run_started_us;   /* UTC microseconds */
    struct sl_state *state;
    struct sl_rejects *rejects;
    /* Resume point for the source: the newest checkpoint JSON stored for
     * this step (by the state or by a transactional sink), or NULL. */
    const char *resume;
    bool full_refresh;        /* ignore checkpoints */
    int threads;              /* a flow's stages: 1 on the calling thread, else two */
    bool progress;            /* a progress line on a terminal */
    const sl_value_t *item;   /* the map item this unit runs for, or NULL */
    /* The unit's name in state keys (checkpoints, ingested files): the
     * step's name, or "per_date[2026-12-07]/extract" for a step of a map
     * item, so every item keeps its own progress. */
    const char *unit;
    /* The lease of the map item this unit runs for, or NULL: checkpoint
     * writes carry it, so a holder whose lease was taken over cannot
     * overwrite the new holder's progress. */
    const struct sl_fence *fence;
    /* The list of steps this unit is part of (engine-internal: the kinds
     * that run nested steps, map and parallel, start theirs from it). */
    const struct sl_frame *frame;
    const sl_value_t *steps;  /* {NAME: {status, output}} of the steps run before */
    const sl_value_t *error;  /* {class, message, step} after a caught failure, or NULL */
    /* Cancellation and the deadline of this unit (and of its run): checked
     * at batch boundaries; NULL when nothing can stop it. */
    struct sl_cancel *cancel;
    sl_log_scope_t scope;     /* run/step/item on this unit's log lines */
    /* The step's output object (sl_step_output_put), in out_arena, which
     * outlives the step. */
    sl_arena_t *out_arena;
    sl_value_t output;
    sl_err_t err;             /* message and code of the last error */
} sl_step_ctx_t;

typedef struct sl_batch {
    sl_arena_t *arena;    /* owns everything in the batch */
    sl_value_t *records;  /* n objects */
    uint64_t *lines;      /* origin line / record number of each record */
    size_t n;
    size_t cap;
    const char *origin;   /* where the records came from (path, URL) */
    uint64_t bytes_in;    /* input bytes this batch consumed */
    /* Source position after this batch, as JSON, or NULL. The engine stores
     * it once the sink acknowledged the batch (or with the batch). */
    const char *checkpoint;
} sl_batch_t;

/* Keeps record i at slot w while a transform compacts b in place (w <= i):
 * the record and its origin line move together. Returns w + 1, the next
 * free slot. */
static inline size_t sl_batch_keep(sl_batch_t *b, size_t w, size_t i)
{
    if (w != i) {
        b->records[w] = b->records[i];
        if (b->lines) {
            b->lines[w] = b->lines[i];
        }
    }
    return w + 1;
}

/* Appends a record (the arena must be the batch's). Returns SL_ENOMEM. */
int sl_batch_push(sl_batch_t *b, sl_value_t rec, uint64_t line);

/* Sends record i of b to the step's rejects with reason; counts it.
 * Returns 0 while within max_rejects, SL_EREJECTS beyond (ctx->err set). The
 * caller drops the record from the batch. */
int sl_reject_record(sl_step_ctx_t *ctx, const sl_batch_t *b, size_t i, const char *reason);
/* Writes the step's pending rejects to disk. A transactional sink that
 * rejects records calls it before committing the batch, so a crash never
 * keeps the batch and loses its rejects. */
int sl_reject_flush(sl_step_ctx_t *ctx);
/* Same for input that never became a record (a malformed line): raw is the
 * line's text. */
int sl_reject_raw(sl_step_ctx_t *ctx, const char *origin, uint64_t line, const char *raw,
                  size_t rawlen, const char *reason);

/* ---- sources ---- */
typedef struct sl_source_type {
    const char *name;
    const char *doc;
    const sl_field_spec_t *config;
    /* cfg is the source's map. Errors go to ctx->err. */
    int (*open)(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self);
    /* Fills b (empty, arena fresh) with up to max records. Returns 0 (b may
     * be empty only when progress was made, e.g. a skipped file), SL_EOF
     * when exhausted, or an error. A batch never spans two origins. */
    int (*next)(void *self, sl_batch_t *b, size_t max);
    /* The batch's records are durably stored: record progress (ingested
     * files, cursors) in the state store. Only b->origin and b->checkpoint
     * may be read (for sinks that publish at commit the engine replays the
     * acks after commit, when the records are gone). */
    int (*ack)(void *self, const sl_batch_t *b);
    void (*close)(void *self);
    /* Optional: checks cfg beyond its schema (rules between keys) without
     * side effects or secrets, for `sluice validate`; open() calls it too,
     * so a run fails with the same message. Returns 0 or SL_ECONFIG. */
    int (*check)(const sl_node_t *cfg, sl_err_t *err);
} sl_source_type_t;

/* ---- transforms ---- */
typedef struct sl_transform_type {
    const char *name;
    const char *doc;
    const sl_field_spec_t *config;
    int (*open)(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self);
    /* Edits b in place; may drop records (compacting records and lines
     * together) and reject them with sl_reject_record. */
    int (*process)(void *self, sl_step_ctx_t *ctx, sl_batch_t *b);
    void (*close)(void *self);
    /* Optional: as for sources; validate also opens transforms, which
     * compiles their templates and expressions against the params. */
    int (*check)(const sl_node_t *cfg, sl_err_t *err);
} sl_transform_type_t;

/* ---- sinks ---- */
enum {
    /* write() makes the batch durable before returning */
    SL_SINK_DURABLE_PER_BATCH = 1,
    /* write() stores the checkpoint in the same transaction as the data,
     * and checkpoint_get() reads it back */
    SL_SINK_TRANSACTIONAL = 2,
    /* the sink replaces its target with this run's data (mode: replace),
     * so the source must read everything, ignoring checkpoints */
    SL_SINK_FULL_INPUT = 4,
};

typedef struct sl_sink_type {
    const char *name;
    const char *doc;
    const sl_field_spec_t *config;
    unsigned flags;
    /* Optional: checks cfg beyond its schema (rules between keys) without
     * side effects, for `sluice validate`. Returns 0 or SL_ECONFIG. */
    int (*check)(const sl_node_t *cfg, sl_err_t *err);
    int (*open)(sl_step_ctx_t *ctx, const sl_node_t *cfg, void **self);
    /* Optional: flags of this instance (e.g. depending on mode); when NULL
     * the type's flags apply. */
    unsigned (*instance_flags)(void *self);
    /* Writes the batch. checkpoint (JSON, may be NULL) is stored with the
     * data by transactional sinks under (pipeline, key). */
    int (*write)(void *self, sl_batch_t *b, const char *key, const char *checkpoint);
    /* Publishes everything written (renames temp files). Called once at
     * the end of a successful step. */
    int (*commit)(void *self);
    /* Transactional sinks: the checkpoint stored under key, malloc'd, or
     * NULL; returns 0 or an error. */
    int (*checkpoint_get)(void *self, const char *key, char **out);
    /* Releases resources; uncommitted output is discarded. */
    void (*close)(void *self);
} sl_sink_type_t;

/* ---- registry (src/plugins/registry.c) ---- */
const sl_source_type_t *sl_registry_source(const char *name);
const sl_transform_type_t *sl_registry_transform(const char *name);
const sl_sink_type_t *sl_registry_sink(const char *name);
/* NULL-terminated lists, for help and did-you-mean. */
extern const sl_source_type_t *const sl_sources[];
extern const sl_transform_type_t *const sl_transforms[];
extern const sl_sink_type_t *const sl_sinks[];

/* The unit's name in state keys (see sl_step_ctx_t.unit). */
static inline const char *sl_ctx_unit(const sl_step_ctx_t *ctx)
{
    return ctx->unit ? ctx->unit : ctx->step ? ctx->step->name : "?";
}

/* What templates and expressions of this unit see, record aside. */
static inline sl_tmpl_ctx_t sl_step_tmpl_ctx(const sl_step_ctx_t *ctx)
{
    sl_tmpl_ctx_t tc = {.params = ctx->params,
                        .run = ctx->run,
                        .item = ctx->item,
                        .steps = ctx->steps,
                        .error = ctx->error};
    return tc;
}

/* Adds key (copied) = v (deep-copied) to the step's output object, which
 * later steps read as {{ steps.NAME.output.KEY }}: e.g. a sink lists the
 * files it published under "files". Returns 0 or SL_ENOMEM. */
int sl_step_output_put(sl_step_ctx_t *ctx, const char *key, const sl_value_t *v);
int sl_step_output_int(sl_step_ctx_t *ctx, const char *key, int64_t n);

/* Renders a config string once, at open: "{{ params.x }}", "{{ run.id }}",
 * "{{ env.X }}", "{{ item }}", "{{ steps.NAME.output.x }}" (never record,
 * which differs per record). Returns 0 with
 * *out in ctx->arena, SL_ECONFIG for a bad template (terr says why, with
 * its column), or SL_EINVAL when it uses record; callers phrase the
 * messages with their plugin and key. */
int sl_render_once(sl_step_ctx_t *ctx, const char *text, const char **out, sl_err_t *terr);

/* ---- pure config checks shared by check() functions (src/plugins/cfgcheck.c) ---- */

/* True when a scalar's value is known before a run: no {{ }} template to
 * render and no unresolved ${...} reference. check() tests only such
 * values; the others are tested when the step opens. */
bool sl_cfg_literal(const sl_node_t *n);

/* Reads cfg's CSV `delimiter`: one character, or `\t` / `tab`; not a
 * quote or a line break. *out is 0 when the key is absent (or unresolved).
 * what names the plugin ("source 'file'"). Returns 0 or SL_ECONFIG:
 * "p.yaml:7:30: source 'file': delimiter must be one character, got ';;'". */
int sl_cfg_delimiter(const sl_node_t *cfg, const char *what, char *out, sl_err_t *err);

/* Checks that the items of the string-list key (a scalar or a list) are
 * distinct: "%s: KEY: 'x' is listed twice". Returns 0 or SL_ECONFIG. */
int sl_cfg_distinct(const sl_node_t *cfg, const char *key, const char *what, sl_err_t *err);

/* Resolves a location from config: plain paths relative to base_dir,
 * file:///abs/path, or returns other URLs (s3://...) unchanged. Result is
 * allocated in a. */
const char *sl_resolve_path(sl_arena_t *a, const char *base_dir, const char *loc);

#endif
