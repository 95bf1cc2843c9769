/* Pipeline params: typed declarations with optional defaults (part of the
 * definition, read once), and the `params` object of one run: the
 * defaults with the run request's NAME=VALUE overrides (-p, later query
 * strings) applied. The definition is never changed by a run.
 *
 *   params:
 *     min_amount: {type: float, default: 0}
 *     since: {type: date}        # no default: must come from -p
 *
 * Defaults and -p values go through the same parser (sl_param_parse), so a
 * value is accepted in the file exactly when it is accepted on the command
 * line. `default: null` (or an empty default) makes a param optional with
 * a null value. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "sluice/buf.h"
#include "sluice/timeutil.h"

static const char *const type_names[] = {"string", "int", "float", "bool", "date", "timestamp",
                                         NULL};

static const sl_field_spec_t param_spec[] = {
    {.name = "type", .type = SL_FIELD_STRING, .required = true, .doc = "value type",
     .choices = type_names},
    {.name = "default", .type = SL_FIELD_ANY, .doc = "value when -p does not give one"},
    {.name = "description", .type = SL_FIELD_STRING, .doc = "one line for help"},
    {.name = NULL},
};

static const char *expected_words(sl_param_type_t t)
{
    switch (t) {
    case SL_PARAM_STRING:
        return "a string";
    case SL_PARAM_INT:
        return "an integer";
    case SL_PARAM_FLOAT:
        return "a float";
    case SL_PARAM_BOOL:
        return "a boolean (true/false/yes/no/1/0)";
    case SL_PARAM_DATE:
        return "a date (YYYY-MM-DD)";
    case SL_PARAM_TIMESTAMP:
        return "a timestamp (ISO 8601)";
    }
    return "a value";
}

/* Parses without a message: 0, SL_EPARSE or SL_ELIMIT. */
static int parse_value(sl_arena_t *a, sl_param_type_t t, const char *s, sl_value_t *out)
{
    size_t n = strlen(s);
    int rc;
    switch (t) {
    case SL_PARAM_STRING: {
        char *c = sl_arena_strndup(a, s, n);
        if (!c) {
            return SL_ENOMEM;
        }
        *out = sl_value_str(c, n);
        return 0;
    }
    case SL_PARAM_INT: {
        int64_t i;
        rc = sl_config_parse_int(s, n, &i);
        if (rc == 0) {
            *out = sl_value_int(i);
        }
        return rc;
    }
    case SL_PARAM_FLOAT: {
        double d;
        rc = sl_config_parse_double(s, n, &d);
        if (rc == 0) {
            *out = sl_value_double(d);
        }
        return rc;
    }
    case SL_PARAM_BOOL: {
        bool b;
        if (strcmp(s, "1") == 0 || strcmp(s, "0") == 0) {
            b = s[0] == '1';
        } else if (sl_config_parse_bool(s, n, &b) != 0) {
            return SL_EPARSE;
        }
        *out = sl_value_bool(b);
        return 0;
    }
    case SL_PARAM_DATE: {
        int64_t days;
        if (sl_date_parse(s, n, &days) != 0) {
            return SL_EPARSE;
        }
        *out = sl_value_date(days);
        return 0;
    }
    case SL_PARAM_TIMESTAMP: {
        int64_t us;
        if (sl_timestamp_parse(s, n, &us) != 0) {
            return SL_EPARSE;
        }
        *out = sl_value_timestamp(us);
        return 0;
    }
    }
    return SL_EINVAL;
}

/* "expected a float, got 'abc'" (shown is the text to quote in it). */
static void value_message(char *buf, size_t size, sl_param_type_t t, int rc, const char *shown)
{
    if (rc == SL_ELIMIT) {
        snprintf(buf, size, "%s out of range: '%.80s'", t == SL_PARAM_INT ? "integer" : "number",
                 shown);
    } else {
        snprintf(buf, size, "expected %s, got '%.80s'", expected_words(t), shown);
    }
}

int sl_param_parse(sl_arena_t *a, sl_param_type_t t, const char *text, sl_value_t *out,
                   sl_err_t *err)
{
    int rc = parse_value(a, t, text, out);
    if (rc == SL_ENOMEM) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    if (rc) {
        char msg[256];
        value_message(msg, sizeof msg, t, rc, text);
        return sl_err_set(err, SL_ECONFIG, "%s", msg);
    }
    return 0;
}

static bool ident_ok(const char *s)
{
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) {
        return false;
    }
    for (s++; *s; s++) {
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9'))) {
            return false;
        }
    }
    return true;
}

static int declare(sl_arena_t *a, const sl_node_t *key, const sl_node_t *decl, sl_param_t *p,
                   sl_err_t *err)
{
    if (!ident_ok(key->text)) {
        return sl_node_error(err, key,
                             "param name '%s' must start with a letter or '_' and contain only "
                             "letters, digits and '_'",
                             key->text);
    }
    char what[300];
    snprintf(what, sizeof what, "param '%s'", key->text);
    int rc = sl_config_check(decl, param_spec, what, err);
    if (rc) {
        return rc;
    }
    const sl_node_t *type = sl_node_get(decl, "type");
    for (size_t i = 0; type_names[i]; i++) {
        if (strcmp(type->text, type_names[i]) == 0) {
            p->type = (sl_param_type_t)(SL_PARAM_STRING + (int)i);
        }
    }
    p->name = key->text;
    p->node = decl;
    const sl_node_t *def = sl_node_get(decl, "default");
    if (!def) {
        return 0;
    }
    p->has_default = true;
    if (def->kind != SL_NODE_SCALAR) {
        char got[128];
        return sl_node_error(err, def, "%s: default must be %s, got %s", what,
                             expected_words(p->type), sl_node_got(def, got, sizeof got));
    }
    if (def->is_null) {
        p->default_value = sl_value_null();
        return 0;
    }
    /* A default from a variable that is not set here (validate on another
     * machine) cannot be typed: any value of the type stands in. */
    static const char *const stand_ins[] = {"", "0", "0", "false", "1970-01-01",
                                            "1970-01-01T00:00:00Z"};
    const char *text = def->unresolved && p->type != SL_PARAM_STRING
                           ? stand_ins[p->type - SL_PARAM_STRING]
                           : def->text;
    rc = parse_value(a, p->type, text, &p->default_value);
    if (rc == SL_ENOMEM) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    if (rc) {
        char msg[256];
        value_message(msg, sizeof msg, p->type, rc, sl_node_display(def));
        return sl_node_error(err, def, "%s: %s", what, msg);
    }
    return 0;
}

static void declared_list(const sl_pipeline_t *p, sl_buf_t *b)
{
    for (size_t i = 0; i < p->nparams; i++) {
        sl_buf_printf(b, "%s%s", i ? ", " : "", p->params[i].name);
    }
    if (p->nparams == 0) {
        sl_buf_append_c(b, "none");
    }
}

/* The declared param named kv[0..kn), or NULL with err naming the
 * declared ones (and the closest, if any). */
static const sl_param_t *find_param(const sl_pipeline_t *p, const char *kv, size_t kn,
                                    sl_err_t *err)
{
    for (size_t i = 0; i < p->nparams; i++) {
        if (strlen(p->params[i].name) == kn && memcmp(p->params[i].name, kv, kn) == 0) {
            return &p->params[i];
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)SL_MIN(kn, sizeof name - 1), kv);
    const char *names[256];
    size_t nn = SL_MIN(p->nparams, SL_ARRAY_LEN(names));
    for (size_t i = 0; i < nn; i++) {
        names[i] = p->params[i].name;
    }
    const char *s = sl_config_suggest(name, names, nn);
    sl_buf_t b;
    sl_buf_init(&b, 600);
    declared_list(p, &b);
    if (s) {
        sl_err_set(err, SL_ECONFIG, "unknown param '%s' (did you mean '%s'?; declared: %s)", name,
                   s, b.data ? b.data : "");
    } else {
        sl_err_set(err, SL_ECONFIG, "unknown param '%s' (declared: %s)", name,
                   b.data ? b.data : "");
    }
    sl_buf_free(&b);
    return NULL;
}

int sl_params_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *params, sl_err_t *err)
{
    p->params = NULL;
    p->nparams = 0;
    if (!params || params->is_null) {
        return 0;
    }
    if (params->kind != SL_NODE_MAP) {
        char got[128];
        return sl_node_error(err, params, "params must be a map, got %s",
                             sl_node_got(params, got, sizeof got));
    }
    if (params->n) {
        p->params = sl_arena_calloc(a, params->n * sizeof *p->params);
        if (!p->params) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < params->n; i++) {
        int rc = declare(a, params->pairs[i].key, params->pairs[i].value, &p->params[i], err);
        if (rc) {
            return rc;
        }
        p->nparams++;
    }
    return 0;
}

static int resolve(sl_arena_t *a, const sl_pipeline_t *p, const char *const *args, size_t nargs,
                   bool lenient, sl_value_t *out, sl_err_t *err)
{
    /* given[i]: the value of param i, from its default or an argument (the
     * last one wins) */
    sl_value_t *vals = p->nparams ? sl_arena_calloc(a, p->nparams * sizeof *vals) : NULL;
    bool *given = p->nparams ? sl_arena_calloc(a, p->nparams * sizeof *given) : NULL;
    if (p->nparams && (!vals || !given)) {
        return sl_err_set(err, SL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->nparams; i++) {
        vals[i] = p->params[i].default_value;
        given[i] = p->params[i].has_default;
    }
    for (size_t k = 0; k < nargs; k++) {
        const char *kv = args[k];
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            return sl_err_set(err, SL_ECONFIG, "-p '%.200s': expected NAME=VALUE", kv);
        }
        const sl_param_t *prm = find_param(p, kv, (size_t)(eq - kv), err);
        if (!prm) {
            return SL_ECONFIG;
        }
        size_t i = (size_t)(prm - p->params);
        int rc = parse_value(a, prm->type, eq + 1, &vals[i]);
        if (rc == SL_ENOMEM) {
            return sl_err_set(err, SL_ENOMEM, "out of memory");
        }
        if (rc) {
            char msg[256];
            value_message(msg, sizeof msg, prm->type, rc, eq + 1);
            return sl_err_set(err, SL_ECONFIG, "param '%s': %s", prm->name, msg);
        }
        given[i] = true;
    }
    int rc = sl_object_new(a, out, p->nparams);
    for (size_t i = 0; rc == 0 && i < p->nparams; i++) {
        const sl_param_t *prm = &p->params[i];
        if (!given[i] && !lenient) {
            return sl_node_error(err, prm->node,
                                 "param '%s' (%s) has no default and was not given: "
                                 "run with -p %s=VALUE",
                                 prm->name, type_names[prm->type - SL_PARAM_STRING], prm->name);
        }
        rc = sl_object_set(a, out, prm->name, strlen(prm->name), vals[i]);
    }
    if (rc) {
        return sl_err_set(err, rc, "out of memory");
    }
    return 0;
}

int sl_params_resolve(sl_arena_t *a, const sl_pipeline_t *p, const char *const *args,
                      size_t nargs, sl_value_t *out, sl_err_t *err)
{
    return resolve(a, p, args, nargs, false, out, err);
}

int sl_params_resolve_lenient(sl_arena_t *a, const sl_pipeline_t *p, const char *const *args,
                              size_t nargs, sl_value_t *out, sl_err_t *err)
{
    return resolve(a, p, args, nargs, true, out, err);
}
