/* Matching a request to a pipeline's route and reading the run's params
 * from it (path segments, query, JSON body, headers), without the server:
 * pure functions, so they are unit tested and fuzzed on their own. */
#ifndef SLUICE_SERVE_ROUTE_H
#define SLUICE_SERVE_ROUTE_H

#include "sluice/arena.h"
#include "sluice/config.h"

/* The value of name in a request's query string or headers, or NULL. */
typedef const char *(*sl_lookup_fn)(void *ud, const char *name);

typedef struct {
    const char *method, *path;   /* path without the query string */
    sl_lookup_fn query, header;  /* may be NULL: nothing there */
    void *ud;
    const char *body;
    size_t body_len;
} sl_route_request_t;

/* True when method and path match the route (path's {param} segments
 * match one non-empty segment each). */
bool sl_route_matches(const sl_route_t *rt, const char *method, const char *path);

/* The run's params as NAME=VALUE texts (in a) for the pipeline's declared
 * params found in the request, each from the first of the route's sources
 * that has it (path, query, body fields of a JSON object, headers). A JSON
 * value that is not a string is taken as its JSON text (numbers, true).
 * Returns 0, or SL_EPARSE with err naming the problem ("body: expected a
 * JSON object", "param 'day': given twice in the query"). The values are
 * typed and checked afterwards by sl_params_resolve. */
int sl_route_params(const sl_route_t *rt, const sl_pipeline_t *p, const sl_route_request_t *req,
                    sl_arena_t *a, const char ***args, size_t *nargs, sl_err_t *err);

#endif
