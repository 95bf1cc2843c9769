/* Unit tests for Parquet schema inference, widening, conforming and
 * declared schemas (src/format/pq_schema.c). Schemas are compared in
 * their text form (sl_pq_schema_format). */
#include "sluice/config.h"
#include "sluice/json.h"
#include "sluice/pq_schema.h"
#include "test.h"

/* Parses one JSON record per line into a fresh array in a. */
static sl_value_t *recs(sl_arena_t *a, const char *lines, size_t *n)
{
    sl_value_t *out = sl_arena_alloc(a, 64 * sizeof *out);
    *n = 0;
    const char *p = lines;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        sl_json_error_t je;
        if (sl_json_parse(a, p, len, NULL, &out[*n], &je)) {
            sl_test_fail(__FILE__, __LINE__, "json: %s", je.reason);
        }
        (*n)++;
        p += len + (e ? 1 : 0);
    }
    return out;
}

static const char *fmt(sl_arena_t *a, const sl_pq_node_t *root)
{
    sl_buf_t b = SL_BUF_INIT;
    CHECK_INT(sl_pq_schema_format(root, &b), 0);
    char *s = sl_arena_strdup(a, b.data ? b.data : "");
    sl_buf_free(&b);
    return s;
}

static const char *infer(sl_arena_t *a, const char *lines, sl_pqs_nested_t mode,
                         const char *const *exclude)
{
    size_t n;
    sl_value_t *r = recs(a, lines, &n);
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, mode, exclude, &root), 0);
    return fmt(a, root);
}

SL_TEST(pqs_infer_scalars_in_first_seen_order)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    CHECK_STR(infer(a,
                    "{\"id\":1,\"name\":\"a\",\"v\":1.5,\"ok\":true}\n"
                    "{\"id\":2,\"extra\":null,\"big\":123456789012345678901234567890}",
                    SL_PQS_NESTED_STRUCT, NULL),
              "struct<id: int64, name: string, v: double, ok: bool, extra: null, big: string>");
    sl_arena_destroy(a);
}

SL_TEST(pqs_infer_timestamps_dates_and_nested)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t n;
    sl_value_t *r = recs(a,
                         "{\"ts\":0,\"d\":0,\"addr\":{\"city\":\"x\",\"zip\":null},"
                         "\"tags\":[\"a\",\"b\"],\"pts\":[{\"x\":1},{\"y\":2.5}]}",
                         &n);
    r[0].u.members[0].val = sl_value_timestamp(1000000);
    r[0].u.members[1].val = sl_value_date(20000);
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    CHECK_STR(fmt(a, root), "struct<ts: timestamp, d: date, addr: struct<city: string, zip: "
                            "null>, tags: list<string>, pts: list<struct<x: int64, y: double>>>");
    CHECK_INT(root->children[0].required, 0);
    CHECK_INT(root->children[3].type, SL_PQ_LIST);
    CHECK_STR(root->children[3].children[0].name, "element");
    /* json mode: objects and arrays become JSON columns */
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_JSON, NULL, &root), 0);
    CHECK_STR(fmt(a, root), "struct<ts: timestamp, d: date, addr: json, tags: json, pts: json>");
    sl_arena_destroy(a);
}

SL_TEST(pqs_infer_excludes_top_level_keys_only)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    const char *const ex[] = {"day", "src", NULL};
    CHECK_STR(infer(a, "{\"day\":\"2026-11-22\",\"id\":1,\"o\":{\"day\":2},\"src\":\"x\"}",
                    SL_PQS_NESTED_STRUCT, ex),
              "struct<id: int64, o: struct<day: int64>>");
    sl_arena_destroy(a);
}

SL_TEST(pqs_widening_rules)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    CHECK_STR(infer(a,
                    "{\"a\":1,\"b\":1,\"c\":true,\"d\":\"x\",\"e\":{\"k\":1},\"f\":[1]}\n"
                    "{\"a\":2.5,\"b\":\"s\",\"c\":1,\"d\":5,\"e\":3,\"f\":{\"k\":1}}",
                    SL_PQS_NESTED_STRUCT, NULL),
              "struct<a: double, b: string, c: string, d: string, e: json, f: json>");
    /* double + int stays double; lists unify their items; list of mixed
     * scalars and objects is a list of json */
    CHECK_STR(infer(a,
                    "{\"a\":2.5,\"l\":[1,2.5],\"m\":[1,{\"x\":1}],\"n\":[[1],[2.5]]}\n"
                    "{\"a\":1,\"l\":[],\"m\":null,\"n\":[[\"s\"]]}",
                    SL_PQS_NESTED_STRUCT, NULL),
              "struct<a: double, l: list<double>, m: list<json>, n: list<list<string>>>");
    /* a bignum with ints: string (exact digits) */
    CHECK_STR(infer(a, "{\"a\":1}\n{\"a\":99999999999999999999}", SL_PQS_NESTED_STRUCT, NULL),
              "struct<a: string>");
    sl_arena_destroy(a);
}

SL_TEST(pqs_widening_date_timestamp)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t r[3];
    for (int i = 0; i < 3; i++) {
        sl_object_new(a, &r[i], 1);
    }
    sl_object_set(a, &r[0], "t", 1, sl_value_date(1));
    sl_object_set(a, &r[1], "t", 1, sl_value_timestamp(5));
    sl_object_set(a, &r[2], "t", 1, sl_value_str("x", 1));
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, 2, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    CHECK_STR(fmt(a, root), "struct<t: timestamp>");
    bool changed = false;
    CHECK_INT(sl_pq_schema_merge(a, &root, &r[2], 1, SL_PQS_NESTED_STRUCT, NULL, &changed), 0);
    CHECK(changed);
    CHECK_STR(fmt(a, root), "struct<t: string>");
    sl_arena_destroy(a);
}

SL_TEST(pqs_merge_reports_changes_and_adds_columns_at_the_end)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t n;
    sl_value_t *r = recs(a, "{\"id\":1,\"v\":null,\"o\":{\"a\":1}}", &n);
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_STRUCT, NULL, &root), 0);

    bool changed = false;
    r = recs(a, "{\"o\":{\"a\":2},\"id\":5,\"v\":null}\n{\"id\":7}", &n);
    CHECK_INT(sl_pq_schema_merge(a, &root, r, n, SL_PQS_NESTED_STRUCT, NULL, &changed), 0);
    CHECK(!changed);
    CHECK_STR(fmt(a, root), "struct<id: int64, v: null, o: struct<a: int64>>");

    /* a value for the unknown column, new keys at both levels */
    r = recs(a,
             "{\"v\":\"x\",\"o\":{\"b\":true,\"a\":3},\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,"
             "\"k5\":5,\"k6\":6}",
             &n);
    CHECK_INT(sl_pq_schema_merge(a, &root, r, n, SL_PQS_NESTED_STRUCT, NULL, &changed), 0);
    CHECK(changed);
    CHECK_STR(fmt(a, root), "struct<id: int64, v: string, o: struct<a: int64, b: bool>, k1: "
                            "int64, k2: int64, k3: int64, k4: int64, k5: int64, k6: int64>");
    /* changed stays set across calls that change nothing */
    CHECK_INT(sl_pq_schema_merge(a, &root, r, n, SL_PQS_NESTED_STRUCT, NULL, &changed), 0);
    CHECK(changed);
    /* non-objects are skipped */
    r = recs(a, "[1,2]\n5", &n);
    changed = false;
    CHECK_INT(sl_pq_schema_merge(a, &root, r, n, SL_PQS_NESTED_STRUCT, NULL, &changed), 0);
    CHECK(!changed);
    sl_arena_destroy(a);
}

SL_TEST(pqs_many_columns_keep_order)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_value_t rec;
    sl_object_new(a, &rec, 4);
    char *names[300];
    for (int i = 0; i < 300; i++) {
        names[i] = sl_arena_sprintf(a, "c%03d", i);
        sl_object_set(a, &rec, names[i], 4, sl_value_int(i));
    }
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, &rec, 1, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    CHECK_INT(root->nchildren, 300);
    for (int i = 0; i < 300; i++) {
        CHECK_STR(root->children[i].name, names[i]);
        CHECK_INT(root->children[i].type, SL_PQ_INT64);
    }
    sl_arena_destroy(a);
}

SL_TEST(pqs_finalize_unknowns_and_empty_objects)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t n;
    sl_value_t *r = recs(a, "{\"a\":null,\"l\":[],\"ln\":[null],\"e\":{},\"o\":{\"x\":null}}", &n);
    sl_pq_node_t *root = NULL, *fin = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    CHECK_STR(fmt(a, root),
              "struct<a: null, l: list<null>, ln: list<null>, e: struct<>, o: struct<x: null>>");
    CHECK_INT(sl_pq_schema_finalize(a, root, &fin), 0);
    CHECK_STR(fmt(a, fin), "struct<a: string, l: list<string>, ln: list<string>, e: json, o: "
                           "struct<x: string>>");
    /* the inferred tree is untouched and keeps widening */
    CHECK_STR(fmt(a, root),
              "struct<a: null, l: list<null>, ln: list<null>, e: struct<>, o: struct<x: null>>");
    /* an empty root stays a struct */
    sl_pq_node_t *empty = NULL;
    CHECK_INT(sl_pq_schema_infer(a, NULL, 0, SL_PQS_NESTED_STRUCT, NULL, &empty), 0);
    CHECK_INT(sl_pq_schema_finalize(a, empty, &fin), 0);
    CHECK_INT(fin->type, SL_PQ_STRUCT);
    CHECK_INT(fin->nchildren, 0);
    sl_arena_destroy(a);
}

SL_TEST(pqs_conform_to_widened_types)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t n;
    sl_value_t *r =
        recs(a,
             "{\"s\":\"x\",\"d\":1.5,\"t\":0,\"l\":[\"a\"],\"o\":{\"k\":\"z\"},\"j\":1}\n"
             "{\"s\":42,\"d\":2,\"t\":0,\"l\":[true,7,null],\"o\":{\"k\":1.25},"
             "\"j\":{\"q\":1}}",
             &n);
    r[0].u.members[2].val = sl_value_timestamp(5);
    r[1].u.members[2].val = sl_value_date(2);
    sl_pq_node_t *root = NULL, *fin = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    CHECK_INT(sl_pq_schema_finalize(a, root, &fin), 0);
    CHECK_STR(fmt(a, fin), "struct<s: string, d: double, t: timestamp, l: list<string>, o: "
                           "struct<k: string>, j: json>");
    CHECK_INT(sl_pq_schema_conform(a, fin, &r[1]), 0);
    sl_value_t *v = sl_object_get_c(&r[1], "s");
    CHECK_INT(v->type, SL_T_STRING);
    CHECK_STRN(v->u.s, v->len, "42");
    v = sl_object_get_c(&r[1], "d");
    CHECK_INT(v->type, SL_T_DOUBLE);
    CHECK_DBL(v->u.d, 2.0);
    v = sl_object_get_c(&r[1], "t");
    CHECK_INT(v->type, SL_T_TIMESTAMP);
    CHECK_INT(v->u.i, INT64_C(2) * 86400 * 1000000);
    v = sl_object_get_c(&r[1], "l");
    CHECK_STRN(v->u.items[0].u.s, v->u.items[0].len, "true");
    CHECK_STRN(v->u.items[1].u.s, v->u.items[1].len, "7");
    CHECK_INT(v->u.items[2].type, SL_T_NULL);
    v = sl_value_path(&r[1], "o.k", 3);
    CHECK_STRN(v->u.s, v->len, "1.25");
    v = sl_object_get_c(&r[1], "j");
    CHECK_INT(v->type, SL_T_OBJECT); /* JSON columns take any value */
    /* a timestamp and a date in a string column: ISO text */
    sl_pq_node_t col = {.name = "c", .type = SL_PQ_STRING};
    sl_value_t ts = sl_value_timestamp(INT64_C(1795341600000000));
    CHECK_INT(sl_pq_schema_conform(a, &col, &ts), 0);
    CHECK_STRN(ts.u.s, ts.len, "2026-11-22T10:00:00Z");
    sl_value_t d = sl_value_date(20414);
    CHECK_INT(sl_pq_schema_conform(a, &col, &d), 0);
    CHECK_STRN(d.u.s, d.len, "2025-11-22");
    sl_arena_destroy(a);
}

SL_TEST(pqs_conform_leaves_fitting_values_alone)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    size_t n;
    sl_value_t *r = recs(a, "{\"s\":\"x\",\"i\":1,\"o\":{\"k\":[1,2]}}", &n);
    sl_pq_node_t *root = NULL;
    CHECK_INT(sl_pq_schema_infer(a, r, n, SL_PQS_NESTED_STRUCT, NULL, &root), 0);
    sl_value_t before = r[0];
    const char *sp = r[0].u.members[0].val.u.s;
    size_t used = sl_arena_used(a);
    CHECK_INT(sl_pq_schema_conform(a, root, &r[0]), 0);
    CHECK_INT(sl_arena_used(a), used);
    CHECK(r[0].u.members == before.u.members);
    CHECK(r[0].u.members[0].val.u.s == sp);
    CHECK_INT(r[0].u.members[1].val.type, SL_T_INT);
    sl_arena_destroy(a);
}

static const sl_node_t *yaml_map(sl_arena_t *a, const char *text)
{
    sl_node_t *root = NULL;
    sl_err_t err;
    if (sl_config_parse(a, "p.yaml", text, strlen(text), ".", &root, &err)) {
        sl_test_fail(__FILE__, __LINE__, "yaml: %s", err.msg);
    }
    return sl_node_get(root, "schema");
}

static const char *parse_ok(sl_arena_t *a, const char *yaml)
{
    sl_pq_node_t *root = NULL;
    sl_err_t err = {0};
    int rc = sl_pq_schema_parse(a, yaml_map(a, yaml), "sink 'lake': schema", &root, &err);
    if (rc) {
        sl_test_fail(__FILE__, __LINE__, "parse: %s", err.msg);
    }
    return fmt(a, root);
}

static const char *parse_err(sl_arena_t *a, const char *yaml)
{
    sl_pq_node_t *root = NULL;
    sl_err_t *err = sl_arena_calloc(a, sizeof *err);
    CHECK_INT(sl_pq_schema_parse(a, yaml_map(a, yaml), "sink 'lake': schema", &root, err),
              SL_ECONFIG);
    return err->msg;
}

SL_TEST(pqs_parse_declared_schema)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    CHECK_STR(parse_ok(a, "schema: {id: int64 not null, ts: timestamp, amount: "
                          "\"decimal(10,2)\", tags: \"list<string>\", addr: \"struct<city: "
                          "string, zip: string not null>\", payload: json, flag: bool, n: "
                          "int32, x: float, d: date, name: string, raw: binary, y: double}\n"),
              "struct<id: int64 not null, ts: timestamp, amount: decimal(10,2), tags: "
              "list<string>, addr: struct<city: string, zip: string not null>, payload: json, "
              "flag: bool, n: int32, x: float, d: date, name: string, raw: binary, y: double>");
    /* aliases, case, spacing, nested maps and [T] lists */
    CHECK_STR(parse_ok(a, "schema:\n  a: BIGINT NOT NULL\n  b: \" boolean \"\n"
                          "  c: \"list< struct<x: decimal( 38 , 0 ), y: list<int>> not null >\"\n"
                          "  d: {e: int, f: [string not null]}\n  g: int64 null\n"),
              "struct<a: int64 not null, b: bool, c: list<struct<x: decimal(38,0), y: "
              "list<int64>> not null>, d: struct<e: int64, f: list<string not null>>, g: "
              "int64>");
    sl_pq_node_t *root = NULL;
    sl_err_t err;
    CHECK_INT(sl_pq_schema_parse(a, yaml_map(a, "schema: {amount: \"decimal(12,3)\"}\n"), "s",
                                 &root, &err),
              0);
    CHECK_INT(root->children[0].type, SL_PQ_DECIMAL);
    CHECK_INT(root->children[0].precision, 12);
    CHECK_INT(root->children[0].scale, 3);
    sl_arena_destroy(a);
}

SL_TEST(pqs_parse_errors_name_position_and_field)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    CHECK_STR(parse_err(a, "schema:\n  id: int64\n  amount: decimel(10,2)\n"),
              "p.yaml:3:11: sink 'lake': schema: field 'amount': unknown type 'decimel' "
              "(expected bool, int32, int64, float, double, string, binary, json, date, "
              "timestamp, decimal(p,s), list<T>, struct<name: T, ...>)");
    CHECK_STR(parse_err(a, "schema: {a: \"decimal(40,2)\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': decimal(40,2): precision must be "
              "1..38 and scale 0..precision");
    CHECK_STR(parse_err(a, "schema: {a: \"decimal(4,5)\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': decimal(4,5): precision must be "
              "1..38 and scale 0..precision");
    CHECK_STR(parse_err(a, "schema: {a: decimal}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': decimal needs (precision,scale), "
              "e.g. decimal(10,2)");
    CHECK_STR(parse_err(a, "schema: {a: \"list<string\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': expected '>' to close list<...> at "
              "'end'");
    CHECK_STR(parse_err(a, "schema: {a: \"struct<b: int64, c>\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': expected 'name: type' inside "
              "struct<...> at 'c>'");
    CHECK_STR(parse_err(a, "schema: {a: \"struct<b: strin>\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a.b': unknown type 'strin' (expected "
              "bool, int32, int64, float, double, string, binary, json, date, timestamp, "
              "decimal(p,s), list<T>, struct<name: T, ...>)");
    CHECK_STR(parse_err(a, "schema: {a: int64 not nul}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': expected 'not null' at 'not nul'");
    CHECK_STR(parse_err(a, "schema: {a: int64 extra}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': unexpected text 'extra' after the "
              "type");
    CHECK_STR(parse_err(a, "schema: {a: ~}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': missing type (expected bool, "
              "int32, int64, float, double, string, binary, json, date, timestamp, "
              "decimal(p,s), list<T>, struct<name: T, ...>)");
    CHECK_STR(parse_err(a, "schema: {a: [int, string]}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': a list type is written [T] with one "
              "element type (or \"list<T>\")");
    CHECK_STR(parse_err(a, "schema: {a: {b: {c: blob}}}\n"),
              "p.yaml:1:21: sink 'lake': schema: field 'a.b.c': unknown type 'blob' (expected "
              "bool, int32, int64, float, double, string, binary, json, date, timestamp, "
              "decimal(p,s), list<T>, struct<name: T, ...>)");
    CHECK_STR(parse_err(a, "schema: {a: \"struct<b: int, b: int>\"}\n"),
              "p.yaml:1:13: sink 'lake': schema: field 'a': struct field 'b' appears twice");
    CHECK_STR(parse_err(a, "schema: [a, b]\n"),
              "p.yaml:1:9: sink 'lake': schema: expected a map of column: type");
    CHECK_STR(parse_err(a, "schema: {}\n"),
              "p.yaml:1:9: sink 'lake': schema: needs at least one field");
    sl_arena_destroy(a);
}

SL_TEST(pqs_drop_equal_clone)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_pq_node_t *root = NULL, *copy = NULL;
    sl_err_t err;
    CHECK_INT(sl_pq_schema_parse(a,
                                 yaml_map(a, "schema: {day: date, id: int64, src: string, "
                                             "o: \"struct<day: int32>\"}\n"),
                                 "s", &root, &err),
              0);
    CHECK_INT(sl_pq_schema_clone(a, root, &copy), 0);
    CHECK(sl_pq_schema_equal(root, copy));
    const char *const keys[] = {"day", "src", "nope", NULL};
    CHECK_INT(sl_pq_schema_drop(copy, keys), 2);
    CHECK_STR(fmt(a, copy), "struct<id: int64, o: struct<day: int32>>");
    CHECK(!sl_pq_schema_equal(root, copy));
    CHECK_STR(fmt(a, root), "struct<day: date, id: int64, src: string, o: struct<day: int32>>");
    sl_pq_node_t d1 = {.name = "x", .type = SL_PQ_DECIMAL, .precision = 10, .scale = 2};
    sl_pq_node_t d2 = d1;
    CHECK(sl_pq_schema_equal(&d1, &d2));
    d2.scale = 3;
    CHECK(!sl_pq_schema_equal(&d1, &d2));
    sl_arena_destroy(a);
}
