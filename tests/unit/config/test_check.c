/* Tests for src/config/check.c: sl_config_check messages for each kind of
 * problem, field types, and did-you-mean suggestions. */
#include <string.h>

#include "../test.h"
#include "../../../src/config/config_internal.h"

static const char *const modes[] = {"append", "upsert", "replace", NULL};

static const sl_field_spec_t retry_spec[] = {
    {.name = "attempts", .type = SL_FIELD_INT, .required = true},
    {.name = "backoff", .type = SL_FIELD_FLOAT},
    {.name = NULL},
};

static const sl_field_spec_t sink_spec[] = {
    {.name = "url", .type = SL_FIELD_STRING, .required = true},
    {.name = "table", .type = SL_FIELD_STRING},
    {.name = "mode", .type = SL_FIELD_STRING, .choices = modes},
    {.name = "key", .type = SL_FIELD_STRING_LIST},
    {.name = "batch", .type = SL_FIELD_INT},
    {.name = "ratio", .type = SL_FIELD_FLOAT},
    {.name = "create", .type = SL_FIELD_BOOL},
    {.name = "headers", .type = SL_FIELD_STRING_MAP},
    {.name = "columns", .type = SL_FIELD_LIST},
    {.name = "retry", .type = SL_FIELD_MAP, .children = retry_spec},
    {.name = "options", .type = SL_FIELD_MAP},
    {.name = "extra", .type = SL_FIELD_ANY},
    {.name = NULL},
};

static int check(const char *text, sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    if (sl_config_parse(a, "pipeline.yaml", text, strlen(text), NULL, &root, err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err->msg);
    }
    err->msg[0] = '\0';
    return sl_config_check(root, sink_spec, "sink 'sql'", err);
}

static void expect(const char *text, const char *msg)
{
    sl_err_t err;
    CHECK_INT(check(text, &err), SL_ECONFIG);
    CHECK_STR(err.msg, msg);
}

SL_TEST(config_check_valid_map)
{
    sl_err_t err;
    CHECK_INT(check("url: sqlite:///x.db\n"
                    "table: 2024\n"
                    "mode: upsert\n"
                    "key: id\n"
                    "batch: 100\n"
                    "ratio: 3\n"
                    "create: true\n"
                    "headers: {X-Api: abc, n: 5}\n"
                    "columns: [{a: 1}, b]\n"
                    "retry: {attempts: 3, backoff: 0.5}\n"
                    "options: {anything: [1]}\n"
                    "extra: ~\n",
                    &err),
              0);
    CHECK_INT(check("url: x\nkey: [id, day]\n", &err), 0);
}

SL_TEST(config_check_unknown_key_suggestion)
{
    expect("url: x\ntabel: orders\n",
           "pipeline.yaml:2:1: sink 'sql': unknown key 'tabel' (did you mean 'table'?)");
    expect("url: x\nmdoe: append\n",
           "pipeline.yaml:2:1: sink 'sql': unknown key 'mdoe' (did you mean 'mode'?)");
    expect("{url: x, urll: y}\n",
           "pipeline.yaml:1:10: sink 'sql': unknown key 'urll' (did you mean 'url'?)");
}

SL_TEST(config_check_unknown_key_no_suggestion)
{
    expect("url: x\nzzzzzz: 1\n",
           "pipeline.yaml:2:1: sink 'sql': unknown key 'zzzzzz' (known keys: url, table, mode, "
           "key, batch, ratio, create, headers, columns, retry, options, extra)");
}

SL_TEST(config_check_missing_required)
{
    expect("\n\ntable: t\nmode: append\n",
           "pipeline.yaml:3:1: sink 'sql': missing required key 'url'");
    expect("url: x\nretry: {backoff: 1}\n",
           "pipeline.yaml:2:8: sink 'sql': retry: missing required key 'attempts'");
}

SL_TEST(config_check_wrong_types)
{
    expect("url: {a: 1}\n",
           "pipeline.yaml:1:6: sink 'sql': key 'url' must be a string, got a map");
    expect("url:\n", "pipeline.yaml:1:5: sink 'sql': key 'url' must be a string, got null");
    expect("url: x\nbatch: 1.5\n",
           "pipeline.yaml:2:8: sink 'sql': key 'batch' must be an integer, got '1.5'");
    expect("url: x\nbatch: \"5\"\n",
           "pipeline.yaml:2:8: sink 'sql': key 'batch' must be an integer, got '5' (quoted)");
    expect("url: x\nratio: abc\n",
           "pipeline.yaml:2:8: sink 'sql': key 'ratio' must be a number, got 'abc'");
    expect("url: x\ncreate: 1\n",
           "pipeline.yaml:2:9: sink 'sql': key 'create' must be a boolean (true or false), "
           "got '1'");
    expect("url: x\ncolumns: a\n",
           "pipeline.yaml:2:10: sink 'sql': key 'columns' must be a list, got 'a'");
    expect("url: x\noptions: [a]\n",
           "pipeline.yaml:2:10: sink 'sql': key 'options' must be a map, got a list");
    expect("url: x\nbatch: 99999999999999999999\n",
           "pipeline.yaml:2:8: sink 'sql': key 'batch' is out of range: '99999999999999999999'");
    expect("url: x\nretry: {attempts: x}\n",
           "pipeline.yaml:2:19: sink 'sql': retry: key 'attempts' must be an integer, got 'x'");
}

SL_TEST(config_check_choices)
{
    expect("url: x\nmode: upset\n",
           "pipeline.yaml:2:7: sink 'sql': key 'mode' must be one of append, upsert, replace; "
           "got 'upset'");
}

SL_TEST(config_check_string_list_and_map)
{
    expect("url: x\nkey: {a: 1}\n",
           "pipeline.yaml:2:6: sink 'sql': key 'key' must be a string or a list of strings, "
           "got a map");
    expect("url: x\nkey: [id, [x]]\n",
           "pipeline.yaml:2:11: sink 'sql': key 'key' item 2 must be a string, got a list");
    expect("url: x\nheaders: {a: b, c: [1]}\n",
           "pipeline.yaml:2:20: sink 'sql': key 'headers': value of 'c' must be a string, "
           "got a list");
    expect("url: x\nheaders: [a]\n",
           "pipeline.yaml:2:10: sink 'sql': key 'headers' must be a map of strings, got a list");
}

SL_TEST(config_check_not_a_map_and_skip)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    sl_err_t err;
    CHECK_INT(sl_config_parse(a, "p.yaml", "[1]", 3, NULL, &root, &err), 0);
    CHECK_INT(sl_config_check(root, sink_spec, "sink 'sql'", &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:1: sink 'sql' must be a map, got a list");
    CHECK_INT(sl_config_parse(a, "p.yaml", "type: sql\nurl: x", 16, NULL, &root, &err), 0);
    CHECK_INT(sl_config_check_skip(root, sink_spec, "sink 'sql'", "type", &err), 0);
    CHECK_INT(sl_config_check(root, sink_spec, "sink 'sql'", &err), SL_ECONFIG);
    CHECK_CONTAINS(err.msg, "p.yaml:1:1: sink 'sql': unknown key 'type' (known keys: url, ");
    /* A NULL spec accepts any keys. */
    CHECK_INT(sl_config_check_skip(root, NULL, "sink 'x'", "type", &err), 0);
    sl_arena_destroy(a);
}

SL_TEST(config_check_suggest)
{
    const char *const c[] = {"file", "sql", "stdout", "lake"};
    CHECK_STR(sl_config_suggest("sqll", c, 4), "sql");
    CHECK_STR(sl_config_suggest("fiel", c, 4), "file");
    CHECK_STR(sl_config_suggest("stdot", c, 4), "stdout");
    CHECK_STR(sl_config_suggest("lkae", c, 4), "lake");
    CHECK(sl_config_suggest("postgres", c, 4) == NULL);
    /* Short words only get 1 edit. */
    CHECK(sl_config_suggest("xy", c, 4) == NULL);
    CHECK_STR(sl_config_suggest("sq", c, 4), "sql");
    CHECK(sl_config_suggest("", c, 4) == NULL);
}
