/* Engine internals shared by the files in src/engine/. */
#ifndef SLUICE_ENGINE_INTERNAL_H
#define SLUICE_ENGINE_INTERNAL_H

#include "sluice/engine.h"
#include "sluice/plugin.h"
#include "sluice/step.h"

#include <stdio.h>

#include "sluice/cancel.h"

/* The step kinds of step_kinds.c and map.c. */
extern const sl_step_kind_t sl_step_flow, sl_step_sql, sl_step_map, sl_step_parallel,
    sl_step_call;

/* A list of steps being run, and what they see: the pipeline's own list,
 * or the sub-steps of one map item. A frame runs its steps in order on
 * the calling thread; frames of different items run side by side, sharing
 * only what is read-only (the definition, params, run) and what is
 * thread-safe (the state store, cancel tokens). */
typedef struct sl_frame {
    const sl_pipeline_t *p;
    sl_state_t *st;
    const sl_value_t *params, *run;
    const char *run_id;
    int64_t run_started_us;
    bool full_refresh;     /* --full-refresh */
    bool progress;         /* progress lines on a terminal */
    int threads;           /* a flow's stages */
    const char *state_url; /* the run's state store (a call step's run uses it too) */
    const sl_cancel_t *run_cancel; /* the run's token: its timeout, a cancel */
    const sl_cancel_t *cancel;     /* parent of each step's token: the run's or the item's */
    const sl_step_cfg_t *steps;
    size_t nsteps;
    sl_step_result_t *res; /* nsteps results, filled as the steps run */
    sl_arena_t *arena;     /* steps_value, error and the step outputs: the frame's life */
    sl_value_t steps_value; /* {NAME: {status, output}} of the steps run so far */
    sl_value_t error;      /* {class, message, step} after a caught failure */
    const sl_value_t *item;    /* the map item, or NULL */
    const char *item_label;    /* the item on log lines ("2026-12-07", "#17"), or NULL */
    const char *path;      /* "" or "per_date/": prefix of the steps' paths (rows, logs) */
    const char *unit;      /* "" or "per_date[KEY]/": prefix of their state keys */
    const sl_fence_t *fence;   /* the item's lease, or NULL */
    bool record_rows;      /* each step's row in the state store (not for items: the
                              item's row holds its steps' outputs) */
    /* A resumed run's steps as its history has them (the pipeline's own
     * list only): those that succeeded are restored, not run again. */
    const struct sl_prior_step *prior;
    size_t nprior;
    /* A map item's frame: the state key its steps' outcomes are kept under
     * as they succeed (fenced by its lease), so the item, run again after a
     * crash, does not run them again; NULL elsewhere. */
    const char *progress_key;
    bool progress_kept;    /* a step's outcome was kept under progress_key */
    bool failed, partial;  /* the outcome so far */
} sl_frame_t;

/* ---- map (map.c, map_items.c) ---- */

typedef enum {
    SL_ITEMS_LIST = 1, /* items: [a, b] */
    SL_ITEMS_TEMPLATE, /* items: "{{ ... }}" */
    SL_ITEMS_DATES,    /* items: {dates: {...}} */
    SL_ITEMS_SOURCE,   /* items: {source: {...}} */
    SL_ITEMS_CHUNKS,   /* items: {chunks: {...}} */
    SL_ITEMS_BRANCHES, /* a parallel step: one item per sub-step, its name */
} sl_items_kind_t;

typedef struct sl_map_cfg {
    /* a parallel step: each item runs one of the sub-steps (the one at
     * its index), not all of them */
    bool parallel;
    sl_items_kind_t items_kind;
    const sl_node_t *items;          /* the items key */
    const sl_node_t *spec;           /* DATES, CHUNKS, SOURCE: the map under their key */
    const sl_template_t *items_tmpl; /* TEMPLATE */
    sl_plugin_cfg_t source;          /* SOURCE */
    const sl_template_t *key_tmpl;   /* key: names an item in state keys and logs, or NULL */
    int64_t max_concurrency;
    bool has_percent, has_count;     /* tolerated_failure_percent / _count given */
    double tolerated_percent;
    int64_t tolerated_count;
    const sl_node_t *item_retry;     /* item_retry: policy map, or NULL */
    int64_t item_timeout_us;         /* item_timeout; 0: none */
    const sl_node_t *results;        /* results: location of the item outputs, or NULL */
} sl_map_cfg_t;

/* Reads a map's `items` key into cfg (kind, template, source plugin...);
 * errors name file:line:col. */
int sl_map_items_load(sl_step_loader_t *l, const sl_node_t *items, const char *label,
                      sl_map_cfg_t *cfg);
/* Computes the map's items in order, handing each to emit as JSON text
 * (len bytes, not NUL-terminated). Errors go to ctx->err. */
typedef int (*sl_item_emit_fn)(void *ud, const char *json, size_t len);
int sl_map_items(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, sl_item_emit_fn emit, void *ud);

/* A step of the run being resumed, copied from its row. */
typedef struct sl_prior_step {
    char *name;
    sl_status_t status;
    int attempts;
    int64_t records_in, records_out, rejected, bytes_in, started_us, ended_us;
    char *output_json;
} sl_prior_step_t;

/* Runs a map or parallel step (map.c). */
int sl_map_run(sl_step_ctx_t *ctx, sl_step_result_t *res);
/* Puts the map's output (map_output.c): counts by status, and the items'
 * outcomes (inline, in the results file, or a parallel step's branches by
 * name), read from the item rows of (ctx->run_id, items_step). */
int sl_map_output(sl_step_ctx_t *ctx, const sl_map_cfg_t *cfg, const char *items_step,
                  int64_t total, const int64_t *counts);

/* The frame's own steps' {NAME: {status, output}} so far, as JSON. */
void sl_frame_steps_json(const sl_frame_t *f, sl_buf_t *out);

/* Runs f's steps in order: `when`, retries, timeouts, catch and
 * on_failure as for the pipeline's own steps. f->failed and f->partial
 * tell how it went; f->res and f->steps_value hold each step's result. */
void sl_frame_run(sl_frame_t *f);

/* Rejected records of one step: a JSON Lines file (appended to, created
 * with its folders on first use) or, without a location, the log. */
typedef struct sl_rejects sl_rejects_t;

sl_rejects_t *sl_rejects_new(const char *path, int64_t max_rejects, const char *step);
/* Writes buffered rejects to disk (fsync). */
int sl_rejects_flush(sl_rejects_t *r, sl_err_t *err);
int64_t sl_rejects_count(const sl_rejects_t *r);
void sl_rejects_free(sl_rejects_t *r);

/* Fills a step context for step of p with a fresh step arena (NULL when
 * out of memory); state, rejects and run options are the caller's. */
void sl_step_ctx_init(sl_step_ctx_t *ctx, const sl_pipeline_t *p, const sl_step_cfg_t *step,
                      const sl_value_t *params, const sl_value_t *run, const char *run_id);


/* Runs one flow step (on one thread when ctx->threads is 1). */
int sl_flow_run(sl_step_ctx_t *ctx, sl_step_result_t *res);

/* Writes the pipeline's export_checkpoints file, if it has one, after the
 * steps ran (see export.c). Returns 0 or an error with err set. */
int sl_export_checkpoints(const sl_pipeline_t *p, struct sl_state *st, const sl_run_result_t *res,
                          const sl_value_t *params, const sl_value_t *run, sl_err_t *err);

/* Writes the run's log lines (f: the capture sl_run_begin started, JSON
 * lines) to the pipeline's export_logs location, if it has one (export.c).
 * Returns 0 or an error with err set. */
int sl_export_logs(const sl_pipeline_t *p, FILE *f, const sl_value_t *params,
                   const sl_value_t *run, const char *run_id, sl_err_t *err);

/* Adds the step's declared `output:` (decl may be NULL; templates are its
 * values, compiled at load) to its output; they see the output so far as
 * steps.NAME.output. */
int sl_step_output_declared(sl_step_ctx_t *ctx, const sl_node_t *decl,
                            const sl_template_t *const *templates);
/* The output object as JSON ("{}" when there is none). */
int sl_step_output_json(const sl_value_t *output, sl_buf_t *out);

/* Runs a `sql` step (statements or a .sql file on a database). */
int sl_sql_step_run(sl_step_ctx_t *ctx, sl_step_result_t *res);

#endif
