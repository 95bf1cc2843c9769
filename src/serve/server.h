/* `sluice serve`: the HTTP server (libmicrohttpd) and its handlers.
 *
 * server.c owns the daemon: the listening address (127.0.0.1 unless told
 * otherwise), the limits (body, URL, connections, per-connection time),
 * request ids, the access log and the dispatch to handlers; api.c has the
 * handlers of the built-in JSON API. A handler sees a parsed request and
 * fills a response; errors are always {"error": {"code", "message"}}. */
#ifndef SLUICE_SERVE_SERVER_H
#define SLUICE_SERVE_SERVER_H

#include "sluice/buf.h"
#include "sluice/config.h"
#include "sluice/state.h"

typedef struct sl_server sl_server_t;

typedef struct {
    const char *listen;        /* "HOST:PORT" (port 0: any free one); default 127.0.0.1:8080 */
    const char *state_url;     /* the state store the API reads */
    size_t max_body;           /* bytes; default 1 MiB (413 beyond) */
    size_t max_url;            /* bytes; default 8 KiB (414 beyond) */
    unsigned max_connections;  /* default 256 */
    unsigned conn_timeout_s;   /* idle connection closed after this; default 30 */
    unsigned threads;          /* request threads; default 2 */
    int max_runs;              /* runs at once (child processes); default 2 */
    int grace_s;               /* SIGTERM to SIGKILL of a run's process; default 10 */
    bool no_resume;            /* do not resume at start the runs a stop interrupted */
} sl_server_opts_t;

/* A request as a handler sees it. */
typedef struct sl_request {
    const char *method, *path;  /* path without the query string */
    const char *body;           /* NUL-terminated, may be empty */
    size_t body_len;
    const char *request_id;     /* echoed in X-Request-Id, logged */
    void *conn;                 /* the MHD connection (for sl_request_query/header) */
    sl_server_t *server;
} sl_request_t;

typedef struct {
    int status;
    sl_buf_t body;              /* JSON, unless content_type says otherwise */
    const char *location;       /* a Location header, or NULL */
    const char *content_type;   /* NULL: application/json */
    const char *route;          /* the route's pattern, for metrics; NULL: "other" */
} sl_response_t;

/* A query-string argument or a header of the request, or NULL. */
const char *sl_request_query(const sl_request_t *r, const char *name);
const char *sl_request_header(const sl_request_t *r, const char *name);

/* Sets resp to {"error": {"code": code, "message": ...}} with status. */
void sl_response_error(sl_response_t *resp, int status, const char *code, const char *fmt, ...)
    SL_PRINTF(4, 5);

/* The server's state store, loaded pipelines and run worker, for handlers. */
sl_state_t *sl_server_state(sl_server_t *s);
struct sl_worker *sl_server_worker(sl_server_t *s);
const sl_pipeline_t *const *sl_server_pipelines(sl_server_t *s, size_t *n);

/* Starts serving (threads of its own) and returns; *port gets the port it
 * listens on. pipelines are borrowed for the server's life. */
int sl_server_start(const sl_server_opts_t *o, const sl_pipeline_t *const *pipelines, size_t n,
                    sl_server_t **out, unsigned *port, sl_err_t *err);
/* Stops accepting, finishes the requests in flight, frees s. */
void sl_server_stop(sl_server_t *s);

/* Whether the request's API key allows need ("read", "write", "admin",
 * "route:/path"); route_auth is a route's `auth:` (NULL: keys). Sets resp
 * to 401 or 403 when not (auth.c). */
bool sl_auth_check(const sl_request_t *r, const char *need, const sl_node_t *route_auth,
                   sl_response_t *resp);

/* The built-in API's handler (api.c): returns false when no route of the
 * API matches. */
bool sl_api_handle(const sl_request_t *r, sl_response_t *resp);
/* The pipelines' routes (routes.c): returns false when none matches (the
 * server answers 404). */
bool sl_routes_handle(const sl_request_t *r, sl_response_t *resp);
/* Queues a run of p with args (NAME=VALUE) started by a request, and
 * answers 202 with its id, or waits for it up to wait_us (0: no wait) and
 * answers with the run (api.c). */
void sl_api_start_run(const sl_request_t *r, const sl_pipeline_t *p, const sl_route_t *rt,
                      const char *const *args, size_t nargs, int64_t wait_us,
                      sl_response_t *resp);

#endif
