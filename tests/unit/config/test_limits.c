/* Tests for the spec limits of src/config/check.c: numeric ranges, string
 * lengths, placeholders of unresolved references, the text `sluice help`
 * shows, and the consistency of every registered plugin's spec. */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "../../../src/config/config_internal.h"

static const sl_field_spec_t retry_spec[] = {
    {.name = "max", .type = SL_FIELD_INT, .range = SL_RANGE(0, 100), .def = "5"},
    {.name = NULL},
};

static const sl_field_spec_t spec[] = {
    {.name = "batch", .type = SL_FIELD_INT, .range = SL_RANGE(1, 1000000)},
    {.name = "timeout_ms", .type = SL_FIELD_INT, .range = SL_AT_LEAST(1), .def = "30000"},
    {.name = "level", .type = SL_FIELD_INT, .range = {.has_max = true, .max = 9}},
    {.name = "rate", .type = SL_FIELD_FLOAT, .range = SL_ABOVE(0)},
    {.name = "ratio", .type = SL_FIELD_FLOAT, .range = SL_RANGE(0, 1)},
    {.name = "delimiter", .type = SL_FIELD_STRING, .min_len = 1, .max_len = 1},
    {.name = "code", .type = SL_FIELD_STRING, .min_len = 2, .max_len = 3},
    {.name = "table", .type = SL_FIELD_STRING, .min_len = 1},
    {.name = "keys", .type = SL_FIELD_STRING_LIST, .min_len = 1},
    {.name = "retry", .type = SL_FIELD_MAP, .children = retry_spec},
    {.name = NULL},
};

static int check_opts(const char *text, const sl_config_opts_t *opts, sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    int rc = sl_config_parse_opts(a, "p.yaml", text, strlen(text), NULL, opts, &root, err);
    if (rc != 0) {
        sl_test_fail(__FILE__, __LINE__, "parse failed: %s", err->msg);
    }
    err->msg[0] = '\0';
    rc = sl_config_check(root, spec, "source 'x'", err);
    sl_arena_destroy(a);
    return rc;
}

static void expect(const char *text, const char *msg)
{
    sl_err_t err;
    CHECK_INT(check_opts(text, NULL, &err), SL_ECONFIG);
    CHECK_STR(err.msg, msg);
}

static void accept(const char *text)
{
    sl_err_t err;
    CHECK_INT(check_opts(text, NULL, &err), 0);
}

SL_TEST(config_limits_int_ranges)
{
    accept("batch: 1\n");
    accept("batch: 1000000\n");
    expect("batch: 0\n", "p.yaml:1:8: source 'x': key 'batch' must be between 1 and 1000000, "
                         "got 0");
    expect("batch: 1000001\n", "p.yaml:1:8: source 'x': key 'batch' must be between 1 and "
                               "1000000, got 1000001");
    expect("timeout_ms: -5\n", "p.yaml:1:13: source 'x': key 'timeout_ms' must be at least 1, "
                               "got -5");
    accept("level: -3\n");
    expect("level: 10\n", "p.yaml:1:8: source 'x': key 'level' must be at most 9, got 10");
    /* nested maps are checked with their own limits */
    expect("retry: {max: 101}\n", "p.yaml:1:14: source 'x': retry: key 'max' must be between 0 "
                                  "and 100, got 101");
    /* the type comes first: a quoted number is no number */
    expect("batch: \"0\"\n", "p.yaml:1:8: source 'x': key 'batch' must be an integer, got '0' "
                             "(quoted)");
}

SL_TEST(config_limits_float_ranges)
{
    accept("rate: 0.001\n");
    expect("rate: 0\n", "p.yaml:1:7: source 'x': key 'rate' must be above 0, got 0");
    expect("rate: -1.5\n", "p.yaml:1:7: source 'x': key 'rate' must be above 0, got -1.5");
    accept("ratio: 1\n");
    accept("ratio: 0\n");
    expect("ratio: 1.25\n", "p.yaml:1:8: source 'x': key 'ratio' must be between 0 and 1, "
                            "got 1.25");
}

SL_TEST(config_limits_string_lengths)
{
    accept("delimiter: \";\"\n");
    expect("delimiter: \";;\"\n", "p.yaml:1:12: source 'x': key 'delimiter' must be one "
                                  "character, got ';;'");
    expect("delimiter: \"\"\n", "p.yaml:1:12: source 'x': key 'delimiter' must not be empty");
    accept("code: ab\n");
    accept("code: abc\n");
    expect("code: a\n", "p.yaml:1:7: source 'x': key 'code' must be 2 to 3 characters, got 'a'");
    expect("code: abcd\n", "p.yaml:1:7: source 'x': key 'code' must be 2 to 3 characters, "
                           "got 'abcd'");
    expect("table: ''\n", "p.yaml:1:8: source 'x': key 'table' must not be empty");
    /* items of a string list, and a single string standing for one */
    accept("keys: [a, b]\n");
    expect("keys: [a, \"\"]\n", "p.yaml:1:11: source 'x': key 'keys' item 2 must not be empty");
    expect("keys: \"\"\n", "p.yaml:1:7: source 'x': key 'keys' must not be empty");
}

SL_TEST(config_limits_secret_values_not_shown)
{
    setenv("SL_T_LIM", "99999-secret", 1);
    setenv("SL_T_LIM_N", "77", 1);
    expect("code: ${env:SL_T_LIM}\n", "p.yaml:1:7: source 'x': key 'code' must be 2 to 3 "
                                      "characters, got '<secret>'");
    expect("level: ${env:SL_T_LIM_N}\n", "p.yaml:1:8: source 'x': key 'level' must be at most "
                                         "9, got <secret>");
}

static void count_warning(void *ud, const char *msg)
{
    (void)msg;
    (*(int *)ud)++;
}

SL_TEST(config_limits_unresolved_values_pass)
{
    /* a placeholder for a variable this machine does not have: its value
     * is unknown, so neither its type nor its limits are checked */
    unsetenv("SL_T_LIM_UNSET");
    int warnings = 0;
    sl_config_opts_t opts = {.missing_ok = true, .warn = count_warning, .warn_ud = &warnings};
    sl_err_t err;
    CHECK_INT(check_opts("batch: ${env:SL_T_LIM_UNSET}\ndelimiter: \"${env:SL_T_LIM_UNSET}\"\n"
                         "rate: \"x${env:SL_T_LIM_UNSET}\"\n",
                         &opts, &err),
              0);
    CHECK_INT(warnings, 3);
    /* without the option the load fails at the first one */
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_node_t *root = NULL;
    const char *text = "batch: ${env:SL_T_LIM_UNSET}\n";
    CHECK_INT(sl_config_parse(a, "p.yaml", text, strlen(text), NULL, &root, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "p.yaml:1:8: environment variable 'SL_T_LIM_UNSET' is not set");
    sl_arena_destroy(a);
}

static const char *limits_of(const sl_field_spec_t *f)
{
    static char buf[256];
    sl_field_spec_limits(f, buf, sizeof buf);
    return buf;
}

SL_TEST(config_limits_help_text)
{
    CHECK_STR(limits_of(&spec[0]), "1 to 1000000");
    CHECK_STR(limits_of(&spec[1]), "default 30000; at least 1");
    CHECK_STR(limits_of(&spec[2]), "at most 9");
    CHECK_STR(limits_of(&spec[3]), "above 0");
    CHECK_STR(limits_of(&spec[5]), "one character");
    CHECK_STR(limits_of(&spec[6]), "2 to 3 characters");
    CHECK_STR(limits_of(&spec[7]), "not empty");
    CHECK_STR(limits_of(&retry_spec[0]), "default 5; 0 to 100");
    CHECK_STR(limits_of(&spec[9]), "");
    /* a small buffer is cut, never overrun */
    char small[8];
    size_t n = sl_field_spec_limits(&spec[1], small, sizeof small);
    CHECK_INT(n, 7);
    CHECK_STR(small, "default");
}

SL_TEST(config_limits_suggest_key_with_suffix)
{
    const char *const c[] = {"url", "endpoint", "access_key", "secret_key", "timeout_ms"};
    CHECK_STR(sl_config_suggest("acess_key_id", c, 5), "access_key");
    CHECK_STR(sl_config_suggest("access_key_id", c, 5), "access_key");
    CHECK_STR(sl_config_suggest("timeout_ms_max", c, 5), "timeout_ms");
    CHECK(sl_config_suggest("secret_access_key", c, 5) == NULL);
    CHECK(sl_config_suggest("region_name", c, 5) == NULL);
}

/* Every registered plugin's spec: ranges and lengths only where they
 * apply, bounds in order, and a numeric default within its range. */
static void check_spec(const char *plugin, const sl_field_spec_t *s)
{
    for (; s && s->name; s++) {
        const sl_field_range_t *r = &s->range;
        bool numeric = s->type == SL_FIELD_INT || s->type == SL_FIELD_FLOAT;
        bool text = s->type == SL_FIELD_STRING || s->type == SL_FIELD_STRING_LIST;
        if ((r->has_min || r->has_max) && !numeric) {
            sl_test_fail(__FILE__, __LINE__, "%s: %s has a range but is not a number", plugin,
                         s->name);
        }
        if (r->has_min && r->has_max && r->min > r->max) {
            sl_test_fail(__FILE__, __LINE__, "%s: %s: min above max", plugin, s->name);
        }
        if ((s->min_len || s->max_len) && !text) {
            sl_test_fail(__FILE__, __LINE__, "%s: %s has a length but is not a string", plugin,
                         s->name);
        }
        if (s->max_len && s->min_len > s->max_len) {
            sl_test_fail(__FILE__, __LINE__, "%s: %s: min_len above max_len", plugin, s->name);
        }
        if (numeric && s->def && ((s->def[0] >= '0' && s->def[0] <= '9') || s->def[0] == '-')) {
            double d = strtod(s->def, NULL);
            if ((r->has_min && (r->min_exclusive ? !(d > r->min) : d < r->min)) ||
                (r->has_max && d > r->max)) {
                sl_test_fail(__FILE__, __LINE__, "%s: %s: default %s out of its range",
                             plugin, s->name, s->def);
            }
        }
        check_spec(plugin, s->children);
    }
}

SL_TEST(config_limits_plugin_specs_consistent)
{
    size_t n = 0;
    for (size_t i = 0; sl_sources[i]; i++, n++) {
        check_spec(sl_sources[i]->name, sl_sources[i]->config);
    }
    for (size_t i = 0; sl_transforms[i]; i++, n++) {
        check_spec(sl_transforms[i]->name, sl_transforms[i]->config);
    }
    for (size_t i = 0; sl_sinks[i]; i++, n++) {
        check_spec(sl_sinks[i]->name, sl_sinks[i]->config);
    }
    CHECK(n >= 13);
}
