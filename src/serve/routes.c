/* The pipelines' routes in the server: a request that matches one starts a
 * run of its pipeline with the params read from the request (route.c). */
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "server.h"

static const char *query_of(void *ud, const char *name)
{
    return sl_request_query(ud, name);
}

static const char *header_of(void *ud, const char *name)
{
    return sl_request_header(ud, name);
}

bool sl_routes_handle(const sl_request_t *r, sl_response_t *resp)
{
    size_t n;
    const sl_pipeline_t *const *ps = sl_server_pipelines(r->server, &n);
    bool path_known = false;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ps[i]->nroutes; k++) {
            const sl_route_t *rt = &ps[i]->routes[k];
            if (!sl_route_matches(rt, rt->method, r->path)) {
                continue;
            }
            path_known = true;
            if (strcmp(rt->method, r->method) != 0) {
                continue;
            }
            resp->route = rt->path;
            char need[600];
            snprintf(need, sizeof need, "route:%s", r->path);
            if (!sl_auth_check(r, need, rt->auth, resp)) {
                return true;
            }
            sl_arena_t *a = sl_arena_create(4096, 0);
            sl_route_request_t req = {.method = r->method,
                                      .path = r->path,
                                      .query = query_of,
                                      .header = header_of,
                                      .ud = (void *)r,
                                      .body = r->body,
                                      .body_len = r->body_len};
            const char **args = NULL;
            size_t nargs = 0;
            sl_err_t err = {0};
            if (!a) {
                sl_response_error(resp, 500, "internal", "out of memory");
            } else if (sl_route_params(rt, ps[i], &req, a, &args, &nargs, &err) != 0) {
                sl_response_error(resp, 400, "bad_request", "%s", err.msg);
            } else {
                sl_api_start_run(r, ps[i], rt, args, nargs, rt->wait ? rt->timeout_us : 0,
                                 resp);
            }
            sl_arena_destroy(a);
            return true;
        }
    }
    if (path_known) {
        sl_response_error(resp, 405, "method_not_allowed", "%s %s: not a method of this route",
                          r->method, r->path);
        return true;
    }
    return false;
}
