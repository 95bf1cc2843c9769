/* The table of step kinds (step.h), and the loaders of the flow and sql
 * kinds: the keys each reads from its step, checked when the pipeline
 * file is loaded. Their runners are sl_flow_run (flow.c) and
 * sl_sql_step_run (sql_step.c). */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "sluice/buf.h"
#include "sluice/step.h"

#define MAX_BATCH_SIZE 1000000

/* ---- flow ---- */

static const sl_field_spec_t flow_spec[] = {
    {.name = "source", .type = SL_FIELD_MAP, .doc = "where records come from"},
    {.name = "transforms", .type = SL_FIELD_LIST, .doc = "transforms applied in order"},
    {.name = "sink", .type = SL_FIELD_MAP, .doc = "where records go"},
    {.name = "rejects", .type = SL_FIELD_STRING, .doc = "file receiving rejected records"},
    {.name = "max_rejects", .type = SL_FIELD_INT, .doc = "rejects tolerated (default 0)"},
    {.name = "batch_size",
     .type = SL_FIELD_INT,
     .doc = "records per batch (default 10000; 1000 on one thread into a file or lake)"},
    {.name = NULL},
};

/* "'sql' for a step that runs statements, ..." for every kind but k. */
static void other_kinds(const sl_step_kind_t *k, sl_buf_t *b)
{
    bool first = true;
    for (size_t i = 0; sl_step_kinds[i]; i++) {
        if (sl_step_kinds[i] != k) {
            sl_buf_printf(b, "%s'%s' for a step that %s", first ? "" : ", ",
                          sl_step_kinds[i]->key, sl_step_kinds[i]->doc);
            first = false;
        }
    }
}

static int flow_load(sl_step_loader_t *l, const sl_node_t *node, const char *label,
                     sl_step_cfg_t *st)
{
    sl_err_t *err = sl_step_loader_err(l);
    sl_arena_t *a = sl_step_loader_arena(l);
    const sl_node_t *src = sl_node_get(node, "source"), *snk = sl_node_get(node, "sink");
    if (!src || !snk) {
        sl_buf_t others;
        sl_buf_init(&others, 200);
        other_kinds(&sl_step_flow, &others);
        int rc = sl_node_error(err, node, "%s: missing required key '%s' (or give %s)", label,
                               src ? "sink" : "source", others.data ? others.data : "");
        sl_buf_free(&others);
        return rc;
    }
    int rc = sl_step_load_plugin(l, SL_PLUGIN_SOURCE, src, &st->source);
    if (rc) {
        return rc;
    }
    const sl_node_t *tr = sl_node_get(node, "transforms");
    if (tr && tr->n) {
        st->transforms = sl_arena_calloc(a, tr->n * sizeof *st->transforms);
        if (!st->transforms) {
            return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
        }
        for (size_t i = 0; i < tr->n; i++) {
            rc = sl_step_load_plugin(l, SL_PLUGIN_TRANSFORM, tr->items[i], &st->transforms[i]);
            if (rc) {
                return rc;
            }
            st->ntransforms++;
        }
    }
    rc = sl_step_load_plugin(l, SL_PLUGIN_SINK, snk, &st->sink);
    if (rc == 0) {
        rc = sl_cfg_str(node, "rejects", NULL, &st->rejects, err);
    }
    if (rc == 0) {
        rc = sl_cfg_int(node, "max_rejects", 0, &st->max_rejects, err);
    }
    if (rc == 0) {
        /* 0: not set, the engine picks (sl_flow_run) */
        rc = sl_cfg_int(node, "batch_size", 0, &st->batch_size, err);
    }
    if (rc) {
        return rc;
    }
    if (st->max_rejects < 0) {
        return sl_node_error(err, sl_node_get(node, "max_rejects"),
                             "%s: max_rejects must be 0 or more, got %lld", label,
                             (long long)st->max_rejects);
    }
    if (sl_node_get(node, "batch_size") &&
        (st->batch_size < 1 || st->batch_size > MAX_BATCH_SIZE)) {
        return sl_node_error(err, sl_node_get(node, "batch_size"),
                             "%s: batch_size must be between 1 and %d, got %lld", label,
                             MAX_BATCH_SIZE, (long long)st->batch_size);
    }
    return 0;
}

const sl_step_kind_t sl_step_flow = {
    .name = "flow",
    .key = "source",
    .doc = "moves records from a source through transforms into a sink",
    .spec = flow_spec,
    .load = flow_load,
    .run = sl_flow_run,
};

/* ---- sql ---- */

static const sl_field_spec_t sql_map_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .doc = "postgres://... or sqlite:///path.db"},
    {.name = "connection", .type = SL_FIELD_STRING, .doc = "a connection's name (instead of url)"},
    {.name = "statements", .type = SL_FIELD_STRING_LIST, .doc = "SQL statements, run in order"},
    {.name = "file", .type = SL_FIELD_STRING, .doc = "a .sql file (relative to the pipeline)"},
    {.name = "transaction", .type = SL_FIELD_BOOL,
     .doc = "run everything in one transaction (default true)"},
    {.name = NULL},
};

static const sl_field_spec_t sql_spec[] = {
    {.name = "sql", .type = SL_FIELD_MAP,
     .doc = "statements (or a .sql file) run on a database"},
    {.name = NULL},
};

static int sql_load(sl_step_loader_t *l, const sl_node_t *node, const char *label,
                    sl_step_cfg_t *st)
{
    sl_err_t *err = sl_step_loader_err(l);
    const sl_node_t *sql = sl_node_get(node, "sql");
    char what[200];
    snprintf(what, sizeof what, "%s: sql", label);
    int rc = sl_config_check(sql, sql_map_spec, what, err);
    if (rc) {
        return rc;
    }
    if (!sl_node_get(sql, "url") == !sl_node_get(sql, "connection")) {
        return sl_node_error(err, sql, "%s: give the database as url or connection "
                             "(one of the two)", what);
    }
    if (!sl_node_get(sql, "statements") == !sl_node_get(sql, "file")) {
        return sl_node_error(err, sql, "%s: give statements or file (one of the two)", what);
    }
    st->sql = sql;
    return 0;
}

const sl_step_kind_t sl_step_sql = {
    .name = "sql",
    .key = "sql",
    .doc = "runs statements",
    .spec = sql_spec,
    .load = sql_load,
    .run = sl_sql_step_run,
};

const sl_step_kind_t *const sl_step_kinds[] = {&sl_step_flow, &sl_step_sql, &sl_step_map,
                                              &sl_step_parallel, &sl_step_call, NULL};
