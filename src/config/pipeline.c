/* Pipeline files: the whole shape checked at load, before anything runs.
 *
 * Top-level keys, params (params.c), connections, steps and every plugin
 * map are checked here, each plugin against its type's config spec from
 * the registry, so `sluice validate` finds every typo a run would hit. The
 * result points into the node tree; all memory is the caller's arena. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "sluice/buf.h"
#include "sluice/connection.h"

#define MAX_BATCH_SIZE 1000000

static const sl_field_spec_t export_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true,
     .doc = "file or s3:// object receiving the JSON; {{ params.x }} templates"},
    {.name = "connection", .type = SL_FIELD_STRING, .doc = "S3 settings from this connection"},
    {.name = NULL},
};

static const sl_field_spec_t top_spec[] = {
    {.name = "name", .type = SL_FIELD_STRING, .required = true, .doc = "pipeline name"},
    {.name = "description", .type = SL_FIELD_STRING, .doc = "what the pipeline does"},
    {.name = "params", .type = SL_FIELD_MAP, .doc = "typed params, overridable with -p"},
    {.name = "connections", .type = SL_FIELD_MAP, .doc = "named connection URLs"},
    {.name = "steps", .type = SL_FIELD_LIST, .required = true, .doc = "the steps, in order"},
    {.name = "schedule", .type = SL_FIELD_STRING, .doc = "cron schedule for sluice serve"},
    {.name = "export_checkpoints", .type = SL_FIELD_MAP, .children = export_spec,
     .doc = "after each run, write the steps' checkpoints as one JSON file (url, connection)"},
    {.name = NULL},
};

static const char *const on_failure_choices[] = {"stop", "continue", NULL};

static const sl_field_spec_t sql_step_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .doc = "postgres://... or sqlite:///path.db"},
    {.name = "connection", .type = SL_FIELD_STRING, .doc = "a connection's name (instead of url)"},
    {.name = "statements", .type = SL_FIELD_STRING_LIST, .doc = "SQL statements, run in order"},
    {.name = "file", .type = SL_FIELD_STRING, .doc = "a .sql file (relative to the pipeline)"},
    {.name = "transaction", .type = SL_FIELD_BOOL,
     .doc = "run everything in one transaction (default true)"},
    {.name = NULL},
};

static const sl_field_spec_t step_spec[] = {
    {.name = "name", .type = SL_FIELD_STRING, .required = true, .doc = "unique step name"},
    {.name = "description", .type = SL_FIELD_STRING, .doc = "what the step does"},
    {.name = "source", .type = SL_FIELD_MAP, .doc = "where records come from"},
    {.name = "transforms", .type = SL_FIELD_LIST, .doc = "transforms applied in order"},
    {.name = "sink", .type = SL_FIELD_MAP, .doc = "where records go"},
    {.name = "sql", .type = SL_FIELD_MAP,
     .doc = "instead of source and sink: statements (or a .sql file) run on a database"},
    {.name = "on_failure", .type = SL_FIELD_STRING, .choices = on_failure_choices,
     .doc = "stop (default): later steps are skipped; continue: they run, the run is partial"},
    {.name = "full_refresh", .type = SL_FIELD_ANY,
     .doc = "true, or an expression over params and run, e.g. \"params.load_type == 'FULL'\": "
            "ignore checkpoints"},
    {.name = "rejects", .type = SL_FIELD_STRING, .doc = "file receiving rejected records"},
    {.name = "max_rejects", .type = SL_FIELD_INT, .doc = "rejects tolerated (default 0)"},
    {.name = "batch_size",
     .type = SL_FIELD_INT,
     .doc = "records per batch (default 10000; 1000 on one thread into a file or lake)"},
    {.name = NULL},
};

typedef enum { KIND_SOURCE, KIND_TRANSFORM, KIND_SINK } plugin_kind_t;

static const char *const kind_names[] = {"source", "transform", "sink"};

static const sl_plugin_registry_t real_registry = {
    .source = sl_registry_source,
    .transform = sl_registry_transform,
    .sink = sl_registry_sink,
    .sources = sl_sources,
    .transforms = sl_transforms,
    .sinks = sl_sinks,
};

typedef struct {
    sl_arena_t *a;
    const sl_plugin_registry_t *reg;
    sl_err_t *err;
} loadctx_t;

static int nomem(sl_err_t *err)
{
    return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
}

/* Names of the registered plugins of one kind, in table order. */
static size_t plugin_names(const sl_plugin_registry_t *reg, plugin_kind_t kind,
                           const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; n < max; i++) {
        const char *name = NULL;
        if (kind == KIND_SOURCE) {
            name = reg->sources[i] ? reg->sources[i]->name : NULL;
        } else if (kind == KIND_TRANSFORM) {
            name = reg->transforms[i] ? reg->transforms[i]->name : NULL;
        } else {
            name = reg->sinks[i] ? reg->sinks[i]->name : NULL;
        }
        if (!name) {
            break;
        }
        names[n++] = name;
    }
    return n;
}

static int unknown_type(loadctx_t *c, plugin_kind_t kind, const sl_node_t *type)
{
    const char *names[128];
    size_t n = plugin_names(c->reg, kind, names, SL_ARRAY_LEN(names));
    sl_buf_t known;
    sl_buf_init(&known, 700);
    for (size_t i = 0; i < n; i++) {
        if (sl_buf_printf(&known, "%s%s", i ? ", " : "", names[i]) != 0) {
            break;
        }
    }
    const char *list = known.data ? known.data : "none";
    /* No suggestion for a secret: it would hint at the value. */
    const char *s = type->secret ? NULL : sl_config_suggest(type->text, names, n);
    int rc;
    if (s) {
        rc = sl_node_error(c->err, type, "%s: unknown type '%s' (did you mean '%s'?; known: %s)",
                           kind_names[kind], sl_node_display(type), s, list);
    } else {
        rc = sl_node_error(c->err, type, "%s: unknown type '%s' (known: %s)", kind_names[kind],
                           sl_node_display(type), list);
    }
    sl_buf_free(&known);
    return rc;
}

static int load_plugin(loadctx_t *c, plugin_kind_t kind, const sl_node_t *map,
                       sl_plugin_cfg_t *out)
{
    const char *kname = kind_names[kind];
    char got[128];
    if (map->kind != SL_NODE_MAP) {
        return sl_node_error(c->err, map, "%s must be a map with a 'type', got %s", kname,
                             sl_node_got(map, got, sizeof got));
    }
    const sl_node_t *type = sl_node_get(map, "type");
    if (!type) {
        return sl_node_error(c->err, map, "%s: missing required key 'type'", kname);
    }
    if (type->kind != SL_NODE_SCALAR || type->is_null) {
        return sl_node_error(c->err, type, "%s: key 'type' must be a string, got %s", kname,
                             sl_node_got(type, got, sizeof got));
    }
    const sl_field_spec_t *spec = NULL;
    if (kind == KIND_SOURCE) {
        const sl_source_type_t *t = c->reg->source(type->text);
        spec = t ? t->config : NULL;
        if (!t) {
            return unknown_type(c, kind, type);
        }
    } else if (kind == KIND_TRANSFORM) {
        const sl_transform_type_t *t = c->reg->transform(type->text);
        spec = t ? t->config : NULL;
        if (!t) {
            return unknown_type(c, kind, type);
        }
    } else {
        const sl_sink_type_t *t = c->reg->sink(type->text);
        spec = t ? t->config : NULL;
        if (!t) {
            return unknown_type(c, kind, type);
        }
    }
    char *what = sl_arena_sprintf(c->a, "%s '%s'", kname, sl_node_display(type));
    if (!what) {
        return nomem(c->err);
    }
    int rc = sl_config_check_skip(map, spec, what, "type", c->err);
    if (rc) {
        return rc;
    }
    out->name = what;
    out->type = type->text;
    out->node = map;
    return 0;
}

static bool step_name_ok(const sl_node_t *n)
{
    if (n->len == 0) {
        return false;
    }
    for (size_t i = 0; i < n->len; i++) {
        char ch = n->text[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

static int load_step(loadctx_t *c, const sl_node_t *node, size_t index, sl_step_cfg_t *steps,
                     sl_step_cfg_t *st)
{
    char label[160];
    char got[128];
    if (node->kind != SL_NODE_MAP) {
        return sl_node_error(c->err, node, "step %zu must be a map, got %s", index + 1,
                             sl_node_got(node, got, sizeof got));
    }
    const sl_node_t *name = sl_node_get(node, "name");
    if (name && name->kind == SL_NODE_SCALAR && !name->is_null && !name->secret &&
        step_name_ok(name) && name->len < 100) {
        snprintf(label, sizeof label, "step '%s'", name->text);
    } else {
        snprintf(label, sizeof label, "step %zu", index + 1);
    }
    int rc = sl_config_check(node, step_spec, label, c->err);
    if (rc) {
        return rc;
    }
    if (name->secret || !step_name_ok(name)) {
        return sl_node_error(c->err, name,
                             "%s: name '%s' may only contain letters, digits, '_' and '-'",
                             label, sl_node_display(name));
    }
    for (size_t i = 0; i < index; i++) {
        if (strcmp(steps[i].name, name->text) == 0) {
            return sl_node_error(c->err, name,
                                 "step name '%s' is already used by the step at line %u",
                                 name->text, (unsigned)steps[i].node->line);
        }
    }
    st->name = name->text;
    st->node = node;

    const char *on_failure = NULL;
    rc = sl_cfg_str(node, "on_failure", "stop", &on_failure, c->err);
    if (rc) {
        return rc;
    }
    st->continue_on_failure = strcmp(on_failure, "continue") == 0;
    st->full_refresh = sl_node_get(node, "full_refresh");
    if (st->full_refresh && st->full_refresh->kind != SL_NODE_SCALAR) {
        return sl_node_error(c->err, st->full_refresh,
                             "%s: full_refresh must be true, false or an expression", label);
    }
    const sl_node_t *sql = sl_node_get(node, "sql");
    const sl_node_t *src = sl_node_get(node, "source"), *snk = sl_node_get(node, "sink");
    if (sql) {
        const sl_node_t *other = src ? src : snk ? snk : sl_node_get(node, "transforms");
        if (other) {
            return sl_node_error(c->err, other,
                                 "%s: a sql step runs statements; it has no source, transforms "
                                 "or sink", label);
        }
        char what[200];
        snprintf(what, sizeof what, "%s: sql", label);
        rc = sl_config_check(sql, sql_step_spec, what, c->err);
        if (rc) {
            return rc;
        }
        if (!sl_node_get(sql, "url") == !sl_node_get(sql, "connection")) {
            return sl_node_error(c->err, sql, "%s: give the database as url or connection "
                                 "(one of the two)", what);
        }
        if (!sl_node_get(sql, "statements") == !sl_node_get(sql, "file")) {
            return sl_node_error(c->err, sql, "%s: give statements or file (one of the two)",
                                 what);
        }
        st->sql = sql;
        return 0;
    }
    if (!src || !snk) {
        return sl_node_error(c->err, node, "%s: missing required key '%s' (or give 'sql' for a "
                             "step that runs statements)", label, src ? "sink" : "source");
    }
    rc = load_plugin(c, KIND_SOURCE, src, &st->source);
    if (rc) {
        return rc;
    }
    const sl_node_t *tr = sl_node_get(node, "transforms");
    if (tr && tr->n) {
        st->transforms = sl_arena_calloc(c->a, tr->n * sizeof *st->transforms);
        if (!st->transforms) {
            return nomem(c->err);
        }
        for (size_t i = 0; i < tr->n; i++) {
            rc = load_plugin(c, KIND_TRANSFORM, tr->items[i], &st->transforms[i]);
            if (rc) {
                return rc;
            }
            st->ntransforms++;
        }
    }
    rc = load_plugin(c, KIND_SINK, sl_node_get(node, "sink"), &st->sink);
    if (rc) {
        return rc;
    }

    rc = sl_cfg_str(node, "rejects", NULL, &st->rejects, c->err);
    if (rc == 0) {
        rc = sl_cfg_int(node, "max_rejects", 0, &st->max_rejects, c->err);
    }
    if (rc == 0) {
        /* 0: not set, the engine picks (sl_flow_run) */
        rc = sl_cfg_int(node, "batch_size", 0, &st->batch_size, c->err);
    }
    if (rc) {
        return rc;
    }
    if (st->max_rejects < 0) {
        return sl_node_error(c->err, sl_node_get(node, "max_rejects"),
                             "%s: max_rejects must be 0 or more, got %lld", label,
                             (long long)st->max_rejects);
    }
    if (sl_node_get(node, "batch_size") &&
        (st->batch_size < 1 || st->batch_size > MAX_BATCH_SIZE)) {
        return sl_node_error(c->err, sl_node_get(node, "batch_size"),
                             "%s: batch_size must be between 1 and %d, got %lld", label,
                             MAX_BATCH_SIZE, (long long)st->batch_size);
    }
    return 0;
}

static int load_connections(loadctx_t *c, sl_pipeline_t *p, const sl_node_t *conns)
{
    if (!conns || conns->n == 0) {
        return 0;
    }
    p->connections = sl_arena_calloc(c->a, conns->n * sizeof *p->connections);
    if (!p->connections) {
        return nomem(c->err);
    }
    for (size_t i = 0; i < conns->n; i++) {
        const sl_node_t *key = conns->pairs[i].key, *v = conns->pairs[i].value;
        char got[128];
        if (v->kind != SL_NODE_MAP) {
            return sl_node_error(c->err, v, "connection '%s' must be a map with a 'url', got %s",
                                 key->text, sl_node_got(v, got, sizeof got));
        }
        char what[160];
        snprintf(what, sizeof what, "connection '%.100s'", key->text);
        int rc = sl_config_check(v, sl_connection_spec, what, c->err);
        if (rc) {
            return rc;
        }
        p->connections[i].name = key->text;
        p->connections[i].node = v;
        p->nconnections++;
    }
    return 0;
}

int sl_pipeline_from_root(sl_arena_t *a, const char *path, const sl_node_t *root,
                          const char *const *overrides, size_t noverrides,
                          const sl_plugin_registry_t *reg, sl_pipeline_t **out, sl_err_t *err)
{
    loadctx_t c = {a, reg ? reg : &real_registry, err};
    *out = NULL;
    if (root->kind == SL_NODE_SCALAR && root->is_null) {
        return sl_node_error(err, root, "the pipeline file is empty");
    }
    int rc = sl_config_check(root, top_spec, "pipeline", err);
    if (rc) {
        return rc;
    }
    sl_pipeline_t *p = sl_arena_calloc(a, sizeof *p);
    if (!p) {
        return nomem(err);
    }
    p->file = sl_arena_strdup(a, path);
    const char *slash = strrchr(path, '/');
    p->base_dir = !slash ? sl_arena_strdup(a, ".")
                  : slash == path ? sl_arena_strdup(a, "/")
                                  : sl_arena_strndup(a, path, (size_t)(slash - path));
    if (!p->file || !p->base_dir) {
        return nomem(err);
    }
    p->root = root;
    p->name = sl_node_get(root, "name")->text;

    rc = sl_params_load(a, p, sl_node_get(root, "params"), overrides, noverrides, err);
    if (rc == 0) {
        rc = load_connections(&c, p, sl_node_get(root, "connections"));
    }
    if (rc) {
        return rc;
    }
    const sl_node_t *steps = sl_node_get(root, "steps");
    if (steps->n == 0) {
        return sl_node_error(err, steps, "pipeline: steps must not be empty");
    }
    p->steps = sl_arena_calloc(a, steps->n * sizeof *p->steps);
    if (!p->steps) {
        return nomem(err);
    }
    for (size_t i = 0; i < steps->n; i++) {
        rc = load_step(&c, steps->items[i], i, p->steps, &p->steps[i]);
        if (rc) {
            return rc;
        }
        p->nsteps++;
    }
    *out = p;
    return 0;
}

int sl_pipeline_load_reg(sl_arena_t *a, const char *path, const char *const *overrides,
                         size_t noverrides, const sl_plugin_registry_t *reg,
                         sl_pipeline_t **out, sl_err_t *err)
{
    sl_node_t *root;
    *out = NULL;
    int rc = sl_config_load(a, path, &root, err);
    if (rc) {
        return rc;
    }
    return sl_pipeline_from_root(a, path, root, overrides, noverrides, reg, out, err);
}

int sl_pipeline_load(sl_arena_t *a, const char *path, const char *const *overrides,
                     size_t noverrides, sl_pipeline_t **out, sl_err_t *err)
{
    return sl_pipeline_load_reg(a, path, overrides, noverrides, NULL, out, err);
}

int sl_pipeline_load_opts(sl_arena_t *a, const char *path, const char *const *overrides,
                          size_t noverrides, const sl_config_opts_t *opts, sl_pipeline_t **out,
                          sl_err_t *err)
{
    sl_node_t *root;
    *out = NULL;
    int rc = sl_config_load_opts(a, path, opts, &root, err);
    if (rc) {
        return rc;
    }
    return sl_pipeline_from_root(a, path, root, overrides, noverrides, NULL, out, err);
}
