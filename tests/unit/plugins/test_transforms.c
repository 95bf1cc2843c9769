/* Tests for the transforms in src/plugins/transforms/: select, rename,
 * set, cast, filter and lineage, each on hand-built batches, with config
 * read from YAML text and rejects written by the engine's rejects file. */
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/engine/engine_internal.h"
#include "sluice/hash.h"
#include "sluice/json.h"
#include "sluice/plugin.h"
#include "sluice/timeutil.h"
#include "../test.h"

extern const sl_transform_type_t sl_transform_select;
extern const sl_transform_type_t sl_transform_rename;
extern const sl_transform_type_t sl_transform_set;
extern const sl_transform_type_t sl_transform_cast;
extern const sl_transform_type_t sl_transform_filter;
extern const sl_transform_type_t sl_transform_lineage;

typedef struct {
    sl_step_ctx_t ctx;
    sl_value_t params, run;
    sl_rejects_t *rejects;
    const char *rejects_path;
    const sl_transform_type_t *type;
    void *self;
    sl_batch_t b;
} fixture_t;

static sl_value_t J(sl_arena_t *a, const char *json)
{
    sl_value_t v;
    sl_json_error_t e;
    if (sl_json_parse(a, json, strlen(json), NULL, &v, &e) != 0) {
        sl_test_fail(__FILE__, __LINE__, "bad test JSON %s: %s", json, e.reason);
    }
    return v;
}

static void setup(fixture_t *f, int64_t max_rejects)
{
    memset(f, 0, sizeof *f);
    f->ctx.arena = sl_arena_create(0, 0);
    f->params = J(f->ctx.arena, "{\"min\": 10, \"source\": \"crm\", \"status\": \"it's\"}");
    f->run = J(f->ctx.arena, "{\"id\": \"run-42\"}");
    f->ctx.params = &f->params;
    f->ctx.run = &f->run;
    f->ctx.run_id = "0b7e5c1e-1d2a-4c3b-9f00-000000000042";
    f->ctx.run_started_us = 1795341600000000LL;
    static char path[600];
    snprintf(path, sizeof path, "%s/rejects.jsonl", sl_test_tmpdir());
    f->rejects_path = path;
    f->rejects = sl_rejects_new(path, max_rejects, "step1");
    f->ctx.rejects = (struct sl_rejects *)f->rejects;
    f->b.arena = sl_arena_create(0, 0);
    f->b.origin = "in.jsonl";
}

/* Opens type with the YAML map text; returns open's code (message in
 * f->ctx.err). The spec must accept the map. */
static int open_tf(fixture_t *f, const sl_transform_type_t *type, const char *yaml)
{
    sl_node_t *root;
    sl_err_t err = {0};
    if (sl_config_parse(f->ctx.arena, "t.yaml", yaml, strlen(yaml), NULL, &root, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "bad test YAML: %s", err.msg);
    }
    int rc = sl_config_check(root, type->config, "transform", &err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "spec refused the config: %s", err.msg);
    }
    f->type = type;
    return type->open(&f->ctx, root, &f->self);
}

static void push(fixture_t *f, const char *json, uint64_t line)
{
    /* The text must outlive the batch: copy it into the batch arena. */
    char *copy = sl_arena_strdup(f->b.arena, json);
    if (sl_batch_push(&f->b, J(f->b.arena, copy), line) != 0) {
        sl_test_fail(__FILE__, __LINE__, "push failed");
    }
}

/* The batch as JSON lines "line:{...}" joined by '\n'. */
static const char *dump(fixture_t *f)
{
    sl_buf_t b = SL_BUF_INIT;
    for (size_t i = 0; i < f->b.n; i++) {
        sl_buf_printf(&b, "%s%llu:", i ? "\n" : "", (unsigned long long)f->b.lines[i]);
        sl_json_write(&b, &f->b.records[i], 0);
    }
    char *s = sl_arena_strndup(f->ctx.arena, b.data ? b.data : "", b.len);
    sl_buf_free(&b);
    return s;
}

static const char *rejects_text(fixture_t *f)
{
    sl_err_t err = {0};
    if (sl_rejects_flush(f->rejects, &err) != 0) {
        sl_test_fail(__FILE__, __LINE__, "flush: %s", err.msg);
    }
    static char buf[8192];
    buf[0] = '\0';
    FILE *fp = fopen(f->rejects_path, "r");
    if (fp) {
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

static void teardown(fixture_t *f)
{
    if (f->type && f->self) {
        f->type->close(f->self);
    }
    sl_rejects_free(f->rejects);
    sl_arena_destroy(f->b.arena);
    sl_arena_destroy(f->ctx.arena);
}

static int run(fixture_t *f)
{
    return f->type->process(f->self, &f->ctx, &f->b);
}

SL_TEST(transforms_specs_have_type)
{
    const sl_transform_type_t *all[] = {&sl_transform_select, &sl_transform_rename,
                                        &sl_transform_set,    &sl_transform_cast,
                                        &sl_transform_filter, &sl_transform_lineage};
    const char *names[] = {"select", "rename", "set", "cast", "filter", "lineage"};
    for (size_t i = 0; i < SL_ARRAY_LEN(all); i++) {
        CHECK_STR(all[i]->name, names[i]);
        CHECK(all[i]->doc && *all[i]->doc);
        bool has_type = false;
        for (const sl_field_spec_t *s = all[i]->config; s->name; s++) {
            has_type |= strcmp(s->name, "type") == 0 && s->required;
        }
        CHECK(has_type);
        CHECK(all[i]->open && all[i]->process && all[i]->close);
    }
}

SL_TEST(transforms_select_fields)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\nfields: [c, a, missing]\n"), 0);
    push(&f, "{\"a\": 1, \"b\": 2, \"c\": 3}", 1);
    push(&f, "{\"b\": 2}", 2);
    push(&f, "{\"c\": {\"d\": 1}, \"a\": null, \"x\": 0}", 3);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"c\":3,\"a\":1}\n2:{}\n3:{\"c\":{\"d\":1},\"a\":null}");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\nfields: b\n"), 0);
    push(&f, "{\"a\": 1, \"b\": 2, \"c\": 3}", 1);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"b\":2}");
    teardown(&f);
}

SL_TEST(transforms_select_exclude)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\nexclude: [password, b]\n"), 0);
    push(&f, "{\"a\": 1, \"b\": 2, \"password\": \"x\", \"c\": 3}", 1);
    push(&f, "{\"c\": 3}", 2);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"a\":1,\"c\":3}\n2:{\"c\":3}");
    teardown(&f);
}

SL_TEST(transforms_select_config_errors)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\nfields: [a]\nexclude: [b]\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:1:1: select: give exactly one of 'fields' (keep) or "
              "'exclude' (drop)");
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\n"), SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "give exactly one of 'fields'");
    CHECK_INT(open_tf(&f, &sl_transform_select, "type: select\nfields: [a, b, a]\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:2:16: select: fields: 'a' is listed twice");
    teardown(&f);
}

SL_TEST(transforms_rename)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_rename, "type: rename\nfields: {a: x, c: b}\n"), 0);
    push(&f, "{\"a\": 1, \"b\": 2}", 1);          /* b is not replaced: c is absent */
    push(&f, "{\"a\": 1, \"b\": 2, \"c\": 3}", 2); /* c replaces b */
    push(&f, "{\"z\": 0}", 3);
    push(&f, "{\"b\": 2, \"c\": 3}", 4);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"x\":1,\"b\":2}\n2:{\"x\":1,\"b\":3}\n3:{\"z\":0}\n4:{\"b\":3}");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_rename, "type: rename\nfields:\n  a: b\n  b: a\n"), 0);
    push(&f, "{\"a\": 1, \"b\": 2, \"c\": 3}", 7);
    push(&f, "{\"a\": 1}", 8);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "7:{\"b\":1,\"a\":2,\"c\":3}\n8:{\"b\":1}");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_rename, "type: rename\nfields: {a: x, b: x}\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:2:19: rename: fields: 'b' and 'a' both become 'x'");
    teardown(&f);
}

static const sl_value_t *field(fixture_t *f, size_t i, const char *key)
{
    const sl_value_t *v = sl_object_get_c(&f->b.records[i], key);
    if (!v) {
        sl_test_fail(__FILE__, __LINE__, "record %zu has no '%s'", i, key);
    }
    return v;
}

SL_TEST(transforms_set_values_and_types)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_set,
                      "type: set\n"
                      "fields:\n"
                      "  day: \"{{ record.ts | date }}\"\n"
                      "  n: 5\n"
                      "  ratio: 1.5\n"
                      "  on: true\n"
                      "  gone: null\n"
                      "  label: \"v{{ record.id }}-{{ record.name | lower }}\"\n"
                      "  src: \"{{ params.source }}\"\n"
                      "  plain: text\n"
                      "  quoted_num: \"5\"\n"
                      "  id: \"{{ record.id | string }}\"\n"
                      "  run: \"{{ run.id }}\"\n"),
              0);
    push(&f, "{\"id\": 1, \"name\": \"Ada\", \"ts\": \"2026-11-22T10:00:00Z\"}", 1);
    push(&f, "{\"id\": 2, \"gone\": 1}", 2);
    CHECK_INT(run(&f), 0);
    CHECK_INT(f.b.n, 2);
    CHECK_INT(field(&f, 0, "day")->type, SL_T_DATE);
    CHECK_INT(field(&f, 0, "day")->u.i, 20779);
    CHECK_INT(field(&f, 0, "n")->type, SL_T_INT);
    CHECK_INT(field(&f, 0, "ratio")->type, SL_T_DOUBLE);
    CHECK_INT(field(&f, 0, "on")->type, SL_T_BOOL);
    CHECK_INT(field(&f, 0, "gone")->type, SL_T_NULL);
    CHECK_INT(field(&f, 0, "quoted_num")->type, SL_T_STRING);
    CHECK_INT(field(&f, 0, "id")->type, SL_T_STRING);
    CHECK_STR(dump(&f),
              "1:{\"id\":\"1\",\"name\":\"Ada\",\"ts\":\"2026-11-22T10:00:00Z\",\"day\":"
              "\"2026-11-22\",\"n\":5,\"ratio\":1.5,\"on\":true,\"gone\":null,\"label\":"
              "\"v1-ada\",\"src\":\"crm\",\"plain\":\"text\",\"quoted_num\":\"5\",\"run\":"
              "\"run-42\"}\n"
              "2:{\"id\":\"2\",\"gone\":null,\"day\":null,\"n\":5,\"ratio\":1.5,\"on\":true,"
              "\"label\":\"v2-\",\"src\":\"crm\",\"plain\":\"text\",\"quoted_num\":\"5\","
              "\"run\":\"run-42\"}");
    teardown(&f);
}

SL_TEST(transforms_set_sees_record_as_it_came)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_set,
                      "type: set\nfields:\n  a: \"new\"\n  b: \"{{ record.a }}\"\n"),
              0);
    push(&f, "{\"a\": \"old\"}", 1);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"a\":\"new\",\"b\":\"old\"}");
    teardown(&f);
}

SL_TEST(transforms_set_rejects)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_set, "type: set\nfields: {n: \"{{ record.v | int }}\"}\n"),
              0);
    push(&f, "{\"v\": \"1\"}", 10);
    push(&f, "{\"v\": \"one\"}", 11);
    push(&f, "{\"v\": 3}", 12);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "10:{\"v\":\"1\",\"n\":1}\n12:{\"v\":3,\"n\":3}");
    CHECK_STR(rejects_text(&f),
              "{\"step\":\"step1\",\"origin\":\"in.jsonl\",\"line\":11,\"reason\":\"set: field "
              "'n': template '{{ record.v | int }}': filter 'int' cannot make an int of string "
              "'one' (from record.v)\",\"record\":{\"v\":\"one\"}}\n");
    teardown(&f);
}

SL_TEST(transforms_set_config_errors)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_set, "type: set\nfields:\n  x: \"{{ record.a | lowr }}\"\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:3:6: set: fields: 'x': template '{{ record.a | lowr }}': "
              "1:15: unknown filter 'lowr' (known: date, lower, upper, trim, md5, json, "
              "urlencode, string, int, float, default)");
    CHECK_INT(open_tf(&f, &sl_transform_set, "type: set\nfields:\n  x: [1, 2]\n"), SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:3:6: set: fields: 'x' must be a template or a constant, "
              "not a list");
    teardown(&f);
}

SL_TEST(transforms_cast_all_types)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast,
                      "type: cast\nfields: {amount: float, created_at: timestamp, id: int, "
                      "flag: bool, name: string, day: date, data: json}\n"),
              0);
    push(&f, "{\"amount\": \"12.5\", \"created_at\": \"2026-11-22T10:00:00+01:00\", \"id\": "
             "\"42\", \"flag\": \"yes\", \"name\": 7, \"day\": \"2026-11-22T23:30:00Z\", "
             "\"data\": \"{\\\"k\\\": [1, 2]}\", \"other\": \"x\"}", 1);
    push(&f, "{\"amount\": 3, \"created_at\": 1700000000, \"id\": 42.0, \"flag\": 0, \"name\": "
             "\"s\", \"day\": \"2026-11-22\", \"data\": [1]}", 2);
    push(&f, "{\"amount\": null, \"id\": null}", 3);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f),
              "1:{\"amount\":12.5,\"created_at\":\"2026-11-22T09:00:00Z\",\"id\":42,\"flag\":"
              "true,\"name\":\"7\",\"day\":\"2026-11-22\",\"data\":{\"k\":[1,2]},\"other\":"
              "\"x\"}\n"
              "2:{\"amount\":3.0,\"created_at\":\"2023-11-14T22:13:20Z\",\"id\":42,\"flag\":"
              "false,\"name\":\"s\",\"day\":\"2026-11-22\",\"data\":[1]}\n"
              "3:{\"amount\":null,\"id\":null}");
    CHECK_INT(field(&f, 0, "created_at")->type, SL_T_TIMESTAMP);
    CHECK_INT(field(&f, 0, "day")->type, SL_T_DATE);
    CHECK_INT(field(&f, 1, "amount")->type, SL_T_DOUBLE);
    CHECK_STR(rejects_text(&f), "");
    teardown(&f);
}

SL_TEST(transforms_cast_rejects)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast,
                      "type: cast\nfields: {id: int, amount: float}\n"), 0);
    push(&f, "{\"id\": \"1\", \"amount\": \"1.5\"}", 1);
    push(&f, "{\"id\": \"2\", \"amount\": \"abc\"}", 2);
    push(&f, "{\"id\": 42.5, \"amount\": 1}", 3);
    push(&f, "{\"id\": \"4\"}", 4);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"id\":1,\"amount\":1.5}\n4:{\"id\":4}");
    /* Rejected records are the ones that came in: id still the string "2". */
    CHECK_STR(rejects_text(&f),
              "{\"step\":\"step1\",\"origin\":\"in.jsonl\",\"line\":2,\"reason\":\"cast: field "
              "'amount': cannot convert string 'abc' to float\",\"record\":{\"id\":\"2\","
              "\"amount\":\"abc\"}}\n"
              "{\"step\":\"step1\",\"origin\":\"in.jsonl\",\"line\":3,\"reason\":\"cast: field "
              "'id': cannot convert float 42.5 to int (not a whole number)\",\"record\":{\"id\":"
              "42.5,\"amount\":1}}\n");
    CHECK_INT(sl_rejects_count(f.rejects), 2);
    teardown(&f);
}

SL_TEST(transforms_cast_on_error_modes)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast,
                      "type: cast\nfields: {n: int, t: timestamp}\non_error: null\n"), 0);
    push(&f, "{\"n\": \"x\", \"t\": \"2026-02-30\"}", 1);
    push(&f, "{\"n\": \"7\", \"t\": \"2026-02-28\"}", 2);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"n\":null,\"t\":null}\n2:{\"n\":7,\"t\":\"2026-02-28T00:00:00Z\"}");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: int}\non_error: fail\n"),
              0);
    push(&f, "{\"n\": \"7\"}", 1);
    push(&f, "{\"n\": \"x\"}", 2);
    CHECK_INT(run(&f), SL_ETYPE);
    CHECK_STR(f.ctx.err.msg, "cast: in.jsonl:2: field 'n': cannot convert string 'x' to int");
    teardown(&f);

    /* Over max_rejects: the engine's error comes back. */
    setup(&f, 0);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: int}\n"), 0);
    push(&f, "{\"n\": \"x\"}", 5);
    CHECK_INT(run(&f), SL_EREJECTS);
    CHECK_CONTAINS(f.ctx.err.msg, "cast: field 'n': cannot convert string 'x' to int");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: int}\non_error: drop\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:3:11: cast: on_error must be reject, null or fail, got "
              "'drop'");
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: int}\non_error: ~\n"),
              SL_ECONFIG);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: int}\non_error: fail\n"),
              0);
    f.type->close(f.self);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {n: integr}\n"), SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:2:13: cast: fields: 'n': unknown type 'integr' (expected "
              "int, float, bool, string, timestamp, date or json)");
    teardown(&f);
}

SL_TEST(transforms_cast_json_errors)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_cast, "type: cast\nfields: {data: json}\n"), 0);
    push(&f, "{\"data\": \"{bad\"}", 1);
    CHECK_INT(run(&f), 0);
    CHECK_INT(f.b.n, 0);
    CHECK_CONTAINS(rejects_text(&f), "\"reason\":\"cast: field 'data': cannot parse string "
                   "'{bad' as JSON: ");
    teardown(&f);
}

SL_TEST(transforms_filter)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_filter,
                      "type: filter\nwhere: \"amount >= {{ params.min }} and status != 'void'\"\n"),
              0);
    push(&f, "{\"amount\": 5, \"status\": \"paid\"}", 1);
    push(&f, "{\"amount\": 10, \"status\": \"paid\"}", 2);
    push(&f, "{\"amount\": 11.5, \"status\": \"void\"}", 3);
    push(&f, "{\"amount\": 20}", 4);
    push(&f, "{\"status\": \"paid\"}", 5);
    CHECK_INT(run(&f), 0);
    /* 4 has no status: comparisons with null are false, so it goes too. */
    CHECK_STR(dump(&f), "2:{\"amount\":10,\"status\":\"paid\"}");
    CHECK_STR(rejects_text(&f), "");
    teardown(&f);
}

SL_TEST(transforms_filter_string_param_and_rejects)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_filter,
                      "type: filter\nwhere: status == {{ params.status }} or amount > 100\n"),
              0);
    push(&f, "{\"status\": \"it's\", \"amount\": 1}", 1);
    push(&f, "{\"status\": \"other\", \"amount\": \"lots\"}", 2);
    push(&f, "{\"status\": \"other\", \"amount\": 101}", 3);
    CHECK_INT(run(&f), 0);
    CHECK_STR(dump(&f), "1:{\"status\":\"it's\",\"amount\":1}\n3:{\"status\":\"other\","
              "\"amount\":101}");
    CHECK_STR(rejects_text(&f),
              "{\"step\":\"step1\",\"origin\":\"in.jsonl\",\"line\":2,\"reason\":\"filter: where "
              "'status == {{ params.status }} or amount > 100': cannot compare string 'lots' "
              "(amount) with int 100 using '>'\",\"record\":{\"status\":\"other\",\"amount\":"
              "\"lots\"}}\n");
    teardown(&f);
}

SL_TEST(transforms_filter_config_errors)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_filter, "type: filter\nwhere: amount >=\n"),
              SL_ECONFIG);
    CHECK_STR(f.ctx.err.msg, "t.yaml:2:8: filter: where: 1:10: expected a value after '>='");
    CHECK_INT(open_tf(&f, &sl_transform_filter, "type: filter\nwhere: \"a > {{ record.b }}\"\n"),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "t.yaml:2:8: filter: where: {{ record... }} cannot be used");
    teardown(&f);
}

SL_TEST(transforms_lineage)
{
    fixture_t f;
    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_lineage, "type: lineage\nsource_system: files\n"), 0);
    push(&f, "{\"b\": 2, \"a\": {\"y\": 1, \"x\": \"s\"}, \"c\": [3, {\"e\": null, \"d\": true}]}",
         1);
    push(&f, "{\"id\": 1, \"_source_system\": \"old\"}", 2);
    push(&f, "{}", 3);
    int64_t before = sl_now_us();
    CHECK_INT(run(&f), 0);
    int64_t after = sl_now_us();
    CHECK_INT(f.b.n, 3);
    /* Hashes of the canonical JSON, computed independently (Python's
     * hashlib over the literal text in the comment). */
    /* {"a":{"x":"s","y":1},"b":2,"c":[3,{"d":true,"e":null}]} */
    CHECK_STRN(field(&f, 0, "_record_hash")->u.s, 32, "2965566eedad431651bc07cbbfb3daab");
    /* {"_source_system":"old","id":1} */
    CHECK_STRN(field(&f, 1, "_record_hash")->u.s, 32, "3d263ca3da967489cf9040a30811e1d6");
    /* {} */
    CHECK_STRN(field(&f, 2, "_record_hash")->u.s, 32, "99914b932bd37a50b983c5e7c90ae93b");
    char hex[33];
    const char *canon = "{\"a\":{\"x\":\"s\",\"y\":1},\"b\":2,\"c\":[3,{\"d\":true,\"e\":null}]}";
    sl_md5_hex(canon, strlen(canon), hex);
    CHECK_STRN(field(&f, 0, "_record_hash")->u.s, 32, hex);
    const sl_value_t *ts = field(&f, 0, "_ingestion_ts");
    CHECK_INT(ts->type, SL_T_TIMESTAMP);
    CHECK(ts->u.i >= before && ts->u.i <= after);
    CHECK_INT(field(&f, 2, "_ingestion_ts")->u.i, ts->u.i); /* one per batch */
    CHECK_STRN(field(&f, 0, "_source_system")->u.s, field(&f, 0, "_source_system")->len,
               "files");
    CHECK_STRN(field(&f, 1, "_ingestion_id")->u.s, field(&f, 1, "_ingestion_id")->len,
               "0b7e5c1e-1d2a-4c3b-9f00-000000000042");
    /* Existing lineage fields are replaced in place; new ones appended. */
    const sl_value_t *r1 = &f.b.records[1];
    CHECK_INT(r1->len, 5);
    CHECK_STRN(r1->u.members[0].key, r1->u.members[0].klen, "id");
    CHECK_STRN(r1->u.members[1].key, r1->u.members[1].klen, "_source_system");
    CHECK_STRN(r1->u.members[1].val.u.s, r1->u.members[1].val.len, "files");
    CHECK_STRN(r1->u.members[2].key, r1->u.members[2].klen, "_ingestion_ts");
    CHECK_STRN(r1->u.members[3].key, r1->u.members[3].klen, "_record_hash");
    CHECK_STRN(r1->u.members[4].key, r1->u.members[4].klen, "_ingestion_id");
    teardown(&f);

    setup(&f, 10);
    CHECK_INT(open_tf(&f, &sl_transform_lineage, "type: lineage\nsource_system: \"\"\n"),
              SL_ECONFIG);
    CHECK_CONTAINS(f.ctx.err.msg, "source_system");
    teardown(&f);
}

SL_TEST(transforms_empty_batches)
{
    const sl_transform_type_t *all[] = {&sl_transform_select, &sl_transform_rename,
                                        &sl_transform_set,    &sl_transform_cast,
                                        &sl_transform_filter, &sl_transform_lineage};
    const char *cfg[] = {"type: select\nfields: [a]\n", "type: rename\nfields: {a: b}\n",
                         "type: set\nfields: {a: \"{{ params.min }}\"}\n",
                         "type: cast\nfields: {a: int}\n", "type: filter\nwhere: a > 1\n",
                         "type: lineage\nsource_system: x\n"};
    for (size_t i = 0; i < SL_ARRAY_LEN(all); i++) {
        fixture_t f;
        setup(&f, 0);
        CHECK_INT(open_tf(&f, all[i], cfg[i]), 0);
        CHECK_INT(run(&f), 0);
        CHECK_INT(f.b.n, 0);
        teardown(&f);
    }
}
