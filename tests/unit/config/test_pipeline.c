/* Tests for src/config/pipeline.c: whole pipeline files checked against a
 * small plugin table of the test's own (not the real registry, whose specs
 * change as plugins are written). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "../../../src/config/config_internal.h"
#include "sluice/step.h"

static const char *const formats[] = {"jsonl", "json", "csv", NULL};
static const char *const modes[] = {"append", "upsert", "replace", NULL};

static const sl_field_spec_t file_source_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true},
    {.name = "format", .type = SL_FIELD_STRING, .choices = formats},
    {.name = NULL},
};
static const sl_field_spec_t rename_spec[] = {
    {.name = "fields", .type = SL_FIELD_STRING_MAP, .required = true},
    {.name = NULL},
};
static const sl_field_spec_t filter_spec[] = {
    {.name = "where", .type = SL_FIELD_STRING, .required = true},
    {.name = NULL},
};
static const sl_field_spec_t sql_sink_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true},
    {.name = "table", .type = SL_FIELD_STRING, .required = true},
    {.name = "mode", .type = SL_FIELD_STRING, .choices = modes},
    {.name = "key", .type = SL_FIELD_STRING_LIST},
    {.name = NULL},
};
static const sl_field_spec_t empty_spec[] = {{.name = NULL}};

static const sl_source_type_t t_file = {.name = "file", .config = file_source_spec};
static const sl_source_type_t t_generate = {.name = "generate", .config = NULL};
static const sl_transform_type_t t_rename = {.name = "rename", .config = rename_spec};
static const sl_transform_type_t t_filter = {.name = "filter", .config = filter_spec};
static const sl_sink_type_t t_file_sink = {.name = "file", .config = file_source_spec};
static const sl_sink_type_t t_sql = {.name = "sql", .config = sql_sink_spec};
static const sl_sink_type_t t_stdout = {.name = "stdout", .config = empty_spec};

static const sl_source_type_t *const sources[] = {&t_file, &t_generate, NULL};
static const sl_transform_type_t *const transforms[] = {&t_rename, &t_filter, NULL};
static const sl_sink_type_t *const sinks[] = {&t_file_sink, &t_sql, &t_stdout, NULL};

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
    for (size_t i = 0; transforms[i]; i++) {
        if (strcmp(transforms[i]->name, n) == 0) {
            return transforms[i];
        }
    }
    return NULL;
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

static const char *quickstart =
    "name: quickstart\n"
    "description: orders into sqlite\n"
    "schedule: \"0 * * * *\"\n"
    "params:\n"
    "  min_amount: {type: float, default: 0}\n"
    "  since: {type: date}\n"
    "connections:\n"
    "  lake: {url: \"s3://bucket\", endpoint: \"${env:SL_T_S3}\", max_retries: 2}\n"
    "  db: {url: \"sqlite:///out/shop.db\"}\n"
    "steps:\n"
    "  - name: orders\n"
    "    source: {type: file, url: \"data/orders/*.jsonl\", format: jsonl}\n"
    "    transforms:\n"
    "      - {type: rename, fields: {amt: amount}}\n"
    "      - {type: filter, where: \"amount >= {{ params.min_amount }}\"}\n"
    "    sink: {type: sql, url: \"sqlite:///out/shop.db\", table: orders, mode: upsert, "
    "key: [id]}\n"
    "    rejects: out/rejects/orders.jsonl\n"
    "    max_rejects: 10\n"
    "    batch_size: 500\n"
    "  - name: echo_2\n"
    "    source: {type: generate, anything: [goes]}\n"
    "    sink: {type: stdout}\n";

static sl_value_t resolved; /* params of the last load_text() */

/* Loads a pipeline (the definition), then resolves a run's params with the
 * overrides ov into `resolved`, as a run would. */
static int load_text(const char *name, const char *text, const char *const *ov, size_t nov,
                     sl_pipeline_t **p, sl_err_t *err)
{
    const char *path = sl_test_write_file(name, text, strlen(text));
    sl_arena_t *a = sl_arena_create(0, 0);
    err->msg[0] = '\0';
    int rc = sl_pipeline_load_reg(a, path, &reg, p, err);
    return rc ? rc : sl_params_resolve(a, *p, ov, nov, &resolved, err);
}

/* Loads a file named pipeline.yaml from the cwd-independent temp dir and
 * strips the directory from the message, so expectations read
 * "pipeline.yaml:L:C: ...". */
static void expect(const char *text, const char *msg)
{
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    CHECK_INT(load_text("pipeline.yaml", text, NULL, 0, &p, &err), SL_ECONFIG);
    CHECK(p == NULL);
    const char *dir = sl_test_tmpdir();
    size_t dn = strlen(dir);
    if (strncmp(err.msg, dir, dn) != 0 || err.msg[dn] != '/') {
        sl_test_fail(__FILE__, __LINE__, "unexpected message: %s", err.msg);
    }
    CHECK_STR(err.msg + dn + 1, msg);
}

SL_TEST(config_pipeline_full_valid)
{
    setenv("SL_T_S3", "http://127.0.0.1:9000", 1);
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    const char *ov[] = {"since=2024-01-31"};
    CHECK_INT(load_text("quick.yaml", quickstart, ov, 1, &p, &err), 0);
    CHECK_STR(p->name, "quickstart");
    CHECK_STR(p->base_dir, sl_test_tmpdir());
    CHECK_CONTAINS(p->file, "/quick.yaml");
    CHECK_STR(sl_node_get(p->root, "schedule")->text, "0 * * * *");
    CHECK_INT(p->nparams, 2);
    CHECK_INT(p->params[1].type, SL_PARAM_DATE);
    CHECK_INT(sl_object_get_c(&resolved, "since")->type, SL_T_DATE);
    CHECK_INT(p->nconnections, 2);
    CHECK_STR(p->connections[0].name, "lake");
    const sl_node_t *ep = sl_node_get(p->connections[0].node, "endpoint");
    CHECK_STR(ep->text, "http://127.0.0.1:9000");
    CHECK(ep->secret);
    CHECK_STR(p->connections[1].name, "db");

    CHECK_INT(p->nsteps, 2);
    const sl_step_cfg_t *s = &p->steps[0];
    CHECK_STR(s->name, "orders");
    CHECK_INT(s->node->line, 11);
    CHECK_STR(s->source.type, "file");
    CHECK_STR(s->source.name, "source 'file'");
    CHECK_STR(sl_node_get(s->source.node, "url")->text, "data/orders/*.jsonl");
    CHECK_INT(s->ntransforms, 2);
    CHECK_STR(s->transforms[0].type, "rename");
    CHECK_STR(s->transforms[1].type, "filter");
    CHECK_STR(sl_node_get(s->transforms[1].node, "where")->text,
              "amount >= {{ params.min_amount }}");
    CHECK_STR(s->sink.type, "sql");
    CHECK_STR(s->sink.name, "sink 'sql'");
    CHECK_STR(sl_node_get(s->sink.node, "table")->text, "orders");
    CHECK_STR(s->rejects, "out/rejects/orders.jsonl");
    CHECK_INT(s->max_rejects, 10);
    CHECK_INT(s->batch_size, 500);

    s = &p->steps[1];
    CHECK_STR(s->name, "echo_2");
    CHECK_STR(s->source.type, "generate");
    CHECK_INT(s->ntransforms, 0);
    CHECK(s->transforms == NULL);
    CHECK_STR(s->sink.type, "stdout");
    CHECK(s->rejects == NULL);
    CHECK_INT(s->max_rejects, 0);
    CHECK_INT(s->batch_size, 0); /* not set: the engine picks */
}

SL_TEST(config_pipeline_base_dir_relative_path)
{
    /* A bare file name has "." as its folder. */
    const char *text = "name: b\nsteps:\n  - name: s\n"
                       "    source: {type: generate}\n"
                       "    sink: {type: stdout}\n";
    const char *path = sl_test_write_file("bare.yaml", text, strlen(text));
    CHECK(chdir(sl_test_tmpdir()) == 0);
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    CHECK_INT(sl_pipeline_load_reg(a, "bare.yaml", &reg, &p, &err), 0);
    CHECK_STR(p->base_dir, ".");
    CHECK_STR(p->file, "bare.yaml");
    CHECK(path != NULL);
    sl_arena_destroy(a);
}

SL_TEST(config_pipeline_unknown_plugin_type)
{
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    sink: {type: sqll, url: x}\n",
           "pipeline.yaml:5:18: sink: unknown type 'sqll' (did you mean 'sql'?; known: file, "
           "sql, stdout)");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: kafka}\n"
           "    sink: {type: stdout}\n",
           "pipeline.yaml:4:20: source: unknown type 'kafka' (known: file, generate)");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    transforms:\n      - {type: filtr, where: x}\n    sink: {type: stdout}\n",
           "pipeline.yaml:6:16: transform: unknown type 'filtr' (did you mean 'filter'?; "
           "known: rename, filter)");
}

SL_TEST(config_pipeline_plugin_config_errors)
{
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    sink: {type: sql, url: x, tabel: orders}\n",
           "pipeline.yaml:5:31: sink 'sql': unknown key 'tabel' (did you mean 'table'?)");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: file, url: a, format: {x: 1}}\n"
           "    sink: {type: stdout}\n",
           "pipeline.yaml:4:42: source 'file': key 'format' must be a string, got a map");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    sink: {type: sql, url: x, table: t, mode: upset}\n",
           "pipeline.yaml:5:47: sink 'sql': key 'mode' must be one of append, upsert, replace; "
           "got 'upset'");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    sink: {type: sql, url: x}\n",
           "pipeline.yaml:5:11: sink 'sql': missing required key 'table'");
    expect("name: x\nsteps:\n  - name: s\n    source: {url: a}\n    sink: {type: stdout}\n",
           "pipeline.yaml:4:13: source: missing required key 'type'");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: [file]}\n    sink: {type: stdout}\n",
           "pipeline.yaml:4:20: source: key 'type' must be a string, got a list");
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    transforms: [rename]\n    sink: {type: stdout}\n",
           "pipeline.yaml:5:18: transform must be a map with a 'type', got 'rename'");
}

SL_TEST(config_pipeline_top_level_errors)
{
    expect("", "pipeline.yaml:1:1: the pipeline file is empty");
    expect("- a\n", "pipeline.yaml:1:1: pipeline must be a map, got a list");
    expect("name: x\nstpes: []\n",
           "pipeline.yaml:2:1: pipeline: unknown key 'stpes' (did you mean 'steps'?)");
    expect("steps: []\n", "pipeline.yaml:1:1: pipeline: missing required key 'name'");
    expect("name: x\n", "pipeline.yaml:1:1: pipeline: missing required key 'steps'");
    expect("name: x\nsteps: []\n", "pipeline.yaml:2:8: pipeline: steps must not be empty");
    expect("name: x\nsteps: {a: 1}\n",
           "pipeline.yaml:2:8: pipeline: key 'steps' must be a list, got a map");
    expect("name: x\nconnections:\n  db: {region: h}\nsteps: [x]\n",
           "pipeline.yaml:3:7: connection 'db': missing required key 'url'");
    /* connection keys are checked like a plugin's: a typo is no silent
     * fallback to the AWS_* variables */
    expect("name: x\nconnections:\n  s3: {url: \"s3://b\", acess_key_id: k}\nsteps: [x]\n",
           "pipeline.yaml:3:23: connection 's3': unknown key 'acess_key_id' (did you mean "
           "'access_key'?)");
    expect("name: x\nconnections:\n  s3: {url: \"s3://b\", secret_kye: k}\nsteps: [x]\n",
           "pipeline.yaml:3:23: connection 's3': unknown key 'secret_kye' (did you mean "
           "'secret_key'?)");
    expect("name: x\nconnections:\n  s3: {url: \"s3://b\", timeout_ms: 0}\nsteps: [x]\n",
           "pipeline.yaml:3:35: connection 's3': key 'timeout_ms' must be between 1 and "
           "3600000, got 0");
    expect("name: x\nconnections:\n  db: {url: \"\"}\nsteps: [x]\n",
           "pipeline.yaml:3:13: connection 'db': key 'url' must not be empty");
    expect("name: x\nconnections:\n  db: \"sqlite://\"\nsteps: [x]\n",
           "pipeline.yaml:3:7: connection 'db' must be a map with a 'url', got 'sqlite://'");
    expect("name: x\nconnections:\n  db: {url: [a]}\nsteps: [x]\n",
           "pipeline.yaml:3:13: connection 'db': key 'url' must be a string, got a list");
}

SL_TEST(config_pipeline_step_errors)
{
    const char *ok_plugins = "    source: {type: generate}\n    sink: {type: stdout}\n";
    char text[1024];
    expect("name: x\nsteps: [x]\n", "pipeline.yaml:2:9: step 1 must be a map, got 'x'");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s  - name: a\n%s", ok_plugins,
             ok_plugins);
    expect(text, "pipeline.yaml:6:11: step name 'a' is already used by the step at line 3");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a b\n%s", ok_plugins);
    expect(text, "pipeline.yaml:3:11: step 1: name 'a b' may only contain letters, digits, '_' "
                 "and '-'");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s    batch_size: 0\n",
             ok_plugins);
    expect(text, "pipeline.yaml:6:17: step 'a': batch_size must be between 1 and 1000000, got 0");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s    batch_size: 1000001\n",
             ok_plugins);
    expect(text,
           "pipeline.yaml:6:17: step 'a': batch_size must be between 1 and 1000000, got 1000001");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s    max_rejects: -1\n",
             ok_plugins);
    expect(text, "pipeline.yaml:6:18: step 'a': max_rejects must be 0 or more, got -1");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s    max_reject: 1\n",
             ok_plugins);
    expect(text,
           "pipeline.yaml:6:5: step 'a': unknown key 'max_reject' (did you mean 'max_rejects'?)");
    expect("name: x\nsteps:\n  - source: {type: generate}\n    sink: {type: stdout}\n",
           "pipeline.yaml:3:5: step 1: missing required key 'name'");
    expect("name: x\nsteps:\n  - name: a\n    source: {type: generate}\n",
           "pipeline.yaml:3:5: step 'a': missing required key 'sink' (or give 'sql' for a step "
           "that runs statements, 'map' for a step that runs steps once per item, 'parallel' for a "
           "step that runs steps side by side, 'call' for a step that starts another pipeline's "
           "run)");
    snprintf(text, sizeof text, "name: x\nsteps:\n  - name: a\n%s    batch_size: many\n",
             ok_plugins);
    expect(text,
           "pipeline.yaml:6:17: step 'a': key 'batch_size' must be an integer, got 'many'");
}

SL_TEST(config_pipeline_params)
{
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    setenv("SL_T_S3", "x", 1);
    CHECK_INT(load_text("q.yaml", quickstart, NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "/q.yaml:6:10: param 'since' (date) has no default and was not "
                            "given: run with -p since=VALUE");
    const char *bad[] = {"since=2024-01-31", "min_amount=abc"};
    CHECK_INT(load_text("q.yaml", quickstart, bad, 2, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "param 'min_amount': expected a float, got 'abc'");
    const char *unknown[] = {"x=1"};
    CHECK_INT(load_text("q.yaml", quickstart, unknown, 1, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "unknown param 'x' (declared: min_amount, since)");
    const char *good[] = {"since=2024-01-31", "min_amount=5"};
    CHECK_INT(load_text("q.yaml", quickstart, good, 2, &p, &err), 0);
    CHECK_DBL(sl_object_get_c(&resolved, "min_amount")->u.d, 5.0);
    CHECK_DBL(p->params[0].default_value.u.d, 0.0); /* the definition keeps its default */
}

SL_TEST(config_pipeline_secrets_not_in_messages)
{
    const char *secret = "sqll-secret-type";
    setenv("SL_T_TYPE", secret, 1);
    setenv("SL_T_STEP", "bad name secret", 1);
    expect("name: x\nsteps:\n  - name: s\n    source: {type: generate}\n"
           "    sink: {type: \"${env:SL_T_TYPE}\"}\n",
           "pipeline.yaml:5:18: sink: unknown type '<secret>' (known: file, sql, stdout)");
    expect("name: x\nsteps:\n  - name: ${env:SL_T_STEP}\n    source: {type: generate}\n"
           "    sink: {type: stdout}\n",
           "pipeline.yaml:3:11: step 1: name '<secret>' may only contain letters, digits, '_' "
           "and '-'");
}

SL_TEST(config_pipeline_missing_env_names_variable)
{
    unsetenv("SL_T_NOPE");
    expect("name: x\nconnections:\n  db: {url: \"pg://u:${env:SL_T_NOPE}@h/db\"}\nsteps: [x]\n",
           "pipeline.yaml:3:13: environment variable 'SL_T_NOPE' is not set");
}

SL_TEST(config_pipeline_step_kinds)
{
    /* the kind comes from the step's key, and its loader reads the rest */
    sl_pipeline_t *p = NULL;
    sl_err_t err;
    CHECK_INT(load_text("k.yaml",
                        "name: x\nsteps:\n  - name: f\n    source: {type: generate}\n"
                        "    sink: {type: stdout}\n"
                        "  - name: q\n    sql: {url: \"sqlite:///a.db\", statements: [\"SELECT 1\"]}\n",
                        NULL, 0, &p, &err),
              0);
    CHECK_STR(p->steps[0].kind->name, "flow");
    CHECK_STR(p->steps[1].kind->name, "sql");
    CHECK(p->steps[1].sql != NULL);
    CHECK(p->steps[1].source.type == NULL);
    /* a step of no kind names every kind */
    expect("name: x\nsteps:\n  - name: a\n    description: nothing\n",
           "pipeline.yaml:3:5: step 'a': give one of 'source' (moves records from a source "
           "through transforms into a sink), 'sql' (runs statements), 'map' (runs steps once "
           "per item), 'parallel' (runs steps side by side), 'call' (starts another pipeline's "
           "run)");
    /* keys of two kinds, pointing at the foreign key */
    expect("name: x\nsteps:\n  - name: a\n    source: {type: generate}\n"
           "    sql: {url: \"sqlite:///a.db\", statements: [x]}\n",
           "pipeline.yaml:5:5: step 'a': a step is of one kind: 'source' makes it a step that "
           "moves records from a source through transforms into a sink, but 'sql' belongs to a "
           "step that runs statements");
    /* a flow key without its kind key: the flow loader says what is missing */
    expect("name: x\nsteps:\n  - name: a\n    sink: {type: stdout}\n",
           "pipeline.yaml:3:5: step 'a': missing required key 'source' (or give 'sql' for a "
           "step that runs statements, 'map' for a step that runs steps once per item, 'parallel' for a "
           "step that runs steps side by side, 'call' for a step that starts another pipeline's "
           "run)");
    /* a misspelled key is matched against the common and the kind's keys */
    expect("name: x\nsteps:\n  - name: a\n    source: {type: generate}\n"
           "    sink: {type: stdout}\n    on_failur: continue\n",
           "pipeline.yaml:6:5: step 'a': unknown key 'on_failur' (did you mean 'on_failure'?)");
}

static void ignore_warning(void *ud, const char *msg)
{
    (void)msg;
    (*(int *)ud)++;
}

SL_TEST(config_pipeline_unset_env_for_validate)
{
    unsetenv("SL_T_V_UNSET");
    const char *text = "name: v\n"
                       "params:\n"
                       "  n: {type: int, default: \"${env:SL_T_V_UNSET}\"}\n"
                       "  d: {type: date, default: \"${env:SL_T_V_UNSET}\"}\n"
                       "  s: {type: string, default: \"${env:SL_T_V_UNSET}\"}\n"
                       "steps:\n"
                       "  - name: s\n"
                       "    source: {type: file, url: in.jsonl,\n"
                       "             delimiter: \"${env:SL_T_V_UNSET}\"}\n"
                       "    sink: {type: stdout}\n";
    const char *path = sl_test_write_file("v.yaml", text, strlen(text));
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pipeline_t *p = NULL;
    sl_err_t err = {0};
    int warnings = 0;
    sl_config_opts_t opts = {.missing_ok = true, .warn = ignore_warning, .warn_ud = &warnings};
    CHECK_INT(sl_pipeline_load_opts(a, path, &opts, &p, &err), 0);
    CHECK_INT(warnings, 4);
    /* typed defaults get a stand-in of their type; strings the placeholder */
    CHECK_INT(p->params[0].default_value.type, SL_T_INT);
    CHECK_INT(p->params[0].default_value.u.i, 0);
    CHECK_INT(p->params[1].default_value.type, SL_T_DATE);
    CHECK_INT(p->params[2].default_value.type, SL_T_STRING);
    CHECK_STRN(p->params[2].default_value.u.s, p->params[2].default_value.len, "${env:SL_T_V_UNSET}");
    /* a run loads without the option: the first one is an error */
    CHECK_INT(sl_pipeline_load(a, path, &p, &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "v.yaml:3:27: environment variable 'SL_T_V_UNSET' is not set");
    sl_arena_destroy(a);
}
