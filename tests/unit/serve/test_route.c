/* Routes: loading (src/config/routes.c), matching and params
 * (src/serve/route.c). */
#include <string.h>

#include "../../../src/serve/route.h"
#include "../test.h"

static sl_pipeline_t *load(sl_arena_t *a, const char *yaml, sl_err_t *err)
{
    const char *path = sl_test_write_file("p.yaml", yaml, strlen(yaml));
    sl_pipeline_t *p = NULL;
    return sl_pipeline_load(a, path, &p, err) == 0 ? p : NULL;
}

#define PIPE(routes)                                                                       \
    "name: spans\nparams:\n  project: {type: string}\n  day: {type: date, default: "     \
    "2026-12-01}\n  limit: {type: int, default: 10}\nroutes:\n" routes                     \
    "steps:\n  - {name: s, sql: {url: \"sqlite:///x.db\", statements: [\"select 1\"]}}\n"

static const char *q_lookup(void *ud, const char *name)
{
    const char *const *kv = ud;
    for (size_t i = 0; kv[i]; i += 2) {
        if (strcmp(kv[i], name) == 0) {
            return kv[i + 1];
        }
    }
    return NULL;
}

SL_TEST(route_loads_and_checks)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_err_t err = {0};
    sl_pipeline_t *p = load(a, PIPE("  - {method: POST, path: /fetchRootSpans, wait: true}\n"
                                    "  - {path: \"/projects/{project}/sync\"}\n"),
                            &err);
    CHECK(p != NULL);
    CHECK_INT(p->nroutes, 2);
    CHECK_STR(p->routes[1].method, "GET");
    CHECK_INT(p->routes[0].nfrom, 3); /* path, query, body for POST */
    CHECK_INT(p->routes[1].nfrom, 2);
    CHECK(p->routes[0].wait);
    static const struct {
        const char *route, *msg;
    } bad[] = {
        {"  - {path: nope}\n", "route 1: path must start with '/', got 'nope'"},
        {"  - {path: /api/x}\n", "route 1: path /api/x belongs to the server"},
        {"  - {path: \"/p/{who}\"}\n", "route 1: path segment {who} names no declared param"},
        {"  - {path: \"/a b\"}\n", "route 1: path /a b: ' ' is not allowed"},
        {"  - {path: /a, methd: GET}\n", "route 1: unknown key 'methd' (did you mean 'method'?)"},
        {"  - {path: /a, method: FETCH}\n", "route 1: key 'method' must be one of"},
        {"  - {path: /a, auth: hunter2}\n", "route 1: auth: none, or a key from a secret"},
        {"  - {path: /a}\n  - {path: /a}\n", "route 2: GET /a is route 1 already"},
        {"  - {path: /a, params_from: [query, query]}\n", "'query' is listed twice"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, PIPE("%s"), bad[i].route);
        CHECK(load(a, yaml, &err) == NULL);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    sl_arena_destroy(a);
}

SL_TEST(route_matches_and_reads_params)
{
    sl_arena_t *a = sl_arena_create(0, 0);
    sl_err_t err = {0};
    sl_pipeline_t *p = load(a, PIPE("  - {method: POST, path: \"/projects/{project}/sync\", "
                                    "params_from: [path, body, query]}\n"),
                            &err);
    CHECK(p != NULL);
    const sl_route_t *rt = &p->routes[0];
    CHECK(sl_route_matches(rt, "POST", "/projects/demo/sync"));
    CHECK(!sl_route_matches(rt, "GET", "/projects/demo/sync"));
    CHECK(!sl_route_matches(rt, "POST", "/projects//sync"));
    CHECK(!sl_route_matches(rt, "POST", "/projects/demo/sync/x"));
    CHECK(!sl_route_matches(rt, "POST", "/projects/demo"));
    const char *query[] = {"limit", "5", "day", "2026-12-02", NULL};
    const char *body = "{\"day\": \"2026-12-07\", \"limit\": 50, \"other\": true}";
    sl_route_request_t req = {.method = "POST", .path = "/projects/demo/sync", .query = q_lookup,
                              .ud = query, .body = body, .body_len = strlen(body)};
    const char **args;
    size_t n;
    CHECK_INT(sl_route_params(rt, p, &req, a, &args, &n, &err), 0);
    CHECK_INT(n, 3);
    CHECK_STR(args[0], "project=demo");  /* path first */
    CHECK_STR(args[1], "day=2026-12-07"); /* then the body */
    CHECK_STR(args[2], "limit=50");       /* a number's JSON text */
    sl_value_t params;
    CHECK_INT(sl_params_resolve(a, p, args, n, &params, &err), 0);
    /* a body that is not an object is a clear error */
    req.body = "[1, 2]";
    req.body_len = 6;
    CHECK_INT(sl_route_params(rt, p, &req, a, &args, &n, &err), SL_EPARSE);
    CHECK_STR(err.msg, "body: expected a JSON object of params, got array");
    req.body = "{\"day\": ";
    req.body_len = strlen(req.body);
    CHECK_INT(sl_route_params(rt, p, &req, a, &args, &n, &err), SL_EPARSE);
    CHECK_CONTAINS(err.msg, "body: not JSON");
    /* a value of the wrong type is found by the params' check */
    req.body = "{\"limit\": \"many\"}";
    req.body_len = strlen(req.body);
    CHECK_INT(sl_route_params(rt, p, &req, a, &args, &n, &err), 0);
    CHECK_INT(sl_params_resolve(a, p, args, n, &params, &err), SL_ECONFIG);
    CHECK_STR(err.msg, "param 'limit': expected an integer, got 'many'");
    sl_arena_destroy(a);
}
