/* `routes:` of a pipeline: the HTTP requests of `sluice serve` that start
 * its runs, checked when the pipeline is loaded.
 *
 *   routes:
 *     - {method: POST, path: /fetchRootSpans, params_from: [body, query], wait: false}
 *     - {method: GET, path: "/projects/{project}/sync"}
 *
 * A path is '/'-separated segments of URL-safe characters; a segment
 * {name} takes the param name (which must be declared). Paths under /api/
 * and the health endpoints belong to the server. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "sluice/template.h"
#include "sluice/timeutil.h"

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
static const char *const sources[] = {"path", "query", "body", "headers", NULL};

static const sl_field_spec_t response_spec[] = {
    {.name = "status", .type = SL_FIELD_INT, .def = "200", .range = SL_RANGE(100, 599),
     .doc = "the HTTP status"},
    {.name = "body", .type = SL_FIELD_STRING,
     .doc = "a template over run, params and steps, e.g. '{\"rows\": "
            "{{ steps.load.output.records_out }}}'"},
    {.name = NULL},
};

static const sl_field_spec_t route_spec[] = {
    {.name = "method", .type = SL_FIELD_STRING, .choices = methods, .def = "GET",
     .doc = "the HTTP method"},
    {.name = "path", .type = SL_FIELD_STRING, .required = true, .min_len = 1, .max_len = 512,
     .doc = "/name or /a/{param}/b: {param} segments fill params"},
    {.name = "params_from", .type = SL_FIELD_STRING_LIST, .choices = sources,
     .def = "path, query (and body for POST, PUT, PATCH)",
     .doc = "where params are read, the first that has one wins: path, query, body (the "
            "fields of a JSON object), headers (a header named as the param)"},
    {.name = "wait", .type = SL_FIELD_BOOL, .def = "false",
     .doc = "answer with the run's outcome (true) or at once with 202 and its id"},
    {.name = "timeout", .type = SL_FIELD_STRING, .def = "30s",
     .doc = "wait: true: after this, answer 202 and let the run go on"},
    {.name = "response", .type = SL_FIELD_MAP, .children = response_spec,
     .doc = "wait: true: the answer when the run ended in time {status, body}"},
    {.name = "auth", .type = SL_FIELD_STRING,
     .doc = "none (open), or the one key the route accepts (\"${env:API_KEY}\"); default: an "
            "API key whose scope has the route"},
    {.name = NULL},
};

static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static bool declared(const sl_pipeline_t *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->nparams; i++) {
        if (strlen(p->params[i].name) == n && memcmp(p->params[i].name, name, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Checks a route's path: segments of path characters, or {param}. */
static int check_path(const sl_pipeline_t *p, const sl_node_t *n, const char *what,
                      sl_err_t *err)
{
    const char *s = n->text;
    if (s[0] != '/') {
        return sl_node_error(err, n, "%s: path must start with '/', got '%s'", what, s);
    }
    if (strncmp(s, "/api/", 5) == 0 || strcmp(s, "/api") == 0 || strcmp(s, "/healthz") == 0 ||
        strcmp(s, "/readyz") == 0 || strcmp(s, "/metrics") == 0) {
        return sl_node_error(err, n, "%s: path %s belongs to the server (/api/, /healthz, "
                             "/readyz, /metrics)", what, s);
    }
    for (const char *seg = s + 1; *seg;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 && end) {
            return sl_node_error(err, n, "%s: path %s has an empty segment", what, s);
        }
        if (len >= 2 && seg[0] == '{' && seg[len - 1] == '}') {
            if (!declared(p, seg + 1, len - 2)) {
                return sl_node_error(err, n, "%s: path segment %.*s names no declared param",
                                     what, (int)len, seg);
            }
        } else {
            for (size_t i = 0; i < len; i++) {
                if (!path_char(seg[i])) {
                    return sl_node_error(err, n, "%s: path %s: '%c' is not allowed (letters, "
                                         "digits, - _ . ~ and {param} segments)", what, s,
                                         seg[i]);
                }
            }
        }
        seg += len + (end ? 1 : 0);
    }
    return 0;
}

static int load_route(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *n, size_t i,
                      sl_route_t *rt, sl_err_t *err)
{
    char what[64];
    snprintf(what, sizeof what, "route %zu", i + 1);
    int rc = sl_config_check(n, route_spec, what, err);
    if (rc) {
        return rc;
    }
    rt->node = n;
    rc = sl_cfg_str(n, "method", "GET", &rt->method, err);
    if (rc == 0) {
        rc = sl_cfg_str(n, "path", NULL, &rt->path, err);
    }
    if (rc == 0) {
        rc = check_path(p, sl_node_get(n, "path"), what, err);
    }
    if (rc == 0) {
        rc = sl_cfg_bool(n, "wait", false, &rt->wait, err);
    }
    if (rc) {
        return rc;
    }
    const sl_node_t *from = sl_node_get(n, "params_from");
    if (from) {
        size_t k = from->kind == SL_NODE_SEQ ? from->n : 1;
        for (size_t j = 0; j < k; j++) {
            const sl_node_t *f = from->kind == SL_NODE_SEQ ? from->items[j] : from;
            for (size_t s = 0; sources[s]; s++) {
                if (strcmp(f->text, sources[s]) == 0) {
                    for (size_t d = 0; d < rt->nfrom; d++) {
                        if (rt->from[d] == (sl_param_source_t)(s + 1)) {
                            return sl_node_error(err, f, "%s: params_from: '%s' is listed "
                                                 "twice", what, f->text);
                        }
                    }
                    rt->from[rt->nfrom++] = (sl_param_source_t)(s + 1);
                }
            }
        }
    } else {
        rt->from[rt->nfrom++] = SL_FROM_PATH;
        rt->from[rt->nfrom++] = SL_FROM_QUERY;
        if (strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "DELETE") != 0) {
            rt->from[rt->nfrom++] = SL_FROM_BODY;
        }
    }
    rt->timeout_us = 30 * 1000000LL;
    const sl_node_t *to = sl_node_get(n, "timeout");
    if (to && (to->is_null || sl_duration_parse(to->text, to->len, &rt->timeout_us) != 0 ||
               rt->timeout_us <= 0)) {
        return sl_node_error(err, to, "%s: timeout: expected a duration such as 30s or 5m, "
                             "got '%s'", what, sl_node_display(to));
    }
    const sl_node_t *r = sl_node_get(n, "response");
    rt->response_status = 200;
    if (r) {
        int64_t st = 200;
        rc = sl_cfg_int(r, "status", 200, &st, err);
        if (rc) {
            return rc;
        }
        rt->response_status = (int)st;
        const sl_node_t *body = sl_node_get(r, "body");
        sl_template_t *t = NULL;
        sl_err_t e;
        if (body && (body->is_null || sl_template_compile(a, body->text, body->len, &t, &e))) {
            return sl_node_error(err, body, "%s: response: body: %s", what,
                                 body->is_null ? "expected a template" : e.msg);
        }
        if (t && sl_template_uses_record(t)) {
            return sl_node_error(err, body, "%s: response: body: record is not available here",
                                 what);
        }
        rt->response_body = t;
        if (!rt->wait) {
            return sl_node_error(err, r, "%s: response is the answer of a route that waits "
                                 "(wait: true)", what);
        }
    }
    rt->auth = sl_node_get(n, "auth");
    if (rt->auth && !rt->auth->secret && strcmp(rt->auth->text, "none") != 0) {
        /* a key written into the file would sit in version control */
        return sl_node_error(err, rt->auth, "%s: auth: none, or a key from a secret "
                             "(\"${env:API_KEY}\", \"${file:key.txt}\"), not a key written in "
                             "the file", what);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(p->routes[j].method, rt->method) == 0 &&
            strcmp(p->routes[j].path, rt->path) == 0) {
            return sl_node_error(err, n, "%s: %s %s is route %zu already", what, rt->method,
                                 rt->path, j + 1);
        }
    }
    return 0;
}

int sl_routes_load(sl_arena_t *a, sl_pipeline_t *p, const sl_node_t *routes, sl_err_t *err)
{
    if (!routes || routes->n == 0) {
        return 0;
    }
    p->routes = sl_arena_calloc(a, routes->n * sizeof *p->routes);
    if (!p->routes) {
        return sl_err_set(err, SL_ENOMEM, "out of memory while loading the pipeline");
    }
    for (size_t i = 0; i < routes->n; i++) {
        const sl_node_t *n = routes->items[i];
        if (n->kind != SL_NODE_MAP) {
            char got[128];
            return sl_node_error(err, n, "route %zu must be a map {method, path, ...}, got %s",
                                 i + 1, sl_node_got(n, got, sizeof got));
        }
        int rc = load_route(a, p, n, i, &p->routes[i], err);
        if (rc) {
            return rc;
        }
        p->nroutes++;
    }
    return 0;
}
