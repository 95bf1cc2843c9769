/* Fuzz target for the config loader: arbitrary bytes through sl_config_parse
 * and, when they parse, through the whole pipeline check (against a small
 * plugin table of its own, so it needs no real plugins), typed reads and a
 * schema check with nested children, ranges and lengths. Inputs of odd
 * size load as `sluice validate` does, with unresolved references left as
 * placeholders. Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A known environment: one variable for ${env:} to find. Each distinct
 * resolved text is added to the log's redaction list, which only grows;
 * with one short value that stays small enough for long runs. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    clearenv();
    setenv("SL_FUZZ", "fuzz-secret", 1);
    return 0;
}

static const char *const modes[] = {"append", "upsert", "replace", NULL};
static const sl_field_spec_t retry_spec[] = {
    {.name = "attempts", .type = SL_FIELD_INT, .required = true, .range = SL_RANGE(0, 100)},
    {.name = "backoff", .type = SL_FIELD_FLOAT, .range = SL_ABOVE(0)},
    {.name = NULL},
};
static const sl_field_spec_t spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true, .min_len = 1, .max_len = 64},
    {.name = "mode", .type = SL_FIELD_STRING, .choices = modes},
    {.name = "key", .type = SL_FIELD_STRING_LIST, .choices = modes, .min_len = 1},
    {.name = "n", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1)},
    {.name = "x", .type = SL_FIELD_FLOAT},
    {.name = "b", .type = SL_FIELD_BOOL},
    {.name = "headers", .type = SL_FIELD_STRING_MAP},
    {.name = "list", .type = SL_FIELD_LIST},
    {.name = "retry", .type = SL_FIELD_MAP, .children = retry_spec},
    {.name = "any", .type = SL_FIELD_ANY},
    {.name = NULL},
};

static const sl_source_type_t src_file = {.name = "file", .config = spec};
static const sl_source_type_t src_gen = {.name = "generate", .config = NULL};
static const sl_transform_type_t tr_rename = {.name = "rename", .config = spec};
static const sl_sink_type_t sink_sql = {.name = "sql", .config = spec};
static const sl_sink_type_t sink_stdout = {.name = "stdout", .config = retry_spec};
static const sl_source_type_t *const sources[] = {&src_file, &src_gen, NULL};
static const sl_transform_type_t *const transforms[] = {&tr_rename, NULL};
static const sl_sink_type_t *const sinks[] = {&sink_sql, &sink_stdout, NULL};

static const sl_source_type_t *find_source(const char *n)
{
    for (size_t i = 0; sources[i]; i++) {
        if (strcmp(sources[i]->name, n) == 0) {
            return sources[i];
        }
    }
    return NULL;
}
static const sl_transform_type_t *find_transform(const char *n)
{
    return strcmp(n, "rename") == 0 ? &tr_rename : NULL;
}
static const sl_sink_type_t *find_sink(const char *n)
{
    for (size_t i = 0; sinks[i]; i++) {
        if (strcmp(sinks[i]->name, n) == 0) {
            return sinks[i];
        }
    }
    return NULL;
}
static const sl_plugin_registry_t reg = {find_source, find_transform, find_sink,
                                         sources,     transforms,     sinks};

static void ignore_warning(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_arena_t *a = sl_arena_create(0, 64u << 20);
    if (!a) {
        return 0;
    }
    sl_node_t *root = NULL;
    sl_err_t err;
    sl_config_opts_t opts = {.missing_ok = size % 2 == 1, .warn = ignore_warning};
    if (sl_config_parse_opts(a, "fuzz.yaml", (const char *)data, size, "/nonexistent", &opts,
                             &root, &err) == 0) {
        /* Top-level values only: aliases make the tree a DAG, so a full walk
         * could be exponential. */
        for (size_t i = 0; root->kind == SL_NODE_MAP && i < root->n; i++) {
            const sl_node_t *v = root->pairs[i].value;
            int64_t iv;
            double d;
            bool b;
            const char *s;
            (void)sl_node_to_int(v, "k", &iv, &err);
            (void)sl_node_to_double(v, NULL, &d, &err);
            (void)sl_node_to_bool(v, "k", &b, &err);
            (void)sl_node_to_str(v, "k", &s, &err);
            (void)sl_node_display(v);
        }
        (void)sl_config_check(root, spec, "fuzz", &err);
        const char *ov[] = {"since=2024-01-01", "n=5"};
        sl_pipeline_t *p = NULL;
        if (sl_pipeline_from_root(a, "dir/fuzz.yaml", root, &reg, &p, &err) == 0) {
            sl_value_t params;
            (void)sl_params_resolve(a, p, ov, 2, &params, &err);
            (void)sl_params_resolve_lenient(a, p, NULL, 0, &params, &err);
        }
    }
    sl_arena_destroy(a);
    return 0;
}
