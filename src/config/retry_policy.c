/* Reading a retry policy from a config map (sl_retry_policy_from_node in
 * include/sluice/retry.h). Here rather than in src/core/retry.c because it
 * needs config nodes and the did-you-mean of src/config/. */
#include <stdio.h>

#include "config_internal.h"
#include "sluice/retry.h"
#include "sluice/timeutil.h"

static const char *const jitter_names[] = {"full", "none", NULL};

const sl_field_spec_t sl_retry_spec[] = {
    {.name = "max_attempts", .type = SL_FIELD_INT, .def = "3", .range = SL_AT_LEAST(1),
     .doc = "attempts in all, the first included"},
    {.name = "interval", .type = SL_FIELD_STRING, .def = "1s",
     .doc = "longest wait before the first retry: 500ms, 2s, 5m, 1h or seconds"},
    {.name = "backoff", .type = SL_FIELD_FLOAT, .def = "2.0", .range = SL_AT_LEAST(1),
     .doc = "each retry multiplies the wait by this"},
    {.name = "max_delay", .type = SL_FIELD_STRING, .def = "60s",
     .doc = "longest wait, Retry-After included"},
    {.name = "jitter", .type = SL_FIELD_STRING, .def = "full", .choices = jitter_names,
     .doc = "full: a uniform wait up to the backoff; none: exactly it"},
    {.name = "on", .type = SL_FIELD_STRING_LIST, .def = "[transient, timeout, rate_limited]",
     .doc = "error classes retried: transient, timeout, rate_limited, data, config, fatal"},
    {.name = NULL},
};

static int read_duration(const sl_node_t *map, const char *key, int64_t *out, sl_err_t *err)
{
    const sl_node_t *n = sl_node_get(map, key);
    if (!n) {
        return 0;
    }
    const char *text = NULL;
    int rc = sl_node_to_str(n, key, &text, err);
    if (rc) {
        return rc;
    }
    rc = sl_duration_parse(n->text, n->len, out);
    if (rc == SL_ELIMIT) {
        return sl_node_error(err, n, "%s: duration out of range: '%s'", key, sl_node_display(n));
    }
    if (rc) {
        return sl_node_error(err, n,
                             "%s: expected a duration such as 500ms, 2s, 5m or 1h (or a number "
                             "of seconds), got '%s'",
                             key, sl_node_display(n));
    }
    return 0;
}

/* Adds the class named by scalar n to *mask. */
static int read_class(const sl_node_t *n, unsigned *mask, sl_err_t *err)
{
    const char *name = NULL;
    int rc = sl_node_to_str(n, "on", &name, err);
    if (rc) {
        return rc;
    }
    sl_error_class_t cls;
    if (sl_error_class_parse(name, &cls) == 0) {
        *mask |= SL_RETRY_ON(cls);
        return 0;
    }
    const char *known[SL_ECLASS_COUNT - 1];
    char list[256] = "";
    size_t used = 0;
    for (int i = SL_ECLASS_TRANSIENT; i < SL_ECLASS_COUNT; i++) {
        known[i - 1] = sl_error_class_name((sl_error_class_t)i);
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", known[i - 1]);
        used += w > 0 && (size_t)w < sizeof list - used ? (size_t)w : 0;
    }
    const char *hint = sl_config_suggest(name, known, SL_ARRAY_LEN(known));
    char dym[96] = "";
    if (hint) {
        snprintf(dym, sizeof dym, " (did you mean '%s'?)", hint);
    }
    return sl_node_error(err, n, "on: unknown error class '%s'%s; known classes: %s",
                         sl_node_display(n), dym, list);
}

int sl_retry_policy_from_node(const sl_node_t *map, sl_retry_policy_t *out, sl_err_t *err)
{
    if (!map) {
        return 0;
    }
    int rc = sl_config_check(map, sl_retry_spec, "retry", err);
    if (rc) {
        return rc;
    }
    sl_retry_policy_t p = *out;
    const sl_node_t *n = sl_node_get(map, "max_attempts");
    if (n) {
        int64_t v = 0;
        rc = sl_node_to_int(n, "max_attempts", &v, err);
        if (!rc && (v < 1 || v > INT32_MAX)) {
            rc = sl_node_error(err, n, "max_attempts: must be at least 1 (1 = no retry), got %s",
                               sl_node_display(n));
        }
        p.max_attempts = (int)v;
    }
    rc = rc ? rc : read_duration(map, "interval", &p.interval_us, err);
    rc = rc ? rc : read_duration(map, "max_delay", &p.max_delay_us, err);
    n = sl_node_get(map, "backoff");
    if (!rc && n) {
        rc = sl_node_to_double(n, "backoff", &p.backoff, err);
        if (!rc && !(p.backoff >= 1)) {
            rc = sl_node_error(err, n, "backoff: must be at least 1, got %s", sl_node_display(n));
        }
    }
    n = sl_node_get(map, "jitter");
    if (!rc && n) {
        p.jitter = strcmp(n->text, "full") == 0; /* the schema allowed full or none */
    }
    n = sl_node_get(map, "on");
    if (!rc && n) {
        p.on = 0;
        if (n->kind == SL_NODE_SEQ) {
            for (size_t i = 0; i < n->n && !rc; i++) {
                rc = read_class(n->items[i], &p.on, err);
            }
        } else {
            rc = read_class(n, &p.on, err);
        }
    }
    if (!rc) {
        *out = p;
    }
    return rc;
}
