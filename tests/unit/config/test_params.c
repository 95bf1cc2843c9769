/* Tests for src/config/params.c: sl_param_parse for every type, and param
 * declarations, defaults, -p overrides and the params object. */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "../../../src/config/config_internal.h"

SL_TEST(config_params_parse_all_types)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_err_t err;
    sl_value_t v;
    CHECK_INT(sl_param_parse(a, SL_PARAM_STRING, "héllo", &v, &err), 0);
    CHECK_INT(v.type, SL_T_STRING);
    CHECK_STRN(v.u.s, v.len, "héllo");
    CHECK_INT(sl_param_parse(a, SL_PARAM_INT, "-17", &v, &err), 0);
    CHECK_INT(v.type, SL_T_INT);
    CHECK_INT(v.u.i, -17);
    CHECK_INT(sl_param_parse(a, SL_PARAM_FLOAT, "2.5", &v, &err), 0);
    CHECK_INT(v.type, SL_T_DOUBLE);
    CHECK_DBL(v.u.d, 2.5);
    CHECK_INT(sl_param_parse(a, SL_PARAM_FLOAT, "10", &v, &err), 0);
    CHECK_DBL(v.u.d, 10.0);
    CHECK_INT(sl_param_parse(a, SL_PARAM_BOOL, "yes", &v, &err), 0);
    CHECK_INT(v.type, SL_T_BOOL);
    CHECK_INT(v.u.i, 1);
    CHECK_INT(sl_param_parse(a, SL_PARAM_BOOL, "0", &v, &err), 0);
    CHECK_INT(v.u.i, 0);
    CHECK_INT(sl_param_parse(a, SL_PARAM_BOOL, "FALSE", &v, &err), 0);
    CHECK_INT(v.u.i, 0);
    CHECK_INT(sl_param_parse(a, SL_PARAM_DATE, "2026-11-22", &v, &err), 0);
    CHECK_INT(v.type, SL_T_DATE);
    CHECK_INT(v.u.i, 20779);
    CHECK_INT(sl_param_parse(a, SL_PARAM_TIMESTAMP, "2026-11-22T10:30:00Z", &v, &err), 0);
    CHECK_INT(v.type, SL_T_TIMESTAMP);
    CHECK_INT(v.u.i, 1795343400000000LL);
    sl_arena_destroy(a);
}

SL_TEST(config_params_parse_errors)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_err_t err;
    sl_value_t v;
    CHECK_INT(sl_param_parse(a, SL_PARAM_FLOAT, "abc", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected a float, got 'abc'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_INT, "1.5", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected an integer, got '1.5'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_INT, "99999999999999999999", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "integer out of range: '99999999999999999999'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_BOOL, "maybe", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected a boolean (true/false/yes/no/1/0), got 'maybe'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_DATE, "22/11/2026", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected a date (YYYY-MM-DD), got '22/11/2026'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_TIMESTAMP, "soon", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected a timestamp (ISO 8601), got 'soon'");
    CHECK_INT(sl_param_parse(a, SL_PARAM_INT, "", &v, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "expected an integer, got ''");
    sl_arena_destroy(a);
}

static sl_value_t resolved; /* the params object of the last load() */

/* Loads `params:` text through sl_params_load (the declarations), then
 * resolves one run's values with the overrides into `resolved`. */
static int load(const char *params_yaml, const char *const *ov, size_t nov, sl_pipeline_t *p,
                sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    if (sl_config_parse(a, "pipeline.yaml", params_yaml, strlen(params_yaml), NULL, &root, err)) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err->msg);
    }
    memset(p, 0, sizeof *p);
    err->msg[0] = '\0';
    int rc = sl_params_load(a, p, sl_node_get(root, "params"), err);
    return rc ? rc : sl_params_resolve(a, p, ov, nov, &resolved, err);
}

static const sl_value_t *param(const char *name)
{
    const sl_value_t *v = sl_object_get_c(&resolved, name);
    if (!v) {
        sl_test_fail(__FILE__, __LINE__, "no param '%s' in the params object", name);
    }
    return v;
}

static const char *all_params = "params:\n"
                                "  min_amount: {type: float, default: 0}\n"
                                "  since: {type: date}\n"
                                "  label: {type: string, default: 42}\n"
                                "  limit: {type: int, default: 100, description: cap}\n"
                                "  dry: {type: bool, default: false}\n"
                                "  at: {type: timestamp, default: \"2026-11-22T10:30:00Z\"}\n"
                                "  opt: {type: string, default: null}\n";

SL_TEST(config_params_defaults_and_overrides)
{
    const char *ov[] = {"since=2024-01-31", "min_amount=12.5", "label=a=b", "dry=yes",
                        "limit=7", "limit=8"};
    sl_pipeline_t p;
    sl_err_t err;
    CHECK_INT(load(all_params, ov, 6, &p, &err), 0);
    CHECK_INT(p.nparams, 7);
    CHECK_STR(p.params[0].name, "min_amount");
    CHECK_INT(p.params[0].type, SL_PARAM_FLOAT);
    CHECK(p.params[0].has_default);
    CHECK_STR(p.params[1].name, "since");
    CHECK(!p.params[1].has_default);
    CHECK_INT(p.params[1].node->line, 3);
    CHECK_INT(resolved.type, SL_T_OBJECT);
    CHECK_INT(resolved.len, 7);
    CHECK_DBL(param("min_amount")->u.d, 12.5);
    CHECK_INT(param("since")->type, SL_T_DATE);
    CHECK_INT(param("since")->u.i, 19753);
    CHECK_INT(param("label")->type, SL_T_STRING);
    CHECK_STRN(param("label")->u.s, param("label")->len, "a=b");
    CHECK_INT(param("limit")->type, SL_T_INT);
    CHECK_INT(param("limit")->u.i, 8);
    CHECK_INT(param("dry")->type, SL_T_BOOL);
    CHECK_INT(param("dry")->u.i, 1);
    CHECK_INT(param("at")->type, SL_T_TIMESTAMP);
    CHECK_INT(param("at")->u.i, 1795343400000000LL);
    CHECK_INT(param("opt")->type, SL_T_NULL);

    /* Defaults alone (since given). */
    const char *ov2[] = {"since=2024-01-31"};
    CHECK_INT(load(all_params, ov2, 1, &p, &err), 0);
    CHECK_INT(param("min_amount")->type, SL_T_DOUBLE);
    CHECK_DBL(param("min_amount")->u.d, 0.0);
    CHECK_STRN(param("label")->u.s, param("label")->len, "42");
    CHECK_INT(param("limit")->u.i, 100);
    CHECK_INT(param("dry")->u.i, 0);
}

SL_TEST(config_params_resolving_never_changes_the_definition)
{
    /* one definition, two runs with different values */
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    sl_err_t err;
    CHECK_INT(sl_config_parse(a, "pipeline.yaml", all_params, strlen(all_params), NULL, &root,
                              &err),
              0);
    sl_pipeline_t p;
    memset(&p, 0, sizeof p);
    CHECK_INT(sl_params_load(a, &p, sl_node_get(root, "params"), &err), 0);
    const char *run1[] = {"since=2024-01-31", "limit=7"};
    const char *run2[] = {"since=2025-02-01"};
    sl_value_t v1, v2;
    CHECK_INT(sl_params_resolve(a, &p, run1, 2, &v1, &err), 0);
    CHECK_INT(sl_params_resolve(a, &p, run2, 1, &v2, &err), 0);
    CHECK_INT(sl_object_get_c(&v1, "limit")->u.i, 7);
    CHECK_INT(sl_object_get_c(&v2, "limit")->u.i, 100);
    CHECK_INT(sl_object_get_c(&v2, "since")->u.i, 20120);
    CHECK_INT(p.params[3].default_value.u.i, 100);
    /* lenient: a param nobody gave is null instead of an error */
    CHECK_INT(sl_params_resolve(a, &p, NULL, 0, &v1, &err), SL_ECONFIG);
    CHECK_INT(sl_params_resolve_lenient(a, &p, NULL, 0, &v1, &err), 0);
    CHECK_INT(sl_object_get_c(&v1, "since")->type, SL_T_NULL);
    CHECK_INT(sl_object_get_c(&v1, "limit")->u.i, 100);
    sl_arena_destroy(a);
}

SL_TEST(config_params_override_errors)
{
    sl_pipeline_t p;
    sl_err_t err;
    const char *unknown[] = {"sinse=2024-01-01"};
    CHECK_INT(load(all_params, unknown, 1, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "unknown param 'sinse' (did you mean 'since'?; declared: min_amount, "
                       "since, label, limit, dry, at, opt)");
    const char *unknown2[] = {"zzz=1"};
    CHECK_INT(load("params: {a: {type: int, default: 1}, b: {type: int, default: 2}}\n",
                   unknown2, 1, &p, &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "unknown param 'zzz' (declared: a, b)");
    CHECK_INT(load("name: x\n", unknown2, 1, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "unknown param 'zzz' (declared: none)");
    const char *bad[] = {"since=2024-01-31", "min_amount=abc"};
    CHECK_INT(load(all_params, bad, 2, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "param 'min_amount': expected a float, got 'abc'");
    const char *noeq[] = {"since"};
    CHECK_INT(load(all_params, noeq, 1, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "-p 'since': expected NAME=VALUE");
}

SL_TEST(config_params_declaration_errors)
{
    sl_pipeline_t p;
    sl_err_t err;
    CHECK_INT(load(all_params, NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:3:10: param 'since' (date) has no default and was not "
                       "given: run with -p since=VALUE");
    CHECK_INT(load("params:\n  n: {type: integer}\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:13: param 'n': key 'type' must be one of string, int, "
                       "float, bool, date, timestamp; got 'integer'");
    CHECK_INT(load("params:\n  n: {typ: int}\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:7: param 'n': unknown key 'typ' (did you mean 'type'?)");
    CHECK_INT(load("params:\n  n: {default: 1}\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:6: param 'n': missing required key 'type'");
    CHECK_INT(load("params:\n  n: {type: float, default: abc}\n", NULL, 0, &p, &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:29: param 'n': expected a float, got 'abc'");
    CHECK_INT(load("params:\n  n: {type: int, default: [1]}\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:27: param 'n': default must be an integer, got a list");
    CHECK_INT(load("params:\n  bad-name: {type: int}\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:3: param name 'bad-name' must start with a letter or '_' "
                       "and contain only letters, digits and '_'");
    CHECK_INT(load("params:\n  n: int\n", NULL, 0, &p, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:6: param 'n' must be a map, got 'int'");
}

SL_TEST(config_params_secret_default_not_in_message)
{
    setenv("SL_T_PSECRET", "not-a-number-secret", 1);
    sl_pipeline_t p;
    sl_err_t err;
    CHECK_INT(load("params:\n  n: {type: float, default: \"${env:SL_T_PSECRET}\"}\n", NULL, 0, &p,
                   &err),
              SL_ECONFIG);
    CHECK_STR(err.msg, "pipeline.yaml:2:29: param 'n': expected a float, got '<secret>'");
}
