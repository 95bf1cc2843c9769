/* Loading map and parallel steps: their keys, items and sub-steps (the
 * runner is map.c: a parallel step is a map whose items are its
 * sub-steps). */
#include <stdio.h>

#include "engine_internal.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"

#define MAX_CONCURRENCY 256

static const sl_field_spec_t map_keys_spec[] = {
    {.name = "items", .type = SL_FIELD_ANY, .required = true,
     .doc = "a list, a template giving one, or {dates: ...}, {source: ...}, {chunks: ...}"},
    {.name = "steps", .type = SL_FIELD_LIST, .required = true,
     .doc = "the steps each item runs, in order ({{ item }} is the item)"},
    {.name = "max_concurrency", .type = SL_FIELD_INT, .def = "4",
     .range = SL_RANGE(1, MAX_CONCURRENCY), .doc = "items running at the same time"},
    {.name = "tolerated_failure_percent", .type = SL_FIELD_FLOAT, .range = SL_RANGE(0, 100),
     .doc = "failed items tolerated, as a percentage of all items (default 0)"},
    {.name = "tolerated_failure_count", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0),
     .doc = "failed items tolerated (default 0)"},
    {.name = "key", .type = SL_FIELD_STRING,
     .doc = "template naming an item in state keys and logs (default: the item itself when "
            "short, else its hash)"},
    {.name = "item_retry", .type = SL_FIELD_MAP, .children = sl_retry_spec,
     .doc = "runs a failed item's steps again: max_attempts, interval, backoff, on..."},
    {.name = "item_timeout", .type = SL_FIELD_STRING,
     .doc = "longest one item may run (\"10m\"): it stops at its next batch, timed_out"},
    {.name = "results", .type = SL_FIELD_STRING,
     .doc = "JSON Lines file receiving every item's status and output (templates)"},
    {.name = NULL},
};

static const sl_field_spec_t parallel_keys_spec[] = {
    {.name = "steps", .type = SL_FIELD_LIST, .required = true,
     .doc = "the steps run side by side, each once"},
    {.name = "max_concurrency", .type = SL_FIELD_INT, .def = "all of them",
     .range = SL_RANGE(1, MAX_CONCURRENCY), .doc = "steps running at the same time"},
    {.name = "tolerated_failure_percent", .type = SL_FIELD_FLOAT, .range = SL_RANGE(0, 100),
     .doc = "failed steps tolerated, as a percentage of all of them (default 0)"},
    {.name = "tolerated_failure_count", .type = SL_FIELD_INT, .range = SL_AT_LEAST(0),
     .doc = "failed steps tolerated (default 0)"},
    {.name = NULL},
};

static const sl_field_spec_t parallel_spec[] = {
    {.name = "parallel", .type = SL_FIELD_MAP,
     .doc = "runs steps side by side (each with its own retries and on_failure)"},
    {.name = NULL},
};

static const sl_field_spec_t map_spec[] = {
    {.name = "map", .type = SL_FIELD_MAP,
     .doc = "runs steps once per item, items side by side"},
    {.name = NULL},
};

/* ---- loading ---- */

/* max_concurrency and the tolerance, shared by map and parallel. */
static int load_fanout(const sl_node_t *m, int64_t def_concurrency, sl_map_cfg_t *cfg,
                       sl_err_t *err)
{
    int rc = sl_cfg_int(m, "max_concurrency", def_concurrency, &cfg->max_concurrency, err);
    if (rc == 0 && (cfg->has_percent = sl_node_get(m, "tolerated_failure_percent") != NULL)) {
        rc = sl_cfg_double(m, "tolerated_failure_percent", 0, &cfg->tolerated_percent, err);
    }
    if (rc == 0 && (cfg->has_count = sl_node_get(m, "tolerated_failure_count") != NULL)) {
        rc = sl_cfg_int(m, "tolerated_failure_count", 0, &cfg->tolerated_count, err);
    }
    return rc;
}


static int map_load(sl_step_loader_t *l, const sl_node_t *node, const char *label,
                    sl_step_cfg_t *st)
{
    sl_err_t *err = sl_step_loader_err(l);
    sl_arena_t *a = sl_step_loader_arena(l);
    const sl_node_t *m = sl_node_get(node, "map");
    char what[200];
    snprintf(what, sizeof what, "%s: map", label);
    int rc = sl_config_check(m, map_keys_spec, what, err);
    if (rc) {
        return rc;
    }
    sl_map_cfg_t *cfg = sl_arena_calloc(a, sizeof *cfg);
    if (!cfg) {
        return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
    }
    rc = sl_map_items_load(l, sl_node_get(m, "items"), what, cfg);
    if (rc == 0) {
        rc = load_fanout(m, 4, cfg, err);
    }
    if (rc) {
        return rc;
    }
    const sl_node_t *key = sl_node_get(m, "key");
    if (key) {
        sl_template_t *t = NULL;
        sl_err_t e;
        if (sl_template_compile(a, key->text, key->len, &t, &e) != 0) {
            return sl_node_error(err, key, "%s: key: %s", what, e.msg);
        }
        cfg->key_tmpl = t;
    }
    cfg->item_retry = sl_node_get(m, "item_retry");
    if (cfg->item_retry) {
        sl_retry_policy_t pol = sl_retry_policy_default();
        sl_err_t e;
        rc = sl_retry_policy_from_node(cfg->item_retry, &pol, &e);
        if (rc) {
            return sl_err_set(err, rc, "%s", e.msg);
        }
    }
    const sl_node_t *to = sl_node_get(m, "item_timeout");
    if (to && (to->is_null || sl_duration_parse(to->text, to->len, &cfg->item_timeout_us) != 0 ||
               cfg->item_timeout_us <= 0)) {
        return sl_node_error(err, to, "%s: item_timeout: expected a duration such as 30s, 5m "
                             "or 1h, got '%s'", what, sl_node_display(to));
    }
    cfg->results = sl_node_get(m, "results");
    st->map = cfg;
    return sl_step_load_list(l, sl_node_get(m, "steps"), what, &st->substeps, &st->nsubsteps);
}

static int parallel_load(sl_step_loader_t *l, const sl_node_t *node, const char *label,
                         sl_step_cfg_t *st)
{
    sl_err_t *err = sl_step_loader_err(l);
    const sl_node_t *m = sl_node_get(node, "parallel");
    char what[200];
    snprintf(what, sizeof what, "%s: parallel", label);
    int rc = sl_config_check(m, parallel_keys_spec, what, err);
    sl_map_cfg_t *cfg = rc ? NULL : sl_arena_calloc(sl_step_loader_arena(l), sizeof *cfg);
    if (rc == 0 && !cfg) {
        rc = sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
    }
    if (rc == 0) {
        rc = sl_step_load_list(l, sl_node_get(m, "steps"), what, &st->substeps,
                               &st->nsubsteps);
    }
    if (rc == 0) {
        cfg->parallel = true;
        cfg->items_kind = SL_ITEMS_BRANCHES;
        rc = load_fanout(m, (int64_t)SL_MIN(st->nsubsteps, (size_t)MAX_CONCURRENCY), cfg, err);
    }
    if (rc == 0) {
        st->map = cfg;
    }
    return rc;
}

const sl_step_kind_t sl_step_parallel = {
    .name = "parallel",
    .key = "parallel",
    .doc = "runs steps side by side",
    .spec = parallel_spec,
    .load = parallel_load,
    .run = sl_map_run,
};

const sl_step_kind_t sl_step_map = {
    .name = "map",
    .key = "map",
    .doc = "runs steps once per item",
    .spec = map_spec,
    .load = map_load,
    .run = sl_map_run,
};

