/* Fuzz target for src/serve/route.c: request paths, query values and
 * bodies against a fixed pipeline's routes.
 *
 * Input: PATH '\n' QUERY_VALUE '\n' BODY (missing parts are empty). Every
 * route is tried; a match must have as many segments as the route, and the
 * params read must be declared ones, each once, as NAME=VALUE. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config_internal.h"
#include "../../src/serve/route.h"

static const char *const pipeline_yaml =
    "name: f\nparams:\n  a: {type: string}\n  b: {type: int, default: 1}\n"
    "  c: {type: date, default: 2026-01-01}\n"
    "routes:\n"
    "  - {method: POST, path: /x}\n"
    "  - {method: POST, path: \"/p/{a}/q/{b}\", params_from: [path, body, query, headers]}\n"
    "  - {path: \"/{a}\", params_from: [query, path]}\n"
    "steps:\n  - {name: s, sql: {url: \"sqlite:///x.db\", statements: [\"select 1\"]}}\n";

static sl_pipeline_t *p;
static sl_arena_t *pa;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_route: %s\n", what);
    abort();
}

static const char *lookup(void *ud, const char *name)
{
    (void)name;
    return ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!p) {
        pa = sl_arena_create(0, 0);
        sl_node_t *root;
        sl_err_t err;
        if (sl_config_parse(pa, "f.yaml", pipeline_yaml, strlen(pipeline_yaml), ".", &root,
                            &err) != 0 ||
            sl_pipeline_from_root(pa, "f.yaml", root, NULL, &p, &err) != 0) {
            die(err.msg);
        }
    }
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    char *path = in, *query = strchr(in, '\n'), *body = "";
    if (query) {
        *query++ = '\0';
        char *nl = strchr(query, '\n');
        if (nl) {
            *nl = '\0';
            body = nl + 1;
        }
    } else {
        query = "";
    }
    size_t body_len = strlen(body);
    sl_arena_t *a = sl_arena_create(4096, 0);
    for (size_t r = 0; r < p->nroutes; r++) {
        const sl_route_t *rt = &p->routes[r];
        if (!sl_route_matches(rt, rt->method, path)) {
            continue;
        }
        size_t ns = 0, np = 0;
        for (const char *s = rt->path; *s; s++) {
            ns += *s == '/';
        }
        for (const char *s = path; *s; s++) {
            np += *s == '/';
        }
        if (ns != np) {
            die("a match with another number of segments");
        }
        sl_route_request_t req = {.method = rt->method, .path = path, .query = lookup,
                                  .header = lookup, .ud = query, .body = body,
                                  .body_len = body_len};
        const char **args;
        size_t n;
        sl_err_t err;
        if (sl_route_params(rt, p, &req, a, &args, &n, &err) != 0) {
            continue;
        }
        if (n > p->nparams) {
            die("more params than declared");
        }
        for (size_t i = 0; i < n; i++) {
            const char *eq = strchr(args[i], '=');
            bool found = false;
            for (size_t k = 0; eq && k < p->nparams; k++) {
                found = found || (strlen(p->params[k].name) == (size_t)(eq - args[i]) &&
                                  memcmp(p->params[k].name, args[i], (size_t)(eq - args[i])) ==
                                      0);
            }
            if (!found) {
                die("an undeclared param");
            }
        }
        sl_value_t params;
        (void)sl_params_resolve(a, p, args, n, &params, &err);
    }
    sl_arena_destroy(a);
    free(in);
    return 0;
}
