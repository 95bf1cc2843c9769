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
#include "sluice/expr.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"
#include "sluice/step.h"
#include "sluice/template.h"

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
    {.name = "schedule", .type = SL_FIELD_ANY,
     .doc = "when sluice serve runs it: \"cron(0 8 * * ? *)\", \"rate(5 minutes)\", or {cron | "
            "rate, timezone, overlap: skip|queue, catchup: none|latest}"},
    {.name = "routes", .type = SL_FIELD_LIST,
     .doc = "HTTP routes of sluice serve that start a run: [{method, path, params_from, wait, "
            "timeout, auth}]"},
    {.name = "timeout", .type = SL_FIELD_STRING,
     .doc = "longest the whole run may take (\"1h\"): its steps stop at their next batch"},
    {.name = "export_checkpoints", .type = SL_FIELD_MAP, .children = export_spec,
     .doc = "after each run, write the steps' checkpoints as one JSON file (url, connection)"},
    {.name = "export_logs", .type = SL_FIELD_MAP, .children = export_spec,
     .doc = "after each run, write its log lines as JSON Lines (url with {{ run.id }}, "
            "connection)"},
    {.name = NULL},
};

static const char *const on_failure_choices[] = {"stop", "continue", NULL};

/* Keys of every step, whatever its kind; each kind adds its own (step.h). */
static const sl_field_spec_t step_spec[] = {
    {.name = "name", .type = SL_FIELD_STRING, .required = true, .doc = "unique step name"},
    {.name = "description", .type = SL_FIELD_STRING, .doc = "what the step does"},
    {.name = "on_failure", .type = SL_FIELD_STRING, .choices = on_failure_choices,
     .doc = "stop (default): later steps are skipped; continue: they run, the run is partial"},
    {.name = "full_refresh", .type = SL_FIELD_ANY,
     .doc = "true, or an expression over params and run, e.g. \"params.load_type == 'FULL'\": "
            "ignore checkpoints"},
    {.name = "when", .type = SL_FIELD_STRING,
     .doc = "run only when this expression over params, run, item and steps is true "
            "(else skipped), e.g. \"steps.load.output.records_out > 0\""},
    {.name = "output", .type = SL_FIELD_STRING_MAP,
     .doc = "NAME: template pairs added to the step's output (steps.NAME.output.KEY)"},
    {.name = "retry", .type = SL_FIELD_MAP, .children = sl_retry_spec,
     .doc = "attempts again on failures of some classes: max_attempts, interval, backoff, "
            "max_delay, jitter, on"},
    {.name = "timeout", .type = SL_FIELD_STRING,
     .doc = "longest the step may run (\"30s\", \"5m\"): it stops at its next batch, "
            "status timed_out"},
    {.name = "catch", .type = SL_FIELD_LIST,
     .doc = "[{on: [classes], next: STEP}]: on such a failure go on at a later step"},
    {.name = NULL},
};

static const char *const catch_classes_doc =
    "transient, timeout, rate_limited, data, config, fatal, tolerance_exceeded";

static const sl_field_spec_t catch_spec[] = {
    {.name = "on", .type = SL_FIELD_STRING_LIST, .required = true,
     .doc = "error classes caught (or [all])"},
    {.name = "next", .type = SL_FIELD_STRING, .required = true,
     .doc = "the later step the run goes on at"},
    {.name = NULL},
};

static const char *const kind_names[] = {"source", "transform", "sink"};

static const sl_plugin_registry_t real_registry = {
    .source = sl_registry_source,
    .transform = sl_registry_transform,
    .sink = sl_registry_sink,
    .sources = sl_sources,
    .transforms = sl_transforms,
    .sinks = sl_sinks,
};

struct sl_step_loader {
    sl_arena_t *a;
    const sl_plugin_registry_t *reg;
    sl_err_t *err;
};
typedef sl_step_loader_t loadctx_t;

sl_arena_t *sl_step_loader_arena(sl_step_loader_t *l)
{
    return l->a;
}

sl_err_t *sl_step_loader_err(sl_step_loader_t *l)
{
    return l->err;
}

static int nomem(sl_err_t *err)
{
    return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
}

/* Names of the registered plugins of one kind, in table order. */
static size_t plugin_names(const sl_plugin_registry_t *reg, sl_plugin_kind_t kind,
                           const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; n < max; i++) {
        const char *name = NULL;
        if (kind == SL_PLUGIN_SOURCE) {
            name = reg->sources[i] ? reg->sources[i]->name : NULL;
        } else if (kind == SL_PLUGIN_TRANSFORM) {
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

static int unknown_type(loadctx_t *c, sl_plugin_kind_t kind, const sl_node_t *type)
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

int sl_step_load_plugin(sl_step_loader_t *c, sl_plugin_kind_t kind, const sl_node_t *map,
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
    /* The type is looked up once, here, in the loader's registry: the
     * engine runs what the definition holds (tests inject fake plugins). */
    const sl_field_spec_t *spec = NULL;
    if (kind == SL_PLUGIN_SOURCE) {
        const sl_source_type_t *t = c->reg->source(type->text);
        if (!t) {
            return unknown_type(c, kind, type);
        }
        spec = t->config;
        out->source = t;
    } else if (kind == SL_PLUGIN_TRANSFORM) {
        const sl_transform_type_t *t = c->reg->transform(type->text);
        if (!t) {
            return unknown_type(c, kind, type);
        }
        spec = t->config;
        out->transform = t;
    } else {
        const sl_sink_type_t *t = c->reg->sink(type->text);
        if (!t) {
            return unknown_type(c, kind, type);
        }
        spec = t->config;
        out->sink = t;
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

static bool spec_has_key_of(const sl_field_spec_t *spec, const sl_node_t *node)
{
    for (size_t i = 0; spec && spec[i].name; i++) {
        if (sl_node_get(node, spec[i].name)) {
            return true;
        }
    }
    return false;
}

/* The step's kind: the one whose key it has (*other: a second one, an
 * error), else the first whose other keys it has (so its loader says
 * what is missing), else NULL. */
static const sl_step_kind_t *step_kind(const sl_node_t *node, const sl_step_kind_t **other)
{
    const sl_step_kind_t *kind = NULL;
    *other = NULL;
    for (size_t i = 0; sl_step_kinds[i]; i++) {
        if (sl_node_get(node, sl_step_kinds[i]->key)) {
            if (!kind) {
                kind = sl_step_kinds[i];
            } else if (!*other) {
                *other = sl_step_kinds[i];
            }
        }
    }
    for (size_t i = 0; !kind && sl_step_kinds[i]; i++) {
        if (spec_has_key_of(sl_step_kinds[i]->spec, node)) {
            kind = sl_step_kinds[i];
        }
    }
    return kind;
}

/* The key node of key in map (for messages pointing at the key). */
static const sl_node_t *key_node(const sl_node_t *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->pairs[i].key->text, key) == 0) {
            return map->pairs[i].key;
        }
    }
    return map;
}

static bool spec_lists(const sl_field_spec_t *spec, const char *key)
{
    for (size_t i = 0; spec && spec[i].name; i++) {
        if (strcmp(spec[i].name, key) == 0) {
            return true;
        }
    }
    return false;
}

/* A key of node that only another kind takes (*other gets that kind), or
 * NULL. */
static const char *foreign_key(const sl_step_kind_t *kind, const sl_node_t *node,
                               const sl_step_kind_t **other)
{
    for (size_t i = 0; sl_step_kinds[i]; i++) {
        const sl_step_kind_t *k = sl_step_kinds[i];
        for (size_t j = 0; k != kind && k->spec && k->spec[j].name; j++) {
            if (sl_node_get(node, k->spec[j].name) && !spec_lists(kind->spec, k->spec[j].name)) {
                *other = k;
                return k->spec[j].name;
            }
        }
    }
    return NULL;
}

/* The common keys and the kind's, as one spec for sl_config_check (so a
 * misspelled key is matched against both). */
static const sl_field_spec_t *step_spec_for(loadctx_t *c, const sl_step_kind_t *kind)
{
    size_t nc = SL_ARRAY_LEN(step_spec) - 1, nk = 0;
    while (kind->spec && kind->spec[nk].name) {
        nk++;
    }
    sl_field_spec_t *spec = sl_arena_calloc(c->a, (nc + nk + 1) * sizeof *spec);
    if (spec) {
        memcpy(spec, step_spec, nc * sizeof *spec);
        if (nk) {
            memcpy(spec + nc, kind->spec, nk * sizeof *spec);
        }
    }
    return spec;
}

static int no_kind(loadctx_t *c, const sl_node_t *node, const char *label)
{
    sl_buf_t b;
    sl_buf_init(&b, 300);
    for (size_t i = 0; sl_step_kinds[i]; i++) {
        sl_buf_printf(&b, "%s'%s' (%s)", i ? ", " : "", sl_step_kinds[i]->key,
                      sl_step_kinds[i]->doc);
    }
    int rc = sl_node_error(c->err, node, "%s: give one of %s", label, b.data ? b.data : "");
    sl_buf_free(&b);
    return rc;
}

/* A duration key ("30s", "5m", "1h"), 0 when absent; errors name it. */
static int duration_key(loadctx_t *c, const sl_node_t *map, const char *key, const char *label,
                        int64_t *us)
{
    const sl_node_t *n = sl_node_get(map, key);
    *us = 0;
    if (!n) {
        return 0;
    }
    if (n->is_null || sl_duration_parse(n->text, n->len, us) != 0 || *us <= 0) {
        return sl_node_error(c->err, n, "%s: %s: expected a duration such as 30s, 5m or 1h, "
                             "got '%s'", label, key, sl_node_display(n));
    }
    return 0;
}

/* `when` must compile as an expression and each `output` value as a
 * template, so validate finds their mistakes before a run. */
static int load_when_and_output(loadctx_t *c, const sl_node_t *node, const char *label,
                                sl_step_cfg_t *st)
{
    sl_err_t e;
    st->when = sl_node_get(node, "when");
    if (st->when) {
        sl_expr_t *x = NULL;
        if (st->when->is_null ||
            sl_expr_compile(c->a, st->when->text, st->when->len, &x, &e) != 0) {
            return sl_node_error(c->err, st->when, "%s: when: %s", label,
                                 st->when->is_null ? "expected an expression" : e.msg);
        }
        st->when_expr = x;
    }
    st->retry = sl_node_get(node, "retry");
    if (st->retry) {
        /* parsed again when the step runs; here for the messages */
        sl_retry_policy_t pol = sl_retry_policy_default();
        int rc = sl_retry_policy_from_node(st->retry, &pol, &e);
        if (rc) {
            return sl_err_set(c->err, rc, "%s", e.msg); /* names file:line:col and the key */
        }
    }
    int rc = duration_key(c, node, "timeout", label, &st->timeout_us);
    if (rc) {
        return rc;
    }
    st->output = sl_node_get(node, "output");
    if (st->output && st->output->n) {
        st->output_templates = sl_arena_calloc(c->a, st->output->n * sizeof(sl_template_t *));
        if (!st->output_templates) {
            return nomem(c->err);
        }
    }
    for (size_t i = 0; st->output && i < st->output->n; i++) {
        const sl_node_t *k = st->output->pairs[i].key, *v = st->output->pairs[i].value;
        sl_template_t *t = NULL;
        if (v->is_null || sl_template_compile(c->a, v->text, v->len, &t, &e) != 0) {
            return sl_node_error(c->err, v, "%s: output '%s': %s", label, k->text,
                                 v->is_null ? "expected a template" : e.msg);
        }
        if (sl_template_uses_record(t)) {
            return sl_node_error(c->err, v, "%s: output '%s': an output is computed once, "
                                 "after the step: it cannot use record", label, k->text);
        }
        st->output_templates[i] = t;
    }
    return 0;
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
    const sl_step_kind_t *other = NULL, *kind = step_kind(node, &other);
    const char *foreign = kind ? foreign_key(kind, node, &other) : NULL;
    if (foreign) {
        return sl_node_error(c->err, key_node(node, foreign),
                             "%s: a step is of one kind: '%s' makes it a step that %s, but '%s' "
                             "belongs to a step that %s",
                             label, kind->key, kind->doc, foreign, other->doc);
    }
    const sl_field_spec_t *spec = kind ? step_spec_for(c, kind) : step_spec;
    if (!spec) {
        return nomem(c->err);
    }
    int rc = sl_config_check(node, spec, label, c->err);
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
    if (!kind) {
        return no_kind(c, node, label);
    }
    st->name = name->text;
    st->node = node;
    st->kind = kind;

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
    rc = load_when_and_output(c, node, label, st);
    if (rc) {
        return rc;
    }
    return kind->load(c, node, label, st);
}

/* catch: [{on: [classes], next: STEP}] of every step of a list, once all
 * its steps are known: next must be a later step of the same list (a
 * catch never loops back, nor leaves its list). */
static int load_catches(loadctx_t *c, sl_step_cfg_t *steps, size_t nsteps)
{
    for (size_t i = 0; i < nsteps; i++) {
        sl_step_cfg_t *st = &steps[i];
        const sl_node_t *list = sl_node_get(st->node, "catch");
        if (!list || list->n == 0) {
            continue;
        }
        char label[160];
        snprintf(label, sizeof label, "step '%s': catch", st->name);
        st->catches = sl_arena_calloc(c->a, list->n * sizeof *st->catches);
        if (!st->catches) {
            return nomem(c->err);
        }
        for (size_t k = 0; k < list->n; k++) {
            const sl_node_t *m = list->items[k];
            int rc = sl_config_check(m, catch_spec, label, c->err);
            if (rc) {
                return rc;
            }
            struct sl_catch *ct = &st->catches[k];
            ct->node = m;
            const sl_node_t *on = sl_node_get(m, "on");
            size_t non = on->kind == SL_NODE_SEQ ? on->n : 1;
            for (size_t j = 0; j < non; j++) {
                const sl_node_t *cls = on->kind == SL_NODE_SEQ ? on->items[j] : on;
                sl_error_class_t ec;
                if (strcmp(cls->text, "all") == 0) {
                    ct->on = ~0u;
                } else if (sl_error_class_parse(cls->text, &ec) == 0) {
                    ct->on |= SL_RETRY_ON(ec);
                } else {
                    return sl_node_error(c->err, cls, "%s: on: unknown error class '%s' "
                                         "(known: %s, or all)", label, sl_node_display(cls),
                                         catch_classes_doc);
                }
            }
            const sl_node_t *next = sl_node_get(m, "next");
            size_t to = nsteps;
            for (size_t j = 0; j < nsteps; j++) {
                if (strcmp(steps[j].name, next->text) == 0) {
                    to = j;
                }
            }
            if (to == nsteps || to <= i) {
                return sl_node_error(c->err, next, "%s: next: '%s' is not a later step of this "
                                     "list", label, sl_node_display(next));
            }
            ct->next_index = to;
            st->ncatches++;
        }
    }
    return 0;
}

int sl_step_load_list(sl_step_loader_t *c, const sl_node_t *seq, const char *label,
                      sl_step_cfg_t **steps, size_t *n)
{
    *steps = NULL;
    *n = 0;
    char got[128];
    if (seq->kind != SL_NODE_SEQ) {
        return sl_node_error(c->err, seq, "%s: steps must be a list of steps, got %s", label,
                             sl_node_got(seq, got, sizeof got));
    }
    if (seq->n == 0) {
        return sl_node_error(c->err, seq, "%s: steps must not be empty", label);
    }
    sl_step_cfg_t *list = sl_arena_calloc(c->a, seq->n * sizeof *list);
    if (!list) {
        return nomem(c->err);
    }
    for (size_t i = 0; i < seq->n; i++) {
        int rc = load_step(c, seq->items[i], i, list, &list[i]);
        if (rc) {
            return rc;
        }
    }
    int rc = load_catches(c, list, seq->n);
    if (rc == 0) {
        *steps = list;
        *n = seq->n;
    }
    return rc;
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

    rc = sl_params_load(a, p, sl_node_get(root, "params"), err);
    if (rc == 0) {
        rc = sl_routes_load(a, p, sl_node_get(root, "routes"), err);
    }
    if (rc == 0) {
        rc = sl_schedule_load(a, p, sl_node_get(root, "schedule"), err);
    }
    if (rc == 0) {
        rc = load_connections(&c, p, sl_node_get(root, "connections"));
    }
    if (rc) {
        return rc;
    }
    rc = sl_step_load_list(&c, sl_node_get(root, "steps"), "pipeline", &p->steps, &p->nsteps);
    if (rc == 0) {
        rc = duration_key(&c, root, "timeout", "pipeline", &p->timeout_us);
    }
    if (rc) {
        return rc;
    }
    *out = p;
    return 0;
}

int sl_pipeline_load_reg(sl_arena_t *a, const char *path, const sl_plugin_registry_t *reg,
                         sl_pipeline_t **out, sl_err_t *err)
{
    sl_node_t *root;
    *out = NULL;
    int rc = sl_config_load(a, path, &root, err);
    if (rc) {
        return rc;
    }
    return sl_pipeline_from_root(a, path, root, reg, out, err);
}

int sl_pipeline_load(sl_arena_t *a, const char *path, sl_pipeline_t **out, sl_err_t *err)
{
    return sl_pipeline_load_reg(a, path, NULL, out, err);
}

int sl_pipeline_load_opts(sl_arena_t *a, const char *path, const sl_config_opts_t *opts,
                          sl_pipeline_t **out, sl_err_t *err)
{
    sl_node_t *root;
    *out = NULL;
    int rc = sl_config_load_opts(a, path, opts, &root, err);
    if (rc) {
        return rc;
    }
    return sl_pipeline_from_root(a, path, root, NULL, out, err);
}
