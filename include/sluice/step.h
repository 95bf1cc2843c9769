/* Step kinds: what a step does, chosen by the key it has.
 *
 *   source/sink  flow      records stream source -> transforms -> sink
 *   sql          sql       statements run on a database
 *   map          map       sub-steps run once per item, items side by side
 *   parallel     parallel  sub-steps run side by side, each once
 *   call         call      another pipeline's run, waited for or not
 *
 * Every kind is one row of sl_step_kinds (src/engine/step_kinds.c) with
 * its config spec, its loader and its runner, so a new kind is one file
 * and one row, and the loader and the engine never test for kinds. Keys
 * every step takes (name, on_failure, full_refresh...) are checked by the
 * pipeline loader; a kind's spec lists only its own. */
#ifndef SLUICE_STEP_H
#define SLUICE_STEP_H

#include "sluice/config.h"

struct sl_step_ctx;
struct sl_step_result;

/* What a kind's loader may use while the pipeline file is read: the
 * loader's arena and error, and plugin lookup (src/config/pipeline.c). */
typedef struct sl_step_loader sl_step_loader_t;

typedef enum { SL_PLUGIN_SOURCE, SL_PLUGIN_TRANSFORM, SL_PLUGIN_SINK } sl_plugin_kind_t;

sl_arena_t *sl_step_loader_arena(sl_step_loader_t *l);
sl_err_t *sl_step_loader_err(sl_step_loader_t *l);
/* Checks a plugin map ({type: ..., ...}) against the registry: the type
 * exists, the keys fit its spec. Fills out; errors name file:line:col. */
int sl_step_load_plugin(sl_step_loader_t *l, sl_plugin_kind_t kind, const sl_node_t *map,
                        sl_plugin_cfg_t *out);

/* Loads a list of steps (a YAML sequence: the pipeline's `steps`, a map's
 * sub-steps) into *steps (the loader's arena): each step checked as the
 * pipeline's own are, names unique within the list, catches pointing to
 * later steps of the same list. label names the list's owner in messages
 * ("pipeline", "step 'per_date': map"). */
int sl_step_load_list(sl_step_loader_t *l, const sl_node_t *seq, const char *label,
                      struct sl_step_cfg **steps, size_t *n);

typedef struct sl_step_kind {
    const char *name; /* "flow", "sql" */
    const char *key;  /* the step key that makes a step of this kind */
    const char *doc;
    const sl_field_spec_t *spec; /* keys of this kind, beside the common ones */
    /* Reads the kind's keys of node into st (st->name and the common keys
     * are already set; label is "step 'NAME'" for messages). Returns 0 or
     * SL_ECONFIG with the loader's error set. */
    int (*load)(sl_step_loader_t *l, const sl_node_t *node, const char *label, sl_step_cfg_t *st);
    /* Runs one step of this kind; counts go to res, the message of a
     * failure to ctx->err. */
    int (*run)(struct sl_step_ctx *ctx, struct sl_step_result *res);
} sl_step_kind_t;

/* NULL-terminated, in the order kinds are tried. */
extern const sl_step_kind_t *const sl_step_kinds[];

#endif
